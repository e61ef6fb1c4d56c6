/*
 * The run directory of one sandbox, <run_dir>/<id>/: the lock that makes an
 * id unique among live launchers, and a write-ahead record of everything
 * the launcher creates outside itself (cgroups, sockets, pid files), so
 * that `vmjail cleanup` can undo it after the launcher was SIGKILLed.
 *
 *	<run_dir>/<id>/lock    flock()ed by the launcher for its whole life
 *	<run_dir>/<id>/state   one "KIND VALUE" line per created thing
 *
 * and what the sandbox shows of itself (jailer/CONTROL.md): the control
 * socket, sandbox.json, status, and a detached workload's logs. A
 * detached sandbox's directory is retired rather than removed when it
 * ends: its status, sandbox.json and logs stay, for `vmjail wait` and
 * `logs`, until `vmjail rm` discards them; the id stays taken meanwhile.
 *
 * <run_dir> itself also holds what all sandboxes share: the cgroup parent
 * directories vmjail created (cgroup_parent.h).
 */
#ifndef VJ_RUNDIR_H
#define VJ_RUNDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "policy.h"

#define VJ_RUNDIR_CONTROL "control.sock"
#define VJ_RUNDIR_INFO "sandbox.json"
#define VJ_RUNDIR_STATUS "status"
#define VJ_RUNDIR_STDOUT "stdout.log"
#define VJ_RUNDIR_STDERR "stderr.log"
/* The longest state line: a kind, a path and a few fields. */
#define VJ_RUNDIR_LINE_MAX (VJ_PATH_MAX + 160)

struct vj_rundir {
	int basefd; /* <run_dir> */
	int dirfd;  /* <run_dir>/<id> */
	int lockfd; /* holds the flock */
	/* state, open for appending from the first record on: each record
	 * is then one write(); -1 until then, and again once a withdrawal
	 * replaced the file or vj_rundir_state_done() closed it */
	int statefd;
	char path[VJ_PATH_MAX];
	char id[VJ_ID_MAX + 1];
};

/*
 * Takes the id's lock, creating the directories as needed. -EBUSY when a
 * live launcher holds it. *stale is set when a dead launcher left a state
 * file behind (the caller cleans it up before reusing the id).
 */
int vj_rundir_acquire(struct vj_rundir *rd, const char *run_dir, const char *id, bool *stale,
		      struct vj_err *e);

/* Appends "kind value" to the state file before the thing is created. */
int vj_rundir_record(struct vj_rundir *rd, const char *kind, const char *value);

/* Closes the state file a record left open (the next record opens it
 * again): for a launcher whose start is over, which records little more. */
void vj_rundir_state_done(struct vj_rundir *rd);

/*
 * Takes back the newest "kind value" record, for a thing that turned out
 * to exist already, made by someone else: undoing the record would remove
 * what is not the sandbox's. The state file is replaced whole (rename), so
 * that a SIGKILL leaves either the old or the new one.
 */
int vj_rundir_withdraw(struct vj_rundir *rd, const char *kind, const char *value);

/* Calls fn for every state line; stops at the first negative return. */
int vj_rundir_state_foreach(struct vj_rundir *rd,
			    int (*fn)(void *ctx, const char *kind, const char *value), void *ctx);

/* Keeps what a detached sandbox leaves for `vmjail wait` and `logs`
 * (status, sandbox.json, logs), removes the rest, and drops the lock. */
int vj_rundir_retire(struct vj_rundir *rd);

/* Removes a retired sandbox's directory: -EBUSY when its sandbox still
 * runs, -ENOENT when there is none. */
int vj_rundir_discard(const char *run_dir, const char *id, struct vj_err *e);

/* Removes the directory and everything in it, then drops the lock. */
int vj_rundir_release(struct vj_rundir *rd);

/* Drops the lock and keeps the directory with its state, for a later
 * `vmjail cleanup` when undoing a record failed. */
void vj_rundir_close(struct vj_rundir *rd);

#endif
