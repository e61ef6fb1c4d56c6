#include <string.h>
#include <stdlib.h>

#include "unit.h"
#include "json.h"

static struct vj_err why;

static int parse(const char *s, struct vj_json_doc *d)
{
	return vj_json_parse(s, strlen(s), 1000, d, &why);
}

static void refused(const char *s, const char *reason)
{
	struct vj_json_doc d;

	if (parse(s, &d) != -EINVAL) {
		vj_json_free(&d);
		fail_msg("accepted: %s", s);
	}
	if (!strstr(why.msg, reason))
		fail_msg("%s: reason \"%s\", want \"%s\"", s, why.msg, reason);
}

static void objects_arrays_and_scalars_are_read(void **state)
{
	struct vj_json_doc d;
	const char *s;
	uint64_t u;
	int64_t i;
	bool b;

	(void)state;
	assert_int_equal(parse(" {\"id\": 7, \"verb\":\"ps\", \"args\": [1, -2, true, null],"
			       " \"deep\": {\"x\": false}} ", &d), 0);
	assert_int_equal(d.root->type, VJ_JSON_OBJECT);
	assert_int_equal(d.root->count, 4);
	assert_int_equal(vj_json_u64(vj_json_get(d.root, "id"), 100, &u), 0);
	assert_int_equal(u, 7);
	assert_int_equal(vj_json_string(vj_json_get(d.root, "verb"), &s), 0);
	assert_string_equal(s, "ps");
	const struct vj_json *a = vj_json_get(d.root, "args");
	assert_int_equal(a->count, 4);
	assert_int_equal(vj_json_i64(a->child->next, &i), 0);
	assert_int_equal(i, -2);
	assert_int_equal(vj_json_bool(a->child->next->next, &b), 0);
	assert_true(b);
	assert_int_equal(a->child->next->next->next->type, VJ_JSON_NULL);
	assert_int_equal(vj_json_bool(vj_json_get(vj_json_get(d.root, "deep"), "x"), &b), 0);
	assert_false(b);
	assert_null(vj_json_get(d.root, "missing"));
	vj_json_free(&d);
}

static void string_escapes_decode_to_utf8(void **state)
{
	struct vj_json_doc d;

	(void)state;
	assert_int_equal(parse("\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83d\\ude00\"", &d), 0);
	assert_string_equal(d.root->text, "a\"b\\c/d\n\t\xc3\xa9\xf0\x9f\x98\x80");
	vj_json_free(&d);
}

static void typed_reads_refuse_other_types_and_ranges(void **state)
{
	struct vj_json_doc d;
	uint64_t u;
	int64_t i;

	(void)state;
	assert_int_equal(parse("[1.5, 1e3, -1, 300, \"7\"]", &d), 0);
	const struct vj_json *v = d.root->child;
	assert_int_equal(vj_json_u64(v, 1000, &u), -EINVAL);
	assert_int_equal(vj_json_u64(v->next, 1000, &u), -EINVAL);
	assert_int_equal(vj_json_u64(v->next->next, 1000, &u), -EINVAL);
	assert_int_equal(vj_json_u64(v->next->next->next, 299, &u), -EINVAL);
	assert_int_equal(vj_json_i64(v->next->next->next->next, &i), -EINVAL);
	assert_int_equal(vj_json_u64(NULL, 1, &u), -EINVAL);
	vj_json_free(&d);
}

static void malformed_input_is_refused_with_its_offset(void **state)
{
	(void)state;
	refused("", "offset 0: expected a value");
	refused("{\"a\" 1}", "offset 5: expected ':'");
	refused("[1,]", "expected a value");
	refused("[1 2]", "expected ',' or ']'");
	refused("{\"a\":1,\"a\":2}", "duplicate key \"a\"");
	refused("01", "text after the value");
	refused("1.", "no digit after '.'");
	refused("-", "malformed number");
	refused("tru", "unknown literal");
	refused("\"abc", "unterminated string");
	refused("\"a\nb\"", "control character 0x0a");
	refused("\"\\x\"", "unknown escape");
	refused("\"\\u00\"", "truncated \\u escape");
	refused("\"\\u00zz\"", "malformed \\u escape");
	refused("\"\\ud800\"", "high surrogate without its low half");
	refused("\"\\udc00\"", "lone low surrogate");
	refused("\"\\u0000\"", "NUL character");
	refused("\"\xc0\xaf\"", "invalid UTF-8");
	refused("\"\xed\xa0\x80\"", "invalid UTF-8");
	refused("[1] [2]", "text after the value");
}

static void nesting_and_value_count_are_bounded(void **state)
{
	char deep[2 * (VJ_JSON_DEPTH_MAX + 2) + 1];
	struct vj_json_doc d;
	size_t n = VJ_JSON_DEPTH_MAX + 2;

	(void)state;
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	refused(deep, "nested deeper than");
	assert_int_equal(vj_json_parse("[1,2,3,4]", 9, 4, &d, &why), -EINVAL);
	assert_non_null(strstr(why.msg, "more than 4 values"));
	assert_int_equal(vj_json_parse("[1,2,3]", 7, 4, &d, &why), 0);
	vj_json_free(&d);
}

static void writer_output_reads_back(void **state)
{
	struct vj_jw w;
	struct vj_json_doc d;
	const char *s;
	uint64_t u;

	(void)state;
	vj_jw_init(&w, 1 << 16);
	vj_jw_object_begin(&w);
	vj_jw_key(&w, "name");
	vj_jw_string(&w, "q\"\\\n\x01\x1b[2J \xc3\xa9");
	vj_jw_key(&w, "list");
	vj_jw_array_begin(&w);
	vj_jw_u64(&w, 18446744073709551615ull);
	vj_jw_i64(&w, -5);
	vj_jw_bool(&w, false);
	vj_jw_null(&w);
	vj_jw_object_begin(&w);
	vj_jw_object_end(&w);
	vj_jw_array_end(&w);
	vj_jw_key(&w, "bad utf8");
	vj_jw_string(&w, "\xff");
	vj_jw_object_end(&w);
	assert_int_equal(vj_jw_finish(&w), 0);
	assert_string_equal(w.buf, "{\"name\":\"q\\\"\\\\\\n\\u0001\\u001b[2J \xc3\xa9\","
				   "\"list\":[18446744073709551615,-5,false,null,{}],"
				   "\"bad utf8\":\"\\ufffd\"}");
	assert_int_equal(vj_json_parse(w.buf, w.len, 100, &d, &why), 0);
	assert_int_equal(vj_json_string(vj_json_get(d.root, "name"), &s), 0);
	assert_string_equal(s, "q\"\\\n\x01\x1b[2J \xc3\xa9");
	assert_int_equal(vj_json_u64(vj_json_get(d.root, "list")->child, UINT64_MAX, &u), 0);
	assert_true(u == UINT64_MAX);
	vj_json_free(&d);
	vj_jw_free(&w);
}

static void writer_stops_at_its_cap(void **state)
{
	struct vj_jw w;

	(void)state;
	vj_jw_init(&w, 8);
	vj_jw_string(&w, "0123456789");
	assert_int_equal(vj_jw_finish(&w), -E2BIG);
	vj_jw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(objects_arrays_and_scalars_are_read),
		cmocka_unit_test(string_escapes_decode_to_utf8),
		cmocka_unit_test(typed_reads_refuse_other_types_and_ranges),
		cmocka_unit_test(malformed_input_is_refused_with_its_offset),
		cmocka_unit_test(nesting_and_value_count_are_bounded),
		cmocka_unit_test(writer_output_reads_back),
		cmocka_unit_test(writer_stops_at_its_cap),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
