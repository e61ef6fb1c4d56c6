#include "virtio/net.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "cleanup.h"
#include "host_open.h"
#include "log.h"
#include "vm.h"
#include "virtio/chain.h"

/* No IFF_VNET_HDR: the tap carries bare Ethernet frames, so no one
 * holding its descriptor (a taken-over VMM included) can hand the host
 * kernel checksum or GSO metadata. */
#define TAP_FLAGS (IFF_TAP | IFF_NO_PI)
#define RX_BATCH 64 /* frames per turn of the event loop */

/* The header before every frame in the rings. Every driver negotiates
 * VIRTIO_F_VERSION_1 (the transport refuses FEATURES_OK without it), and
 * with it the header is struct virtio_net_hdr_v1 whether or not
 * VIRTIO_NET_F_MRG_RXBUF is negotiated (virtio 1.x, 5.1.6); the device
 * offers no feature that changes its size. */
_Static_assert(sizeof(struct virtio_net_hdr_v1) == VJ_NET_HDR_LEN, "virtio-net header size");

#define container_of_net(d) ((struct vj_net *)((char *)(d) - offsetof(struct vj_net, vdev)))

int vj_net_tap_open(struct vj_net_config *cfg)
{
	struct vj_err e;
	int r;

	if (cfg->tap.fd >= 0)
		return 0;
	r = vj_open_tap(&cfg->tap, false, &e);
	if (r < 0)
		vj_error("%s", e.msg);
	return r;
}

/* ---- receive: tap -> guest ------------------------------------------ */

static void tap_poll(struct vj_net *n, bool on)
{
	if (n->tap_dead || n->tap_polling == on || !n->loop)
		return;
	if (vj_loop_mod(n->loop, n->tap, on ? EPOLLIN : 0, &n->tap_h) == 0)
		n->tap_polling = on;
}

static void tap_failed(struct vj_net *n, const char *op, int err)
{
	vj_error("%s: tap \"%s\": %s: %s; dropping its traffic from now on", n->vdev.name,
		 n->cfg->tap.name, op, strerror(err));
	if (n->loop)
		vj_loop_del(n->loop, n->tap);
	n->tap_dead = true;
	n->tap_polling = false;
}

/* Reads the next frame into n->frame, after room for the header, unless
 * one is waiting. false: none. */
static bool frame_next(struct vj_net *n)
{
	ssize_t r;

	while (!n->frame_len) {
		r = read(n->tap, n->frame + VJ_NET_HDR_LEN, VJ_NET_FRAME_MAX);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			if (errno == EAGAIN)
				tap_poll(n, true);
			else
				tap_failed(n, "read", errno);
			return false;
		}
		if (r == 0)
			continue;
		n->frame_len = VJ_NET_HDR_LEN + (size_t)r;
		n->frame_paid = false;
	}
	return true;
}

/* One frame into one buffer; false when no buffer is available. */
static bool rx_one(struct vj_net *n, struct vj_virtq *q, bool *used)
{
	struct virtio_net_hdr_v1 hdr = { .num_buffers = 1 };

	if (vj_virtq_pop(q, n->vdev.mem, &n->chain) <= 0)
		return false;
	if (n->chain.err || n->chain.readable) {
		vj_virtq_push(q, &n->chain, 0);
		*used = true;
		return true;
	}
	if (n->chain.writable < n->frame_len) {
		/* Keep the buffer for a frame that fits. */
		vj_virtq_unpop(q);
		n->rx_dropped++;
		n->frame_len = 0;
		return true;
	}
	/* No offloads: nothing to say but that the frame is in one buffer. */
	memcpy(n->frame, &hdr, sizeof(hdr));
	vj_chain_write(&n->chain, 0, n->frame, n->frame_len);
	vj_virtio_count(&n->vdev, n->frame_len - VJ_NET_HDR_LEN);
	vj_virtq_push(q, &n->chain, (uint32_t)n->frame_len);
	n->frame_len = 0;
	*used = true;
	return true;
}

