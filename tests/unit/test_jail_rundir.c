/* Sandbox ids and their run directories: unique while a launcher lives,
 * with a state record a later cleanup can replay. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "rundir.h"
#include "scalar.h"

static char base[64];

static int setup(void **state)
{
	(void)state;
	strcpy(base, "/tmp/vj-rundir-XXXXXX");
	assert_non_null(mkdtemp(base));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void ids_are_letters_digits_and_dashes(void **state)
{
	char longest[VJ_ID_MAX + 2];

	(void)state;
	assert_true(vj_name_is_sandbox_id("a"));
	assert_true(vj_name_is_sandbox_id("job-42-B"));
	memset(longest, 'x', VJ_ID_MAX);
	longest[VJ_ID_MAX] = '\0';
	assert_true(vj_name_is_sandbox_id(longest));
	longest[VJ_ID_MAX] = 'x';
	longest[VJ_ID_MAX + 1] = '\0';
	assert_false(vj_name_is_sandbox_id(longest));
	assert_false(vj_name_is_sandbox_id(""));
	assert_false(vj_name_is_sandbox_id("."));
	assert_false(vj_name_is_sandbox_id(".."));
	assert_false(vj_name_is_sandbox_id("a/b"));
	assert_false(vj_name_is_sandbox_id("a b"));
	assert_false(vj_name_is_sandbox_id("a_b"));
	assert_false(vj_name_is_sandbox_id("caf\xc3\xa9"));
}

static void an_id_held_by_a_live_launcher_is_busy(void **state)
{
	struct vj_rundir a, b;
	struct vj_err e;
	bool stale = true;

	(void)state;
	assert_int_equal(vj_rundir_acquire(&a, base, "one", &stale, &e), 0);
	assert_false(stale);
	assert_int_equal(vj_rundir_acquire(&b, base, "one", &stale, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "in use"));
	/* Another id is independent. */
	assert_int_equal(vj_rundir_acquire(&b, base, "two", &stale, &e), 0);
	assert_int_equal(vj_rundir_release(&b), 0);
	assert_int_equal(vj_rundir_release(&a), 0);
	/* Released: the directory is gone and the id free again. */
	{
		char p[128];
		snprintf(p, sizeof(p), "%s/one", base);
		assert_int_equal(access(p, F_OK), -1);
	}
	assert_int_equal(vj_rundir_acquire(&a, base, "one", &stale, &e), 0);
	assert_false(stale);
	assert_int_equal(vj_rundir_release(&a), 0);
}

static int collect(void *ctx, const char *kind, const char *value)
{
	char *out = ctx;

	strcat(out, kind);
	strcat(out, "=");
	strcat(out, value);
	strcat(out, ";");
	return 0;
}

static void mark_cleaning(const struct vj_rundir *rd)
{
	int fd = openat(rd->dirfd, "status", O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "cleaning 3\n", 11), 11);
	close(fd);
}

/* The teardown of the id's previous run goes on in the background
 * (run.c): the next run of it waits for the lock instead of failing. */
static void an_id_whose_teardown_goes_on_is_waited_for(void **state)
{
	struct vj_rundir a, b;
	struct vj_err e;
	bool stale = true;
	pid_t pid;
	int st;

	(void)state;
	assert_int_equal(vj_rundir_acquire(&a, base, "one", &stale, &e), 0);
	mark_cleaning(&a);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The teardown: it holds the lock (the same open file
		 * description) a while, then removes the directory. */
		usleep(200 * 1000);
		_exit(vj_rundir_release(&a) == 0 ? 0 : 1);
	}
	vj_rundir_close(&a);
	assert_int_equal(vj_rundir_acquire(&b, base, "one", &stale, &e), 0);
	assert_false(stale);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* A directory of its own, not the one the teardown removed. */
	assert_int_equal(faccessat(b.dirfd, "status", F_OK, 0), -1);
	assert_int_equal(vj_rundir_release(&b), 0);
}

static void a_dead_launchers_records_are_found_stale(void **state)
{
	struct vj_rundir a;
	struct vj_err e;
	bool stale = false;
	char seen[256] = "";

	(void)state;
	assert_int_equal(vj_rundir_acquire(&a, base, "crashed", &stale, &e), 0);
	assert_int_equal(vj_rundir_record(&a, "cgroup", "cpu,memory vmjail/crashed"), 0);
	assert_int_equal(vj_rundir_record(&a, "socket", "/run/x.sock"), 0);
	/* The launcher dies: its descriptors close, the lock goes with them. */
	close(a.basefd);
	close(a.dirfd);
	close(a.lockfd);
	assert_int_equal(vj_rundir_acquire(&a, base, "crashed", &stale, &e), 0);
	assert_true(stale);
	assert_int_equal(vj_rundir_state_foreach(&a, collect, seen), 0);
	assert_string_equal(seen, "cgroup=cpu,memory vmjail/crashed;socket=/run/x.sock;");
	assert_int_equal(vj_rundir_release(&a), 0);
}

