/*
 * virtio-vsock packets: the header the device puts before everything it
 * sends, and the checks every packet from the guest passes before the
 * device acts on it. No state, no sockets: a header in, a verdict out.
 */
#ifndef VJ_VIRTIO_VSOCK_PACKET_H
#define VJ_VIRTIO_VSOCK_PACKET_H

#include <stdint.h>
#include <linux/virtio_vsock.h>

#include "virtio/chain.h"

#define VJ_VSOCK_HOST_CID 2
#define VJ_VSOCK_BUF_ALLOC (64u * 1024) /* per connection, guest to host */
#define VJ_VSOCK_PKT_MAX (64u * 1024)   /* payload of one packet */
#define VJ_VSOCK_HDR_LEN sizeof(struct virtio_vsock_hdr)

enum vj_vsock_pkt_verdict {
	VJ_VSOCK_PKT_OK,
	/* Not a packet from our guest to the host (or no readable header):
	 * nothing answers it. */
	VJ_VSOCK_PKT_DROP,
	/* Ours but malformed (a length that disagrees with the payload or
	 * exceeds VJ_VSOCK_PKT_MAX, a type other than stream): the
	 * connection it names is reset. */
	VJ_VSOCK_PKT_BAD,
};

/* A stream packet from the host (CID 2) to guest_cid, advertising
 * VJ_VSOCK_BUF_ALLOC; len, flags and fwd_cnt are the caller's. */
struct virtio_vsock_hdr vj_vsock_pkt_header(uint32_t guest_cid, uint32_t src_port,
					    uint32_t dst_port, uint16_t op);

/* Copies the header of a transmit chain into *h (when it has one) and
 * judges it. The operation is not judged here: what an operation may do
 * depends on the connection it names. */
enum vj_vsock_pkt_verdict vj_vsock_pkt_parse(const struct vj_chain *ch, uint32_t guest_cid,
					     struct virtio_vsock_hdr *h);

#endif
