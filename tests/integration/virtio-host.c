/*
 * Host side of the virtio test guest's scenarios (tests/integration/
 * virtio-*.sh): makes and checks drive files, and plays the peer of the
 * guest on its tap device and on the vsock sockets. Prints one line per
 * finding; exits 0 when everything it checked held.
 *
 *   virtio-host mkdisk FILE           a drive with the known pattern
 *   virtio-host checkdisk FILE        after the `blk` scenario
 *   virtio-host checkdisk-ro FILE     after `blk-ro`: unchanged
 *   virtio-host net-peer IFNAME READY [PINGS]
 *                                     the guest's peer on tap IFNAME (run in
 *                                     its netns): creates the file READY once
 *                                     it listens, waits for IFNAME to exist
 *                                     (a jailed VMM's launcher creates it)
 *                                     and brings it up, waits for PINGS (1)
 *                                     pings, checks them, answers with the
 *                                     pong
 *   virtio-host announce-watch IFNAME MAC READY SECONDS [COUNT]
 *                                     (run in the tap's netns) creates
 *                                     READY once it listens, waits for
 *                                     IFNAME to exist and brings it up,
 *                                     then for COUNT (1) gratuitous ARPs
 *                                     (sender and target address the same)
 *                                     from MAC (aa:bb:cc:dd:ee:ff) arriving
 *                                     on it, within SECONDS: a line
 *                                     "gratuitous ARP from MAC for IP on
 *                                     IFNAME" for each and 0, or a line
 *                                     saying how many came and 1
 *   virtio-host vsock-peer UDS READY  the guest's peer for the `vsock`
 *                                     scenario: listens on UDS_5678
 *                                     (READY once it does), connects
 *                                     through UDS with CONNECT 1234, streams
 *                                     bytes and checks the guest's echo,
 *                                     then serves the guest's connection
 *   virtio-host tsc-mhz               the TSC rate, measured against
 *                                     CLOCK_MONOTONIC over 200 ms (bench/)
 *   virtio-host unix-socket PATH dead a socket file at PATH nobody listens on
 *   virtio-host unix-socket PATH listen SECONDS
 *                                     one that is listened on for SECONDS
 *                                     (the jail tests' stand-ins for a
 *                                     dead and a live owner of a path)
 *   virtio-host watch-name DIR NAME READY SECONDS
 *                                     how NAME first appears in DIR within
 *                                     SECONDS (READY once it watches):
 *                                     "NAME: created" (a file made at that
 *                                     name: bind(), open()) or "NAME: moved
 *                                     in" (renamed there whole)
 *   virtio-host vsock-guest           inside a Linux guest (built static for
 *                                     that): the guest half of vsock-peer's
 *                                     protocol over AF_VSOCK, as the test
 *                                     guest's `vsock` scenario does it
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/vm_sockets.h>

#include "tests/guest/virtio/vnet.h"
#include "tests/guest/virtio/vpattern.h"
#include "tests/guest/virtio/vvsock.h"

#define PEER_TIMEOUT_MS 30000

static int die(const char *what)
{
	fprintf(stderr, "virtio-host: %s: %s\n", what, strerror(errno));
	return 2;
}

static int mkdisk(const char *path)
{
	static uint8_t buf[VPAT_DISK_SIZE];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return die(path);
	for (uint32_t i = 0; i < sizeof(buf); i++)
		buf[i] = vpattern(i);
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || fsync(fd) < 0)
		return die(path);
	close(fd);
	return 0;
}

/* What byte `off` must hold after the `blk` scenario (or unchanged). */
static uint8_t expected(uint64_t off, bool written)
{
	if (!written)
		return vpattern(off);
	if (off >= VPAT_WRITE_OFF && off < VPAT_WRITE_OFF + VPAT_WRITE_LEN)
		return vpattern(off) ^ 0xff;
	if ((off >= VPAT_ZERO_OFF && off < VPAT_ZERO_OFF + VPAT_ZERO_LEN) ||
	    (off >= VPAT_DISCARD_OFF && off < VPAT_DISCARD_OFF + VPAT_DISCARD_LEN))
		return 0;
	return vpattern(off);
}

