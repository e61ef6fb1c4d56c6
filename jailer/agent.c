#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

_Static_assert(VJ_MAX_ARGS <= VJ_AGENT_ARGC_MAX, "policy argv must fit the agent protocol");
_Static_assert(VJ_MAX_ENV <= VJ_AGENT_ENVC_MAX, "policy env must fit the agent protocol");

int vj_agent_accept(int listen_fd, int cancel_fd, pid_t expect_pid, int *conn_fd,
		    struct vj_err *e)
{
	for (;;) {
		struct pollfd pf[2] = { { .fd = listen_fd, .events = POLLIN },
					{ .fd = cancel_fd, .events = POLLIN } };
		struct ucred cred;
		socklen_t len = sizeof(cred);
		cleanup_fd int fd = -1;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return vj_fail_errno(e, -errno, "wait for the guest agent's connection");
		}
		if (pf[1].revents)
			return vj_fail(e, -ECANCELED, "the guest agent never connected");
		if (!pf[0].revents)
			continue;
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0 && (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED))
			continue;
		if (fd < 0)
			return vj_fail_errno(e, -errno, "accept the guest agent's connection");
		if (expect_pid > 0) {
			if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
				return vj_fail_errno(e, -errno, "agent connection: SO_PEERCRED");
			if (cred.pid != expect_pid) {
				vj_warn("agent socket: refused a connection from pid %d (expected %d)",
					(int)cred.pid, (int)expect_pid);
				continue;
			}
		}
		*conn_fd = vj_steal_fd(&fd);
		return 0;
	}
}

enum phase {
	WAIT_HELLO, /* the agent speaks first */
	SENDING,    /* the workload's frames go out, up to START */
	RUNNING,    /* stdin and signals in, output out, until EXIT */
};

struct session {
	int conn;
	const struct vj_agent_spec *spec;
	const struct vj_workload *w;
	const struct vj_agent_io *io;
	struct vj_agent_result *res;
	struct vj_err *e;
	struct vj_agent_rx *rx;
	struct vj_agent_tx *tx;
	uint8_t *inbuf;
	enum phase phase;
	uint32_t next; /* SENDING: 0 WORKLOAD, then argv, env, START */
	bool in_done;  /* STDIN_EOF queued */
	bool exited;
	bool out_broken, err_broken;
};

static int check_workload(const struct vj_workload *w, struct vj_err *e)
{
	char why[128];
	size_t bytes = 0;
	int r;

	if (w->argc == 0 || !w->argv[0][0])
		return vj_fail(e, -EINVAL, "workload: no program to run (argv is empty)");
	for (uint32_t i = 0; i < w->argc; i++)
		bytes += strlen(w->argv[i]) + 1;
	for (uint32_t i = 0; i < w->envc; i++)
		bytes += strlen(w->env[i]) + 1;
	if ((r = vj_agent_check_strings(w->argc, w->envc, bytes, why, sizeof(why))) < 0)
		return vj_fail(e, r, "%s", why);
	return 0;
}

static int queue(struct session *s, const struct vj_agent_msg *m, const char *what)
{
	char why[256];
	int r = vj_agent_tx_put(s->tx, m, why, sizeof(why));

	return r < 0 ? vj_fail(s->e, r, "%s: %s", what, why) : 0;
}

static int queue_workload_frame(struct session *s)
{
	const uint32_t i = s->next++, argc = s->w->argc, envc = s->w->envc;
	struct vj_agent_msg m = { .type = VJ_AGENT_START };
	const char *str = NULL;
	char what[32] = "workload";

	if (i == 0) {
		m.type = VJ_AGENT_WORKLOAD;
		m.spec = *s->spec;
	} else if (i <= argc) {
		m.type = VJ_AGENT_ARG;
		str = s->w->argv[i - 1];
		snprintf(what, sizeof(what), "workload argv[%u]", i - 1);
	} else if (i <= argc + envc) {
		m.type = VJ_AGENT_ENV;
		str = s->w->env[i - 1 - argc];
		snprintf(what, sizeof(what), "workload env[%u]", i - 1 - argc);
	} else {
		s->phase = RUNNING;
	}
	if (str) {
		m.bytes.data = (const uint8_t *)str;
		m.bytes.len = strlen(str);
	}
	return queue(s, &m, what);
}

/* The next frame to send when the last one is out: the workload while
 * SENDING; while RUNNING, end of stdin at once if there is none (stdin
 * data and signals are queued as they arrive). */
