#include "virtio/vsock_packet.h"

struct virtio_vsock_hdr vj_vsock_pkt_header(uint32_t guest_cid, uint32_t src_port,
					    uint32_t dst_port, uint16_t op)
{
	return (struct virtio_vsock_hdr){
		.src_cid = VJ_VSOCK_HOST_CID, .dst_cid = guest_cid,
		.src_port = src_port, .dst_port = dst_port,
		.type = VIRTIO_VSOCK_TYPE_STREAM, .op = op, .buf_alloc = VJ_VSOCK_BUF_ALLOC,
	};
}

enum vj_vsock_pkt_verdict vj_vsock_pkt_parse(const struct vj_chain *ch, uint32_t guest_cid,
					     struct virtio_vsock_hdr *h)
{
	/* A device-writable part has no place in a packet to the host. */
	if (ch->err || ch->writable || vj_chain_read(ch, 0, h, sizeof(*h)) != sizeof(*h))
		return VJ_VSOCK_PKT_DROP;
	/* The CIDs are 64 bits on the wire: a high half set is another CID. */
	if (h->src_cid != guest_cid || h->dst_cid != VJ_VSOCK_HOST_CID)
		return VJ_VSOCK_PKT_DROP;
	if (h->len != ch->readable - sizeof(*h) || h->len > VJ_VSOCK_PKT_MAX ||
	    h->type != VIRTIO_VSOCK_TYPE_STREAM)
		return VJ_VSOCK_PKT_BAD;
	return VJ_VSOCK_PKT_OK;
}
