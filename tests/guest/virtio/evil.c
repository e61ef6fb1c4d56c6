/*
 * A hostile driver: `vjtest=evil vjdev=blk|net|rng|vsock vjevil=CASE`.
 * Each case checks the outcome vmm/virtio/README.md documents, then that
 * the device still serves a good request:
 *   outside-ram, loop, len-4g, nested   one malformed chain (the device's
 *                                       own outcome, see the kits)
 *   avail-jump    avail idx moved by more than the queue size: the device
 *                 sets DEVICE_NEEDS_RESET and raises a config interrupt;
 *                 after a reset it works again
 *   head-oob      a head index past the ring: the same
 *   qsize         queue size 100 (not a power of two), then 512 (above
 *                 the maximum): QueueReady stays 0, DEVICE_NEEDS_RESET
 *   notify-early  notifies before any queue is set up, for queues that
 *                 exist and one that does not: ignored
 *   config-write  writes into and past the configuration space: ignored;
 *                 reads past its end return 0
 *   features      FEATURES_OK without VIRTIO_F_VERSION_1, or with a
 *                 feature the device lacks: refused, and DRIVER_OK with it
 */
#include "vkit.h"

#define NEEDS_RESET_WAIT_S 10

uint32_t kit_submit_raw(struct vio_q *q, uint16_t head)
{
	uint32_t id, len;

	vio_publish(q, head);
	vio_kick(q);
	if (!vio_wait_used(q, &id, &len))
		fail("malformed chain never came back");
	if (id != head)
		fail("used id %u, want head %u", id, head);
	q->next_desc = 4 % q->size;
	return len;
}

static const struct kit *kit;

static uint32_t rd(uint32_t off)
{
	return vio_rd(kit->dev(), off);
}

static void wr(uint32_t off, uint32_t v)
{
	vio_wr(kit->dev(), off, v);
}

static void expect_needs_reset(const char *what)
{
	uint64_t deadline = deadline_after(NEEDS_RESET_WAIT_S);

	while (!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET))
		if (past(deadline))
			fail("%s: no DEVICE_NEEDS_RESET (status 0x%x)", what, rd(VIRTIO_MMIO_STATUS));
}

/* The device broke on a hostile ring: needs reset, says so by interrupt
 * status, and works after a reset. */
static void broken_then_reset(const char *what)
{
	expect_needs_reset(what);
	if (!(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG))
		fail("%s: no configuration-change interrupt status", what);
	wr(VIRTIO_MMIO_STATUS, 0);
	if (rd(VIRTIO_MMIO_STATUS) != 0)
		fail("%s: status 0x%x after reset", what, rd(VIRTIO_MMIO_STATUS));
	kit->up();
	kit->healthy();
}

static void avail_jump(void)
{
	struct vio_q *q;

	kit->up();
	q = kit->queue();
	q->avail_idx = (uint16_t)(q->avail_idx + q->size + 1);
	__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
	vio_kick(q);
	broken_then_reset("avail idx jump");
}

static void head_oob(void)
{
	struct vio_q *q;

	kit->up();
	q = kit->queue();
	vio_publish(q, (uint16_t)(q->size + 5));
	vio_kick(q);
	broken_then_reset("head index past the ring");
}

/* Reset, ACKNOWLEDGE, DRIVER and the features, as vio_init() does. */
static void negotiate(uint64_t features)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK);
}

static void queue_size(uint32_t size)
{
	uint8_t *ring = vio_alloc(16384, 4096);

	negotiate(1ull << VIRTIO_F_VERSION_1);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, size);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(uint64_t)ring);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(uint64_t)ring + 8192);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(uint64_t)ring + 12288);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	if (rd(VIRTIO_MMIO_QUEUE_READY))
		fail("queue of size %u accepted", size);
	if (!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET))
		fail("queue of size %u: no DEVICE_NEEDS_RESET", size);
}

