/* Reading an image's blobs, checked against their digests: see blob.h. */
#include "blob.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"

bool vj_digest_valid(const char *d)
{
	if (strncmp(d, "sha256:", 7) || strlen(d) != 7 + 64)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

int vj_blob_reader_open(struct vj_blob_reader *r, struct vj_blob b, bool gzip,
			uint64_t plain_max, struct vj_err *err)
{
	memset(r, 0, offsetof(struct vj_blob_reader, in));
	r->blob = b;
	r->gzip = gzip;
	r->plain_max = plain_max;
	vj_sha256_init(&r->raw);
	vj_sha256_init(&r->plain);
	if (gzip) {
		/* 16 + MAX_WBITS: a gzip wrapper, nothing else */
		if (inflateInit2(&r->z, 16 + MAX_WBITS) != Z_OK)
			return vj_fail(err, -ENOMEM, "gzip: cannot start the decoder");
		r->z_ready = true;
	}
	return 0;
}

static ssize_t raw_read(struct vj_blob_reader *r, void *buf, size_t len, struct vj_err *err)
{
	uint64_t left = r->blob.size - r->done;

	if (len > left)
		len = (size_t)left;
	if (!len)
		return 0;
	ssize_t n = pread(r->blob.fd, buf, len, (off_t)(r->blob.off + r->done));
	if (n < 0)
		return vj_fail_errno(err, -errno, "read");
	if (n == 0)
		return vj_fail(err, -EIO, "read: the file is shorter than its index says");
	vj_sha256_update(&r->raw, buf, (size_t)n);
	r->done += (uint64_t)n;
	return n;
}

static ssize_t gzip_read(struct vj_blob_reader *r, void *buf, size_t len, struct vj_err *err)
{
	r->z.next_out = buf;
	r->z.avail_out = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
	while (r->z.avail_out == len) {
		if (r->z.avail_in == 0) {
			ssize_t n = raw_read(r, r->in, sizeof(r->in), err);
			if (n < 0)
				return n;
			if (n == 0) {
				if (!r->z_end)
					return vj_fail(err, -EIO, "gzip: truncated stream");
				return 0;
			}
			r->z.next_in = r->in;
			r->z.avail_in = (uInt)n;
		}
		if (r->z_end) { /* another member follows (gzip allows several) */
			if (inflateReset(&r->z) != Z_OK)
				return vj_fail(err, -EIO, "gzip: cannot restart the decoder");
			r->z_end = false;
		}
		int z = inflate(&r->z, Z_NO_FLUSH);
		if (z == Z_STREAM_END)
			r->z_end = true;
		else if (z != Z_OK && z != Z_BUF_ERROR)
			return vj_fail(err, -EBADMSG, "gzip: %s", r->z.msg ? r->z.msg : "corrupt data");
	}
	return (ssize_t)(len - r->z.avail_out);
}

ssize_t vj_blob_reader_read(void *ctx, void *buf, size_t len, struct vj_err *err)
{
	struct vj_blob_reader *r = ctx;
	ssize_t n = r->gzip ? gzip_read(r, buf, len, err) : raw_read(r, buf, len, err);

	if (n <= 0)
		return n;
	r->plain_bytes += (uint64_t)n;
	if (r->plain_bytes > r->plain_max)
		return vj_fail(err, -EFBIG, "layer: more than %llu bytes once uncompressed",
			       (unsigned long long)r->plain_max);
	if (r->gzip)
		vj_sha256_update(&r->plain, buf, (size_t)n);
	return n;
}

int vj_blob_reader_skip(void *ctx, uint64_t len, struct vj_err *err)
{
	struct vj_blob_reader *r = ctx;

	if (r->gzip)
		return vj_fail(err, -EINVAL, "a compressed blob cannot be skipped through");
	if (len > r->blob.size - r->done)
		return vj_fail(err, -EIO, "truncated: %llu bytes skipped past the end",
			       (unsigned long long)len);
	r->done += len;
	r->skipped = true;
	return 0;
}

int vj_blob_reader_verify(struct vj_blob_reader *r, const char *digest, const char *diff_id,
			  struct vj_err *err)
{
	char buf[16384], raw[VJ_SHA256_HEX], plain[VJ_SHA256_HEX];
	ssize_t n;

	if (r->skipped)
		return vj_fail(err, -EINVAL, "a blob read in part cannot be verified");
	while ((n = vj_blob_reader_read(r, buf, sizeof(buf), err)) > 0)
		;
	if (n < 0)
		return (int)n;
	vj_sha256_hex(&r->raw, raw);
	if (digest && strcmp(raw, digest + 7))
		return vj_fail(err, -EBADMSG, "blob %.19s...: digest mismatch (its bytes hash to sha256:%.12s...)",
			       digest, raw);
	if (!diff_id)
		return 0;
	if (r->gzip)
		vj_sha256_hex(&r->plain, plain);
	else
		memcpy(plain, raw, sizeof(plain));
	if (strcmp(plain, diff_id + 7))
		return vj_fail(err, -EBADMSG,
			       "its content hashes to sha256:%.12s..., not to the config's diff_id %.19s...",
			       plain, diff_id);
	return 0;
}

void vj_blob_reader_close(struct vj_blob_reader *r)
{
	if (r->z_ready)
		inflateEnd(&r->z);
	r->z_ready = false;
}

int vj_blob_slurp(struct vj_blob b, uint64_t max, const char *digest, char **out,
		  struct vj_err *err)
{
	if (b.size > max)
		return vj_fail(err, -EFBIG, "%llu bytes, more than the %llu allowed",
			       (unsigned long long)b.size, (unsigned long long)max);
	cleanup_free char *buf = malloc(b.size + 1);
	if (!buf)
		return vj_fail(err, -ENOMEM, "out of memory");
	struct vj_sha256 s;
	vj_sha256_init(&s);
	for (uint64_t got = 0; got < b.size;) {
		ssize_t n = pread(b.fd, buf + got, b.size - got, (off_t)(b.off + got));
		if (n < 0)
			return vj_fail_errno(err, -errno, "read");
		if (n == 0)
			return vj_fail(err, -EIO, "read: shorter than its index says");
		got += (uint64_t)n;
	}
	buf[b.size] = '\0';
	if (digest) {
		char hex[VJ_SHA256_HEX];
		vj_sha256_update(&s, buf, b.size);
		vj_sha256_hex(&s, hex);
		if (strcmp(hex, digest + 7))
			return vj_fail(err, -EBADMSG, "blob %.19s...: digest mismatch", digest);
	}
	*out = steal_ptr(&buf);
	return 0;
}
