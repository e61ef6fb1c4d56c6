/* Internal: the tenant policy schema, split by section (policy.c, vm.c,
 * jail.c), and the pieces the overrides and the host file share. */
#ifndef VJ_POLICY_SCHEMA_INTERNAL_H
#define VJ_POLICY_SCHEMA_INTERNAL_H

#include "policy_load.h"
#include "schema.h"
#include "settings.h"

/* Walking one policy file. Nodes are remembered for the checks that span
 * several keys, so that their errors point at the right line too; NULL
 * means the value is a default. */
struct vj_policy_walk {
	struct vj_walk w;
	struct vj_policy *p;
	const struct vj_host_config *h;
	const struct vj_ynode *root, *jail;
	const struct vj_ynode *cg_cpus, *cg_period;
	const struct vj_ynode *vm_res[VJ_VM_NRESOURCES];
	const struct vj_ynode *cg_limit[VJ_CGROUP_NLIMITS];
	const struct vj_ynode *uid, *gid, *userns, *namespaces, *netns;
	const struct vj_ynode *drive_path[VJ_MAX_DRIVES];
	uint32_t item; /* drive or net being walked */
	uint64_t cpus_milli; /* jail.cgroup.cpus as written; VJ_UNLIMITED: unset */
	size_t workload_bytes;
};

int vj_walk_vm(struct vj_walk *w, const struct vj_ynode *n, void *obj);
int vj_walk_jail(struct vj_walk *w, const struct vj_ynode *n, void *obj);

/* Checks that span the jail's keys, once the whole file is read. */
int vj_jail_check(struct vj_policy_walk *pw);

/* Defaults that depend on the host's maxima (policy/README.md). */
void vj_jail_defaults(struct vj_jail_policy *j, const struct vj_host_config *h);

/* Namespace names in enum vj_ns bit order. */
extern const char *const vj_ns_names[7];
int vj_walk_namespaces(struct vj_walk *w, const struct vj_ynode *n, uint32_t *out);

/* A row of VJ_VM_RESOURCES (vm.vcpus, limits.timeout, ...) into the
 * policy, within the host's maximum of it. */
int vj_walk_vm_resource(struct vj_walk *w, const struct vj_ynode *n, void *obj,
			enum vj_vm_resource i);
/* vj_walk_vm_resource() as a key handler, one per row of a section. */
#define VJ_VM_RESOURCE_HANDLER(field, key)                                                     \
	static int res_##field(struct vj_walk *w, const struct vj_ynode *n, void *obj)         \
	{                                                                                      \
		return vj_walk_vm_resource(w, n, obj, VJ_VM_##field);                          \
	}
#define VJ_VM_RESOURCE_KEY(field, key) { key, res_##field, false },
/* The guest's memory fits the jail's cgroup memory limit. */
bool vj_memory_fits_cgroup(const struct vj_policy *p);

/* *slot = strdup(a) or "a=b" when b, counting the bytes (terminator
 * included) into *bytes. -E2BIG past VJ_WORKLOAD_BYTES_MAX, -ENOMEM. */
int vj_workload_dup(char **slot, const char *a, const char *b, size_t *bytes);

/* Host file loading with the default path as a parameter (for tests). */
int vj_host_config_load_from(struct vj_host_config *host, const char *path,
			     const char *default_path, struct vj_err *err);

#endif
