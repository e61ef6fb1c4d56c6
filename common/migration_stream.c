#include "migration_stream.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char *const frame_names[] = {
	[VJ_MIG_HELLO] = "HELLO", [VJ_MIG_ACCEPT] = "ACCEPT", [VJ_MIG_REFUSE] = "REFUSE",
	[VJ_MIG_MEMORY] = "MEMORY", [VJ_MIG_STATE] = "STATE", [VJ_MIG_RUNNING] = "RUNNING",
	[VJ_MIG_END] = "END", [VJ_MIG_ABORT] = "ABORT",
};

const char *vj_mig_frame_name(uint32_t type)
{
	return type > 0 && type < VJ_MIG_TYPES_END ? frame_names[type] : "unknown";
}

/* The payload each type has: exact (min == max) or bounded. MEMORY's is
 * its run; the pages behind it are counted in the run, not here. */
static void payload_bounds(uint32_t type, uint64_t *min, uint64_t *max)
{
	switch (type) {
	case VJ_MIG_HELLO:
		*min = *max = sizeof(struct vj_mig_hello);
		return;
	case VJ_MIG_REFUSE:
	case VJ_MIG_ABORT:
		*min = *max = sizeof(struct vj_mig_refuse);
		return;
	case VJ_MIG_MEMORY:
		*min = sizeof(struct vj_mig_run);
		*max = sizeof(struct vj_mig_run) + (uint64_t)VJ_MIG_RUN_PAGES_MAX * VJ_MIG_PAGE;
		return;
	case VJ_MIG_STATE:
		*min = 1;
		*max = VJ_SNAPSHOT_MAX_BYTES;
		return;
	default:
		*min = *max = 0;
		return;
	}
}

static uint32_t frame_crc(struct vj_mig_frame_header h, const void *p, size_t len)
{
	/* The section CRC of the snapshot format over a header of the same
	 * size: one CRC32 implementation, no second table. */
	_Static_assert(sizeof(h) == sizeof(struct vj_snapshot_section_header), "header sizes");
	struct vj_snapshot_section_header sh;

	h.crc = 0;
	memcpy(&sh, &h, sizeof(sh));
	return vj_snapshot_section_crc(&sh, p, len);
}

/* ---- writing ---------------------------------------------------------- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* w bytes of iov[0..*n) are written: the rest stays in iov. */
static struct iovec *advance(struct iovec *iov, int *n, size_t w)
{
	while (*n > 0 && w >= iov->iov_len) {
		w -= iov->iov_len;
		iov++;
		(*n)--;
	}
	if (*n > 0) {
		iov->iov_base = (uint8_t *)iov->iov_base + w;
		iov->iov_len -= w;
	}
	return iov;
}

/*
 * deadline_ns: CLOCK_MONOTONIC, 0 for none. With one, the stream must be
 * a socket: each send takes only what fits (MSG_DONTWAIT) and poll waits
 * for room until the deadline, so that a peer that takes a trickle
 * cannot keep the writer past it. Without, blocking writes.
 */
static int write_all(int fd, struct iovec *iov, int n, uint64_t deadline_ns)
{
	while (n > 0) {
		const uint64_t now = deadline_ns ? mono_ns() : 0;
		ssize_t w;
		if (deadline_ns && now >= deadline_ns)
			return -ETIMEDOUT;
		if (deadline_ns) {
			struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
			w = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		} else {
			w = writev(fd, iov, n);
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && deadline_ns && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			const uint64_t ms = (deadline_ns - now + 999999) / 1000000;
			if (poll(&p, 1, ms > INT_MAX ? INT_MAX : (int)ms) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		iov = advance(iov, &n, (size_t)w);
	}
	return 0;
}

/* A header, what its CRC covers, and what follows uncovered. */
static int send_frame(int fd, uint32_t type, const void *covered, size_t clen, const void *rest,
		      size_t rlen, uint64_t deadline_ns)
{
	struct vj_mig_frame_header h = { .magic = VJ_MIG_FRAME_MAGIC, .type = type,
					 .length = clen + rlen };
	struct iovec iov[3];
	int n = 0;

	h.crc = frame_crc(h, covered, clen);
	iov[n++] = (struct iovec){ &h, sizeof(h) };
	if (clen)
		iov[n++] = (struct iovec){ (void *)covered, clen };
	if (rlen)
		iov[n++] = (struct iovec){ (void *)rest, rlen };
	return write_all(fd, iov, n, deadline_ns);
}

int vj_mig_send_until(int fd, uint32_t type, const void *payload, size_t len,
		      uint64_t deadline_ns)
{
	return send_frame(fd, type, payload, len, NULL, 0, deadline_ns);
}

int vj_mig_send(int fd, uint32_t type, const void *payload, size_t len)
{
	return vj_mig_send_until(fd, type, payload, len, 0);
}

int vj_mig_send_run_until(int fd, const struct vj_mig_run *run, const void *data,
			  uint64_t deadline_ns)
{
	size_t len = run->flags & VJ_MIG_RUN_ZERO ? 0 : (size_t)run->npages * VJ_MIG_PAGE;

	return send_frame(fd, VJ_MIG_MEMORY, run, sizeof(*run), data, len, deadline_ns);
}

int vj_mig_send_run(int fd, const struct vj_mig_run *run, const void *data)
{
	return vj_mig_send_run_until(fd, run, data, 0);
}

int vj_mig_send_reason(int fd, uint32_t type, const char *reason)
{
	struct vj_mig_refuse r;

	memset(&r, 0, sizeof(r));
	strncpy(r.reason, reason, sizeof(r.reason) - 1);
	return vj_mig_send(fd, type, &r, sizeof(r));
}

void vj_mig_hello_init(struct vj_mig_hello *h, const struct vj_snapshot_cpu *cpu,
		       const struct vj_snap_config *config)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, VJ_MIG_MAGIC, sizeof(h->magic));
	h->version = VJ_MIG_VERSION;
	h->page_size = VJ_MIG_PAGE;
	h->cpu = *cpu;
	h->config = *config;
}

