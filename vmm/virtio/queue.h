/*
 * Split virtqueues (virtio 1.x, section 2.7) as the device sees them.
 *
 * Everything in the rings is written by a hostile guest, concurrently with
 * us. The rules this file enforces:
 *  - ring addresses are resolved once, through vj_mem_ptr(), when the
 *    driver enables the queue; indexes into them are reduced modulo the
 *    queue size, so every later ring access is in bounds;
 *  - every descriptor is read once into a local copy before it is checked;
 *  - a chain is at most `size` descriptors long, indirect tables included,
 *    which bounds the walk and catches loops;
 *  - every buffer is resolved through vj_mem_ptr() as a whole.
 *
 * Outcomes (documented in vmm/virtio/README.md):
 *  - a chain that cannot be walked (next index out of range, loop, longer
 *    than the queue, bad or nested indirect table, a device-readable
 *    descriptor after a device-writable one, more than 4 GiB in one
 *    direction) is returned to the driver unprocessed, used length 0;
 *  - a chain whose structure is sound but some buffer of which is not
 *    guest RAM comes back with err -EFAULT and that segment's host pointer
 *    NULL: the device fails the request (virtio-blk still writes IOERR
 *    into its status byte when that byte is addressable);
 *  - an avail index that moves by more than the queue size, or a head
 *    index past the ring, breaks the queue: the device sets
 *    DEVICE_NEEDS_RESET and stops using it.
 */
#ifndef VJ_VIRTIO_QUEUE_H
#define VJ_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

#include "memory.h"

#define VJ_VIRTQ_MAX_SIZE 256

struct vj_virtq {
	/* Written by the driver through the transport while not ready. */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;

	bool ready;
	bool broken;   /* the driver corrupted the ring: device needs reset */
	bool indirect; /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	/* Host views of the rings, valid while ready. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail; /* next avail ring slot to take */
	uint16_t used_idx;   /* next used ring slot to fill */
	/* Guest RAM of the rings, for marking what a push wrote dirty. */
	const struct vj_guest_mem *mem;
};

struct vj_seg {
	uint8_t *host; /* NULL when the buffer is not wholly guest RAM */
	uint64_t gpa;
	uint32_t len;
	bool write;    /* device-writable */
};

struct vj_chain {
	uint16_t head;
	/* 0; -EFAULT: sound chain, some segment not guest RAM (host NULL);
	 * anything else: the chain is unusable and segs must not be read. */
	int err;
	unsigned nsegs;
	uint64_t readable, writable; /* byte totals per direction */
	struct vj_seg seg[VJ_VIRTQ_MAX_SIZE];
};

/* Drops ring state: the queue is not ready and has no addresses. */
void vj_virtq_reset(struct vj_virtq *q);

/* Checks size and ring addresses and maps the rings. -EINVAL: size zero,
 * not a power of two or above max_size, or a ring misaligned; -EFAULT: a
 * ring is not wholly guest RAM. */
int vj_virtq_enable(struct vj_virtq *q, const struct vj_guest_mem *mem, uint16_t max_size);

/* Takes the next available chain. 1: *c filled in (check c->err); 0: no
 * chain available; -EIO: the queue is (now) broken. */
int vj_virtq_pop(struct vj_virtq *q, const struct vj_guest_mem *mem, struct vj_chain *c);

/* Puts the last popped chain back, to be popped again later (throttling,
 * or a receive buffer too small for the frame at hand). */
void vj_virtq_unpop(struct vj_virtq *q);

/* Hands a chain back with the number of bytes the device wrote into it.
 * While a migration tracks dirty pages, the chain's device-writable
 * buffers and the used ring are marked dirty (vj_mem_mark_dirty) once
 * written: the device's writes, which KVM does not see. */
void vj_virtq_push(struct vj_virtq *q, const struct vj_chain *c, uint32_t written);

/* After pushes: false when the driver asked for no interrupt
 * (VRING_AVAIL_F_NO_INTERRUPT). */
bool vj_virtq_wants_interrupt(const struct vj_virtq *q);

/* Whether chains are waiting, without taking one. */
bool vj_virtq_has_avail(const struct vj_virtq *q);

#endif
