/*
 * The launcher while its sandbox runs: one event loop over the VMM's
 * pidfd, the stop signals, the wall-clock limit, the VMM's control
 * channel (common/vmm_ctl.h) and the sandbox's control socket
 * (CONTROL.md). It ends when the VMM has exited, and says with what.
 * What the loop cannot know itself (the workload's agent, the cgroup, the
 * policy) it asks run.c through struct vj_supervisor_ops.
 */
#ifndef VJ_JAILER_SUPERVISOR_H
#define VJ_JAILER_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "control_socket.h"
#include "error.h"
#include "exec.h"
#include "json.h"

enum vj_sandbox_state {
	VJ_SB_STARTING,
	VJ_SB_RUNNING,
	VJ_SB_PAUSED,
	VJ_SB_STOPPING,
	VJ_SB_EXITED,
	VJ_SB_STATES,
};

const char *vj_sandbox_state_name(enum vj_sandbox_state s);

/* Signals that stop a sandbox (sent to its launcher). */
#define VJ_STOP_SIGNALS { SIGINT, SIGTERM, SIGHUP }

struct vj_supervisor_ops {
	/* query-status's fields (the open object w) */
	void (*status)(void *ctx, struct vj_jw *w);
	/* inspect's "config": the effective policy, a JSON value */
	void (*config)(void *ctx, struct vj_jw *w);
	/* the cgroup's CPU time and memory in use */
	int (*cgroup_stats)(void *ctx, uint64_t *cpu_usec, uint64_t *memory_bytes);
	/* the guest agent: "none", "waiting", "connected" or "done" */
	const char *(*agent_state)(void *ctx);
	/* to the workload through the agent: a signal, the wall clock;
	 * -ENOTCONN when no session runs */
	int (*agent_signal)(void *ctx, int sig);
	int (*agent_settime)(void *ctx);
	/* the sandbox changed state (its status file) */
	void (*state_changed)(void *ctx, enum vj_sandbox_state st);
};

struct vj_supervisor {
	/* Set by the caller. */
	const char *id;
	int pidfd;          /* the VMM */
	int sigfd;          /* a signalfd of VJ_STOP_SIGNALS */
	int vmm_ctl;        /* the launcher's end of the VMM's channel; -1: none */
	uint64_t vmm_exec_ns; /* CLOCK_MONOTONIC when the VMM was exec'd */
	uint64_t timeout_ms; /* the policy's wall-clock limit; 0: none */
	bool has_agent;     /* a workload runs through the guest agent */
	/* For `snapshot`: where one may be written (the host file's
	 * roots.snapshots), and what its snapshot.json says of the source. A
	 * sandbox with a writable drive is never snapshotted: its clones
	 * would write one image. */
	const char (*snapshot_roots)[VJ_PATH_MAX];
	unsigned nsnapshot_roots;
	int writable_drive; /* index of the policy's first writable drive; -1: none */
	/* For `migrate`: the first writable drive beneath none of the host
	 * file's shared roots (roots.shared), which cannot move; -1: none. */
	int local_drive;
	const char *local_drive_path;
	uid_t owner;        /* who besides root may restore its snapshots; (uid_t)-1: no one */
	const char *policy_path;
	struct vj_ctl_server *ctl; /* the control socket; NULL: none */
	struct vj_execs *execs;    /* `exec` (exec.h); NULL: no workload, so none */
	const struct vj_supervisor_ops *ops;
	void *ctx;
	/* Return once the VMM reports its end (VJ_VMM_CTL_EVENT_ENDED),
	 * without waiting for it to exit: its VM's teardown in the kernel
	 * can then finish in the background (run.c). */
	bool end_early;

	/* The loop's own. */
	int epfd, tfd;
	enum vj_sandbox_state state;
	bool timed_out;
	bool killing;          /* SIGKILL sent, or due at the deadline */
	bool forwarded;        /* a stop signal was passed to the workload */
	uint64_t deadline_ns;  /* CLOCK_MONOTONIC; 0: none */
	uint64_t timeout_at_ns;
	uint32_t seq;
	int status;            /* what the run exits with, once the VMM is gone */
	bool migrated;         /* the destination runs the guest: nothing of it stays here */
	bool ended;            /* the VMM reported its end, with ended_status */
	int ended_status;
	/* end_early took effect: the VMM may still be exiting, and is not
	 * reaped; its pidfd says when it is gone. */
	bool left_exiting;
};

/*
 * Runs until the VMM has exited (it is reaped here), or with end_early
 * until it reported its end (left_exiting then set). Returns what `vmjail
 * run` exits with for the VMM's end: its status, VJ_LAUNCH_TIMEOUT, or
 * VJ_LAUNCH_SIGNALED + N; or -errno with e set when supervising failed
 * (the caller kills the VMM).
 */
int vj_supervise(struct vj_supervisor *s, struct vj_err *e);

/* Events outside the loop: queued for the subscribed clients. */
void vj_supervisor_event(struct vj_supervisor *s, const char *name, const char *data_key,
			 int64_t data_value);

#endif
