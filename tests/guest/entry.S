/*
 * 64-bit Linux boot protocol entry: long mode, the VMM's identity map,
 * RSI = struct boot_params. Interrupts are off and there is no IDT.
 */
#include "early.h"

	.section .text.entry, "ax"
	.code64
	.globl _start
_start:
	movl BP_CMD_LINE_PTR(%rsi), %eax	/* before any set-up */
	first_marker %rax
	cld
	movq $boot_stack_top, %rsp
	movq %rsi, %rdi
	movl $BOOT_LINUX64, %esi
	call guest_main
3:	cli
	hlt
	jmp 3b

	.section .bss
	.balign 16
	.globl boot_stack_top
boot_stack:
	.skip STACK_SIZE
boot_stack_top:
