/*
 * virtio-net request handling (vmm/virtio/net.c) against a real tap in a
 * network namespace of the test's own, opened as the launcher opens it
 * (no IFF_VNET_HDR): what the device writes to the tap is read back
 * through a packet socket on the interface, and frames sent through that
 * socket arrive at the device. Needs root (skips otherwise).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_mmio.h>

#include "unit.h"
#include "test_virtio_util.h"
#include "config.h"
#include "snapshot.h"
#include "virtio/net.h"

#define ETHERTYPE 0x88b5
#define HDR VJ_NET_HDR_LEN
#define RXBUF 0x200000ull
#define TXHDR 0x300000ull
#define TXFRAME 0x301000ull
#define CTLCMD 0x400000ull
#define CTLACK 0x401000ull
#define N VRING_DESC_F_NEXT
#define W VRING_DESC_F_WRITE
/* What Linux's driver takes of what the device offers. */
#define ANNOUNCE_FEATURES                                                                  \
	(1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS | 1ull << VIRTIO_NET_F_CTRL_VQ | \
	 1ull << VIRTIO_NET_F_GUEST_ANNOUNCE)

struct fixture {
	struct vj_guest_mem mem;
	struct fake_ring rx, tx, ctl; /* in queue order: fake_driver_init() takes them so */
	struct vj_net_config cfg;
	struct vj_net net;
	int pkt; /* packet socket on the tap interface */
	uint16_t rx_desc;
};

static bool in_own_netns;

static void write_file(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, v, strlen(v)), (ssize_t)strlen(v));
	close(fd);
}

/* A tap named `name` in the test's namespace, attached with `flags`. */
static int tap_with_flags(const char *name, short flags)
{
	struct ifreq ifr = { .ifr_flags = flags };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	strcpy(ifr.ifr_name, name);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	return fd;
}

static int setup(void **state)
{
	static struct fixture f;
	struct ifreq ifr = { 0 };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE) };
	int s;

	if (geteuid() != 0)
		return 0; /* each test skips */
	if (!in_own_netns) {
		assert_int_equal(unshare(CLONE_NEWNET), 0);
		/* No IPv6 chatter from the interface: only the test's frames. */
		write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
		write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
		in_own_netns = true;
	}
	memset(&f, 0, sizeof(f));
	assert_int_equal(vj_mem_create(&f.mem, FAKE_MEM_SIZE, VJ_MEMORY_4K, VJ_THP_UNKNOWN), 0);
	fake_ring_init_slot(&f.rx, &f.mem, 16, 0);
	fake_ring_init_slot(&f.tx, &f.mem, 16, 1);
	f.cfg.tap.fd = -1;
	strcpy(f.cfg.tap.name, "vjt0");
	memcpy(f.cfg.mac, "\x52\x54\x00\x12\x34\x56", 6);
	f.cfg.has_mac = true;
	/* jailer/resources.c open_tap()'s flags. */
	f.cfg.tap.fd = tap_with_flags("vjt0", IFF_TAP | IFF_NO_PI);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	strcpy(ifr.ifr_name, "vjt0");
	ifr.ifr_flags = IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
	f.pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETHERTYPE));
	sll.sll_ifindex = (int)if_nametoindex("vjt0");
	assert_int_equal(bind(f.pkt, (struct sockaddr *)&sll, sizeof(sll)), 0);
	assert_int_equal(vj_net_create(&f.net, &f.cfg, 0, &f.mem, true), 0);
	fake_driver_init(&f.net.vdev, 1ull << VIRTIO_NET_F_MAC, &f.rx, 2);
	assert_true(vj_virtio_running(&f.net.vdev));
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	vj_net_destroy(&f->net);
	close(f->cfg.tap.fd); /* the tap goes with its last descriptor */
	close(f->pkt);
	vj_mem_destroy(&f->mem);
	return 0;
}

#define F                          \
	struct fixture *f = *state; \
	if (!f)                     \
		skip()

static void frame(uint8_t *p, unsigned len, uint8_t seed)
{
	memset(p, 0xff, 6);
	memcpy(p + 6, "\x02\x00\x00\x00\x00\x01", 6);
	p[12] = ETHERTYPE >> 8;
	p[13] = ETHERTYPE & 0xff;
	for (unsigned i = 14; i < len; i++)
		p[i] = (uint8_t)(i * 5 + seed);
}

