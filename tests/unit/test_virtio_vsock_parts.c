/*
 * The parts of virtio-vsock that stand on their own: the checks of a
 * guest packet's header (vmm/virtio/vsock_packet.c) and a connection's
 * credit and state transitions (vmm/virtio/vsock_conn.c), without a
 * device, event loop or socket.
 */
#include <string.h>

#include "unit.h"
#include "test_virtio_util.h"
#include "virtio/vsock.h"
#include "virtio/vsock_conn.h"
#include "virtio/vsock_packet.h"

#define GUEST_CID 3
#define HDR 0x200000ull
#define DATA 0x201000ull
#define HDR_LEN ((uint32_t)VJ_VSOCK_HDR_LEN)
#define N VRING_DESC_F_NEXT
#define W VRING_DESC_F_WRITE
#define OP(x) VIRTIO_VSOCK_OP_##x

struct fixture {
	struct vj_guest_mem mem;
	struct fake_ring ring;
	struct vj_virtq q;
	struct vj_chain chain;
	uint16_t next;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(vj_mem_create(&f.mem, FAKE_MEM_SIZE, VJ_MEMORY_4K, VJ_THP_UNKNOWN), 0);
	fake_ring_init(&f.ring, &f.mem, 16);
	fake_queue(&f.ring, &f.q, false);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vj_mem_destroy(&f->mem);
	return 0;
}

#define F struct fixture *f = *state

static struct virtio_vsock_hdr good(uint32_t len)
{
	return (struct virtio_vsock_hdr){ .src_cid = GUEST_CID, .dst_cid = VJ_VSOCK_HOST_CID,
					  .src_port = 1000, .dst_port = 2000, .len = len,
					  .type = VIRTIO_VSOCK_TYPE_STREAM, .op = OP(RW) };
}

/* The guest puts hdr_len bytes of h then data_len payload bytes on the
 * ring (the payload writable when data_flags says so); the verdict on
 * the chain the device pops. */
static enum vj_vsock_pkt_verdict judge(struct fixture *f, const struct virtio_vsock_hdr *h,
				       uint32_t hdr_len, uint32_t data_len, uint16_t data_flags,
				       struct virtio_vsock_hdr *out)
{
	uint16_t d = f->next;

	f->next = (uint16_t)((f->next + 2) % 16);
	memcpy(gp(&f->mem, HDR), h, sizeof(*h));
	fake_desc(&f->ring, d, HDR, hdr_len, data_len ? N : 0, (uint16_t)(d + 1));
	fake_desc(&f->ring, (uint16_t)(d + 1), DATA, data_len, data_flags, 0);
	fake_publish(&f->ring, d);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->chain), 1);
	return vj_vsock_pkt_parse(&f->chain, GUEST_CID, out);
}

static void a_well_formed_packet_passes_with_its_header(void **state)
{
	F;
	struct virtio_vsock_hdr h = good(100), out;

	assert_int_equal(judge(f, &h, HDR_LEN, 100, 0, &out), VJ_VSOCK_PKT_OK);
	assert_memory_equal(&out, &h, sizeof(h));
	h = good(0);
	h.op = OP(REQUEST);
	assert_int_equal(judge(f, &h, HDR_LEN, 0, 0, &out), VJ_VSOCK_PKT_OK);
}

static void a_packet_from_another_cid_is_dropped(void **state)
{
	F;
	struct virtio_vsock_hdr h = good(0), out;

	h.src_cid = GUEST_CID + 1;
	assert_int_equal(judge(f, &h, HDR_LEN, 0, 0, &out), VJ_VSOCK_PKT_DROP);
	/* 64 bits on the wire: the high half counts. */
	h.src_cid = GUEST_CID | (1ull << 32);
	assert_int_equal(judge(f, &h, HDR_LEN, 0, 0, &out), VJ_VSOCK_PKT_DROP);
}

static void a_packet_to_anything_but_the_host_is_dropped(void **state)
{
	F;
	struct virtio_vsock_hdr h = good(0), out;

	h.dst_cid = GUEST_CID;
	assert_int_equal(judge(f, &h, HDR_LEN, 0, 0, &out), VJ_VSOCK_PKT_DROP);
	h.dst_cid = VJ_VSOCK_HOST_CID | (1ull << 63);
	assert_int_equal(judge(f, &h, HDR_LEN, 0, 0, &out), VJ_VSOCK_PKT_DROP);
}

static void a_short_header_or_a_writable_part_is_dropped(void **state)
{
	F;
	struct virtio_vsock_hdr h = good(0), out;

	assert_int_equal(judge(f, &h, HDR_LEN - 1, 0, 0, &out), VJ_VSOCK_PKT_DROP);
	h.len = 8;
	assert_int_equal(judge(f, &h, HDR_LEN, 8, W, &out), VJ_VSOCK_PKT_DROP);
}

