#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

/* Read-only from the start unless a /proc mount point must be made in
 * it first. */
static int new_tmpfs(bool read_only, struct vj_err *e)
{
	/* Small on purpose: it holds at most a /proc mount point. */
	static const char *const opts[][2] = {
		{ "mode", "0555" }, { "size", "16k" }, { "nr_inodes", "8" },
	};
	cleanup_fd int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	int mnt;

	if (fs < 0)
		return vj_fail_errno(e, -errno, "jail root: fsopen(tmpfs)");
	for (size_t i = 0; i < VJ_ARRAY_SIZE(opts); i++)
		if (fsconfig(fs, FSCONFIG_SET_STRING, opts[i][0], opts[i][1], 0) < 0)
			return vj_fail_errno(e, -errno, "jail root: tmpfs %s=%s", opts[i][0],
					     opts[i][1]);
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return vj_fail_errno(e, -errno, "jail root: create tmpfs");
	mnt = fsmount(fs, FSMOUNT_CLOEXEC,
		      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
			      (read_only ? MOUNT_ATTR_RDONLY : 0));
	if (mnt < 0)
		return vj_fail_errno(e, -errno, "jail root: fsmount");
	return mnt;
}

int vj_mounts_enter_empty_root(bool with_proc, struct vj_err *e)
{
	cleanup_fd int mnt = -1;

	/* Nothing we mount reaches the host, nothing the host mounts later
	 * reaches us. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return vj_fail_errno(e, -errno, "jail: make / private");
	if ((mnt = new_tmpfs(!with_proc, e)) < 0)
		return mnt;
	/* Over the old root itself: no directory needed, none to clean up,
	 * and nothing to look up that a user namespace could not reach. */
	if (move_mount(mnt, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return vj_fail_errno(e, -errno, "jail root: attach tmpfs");
	if (fchdir(mnt) < 0)
		return vj_fail_errno(e, -errno, "jail root: chdir");
	/* Before the old root goes: in a user namespace the kernel only
	 * allows a new proc while a full one is still visible. */
	if (with_proc && (mkdir("proc", 0555) < 0 ||
			  mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0))
		return vj_fail_errno(e, -errno, "jail root: mount /proc");
	/* pivot_root(".", ".") stacks the old root on top of the new one;
	 * detaching it leaves the tmpfs alone, without an old-root directory. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return vj_fail_errno(e, -errno, "jail root: pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return vj_fail_errno(e, -errno, "jail root: detach the old root");
	if (chdir("/") < 0)
		return vj_fail_errno(e, -errno, "jail root: chdir /");
	/* Without /proc it was mounted read-only: no remount needed. */
	if (with_proc && mount(NULL, "/", NULL,
			       MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			       NULL) < 0)
		return vj_fail_errno(e, -errno, "jail root: remount read-only");
	return 0;
}
