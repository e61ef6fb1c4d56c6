/*
 * Common C entry for both boot paths: read what the VMM handed over, pick
 * the scenario named by `vjtest=` on the command line and run it.
 */
#include "guest.h"
#include "vmm/layout.h"

_Static_assert(TRAMPOLINE_ADDR + 0x1000 <= VJ_CMDLINE_ADDR &&
		       TRAMPOLINE_ADDR >= VJ_PD_ADDR + VJ_PD_PAGES * 0x1000,
	       "AP trampoline page overlaps a boot structure");

struct scenario {
	const char *name;
	void (*run)(void);
	bool needs_cpu_init; /* own GDT and an IDT that reports exceptions */
};

static const struct scenario scenarios[] = {
	{ "hello", scenario_hello, true },
	{ "reset", 0, false },
	{ "marker", scenario_marker, false },
	{ "first", scenario_first, false },
	{ "triple", scenario_triple, false },
	{ "mmio", scenario_mmio, true },
	{ "pio", scenario_pio, true },
	{ "flood", scenario_flood, false },
	{ "spin", scenario_spin, false },
	{ "wait", scenario_wait, true },
	{ "smp", scenario_smp, true },
	{ "irq", scenario_irq, true },
	{ "uart", scenario_uart, true },
	{ "ring3-pio", scenario_ring3_pio, true },
	{ "int3", scenario_int3, true },
	{ "count", scenario_count, true },
	{ "dirty", scenario_dirty, true },
	{ "kbd", scenario_kbd, true },
};

static const struct scenario *find_scenario(char *name, size_t size)
{
	if (!cmdline_word("vjtest", name, size))
		return 0;
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (!memcmp(scenarios[i].name, name, strlen(name) + 1))
			return &scenarios[i];
	}
	return 0;
}

static void usage(void)
{
	print("vjtest: usage: vjtest=NAME with NAME one of");
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		print(" %s", scenarios[i].name);
	print("\n");
}

_Noreturn void guest_main(uint64_t info_paddr, unsigned kind)
{
	static char name[32];
	const struct scenario *s;

	if (!boot_read(info_paddr, kind))
		machine_reset();
	s = find_scenario(name, sizeof(name));
	if (!s) {
		print("vjtest: FAIL no scenario \"%s\"\n", name);
		usage();
		machine_reset();
	}
	scenario = s->name;
	if (s->needs_cpu_init)
		cpu_init();
	if (s->run)
		s->run();
	machine_reset();
}
