/*
 * Snapshot directories, the launcher's side: where `vmjail snapshot`
 * writes one, and what `vmjail run --from-snapshot` opens and checks. The
 * VMM writes and reads the state and memory files (common/snapshot.h,
 * vmm/SNAPSHOT.md) through descriptors the launcher opened; it never
 * sees a path.
 *
 * A snapshot directory DIR holds, all root's, DIR 0700 and the files
 * 0600:
 *   state          the VM's state (vCPUs, interrupt controllers, devices)
 *   memory         guest RAM, sparse
 *   snapshot.json  who may restore it and where it came from
 * It is written under a temporary name beside DIR and renamed to DIR only
 * once whole and on disk: a DIR that exists is a complete snapshot.
 *
 * DIR is a path whose parent lies beneath one of the host file's
 * roots.snapshots. It is opened from that root with openat2(2)
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS: a symlink or ".." anywhere below
 * the root is refused, whoever put it there.
 */
#ifndef VJ_JAILER_SNAPSHOT_DIR_H
#define VJ_JAILER_SNAPSHOT_DIR_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"
#include "snapshot.h"

#define VJ_SNAPSHOT_STATE_FILE "state"
#define VJ_SNAPSHOT_MEMORY_FILE "memory"
#define VJ_SNAPSHOT_META_FILE "snapshot.json"
/* snapshot.json's own format (the state file has its own version). */
#define VJ_SNAPSHOT_META_VERSION 1
#define VJ_SNAPSHOT_META_MAX 65536
#define VJ_SNAPSHOT_SOURCE_MAX 72

/* What snapshot.json says. */
struct vj_snapshot_meta {
	uid_t owner;         /* besides root, who may restore it; (uid_t)-1: no one */
	char source[VJ_SNAPSHOT_SOURCE_MAX]; /* the sandbox it was taken of */
	uint64_t created_ms; /* Unix time */
	char policy[VJ_PATH_MAX]; /* the source's policy file, "(flags)" */
	bool agent;          /* a guest agent ran a workload in it */
	uint32_t state_version; /* the state file's format version */
	uint32_t vcpus;
	uint64_t memory_mib;
};

/* A snapshot being written. */
struct vj_snapshot_dir {
	char path[VJ_PATH_MAX];  /* DIR, as asked */
	char name[NAME_MAX + 1]; /* its last component */
	char tmp_name[NAME_MAX + 1];
	int parent_fd;           /* the directory DIR goes in */
	int tmp_fd;              /* the temporary directory; -1: none (yet) */
	int state_fd, memory_fd; /* in it, O_RDWR: the VMM's to write */
};

/*
 * Checks DIR (absolute; its parent beneath a root; DIR itself absent)
 * and makes the temporary directory beside it with empty `state` and
 * `memory` files. 0, or -errno with one line in e and nothing left.
 */
int vj_snapshot_dir_begin(const char (*roots)[VJ_PATH_MAX], unsigned nroots, const char *dir,
			  struct vj_snapshot_dir *sd, struct vj_err *e);

/*
 * Once the VMM has written state and memory: checks the state file
 * (vj_snapshot_read_summary, so that a snapshot that could never be
 * restored is never kept), writes snapshot.json from m (its version and
 * size fields are filled here from the state file), syncs everything and
 * renames the directory to DIR. 0, or -errno with e set (the caller then
 * aborts).
 */
int vj_snapshot_dir_commit(struct vj_snapshot_dir *sd, struct vj_snapshot_meta *m,
			   struct vj_err *e);

/* Removes the temporary directory and everything in it, and closes. */
void vj_snapshot_dir_abort(struct vj_snapshot_dir *sd);

/* A snapshot opened for restoring. */
struct vj_snapshot_source {
	char path[VJ_PATH_MAX];
	int state_fd, memory_fd; /* read-only, regular files */
	struct vj_snapshot_meta meta;
	struct vj_snapshot_summary summary;
};

/*
 * Opens DIR (beneath a root, as above) for restoring by caller_uid: root,
 * or the uid snapshot.json names as its owner. Reads and checks
 * snapshot.json, validates the state file as a whole (every CRC, its
 * version, this host's CPU) and checks the memory file's size against
 * it. 0, or -errno with one line in e naming the file and what is wrong;
 * on failure nothing stays open.
 */
int vj_snapshot_open(const char (*roots)[VJ_PATH_MAX], unsigned nroots, const char *dir,
		     uid_t caller_uid, struct vj_snapshot_source *src, struct vj_err *e);
void vj_snapshot_source_close(struct vj_snapshot_source *src);

/*
 * Whether a sandbox of this policy's VM (vm: as the policy asks, before
 * any file is opened) can resume the snapshot: vCPUs, memory and the
 * device list in slot order (drives, interfaces, vsock, rng) must be the
 * snapshot's. 0, or -EINVAL with one line naming the policy key and both
 * values.
 */
int vj_snapshot_check_policy(const struct vj_snapshot_summary *s, const struct vj_vm_config *vm,
			     const char *dir, struct vj_err *e);

/* snapshot.json's text <-> struct; parsing treats the text as hostile
 * (anyone who could write the root could have written it). */
int vj_snapshot_meta_format(const struct vj_snapshot_meta *m, char **text, size_t *len);
int vj_snapshot_meta_parse(const char *text, size_t len, const char *name,
			   struct vj_snapshot_meta *m, struct vj_err *e);

#endif
