/*
 * Applying image layers, in order, to a staging directory: regular files,
 * directories, symbolic and hard links and FIFOs with their modes and
 * owners as the image has them (the image's ids are the guest's), OCI
 * whiteouts (".wh.NAME" deletes NAME of the layers below, ".wh..wh..opq"
 * empties its directory of them).
 *
 * The layer is hostile. Every path is resolved one component at a time
 * beneath the staging root with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV): an
 * absolute path or a ".." is refused, and so is a path that passes
 * through a symbolic link (which would be how a symlink loop or an escape
 * gets in); a symbolic link the image made is never followed. Device
 * nodes are refused. The operator's bounds on entries and bytes hold
 * across all of an image's layers.
 */
#ifndef VJ_IMAGE_APPLY_H
#define VJ_IMAGE_APPLY_H

#include <stdint.h>

#include "common/error.h"
#include "tar.h"

#define VJ_APPLY_DEPTH_MAX 128 /* path components of one entry */

struct vj_path_set;

struct vj_apply {
	int root; /* the staging directory (borrowed) */
	uint64_t files, bytes;   /* so far, every layer */
	uint64_t max_files, max_bytes;
	struct vj_path_set *layer; /* paths the current layer made */
};

void vj_apply_init(struct vj_apply *a, int root, uint64_t max_files, uint64_t max_bytes);
void vj_apply_fini(struct vj_apply *a);

/* Applies the layer t reads. 0, or -errno with err naming the entry. */
int vj_apply_layer(struct vj_apply *a, struct vj_tar *t, struct vj_err *err);

/* Removes name beneath dirfd, a directory with all it holds; never
 * follows a symbolic link. 0 or -errno (-ENOENT included). */
int vj_remove_tree(int dirfd, const char *name);

#endif