/* The next frame on the tap, or -1 within 500 ms. */
static ssize_t tap_out(struct fixture *f, uint8_t *buf, size_t cap)
{
	struct pollfd p = { .fd = f->pkt, .events = POLLIN };

	if (poll(&p, 1, 500) != 1)
		return -1;
	return recv(f->pkt, buf, cap, 0);
}

static void tap_in(struct fixture *f, unsigned len, uint8_t seed)
{
	uint8_t buf[2048];

	frame(buf, len, seed);
	assert_int_equal(send(f->pkt, buf, len, 0), (ssize_t)len);
}

static uint32_t transmit(struct fixture *f, const uint8_t *hdr, unsigned len, uint16_t frame_flags)
{
	uint16_t before = fake_used_idx(&f->tx);

	memcpy(gp(&f->mem, TXHDR), hdr, HDR);
	fake_desc(&f->tx, 0, TXHDR, HDR, N, 1);
	fake_desc(&f->tx, 1, TXFRAME, len, frame_flags, 0);
	fake_publish(&f->tx, 0);
	vj_virtio_process(&f->net.vdev, VJ_NET_TXQ);
	assert_int_equal(fake_used_idx(&f->tx), (uint16_t)(before + 1));
	return fake_used(&f->tx, before).len;
}

static void transmitted_frame_reaches_the_tap_unchanged(void **state)
{
	F;
	/* A header asking for checksum and segmentation offloads that were
	 * never negotiated: the device must not pass it on. */
	static const uint8_t hdr[HDR] = { 1, 3, 0, 1, 0, 2, 0, 3 };
	uint8_t got[2048];

	frame(gp(&f->mem, TXFRAME), 60, 7);
	assert_int_equal(transmit(f, hdr, 60, 0), 0);
	assert_int_equal(tap_out(f, got, sizeof(got)), 60);
	assert_memory_equal(got, gp(&f->mem, TXFRAME), 60);
}

static void malformed_transmit_chains_send_nothing(void **state)
{
	F;
	static const uint8_t hdr[HDR];
	uint8_t got[2048];

	frame(gp(&f->mem, TXFRAME), 60, 1);
	assert_int_equal(transmit(f, hdr, 60, W), 0);     /* device-writable frame */
	fake_desc(&f->tx, 1, FAKE_OUTSIDE, 60, 0, 0);     /* frame outside RAM */
	fake_publish(&f->tx, 0);
	vj_virtio_process(&f->net.vdev, VJ_NET_TXQ);
	fake_desc(&f->tx, 0, TXHDR, HDR, 0, 0);           /* header alone */
	fake_publish(&f->tx, 0);
	vj_virtio_process(&f->net.vdev, VJ_NET_TXQ);
	assert_int_equal(fake_used_idx(&f->tx), 3);
	assert_int_equal(tap_out(f, got, sizeof(got)), -1);
	assert_int_equal(f->net.tx_dropped, 3);
}

static void post_rx(struct fixture *f, uint64_t addr, uint32_t len, uint16_t flags)
{
	fake_desc(&f->rx, f->rx_desc, addr, len, flags, 0);
	fake_publish(&f->rx, f->rx_desc++);
}

/* Lets the device read the tap until the frame sent has arrived. */
static void receive(struct fixture *f)
{
	for (int i = 0; i < 50 && f->net.frame_len == 0; i++) {
		vj_virtio_process(&f->net.vdev, VJ_NET_RXQ);
		if (fake_used_idx(&f->rx))
			return;
		usleep(10000);
	}
}

static void received_frame_lands_with_a_clean_header(void **state)
{
	F;
	uint8_t *b = gp(&f->mem, RXBUF), want[2048];
	uint16_t nb;

	memset(b, 0xaa, 2048);
	post_rx(f, RXBUF, HDR + 1514, W);
	tap_in(f, 1514, 9);
	receive(f);
	assert_int_equal(fake_used_idx(&f->rx), 1);
	assert_int_equal(fake_used(&f->rx, 0).len, HDR + 1514);
	memcpy(&nb, b + 10, 2);
	assert_int_equal(nb, 1);
	for (int i = 0; i < 10; i++)
		assert_int_equal(b[i], 0);
	frame(want, 1514, 9);
	assert_memory_equal(b + HDR, want, 1514);
}

