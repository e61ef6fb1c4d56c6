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

struct vj_init_session {
	int conn;
	bool is_init; /* PID 1 (of the VM or of a pid namespace) */
	/* The guest system is the agent's to change (PID 1 with its set-up):
	 * SETTIME sets the clock. Otherwise (a test on the host) the request
	 * is only logged. */
	bool setup;
	uint16_t version; /* agreed in the handshake */
	struct vj_agent_rx *rx;
	struct vj_agent_tx *tx;
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
 * the connection or sent ERROR (nothing more to tell it), any other code
 * for an error worth an ERROR frame. The workload, and as PID 1 every
 * other process, is dead and reaped when it returns.
 */
int vj_init_serve(struct vj_init_session *s, struct vj_err *err);

/* After the agent's last frame: shuts its sending side and reads until
 * the launcher closes, so that the launcher has the last frame before the
 * VM goes away. */
void vj_init_finish(struct vj_init_session *s);

#endif
