/* virtio-blk requests, well-formed and hostile (vmm/virtio/blk.c). */
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>

#include "unit.h"
#include "test_virtio_util.h"
#include "config.h"
#include "virtio/blk.h"

/* Room for a write zeroes of several steps (VJ_BLK_RANGE_STEP). */
#define DISK_SIZE (4u << 20)
#define HDR FAKE_BUF
#define DATA (FAKE_BUF + 0x1000)
#define STATUS (FAKE_BUF + 0x800)
#define N VRING_DESC_F_NEXT
#define W VRING_DESC_F_WRITE

struct fixture {
	struct vj_guest_mem mem;
	struct fake_ring ring;
	struct vj_drive_config cfg;
	struct vj_blk blk;
	int fd;
};

static uint8_t disk_byte(uint64_t off)
{
	return (uint8_t)(off * 13 + (off >> 9));
}

static int start(void **state, bool read_only, const struct vj_rate_limit *rate)
{
	static struct fixture f;
	static uint8_t data[DISK_SIZE];

	memset(&f, 0, sizeof(f));
	for (uint32_t i = 0; i < DISK_SIZE; i++)
		data[i] = disk_byte(i);
	f.fd = memfd_create("vj-test-disk", MFD_CLOEXEC);
	assert_true(f.fd >= 0);
	assert_int_equal(write(f.fd, data, DISK_SIZE), DISK_SIZE);
	assert_int_equal(vj_mem_create(&f.mem, FAKE_MEM_SIZE, VJ_MEMORY_4K, VJ_THP_UNKNOWN), 0);
	fake_ring_init(&f.ring, &f.mem, 16);
	f.cfg.file.fd = f.fd;
	strcpy(f.cfg.file.name, "test.img");
	strcpy(f.cfg.id, "serial-1234");
	f.cfg.read_only = read_only;
	if (rate)
		f.cfg.rate = *rate;
	assert_int_equal(vj_blk_create(&f.blk, &f.cfg, 0, &f.mem), 0);
	fake_driver_init(&f.blk.vdev, 1ull << VIRTIO_BLK_F_FLUSH, &f.ring, 1);
	assert_true(vj_virtio_running(&f.blk.vdev));
	*state = &f;
	return 0;
}

static int setup(void **state)
{
	return start(state, false, NULL);
}

static int setup_ro(void **state)
{
	return start(state, true, NULL);
}

static int setup_limited(void **state)
{
	/* 8 KiB per hour: no refill to speak of while the test runs. */
	static const struct vj_rate_limit rate = { .bytes = { .size = 8192, .refill_ms = 3600000 } };
	return start(state, false, &rate);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vj_blk_destroy(&f->blk);
	vj_mem_destroy(&f->mem);
	close(f->fd);
	return 0;
}

#define F struct fixture *f = *state
#define R (&f->ring)

static void header(struct fixture *f, uint32_t type, uint64_t sector)
{
	*(struct virtio_blk_outhdr *)gp(&f->mem, HDR) =
		(struct virtio_blk_outhdr){ .type = type, .sector = sector };
	*(uint8_t *)gp(&f->mem, STATUS) = 0xff;
}

/* Publishes the chain at head 0 and lets the device serve it. */
static struct vring_used_elem serve(struct fixture *f)
{
	uint16_t before = fake_used_idx(&f->ring);

	fake_publish(&f->ring, 0);
	vj_virtio_process(&f->blk.vdev, 0);
	assert_int_equal(fake_used_idx(&f->ring), (uint16_t)(before + 1));
	return fake_used(&f->ring, before);
}

static uint8_t status(struct fixture *f)
{
	return *(uint8_t *)gp(&f->mem, STATUS);
}

/* header, one data buffer, status: the usual three-descriptor request. */
static struct vring_used_elem rw(struct fixture *f, uint32_t type, uint64_t sector,
				 uint64_t data, uint32_t len)
{
	header(f, type, sector);
	fake_desc(&f->ring, 0, HDR, 16, N, 1);
	fake_desc(&f->ring, 1, data, len, N | (type == VIRTIO_BLK_T_OUT ? 0 : W), 2);
	fake_desc(&f->ring, 2, STATUS, 1, W, 0);
	return serve(f);
}

