/*
 * libFuzzer harness for the snapshot state file parser (common/snapshot.c):
 * any bytes a state file may hold. Besides the sanitizers it checks that
 * what the parser accepts is whole: every section inside the input with
 * its exact payload size, one per vCPU and device the CONFIG section
 * lists, fields in range; and that a refusal always says why in one line.
 *
 * Each input is parsed as it is, and once more with every checksum made
 * right ("resealed"), so that mutations get past the CRCs to the checks
 * behind them.
 *
 * With VJ_FUZZ_SEED_DIR set, it first writes a valid state file there
 * (2 vCPUs, 4 devices) for the corpus to start from.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct vj_snapshot_cpu cpu = { "AuthenticAMD", 25, 1 };

static void write_seed(const char *dir)
{
	struct vj_snapshot_writer w;
	struct vj_vm_config cfg;
	struct vj_snap_config c;
	struct vj_snap_vm vm = { 0 };
	struct vj_snap_vcpu *v = calloc(1, sizeof(*v));
	struct vj_snap_uart u = { 0 };
	struct vj_snap_i8042 k = { 0 };
	struct vj_snap_boot_marker m = { 1 };
	static const uint32_t ids[] = { 2, 1, 19, 4 };
	char path[4096];
	FILE *f;

	vj_config_init(&cfg);
	cfg.vcpus = 2;
	cfg.ndrives = 1;
	cfg.drives[0].read_only = true;
	cfg.nnets = 1;
	cfg.vsock.enabled = true;
	cfg.vsock.guest_cid = 3;
	cfg.rng = true;
	vj_snapshot_config_from(&cfg, &c);
	vj_snapshot_writer_init(&w, &cpu);
	vj_snapshot_add(&w, VJ_SNAP_CONFIG, 0, &c, sizeof(c));
	vj_snapshot_add(&w, VJ_SNAP_VM, 0, &vm, sizeof(vm));
	v->nmsrs = 1;
	vj_snapshot_add(&w, VJ_SNAP_VCPU, 0, v, sizeof(*v));
	vj_snapshot_add(&w, VJ_SNAP_VCPU, 1, v, sizeof(*v));
	vj_snapshot_add(&w, VJ_SNAP_UART, 0, &u, sizeof(u));
	vj_snapshot_add(&w, VJ_SNAP_I8042, 0, &k, sizeof(k));
	vj_snapshot_add(&w, VJ_SNAP_BOOT_MARKER, 0, &m, sizeof(m));
	for (uint32_t i = 0; i < 4; i++) {
		struct vj_snap_virtio d = { .device_id = ids[i], .nqueues = 2 };
		d.q[0].size = 256;
		vj_snapshot_add(&w, VJ_SNAP_VIRTIO, i, &d, sizeof(d));
	}
	snprintf(path, sizeof(path), "%s/valid", dir);
	if (vj_snapshot_writer_finish(&w) == 0 && (f = fopen(path, "w"))) {
		fwrite(w.buf, 1, w.len, f);
		fclose(f);
	}
	vj_snapshot_writer_free(&w);
	free(v);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("VJ_FUZZ_SEED_DIR");

	(void)argc;
	(void)argv;
	if (dir)
		write_seed(dir);
	return 0;
}

/* The header's and each whole section's CRC recomputed, in place. */
static void reseal(uint8_t *buf, size_t len)
{
	struct vj_snapshot_header h;
	size_t off = sizeof(h);

	if (len < sizeof(h))
		return;
	memcpy(&h, buf, sizeof(h));
	h.crc = vj_crc32(&h, offsetof(struct vj_snapshot_header, crc));
	memcpy(buf, &h, sizeof(h));
	while (len - off >= sizeof(struct vj_snapshot_section_header)) {
		struct vj_snapshot_section_header sh;
		memcpy(&sh, buf + off, sizeof(sh));
		if (sh.length > len - off - sizeof(sh))
			return;
		sh.crc = vj_snapshot_section_crc(&sh, buf + off + sizeof(sh), sh.length);
		memcpy(buf + off, &sh, sizeof(sh));
		off += sizeof(sh) + sh.length;
	}
}

static int check(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size > VJ_SNAPSHOT_MAX_BYTES)
		return 0;
	check(data, size);
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	reseal(copy, size);
	check(copy, size);
	free(copy);
	return 0;
}

static int check(const uint8_t *data, size_t size)
{
	static struct vj_snapshot s;
	const struct vj_snap_config *c = &s.summary.config;
	struct vj_vm_config cfg;
	struct vj_err e = { 0 };

	if (vj_snapshot_parse(data, size, "fuzz", &cpu, &s, &e) < 0) {
		if (!e.msg[0] || strchr(e.msg, '\n') || strncmp(e.msg, "fuzz: ", 6))
			__builtin_trap();
		return 0;
	}
	if (c->vcpus < 1 || c->vcpus > VJ_VCPUS_MAX || c->ndevices > VJ_SNAPSHOT_DEVICES_MAX)
		__builtin_trap();
	for (unsigned i = 0; i < s.nsections; i++) {
		const struct vj_snapshot_section *x = &s.sections[i];
		if (x->data < data || x->data + x->length > data + size)
			__builtin_trap();
	}
	for (uint32_t i = 0; i < c->vcpus; i++) {
		static struct vj_snap_vcpu v;
		if (vj_snapshot_copy(&s, VJ_SNAP_VCPU, i, &v, sizeof(v)) < 0 ||
		    v.nmsrs > VJ_SNAPSHOT_MSRS_MAX)
			__builtin_trap();
	}
	for (uint32_t i = 0; i < c->ndevices; i++)
		if (!vj_snapshot_find(&s, VJ_SNAP_VIRTIO, i))
			__builtin_trap();
	if (!vj_snapshot_find(&s, VJ_SNAP_UART, 0) || !vj_snapshot_find(&s, VJ_SNAP_VM, 0))
		__builtin_trap();
	/* A configuration check of whatever was accepted says yes or why not. */
	vj_config_init(&cfg);
	if (vj_snapshot_check_config(c, &cfg, &e) < 0 && !e.msg[0])
		__builtin_trap();
	return 0;
}
