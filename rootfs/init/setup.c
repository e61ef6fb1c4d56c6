#include "setup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

static const struct mount_entry {
	const char *source, *target, *type;
	unsigned long flags;
	const char *options;
} mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755" },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666" },
	{ "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
	{ "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
};

/* Programs expect these; devtmpfs does not provide them. */
static const struct dev_link {
	const char *target, *path;
} dev_links[] = {
	{ "/proc/self/fd", "/dev/fd" },
	{ "/proc/self/fd/0", "/dev/stdin" },
	{ "/proc/self/fd/1", "/dev/stdout" },
	{ "/proc/self/fd/2", "/dev/stderr" },
};

int vj_init_mount_all(struct vj_err *err)
{
	for (size_t i = 0; i < VJ_ARRAY_SIZE(mounts); i++) {
		const struct mount_entry *m = &mounts[i];

		if (mkdir(m->target, 0755) < 0 && errno != EEXIST)
			return vj_fail_errno(err, -errno, "create mount point %s", m->target);
		/* EBUSY: the same file system is mounted there already, as
		 * devtmpfs is on /dev when the kernel mounts it (an ext4 root
		 * with CONFIG_DEVTMPFS_MOUNT). */
		if (mount(m->source, m->target, m->type, m->flags, m->options) < 0 &&
		    errno != EBUSY)
			return vj_fail_errno(err, -errno, "mount %s on %s", m->type, m->target);
	}
	for (size_t i = 0; i < VJ_ARRAY_SIZE(dev_links); i++)
		if (symlink(dev_links[i].target, dev_links[i].path) < 0 && errno != EEXIST)
			return vj_fail_errno(err, -errno, "symlink %s", dev_links[i].path);
	return 0;
}

int vj_init_set_hostname(const char *name, struct vj_err *err)
{
	if (sethostname(name, strlen(name)) < 0)
		return vj_fail_errno(err, -errno, "set hostname \"%s\"", name);
	return 0;
}

int vj_init_set_clock(uint64_t realtime_ns, struct vj_err *err)
{
	const struct timespec t = { .tv_sec = (time_t)(realtime_ns / 1000000000u),
				    .tv_nsec = (long)(realtime_ns % 1000000000u) };

	if (clock_settime(CLOCK_REALTIME, &t) < 0)
		return vj_fail_errno(err, -errno, "set the clock to %llu ns",
				     (unsigned long long)realtime_ns);
	return 0;
}

int vj_init_reseed(const uint8_t *bytes, size_t len, struct vj_err *err)
{
	cleanup_fd int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	cleanup_free struct rand_pool_info *info = NULL;
	int r = 0;

	if (fd < 0)
		return vj_fail_errno(err, -errno, "open /dev/urandom");
	if (len > 4096 || !(info = calloc(1, sizeof(*info) + len + 3)))
		return vj_fail(err, -ENOMEM, "reseed: %zu bytes of entropy: out of memory", len);
	info->entropy_count = (int)(len * 8);
	info->buf_size = (int)len;
	memcpy(info->buf, bytes, len);
	if (ioctl(fd, RNDADDENTROPY, info) < 0)
		r = vj_fail_errno(err, -errno, "add the host's entropy (RNDADDENTROPY)");
	explicit_bzero(info->buf, len);
	if (r == 0 && ioctl(fd, RNDRESEEDCRNG) < 0)
		r = vj_fail_errno(err, -errno, "reseed the random generator (RNDRESEEDCRNG)");
	return r;
}

int vj_init_ctrl_alt_del_to_init(void)
{
	return reboot(RB_DISABLE_CAD) < 0 ? -errno : 0;
}

int vj_init_power_off(void)
{
	sync();
	reboot(RB_AUTOBOOT);
	return -errno;
}
