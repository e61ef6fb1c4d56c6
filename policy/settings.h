/*
 * Numeric settings defined once, one table per family. A row is
 *
 *   X(FIELD, KEY, FLAG, UNIT, MIN, MAX, WORD, HOST_MAX, META, HELP)
 *
 * FIELD     the uint64_t field of the family's struct (policy.h)
 * KEY       the policy key (jail.cgroup.KEY, jail.rlimits.KEY) and the
 *           host file's maximum (max.cgroup.KEY, max.rlimits.KEY)
 * FLAG      the `vmjail run` flag: --FLAG VALUE (cgroup), --rlimit
 *           FLAG=VALUE (rlimits)
 * UNIT      the grammar of its value (enum vj_unit, scalar.h), the same
 *           in the policy, the host file and on the command line
 * MIN, MAX  the bound every form checks, before the operator's maximum
 * WORD      the word that leaves it unset (VJ_UNLIMITED), or NULL: then a
 *           policy that leaves it out does not set it, and the operator's
 *           maximum, which has no word either, is a number
 * HOST_MAX  the built-in operator maximum (VJ_UNLIMITED: none)
 * META      what --help shows for the value; HELP its description
 *
 * Everything else comes from the row: the key's walker, the host file's,
 * the printed form (vmjail check, inspect), the flag, its parser and its
 * bound. A policy that leaves out a row with a WORD gets the operator's
 * maximum, so that a host's limits hold by default.
 */
#ifndef VJ_POLICY_SETTINGS_H
#define VJ_POLICY_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "policy.h"
#include "scalar.h"
#include "schema.h"
#include "vm_resources.h"

#define VJ_PIDS_MAX 4194304 /* the kernel's PID_MAX_LIMIT */
#define VJ_WEIGHT_MAX 10000 /* cgroup v2 weights are 1..10000, 100 the default */
/* jail.cgroup.cpus and --cpus, in thousandths of a CPU: up to every CPU a
 * cpuset can name. */
#define VJ_CPUS_MILLI_MAX ((uint64_t)VJ_CPUSET_NR * 1000)

/* jail.cgroup: struct vj_cgroup_limits. cpus and the cpusets are not
 * numbers of one field each and stay apart (jail.c). */
#define VJ_CGROUP_LIMITS(X)                                                                     \
	X(memory_max, "memory", "memory-max", VJ_UNIT_SIZE, 1u << 20, VJ_UNLIMITED,              \
	  VJ_UNLIMITED_WORD, 5ull << 30, "SIZE", "memory limit (VMM and guest memory together)") \
	X(memory_swap_max, "swap", "memory-swap-max", VJ_UNIT_SIZE, 0, VJ_UNLIMITED,            \
	  VJ_UNLIMITED_WORD, VJ_UNLIMITED, "SIZE", "swap limit")                                \
	X(pids_max, "pids", "pids-max", VJ_UNIT_INTEGER, 1, VJ_PIDS_MAX, VJ_UNLIMITED_WORD, 256, \
	  "N", "limit on tasks (threads included)")                                             \
	X(io_weight, "io_weight", "io-weight", VJ_UNIT_INTEGER, 1, VJ_WEIGHT_MAX, NULL,          \
	  VJ_WEIGHT_MAX, "N", "relative block I/O weight, 1..10000, where available (100: default)") \
	X(cpu_weight, "cpu_weight", "cpu-weight", VJ_UNIT_INTEGER, 1, VJ_WEIGHT_MAX, NULL,       \
	  VJ_WEIGHT_MAX, "N", "relative CPU weight, 1..10000 (100: the default)")

/* The VM's resources: vm_resources.h (VJ_VM_RESOURCES), apart for the
 * overrides' struct (policy_load.h). */

/* jail.rlimits: struct vj_rlimits. VJ_UNLIMITED is "the launcher's
 * default", so it is no value a policy can write. */
