/* Scope-bound ownership of fds and heap memory. */
#ifndef VJ_CLEANUP_H
#define VJ_CLEANUP_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static inline void vj_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void vj_freep(void *p)
{
	free(*(void **)p);
}

#define cleanup_fd __attribute__((cleanup(vj_closep)))
#define cleanup_free __attribute__((cleanup(vj_freep)))
/* Any other: fn takes a pointer to the variable. */
#define cleanup_with(fn) __attribute__((cleanup(fn)))

/* Hand ownership out of a cleanup-managed variable. */
static inline int vj_steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

#define steal_ptr(pp) ({ __typeof__(*(pp)) _p = *(pp); *(pp) = NULL; _p; })

#define VJ_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
