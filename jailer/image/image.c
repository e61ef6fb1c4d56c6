/*
 * Images to cached read-only root images: see image.h.
 *
 * The cache directory (host file images.cache, mode 0700, root's) holds
 * per image, named by the hex of its config digest:
 *   HEX.erofs   the root image (HEX.ext4 with images.format: ext4):
 *               present means complete (published last,
 *               by rename), its mtime the last use (for LRU eviction)
 *   HEX.json    the image config, as verified
 *   HEX.lock    flock'd while the image is converted, so that a second
 *               run of it waits and then finds it done
 * and, while a conversion runs, .stage.HEX.* (the layers applied) and
 * .tmp.HEX.* (files before their rename); a failed conversion removes
 * them, and a later conversion removes any a crash left. Per-sandbox
 * images of root file system directories are .rootfs.XXXXXX.erofs, each
 * flock'd by its launcher while it lives; a lock on the directory orders
 * their creation (shared) against the sweep of those a dead launcher left
 * (exclusive), so that a sweep never takes one between its creation and
 * its owner's lock.
 */
#include "image.h"

#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apply.h"
#include "confine.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "manifest.h"
#include "tar.h"

#define MKFS_EROFS "/usr/bin/mkfs.erofs"
#define MKE2FS "/sbin/mke2fs"
/* The id mkfs.erofs runs as: nobody, with CAP_DAC_READ_SEARCH alone so it
 * can read the image's files whatever their owners and modes. */
#define CONVERT_ID 65534u
/* Tar headers and padding on top of the files' bytes, per entry. */
#define TAR_OVERHEAD 2048u

static void closep_dir(DIR **d)
{
	if (*d)
		closedir(*d);
}

