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
#define N VRING_DESC_F_NEXT
#define W VRING_DESC_F_WRITE

struct fixture {
	struct vj_guest_mem mem;
	struct fake_ring rx, tx;
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
	assert_int_equal(vj_net_create(&f.net, &f.cfg, 0, &f.mem), 0);
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
	assert_int_equal(vj_net_create(&n, &cfg, 1, &f->mem), -EINVAL);
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
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
