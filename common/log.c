#include "log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_prog = "vmjail";
static enum vj_log_level log_level = VJ_LOG_WARN;

void vj_log_init(const char *prog, enum vj_log_level level)
{
	log_prog = prog;
	log_level = level;
}

void vj_log_set_level(enum vj_log_level level)
{
	log_level = level;
}

enum vj_log_level vj_log_get_level(void)
{
	return log_level;
}

/* Formats into one buffer and issues one write(2), so that lines from
 * concurrent threads never interleave and no stdio lock is needed in a
 * seccomp-confined process. */
void vj_log(enum vj_log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	n = snprintf(buf, sizeof(buf), "%s: ", log_prog);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, buf, (size_t)n);
}
