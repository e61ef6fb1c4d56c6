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

int vj_init_mount_all(char *why, size_t whylen)
{
	for (size_t i = 0; i < VJ_ARRAY_SIZE(mounts); i++) {
		const struct mount_entry *m = &mounts[i];

		if (mkdir(m->target, 0755) < 0 && errno != EEXIST) {
			snprintf(why, whylen, "create mount point %s: %s", m->target, strerror(errno));
			return -errno;
		}
		/* EBUSY: the same file system is mounted there already, as
		 * devtmpfs is on /dev when the kernel mounts it (an ext4 root
		 * with CONFIG_DEVTMPFS_MOUNT). */
		if (mount(m->source, m->target, m->type, m->flags, m->options) < 0 &&
		    errno != EBUSY) {
			snprintf(why, whylen, "mount %s on %s: %s", m->type, m->target,
				 strerror(errno));
			return -errno;
		}
	}
	for (size_t i = 0; i < VJ_ARRAY_SIZE(dev_links); i++)
		if (symlink(dev_links[i].target, dev_links[i].path) < 0 && errno != EEXIST) {
			snprintf(why, whylen, "symlink %s: %s", dev_links[i].path, strerror(errno));
			return -errno;
		}
	return 0;
}

int vj_init_set_hostname(const char *name, char *why, size_t whylen)
{
	if (sethostname(name, strlen(name)) < 0) {
		snprintf(why, whylen, "set hostname \"%s\": %s", name, strerror(errno));
		return -errno;
	}
	return 0;
}

int vj_init_set_clock(uint64_t realtime_ns, char *why, size_t whylen)
{
	const struct timespec t = { .tv_sec = (time_t)(realtime_ns / 1000000000u),
				    .tv_nsec = (long)(realtime_ns % 1000000000u) };

	if (clock_settime(CLOCK_REALTIME, &t) < 0) {
		snprintf(why, whylen, "set the clock to %llu ns: %s",
			 (unsigned long long)realtime_ns, strerror(errno));
		return -errno;
	}
	return 0;
}

int vj_init_reseed(const uint8_t *bytes, size_t len, char *why, size_t whylen)
{
	cleanup_fd int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	cleanup_free struct rand_pool_info *info = NULL;

	if (fd < 0) {
		snprintf(why, whylen, "open /dev/urandom: %s", strerror(errno));
		return -errno;
	}
	if (len > 4096 || !(info = calloc(1, sizeof(*info) + len + 3))) {
		snprintf(why, whylen, "reseed: %zu bytes of entropy: out of memory", len);
		return -ENOMEM;
	}
	info->entropy_count = (int)(len * 8);
	info->buf_size = (int)len;
	memcpy(info->buf, bytes, len);
	if (ioctl(fd, RNDADDENTROPY, info) < 0) {
		snprintf(why, whylen, "add the host's entropy (RNDADDENTROPY): %s", strerror(errno));
		return -errno;
	}
	explicit_bzero(info->buf, len);
	if (ioctl(fd, RNDRESEEDCRNG) < 0) {
		snprintf(why, whylen, "reseed the random generator (RNDRESEEDCRNG): %s",
			 strerror(errno));
		return -errno;
	}
	return 0;
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
