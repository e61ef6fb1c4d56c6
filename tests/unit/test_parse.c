#include <errno.h>

#include "unit.h"
#include "parse.h"

static void u64_accepts_decimal_and_hex(void **state)
{
	uint64_t v;
	(void)state;
	assert_int_equal(vj_parse_u64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(vj_parse_u64("0x1f", 0, 100, &v), 0);
	assert_int_equal(v, 31);
}

static void u64_rejects_junk_sign_space_and_empty(void **state)
{
	uint64_t v;
	(void)state;
	assert_int_equal(vj_parse_u64("", 0, 100, &v), -EINVAL);
	assert_int_equal(vj_parse_u64("12a", 0, 100, &v), -EINVAL);
	assert_int_equal(vj_parse_u64("-1", 0, 100, &v), -EINVAL);
	assert_int_equal(vj_parse_u64(" 1", 0, 100, &v), -EINVAL);
	assert_int_equal(vj_parse_u64("0x", 0, 100, &v), -EINVAL);
}

static void u64_rejects_out_of_range_and_overflow(void **state)
{
	uint64_t v;
	(void)state;
	assert_int_equal(vj_parse_u64("101", 0, 100, &v), -ERANGE);
	assert_int_equal(vj_parse_u64("0", 1, 100, &v), -ERANGE);
	assert_int_equal(vj_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(vj_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
}

static void size_suffixes_are_binary(void **state)
{
	uint64_t v;
	(void)state;
	assert_int_equal(vj_parse_size("4K", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(vj_parse_size("128Mi", &v), 0);
	assert_int_equal(v, 128ull << 20);
	assert_int_equal(vj_parse_size("2G", &v), 0);
	assert_true(v == 2ull << 30);
	assert_int_equal(vj_parse_size("1T", &v), 0);
	assert_true(v == 1ull << 40);
	assert_int_equal(vj_parse_size("77", &v), 0);
	assert_int_equal(v, 77);
	assert_int_equal(vj_parse_size("0", &v), 0);
	assert_int_equal(v, 0);
}

/* The policy's grammar: no hex, no leading zero, no lower-case unit. */
static void size_is_decimal_and_strict(void **state)
{
	uint64_t v;
	(void)state;
	assert_int_equal(vj_parse_size("0x10", &v), -EINVAL);
	assert_int_equal(vj_parse_size("010", &v), -EINVAL);
	assert_int_equal(vj_parse_size("1t", &v), -EINVAL);
	assert_int_equal(vj_parse_size("1m", &v), -EINVAL);
	assert_int_equal(vj_parse_size("", &v), -EINVAL);
	assert_int_equal(vj_parse_size("-1", &v), -EINVAL);
	assert_int_equal(vj_parse_size("1 M", &v), -EINVAL);
}

static void size_rejects_bad_suffix_and_overflow(void **state)
{
	uint64_t v;
	(void)state;
	assert_int_equal(vj_parse_size("4KB", &v), -EINVAL);
	assert_int_equal(vj_parse_size("4X", &v), -EINVAL);
	assert_int_equal(vj_parse_size("M", &v), -EINVAL);
	assert_int_equal(vj_parse_size("16777216T", &v), -ERANGE);
}

static void mac_parses_and_rejects(void **state)
{
	uint8_t m[6];
	(void)state;
	assert_int_equal(vj_parse_mac("02:00:0a:0B:ff:01", m), 0);
	assert_int_equal(m[0], 2);
	assert_int_equal(m[3], 0x0b);
	assert_int_equal(m[5], 1);
	assert_int_equal(vj_parse_mac("02:00:0a:0b:ff", m), -EINVAL);
	assert_int_equal(vj_parse_mac("02:00:0a:0b:ff:0g", m), -EINVAL);
	assert_int_equal(vj_parse_mac("02-00-0a-0b-ff-01", m), -EINVAL);
	assert_int_equal(vj_parse_mac("2:0:a:b:f:1:0000", m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(u64_accepts_decimal_and_hex),
		cmocka_unit_test(u64_rejects_junk_sign_space_and_empty),
		cmocka_unit_test(u64_rejects_out_of_range_and_overflow),
		cmocka_unit_test(size_suffixes_are_binary),
		cmocka_unit_test(size_rejects_bad_suffix_and_overflow),
		cmocka_unit_test(size_is_decimal_and_strict),
		cmocka_unit_test(mac_parses_and_rejects),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
