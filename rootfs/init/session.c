#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "exec.h"
#include "log.h"
#include "image_root.h"
#include "net.h"
#include "setup.h"
#include "workload.h"

/*
 * A connection that ends in a reset rather than an end of stream: the
 * vsock transport was reset, which the VMM does when it restores a VM
 * from a snapshot (the launcher at the other end belongs to the sandbox
 * the snapshot was taken of). vsock reports it as ENOTCONN on read and
 * send (the socket's error is ECONNRESET); a stream socket elsewhere as
 * ECONNRESET. A launcher that closes its end gives an end of stream.
 */
static int lost_connection(const struct vj_init_session *s, int code, const char *what,
			   struct vj_err *err)
{
	if (code != -ENOTCONN && code != -ECONNRESET)
		return vj_fail_errno(err, code, "%s", what);
	return vj_fail(err, s->reconnect ? -ENETRESET : -ECONNRESET,
		       "%s: the connection was reset (%s)", what, strerror(-code));
}

/* Blocks until a whole frame is in. */
static int recv_frame(struct vj_init_session *s, struct vj_agent_msg *m, struct vj_err *err)
{
	for (;;) {
		int r = vj_agent_rx_next(s->rx, m, err);
		ssize_t n;

		if (r != 0)
			return r;
		n = vj_agent_rx_read(s->rx, s->conn);
		if (n == 0)
			return vj_fail(err, -ECONNRESET, "the launcher closed the connection");
		if (n < 0)
			return lost_connection(s, (int)n, "read from the launcher", err);
	}
}

static int send_frame(struct vj_init_session *s, const struct vj_agent_msg *m, struct vj_err *err)
{
	int r = vj_agent_send(s->tx, s->conn, m);
	char what[64];

	if (r == -EPIPE)
		return vj_fail(err, -ECONNRESET, "send %s to the launcher: %s",
			       vj_agent_type_name(m->type), strerror(-r));
	snprintf(what, sizeof(what), "send %s to the launcher", vj_agent_type_name(m->type));
	return r < 0 ? lost_connection(s, r, what, err) : 0;
}

static int unexpected(const struct vj_agent_msg *m, const char *when, struct vj_err *err)
{
	char text[VJ_AGENT_ERROR_MAX + 1];

	if (m->type != VJ_AGENT_ERROR)
		return vj_fail(err, -EPROTO, "unexpected %s frame %s",
			       vj_agent_type_name(m->type), when);
	vj_agent_printable(text, sizeof(text), m->bytes.data, m->bytes.len);
	return vj_fail(err, -ECONNABORTED, "the launcher reported: %s", text);
}

static int hello(struct vj_init_session *s, struct vj_err *err)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_HELLO,
				  .hello = { VJ_AGENT_VERSION_MIN, VJ_AGENT_VERSION_MAX } };
	int r;

	if ((r = send_frame(s, &m, err)) < 0 || (r = recv_frame(s, &m, err)) < 0)
		return r;
	if (m.type != VJ_AGENT_HELLO)
		return unexpected(&m, "before HELLO", err);
	if (m.hello.min != m.hello.max || !vj_agent_version_spoken(m.hello.min))
		return vj_fail(err, -EPROTONOSUPPORT,
			       "the launcher chose protocol version %u..%u; this agent speaks %u..%u",
			       m.hello.min, m.hello.max, VJ_AGENT_VERSION_MIN, VJ_AGENT_VERSION_MAX);
	s->version = m.hello.min;
	vj_agent_rx_consume(s->rx);
	return 0;
}

/* An exec's connection begins with the proof that the agent made it:
 * the id and token of the EXEC frame it answers. Its version is the one
 * the workload's session agreed. */
static int attach(struct vj_init_session *s, struct vj_err *err)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_ATTACH };

	m.attach.id = s->exec->id;
	memcpy(m.attach.token, s->exec->token, sizeof(m.attach.token));
	return send_frame(s, &m, err);
}

/*
 * This VM is one of the clones of a snapshot: fresh randomness first, so
 * that nothing of this clone draws what its siblings draw too; a clone
 * that cannot be reseeded runs no workload. A clock the kernel refuses is
 * only logged, as for SETTIME.
 */
