/* The vsock broker (common/vsock_broker.c, started by the launcher or by a
 * standalone VMM): how "<uds>_<port>" is reached, its seccomp filter,
 * proved against the kernel both ways, and its confinement seen from
 * outside in both modes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "broker.h"
#include "vsock_broker.h"
#include "vsock_broker_proto.h"

static char dir[64];
static int dirfd_ = -1;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/vj-broker-XXXXXX");
	assert_non_null(mkdtemp(dir));
	dirfd_ = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return dirfd_ < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	close(dirfd_);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A listening socket at dir/name. */
static int listener(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, name);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static bool has_connection(int lfd)
{
	int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (c >= 0)
		close(c);
	return c >= 0;
}

static void a_socket_at_the_port_s_name_is_connected(void **state)
{
	int lfd = listener("v.sock_5678"), fd;

	(void)state;
	fd = vj_vsock_broker_connect(dirfd_, "v.sock", 5678);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_true(has_connection(lfd));
	close(fd);
	close(lfd);
}

static void a_symbolic_link_at_the_port_s_name_is_refused_not_followed(void **state)
{
	int lfd = listener("elsewhere");
	char link[128];

	(void)state;
	snprintf(link, sizeof(link), "%s/v.sock_5679", dir);
	assert_int_equal(symlink("elsewhere", link), 0);
	assert_int_equal(vj_vsock_broker_connect(dirfd_, "v.sock", 5679), -ECONNREFUSED);
	assert_false(has_connection(lfd));
	close(lfd);
}

static void a_file_that_is_not_a_socket_is_refused(void **state)
{
	char path[128];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/v.sock_80", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vj_vsock_broker_connect(dirfd_, "v.sock", 80), -ECONNREFUSED);
}

static void a_missing_socket_is_enoent(void **state)
{
	(void)state;
	assert_int_equal(vj_vsock_broker_connect(dirfd_, "v.sock", 1), -ENOENT);
}

/* ---- the launcher broker's filter ------------------------------------ */

struct call {
	long nr;
	long a[6];
};

enum verdict { SURVIVES, KILLED };

/* Runs call c (or, when c is NULL, a broker connection to "v.sock_5678"
 * in dir) in a child under the broker's filter. */
static enum verdict under_filter(const struct call *c)
{
	struct rlimit no_core = { 0, 0 };
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &no_core);
		if (chdir(dir) < 0 || vj_vsock_broker_load_filter() < 0)
			_exit(99);
		if (c)
			syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
		else if (vj_vsock_broker_connect(AT_FDCWD, "v.sock", 5678) < 0)
			syscall(SYS_exit_group, 98);
		syscall(SYS_exit_group, 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_false(WIFEXITED(status) && WEXITSTATUS(status) >= 98);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS ? KILLED : SURVIVES;
}

static void the_filter_lets_the_broker_connect(void **state)
{
	int lfd = listener("v.sock_5678");

	(void)state;
	assert_int_equal(under_filter(NULL), SURVIVES);
	assert_true(has_connection(lfd));
	close(lfd);
}