static void rx_work(struct vj_net *n)
{
	struct vj_virtq *q = vj_virtio_queue(&n->vdev, VJ_NET_RXQ);
	bool used = false, stalled = false;

	if (!q || n->tap_dead) {
		tap_poll(n, false);
		return;
	}
	for (unsigned i = 0; i < RX_BATCH && !stalled; i++) {
		if (n->rx_rl.throttled) {
			stalled = true;
		} else if (!frame_next(n)) {
			break; /* tap drained (polling on) or dead */
		} else if (!n->frame_paid &&
			   vj_rate_limiter_consume(&n->rx_rl, n->frame_len - VJ_NET_HDR_LEN,
						   vj_now_ns()) < 0) {
			n->vdev.stat_throttled++;
			vj_debug("%s: receive rate limit reached, tap not polled", n->vdev.name);
			stalled = true;
		} else {
			n->frame_paid = true;
			stalled = !rx_one(n, q, &used);
		}
	}
	/* Out of buffers or held by the limiter: a receive-queue notify or
	 * the limiter's timer resumes us. After a full batch polling stays
	 * on and the loop calls us again. */
	if (stalled)
		tap_poll(n, false);
	if (used)
		vj_virtio_notify_used(&n->vdev, VJ_NET_RXQ);
}

static void on_tap(void *opaque, uint32_t events)
{
	struct vj_net *n = opaque;

	(void)events;
	vj_virtio_lock(&n->vdev);
	rx_work(n);
	vj_virtio_unlock(&n->vdev);
}

/* ---- transmit: guest -> tap ----------------------------------------- */

static void tx_one(struct vj_net *n)
{
	const struct vj_chain *c = &n->chain;
	int k;

	if (n->tap_dead)
		return;
	/* The frame alone: the guest's header goes no further. */
	k = vj_chain_iov(c, false, VJ_NET_HDR_LEN, c->readable - VJ_NET_HDR_LEN, n->iov,
			 VJ_NET_QUEUE_SIZE);
	if (k < 0 || writev(n->tap, n->iov, k) < 0)
		n->tx_dropped++;
}

static void tx_work(struct vj_net *n, struct vj_virtq *q)
{
	const struct vj_chain *c = &n->chain;
	bool used = false;
	unsigned i;

	for (i = 0; i < q->size; i++) {
		if (vj_virtq_pop(q, n->vdev.mem, &n->chain) <= 0)
			break;
		if (c->err || c->writable || c->readable <= VJ_NET_HDR_LEN ||
		    c->readable - VJ_NET_HDR_LEN > VJ_NET_FRAME_MAX) {
			n->tx_dropped++;
		} else if (vj_rate_limiter_consume(&n->tx_rl, c->readable - VJ_NET_HDR_LEN,
						   vj_now_ns()) < 0) {
			n->vdev.stat_throttled++;
			vj_debug("%s: transmit rate limit reached, queue held", n->vdev.name);
			vj_virtq_unpop(q);
			break;
		} else {
			vj_virtio_count(&n->vdev, c->readable - VJ_NET_HDR_LEN);
			tx_one(n);
		}
		vj_virtq_push(q, c, 0);
		used = true;
	}
	if (i == q->size)
		vj_virtio_kick(&n->vdev, VJ_NET_TXQ);
	if (used)
		vj_virtio_notify_used(&n->vdev, VJ_NET_TXQ);
}

/* ---- control: the driver's commands ---------------------------------- */

static bool announce_negotiated(const struct vj_virtio_dev *d)
{
	/* The acknowledgement comes on the control queue: without it the
	 * request could never be cleared. */
	return vj_virtio_has_feature(d, VIRTIO_NET_F_GUEST_ANNOUNCE) &&
	       vj_virtio_has_feature(d, VIRTIO_NET_F_CTRL_VQ);
}

/* The answer to one well-formed control chain. The only command is
 * VIRTIO_NET_CTRL_ANNOUNCE_ACK, which carries no data: any other class or
 * command, or command data of any length, is VIRTIO_NET_ERR, and the
 * chain's readable bytes past the header are never read. */