static int apply_restored(const struct vj_init_session *s, const struct vj_agent_restored *x,
			  struct vj_err *err)
{
	struct vj_err clock_err;
	int r;

	if (!s->setup) {
		vj_info("RESTORED: random generator, clock (%llu ns), hostname \"%s\" and %u MAC(s) "
			"left alone (no system set-up)",
			(unsigned long long)x->realtime_ns, x->hostname, x->nmacs);
		return 0;
	}
	if ((r = vj_init_reseed(x->entropy, sizeof(x->entropy), err)) < 0)
		return r;
	if (vj_init_set_clock(x->realtime_ns, &clock_err) < 0)
		vj_warn("%s", clock_err.msg);
	if (x->hostname[0] && (r = vj_init_set_hostname(x->hostname, err)) < 0)
		return r;
	/* Entry i names the clone's MAC for eth<index>: the guest's virtio-net
	 * interfaces in the order of the policy's vm.net. */
	for (unsigned i = 0; i < x->nmacs; i++) {
		char ifname[16];
		snprintf(ifname, sizeof(ifname), "eth%u", x->macs[i].index);
		if ((r = vj_init_net_set_mac(ifname, x->macs[i].mac, err)) < 0)
			return r;
	}
	vj_info("restored from a snapshot: random generator reseeded, clock, hostname and %u "
		"MAC(s) set", x->nmacs);
	return 0;
}

/* Returns 0 once START came, 1 for CONTINUE (as the first frame), or
 * -errno. */
static int receive_workload(struct vj_init_session *s, struct vj_init_workload *w,
			    struct vj_err *err)
{
	struct vj_agent_msg m;
	struct vj_agent_exec_spec xspec;
	bool have_spec = false, restored = false;
	int r;

	for (;;) {
		if ((r = recv_frame(s, &m, err)) < 0)
			return r;
		if (s->exec && m.type == VJ_AGENT_EXEC_SPEC && !have_spec) {
			xspec = m.xspec;
			have_spec = true;
		} else if (s->exec && (m.type == VJ_AGENT_WORKLOAD || m.type == VJ_AGENT_RESTORED ||
				       m.type == VJ_AGENT_ROOT || m.type == VJ_AGENT_CONTINUE)) {
			return unexpected(&m, "on an exec's connection", err);
		} else if (m.type == VJ_AGENT_CONTINUE && !have_spec && !restored && !w->has_root) {
			if (s->version < VJ_AGENT_VERSION_CONTINUE)
				return vj_fail(err, -EPROTO,
					       "unexpected CONTINUE frame in protocol version %u",
					       s->version);
			vj_agent_rx_consume(s->rx);
			return 1;
		} else if (m.type == VJ_AGENT_RESTORED && !have_spec && !restored) {
			if (s->version < VJ_AGENT_VERSION_RESTORED)
				return vj_fail(err, -EPROTO,
					       "unexpected RESTORED frame in protocol version %u",
					       s->version);
			if ((r = apply_restored(s, &m.restored, err)) < 0)
				return r;
			restored = true;
		} else if (m.type == VJ_AGENT_ROOT && !have_spec && !w->has_root) {
			if (s->version < VJ_AGENT_VERSION_ROOT)
				return vj_fail(err, -EPROTO,
					       "unexpected ROOT frame in protocol version %u",
					       s->version);
			w->root = m.root;
			w->has_root = true;
		} else if (m.type == VJ_AGENT_WORKLOAD && !have_spec) {
			w->spec = m.spec;
			have_spec = true;
		} else if ((m.type == VJ_AGENT_ARG || m.type == VJ_AGENT_ENV) && have_spec) {
			if ((r = vj_init_workload_add(w, &m, err)) < 0)
				return r;
		} else if (m.type == VJ_AGENT_START && have_spec) {
			vj_agent_rx_consume(s->rx);
			if (s->exec && (r = vj_init_exec_prepare(w, s->workload, &xspec, err)) < 0)
				return r;
			return vj_init_workload_check(w, err);
		} else {
			return unexpected(&m, have_spec ? "before START"
						  : s->exec ? "before EXEC_SPEC" : "before WORKLOAD", err);
		}
		vj_agent_rx_consume(s->rx);
	}
}

