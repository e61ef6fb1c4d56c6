/* The split-virtqueue walker against hostile rings (vmm/virtio/queue.c). */
#include <string.h>

#include "unit.h"
#include "test_virtio_util.h"
#include "virtio/chain.h"

struct fixture {
	struct vj_guest_mem mem;
	struct fake_ring ring;
	struct vj_virtq q;
	struct vj_chain c;
};

static int setup(void **state)
{
	static struct fixture f;

	assert_int_equal(vj_mem_create(&f.mem, FAKE_MEM_SIZE, VJ_MEMORY_4K, VJ_THP_UNKNOWN), 0);
	fake_ring_init(&f.ring, &f.mem, 16);
	fake_queue(&f.ring, &f.q, true);
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
#define R (&f->ring)
#define N VRING_DESC_F_NEXT
#define W VRING_DESC_F_WRITE
#define IND VRING_DESC_F_INDIRECT

static void empty_ring_pops_nothing(void **state)
{
	F;
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 0);
	assert_false(vj_virtq_has_avail(&f->q));
}

static void three_descriptor_chain_maps_each_buffer(void **state)
{
	F;
	fake_desc(R, 0, FAKE_BUF, 16, N, 5);
	fake_desc(R, 5, FAKE_BUF + 0x1000, 512, N | W, 9);
	fake_desc(R, 9, FAKE_BUF + 0x2000, 1, W, 0);
	fake_publish(R, 0);
	assert_true(vj_virtq_has_avail(&f->q));
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(f->c.err, 0);
	assert_int_equal(f->c.head, 0);
	assert_int_equal(f->c.nsegs, 3);
	assert_int_equal(f->c.readable, 16);
	assert_int_equal(f->c.writable, 513);
	assert_ptr_equal(f->c.seg[1].host, vj_mem_ptr(&f->mem, FAKE_BUF + 0x1000, 512));
	assert_true(f->c.seg[2].write);
}

static void descriptor_loop_fails_the_chain(void **state)
{
	F;
	fake_desc(R, 0, FAKE_BUF, 16, N, 1);
	fake_desc(R, 1, FAKE_BUF, 16, N, 0);
	fake_publish(R, 0);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(f->c.err, -ELOOP);
	assert_int_equal(f->c.head, 0);
	assert_false(f->q.broken);
}

static void self_loop_fails_the_chain(void **state)
{
	F;
	fake_desc(R, 3, FAKE_BUF, 0, N, 3); /* zero length: still counted */
	fake_publish(R, 3);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(f->c.err, -ELOOP);
}

static void chain_of_queue_size_is_accepted(void **state)
{
	F;
	for (uint16_t i = 0; i < 16; i++)
		fake_desc(R, i, FAKE_BUF + i * 64ull, 64, i < 15 ? N : 0, (uint16_t)(i + 1));
	fake_publish(R, 0);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(f->c.err, 0);
	assert_int_equal(f->c.nsegs, 16);
}

static void next_index_past_the_ring_fails_the_chain(void **state)
{
	F;
	fake_desc(R, 0, FAKE_BUF, 16, N, 16);
	fake_publish(R, 0);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(f->c.err, -EINVAL);
}

static void buffer_outside_ram_is_reported_per_segment(void **state)
{
	F;
	fake_desc(R, 0, FAKE_BUF, 16, N, 1);
	fake_desc(R, 1, FAKE_OUTSIDE, 512, N | W, 2);
	fake_desc(R, 2, FAKE_BUF + 16, 1, W, 0);
	fake_publish(R, 0);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(f->c.err, -EFAULT);
	assert_int_equal(f->c.nsegs, 3);
	assert_non_null(f->c.seg[0].host);
	assert_null(f->c.seg[1].host);
	assert_non_null(f->c.seg[2].host);
}

static void buffer_straddling_the_end_of_ram_is_not_mapped(void **state)
{
	F;
	fake_desc(R, 0, FAKE_MEM_SIZE - 8, 16, 0, 0);
	fake_publish(R, 0);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(f->c.err, -EFAULT);
	assert_null(f->c.seg[0].host);
}

