/*
 * virtio-vsock (stream sockets) with the host side on AF_UNIX, in
 * Firecracker's convention:
 *  - host to guest: a host program connects to the listening socket
 *    (cfg->uds), writes "CONNECT <port>\n" and, once the guest accepts,
 *    reads "OK <host port>\n"; then the stream is the connection;
 *  - guest to host: a guest connection to CID 2, port P reaches the socket
 *    "<uds path>_P", connected by the broker (common/vsock_broker.h).
 *
 * Flow control is the spec's credit scheme both ways: the device holds up
 * to VJ_VSOCK_BUF_ALLOC bytes per connection that the host socket has not
 * taken yet, advertises that as buf_alloc with fwd_cnt, and sends a credit
 * update when the guest's view of that space falls below half; it reads
 * from a host socket only as much as the guest's buf_alloc/fwd_cnt allow
 * and asks for credit when it has none. A guest that sends beyond its
 * credit, or speaks out of turn, gets its connection reset (RST).
 *
 * Queues: 0 receive (device to guest), 1 transmit, 2 event (a transport
 * reset after a restore: vj_vsock_transport_reset()).
 *
 * The device is four files: this one (the queues), vsock_packet.c (header
 * checks), vsock_conn.c (each connection's state and credit) and
 * vsock_host.c (the host sockets and the broker).
 */
#ifndef VJ_VIRTIO_VSOCK_H
#define VJ_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_vsock.h>

#include "config.h"
#include "virtio/mmio.h"
#include "virtio/vsock_packet.h"

#define VJ_VSOCK_QUEUE_SIZE 256
#define VJ_VSOCK_RXQ 0
#define VJ_VSOCK_TXQ 1
#define VJ_VSOCK_EVQ 2
#define VJ_VSOCK_MAX_CONNS 64
#define VJ_VSOCK_RST_BACKLOG 32 /* resets owed for unknown connections */

struct vj_vm;
struct vj_vsock_conn;

struct vj_vsock {
	struct vj_virtio_dev vdev;
	const struct vj_vsock_config *cfg;
	struct virtio_vsock_config config;
	int listen_fd; /* host connections arrive here */
	int broker_fd; /* -1: guest-initiated connections are refused */
	struct vj_loop *loop;
	struct vj_loop_handler listen_h, broker_h;
	struct vj_vsock_conn *conns; /* VJ_VSOCK_MAX_CONNS entries */
	unsigned next_conn;          /* round-robin start for receive work */
	uint32_t next_port;          /* host-side ports of host connections */
	uint32_t next_cookie;        /* broker requests */
	struct { uint32_t src_port, dst_port; } rst[VJ_VSOCK_RST_BACKLOG];
	unsigned nrst;
	bool reset_event_owed; /* a transport reset waits for an event buffer */
	struct vj_chain chain;
	struct iovec iov[VJ_VSOCK_QUEUE_SIZE];
};

/* Standalone mode (no socket handed over): creates, binds and listens on
 * cfg->uds.name (a stale socket there is replaced, anything else is an
 * error) and starts the broker for "<uds>_<port>". */
int vj_vsock_open_inputs(struct vj_vsock_config *cfg);

int vj_vsock_create(struct vj_vsock *v, const struct vj_vsock_config *cfg,
		    const struct vj_guest_mem *mem);
int vj_vsock_attach(struct vj_vsock *v, struct vj_vm *vm, unsigned slot);
/* The part of attach that needs no KVM: host sockets on the event loop. */
int vj_vsock_start(struct vj_vsock *v, struct vj_loop *loop);
void vj_vsock_destroy(struct vj_vsock *v);

/*
 * After a restore: no connection of the saved VM can be carried over (its
 * host sockets belong to another process, or are gone), so every
 * connection is dropped, its host socket closed (its peer sees the end),
 * and the guest is sent VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on the event
 * queue (virtio 1.2, 5.10.6.7), on which the driver re-reads its CID and
 * resets its sockets. A driver that has no event buffer posted yet gets
 * the event with the first one. Takes the device lock.
 */
void vj_vsock_transport_reset(struct vj_vsock *v);

/* Lock held: sends what is owed and what the host sockets have, while
 * the guest gives receive buffers (vsock_host.c ends its handlers so). */
void vj_vsock_rx_flush(struct vj_vsock *v);

#endif