static int checkdisk(const char *path, bool written)
{
	static uint8_t buf[VPAT_DISK_SIZE];
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		return die(path);
	if (st.st_size != VPAT_DISK_SIZE) {
		printf("size %lld, want %u\n", (long long)st.st_size, VPAT_DISK_SIZE);
		return 1;
	}
	if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return die(path);
	close(fd);
	for (uint32_t i = 0; i < sizeof(buf); i++) {
		if (buf[i] != expected(i, written)) {
			printf("byte 0x%x is 0x%x, want 0x%x\n", i, buf[i], expected(i, written));
			return 1;
		}
	}
	printf("contents ok, %lld blocks of 512 bytes allocated\n", (long long)st.st_blocks);
	return 0;
}

static int ready(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return die(path);
	close(fd);
	return 0;
}

/* The guest's ping: from its MAC, tag and pattern intact. */
static bool ping_ok(const uint8_t *f, ssize_t n)
{
	static const uint8_t mac[6] = VNET_GUEST_MAC;
	size_t tag = sizeof(VNET_PING) - 1;

	if (n != VNET_PING_LEN) {
		printf("ping of %zd bytes, want %d\n", n, VNET_PING_LEN);
		return false;
	}
	if (memcmp(f + 6, mac, 6) || memcmp(f + 14, VNET_PING, tag)) {
		printf("ping with a wrong source MAC or tag\n");
		return false;
	}
	for (unsigned i = 14 + tag; i < VNET_PING_LEN; i++) {
		if (f[i] != vnet_byte(i, 0)) {
			printf("ping byte %u is 0x%x, want 0x%x\n", i, f[i], vnet_byte(i, 0));
			return false;
		}
	}
	return true;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The tap's index once it exists, up. The launcher creates a jailed VMM's
 * tap only as the sandbox starts, down; frames the guest writes into a
 * tap that is down are lost. nl: a NETLINK_ROUTE socket in RTMGRP_LINK,
 * whose messages only wake us. 0 after PEER_TIMEOUT_MS.
 */
static int link_up(int s, int nl, const char *ifname)
{
	struct ifreq ifr = { 0 };
	uint64_t give_up = now_ms() + PEER_TIMEOUT_MS;
	char buf[8192];
	unsigned idx;

	while (!(idx = if_nametoindex(ifname))) {
		struct pollfd p = { .fd = nl, .events = POLLIN };
		uint64_t now = now_ms();

		if (now >= give_up || poll(&p, 1, (int)(give_up - now)) < 0)
			return 0;
		while (recv(nl, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return 0;
	return (int)idx;
}

/*
 * A packet socket taking proto's frames on every interface of this network
 * namespace (the tap may not exist yet), ready_file made, then ifname
 * brought up once it exists. The socket, and ifname's index in *idx; or
 * -1 (and the reason on stderr).
 */
static int watch_tap(const char *ifname, uint16_t proto, const char *ready_file, int *idx)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(proto) };
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(proto));
	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	*idx = 0;
	if (s < 0 || nl < 0) {
		die("socket(AF_PACKET, AF_NETLINK)");
	} else if (bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
		   bind(nl, (struct sockaddr *)&snl, sizeof(snl)) < 0) {
		die("bind");
	} else if (ready(ready_file) == 0 && !(*idx = link_up(s, nl, ifname))) {
		die(ifname);
	}
	if (nl >= 0)
		close(nl);
	if (s >= 0 && *idx)
		return s;
	if (s >= 0)
		close(s);
	return -1;
}

static int net_peer(const char *ifname, const char *ready_file, int pings)
{
	static const uint8_t guest[6] = VNET_GUEST_MAC, peer[6] = VNET_PEER_MAC;
	struct sockaddr_ll sll;
	socklen_t sll_len;
	uint8_t f[2048];
	struct pollfd pfd;
	ssize_t n;
	int idx, s = watch_tap(ifname, VNET_ETHERTYPE, ready_file, &idx);

	if (s < 0)
		return 2;
	for (int i = 0; i < pings;) {
		pfd = (struct pollfd){ .fd = s, .events = POLLIN };
		if (poll(&pfd, 1, PEER_TIMEOUT_MS) != 1) {
			printf("no frame from the guest after %d pings\n", i);
			return 1;
		}
		sll_len = sizeof(sll);
		n = recvfrom(s, f, sizeof(f), 0, (struct sockaddr *)&sll, &sll_len);
		if (n < 0)
			return die("recv");
		if (sll.sll_ifindex != idx)
			continue;
		if (!ping_ok(f, n))
			return 1;
		i++;
	}
	printf("%d pings from the guest ok\n", pings);
	memcpy(f, guest, 6);
	memcpy(f + 6, peer, 6);
	memcpy(f + 14, VNET_PONG, sizeof(VNET_PONG) - 1);
	for (unsigned i = 14 + sizeof(VNET_PONG) - 1; i < VNET_PONG_LEN; i++)
		f[i] = vnet_byte(i, 1);
	sll = (struct sockaddr_ll){ .sll_family = AF_PACKET, .sll_protocol = htons(VNET_ETHERTYPE),
				    .sll_ifindex = idx };
	if (sendto(s, f, VNET_PONG_LEN, 0, (struct sockaddr *)&sll, sizeof(sll)) != VNET_PONG_LEN)
		return die("send");
	printf("pong sent\n");
	close(s);
	return 0;
}

/* An ARP announcement for IPv4 over Ethernet from mac, as a guest sends
 * it when asked to announce itself: sender hardware address mac, sender
 * and target protocol addresses the same (request or reply). */
static bool gratuitous_arp_from(const uint8_t *f, ssize_t n, const uint8_t mac[6])
{
	static const uint8_t ipv4_over_ethernet[6] = { 0, 1, 8, 0, 6, 4 };
	const uint8_t *a = f + 14;

	return n >= 14 + 28 && f[12] == 0x08 && f[13] == 0x06 && !memcmp(f + 6, mac, 6) &&
	       !memcmp(a, ipv4_over_ethernet, 6) && a[6] == 0 && (a[7] == 1 || a[7] == 2) &&
	       !memcmp(a + 8, mac, 6) && !memcmp(a + 14, a + 24, 4);
}

static int announce_watch(const char *ifname, const char *mac_text, const char *ready_file,
			  unsigned seconds, unsigned count)
{
	unsigned seen = 0;
	struct sockaddr_ll sll;
	uint64_t up, give_up;
	uint8_t mac[6], f[2048];
	socklen_t sll_len;
	ssize_t n;
	int s, idx;

	if (sscanf(mac_text, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
		   &mac[4], &mac[5]) != 6) {
		fprintf(stderr, "virtio-host: %s: not a MAC address\n", mac_text);
		return 2;
	}
	if ((s = watch_tap(ifname, ETH_P_ARP, ready_file, &idx)) < 0)
		return 2;
	up = now_ms();
	give_up = up + seconds * 1000ull;
	for (uint64_t now = up; now < give_up; now = now_ms()) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		if (poll(&p, 1, (int)(give_up - now)) != 1)
			continue;
		sll_len = sizeof(sll);
		n = recvfrom(s, f, sizeof(f), 0, (struct sockaddr *)&sll, &sll_len);
		if (n < 0)
			return die("recv");
		if (sll.sll_ifindex != idx || !gratuitous_arp_from(f, n, mac))
			continue;
		printf("gratuitous ARP from %s for %u.%u.%u.%u on %s, %llu ms after it came up\n",
		       mac_text, f[28], f[29], f[30], f[31], ifname,
		       (unsigned long long)(now_ms() - up));
		fflush(stdout);
		if (++seen == count)
			return 0;
	}
	if (seen)
		printf("only %u of %u gratuitous ARPs from %s on %s in %u s\n", seen, count,
		       mac_text, ifname, seconds);
	else
		printf("no gratuitous ARP from %s on %s in %u s\n", mac_text, ifname, seconds);
	return 1;
}

