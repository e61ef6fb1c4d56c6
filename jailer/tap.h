/*
 * The sandbox's taps. The launcher creates each one, as root, in the
 * network namespace it has entered for the sandbox (netns.c), and hands
 * the descriptor to the VMM; the tap vanishes with its last descriptor.
 * A tap is always new: an interface that already exists, whoever made or
 * owns it, is never attached to (IFF_TUN_EXCL). And never in the host's
 * network namespace (PID 1's), which a named namespace may turn out to be.
 */
#ifndef VJ_TAP_H
#define VJ_TAP_H

#include "config.h"
#include "error.h"

/*
 * Creates tap f->name (IFF_TAP | IFF_NO_PI, non-blocking, no
 * IFF_VNET_HDR) in the calling thread's network namespace and sets f->fd.
 * netns names that namespace for messages ("" for a new one); host_ns is
 * the host's (VJ_HOST_NETNS; tests pass another). Fails with one line
 * naming the tap when the name is not an interface name, the namespace is
 * the host's or cannot be told apart from it, or the interface exists.
 */
int vj_tap_create(struct vj_file *f, const char *netns, const char *host_ns, struct vj_err *e);

#endif
