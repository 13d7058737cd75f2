// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest exception dispatch: ASM_SAFE fixups, guest_run_safe() escapes,
 * registered handlers, and the report for everything else.
 */
#include "guest/guest.h"

guest_handler_t guest_exception_handlers[NR_VECTORS];

extern char guest_run_safe_escape[];

const char *exception_mnemonic(unsigned int vector)
{
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "vector",
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "vector", "vector",
		"vector", "vector", "vector", "vector", "#HV", "#VC", "#SX", "vector",
	};

	return vector < 32 ? names[vector] : "interrupt";
}

void guest_install_handler(unsigned int vector, guest_handler_t handler)
{
	if (vector >= NR_VECTORS)
		GUEST_FAIL("bad vector %u", vector);
	guest_exception_handlers[vector] = handler;
}

void guest_report_unhandled(struct ex_regs *regs)
{
	uint64_t args[UCALL_MAX_ARGS] = { regs->vector, regs->rip, regs->error_code };
	char buf[UCALL_BUFFER_LEN];
	int n;

	n = guest_snprintf(buf, sizeof(buf),
			   "Unhandled exception %s (vector %lu) at RIP 0x%lx, error code 0x%lx",
			   exception_mnemonic(regs->vector), regs->vector, regs->rip,
			   regs->error_code);
	/* Registers in plain 0x%lx: "0x0", not C's "0" for a zero "%#lx". */
	if (regs->vector == PF_VECTOR && n < (int)sizeof(buf))
		n += guest_snprintf(buf + n, sizeof(buf) - n, ", CR2 0x%lx", get_cr2());
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	guest_snprintf(buf + n, sizeof(buf) - n,
		       "\nRAX 0x%lx RBX 0x%lx RCX 0x%lx RDX 0x%lx\nRSI 0x%lx RDI 0x%lx RBP 0x%lx RSP 0x%lx\n"
		       "R8 0x%lx R9 0x%lx R10 0x%lx R11 0x%lx\nR12 0x%lx R13 0x%lx R14 0x%lx R15 0x%lx\n"
		       "RFLAGS 0x%lx CS 0x%lx SS 0x%lx CR0 0x%lx CR3 0x%lx CR4 0x%lx",
		       regs->rax, regs->rbx, regs->rcx, regs->rdx, regs->rsi, regs->rdi,
		       regs->rbp, regs->rsp, regs->r8, regs->r9, regs->r10, regs->r11,
		       regs->r12, regs->r13, regs->r14, regs->r15, regs->rflags, regs->cs,
		       regs->ss, get_cr0(), get_cr3(), get_cr4());

	/* Three args (vector, RIP, error code) let the host name the function. */
	for (;;)
		guest_ucall_msg(UCALL_ABORT, __FILE__, __LINE__, 3, args, buf);
}

void guest_exception_dispatch(struct ex_regs *regs)
{
	struct guest_percpu *pc = this_percpu();
	unsigned int v = regs->vector;
	bool synchronous = v < 32 && v != NMI_VECTOR && v != MC_VECTOR;
	guest_handler_t handler;

	if (synchronous && pc->fixup_rip) {
		/* ASM_SAFE: the one instruction it guards faulted. */
		pc->fault_vector = v;
		pc->fault_error_code = regs->error_code;
		pc->fault_cr2 = v == PF_VECTOR ? get_cr2() : 0;
		regs->rip = pc->fixup_rip;
		pc->fixup_rip = 0;
		return;
	}
	if (synchronous && pc->escape_rsp) {
		/* guest_run_safe(): unwind to its frame with RAX = vector. */
		pc->fault_vector = v;
		pc->fault_error_code = regs->error_code;
		pc->fault_cr2 = v == PF_VECTOR ? get_cr2() : 0;
		regs->rip = (uint64_t)(uintptr_t)guest_run_safe_escape;
		regs->rsp = pc->escape_rsp;
		regs->rax = v;
		return;
	}
	handler = guest_exception_handlers[v];
	if (handler) {
		pc->exception_depth++;
		handler(regs);
		pc->exception_depth--;
		return;
	}
	guest_report_unhandled(regs);
}
