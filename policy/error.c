#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scalar.h"
#include "yaml_tree.h"

int vj_fail_key_at(struct vj_err *err, const char *name, unsigned line, unsigned col,
		   const char *path, const char *fmt, va_list ap)
{
	char what[VJ_ERR_MAX];

	vsnprintf(what, sizeof(what), fmt, ap);
	return vj_fail_at(err, -EINVAL, name, line, col, "%s%s%s", path ? path : "",
			  path && *path ? ": " : "", what);
}

static bool plain_key(const char *key, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void append(char *path, size_t cap, const char *s)
{
	size_t n = strlen(path);

	if (n < cap)
		snprintf(path + n, cap - n, "%s", s);
}

void vj_path_key(char *path, size_t cap, const char *key, size_t len)
{
	char q[96];

	if (*path)
		append(path, cap, ".");
	if (plain_key(key, len) && len < sizeof(q)) {
		memcpy(q, key, len);
		q[len] = '\0';
	} else {
		vj_quote_short(key, len, q, sizeof(q));
	}
	append(path, cap, q);
}

void vj_path_index(char *path, size_t cap, size_t i)
{
	char s[32];

	snprintf(s, sizeof(s), "[%zu]", i);
	append(path, cap, s);
}

void vj_describe(const struct vj_ynode *n, char *buf, size_t len)
{
	char q[96];

	if (n->kind == VJ_YMAP) {
		snprintf(buf, len, "a mapping");
	} else if (n->kind == VJ_YSEQ) {
		snprintf(buf, len, "a sequence");
	} else if (vj_ynode_is_null(n)) {
		snprintf(buf, len, "null");
	} else {
		vj_quote_short(n->str, n->len, q, sizeof(q));
		snprintf(buf, len, "%s%s", n->plain ? "" : "the quoted string ", q);
	}
}

void vj_offset_position(const char *buf, size_t len, size_t offset, unsigned *line,
			unsigned *col)
{
	unsigned l = 1, c = 1;

	for (size_t i = 0; i < offset && i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];
		if (ch == '\n' || (ch == '\r' && (i + 1 >= len || buf[i + 1] != '\n'))) {
			l++;
			c = 1;
		} else if (ch != '\r' && (ch & 0xc0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}
