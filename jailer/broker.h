/*
 * The vsock connection broker of a jailed VMM. A guest connecting to host
 * port P must reach the AF_UNIX socket "<uds>_P", but the VMM can neither
 * create sockets (seccomp) nor name paths (empty root), so it asks this
 * broker over a SOCK_SEQPACKET pair (protocol: common/vsock_broker_proto.h)
 * and gets the connected socket back through SCM_RIGHTS.
 *
 * The broker is a small process of the launcher's, outside the jail but
 * hardly more able than the VMM: its working directory is the socket
 * directory and it connects relative to it, never through a symbolic link
 * (vj_vsock_broker_connect()), it runs as the sandbox's uid/gid with no
 * capabilities, and its own seccomp filter allows little beyond an O_PATH
 * open, socket(AF_UNIX) and connect(). It ends when the VMM's end closes,
 * or with the launcher.
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

/* The broker's seccomp filter, loaded into the calling thread (exposed
 * for the test that proves it); 0 or -errno. */
int vj_broker_load_filter(void);

/* Kills (if still there) and reaps it. Safe to call when never started. */
void vj_broker_stop(struct vj_broker *b);

#endif
