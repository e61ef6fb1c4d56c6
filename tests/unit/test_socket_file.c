/*
 * A standalone VMM's vsock socket file (common/socket_file.c): made whole
 * under a temporary name, then put in place over a stale socket but over
 * nothing else. The launcher's side is test_jail_sockfile.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "unit.h"
#include "socket_file.h"

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/vj-sockfile-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static bool connects(const char *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	assert_true(strlen(p) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, p, strlen(p));
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* Entries of dir, "." and ".." aside. */
static unsigned entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void the_socket_is_listening_with_its_mode_under_any_umask(void **state)
{
	mode_t old = umask(0);
	struct stat st;
	int fd = -1;
	struct vj_err e;
	char cwd[256], after[256];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(vj_sockfile_listen_own(path, &fd, &e), 0);
	umask(old);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, VJ_SOCKFILE_MODE);
	assert_true(connects(path));
	assert_int_equal(entries(), 1); /* nothing under a temporary name */
	assert_non_null(getcwd(after, sizeof(after)));
	assert_string_equal(after, cwd);
	close(fd);
}

static void a_stale_socket_is_replaced(void **state)
{
	struct vj_err e;
	int fd1 = -1, fd2 = -1;

	(void)state;
	assert_int_equal(vj_sockfile_listen_own(path, &fd1, &e), 0);
	close(fd1); /* the earlier run is gone; its socket file stays */
	assert_false(connects(path));
	assert_int_equal(vj_sockfile_listen_own(path, &fd2, &e), 0);
	assert_true(connects(path));
	assert_int_equal(entries(), 1);
	close(fd2);
}

static void anything_but_a_socket_is_refused_and_kept(void **state)
{
	struct vj_err e;
	char want[300], target[160];
	struct stat st;
	int fd = -1;

	(void)state;
	snprintf(want, sizeof(want), "vsock socket (%s): exists and is not a socket", path);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	close(fd);
	fd = -1;
	assert_int_equal(vj_sockfile_listen_own(path, &fd, &e), -EEXIST);
	assert_string_equal(e.msg, want);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(path);
	/* A symbolic link, even to a socket, is not a socket. */
	snprintf(target, sizeof(target), "%s/other.sock", dir);
	assert_int_equal(vj_sockfile_listen_own(target, &fd, &e), 0);
	assert_int_equal(symlink("other.sock", path), 0);
	assert_int_equal(vj_sockfile_listen_own(path, &fd, &e), -EEXIST);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(entries(), 2);
	close(fd);
}

static void a_missing_directory_is_named(void **state)
{
	struct vj_err e;
	int fd = -1;
	char p[160], want[300];

	(void)state;
	snprintf(p, sizeof(p), "%s/none/v.sock", dir);
	snprintf(want, sizeof(want), "vsock socket (%s): its directory: No such file or directory", p);
	assert_int_equal(vj_sockfile_listen_own(p, &fd, &e), -ENOENT);
	assert_string_equal(e.msg, want);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(the_socket_is_listening_with_its_mode_under_any_umask),
		T(a_stale_socket_is_replaced),
		T(anything_but_a_socket_is_refused_and_kept),
		T(a_missing_directory_is_named),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
