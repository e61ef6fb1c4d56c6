#include <string.h>

#include "unit.h"
#include "layout.h"
#include "memory.h"

static void small_guest_has_one_region(void **state)
{
	struct vj_guest_mem m;
	(void)state;
	assert_int_equal(vj_mem_create(&m, 64 * VJ_MiB), 0);
	assert_int_equal(m.nregions, 1);
	assert_int_equal(vj_mem_low_end(&m), 64 * VJ_MiB);
	vj_mem_destroy(&m);
}

static void large_guest_continues_above_4g(void **state)
{
	struct vj_guest_mem m;
	(void)state;
	assert_int_equal(vj_mem_create(&m, 4 * VJ_GiB), 0);
	assert_int_equal(m.nregions, 2);
	assert_true(vj_mem_low_end(&m) == VJ_MMIO_GAP_START);
	assert_true(m.regions[1].gpa == VJ_MMIO_GAP_END);
	assert_true(m.regions[1].size == 4 * VJ_GiB - VJ_MMIO_GAP_START);
	/* the gap itself is not RAM */
	assert_null(vj_mem_ptr(&m, VJ_MMIO_GAP_START, 1));
	assert_null(vj_mem_ptr(&m, VJ_MMIO_GAP_END - 1, 1));
	assert_non_null(vj_mem_ptr(&m, VJ_MMIO_GAP_END, 1));
	/* a range may not straddle the gap */
	assert_null(vj_mem_ptr(&m, VJ_MMIO_GAP_START - 1, 2));
	vj_mem_destroy(&m);
}

static void ranges_outside_or_wrapping_are_refused(void **state)
{
	struct vj_guest_mem m;
	(void)state;
	assert_int_equal(vj_mem_create(&m, 16 * VJ_MiB), 0);
	assert_non_null(vj_mem_ptr(&m, 0, 16 * VJ_MiB));
	assert_non_null(vj_mem_ptr(&m, 16 * VJ_MiB - 1, 1));
	assert_null(vj_mem_ptr(&m, 16 * VJ_MiB - 1, 2));
	assert_null(vj_mem_ptr(&m, 16 * VJ_MiB, 1));
	assert_null(vj_mem_ptr(&m, 1, UINT64_MAX));
	assert_null(vj_mem_ptr(&m, UINT64_MAX, 2));
	assert_null(vj_mem_ptr(&m, 0, 0));
	vj_mem_destroy(&m);
}

static void read_write_round_trip_and_efault(void **state)
{
	struct vj_guest_mem m;
	char buf[6] = { 0 };
	(void)state;
	assert_int_equal(vj_mem_create(&m, 16 * VJ_MiB), 0);
	assert_int_equal(vj_mem_write(&m, 0x1000, "hello", 6), 0);
	assert_int_equal(vj_mem_read(&m, 0x1000, buf, 6), 0);
	assert_string_equal(buf, "hello");
	assert_int_equal(vj_mem_write(&m, 16 * VJ_MiB - 3, "hello", 6), -EFAULT);
	assert_int_equal(vj_mem_read(&m, 16 * VJ_MiB, buf, 1), -EFAULT);
	vj_mem_destroy(&m);
}

static void sizes_must_be_2mib_multiples(void **state)
{
	struct vj_guest_mem m;
	(void)state;
	assert_int_equal(vj_mem_create(&m, 3 * VJ_MiB), -EINVAL);
	assert_int_equal(vj_mem_create(&m, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_guest_has_one_region),
		cmocka_unit_test(large_guest_continues_above_4g),
		cmocka_unit_test(ranges_outside_or_wrapping_are_refused),
		cmocka_unit_test(read_write_round_trip_and_efault),
		cmocka_unit_test(sizes_must_be_2mib_multiples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
