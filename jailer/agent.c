#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "termsafe.h"

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

/* Pipes and terminals: their reader decides how long a write waits. */
static bool may_wait(int fd, const struct stat *st)
{
	return S_ISFIFO(st->st_mode) || (S_ISCHR(st->st_mode) && isatty(fd));
}

/*
 * The session must be able to stop waiting on a pipe or terminal
 * (cancel_fd), so it writes to those through a descriptor of its own: the
 * same pipe or terminal opened again through /proc/self/fd, with
 * O_NONBLOCK. Setting O_NONBLOCK on the caller's descriptor instead would
 * change it for every process sharing its open file description (a
 * shell, the rest of a pipeline), which do not expect EAGAIN. (stdin is
 * read only once poll said so, from the caller's descriptor: a named FIFO
 * opened again for reading after its writers left would never report
 * their end.) Returns -1 where that cannot be done: a pty master (opening
 * it again makes a new pty), or an open that failed (no reader left on a
 * pipe, no permission).
 */
static int open_nonblocking(int fd)
{
	char path[32];
	int ptn;

	if (ioctl(fd, TIOCGPTN, &ptn) == 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

/* Where one of the workload's output streams goes. */
struct sink {
	int fd;          /* written to: the caller's descriptor, or own_fd */
	int own_fd;      /* -1, or open_nonblocking()'s */
	bool socket;     /* sent with MSG_DONTWAIT, non-blocking per call */
	bool wait_first; /* a write could wait: poll for POLLOUT first */
	size_t chunk;    /* the most one write takes */
};

static void sink_open(struct sink *k, int fd)
{
	struct stat st;

	*k = (struct sink){ .fd = fd, .own_fd = -1, .chunk = SIZE_MAX };
	if (fstat(fd, &st) < 0)
		return; /* the first write says what is wrong */
	if (S_ISSOCK(st.st_mode)) {
		k->socket = true;
	} else if (!may_wait(fd, &st)) {
		return; /* files and other devices take what they are given */
	} else if ((k->own_fd = open_nonblocking(fd)) >= 0) {
		k->fd = k->own_fd;
	} else {
		/* A pipe that polled writable takes PIPE_BUF bytes without
		 * waiting (unless another writer fills it first); a terminal
		 * may still wait for part of them. */
		k->wait_first = true;
		k->chunk = PIPE_BUF;
	}
}

static void sink_close(struct sink *k)
{
	vj_closep(&k->own_fd);
	k->own_fd = -1;
}

/* 0 once fd takes bytes (or has an error for write to report),
 * -ECANCELED once cancel_fd is readable. */
static int wait_writable(int fd, int cancel_fd)
{
	for (;;) {
		struct pollfd pf[2] = { { .fd = fd, .events = POLLOUT },
					{ .fd = cancel_fd, .events = POLLIN } };

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pf[1].revents)
			return -ECANCELED;
		if (pf[0].revents)
			return 0;
	}
}

/* Writes p[0..n) unless cancel_fd fires first (-ECANCELED) or a write
 * fails (-errno); *done says how much went out either way. */
static int sink_write(const struct sink *k, int cancel_fd, const uint8_t *p, size_t n,
		      size_t *done)
{
	bool ready = !k->wait_first;
	int r;

	*done = 0;
	while (*done < n) {
		const size_t want = n - *done < k->chunk ? n - *done : k->chunk;
		ssize_t w;

		if (!ready && (r = wait_writable(k->fd, cancel_fd)) < 0)
			return r;
		w = k->socket ? send(k->fd, p + *done, want, MSG_DONTWAIT | MSG_NOSIGNAL)
			      : write(k->fd, p + *done, want);
		if (w > 0)
			*done += (size_t)w;
		else if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		ready = w > 0 && !k->wait_first;
	}
	return 0;
}

/* One of the workload's output streams. */
struct stream {
	const char *name; /* "stdout", "stderr" */
	struct sink sink;
	uint64_t cap;
	uint64_t *passed, *dropped; /* in the result */
	enum vj_agent_drop *why;    /* in the result */
	bool broken;                /* its reader went away */
	bool terminal;              /* goes through safe */
	struct vj_termsafe safe;
};

/* Guest bytes a terminal's rendering is made of at a time. */
#define SHOWN_PIECE 4096u

enum phase {
	WAIT_HELLO, /* the agent speaks first: HELLO, or an exec's ATTACH */
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
	char *shown;   /* a piece's rendering for a terminal */
	struct stream out, err;
	enum phase phase;
	uint32_t next;    /* SENDING: 0 WORKLOAD, then argv, env, START */
	bool restored_sent; /* SENDING: RESTORED goes before all of them */
	bool root_sent;   /* SENDING: then ROOT */
	uint16_t version; /* agreed in the handshake */
	bool in_done;     /* STDIN_EOF queued */
	bool cmd_done;    /* cmd_fd ended: no more commands */
	bool exited;
	bool cancelled; /* cancel_fd fired: output is discarded from now on */
};

static int check_workload(const struct vj_workload *w, struct vj_err *e)
{
	size_t bytes = 0;

	if (w->argc == 0 || !w->argv[0][0])
		return vj_fail(e, -EINVAL, "workload: no program to run (argv is empty)");
	for (uint32_t i = 0; i < w->argc; i++)
		bytes += strlen(w->argv[i]) + 1;
	for (uint32_t i = 0; i < w->envc; i++)
		bytes += strlen(w->env[i]) + 1;
	return vj_agent_check_strings(w->argc, w->envc, bytes, e);
}

static int queue(struct session *s, const struct vj_agent_msg *m, const char *what)
{
	int r = vj_agent_tx_put(s->tx, m, s->e);

	return r < 0 ? vj_wrap(s->e, "%s", what) : 0;
}

static int queue_root(struct session *s)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_ROOT };

	s->next--;
	s->root_sent = true;
	m.root = *s->io->root;
	return queue(s, &m, "ROOT");
}