static void qsize(void)
{
	kit->up(); /* finds the device */
	queue_size(100);
	queue_size(rd(VIRTIO_MMIO_QUEUE_NUM_MAX) * 2);
	kit->up();
	kit->healthy();
}

static void notify_early(void)
{
	kit->up();
	negotiate(1ull << VIRTIO_F_VERSION_1);
	for (unsigned q = 0; q < kit->nqueues + 2; q++)
		wr(VIRTIO_MMIO_QUEUE_NOTIFY, q);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	if (rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET)
		fail("an early notify broke the device");
	kit->up();
	kit->healthy();
}

static void config_write(void)
{
	uint32_t before[16], after[16];
	struct vio_dev *d;

	kit->up();
	d = kit->dev();
	for (unsigned i = 0; i < 16; i++)
		before[i] = vio_config32(d, 4 * i);
	for (unsigned i = 0; i < 16; i++)
		wr(VIRTIO_MMIO_CONFIG + 4 * i, 0xdeadbeef);
	wr(VIRTIO_MMIO_CONFIG + 0x400, 0xdeadbeef);
	wr(0xffc, 0xdeadbeef);
	mmio_write8(d->base + VIRTIO_MMIO_CONFIG + 0xeff, 0x5a);
	mmio_write8(d->base + VIRTIO_MMIO_CONFIG + 1, 0x5a);
	for (unsigned i = 0; i < 16; i++)
		after[i] = vio_config32(d, 4 * i);
	if (memcmp(before, after, sizeof(before)))
		fail("configuration space changed by driver writes");
	if (rd(VIRTIO_MMIO_CONFIG + 0x400) || rd(0xffc) || mmio_read8(d->base + 0xfff))
		fail("reads past the configuration space are not 0");
	kit->healthy();
}

static void features(void)
{
	kit->up();
	negotiate(0); /* no VIRTIO_F_VERSION_1: a legacy driver */
	if (rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK)
		fail("FEATURES_OK accepted without VIRTIO_F_VERSION_1");
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
	if (rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK)
		fail("DRIVER_OK accepted without FEATURES_OK");
	negotiate(1ull << VIRTIO_F_VERSION_1 | 1ull << 63);
	if (rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK)
		fail("FEATURES_OK accepted with a feature the device lacks");
	kit->up();
	kit->healthy();
}

static void descriptor(enum evil_shape shape)
{
	kit->up();
	kit->bad(shape);
	kit->healthy();
}

static void outside_ram(void) { descriptor(EVIL_OUTSIDE_RAM); }
static void loop(void) { descriptor(EVIL_LOOP); }
static void len_4g(void) { descriptor(EVIL_LEN_NEAR_4G); }
static void nested(void) { descriptor(EVIL_NESTED); }

void scenario_evil(void)
{
	static const struct kit *const kits[] = { &kit_blk, &kit_net, &kit_rng, &kit_vsock };
	static const struct { const char *name; void (*run)(void); } cases[] = {
		{ "outside-ram", outside_ram }, { "loop", loop }, { "len-4g", len_4g },
		{ "nested", nested }, { "avail-jump", avail_jump }, { "head-oob", head_oob },
		{ "qsize", qsize }, { "notify-early", notify_early },
		{ "config-write", config_write }, { "features", features },
	};
	char dev[16], name[24];

	if (!cmdline_word("vjdev", dev, sizeof(dev)) || !cmdline_word("vjevil", name, sizeof(name)))
		fail("needs vjdev= and vjevil=");
	for (size_t k = 0; k < sizeof(kits) / sizeof(kits[0]); k++) {
		if (memcmp(kits[k]->name, dev, strlen(dev) + 1))
			continue;
		kit = kits[k];
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			if (!memcmp(cases[c].name, name, strlen(name) + 1)) {
				cases[c].run();
				pass("%s %s", dev, name);
			}
		}
		fail("unknown case \"%s\"", name);
	}
	fail("unknown device \"%s\"", dev);
}