static void a_length_that_disagrees_with_the_payload_is_bad(void **state)
{
	F;
	struct virtio_vsock_hdr h = good(101), out;

	assert_int_equal(judge(f, &h, HDR_LEN, 100, 0, &out), VJ_VSOCK_PKT_BAD);
	h.len = 99;
	assert_int_equal(judge(f, &h, HDR_LEN, 100, 0, &out), VJ_VSOCK_PKT_BAD);
	/* A length whose sum with the header would wrap 32 bits. */
	h.len = UINT32_MAX;
	assert_int_equal(judge(f, &h, HDR_LEN, 100, 0, &out), VJ_VSOCK_PKT_BAD);
}

static void a_payload_above_the_packet_maximum_is_bad(void **state)
{
	F;
	struct virtio_vsock_hdr h = good(VJ_VSOCK_PKT_MAX + 1), out;

	assert_int_equal(judge(f, &h, HDR_LEN, VJ_VSOCK_PKT_MAX + 1, 0, &out), VJ_VSOCK_PKT_BAD);
	h.len = VJ_VSOCK_PKT_MAX;
	assert_int_equal(judge(f, &h, HDR_LEN, VJ_VSOCK_PKT_MAX, 0, &out), VJ_VSOCK_PKT_OK);
}

static void a_type_other_than_stream_is_bad(void **state)
{
	F;
	struct virtio_vsock_hdr h = good(0), out;

	h.type = 2; /* VIRTIO_VSOCK_TYPE_SEQPACKET */
	assert_int_equal(judge(f, &h, HDR_LEN, 0, 0, &out), VJ_VSOCK_PKT_BAD);
	h.type = 0xffff;
	assert_int_equal(judge(f, &h, HDR_LEN, 0, 0, &out), VJ_VSOCK_PKT_BAD);
}

static void the_device_header_names_both_ends_and_its_buffer(void **state)
{
	struct virtio_vsock_hdr h = vj_vsock_pkt_header(GUEST_CID, 7, 9, OP(RST));

	(void)state;
	assert_int_equal(h.src_cid, VJ_VSOCK_HOST_CID);
	assert_int_equal(h.dst_cid, GUEST_CID);
	assert_int_equal(h.src_port, 7);
	assert_int_equal(h.dst_port, 9);
	assert_int_equal(h.op, OP(RST));
	assert_int_equal(h.type, VIRTIO_VSOCK_TYPE_STREAM);
	assert_int_equal(h.buf_alloc, VJ_VSOCK_BUF_ALLOC);
	assert_int_equal(h.len, 0);
}

/* ---- connections, on a device that has nothing but its table ---- */

static struct vj_vsock *bare_device(void)
{
	static struct vj_vsock v;
	static struct vj_vsock_conn conns[VJ_VSOCK_MAX_CONNS];

	memset(&v, 0, sizeof(v));
	memset(conns, 0, sizeof(conns));
	v.conns = conns;
	v.next_port = VJ_VSOCK_FIRST_HOST_PORT;
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++) {
		conns[i].v = &v;
		conns[i].fd = -1;
	}
	return &v;
}

static void credit_is_what_the_guest_can_still_take(void **state)
{
	struct vj_vsock_conn c = { .peer_buf_alloc = 1000, .peer_fwd_cnt = 300, .tx_cnt = 500 };

	(void)state;
	assert_int_equal(vj_vsock_conn_guest_credit(&c), 800);
	/* The counters wrap at 2^32. */
	c.peer_fwd_cnt = UINT32_MAX - 99;
	c.tx_cnt = 100;
	assert_int_equal(vj_vsock_conn_guest_credit(&c), 800);
}

static void a_hostile_fwd_cnt_gives_no_credit(void **state)
{
	/* The guest claims to have consumed more than was ever sent. */
	struct vj_vsock_conn c = { .peer_buf_alloc = 1000, .peer_fwd_cnt = 600, .tx_cnt = 500 };

	(void)state;
	assert_int_equal(vj_vsock_conn_guest_credit(&c), 0);
	c.peer_fwd_cnt = 0;
	c.tx_cnt = 1000;
	assert_int_equal(vj_vsock_conn_guest_credit(&c), 0);
}

static void credit_from_the_guest_clears_a_pending_credit_request(void **state)
{
	struct vj_vsock_conn c = { .peer_buf_alloc = 100, .tx_cnt = 100, .credit_asked = true };
	struct virtio_vsock_hdr h = good(0);

	(void)state;
	h.buf_alloc = 100;
	h.fwd_cnt = 0;
	vj_vsock_conn_peer_credit(&c, &h);
	assert_true(c.credit_asked);
	h.fwd_cnt = 50;
	vj_vsock_conn_peer_credit(&c, &h);
	assert_false(c.credit_asked);
	assert_int_equal(vj_vsock_conn_guest_credit(&c), 50);
}

