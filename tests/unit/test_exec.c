/* The launcher's exec slots (jailer/exec.c): what is refused before the
 * guest is asked, what the agent is asked, and how an exec that the
 * sandbox's end cut short is reported. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "unit.h"
#include "exec.h"

static unsigned agent_version;
static struct vj_agent_cmd sent[4];
static unsigned nsent;

static unsigned fake_version(void *ctx)
{
	(void)ctx;
	return agent_version;
}

static int fake_command(void *ctx, const struct vj_agent_cmd *c)
{
	(void)ctx;
	if (nsent < 4)
		sent[nsent++] = *c;
	return 0;
}

/* A listening socket with an abstract name the kernel picks. */
static int listen_any(void *ctx, uint32_t port, int *fd, struct vj_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	(void)ctx, (void)port, (void)e;
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(*fd >= 0);
	assert_int_equal(bind(*fd, (struct sockaddr *)&sa, sizeof(sa_family_t)), 0);
	assert_int_equal(listen(*fd, 4), 0);
	return 0;
}

static void setup_max(struct vj_execs *x, unsigned version, unsigned max)
{
	struct vj_err e;

	vj_execs_init(x);
	agent_version = version;
	nsent = 0;
	x->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	x->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	x->out_cap = VJ_AGENT_UNCAPPED;
	x->agent = (struct vj_exec_agent){ .version = fake_version, .command = fake_command };
	assert_int_equal(vj_execs_listen(x, max, listen_any, NULL, &e), 0);
}

static void setup_execs(struct vj_execs *x, unsigned version)
{
	setup_max(x, version, VJ_EXEC_MAX);
}

static void teardown_execs(struct vj_execs *x)
{
	const uint64_t one = 1;

	assert_int_equal(write(x->cancel_fd, &one, sizeof(one)), sizeof(one));
	vj_execs_close(x);
	close(x->done_fd);
	close(x->cancel_fd);
}

static void std_fds(int fds[3])
{
	fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fds[1] = open("/dev/null", O_WRONLY | O_CLOEXEC);
	fds[2] = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0);
}

static struct vj_ctl_exec request(void)
{
	static char *argv[] = { "sh", "-c", "echo hi", NULL };
	struct vj_ctl_exec rq = { .w = { .argc = 3 } };

	memcpy(rq.w.argv, argv, sizeof(argv));
	return rq;
}

static void assert_closed(const int fds[3])
{
	for (int i = 0; i < 3; i++)
		assert_int_equal(fcntl(fds[i], F_GETFD), -1);
}

static void an_exec_before_the_agent_connected_is_asked_again_later(void **state)
{
	static struct vj_execs x;
	const struct vj_ctl_exec rq = request();
	struct vj_err e;
	int fds[3], keep[3];
	(void)state;
	setup_execs(&x, 0);
	std_fds(fds);
	memcpy(keep, fds, sizeof(keep));
	assert_int_equal(vj_execs_start(&x, &rq, fds, 1, &e), -EAGAIN);
	assert_non_null(strstr(e.msg, "has not connected yet"));
	assert_closed(keep);
	assert_int_equal(nsent, 0);
	teardown_execs(&x);
}

static void an_agent_older_than_version_5_does_not_support_exec(void **state)
{
	static struct vj_execs x;
	const struct vj_ctl_exec rq = request();
	struct vj_err e;
	int fds[3];
	(void)state;
	for (unsigned v = 1; v < VJ_AGENT_VERSION_EXEC; v++) {
		setup_execs(&x, v);
		std_fds(fds);
		assert_int_equal(vj_execs_start(&x, &rq, fds, 1, &e), -EPROTONOSUPPORT);
		assert_non_null(strstr(e.msg, "this guest's agent does not support exec"));
		assert_int_equal(nsent, 0);
		teardown_execs(&x);
	}
}

static void descriptors_must_be_open_in_their_direction(void **state)
{
	static struct vj_execs x;
	const struct vj_ctl_exec rq = request();
	struct vj_err e;
	int fds[3];
	(void)state;
	setup_execs(&x, 5);
	std_fds(fds);
	close(fds[0]);
	fds[0] = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_int_equal(vj_execs_start(&x, &rq, fds, 1, &e), -EBADF);
	assert_non_null(strstr(e.msg, "stdin passed is not open for reading"));
	std_fds(fds);
	close(fds[2]);
	fds[2] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(vj_execs_start(&x, &rq, fds, 1, &e), -EBADF);
	assert_non_null(strstr(e.msg, "stderr passed is not open for writing"));
	std_fds(fds);
	close(fds[1]);
	fds[1] = open("/dev/null", O_PATH | O_CLOEXEC);
	assert_int_equal(vj_execs_start(&x, &rq, fds, 1, &e), -EBADF);
	assert_int_equal(nsent, 0);
	teardown_execs(&x);
}

/* The agent is sent to the slot's port with a fresh token; the sandbox's
 * end before the agent connected is reported as such. */
