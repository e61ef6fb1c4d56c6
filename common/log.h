/* Diagnostics: one line per message, prefixed with the program name. */
#ifndef VJ_LOG_H
#define VJ_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum vj_log_level { VJ_LOG_ERROR, VJ_LOG_WARN, VJ_LOG_INFO, VJ_LOG_DEBUG };

void vj_log_init(const char *prog, enum vj_log_level level);
void vj_log_set_level(enum vj_log_level level);
enum vj_log_level vj_log_get_level(void);
/*
 * Also append every message to path (NULL: no longer), as runc's --log
 * does: with json, one {"level","msg","time"} object per line, which is
 * what containerd's shim reads back on a failure. The file is opened for
 * each message, so it survives forks and fd clean-ups in between.
 */
void vj_log_set_file(const char *path, bool json);
/* Every message logged also goes to the host's log (syslog, facility
 * daemon): for a process whose stderr reaches no one. */
void vj_log_set_syslog(bool on);

void vj_log(enum vj_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define vj_error(...) vj_log(VJ_LOG_ERROR, __VA_ARGS__)
#define vj_warn(...) vj_log(VJ_LOG_WARN, __VA_ARGS__)
#define vj_info(...) vj_log(VJ_LOG_INFO, __VA_ARGS__)
#define vj_debug(...) vj_log(VJ_LOG_DEBUG, __VA_ARGS__)

#endif
