/*
 * `vmjail exec`'s side in the launcher: a second process in the running
 * guest, beside the workload (rootfs/PROTOCOL.md version 5, CONTROL.md
 * `exec`). Each exec has a slot: a vsock port of its own, listened on
 * from before the VM ran ("<uds>_<VJ_EXEC_PORT_BASE + slot>"), a thread
 * running its session with the caller's stdin, stdout and stderr (passed
 * over the control socket), and a command channel for its signals. The
 * workload's session only carries the EXEC frame that sends the agent to
 * the port: an exec's output never waits behind another's or the
 * workload's, and each holds one frame each way at most, whatever the
 * guest sends.
 */
#ifndef VJ_JAILER_EXEC_H
#define VJ_JAILER_EXEC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent.h"
#include "control_socket.h"
#include "error.h"

/* Execs that may run at once in one sandbox: the host file's exec_max
 * says how many of these slots a sandbox has. */
#define VJ_EXEC_MAX VJ_EXEC_SLOTS
/* Slot k's vsock port: the ports after the workload's (1024). */
#define VJ_EXEC_PORT_BASE (VJ_AGENT_DEFAULT_PORT + 1)
/* How long the agent has to connect for an exec once asked. */
#define VJ_EXEC_ATTACH_MS 10000

struct vj_execs;

struct vj_exec_slot {
	struct vj_execs *owner;
	bool busy;              /* started and not reaped */
	_Atomic bool ended;     /* its session is over: reap it */
	uint32_t id;
	uint64_t client;        /* the control connection that started it */
	pthread_t thread;
	int listen_fd;          /* its port's socket; -1: the slot is not usable */
	int cmd_read, cmd_write; /* its signals */
	int fds[3];             /* the caller's stdin, stdout, stderr */
	struct vj_agent_exec exec;
	struct vj_agent_exec_spec xspec;
	struct vj_workload w;
	char *strings;          /* w's */
	struct vj_agent_io io;
	struct vj_agent_result res;
	int r;
	struct vj_err e;
};

/* How to reach the workload's session (run.c): the EXEC command goes
 * through it, and only once it runs with version 5 or later. */
struct vj_exec_agent {
	/* 0 while no session has agreed a version */
	unsigned (*version)(void *ctx);
	/* -ENOTCONN when no session runs */
	int (*command)(void *ctx, const struct vj_agent_cmd *c);
	void *ctx;
};

struct vj_execs {
	struct vj_exec_slot slot[VJ_EXEC_MAX];
	unsigned max;      /* slots listened on: the host's exec_max */
	uint32_t next_id;
	int done_fd;       /* eventfd: a thread's session ended (reap) */
	int cancel_fd;     /* readable once the sandbox has ended */
	pid_t broker_pid;  /* the only peer a port accepts */
	uint64_t out_cap;  /* limits.output, per stream of each exec */
	struct vj_exec_agent agent;
};

/* How an exec ended, for its caller. */
struct vj_exec_end {
	uint32_t id;
	uint64_t client;
	int status;          /* 0..255, 128 + signal; -1: no status (why says why) */
	bool sandbox_ended;  /* no status because the guest's processes ended with the workload */
	char why[256];
	char dropped[2][256]; /* stdout's and stderr's lost output, "" for none */
};

/* Everything -1 and empty: call before anything else. */
void vj_execs_init(struct vj_execs *x);

/* Listens on slot k's port, through listen(port, &fd) (the launcher's
 * socket files: run.c), for the first max (<= VJ_EXEC_MAX) slots. Before
 * the VM runs. */
int vj_execs_listen(struct vj_execs *x, unsigned max,
		    int (*listen)(void *ctx, uint32_t port, int *fd, struct vj_err *e), void *ctx,
		    struct vj_err *e);

/*
 * Starts an exec: takes fds (the caller's stdin, stdout, stderr: closed
 * here whatever happens), sends the agent to a free slot's port and runs
 * the session in a thread. Returns the exec's id (> 0), or -errno with e
 * set: -ENOTCONN/-EPROTONOSUPPORT (no agent, or one without exec),
 * -EAGAIN (every slot busy), -EBADF (descriptors of the wrong kind).
 */
int vj_execs_start(struct vj_execs *x, const struct vj_ctl_exec *rq, int fds[3], uint64_t client,
		   struct vj_err *e);

/* Signals exec id's process group in the guest. -ESRCH: no such exec. */
int vj_execs_signal(struct vj_execs *x, uint32_t id, int sig);

/* One ended exec, reaped (its thread joined, its descriptors closed):
 * true with *end filled, false when none has ended. */
bool vj_execs_reap(struct vj_execs *x, struct vj_exec_end *end);

/* After the sandbox ended (cancel_fd readable): every thread joined,
 * every slot closed. */
void vj_execs_close(struct vj_execs *x);

#endif
