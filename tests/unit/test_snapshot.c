/* The snapshot state file (common/snapshot.c): what is written reads back
 * section by section, and every kind of damage is refused with its line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unit.h"
#include "cleanup.h"
#include "snapshot.h"

static const struct vj_snapshot_cpu cpu = { "GenuineIntel", 6, 85 };

/* A VM of 2 vCPUs, a read-only drive, a network interface with a MAC,
 * vsock and rng: 4 virtio slots. */
static void make_config(struct vj_vm_config *cfg)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 7 };

	vj_config_init(cfg);
	cfg->vcpus = 2;
	cfg->memory_mib = 64;
	cfg->ndrives = 1;
	cfg->drives[0].read_only = true;
	cfg->nnets = 1;
	cfg->nets[0].has_mac = true;
	memcpy(cfg->nets[0].mac, mac, 6);
	cfg->vsock.enabled = true;
	cfg->vsock.guest_cid = 42;
	cfg->rng = true;
}

/* Section payloads with recognisable contents. */
struct payloads {
	struct vj_snap_config config;
	struct vj_snap_vm vm;
	struct vj_snap_vcpu vcpu[2];
	struct vj_snap_uart uart;
	struct vj_snap_i8042 kbd;
	struct vj_snap_boot_marker marker;
	struct vj_snap_virtio virtio[4];
};

static const uint32_t virtio_ids[4] = { 2, 1, 19, 4 };

static void fill(struct payloads *p, const struct vj_vm_config *cfg)
{
	memset(p, 0, sizeof(*p));
	vj_snapshot_config_from(cfg, &p->config);
	p->vm.clock.clock = 123456789;
	p->vm.ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	p->vm.pit.channels[0].count = 0x1234;
	for (int i = 0; i < 2; i++) {
		p->vcpu[i].regs.rip = 0x200000 + i;
		p->vcpu[i].regs.rax = 0xabcdef00 + i;
		p->vcpu[i].sregs.cr3 = 0x1000;
		p->vcpu[i].flags = VJ_SNAP_VCPU_XSAVE;
		p->vcpu[i].nmsrs = 2;
		p->vcpu[i].msrs[0] = (struct kvm_msr_entry){ .index = 0x10, .data = 99 };
		p->vcpu[i].msrs[1] = (struct kvm_msr_entry){ .index = 0x4b564d01, .data = 0x5001 };
		p->vcpu[i].lapic.regs[0x20] = (char)i;
	}
	p->uart.ier = 3;
	p->uart.rx_count = 2;
	p->uart.rx[0] = 'h';
	p->kbd.ctr = 0x45;
	p->kbd.count = 1;
	p->kbd.buf[0] = 0xfa;
	p->marker.fired = 1;
	for (int i = 0; i < 4; i++) {
		p->virtio[i].device_id = virtio_ids[i];
		p->virtio[i].nqueues = 2;
		p->virtio[i].status = 0xf;
		p->virtio[i].q[0] = (struct vj_snap_virtq){ .size = 256, .ready = 1, .last_avail = 7,
							    .used_idx = 7, .desc_gpa = 0x10000 };
	}
}

/* Writes the sections; skip names one (type, index) to leave out, extra
 * adds a section of type extra_type at the end. */
struct build_opts {
	uint32_t skip_type, skip_index;
	uint32_t extra_type;
	bool extra_dup_vcpu;
};

static size_t build(const struct payloads *p, const struct build_opts *o, uint8_t **out)
{
	struct vj_snapshot_writer w;
	size_t len;

#define ADD(t, i, data)                                              \
	if (!(o && o->skip_type == (t) && o->skip_index == (i))) \
		vj_snapshot_add(&w, (t), (i), &(data), sizeof(data));
	vj_snapshot_writer_init(&w, &cpu);
	ADD(VJ_SNAP_CONFIG, 0, p->config)
	ADD(VJ_SNAP_VM, 0, p->vm)
	ADD(VJ_SNAP_VCPU, 0, p->vcpu[0])
	ADD(VJ_SNAP_VCPU, 1, p->vcpu[1])
	ADD(VJ_SNAP_UART, 0, p->uart)
	ADD(VJ_SNAP_I8042, 0, p->kbd)
	ADD(VJ_SNAP_BOOT_MARKER, 0, p->marker)
	for (uint32_t i = 0; i < 4; i++) {
		ADD(VJ_SNAP_VIRTIO, i, p->virtio[i])
	}
#undef ADD
	if (o && o->extra_type)
		vj_snapshot_add(&w, o->extra_type, 0, &p->uart, sizeof(p->uart));
	if (o && o->extra_dup_vcpu)
		vj_snapshot_add(&w, VJ_SNAP_VCPU, 1, &p->vcpu[1], sizeof(p->vcpu[1]));
	assert_int_equal(vj_snapshot_writer_finish(&w), 0);
	*out = w.buf;
	len = w.len;
	return len;
}

