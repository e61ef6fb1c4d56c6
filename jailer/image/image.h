/*
 * Container images as a guest's root: an image (OCI layout directory, OCI
 * archive, `docker save` archive) or a plain root file system directory
 * (an OCI bundle's rootfs) becomes one read-only file system image that
 * the launcher attaches as a read-only virtio-blk drive, plus the image
 * config that vmjail-init honours (agent protocol v4).
 *
 * Everything an image holds is hostile: every blob is checked against its
 * sha256 digest, every tar entry is applied beneath a staging root with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS),
 * and the operator's bounds (host file `images:`) cap the file count and
 * the bytes. A refusal leaves one line in err and nothing in the cache.
 */
#ifndef VJ_IMAGE_H
#define VJ_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "policy.h"

#define VJ_IMAGE_DIGEST_MAX 72 /* "sha256:" + 64 hex + NUL */

/* The parts of an image's config (OCI image-spec `config`) the guest
 * honours. NULL-terminated arrays; NULL when the image does not set them. */
struct vj_image_config {
	char **entrypoint;
	char **cmd;
	char **env;          /* NAME=value */
	char *working_dir;   /* absolute, or NULL: "/" */
	char *user;          /* "uid[:gid]" or "name[:group]", or NULL: root */
};

struct vj_root_image {
	char *path;          /* the read-only file system image file */
	char *fstype;        /* "erofs" */
	char digest[VJ_IMAGE_DIGEST_MAX]; /* the image's config digest; "" for a directory */
	struct vj_image_config config;
	/* A per-sandbox image (from a directory), which the launcher removes
	 * once the sandbox ends; a cached one (false) stays for the next run. */
	bool remove_after;
	/* Whether this call converted the image (false: a cache hit). */
	bool converted;
	/* A per-sandbox image is flock'd (shared, as its read-only drive is)
	 * through lock_fd for as long as any process of its owner (the
	 * launcher after a fork included) holds the descriptor: an image
	 * whose exclusive lock can be taken was left by a launcher that is
	 * gone, and the next one removes it. */
	bool lock_held;
	int lock_fd;
};

/*
 * image (a path the caller has checked against the host's roots.images,
 * see vj_image_check_path) to a cached root image and its config. The
 * cache is the host file's images.cache, bounded by images.max_size
 * (evicting the least recently used) and images.max_files/max_bytes per
 * image. Two concurrent calls for one image convert it once. Returns 0, or
 * -errno with err set ("image /srv/img/app.tar: layer sha256:ab..: digest
 * mismatch") and nothing left in the cache.
 */
int vj_image_open(const struct vj_host_config *host, const char *image, struct vj_root_image *out,
		  struct vj_err *err);

/*
 * dir (a root file system directory, e.g. an OCI bundle's root.path) to a
 * read-only root image in the host's images.cache, not cached: out->remove_after
 * is true and the caller (vj_root_image_release with remove) deletes it.
 * The directory is read as it is; no config (out->config all NULL). First
 * removes the per-sandbox images of launchers that died without removing
 * theirs (their locks free, see lock_fd).
 */
int vj_image_from_rootfs(const struct vj_host_config *host, const char *dir,
			 struct vj_root_image *out, struct vj_err *err);

/* IMAGE must lie beneath one of the host file's roots.images (after
 * resolving symlinks): 0, or -EACCES with err set. */
int vj_image_check_path(const struct vj_host_config *host, const char *image, struct vj_err *err);

/* Frees out's strings, and deletes the image file if remove_after. Safe on
 * a zeroed struct and twice. */
void vj_root_image_release(struct vj_root_image *img);

void vj_image_config_free(struct vj_image_config *c);

#endif
