/*
 * virtio-vsock from a small polling driver that keeps one connection at a
 * time, with Linux's manners: it answers a REQUEST with a RESPONSE, a
 * CREDIT_REQUEST with a CREDIT_UPDATE, and a SHUTDOWN of both directions
 * with a RST. Its receive space is small (8 KiB) so that the device's
 * credit accounting matters.
 *   1. the host peer connects to port 1234 (CONNECT 1234); the guest
 *      echoes every byte + 1 until the host stops sending;
 *   2. the guest connects to host port 5678, says hello, reads the answer;
 *   3. the guest connects to host port 5679, where nobody listens: reset.
 */
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>

#include "vkit.h"
#include "vvsock.h"

#define HDR ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define RX_BUFS 16
#define RX_DATA 4096
#define BUF_ALLOC 8192u
#define HOST_CID 2

struct vs {
	struct vio_dev dev;
	struct vio_q rx, tx, ev;
	uint8_t *rxbuf[RX_BUFS];
	uint8_t *txhdr, *txdata;
	uint64_t cid;
};

struct conn {
	uint32_t local, peer;
	uint32_t fwd_cnt;                        /* bytes we consumed */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	uint8_t pending[BUF_ALLOC];              /* received, not yet echoed */
	uint32_t npending;
	bool peer_done;                          /* SHUTDOWN(SEND) seen */
};

static struct vs s;

static void rx_post(uint16_t i)
{
	struct vio_buf b = VIO_BUF(s.rxbuf[i], HDR + RX_DATA, true);

	s.rx.next_desc = i;
	vio_submit(&s.rx, &b, 1);
}

static void vs_open(void)
{
	if (!vio_find(VIRTIO_ID_VSOCK, 0, &s.dev))
		fail("no virtio-vsock device announced");
	if (!vio_init(&s.dev, 0))
		fail("FEATURES_OK refused");
	if (!vio_queue(&s.dev, 0, &s.rx, 32) || !vio_queue(&s.dev, 1, &s.tx, 32) ||
	    !vio_queue(&s.dev, 2, &s.ev, 8))
		fail("queue set-up refused");
	s.cid = vio_config64(&s.dev, 0);
	vio_driver_ok(&s.dev);
	for (uint16_t i = 0; i < RX_BUFS; i++) {
		s.rxbuf[i] = vio_alloc(HDR + RX_DATA, 64);
		rx_post(i);
	}
	vio_kick(&s.rx);
	s.txhdr = vio_alloc(HDR, 64);
	s.txdata = vio_alloc(RX_DATA, 64);
}

static void vs_send(struct conn *c, uint16_t op, const void *data, uint32_t len, uint32_t flags)
{
	struct virtio_vsock_hdr *h = (void *)s.txhdr;
	struct vio_buf b[2] = { VIO_BUF(s.txhdr, HDR, false), VIO_BUF(s.txdata, len, false) };

	*h = (struct virtio_vsock_hdr){
		.src_cid = s.cid, .dst_cid = HOST_CID, .src_port = c->local,
		.dst_port = c->peer, .len = len, .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op,
		.flags = flags, .buf_alloc = BUF_ALLOC, .fwd_cnt = c->fwd_cnt,
	};
	memcpy(s.txdata, data, len);
	vio_submit(&s.tx, b, len ? 2 : 1);
	vio_kick(&s.tx);
	if (!vio_wait_used(&s.tx, 0, 0))
		fail("transmit buffer never returned (op %u)", op);
	c->tx_cnt += len;
}

/* The next packet; its data is copied out and the buffer re-posted. */
static struct virtio_vsock_hdr vs_recv(uint8_t *data, uint32_t cap, unsigned seconds)
{
	struct virtio_vsock_hdr h;
	uint64_t deadline = deadline_after(seconds);
	uint32_t id, len;

	while (!vio_used_pending(&s.rx)) {
		if (past(deadline))
			fail("no packet from the device in %u s", seconds);
		cpu_relax();
	}
	vio_wait_used(&s.rx, &id, &len);
	if (id >= RX_BUFS || len < HDR)
		fail("receive buffer %u came back with %u bytes", id, len);
	memcpy(&h, s.rxbuf[id], HDR);
	if (h.src_cid != HOST_CID || h.dst_cid != s.cid || h.type != VIRTIO_VSOCK_TYPE_STREAM)
		fail("packet from cid %lu to cid %lu type %u", (unsigned long)h.src_cid,
		     (unsigned long)h.dst_cid, h.type);
	if (h.len != len - HDR || h.len > cap)
		fail("packet op %u claims %u data bytes, buffer has %u", h.op, h.len, len - HDR);
	memcpy(data, s.rxbuf[id] + HDR, h.len);
	rx_post((uint16_t)id);
	vio_kick(&s.rx);
	return h;
}

