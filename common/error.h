/*
 * vmjail's one error type, for every component: a failing step returns a
 * negative errno and leaves one line in a struct vj_err naming what
 * failed, on which input, and why, e.g.
 *   open drive "root" (/srv/img/root.ext4): Permission denied
 * Callers add what they were doing in front (vj_wrap), and only main()
 * prints it. A file's position is a way of writing the same line:
 *   policy.yaml:12:7: vm.memory: expected at most 2Gi, found 4Gi
 */
#ifndef VJ_ERROR_H
#define VJ_ERROR_H

#define VJ_ERR_MAX 1024

struct vj_err {
	int code; /* the negative errno the failing function returned */
	char msg[VJ_ERR_MAX];
};

/* Sets the message and returns code, for `return vj_fail(e, -EINVAL, ...)`.
 * The errno is an argument: it is never read back from `errno`, which the
 * formatting itself may change. */
int vj_fail(struct vj_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The same, with ": <strerror(-code)>" appended. */
int vj_fail_errno(struct vj_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The same, the message prefixed with "FILE:LINE:COL: " (LINE and COL
 * counted from 1; COL 0 leaves it out): how a mistake in a file the user
 * wrote is reported. */
int vj_fail_at(struct vj_err *e, int code, const char *file, unsigned line, unsigned col,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Puts context in front of the message already there ("CONTEXT: old") and
 * returns e->code: `return vj_wrap(e, "sandbox %s", id)`. */
int vj_wrap(struct vj_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
