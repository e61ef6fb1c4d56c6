/*
 * Fake guest for virtio unit tests: guest memory from vj_mem_create() (no
 * KVM needed), a split ring at fixed guest addresses that the test fills
 * like a driver, and register access through the virtio-mmio bus ops.
 */
#ifndef VJ_TEST_VIRTIO_UTIL_H
#define VJ_TEST_VIRTIO_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

#include "memory.h"
#include "virtio/mmio.h"
#include "virtio/queue.h"

#define FAKE_MEM_SIZE (16u << 20)
/* Ring k (0..14) lives in [0x10000 * (k + 1), 0x10000 * (k + 2)). */
#define FAKE_DESC 0x10000ull
#define FAKE_AVAIL 0x14000ull
#define FAKE_USED 0x18000ull
#define FAKE_BUF 0x100000ull   /* buffers from here on */
#define FAKE_OUTSIDE (1ull << 40) /* never guest RAM */

struct fake_ring {
	struct vj_guest_mem *mem;
	uint16_t size;
	uint16_t avail_idx;
	uint64_t desc, avail, used; /* guest addresses, FAKE_* by default */
};

void *gp(struct vj_guest_mem *mem, uint64_t gpa);
void fake_ring_init(struct fake_ring *r, struct vj_guest_mem *mem, uint16_t size);
void fake_ring_init_slot(struct fake_ring *r, struct vj_guest_mem *mem, uint16_t size,
			 unsigned k);
void fake_desc(struct fake_ring *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
	       uint16_t next);
/* A descriptor in an indirect table at guest address `table`. */
void fake_table_desc(struct fake_ring *r, uint64_t table, uint16_t i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next);
void fake_publish(struct fake_ring *r, uint16_t head);
uint16_t fake_used_idx(struct fake_ring *r);
struct vring_used_elem fake_used(struct fake_ring *r, uint16_t i);
/* A queue enabled on the fake ring, as the transport would. */
void fake_queue(struct fake_ring *r, struct vj_virtq *q, bool indirect);

/* Register access as a driver on a vCPU would. */
void reg_write(struct vj_virtio_dev *d, uint64_t off, uint32_t v);
uint32_t reg_read(struct vj_virtio_dev *d, uint64_t off);
/* Reset, negotiate `features` (VERSION_1 added), enable every queue on
 * its fake ring (rings[i]), DRIVER_OK. Returns the final status. */
uint32_t fake_driver_init(struct vj_virtio_dev *d, uint64_t features, struct fake_ring *rings,
			  unsigned nrings);
/* Number of interrupts signalled on the device's irqfd since last asked. */
uint64_t irqs_taken(struct vj_virtio_dev *d);

#endif
