/* The live migration stream (common/migration_stream.c): every frame
 * reads back as written, a damaged or truncated stream is refused with a
 * line naming what is wrong, a HELLO is checked against the reader's VM,
 * a send with a deadline ends by it, and dirty bitmaps are walked run by
 * run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "migration_stream.h"

static const struct vj_snapshot_cpu cpu = { "GenuineIntel", 6, 85 };

/* A stream written whole into a memory file, read back from its start. */
static int stream(void)
{
	int fd = memfd_create("mig", MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void rewind_fd(int fd)
{
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
}

static void make_config(struct vj_vm_config *cfg)
{
	vj_config_init(cfg);
	cfg->vcpus = 2;
	cfg->memory_mib = 64;
	cfg->vsock.enabled = true;
	cfg->vsock.guest_cid = 42;
	cfg->rng = true;
}

static void hello_for(const struct vj_vm_config *cfg, struct vj_mig_hello *h)
{
	struct vj_snap_config c;

	vj_snapshot_config_from(cfg, &c);
	vj_mig_hello_init(h, &cpu, &c);
}

static void every_frame_reads_back_as_written(void **state)
{
	struct vj_vm_config cfg;
	struct vj_mig_hello h;
	struct vj_mig_frame f;
	struct vj_err e = { 0 };
	static uint8_t pages[3 * VJ_MIG_PAGE], back[3 * VJ_MIG_PAGE];
	struct vj_mig_run run = { .round = 2, .first_page = 100, .npages = 3 };
	struct vj_mig_run zero = { .round = 3, .flags = VJ_MIG_RUN_ZERO, .first_page = 7,
				   .npages = 256 };
	const uint8_t blob[] = "state bytes, as the snapshot writer made them";
	int fd = stream();

	(void)state;
	make_config(&cfg);
	hello_for(&cfg, &h);
	for (size_t i = 0; i < sizeof(pages); i++)
		pages[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(vj_mig_send(fd, VJ_MIG_HELLO, &h, sizeof(h)), 0);
	assert_int_equal(vj_mig_send(fd, VJ_MIG_ACCEPT, NULL, 0), 0);
	assert_int_equal(vj_mig_send_reason(fd, VJ_MIG_REFUSE, "memory: 64 against 32"), 0);
	assert_int_equal(vj_mig_send_run(fd, &run, pages), 0);
	assert_int_equal(vj_mig_send_run(fd, &zero, NULL), 0);
	assert_int_equal(vj_mig_send(fd, VJ_MIG_STATE, blob, sizeof(blob)), 0);
	assert_int_equal(vj_mig_send(fd, VJ_MIG_RUNNING, NULL, 0), 0);
	assert_int_equal(vj_mig_send(fd, VJ_MIG_END, NULL, 0), 0);
	assert_int_equal(vj_mig_send_reason(fd, VJ_MIG_ABORT, "cancelled"), 0);
	rewind_fd(fd);

	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), 0);
	assert_int_equal(f.type, VJ_MIG_HELLO);
	assert_memory_equal(&f.u.hello, &h, sizeof(h));
	assert_int_equal(vj_mig_check_hello(&f.u.hello, &cpu, &cfg, &e), 0);
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), 0);
	assert_int_equal(f.type, VJ_MIG_ACCEPT);
	assert_int_equal(f.length, 0);
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), 0);
	assert_int_equal(f.type, VJ_MIG_REFUSE);
	assert_string_equal(f.u.refuse.reason, "memory: 64 against 32");
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), 0);
	assert_int_equal(f.type, VJ_MIG_MEMORY);
	assert_memory_equal(&f.u.run, &run, sizeof(run));
	assert_int_equal(f.data_len, sizeof(pages));
	assert_int_equal(vj_mig_read_full(fd, back, f.data_len), 0);
	assert_memory_equal(back, pages, sizeof(pages));
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), 0);
	assert_int_equal(f.type, VJ_MIG_MEMORY);
	assert_int_equal(f.u.run.flags, VJ_MIG_RUN_ZERO);
	assert_int_equal(f.u.run.npages, 256);
	assert_int_equal(f.data_len, 0);
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), 0);
	assert_int_equal(f.type, VJ_MIG_STATE);
	assert_int_equal(f.length, sizeof(blob));
	assert_memory_equal(f.state, blob, sizeof(blob));
	vj_mig_frame_free(&f);
	assert_null(f.state);
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), 0);
	assert_int_equal(f.type, VJ_MIG_RUNNING);
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), 0);
	assert_int_equal(f.type, VJ_MIG_END);
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), 0);
	assert_int_equal(f.type, VJ_MIG_ABORT);
	assert_string_equal(f.u.refuse.reason, "cancelled");
	/* Past the last frame: a clean end, named. */
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), -EPIPE);
	assert_string_equal(e.msg, "the source closed the stream");
	close(fd);
}

