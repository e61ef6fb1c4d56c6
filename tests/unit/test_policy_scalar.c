/* The scalar syntaxes of policy files: integers, sizes, durations,
 * decimals, names, cpusets, UTF-8 and quoting. */
#include "test_policy_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/scalar.h"

static void uint_accepts_decimal(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(vj_scalar_uint("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vj_scalar_uint("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
}

static void uint_rejects_leading_zero_as_ambiguous_octal(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(vj_scalar_uint("010", &v), -EINVAL);
}

static void uint_rejects_sign_space_hex_and_separators(void **state)
{
	static const char *const bad[] = { "", "+1", "-1", " 1", "1 ", "0x10", "1_000", "1e3", "1.0" };
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vj_scalar_uint(bad[i], &v), -EINVAL);
}

static void uint_reports_overflow(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(vj_scalar_uint("18446744073709551616", &v), -ERANGE);
}

static void size_accepts_binary_suffixes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(vj_scalar_size("4096", &v), 0);
	assert_true(v == 4096);
	assert_int_equal(vj_scalar_size("2Ki", &v), 0);
	assert_true(v == 2048);
	assert_int_equal(vj_scalar_size("128Mi", &v), 0);
	assert_true(v == 128ull << 20);
	assert_int_equal(vj_scalar_size("3Gi", &v), 0);
	assert_true(v == 3ull << 30);
	assert_int_equal(vj_scalar_size("1Ti", &v), 0);
	assert_true(v == 1ull << 40);
}

/* One letter is the same binary unit: 512M is 512Mi, never 512 * 10^6. */
static void size_one_letter_suffixes_are_binary_too(void **state)
{
	static const char *const same[][2] = {
		{ "2K", "2Ki" }, { "512M", "512Mi" }, { "3G", "3Gi" }, { "1T", "1Ti" },
	};
	uint64_t a, b;

	(void)state;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		assert_int_equal(vj_scalar_size(same[i][0], &a), 0);
		assert_int_equal(vj_scalar_size(same[i][1], &b), 0);
		assert_true(a == b);
	}
	assert_true(a == 1ull << 40);
}

static void size_rejects_other_suffixes(void **state)
{
	static const char *const bad[] = { "2g", "2GB", "2gi", "2KiB", "2 Mi", "Mi", "1.5Gi", "2m" };
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vj_scalar_size(bad[i], &v), -EINVAL);
}

static void size_reports_overflow(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(vj_scalar_size("16777216Ti", &v), -ERANGE);
}

static void duration_requires_a_unit(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(vj_scalar_duration_ms("30", &v), -EINVAL);
	assert_int_equal(vj_scalar_duration_ms("30sec", &v), -EINVAL);
	assert_int_equal(vj_scalar_duration_ms("1.5s", &v), -EINVAL);
}

static void duration_units_scale_to_milliseconds(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(vj_scalar_duration_ms("250ms", &v), 0);
	assert_true(v == 250);
	assert_int_equal(vj_scalar_duration_ms("30s", &v), 0);
	assert_true(v == 30000);
	assert_int_equal(vj_scalar_duration_ms("2m", &v), 0);
	assert_true(v == 120000);
	assert_int_equal(vj_scalar_duration_ms("1h", &v), 0);
	assert_true(v == 3600000);
}

static void decimal_reads_thousandths(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(vj_scalar_milli("1.5", &v), 0);
	assert_true(v == 1500);
	assert_int_equal(vj_scalar_milli("2", &v), 0);
	assert_true(v == 2000);
	assert_int_equal(vj_scalar_milli("0.125", &v), 0);
	assert_true(v == 125);
}

static void decimal_rejects_more_than_three_decimals_and_bare_dots(void **state)
{
	static const char *const bad[] = { "1.2345", "1.", ".5", "1..5", "1,5", "-1" };
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vj_scalar_milli(bad[i], &v), -EINVAL);
}

