#include "control_socket.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

/* Values one request may hold: an object of a handful of members, or
 * exec's argv and env arrays. */
#define REQUEST_VALUES_MAX (16 + VJ_MAX_ARGS + VJ_MAX_ENV)
#define ID_TEXT_MAX 64

static const char *const command_names[VJ_CTL_COMMANDS] = {
	[VJ_CTL_QUERY_STATUS] = "query-status",
	[VJ_CTL_INSPECT] = "inspect",
	[VJ_CTL_PAUSE] = "pause",
	[VJ_CTL_RESUME] = "resume",
	[VJ_CTL_STOP] = "stop",
	[VJ_CTL_KILL] = "kill",
	[VJ_CTL_STATS] = "stats",
	[VJ_CTL_SUBSCRIBE] = "subscribe",
	[VJ_CTL_SNAPSHOT] = "snapshot",
	[VJ_CTL_EXEC] = "exec",
	[VJ_CTL_EXEC_KILL] = "exec-kill",
	[VJ_CTL_MIGRATE] = "migrate",
};

static const char *const class_names[] = {
	[VJ_CTL_BAD_REQUEST] = "BadRequest",
	[VJ_CTL_UNKNOWN_COMMAND] = "UnknownCommand",
	[VJ_CTL_WRONG_STATE] = "WrongState",
	[VJ_CTL_FAILED] = "Failed",
	[VJ_CTL_NOT_READY] = "NotReady",
};

const char *vj_ctl_command_name(enum vj_ctl_command c)
{
	return c < VJ_CTL_COMMANDS ? command_names[c] : "?";
}

/* ---- requests ---------------------------------------------------------- */

/* The id as JSON text, echoed as it came: a number, or a short string. */
static int take_id(const struct vj_json *v, struct vj_ctl_request *req, struct vj_err *e)
{
	struct vj_jw w;
	int r;

	if (!v)
		return 0;
	if (v->type != VJ_JSON_NUMBER && v->type != VJ_JSON_STRING)
		return vj_fail(e, -EINVAL, "\"id\": expected a number or a string");
	if (v->len > ID_TEXT_MAX)
		return vj_fail(e, -EINVAL, "\"id\": longer than %d characters", ID_TEXT_MAX);
	vj_jw_init(&w, sizeof(req->id) - 1);
	if (v->type == VJ_JSON_NUMBER)
		vj_jw_raw(&w, v->text, v->len);
	else
		vj_jw_string_n(&w, v->text, v->len);
	if ((r = vj_jw_finish(&w)) == 0)
		snprintf(req->id, sizeof(req->id), "%s", w.buf);
	vj_jw_free(&w);
	return r < 0 ? vj_fail(e, -EINVAL, "\"id\": cannot be echoed") : 0;
}

static int only_members(const struct vj_json *obj, const char *const *allowed, const char *what,
			struct vj_err *e)
{
	for (const struct vj_json *c = obj ? obj->child : NULL; c; c = c->next) {
		bool known = false;
		for (const char *const *a = allowed; *a && !known; a++)
			known = !strcmp(c->key, *a);
		if (!known)
			return vj_fail(e, -EINVAL, "%s: unknown member \"%s\"", what, c->key);
	}
	return 0;
}

static bool is_env(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
			   (i && s[i] >= '0' && s[i] <= '9')))
		i++;
	return i > 0 && i < len && s[i] == '=';
}

/* Copies the strings of an array into x->strings (room counted by the
 * caller); each a whole string, an env entry NAME=value. */
static int take_strings(const struct vj_json *arr, const char *what, bool env, char **slots,
			uint32_t max, uint32_t *count, char **at, struct vj_err *e)
{
	*count = 0;
	if (!arr)
		return 0;
	if (arr->type != VJ_JSON_ARRAY)
		return vj_fail(e, -EINVAL, "exec: \"%s\": expected an array of strings", what);
	if (arr->count > max)
		return vj_fail(e, -EINVAL, "exec: \"%s\": more than %u strings", what, max);
	for (const struct vj_json *v = arr->child; v; v = v->next) {
		if (v->type != VJ_JSON_STRING || strlen(v->text) != v->len)
			return vj_fail(e, -EINVAL, "exec: \"%s\"[%u]: expected a string without NUL",
				       what, *count);
		if (env && !is_env(v->text, v->len))
			return vj_fail(e, -EINVAL, "exec: \"env\"[%u]: expected NAME=value, NAME "
				       "[A-Za-z_][A-Za-z0-9_]*", *count);
		memcpy(*at, v->text, v->len + 1);
		slots[(*count)++] = *at;
		*at += v->len + 1;
	}
	return 0;
}

