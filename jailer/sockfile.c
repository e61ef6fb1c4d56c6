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

static int place(const struct vj_sock_dir *d, const char *path, uid_t uid, gid_t gid,
		 struct vj_rundir *rd, int *out, struct vj_err *e)
{
	char tmp[VJ_SOCKFILE_TMP_MAX], pending[VJ_RUNDIR_LINE_MAX], placed[VJ_RUNDIR_LINE_MAX];
	cleanup_fd int fd = -1, file = -1;
	struct identity id;
	struct stat st;
	int r;

	/* For the message; the rename below is what refuses it for certain. */
	if (fstatat(AT_FDCWD, d->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return taken(path, &st, e);
	if ((r = vj_sockfile_temp_name(tmp)) < 0)
		return vj_fail_errno(e, r, "vsock socket (%s): getrandom", path);
	if ((size_t)snprintf(pending, sizeof(pending), "- %s %s", tmp, path) >= sizeof(pending))
		return vj_fail(e, -ENAMETOOLONG, "vsock socket (%s): path too long", path);
	if ((r = vj_rundir_record(rd, "socket", pending)) < 0)
		return vj_fail_errno(e, r, "record vsock socket in %s", rd->path);
	if ((r = vj_sockfile_make_under(tmp, path, uid, gid, &fd, &file, e)) < 0)
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
	struct vj_sock_dir d;
	int r;

	if ((r = vj_sock_dir_enter(&d, path, VJ_OPEN_TENANT_PATH)) < 0)
		return vj_fail_errno(e, r, "vsock socket (%s): its directory", path);
	r = place(&d, path, uid, gid, rd, fd, e);
	vj_sock_dir_leave(&d);
	return r;
}

/* The path, with tmp or id filled in from the record; NULL if malformed. */
static const char *parse_record(const char *v, char tmp[VJ_SOCKFILE_TMP_MAX], struct identity *id)
{
	const char *sp = strchr(v, ' '), *end;
	int n = -1;

	tmp[0] = '\0';
	if (!sp || !sp[1])
		return NULL;
	if (sp == v + 1 && v[0] == '-') {
		end = strchr(sp + 1, ' ');
		if (!end || !end[1] || (size_t)(end - sp - 1) >= VJ_SOCKFILE_TMP_MAX ||
		    strncmp(sp + 1, VJ_SOCKFILE_TMP_PREFIX, strlen(VJ_SOCKFILE_TMP_PREFIX)))
			return NULL;
		snprintf(tmp, VJ_SOCKFILE_TMP_MAX, "%.*s", (int)(end - sp - 1), sp + 1);
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
static int remove_pending(const struct vj_sock_dir *d, const char *path, const char *tmp,
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

static int remove_placed(const struct vj_sock_dir *d, const char *path, const struct identity *id,
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
	char tmp[VJ_SOCKFILE_TMP_MAX];
	struct identity id;
	const char *path = parse_record(value, tmp, &id);
	struct vj_sock_dir d;
	int r;

	if (!path)
		return vj_fail(e, -EINVAL, "state record \"socket %s\": malformed", value);
	r = vj_sock_dir_enter(&d, path, VJ_OPEN_TENANT_PATH);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return vj_fail_errno(e, r, "vsock socket (%s): its directory", path);
	r = tmp[0] ? remove_pending(&d, path, tmp, e) : remove_placed(&d, path, &id, e);
	vj_sock_dir_leave(&d);
	return r;
}
