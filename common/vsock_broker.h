/*
 * The vsock connection broker: one implementation for the launcher and for
 * a standalone vmjail-vmm. A guest connecting to host port P must reach
 * the AF_UNIX socket "<uds>_P", but a jailed VMM can neither create
 * sockets (seccomp) nor name paths (empty root), so it asks the broker
 * over a SOCK_SEQPACKET pair (protocol: vsock_broker_proto.h) and gets
 * the connected socket back through SCM_RIGHTS.
 *
 * The broker is a small process outside the VMM, hardly more able than
 * the VMM, and confined the same way whoever starts it: its working
 * directory is the socket directory and it connects relative to it,
 * never through a symbolic link (vj_vsock_broker_connect()); it holds no
 * capability (effective, permitted, inheritable, ambient; the bounding
 * set too where it may drop it), is not dumpable, has NoNewPrivs, and
 * its seccomp filter allows little beyond an O_PATH open, socket(AF_UNIX)
 * and connect(). It ends when the VMM's end closes, or with its parent.
 * Started by the launcher it runs as the sandbox's ids (jailer/broker.c
 * changes them); started by a standalone VMM, as the invoking user.
 */
#ifndef VJ_VSOCK_BROKER_H
#define VJ_VSOCK_BROKER_H

#include <stdint.h>
#include <sys/types.h>

#include "vsock_broker_proto.h"

/*
 * The broker's life in its own process, right after fork or clone:
 * keeps only sock (its end of the pair) and dirfd (the socket directory),
 * works from that directory, calls change_ids(arg) when not NULL (the
 * launcher's drop to the sandbox's ids), drops every capability, dies
 * with parent (whose pid the caller read before forking), turns
 * non-dumpable, loads the filter and serves "<name>_<port>". Exits 1 if
 * any step of its confinement fails: it never serves half-confined.
 */
_Noreturn void vj_vsock_broker_main(int sock, int dirfd, const char *name, pid_t parent,
				    int (*change_ids)(void *arg), void *arg);

/*
 * Standalone mode: forks the broker for sockets "<uds_path>_<port>",
 * which keeps the invoking user's ids. *vmm_end gets the VMM's end
 * (close-on-exec), *pid the broker's. 0 or -errno.
 */
int vj_vsock_broker_start(const char *uds_path, int *vmm_end, pid_t *pid);

/* The broker's seccomp filter, with NoNewPrivs, loaded into the calling
 * thread (exposed for the test that proves it); 0 or -errno. */
int vj_vsock_broker_load_filter(void);

#endif
