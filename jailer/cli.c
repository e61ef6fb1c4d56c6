#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "control_socket.h"
#include "error.h"
#include "exec_client.h"
#include "json.h"
#include "launch.h"
#include "log.h"
#include "migrate_transport.h"
#include "parse.h"
#include "rundir.h"
#include "scalar.h"
#include "status.h"
#include "undo.h"

#define REPLY_MS 30000
#define REPLY_VALUES_MAX 4096

/* ---- talking to one sandbox ---------------------------------------------- */

struct conn {
	int fd;
	int pass_fd;  /* sent along with the next request; -1: none */
	int reply_ms; /* how long a reply may take */
	char id[72];
	size_t len;
	size_t consumed; /* bytes of buf the last line took, dropped on the next call */
	char buf[VJ_CTL_LINE_MAX + 1];
};

static void conn_close(struct conn *c)
{
	vj_closep(&c->fd);
	c->fd = -1;
}

/* The next line the sandbox sent (NUL-terminated in place, valid until
 * the next call), or -errno: -ETIMEDOUT after timeout_ms (-1: never),
 * -ECONNRESET when it hung up. */
static int next_line(struct conn *c, int timeout_ms, char **line, size_t *len)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	char *nl;

	memmove(c->buf, c->buf + c->consumed, c->len - c->consumed);
	c->len -= c->consumed;
	c->consumed = 0;
	while (!(nl = memchr(c->buf, '\n', c->len))) {
		ssize_t n;
		if (c->len == sizeof(c->buf) - 1)
			return -EPROTO;
		if (poll(&p, 1, timeout_ms) == 0)
			return -ETIMEDOUT;
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		c->len += (size_t)n;
	}
	*nl = '\0';
	*line = c->buf;
	*len = (size_t)(nl - c->buf);
	c->consumed = *len + 1;
	return 0;
}

static int ctl_connect(const char *run_dir, const char *id, struct conn *c, struct vj_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_fd int dir = -1;
	struct vj_json_doc doc;
	char *line;
	size_t len;
	int r;

	c->fd = -1;
	c->pass_fd = -1;
	c->reply_ms = REPLY_MS;
	c->len = 0;
	c->consumed = 0;
	snprintf(c->id, sizeof(c->id), "%s", id);
	if (!vj_name_is_sandbox_id(id))
		return vj_fail(e, -EINVAL, "\"%s\" is not a sandbox id", id);
	dir = openat(AT_FDCWD, run_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return vj_fail_errno(e, -errno, "run directory %s", run_dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s/%s", dir, id, VJ_CTL_SOCKET);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return vj_fail_errno(e, -errno, "socket");
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		conn_close(c);
		if (r == -ENOENT || r == -ECONNREFUSED)
			return vj_fail(e, -ESRCH, "sandbox %s: not running (no control socket in %s/%s)",
				       id, run_dir, id);
		return vj_fail_errno(e, r, "sandbox %s: connect to its control socket", id);
	}
	if ((r = next_line(c, REPLY_MS, &line, &len)) < 0) {
		conn_close(c);
		return vj_fail_errno(e, r, "sandbox %s: no greeting", id);
	}
	if (vj_json_parse(line, len, 64, &doc, e) < 0) {
		conn_close(c);
		return vj_wrap(e, "sandbox %s: bad greeting", id);
	}
	r = vj_json_get(doc.root, "vmjail") ? 0 : -EPROTO;
	if (r < 0) {
		/* Refused connections get an error line instead. */
		const char *desc = "unexpected greeting";
		(void)vj_json_string(vj_json_get(vj_json_get(doc.root, "error"), "desc"), &desc);
		vj_fail(e, -EACCES, "sandbox %s: %s", id, desc);
	}
	vj_json_free(&doc);
	if (r < 0)
		conn_close(c);
	return r < 0 ? e->code : 0;
}

/* send(), with fd alongside (SCM_RIGHTS) when it is >= 0. */
static ssize_t send_with_fd(int sock, const char *buf, size_t len, int fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *h;

	if (fd < 0)
		return send(sock, buf, len, MSG_NOSIGNAL);
	memset(&u, 0, sizeof(u));
	mh.msg_control = u.b;
	mh.msg_controllen = sizeof(u.b);
	h = CMSG_FIRSTHDR(&mh);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/* Sends one request and returns its reply's "return" in doc (the caller
 * frees it), skipping events; an error reply becomes e. */
static int ctl_call(struct conn *c, const char *command, const char *args,
		    struct vj_json_doc *doc, const struct vj_json **ret, struct vj_err *e)
{
	char req[2048], *line;
	const struct vj_json *err, *id;
	size_t len;
	int n = snprintf(req, sizeof(req), "{\"id\":1,\"execute\":\"%s\"%s%s}\n", command,
			 args ? ",\"arguments\":" : "", args ? args : "");
	int r;

	if (n >= (int)sizeof(req))
		return vj_fail(e, -E2BIG, "sandbox %s: %s: arguments too long", c->id, command);
	if (send_with_fd(c->fd, req, (size_t)n, c->pass_fd) != n)
		return vj_fail_errno(e, -errno, "sandbox %s: send %s", c->id, command);
	for (;;) {
		if ((r = next_line(c, c->reply_ms, &line, &len)) < 0)
			return vj_fail_errno(e, r, "sandbox %s: %s: no reply", c->id, command);
		if (vj_json_parse(line, len, REPLY_VALUES_MAX, doc, e) < 0)
			return vj_wrap(e, "sandbox %s: %s: bad reply", c->id, command);
		id = vj_json_get(doc->root, "id");
		if (id && id->type == VJ_JSON_NUMBER && !strcmp(id->text, "1"))
			break;
		vj_json_free(doc);
	}
	if ((err = vj_json_get(doc->root, "error"))) {
		const char *desc = "failed";
		(void)vj_json_string(vj_json_get(err, "desc"), &desc);
		vj_fail(e, -EIO, "%s", desc);
		vj_json_free(doc);
		return -EIO;
	}
	*ret = vj_json_get(doc->root, "return");
	return 0;
}

/* ---- printing ---------------------------------------------------------------- */

static void print_size(uint64_t bytes, char *buf, size_t cap)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u + 1 < VJ_ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, cap, u ? "%.1f%s" : "%.0f%s", v, units[u]);
}

