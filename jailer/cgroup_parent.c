#include "cgroup_parent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

/*
 * <run_dir>/cgroup.parents: "boot <id>", then one line per directory
 * vmjail created, "<inode> <path>", or "- <path>" from just before its
 * mkdir() until its inode is known. Both names hold a '.', which no
 * sandbox id does, so `vmjail cleanup` never takes them for one. The
 * inode tells vmjail's directory from one made again at the same path:
 * cgroupfs numbers a hierarchy's directories without reuse within a boot
 * (64-bit kernfs ids). The boot id voids the file after a reboot, when
 * the numbering starts over (a run directory outside /run survives it).
 */
#define OWNED_FILE "cgroup.parents"
#define OWNED_NEW "cgroup.parents.new"
#define OWNED_MAX 64
#define OWNED_PATH_MAX (2 * VJ_PATH_MAX)
#define OWNED_TEXT_MAX (OWNED_MAX * (OWNED_PATH_MAX + 24) + 64)
#define CREATE_ATTEMPTS 8 /* a parent removed under a group being made: start over */

struct owned {
	unsigned n;
	bool changed; /* to be written back */
	struct {
		unsigned long long ino; /* 0: recorded, not made yet */
		char path[OWNED_PATH_MAX];
	} e[OWNED_MAX];
};

static const char *boot_id(void)
{
	static char id[64];
	cleanup_fd int fd = -1;
	ssize_t n;

	if (id[0])
		return id;
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, id, sizeof(id) - 1);
	id[n > 0 ? n : 0] = '\0';
	id[strcspn(id, "\n")] = '\0';
	return id;
}

/* A regular file's text; -ENOENT when there is none (anything but a
 * regular file at that name is none of vmjail's). */
static int read_file_at(int dirfd, const char *name, char *buf, size_t len)
{
	cleanup_fd int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	size_t used = 0;
	ssize_t n = 0;

	if (fd < 0)
		return errno == ELOOP || errno == ENXIO ? -ENOENT : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOENT;
	while (used < len - 1 && (n = read(fd, buf + used, len - 1 - used)) > 0)
		used += (size_t)n;
	if (n < 0)
		return -errno;
	buf[used] = '\0';
	return used == len - 1 ? -EFBIG : 0;
}

/* A cgroup directory removed meanwhile: ENOENT, or ENODEV while the
 * kernel is still taking it down. */
static bool vanished(int err)
{
	return err == ENOENT || err == ENODEV;
}

static void owned_drop(struct owned *o, unsigned i)
{
	o->e[i] = o->e[--o->n];
	o->changed = true;
}

static int owned_find(const struct owned *o, const char *path)
{
	for (unsigned i = 0; i < o->n; i++)
		if (!strcmp(o->e[i].path, path))
			return (int)i;
	return -1;
}

/*
 * Reads the records; the lock must be held. A directory recorded without
 * an inode was being made by a launcher that died: whether it was made by
 * that launcher or by someone else just then cannot be told, so it is
 * never taken for vmjail's.
 */
static int owned_load(int run_dir_fd, struct owned *o, struct vj_err *e)
{
	cleanup_free char *text = malloc(OWNED_TEXT_MAX);
	char *save = NULL, *line;
	int r;

	o->n = 0;
	o->changed = false;
	if (!text)
		return vj_fail(e, -ENOMEM, "read %s: out of memory", OWNED_FILE);
	r = read_file_at(run_dir_fd, OWNED_FILE, text, OWNED_TEXT_MAX);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return vj_fail_errno(e, r, "read %s in the run directory", OWNED_FILE);
	line = strtok_r(text, "\n", &save);
	if (!line || strncmp(line, "boot ", 5) || strcmp(line + 5, boot_id())) {
		o->changed = true;
		return 0;
	}
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *sp = strchr(line, ' ');
		if (!sp || strlen(sp + 1) >= OWNED_PATH_MAX || o->n == OWNED_MAX)
			return vj_fail(e, -EINVAL, "%s in the run directory: malformed line \"%s\"",
				       OWNED_FILE, line);
		o->e[o->n].ino = line[0] == '-' ? 0 : strtoull(line, NULL, 10);
		strcpy(o->e[o->n].path, sp + 1);
		o->n++;
	}
	for (unsigned i = o->n; i-- > 0;) {
		if (o->e[i].ino)
			continue;
		if (access(o->e[i].path, F_OK) == 0)
			vj_warn("cgroup %s: a launcher was killed while creating it, so it may not be "
				"vmjail's; it is left in place (remove it when it is empty)",
				o->e[i].path);
		owned_drop(o, i);
	}
	return 0;
}

