#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "unit.h"
#include "devices/serial.h"

enum { DATA, IER, IIR, LCR, MCR, LSR, MSR, SCR };
#define FCR IIR

static int irq_changes;
static bool irq_level;

static void fake_irq(void *ctx, bool level)
{
	(void)ctx;
	irq_changes++;
	irq_level = level;
}

static struct vj_serial s;
static int pipefd[2];

static int setup(void **state)
{
	(void)state;
	assert_int_equal(pipe2(pipefd, O_NONBLOCK), 0);
	irq_changes = 0;
	irq_level = false;
	vj_serial_init(&s, pipefd[1], 0, fake_irq, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vj_serial_destroy(&s);
	close(pipefd[0]);
	close(pipefd[1]);
	return 0;
}

static uint8_t rd(unsigned reg)
{
	uint8_t v;
	vj_serial_ops.read(&s, reg, &v, 1);
	return v;
}

static void wr(unsigned reg, uint8_t v)
{
	vj_serial_ops.write(&s, reg, &v, 1);
}

static void ier_reads_back_low_nibble(void **state)
{
	(void)state;
	wr(IER, 0);
	assert_int_equal(rd(IER), 0);
	wr(IER, 0xff);
	assert_int_equal(rd(IER), 0x0f);
}

static void fifo_enable_shows_16550a_in_iir(void **state)
{
	(void)state;
	assert_int_equal(rd(IIR) & 0xc0, 0);
	wr(FCR, 0x01);
	assert_int_equal(rd(IIR) & 0xc0, 0xc0);
	assert_int_equal(rd(IIR) & 0x01, 0x01); /* nothing pending */
}

static void scratch_register_holds_a_byte(void **state)
{
	(void)state;
	wr(SCR, 0xa5);
	assert_int_equal(rd(SCR), 0xa5);
	wr(SCR, 0x5a);
	assert_int_equal(rd(SCR), 0x5a);
}

static void loopback_reflects_modem_control_in_status(void **state)
{
	(void)state;
	/* the check Linux's 8250 probe makes: LOOP|RTS|OUT2 -> CTS|DCD */
	wr(MCR, 0x10 | 0x0a);
	assert_int_equal(rd(MSR) & 0xf0, 0x90);
	wr(MCR, 0x10 | 0x05);
	assert_int_equal(rd(MSR) & 0xf0, 0x60);
	wr(MCR, 0x08);
	assert_int_equal(rd(MSR) & 0xf0, 0xb0);
}

static void loopback_data_comes_back_not_out(void **state)
{
	char c;
	(void)state;
	wr(MCR, 0x10);
	wr(DATA, 'x');
	assert_int_equal(rd(LSR) & 0x01, 0x01);
	assert_int_equal(rd(DATA), 'x');
	assert_int_equal(rd(LSR) & 0x01, 0);
	vj_serial_flush(&s);
	assert_true(read(pipefd[0], &c, 1) < 0);
}

static void lsr_always_reports_transmitter_empty(void **state)
{
	(void)state;
	assert_int_equal(rd(LSR) & 0x60, 0x60);
	wr(DATA, 'a');
	assert_int_equal(rd(LSR) & 0x60, 0x60);
}

static void enabling_thri_raises_it_and_reading_iir_acks(void **state)
{
	(void)state;
	wr(IER, 0x02);
	assert_true(irq_level);
	assert_int_equal(rd(IIR) & 0x0f, 0x02);
	assert_false(irq_level);
	assert_int_equal(rd(IIR) & 0x0f, 0x01);
	/* the startup test of Linux's driver: off, on again, pending again */
	wr(IER, 0);
	wr(IER, 0x02);
	assert_int_equal(rd(IIR) & 0x0f, 0x02);
}

static void writing_thr_raises_thri_again(void **state)
{
	(void)state;
	wr(IER, 0x02);
	(void)rd(IIR);
	assert_false(irq_level);
	wr(DATA, 'z');
	assert_true(irq_level);
}

static void received_data_interrupt_has_priority(void **state)
{
	(void)state;
	wr(IER, 0x03);
	assert_int_equal(vj_serial_input(&s, (const uint8_t *)"q", 1), 1);
	assert_int_equal(rd(IIR) & 0x0f, 0x04);
	assert_int_equal(rd(DATA), 'q');
	assert_int_equal(rd(IIR) & 0x0f, 0x02);
}

static void input_beyond_fifo_is_dropped(void **state)
{
	uint8_t buf[40];
	(void)state;
	memset(buf, 'k', sizeof(buf));
	assert_int_equal(vj_serial_input(&s, buf, sizeof(buf)), VJ_SERIAL_RX_FIFO);
}

static void dlab_switches_to_divisor_latches(void **state)
{
	(void)state;
	wr(IER, 0x05);
	wr(LCR, 0x80);
	wr(DATA, 0x01);
	wr(IER, 0x02);
	assert_int_equal(rd(DATA), 0x01);
	assert_int_equal(rd(IER), 0x02);
	wr(LCR, 0x03);
	assert_int_equal(rd(IER), 0x05);
	assert_int_equal(rd(LCR), 0x03);
}

static void output_reaches_the_console_fd(void **state)
{
	char buf[16] = { 0 };
	(void)state;
	for (const char *p = "hi\n"; *p; p++)
		wr(DATA, (uint8_t)*p);
	assert_int_equal(read(pipefd[0], buf, sizeof(buf)), 3);
	assert_string_equal(buf, "hi\n");
}

static void output_is_capped_at_the_limit(void **state)
{
	char buf[64] = { 0 };
	(void)state;
	s.limit = 4;
	for (const char *p = "abcdefgh\n"; *p; p++)
		wr(DATA, (uint8_t)*p);
	vj_serial_flush(&s);
	assert_int_equal(read(pipefd[0], buf, sizeof(buf)), 4);
	assert_string_equal(buf, "abcd");
}

static void piped_output_keeps_the_guests_exact_bytes(void **state)
{
	static const char sent[] = "\x1b[1mbold\x1b[0m \xc2\x9b\xff\n";
	char buf[64] = { 0 };
	(void)state;
	for (const char *p = sent; *p; p++)
		wr(DATA, (uint8_t)*p);
	assert_int_equal(read(pipefd[0], buf, sizeof(buf)), sizeof(sent) - 1);
	assert_string_equal(buf, sent);
}

/* The slave side of a new pty, raw (no \r added to \n), as a console;
 * *master is the terminal's side. */
static int open_pty(int *master)
{
	struct termios tio;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), slave;

	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	slave = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(slave >= 0);
	assert_int_equal(tcgetattr(slave, &tio), 0);
	cfmakeraw(&tio);
	assert_int_equal(tcsetattr(slave, TCSANOW, &tio), 0);
	*master = m;
	return slave;
}

