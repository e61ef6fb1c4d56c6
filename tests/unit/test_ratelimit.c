/* Token buckets and the rate limiter (vmm/virtio/ratelimit.c). Time is
 * passed in, so nothing here depends on the clock. */
#include <unistd.h>

#include "unit.h"
#include "config.h"
#include "virtio/ratelimit.h"

#define MS 1000000ull
#define T0 (1000 * MS)

static struct vj_bucket bucket(uint64_t size, uint64_t burst, uint64_t refill_ms)
{
	struct vj_bucket_config c = { .size = size, .one_time_burst = burst,
				      .refill_ms = refill_ms };
	struct vj_bucket b;

	vj_bucket_init(&b, &c, T0);
	return b;
}

static void disabled_bucket_never_waits(void **state)
{
	struct vj_bucket b = bucket(0, 0, 0);

	(void)state;
	assert_int_equal(vj_bucket_wait_ns(&b, UINT64_MAX, T0), 0);
	vj_bucket_take(&b, UINT64_MAX, T0);
	assert_int_equal(vj_bucket_wait_ns(&b, UINT64_MAX, T0), 0);
}

static void full_bucket_allows_its_size_then_waits(void **state)
{
	struct vj_bucket b = bucket(1000, 0, 100);

	(void)state;
	assert_int_equal(vj_bucket_wait_ns(&b, 1000, T0), 0);
	vj_bucket_take(&b, 1000, T0);
	/* 1000 tokens per 100 ms: one token every 100 us. */
	assert_int_equal(vj_bucket_wait_ns(&b, 1, T0), 100000);
	assert_int_equal(vj_bucket_wait_ns(&b, 500, T0), 50 * MS);
}

static void bucket_refills_in_proportion_to_time(void **state)
{
	struct vj_bucket b = bucket(1000, 0, 100);

	(void)state;
	vj_bucket_take(&b, 1000, T0);
	assert_int_equal(vj_bucket_wait_ns(&b, 250, T0 + 25 * MS), 0);
	assert_true(vj_bucket_wait_ns(&b, 251, T0 + 25 * MS) > 0);
	/* Never above its size, however long it sat idle. */
	assert_true(vj_bucket_wait_ns(&b, 1001, T0 + 3600000 * MS) == 0);
	vj_bucket_take(&b, 1000, T0 + 3600000 * MS);
	assert_true(vj_bucket_wait_ns(&b, 1, T0 + 3600000 * MS) > 0);
}

static void one_time_burst_is_spent_first_and_never_refilled(void **state)
{
	struct vj_bucket b = bucket(100, 1000, 100);

	(void)state;
	assert_int_equal(vj_bucket_wait_ns(&b, 1000, T0), 0);
	vj_bucket_take(&b, 1000, T0);
	assert_int_equal(b.burst, 0);
	/* The bucket itself is still full. */
	assert_int_equal(vj_bucket_wait_ns(&b, 100, T0), 0);
	vj_bucket_take(&b, 100, T0);
	assert_true(vj_bucket_wait_ns(&b, 100, T0 + 50 * MS) > 0);
	assert_int_equal(b.burst, 0);
}

static void oversized_request_waits_for_a_full_bucket_then_owes(void **state)
{
	struct vj_bucket b = bucket(1000, 0, 100);

	(void)state;
	vj_bucket_take(&b, 500, T0);
	/* 3000 tokens: allowed once the bucket is full again (50 ms). */
	assert_int_equal(vj_bucket_wait_ns(&b, 3000, T0), 50 * MS);
	assert_int_equal(vj_bucket_wait_ns(&b, 3000, T0 + 50 * MS), 0);
	vj_bucket_take(&b, 3000, T0 + 50 * MS);
	/* 2000 in debt: one token needs 2000 + 1 refilled. */
	assert_int_equal(vj_bucket_wait_ns(&b, 1, T0 + 50 * MS), 200100000);
}

static void huge_limits_do_not_overflow(void **state)
{
	struct vj_bucket b = bucket(UINT64_MAX, UINT64_MAX, 3600000);

	(void)state;
	assert_int_equal(vj_bucket_wait_ns(&b, UINT64_MAX, T0), 0);
	vj_bucket_take(&b, UINT64_MAX, T0);
	vj_bucket_take(&b, UINT64_MAX, T0);
	assert_true(vj_bucket_wait_ns(&b, UINT64_MAX, T0) > 0);
	assert_int_equal(vj_bucket_wait_ns(&b, UINT64_MAX, UINT64_MAX), 0);
}

static void limiter_takes_both_buckets_or_neither(void **state)
{
	struct vj_rate_limit cfg = { .bytes = { .size = 1000, .refill_ms = 1000 },
				     .ops = { .size = 2, .refill_ms = 1000 } };
	struct vj_rate_limiter rl;
	uint64_t n;

	(void)state;
	assert_int_equal(vj_rate_limiter_init(&rl, &cfg, T0), 0);
	assert_true(rl.timer_fd >= 0);
	assert_int_equal(vj_rate_limiter_consume(&rl, 100, T0), 0);
	assert_int_equal(vj_rate_limiter_consume(&rl, 100, T0), 0);
	/* Out of operations: the bytes must not be taken either. */
	assert_int_equal(vj_rate_limiter_consume(&rl, 100, T0), -EAGAIN);
	assert_true(rl.throttled);
	assert_int_equal(vj_bucket_wait_ns(&rl.bytes, 800, T0), 0);
	/* Throttled until the timer is seen, whatever the buckets say. */
	assert_int_equal(vj_rate_limiter_consume(&rl, 0, T0 + 5000 * MS), -EAGAIN);
	assert_int_equal(read(rl.timer_fd, &n, 8), -1);
	vj_rate_limiter_timer_done(&rl);
	assert_false(rl.throttled);
	assert_int_equal(vj_rate_limiter_consume(&rl, 100, T0 + 5000 * MS), 0);
	vj_rate_limiter_destroy(&rl);
}

