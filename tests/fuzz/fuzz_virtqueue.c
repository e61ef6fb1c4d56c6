/*
 * libFuzzer harness: the split-virtqueue walker and the chain accessors
 * over a guest memory whose rings and buffers the input fills.
 *
 * Input: byte 0 picks the queue size n = 1 << (b % 9), byte 1 bit 0 offers
 * indirect descriptors; the rest is copied to guest-physical 0, where the
 * rings lie back to back (descriptors at 0, avail at 16n, used after it),
 * followed by tables and buffers: small inputs reach every ring field. Besides the sanitizers, the harness checks
 * the walker's promises itself: every mapped segment lies inside guest
 * RAM, no chain is longer than the queue, the totals add up.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "memory.h"
#include "virtio/chain.h"
#include "virtio/queue.h"

#define MEM_SIZE (2u << 20)
#define IMAGE_MAX 0x10000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_chain(const struct vj_guest_mem *mem, const struct vj_virtq *q,
			const struct vj_chain *c)
{
	uint64_t r = 0, w = 0;
	static uint8_t scratch[1 << 16];
	struct iovec iov[VJ_VIRTQ_MAX_SIZE];

	if (c->head >= q->size || c->nsegs > q->size)
		abort();
	if (c->err && c->err != -EFAULT)
		return;
	for (unsigned i = 0; i < c->nsegs; i++) {
		const struct vj_seg *s = &c->seg[i];
		if (s->host && (s->host < mem->base || s->len > mem->size ||
				(uint64_t)(s->host - mem->base) > mem->size - s->len))
			abort();
		if (!s->host && c->err != -EFAULT)
			abort();
		*(s->write ? &w : &r) += s->len;
	}
	if (r != c->readable || w != c->writable || r > UINT32_MAX || w > UINT32_MAX)
		abort();
	vj_chain_read(c, r / 3, scratch, sizeof(scratch));
	vj_chain_write(c, w / 2, scratch, sizeof(scratch) / 2);
	vj_chain_iov(c, false, 1, r > 1 ? r - 1 : 0, iov, VJ_VIRTQ_MAX_SIZE);
	vj_chain_iov(c, true, 0, w, iov, 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vj_guest_mem mem;
	static struct vj_chain c;
	struct vj_virtq q;

	if (!mem.base && vj_mem_create(&mem, MEM_SIZE, VJ_MEMORY_4K, VJ_THP_UNKNOWN) < 0)
		abort();
	if (size < 2)
		return 0;
	memset(mem.base, 0, IMAGE_MAX);
	memcpy(mem.base, data + 2, size - 2 < IMAGE_MAX ? size - 2 : IMAGE_MAX);
	vj_virtq_reset(&q);
	q.size = (uint16_t)(1u << (data[0] % 9));
	q.desc_gpa = 0;
	q.avail_gpa = 16ull * q.size;
	q.used_gpa = (q.avail_gpa + 6 + 2ull * q.size + 3) & ~3ull;
	if (vj_virtq_enable(&q, &mem, VJ_VIRTQ_MAX_SIZE) < 0)
		abort();
	q.indirect = data[1] & 1;
	/* More pops than the ring holds: the walk must stop on its own. With
	 * byte 1 bit 1 the first chain is put back and taken again. */
	for (unsigned i = 0; i < 2u * q.size + 2; i++) {
		int r = vj_virtq_pop(&q, &mem, &c);
		if (r <= 0)
			break;
		check_chain(&mem, &q, &c);
		if (i == 0 && (data[1] & 2)) {
			vj_virtq_unpop(&q);
			continue;
		}
		vj_virtq_push(&q, &c, (uint32_t)c.writable);
	}
	vj_virtq_wants_interrupt(&q);
	return 0;
}
