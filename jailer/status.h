/*
 * What a sandbox's run directory says about it to `vmjail ps`, `wait` and
 * `logs` without asking its launcher (CONTROL.md, "Files beside the
 * socket"): `sandbox.json`, written once when its VMM runs, and `status`,
 * rewritten at every change of state. Both are replaced whole (a new file
 * renamed over the old), so a reader sees the old or the new, and both
 * belong to the sandbox's owner, who may read them.
 */
#ifndef VJ_JAILER_STATUS_H
#define VJ_JAILER_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "json.h"
#include "rundir.h"

#define VJ_STATUS_FILE VJ_RUNDIR_STATUS
#define VJ_INFO_FILE VJ_RUNDIR_INFO

/* Replaces `status` with "STATE\n", or "exited STATUS\n" when exit_status
 * >= 0. owner: the file's owner ((uid_t)-1: root). */
int vj_status_write(int dirfd, const char *state, int exit_status, uid_t owner);

/* The state and, for "exited" and "cleaning", the status (-1 otherwise). -ENOENT when
 * there is no status file yet. */
int vj_status_read(int dirfd, char *state, size_t cap, int *exit_status);

/* Replaces `sandbox.json` with w's text. */
int vj_info_write(int dirfd, const struct vj_jw *w, uid_t owner);

/* A process's start time (field 22 of /proc/PID/stat, in clock ticks
 * since boot): with the pid, it names one process, never a later one
 * that got the same pid. 0 when the process does not exist. */
uint64_t vj_proc_start_time(pid_t pid);

/* User and system CPU time a process has used, all its threads (and
 * reaped children) counted, in microseconds; 0 when it is gone. */
uint64_t vj_proc_cpu_usec(pid_t pid);

/* One sandbox as `vmjail ps` shows it. */
struct vj_ps_entry {
	char id[72];
	char state[16];   /* starting, running, paused, stopping, exited, cleaning, stale */
	int exit_status;  /* exited: the status; -1 otherwise */
	pid_t launcher_pid, vmm_pid;
	uid_t owner;      /* (uid_t)-1: none */
	uint64_t created_ms;
	uint32_t vcpus;
	uint64_t memory;
	char policy[256];
	char workload[256]; /* argv joined by spaces, cut */
};

/* The sandboxes under run_dir that the caller may read, sorted by id,
 * in a malloc'd array (*n entries). A directory without readable files
 * yet is "starting"; one whose launcher is gone without having said it
 * exited is "stale". */
int vj_ps_list(const char *run_dir, struct vj_ps_entry **out, size_t *n, struct vj_err *e);

/* One sandbox's entry, from its directory. */
int vj_ps_read(int dirfd, const char *id, struct vj_ps_entry *p);

#endif
