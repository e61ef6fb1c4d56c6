#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "control_socket.h"

/* ---- requests -------------------------------------------------------------- */

static int parse(const char *line, struct vj_ctl_request *req, enum vj_ctl_class *class,
		 struct vj_err *e)
{
	return vj_ctl_parse_request(line, strlen(line), req, class, e);
}

static void every_command_is_known_by_its_name(void **state)
{
	struct vj_ctl_request req;
	enum vj_ctl_class class;
	struct vj_err e;
	char line[128];

	(void)state;
	for (int c = 0; c < VJ_CTL_COMMANDS; c++) {
		/* the commands with a required argument */
		snprintf(line, sizeof(line), "{\"execute\": \"%s\"%s}", vj_ctl_command_name(c),
			 c == VJ_CTL_SNAPSHOT    ? ", \"arguments\": {\"dir\": \"/s/a\"}"
			 : c == VJ_CTL_EXEC      ? ", \"arguments\": {\"argv\": [\"true\"]}"
			 : c == VJ_CTL_EXEC_KILL ? ", \"arguments\": {\"exec\": 1}"
						 : "");
		assert_int_equal(parse(line, &req, &class, &e), 0);
		assert_int_equal(req.command, c);
		assert_string_equal(req.id, "null");
		vj_ctl_request_free(&req);
	}
}

static void ids_are_echoed_as_sent(void **state)
{
	struct vj_ctl_request req;
	enum vj_ctl_class class;
	struct vj_err e;

	(void)state;
	assert_int_equal(parse("{\"id\": 42, \"execute\": \"pause\"}", &req, &class, &e), 0);
	assert_string_equal(req.id, "42");
	assert_int_equal(parse("{\"id\": \"a\\\"b\", \"execute\": \"pause\"}", &req, &class, &e), 0);
	assert_string_equal(req.id, "\"a\\\"b\"");
}

static void arguments_are_checked_per_command(void **state)
{
	struct vj_ctl_request req;
	enum vj_ctl_class class;
	struct vj_err e;

	(void)state;
	assert_int_equal(parse("{\"execute\": \"stop\"}", &req, &class, &e), 0);
	assert_int_equal(req.timeout_ms, VJ_CTL_DEFAULT_STOP_MS);
	assert_int_equal(parse("{\"execute\":\"stop\",\"arguments\":{\"timeout_ms\":500}}", &req,
			       &class, &e), 0);
	assert_int_equal(req.timeout_ms, 500);
	assert_int_equal(parse("{\"execute\":\"kill\",\"arguments\":{\"signal\":15,\"vm\":true}}",
			       &req, &class, &e), 0);
	assert_int_equal(req.signal, 15);
	assert_true(req.vm);
	assert_int_equal(parse("{\"execute\":\"kill\"}", &req, &class, &e), 0);
	assert_int_equal(req.signal, 9);
	assert_false(req.vm);
	assert_int_equal(parse("{\"execute\":\"snapshot\",\"arguments\":{\"dir\":\"/snaps/a b\"}}",
			       &req, &class, &e), 0);
	assert_string_equal(req.dir, "/snaps/a b");
	assert_false(req.stop);
	assert_int_equal(parse("{\"execute\":\"snapshot\",\"arguments\":{\"dir\":\"/s\",\"stop\":true}}",
			       &req, &class, &e), 0);
	assert_true(req.stop);
}

static void refused(const char *line, enum vj_ctl_class want_class, const char *want_msg,
		    const char *want_id);