struct fixture {
	struct vj_vm_config cfg;
	struct payloads p;
	uint8_t *buf;
	size_t len;
	struct vj_snapshot snap;
	struct vj_err e;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	make_config(&f->cfg);
	fill(&f->p, &f->cfg);
	f->len = build(&f->p, NULL, &f->buf);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->buf);
	free(f);
	return 0;
}

static int parse(struct fixture *f)
{
	memset(&f->e, 0, sizeof(f->e));
	return vj_snapshot_parse(f->buf, f->len, "snap/state", &cpu, &f->snap, &f->e);
}

/* The parse fails with code and a message that names the file and says want. */
static void refused(struct fixture *f, int code, const char *want)
{
	int r = parse(f);

	if (r != code || !strstr(f->e.msg, want) || strncmp(f->e.msg, "snap/state: ", 12))
		fail_msg("expected %d \"%s\", got %d \"%s\"", code, want, r, f->e.msg);
	assert_null(strchr(f->e.msg, '\n'));
}

#define SECTION_EQ(f, type, index, want)                                         \
	do {                                                                     \
		const struct vj_snapshot_section *s_ = vj_snapshot_find(&(f)->snap, type, index); \
		assert_non_null(s_);                                             \
		assert_int_equal(s_->length, sizeof(want));                      \
		assert_memory_equal(s_->data, &(want), sizeof(want));            \
	} while (0)

static void every_section_reads_back_as_written(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f), 0);
	assert_int_equal(f->snap.nsections, 11);
	assert_int_equal(f->snap.summary.version, VJ_SNAPSHOT_VERSION);
	assert_memory_equal(&f->snap.summary.cpu, &cpu, sizeof(cpu));
	SECTION_EQ(f, VJ_SNAP_CONFIG, 0, f->p.config);
	SECTION_EQ(f, VJ_SNAP_VM, 0, f->p.vm);
	SECTION_EQ(f, VJ_SNAP_VCPU, 0, f->p.vcpu[0]);
	SECTION_EQ(f, VJ_SNAP_VCPU, 1, f->p.vcpu[1]);
	SECTION_EQ(f, VJ_SNAP_UART, 0, f->p.uart);
	SECTION_EQ(f, VJ_SNAP_I8042, 0, f->p.kbd);
	SECTION_EQ(f, VJ_SNAP_BOOT_MARKER, 0, f->p.marker);
	for (uint32_t i = 0; i < 4; i++)
		SECTION_EQ(f, VJ_SNAP_VIRTIO, i, f->p.virtio[i]);
	assert_null(vj_snapshot_find(&f->snap, VJ_SNAP_VCPU, 2));
}

static void the_config_summary_is_the_vms_own(void **state)
{
	struct fixture *f = *state;
	const struct vj_snap_config *c = &f->snap.summary.config;

	assert_int_equal(parse(f), 0);
	assert_int_equal(c->vcpus, 2);
	assert_int_equal(c->memory_mib, 64);
	assert_int_equal(c->ndevices, 4);
	assert_int_equal(c->dev[0].kind, VJ_SNAP_DEV_BLK);
	assert_true(c->dev[0].read_only);
	assert_int_equal(c->dev[1].kind, VJ_SNAP_DEV_NET);
	assert_int_equal(c->dev[1].mac[5], 7);
	assert_int_equal(c->dev[2].kind, VJ_SNAP_DEV_VSOCK);
	assert_int_equal(c->dev[2].guest_cid, 42);
	assert_int_equal(c->dev[3].kind, VJ_SNAP_DEV_RNG);
	assert_int_equal(vj_snapshot_check_config(c, &f->cfg, &f->e), 0);
}

static void a_truncated_file_is_refused(void **state)
{
	struct fixture *f = *state;
	const size_t full = f->len;
	const size_t cuts[] = { 0, 10, sizeof(struct vj_snapshot_header),
				sizeof(struct vj_snapshot_header) + 5, full / 2, full - 1 };

	for (size_t i = 0; i < VJ_ARRAY_SIZE(cuts); i++) {
		f->len = cuts[i];
		refused(f, -EINVAL, "truncated");
	}
	f->len = full;
}

