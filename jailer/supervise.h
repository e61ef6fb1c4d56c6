/* Waiting for the VMM: its exit, a stop signal, or the wall-clock limit. */
#ifndef VJ_SUPERVISE_H
#define VJ_SUPERVISE_H

#include <stdint.h>

#include "error.h"

/* The signals that stop a sandbox; blocked from the start of `vmjail run`
 * so that one arriving during setup ends in the same clean-up. */
#define VJ_STOP_SIGNALS { SIGINT, SIGTERM, SIGHUP }

/*
 * Waits until the process behind pidfd ends, reaps it and returns the
 * status `vmjail run` exits with: the VMM's own exit status, 128 + N when
 * signal N killed it, VJ_LAUNCH_TIMEOUT when timeout_ms (0: none) ran out.
 * A stop signal on sigfd or the timeout send SIGTERM, and SIGKILL after a
 * grace period or at a second signal. id names the sandbox in messages.
 */
int vj_supervise(int pidfd, int sigfd, uint64_t timeout_ms, const char *id, struct vj_err *e);

#endif
