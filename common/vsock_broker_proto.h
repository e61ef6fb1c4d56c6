/*
 * Wire format between vmjail-vmm's virtio-vsock device and a connection
 * broker (vsock_broker.h; started by the launcher, or by the VMM itself in
 * standalone mode).
 *
 * A jailed VMM may neither create sockets nor name paths (its seccomp
 * table has no socket/connect, its root is empty), yet a guest connecting
 * to host port P must reach the AF_UNIX socket "<uds path>_P"
 * (Firecracker's convention). So the VMM asks a broker, over one end of a
 * SOCK_SEQPACKET pair: a request {cookie, port}, an answer {cookie,
 * error} carrying the connected, non-blocking stream socket through
 * SCM_RIGHTS when error is 0. Answers come in request order.
 */
#ifndef VJ_VSOCK_BROKER_PROTO_H
#define VJ_VSOCK_BROKER_PROTO_H

#include <fcntl.h>
#include <stdint.h>
#include <sys/socket.h>

/* What vj_vsock_broker_connect() opens the socket file with, and the
 * type of the socket it connects (the broker allows exactly
 * these in its seccomp filter, vsock_broker.c). */
#define VJ_VSOCK_BROKER_OPEN_FLAGS (O_PATH | O_NOFOLLOW | O_CLOEXEC)
#define VJ_VSOCK_BROKER_CONN_TYPE (SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC)

struct vj_vsock_broker_request {
	uint32_t cookie;
	uint32_t port;
};

struct vj_vsock_broker_answer {
	uint32_t cookie;
	int32_t error; /* 0 (socket attached) or -errno */
};

/* Sends one answer; error 0 attaches fd (SCM_RIGHTS). */
void vj_vsock_broker_send_answer(int sock, uint32_t cookie, int error, int fd);

/*
 * Connects a non-blocking stream socket to "<name>_<port>" in the
 * directory dirfd (or AT_FDCWD), as the broker does: the name is opened
 * O_PATH | O_NOFOLLOW, which gives the symbolic link itself rather than
 * what it points to, must be a socket, and is reached through
 * /proc/self/fd/N of that descriptor, which names the opened file itself
 * whatever happens to the name meanwhile. Returns the connected socket
 * (close-on-exec) or -errno: -ECONNREFUSED for anything but a socket, a
 * symbolic link included, as connect(2) says of a file.
 */
int vj_vsock_broker_connect(int dirfd, const char *name, uint32_t port);

#endif
