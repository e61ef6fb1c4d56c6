/* Layer application beneath a staging root: see apply.h. */
#include "apply.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"

#define WHITEOUT ".wh."
#define OPAQUE ".wh..wh..opq"

/* Paths (normalized, "a/b") one layer made, for its opaque directories:
 * an open-addressing set that doubles as it fills. */
struct vj_path_set {
	size_t cap, n;
	char **slot;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static bool set_has(const struct vj_path_set *s, const char *p)
{
	if (!s->cap)
		return false;
	for (size_t i = hash(p) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (!s->slot[i])
			return false;
		if (!strcmp(s->slot[i], p))
			return true;
	}
}

static int set_add(struct vj_path_set *s, const char *p)
{
	if (set_has(s, p))
		return 0;
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		char **slot = calloc(cap, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slot[i])
				continue;
			size_t j = hash(s->slot[i]) & (cap - 1);
			while (slot[j])
				j = (j + 1) & (cap - 1);
			slot[j] = s->slot[i];
		}
		free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	size_t i = hash(p) & (s->cap - 1);
	while (s->slot[i])
		i = (i + 1) & (s->cap - 1);
	if (!(s->slot[i] = strdup(p)))
		return -ENOMEM;
	s->n++;
	return 0;
}

static void set_clear(struct vj_path_set *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

void vj_apply_init(struct vj_apply *a, int root, uint64_t max_files, uint64_t max_bytes)
{
	memset(a, 0, sizeof(*a));
	a->root = root;
	a->max_files = max_files;
	a->max_bytes = max_bytes;
	a->layer = calloc(1, sizeof(*a->layer));
}

void vj_apply_fini(struct vj_apply *a)
{
	if (a->layer)
		set_clear(a->layer);
	free(a->layer);
	a->layer = NULL;
}

/*
 * in ("./a//b/", "/x" refused, ".." refused) into out as "a/b", "" for the
 * root itself. -EINVAL with the reason in *why.
 */
static int normalize(const char *in, char *out, size_t cap, const char **why)
{
	size_t o = 0, depth = 0;

	if (*in == '/') {
		*why = "an absolute path";
		return -EINVAL;
	}
	for (const char *p = in; *p;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 2 && !memcmp(p, "..", 2)) {
			*why = "a \"..\" component";
			return -EINVAL;
		}
		if (n && !(n == 1 && *p == '.')) {
			if (++depth > VJ_APPLY_DEPTH_MAX) {
				*why = "more than 128 components";
				return -EINVAL;
			}
			if (o + n + 2 > cap) {
				*why = "too long";
				return -EINVAL;
			}
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n + (slash ? 1 : 0);
	}
	out[o] = '\0';
	return 0;
}

static long openat2_beneath(int dirfd, const char *name, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)flags,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	return syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
}

/*
 * The directory path (normalized) beneath the root, each missing
 * component made (0755, root's) if create. Returns an O_PATH fd or
 * -errno: -ELOOP where a component is a symbolic link, -ENOTDIR where it
 * is some other non-directory.
 */
static int open_dir(int root, const char *path, bool create)
{
	cleanup_fd int fd = (int)openat2_beneath(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char comp[256];

	if (fd < 0)
		return -errno;
	for (const char *p = path; *p;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n >= sizeof(comp))
			return -ENAMETOOLONG;
		memcpy(comp, p, n);
		comp[n] = '\0';
		int next = (int)openat2_beneath(fd, comp, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
				return -errno;
			next = (int)openat2_beneath(fd, comp, O_PATH | O_DIRECTORY | O_CLOEXEC);
		}
		if (next < 0)
			return -errno;
		close(fd);
		fd = next;
		p += n + (slash ? 1 : 0);
	}
	return vj_steal_fd(&fd);
}

static int remove_children(int dirfd)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *e;
	int r = 0;

	if (!d) {
		r = -errno;
		close(dirfd);
		return r;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			int k = vj_remove_tree(dirfd, e->d_name);
			if (k < 0 && k != -ENOENT && !r)
				r = k;
		}
	closedir(d);
	return r;
}

int vj_remove_tree(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) == 0)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = remove_children(fd);
	if (r < 0)
		return r;
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* Empties dir (path in the image: dirpath) of what lower layers put there. */
static int make_opaque(struct vj_apply *a, int parent, const char *dirpath)
{
	int fd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	struct dirent *e;
	char path[VJ_TAR_PATH_MAX + 260];
	int r = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", dirpath, *dirpath ? "/" : "", e->d_name);
		if (set_has(a->layer, path))
			continue;
		int k = vj_remove_tree(dirfd(d), e->d_name);
		if (k < 0 && k != -ENOENT && !r)
			r = k;
	}
	closedir(d);
	return r;
}

static int set_owner_mode(int fd, const struct vj_tar_entry *e)
{
	/* chown first: it clears set-id bits, which the mode then sets. */
	if (fchown(fd, e->uid, e->gid) < 0 || fchmod(fd, e->mode) < 0)
		return -errno;
	return 0;
}

static int write_file(struct vj_apply *a, struct vj_tar *t, int parent, const char *name,
		      const struct vj_tar_entry *e, struct vj_err *err)
{
	char buf[65536];
	ssize_t n;

	if (e->size > a->max_bytes - a->bytes)
		return vj_fail(err, -EFBIG, "the image's files hold more than %llu bytes (images.max_bytes)",
			       (unsigned long long)a->max_bytes);
	a->bytes += e->size;
	cleanup_fd int fd = openat(parent, name,
				   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while ((n = vj_tar_read(t, buf, sizeof(buf), err)) > 0)
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0)
				return vj_fail_errno(err, -errno, "write");
			off += w;
		}
	if (n < 0)
		return (int)n;
	return set_owner_mode(fd, e);
}

