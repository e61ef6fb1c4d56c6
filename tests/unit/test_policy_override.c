/* Per-request overrides: the policy file's syntax and bounds, all or
 * nothing. */
#include "test_policy_util.h"

#include <string.h>

#define POLICY "version: 1\nvm:\n  kernel: vmlinux\n  memory: 256Mi\n" \
	       "jail:\n  cgroup: {memory: 512Mi}\n" \
	       "workload:\n  argv: [/bin/true]\n  env: {A: '1', B: '2'}\n"

static struct vj_policy p;

static int load_policy(void **state)
{
	struct vj_err err;

	(void)state;
	return tp_load(POLICY, &p, &err);
}

static int free_policy(void **state)
{
	(void)state;
	vj_policy_free(&p);
	return 0;
}

static int apply(const struct vj_policy_overrides *o, struct vj_err *err)
{
	return vj_policy_apply_overrides(&p, o, &tp.host, err);
}

#define assert_override_error(o_, want_)                                                     \
	do {                                                                                 \
		struct vj_err e_;                                                   \
		assert_int_not_equal(apply(o_, &e_), 0);                                     \
		assert_string_equal(e_.msg, want_);                                          \
	} while (0)

static void empty_overrides_change_nothing(void **state)
{
	struct vj_policy_overrides o = { 0 };
	struct vj_err err;

	(void)state;
	assert_int_equal(apply(&o, &err), 0);
	assert_int_equal(p.vm.vcpus, 1);
	assert_int_equal(p.vm.memory_mib, 256);
	assert_int_equal(p.workload.argc, 1);
	assert_string_equal(p.workload.argv[0], "/bin/true");
	assert_int_equal(p.workload.envc, 2);
}

static void scalars_use_the_policy_syntax(void **state)
{
	struct vj_policy_overrides o = { .id = "req-7", .vcpus = "2", .memory = "384Mi",
					 .timeout = "45s", .output = "2Mi" };
	struct vj_err err;

	(void)state;
	assert_int_equal(apply(&o, &err), 0);
	assert_string_equal(p.id, "req-7");
	assert_int_equal(p.vm.vcpus, 2);
	assert_int_equal(p.vm.memory_mib, 384);
	assert_true(p.limits.timeout_ms == 45000);
	assert_true(p.limits.output_bytes == 2u << 20);
}

static void scalars_are_bounded_by_the_host(void **state)
{
	struct vj_policy_overrides o = { .vcpus = "5" };

	(void)state;
	assert_override_error(&o, "command line: vm.vcpus: expected at most 4 (host maximum), found \"5\"");
	o = (struct vj_policy_overrides){ .memory = "2Gi" };
	assert_override_error(&o, "command line: vm.memory: expected at most 1Gi (host maximum), "
			      "found \"2Gi\"");
	o = (struct vj_policy_overrides){ .timeout = "11m" };
	assert_override_error(&o, "command line: limits.timeout: expected at most 10m (host maximum), "
			      "found \"11m\"");
	o = (struct vj_policy_overrides){ .output = "unlimited" };
	assert_override_error(&o, "command line: limits.output: expected at most 512Mi (host "
			      "maximum), found \"unlimited\"");
}

static void malformed_scalars_are_refused(void **state)
{
	struct vj_policy_overrides o = { .memory = "1GB" };

	(void)state;
	assert_override_error(&o, "command line: vm.memory: expected a size (an integer with an "
			      "optional K, M, G or T suffix), found \"1GB\"");
	o = (struct vj_policy_overrides){ .timeout = "30" };
	assert_override_error(&o, "command line: limits.timeout: expected a duration (an integer "
			      "with a unit: ms, s, m or h) or unlimited, found \"30\"");
	o = (struct vj_policy_overrides){ .id = "a b" };
	assert_override_error(&o, "command line: id: expected a sandbox id ([A-Za-z0-9-], 1 to 64), "
			      "found \"a b\"");
}

static void memory_must_still_fit_the_cgroup(void **state)
{
	struct vj_policy_overrides o = { .memory = "768Mi" };

	(void)state;
	assert_override_error(&o, "command line: vm.memory: expected at most 512Mi "
			      "(jail.cgroup.memory), found 768Mi");
}

static void argv_replaces_the_workload_argv(void **state)
{
	char *argv[] = { "python3", "-c", "print(1)" };
	struct vj_policy_overrides o = { .set_argv = true, .argc = 3, .argv = argv };
	struct vj_err err;

	(void)state;
	assert_int_equal(apply(&o, &err), 0);
	assert_int_equal(p.workload.argc, 3);
	assert_string_equal(p.workload.argv[2], "print(1)");
	assert_null(p.workload.argv[3]);
	assert_int_equal(p.workload.envc, 2);
}

