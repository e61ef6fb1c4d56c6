/*
 * A small, strict JSON (RFC 8259) reader and writer for vmjail's own
 * protocols and machine output. Input is hostile: the reader bounds the
 * nesting depth and the number of values, decodes every string into valid
 * UTF-8 without NUL bytes (a protocol never needs one, and C strings could
 * not carry it), rejects duplicate object keys, and never allocates more
 * than a fixed multiple of the input's size.
 */
#ifndef VJ_JSON_H
#define VJ_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define VJ_JSON_DEPTH_MAX 32

enum vj_json_type {
	VJ_JSON_NULL,
	VJ_JSON_FALSE,
	VJ_JSON_TRUE,
	VJ_JSON_NUMBER,
	VJ_JSON_STRING,
	VJ_JSON_ARRAY,
	VJ_JSON_OBJECT,
};

/*
 * One value. Arrays and objects hold their children as a chain: `child`
 * is the first, each child's `next` the one after it. An object's
 * children carry their member name in `key`. Numbers keep their text
 * (as written, validated); strings their decoded text. Both are
 * NUL-terminated, with `len` bytes before the terminator.
 */
struct vj_json {
	enum vj_json_type type;
	const char *key;
	const char *text;
	size_t len;
	struct vj_json *child, *next;
	size_t count; /* children of an array or object */
};

struct vj_json_doc {
	struct vj_json *root;
	struct vj_json *nodes; /* one allocation for the values... */
	char *text;            /* ...and one for the decoded strings */
};

/*
 * Parses the whole of buf[0..len) as one JSON value, at most max_values
 * values in all. Returns 0, or -EINVAL with a reason and the byte offset
 * in err ("offset 12: expected ':' after an object key"), or -ENOMEM.
 * vj_json_free() releases what a successful parse returned.
 */
int vj_json_parse(const char *buf, size_t len, size_t max_values, struct vj_json_doc *doc,
		  struct vj_err *err);
void vj_json_free(struct vj_json_doc *doc);

/* The member named key of an object, or NULL (also when v is not one). */
const struct vj_json *vj_json_get(const struct vj_json *v, const char *key);

/* Typed reads: 0, or -EINVAL when v is absent or of another type, or
 * (numbers) not an integer within the range. */
int vj_json_string(const struct vj_json *v, const char **s);
int vj_json_u64(const struct vj_json *v, uint64_t max, uint64_t *out);
int vj_json_i64(const struct vj_json *v, int64_t *out);
int vj_json_bool(const struct vj_json *v, bool *out);

/*
 * Writing: a buffer that grows up to a cap. Once a write would pass the
 * cap, or memory runs out, the writer is marked failed and ignores
 * further writes; vj_jw_finish() then returns -E2BIG or -ENOMEM. The
 * caller places separators itself through the helpers below, which add
 * "," between members and elements.
 */
struct vj_jw {
	char *buf;
	size_t len, cap, max;
	int error;
	unsigned depth;
	bool need_comma[VJ_JSON_DEPTH_MAX + 1];
};

void vj_jw_init(struct vj_jw *w, size_t max);
void vj_jw_free(struct vj_jw *w);
void vj_jw_object_begin(struct vj_jw *w);
void vj_jw_object_end(struct vj_jw *w);
void vj_jw_array_begin(struct vj_jw *w);
void vj_jw_array_end(struct vj_jw *w);
/* Starts an object member: the key and its colon; a value must follow. */
void vj_jw_key(struct vj_jw *w, const char *key);
void vj_jw_string(struct vj_jw *w, const char *s);
void vj_jw_string_n(struct vj_jw *w, const char *s, size_t n);
void vj_jw_u64(struct vj_jw *w, uint64_t v);
void vj_jw_i64(struct vj_jw *w, int64_t v);
void vj_jw_double(struct vj_jw *w, double v);
void vj_jw_bool(struct vj_jw *w, bool v);
void vj_jw_null(struct vj_jw *w);
/* Appends raw bytes: text that is already JSON. */
void vj_jw_raw(struct vj_jw *w, const char *s, size_t n);
/* A value that is already JSON text (one the caller made or checked),
 * separated like any other. */
void vj_jw_json(struct vj_jw *w, const char *json, size_t n);
/* A value read by vj_json_parse(), written back (compact). */
void vj_jw_tree(struct vj_jw *w, const struct vj_json *v);
/* 0 and the NUL-terminated text in w->buf (len bytes), or the error. */
int vj_jw_finish(struct vj_jw *w);

#endif
