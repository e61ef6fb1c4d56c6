/* --detach's daemon (jailer/daemon.h): of the caller's descriptors it
 * keeps stdio and, where asked, one more (an OCI container's root image
 * lock), as descriptor 4; nothing else. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "daemon.h"

/* In the daemon: whether fd is open on the file st describes. */
static bool same_file(int fd, const struct stat *st)
{
	struct stat now;

	return fstat(fd, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino;
}

/* Runs vj_daemonize with keep (or none); the daemon checks what it holds
 * and reports 0 when it is as expected, 1 when not. */
static int daemon_status(bool keep)
{
	char path[] = "/tmp/vj-daemon-XXXXXX";
	int kept = mkstemp(path), other = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int keep_fd = kept, report_fd = -1, status = -1, r;
	struct stat st;
	struct vj_err e;

	assert_true(kept >= 0 && other >= 0);
	unlink(path);
	/* Out of the way of 3 and 4, so that a leak would show. */
	assert_int_equal(dup2(kept, 7), 7);
	assert_int_equal(dup2(other, 8), 8);
	close(kept);
	keep_fd = 7;
	assert_int_equal(fstat(keep_fd, &st), 0);
	r = vj_daemonize(&report_fd, keep ? &keep_fd : NULL, &status, &e);
	if (r == 0) {
		bool ok = report_fd == 3 && fcntl(8, F_GETFD) < 0 && fcntl(7, F_GETFD) < 0 &&
			  (keep ? keep_fd == 4 && same_file(4, &st) : fcntl(4, F_GETFD) < 0);
		vj_daemon_report(&report_fd, ok ? 0 : 1);
		_exit(0);
	}
	assert_int_equal(r, 1);
	close(7);
	close(8);
	close(other);
	return status;
}

static void test_daemon_keeps_the_descriptor_asked_for_as_4(void **state)
{
	(void)state;
	assert_int_equal(daemon_status(true), 0);
}

static void test_daemon_keeps_nothing_else(void **state)
{
	(void)state;
	assert_int_equal(daemon_status(false), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daemon_keeps_the_descriptor_asked_for_as_4),
		cmocka_unit_test(test_daemon_keeps_nothing_else),
	};

	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
