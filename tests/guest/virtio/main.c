/*
 * Entry in C: ring 0 reads the command line and sets up the CPU, then
 * everything else runs in ring 3: the scenario named by `vjtest=`.
 */
#include "vguest.h"

#define BP_CMD_LINE_PTR 0x228 /* struct boot_params.hdr.cmd_line_ptr */

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
		fail("no vjtest= on the command line \"%s\"", cmdline);
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (!memcmp(scenarios[i].name, name, strlen(name) + 1)) {
			scenario = scenarios[i].name;
			scenarios[i].run();
			fail("scenario returned without a verdict");
		}
	}
	fail("unknown scenario \"%s\"", name);
}

_Noreturn void guest_main(uint64_t boot_params);

_Noreturn void guest_main(uint64_t boot_params)
{
	cmdline = (const char *)(uint64_t)*(const uint32_t *)(boot_params + BP_CMD_LINE_PTR);
	cpu_init();
	enter_ring3(user_main, (uint64_t)(user_stack + sizeof(user_stack)));
}
