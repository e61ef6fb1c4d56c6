/*
 * The launcher's side of the agent protocol (jailer/agent.c) against
 * scripted agents in a child process: a well-behaved one, and hostile
 * ones that send huge lengths, bad framing, unknown or misplaced frames,
 * close early, or flood past the output cap; and readers of the output
 * that are slow or never read.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "agent.h"

/* ---- the scripted agent (runs in the child) ---- */

static struct vj_agent_rx child_rx;
static uint8_t child_frame[VJ_AGENT_FRAME_MAX];

/* A failed expectation in the child ends it with this status plus line. */
#define EXPECT(cond) \
	do { \
		if (!(cond)) \
			_exit(100 + (__LINE__ % 100)); \
	} while (0)

static void put_raw(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k <= 0)
			_exit(0); /* the launcher hung up: nothing more to check */
		p = (const uint8_t *)p + k;
		n -= (size_t)k;
	}
}

static void put(int fd, const struct vj_agent_msg *m)
{
	struct vj_err why;
	ssize_t n = vj_agent_encode(m, child_frame, sizeof(child_frame), &why);

	EXPECT(n > 0);
	put_raw(fd, child_frame, (size_t)n);
}

static void put_bytes(int fd, enum vj_agent_type type, const char *s)
{
	struct vj_agent_msg m = { .type = type };

	m.bytes.data = (const uint8_t *)s;
	m.bytes.len = strlen(s);
	put(fd, &m);
}

static void put_exit(int fd, enum vj_agent_exit_kind kind, uint32_t value)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_EXIT, .exit = { kind, value } };

	put(fd, &m);
}

static void raw_header(int fd, uint32_t len, uint16_t type, uint16_t flags)
{
	uint8_t h[8] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
			 (uint8_t)(len >> 24), (uint8_t)type, (uint8_t)(type >> 8),
			 (uint8_t)flags, (uint8_t)(flags >> 8) };

	put_raw(fd, h, sizeof(h));
}

/* Next frame from the launcher; 0 at end of stream. */
static int get(int fd, struct vj_agent_msg *m)
{
	struct vj_err why;
	int r;

	if (child_rx.current)
		vj_agent_rx_consume(&child_rx);
	while ((r = vj_agent_rx_next(&child_rx, m, &why)) == 0) {
		ssize_t n = vj_agent_rx_read(&child_rx, fd);
		if (n <= 0)
			return 0;
	}
	EXPECT(r == 1);
	return 1;
}

/* Offers versions min..max; the launcher must answer {agreed, agreed}. */
static void hello_versions(int fd, uint16_t min, uint16_t max, uint16_t agreed)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_HELLO, .hello = { min, max } };

	put(fd, &m);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_HELLO && m.hello.min == agreed &&
	       m.hello.max == agreed);
}

static void hello(int fd)
{
	hello_versions(fd, 1, 1, 1);
}

/* Reads the workload up to START, checking it against the one
 * session_with() sends. */
static void take_workload(int fd)
{
	static const char *const argv[] = { "sh", "-c", "echo out" };
	struct vj_agent_msg m;

	EXPECT(get(fd, &m) && m.type == VJ_AGENT_WORKLOAD);
	EXPECT(m.spec.uid == 1000 && m.spec.gid == 1001 && !strcmp(m.spec.cwd, "/work") &&
	       !strcmp(m.spec.hostname, "fn") && !m.spec.net.enabled);
	for (int i = 0; i < 3; i++) {
		EXPECT(get(fd, &m) && m.type == VJ_AGENT_ARG);
		EXPECT(m.bytes.len == strlen(argv[i]) && !memcmp(m.bytes.data, argv[i], m.bytes.len));
	}
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_ENV && m.bytes.len == 5 &&
	       !memcmp(m.bytes.data, "A=b c", 5));
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_START);
}

static void until_eof(int fd)
{
	struct vj_agent_msg m;

	while (get(fd, &m))
		;
}

/* ---- the launcher's side (runs in the test) ---- */

typedef void (*script_fn)(int fd);

struct run {
	struct vj_agent_io io;
	struct vj_agent_result res;
	struct vj_err e;
	int child_status;
	char out[1 << 16], err[1 << 16];
	size_t out_len, err_len;
};

static struct vj_workload workload(void)
{
	static char *argv[] = { "sh", "-c", "echo out", NULL };
	static char *env[] = { "A=b c", NULL };
	struct vj_workload w = { .argc = 3, .envc = 1 };

	memcpy(w.argv, argv, sizeof(argv));
	memcpy(w.env, env, sizeof(env));
	return w;
}

static struct vj_agent_spec spec(void)
{
	struct vj_agent_spec s = { .uid = 1000, .gid = 1001 };

	strcpy(s.cwd, "/work");
	strcpy(s.hostname, "fn");
	return s;
}

/* What went to a memfd; output that went to a pipe is the test's to read. */
static size_t slurp(int fd, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);

	if (n < 0 && errno == ESPIPE)
		n = 0;
	assert_true(n >= 0);
	buf[n] = '\0';
	return (size_t)n;
}

static void init_run(struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->io = (struct vj_agent_io){ .in_fd = -1,
				      .out_fd = memfd_create("out", MFD_CLOEXEC),
				      .err_fd = memfd_create("err", MFD_CLOEXEC),
				      .out_cap = VJ_AGENT_UNCAPPED,
				      .err_cap = VJ_AGENT_UNCAPPED,
				      .cmd_fd = -1,
				      .cancel_fd = -1 };
	assert_true(r->io.out_fd >= 0 && r->io.err_fd >= 0);
}

static int session_with(struct run *r, script_fn script, const struct vj_workload *w,
			const struct vj_agent_spec *s)
{
	int sv[2], ret;
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		script(sv[1]);
		_exit(0);
	}
	close(sv[1]);
	ret = vj_agent_session(sv[0], s, w, &r->io, &r->res, &r->e);
	close(sv[0]);
	assert_int_equal(waitpid(pid, &r->child_status, 0), pid);
	r->out_len = slurp(r->io.out_fd, r->out, sizeof(r->out));
	r->err_len = slurp(r->io.err_fd, r->err, sizeof(r->err));
	close(r->io.out_fd);
	close(r->io.err_fd);
	return ret;
}

static int session(struct run *r, script_fn script)
{
	const struct vj_workload w = workload();
	const struct vj_agent_spec s = spec();

	return session_with(r, script, &w, &s);
}

static void assert_child_ok(const struct run *r)
{
	if (!WIFEXITED(r->child_status) || WEXITSTATUS(r->child_status) != 0)
		fail_msg("scripted agent: status 0x%x (100 + line %% 100 of a failed EXPECT)",
			 r->child_status);
}

static void assert_error(const struct run *r, const char *expect)
{
	if (!strstr(r->e.msg, expect))
		fail_msg("error \"%s\" does not mention \"%s\"", r->e.msg, expect);
}

/* ---- well-behaved agents ---- */

