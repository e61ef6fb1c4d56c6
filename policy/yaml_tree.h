/*
 * The safe subset of YAML that policy and host files are written in,
 * read into a small tree that remembers where every node came from.
 *
 * Refused while reading, before any schema is applied: files over
 * VJ_POLICY_FILE_MAX, invalid UTF-8, empty files, more than one document,
 * anchors and aliases (which also rules out expansion bombs), explicit
 * tags, non-scalar or empty mapping keys, duplicate keys, NUL characters
 * in strings, nesting deeper than VJ_POLICY_DEPTH_MAX, and anything
 * libyaml rejects.
 */
#ifndef VJ_POLICY_YAML_TREE_H
#define VJ_POLICY_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy_load.h"

enum vj_ynode_kind { VJ_YSCALAR, VJ_YSEQ, VJ_YMAP };

struct vj_ynode {
	enum vj_ynode_kind kind;
	unsigned line, col; /* 1-based, columns in characters */
	size_t offset;      /* byte offset: document order */
	/* Scalars: value (NUL-terminated, no NUL inside) and whether it was
	 * written plain; only plain scalars can be numbers, booleans, null. */
	char *str;
	size_t len;
	bool plain;
	/* Sequences: items. Mappings: key, value, key, value, ... */
	struct vj_ynode **kids;
	size_t nkids, cap;
	struct vj_ynode *next_alloc;
};

struct vj_ydoc {
	const char *name;
	struct vj_ynode *root;
	struct vj_ynode *all; /* every node, for freeing */
};

int vj_ydoc_parse(struct vj_ydoc *doc, const char *name, const char *buf, size_t len,
		  struct vj_err *err);
void vj_ydoc_free(struct vj_ydoc *doc);

/* A plain "", "~" or "null": YAML's null, never a string here. */
bool vj_ynode_is_null(const struct vj_ynode *n);

/* Reads a whole regular file of at most VJ_POLICY_FILE_MAX bytes. */
int vj_read_small_file(const char *path, char **buf, size_t *len, struct vj_err *err);

#endif
