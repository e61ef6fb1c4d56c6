/*
 * virtio-mmio (version 2) transport, shared by every virtio device.
 *
 * Threads: register accesses arrive on vCPU threads through the MMIO bus;
 * queue work, device file descriptors and host-side clean-up run on the
 * VMM thread's event loop. One mutex per device serialises the two. The
 * vCPU side only ever touches transport state and writes eventfds (its
 * seccomp table allows no more): a reset is applied to the transport at
 * once, and the device's host-side clean-up (closing connections, polling
 * changes) is handed to the VMM thread, which runs it before any other
 * work on that device.
 *
 * Notifications: KVM ioeventfds on QueueNotify, one per queue with the
 * queue index as datamatch; a notify that misses them (another width or
 * value) exits to the vCPU thread, which forwards it the same way.
 * Interrupts: an irqfd on the slot's IRQ line plus InterruptStatus.
 */
#ifndef VJ_VIRTIO_MMIO_H
#define VJ_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "eventloop.h"
#include "memory.h"
#include "virtio/queue.h"

struct vj_vm;
struct vj_snap_virtio;

#define VJ_VIRTIO_MAX_QUEUES 3
#define VJ_VIRTIO_VENDOR_ID 0x4a56 /* "VJ" */

struct vj_virtio_dev;

struct vj_virtio_ops {
	/* Queue q may have work (notify, or a resume the device asked for).
	 * VMM thread, lock held, device running and the queue usable. */
	void (*queue_work)(struct vj_virtio_dev *d, unsigned q);
	/* The driver reset the device: drop host-side state. VMM thread,
	 * lock held. May be NULL. */
	void (*reset)(struct vj_virtio_dev *d);
	/* Chains of queue q taken from the ring and not answered yet, which a
	 * snapshot hands back to the ring. VMM thread, lock held. May be
	 * NULL: none ever are. */
	unsigned (*in_flight)(struct vj_virtio_dev *d, unsigned q);
};

struct vj_virtio_notify {
	struct vj_virtio_dev *dev;
	unsigned q;
	int efd;
	struct vj_loop_handler h;
};

struct vj_virtio_dev {
	char name[24]; /* "virtio-blk0": messages, bus entry */
	uint32_t device_id;
	uint64_t features; /* offered to the driver */
	uint16_t queue_max;
	unsigned nqueues;
	const struct vj_virtio_ops *ops;
	const struct vj_guest_mem *mem;
	const void *config; /* device configuration space, read-only */
	uint32_t config_len;

	pthread_mutex_t lock;
	/* Transport state, under lock. */
	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint64_t driver_features;
	uint32_t isr;
	/* ConfigGeneration: moves whenever the device changes its
	 * configuration space, so that a driver reading a field wider than
	 * one access sees it change under it and reads again. */
	uint32_t config_generation;
	bool reset_pending; /* host-side clean-up owed to the VMM thread */
	uint32_t queue_num[VJ_VIRTIO_MAX_QUEUES]; /* as written, checked at ready */
	struct vj_virtq vq[VJ_VIRTIO_MAX_QUEUES];

	int irq_efd; /* KVM irqfd of the slot's IRQ */
	int ctl_efd; /* vCPU thread -> VMM thread: reset clean-up */
	struct vj_loop_handler ctl_h;
	struct vj_virtio_notify notify[VJ_VIRTIO_MAX_QUEUES];
	struct vj_loop *loop; /* set by vj_virtio_attach() */
	uint64_t mmio_base;
	unsigned irq;

	/* What the device did for the guest, for the launcher's statistics:
	 * requests completed, bytes moved either way, times a rate limiter
	 * held it back. VMM thread only. */
	uint64_t stat_requests, stat_bytes, stat_throttled;
};

static inline void vj_virtio_count(struct vj_virtio_dev *d, uint64_t bytes)
{
	d->stat_requests++;
	d->stat_bytes += bytes;
}

extern const struct vj_bus_ops vj_virtio_mmio_ops;

/* Sets up the transport and its eventfds (no KVM needed: unit tests use
 * this alone). Every device offers VIRTIO_F_VERSION_1 on top of features. */
int vj_virtio_init(struct vj_virtio_dev *d, const char *name, uint32_t device_id,
		   uint64_t features, unsigned nqueues, uint16_t queue_max,
		   const void *config, uint32_t config_len, const struct vj_virtio_ops *ops,
		   const struct vj_guest_mem *mem);
void vj_virtio_destroy(struct vj_virtio_dev *d);

/* Claims MMIO slot `slot` (layout.h), wires ioeventfds, the irqfd and the
 * event loop, and announces the device on the guest command line. */
int vj_virtio_attach(struct vj_virtio_dev *d, struct vj_vm *vm, unsigned slot);

/* VMM-thread entry for a device's own handlers: takes the lock and runs
 * any pending reset clean-up first. Unlocking sets DEVICE_NEEDS_RESET if
 * the work found a ring broken. */
void vj_virtio_lock(struct vj_virtio_dev *d);
void vj_virtio_unlock(struct vj_virtio_dev *d);

/* What the event loop does on a notify of queue q: lock, then queue work
 * if the device runs and the queue is usable, then unlock. */
void vj_virtio_process(struct vj_virtio_dev *d, unsigned q);

/* Lock held. The queue if the driver enabled it, the device runs and the
 * queue is not broken; NULL otherwise. */
struct vj_virtq *vj_virtio_queue(struct vj_virtio_dev *d, unsigned q);
bool vj_virtio_running(const struct vj_virtio_dev *d);
bool vj_virtio_has_feature(const struct vj_virtio_dev *d, unsigned bit);

/* Lock held. After pushing used buffers on q: interrupt the driver unless
 * it asked not to be. */
void vj_virtio_notify_used(struct vj_virtio_dev *d, unsigned q);

/* Lock held. Sets DEVICE_NEEDS_RESET and tells a running driver through
 * a configuration-change interrupt. */
void vj_virtio_needs_reset(struct vj_virtio_dev *d);

/* Lock held. After the device changed its configuration space: a new
 * ConfigGeneration, and a configuration-change interrupt when `tell`
 * and the driver runs (a change the driver itself asked for needs
 * none). */
void vj_virtio_config_changed(struct vj_virtio_dev *d, bool tell);

/* Asks the event loop to run queue work for q again (e.g. when a throttle
 * ends), through the queue's notify eventfd. */
void vj_virtio_kick(struct vj_virtio_dev *d, unsigned q);

/* Snapshot of the transport (VMM thread, devices idle: the VM paused),
 * and its restore before the guest runs: -EINVAL when the section is not
 * this device's (ID, queues, offered features) or a ready queue's rings
 * are not guest RAM. */
void vj_virtio_save(struct vj_virtio_dev *d, struct vj_snap_virtio *out);
int vj_virtio_restore(struct vj_virtio_dev *d, const struct vj_snap_virtio *in);

#endif
