/* The virtio-mmio transport as a hostile driver uses it (vmm/virtio/mmio.c). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "unit.h"
#include "test_virtio_util.h"
#include "snapshot.h"

#define STATUS_OK_BITS (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
			VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)
#define FEATURE_X 3 /* a device feature the dummy offers */

struct dummy {
	struct vj_virtio_dev d;
	uint8_t config[8];
	unsigned work[2], resets;
	bool pop; /* queue_work pops (and so may find the ring broken) */
};

struct fixture {
	struct vj_guest_mem mem;
	struct fake_ring rings[2];
	struct dummy dev;
};

static void dummy_work(struct vj_virtio_dev *d, unsigned q)
{
	struct dummy *x = (struct dummy *)d;
	struct vj_chain c;

	x->work[q]++;
	if (x->pop)
		while (vj_virtq_pop(&d->vq[q], d->mem, &c) > 0)
			vj_virtq_push(&d->vq[q], &c, 0);
}

static void dummy_reset(struct vj_virtio_dev *d)
{
	((struct dummy *)d)->resets++;
}

/* A chain of queue 0 the device has taken and not answered (a snapshot
 * hands it back to the ring). */
static unsigned dummy_held;

static unsigned dummy_in_flight(struct vj_virtio_dev *d, unsigned q)
{
	(void)d;
	return q == 0 ? dummy_held : 0;
}

static const struct vj_virtio_ops dummy_ops = { dummy_work, dummy_reset, dummy_in_flight };

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(vj_mem_create(&f.mem, FAKE_MEM_SIZE, VJ_MEMORY_4K, VJ_THP_UNKNOWN), 0);
	fake_ring_init_slot(&f.rings[0], &f.mem, 16, 0);
	fake_ring_init_slot(&f.rings[1], &f.mem, 16, 1);
	memcpy(f.dev.config, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	assert_int_equal(vj_virtio_init(&f.dev.d, "dummy", 42, 1ull << FEATURE_X, 2, 64,
					f.dev.config, sizeof(f.dev.config), &dummy_ops, &f.mem),
			 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vj_virtio_destroy(&f->dev.d);
	vj_mem_destroy(&f->mem);
	return 0;
}

#define F struct fixture *f = *state; struct vj_virtio_dev *d = &f->dev.d

static void identification_registers(void **state)
{
	F;
	assert_int_equal(reg_read(d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_DEVICE_ID), 42);
	reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES), 1u << (VIRTIO_F_VERSION_1 - 32));
	reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES), 1u << FEATURE_X);
	reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

static void full_initialisation_reaches_driver_ok(void **state)
{
	F;
	assert_int_equal(fake_driver_init(d, 1ull << FEATURE_X, f->rings, 2), STATUS_OK_BITS);
	assert_true(vj_virtio_running(d));
	assert_true(vj_virtio_has_feature(d, FEATURE_X));
}

static void features_without_version_1_are_refused(void **state)
{
	F;
	reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, 1u << FEATURE_X);
	reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
						 VIRTIO_CONFIG_S_FEATURES_OK);
	assert_false(reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	/* DRIVER_OK cannot be had without FEATURES_OK either. */
	reg_write(d, VIRTIO_MMIO_STATUS, STATUS_OK_BITS);
	assert_false(reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK);
	assert_false(vj_virtio_running(d));
}

static void features_the_device_lacks_are_refused(void **state)
{
	F;
	reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 - 32) | 1u << 7);
	reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
						 VIRTIO_CONFIG_S_FEATURES_OK);
	assert_false(reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
}

static void features_are_frozen_after_features_ok(void **state)
{
	F;
	fake_driver_init(d, 0, f->rings, 2);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, 1u << FEATURE_X);
	assert_false(vj_virtio_has_feature(d, FEATURE_X));
}