static void limiter_without_buckets_is_free(void **state)
{
	struct vj_rate_limit cfg = { 0 };
	struct vj_rate_limiter rl;

	(void)state;
	assert_int_equal(vj_rate_limiter_init(&rl, &cfg, T0), 0);
	assert_int_equal(rl.timer_fd, -1);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(vj_rate_limiter_consume(&rl, UINT32_MAX, T0), 0);
	vj_rate_limiter_destroy(&rl);
}

static int parse(struct vj_vm_config *cfg, struct vj_err *err, const char *flag,
		 const char *value)
{
	char *argv[] = { "vmjail-vmm", "--kernel", "k", (char *)flag, (char *)value, NULL };

	vj_config_init(cfg);
	return vj_config_parse_args(cfg, 5, argv, err);
}

static void limit_flags_fill_the_buckets(void **state)
{
	struct vj_vm_config cfg;
	struct vj_err err;

	(void)state;
	assert_int_equal(parse(&cfg, &err, "--drive",
			       "path=d.img,bw=1M,bw-burst=64M,bw-refill=500ms,ops=100,ops-burst=5000"),
			 0);
	assert_true(cfg.drives[0].rate.bytes.size == 1u << 20);
	assert_true(cfg.drives[0].rate.bytes.one_time_burst == 64u << 20);
	assert_int_equal(cfg.drives[0].rate.bytes.refill_ms, 500);
	assert_int_equal(cfg.drives[0].rate.ops.size, 100);
	assert_int_equal(cfg.drives[0].rate.ops.one_time_burst, 5000);
	assert_int_equal(cfg.drives[0].rate.ops.refill_ms, 1000); /* the default */
	assert_int_equal(parse(&cfg, &err, "--net", "tap=t0,ops=10,ops-refill=20ms"), 0);
	assert_int_equal(cfg.nets[0].rate.ops.size, 10);
	assert_int_equal(cfg.nets[0].rate.ops.refill_ms, 20);
	assert_int_equal(cfg.nets[0].rate.bytes.size, 0);
}

static void bad_limit_flags_are_named(void **state)
{
	struct vj_vm_config cfg;
	struct vj_err err;

	(void)state;
	assert_int_equal(parse(&cfg, &err, "--drive", "path=d,bw=lots"), -EINVAL);
	assert_string_equal(err.msg, "--drive: bw \"lots\" is not a size (bytes, or with K, M, G, "
				     "T) of at least 1, or unlimited");
	/* As in a policy: a bucket is off by default or with "unlimited", not 0. */
	assert_int_equal(parse(&cfg, &err, "--drive", "path=d,bw=0"), -EINVAL);
	assert_int_equal(parse(&cfg, &err, "--drive", "path=d,bw=unlimited"), 0);
	assert_int_equal(cfg.drives[0].rate.bytes.size, 0);
	assert_int_equal(parse(&cfg, &err, "--net", "tap=t,ops-refill=0ms"), -EINVAL);
	assert_string_equal(err.msg,
			    "--net: ops-refill \"0ms\" is not a duration in 1ms..1h (100ms, 2s)");
	/* The policy's grammars: a refill needs its unit, operations are no size. */
	assert_int_equal(parse(&cfg, &err, "--net", "tap=t,ops-refill=100"), -EINVAL);
	assert_int_equal(parse(&cfg, &err, "--net", "tap=t,ops=1K"), -EINVAL);
	assert_string_equal(err.msg, "--net: ops \"1K\" is not an integer of at least 1, or unlimited");
	assert_int_equal(parse(&cfg, &err, "--drive", "path=d,ops=0x10"), -EINVAL);
	assert_int_equal(parse(&cfg, &err, "--drive", "path=d,bw-refill=2h"), -EINVAL);
	assert_int_equal(parse(&cfg, &err, "--drive", "path=d,bw=1M,bw-refill=1h"), 0);
	assert_int_equal(cfg.drives[0].rate.bytes.refill_ms, 3600000);
	assert_int_equal(parse(&cfg, &err, "--drive", "path=d,bw-burst"), -EINVAL);
	assert_int_equal(parse(&cfg, &err, "--drive", "path=d,bwx=1"), -EINVAL);
	assert_string_equal(err.msg, "--drive: unknown option \"bwx\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(disabled_bucket_never_waits),
		cmocka_unit_test(full_bucket_allows_its_size_then_waits),
		cmocka_unit_test(bucket_refills_in_proportion_to_time),
		cmocka_unit_test(one_time_burst_is_spent_first_and_never_refilled),
		cmocka_unit_test(oversized_request_waits_for_a_full_bucket_then_owes),
		cmocka_unit_test(huge_limits_do_not_overflow),
		cmocka_unit_test(limiter_takes_both_buckets_or_neither),
		cmocka_unit_test(limiter_without_buckets_is_free),
		cmocka_unit_test(limit_flags_fill_the_buckets),
		cmocka_unit_test(bad_limit_flags_are_named),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