static uint32_t peer_credit(const struct conn *c)
{
	return c->peer_buf_alloc - (c->tx_cnt - c->peer_fwd_cnt);
}

/* Common handling of a packet for connection c; returns its op. */
static uint16_t on_packet(struct conn *c, const struct virtio_vsock_hdr *h, const uint8_t *d)
{
	if (h->src_port != c->peer || h->dst_port != c->local)
		fail("packet op %u for ports %u->%u, connection is %u->%u", h->op, h->src_port,
		     h->dst_port, c->peer, c->local);
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RW:
		if (c->npending + h->len > BUF_ALLOC)
			fail("device sent %u bytes beyond our credit", c->npending + h->len - BUF_ALLOC);
		memcpy(c->pending + c->npending, d, h->len);
		c->npending += h->len;
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		vs_send(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0, 0);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		c->peer_done = true;
		break;
	}
	return h->op;
}

static uint8_t packet_data[RX_DATA];

/* Phase 1: echo the host's stream, every byte + 1. */
static uint32_t echo_host_stream(void)
{
	static struct conn c;
	struct virtio_vsock_hdr h = vs_recv(packet_data, RX_DATA, 30);
	uint32_t echoed = 0;

	if (h.op != VIRTIO_VSOCK_OP_REQUEST || h.dst_port != VVSOCK_GUEST_PORT)
		fail("first packet op %u to port %u, want a REQUEST to %u", h.op, h.dst_port,
		     VVSOCK_GUEST_PORT);
	c = (struct conn){ .local = VVSOCK_GUEST_PORT, .peer = h.src_port,
			   .peer_buf_alloc = h.buf_alloc, .peer_fwd_cnt = h.fwd_cnt };
	vs_send(&c, VIRTIO_VSOCK_OP_RESPONSE, 0, 0, 0);
	while (!c.peer_done || c.npending) {
		/* Echo what the host's credit allows, in packets of at most
		 * 4 KiB; what is echoed counts as consumed. */
		while (c.npending && peer_credit(&c)) {
			uint32_t n = c.npending, credit = peer_credit(&c);
			uint8_t out[RX_DATA];
			if (n > credit)
				n = credit;
			if (n > RX_DATA)
				n = RX_DATA;
			for (uint32_t i = 0; i < n; i++)
				out[i] = (uint8_t)(c.pending[i] + 1);
			c.fwd_cnt += n;
			vs_send(&c, VIRTIO_VSOCK_OP_RW, out, n, 0);
			memcpy(c.pending, c.pending + n, c.npending - n);
			c.npending -= n;
			echoed += n;
		}
		if (c.peer_done && !c.npending)
			break;
		h = vs_recv(packet_data, RX_DATA, 30);
		if (on_packet(&c, &h, packet_data) == VIRTIO_VSOCK_OP_RST)
			fail("connection reset after %u bytes echoed", echoed);
	}
	/* Close as Linux does: shut both ways, wait for the device's reset. */
	vs_send(&c, VIRTIO_VSOCK_OP_SHUTDOWN, 0, 0,
		VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	do
		h = vs_recv(packet_data, RX_DATA, 10);
	while (on_packet(&c, &h, packet_data) != VIRTIO_VSOCK_OP_RST);
	return echoed;
}

/* Phase 2: connect to the host, say hello, read the answer. */
static void talk_to_host(void)
{
	static struct conn c;
	static char got[64];
	uint32_t ngot = 0;
	struct virtio_vsock_hdr h;

	c = (struct conn){ .local = 5000, .peer = VVSOCK_HOST_PORT };
	vs_send(&c, VIRTIO_VSOCK_OP_REQUEST, 0, 0, 0);
	h = vs_recv(packet_data, RX_DATA, 10);
	if (on_packet(&c, &h, packet_data) != VIRTIO_VSOCK_OP_RESPONSE)
		fail("connect to host port %u: op %u, want RESPONSE", VVSOCK_HOST_PORT, h.op);
	vs_send(&c, VIRTIO_VSOCK_OP_RW, VVSOCK_HELLO, sizeof(VVSOCK_HELLO) - 1, 0);
	while (!c.peer_done) {
		h = vs_recv(packet_data, RX_DATA, 10);
		if (on_packet(&c, &h, packet_data) == VIRTIO_VSOCK_OP_RST)
			fail("host connection reset");
	}
	ngot = c.npending < sizeof(got) - 1 ? c.npending : sizeof(got) - 1;
	memcpy(got, c.pending, ngot);
	if (ngot != sizeof(VVSOCK_REPLY) - 1 || memcmp(got, VVSOCK_REPLY, ngot))
		fail("host answered %u bytes \"%s\"", ngot, got);
	/* The host closed both ways: answer with a reset, as Linux does. */
	if (!(h.flags & VIRTIO_VSOCK_SHUTDOWN_RCV))
		fail("host close came as SHUTDOWN flags %u, want both", h.flags);
	vs_send(&c, VIRTIO_VSOCK_OP_RST, 0, 0, 0);
}

/* Phase 3: nobody listens there. */
static void connect_refused(void)
{
	static struct conn c;
	struct virtio_vsock_hdr h;

	c = (struct conn){ .local = 5001, .peer = VVSOCK_NOBODY_PORT };
	vs_send(&c, VIRTIO_VSOCK_OP_REQUEST, 0, 0, 0);
	h = vs_recv(packet_data, RX_DATA, 10);
	if (on_packet(&c, &h, packet_data) != VIRTIO_VSOCK_OP_RST)
		fail("connect to a port nobody listens on: op %u, want RST", h.op);
}

void scenario_vsock(void)
{
	uint32_t echoed;

	vs_open();
	if (s.cid != VVSOCK_CID)
		fail("guest CID %lu, want %u", (unsigned long)s.cid, VVSOCK_CID);
	echoed = echo_host_stream();
	talk_to_host();
	connect_refused();
	pass("cid=%lu echoed=%u", (unsigned long)s.cid, echoed);
}

/* ---- the hostile scenarios' kit (evil.c) -------------------------------- */

static struct vio_dev *kv_dev(void)
{
	return &s.dev;
}

static struct vio_q *kv_queue(void)
{
	return &s.tx;
}

/* A malformed packet is dropped without an answer: had the device read
 * this REQUEST, it would answer port 6000 with a reset, and the health
 * check, expecting a packet for port 5001, would see it first. */
static void kv_bad(enum evil_shape shape)
{
	struct vring_desc *d = s.tx.desc, *t = s.tx.indirect;
	struct virtio_vsock_hdr *h = (void *)s.txhdr;
	const uint16_t n = VRING_DESC_F_NEXT;
	uint32_t len;

	*h = (struct virtio_vsock_hdr){ .src_cid = s.cid, .dst_cid = HOST_CID, .src_port = 6000,
					.dst_port = VVSOCK_NOBODY_PORT, .len = 16,
					.type = VIRTIO_VSOCK_TYPE_STREAM,
					.op = VIRTIO_VSOCK_OP_REQUEST, .buf_alloc = BUF_ALLOC };
	d[0] = (struct vring_desc){ (uint64_t)s.txhdr, HDR, n, 1 };
	switch (shape) {
	case EVIL_OUTSIDE_RAM:
		d[1] = (struct vring_desc){ EVIL_NOT_RAM, 16, 0, 0 };
		break;
	case EVIL_LEN_NEAR_4G:
		h->len = EVIL_LEN_4G;
		d[1] = (struct vring_desc){ (uint64_t)s.txdata, EVIL_LEN_4G, 0, 0 };
		break;
	case EVIL_LOOP:
		d[1] = (struct vring_desc){ (uint64_t)s.txdata, 16, n, 0 };
		break;
	case EVIL_NESTED:
		t[0] = (struct vring_desc){ (uint64_t)t, 16, VRING_DESC_F_INDIRECT, 0 };
		d[0] = (struct vring_desc){ (uint64_t)t, 16, VRING_DESC_F_INDIRECT, 0 };
		break;
	}
	len = kit_submit_raw(&s.tx, 0);
	if (len)
		fail("malformed transmit chain: used length %u", len);
}

const struct kit kit_vsock = { "vsock", VIRTIO_ID_VSOCK, 3, vs_open, kv_dev, kv_queue, kv_bad,
			       connect_refused };
