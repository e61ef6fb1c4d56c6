/*
 * kbd: the i8042 driven the way Linux's i8042 and atkbd drivers probe it
 * (flush, controller self-test, keyboard interface test, configuration
 * byte, keyboard reset, ID, LEDs, scanning on), each answer polled with
 * keyboard interrupts off; then, interrupts on, the keyboard's bytes are
 * taken one per IRQ 1 as i8042_interrupt() takes them. Once ready it
 * writes the boot marker, for whoever is to press Ctrl-Alt-Del
 * (tests/integration/vmm-ctl.c), and prints the first `vjkeys` bytes that
 * come (default 11, the make and break codes of Ctrl-Alt-Del). Then it
 * turns scanning off and listens 3 s more: nothing may come while off.
 * vjkeys=0 ends after the probe.
 */
#include "guest.h"
#include "vmm/layout.h"

#define VEC_KBD 0x33
#define KEYS_TIMEOUT_US 60000000ull
#define QUIET_US 3000000ull
#define POLLS 100000 /* each an exit: far longer than an answer takes */
#define MAX_KEYS 16

#define STS_OBF 0x01
#define CTR_KBDINT 0x01
#define CTR_KBDDIS 0x10
#define CTR_XLATE 0x40

static volatile uint8_t keys[MAX_KEYS];
static volatile unsigned nkeys, kbd_irqs;
static volatile bool timed_out;
static bool failed;

static void kbd_irq(struct irq_frame *f)
{
	(void)f;
	kbd_irqs++;
	if (inb(VJ_PORT_I8042_CMD) & STS_OBF) {
		uint8_t v = inb(VJ_PORT_I8042_DATA);
		if (nkeys < MAX_KEYS)
			keys[nkeys] = v;
		nkeys++;
	}
	lapic_eoi();
}

static void watchdog(struct irq_frame *f)
{
	(void)f;
	timed_out = true;
	lapic_eoi();
}

/* The next byte of an answer, polled; -1 when none comes. */
static int poll_byte(void)
{
	for (int i = 0; i < POLLS; i++)
		if (inb(VJ_PORT_I8042_CMD) & STS_OBF)
			return inb(VJ_PORT_I8042_DATA);
	return -1;
}

/* Sends cmd (to the controller, or the keyboard through port 0x60) and
 * checks the answer's n bytes. */
static void step(const char *check, uint16_t port, uint8_t cmd, const uint8_t *want, unsigned n)
{
	outb(port, cmd);
	for (unsigned i = 0; i < n; i++) {
		int got = poll_byte();
		if (got != want[i]) {
			print("vjtest: kbd %s FAIL byte %u is %d, want %u\n", check, i, got,
			      want[i]);
			failed = true;
			return;
		}
	}
	print("vjtest: kbd %s ok\n", check);
}

#define STEP(check, port, cmd, ...)                                          \
	do {                                                                 \
		static const uint8_t want_[] = { __VA_ARGS__ };              \
		step(check, port, cmd, want_, sizeof(want_));                \
	} while (0)

static void write_ctr(uint8_t v)
{
	outb(VJ_PORT_I8042_CMD, 0x60);
	outb(VJ_PORT_I8042_DATA, v);
}

static void probe(void)
{
	int ctr;
	unsigned flushed = 0;

	while ((inb(VJ_PORT_I8042_CMD) & STS_OBF) && flushed++ < 16)
		(void)inb(VJ_PORT_I8042_DATA);
	STEP("self-test", VJ_PORT_I8042_CMD, 0xaa, 0x55);
	STEP("interface-test", VJ_PORT_I8042_CMD, 0xab, 0x00);
	outb(VJ_PORT_I8042_CMD, 0x20);
	ctr = poll_byte();
	if (ctr < 0) {
		print("vjtest: kbd config FAIL no answer\n");
		failed = true;
		return;
	}
	/* As Linux: keyboard interface and interrupt off while probing, no
	 * translation (scancode set 2 as the keyboard sends it). */
	write_ctr((uint8_t)((ctr | CTR_KBDDIS) & ~(CTR_KBDINT | CTR_XLATE)));
	outb(VJ_PORT_I8042_CMD, 0x20);
	if (poll_byte() != ((ctr | CTR_KBDDIS) & ~(CTR_KBDINT | CTR_XLATE))) {
		print("vjtest: kbd config FAIL does not read back\n");
		failed = true;
		return;
	}
	print("vjtest: kbd config ok\n");
	write_ctr((uint8_t)(ctr & ~(CTR_KBDDIS | CTR_KBDINT | CTR_XLATE)));
	STEP("reset", VJ_PORT_I8042_DATA, 0xff, 0xfa, 0xaa);
	STEP("id", VJ_PORT_I8042_DATA, 0xf2, 0xfa, 0xab, 0x83);
	STEP("leds", VJ_PORT_I8042_DATA, 0xed, 0xfa);
	STEP("leds-value", VJ_PORT_I8042_DATA, 0x00, 0xfa);
	STEP("scan-enable", VJ_PORT_I8042_DATA, 0xf4, 0xfa);
	/* A driver of a controller with no AUX port: loop-back answered by
	 * the keyboard's "resend", at once. */
	outb(VJ_PORT_I8042_CMD, 0xd3);
	STEP("no-aux", VJ_PORT_I8042_DATA, 0x5a, 0xfe);
}

static void wait_keys(unsigned want)
{
	while (nkeys < want && !timed_out)
		irq_enable_and_halt();
}

void scenario_kbd(void)
{
	const unsigned want = (unsigned)cmdline_u64("vjkeys", 11);

	lapic_enable();
	irq_set_handler(VEC_KBD, kbd_irq);
	irq_set_handler(VEC_TIMER, watchdog);
	probe();
	if (failed || want == 0) {
		print("vjtest: kbd probe %s\n", failed ? "FAIL" : "done");
		return;
	}
	ioapic_route(VJ_IRQ_I8042_KBD, VEC_KBD, lapic_id());
	outb(VJ_PORT_I8042_CMD, 0x20);
	write_ctr((uint8_t)(poll_byte() | CTR_KBDINT));
	print("vjtest: kbd ready\n");
	boot_marker();
	watchdog_start(KEYS_TIMEOUT_US);
	wait_keys(want > MAX_KEYS ? MAX_KEYS : want);
	if (timed_out) {
		print("vjtest: kbd keys FAIL timed out with %u of %u\n", nkeys, want);
		return;
	}
	print("vjtest: kbd keys");
	for (unsigned i = 0; i < nkeys && i < MAX_KEYS; i++)
		print(" %x", keys[i]);
	print(" irqs=%u\n", kbd_irqs);

	/* The answer to "scanning off" is the one byte expected now. */
	nkeys = 0;
	outb(VJ_PORT_I8042_DATA, 0xf5);
	wait_keys(1);
	print("vjtest: kbd scanning off\n");
	watchdog_start(QUIET_US);
	wait_keys(2);
	print("vjtest: kbd while off %u bytes\n", nkeys - 1);
}
