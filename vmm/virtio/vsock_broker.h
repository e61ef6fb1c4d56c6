/*
 * Connection broker for virtio-vsock's guest-initiated connections.
 *
 * A jailed VMM may neither create sockets nor name paths (its seccomp
 * table has no socket/connect, its root is empty), yet a guest connecting
 * to host port P must reach the AF_UNIX socket "<uds path>_P"
 * (Firecracker's convention). So the VMM asks a broker, over one end of a
 * SOCK_SEQPACKET pair: a request {cookie, port}, an answer {cookie,
 * error} carrying the connected, non-blocking stream socket through
 * SCM_RIGHTS when error is 0. Answers come in request order.
 *
 * In standalone mode vmjail-vmm forks this broker before it does anything
 * else (no guest memory, no threads, no other descriptors in the child).
 * The launcher can run the same broker, or its own that speaks this
 * protocol, and pass the VMM end in struct vj_vsock_config.broker.
 */
#ifndef VJ_VIRTIO_VSOCK_BROKER_H
#define VJ_VIRTIO_VSOCK_BROKER_H

#include <stdint.h>

struct vj_vsock_broker_request {
	uint32_t cookie;
	uint32_t port;
};

struct vj_vsock_broker_answer {
	uint32_t cookie;
	int32_t error; /* 0 (socket attached) or -errno */
};

/* Forks the broker for sockets "<uds_path>_<port>"; *fd gets the VMM's
 * end (close-on-exec). The broker ends when that end is closed. */
int vj_vsock_broker_start(const char *uds_path, int *fd);

#endif
