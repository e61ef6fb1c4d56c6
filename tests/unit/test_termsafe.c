/* Guest bytes made harmless for a terminal (common/termsafe.c): control
 * characters shown as text, well-formed UTF-8 passed, everything else
 * shown as bytes, sequences split across writes joined. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "termsafe.h"

static char shown[1 << 16];

/* The rendering of s written in one go, then finished. */
static const char *render(const char *s, size_t n)
{
	struct vj_termsafe t;
	size_t o;

	vj_termsafe_init(&t);
	o = vj_termsafe_feed(&t, s, n, shown);
	o += vj_termsafe_finish(&t, shown + o);
	shown[o] = '\0';
	return shown;
}

#define RENDER(lit) render(lit, sizeof(lit) - 1)

static void printable_ascii_and_layout_controls_pass(void **state)
{
	(void)state;
	assert_string_equal(RENDER("hello, world ~\t|\r\n\bx"), "hello, world ~\t|\r\n\bx");
}

static void escape_is_shown_in_caret_notation(void **state)
{
	(void)state;
	assert_string_equal(RENDER("\x1b]0;pwned\x07\x1b[2J\x1b]52;c;aGk=\x1b\\"),
			    "^[]0;pwned^G^[[2J^[]52;c;aGk=^[\\");
}

static void other_c0_controls_and_del_are_shown_in_caret_notation(void **state)
{
	(void)state;
	assert_string_equal(RENDER("\x00\x01\x05\x0b\x0c\x0e\x1a\x1c\x1f\x7f"),
			    "^@^A^E^K^L^N^Z^\\^_^?");
}

static void well_formed_utf8_passes(void **state)
{
	(void)state;
	assert_string_equal(RENDER("h\xc3\xa9llo \xc2\xa0\xe2\x82\xac \xf0\x9d\x84\x9e "
				   "\xed\x9f\xbf \xee\x80\x80 \xf4\x8f\xbf\xbf"),
			    "h\xc3\xa9llo \xc2\xa0\xe2\x82\xac \xf0\x9d\x84\x9e "
			    "\xed\x9f\xbf \xee\x80\x80 \xf4\x8f\xbf\xbf");
}

static void c1_controls_encoded_in_utf8_are_shown_as_bytes(void **state)
{
	(void)state;
	assert_string_equal(RENDER("a\xc2\x9b" "2Jb\xc2\x9d" "0;x\xc2\x9c\xc2\x80\xc2\x85"),
			    "a\\xc2\\x9b2Jb\\xc2\\x9d0;x\\xc2\\x9c\\xc2\\x80\\xc2\\x85");
}

static void raw_c1_bytes_are_shown_as_bytes(void **state)
{
	(void)state;
	assert_string_equal(RENDER("\x9b" "31m\x90q\x9c"), "\\x9b31m\\x90q\\x9c");
}

static void malformed_utf8_is_shown_as_bytes(void **state)
{
	(void)state;
	/* overlong ESC, two and three bytes long */
	assert_string_equal(RENDER("\xc0\x9b\xc1\x9b\xe0\x80\x9b"),
			    "\\xc0\\x9b\\xc1\\x9b\\xe0\\x80\\x9b");
	/* a surrogate, a code point past U+10FFFF, leads that start nothing */
	assert_string_equal(RENDER("\xed\xa0\x80\xf4\x90\x80\x80\xf5\xff"),
			    "\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80\\xf5\\xff");
	/* a sequence cut short by a byte that starts afresh */
	assert_string_equal(RENDER("\xe2\x82" "A\xf0\x9f\x1b"), "\\xe2\\x82A\\xf0\\x9f^[");
}

static void a_sequence_split_across_writes_is_joined(void **state)
{
	struct vj_termsafe t;
	size_t o = 0;
	(void)state;
	vj_termsafe_init(&t);
	assert_int_equal(vj_termsafe_feed(&t, "\xf0", 1, shown), 0);
	assert_int_equal(vj_termsafe_feed(&t, "\x9f\x98", 2, shown), 0);
	o = vj_termsafe_feed(&t, "\x80!", 2, shown);
	assert_int_equal(vj_termsafe_finish(&t, shown + o), 0);
	shown[o] = '\0';
	assert_string_equal(shown, "\xf0\x9f\x98\x80!");
}

