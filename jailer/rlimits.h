/*
 * The VMM's resource limits: the policy's, and for each it leaves unset a
 * default chosen so that a VMM taken over by its guest can do little harm
 * beyond what a well-behaved one does anyway.
 */
#ifndef VJ_RLIMITS_H
#define VJ_RLIMITS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "error.h"
#include "policy.h"

#define VJ_RLIMITS_COUNT 5
#define VJ_RLIMIT_INFINITY UINT64_MAX

struct vj_rlimit_value {
	int resource; /* RLIMIT_* */
	const char *name;
	uint64_t value; /* soft = hard; VJ_RLIMIT_INFINITY for none */
};

/* What the fsize default depends on. */
struct vj_rlimit_inputs {
	uint64_t largest_drive;  /* largest writable drive, bytes */
	bool stream_is_file;     /* the console file, stdout or stderr is a regular file */
	uint64_t largest_stream; /* ... and the largest of them now, bytes */
	uint64_t console_limit;  /* guest console cap, 0 = none */
	/* A snapshot's memory file, guest RAM large, where the host allows
	 * snapshots (roots.snapshots); 0: none can be taken. */
	uint64_t snapshot_bytes;
};

/* Pure: the policy's limits with the defaults filled in. */
void vj_rlimits_resolve(const struct vj_rlimits *policy, const struct vj_rlimit_inputs *in,
			struct vj_rlimit_value out[VJ_RLIMITS_COUNT]);

/* Sets every limit on the calling process. */
int vj_rlimits_apply(const struct vj_rlimit_value lim[VJ_RLIMITS_COUNT], struct vj_err *e);

/*
 * A snapshot's memory file is as large as guest RAM, which the VMM's
 * fsize default (its drives and console) does not cover, and the kernel
 * checks every write's end offset against the limit, however large the
 * file is already. So for the length of a snapshot (VJ_VMM_CTL_SNAPSHOT)
 * the launcher raises the running VMM's RLIMIT_FSIZE to at least bytes,
 * keeping what it was in *saved, and then puts that back: the jail's
 * bound stays tight while the VMM runs the guest. A limit already large
 * enough is left alone.
 */
int vj_rlimits_fsize_raise(pid_t pid, uint64_t bytes, struct rlimit *saved, struct vj_err *e);
int vj_rlimits_fsize_restore(pid_t pid, const struct rlimit *saved, struct vj_err *e);

#endif
