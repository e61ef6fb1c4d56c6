#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int set(struct vj_err *e, int code, const char *prefix, const char *fmt, va_list ap)
{
	size_t n;

	e->code = code;
	n = (size_t)snprintf(e->msg, sizeof(e->msg), "%s", prefix);
	if (n < sizeof(e->msg))
		vsnprintf(e->msg + n, sizeof(e->msg) - n, fmt, ap);
	return code;
}

int vj_fail(struct vj_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set(e, code, "", fmt, ap);
	va_end(ap);
	return code;
}

int vj_fail_errno(struct vj_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	set(e, code, "", fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(-code));
	return code;
}

int vj_fail_at(struct vj_err *e, int code, const char *file, unsigned line, unsigned col,
	       const char *fmt, ...)
{
	char where[VJ_ERR_MAX];
	va_list ap;

	if (col)
		snprintf(where, sizeof(where), "%s:%u:%u: ", file, line, col);
	else
		snprintf(where, sizeof(where), "%s:%u: ", file, line);
	va_start(ap, fmt);
	set(e, code, where, fmt, ap);
	va_end(ap);
	return code;
}

int vj_wrap(struct vj_err *e, const char *fmt, ...)
{
	char old[VJ_ERR_MAX];
	size_t n, rest;
	va_list ap;

	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	n = (size_t)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	/* Cut by hand: the old message is as long as the buffer at most. */
	if (n + 2 < sizeof(e->msg)) {
		memcpy(e->msg + n, ": ", 2);
		rest = sizeof(e->msg) - n - 2;
		n = strnlen(old, rest - 1);
		memcpy(e->msg + sizeof(e->msg) - rest, old, n);
		e->msg[sizeof(e->msg) - rest + n] = '\0';
	}
	return e->code;
}
