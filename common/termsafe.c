#include "termsafe.h"

#include <stdbool.h>
#include <string.h>

void vj_termsafe_init(struct vj_termsafe *t)
{
	memset(t, 0, sizeof(*t));
}

static size_t hex(uint8_t b, char *out)
{
	static const char digits[] = "0123456789abcdef";

	out[0] = '\\';
	out[1] = 'x';
	out[2] = digits[b >> 4];
	out[3] = digits[b & 0xf];
	return 4;
}

/* The held bytes, as bytes: they will not become a character. */
static size_t release(struct vj_termsafe *t, char *out)
{
	size_t o = 0;

	for (unsigned i = 0; i < t->nheld; i++)
		o += hex(t->held[i], out + o);
	t->nheld = t->need = 0;
	return o;
}

/* The length of the sequence b starts; 0 when b starts none (a
 * continuation byte, or C0/C1, F5..FF: leads of overlong forms or of code
 * points past U+10FFFF). */
static unsigned lead_length(uint8_t b)
{
	if (b >= 0xc2 && b <= 0xdf)
		return 2;
	if (b >= 0xe0 && b <= 0xef)
		return 3;
	if (b >= 0xf0 && b <= 0xf4)
		return 4;
	return 0;
}

/* Whether b may come next. The second byte's range is what rules out
 * overlong forms (E0, F0), surrogates (ED) and code points past U+10FFFF
 * (F4). */
static bool continues(const struct vj_termsafe *t, uint8_t b)
{
	uint8_t lo = 0x80, hi = 0xbf;

	if (t->nheld == 1 && t->held[0] == 0xe0)
		lo = 0xa0;
	else if (t->nheld == 1 && t->held[0] == 0xed)
		hi = 0x9f;
	else if (t->nheld == 1 && t->held[0] == 0xf0)
		lo = 0x90;
	else if (t->nheld == 1 && t->held[0] == 0xf4)
		hi = 0x8f;
	return b >= lo && b <= hi;
}

static size_t ascii(uint8_t b, char *out)
{
	if ((b >= 0x20 && b < 0x7f) || b == '\n' || b == '\t' || b == '\r' || b == '\b') {
		out[0] = (char)b;
		return 1;
	}
	out[0] = '^';
	out[1] = b == 0x7f ? '?' : (char)(b + 0x40);
	return 2;
}

/* The last byte of a well-formed sequence: U+0080..U+009F are C1
 * controls, shown as their bytes; anything else passes whole. */
static size_t complete(struct vj_termsafe *t, uint8_t b, char *out)
{
	size_t o;

	if (t->held[0] == 0xc2 && b <= 0x9f) {
		o = release(t, out);
		return o + hex(b, out + o);
	}
	memcpy(out, t->held, t->nheld);
	o = t->nheld;
	out[o++] = (char)b;
	t->nheld = t->need = 0;
	return o;
}

static size_t one(struct vj_termsafe *t, uint8_t b, char *out)
{
	size_t o = 0;

	if (t->nheld && !continues(t, b))
		o = release(t, out); /* and b starts afresh */
	if (t->nheld && t->nheld + 1 < t->need) {
		t->held[t->nheld++] = b;
		return o;
	}
	if (t->nheld)
		return o + complete(t, b, out + o);
	if (b < 0x80)
		return o + ascii(b, out + o);
	if ((t->need = (uint8_t)lead_length(b))) {
		t->held[t->nheld++] = b;
		return o;
	}
	return o + hex(b, out + o);
}

size_t vj_termsafe_feed(struct vj_termsafe *t, const void *in, size_t n, char *out)
{
	const uint8_t *p = in;
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		o += one(t, p[i], out + o);
	return o;
}

size_t vj_termsafe_finish(struct vj_termsafe *t, char *out)
{
	return release(t, out);
}
