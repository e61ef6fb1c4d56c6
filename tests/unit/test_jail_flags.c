/* `vmjail run` from flags: the VMM's flags handed through, the jail's
 * parsed, and nothing a jail must have can be switched off. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "flags.h"

static struct vj_launch l;
static struct vj_err e;

#define ARGS(...) (char *[]){ "run", __VA_ARGS__, NULL }
#define NARGS(...) ((int)(sizeof((char *[]){ "run", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(...) (vj_launch_init(&l), vj_flags_parse_run(&l, NARGS(__VA_ARGS__), \
							ARGS(__VA_ARGS__), &e))

static void vmm_flags_are_handed_through(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--vcpus", "2", "--memory=256M",
			       "--drive", "path=/d.img,ro,id=root", "--cmdline", "a b"), 0);
	assert_string_equal(l.policy.vm.kernel.name, "/k");
	assert_int_equal(l.policy.vm.vcpus, 2);
	assert_int_equal(l.policy.vm.memory_mib, 256);
	assert_int_equal(l.policy.vm.ndrives, 1);
	assert_true(l.policy.vm.drives[0].read_only);
	assert_string_equal(l.policy.vm.cmdline, "a b");
	assert_int_equal(l.policy.seccomp, VJ_SECCOMP_ENFORCE);
}

static void defaults_are_a_full_jail_with_host_ids_of_its_own(void **state)
{
	char id[32];

	(void)state;
	assert_int_equal(PARSE("--kernel", "/k"), 0);
	assert_false(l.host_ids_given);
	assert_int_equal(l.policy.jail.namespaces, VJ_NS_ALL_BUT_USER);
	assert_true(l.policy.jail.cgroup.memory_max == VJ_UNLIMITED);
	assert_int_equal(l.policy.limits.timeout_ms, 0);
	snprintf(id, sizeof(id), "sandbox-%d", (int)getpid());
	assert_string_equal(l.policy.id, id);
}

static void jail_flags_set_limits(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--id", "job-1", "--cpus", "1.5",
			       "--memory-max", "1G", "--pids-max", "32", "--cpuset", "0-1",
			       "--rlimit", "nofile=64", "--rlimit", "fsize=2G", "--timeout", "2m",
			       "--uid", "1000", "--gid", "1001", "--netns", "blue", "--proc"), 0);
	assert_string_equal(l.policy.id, "job-1");
	assert_int_equal(l.policy.jail.cgroup.cpu_quota_us, 150000);
	assert_int_equal(l.policy.jail.cgroup.cpu_period_us, 100000);
	assert_true(l.policy.jail.cgroup.memory_max == 1ull << 30);
	assert_int_equal(l.policy.jail.cgroup.pids_max, 32);
	assert_string_equal(l.policy.jail.cgroup.cpuset_cpus, "0-1");
	assert_int_equal(l.policy.jail.rlimits.nofile, 64);
	assert_true(l.policy.jail.rlimits.fsize == 2ull << 30);
	assert_int_equal(l.policy.limits.timeout_ms, 120000);
	assert_true(l.host_ids_given);
	assert_int_equal(l.host_uid, 1000);
	assert_int_equal(l.host_gid, 1001);
	assert_string_equal(l.policy.jail.netns, "blue");
	assert_true(l.policy.jail.mount_proc);
}

static void timeouts_take_a_unit_as_in_a_policy(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--timeout", "500ms"), 0);
	assert_int_equal(l.policy.limits.timeout_ms, 500);
	assert_int_equal(PARSE("--kernel", "/k", "--timeout", "7"), -EINVAL);
	assert_non_null(strstr(e.msg, "--timeout: expected a duration (an integer with a unit"));
	assert_int_equal(PARSE("--kernel", "/k", "--timeout", "1h"), 0);
	assert_int_equal(l.policy.limits.timeout_ms, 3600000);
	assert_int_equal(PARSE("--kernel", "/k", "--timeout", "5 s"), -EINVAL);
	assert_non_null(strstr(e.msg, "--timeout"));
}

static void host_ids_named_by_the_operator_are_both_uid_and_gid(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--uid", "1000"), -EINVAL);
	assert_non_null(strstr(e.msg, "--uid and --gid go together"));
	assert_int_equal(PARSE("--kernel", "/k", "--gid", "1000"), -EINVAL);
}

static void a_user_namespace_of_count_ids_maps_the_sandboxs_own_block(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--userns", "65536"), 0);
	assert_true(l.policy.jail.namespaces & VJ_NS_USER);
	assert_int_equal(l.policy.jail.userns_count, 65536);
	assert_false(l.host_ids_given);
	assert_int_equal(l.policy.jail.uid, 0);
	assert_int_equal(l.policy.jail.gid, 0);
}

static void a_user_namespace_may_map_host_ids_the_operator_names(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--userns", "100000:200000:65536"), 0);
	assert_true(l.policy.jail.namespaces & VJ_NS_USER);
	assert_true(l.host_ids_given);
	assert_int_equal(l.host_uid, 100000);
	assert_int_equal(l.host_gid, 200000);
	assert_int_equal(l.policy.jail.userns_count, 65536);
	assert_int_equal(PARSE("--kernel", "/k", "--userns", "100000:65536"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--userns", "1:1:0"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--userns", "1:1:65537"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--userns", "65537"), -EINVAL);
}

static void in_a_user_namespace_uid_and_gid_are_ids_inside_it(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--uid", "5", "--userns", "10", "--gid", "6"), 0);
	assert_false(l.host_ids_given);
	assert_int_equal(l.policy.jail.uid, 5);
	assert_int_equal(l.policy.jail.gid, 6);
}

static void seccomp_cannot_be_turned_off_but_can_log(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--seccomp", "off"), -EINVAL);
	assert_non_null(strstr(e.msg, "always runs the VMM under seccomp"));
	assert_int_equal(PARSE("--kernel", "/k", "--seccomp-log"), 0);
	assert_int_equal(l.policy.seccomp, VJ_SECCOMP_LOG);
}

static void bad_values_name_the_flag(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--id", "a/b"), -EINVAL);
	assert_non_null(strstr(e.msg, "--id"));
	assert_int_equal(PARSE("--kernel", "/k", "--cpus", "0"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--cpus", "1.2345"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--memory-max", "lots"), -EINVAL);
	assert_non_null(strstr(e.msg, "--memory-max"));
	assert_int_equal(PARSE("--kernel", "/k", "--rlimit", "stack=1"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--netns", ".."), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--netns", "a/b"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--vcpus", "999"), -EINVAL);
	assert_non_null(strstr(e.msg, "--vcpus"));
	assert_int_equal(PARSE("--vcpus", "1"), -EINVAL);
	assert_non_null(strstr(e.msg, "kernel"));
}

static void a_cgroup_parent_is_a_clean_path_relative_or_absolute(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--cgroup-parent", "vmjail/sandboxes"), 0);
	assert_string_equal(l.host.cgroup_parent, "vmjail/sandboxes");
	assert_int_equal(PARSE("--kernel", "/k", "--cgroup-parent", "/vmjail"), 0);
	assert_string_equal(l.host.cgroup_parent, "/vmjail");
	assert_int_equal(PARSE("--kernel", "/k", "--cgroup-parent", "vmjail//x"), -EINVAL);
	assert_non_null(strstr(e.msg, "--cgroup-parent"));
	assert_int_equal(PARSE("--kernel", "/k", "--cgroup-parent", "/"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--cgroup-parent", "vmjail/./x"), -EINVAL);
}

static void the_launcher_makes_the_config_fd_itself(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--config-fd", "3"), -EINVAL);
	assert_non_null(strstr(e.msg, "unknown option"));
}

static void arguments_go_only_to_a_test_program(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--", "x"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--test-exec", "/p", "--", "open-host", "/etc"),
			 0);
	assert_string_equal(l.test_exec, "/p");
	assert_int_equal(l.ntest_args, 2);
	assert_string_equal(l.test_args[1], "/etc");
}

static void a_pid_file_and_rm_need_detach(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--pid-file", "/run/x.pid"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--rm"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--detach", "--rm", "--pid-file", "/run/x.pid"), 0);
	assert_true(l.detach);
	assert_true(l.rm);
}

static void an_owner_is_a_uid(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--owner", "1000"), 0);
	assert_true(l.owner_given);
	assert_int_equal(l.owner, 1000);
	assert_int_equal(PARSE("--kernel", "/k", "--owner", "bob"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vmm_flags_are_handed_through),
		cmocka_unit_test(defaults_are_a_full_jail_with_host_ids_of_its_own),
		cmocka_unit_test(jail_flags_set_limits),
		cmocka_unit_test(timeouts_take_a_unit_as_in_a_policy),
		cmocka_unit_test(host_ids_named_by_the_operator_are_both_uid_and_gid),
		cmocka_unit_test(a_user_namespace_of_count_ids_maps_the_sandboxs_own_block),
		cmocka_unit_test(a_user_namespace_may_map_host_ids_the_operator_names),
		cmocka_unit_test(in_a_user_namespace_uid_and_gid_are_ids_inside_it),
		cmocka_unit_test(seccomp_cannot_be_turned_off_but_can_log),
		cmocka_unit_test(bad_values_name_the_flag),
		cmocka_unit_test(a_cgroup_parent_is_a_clean_path_relative_or_absolute),
		cmocka_unit_test(the_launcher_makes_the_config_fd_itself),
		cmocka_unit_test(arguments_go_only_to_a_test_program),
		cmocka_unit_test(a_pid_file_and_rm_need_detach),
		cmocka_unit_test(an_owner_is_a_uid),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