static int unix_addr(struct sockaddr_un *sa, const char *path, const char *suffix)
{
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s%s", path, suffix) >=
	    sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Reads one line (up to '\n') a byte at a time: nothing past it is taken. */
static ssize_t read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, 1);
		if (r <= 0)
			return r < 0 ? -1 : (ssize_t)n;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

/* CONNECT through the VMM's socket, retrying for a minute while the VMM,
 * the guest's driver or its listener is not up yet (the VMM then closes
 * the connection, possibly before our line is even written). */
static int vsock_connect(const char *uds, unsigned port)
{
	struct sockaddr_un sa;
	char line[64];

	if (unix_addr(&sa, uds, "") < 0)
		return -1;
	for (int tries = 0; tries < 3000; tries++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		int n;

		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
			if (write(fd, line, (size_t)n) == n && read_line(fd, line, sizeof(line)) > 0) {
				if (!strncmp(line, "OK ", 3)) {
					printf("connected: %s", line);
					return fd;
				}
				printf("CONNECT answered \"%s\"\n", line);
				close(fd);
				return -1;
			}
		}
		close(fd);
		nanosleep(&ts, NULL);
	}
	printf("no answer to CONNECT %u on %s\n", port, uds);
	return -1;
}

/* Streams VVSOCK_STREAM_BYTES and expects each back + 1, then half-closes
 * and expects the guest's end-of-stream. */
