/*
 * Tables fixed at link time, so that no emulated loop has to build them:
 * the GDT and an identity map of the first 4 GiB with 2 MiB pages that
 * ring 3 may use too (the PVH entry and ring-3 scenarios run on it).
 */
#include "abi.h"

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
	.quad 0x00cf9a000000ffff		/* SEL_CODE32: flat 32-bit code */
	.quad 0x00af9a000000ffff		/* SEL_CODE64: 64-bit code */
	.quad 0x00cf92000000ffff		/* SEL_DATA */
	.quad 0x00cff2000000ffff		/* SEL_UDATA: DPL 3 data */
	.quad 0x00affa000000ffff		/* SEL_UCODE: DPL 3 64-bit code */
gdt_tss:					/* SEL_TSS: filled in by cpu_init() */
	.quad 0
	.quad 0
gdt_end:
	.globl gdt_limit
	.set gdt_limit, gdt_end - gdt - 1

	/* One pointer for lgdt in both modes: 32-bit code reads only the
	 * low half of the base. */
	.balign 8
gdt_ptr:
	.word gdt_limit
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