static void print_duration(uint64_t ms, char *buf, size_t cap)
{
	uint64_t s = ms / 1000;

	if (s < 60)
		snprintf(buf, cap, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, cap, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, cap, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(buf, cap, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s / 3600 % 24);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void ps_json(const struct vj_ps_entry *p, size_t n)
{
	struct vj_jw w;

	vj_jw_init(&w, 64u << 20);
	vj_jw_array_begin(&w);
	for (size_t i = 0; i < n; i++) {
		vj_jw_object_begin(&w);
		vj_jw_key(&w, "id");
		vj_jw_string(&w, p[i].id);
		vj_jw_key(&w, "state");
		vj_jw_string(&w, p[i].state);
		vj_jw_key(&w, "exit_status");
		if (p[i].exit_status >= 0)
			vj_jw_i64(&w, p[i].exit_status);
		else
			vj_jw_null(&w);
		vj_jw_key(&w, "launcher_pid");
		vj_jw_i64(&w, p[i].launcher_pid);
		vj_jw_key(&w, "vmm_pid");
		vj_jw_i64(&w, p[i].vmm_pid);
		vj_jw_key(&w, "owner");
		if (p[i].owner == (uid_t)-1)
			vj_jw_null(&w);
		else
			vj_jw_u64(&w, p[i].owner);
		vj_jw_key(&w, "created_ms");
		vj_jw_u64(&w, p[i].created_ms);
		vj_jw_key(&w, "vcpus");
		vj_jw_u64(&w, p[i].vcpus);
		vj_jw_key(&w, "memory");
		vj_jw_u64(&w, p[i].memory);
		vj_jw_key(&w, "policy");
		vj_jw_string(&w, p[i].policy);
		vj_jw_key(&w, "workload");
		vj_jw_string(&w, p[i].workload);
		vj_jw_object_end(&w);
	}
	vj_jw_array_end(&w);
	if (vj_jw_finish(&w) == 0)
		puts(w.buf);
	vj_jw_free(&w);
}

static void ps_table(const struct vj_ps_entry *p, size_t n)
{
	char state[32], up[24], mem[24], owner[16];
	const char *policy;
	uint64_t now = now_ms();

	printf("%-20s %-12s %8s %9s %5s %9s %7s %-16s  %s\n", "ID", "STATE", "PID", "UPTIME",
	       "VCPUS", "MEMORY", "OWNER", "POLICY", "WORKLOAD");
	for (size_t i = 0; i < n; i++) {
		if (p[i].exit_status >= 0)
			snprintf(state, sizeof(state), "%s(%d)", p[i].state, p[i].exit_status);
		else
			snprintf(state, sizeof(state), "%s", p[i].state);
		if (p[i].created_ms && p[i].exit_status < 0 && strcmp(p[i].state, "stale"))
			print_duration(now > p[i].created_ms ? now - p[i].created_ms : 0, up, sizeof(up));
		else
			strcpy(up, "-");
		if (p[i].memory)
			print_size(p[i].memory, mem, sizeof(mem));
		else
			strcpy(mem, "-");
		if (p[i].owner == (uid_t)-1)
			strcpy(owner, "-");
		else
			snprintf(owner, sizeof(owner), "%u", (unsigned)p[i].owner);
		/* The policy's file name: its directory is in `inspect`. */
		policy = strrchr(p[i].policy, '/');
		policy = policy ? policy + 1 : p[i].policy[0] ? p[i].policy : "-";
		printf("%-20s %-12s %8d %9s %5u %9s %7s %-16s  %s\n", p[i].id, state,
		       (int)p[i].launcher_pid, up, p[i].vcpus, mem, owner, policy,
		       p[i].workload[0] ? p[i].workload : "-");
	}
}

/* ---- the verbs --------------------------------------------------------------- */

struct verb_opts {
	bool json, follow, vm, rm_force, stop;
	bool insecure; /* migrate */
	const char *to; /* snapshot --to, migrate --to */
	uint64_t max_downtime_ms, max_rounds; /* migrate; 0: the default */
	uint64_t timeout_ms;
	int signal;
	bool timeout_set, signal_set;
};

static int cmd_ps(const char *run_dir, const struct verb_opts *o, struct vj_err *e)
{
	cleanup_free struct vj_ps_entry *list = NULL;
	size_t n;
	int r;

	if ((r = vj_ps_list(run_dir, &list, &n, e)) < 0)
		return r;
	if (o->json)
		ps_json(list, n);
	else
		ps_table(list, n);
	return 0;
}

/* One command; its return value printed as JSON when print is set. */
int vj_cli_request(const char *run_dir, const char *id, const char *command, const char *args,
		   struct vj_json_doc *doc, const struct vj_json **ret, struct vj_err *e)
{
	struct conn c;
	int r;

	if ((r = ctl_connect(run_dir, id, &c, e)) < 0)
		return r;
	r = ctl_call(&c, command, args, doc, ret, e);
	conn_close(&c);
	return r;
}

static int call(const char *run_dir, const char *id, const char *command, const char *args,
		bool print, struct vj_err *e)
{
	struct vj_json_doc doc;
	const struct vj_json *ret;
	int r;

	if ((r = vj_cli_request(run_dir, id, command, args, &doc, &ret, e)) < 0)
		return r;
	if (print && ret) {
		struct vj_jw w;
		vj_jw_init(&w, 64u << 20);
		vj_jw_tree(&w, ret);
		if (vj_jw_finish(&w) == 0)
			puts(w.buf);
		vj_jw_free(&w);
	}
	vj_json_free(&doc);
	return 0;
}

static int cmd_stop(const char *run_dir, const char *id, const struct verb_opts *o,
		    struct vj_err *e)
{
	char args[64];

	snprintf(args, sizeof(args), "{\"timeout_ms\":%" PRIu64 "}",
		 o->timeout_set ? o->timeout_ms : (uint64_t)VJ_CTL_DEFAULT_STOP_MS);
	return call(run_dir, id, "stop", args, false, e);
}

static int cmd_kill(const char *run_dir, const char *id, const struct verb_opts *o,
		    struct vj_err *e)
{
	char args[64];

	snprintf(args, sizeof(args), "{\"signal\":%d,\"vm\":%s}", o->signal_set ? o->signal : 9,
		 o->vm ? "true" : "false");
	return call(run_dir, id, "kill", args, false, e);
}

/* ---- snapshot ---------------------------------------------------------------- */

/* The launcher resolves nothing for its client: DIR goes to it absolute,
 * its parent's symlinks resolved here (the launcher refuses any). */
static int absolute_dir(const char *to, char *out, size_t cap, struct vj_err *e)
{
	cleanup_free char *copy = strdup(to), *base_copy = strdup(to), *parent = NULL;
	const char *base;

	if (!copy || !base_copy)
		return vj_fail(e, -ENOMEM, "snapshot: out of memory");
	base = basename(base_copy);
	if (!*to || !strcmp(base, ".") || !strcmp(base, "..") || !strcmp(base, "/"))
		return vj_fail(e, -EINVAL, "snapshot --to \"%s\": expected a new directory's path", to);
	if (!(parent = realpath(dirname(copy), NULL)))
		return vj_fail_errno(e, -errno, "snapshot --to %s: its parent directory", to);
	if ((size_t)snprintf(out, cap, "%s/%s", strcmp(parent, "/") ? parent : "", base) >= cap)
		return vj_fail(e, -ENAMETOOLONG, "snapshot --to %s: path too long", to);
	return 0;
}

static int cmd_snapshot(const char *run_dir, const char *id, const struct verb_opts *o,
			struct vj_err *e)
{
	char dir[VJ_PATH_MAX];
	struct vj_json_doc doc;
	const struct vj_json *ret;
	struct vj_jw w;
	struct conn c;
	int r;

	if (!o->to)
		return vj_fail(e, -EINVAL, "snapshot ID --to DIR: DIR is required");
	if ((r = absolute_dir(o->to, dir, sizeof(dir), e)) < 0)
		return r;
	vj_jw_init(&w, 4096);
	vj_jw_object_begin(&w);
	vj_jw_key(&w, "dir");
	vj_jw_string(&w, dir);
	vj_jw_key(&w, "stop");
	vj_jw_bool(&w, o->stop);
	vj_jw_object_end(&w);
	if ((r = vj_jw_finish(&w)) < 0) {
		vj_jw_free(&w);
		return vj_fail_errno(e, r, "snapshot: arguments");
	}
	if ((r = ctl_connect(run_dir, id, &c, e)) == 0) {
		/* Writing guest RAM takes what it takes. */
		c.reply_ms = 15 * 60 * 1000;
		r = ctl_call(&c, "snapshot", w.buf, &doc, &ret, e);
		conn_close(&c);
		if (r == 0)
			vj_json_free(&doc);
	}
	vj_jw_free(&w);
	if (r == 0)
		printf("%s\n", dir);
	return r;
}

/* ---- migrate ----------------------------------------------------------------- */

static void print_migration(const struct vj_json *ret)
{
	uint64_t total = 0, down = 0, bytes = 0, rounds = 0;
	bool limit = false;
	const struct vj_json *pages = vj_json_get(ret, "pages");
	char size[24];

	(void)vj_json_u64(vj_json_get(ret, "total_ms"), UINT64_MAX, &total);
	(void)vj_json_u64(vj_json_get(ret, "downtime_ms"), UINT64_MAX, &down);
	(void)vj_json_u64(vj_json_get(ret, "bytes"), UINT64_MAX, &bytes);
	(void)vj_json_u64(vj_json_get(ret, "rounds"), UINT64_MAX, &rounds);
	(void)vj_json_bool(vj_json_get(ret, "round_limit"), &limit);
	print_size(bytes, size, sizeof(size));
	printf("migrated: total %" PRIu64 " ms, downtime %" PRIu64 " ms, %s sent, %" PRIu64
	       " rounds%s\npages per round:", total, down, size, rounds,
	       limit ? " (the round limit: the guest dirtied memory faster than the link)" : "");
	for (const struct vj_json *p = pages ? pages->child : NULL; p; p = p->next)
		printf(" %.*s", (int)p->len, p->text);
	putchar('\n');
}

/* The sandbox moved: its launcher here removes all of it (run directory,
 * logs, cgroup, ids) and ends, which closes this connection. Returning
 * after that, migrate leaves nothing of the sandbox on the source; the
 * wait is bounded, for the move itself is done. */
static void wait_launcher_gone(struct conn *c)
{
	char *line;
	size_t len;
	int r;

	while ((r = next_line(c, 60000, &line, &len)) == 0)
		;
	if (r == -ETIMEDOUT)
		fprintf(stderr, "vmjail: migrate: sandbox %s moved, but its launcher here has not "
			"ended within 60 s\n", c->id);
}

/*
 * The stream to DEST is opened here, with the caller's rights, and goes
 * to the launcher with the request: the launcher connects nowhere on
 * anyone's behalf. exec:'s command is reaped once the launcher answers.
 */
static int cmd_migrate(const char *run_dir, const char *id, const struct verb_opts *o,
		       struct vj_err *e)
{
	char args[160];
	struct vj_json_doc doc;
	const struct vj_json *ret;
	struct conn c;
	pid_t child = 0;
	int stream, r;

	if (!o->to)
		return vj_fail(e, -EINVAL, "migrate ID --to DEST: DEST is required (unix:PATH, "
			       "tcp:HOST:PORT or exec:COMMAND)");
	if (!vj_migrate_endpoint_ok(o->to, false))
		return vj_fail(e, -EINVAL, "migrate --to \"%s\": expected unix:PATH, tcp:HOST:PORT "
			       "or exec:COMMAND", o->to);
	snprintf(args, sizeof(args), "{\"max_downtime_ms\":%" PRIu64 ",\"max_rounds\":%" PRIu64
		 "}", o->max_downtime_ms ? o->max_downtime_ms : 300,
		 o->max_rounds ? o->max_rounds : 30);
	/* The sandbox first: a wrong id opens no stream. */
	if ((r = ctl_connect(run_dir, id, &c, e)) < 0)
		return r;
	stream = vj_migrate_connect(o->to, o->insecure, &child, e);
	if (stream < 0) {
		conn_close(&c);
		return stream;
	}
	c.pass_fd = stream;
	c.reply_ms = 30 * 60 * 1000;
	r = ctl_call(&c, "migrate", args, &doc, &ret, e);
	close(stream);
	if (child > 0)
		(void)waitpid(child, NULL, 0);
	if (r < 0) {
		conn_close(&c);
		return r;
	}
	if (o->json && ret) {
		struct vj_jw w;
		vj_jw_init(&w, 1u << 20);
		vj_jw_tree(&w, ret);
		if (vj_jw_finish(&w) == 0)
			puts(w.buf);
		vj_jw_free(&w);
	} else if (ret) {
		print_migration(ret);
	}
	vj_json_free(&doc);
	fflush(stdout);
	wait_launcher_gone(&c);
	conn_close(&c);
	return 0;
}

/* ---- stats ------------------------------------------------------------------- */

struct sample {
	uint64_t at_ms, cpu_usec, memory, exits, bytes, requests, throttled;
	char state[16];
	bool ok;
};

static int take_sample(struct conn *c, struct sample *s, struct vj_err *e)
{
	struct vj_json_doc doc;
	const struct vj_json *ret, *x, *d;
	const char *st;
	uint64_t v;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = ctl_call(c, "stats", NULL, &doc, &ret, e)) < 0)
		return r;
	s->at_ms = now_ms();
	(void)vj_json_u64(vj_json_get(ret, "cpu_usec"), UINT64_MAX, &s->cpu_usec);
	(void)vj_json_u64(vj_json_get(ret, "memory_bytes"), UINT64_MAX, &s->memory);
	if (vj_json_string(vj_json_get(ret, "state"), &st) == 0)
		snprintf(s->state, sizeof(s->state), "%s", st);
	x = vj_json_get(ret, "exits");
	for (const struct vj_json *k = x ? x->child : NULL; k; k = k->next)
		if (vj_json_u64(k, UINT64_MAX, &v) == 0)
			s->exits += v;
	d = vj_json_get(ret, "devices");
	for (const struct vj_json *k = d ? d->child : NULL; k; k = k->next) {
		if (vj_json_u64(vj_json_get(k, "bytes"), UINT64_MAX, &v) == 0)
			s->bytes += v;
		if (vj_json_u64(vj_json_get(k, "requests"), UINT64_MAX, &v) == 0)
			s->requests += v;
		if (vj_json_u64(vj_json_get(k, "throttled"), UINT64_MAX, &v) == 0)
			s->throttled += v;
	}
	s->ok = true;
	vj_json_free(&doc);
	return 0;
}

