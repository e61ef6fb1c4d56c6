#include "cpuid.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#define CPUID_HYPERVISOR_BIT (1u << 31)   /* leaf 1 ECX */
#define CPUID_TSC_DEADLINE_BIT (1u << 24) /* leaf 1 ECX */
#define CPUID_ARAT_BIT (1u << 2)          /* leaf 6 EAX */
#define CPUID_HTT_BIT (1u << 28)          /* leaf 1 EDX */
#define CPUID_TOPOEXT_BIT (1u << 22)      /* leaf 0x80000001 ECX */
#define KVM_SIGNATURE_LEAF 0x40000000u
#define KVM_FEATURES_LEAF 0x40000001u

int vj_cpuid_supported(int kvm_fd, struct vj_cpuid *out)
{
	memset(out, 0, sizeof(*out));
	out->hdr.nent = VJ_CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &out->hdr) < 0)
		return -errno;
	vj_cpuid_add_emulated(out, ioctl(kvm_fd, KVM_CHECK_EXTENSION,
					 KVM_CAP_TSC_DEADLINE_TIMER) > 0);
	return 0;
}

static struct kvm_cpuid_entry2 *find(struct vj_cpuid *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->hdr.nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

/*
 * KVM_GET_SUPPORTED_CPUID leaves out the TSC-deadline timer, which KVM's
 * in-kernel LAPIC emulates (an hrtimer) when it has the capability: the
 * VMM is to offer it. Without it Linux calibrates the LAPIC timer against
 * the PIT for 100 ms of jiffies and verifies it for as long again; in the
 * nested test host the verification failed and the guest fell back to
 * the PIT for its timer, each tick an IOAPIC interrupt.
 */
void vj_cpuid_add_emulated(struct vj_cpuid *c, bool tsc_deadline)
{
	struct kvm_cpuid_entry2 *e = find(c, 1, 0);

	if (e && tsc_deadline)
		e->ecx |= CPUID_TSC_DEADLINE_BIT;
}

static struct kvm_cpuid_entry2 *find_or_add(struct vj_cpuid *c, uint32_t fn)
{
	struct kvm_cpuid_entry2 *e = find(c, fn, 0);

	if (e || c->hdr.nent >= VJ_CPUID_MAX_ENTRIES)
		return e;
	e = &c->entries[c->hdr.nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	return e;
}

static unsigned order_base_2(unsigned n)
{
	unsigned b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

/* One package, one thread per core, nvcpus cores: what Linux reads from
 * leaves 1, 4, 0xb and (AMD) 0x80000008 to build its topology. */
static void set_topology(struct vj_cpuid *c, unsigned id, unsigned n)
{
	struct kvm_cpuid_entry2 *e;

	for (uint32_t i = 0; i < c->hdr.nent; i++) {
		e = &c->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffffu) | (id << 24) | (n << 16);
			if (n > 1)
				e->edx |= CPUID_HTT_BIT;
			else
				e->edx &= ~CPUID_HTT_BIT;
			break;
		case 4:
			/* Cores per package - 1 in EAX[31:26]; one thread shares each cache
			 * level but the last, which all cores share. */
			e->eax &= 0x3ffu;
			e->eax |= (n - 1) << 26;
			if (((e->eax >> 5) & 7) >= 3)
				e->eax |= (n - 1) << 14;
			break;
		case 0xb:
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0; /* shift to the core level: one thread per core */
				e->ebx = 1;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				e->eax = order_base_2(n);
				e->ebx = n;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000001:
			/* Without TOPOEXT Linux takes the AMD topology from 0x80000008. */
			e->ecx &= ~CPUID_TOPOEXT_BIT;
			break;
		case 0x80000008:
			e->ecx = (e->ecx & ~0xf0ffu) | (order_base_2(n) << 12) | (n - 1);
			break;
		}
	}
}

void vj_cpuid_for_vcpu(const struct vj_cpuid *supported, struct vj_cpuid *out,
		       unsigned vcpu_index, unsigned nvcpus)
{
	struct kvm_cpuid_entry2 *e;

	memcpy(out, supported, sizeof(*out));
	set_topology(out, vcpu_index, nvcpus);

	if ((e = find(out, 1, 0)))
		e->ecx |= CPUID_HYPERVISOR_BIT;
	/* No thermal/power management and no PMU: the guest cannot use them
	 * and they only widen what it can probe. Leaf 6 keeps ARAT, which is
	 * KVM's to report (its LAPIC timer runs whatever the vCPU's idle
	 * state): without it Linux doubts the LAPIC timer in idle. */
	if ((e = find(out, 6, 0))) {
		e->eax &= CPUID_ARAT_BIT;
		e->ebx = e->ecx = e->edx = 0;
	}
	if ((e = find(out, 0xa, 0)))
		e->eax = e->ebx = e->ecx = e->edx = 0;

	/* The KVM leaves make Linux use kvm-clock; without them its timer
	 * calibration is unreliable under nested virtualization. */
	if ((e = find_or_add(out, KVM_SIGNATURE_LEAF))) {
		e->eax = KVM_FEATURES_LEAF;
		memcpy(&e->ebx, "KVMK", 4);
		memcpy(&e->ecx, "VMKV", 4);
		memcpy(&e->edx, "M\0\0\0", 4);
	}
	if ((e = find_or_add(out, KVM_FEATURES_LEAF)) && e->eax == 0) {
		/* KVM did not report its features: offer the clocksource pair. */
		e->eax = (1u << 0) | (1u << 3); /* CLOCKSOURCE, CLOCKSOURCE2 */
	}
}
