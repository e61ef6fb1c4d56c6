#include <string.h>

#include "unit.h"
#include "cpuid.h"

static struct vj_cpuid host, out;

static void add(uint32_t fn, uint32_t idx, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	struct kvm_cpuid_entry2 *e = &host.entries[host.hdr.nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->eax = a;
	e->ebx = b;
	e->ecx = c;
	e->edx = d;
}

static struct kvm_cpuid_entry2 *get(uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < out.hdr.nent; i++)
		if (out.entries[i].function == fn && out.entries[i].index == idx)
			return &out.entries[i];
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	memset(&host, 0, sizeof(host));
	add(0, 0, 0xd, 0, 0, 0);
	add(1, 0, 0x800f12, 0xff0800, 0x7ed8320b, 0x178bfbff);
	add(4, 0, 0x121, 0, 0, 0);
	add(4, 3, 0x163, 0, 0, 0);
	add(6, 0, 0x7, 0x1, 0x9, 0);
	add(0xa, 0, 0x7300402, 0, 0, 0x603);
	add(0xb, 0, 1, 2, 0x100, 0);
	add(0xb, 1, 4, 16, 0x201, 0);
	add(0x80000001, 0, 0, 0, 1u << 22, 0);
	add(0x80000008, 0, 0x3030, 0, 0xf00f, 0);
	return 0;
}

static void hypervisor_bit_is_set(void **state)
{
	(void)state;
	vj_cpuid_for_vcpu(&host, &out, 0, 1);
	assert_true(get(1, 0)->ecx & (1u << 31));
}

static void apic_id_and_count_per_vcpu(void **state)
{
	(void)state;
	vj_cpuid_for_vcpu(&host, &out, 3, 4);
	assert_int_equal(get(1, 0)->ebx >> 24, 3);
	assert_int_equal((get(1, 0)->ebx >> 16) & 0xff, 4);
	assert_true(get(1, 0)->edx & (1u << 28));
	assert_int_equal(get(0xb, 0)->edx, 3);
	assert_int_equal(get(0xb, 1)->ebx, 4);
	assert_int_equal(get(0xb, 1)->eax, 2);
	assert_int_equal(get(4, 0)->eax >> 26, 3);
	assert_int_equal(get(0x80000008, 0)->ecx & 0xff, 3);
	/* one vCPU: no HTT */
	vj_cpuid_for_vcpu(&host, &out, 0, 1);
	assert_false(get(1, 0)->edx & (1u << 28));
}

static void kvm_leaves_are_present(void **state)
{
	struct kvm_cpuid_entry2 *e;
	(void)state;
	vj_cpuid_for_vcpu(&host, &out, 0, 1);
	e = get(0x40000000, 0);
	assert_non_null(e);
	assert_memory_equal(&e->ebx, "KVMK", 4);
	assert_memory_equal(&e->ecx, "VMKV", 4);
	assert_memory_equal(&e->edx, "M\0\0\0", 4);
	assert_int_equal(e->eax, 0x40000001);
	e = get(0x40000001, 0);
	assert_non_null(e);
	assert_true(e->eax & 1); /* clocksource */
}

static void pmu_power_and_topoext_are_hidden(void **state)
{
	(void)state;
	vj_cpuid_for_vcpu(&host, &out, 0, 2);
	assert_int_equal(get(0xa, 0)->eax, 0);
	assert_int_equal(get(6, 0)->eax, 1u << 2); /* ARAT only */
	assert_int_equal(get(6, 0)->ebx, 0);
	assert_int_equal(get(6, 0)->ecx, 0);
	assert_false(get(0x80000001, 0)->ecx & (1u << 22));
}

static void tsc_deadline_timer_is_offered_where_kvm_has_it(void **state)
{
	(void)state;
	vj_cpuid_add_emulated(&host, false);
	vj_cpuid_for_vcpu(&host, &out, 0, 1);
	assert_false(get(1, 0)->ecx & (1u << 24));
	vj_cpuid_add_emulated(&host, true);
	vj_cpuid_for_vcpu(&host, &out, 1, 2);
	assert_true(get(1, 0)->ecx & (1u << 24));
	assert_true(get(1, 0)->ecx & (1u << 31)); /* the rest stays */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(hypervisor_bit_is_set, setup),
		cmocka_unit_test_setup(apic_id_and_count_per_vcpu, setup),
		cmocka_unit_test_setup(kvm_leaves_are_present, setup),
		cmocka_unit_test_setup(pmu_power_and_topoext_are_hidden, setup),
		cmocka_unit_test_setup(tsc_deadline_timer_is_offered_where_kvm_has_it, setup),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