static void migrate_arguments_have_defaults_and_bounds(void **state)
{
	struct vj_ctl_request req;
	enum vj_ctl_class class;
	struct vj_err e;

	(void)state;
	assert_int_equal(parse("{\"execute\":\"migrate\"}", &req, &class, &e), 0);
	assert_int_equal(req.command, VJ_CTL_MIGRATE);
	assert_int_equal(req.max_downtime_ms, 300);
	assert_int_equal(req.max_rounds, 30);
	assert_int_equal(parse("{\"execute\":\"migrate\",\"arguments\":{\"max_downtime_ms\":5,"
			       "\"max_rounds\":2}}", &req, &class, &e), 0);
	assert_int_equal(req.max_downtime_ms, 5);
	assert_int_equal(req.max_rounds, 2);
	/* Shared storage is the host file's to declare (roots.shared), not
	 * the caller's. */
	refused("{\"id\": 9, \"execute\": \"migrate\", \"arguments\": {\"shared_drives\": true}}",
		VJ_CTL_BAD_REQUEST, "shared_drives", "9");
	refused("{\"id\": 1, \"execute\": \"migrate\", \"arguments\": {\"max_downtime_ms\": 0}}",
		VJ_CTL_BAD_REQUEST, "migrate: \"max_downtime_ms\": expected 1..60000", "1");
	refused("{\"id\": 2, \"execute\": \"migrate\", \"arguments\": {\"max_downtime_ms\": 60001}}",
		VJ_CTL_BAD_REQUEST, "expected 1..60000", "2");
	refused("{\"id\": 3, \"execute\": \"migrate\", \"arguments\": {\"max_rounds\": 1}}",
		VJ_CTL_BAD_REQUEST, "migrate: \"max_rounds\": expected 2..30", "3");
	refused("{\"id\": 4, \"execute\": \"migrate\", \"arguments\": {\"to\": \"tcp:a:1\"}}",
		VJ_CTL_BAD_REQUEST, "migrate: unknown member \"to\"", "4");
}

static void snapshot_requests_need_an_absolute_dir(void **state)
{
	char line[VJ_PATH_MAX + 128], longest[VJ_PATH_MAX + 1];

	(void)state;
	refused("{\"id\": 1, \"execute\": \"snapshot\"}", VJ_CTL_BAD_REQUEST,
		"snapshot: \"dir\": expected an absolute path", "1");
	refused("{\"id\": 2, \"execute\": \"snapshot\", \"arguments\": {\"dir\": \"rel/a\"}}",
		VJ_CTL_BAD_REQUEST, "expected an absolute path", "2");
	refused("{\"id\": 3, \"execute\": \"snapshot\", \"arguments\": {\"dir\": 7}}",
		VJ_CTL_BAD_REQUEST, "expected an absolute path", "3");
	refused("{\"id\": 4, \"execute\": \"snapshot\", \"arguments\": {\"dir\": \"/a\", \"stop\": 1}}",
		VJ_CTL_BAD_REQUEST, "\"stop\": expected true or false", "4");
	refused("{\"id\": 5, \"execute\": \"snapshot\", \"arguments\": {\"dir\": \"/a\", \"to\": 1}}",
		VJ_CTL_BAD_REQUEST, "snapshot: unknown member \"to\"", "5");
	memset(longest, 'a', VJ_PATH_MAX);
	longest[0] = '/';
	longest[VJ_PATH_MAX] = '\0';
	snprintf(line, sizeof(line),
		 "{\"id\": 6, \"execute\": \"snapshot\", \"arguments\": {\"dir\": \"%s\"}}", longest);
	refused(line, VJ_CTL_BAD_REQUEST, "shorter than 512 bytes", "6");
}

static void refused(const char *line, enum vj_ctl_class want_class, const char *want_msg,
		    const char *want_id)
{
	struct vj_ctl_request req;
	enum vj_ctl_class class;
	struct vj_err e;

	if (parse(line, &req, &class, &e) != -EINVAL)
		fail_msg("accepted: %s", line);
	if (class != want_class || !strstr(e.msg, want_msg) || strcmp(req.id, want_id))
		fail_msg("%s: class %d, \"%s\", id %s", line, class, e.msg, req.id);
}