static size_t strings_size(const struct vj_json *arr)
{
	size_t n = 0;

	for (const struct vj_json *v = arr && arr->type == VJ_JSON_ARRAY ? arr->child : NULL; v;
	     v = v->next)
		n += v->type == VJ_JSON_STRING ? v->len + 1 : 0;
	return n;
}

static int exec_ids(const struct vj_json *args, struct vj_ctl_exec *x, struct vj_err *e)
{
	const struct vj_json *uid = vj_json_get(args, "uid"), *gid = vj_json_get(args, "gid");
	uint64_t n;

	if (!uid && !gid)
		return 0;
	if (!uid || !gid)
		return vj_fail(e, -EINVAL, "exec: \"uid\" and \"gid\" go together");
	if (vj_json_u64(uid, UINT32_MAX - 1, &n) < 0)
		return vj_fail(e, -EINVAL, "exec: \"uid\": expected 0..4294967294");
	x->uid = (uint32_t)n;
	if (vj_json_u64(gid, UINT32_MAX - 1, &n) < 0)
		return vj_fail(e, -EINVAL, "exec: \"gid\": expected 0..4294967294");
	x->gid = (uint32_t)n;
	x->has_ids = true;
	return 0;
}

static int exec_arguments(const struct vj_json *args, struct vj_ctl_request *req,
			  struct vj_err *e)
{
	static const char *const allowed[] = { "argv", "env", "cwd", "uid", "gid", NULL };
	const struct vj_json *argv = vj_json_get(args, "argv"), *env = vj_json_get(args, "env");
	const size_t size = strings_size(argv) + strings_size(env);
	struct vj_ctl_exec *x;
	const char *cwd;
	char *at;
	int r;

	if ((r = only_members(args, allowed, "exec", e)) < 0)
		return r;
	if (!argv)
		return vj_fail(e, -EINVAL, "exec: \"argv\": required");
	if (size > VJ_AGENT_STRINGS_MAX)
		return vj_fail(e, -EINVAL, "exec: argv and env exceed %u bytes", VJ_AGENT_STRINGS_MAX);
	if (!(x = req->exec = calloc(1, sizeof(*x))) || !(x->strings = at = malloc(size + 1)))
		return vj_fail(e, -ENOMEM, "exec: out of memory");
	if ((r = take_strings(argv, "argv", false, x->w.argv, VJ_MAX_ARGS, &x->w.argc, &at, e)) < 0 ||
	    (r = take_strings(env, "env", true, x->w.env, VJ_MAX_ENV, &x->w.envc, &at, e)) < 0)
		return r;
	if (x->w.argc == 0 || !x->w.argv[0][0])
		return vj_fail(e, -EINVAL, "exec: \"argv\": expected a program to run first");
	if ((r = exec_ids(args, x, e)) < 0)
		return r;
	if (vj_json_get(args, "cwd")) {
		if (vj_json_string(vj_json_get(args, "cwd"), &cwd) < 0 || cwd[0] != '/' ||
		    strlen(cwd) > VJ_AGENT_CWD_MAX || strlen(cwd) != vj_json_get(args, "cwd")->len)
			return vj_fail(e, -EINVAL, "exec: \"cwd\": expected an absolute path of at "
				       "most %u bytes", VJ_AGENT_CWD_MAX);
		strcpy(x->cwd, cwd);
	}
	return 0;
}

static int command_arguments(const struct vj_json *args, struct vj_ctl_request *req,
			     struct vj_err *e)
{
	static const char *const exec_kill_args[] = { "exec", "signal", NULL };
	static const char *const stop_args[] = { "timeout_ms", NULL };
	static const char *const kill_args[] = { "signal", "vm", NULL };
	static const char *const snapshot_args[] = { "dir", "stop", NULL };
	static const char *const migrate_args[] = { "max_downtime_ms", "max_rounds", NULL };
	static const char *const none[] = { NULL };
	const struct vj_json *v;
	const char *dir;
	uint64_t n;
	int r;