static struct vring_used_elem ranges(struct fixture *f, uint32_t type,
				     const struct virtio_blk_discard_write_zeroes *r, unsigned n,
				     uint32_t len);
static bool zeroes_in_file(struct fixture *f, uint64_t off, uint64_t len);

static void read_returns_the_file_contents(void **state)
{
	F;
	struct vring_used_elem u = rw(f, VIRTIO_BLK_T_IN, 3, DATA, 1024);
	uint8_t *p = gp(&f->mem, DATA);

	assert_int_equal(status(f), VIRTIO_BLK_S_OK);
	assert_int_equal(u.len, 1025);
	for (unsigned i = 0; i < 1024; i++)
		assert_int_equal(p[i], disk_byte(3 * 512 + i));
}

static void write_reaches_the_file(void **state)
{
	F;
	uint8_t back[512];

	memset(gp(&f->mem, DATA), 0xab, 512);
	assert_int_equal(rw(f, VIRTIO_BLK_T_OUT, 10, DATA, 512).len, 1);
	assert_int_equal(status(f), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(f->fd, back, 512, 10 * 512), 512);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(back[i], 0xab);
}

static void header_split_across_descriptors_is_read_whole(void **state)
{
	F;
	header(f, VIRTIO_BLK_T_IN, 1);
	fake_desc(R, 0, HDR, 5, N, 1);
	fake_desc(R, 1, HDR + 5, 11, N, 2);
	fake_desc(R, 2, DATA, 512, N | W, 3);
	fake_desc(R, 3, STATUS, 1, W, 0);
	serve(f);
	assert_int_equal(status(f), VIRTIO_BLK_S_OK);
	assert_int_equal(*(uint8_t *)gp(&f->mem, DATA), disk_byte(512));
}

static void write_to_read_only_drive_fails(void **state)
{
	F;
	uint8_t back[512];

	assert_true(f->blk.config.capacity == DISK_SIZE / 512);
	memset(gp(&f->mem, DATA), 0xab, 512);
	rw(f, VIRTIO_BLK_T_OUT, 0, DATA, 512);
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
	assert_int_equal(pread(f->fd, back, 512, 0), 512);
	assert_int_equal(back[1], disk_byte(1));
	rw(f, VIRTIO_BLK_T_IN, 0, DATA, 512);
	assert_int_equal(status(f), VIRTIO_BLK_S_OK);
}

static void discard_on_read_only_drive_fails(void **state)
{
	F;
	struct virtio_blk_discard_write_zeroes r = { .sector = 0, .num_sectors = 8 };

	ranges(f, VIRTIO_BLK_T_DISCARD, &r, 1, sizeof(r));
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
	assert_false(zeroes_in_file(f, 0, 4096));
}

static void access_past_the_end_fails(void **state)
{
	F;
	rw(f, VIRTIO_BLK_T_IN, DISK_SIZE / 512, DATA, 512);
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
	rw(f, VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1, DATA, 1024);
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
	rw(f, VIRTIO_BLK_T_OUT, UINT64_MAX, DATA, 512);
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
	rw(f, VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, DATA, 512);
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
}

static void data_not_a_multiple_of_the_sector_fails(void **state)
{
	F;
	rw(f, VIRTIO_BLK_T_IN, 0, DATA, 100);
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
}

static void data_buffer_outside_ram_fails_with_ioerr(void **state)
{
	F;
	struct vring_used_elem u = rw(f, VIRTIO_BLK_T_IN, 0, FAKE_OUTSIDE, 512);

	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
	assert_int_equal(u.len, 1);
	rw(f, VIRTIO_BLK_T_OUT, 0, FAKE_MEM_SIZE - 256, 512);
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
}

static void data_length_near_4g_fails_with_ioerr(void **state)
{
	F;
	rw(f, VIRTIO_BLK_T_IN, 0, DATA, 0xfffffe00u);
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
}

