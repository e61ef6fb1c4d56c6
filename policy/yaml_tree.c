#include "yaml_tree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "cleanup.h"
#include "error.h"
#include "scalar.h"

struct builder {
	struct vj_ydoc *doc;
	struct vj_err *err;
	/* Open collections, outermost first. */
	struct vj_ynode *stack[VJ_POLICY_DEPTH_MAX];
	unsigned depth;
	bool seen_document;
};

bool vj_ynode_is_null(const struct vj_ynode *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (n->kind != VJ_YSCALAR || !n->plain)
		return false;
	for (size_t i = 0; i < VJ_ARRAY_SIZE(nulls); i++) {
		if (!strcmp(n->str, nulls[i]))
			return true;
	}
	return false;
}

/* Key path of the collections that enclose the node being added:
 * every open collection but the innermost leads to its last child. */
static void enclosing_path(const struct builder *b, char *path, size_t cap)
{
	path[0] = '\0';
	for (unsigned i = 0; i + 1 < b->depth; i++) {
		const struct vj_ynode *c = b->stack[i];
		if (c->kind == VJ_YSEQ) {
			vj_path_index(path, cap, c->nkids - 1);
		} else {
			const struct vj_ynode *k = c->kids[c->nkids - 2];
			vj_path_key(path, cap, k->str, k->len);
		}
	}
}

/* Key path of a node about to be added to the innermost collection. */
static void new_node_path(const struct builder *b, char *path, size_t cap)
{
	const struct vj_ynode *top;

	enclosing_path(b, path, cap);
	if (!b->depth)
		return;
	top = b->stack[b->depth - 1];
	if (top->kind == VJ_YSEQ) {
		vj_path_index(path, cap, top->nkids);
	} else if (top->nkids % 2) {
		const struct vj_ynode *k = top->kids[top->nkids - 1];
		vj_path_key(path, cap, k->str, k->len);
	}
}

static unsigned line_of(yaml_mark_t m)
{
	return (unsigned)m.line + 1;
}

static unsigned col_of(yaml_mark_t m)
{
	return (unsigned)m.column + 1;
}