/* Writes the records back, replacing the file whole (a SIGKILL leaves the
 * old or the new one); none left: no file. */
static int owned_store(int run_dir_fd, struct owned *o, struct vj_err *e)
{
	cleanup_free char *text = NULL;
	cleanup_fd int fd = -1;
	size_t len = 0;

	if (!o->changed)
		return 0;
	if (o->n == 0) {
		if (unlinkat(run_dir_fd, OWNED_FILE, 0) < 0 && errno != ENOENT)
			return vj_fail_errno(e, -errno, "remove %s in the run directory", OWNED_FILE);
		o->changed = false;
		return 0;
	}
	if (!(text = malloc(OWNED_TEXT_MAX)))
		return vj_fail(e, -ENOMEM, "write %s: out of memory", OWNED_FILE);
	len = (size_t)snprintf(text, OWNED_TEXT_MAX, "boot %s\n", boot_id());
	for (unsigned i = 0; i < o->n; i++) {
		if (o->e[i].ino)
			len += (size_t)snprintf(text + len, OWNED_TEXT_MAX - len, "%llu %s\n",
						o->e[i].ino, o->e[i].path);
		else
			len += (size_t)snprintf(text + len, OWNED_TEXT_MAX - len, "- %s\n",
						o->e[i].path);
	}
	/* A temporary file is there only after a launcher was killed while
	 * it replaced the records: removed then, not before every store. */
	fd = openat(run_dir_fd, OWNED_NEW, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0 && errno == EEXIST) {
		if (unlinkat(run_dir_fd, OWNED_NEW, 0) < 0 && errno != ENOENT)
			return vj_fail_errno(e, -errno, "remove %s in the run directory", OWNED_NEW);
		fd = openat(run_dir_fd, OWNED_NEW,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0 || write(fd, text, len) != (ssize_t)len ||
	    renameat(run_dir_fd, OWNED_NEW, run_dir_fd, OWNED_FILE) < 0)
		return vj_fail_errno(e, errno ? -errno : -EIO, "write %s in the run directory",
				     OWNED_FILE);
	o->changed = false;
	return 0;
}

int vj_cgroup_parent_lock(int run_dir_fd, struct vj_err *e)
{
	/* A descriptor of its own: the lock is released when it closes. */
	cleanup_fd int fd = openat(run_dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return vj_fail_errno(e, -errno, "open the run directory");
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return vj_fail_errno(e, -errno, "lock the run directory");
	return vj_steal_fd(&fd);
}

/*
 * mkdir() of one missing directory, recorded first; the lock is held.
 * 0 when made, 1 when someone else made it meanwhile (then it is theirs),
 * -EAGAIN when its parent vanished.
 */
static int create_dir(const char *path, int run_dir_fd, struct vj_err *e)
{
	cleanup_free struct owned *o = malloc(sizeof(*o));
	struct stat st;
	unsigned i;
	int r, err;

	if (!o)
		return vj_fail(e, -ENOMEM, "cgroup %s: out of memory", path);
	if ((r = owned_load(run_dir_fd, o, e)) < 0)
		return r;
	if (o->n == OWNED_MAX)
		return vj_fail(e, -E2BIG, "cgroup %s: %s in the run directory is full (%d)", path,
			       OWNED_FILE, OWNED_MAX);
	i = o->n++;
	o->e[i].ino = 0;
	snprintf(o->e[i].path, sizeof(o->e[i].path), "%s", path);
	o->changed = true;
	if ((r = owned_store(run_dir_fd, o, e)) < 0)
		return r;
	if (mkdir(path, 0755) == 0 && stat(path, &st) == 0) {
		o->e[i].ino = (unsigned long long)st.st_ino;
		o->changed = true;
		if ((r = owned_store(run_dir_fd, o, e)) == 0)
			return 0;
		/* Recorded without its inode it would never be removed: it
		 * goes now, while it is certainly vmjail's and empty. */
		if (rmdir(path) == 0) {
			struct vj_err ignored;
			owned_drop(o, i);
			owned_store(run_dir_fd, o, &ignored);
		}
		return r;
	}
	err = errno;
	owned_drop(o, i);
	if ((r = owned_store(run_dir_fd, o, e)) < 0)
		return r;
	if (err == EEXIST)
		return 1;
	if (vanished(err))
		return -EAGAIN;
	return vj_fail_errno(e, -err, "create cgroup %s", path);
}

/* Whether the space-separated list holds word. */
static bool has_word(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += len)
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' || !p[len]))
			return true;
	return false;
}

/* v2: a controller reaches a group only when every ancestor enables it
 * for its children. Only the missing ones are written. */
static int enable_controllers(const char *dir, const char *enable, struct vj_err *e)
{
	char file[OWNED_PATH_MAX + 32], cur[256], add[256] = "";
	cleanup_fd int fd = -1;
	size_t used = 0;
	int r;

	snprintf(file, sizeof(file), "%s/cgroup.subtree_control", dir);
	if ((r = read_file_at(AT_FDCWD, file, cur, sizeof(cur))) < 0 && vanished(-r))
		return -EAGAIN;
	if (r < 0)
		return vj_fail_errno(e, r, "read %s", file);
	for (const char *t = enable; *t;) {
		char word[32];
		size_t len = strcspn(t, " ");
		snprintf(word, sizeof(word), "%.*s", (int)len, t);
		if (!has_word(cur, word))
			used += (size_t)snprintf(add + used, sizeof(add) - used, "%s+%s",
						 used ? " " : "", word);
		t += len;
		t += *t == ' ';
	}
	if (!used)
		return 0;
	fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return vanished(errno) ? -EAGAIN : vj_fail_errno(e, -errno, "open %s", file);
	if (write(fd, add, used) == (ssize_t)used)
		return 0;
	/* (ENOENT here is a controller the directory does not offer.) */
	if (errno == ENODEV)
		return -EAGAIN;
	if (errno == EBUSY)
		return vj_fail(e, -EBUSY,
			       "cgroup %s: cannot enable %s for its children, as it holds processes "
			       "(cgroup v2): give an absolute cgroup parent",
			       dir, add);
	return vj_fail_errno(e, -errno, "cgroup %s: enable %s in cgroup.subtree_control", dir, add);
}

static int read_line(const char *path, char *out, size_t len)
{
	int r = read_file_at(AT_FDCWD, path, out, len);

	out[r < 0 ? 0 : strcspn(out, "\n")] = '\0';
	return r;
}

int vj_cgroup_cpuset_inherit(const char *mount, const char *name, struct vj_err *e)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char dir[OWNED_PATH_MAX], up[OWNED_PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/%s", mount, name);
	snprintf(up, sizeof(up), "%s", dir);
	*strrchr(up, '/') = '\0';
	for (size_t i = 0; i < VJ_ARRAY_SIZE(files); i++) {
		char path[OWNED_PATH_MAX + 16], cur[VJ_CPUSET_MAX * 4], val[VJ_CPUSET_MAX * 4];
		cleanup_fd int fd = -1;
		size_t len;
		int r;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if ((r = read_line(path, cur, sizeof(cur))) < 0)
			return vj_fail_errno(e, r, "read %s", path);
		if (cur[0])
			continue;
		snprintf(path, sizeof(path), "%s/%s", up, files[i]);
		if ((r = read_line(path, val, sizeof(val))) < 0)
			return vj_fail_errno(e, r, "read %s", path);
		/* Only the cgroups vmjail made are filled: an empty one above
		 * them is the operator's to set. */
		if (!val[0])
			return vj_fail(e, -EINVAL, "cgroup %s: %s is empty, so no child of it can run",
				       up, files[i]);
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		len = strlen(val);
		fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0 || write(fd, val, len) != (ssize_t)len)
			return vj_fail_errno(e, -errno, "cgroup %s = %s", path, val);
	}
	return 0;
}