static void status_outside_ram_returns_the_chain_unwritten(void **state)
{
	F;
	header(f, VIRTIO_BLK_T_IN, 0);
	fake_desc(R, 0, HDR, 16, N, 1);
	fake_desc(R, 1, DATA, 512, N | W, 2);
	fake_desc(R, 2, FAKE_OUTSIDE, 1, W, 0);
	assert_int_equal(serve(f).len, 0);
}

static void short_header_fails(void **state)
{
	F;
	header(f, VIRTIO_BLK_T_IN, 0);
	fake_desc(R, 0, HDR, 8, N, 1);
	fake_desc(R, 1, STATUS, 1, W, 0);
	serve(f);
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
}

static void chain_without_writable_bytes_is_returned_unwritten(void **state)
{
	F;
	header(f, VIRTIO_BLK_T_IN, 0);
	fake_desc(R, 0, HDR, 16, 0, 0);
	assert_int_equal(serve(f).len, 0);
}

static void descriptor_loop_is_returned_unwritten(void **state)
{
	F;
	header(f, VIRTIO_BLK_T_IN, 0);
	fake_desc(R, 0, HDR, 16, N, 1);
	fake_desc(R, 1, STATUS, 1, N | W, 0);
	assert_int_equal(serve(f).len, 0);
	assert_int_equal(status(f), 0xff);
	/* The device still serves the next request. */
	rw(f, VIRTIO_BLK_T_IN, 0, DATA, 512);
	assert_int_equal(status(f), VIRTIO_BLK_S_OK);
}

static void flush_and_get_id(void **state)
{
	F;
	header(f, VIRTIO_BLK_T_FLUSH, 0);
	fake_desc(R, 0, HDR, 16, N, 1);
	fake_desc(R, 1, STATUS, 1, W, 0);
	serve(f);
	assert_int_equal(status(f), VIRTIO_BLK_S_OK);
	memset(gp(&f->mem, DATA), 0x55, 20);
	assert_int_equal(rw(f, VIRTIO_BLK_T_GET_ID, 0, DATA, 20).len, 21);
	assert_int_equal(status(f), VIRTIO_BLK_S_OK);
	assert_memory_equal(gp(&f->mem, DATA), "serial-1234\0\0\0\0\0\0\0\0", 20);
}

static void unknown_request_type_is_unsupported(void **state)
{
	F;
	rw(f, 0x1234, 0, DATA, 512);
	assert_int_equal(status(f), VIRTIO_BLK_S_UNSUPP);
}

/* A discard or write zeroes of n ranges (len bytes of them) made
 * available, not yet served. */
static void publish_ranges(struct fixture *f, uint32_t type,
			   const struct virtio_blk_discard_write_zeroes *r, unsigned n, uint32_t len)
{
	memcpy(gp(&f->mem, DATA), r, n * sizeof(*r));
	header(f, type, 0);
	fake_desc(&f->ring, 0, HDR, 16, N, 1);
	fake_desc(&f->ring, 1, DATA, len, N, 2);
	fake_desc(&f->ring, 2, STATUS, 1, W, 0);
	fake_publish(&f->ring, 0);
}

static struct vring_used_elem ranges(struct fixture *f, uint32_t type,
				     const struct virtio_blk_discard_write_zeroes *r, unsigned n,
				     uint32_t len)
{
	uint16_t before = fake_used_idx(&f->ring);

	publish_ranges(f, type, r, n, len);
	vj_virtio_process(&f->blk.vdev, 0);
	assert_int_equal(fake_used_idx(&f->ring), (uint16_t)(before + 1));
	return fake_used(&f->ring, before);
}

static bool zeroes_in_file(struct fixture *f, uint64_t off, uint64_t len)
{
	uint8_t b[4096];

	for (uint64_t at = off; at < off + len; at += sizeof(b)) {
		assert_int_equal(pread(f->fd, b, sizeof(b), (off_t)at), sizeof(b));
		for (unsigned i = 0; i < sizeof(b); i++)
			if (b[i])
				return false;
	}
	return true;
}

