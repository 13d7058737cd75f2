// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest exceptions, as the SDM defines them (vol. 3A chapter 6): each
 * vector reaches the handler with the right error code, RIP and, for #PF,
 * CR2; ASM_SAFE and guest_run_safe() catch faults; and an exception with no
 * handler reaches the host as a failure naming the vector, RIP and error
 * code.  A #PF raised while delivering a #PF is a double fault (SDM vol.
 * 3A 6.15, interrupt 8, table 6-5): with shadow paging (the amd-shadow
 * lane, and kvm_pvm) KVM itself makes that #DF, in kvm_multiple_exception().
 *
 * Caught bugs: bugs/events-pf-pf-no-double-fault.patch (amd-shadow lane)
 */
#include "guest/guest.h"
#include "kvm_test_harness.h"

static volatile uint64_t seen_vector, seen_error, seen_rip, seen_cr2, seen_count;

/* Record the exception and skip the faulting instruction (its length in RSI). */
static void record_and_skip(struct ex_regs *regs)
{
	seen_vector = regs->vector;
	seen_error = regs->error_code;
	seen_rip = regs->rip;
	seen_cr2 = regs->vector == PF_VECTOR ? get_cr2() : 0;
	seen_count++;
	regs->rip += regs->rsi;
}

/* Each probe is a global label so the test knows the RIP it expects. */
asm(".pushsection .text\n"
    "probe_de: xor %edx, %edx; mov $2, %eax\n"
    "probe_de_insn: divl %edx\n"	/* 2 bytes */
    "ret\n"
    "probe_ud_insn: ud2\n"		/* 2 bytes */
    "ret\n"
    "probe_gp_insn: mov %ax, %ds\n"	/* 2 bytes, AX = selector */
    "ret\n"
    "probe_pf_insn: movq %rax, (%rdi)\n"	/* 3 bytes */
    "ret\n"
    ".popsection");
extern char probe_de[], probe_de_insn[], probe_ud_insn[], probe_gp_insn[], probe_pf_insn[];

static uint64_t ro_page = 0x1000000;	/* a page the host maps read-only */
static uint64_t unmapped_page = 0x40000000;	/* mapped nowhere */

static void guest_vectors(void)
{
	guest_install_handler(DE_VECTOR, record_and_skip);
	guest_install_handler(UD_VECTOR, record_and_skip);
	guest_install_handler(GP_VECTOR, record_and_skip);
	guest_install_handler(PF_VECTOR, record_and_skip);

	/* #DE: divide by zero is a fault, RIP points at the DIV. */
	asm volatile("mov $2, %%esi; call probe_de" ::: "rax", "rdx", "rsi", "memory");
	GUEST_ASSERT_EQ(seen_vector, DE_VECTOR);
	GUEST_ASSERT_EQ(seen_rip, (uint64_t)(uintptr_t)probe_de_insn);

	asm volatile("mov $2, %%esi; call probe_ud_insn" ::: "rsi", "memory");
	GUEST_ASSERT_EQ(seen_vector, UD_VECTOR);
	GUEST_ASSERT_EQ(seen_rip, (uint64_t)(uintptr_t)probe_ud_insn);

	/*
	 * #GP with an error code: loading DS with a selector beyond the GDT
	 * limit faults with the selector as error code (SDM vol. 3A 6.13).
	 */
	asm volatile("mov $0x7ff8, %%eax; mov $2, %%esi; call probe_gp_insn"
		     ::: "rax", "rsi", "memory");
	GUEST_ASSERT_EQ(seen_vector, GP_VECTOR);
	GUEST_ASSERT_EQ(seen_error, 0x7ff8);
	GUEST_ASSERT_EQ(seen_rip, (uint64_t)(uintptr_t)probe_gp_insn);

	/* #PF on a write to a read-only page: P=1 W=1, CR2 = the address. */
	asm volatile("mov $3, %%esi; call probe_pf_insn" :: "D"(ro_page + 8) : "rsi", "memory");
	GUEST_ASSERT_EQ(seen_vector, PF_VECTOR);
	GUEST_ASSERT_EQ(seen_error, PFERR_PRESENT | PFERR_WRITE);
	GUEST_ASSERT_EQ(seen_cr2, ro_page + 8);
	GUEST_ASSERT_EQ(seen_rip, (uint64_t)(uintptr_t)probe_pf_insn);

	/* #PF on a not-present page: P=0. */
	asm volatile("mov $3, %%esi; call probe_pf_insn"
		     :: "D"(unmapped_page + 0x10) : "rsi", "memory");
	GUEST_ASSERT_EQ(seen_vector, PF_VECTOR);
	GUEST_ASSERT_EQ(seen_error, PFERR_WRITE);
	GUEST_ASSERT_EQ(seen_cr2, unmapped_page + 0x10);
	GUEST_ASSERT_EQ(seen_count, 5);
	GUEST_DONE();
}

