/*
 * Assembler macros for the steps that more than one entry path takes
 * before C runs (entry.S, pvh.S, trampoline.S). Assembly only.
 */
#ifndef VJ_GUEST_EARLY_H
#define VJ_GUEST_EARLY_H

#include "abi.h"

/*
 * `vjtest=first` measures the time from VMM exec to the first guest
 * instruction: when the command line opens with that word, write the
 * boot marker at once and note it in first_marker_written. \areg is the
 * A register in the mode's address width (%eax in 32-bit code, %rax in
 * 64-bit code) and holds the command line's address; clobbers it and %ecx.
 */
	.macro first_marker areg
	cmpl $0x65746a76, (\areg)		/* "vjte" */
	jne .Lnot_first\@
	cmpl $0x663d7473, 4(\areg)		/* "st=f" */
	jne .Lnot_first\@
	cmpl $0x74737269, 8(\areg)		/* "irst" */
	jne .Lnot_first\@
	movzbl 12(\areg), %ecx
	testl %ecx, %ecx
	jz .Lfirst\@
	cmpl $' ', %ecx
	jne .Lnot_first\@
.Lfirst\@:
	movl $BOOT_MARKER_ADDR, %eax		/* zero-extended, not disp32 */
	movb $BOOT_MARKER_VALUE, (\areg)
	movb $1, first_marker_written
.Lnot_first\@:
	.endm

/*
 * From 32-bit protected mode with paging off to long mode on the page
 * tables whose address is in %eax: compatibility mode until the caller's
 * far jump to SEL_CODE64. Clobbers %eax, %ecx, %edx.
 */
	.macro long_mode_on
	movl %eax, %cr3
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	.endm

#endif