static void bad_magic_is_refused(void **state)
{
	struct fixture *f = *state;

	f->buf[0] ^= 1;
	refused(f, -EINVAL, "not a vmjail snapshot state file (bad magic)");
	f->buf[0] ^= 1;
}

static void reseal(struct fixture *f, const struct vj_snapshot_header *h)
{
	struct vj_snapshot_header c = *h;

	c.crc = vj_crc32(&c, offsetof(struct vj_snapshot_header, crc));
	memcpy(f->buf, &c, sizeof(c));
}

static void a_foreign_version_is_refused(void **state)
{
	struct fixture *f = *state;
	struct vj_snapshot_header h, orig;

	memcpy(&orig, f->buf, sizeof(orig));
	h = orig;
	h.version = VJ_SNAPSHOT_VERSION + 1;
	reseal(f, &h);
	refused(f, -EPROTO, "snapshot format version 3, this vmjail reads version 2");
	/* Version 1 had no control queue for virtio-net: not read. */
	h.version = 1;
	reseal(f, &h);
	refused(f, -EPROTO, "snapshot format version 1, this vmjail reads version 2");
	memcpy(f->buf, &orig, sizeof(orig));
}

static void a_damaged_header_is_refused(void **state)
{
	struct fixture *f = *state;

	f->buf[offsetof(struct vj_snapshot_header, nsections)] ^= 4;
	refused(f, -EINVAL, "header checksum mismatch");
	f->buf[offsetof(struct vj_snapshot_header, nsections)] ^= 4;
}

/* A byte changed anywhere in any section, header or payload. */
static void a_bad_crc_in_each_section_is_refused(void **state)
{
	static const char *const names[] = { "CONFIG 0", "VM 0", "VCPU 0", "VCPU 1", "UART 0",
					     "I8042 0", "BOOT_MARKER 0", "VIRTIO 0", "VIRTIO 1",
					     "VIRTIO 2", "VIRTIO 3" };
	struct fixture *f = *state;
	size_t off = sizeof(struct vj_snapshot_header);

	for (unsigned i = 0; i < VJ_ARRAY_SIZE(names); i++) {
		struct vj_snapshot_section_header sh;
		char want[64];
		size_t at;
		memcpy(&sh, f->buf + off, sizeof(sh));
		snprintf(want, sizeof(want), "section %u (%s): checksum mismatch", i, names[i]);
		/* the last payload byte, then the index in the header */
		at = off + sizeof(sh) + sh.length - 1;
		f->buf[at] ^= 0x40;
		refused(f, -EINVAL, want);
		f->buf[at] ^= 0x40;
		at = off + offsetof(struct vj_snapshot_section_header, reserved);
		f->buf[at] ^= 1;
		refused(f, -EINVAL, "checksum mismatch");
		f->buf[at] ^= 1;
		off += sizeof(sh) + sh.length;
	}
	assert_int_equal(off, f->len);
	assert_int_equal(parse(f), 0);
}

static void a_section_length_past_the_end_is_refused(void **state)
{
	struct fixture *f = *state;
	const size_t at = sizeof(struct vj_snapshot_header) +
			  offsetof(struct vj_snapshot_section_header, length);
	const uint64_t lengths[] = { UINT64_MAX, UINT64_MAX - 10, 1ull << 40, f->len };

	for (size_t i = 0; i < VJ_ARRAY_SIZE(lengths); i++) {
		uint64_t saved;
		memcpy(&saved, f->buf + at, 8);
		memcpy(f->buf + at, &lengths[i], 8);
		refused(f, -EINVAL, "truncated: section 0 (CONFIG 0)");
		memcpy(f->buf + at, &saved, 8);
	}
}

static void a_snapshot_of_another_cpu_is_refused(void **state)
{
	struct fixture *f = *state;
	const struct vj_snapshot_cpu amd = { "AuthenticAMD", 25, 1 }, other_model = { "GenuineIntel",
										     6, 86 };
	int r;

	r = vj_snapshot_parse(f->buf, f->len, "snap/state", &amd, &f->snap, &f->e);
	assert_int_equal(r, -ENOEXEC);
	assert_string_equal(f->e.msg, "snap/state: taken on a GenuineIntel CPU family 6 model 85, "
				      "this host has a AuthenticAMD CPU family 25 model 1");
	r = vj_snapshot_parse(f->buf, f->len, "snap/state", &other_model, &f->snap, &f->e);
	assert_int_equal(r, -ENOEXEC);
	assert_non_null(strstr(f->e.msg, "model 86"));
}

