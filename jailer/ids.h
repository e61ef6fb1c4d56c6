/*
 * Host ids: every sandbox runs as host uids and gids of its own, which no
 * other live sandbox has, so that no sandbox (nor anything else running
 * as a sandbox's ids) can signal, ptrace or read another's processes.
 *
 * The launcher takes a block of the operator's range (`ids:` in the host
 * file: uid_min..uid_max, gid_min..gid_max, block ids each), the lowest
 * block whose uids and gids are all free; or, in the flags form, reserves
 * the ids the operator names. It holds them by write locks on their bytes
 * in one file that every launcher on the host shares, whatever its run
 * directory or host file:
 *
 *	VJ_IDS_LOCK   byte U: host uid U; byte VJ_IDS_GID_OFFSET + G: host gid G
 *
 * The locks are open file description locks (F_OFD_SETLK): they belong
 * to the launcher's own open of the file, so the kernel lets go of them
 * when the launcher ends, however it ends (its VMM and broker, killed by
 * its death, run nothing more), and no record of them can go stale.
 */
#ifndef VJ_IDS_H
#define VJ_IDS_H

#include <stdint.h>

#include "error.h"
#include "policy.h"

#define VJ_IDS_LOCK "/run/vmjail.ids"
#define VJ_IDS_GID_OFFSET (1ll << 32)

struct vj_ids {
	int lock_fd; /* -1: none held */
	uint32_t uid, gid; /* the first host uid and gid of the sandbox's ids */
	uint32_t count;    /* how many of each */
};

/*
 * The lowest block of the host's range whose uids and gids no live
 * sandbox holds. -EBUSY when every block is held: one line naming the
 * range and the host file.
 */
int vj_ids_allocate(struct vj_ids *ids, const char *lock_path, const struct vj_host_config *h,
		    struct vj_err *e);

/* uid..uid+count-1 and gid..gid+count-1, as the operator named them;
 * -EBUSY when a live sandbox holds any of them. */
int vj_ids_reserve(struct vj_ids *ids, const char *lock_path, uint32_t uid, uint32_t gid,
		   uint32_t count, struct vj_err *e);

/* Frees them for the next sandbox: only once none of the sandbox's
 * processes is left. Safe on ids never taken. */
void vj_ids_release(struct vj_ids *ids);

#endif
