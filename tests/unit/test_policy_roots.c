/* Confinement of policy paths to the operator's roots, and the making of
 * canonical roots from the host file. */
#include "test_policy_util.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "policy/roots.h"

static char dirs[2][VJ_PATH_MAX];

static struct vj_roots roots(enum vj_root_kind kind, const char *a, const char *b)
{
	static const char *const what[] = { "kernel", "image", "socket" };
	unsigned n = 0;

	if (a)
		snprintf(dirs[n++], VJ_PATH_MAX, "%s/%s", tp.dir, a);
	if (b)
		snprintf(dirs[n++], VJ_PATH_MAX, "%s/%s", tp.dir, b);
	return (struct vj_roots){ what[kind], kind, n, (const char (*)[VJ_PATH_MAX])dirs };
}

static int resolve(struct vj_roots r, const char *name, char *out, struct vj_err *err)
{
	return vj_roots_resolve(&r, name, out, err);
}

static void absolute_path_inside_a_root_is_accepted(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	assert_int_equal(resolve(roots(VJ_ROOT_IMAGE, "images", NULL), tp_path("images/root.ext4"),
				 out, &err), 0);
	assert_string_equal(out, tp_path("images/root.ext4"));
}

static void relative_path_takes_the_first_root_that_has_it(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	tp_touch("second/root.ext4");
	tp_touch("second/only-here.ext4");
	assert_int_equal(resolve(roots(VJ_ROOT_IMAGE, "images", "second"), "root.ext4", out, &err), 0);
	assert_string_equal(out, tp_path("images/root.ext4"));
	assert_int_equal(resolve(roots(VJ_ROOT_IMAGE, "images", "second"), "only-here.ext4", out, &err), 0);
	assert_string_equal(out, tp_path("second/only-here.ext4"));
}

static void sibling_with_a_common_prefix_is_outside(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	tp_touch("images2/x.ext4");
	assert_int_equal(resolve(roots(VJ_ROOT_IMAGE, "images", NULL), tp_path("images2/x.ext4"), out,
				 &err), -EACCES);
	assert_string_equal(err.msg, tp_fmt("%s/images2/x.ext4 is outside the allowed image roots "
					"(%s/images)", tp.dir, tp.dir));
}

static void the_root_itself_is_not_a_file_beneath_it(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	assert_int_equal(resolve(roots(VJ_ROOT_IMAGE, "images", NULL), ".", out, &err), -EACCES);
}

static void symlink_inside_the_root_to_a_file_inside_is_accepted(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	assert_int_equal(symlink("root.ext4", tp_path("images/alias.ext4")), 0);
	assert_int_equal(resolve(roots(VJ_ROOT_IMAGE, "images", NULL), "alias.ext4", out, &err), 0);
	assert_string_equal(out, tp_path("images/root.ext4"));
	unlink(tp_path("images/alias.ext4"));
}

static void symlinked_directory_leading_outside_is_refused(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	assert_int_equal(symlink("/etc", tp_path("images/etc")), 0);
	assert_int_equal(resolve(roots(VJ_ROOT_IMAGE, "images", NULL), "etc/passwd", out, &err), -EACCES);
	assert_string_equal(err.msg, tp_fmt("etc/passwd (resolves to /etc/passwd) is outside the allowed "
					"image roots (%s/images)", tp.dir));
	unlink(tp_path("images/etc"));
}

static void no_roots_configured_refuses_everything(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	assert_int_equal(resolve(roots(VJ_ROOT_KERNEL, NULL, NULL), "/etc/passwd", out, &err), -EACCES);
	assert_string_equal(err.msg, "no kernel roots are configured on this host");
}

static void missing_root_admits_nothing(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	assert_int_equal(resolve(roots(VJ_ROOT_KERNEL, "absent", NULL), "vmlinux", out, &err), -ENOENT);
	assert_string_equal(err.msg, tp_fmt("vmlinux: not found under the kernel roots (%s/absent)", tp.dir));
}

static void block_devices_are_images_but_not_kernels(void **state)
{
	static char dev[1][VJ_PATH_MAX] = { "/dev" };
	struct vj_roots image = { "image", VJ_ROOT_IMAGE, 1, (const char (*)[VJ_PATH_MAX])dev };
	struct vj_roots kernel = { "kernel", VJ_ROOT_KERNEL, 1, (const char (*)[VJ_PATH_MAX])dev };
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	if (access("/dev/loop0", F_OK) != 0)
		skip();
	assert_int_equal(vj_roots_resolve(&image, "loop0", out, &err), 0);
	assert_int_equal(vj_roots_resolve(&kernel, "loop0", out, &err), -EINVAL);
	assert_string_equal(err.msg, "/dev/loop0: expected a regular file");
}

static void image_must_be_a_file_or_block_device(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	tp_touch("images/dir/keep");
	assert_int_equal(resolve(roots(VJ_ROOT_IMAGE, "images", NULL), "dir", out, &err), -EINVAL);
	assert_string_equal(err.msg, tp_fmt("%s/images/dir: expected a regular file or a block device",
					tp.dir));
}