static void script_out_err_exit3(int fd)
{
	hello(fd);
	take_workload(fd);
	put_bytes(fd, VJ_AGENT_STDOUT, "out\n");
	put_bytes(fd, VJ_AGENT_STDERR, "err\n");
	put_bytes(fd, VJ_AGENT_STDOUT, "more\n");
	put_exit(fd, VJ_AGENT_EXITED, 3);
	until_eof(fd);
}

static void streams_are_separated_and_the_exit_status_returned(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_out_err_exit3), 0);
	assert_child_ok(&r);
	assert_int_equal(r.res.status, 3);
	assert_int_equal(r.res.signal, 0);
	assert_string_equal(r.out, "out\nmore\n");
	assert_string_equal(r.err, "err\n");
	assert_int_equal(r.res.out_bytes, 9);
	assert_int_equal(r.res.err_bytes, 4);
}

static void script_killed_by_sigkill(int fd)
{
	hello(fd);
	take_workload(fd);
	put_exit(fd, VJ_AGENT_SIGNALED, 9);
	until_eof(fd);
}

static void a_killing_signal_gives_128_plus_n(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_killed_by_sigkill), 0);
	assert_int_equal(r.res.status, 137);
	assert_int_equal(r.res.signal, 9);
}

static void script_echo_stdin(int fd)
{
	struct vj_agent_msg m;
	char got[16] = "";
	size_t n = 0;

	hello(fd);
	take_workload(fd);
	while (get(fd, &m) && m.type == VJ_AGENT_STDIN) {
		EXPECT(n + m.bytes.len < sizeof(got));
		memcpy(got + n, m.bytes.data, m.bytes.len);
		n += m.bytes.len;
	}
	EXPECT(m.type == VJ_AGENT_STDIN_EOF && n == 3 && !memcmp(got, "abc", 3));
	put_bytes(fd, VJ_AGENT_STDOUT, "abc");
	put_exit(fd, VJ_AGENT_EXITED, 0);
	until_eof(fd);
}

static void stdin_is_streamed_then_closed(void **state)
{
	static struct run r;
	int p[2];
	(void)state;
	init_run(&r);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "abc", 3), 3);
	close(p[1]);
	r.io.in_fd = p[0];
	assert_int_equal(session(&r, script_echo_stdin), 0);
	close(p[0]);
	assert_child_ok(&r);
	assert_string_equal(r.out, "abc");
}

static void script_expect_eof_then_signal(int fd)
{
	struct vj_agent_msg m;

	hello(fd);
	take_workload(fd);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_STDIN_EOF); /* no stdin at all */
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_SIGNAL && m.signal == SIGUSR1);
	put_exit(fd, VJ_AGENT_SIGNALED, SIGUSR1);
	until_eof(fd);
}

/* ---- commands on cmd_fd ---- */

/* A command channel as the launcher makes it; returns the session's end,
 * *sender the other. */
static int cmd_channel(int *sender)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	*sender = sv[1];
	return sv[0];
}

static void send_cmd(int fd, uint32_t op, uint32_t arg, uint64_t arg64)
{
	const struct vj_agent_cmd c = { .op = op, .arg = arg, .arg64 = arg64 };

	assert_int_equal(send(fd, &c, sizeof(c), 0), sizeof(c));
}

static void signals_are_forwarded(void **state)
{
	static struct run r;
	int sender;
	(void)state;
	init_run(&r);
	r.io.cmd_fd = cmd_channel(&sender);
	/* Sent before the session starts: it waits for the workload. */
	send_cmd(sender, VJ_AGENT_CMD_SIGNAL, SIGUSR1, 0);
	assert_int_equal(session(&r, script_expect_eof_then_signal), 0);
	close(sender);
	close(r.io.cmd_fd);
	assert_child_ok(&r);
	assert_int_equal(r.res.status, 128 + SIGUSR1);
}

static void script_v2_settime_then_signal(int fd)
{
	struct vj_agent_msg m;

	hello_versions(fd, 1, 2, 2);
	take_workload(fd);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_STDIN_EOF);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_SETTIME &&
	       m.realtime_ns == 1700000000123456789ull);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_SIGNAL && m.signal == SIGTERM);
	put_exit(fd, VJ_AGENT_SIGNALED, SIGTERM);
	until_eof(fd);
}

static void settime_is_sent_to_a_version_2_agent(void **state)
{
	static struct run r;
	int sender;
	(void)state;
	init_run(&r);
	r.io.cmd_fd = cmd_channel(&sender);
	send_cmd(sender, VJ_AGENT_CMD_SETTIME, 0, 1700000000123456789ull);
	send_cmd(sender, VJ_AGENT_CMD_SIGNAL, SIGTERM, 0);
	assert_int_equal(session(&r, script_v2_settime_then_signal), 0);
	close(sender);
	close(r.io.cmd_fd);
	assert_child_ok(&r);
	assert_int_equal(r.res.status, 128 + SIGTERM);
}

/* A version 1 agent would refuse SETTIME as an unknown type: the signal
 * sent after it must be the next frame after STDIN_EOF. */
static void script_v1_signal_only(int fd)
{
	struct vj_agent_msg m;

	hello_versions(fd, 1, 1, 1);
	take_workload(fd);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_STDIN_EOF);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_SIGNAL && m.signal == SIGTERM);
	put_exit(fd, VJ_AGENT_SIGNALED, SIGTERM);
	until_eof(fd);
}

static void settime_is_dropped_for_a_version_1_agent(void **state)
{
	static struct run r;
	int sender;
	(void)state;
	init_run(&r);
	r.io.cmd_fd = cmd_channel(&sender);
	send_cmd(sender, VJ_AGENT_CMD_SETTIME, 0, 1700000000123456789ull);
	send_cmd(sender, VJ_AGENT_CMD_SIGNAL, SIGTERM, 0);
	assert_int_equal(session(&r, script_v1_signal_only), 0);
	close(sender);
	close(r.io.cmd_fd);
	assert_child_ok(&r);
	assert_int_equal(r.res.status, 128 + SIGTERM);
}

/* One version past the launcher's newest: the launcher's newest is agreed. */
static void script_offers_one_past_the_newest(int fd)
{
	hello_versions(fd, 1, VJ_AGENT_VERSION_MAX + 1, VJ_AGENT_VERSION_MAX);
	take_workload(fd);
	put_exit(fd, VJ_AGENT_EXITED, 0);
	until_eof(fd);
}

static void the_newest_common_version_is_agreed(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_offers_one_past_the_newest), 0);
	assert_child_ok(&r);
}

/* Commands that are not one whole struct, of an unknown op or with a
 * signal out of range are ignored; the next good one goes through. */
static void bad_commands_are_ignored(void **state)
{
	static struct run r;
	const char small[3] = { 1, 0, 0 };
	uint8_t big[sizeof(struct vj_agent_cmd) + 1] = { VJ_AGENT_CMD_SIGNAL };
	int sender;
	(void)state;
	init_run(&r);
	r.io.cmd_fd = cmd_channel(&sender);
	assert_int_equal(send(sender, small, sizeof(small), 0), sizeof(small));
	assert_int_equal(send(sender, big, sizeof(big), 0), sizeof(big));
	send_cmd(sender, 99, SIGTERM, 0);
	send_cmd(sender, VJ_AGENT_CMD_SIGNAL, 0, 0);
	send_cmd(sender, VJ_AGENT_CMD_SIGNAL, VJ_AGENT_SIGNAL_MAX + 1, 0);
	send_cmd(sender, VJ_AGENT_CMD_SIGNAL, SIGUSR1, 0);
	assert_int_equal(session(&r, script_expect_eof_then_signal), 0);
	close(sender);
	close(r.io.cmd_fd);
	assert_child_ok(&r);
	assert_int_equal(r.res.status, 128 + SIGUSR1);
}

