/*
 * virtio-net through a tap: the guest sends a minimum-size frame (header
 * and frame in separate descriptors) to the host peer, which answers with
 * a maximum-size one; both are checked byte by byte. Other frames the
 * host stack may send are skipped. The ping goes out again every second
 * until the pong arrives: a jailed VMM's tap is created by the launcher,
 * down, and what the guest sends before the peer brings it up is lost.
 */
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "vkit.h"
#include "vnet.h"

#define HDR_LEN 12
#define RX_BUF (HDR_LEN + 1514)
#define RX_BUFS 8
#define ETH_HLEN 14
#define PONG_WAIT_SECONDS 10

struct net {
	struct vio_dev dev;
	struct vio_q rx, tx;
	uint8_t *rxbuf[RX_BUFS];
};

static void rx_post(struct net *n, uint16_t i)
{
	struct vio_buf b = VIO_BUF(n->rxbuf[i], RX_BUF, true);

	n->rx.next_desc = i; /* buffer i always sits in descriptor i */
	vio_submit(&n->rx, &b, 1);
}

static void net_open(struct net *n)
{
	if (!vio_find(VIRTIO_ID_NET, 0, &n->dev))
		fail("no virtio-net device announced");
	if (!vio_init(&n->dev, 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_RING_F_INDIRECT_DESC))
		fail("FEATURES_OK refused");
	if (!vio_queue(&n->dev, 0, &n->rx, 16) || !vio_queue(&n->dev, 1, &n->tx, 16))
		fail("queue set-up refused");
	vio_driver_ok(&n->dev);
	for (uint16_t i = 0; i < RX_BUFS; i++) {
		n->rxbuf[i] = vio_alloc(RX_BUF, 64);
		rx_post(n, i);
	}
	vio_kick(&n->rx);
}

/* Sends the ping: header and frame in two descriptors. */

static void net_ping(struct net *n)
{
	static const uint8_t mac[6] = VNET_GUEST_MAC;
	uint8_t *hdr = vio_alloc(HDR_LEN, 16), *f = vio_alloc(VNET_PING_LEN, 64);
	struct vio_buf b[2] = { VIO_BUF(hdr, HDR_LEN, false), VIO_BUF(f, VNET_PING_LEN, false) };
	uint32_t len;

	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = VNET_ETHERTYPE >> 8;
	f[13] = VNET_ETHERTYPE & 0xff;
	memcpy(f + ETH_HLEN, VNET_PING, sizeof(VNET_PING) - 1);
	for (unsigned i = ETH_HLEN + sizeof(VNET_PING) - 1; i < VNET_PING_LEN; i++)
		f[i] = vnet_byte(i, 0);
	/* A header the device must not pass on (no offloads negotiated). */
	hdr[0] = 1; /* NEEDS_CSUM */
	hdr[1] = 3; /* GSO UDP */
	vio_submit(&n->tx, b, 2);
	vio_kick(&n->tx);
	if (!vio_wait_used(&n->tx, 0, &len))
		fail("transmit buffer never returned");
}

/* The next received frame's buffer; meanwhile the ping again every
 * second. false: nothing within PONG_WAIT_SECONDS. */
static bool rx_wait(struct net *n, uint64_t give_up, uint32_t *id, uint32_t *len)
{
	uint64_t resend = deadline_after(1);

	while (!vio_used_pending(&n->rx)) {
		if (past(give_up))
			return false;
		if (past(resend)) {
			net_ping(n);
			resend = deadline_after(1);
		}
		cpu_relax();
	}
	return vio_wait_used(&n->rx, id, len);
}

/* Waits for the pong, skipping other frames; checks it. */