/* Settings of the guest system that come with the workload. */
static int apply_system(const struct vj_agent_spec *spec, struct vj_err *err)
{
	int r;

	if (spec->hostname[0] && (r = vj_init_set_hostname(spec->hostname, err)) < 0)
		return r;
	if (spec->net.enabled &&
	    (r = vj_init_net_configure(VJ_INIT_NET_IFNAME, &spec->net, err)) < 0)
		return r;
	return 0;
}

/* The image root ROOT asked for, and the ids of its User. Only PID 1 with
 * its set-up mounts; a test on the host runs in its own root. */
static int apply_root(struct vj_init_session *s, struct vj_init_workload *w, struct vj_err *err)
{
	int r;

	if (!w->has_root)
		return 0;
	if (!s->setup) {
		vj_info("ROOT: drive %u left unmounted (no system set-up)", w->root.drive);
		return 0;
	}
	if ((r = vj_init_image_root_mount(&w->root, err)) < 0)
		return r;
	w->root_dir = VJ_INIT_IMAGE_ROOT;
	cleanup_fd int rootfd = open(VJ_INIT_IMAGE_ROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return vj_fail_errno(err, -errno, "image root: open %s", VJ_INIT_IMAGE_ROOT);
	if (w->spec.cwd[0] == '/' && (r = vj_init_image_workdir(rootfd, w->spec.cwd, err)) < 0)
		return r;
	if (!w->root.user[0])
		return 0;
	return vj_init_image_user(rootfd, w->root.user, &w->spec.uid, &w->spec.gid, err);
}

struct relay {
	struct vj_init_session *s;
	const struct vj_init_workload *w; /* what execs run beside */
	struct vj_init_child child;
	int sigfd;
	bool stdin_eof;       /* STDIN_EOF arrived */
	bool stdin_pending;   /* the STDIN frame at the front of rx is partly written */
	const uint8_t *stdin_data;
	size_t stdin_len;
	bool done;            /* the workload's main process ended */
	int status;           /* its wait status */
	bool stopping;        /* SIGINT came: SIGTERM sent, SIGKILL at kill_at_ms */
	uint64_t kill_at_ms;  /* CLOCK_MONOTONIC */
	uint8_t *buf;         /* VJ_AGENT_PAYLOAD_MAX bytes of output */
	size_t unsent;        /* buf holds output whose frame a reset cut short */
	enum vj_agent_type unsent_type;
};

/* When the main process ends the run is over: what it left behind is
 * killed, so that the output pipes reach end of file. As PID 1 that is
 * every other process; otherwise (a test) its process group. */
static void kill_rest(struct relay *rl)
{
	if (rl->s->is_init)
		kill(-1, SIGKILL);
	else
		kill(-rl->child.pid, SIGKILL);
}

static void drop_stdin(struct relay *rl)
{
	if (rl->stdin_pending)
		vj_agent_rx_consume(rl->s->rx);
	rl->stdin_pending = false;
	vj_closep(&rl->child.stdin_fd);
	rl->child.stdin_fd = -1;
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Asked to stop: the workload gets SIGTERM, then the grace period, then
 * SIGKILL; whichever way it ends is reported as usual. */
static void stop_workload(struct relay *rl)
{
	if (rl->done || rl->stopping)
		return;
	vj_info("asked to stop (SIGINT): SIGTERM to the workload, SIGKILL in %d ms",
		VJ_INIT_STOP_GRACE_MS);
	kill(-rl->child.pid, SIGTERM);
	rl->stopping = true;
	rl->kill_at_ms = now_ms() + VJ_INIT_STOP_GRACE_MS;
}

/* poll(2)'s timeout: until the grace period ends, if one runs. */
static int grace_left_ms(const struct relay *rl)
{
	const uint64_t now = now_ms();

	if (!rl->stopping || rl->done)
		return -1;
	return rl->kill_at_ms > now ? (int)(rl->kill_at_ms - now) : 0;
}

static void end_grace(struct relay *rl)
{
	if (grace_left_ms(rl) != 0)
		return;
	vj_info("the workload outlived its grace period: SIGKILL");
	kill(-rl->child.pid, SIGKILL);
	rl->stopping = false;
}

/* Every child that ended is reaped, the workload's own and the orphans
 * that PID 1 (or a subreaper) inherits. */
static void reap(struct relay *rl)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid != rl->child.pid || rl->done) {
			vj_init_exec_reaped(rl->s, pid);
			continue;
		}
		rl->done = true;
		rl->status = st;
		kill_rest(rl);
		drop_stdin(rl);
	}
}

