/*
 * `vjtest=bench vjn=N`: the host-side cost of a request as the guest sees
 * it, next to a bare exit, timed with the TSC from ring 3 (native on
 * these hosts, so the figures measure the VMM and KVM, not the emulator):
 *   exit      a read of a virtio register: exit to the VMM's vCPU thread,
 *             bus dispatch, device lock, back into the guest
 *   blk       a 4 KiB read: notify (ioeventfd), the VMM thread wakes,
 *             walks the chain, preadv()s from the page cache, pushes the
 *             used element, signals the irqfd; the guest polls the ring
 *   net       one 1514-byte frame out: the same path to writev() on the tap
 * Each is done N times (after a warm-up); the line reports the median of
 * each, in TSC cycles. Without a network interface that part reads 0.
 */
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "vio.h"

#define NMAX 4096
#define WARMUP 64
#define FRAME 1514
#define HDR_LEN 12

static uint64_t samples[NMAX];

static uint64_t median(unsigned n)
{
	/* Insertion sort: n is small and this runs natively. */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && samples[j - 1] > samples[j]; j--) {
			uint64_t t = samples[j];
			samples[j] = samples[j - 1];
			samples[j - 1] = t;
		}
	return samples[n / 2];
}

static uint64_t time_exits(struct vio_dev *d, unsigned n)
{
	for (unsigned i = 0; i < n + WARMUP; i++) {
		uint64_t t = rdtsc();
		if (vio_rd(d, VIRTIO_MMIO_MAGIC_VALUE) != 0x74726976)
			fail("bad magic");
		if (i >= WARMUP)
			samples[i - WARMUP] = rdtsc() - t;
	}
	return median(n);
}

/* Times n round trips of the chain `b` on queue q (re-submitted each time). */
static uint64_t time_requests(struct vio_q *q, const struct vio_buf *b, unsigned nb, unsigned n)
{
	for (unsigned i = 0; i < n + WARMUP; i++) {
		uint64_t t = rdtsc();
		q->next_desc = 0;
		if (vio_transact(q, b, nb) < 0)
			fail("request %u: no answer", i);
		if (i >= WARMUP)
			samples[i - WARMUP] = rdtsc() - t;
	}
	return median(n);
}

static uint64_t time_blk(unsigned n, struct vio_dev *d)
{
	static struct vio_q q;
	struct virtio_blk_outhdr *h = vio_alloc(sizeof(*h), 16);
	uint8_t *buf = vio_alloc(4096, 4096), *status = vio_alloc(1, 1);
	struct vio_buf b[3] = { VIO_BUF(h, sizeof(*h), false), VIO_BUF(buf, 4096, true),
				VIO_BUF(status, 1, true) };

	if (!vio_init(d, 0) || !vio_queue(d, 0, &q, 16))
		fail("blk set-up refused");
	vio_driver_ok(d);
	*h = (struct virtio_blk_outhdr){ .type = VIRTIO_BLK_T_IN, .sector = 8 };
	return time_requests(&q, b, 3, n);
}

static uint64_t time_net(unsigned n, struct vio_dev *d)
{
	static struct vio_q rx, tx;
	uint8_t *hdr = vio_alloc(HDR_LEN, 16), *f = vio_alloc(FRAME, 64);
	struct vio_buf b[2] = { VIO_BUF(hdr, HDR_LEN, false), VIO_BUF(f, FRAME, false) };

	if (!vio_init(d, 0) || !vio_queue(d, 0, &rx, 16) || !vio_queue(d, 1, &tx, 16))
		fail("net set-up refused");
	vio_driver_ok(d);
	memset(f, 0xff, 6); /* broadcast from a locally administered address */
	memset(f + 6, 0x02, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	return time_requests(&tx, b, 2, n);
}

void scenario_bench(void)
{
	unsigned n = (unsigned)cmdline_u64("vjn", 1000);
	struct vio_dev blk, net;
	bool has_blk = vio_find(VIRTIO_ID_BLOCK, 0, &blk), has_net = vio_find(VIRTIO_ID_NET, 0, &net);
	uint64_t exit_c, blk_c = 0, net_c = 0;

	if (n > NMAX)
		n = NMAX;
	if (!has_blk)
		fail("the bench needs a drive (--drive) for its exits and reads");
	exit_c = time_exits(&blk, n);
	blk_c = time_blk(n, &blk);
	if (has_net)
		net_c = time_net(n, &net);
	print("vjbench: n=%u exit=%lu blk_read_4k=%lu net_tx_1514=%lu\n", n, exit_c, blk_c, net_c);
	pass("n=%u", n);
}
