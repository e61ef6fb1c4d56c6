/* The privilege drop, last step before the VMM is executed. */
#ifndef VJ_CREDS_H
#define VJ_CREDS_H

#include <stdint.h>

#include "error.h"

/*
 * No supplementary groups, gid and uid (real, effective, saved) set to the
 * sandbox's, every capability set empty (effective, permitted,
 * inheritable, bounding, ambient), then no_new_privs. Verified after the
 * fact: a step that silently did nothing is an error.
 */
int vj_creds_drop(uint32_t uid, uint32_t gid, struct vj_err *e);

#endif