static void a_withdrawn_record_is_the_newest_of_its_kind_and_value(void **state)
{
	struct vj_rundir a;
	struct vj_err e;
	bool stale;
	char seen[256] = "";

	(void)state;
	assert_int_equal(vj_rundir_acquire(&a, base, "withdraw", &stale, &e), 0);
	assert_int_equal(vj_rundir_record(&a, "cgroup", "cpu vmjail/x"), 0);
	assert_int_equal(vj_rundir_record(&a, "socket", "/run/x.sock"), 0);
	assert_int_equal(vj_rundir_record(&a, "cgroup", "cpu vmjail/x"), 0);
	assert_int_equal(vj_rundir_record(&a, "cgroup", "cpu vmjail/x2"), 0);
	assert_int_equal(vj_rundir_withdraw(&a, "cgroup", "cpu vmjail/x"), 0);
	assert_int_equal(vj_rundir_state_foreach(&a, collect, seen), 0);
	assert_string_equal(seen, "cgroup=cpu vmjail/x;socket=/run/x.sock;cgroup=cpu vmjail/x2;");
	/* A prefix of a record is not that record. */
	assert_int_equal(vj_rundir_withdraw(&a, "cgroup", "cpu vmjail"), -ENOENT);
	assert_int_equal(vj_rundir_release(&a), 0);
}

/* The state file stays open between records; a withdrawal replaces the
 * file, and what is recorded after it must be in the new one. */
static void a_record_after_a_withdrawal_is_kept(void **state)
{
	struct vj_rundir a;
	struct vj_err e;
	bool stale;
	char seen[256] = "";

	(void)state;
	assert_int_equal(vj_rundir_acquire(&a, base, "rewrite", &stale, &e), 0);
	assert_int_equal(vj_rundir_record(&a, "cgroup", "cpu vmjail/x"), 0);
	assert_int_equal(vj_rundir_record(&a, "socket", "/run/x.sock"), 0);
	assert_int_equal(vj_rundir_withdraw(&a, "cgroup", "cpu vmjail/x"), 0);
	assert_int_equal(vj_rundir_record(&a, "vmm", "42"), 0);
	assert_int_equal(vj_rundir_state_foreach(&a, collect, seen), 0);
	assert_string_equal(seen, "socket=/run/x.sock;vmm=42;");
	assert_int_equal(vj_rundir_release(&a), 0);
}

static void records_are_single_lines(void **state)
{
	struct vj_rundir a;
	struct vj_err e;
	bool stale;

	(void)state;
	assert_int_equal(vj_rundir_acquire(&a, base, "lines", &stale, &e), 0);
	assert_int_equal(vj_rundir_record(&a, "socket", "/a\nvmm 1"), -EINVAL);
	assert_int_equal(vj_rundir_record(&a, "two words", "x"), -EINVAL);
	assert_int_equal(vj_rundir_release(&a), 0);
}

static void a_run_dir_others_can_write_is_refused(void **state)
{
	struct vj_rundir a;
	struct vj_err e;
	bool stale;

	(void)state;
	assert_int_equal(chmod(base, 0777), 0);
	assert_int_equal(vj_rundir_acquire(&a, base, "x", &stale, &e), -EPERM);
	assert_non_null(strstr(e.msg, "writable by others"));
	assert_int_equal(chmod(base, 0700), 0);
}

static void a_bad_id_is_refused_before_touching_the_disk(void **state)
{
	struct vj_rundir a;
	struct vj_err e;
	bool stale;
	char p[128];

	(void)state;
	assert_int_equal(vj_rundir_acquire(&a, base, "../escape", &stale, &e), -EINVAL);
	snprintf(p, sizeof(p), "%s/../escape", base);
	assert_int_equal(access(p, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ids_are_letters_digits_and_dashes),
		cmocka_unit_test_setup_teardown(an_id_held_by_a_live_launcher_is_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(an_id_whose_teardown_goes_on_is_waited_for, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_dead_launchers_records_are_found_stale, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_withdrawn_record_is_the_newest_of_its_kind_and_value,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_record_after_a_withdrawal_is_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(records_are_single_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(a_run_dir_others_can_write_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(a_bad_id_is_refused_before_touching_the_disk, setup,
						teardown),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
