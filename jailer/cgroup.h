/*
 * The sandbox's cgroup: <parent>/<id> in each hierarchy
 * that has a controller the sandbox uses, the limits written, the child
 * moved in, the group removed when the sandbox ends.
 *
 * v1 or v2 is decided per controller by what the host mounts: a host with
 * the v1 controllers and a cgroup2 "unified" mount beside them (systemd's
 * hybrid layout) is a v1 host for every controller the v1 mounts carry.
 *
 * A parent starting with '/' is taken from each hierarchy's root; any other
 * lies under the launcher's own cgroup in that hierarchy (so that sandboxes
 * stay inside whatever limits the launcher runs under). Directories of the
 * parent that do not exist are created and removed again once empty;
 * existing ones are the operator's and stay (cgroup_parent.h).
 */
#ifndef VJ_CGROUP_H
#define VJ_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "policy.h"

struct vj_rundir;

enum vj_cgroup_version { VJ_CGROUP_NONE = 0, VJ_CGROUP_V1 = 1, VJ_CGROUP_V2 = 2 };

/* The controllers a sandbox may use. */
enum vj_cgroup_ctl { VJ_CG_CPU, VJ_CG_MEMORY, VJ_CG_PIDS, VJ_CG_CPUSET, VJ_CG_IO, VJ_CG_COUNT };

/* What the host offers. */
struct vj_cgroup_host {
	enum vj_cgroup_version version[VJ_CG_COUNT]; /* NONE: not available */
	char mount[VJ_CG_COUNT][VJ_PATH_MAX];         /* hierarchy root */
	char own[VJ_CG_COUNT][VJ_PATH_MAX];           /* the launcher's cgroup there */
	bool memory_swap; /* v1: memory.memsw.* exists (swap accounting is on) */
};

/* One control file to write in the sandbox's cgroup. */
struct vj_cgroup_setting {
	enum vj_cgroup_ctl ctl;
	const char *file;
	char value[VJ_CPUSET_MAX + 32];
};

#define VJ_CGROUP_SETTINGS_MAX 10

/* The live groups of one sandbox (one per distinct path). */
struct vj_cgroup {
	const struct vj_cgroup_host *host;
	unsigned ngroups;
	struct {
		char name[VJ_PATH_MAX]; /* relative to the hierarchy root */
		unsigned ctls;          /* 1u << enum vj_cgroup_ctl */
	} groups[VJ_CG_COUNT];
};

/* The controller's name on this host ("blkio" on v1, "io" on v2). */
const char *vj_cgroup_ctl_name(enum vj_cgroup_version v, enum vj_cgroup_ctl c);

/*
 * The control files and values that implement lim on host, in the order
 * they must be written. Fails naming the limit when its controller or
 * file is missing or the value is out of range. Pure: no I/O.
 */
int vj_cgroup_plan(const struct vj_cgroup_host *host, const struct vj_cgroup_limits *lim,
		   struct vj_cgroup_setting out[VJ_CGROUP_SETTINGS_MAX], size_t *n,
		   struct vj_err *e);

/* The path of this process's cgroup for one controller, from the text of
 * /proc/self/cgroup ("/" when it sits at the root). Pure. */
int vj_cgroup_own_path(const char *proc_cgroup, enum vj_cgroup_version v, const char *ctl_name,
		       char *out, size_t outlen);

/*
 * The hierarchy a controller is mounted in, from the text of
 * /proc/self/mountinfo: the first v1 mount ("cgroup") whose options name
 * ctl_name, else the first cgroup2 mount for which v2_offers(mount,
 * ctl_name, ctx) says its root offers the controller. Escapes in the
 * mount path (\040 and the like) are undone. 0 with out and *v filled,
 * -ENOENT when none has it, -ENAMETOOLONG.
 */
int vj_cgroup_find_mount(const char *mountinfo, const char *ctl_name,
			 bool (*v2_offers)(const char *mount, const char *ctl_name, void *ctx),
			 void *ctx, char *out, size_t outlen, enum vj_cgroup_version *v);

/* Finds the controllers, versions and the launcher's own cgroups (the
 * mount table is read once per process). */
int vj_cgroup_host_probe(struct vj_cgroup_host *host, struct vj_err *e);

/*
 * Creates <parent>/<id> for every controller the sandbox uses (cpu,
 * memory and pids when present; cpuset and io when limited) and writes
 * lim. Each group and its parent are recorded in rd before they are
 * created, so that vj_cgroup_remove_recorded() can undo them from any exit
 * path; a group that exists already is someone else's, an error.
 */
int vj_cgroup_create(struct vj_cgroup *cg, const struct vj_cgroup_host *host, const char *parent,
		     const char *id, const struct vj_cgroup_limits *lim, struct vj_rundir *rd,
		     struct vj_err *e);

/*
 * Opens cg's group on cgroup v2 (O_PATH, close-on-exec) for clone3()'s
 * CLONE_INTO_CGROUP, and puts its path in path: a process cloned into it
 * is counted and limited there from its first instruction, and no move
 * (which waits for an RCU grace period) is needed. *fd is -1 (and path
 * untouched) when cg has no v2 group; 0 or -errno.
 */
int vj_cgroup_open_v2(const struct vj_cgroup *cg, char *path, size_t len, int *fd,
		      struct vj_err *e);

/* Moves pid into every v1 group of cg (v2 groups are entered at clone). */
int vj_cgroup_attach_v1(const struct vj_cgroup *cg, pid_t pid, struct vj_err *e);

/* The memory the sandbox's cgroup uses now (v2 memory.current, v1
 * memory.usage_in_bytes): 0, or -errno (-ENOENT: no memory group). */
int vj_cgroup_memory_usage(const struct vj_cgroup *cg, uint64_t *bytes);

/* Whether cg has a group on cgroup v1, which vj_cgroup_attach_v1() joins. */
bool vj_cgroup_has_v1(const struct vj_cgroup *cg);

/*
 * Undoes one state record: kind "cgroup" kills what still runs in the
 * group, waits for it to empty and removes it; kind "cgroup-parent"
 * removes the parent, and the directories above it, that vmjail created
 * (recorded in run_dir_fd, cgroup_parent.h) once no sandbox uses them.
 * value is "<controller>[,<controller>...] <name>".
 */
int vj_cgroup_remove_recorded(const char *kind, const char *value, int run_dir_fd,
			      struct vj_err *e);

#endif