/* Writes what the workload's stdin takes now; a workload that closed its
 * stdin gets no more (its later STDIN frames are dropped). */
static void write_stdin(struct relay *rl)
{
	while (rl->stdin_len) {
		ssize_t n = write(rl->child.stdin_fd, rl->stdin_data, rl->stdin_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			rl->stdin_pending = true;
			return;
		}
		if (n < 0) {
			drop_stdin(rl);
			return;
		}
		rl->stdin_data += n;
		rl->stdin_len -= (size_t)n;
	}
	if (rl->stdin_pending)
		vj_agent_rx_consume(rl->s->rx);
	rl->stdin_pending = false;
}

/* A clock the kernel refuses (a time beyond its range) leaves the clock as
 * it was: not worth ending the workload for. */
static void set_clock(const struct vj_init_session *s, uint64_t ns)
{
	struct vj_err err;

	if (!s->setup)
		vj_info("SETTIME %llu ns: the clock is left alone (no system set-up)",
			(unsigned long long)ns);
	else if (vj_init_set_clock(ns, &err) < 0)
		vj_warn("%s", err.msg);
}

/* One frame from the launcher while the workload runs. Returns 1 when
 * the frame stays at the front of rx (stdin not yet written). */
static int handle(struct relay *rl, const struct vj_agent_msg *m, struct vj_err *err)
{
	switch (m->type) {
	case VJ_AGENT_STDIN:
		if (rl->stdin_eof)
			return vj_fail(err, -EPROTO, "unexpected STDIN frame after STDIN_EOF");
		if (rl->child.stdin_fd < 0)
			return 0;
		rl->stdin_data = m->bytes.data;
		rl->stdin_len = m->bytes.len;
		write_stdin(rl);
		return rl->stdin_pending;
	case VJ_AGENT_STDIN_EOF:
		if (rl->stdin_eof)
			return vj_fail(err, -EPROTO, "unexpected second STDIN_EOF frame");
		rl->stdin_eof = true;
		vj_closep(&rl->child.stdin_fd);
		rl->child.stdin_fd = -1;
		return 0;
	case VJ_AGENT_SIGNAL:
		if (!rl->done)
			kill(-rl->child.pid, (int)m->signal);
		return 0;
	case VJ_AGENT_SETTIME:
		if (rl->s->version < VJ_AGENT_VERSION_SETTIME)
			return vj_fail(err, -EPROTO,
				       "unexpected SETTIME frame in protocol version %u",
				       rl->s->version);
		set_clock(rl->s, m->realtime_ns);
		return 0;
	case VJ_AGENT_EXEC:
		return vj_init_exec_start(rl->s, rl->w, &m->exec, err);
	default:
		return unexpected(m, "while the workload runs", err);
	}
}

static int process_frames(struct relay *rl, struct vj_err *err)
{
	struct vj_agent_msg m;
	int r = 0;

	while (!rl->stdin_pending && (r = vj_agent_rx_next(rl->s->rx, &m, err)) == 1) {
		if ((r = handle(rl, &m, err)) < 0)
			return r;
		if (r == 0)
			vj_agent_rx_consume(rl->s->rx);
	}
	return r < 0 ? r : 0;
}

static int read_launcher(struct relay *rl, struct vj_err *err)
{
	ssize_t n = vj_agent_rx_read(rl->s->rx, rl->s->conn);

	if (n == 0)
		return vj_fail(err, -ECONNRESET, "the launcher closed the connection");
	if (n < 0 && n != -EAGAIN)
		return lost_connection(rl->s, (int)n, "read from the launcher", err);
	return process_frames(rl, err);
}