static void a_missing_vcpu_is_refused(void **state)
{
	struct fixture *f = *state;
	struct build_opts o = { .skip_type = VJ_SNAP_VCPU, .skip_index = 1 };

	free(f->buf);
	f->len = build(&f->p, &o, &f->buf);
	refused(f, -EINVAL, "1 vCPU sections, CONFIG says 2 vCPUs");
}

static void a_vcpu_beyond_the_count_is_refused(void **state)
{
	struct fixture *f = *state;

	f->p.config.vcpus = 1;
	free(f->buf);
	f->len = build(&f->p, NULL, &f->buf);
	refused(f, -EINVAL, "VCPU 1: the snapshot has 1 vCPUs");
}

static void a_missing_device_is_refused(void **state)
{
	struct fixture *f = *state;
	struct build_opts o = { .skip_type = VJ_SNAP_VIRTIO, .skip_index = 2 };

	free(f->buf);
	f->len = build(&f->p, &o, &f->buf);
	refused(f, -EINVAL, "3 VIRTIO sections, CONFIG lists 4 devices");
	o = (struct build_opts){ .skip_type = VJ_SNAP_I8042 };
	free(f->buf);
	f->len = build(&f->p, &o, &f->buf);
	refused(f, -EINVAL, "no I8042 section");
}

static void an_unknown_section_is_refused(void **state)
{
	struct fixture *f = *state;
	struct build_opts o = { .extra_type = 99 };

	free(f->buf);
	f->len = build(&f->p, &o, &f->buf);
	refused(f, -EINVAL, "section 11 is of unknown type 99");
}

static void a_duplicate_section_is_refused(void **state)
{
	struct fixture *f = *state;
	struct build_opts o = { .extra_dup_vcpu = true };

	free(f->buf);
	f->len = build(&f->p, &o, &f->buf);
	refused(f, -EINVAL, "section VCPU 1 appears twice");
}

static void bytes_after_the_last_section_are_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t *b = realloc(f->buf, f->len + 3);

	assert_non_null(b);
	f->buf = b;
	f->len += 3;
	refused(f, -EINVAL, "3 bytes after the last section");
	f->len -= 3;
}

static void out_of_range_fields_are_refused(void **state)
{
	struct fixture *f = *state;

	f->p.uart.rx_head = 16;
	free(f->buf);
	f->len = build(&f->p, NULL, &f->buf);
	refused(f, -EINVAL, "UART: receive FIFO head 16");
	fill(&f->p, &f->cfg);
	f->p.virtio[1].device_id = 2;
	free(f->buf);
	f->len = build(&f->p, NULL, &f->buf);
	refused(f, -EINVAL, "VIRTIO 1: device ID 2, CONFIG says net");
	fill(&f->p, &f->cfg);
	f->p.virtio[0].q[1].size = 100;
	free(f->buf);
	f->len = build(&f->p, NULL, &f->buf);
	refused(f, -EINVAL, "VIRTIO 0: queue 1 malformed");
	fill(&f->p, &f->cfg);
	f->p.vcpu[0].nmsrs = VJ_SNAPSHOT_MSRS_MAX + 1;
	free(f->buf);
	f->len = build(&f->p, NULL, &f->buf);
	refused(f, -EINVAL, "VCPU 0: flags");
	fill(&f->p, &f->cfg);
	f->p.config.memory_mib = 63;
	free(f->buf);
	f->len = build(&f->p, NULL, &f->buf);
	refused(f, -EINVAL, "CONFIG: guest memory 63 MiB");
}

