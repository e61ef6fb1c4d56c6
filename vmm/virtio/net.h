/*
 * virtio-net over a tap device: one receive and one transmit queue, MAC
 * address from the configuration (VIRTIO_NET_F_MAC when one is set), and
 * a control queue for one command: the driver's acknowledgement that it
 * announced itself (VIRTIO_NET_F_GUEST_ANNOUNCE). The link is always up
 * (VIRTIO_NET_F_STATUS, which the announce request needs: it is a bit of
 * the configuration's status field).
 *
 * Offloads are off: no checksum, TSO/UFO or mergeable-buffer features are
 * offered, the tap is told to hand us only complete, checksummed frames
 * (TUNSETOFFLOAD 0), and the tap is opened without IFF_VNET_HDR, so it
 * carries bare Ethernet frames: the device strips the guest's 12-byte
 * virtio-net header from each frame it sends and puts a header of its own
 * (all zeroes, num_buffers 1) before each frame it receives. Neither the
 * guest nor a VMM it took over can make the host kernel parse checksum or
 * GSO metadata. A frame from the tap that does not fit the next receive
 * buffer is dropped, as a NIC drops frames larger than its buffers.
 *
 * Receive is driven by epoll on the tap: polling stops while the guest has
 * no receive buffers (or the rate limiter holds the queue) and resumes on
 * its next receive-queue notify (or the limiter's timer).
 */
#ifndef VJ_VIRTIO_NET_H
#define VJ_VIRTIO_NET_H

#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_net.h>

#include "config.h"
#include "virtio/mmio.h"
#include "virtio/ratelimit.h"

#define VJ_NET_QUEUE_SIZE 256
#define VJ_NET_HDR_LEN 12      /* struct virtio_net_hdr_v1, VERSION_1 layout */
#define VJ_NET_FRAME_MAX 65536 /* Ethernet frame, header excluded */
#define VJ_NET_RXQ 0
#define VJ_NET_TXQ 1
#define VJ_NET_CTRLQ 2
#define VJ_NET_NQUEUES 3
/* A move's announce is asked this many times, the first at once, each
 * next one once the guest acknowledged the last and the timer expired
 * (VJ_NET_ANNOUNCE_GAP_MS, then doubling): one frame may be lost, or go
 * out before a switch's port is up. A request not yet acknowledged when
 * the timer expires is raised again. At most VJ_NET_ANNOUNCE_TRIES
 * expiries (some 25 s). */
#define VJ_NET_ANNOUNCE_ROUNDS 3
#define VJ_NET_ANNOUNCE_GAP_MS 100
#define VJ_NET_ANNOUNCE_TRIES 8

struct vj_vm;

struct vj_net {
	struct vj_virtio_dev vdev;
	const struct vj_net_config *cfg;
	int tap;
	bool tap_polling; /* EPOLLIN armed */
	bool tap_dead;    /* the tap failed; frames are dropped */
	struct vj_loop *loop;
	struct virtio_net_config config;
	struct vj_rate_limiter rx_rl, tx_rl;
	struct vj_loop_handler tap_h, rx_timer_h, tx_timer_h;
	/* A frame read from the tap after room for its header, waiting for a
	 * buffer (frame_len, header included; 0: none). */
	uint8_t *frame;
	size_t frame_len;
	bool frame_paid; /* already charged to the receive limiter */
	uint64_t rx_dropped, tx_dropped;
	/* Control chains with no readable header or no writable ack byte:
	 * returned unanswered. */
	uint64_t ctrl_malformed;
	/* After a restore: the guest's interface has the MAC it had when
	 * the snapshot was taken (vj_net_restore_mac). */
	bool mac_kept;
	/* The announce's later rounds: their timer (-1 in a VMM that never
	 * announces), how many are left, the timer's expiries left and its
	 * next delay. */
	int announce_fd;
	unsigned announce_left;
	unsigned announce_tries;
	unsigned announce_gap_ms;
	struct vj_loop_handler announce_h;
	struct vj_chain chain;
	struct iovec iov[VJ_NET_QUEUE_SIZE];
};

/* Standalone mode: attaches to tap cfg->tap.name (creating it if it does
 * not exist) through vj_open_tap() (host_open.h), as the launcher opens
 * its own but not exclusively. */
int vj_net_tap_open(struct vj_net_config *cfg);

/* Takes cfg->tap.fd (a tap opened with IFF_TAP | IFF_NO_PI, without
 * IFF_VNET_HDR: -EINVAL otherwise), makes it non-blocking and switches its
 * offloads off. Does not close it. announces: the guest will run at a new
 * place (a restore, a migration's destination), so vj_net_announce is to
 * come and its rounds need a timer, made now, before seccomp. */
int vj_net_create(struct vj_net *n, const struct vj_net_config *cfg, unsigned index,
		  const struct vj_guest_mem *mem, bool announces);
int vj_net_attach(struct vj_net *n, struct vj_vm *vm, unsigned slot);
/*
 * Before its transport state is restored from a snapshot: the device
 * offers the MAC feature exactly when the snapshot's did (the driver
 * negotiated against those features), and its config space holds the
 * clone's own MAC where its configuration names one, else the snapshot's.
 */
void vj_net_restore_mac(struct vj_net *n, bool snap_has_mac, const uint8_t snap_mac[6]);
/*
 * VMM thread, the guest running at a new place (a migration's
 * destination, a restored snapshot): asks the driver to announce itself
 * (VIRTIO_NET_S_ANNOUNCE and a configuration-change interrupt), so that
 * switches and neighbours learn the new port now rather than from the
 * guest's next frame. Only a driver that negotiated
 * VIRTIO_NET_F_GUEST_ANNOUNCE (and the control queue it answers on) is
 * asked; returns whether this one was.
 */
bool vj_net_announce(struct vj_net *n);
/* VMM thread, n->announce_fd expired (the event loop's handler): the next
 * round, if any is left and the driver is still the one that was asked. */
void vj_net_announce_round(struct vj_net *n);
void vj_net_destroy(struct vj_net *n);

#endif
