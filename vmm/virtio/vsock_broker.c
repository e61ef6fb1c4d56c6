#include "virtio/vsock_broker.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "parse.h"

#define BROKER_FD 3
#define DIR_FD 4

static _Noreturn void serve(const char *name)
{
	for (;;) {
		struct vj_vsock_broker_request q;
		ssize_t n = recv(BROKER_FD, &q, sizeof(q), 0);
		int fd;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0); /* the VMM is gone */
		if (n != (ssize_t)sizeof(q))
			continue;
		fd = vj_vsock_broker_connect(DIR_FD, name, q.port);
		vj_vsock_broker_send_answer(BROKER_FD, q.cookie, fd < 0 ? fd : 0, fd);
		if (fd >= 0)
			close(fd);
	}
}

int vj_vsock_broker_start(const char *uds_path, int *fd)
{
	cleanup_fd int vmm_end = -1, broker_end = -1, dirfd = -1;
	char dir[VJ_PATH_MAX], name[VJ_PATH_MAX];
	int sv[2];
	pid_t parent = getpid(), pid;

	/* Like the launcher's broker: "<name>_<port>" in the socket's
	 * directory, opened once, never through a symbolic link there. */
	if (vj_strlcpy_checked(dir, uds_path, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	snprintf(name, sizeof(name), "%s", basename(dir));
	snprintf(dir, sizeof(dir), "%s", uds_path);
	dirfd = open(dirname(dir), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	vmm_end = sv[0];
	broker_end = sv[1];
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t none;
		int d = fcntl(dirfd, F_DUPFD_CLOEXEC, 10);
		/* Nothing of the VMM's stays with the broker but its socket
		 * and the directory. */
		if (d < 0 || dup2(broker_end, BROKER_FD) < 0 || dup2(d, DIR_FD) < 0 ||
		    close_range(DIR_FD + 1, ~0u, 0) < 0)
			_exit(1);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		serve(name);
	}
	*fd = vj_steal_fd(&vmm_end);
	return 0;
}