	if (args && args->type != VJ_JSON_OBJECT)
		return vj_fail(e, -EINVAL, "\"arguments\": expected an object");
	req->timeout_ms = VJ_CTL_DEFAULT_STOP_MS;
	req->signal = 9;
	req->max_downtime_ms = 300;
	req->max_rounds = 30;
	switch (req->command) {
	case VJ_CTL_STOP:
		if ((r = only_members(args, stop_args, "stop", e)) < 0)
			return r;
		if ((v = vj_json_get(args, "timeout_ms")) &&
		    vj_json_u64(v, 24u * 3600 * 1000, &req->timeout_ms) < 0)
			return vj_fail(e, -EINVAL, "stop: \"timeout_ms\": expected 0..86400000");
		return 0;
	case VJ_CTL_KILL:
		if ((r = only_members(args, kill_args, "kill", e)) < 0)
			return r;
		if ((v = vj_json_get(args, "signal"))) {
			if (vj_json_u64(v, 64, &n) < 0 || n < 1)
				return vj_fail(e, -EINVAL, "kill: \"signal\": expected 1..64");
			req->signal = (uint32_t)n;
		}
		if ((v = vj_json_get(args, "vm")) && vj_json_bool(v, &req->vm) < 0)
			return vj_fail(e, -EINVAL, "kill: \"vm\": expected true or false");
		return 0;
	case VJ_CTL_EXEC:
		return exec_arguments(args, req, e);
	case VJ_CTL_EXEC_KILL:
		if ((r = only_members(args, exec_kill_args, "exec-kill", e)) < 0)
			return r;
		if (vj_json_u64(vj_json_get(args, "exec"), UINT32_MAX, &n) < 0 || n < 1)
			return vj_fail(e, -EINVAL, "exec-kill: \"exec\": expected an exec number");
		req->exec_id = (uint32_t)n;
		if ((v = vj_json_get(args, "signal"))) {
			if (vj_json_u64(v, 64, &n) < 0 || n < 1)
				return vj_fail(e, -EINVAL, "exec-kill: \"signal\": expected 1..64");
			req->signal = (uint32_t)n;
		}
		return 0;
	case VJ_CTL_SNAPSHOT:
		if ((r = only_members(args, snapshot_args, "snapshot", e)) < 0)
			return r;
		if (vj_json_string(vj_json_get(args, "dir"), &dir) < 0 || dir[0] != '/' ||
		    strlen(dir) >= sizeof(req->dir))
			return vj_fail(e, -EINVAL, "snapshot: \"dir\": expected an absolute path "
				       "shorter than %zu bytes", sizeof(req->dir));
		strcpy(req->dir, dir);
		if ((v = vj_json_get(args, "stop")) && vj_json_bool(v, &req->stop) < 0)
			return vj_fail(e, -EINVAL, "snapshot: \"stop\": expected true or false");
		return 0;
	case VJ_CTL_MIGRATE:
		if ((r = only_members(args, migrate_args, "migrate", e)) < 0)
			return r;
		if ((v = vj_json_get(args, "max_downtime_ms")) &&
		    (vj_json_u64(v, 60000, &req->max_downtime_ms) < 0 || req->max_downtime_ms < 1))
			return vj_fail(e, -EINVAL, "migrate: \"max_downtime_ms\": expected 1..60000");
		if ((v = vj_json_get(args, "max_rounds"))) {
			if (vj_json_u64(v, 30, &n) < 0 || n < 2)
				return vj_fail(e, -EINVAL, "migrate: \"max_rounds\": expected 2..30");
			req->max_rounds = (uint32_t)n;
		}
		return 0;
	default:
		return only_members(args, none, vj_ctl_command_name(req->command), e);
	}
}

int vj_ctl_parse_request(const char *line, size_t len, struct vj_ctl_request *req,
			 enum vj_ctl_class *class, struct vj_err *e)
{
	static const char *const top[] = { "id", "execute", "arguments", NULL };
	cleanup_with(vj_json_free) struct vj_json_doc doc = { 0 };
	const struct vj_json *exec;
	int r;

