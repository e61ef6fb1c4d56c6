/*
 * The VM's resources defined once (the family's table; settings.h has the
 * others and the struct of a row). Macros only, so that the overrides'
 * struct (policy_load.h) takes its fields from it too; a row's constants
 * are those of policy.h, scalar.h and common/config.h.
 */
#ifndef VJ_POLICY_VM_RESOURCES_H
#define VJ_POLICY_VM_RESOURCES_H

/*
 * The VM's resources: vm.vcpus, vm.memory and limits.* in a policy,
 * max.KEY in the host file (struct vj_vm_resources). A row has the
 * columns of settings.h's families and two more, SECTION and WHOLE_MI:
 *
 *   X(FIELD, SECTION, KEY, FLAG, UNIT, MIN, MAX, WORD, WHOLE_MI, HOST_MAX, META, HELP)
 *
 * SECTION is the policy section of KEY, a bare word so that each
 * section's key table can take its own rows (VJ_VM_IN_*); FLAG the
 * override of `vmjail run POLICY --FLAG VALUE`, NULL for none; WHOLE_MI a size that must be a
 * whole number of Mi (the VMM maps guest memory in MiB). A policy's value
 * is stored where the VMM and the supervisor read it (vm.c,
 * vj_vm_resource_set()); its default is the policy's (policy.c).
 */
#define VJ_VM_RESOURCES(X)                                                                      \
	X(vcpus, vm, "vcpus", "vcpus", VJ_UNIT_INTEGER, 1, VJ_VCPUS_MAX, NULL, false, 4, "N",   \
	  "virtual CPUs")                                                                       \
	X(memory, vm, "memory", "memory", VJ_UNIT_SIZE, (uint64_t)VJ_MEMORY_MIB_MIN << 20,     \
	  (uint64_t)VJ_MEMORY_MIB_MAX << 20, NULL, true, 4096ull << 20, "SIZE", "guest memory")  \
	X(timeout, limits, "timeout", "timeout", VJ_UNIT_DURATION, 1, VJ_UNLIMITED,            \
	  VJ_UNLIMITED_WORD, false, 3600ull * 1000, "DURATION",                                 \
	  "wall-clock limit: 500ms, 30s, 2m, 1h (a unit is needed)")                            \
	X(console_output, limits, "console_output", NULL, VJ_UNIT_SIZE, 1, VJ_UNLIMITED,       \
	  VJ_UNLIMITED_WORD, false, 16ull << 20, "SIZE", "cap on the guest console's output")   \
	X(output, limits, "output", "output", VJ_UNIT_SIZE, 1, VJ_UNLIMITED, VJ_UNLIMITED_WORD, \
	  false, 1ull << 30, "SIZE", "cap on each of the workload's stdout and stderr")

/* VJ_VM_IN_<row's section>_<wanted>(ROW, field, key): ROW(field, key) if
 * they are the same section, nothing otherwise; a section's walker takes
 * its own rows with
 *   #define MINE(field, section, key, ...) VJ_VM_IN_##section##_vm(ROW, field, key)
 *   VJ_VM_RESOURCES(MINE) */
#define VJ_VM_IN_vm_vm(ROW, field, key) ROW(field, key)
#define VJ_VM_IN_vm_limits(ROW, field, key)
#define VJ_VM_IN_limits_vm(ROW, field, key)
#define VJ_VM_IN_limits_limits(ROW, field, key) ROW(field, key)

#endif
