#include <string.h>

#include "unit.h"
#include "error.h"

static void fail_sets_the_message_and_returns_the_code(void **state)
{
	struct vj_err e;

	(void)state;
	assert_int_equal(vj_fail(&e, -ENOENT, "open %s (%s)", "kernel", "/x"), -ENOENT);
	assert_int_equal(e.code, -ENOENT);
	assert_string_equal(e.msg, "open kernel (/x)");
}

static void fail_errno_names_the_errno(void **state)
{
	struct vj_err e;

	(void)state;
	assert_int_equal(vj_fail_errno(&e, -EACCES, "open %s", "/dev/kvm"), -EACCES);
	assert_string_equal(e.msg, "open /dev/kvm: Permission denied");
}

static void fail_at_puts_the_position_first(void **state)
{
	struct vj_err e;

	(void)state;
	assert_int_equal(vj_fail_at(&e, -EINVAL, "p.yaml", 12, 7, "vm.memory: %s", "too big"), -EINVAL);
	assert_string_equal(e.msg, "p.yaml:12:7: vm.memory: too big");
	assert_int_equal(vj_fail_at(&e, -EFBIG, "p.yaml", 3, 0, "empty"), -EFBIG);
	assert_int_equal(e.code, -EFBIG);
	assert_string_equal(e.msg, "p.yaml:3: empty");
}

static void wrap_adds_context_and_keeps_the_code(void **state)
{
	struct vj_err e;

	(void)state;
	vj_fail_errno(&e, -EBUSY, "lock %s", "drive");
	assert_int_equal(vj_wrap(&e, "sandbox %s", "a1"), -EBUSY);
	assert_int_equal(vj_wrap(&e, "vmjail run"), -EBUSY);
	assert_string_equal(e.msg, "vmjail run: sandbox a1: lock drive: Device or resource busy");
}

static void a_long_message_is_cut_not_overrun(void **state)
{
	static char big[2 * VJ_ERR_MAX];
	struct vj_err e;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	vj_fail(&e, -EINVAL, "%s", big);
	assert_int_equal(strlen(e.msg), VJ_ERR_MAX - 1);
	vj_wrap(&e, "%s", big);
	assert_int_equal(strlen(e.msg), VJ_ERR_MAX - 1);
	vj_fail_errno(&e, -EIO, "%s", big);
	assert_int_equal(strlen(e.msg), VJ_ERR_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fail_sets_the_message_and_returns_the_code),
		cmocka_unit_test(fail_errno_names_the_errno),
		cmocka_unit_test(fail_at_puts_the_position_first),
		cmocka_unit_test(wrap_adds_context_and_keeps_the_code),
		cmocka_unit_test(a_long_message_is_cut_not_overrun),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