static void the_filter_allows_each_call_of_a_connection(void **state)
{
	struct stat st;
	const struct call calls[] = {
		{ SYS_recvfrom, { -1, 0, 0, 0, 0, 0 } },
		{ SYS_openat, { AT_FDCWD, (long)"none", VJ_VSOCK_BROKER_OPEN_FLAGS, 0, 0, 0 } },
		{ SYS_newfstatat, { -1, (long)"", (long)&st, AT_EMPTY_PATH, 0, 0 } },
		{ SYS_socket, { AF_UNIX, VJ_VSOCK_BROKER_CONN_TYPE, 0, 0, 0, 0 } },
		{ SYS_connect, { -1, 0, 0, 0, 0, 0 } },
		{ SYS_sendmsg, { -1, 0, 0, 0, 0, 0 } },
		{ SYS_close, { -1, 0, 0, 0, 0, 0 } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (under_filter(&calls[i]) != SURVIVES)
			fail_msg("system call %ld was killed", calls[i].nr);
}

static void the_filter_kills_every_other_open_stat_and_socket(void **state)
{
	struct stat st;
	const struct call calls[] = {
		/* a readable descriptor, or one that follows a symbolic link */
		{ SYS_openat, { AT_FDCWD, (long)"none", O_RDONLY | O_CLOEXEC, 0, 0, 0 } },
		{ SYS_openat, { AT_FDCWD, (long)"none", O_PATH | O_CLOEXEC, 0, 0, 0 } },
		/* relative to anything but the socket directory */
		{ SYS_openat, { 0, (long)"none", VJ_VSOCK_BROKER_OPEN_FLAGS, 0, 0, 0 } },
		{ SYS_open, { (long)"none", O_PATH | O_NOFOLLOW | O_CLOEXEC, 0, 0, 0, 0 } },
		/* stat of a path, following links */
		{ SYS_newfstatat, { AT_FDCWD, (long)"none", (long)&st, 0, 0, 0 } },
		{ SYS_stat, { (long)"none", (long)&st, 0, 0, 0, 0 } },
		{ SYS_socket, { AF_INET, VJ_VSOCK_BROKER_CONN_TYPE, 0, 0, 0, 0 } },
		{ SYS_socket, { AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, 0, 0, 0 } },
		{ SYS_bind, { -1, 0, 0, 0, 0, 0 } },
		{ SYS_read, { -1, 0, 0, 0, 0, 0 } },
		{ SYS_write, { -1, 0, 0, 0, 0, 0 } },
		{ SYS_unlinkat, { AT_FDCWD, (long)"none", 0, 0, 0, 0 } },
		{ SYS_execve, { (long)"/bin/true", 0, 0, 0, 0, 0 } },
		{ SYS_prctl, { PR_SET_DUMPABLE, 1, 0, 0, 0, 0 } },
		/* an allowed value in the low half of a 64-bit argument only */
		{ SYS_socket, { AF_UNIX | (1L << 32), VJ_VSOCK_BROKER_CONN_TYPE, 0, 0, 0, 0 } },
		{ SYS_socket, { AF_UNIX, VJ_VSOCK_BROKER_CONN_TYPE | (1L << 32), 0, 0, 0, 0 } },
		{ SYS_openat,
		  { AT_FDCWD, (long)"none", VJ_VSOCK_BROKER_OPEN_FLAGS | (1L << 40), 0, 0, 0 } },
		{ SYS_newfstatat, { -1, (long)"", (long)&st, AT_EMPTY_PATH | (1L << 32), 0, 0 } },
		/* the x32 numbering of an allowed call */
		{ 0x40000000L | SYS_close, { -1, 0, 0, 0, 0, 0 } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (under_filter(&calls[i]) != KILLED)
			fail_msg("call %zu (system call %ld) was not killed", i, calls[i].nr);
}

/* ---- both brokers, confined alike ------------------------------------ */

/* "Key:\tvalue" of /proc/PID/status, or "" */
static void status_field(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[256];
	size_t n = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			snprintf(out, len, "%s", line + n + 1 + strspn(line + n + 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
			break;
		}
	fclose(f);
}

/* A request for port 5678 through the VMM's end: the broker serves, so
 * its confinement is complete. */
static void round_trip(int vmm_end, int lfd)
{
	struct vj_vsock_broker_request q = { .cookie = 7, .port = 5678 };
	struct vj_vsock_broker_answer a;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &a, sizeof(a) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	int fd;

	assert_int_equal(send(vmm_end, &q, sizeof(q), 0), sizeof(q));
	assert_int_equal(recvmsg(vmm_end, &m, MSG_CMSG_CLOEXEC), sizeof(a));
	assert_int_equal(a.cookie, 7);
	assert_int_equal(a.error, 0);
	assert_non_null(CMSG_FIRSTHDR(&m));
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(fd));
	assert_true(has_connection(lfd));
	close(fd);
}

static void expect_confined(pid_t pid, unsigned uid)
{
	char v[128], want[64];

	status_field(pid, "Seccomp", v, sizeof(v));
	assert_string_equal(v, "2");
	status_field(pid, "NoNewPrivs", v, sizeof(v));
	assert_string_equal(v, "1");
	status_field(pid, "CapEff", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	status_field(pid, "CapPrm", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	status_field(pid, "CapAmb", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	/* Only a process with CAP_SETPCAP can shrink its bounding set. */
	if (geteuid() == 0) {
		status_field(pid, "CapBnd", v, sizeof(v));
		assert_string_equal(v, "0000000000000000");
	}
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", uid, uid, uid, uid);
	status_field(pid, "Uid", v, sizeof(v));
	assert_string_equal(v, want);
}

static void reaped_once_the_vmm_end_closes(pid_t pid, int vmm_end)
{
	int status;

	close(vmm_end);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void the_standalone_broker_is_confined_as_the_invoking_user(void **state)
{
	int lfd = listener("v.sock_5678"), vmm_end;
	char path[128];
	pid_t pid;

	(void)state;
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	assert_int_equal(vj_vsock_broker_start(path, &vmm_end, &pid), 0);
	round_trip(vmm_end, lfd);
	expect_confined(pid, (unsigned)getuid());
	reaped_once_the_vmm_end_closes(pid, vmm_end);
	close(lfd);
}

static void the_launcher_broker_is_confined_as_the_sandbox(void **state)
{
	struct vj_broker b;
	struct vj_err e;
	int lfd = listener("v.sock_5678"), vmm_end;
	char path[128];

	(void)state;
	if (geteuid() != 0)
		skip(); /* it changes ids */
	/* The sandbox's ids must reach the socket, as the launcher's
	 * sockfile.c makes them. */
	snprintf(path, sizeof(path), "%s/v.sock_5678", dir);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	assert_int_equal(vj_broker_start(&b, path, 65534, 65534, -1, &vmm_end, &e), 0);
	round_trip(vmm_end, lfd);
	expect_confined(b.pid, 65534);
	vj_broker_stop(&b);
	close(vmm_end);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_socket_at_the_port_s_name_is_connected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			a_symbolic_link_at_the_port_s_name_is_refused_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(a_file_that_is_not_a_socket_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_missing_socket_is_enoent, setup, teardown),
		cmocka_unit_test_setup_teardown(the_filter_lets_the_broker_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(the_filter_allows_each_call_of_a_connection, setup,
						teardown),
		cmocka_unit_test_setup_teardown(the_filter_kills_every_other_open_stat_and_socket,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			the_standalone_broker_is_confined_as_the_invoking_user, setup, teardown),
		cmocka_unit_test_setup_teardown(the_launcher_broker_is_confined_as_the_sandbox,
						setup, teardown),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
