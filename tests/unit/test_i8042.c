/* The i8042 model (vmm/devices/i8042.c): what Linux's i8042 and atkbd
 * drivers send while they probe is answered, Ctrl-Alt-Del arrives as the
 * scancodes atkbd expects with one IRQ 1 edge per byte, and nothing a
 * guest writes makes the output buffer grow or resets the machine but
 * the reset command. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "cleanup.h"
#include "devices/i8042.h"

enum { DATA = 0, CMD = 4 };

/* Status and configuration bits, as the drivers name them. */
#define OBF 0x01
#define SYS 0x04
#define CMDDAT 0x08
#define UNLOCKED 0x10
#define AUXDATA 0x20
#define KBDINT 0x01
#define KBDDIS 0x10
#define XLATE 0x40

static struct vj_i8042 k;
static int resets, irqs;

static void fake_reset(void *ctx)
{
	(void)ctx;
	resets++;
}

static void fake_irq(void *ctx)
{
	(void)ctx;
	irqs++;
}

static int setup(void **state)
{
	(void)state;
	resets = irqs = 0;
	vj_i8042_init(&k, fake_reset, fake_irq, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vj_i8042_destroy(&k);
	return 0;
}

static uint8_t rd(unsigned port)
{
	uint8_t v;

	vj_i8042_ops.read(&k, port, &v, 1);
	return v;
}

static void wr(unsigned port, uint8_t v)
{
	vj_i8042_ops.write(&k, port, &v, 1);
}

/* The bytes waiting, read as a driver does: while the status says so. */
static size_t drain(uint8_t *out, size_t cap)
{
	size_t n = 0;

	while ((rd(CMD) & OBF) && n < cap)
		out[n++] = rd(DATA);
	return n;
}

static void expect_bytes(const uint8_t *want, size_t n)
{
	uint8_t got[64];
	size_t len = drain(got, sizeof(got));

	assert_int_equal(len, n);
	assert_memory_equal(got, want, n);
}

#define EXPECT(...)                                                  \
	do {                                                         \
		static const uint8_t want_[] = { __VA_ARGS__ };      \
		expect_bytes(want_, sizeof(want_));                  \
	} while (0)
#define EXPECT_NOTHING() assert_int_equal(rd(CMD) & OBF, 0)

/* Controller command byte (CTR), written as Linux's i8042_command does. */
static void write_ctr(uint8_t v)
{
	wr(CMD, 0x60);
	wr(DATA, v);
}

static void status_at_power_on_is_idle_unlocked_and_posted(void **state)
{
	(void)state;
	assert_int_equal(rd(CMD), SYS | UNLOCKED);
	EXPECT_NOTHING();
	assert_int_equal(rd(DATA), 0);
}

static void controller_self_test_passes(void **state)
{
	(void)state;
	wr(CMD, 0xaa);
	assert_int_equal(rd(CMD), OBF | SYS | CMDDAT | UNLOCKED);
	EXPECT(0x55);
}

static void keyboard_interface_test_passes(void **state)
{
	(void)state;
	wr(CMD, 0xab);
	EXPECT(0x00);
}

static void config_byte_reads_back_what_was_written(void **state)
{
	(void)state;
	wr(CMD, 0x20);
	EXPECT(KBDINT | SYS);
	write_ctr(SYS | KBDDIS);
	wr(CMD, 0x20);
	EXPECT(SYS | KBDDIS);
	assert_int_equal(resets, 0);
}

static void system_flag_in_the_status_follows_the_config_byte(void **state)
{
	(void)state;
	write_ctr(0);
	assert_int_equal(rd(CMD) & SYS, 0);
	write_ctr(SYS);
	assert_int_equal(rd(CMD) & SYS, SYS);
}

static void keyboard_disable_and_enable_commands_set_the_config_bit(void **state)
{
	(void)state;
	wr(CMD, 0xad);
	wr(CMD, 0x20);
	EXPECT(KBDINT | SYS | KBDDIS);
	wr(CMD, 0xae);
	wr(CMD, 0x20);
	EXPECT(KBDINT | SYS);
}

/* Linux writes 0xDF there (A20 on) and sends the null command 0xFF. */
static void output_port_reads_back_and_the_null_command_does_nothing(void **state)
{
	(void)state;
	wr(CMD, 0xd1);
	wr(DATA, 0xdf);
	wr(CMD, 0xff);
	wr(CMD, 0xd0);
	EXPECT(0xdf);
	assert_int_equal(resets, 0);
}

static void keyboard_reset_answers_ack_and_self_test_passed(void **state)
{
	(void)state;
	wr(DATA, 0xff);
	EXPECT(0xfa, 0xaa);
}

static void keyboard_id_is_an_mf2_keyboard(void **state)
{
	(void)state;
	wr(DATA, 0xf2);
	EXPECT(0xfa, 0xab, 0x83);
}

static void leds_and_typematic_take_a_parameter_each_acknowledged(void **state)
{
	(void)state;
	wr(DATA, 0xed);
	EXPECT(0xfa);
	wr(DATA, 0x00);
	EXPECT(0xfa);
	wr(DATA, 0xf3);
	wr(DATA, 0x00);
	EXPECT(0xfa, 0xfa);
}

static void scancode_set_query_answers_set_2(void **state)
{
	(void)state;
	wr(DATA, 0xf0);
	wr(DATA, 0x00);
	EXPECT(0xfa, 0xfa, 0x02);
	/* Asked for set 3, it acknowledges and stays in set 2 (atkbd then
	 * asks, and falls back). */
	wr(DATA, 0xf0);
	wr(DATA, 0x03);
	wr(DATA, 0xf0);
	wr(DATA, 0x00);
	EXPECT(0xfa, 0xfa, 0xfa, 0xfa, 0x02);
}

static void scanning_enable_disable_and_defaults_are_acknowledged(void **state)
{
	(void)state;
	wr(DATA, 0xf5);
	wr(DATA, 0xf4);
	wr(DATA, 0xf6);
	EXPECT(0xfa, 0xfa, 0xfa);
}

static void echo_answers_echo(void **state)
{
	(void)state;
	wr(DATA, 0xee);
	EXPECT(0xee);
}

static void an_unknown_keyboard_command_is_answered_with_resend(void **state)
{
	(void)state;
	wr(DATA, 0x5a);
	EXPECT(0xfe);
	wr(DATA, 0xe8);
	EXPECT(0xfe);
}

static void resend_repeats_the_keyboards_last_byte(void **state)
{
	(void)state;
	wr(DATA, 0xf2);
	EXPECT(0xfa, 0xab, 0x83);
	wr(DATA, 0xfe);
	EXPECT(0x83);
}

static void unknown_controller_commands_queue_nothing_and_reset_nothing(void **state)
{
	(void)state;
	for (unsigned c = 0; c < 256; c++) {
		static const uint8_t known[] = { 0x20, 0x60, 0xaa, 0xab, 0xad,
						 0xae, 0xd0, 0xd1, 0xfe };
		if (memchr(known, (int)c, sizeof(known)))
			continue;
		wr(CMD, (uint8_t)c);
		EXPECT_NOTHING();
	}
	assert_int_equal(resets, 0);
}

/* What Linux's i8042_check_aux() sees of a controller with no AUX port:
 * the loop-back command's byte reaches the keyboard, whose "resend" is
 * not AUX data (an immediate failure, no timeout), and the AUX interface
 * test then reads that byte: not a pass. Nothing is left behind. */
static void the_aux_probe_finds_no_aux_port_without_a_timeout(void **state)
{
	uint8_t st;
	(void)state;
	wr(CMD, 0xd3);
	wr(DATA, 0x5a);
	st = rd(CMD);
	assert_int_equal(st & (OBF | AUXDATA), OBF);
	wr(CMD, 0xa9);
	EXPECT(0xfe);
}

static void reset_command_resets_once_and_nothing_else_does(void **state)
{
	(void)state;
	wr(DATA, 0xfe); /* the keyboard's resend, not a reset */
	drain((uint8_t[VJ_I8042_BUF]){ 0 }, VJ_I8042_BUF);
	wr(CMD, 0xfe);
	assert_int_equal(resets, 1);
}

static void ctrl_alt_del_is_set_2_make_and_break(void **state)
{
	(void)state;
	assert_int_equal(vj_i8042_ctrl_alt_del(&k), 0);
	EXPECT(0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14);
	assert_int_equal(rd(CMD) & OBF, 0);
}

static void ctrl_alt_del_is_set_1_while_the_controller_translates(void **state)
{
	(void)state;
	write_ctr(KBDINT | SYS | XLATE);
	assert_int_equal(vj_i8042_ctrl_alt_del(&k), 0);
	EXPECT(0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d);
}

/* One edge when the first byte arrives, one per read that leaves the
 * next: each byte gets its own interrupt, as Linux reads one per IRQ. */
static void each_byte_of_ctrl_alt_del_raises_irq1(void **state)
{
	(void)state;
	assert_int_equal(vj_i8042_ctrl_alt_del(&k), 0);
	assert_int_equal(irqs, 1);
	drain((uint8_t[VJ_I8042_BUF]){ 0 }, VJ_I8042_BUF);
	assert_int_equal(irqs, 11);
	rd(DATA); /* an extra read of an empty buffer raises nothing */
	assert_int_equal(irqs, 11);
}

static void keyboard_answers_raise_irq1_like_keys(void **state)
{
	(void)state;
	wr(DATA, 0xf2);
	assert_int_equal(irqs, 1);
	EXPECT(0xfa, 0xab, 0x83);
	assert_int_equal(irqs, 3);
}

static void no_irq_while_keyboard_interrupts_are_off(void **state)
{
	(void)state;
	write_ctr(SYS);
	assert_int_equal(vj_i8042_ctrl_alt_del(&k), 0);
	wr(DATA, 0xf2);
	assert_int_equal(irqs, 0);
	assert_int_equal(rd(DATA), 0x14);
	assert_int_equal(irqs, 0);
}

static void enabling_keyboard_interrupts_with_a_byte_waiting_raises_irq1(void **state)
{
	(void)state;
	write_ctr(SYS);
	assert_int_equal(vj_i8042_ctrl_alt_del(&k), 0);
	write_ctr(SYS | KBDINT);
	assert_int_equal(irqs, 1);
	write_ctr(SYS | KBDINT); /* already on: no new edge */
	assert_int_equal(irqs, 1);
}

static void ctrl_alt_del_is_refused_while_the_guest_disabled_its_keyboard(void **state)
{
	(void)state;
	wr(DATA, 0xf5);
	EXPECT(0xfa);
	assert_int_equal(vj_i8042_ctrl_alt_del(&k), -EAGAIN);
	wr(DATA, 0xf4);
	EXPECT(0xfa);
	wr(CMD, 0xad);
	assert_int_equal(vj_i8042_ctrl_alt_del(&k), -EAGAIN);
	EXPECT_NOTHING();
	wr(CMD, 0xae);
	assert_int_equal(vj_i8042_ctrl_alt_del(&k), 0);
}

/* Linux resets the keyboard at power-off (its scanning back on). */
static void a_keyboard_reset_turns_scanning_back_on(void **state)
{
	(void)state;
	wr(DATA, 0xf5);
	wr(DATA, 0xff);
	EXPECT(0xfa, 0xfa, 0xaa);
	assert_int_equal(vj_i8042_ctrl_alt_del(&k), 0);
}

static void a_second_ctrl_alt_del_the_guest_has_not_read_finds_no_room(void **state)
{
	(void)state;
	assert_int_equal(vj_i8042_ctrl_alt_del(&k), 0);
	assert_int_equal(vj_i8042_ctrl_alt_del(&k), -ENOBUFS);
	EXPECT(0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14);
	assert_int_equal(vj_i8042_ctrl_alt_del(&k), 0);
}

/* A guest that asks and never reads: the buffer stops at its size, the
 * oldest bytes kept, and a driver's flush empties it. */
static void a_guest_that_never_reads_cannot_grow_the_buffer(void **state)
{
	uint8_t got[64];
	(void)state;
	for (int i = 0; i < 10000; i++) {
		wr(DATA, 0xf2);
		wr(CMD, 0x20);
		wr(CMD, 0xaa);
	}
	assert_int_equal(k.count, VJ_I8042_BUF);
	assert_int_equal(drain(got, sizeof(got)), VJ_I8042_BUF);
	assert_memory_equal(got, ((uint8_t[]){ 0xfa, 0xab, 0x83, KBDINT | SYS, 0x55 }), 5);
	EXPECT_NOTHING();
}

/* Every byte to every port, in a pseudo-random order: no reset but the
 * reset command's, the buffer bounded, the state consistent. */
static void hostile_writes_stay_bounded(void **state)
{
	uint32_t x = 12345;
	(void)state;
	for (int i = 0; i < 200000; i++) {
		uint8_t v, port;
		x = x * 1103515245u + 12345u;
		v = (uint8_t)(x >> 16);
		port = (uint8_t)((x >> 8) % 5);
		if (port == CMD && v == 0xfe)
			continue;
		if (x & 0x1000000)
			wr(port, v);
		else
			rd(port);
		assert_true(k.count <= VJ_I8042_BUF && k.head < VJ_I8042_BUF);
	}
	assert_int_equal(resets, 0);
}

/* Ports 0x61..0x63 lie inside the device's range but are not its. */
static void the_ports_between_data_and_command_are_inert(void **state)
{
	uint8_t v[4] = { 0xff, 0xff, 0xff, 0xff };
	(void)state;
	for (unsigned p = 1; p < 4; p++)
		wr(p, 0xfe);
	assert_int_equal(resets, 0);
	EXPECT_NOTHING();
	wr(CMD, 0xaa);
	vj_i8042_ops.read(&k, DATA, v, 4); /* a 32-bit read takes the data byte once */
	assert_memory_equal(v, ((uint8_t[]){ 0x55, 0, 0, 0 }), 4);
	EXPECT_NOTHING();
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(status_at_power_on_is_idle_unlocked_and_posted),
		T(controller_self_test_passes),
		T(keyboard_interface_test_passes),
		T(config_byte_reads_back_what_was_written),
		T(system_flag_in_the_status_follows_the_config_byte),
		T(keyboard_disable_and_enable_commands_set_the_config_bit),
		T(output_port_reads_back_and_the_null_command_does_nothing),
		T(keyboard_reset_answers_ack_and_self_test_passed),
		T(keyboard_id_is_an_mf2_keyboard),
		T(leds_and_typematic_take_a_parameter_each_acknowledged),
		T(scancode_set_query_answers_set_2),
		T(scanning_enable_disable_and_defaults_are_acknowledged),
		T(echo_answers_echo),
		T(an_unknown_keyboard_command_is_answered_with_resend),
		T(resend_repeats_the_keyboards_last_byte),
		T(unknown_controller_commands_queue_nothing_and_reset_nothing),
		T(the_aux_probe_finds_no_aux_port_without_a_timeout),
		T(reset_command_resets_once_and_nothing_else_does),
		T(ctrl_alt_del_is_set_2_make_and_break),
		T(ctrl_alt_del_is_set_1_while_the_controller_translates),
		T(each_byte_of_ctrl_alt_del_raises_irq1),
		T(keyboard_answers_raise_irq1_like_keys),
		T(no_irq_while_keyboard_interrupts_are_off),
		T(enabling_keyboard_interrupts_with_a_byte_waiting_raises_irq1),
		T(ctrl_alt_del_is_refused_while_the_guest_disabled_its_keyboard),
		T(a_keyboard_reset_turns_scanning_back_on),
		T(a_second_ctrl_alt_del_the_guest_has_not_read_finds_no_room),
		T(a_guest_that_never_reads_cannot_grow_the_buffer),
		T(hostile_writes_stay_bounded),
		T(the_ports_between_data_and_command_are_inert),
	};
#undef T
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
