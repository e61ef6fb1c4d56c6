#include "test_virtio_util.h"

#include <string.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "unit.h"

void *gp(struct vj_guest_mem *mem, uint64_t gpa)
{
	void *p = vj_mem_ptr(mem, gpa, 1);

	assert_non_null(p);
	return p;
}

void fake_ring_init_slot(struct fake_ring *r, struct vj_guest_mem *mem, uint16_t size,
			 unsigned k)
{
	uint64_t off = 0x10000ull * k;

	assert_true(k < 15);
	*r = (struct fake_ring){ .mem = mem, .size = size, .desc = FAKE_DESC + off,
				 .avail = FAKE_AVAIL + off, .used = FAKE_USED + off };
	memset(gp(mem, FAKE_DESC + off), 0, 0x10000);
}

void fake_ring_init(struct fake_ring *r, struct vj_guest_mem *mem, uint16_t size)
{
	fake_ring_init_slot(r, mem, size, 0);
}

static void put_desc(struct vring_desc *d, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	*d = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

void fake_desc(struct fake_ring *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
	       uint16_t next)
{
	put_desc((struct vring_desc *)gp(r->mem, r->desc) + i, addr, len, flags, next);
}

void fake_table_desc(struct fake_ring *r, uint64_t table, uint16_t i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	put_desc((struct vring_desc *)gp(r->mem, table) + i, addr, len, flags, next);
}

void fake_publish(struct fake_ring *r, uint16_t head)
{
	struct vring_avail *a = gp(r->mem, r->avail);

	a->ring[r->avail_idx % r->size] = head;
	a->idx = ++r->avail_idx;
}

uint16_t fake_used_idx(struct fake_ring *r)
{
	return ((struct vring_used *)gp(r->mem, r->used))->idx;
}

struct vring_used_elem fake_used(struct fake_ring *r, uint16_t i)
{
	return ((struct vring_used *)gp(r->mem, r->used))->ring[i % r->size];
}

void fake_queue(struct fake_ring *r, struct vj_virtq *q, bool indirect)
{
	vj_virtq_reset(q);
	q->size = r->size;
	q->desc_gpa = r->desc;
	q->avail_gpa = r->avail;
	q->used_gpa = r->used;
	assert_int_equal(vj_virtq_enable(q, r->mem, VJ_VIRTQ_MAX_SIZE), 0);
	q->indirect = indirect;
}

void reg_write(struct vj_virtio_dev *d, uint64_t off, uint32_t v)
{
	vj_virtio_mmio_ops.write(d, off, (const uint8_t *)&v, 4);
}

uint32_t reg_read(struct vj_virtio_dev *d, uint64_t off)
{
	uint32_t v;

	vj_virtio_mmio_ops.read(d, off, (uint8_t *)&v, 4);
	return v;
}

uint32_t fake_driver_init(struct vj_virtio_dev *d, uint64_t features, struct fake_ring *rings,
			  unsigned nrings)
{
	features |= 1ull << VIRTIO_F_VERSION_1;
	reg_write(d, VIRTIO_MMIO_STATUS, 0);
	reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
						 VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned i = 0; i < nrings; i++) {
		reg_write(d, VIRTIO_MMIO_QUEUE_SEL, i);
		reg_write(d, VIRTIO_MMIO_QUEUE_NUM, rings[i].size);
		reg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)rings[i].desc);
		reg_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(rings[i].desc >> 32));
		reg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)rings[i].avail);
		reg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(rings[i].avail >> 32));
		reg_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)rings[i].used);
		reg_write(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(rings[i].used >> 32));
		reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	reg_write(d, VIRTIO_MMIO_STATUS, reg_read(d, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
	return reg_read(d, VIRTIO_MMIO_STATUS);
}

uint64_t irqs_taken(struct vj_virtio_dev *d)
{
	uint64_t n = 0;

	if (read(d->irq_efd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return 0;
	return n;
}
