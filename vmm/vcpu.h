#ifndef VJ_VCPU_H
#define VJ_VCPU_H

#include "cpuid.h"
#include "vm.h"

/* Creates vCPU `index` with its CPUID, MSRs and local APIC wiring. */
int vj_vcpu_create(struct vj_vm *vm, unsigned index, const struct vj_cpuid *supported);

/* vCPU thread, parked: the vCPU's whole state (vmm/SNAPSHOT.md). */
int vj_vcpu_save(struct vj_vcpu *v, struct vj_snap_vcpu *out);
/* Before the vCPU threads start: the state of a snapshot; *step names
 * the ioctl that refused it. */
int vj_vcpu_restore(struct vj_vcpu *v, const struct vj_snap_vcpu *in, const char **step);

/* Starts one thread per vCPU. Each installs its seccomp filter, then waits
 * until vj_vcpus_release() before entering the guest. */
int vj_vcpus_start(struct vj_vm *vm);
void vj_vcpus_release(struct vj_vm *vm);
void vj_vcpus_join(struct vj_vm *vm);

#endif
