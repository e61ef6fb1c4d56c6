/* The workload's root from a container image: see image_root.h. */
#include "image_root.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

#define ID_MAX 4294967294u /* (uid_t)-1 means "no change" to the kernel */
#define DB_MAX (1u << 20)  /* of /etc/passwd or /etc/group read */

static int mkdirs(const char *path)
{
	char p[256];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return -errno;
			*s = '/';
		}
	return mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* A mount point inside the image root, made in the overlay if the image
 * lacks it. */
static int inner_mount(const char *src, const char *dir, const char *type, unsigned long flags,
		       const char *opts, struct vj_err *err)
{
	char target[128];

	snprintf(target, sizeof(target), "%s%s", VJ_INIT_IMAGE_ROOT, dir);
	/* The image may have made it a symbolic link, to anywhere: it goes. */
	struct stat st;
	if (lstat(target, &st) == 0 && !S_ISDIR(st.st_mode) && unlink(target) < 0)
		return vj_fail_errno(err, -errno, "image root: replace %s", dir);
	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		return vj_fail_errno(err, -errno, "image root: create %s", dir);
	if (mount(src, target, type, flags, opts) < 0)
		return vj_fail_errno(err, -errno, "image root: mount %s on %s", src, dir);
	return 0;
}

int vj_init_image_root_mount(const struct vj_agent_root *r, struct vj_err *err)
{
	char dev[16], opts[160], size[48] = "";
	const char *fs = r->fstype == VJ_AGENT_ROOT_EROFS ? "erofs" : "ext4";
	int k;

	snprintf(dev, sizeof(dev), "/dev/vd%c", 'a' + r->drive);
	if ((k = mkdirs(VJ_INIT_IMAGE_LOWER)) < 0 || (k = mkdirs(VJ_INIT_IMAGE_RW)) < 0 ||
	    (k = mkdirs(VJ_INIT_IMAGE_ROOT)) < 0)
		return vj_fail_errno(err, k, "image root: create its mount points under /run/vmjail");
	if (mount(dev, VJ_INIT_IMAGE_LOWER, fs, MS_RDONLY | MS_NODEV, NULL) < 0)
		return vj_fail_errno(err, -errno, "image root: mount %s (%s) read-only", dev, fs);
	if (r->upper_size)
		snprintf(size, sizeof(size), ",size=%llu", (unsigned long long)r->upper_size);
	snprintf(opts, sizeof(opts), "mode=0755%s", size);
	if (mount("tmpfs", VJ_INIT_IMAGE_RW, "tmpfs", MS_NODEV, opts) < 0)
		return vj_fail_errno(err, -errno, "image root: mount its writable tmpfs");
	if (mkdir(VJ_INIT_IMAGE_RW "/upper", 0755) < 0 || mkdir(VJ_INIT_IMAGE_RW "/work", 0755) < 0)
		return vj_fail_errno(err, -errno, "image root: create the overlay's directories");
	if (mount("overlay", VJ_INIT_IMAGE_ROOT, "overlay", MS_NODEV,
		  "lowerdir=" VJ_INIT_IMAGE_LOWER ",upperdir=" VJ_INIT_IMAGE_RW
		  "/upper,workdir=" VJ_INIT_IMAGE_RW "/work") < 0)
		return vj_fail_errno(err, -errno, "image root: mount the overlay");
	if ((k = inner_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err)) < 0 ||
	    (k = inner_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
			     NULL, err)) < 0 ||
	    (k = inner_mount("/dev", "/dev", NULL, MS_BIND | MS_REC, NULL, err)) < 0 ||
	    (k = inner_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", err)) < 0)
		return k;
	return 0;
}

static long open_in_root(int rootfd, const char *path)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	return syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

