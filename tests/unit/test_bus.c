#include <string.h>

#include "unit.h"
#include "bus.h"

struct fake {
	uint64_t last_off;
	uint8_t last_byte;
	int writes;
};

static void fake_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)dev;
	memset(data, (int)(0x10 + off), len);
}

static void fake_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct fake *f = dev;
	(void)len;
	f->last_off = off;
	f->last_byte = data[0];
	f->writes++;
}

static const struct vj_bus_ops ops = { fake_read, fake_write };

static void dispatches_with_offsets(void **state)
{
	struct vj_bus b;
	struct fake f = { 0 };
	uint8_t v = 0;
	(void)state;
	vj_bus_init(&b, "test");
	assert_int_equal(vj_bus_add(&b, 0x100, 8, "dev", &ops, &f), 0);
	assert_true(vj_bus_write(&b, 0x103, (const uint8_t *)"\x42", 1));
	assert_int_equal(f.last_off, 3);
	assert_int_equal(f.last_byte, 0x42);
	assert_true(vj_bus_read(&b, 0x105, &v, 1));
	assert_int_equal(v, 0x15);
}

static void unclaimed_reads_all_ones(void **state)
{
	struct vj_bus b;
	uint8_t v[4] = { 0 };
	(void)state;
	vj_bus_init(&b, "test");
	assert_false(vj_bus_read(&b, 0x200, v, 4));
	assert_int_equal(v[0], 0xff);
	assert_int_equal(v[3], 0xff);
	assert_false(vj_bus_write(&b, 0x200, v, 4));
}

static void access_straddling_the_end_is_unclaimed(void **state)
{
	struct vj_bus b;
	struct fake f = { 0 };
	uint8_t v[4];
	(void)state;
	vj_bus_init(&b, "test");
	assert_int_equal(vj_bus_add(&b, 0x100, 8, "dev", &ops, &f), 0);
	assert_false(vj_bus_write(&b, 0x106, v, 4));
	assert_int_equal(f.writes, 0);
}

static void overlaps_and_bad_ranges_are_refused(void **state)
{
	struct vj_bus b;
	(void)state;
	vj_bus_init(&b, "test");
	assert_int_equal(vj_bus_add(&b, 0x100, 8, "a", &ops, NULL), 0);
	assert_int_equal(vj_bus_add(&b, 0x107, 2, "b", &ops, NULL), -EEXIST);
	assert_int_equal(vj_bus_add(&b, 0xf0, 0x20, "c", &ops, NULL), -EEXIST);
	assert_int_equal(vj_bus_add(&b, 0x108, 0, "d", &ops, NULL), -EINVAL);
	assert_int_equal(vj_bus_add(&b, UINT64_MAX - 1, 8, "e", &ops, NULL), -EINVAL);
	assert_int_equal(vj_bus_add(&b, 0x108, 8, "f", &ops, NULL), 0);
}

static void bus_has_a_capacity(void **state)
{
	struct vj_bus b;
	(void)state;
	vj_bus_init(&b, "test");
	for (unsigned i = 0; i < VJ_BUS_MAX_ENTRIES; i++)
		assert_int_equal(vj_bus_add(&b, i * 16, 16, "x", &ops, NULL), 0);
	assert_int_equal(vj_bus_add(&b, 0x10000, 16, "y", &ops, NULL), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dispatches_with_offsets),
		cmocka_unit_test(unclaimed_reads_all_ones),
		cmocka_unit_test(access_straddling_the_end_is_unclaimed),
		cmocka_unit_test(overlaps_and_bad_ranges_are_refused),
		cmocka_unit_test(bus_has_a_capacity),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
