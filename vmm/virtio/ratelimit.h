/*
 * Rate limiting for virtio-blk and virtio-net: two token buckets, bytes
 * and operations, each with a one-time burst that is spent before the
 * bucket and never refilled (struct vj_rate_limit in common/config.h).
 *
 * A bucket of `size` tokens refills continuously at size per refill_ms.
 * A request costing more than the bucket holds is let through once the
 * bucket is full and leaves it in debt, so that large requests cannot
 * stall forever and the long-run rate still holds.
 *
 * Time is a parameter (CLOCK_MONOTONIC ns), so the arithmetic is testable
 * without sleeping. A throttled device arms the limiter's timerfd and
 * resumes its queue when the event loop sees it fire.
 */
#ifndef VJ_VIRTIO_RATELIMIT_H
#define VJ_VIRTIO_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct vj_bucket {
	uint64_t size;      /* 0: unlimited */
	uint64_t refill_ns;
	uint64_t burst;     /* one-time burst left */
	/* Tokens scaled by refill_ns (token-nanoseconds), so that a refill
	 * of elapsed * size loses no fraction; negative while in debt. */
	__int128 credit;
	uint64_t last_ns;
};

struct vj_rate_limiter {
	struct vj_bucket bytes, ops;
	int timer_fd;   /* -1 when neither bucket is enabled */
	bool throttled; /* timer armed, waiting for it */
};

void vj_bucket_init(struct vj_bucket *b, const struct vj_bucket_config *c, uint64_t now_ns);
/* 0 if n tokens are available at now_ns; else how long until they are. */
uint64_t vj_bucket_wait_ns(struct vj_bucket *b, uint64_t n, uint64_t now_ns);
/* Takes n tokens (after vj_bucket_wait_ns() said 0). */
void vj_bucket_take(struct vj_bucket *b, uint64_t n, uint64_t now_ns);

int vj_rate_limiter_init(struct vj_rate_limiter *rl, const struct vj_rate_limit *cfg,
			 uint64_t now_ns);
void vj_rate_limiter_destroy(struct vj_rate_limiter *rl);

/* Takes `bytes` and one operation and returns 0 when both buckets allow
 * it; otherwise takes nothing, arms the timer for when they will, and
 * returns -EAGAIN (also while an earlier throttle is still pending). */
int vj_rate_limiter_consume(struct vj_rate_limiter *rl, uint64_t bytes, uint64_t now_ns);

/* The timer fired (event loop): clears the throttle. */
void vj_rate_limiter_timer_done(struct vj_rate_limiter *rl);

#endif
