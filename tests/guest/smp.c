/*
 * SMP bring-up as an OS does it: the MP table says which processors
 * exist, the BSP wakes each AP with INIT-SIPI-SIPI through its local APIC,
 * each AP climbs from real mode to long mode (trampoline.S) and checks in.
 */
#include "guest.h"

#define ICR_INIT 0x00004500 /* INIT, level assert */
#define ICR_SIPI 0x00004600 /* start-up, vector in the low byte */
#define SMP_TIMEOUT_US 20000000ull

extern const char trampoline_start[], trampoline_end[];
extern uint32_t trampoline_cr3;

static struct mp_info mp;
static volatile bool cpu_up[MAX_CPUS];
static volatile unsigned aps_up, stray_aps;
static volatile uint32_t lock;

static void spin_lock(void)
{
	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
}

static void spin_unlock(void)
{
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
}

_Noreturn void ap_main(void)
{
	uint32_t id = lapic_id();
	unsigned i;

	spin_lock();
	for (i = 0; i < mp.ncpus && mp.apic_id[i] != id; i++)
		;
	if (i == mp.ncpus || cpu_up[i]) {
		print("vjtest: smp cpu %u FAIL unlisted or duplicate APIC id\n", id);
		stray_aps++;
	} else {
		print("vjtest: smp cpu %u up\n", id);
		cpu_up[i] = true;
	}
	__atomic_fetch_add(&aps_up, 1, __ATOMIC_RELEASE);
	spin_unlock();
	halt_forever();
}

static void start_aps(void)
{
	uint8_t *page = (uint8_t *)(uint64_t)TRAMPOLINE_ADDR;
	uint64_t cr3;

	memcpy(page, trampoline_start, (size_t)(trampoline_end - trampoline_start));
	__asm__ volatile("movq %%cr3, %0" : "=r"(cr3));
	*(uint32_t *)(page + ((const char *)&trampoline_cr3 - trampoline_start)) = (uint32_t)cr3;
	/* The APs are parked in wait-for-SIPI; KVM needs none of the delays
	 * real hardware wants between these. The second SIPI is ignored by
	 * an AP that took the first. */
	for (unsigned i = 0; i < mp.ncpus; i++) {
		if (mp.is_bsp[i])
			continue;
		lapic_send_ipi(mp.apic_id[i], ICR_INIT);
		lapic_send_ipi(mp.apic_id[i], ICR_SIPI | (TRAMPOLINE_ADDR >> 12));
		lapic_send_ipi(mp.apic_id[i], ICR_SIPI | (TRAMPOLINE_ADDR >> 12));
	}
}

static void print_ids(void)
{
	const char *sep = "";

	for (unsigned i = 0; i < mp.ncpus; i++) {
		if (cpu_up[i]) {
			print("%s%u", sep, mp.apic_id[i]);
			sep = ",";
		}
	}
}

void scenario_smp(void)
{
	const char *err = mp_read(&mp);
	uint32_t bsp_id;
	unsigned expected, listed = 0;

	if (err) {
		print("vjtest: smp FAIL MP table: %s\n", err);
		return;
	}
	lapic_enable();
	bsp_id = lapic_id();
	for (unsigned i = 0; i < mp.ncpus; i++) {
		if (mp.is_bsp[i] && mp.apic_id[i] == bsp_id)
			cpu_up[i] = true;
	}
	expected = mp.ncpus - 1;
	clock_start();
	start_aps();
	while (__atomic_load_n(&aps_up, __ATOMIC_ACQUIRE) < expected &&
	       clock_us() < SMP_TIMEOUT_US)
		cpu_relax();

	spin_lock();
	for (unsigned i = 0; i < mp.ncpus; i++)
		listed += cpu_up[i];
	if (aps_up == expected && !stray_aps && listed == mp.ncpus) {
		print("vjtest: smp ok %u cpus ids ", mp.ncpus);
	} else {
		print("vjtest: smp FAIL %u of %u cpus up, %u stray (BSP APIC id %u) ids ", listed,
		      mp.ncpus, stray_aps, bsp_id);
	}
	print_ids();
	print("\n");
	spin_unlock();
}
