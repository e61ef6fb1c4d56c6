/* SHA-256 (FIPS 180-4), for checking an image's blobs against their
 * digests without a crypto library. */
#ifndef VJ_IMAGE_SHA256_H
#define VJ_IMAGE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define VJ_SHA256_LEN 32
#define VJ_SHA256_HEX (2 * VJ_SHA256_LEN + 1)

struct vj_sha256 {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t block[64];
	size_t fill;
};

void vj_sha256_init(struct vj_sha256 *s);
void vj_sha256_update(struct vj_sha256 *s, const void *data, size_t len);
void vj_sha256_final(struct vj_sha256 *s, uint8_t out[VJ_SHA256_LEN]);
/* The final digest as 64 lowercase hex digits. */
void vj_sha256_hex(struct vj_sha256 *s, char out[VJ_SHA256_HEX]);

#endif