/* What a console on a terminal shows for bytes the guest sent one by one. */
static const char *shown_on_a_terminal(const char *sent, size_t n)
{
	static char buf[256];
	struct vj_serial t;
	int master, slave = open_pty(&master);
	ssize_t got;

	vj_serial_init(&t, slave, 0, fake_irq, NULL);
	for (size_t i = 0; i < n; i++)
		vj_serial_ops.write(&t, DATA, (const uint8_t *)sent + i, 1);
	vj_serial_destroy(&t);
	/* The pty may hand the bytes over in more than one piece: read all of
	 * them (once the slave is closed and drained, the master reads EIO). */
	close(slave);
	got = 0;
	for (ssize_t r; (size_t)got < sizeof(buf) - 1 &&
			(r = read(master, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0;)
		got += r;
	buf[got] = '\0';
	close(master);
	return buf;
}

static void a_terminal_shows_escape_sequences_as_text(void **state)
{
	static const char sent[] = "\x1b]0;pwned\x07\x1b[2Jok\n";
	(void)state;
	assert_string_equal(shown_on_a_terminal(sent, sizeof(sent) - 1), "^[]0;pwned^G^[[2Jok\n");
}

static void a_terminal_shows_c1_controls_as_bytes(void **state)
{
	static const char sent[] = "\xc2\x9b" "2J\x9d\xc3\xa9\n";
	(void)state;
	assert_string_equal(shown_on_a_terminal(sent, sizeof(sent) - 1), "\\xc2\\x9b2J\\x9d\xc3\xa9\n");
}

static void an_unfinished_character_is_shown_when_the_console_closes(void **state)
{
	static const char sent[] = "end\xe2\x82";
	(void)state;
	assert_string_equal(shown_on_a_terminal(sent, sizeof(sent) - 1), "end\\xe2\\x82");
}

static void multi_byte_access_touches_each_register(void **state)
{
	uint8_t v[2] = { 0x33, 0x44 };
	uint8_t out[2];
	(void)state;
	vj_serial_ops.write(&s, SCR - 1, v, 2); /* MSR is read-only, SCR takes 0x44 */
	assert_int_equal(rd(SCR), 0x44);
	vj_serial_ops.read(&s, 7, out, 2); /* past the last register */
	assert_int_equal(out[0], 0x44);
	assert_int_equal(out[1], 0xff);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(ier_reads_back_low_nibble),
		T(fifo_enable_shows_16550a_in_iir),
		T(scratch_register_holds_a_byte),
		T(loopback_reflects_modem_control_in_status),
		T(loopback_data_comes_back_not_out),
		T(lsr_always_reports_transmitter_empty),
		T(enabling_thri_raises_it_and_reading_iir_acks),
		T(writing_thr_raises_thri_again),
		T(received_data_interrupt_has_priority),
		T(input_beyond_fifo_is_dropped),
		T(dlab_switches_to_divisor_latches),
		T(output_reaches_the_console_fd),
		T(output_is_capped_at_the_limit),
		T(piped_output_keeps_the_guests_exact_bytes),
		cmocka_unit_test(a_terminal_shows_escape_sequences_as_text),
		cmocka_unit_test(a_terminal_shows_c1_controls_as_bytes),
		cmocka_unit_test(an_unfinished_character_is_shown_when_the_console_closes),
		T(multi_byte_access_touches_each_register),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
