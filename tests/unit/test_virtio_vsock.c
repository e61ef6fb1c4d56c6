/*
 * virtio-vsock request handling (vmm/virtio/vsock.c): the guest side is a
 * fake ring driven by the test, the host side real AF_UNIX sockets on a
 * real event loop, and the broker played by the test.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/virtio_mmio.h>

#include "unit.h"
#include "test_virtio_util.h"
#include "config.h"
#include "eventloop.h"
#include "virtio/vsock.h"
#include "vsock_broker_proto.h"

#define GUEST_CID 3
#define QSIZE 32
#define RXBUFS 16
#define RXBUF(i) (FAKE_BUF + (uint64_t)(i) * 0x2000)
#define RXBUF_LEN (VJ_VSOCK_HDR_LEN + 4096)
#define TXHDR 0x200000ull
#define TXDATA 0x201000ull
#define HDR_LEN ((uint32_t)VJ_VSOCK_HDR_LEN)
#define N VRING_DESC_F_NEXT
#define W VRING_DESC_F_WRITE
#define OP(x) VIRTIO_VSOCK_OP_##x

struct fixture {
	struct vj_guest_mem mem;
	struct fake_ring rx, tx, ev;
	struct vj_vsock_config cfg;
	struct vj_vsock v;
	struct vj_loop loop;
	struct sockaddr_un addr;
	int broker; /* the test's end of the broker pair */
	uint16_t rx_seen, tx_next;
};

static int start(void **state, bool with_broker)
{
	static struct fixture f;
	int sv[2] = { -1, -1 }, lfd;

	memset(&f, 0, sizeof(f));
	f.broker = -1;
	assert_int_equal(vj_mem_create(&f.mem, FAKE_MEM_SIZE, VJ_MEMORY_4K, VJ_THP_UNKNOWN), 0);
	fake_ring_init_slot(&f.rx, &f.mem, QSIZE, 0);
	fake_ring_init_slot(&f.tx, &f.mem, QSIZE, 1);
	fake_ring_init_slot(&f.ev, &f.mem, 8, 2);
	/* An abstract socket: nothing on the filesystem. */
	f.addr.sun_family = AF_UNIX;
	snprintf(f.addr.sun_path + 1, sizeof(f.addr.sun_path) - 1, "vjtest-vsock-%d", getpid());
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&f.addr, sizeof(f.addr)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	if (with_broker) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
		f.broker = sv[1];
	}
	f.cfg = (struct vj_vsock_config){ .enabled = true, .guest_cid = GUEST_CID,
					  .uds = { "test.sock", lfd }, .broker = { "", sv[0] } };
	assert_int_equal(vj_vsock_create(&f.v, &f.cfg, &f.mem), 0);
	assert_int_equal(vj_loop_init(&f.loop), 0);
	assert_int_equal(vj_vsock_start(&f.v, &f.loop), 0);
	fake_driver_init(&f.v.vdev, 0, &f.rx, 3);
	assert_true(vj_virtio_running(&f.v.vdev));
	for (uint16_t i = 0; i < RXBUFS; i++) {
		fake_desc(&f.rx, i, RXBUF(i), RXBUF_LEN, W, 0);
		fake_publish(&f.rx, i);
	}
	vj_virtio_process(&f.v.vdev, VJ_VSOCK_RXQ);
	*state = &f;
	return 0;
}

static int setup(void **state)
{
	return start(state, true);
}

static int setup_no_broker(void **state)
{
	return start(state, false);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vj_vsock_destroy(&f->v);
	vj_loop_destroy(&f->loop);
	close(f->cfg.uds.fd);
	if (f->broker >= 0) {
		close(f->broker);
		close(f->cfg.broker.fd);
	}
	vj_mem_destroy(&f->mem);
	return 0;
}

#define F struct fixture *f = *state

/* Runs the event loop until it has been idle for 50 ms. */
static void pump(struct fixture *f)
{
	while (vj_loop_poll(&f->loop, 50) > 0)
		;
}

static struct virtio_vsock_hdr hdr(uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	return (struct virtio_vsock_hdr){ .src_cid = GUEST_CID, .dst_cid = VJ_VSOCK_HOST_CID,
					  .src_port = src_port, .dst_port = dst_port,
					  .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op,
					  .buf_alloc = 65536 };
}

