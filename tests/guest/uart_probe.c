/*
 * The register behaviour Linux's 8250 driver relies on when it probes a
 * port (drivers/tty/serial/8250/8250_port.c: autoconfig() and the THRE
 * test in serial8250_do_startup()), one report line per check. Interrupts
 * stay off: the IOAPIC pin is masked and the PIC too (cpu_init).
 */
#include "guest.h"
#include "uart.h"

struct uart_check {
	const char *name;
	/* 0, or a static description of the first mismatch. */
	const char *(*run)(uint8_t *got, uint8_t *want);
};

static const char *expect(uint8_t got, uint8_t want, uint8_t *g, uint8_t *w, const char *what)
{
	*g = got;
	*w = want;
	return got == want ? 0 : what;
}

static const char *check_ier(uint8_t *g, uint8_t *w)
{
	const char *err;

	outb(UART_IER, 0);
	if ((err = expect(inb(UART_IER) & 0x0f, 0, g, w, "IER after writing 0")))
		return err;
	outb(UART_IER, 0x0f);
	err = expect(inb(UART_IER) & 0x0f, 0x0f, g, w, "IER after writing 0x0f");
	outb(UART_IER, 0);
	return err;
}

static const char *check_scratch(uint8_t *g, uint8_t *w)
{
	const char *err;

	outb(UART_SCR, 0xa5);
	if ((err = expect(inb(UART_SCR), 0xa5, g, w, "scratch after writing 0xa5")))
		return err;
	outb(UART_SCR, 0x5a);
	return expect(inb(UART_SCR), 0x5a, g, w, "scratch after writing 0x5a");
}

static const char *check_loopback_msr(uint8_t *g, uint8_t *w)
{
	/* In loopback DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
	static const uint8_t mcr[] = { 0x0a, 0x05, 0x0f, 0x00 };
	static const uint8_t msr[] = { 0x90, 0x60, 0xf0, 0x00 };
	const char *err = 0;
	uint8_t saved = inb(UART_MCR);

	for (unsigned i = 0; i < sizeof(mcr) && !err; i++) {
		outb(UART_MCR, UART_MCR_LOOP | mcr[i]);
		err = expect(inb(UART_MSR) & UART_MSR_STATUS, msr[i], g, w,
			     "MSR status bits for MCR in loopback");
	}
	outb(UART_MCR, saved);
	return err;
}

static const char *check_loopback_data(uint8_t *g, uint8_t *w)
{
	const char *err;
	uint8_t saved = inb(UART_MCR);

	outb(UART_MCR, UART_MCR_LOOP);
	outb(UART_THR, 0x5a);
	err = expect(inb(UART_LSR) & UART_LSR_DR, UART_LSR_DR, g, w,
		     "LSR data ready after a byte sent in loopback");
	if (!err)
		err = expect(inb(UART_RBR), 0x5a, g, w, "byte received in loopback");
	if (!err)
		err = expect(inb(UART_LSR) & UART_LSR_DR, 0, g, w, "LSR data ready after reading");
	outb(UART_MCR, saved);
	return err;
}

static const char *check_fifo(uint8_t *g, uint8_t *w)
{
	const char *err;

	/* 16550A: both FIFO bits of IIR follow FCR's enable bit. */
	outb(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR);
	if ((err = expect(inb(UART_IIR) & UART_IIR_FIFO_BITS, UART_IIR_FIFO_BITS, g, w,
			  "IIR FIFO bits with FIFO enabled")))
		return err;
	outb(UART_FCR, 0);
	err = expect(inb(UART_IIR) & UART_IIR_FIFO_BITS, 0, g, w,
		     "IIR FIFO bits with FIFO disabled");
	outb(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR);
	return err;
}

static const char *check_lsr_idle(uint8_t *g, uint8_t *w)
{
	return expect(inb(UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
		      UART_LSR_THRE | UART_LSR_TEMT, g, w, "LSR THRE and TEMT when idle");
}

static const char *check_iir_idle(uint8_t *g, uint8_t *w)
{
	outb(UART_IER, 0);
	return expect(inb(UART_IIR) & UART_IIR_ID, UART_IIR_NO_INT, g, w,
		      "IIR with interrupts disabled");
}

static const char *check_thri(uint8_t *g, uint8_t *w)
{
	const char *err;

	/* Enabling THRI with THR empty raises it; reading IIR clears it;
	 * enabling it again raises it again (Linux's UART_BUG_THRE test). */
	outb(UART_IER, UART_IER_THRI);
	err = expect(inb(UART_IIR) & UART_IIR_ID, UART_IIR_THRI, g, w,
		     "IIR after enabling THRI");
	if (!err)
		err = expect(inb(UART_IIR) & UART_IIR_ID, UART_IIR_NO_INT, g, w,
			     "IIR read a second time");
	outb(UART_IER, 0);
	if (!err) {
		outb(UART_IER, UART_IER_THRI);
		err = expect(inb(UART_IIR) & UART_IIR_ID, UART_IIR_THRI, g, w,
			     "IIR after enabling THRI again");
	}
	outb(UART_IER, 0);
	return err;
}

static const char *check_divisor(uint8_t *g, uint8_t *w)
{
	const char *err;

	/* With DLAB set, ports 0 and 1 are the divisor latch, not THR/IER:
	 * nothing may be transmitted and IER must keep its value. */
	outb(UART_IER, 0x05);
	outb(UART_LCR, UART_LCR_DLAB | UART_LCR_8N1);
	outb(UART_DLL, 0x01); /* 115200 baud */
	outb(UART_DLM, 0x00);
	err = expect(inb(UART_DLL), 0x01, g, w, "divisor latch low");
	if (!err)
		err = expect(inb(UART_DLM), 0x00, g, w, "divisor latch high");
	outb(UART_LCR, UART_LCR_8N1);
	if (!err)
		err = expect(inb(UART_LCR), UART_LCR_8N1, g, w, "LCR after clearing DLAB");
	if (!err)
		err = expect(inb(UART_IER) & 0x0f, 0x05, g, w, "IER across a divisor write");
	outb(UART_IER, 0);
	return err;
}

static const struct uart_check checks[] = {
	{ "ier", check_ier },
	{ "scratch", check_scratch },
	{ "loopback-msr", check_loopback_msr },
	{ "loopback-data", check_loopback_data },
	{ "fifo", check_fifo },
	{ "lsr-idle", check_lsr_idle },
	{ "iir-idle", check_iir_idle },
	{ "thri", check_thri },
	{ "divisor", check_divisor },
};

void scenario_uart(void)
{
	unsigned n = sizeof(checks) / sizeof(checks[0]), failed = 0;

	for (unsigned i = 0; i < n; i++) {
		uint8_t got = 0, want = 0;
		const char *err = checks[i].run(&got, &want);

		/* A failed check may leave the port odd: make it a console. */
		outb(UART_LCR, UART_LCR_8N1);
		outb(UART_MCR, UART_MCR_OUT2 | UART_MCR_RTS | UART_MCR_DTR);
		outb(UART_IER, 0);
		if (err) {
			print("vjtest: uart %s FAIL %s: got 0x%x want 0x%x\n", checks[i].name, err,
			      got, want);
			failed++;
		} else {
			print("vjtest: uart %s ok\n", checks[i].name);
		}
	}
	if (failed)
		print("vjtest: uart FAIL %u of %u checks\n", failed, n);
	else
		print("vjtest: uart ok %u checks\n", n);
}
