/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest runtime's layouts, which the host sets up (lib/x86_vcpu.c,
 * lib/vm.c) and guest code and guest_lib/entry.S use: stacks, the register
 * frame of an exception, the per-vCPU data behind GS.base and the table of
 * exception handlers.  The guest API over them is guest/guest.h.
 */
#ifndef KVM_SUITE_X86_RUNTIME_H
#define KVM_SUITE_X86_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "x86/percpu.h"
#include "x86/processor.h"

#define GUEST_STACK_SIZE	(32 * 1024)
#define GUEST_IST_STACK_SIZE	(8 * 1024)

/* Register state at an exception, lowest address first (guest_lib/entry.S). */
struct ex_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector;
	uint64_t error_code;
	uint64_t rip;
	uint64_t cs;
	uint64_t rflags;
	uint64_t rsp;
	uint64_t ss;
};

/* entry.S pushes the 15 GPRs under the vector, error code and the CPU's frame. */
_Static_assert(offsetof(struct ex_regs, vector) == 15 * 8, "entry.S frame");
_Static_assert(sizeof(struct ex_regs) == 22 * 8, "entry.S frame");

/*
 * Per-vCPU data, reached through GS.base.  The offsets are used from
 * assembly (ASM_SAFE, entry.S: x86/percpu.h), so keep the first fields
 * where they are.
 */
struct guest_percpu {
	struct guest_percpu *self;	/* 0x00 */
	uint64_t fixup_rip;		/* 0x08: where a faulting ASM_SAFE insn resumes */
	uint64_t fault_vector;		/* 0x10: vector caught by ASM_SAFE, or NO_VECTOR */
	uint64_t fault_error_code;	/* 0x18 */
	uint64_t fault_cr2;		/* 0x20 */
	uint64_t vcpu_id;		/* 0x28 */
	uint64_t stack_top;		/* 0x30 */
	uint64_t exception_depth;	/* 0x38: nesting level inside the dispatcher */
	uint64_t escape_rsp;		/* 0x40: guest_run_safe() context, 0 if none */
};

_Static_assert(offsetof(struct guest_percpu, self) == 0, "this_percpu() reads %gs:0");
_Static_assert(offsetof(struct guest_percpu, fixup_rip) == PERCPU_FIXUP_RIP, "x86/percpu.h");
_Static_assert(offsetof(struct guest_percpu, fault_vector) == PERCPU_FAULT_VECTOR,
	       "x86/percpu.h");
_Static_assert(offsetof(struct guest_percpu, fault_error_code) == PERCPU_FAULT_ERRCODE,
	       "x86/percpu.h");
_Static_assert(offsetof(struct guest_percpu, escape_rsp) == PERCPU_ESCAPE_RSP, "x86/percpu.h");

/*
 * Exception handlers, by vector (guest_lib/exceptions.c); the host fills
 * the guest's copy of the table with vm_install_exception_handler().
 */
typedef void (*guest_handler_t)(struct ex_regs *regs);
extern guest_handler_t guest_exception_handlers[NR_VECTORS];

#endif /* KVM_SUITE_X86_RUNTIME_H */