static int ensure_cache(const struct vj_host_config *h, struct vj_err *err)
{
	if (!h->image_cache[0])
		return vj_fail(err, -EINVAL, "the host file sets no images.cache");
	char parent[VJ_PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", h->image_cache);
	/* Its parents as an operator's mkdir -p would make them. */
	for (char *s = parent + 1; (s = strchr(s, '/')); *s++ = '/') {
		*s = '\0';
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			return vj_fail_errno(err, -errno, "image cache %s: create %s", h->image_cache,
					     parent);
	}
	if (mkdir(h->image_cache, 0700) < 0 && errno != EEXIST)
		return vj_fail_errno(err, -errno, "image cache %s", h->image_cache);
	struct stat st;
	if (lstat(h->image_cache, &st) < 0)
		return vj_fail_errno(err, -errno, "image cache %s", h->image_cache);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		return vj_fail(err, -EPERM,
			       "image cache %s: expected a directory of uid %u, mode 0700 (it holds the images' files)",
			       h->image_cache, (unsigned)geteuid());
	return 0;
}

static char *cache_path(const struct vj_host_config *h, const char *name)
{
	char *p;
	return asprintf(&p, "%s/%s", h->image_cache, name) < 0 ? NULL : p;
}

/* The root image's file system: erofs, or ext4 where the host file's
 * images.format says so (rootfs directories are always erofs). */
static const char *fs_name(bool ext4)
{
	return ext4 ? "ext4" : "erofs";
}

/*
 * Builds the file system on dir into out (a file of CONVERT_ID's, of
 * size bytes for ext4, which needs one), confined and filtered (confine.h), as nobody
 * with CAP_DAC_READ_SEARCH only, no new privileges, bounded output.
 */
static int run_mkfs(bool ext4, const char *dir, const char *out, uint64_t size, uint64_t max_out,
		    struct vj_err *err)
{
	const char *tool = ext4 ? MKE2FS : MKFS_EROFS;
	char blocks[32];

	snprintf(blocks, sizeof(blocks), "%lluk", (unsigned long long)(size >> 10));
	pid_t pid = fork();
	if (pid < 0)
		return vj_fail_errno(err, -errno, "fork");
	if (pid == 0) {
		struct rlimit fsize = { max_out, max_out };
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		if (vj_build_confine(dir, out) < 0)
			_exit(125);
		capng_clear(CAPNG_SELECT_ALL);
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE,
			     CAP_DAC_READ_SEARCH);
		if (setrlimit(RLIMIT_FSIZE, &fsize) < 0 ||
		    capng_change_id((int)CONVERT_ID, (int)CONVERT_ID,
				    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) < 0 ||
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_DAC_READ_SEARCH, 0, 0) < 0 ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(126);
		if (vj_build_seccomp() < 0)
			_exit(125);
		/* ext4 without a journal: nothing ever writes it. */
		char *const erofs[] = { "mkfs.erofs", "-T0", "--quiet", "/out", "/src", NULL };
		char *const e2[] = { "mke2fs", "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-m", "0",
				     "-d", "/src", "/out", blocks, NULL };
		char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
		execve(tool, ext4 ? e2 : erofs, envp);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return vj_fail_errno(err, -errno, "waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return vj_fail(err, -ENOENT, "%s: cannot run it (%s)", tool,
			       ext4 ? "e2fsprogs" : "erofs-utils");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
		return vj_fail(err, -EPERM, "%s: cannot drop to uid %u", tool, CONVERT_ID);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 125)
		return vj_fail(err, -EPERM,
			       "%s: cannot confine it (mount and network namespaces, seccomp)", tool);
	return vj_fail(err, -EIO, "%s failed (%s %d)", tool,
		       WIFEXITED(status) ? "status" : "signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* An empty file for the file system builder to write, of CONVERT_ID's;
 * tmpl ends in suffix_len bytes after its XXXXXX. Its descriptor in *keep
 * if keep is not NULL. */
static int make_output(char *tmpl, int suffix_len, int *keep, struct vj_err *err)
{
	cleanup_fd int fd = mkostemps(tmpl, suffix_len, O_CLOEXEC);
	if (fd < 0)
		return vj_fail_errno(err, -errno, "%s", tmpl);
	if (fchown(fd, CONVERT_ID, CONVERT_ID) < 0 || fchmod(fd, 0600) < 0) {
		int r = -errno;
		unlink(tmpl);
		return vj_fail_errno(err, r, "%s", tmpl);
	}
	if (keep)
		*keep = vj_steal_fd(&fd);
	return 0;
}

/* out owned by root again, read-only: nobody's part ends with mkfs. */
static int seal_output(const char *path, struct vj_err *err)
{
	if (chown(path, 0, 0) < 0 || chmod(path, 0400) < 0)
		return vj_fail_errno(err, -errno, "%s", path);
	return 0;
}

static int apply_layers(struct vj_image_parts *p, int root, const struct vj_host_config *h,
			uint64_t *files, uint64_t *bytes, struct vj_err *err)
{
	struct vj_apply a;
	uint64_t plain_max = h->image_max_bytes + h->image_max_files * TAR_OVERHEAD;
	int r = 0;

	vj_apply_init(&a, root, h->image_max_files, h->image_max_bytes);
	for (unsigned i = 0; i < p->nlayers && r == 0; i++) {
		struct vj_image_layer *l = &p->layers[i];
		struct vj_blob_reader *br = malloc(sizeof(*br));
		if (!br) {
			r = vj_fail(err, -ENOMEM, "out of memory");
			break;
		}
		r = vj_blob_reader_open(br, l->blob, l->gzip, plain_max, err);
		if (r == 0) {
			struct vj_tar t;
			vj_tar_init(&t, (struct vj_byte_source){ vj_blob_reader_read, br, NULL });
			r = vj_apply_layer(&a, &t, err);
			if (r == 0)
				r = vj_blob_reader_verify(br, l->digest[0] ? l->digest : NULL,
							  l->diff_id, err);
			plain_max -= br->plain_bytes < plain_max ? br->plain_bytes : plain_max;
		}
		vj_blob_reader_close(br);
		free(br);
		if (r < 0)
			vj_wrap(err, "layer %u of %u", i + 1, p->nlayers);
	}
	*files = a.files;
	*bytes = a.bytes;
	vj_apply_fini(&a);
	return r;
}

static int write_file_atomic(const struct vj_host_config *h, const char *name, const char *data,
			     size_t len, struct vj_err *err)
{
	cleanup_free char *path = cache_path(h, name);
	cleanup_free char *tmp = NULL;
	if (!path || asprintf(&tmp, "%s/.tmp.%s.XXXXXX", h->image_cache, name) < 0)
		return vj_fail(err, -ENOMEM, "out of memory");
	cleanup_fd int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return vj_fail_errno(err, -errno, "%s", tmp);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0) {
			int r = -errno;
			unlink(tmp);
			return vj_fail_errno(err, r, "write %s", tmp);
		}
		off += (size_t)n;
	}
	if (fchmod(fd, 0400) < 0 || rename(tmp, path) < 0) {
		int r = -errno;
		unlink(tmp);
		return vj_fail_errno(err, r, "%s", path);
	}
	return 0;
}

