/*
 * Interrupt entry stubs: one per vector, each pushing a uniform frame
 * (struct irq_frame in guest.h) before calling irq_dispatch() in C.
 */
	.altmacro				/* stub %vec passes the value */
	.text
	.code64

	.macro stub vec
	.balign 16
isr_\vec:
	/* Exceptions that push an error code: #DF #TS #NP #SS #GP #PF #AC
	 * #CP #VC #SX. The others get a zero, so the frame has one shape. */
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq $0
	.endif
	pushq $\vec
	jmp isr_common
	.endm

	.set vec, 0
	.rept 256
	stub %vec
	.set vec, vec + 1
	.endr

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
	addq $16, %rsp				/* vector and error code */
	iretq

	.section .rodata
	.balign 8
	.globl isr_table
isr_table:
	.macro address vec
	.quad isr_\vec
	.endm

	.set vec, 0
	.rept 256
	address %vec
	.set vec, vec + 1
	.endr
