/* The transports of a live migration (jailer/migrate_transport.c): each form of
 * DEST and SRC gives a stream that carries bytes both ways, exec:'s
 * through its command; plain TCP off loopback is refused without
 * --insecure, and a malformed endpoint is named. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "migrate_transport.h"

static void round_trip(int a, int b)
{
	char buf[8] = { 0 };

	assert_int_equal(write(a, "ping", 4), 4);
	assert_int_equal(read(b, buf, 4), 4);
	assert_memory_equal(buf, "ping", 4);
}

static void endpoints_are_checked_by_form(void **state)
{
	(void)state;
	assert_true(vj_migrate_endpoint_ok("unix:/run/x.sock", false));
	assert_true(vj_migrate_endpoint_ok("tcp:127.0.0.1:4000", false));
	assert_true(vj_migrate_endpoint_ok("tcp:[::1]:4000", true));
	assert_true(vj_migrate_endpoint_ok("exec:ssh h vmjail receive p --from stdio", false));
	assert_true(vj_migrate_endpoint_ok("stdio", true));
	assert_false(vj_migrate_endpoint_ok("stdio", false));
	assert_false(vj_migrate_endpoint_ok("exec:cat", true));
	assert_false(vj_migrate_endpoint_ok("unix:", false));
	assert_false(vj_migrate_endpoint_ok("tcp:nohost", false));
	assert_false(vj_migrate_endpoint_ok("/run/x.sock", false));
}

static void plain_tcp_off_loopback_needs_insecure(void **state)
{
	struct vj_err e = { 0 };
	pid_t child;

	(void)state;
	/* 192.0.2.1 is TEST-NET-1: never reached, the refusal comes first. */
	assert_int_equal(vj_migrate_connect("tcp:192.0.2.1:9", false, &child, &e), -EPERM);
	assert_non_null(strstr(e.msg, "tcp:192.0.2.1:9: not a loopback address"));
	assert_non_null(strstr(e.msg, "--insecure"));
	assert_int_equal(vj_migrate_accept("tcp:192.0.2.1:9", false, 100, &child, &e), -EPERM);
	assert_int_equal(vj_migrate_connect("ftp:x", false, &child, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "\"ftp:x\": expected unix:PATH, tcp:HOST:PORT or exec:COMMAND"));
}

/* receive's unix: listens, 0600, for one source; migrate's connects. */
static void a_unix_stream_joins_the_two_sides(void **state)
{
	char dir[] = "/tmp/vj-mig-XXXXXX", ep[128];
	struct vj_err e = { 0 };
	pid_t pid, child;
	int fd, st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(ep, sizeof(ep), "unix:%s/s", dir);
	pid = fork();
	if (pid == 0) {
		/* The source, once the destination listens. */
		struct stat sb;
		for (int i = 0; i < 200 && stat(ep + 5, &sb) < 0; i++)
			usleep(10000);
		fd = vj_migrate_connect(ep, false, &child, &e);
		if (fd < 0 || (sb.st_mode & 0777) != 0600 || write(fd, "ping", 4) != 4)
			_exit(1);
		_exit(0);
	}
	fd = vj_migrate_accept(ep, false, 5000, &child, &e);
	assert_true(fd >= 0);
	{
		char buf[4];
		assert_int_equal(read(fd, buf, 4), 4);
		assert_memory_equal(buf, "ping", 4);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* The socket file does not outlive the accept. */
	assert_int_equal(access(ep + 5, F_OK), -1);
	close(fd);
	rmdir(dir);
}

/* exec:'s command has the stream as stdin and stdout: cat echoes. */
static void an_exec_command_carries_the_stream(void **state)
{
	struct vj_err e = { 0 };
	pid_t child = 0;
	int fd, st;

	(void)state;
	fd = vj_migrate_connect("exec:cat", false, &child, &e);
	assert_true(fd >= 0);
	assert_true(child > 0);
	round_trip(fd, fd);
	shutdown(fd, SHUT_WR);
	close(fd);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void a_source_that_never_comes_times_out(void **state)
{
	char dir[] = "/tmp/vj-mig-XXXXXX", ep[128];
	struct vj_err e = { 0 };
	pid_t child;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(ep, sizeof(ep), "unix:%s/s", dir);
	assert_int_equal(vj_migrate_accept(ep, false, 100, &child, &e), -ETIMEDOUT);
	assert_non_null(strstr(e.msg, "no source connected"));
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(endpoints_are_checked_by_form),
		cmocka_unit_test(plain_tcp_off_loopback_needs_insecure),
		cmocka_unit_test(a_unix_stream_joins_the_two_sides),
		cmocka_unit_test(an_exec_command_carries_the_stream),
		cmocka_unit_test(a_source_that_never_comes_times_out),
	};

	signal(SIGPIPE, SIG_IGN);
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
