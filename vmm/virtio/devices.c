#include "virtio/devices.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host_open.h"
#include "log.h"
#include "vm.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "virtio/vsock.h"

/* Standalone: the launcher's checks (host_open.h), on the user's own paths.
 * A migration's destination takes a writable drive's lock only at the
 * handover (vmm/MIGRATION.md). */
static int open_drive(struct vj_drive_config *d, unsigned index, bool incoming)
{
	struct vj_err e;
	int r;

	if (d->file.fd >= 0)
		return 0;
	r = incoming ? vj_open_drive_incoming(d, index, VJ_OPEN_OWN_PATH, &e)
		     : vj_open_drive(d, index, VJ_OPEN_OWN_PATH, &e);
	if (r < 0)
		vj_error("%s", e.msg);
	return r;
}

int vj_virtio_open_inputs(struct vj_vm_config *cfg)
{
	int r;

	for (unsigned i = 0; i < cfg->ndrives; i++)
		if ((r = open_drive(&cfg->drives[i], i, vj_config_migrating(cfg))) < 0)
			return r;
	for (unsigned i = 0; i < cfg->nnets; i++)
		if ((r = vj_net_tap_open(&cfg->nets[i])) < 0)
			return r;
	return vj_vsock_open_inputs(&cfg->vsock);
}

/* calloc'ed: devices hold a scratch chain of a few KiB each. */
#define NEW(p) ((p) = calloc(1, sizeof(*(p))))

static int attached(int r, const char *name, unsigned slot)
{
	if (r < 0)
		vj_error("%s: attaching to virtio-mmio slot %u: %s", name, slot, strerror(-r));
	return r;
}

int vj_virtio_devices_create(struct vj_virtio_devices *set, struct vj_vm *vm, bool restored)
{
	const struct vj_vm_config *cfg = vm->cfg;
	unsigned slot = 0;
	int r;

	memset(set, 0, sizeof(*set));
	for (unsigned i = 0; i < cfg->ndrives; i++, slot++) {
		if (!NEW(set->blk[i]))
			return -ENOMEM;
		set->nblk++;
		if ((r = vj_blk_create(set->blk[i], &cfg->drives[i], i, &vm->mem)) < 0 ||
		    (r = attached(vj_blk_attach(set->blk[i], vm, slot), set->blk[i]->vdev.name,
				  slot)) < 0)
			return r;
	}
	for (unsigned i = 0; i < cfg->nnets; i++, slot++) {
		if (!NEW(set->net[i]))
			return -ENOMEM;
		set->nnet++;
		if ((r = vj_net_create(set->net[i], &cfg->nets[i], i, &vm->mem, restored)) < 0 ||
		    (r = attached(vj_net_attach(set->net[i], vm, slot), set->net[i]->vdev.name,
				  slot)) < 0)
			return r;
	}
	if (cfg->vsock.enabled) {
		if (!NEW(set->vsock))
			return -ENOMEM;
		if ((r = vj_vsock_create(set->vsock, &cfg->vsock, &vm->mem)) < 0 ||
		    (r = attached(vj_vsock_attach(set->vsock, vm, slot), "virtio-vsock", slot)) < 0)
			return r;
		slot++;
	}
	if (cfg->rng) {
		if (!NEW(set->rng))
			return -ENOMEM;
		if ((r = vj_rng_create(set->rng, &vm->mem)) < 0 ||
		    (r = attached(vj_rng_attach(set->rng, vm, slot), "virtio-rng", slot)) < 0)
			return r;
		slot++;
	}
	return 0;
}

void vj_virtio_devices_destroy(struct vj_virtio_devices *set)
{
	for (unsigned i = 0; i < set->nblk; i++) {
		vj_blk_destroy(set->blk[i]);
		free(set->blk[i]);
	}
	for (unsigned i = 0; i < set->nnet; i++) {
		vj_net_destroy(set->net[i]);
		free(set->net[i]);
	}
	if (set->vsock) {
		vj_vsock_destroy(set->vsock);
		free(set->vsock);
	}
	if (set->rng) {
		vj_rng_destroy(set->rng);
		free(set->rng);
	}
	memset(set, 0, sizeof(*set));
}