KVM_VCPU_TEST(vectors_error_codes_and_cr2, guest_vectors)
{
	uint64_t *pte;

	/* Make one page read-only in the guest's page tables. */
	virt_map(vm, ro_page, ro_page, PAGE_SIZE, PTE_PRESENT);
	pte = virt_get_pte(vm, ro_page, NULL);
	ASSERT_NE(pte, NULL);
	ASSERT_EQ(*pte & PTE_WRITABLE, 0);
	vcpu_run_expect_done(vcpu);
}

/*
 * The rest of the frame (SDM vol. 3A 6.14.2): in 64-bit mode the processor
 * pushes SS:RSP unconditionally, then RFLAGS, CS and RIP, all as they were
 * when the fault happened.  The probe sets a known arithmetic flag pattern,
 * moves RSP off its usual alignment (the handler's stack is realigned to
 * 16 bytes, the pushed RSP must not be), and captures RFLAGS, RSP, CS and SS
 * in registers just before its UD2; the handler sees those registers
 * unchanged in ex_regs and compares them with the frame.
 */
#define FLAG_PATTERN	0x885		/* OF SF PF CF set, ZF AF clear */

asm(".pushsection .text\n"
    "probe_frame:\n"
    "	push %rbp\n"
    "	mov %rsp, %rbp\n"
    "	and $~0xf, %rsp\n"
    "	sub $8, %rsp\n"		/* RSP = 8 mod 16 */
    "	pushfq\n"
    "	pop %rax\n"
    "	and $~" __stringify(X86_EFLAGS_ARITH) ", %rax\n"
    "	or $" __stringify(FLAG_PATTERN) ", %rax\n"
    "	push %rax\n"
    "	popfq\n"
    /* From here to the UD2 nothing changes the flags. */
    "	pushfq\n"
    "	pop %rdx\n"			/* RFLAGS at the UD2 */
    "	mov %rsp, %rbx\n"		/* RSP at the UD2 */
    "	mov %cs, %ecx\n"
    "	mov %ss, %edi\n"
    "probe_frame_insn: ud2\n"
    "	mov %rbp, %rsp\n"
    "	pop %rbp\n"
    "	ret\n"
    ".popsection");
extern char probe_frame[], probe_frame_insn[];

static volatile struct ex_regs frame_seen;

static void record_frame(struct ex_regs *regs)
{
	frame_seen = *regs;
	regs->rip += 2;
}

