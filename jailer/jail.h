/* The jail, child side: from clone() to the VMM's first instruction. */
#ifndef VJ_JAIL_H
#define VJ_JAIL_H

#include <stdbool.h>
#include <stdint.h>

#include "resources.h"
#include "rlimits.h"

/* Everything the child needs, prepared by the parent before clone(). */
struct vj_jail {
	uint32_t uid, gid;
	bool new_cgroup_ns;
	bool new_uts;
	bool mount_proc;
	int sync_fd;    /* the child's end of the parent's socketpair */
	int parent_fd;  /* the parent's end: closed first, so that its EOF
			 * tells the child the parent is gone */
	int exec_fd;
	const int *pass; /* become fds 3.. in this order */
	unsigned npass;
	int stdio[3]; /* become 0, 1 and 2; -1 keeps the launcher's */
	struct vj_rlimit_value rlimits[VJ_RLIMITS_COUNT];
	char *const *argv;
};

/*
 * Runs in the cloned child: waits for the parent's go, builds the jail
 * and executes the VMM. Returns only on failure, after sending the
 * error's text to the parent over sync_fd; the caller then _exit()s.
 */
void vj_jail_enter(const struct vj_jail *j);

/* The parent's side of the hand-shake. */
int vj_jail_send_go(int sync_fd);
/* 0 once the child has executed the VMM (its end closed on exec), or
 * -EPERM with the child's error in e. */
int vj_jail_wait_exec(int sync_fd, struct vj_err *e);

#endif