static void env_sets_and_replaces_variables(void **state)
{
	char *env[] = { "B=two", "C=", "B=three" };
	struct vj_policy_overrides o = { .envc = 3, .env = env };
	struct vj_err err;

	(void)state;
	assert_int_equal(apply(&o, &err), 0);
	assert_int_equal(p.workload.envc, 3);
	assert_string_equal(p.workload.env[0], "A=1");
	assert_string_equal(p.workload.env[1], "B=three");
	assert_string_equal(p.workload.env[2], "C=");
}

static void malformed_env_entries_are_refused(void **state)
{
	char *env[] = { "NOVALUE" };
	struct vj_policy_overrides o = { .envc = 1, .env = env };

	(void)state;
	assert_override_error(&o, "command line: workload.env: expected NAME=VALUE with NAME of "
			      "[A-Za-z_][A-Za-z0-9_]*, found \"NOVALUE\"");
	env[0] = "1A=x";
	assert_override_error(&o, "command line: workload.env: expected NAME=VALUE with NAME of "
			      "[A-Za-z_][A-Za-z0-9_]*, found \"1A=x\"");
}

static void env_is_checked(void **state)
{
	static char names[VJ_MAX_ENV][16];
	char *env[VJ_MAX_ENV] = { "A=caf\xe9" };
	struct vj_policy_overrides o = { .envc = 1, .env = env };

	(void)state;
	assert_override_error(&o, "command line: workload.env.A: expected UTF-8 text");
	/* The policy has A and B; 127 new names make 129. */
	for (int i = 0; i < VJ_MAX_ENV - 1; i++) {
		snprintf(names[i], sizeof(names[i]), "N%d=1", i);
		env[i] = names[i];
	}
	o.envc = VJ_MAX_ENV - 1;
	assert_override_error(&o, "command line: workload.env: expected at most 128 variables");
}

static void argv_is_checked(void **state)
{
	char *argv[VJ_MAX_ARGS + 1] = { "" };
	struct vj_policy_overrides o = { .set_argv = true, .argc = 1, .argv = argv };

	(void)state;
	assert_override_error(&o, "command line: workload.argv[0]: expected a program name, found \"\"");
	argv[0] = "ok";
	argv[1] = "caf\xe9";
	o.argc = 2;
	assert_override_error(&o, "command line: workload.argv[1]: expected UTF-8 text");
	o.argc = VJ_MAX_ARGS + 1;
	assert_override_error(&o, "command line: workload.argv: expected at most 256 arguments, found 257");
}

static void workload_size_is_capped(void **state)
{
	static char big[40000];
	char *argv[] = { big, big };
	struct vj_policy_overrides o = { .set_argv = true, .argc = 2, .argv = argv };

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	assert_override_error(&o, "command line: workload.argv[1]: expected at most 65536 bytes of "
			      "arguments and environment in all");
}

static void failed_overrides_leave_the_policy_unchanged(void **state)
{
	char *argv[] = { "new" };
	char *env[] = { "A=changed", "bad" };
	struct vj_policy_overrides o = { .vcpus = "2", .set_argv = true, .argc = 1, .argv = argv,
					 .envc = 2, .env = env };
	struct vj_err err;

	(void)state;
	assert_int_not_equal(apply(&o, &err), 0);
	assert_int_equal(p.vm.vcpus, 1);
	assert_string_equal(p.workload.argv[0], "/bin/true");
	assert_string_equal(p.workload.env[0], "A=1");
}

#define WITH_POLICY(t) cmocka_unit_test_setup_teardown(t, load_policy, free_policy)

int main(void)
{
	const struct CMUnitTest tests[] = {
		WITH_POLICY(empty_overrides_change_nothing),
		WITH_POLICY(scalars_use_the_policy_syntax),
		WITH_POLICY(scalars_are_bounded_by_the_host),
		WITH_POLICY(malformed_scalars_are_refused),
		WITH_POLICY(memory_must_still_fit_the_cgroup),
		WITH_POLICY(argv_replaces_the_workload_argv),
		WITH_POLICY(env_sets_and_replaces_variables),
		WITH_POLICY(malformed_env_entries_are_refused),
		WITH_POLICY(env_is_checked),
		WITH_POLICY(argv_is_checked),
		WITH_POLICY(workload_size_is_capped),
		WITH_POLICY(failed_overrides_leave_the_policy_unchanged),
	};

	vj_unit_filter();
	return cmocka_run_group_tests(tests, tp_setup, tp_teardown);
}
