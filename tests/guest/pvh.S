/*
 * PVH entry (only in testguest-pvh.elf): the ELF note below makes the VMM
 * start us in 32-bit protected mode, paging off, EBX = hvm_start_info.
 * We switch to long mode on our own tables and join the common C path.
 */
#include "abi.h"

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
	/* Same early marker as entry.S, for `vjtest=first` opening the line. */
	movl HVM_CMDLINE_PADDR(%ebx), %eax
	cmpl $0x65746a76, (%eax)		/* "vjte" */
	jne 1f
	cmpl $0x663d7473, 4(%eax)		/* "st=f" */
	jne 1f
	cmpl $0x74737269, 8(%eax)		/* "irst" */
	jne 1f
	movzbl 12(%eax), %ecx
	testl %ecx, %ecx
	jz 2f
	cmpl $' ', %ecx
	jne 1f
2:	movl $BOOT_MARKER_ADDR, %eax
	movb $BOOT_MARKER_VALUE, (%eax)
	movb $1, first_marker_written
1:
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

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $SEL_CODE64, $4f

	.code64
4:	movl %ebx, %edi				/* zero-extends */
	movl $BOOT_PVH, %esi
	call guest_main
5:	cli
	hlt
	jmp 5b
