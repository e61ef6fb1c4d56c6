/*
 * PVH entry (only in testguest-pvh.elf): the ELF note below makes the VMM
 * start us in 32-bit protected mode, paging off, EBX = hvm_start_info.
 * We switch to long mode on our own tables and join the common C path.
 */
#include "early.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.Xen, "a", @note
	.balign 4
	.long 4				/* namesz: "Xen" and its NUL */
	.long 4				/* descsz: a 32-bit physical address */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long pvh_start

	.text
	.code32
	.globl pvh_start
pvh_start:
	cld
	movl HVM_CMDLINE_PADDR(%ebx), %eax
	first_marker %eax

	/* The VMM's flat selectors are unknown to us: load ours. */
	lgdt gdt_ptr
	ljmp $SEL_CODE32, $3f
3:	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl $boot_stack_top, %esp

	movl $pml4, %eax
	long_mode_on
	ljmp $SEL_CODE64, $4f

	.code64
4:	movl %ebx, %edi				/* zero-extends */
	movl $BOOT_PVH, %esi
	call guest_main
5:	cli
	hlt
	jmp 5b
