/*
 * The host-side openers shared by the launcher and a standalone VMM
 * (common/host_open.c): what each refuses, in both modes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "host_open.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/vj-open-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_in_dir(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static void make_file(const char *name)
{
	char p[128];
	int fd;

	path_in_dir(p, sizeof(p), name);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "image", 5), 5);
	close(fd);
}

static struct vj_drive_config drive(const char *name, bool read_only)
{
	struct vj_drive_config d = { .read_only = read_only };

	path_in_dir(d.file.name, sizeof(d.file.name), name);
	snprintf(d.id, sizeof(d.id), "root");
	d.file.fd = -1;
	return d;
}

static const enum vj_open_mode modes[] = { VJ_OPEN_OWN_PATH, VJ_OPEN_TENANT_PATH };

static void a_file_opens_blocking_and_close_on_exec(void **state)
{
	struct vj_file f = { .fd = -1 };
	struct vj_err e;

	(void)state;
	make_file("vmlinux");
	path_in_dir(f.name, sizeof(f.name), "vmlinux");
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(vj_open_file(&f, "kernel", O_RDONLY, VJ_FILE_REGULAR, modes[i], &e), 0);
		assert_false(fcntl(f.fd, F_GETFL) & O_NONBLOCK);
		assert_true(fcntl(f.fd, F_GETFD) & FD_CLOEXEC);
		close(f.fd);
		f.fd = -1;
	}
}

static void a_fifo_in_place_of_an_image_is_refused_without_hanging(void **state)
{
	struct vj_drive_config d = drive("fifo", true);
	struct vj_err e;

	(void)state;
	assert_int_equal(mkfifo(d.file.name, 0600), 0);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(vj_open_drive(&d, 0, modes[i], &e), -EINVAL);
		assert_non_null(strstr(e.msg, "not a regular file or block device"));
		assert_int_equal(d.file.fd, -1);
	}
}

static void a_kernel_that_is_a_device_or_directory_is_refused(void **state)
{
	struct vj_file f = { .name = "/dev/null", .fd = -1 };
	struct vj_err e;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(vj_open_file(&f, "kernel", O_RDONLY, VJ_FILE_REGULAR, modes[i], &e),
				 -EINVAL);
		assert_string_equal(e.msg, "open kernel (/dev/null): not a regular file");
	}
	snprintf(f.name, sizeof(f.name), "%s", dir);
	assert_int_equal(vj_open_file(&f, "kernel", O_RDONLY, VJ_FILE_REGULAR, VJ_OPEN_OWN_PATH, &e),
			 -EINVAL);
}

static void a_symbolic_link_is_followed_only_on_the_users_own_paths(void **state)
{
	struct vj_drive_config d = drive("link", true);
	struct vj_err e;
	char want[VJ_PATH_MAX + 128];

	(void)state;
	make_file("image");
	assert_int_equal(symlink("image", d.file.name), 0);
	assert_int_equal(vj_open_drive(&d, 0, VJ_OPEN_OWN_PATH, &e), 0);
	close(d.file.fd);
	d.file.fd = -1;
	assert_int_equal(vj_open_drive(&d, 0, VJ_OPEN_TENANT_PATH, &e), -ELOOP);
	snprintf(want, sizeof(want),
		 "open drive \"root\" (%s): the path contains a symbolic link (refused)", d.file.name);
	assert_string_equal(e.msg, want);
}

static void a_missing_drive_is_named_by_its_index_without_an_id(void **state)
{
	struct vj_drive_config d = drive("missing", false);
	struct vj_err e;
	char want[VJ_PATH_MAX + 128];

	(void)state;
	d.id[0] = '\0';
	assert_int_equal(vj_open_drive(&d, 2, VJ_OPEN_OWN_PATH, &e), -ENOENT);
	snprintf(want, sizeof(want), "open drive 2 (%s): No such file or directory", d.file.name);
	assert_string_equal(e.msg, want);
}

static void a_writable_drive_is_one_vmms_alone_in_either_mode(void **state)
{
	struct vj_drive_config rw = drive("image", false), rw2 = drive("image", false);
	struct vj_drive_config ro = drive("image", true), ro2 = drive("image", true);
	struct vj_err e;

	(void)state;
	make_file("image");
	assert_int_equal(vj_open_drive(&rw, 0, VJ_OPEN_TENANT_PATH, &e), 0);
	assert_int_equal(vj_open_drive(&rw2, 0, VJ_OPEN_OWN_PATH, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "in use by another sandbox"));
	assert_int_equal(rw2.file.fd, -1);
	assert_int_equal(vj_open_drive(&ro, 0, VJ_OPEN_OWN_PATH, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "in use by another sandbox that writes to it"));
	close(rw.file.fd);
	/* Readers share. */
	assert_int_equal(vj_open_drive(&ro, 0, VJ_OPEN_OWN_PATH, &e), 0);
	assert_int_equal(vj_open_drive(&ro2, 0, VJ_OPEN_TENANT_PATH, &e), 0);
	close(ro.file.fd);
	close(ro2.file.fd);
}

