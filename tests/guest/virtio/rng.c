/* virtio-rng: two reads that must both be filled and must differ. */
#include <linux/virtio_ids.h>

#include "vio.h"

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
