/*
 * The workload as vmjail-init receives it (WORKLOAD, ARG..., ENV...,
 * START) and the process that runs it: its own session, stdin, stdout and
 * stderr on pipes, the requested ids, directory and environment, nothing
 * else inherited.
 */
#ifndef VJ_INIT_WORKLOAD_H
#define VJ_INIT_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent_proto.h"
#include "error.h"

struct vj_init_workload {
	struct vj_agent_spec spec;
	/* ROOT (version 4): the workload runs chrooted in root_dir, once
	 * vj_init_image_root_mount() made it. */
	bool has_root;
	struct vj_agent_root root;
	const char *root_dir;
	uint32_t argc, envc;
	size_t bytes; /* argv + env, a NUL per string */
	char *argv[VJ_AGENT_ARGC_MAX + 1];
	char *env[VJ_AGENT_ENVC_MAX + 1];
};

/* Appends the string of an ARG or ENV frame, within the protocol's
 * limits. Returns 0, -E2BIG or -ENOMEM with a reason in err. */
int vj_init_workload_add(struct vj_init_workload *w, const struct vj_agent_msg *m,
			 struct vj_err *err);
/* At START: the workload must name a program. */
int vj_init_workload_check(const struct vj_init_workload *w, struct vj_err *err);
void vj_init_workload_free(struct vj_init_workload *w);

/* The running workload; the fds are the agent's ends, close-on-exec, and
 * stdin_fd is non-blocking. */
struct vj_init_child {
	pid_t pid; /* also its process group and session */
	int stdin_fd, stdout_fd, stderr_fd;
};

/* Why a spawn failed: the workload could not be set up as requested
 * (an error for the launcher), or its program could not be executed (an
 * exit status, like a shell's 127 and 126, with a line on its stderr). */
enum vj_init_spawn_failure {
	VJ_INIT_SPAWN_SETUP = 1,
	VJ_INIT_SPAWN_EXEC,
};

/*
 * Forks and execs the workload. Returns 0 once the program runs, or
 * -errno with err set and *failure saying which kind of failure it was;
 * the failed child is reaped before it returns.
 */
int vj_init_workload_spawn(const struct vj_init_workload *w, struct vj_init_child *c,
			   enum vj_init_spawn_failure *failure, struct vj_err *err);

#endif
