/* Building the one-line messages of struct vj_policy_error. */
#ifndef VJ_POLICY_ERROR_H
#define VJ_POLICY_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#include "policy_load.h"

struct vj_ynode;

#define VJ_KEY_PATH_MAX 256

/* Fills err with "fmt" and returns rc (a negative errno). */
__attribute__((format(printf, 3, 4)))
int vj_perr(struct vj_policy_error *err, int rc, const char *fmt, ...);

/* "NAME:LINE:COL: PATH: fmt" (", PATH" left out when path is empty);
 * returns -EINVAL. */
__attribute__((format(printf, 6, 7)))
int vj_perr_at(struct vj_policy_error *err, const char *name, unsigned line, unsigned col,
	       const char *path, const char *fmt, ...);

__attribute__((format(printf, 6, 0)))
int vj_vperr_at(struct vj_policy_error *err, const char *name, unsigned line, unsigned col,
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
