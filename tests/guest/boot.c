/*
 * What the VMM hands over, whichever entry it used: the command line and
 * the memory map from boot_params (64-bit Linux protocol) or
 * hvm_start_info (PVH), and `key=value` lookups on that command line.
 */
#include <asm/bootparam.h>

#include "guest.h"
#include "vmm/layout.h"

_Static_assert(offsetof(struct boot_params, hdr.cmd_line_ptr) == BP_CMD_LINE_PTR,
	       "boot_params offset used by entry.S");

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

struct boot_info boot = { .cmdline = "" };
const char *scenario = "boot";
uint8_t first_marker_written;

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

bool boot_read(uint64_t info_paddr, unsigned kind)
{
	boot.kind = kind;
	if (!(kind == BOOT_PVH ? read_pvh(info_paddr) : read_linux64(info_paddr)))
		return false;
	if (!boot.cmdline)
		boot.cmdline = "";
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

bool cmdline_word(const char *key, char *buf, size_t size)
{
	const char *v = cmdline_find(key);
	size_t n = 0;

	if (!v)
		return false;
	while (v[n] && v[n] != ' ' && n + 1 < size) {
		buf[n] = v[n];
		n++;
	}
	buf[n] = 0;
	return true;
}
