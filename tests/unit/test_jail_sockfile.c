/* The launcher's socket files (jailer/sockfile.h): made whole under a
 * temporary name and renamed into place, never over anything that is
 * there; removed, by their record, only while they are still the file
 * that was made. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "unit.h"
#include "rundir.h"
#include "sockfile.h"
#include "undo.h"

/* Short enough for sun_path, with a name appended. */
static char base[32], sockdir[48], path[64];
static struct vj_rundir rd;

static int setup(void **state)
{
	struct vj_err e;
	bool stale = false;

	(void)state;
	strcpy(base, "/tmp/vj-sf-XXXXXX");
	if (!mkdtemp(base))
		return -1;
	snprintf(sockdir, sizeof(sockdir), "%s/socks", base);
	snprintf(path, sizeof(path), "%s/v.sock", sockdir);
	if (mkdir(sockdir, 0755) < 0)
		return -1;
	return vj_rundir_acquire(&rd, base, "sock", &stale, &e);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	vj_rundir_close(&rd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static int connect_to(const char *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	assert_true(strlen(p) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, p, strlen(p) + 1);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return r < 0 ? -errno : 0;
}

/* A socket at p nobody listens on (listening: one that is listened on
 * while the returned descriptor is open). */
static int other_socket(const char *p, bool listening)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(strlen(p) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, p, strlen(p) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		assert_int_equal(listen(fd, 1), 0);
	else
		close(fd);
	return listening ? fd : -1;
}

static ino_t inode_of(const char *p)
{
	struct stat st;

	assert_int_equal(lstat(p, &st), 0);
	return st.st_ino;
}

/* The names in the socket directory, sorted by creation, one string. */
static void dir_names(char *out, size_t len)
{
	char cmd[160];
	FILE *f;
	size_t n;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | tr '\\n' ' '", sockdir);
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	pclose(f);
}

static void undo_all(void)
{
	struct vj_err e;

	if (vj_undo_records(&rd, &e) < 0)
		fail_msg("undo: %s", e.msg);
}

static void the_socket_listens_at_its_path_with_mode_0600_whatever_the_umask(void **state)
{
	struct vj_err e;
	struct stat st;
	mode_t old = umask(0);
	int fd = -1;

	(void)state;
	assert_int_equal(vj_sockfile_listen(path, (uid_t)-1, (gid_t)-1, &rd, &fd, &e), 0);
	umask(old);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(connect_to(path), 0);
	close(fd);
	undo_all();
}

static void it_is_given_to_the_ids_asked_for(void **state)
{
	struct vj_err e;
	struct stat st;
	int fd = -1;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(vj_sockfile_listen(path, 4242, 4343, &rd, &fd, &e), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_uid, 4242);
	assert_int_equal(st.st_gid, 4343);
	assert_int_equal(st.st_mode & 07777, 0600);
	close(fd);
	undo_all();
}

static void nothing_is_left_under_a_temporary_name(void **state)
{
	struct vj_err e;
	char names[256];
	int fd = -1;

	(void)state;
	assert_int_equal(vj_sockfile_listen(path, (uid_t)-1, (gid_t)-1, &rd, &fd, &e), 0);
	dir_names(names, sizeof(names));
	assert_string_equal(names, "v.sock ");
	close(fd);
	undo_all();
	dir_names(names, sizeof(names));
	assert_string_equal(names, "");
}

static int one_record(void *ctx, const char *kind, const char *value)
{
	char *out = ctx;

	if (out[0])
		return -E2BIG;
	snprintf(out, 512, "%s %s", kind, value);
	return 0;
}

/* What undoes it, once it is in place: its identity, the pending record
 * of its temporary name withdrawn. */
static void its_record_names_the_socket_by_device_inode_and_change_time(void **state)
{
	char line[512] = "", want[512];
	struct vj_err e;
	struct stat st;
	int fd = -1;

	(void)state;
	assert_int_equal(vj_sockfile_listen(path, (uid_t)-1, (gid_t)-1, &rd, &fd, &e), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(vj_rundir_state_foreach(&rd, one_record, line), 0);
	snprintf(want, sizeof(want), "socket %llu:%llu:%lld.%09ld %s",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		 (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, path);
	assert_string_equal(line, want);
	close(fd);
	undo_all();
}

/* Whoever made it, and whether or not anyone listens: not the sandbox's. */
static void a_path_that_exists_is_refused_and_left_as_it_was(void **state)
{
	char want[512];
	struct vj_err e;
	ino_t before;
	int fd = -1, holder;

	(void)state;
	other_socket(path, false);
	before = inode_of(path);
	assert_int_equal(vj_sockfile_listen(path, (uid_t)-1, (gid_t)-1, &rd, &fd, &e), -EEXIST);
	snprintf(want, sizeof(want),
		 "vsock socket (%s): exists (a socket of uid %u) and this sandbox did not make it; "
		 "remove it or name another path",
		 path, (unsigned)geteuid());
	assert_string_equal(e.msg, want);
	undo_all();
	assert_int_equal(inode_of(path), before);
	unlink(path);

	holder = other_socket(path, true);
	assert_int_equal(vj_sockfile_listen(path, (uid_t)-1, (gid_t)-1, &rd, &fd, &e), -EEXIST);
	undo_all();
	assert_int_equal(connect_to(path), 0);
	close(holder);
	unlink(path);

	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(vj_sockfile_listen(path, (uid_t)-1, (gid_t)-1, &rd, &fd, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "a symbolic link"));
	undo_all();
	assert_int_equal(access(path, F_OK), 0);
}

/* A state line as the launcher writes it, for a launcher killed midway. */
static void record(const char *value)
{
	assert_int_equal(vj_rundir_record(&rd, "socket", value), 0);
}

static void the_record_removes_the_socket_it_made(void **state)
{
	struct vj_err e;
	int fd = -1;

	(void)state;
	assert_int_equal(vj_sockfile_listen(path, (uid_t)-1, (gid_t)-1, &rd, &fd, &e), 0);
	close(fd);
	undo_all();
	assert_int_equal(access(path, F_OK), -1);
}

static void a_socket_that_replaced_it_is_left_in_place(void **state)
{
	struct vj_err e;
	int fd = -1;

	(void)state;
	assert_int_equal(vj_sockfile_listen(path, (uid_t)-1, (gid_t)-1, &rd, &fd, &e), 0);
	close(fd);
	assert_int_equal(unlink(path), 0);
	other_socket(path, false);
	undo_all();
	assert_int_equal(access(path, F_OK), 0);
}

/* Someone made it theirs (or anyone's): it is no longer the file made. */
static void a_socket_whose_mode_was_changed_is_left_in_place(void **state)
{
	struct vj_err e;
	int fd = -1;

	(void)state;
	assert_int_equal(vj_sockfile_listen(path, (uid_t)-1, (gid_t)-1, &rd, &fd, &e), 0);
	close(fd);
	assert_int_equal(chmod(path, 0666), 0);
	undo_all();
	assert_int_equal(access(path, F_OK), 0);
}

/* Killed after the bind, before the rename: the temporary socket goes,
 * and the path, which the launcher never reached, stays. */
static void a_launcher_killed_before_the_rename_leaves_only_its_temporary_socket(void **state)
{
	char tmp[128], value[256], names[256];

	(void)state;
	snprintf(tmp, sizeof(tmp), "%s/.vmjail-0123456789abcdef", sockdir);
	other_socket(tmp, false);
	other_socket(path, false);
	snprintf(value, sizeof(value), "- .vmjail-0123456789abcdef %s", path);
	record(value);
	undo_all();
	dir_names(names, sizeof(names));
	assert_string_equal(names, "v.sock ");
}

/* Killed between the rename and the record of what it renamed: the
 * socket at the path may be vmjail's, or not; it is kept. */
static void a_socket_it_cannot_prove_its_own_is_kept(void **state)
{
	char value[256];

	(void)state;
	other_socket(path, false);
	snprintf(value, sizeof(value), "- .vmjail-0123456789abcdef %s", path);
	record(value);
	undo_all();
	assert_int_equal(access(path, F_OK), 0);
}

static void a_malformed_record_is_an_error(void **state)
{
	struct vj_err e;

	(void)state;
	assert_int_equal(vj_sockfile_remove_recorded(path, &e), -EINVAL);
	assert_int_equal(vj_sockfile_remove_recorded("- /etc/passwd", &e), -EINVAL);
	assert_int_equal(vj_sockfile_remove_recorded("- passwd /etc/x", &e), -EINVAL);
	assert_int_equal(vj_sockfile_remove_recorded("1:2 /etc/x", &e), -EINVAL);
}

/* The directory is reached as every path of a policy: no symbolic link. */
static void a_path_through_a_symbolic_link_is_refused(void **state)
{
	char link[128], via[160];
	struct vj_err e;
	int fd = -1;

	(void)state;
	snprintf(link, sizeof(link), "%s/link", base);
	snprintf(via, sizeof(via), "%s/v.sock", link);
	assert_int_equal(symlink(sockdir, link), 0);
	assert_int_equal(vj_sockfile_listen(via, (uid_t)-1, (gid_t)-1, &rd, &fd, &e), -ELOOP);
	assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(the_socket_listens_at_its_path_with_mode_0600_whatever_the_umask),
		T(it_is_given_to_the_ids_asked_for),
		T(nothing_is_left_under_a_temporary_name),
		T(its_record_names_the_socket_by_device_inode_and_change_time),
		T(a_path_that_exists_is_refused_and_left_as_it_was),
		T(the_record_removes_the_socket_it_made),
		T(a_socket_that_replaced_it_is_left_in_place),
		T(a_socket_whose_mode_was_changed_is_left_in_place),
		T(a_launcher_killed_before_the_rename_leaves_only_its_temporary_socket),
		T(a_socket_it_cannot_prove_its_own_is_kept),
		T(a_malformed_record_is_an_error),
		T(a_path_through_a_symbolic_link_is_refused),
	};
#undef T
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
