#include "exec_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent_proto.h"
#include "cleanup.h"
#include "control_socket.h"
#include "json.h"
#include "log.h"
#include "parse.h"
#include "policy.h"
#include "rundir.h"
#include "scalar.h"

#define REPLY_MS 30000
/* A sandbox whose guest is still booting answers NotReady: asked again
 * every 100 ms, for at most a minute. */
#define NOT_READY_TRIES 600
#define LINE_VALUES_MAX 64

/* The signals a shell's user sends a command, passed on to the process. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

struct link {
	int fd;
	const char *id;
	size_t len;
	char buf[VJ_CTL_LINE_MAX + 1];
	size_t consumed;
};

/* The next line, NUL-terminated in place; -ECONNRESET at the end,
 * -ETIMEDOUT after timeout_ms (-1: never); also returns (-EINTR) when
 * sigfd (>= 0) is readable. */
static int next_line(struct link *l, int sigfd, int timeout_ms, char **line)
{
	char *nl;

	memmove(l->buf, l->buf + l->consumed, l->len - l->consumed);
	l->len -= l->consumed;
	l->consumed = 0;
	while (!(nl = memchr(l->buf, '\n', l->len))) {
		struct pollfd p[2] = { { .fd = l->fd, .events = POLLIN },
				       { .fd = sigfd, .events = POLLIN } };
		ssize_t n;
		int k;
		if (l->len == sizeof(l->buf) - 1)
			return -EPROTO;
		if ((k = poll(p, 2, timeout_ms)) == 0)
			return -ETIMEDOUT;
		if (k < 0 && errno == EINTR)
			continue;
		if (p[1].revents)
			return -EINTR;
		n = recv(l->fd, l->buf + l->len, sizeof(l->buf) - 1 - l->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		l->len += (size_t)n;
	}
	*nl = '\0';
	*line = l->buf;
	l->consumed = (size_t)(nl - l->buf) + 1;
	return 0;
}

static int connect_sandbox(const char *run_dir, const char *id, struct link *l, struct vj_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_with(vj_json_free) struct vj_json_doc doc = { 0 };
	cleanup_fd int dir = -1;
	const char *desc = "unexpected greeting";
	char *line;
	int r;

	l->id = id;
	if (!vj_name_is_sandbox_id(id))
		return vj_fail(e, -EINVAL, "\"%s\" is not a sandbox id", id);
	dir = openat(AT_FDCWD, run_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0 && errno == ENOENT)
		return vj_fail(e, -ESRCH, "sandbox %s: not running (no run directory %s)", id, run_dir);
	if (dir < 0)
		return vj_fail_errno(e, -errno, "run directory %s", run_dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s/%s", dir, id, VJ_CTL_SOCKET);
	if ((l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return vj_fail_errno(e, -errno, "socket");
	if (connect(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		if (r == -ENOENT || r == -ECONNREFUSED)
			return vj_fail(e, -ESRCH, "sandbox %s: not running (no control socket in %s/%s)",
				       id, run_dir, id);
		return vj_fail_errno(e, r, "sandbox %s: connect to its control socket", id);
	}
	if ((r = next_line(l, -1, REPLY_MS, &line)) < 0)
		return vj_fail_errno(e, r, "sandbox %s: no greeting", id);
	if (vj_json_parse(line, strlen(line), LINE_VALUES_MAX, &doc, e) < 0)
		return vj_wrap(e, "sandbox %s: bad greeting", id);
	if (vj_json_get(doc.root, "vmjail"))
		return 0;
	/* Refused connections get an error line instead. */
	(void)vj_json_string(vj_json_get(vj_json_get(doc.root, "error"), "desc"), &desc);
	return vj_fail(e, -EACCES, "sandbox %s: %s", id, desc);
}

static void write_request(struct vj_jw *w, const struct vj_exec_params *p)
{
	vj_jw_object_begin(w);
	vj_jw_key(w, "id");
	vj_jw_u64(w, 1);
	vj_jw_key(w, "execute");
	vj_jw_string(w, "exec");
	vj_jw_key(w, "arguments");
	vj_jw_object_begin(w);
	vj_jw_key(w, "argv");
	vj_jw_array_begin(w);
	for (unsigned i = 0; i < p->argc; i++)
		vj_jw_string(w, p->argv[i]);
	vj_jw_array_end(w);
	vj_jw_key(w, "env");
	vj_jw_array_begin(w);
	for (unsigned i = 0; i < p->envc; i++)
		vj_jw_string(w, p->env[i]);
	vj_jw_array_end(w);
	if (p->cwd) {
		vj_jw_key(w, "cwd");
		vj_jw_string(w, p->cwd);
	}
	if (p->has_user) {
		vj_jw_key(w, "uid");
		vj_jw_u64(w, p->uid);
		vj_jw_key(w, "gid");
		vj_jw_u64(w, p->gid);
	}
	vj_jw_object_end(w);
	vj_jw_object_end(w);
	vj_jw_raw(w, "\n", 1);
}

/* The request line and, in the same message, the process's stdio. */
static int send_request(struct link *l, const struct vj_exec_params *p, struct vj_err *e)
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u = { 0 };
	cleanup_with(vj_jw_free) struct vj_jw w = { 0 };
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	ssize_t n;

	vj_jw_init(&w, VJ_CTL_LINE_MAX);
	write_request(&w, p);
	if (vj_jw_finish(&w) < 0)
		return vj_fail(e, -E2BIG, "exec: the command and its environment exceed %u bytes",
			       VJ_CTL_LINE_MAX);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(3 * sizeof(int));
	memcpy(CMSG_DATA(c), p->stdio, 3 * sizeof(int));
	iov = (struct iovec){ .iov_base = w.buf, .iov_len = w.len };
	n = sendmsg(l->fd, &mh, MSG_NOSIGNAL);
	if (n < 0)
		return vj_fail_errno(e, -errno, "sandbox %s: send exec", l->id);
	/* The rest of a long line, if the socket took only part of it. */
	for (size_t off = (size_t)n; off < w.len; off += (size_t)n)
		if ((n = send(l->fd, w.buf + off, w.len - off, MSG_NOSIGNAL)) <= 0)
			return vj_fail_errno(e, -errno, "sandbox %s: send exec", l->id);
	return 0;
}

/* The reply to the exec request: its number, or the refusal. */
static int started(struct link *l, uint32_t *exec_id, struct vj_err *e)
{
	for (;;) {
		cleanup_with(vj_json_free) struct vj_json_doc doc = { 0 };
		const struct vj_json *id, *err;
		const char *desc = "refused";
		uint64_t n;
		char *line;
		int r;

		if ((r = next_line(l, -1, REPLY_MS, &line)) < 0)
			return vj_fail_errno(e, r, "sandbox %s: exec: no reply", l->id);
		if (vj_json_parse(line, strlen(line), LINE_VALUES_MAX, &doc, e) < 0)
			return vj_wrap(e, "sandbox %s: exec: bad reply", l->id);
		id = vj_json_get(doc.root, "id");
		if (!id || id->type != VJ_JSON_NUMBER || strcmp(id->text, "1"))
			continue;
		if ((err = vj_json_get(doc.root, "error"))) {
			const char *class = "";
			(void)vj_json_string(vj_json_get(err, "desc"), &desc);
			(void)vj_json_string(vj_json_get(err, "class"), &class);
			return vj_fail(e, strcmp(class, "NotReady") ? -EIO : -EAGAIN, "%s", desc);
		}
		if (vj_json_u64(vj_json_get(vj_json_get(doc.root, "return"), "exec"), UINT32_MAX,
				&n) < 0 || n == 0)
			return vj_fail(e, -EPROTO, "sandbox %s: exec: reply without an exec number",
				       l->id);
		*exec_id = (uint32_t)n;
		return 0;
	}
}

/* As with `vmjail run`'s workload: the first stop signal is the
 * process's to act on; a second one ends it (SIGKILL), for a process that
 * ignores them must not hold its caller. */
static void pass_signal(struct link *l, int sigfd, uint32_t exec_id, unsigned *stops)
{
	struct signalfd_siginfo si;
	char req[160];
	int n;

	while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
		uint32_t sig = si.ssi_signo;
		if ((sig == SIGINT || sig == SIGTERM || sig == SIGHUP) && ++*stops > 1)
			sig = SIGKILL;
		n = snprintf(req, sizeof(req),
			     "{\"id\":2,\"execute\":\"exec-kill\",\"arguments\":{\"exec\":%u,"
			     "\"signal\":%u}}\n", exec_id, sig);
		if (send(l->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
			return;
	}
}

/* An exec-exited event for exec_id: its status, or why there is none. */
static int ended(const struct vj_json *data, struct vj_err *e)
{
	const struct vj_json *st = vj_json_get(data, "status"), *d = vj_json_get(data, "dropped");
	const char *why = "no status";
	bool sandbox_ended = false;
	uint64_t n;

	for (const struct vj_json *v = d && d->type == VJ_JSON_ARRAY ? d->child : NULL; v;
	     v = v->next)
		if (v->type == VJ_JSON_STRING)
			vj_warn("%s", v->text);
	if (vj_json_u64(st, 255 + 128, &n) == 0)
		return (int)n;
	(void)vj_json_string(vj_json_get(data, "error"), &why);
	(void)vj_json_bool(vj_json_get(data, "sandbox_ended"), &sandbox_ended);
	vj_fail(e, -EIO, "%s", why);
	return sandbox_ended ? VJ_EXEC_SANDBOX_ENDED : VJ_EXEC_NOT_SET_UP;
}

static int wait_end(struct link *l, int sigfd, uint32_t exec_id, struct vj_err *e)
{
	unsigned stops = 0;

	for (;;) {
		cleanup_with(vj_json_free) struct vj_json_doc doc = { 0 };
		struct vj_err skipped;
		const struct vj_json *ev, *data;
		const char *name;
		uint64_t n;
		char *line;
		int r = next_line(l, sigfd, -1, &line);

		if (r == -EINTR) {
			pass_signal(l, sigfd, exec_id, &stops);
			continue;
		}
		if (r < 0) {
			vj_fail(e, r, "sandbox %s ended while exec %u ran", l->id, exec_id);
			return VJ_EXEC_SANDBOX_ENDED;
		}
		if (vj_json_parse(line, strlen(line), LINE_VALUES_MAX, &doc, &skipped) < 0)
			continue;
		ev = vj_json_get(doc.root, "event");
		data = vj_json_get(doc.root, "data");
		if (vj_json_string(ev, &name) < 0 || strcmp(name, "exec-exited") ||
		    vj_json_u64(vj_json_get(data, "exec"), UINT32_MAX, &n) < 0 || n != exec_id)
			continue;
		return ended(data, e);
	}
}

/* Stop signals wait in a signalfd from before the request: one that comes
 * while the process starts is passed on once it runs. */
static int block_signals(sigset_t *old, struct vj_err *e)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	for (size_t i = 0; i < VJ_ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, &set, old) < 0 ||
	    (fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return vj_fail_errno(e, -errno, "exec: signalfd");
	return fd;
}

int vj_exec_client(const char *run_dir, const char *id, const struct vj_exec_params *p,
		   uint32_t *exec_id, struct vj_err *e)
{
	cleanup_free struct link *l = calloc(1, sizeof(*l));
	cleanup_fd int sigfd = -1;
	sigset_t old;
	int r;

	e->msg[0] = '\0';
	if (!l)
		return vj_fail(e, -ENOMEM, "exec: out of memory");
	l->fd = -1;
	if (!p->detach && (sigfd = block_signals(&old, e)) < 0)
		return sigfd;
	if ((r = connect_sandbox(run_dir, id, l, e)) == 0) {
		const struct timespec pause = { .tv_nsec = 100 * 1000000 };
		for (int tries = 1;; tries++) {
			if ((r = send_request(l, p, e)) < 0 || (r = started(l, exec_id, e)) != -EAGAIN ||
			    tries == NOT_READY_TRIES)
				break;
			nanosleep(&pause, NULL);
		}
		if (r == 0 && !p->detach)
			r = wait_end(l, sigfd, *exec_id, e);
	}
	vj_closep(&l->fd);
	if (sigfd >= 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

/* ---- the verb -------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: vmjail exec ID [--env NAME=VALUE]... [--cwd DIR] [--user UID[:GID]] "
		   "[--detach] -- COMMAND [ARG]...\n");
}

static int parse_user(const char *s, struct vj_exec_params *p, struct vj_err *e)
{
	char buf[32];
	char *colon;
	uint64_t uid, gid = 0;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return vj_fail(e, -EINVAL, "--user \"%.32s\": expected UID[:GID]", s);
	if ((colon = strchr(buf, ':')))
		*colon++ = '\0';
	if (vj_parse_u64(buf, 0, UINT32_MAX - 1, &uid) < 0 ||
	    (colon && vj_parse_u64(colon, 0, UINT32_MAX - 1, &gid) < 0))
		return vj_fail(e, -EINVAL, "--user \"%s\": expected UID[:GID], numbers "
			       "0..4294967294", s);
	p->has_user = true;
	p->uid = (uint32_t)uid;
	p->gid = (uint32_t)gid;
	return 0;
}

static bool is_env(const char *s)
{
	size_t i = 0;

	while (s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
	       (i && s[i] >= '0' && s[i] <= '9'))
		i++;
	return i > 0 && s[i] == '=';
}

static int parse(int argc, char **argv, const char **id, struct vj_exec_params *p, char **env,
		 struct vj_err *e)
{
	int i = 1;

	for (; i < argc && strcmp(argv[i], "--"); i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--help") || !strcmp(o, "-h"))
			return 1;
		if (!strcmp(o, "--detach") || !strcmp(o, "-d")) {
			p->detach = true;
			continue;
		}
		if (o[0] != '-') {
			if (*id)
				return vj_fail(e, -EINVAL, "\"%s\": one sandbox id, then -- COMMAND", o);
			*id = o;
			continue;
		}
		if (!v || (strcmp(o, "--env") && strcmp(o, "--cwd") && strcmp(o, "--user")))
			return vj_fail(e, -EINVAL, v ? "unknown option %s" : "%s needs a value", o);
		i++;
		if (!strcmp(o, "--env")) {
			if (!is_env(v))
				return vj_fail(e, -EINVAL, "--env \"%s\": expected NAME=VALUE, NAME "
					       "[A-Za-z_][A-Za-z0-9_]*", v);
			if (p->envc == VJ_MAX_ENV)
				return vj_fail(e, -E2BIG, "--env: more than %u", VJ_MAX_ENV);
			env[p->envc++] = (char *)v;
		} else if (!strcmp(o, "--cwd")) {
			if (v[0] != '/' || strlen(v) > VJ_AGENT_CWD_MAX)
				return vj_fail(e, -EINVAL, "--cwd \"%s\": expected an absolute path", v);
			p->cwd = v;
		} else if (parse_user(v, p, e) < 0) {
			return -EINVAL;
		}
	}
	if (!*id)
		return vj_fail(e, -EINVAL, "no sandbox id");
	if (i + 1 >= argc || !argv[i + 1][0])
		return vj_fail(e, -EINVAL, "no command (vmjail exec ID -- COMMAND [ARG]...)");
	if (argc - i - 1 > (int)VJ_MAX_ARGS)
		return vj_fail(e, -E2BIG, "more than %u arguments", VJ_MAX_ARGS);
	p->argv = argv + i + 1;
	p->argc = (unsigned)(argc - i - 1);
	return 0;
}

int vj_exec_cli_main(const char *run_dir, int argc, char **argv)
{
	static char *env[VJ_MAX_ENV];
	struct vj_exec_params p = { .env = env, .stdio = { 0, 1, 2 } };
	const char *id = NULL;
	cleanup_fd int null = -1;
	uint32_t exec_id = 0;
	struct vj_err e;
	int r;

	signal(SIGPIPE, SIG_IGN);
	if ((r = parse(argc, argv, &id, &p, env, &e)) == 1) {
		usage(stdout);
		return 0;
	}
	if (r < 0) {
		vj_error("exec: %s (vmjail exec --help)", e.msg);
		return VJ_EXEC_FAILED;
	}
	/* A detached process must not read the terminal the shell reads. */
	if (p.detach && isatty(0)) {
		if ((null = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
			vj_error("exec: /dev/null: %s", strerror(errno));
			return VJ_EXEC_FAILED;
		}
		p.stdio[0] = null;
	}
	r = vj_exec_client(run_dir, id, &p, &exec_id, &e);
	if (r < 0) {
		vj_error("exec: %s", e.msg);
		return VJ_EXEC_FAILED;
	}
	if (r == VJ_EXEC_SANDBOX_ENDED || r == VJ_EXEC_NOT_SET_UP)
		if (e.msg[0])
			vj_error("exec: %s", e.msg);
	return r;
}
