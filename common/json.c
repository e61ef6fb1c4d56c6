#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reader {
	const char *p, *end, *start;
	struct vj_json *nodes;
	size_t nnodes, max_nodes;
	char *out; /* where the next decoded string goes */
	struct vj_err *err;
};

__attribute__((format(printf, 2, 3)))
static int bad(struct reader *r, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vj_fail(r->err, -EINVAL, "offset %zu: %s", (size_t)(r->p - r->start), msg);
}

static void skip_space(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static struct vj_json *new_node(struct reader *r, enum vj_json_type t)
{
	struct vj_json *n;

	if (r->nnodes == r->max_nodes)
		return NULL;
	n = &r->nodes[r->nnodes++];
	*n = (struct vj_json){ .type = t };
	return n;
}

static bool literal(struct reader *r, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
		return false;
	r->p += n;
	return true;
}

static size_t digits(struct reader *r)
{
	const char *s = r->p;

	while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
		r->p++;
	return (size_t)(r->p - s);
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int number(struct reader *r, struct vj_json *n)
{
	const char *s = r->p;

	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p < r->end && *r->p == '0')
		r->p++;
	else if (!digits(r))
		return bad(r, "malformed number");
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (!digits(r))
			return bad(r, "malformed number: no digit after '.'");
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (!digits(r))
			return bad(r, "malformed number: no digit in the exponent");
	}
	n->len = (size_t)(r->p - s);
	memcpy(r->out, s, n->len);
	r->out[n->len] = '\0';
	n->text = r->out;
	r->out += n->len + 1;
	return 0;
}

