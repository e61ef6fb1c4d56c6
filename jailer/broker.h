/*
 * The launcher's start of the vsock connection broker of a jailed VMM
 * (common/vsock_broker.h: what the broker does, and how it is confined,
 * in both modes). The launcher's part: the socket directory opened as a
 * tenant's path, the process born in the sandbox's cgroup with a pidfd,
 * and the drop to the sandbox's uid/gid before the broker serves.
 */
#ifndef VJ_BROKER_H
#define VJ_BROKER_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct vj_broker {
	pid_t pid; /* 0: not started */
	int pidfd;
};

/* Starts the broker for "<uds_path>_<port>" sockets, in the cgroup v2
 * directory cgroup_fd when >= 0 (else the caller moves it into the
 * sandbox's v1 cgroups); *vmm_end gets the VMM's end of its socket pair
 * (close-on-exec). */
int vj_broker_start(struct vj_broker *b, const char *uds_path, uint32_t uid, uint32_t gid,
		    int cgroup_fd, int *vmm_end, struct vj_err *e);

/* Kills (if still there) and reaps it. Safe to call when never started. */
void vj_broker_stop(struct vj_broker *b);

#endif
