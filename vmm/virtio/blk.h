/*
 * virtio-blk backed by a file (or block device) descriptor: read, write,
 * flush (fdatasync), discard (punch a hole), write zeroes (zero a range,
 * or punch it when the driver allows unmapping), GET_ID. A read-only
 * drive offers VIRTIO_BLK_F_RO and fails every request that would change
 * the file. One request queue.
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

struct vj_vm;

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
	struct iovec iov[VJ_BLK_QUEUE_SIZE];
};

/* Takes the drive's descriptor (cfg->file.fd) for the device's lifetime;
 * does not close it. Logs one line naming the drive on failure. */
int vj_blk_create(struct vj_blk *b, const struct vj_drive_config *cfg, unsigned index,
		  const struct vj_guest_mem *mem);
int vj_blk_attach(struct vj_blk *b, struct vj_vm *vm, unsigned slot);
void vj_blk_destroy(struct vj_blk *b);

/* Serves one request chain; returns the used length (bytes written into
 * the chain, status byte included; 0 when the status byte could not be
 * written). Exposed for the unit tests and the fuzzer. */
uint32_t vj_blk_handle(struct vj_blk *b, const struct vj_chain *c);

#endif