static void length_near_4g_is_not_mapped(void **state)
{
	F;
	fake_desc(R, 0, FAKE_BUF, 0xfffffff0u, W, 0);
	fake_publish(R, 0);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(f->c.err, -EFAULT);
	assert_null(f->c.seg[0].host);
}

static void more_than_4g_in_one_direction_fails_the_chain(void **state)
{
	F;
	fake_desc(R, 0, FAKE_BUF, 0x80000000u, N, 1);
	fake_desc(R, 1, FAKE_BUF, 0x80000000u, 0, 0);
	fake_publish(R, 0);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(f->c.err, -E2BIG);
}

static void readable_after_writable_fails_the_chain(void **state)
{
	F;
	fake_desc(R, 0, FAKE_BUF, 16, N | W, 1);
	fake_desc(R, 1, FAKE_BUF, 16, 0, 0);
	fake_publish(R, 0);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(f->c.err, -EINVAL);
}

static void zero_length_descriptors_add_no_segment(void **state)
{
	F;
	fake_desc(R, 0, FAKE_OUTSIDE, 0, N, 1);
	fake_desc(R, 1, FAKE_BUF, 8, 0, 0);
	fake_publish(R, 0);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(f->c.err, 0);
	assert_int_equal(f->c.nsegs, 1);
}

#define TABLE (FAKE_BUF + 0x80000)

static void indirect_table_is_walked(void **state)
{
	F;
	fake_table_desc(R, TABLE, 0, FAKE_BUF, 16, N, 1);
	fake_table_desc(R, TABLE, 1, FAKE_BUF + 64, 100, N | W, 2);
	fake_table_desc(R, TABLE, 2, FAKE_BUF + 512, 1, W, 0);
	fake_desc(R, 4, TABLE, 3 * 16, IND, 0);
	fake_publish(R, 4);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(f->c.err, 0);
	assert_int_equal(f->c.head, 4);
	assert_int_equal(f->c.nsegs, 3);
	assert_int_equal(f->c.writable, 101);
}

static void direct_descriptors_may_precede_an_indirect_one(void **state)
{
	F;
	fake_table_desc(R, TABLE, 0, FAKE_BUF + 64, 1, W, 0);
	fake_desc(R, 0, FAKE_BUF, 16, N, 1);
	fake_desc(R, 1, TABLE, 16, IND, 0);
	fake_publish(R, 0);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(f->c.err, 0);
	assert_int_equal(f->c.nsegs, 2);
}

static void pop_indirect(struct fixture *f, uint64_t addr, uint32_t len, uint16_t flags)
{
	fake_desc(&f->ring, 0, addr, len, flags, 0);
	fake_publish(&f->ring, 0);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
}

static void indirect_without_the_feature_fails_the_chain(void **state)
{
	F;
	f->q.indirect = false;
	fake_table_desc(R, TABLE, 0, FAKE_BUF, 16, 0, 0);
	pop_indirect(f, TABLE, 16, IND);
	assert_int_equal(f->c.err, -EINVAL);
}

static void nested_indirect_fails_the_chain(void **state)
{
	F;
	fake_table_desc(R, TABLE, 0, TABLE, 16, IND, 0);
	pop_indirect(f, TABLE, 16, IND);
	assert_int_equal(f->c.err, -EINVAL);
}

static void indirect_with_next_fails_the_chain(void **state)
{
	F;
	fake_table_desc(R, TABLE, 0, FAKE_BUF, 16, 0, 0);
	pop_indirect(f, TABLE, 16, IND | N);
	assert_int_equal(f->c.err, -EINVAL);
}

static void indirect_table_of_odd_length_fails_the_chain(void **state)
{
	F;
	pop_indirect(f, TABLE, 24, IND);
	assert_int_equal(f->c.err, -EINVAL);
}