/* Stdin and a command ready at once: both arrive, neither is lost. */
static void script_stdin_and_signal_in_any_order(int fd)
{
	struct vj_agent_msg m;
	bool eof = false, signalled = false;
	size_t n = 0;

	hello(fd);
	take_workload(fd);
	while (!(eof && signalled) && get(fd, &m)) {
		if (m.type == VJ_AGENT_STDIN)
			n += m.bytes.len;
		else if (m.type == VJ_AGENT_STDIN_EOF)
			eof = true;
		else
			EXPECT(m.type == VJ_AGENT_SIGNAL && m.signal == SIGUSR1 && !signalled &&
			       (signalled = true));
	}
	EXPECT(eof && signalled && n == 3);
	put_exit(fd, VJ_AGENT_SIGNALED, SIGUSR1);
	until_eof(fd);
}

static void a_command_waits_while_stdin_holds_the_connection(void **state)
{
	static struct run r;
	int sender, p[2];
	(void)state;
	init_run(&r);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "abc", 3), 3);
	close(p[1]);
	r.io.in_fd = p[0];
	r.io.cmd_fd = cmd_channel(&sender);
	send_cmd(sender, VJ_AGENT_CMD_SIGNAL, SIGUSR1, 0);
	assert_int_equal(session(&r, script_stdin_and_signal_in_any_order), 0);
	close(sender);
	close(r.io.cmd_fd);
	close(p[0]);
	assert_child_ok(&r);
	assert_int_equal(r.res.status, 128 + SIGUSR1);
}

/* The workload ends while no command ever comes: the session does not
 * wait for one, on a blocking descriptor either. */
static void an_idle_command_channel_is_never_waited_on(void **state)
{
	static struct run r;
	int sender;
	(void)state;
	init_run(&r);
	r.io.cmd_fd = cmd_channel(&sender);
	assert_int_equal(session(&r, script_out_err_exit3), 0);
	close(sender);
	close(r.io.cmd_fd);
	assert_child_ok(&r);
	assert_int_equal(r.res.status, 3);
}

/* The launcher's end closing ends the commands, not the run. */
static void script_exit_after_a_while(int fd)
{
	struct vj_agent_msg m;

	hello(fd);
	take_workload(fd);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_STDIN_EOF);
	usleep(200 * 1000);
	put_exit(fd, VJ_AGENT_EXITED, 7);
	until_eof(fd);
}

static uint64_t thread_cpu_us(void)
{
	struct rusage u;

	assert_int_equal(getrusage(RUSAGE_THREAD, &u), 0);
	return (uint64_t)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000 +
	       (uint64_t)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

/* ... and the session does not spin on its end of file while the
 * workload runs on (200 ms of it). */
static void a_closed_command_channel_leaves_the_workload_running(void **state)
{
	static struct run r;
	uint64_t cpu;
	int sender;
	(void)state;
	init_run(&r);
	r.io.cmd_fd = cmd_channel(&sender);
	close(sender);
	cpu = thread_cpu_us();
	assert_int_equal(session(&r, script_exit_after_a_while), 0);
	cpu = thread_cpu_us() - cpu;
	close(r.io.cmd_fd);
	assert_child_ok(&r);
	assert_int_equal(r.res.status, 7);
	if (cpu > 100000)
		fail_msg("the session used %llu us of CPU in 200 ms of waiting",
			 (unsigned long long)cpu);
}

static void script_exit_then_garbage(int fd)
{
	hello(fd);
	take_workload(fd);
	put_exit(fd, VJ_AGENT_EXITED, 0);
	raw_header(fd, 0xffffffff, 0x7777, 0xffff);
	until_eof(fd);
}

static void nothing_after_exit_is_looked_at(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_exit_then_garbage), 0);
	assert_int_equal(r.res.status, 0);
}

/* ---- output caps ---- */

static void script_flood(int fd)
{
	static char chunk[VJ_AGENT_PAYLOAD_MAX + 1];

	hello(fd);
	take_workload(fd);
	memset(chunk, 'x', VJ_AGENT_PAYLOAD_MAX);
	for (int i = 0; i < 64; i++) /* 4 MiB */
		put_bytes(fd, VJ_AGENT_STDOUT, chunk);
	put_bytes(fd, VJ_AGENT_STDERR, "tail of stderr");
	put_exit(fd, VJ_AGENT_EXITED, 0);
	until_eof(fd);
}

static void output_past_the_cap_is_discarded_and_counted(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	r.io.out_cap = 1000;
	r.io.err_cap = 4;
	assert_int_equal(session(&r, script_flood), 0);
	assert_child_ok(&r);
	assert_int_equal(r.out_len, 1000);
	assert_int_equal(r.res.out_bytes, 1000);
	assert_int_equal(r.res.out_dropped, 64u * VJ_AGENT_PAYLOAD_MAX - 1000);
	assert_string_equal(r.err, "tail");
	assert_int_equal(r.res.err_dropped, 10);
	assert_int_equal(r.res.status, 0);
	assert_int_equal(r.res.out_why, VJ_AGENT_DROP_CAP);
	assert_int_equal(r.res.err_why, VJ_AGENT_DROP_CAP);
}

static void output_up_to_the_cap_drops_nothing(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	r.io.out_cap = 9;
	assert_int_equal(session(&r, script_out_err_exit3), 0);
	assert_int_equal(r.res.out_bytes, 9);
	assert_int_equal(r.res.out_dropped, 0);
	assert_int_equal(r.res.out_why, VJ_AGENT_DROP_NONE);
}

static void a_reader_that_went_away_is_told_apart_from_a_cap(void **state)
{
	static struct run r;
	int p[2];
	(void)state;
	init_run(&r);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	close(p[0]);
	close(r.io.out_fd);
	r.io.out_fd = p[1];
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(session(&r, script_out_err_exit3), 0);
	signal(SIGPIPE, SIG_DFL);
	assert_int_equal(r.res.status, 3);
	assert_int_equal(r.res.out_bytes, 0);
	assert_int_equal(r.res.out_dropped, 9);
	assert_int_equal(r.res.out_why, VJ_AGENT_DROP_READER);
	assert_int_equal(r.res.err_why, VJ_AGENT_DROP_NONE);
}

/* ---- telling the user ---- */

static void nothing_dropped_is_nothing_to_tell(void **state)
{
	const struct vj_agent_io io = { .out_cap = 10, .err_cap = 10 };
	const struct vj_agent_result res = { .out_bytes = 10 };
	char line[256] = "untouched";
	(void)state;
	assert_false(vj_agent_drop_line(&io, &res, VJ_AGENT_STDOUT, "limits.output", line,
					sizeof(line)));
	assert_string_equal(line, "untouched");
}