int vj_init_image_workdir(int rootfd, const char *cwd, struct vj_err *err)
{
	char path[VJ_AGENT_CWD_MAX + 1];
	size_t len = strlen(cwd);

	if (len > VJ_AGENT_CWD_MAX)
		return vj_fail(err, -ENAMETOOLONG, "image WorkingDir: too long");
	for (size_t i = 1; i <= len; i++) {
		if (i < len && cwd[i] != '/')
			continue;
		memcpy(path, cwd, i);
		path[i] = '\0';
		cleanup_fd int fd = (int)open_in_root(rootfd, path);
		if (fd >= 0)
			continue;
		if (errno != ENOENT)
			return vj_fail_errno(err, -errno, "image WorkingDir %s: %s", cwd, path);
		char *slash = strrchr(path, '/');
		*slash = '\0';
		cleanup_fd int parent = (int)open_in_root(rootfd, path[0] ? path : "/");
		if (parent < 0 || (mkdirat(parent, slash + 1, 0755) < 0 && errno != EEXIST))
			return vj_fail_errno(err, -errno, "image WorkingDir %s: create it", cwd);
	}
	return 0;
}

static bool parse_id(const char *s, size_t n, uint32_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > ID_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* The image's file, read beneath its root (its symbolic links stay in
 * it); NULL if it has none. */
static char *read_db(int rootfd, const char *name)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	cleanup_fd int fd = (int)syscall(SYS_openat2, rootfd, name, &how, sizeof(how));
	if (fd < 0)
		return NULL;
	char *buf = malloc(DB_MAX + 1);
	size_t got = 0;
	ssize_t n;
	if (!buf)
		return NULL;
	while (got < DB_MAX && (n = read(fd, buf + got, DB_MAX - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return buf;
}

/*
 * The entry of /etc/passwd or /etc/group whose field 0 is key (by name)
 * or whose field 2 is key (by id): fields 2 and 3 (a group has no 3rd).
 */
static bool lookup(const char *db, const char *key, bool by_id, uint32_t *f2, uint32_t *f3)
{
	for (const char *line = db; line && *line;) {
		const char *end = strchrnul(line, '\n');
		const char *f[5] = { line };
		size_t nf = 1;
		for (const char *p = line; p < end && nf < 5; p++)
			if (*p == ':')
				f[nf++] = p + 1;
		if (nf >= 3) {
			const char *k = by_id ? f[2] : f[0];
			const char *kend = by_id ? (nf > 3 ? f[3] - 1 : end) : f[1] - 1;
			size_t klen = (size_t)(kend - k);
			if (klen == strlen(key) && !memcmp(k, key, klen)) {
				const char *idend = nf > 3 ? f[3] - 1 : end;
				bool ok = parse_id(f[2], (size_t)(idend - f[2]), f2);
				if (ok && f3)
					ok = nf > 4 && parse_id(f[3], (size_t)(f[4] - 1 - f[3]), f3);
				if (ok)
					return true;
			}
		}
		line = *end ? end + 1 : end;
	}
	return false;
}

int vj_init_image_user(int rootfd, const char *user, uint32_t *uid, uint32_t *gid,
		       struct vj_err *err)
{
	char name[VJ_AGENT_USER_MAX + 1];
	const char *colon = strchr(user, ':'), *group = colon ? colon + 1 : NULL;
	cleanup_free char *passwd = read_db(rootfd, "/etc/passwd");
	uint32_t unused;

	snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - user) : (int)strlen(user), user);
	if (!name[0])
		return vj_fail(err, -EINVAL, "image User \"%s\": no user", user);
	if (parse_id(name, strlen(name), uid)) {
		/* A number need not be in the image's passwd. */
		char id[16];
		snprintf(id, sizeof(id), "%u", *uid);
		if (!passwd || !lookup(passwd, id, true, &unused, gid))
			*gid = 0;
	} else if (!passwd || !lookup(passwd, name, false, uid, gid)) {
		return vj_fail(err, -EINVAL, "image User \"%s\": no user %s in the image's /etc/passwd",
			       user, name);
	}
	if (!group)
		return 0;
	if (parse_id(group, strlen(group), gid))
		return 0;
	cleanup_free char *groups = read_db(rootfd, "/etc/group");
	if (!*group || !groups || !lookup(groups, group, false, gid, NULL))
		return vj_fail(err, -EINVAL, "image User \"%s\": no group %s in the image's /etc/group",
			       user, group);
	return 0;
}
