#include "virtio/ratelimit.h"

#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define NS_PER_MS 1000000ull

void vj_bucket_init(struct vj_bucket *b, const struct vj_bucket_config *c, uint64_t now_ns)
{
	memset(b, 0, sizeof(*b));
	if (!c->size)
		return;
	b->size = c->size;
	b->refill_ns = c->refill_ms * NS_PER_MS;
	b->burst = c->one_time_burst;
	b->credit = (__int128)b->size * b->refill_ns; /* starts full */
	b->last_ns = now_ns;
}

static void refill(struct vj_bucket *b, uint64_t now_ns)
{
	__int128 full = (__int128)b->size * b->refill_ns;
	uint64_t elapsed = now_ns > b->last_ns ? now_ns - b->last_ns : 0;
	/* Time to fill up from here: comparing first keeps elapsed * size
	 * from growing with the time the bucket sat idle. */
	__int128 to_full = (full - b->credit + b->size - 1) / b->size;

	if ((__int128)elapsed >= to_full)
		b->credit = full;
	else
		b->credit += (__int128)elapsed * b->size;
	b->last_ns = now_ns;
}

uint64_t vj_bucket_wait_ns(struct vj_bucket *b, uint64_t n, uint64_t now_ns)
{
	__int128 need;

	if (!b->size || n <= b->burst)
		return 0;
	refill(b, now_ns);
	n -= b->burst;
	/* Oversized requests wait for a full bucket, then go into debt. */
	need = (__int128)(n < b->size ? n : b->size) * b->refill_ns;
	if (b->credit >= need)
		return 0;
	/* Ceiling division: waking early would only throttle again. */
	return (uint64_t)((need - b->credit + b->size - 1) / b->size);
}

void vj_bucket_take(struct vj_bucket *b, uint64_t n, uint64_t now_ns)
{
	if (!b->size)
		return;
	if (n <= b->burst) {
		b->burst -= n;
		return;
	}
	n -= b->burst;
	b->burst = 0;
	refill(b, now_ns);
	b->credit -= (__int128)n * b->refill_ns;
}

int vj_rate_limiter_init(struct vj_rate_limiter *rl, const struct vj_rate_limit *cfg,
			 uint64_t now_ns)
{
	vj_bucket_init(&rl->bytes, &cfg->bytes, now_ns);
	vj_bucket_init(&rl->ops, &cfg->ops, now_ns);
	rl->throttled = false;
	rl->timer_fd = -1;
	if (!rl->bytes.size && !rl->ops.size)
		return 0;
	rl->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	return rl->timer_fd < 0 ? -errno : 0;
}

void vj_rate_limiter_destroy(struct vj_rate_limiter *rl)
{
	if (rl->timer_fd >= 0)
		close(rl->timer_fd);
	rl->timer_fd = -1;
}

int vj_rate_limiter_consume(struct vj_rate_limiter *rl, uint64_t bytes, uint64_t now_ns)
{
	uint64_t wb, wo, wait;
	struct itimerspec its = { 0 };

	if (rl->timer_fd < 0)
		return 0;
	if (rl->throttled)
		return -EAGAIN;
	wb = vj_bucket_wait_ns(&rl->bytes, bytes, now_ns);
	wo = vj_bucket_wait_ns(&rl->ops, 1, now_ns);
	wait = wb > wo ? wb : wo;
	if (wait == 0) {
		vj_bucket_take(&rl->bytes, bytes, now_ns);
		vj_bucket_take(&rl->ops, 1, now_ns);
		return 0;
	}
	its.it_value.tv_sec = (time_t)(wait / 1000000000ull);
	its.it_value.tv_nsec = (long)(wait % 1000000000ull);
	/* If the timer cannot be armed the queue would stall for good:
	 * let the request through instead. */
	if (timerfd_settime(rl->timer_fd, 0, &its, NULL) < 0) {
		vj_bucket_take(&rl->bytes, bytes, now_ns);
		vj_bucket_take(&rl->ops, 1, now_ns);
		return 0;
	}
	rl->throttled = true;
	return -EAGAIN;
}

void vj_rate_limiter_timer_done(struct vj_rate_limiter *rl)
{
	uint64_t expirations;

	if (rl->timer_fd >= 0)
		(void)!read(rl->timer_fd, &expirations, sizeof(expirations));
	rl->throttled = false;
}
