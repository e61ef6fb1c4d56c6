#ifndef VJ_CPUID_H
#define VJ_CPUID_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#define VJ_CPUID_MAX_ENTRIES 256

struct vj_cpuid {
	struct kvm_cpuid2 hdr;
	struct kvm_cpuid_entry2 entries[VJ_CPUID_MAX_ENTRIES];
};

/* What KVM supports on this host, fetched once per VM. */
int vj_cpuid_supported(int kvm_fd, struct vj_cpuid *out);

/* Adds to a supported table what KVM emulates but does not report there:
 * the TSC-deadline timer, where KVM has KVM_CAP_TSC_DEADLINE_TIMER. */
void vj_cpuid_add_emulated(struct vj_cpuid *c, bool tsc_deadline);

/* Derives the CPUID table of one vCPU: topology for vcpu_index of nvcpus,
 * hypervisor bit, KVM paravirtual leaves, no PMU, no power management but
 * the always-running APIC timer. */
void vj_cpuid_for_vcpu(const struct vj_cpuid *supported, struct vj_cpuid *out,
		       unsigned vcpu_index, unsigned nvcpus);

#endif