static void guest_frame(void)
{
	guest_install_handler(UD_VECTOR, record_frame);
	asm volatile("call probe_frame" ::: "rax", "rbx", "rcx", "rdx", "rdi", "memory", "cc");

	GUEST_ASSERT_EQ(frame_seen.vector, UD_VECTOR);
	GUEST_ASSERT_EQ(frame_seen.rip, (uint64_t)(uintptr_t)probe_frame_insn);
	/* The probe's own captures: the pattern took, RSP is 8 mod 16. */
	GUEST_ASSERT_EQ(frame_seen.rdx & X86_EFLAGS_ARITH, FLAG_PATTERN);
	GUEST_ASSERT_EQ(frame_seen.rbx & 0xf, 8);
	GUEST_ASSERT_EQ(frame_seen.rcx, KERNEL_CS);
	/* The frame.  Selectors: the low 16 bits of their 8-byte slots. */
	GUEST_ASSERT_EQ(frame_seen.cs & 0xffff, frame_seen.rcx);
	GUEST_ASSERT_EQ(frame_seen.ss & 0xffff, frame_seen.rdi);
	GUEST_ASSERT_EQ(frame_seen.rsp, frame_seen.rbx);
	/*
	 * RF may be set in the image pushed for a fault (SDM vol. 3A 18.3.1.1:
	 * so that IRET back to the faulting instruction does not re-trigger an
	 * instruction breakpoint); every other bit is the interrupted RFLAGS.
	 */
	GUEST_ASSERT_EQ(frame_seen.rflags & ~X86_EFLAGS_RF, frame_seen.rdx);
	GUEST_SYNC(frame_seen.cs, frame_seen.ss, frame_seen.rflags);
	GUEST_DONE();
}

KVM_VCPU_TEST(frame_holds_cs_rflags_and_rsp, guest_frame)
{
	struct ucall uc;

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TH_LOG("frame CS %#lx SS %#lx RFLAGS %#lx", (unsigned long)uc.args[0],
	       (unsigned long)uc.args[1], (unsigned long)uc.args[2]);
	vcpu_run_expect_done(vcpu);
}

/* #BP is a trap: RIP in the frame is the instruction after INT3. */
static void guest_bp(void)
{
	guest_install_handler(BP_VECTOR, record_and_skip);
	asm volatile("xor %%esi, %%esi\n\t"
		     "int3\n\t"
		     ".globl after_int3\nafter_int3:" ::: "rsi", "memory");
	GUEST_ASSERT_EQ(seen_vector, BP_VECTOR);
	GUEST_SYNC(seen_rip);
}

KVM_VCPU_TEST(breakpoint_is_a_trap, guest_bp)
{
	extern char after_int3[];

	vcpu_run_expect_sync(vcpu, (uint64_t)(uintptr_t)after_int3);
	vcpu_run_expect_done(vcpu);
}

static void guest_asm_safe(void)
{
	uint64_t val;

	/* rdmsr/wrmsr of an MSR that does not exist: #GP(0). */
	GUEST_ASSERT_EQ(rdmsr_safe(0xdeadbeef, &val), GP_VECTOR);
	GUEST_ASSERT_EQ(guest_fault_error_code(), 0);
	GUEST_ASSERT_EQ(wrmsr_safe(0xdeadbeef, 1), GP_VECTOR);
	/* A legal access reports no vector. */
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_IA32_SYSENTER_CS, &val), NO_VECTOR);
	/* ASM_SAFE around an arbitrary instruction. */
	asm volatile(ASM_SAFE("ud2") ::: "memory");
	GUEST_ASSERT_EQ(guest_fault_vector(), UD_VECTOR);
	asm volatile(ASM_SAFE("nop") ::: "memory");
	GUEST_ASSERT_EQ(guest_fault_vector(), NO_VECTOR);
	GUEST_DONE();
}

KVM_VCPU_TEST(asm_safe_returns_vector, guest_asm_safe)
{
	vcpu_run_expect_done(vcpu);
}

static void fault_deep(void *arg)
{
	volatile uint64_t *p = arg;

	*p = 1;		/* #PF: unmapped */
	GUEST_FAIL("the write to an unmapped page did not fault");
}

static void no_fault(void *arg)
{
	*(uint64_t *)arg = 7;
}

static void guest_run_safe_code(void)
{
	uint64_t local = 0;

	GUEST_ASSERT_EQ(guest_run_safe(fault_deep, (void *)unmapped_page), PF_VECTOR);
	GUEST_ASSERT_EQ(guest_fault_error_code(), PFERR_WRITE);
	GUEST_ASSERT_EQ(guest_run_safe(no_fault, &local), NO_VECTOR);
	GUEST_ASSERT_EQ(local, 7);
	GUEST_DONE();
}

KVM_VCPU_TEST(run_safe_unwinds, guest_run_safe_code)
{
	vcpu_run_expect_done(vcpu);
}

