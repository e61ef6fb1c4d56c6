/* The file system builders' confinement: see confine.h. */
#include "confine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "builder_bpf.inc"

/* The host's directories the builders run from, bound read-only into
 * their root (or recreated as the symbolic links merged-/usr systems
 * make of them), and the files they read. */
static const char *const tool_dirs[] = { "usr", "bin", "sbin", "lib", "lib64", "lib32", "libx32" };
static const char *const tool_files[] = { "etc/mke2fs.conf" };

/* What is at path, made as a place to mount the host's same entry on in
 * the new root (a directory, an empty file, or the same symbolic link);
 * 1 if there is nothing to mount (a link), 0 to mount, -1 when the host
 * has no such entry or the place cannot be made (the builder goes
 * without it). */
static int mount_point_for(const char *host, const char *inside)
{
	struct stat st;
	char link[PATH_MAX];
	ssize_t n;

	if (lstat(host, &st) < 0)
		return -1;
	if (S_ISLNK(st.st_mode)) {
		if ((n = readlink(host, link, sizeof(link) - 1)) < 0)
			return -1;
		link[n] = '\0';
		return symlink(link, inside) < 0 ? -1 : 1;
	}
	if (S_ISDIR(st.st_mode))
		return mkdir(inside, 0755) < 0 ? -1 : 0;
	int fd = open(inside, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* from bound on to, read-only unless writable; from may be a
 * /proc/self/fd/N link to a descriptor opened before the host's view
 * was covered. */
static int bind_into(const char *from, const char *to, bool writable)
{
	if (mount(from, to, NULL, MS_BIND, NULL) < 0)
		return -1;
	if (!writable &&
	    mount(NULL, to, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		return -1;
	return 0;
}

/* dir and out are opened in the new namespace (a bind's source must be
 * one of its mounts) before its /tmp is covered, and bound from there. */
int vj_build_confine(const char *dir, const char *out_path)
{
	char from[64];
	int src, out;

	if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    (src = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (out = open(out_path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    mount("vjmkfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") < 0 ||
	    mkdir("/tmp/src", 0755) < 0 || mkdir("/tmp/dev", 0755) < 0 ||
	    mkdir("/tmp/etc", 0755) < 0 || mkdir("/tmp/old", 0755) < 0 ||
	    mount_point_for("/dev/null", "/tmp/dev/null") != 0 ||
	    bind_into("/dev/null", "/tmp/dev/null", true) < 0)
		return -errno;
	snprintf(from, sizeof(from), "/proc/self/fd/%d", src);
	if (bind_into(from, "/tmp/src", false) < 0)
		return -errno;
	snprintf(from, sizeof(from), "/proc/self/fd/%d", out);
	int fd = open("/tmp/out", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	if (bind_into(from, "/tmp/out", true) < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(tool_dirs) / sizeof(tool_dirs[0]); i++) {
		char host[32], inside[48];
		snprintf(host, sizeof(host), "/%s", tool_dirs[i]);
		snprintf(inside, sizeof(inside), "/tmp/%s", tool_dirs[i]);
		int r = mount_point_for(host, inside);
		if (r == 0 && bind_into(host, inside, false) < 0)
			return -errno;
	}
	for (size_t i = 0; i < sizeof(tool_files) / sizeof(tool_files[0]); i++) {
		char host[64], inside[80];
		snprintf(host, sizeof(host), "/%s", tool_files[i]);
		snprintf(inside, sizeof(inside), "/tmp/%s", tool_files[i]);
		if (mount_point_for(host, inside) == 0 && bind_into(host, inside, false) < 0)
			return -errno;
	}
	close(src);
	close(out);
	/* The tmpfs becomes /; the host's tree goes with the old root. */
	if (chdir("/tmp") < 0 || syscall(SYS_pivot_root, ".", "old") < 0 || chroot(".") < 0 ||
	    umount2("/old", MNT_DETACH) < 0 || rmdir("/old") < 0 || chdir("/") < 0 ||
	    mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		return -errno;
	return 0;
}


int vj_build_seccomp(void)
{
	const struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(builder_bpf) / sizeof(builder_bpf[0])),
		.filter = (struct sock_filter *)builder_bpf,
	};

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return -errno;
	return 0;
}