static uint8_t ctrl_command(struct vj_net *n, const struct vj_chain *c)
{
	struct virtio_net_ctrl_hdr h;

	if (c->readable != sizeof(h) || vj_chain_read(c, 0, &h, sizeof(h)) != sizeof(h))
		return VIRTIO_NET_ERR;
	if (h.class != VIRTIO_NET_CTRL_ANNOUNCE || h.cmd != VIRTIO_NET_CTRL_ANNOUNCE_ACK ||
	    !announce_negotiated(&n->vdev))
		return VIRTIO_NET_ERR;
	/* Cleared before the chain is used (virtio 1.x, 5.1.6.5.4): the
	 * driver asked for the change, so no interrupt tells it. */
	if (n->config.status & VIRTIO_NET_S_ANNOUNCE) {
		n->config.status &= (uint16_t)~VIRTIO_NET_S_ANNOUNCE;
		vj_virtio_config_changed(&n->vdev, false);
	}
	return VIRTIO_NET_OK;
}

static void ctrl_work(struct vj_net *n, struct vj_virtq *q)
{
	const struct vj_chain *c = &n->chain;
	bool used = false;
	unsigned i;

	for (i = 0; i < q->size; i++) {
		uint8_t ack;
		if (vj_virtq_pop(q, n->vdev.mem, &n->chain) <= 0)
			break;
		/* The header, then the ack byte, the first writable one: a
		 * chain without both has nowhere to take the answer from or
		 * put it. */
		if (c->err || c->readable < sizeof(struct virtio_net_ctrl_hdr) || !c->writable) {
			n->ctrl_malformed++;
			vj_virtq_push(q, c, 0);
		} else {
			ack = ctrl_command(n, c);
			vj_virtq_push(q, c, (uint32_t)vj_chain_write(c, 0, &ack, sizeof(ack)));
		}
		used = true;
	}
	/* A full ring's worth: the rest next turn, after the other devices. */
	if (i == q->size)
		vj_virtio_kick(&n->vdev, VJ_NET_CTRLQ);
	if (used)
		vj_virtio_notify_used(&n->vdev, VJ_NET_CTRLQ);
}

/* Sets the request and raises the configuration interrupt; with the
 * device locked. An unacknowledged request is raised again: a driver
 * reads the status on every configuration interrupt. */
static bool ask_announce(struct vj_net *n)
{
	if (!vj_virtio_running(&n->vdev) || !announce_negotiated(&n->vdev))
		return false;
	n->config.status |= VIRTIO_NET_S_ANNOUNCE;
	vj_virtio_config_changed(&n->vdev, true);
	return true;
}

/* The timer's next expiry in gap_ms; a timer that cannot be armed only
 * costs the later rounds. */
static void arm_announce(struct vj_net *n)
{
	struct itimerspec its = { .it_value = { .tv_sec = n->announce_gap_ms / 1000,
						 .tv_nsec = (long)(n->announce_gap_ms % 1000) *
							    1000000L } };

	if (timerfd_settime(n->announce_fd, 0, &its, NULL) < 0) {
		vj_debug("%s: announce timer: %s", n->vdev.name, strerror(errno));
		n->announce_left = n->announce_tries = 0;
	}
}

bool vj_net_announce(struct vj_net *n)
{
	bool asked;

	vj_virtio_lock(&n->vdev);
	asked = ask_announce(n);
	n->announce_left = asked && n->announce_fd >= 0 ? VJ_NET_ANNOUNCE_ROUNDS - 1 : 0;
	n->announce_tries = n->announce_left ? VJ_NET_ANNOUNCE_TRIES : 0;
	n->announce_gap_ms = VJ_NET_ANNOUNCE_GAP_MS;
	if (n->announce_tries)
		arm_announce(n);
	vj_virtio_unlock(&n->vdev);
	return asked;
}

/*
 * A round follows the guest's acknowledgement of the one before, so that
 * each is a request of its own: a driver that has not yet run the last
 * one would take two requests as one. Until then the same request is
 * raised again (its interrupt may have been missed); the timer's expiries
 * are bounded (tries), their gaps doubling.
 */
void vj_net_announce_round(struct vj_net *n)
{
	uint64_t expired;
	bool pending;

	/* Drained whatever it says: a reset may have cancelled the rounds. */
	if (read(n->announce_fd, &expired, sizeof(expired)) < 0 && errno != EAGAIN)
		vj_debug("%s: announce timer: %s", n->vdev.name, strerror(errno));
	vj_virtio_lock(&n->vdev);
	pending = n->config.status & VIRTIO_NET_S_ANNOUNCE;
	if (!n->announce_tries || (!pending && !n->announce_left) ||
	    !vj_virtio_running(&n->vdev) || !announce_negotiated(&n->vdev)) {
		n->announce_left = n->announce_tries = 0;
	} else {
		n->announce_tries--;
		if (pending) {
			vj_virtio_config_changed(&n->vdev, true);
		} else {
			ask_announce(n);
			n->announce_left--;
		}
		n->announce_gap_ms *= 2;
		if (n->announce_tries)
			arm_announce(n);
	}
	vj_virtio_unlock(&n->vdev);
}

