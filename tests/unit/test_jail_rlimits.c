/* The VMM's resource limits: the policy's, or safe defaults. */
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string.h>

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

/* Where the host allows snapshots, the VMM writes guest RAM into one. */
static void fsize_covers_a_snapshot_memory_file(void **state)
{
	struct vj_rlimit_inputs in = { .largest_drive = 1u << 20, .snapshot_bytes = 260u << 20 };
	struct vj_rlimit_value v[VJ_RLIMITS_COUNT];

	(void)state;
	vj_rlimits_resolve(&unset, &in, v);
	assert_int_equal(value_of(v, RLIMIT_FSIZE), 260u << 20);
	in.largest_drive = 1ull << 30;
	vj_rlimits_resolve(&unset, &in, v);
	assert_int_equal(value_of(v, RLIMIT_FSIZE), 1ull << 30);
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

/* A process standing in for the VMM, with the jail's tight fsize. */
static pid_t vmm_with_fsize(rlim_t cur, rlim_t max)
{
	struct rlimit rl = { cur, max };
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		setrlimit(RLIMIT_FSIZE, &rl);
		for (;;)
			pause();
	}
	/* Until the child has set its own limit. */
	for (int i = 0; i < 1000; i++) {
		struct rlimit now;
		if (prlimit(pid, RLIMIT_FSIZE, NULL, &now) == 0 && now.rlim_cur == cur)
			break;
		usleep(1000);
	}
	return pid;
}

static void end(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static rlim_t fsize_of(pid_t pid)
{
	struct rlimit rl;

	assert_int_equal(prlimit(pid, RLIMIT_FSIZE, NULL, &rl), 0);
	return rl.rlim_cur;
}

/* A snapshot's memory file: the VMM's fsize raised to guest RAM for the
 * snapshot, then put back. The jail sets soft = hard, and raising a hard
 * limit takes CAP_SYS_RESOURCE, which a root launcher has and a test run
 * may not (tests/README.md): the hard limit here is left open. */
static void fsize_is_raised_for_a_snapshot_and_put_back(void **state)
{
	pid_t pid = vmm_with_fsize(1u << 20, RLIM_INFINITY);
	struct rlimit saved;
	struct vj_err e = { 0 };

	(void)state;
	if (vj_rlimits_fsize_raise(pid, 256u << 20, &saved, &e) < 0) {
		end(pid);
		fail_msg("%s", e.msg);
	}
	assert_true(fsize_of(pid) == 256u << 20);
	assert_true(saved.rlim_cur == 1u << 20);
	assert_int_equal(vj_rlimits_fsize_restore(pid, &saved, &e), 0);
	assert_true(fsize_of(pid) == 1u << 20);
	end(pid);
	/* Large enough already: left alone. */
	pid = vmm_with_fsize(RLIM_INFINITY, RLIM_INFINITY);
	assert_int_equal(vj_rlimits_fsize_raise(pid, 256u << 20, &saved, &e), 0);
	assert_true(fsize_of(pid) == RLIM_INFINITY);
	end(pid);
	assert_int_equal(vj_rlimits_fsize_raise(pid, 1, &saved, &e), -ESRCH);
	assert_non_null(strstr(e.msg, "read the fsize limit of process"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unset_limits_get_safe_defaults),
		cmocka_unit_test(fsize_covers_the_largest_writable_file),
		cmocka_unit_test(fsize_covers_a_snapshot_memory_file),
		cmocka_unit_test(an_uncapped_console_file_leaves_fsize_unlimited),
		cmocka_unit_test(policy_values_win),
		cmocka_unit_test(fsize_does_not_depend_on_the_guest_memory),
		cmocka_unit_test(fsize_is_raised_for_a_snapshot_and_put_back),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