static int pump(struct relay *rl, int *fd, enum vj_agent_type type, struct vj_err *err)
{
	ssize_t n = read(*fd, rl->buf, VJ_AGENT_PAYLOAD_MAX);
	struct vj_agent_msg m = { .type = type };
	int r;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		vj_closep(fd);
		*fd = -1;
		return 0;
	}
	m.bytes.data = rl->buf;
	m.bytes.len = (size_t)n;
	r = send_frame(rl->s, &m, err);
	/* The old launcher never takes a frame it did not get whole: a
	 * launcher that continues gets all of it. */
	if (r == -ENETRESET) {
		rl->unsent = (size_t)n;
		rl->unsent_type = type;
	}
	return r;
}

/* SIGCHLD, and SIGINT, the request to stop. */
static void on_signals(struct relay *rl)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(rl->sigfd, &si, sizeof(si)) == sizeof(si))
		stop |= si.ssi_signo == SIGINT;
	reap(rl);
	if (stop)
		stop_workload(rl);
}

/* What an earlier session's workload writes has no reader any more. */
static void drain_orphans(struct vj_init_session *s, const struct pollfd *pf, uint8_t *buf)
{
	for (unsigned i = s->norphans; i-- > 0;) {
		ssize_t n;

		if (!pf[i].revents)
			continue;
		n = read(s->orphans[i], buf, VJ_AGENT_PAYLOAD_MAX);
		if (n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN)))
			continue;
		vj_closep(&s->orphans[i]);
		s->orphans[i] = s->orphans[--s->norphans];
	}
}

#define RELAY_FDS 5

static int relay_step(struct relay *rl, struct vj_err *err)
{
	struct vj_init_child *c = &rl->child;
	struct vj_init_session *s = rl->s;
	const bool want_conn = !rl->stdin_pending && !rl->done;
	struct pollfd pf[RELAY_FDS + VJ_INIT_ORPHANS_MAX] = {
		{ .fd = rl->sigfd, .events = POLLIN },
		{ .fd = c->stdout_fd, .events = POLLIN },
		{ .fd = c->stderr_fd, .events = POLLIN },
		{ .fd = rl->stdin_pending ? c->stdin_fd : -1, .events = POLLOUT },
		{ .fd = want_conn ? s->conn : -1, .events = POLLIN },
	};
	int r;

	for (unsigned i = 0; i < s->norphans; i++)
		pf[RELAY_FDS + i] = (struct pollfd){ .fd = s->orphans[i], .events = POLLIN };
	if (poll(pf, RELAY_FDS + s->norphans, grace_left_ms(rl)) < 0)
		return errno == EINTR ? 0 : vj_fail_errno(err, -errno, "poll");
	drain_orphans(s, pf + RELAY_FDS, rl->buf);
	end_grace(rl);
	if (pf[0].revents)
		on_signals(rl);
	if (pf[1].revents && c->stdout_fd >= 0 &&
	    (r = pump(rl, &c->stdout_fd, VJ_AGENT_STDOUT, err)) < 0)
		return r;
	if (pf[2].revents && c->stderr_fd >= 0 &&
	    (r = pump(rl, &c->stderr_fd, VJ_AGENT_STDERR, err)) < 0)
		return r;
	if (pf[3].revents && rl->stdin_pending) {
		write_stdin(rl);
		if (!rl->stdin_pending && (r = process_frames(rl, err)) < 0)
			return r;
	}
	if (pf[4].revents && !rl->done && (r = read_launcher(rl, err)) < 0)
		return r;
	return 0;
}

static void exit_frame(int status, struct vj_agent_msg *m)
{
	m->type = VJ_AGENT_EXIT;
	if (WIFSIGNALED(status)) {
		m->exit.kind = VJ_AGENT_SIGNALED;
		m->exit.value = (uint32_t)WTERMSIG(status);
	} else {
		m->exit.kind = VJ_AGENT_EXITED;
		m->exit.value = (uint32_t)WEXITSTATUS(status);
	}
}

/* From spawn to the end of the workload's output: the main process has
 * ended and both pipes are at end of file. */
static int relay(struct relay *rl, struct vj_err *err)
{
	struct vj_agent_msg m;
	int r;

	if ((r = process_frames(rl, err)) < 0)
		return r;
	while (!rl->done || rl->child.stdout_fd >= 0 || rl->child.stderr_fd >= 0)
		if ((r = relay_step(rl, err)) < 0)
			return r;
	exit_frame(rl->status, &m);
	return send_frame(rl->s, &m, err);
}

