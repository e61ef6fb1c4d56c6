#include "vio.h"

#define POOL_SIZE (2u << 20)
#define WAIT_SECONDS 10

static uint8_t pool[POOL_SIZE] __attribute__((aligned(4096)));
static size_t pool_used;

void *vio_alloc(size_t size, size_t align)
{
	size_t at = (pool_used + align - 1) & ~(align - 1);

	if (at + size > POOL_SIZE)
		fail("test guest out of pool memory");
	pool_used = at + size;
	memset(pool + at, 0, size);
	return pool + at;
}

uint32_t vio_rd(const struct vio_dev *d, uint32_t off)
{
	return mmio_read32(d->base + off);
}

void vio_wr(const struct vio_dev *d, uint32_t off, uint32_t v)
{
	mmio_write32(d->base + off, v);
}

uint32_t vio_status(const struct vio_dev *d)
{
	return vio_rd(d, VIRTIO_MMIO_STATUS);
}

static uint64_t parse_hex(const char **p)
{
	uint64_t v = 0;

	for (;; (*p)++) {
		char c = **p;
		if (c >= '0' && c <= '9')
			v = v * 16 + (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uint64_t)(c - 'a' + 10);
		else
			return v;
	}
}

bool vio_find(uint32_t device_id, unsigned nth, struct vio_dev *d)
{
	static const char key[] = "virtio_mmio.device=4K@0x";

	for (const char *p = boot.cmdline; *p; p++) {
		if ((p != boot.cmdline && p[-1] != ' ') || memcmp(p, key, sizeof(key) - 1))
			continue;
		p += sizeof(key) - 1;
		d->base = parse_hex(&p);
		d->irq = 0;
		if (*p == ':')
			for (p++; *p >= '0' && *p <= '9'; p++)
				d->irq = d->irq * 10 + (unsigned)(*p - '0');
		if (vio_rd(d, VIRTIO_MMIO_MAGIC_VALUE) != 0x74726976 ||
		    vio_rd(d, VIRTIO_MMIO_VERSION) != 2)
			fail("no virtio-mmio v2 device at 0x%lx", d->base);
		d->device_id = vio_rd(d, VIRTIO_MMIO_DEVICE_ID);
		if (d->device_id == device_id && nth-- == 0)
			return true;
		if (!*p)
			break;
	}
	return false;
}

bool vio_init(struct vio_dev *d, uint64_t want)
{
	uint64_t offered;

	vio_wr(d, VIRTIO_MMIO_STATUS, 0);
	vio_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vio_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vio_wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered = vio_rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
	vio_wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)vio_rd(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	d->features = offered & (want | 1ull << VIRTIO_F_VERSION_1);
	vio_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vio_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
	vio_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vio_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	vio_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				      VIRTIO_CONFIG_S_FEATURES_OK);
	return vio_status(d) & VIRTIO_CONFIG_S_FEATURES_OK;
}

bool vio_queue(struct vio_dev *d, unsigned index, struct vio_q *q, uint16_t size)
{
	uint64_t desc, avail, used;

	vio_wr(d, VIRTIO_MMIO_QUEUE_SEL, index);
	if (vio_rd(d, VIRTIO_MMIO_QUEUE_READY) || vio_rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX) < size)
		return false;
	*q = (struct vio_q){ .dev = d, .index = index, .size = size };
	q->desc = vio_alloc(16u * size, 4096);
	q->avail = vio_alloc(6u + 2u * size, 2);
	q->used = vio_alloc(6u + 8u * size, 4096);
	q->indirect = vio_alloc(16u * size, 16);
	desc = (uint64_t)q->desc;
	avail = (uint64_t)q->avail;
	used = (uint64_t)q->used;
	vio_wr(d, VIRTIO_MMIO_QUEUE_NUM, size);
	vio_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	vio_wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	vio_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	vio_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	vio_wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	vio_wr(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
	vio_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	return vio_rd(d, VIRTIO_MMIO_QUEUE_READY) == 1;
}

void vio_driver_ok(struct vio_dev *d)
{
	vio_wr(d, VIRTIO_MMIO_STATUS, vio_status(d) | VIRTIO_CONFIG_S_DRIVER_OK);
}

uint64_t vio_config64(const struct vio_dev *d, uint32_t off)
{
	return vio_config32(d, off) | (uint64_t)vio_config32(d, off + 4) << 32;
}

uint32_t vio_config32(const struct vio_dev *d, uint32_t off)
{
	return vio_rd(d, VIRTIO_MMIO_CONFIG + off);
}

uint8_t vio_config8(const struct vio_dev *d, uint32_t off)
{
	return mmio_read8(d->base + VIRTIO_MMIO_CONFIG + off);
}

static void fill(struct vring_desc *table, uint16_t first, uint16_t wrap,
		 const struct vio_buf *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t at = (uint16_t)((first + i) % wrap);
		table[at].addr = b[i].addr;
		table[at].len = b[i].len;
		table[at].flags = (uint16_t)((b[i].write ? VRING_DESC_F_WRITE : 0) |
					     (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		table[at].next = (uint16_t)((first + i + 1) % wrap);
	}
}

void vio_publish(struct vio_q *q, uint16_t head)
{
	q->avail->ring[q->avail_idx % q->size] = head;
	barrier(); /* x86 keeps stores in order; the compiler must too */
	q->avail_idx++;
	__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
}

uint16_t vio_submit(struct vio_q *q, const struct vio_buf *b, unsigned n)
{
	uint16_t head = q->next_desc;

	fill(q->desc, head, q->size, b, n);
	q->next_desc = (uint16_t)((head + n) % q->size);
	vio_publish(q, head);
	return head;
}

uint16_t vio_submit_indirect(struct vio_q *q, const struct vio_buf *b, unsigned n)
{
	uint16_t head = q->next_desc;

	fill(q->indirect, 0, q->size, b, n);
	q->desc[head] = (struct vring_desc){ .addr = (uint64_t)q->indirect, .len = 16u * n,
					     .flags = VRING_DESC_F_INDIRECT };
	q->next_desc = (uint16_t)((head + 1) % q->size);
	vio_publish(q, head);
	return head;
}

void vio_kick(struct vio_q *q)
{
	vio_wr(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
}

bool vio_used_pending(const struct vio_q *q)
{
	return __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) != q->used_seen;
}

bool vio_wait_used(struct vio_q *q, uint32_t *id, uint32_t *len)
{
	uint64_t deadline = deadline_after(WAIT_SECONDS);
	struct vring_used_elem *e;

	while (!vio_used_pending(q)) {
		if (past(deadline))
			return false;
		cpu_relax();
	}
	e = &q->used->ring[q->used_seen % q->size];
	if (id)
		*id = e->id;
	if (len)
		*len = e->len;
	q->used_seen++;
	return true;
}

int64_t vio_transact(struct vio_q *q, const struct vio_buf *b, unsigned n)
{
	uint32_t len;

	vio_submit(q, b, n);
	vio_kick(q);
	return vio_wait_used(q, 0, &len) ? (int64_t)len : -1;
}