/* The guest transmits header h followed by len payload bytes. */
static void guest_send_raw(struct fixture *f, const struct virtio_vsock_hdr *h,
			   const void *data, uint32_t len)
{
	uint16_t d = f->tx_next;

	f->tx_next = (uint16_t)((f->tx_next + 2) % QSIZE);
	memcpy(gp(&f->mem, TXHDR), h, sizeof(*h));
	if (len)
		memcpy(gp(&f->mem, TXDATA), data, len);
	fake_desc(&f->tx, d, TXHDR, HDR_LEN, len ? N : 0, (uint16_t)(d + 1));
	fake_desc(&f->tx, (uint16_t)(d + 1), TXDATA, len, 0, 0);
	fake_publish(&f->tx, d);
	vj_virtio_process(&f->v.vdev, VJ_VSOCK_TXQ);
}

static void guest_send(struct fixture *f, uint16_t op, uint32_t src_port, uint32_t dst_port,
		       const void *data, uint32_t len)
{
	struct virtio_vsock_hdr h = hdr(op, src_port, dst_port);

	h.len = len;
	guest_send_raw(f, &h, data, len);
}

/* The next packet the device gave the guest; the buffer is re-posted. */
static bool guest_recv(struct fixture *f, struct virtio_vsock_hdr *h, void *data, uint32_t cap)
{
	struct vring_used_elem e;

	if (fake_used_idx(&f->rx) == f->rx_seen)
		return false;
	e = fake_used(&f->rx, f->rx_seen++);
	assert_true(e.id < RXBUFS);
	assert_true(e.len >= HDR_LEN);
	memcpy(h, gp(&f->mem, RXBUF(e.id)), sizeof(*h));
	assert_int_equal(h->len, e.len - HDR_LEN);
	assert_true(h->len <= cap);
	if (h->len)
		memcpy(data, gp(&f->mem, RXBUF(e.id) + HDR_LEN), h->len);
	fake_publish(&f->rx, (uint16_t)e.id);
	return true;
}

static struct virtio_vsock_hdr expect_packet(struct fixture *f, uint16_t op)
{
	static uint8_t data[4096];
	struct virtio_vsock_hdr h;

	assert_true(guest_recv(f, &h, data, sizeof(data)));
	assert_int_equal(h.op, op);
	assert_true(h.src_cid == VJ_VSOCK_HOST_CID && h.dst_cid == GUEST_CID);
	return h;
}

static void expect_no_packet(struct fixture *f)
{
	struct virtio_vsock_hdr h;
	uint8_t data[4096];

	pump(f);
	assert_false(guest_recv(f, &h, data, sizeof(data)));
}

static ssize_t read_within(int fd, void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 2000) != 1)
		return -2;
	return read(fd, buf, len);
}

static int host_connect(struct fixture *f)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_int_equal(connect(fd, (struct sockaddr *)&f->addr, sizeof(f->addr)), 0);
	return fd;
}

/* A host connection to guest port 1234 that the guest accepts with a
 * receive space of guest_buf bytes. Returns the host socket. */
static int established(struct fixture *f, uint32_t guest_buf, uint32_t *host_port)
{
	struct virtio_vsock_hdr req, resp;
	char line[32] = { 0 }, want[32];
	int fd = host_connect(f);

	assert_int_equal(write(fd, "CONNECT 1234\n", 13), 13);
	pump(f);
	req = expect_packet(f, OP(REQUEST));
	assert_int_equal(req.dst_port, 1234);
	assert_true(req.src_port >= 1u << 30);
	assert_int_equal(req.buf_alloc, VJ_VSOCK_BUF_ALLOC);
	resp = hdr(OP(RESPONSE), 1234, req.src_port);
	resp.buf_alloc = guest_buf;
	guest_send_raw(f, &resp, NULL, 0);
	snprintf(want, sizeof(want), "OK %u\n", req.src_port);
	assert_int_equal(read_within(fd, line, strlen(want)), strlen(want));
	assert_string_equal(line, want);
	*host_port = req.src_port;
	return fd;
}