/* Removes what an earlier, interrupted conversion of hex left. */
static void remove_leftovers(const struct vj_host_config *h, int cachefd, const char *hex)
{
	cleanup_with(closep_dir) DIR *d = opendir(h->image_cache);
	struct dirent *e;
	char stage[96], tmp[96];

	snprintf(stage, sizeof(stage), ".stage.%s.", hex);
	snprintf(tmp, sizeof(tmp), ".tmp.%s.", hex);
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, stage, strlen(stage)) ||
		    !strncmp(e->d_name, tmp, strlen(tmp)))
			vj_remove_tree(cachefd, e->d_name);
}

static int convert(const struct vj_host_config *h, struct vj_image_parts *p, const char *hex,
		   struct vj_err *err)
{
	cleanup_fd int cachefd = open(h->image_cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_free char *stage = NULL, *out = NULL, *final = NULL;
	char json_name[96];
	int r;

	if (cachefd < 0)
		return vj_fail_errno(err, -errno, "image cache %s", h->image_cache);
	remove_leftovers(h, cachefd, hex);
	const char *fs = fs_name(h->image_ext4);
	uint64_t files = 0, bytes = 0;
	if (asprintf(&stage, "%s/.stage.%s.XXXXXX", h->image_cache, hex) < 0 ||
	    asprintf(&out, "%s/.tmp.%s.XXXXXX.%s", h->image_cache, hex, fs) < 0 ||
	    asprintf(&final, "%s/%s.%s", h->image_cache, hex, fs) < 0)
		return vj_fail(err, -ENOMEM, "out of memory");
	if (!mkdtemp(stage))
		return vj_fail_errno(err, -errno, "%s", stage);
	cleanup_fd int root = open(stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0)
		r = vj_fail_errno(err, -errno, "%s", stage);
	else
		r = apply_layers(p, root, h, &files, &bytes, err);
	/* ext4's size is fixed when it is made: the files, a block and an
	 * inode each, and a quarter more for the file system's own. */
	uint64_t size = (bytes + files * (4096 + 256) + (16u << 20)) / 4 * 5;
	if (r == 0 && (r = make_output(out, (int)strlen(fs) + 1, NULL, err)) == 0) {
		r = run_mkfs(h->image_ext4, stage, out, size,
			     2 * h->image_max_bytes + h->image_max_files * 4096 + (64u << 20), err);
		if (r == 0)
			r = seal_output(out, err);
		snprintf(json_name, sizeof(json_name), "%s.json", hex);
		if (r == 0)
			r = write_file_atomic(h, json_name, p->config_json, p->config_len, err);
		if (r == 0 && rename(out, final) < 0)
			r = vj_fail_errno(err, -errno, "%s", final);
		if (r < 0) {
			unlink(out);
			unlinkat(cachefd, json_name, 0);
		}
	}
	vj_remove_tree(AT_FDCWD, stage);
	return r;
}

struct cached {
	char name[NAME_MAX + 1];
	struct timespec used;
	uint64_t size;
};

static int by_use(const void *a, const void *b)
{
	const struct cached *x = a, *y = b;
	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	return (x->used.tv_nsec > y->used.tv_nsec) - (x->used.tv_nsec < y->used.tv_nsec);
}

/* Evicts the least recently used images until the cache's images fit
 * images.max_size; never keep, the image about to run. */
static void evict(const struct vj_host_config *h, const char *keep)
{
	cleanup_fd int cachefd = open(h->image_cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_with(closep_dir) DIR *d = cachefd < 0 ? NULL : opendir(h->image_cache);
	cleanup_free struct cached *list = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	struct dirent *e;
	struct stat st;

	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 64 || (strcmp(e->d_name + 64, ".erofs") && strcmp(e->d_name + 64, ".ext4")) ||
		    fstatat(cachefd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		total += (uint64_t)st.st_blocks * 512;
		if (!strncmp(e->d_name, keep, 64))
			continue;
		if (n == cap) {
			struct cached *g = reallocarray(list, cap = cap ? 2 * cap : 16, sizeof(*g));
			if (!g)
				return;
			list = g;
		}
		snprintf(list[n].name, sizeof(list[n].name), "%s", e->d_name);
		list[n].used = st.st_mtim;
		list[n++].size = (uint64_t)st.st_blocks * 512;
	}
	if (n)
		qsort(list, n, sizeof(*list), by_use);
	for (size_t i = 0; i < n && total > h->image_cache_max; i++) {
		char lock[96], json[96];
		snprintf(lock, sizeof(lock), "%.64s.lock", list[i].name);
		snprintf(json, sizeof(json), "%.64s.json", list[i].name);
		/* One being converted right now (its lock held) stays. */
		cleanup_fd int lfd = openat(cachefd, lock, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) < 0)
			continue;
		if (unlinkat(cachefd, list[i].name, 0) == 0) {
			total -= list[i].size;
			vj_log(VJ_LOG_INFO, "image cache: evicted %.64s (%llu bytes)", list[i].name,
			       (unsigned long long)list[i].size);
		}
		unlinkat(cachefd, json, 0);
		unlinkat(cachefd, lock, 0);
	}
}

static int read_cached_config(const struct vj_host_config *h, const char *hex,
			      struct vj_image_config *c, struct vj_err *err)
{
	char name[96];
	snprintf(name, sizeof(name), "%s.json", hex);
	cleanup_free char *path = cache_path(h, name);
	if (!path)
		return vj_fail(err, -ENOMEM, "out of memory");
	cleanup_fd int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return vj_fail_errno(err, -errno, "%s", path);
	cleanup_free char *json = NULL;
	int r = vj_blob_slurp((struct vj_blob){ fd, 0, (uint64_t)st.st_size }, VJ_IMAGE_JSON_MAX,
			      NULL, &json, err);
	if (r < 0)
		return vj_wrap(err, "%s", path);
	cleanup_free char(*ids)[VJ_IMAGE_DIGEST_MAX] = calloc(VJ_IMAGE_LAYERS_MAX, sizeof(*ids));
	unsigned n;
	if (!ids)
		return vj_fail(err, -ENOMEM, "out of memory");
	return vj_image_config_parse(json, (size_t)st.st_size, c, ids, VJ_IMAGE_LAYERS_MAX, &n, err);
}

static int open_locked(const struct vj_host_config *h, struct vj_image_parts *p,
		       struct vj_root_image *out, struct vj_err *err)
{
	const char *hex = p->config_digest + 7;
	char name[96];
	int r;

