#include "sockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "parse.h"
#include "resources.h"

#define BACKLOG 64
#define TMP_PREFIX ".vmjail-"
#define TMP_NAME_MAX 32

/*
 * A "socket" record's value is
 *	- TMP PATH		from before the bind until the socket is in place
 *				(TMP: its temporary name in PATH's directory)
 *	DEV:INO:SEC.NSEC PATH	once it is: its device, inode and change time
 * The second is written before the first is withdrawn, so that a SIGKILL
 * anywhere leaves what it takes to undo.
 */
struct identity {
	unsigned long long dev, ino;
	long long sec;
	long nsec;
};

static void identity_of(const struct stat *st, struct identity *id)
{
	*id = (struct identity){ st->st_dev, st->st_ino, st->st_ctim.tv_sec, st->st_ctim.tv_nsec };
}

/* An inode number comes back for a new file once the old one is gone;
 * the change time tells them apart. */
static bool same_identity(const struct identity *a, const struct identity *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->sec == b->sec && a->nsec == b->nsec;
}

/* Socket files live in directories a tenant's policy names, and AF_UNIX
 * addresses are paths the kernel resolves itself: every operation on
 * them runs from inside their directory, opened without following
 * symbolic links, on the last component alone. */
struct sock_dir {
	int dirfd, saved_cwd;
	char name[VJ_PATH_MAX];
};