static void a_response_out_of_turn_resets_and_frees(void **state)
{
	struct vj_vsock *v = bare_device();
	struct vj_vsock_conn *c = vj_vsock_conn_alloc(v);

	(void)state;
	c->state = VJ_VSOCK_CONN_CONNECTING;
	c->local_port = 2000;
	c->peer_port = 1000;
	vj_vsock_conn_guest_response(c);
	assert_int_equal(c->state, VJ_VSOCK_CONN_FREE);
	assert_int_equal(v->nrst, 1);
	assert_int_equal(v->rst[0].src_port, 2000);
	assert_int_equal(v->rst[0].dst_port, 1000);
	assert_null(vj_vsock_conn_find(v, 2000, 1000));
}

static void data_or_shutdown_before_established_resets(void **state)
{
	struct vj_vsock *v = bare_device();
	struct vj_vsock_conn *c = vj_vsock_conn_alloc(v);
	struct vj_chain ch = { 0 };

	(void)state;
	c->state = VJ_VSOCK_CONN_HOST_REQUEST;
	vj_vsock_conn_guest_rw(c, &ch, 0);
	assert_int_equal(c->state, VJ_VSOCK_CONN_FREE);
	c = vj_vsock_conn_alloc(v);
	c->state = VJ_VSOCK_CONN_CONNECTING;
	vj_vsock_conn_guest_shutdown(c, VJ_VSOCK_SHUTDOWN_BOTH);
	assert_int_equal(c->state, VJ_VSOCK_CONN_FREE);
	assert_int_equal(v->nrst, 2);
}

static void a_host_line_connection_is_invisible_to_the_guest(void **state)
{
	struct vj_vsock *v = bare_device();
	struct vj_vsock_conn *c = vj_vsock_conn_alloc(v);

	(void)state;
	c->state = VJ_VSOCK_CONN_HOST_LINE;
	assert_null(vj_vsock_conn_find(v, 0, 0));
	/* Nothing was announced to the guest, so no reset is owed. */
	vj_vsock_conn_reset(c);
	assert_int_equal(v->nrst, 0);
}

static void resets_beyond_the_backlog_are_dropped(void **state)
{
	struct vj_vsock *v = bare_device();

	(void)state;
	for (uint32_t i = 0; i < VJ_VSOCK_RST_BACKLOG + 5; i++)
		vj_vsock_owe_rst(v, i, i);
	assert_int_equal(v->nrst, VJ_VSOCK_RST_BACKLOG);
}

static void the_table_holds_at_most_its_size(void **state)
{
	struct vj_vsock *v = bare_device();

	(void)state;
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++)
		vj_vsock_conn_alloc(v)->state = VJ_VSOCK_CONN_CONNECTING;
	assert_null(vj_vsock_conn_alloc(v));
}

static void host_ports_skip_those_in_use_and_wrap(void **state)
{
	struct vj_vsock *v = bare_device();
	struct vj_vsock_conn *c = vj_vsock_conn_alloc(v);

	(void)state;
	c->state = VJ_VSOCK_CONN_ESTABLISHED;
	c->local_port = VJ_VSOCK_FIRST_HOST_PORT + 1;
	assert_int_equal(vj_vsock_conn_host_port(v), VJ_VSOCK_FIRST_HOST_PORT + 2);
	v->next_port = (1u << 31) - 1;
	assert_int_equal(vj_vsock_conn_host_port(v), VJ_VSOCK_FIRST_HOST_PORT);
	assert_int_equal(vj_vsock_conn_host_port(v), VJ_VSOCK_FIRST_HOST_PORT + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(a_well_formed_packet_passes_with_its_header),
		T(a_packet_from_another_cid_is_dropped),
		T(a_packet_to_anything_but_the_host_is_dropped),
		T(a_short_header_or_a_writable_part_is_dropped),
		T(a_length_that_disagrees_with_the_payload_is_bad),
		T(a_payload_above_the_packet_maximum_is_bad),
		T(a_type_other_than_stream_is_bad),
		cmocka_unit_test(the_device_header_names_both_ends_and_its_buffer),
		cmocka_unit_test(credit_is_what_the_guest_can_still_take),
		cmocka_unit_test(a_hostile_fwd_cnt_gives_no_credit),
		cmocka_unit_test(credit_from_the_guest_clears_a_pending_credit_request),
		cmocka_unit_test(a_response_out_of_turn_resets_and_frees),
		cmocka_unit_test(data_or_shutdown_before_established_resets),
		cmocka_unit_test(a_host_line_connection_is_invisible_to_the_guest),
		cmocka_unit_test(resets_beyond_the_backlog_are_dropped),
		cmocka_unit_test(the_table_holds_at_most_its_size),
		cmocka_unit_test(host_ports_skip_those_in_use_and_wrap),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
