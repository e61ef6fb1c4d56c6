/* A strict tar reader: see tar.h. */
#include "tar.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"

#define BLOCK 512u

struct header {
	char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], chksum[8], typeflag,
		linkname[100], magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8],
		prefix[155], pad[12];
};
_Static_assert(sizeof(struct header) == BLOCK, "a tar header is one block");

/* What pax and GNU headers say about the next entry. */
struct override {
	bool has_path, has_link, has_size, has_uid, has_gid;
	uint64_t size, uid, gid;
};

void vj_tar_init(struct vj_tar *t, struct vj_byte_source in)
{
	memset(t, 0, sizeof(*t));
	t->in = in;
}

/* Exactly len bytes, or -EIO "truncated". */
static int read_full(struct vj_tar *t, void *buf, size_t len, struct vj_err *err)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = t->in.read(t->in.ctx, (char *)buf + got, len - got, err);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return vj_fail(err, -EIO, "tar: truncated at byte %llu",
				       (unsigned long long)(t->pos + got));
		got += (size_t)n;
	}
	t->pos += len;
	return 0;
}

static int skip(struct vj_tar *t, uint64_t len, struct vj_err *err)
{
	char buf[8192];

	if (t->in.skip && len) {
		int r = t->in.skip(t->in.ctx, len, err);
		if (r == 0)
			t->pos += len;
		return r;
	}
	while (len) {
		size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		int r = read_full(t, buf, n, err);
		if (r < 0)
			return r;
		len -= n;
	}
	return 0;
}

/* An octal field (NUL- or space-terminated, leading spaces allowed), or
 * GNU's base-256 for large values: a set top bit, then big-endian bytes. */
static int number(const char *f, size_t n, uint64_t max, uint64_t *out)
{
	const unsigned char *p = (const unsigned char *)f;
	uint64_t v = 0;
	size_t i = 0;

	if (p[0] & 0x80) {
		if (p[0] != 0x80)
			return -EINVAL; /* negative, or beyond 64 bits */
		for (i = 1; i < n; i++) {
			if (v >> 56)
				return -ERANGE;
			v = v << 8 | p[i];
		}
		return v > max ? -ERANGE : (*out = v, 0);
	}
	while (i < n && p[i] == ' ')
		i++;
	size_t digits = 0;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++, digits++) {
		if (v >> 61)
			return -ERANGE;
		v = v << 3 | (uint64_t)(p[i] - '0');
	}
	if (!digits)
		return -EINVAL;
	for (; i < n; i++)
		if (p[i] != ' ' && p[i] != '\0')
			return -EINVAL;
	return v > max ? -ERANGE : (*out = v, 0);
}

static bool checksum_ok(const struct header *h)
{
	const unsigned char *p = (const unsigned char *)h;
	uint64_t want, sum = 0;

	if (number(h->chksum, sizeof(h->chksum), UINT32_MAX, &want) < 0)
		return false;
	for (size_t i = 0; i < BLOCK; i++)
		sum += (i >= offsetof(struct header, chksum) &&
			i < offsetof(struct header, chksum) + sizeof(h->chksum)) ?
			       ' ' :
			       p[i];
	return sum == want;
}

static bool all_zero(const void *b)
{
	const unsigned char *p = b;
	for (size_t i = 0; i < BLOCK; i++)
		if (p[i])
			return false;
	return true;
}

/* A name of at most n bytes that need not end in NUL. */
static size_t field_len(const char *f, size_t n)
{
	const char *z = memchr(f, '\0', n);
	return z ? (size_t)(z - f) : n;
}

/* The data of an extended or long-name header, NUL-terminated. */
static int read_extended(struct vj_tar *t, uint64_t size, uint64_t max, char **out,
			 struct vj_err *err)
{
	if (size > max)
		return vj_fail(err, -EMSGSIZE, "tar: extended header of %llu bytes exceeds %llu",
			       (unsigned long long)size, (unsigned long long)max);
	cleanup_free char *buf = malloc(size + 1);
	if (!buf)
		return vj_fail(err, -ENOMEM, "tar: out of memory");
	int r = read_full(t, buf, size, err);
	if (r < 0)
		return r;
	buf[size] = '\0';
	r = skip(t, (BLOCK - size % BLOCK) % BLOCK, err);
	if (r < 0)
		return r;
	*out = steal_ptr(&buf);
	return 0;
}

static int set_string(char *dst, const char *src, size_t len, const char *what, struct vj_err *err)
{
	if (len == 0 || len > VJ_TAR_PATH_MAX || memchr(src, '\0', len))
		return vj_fail(err, -EINVAL, "tar: %s of %zu bytes (expected 1..%u, no NUL)", what,
			       len, VJ_TAR_PATH_MAX);
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

static int pax_number(const char *v, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;

	if (len == 0 || len > 20)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		if (n > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	return n > max ? -ERANGE : (*out = n, 0);
}

/* One "LEN KEY=VALUE\n" record after another. */
static int parse_pax(struct vj_tar *t, const char *buf, size_t size, struct override *o,
		     struct vj_err *err)
{
	size_t off = 0;

	while (off < size) {
		uint64_t len = 0;
		size_t i = off;
		for (; i < size && buf[i] >= '0' && buf[i] <= '9' && i - off < 8; i++)
			len = len * 10 + (uint64_t)(buf[i] - '0');
		if (i == off || i >= size || buf[i] != ' ' || len < i - off + 3 || len > size - off ||
		    buf[off + len - 1] != '\n')
			return vj_fail(err, -EINVAL, "tar: malformed pax record at byte %zu", off);
		const char *key = buf + i + 1, *end = buf + off + len - 1;
		const char *eq = memchr(key, '=', (size_t)(end - key));
		if (!eq)
			return vj_fail(err, -EINVAL, "tar: pax record without '=' at byte %zu", off);
		size_t klen = (size_t)(eq - key), vlen = (size_t)(end - eq - 1);
		const char *v = eq + 1;
		int r = 0;
		if (klen == 4 && !memcmp(key, "path", 4))
			r = set_string(t->path, v, vlen, "pax path", err), o->has_path = true;
		else if (klen == 8 && !memcmp(key, "linkpath", 8))
			r = set_string(t->link, v, vlen, "pax linkpath", err), o->has_link = true;
		else if (klen == 4 && !memcmp(key, "size", 4))
			r = pax_number(v, vlen, INT64_MAX, &o->size), o->has_size = true;
		else if (klen == 3 && !memcmp(key, "uid", 3))
			r = pax_number(v, vlen, UINT32_MAX - 1, &o->uid), o->has_uid = true;
		else if (klen == 3 && !memcmp(key, "gid", 3))
			r = pax_number(v, vlen, UINT32_MAX - 1, &o->gid), o->has_gid = true;
		else if (klen >= 10 && !memcmp(key, "GNU.sparse", 10))
			return vj_fail(err, -EOPNOTSUPP, "tar: sparse files are not supported");
		if (r < 0)
			return err->code == r ? r :
						vj_fail(err, r, "tar: pax record %.*s: bad value",
							(int)klen, key);
		off += len;
	}
	return 0;
}

/* Headers that describe the next one: pax 'x' (and 'g', whose records
 * apply to every later entry and are ignored here), GNU 'L' and 'K'. */
static int meta_header(struct vj_tar *t, const struct header *h, uint64_t size,
		       struct override *o, struct vj_err *err)
{
	cleanup_free char *buf = NULL;
	int r;

	switch (h->typeflag) {
	case 'x':
		if ((r = read_extended(t, size, VJ_TAR_EXTENDED_MAX, &buf, err)) < 0)
			return r;
		return parse_pax(t, buf, size, o, err);
	case 'g':
		return skip(t, size + (BLOCK - size % BLOCK) % BLOCK, err);
	case 'L':
	case 'K':
		if ((r = read_extended(t, size, VJ_TAR_PATH_MAX + 1, &buf, err)) < 0)
			return r;
		if (h->typeflag == 'L') {
			o->has_path = true;
			return set_string(t->path, buf, strlen(buf), "GNU long name", err);
		}
		o->has_link = true;
		return set_string(t->link, buf, strlen(buf), "GNU long link name", err);
	}
	return 1;
}

static int entry_type(char flag, enum vj_tar_type *out)
{
	switch (flag) {
	case '\0':
	case '7': /* contiguous file: a regular file everywhere but one old system */
		*out = VJ_TAR_REG;
		return 0;
	case '0': case '1': case '2': case '3': case '4': case '5': case '6':
		*out = (enum vj_tar_type)flag;
		return 0;
	}
	return -EOPNOTSUPP;
}

static int fill_entry(struct vj_tar *t, const struct header *h, const struct override *o,
		      uint64_t size, struct vj_tar_entry *e, struct vj_err *err)
{
	uint64_t v;

	if (entry_type(h->typeflag, &e->type) < 0)
		return vj_fail(err, -EOPNOTSUPP, "tar: entry type '%c' (0x%02x) is not supported",
			       h->typeflag >= 0x20 && h->typeflag < 0x7f ? h->typeflag : '?',
			       (unsigned char)h->typeflag);
	if (!o->has_path) {
		size_t n = field_len(h->name, sizeof(h->name));
		size_t p = memcmp(h->magic, "ustar\0", 6) ? 0 : field_len(h->prefix, sizeof(h->prefix));
		if (n == 0)
			return vj_fail(err, -EINVAL, "tar: an entry without a name");
		if (p) {
			memcpy(t->path, h->prefix, p);
			t->path[p++] = '/';
		}
		memcpy(t->path + p, h->name, n);
		t->path[p + n] = '\0';
	}
	if (!o->has_link) {
		size_t n = field_len(h->linkname, sizeof(h->linkname));
		memcpy(t->link, h->linkname, n);
		t->link[n] = '\0';
	}
	if (number(h->mode, sizeof(h->mode), 07777777, &v) < 0)
		return vj_fail(err, -EINVAL, "tar: %s: bad mode field", t->path);
	e->mode = (uint32_t)(v & 07777);
	if (o->has_uid)
		e->uid = (uint32_t)o->uid;
	else if (number(h->uid, sizeof(h->uid), UINT32_MAX - 1, &v) < 0)
		return vj_fail(err, -EINVAL, "tar: %s: bad uid field", t->path);
	else
		e->uid = (uint32_t)v;
	if (o->has_gid)
		e->gid = (uint32_t)o->gid;
	else if (number(h->gid, sizeof(h->gid), UINT32_MAX - 1, &v) < 0)
		return vj_fail(err, -EINVAL, "tar: %s: bad gid field", t->path);
	else
		e->gid = (uint32_t)v;
	/* Only regular files have data; a size on anything else is skipped. */
	e->size = e->type == VJ_TAR_REG ? size : 0;
	e->path = t->path;
	e->link = t->link;
	t->data_left = size;
	t->pad_left = (BLOCK - size % BLOCK) % BLOCK;
	e->offset = t->pos;
	return 0;
}

int vj_tar_next(struct vj_tar *t, struct vj_tar_entry *e, struct vj_err *err)
{
	struct override o = { 0 };
	struct header h;
	int r;

	if ((r = skip(t, t->data_left + t->pad_left, err)) < 0)
		return r;
	t->data_left = t->pad_left = 0;
	for (;;) {
		uint64_t size;
		ssize_t n = t->in.read(t->in.ctx, &h, 1, err);
		if (n < 0)
			return (int)n;
		if (n == 0) /* the end without its zero blocks: what some writers leave */
			return (o.has_path || o.has_link) ?
				       vj_fail(err, -EIO, "tar: truncated after an extended header") :
				       0;
		t->pos += 1;
		if ((r = read_full(t, (char *)&h + 1, BLOCK - 1, err)) < 0)
			return r;
		if (all_zero(&h))
			return 0; /* the end: what follows is padding, never read */
		if (memcmp(h.magic, "ustar", 5) || (h.magic[5] != '\0' && h.magic[5] != ' '))
			return vj_fail(err, -EINVAL,
				       "tar: header at byte %llu is not ustar, pax or GNU",
				       (unsigned long long)(t->pos - BLOCK));
		if (!checksum_ok(&h))
			return vj_fail(err, -EINVAL, "tar: header at byte %llu: bad checksum",
				       (unsigned long long)(t->pos - BLOCK));
		if (number(h.size, sizeof(h.size), INT64_MAX, &size) < 0)
			return vj_fail(err, -EINVAL, "tar: header at byte %llu: bad size field",
				       (unsigned long long)(t->pos - BLOCK));
		r = meta_header(t, &h, size, &o, err);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		if (o.has_size)
			size = o.size;
		if ((r = fill_entry(t, &h, &o, size, e, err)) < 0)
			return r;
		return 1;
	}
}

ssize_t vj_tar_read(struct vj_tar *t, void *buf, size_t len, struct vj_err *err)
{
	if (len > t->data_left)
		len = (size_t)t->data_left;
	if (!len)
		return 0;
	int r = read_full(t, buf, len, err);
	if (r < 0)
		return r;
	t->data_left -= len;
	return (ssize_t)len;
}
