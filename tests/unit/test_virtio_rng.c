/* virtio-rng requests (vmm/virtio/rng.c). */
#include <string.h>

#include "unit.h"
#include "test_virtio_util.h"
#include "virtio/rng.h"

#define N VRING_DESC_F_NEXT
#define W VRING_DESC_F_WRITE

struct fixture {
	struct vj_guest_mem mem;
	struct fake_ring ring;
	struct vj_rng rng;
};

static int setup(void **state)
{
	static struct fixture f;

	assert_int_equal(vj_mem_create(&f.mem, FAKE_MEM_SIZE, VJ_MEMORY_4K, VJ_THP_UNKNOWN), 0);
	fake_ring_init(&f.ring, &f.mem, 8);
	assert_int_equal(vj_rng_create(&f.rng, &f.mem), 0);
	fake_driver_init(&f.rng.vdev, 0, &f.ring, 1);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vj_rng_destroy(&f->rng);
	vj_mem_destroy(&f->mem);
	return 0;
}

#define F struct fixture *f = *state

static uint32_t serve(struct fixture *f)
{
	uint16_t before = fake_used_idx(&f->ring);

	fake_publish(&f->ring, 0);
	vj_virtio_process(&f->rng.vdev, 0);
	assert_int_equal(fake_used_idx(&f->ring), (uint16_t)(before + 1));
	return fake_used(&f->ring, before).len;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void buffers_are_filled_across_descriptors(void **state)
{
	F;
	fake_desc(&f->ring, 0, FAKE_BUF, 32, N | W, 1);
	fake_desc(&f->ring, 1, FAKE_BUF + 4096, 32, W, 0);
	memset(gp(&f->mem, FAKE_BUF), 0, 8192);
	assert_int_equal(serve(f), 64);
	assert_false(all_zero(gp(&f->mem, FAKE_BUF), 32));
	assert_false(all_zero(gp(&f->mem, FAKE_BUF + 4096), 32));
	assert_true(all_zero((uint8_t *)gp(&f->mem, FAKE_BUF) + 32, 32));
}

static void request_is_capped(void **state)
{
	F;
	fake_desc(&f->ring, 0, FAKE_BUF, 1 << 20, W, 0);
	assert_int_equal(serve(f), VJ_RNG_REQUEST_MAX);
}

static void readable_buffer_fails_the_request(void **state)
{
	F;
	fake_desc(&f->ring, 0, FAKE_BUF, 32, N, 1);
	fake_desc(&f->ring, 1, FAKE_BUF + 64, 32, W, 0);
	memset(gp(&f->mem, FAKE_BUF + 64), 0, 32);
	assert_int_equal(serve(f), 0);
	assert_true(all_zero(gp(&f->mem, FAKE_BUF + 64), 32));
}

static void buffer_outside_ram_fails_the_request(void **state)
{
	F;
	fake_desc(&f->ring, 0, FAKE_BUF, 32, N | W, 1);
	fake_desc(&f->ring, 1, FAKE_OUTSIDE, 32, W, 0);
	memset(gp(&f->mem, FAKE_BUF), 0, 32);
	assert_int_equal(serve(f), 0);
	assert_true(all_zero(gp(&f->mem, FAKE_BUF), 32));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(buffers_are_filled_across_descriptors),
		T(request_is_capped),
		T(readable_buffer_fails_the_request),
		T(buffer_outside_ram_fails_the_request),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