static void formats_use_the_largest_exact_unit(void **state)
{
	char b[32];

	(void)state;
	vj_format_size(128ull << 20, b, sizeof(b));
	assert_string_equal(b, "128Mi");
	vj_format_size(1536ull << 10, b, sizeof(b));
	assert_string_equal(b, "1536Ki");
	vj_format_size(1000, b, sizeof(b));
	assert_string_equal(b, "1000");
	vj_format_size(0, b, sizeof(b));
	assert_string_equal(b, "0");
	vj_format_duration_ms(90000, b, sizeof(b));
	assert_string_equal(b, "90s");
	vj_format_duration_ms(7200000, b, sizeof(b));
	assert_string_equal(b, "2h");
	vj_format_duration_ms(1500, b, sizeof(b));
	assert_string_equal(b, "1500ms");
	vj_format_milli(1500, b, sizeof(b));
	assert_string_equal(b, "1.5");
	vj_format_milli(1050, b, sizeof(b));
	assert_string_equal(b, "1.05");
	vj_format_milli(1, b, sizeof(b));
	assert_string_equal(b, "0.001");
	vj_format_milli(3000, b, sizeof(b));
	assert_string_equal(b, "3");
}

static void names_follow_their_character_sets(void **state)
{
	(void)state;
	assert_true(vj_name_is_sandbox_id("fn-1"));
	assert_false(vj_name_is_sandbox_id("fn_1"));
	assert_false(vj_name_is_sandbox_id(""));
	assert_true(vj_name_is_sandbox_id("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_false(vj_name_is_sandbox_id("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_true(vj_name_is_drive_id("root_1-a"));
	assert_false(vj_name_is_drive_id("root.1"));
	assert_false(vj_name_is_drive_id("abcdefghijklmnopqrstu"));
	assert_true(vj_name_is_ifname("tap0.1"));
	assert_false(vj_name_is_ifname("tap/0"));
	assert_false(vj_name_is_ifname(".."));
	assert_false(vj_name_is_ifname("abcdefghijklmnop"));
	assert_true(vj_name_is_netns("sandbox-net"));
	assert_false(vj_name_is_netns("."));
	assert_true(vj_name_is_env("_PATH2", 6));
	assert_false(vj_name_is_env("2PATH", 5));
	assert_false(vj_name_is_env("A-B", 3));
	assert_true(vj_name_is_cgroup_path("vmjail/sandboxes"));
	assert_false(vj_name_is_cgroup_path("/vmjail"));
	assert_false(vj_name_is_cgroup_path("vmjail/../x"));
	assert_false(vj_name_is_cgroup_path("vmjail//x"));
	assert_false(vj_name_is_cgroup_path("vmjail/"));
	assert_true(vj_name_is_cgroup_parent("vmjail/sandboxes"));
	assert_true(vj_name_is_cgroup_parent("/vmjail/sandboxes"));
	assert_false(vj_name_is_cgroup_parent("/"));
	assert_false(vj_name_is_cgroup_parent("//vmjail"));
	assert_false(vj_name_is_cgroup_parent("/vmjail/.."));
}

static void cpuset_reads_lists_and_ranges(void **state)
{
	struct vj_cpuset s;

	(void)state;
	assert_int_equal(vj_cpuset_parse("0-2,5,1023", &s), 0);
	assert_true(s.bits[0] == 0x27);
	assert_true(s.bits[15] == 1ull << 63);
}

static void cpuset_rejects_malformed_lists(void **state)
{
	static const char *const bad[] = { "", "1,", ",1", "3-1", "1-", "1024", "0 1", "a", "1--2" };
	struct vj_cpuset s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(vj_cpuset_parse(bad[i], &s), 0);
}

static void cpuset_subset_compares_bits(void **state)
{
	struct vj_cpuset a, b;

	(void)state;
	assert_int_equal(vj_cpuset_parse("1-2", &a), 0);
	assert_int_equal(vj_cpuset_parse("0-3", &b), 0);
	assert_true(vj_cpuset_subset(&a, &b));
	assert_false(vj_cpuset_subset(&b, &a));
}

static void utf8_accepts_valid_multibyte_text(void **state)
{
	const char *s = "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";

	(void)state;
	assert_true(vj_utf8_valid(s, strlen(s), NULL));
}

static void utf8_rejects_overlong_surrogate_truncated_and_out_of_range(void **state)
{
	static const char *const bad[] = {
		"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80", "\xff", "\x80",
	};
	size_t at;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(vj_utf8_valid(bad[i], strlen(bad[i]), &at));
		assert_int_equal(at, 0);
	}
	assert_false(vj_utf8_valid("ab\xff", 3, &at));
	assert_int_equal(at, 2);
}

static void quote_short_escapes_and_cuts_long_text(void **state)
{
	char b[128];
	const char *long_text = "0123456789012345678901234567890123456789abcdef";

	(void)state;
	vj_quote_short("a\"b\\\n\x01", 6, b, sizeof(b));
	assert_string_equal(b, "\"a\\\"b\\\\\\n\\u0001\"");
	vj_quote_short(long_text, strlen(long_text), b, sizeof(b));
	assert_string_equal(b, "\"0123456789012345678901234567890123456789...\"");
}

static void quote_short_never_splits_a_utf8_sequence(void **state)
{
	char text[64], b[128];

	(void)state;
	/* 39 ASCII bytes, then a 2-byte character straddling the cut. */
	memset(text, 'a', 39);
	memcpy(text + 39, "\xc3\xa9zz", 5);
	vj_quote_short(text, 43, b, sizeof(b));
	assert_true(vj_utf8_valid(b, strlen(b), NULL));
	assert_non_null(strstr(b, "aaa...\""));
}

static void fquote_escapes_what_yaml_would_not_read_back(void **state)
{
	const char *s = "\"\x7f caf\xc3\xa9 \xc2\x85 \xe2\x80\xa8 \xef\xbb\xbf";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(vj_fquote(f, s, strlen(s)), 0);
	fclose(f);
	assert_string_equal(buf, "\"\\\"\\u007f caf\xc3\xa9 \\u0085 \\u2028 \\ufeff\"");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uint_accepts_decimal),
		cmocka_unit_test(uint_rejects_leading_zero_as_ambiguous_octal),
		cmocka_unit_test(uint_rejects_sign_space_hex_and_separators),
		cmocka_unit_test(uint_reports_overflow),
		cmocka_unit_test(size_accepts_binary_suffixes),
		cmocka_unit_test(size_one_letter_suffixes_are_binary_too),
		cmocka_unit_test(size_rejects_other_suffixes),
		cmocka_unit_test(size_reports_overflow),
		cmocka_unit_test(duration_requires_a_unit),
		cmocka_unit_test(duration_units_scale_to_milliseconds),
		cmocka_unit_test(decimal_reads_thousandths),
		cmocka_unit_test(decimal_rejects_more_than_three_decimals_and_bare_dots),
		cmocka_unit_test(formats_use_the_largest_exact_unit),
		cmocka_unit_test(names_follow_their_character_sets),
		cmocka_unit_test(cpuset_reads_lists_and_ranges),
		cmocka_unit_test(cpuset_rejects_malformed_lists),
		cmocka_unit_test(cpuset_subset_compares_bits),
		cmocka_unit_test(utf8_accepts_valid_multibyte_text),
		cmocka_unit_test(utf8_rejects_overlong_surrogate_truncated_and_out_of_range),
		cmocka_unit_test(quote_short_escapes_and_cuts_long_text),
		cmocka_unit_test(quote_short_never_splits_a_utf8_sequence),
		cmocka_unit_test(fquote_escapes_what_yaml_would_not_read_back),
	};

	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
