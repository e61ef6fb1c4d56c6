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

/* IN or OUT: the data bytes between the header and the status byte. */
static uint8_t do_rw(struct vj_blk *b, bool write)
{
	const struct vj_blk_req *r = &b->req;
	uint64_t len = write ? r->out_len : r->in_len;
	int n;

	if (write && b->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (len % SECTOR || len > REQUEST_MAX || !range_ok(b, r->sector, len / SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if (len == 0)
		return VIRTIO_BLK_S_OK;
	n = vj_chain_iov(&b->chain, !write, write ? HDR_LEN : 0, len, b->iov, VJ_BLK_QUEUE_SIZE);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	if (rw_full(b->fd, b->iov, n, r->sector * SECTOR, write) < 0)
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

/* DISCARD or WRITE_ZEROES: every range descriptor copied and checked
 * before any is acted on, so a malformed request changes nothing. */
static uint8_t read_ranges(struct vj_blk *b)
{
	struct vj_blk_req *r = &b->req;
	bool zeroes = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
	uint32_t allowed_flags = zeroes ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
	uint64_t len = r->out_len;

	if (b->read_only || len == 0 || len % RANGE_LEN || len / RANGE_LEN > VJ_BLK_RANGES_MAX)
		return VIRTIO_BLK_S_IOERR;
	for (r->nranges = 0; r->nranges < len / RANGE_LEN; r->nranges++) {
		struct virtio_blk_discard_write_zeroes *g = &r->range[r->nranges];

		if (vj_chain_read(&b->chain, HDR_LEN + r->nranges * RANGE_LEN, g, RANGE_LEN) !=
		    RANGE_LEN)
			return VIRTIO_BLK_S_IOERR;
		if (g->flags & ~allowed_flags)
			return VIRTIO_BLK_S_UNSUPP;
		if (g->num_sectors > VJ_BLK_RANGE_SECTORS_MAX ||
		    !range_ok(b, g->sector, g->num_sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/*
 * Works through the ranges for at most *budget bytes, from where an
 * earlier turn stopped. Returns false while bytes remain (the budget is
 * then spent).
 */
static bool ranges_step(struct vj_blk *b, uint64_t *budget)
{
	struct vj_blk_req *r = &b->req;
	bool zeroes = r->type == VIRTIO_BLK_T_WRITE_ZEROES;

	for (; r->next < r->nranges; r->next++, r->done = 0) {
		const struct virtio_blk_discard_write_zeroes *g = &r->range[r->next];
		uint64_t left = (uint64_t)g->num_sectors * SECTOR - r->done;
		uint64_t off = g->sector * SECTOR + r->done, n = left < *budget ? left : *budget;
		int e;

		if (n) {
			e = zeroes ? zero_range(b->fd, off, n,
						g->flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
				   : punch(b->fd, off, n);
			if (e < 0) {
				r->status = VIRTIO_BLK_S_IOERR;
				return true;
			}
		}
		*budget -= n;
		if (n < left) {
			r->done += n;
			return false;
		}
	}
	return true;
}

static uint8_t do_flush(struct vj_blk *b)
{
	return fdatasync(b->fd) < 0 && errno != EINVAL ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

static uint8_t do_get_id(struct vj_blk *b)
{
	struct vj_blk_req *r = &b->req;
	char id[VIRTIO_BLK_ID_BYTES] = { 0 };
	size_t n = r->in_len < sizeof(id) ? r->in_len : sizeof(id);

	memcpy(id, b->cfg->id, strnlen(b->cfg->id, sizeof(id)));
	if (vj_chain_write(&b->chain, 0, id, n) != n)
		return VIRTIO_BLK_S_IOERR;
	r->written = (uint32_t)n;
	return VIRTIO_BLK_S_OK;
}

/*
 * What the request in b->chain asks for, read from guest memory once:
 * the guest may rewrite its buffers at any time, and what is charged to
 * the rate limiter must be what is done. Decides the status of any
 * request that can be refused without touching the drive.
 */
static void request_read(struct vj_blk *b)
{
	const struct vj_chain *c = &b->chain;
	struct vj_blk_req *r = &b->req;
	struct virtio_blk_outhdr h;

	r->status = VIRTIO_BLK_S_OK;
	r->written = 0;
	r->nranges = r->next = 0;
	r->done = 0;
	r->silent = (c->err && c->err != -EFAULT) || c->writable == 0;
	if (r->silent)
		return;
	r->in_len = c->writable - 1;
	r->out_len = c->readable >= HDR_LEN ? c->readable - HDR_LEN : 0;
	if (vj_chain_read(c, 0, &h, sizeof(h)) != sizeof(h)) {
		r->status = VIRTIO_BLK_S_IOERR;
		return;
	}
	r->type = h.type;
	r->sector = h.sector;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
	case VIRTIO_BLK_T_FLUSH:
	case VIRTIO_BLK_T_GET_ID:
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		r->status = read_ranges(b);
		break;
	default:
		r->status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
}

/*
 * What a request costs the rate limiter: the bytes it reads or writes,
 * and for discard and write zeroes the bytes of every range (both free or
 * zero that much of the drive, which then reads back as zeroes;
 * vmm/virtio/README.md). A request refused before any I/O costs nothing.
 */
static uint64_t request_cost(const struct vj_blk *b)
{
	const struct vj_blk_req *r = &b->req;
	uint64_t bytes = 0;

	if (r->silent || r->status != VIRTIO_BLK_S_OK || b->chain.err)
		return 0;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		return r->in_len;
	case VIRTIO_BLK_T_OUT:
		return r->out_len;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		for (unsigned i = 0; i < r->nranges; i++)
			bytes += (uint64_t)r->range[i].num_sectors * SECTOR;
		return bytes;
	default:
		return 0;
	}
}

/* Does the request's work, ranges for at most *budget bytes. false:
 * ranges remain for a later turn. */
static bool request_step(struct vj_blk *b, uint64_t *budget)
{
	struct vj_blk_req *r = &b->req;

	if (r->silent || r->status != VIRTIO_BLK_S_OK)
		return true;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		r->status = do_rw(b, false);
		if (r->status == VIRTIO_BLK_S_OK)
			r->written = (uint32_t)r->in_len;
		return true;
	case VIRTIO_BLK_T_OUT:
		r->status = do_rw(b, true);
		return true;
	case VIRTIO_BLK_T_FLUSH:
		r->status = do_flush(b);
		return true;
	case VIRTIO_BLK_T_GET_ID:
		r->status = do_get_id(b);
		return true;
	default:
		return ranges_step(b, budget);
	}
}

/* Answers the finished request: its used length (data written and the
 * status byte; 0 when there is no status byte to write). */
static uint32_t request_answer(struct vj_blk *b)
{
	const struct vj_blk_req *r = &b->req;

	if (r->silent || vj_chain_write(&b->chain, r->in_len, &r->status, 1) != 1)
		return 0;
	return r->written + 1;
}

/* Takes the next request and charges it. false: none, or the rate
 * limiter holds it back (it stays in the ring, the limiter's timer
 * resumes the queue). */
static bool request_take(struct vj_blk *b, struct vj_virtq *q)
{
	if (vj_virtq_pop(q, b->vdev.mem, &b->chain) <= 0)
		return false;
	request_read(b);
	if (vj_rate_limiter_consume(&b->rl, request_cost(b), vj_now_ns()) < 0) {
		b->vdev.stat_throttled++;
		vj_debug("%s: rate limit reached, queue held", b->vdev.name);
		vj_virtq_unpop(q);
		return false;
	}
	b->busy = true;
	return true;
}

static void blk_queue_work(struct vj_virtio_dev *d, unsigned qi)
{
	struct vj_blk *b = container_of_blk(d);
	struct vj_virtq *q = &d->vq[qi];
	uint64_t budget = VJ_BLK_RANGE_STEP;
	bool used = false, done;
	unsigned n;

	/* One ring's worth and one step of ranges per turn of the event
	 * loop, then come back: a busy guest must not starve the other
	 * devices. */
	for (n = 0; n < q->size; n++) {
		if (!b->busy && !request_take(b, q))
			break;
		done = request_step(b, &budget);
		if (done) {
			vj_virtio_count(d, request_cost(b));
			vj_virtq_push(q, &b->chain, request_answer(b));
			b->busy = false;
			used = true;
		}
		if (!done || budget == 0) {
			vj_virtio_kick(d, qi);
			break;
		}
	}
	if (n == q->size)
		vj_virtio_kick(d, qi);
	if (used)
		vj_virtio_notify_used(d, qi);
}

static void blk_reset(struct vj_virtio_dev *d)
{
	/* A request of the old driver instance has nowhere to go back to. */
	container_of_blk(d)->busy = false;
}

/* A request part done: a snapshot's drives are read-only, so doing it
 * again from the start after a restore is harmless. */
static unsigned blk_in_flight(struct vj_virtio_dev *d, unsigned q)
{
	(void)q;
	return container_of_blk(d)->busy;
}

static const struct vj_virtio_ops blk_ops = { .queue_work = blk_queue_work, .reset = blk_reset,
					      .in_flight = blk_in_flight };

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