static int vsock_stream(int fd)
{
	static uint8_t out[8192], in[8192];
	uint32_t sent = 0, got = 0;

	while (got < VVSOCK_STREAM_BYTES) {
		struct pollfd p = { .fd = fd, .events = POLLIN |
						       (sent < VVSOCK_STREAM_BYTES ? POLLOUT : 0) };
		ssize_t n;

		if (poll(&p, 1, PEER_TIMEOUT_MS) != 1) {
			printf("stream stalled: sent %u, echoed %u\n", sent, got);
			return 1;
		}
		if ((p.revents & POLLOUT) && sent < VVSOCK_STREAM_BYTES) {
			uint32_t len = VVSOCK_STREAM_BYTES - sent < sizeof(out) ?
					       VVSOCK_STREAM_BYTES - sent : (uint32_t)sizeof(out);
			for (uint32_t i = 0; i < len; i++)
				out[i] = vvsock_byte(sent + i);
			n = write(fd, out, len);
			if (n < 0)
				return die("write to the guest");
			sent += (uint32_t)n;
			if (sent == VVSOCK_STREAM_BYTES)
				shutdown(fd, SHUT_WR);
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			n = read(fd, in, sizeof(in));
			if (n <= 0) {
				printf("stream ended after %u of %u echoed bytes\n", got,
				       VVSOCK_STREAM_BYTES);
				return 1;
			}
			for (ssize_t i = 0; i < n; i++, got++) {
				if (in[i] != (uint8_t)(vvsock_byte(got) + 1)) {
					printf("echoed byte %u is 0x%x, want 0x%x\n", got, in[i],
					       (uint8_t)(vvsock_byte(got) + 1));
					return 1;
				}
			}
		}
	}
	if (read(fd, in, 1) != 0) {
		printf("no end of stream after the echo\n");
		return 1;
	}
	printf("streamed %u bytes, echo ok, end of stream ok\n", got);
	return 0;
}

static int vsock_serve(int lfd)
{
	char line[64];
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int fd;

	if (poll(&p, 1, PEER_TIMEOUT_MS) != 1) {
		printf("the guest never connected to port %u\n", VVSOCK_HOST_PORT);
		return 1;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return die("accept");
	if (read_line(fd, line, sizeof(line)) <= 0 || strcmp(line, VVSOCK_HELLO)) {
		printf("the guest said \"%s\"\n", line);
		return 1;
	}
	if (write(fd, VVSOCK_REPLY, sizeof(VVSOCK_REPLY) - 1) != sizeof(VVSOCK_REPLY) - 1)
		return die("write");
	close(fd);
	printf("guest connection to port %u ok\n", VVSOCK_HOST_PORT);
	return 0;
}

static int vsock_peer(const char *uds, const char *ready_file)
{
	struct sockaddr_un sa;
	char suffix[16];
	int lfd, fd, r;

	snprintf(suffix, sizeof(suffix), "_%u", VVSOCK_HOST_PORT);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || unix_addr(&sa, uds, suffix) < 0)
		return die("socket");
	unlink(sa.sun_path);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0)
		return die(sa.sun_path);
	if (ready(ready_file))
		return 2;
	fd = vsock_connect(uds, VVSOCK_GUEST_PORT);
	if (fd < 0)
		return 1;
	r = vsock_stream(fd);
	close(fd);
	if (r == 0)
		r = vsock_serve(lfd);
	close(lfd);
	unlink(sa.sun_path);
	return r;
}

