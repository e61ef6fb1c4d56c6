/* virtio-rng (entropy device): fills the driver's buffers from getrandom(). */
#ifndef VJ_VIRTIO_RNG_H
#define VJ_VIRTIO_RNG_H

#include "virtio/mmio.h"

#define VJ_RNG_QUEUE_SIZE 64
/* Bytes per request: Linux asks for at most a page at a time; more only
 * costs the host time without giving the guest anything it needs. */
#define VJ_RNG_REQUEST_MAX 4096

struct vj_vm;

struct vj_rng {
	struct vj_virtio_dev vdev;
	struct vj_chain chain;
};

int vj_rng_create(struct vj_rng *r, const struct vj_guest_mem *mem);
int vj_rng_attach(struct vj_rng *r, struct vj_vm *vm, unsigned slot);
void vj_rng_destroy(struct vj_rng *r);

/* Serves one chain; returns the used length. For the unit tests. */
uint32_t vj_rng_handle(const struct vj_chain *c);

#endif
