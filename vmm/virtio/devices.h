/*
 * The virtio devices of one VM, created from the configuration in a fixed
 * slot order: drives, network interfaces, vsock, rng. Slot i sits at
 * VJ_VIRTIO_MMIO_BASE + i * 4 KiB with IRQ VJ_IRQ_VIRTIO_FIRST + i
 * (layout.h), and each device announces itself on the guest command line
 * as virtio_mmio.device=4K@ADDR:IRQ.
 */
#ifndef VJ_VIRTIO_DEVICES_H
#define VJ_VIRTIO_DEVICES_H

#include "config.h"

struct vj_vm;
struct vj_blk;
struct vj_net;
struct vj_vsock;
struct vj_rng;

struct vj_virtio_devices {
	unsigned nblk, nnet;
	struct vj_blk *blk[VJ_MAX_DRIVES];
	struct vj_net *net[VJ_MAX_NETS];
	struct vj_vsock *vsock;
	struct vj_rng *rng;
};

/* Standalone mode, before any guest code runs: opens each drive (read-only
 * or read-write), attaches each tap, and creates the vsock host socket
 * and connection broker. Entries that already carry an fd (the launcher's
 * hand-over) are left alone. Logs one line naming the input on failure. */
int vj_virtio_open_inputs(struct vj_vm_config *cfg);

/* Creates and attaches every configured device. Logs on failure. */
int vj_virtio_devices_create(struct vj_virtio_devices *set, struct vj_vm *vm, bool restored);
void vj_virtio_devices_destroy(struct vj_virtio_devices *set);

#endif
