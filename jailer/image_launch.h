/*
 * A container image's root in a sandbox: `vmjail run POLICY --image
 * IMAGE`, and the same from code (the OCI runtime's bundle rootfs).
 */
#ifndef VJ_JAILER_IMAGE_LAUNCH_H
#define VJ_JAILER_IMAGE_LAUNCH_H

#include "agent_proto.h"
#include "error.h"
#include "image/image.h"
#include "launch.h"

#define VJ_IMAGE_DRIVE_ID "image"

/*
 * Makes img the sandbox's root: appends it to the policy's drives
 * (read-only, id "image"), and builds the workload as `docker run` would:
 * argv = Entrypoint + (the policy's argv, or `-- ARGV`, if any; else Cmd),
 * env = the image's Env with the policy's on top (a name in both takes
 * the policy's value). l->root_image points at img, which must outlive
 * the run. Refuses a policy without room for one more drive, or a
 * workload that ends up empty or over the agent's bounds.
 */
int vj_launch_attach_root(struct vj_launch *l, const struct vj_root_image *img,
			  struct vj_err *e);

/* l->image (the --image flag): checked against roots.images, converted or
 * found in the cache, attached as above. img is the caller's to release. */
int vj_launch_open_image(struct vj_launch *l, struct vj_root_image *img, struct vj_err *e);

/* The ROOT frame for l's root image: its drive, file system, User. */
void vj_launch_root_frame(const struct vj_launch *l, struct vj_agent_root *out);

#endif