	snprintf(name, sizeof(name), "%s.lock", hex);
	cleanup_free char *lock = cache_path(h, name);
	snprintf(name, sizeof(name), "%s.%s", hex, fs_name(h->image_ext4));
	if (!lock || !(out->path = cache_path(h, name)))
		return vj_fail(err, -ENOMEM, "out of memory");
	cleanup_fd int lfd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lfd < 0)
		return vj_fail_errno(err, -errno, "%s", lock);
	while (flock(lfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return vj_fail_errno(err, -errno, "lock %s", lock);
	if (access(out->path, F_OK) < 0) {
		if ((r = convert(h, p, hex, err)) < 0) {
			unlink(lock);
			return r;
		}
		out->converted = true;
	}
	/* Its last use, for eviction. */
	if (utimensat(AT_FDCWD, out->path, NULL, AT_SYMLINK_NOFOLLOW) < 0)
		return vj_fail_errno(err, -errno, "%s", out->path);
	return read_cached_config(h, hex, &out->config, err);
}

int vj_image_open(const struct vj_host_config *h, const char *image, struct vj_root_image *out,
		  struct vj_err *err)
{
	cleanup_with(vj_image_parts_close) struct vj_image_parts p = { .fd = -1 };
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = ensure_cache(h, err)) < 0)
		return r;
	if ((r = vj_image_parts_open(image, &p, err)) < 0)
		return vj_wrap(err, "image %s", image);
	if (!(out->fstype = strdup(fs_name(h->image_ext4))))
		return vj_fail(err, -ENOMEM, "out of memory");
	snprintf(out->digest, sizeof(out->digest), "%s", p.config_digest);
	if ((r = open_locked(h, &p, out, err)) < 0) {
		vj_root_image_release(out);
		return vj_wrap(err, "image %s", image);
	}
	if (out->converted)
		evict(h, p.config_digest + 7);
	return 0;
}

#define ROOTFS_PREFIX ".rootfs."

/* Locks the cache directory itself (how: LOCK_SH to create an image,
 * LOCK_EX to sweep), through a descriptor of its own; that descriptor, or
 * -errno. */
