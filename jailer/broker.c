#include "broker.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <seccomp.h>

#include "cleanup.h"
#include "clone.h"
#include "creds.h"
#include "policy.h"
#include "resources.h"
#include "vsock_broker_proto.h"

#define SOCK_FD 3
#define DIR_FD 4

/*
 * What the broker may do once it serves: receive a request, open the
 * socket file O_PATH relative to its working directory and look at its
 * type (vj_vsock_broker_connect()), make one AF_UNIX stream socket,
 * connect it, send it back, close both.
 */
int vj_broker_load_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r;

	if (!ctx)
		return -ENOMEM;
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(recvfrom), 0)) < 0 ||
	    /* dirfd is an int: AT_FDCWD in its low 32 bits, however extended */
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 2,
				  SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, (uint32_t)AT_FDCWD),
				  SCMP_A2(SCMP_CMP_EQ, VJ_VSOCK_BROKER_OPEN_FLAGS))) < 0 ||
	    /* fstat() of that descriptor (glibc's is fstatat(fd, "", AT_EMPTY_PATH)) */
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
				  SCMP_A3(SCMP_CMP_EQ, AT_EMPTY_PATH))) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				  SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
				  SCMP_A1(SCMP_CMP_EQ, VJ_VSOCK_BROKER_CONN_TYPE))) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(connect), 0)) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendmsg), 0)) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(close), 0)) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(exit_group), 0)) < 0)
		goto out;
	r = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return r;
}

static _Noreturn void serve(const char *name)
{
	for (;;) {
		struct vj_vsock_broker_request q;
		ssize_t n = recv(SOCK_FD, &q, sizeof(q), 0);
		int fd;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0); /* the VMM is gone */
		if (n != (ssize_t)sizeof(q))
			continue;
		/* Relative to the working directory: the socket directory. */
		fd = vj_vsock_broker_connect(AT_FDCWD, name, q.port);
		vj_vsock_broker_send_answer(SOCK_FD, q.cookie, fd < 0 ? fd : 0, fd);
		if (fd >= 0)
			close(fd);
	}
}

/* In the forked child: from the launcher's privileges down to serving. */
static _Noreturn void broker_main(int sock, int dirfd, const char *name, uint32_t uid, uint32_t gid,
				  pid_t parent)
{
	int s = fcntl(sock, F_DUPFD_CLOEXEC, 10), d = fcntl(dirfd, F_DUPFD_CLOEXEC, 10);
	sigset_t none;
	struct vj_err e;

	if (s < 0 || d < 0 || dup2(s, SOCK_FD) < 0 || dup2(d, DIR_FD) < 0 ||
	    close_range(DIR_FD + 1, ~0u, 0) < 0)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The directory first: once the ids change it may not be searchable. */
	if (fchdir(DIR_FD) < 0 || close(DIR_FD) < 0 || vj_creds_drop(uid, gid, &e) < 0)
		_exit(1);
	/*
	 * Both after the id change, which clears the parent-death signal and
	 * leaves the process dumpable when the host's fs.suid_dumpable says
	 * so: a dumpable broker would let any process of the sandbox's uid
	 * into its /proc/PID/fd and ptrace it. The filter allows no prctl().
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || vj_broker_load_filter() < 0)
		_exit(1);
	serve(name);
}

int vj_broker_start(struct vj_broker *b, const char *uds_path, uint32_t uid, uint32_t gid,
		    int cgroup_fd, int *vmm_end_out, struct vj_err *e)
{
	cleanup_fd int vmm_end = -1, broker_end = -1, dirfd = -1;
	char dir[VJ_PATH_MAX], base[VJ_PATH_MAX];
	pid_t parent = getpid(), pid;
	int sv[2];

	b->pid = 0;
	b->pidfd = -1;
	snprintf(dir, sizeof(dir), "%s", uds_path);
	snprintf(base, sizeof(base), "%s", uds_path);
	dirfd = vj_open_tenant_path(dirname(dir), O_RDONLY | O_DIRECTORY, 0);
	if (dirfd < 0)
		return vj_fail_errno(e, dirfd, "vsock broker: open the directory of %s", uds_path);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return vj_fail_errno(e, -errno, "vsock broker: socketpair");
	vmm_end = sv[0];
	broker_end = sv[1];
	pid = vj_clone(0, cgroup_fd, &b->pidfd);
	if (pid < 0) {
		b->pidfd = -1;
		return vj_fail_errno(e, pid, "vsock broker: clone3");
	}
	if (pid == 0)
		broker_main(broker_end, dirfd, basename(base), uid, gid, parent);
	b->pid = pid;
	*vmm_end_out = vj_steal_fd(&vmm_end);
	return 0;
}

void vj_broker_stop(struct vj_broker *b)
{
	siginfo_t si;

	if (b->pidfd < 0)
		return;
	pidfd_send_signal(b->pidfd, SIGKILL, NULL, 0);
	while (waitid(P_PIDFD, (id_t)b->pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	close(b->pidfd);
	b->pidfd = -1;
	b->pid = 0;
}