/* One frame written, then bytes of it changed at off (len of them, to
 * val), then read: the error and its line. */
static int damaged(uint32_t type, const void *payload, size_t len, size_t off, uint8_t val,
		   struct vj_err *e)
{
	struct vj_mig_frame f;
	int fd = stream(), r;

	assert_int_equal(vj_mig_send(fd, type, payload, len), 0);
	assert_int_equal(pwrite(fd, &val, 1, (off_t)off), 1);
	rewind_fd(fd);
	r = vj_mig_read_frame(fd, "the source", &f, e);
	vj_mig_frame_free(&f);
	close(fd);
	return r;
}

static void a_corrupt_frame_is_refused_with_its_reason(void **state)
{
	struct vj_vm_config cfg;
	struct vj_mig_hello h;
	struct vj_err e = { 0 };
	const size_t hdr = sizeof(struct vj_mig_frame_header);

	(void)state;
	make_config(&cfg);
	hello_for(&cfg, &h);
	assert_int_equal(damaged(VJ_MIG_HELLO, &h, sizeof(h), 0, 'X', &e), -EPROTO);
	assert_non_null(strstr(e.msg, "not a vmjail migration frame"));
	assert_int_equal(damaged(VJ_MIG_HELLO, &h, sizeof(h), 4, 99, &e), -EPROTO);
	assert_string_equal(e.msg, "the source: frame of unknown type 99");
	/* The type says ACCEPT (no payload) but a HELLO's length follows. */
	assert_int_equal(damaged(VJ_MIG_HELLO, &h, sizeof(h), 4, VJ_MIG_ACCEPT, &e), -EPROTO);
	assert_non_null(strstr(e.msg, "ACCEPT frame of"));
	/* A byte of the payload: the CRC. */
	assert_int_equal(damaged(VJ_MIG_HELLO, &h, sizeof(h), hdr + 20, 0xee, &e), -EPROTO);
	assert_string_equal(e.msg, "the source: HELLO frame: checksum mismatch");
	/* The reserved word. */
	assert_int_equal(damaged(VJ_MIG_HELLO, &h, sizeof(h), hdr - 1, 1, &e), -EPROTO);
}

static void a_frame_too_long_is_refused_before_it_is_read(void **state)
{
	struct vj_mig_frame_header h = { .magic = VJ_MIG_FRAME_MAGIC, .type = VJ_MIG_STATE,
					 .length = VJ_SNAPSHOT_MAX_BYTES + 1ull };
	struct vj_mig_frame f;
	struct vj_err e = { 0 };
	int fd = stream();

	(void)state;
	assert_int_equal(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	h.type = VJ_MIG_MEMORY;
	h.length = 1ull << 40;
	assert_int_equal(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	rewind_fd(fd);
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), -EPROTO);
	assert_non_null(strstr(e.msg, "STATE frame of 4194305 bytes, expected 1..4194304"));
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), -EPROTO);
	assert_non_null(strstr(e.msg, "MEMORY frame of 1099511627776 bytes"));
	close(fd);
}

