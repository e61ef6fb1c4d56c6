/*
 * Interrupt entry: exceptions 0-31, the virtio vector and the spurious
 * vector, each pushing one frame shape (struct irq_frame) before calling
 * irq_dispatch() in C.
 */
#include "vguest_abi.h"

	.text
	.code64

	.macro stub vec
	.balign 16
	.globl isr_\vec
isr_\vec:
	/* Vectors that push an error code: #DF #TS #NP #SS #GP #PF #AC. */
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17)
	.else
	pushq $0
	.endif
	pushq $\vec
	jmp isr_common
	.endm

	.altmacro
	.set vec, 0
	.rept 32
	stub %vec
	.set vec, vec + 1
	.endr
	stub %VEC_VIRTIO
	stub %VEC_SPURIOUS

isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call irq_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

	.section .rodata
	.balign 8
	.globl isr_exceptions
isr_exceptions:
	.macro address vec
	.quad isr_\vec
	.endm
	.set vec, 0
	.rept 32
	address %vec
	.set vec, vec + 1
	.endr
