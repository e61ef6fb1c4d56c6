/*
 * The bytes of a popped chain as two streams: the device-readable bytes
 * and, after them, the device-writable bytes, each numbered from 0
 * whatever the descriptor boundaries (virtio 1.x makes no promise about
 * framing). Segments that are not guest RAM (host NULL) end a copy early
 * and make an I/O vector request fail.
 */
#ifndef VJ_VIRTIO_CHAIN_H
#define VJ_VIRTIO_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/queue.h"

/* Copies up to len readable bytes from offset off; returns how many. */
size_t vj_chain_read(const struct vj_chain *c, uint64_t off, void *dst, size_t len);

/* Copies up to len bytes into the writable stream at offset off; returns
 * how many. */
size_t vj_chain_write(const struct vj_chain *c, uint64_t off, const void *src, size_t len);

/* Describes [off, off + len) of one stream as at most max host iovecs.
 * Returns their number, -EFAULT when a segment in the range is not guest
 * RAM, -ERANGE when the stream is shorter, -E2BIG when max is too small. */
int vj_chain_iov(const struct vj_chain *c, bool writable, uint64_t off, uint64_t len,
		 struct iovec *iov, unsigned max);

#endif
