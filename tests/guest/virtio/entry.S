/*
 * 64-bit Linux boot protocol entry: long mode on the VMM's identity map,
 * RSI = struct boot_params, interrupts off.
 */
	.section .text.entry, "ax"
	.code64
	.globl _start
_start:
	cli
	cld
	movq $kernel_stack_top, %rsp
	movq %rsi, %rdi
	call guest_main
1:	cli
	hlt
	jmp 1b

	.section .bss
	.balign 16
	.globl kernel_stack_top
kernel_stack:
	.skip 0x4000
kernel_stack_top:
