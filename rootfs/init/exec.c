#include "exec.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "connect.h"
#include "log.h"

static size_t name_len(const char *env)
{
	const char *eq = strchr(env, '=');

	return eq ? (size_t)(eq - env) : strlen(env);
}

static bool same_name(const char *a, const char *b)
{
	const size_t n = name_len(a);

	return n == name_len(b) && !strncmp(a, b, n);
}

static bool overridden(const struct vj_init_workload *w, const char *env)
{
	for (uint32_t i = 0; i < w->envc; i++)
		if (same_name(w->env[i], env))
			return true;
	return false;
}

int vj_init_exec_prepare(struct vj_init_workload *w, const struct vj_init_workload *base,
			 const struct vj_agent_exec_spec *x, struct vj_err *err)
{
	char *env[VJ_AGENT_ENVC_MAX + 1] = { 0 };
	uint32_t envc = 0;
	size_t bytes = w->bytes;
	int r;

	for (uint32_t i = 0; i < base->envc; i++) {
		if (overridden(w, base->env[i]))
			continue;
		bytes += strlen(base->env[i]) + 1;
		if ((r = vj_agent_check_strings(w->argc, envc + w->envc + 1, bytes, err)) < 0)
			goto fail;
		if (!(env[envc++] = strdup(base->env[i]))) {
			r = vj_fail(err, -ENOMEM, "exec: out of memory");
			goto fail;
		}
	}
	for (uint32_t i = 0; i < w->envc; i++)
		env[envc++] = w->env[i];
	memcpy(w->env, env, sizeof(env));
	w->envc = envc;
	w->bytes = bytes;
	/* The system settings are the workload's business: an exec changes
	 * no hostname and no network. */
	w->spec = base->spec;
	w->root_dir = base->root_dir;
	w->spec.hostname[0] = '\0';
	w->spec.net = (struct vj_agent_net){ 0 };
	if (x->flags & VJ_AGENT_XSPEC_IDS) {
		w->spec.uid = x->uid;
		w->spec.gid = x->gid;
	}
	if (x->flags & VJ_AGENT_XSPEC_CWD)
		snprintf(w->spec.cwd, sizeof(w->spec.cwd), "%s", x->cwd);
	return 0;
fail:
	for (uint32_t i = 0; i < envc; i++)
		free(env[i]);
	return r;
}

static void report_error(struct vj_init_session *s, const char *why)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_ERROR };
	char text[VJ_AGENT_ERROR_MAX + 1];

	vj_agent_printable(text, sizeof(text), why, strlen(why));
	m.bytes.data = (const uint8_t *)text;
	m.bytes.len = strlen(text);
	vj_agent_send(s->tx, s->conn, &m);
}

/*
 * The exec server, a child of the agent: nothing of the agent's
 * descriptors (the workload's pipes among them: a copy of its stdin's
 * writing end would keep its end of file from it), Ctrl-Alt-Del's handler
 * gone (only PID 1 powers off), dead with the agent, and the reaper of
 * what the exec leaves behind.
 *
 * The exec runs where the workload runs: in the guest's own root, which
 * the server shares, or chrooted into the workload's image root
 * (vj_init_exec_prepare() copies root_dir), so that the exec's paths
 * name the workload's files.
 */
static __attribute__((noreturn)) void serve_exec(const struct vj_init_session *parent,
						 const struct vj_init_workload *w,
						 const struct vj_agent_exec *x)
{
	struct vj_init_session s = { .conn = -1, .version = VJ_AGENT_VERSION_EXEC, .exec = x,
				     .kept = { .child = { -1, -1, -1, -1 } },
				     .workload = w };
	struct vj_err err;
	int r;

	signal(SIGINT, SIG_DFL);
	if (close_range(3, ~0u, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ||
	    prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		_exit(2);
	s.rx = malloc(sizeof(*s.rx));
	s.tx = malloc(sizeof(*s.tx));
	if (!s.rx || !s.tx)
		_exit(2);
	s.rx->have = s.rx->current = 0;
	s.tx->len = s.tx->off = 0;
	if ((s.conn = vj_init_connect_port(parent->exec_prefix, x->port, &err)) < 0) {
		vj_error("exec %u: %s", x->id, err.msg);
		_exit(2);
	}
	r = vj_init_serve(&s, &err);
	if (r < 0) {
		vj_error("exec %u: %s", x->id, err.msg);
		if (r != -ECONNRESET && r != -ECONNABORTED)
			report_error(&s, err.msg);
	}
	vj_init_finish(&s);
	_exit(r < 0 ? 2 : 0);
}

int vj_init_exec_start(struct vj_init_session *s, const struct vj_init_workload *w,
		       const struct vj_agent_exec *x, struct vj_err *err)
{
	pid_t pid;

	if (s->exec)
		return vj_fail(err, -EPROTO, "unexpected EXEC frame on an exec's connection");
	if (s->version < VJ_AGENT_VERSION_EXEC)
		return vj_fail(err, -EPROTO, "unexpected EXEC frame in protocol version %u",
			       s->version);
	if (s->nexecs == VJ_INIT_EXECS_MAX) {
		vj_warn("exec %u: not started: %u execs run already", x->id, s->nexecs);
		return 0;
	}
	pid = fork();
	if (pid == 0)
		serve_exec(s, w, x);
	if (pid < 0) {
		vj_warn("exec %u: not started: fork: %s", x->id, strerror(errno));
		return 0;
	}
	s->execs[s->nexecs++] = pid;
	vj_info("exec %u: started (server pid %d, port %u)", x->id, (int)pid, x->port);
	return 0;
}

void vj_init_exec_reaped(struct vj_init_session *s, pid_t pid)
{
	for (unsigned i = 0; i < s->nexecs; i++)
		if (s->execs[i] == pid) {
			s->execs[i] = s->execs[--s->nexecs];
			return;
		}
}

void vj_init_exec_end_all(struct vj_init_session *s)
{
	for (unsigned i = 0; i < s->nexecs; i++)
		kill(s->execs[i], SIGINT);
	for (unsigned i = 0; i < s->nexecs; i++)
		while (waitpid(s->execs[i], NULL, 0) < 0 && errno == EINTR)
			;
	s->nexecs = 0;
}