#define VJ_RLIMITS(X)                                                                           \
	X(nofile, "nofile", "nofile", VJ_UNIT_INTEGER, 1, VJ_UNLIMITED - 1, VJ_DEFAULT_WORD,     \
	  VJ_UNLIMITED, "N", "open files")                                                      \
	X(nproc, "nproc", "nproc", VJ_UNIT_INTEGER, 1, VJ_UNLIMITED - 1, VJ_DEFAULT_WORD,        \
	  VJ_UNLIMITED, "N", "processes of the sandbox's uid")                                  \
	X(fsize, "fsize", "fsize", VJ_UNIT_SIZE, 0, VJ_UNLIMITED - 1, VJ_DEFAULT_WORD,           \
	  VJ_UNLIMITED, "SIZE", "largest file it may write")                                    \
	X(core, "core", "core", VJ_UNIT_SIZE, 0, VJ_UNLIMITED - 1, VJ_DEFAULT_WORD, 0, "SIZE",   \
	  "core dump size (0 unless the operator allows more)")                                 \
	X(memlock, "memlock", "memlock", VJ_UNIT_SIZE, 0, VJ_UNLIMITED - 1, VJ_DEFAULT_WORD,     \
	  VJ_UNLIMITED, "SIZE", "locked memory")

struct vj_setting {
	const char *key;
	const char *flag;
	enum vj_unit unit;
	uint64_t min, max;
	const char *word;
	bool whole_mi; /* a size in whole Mi (VJ_VM_RESOURCES) */
	uint64_t host_max;
	const char *section; /* of the policy key: "vm", "limits" (VJ_VM_RESOURCES) */
	const char *meta, *help;
	size_t offset; /* of the field in the family's struct */
};

#define VJ_SETTING_INDEX(field, ...) VJ_CGL_##field,
enum vj_cgroup_limit { VJ_CGROUP_LIMITS(VJ_SETTING_INDEX) VJ_CGROUP_NLIMITS };
#undef VJ_SETTING_INDEX
#define VJ_SETTING_INDEX(field, ...) VJ_RL_##field,
enum vj_rlimit { VJ_RLIMITS(VJ_SETTING_INDEX) VJ_NRLIMITS };
#undef VJ_SETTING_INDEX
#define VJ_SETTING_INDEX(field, ...) VJ_VM_##field,
enum vj_vm_resource { VJ_VM_RESOURCES(VJ_SETTING_INDEX) VJ_VM_NRESOURCES };
#undef VJ_SETTING_INDEX

extern const struct vj_setting vj_cgroup_settings[VJ_CGROUP_NLIMITS];
extern const struct vj_setting vj_rlimit_settings[VJ_NRLIMITS];
extern const struct vj_setting vj_vm_settings[VJ_VM_NRESOURCES];

/* The row's field in a struct of its family. */
static inline uint64_t *vj_setting_field(const struct vj_setting *s, void *family)
{
	return (uint64_t *)((char *)family + s->offset);
}

static inline uint64_t vj_setting_get(const struct vj_setting *s, const void *family)
{
	return *(const uint64_t *)((const char *)family + s->offset);
}

/* The bound a value meets: the row's, within the operator's maximum. */
struct vj_bound vj_setting_bound(const struct vj_setting *s, uint64_t host_max);

/*
 * text as the row's value within the operator's maximum: the one parser
 * of every form (policy, host file, command line). -EINVAL with
 * "expected ..., found ..." in err.
 */
int vj_setting_parse(const struct vj_setting *s, const char *text, uint64_t host_max,
		     uint64_t *out, struct vj_err *err);

/* The same, with found the description of text for "found ..." (the
 * policy walker's, which knows the node). */
int vj_setting_parse_found(const struct vj_setting *s, const char *text, const char *found,
			   uint64_t host_max, uint64_t *out, struct vj_err *err);

/* A VM resource into the policy, where the VMM and the supervisor read
 * it, from the row's unit (VJ_UNLIMITED: none); and back. */
void vj_vm_resource_set(struct vj_policy *p, enum vj_vm_resource i, uint64_t v);
uint64_t vj_vm_resource_get(const struct vj_policy *p, enum vj_vm_resource i);

/* "--FLAG: expected ..., found ...": the same check for a flag. */
int vj_setting_parse_flag(const struct vj_setting *s, const char *flag, const char *text,
			  uint64_t host_max, uint64_t *out, struct vj_err *err);

#endif
