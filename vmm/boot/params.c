/* What the guest reads at boot: e820, command line, boot_params or
 * hvm_start_info. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/loader.h"
#include "layout.h"

#define E820_RAM 1
#define E820_RESERVED 2

#define HVM_START_MAGIC 0x336ec578u

/* Layout of Xen's struct hvm_start_info (version 1) and its tables, as
 * the PVH boot ABI defines them. */
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

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(VJ_PVH_START_INFO_ADDR + sizeof(struct hvm_start_info) <= VJ_PVH_MODLIST_ADDR,
	       "PVH start info overlaps its module list");
_Static_assert(VJ_PVH_MODLIST_ADDR + sizeof(struct hvm_modlist_entry) <= VJ_PVH_MEMMAP_ADDR,
	       "PVH module list overlaps its memory map");

unsigned vj_e820_build(const struct vj_guest_mem *mem, struct boot_e820_entry *out)
{
	uint64_t low_end = vj_mem_low_end(mem);
	unsigned n = 0;

	out[n++] = (struct boot_e820_entry){ 0, VJ_EBDA_START, E820_RAM };
	/* The MP table lives at the EBDA; the BIOS area above it is no RAM. */
	out[n++] = (struct boot_e820_entry){ VJ_EBDA_START, VJ_HIMEM_START - VJ_EBDA_START,
					     E820_RESERVED };
	out[n++] = (struct boot_e820_entry){ VJ_HIMEM_START, low_end - VJ_HIMEM_START, E820_RAM };
	if (mem->nregions > 1)
		out[n++] = (struct boot_e820_entry){ mem->regions[1].gpa, mem->regions[1].size,
						     E820_RAM };
	return n;
}

static int write_cmdline(const struct vj_guest_mem *mem, const struct vj_kernel_image *img,
			 const struct vj_boot_args *a, struct vj_err *err)
{
	if (a->cmdline_len > img->cmdline_max)
		return vj_fail(err, -E2BIG,
			       "command line too long: %zu bytes, the kernel accepts at most %u",
			       a->cmdline_len, img->cmdline_max);
	if (vj_mem_write(mem, VJ_CMDLINE_ADDR, a->cmdline, a->cmdline_len + 1) < 0)
		return vj_fail(err, -EFAULT, "command line does not fit in guest memory");
	return 0;
}

static int write_linux64(const struct vj_guest_mem *mem, const struct vj_kernel_image *img,
			 const struct vj_boot_args *a)
{
	struct boot_params bp;
	struct boot_e820_entry e820[VJ_E820_MAX];
	unsigned n = vj_e820_build(mem, e820);

	memset(&bp, 0, sizeof(bp));
	if (img->bzimage) {
		bp.hdr = img->hdr;
	} else {
		bp.hdr.boot_flag = 0xaa55;
		bp.hdr.header = 0x53726448; /* "HdrS" */
		bp.hdr.version = 0x020c; /* what we implement of the protocol */
		bp.hdr.kernel_alignment = 0x1000000;
	}
	bp.hdr.type_of_loader = 0xff; /* undefined loader */
	bp.hdr.loadflags |= LOADED_HIGH;
	bp.hdr.cmd_line_ptr = (uint32_t)VJ_CMDLINE_ADDR;
	bp.hdr.cmdline_size = img->cmdline_max;
	bp.hdr.ramdisk_image = (uint32_t)a->initrd_addr;
	bp.hdr.ramdisk_size = (uint32_t)a->initrd_size;
	bp.ext_ramdisk_image = (uint32_t)(a->initrd_addr >> 32);
	bp.ext_ramdisk_size = (uint32_t)(a->initrd_size >> 32);
	bp.e820_entries = (uint8_t)n;
	memcpy(bp.e820_table, e820, n * sizeof(e820[0]));
	return vj_mem_write(mem, VJ_ZERO_PAGE_ADDR, &bp, sizeof(bp));
}

static int write_pvh(const struct vj_guest_mem *mem, const struct vj_boot_args *a)
{
	struct boot_e820_entry e820[VJ_E820_MAX];
	struct hvm_memmap_entry map[VJ_E820_MAX];
	unsigned n = vj_e820_build(mem, e820);
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = VJ_CMDLINE_ADDR,
		.memmap_paddr = VJ_PVH_MEMMAP_ADDR,
		.memmap_entries = n,
	};
	int r;

	for (unsigned i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_entry){ e820[i].addr, e820[i].size, e820[i].type, 0 };
	if (a->initrd_size) {
		struct hvm_modlist_entry mod = { .paddr = a->initrd_addr, .size = a->initrd_size };
		si.nr_modules = 1;
		si.modlist_paddr = VJ_PVH_MODLIST_ADDR;
		if ((r = vj_mem_write(mem, VJ_PVH_MODLIST_ADDR, &mod, sizeof(mod))) < 0)
			return r;
	}
	if ((r = vj_mem_write(mem, VJ_PVH_MEMMAP_ADDR, map, n * sizeof(map[0]))) < 0)
		return r;
	return vj_mem_write(mem, VJ_PVH_START_INFO_ADDR, &si, sizeof(si));
}

int vj_boot_params_write(const struct vj_guest_mem *mem, const struct vj_kernel_image *img,
			 const struct vj_boot_args *args, struct vj_err *err)
{
	int r = write_cmdline(mem, img, args, err);

	if (r < 0)
		return r;
	r = img->kind == VJ_ENTRY_PVH ? write_pvh(mem, args) : write_linux64(mem, img, args);
	if (r < 0)
		return vj_fail(err, r, "boot parameters do not fit in guest memory");
	return 0;
}
