/*
 * Launcher errors: every failing step returns a negative errno and leaves
 * one line in a struct vj_err naming what failed, on which input, and why,
 * e.g. `open drive "root" (/srv/img/root.ext4): Permission denied`. Only
 * main() prints it.
 */
#ifndef VJ_JAILER_ERROR_H
#define VJ_JAILER_ERROR_H

struct vj_err {
	char msg[1024];
};

/* Formats e->msg and returns r, for `return vj_fail(e, -EINVAL, ...)`. */
int vj_fail(struct vj_err *e, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Same, with ": <strerror(-r)>" appended. r must be a negative errno. */
int vj_fail_errno(struct vj_err *e, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