static void select_queue(struct vj_virtio_dev *d, unsigned q, uint32_t num)
{
	reg_write(d, VIRTIO_MMIO_QUEUE_SEL, q);
	reg_write(d, VIRTIO_MMIO_QUEUE_NUM, num);
	reg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)FAKE_DESC);
	reg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)FAKE_AVAIL);
	reg_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)FAKE_USED);
}

static void queue_size_not_a_power_of_two_needs_reset(void **state)
{
	F;
	select_queue(d, 0, 100);
	reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* A reset clears it and a correct set-up then works. */
	assert_int_equal(fake_driver_init(d, 0, f->rings, 2), STATUS_OK_BITS);
}

static void queue_size_above_max_needs_reset(void **state)
{
	F;
	assert_int_equal(reg_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	select_queue(d, 0, 128);
	reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void queue_size_wider_than_16_bits_is_not_truncated(void **state)
{
	F;
	select_queue(d, 0, 0x10010); /* would read as 16 if truncated */
	reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_QUEUE_READY), 0);
}

static void ring_outside_ram_needs_reset(void **state)
{
	F;
	select_queue(d, 0, 16);
	reg_write(d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0x100);
	reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void queue_registers_are_frozen_while_ready(void **state)
{
	F;
	fake_driver_init(d, 0, f->rings, 2);
	reg_write(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	reg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	reg_write(d, VIRTIO_MMIO_QUEUE_NUM, 4);
	assert_int_equal(d->vq[0].desc_gpa, FAKE_DESC);
	assert_int_equal(d->vq[0].size, 16);
	/* Linux writes 0 on teardown and reads it back. */
	reg_write(d, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_QUEUE_READY), 0);
}

static void nonexistent_queue_is_inert(void **state)
{
	F;
	reg_write(d, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	reg_write(d, VIRTIO_MMIO_QUEUE_NUM, 16);
	reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_false(reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void notify_before_ready_does_nothing(void **state)
{
	F;
	vj_virtio_process(d, 0);
	assert_int_equal(f->dev.work[0], 0);
	/* Ready but before DRIVER_OK: still nothing. */
	select_queue(d, 0, 16);
	reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	vj_virtio_process(d, 0);
	assert_int_equal(f->dev.work[0], 0);
	assert_false(reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void notify_register_forwards_only_queue_indexes(void **state)
{
	F;
	uint64_t n;

	reg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, 7);
	reg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	assert_int_equal(read(d->notify[0].efd, &n, 8), -1);
	assert_int_equal(read(d->notify[1].efd, &n, 8), -1);
	reg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(read(d->notify[1].efd, &n, 8), 8);
}

static void driver_ok_rechecks_every_queue(void **state)
{
	F;
	uint64_t n;

	fake_driver_init(d, 0, f->rings, 2);
	assert_int_equal(read(d->notify[0].efd, &n, 8), 8);
	assert_int_equal(read(d->notify[1].efd, &n, 8), 8);
}

static void config_space_reads_and_bounds(void **state)
{
	F;
	uint8_t b[8];

	assert_int_equal(reg_read(d, VIRTIO_MMIO_CONFIG + 4), 0x88776655);
	/* A read that runs past the end: the missing bytes read as 0. */
	assert_int_equal(reg_read(d, VIRTIO_MMIO_CONFIG + 6), 0x8877);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_CONFIG + 0x100), 0);
	assert_int_equal(reg_read(d, 0xffc), 0);
	vj_virtio_mmio_ops.read(d, VIRTIO_MMIO_CONFIG + 1, b, 2);
	assert_memory_equal(b, "\x22\x33", 2);
}

static void config_writes_in_range_or_past_the_end_change_nothing(void **state)
{
	F;
	uint8_t before[sizeof(f->dev.config)];

	memcpy(before, f->dev.config, sizeof(before));
	reg_write(d, VIRTIO_MMIO_CONFIG, 0xdeadbeef);
	reg_write(d, VIRTIO_MMIO_CONFIG + 6, 0xdeadbeef);
	reg_write(d, VIRTIO_MMIO_CONFIG + 0x800, 0xdeadbeef);
	reg_write(d, 0xffc, 0xdeadbeef);
	assert_memory_equal(f->dev.config, before, sizeof(before));
	assert_int_equal(reg_read(d, VIRTIO_MMIO_CONFIG), 0x44332211);
}

static void narrow_register_accesses_are_ignored(void **state)
{
	F;
	uint8_t b = 0;
	uint16_t w = 0xffff;

	vj_virtio_mmio_ops.write(d, VIRTIO_MMIO_STATUS, &b, 1);
	vj_virtio_mmio_ops.read(d, VIRTIO_MMIO_MAGIC_VALUE, (uint8_t *)&w, 2);
	assert_int_equal(w, 0);
	reg_write(d, VIRTIO_MMIO_STATUS + 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_STATUS), 0);
}

static void status_bits_only_accumulate_and_needs_reset_is_the_devices(void **state)
{
	F;
	reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_STATUS),
			 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_false(reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void used_buffers_raise_the_interrupt_and_ack_clears_it(void **state)
{
	F;
	fake_driver_init(d, 0, f->rings, 2);
	f->dev.pop = true;
	fake_desc(&f->rings[0], 0, FAKE_BUF, 8, 0, 0);
	fake_publish(&f->rings[0], 0);
	irqs_taken(d);
	vj_virtio_process(d, 0);
	vj_virtio_lock(d);
	vj_virtio_notify_used(d, 0);
	vj_virtio_unlock(d);
	assert_int_equal(fake_used_idx(&f->rings[0]), 1);
	assert_int_equal(irqs_taken(d), 1);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	reg_write(d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

static void broken_ring_needs_reset_with_a_config_interrupt(void **state)
{
	F;
	fake_driver_init(d, 0, f->rings, 2);
	f->dev.pop = true;
	irqs_taken(d);
	((struct vring_avail *)gp(&f->mem, f->rings[1].avail))->idx = 40; /* > 16 */
	vj_virtio_process(d, 1);
	assert_true(reg_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(irqs_taken(d), 1);
	/* The device stops: no more queue work, on any queue. */
	vj_virtio_process(d, 0);
	assert_int_equal(f->dev.work[0], 0);
	assert_false(vj_virtio_running(d));
}

static void reset_clears_state_and_cleans_up_on_the_vmm_thread(void **state)
{
	F;
	uint64_t n;

	fake_driver_init(d, 1ull << FEATURE_X, f->rings, 2);
	reg_write(d, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(reg_read(d, VIRTIO_MMIO_STATUS), 0);
	assert_false(d->vq[0].ready);
	assert_false(vj_virtio_has_feature(d, FEATURE_X));
	/* Host-side clean-up is owed to the VMM thread, run before any work. */
	assert_int_equal(read(d->ctl_efd, &n, 8), 8);
	assert_int_equal(f->dev.resets, 0);
	vj_virtio_lock(d);
	vj_virtio_unlock(d);
	assert_int_equal(f->dev.resets, 1);
}

/* A snapshot of the transport, restored into a fresh device of the same
 * kind: the driver finds its registers and queues as it left them, and
 * a chain the device held goes back to the ring. */
static void transport_state_survives_a_snapshot(void **state)
{
	F;
	struct vj_virtio_dev *b = malloc(sizeof(*b));
	struct vj_snap_virtio snap;
	struct vj_chain c;

	fake_driver_init(d, 1ull << FEATURE_X, f->rings, 2);
	fake_desc(&f->rings[0], 0, FAKE_BUF, 16, 0, 0);
	fake_publish(&f->rings[0], 0);
	fake_desc(&f->rings[0], 1, FAKE_BUF, 16, 0, 0);
	fake_publish(&f->rings[0], 1);
	/* The device took both chains and answered the first only. */
	assert_int_equal(vj_virtq_pop(&d->vq[0], &f->mem, &c), 1);
	vj_virtq_push(&d->vq[0], &c, 0);
	assert_int_equal(vj_virtq_pop(&d->vq[0], &f->mem, &c), 1);
	dummy_held = 1;
	reg_write(d, VIRTIO_MMIO_QUEUE_SEL, 1);
	vj_virtio_save(d, &snap);
	dummy_held = 0;
	assert_int_equal(snap.q[0].last_avail, 1);
	assert_int_equal(snap.q[0].used_idx, 1);

	assert_int_equal(vj_virtio_init(b, "dummy", 42, 1ull << FEATURE_X, 2, 64, f->dev.config,
					 sizeof(f->dev.config), &dummy_ops, &f->mem), 0);
	assert_int_equal(vj_virtio_restore(b, &snap), 0);
	assert_int_equal(reg_read(b, VIRTIO_MMIO_STATUS), STATUS_OK_BITS);
	assert_true(vj_virtio_has_feature(b, FEATURE_X));
	assert_int_equal(reg_read(b, VIRTIO_MMIO_QUEUE_READY), 1); /* queue 1 selected */
	/* The held chain is taken again, then nothing more. */
	assert_int_equal(vj_virtq_pop(&b->vq[0], &f->mem, &c), 1);
	assert_int_equal(c.head, 1);
	assert_int_equal(vj_virtq_pop(&b->vq[0], &f->mem, &c), 0);
	vj_virtio_destroy(b);

	/* Another kind of device, or one offering other features, refuses it. */
	assert_int_equal(vj_virtio_init(b, "other", 43, 1ull << FEATURE_X, 2, 64, f->dev.config,
					 sizeof(f->dev.config), &dummy_ops, &f->mem), 0);
	assert_int_equal(vj_virtio_restore(b, &snap), -EINVAL);
	vj_virtio_destroy(b);
	assert_int_equal(vj_virtio_init(b, "dummy", 42, 0, 2, 64, f->dev.config,
					 sizeof(f->dev.config), &dummy_ops, &f->mem), 0);
	assert_int_equal(vj_virtio_restore(b, &snap), -EINVAL);
	vj_virtio_destroy(b);
	/* Rings outside guest RAM are refused as a driver's would be. */
	snap.q[1].used_gpa = FAKE_MEM_SIZE + 0x1000;
	assert_int_equal(vj_virtio_init(b, "dummy", 42, 1ull << FEATURE_X, 2, 64, f->dev.config,
					 sizeof(f->dev.config), &dummy_ops, &f->mem), 0);
	assert_int_equal(vj_virtio_restore(b, &snap), -EFAULT);
	vj_virtio_destroy(b);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(transport_state_survives_a_snapshot, setup, teardown),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(identification_registers),
		T(full_initialisation_reaches_driver_ok),
		T(features_without_version_1_are_refused),
		T(features_the_device_lacks_are_refused),
		T(features_are_frozen_after_features_ok),
		T(queue_size_not_a_power_of_two_needs_reset),
		T(queue_size_above_max_needs_reset),
		T(queue_size_wider_than_16_bits_is_not_truncated),
		T(ring_outside_ram_needs_reset),
		T(queue_registers_are_frozen_while_ready),
		T(nonexistent_queue_is_inert),
		T(notify_before_ready_does_nothing),
		T(notify_register_forwards_only_queue_indexes),
		T(driver_ok_rechecks_every_queue),
		T(config_space_reads_and_bounds),
		T(config_writes_in_range_or_past_the_end_change_nothing),
		T(narrow_register_accesses_are_ignored),
		T(status_bits_only_accumulate_and_needs_reset_is_the_devices),
		T(used_buffers_raise_the_interrupt_and_ack_clears_it),
		T(broken_ring_needs_reset_with_a_config_interrupt),
		T(reset_clears_state_and_cleans_up_on_the_vmm_thread),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