static double rate(uint64_t a, uint64_t b, uint64_t ms)
{
	return ms && b >= a ? (double)(b - a) * 1000.0 / (double)ms : 0;
}

static int cmd_stats(const char *run_dir, char **ids, int nids, const struct verb_opts *o,
		     struct vj_err *e)
{
	struct conn *c = calloc((size_t)nids, sizeof(*c));
	struct sample *prev = calloc((size_t)nids, sizeof(*prev));
	int r = 0;

	if (!c || !prev) {
		free(c);
		free(prev);
		return vj_fail(e, -ENOMEM, "stats: out of memory");
	}
	for (int i = 0; i < nids && r == 0; i++)
		r = ctl_connect(run_dir, ids[i], &c[i], e);
	for (int round = 0; r == 0; round++) {
		if (!o->json)
			printf("%-20s %-9s %7s %10s %10s %10s %11s %9s\n", "ID", "STATE", "CPU%",
			       "MEMORY", "EXITS/s", "IO/s", "IO-BYTES/s", "THROTTLED");
		for (int i = 0; i < nids && r == 0; i++) {
			struct sample s;
			char mem[24];
			uint64_t ms;
			if ((r = take_sample(&c[i], &s, e)) < 0)
				break;
			ms = prev[i].ok ? s.at_ms - prev[i].at_ms : 0;
			print_size(s.memory, mem, sizeof(mem));
			if (o->json)
				printf("{\"id\":\"%s\",\"state\":\"%s\",\"cpu_usec\":%" PRIu64
				       ",\"memory_bytes\":%" PRIu64 ",\"exits\":%" PRIu64
				       ",\"requests\":%" PRIu64 ",\"bytes\":%" PRIu64
				       ",\"throttled\":%" PRIu64 "}\n",
				       ids[i], s.state, s.cpu_usec, s.memory, s.exits, s.requests,
				       s.bytes, s.throttled);
			else
				printf("%-20s %-9s %6.1f%% %10s %10.0f %10.0f %11.0f %9" PRIu64 "\n",
				       ids[i], s.state,
				       rate(prev[i].cpu_usec, s.cpu_usec, ms) / 10000.0, mem,
				       rate(prev[i].exits, s.exits, ms),
				       rate(prev[i].requests, s.requests, ms),
				       rate(prev[i].bytes, s.bytes, ms), s.throttled);
			prev[i] = s;
		}
		fflush(stdout);
		if (!o->follow || r < 0)
			break;
		sleep(1);
	}
	for (int i = 0; i < nids; i++)
		conn_close(&c[i]);
	free(c);
	free(prev);
	return r;
}

