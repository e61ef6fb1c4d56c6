#include "schema.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "scalar.h"

int vj_walk_fail(struct vj_walk *w, const struct vj_ynode *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vj_fail_key_at(w->err, w->name, n->line, n->col, w->path, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int vj_walk_wrap(struct vj_walk *w, const struct vj_ynode *n)
{
	if (*w->path)
		return vj_wrap(w->err, "%s:%u:%u: %s", w->name, n->line, n->col, w->path);
	return vj_wrap(w->err, "%s:%u:%u", w->name, n->line, n->col);
}

int vj_walk_expected(struct vj_walk *w, const struct vj_ynode *n, const char *what)
{
	char found[128];

	vj_describe(n, found, sizeof(found));
	return vj_walk_fail(w, n, "expected %s, found %s", what, found);
}

static void key_list(const struct vj_key *keys, size_t nkeys, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < nkeys && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", keys[i].name);
}

static const struct vj_key *find_key(const struct vj_key *keys, size_t nkeys,
				     const struct vj_ynode *k, size_t *index)
{
	for (size_t i = 0; i < nkeys; i++) {
		if (strlen(keys[i].name) == k->len && !memcmp(keys[i].name, k->str, k->len)) {
			*index = i;
			return &keys[i];
		}
	}
	return NULL;
}

int vj_walk_map(struct vj_walk *w, const struct vj_ynode *n, const struct vj_key *keys,
		size_t nkeys, void *obj)
{
	const size_t saved = strlen(w->path);
	bool seen[VJ_SCHEMA_KEYS_MAX] = { false };
	char names[512];

	if (n->kind != VJ_YMAP)
		return vj_walk_expected(w, n, "a mapping");
	for (size_t i = 0; i + 1 < n->nkids; i += 2) {
		const struct vj_ynode *k = n->kids[i];
		size_t index;
		const struct vj_key *key = find_key(keys, nkeys, k, &index);
		int r;
		vj_path_key(w->path, sizeof(w->path), k->str, k->len);
		if (!key) {
			key_list(keys, nkeys, names, sizeof(names));
			return vj_walk_fail(w, k, "unknown key (expected one of: %s)", names);
		}
		seen[index] = true;
		r = key->fn(w, n->kids[i + 1], obj);
		w->path[saved] = '\0';
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < nkeys; i++) {
		if (keys[i].required && !seen[i])
			return vj_walk_fail(w, n, "missing required key \"%s\"", keys[i].name);
	}
	return 0;
}

int vj_walk_seq(struct vj_walk *w, const struct vj_ynode *n, size_t max, vj_item_fn fn,
		void *obj)
{
	const size_t saved = strlen(w->path);

	if (n->kind != VJ_YSEQ)
		return vj_walk_expected(w, n, "a sequence");
	if (n->nkids > max)
		return vj_walk_fail(w, n, "expected at most %zu items, found %zu", max, n->nkids);
	for (size_t i = 0; i < n->nkids; i++) {
		int r;
		vj_path_index(w->path, sizeof(w->path), i);
		r = fn(w, n->kids[i], i, obj);
		w->path[saved] = '\0';
		if (r < 0)
			return r;
	}
	return 0;
}

struct vj_bound vj_bound_host(uint64_t min, uint64_t schema_max, uint64_t host_max)
{
	struct vj_bound b = { .min = min, .max = schema_max, .capped = host_max != VJ_UNLIMITED };

	if (host_max <= schema_max && b.capped) {
		b.max = host_max;
		b.host_max = true;
	}
	return b;
}

static const char *const unit_syntax[] = {
	[VJ_UNIT_INTEGER] = "an integer",
	[VJ_UNIT_SIZE] = "a size (an integer with an optional K, M, G or T suffix)",
	[VJ_UNIT_DURATION] = "a duration (an integer with a unit: ms, s, m or h)",
	[VJ_UNIT_DECIMAL] = "a number with at most 3 decimals",
};

void vj_value_format(enum vj_unit u, uint64_t v, const char *word, char *buf, size_t len)
{
	if (v == VJ_UNLIMITED && word)
		snprintf(buf, len, "%s", word);
	else if (u == VJ_UNIT_SIZE)
		vj_format_size(v, buf, len);
	else if (u == VJ_UNIT_DURATION)
		vj_format_duration_ms(v, buf, len);
	else if (u == VJ_UNIT_DECIMAL)
		vj_format_milli(v, buf, len);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

static int parse_unit(enum vj_unit u, const char *text, uint64_t *out)
{
	switch (u) {
	case VJ_UNIT_SIZE: return vj_scalar_size(text, out);
	case VJ_UNIT_DURATION: return vj_scalar_duration_ms(text, out);
	case VJ_UNIT_DECIMAL: return vj_scalar_milli(text, out);
	default: return vj_scalar_uint(text, out);
	}
}

int vj_value_parse(enum vj_unit u, const char *text, const char *found, struct vj_bound b,
		   const char *word, uint64_t *out, struct vj_err *err)
{
	char bound[32];
	uint64_t v;
	int r;

	if (word && !strcmp(text, word)) {
		if (!b.capped) {
			*out = VJ_UNLIMITED;
			return 0;
		}
		v = VJ_UNLIMITED;
	} else if ((r = parse_unit(u, text, &v)) == -EINVAL) {
		return vj_fail(err, -EINVAL, "expected %s%s%s, found %s", unit_syntax[u],
			 word ? " or " : "", word ? word : "", found);
	} else if (r < 0) {
		v = VJ_UNLIMITED - 1; /* too big for 64 bits: above any bound */
	}
	if (v < b.min) {
		vj_value_format(u, b.min, word, bound, sizeof(bound));
		return vj_fail(err, -EINVAL, "expected at least %s, found %s", bound, found);
	}
	if (v > b.max) {
		vj_value_format(u, b.max, word, bound, sizeof(bound));
		return vj_fail(err, -EINVAL, "expected at most %s%s, found %s", bound,
			 b.host_max ? " (host maximum)" : "", found);
	}
	*out = v;
	return 0;
}

int vj_walk_plain(struct vj_walk *w, const struct vj_ynode *n, enum vj_unit u,
		  const char *word, const char **text, char *found, size_t foundlen)
{
	char what[160];

	/* A quoted "2" is a string, as in YAML itself. */
	if (n->kind != VJ_YSCALAR || !n->plain || vj_ynode_is_null(n)) {
		snprintf(what, sizeof(what), "%s%s%s", unit_syntax[u], word ? " or " : "",
			 word ? word : "");
		return vj_walk_expected(w, n, what);
	}
	vj_describe(n, found, foundlen);
	*text = n->str;
	return 0;
}

int vj_walk_number(struct vj_walk *w, const struct vj_ynode *n, enum vj_unit u,
		   struct vj_bound b, const char *word, uint64_t *out)
{
	char found[128];
	const char *text;
	int r = vj_walk_plain(w, n, u, word, &text, found, sizeof(found));

	if (r == 0 && vj_value_parse(u, text, found, b, word, out, w->err) < 0)
		return vj_walk_wrap(w, n);
	return r;
}

int vj_walk_bool(struct vj_walk *w, const struct vj_ynode *n, bool *out)
{
	/* Only the two spellings; YAML 1.1's yes/no/on/off are refused so
	 * that "no" never silently means false. */
	if (n->kind == VJ_YSCALAR && n->plain && !strcmp(n->str, "true"))
		*out = true;
	else if (n->kind == VJ_YSCALAR && n->plain && !strcmp(n->str, "false"))
		*out = false;
	else
		return vj_walk_expected(w, n, "true or false");
	return 0;
}

int vj_walk_string(struct vj_walk *w, const struct vj_ynode *n, size_t maxlen, const char **out)
{
	if (n->kind != VJ_YSCALAR || vj_ynode_is_null(n))
		return vj_walk_expected(w, n, "a string");
	if (n->len > maxlen)
		return vj_walk_fail(w, n, "expected at most %zu bytes, found %zu", maxlen, n->len);
	*out = n->str;
	return 0;
}

int vj_walk_text(struct vj_walk *w, const struct vj_ynode *n, char *dst, size_t cap)
{
	const char *s;
	int r;

	if ((r = vj_walk_string(w, n, cap - 1, &s)) < 0)
		return r;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return vj_walk_fail(w, n, "expected no control characters, found 0x%02x at "
					    "byte %zu", *p, (size_t)(p - (const unsigned char *)s));
	}
	memcpy(dst, s, n->len + 1);
	return 0;
}

int vj_walk_name(struct vj_walk *w, const struct vj_ynode *n, bool (*valid)(const char *),
		 const char *what, char *dst, size_t cap)
{
	if (n->kind != VJ_YSCALAR || vj_ynode_is_null(n) || n->len >= cap || !valid(n->str))
		return vj_walk_expected(w, n, what);
	memcpy(dst, n->str, n->len + 1);
	return 0;
}

int vj_walk_enum(struct vj_walk *w, const struct vj_ynode *n, const char *const *names,
		 size_t count, unsigned *out)
{
	char what[256];
	size_t o;

	if (n->kind == VJ_YSCALAR) {
		for (size_t i = 0; i < count; i++) {
			if (!strcmp(n->str, names[i])) {
				*out = (unsigned)i;
				return 0;
			}
		}
	}
	o = (size_t)snprintf(what, sizeof(what), "one of ");
	for (size_t i = 0; i < count && o < sizeof(what); i++)
		o += (size_t)snprintf(what + o, sizeof(what) - o, "%s%s", i ? ", " : "", names[i]);
	return vj_walk_expected(w, n, what);
}

const struct vj_ynode *vj_map_get(const struct vj_ynode *n, const char *key)
{
	if (!n || n->kind != VJ_YMAP)
		return NULL;
	for (size_t i = 0; i + 1 < n->nkids; i += 2) {
		if (!strcmp(n->kids[i]->str, key))
			return n->kids[i + 1];
	}
	return NULL;
}

int vj_walk_version(struct vj_walk *w, const struct vj_ynode *n)
{
	char what[32];
	uint64_t v;

	if (n->kind == VJ_YSCALAR && n->plain && vj_scalar_uint(n->str, &v) == 0 &&
	    v == VJ_POLICY_VERSION)
		return 0;
	snprintf(what, sizeof(what), "version %d", VJ_POLICY_VERSION);
	return vj_walk_expected(w, n, what);
}
