/*
 * virtio-blk from a polling driver (and one interrupt-driven request):
 * the test script made the drive file with a known pattern and checks it
 * afterwards (host.c).
 *   blk      read the pattern, write, flush, read back through an indirect
 *            table, write zeroes, discard, GET_ID, a read past the end
 *   blk-ro   a read-only drive: RO offered, reads work (vjreads=N of them),
 *            writes fail
 *   blk-irq  one read completed by interrupt, not by polling
 */
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "vkit.h"
#include "vpattern.h"

#define SECTOR 512
#define IO_LEN 4096

struct blk {
	struct vio_dev dev;
	struct vio_q q;
	struct virtio_blk_outhdr *hdr;
	uint8_t *status;
	uint8_t *buf;
	uint64_t capacity;
};

static void blk_open(struct blk *b, uint64_t want)
{
	if (!vio_find(VIRTIO_ID_BLOCK, 0, &b->dev))
		fail("no virtio-blk device announced");
	if (!vio_init(&b->dev, want))
		fail("FEATURES_OK refused");
	if (!vio_queue(&b->dev, 0, &b->q, 16))
		fail("queue set-up refused");
	vio_driver_ok(&b->dev);
	b->hdr = vio_alloc(sizeof(*b->hdr), 16);
	b->status = vio_alloc(1, 1);
	b->buf = vio_alloc(IO_LEN, 4096);
	b->capacity = vio_config64(&b->dev, 0);
}

static bool has(const struct blk *b, unsigned bit)
{
	return b->dev.features & (1ull << bit);
}

/* One request; returns the status byte (0xff when the device did not
 * write it) and the used length in *len. */
static uint8_t request(struct blk *b, uint32_t type, uint64_t sector, void *data, uint32_t len,
		       bool indirect, uint32_t *used)
{
	struct vio_buf bufs[3];
	unsigned n = 0;
	uint32_t got;

	*b->hdr = (struct virtio_blk_outhdr){ .type = type, .sector = sector };
	*b->status = 0xff;
	bufs[n++] = VIO_BUF(b->hdr, sizeof(*b->hdr), false);
	if (len)
		bufs[n++] = VIO_BUF(data, len, type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID);
	bufs[n++] = VIO_BUF(b->status, 1, true);
	if (indirect)
		vio_submit_indirect(&b->q, bufs, n);
	else
		vio_submit(&b->q, bufs, n);
	vio_kick(&b->q);
	if (!vio_wait_used(&b->q, 0, &got))
		fail("request type %u sector %lu: no answer", type, sector);
	if (used)
		*used = got;
	return *b->status;
}

static void expect_status(uint8_t got, uint8_t want, const char *what)
{
	if (got != want)
		fail("%s: status %u, want %u", what, got, want);
}

static void check_pattern(const uint8_t *buf, uint64_t off, uint32_t len, bool inverted,
			  const char *what)
{
	for (uint32_t i = 0; i < len; i++) {
		uint8_t want = vpattern(off + i) ^ (inverted ? 0xff : 0);
		if (buf[i] != want)
			fail("%s: byte 0x%lx is 0x%x, want 0x%x", what, off + i, buf[i], want);
	}
}

