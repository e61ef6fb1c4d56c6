/*
 * Entry in C: ring 0 reads the command line and sets up the CPU, then
 * everything else runs in ring 3: the scenario named by `vjtest=`.
 */
#include "vguest.h"

struct scenario {
	const char *name;
	void (*run)(void);
};

static const struct scenario scenarios[] = {
	{ "blk", scenario_blk },
	{ "blk-ro", scenario_blk_ro },
	{ "blk-irq", scenario_blk_irq },
	{ "rng", scenario_rng },
	{ "net", scenario_net },
	{ "vsock", scenario_vsock },
	{ "evil", scenario_evil },
	{ "bench", scenario_bench },
};

static uint8_t user_stack[0x8000] __attribute__((aligned(16)));

static void user_main(void)
{
	static char name[32];

	if (!cmdline_word("vjtest", name, sizeof(name)))
		fail("no vjtest= on the command line \"%s\"", boot.cmdline);
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (!memcmp(scenarios[i].name, name, strlen(name) + 1)) {
			scenario = scenarios[i].name;
			scenarios[i].run();
			fail("scenario returned without a verdict");
		}
	}
	fail("unknown scenario \"%s\"", name);
}

_Noreturn void guest_main(uint64_t info_paddr, unsigned kind)
{
	if (!boot_read(info_paddr, kind))
		machine_reset();
	cpu_init();
	irq_init();
	/* Interrupts on: a scenario that routes an IOAPIC pin gets them
	 * (cli/sti would fault in ring 3 on a PVM host). */
	cpu_enter_ring3(user_main, (uint64_t)(user_stack + sizeof(user_stack)), true);
}
