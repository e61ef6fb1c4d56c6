/*
 * The transports of a live migration (`vmjail migrate ID --to DEST`,
 * `vmjail receive ... --from SRC`): the stream between the two VMMs is a
 * connected socket the caller opens with its own rights and hands on.
 *
 *   unix:PATH      a Unix stream socket (receive listens there)
 *   tcp:HOST:PORT  TCP; to or on a non-loopback address only with
 *                  --insecure: the stream is neither encrypted nor
 *                  authenticated, ssh is the way between hosts
 *   exec:COMMAND   (migrate) COMMAND run by /bin/sh, its stdin and stdout
 *                  the stream: `exec:ssh host vmjail receive POLICY --from stdio`
 *   stdio          (receive) this process's stdin and stdout are the stream
 */
#ifndef VJ_JAILER_MIGRATE_TRANSPORT_H
#define VJ_JAILER_MIGRATE_TRANSPORT_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* The source's side: a connected stream to DEST, or -errno with one line
 * naming DEST. *child: exec:'s command (0 for the others), to reap. */
int vj_migrate_connect(const char *dest, bool insecure, pid_t *child, struct vj_err *e);

/* The destination's side: waits (up to timeout_ms) for the one source on
 * SRC and returns the connected stream; stdio: a socket whose other end
 * a child process (*child) relays to stdin and stdout. */
int vj_migrate_accept(const char *src, bool insecure, int timeout_ms, pid_t *child,
		      struct vj_err *e);

/* Whether SRC or DEST is one of the forms above (for option checking). */
bool vj_migrate_endpoint_ok(const char *s, bool receiving);

#endif