void scenario_blk(void)
{
	static const unsigned want[] = { VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_FLUSH,
					 VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES,
					 VIRTIO_RING_F_INDIRECT_DESC };
	struct virtio_blk_discard_write_zeroes *range;
	struct blk b;
	char id[VIRTIO_BLK_ID_BYTES + 1] = { 0 };
	uint64_t features = 0;
	uint32_t used;

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		features |= 1ull << want[i];
	blk_open(&b, features | 1ull << VIRTIO_BLK_F_RO);
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!has(&b, want[i]))
			fail("feature %u not offered", want[i]);
	if (has(&b, VIRTIO_BLK_F_RO))
		fail("read-write drive offers VIRTIO_BLK_F_RO");

	expect_status(request(&b, VIRTIO_BLK_T_IN, 0, b.buf, IO_LEN, false, &used), 0, "read 0");
	if (used != IO_LEN + 1)
		fail("read 0: used length %u, want %u", used, IO_LEN + 1);
	check_pattern(b.buf, 0, IO_LEN, false, "read 0");

	for (uint32_t i = 0; i < IO_LEN; i++)
		b.buf[i] = vpattern(IO_LEN + i) ^ 0xff;
	expect_status(request(&b, VIRTIO_BLK_T_OUT, IO_LEN / SECTOR, b.buf, IO_LEN, false, 0), 0,
		      "write 8");
	expect_status(request(&b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, 0), 0, "flush");
	memset(b.buf, 0, IO_LEN);
	expect_status(request(&b, VIRTIO_BLK_T_IN, IO_LEN / SECTOR, b.buf, IO_LEN, true, 0), 0,
		      "indirect read 8");
	check_pattern(b.buf, IO_LEN, IO_LEN, true, "read back 8");

	range = (void *)b.buf;
	*range = (struct virtio_blk_discard_write_zeroes){ .sector = VPAT_ZERO_OFF / SECTOR,
							   .num_sectors = VPAT_ZERO_LEN / SECTOR };
	expect_status(request(&b, VIRTIO_BLK_T_WRITE_ZEROES, 0, range, sizeof(*range), false, 0),
		      0, "write zeroes");
	*range = (struct virtio_blk_discard_write_zeroes){ .sector = VPAT_DISCARD_OFF / SECTOR,
							   .num_sectors = VPAT_DISCARD_LEN / SECTOR };
	expect_status(request(&b, VIRTIO_BLK_T_DISCARD, 0, range, sizeof(*range), false, 0), 0,
		      "discard");

	expect_status(request(&b, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES, false, 0), 0,
		      "get id");
	expect_status(request(&b, VIRTIO_BLK_T_IN, b.capacity, b.buf, SECTOR, false, 0),
		      VIRTIO_BLK_S_IOERR, "read past the end");
	expect_status(request(&b, 0x55, 0, 0, 0, false, 0), VIRTIO_BLK_S_UNSUPP, "unknown type");
	pass("capacity=%lu id=%s", b.capacity, id);
}

void scenario_blk_ro(void)
{
	struct blk b;

	blk_open(&b, 1ull << VIRTIO_BLK_F_RO | 1ull << VIRTIO_BLK_F_FLUSH |
			     1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES);
	if (!has(&b, VIRTIO_BLK_F_RO))
		fail("read-only drive without VIRTIO_BLK_F_RO");
	if (has(&b, VIRTIO_BLK_F_DISCARD) || has(&b, VIRTIO_BLK_F_WRITE_ZEROES))
		fail("read-only drive offers discard or write zeroes");
	/* vjreads=N: more reads (the rate-limit test throttles them). */
	for (uint64_t i = 0, n = cmdline_u64("vjreads", 1); i < n; i++) {
		uint64_t sector = (i * 8) % (b.capacity - 8);
		memset(b.buf, 0, IO_LEN);
		expect_status(request(&b, VIRTIO_BLK_T_IN, sector, b.buf, IO_LEN, false, 0), 0,
			      "read");
		check_pattern(b.buf, sector * SECTOR, IO_LEN, false, "read");
	}
	memset(b.buf, 0x5a, IO_LEN);
	expect_status(request(&b, VIRTIO_BLK_T_OUT, 0, b.buf, IO_LEN, false, 0),
		      VIRTIO_BLK_S_IOERR, "write to a read-only drive");
	expect_status(request(&b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, 0), 0, "flush");
	pass("writes refused");
}

