// SPDX-License-Identifier: GPL-2.0-only
/*
 * Single-step traps (RFLAGS.TF) over instructions KVM completes itself.
 *
 * SDM vol. 3B 18.3.1.4 (single-step exception condition): with TF set the
 * processor raises a trap-class #DB after the instruction, with RIP at the
 * next instruction and DR6.BS (bit 14) set; B0-B3 report no breakpoint
 * (18.2.3).  An instruction that KVM intercepts and skips (CPUID) or
 * emulates (any instruction behind the force-emulation prefix,
 * kvm.force_emulation_prefix) must trap the same way: KVM queues the #DB
 * with DR6.BS as its payload (x86.c kvm_vcpu_do_singlestep() and
 * kvm_deliver_exception_payload()), and the guest's handler reads DR6.
 *
 * SYSCALL is different: TF is sampled after it completes, so an OS that
 * puts TF in IA32_FMASK gets no #DB at its system-call entry point (SDM
 * vol. 2B SYSCALL: "RFLAGS <- RFLAGS AND NOT(IA32_FMASK)"; the single-step
 * trap follows the instruction only if TF is still set; CVE-2017-7518 was
 * KVM's emulated SYSCALL raising that #DB on the entry stack).
 *
 * Caught bugs: bugs/events-db-payload-bs-lost.patch,
 *              bugs/events-syscall-singlestep.patch (emulated tests: the lane)
 */
#include <stdio.h>

#include "guest/guest.h"
#include "kvm_test_harness.h"

static volatile uint64_t db_count, db_rip, db_dr6;

static void record_db(struct ex_regs *regs)
{
	uint64_t dr6;

	asm volatile("mov %%dr6, %0" : "=r"(dr6));
	db_count++;
	db_rip = regs->rip;
	db_dr6 = dr6;
	/* Stop stepping: one trap per probe. */
	regs->rflags &= ~X86_EFLAGS_TF;
}

static void reset_db(void)
{
	uint64_t dr6 = DR6_INIT;

	asm volatile("mov %0, %%dr6" :: "r"(dr6));
	db_count = 0;
	db_rip = 0;
	db_dr6 = 0;
}

/* TF is set by POPF: the trap comes after the next instruction (18.3.1.4). */
#define SET_TF	"pushfq\n\torq $" __stringify(X86_EFLAGS_TF) ", (%%rsp)\n\tpopfq\n\t"

static void check_one_step(uint64_t expected_rip)
{
	GUEST_ASSERT_EQ(db_count, 1);
	GUEST_ASSERT_EQ(db_rip, expected_rip);
	GUEST_ASSERT_EQ(db_dr6 & (DR6_BS | DR6_TRAP_BITS), DR6_BS);
}

static void guest_cpuid_step(void)
{
	extern char after_cpuid[];

	guest_install_handler(DB_VECTOR, record_db);
	reset_db();
	asm volatile(SET_TF
		     "cpuid\n\t"
		     ".globl after_cpuid\nafter_cpuid:"
		     :: "a"(0), "c"(0) : "rbx", "rdx", "memory", "cc");
	check_one_step((uint64_t)(uintptr_t)after_cpuid);
	GUEST_DONE();
}

KVM_VCPU_TEST(tf_traps_after_intercepted_cpuid, guest_cpuid_step)
{
	vcpu_run_expect_done(vcpu);
}

static void guest_emulated_step(void)
{
	extern char after_emulated[];
	uint64_t rbx = 0;

	guest_install_handler(DB_VECTOR, record_db);
	reset_db();
	asm volatile(SET_TF
		     KVM_FEP "mov %%eax, %%ebx\n\t"
		     ".globl after_emulated\nafter_emulated:"
		     : "+b"(rbx) : "a"(0x5a) : "memory", "cc");
	GUEST_ASSERT_EQ(rbx, 0x5a);
	check_one_step((uint64_t)(uintptr_t)after_emulated);
	GUEST_DONE();
}

KVM_VCPU_TEST(tf_traps_after_emulated_instruction, guest_emulated_step)
{
	TEST_REQUIRE_FEP();
	vcpu_run_expect_done(vcpu);
}

/*
 * The system-call entry point: back to RCX with the caller's flags (R11)
 * minus TF, as a SYSRET-less kernel would.
 */
asm(".pushsection .text\n"
    "syscall_entry:\n"
    "	and $~" __stringify(X86_EFLAGS_TF) ", %r11\n"
    "	push %r11\n"
    "	popfq\n"
    "	jmp *%rcx\n"
    ".popsection");
extern char syscall_entry[];

static void guest_syscall_step(void)
{
	extern char after_syscall[];
	uint64_t rcx;

	guest_install_handler(DB_VECTOR, record_db);
	wrmsr(MSR_STAR, (uint64_t)KERNEL_CS << 32);	/* SYSCALL CS = KERNEL_CS, SS = +8 */
	wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)syscall_entry);
	wrmsr(MSR_SYSCALL_MASK, X86_EFLAGS_TF);
	reset_db();
	asm volatile(SET_TF
		     KVM_FEP "syscall\n\t"
		     ".globl after_syscall\nafter_syscall:"
		     : "=c"(rcx) :: "r11", "memory", "cc");
	/* It did go through the entry point, which returned to RCX. */
	GUEST_ASSERT_EQ(rcx, (uint64_t)(uintptr_t)after_syscall);
	/* TF was masked by SYSCALL: no #DB anywhere, in particular not at the entry. */
	if (db_count)
		GUEST_FAIL("%lu #DB after a SYSCALL that masked TF: RIP 0x%lx (entry point 0x%lx), "
			   "DR6 0x%lx", db_count, db_rip, (uint64_t)(uintptr_t)syscall_entry,
			   db_dr6);
	GUEST_DONE();
}

KVM_VCPU_TEST(syscall_masking_tf_does_not_trap, guest_syscall_step)
{
	TEST_REQUIRE_FEP();
	vcpu_run_expect_done(vcpu);
}

TEST_HARNESS_MAIN