static void frame_too_big_for_the_buffer_is_dropped_and_the_buffer_kept(void **state)
{
	F;
	post_rx(f, RXBUF, 200, W);
	tap_in(f, 1514, 1);
	receive(f);
	assert_int_equal(fake_used_idx(&f->rx), 0);
	assert_int_equal(f->net.rx_dropped, 1);
	tap_in(f, 100, 2);
	receive(f);
	assert_int_equal(fake_used_idx(&f->rx), 1);
	assert_int_equal(fake_used(&f->rx, 0).len, HDR + 100);
}

static void readable_receive_buffer_comes_back_empty(void **state)
{
	F;
	post_rx(f, RXBUF, 2048, 0);
	post_rx(f, RXBUF + 4096, 2048, W);
	tap_in(f, 60, 3);
	receive(f);
	assert_int_equal(fake_used_idx(&f->rx), 2);
	assert_int_equal(fake_used(&f->rx, 0).len, 0);
	assert_int_equal(fake_used(&f->rx, 1).len, HDR + 60);
}

static void frame_waits_for_a_buffer(void **state)
{
	F;
	tap_in(f, 60, 4);
	for (int i = 0; i < 50 && !f->net.frame_len; i++) {
		vj_virtio_process(&f->net.vdev, VJ_NET_RXQ);
		usleep(10000);
	}
	assert_true(f->net.frame_len == HDR + 60);
	post_rx(f, RXBUF, 2048, W);
	vj_virtio_process(&f->net.vdev, VJ_NET_RXQ);
	assert_int_equal(fake_used_idx(&f->rx), 1);
	assert_int_equal(f->net.frame_len, 0);
}

static void standalone_tap_is_opened_without_a_virtio_net_header(void **state)
{
	F;
	struct vj_net_config cfg = { .tap = { .fd = -1, .name = "vjt1" } };
	struct ifreq ifr = { 0 };

	assert_int_equal(vj_net_tap_open(&cfg), 0);
	assert_int_equal(ioctl(cfg.tap.fd, TUNGETIFF, &ifr), 0);
	assert_int_equal(ifr.ifr_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR), IFF_TAP | IFF_NO_PI);
	close(cfg.tap.fd);
}