void scenario_blk_irq(void)
{
	struct blk b;
	struct vio_buf bufs[3];
	uint64_t deadline;

	blk_open(&b, 0);
	irq_dev_base = b.dev.base;
	irq_route(b.dev.irq);
	*b.hdr = (struct virtio_blk_outhdr){ .type = VIRTIO_BLK_T_IN, .sector = 0 };
	*b.status = 0xff;
	bufs[0] = VIO_BUF(b.hdr, sizeof(*b.hdr), false);
	bufs[1] = VIO_BUF(b.buf, IO_LEN, true);
	bufs[2] = VIO_BUF(b.status, 1, true);
	vio_submit(&b.q, bufs, 3);
	vio_kick(&b.q);
	/* Wait for the interrupt, not for the ring. */
	deadline = deadline_after(10);
	while (!irq_count && !past(deadline))
		cpu_relax();
	if (!irq_count)
		fail("no interrupt on IRQ %u (used idx %u)", b.dev.irq, b.q.used->idx);
	if (!(irq_status & VIRTIO_MMIO_INT_VRING))
		fail("interrupt status 0x%x lacks the used-buffer bit", irq_status);
	if (!vio_used_pending(&b.q) || *b.status != 0)
		fail("interrupt came before the used buffer (status %u)", *b.status);
	check_pattern(b.buf, 0, IO_LEN, false, "read");
	pass("irq=%u interrupts=%u", b.dev.irq, irq_count);
}

/* ---- the hostile scenarios' kit (evil.c) -------------------------------- */

static struct blk kb;

static void kb_up(void)
{
	blk_open(&kb, 1ull << VIRTIO_RING_F_INDIRECT_DESC);
}

static struct vio_dev *kb_dev(void)
{
	return &kb.dev;
}

static struct vio_q *kb_queue(void)
{
	return &kb.q;
}

/* A data buffer outside RAM or of almost 4 GiB fails the request with
 * IOERR; a loop or nested indirect table returns it unwritten. */
static void kb_bad(enum evil_shape shape)
{
	struct vring_desc *d = kb.q.desc, *t = kb.q.indirect;
	const uint16_t n = VRING_DESC_F_NEXT, w = VRING_DESC_F_WRITE;
	uint32_t len;

	*kb.hdr = (struct virtio_blk_outhdr){ .type = VIRTIO_BLK_T_IN, .sector = 0 };
	*kb.status = 0xff;
	d[0] = (struct vring_desc){ (uint64_t)kb.hdr, sizeof(*kb.hdr), n, 1 };
	d[2] = (struct vring_desc){ (uint64_t)kb.status, 1, w, 0 };
	switch (shape) {
	case EVIL_OUTSIDE_RAM:
		d[1] = (struct vring_desc){ EVIL_NOT_RAM, IO_LEN, w | n, 2 };
		break;
	case EVIL_LEN_NEAR_4G:
		d[1] = (struct vring_desc){ (uint64_t)kb.buf, EVIL_LEN_4G, w | n, 2 };
		break;
	case EVIL_LOOP:
		d[1] = (struct vring_desc){ (uint64_t)kb.status, 1, w | n, 0 };
		break;
	case EVIL_NESTED:
		t[0] = (struct vring_desc){ (uint64_t)t, 16, VRING_DESC_F_INDIRECT, 0 };
		d[0] = (struct vring_desc){ (uint64_t)t, 16, VRING_DESC_F_INDIRECT, 0 };
		break;
	}
	len = kit_submit_raw(&kb.q, 0);
	if (shape == EVIL_OUTSIDE_RAM || shape == EVIL_LEN_NEAR_4G) {
		if (*kb.status != VIRTIO_BLK_S_IOERR || len != 1)
			fail("bad data buffer: status %u used %u, want IOERR and 1", *kb.status, len);
	} else if (*kb.status != 0xff || len != 0) {
		fail("malformed chain: status %u used %u, want it untouched", *kb.status, len);
	}
}

static void kb_healthy(void)
{
	expect_status(request(&kb, VIRTIO_BLK_T_IN, 0, kb.buf, IO_LEN, false, 0), 0, "read");
	check_pattern(kb.buf, 0, IO_LEN, false, "read after the attack");
}

const struct kit kit_blk = { "blk", VIRTIO_ID_BLOCK, 1, kb_up, kb_dev, kb_queue, kb_bad,
			     kb_healthy };
