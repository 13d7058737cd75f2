/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest entry points that need assembly: the 256 IDT stubs, the common
 * exception path, the return trampoline of a vCPU's guest function and
 * guest_run_safe().
 */
#include "x86/percpu.h"
#include "x86/vectors.h"

	.text
	.code64

/*
 * One 16-byte stub per vector (lib/vm.c computes gate addresses from that).
 * Vectors without a CPU-pushed error code push a zero so that every frame
 * has the same shape (struct ex_regs), SDM vol. 3A 6.13.
 */
	.balign 16
	.globl guest_idt_stubs
guest_idt_stubs:
	vector = 0
	.rept 256
	.balign 16
	.if (vector < 32) && ((X86_ERROR_CODE_VECTORS >> (vector & 31)) & 1)
	.else
	pushq $0
	.endif
	pushq $vector
	jmp guest_isr_common
	vector = vector + 1
	.endr

/*
 * The CPU aligned RSP to 16 before pushing its 5-qword frame; with error
 * code, vector and 15 GPRs the call below is made on a 16-byte boundary.
 */
guest_isr_common:
	pushq %r15
	pushq %r14
	pushq %r13
	pushq %r12
	pushq %r11
	pushq %r10
	pushq %r9
	pushq %r8
	pushq %rbp
	pushq %rdi
	pushq %rsi
	pushq %rdx
	pushq %rcx
	pushq %rbx
	pushq %rax
	movq %rsp, %rdi
	cld
	call guest_exception_dispatch
	popq %rax
	popq %rbx
	popq %rcx
	popq %rdx
	popq %rsi
	popq %rdi
	popq %rbp
	popq %r8
	popq %r9
	popq %r10
	popq %r11
	popq %r12
	popq %r13
	popq %r14
	popq %r15
	addq $16, %rsp		/* vector and error code */
	iretq

/* A vCPU's guest function returns here (RSP is 16-byte aligned). */
	.globl guest_return_trampoline
guest_return_trampoline:
	call guest_function_returned
	ud2

/*
 * uint8_t guest_run_safe(void (*fn)(void *), void *arg)
 * Saves callee-saved registers and records RSP in the per-vCPU escape slot;
 * the exception dispatcher resumes at guest_run_safe_escape with RAX = vector.
 */
	.globl guest_run_safe
guest_run_safe:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %gs:PERCPU_ESCAPE_RSP	/* nested guest_run_safe() */
	movq %rsp, %gs:PERCPU_ESCAPE_RSP
	movq %rdi, %rax
	movq %rsi, %rdi
	call *%rax
	movl $NO_VECTOR, %eax
	.globl guest_run_safe_escape
guest_run_safe_escape:
	popq %gs:PERCPU_ESCAPE_RSP
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

	.section .note.GNU-stack,"",@progbits
