/* The state the boot processor starts in: long mode with an identity map
 * for the Linux 64-bit protocol, flat 32-bit protected mode for PVH. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "boot/loader.h"
#include "layout.h"

#define GDT_CODE64 2 /* selector 0x10: __BOOT_CS of the boot protocol */
#define GDT_DATA 3   /* selector 0x18: __BOOT_DS */
#define GDT_TSS 4    /* selector 0x20, two slots in long mode */
#define GDT_CODE32 6 /* selector 0x30: PVH entry */
#define GDT_ENTRIES 7

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define PTE_P 1ull
#define PTE_RW 2ull
#define PTE_PS 0x80ull

static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

static struct kvm_segment segment(uint64_t entry, unsigned index)
{
	uint32_t limit = (uint32_t)((entry & 0xffff) | (((entry >> 48) & 0xf) << 16));

	return (struct kvm_segment){
		.base = ((entry >> 16) & 0xffffff) | (((entry >> 56) & 0xff) << 24),
		/* KVM wants the limit in bytes: scale it when G is set, or a
		 * 32-bit PVH entry above 1 MiB faults on its first fetch. */
		.limit = (entry >> 55) & 1 ? limit << 12 | 0xfff : limit,
		.selector = (uint16_t)(index * 8),
		.type = (entry >> 40) & 0xf,
		.present = (entry >> 47) & 1,
		.dpl = (entry >> 45) & 3,
		.db = (entry >> 54) & 1,
		.s = (entry >> 44) & 1,
		.l = (entry >> 53) & 1,
		.g = (entry >> 55) & 1,
		.avl = (entry >> 52) & 1,
	};
}

static int write_gdt(const struct vj_guest_mem *mem, uint64_t gdt[GDT_ENTRIES])
{
	memset(gdt, 0, GDT_ENTRIES * sizeof(uint64_t));
	gdt[GDT_CODE64] = gdt_entry(0xa09b, 0, 0xfffff);
	gdt[GDT_DATA] = gdt_entry(0xc093, 0, 0xfffff);
	gdt[GDT_TSS] = gdt_entry(0x808b, 0, 0xfffff);
	gdt[GDT_CODE32] = gdt_entry(0xc09b, 0, 0xfffff);
	if (vj_mem_write(mem, VJ_GDT_ADDR, gdt, GDT_ENTRIES * sizeof(uint64_t)) < 0)
		return -EFAULT;
	uint64_t idt = 0;
	return vj_mem_write(mem, VJ_IDT_ADDR, &idt, sizeof(idt));
}

/* Identity map of the first 4 GiB with 2 MiB pages: covers the kernel,
 * the boot structures and the MMIO gap. */
static int write_page_tables(const struct vj_guest_mem *mem)
{
	uint64_t pml4[512] = { VJ_PDPT_ADDR | PTE_P | PTE_RW };
	uint64_t pdpt[512] = { 0 };
	uint64_t pd[512];

	for (unsigned i = 0; i < VJ_PD_PAGES; i++)
		pdpt[i] = (VJ_PD_ADDR + i * 0x1000ull) | PTE_P | PTE_RW;
	if (vj_mem_write(mem, VJ_PML4_ADDR, pml4, sizeof(pml4)) < 0 ||
	    vj_mem_write(mem, VJ_PDPT_ADDR, pdpt, sizeof(pdpt)) < 0)
		return -EFAULT;
	for (unsigned i = 0; i < VJ_PD_PAGES; i++) {
		for (unsigned j = 0; j < 512; j++)
			pd[j] = ((uint64_t)(i * 512 + j) << 21) | PTE_P | PTE_RW | PTE_PS;
		if (vj_mem_write(mem, VJ_PD_ADDR + i * 0x1000ull, pd, sizeof(pd)) < 0)
			return -EFAULT;
	}
	return 0;
}

static int setup_sregs(int vcpu_fd, const uint64_t gdt[GDT_ENTRIES], bool pvh)
{
	struct kvm_sregs s;
	struct kvm_segment code, data;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	code = pvh ? segment(gdt[GDT_CODE32], GDT_CODE32) : segment(gdt[GDT_CODE64], GDT_CODE64);
	data = segment(gdt[GDT_DATA], GDT_DATA);
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.tr = segment(gdt[GDT_TSS], GDT_TSS);
	s.gdt.base = VJ_GDT_ADDR;
	s.gdt.limit = GDT_ENTRIES * 8 - 1;
	s.idt.base = VJ_IDT_ADDR;
	s.idt.limit = 0;
	if (pvh) {
		s.cr0 = CR0_PE | CR0_ET;
		s.cr3 = 0;
		s.cr4 = 0;
		s.efer = 0;
	} else {
		s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
		s.cr3 = VJ_PML4_ADDR;
		s.cr4 = CR4_PAE;
		s.efer = EFER_LME | EFER_LMA;
	}
	return ioctl(vcpu_fd, KVM_SET_SREGS, &s) < 0 ? -errno : 0;
}

int vj_boot_setup_bsp(const struct vj_guest_mem *mem, int vcpu_fd,
		      const struct vj_kernel_image *img)
{
	uint64_t gdt[GDT_ENTRIES];
	bool pvh = img->kind == VJ_ENTRY_PVH;
	struct kvm_regs regs = { .rflags = 2, .rip = img->entry };
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	int r;

	if ((r = write_gdt(mem, gdt)) < 0)
		return r;
	if (!pvh && (r = write_page_tables(mem)) < 0)
		return r;
	if ((r = setup_sregs(vcpu_fd, gdt, pvh)) < 0)
		return r;
	if (pvh) {
		regs.rbx = VJ_PVH_START_INFO_ADDR;
	} else {
		regs.rsi = VJ_ZERO_PAGE_ADDR;
		regs.rsp = regs.rbp = VJ_BOOT_STACK_ADDR;
	}
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0 || ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}