static void tap_with_a_virtio_net_header_is_refused(void **state)
{
	F;
	struct vj_net_config cfg = { .tap = { .name = "vjt1" } };
	struct vj_net n;

	cfg.tap.fd = tap_with_flags("vjt1", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
	assert_int_equal(vj_net_create(&n, &cfg, 1, &f->mem, false), -EINVAL);
	close(cfg.tap.fd);
}

/* The MAC the driver reads from config space, through the MMIO window. */
static void config_mac(struct vj_virtio_dev *d, uint8_t mac[6])
{
	const uint32_t lo = reg_read(d, VIRTIO_MMIO_CONFIG);
	const uint32_t hi = reg_read(d, VIRTIO_MMIO_CONFIG + 4);

	memcpy(mac, &lo, 4);
	memcpy(mac + 4, &hi, 2);
}

/* A clone restored from a snapshot: the configured MAC goes into config
 * space, else the snapshot's stays; the MAC feature follows the snapshot
 * (the driver negotiated against it), or the transport state won't fit. */
static void restore_gives_the_clone_its_own_mac(void **state)
{
	static const uint8_t snap_mac[6] = { 0x02, 0, 0, 0, 0, 7 };
	const uint64_t f_mac = 1ull << VIRTIO_NET_F_MAC;
	struct vj_snap_virtio v;
	uint8_t mac[6];
	F;

	vj_virtio_save(&f->net.vdev, &v);
	assert_true(v.device_features & f_mac);
	vj_net_restore_mac(&f->net, true, snap_mac);
	config_mac(&f->net.vdev, mac);
	assert_memory_equal(mac, "\x52\x54\x00\x12\x34\x56", 6);
	assert_int_equal(vj_virtio_restore(&f->net.vdev, &v), 0);

	f->cfg.has_mac = false; /* the clone names none: it keeps the snapshot's */
	vj_net_restore_mac(&f->net, true, snap_mac);
	config_mac(&f->net.vdev, mac);
	assert_memory_equal(mac, snap_mac, 6);
	assert_true(f->net.vdev.features & f_mac);
	assert_int_equal(vj_virtio_restore(&f->net.vdev, &v), 0);

	/* A snapshot without the MAC feature: the device offers none either. */
	f->cfg.has_mac = true;
	vj_net_restore_mac(&f->net, false, snap_mac);
	assert_false(f->net.vdev.features & f_mac);
	assert_int_equal(vj_virtio_restore(&f->net.vdev, &v), -EINVAL);
	v.device_features &= ~f_mac;
	assert_int_equal(vj_virtio_restore(&f->net.vdev, &v), 0);
}

/* ---- the control queue and the announce ---------------------------- */

/* The configuration's status field, as the driver reads it. */
static uint16_t config_status(struct vj_virtio_dev *d)
{
	uint16_t v;

	vj_virtio_mmio_ops.read(d, VIRTIO_MMIO_CONFIG + offsetof(struct virtio_net_config, status),
				(uint8_t *)&v, sizeof(v));
	return v;
}

/* The driver starts again, taking `features` and, with the control
 * queue, all three queues. */
static void driver_with(struct fixture *f, uint64_t features)
{
	bool ctrl = features & (1ull << VIRTIO_NET_F_CTRL_VQ);

	fake_ring_init_slot(&f->rx, &f->mem, 16, 0);
	fake_ring_init_slot(&f->tx, &f->mem, 16, 1);
	fake_ring_init_slot(&f->ctl, &f->mem, 16, 2);
	f->rx_desc = 0;
	assert_true(fake_driver_init(&f->net.vdev, features, &f->rx, ctrl ? 3 : 2) &
		    VIRTIO_CONFIG_S_DRIVER_OK);
	/* The reset's clean-up, as the event loop would run it. */
	vj_virtio_lock(&f->net.vdev);
	vj_virtio_unlock(&f->net.vdev);
	irqs_taken(&f->net.vdev);
}

/* One control request: cmd_len bytes from CTLCMD (`cmd`, when not NULL,
 * copied there first) readable, then ack_len bytes at CTLACK writable
 * (0: no such descriptor). The ack byte starts as 0xaa. Returns the
 * used length; *ack is the ack byte afterwards. */
static uint32_t control(struct fixture *f, const void *cmd, uint32_t cmd_len, uint32_t ack_len,
			uint8_t *ack)
{
	uint16_t before = fake_used_idx(&f->ctl);

	if (cmd)
		memcpy(gp(&f->mem, CTLCMD), cmd, cmd_len);
	*(uint8_t *)gp(&f->mem, CTLACK) = 0xaa;
	fake_desc(&f->ctl, 0, CTLCMD, cmd_len, ack_len ? N : 0, 1);
	fake_desc(&f->ctl, 1, CTLACK, ack_len, W, 0);
	fake_publish(&f->ctl, 0);
	vj_virtio_process(&f->net.vdev, VJ_NET_CTRLQ);
	assert_int_equal(fake_used_idx(&f->ctl), (uint16_t)(before + 1));
	*ack = *(uint8_t *)gp(&f->mem, CTLACK);
	return fake_used(&f->ctl, before).len;
}

static const uint8_t announce_ack[2] = { VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK };

static void the_device_offers_a_control_queue_link_status_and_announce(void **state)
{
	F;
	const uint32_t want = 1u << VIRTIO_NET_F_MAC | 1u << VIRTIO_NET_F_STATUS |
			      1u << VIRTIO_NET_F_CTRL_VQ | 1u << VIRTIO_NET_F_GUEST_ANNOUNCE |
			      1u << VIRTIO_RING_F_INDIRECT_DESC;

	reg_write(&f->net.vdev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(reg_read(&f->net.vdev, VIRTIO_MMIO_DEVICE_FEATURES), want);
	reg_write(&f->net.vdev, VIRTIO_MMIO_QUEUE_SEL, VJ_NET_CTRLQ);
	assert_int_equal(reg_read(&f->net.vdev, VIRTIO_MMIO_QUEUE_NUM_MAX), VJ_NET_QUEUE_SIZE);
	reg_write(&f->net.vdev, VIRTIO_MMIO_QUEUE_SEL, VJ_NET_NQUEUES);
	assert_int_equal(reg_read(&f->net.vdev, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	/* The link is always up: a driver with STATUS takes it from here. */
	assert_int_equal(config_status(&f->net.vdev), VIRTIO_NET_S_LINK_UP);
}

static void announce_sets_the_status_bit_and_raises_a_config_interrupt(void **state)
{
	F;
	uint32_t gen;

	driver_with(f, ANNOUNCE_FEATURES);
	gen = reg_read(&f->net.vdev, VIRTIO_MMIO_CONFIG_GENERATION);
	assert_true(vj_net_announce(&f->net));
	assert_int_equal(irqs_taken(&f->net.vdev), 1);
	assert_int_equal(reg_read(&f->net.vdev, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(config_status(&f->net.vdev), VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
	assert_int_equal(reg_read(&f->net.vdev, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
}

static void the_ack_clears_the_announce_bit(void **state)
{
	F;
	uint32_t gen;
	uint8_t ack;

	driver_with(f, ANNOUNCE_FEATURES);
	assert_true(vj_net_announce(&f->net));
	gen = reg_read(&f->net.vdev, VIRTIO_MMIO_CONFIG_GENERATION);
	assert_int_equal(control(f, announce_ack, 2, 1, &ack), 1);
	assert_int_equal(ack, VIRTIO_NET_OK);
	assert_int_equal(config_status(&f->net.vdev), VIRTIO_NET_S_LINK_UP);
	/* The field changed, at the driver's request: a new generation, no
	 * configuration interrupt (only the used buffer's). */
	assert_int_equal(reg_read(&f->net.vdev, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	assert_int_equal(reg_read(&f->net.vdev, VIRTIO_MMIO_INTERRUPT_STATUS) &
				 VIRTIO_MMIO_INT_CONFIG,
			 VIRTIO_MMIO_INT_CONFIG); /* the announce's, not yet acknowledged */
	reg_write(&f->net.vdev, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(control(f, announce_ack, 2, 1, &ack), 1);
	assert_int_equal(ack, VIRTIO_NET_OK); /* again: nothing to clear, still fine */
	assert_int_equal(reg_read(&f->net.vdev, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
}

/* Waits (bounded) for the announce timer, then runs its round as the
 * event loop would. */
static void next_round(struct fixture *f)
{
	struct pollfd p = { .fd = f->net.announce_fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 10000), 1);
	vj_net_announce_round(&f->net);
}

static bool timer_armed(const struct fixture *f)
{
	struct itimerspec its;

	assert_int_equal(timerfd_gettime(f->net.announce_fd, &its), 0);
	return its.it_value.tv_sec || its.it_value.tv_nsec;
}

/* The guest acknowledges the request on the control queue. */
static void ack_announce(struct fixture *f)
{
	uint8_t ack;

	assert_int_equal(control(f, announce_ack, 2, 1, &ack), 1);
	assert_int_equal(ack, VIRTIO_NET_OK);
	assert_int_equal(config_status(&f->net.vdev), VIRTIO_NET_S_LINK_UP);
	irqs_taken(&f->net.vdev); /* the used buffer's */
	reg_write(&f->net.vdev, VIRTIO_MMIO_INTERRUPT_ACK,
		  VIRTIO_MMIO_INT_CONFIG | VIRTIO_MMIO_INT_VRING);
}

static void the_announce_is_asked_again_in_rounds(void **state)
{
	F;

	driver_with(f, ANNOUNCE_FEATURES);
	assert_true(f->net.announce_fd >= 0);
	assert_true(vj_net_announce(&f->net));
	for (int round = 1; round <= VJ_NET_ANNOUNCE_ROUNDS; round++) {
		assert_int_equal(irqs_taken(&f->net.vdev), 1);
		assert_int_equal(config_status(&f->net.vdev),
				 VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
		ack_announce(f);
		assert_true(timer_armed(f));
		next_round(f);
	}
	/* The last one acknowledged: its expiry asks nothing more, and the
	 * timer stays idle. */
	assert_int_equal(irqs_taken(&f->net.vdev), 0);
	assert_int_equal(config_status(&f->net.vdev), VIRTIO_NET_S_LINK_UP);
	assert_false(timer_armed(f));
	vj_net_announce_round(&f->net);
	assert_int_equal(irqs_taken(&f->net.vdev), 0);
}

/* Not acknowledged when the timer expires: the same request is raised
 * again, and the next round waits for its acknowledgement, so that a slow
 * driver never takes two rounds for one. */
static void an_unacknowledged_announce_is_raised_again(void **state)
{
	F;

	driver_with(f, ANNOUNCE_FEATURES);
	assert_true(vj_net_announce(&f->net));
	assert_int_equal(irqs_taken(&f->net.vdev), 1);
	reg_write(&f->net.vdev, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	next_round(f);
	assert_int_equal(irqs_taken(&f->net.vdev), 1);
	assert_int_equal(reg_read(&f->net.vdev, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(config_status(&f->net.vdev), VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
	assert_int_equal(f->net.announce_left, VJ_NET_ANNOUNCE_ROUNDS - 1);
	reg_write(&f->net.vdev, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	ack_announce(f);
	next_round(f); /* now the second round */
	assert_int_equal(irqs_taken(&f->net.vdev), 1);
	assert_int_equal(config_status(&f->net.vdev), VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
	assert_int_equal(f->net.announce_left, VJ_NET_ANNOUNCE_ROUNDS - 2);
}

/* A driver that never acknowledges is asked a bounded number of times. */
static void the_rounds_end_after_their_tries(void **state)
{
	F;
	unsigned raised = 0;

	driver_with(f, ANNOUNCE_FEATURES);
	assert_true(vj_net_announce(&f->net));
	irqs_taken(&f->net.vdev);
	for (unsigned i = 0; i <= VJ_NET_ANNOUNCE_TRIES; i++) {
		reg_write(&f->net.vdev, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
		vj_net_announce_round(&f->net); /* as if expired: not waiting out its delay */
		raised += irqs_taken(&f->net.vdev);
	}
	assert_int_equal(raised, VJ_NET_ANNOUNCE_TRIES);
	vj_net_announce_round(&f->net);
	assert_int_equal(irqs_taken(&f->net.vdev), 0);
}

static void a_reset_ends_the_rounds(void **state)
{
	F;

	driver_with(f, ANNOUNCE_FEATURES);
	assert_true(vj_net_announce(&f->net));
	assert_true(timer_armed(f));
	driver_with(f, ANNOUNCE_FEATURES); /* the driver starts again */
	next_round(f);
	assert_int_equal(irqs_taken(&f->net.vdev), 0);
	assert_int_equal(config_status(&f->net.vdev), VIRTIO_NET_S_LINK_UP);
	assert_false(timer_armed(f));
}

/* A VMM whose guest never moves makes no timer; an announce asked of
 * it anyway is asked once. */
static void without_a_move_there_is_no_announce_timer(void **state)
{
	F;
	struct vj_net_config cfg = f->cfg;
	struct vj_net n;

	cfg.tap.fd = tap_with_flags("vjt1", IFF_TAP | IFF_NO_PI);
	assert_int_equal(vj_net_create(&n, &cfg, 1, &f->mem, false), 0);
	assert_int_equal(n.announce_fd, -1);
	vj_net_destroy(&n);
	close(cfg.tap.fd);
}

static void no_announce_for_a_driver_that_did_not_negotiate_it(void **state)
{
	F;
	uint32_t gen = reg_read(&f->net.vdev, VIRTIO_MMIO_CONFIG_GENERATION);
	uint8_t ack;

	/* setup()'s driver took the MAC alone. */
	assert_false(vj_net_announce(&f->net));
	assert_int_equal(irqs_taken(&f->net.vdev), 0);
	assert_int_equal(reg_read(&f->net.vdev, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(config_status(&f->net.vdev), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(reg_read(&f->net.vdev, VIRTIO_MMIO_CONFIG_GENERATION), gen);

	/* The control queue without the announce: nothing to ask, and an
	 * acknowledgement of nothing is an error. */
	driver_with(f, 1ull << VIRTIO_NET_F_STATUS | 1ull << VIRTIO_NET_F_CTRL_VQ);
	assert_false(vj_net_announce(&f->net));
	assert_int_equal(irqs_taken(&f->net.vdev), 0);
	assert_int_equal(config_status(&f->net.vdev), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(control(f, announce_ack, 2, 1, &ack), 1);
	assert_int_equal(ack, VIRTIO_NET_ERR);

	/* A driver that is not running is not asked either. */
	driver_with(f, ANNOUNCE_FEATURES);
	reg_write(&f->net.vdev, VIRTIO_MMIO_STATUS, 0);
	assert_false(vj_net_announce(&f->net));
	assert_int_equal(irqs_taken(&f->net.vdev), 0);
}

static void commands_the_device_does_not_implement_are_answered_err(void **state)
{
	F;
	static const uint8_t rx_promisc[3] = { VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1 };
	static const uint8_t mac_set[8] = { VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
					    2, 0, 0, 0, 0, 1 };
	static const uint8_t announce_other[2] = { VIRTIO_NET_CTRL_ANNOUNCE, 1 };
	static const uint8_t unknown[2] = { 0xff, 0 };
	static const uint8_t ack_with_data[3] = { VIRTIO_NET_CTRL_ANNOUNCE,
						  VIRTIO_NET_CTRL_ANNOUNCE_ACK, 0 };
	uint8_t ack;

	driver_with(f, ANNOUNCE_FEATURES);
	assert_true(vj_net_announce(&f->net));
	assert_int_equal(control(f, rx_promisc, 3, 1, &ack), 1);
	assert_int_equal(ack, VIRTIO_NET_ERR);
	assert_int_equal(control(f, mac_set, 8, 1, &ack), 1);
	assert_int_equal(ack, VIRTIO_NET_ERR);
	assert_int_equal(control(f, announce_other, 2, 1, &ack), 1);
	assert_int_equal(ack, VIRTIO_NET_ERR);
	assert_int_equal(control(f, unknown, 2, 1, &ack), 1);
	assert_int_equal(ack, VIRTIO_NET_ERR);
	/* The acknowledgement carries no data: with some it is no command. */
	assert_int_equal(control(f, ack_with_data, 3, 1, &ack), 1);
	assert_int_equal(ack, VIRTIO_NET_ERR);
	/* 8 MiB of command data, never read: the answer is the same. */
	memcpy(gp(&f->mem, CTLCMD), announce_ack, 2);
	assert_int_equal(control(f, NULL, 8u << 20, 1, &ack), 1);
	assert_int_equal(ack, VIRTIO_NET_ERR);
	assert_int_equal(config_status(&f->net.vdev), VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
	/* A longer writable part: the ack is its first byte. */
	assert_int_equal(control(f, announce_ack, 2, 64, &ack), 1);
	assert_int_equal(ack, VIRTIO_NET_OK);
	assert_int_equal(config_status(&f->net.vdev), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(f->net.ctrl_malformed, 0);
}

static void malformed_control_chains_come_back_unanswered_and_counted(void **state)
{
	F;
	uint8_t ack;

	driver_with(f, ANNOUNCE_FEATURES);
	assert_true(vj_net_announce(&f->net));
	/* A header of one byte. */
	assert_int_equal(control(f, announce_ack, 1, 1, &ack), 0);
	assert_int_equal(ack, 0xaa);
	/* No writable byte for the ack. */
	assert_int_equal(control(f, announce_ack, 2, 0, &ack), 0);
	/* The header outside guest RAM. */
	fake_desc(&f->ctl, 0, FAKE_OUTSIDE, 2, N, 1);
	fake_desc(&f->ctl, 1, CTLACK, 1, W, 0);
	fake_publish(&f->ctl, 0);
	vj_virtio_process(&f->net.vdev, VJ_NET_CTRLQ);
	assert_int_equal(fake_used(&f->ctl, 2).len, 0);
	/* Everything writable: no header to read. */
	memcpy(gp(&f->mem, CTLCMD), announce_ack, 2);
	fake_desc(&f->ctl, 0, CTLCMD, 2, W | N, 1);
	fake_desc(&f->ctl, 1, CTLACK, 1, W, 0);
	fake_publish(&f->ctl, 0);
	vj_virtio_process(&f->net.vdev, VJ_NET_CTRLQ);
	assert_int_equal(fake_used_idx(&f->ctl), 4);
	assert_int_equal(fake_used(&f->ctl, 3).len, 0);
	assert_int_equal(*(uint8_t *)gp(&f->mem, CTLACK), 0xaa);
	assert_int_equal(f->net.ctrl_malformed, 4);
	/* None of them acknowledged the announce; the device still works. */
	assert_int_equal(config_status(&f->net.vdev), VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
	assert_false(f->net.vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(control(f, announce_ack, 2, 1, &ack), 1);
	assert_int_equal(ack, VIRTIO_NET_OK);
}

/* The snapshot's (and a migration's) transport state holds the control
 * queue and the configuration generation, and a device restored from it
 * answers on that queue. */
static void the_control_queue_survives_a_snapshot_round_trip(void **state)
{
	F;
	struct vj_snap_virtio v;
	uint32_t gen;
	uint8_t ack;

	driver_with(f, ANNOUNCE_FEATURES);
	assert_true(vj_net_announce(&f->net));
	assert_int_equal(control(f, announce_ack, 2, 1, &ack), 1);
	gen = reg_read(&f->net.vdev, VIRTIO_MMIO_CONFIG_GENERATION);
	vj_virtio_save(&f->net.vdev, &v);
	assert_int_equal(v.nqueues, VJ_NET_NQUEUES);
	assert_true(v.q[VJ_NET_CTRLQ].ready);
	assert_int_equal(v.q[VJ_NET_CTRLQ].desc_gpa, f->ctl.desc);
	assert_int_equal(v.q[VJ_NET_CTRLQ].last_avail, 1);
	assert_int_equal(v.config_generation, gen);
	assert_true(v.driver_features & (1ull << VIRTIO_NET_F_GUEST_ANNOUNCE));

	reg_write(&f->net.vdev, VIRTIO_MMIO_STATUS, 0); /* a fresh device */
	vj_virtio_lock(&f->net.vdev);
	vj_virtio_unlock(&f->net.vdev);
	v.config_generation = gen + 5; /* as another device left it */
	assert_int_equal(vj_virtio_restore(&f->net.vdev, &v), 0);
	irqs_taken(&f->net.vdev);
	assert_int_equal(reg_read(&f->net.vdev, VIRTIO_MMIO_CONFIG_GENERATION), gen + 5);
	assert_true(vj_net_announce(&f->net));
	assert_int_equal(irqs_taken(&f->net.vdev), 1);
	assert_int_equal(control(f, announce_ack, 2, 1, &ack), 1);
	assert_int_equal(ack, VIRTIO_NET_OK);
	assert_int_equal(fake_used_idx(&f->ctl), 2);
	assert_int_equal(config_status(&f->net.vdev), VIRTIO_NET_S_LINK_UP);

	/* A section of the two-queue device (format version 1) is not this
	 * device's. */
	v.nqueues = 2;
	assert_int_equal(vj_virtio_restore(&f->net.vdev, &v), -EINVAL);
}

/* Whether a restored guest keeps its MAC, which decides its announce. */
static void a_restore_keeps_the_mac_unless_the_clone_names_another(void **state)
{
	static const uint8_t snap_mac[6] = { 0x02, 0, 0, 0, 0, 7 };
	F;

	vj_net_restore_mac(&f->net, true, snap_mac);
	assert_false(f->net.mac_kept); /* the clone's own MAC */
	vj_net_restore_mac(&f->net, true, (const uint8_t *)"\x52\x54\x00\x12\x34\x56");
	assert_true(f->net.mac_kept); /* the same one */
	vj_net_restore_mac(&f->net, false, snap_mac);
	assert_false(f->net.mac_kept); /* the snapshot's guest chose its own */
	f->cfg.has_mac = false;
	vj_net_restore_mac(&f->net, true, snap_mac);
	assert_true(f->net.mac_kept);
	vj_net_restore_mac(&f->net, false, snap_mac);
	assert_true(f->net.mac_kept);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(transmitted_frame_reaches_the_tap_unchanged),
		T(malformed_transmit_chains_send_nothing),
		T(received_frame_lands_with_a_clean_header),
		T(frame_too_big_for_the_buffer_is_dropped_and_the_buffer_kept),
		T(readable_receive_buffer_comes_back_empty),
		T(frame_waits_for_a_buffer),
		T(standalone_tap_is_opened_without_a_virtio_net_header),
		T(tap_with_a_virtio_net_header_is_refused),
		T(restore_gives_the_clone_its_own_mac),
		T(the_device_offers_a_control_queue_link_status_and_announce),
		T(announce_sets_the_status_bit_and_raises_a_config_interrupt),
		T(the_ack_clears_the_announce_bit),
		T(no_announce_for_a_driver_that_did_not_negotiate_it),
		T(the_announce_is_asked_again_in_rounds),
		T(an_unacknowledged_announce_is_raised_again),
		T(the_rounds_end_after_their_tries),
		T(a_reset_ends_the_rounds),
		T(without_a_move_there_is_no_announce_timer),
		T(commands_the_device_does_not_implement_are_answered_err),
		T(malformed_control_chains_come_back_unanswered_and_counted),
		T(the_control_queue_survives_a_snapshot_round_trip),
		T(a_restore_keeps_the_mac_unless_the_clone_names_another),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
