/*
 * Listening AF_UNIX socket files, made the same way by the launcher
 * (jailer/sockfile.c, which also records them for removal) and by a
 * standalone vmjail-vmm. Socket files live in directories others may
 * write too, and AF_UNIX addresses are paths the kernel resolves itself,
 * so
 *  - every operation runs from inside the socket's directory, on the last
 *    component alone;
 *  - a socket is made whole before it appears: bound under a random
 *    temporary name with its mode (VJ_SOCKFILE_MODE) and owner, listening,
 *    then renamed into place, so that nobody ever finds it refusing
 *    connections or open to others;
 *  - the launcher never takes a path over; a standalone VMM replaces only
 *    a socket its user left there (an earlier run's), nothing else.
 */
#ifndef VJ_SOCKET_FILE_H
#define VJ_SOCKET_FILE_H

#include <sys/types.h>

#include "config.h"
#include "error.h"
#include "host_open.h"

/* Every socket file vmjail makes has this mode: connecting needs write
 * permission, so only its owner may connect. */
#define VJ_SOCKFILE_MODE 0600
#define VJ_SOCKFILE_TMP_PREFIX ".vmjail-"
#define VJ_SOCKFILE_TMP_MAX 32

struct vj_sock_dir {
	int dirfd, saved_cwd;
	char name[VJ_PATH_MAX]; /* the last component */
};

/* Makes the directory of path the working directory (opened as how
 * says), remembering the one before. 0 or -errno. */
int vj_sock_dir_enter(struct vj_sock_dir *d, const char *path, enum vj_open_mode how);
/* Back to the working directory before; closes d's descriptors. */
void vj_sock_dir_leave(struct vj_sock_dir *d);

/* A name unguessable until the bind shows it: nobody can have made it
 * first. 0 or -errno. */
int vj_sockfile_temp_name(char out[VJ_SOCKFILE_TMP_MAX]);

/*
 * In the socket's directory: binds and listens under tmp with mode
 * VJ_SOCKFILE_MODE whatever the umask, owned by uid:gid ((uid_t)-1: left
 * to the caller's ids). *sock gets the listening socket (non-blocking,
 * close-on-exec), *file an O_PATH descriptor of the socket file, checked
 * to be a socket. path names it in messages. The caller is single-
 * threaded: the mode is set through the umask.
 */
int vj_sockfile_make_under(const char *tmp, const char *path, uid_t uid, gid_t gid, int *sock,
			   int *file, struct vj_err *e);

/*
 * A standalone VMM's socket at path, its user's own: made whole as above,
 * replacing a socket found there (left by an earlier run) but nothing
 * else. *fd gets the listening socket. A socket that cannot be put in
 * place is removed from its temporary name.
 */
int vj_sockfile_listen_own(const char *path, int *fd, struct vj_err *e);

#endif