int vj_cgroup_parent_prepare(const struct vj_cgroup_way *w, int run_dir_fd, bool locked,
			     struct vj_err *e)
{
	size_t mlen = strlen(w->mount), plen = strlen(w->parent);
	char dir[OWNED_PATH_MAX];

	if (mlen + 1 + plen >= sizeof(dir))
		return vj_fail(e, -ENAMETOOLONG, "cgroup %s/%s: path too long", w->mount, w->parent);
	/* The root, then each directory down to the parent: on v2 a
	 * controller must be enabled in an ancestor before its child. */
	for (size_t end = 0;;) {
		bool made = false;
		int r;

		snprintf(dir, sizeof(dir), "%s%s%.*s", w->mount, end ? "/" : "", (int)end, w->parent);
		if (access(dir, F_OK) < 0) {
			if (!vanished(errno) || end <= w->keep)
				return vj_fail_errno(e, -errno, "cgroup %s", dir);
			if (!locked)
				return -EAGAIN;
			if ((r = create_dir(dir, run_dir_fd, e)) < 0)
				return r;
			made = r == 0;
		}
		if (w->version == VJ_CGROUP_V2 && w->enable[0] &&
		    (r = enable_controllers(dir, w->enable, e)) < 0)
			return r;
		if (made && w->cpuset) {
			char name[VJ_PATH_MAX];
			snprintf(name, sizeof(name), "%.*s", (int)end, w->parent);
			if ((r = vj_cgroup_cpuset_inherit(w->mount, name, e)) < 0)
				return r;
		}
		if (end == plen)
			return 0;
		end += (end > 0) + strcspn(w->parent + end + (end > 0), "/");
	}
}