static void name_too_long_under_a_root_is_refused(void **state)
{
	char out[VJ_PATH_MAX], name[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	memset(name, 'n', VJ_PATH_MAX - 2);
	name[VJ_PATH_MAX - 2] = '\0';
	assert_int_equal(resolve(roots(VJ_ROOT_IMAGE, "images", NULL), name, out, &err), -ENAMETOOLONG);
	assert_non_null(strstr(err.msg, ": path longer than 511 bytes"));
}

static void socket_path_needs_an_existing_directory(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	assert_int_equal(resolve(roots(VJ_ROOT_SOCKET, "sockets", NULL), "sub/v.sock", out, &err), -ENOENT);
	assert_string_equal(err.msg, tp_fmt("sub: not found under the socket roots (%s/sockets)", tp.dir));
	tp_touch("sockets/sub/keep");
	assert_int_equal(resolve(roots(VJ_ROOT_SOCKET, "sockets", NULL), "sub/v.sock", out, &err), 0);
	assert_string_equal(out, tp_path("sockets/sub/v.sock"));
}

static void socket_path_must_name_a_file(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	assert_int_equal(resolve(roots(VJ_ROOT_SOCKET, "sockets", NULL), "sub/..", out, &err), -EINVAL);
	assert_string_equal(err.msg, "sub/..: expected a socket file name at the end");
	assert_int_equal(resolve(roots(VJ_ROOT_SOCKET, "sockets", NULL), "sub/", out, &err), -EINVAL);
}

static void existing_socket_may_be_reused(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char out[VJ_PATH_MAX];
	struct vj_err err;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", tp_path("sockets/live.sock"));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(resolve(roots(VJ_ROOT_SOCKET, "sockets", NULL), "live.sock", out, &err), 0);
	close(fd);
	unlink(tp_path("sockets/live.sock"));
}

static void socket_symlink_is_not_a_socket(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	assert_int_equal(symlink("/etc/passwd", tp_path("sockets/trap.sock")), 0);
	assert_int_equal(resolve(roots(VJ_ROOT_SOCKET, "sockets", NULL), "trap.sock", out, &err), -EEXIST);
	assert_string_equal(err.msg, tp_fmt("%s/sockets/trap.sock exists and is not a socket", tp.dir));
	unlink(tp_path("sockets/trap.sock"));
}

static void socket_path_is_limited_in_length(void **state)
{
	char out[VJ_PATH_MAX], name[128];
	struct vj_err err;

	(void)state;
	memset(name, 's', 100);
	name[100] = '\0';
	assert_int_equal(resolve(roots(VJ_ROOT_SOCKET, "sockets", NULL), name, out, &err), -ENAMETOOLONG);
	assert_non_null(strstr(err.msg, ": expected a socket path of at most 96 bytes, found "));
}

static void canonical_root_resolves_symlinks_and_dotdot(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	assert_int_equal(symlink("images", tp_path("img-link")), 0);
	assert_int_equal(vj_root_canonical(tp_path("kernels/../img-link/"), out, &err), 0);
	assert_string_equal(out, tp_path("images"));
	unlink(tp_path("img-link"));
}

static void canonical_root_may_not_exist_yet(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	assert_int_equal(vj_root_canonical(tp_path("kernels/../build//guest"), out, &err), 0);
	assert_string_equal(out, tp_path("build/guest"));
}

static void canonical_root_refuses_dotdot_after_a_missing_part(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	assert_int_equal(vj_root_canonical(tp_path("absent/../images"), out, &err), -ENOENT);
	assert_string_equal(err.msg, tp_fmt("%s/absent/../images: No such file or directory", tp.dir));
}

static void canonical_root_must_be_a_directory(void **state)
{
	char out[VJ_PATH_MAX];
	struct vj_err err;

	(void)state;
	assert_int_equal(vj_root_canonical(tp_path("outside.txt"), out, &err), -ENOTDIR);
	assert_string_equal(err.msg, tp_fmt("%s/outside.txt: not a directory", tp.dir));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(absolute_path_inside_a_root_is_accepted),
		cmocka_unit_test(relative_path_takes_the_first_root_that_has_it),
		cmocka_unit_test(sibling_with_a_common_prefix_is_outside),
		cmocka_unit_test(the_root_itself_is_not_a_file_beneath_it),
		cmocka_unit_test(symlink_inside_the_root_to_a_file_inside_is_accepted),
		cmocka_unit_test(symlinked_directory_leading_outside_is_refused),
		cmocka_unit_test(no_roots_configured_refuses_everything),
		cmocka_unit_test(missing_root_admits_nothing),
		cmocka_unit_test(block_devices_are_images_but_not_kernels),
		cmocka_unit_test(image_must_be_a_file_or_block_device),
		cmocka_unit_test(name_too_long_under_a_root_is_refused),
		cmocka_unit_test(socket_path_needs_an_existing_directory),
		cmocka_unit_test(socket_path_must_name_a_file),
		cmocka_unit_test(existing_socket_may_be_reused),
		cmocka_unit_test(socket_symlink_is_not_a_socket),
		cmocka_unit_test(socket_path_is_limited_in_length),
		cmocka_unit_test(canonical_root_resolves_symlinks_and_dotdot),
		cmocka_unit_test(canonical_root_may_not_exist_yet),
		cmocka_unit_test(canonical_root_refuses_dotdot_after_a_missing_part),
		cmocka_unit_test(canonical_root_must_be_a_directory),
	};

	vj_unit_filter();
	return cmocka_run_group_tests(tests, tp_setup, tp_teardown);
}
