/*
 * virtio-vsock, host side: the AF_UNIX sockets behind the connections.
 *  - the listening socket, where host programs connect and write
 *    "CONNECT <port>\n" (Firecracker's convention);
 *  - each connection's socket, whose events become work for the device;
 *  - the broker (common/vsock_broker.h), asked for the "<uds>_<port>"
 *    socket of each connection the guest opens, whose answers carry it.
 * Every handler here takes the device lock and ends by sending what it
 * made owed to the guest (vj_vsock_rx_flush()).
 */
#ifndef VJ_VIRTIO_VSOCK_HOST_H
#define VJ_VIRTIO_VSOCK_HOST_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/virtio_vsock.h>

struct vj_vsock;

/* sendmsg without blocking or SIGPIPE: bytes sent, 0 when the socket is
 * full, -1 on error (errno). */
ssize_t vj_vsock_host_send(int fd, const struct iovec *iov, int n);

/* Puts the listening socket, the broker and every connection's handler
 * on v->loop. */
int vj_vsock_host_start(struct vj_vsock *v);

/* The guest asked to connect (REQUEST in h): a connection in CONNECTING
 * and a request to the broker; a reset when there is no broker or no
 * room. */
void vj_vsock_host_connect(struct vj_vsock *v, const struct virtio_vsock_hdr *h);

#endif
