#include "socket_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "parse.h"

#define BACKLOG 64

int vj_sock_dir_enter(struct vj_sock_dir *d, const char *path, enum vj_open_mode how)
{
	char dir[VJ_PATH_MAX];
	int r;

	d->dirfd = d->saved_cwd = -1;
	if (vj_strlcpy_checked(dir, path, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	snprintf(d->name, sizeof(d->name), "%s", basename(dir));
	snprintf(dir, sizeof(dir), "%s", path);
	if (how == VJ_OPEN_TENANT_PATH)
		d->dirfd = vj_open_tenant_path(dirname(dir), O_RDONLY | O_DIRECTORY, 0);
	else if ((d->dirfd = open(dirname(dir), O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		d->dirfd = -errno;
	if (d->dirfd < 0)
		return d->dirfd;
	d->saved_cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d->saved_cwd < 0 || fchdir(d->dirfd) < 0) {
		r = -errno;
		vj_closep(&d->dirfd);
		vj_closep(&d->saved_cwd);
		return r;
	}
	return 0;
}

void vj_sock_dir_leave(struct vj_sock_dir *d)
{
	if (d->saved_cwd >= 0)
		(void)!fchdir(d->saved_cwd);
	vj_closep(&d->saved_cwd);
	vj_closep(&d->dirfd);
}

int vj_sockfile_temp_name(char out[VJ_SOCKFILE_TMP_MAX])
{
	uint64_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -errno;
	snprintf(out, VJ_SOCKFILE_TMP_MAX, VJ_SOCKFILE_TMP_PREFIX "%016llx", (unsigned long long)r);
	return 0;
}

int vj_sockfile_make_under(const char *tmp, const char *path, uid_t uid, gid_t gid, int *sock,
			   int *file_out, struct vj_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_fd int fd = -1, file = -1;
	struct stat st;
	mode_t mask;
	int r;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", tmp);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return vj_fail_errno(e, -errno, "vsock socket (%s): socket", path);
	/* Its mode from the start, whatever the umask: the kernel applies
	 * the umask to 0777 at bind(). */
	mask = umask(0777 & ~VJ_SOCKFILE_MODE);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(mask);
	if (r < 0 || listen(fd, BACKLOG) < 0)
		return vj_fail_errno(e, -errno, "vsock socket (%s): bind %s", path, tmp);
	/* The owner goes to the file through a descriptor that is checked to
	 * be a socket: never to whatever someone put at the name meanwhile. */
	file = openat(AT_FDCWD, tmp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (file < 0 || fstat(file, &st) < 0)
		return vj_fail_errno(e, -errno, "vsock socket (%s): open %s", path, tmp);
	if (!S_ISSOCK(st.st_mode))
		return vj_fail(e, -EEXIST, "vsock socket (%s): %s was replaced", path, tmp);
	if (uid != (uid_t)-1 && fchownat(file, "", uid, gid, AT_EMPTY_PATH) < 0)
		return vj_fail_errno(e, -errno, "vsock socket (%s): give it to %u:%u", path,
				     (unsigned)uid, (unsigned)gid);
	*sock = vj_steal_fd(&fd);
	*file_out = vj_steal_fd(&file);
	return 0;
}

static int not_a_socket(const char *path, struct vj_err *e)
{
	return vj_fail(e, -EEXIST, "vsock socket (%s): exists and is not a socket", path);
}

/* Renames tmp to d->name; a socket there goes (once: a second one found
 * in its place is someone else's doing). */
static int rename_over_socket(const struct vj_sock_dir *d, const char *tmp, const char *path,
			      struct vj_err *e)
{
	struct stat st;

	for (int tries = 0;; tries++) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, d->name, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST || tries)
			return vj_fail_errno(e, -errno, "vsock socket (%s): rename %s into place",
					     path, tmp);
		if (fstatat(AT_FDCWD, d->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISSOCK(st.st_mode))
			return not_a_socket(path, e);
		if (unlinkat(AT_FDCWD, d->name, 0) < 0 && errno != ENOENT)
			return vj_fail_errno(e, -errno, "vsock socket (%s): remove the old socket",
					     path);
	}
}

static int place_own(const struct vj_sock_dir *d, const char *path, int *out, struct vj_err *e)
{
	char tmp[VJ_SOCKFILE_TMP_MAX];
	cleanup_fd int fd = -1, file = -1;
	struct stat st;
	int r;

	/* For the message; the rename is what decides. */
	if (fstatat(AT_FDCWD, d->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISSOCK(st.st_mode))
		return not_a_socket(path, e);
	if ((r = vj_sockfile_temp_name(tmp)) < 0)
		return vj_fail_errno(e, r, "vsock socket (%s): getrandom", path);
	if ((r = vj_sockfile_make_under(tmp, path, (uid_t)-1, (gid_t)-1, &fd, &file, e)) < 0)
		return r;
	if ((r = rename_over_socket(d, tmp, path, e)) < 0) {
		unlinkat(AT_FDCWD, tmp, 0);
		return r;
	}
	*out = vj_steal_fd(&fd);
	return 0;
}

int vj_sockfile_listen_own(const char *path, int *fd, struct vj_err *e)
{
	struct vj_sock_dir d;
	int r;

	if ((r = vj_sock_dir_enter(&d, path, VJ_OPEN_OWN_PATH)) < 0)
		return vj_fail_errno(e, r, "vsock socket (%s): its directory", path);
	r = place_own(&d, path, fd, e);
	vj_sock_dir_leave(&d);
	return r;
}