/* ---- events ------------------------------------------------------------------ */

#define EVENT_SOURCES_MAX 256

/* Subscribes to one sandbox; 0, or -errno (gone already). */
static int subscribe(const char *run_dir, const char *id, struct conn *c, struct vj_err *e)
{
	struct vj_json_doc doc;
	const struct vj_json *ret;
	int r;

	if ((r = ctl_connect(run_dir, id, c, e)) < 0)
		return r;
	if ((r = ctl_call(c, "subscribe", NULL, &doc, &ret, e)) < 0) {
		conn_close(c);
		return r;
	}
	vj_json_free(&doc);
	return 0;
}

/* Prints each event line as it comes, from one sandbox or (ids empty)
 * every sandbox there is and comes to be, until interrupted or, for one
 * sandbox, until it is gone. */
static int cmd_events(const char *run_dir, const char *id, struct vj_err *e)
{
	static struct conn c[EVENT_SOURCES_MAX];
	struct pollfd p[EVENT_SOURCES_MAX + 1];
	cleanup_fd int in = -1;
	unsigned n = 0;
	int r;

	if (id) {
		if ((r = subscribe(run_dir, id, &c[0], e)) < 0)
			return r;
		n = 1;
	} else {
		cleanup_free struct vj_ps_entry *list = NULL;
		size_t count;
		in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (in < 0 || inotify_add_watch(in, run_dir, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR) < 0)
			return vj_fail_errno(e, -errno, "watch run directory %s", run_dir);
		if ((r = vj_ps_list(run_dir, &list, &count, e)) < 0)
			return r;
		for (size_t i = 0; i < count && n < EVENT_SOURCES_MAX; i++)
			if (subscribe(run_dir, list[i].id, &c[n], e) == 0)
				n++;
	}
	for (;;) {
		unsigned k = 0;
		for (unsigned i = 0; i < n; i++)
			p[k++] = (struct pollfd){ .fd = c[i].fd, .events = POLLIN };
		if (in >= 0)
			p[k++] = (struct pollfd){ .fd = in, .events = POLLIN };
		if (id && c[0].fd < 0)
			return 0;
		if (poll(p, k, -1) < 0 && errno != EINTR)
			return vj_fail_errno(e, -errno, "events: poll");
		for (unsigned i = 0; i < n; i++) {
			char *line;
			size_t len;
			if (c[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			/* Whole lines, as sent; one read's worth at a time. */
			while ((r = next_line(&c[i], 0, &line, &len)) == 0) {
				if (strstr(line, "\"event\":")) {
					puts(line);
					fflush(stdout);
				}
			}
			if (r != -ETIMEDOUT)
				conn_close(&c[i]);
		}
		if (in >= 0 && (p[k - 1].revents & POLLIN)) {
			char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
			ssize_t len = read(in, buf, sizeof(buf));
			usleep(200 * 1000); /* its socket comes a moment after the directory */
			for (char *q = buf; len > 0 && q < buf + len;) {
				struct inotify_event *ev = (struct inotify_event *)q;
				if (ev->len && n < EVENT_SOURCES_MAX &&
				    subscribe(run_dir, ev->name, &c[n], e) == 0)
					n++;
				q += sizeof(*ev) + ev->len;
			}
		}
	}
}

/* ---- wait, logs, rm ------------------------------------------------------------ */

static int open_sandbox_dir(const char *run_dir, const char *id, struct vj_err *e)
{
	cleanup_fd int base = -1;
	int fd;

	if (!vj_name_is_sandbox_id(id))
		return vj_fail(e, -EINVAL, "\"%s\" is not a sandbox id", id);
	base = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (base < 0)
		return vj_fail_errno(e, -errno, "run directory %s", run_dir);
	fd = openat(base, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vj_fail(e, -ESRCH, "sandbox %s: no such sandbox in %s", id, run_dir);
	return fd;
}

/* The exit status the sandbox recorded, or -1 while it runs. */
static int recorded_status(int dirfd)
{
	char state[16];
	int status;

	return vj_status_read(dirfd, state, sizeof(state), &status) == 0 ? status : -1;
}

#define SETTLE_MS 10000

static int cmd_wait(const char *run_dir, const char *id, struct vj_err *e)
{
	cleanup_fd int dir = open_sandbox_dir(run_dir, id, e);
	struct conn c;
	char *line;
	size_t len;
	int status, r;

	if (dir < 0)
		return dir;
	if ((status = recorded_status(dir)) >= 0)
		return status;
	if ((r = subscribe(run_dir, id, &c, e)) < 0) {
		/* It may be ending: its launcher stops listening before its
		 * teardown records the status (which takes well under a
		 * second, cgroup removal included). */
		for (int i = 0; i < SETTLE_MS / 50; i++) {
			if ((status = recorded_status(dir)) >= 0)
				return status;
			nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000000 }, NULL);
		}
		return r;
	}
	while (next_line(&c, -1, &line, &len) == 0) {
		struct vj_json_doc doc;
		const char *ev;
		uint64_t v;
		struct vj_err ignored;
		if (vj_json_parse(line, len, REPLY_VALUES_MAX, &doc, &ignored) < 0)
			continue;
		if (vj_json_string(vj_json_get(doc.root, "event"), &ev) == 0 && !strcmp(ev, "exited") &&
		    vj_json_u64(vj_json_get(vj_json_get(doc.root, "data"), "status"), 255, &v) == 0)
			status = (int)v;
		vj_json_free(&doc);
		if (status >= 0)
			break;
	}
	conn_close(&c);
	if (status < 0 && (status = recorded_status(dir)) < 0)
		return vj_fail(e, -EIO, "sandbox %s: its launcher went away without its status", id);
	return status;
}

/* Copies what is new in fd since *off to out; returns bytes copied. */
static ssize_t copy_new(int fd, off_t *off, int out)
{
	char buf[65536];
	ssize_t n, total = 0;

	while ((n = pread(fd, buf, sizeof(buf), *off)) > 0) {
		if (write(out, buf, (size_t)n) != n)
			return -errno;
		*off += n;
		total += n;
	}
	return total;
}

/* Whether the run directory dir was removed since it was opened: a
 * sandbox that migrated leaves nothing behind, its logs included. */
static bool dir_removed(int dir)
{
	struct stat st;

	return fstat(dir, &st) == 0 && st.st_nlink == 0;
}

static int cmd_logs(const char *run_dir, const char *id, const struct verb_opts *o,
		    struct vj_err *e)
{
	cleanup_fd int dir = open_sandbox_dir(run_dir, id, e);
	cleanup_fd int out = -1;
	cleanup_fd int err = -1;
	off_t oo = 0, eo = 0;

	if (dir < 0)
		return dir;
	out = openat(dir, "stdout.log", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	err = openat(dir, "stderr.log", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (out < 0 && err < 0)
		return vj_fail(e, -ENOENT, "sandbox %s: no logs (only detached sandboxes with a "
			       "workload keep them)", id);
	for (;;) {
		bool done = recorded_status(dir) >= 0 || dir_removed(dir);
		if (out >= 0)
			(void)copy_new(out, &oo, STDOUT_FILENO);
		if (err >= 0)
			(void)copy_new(err, &eo, STDERR_FILENO);
		if (!o->follow || done)
			return 0;
		usleep(200 * 1000);
	}
}

static int cmd_rm(const char *run_dir, char **ids, int n, const struct verb_opts *o,
		  struct vj_err *e)
{
	int failed = 0;

	for (int i = 0; i < n; i++) {
		struct vj_ps_entry p;
		cleanup_fd int dir = open_sandbox_dir(run_dir, ids[i], e);
		if (dir < 0 || vj_ps_read(dir, ids[i], &p) < 0) {
			vj_error("%s", e->msg);
			failed = 1;
			continue;
		}
		if (!strcmp(p.state, "exited")) {
			if (vj_rundir_discard(run_dir, ids[i], e) < 0) {
				vj_error("%s", e->msg);
				failed = 1;
			}
			continue;
		}
		if (!strcmp(p.state, "stale")) {
			/* What a dead launcher left is undone as `cleanup` does. */
			char *one[] = { ids[i] };
			if (vj_undo_ids(run_dir, one, 1) < 0)
				failed = 1;
			continue;
		}
		if (!strcmp(p.state, "cleaning")) {
			vj_error("sandbox %s is cleaning: its teardown removes it by itself", ids[i]);
			failed = 1;
			continue;
		}
		if (!o->rm_force) {
			vj_error("sandbox %s is %s: stop it first, or rm --force", ids[i], p.state);
			failed = 1;
			continue;
		}
		if (call(run_dir, ids[i], "kill", "{\"vm\":true}", false, e) < 0) {
			vj_error("%s", e->msg);
			failed = 1;
		}
	}
	return failed ? vj_fail(e, -EIO, "rm: not every sandbox was removed") : 0;
}

/* ---- dispatch ------------------------------------------------------------------ */

static const char *const verbs[] = { "ps",    "inspect", "pause", "resume", "stop",
				     "kill",  "stats",   "events", "logs",  "wait",
				     "rm",    "snapshot", "exec",  "migrate" };

int vj_cli_is_verb(const char *verb)
{
	for (size_t i = 0; i < VJ_ARRAY_SIZE(verbs); i++)
		if (!strcmp(verb, verbs[i]))
			return 1;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vmjail ps [--json]\n"
		   "       vmjail inspect ID\n"
		   "       vmjail pause ID | resume ID\n"
		   "       vmjail stop ID [--timeout DURATION]\n"
		   "       vmjail kill ID [SIGNAL] [--vm]\n"
		   "       vmjail stats ID... [--follow] [--json]\n"
		   "       vmjail events [ID]\n"
		   "       vmjail logs ID [--follow]\n"
		   "       vmjail wait ID\n"
		   "       vmjail rm ID... [--force]\n"
		   "       vmjail snapshot ID --to DIR [--stop]\n"
		   "       vmjail exec ID [--env NAME=VALUE]... [--cwd DIR] [--user UID[:GID]] "
		   "[--detach] -- COMMAND [ARG]...\n"
		   "       vmjail migrate ID --to unix:PATH|tcp:HOST:PORT|exec:COMMAND\n"
		   "              [--max-downtime DURATION] [--max-rounds N]\n"
		   "              [--insecure] [--json]\n");
}

static int parse_signal(const char *s)
{
	uint64_t n;

	if (vj_parse_u64(s, 1, 64, &n) == 0)
		return (int)n;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (int i = 1; i < 65; i++) {
		const char *name = sigabbrev_np(i);
		if (name && !strcmp(name, s))
			return i;
	}
	return -1;
}

static int parse_opts(int argc, char **argv, struct verb_opts *o, struct vj_err *e)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },   { "follow", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' }, { "vm", no_argument, NULL, 'V' },
		{ "force", no_argument, NULL, 'F' },  { "help", no_argument, NULL, 'h' },
		{ "to", required_argument, NULL, 'T' }, { "stop", no_argument, NULL, 'S' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "max-downtime", required_argument, NULL, 'M' },
		{ "max-rounds", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': o->json = true; break;
		case 'f': o->follow = true; break;
		case 'V': o->vm = true; break;
		case 'F': o->rm_force = true; break;
		case 'T': o->to = optarg; break;
		case 'S': o->stop = true; break;
		case 'I': o->insecure = true; break;
		case 'M':
			if (vj_scalar_duration_ms(optarg, &o->max_downtime_ms) < 0 ||
			    o->max_downtime_ms < 1 || o->max_downtime_ms > 60000)
				return vj_fail(e, -EINVAL, "--max-downtime: \"%s\" is not a duration "
					       "of 1ms..60s", optarg);
			break;
		case 'R':
			if (vj_parse_u64(optarg, 2, 30, &o->max_rounds) < 0)
				return vj_fail(e, -EINVAL, "--max-rounds: \"%s\" is not a number "
					       "of 2..30", optarg);
			break;
		case 'h': return 1;
		case 't':
			if (vj_scalar_duration_ms(optarg, &o->timeout_ms) < 0)
				return vj_fail(e, -EINVAL, "--timeout: \"%s\" is not a duration "
					       "(500ms, 30s, 2m)", optarg);
			o->timeout_set = true;
			break;
		default:
			return vj_fail(e, -EINVAL, "%s: unknown option %s", argv[0],
				       argv[optind - 1]);
		}
	}
	return 0;
}

