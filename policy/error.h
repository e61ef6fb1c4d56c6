/* Building the one-line messages of struct vj_err. */
#ifndef VJ_POLICY_ERROR_H
#define VJ_POLICY_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#include "policy_load.h"

struct vj_ynode;

#define VJ_KEY_PATH_MAX 256

/* "NAME:LINE:COL: PATH: fmt" (", PATH" left out when path is empty), the
 * policy's way of writing a struct vj_err; returns -EINVAL. */
__attribute__((format(printf, 6, 0)))
int vj_fail_key_at(struct vj_err *err, const char *name, unsigned line, unsigned col,
		   const char *path, const char *fmt, va_list ap);

/* Key paths as users write them: vm.drives[1].path. Keys that are not
 * plain identifiers are quoted. Both truncate rather than overflow. */
void vj_path_key(char *path, size_t cap, const char *key, size_t len);
void vj_path_index(char *path, size_t cap, size_t i);

/* What a node is, for "found ...": a mapping, a sequence, null, or the
 * scalar's text quoted (and marked as quoted when it was written so). */
void vj_describe(const struct vj_ynode *n, char *buf, size_t len);

/* Line and column (1-based, columns in characters) of a byte offset. */
void vj_offset_position(const char *buf, size_t len, size_t offset, unsigned *line,
			unsigned *col);

#endif