static void on_announce_timer(void *opaque, uint32_t events)
{
	(void)events;
	vj_net_announce_round(opaque);
}

static void net_queue_work(struct vj_virtio_dev *d, unsigned qi)
{
	struct vj_net *n = container_of_net(d);

	if (qi == VJ_NET_RXQ)
		rx_work(n);
	else if (qi == VJ_NET_TXQ)
		tx_work(n, &d->vq[qi]);
	else if (vj_virtio_has_feature(d, VIRTIO_NET_F_CTRL_VQ))
		ctrl_work(n, &d->vq[qi]); /* a driver without it has no such queue */
}

static void net_reset(struct vj_virtio_dev *d)
{
	struct vj_net *n = container_of_net(d);

	/* A frame read for the old driver instance is stale now, and so is
	 * a request to announce that it never acknowledged, and its rounds
	 * to come (their timer finds none left). */
	n->frame_len = 0;
	n->announce_left = n->announce_tries = 0;
	if (n->config.status & VIRTIO_NET_S_ANNOUNCE) {
		n->config.status = VIRTIO_NET_S_LINK_UP;
		vj_virtio_config_changed(d, false);
	}
	tap_poll(n, false);
}

static const struct vj_virtio_ops net_ops = { .queue_work = net_queue_work,
					      .reset = net_reset };

static void on_rx_timer(void *opaque, uint32_t events)
{
	struct vj_net *n = opaque;

	(void)events;
	vj_virtio_lock(&n->vdev);
	vj_rate_limiter_timer_done(&n->rx_rl);
	rx_work(n);
	vj_virtio_unlock(&n->vdev);
}

static void on_tx_timer(void *opaque, uint32_t events)
{
	struct vj_net *n = opaque;

	(void)events;
	vj_virtio_lock(&n->vdev);
	vj_rate_limiter_timer_done(&n->tx_rl);
	vj_virtio_unlock(&n->vdev);
	vj_virtio_kick(&n->vdev, VJ_NET_TXQ);
}

/* ---- set-up ---------------------------------------------------------- */

static int tap_prepare(int fd, const char *name)
{
	struct ifreq ifr = { 0 };
	int fl;

	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		vj_error("tap \"%s\": not a tap device (TUNGETIFF: %s)", name, strerror(errno));
		return -EINVAL;
	}
	if ((ifr.ifr_flags & (TAP_FLAGS | IFF_VNET_HDR)) != TAP_FLAGS) {
		vj_error("tap \"%s\": must be opened with IFF_TAP | IFF_NO_PI and without "
			 "IFF_VNET_HDR", name);
		return -EINVAL;
	}
	/* A persistent tap keeps offloads an earlier user turned on. */
	if (ioctl(fd, TUNSETOFFLOAD, 0) < 0) {
		int e = errno;
		vj_error("tap \"%s\": switching offloads off: %s", name, strerror(e));
		return -e;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int e = errno;
		vj_error("tap \"%s\": O_NONBLOCK: %s", name, strerror(e));
		return -e;
	}
	return 0;
}