/* ---- reading ---------------------------------------------------------- */

/* Reads len bytes; *got says how many came before an end or an error. */
static int read_counted(int fd, void *buf, size_t len, size_t *got)
{
	uint8_t *p = buf;

	*got = 0;
	while (*got < len) {
		ssize_t n = read(fd, p + *got, len - *got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		*got += (size_t)n;
	}
	return 0;
}

int vj_mig_read_full(int fd, void *buf, size_t len)
{
	size_t got;

	return read_counted(fd, buf, len, &got);
}

static int short_read(int r, const char *peer, const char *what, struct vj_err *e)
{
	if (r == -EPIPE)
		return vj_fail(e, -EIO, "%s: the stream ends inside a %s frame", peer, what);
	return vj_fail_errno(e, r, "%s: reading a %s frame", peer, what);
}

/* A peer's text, fit for one line of ours: terminated, printable. */
static void sanitize_reason(struct vj_mig_refuse *r)
{
	r->reason[sizeof(r->reason) - 1] = '\0';
	for (char *c = r->reason; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
}

int vj_mig_read_frame(int fd, const char *peer, struct vj_mig_frame *f, struct vj_err *e)
{
	struct vj_mig_frame_header h;
	uint64_t min, max, covered;
	size_t got;
	void *into;
	int r;

	memset(f, 0, sizeof(*f));
	r = read_counted(fd, &h, sizeof(h), &got);
	if (r == -EPIPE && got == 0)
		return vj_fail(e, -EPIPE, "%s closed the stream", peer);
	if (r == -EPIPE)
		return vj_fail(e, -EIO, "%s: the stream ends inside a frame header", peer);
	if (r < 0)
		return vj_fail_errno(e, r, "%s: reading a frame header", peer);
	if (h.magic != VJ_MIG_FRAME_MAGIC || h.reserved)
		return vj_fail(e, -EPROTO, "%s: not a vmjail migration frame (magic 0x%08x)", peer,
			       h.magic);
	if (h.type == 0 || h.type >= VJ_MIG_TYPES_END)
		return vj_fail(e, -EPROTO, "%s: frame of unknown type %u", peer, h.type);
	payload_bounds(h.type, &min, &max);
	if (h.length < min || h.length > max)
		return vj_fail(e, -EPROTO, "%s: %s frame of %llu bytes, expected %llu..%llu", peer,
			       vj_mig_frame_name(h.type), (unsigned long long)h.length,
			       (unsigned long long)min, (unsigned long long)max);
	f->type = h.type;
	f->length = h.length;
	covered = h.type == VJ_MIG_MEMORY ? sizeof(f->u.run) : h.length;
	if (h.type == VJ_MIG_STATE) {
		f->state = malloc(h.length);
		if (!f->state)
			return vj_fail_errno(e, -ENOMEM, "%s: STATE frame", peer);
		into = f->state;
	} else {
		into = &f->u;
	}
	if (covered && (r = vj_mig_read_full(fd, into, covered)) < 0) {
		vj_mig_frame_free(f);
		return short_read(r, peer, vj_mig_frame_name(h.type), e);
	}
	if (frame_crc(h, into, covered) != h.crc) {
		vj_mig_frame_free(f);
		return vj_fail(e, -EPROTO, "%s: %s frame: checksum mismatch", peer,
			       vj_mig_frame_name(h.type));
	}
	if (h.type == VJ_MIG_REFUSE || h.type == VJ_MIG_ABORT)
		sanitize_reason(&f->u.refuse);
	if (h.type == VJ_MIG_MEMORY) {
		const struct vj_mig_run *run = &f->u.run;
		uint64_t want = run->flags & VJ_MIG_RUN_ZERO ? 0 : (uint64_t)run->npages * VJ_MIG_PAGE;
		if (run->npages < 1 || run->npages > VJ_MIG_RUN_PAGES_MAX ||
		    run->flags & ~VJ_MIG_RUN_ZERO || run->reserved ||
		    h.length != sizeof(*run) + want)
			return vj_fail(e, -EPROTO, "%s: MEMORY frame of %llu bytes for a run of %u "
				       "pages (flags 0x%x)", peer, (unsigned long long)h.length,
				       run->npages, run->flags);
		f->data_len = want;
	}
	return 0;
}

void vj_mig_frame_free(struct vj_mig_frame *f)
{
	free(f->state);
	f->state = NULL;
}

static void printable(const char in[12], char out[13])
{
	for (int i = 0; i < 12; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[12] = '\0';
}

int vj_mig_check_hello(const struct vj_mig_hello *h, const struct vj_snapshot_cpu *host,
		       const struct vj_vm_config *cfg, struct vj_err *e)
{
	struct vj_snap_config c = h->config;
	int r;

	if (memcmp(h->magic, VJ_MIG_MAGIC, sizeof(h->magic)))
		return vj_fail(e, -EPROTO, "not a vmjail migration stream (bad magic)");
	if (h->version != VJ_MIG_VERSION)
		return vj_fail(e, -EPROTO, "migration stream version %u, this vmjail speaks version "
			       "%u", h->version, VJ_MIG_VERSION);
	if (h->page_size != VJ_MIG_PAGE)
		return vj_fail(e, -EPROTO, "migration stream of %u-byte pages, this vmjail has %u",
			       h->page_size, VJ_MIG_PAGE);
	if (h->flags & ~VJ_MIG_HELLO_AGENT)
		return vj_fail(e, -EPROTO, "migration stream HELLO: unknown flags 0x%x",
			       h->flags & ~VJ_MIG_HELLO_AGENT);
	if (host && (memcmp(h->cpu.vendor, host->vendor, sizeof(host->vendor)) ||
		     h->cpu.family != host->family || h->cpu.model != host->model)) {
		char theirs[13], ours[13];
		printable(h->cpu.vendor, theirs);
		printable(host->vendor, ours);
		return vj_fail(e, -ENOEXEC, "the source runs on a %s CPU family %u model %u, this "
			       "host has a %s CPU family %u model %u", theirs, h->cpu.family,
			       h->cpu.model, ours, host->family, host->model);
	}
	/* The count first: check_config below reads at most that many. */
	if (c.ndevices > VJ_SNAPSHOT_DEVICES_MAX)
		return vj_fail(e, -EINVAL, "the source has %u devices, at most %u", c.ndevices,
			       VJ_SNAPSHOT_DEVICES_MAX);
	if ((r = vj_snapshot_check_config_of(&c, cfg, "the source", e)) < 0)
		return vj_wrap(e, "the source's VM does not fit this one");
	return 0;
}

int vj_mig_check_run(const struct vj_mig_run *run, uint64_t total_pages, struct vj_err *e)
{
	if (run->first_page >= total_pages || run->npages > total_pages - run->first_page)
		return vj_fail(e, -EPROTO, "MEMORY frame: pages %llu..%llu, guest RAM has %llu",
			       (unsigned long long)run->first_page,
			       (unsigned long long)run->first_page + run->npages - 1,
			       (unsigned long long)total_pages);
	return 0;
}

/* ---- dirty bitmaps ---------------------------------------------------- */

static bool bit(const uint64_t *bm, uint64_t i)
{
	return bm[i / 64] >> (i % 64) & 1;
}

bool vj_bitmap_next_run(const uint64_t *bm, uint64_t nbits, uint64_t *pos, uint64_t max,
			uint64_t *start, uint64_t *len)
{
	uint64_t i = *pos;

	/* Whole clear words are skipped a word at a time: dirty pages are
	 * few in the late rounds, which is when time counts. */
	while (i < nbits) {
		uint64_t w = bm[i / 64] >> (i % 64);
		if (w) {
			i += (uint64_t)__builtin_ctzll(w);
			break;
		}
		i = (i / 64 + 1) * 64;
	}
	if (i >= nbits) {
		*pos = nbits;
		return false;
	}
	*start = i;
	while (i < nbits && bit(bm, i) && (max == 0 || i - *start < max))
		i++;
	*len = i - *start;
	*pos = i;
	return true;
}

uint64_t vj_bitmap_count(const uint64_t *bm, uint64_t nbits)
{
	uint64_t n = 0;

	for (uint64_t w = 0; w < nbits / 64; w++)
		n += (uint64_t)__builtin_popcountll(bm[w]);
	if (nbits % 64)
		n += (uint64_t)__builtin_popcountll(bm[nbits / 64] & ((1ull << (nbits % 64)) - 1));
	return n;
}