int vj_cgroup_group_create(const struct vj_cgroup_way *w, const char *name, int run_dir_fd,
			   struct vj_err *e)
{
	cleanup_fd int own = -1;
	/* A lock the caller keeps spares the next hierarchy's parents both
	 * the lock's taking and the unlocked look that fails without it. */
	int *lock = w->lock ? w->lock : &own;
	char path[OWNED_PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/%s", w->mount, name);
	for (int attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
		if (attempt > 0 && *lock < 0 && (*lock = vj_cgroup_parent_lock(run_dir_fd, e)) < 0)
			return *lock;
		r = vj_cgroup_parent_prepare(w, run_dir_fd, *lock >= 0, e);
		if (r == -EAGAIN)
			continue;
		if (r < 0)
			return r;
		if (mkdir(path, 0755) == 0)
			return w->cpuset ? vj_cgroup_cpuset_inherit(w->mount, name, e) : 0;
		if (errno == EEXIST)
			return -EEXIST;
		if (!vanished(errno))
			return vj_fail_errno(e, -errno, "create cgroup %s", path);
	}
	return vj_fail(e, -EAGAIN, "create cgroup %s: its parent keeps vanishing", path);
}

int vj_cgroup_parent_release(const char *mount, const char *parent, int run_dir_fd,
			     struct vj_err *e)
{
	cleanup_free struct owned *o = malloc(sizeof(*o));
	cleanup_fd int lock = -1;
	size_t mlen = strlen(mount);
	char path[OWNED_PATH_MAX];
	struct vj_err store_e;
	int r = 0, i, w;

	if (!parent[0])
		return 0;
	if (!o)
		return vj_fail(e, -ENOMEM, "cgroup %s/%s: out of memory", mount, parent);
	if ((lock = vj_cgroup_parent_lock(run_dir_fd, e)) < 0)
		return lock;
	if ((r = owned_load(run_dir_fd, o, e)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s", mount, parent);
	while ((i = owned_find(o, path)) >= 0) {
		struct stat st;
		bool gone = stat(path, &st) < 0;
		char *slash;

		if (gone && errno != ENOENT) {
			r = vj_fail_errno(e, -errno, "cgroup %s", path);
			break;
		}
		if (!gone && (unsigned long long)st.st_ino != o->e[i].ino) {
			/* Removed and made again by someone else: theirs. */
			owned_drop(o, (unsigned)i);
			break;
		}
		if (!gone && rmdir(path) < 0 && errno != ENOENT) {
			/* EBUSY: another sandbox's group is in it (ENOTEMPTY
			 * on file systems other than cgroupfs). */
			if (errno != EBUSY && errno != ENOTEMPTY)
				r = vj_fail_errno(e, -errno, "remove cgroup %s", path);
			break;
		}
		/* Gone: the directories above it may still be vmjail's. */
		owned_drop(o, (unsigned)i);
		slash = strrchr(path, '/');
		if (!slash || (size_t)(slash - path) <= mlen)
			break;
		*slash = '\0';
	}
	w = owned_store(run_dir_fd, o, &store_e);
	if (r == 0 && w < 0)
		*e = store_e;
	return r < 0 ? r : w;
}
