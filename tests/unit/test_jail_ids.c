/* Host ids: a block of the host's range for each sandbox, none shared by
 * two live launchers, free again when a launcher ends however it ends.
 * Each vj_ids holds its own open of the lock file, as a launcher does, so
 * that two of them in this process conflict as two launchers would. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "ids.h"
#include "policy_load.h"

static char dir[64], lock_path[96];
static struct vj_host_config host;
static struct vj_err e;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/vj-ids-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(lock_path, sizeof(lock_path), "%s/ids", dir);
	vj_host_config_defaults(&host);
	/* Three blocks of ten: uids 1000..1029, gids 2000..2029. */
	host.uid_min = 1000;
	host.uid_max = 1029;
	host.gid_min = 2000;
	host.gid_max = 2029;
	host.id_block = 10;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(lock_path);
	return rmdir(dir);
}

static void a_sandbox_gets_the_lowest_free_block(void **state)
{
	struct vj_ids a, b;

	(void)state;
	assert_int_equal(vj_ids_allocate(&a, lock_path, &host, &e), 0);
	assert_int_equal(a.uid, 1000);
	assert_int_equal(a.gid, 2000);
	assert_int_equal(a.count, 10);
	assert_int_equal(vj_ids_allocate(&b, lock_path, &host, &e), 0);
	assert_int_equal(b.uid, 1010);
	assert_int_equal(b.gid, 2010);
	vj_ids_release(&a);
	vj_ids_release(&b);
}

static void released_ids_go_to_the_next_sandbox(void **state)
{
	struct vj_ids a, b, c;

	(void)state;
	assert_int_equal(vj_ids_allocate(&a, lock_path, &host, &e), 0);
	assert_int_equal(vj_ids_allocate(&b, lock_path, &host, &e), 0);
	vj_ids_release(&a);
	assert_int_equal(a.lock_fd, -1);
	assert_int_equal(vj_ids_allocate(&c, lock_path, &host, &e), 0);
	assert_int_equal(c.uid, 1000);
	vj_ids_release(&b);
	vj_ids_release(&c);
	vj_ids_release(&c); /* twice is harmless */
}

static void an_exhausted_range_is_one_error_naming_it(void **state)
{
	struct vj_ids a, b, c, d;

	(void)state;
	snprintf(host.source, sizeof(host.source), "/etc/vmjail/host.yaml");
	assert_int_equal(vj_ids_allocate(&a, lock_path, &host, &e), 0);
	assert_int_equal(vj_ids_allocate(&b, lock_path, &host, &e), 0);
	assert_int_equal(vj_ids_allocate(&c, lock_path, &host, &e), 0);
	assert_int_equal(vj_ids_allocate(&d, lock_path, &host, &e), -EBUSY);
	assert_string_equal(e.msg, "host ids: all 3 blocks of 10 ids (uids 1000..1029, gids "
				   "2000..2029: ids in /etc/vmjail/host.yaml) are held by live "
				   "sandboxes");
	vj_ids_release(&a);
	vj_ids_release(&b);
	vj_ids_release(&c);
}

/* A block is taken whole, its uids and its gids: one held gid is enough
 * to pass it over, and a block passed over holds nothing. */
static void a_block_with_any_id_held_is_passed_over(void **state)
{
	struct vj_ids op, a, b;

	(void)state;
	assert_int_equal(vj_ids_reserve(&op, lock_path, 50, 2005, 1, &e), 0);
	assert_int_equal(vj_ids_allocate(&a, lock_path, &host, &e), 0);
	assert_int_equal(a.uid, 1010);
	assert_int_equal(a.gid, 2010);
	vj_ids_release(&op);
	assert_int_equal(vj_ids_allocate(&b, lock_path, &host, &e), 0);
	assert_int_equal(b.uid, 1000);
	vj_ids_release(&a);
	vj_ids_release(&b);
}

static void ids_an_operator_names_are_refused_while_a_sandbox_holds_them(void **state)
{
	struct vj_ids a, op, again;

	(void)state;
	assert_int_equal(vj_ids_allocate(&a, lock_path, &host, &e), 0);
	assert_int_equal(vj_ids_reserve(&op, lock_path, 1009, 5000, 1, &e), -EBUSY);
	assert_string_equal(e.msg, "host ids: uid 1009 and gid 5000: a live sandbox holds some of "
				   "them");
	assert_int_equal(vj_ids_reserve(&op, lock_path, 5000, 1995, 10, &e), -EBUSY);
	assert_string_equal(e.msg, "host ids: uids 5000..5009 and gids 1995..2004: a live sandbox "
				   "holds some of them");
	assert_int_equal(vj_ids_reserve(&op, lock_path, 1010, 2010, 10, &e), 0);
	assert_int_equal(vj_ids_reserve(&again, lock_path, 1010, 2010, 10, &e), -EBUSY);
	vj_ids_release(&op);
	vj_ids_release(&a);
}

/* uid U and gid U are different ids: holding one says nothing of the
 * other. */
static void uids_and_gids_are_held_apart(void **state)
{
	struct vj_ids a, b;

	(void)state;
	assert_int_equal(vj_ids_reserve(&a, lock_path, 7000, 8000, 1, &e), 0);
	assert_int_equal(vj_ids_reserve(&b, lock_path, 8000, 7000, 1, &e), 0);
	vj_ids_release(&a);
	vj_ids_release(&b);
}

/* The kernel lets go of a launcher's ids when it dies, SIGKILL included:
 * nothing is left to clean up. */
static void a_killed_launchers_ids_are_free(void **state)
{
	struct vj_ids a;
	int ready[2], status;
	char c;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vj_ids mine;
		if (vj_ids_allocate(&mine, lock_path, &host, &e) < 0)
			_exit(1);
		(void)!write(ready[1], "r", 1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(vj_ids_allocate(&a, lock_path, &host, &e), 0);
	assert_int_equal(a.uid, 1010); /* the child holds the first block */
	vj_ids_release(&a);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(vj_ids_allocate(&a, lock_path, &host, &e), 0);
	assert_int_equal(a.uid, 1000);
	vj_ids_release(&a);
}

/* Anyone else able to open the file could hold read locks that keep every
 * launcher from taking ids. */
static void a_lock_file_others_may_open_is_refused(void **state)
{
	struct vj_ids a;
	int fd = open(lock_path, O_RDWR | O_CREAT, 0600);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);
	assert_int_equal(vj_ids_allocate(&a, lock_path, &host, &e), -EPERM);
	assert_non_null(strstr(e.msg, "is not a regular file that only uid"));
	assert_non_null(strstr(e.msg, "mode 0644"));
	unlink(lock_path);
	assert_int_equal(symlink("/etc/passwd", lock_path), 0);
	assert_int_equal(vj_ids_allocate(&a, lock_path, &host, &e), -ELOOP);
	assert_non_null(strstr(e.msg, lock_path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_sandbox_gets_the_lowest_free_block, setup,
						teardown),
		cmocka_unit_test_setup_teardown(released_ids_go_to_the_next_sandbox, setup, teardown),
		cmocka_unit_test_setup_teardown(an_exhausted_range_is_one_error_naming_it, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_block_with_any_id_held_is_passed_over, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			ids_an_operator_names_are_refused_while_a_sandbox_holds_them, setup, teardown),
		cmocka_unit_test_setup_teardown(uids_and_gids_are_held_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(a_killed_launchers_ids_are_free, setup, teardown),
		cmocka_unit_test_setup_teardown(a_lock_file_others_may_open_is_refused, setup,
						teardown),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
