/*
 * Finding an image's parts: its config and its layers, in order, in an
 * OCI image layout directory, an OCI archive (a tar of one) or a
 * `docker save` archive. Every file is read beneath the image (no symlink
 * followed), every blob is checked against its digest as it is read, and
 * the config's diff_ids against the layers' uncompressed bytes.
 */
#ifndef VJ_IMAGE_MANIFEST_H
#define VJ_IMAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blob.h"
#include "image.h"

#define VJ_IMAGE_LAYERS_MAX 128
#define VJ_IMAGE_JSON_MAX (4u << 20)        /* a manifest, index or config */
#define VJ_IMAGE_ARCHIVE_ENTRIES_MAX 100000 /* files in an image archive */

struct vj_image_layer {
	struct vj_blob blob;
	bool gzip;
	char digest[VJ_IMAGE_DIGEST_MAX];  /* the blob's; "" for docker-save layers */
	char diff_id[VJ_IMAGE_DIGEST_MAX]; /* the uncompressed tar's, from the config */
};

struct vj_archive_entry {
	char *name; /* without a leading "./" */
	uint64_t off, size;
};

struct vj_image_parts {
	int fd;       /* the archive, or the layout directory */
	bool archive;
	size_t nentries;
	struct vj_archive_entry *entries; /* an archive's regular files */
	size_t nfds;
	int *fds;     /* a directory's files opened so far */
	char *config_json; /* verified */
	size_t config_len;
	char config_digest[VJ_IMAGE_DIGEST_MAX];
	const char *format; /* "oci-layout", "oci-archive", "docker-archive" */
	unsigned nlayers;
	struct vj_image_layer layers[VJ_IMAGE_LAYERS_MAX];
};

/* Opens path and finds its config and layers (reading and checking every
 * small blob; the layers are checked as they are applied). */
int vj_image_parts_open(const char *path, struct vj_image_parts *p, struct vj_err *err);
void vj_image_parts_close(struct vj_image_parts *p);

/*
 * An image config (OCI image-spec, docker's is the same) into c, and the
 * diff_ids of its rootfs (at most max_layers; *ndiff set). Refuses a
 * config that is not an object, fields of the wrong type, more arguments
 * or variables than the agent carries, a relative WorkingDir, a diff_id
 * that is no sha256 digest.
 */
int vj_image_config_parse(const char *json, size_t len, struct vj_image_config *c,
			  char diff_ids[][VJ_IMAGE_DIGEST_MAX], unsigned max_layers,
			  unsigned *ndiff, struct vj_err *err);

#endif
