/* Diagnostics: one line per message, prefixed with the program name. */
#ifndef VJ_LOG_H
#define VJ_LOG_H

#include <stdarg.h>

enum vj_log_level { VJ_LOG_ERROR, VJ_LOG_WARN, VJ_LOG_INFO, VJ_LOG_DEBUG };

void vj_log_init(const char *prog, enum vj_log_level level);
void vj_log_set_level(enum vj_log_level level);
enum vj_log_level vj_log_get_level(void);
void vj_log(enum vj_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define vj_error(...) vj_log(VJ_LOG_ERROR, __VA_ARGS__)
#define vj_warn(...) vj_log(VJ_LOG_WARN, __VA_ARGS__)
#define vj_info(...) vj_log(VJ_LOG_INFO, __VA_ARGS__)
#define vj_debug(...) vj_log(VJ_LOG_DEBUG, __VA_ARGS__)

#endif
