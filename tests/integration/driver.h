/*
 * What the VMM test drivers (vmm-ctl, vmm-migrate) share: their findings
 * ("ok NAME" / "FAIL NAME: why", for the .sh that runs them), a console
 * read line by line, and the test guest's `count` lines, which must go one
 * by one.
 */
#ifndef VJ_TEST_DRIVER_H
#define VJ_TEST_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

/* Set by any failed finding: the driver's exit status. */
extern int driver_failed;
/* The highest "vjtest: count N" seen by driver_count_line(). */
extern unsigned driver_last_count;

/* Prints "ok NAME", or "FAIL NAME: detail" and sets driver_failed. */
__attribute__((format(printf, 3, 4))) void finding(bool ok, const char *name,
						    const char *fmt, ...);

long long now_ms(void);

/* A console's output, taken a line at a time. */
struct driver_lines {
	int fd;
	size_t len;  /* bytes in buf, NUL-terminated */
	size_t used; /* of them, the line handed out last */
	char buf[1 << 16];
};

void lines_init(struct driver_lines *l, int fd);
/* Waits up to ms for the first bytes, then takes what else is there
 * already: the bytes read, 0 if none came in time, -1 at the end. */
int lines_fill(struct driver_lines *l, int ms);
/* The next whole line, its newline cut off, valid until the next call;
 * NULL when only an unfinished one (or nothing) is left. */
char *lines_next(struct driver_lines *l);

/* For a "vjtest: count N" line: a failed finding unless N follows the last
 * count (who names the VMM in it, or NULL); 1 for a count line, 0 for
 * another. */
int driver_count_line(const char *line, const char *who);

#endif
