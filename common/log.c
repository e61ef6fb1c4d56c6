#include "log.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "vmjail";
static enum vj_log_level log_level = VJ_LOG_WARN;
static const char *log_path;
static bool log_json;
static bool log_syslog;

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

void vj_log_set_file(const char *path, bool json)
{
	log_path = path;
	log_json = json;
}

void vj_log_set_syslog(bool on)
{
	if (on && !log_syslog)
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = on;
}

static const char *const level_names[] = { "error", "warning", "info", "debug" };

/* msg as a JSON string's contents: control bytes escaped, the rest as is
 * (vj_log's callers write UTF-8 or ASCII). */
static size_t json_escape(const char *msg, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 7 < cap; i++) {
		unsigned char c = (unsigned char)msg[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	return o;
}

static void log_to_file(enum vj_log_level level, const char *msg, size_t n)
{
	char line[2 * 1024 + 128], stamp[40];
	struct timespec ts;
	struct tm tm;
	size_t o;
	int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	o = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + o, sizeof(stamp) - o, ".%09ldZ", ts.tv_nsec);
	if (log_json) {
		o = (size_t)snprintf(line, sizeof(line), "{\"level\":\"%s\",\"msg\":\"",
				     level_names[level]);
		o += json_escape(msg, n, line + o, sizeof(line) - o - 64);
		o += (size_t)snprintf(line + o, sizeof(line) - o, "\",\"time\":\"%s\"}\n", stamp);
	} else {
		o = (size_t)snprintf(line, sizeof(line), "time=\"%s\" level=%s msg=\"%.*s\"\n",
				     stamp, level_names[level], (int)n, msg);
		if (o >= sizeof(line))
			o = sizeof(line) - 1;
	}
	(void)!write(fd, line, o);
	close(fd);
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
	if (log_path)
		log_to_file(level, buf + strlen(log_prog) + 2, (size_t)n - strlen(log_prog) - 2);
	if (log_syslog) {
		static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
		syslog(prio[level], "%.*s", n - (int)strlen(log_prog) - 2,
		       buf + strlen(log_prog) + 2);
	}
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, buf, (size_t)n);
}