/* A program that cannot be executed ends like it does in a shell: a line
 * on its stderr and status 127 (not found) or 126 (not executable). */
static int report_exec_failure(struct vj_init_session *s, int code, const char *what,
			       struct vj_err *err)
{
	char line[VJ_AGENT_ERROR_MAX + 16];
	struct vj_agent_msg m = { .type = VJ_AGENT_STDERR };
	int r;

	snprintf(line, sizeof(line), "vmjail-init: %.*s\n", (int)VJ_AGENT_ERROR_MAX, what);
	m.bytes.data = (const uint8_t *)line;
	m.bytes.len = strlen(line);
	if ((r = send_frame(s, &m, err)) < 0)
		return r;
	m.type = VJ_AGENT_EXIT;
	m.exit.kind = VJ_AGENT_EXITED;
	m.exit.value = code == -ENOENT ? 127 : 126;
	return send_frame(s, &m, err);
}

/* From here SIGINT no longer powers off at once (PID 1) or ends the
 * agent: it waits in the signalfd until the workload runs, then stops it. */
static int start_reaping(struct relay *rl, struct vj_err *err)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (rl->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return vj_fail_errno(err, -errno, "signalfd for SIGCHLD and SIGINT");
	return 0;
}

/* Whatever way the run ended, nothing of the workload outlives it: an
 * unfinished one is killed, and PID 1 waits for every last process. */