static void a_cap_is_named_with_the_key_that_set_it(void **state)
{
	const struct vj_agent_io io = { .out_cap = 1048576, .err_cap = 1048576 };
	const struct vj_agent_result res = { .err_bytes = 1048576, .err_dropped = 3951424,
					     .err_why = VJ_AGENT_DROP_CAP };
	char line[256];
	(void)state;
	assert_true(vj_agent_drop_line(&io, &res, VJ_AGENT_STDERR, "limits.output", line,
				       sizeof(line)));
	assert_string_equal(line, "workload stderr: 3951424 bytes dropped past its cap of 1048576 "
				  "bytes (limits.output)");
}

static void a_reader_gone_and_an_ended_sandbox_are_told_as_such(void **state)
{
	const struct vj_agent_io io = { .out_cap = VJ_AGENT_UNCAPPED, .err_cap = VJ_AGENT_UNCAPPED };
	const struct vj_agent_result res = { .out_dropped = 12, .out_why = VJ_AGENT_DROP_READER,
					     .err_dropped = 7, .err_why = VJ_AGENT_DROP_CANCELLED };
	char line[256];
	(void)state;
	assert_true(vj_agent_drop_line(&io, &res, VJ_AGENT_STDOUT, "limits.output", line,
				       sizeof(line)));
	assert_string_equal(line, "workload stdout: 12 bytes dropped: its reader went away "
				  "(broken pipe)");
	assert_true(vj_agent_drop_line(&io, &res, VJ_AGENT_STDERR, "limits.output", line,
				       sizeof(line)));
	assert_string_equal(line, "workload stderr: 7 bytes dropped: the sandbox ended before its "
				  "reader took them");
}

/* ---- a terminal ---- */

#define HOSTILE_OUT "\x1b]52;c;cHduZWQ=\x07\x1b]0;title\x07\xc2\x9b" "2Jok\n"
#define HOSTILE_ERR "\x1b[2J\r\b"

static void script_escapes(int fd)
{
	hello(fd);
	take_workload(fd);
	put_bytes(fd, VJ_AGENT_STDOUT, HOSTILE_OUT);
	put_bytes(fd, VJ_AGENT_STDERR, HOSTILE_ERR);
	put_exit(fd, VJ_AGENT_EXITED, 0);
	until_eof(fd);
}

static void a_terminal_gets_control_characters_as_text(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	r.io.out_terminal = r.io.err_terminal = true;
	assert_int_equal(session(&r, script_escapes), 0);
	assert_string_equal(r.out, "^[]52;c;cHduZWQ=^G^[]0;title^G\\xc2\\x9b2Jok\n");
	assert_string_equal(r.err, "^[[2J\r\b");
	assert_int_equal(r.res.out_bytes, strlen(HOSTILE_OUT));
	assert_int_equal(r.res.err_bytes, strlen(HOSTILE_ERR));
}

static void a_file_or_pipe_gets_the_exact_bytes(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_escapes), 0);
	assert_string_equal(r.out, HOSTILE_OUT);
	assert_string_equal(r.err, HOSTILE_ERR);
}

static void only_the_stream_on_a_terminal_is_filtered(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	r.io.err_terminal = true;
	assert_int_equal(session(&r, script_escapes), 0);
	assert_string_equal(r.out, HOSTILE_OUT);
	assert_string_equal(r.err, "^[[2J\r\b");
}

static void script_split_characters(int fd)
{
	hello(fd);
	take_workload(fd);
	put_bytes(fd, VJ_AGENT_STDOUT, "\xe2\x82");
	put_bytes(fd, VJ_AGENT_STDERR, "\xc2");
	put_bytes(fd, VJ_AGENT_STDOUT, "\xac\n");
	put_exit(fd, VJ_AGENT_EXITED, 0);
	until_eof(fd);
}

static void a_character_split_across_frames_reaches_a_terminal_whole(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	r.io.out_terminal = r.io.err_terminal = true;
	assert_int_equal(session(&r, script_split_characters), 0);
	assert_string_equal(r.out, "\xe2\x82\xac\n");
}

static void an_unfinished_character_is_shown_as_bytes_when_the_workload_ends(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	r.io.out_terminal = r.io.err_terminal = true;
	assert_int_equal(session(&r, script_split_characters), 0);
	assert_string_equal(r.err, "\\xc2");
	assert_int_equal(r.res.err_bytes, 1);
}

static void a_cap_on_a_terminal_counts_the_guests_bytes(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	r.io.err_terminal = true;
	r.io.err_cap = 3;
	assert_int_equal(session(&r, script_escapes), 0);
	assert_string_equal(r.err, "^[[2");
	assert_int_equal(r.res.err_bytes, 3);
	assert_int_equal(r.res.err_dropped, strlen(HOSTILE_ERR) - 3);
}

/* ---- a reader that never reads ---- */

/* A cancel_fd that becomes readable after ms, as the VM's end does. */
/* The cancellation of a stalled session: an eventfd the scripted agent
 * writes once it has sent everything, so that the session is cancelled
 * while it waits on its reader, however slow the machine. */
static int agent_done = -1;

static int cancel_when_agent_done(void)
{
	agent_done = eventfd(0, EFD_CLOEXEC);
	assert_true(agent_done >= 0);
	return agent_done;
}

static void say_agent_done(void)
{
	const uint64_t one = 1;

	(void)!write(agent_done, &one, sizeof(one));
}

/* out_fd becomes a one-page pipe whose read end is returned and never read. */
static int stalled_stdout(struct run *r)
{
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
	close(r->io.out_fd);
	r->io.out_fd = p[1];
	return p[0];
}

static void script_two_frames_then_exit(int fd)
{
	static char chunk[VJ_AGENT_PAYLOAD_MAX + 1];

	hello(fd);
	take_workload(fd);
	memset(chunk, 'x', VJ_AGENT_PAYLOAD_MAX);
	put_bytes(fd, VJ_AGENT_STDOUT, chunk);
	put_bytes(fd, VJ_AGENT_STDOUT, chunk);
	put_exit(fd, VJ_AGENT_EXITED, 0);
	say_agent_done();
	until_eof(fd);
}

static void a_stalled_reader_gives_way_to_the_cancellation(void **state)
{
	static struct run r;
	int unread;
	(void)state;
	init_run(&r);
	unread = stalled_stdout(&r);
	r.io.cancel_fd = cancel_when_agent_done();
	/* A session that waits for the reader regardless never returns. */
	alarm(10);
	assert_int_equal(session(&r, script_two_frames_then_exit), 0);
	alarm(0);
	close(r.io.cancel_fd);
	close(unread);
	assert_child_ok(&r);
	assert_int_equal(r.res.status, 0);
	assert_int_equal(r.res.out_bytes, 4096);
	assert_int_equal(r.res.out_dropped, 2 * VJ_AGENT_PAYLOAD_MAX - 4096);
	assert_int_equal(r.res.out_why, VJ_AGENT_DROP_CANCELLED);
}