static int rootfs_lock(int cachefd, int how)
{
	int fd = openat(cachefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (flock(fd, how) < 0) {
		if (errno != EINTR) {
			int r = -errno;
			close(fd);
			return r;
		}
	}
	return fd;
}

/* Removes the per-sandbox images whose launchers are gone: those whose
 * lock nobody holds. A busy cache is no reason to refuse a sandbox, so a
 * failure here is only logged. */
static void sweep_rootfs_images(const struct vj_host_config *h, int cachefd)
{
	cleanup_fd int lock = rootfs_lock(cachefd, LOCK_EX);
	cleanup_with(closep_dir) DIR *d = NULL;
	struct dirent *e;

	if (lock < 0) {
		vj_log(VJ_LOG_INFO, "image cache %s: lock: %s", h->image_cache, strerror(-lock));
		return;
	}
	if (!(d = opendir(h->image_cache)))
		return;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (strncmp(e->d_name, ROOTFS_PREFIX, strlen(ROOTFS_PREFIX)) ||
		    len < strlen(ROOTFS_PREFIX ".erofs") || strcmp(e->d_name + len - 6, ".erofs"))
			continue;
		cleanup_fd int fd = openat(cachefd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; /* its launcher lives */
		if (unlinkat(cachefd, e->d_name, 0) == 0)
			vj_log(VJ_LOG_INFO, "image cache: removed %s, left by a launcher that is gone",
			       e->d_name);
	}
}

/* out->path created and locked for this launcher, after the sweep. */
static int make_rootfs_output(const struct vj_host_config *h, struct vj_root_image *out,
			      struct vj_err *err)
{
	cleanup_fd int cachefd = open(h->image_cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_fd int lock = -1;
	int r;

	if (cachefd < 0)
		return vj_fail_errno(err, -errno, "image cache %s", h->image_cache);
	sweep_rootfs_images(h, cachefd);
	if ((lock = rootfs_lock(cachefd, LOCK_SH)) < 0)
		return vj_fail_errno(err, lock, "lock image cache %s", h->image_cache);
	if ((r = make_output(out->path, 6, &out->lock_fd, err)) < 0)
		return r;
	out->lock_held = true;
	out->remove_after = true;
	/* Shared, as the read-only drive's own lock is (the VMM's): a sweep's
	 * exclusive one fails while either is held. A new file of ours:
	 * nobody can hold it exclusively. */
	if (flock(out->lock_fd, LOCK_SH | LOCK_NB) < 0)
		return vj_fail_errno(err, -errno, "lock %s", out->path);
	return 0;
}

int vj_image_from_rootfs(const struct vj_host_config *h, const char *dir,
			 struct vj_root_image *out, struct vj_err *err)
{
	struct stat st;
	int r;

	memset(out, 0, sizeof(*out));
	out->lock_fd = -1;
	if ((r = ensure_cache(h, err)) < 0)
		return r;
	if (stat(dir, &st) < 0)
		return vj_fail_errno(err, -errno, "root file system %s", dir);
	if (!S_ISDIR(st.st_mode))
		return vj_fail(err, -ENOTDIR, "root file system %s: not a directory", dir);
	if (asprintf(&out->path, "%s/" ROOTFS_PREFIX "XXXXXX.erofs", h->image_cache) < 0 ||
	    !(out->fstype = strdup("erofs"))) {
		out->path = NULL;
		vj_root_image_release(out);
		return vj_fail(err, -ENOMEM, "out of memory");
	}
	if ((r = make_rootfs_output(h, out, err)) < 0) {
		vj_root_image_release(out);
		return r;
	}
	out->converted = true;
	/* Bounded like one image's conversion: the operator's per-image limits. */
	if ((r = run_mkfs(false, dir, out->path, 0,
			  2 * h->image_max_bytes + h->image_max_files * 4096 + (64u << 20), err)) < 0 ||
	    (r = seal_output(out->path, err)) < 0) {
		vj_root_image_release(out);
		return vj_wrap(err, "root file system %s", dir);
	}
	return 0;
}

int vj_image_check_path(const struct vj_host_config *h, const char *image, struct vj_err *err)
{
	cleanup_free char *real = realpath(image, NULL);
	if (!real)
		return vj_fail_errno(err, -errno, "image %s", image);
	for (unsigned i = 0; i < h->nimage_roots; i++) {
		size_t n = strlen(h->image_roots[i]);
		while (n > 1 && h->image_roots[i][n - 1] == '/')
			n--;
		if (!strncmp(real, h->image_roots[i], n) && (real[n] == '/' || (n == 1 && real[0] == '/')))
			return 0;
	}
	return vj_fail(err, -EACCES, "image %s: not beneath an image root of %s (roots.images)",
		       image, h->source);
}

void vj_root_image_release(struct vj_root_image *img)
{
	if (img->remove_after && img->path)
		unlink(img->path);
	/* Unlocked after the unlink: a sweep never sees it free and there. */
	if (img->lock_held)
		close(img->lock_fd);
	free(img->path);
	free(img->fstype);
	vj_image_config_free(&img->config);
	memset(img, 0, sizeof(*img));
}