static int make_dir(int parent, const char *name, const struct vj_tar_entry *e)
{
	if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	cleanup_fd int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return set_owner_mode(fd, e);
}

static int make_link(struct vj_apply *a, int parent, const char *name,
		     const struct vj_tar_entry *e, const char **why)
{
	char target[VJ_TAR_PATH_MAX + 1];
	if (normalize(e->link, target, sizeof(target), why) < 0)
		return -EINVAL;
	char *slash = strrchr(target, '/');
	const char *tname = slash ? slash + 1 : target;
	if (slash)
		*slash = '\0';
	if (!*tname) {
		*why = "a hard link to the root";
		return -EINVAL;
	}
	cleanup_fd int tdir = open_dir(a->root, slash ? target : "", false);
	if (tdir < 0) {
		*why = "its target lies through a symbolic link or does not exist";
		return tdir;
	}
	struct stat st;
	if (fstatat(tdir, tname, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		*why = "its target does not exist";
		return -errno;
	}
	if (S_ISDIR(st.st_mode)) {
		*why = "a hard link to a directory";
		return -EINVAL;
	}
	return linkat(tdir, tname, parent, name, 0) < 0 ? -errno : 0;
}

/* Makes room for name: what is there goes, unless both are directories. */
static int clear_place(int parent, const char *name, bool dir)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (dir && S_ISDIR(st.st_mode))
		return 0;
	return vj_remove_tree(parent, name);
}

static int whiteout(struct vj_apply *a, int parent, const char *dirpath, const char *name,
		    const char **why)
{
	if (!strcmp(name, OPAQUE))
		return make_opaque(a, parent, dirpath);
	const char *victim = name + strlen(WHITEOUT);
	if (!*victim || !strcmp(victim, ".") || !strcmp(victim, "..")) {
		*why = "a whiteout of nothing";
		return -EINVAL;
	}
	int r = vj_remove_tree(parent, victim);
	return r == -ENOENT ? 0 : r;
}

static int entry(struct vj_apply *a, struct vj_tar *t, const struct vj_tar_entry *e,
		 const char *path, const char **why, struct vj_err *err)
{
	char dirpath[VJ_TAR_PATH_MAX + 1];
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	int r;

	snprintf(dirpath, sizeof(dirpath), "%.*s", slash ? (int)(slash - path) : 0, path);
	if (e->type == VJ_TAR_CHR || e->type == VJ_TAR_BLK) {
		*why = "a device node (the guest's devtmpfs has the devices)";
		return -EPERM;
	}
	cleanup_fd int parent = open_dir(a->root, dirpath, true);
	if (parent < 0) {
		*why = parent == -ELOOP ? "it lies through a symbolic link" :
		       parent == -ENOTDIR ? "it lies beneath a file that is no directory" :
					    NULL;
		return parent;
	}
	if (!*path) /* the root itself: its owner and mode */
		return e->type == VJ_TAR_DIR ? set_owner_mode(a->root, e) : 0;
	if (!strncmp(name, WHITEOUT, strlen(WHITEOUT)))
		return whiteout(a, parent, dirpath, name, why);
	if ((r = set_add(a->layer, path)) < 0 ||
	    (r = clear_place(parent, name, e->type == VJ_TAR_DIR)) < 0)
		return r;
	switch (e->type) {
	case VJ_TAR_REG:
		return write_file(a, t, parent, name, e, err);
	case VJ_TAR_DIR:
		return make_dir(parent, name, e);
	case VJ_TAR_SYMLINK:
		if (!*e->link) {
			*why = "a symbolic link to nothing";
			return -EINVAL;
		}
		if (symlinkat(e->link, parent, name) < 0 ||
		    fchownat(parent, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		return 0;
	case VJ_TAR_LINK:
		return make_link(a, parent, name, e, why);
	case VJ_TAR_FIFO:
		if (mknodat(parent, name, S_IFIFO | 0600, 0) < 0)
			return -errno;
		{
			cleanup_fd int fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0 || fchownat(fd, "", e->uid, e->gid, AT_EMPTY_PATH) < 0 ||
			    fchmodat(parent, name, e->mode, 0) < 0)
				return -errno;
		}
		return 0;
	default:
		*why = "an entry type vmjail does not apply";
		return -EOPNOTSUPP;
	}
}

int vj_apply_layer(struct vj_apply *a, struct vj_tar *t, struct vj_err *err)
{
	struct vj_tar_entry e;
	char path[VJ_TAR_PATH_MAX + 1];
	int k;

	if (!a->layer)
		return vj_fail(err, -ENOMEM, "out of memory");
	set_clear(a->layer);
	while ((k = vj_tar_next(t, &e, err)) > 0) {
		const char *why = NULL;
		if (++a->files > a->max_files)
			return vj_fail(err, -E2BIG, "more than %llu files (images.max_files)",
				       (unsigned long long)a->max_files);
		int r = normalize(e.path, path, sizeof(path), &why);
		if (r == 0) {
			err->msg[0] = '\0';
			r = entry(a, t, &e, path, &why, err);
		}
		if (r < 0) {
			if (why)
				return vj_fail(err, r, "entry \"%s\": %s", e.path, why);
			if (err->msg[0] && err->code == r)
				return vj_wrap(err, "entry \"%s\"", e.path);
			return vj_fail_errno(err, r, "entry \"%s\"", e.path);
		}
	}
	return k;
}