static void a_truncated_stream_is_refused(void **state)
{
	static uint8_t pages[2 * VJ_MIG_PAGE];
	struct vj_mig_run run = { .round = 0, .first_page = 0, .npages = 2 };
	struct vj_mig_frame f;
	struct vj_err e = { 0 };
	int fd = stream();
	off_t whole;

	(void)state;
	assert_int_equal(vj_mig_send_run(fd, &run, pages), 0);
	whole = lseek(fd, 0, SEEK_CUR);
	/* Inside the header. */
	assert_int_equal(ftruncate(fd, 10), 0);
	rewind_fd(fd);
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), -EIO);
	assert_non_null(strstr(e.msg, "the stream ends inside a frame header"));
	/* Inside the run descriptor. */
	assert_int_equal(ftruncate(fd, 0), 0);
	rewind_fd(fd);
	assert_int_equal(vj_mig_send_run(fd, &run, pages), 0);
	assert_int_equal(ftruncate(fd, (off_t)sizeof(struct vj_mig_frame_header) + 8), 0);
	rewind_fd(fd);
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), -EIO);
	assert_string_equal(e.msg, "the source: the stream ends inside a MEMORY frame");
	/* Inside the page data: the frame reads, its data does not. */
	assert_int_equal(ftruncate(fd, 0), 0);
	rewind_fd(fd);
	assert_int_equal(vj_mig_send_run(fd, &run, pages), 0);
	assert_int_equal(ftruncate(fd, whole - 1), 0);
	rewind_fd(fd);
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), 0);
	assert_int_equal(vj_mig_read_full(fd, pages, f.data_len), -EPIPE);
	close(fd);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A frame larger than the socket's buffer: with nobody reading, a send
 * with a deadline gives up at it instead of blocking in the kernel; with
 * a reader, it goes in parts (sendmsg takes what fits) and arrives whole. */
static void a_send_with_a_deadline_ends_by_it(void **state)
{
	static uint8_t pages[64 * VJ_MIG_PAGE];
	const struct vj_mig_run run = { .round = 1, .first_page = 0, .npages = 64 };
	int sp[2], status;
	pid_t pid;

	(void)state;
	for (size_t i = 0; i < sizeof(pages); i++)
		pages[i] = (uint8_t)(i * 7 + i / VJ_MIG_PAGE);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(vj_mig_send_run_until(sp[0], &run, pages, mono_ns() + 50000000), -ETIMEDOUT);
	close(sp[0]);
	close(sp[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static uint8_t got[sizeof(pages)];
		struct vj_mig_frame f;
		struct vj_err e = { 0 };
		close(sp[0]);
		_exit(vj_mig_read_frame(sp[1], "the source", &f, &e) == 0 && f.type == VJ_MIG_MEMORY &&
				      f.data_len == sizeof(got) &&
				      vj_mig_read_full(sp[1], got, sizeof(got)) == 0 &&
				      !memcmp(got, pages, sizeof(got))
			      ? 0
			      : 1);
	}
	close(sp[1]);
	assert_int_equal(vj_mig_send_run_until(sp[0], &run, pages, mono_ns() + 60000000000ull), 0);
	close(sp[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A MEMORY frame whose run says other than its length, or is malformed. */
static void a_run_that_lies_about_its_size_is_refused(void **state)
{
	struct vj_mig_run run = { .npages = 2 };
	struct vj_mig_frame f;
	struct vj_err e = { 0 };
	static uint8_t one[VJ_MIG_PAGE];
	int fd = stream();

	(void)state;
	/* Two pages announced, one sent: CRC right, the length wrong. */
	assert_int_equal(vj_mig_send(fd, VJ_MIG_MEMORY, &run, sizeof(run)), 0);
	rewind_fd(fd);
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), -EPROTO);
	assert_non_null(strstr(e.msg, "MEMORY frame of 24 bytes for a run of 2 pages"));
	assert_int_equal(ftruncate(fd, 0), 0);
	rewind_fd(fd);
	run.npages = 0;
	run.flags = VJ_MIG_RUN_ZERO;
	assert_int_equal(vj_mig_send_run(fd, &run, NULL), 0);
	run.npages = 1;
	run.flags = 4;
	assert_int_equal(vj_mig_send_run(fd, &run, one), 0);
	rewind_fd(fd);
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), -EPROTO);
	assert_non_null(strstr(e.msg, "run of 0 pages"));
	assert_int_equal(vj_mig_read_frame(fd, "the source", &f, &e), -EPROTO);
	assert_non_null(strstr(e.msg, "flags 0x4"));
	close(fd);
}

