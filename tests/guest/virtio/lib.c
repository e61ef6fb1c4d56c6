/* Console output, command line, time-outs and the libc bits gcc may call. */
#include "vguest.h"
#include "vmm/layout.h"

#define UART_THR VJ_PORT_COM1
#define UART_LSR (VJ_PORT_COM1 + 5)
#define UART_LSR_THRE 0x20
/* Generous: the TSC runs at 1-4 GHz on these hosts. */
#define CYCLES_PER_SECOND 4000000000ull

const char *cmdline = "";
const char *scenario = "boot";

static void putc_serial(char c)
{
	for (unsigned i = 0; i < 1000 && !(inb(UART_LSR) & UART_LSR_THRE); i++)
		cpu_relax();
	outb(UART_THR, (uint8_t)c);
}

static void put_unsigned(uint64_t v, unsigned base)
{
	char buf[24];
	unsigned n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		putc_serial(buf[--n]);
}

static void vprint(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			putc_serial(*fmt);
			continue;
		}
		bool is_long = fmt[1] == 'l';
		if (is_long)
			fmt++;
		switch (*++fmt) {
		case 's':
			for (const char *s = va_arg(ap, const char *); *s; s++)
				putc_serial(*s);
			break;
		case 'd': {
			int64_t v = is_long ? va_arg(ap, long) : va_arg(ap, int);
			if (v < 0)
				putc_serial('-');
			put_unsigned(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 10);
			break;
		}
		case 'u':
		case 'x':
			put_unsigned(is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned),
				     *fmt == 'u' ? 10 : 16);
			break;
		case '%':
			putc_serial('%');
			break;
		default:
			for (const char *s = "<bad format>"; *s; s++)
				putc_serial(*s);
			return;
		}
	}
}

void print(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
}

_Noreturn void machine_reset(void)
{
	outb(VJ_PORT_I8042_CMD, 0xfe); /* pulse the reset line: the VMM exits 0 */
	for (;;)
		cpu_relax();
}

_Noreturn void pass(const char *fmt, ...)
{
	va_list ap;

	print("vjtest: %s ok ", scenario);
	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
	print("\n");
	machine_reset();
}

_Noreturn void fail(const char *fmt, ...)
{
	va_list ap;

	print("vjtest: %s FAIL ", scenario);
	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
	print("\n");
	machine_reset();
}

static const char *cmdline_find(const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = cmdline; *p; p++)
		if ((p == cmdline || p[-1] == ' ') && !memcmp(p, key, klen) && p[klen] == '=')
			return p + klen + 1;
	return 0;
}

uint64_t cmdline_u64(const char *key, uint64_t def)
{
	const char *v = cmdline_find(key);
	uint64_t n = 0;
	unsigned base = 10;

	if (!v)
		return def;
	if (v[0] == '0' && v[1] == 'x') {
		base = 16;
		v += 2;
	}
	for (;; v++) {
		unsigned d;
		if (*v >= '0' && *v <= '9')
			d = (unsigned)(*v - '0');
		else if (base == 16 && *v >= 'a' && *v <= 'f')
			d = (unsigned)(*v - 'a' + 10);
		else
			break;
		n = n * base + d;
	}
	return n;
}

bool cmdline_word(const char *key, char *buf, size_t size)
{
	const char *v = cmdline_find(key);
	size_t n = 0;

	if (!v)
		return false;
	while (v[n] && v[n] != ' ' && n + 1 < size) {
		buf[n] = v[n];
		n++;
	}
	buf[n] = 0;
	return true;
}

uint64_t deadline_after(unsigned seconds)
{
	return rdtsc() + seconds * CYCLES_PER_SECOND;
}

bool past(uint64_t deadline)
{
	return rdtsc() > deadline;
}

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;

	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}
