#include "scalar.h"

#include <errno.h>
#include <string.h>

#include "parse.h"
#include "policy.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int vj_scalar_uint(const char *s, uint64_t *out)
{
	return vj_parse_uint(s, out);
}

struct unit {
	const char *suffix;
	uint64_t mult;
};

/* For printing only: parsing is vj_parse_size()'s. */
static const struct unit size_units[] = {
	{ "Ti", 1ull << 40 }, { "Gi", 1ull << 30 }, { "Mi", 1ull << 20 }, { "Ki", 1ull << 10 },
};

static const struct unit duration_units[] = {
	{ "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
};

int vj_scalar_size(const char *s, uint64_t *out)
{
	return vj_parse_size(s, out);
}

int vj_scalar_duration_ms(const char *s, uint64_t *out)
{
	return vj_parse_duration_ms(s, out);
}

int vj_scalar_milli(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t whole, frac = 0;
	unsigned digits = 0;
	int r = vj_parse_digits(s, &end, &whole);

	if (r < 0)
		return r;
	if (*end == '.') {
		for (end++; is_digit(*end) && digits < 3; end++, digits++)
			frac = frac * 10 + (uint64_t)(*end - '0');
		if (!digits)
			return -EINVAL;
		if (is_digit(*end))
			return -EINVAL; /* finer than a thousandth: not representable */
	}
	if (*end)
		return -EINVAL;
	for (; digits < 3; digits++)
		frac *= 10;
	if (whole > (UINT64_MAX - frac) / 1000)
		return -ERANGE;
	*out = whole * 1000 + frac;
	return 0;
}

static void format_with_unit(uint64_t v, const struct unit *units, size_t n, const char *plain,
			     char *buf, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (v && v % units[i].mult == 0) {
			snprintf(buf, len, "%llu%s", (unsigned long long)(v / units[i].mult),
				 units[i].suffix);
			return;
		}
	}
	snprintf(buf, len, "%llu%s", (unsigned long long)v, plain);
}

void vj_format_size(uint64_t v, char *buf, size_t len)
{
	format_with_unit(v, size_units, sizeof(size_units) / sizeof(size_units[0]), "", buf, len);
}

void vj_format_duration_ms(uint64_t ms, char *buf, size_t len)
{
	format_with_unit(ms, duration_units, sizeof(duration_units) / sizeof(duration_units[0]),
			 "ms", buf, len);
}

void vj_format_milli(uint64_t v, char *buf, size_t len)
{
	unsigned frac = (unsigned)(v % 1000);

	if (!frac)
		snprintf(buf, len, "%llu", (unsigned long long)(v / 1000));
	else if (frac % 100 == 0)
		snprintf(buf, len, "%llu.%u", (unsigned long long)(v / 1000), frac / 100);
	else if (frac % 10 == 0)
		snprintf(buf, len, "%llu.%02u", (unsigned long long)(v / 1000), frac / 10);
	else
		snprintf(buf, len, "%llu.%03u", (unsigned long long)(v / 1000), frac);
}

static bool name_chars(const char *s, size_t min, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (; *s; s++) {
		if (!is_alnum(*s) && !strchr(extra, *s))
			return false;
	}
	return true;
}

static bool dot_name(const char *s)
{
	return !strcmp(s, ".") || !strcmp(s, "..");
}

bool vj_name_is_sandbox_id(const char *s)
{
	return name_chars(s, 1, VJ_ID_MAX, "-");
}

bool vj_name_is_drive_id(const char *s)
{
	return name_chars(s, 1, 20, "_-");
}

bool vj_name_is_ifname(const char *s)
{
	return name_chars(s, 1, 15, "_.-") && !dot_name(s);
}

bool vj_name_is_netns(const char *s)
{
	return name_chars(s, 1, 64, "_.-") && !dot_name(s);
}

bool vj_name_is_env(const char *s, size_t len)
{
	if (!len || is_digit(s[0]))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_alnum(s[i]) && s[i] != '_')
			return false;
	}
	return true;
}

bool vj_name_is_cgroup_path(const char *s)
{
	const char *p = s;

	if (!name_chars(s, 1, 255, "_.-/"))
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/' && !*++p)
			return false; /* trailing slash */
	}
	return true;
}