int vj_net_create(struct vj_net *n, const struct vj_net_config *cfg, unsigned index,
		  const struct vj_guest_mem *mem, bool announces)
{
	/* GUEST_ANNOUNCE needs CTRL_VQ (its acknowledgement) and STATUS (its
	 * request is a status bit); a driver with STATUS takes the link state
	 * from that field, which always says up. */
	uint64_t features = 1ull << VIRTIO_RING_F_INDIRECT_DESC | 1ull << VIRTIO_NET_F_STATUS |
			    1ull << VIRTIO_NET_F_CTRL_VQ | 1ull << VIRTIO_NET_F_GUEST_ANNOUNCE;
	uint64_t now = vj_now_ns();
	char name[24];
	int r;

	memset(n, 0, sizeof(*n));
	n->cfg = cfg;
	n->tap = cfg->tap.fd;
	n->rx_rl.timer_fd = n->tx_rl.timer_fd = -1;
	n->announce_fd = -1;
	if ((r = tap_prepare(n->tap, cfg->tap.name)) < 0)
		return r;
	if (announces &&
	    (n->announce_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0) {
		r = -errno;
		vj_error("net %u (tap \"%s\"): announce timer: %s", index, cfg->tap.name,
			 strerror(-r));
		return r;
	}
	if (cfg->has_mac) {
		features |= 1ull << VIRTIO_NET_F_MAC;
		memcpy(n->config.mac, cfg->mac, sizeof(n->config.mac));
	}
	n->config.status = VIRTIO_NET_S_LINK_UP;
	n->frame = malloc(VJ_NET_HDR_LEN + VJ_NET_FRAME_MAX);
	if (!n->frame)
		return -ENOMEM;
	snprintf(name, sizeof(name), "virtio-net%u", index);
	/* Each direction gets its own buckets, sized by the same limits. */
	r = vj_virtio_init(&n->vdev, name, VIRTIO_ID_NET, features, VJ_NET_NQUEUES,
			   VJ_NET_QUEUE_SIZE, &n->config, sizeof(n->config), &net_ops, mem);
	if (r == 0)
		r = vj_rate_limiter_init(&n->rx_rl, &cfg->rate, now);
	if (r == 0)
		r = vj_rate_limiter_init(&n->tx_rl, &cfg->rate, now);
	if (r < 0)
		vj_error("net %u (tap \"%s\"): device set-up: %s", index, cfg->tap.name,
			 strerror(-r));
	return r;
}

int vj_net_attach(struct vj_net *n, struct vj_vm *vm, unsigned slot)
{
	int r = vj_virtio_attach(&n->vdev, vm, slot);

	n->loop = &vm->loop;
	n->tap_h = (struct vj_loop_handler){ on_tap, n };
	n->rx_timer_h = (struct vj_loop_handler){ on_rx_timer, n };
	n->tx_timer_h = (struct vj_loop_handler){ on_tx_timer, n };
	n->announce_h = (struct vj_loop_handler){ on_announce_timer, n };
	/* Registered idle; the first receive-queue notify starts polling. */
	if (r == 0)
		r = vj_loop_add(n->loop, n->tap, 0, &n->tap_h);
	if (r == 0 && n->rx_rl.timer_fd >= 0)
		r = vj_loop_add(n->loop, n->rx_rl.timer_fd, EPOLLIN, &n->rx_timer_h);
	if (r == 0 && n->tx_rl.timer_fd >= 0)
		r = vj_loop_add(n->loop, n->tx_rl.timer_fd, EPOLLIN, &n->tx_timer_h);
	if (r == 0 && n->announce_fd >= 0)
		r = vj_loop_add(n->loop, n->announce_fd, EPOLLIN, &n->announce_h);
	return r;
}

void vj_net_restore_mac(struct vj_net *n, bool snap_has_mac, const uint8_t snap_mac[6])
{
	const uint64_t bit = 1ull << VIRTIO_NET_F_MAC;

	if (snap_has_mac)
		n->vdev.features |= bit;
	else
		n->vdev.features &= ~bit;
	if (n->cfg->has_mac)
		memcpy(n->config.mac, n->cfg->mac, sizeof(n->config.mac));
	else if (snap_has_mac)
		memcpy(n->config.mac, snap_mac, sizeof(n->config.mac));
	/* A clone named no MAC of its own, or the one it had: its guest's
	 * interface goes on with the MAC it had (the guest agent changes it
	 * otherwise, vmm/SNAPSHOT.md). */
	n->mac_kept = !n->cfg->has_mac ||
		      (snap_has_mac && !memcmp(n->cfg->mac, snap_mac, sizeof(n->config.mac)));
}

void vj_net_destroy(struct vj_net *n)
{
	vj_rate_limiter_destroy(&n->rx_rl);
	vj_rate_limiter_destroy(&n->tx_rl);
	vj_closep(&n->announce_fd);
	vj_virtio_destroy(&n->vdev);
	free(n->frame);
	n->frame = NULL;
}