static void a_stalled_socket_reader_gives_way_to_the_cancellation(void **state)
{
	static struct run r;
	int sv[2], small = 4096;
	(void)state;
	init_run(&r);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	close(r.io.out_fd);
	r.io.out_fd = sv[0];
	r.io.cancel_fd = cancel_when_agent_done();
	alarm(10);
	assert_int_equal(session(&r, script_two_frames_then_exit), 0);
	alarm(0);
	close(r.io.cancel_fd);
	close(sv[1]);
	assert_child_ok(&r);
	assert_true(r.res.out_dropped > 0);
	assert_int_equal(r.res.out_bytes + r.res.out_dropped, 2 * VJ_AGENT_PAYLOAD_MAX);
}

/* The pipe's write end as the scripted agent inherited it: the same open
 * file description as the launcher's out_fd. */
static int shared_out_fd = -1;

static void script_check_blocking_while_stalled(int fd)
{
	static char chunk[VJ_AGENT_PAYLOAD_MAX + 1];

	hello(fd);
	take_workload(fd);
	memset(chunk, 'x', VJ_AGENT_PAYLOAD_MAX);
	put_bytes(fd, VJ_AGENT_STDOUT, chunk);
	put_bytes(fd, VJ_AGENT_STDOUT, chunk);
	usleep(100 * 1000); /* the launcher waits on the full pipe by now */
	EXPECT(!(fcntl(shared_out_fd, F_GETFL) & O_NONBLOCK));
	put_exit(fd, VJ_AGENT_EXITED, 0);
	say_agent_done();
	until_eof(fd);
}

static void waiting_leaves_the_callers_descriptor_blocking(void **state)
{
	static struct run r;
	int unread;
	(void)state;
	init_run(&r);
	unread = stalled_stdout(&r);
	shared_out_fd = r.io.out_fd;
	r.io.cancel_fd = cancel_when_agent_done();
	alarm(10);
	assert_int_equal(session(&r, script_check_blocking_while_stalled), 0);
	alarm(0);
	close(r.io.cancel_fd);
	close(unread);
	assert_child_ok(&r);
}

struct slow_reader {
	int fd;
	size_t got;
};

static void *read_slowly(void *arg)
{
	struct slow_reader *sr = arg;
	char buf[4096];
	ssize_t n;

	while ((n = read(sr->fd, buf, sizeof(buf))) > 0) {
		sr->got += (size_t)n;
		usleep(1000);
	}
	return NULL;
}

static void a_slow_reader_gets_every_byte(void **state)
{
	static struct run r;
	struct slow_reader sr;
	pthread_t t;
	(void)state;
	init_run(&r);
	sr = (struct slow_reader){ .fd = stalled_stdout(&r) };
	assert_int_equal(pthread_create(&t, NULL, read_slowly, &sr), 0);
	assert_int_equal(session(&r, script_two_frames_then_exit), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	close(sr.fd);
	assert_child_ok(&r);
	assert_int_equal(r.res.out_bytes, 2 * VJ_AGENT_PAYLOAD_MAX);
	assert_int_equal(r.res.out_dropped, 0);
	assert_int_equal(sr.got, 2 * VJ_AGENT_PAYLOAD_MAX);
}

/* ---- hostile agents ---- */

static void script_huge_length(int fd)
{
	hello(fd);
	take_workload(fd);
	raw_header(fd, 0xfffffff0u, VJ_AGENT_STDOUT, 0);
	until_eof(fd);
}

static void a_huge_length_ends_the_session(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_huge_length), -EMSGSIZE);
	assert_error(&r, "guest agent: STDOUT frame: length 4294967280 exceeds 65536");
	assert_int_equal(r.out_len, 0);
}

static void script_bad_flags(int fd)
{
	hello(fd);
	take_workload(fd);
	raw_header(fd, 1, VJ_AGENT_STDOUT, 1);
	put_raw(fd, "x", 1);
	until_eof(fd);
}

static void reserved_flags_end_the_session(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_bad_flags), -EPROTO);
	assert_error(&r, "reserved flags");
}

static void script_unknown_type(int fd)
{
	hello(fd);
	take_workload(fd);
	raw_header(fd, 0, 0x4242, 0);
	until_eof(fd);
}

static void an_unknown_type_ends_the_session(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_unknown_type), -EPROTO);
	assert_error(&r, "unknown type 0x4242");
}

static void script_launcher_frame(int fd)
{
	hello(fd);
	take_workload(fd);
	put_bytes(fd, VJ_AGENT_STDIN, "not yours");
	until_eof(fd);
}

static void a_launcher_only_frame_from_the_agent_ends_the_session(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_launcher_frame), -EPROTO);
	assert_error(&r, "unexpected STDIN frame while the workload runs");
}

/* Both frames in one write: sent one by one, the launcher could answer
 * HELLO and send the whole workload before "early" arrived, making it
 * output after START. */
static void script_output_before_start(int fd)
{
	static uint8_t both[2 * VJ_AGENT_HDR_LEN + 8 + 5];
	struct vj_agent_msg hello = { .type = VJ_AGENT_HELLO, .hello = { 1, 1 } };
	struct vj_agent_msg out = { .type = VJ_AGENT_STDOUT,
				    .bytes = { (const uint8_t *)"early", 5 } };
	struct vj_err why;
	ssize_t a = vj_agent_encode(&hello, child_frame, sizeof(child_frame), &why);

	EXPECT(a > 0 && (size_t)a <= sizeof(both));
	memcpy(both, child_frame, (size_t)a);
	ssize_t b = vj_agent_encode(&out, child_frame, sizeof(child_frame), &why);
	EXPECT(b > 0 && (size_t)(a + b) == sizeof(both));
	memcpy(both + a, child_frame, (size_t)b);
	put_raw(fd, both, sizeof(both));
	until_eof(fd);
}

static void output_before_start_ends_the_session(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_output_before_start), -EPROTO);
	assert_error(&r, "unexpected STDOUT frame before START");
	assert_int_equal(r.out_len, 0);
}

static void script_no_hello(int fd)
{
	put_exit(fd, VJ_AGENT_EXITED, 0);
	until_eof(fd);
}

static void anything_before_hello_ends_the_session(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_no_hello), -EPROTO);
	assert_error(&r, "unexpected EXIT frame before HELLO");
}

/* ---- a sandbox restored from a snapshot ---- */

static struct vj_agent_restored restored_example(void)
{
	struct vj_agent_restored x = { .realtime_ns = 1700000000123456789ull };

	for (unsigned i = 0; i < VJ_AGENT_ENTROPY_LEN; i++)
		x.entropy[i] = (uint8_t)(i * 7 + 1);
	strcpy(x.hostname, "clone-2");
	x.nmacs = 1;
	x.macs[0] = (struct vj_agent_mac){ 1, { 0x02, 0, 0, 0, 0, 0x09 } };
	return x;
}

static void script_v3_restored_first(int fd)
{
	const struct vj_agent_restored want = restored_example();
	struct vj_agent_msg m;

	hello_versions(fd, 1, 3, 3);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_RESTORED);
	EXPECT(!memcmp(m.restored.entropy, want.entropy, VJ_AGENT_ENTROPY_LEN) &&
	       m.restored.realtime_ns == want.realtime_ns &&
	       !strcmp(m.restored.hostname, "clone-2"));
	EXPECT(m.restored.nmacs == 1 && m.restored.macs[0].index == 1 &&
	       !memcmp(m.restored.macs[0].mac, want.macs[0].mac, 6));
	take_workload(fd);
	put_exit(fd, VJ_AGENT_EXITED, 4);
	until_eof(fd);
}