static void discard_punches_a_hole(void **state)
{
	F;
	struct virtio_blk_discard_write_zeroes r = { .sector = 64, .num_sectors = 64 };
	struct stat before, after;

	assert_int_equal(fstat(f->fd, &before), 0);
	ranges(f, VIRTIO_BLK_T_DISCARD, &r, 1, sizeof(r));
	assert_int_equal(status(f), VIRTIO_BLK_S_OK);
	assert_int_equal(fstat(f->fd, &after), 0);
	assert_true(after.st_blocks < before.st_blocks);
	assert_int_equal(after.st_size, DISK_SIZE);
	assert_true(zeroes_in_file(f, 64 * 512, 64 * 512));
}

static void write_zeroes_zeroes_the_range(void **state)
{
	F;
	struct virtio_blk_discard_write_zeroes r[2] = {
		{ .sector = 8, .num_sectors = 8 },
		{ .sector = 32, .num_sectors = 8, .flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP },
	};
	uint8_t b;

	ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, r, 2, sizeof(r));
	assert_int_equal(status(f), VIRTIO_BLK_S_OK);
	assert_true(zeroes_in_file(f, 8 * 512, 4096));
	assert_true(zeroes_in_file(f, 32 * 512, 4096));
	assert_int_equal(pread(f->fd, &b, 1, 16 * 512), 1);
	assert_int_equal(b, disk_byte(16 * 512));
}

static void malformed_ranges_fail(void **state)
{
	F;
	struct virtio_blk_discard_write_zeroes r = { .sector = 0, .num_sectors = 8 };
	struct virtio_blk_discard_write_zeroes many[VJ_BLK_RANGES_MAX + 1] = { { 0 } };

	ranges(f, VIRTIO_BLK_T_DISCARD, &r, 1, sizeof(r) - 4);
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
	r = (struct virtio_blk_discard_write_zeroes){ .sector = DISK_SIZE / 512 - 4,
						      .num_sectors = 8 };
	ranges(f, VIRTIO_BLK_T_DISCARD, &r, 1, sizeof(r));
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
	r = (struct virtio_blk_discard_write_zeroes){ .sector = UINT64_MAX - 2,
						      .num_sectors = 8 };
	ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1, sizeof(r));
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
	/* Discard takes no flags; write zeroes only the unmap flag. */
	r = (struct virtio_blk_discard_write_zeroes){ .num_sectors = 8,
						      .flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP };
	ranges(f, VIRTIO_BLK_T_DISCARD, &r, 1, sizeof(r));
	assert_int_equal(status(f), VIRTIO_BLK_S_UNSUPP);
	r.flags = 2;
	ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1, sizeof(r));
	assert_int_equal(status(f), VIRTIO_BLK_S_UNSUPP);
	ranges(f, VIRTIO_BLK_T_DISCARD, many, VJ_BLK_RANGES_MAX + 1, sizeof(many));
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
	ranges(f, VIRTIO_BLK_T_DISCARD, &r, 0, 0);
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
}

static void rate_limit_holds_requests_back(void **state)
{
	F;
	uint64_t n;

	rw(f, VIRTIO_BLK_T_IN, 0, DATA, 8192);
	assert_int_equal(status(f), VIRTIO_BLK_S_OK);
	/* The bucket is empty now: the next request stays in the ring. */
	header(f, VIRTIO_BLK_T_IN, 0);
	fake_publish(R, 0);
	vj_virtio_process(&f->blk.vdev, 0);
	assert_int_equal(fake_used_idx(R), 1);
	assert_int_equal(status(f), 0xff);
	assert_true(f->blk.rl.throttled);
	/* Still held on another notify while the throttle lasts. */
	vj_virtio_process(&f->blk.vdev, 0);
	assert_int_equal(fake_used_idx(R), 1);
	assert_int_equal(read(f->blk.rl.timer_fd, &n, 8), -1); /* armed, not fired */
}

