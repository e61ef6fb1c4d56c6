/*
 * `vmjail exec ID [--env K=V]... [--cwd DIR] [--user UID[:GID]] [--detach]
 * -- CMD ARGS...`: a process in a running sandbox, beside its workload,
 * through the sandbox's control socket (CONTROL.md `exec`). The caller's
 * stdin, stdout and stderr travel with the request, so that the launcher
 * streams the process's input and output straight to them; this side
 * waits for its end and passes its own stop signals on.
 */
#ifndef VJ_JAILER_EXEC_CLIENT_H
#define VJ_JAILER_EXEC_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* `vmjail exec` exits with the process's status; these when there is none. */
#define VJ_EXEC_FAILED 125        /* vmjail could not start it */
#define VJ_EXEC_NOT_SET_UP 126    /* the guest could not set it up (directory, ids) */
#define VJ_EXEC_SANDBOX_ENDED 137 /* the sandbox ended (and the process with it) first */

struct vj_exec_params {
	char *const *argv; /* argv[0] is the program, searched in PATH like the workload's */
	unsigned argc;
	char *const *env;  /* NAME=value, added to (or replacing) the workload's */
	unsigned envc;
	const char *cwd;   /* NULL: the workload's */
	bool has_user;     /* false: the workload's uid and gid */
	uint32_t uid, gid;
	bool detach;       /* return once it runs */
	int stdio[3];      /* what the process's stdin, stdout and stderr are */
};

/*
 * Runs p in sandbox id. Without detach: waits for its end and returns its
 * status (0..255, 128 + N for signal N), or VJ_EXEC_NOT_SET_UP /
 * VJ_EXEC_SANDBOX_ENDED with e set to say why; SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT, SIGUSR1 and SIGUSR2 to this process meanwhile go to the
 * process in the guest (they are blocked here for that), but for the
 * second of SIGINT, SIGTERM and SIGHUP, which becomes SIGKILL. With detach:
 * returns 0 once it runs, *exec_id naming it. -errno with e set when it
 * could not be started.
 */
int vj_exec_client(const char *run_dir, const char *id, const struct vj_exec_params *p,
		   uint32_t *exec_id, struct vj_err *e);

/* The `vmjail exec` verb: argv[0] is "exec". Returns the exit status. */
int vj_exec_cli_main(const char *run_dir, int argc, char **argv);

#endif
