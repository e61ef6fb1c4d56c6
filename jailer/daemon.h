/*
 * --detach: the command returns once the sandbox runs (or failed to
 * start), with the sandbox's start status; the launcher lives on, detached,
 * supervising the VMM and cleaning up after it.
 */
#ifndef VJ_DAEMON_H
#define VJ_DAEMON_H

#include <stdbool.h>

#include "error.h"

/*
 * Forks. In the original process, waits for the daemon's report and
 * returns 1 with *status set to what the command exits with. In the
 * daemon (a new session) returns 0 with *report_fd set; of the caller's
 * descriptors it keeps stdio and *keep_fd (unless keep_fd is NULL), which
 * becomes descriptor 4 there.
 */
int vj_daemonize(int *report_fd, int *keep_fd, int *status, struct vj_err *e);

/* From the daemon: the sandbox started (status 0) or not. On success the
 * daemon's stdio is detached to /dev/null. */
void vj_daemon_report(int *report_fd, int status);

/* The same for success, keeping stdio: an OCI container's streams are
 * the daemon's own (jailer/OCI.md). */
void vj_daemon_report_keep_stdio(int *report_fd);

/* Writes "<pid>\n" to path (created or truncated; never through a
 * symbolic link); without the newline for runc's callers, which parse
 * the whole file as a number. */
int vj_pidfile_write(const char *path, int pid, bool newline, struct vj_err *e);

#endif
