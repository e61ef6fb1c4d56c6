/*
 * Common C entry for both boot paths: read what the VMM handed over, pick
 * the scenario named by `vjtest=` on the command line and run it.
 */
#include <asm/bootparam.h>

#include "guest.h"
#include "vmm/layout.h"

_Static_assert(offsetof(struct boot_params, hdr.cmd_line_ptr) == BP_CMD_LINE_PTR,
	       "boot_params offset used by entry.S");
_Static_assert(BOOT_MARKER_ADDR == VJ_BOOT_MARKER_ADDR, "marker address");
_Static_assert(BOOT_MARKER_VALUE == VJ_BOOT_MARKER_VALUE, "marker value");
_Static_assert(TRAMPOLINE_ADDR + 0x1000 <= VJ_CMDLINE_ADDR &&
		       TRAMPOLINE_ADDR >= VJ_PD_ADDR + VJ_PD_PAGES * 0x1000,
	       "AP trampoline page overlaps a boot structure");

#define HVM_START_MAGIC 0x336ec578u
#define E820_RAM 1

/* Xen's struct hvm_start_info (version 1) and its memory map entries. */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(offsetof(struct hvm_start_info, cmdline_paddr) == HVM_CMDLINE_PADDR,
	       "hvm_start_info offset used by pvh.S");

struct boot_info boot;
uint8_t first_marker_written;
const char *scenario = "boot";

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
};

_Noreturn void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

_Noreturn void machine_reset(void)
{
	/* i8042 command 0xFE pulses the CPU reset line: the VMM exits 0. */
	outb(VJ_PORT_I8042_CMD, 0xfe);
	halt_forever();
}

void boot_marker(void)
{
	mmio_write8(BOOT_MARKER_ADDR, BOOT_MARKER_VALUE);
}

static uint64_t ram_top(uint64_t addr, uint64_t size, uint32_t type, uint64_t top)
{
	uint64_t end = addr + size;

	if (type == E820_RAM && end > top && end <= VJ_MMIO_GAP_START)
		return end;
	return top;
}

static bool read_linux64(uint64_t paddr)
{
	const struct boot_params *bp = (const struct boot_params *)paddr;
	unsigned n = bp->e820_entries;

	boot.cmdline = (const char *)(bp->hdr.cmd_line_ptr | (uint64_t)bp->ext_cmd_line_ptr << 32);
	if (n > E820_MAX_ENTRIES_ZEROPAGE)
		n = E820_MAX_ENTRIES_ZEROPAGE;
	boot.memmap_count = n;
	for (unsigned i = 0; i < n; i++)
		boot.ram_top = ram_top(bp->e820_table[i].addr, bp->e820_table[i].size,
				       bp->e820_table[i].type, boot.ram_top);
	return true;
}

static bool read_pvh(uint64_t paddr)
{
	const struct hvm_start_info *si = (const struct hvm_start_info *)paddr;
	const struct hvm_memmap_entry *map;

	if (si->magic != HVM_START_MAGIC) {
		print("vjtest: boot FAIL hvm_start_info magic 0x%x\n", si->magic);
		return false;
	}
	boot.cmdline = (const char *)si->cmdline_paddr;
	boot.memmap_count = si->version >= 1 ? si->memmap_entries : 0;
	map = (const struct hvm_memmap_entry *)si->memmap_paddr;
	for (unsigned i = 0; i < boot.memmap_count && i < 128; i++)
		boot.ram_top = ram_top(map[i].addr, map[i].size, map[i].type, boot.ram_top);
	return true;
}

/* The value of `key=` when it opens a word of the command line. */
static const char *cmdline_find(const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = boot.cmdline; *p; p++) {
		if ((p == boot.cmdline || p[-1] == ' ') && !memcmp(p, key, klen) &&
		    p[klen] == '=')
			return p + klen + 1;
	}
	return 0;
}

uint64_t cmdline_u64(const char *key, uint64_t def)
{
	const char *v = cmdline_find(key);
	uint64_t n = 0;

	if (!v || *v < '0' || *v > '9')
		return def;
	for (; *v >= '0' && *v <= '9'; v++)
		n = n * 10 + (uint64_t)(*v - '0');
	return n;
}

static const struct scenario *find_scenario(char *name, size_t size)
{
	const char *v = cmdline_find("vjtest");
	size_t n = 0;

	if (!v)
		return 0;
	while (v[n] && v[n] != ' ' && n + 1 < size) {
		name[n] = v[n];
		n++;
	}
	name[n] = 0;
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (!memcmp(scenarios[i].name, name, n + 1))
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

_Noreturn void guest_main(uint64_t info_paddr, unsigned kind);

_Noreturn void guest_main(uint64_t info_paddr, unsigned kind)
{
	static char name[32];
	const struct scenario *s;

	boot.kind = kind;
	boot.cmdline = "";
	if (!(kind == BOOT_PVH ? read_pvh(info_paddr) : read_linux64(info_paddr)))
		machine_reset();
	if (!boot.cmdline)
		boot.cmdline = "";

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