	memset(req, 0, sizeof(*req));
	strcpy(req->id, "null");
	*class = VJ_CTL_BAD_REQUEST;
	if (vj_json_parse(line, len, REQUEST_VALUES_MAX, &doc, e) < 0)
		return vj_wrap(e, "not JSON");
	if (doc.root->type != VJ_JSON_OBJECT)
		return vj_fail(e, -EINVAL, "expected a JSON object");
	if ((r = take_id(vj_json_get(doc.root, "id"), req, e)) < 0 ||
	    (r = only_members(doc.root, top, "request", e)) < 0)
		return r;
	exec = vj_json_get(doc.root, "execute");
	if (!exec || exec->type != VJ_JSON_STRING)
		return vj_fail(e, -EINVAL, "\"execute\": expected a command name");
	for (req->command = 0; req->command < VJ_CTL_COMMANDS; req->command++)
		if (!strcmp(exec->text, command_names[req->command]))
			break;
	if (req->command == VJ_CTL_COMMANDS) {
		*class = VJ_CTL_UNKNOWN_COMMAND;
		return vj_fail(e, -EINVAL, "no command \"%.64s\"", exec->text);
	}
	r = command_arguments(vj_json_get(doc.root, "arguments"), req, e);
	if (r < 0)
		vj_ctl_request_free(req);
	return r;
}

void vj_ctl_request_free(struct vj_ctl_request *req)
{
	if (!req->exec)
		return;
	free(req->exec->strings);
	free(req->exec);
	req->exec = NULL;
}

/* ---- replies and events -------------------------------------------------- */

void vj_ctl_write_error(struct vj_jw *w, const char *id, enum vj_ctl_class class, const char *desc)
{
	vj_jw_object_begin(w);
	vj_jw_key(w, "id");
	vj_jw_json(w, id, strlen(id));
	vj_jw_key(w, "error");
	vj_jw_object_begin(w);
	vj_jw_key(w, "class");
	vj_jw_string(w, class_names[class]);
	vj_jw_key(w, "desc");
	vj_jw_string(w, desc);
	vj_jw_object_end(w);
	vj_jw_object_end(w);
}

void vj_ctl_write_return(struct vj_jw *w, const char *id)
{
	vj_jw_object_begin(w);
	vj_jw_key(w, "id");
	vj_jw_json(w, id, strlen(id));
	vj_jw_key(w, "return");
}

void vj_ctl_write_event(struct vj_jw *w, const char *name, const char *sandbox, uint64_t time_ms)
{
	vj_jw_object_begin(w);
	vj_jw_key(w, "event");
	vj_jw_string(w, name);
	vj_jw_key(w, "sandbox");
	vj_jw_string(w, sandbox);
	vj_jw_key(w, "time_ms");
	vj_jw_u64(w, time_ms);
	vj_jw_key(w, "data");
}

void vj_ctl_write_end(struct vj_jw *w)
{
	vj_jw_object_end(w);
}

/* ---- the socket ---------------------------------------------------------- */

int vj_ctl_server_open(struct vj_ctl_server *s, int dirfd, const char *name, uid_t owner,
		       const char *sandbox, struct vj_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_fd int fd = -1;
	char tmp[64];

	/* The clients' slots, 2 MiB with their line buffers, are not zeroed
	 * whole: that alone was some 500 page faults of every launch. A
	 * slot's state is its fields; its buffer is read only up to in_len. */
	memset(s, 0, offsetof(struct vj_ctl_server, clients));
	s->listen_fd = -1;
	s->owner = owner;
	snprintf(s->sandbox, sizeof(s->sandbox), "%s", sandbox);
	for (unsigned i = 0; i < VJ_CTL_CLIENTS_MAX; i++) {
		struct vj_ctl_client *c = &s->clients[i];
		c->fd = -1;
		c->uid = 0;
		c->subscribed = c->discarding = false;
		c->in_len = c->out_len = c->out_off = 0;
		c->out = NULL;
	}
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	/* The directory by its fd: the path of the run directory is never
	 * resolved again. */
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dirfd, tmp) >=
	    sizeof(sa.sun_path))
		return vj_fail(e, -ENAMETOOLONG, "control socket %s: name too long", name);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vj_fail_errno(e, -errno, "control socket: socket");
	(void)unlinkat(dirfd, tmp, 0);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return vj_fail_errno(e, -errno, "control socket: bind");
	if (fchmodat(dirfd, tmp, 0600, 0) < 0 ||
	    fchownat(dirfd, tmp, owner == (uid_t)-1 ? 0 : owner, 0, AT_SYMLINK_NOFOLLOW) < 0 ||
	    listen(fd, VJ_CTL_CLIENTS_MAX) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		int r = -errno;
		(void)unlinkat(dirfd, tmp, 0);
		return vj_fail_errno(e, r, "control socket %s", name);
	}
	s->listen_fd = vj_steal_fd(&fd);
	return 0;
}

