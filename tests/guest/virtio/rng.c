/* virtio-rng: two reads that must both be filled and must differ. */
#include <linux/virtio_ids.h>

#include "vkit.h"

#define LEN 64

void scenario_rng(void)
{
	struct vio_dev d;
	struct vio_q q;
	uint8_t *a = vio_alloc(LEN, 64), *b = vio_alloc(LEN, 64);
	struct vio_buf buf;
	int64_t la, lb;
	unsigned zero = 0;

	if (!vio_find(VIRTIO_ID_RNG, 0, &d))
		fail("no virtio-rng device announced");
	if (!vio_init(&d, 0) || !vio_queue(&d, 0, &q, 8))
		fail("device set-up refused");
	vio_driver_ok(&d);
	buf = VIO_BUF(a, LEN, true);
	la = vio_transact(&q, &buf, 1);
	buf = VIO_BUF(b, LEN, true);
	lb = vio_transact(&q, &buf, 1);
	if (la != LEN || lb != LEN)
		fail("used lengths %ld and %ld, want %u", la, lb, LEN);
	if (!memcmp(a, b, LEN))
		fail("two reads returned the same bytes");
	for (unsigned i = 0; i < LEN; i++)
		zero += a[i] == 0;
	if (zero > LEN / 4)
		fail("%u of %u bytes are zero", zero, LEN);
	pass("%u bytes twice, different", LEN);
}

/* ---- the hostile scenarios' kit (evil.c) -------------------------------- */

static struct {
	struct vio_dev dev;
	struct vio_q q;
	uint8_t *buf;
} kr;

static void kr_up(void)
{
	if (!vio_find(VIRTIO_ID_RNG, 0, &kr.dev))
		fail("no virtio-rng device announced");
	if (!vio_init(&kr.dev, 0) || !vio_queue(&kr.dev, 0, &kr.q, 8))
		fail("device set-up refused");
	vio_driver_ok(&kr.dev);
	kr.buf = vio_alloc(LEN, 64);
}

static struct vio_dev *kr_dev(void)
{
	return &kr.dev;
}

static struct vio_q *kr_queue(void)
{
	return &kr.q;
}

/* Every malformed chain comes back empty, nothing written. */
static void kr_bad(enum evil_shape shape)
{
	struct vring_desc *d = kr.q.desc;
	const uint16_t n = VRING_DESC_F_NEXT, w = VRING_DESC_F_WRITE;
	uint32_t len;

	memset(kr.buf, 0, LEN);
	d[0] = (struct vring_desc){ (uint64_t)kr.buf, LEN, w | n, 1 };
	switch (shape) {
	case EVIL_OUTSIDE_RAM:
		d[1] = (struct vring_desc){ EVIL_NOT_RAM, LEN, w, 0 };
		break;
	case EVIL_LEN_NEAR_4G:
		d[1] = (struct vring_desc){ (uint64_t)kr.buf, EVIL_LEN_4G, w, 0 };
		break;
	case EVIL_LOOP:
		d[1] = (struct vring_desc){ (uint64_t)kr.buf, LEN, w | n, 0 };
		break;
	case EVIL_NESTED: /* and indirect was not even negotiated */
		d[0] = (struct vring_desc){ (uint64_t)kr.q.indirect, 16, VRING_DESC_F_INDIRECT, 0 };
		kr.q.indirect[0] = d[0];
		break;
	}
	len = kit_submit_raw(&kr.q, 0);
	for (unsigned i = 0; i < LEN; i++)
		if (kr.buf[i])
			fail("malformed chain: byte %u written", i);
	if (len)
		fail("malformed chain: used length %u, want 0", len);
}

static void kr_healthy(void)
{
	struct vio_buf b = VIO_BUF(kr.buf, 16, true);

	if (vio_transact(&kr.q, &b, 1) != 16)
		fail("16-byte read after the attack failed");
}

const struct kit kit_rng = { "rng", VIRTIO_ID_RNG, 1, kr_up, kr_dev, kr_queue, kr_bad,
			     kr_healthy };