static int tsc_mhz(void)
{
	struct timespec a, b, pause = { 0, 200 * 1000 * 1000 };
	uint64_t t0, t1;
	uint32_t lo, hi;

	clock_gettime(CLOCK_MONOTONIC, &a);
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	t0 = (uint64_t)hi << 32 | lo;
	nanosleep(&pause, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	t1 = (uint64_t)hi << 32 | lo;
	printf("%.0f\n", (double)(t1 - t0) * 1e3 /
				 (double)((b.tv_sec - a.tv_sec) * 1000000000ll + (b.tv_nsec - a.tv_nsec)));
	return 0;
}

/* Accepts one connection on port VVSOCK_GUEST_PORT, echoes every byte + 1
 * until end of stream; then connects to the host's VVSOCK_HOST_PORT, says
 * hello, prints the answer. */
static int vsock_guest(void)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
				  .svm_port = VVSOCK_GUEST_PORT };
	static uint8_t buf[65536];
	char reply[64] = { 0 };
	uint64_t echoed = 0;
	ssize_t n;
	int lfd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0), fd;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0)
		return die("vsock listen");
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return die("vsock accept");
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			buf[i]++;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w <= 0)
				return die("vsock write");
			off += w;
		}
		echoed += (uint64_t)n;
	}
	close(fd);
	close(lfd);
	printf("vsock-guest: echoed %llu bytes\n", (unsigned long long)echoed);
	sa = (struct sockaddr_vm){ .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
				   .svm_port = VVSOCK_HOST_PORT };
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return die("vsock connect to the host");
	if (write(fd, VVSOCK_HELLO, sizeof(VVSOCK_HELLO) - 1) != sizeof(VVSOCK_HELLO) - 1 ||
	    read_line(fd, reply, sizeof(reply)) <= 0)
		return die("vsock hello");
	printf("vsock-guest: the host said %s", reply);
	close(fd);
	return 0;
}

static int unix_socket(const char *path, const char *how, unsigned seconds)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || unix_addr(&sa, path, "") < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return die(path);
	if (!strcmp(how, "listen")) {
		if (listen(fd, 1) < 0)
			return die("listen");
		sleep(seconds);
	}
	close(fd);
	return 0;
}

static int watch_name(const char *dir, const char *name, const char *ready_file,
		      unsigned seconds)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int fd = inotify_init1(IN_CLOEXEC);
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (fd < 0 || inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO) < 0)
		return die(dir);
	if (ready(ready_file))
		return 2;
	while (poll(&p, 1, (int)seconds * 1000) == 1) {
		ssize_t n = read(fd, buf, sizeof(buf));
		for (char *e = buf; n > 0 && e < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)e;
			if (ev->len && !strcmp(ev->name, name)) {
				printf("%s: %s\n", name, ev->mask & IN_CREATE ? "created" : "moved in");
				return 0;
			}
			e += sizeof(*ev) + ev->len;
		}
	}
	printf("%s: never appeared\n", name);
	return 1;
}

int main(int argc, char **argv)
{
	/* A peer that closed is an error to report, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && !strcmp(argv[1], "mkdisk"))
		return mkdisk(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "checkdisk"))
		return checkdisk(argv[2], true);
	if (argc == 3 && !strcmp(argv[1], "checkdisk-ro"))
		return checkdisk(argv[2], false);
	if (argc == 2 && !strcmp(argv[1], "vsock-guest"))
		return vsock_guest();
	if (argc == 2 && !strcmp(argv[1], "tsc-mhz"))
		return tsc_mhz();
	if (argc == 4 && !strcmp(argv[1], "vsock-peer"))
		return vsock_peer(argv[2], argv[3]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "net-peer"))
		return net_peer(argv[2], argv[3], argc == 5 ? atoi(argv[4]) : 1);
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "announce-watch"))
		return announce_watch(argv[2], argv[3], argv[4], (unsigned)atoi(argv[5]),
				      argc == 7 ? (unsigned)atoi(argv[6]) : 1);
	if (argc == 4 && !strcmp(argv[1], "unix-socket") && !strcmp(argv[3], "dead"))
		return unix_socket(argv[2], argv[3], 0);
	if (argc == 5 && !strcmp(argv[1], "unix-socket") && !strcmp(argv[3], "listen"))
		return unix_socket(argv[2], argv[3], (unsigned)atoi(argv[4]));
	if (argc == 6 && !strcmp(argv[1], "watch-name"))
		return watch_name(argv[2], argv[3], argv[4], (unsigned)atoi(argv[5]));
	fprintf(stderr, "usage: see the comment at the top of tests/integration/virtio-host.c\n");
	return 2;
}