static int fill_tx(struct session *s)
{
	struct vj_agent_msg eof = { .type = VJ_AGENT_STDIN_EOF };

	if (vj_agent_tx_busy(s->tx))
		return 0;
	if (s->phase == SENDING)
		return queue_workload_frame(s);
	if (s->phase == RUNNING && s->io->in_fd < 0 && !s->in_done) {
		s->in_done = true;
		return queue(s, &eof, "end of stdin");
	}
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			if (poll(&pf, 1, -1) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int forward(struct session *s, const struct vj_agent_msg *m)
{
	const bool out = m->type == VJ_AGENT_STDOUT;
	const int fd = out ? s->io->out_fd : s->io->err_fd;
	const uint64_t cap = out ? s->io->out_cap : s->io->err_cap;
	uint64_t *sent = out ? &s->res->out_bytes : &s->res->err_bytes;
	uint64_t *dropped = out ? &s->res->out_dropped : &s->res->err_dropped;
	bool *broken = out ? &s->out_broken : &s->err_broken;
	size_t keep = 0;
	int r;

	if (!*broken && *sent < cap)
		keep = cap - *sent < m->bytes.len ? (size_t)(cap - *sent) : m->bytes.len;
	if (keep && (r = write_all(fd, m->bytes.data, keep)) < 0) {
		if (r != -EPIPE)
			return vj_fail_errno(s->e, r, "write the workload's %s",
					     out ? "stdout" : "stderr");
		*broken = true;
		keep = 0;
	}
	*sent += keep;
	*dropped += m->bytes.len - keep;
	return 0;
}

static int unexpected(struct session *s, const struct vj_agent_msg *m)
{
	static const char *const when[] = { "before HELLO", "before START",
					    "while the workload runs" };
	char text[VJ_AGENT_ERROR_MAX + 1];

	if (m->type == VJ_AGENT_ERROR) {
		vj_agent_printable(text, sizeof(text), m->bytes.data, m->bytes.len);
		return vj_fail(s->e, -ECONNABORTED, "guest agent: %s", text);
	}
	return vj_fail(s->e, -EPROTO, "guest agent: unexpected %s frame %s",
		       vj_agent_type_name(m->type), when[s->phase]);
}

static int on_hello(struct session *s, const struct vj_agent_msg *m)
{
	struct vj_agent_msg reply = { .type = VJ_AGENT_HELLO,
				      .hello = { VJ_AGENT_VERSION, VJ_AGENT_VERSION } };

	if (m->hello.min > VJ_AGENT_VERSION || m->hello.max < VJ_AGENT_VERSION)
		return vj_fail(s->e, -EPROTONOSUPPORT,
			       "guest agent: speaks protocol versions %u..%u, this launcher %u",
			       m->hello.min, m->hello.max, VJ_AGENT_VERSION);
	s->phase = SENDING;
	return queue(s, &reply, "HELLO");
}

static int on_frame(struct session *s, const struct vj_agent_msg *m)
{
	if (s->phase == WAIT_HELLO)
		return m->type == VJ_AGENT_HELLO ? on_hello(s, m) : unexpected(s, m);
	if (s->phase != RUNNING || s->exited)
		return unexpected(s, m);
	switch (m->type) {
	case VJ_AGENT_STDOUT:
	case VJ_AGENT_STDERR:
		return forward(s, m);
	case VJ_AGENT_EXIT:
		s->exited = true;
		if (m->exit.kind == VJ_AGENT_SIGNALED) {
			s->res->signal = (int)m->exit.value;
			s->res->status = 128 + (int)m->exit.value;
		} else {
			s->res->status = (int)m->exit.value;
		}
		return 0;
	default:
		return unexpected(s, m);
	}
}

/* Reads what the connection has and handles every whole frame. Frames
 * after EXIT are not looked at: the session is over. Returns the bytes
 * read (0: none yet) or -errno. */
static ssize_t read_conn(struct session *s)
{
	struct vj_agent_msg m;
	char why[256];
	ssize_t n = vj_agent_rx_read(s->rx, s->conn);
	int r;

	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return vj_fail_errno(s->e, (int)n, "read from the guest agent");
	while (!s->exited && (r = vj_agent_rx_next(s->rx, &m, why, sizeof(why))) != 0) {
		if (r < 0)
			return vj_fail(s->e, r, "guest agent: %s", why);
		if ((r = on_frame(s, &m)) < 0)
			return r;
		vj_agent_rx_consume(s->rx);
	}
	if (n == 0 && !s->exited)
		return vj_fail(s->e, -ECONNRESET, "guest agent: closed the connection %s",
			       s->phase == RUNNING ? "before reporting how the workload ended"
						   : "during the handshake");
	return n;
}

static int read_stdin(struct session *s)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_STDIN };
	ssize_t n = read(s->io->in_fd, s->inbuf, VJ_AGENT_PAYLOAD_MAX);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0)
		return vj_fail_errno(s->e, -errno, "read stdin for the workload");
	if (n == 0) {
		s->in_done = true;
		m.type = VJ_AGENT_STDIN_EOF;
	}
	m.bytes.data = s->inbuf;
	m.bytes.len = (size_t)n;
	return queue(s, &m, "stdin");
}