static void a_restored_sandbox_sends_restored_before_the_workload(void **state)
{
	static struct run r;
	const struct vj_agent_restored x = restored_example();
	(void)state;
	init_run(&r);
	r.io.restored = &x;
	assert_int_equal(session(&r, script_v3_restored_first), 0);
	assert_child_ok(&r);
	assert_int_equal(r.res.status, 4);
}

static void script_v2_only(int fd)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_HELLO, .hello = { 1, 2 } };

	put(fd, &m);
	until_eof(fd);
}

static void a_restored_sandbox_refuses_an_agent_older_than_version_3(void **state)
{
	static struct run r;
	const struct vj_agent_restored x = restored_example();
	(void)state;
	init_run(&r);
	r.io.restored = &x;
	assert_int_equal(session(&r, script_v2_only), -EPROTONOSUPPORT);
	assert_error(&r, "restored from a snapshot needs version 3");
}

static void script_v3_boot(int fd)
{
	hello_versions(fd, 1, 3, 3);
	take_workload(fd);
	put_exit(fd, VJ_AGENT_EXITED, 0);
	until_eof(fd);
}

static void a_booted_sandbox_sends_no_restored(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_v3_boot), 0);
	assert_child_ok(&r);
}

static void script_future_version(int fd)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_HELLO,
				  .hello = { VJ_AGENT_VERSION_MAX + 1, VJ_AGENT_VERSION_MAX + 3 } };

	put(fd, &m);
	until_eof(fd);
}

/* ---- continuing a migrated sandbox's workload (version 6) ---- */

static int session_continue(struct run *r, script_fn script)
{
	r->io.continue_run = true;
	return session_with(r, script, NULL, NULL);
}

/* The agent runs the workload already: CONTINUE in place of it, then the
 * rest of its output and its end. */
static void script_continue(int fd)
{
	struct vj_agent_msg m;

	hello_versions(fd, 1, 6, 6);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_CONTINUE);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_STDIN_EOF);
	put_bytes(fd, VJ_AGENT_STDOUT, "41\n42\n");
	put_bytes(fd, VJ_AGENT_STDERR, "late\n");
	put_exit(fd, VJ_AGENT_SIGNALED, SIGTERM);
	until_eof(fd);
}

static void a_migrated_workload_is_continued_not_started(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session_continue(&r, script_continue), 0);
	assert_child_ok(&r);
	assert_string_equal(r.out, "41\n42\n");
	assert_string_equal(r.err, "late\n");
	assert_int_equal(r.res.status, 128 + SIGTERM);
	assert_int_equal(r.res.signal, SIGTERM);
}

/* An agent that cannot continue (older than version 6) is told nothing. */
static void script_v3_only(int fd)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_HELLO, .hello = { 1, 3 } };

	put(fd, &m);
	until_eof(fd);
}

static void continuing_needs_an_agent_of_version_6(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session_continue(&r, script_v3_only), -EPROTONOSUPPORT);
	assert_child_ok(&r);
	assert_error(&r, "versions 1..3, but a migrated sandbox needs version 6");
}

/* An agent with nothing running answers CONTINUE with ERROR. */
static void script_nothing_to_continue(int fd)
{
	struct vj_agent_msg m;

	hello_versions(fd, 1, 6, 6);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_CONTINUE);
	put_bytes(fd, VJ_AGENT_ERROR, "CONTINUE frame: no workload runs here to continue");
	until_eof(fd);
}

static void an_agent_with_nothing_to_continue_ends_the_session(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session_continue(&r, script_nothing_to_continue), -ECONNABORTED);
	assert_child_ok(&r);
	assert_error(&r, "guest agent: CONTINUE frame: no workload runs here to continue");
	assert_int_equal(r.out_len, 0);
}

static void an_unsupported_version_ends_the_session(void **state)
{
	static struct run r;
	char why[64];
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_future_version), -EPROTONOSUPPORT);
	snprintf(why, sizeof(why), "versions %u..%u, this launcher 1..%u", VJ_AGENT_VERSION_MAX + 1,
		 VJ_AGENT_VERSION_MAX + 3, VJ_AGENT_VERSION_MAX);
	assert_error(&r, why);
}

static void script_bad_exit(int fd)
{
	hello(fd);
	take_workload(fd);
	raw_header(fd, 8, VJ_AGENT_EXIT, 0);
	put_raw(fd, "\0\0\0\0\x2c\x01\0\0", 8); /* exited, status 300 */
	until_eof(fd);
}

static void an_exit_status_out_of_range_ends_the_session(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_bad_exit), -EPROTO);
	assert_error(&r, "exit status 300");
}

static void script_agent_error(int fd)
{
	hello(fd);
	take_workload(fd);
	put_bytes(fd, VJ_AGENT_ERROR, "chdir /work: No such file or directory");
	until_eof(fd);
}

static void an_agent_error_is_reported(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_agent_error), -ECONNABORTED);
	assert_string_equal(r.e.msg, "guest agent: chdir /work: No such file or directory");
}

static void script_escape_in_error(int fd)
{
	hello(fd);
	raw_header(fd, 6, VJ_AGENT_ERROR, 0);
	put_raw(fd, "\x1b]0;x\a", 6);
	until_eof(fd);
}

static void terminal_escapes_in_an_error_are_refused(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_escape_in_error), -EPROTO);
	assert_error(&r, "printable ASCII");
	assert_null(strchr(r.e.msg, '\x1b'));
}

/* STDIN_EOF is read first: a socket closed with unread data resets the
 * connection, and the launcher would see that instead of the close. */
static void script_close_after_start(int fd)
{
	struct vj_agent_msg m;

	hello(fd);
	take_workload(fd);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_STDIN_EOF);
	put_bytes(fd, VJ_AGENT_STDOUT, "partial");
}

static void an_early_close_ends_the_session(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_close_after_start), -ECONNRESET);
	assert_error(&r, "closed the connection before reporting how the workload ended");
	assert_string_equal(r.out, "partial");
}

static void script_close_in_handshake(int fd)
{
	(void)fd;
}

static void a_close_during_the_handshake_ends_the_session(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_close_in_handshake), -ECONNRESET);
	assert_error(&r, "during the handshake");
}

static void script_truncated_frame(int fd)
{
	hello(fd);
	take_workload(fd);
	raw_header(fd, 100, VJ_AGENT_STDOUT, 0);
	put_raw(fd, "only part", 9);
}

static void a_truncated_frame_then_close_ends_the_session(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_truncated_frame), -ECONNRESET);
	assert_int_equal(r.out_len, 0);
}

/* ---- what the launcher refuses to send, and cancellation ---- */

static void script_hello_only(int fd)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_HELLO, .hello = { 1, 1 } };

	put(fd, &m);
	until_eof(fd);
}

