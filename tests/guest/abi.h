/*
 * Constants shared by the guest's assembly and C code. Plain integers only:
 * this header is also read by the assembler. main.c checks the ones that
 * restate the VMM's contract against vmm/layout.h and <asm/bootparam.h>.
 */
#ifndef VJ_GUEST_ABI_H
#define VJ_GUEST_ABI_H

/* Our GDT (tables.S). The code64 and data selectors match the VMM's boot
 * GDT, so reloading ours never changes what CS/DS mean. */
#define SEL_CODE32 0x08
#define SEL_CODE64 0x10
#define SEL_DATA 0x18
#define SEL_UDATA 0x20
#define SEL_UCODE 0x28
#define SEL_TSS 0x30

/* Which entry the VMM used: the second argument of guest_main(). */
#define BOOT_LINUX64 0
#define BOOT_PVH 1

/* Offsets into struct boot_params and struct hvm_start_info. */
#define BP_CMD_LINE_PTR 0x228
#define HVM_CMDLINE_PADDR 0x18

#define BOOT_MARKER_ADDR 0xc0000000
#define BOOT_MARKER_VALUE 123

/* The AP start-up trampoline is copied here: below 1 MiB, 4 KiB aligned
 * (SIPI vector 0x10) and free in vmm/layout.h. */
#define TRAMPOLINE_ADDR 0x10000

#define MAX_CPUS 32
#define MAX_APS (MAX_CPUS - 1)

#define STACK_SIZE 0x4000
#define AP_STACK_SIZE 0x1000

#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define CR0_PE 0x1
#define CR0_ET 0x10
#define CR0_PG 0x80000000
#define CR4_PAE 0x20

#endif
