/*
 * A second process beside the workload (PROTOCOL.md, version 5: EXEC).
 * The agent forks an exec server per EXEC frame: it connects a stream of
 * its own to the port the frame names, proves itself with ATTACH, and
 * serves one session there as the agent serves the workload's (EXEC_SPEC,
 * ARG, ENV, START; then the streams and EXIT), with what the exec does
 * not say taken from the workload it runs beside. Each exec has its own
 * connection, so one exec's output never waits behind another's or the
 * workload's.
 */
#ifndef VJ_INIT_EXEC_H
#define VJ_INIT_EXEC_H

#include <sys/types.h>

#include "agent_proto.h"
#include "error.h"
#include "session.h"
#include "workload.h"

/* Starts the exec server for x, beside the workload w. Returns 0 (the
 * server reports its own failures on its own connection), or -errno with
 * err set for a frame the session must refuse. */
int vj_init_exec_start(struct vj_init_session *s, const struct vj_init_workload *w,
		       const struct vj_agent_exec *x, struct vj_err *err);

/* A child of the agent was reaped: if it was an exec server, it is
 * forgotten. */
void vj_init_exec_reaped(struct vj_init_session *s, pid_t pid);

/* The workload's run is over: every exec server still running is asked
 * to stop its process (SIGINT: SIGTERM, then SIGKILL after the grace
 * period, its end reported on its own connection) and waited for. As PID
 * 1 they are gone already (every process is killed when the workload
 * ends). */
void vj_init_exec_end_all(struct vj_init_session *s);

/*
 * At an exec's START: the process to run is the workload's ids, directory
 * and environment, with what EXEC_SPEC and the ENV frames change: ids and
 * directory replaced when given, each ENV replacing the workload's
 * variable of that name or added after them. w holds the exec's own
 * frames (its ENV strings) and is rewritten in place. Returns 0, or -E2BIG
 * / -ENOMEM with err set.
 */
int vj_init_exec_prepare(struct vj_init_workload *w, const struct vj_init_workload *base,
			 const struct vj_agent_exec_spec *x, struct vj_err *err);

#endif
