#include "virtio/queue.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

/* Guest memory changes under us: a descriptor is copied once, and the
 * compiler barrier keeps it from reading the guest's copy again later. */
static void desc_read(const void *p, struct vring_desc *out)
{
	memcpy(out, p, sizeof(*out));
	__asm__ volatile("" ::: "memory");
}

static uint16_t load16(const __virtio16 *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void vj_virtq_reset(struct vj_virtq *q)
{
	memset(q, 0, sizeof(*q));
}

int vj_virtq_enable(struct vj_virtq *q, const struct vj_guest_mem *mem, uint16_t max_size)
{
	uint64_t n = q->size;

	if (n == 0 || n > max_size || (n & (n - 1)))
		return -EINVAL;
	if (q->desc_gpa % VRING_DESC_ALIGN_SIZE || q->avail_gpa % VRING_AVAIL_ALIGN_SIZE ||
	    q->used_gpa % VRING_USED_ALIGN_SIZE)
		return -EINVAL;
	q->desc = vj_mem_ptr(mem, q->desc_gpa, n * sizeof(struct vring_desc));
	q->avail = vj_mem_ptr(mem, q->avail_gpa, sizeof(struct vring_avail) + n * 2);
	q->used = vj_mem_ptr(mem, q->used_gpa,
			     sizeof(struct vring_used) + n * sizeof(struct vring_used_elem));
	if (!q->desc || !q->avail || !q->used) {
		q->desc = NULL;
		q->avail = NULL;
		q->used = NULL;
		return -EFAULT;
	}
	q->last_avail = 0;
	q->used_idx = 0;
	q->broken = false;
	q->ready = true;
	q->mem = mem;
	return 0;
}

/* Appends one buffer. Readable buffers must all come before writable
 * ones (virtio 1.x, 2.7.4.2), so each direction is one contiguous run of
 * segments. */
static int add_seg(const struct vj_virtq *q, const struct vj_guest_mem *mem, struct vj_chain *c,
		   const struct vring_desc *d, bool *seen_write)
{
	bool write = d->flags & VRING_DESC_F_WRITE;
	uint64_t *total = write ? &c->writable : &c->readable;
	struct vj_seg *s;

	if (!write && *seen_write)
		return -EINVAL;
	*seen_write |= write;
	if (d->len == 0)
		return 0;
	if (c->nsegs >= q->size)
		return -E2BIG;
	/* Used lengths are 32 bits: no direction may hold more. */
	if (*total + d->len > UINT32_MAX)
		return -E2BIG;
	*total += d->len;
	s = &c->seg[c->nsegs++];
	s->gpa = d->addr;
	s->len = d->len;
	s->write = write;
	s->host = vj_mem_ptr(mem, d->addr, d->len);
	if (!s->host)
		c->err = -EFAULT;
	return 0;
}

/* An indirect table: its own index space, walked at most once per entry,
 * no nested tables. */
static int walk_indirect(const struct vj_virtq *q, const struct vj_guest_mem *mem,
			 struct vj_chain *c, const struct vring_desc *ind, bool *seen_write)
{
	const uint8_t *table;
	uint32_t n = ind->len / sizeof(struct vring_desc);
	uint16_t i = 0;

	if (!q->indirect || (ind->flags & VRING_DESC_F_NEXT) ||
	    ind->len % sizeof(struct vring_desc) || n == 0 || n > q->size)
		return -EINVAL;
	table = vj_mem_ptr(mem, ind->addr, ind->len);
	if (!table)
		return -EINVAL;
	for (uint32_t steps = 0;; steps++) {
		struct vring_desc d;
		int r;

		if (steps == n)
			return -ELOOP;
		desc_read(table + (size_t)i * sizeof(d), &d);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return -EINVAL;
		if ((r = add_seg(q, mem, c, &d, seen_write)) < 0)
			return r;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return -EINVAL;
		i = d.next;
	}
}

/* Zero or more direct descriptors, optionally ending in one that points
 * to an indirect table. */
static int walk(const struct vj_virtq *q, const struct vj_guest_mem *mem, struct vj_chain *c)
{
	bool seen_write = false;
	uint16_t i = c->head;

	for (unsigned steps = 0;; steps++) {
		struct vring_desc d;
		int r;

		if (steps == q->size)
			return -ELOOP;
		desc_read(&q->desc[i], &d);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return walk_indirect(q, mem, c, &d, &seen_write);
		if ((r = add_seg(q, mem, c, &d, &seen_write)) < 0)
			return r;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= q->size)
			return -EINVAL;
		i = d.next;
	}
}

int vj_virtq_pop(struct vj_virtq *q, const struct vj_guest_mem *mem, struct vj_chain *c)
{
	uint16_t avail_idx, pending, head;
	int r;

	if (!q->ready)
		return 0;
	if (q->broken)
		return -EIO;
	/* Acquire: the ring entries and descriptors the driver published
	 * before moving idx are visible once we see the new idx. */
	avail_idx = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
	pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->size) {
		q->broken = true;
		return -EIO;
	}
	head = load16(&q->avail->ring[q->last_avail & (q->size - 1)]);
	if (head >= q->size) {
		q->broken = true;
		return -EIO;
	}
	q->last_avail++;
	c->head = head;
	c->err = 0;
	c->nsegs = 0;
	c->readable = c->writable = 0;
	r = walk(q, mem, c);
	if (r < 0)
		c->err = r;
	return 1;
}

void vj_virtq_unpop(struct vj_virtq *q)
{
	q->last_avail--;
}

/* After the writes (a migration takes a page's bit, then reads it): every
 * device-writable buffer of the chain, written or not (the written count
 * does not say which), and the used ring's element and index. */
static void mark_dirty(const struct vj_virtq *q, const struct vj_chain *c,
		       const struct vring_used_elem *e)
{
	if (!q->mem || !atomic_load(&((struct vj_guest_mem *)q->mem)->dev_dirty))
		return;
	for (unsigned i = 0; i < c->nsegs && i < VJ_VIRTQ_MAX_SIZE; i++)
		if (c->seg[i].write && c->seg[i].host)
			vj_mem_mark_dirty(q->mem, c->seg[i].host, c->seg[i].len);
	vj_mem_mark_dirty(q->mem, e, sizeof(*e));
	vj_mem_mark_dirty(q->mem, &q->used->idx, sizeof(q->used->idx));
}

void vj_virtq_push(struct vj_virtq *q, const struct vj_chain *c, uint32_t written)
{
	struct vring_used_elem *e = &q->used->ring[q->used_idx & (q->size - 1)];

	__atomic_store_n(&e->id, c->head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, written, __ATOMIC_RELAXED);
	q->used_idx++;
	/* Release: the element (and the data written into the buffers) is
	 * visible before the driver sees the new index. */
	__atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
	mark_dirty(q, c, e);
}

bool vj_virtq_wants_interrupt(const struct vj_virtq *q)
{
	/* Full barrier: our used->idx store must be visible before we read
	 * the flags, or a driver that re-enables interrupts in between
	 * could miss the notification (the classic lost-wakeup race). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(load16(&q->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
}

bool vj_virtq_has_avail(const struct vj_virtq *q)
{
	return q->ready && !q->broken &&
	       __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE) != q->last_avail;
}