static int sock_dir_enter(struct sock_dir *d, const char *path)
{
	char dir[VJ_PATH_MAX];
	int r;

	d->dirfd = d->saved_cwd = -1;
	if (vj_strlcpy_checked(dir, path, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	snprintf(d->name, sizeof(d->name), "%s", basename(dir));
	snprintf(dir, sizeof(dir), "%s", path);
	d->dirfd = vj_open_tenant_path(dirname(dir), O_RDONLY | O_DIRECTORY, 0);
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

static void sock_dir_leave(struct sock_dir *d)
{
	if (d->saved_cwd >= 0)
		(void)!fchdir(d->saved_cwd);
	vj_closep(&d->saved_cwd);
	vj_closep(&d->dirfd);
}

static const char *kind_of(mode_t m)
{
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISDIR(m))
		return "a directory";
	return "a file";
}

static int taken(const char *path, const struct stat *st, struct vj_err *e)
{
	return vj_fail(e, -EEXIST,
		       "vsock socket (%s): exists (%s of uid %u) and this sandbox did not make it; "
		       "remove it or name another path",
		       path, kind_of(st->st_mode), (unsigned)st->st_uid);
}

/* Unguessable until the bind shows it: nobody can have made it first. */
static int temp_name(char out[TMP_NAME_MAX])
{
	uint64_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -errno;
	snprintf(out, TMP_NAME_MAX, TMP_PREFIX "%016llx", (unsigned long long)r);
	return 0;
}

/* Bound and listening under tmp, with its mode and owner, before it
 * appears at its name: *sock gets the listening socket, *file an O_PATH
 * descriptor of the socket file. */
static int make_under(const char *tmp, const char *path, uid_t uid, gid_t gid, int *sock,
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
	/* Its mode from the start, whatever the launcher's umask: the kernel
	 * applies the umask to 0777 at bind(). */
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

static int place(const struct sock_dir *d, const char *path, uid_t uid, gid_t gid,
		 struct vj_rundir *rd, int *out, struct vj_err *e)
{
	char tmp[TMP_NAME_MAX], pending[VJ_RUNDIR_LINE_MAX], placed[VJ_RUNDIR_LINE_MAX];
	cleanup_fd int fd = -1, file = -1;
	struct identity id;
	struct stat st;
	int r;

	/* For the message; the rename below is what refuses it for certain. */
	if (fstatat(AT_FDCWD, d->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return taken(path, &st, e);
	if ((r = temp_name(tmp)) < 0)
		return vj_fail_errno(e, r, "vsock socket (%s): getrandom", path);
	if ((size_t)snprintf(pending, sizeof(pending), "- %s %s", tmp, path) >= sizeof(pending))
		return vj_fail(e, -ENAMETOOLONG, "vsock socket (%s): path too long", path);
	if ((r = vj_rundir_record(rd, "socket", pending)) < 0)
		return vj_fail_errno(e, r, "record vsock socket in %s", rd->path);
	if ((r = make_under(tmp, path, uid, gid, &fd, &file, e)) < 0)
		return r;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, d->name, RENAME_NOREPLACE) < 0) {
		if (errno == EEXIST && fstatat(AT_FDCWD, d->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return taken(path, &st, e);
		return vj_fail_errno(e, -errno, "vsock socket (%s): rename %s into place", path, tmp);
	}
	/* After the rename, which changes it. */
	if (fstat(file, &st) < 0)
		return vj_fail_errno(e, -errno, "vsock socket (%s): stat", path);
	identity_of(&st, &id);
	if ((size_t)snprintf(placed, sizeof(placed), "%llu:%llu:%lld.%09ld %s", id.dev, id.ino,
			     id.sec, id.nsec, path) >= sizeof(placed))
		return vj_fail(e, -ENAMETOOLONG, "vsock socket (%s): path too long", path);
	if ((r = vj_rundir_record(rd, "socket", placed)) < 0 ||
	    (r = vj_rundir_withdraw(rd, "socket", pending)) < 0)
		return vj_fail_errno(e, r, "record vsock socket in %s", rd->path);
	*out = vj_steal_fd(&fd);
	return 0;
}

int vj_sockfile_listen(const char *path, uid_t uid, gid_t gid, struct vj_rundir *rd, int *fd,
		       struct vj_err *e)
{
	struct sock_dir d;
	int r;

	if ((r = sock_dir_enter(&d, path)) < 0)
		return vj_fail_errno(e, r, "vsock socket (%s): its directory", path);
	r = place(&d, path, uid, gid, rd, fd, e);
	sock_dir_leave(&d);
	return r;
}

/* The path, with tmp or id filled in from the record; NULL if malformed. */
static const char *parse_record(const char *v, char tmp[TMP_NAME_MAX], struct identity *id)
{
	const char *sp = strchr(v, ' '), *end;
	int n = -1;

	tmp[0] = '\0';
	if (!sp || !sp[1])
		return NULL;
	if (sp == v + 1 && v[0] == '-') {
		end = strchr(sp + 1, ' ');
		if (!end || !end[1] || (size_t)(end - sp - 1) >= TMP_NAME_MAX ||
		    strncmp(sp + 1, TMP_PREFIX, strlen(TMP_PREFIX)))
			return NULL;
		snprintf(tmp, TMP_NAME_MAX, "%.*s", (int)(end - sp - 1), sp + 1);
		return end + 1;
	}
	if (sscanf(v, "%llu:%llu:%lld.%ld%n", &id->dev, &id->ino, &id->sec, &id->nsec, &n) != 4 ||
	    v + n != sp)
		return NULL;
	return sp + 1;
}

/*
 * A launcher died between its record and the socket's rename. Its
 * temporary name is its own; once that is gone, whether the rename
 * happened (and the socket at the path is vmjail's) cannot be told.
 */
static int remove_pending(const struct sock_dir *d, const char *path, const char *tmp,
			  struct vj_err *e)
{
	struct stat st;

	if (fstatat(AT_FDCWD, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISSOCK(st.st_mode) && unlinkat(AT_FDCWD, tmp, 0) < 0 && errno != ENOENT)
			return vj_fail_errno(e, -errno, "remove vsock socket %s (as %s)", path, tmp);
		return 0;
	}
	if (errno != ENOENT)
		return vj_fail_errno(e, -errno, "stat vsock socket %s (as %s)", path, tmp);
	if (fstatat(AT_FDCWD, d->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		vj_warn("vsock socket %s: a launcher was killed while putting it in place, so it "
			"may not be vmjail's; it is left there (remove it if nothing uses it)",
			path);
	return 0;
}

static int remove_placed(const struct sock_dir *d, const char *path, const struct identity *id,
			 struct vj_err *e)
{
	struct identity now;
	struct stat st;

	if (fstatat(AT_FDCWD, d->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : vj_fail_errno(e, -errno, "stat vsock socket %s", path);
	identity_of(&st, &now);
	if (!S_ISSOCK(st.st_mode) || !same_identity(&now, id)) {
		vj_warn("vsock socket %s: no longer the socket vmjail made (replaced, or its owner "
			"or mode changed); it is left there",
			path);
		return 0;
	}
	if (unlinkat(AT_FDCWD, d->name, 0) < 0 && errno != ENOENT)
		return vj_fail_errno(e, -errno, "remove vsock socket %s", path);
	return 0;
}

int vj_sockfile_remove_recorded(const char *value, struct vj_err *e)
{
	char tmp[TMP_NAME_MAX];
	struct identity id;
	const char *path = parse_record(value, tmp, &id);
	struct sock_dir d;
	int r;

	if (!path)
		return vj_fail(e, -EINVAL, "state record \"socket %s\": malformed", value);
	r = sock_dir_enter(&d, path);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return vj_fail_errno(e, r, "vsock socket (%s): its directory", path);
	r = tmp[0] ? remove_pending(&d, path, tmp, e) : remove_placed(&d, path, &id, e);
	sock_dir_leave(&d);
	return r;
}