static void a_configuration_that_does_not_fit_is_named_with_both_values(void **state)
{
	struct fixture *f = *state;
	struct vj_vm_config other;

	assert_int_equal(parse(f), 0);
	other = f->cfg;
	other.vcpus = 4;
	assert_int_equal(vj_snapshot_check_config(&f->snap.summary.config, &other, &f->e), -EINVAL);
	assert_string_equal(f->e.msg, "vCPUs: the snapshot has 2, the configuration 4");
	other = f->cfg;
	other.memory_mib = 128;
	vj_snapshot_check_config(&f->snap.summary.config, &other, &f->e);
	assert_string_equal(f->e.msg, "memory: the snapshot has 64 MiB, the configuration 128 MiB");
	other = f->cfg;
	other.drives[0].read_only = false;
	vj_snapshot_check_config(&f->snap.summary.config, &other, &f->e);
	assert_string_equal(f->e.msg, "drive in slot 0: the snapshot has it read-only, the "
				      "configuration writable");
	/* A clone's own MAC, or none (it keeps the snapshot's), fits. */
	other = f->cfg;
	other.nets[0].mac[5] = 8;
	assert_int_equal(vj_snapshot_check_config(&f->snap.summary.config, &other, &f->e), 0);
	other.nets[0].has_mac = false;
	assert_int_equal(vj_snapshot_check_config(&f->snap.summary.config, &other, &f->e), 0);
	other = f->cfg;
	other.vsock.guest_cid = 43;
	vj_snapshot_check_config(&f->snap.summary.config, &other, &f->e);
	assert_string_equal(f->e.msg, "vsock guest CID: the snapshot has 42, the configuration 43");
	other = f->cfg;
	other.rng = false;
	vj_snapshot_check_config(&f->snap.summary.config, &other, &f->e);
	assert_string_equal(f->e.msg, "devices: the snapshot has 4, the configuration 3");
	other = f->cfg;
	other.ndrives = 0;
	vj_snapshot_check_config(&f->snap.summary.config, &other, &f->e);
	assert_string_equal(f->e.msg, "device slot 0: the snapshot has blk, the configuration net");
}

/* The launcher's entry: a file on this host's CPU reads back its summary,
 * a damaged one is refused with the file named. */
static void read_summary_checks_the_whole_file(void **state)
{
	struct fixture *f = *state;
	struct vj_snapshot_summary sum;
	struct vj_snapshot_cpu host;
	struct vj_snapshot_writer w;
	int fd = memfd_create("state", MFD_CLOEXEC);

	vj_snapshot_cpu_host(&host);
	assert_true(fd >= 0);
	vj_snapshot_writer_init(&w, &host);
	for (unsigned i = 0; i < 11; i++) {
		/* the fixture's sections, behind this host's header */
		const uint8_t *p = f->buf + sizeof(struct vj_snapshot_header);
		size_t off = 0;
		for (unsigned j = 0; j < i; j++) {
			struct vj_snapshot_section_header sh;
			memcpy(&sh, p + off, sizeof(sh));
			off += sizeof(sh) + sh.length;
		}
		struct vj_snapshot_section_header sh;
		memcpy(&sh, p + off, sizeof(sh));
		vj_snapshot_add(&w, sh.type, sh.index, p + off + sizeof(sh), sh.length);
	}
	assert_int_equal(vj_snapshot_writer_finish(&w), 0);
	assert_int_equal(pwrite(fd, w.buf, w.len, 0), (ssize_t)w.len);
	assert_int_equal(vj_snapshot_read_summary(fd, &sum, &f->e), 0);
	assert_int_equal(sum.config.vcpus, 2);
	assert_int_equal(sum.config.ndevices, 4);
	assert_int_equal(ftruncate(fd, (off_t)w.len - 1), 0);
	assert_int_equal(vj_snapshot_read_summary(fd, &sum, &f->e), -EINVAL);
	assert_non_null(strstr(f->e.msg, "/memfd:state"));
	assert_non_null(strstr(f->e.msg, "truncated"));
	vj_snapshot_writer_free(&w);
	close(fd);
}

static void crc32_is_the_ieee_one(void **state)
{
	(void)state;
	assert_int_equal(vj_crc32("123456789", 9), 0xcbf43926u);
	assert_int_equal(vj_crc32("", 0), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(every_section_reads_back_as_written),
		T(the_config_summary_is_the_vms_own),
		T(a_truncated_file_is_refused),
		T(bad_magic_is_refused),
		T(a_foreign_version_is_refused),
		T(a_damaged_header_is_refused),
		T(a_bad_crc_in_each_section_is_refused),
		T(a_section_length_past_the_end_is_refused),
		T(a_snapshot_of_another_cpu_is_refused),
		T(a_missing_vcpu_is_refused),
		T(a_vcpu_beyond_the_count_is_refused),
		T(a_missing_device_is_refused),
		T(an_unknown_section_is_refused),
		T(a_duplicate_section_is_refused),
		T(bytes_after_the_last_section_are_refused),
		T(out_of_range_fields_are_refused),
		T(a_configuration_that_does_not_fit_is_named_with_both_values),
		T(read_summary_checks_the_whole_file),
		T(crc32_is_the_ieee_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