static int read_signal(struct session *s)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_SIGNAL };
	struct signalfd_siginfo si;
	ssize_t n = read(s->io->signal_fd, &si, sizeof(si));

	if (n != (ssize_t)sizeof(si))
		return 0;
	m.signal = si.ssi_signo;
	vj_info("forwarding signal %u to the workload", si.ssi_signo);
	return queue(s, &m, "signal");
}

static int write_conn(struct session *s)
{
	int r = vj_agent_tx_write(s->tx, s->conn);

	if (r == 0)
		return 0;
	/* The agent may have said why it went away. */
	if (read_conn(s) < 0)
		return -ECONNRESET;
	return vj_fail_errno(s->e, r, "write to the guest agent");
}

/* cancel_fd fired: what the agent sent before still counts, and an error
 * it reported says more than the cancellation. */
static int cancelled(struct session *s)
{
	ssize_t n = 0;

	while (!s->exited && (n = read_conn(s)) > 0)
		;
	if (s->exited)
		return 0;
	if (n < 0 && n != -ECONNRESET)
		return (int)n;
	return vj_fail(s->e, -ECANCELED, "stopped waiting for the guest agent");
}

static int step(struct session *s)
{
	int r = fill_tx(s);

	if (r < 0)
		return r;
	const bool idle = !vj_agent_tx_busy(s->tx), running = s->phase == RUNNING;
	struct pollfd pf[4] = {
		{ .fd = s->conn, .events = POLLIN | (idle ? 0 : POLLOUT) },
		{ .fd = running && idle && !s->in_done ? s->io->in_fd : -1, .events = POLLIN },
		{ .fd = running && idle ? s->io->signal_fd : -1, .events = POLLIN },
		{ .fd = s->io->cancel_fd, .events = POLLIN },
	};

	if (poll(pf, VJ_ARRAY_SIZE(pf), -1) < 0)
		return errno == EINTR ? 0 : vj_fail_errno(s->e, -errno, "poll");
	if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
	    ((r = (int)read_conn(s)) < 0 || s->exited))
		return r < 0 ? r : 0;
	if ((pf[0].revents & POLLOUT) && (r = write_conn(s)) < 0)
		return r;
	if (pf[3].revents)
		return cancelled(s);
	if (pf[1].revents && (r = read_stdin(s)) < 0)
		return r;
	if (pf[2].revents && (r = read_signal(s)) < 0)
		return r;
	return 0;
}

int vj_agent_session(int conn_fd, const struct vj_agent_spec *spec, const struct vj_workload *w,
		     const struct vj_agent_io *io, struct vj_agent_result *res, struct vj_err *e)
{
	cleanup_free struct vj_agent_rx *rx = calloc(1, sizeof(*rx));
	cleanup_free struct vj_agent_tx *tx = calloc(1, sizeof(*tx));
	cleanup_free uint8_t *inbuf = malloc(VJ_AGENT_PAYLOAD_MAX);
	struct session s = { .conn = conn_fd, .spec = spec, .w = w, .io = io, .res = res,
			     .e = e, .rx = rx, .tx = tx, .inbuf = inbuf };
	int flags, r;

	memset(res, 0, sizeof(*res));
	if (!rx || !tx || !inbuf)
		return vj_fail(e, -ENOMEM, "agent session: out of memory");
	if ((r = check_workload(w, e)) < 0)
		return r;
	flags = fcntl(conn_fd, F_GETFL);
	if (flags < 0 || fcntl(conn_fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return vj_fail_errno(e, -errno, "agent connection: set non-blocking");
	while (!s.exited)
		if ((r = step(&s)) < 0)
			break;
	shutdown(conn_fd, SHUT_WR);
	return s.exited ? 0 : r;
}
