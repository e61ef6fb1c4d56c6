/*
 * virtio-blk backed by a file (or block device) descriptor: read, write,
 * flush (fdatasync), discard (punch a hole), write zeroes (zero a range,
 * or punch it when the driver allows unmapping), GET_ID. A read-only
 * drive offers VIRTIO_BLK_F_RO and fails every request that would change
 * the file. One request queue.
 *
 * A request's header and ranges are copied out of guest memory once, and
 * the rate limiter is charged from that copy: the bytes read or written,
 * and for discard and write zeroes the bytes of every range. A discard or
 * write zeroes is done VJ_BLK_RANGE_STEP bytes per turn of the event loop
 * (the queue waits behind it), so that zeroing gigabytes, which a backend
 * without FALLOC_FL_ZERO_RANGE does by writing, never stalls the other
 * devices.
 */
#ifndef VJ_VIRTIO_BLK_H
#define VJ_VIRTIO_BLK_H

#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_blk.h>

#include "config.h"
#include "virtio/mmio.h"
#include "virtio/ratelimit.h"

#define VJ_BLK_QUEUE_SIZE 256
#define VJ_BLK_SEG_MAX (VJ_BLK_QUEUE_SIZE - 2) /* header and status take two */
#define VJ_BLK_SIZE_MAX (1u << 20)             /* bytes per data segment */
#define VJ_BLK_RANGES_MAX 32                   /* discard/write-zeroes ranges */
#define VJ_BLK_RANGE_SECTORS_MAX 0x400000u     /* 2 GiB per range */
#define VJ_BLK_RANGE_STEP (1u << 20)           /* discard/write-zeroes bytes per turn */

struct vj_vm;

/* The request in vj_blk.chain, as read from guest memory once. */
struct vj_blk_req {
	bool silent;    /* no status byte to answer with: used length 0 */
	uint8_t status; /* VIRTIO_BLK_S_OK until something fails */
	uint32_t type;
	uint64_t sector;
	uint64_t in_len, out_len; /* data bytes each way, header and status excluded */
	uint32_t written;         /* data bytes put into the chain */
	/* Discard and write zeroes: the ranges, the one in progress, and the
	 * bytes of it done in earlier turns. */
	unsigned nranges, next;
	uint64_t done;
	struct virtio_blk_discard_write_zeroes range[VJ_BLK_RANGES_MAX];
};

struct vj_blk {
	struct vj_virtio_dev vdev;
	const struct vj_drive_config *cfg;
	int fd;
	bool read_only;
	uint64_t capacity; /* 512-byte sectors */
	struct virtio_blk_config config;
	struct vj_rate_limiter rl;
	struct vj_loop_handler timer_h;
	struct vj_chain chain;
	struct vj_blk_req req;
	bool busy; /* chain taken and charged, not yet answered */
	struct iovec iov[VJ_BLK_QUEUE_SIZE];
};

/* Takes the drive's descriptor (cfg->file.fd) for the device's lifetime;
 * does not close it. Logs one line naming the drive on failure. */
int vj_blk_create(struct vj_blk *b, const struct vj_drive_config *cfg, unsigned index,
		  const struct vj_guest_mem *mem);
int vj_blk_attach(struct vj_blk *b, struct vj_vm *vm, unsigned slot);
void vj_blk_destroy(struct vj_blk *b);

#endif