static void drop_fds(struct vj_ctl_client *c)
{
	for (int i = 0; i < c->nfds; i++)
		vj_closep(&c->fds[i]);
	c->nfds = 0;
}

static void drop(struct vj_ctl_server *s, struct vj_ctl_client *c)
{
	if (c->fd < 0)
		return;
	drop_fds(c);
	if (s->watch)
		s->watch(s->ctx, c, false, true);
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void vj_ctl_server_close(struct vj_ctl_server *s)
{
	for (unsigned i = 0; i < VJ_CTL_CLIENTS_MAX; i++)
		drop(s, &s->clients[i]);
	vj_closep(&s->listen_fd);
	s->listen_fd = -1;
}

static void flush(struct vj_ctl_server *s, struct vj_ctl_client *c);

void vj_ctl_server_stop_listening(struct vj_ctl_server *s)
{
	vj_closep(&s->listen_fd);
	s->listen_fd = -1;
}

void vj_ctl_server_finish(struct vj_ctl_server *s)
{
	struct timespec until, now;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 1;
	for (unsigned i = 0; i < VJ_CTL_CLIENTS_MAX; i++) {
		struct vj_ctl_client *c = &s->clients[i];
		while (c->fd >= 0 && c->out_off < c->out_len) {
			struct pollfd p = { .fd = c->fd, .events = POLLOUT };
			long ms;
			clock_gettime(CLOCK_MONOTONIC, &now);
			ms = (until.tv_sec - now.tv_sec) * 1000 + (until.tv_nsec - now.tv_nsec) / 1000000;
			if (ms <= 0 || poll(&p, 1, (int)ms) <= 0)
				break;
			flush(s, c);
		}
	}
	vj_ctl_server_close(s);
}

static void flush(struct vj_ctl_server *s, struct vj_ctl_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (s->watch)
				s->watch(s->ctx, c, true, false);
			return;
		}
		if (n <= 0) {
			drop(s, c);
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	if (s->watch)
		s->watch(s->ctx, c, false, false);
}

void vj_ctl_send(struct vj_ctl_server *s, struct vj_ctl_client *c, const char *line, size_t len)
{
	size_t queued = c->out_len - c->out_off;
	char *b;

	if (c->fd < 0)
		return;
	/* A client that does not read is not worth waiting for. */
	if (queued + len + 1 > VJ_CTL_QUEUE_MAX) {
		drop(s, c);
		return;
	}
	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, queued);
		c->out_len = queued;
		c->out_off = 0;
	}
	b = realloc(c->out, c->out_len + len + 1);
	if (!b) {
		drop(s, c);
		return;
	}
	c->out = b;
	memcpy(c->out + c->out_len, line, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	flush(s, c);
}

static void send_jw(struct vj_ctl_server *s, struct vj_ctl_client *c, struct vj_jw *w)
{
	if (vj_jw_finish(w) == 0)
		vj_ctl_send(s, c, w->buf, w->len);
	else
		drop(s, c);
}

void vj_ctl_broadcast(struct vj_ctl_server *s, const struct vj_jw *w)
{
	if (w->error)
		return;
	for (unsigned i = 0; i < VJ_CTL_CLIENTS_MAX; i++)
		if (s->clients[i].fd >= 0 && s->clients[i].subscribed)
			vj_ctl_send(s, &s->clients[i], w->buf, w->len);
}

