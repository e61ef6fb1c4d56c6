/*
 * Port I/O the VMM has no device for, at every width and as string I/O:
 * reads must see all-ones (an empty ISA bus), writes must vanish, and the
 * VM must go on.
 */
#include "guest.h"
#include "vmm/layout.h"

#define STRING_COUNT 64

struct pio_probe {
	const char *name;
	uint16_t port;
};

static uint32_t in_width(uint16_t port, unsigned width)
{
	uint32_t v = 0;

	if (width == 1)
		__asm__ volatile("inb %w1, %b0" : "+a"(v) : "Nd"(port));
	else if (width == 2)
		__asm__ volatile("inw %w1, %w0" : "+a"(v) : "Nd"(port));
	else
		__asm__ volatile("inl %w1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void out_width(uint16_t port, unsigned width, uint32_t v)
{
	if (width == 1)
		__asm__ volatile("outb %b0, %w1" : : "a"(v), "Nd"(port));
	else if (width == 2)
		__asm__ volatile("outw %w0, %w1" : : "a"(v), "Nd"(port));
	else
		__asm__ volatile("outl %0, %w1" : : "a"(v), "Nd"(port));
}

static unsigned probe_widths(const struct pio_probe *p)
{
	static const uint32_t ones[] = { 0, 0xff, 0xffff, 0, 0xffffffff };

	for (unsigned w = 1; w <= 4; w *= 2) {
		out_width(p->port, w, 0x12345678);
		uint32_t v = in_width(p->port, w);
		if (v != ones[w]) {
			print("vjtest: pio %s FAIL %u-byte read of port 0x%x: 0x%x\n", p->name, w,
			      p->port, v);
			return 1;
		}
	}
	print("vjtest: pio %s ok\n", p->name);
	return 0;
}

static unsigned probe_string(uint16_t port)
{
	uint8_t buf[STRING_COUNT];
	void *dst = buf;
	const void *src = buf;
	uint64_t n = sizeof(buf);

	memset(buf, 0, sizeof(buf));
	__asm__ volatile("rep insb" : "+D"(dst), "+c"(n) : "d"(port) : "memory");
	for (unsigned i = 0; i < sizeof(buf); i++) {
		if (buf[i] != 0xff) {
			print("vjtest: pio string FAIL rep insb byte %u: 0x%x\n", i, buf[i]);
			return 1;
		}
	}
	n = sizeof(buf);
	__asm__ volatile("rep outsb" : "+S"(src), "+c"(n) : "d"(port) : "memory");
	print("vjtest: pio string ok\n");
	return 0;
}

void scenario_pio(void)
{
	static const struct pio_probe probes[] = {
		{ "unclaimed", 0x1234 },
		{ "com2", 0x2f8 },	  /* no second UART */
		{ "pci-config", 0xcf8 }, /* no PCI */
		{ "top", 0xfffc },
	};
	unsigned failed = 0;

	for (unsigned i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		failed += probe_widths(&probes[i]);
	failed += probe_string(0x1234);
	/* POST codes are swallowed, whatever the width. */
	for (unsigned w = 1; w <= 4; w *= 2)
		out_width(VJ_PORT_POST, w, 0xdeadbeef);
	if (failed)
		print("vjtest: pio FAIL %u checks\n", failed);
	else
		print("vjtest: pio ok\n");
}
