/* Polled output on COM1 and a small printf for the report lines. */
#include "guest.h"
#include "uart.h"

void serial_putc(char c)
{
	/* Bounded: a UART that never shows THRE must not hang the guest;
	 * the character is sent anyway and the test sees what arrives. */
	for (unsigned i = 0; i < 100000 && !(inb(UART_LSR) & UART_LSR_THRE); i++)
		cpu_relax();
	outb(UART_THR, (uint8_t)c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
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
		serial_putc(buf[--n]);
}

void vprint(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		bool is_long = fmt[1] == 'l';
		if (is_long)
			fmt++;
		switch (*++fmt) {
		case 's':
			serial_puts(va_arg(ap, const char *));
			break;
		case 'c':
			serial_putc((char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t v = is_long ? va_arg(ap, long) : va_arg(ap, int);
			if (v < 0)
				serial_putc('-');
			put_unsigned(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 10);
			break;
		}
		case 'u':
		case 'x':
			put_unsigned(is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned),
				     *fmt == 'u' ? 10 : 16);
			break;
		case '%':
			serial_putc('%');
			break;
		default:
			/* A format bug in the guest: make it visible in the output. */
			serial_puts("<bad format>");
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
