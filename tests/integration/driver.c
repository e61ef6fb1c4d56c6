/* What the VMM test drivers share (driver.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"

int driver_failed;
unsigned driver_last_count;

void finding(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s", ok ? "ok" : "FAIL", name);
	if (!ok) {
		printf(": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	putchar('\n');
	fflush(stdout);
	driver_failed |= !ok;
}

long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

void lines_init(struct driver_lines *l, int fd)
{
	l->fd = fd;
	l->len = l->used = 0;
	l->buf[0] = '\0';
}

/* Drops the line handed out last. */
static void lines_consume(struct driver_lines *l)
{
	l->len -= l->used;
	memmove(l->buf, l->buf + l->used, l->len + 1);
	l->used = 0;
}

int lines_fill(struct driver_lines *l, int ms)
{
	struct pollfd p = { .fd = l->fd, .events = POLLIN };
	int got = 0;

	lines_consume(l);
	while (l->len < sizeof(l->buf) - 1 && poll(&p, 1, ms) == 1) {
		ssize_t n = read(l->fd, l->buf + l->len, sizeof(l->buf) - 1 - l->len);
		if (n <= 0)
			return got ? got : -1;
		l->len += (size_t)n;
		l->buf[l->len] = '\0';
		got += (int)n;
		ms = 0; /* only what is there already, once something came */
	}
	return got;
}

char *lines_next(struct driver_lines *l)
{
	char *nl;

	lines_consume(l);
	nl = memchr(l->buf, '\n', l->len);
	if (!nl)
		return NULL;
	*nl = '\0';
	l->used = (size_t)(nl + 1 - l->buf);
	return l->buf;
}

int driver_count_line(const char *line, const char *who)
{
	unsigned c;

	if (sscanf(line, "vjtest: count %u", &c) != 1)
		return 0;
	if (c != driver_last_count + 1)
		finding(false, "the guest counts one by one", "%s%s%u after %u", who ? who : "",
			who ? ": " : "", c, driver_last_count);
	driver_last_count = c;
	return 1;
}
