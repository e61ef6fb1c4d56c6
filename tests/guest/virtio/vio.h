/*
 * A minimal virtio-mmio driver library for the test guest (ring 3):
 * probe through the command line announcements, feature negotiation,
 * split queues, chains (direct or indirect), polling for used buffers.
 * Buffer addresses are guest-physical, which is what a pointer is under
 * the identity map; a hostile scenario passes any address it likes.
 */
#ifndef VJ_VGUEST_VIO_H
#define VJ_VGUEST_VIO_H

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "vguest.h"

struct vio_dev {
	uint64_t base;
	unsigned irq;
	uint32_t device_id;
	uint64_t features; /* negotiated */
};

struct vio_q {
	struct vio_dev *dev;
	unsigned index;
	uint16_t size;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vring_desc *indirect; /* one table of `size` entries */
	uint16_t next_desc, avail_idx, used_seen;
};

struct vio_buf {
	uint64_t addr;
	uint32_t len;
	bool write; /* device-writable */
};

#define VIO_BUF(p, l, w) ((struct vio_buf){ (uint64_t)(p), (l), (w) })

/* The nth device (0-based) of this type announced on the command line. */
bool vio_find(uint32_t device_id, unsigned nth, struct vio_dev *d);
uint32_t vio_rd(const struct vio_dev *d, uint32_t off);
void vio_wr(const struct vio_dev *d, uint32_t off, uint32_t v);
uint32_t vio_status(const struct vio_dev *d);
/* Reset, ACKNOWLEDGE, DRIVER, features (offered & want, plus VERSION_1),
 * FEATURES_OK. False when the device refuses. */
bool vio_init(struct vio_dev *d, uint64_t want);
/* Sets queue `index` up with `size` entries from the pool. */
bool vio_queue(struct vio_dev *d, unsigned index, struct vio_q *q, uint16_t size);
void vio_driver_ok(struct vio_dev *d);
uint64_t vio_config64(const struct vio_dev *d, uint32_t off);
uint32_t vio_config32(const struct vio_dev *d, uint32_t off);
uint8_t vio_config8(const struct vio_dev *d, uint32_t off);

/* Zeroed memory from a static pool; aligned to `align`. */
void *vio_alloc(size_t size, size_t align);

/* Makes a chain of n buffers available; returns its head. */
uint16_t vio_submit(struct vio_q *q, const struct vio_buf *b, unsigned n);
/* The same through one indirect table. */
uint16_t vio_submit_indirect(struct vio_q *q, const struct vio_buf *b, unsigned n);
/* Publishes a head that the caller built by hand in q->desc. */
void vio_publish(struct vio_q *q, uint16_t head);
void vio_kick(struct vio_q *q);
/* Waits (bounded) for the next used element. False on time-out. */
bool vio_wait_used(struct vio_q *q, uint32_t *id, uint32_t *len);
bool vio_used_pending(const struct vio_q *q);
/* submit + kick + wait: the used length, or -1 on time-out. */
int64_t vio_transact(struct vio_q *q, const struct vio_buf *b, unsigned n);

#endif