static void a_run_outside_guest_ram_is_refused(void **state)
{
	struct vj_err e = { 0 };
	struct vj_mig_run run = { .first_page = 16382, .npages = 2 };

	(void)state;
	assert_int_equal(vj_mig_check_run(&run, 16384, &e), 0);
	run.npages = 3;
	assert_int_equal(vj_mig_check_run(&run, 16384, &e), -EPROTO);
	assert_string_equal(e.msg, "MEMORY frame: pages 16382..16384, guest RAM has 16384");
	run.first_page = UINT64_MAX;
	run.npages = 2;
	assert_int_equal(vj_mig_check_run(&run, 16384, &e), -EPROTO);
}

static void a_hello_that_does_not_fit_is_refused_with_both_values(void **state)
{
	struct vj_vm_config cfg, other;
	struct vj_mig_hello h;
	struct vj_err e = { 0 };
	struct vj_snapshot_cpu amd = { "AuthenticAMD", 25, 1 };

	(void)state;
	make_config(&cfg);
	hello_for(&cfg, &h);
	other = cfg;
	other.memory_mib = 32;
	assert_int_equal(vj_mig_check_hello(&h, &cpu, &other, &e), -EINVAL);
	assert_string_equal(e.msg, "the source's VM does not fit this one: memory: the source "
			    "has 64 MiB, the configuration 32 MiB");
	other = cfg;
	other.vcpus = 1;
	assert_int_equal(vj_mig_check_hello(&h, &cpu, &other, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "vCPUs: the source has 2, the configuration 1"));
	other = cfg;
	other.rng = false;
	assert_int_equal(vj_mig_check_hello(&h, &cpu, &other, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "devices: the source has 2, the configuration 1"));
	assert_int_equal(vj_mig_check_hello(&h, &amd, &cfg, &e), -ENOEXEC);
	assert_string_equal(e.msg, "the source runs on a GenuineIntel CPU family 6 model 85, this "
			    "host has a AuthenticAMD CPU family 25 model 1");
	/* Version 1 carried state files of version 1: refused at HELLO. */
	h.version = 1;
	assert_int_equal(vj_mig_check_hello(&h, &cpu, &cfg, &e), -EPROTO);
	assert_string_equal(e.msg, "migration stream version 1, this vmjail speaks version 2");
	hello_for(&cfg, &h);
	h.config.ndevices = 1000;
	assert_int_equal(vj_mig_check_hello(&h, &cpu, &cfg, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "1000 devices, at most 16"));
	hello_for(&cfg, &h);
	h.magic[0] = 'x';
	assert_int_equal(vj_mig_check_hello(&h, &cpu, &cfg, &e), -EPROTO);
	/* The agent flag is known; any other bit is not. */
	hello_for(&cfg, &h);
	h.flags = VJ_MIG_HELLO_AGENT;
	assert_int_equal(vj_mig_check_hello(&h, &cpu, &cfg, &e), 0);
	h.flags = VJ_MIG_HELLO_AGENT | 4u;
	assert_int_equal(vj_mig_check_hello(&h, &cpu, &cfg, &e), -EPROTO);
	assert_string_equal(e.msg, "migration stream HELLO: unknown flags 0x4");
}

/* A reason a peer sends is text for one line: control bytes and an
 * unterminated buffer are made harmless. */
static void a_peers_reason_is_made_printable(void **state)
{
	struct vj_mig_refuse r;
	struct vj_mig_frame f;
	struct vj_err e = { 0 };
	int fd = stream();

	(void)state;
	memset(&r, 'A', sizeof(r));
	r.reason[3] = '\n';
	r.reason[4] = '\033';
	assert_int_equal(vj_mig_send(fd, VJ_MIG_REFUSE, &r, sizeof(r)), 0);
	rewind_fd(fd);
	assert_int_equal(vj_mig_read_frame(fd, "the destination", &f, &e), 0);
	assert_int_equal(strlen(f.u.refuse.reason), VJ_MIG_REASON_MAX - 1);
	assert_int_equal(memcmp(f.u.refuse.reason, "AAA??A", 6), 0);
	close(fd);
}

