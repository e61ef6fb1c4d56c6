/*
 * Tables fixed at link time, so that no emulated ring-0 loop builds them:
 * a GDT with ring-3 segments and a TSS slot, and an identity map of the
 * first 4 GiB in 2 MiB pages that ring 3 may use (the drivers run there,
 * natively, and reach the virtio registers through this map).
 */
#include "vguest_abi.h"

#define PTE_P 0x1
#define PTE_RW 0x2
#define PTE_US 0x4
#define PTE_PS 0x80
#define PTE_TABLE (PTE_P | PTE_RW | PTE_US)

	.section .data
	.balign 16
	.globl gdt, gdt_tss, gdt_ptr
gdt:
	.quad 0
	.quad 0
	.quad 0x00af9a000000ffff		/* SEL_CODE64 */
	.quad 0x00cf92000000ffff		/* SEL_DATA */
	.quad 0x00cff2000000ffff		/* SEL_UDATA: DPL 3 */
	.quad 0x00affa000000ffff		/* SEL_UCODE: DPL 3, 64-bit */
gdt_tss:					/* SEL_TSS: filled in by cpu_init() */
	.quad 0
	.quad 0
gdt_end:

	.balign 8
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt

	.section .data.pagetables, "aw"
	.balign 4096
	.globl pml4
pml4:
	.quad pdpt + PTE_TABLE
	.fill 511, 8, 0
pdpt:
	.quad pd + PTE_TABLE
	.quad pd + 0x1000 + PTE_TABLE
	.quad pd + 0x2000 + PTE_TABLE
	.quad pd + 0x3000 + PTE_TABLE
	.fill 508, 8, 0
pd:
	.set page, 0
	.rept 2048
	.quad (page << 21) | PTE_P | PTE_RW | PTE_US | PTE_PS
	.set page, page + 1
	.endr