static int queue_workload_frame(struct session *s)
{
	const uint32_t i = s->next++, argc = s->w->argc, envc = s->w->envc;
	struct vj_agent_msg m = { .type = VJ_AGENT_START };
	const char *str = NULL;
	char what[32] = "workload";

	if (s->io->restored && !s->restored_sent) {
		s->next--;
		s->restored_sent = true;
		m.type = VJ_AGENT_RESTORED;
		m.restored = *s->io->restored;
		return queue(s, &m, "RESTORED");
	}
	if (s->io->root && !s->root_sent)
		return queue_root(s);
	if (i == 0 && s->io->exec) {
		m.type = VJ_AGENT_EXEC_SPEC;
		m.xspec = *s->io->xspec;
	} else if (i == 0) {
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
	if (s->phase == SENDING && s->io->continue_run) {
		/* In place of the workload, which runs already. */
		struct vj_agent_msg cont = { .type = VJ_AGENT_CONTINUE };
		s->phase = RUNNING;
		return queue(s, &cont, "CONTINUE");
	}
	if (s->phase == SENDING)
		return queue_workload_frame(s);
	if (s->phase == RUNNING && s->io->in_fd < 0 && !s->in_done) {
		s->in_done = true;
		return queue(s, &eof, "end of stdin");
	}
	return 0;
}

/*
 * Writes n guest bytes to a stream, through its termsafe filter on a
 * terminal; *passed counts the guest bytes that went out. A terminal's
 * rendering goes a piece at a time, and a piece whose rendering was cut
 * short counts as not passed on.
 */
static int pass_on(struct session *s, struct stream *st, const uint8_t *p, size_t n,
		   size_t *passed)
{
	size_t piece, len, done;
	int r;

	if (!st->terminal)
		return sink_write(&st->sink, s->io->cancel_fd, p, n, passed);
	for (*passed = 0; *passed < n; *passed += piece) {
		piece = n - *passed < SHOWN_PIECE ? n - *passed : SHOWN_PIECE;
		len = vj_termsafe_feed(&st->safe, p + *passed, piece, s->shown);
		if ((r = sink_write(&st->sink, s->io->cancel_fd, (const uint8_t *)s->shown, len,
				    &done)) < 0)
			return r;
	}
	return 0;
}

/* The workload ended: a character it left unfinished on a terminal is
 * shown as its bytes. Best effort, as the stream is over: a reader that
 * went away or a cancellation now changes nothing. */
static void finish_terminal(struct session *s, struct stream *st)
{
	size_t len, done;

	if (!st->terminal || st->broken || s->cancelled)
		return;
	len = vj_termsafe_finish(&st->safe, s->shown);
	if (len)
		(void)sink_write(&st->sink, s->io->cancel_fd, (const uint8_t *)s->shown, len, &done);
}

/* Output after a cancellation, past a cap, or after the reader went away
 * is read and counted, never written. */
static int forward(struct session *s, const struct vj_agent_msg *m)
{
	struct stream *st = m->type == VJ_AGENT_STDOUT ? &s->out : &s->err;
	const size_t len = m->bytes.len;
	size_t keep = 0, done = 0;
	int r = 0;

	if (!s->cancelled && !st->broken && *st->passed < st->cap)
		keep = st->cap - *st->passed < len ? (size_t)(st->cap - *st->passed) : len;
	if (keep)
		r = pass_on(s, st, m->bytes.data, keep, &done);
	if (r == -ECANCELED)
		s->cancelled = true;
	else if (r == -EPIPE)
		st->broken = true;
	else if (r < 0)
		return vj_fail_errno(s->e, r, "write the workload's %s", st->name);
	*st->passed += done;
	*st->dropped += len - done;
	if (done < len && *st->why == VJ_AGENT_DROP_NONE)
		*st->why = s->cancelled ? VJ_AGENT_DROP_CANCELLED
			   : st->broken ? VJ_AGENT_DROP_READER
					: VJ_AGENT_DROP_CAP;
	return 0;
}

static int unexpected(struct session *s, const struct vj_agent_msg *m)
{
	static const char *const when[] = { "before HELLO or ATTACH", "before START",
					    "while the workload runs" };
	char text[VJ_AGENT_ERROR_MAX + 1];

	if (m->type == VJ_AGENT_ERROR) {
		vj_agent_printable(text, sizeof(text), m->bytes.data, m->bytes.len);
		return vj_fail(s->e, -ECONNABORTED, "guest agent: %s", text);
	}
	return vj_fail(s->e, -EPROTO, "guest agent: unexpected %s frame %s",
		       vj_agent_type_name(m->type), when[s->phase]);
}

/* The newest version both ends speak. */
static int on_hello(struct session *s, const struct vj_agent_msg *m)
{
	struct vj_agent_msg reply = { .type = VJ_AGENT_HELLO };

	s->version = vj_agent_version_pick(m->hello.min, m->hello.max);
	if (!s->version)
		return vj_fail(s->e, -EPROTONOSUPPORT,
			       "guest agent: speaks protocol versions %u..%u, this launcher %u..%u",
			       m->hello.min, m->hello.max, VJ_AGENT_VERSION_MIN,
			       VJ_AGENT_VERSION_MAX);
	if (s->io->restored && s->version < VJ_AGENT_VERSION_RESTORED)
		return vj_fail(s->e, -EPROTONOSUPPORT,
			       "guest agent: speaks protocol versions %u..%u, but a sandbox restored "
			       "from a snapshot needs version %u (an agent that reconnects and "
			       "reseeds its random generator); rebuild the snapshot's image",
			       m->hello.min, m->hello.max, VJ_AGENT_VERSION_RESTORED);
	if (s->io->root && s->version < VJ_AGENT_VERSION_ROOT)
		return vj_fail(s->e, -EPROTONOSUPPORT,
			       "guest agent: speaks protocol versions %u..%u, but a container image "
			       "needs version %u; boot a newer vmjail-init",
			       m->hello.min, m->hello.max, VJ_AGENT_VERSION_ROOT);
	if (s->io->continue_run && s->version < VJ_AGENT_VERSION_CONTINUE)
		return vj_fail(s->e, -EPROTONOSUPPORT,
			       "guest agent: speaks protocol versions %u..%u, but a migrated sandbox "
			       "needs version %u (an agent that continues its workload for a new "
			       "launcher)", m->hello.min, m->hello.max, VJ_AGENT_VERSION_CONTINUE);
	reply.hello.min = reply.hello.max = s->version;
	s->phase = SENDING;
	if (s->io->version)
		atomic_store(s->io->version, s->version);
	return queue(s, &reply, "HELLO");
}

/* An exec's connection: the agent proves it answers this exec's EXEC,
 * which only the agent's own connection carried. Compared in full
 * whatever differs first. */
static int on_attach(struct session *s, const struct vj_agent_msg *m)
{
	uint8_t diff = 0;

	for (unsigned i = 0; i < VJ_AGENT_TOKEN_LEN; i++)
		diff |= m->attach.token[i] ^ s->io->exec->token[i];
	if (m->attach.id != s->io->exec->id || diff)
		return vj_fail(s->e, -EPERM, "guest agent: a connection for exec %u did not carry "
			       "its id and token", s->io->exec->id);
	s->version = VJ_AGENT_VERSION_EXEC;
	s->phase = SENDING;
	return 0;
}

static int on_frame(struct session *s, const struct vj_agent_msg *m)
{
	if (s->phase == WAIT_HELLO && s->io->exec)
		return m->type == VJ_AGENT_ATTACH ? on_attach(s, m) : unexpected(s, m);
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
	ssize_t n = vj_agent_rx_read(s->rx, s->conn);
	int r;

	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return vj_fail_errno(s->e, (int)n, "read from the guest agent");
	while (!s->exited && (r = vj_agent_rx_next(s->rx, &m, s->e)) != 0) {
		if (r < 0)
			return vj_wrap(s->e, "guest agent");
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

static int on_cmd(struct session *s, const struct vj_agent_cmd *c)
{
	struct vj_agent_msg m;

	switch (c->op) {
	case VJ_AGENT_CMD_SIGNAL:
		if (c->arg < 1 || c->arg > VJ_AGENT_SIGNAL_MAX)
			break;
		m.type = VJ_AGENT_SIGNAL;
		m.signal = c->arg;
		vj_info("forwarding signal %u to the workload", c->arg);
		return queue(s, &m, "signal");
	case VJ_AGENT_CMD_SETTIME:
		if (s->version < VJ_AGENT_VERSION_SETTIME) {
			vj_debug("guest agent speaks protocol version %u: its clock is not set",
				 s->version);
			return 0;
		}
		m.type = VJ_AGENT_SETTIME;
		m.realtime_ns = c->arg64;
		return queue(s, &m, "set the guest's clock");
	case VJ_AGENT_CMD_EXEC:
		if (s->version < VJ_AGENT_VERSION_EXEC || c->arg64 > UINT32_MAX)
			break;
		m.type = VJ_AGENT_EXEC;
		m.exec.id = c->arg;
		m.exec.port = (uint32_t)c->arg64;
		memcpy(m.exec.token, c->token, sizeof(m.exec.token));
		return queue(s, &m, "exec");
	}
	vj_warn("agent session: command %u (argument %u) ignored: unknown or out of range",
		c->op, c->arg);
	return 0;
}

/* One command, if one is there: cmd_fd is never waited on. */
static int read_cmd(struct session *s)
{
	struct vj_agent_cmd c;
	ssize_t n = recv(s->io->cmd_fd, &c, sizeof(c), MSG_DONTWAIT | MSG_TRUNC);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0)
		return vj_fail_errno(s->e, -errno, "read a command for the agent session");
	if (n == 0) {
		s->cmd_done = true;
		return 0;
	}
	if (n != (ssize_t)sizeof(c)) {
		vj_warn("agent session: command of %zd bytes ignored (expected %zu)", n, sizeof(c));
		return 0;
	}
	return on_cmd(s, &c);
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

/* cancel_fd fired: what the agent had sent by now still counts (its output
 * discarded), and an error it reported says more than the cancellation.
 * Only what is queued now is read: a workload still writing must not keep
 * the session going. */
static int cancelled(struct session *s)
{
	ssize_t n = 0;
	int queued;

	s->cancelled = true;
	if (ioctl(s->conn, FIONREAD, &queued) < 0)
		queued = 0;
	while (!s->exited && queued > 0 && (n = read_conn(s)) > 0)
		queued -= (int)n;
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
		{ .fd = running && idle && !s->cmd_done ? s->io->cmd_fd : -1, .events = POLLIN },
		{ .fd = s->io->cancel_fd, .events = POLLIN },
	};

	if (poll(pf, VJ_ARRAY_SIZE(pf), -1) < 0)
		return errno == EINTR ? 0 : vj_fail_errno(s->e, -errno, "poll");
	if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
	    ((r = (int)read_conn(s)) < 0 || s->exited))
		return r < 0 ? r : 0;
	if (s->cancelled || pf[3].revents)
		return cancelled(s);
	if ((pf[0].revents & POLLOUT) && (r = write_conn(s)) < 0)
		return r;
	if (pf[1].revents && (r = read_stdin(s)) < 0)
		return r;
	/* A command needs the idle tx that stdin may just have taken: it
	 * waits in its socket for the next turn. */
	if (pf[2].revents && !vj_agent_tx_busy(s->tx) && (r = read_cmd(s)) < 0)
		return r;
	return 0;
}

int vj_agent_session(int conn_fd, const struct vj_agent_spec *spec, const struct vj_workload *w,
		     const struct vj_agent_io *io, struct vj_agent_result *res, struct vj_err *e)
{
	cleanup_free struct vj_agent_rx *rx = calloc(1, sizeof(*rx));
	cleanup_free struct vj_agent_tx *tx = calloc(1, sizeof(*tx));
	cleanup_free uint8_t *inbuf = malloc(VJ_AGENT_PAYLOAD_MAX);
	cleanup_free char *shown = malloc(VJ_TERMSAFE_MAX(SHOWN_PIECE));
	struct session s = {
		.conn = conn_fd, .spec = spec, .w = w, .io = io, .res = res, .e = e,
		.rx = rx, .tx = tx, .inbuf = inbuf, .shown = shown,
		.out = { .name = "stdout", .cap = io->out_cap, .passed = &res->out_bytes,
			 .dropped = &res->out_dropped, .why = &res->out_why,
			 .terminal = io->out_terminal },
		.err = { .name = "stderr", .cap = io->err_cap, .passed = &res->err_bytes,
			 .dropped = &res->err_dropped, .why = &res->err_why,
			 .terminal = io->err_terminal },
	};
	int flags, r = 0;

	memset(res, 0, sizeof(*res));
	if (!rx || !tx || !inbuf || !shown)
		return vj_fail(e, -ENOMEM, "agent session: out of memory");
	if (!io->continue_run && (r = check_workload(w, e)) < 0)
		return r;
	flags = fcntl(conn_fd, F_GETFL);
	if (flags < 0 || fcntl(conn_fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return vj_fail_errno(e, -errno, "agent connection: set non-blocking");
	sink_open(&s.out.sink, io->out_fd);
	sink_open(&s.err.sink, io->err_fd);
	while (!s.exited)
		if ((r = step(&s)) < 0)
			break;
	if (s.exited) {
		finish_terminal(&s, &s.out);
		finish_terminal(&s, &s.err);
	}
	sink_close(&s.out.sink);
	sink_close(&s.err.sink);
	shutdown(conn_fd, SHUT_WR);
	return s.exited ? 0 : r;
}

bool vj_agent_drop_line(const struct vj_agent_io *io, const struct vj_agent_result *res,
			enum vj_agent_type stream, const char *cap_key, char *buf, size_t len)
{
	const bool out = stream == VJ_AGENT_STDOUT;
	const unsigned long long dropped = out ? res->out_dropped : res->err_dropped;
	const unsigned long long cap = out ? io->out_cap : io->err_cap;
	const char *name = out ? "stdout" : "stderr";

	if (!dropped)
		return false;
	switch (out ? res->out_why : res->err_why) {
	case VJ_AGENT_DROP_READER:
		snprintf(buf, len, "workload %s: %llu bytes dropped: its reader went away (broken pipe)",
			 name, dropped);
		break;
	case VJ_AGENT_DROP_CANCELLED:
		snprintf(buf, len, "workload %s: %llu bytes dropped: the sandbox ended before its "
			 "reader took them", name, dropped);
		break;
	default:
		snprintf(buf, len, "workload %s: %llu bytes dropped past its cap of %llu bytes (%s)",
			 name, dropped, cap, cap_key);
	}
	return true;
}
