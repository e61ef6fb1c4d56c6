/* The safe YAML subset: what is refused before any schema applies, and
 * where the messages point. */
#include "test_policy_util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/yaml_tree.h"

static int parse(const char *buf, size_t len, struct vj_err *err)
{
	struct vj_ydoc doc;
	int r = vj_ydoc_parse(&doc, "p.yaml", buf, len, err);

	if (r == 0)
		vj_ydoc_free(&doc);
	return r;
}

#define assert_refused(text_, want_)                                                            \
	do {                                                                                 \
		struct vj_err e_;                                                   \
		assert_int_not_equal(parse(text_, sizeof(text_) - 1, &e_), 0);                 \
		assert_string_equal(e_.msg, want_);                                            \
	} while (0)

#define assert_accepted(text_)                                                                \
	do {                                                                                 \
		struct vj_err e_;                                                   \
		assert_int_equal(parse(text_, sizeof(text_) - 1, &e_), 0);                     \
	} while (0)

static void tree_keeps_positions_kinds_and_styles(void **state)
{
	static const char text[] = "a:\n  - x\n  - 'y'\nb: {c: 1}\n";
	struct vj_err err;
	struct vj_ydoc doc;
	const struct vj_ynode *a, *b;

	(void)state;
	assert_int_equal(vj_ydoc_parse(&doc, "p.yaml", text, strlen(text), &err), 0);
	assert_int_equal(doc.root->kind, VJ_YMAP);
	assert_int_equal(doc.root->nkids, 4);
	a = doc.root->kids[1];
	assert_int_equal(a->kind, VJ_YSEQ);
	assert_int_equal(a->kids[1]->line, 3);
	assert_int_equal(a->kids[1]->col, 5);
	assert_true(a->kids[0]->plain);
	assert_false(a->kids[1]->plain);
	assert_string_equal(a->kids[1]->str, "y");
	b = doc.root->kids[3];
	assert_int_equal(b->kind, VJ_YMAP);
	assert_int_equal(b->kids[0]->col, 5);
	vj_ydoc_free(&doc);
}

static void file_over_the_size_cap_is_refused(void **state)
{
	struct vj_err err;
	char *big = malloc(VJ_POLICY_FILE_MAX + 1);

	(void)state;
	memset(big, '#', VJ_POLICY_FILE_MAX + 1);
	assert_int_not_equal(parse(big, VJ_POLICY_FILE_MAX + 1, &err), 0);
	assert_string_equal(err.msg, "p.yaml: file is 65537 bytes, larger than the 65536-byte limit");
	free(big);
}

static void file_at_the_size_cap_is_read(void **state)
{
	struct vj_err err;
	char *big = malloc(VJ_POLICY_FILE_MAX);

	(void)state;
	memset(big, '#', VJ_POLICY_FILE_MAX);
	memcpy(big, "a: 1\n", 5);
	assert_int_equal(parse(big, VJ_POLICY_FILE_MAX, &err), 0);
	free(big);
}

static void invalid_utf8_is_refused_with_its_position(void **state)
{
	(void)state;
	assert_refused("a: 1\nb: caf\xc3\xa9 \xff\n", "p.yaml:2:9: expected UTF-8 text, found the byte 0xff");
}

static void utf16_text_is_refused(void **state)
{
	(void)state;
	assert_refused("\xff\xfe" "a\0:\0", "p.yaml:1:1: expected UTF-8 text, found the byte 0xff");
}

static void control_characters_are_refused(void **state)
{
	(void)state;
	assert_refused("a: \x01\n", "p.yaml:1:4: invalid YAML: control characters are not allowed");
}

static void raw_nul_byte_is_refused(void **state)
{
	(void)state;
	assert_refused("a: b\0c\n", "p.yaml:1:5: invalid YAML: control characters are not allowed");
}

static void escaped_nul_in_a_string_is_refused(void **state)
{
	(void)state;
	assert_refused("a: \"x\\0y\"\n", "p.yaml:1:4: a: NUL characters are not allowed in strings");
}

static void empty_file_is_refused(void **state)
{
	(void)state;
	assert_refused("", "p.yaml:1:1: expected a mapping, found an empty file");
}

static void comment_only_file_is_refused_as_empty(void **state)
{
	(void)state;
	assert_refused("# nothing\n\n", "p.yaml:1:1: expected a mapping, found an empty file");
}