static int run_verb(const char *run_dir, const char *verb, int nargs, char **args,
		    const struct verb_opts *o, struct vj_err *e)
{
	const bool one = nargs == 1;

	if (!strcmp(verb, "ps"))
		return nargs ? vj_fail(e, -EINVAL, "ps takes no id") : cmd_ps(run_dir, o, e);
	if (!strcmp(verb, "events"))
		return nargs > 1 ? vj_fail(e, -EINVAL, "events takes at most one id")
				 : cmd_events(run_dir, nargs ? args[0] : NULL, e);
	if (!strcmp(verb, "stats") || !strcmp(verb, "rm")) {
		if (!nargs)
			return vj_fail(e, -EINVAL, "%s needs at least one id", verb);
		return verb[0] == 's' ? cmd_stats(run_dir, args, nargs, o, e)
				      : cmd_rm(run_dir, args, nargs, o, e);
	}
	if (!strcmp(verb, "kill")) {
		struct verb_opts k = *o;
		if (nargs == 2 && (k.signal = parse_signal(args[1])) > 0)
			k.signal_set = true;
		else if (nargs != 1)
			return vj_fail(e, -EINVAL, "kill ID [SIGNAL]: bad arguments");
		return cmd_kill(run_dir, args[0], &k, e);
	}
	if (!one)
		return vj_fail(e, -EINVAL, "%s needs one sandbox id", verb);
	if (!strcmp(verb, "inspect"))
		return call(run_dir, args[0], "inspect", NULL, true, e);
	if (!strcmp(verb, "pause") || !strcmp(verb, "resume"))
		return call(run_dir, args[0], verb, NULL, false, e);
	if (!strcmp(verb, "stop"))
		return cmd_stop(run_dir, args[0], o, e);
	if (!strcmp(verb, "snapshot"))
		return cmd_snapshot(run_dir, args[0], o, e);
	if (!strcmp(verb, "migrate"))
		return cmd_migrate(run_dir, args[0], o, e);
	if (!strcmp(verb, "logs"))
		return cmd_logs(run_dir, args[0], o, e);
	return cmd_wait(run_dir, args[0], e);
}

int vj_cli_main(const char *run_dir, int argc, char **argv)
{
	struct verb_opts o;
	struct vj_err e;
	int r;

	/* Options after its `--` are the command's. */
	if (!strcmp(argv[0], "exec"))
		return vj_exec_cli_main(run_dir, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	r = parse_opts(argc, argv, &o, &e);
	if (r == 1) {
		usage(stdout);
		return 0;
	}
	if (r == 0)
		r = run_verb(run_dir, argv[0], argc - optind, argv + optind, &o, &e);
	if (r < 0) {
		vj_error("%s: %s", argv[0], e.msg);
		return 1;
	}
	return !strcmp(argv[0], "wait") ? r : 0;
}
