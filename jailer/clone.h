/*
 * clone3() for the launcher's children, the VMM and the vsock broker: a
 * pidfd from the start (no window in which the pid could be recycled),
 * and, on cgroup v2, the child born in the sandbox's cgroup.
 *
 * A child of a raw clone3() keeps glibc's record of the parent's thread
 * (its cached thread id): it may make system calls and ordinary library
 * calls, but must not use raise(), abort() or pthread functions. Both
 * children only build their confinement, then exec or serve.
 */
#ifndef VJ_CLONE_H
#define VJ_CLONE_H

#include <stdint.h>
#include <sys/types.h>

/*
 * flags are CLONE_* namespace flags; CLONE_PIDFD is added and *pidfd set.
 * With cgroup_fd >= 0 (a cgroup v2 directory) the child starts in that
 * cgroup (CLONE_INTO_CGROUP, Linux 5.7). Returns the child's pid in the
 * parent, 0 in the child, -errno on failure.
 */
pid_t vj_clone(uint64_t flags, int cgroup_fd, int *pidfd);

/*
 * Reaps the process of pidfd, or, when it is not the caller's child (a
 * launcher's background teardown, run.c, is its sibling), waits until it
 * has exited: a pidfd polls readable then, reaped or not, and init reaps
 * it. timeout_ms < 0: no bound. Returns 0 once it is gone, -ETIMEDOUT.
 */
int vj_pidfd_wait(int pidfd, int timeout_ms);

#endif
