/*
 * Blobs of an image: a byte range of a file (a file of an OCI layout
 * directory, or an entry of an archive), read through a SHA-256 of its
 * bytes and, for a compressed layer, a gzip decoder and a second SHA-256
 * of what it decodes to (the layer's diff_id).
 */
#ifndef VJ_IMAGE_BLOB_H
#define VJ_IMAGE_BLOB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <zlib.h>

#include "common/error.h"
#include "sha256.h"

struct vj_blob {
	int fd; /* borrowed */
	uint64_t off, size;
};

struct vj_blob_reader {
	struct vj_blob blob;
	uint64_t done;           /* raw bytes read */
	struct vj_sha256 raw, plain;
	uint64_t plain_bytes, plain_max;
	bool gzip, z_ready, z_end, skipped;
	z_stream z;
	uint8_t in[64 * 1024];
};

/* gzip: decode as it reads. plain_max bounds what it decodes to (a gzip
 * bomb stops there with -EFBIG). Heap-allocate the reader. */
int vj_blob_reader_open(struct vj_blob_reader *r, struct vj_blob b, bool gzip,
			uint64_t plain_max, struct vj_err *err);
/* A struct vj_byte_source read function; ctx is the reader. */
ssize_t vj_blob_reader_read(void *ctx, void *buf, size_t len, struct vj_err *err);
/* A struct vj_byte_source skip function: the bytes passed over are in
 * neither hash, so a reader that skipped verifies nothing. Plain blobs only. */
int vj_blob_reader_skip(void *ctx, uint64_t len, struct vj_err *err);
/*
 * Reads what is left, then checks the raw bytes against digest and (when
 * not NULL) the decoded ones against diff_id, both "sha256:<hex>". -EBADMSG
 * with err naming the blob on a mismatch.
 */
int vj_blob_reader_verify(struct vj_blob_reader *r, const char *digest, const char *diff_id,
			  struct vj_err *err);
void vj_blob_reader_close(struct vj_blob_reader *r);

/* Reads a whole small blob (at most max bytes) into a NUL-terminated heap
 * buffer, checking it against digest (NULL: none to check). */
int vj_blob_slurp(struct vj_blob b, uint64_t max, const char *digest, char **out,
		  struct vj_err *err);

/* "sha256:" and 64 lowercase hex digits: the only digests vmjail takes. */
bool vj_digest_valid(const char *digest);

#endif