/* ---- dirty bitmaps ---- */

static unsigned runs(const uint64_t *bm, uint64_t nbits, uint64_t max, uint64_t out[][2])
{
	uint64_t pos = 0, start, len;
	unsigned n = 0;

	while (vj_bitmap_next_run(bm, nbits, &pos, max, &start, &len)) {
		out[n][0] = start;
		out[n][1] = len;
		n++;
	}
	return n;
}

static void runs_of_set_bits_are_found_across_words(void **state)
{
	/* bits 0, 3..5, 62..66 (across the word boundary), 128 */
	uint64_t bm[3] = { 1ull | 0x38ull | 3ull << 62, 0x7, 1 };
	uint64_t r[8][2];

	(void)state;
	assert_int_equal(runs(bm, 192, 0, r), 4);
	assert_int_equal(r[0][0], 0);
	assert_int_equal(r[0][1], 1);
	assert_int_equal(r[1][0], 3);
	assert_int_equal(r[1][1], 3);
	assert_int_equal(r[2][0], 62);
	assert_int_equal(r[2][1], 5);
	assert_int_equal(r[3][0], 128);
	assert_int_equal(r[3][1], 1);
	assert_int_equal(vj_bitmap_count(bm, 192), 10);
	/* Runs cut at max bits. */
	assert_int_equal(runs(bm, 192, 2, r), 7);
	assert_int_equal(r[1][0], 3);
	assert_int_equal(r[1][1], 2);
	assert_int_equal(r[2][0], 5);
	assert_int_equal(r[2][1], 1);
	assert_int_equal(r[3][0], 62);
	assert_int_equal(r[4][0], 64);
	assert_int_equal(r[4][1], 2);
}

static void bits_past_the_end_of_a_partial_word_are_ignored(void **state)
{
	/* 70 bits: the second word's bits 6.. are not bitmap. */
	uint64_t bm[2] = { 1ull << 63, ~0ull };
	uint64_t r[4][2];

	(void)state;
	assert_int_equal(runs(bm, 70, 0, r), 1);
	assert_int_equal(r[0][0], 63);
	assert_int_equal(r[0][1], 7);
	assert_int_equal(vj_bitmap_count(bm, 70), 7);
	bm[0] = 0;
	bm[1] = ~0ull << 6;
	assert_int_equal(runs(bm, 70, 0, r), 0);
	assert_int_equal(vj_bitmap_count(bm, 70), 0);
}

static void an_empty_bitmap_has_no_runs(void **state)
{
	uint64_t bm[4] = { 0 };
	uint64_t r[1][2], pos = 0, start, len;

	(void)state;
	assert_int_equal(runs(bm, 256, 0, r), 0);
	assert_false(vj_bitmap_next_run(bm, 0, &pos, 0, &start, &len));
	assert_int_equal(vj_bitmap_count(bm, 256), 0);
	/* A full one is one run. */
	memset(bm, 0xff, sizeof(bm));
	assert_int_equal(runs(bm, 256, 0, r), 1);
	assert_int_equal(r[0][1], 256);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_frame_reads_back_as_written),
		cmocka_unit_test(a_corrupt_frame_is_refused_with_its_reason),
		cmocka_unit_test(a_frame_too_long_is_refused_before_it_is_read),
		cmocka_unit_test(a_truncated_stream_is_refused),
		cmocka_unit_test(a_send_with_a_deadline_ends_by_it),
		cmocka_unit_test(a_run_that_lies_about_its_size_is_refused),
		cmocka_unit_test(a_run_outside_guest_ram_is_refused),
		cmocka_unit_test(a_hello_that_does_not_fit_is_refused_with_both_values),
		cmocka_unit_test(a_peers_reason_is_made_printable),
		cmocka_unit_test(runs_of_set_bits_are_found_across_words),
		cmocka_unit_test(bits_past_the_end_of_a_partial_word_are_ignored),
		cmocka_unit_test(an_empty_bitmap_has_no_runs),
	};

	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