static void refuse(int fd, const char *desc)
{
	struct vj_jw w;

	vj_jw_init(&w, 4096);
	vj_ctl_write_error(&w, "null", VJ_CTL_FAILED, desc);
	if (vj_jw_finish(&w) == 0) {
		vj_jw_raw(&w, "\n", 1);
		(void)!send(fd, w.buf, w.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	vj_jw_free(&w);
	close(fd);
}

static void greet(struct vj_ctl_server *s, struct vj_ctl_client *c)
{
	struct vj_jw w;

	vj_jw_init(&w, 4096);
	vj_jw_object_begin(&w);
	vj_jw_key(&w, "vmjail");
	vj_jw_object_begin(&w);
	vj_jw_key(&w, "version");
	vj_jw_u64(&w, VJ_CTL_VERSION);
	vj_jw_key(&w, "sandbox");
	vj_jw_string(&w, s->sandbox);
	vj_jw_object_end(&w);
	vj_jw_object_end(&w);
	send_jw(s, c, &w);
	vj_jw_free(&w);
}

void vj_ctl_server_accept(struct vj_ctl_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct vj_ctl_client *c = NULL;
		char why[160];

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(fd);
			continue;
		}
		if (cred.uid != 0 && cred.uid != s->owner) {
			snprintf(why, sizeof(why), "uid %u may not control sandbox %s",
				 (unsigned)cred.uid, s->sandbox);
			refuse(fd, why);
			continue;
		}
		for (unsigned i = 0; i < VJ_CTL_CLIENTS_MAX && !c; i++)
			if (s->clients[i].fd < 0)
				c = &s->clients[i];
		if (!c) {
			snprintf(why, sizeof(why), "sandbox %s: more than %d clients", s->sandbox,
				 VJ_CTL_CLIENTS_MAX);
			refuse(fd, why);
			continue;
		}
		c->fd = fd;
		c->uid = cred.uid;
		c->serial = ++s->serials;
		c->nfds = 0;
		if (s->watch)
			s->watch(s->ctx, c, false, false);
		greet(s, c);
	}
}

static void answer(struct vj_ctl_server *s, struct vj_ctl_client *c, const char *line, size_t len)
{
	struct vj_ctl_request req;
	enum vj_ctl_class class;
	struct vj_err e;
	struct vj_jw w;

	vj_jw_init(&w, VJ_CTL_QUEUE_MAX);
	if (vj_ctl_parse_request(line, len, &req, &class, &e) < 0)
		vj_ctl_write_error(&w, req.id, class, e.msg);
	else
		s->dispatch(s->ctx, c, &req, &w);
	vj_ctl_request_free(&req);
	if (c->fd >= 0)
		send_jw(s, c, &w);
	vj_jw_free(&w);
}

static void take_lines(struct vj_ctl_server *s, struct vj_ctl_client *c)
{
	size_t start = 0;
	char *nl;

	while (c->fd >= 0 && (nl = memchr(c->in + start, '\n', c->in_len - start))) {
		size_t len = (size_t)(nl - (c->in + start));
		if (c->discarding)
			c->discarding = false;
		else
			answer(s, c, c->in + start, len);
		start += len + 1;
	}
	if (c->fd < 0)
		return;
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (c->in_len == VJ_CTL_LINE_MAX) {
		/* Over-long: answered once, then skipped to its end. */
		if (!c->discarding) {
			struct vj_jw w;
			vj_jw_init(&w, 4096);
			vj_ctl_write_error(&w, "null", VJ_CTL_BAD_REQUEST,
					   "request longer than 65536 bytes");
			send_jw(s, c, &w);
			vj_jw_free(&w);
		}
		c->discarding = true;
		c->in_len = 0;
	}
}

/* Descriptors arrive with the first byte of the request that is to take
 * them (the client sends both in one sendmsg); they wait on the client
 * for it. A message with more than VJ_CTL_FDS loses them all (the kernel
 * closes what did not fit), and the next request that takes descriptors
 * (exec, migrate) is refused for it. */
static void take_fds(struct vj_ctl_client *c, struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		drop_fds(c);
		memcpy(c->fds, CMSG_DATA(cm), n * sizeof(int));
		c->nfds = (int)n;
	}
	if (mh->msg_flags & MSG_CTRUNC) {
		drop_fds(c);
		c->nfds = -1;
	}
}

static ssize_t receive(struct vj_ctl_client *c)
{
	union {
		char buf[CMSG_SPACE(VJ_CTL_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = c->in + c->in_len, .iov_len = VJ_CTL_LINE_MAX - c->in_len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n >= 0)
		take_fds(c, &mh);
	return n;
}

void vj_ctl_client_readable(struct vj_ctl_server *s, struct vj_ctl_client *c)
{
	for (;;) {
		ssize_t n;

		if (c->fd < 0)
			return;
		n = receive(c);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			drop(s, c);
			return;
		}
		c->in_len += (size_t)n;
		take_lines(s, c);
	}
}

void vj_ctl_client_writable(struct vj_ctl_server *s, struct vj_ctl_client *c)
{
	if (c->fd >= 0)
		flush(s, c);
}
