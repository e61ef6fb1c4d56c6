/*
 * Application processor start-up. The SIPI starts an AP in real mode at
 * TRAMPOLINE_ADDR (CS = TRAMPOLINE_ADDR >> 4, IP = 0); the BSP copies the
 * bytes between trampoline_start and trampoline_end there first and
 * stores its CR3 in the copy. Addresses inside the copy are computed
 * from TRAMPOLINE_ADDR; everything outside it is linked absolute.
 */
#include "early.h"

#define T(sym) ((sym) - trampoline_start + TRAMPOLINE_ADDR)

	.text
	.code16
	.globl trampoline_start, trampoline_end, trampoline_cr3
trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl (tramp_gdt_ptr - trampoline_start)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $SEL_CODE32, $T(tramp32)

	.code32
tramp32:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl T(trampoline_cr3), %eax
	long_mode_on
	ljmp $SEL_CODE64, $ap_entry64

	.balign 8
tramp_gdt_ptr:
	.word gdt_limit
	.long gdt
	.balign 4
trampoline_cr3:
	.long 0
trampoline_end:

	/* Back in the linked image: give this AP a stack and enter C. */
	.code64
ap_entry64:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl $1, %eax
	lock xaddl %eax, ap_stack_next
	cmpl $MAX_APS, %eax
	jae 1f
	incl %eax
	imull $AP_STACK_SIZE, %eax
	leaq ap_stacks(%rax), %rsp
	call ap_main
1:	cli
	hlt
	jmp 1b

	.section .bss
	.balign 4
ap_stack_next:
	.long 0
	.balign 16
ap_stacks:
	.skip MAX_APS * AP_STACK_SIZE