static void an_empty_argv_is_refused_before_any_io(void **state)
{
	static struct run r;
	struct vj_workload w = { 0 };
	const struct vj_agent_spec s = spec();
	(void)state;
	init_run(&r);
	assert_int_equal(session_with(&r, script_hello_only, &w, &s), -EINVAL);
	assert_error(&r, "no program to run");
}

static void an_invalid_spec_is_refused_with_the_reason(void **state)
{
	static struct run r;
	const struct vj_workload w = workload();
	struct vj_agent_spec s = spec();
	(void)state;
	init_run(&r);
	strcpy(s.hostname, "bad name");
	assert_int_equal(session_with(&r, script_hello_only, &w, &s), -EPROTO);
	assert_error(&r, "workload: WORKLOAD frame: hostname");
}

static void a_cancel_ends_the_wait(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	r.io.cancel_fd = eventfd(1, EFD_CLOEXEC);
	assert_int_equal(session(&r, script_hello_only), -ECANCELED);
	close(r.io.cancel_fd);
	assert_error(&r, "stopped waiting for the guest agent");
}

/* ---- accept ---- */

static int listener(struct sockaddr_un *sa, socklen_t *len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "vj-agent-test-%d", (int)getpid());
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa->sun_path + 1));
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)sa, *len), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* Connects, and reports through `done` once the launcher closed it. */
static pid_t connector(const struct sockaddr_un *sa, socklen_t len, int done)
{
	pid_t pid = fork();
	char c;

	if (pid != 0)
		return pid;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	EXPECT(fd >= 0 && connect(fd, (const struct sockaddr *)sa, len) == 0);
	EXPECT(read(fd, &c, 1) == 0);
	EXPECT(write(done, "x", 1) == 1);
	_exit(0);
}

static void accept_takes_the_expected_peer(void **state)
{
	struct sockaddr_un sa;
	socklen_t len;
	struct vj_err e;
	int lfd = listener(&sa, &len), p[2], conn = -1, st;
	pid_t pid;
	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = connector(&sa, len, p[1]);
	assert_int_equal(vj_agent_accept(lfd, p[0], pid, &conn, &e), 0);
	close(conn);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(st, 0);
	close(lfd);
	close(p[0]);
	close(p[1]);
}

static void accept_closes_connections_from_other_processes(void **state)
{
	struct sockaddr_un sa;
	socklen_t len;
	struct vj_err e;
	int lfd = listener(&sa, &len), p[2], conn = -1, st;
	pid_t pid;
	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = connector(&sa, len, p[1]);
	/* the connector, refused, writes to the cancel pipe */
	assert_int_equal(vj_agent_accept(lfd, p[0], getpid(), &conn, &e), -ECANCELED);
	assert_int_equal(conn, -1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(st, 0);
	close(lfd);
	close(p[0]);
	close(p[1]);
}

static void accept_is_cancelled_when_nobody_connects(void **state)
{
	struct sockaddr_un sa;
	socklen_t len;
	struct vj_err e;
	int lfd = listener(&sa, &len), efd = eventfd(1, EFD_CLOEXEC), conn = -1;
	(void)state;
	assert_int_equal(vj_agent_accept(lfd, efd, 0, &conn, &e), -ECANCELED);
	assert_string_equal(e.msg, "the guest agent never connected");
	close(lfd);
	close(efd);
}


/* ---- version 5: execs -------------------------------------------------------- */

static const struct vj_agent_exec exec_example = {
	.id = 7, .port = 1026,
	.token = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 },
};

static void script_v5_exec_sent(int fd)
{
	struct vj_agent_msg m;

	hello_versions(fd, 1, 5, 5);
	take_workload(fd);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_STDIN_EOF);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_EXEC && m.exec.id == 7 && m.exec.port == 1026 &&
	       !memcmp(m.exec.token, exec_example.token, VJ_AGENT_TOKEN_LEN));
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_SIGNAL && m.signal == SIGTERM);
	put_exit(fd, VJ_AGENT_SIGNALED, SIGTERM);
	until_eof(fd);
}

static void send_exec_cmd(int sender)
{
	struct vj_agent_cmd c = { .op = VJ_AGENT_CMD_EXEC, .arg = exec_example.id,
				  .arg64 = exec_example.port };

	memcpy(c.token, exec_example.token, sizeof(c.token));
	assert_int_equal(send(sender, &c, sizeof(c), 0), sizeof(c));
}

static void an_exec_command_becomes_an_exec_frame_for_a_version_5_agent(void **state)
{
	static struct run r;
	_Atomic unsigned version = 0;
	int sender;
	(void)state;
	init_run(&r);
	r.io.cmd_fd = cmd_channel(&sender);
	r.io.version = &version;
	send_exec_cmd(sender);
	send_cmd(sender, VJ_AGENT_CMD_SIGNAL, SIGTERM, 0);
	assert_int_equal(session(&r, script_v5_exec_sent), 0);
	close(sender);
	close(r.io.cmd_fd);
	assert_child_ok(&r);
	assert_int_equal(atomic_load(&version), 5);
}

static void script_v3_no_exec(int fd)
{
	struct vj_agent_msg m;

	hello_versions(fd, 1, 3, 3);
	take_workload(fd);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_STDIN_EOF);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_SIGNAL && m.signal == SIGTERM);
	put_exit(fd, VJ_AGENT_SIGNALED, SIGTERM);
	until_eof(fd);
}

/* An older agent would refuse EXEC as an unknown type. */
static void an_exec_command_is_dropped_for_an_older_agent(void **state)
{
	static struct run r;
	_Atomic unsigned version = 0;
	int sender;
	(void)state;
	init_run(&r);
	r.io.cmd_fd = cmd_channel(&sender);
	r.io.version = &version;
	send_exec_cmd(sender);
	send_cmd(sender, VJ_AGENT_CMD_SIGNAL, SIGTERM, 0);
	assert_int_equal(session(&r, script_v3_no_exec), 0);
	close(sender);
	close(r.io.cmd_fd);
	assert_child_ok(&r);
	assert_int_equal(atomic_load(&version), 3);
}

static void put_attach(int fd, uint32_t id, uint8_t first)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_ATTACH };

	m.attach.id = id;
	memcpy(m.attach.token, exec_example.token, VJ_AGENT_TOKEN_LEN);
	m.attach.token[0] = first;
	put(fd, &m);
}

static void script_exec_session(int fd)
{
	static const char *const argv[] = { "sh", "-c", "echo out" };
	struct vj_agent_msg m;

	put_attach(fd, 7, 1);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_EXEC_SPEC);
	EXPECT(m.xspec.flags == (VJ_AGENT_XSPEC_IDS | VJ_AGENT_XSPEC_CWD) && m.xspec.uid == 5 &&
	       m.xspec.gid == 6 && !strcmp(m.xspec.cwd, "/tmp"));
	for (int i = 0; i < 3; i++) {
		EXPECT(get(fd, &m) && m.type == VJ_AGENT_ARG);
		EXPECT(m.bytes.len == strlen(argv[i]) && !memcmp(m.bytes.data, argv[i], m.bytes.len));
	}
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_ENV);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_START);
	EXPECT(get(fd, &m) && m.type == VJ_AGENT_STDIN_EOF);
	put_bytes(fd, VJ_AGENT_STDOUT, "hi\n");
	put_exit(fd, VJ_AGENT_EXITED, 3);
	until_eof(fd);
}

