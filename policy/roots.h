/*
 * Confining the files a policy names to the operator's allowed roots.
 * Names are resolved the way the kernel will resolve them (every symlink
 * and ".." followed, by realpath(3)) and the result must lie beneath a
 * root of the right kind. Relative names are looked up under each root in
 * turn; the first root where the name exists decides.
 *
 * The canonical result has no symlink in it, so the launcher can open it
 * with openat2(RESOLVE_NO_SYMLINKS) and get exactly the file checked here
 * even if someone swaps a directory for a symlink in between.
 */
#ifndef VJ_POLICY_ROOTS_H
#define VJ_POLICY_ROOTS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "common/error.h"

enum vj_root_kind { VJ_ROOT_KERNEL, VJ_ROOT_IMAGE, VJ_ROOT_SOCKET };

struct vj_roots {
	const char *what; /* "kernel", "image", "socket": for messages */
	enum vj_root_kind kind;
	unsigned n;
	const char (*dirs)[VJ_PATH_MAX];
};

/*
 * Kernel and image roots: an existing file (regular; images may also be
 * block devices). Socket roots: a socket path whose directory exists; the
 * socket itself may exist only as a socket, and the whole path must fit
 * VJ_VSOCK_UDS_MAX. On success out holds the canonical path; on failure
 * err says what is wrong (without the key path) and its -errno is returned.
 */
int vj_roots_resolve(const struct vj_roots *roots, const char *name, char out[VJ_PATH_MAX],
		     struct vj_err *err);

/* Whether canonical path p is root or lies beneath it. */
bool vj_path_within(const char *p, const char *root);

/* For the host file: dir made canonical. A root may not exist yet (a
 * build directory, say) as long as its parent does; it then admits
 * nothing until it is created. */
int vj_root_canonical(const char *dir, char out[VJ_PATH_MAX], struct vj_err *err);

#endif
