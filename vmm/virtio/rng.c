#include "virtio/rng.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/random.h>
#include <linux/virtio_ids.h>

#include "log.h"

#define container_of_rng(d) ((struct vj_rng *)((char *)(d) - offsetof(struct vj_rng, vdev)))

uint32_t vj_rng_handle(const struct vj_chain *c)
{
	uint32_t done = 0;

	/* Entropy only flows to the guest: a readable buffer is a bad chain. */
	if (c->err || c->readable)
		return 0;
	for (unsigned i = 0; i < c->nsegs && done < VJ_RNG_REQUEST_MAX; i++) {
		uint32_t want = c->seg[i].len;
		ssize_t n;

		if (want > VJ_RNG_REQUEST_MAX - done)
			want = VJ_RNG_REQUEST_MAX - done;
		/* GRND_NONBLOCK: the event loop must not wait for the host's
		 * pool; a short answer is still a valid one. */
		n = getrandom(c->seg[i].host, want, GRND_NONBLOCK);
		if (n <= 0)
			break;
		done += (uint32_t)n;
		if ((uint32_t)n < want)
			break;
	}
	return done;
}

static void rng_queue_work(struct vj_virtio_dev *d, unsigned qi)
{
	struct vj_rng *r = container_of_rng(d);
	struct vj_virtq *q = &d->vq[qi];
	bool used = false;
	unsigned n;

	for (n = 0; n < q->size; n++) {
		if (vj_virtq_pop(q, d->mem, &r->chain) <= 0)
			break;
		uint32_t written = vj_rng_handle(&r->chain);
		vj_virtio_count(d, written);
		vj_virtq_push(q, &r->chain, written);
		used = true;
	}
	if (n == q->size)
		vj_virtio_kick(d, qi);
	if (used)
		vj_virtio_notify_used(d, qi);
}

static const struct vj_virtio_ops rng_ops = { .queue_work = rng_queue_work, .reset = NULL };

int vj_rng_create(struct vj_rng *r, const struct vj_guest_mem *mem)
{
	int e;

	memset(r, 0, sizeof(*r));
	e = vj_virtio_init(&r->vdev, "virtio-rng", VIRTIO_ID_RNG, 0, 1, VJ_RNG_QUEUE_SIZE, NULL, 0,
			   &rng_ops, mem);
	if (e < 0)
		vj_error("virtio-rng: device set-up: %s", strerror(-e));
	return e;
}

int vj_rng_attach(struct vj_rng *r, struct vj_vm *vm, unsigned slot)
{
	return vj_virtio_attach(&r->vdev, vm, slot);
}

void vj_rng_destroy(struct vj_rng *r)
{
	vj_virtio_destroy(&r->vdev);
}