static void malformed_range_fails_the_request_before_any_range_is_done(void **state)
{
	F;
	struct virtio_blk_discard_write_zeroes r[2] = {
		{ .sector = 8, .num_sectors = 8 },
		{ .sector = DISK_SIZE / 512, .num_sectors = 8 },
	};

	ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, r, 2, sizeof(r));
	assert_int_equal(status(f), VIRTIO_BLK_S_IOERR);
	assert_false(zeroes_in_file(f, 8 * 512, 4096));
}

/* Status still 0xff, nothing used, the limiter waiting for its timer. */
static void assert_held(struct fixture *f, uint16_t used_before)
{
	assert_int_equal(fake_used_idx(R), used_before);
	assert_int_equal(status(f), 0xff);
	assert_true(f->blk.rl.throttled);
}

static void write_zeroes_is_charged_its_bytes(void **state)
{
	F;
	struct virtio_blk_discard_write_zeroes r = { .sector = 0, .num_sectors = 16 };

	/* 8 KiB: the whole bucket. */
	ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1, sizeof(r));
	assert_int_equal(status(f), VIRTIO_BLK_S_OK);
	r = (struct virtio_blk_discard_write_zeroes){ .sector = 64, .num_sectors = 8 };
	publish_ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1, sizeof(r));
	vj_virtio_process(&f->blk.vdev, 0);
	assert_held(f, 1);
	assert_false(zeroes_in_file(f, 64 * 512, 4096));
}

static void discard_is_charged_its_bytes(void **state)
{
	F;
	struct virtio_blk_discard_write_zeroes r = { .sector = 0, .num_sectors = 16 };

	ranges(f, VIRTIO_BLK_T_DISCARD, &r, 1, sizeof(r));
	assert_int_equal(status(f), VIRTIO_BLK_S_OK);
	r = (struct virtio_blk_discard_write_zeroes){ .sector = 64, .num_sectors = 8 };
	publish_ranges(f, VIRTIO_BLK_T_DISCARD, &r, 1, sizeof(r));
	vj_virtio_process(&f->blk.vdev, 0);
	assert_held(f, 1);
	assert_false(zeroes_in_file(f, 64 * 512, 4096));
}

static void every_range_of_a_request_is_charged(void **state)
{
	F;
	/* 4 KiB each: the second range is the one the bucket lacks. */
	struct virtio_blk_discard_write_zeroes r[2] = {
		{ .sector = 0, .num_sectors = 8 },
		{ .sector = 64, .num_sectors = 8 },
	};

	ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, r, 2, sizeof(r));
	assert_int_equal(status(f), VIRTIO_BLK_S_OK);
	header(f, VIRTIO_BLK_T_IN, 0);
	fake_desc(R, 1, DATA, 512, N | W, 2);
	fake_publish(R, 0);
	vj_virtio_process(&f->blk.vdev, 0);
	assert_held(f, 1);
}

static uint64_t kicks(struct fixture *f)
{
	uint64_t n = 0;

	(void)!read(f->blk.vdev.notify[0].efd, &n, sizeof(n));
	return n;
}

/* A write zeroes of three steps, without unmapping: a memfd has no
 * FALLOC_FL_ZERO_RANGE, so, as on tmpfs, the zeroes are written. */
#define BIG_SECTOR 8
#define BIG_LEN (3ull * VJ_BLK_RANGE_STEP)

/* Makes it available and runs one turn of the event loop on it. */
static void start_big_write_zeroes(struct fixture *f)
{
	struct virtio_blk_discard_write_zeroes r = { .sector = BIG_SECTOR,
						     .num_sectors = BIG_LEN / 512 };

	publish_ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1, sizeof(r));
	vj_virtio_process(&f->blk.vdev, 0);
}