static void net_pong(struct net *n)
{
	static const uint8_t mac[6] = VNET_GUEST_MAC, peer[6] = VNET_PEER_MAC;
	uint64_t give_up = deadline_after(PONG_WAIT_SECONDS);
	uint32_t id, len;
	unsigned skipped = 0;

	for (;;) {
		const uint8_t *f;
		const struct virtio_net_hdr_v1 *h;

		if (!rx_wait(n, give_up, &id, &len))
			fail("no pong from the host peer (%u other frames)", skipped);
		if (id >= RX_BUFS)
			fail("used id %u is not a posted buffer", id);
		h = (const void *)n->rxbuf[id];
		f = n->rxbuf[id] + HDR_LEN;
		if (len > HDR_LEN + ETH_HLEN && f[12] == VNET_ETHERTYPE >> 8 &&
		    f[13] == (VNET_ETHERTYPE & 0xff)) {
			if (len != HDR_LEN + VNET_PONG_LEN)
				fail("pong of %u bytes, want %u", len, HDR_LEN + VNET_PONG_LEN);
			if (h->num_buffers != 1 || h->flags || h->gso_type)
				fail("receive header flags %u gso %u num_buffers %u", h->flags,
				     h->gso_type, h->num_buffers);
			if (memcmp(f, mac, 6) || memcmp(f + 6, peer, 6))
				fail("pong addressed wrongly");
			if (memcmp(f + ETH_HLEN, VNET_PONG, sizeof(VNET_PONG) - 1))
				fail("pong tag missing");
			for (unsigned i = ETH_HLEN + sizeof(VNET_PONG) - 1; i < VNET_PONG_LEN; i++)
				if (f[i] != vnet_byte(i, 1))
					fail("pong byte %u is 0x%x, want 0x%x", i, f[i], vnet_byte(i, 1));
			return;
		}
		skipped++;
		rx_post(n, (uint16_t)id);
		vio_kick(&n->rx);
	}
}

void scenario_net(void)
{
	static const uint8_t mac[6] = VNET_GUEST_MAC;
	struct net n;

	net_open(&n);
	if (!(n.dev.features & (1ull << VIRTIO_NET_F_MAC)))
		fail("VIRTIO_NET_F_MAC not offered");
	for (unsigned i = 0; i < 6; i++)
		if (vio_config8(&n.dev, i) != mac[i])
			fail("config MAC byte %u is 0x%x, want 0x%x", i, vio_config8(&n.dev, i),
			     mac[i]);
	if (n.dev.features & ~(1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_F_VERSION_1 |
			       1ull << VIRTIO_RING_F_INDIRECT_DESC))
		fail("unexpected features 0x%lx", n.dev.features);
	/* vjpings=N: the peer answers the last of N pings. */
	for (uint64_t i = 0, pings = cmdline_u64("vjpings", 1); i < pings; i++)
		net_ping(&n);
	net_pong(&n);
	pass("ping %u bytes, pong %u bytes", VNET_PING_LEN, VNET_PONG_LEN);
}

/* ---- the hostile scenarios' kit (evil.c) -------------------------------- */

static struct net kn;

static void kn_up(void)
{
	net_open(&kn);
}

static struct vio_dev *kn_dev(void)
{
	return &kn.dev;
}

static struct vio_q *kn_queue(void)
{
	return &kn.tx;
}

/* Transmit buffers always come back empty; what counts is that nothing
 * reaches the tap: the host peer checks that the first frame it sees is
 * the good ping of the health check. */
static void kn_bad(enum evil_shape shape)
{
	struct vring_desc *d = kn.tx.desc, *t = kn.tx.indirect;
	uint8_t *hdr = vio_alloc(HDR_LEN, 16), *f = vio_alloc(VNET_PING_LEN, 64);
	const uint16_t n = VRING_DESC_F_NEXT;
	uint32_t len;

	memset(f, 0xee, VNET_PING_LEN);
	d[0] = (struct vring_desc){ (uint64_t)hdr, HDR_LEN, n, 1 };
	switch (shape) {
	case EVIL_OUTSIDE_RAM:
		d[1] = (struct vring_desc){ EVIL_NOT_RAM, VNET_PING_LEN, 0, 0 };
		break;
	case EVIL_LEN_NEAR_4G:
		d[1] = (struct vring_desc){ (uint64_t)f, EVIL_LEN_4G, 0, 0 };
		break;
	case EVIL_LOOP:
		d[1] = (struct vring_desc){ (uint64_t)f, VNET_PING_LEN, n, 0 };
		break;
	case EVIL_NESTED:
		t[0] = (struct vring_desc){ (uint64_t)t, 16, VRING_DESC_F_INDIRECT, 0 };
		d[0] = (struct vring_desc){ (uint64_t)t, 16, VRING_DESC_F_INDIRECT, 0 };
		break;
	}
	len = kit_submit_raw(&kn.tx, 0);
	if (len)
		fail("malformed transmit chain: used length %u", len);
}

static void kn_healthy(void)
{
	net_ping(&kn);
	net_pong(&kn);
}

const struct kit kit_net = { "net", VIRTIO_ID_NET, 2, kn_up, kn_dev, kn_queue, kn_bad,
			     kn_healthy };
