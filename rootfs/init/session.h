/*
 * vmjail-init's side of one session with the launcher (rootfs/PROTOCOL.md):
 * HELLO both ways, the workload, START; then the workload runs while its
 * stdout and stderr stream out and stdin and signals stream in; EXIT last.
 */
#ifndef VJ_INIT_SESSION_H
#define VJ_INIT_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "agent_proto.h"
#include "error.h"
#include "workload.h"

/* Output pipes of earlier workloads drained at once (two per workload:
 * a snapshot of a clone of a snapshot, and so on); past that a pipe is
 * closed, and its writer gets EPIPE. */
#define VJ_INIT_ORPHANS_MAX 8
/* Exec servers (exec.h) running at once. The launcher runs fewer execs
 * than this at a time (jailer/CONTROL.md); an EXEC past it is logged and
 * not started, and the launcher's wait for its connection times out. */
#define VJ_INIT_EXECS_MAX 32

struct vj_init_workload;

struct vj_init_session {
	int conn;
	bool is_init; /* PID 1 (of the VM or of a pid namespace) */
	/* The guest system is the agent's to change (PID 1 with its set-up):
	 * SETTIME sets the clock. Otherwise (a test on the host) the request
	 * is only logged. */
	bool setup;
	uint16_t version; /* agreed in the handshake */
	/* The connection can be made again (vsock as PID 1): a reset of it
	 * means the VM was restored from a snapshot, and a new launcher
	 * waits. Otherwise (an inherited fd) a reset ends the agent. */
	bool reconnect;
	struct vj_agent_rx *rx;
	struct vj_agent_tx *tx;
	/* The output pipes of workloads that sessions before a restore left
	 * running: read and dropped while later workloads run, so that they
	 * never block on a full pipe. Kept across sessions. */
	unsigned norphans;
	int orphans[VJ_INIT_ORPHANS_MAX];
	/* Where exec servers connect: NULL, the host over vsock; otherwise
	 * (the tests) the AF_UNIX socket "<exec_prefix>_<port>". */
	const char *exec_prefix;
	/* An exec server's session (exec.h): ATTACH instead of HELLO and
	 * EXEC_SPEC instead of WORKLOAD, the rest taken from `workload`. */
	const struct vj_agent_exec *exec;
	const struct vj_init_workload *workload;
	/* The exec servers this agent started that are not reaped yet. */
	unsigned nexecs;
	pid_t execs[VJ_INIT_EXECS_MAX];
	/* The workload a session left running when its connection was reset
	 * (kept.pid > 0), as it stood: the next launcher either CONTINUEs it
	 * (the VM migrated to another host) or runs a workload of its own
	 * (a clone of a snapshot), which makes its pipes orphans. */
	struct {
		struct vj_init_child child; /* stdin_fd is always -1: closed at the reset */
		bool done;                  /* its main process ended; status is its wait status */
		int status;
		/* Output read from a pipe whose frame did not reach the old
		 * launcher whole: sent first to the next one that continues. */
		uint8_t *buf; /* VJ_AGENT_PAYLOAD_MAX bytes, or NULL */
		size_t unsent;
		enum vj_agent_type unsent_type;
		/* What it was started as, for the execs that run beside it
		 * once it is continued (their ids, root, environment). */
		struct vj_init_workload *w;
	} kept;
};

/* How long a workload has to end after SIGTERM, when vmjail-init is asked
 * to stop it (SIGINT: Ctrl-Alt-Del as PID 1), before SIGKILL. */
#define VJ_INIT_STOP_GRACE_MS 5000

/*
 * Runs the session up to and including the EXIT frame. SIGINT is blocked
 * from just before the workload starts: one that arrives while it runs
 * stops it (SIGTERM to its process group, SIGKILL after
 * VJ_INIT_STOP_GRACE_MS), and its end is reported as usual. Returns 0, or
 * -errno with err set: -ECONNRESET/-ECONNABORTED when the launcher closed
 * the connection or sent ERROR (nothing more to tell it), -ENETRESET when
 * the connection was reset and s->reconnect is set (the VM was restored
 * from a snapshot: connect again and serve a new session), any other code
 * for an error worth an ERROR frame. The workload, and as PID 1 every
 * other process, is dead and reaped when it returns, but after
 * -ENETRESET: then a running workload keeps running, in s->kept.
 *
 * CONTINUE (version 6) in place of RESTORED and WORKLOAD: the launcher of
 * a VM that migrated to another host takes over the workload in s->kept,
 * its output from where the old connection stopped, then its EXIT. With
 * nothing kept it is an error.
 *
 * RESTORED (version 3), between HELLO and WORKLOAD, is applied before the
 * workload is set up: the random generator reseeded with the launcher's
 * entropy, the clock and the hostname set (with the system set-up; logged
 * only without it).
 */
int vj_init_serve(struct vj_init_session *s, struct vj_err *err);

/* Ends the hold on a kept workload (closes its pipes) when no launcher
 * will come for it any more. */
void vj_init_drop_kept(struct vj_init_session *s);

/* After the agent's last frame: shuts its sending side and reads until
 * the launcher closes, so that the launcher has the last frame before the
 * VM goes away. */
void vj_init_finish(struct vj_init_session *s);

#endif
