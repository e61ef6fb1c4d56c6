/*
 * A container image as the workload's root (ROOT frame, protocol version
 * 4): the image's read-only drive, a tmpfs for what the workload writes,
 * an overlay of the two, and /proc, /sys, /dev and /tmp inside it. The
 * workload is chrooted there, as the image's User.
 */
#ifndef VJ_INIT_IMAGE_ROOT_H
#define VJ_INIT_IMAGE_ROOT_H

#include <stdint.h>

#include "agent_proto.h"
#include "error.h"

#define VJ_INIT_IMAGE_LOWER "/run/vmjail/image"
#define VJ_INIT_IMAGE_RW "/run/vmjail/rw"
#define VJ_INIT_IMAGE_ROOT "/run/vmjail/root"

/* Mounts the root that r describes at VJ_INIT_IMAGE_ROOT. */
int vj_init_image_root_mount(const struct vj_agent_root *r, struct vj_err *err);

/* cwd (absolute) inside the image root, made (0755, root's) where the
 * image lacks it, as docker makes a WorkingDir; resolved within the root,
 * so the image's symbolic links stay in it. */
int vj_init_image_workdir(int rootfd, const char *cwd, struct vj_err *err);

/*
 * The ids of user ("uid[:gid]" or "name[:group]", names looked up in the
 * root's own /etc/passwd and /etc/group, read beneath rootfd): a numeric
 * uid without a gid takes its passwd entry's group, or 0 without one,
 * as docker does. -EINVAL with err set for a name the image does not have.
 */
int vj_init_image_user(int rootfd, const char *user, uint32_t *uid, uint32_t *gid,
		       struct vj_err *err);

#endif