static void exec_run(struct run *r, struct vj_agent_exec_spec *x)
{
	init_run(r);
	*x = (struct vj_agent_exec_spec){ .flags = VJ_AGENT_XSPEC_IDS | VJ_AGENT_XSPEC_CWD,
					  .uid = 5, .gid = 6 };
	strcpy(x->cwd, "/tmp");
	r->io.exec = &exec_example;
	r->io.xspec = x;
}

static void an_exec_session_attaches_then_sends_its_spec_instead_of_a_workload(void **state)
{
	static struct run r;
	struct vj_agent_exec_spec x;
	(void)state;
	exec_run(&r, &x);
	assert_int_equal(session(&r, script_exec_session), 0);
	assert_child_ok(&r);
	assert_int_equal(r.res.status, 3);
	assert_string_equal(r.out, "hi\n");
}

static void script_exec_wrong_token(int fd)
{
	put_attach(fd, 7, 99);
	until_eof(fd);
}

static void script_exec_wrong_id(int fd)
{
	put_attach(fd, 8, 1);
	until_eof(fd);
}

static void script_exec_hello(int fd)
{
	hello_versions(fd, 1, 5, 5);
	until_eof(fd);
}

/* Whatever else reaches an exec's port is not its agent's connection:
 * it learns nothing of the exec. */
static void an_exec_session_refuses_a_wrong_token_id_or_a_hello(void **state)
{
	static struct run r;
	struct vj_agent_exec_spec x;
	(void)state;
	exec_run(&r, &x);
	assert_int_equal(session(&r, script_exec_wrong_token), -EPERM);
	assert_error(&r, "did not carry its id and token");
	exec_run(&r, &x);
	assert_int_equal(session(&r, script_exec_wrong_id), -EPERM);
	assert_error(&r, "did not carry its id and token");
	exec_run(&r, &x);
	assert_int_equal(session(&r, script_exec_hello), -EPROTO);
	assert_error(&r, "unexpected HELLO frame before HELLO or ATTACH");
}

static void script_workload_attach(int fd)
{
	put_attach(fd, 7, 1);
	until_eof(fd);
}

static void a_workload_session_refuses_attach(void **state)
{
	static struct run r;
	(void)state;
	init_run(&r);
	assert_int_equal(session(&r, script_workload_attach), -EPROTO);
	assert_error(&r, "unexpected ATTACH frame");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(streams_are_separated_and_the_exit_status_returned),
		cmocka_unit_test(a_killing_signal_gives_128_plus_n),
		cmocka_unit_test(stdin_is_streamed_then_closed),
		cmocka_unit_test(signals_are_forwarded),
		cmocka_unit_test(settime_is_sent_to_a_version_2_agent),
		cmocka_unit_test(settime_is_dropped_for_a_version_1_agent),
		cmocka_unit_test(the_newest_common_version_is_agreed),
		cmocka_unit_test(bad_commands_are_ignored),
		cmocka_unit_test(a_command_waits_while_stdin_holds_the_connection),
		cmocka_unit_test(an_idle_command_channel_is_never_waited_on),
		cmocka_unit_test(a_closed_command_channel_leaves_the_workload_running),
		cmocka_unit_test(nothing_after_exit_is_looked_at),
		cmocka_unit_test(output_past_the_cap_is_discarded_and_counted),
		cmocka_unit_test(output_up_to_the_cap_drops_nothing),
		cmocka_unit_test(a_reader_that_went_away_is_told_apart_from_a_cap),
		cmocka_unit_test(nothing_dropped_is_nothing_to_tell),
		cmocka_unit_test(a_cap_is_named_with_the_key_that_set_it),
		cmocka_unit_test(a_reader_gone_and_an_ended_sandbox_are_told_as_such),
		cmocka_unit_test(a_terminal_gets_control_characters_as_text),
		cmocka_unit_test(a_file_or_pipe_gets_the_exact_bytes),
		cmocka_unit_test(only_the_stream_on_a_terminal_is_filtered),
		cmocka_unit_test(a_character_split_across_frames_reaches_a_terminal_whole),
		cmocka_unit_test(an_unfinished_character_is_shown_as_bytes_when_the_workload_ends),
		cmocka_unit_test(a_cap_on_a_terminal_counts_the_guests_bytes),
		cmocka_unit_test(a_stalled_reader_gives_way_to_the_cancellation),
		cmocka_unit_test(a_stalled_socket_reader_gives_way_to_the_cancellation),
		cmocka_unit_test(waiting_leaves_the_callers_descriptor_blocking),
		cmocka_unit_test(a_slow_reader_gets_every_byte),
		cmocka_unit_test(a_huge_length_ends_the_session),
		cmocka_unit_test(reserved_flags_end_the_session),
		cmocka_unit_test(an_unknown_type_ends_the_session),
		cmocka_unit_test(a_launcher_only_frame_from_the_agent_ends_the_session),
		cmocka_unit_test(output_before_start_ends_the_session),
		cmocka_unit_test(anything_before_hello_ends_the_session),
		cmocka_unit_test(an_unsupported_version_ends_the_session),
		cmocka_unit_test(an_exec_command_becomes_an_exec_frame_for_a_version_5_agent),
		cmocka_unit_test(an_exec_command_is_dropped_for_an_older_agent),
		cmocka_unit_test(an_exec_session_attaches_then_sends_its_spec_instead_of_a_workload),
		cmocka_unit_test(an_exec_session_refuses_a_wrong_token_id_or_a_hello),
		cmocka_unit_test(a_workload_session_refuses_attach),
		cmocka_unit_test(a_migrated_workload_is_continued_not_started),
		cmocka_unit_test(continuing_needs_an_agent_of_version_6),
		cmocka_unit_test(an_agent_with_nothing_to_continue_ends_the_session),
		cmocka_unit_test(a_restored_sandbox_sends_restored_before_the_workload),
		cmocka_unit_test(a_restored_sandbox_refuses_an_agent_older_than_version_3),
		cmocka_unit_test(a_booted_sandbox_sends_no_restored),
		cmocka_unit_test(an_exit_status_out_of_range_ends_the_session),
		cmocka_unit_test(an_agent_error_is_reported),
		cmocka_unit_test(terminal_escapes_in_an_error_are_refused),
		cmocka_unit_test(an_early_close_ends_the_session),
		cmocka_unit_test(a_close_during_the_handshake_ends_the_session),
		cmocka_unit_test(a_truncated_frame_then_close_ends_the_session),
		cmocka_unit_test(an_empty_argv_is_refused_before_any_io),
		cmocka_unit_test(an_invalid_spec_is_refused_with_the_reason),
		cmocka_unit_test(a_cancel_ends_the_wait),
		cmocka_unit_test(accept_takes_the_expected_peer),
		cmocka_unit_test(accept_closes_connections_from_other_processes),
		cmocka_unit_test(accept_is_cancelled_when_nobody_connects),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
