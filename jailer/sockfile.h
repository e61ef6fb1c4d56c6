/*
 * The socket files the launcher listens on: the vsock socket (a policy's
 * vm.vsock.uds, or <run_dir>/<id>.vsock) and, with a workload, the
 * agent's "<uds>_1024". They live in directories a tenant's policy names,
 * beside sockets of other users and other sandboxes, so the launcher
 * (with common/socket_file.h, which a standalone VMM uses too)
 *  - works from inside the directory, opened without following symbolic
 *    links, on the last component alone;
 *  - never takes a path over: one that exists (a live socket, a dead one,
 *    anything else) is an error naming it;
 *  - makes the socket whole before it appears: bound under a random
 *    temporary name with its mode (0600) and owner, listening, then
 *    renamed into place with RENAME_NOREPLACE, so that nobody ever finds
 *    it refusing connections, and a second launcher cannot take it;
 *  - removes only the socket it made, told by its device, inode and change
 *    time, recorded in the run directory (rundir.h) before and after.
 */
#ifndef VJ_SOCKFILE_H
#define VJ_SOCKFILE_H

#include <sys/types.h>

#include "error.h"
#include "rundir.h"
#include "socket_file.h"

/*
 * Listens at path, a socket file of mode VJ_SOCKFILE_MODE owned by
 * uid:gid ((uid_t)-1: by the launcher's own ids). Recorded in rd as a
 * "socket" record before anything is made. Returns 0 with *fd set (a
 * listening, non-blocking, close-on-exec socket). The caller is single-
 * threaded: the mode is set through the umask.
 */
int vj_sockfile_listen(const char *path, uid_t uid, gid_t gid, struct vj_rundir *rd, int *fd,
		       struct vj_err *e);

/* Undoes a "socket" record (its value): removes the socket file if it is
 * still the one made, and warns about, but keeps, one it cannot prove its
 * own. */
int vj_sockfile_remove_recorded(const char *value, struct vj_err *e);

#endif