static void a_c1_control_split_across_writes_is_caught(void **state)
{
	struct vj_termsafe t;
	size_t o;
	(void)state;
	vj_termsafe_init(&t);
	o = vj_termsafe_feed(&t, "x\xc2", 2, shown);
	o += vj_termsafe_feed(&t, "\x9b" "2J", 3, shown + o);
	shown[o] = '\0';
	assert_string_equal(shown, "x\\xc2\\x9b2J");
}

static void an_escape_split_across_writes_is_caught(void **state)
{
	struct vj_termsafe t;
	size_t o;
	(void)state;
	vj_termsafe_init(&t);
	o = vj_termsafe_feed(&t, "\x1b", 1, shown);
	o += vj_termsafe_feed(&t, "]0;t\x07", 5, shown + o);
	shown[o] = '\0';
	assert_string_equal(shown, "^[]0;t^G");
}

static void an_unfinished_sequence_is_shown_as_bytes_at_the_end(void **state)
{
	struct vj_termsafe t;
	size_t o;
	(void)state;
	vj_termsafe_init(&t);
	o = vj_termsafe_feed(&t, "ok\xe2\x82", 4, shown);
	o += vj_termsafe_finish(&t, shown + o);
	shown[o] = '\0';
	assert_string_equal(shown, "ok\\xe2\\x82");
	assert_int_equal(vj_termsafe_finish(&t, shown), 0);
}

/* What a terminal may act on: a C0 control other than \n \t \r \b, DEL,
 * or a byte that is not part of well-formed UTF-8 of U+00A0 and above. */
static size_t first_unsafe(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		const uint8_t b = p[i];
		unsigned len = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
		if (b < 0x80) {
			if ((b < 0x20 && !memchr("\n\t\r\b", b, 4)) || b == 0x7f)
				return i;
		} else if (b < 0xc2 || b > 0xf4 || i + len > n || (b == 0xc2 && p[i + 1] < 0xa0)) {
			return i;
		}
		for (unsigned k = 1; k < len && b >= 0x80; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return i;
		i += len;
	}
	return n;
}

static void random_bytes_in_random_writes_never_yield_a_control(void **state)
{
	static uint8_t in[1 << 12];
	struct vj_termsafe t;
	(void)state;
	srand(7);
	for (int round = 0; round < 200; round++) {
		size_t o = 0;
		vj_termsafe_init(&t);
		for (size_t i = 0; i < sizeof(in); i++)
			in[i] = (uint8_t)(rand() % 4 ? rand() : 0x80 | rand()); /* rich in high bytes */
		for (size_t i = 0; i < sizeof(in);) {
			size_t n = (size_t)rand() % 8, wrote;
			if (n > sizeof(in) - i)
				n = sizeof(in) - i;
			wrote = vj_termsafe_feed(&t, in + i, n, shown + o);
			assert_true(wrote <= VJ_TERMSAFE_MAX(n));
			o += wrote;
			i += n;
		}
		o += vj_termsafe_finish(&t, shown + o);
		assert_int_equal(first_unsafe((const uint8_t *)shown, o), o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(printable_ascii_and_layout_controls_pass),
		cmocka_unit_test(escape_is_shown_in_caret_notation),
		cmocka_unit_test(other_c0_controls_and_del_are_shown_in_caret_notation),
		cmocka_unit_test(well_formed_utf8_passes),
		cmocka_unit_test(c1_controls_encoded_in_utf8_are_shown_as_bytes),
		cmocka_unit_test(raw_c1_bytes_are_shown_as_bytes),
		cmocka_unit_test(malformed_utf8_is_shown_as_bytes),
		cmocka_unit_test(a_sequence_split_across_writes_is_joined),
		cmocka_unit_test(a_c1_control_split_across_writes_is_caught),
		cmocka_unit_test(an_escape_split_across_writes_is_caught),
		cmocka_unit_test(an_unfinished_sequence_is_shown_as_bytes_at_the_end),
		cmocka_unit_test(random_bytes_in_random_writes_never_yield_a_control),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