static void empty_indirect_table_fails_the_chain(void **state)
{
	F;
	pop_indirect(f, TABLE, 0, IND);
	assert_int_equal(f->c.err, -EINVAL);
}

static void indirect_table_larger_than_the_queue_fails_the_chain(void **state)
{
	F;
	pop_indirect(f, TABLE, 17 * 16, IND);
	assert_int_equal(f->c.err, -EINVAL);
}

static void indirect_table_outside_ram_fails_the_chain(void **state)
{
	F;
	pop_indirect(f, FAKE_OUTSIDE, 32, IND);
	assert_int_equal(f->c.err, -EINVAL);
}

static void loop_inside_an_indirect_table_fails_the_chain(void **state)
{
	F;
	fake_table_desc(R, TABLE, 0, FAKE_BUF, 16, N, 1);
	fake_table_desc(R, TABLE, 1, FAKE_BUF, 16, N, 0);
	pop_indirect(f, TABLE, 32, IND);
	assert_int_equal(f->c.err, -ELOOP);
}

static void indirect_next_past_the_table_fails_the_chain(void **state)
{
	F;
	fake_table_desc(R, TABLE, 0, FAKE_BUF, 16, N, 2);
	pop_indirect(f, TABLE, 32, IND);
	assert_int_equal(f->c.err, -EINVAL);
}

static void avail_index_jump_beyond_queue_size_breaks_the_queue(void **state)
{
	F;
	struct vring_avail *a = gp(&f->mem, FAKE_AVAIL);

	a->idx = 17;
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), -EIO);
	assert_true(f->q.broken);
	a->idx = 1;
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), -EIO);
	assert_false(vj_virtq_has_avail(&f->q));
}

static void avail_index_jump_of_exactly_queue_size_is_fine(void **state)
{
	F;
	for (uint16_t i = 0; i < 16; i++) {
		fake_desc(R, i, FAKE_BUF, 8, 0, 0);
		fake_publish(R, i);
	}
	for (uint16_t i = 0; i < 16; i++)
		assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 0);
}

static void head_index_past_the_ring_breaks_the_queue(void **state)
{
	F;
	fake_publish(R, 16);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), -EIO);
	assert_true(f->q.broken);
}

static void push_fills_the_used_ring_across_index_wrap(void **state)
{
	F;
	struct vring_avail *a = gp(&f->mem, FAKE_AVAIL);

	/* Start both indexes just below the 16-bit wrap. */
	f->q.last_avail = f->q.used_idx = 0xfffe;
	R->avail_idx = 0xfffe;
	a->idx = 0xfffe;
	for (uint16_t i = 0; i < 4; i++) {
		fake_desc(R, i, FAKE_BUF, 8, W, 0);
		fake_publish(R, i);
		assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
		assert_int_equal(f->c.head, i);
		vj_virtq_push(&f->q, &f->c, 100u + i);
	}
	assert_int_equal(fake_used_idx(R), 2);
	assert_int_equal(fake_used(R, 0xfffe).id, 0);
	assert_int_equal(fake_used(R, 1).id, 3);
	assert_int_equal(fake_used(R, 1).len, 103);
}

static void unpop_hands_the_same_chain_out_again(void **state)
{
	F;
	fake_desc(R, 7, FAKE_BUF, 8, 0, 0);
	fake_publish(R, 7);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	vj_virtq_unpop(&f->q);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(f->c.head, 7);
}

static void no_interrupt_flag_is_honoured(void **state)
{
	F;
	struct vring_avail *a = gp(&f->mem, FAKE_AVAIL);

	assert_true(vj_virtq_wants_interrupt(&f->q));
	a->flags = VRING_AVAIL_F_NO_INTERRUPT;
	assert_false(vj_virtq_wants_interrupt(&f->q));
}

