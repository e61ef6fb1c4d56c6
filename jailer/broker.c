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

#include "cleanup.h"
#include "clone.h"
#include "creds.h"
#include "policy.h"
#include "resources.h"
#include "vsock_broker.h"

struct ids {
	uint32_t uid, gid;
};

/* In the broker's process: the sandbox's ids, no capabilities, NoNewPrivs. */
static int drop_to_sandbox_ids(void *arg)
{
	const struct ids *ids = arg;
	struct vj_err e;

	return vj_creds_drop(ids->uid, ids->gid, &e);
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
	if (pid == 0) {
		struct ids ids = { uid, gid };
		vj_vsock_broker_main(broker_end, dirfd, basename(base), parent, drop_to_sandbox_ids,
				     &ids);
	}
	b->pid = pid;
	*vmm_end_out = vj_steal_fd(&vmm_end);
	return 0;
}

void vj_broker_stop(struct vj_broker *b)
{

	if (b->pidfd < 0)
		return;
	pidfd_send_signal(b->pidfd, SIGKILL, NULL, 0);
	(void)vj_pidfd_wait(b->pidfd, -1);
	close(b->pidfd);
	b->pidfd = -1;
	b->pid = 0;
}