/* With no handler, the host gets the vector, RIP and error code. */
static void guest_unhandled(void)
{
	asm volatile("mov $0x7ff8, %%eax; call probe_gp_insn" ::: "rax", "memory");
	GUEST_FAIL("the #GP did not stop the guest");
}

KVM_VCPU_TEST(unhandled_exception_reported, guest_unhandled)
{
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_ABORT);
	ASSERT_EQ(uc.nargs, 3);
	EXPECT_EQ(uc.args[0], GP_VECTOR);
	EXPECT_EQ(uc.args[1], (uint64_t)(uintptr_t)probe_gp_insn);
	EXPECT_EQ(uc.args[2], 0x7ff8);
	EXPECT_NE(strstr(uc.buffer, "Unhandled exception #GP (vector 13)"), NULL)
		TH_LOG("report: %s", uc.buffer);
	EXPECT_NE(strstr(uc.buffer, "error code 0x7ff8"), NULL);
}

/* A guest NULL dereference: page 0 is never mapped, CR2 = 0. */
static void guest_null(void)
{
	GUEST_SYNC(*(volatile uint64_t *)0);
}

KVM_VCPU_TEST(null_dereference_faults, guest_null)
{
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_ABORT);
	EXPECT_EQ(uc.args[0], PF_VECTOR);
	EXPECT_EQ(uc.args[2], 0);	/* read, not present, supervisor */
	EXPECT_NE(strstr(uc.buffer, "CR2 0x0"), NULL) TH_LOG("report: %s", uc.buffer);
}

/*
 * #PF during #PF delivery.  The probe points RSP at an unmapped page and
 * reads from that page: the #PF's frame cannot be pushed, which is a second
 * #PF, and a #PF followed by a #PF is a #DF with error code 0 (SDM vol. 3A
 * 6.15, table 6-5); its saved RIP is undefined, so only the vector, error
 * code and count are checked.  The #DF handler runs on IST1 (a good stack)
 * and resumes the probe on its saved RSP.  The #PF handler must never run.
 */
uint64_t df_probe_saved_rsp;

asm(".pushsection .text\n"
    "probe_df:\n"
    "	mov %rsp, df_probe_saved_rsp\n"
    "	mov %rdi, %rsp\n"
    "	mov (%rdi), %rax\n"	/* #PF, and #PF again pushing its frame */
    "	ud2\n"
    "probe_df_resume:\n"
    "	mov df_probe_saved_rsp, %rsp\n"
    "	ret\n"
    ".popsection");
extern char probe_df[], probe_df_resume[];

static volatile uint64_t df_count, df_error, df_pf_count;

static void record_df(struct ex_regs *regs)
{
	df_count++;
	df_error = regs->error_code;
	regs->rip = (uint64_t)(uintptr_t)probe_df_resume;
	regs->rsp = df_probe_saved_rsp;
}

static void count_pf(struct ex_regs *regs)
{
	df_pf_count++;
	regs->rip = (uint64_t)(uintptr_t)probe_df_resume;
	regs->rsp = df_probe_saved_rsp;
}

static void guest_double_fault(void)
{
	guest_install_handler(DF_VECTOR, record_df);
	guest_install_handler(PF_VECTOR, count_pf);
	asm volatile("call probe_df" :: "D"(unmapped_page + 0x800) : "rax", "memory");
	GUEST_ASSERT_EQ(df_pf_count, 0);
	GUEST_ASSERT_EQ(df_count, 1);
	GUEST_ASSERT_EQ(df_error, 0);
	GUEST_DONE();
}

KVM_VCPU_TEST(pf_delivering_pf_is_double_fault, guest_double_fault)
{
	/*
	 * A KVM that re-injects the #PF instead loops without an exit: bound
	 * the wait so the watchdog reports it (x20 under TCG: 10 s) before the
	 * harness's 30 s per-test timeout kills the test without a dump.
	 */
	vcpu->timeout_ms = 500;
	vcpu_run_expect_done(vcpu);
}

TEST_HARNESS_MAIN
