/*
 * Ring-3 port I/O. Ring-3 guest code runs natively on these hosts while
 * ring 0 is emulated, so this is the loop benchmarks time: `vjloops=N`
 * writes to the POST port (each one a VM exit to the VMM), then the boot
 * marker, the report and the reset, all from ring 3 (ports allowed by
 * IOPL 3 and the TSS I/O bitmap, see cpu.c).
 */
#include "guest.h"
#include "vmm/layout.h"

#define DEFAULT_LOOPS 1000

static uint64_t loops;
static uint8_t user_stack[0x2000] __attribute__((aligned(16)));

static uint16_t current_cs(void)
{
	uint16_t cs;

	__asm__ volatile("movw %%cs, %0" : "=r"(cs));
	return cs;
}

static void ring3_main(void)
{
	uint16_t cs = current_cs();

	if ((cs & 3) != 3) {
		print("vjtest: ring3-pio FAIL running with CS 0x%x, not in ring 3\n", cs);
		machine_reset();
	}
	for (uint64_t i = 0; i < loops; i++)
		outb(VJ_PORT_POST, (uint8_t)i);
	boot_marker();
	print("vjtest: ring3-pio ok %lu exits\n", loops);
	machine_reset();
}

void scenario_ring3_pio(void)
{
	loops = cmdline_u64("vjloops", DEFAULT_LOOPS);
	cpu_enter_ring3(ring3_main, (uint64_t)(user_stack + sizeof(user_stack)), false);
}