static void end_run(struct relay *rl)
{
	if (rl->child.pid > 0 && !rl->done) {
		kill_rest(rl);
		kill(rl->child.pid, SIGKILL);
		while (waitpid(rl->child.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	vj_init_exec_end_all(rl->s);
	if (rl->s->is_init)
		while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
			;
	else
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	vj_closep(&rl->child.stdin_fd);
	vj_closep(&rl->child.stdout_fd);
	vj_closep(&rl->child.stderr_fd);
	vj_closep(&rl->sigfd);
	free(rl->buf);
}

static void keep_orphan(struct vj_init_session *s, int *fd)
{
	if (*fd >= 0 && s->norphans < VJ_INIT_ORPHANS_MAX) {
		s->orphans[s->norphans++] = *fd;
		*fd = -1;
	}
	vj_closep(fd);
	*fd = -1;
}

/*
 * The connection was reset while this workload ran: the VM was restored
 * from a snapshot (a clone starts where its snapshot stood) or migrated
 * to another host. The workload (and whatever it started) keeps running,
 * and its output waits in its pipes, for the next launcher: one that
 * CONTINUEs it gets the rest; a clone's own workload makes it an orphan.
 * Its stdin ends here either way (what the old launcher had sent for it
 * and was not written yet is gone with the connection).
 */
static void keep_run(struct relay *rl)
{
	struct vj_init_session *s = rl->s;

	vj_info("the workload (pid %d) keeps running, unconnected", (int)rl->child.pid);
	vj_closep(&rl->child.stdin_fd);
	rl->child.stdin_fd = -1;
	vj_closep(&rl->sigfd);
	s->kept.child = rl->child;
	s->kept.done = rl->done;
	s->kept.status = rl->status;
	s->kept.buf = rl->buf;
	s->kept.unsent = rl->unsent;
	s->kept.unsent_type = rl->unsent_type;
}

/* A clone runs a workload of its own: the snapshot's is read and dropped
 * from now on. */
static void free_kept_workload(struct vj_init_session *s)
{
	if (!s->kept.w)
		return;
	vj_init_workload_free(s->kept.w);
	free(s->kept.w);
	s->kept.w = NULL;
}

static void orphan_kept(struct vj_init_session *s)
{
	free_kept_workload(s);
	if (s->kept.child.pid <= 0)
		return;
	vj_info("the workload of the snapshot's sandbox (pid %d) runs on, its output dropped",
		(int)s->kept.child.pid);
	keep_orphan(s, &s->kept.child.stdout_fd);
	keep_orphan(s, &s->kept.child.stderr_fd);
	free(s->kept.buf);
	s->kept.buf = NULL;
	s->kept.child.pid = -1;
}

void vj_init_drop_kept(struct vj_init_session *s)
{
	vj_closep(&s->kept.child.stdout_fd);
	vj_closep(&s->kept.child.stderr_fd);
	s->kept.child.stdout_fd = s->kept.child.stderr_fd = -1;
	free(s->kept.buf);
	s->kept.buf = NULL;
	s->kept.child.pid = -1;
	free_kept_workload(s);
}

/* CONTINUE: the relay takes over the kept workload where the reset left
 * it, the output of a frame that did not get out first. */
static int adopt_kept(struct relay *rl, struct vj_err *err)
{
	struct vj_init_session *s = rl->s;
	struct vj_agent_msg m = { .type = s->kept.unsent_type };
	int r;

	if (s->kept.child.pid <= 0)
		return vj_fail(err, -ESRCH, "CONTINUE frame: no workload runs here to continue");
	rl->child = s->kept.child;
	rl->done = s->kept.done;
	rl->status = s->kept.status;
	rl->buf = s->kept.buf;
	s->kept.buf = NULL;
	if (s->kept.w)
		rl->w = s->kept.w;
	s->kept.child = (struct vj_init_child){ -1, -1, -1, -1 };
	vj_info("continuing the workload (pid %d) for a new launcher", (int)rl->child.pid);
	if ((r = start_reaping(rl, err)) < 0 || !s->kept.unsent)
		return r;
	m.bytes.data = rl->buf;
	m.bytes.len = s->kept.unsent;
	s->kept.unsent = 0;
	r = send_frame(s, &m, err);
	if (r == -ENETRESET) {
		rl->unsent = m.bytes.len;
		rl->unsent_type = m.type;
	}
	return r;
}

int vj_init_serve(struct vj_init_session *s, struct vj_err *err)
{
	struct vj_init_workload w = { 0 };
	struct relay rl = { .s = s, .w = &w, .child = { -1, -1, -1, -1 }, .sigfd = -1 };
	enum vj_init_spawn_failure failure;
	int r;

	if ((r = s->exec ? attach(s, err) : hello(s, err)) < 0 ||
	    (r = receive_workload(s, &w, err)) < 0)
		goto out;
	if (r == 1) {
		if ((r = adopt_kept(&rl, err)) == 0)
			r = relay(&rl, err);
		goto out;
	}
	if (!s->exec)
		orphan_kept(s);
	if ((r = s->exec ? 0 : apply_system(&w.spec, err)) < 0 ||
	    (r = s->exec ? 0 : apply_root(s, &w, err)) < 0 || (r = start_reaping(&rl, err)) < 0)
		goto out;
	if (!(rl.buf = malloc(VJ_AGENT_PAYLOAD_MAX))) {
		r = vj_fail(err, -ENOMEM, "output buffer: out of memory");
		goto out;
	}
	r = vj_init_workload_spawn(&w, &rl.child, &failure, err);
	if (r < 0 && failure == VJ_INIT_SPAWN_EXEC) {
		char what[VJ_AGENT_ERROR_MAX];

		/* Copied: sending it may overwrite err. */
		snprintf(what, sizeof(what), "%s", err->msg);
		r = report_exec_failure(s, r, what, err);
	} else if (r == 0) {
		r = relay(&rl, err);
	}
out:
	if (r == -ENETRESET && rl.child.pid > 0) {
		keep_run(&rl);
		/* What execs beside it need, kept with it (a continued
		 * workload's is kept already). */
		if (!s->kept.w && (s->kept.w = malloc(sizeof(w)))) {
			memcpy(s->kept.w, &w, sizeof(w));
			memset(&w, 0, sizeof(w));
		}
	} else {
		end_run(&rl);
		if (rl.w == s->kept.w)
			free_kept_workload(s);
	}
	vj_init_workload_free(&w);
	return r;
}

void vj_init_finish(struct vj_init_session *s)
{
	shutdown(s->conn, SHUT_WR);
	for (;;) {
		s->rx->have = s->rx->current = 0;
		if (vj_agent_rx_read(s->rx, s->conn) <= 0)
			return;
	}
}
