/*
 * 64-bit Linux boot protocol entry: long mode, the VMM's identity map,
 * RSI = struct boot_params. Interrupts are off and there is no IDT.
 */
#include "abi.h"

	.section .text.entry, "ax"
	.code64
	.globl _start
_start:
	/*
	 * `vjtest=first` measures the time from VMM exec to the first guest
	 * instruction, so the marker is written here, before any set-up,
	 * when the command line opens with that word.
	 */
	movl BP_CMD_LINE_PTR(%rsi), %eax
	movabsq $0x663d747365746a76, %rcx	/* "vjtest=f" */
	cmpq %rcx, (%rax)
	jne 1f
	cmpl $0x74737269, 8(%rax)		/* "irst" */
	jne 1f
	movzbl 12(%rax), %ecx
	testl %ecx, %ecx
	jz 2f
	cmpl $' ', %ecx
	jne 1f
2:	movl $BOOT_MARKER_ADDR, %eax		/* zero-extended, not disp32 */
	movb $BOOT_MARKER_VALUE, (%rax)
	movb $1, first_marker_written
1:	cld
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