static void malformed_requests_are_refused_with_a_class(void **state)
{
	(void)state;
	refused("", VJ_CTL_BAD_REQUEST, "not JSON", "null");
	refused("[1]", VJ_CTL_BAD_REQUEST, "expected a JSON object", "null");
	refused("{\"id\": 1}", VJ_CTL_BAD_REQUEST, "\"execute\": expected a command name", "1");
	refused("{\"id\": 2, \"execute\": \"reboot\"}", VJ_CTL_UNKNOWN_COMMAND, "no command \"reboot\"",
		"2");
	refused("{\"id\": 3, \"execute\": \"pause\", \"extra\": 1}", VJ_CTL_BAD_REQUEST,
		"unknown member \"extra\"", "3");
	refused("{\"id\": [1], \"execute\": \"pause\"}", VJ_CTL_BAD_REQUEST, "\"id\": expected", "null");
	refused("{\"id\": \"0123456789012345678901234567890123456789012345678901234567890123456789\","
		"\"execute\": \"pause\"}",
		VJ_CTL_BAD_REQUEST, "longer than 64", "null");
	refused("{\"id\": 4, \"execute\": \"pause\", \"arguments\": {\"x\": 1}}", VJ_CTL_BAD_REQUEST,
		"pause: unknown member \"x\"", "4");
	refused("{\"id\": 5, \"execute\": \"kill\", \"arguments\": {\"signal\": 65}}",
		VJ_CTL_BAD_REQUEST, "expected 1..64", "5");
	refused("{\"id\": 6, \"execute\": \"kill\", \"arguments\": {\"vm\": 1}}", VJ_CTL_BAD_REQUEST,
		"expected true or false", "6");
	refused("{\"id\": 7, \"execute\": \"stop\", \"arguments\": {\"timeout_ms\": -1}}",
		VJ_CTL_BAD_REQUEST, "expected 0..86400000", "7");
	refused("{\"id\": 8, \"execute\": \"stop\", \"arguments\": 5}", VJ_CTL_BAD_REQUEST,
		"\"arguments\": expected an object", "8");
}

/* ---- the server, over a real socket ------------------------------------------ */

struct fixture {
	char dir[64];
	int dirfd;
	struct vj_ctl_server s;
	unsigned dispatched;
};

static void on_request(void *ctx, struct vj_ctl_client *c, const struct vj_ctl_request *req,
		       struct vj_jw *w)
{
	struct fixture *f = ctx;

	f->dispatched++;
	if (req->command == VJ_CTL_SUBSCRIBE)
		c->subscribed = true;
	vj_ctl_write_return(w, req->id);
	vj_jw_object_begin(w);
	vj_jw_object_end(w);
	vj_ctl_write_end(w);
}

static void no_watch(void *ctx, struct vj_ctl_client *c, bool writable, bool closed)
{
	(void)ctx, (void)c, (void)writable, (void)closed;
}

static int setup(void **state)
{
	static struct fixture f;
	struct vj_err e;

	memset(&f, 0, sizeof(f));
	strcpy(f.dir, "/tmp/vj-ctl-XXXXXX");
	assert_non_null(mkdtemp(f.dir));
	f.dirfd = open(f.dir, O_RDONLY | O_DIRECTORY);
	assert_true(f.dirfd >= 0);
	assert_int_equal(fchmod(f.dirfd, 0711), 0); /* as a run directory is */
	assert_int_equal(vj_ctl_server_open(&f.s, f.dirfd, "control.sock", (uid_t)-1, "sb1", &e), 0);
	f.s.dispatch = on_request;
	f.s.watch = no_watch;
	f.s.ctx = &f;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vj_ctl_server_close(&f->s);
	unlinkat(f->dirfd, "control.sock", 0);
	close(f->dirfd);
	rmdir(f->dir);
	return 0;
}

static int client(const struct fixture *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control.sock", f->dir);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Serves the server's side until the client has something to read. */
static void serve(struct fixture *f)
{
	vj_ctl_server_accept(&f->s);
	for (unsigned i = 0; i < VJ_CTL_CLIENTS_MAX; i++)
		if (f->s.clients[i].fd >= 0)
			vj_ctl_client_readable(&f->s, &f->s.clients[i]);
}

static void read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (n + 1 < cap) {
		assert_int_equal(poll(&p, 1, 2000), 1);
		assert_int_equal(read(fd, buf + n, 1), 1);
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
}

static void say(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* A descriptor sent with a request's bytes is kept on the client (fds,
 * nfds) until a command takes it; a later one replaces it, and the server
 * closes what is left when the client goes. */
static void a_descriptor_sent_with_a_request_is_kept_for_it(void **state)
{
	struct fixture *f = *state;
	int fd = client(f), p[2], q[2];
	char line[512];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	const char *req = "{\"id\": 1, \"execute\": \"pause\"}\n";
	struct iovec iov = { (void *)req, strlen(req) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			     .msg_controllen = sizeof(u.b) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
	struct vj_ctl_client *c = NULL;
	struct stat a, b;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	serve(f);
	read_line(fd, line, sizeof(line)); /* greeting */
	for (unsigned i = 0; i < VJ_CTL_CLIENTS_MAX; i++)
		if (f->s.clients[i].fd >= 0)
			c = &f->s.clients[i];
	assert_non_null(c);
	assert_int_equal(c->nfds, 0);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &p[1], sizeof(int));
	assert_int_equal(sendmsg(fd, &mh, 0), (ssize_t)strlen(req));
	serve(f);
	read_line(fd, line, sizeof(line));
	assert_int_equal(c->nfds, 1);
	assert_int_equal(fstat(c->fds[0], &a), 0);
	assert_int_equal(fstat(p[1], &b), 0);
	assert_true(a.st_ino == b.st_ino);
	memcpy(CMSG_DATA(h), &q[1], sizeof(int));
	assert_int_equal(sendmsg(fd, &mh, 0), (ssize_t)strlen(req));
	serve(f);
	read_line(fd, line, sizeof(line));
	assert_int_equal(c->nfds, 1);
	assert_int_equal(fstat(c->fds[0], &a), 0);
	assert_int_equal(fstat(q[1], &b), 0);
	assert_true(a.st_ino == b.st_ino);
	/* The first one was closed: its pipe has no writer left but ours. */
	close(p[1]);
	{
		char x;
		assert_int_equal(read(p[0], &x, 1), 0);
	}
	close(fd);
	serve(f); /* the server sees the end and drops the client */
	close(q[1]);
	{
		char x;
		assert_int_equal(read(q[0], &x, 1), 0);
	}
	close(p[0]);
	close(q[0]);
}

static void the_socket_is_private_to_its_owner(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(fstatat(f->dirfd, "control.sock", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, 0u == geteuid() ? 0u : st.st_uid);
}

static void a_client_is_greeted_then_answered_by_id(void **state)
{
	struct fixture *f = *state;
	int fd = client(f);
	char line[512];

	serve(f);
	read_line(fd, line, sizeof(line));
	assert_string_equal(line, "{\"vmjail\":{\"version\":1,\"sandbox\":\"sb1\"}}\n");
	say(fd, "{\"id\":7,\"execute\":\"pause\"}\n{\"id\":\"x\",\"execute\":\"resume\"}\n");
	serve(f);
	read_line(fd, line, sizeof(line));
	assert_string_equal(line, "{\"id\":7,\"return\":{}}\n");
	read_line(fd, line, sizeof(line));
	assert_string_equal(line, "{\"id\":\"x\",\"return\":{}}\n");
	assert_int_equal(f->dispatched, 2);
	close(fd);
}

static void a_bad_line_gets_an_error_and_the_connection_stays(void **state)
{
	struct fixture *f = *state;
	int fd = client(f);
	char line[512];

	serve(f);
	read_line(fd, line, sizeof(line));
	say(fd, "this is not json\n{\"id\":1,\"execute\":\"fly\"}\n{\"id\":2,\"execute\":\"stats\"}\n");
	serve(f);
	read_line(fd, line, sizeof(line));
	assert_non_null(strstr(line, "{\"id\":null,\"error\":{\"class\":\"BadRequest\""));
	read_line(fd, line, sizeof(line));
	assert_non_null(strstr(line, "{\"id\":1,\"error\":{\"class\":\"UnknownCommand\""));
	read_line(fd, line, sizeof(line));
	assert_string_equal(line, "{\"id\":2,\"return\":{}}\n");
	assert_int_equal(f->dispatched, 1);
	close(fd);
}

static void an_over_long_line_is_refused_once_and_skipped(void **state)
{
	struct fixture *f = *state;
	int fd = client(f);
	char line[512];
	char *big = malloc(VJ_CTL_LINE_MAX + 100);

	serve(f);
	read_line(fd, line, sizeof(line));
	memset(big, 'a', VJ_CTL_LINE_MAX + 99);
	big[VJ_CTL_LINE_MAX + 99] = '\n';
	for (size_t off = 0; off < VJ_CTL_LINE_MAX + 100;) {
		ssize_t n = write(fd, big + off, VJ_CTL_LINE_MAX + 100 - off);
		assert_true(n > 0);
		off += (size_t)n;
		serve(f);
	}
	say(fd, "{\"id\":3,\"execute\":\"pause\"}\n");
	serve(f);
	read_line(fd, line, sizeof(line));
	assert_non_null(strstr(line, "request longer than 65536 bytes"));
	read_line(fd, line, sizeof(line));
	assert_string_equal(line, "{\"id\":3,\"return\":{}}\n");
	free(big);
	close(fd);
}

static void events_reach_subscribers_only(void **state)
{
	struct fixture *f = *state;
	int a = client(f), b;
	char line[512];
	struct vj_jw w;
	struct pollfd p;

	serve(f);
	b = client(f);
	serve(f);
	read_line(a, line, sizeof(line));
	read_line(b, line, sizeof(line));
	say(a, "{\"id\":1,\"execute\":\"subscribe\"}\n");
	serve(f);
	read_line(a, line, sizeof(line));
	vj_jw_init(&w, 4096);
	vj_ctl_write_event(&w, "paused", "sb1", 5);
	vj_jw_object_begin(&w);
	vj_jw_object_end(&w);
	vj_ctl_write_end(&w);
	assert_int_equal(vj_jw_finish(&w), 0);
	vj_ctl_broadcast(&f->s, &w);
	vj_jw_free(&w);
	read_line(a, line, sizeof(line));
	assert_string_equal(line, "{\"event\":\"paused\",\"sandbox\":\"sb1\",\"time_ms\":5,\"data\":{}}\n");
	p = (struct pollfd){ .fd = b, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 100), 0);
	close(a);
	close(b);
}

static void a_client_that_never_reads_is_dropped(void **state)
{
	struct fixture *f = *state;
	int fd = client(f), small = 4096, slot = -1;
	char req[64];

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	serve(f);
	for (int i = 0; i < VJ_CTL_CLIENTS_MAX; i++)
		if (f->s.clients[i].fd >= 0)
			slot = i;
	assert_true(slot >= 0);
	/* Requests it never reads the answers of, until the queue overflows. */
	for (int i = 0; i < 200000 && f->s.clients[slot].fd >= 0; i++) {
		snprintf(req, sizeof(req), "{\"id\":%d,\"execute\":\"stats\"}\n", i);
		if (write(fd, req, strlen(req)) < 0)
			break;
		vj_ctl_client_readable(&f->s, &f->s.clients[slot]);
	}
	assert_int_equal(f->s.clients[slot].fd, -1);
	close(fd);
}

static void other_users_are_refused(void **state)
{
	struct fixture *f = *state;
	pid_t pid;
	int status;

	if (geteuid() != 0)
		skip();
	pid = fork();
	if (pid == 0) {
		char line[512];
		int fd;
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		/* The socket is 0600: the kernel refuses first. */
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control.sock", f->dir);
		_exit(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno == EACCES ? 0 : 3);
		(void)line;
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void a_uid_past_the_mode_is_refused_by_its_credentials(void **state)
{
	struct fixture *f = *state;
	int sv[2];
	char line[512];
	pid_t pid;
	int status;

	if (geteuid() != 0)
		skip();
	/* Even where the file would let it in, SO_PEERCRED decides. */
	assert_int_equal(fchmodat(f->dirfd, "control.sock", 0666, 0), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		char buf[512] = { 0 };
		ssize_t n;
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control.sock", f->dir);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(3);
		(void)!write(sv[1], "c", 1);
		n = read(fd, buf, sizeof(buf) - 1);
		(void)!write(sv[1], buf, n > 0 ? (size_t)n : 0);
		_exit(0);
	}
	close(sv[1]);
	read_line(sv[0], line, 2); /* "c": connected */
	serve(f);
	memset(line, 0, sizeof(line));
	assert_true(read(sv[0], line, sizeof(line) - 1) > 0);
	assert_non_null(strstr(line, "uid 65534 may not control sandbox sb1"));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(sv[0]);
	for (int i = 0; i < VJ_CTL_CLIENTS_MAX; i++)
		assert_int_equal(f->s.clients[i].fd, -1);
}


static void exec_takes_argv_env_cwd_and_ids(void **state)
{
	struct vj_ctl_request req;
	enum vj_ctl_class class;
	struct vj_err e;
	(void)state;
	assert_int_equal(parse("{\"id\":1,\"execute\":\"exec\",\"arguments\":{\"argv\":[\"sh\",\"-c\","
			       "\"echo \\\"hi\\\"\"],\"env\":[\"A=1\",\"B=\"],\"cwd\":\"/tmp\","
			       "\"uid\":1000,\"gid\":0}}", &req, &class, &e), 0);
	assert_int_equal(req.exec->w.argc, 3);
	assert_string_equal(req.exec->w.argv[2], "echo \"hi\"");
	assert_null(req.exec->w.argv[3]);
	assert_int_equal(req.exec->w.envc, 2);
	assert_string_equal(req.exec->w.env[1], "B=");
	assert_string_equal(req.exec->cwd, "/tmp");
	assert_true(req.exec->has_ids);
	assert_int_equal(req.exec->uid, 1000);
	vj_ctl_request_free(&req);
	assert_null(req.exec);
}

static void exec_refuses_bad_arguments(void **state)
{
	static const char *const bad[][2] = {
		{ "{}", "\"argv\": required" },
		{ "{\"argv\":[]}", "a program to run" },
		{ "{\"argv\":[\"\"]}", "a program to run" },
		{ "{\"argv\":\"sh\"}", "expected an array" },
		{ "{\"argv\":[1]}", "without NUL" },
		{ "{\"argv\":[\"a\\u0000b\"]}", "NUL" },
		{ "{\"argv\":[\"sh\"],\"env\":[\"1A=b\"]}", "NAME=value" },
		{ "{\"argv\":[\"sh\"],\"env\":[\"A\"]}", "NAME=value" },
		{ "{\"argv\":[\"sh\"],\"cwd\":\"tmp\"}", "absolute path" },
		{ "{\"argv\":[\"sh\"],\"uid\":1}", "go together" },
		{ "{\"argv\":[\"sh\"],\"uid\":4294967295,\"gid\":0}", "0..4294967294" },
		{ "{\"argv\":[\"sh\"],\"tty\":true}", "unknown member \"tty\"" },
	};
	struct vj_ctl_request req;
	enum vj_ctl_class class;
	struct vj_err e;
	char line[256];
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "{\"execute\":\"exec\",\"arguments\":%s}", bad[i][0]);
		assert_int_equal(parse(line, &req, &class, &e), -EINVAL);
		assert_int_equal(class, VJ_CTL_BAD_REQUEST);
		if (!strstr(e.msg, bad[i][1]))
			fail_msg("%s: \"%s\" does not mention \"%s\"", bad[i][0], e.msg, bad[i][1]);
		assert_null(req.exec);
	}
}

static void exec_kill_takes_an_exec_and_a_signal(void **state)
{
	struct vj_ctl_request req;
	enum vj_ctl_class class;
	struct vj_err e;
	(void)state;
	assert_int_equal(parse("{\"execute\":\"exec-kill\",\"arguments\":{\"exec\":3,\"signal\":2}}",
			       &req, &class, &e), 0);
	assert_int_equal(req.exec_id, 3);
	assert_int_equal(req.signal, 2);
	assert_int_equal(parse("{\"execute\":\"exec-kill\",\"arguments\":{\"exec\":0}}", &req,
			       &class, &e), -EINVAL);
	assert_int_equal(parse("{\"execute\":\"exec-kill\",\"arguments\":{\"exec\":1,\"signal\":65}}",
			       &req, &class, &e), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_command_is_known_by_its_name),
		cmocka_unit_test(exec_takes_argv_env_cwd_and_ids),
		cmocka_unit_test(exec_refuses_bad_arguments),
		cmocka_unit_test(exec_kill_takes_an_exec_and_a_signal),
		cmocka_unit_test(ids_are_echoed_as_sent),
		cmocka_unit_test(arguments_are_checked_per_command),
		cmocka_unit_test(snapshot_requests_need_an_absolute_dir),
		cmocka_unit_test(migrate_arguments_have_defaults_and_bounds),
		cmocka_unit_test(malformed_requests_are_refused_with_a_class),
		cmocka_unit_test_setup_teardown(the_socket_is_private_to_its_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(a_descriptor_sent_with_a_request_is_kept_for_it, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_client_is_greeted_then_answered_by_id, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_bad_line_gets_an_error_and_the_connection_stays,
						setup, teardown),
		cmocka_unit_test_setup_teardown(an_over_long_line_is_refused_once_and_skipped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(events_reach_subscribers_only, setup, teardown),
		cmocka_unit_test_setup_teardown(a_client_that_never_reads_is_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(other_users_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(a_uid_past_the_mode_is_refused_by_its_credentials,
						setup, teardown),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