static void second_document_is_refused(void **state)
{
	(void)state;
	assert_refused("a: 1\n---\nb: 2\n", "p.yaml:2:1: expected one YAML document, found a second one");
}

static void document_markers_around_one_document_are_accepted(void **state)
{
	(void)state;
	assert_accepted("%YAML 1.1\n---\na: 1\n...\n# trailing comment\n");
}

static void anchor_is_refused(void **state)
{
	(void)state;
	assert_refused("a: &x 1\n", "p.yaml:1:4: a: anchors are not allowed, found anchor \"x\"");
}

static void alias_is_refused(void **state)
{
	(void)state;
	assert_refused("b: *x\n", "p.yaml:1:4: b: aliases are not allowed, found alias \"x\"");
}

static void expansion_bomb_is_refused_at_its_first_anchor(void **state)
{
	static const char bomb[] = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
				   "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
				   "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
				   "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n";

	(void)state;
	assert_refused(bomb, "p.yaml:1:4: a: anchors are not allowed, found anchor \"a\"");
}

static void anchor_deep_inside_reports_its_key_path(void **state)
{
	(void)state;
	assert_refused("a: {b: [c, {d: &e 1}]}\n",
		       "p.yaml:1:16: a.b[1].d: anchors are not allowed, found anchor \"e\"");
}

static void explicit_tag_is_refused(void **state)
{
	(void)state;
	assert_refused("a: !!str 1\n",
		       "p.yaml:1:4: a: tags are not allowed, found tag \"tag:yaml.org,2002:str\"");
}

static void duplicate_key_is_refused_with_both_positions(void **state)
{
	(void)state;
	assert_refused("a: 1\nb: 2\na: 3\n", "p.yaml:3:1: a: duplicate key (first defined at 1:1)");
}

static void duplicate_key_counts_quoted_and_plain_alike(void **state)
{
	(void)state;
	assert_refused("a: 'x'\n'a': y\n", "p.yaml:2:1: a: duplicate key (first defined at 1:1)");
}

static void duplicate_nested_key_reports_its_path(void **state)
{
	(void)state;
	assert_refused("vm:\n  x: 1\n  x: 2\n", "p.yaml:3:3: vm.x: duplicate key (first defined at 2:3)");
}

static void earliest_duplicate_in_the_file_is_reported(void **state)
{
	(void)state;
	assert_refused("b: 1\na: 1\nb: 2\na: 2\n", "p.yaml:3:1: b: duplicate key (first defined at 1:1)");
}

static void duplicates_in_a_huge_mapping_are_found(void **state)
{
	struct vj_err err;
	char *buf = malloc(VJ_POLICY_FILE_MAX);
	size_t o = 0;

	(void)state;
	for (unsigned i = 0; o + 32 < VJ_POLICY_FILE_MAX - 16; i++)
		o += (size_t)snprintf(buf + o, 32, "k%u: 1\n", i);
	o += (size_t)snprintf(buf + o, 16, "k7: 2\n");
	assert_int_not_equal(parse(buf, o, &err), 0);
	assert_non_null(strstr(err.msg, ": k7: duplicate key (first defined at 8:1)"));
	free(buf);
}

static void collection_as_key_is_refused(void **state)
{
	(void)state;
	assert_refused("? [a]\n: 1\n", "p.yaml:1:3: expected a plain key, found a sequence");
}

static void null_key_is_refused(void **state)
{
	(void)state;
	assert_refused("? \n: 1\n", "p.yaml:1:2: expected a key, found null");
}

static void nesting_deeper_than_the_limit_is_refused(void **state)
{
	char text[64];

	(void)state;
	memset(text, '[', VJ_POLICY_DEPTH_MAX + 1);
	memset(text + VJ_POLICY_DEPTH_MAX + 1, ']', VJ_POLICY_DEPTH_MAX + 1);
	text[2 * (VJ_POLICY_DEPTH_MAX + 1)] = '\0';
	{
		struct vj_err e;
		assert_int_not_equal(parse(text, strlen(text), &e), 0);
		assert_string_equal(e.msg, "p.yaml:1:17: [0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
					   "[0]: nesting deeper than 16 levels is not allowed");
	}
}

static void nesting_at_the_limit_is_accepted(void **state)
{
	char text[64];
	struct vj_err e;

	(void)state;
	memset(text, '[', VJ_POLICY_DEPTH_MAX);
	memset(text + VJ_POLICY_DEPTH_MAX, ']', VJ_POLICY_DEPTH_MAX);
	assert_int_equal(parse(text, 2 * VJ_POLICY_DEPTH_MAX, &e), 0);
}

