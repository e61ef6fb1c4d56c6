/*
 * libFuzzer harness for the live migration stream reader
 * (common/migration_stream.c), the destination's side: any bytes a
 * source may send, read frame by frame as the destination reads them
 * (a HELLO checked against a VM of its own, MEMORY runs checked against
 * its guest RAM, their data read). Besides the sanitizers it checks that
 * an accepted frame is whole: a type in range, a length within its
 * type's bounds, a run inside guest RAM whose data length is its pages';
 * and that a refusal always says why in one line.
 *
 * Each input is read as it is, and once more with every frame's checksum
 * made right ("resealed"), so that mutations get past the CRCs.
 *
 * With VJ_FUZZ_SEED_DIR set, it first writes a valid stream there
 * (HELLO, two MEMORY runs, a zero run, END) for the corpus to start from.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "migration_stream.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct vj_snapshot_cpu cpu = { "AuthenticAMD", 25, 1 };
static struct vj_vm_config cfg;
#define GUEST_PAGES 64u /* a small guest RAM: runs past it must be refused */
static uint8_t ram[GUEST_PAGES * VJ_MIG_PAGE];

static void fail_if(int cond, const char *what)
{
	if (cond) {
		fprintf(stderr, "fuzz_migration_stream: %s\n", what);
		abort();
	}
}

static void write_seed(const char *dir)
{
	struct vj_snap_config c;
	struct vj_mig_hello h;
	struct vj_mig_run run = { .round = 0, .first_page = 3, .npages = 2 };
	struct vj_mig_run zero = { .round = 1, .flags = VJ_MIG_RUN_ZERO, .first_page = 10,
				   .npages = 5 };
	static uint8_t pages[2 * VJ_MIG_PAGE];
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/valid", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return;
	vj_snapshot_config_from(&cfg, &c);
	vj_mig_hello_init(&h, &cpu, &c);
	memset(pages, 0x5a, sizeof(pages));
	vj_mig_send(fd, VJ_MIG_HELLO, &h, sizeof(h));
	vj_mig_send_run(fd, &run, pages);
	vj_mig_send_run(fd, &zero, NULL);
	vj_mig_send(fd, VJ_MIG_END, NULL, 0);
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("VJ_FUZZ_SEED_DIR");

	(void)argc;
	(void)argv;
	vj_config_init(&cfg);
	cfg.vcpus = 1;
	cfg.memory_mib = 2; /* HELLO's CONFIG is checked against it */
	if (seeds)
		write_seed(seeds);
	return 0;
}

/* Reads frames from the bytes as the destination would, to the end. */
static void read_all(const uint8_t *data, size_t size)
{
	int fd = memfd_create("stream", MFD_CLOEXEC);
	struct vj_mig_frame f;
	struct vj_err e;

	if (fd < 0)
		return;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return;
	}
	lseek(fd, 0, SEEK_SET);
	for (int n = 0; n < 4096; n++) {
		int r;
		e.msg[0] = '\0';
		r = vj_mig_read_frame(fd, "the source", &f, &e);
		if (r < 0) {
			fail_if(!e.msg[0] || strchr(e.msg, '\n'), "a refusal without its one line");
			break;
		}
		fail_if(f.type == 0 || f.type >= VJ_MIG_TYPES_END, "a frame of unknown type");
		if (f.type == VJ_MIG_HELLO) {
			if (vj_mig_check_hello(&f.u.hello, &cpu, &cfg, &e) < 0)
				fail_if(!e.msg[0] || strchr(e.msg, '\n'), "a HELLO refused silently");
		} else if (f.type == VJ_MIG_MEMORY) {
			fail_if(f.u.run.npages < 1 || f.u.run.npages > VJ_MIG_RUN_PAGES_MAX,
				"a run of a count out of range");
			fail_if(f.data_len != (f.u.run.flags & VJ_MIG_RUN_ZERO
						       ? 0 : (uint64_t)f.u.run.npages * VJ_MIG_PAGE),
				"a run whose data is not its pages");
			if (vj_mig_check_run(&f.u.run, GUEST_PAGES, &e) < 0)
				break;
			fail_if(f.u.run.first_page + f.u.run.npages > GUEST_PAGES,
				"a run past guest RAM accepted");
			if (f.data_len && vj_mig_read_full(fd, ram + f.u.run.first_page * VJ_MIG_PAGE,
							   f.data_len) < 0)
				break;
		} else if (f.type == VJ_MIG_REFUSE || f.type == VJ_MIG_ABORT) {
			size_t len = strnlen(f.u.refuse.reason, sizeof(f.u.refuse.reason));
			fail_if(len == sizeof(f.u.refuse.reason), "an unterminated reason");
			for (size_t i = 0; i < len; i++)
				fail_if(f.u.refuse.reason[i] < 0x20 || f.u.refuse.reason[i] > 0x7e,
					"a reason with a control byte");
		} else if (f.type == VJ_MIG_STATE) {
			fail_if(!f.state || f.length < 1 || f.length > VJ_SNAPSHOT_MAX_BYTES,
				"a STATE out of bounds");
		}
		vj_mig_frame_free(&f);
	}
	close(fd);
}

/* The same bytes with each frame's CRC recomputed, as far as headers
 * can be followed (MEMORY's data skipped by its run's count). */
static void reseal(uint8_t *b, size_t size)
{
	size_t off = 0;

	while (size - off >= sizeof(struct vj_mig_frame_header)) {
		struct vj_mig_frame_header h;
		struct vj_snapshot_section_header sh;
		size_t covered, skip = 0;
		memcpy(&h, b + off, sizeof(h));
		covered = h.type == VJ_MIG_MEMORY ? sizeof(struct vj_mig_run) : h.length;
		if (covered > size - off - sizeof(h))
			return;
		if (h.type == VJ_MIG_MEMORY && covered == sizeof(struct vj_mig_run)) {
			struct vj_mig_run run;
			memcpy(&run, b + off + sizeof(h), sizeof(run));
			skip = run.flags & VJ_MIG_RUN_ZERO ? 0 : (size_t)run.npages * VJ_MIG_PAGE;
		}
		h.crc = 0;
		memcpy(&sh, &h, sizeof(sh));
		h.crc = vj_snapshot_section_crc(&sh, b + off + sizeof(h), covered);
		memcpy(b + off, &h, sizeof(h));
		off += sizeof(h) + covered;
		if (skip > size - off)
			return;
		off += skip;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	read_all(data, size);
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	reseal(copy, size);
	read_all(copy, size);
	free(copy);
	return 0;
}
