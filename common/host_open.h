/*
 * The host-side openers of a VM's inputs, one implementation for the
 * launcher (which opens them before it builds the jail) and for a
 * standalone vmjail-vmm (which opens them itself, before it makes the
 * VM): kernel, initrd and console files, drives, taps. Each check a
 * launcher makes of what it opens, a standalone VMM makes too; the one
 * difference is whose paths they are (enum vj_open_mode).
 */
#ifndef VJ_HOST_OPEN_H
#define VJ_HOST_OPEN_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"

enum vj_open_mode {
	/* A standalone VMM's own paths, opened as the user who named them:
	 * symbolic links are followed, as anywhere else that user goes. */
	VJ_OPEN_OWN_PATH,
	/* Paths a tenant's policy named, opened by the launcher as root:
	 * no symbolic link anywhere in them (the policy library hands over
	 * canonical paths, so a link found now was put there after the
	 * check). */
	VJ_OPEN_TENANT_PATH,
};

enum vj_file_kind {
	VJ_FILE_REGULAR, /* kernel, initrd */
	VJ_FILE_DRIVE,   /* a regular file or a block device */
	VJ_FILE_CONSOLE, /* created when missing (0640), a regular file */
};

/* A path a tenant's policy named: openat2() with no symbolic link in it,
 * O_CLOEXEC | O_NOCTTY | O_NONBLOCK added. Returns the fd or -errno. */
int vj_open_tenant_path(const char *path, int flags, mode_t mode);

/*
 * Opens f->name into f->fd: O_NONBLOCK while it is opened and checked, so
 * that a FIFO planted in place of an image cannot hang the opener, then
 * blocking; anything but a regular file (or, for a drive, a block device)
 * is refused. what names it in messages ("kernel", "drive \"root\"").
 */
int vj_open_file(struct vj_file *f, const char *what, int flags, enum vj_file_kind kind,
		 enum vj_open_mode how, struct vj_err *e);

/*
 * Opens drive d (index: its place, for messages when it has no id) as
 * its read_only says, then locks it for as long as the descriptor lives:
 * a writable image is one VMM's alone, read-only ones may be shared (with
 * VMMs that only read it), whichever mode started those VMMs.
 */
int vj_open_drive(struct vj_drive_config *d, unsigned index, enum vj_open_mode how,
		  struct vj_err *e);

/*
 * The same for a live migration's destination: a writable drive is
 * opened but not locked, for the source's VMM holds its lock until the
 * handover (vmm/MIGRATION.md); the destination's VMM takes it with
 * vj_lock_drive() before its guest runs. Read-only drives are locked as
 * always.
 */
int vj_open_drive_incoming(struct vj_drive_config *d, unsigned index, enum vj_open_mode how,
			   struct vj_err *e);

/* Drive d's lock, taken without waiting (exclusive when writable): 0, or
 * -EBUSY when another open file holds a conflicting one, with one line
 * naming the drive. On a descriptor that holds it already, a no-op. */
int vj_lock_drive(const struct vj_drive_config *d, unsigned index, struct vj_err *e);

/* 0 if name is an interface name, and one the kernel would not complete
 * ('%'); else -EINVAL with one line naming the tap and why. */
int vj_tap_name_check(const char *name, struct vj_err *e);

/*
 * Opens tap f->name (IFF_TAP | IFF_NO_PI, without IFF_VNET_HDR: the
 * VMM's virtio-net strips and adds the header itself, so a VMM the guest
 * took over cannot hand the host kernel checksum or GSO metadata),
 * non-blocking, into f->fd, in the calling thread's network namespace.
 * A name vj_tap_name_check() refuses is refused. exclusive: a new interface only (IFF_TUN_EXCL; -EEXIST when
 * the name is taken), as the launcher creates its taps; otherwise an
 * existing tap of that name is attached to, as a standalone VMM is given
 * one made for it.
 */
int vj_open_tap(struct vj_file *f, bool exclusive, struct vj_err *e);

#endif
