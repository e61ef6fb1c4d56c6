/*
 * The parent directories of sandboxes' cgroups, and which of them are
 * vmjail's to remove.
 *
 * A sandbox's group is <parent>/<id> in each hierarchy. Directories of
 * <parent> that do not exist are created, and each is recorded in
 * <run_dir>/cgroup.parents (by path, and by inode once made) before it is
 * made, so that a SIGKILL between the two never leaves one unrecorded.
 * A recorded directory is removed once empty, by whichever launcher ends
 * its last sandbox, or by `vmjail cleanup` replaying a dead launcher's
 * state. A directory that existed before, the operator's, is never
 * removed, and nothing in it is written but, on cgroup v2, the controllers
 * its children need in its cgroup.subtree_control: its own limits, which
 * cap all sandboxes together, stay as the operator set them.
 *
 * Creating and removing parents is serialized by an flock() on <run_dir>
 * itself, which all launchers sharing the run directory take. Creating a
 * sandbox's group is not: it is a mkdir() that fails when a parent has
 * just been removed, and then starts over with the lock held.
 */
#ifndef VJ_CGROUP_PARENT_H
#define VJ_CGROUP_PARENT_H

#include <stdbool.h>
#include <stddef.h>

#include "cgroup.h"
#include "error.h"

/* The way from one hierarchy's root to a parent, and what a sandbox needs
 * along it. */
struct vj_cgroup_way {
	const char *mount;   /* the hierarchy's root directory */
	const char *parent;  /* below it: "<own>/<parent>" or "<parent>"; "" for the root */
	size_t keep;         /* parent's first keep bytes, the launcher's own cgroup: exists */
	enum vj_cgroup_version version;
	const char *enable;  /* v2: controllers to enable along the way, "cpu memory pids" */
	bool cpuset;         /* v1 cpuset: a new group needs its parent's CPUs and nodes */
	/* The parents' lock once taken, kept for the caller's next hierarchy
	 * (it closes it; -1 until taken); NULL: released before returning. */
	int *lock;
};

/* Takes the lock on parents: an fd to close to release it, or -errno. */
int vj_cgroup_parent_lock(int run_dir_fd, struct vj_err *e);

/*
 * Makes every directory of w->parent exist and fit for a child: missing
 * ones are created (recorded in run_dir_fd first), on v2 the controllers
 * are enabled from the root down, and a v1 cpuset directory it creates
 * gets its parent's CPUs and nodes. Creating needs the lock: without it
 * (locked false) a missing directory returns -EAGAIN, as does one that
 * vanishes meanwhile; the caller starts over with the lock.
 */
int vj_cgroup_parent_prepare(const struct vj_cgroup_way *w, int run_dir_fd, bool locked,
			     struct vj_err *e);

/*
 * mkdir() of <w->mount>/<name>, a group directly below w->parent, which
 * is prepared first. A parent another launcher removes in between makes
 * the mkdir() fail with ENOENT: then it starts over with the lock, under
 * which no launcher of this run directory removes one. -EEXIST, with no
 * message: the group was there already, someone else's.
 */
int vj_cgroup_group_create(const struct vj_cgroup_way *w, const char *name, int run_dir_fd,
			   struct vj_err *e);

/* A v1 cpuset group vmjail made: its parent's CPUs and memory nodes,
 * without which nothing can join it. */
int vj_cgroup_cpuset_inherit(const char *mount, const char *name, struct vj_err *e);

/*
 * Removes <mount>/<parent> and then each directory above it, as long as
 * each is recorded as vmjail's (the same directory: same inode) and empty;
 * stops at the first that is not. Takes the lock.
 */
int vj_cgroup_parent_release(const char *mount, const char *parent, int run_dir_fd,
			     struct vj_err *e);

#endif
