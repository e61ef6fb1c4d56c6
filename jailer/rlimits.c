#include "rlimits.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <sys/resource.h>

/*
 * nofile: the VMM holds its passed descriptors plus a few per device
 * queue; 1024 is far above that and bounds a descriptor leak.
 * nproc: counts every process of the sandbox uid on the host, so it can
 * only be a host-wide ceiling; pids.max is the per-sandbox bound.
 * memlock: nothing in the VMM locks memory; the kernel's own default.
 * core: a core dump would write guest memory to the host's disk.
 */
#define DEFAULT_NOFILE 1024
#define DEFAULT_NPROC 4096
#define DEFAULT_MEMLOCK (64u << 10)
/* Room for the VMM's own log lines in a stdout/stderr that is a file. */
#define LOG_SLACK (1u << 20)

/*
 * fsize: no file may grow past what a well-behaved VMM writes: a drive's
 * own size, or the console output cap (plus log lines) on top of what a
 * console/stdout/stderr file holds already. Without a console cap there
 * is nothing to derive a bound from. Guest RAM is anonymous memory, no
 * file: the cgroup bounds it, not fsize; but where the host allows
 * snapshots the VMM writes it into a snapshot's memory file.
 */
static uint64_t default_fsize(const struct vj_rlimit_inputs *in)
{
	uint64_t streams = 0;
	uint64_t files = in->largest_drive > in->snapshot_bytes ? in->largest_drive
								 : in->snapshot_bytes;

	if (in->stream_is_file) {
		if (!in->console_limit)
			return VJ_RLIMIT_INFINITY;
		streams = in->largest_stream + in->console_limit + LOG_SLACK;
		if (streams < in->largest_stream)
			return VJ_RLIMIT_INFINITY;
	}
	return files > streams ? files : streams;
}

static uint64_t pick(uint64_t policy, uint64_t dflt)
{
	return policy == VJ_UNLIMITED ? dflt : policy;
}

void vj_rlimits_resolve(const struct vj_rlimits *policy, const struct vj_rlimit_inputs *in,
			struct vj_rlimit_value out[VJ_RLIMITS_COUNT])
{
	out[0] = (struct vj_rlimit_value){ RLIMIT_NOFILE, "nofile",
					   pick(policy->nofile, DEFAULT_NOFILE) };
	out[1] = (struct vj_rlimit_value){ RLIMIT_NPROC, "nproc", pick(policy->nproc, DEFAULT_NPROC) };
	out[2] = (struct vj_rlimit_value){ RLIMIT_FSIZE, "fsize",
					   pick(policy->fsize, default_fsize(in)) };
	out[3] = (struct vj_rlimit_value){ RLIMIT_CORE, "core", pick(policy->core, 0) };
	out[4] = (struct vj_rlimit_value){ RLIMIT_MEMLOCK, "memlock",
					   pick(policy->memlock, DEFAULT_MEMLOCK) };
}

int vj_rlimits_apply(const struct vj_rlimit_value lim[VJ_RLIMITS_COUNT], struct vj_err *e)
{
	for (int i = 0; i < VJ_RLIMITS_COUNT; i++) {
		rlim_t v = lim[i].value == VJ_RLIMIT_INFINITY ? RLIM_INFINITY : (rlim_t)lim[i].value;
		struct rlimit rl = { v, v };
		if (setrlimit(lim[i].resource, &rl) < 0)
			return vj_fail_errno(e, -errno, "setrlimit %s %" PRIu64, lim[i].name,
					     lim[i].value);
	}
	return 0;
}

int vj_rlimits_fsize_raise(pid_t pid, uint64_t bytes, struct rlimit *saved, struct vj_err *e)
{
	struct rlimit want;

	if (prlimit(pid, RLIMIT_FSIZE, NULL, saved) < 0)
		return vj_fail_errno(e, -errno, "read the fsize limit of process %d", (int)pid);
	if (saved->rlim_cur == RLIM_INFINITY || saved->rlim_cur >= bytes)
		return 0;
	want.rlim_cur = (rlim_t)bytes;
	want.rlim_max = saved->rlim_max == RLIM_INFINITY || saved->rlim_max >= bytes
				? saved->rlim_max : (rlim_t)bytes;
	if (prlimit(pid, RLIMIT_FSIZE, &want, NULL) < 0)
		return vj_fail_errno(e, -errno, "raise the fsize limit of process %d to %" PRIu64,
				     (int)pid, bytes);
	return 0;
}

int vj_rlimits_fsize_restore(pid_t pid, const struct rlimit *saved, struct vj_err *e)
{
	if (prlimit(pid, RLIMIT_FSIZE, saved, NULL) < 0)
		return vj_fail_errno(e, -errno, "restore the fsize limit of process %d", (int)pid);
	return 0;
}
