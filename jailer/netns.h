/*
 * The sandbox's network namespace: a new, empty one, or a named one
 * (/run/netns/NAME, made by `ip netns add` and set up by the operator).
 * The launcher itself steps into it while it attaches the taps and clones
 * the child, which inherits it, then steps back: joining it from inside a
 * new user namespace would need privileges the child no longer has.
 */
#ifndef VJ_NETNS_H
#define VJ_NETNS_H

#include <stdbool.h>

#include "error.h"

struct vj_netns {
	int host_fd; /* where the launcher came from; -1 when it never left */
};

/* Enters the named namespace, or a new one when name is "". */
int vj_netns_enter(struct vj_netns *ns, const char *name, struct vj_err *e);

/* Returns to the host's namespace. Safe to call when not entered. */
int vj_netns_leave(struct vj_netns *ns, struct vj_err *e);

/* The host's network namespace: PID 1's, whoever started the launcher. */
#define VJ_HOST_NETNS "/proc/1/ns/net"

/* Sets *same to whether the calling thread's network namespace is the one
 * at ns_path (a /proc/PID/ns/net file, compared by nsfs device and inode).
 * Returns 0, or -errno when either cannot be looked at. */
int vj_netns_is(const char *ns_path, bool *same);

#endif
