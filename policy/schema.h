/*
 * Schema machinery shared by the policy and the host file: walking a
 * YAML tree with tables of known keys, typed values with bounds, and
 * errors that carry the file, line, column and key path.
 */
#ifndef VJ_POLICY_SCHEMA_H
#define VJ_POLICY_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "yaml_tree.h"

struct vj_walk {
	const char *name; /* file name, for messages */
	struct vj_err *err;
	char path[VJ_KEY_PATH_MAX];
	const struct vj_host_config *host;
};

typedef int (*vj_key_fn)(struct vj_walk *w, const struct vj_ynode *value, void *obj);

struct vj_key {
	const char *name;
	vj_key_fn fn;
	bool required;
};

#define VJ_SCHEMA_KEYS_MAX 64 /* per mapping table */

/* Calls each present key's handler in file order, with w->path extended
 * by the key. Unknown keys and missing required keys are errors. */
int vj_walk_map(struct vj_walk *w, const struct vj_ynode *n, const struct vj_key *keys,
		size_t nkeys, void *obj);

typedef int (*vj_item_fn)(struct vj_walk *w, const struct vj_ynode *item, size_t index,
			  void *obj);

/* Calls fn for each item with w->path extended by [index]; more than max
 * items is an error. */
int vj_walk_seq(struct vj_walk *w, const struct vj_ynode *n, size_t max, vj_item_fn fn,
		void *obj);

/* "NAME:LINE:COL: PATH: ..." at node n; returns -EINVAL. */
__attribute__((format(printf, 3, 4)))
int vj_walk_fail(struct vj_walk *w, const struct vj_ynode *n, const char *fmt, ...);

/* Puts "NAME:LINE:COL: PATH" of node n in front of the message a check
 * left in w->err; returns its code. */
int vj_walk_wrap(struct vj_walk *w, const struct vj_ynode *n);

/* "... expected WHAT, found <n described>". */
int vj_walk_expected(struct vj_walk *w, const struct vj_ynode *n, const char *what);

/* Words that stand for VJ_UNLIMITED ("not set"): no limit at all, or
 * the launcher's own default. */
#define VJ_UNLIMITED_WORD "unlimited"
#define VJ_DEFAULT_WORD "default"

/* Numeric kinds and their syntax (see scalar.h). */
enum vj_unit { VJ_UNIT_INTEGER, VJ_UNIT_SIZE, VJ_UNIT_DURATION, VJ_UNIT_DECIMAL };

/* An accepted range of numbers. host_max: max is the operator's, which
 * messages mention. capped: an operator maximum applies, so a word for
 * "no limit" is refused too (a schema maximum binds only numbers). */
struct vj_bound {
	uint64_t min, max;
	bool host_max;
	bool capped;
};

static inline struct vj_bound vj_range(uint64_t min, uint64_t max)
{
	return (struct vj_bound){ .min = min, .max = max, .host_max = false, .capped = false };
}

/* [min, min(schema_max, host_max)], remembering which bound won; host_max
 * VJ_UNLIMITED means the operator set none. */
struct vj_bound vj_bound_host(uint64_t min, uint64_t schema_max, uint64_t host_max);

/*
 * Parses text (a plain scalar or a command-line word) as unit u within b.
 * word (VJ_UNLIMITED_WORD, VJ_DEFAULT_WORD or NULL for none) stands for
 * VJ_UNLIMITED, which is then subject to b like any value. On failure
 * leaves "expected ..., found FOUND" in err and returns -EINVAL.
 */
int vj_value_parse(enum vj_unit u, const char *text, const char *found, struct vj_bound b,
		   const char *word, uint64_t *out, struct vj_err *err);

/* The canonical text of v in unit u; word for VJ_UNLIMITED. */
void vj_value_format(enum vj_unit u, uint64_t v, const char *word, char *buf, size_t len);

int vj_walk_number(struct vj_walk *w, const struct vj_ynode *n, enum vj_unit u,
		   struct vj_bound b, const char *word, uint64_t *out);
/* The text of a plain, non-null scalar (what numbers of unit u are
 * written as), and its description for "found ...". */
int vj_walk_plain(struct vj_walk *w, const struct vj_ynode *n, enum vj_unit u,
		  const char *word, const char **text, char *found, size_t foundlen);

int vj_walk_bool(struct vj_walk *w, const struct vj_ynode *n, bool *out);

/* Any non-null scalar of at most maxlen bytes. */
int vj_walk_string(struct vj_walk *w, const struct vj_ynode *n, size_t maxlen, const char **out);

/* A string copied into dst[cap]; it must also be free of control
 * characters (paths, names, command lines never need them). */
int vj_walk_text(struct vj_walk *w, const struct vj_ynode *n, char *dst, size_t cap);

/* A name that valid() accepts, copied into dst[cap]; anything else,
 * including an overlong string, is "expected WHAT". */
int vj_walk_name(struct vj_walk *w, const struct vj_ynode *n, bool (*valid)(const char *),
		 const char *what, char *dst, size_t cap);

/* One of names[]; *out is its index. */
int vj_walk_enum(struct vj_walk *w, const struct vj_ynode *n, const char *const *names,
		 size_t count, unsigned *out);

/* The schema version: VJ_POLICY_VERSION. */
int vj_walk_version(struct vj_walk *w, const struct vj_ynode *n);

/* The value node of key in mapping n, or NULL. */
const struct vj_ynode *vj_map_get(const struct vj_ynode *n, const char *key);

#endif
