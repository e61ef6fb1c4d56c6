/* The VMM's resource limits: the policy's, or safe defaults. */
#include <sys/resource.h>

#include "unit.h"
#include "rlimits.h"

static const struct vj_rlimits unset = { VJ_UNLIMITED, VJ_UNLIMITED, VJ_UNLIMITED, VJ_UNLIMITED,
					 VJ_UNLIMITED };

static uint64_t value_of(const struct vj_rlimit_value *v, int resource)
{
	for (int i = 0; i < VJ_RLIMITS_COUNT; i++)
		if (v[i].resource == resource)
			return v[i].value;
	fail_msg("resource %d missing", resource);
	return 0;
}

static void unset_limits_get_safe_defaults(void **state)
{
	struct vj_rlimit_inputs in = { 0 };
	struct vj_rlimit_value v[VJ_RLIMITS_COUNT];

	(void)state;
	vj_rlimits_resolve(&unset, &in, v);
	assert_int_equal(value_of(v, RLIMIT_CORE), 0);
	assert_int_equal(value_of(v, RLIMIT_NOFILE), 1024);
	assert_true(value_of(v, RLIMIT_NPROC) != VJ_RLIMIT_INFINITY);
	assert_int_equal(value_of(v, RLIMIT_MEMLOCK), 64 << 10);
	/* Nothing writable: guest RAM is anonymous memory, not a file. */
	assert_int_equal(value_of(v, RLIMIT_FSIZE), 0);
}

static void fsize_covers_the_largest_writable_file(void **state)
{
	struct vj_rlimit_inputs in = { .largest_drive = 1ull << 30 };
	struct vj_rlimit_value v[VJ_RLIMITS_COUNT];

	(void)state;
	vj_rlimits_resolve(&unset, &in, v);
	assert_int_equal(value_of(v, RLIMIT_FSIZE), 1ull << 30);
	/* A console file (or stdout redirected to one) grows by the console
	 * cap plus room for log lines. */
	in = (struct vj_rlimit_inputs){ .stream_is_file = true,
					.largest_stream = 10u << 20, .console_limit = 1u << 20 };
	vj_rlimits_resolve(&unset, &in, v);
	assert_int_equal(value_of(v, RLIMIT_FSIZE), (10u << 20) + (1u << 20) + (1u << 20));
}

static void an_uncapped_console_file_leaves_fsize_unlimited(void **state)
{
	struct vj_rlimit_inputs in = { .stream_is_file = true };
	struct vj_rlimit_value v[VJ_RLIMITS_COUNT];

	(void)state;
	vj_rlimits_resolve(&unset, &in, v);
	assert_true(value_of(v, RLIMIT_FSIZE) == VJ_RLIMIT_INFINITY);
}

static void policy_values_win(void **state)
{
	struct vj_rlimits p = { .nofile = 64, .nproc = 10, .fsize = 1ull << 40, .core = 0,
				.memlock = 0 };
	struct vj_rlimit_inputs in = { 0 };
	struct vj_rlimit_value v[VJ_RLIMITS_COUNT];

	(void)state;
	vj_rlimits_resolve(&p, &in, v);
	assert_int_equal(value_of(v, RLIMIT_NOFILE), 64);
	assert_int_equal(value_of(v, RLIMIT_NPROC), 10);
	assert_true(value_of(v, RLIMIT_FSIZE) == 1ull << 40);
	assert_int_equal(value_of(v, RLIMIT_MEMLOCK), 0);
}

/* An fsize far below the guest's RAM does not stop it: the VMM keeps
 * guest RAM in no file. */
static void fsize_does_not_depend_on_the_guest_memory(void **state)
{
	struct vj_rlimits p = unset;
	struct vj_rlimit_inputs in = { 0 };
	struct vj_rlimit_value v[VJ_RLIMITS_COUNT];

	(void)state;
	p.fsize = 1u << 20;
	vj_rlimits_resolve(&p, &in, v);
	assert_int_equal(value_of(v, RLIMIT_FSIZE), 1u << 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unset_limits_get_safe_defaults),
		cmocka_unit_test(fsize_covers_the_largest_writable_file),
		cmocka_unit_test(an_uncapped_console_file_leaves_fsize_unlimited),
		cmocka_unit_test(policy_values_win),
		cmocka_unit_test(fsize_does_not_depend_on_the_guest_memory),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
