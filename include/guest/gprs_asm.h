/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Asm text that svm_run() (guest_lib/svm.c) and vmx_run() (guest_lib/vmx.c)
 * share: keeping L1's callee-saved registers on the stack across the run
 * of L2, and moving L2's GPRs between the registers and *r, with r in RDI.
 * The offsets come from the structure itself: GPRS_OFFSETS(type) lists
 * %c[reg] = offsetof(type, reg) for the asm's input operands.
 */
#ifndef KVM_SUITE_GUEST_GPRS_ASM_H
#define KVM_SUITE_GUEST_GPRS_ASM_H

#include <stddef.h>

#define GPRS_OFF(type, reg)	[reg] "i"(offsetof(type, reg))
/* Every GPR but RAX and RSP (SVM keeps those two in the VMCB). */
#define GPRS_OFFSETS(type)							\
	GPRS_OFF(type, rbx), GPRS_OFF(type, rcx), GPRS_OFF(type, rdx),		\
	GPRS_OFF(type, rsi), GPRS_OFF(type, rdi), GPRS_OFF(type, rbp),		\
	GPRS_OFF(type, r8), GPRS_OFF(type, r9), GPRS_OFF(type, r10),		\
	GPRS_OFF(type, r11), GPRS_OFF(type, r12), GPRS_OFF(type, r13),		\
	GPRS_OFF(type, r14), GPRS_OFF(type, r15)

#define PUSH_CALLEE_SAVED							\
	"push %%rbp\n\t"							\
	"push %%rbx\n\t"							\
	"push %%r12\n\t"							\
	"push %%r13\n\t"							\
	"push %%r14\n\t"							\
	"push %%r15\n\t"

#define POP_CALLEE_SAVED							\
	"pop %%r15\n\t"								\
	"pop %%r14\n\t"								\
	"pop %%r13\n\t"								\
	"pop %%r12\n\t"								\
	"pop %%rbx\n\t"								\
	"pop %%rbp\n\t"

/* L2's RCX, RDX, RSI, RBP and R8-R15 from *r. */
#define GPRS_LOAD_RCX_R15							\
	"mov %c[rcx](%%rdi), %%rcx\n\t"						\
	"mov %c[rdx](%%rdi), %%rdx\n\t"						\
	"mov %c[rsi](%%rdi), %%rsi\n\t"						\
	"mov %c[rbp](%%rdi), %%rbp\n\t"						\
	"mov %c[r8](%%rdi), %%r8\n\t"						\
	"mov %c[r9](%%rdi), %%r9\n\t"						\
	"mov %c[r10](%%rdi), %%r10\n\t"						\
	"mov %c[r11](%%rdi), %%r11\n\t"						\
	"mov %c[r12](%%rdi), %%r12\n\t"						\
	"mov %c[r13](%%rdi), %%r13\n\t"						\
	"mov %c[r14](%%rdi), %%r14\n\t"						\
	"mov %c[r15](%%rdi), %%r15\n\t"

/* L2's RBX, RCX, RDX, RSI, RBP and R8-R15 into *r. */
#define GPRS_STORE_RBX_R15							\
	"mov %%rbx, %c[rbx](%%rdi)\n\t"						\
	"mov %%rcx, %c[rcx](%%rdi)\n\t"						\
	"mov %%rdx, %c[rdx](%%rdi)\n\t"						\
	"mov %%rsi, %c[rsi](%%rdi)\n\t"						\
	"mov %%rbp, %c[rbp](%%rdi)\n\t"						\
	"mov %%r8, %c[r8](%%rdi)\n\t"						\
	"mov %%r9, %c[r9](%%rdi)\n\t"						\
	"mov %%r10, %c[r10](%%rdi)\n\t"						\
	"mov %%r11, %c[r11](%%rdi)\n\t"						\
	"mov %%r12, %c[r12](%%rdi)\n\t"						\
	"mov %%r13, %c[r13](%%rdi)\n\t"						\
	"mov %%r14, %c[r14](%%rdi)\n\t"						\
	"mov %%r15, %c[r15](%%rdi)\n\t"

#endif /* KVM_SUITE_GUEST_GPRS_ASM_H */