static int enable(struct fixture *f, uint16_t size, uint64_t desc, uint64_t avail,
		  uint64_t used)
{
	vj_virtq_reset(&f->q);
	f->q.size = size;
	f->q.desc_gpa = desc;
	f->q.avail_gpa = avail;
	f->q.used_gpa = used;
	return vj_virtq_enable(&f->q, &f->mem, 256);
}

static void enable_checks_size_alignment_and_placement(void **state)
{
	F;
	assert_int_equal(enable(f, 0, FAKE_DESC, FAKE_AVAIL, FAKE_USED), -EINVAL);
	assert_int_equal(enable(f, 100, FAKE_DESC, FAKE_AVAIL, FAKE_USED), -EINVAL);
	assert_int_equal(enable(f, 512, FAKE_DESC, FAKE_AVAIL, FAKE_USED), -EINVAL);
	assert_int_equal(enable(f, 16, FAKE_DESC + 8, FAKE_AVAIL, FAKE_USED), -EINVAL);
	assert_int_equal(enable(f, 16, FAKE_DESC, FAKE_AVAIL + 1, FAKE_USED), -EINVAL);
	assert_int_equal(enable(f, 16, FAKE_DESC, FAKE_AVAIL, FAKE_USED + 2), -EINVAL);
	assert_int_equal(enable(f, 16, FAKE_OUTSIDE, FAKE_AVAIL, FAKE_USED), -EFAULT);
	assert_int_equal(enable(f, 256, FAKE_MEM_SIZE - 2048, FAKE_AVAIL, FAKE_USED), -EFAULT);
	assert_false(f->q.ready);
	assert_int_equal(enable(f, 256, FAKE_DESC, FAKE_AVAIL, FAKE_USED), 0);
	assert_true(f->q.ready);
}

static void chain_streams_ignore_descriptor_boundaries(void **state)
{
	F;
	uint8_t in[10], out[6] = { 1, 2, 3, 4, 5, 6 };
	struct iovec iov[4];

	memcpy(gp(&f->mem, FAKE_BUF), "abcd", 4);
	memcpy(gp(&f->mem, FAKE_BUF + 100), "efghij", 6);
	fake_desc(R, 0, FAKE_BUF, 4, N, 1);
	fake_desc(R, 1, FAKE_BUF + 100, 6, N, 2);
	fake_desc(R, 2, FAKE_BUF + 200, 2, N | W, 3);
	fake_desc(R, 3, FAKE_BUF + 300, 4, W, 0);
	fake_publish(R, 0);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(vj_chain_read(&f->c, 2, in, sizeof(in)), 8);
	assert_memory_equal(in, "cdefghij", 8);
	assert_int_equal(vj_chain_write(&f->c, 1, out, sizeof(out)), 5);
	assert_int_equal(*(uint8_t *)gp(&f->mem, FAKE_BUF + 201), 1);
	assert_memory_equal(gp(&f->mem, FAKE_BUF + 300), "\2\3\4\5", 4);
	assert_int_equal(vj_chain_iov(&f->c, false, 3, 5, iov, 4), 2);
	assert_int_equal(iov[0].iov_len, 1);
	assert_int_equal(iov[1].iov_len, 4);
	assert_int_equal(vj_chain_iov(&f->c, true, 0, 7, iov, 4), -ERANGE);
	assert_int_equal(vj_chain_iov(&f->c, false, 0, 10, iov, 1), -E2BIG);
}

static void chain_io_vector_refuses_unmapped_segments(void **state)
{
	F;
	struct iovec iov[4];
	uint8_t b[8];

	fake_desc(R, 0, FAKE_BUF, 4, N, 1);
	fake_desc(R, 1, FAKE_OUTSIDE, 4, 0, 0);
	fake_publish(R, 0);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	assert_int_equal(vj_chain_iov(&f->c, false, 0, 8, iov, 4), -EFAULT);
	assert_int_equal(vj_chain_read(&f->c, 0, b, 8), 4);
}

static bool page_marked(const uint64_t *bm, uint64_t gpa)
{
	uint64_t page = gpa / 4096;

	return bm[page / 64] >> (page % 64) & 1;
}

