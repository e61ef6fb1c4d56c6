#ifndef VJ_CPUID_H
#define VJ_CPUID_H

#include <stdint.h>
#include <linux/kvm.h>

#define VJ_CPUID_MAX_ENTRIES 256

struct vj_cpuid {
	struct kvm_cpuid2 hdr;
	struct kvm_cpuid_entry2 entries[VJ_CPUID_MAX_ENTRIES];
};

/* What KVM supports on this host, fetched once per VM. */
int vj_cpuid_supported(int kvm_fd, struct vj_cpuid *out);

/* Derives the CPUID table of one vCPU: topology for vcpu_index of nvcpus,
 * hypervisor bit, KVM paravirtual leaves, no PMU, no power management. */
void vj_cpuid_for_vcpu(const struct vj_cpuid *supported, struct vj_cpuid *out,
		       unsigned vcpu_index, unsigned nvcpus);

#endif