__attribute__((format(printf, 3, 4)))
static int fail_here(struct builder *b, yaml_mark_t m, const char *fmt, ...)
{
	char path[VJ_KEY_PATH_MAX];
	va_list ap;

	new_node_path(b, path, sizeof(path));
	va_start(ap, fmt);
	vj_fail_key_at(b->err, b->doc->name, line_of(m), col_of(m), path, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static struct vj_ynode *node_new(struct builder *b, enum vj_ynode_kind kind, yaml_mark_t m)
{
	struct vj_ynode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->line = line_of(m);
	n->col = col_of(m);
	n->offset = m.index;
	n->next_alloc = b->doc->all;
	b->doc->all = n;
	return n;
}

static int kids_append(struct vj_ynode *parent, struct vj_ynode *kid)
{
	if (parent->nkids == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct vj_ynode **k = reallocarray(parent->kids, cap, sizeof(*k));
		if (!k)
			return -ENOMEM;
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->nkids++] = kid;
	return 0;
}

/* Refuses what the safe subset leaves out, for any node kind. */
static int check_node_props(struct builder *b, yaml_mark_t m, const yaml_char_t *anchor,
			    const yaml_char_t *tag)
{
	char q[96];

	if (anchor) {
		vj_quote_short((const char *)anchor, strlen((const char *)anchor), q, sizeof(q));
		return fail_here(b, m, "anchors are not allowed, found anchor %s", q);
	}
	if (tag) {
		vj_quote_short((const char *)tag, strlen((const char *)tag), q, sizeof(q));
		return fail_here(b, m, "tags are not allowed, found tag %s", q);
	}
	return 0;
}

/* Hangs a new node under the innermost collection (or makes it the root).
 * Mapping keys must be non-empty scalars. */
static int attach(struct builder *b, struct vj_ynode *n, yaml_mark_t m)
{
	struct vj_ynode *top;

	if (!b->depth) {
		b->doc->root = n;
		return 0;
	}
	top = b->stack[b->depth - 1];
	if (top->kind == VJ_YMAP && top->nkids % 2 == 0) {
		if (n->kind != VJ_YSCALAR)
			return fail_here(b, m, "expected a plain key, found %s",
					 n->kind == VJ_YMAP ? "a mapping" : "a sequence");
		if (vj_ynode_is_null(n))
			return fail_here(b, m, "expected a key, found null");
	}
	return kids_append(top, n) < 0 ? vj_fail(b->err, -ENOMEM, "%s: out of memory",
						 b->doc->name) : 0;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
	const size_t len = ev->data.scalar.length;
	const char *value = (const char *)ev->data.scalar.value;
	struct vj_ynode *n;
	int r;

	if ((r = check_node_props(b, ev->start_mark, ev->data.scalar.anchor,
				  ev->data.scalar.tag)) < 0)
		return r;
	/* A "\0" escape would silently cut every C string made from it. */
	if (memchr(value, '\0', len))
		return fail_here(b, ev->start_mark, "NUL characters are not allowed in strings");
	n = node_new(b, VJ_YSCALAR, ev->start_mark);
	if (!n || !(n->str = malloc(len + 1)))
		return vj_fail(b->err, -ENOMEM, "%s: out of memory", b->doc->name);
	memcpy(n->str, value, len);
	n->str[len] = '\0';
	n->len = len;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	return attach(b, n, ev->start_mark);
}

static int on_collection_start(struct builder *b, const yaml_event_t *ev)
{
	const bool map = ev->type == YAML_MAPPING_START_EVENT;
	const yaml_char_t *anchor = map ? ev->data.mapping_start.anchor
					: ev->data.sequence_start.anchor;
	const yaml_char_t *tag = map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
	struct vj_ynode *n;
	int r;

	if ((r = check_node_props(b, ev->start_mark, anchor, tag)) < 0)
		return r;
	if (b->depth == VJ_POLICY_DEPTH_MAX)
		return fail_here(b, ev->start_mark, "nesting deeper than %d levels is not allowed",
				 VJ_POLICY_DEPTH_MAX);
	n = node_new(b, map ? VJ_YMAP : VJ_YSEQ, ev->start_mark);
	if (!n)
		return vj_fail(b->err, -ENOMEM, "%s: out of memory", b->doc->name);
	if ((r = attach(b, n, ev->start_mark)) < 0)
		return r;
	b->stack[b->depth++] = n;
	return 0;
}

static int key_cmp(const void *pa, const void *pb)
{
	const struct vj_ynode *a = *(const struct vj_ynode *const *)pa;
	const struct vj_ynode *b = *(const struct vj_ynode *const *)pb;
	int c;

	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	if ((c = memcmp(a->str, b->str, a->len)))
		return c;
	return a->offset < b->offset ? -1 : a->offset > b->offset;
}

/* Sorting makes the check O(n log n) whatever the file holds; among all
 * repeated keys the one appearing first in the file is reported. */
static int check_duplicate_keys(struct builder *b, const struct vj_ynode *map)
{
	const size_t nkeys = map->nkids / 2;
	cleanup_free const struct vj_ynode **keys = NULL;
	const struct vj_ynode *dup = NULL, *first = NULL;
	char path[VJ_KEY_PATH_MAX];

	if (nkeys < 2)
		return 0;
	if (!(keys = calloc(nkeys, sizeof(*keys))))
		return vj_fail(b->err, -ENOMEM, "%s: out of memory", b->doc->name);
	for (size_t i = 0; i < nkeys; i++)
		keys[i] = map->kids[2 * i];
	qsort(keys, nkeys, sizeof(*keys), key_cmp);
	for (size_t i = 1; i < nkeys; i++) {
		if (keys[i]->len != keys[i - 1]->len ||
		    memcmp(keys[i]->str, keys[i - 1]->str, keys[i]->len))
			continue;
		if (!dup || keys[i]->offset < dup->offset) {
			dup = keys[i];
			first = keys[i - 1];
		}
	}
	if (!dup)
		return 0;
	enclosing_path(b, path, sizeof(path));
	vj_path_key(path, sizeof(path), dup->str, dup->len);
	return vj_fail_at(b->err, -EINVAL, b->doc->name, dup->line, dup->col,
			  "%s: duplicate key (first defined at %u:%u)", path, first->line,
			  first->col);
}

static int on_collection_end(struct builder *b)
{
	const struct vj_ynode *top = b->stack[b->depth - 1];
	int r = 0;

	if (top->kind == VJ_YMAP)
		r = check_duplicate_keys(b, top);
	b->depth--;
	return r;
}

static int on_event(struct builder *b, const yaml_event_t *ev, bool *done)
{
	char q[96];

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->seen_document)
			return vj_fail_at(b->err, -EINVAL, b->doc->name, line_of(ev->start_mark),
					  col_of(ev->start_mark),
					  "expected one YAML document, found a second one");
		b->seen_document = true;
		return 0;
	case YAML_STREAM_END_EVENT:
		*done = true;
		if (!b->seen_document)
			return vj_fail_at(b->err, -EINVAL, b->doc->name, 1, 1,
					  "expected a mapping, found an empty file");
		return 0;
	case YAML_ALIAS_EVENT:
		vj_quote_short((const char *)ev->data.alias.anchor,
			       strlen((const char *)ev->data.alias.anchor), q, sizeof(q));
		return fail_here(b, ev->start_mark, "aliases are not allowed, found alias %s", q);
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return on_collection_start(b, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_collection_end(b);
	default:
		return 0;
	}
}

static int syntax_error(struct builder *b, const yaml_parser_t *p, const char *buf, size_t len)
{
	unsigned line, col;

	if (p->error == YAML_MEMORY_ERROR)
		return vj_fail(b->err, -ENOMEM, "%s: out of memory", b->doc->name);
	if (p->error == YAML_READER_ERROR) {
		vj_offset_position(buf, len, p->problem_offset, &line, &col);
		return vj_fail_at(b->err, -EINVAL, b->doc->name, line, col, "invalid YAML: %s",
				  p->problem ? p->problem : "unreadable input");
	}
	if (p->context)
		return vj_fail_at(b->err, -EINVAL, b->doc->name, line_of(p->problem_mark),
				  col_of(p->problem_mark), "invalid YAML: %s (%s at %u:%u)",
				  p->problem ? p->problem : "syntax error", p->context,
				  line_of(p->context_mark), col_of(p->context_mark));
	return vj_fail_at(b->err, -EINVAL, b->doc->name, line_of(p->problem_mark),
			  col_of(p->problem_mark), "invalid YAML: %s",
			  p->problem ? p->problem : "syntax error");
}

static int check_raw_input(struct builder *b, const char *buf, size_t len)
{
	unsigned line, col;
	size_t bad;

	if (len > VJ_POLICY_FILE_MAX)
		return vj_fail(b->err, -EFBIG, "%s: file is %zu bytes, larger than the %d-byte limit",
			       b->doc->name, len, VJ_POLICY_FILE_MAX);
	if (!vj_utf8_valid(buf, len, &bad)) {
		vj_offset_position(buf, len, bad, &line, &col);
		return vj_fail_at(b->err, -EINVAL, b->doc->name, line, col,
				  "expected UTF-8 text, found the byte 0x%02x",
				  (unsigned char)buf[bad]);
	}
	return 0;
}

/* Runs to the end of the stream: a second document is refused at its
 * start, so nothing after the first one is ever built. */
static int parse_events(struct builder *b, yaml_parser_t *p, const char *buf, size_t len)
{
	bool done = false;

	while (!done) {
		yaml_event_t ev;
		int r;
		if (!yaml_parser_parse(p, &ev))
			return syntax_error(b, p, buf, len);
		r = on_event(b, &ev, &done);
		yaml_event_delete(&ev);
		if (r < 0)
			return r;
	}
	return 0;
}

int vj_ydoc_parse(struct vj_ydoc *doc, const char *name, const char *buf, size_t len,
		  struct vj_err *err)
{
	struct builder b = { .doc = doc, .err = err };
	yaml_parser_t parser;
	int r;

	memset(doc, 0, sizeof(*doc));
	doc->name = name;
	if ((r = check_raw_input(&b, buf, len)) < 0)
		return r;
	if (!yaml_parser_initialize(&parser))
		return vj_fail(err, -ENOMEM, "%s: out of memory", name);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	r = parse_events(&b, &parser, buf, len);
	yaml_parser_delete(&parser);
	if (r < 0)
		vj_ydoc_free(doc);
	return r;
}

void vj_ydoc_free(struct vj_ydoc *doc)
{
	struct vj_ynode *n = doc->all;

	while (n) {
		struct vj_ynode *next = n->next_alloc;
		free(n->str);
		free(n->kids);
		free(n);
		n = next;
	}
	doc->all = NULL;
	doc->root = NULL;
}

int vj_read_small_file(const char *path, char **bufp, size_t *lenp, struct vj_err *err)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	cleanup_free char *buf = NULL;
	size_t len = 0;
	struct stat st;

	if (fd < 0)
		return vj_fail_errno(err, -errno, "%s", path);
	if (fstat(fd, &st) < 0)
		return vj_fail_errno(err, -errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return vj_fail(err, -EINVAL, "%s: not a regular file", path);
	if (st.st_size > VJ_POLICY_FILE_MAX)
		return vj_fail(err, -EFBIG, "%s: file is %lld bytes, larger than the %d-byte limit",
			       path, (long long)st.st_size, VJ_POLICY_FILE_MAX);
	/* One byte more than the cap, to notice a file that grew meanwhile. */
	if (!(buf = malloc(VJ_POLICY_FILE_MAX + 2)))
		return vj_fail(err, -ENOMEM, "%s: out of memory", path);
	while (len <= VJ_POLICY_FILE_MAX) {
		ssize_t n = read(fd, buf + len, VJ_POLICY_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vj_fail_errno(err, -errno, "%s", path);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > VJ_POLICY_FILE_MAX)
		return vj_fail(err, -EFBIG, "%s: file is larger than the %d-byte limit", path,
			       VJ_POLICY_FILE_MAX);
	buf[len] = '\0';
	*bufp = steal_ptr(&buf);
	*lenp = len;
	return 0;
}