/* While a migration tracks dirty pages, a push marks what the device
 * wrote (KVM does not see it): the chain's device-writable buffers, all
 * their pages, and the used ring; not the buffers it only read. */
static void push_marks_the_devices_writes_dirty_while_tracked(void **state)
{
	F;
	static uint64_t bm[FAKE_MEM_SIZE / 4096 / 64];

	fake_desc(R, 0, FAKE_BUF, 16, N, 1);                 /* read: the request */
	fake_desc(R, 1, FAKE_BUF + 0x3ff0, 0x20, N | W, 2);  /* written, across a page */
	fake_desc(R, 2, FAKE_BUF + 0x8000, 1, W, 0);
	fake_publish(R, 0);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	/* Not tracking: nothing to mark, and no bitmap to mark it in. */
	vj_virtq_push(&f->q, &f->c, 1);
	fake_publish(R, 0);
	assert_int_equal(vj_virtq_pop(&f->q, &f->mem, &f->c), 1);
	memset(bm, 0, sizeof(bm));
	atomic_store(&f->mem.dev_dirty, bm);
	vj_virtq_push(&f->q, &f->c, 0x21);
	atomic_store(&f->mem.dev_dirty, NULL);
	assert_false(page_marked(bm, FAKE_BUF));
	assert_true(page_marked(bm, FAKE_BUF + 0x3000));
	assert_true(page_marked(bm, FAKE_BUF + 0x4000));
	assert_false(page_marked(bm, FAKE_BUF + 0x5000));
	assert_true(page_marked(bm, FAKE_BUF + 0x8000));
	assert_true(page_marked(bm, FAKE_USED));
	assert_false(page_marked(bm, FAKE_DESC));
	assert_false(page_marked(bm, FAKE_AVAIL));
	/* The used ring's page, the two written buffers' three pages. */
	{
		unsigned n = 0;
		for (size_t i = 0; i < sizeof(bm) / 8; i++)
			n += (unsigned)__builtin_popcountll(bm[i]);
		assert_int_equal(n, 4);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(empty_ring_pops_nothing),
		T(three_descriptor_chain_maps_each_buffer),
		T(descriptor_loop_fails_the_chain),
		T(self_loop_fails_the_chain),
		T(chain_of_queue_size_is_accepted),
		T(next_index_past_the_ring_fails_the_chain),
		T(buffer_outside_ram_is_reported_per_segment),
		T(buffer_straddling_the_end_of_ram_is_not_mapped),
		T(length_near_4g_is_not_mapped),
		T(more_than_4g_in_one_direction_fails_the_chain),
		T(readable_after_writable_fails_the_chain),
		T(zero_length_descriptors_add_no_segment),
		T(indirect_table_is_walked),
		T(direct_descriptors_may_precede_an_indirect_one),
		T(indirect_without_the_feature_fails_the_chain),
		T(nested_indirect_fails_the_chain),
		T(indirect_with_next_fails_the_chain),
		T(indirect_table_of_odd_length_fails_the_chain),
		T(empty_indirect_table_fails_the_chain),
		T(indirect_table_larger_than_the_queue_fails_the_chain),
		T(indirect_table_outside_ram_fails_the_chain),
		T(loop_inside_an_indirect_table_fails_the_chain),
		T(indirect_next_past_the_table_fails_the_chain),
		T(avail_index_jump_beyond_queue_size_breaks_the_queue),
		T(avail_index_jump_of_exactly_queue_size_is_fine),
		T(head_index_past_the_ring_breaks_the_queue),
		T(push_fills_the_used_ring_across_index_wrap),
		T(push_marks_the_devices_writes_dirty_while_tracked),
		T(unpop_hands_the_same_chain_out_again),
		T(no_interrupt_flag_is_honoured),
		T(enable_checks_size_alignment_and_placement),
		T(chain_streams_ignore_descriptor_boundaries),
		T(chain_io_vector_refuses_unmapped_segments),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