static void a_tap_name_the_kernel_would_complete_is_refused(void **state)
{
	static const char *bad[] = { "", "tap%d", "a/b", "a b", "a:1", "0123456789abcdef" };
	struct vj_file f = { .fd = -1 };
	struct vj_err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(f.name, sizeof(f.name), "%s", bad[i]);
		assert_int_equal(vj_tap_name_check(f.name, &e), -EINVAL);
		assert_int_equal(vj_open_tap(&f, false, &e), -EINVAL);
		assert_int_equal(f.fd, -1);
	}
	assert_string_equal(e.msg, "tap \"0123456789abcdef\": name longer than 15 bytes");
	assert_int_equal(vj_tap_name_check("vj-tap0", &e), 0);
	assert_int_equal(vj_tap_name_check("0123456789abcde", &e), 0);
}

/* A migration's destination opens the source's writable image while the
 * source still holds its lock, and takes the lock at the handover. */
static void an_incoming_writable_drive_is_locked_only_at_the_handover(void **state)
{
	struct vj_drive_config src = drive("image", false), dst = drive("image", false);
	struct vj_drive_config ro = drive("image", true), ro2 = drive("image", true);
	struct vj_err e;

	(void)state;
	make_file("image");
	assert_int_equal(vj_open_drive(&src, 0, VJ_OPEN_OWN_PATH, &e), 0);
	assert_int_equal(vj_open_drive_incoming(&dst, 1, VJ_OPEN_TENANT_PATH, &e), 0);
	assert_true(dst.file.fd >= 0);
	assert_int_equal(vj_lock_drive(&dst, 1, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "in use by another sandbox"));
	assert_int_equal(flock(src.file.fd, LOCK_UN), 0);
	assert_int_equal(vj_lock_drive(&dst, 1, &e), 0);
	/* Held now: the source cannot take it back, and taking it again on
	 * the same descriptor is no change. */
	assert_int_equal(vj_lock_drive(&src, 0, &e), -EBUSY);
	assert_int_equal(vj_lock_drive(&dst, 1, &e), 0);
	close(src.file.fd);
	close(dst.file.fd);
	/* Read-only drives are locked at once, shared, as always. */
	assert_int_equal(vj_open_drive_incoming(&ro, 0, VJ_OPEN_OWN_PATH, &e), 0);
	assert_int_equal(vj_open_drive(&src, 0, VJ_OPEN_OWN_PATH, &e), -EBUSY);
	assert_int_equal(vj_open_drive_incoming(&ro2, 0, VJ_OPEN_OWN_PATH, &e), 0);
	close(ro.file.fd);
	close(ro2.file.fd);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(a_file_opens_blocking_and_close_on_exec),
		T(a_fifo_in_place_of_an_image_is_refused_without_hanging),
		T(a_kernel_that_is_a_device_or_directory_is_refused),
		T(a_symbolic_link_is_followed_only_on_the_users_own_paths),
		T(a_missing_drive_is_named_by_its_index_without_an_id),
		T(a_writable_drive_is_one_vmms_alone_in_either_mode),
		T(an_incoming_writable_drive_is_locked_only_at_the_handover),
		T(a_tap_name_the_kernel_would_complete_is_refused),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