static void host_connect_gets_ok_with_its_port(void **state)
{
	F;
	uint32_t port;
	int fd = established(f, 4096, &port);

	close(fd);
}

static void guest_data_reaches_the_host_socket(void **state)
{
	F;
	uint32_t port;
	int fd = established(f, 4096, &port);
	char buf[8] = { 0 };

	guest_send(f, OP(RW), 1234, port, "hello", 5);
	assert_int_equal(read_within(fd, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	close(fd);
}

static void host_data_is_bounded_by_the_guests_credit(void **state)
{
	F;
	uint32_t port;
	int fd = established(f, 100, &port);
	uint8_t out[300], in[4096];
	struct virtio_vsock_hdr h, upd;

	for (unsigned i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)i;
	assert_int_equal(write(fd, out, sizeof(out)), sizeof(out));
	pump(f);
	assert_true(guest_recv(f, &h, in, sizeof(in)));
	assert_int_equal(h.op, OP(RW));
	assert_int_equal(h.len, 100);
	assert_memory_equal(in, out, 100);
	/* Out of credit: the device asks once and waits. */
	expect_packet(f, OP(CREDIT_REQUEST));
	expect_no_packet(f);
	upd = hdr(OP(CREDIT_UPDATE), 1234, port);
	upd.buf_alloc = 100;
	upd.fwd_cnt = 100;
	guest_send_raw(f, &upd, NULL, 0);
	assert_true(guest_recv(f, &h, in, sizeof(in)));
	assert_int_equal(h.op, OP(RW));
	assert_int_equal(h.len, 100);
	assert_memory_equal(in, out + 100, 100);
	close(fd);
}

static void guest_beyond_its_credit_is_reset(void **state)
{
	F;
	static uint8_t big[60000];
	uint32_t port;
	int fd = established(f, 4096, &port);
	struct virtio_vsock_hdr h;
	uint8_t in[4096];
	bool reset = false;

	/* The host reads nothing: once its socket is full the device buffers,
	 * and a guest that keeps sending has ignored the credit it was given. */
	for (int i = 0; i < 20 && !reset; i++) {
		guest_send(f, OP(RW), 1234, port, big, sizeof(big));
		while (guest_recv(f, &h, in, sizeof(in)))
			reset |= h.op == OP(RST) && h.dst_port == 1234 && h.src_port == port;
	}
	assert_true(reset);
	close(fd);
}

static void packets_not_between_our_guest_and_the_host_are_dropped(void **state)
{
	F;
	struct virtio_vsock_hdr h = hdr(OP(REQUEST), 7, 5678);

	h.src_cid = GUEST_CID + 1;
	guest_send_raw(f, &h, NULL, 0);
	h = hdr(OP(REQUEST), 7, 5678);
	h.dst_cid = 5;
	guest_send_raw(f, &h, NULL, 0);
	expect_no_packet(f);
	assert_int_equal(fake_used_idx(&f->tx), 2);
}

static void malformed_packets_are_answered_with_a_reset(void **state)
{
	F;
	struct virtio_vsock_hdr h = hdr(OP(RW), 7, 99);

	h.len = 10; /* but 5 follow */
	guest_send_raw(f, &h, "12345", 5);
	h = expect_packet(f, OP(RST));
	assert_true(h.src_port == 99 && h.dst_port == 7);
	h = hdr(OP(REQUEST), 8, 99);
	h.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	guest_send_raw(f, &h, NULL, 0);
	expect_packet(f, OP(RST));
	guest_send(f, 0x77, 9, 99, NULL, 0);
	expect_packet(f, OP(RST));
	/* A reset for nothing gets no answer. */
	guest_send(f, OP(RST), 10, 99, NULL, 0);
	expect_no_packet(f);
}

static void chain_with_a_writable_header_is_dropped(void **state)
{
	F;
	struct virtio_vsock_hdr h = hdr(OP(REQUEST), 7, 5678);

	memcpy(gp(&f->mem, TXHDR), &h, sizeof(h));
	fake_desc(&f->tx, 0, TXHDR, HDR_LEN, W, 0);
	fake_publish(&f->tx, 0);
	vj_virtio_process(&f->v.vdev, VJ_VSOCK_TXQ);
	assert_int_equal(fake_used(&f->tx, 0).len, 0);
	expect_no_packet(f);
}

static void guest_connect_without_a_broker_is_reset(void **state)
{
	F;
	struct virtio_vsock_hdr h;

	guest_send(f, OP(REQUEST), 5000, 5678, NULL, 0);
	h = expect_packet(f, OP(RST));
	assert_true(h.src_port == 5678 && h.dst_port == 5000);
}

/* Plays the broker: reads the VMM's request for port and answers it the
 * way both real brokers do. */
static void broker_answer(struct fixture *f, uint32_t port, int error, int fd)
{
	struct vj_vsock_broker_request q;

	assert_int_equal(read_within(f->broker, &q, sizeof(q)), sizeof(q));
	assert_int_equal(q.port, port);
	vj_vsock_broker_send_answer(f->broker, q.cookie, error, fd);
}

static void guest_connect_goes_through_the_broker(void **state)
{
	F;
	int sp[2];
	char buf[8] = { 0 };
	struct virtio_vsock_hdr h;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
	guest_send(f, OP(REQUEST), 5000, 5678, NULL, 0);
	broker_answer(f, 5678, 0, sp[0]);
	close(sp[0]);
	pump(f);
	h = expect_packet(f, OP(RESPONSE));
	assert_true(h.src_port == 5678 && h.dst_port == 5000);
	guest_send(f, OP(RW), 5000, 5678, "hi", 2);
	assert_int_equal(read_within(sp[1], buf, sizeof(buf)), 2);
	assert_string_equal(buf, "hi");
	/* A refused connection is a reset. */
	guest_send(f, OP(REQUEST), 5001, 5679, NULL, 0);
	broker_answer(f, 5679, -ECONNREFUSED, -1);
	pump(f);
	h = expect_packet(f, OP(RST));
	assert_true(h.src_port == 5679 && h.dst_port == 5001);
	close(sp[1]);
}

static void guest_shutting_both_ways_gets_a_reset_and_closes_the_host(void **state)
{
	F;
	uint32_t port;
	int fd = established(f, 4096, &port);
	struct virtio_vsock_hdr h = hdr(OP(SHUTDOWN), 1234, port);
	char c;

	h.flags = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
	guest_send_raw(f, &h, NULL, 0);
	expect_packet(f, OP(RST));
	assert_int_equal(read_within(fd, &c, 1), 0);
	close(fd);
}

static void host_close_is_a_shutdown_both_ways_for_the_guest(void **state)
{
	F;
	uint32_t port;
	int fd = established(f, 4096, &port);
	struct virtio_vsock_hdr h;

	close(fd);
	pump(f);
	h = expect_packet(f, OP(SHUTDOWN));
	assert_int_equal(h.flags, VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
}

static void connect_line_garbage_closes_the_host_connection(void **state)
{
	F;
	int fd = host_connect(f);
	char c;

	assert_int_equal(write(fd, "CONNECT 12x4\n", 13), 13);
	pump(f);
	assert_int_equal(read_within(fd, &c, 1), 0);
	close(fd);
	fd = host_connect(f);
	for (int i = 0; i < 40; i++) /* no newline within the line limit */
		assert_int_equal(write(fd, "C", 1), 1);
	pump(f);
	/* Closed with bytes unread: end of file or a connection reset. */
	ssize_t r = read_within(fd, &c, 1);
	assert_true(r == 0 || (r == -1 && errno == ECONNRESET));
	close(fd);
	expect_no_packet(f);
}

static void device_reset_closes_host_connections(void **state)
{
	F;
	uint32_t port;
	int fd = established(f, 4096, &port);
	char c;

	reg_write(&f->v.vdev, VIRTIO_MMIO_STATUS, 0);
	/* The VMM thread cleans up before its next work on the device. */
	vj_virtio_lock(&f->v.vdev);
	vj_virtio_unlock(&f->v.vdev);
	assert_int_equal(read_within(fd, &c, 1), 0);
	close(fd);
}

/* ---- the transport reset of a restore ---- */

#define EVBUF(i) (FAKE_BUF + 0x80000 + (uint64_t)(i) * 0x100)

static void post_event_buffer(struct fixture *f, uint16_t i, uint32_t len)
{
	memset(gp(&f->mem, EVBUF(i)), 0xee, 16);
	fake_desc(&f->ev, i, EVBUF(i), len, W, 0);
	fake_publish(&f->ev, i);
}

static void expect_reset_event(struct fixture *f, uint16_t used_i, uint16_t buf)
{
	struct vring_used_elem e = fake_used(&f->ev, used_i);
	uint32_t id;

	assert_int_equal(e.id, buf);
	assert_int_equal(e.len, sizeof(struct virtio_vsock_event));
	memcpy(&id, gp(&f->mem, EVBUF(buf)), sizeof(id));
	assert_int_equal(id, VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
}

static void transport_reset_closes_host_sockets_and_tells_the_guest(void **state)
{
	F;
	uint32_t port;
	int fd = established(f, 4096, &port);
	char c;

	post_event_buffer(f, 0, 4);
	vj_virtio_process(&f->v.vdev, VJ_VSOCK_EVQ);
	assert_int_equal(fake_used_idx(&f->ev), 0); /* nothing to say yet */
	irqs_taken(&f->v.vdev);
	vj_vsock_transport_reset(&f->v);
	assert_int_equal(read_within(fd, &c, 1), 0);
	assert_int_equal(fake_used_idx(&f->ev), 1);
	expect_reset_event(f, 0, 0);
	assert_true(irqs_taken(&f->v.vdev) > 0);
	/* The dropped connection is gone: the guest's packets on it get a
	 * reset, no packet about it is owed. */
	expect_no_packet(f);
	guest_send(f, OP(RW), 1234, port, "x", 1);
	expect_packet(f, OP(RST));
	close(fd);
}

static void transport_reset_waits_for_an_event_buffer(void **state)
{
	F;

	vj_vsock_transport_reset(&f->v);
	assert_int_equal(fake_used_idx(&f->ev), 0);
	/* Too small for an event: returned empty, the event still owed. */
	post_event_buffer(f, 0, 2);
	post_event_buffer(f, 1, 4);
	post_event_buffer(f, 2, 4);
	vj_virtio_process(&f->v.vdev, VJ_VSOCK_EVQ);
	assert_int_equal(fake_used_idx(&f->ev), 2);
	assert_int_equal(fake_used(&f->ev, 0).id, 0);
	assert_int_equal(fake_used(&f->ev, 0).len, 0);
	expect_reset_event(f, 1, 1);
	/* One reset, one event: the third buffer stays with the device. */
	vj_virtio_process(&f->v.vdev, VJ_VSOCK_EVQ);
	assert_int_equal(fake_used_idx(&f->ev), 2);
}

static void driver_reset_forgets_an_owed_transport_reset(void **state)
{
	F;

	vj_vsock_transport_reset(&f->v);
	fake_driver_init(&f->v.vdev, 0, &f->rx, 3);
	post_event_buffer(f, 0, 4);
	vj_virtio_process(&f->v.vdev, VJ_VSOCK_EVQ);
	assert_int_equal(fake_used_idx(&f->ev), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(host_connect_gets_ok_with_its_port),
		T(guest_data_reaches_the_host_socket),
		T(host_data_is_bounded_by_the_guests_credit),
		T(guest_beyond_its_credit_is_reset),
		T(packets_not_between_our_guest_and_the_host_are_dropped),
		T(malformed_packets_are_answered_with_a_reset),
		T(chain_with_a_writable_header_is_dropped),
		cmocka_unit_test_setup_teardown(guest_connect_without_a_broker_is_reset,
						setup_no_broker, teardown),
		T(guest_connect_goes_through_the_broker),
		T(guest_shutting_both_ways_gets_a_reset_and_closes_the_host),
		T(host_close_is_a_shutdown_both_ways_for_the_guest),
		T(connect_line_garbage_closes_the_host_connection),
		T(device_reset_closes_host_connections),
		T(transport_reset_closes_host_sockets_and_tells_the_guest),
		T(transport_reset_waits_for_an_event_buffer),
		T(driver_reset_forgets_an_owed_transport_reset),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
