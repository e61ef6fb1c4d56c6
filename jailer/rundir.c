#include "rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "parse.h"
#include "scalar.h"

#define STATE_MAX (64 * 1024)

/* Creates missing components of an absolute or relative path, 0700. */
static int mkdir_p(const char *path)
{
	char buf[VJ_PATH_MAX];

	if (vj_strlcpy_checked(buf, path, sizeof(buf)) < 0)
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static bool same_file(int dirfd, const char *name, int fd)
{
	struct stat a, b;

	if (fstatat(dirfd, name, &a, AT_SYMLINK_NOFOLLOW) < 0 || fstat(fd, &b) < 0)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* A detached sandbox that ended: its status stays, lock and state went. */
static bool retired(int dfd)
{
	return faccessat(dfd, VJ_RUNDIR_STATUS, F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
	       faccessat(dfd, "lock", F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
	       faccessat(dfd, "state", F_OK, AT_SYMLINK_NOFOLLOW) < 0;
}

/* How long a launcher waits for an earlier run of its id to finish its
 * teardown in the background (run.c): KVM's and the cgroup's part takes
 * well under a second; this bounds a stuck one. */
#define CLEANING_WAIT_MS 60000

/* The id's previous run has ended and its teardown goes on behind its
 * caller: its status file says "cleaning STATUS". */
static bool cleaning(int dfd)
{
	char buf[16] = "";
	cleanup_fd int fd = openat(dfd, VJ_RUNDIR_STATUS, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0)
		return false;
	return !strncmp(buf, "cleaning ", 9);
}

/* Takes lfd's lock once the teardown holding it lets go: 0, or
 * -EWOULDBLOCK when it still holds it after CLEANING_WAIT_MS. */
static int wait_cleaning(int lfd)
{
	long slept_us = 0, step_us = 500;

	while (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (slept_us >= CLEANING_WAIT_MS * 1000L)
			return -EWOULDBLOCK;
		nanosleep(&(struct timespec){ .tv_nsec = step_us * 1000 }, NULL);
		slept_us += step_us;
		if (step_us < 20000)
			step_us *= 2;
	}
	return 0;
}

/* 0, -EAGAIN when the directory went away under us (retry), or -errno. */
static int try_lock(int base, struct vj_rundir *rd, bool *stale, struct vj_err *e)
{
	cleanup_fd int dfd = -1;
	cleanup_fd int lfd = -1;

	/* Searchable by all: the sandbox's owner reaches its control socket
	 * and files there, each of which says for itself who may use it. */
	if (mkdirat(base, rd->id, 0711) < 0 && errno != EEXIST)
		return vj_fail_errno(e, -errno, "create run directory %s", rd->path);
	dfd = openat(base, rd->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? -EAGAIN
				       : vj_fail_errno(e, -errno, "open run directory %s", rd->path);
	if (retired(dfd))
		return vj_fail(e, -EEXIST, "sandbox id \"%s\": an exited sandbox of that id is kept "
			       "(vmjail rm %s)", rd->id, rd->id);
	lfd = openat(dfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lfd < 0)
		return errno == ENOENT ? -EAGAIN
				       : vj_fail_errno(e, -errno, "open %s/lock", rd->path);
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		int r = -errno;
		if (r == -EWOULDBLOCK && cleaning(dfd))
			r = wait_cleaning(lfd);
		if (r == -EWOULDBLOCK && cleaning(dfd))
			return vj_fail(e, -EBUSY, "sandbox id \"%s\": the teardown of its previous "
				       "run still holds %s/lock after %d s", rd->id, rd->path,
				       CLEANING_WAIT_MS / 1000);
		if (r == -EWOULDBLOCK)
			return vj_fail(e, -EBUSY, "sandbox id \"%s\" is in use (%s/lock is held)",
				       rd->id, rd->path);
		if (r < 0)
			return vj_fail_errno(e, r, "lock %s/lock", rd->path);
	}
	/* The previous holder removes the directory before it lets go of the
	 * lock: a lock taken on a file that is no longer there means nothing. */
	if (!same_file(base, rd->id, dfd) || !same_file(dfd, "lock", lfd))
		return -EAGAIN;
	*stale = faccessat(dfd, "state", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	rd->dirfd = vj_steal_fd(&dfd);
	rd->lockfd = vj_steal_fd(&lfd);
	return 0;
}

int vj_rundir_acquire(struct vj_rundir *rd, const char *run_dir, const char *id, bool *stale,
		      struct vj_err *e)
{
	cleanup_fd int base = -1;
	struct stat st;
	int r;

	rd->basefd = rd->dirfd = rd->lockfd = rd->statefd = -1;
	if (!vj_name_is_sandbox_id(id))
		return vj_fail(e, -EINVAL, "sandbox id \"%s\": use 1 to %d letters, digits or '-'",
			       id, VJ_ID_MAX);
	strcpy(rd->id, id);
	if (snprintf(rd->path, sizeof(rd->path), "%s/%s", run_dir, id) >= (int)sizeof(rd->path))
		return vj_fail(e, -ENAMETOOLONG, "run directory %s: path too long", run_dir);
	if ((r = mkdir_p(run_dir)) < 0)
		return vj_fail_errno(e, r, "create run directory %s", run_dir);
	base = open(run_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (base < 0)
		return vj_fail_errno(e, -errno, "open run directory %s", run_dir);
	/* Anyone else able to write here could swap a lock or a state file. */
	if (fstat(base, &st) < 0)
		return vj_fail_errno(e, -errno, "stat run directory %s", run_dir);
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return vj_fail(e, -EPERM,
			       "run directory %s: owned by uid %u or writable by others",
			       run_dir, (unsigned)st.st_uid);
	for (int attempt = 0; attempt < 16; attempt++) {
		r = try_lock(base, rd, stale, e);
		if (r == 0)
			rd->basefd = vj_steal_fd(&base);
		if (r != -EAGAIN)
			return r;
	}
	return vj_fail(e, -EAGAIN, "sandbox id \"%s\": run directory %s keeps changing", id,
		       rd->path);
}

int vj_rundir_record(struct vj_rundir *rd, const char *kind, const char *value)
{
	char line[VJ_RUNDIR_LINE_MAX];
	int n;

	if (strchr(value, '\n') || strchr(kind, ' '))
		return -EINVAL;
	n = snprintf(line, sizeof(line), "%s %s\n", kind, value);
	if (n < 0 || n >= (int)sizeof(line))
		return -ENAMETOOLONG;
	/* Kept open: a launcher records some ten things before its VMM
	 * runs, and opening the file for each was two system calls more. */
	if (rd->statefd < 0) {
		rd->statefd = openat(rd->dirfd, "state",
				     O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (rd->statefd < 0)
			return -errno;
	}
	/* One write per line: a SIGKILL never leaves half a record. */
	if (write(rd->statefd, line, (size_t)n) != n)
		return errno ? -errno : -EIO;
	return 0;
}

void vj_rundir_state_done(struct vj_rundir *rd)
{
	vj_closep(&rd->statefd);
	rd->statefd = -1;
}

int vj_rundir_withdraw(struct vj_rundir *rd, const char *kind, const char *value)
{
	cleanup_fd int in = openat(rd->dirfd, "state", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_fd int out = -1;
	cleanup_free char *buf = NULL;
	char line[VJ_RUNDIR_LINE_MAX];
	char *hit = NULL;
	size_t len;
	ssize_t n;

	if (in < 0)
		return -errno;
	if (!(buf = malloc(STATE_MAX + 1)))
		return -ENOMEM;
	if ((n = read(in, buf, STATE_MAX)) < 0)
		return -errno;
	buf[n] = '\0';
	len = (size_t)snprintf(line, sizeof(line), "%s %s\n", kind, value);
	if (len >= sizeof(line))
		return -ENAMETOOLONG;
	for (char *p = buf; (p = strstr(p, line)); p++)
		if (p == buf || p[-1] == '\n')
			hit = p;
	if (!hit)
		return -ENOENT;
	memmove(hit, hit + len, (size_t)n - (size_t)(hit - buf) - len + 1);
	n -= (ssize_t)len;
	if (unlinkat(rd->dirfd, "state.new", 0) < 0 && errno != ENOENT)
		return -errno;
	out = openat(rd->dirfd, "state.new", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     0600);
	if (out < 0)
		return -errno;
	if (write(out, buf, (size_t)n) != n)
		return errno ? -errno : -EIO;
	if (renameat(rd->dirfd, "state.new", rd->dirfd, "state") < 0)
		return -errno;
	/* The open one is the replaced file now: the next record opens the
	 * new one. */
	vj_rundir_state_done(rd);
	return 0;
}

int vj_rundir_state_foreach(struct vj_rundir *rd,
			    int (*fn)(void *ctx, const char *kind, const char *value), void *ctx)
{
	cleanup_fd int fd = openat(rd->dirfd, "state", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_free char *buf = NULL;
	char *save = NULL;
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	buf = malloc(STATE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	n = read(fd, buf, STATE_MAX);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		int r;
		if (!sp)
			continue; /* a torn line cannot happen; ignore rather than fail cleanup */
		*sp = '\0';
		r = fn(ctx, line, sp + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Everything of a sandbox's directory but its lock. The temporaries are
 * those of a launcher killed while it replaced a file. */
static const char *const files[] = {
	"state", "state.new", VJ_RUNDIR_CONTROL, "." VJ_RUNDIR_CONTROL ".tmp",
	VJ_RUNDIR_INFO, "." VJ_RUNDIR_INFO ".tmp", VJ_RUNDIR_STATUS, "." VJ_RUNDIR_STATUS ".tmp",
	VJ_RUNDIR_STDOUT, VJ_RUNDIR_STDERR,
};

/* What a retired directory keeps. */
static bool kept(const char *name)
{
	return !strcmp(name, VJ_RUNDIR_INFO) || !strcmp(name, VJ_RUNDIR_STATUS) ||
	       !strcmp(name, VJ_RUNDIR_STDOUT) || !strcmp(name, VJ_RUNDIR_STDERR);
}

static int remove_files(int dirfd, bool keep)
{
	int r = 0;

	for (size_t i = 0; i < VJ_ARRAY_SIZE(files); i++)
		if (!(keep && kept(files[i])) && unlinkat(dirfd, files[i], 0) < 0 && errno != ENOENT &&
		    !r)
			r = -errno;
	return r;
}

int vj_rundir_retire(struct vj_rundir *rd)
{
	int r;

	if (rd->dirfd < 0)
		return 0;
	r = remove_files(rd->dirfd, true);
	if (unlinkat(rd->dirfd, "lock", 0) < 0 && errno != ENOENT && !r)
		r = -errno;
	vj_rundir_close(rd);
	return r;
}

int vj_rundir_discard(const char *run_dir, const char *id, struct vj_err *e)
{
	cleanup_fd int base = -1;
	cleanup_fd int dfd = -1;

	if (!vj_name_is_sandbox_id(id))
		return vj_fail(e, -EINVAL, "\"%s\" is not a sandbox id", id);
	base = open(run_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (base < 0)
		return vj_fail_errno(e, -errno, "open run directory %s", run_dir);
	dfd = openat(base, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return vj_fail(e, -ENOENT, "sandbox %s: none in %s", id, run_dir);
	if (!retired(dfd))
		return vj_fail(e, -EBUSY, "sandbox %s: not an exited detached sandbox", id);
	(void)remove_files(dfd, false);
	if (unlinkat(base, id, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return vj_fail_errno(e, -errno, "remove %s/%s", run_dir, id);
	return 0;
}

int vj_rundir_release(struct vj_rundir *rd)
{
	int r;

	if (rd->dirfd < 0)
		return 0;
	r = remove_files(rd->dirfd, false);
	/* The lock file goes while it is still held; a launcher that opens
	 * the directory after this sees it vanish and starts over. */
	if (unlinkat(rd->dirfd, "lock", 0) < 0 && errno != ENOENT && !r)
		r = -errno;
	/* ENOTEMPTY: another launcher is already taking the id over. */
	if (rmdir(rd->path) < 0 && errno != ENOENT && errno != ENOTEMPTY && !r)
		r = -errno;
	vj_rundir_close(rd);
	return r;
}

void vj_rundir_close(struct vj_rundir *rd)
{
	vj_closep(&rd->basefd);
	vj_closep(&rd->dirfd);
	vj_closep(&rd->lockfd);
	vj_closep(&rd->statefd);
	rd->basefd = rd->dirfd = rd->lockfd = rd->statefd = -1;
}
