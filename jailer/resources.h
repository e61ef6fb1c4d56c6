/*
 * Everything the VMM will use, opened by the launcher before the jail
 * exists: /dev/kvm, kernel, initrd, drives, console file, taps, the vsock
 * socket, the VMM binary itself and the VM configuration (a sealed memfd).
 * Inside the jail these descriptors are all there is: the VMM never opens
 * a path.
 */
#ifndef VJ_RESOURCES_H
#define VJ_RESOURCES_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"
#include "host_open.h"
#include "launch.h"

struct vj_rundir;

/* kvm, kernel, initrd, console, drives, taps, vsock socket, directory and
 * broker, the control channel, a snapshot's state and memory, and the
 * configuration itself. */
#define VJ_PASS_MAX (11 + VJ_MAX_DRIVES + VJ_MAX_NETS)

struct vj_resources {
	/* The policy's VM description with the launcher's descriptors. */
	struct vj_vm_config cfg;
	/*
	 * The VMM's descriptor table from 3 on, in this order; the last is
	 * the configuration memfd, whose copy of cfg already carries these
	 * final numbers.
	 */
	int pass[VJ_PASS_MAX];
	unsigned npass;
	int config_fd; /* its number inside the jail */
	int memfd;     /* the configuration, on the launcher's side */
	int exec_fd;   /* the program to run in the jail */
	int devnull;   /* the VMM's stdin, and more of its stdio (run.c) */
};

/* Nothing opened yet: every descriptor -1. */
void vj_resources_init(struct vj_resources *res);

/*
 * Opens every resource of l into res (initialized). Taps are created
 * (tap.h) in the calling thread's network namespace, so the caller enters
 * the sandbox's first. Paths are
 * opened without following symbolic links: the launcher runs as root on
 * paths that a tenant's policy named. The vsock socket is recorded in rd
 * before it is made (sockfile.h).
 */
int vj_resources_open(struct vj_resources *res, const struct vj_launch *l, struct vj_rundir *rd,
		      struct vj_err *e);

/* Lays the VMM's fd table out (every descriptor in res->cfg, including
 * any the caller added) and seals the configuration that describes it
 * into a memfd, last in the table. */
int vj_resources_seal(struct vj_resources *res, struct vj_err *e);

/*
 * A listening socket of the launcher's own at "<vsock uds>_<port>", where
 * the broker brings the guest's connections to that port: recorded in rd
 * for removal, owned by uid:gid (the broker's ids) with mode 0600
 * (sockfile.h). Returns 0 with *fd set (close-on-exec; never passed to
 * the VMM).
 */
int vj_resources_listen_port(const struct vj_resources *res, uint32_t port, struct vj_rundir *rd,
			     uid_t uid, gid_t gid, int *fd, struct vj_err *e);

/*
 * A sandbox that resumes a snapshot: the VMM gets its state and memory
 * files (copies of state_fd and memory_fd, read-only) in place of a
 * kernel and initrd, which vj_resources_open() left unopened when
 * l->from_snapshot was set. Before vj_resources_seal().
 */
int vj_resources_restore(struct vj_resources *res, const char *dir, int state_fd, int memory_fd,
			 struct vj_err *e);

/* Closes whatever was opened. Safe to call twice. */
void vj_resources_close(struct vj_resources *res);

#endif