static void large_write_zeroes_is_done_a_step_per_turn(void **state)
{
	F;
	const uint64_t off = BIG_SECTOR * 512;

	kicks(f);
	start_big_write_zeroes(f);
	assert_int_equal(fake_used_idx(R), 0);
	assert_true(zeroes_in_file(f, off, VJ_BLK_RANGE_STEP));
	assert_false(zeroes_in_file(f, off + VJ_BLK_RANGE_STEP, 4096));
	/* The device asked the loop to come back for the rest. */
	assert_int_equal(kicks(f), 1);
	vj_virtio_process(&f->blk.vdev, 0);
	assert_int_equal(fake_used_idx(R), 0);
	vj_virtio_process(&f->blk.vdev, 0);
	assert_int_equal(fake_used_idx(R), 1);
	assert_int_equal(fake_used(R, 0).len, 1);
	assert_int_equal(status(f), VIRTIO_BLK_S_OK);
	assert_true(zeroes_in_file(f, off, BIG_LEN));
	assert_false(zeroes_in_file(f, off + BIG_LEN, 4096));
}

static void requests_wait_behind_a_write_zeroes_in_progress(void **state)
{
	F;
	start_big_write_zeroes(f);
	header(f, VIRTIO_BLK_T_IN, 0);
	fake_desc(R, 3, HDR, 16, N, 4);
	fake_desc(R, 4, DATA, 512, N | W, 5);
	fake_desc(R, 5, STATUS + 1, 1, W, 0);
	fake_publish(R, 3);
	vj_virtio_process(&f->blk.vdev, 0);
	vj_virtio_process(&f->blk.vdev, 0);
	assert_int_equal(fake_used_idx(R), 1);
	assert_int_equal(fake_used(R, 0).id, 0);
	vj_virtio_process(&f->blk.vdev, 0);
	assert_int_equal(fake_used_idx(R), 2);
	assert_int_equal(fake_used(R, 1).id, 3);
}

static void reset_abandons_a_write_zeroes_in_progress(void **state)
{
	F;
	start_big_write_zeroes(f);
	fake_ring_init(&f->ring, &f->mem, 16);
	fake_driver_init(&f->blk.vdev, 1ull << VIRTIO_BLK_F_FLUSH, &f->ring, 1);
	vj_virtio_process(&f->blk.vdev, 0);
	assert_int_equal(fake_used_idx(R), 0);
	assert_false(zeroes_in_file(f, BIG_SECTOR * 512 + VJ_BLK_RANGE_STEP, 4096));
	/* The new driver instance is served. */
	rw(f, VIRTIO_BLK_T_IN, 0, DATA, 512);
	assert_int_equal(status(f), VIRTIO_BLK_S_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(read_returns_the_file_contents),
		T(write_reaches_the_file),
		T(header_split_across_descriptors_is_read_whole),
		cmocka_unit_test_setup_teardown(write_to_read_only_drive_fails, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(discard_on_read_only_drive_fails, setup_ro,
						teardown),
		T(access_past_the_end_fails),
		T(data_not_a_multiple_of_the_sector_fails),
		T(data_buffer_outside_ram_fails_with_ioerr),
		T(data_length_near_4g_fails_with_ioerr),
		T(status_outside_ram_returns_the_chain_unwritten),
		T(short_header_fails),
		T(chain_without_writable_bytes_is_returned_unwritten),
		T(descriptor_loop_is_returned_unwritten),
		T(flush_and_get_id),
		T(unknown_request_type_is_unsupported),
		T(discard_punches_a_hole),
		T(write_zeroes_zeroes_the_range),
		T(malformed_ranges_fail),
		T(malformed_range_fails_the_request_before_any_range_is_done),
		T(large_write_zeroes_is_done_a_step_per_turn),
		T(requests_wait_behind_a_write_zeroes_in_progress),
		T(reset_abandons_a_write_zeroes_in_progress),
		cmocka_unit_test_setup_teardown(rate_limit_holds_requests_back, setup_limited,
						teardown),
		cmocka_unit_test_setup_teardown(write_zeroes_is_charged_its_bytes, setup_limited,
						teardown),
		cmocka_unit_test_setup_teardown(discard_is_charged_its_bytes, setup_limited,
						teardown),
		cmocka_unit_test_setup_teardown(every_range_of_a_request_is_charged, setup_limited,
						teardown),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
