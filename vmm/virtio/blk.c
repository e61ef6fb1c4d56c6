#include "virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "log.h"
#include "vm.h"
#include "virtio/chain.h"

#define SECTOR 512u
#define HDR_LEN sizeof(struct virtio_blk_outhdr)
#define RANGE_LEN sizeof(struct virtio_blk_discard_write_zeroes)
/* Data of one read or write: what the advertised limits allow. */
#define REQUEST_MAX ((uint64_t)VJ_BLK_SEG_MAX * VJ_BLK_SIZE_MAX)

#define container_of_blk(d) ((struct vj_blk *)((char *)(d) - offsetof(struct vj_blk, vdev)))

/* preadv/pwritev until done; iov is consumed. -EIO on end of file. */
static int rw_full(int fd, struct iovec *iov, int n, uint64_t off, bool write)
{
	while (n > 0) {
		ssize_t r = write ? pwritev(fd, iov, n, (off_t)off) : preadv(fd, iov, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		off += (uint64_t)r;
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static bool range_ok(const struct vj_blk *b, uint64_t sector, uint64_t sectors)
{
	return sector <= b->capacity && sectors <= b->capacity - sector;
}

/* IN or OUT: `len` data bytes between the header and the status byte. */
static uint8_t do_rw(struct vj_blk *b, const struct vj_chain *c, uint64_t sector, bool write,
		     uint64_t len)
{
	int n;

	if (write && b->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (len % SECTOR || len > REQUEST_MAX || !range_ok(b, sector, len / SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if (len == 0)
		return VIRTIO_BLK_S_OK;
	n = vj_chain_iov(c, !write, write ? HDR_LEN : 0, len, b->iov, VJ_BLK_QUEUE_SIZE);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	if (rw_full(b->fd, b->iov, n, sector * SECTOR, write) < 0)
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static int write_zeroes_slow(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zeroes[64 * 1024];

	while (len) {
		struct iovec iov = { (void *)zeroes, len < sizeof(zeroes) ? len : sizeof(zeroes) };
		int r = rw_full(fd, &iov, 1, off, true);
		if (r < 0)
			return r;
		off += sizeof(zeroes) < len ? sizeof(zeroes) : len;
		len -= sizeof(zeroes) < len ? sizeof(zeroes) : len;
	}
	return 0;
}

static int punch(int fd, uint64_t off, uint64_t len)
{
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0
		       ? -errno : 0;
}

static int zero_range(int fd, uint64_t off, uint64_t len, bool may_unmap)
{
	if (may_unmap)
		return punch(fd, off, len);
	if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	return write_zeroes_slow(fd, off, len);
}

/* DISCARD or WRITE_ZEROES: `len` bytes of range descriptors. */
static uint8_t do_ranges(struct vj_blk *b, const struct vj_chain *c, bool zeroes, uint64_t len)
{
	uint32_t allowed_flags = zeroes ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;

	if (b->read_only || len == 0 || len % RANGE_LEN || len / RANGE_LEN > VJ_BLK_RANGES_MAX)
		return VIRTIO_BLK_S_IOERR;
	for (uint64_t off = HDR_LEN; off < HDR_LEN + len; off += RANGE_LEN) {
		struct virtio_blk_discard_write_zeroes r;
		uint64_t bytes;
		int e;

		if (vj_chain_read(c, off, &r, sizeof(r)) != sizeof(r))
			return VIRTIO_BLK_S_IOERR;
		if (r.flags & ~allowed_flags)
			return VIRTIO_BLK_S_UNSUPP;
		if (r.num_sectors > VJ_BLK_RANGE_SECTORS_MAX || !range_ok(b, r.sector, r.num_sectors))
			return VIRTIO_BLK_S_IOERR;
		bytes = (uint64_t)r.num_sectors * SECTOR;
		if (!bytes)
			continue;
		e = zeroes ? zero_range(b->fd, r.sector * SECTOR, bytes,
					r.flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
			   : punch(b->fd, r.sector * SECTOR, bytes);
		if (e < 0)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_flush(struct vj_blk *b)
{
	return fdatasync(b->fd) < 0 && errno != EINVAL ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

uint32_t vj_blk_handle(struct vj_blk *b, const struct vj_chain *c)
{
	struct virtio_blk_outhdr h;
	uint64_t in_len, out_len;
	uint32_t data_written = 0;
	uint8_t status;

	if (c->err && c->err != -EFAULT)
		return 0;
	if (c->writable == 0)
		return 0; /* nowhere to put the status */
	in_len = c->writable - 1;
	out_len = c->readable >= HDR_LEN ? c->readable - HDR_LEN : 0;
	if (vj_chain_read(c, 0, &h, sizeof(h)) != sizeof(h)) {
		status = VIRTIO_BLK_S_IOERR;
	} else {
		switch (h.type) {
		case VIRTIO_BLK_T_IN:
			status = do_rw(b, c, h.sector, false, in_len);
			if (status == VIRTIO_BLK_S_OK)
				data_written = (uint32_t)in_len;
			break;
		case VIRTIO_BLK_T_OUT:
			status = do_rw(b, c, h.sector, true, out_len);
			break;
		case VIRTIO_BLK_T_FLUSH:
			status = do_flush(b);
			break;
		case VIRTIO_BLK_T_GET_ID: {
			char id[VIRTIO_BLK_ID_BYTES] = { 0 };
			size_t n = in_len < sizeof(id) ? in_len : sizeof(id);
			memcpy(id, b->cfg->id, strnlen(b->cfg->id, sizeof(id)));
			status = vj_chain_write(c, 0, id, n) == n ? VIRTIO_BLK_S_OK
								 : VIRTIO_BLK_S_IOERR;
			if (status == VIRTIO_BLK_S_OK)
				data_written = (uint32_t)n;
			break;
		}
		case VIRTIO_BLK_T_DISCARD:
		case VIRTIO_BLK_T_WRITE_ZEROES:
			status = do_ranges(b, c, h.type == VIRTIO_BLK_T_WRITE_ZEROES, out_len);
			break;
		default:
			status = VIRTIO_BLK_S_UNSUPP;
			break;
		}
	}
	if (vj_chain_write(c, in_len, &status, 1) != 1)
		return 0;
	return data_written + 1;
}

/* What a request costs the rate limiter: the bytes it moves. */
static uint64_t request_bytes(const struct vj_chain *c)
{
	struct virtio_blk_outhdr h;

	if (c->err || vj_chain_read(c, 0, &h, sizeof(h)) != sizeof(h))
		return 0;
	if (h.type == VIRTIO_BLK_T_IN)
		return c->writable ? c->writable - 1 : 0;
	if (h.type == VIRTIO_BLK_T_OUT)
		return c->readable - HDR_LEN;
	return 0;
}

static void blk_queue_work(struct vj_virtio_dev *d, unsigned qi)
{
	struct vj_blk *b = container_of_blk(d);
	struct vj_virtq *q = &d->vq[qi];
	bool used = false;
	unsigned n;

	/* One ring's worth per turn of the event loop, then come back:
	 * a busy guest must not starve the other devices. */
	for (n = 0; n < q->size; n++) {
		if (vj_virtq_pop(q, d->mem, &b->chain) <= 0)
			break;
		if (vj_rate_limiter_consume(&b->rl, request_bytes(&b->chain), vj_now_ns()) < 0) {
			vj_debug("%s: rate limit reached, queue held", d->name);
			vj_virtq_unpop(q);
			break;
		}
		vj_virtq_push(q, b->chain.head, vj_blk_handle(b, &b->chain));
		used = true;
	}
	if (n == q->size)
		vj_virtio_kick(d, qi);
	if (used)
		vj_virtio_notify_used(d, qi);
}

static const struct vj_virtio_ops blk_ops = { .queue_work = blk_queue_work, .reset = NULL };

static void on_timer(void *opaque, uint32_t events)
{
	struct vj_blk *b = opaque;

	(void)events;
	vj_virtio_lock(&b->vdev);
	vj_rate_limiter_timer_done(&b->rl);
	vj_virtio_unlock(&b->vdev);
	vj_virtio_kick(&b->vdev, 0);
}

int vj_blk_create(struct vj_blk *b, const struct vj_drive_config *cfg, unsigned index,
		  const struct vj_guest_mem *mem)
{
	char name[24];
	uint64_t features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_SIZE_MAX) |
			    (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	off_t size;
	int r;

	memset(b, 0, sizeof(*b));
	b->rl.timer_fd = -1;
	b->cfg = cfg;
	b->fd = cfg->file.fd;
	b->read_only = cfg->read_only;
	size = lseek(b->fd, 0, SEEK_END);
	if (size < 0) {
		r = -errno;
		vj_error("drive %u (%s): cannot tell its size: %s", index, cfg->file.name,
			 strerror(-r));
		return r;
	}
	b->capacity = (uint64_t)size / SECTOR;
	if (b->read_only)
		features |= 1ull << VIRTIO_BLK_F_RO;
	else
		features |= (1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
	b->config = (struct virtio_blk_config){
		.capacity = b->capacity,
		.size_max = VJ_BLK_SIZE_MAX,
		.seg_max = VJ_BLK_SEG_MAX,
		.max_discard_sectors = VJ_BLK_RANGE_SECTORS_MAX,
		.max_discard_seg = VJ_BLK_RANGES_MAX,
		.discard_sector_alignment = 4096 / SECTOR,
		.max_write_zeroes_sectors = VJ_BLK_RANGE_SECTORS_MAX,
		.max_write_zeroes_seg = VJ_BLK_RANGES_MAX,
		.write_zeroes_may_unmap = 1,
	};
	snprintf(name, sizeof(name), "virtio-blk%u", index);
	r = vj_virtio_init(&b->vdev, name, VIRTIO_ID_BLOCK, features, 1, VJ_BLK_QUEUE_SIZE,
			   &b->config, sizeof(b->config), &blk_ops, mem);
	if (r == 0)
		r = vj_rate_limiter_init(&b->rl, &cfg->rate, vj_now_ns());
	if (r < 0)
		vj_error("drive %u (%s): device set-up: %s", index, cfg->file.name, strerror(-r));
	return r;
}

int vj_blk_attach(struct vj_blk *b, struct vj_vm *vm, unsigned slot)
{
	int r = vj_virtio_attach(&b->vdev, vm, slot);

	if (r == 0 && b->rl.timer_fd >= 0) {
		b->timer_h = (struct vj_loop_handler){ on_timer, b };
		r = vj_loop_add(&vm->loop, b->rl.timer_fd, EPOLLIN, &b->timer_h);
	}
	return r;
}

void vj_blk_destroy(struct vj_blk *b)
{
	vj_rate_limiter_destroy(&b->rl);
	vj_virtio_destroy(&b->vdev);
}
