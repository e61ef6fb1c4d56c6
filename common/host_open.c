#include "host_open.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

int vj_open_tenant_path(const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

static int open_path(const char *path, int flags, enum vj_open_mode how)
{
	int fd;

	if (how == VJ_OPEN_TENANT_PATH)
		return vj_open_tenant_path(path, flags, 0640);
	fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0640);
	return fd < 0 ? -errno : fd;
}

int vj_open_file(struct vj_file *f, const char *what, int flags, enum vj_file_kind kind,
		 enum vj_open_mode how, struct vj_err *e)
{
	cleanup_fd int fd = -1;
	struct stat st;
	bool ok;

	fd = open_path(f->name, flags, how);
	if (fd == -ELOOP && how == VJ_OPEN_TENANT_PATH)
		return vj_fail(e, fd, "open %s (%s): the path contains a symbolic link (refused)", what,
			       f->name);
	if (fd < 0)
		return vj_fail_errno(e, fd, "open %s (%s)", what, f->name);
	if (fstat(fd, &st) < 0)
		return vj_fail_errno(e, -errno, "stat %s (%s)", what, f->name);
	ok = S_ISREG(st.st_mode) || (kind == VJ_FILE_DRIVE && S_ISBLK(st.st_mode));
	if (!ok)
		return vj_fail(e, -EINVAL, "open %s (%s): not a regular file%s", what, f->name,
			       kind == VJ_FILE_DRIVE ? " or block device" : "");
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return vj_fail_errno(e, -errno, "fcntl %s (%s)", what, f->name);
	f->fd = vj_steal_fd(&fd);
	return 0;
}

static void drive_what(const struct vj_drive_config *d, unsigned index, char *what, size_t len)
{
	if (d->id[0])
		snprintf(what, len, "drive \"%s\"", d->id);
	else
		snprintf(what, len, "drive %u", index);
}

/* The lock lives with the open file description, so it lasts as long as
 * any descriptor of it does (the VMM's, the launcher's), or until it is
 * handed over (a migration's source unlocks at the final pause). */
int vj_lock_drive(const struct vj_drive_config *d, unsigned index, struct vj_err *e)
{
	char what[64];

	if (flock(d->file.fd, (d->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0)
		return 0;
	drive_what(d, index, what, sizeof(what));
	if (errno == EWOULDBLOCK)
		return vj_fail(e, -EBUSY, "open %s (%s): in use by another sandbox%s", what,
			       d->file.name, d->read_only ? " that writes to it" : "");
	return vj_fail_errno(e, -errno, "lock %s (%s)", what, d->file.name);
}

static int open_drive(struct vj_drive_config *d, unsigned index, enum vj_open_mode how,
		      bool lock, struct vj_err *e)
{
	char what[64];
	int r;

	drive_what(d, index, what, sizeof(what));
	if ((r = vj_open_file(&d->file, what, d->read_only ? O_RDONLY : O_RDWR, VJ_FILE_DRIVE, how,
			      e)) < 0)
		return r;
	if (lock && (r = vj_lock_drive(d, index, e)) < 0) {
		vj_closep(&d->file.fd);
		d->file.fd = -1;
	}
	return r;
}

int vj_open_drive(struct vj_drive_config *d, unsigned index, enum vj_open_mode how,
		  struct vj_err *e)
{
	return open_drive(d, index, how, true, e);
}

int vj_open_drive_incoming(struct vj_drive_config *d, unsigned index, enum vj_open_mode how,
			   struct vj_err *e)
{
	return open_drive(d, index, how, d->read_only, e);
}

int vj_tap_name_check(const char *name, struct vj_err *e)
{
	if (strlen(name) >= IFNAMSIZ)
		return vj_fail(e, -EINVAL, "tap \"%s\": name longer than %d bytes", name,
			       IFNAMSIZ - 1);
	/* '%' and "" would have the kernel choose the name: the tap must be
	 * the one named. */
	if (!name[0] || strpbrk(name, "/:% \t\n\v\f\r"))
		return vj_fail(e, -EINVAL, "tap \"%s\": not an interface name", name);
	return 0;
}

int vj_open_tap(struct vj_file *f, bool exclusive, struct vj_err *e)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | (exclusive ? IFF_TUN_EXCL : 0) };
	cleanup_fd int fd = -1;
	int r;

	if ((r = vj_tap_name_check(f->name, e)) < 0)
		return r;
	memcpy(ifr.ifr_name, f->name, strlen(f->name));
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return vj_fail_errno(e, -errno, "open /dev/net/tun for tap \"%s\"", f->name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		/* IFF_TUN_EXCL: EBUSY whenever the name is taken (EEXIST if it
		 * was taken between the kernel's look-up and its registration). */
		if (exclusive && (errno == EBUSY || errno == EEXIST))
			return vj_fail(e, -EEXIST, "tap \"%s\": an interface of that name already exists",
				       f->name);
		return vj_fail_errno(e, -errno, "%s tap \"%s\"", exclusive ? "create" : "attach to",
				     f->name);
	}
	f->fd = vj_steal_fd(&fd);
	return 0;
}
