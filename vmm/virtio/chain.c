#include "virtio/chain.h"

#include <errno.h>
#include <string.h>

/* Segment index and offset inside it where byte `off` of a stream lies;
 * false when the stream is shorter. */
static bool seek(const struct vj_chain *c, bool writable, uint64_t off, unsigned *idx,
		 uint64_t *in_seg)
{
	for (unsigned i = 0; i < c->nsegs; i++) {
		if (c->seg[i].write != writable)
			continue;
		if (off < c->seg[i].len) {
			*idx = i;
			*in_seg = off;
			return true;
		}
		off -= c->seg[i].len;
	}
	return false;
}

static size_t copy(const struct vj_chain *c, bool writable, uint64_t off, uint8_t *buf,
		   size_t len)
{
	unsigned i;
	uint64_t at;
	size_t done = 0;

	if (!len || !seek(c, writable, off, &i, &at))
		return 0;
	for (; i < c->nsegs && done < len; i++, at = 0) {
		const struct vj_seg *s = &c->seg[i];
		size_t n;

		if (s->write != writable)
			continue;
		if (!s->host)
			break;
		n = s->len - at < len - done ? (size_t)(s->len - at) : len - done;
		if (writable)
			memcpy(s->host + at, buf + done, n);
		else
			memcpy(buf + done, s->host + at, n);
		done += n;
	}
	return done;
}

size_t vj_chain_read(const struct vj_chain *c, uint64_t off, void *dst, size_t len)
{
	return copy(c, false, off, dst, len);
}

size_t vj_chain_write(const struct vj_chain *c, uint64_t off, const void *src, size_t len)
{
	return copy(c, true, off, (uint8_t *)(uintptr_t)src, len);
}

int vj_chain_iov(const struct vj_chain *c, bool writable, uint64_t off, uint64_t len,
		 struct iovec *iov, unsigned max)
{
	unsigned i, n = 0;
	uint64_t at, left = len;

	if (len == 0)
		return 0;
	if (!seek(c, writable, off, &i, &at))
		return -ERANGE;
	for (; i < c->nsegs && left; i++, at = 0) {
		const struct vj_seg *s = &c->seg[i];
		uint64_t take;

		if (s->write != writable)
			continue;
		if (!s->host)
			return -EFAULT;
		if (n == max)
			return -E2BIG;
		take = s->len - at < left ? s->len - at : left;
		iov[n].iov_base = s->host + at;
		iov[n].iov_len = take;
		n++;
		left -= take;
	}
	return left ? -ERANGE : (int)n;
}
