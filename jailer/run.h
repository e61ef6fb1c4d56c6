/* `vmjail run`: one sandbox from start to clean-up. */
#ifndef VJ_RUN_H
#define VJ_RUN_H

#include "error.h"
#include "launch.h"

/*
 * Builds the jail around the VMM, runs it and removes every trace of it.
 * Returns the status `vmjail run` exits with (see enum vj_launch_status),
 * or a negative errno with e set when the sandbox could not be started;
 * either way everything it created is gone. *report_fd >= 0: a daemonized
 * run, which reports success there once the VMM runs (and sets it to -1);
 * on failure reporting is left to the caller, after it printed e.
 */
int vj_run(const struct vj_launch *l, int *report_fd, struct vj_err *e);

#endif