bool vj_name_is_cgroup_parent(const char *s)
{
	return vj_name_is_cgroup_path(s[0] == '/' ? s + 1 : s);
}

static int cpuset_number(const char **s, uint64_t *v)
{
	const char *end;
	int r = vj_parse_digits(*s, &end, v);

	if (r < 0)
		return r;
	if (*v >= VJ_CPUSET_NR)
		return -ERANGE;
	*s = end;
	return 0;
}

int vj_cpuset_parse(const char *s, struct vj_cpuset *set)
{
	memset(set, 0, sizeof(*set));
	for (;;) {
		uint64_t lo, hi;
		int r = cpuset_number(&s, &lo);
		if (r < 0)
			return r;
		hi = lo;
		if (*s == '-') {
			s++;
			if ((r = cpuset_number(&s, &hi)) < 0)
				return r;
			if (hi < lo)
				return -EINVAL;
		}
		for (uint64_t i = lo; i <= hi; i++)
			set->bits[i / 64] |= 1ull << (i % 64);
		if (!*s)
			return 0;
		if (*s++ != ',')
			return -EINVAL;
	}
}

bool vj_cpuset_subset(const struct vj_cpuset *a, const struct vj_cpuset *b)
{
	for (size_t i = 0; i < sizeof(a->bits) / sizeof(a->bits[0]); i++) {
		if (a->bits[i] & ~b->bits[i])
			return false;
	}
	return true;
}

/* Length of the UTF-8 sequence at s (at most avail bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool vj_utf8_valid(const char *s, size_t len, size_t *bad)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(u + i, len - i);
		if (!n) {
			if (bad)
				*bad = i;
			return false;
		}
		i += n;
	}
	return true;
}

/* The escape for byte c, or NULL when it stands for itself. */
static const char *escape(unsigned char c, char tmp[8])
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\t': return "\\t";
	case '\r': return "\\r";
	}
	if (c < 0x20 || c == 0x7f) {
		snprintf(tmp, 8, "\\u%04x", c);
		return tmp;
	}
	return NULL;
}

/* Code points that YAML would not read back as themselves inside a
 * double-quoted string: C1 controls, line and paragraph separators
 * (folded as line breaks), the byte-order mark and non-characters. */
static bool unsafe_code_point(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff ||
	       cp == 0xfffe || cp == 0xffff;
}

static uint32_t decode(const unsigned char *s, size_t n)
{
	static const unsigned char lead_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t cp = s[0] & lead_mask[n];

	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	return cp;
}

int vj_fquote(FILE *f, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	char tmp[8];

	fputc('"', f);
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(u + i, len - i);
		const char *e = n == 1 ? escape(u[i], tmp) : NULL;
		if (n > 1 && unsafe_code_point(decode(u + i, n))) {
			fprintf(f, "\\u%04x", (unsigned)decode(u + i, n));
		} else if (n == 0) {
			/* Not UTF-8 (callers validate): still one readable line. */
			fprintf(f, "\\u%04x", u[i]);
			n = 1;
		} else if (e) {
			fputs(e, f);
		} else {
			fwrite(u + i, 1, n, f);
		}
		i += n;
	}
	fputc('"', f);
	return ferror(f) ? -EIO : 0;
}

void vj_quote_short(const char *s, size_t len, char *buf, size_t buflen)
{
	const size_t shown = 40;
	size_t o = 0, i;
	char tmp[8];

	if (buflen < 16) {
		if (buflen)
			buf[0] = '\0';
		return;
	}
	buf[o++] = '"';
	for (i = 0; i < len && i < shown && o + 8 < buflen; i++) {
		const char *e = escape((unsigned char)s[i], tmp);
		size_t n = e ? strlen(e) : 1;
		memcpy(buf + o, e ? e : &s[i], n);
		o += n;
	}
	/* Never cut a UTF-8 sequence in half: drop its lead and continuation
	 * bytes already copied (each took one output byte). */
	if (i < len && ((unsigned char)s[i] & 0xc0) == 0x80) {
		while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80) {
			i--;
			o--;
		}
		if (i > 0) {
			i--;
			o--;
		}
	}
	if (i < len && o + 5 < buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}
