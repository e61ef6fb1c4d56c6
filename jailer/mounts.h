/* The jail's filesystem: an empty, read-only root and nothing else. */
#ifndef VJ_MOUNTS_H
#define VJ_MOUNTS_H

#include <stdbool.h>

#include "error.h"

/*
 * In a fresh mount namespace: stops mount propagation to and from the
 * host, mounts a small empty tmpfs over the old root, optionally a /proc
 * of the current pid namespace in it, pivots into it, detaches the old
 * root and makes the new one read-only, nosuid, nodev, noexec.
 */
int vj_mounts_enter_empty_root(bool with_proc, struct vj_err *e);

#endif
