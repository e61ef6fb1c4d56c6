#include "virtio/vsock_broker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

#define BROKER_FD 3

static int connect_port(const char *uds, uint32_t port, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", uds, port) >=
	    sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	*out = fd;
	return 0;
}

static _Noreturn void serve(const char *uds)
{
	for (;;) {
		struct vj_vsock_broker_request q;
		ssize_t n = recv(BROKER_FD, &q, sizeof(q), 0);
		int fd = -1, r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0); /* the VMM is gone */
		if (n != (ssize_t)sizeof(q))
			continue;
		r = connect_port(uds, q.port, &fd);
		vj_vsock_broker_send_answer(BROKER_FD, q.cookie, r, fd);
		if (fd >= 0)
			close(fd);
	}
}

int vj_vsock_broker_start(const char *uds_path, int *fd)
{
	cleanup_fd int vmm_end = -1, broker_end = -1;
	int sv[2];
	pid_t parent = getpid(), pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	vmm_end = sv[0];
	broker_end = sv[1];
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t none;
		/* Nothing of the VMM's stays with the broker but its socket. */
		if (dup2(broker_end, BROKER_FD) < 0 || close_range(BROKER_FD + 1, ~0u, 0) < 0)
			_exit(1);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		serve(uds_path);
	}
	*fd = vj_steal_fd(&vmm_end);
	return 0;
}