static void an_exec_asks_the_agent_and_ends_with_the_sandbox(void **state)
{
	static struct vj_execs x;
	static const uint8_t zero[VJ_AGENT_TOKEN_LEN];
	const struct vj_ctl_exec rq = request();
	const uint64_t one = 1;
	struct vj_exec_end end;
	struct vj_err e;
	int fds[3];
	(void)state;
	setup_execs(&x, 5);
	std_fds(fds);
	assert_int_equal(vj_execs_start(&x, &rq, fds, 42, &e), 1);
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].op, VJ_AGENT_CMD_EXEC);
	assert_int_equal(sent[0].arg, 1);
	assert_int_equal(sent[0].arg64, VJ_EXEC_PORT_BASE);
	assert_true(memcmp(sent[0].token, zero, sizeof(zero)) != 0);
	assert_int_equal(vj_execs_signal(&x, 2, SIGTERM), -ESRCH);
	assert_false(vj_execs_reap(&x, &end));
	assert_int_equal(write(x.cancel_fd, &one, sizeof(one)), sizeof(one));
	while (!vj_execs_reap(&x, &end))
		usleep(1000);
	assert_int_equal(end.id, 1);
	assert_int_equal(end.client, 42);
	assert_int_equal(end.status, -1);
	assert_true(end.sandbox_ended);
	assert_non_null(strstr(end.why, "workload ended while exec 1 ran"));
	teardown_execs(&x);
}

/* A guest process that takes the exec's port and says nothing holds it
 * for VJ_EXEC_ATTACH_MS, not for as long as the sandbox lives. */
static void a_silent_connection_on_the_port_fails_the_exec_in_time(void **state)
{
	static struct vj_execs x;
	const struct vj_ctl_exec rq = request();
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	struct vj_exec_end end;
	struct vj_err e;
	int fds[3], c;
	(void)state;
	setup_execs(&x, 5);
	std_fds(fds);
	assert_int_equal(vj_execs_start(&x, &rq, fds, 1, &e), 1);
	assert_int_equal(getsockname(x.slot[0].listen_fd, (struct sockaddr *)&sa, &len), 0);
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, len), 0);
	while (!vj_execs_reap(&x, &end))
		usleep(10000);
	assert_int_equal(end.status, -1);
	assert_false(end.sandbox_ended);
	assert_non_null(strstr(end.why, "sent no ATTACH within"));
	close(c);
	teardown_execs(&x);
}

static void the_ninth_exec_at_once_is_refused(void **state)
{
	static struct vj_execs x;
	const struct vj_ctl_exec rq = request();
	struct vj_exec_end end;
	const uint64_t one = 1;
	struct vj_err e;
	int fds[3];
	(void)state;
	setup_execs(&x, 5);
	for (int i = 1; i <= VJ_EXEC_MAX; i++) {
		std_fds(fds);
		assert_int_equal(vj_execs_start(&x, &rq, fds, 1, &e), i);
	}
	std_fds(fds);
	assert_int_equal(vj_execs_start(&x, &rq, fds, 1, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "8 execs run already, the most this host allows"));
	assert_int_equal(write(x.cancel_fd, &one, sizeof(one)), sizeof(one));
	for (int n = 0; n < VJ_EXEC_MAX;)
		n += vj_execs_reap(&x, &end);
	teardown_execs(&x);
}

static void the_host_files_exec_max_bounds_them(void **state)
{
	static struct vj_execs x;
	const struct vj_ctl_exec rq = request();
	struct vj_exec_end end;
	const uint64_t one = 1;
	struct vj_err e;
	int fds[3];
	(void)state;
	setup_max(&x, 5, 2);
	for (int i = 1; i <= 2; i++) {
		std_fds(fds);
		assert_int_equal(vj_execs_start(&x, &rq, fds, 1, &e), i);
	}
	std_fds(fds);
	assert_int_equal(vj_execs_start(&x, &rq, fds, 1, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "2 execs run already"));
	assert_int_equal(write(x.cancel_fd, &one, sizeof(one)), sizeof(one));
	for (int n = 0; n < 2;)
		n += vj_execs_reap(&x, &end);
	teardown_execs(&x);
	setup_max(&x, 5, 0);
	std_fds(fds);
	assert_int_equal(vj_execs_start(&x, &rq, fds, 1, &e), -EPERM);
	assert_non_null(strstr(e.msg, "exec_max: 0"));
	teardown_execs(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(an_exec_before_the_agent_connected_is_asked_again_later),
		cmocka_unit_test(an_agent_older_than_version_5_does_not_support_exec),
		cmocka_unit_test(descriptors_must_be_open_in_their_direction),
		cmocka_unit_test(an_exec_asks_the_agent_and_ends_with_the_sandbox),
		cmocka_unit_test(a_silent_connection_on_the_port_fails_the_exec_in_time),
		cmocka_unit_test(the_ninth_exec_at_once_is_refused),
		cmocka_unit_test(the_host_files_exec_max_bounds_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