static int hex4(struct reader *r, unsigned *v)
{
	*v = 0;
	if (r->end - r->p < 4)
		return bad(r, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = *r->p++;
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
		if (d == 16)
			return bad(r, "malformed \\u escape");
		*v = *v << 4 | d;
	}
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A \u escape, with its low surrogate when it is a high one. A \uXXXX
 * is 6 bytes of input for at most 3 of output, a pair 12 for 4: the
 * decoded string never outgrows its source. */
static int unicode_escape(struct reader *r, char **o)
{
	unsigned cp, lo;
	int e;

	if ((e = hex4(r, &cp)) < 0)
		return e;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return bad(r, "lone low surrogate in a \\u escape");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
			return bad(r, "high surrogate without its low half");
		r->p += 2;
		if ((e = hex4(r, &lo)) < 0)
			return e;
		if (lo < 0xdc00 || lo > 0xdfff)
			return bad(r, "high surrogate without its low half");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (cp == 0)
		return bad(r, "NUL character in a string");
	*o += put_utf8(*o, cp);
	return 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0], need, cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, cp = c & 0x07;
	else
		return 0;
	if ((size_t)(end - p) <= need)
		return 0;
	for (unsigned i = 1; i <= need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

static int string(struct reader *r, const char **text, size_t *len)
{
	static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
	char *o = r->out;
	int e;

	r->p++; /* the opening quote */
	for (;;) {
		if (r->p >= r->end)
			return bad(r, "unterminated string");
		unsigned char c = (unsigned char)*r->p;
		if (c == '"')
			break;
		if (c < 0x20)
			return bad(r, "control character 0x%02x in a string", c);
		if (c == '\\') {
			const char *k;
			if (++r->p >= r->end)
				return bad(r, "unterminated string");
			if (*r->p == 'u') {
				r->p++;
				if ((e = unicode_escape(r, &o)) < 0)
					return e;
				continue;
			}
			if (!*r->p || !(k = strchr(esc_in, *r->p)))
				return bad(r, "unknown escape \\%c", *r->p);
			*o++ = esc_out[k - esc_in];
			r->p++;
			continue;
		}
		size_t n = utf8_len((const unsigned char *)r->p, (const unsigned char *)r->end);
		if (!n)
			return bad(r, "invalid UTF-8 in a string");
		memcpy(o, r->p, n);
		o += n;
		r->p += n;
	}
	r->p++;
	*o = '\0';
	*text = r->out;
	*len = (size_t)(o - r->out);
	r->out = o + 1;
	return 0;
}

static int value(struct reader *r, struct vj_json **out, unsigned depth);

static bool key_seen(const struct vj_json *obj, const char *key, size_t len)
{
	for (const struct vj_json *c = obj->child; c; c = c->next)
		if (strlen(c->key) == len && !memcmp(c->key, key, len))
			return true;
	return false;
}

/* The members or elements of a container, after its opening bracket. */
static int container(struct reader *r, struct vj_json *n, unsigned depth)
{
	const bool obj = n->type == VJ_JSON_OBJECT;
	const char close = obj ? '}' : ']';
	struct vj_json **tail = &n->child, *c;
	const char *key = NULL;
	size_t keylen = 0;
	int e;

	r->p++;
	skip_space(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return 0;
	}
	for (;;) {
		skip_space(r);
		if (obj) {
			if (r->p >= r->end || *r->p != '"')
				return bad(r, "expected a string key in an object");
			if ((e = string(r, &key, &keylen)) < 0)
				return e;
			if (key_seen(n, key, keylen))
				return bad(r, "duplicate key \"%s\"", key);
			skip_space(r);
			if (r->p >= r->end || *r->p != ':')
				return bad(r, "expected ':' after an object key");
			r->p++;
		}
		if ((e = value(r, &c, depth + 1)) < 0)
			return e;
		c->key = key;
		*tail = c;
		tail = &c->next;
		n->count++;
		skip_space(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			return 0;
		}
		return bad(r, "expected ',' or '%c'", close);
	}
}

static int value(struct reader *r, struct vj_json **out, unsigned depth)
{
	struct vj_json *n;
	enum vj_json_type t;

	skip_space(r);
	if (r->p >= r->end)
		return bad(r, "expected a value");
	if (depth > VJ_JSON_DEPTH_MAX)
		return bad(r, "nested deeper than %d", VJ_JSON_DEPTH_MAX);
	switch (*r->p) {
	case '{': t = VJ_JSON_OBJECT; break;
	case '[': t = VJ_JSON_ARRAY; break;
	case '"': t = VJ_JSON_STRING; break;
	case 'n': t = VJ_JSON_NULL; break;
	case 't': t = VJ_JSON_TRUE; break;
	case 'f': t = VJ_JSON_FALSE; break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9': t = VJ_JSON_NUMBER; break;
	default: return bad(r, "expected a value");
	}
	if (!(n = new_node(r, t)))
		return bad(r, "more than %zu values", r->max_nodes);
	*out = n;
	switch (t) {
	case VJ_JSON_OBJECT:
	case VJ_JSON_ARRAY:
		return container(r, n, depth);
	case VJ_JSON_STRING:
		return string(r, &n->text, &n->len);
	case VJ_JSON_NULL:
		return literal(r, "null") ? 0 : bad(r, "unknown literal");
	case VJ_JSON_TRUE:
		return literal(r, "true") ? 0 : bad(r, "unknown literal");
	case VJ_JSON_FALSE:
		return literal(r, "false") ? 0 : bad(r, "unknown literal");
	default:
		return number(r, n);
	}
}

int vj_json_parse(const char *buf, size_t len, size_t max_values, struct vj_json_doc *doc,
		  struct vj_err *err)
{
	struct reader r = { .p = buf, .end = buf + len, .start = buf, .err = err };
	struct vj_json *root;
	int e;

	memset(doc, 0, sizeof(*doc));
	/* Every value takes at least one byte of input. */
	r.max_nodes = max_values < len ? max_values : len;
	if (!r.max_nodes)
		r.max_nodes = 1;
	doc->nodes = calloc(r.max_nodes, sizeof(*doc->nodes));
	/* Decoded strings and numbers are never longer than their source,
	 * plus one terminator each. */
	doc->text = malloc(len + r.max_nodes + 1);
	if (!doc->nodes || !doc->text) {
		vj_json_free(doc);
		return vj_fail(err, -ENOMEM, "out of memory");
	}
	r.nodes = doc->nodes;
	r.out = doc->text;
	e = value(&r, &root, 0);
	if (e == 0) {
		skip_space(&r);
		if (r.p != r.end)
			e = bad(&r, "text after the value");
	}
	if (e < 0) {
		vj_json_free(doc);
		return e;
	}
	doc->root = root;
	return 0;
}

void vj_json_free(struct vj_json_doc *doc)
{
	free(doc->nodes);
	free(doc->text);
	memset(doc, 0, sizeof(*doc));
}

const struct vj_json *vj_json_get(const struct vj_json *v, const char *key)
{
	if (!v || v->type != VJ_JSON_OBJECT)
		return NULL;
	for (const struct vj_json *c = v->child; c; c = c->next)
		if (!strcmp(c->key, key))
			return c;
	return NULL;
}

int vj_json_string(const struct vj_json *v, const char **s)
{
	if (!v || v->type != VJ_JSON_STRING)
		return -EINVAL;
	*s = v->text;
	return 0;
}

int vj_json_u64(const struct vj_json *v, uint64_t max, uint64_t *out)
{
	char *end;
	uint64_t n;

	/* Integers only: no sign, fraction or exponent. */
	if (!v || v->type != VJ_JSON_NUMBER || v->text[0] == '-' ||
	    strspn(v->text, "0123456789") != v->len)
		return -EINVAL;
	errno = 0;
	n = strtoull(v->text, &end, 10);
	if (errno || *end || n > max)
		return -EINVAL;
	*out = n;
	return 0;
}

int vj_json_i64(const struct vj_json *v, int64_t *out)
{
	const char *d;
	char *end;
	long long n;

	if (!v || v->type != VJ_JSON_NUMBER)
		return -EINVAL;
	d = v->text + (v->text[0] == '-');
	if (strspn(d, "0123456789") != strlen(d))
		return -EINVAL;
	errno = 0;
	n = strtoll(v->text, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = n;
	return 0;
}

int vj_json_bool(const struct vj_json *v, bool *out)
{
	if (!v || (v->type != VJ_JSON_TRUE && v->type != VJ_JSON_FALSE))
		return -EINVAL;
	*out = v->type == VJ_JSON_TRUE;
	return 0;
}

/* --- writer ------------------------------------------------------------ */

void vj_jw_init(struct vj_jw *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
}

void vj_jw_free(struct vj_jw *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

void vj_jw_raw(struct vj_jw *w, const char *s, size_t n)
{
	if (w->error)
		return;
	if (n > w->max || w->len + 1 > w->max - n) {
		w->error = -E2BIG;
		return;
	}
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n + 1)
			cap *= 2;
		char *b = realloc(w->buf, cap);
		if (!b) {
			w->error = -ENOMEM;
			return;
		}
		w->buf = b;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void puts_raw(struct vj_jw *w, const char *s)
{
	vj_jw_raw(w, s, strlen(s));
}

/* Before a value: the comma that separates it from the previous one. An
 * object member's value follows its key, which placed the comma. */
static void separate(struct vj_jw *w)
{
	if (w->need_comma[w->depth])
		puts_raw(w, ",");
	w->need_comma[w->depth] = true;
}

static void open_nested(struct vj_jw *w, const char *bracket)
{
	separate(w);
	puts_raw(w, bracket);
	if (w->depth == VJ_JSON_DEPTH_MAX) {
		w->error = w->error ? w->error : -E2BIG;
		return;
	}
	w->need_comma[++w->depth] = false;
}

static void close_nested(struct vj_jw *w, const char *bracket)
{
	if (w->depth)
		w->depth--;
	puts_raw(w, bracket);
}

void vj_jw_object_begin(struct vj_jw *w) { open_nested(w, "{"); }
void vj_jw_object_end(struct vj_jw *w) { close_nested(w, "}"); }
void vj_jw_array_begin(struct vj_jw *w) { open_nested(w, "["); }
void vj_jw_array_end(struct vj_jw *w) { close_nested(w, "]"); }

static void quoted(struct vj_jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	puts_raw(w, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
		if (c == '"' || c == '\\') {
			char two[3] = { '\\', (char)c, 0 };
			puts_raw(w, two);
		} else if (c == '\n') {
			puts_raw(w, "\\n");
		} else if (c == '\t') {
			puts_raw(w, "\\t");
		} else if (c < 0x20 || c == 0x7f) {
			puts_raw(w, esc);
		} else {
			size_t k = utf8_len((const unsigned char *)s + i, (const unsigned char *)s + n);
			if (!k) {
				puts_raw(w, "\\ufffd"); /* not UTF-8: the replacement character */
				continue;
			}
			vj_jw_raw(w, s + i, k);
			i += k - 1;
		}
	}
	puts_raw(w, "\"");
}

void vj_jw_key(struct vj_jw *w, const char *key)
{
	separate(w);
	quoted(w, key, strlen(key));
	puts_raw(w, ":");
	/* The value that follows needs no comma of its own. */
	w->need_comma[w->depth] = false;
}

static void after_value(struct vj_jw *w)
{
	w->need_comma[w->depth] = true;
}

void vj_jw_string_n(struct vj_jw *w, const char *s, size_t n)
{
	separate(w);
	quoted(w, s, n);
	after_value(w);
}

void vj_jw_string(struct vj_jw *w, const char *s) { vj_jw_string_n(w, s, strlen(s)); }

static void scalar(struct vj_jw *w, const char *text)
{
	separate(w);
	puts_raw(w, text);
	after_value(w);
}

void vj_jw_u64(struct vj_jw *w, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	scalar(w, b);
}

void vj_jw_i64(struct vj_jw *w, int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRId64, v);
	scalar(w, b);
}

void vj_jw_double(struct vj_jw *w, double v)
{
	char b[40];

	/* JSON has no NaN or infinity. */
	if (v != v || v > 1e300 || v < -1e300)
		v = 0;
	snprintf(b, sizeof(b), "%.6g", v);
	scalar(w, b);
}

void vj_jw_json(struct vj_jw *w, const char *json, size_t n)
{
	separate(w);
	vj_jw_raw(w, json, n);
	after_value(w);
}

void vj_jw_bool(struct vj_jw *w, bool v) { scalar(w, v ? "true" : "false"); }
void vj_jw_null(struct vj_jw *w) { scalar(w, "null"); }

void vj_jw_tree(struct vj_jw *w, const struct vj_json *v)
{
	switch (v->type) {
	case VJ_JSON_NULL: vj_jw_null(w); return;
	case VJ_JSON_FALSE: vj_jw_bool(w, false); return;
	case VJ_JSON_TRUE: vj_jw_bool(w, true); return;
	case VJ_JSON_NUMBER: scalar(w, v->text); return;
	case VJ_JSON_STRING: vj_jw_string_n(w, v->text, v->len); return;
	case VJ_JSON_ARRAY:
		vj_jw_array_begin(w);
		for (const struct vj_json *c = v->child; c; c = c->next)
			vj_jw_tree(w, c);
		vj_jw_array_end(w);
		return;
	case VJ_JSON_OBJECT:
		vj_jw_object_begin(w);
		for (const struct vj_json *c = v->child; c; c = c->next) {
			vj_jw_key(w, c->key);
			vj_jw_tree(w, c);
		}
		vj_jw_object_end(w);
		return;
	}
}

int vj_jw_finish(struct vj_jw *w)
{
	if (!w->error && !w->buf)
		puts_raw(w, "");
	return w->error;
}