static void syntax_error_names_position_and_context(void **state)
{
	(void)state;
	assert_refused("a: [1, 2\n", "p.yaml:2:1: invalid YAML: did not find expected ',' or ']' "
				     "(while parsing a flow sequence at 1:4)");
}

static void bad_indentation_is_a_syntax_error(void **state)
{
	(void)state;
	assert_refused("a: 1\n b: 2\n", "p.yaml:2:3: invalid YAML: mapping values are not allowed in "
					 "this context");
}

static void odd_keys_are_quoted_in_paths(void **state)
{
	(void)state;
	assert_refused("\"a b\": {c: &x 1}\n", "p.yaml:1:12: \"a b\".c: anchors are not allowed, "
						  "found anchor \"x\"");
}

static void files_are_read_whole_and_checked(void **state)
{
	struct vj_err err;
	char *buf;
	size_t len;

	(void)state;
	assert_int_equal(vj_read_small_file(tp_path("kernels/vmlinux"), &buf, &len, &err), 0);
	assert_int_equal(len, 1);
	free(buf);
	assert_int_not_equal(vj_read_small_file(tp_path("nope.yaml"), &buf, &len, &err), 0);
	assert_string_equal(err.msg, tp_fmt("%s/nope.yaml: No such file or directory", tp.dir));
	assert_int_not_equal(vj_read_small_file(tp_path("kernels"), &buf, &len, &err), 0);
	assert_string_equal(err.msg, tp_fmt("%s/kernels: not a regular file", tp.dir));
}

static void oversized_files_are_refused_before_reading(void **state)
{
	struct vj_err err;
	char *buf;
	size_t len;

	(void)state;
	tp_touch("big.yaml");
	assert_int_equal(truncate(tp_path("big.yaml"), VJ_POLICY_FILE_MAX + 1), 0);
	assert_int_not_equal(vj_read_small_file(tp_path("big.yaml"), &buf, &len, &err), 0);
	assert_string_equal(err.msg, tp_fmt("%s/big.yaml: file is 65537 bytes, larger than the "
					    "65536-byte limit", tp.dir));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tree_keeps_positions_kinds_and_styles),
		cmocka_unit_test(file_over_the_size_cap_is_refused),
		cmocka_unit_test(file_at_the_size_cap_is_read),
		cmocka_unit_test(invalid_utf8_is_refused_with_its_position),
		cmocka_unit_test(utf16_text_is_refused),
		cmocka_unit_test(control_characters_are_refused),
		cmocka_unit_test(raw_nul_byte_is_refused),
		cmocka_unit_test(escaped_nul_in_a_string_is_refused),
		cmocka_unit_test(empty_file_is_refused),
		cmocka_unit_test(comment_only_file_is_refused_as_empty),
		cmocka_unit_test(second_document_is_refused),
		cmocka_unit_test(document_markers_around_one_document_are_accepted),
		cmocka_unit_test(anchor_is_refused),
		cmocka_unit_test(alias_is_refused),
		cmocka_unit_test(expansion_bomb_is_refused_at_its_first_anchor),
		cmocka_unit_test(anchor_deep_inside_reports_its_key_path),
		cmocka_unit_test(explicit_tag_is_refused),
		cmocka_unit_test(duplicate_key_is_refused_with_both_positions),
		cmocka_unit_test(duplicate_key_counts_quoted_and_plain_alike),
		cmocka_unit_test(duplicate_nested_key_reports_its_path),
		cmocka_unit_test(earliest_duplicate_in_the_file_is_reported),
		cmocka_unit_test(duplicates_in_a_huge_mapping_are_found),
		cmocka_unit_test(collection_as_key_is_refused),
		cmocka_unit_test(null_key_is_refused),
		cmocka_unit_test(nesting_deeper_than_the_limit_is_refused),
		cmocka_unit_test(nesting_at_the_limit_is_accepted),
		cmocka_unit_test(syntax_error_names_position_and_context),
		cmocka_unit_test(bad_indentation_is_a_syntax_error),
		cmocka_unit_test(odd_keys_are_quoted_in_paths),
		cmocka_unit_test(files_are_read_whole_and_checked),
		cmocka_unit_test(oversized_files_are_refused_before_reading),
	};

	vj_unit_filter();
	return cmocka_run_group_tests(tests, tp_setup, tp_teardown);
}
