// SPDX-License-Identifier: GPL-2.0-only
/*
 * AMD SVM, L1's view (AMD APM vol. 2 chapter 15).  Every test SKIPs unless
 * KVM offers SVM to its guests (kvm_amd nested=1; `make vm_run_tests`).
 *
 *  - nested paging: a GPA missing from L1's nested tables is a #VMEXIT(NPF)
 *    with the address and a #PF-style error code (15.25.6), and L2 re-runs
 *    the access once L1 maps it;
 *  - CLGI/STGI exit when intercepted; an L2 that clears GIF without L1
 *    intercepting it and then spins cannot hold the host (LTP kvm_svm03,
 *    written from its description);
 *  - EVENTINJ delivers an exception into L2 before its first instruction;
 *  - a triple fault in L2 is #VMEXIT(SHUTDOWN) when intercepted;
 *  - VM_HSAVE_PA (APM 15.30.4): a WRMSR of an address that is not page
 *    aligned or lies at or above MAXPHYADDR is #GP(0) and leaves the MSR as
 *    it was, and a VMRUN while VM_HSAVE_PA is 0 is #GP(0);
 *  - VMMCALL in L2 that L1 does not intercept is #UD in L2 (APM vol. 3,
 *    VMMCALL: "#UD if ... the VMMCALL instruction is not intercepted"),
 *    not a hypercall to the KVM underneath.
 *
 * VMRUN's consistency checks (15.5.1) are in svm_vmrun_checks_test.c; VMLOAD/VMSAVE
 * and VMCB12's AVIC bit (LTP kvm_svm01, 02, 04) in svm_vmload_test.c.
 *
 * Caught bugs: bugs/nested-svm-hsave-pa-unchecked.patch,
 * bugs/nested-svm-vmrun-hsave-zero.patch,
 * bugs/nested-svm-l2-vmmcall-hypercall.patch
 */
#include <pthread.h>
#include <signal.h>

#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "nested.h"


static void l2_vmmcall(void)
{
	guest_nested_hypercall(1);
}

static unsigned int guest_maxphyaddr(void)
{
	struct cpuid_regs r;

	cpuid_count(0x80000008, 0, &r);
	return r.eax & 0xff;
}

/* ---- nested paging ---- */

#define HOLE_GPA	0x2345000ULL	/* in guest RAM */

static void l2_read_hole(void)
{
	guest_nested_hypercall(*(volatile uint64_t *)HOLE_GPA);
}

static void l1_npt(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	const char *why = guest_nested_tdp_unsupported();
	struct nested n;

	if (why)
		guest_nested_skip_test(why);
	guest_nested_init(&n, p, l2_read_hole);
	*(volatile uint64_t *)HOLE_GPA = 0x600dcafe;
	guest_nested_tdp_enable(&n);
	guest_nested_tdp_set_present(&n, HOLE_GPA, false);

	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_NPF);
	GUEST_ASSERT_EQ(vmcb->control.exit_info_2, HOLE_GPA);
	/* Not present (P=0), read (W=0), user (U=1), at the final GPA (15.25.6). */
	GUEST_ASSERT_EQ(vmcb->control.exit_info_1 & 0x7, 0x4);
	__GUEST_ASSERT(vmcb->control.exit_info_1 & SVM_NPF_FINAL_GPA,
		       "exit_info_1 0x%lx lacks the final-GPA bit", vmcb->control.exit_info_1);
	/* Map it: the load re-executes and reads L1's data. */
	guest_nested_tdp_set_present(&n, HOLE_GPA, true);
	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);
	GUEST_ASSERT_EQ(guest_nested_l2_rax(&n), 0x600dcafe);

	/*
	 * And out again after L2 has used it: L2 must fault again.  (On KVM,
	 * L1's NPT is shadowed and write-protected, so this shows the shadow
	 * follows the change; it can't tell whether the TLB_CONTROL flush
	 * itself was honoured.)
	 */
	guest_nested_tdp_set_present(&n, HOLE_GPA, false);
	vmcb->save.rip = (uintptr_t)l2_read_hole;
	vmcb->save.rsp = p->l2_stack_top;
	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_NPF);
	GUEST_ASSERT_EQ(vmcb->control.exit_info_2, HOLE_GPA);
	GUEST_DONE();
}

SVM_TEST(npt_fault_reports_gpa_and_reruns, l1_npt)

/* ---- CLGI / STGI ---- */

static void l2_gif(void)
{
	clgi();
	stgi();
	guest_nested_hypercall(2);
}

static void l1_gif(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	struct nested n;

	guest_nested_init(&n, p, l2_gif);
	vmcb->control.intercept_misc2 |= SVM_INTERCEPT2_CLGI | SVM_INTERCEPT2_STGI;
	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_CLGI);
	guest_nested_skip(&n, 3);
	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_STGI);
	guest_nested_skip(&n, 3);
	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);
	GUEST_ASSERT_EQ(guest_nested_l2_rax(&n), 2);
	GUEST_DONE();
}

SVM_TEST(clgi_stgi_exit_when_intercepted, l1_gif)

static void l2_clgi_spin(void)
{
	clgi();
	for (;;)
		cpu_relax();
}

static void l1_clgi_not_intercepted(struct nested_pages *p)
{
	struct nested n;

	guest_nested_init(&n, p, l2_clgi_spin);
	GUEST_SYNC(1);
	guest_nested_run(&n);
	GUEST_FAIL("L2 spinning with GIF=0 exited to L1: #VMEXIT %s",
		   svm_exit_name(guest_nested_vmcb(p)->control.exit_code));
}

static void sigalrm_nop(int sig)
{
}

static void *kick_later(void *arg)
{
	usleep(300 * 1000);
	pthread_kill(*(pthread_t *)arg, SIGALRM);
	return NULL;
}

/* The host must be able to take the CPU back from an L2 that cleared GIF. */
KVM_VCPU_TEST(l2_with_gif_clear_cannot_hold_the_host, l1_clgi_not_intercepted)
{
	struct sigaction sa = { .sa_handler = sigalrm_nop };
	pthread_t self = pthread_self(), t;
	uint64_t start;
	int r;

	TEST_REQUIRE_SVM();
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	vcpu_run_expect_sync(vcpu, 1);
	sigaction(SIGALRM, &sa, NULL);
	ASSERT_EQ(pthread_create(&t, NULL, kick_later, &self), 0);
	start = now_ns();
	r = __vcpu_run(vcpu);
	pthread_join(t, NULL);
	EXPECT_EQ(r, -1) TH_LOG("KVM_RUN returned %d, exit %s", r,
				exit_reason_str(vcpu->run->exit_reason));
	EXPECT_EQ(errno, EINTR);
	EXPECT_LT((now_ns() - start) / 1000000, 5000 * kvm_timeout_scale());
}

/* ---- EVENTINJ ---- */

static volatile uint64_t injected_vector, injected_error, injected_count;

static void l2_injected_handler(struct ex_regs *regs)
{
	injected_vector = regs->vector;
	injected_error = regs->error_code;
	injected_count++;
}

static void l2_after_injection(void)
{
	guest_nested_hypercall(injected_count);
}

static void l1_eventinj(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	struct nested n;

	/* L2 shares L1's IDT: the handler runs in L2. */
	guest_install_handler(GP_VECTOR, l2_injected_handler);
	guest_nested_init(&n, p, l2_after_injection);
	vmcb->control.event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT | SVM_EVTINJ_VALID_ERR |
				  GP_VECTOR;
	vmcb->control.event_inj_err = 0x1234;
	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);
	GUEST_ASSERT_EQ(guest_nested_l2_rax(&n), 1);
	GUEST_ASSERT_EQ(injected_vector, GP_VECTOR);
	GUEST_ASSERT_EQ(injected_error, 0x1234);
	GUEST_DONE();
}

SVM_TEST(eventinj_delivers_exception_to_l2, l1_eventinj)

/* ---- shutdown ---- */

static void l2_triple_fault(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = { 0, 0 };

	/* No IDT: #UD can't be delivered, nor the #DF after it: shutdown (APM 8.2.9). */
	asm volatile("lidt %0; ud2" :: "m"(idtr));
}

static void l1_shutdown(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	struct nested n;

	guest_nested_init(&n, p, l2_triple_fault);
	vmcb->control.intercept_misc1 |= SVM_INTERCEPT_SHUTDOWN;
	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_SHUTDOWN);
	GUEST_DONE();
}

SVM_TEST(l2_triple_fault_is_shutdown_exit, l1_shutdown)

/* ---- VM_HSAVE_PA ---- */

static struct svm_gprs hsave_gprs;

static void vmrun_safe_fn(void *vmcb)
{
	svm_run((uintptr_t)vmcb, &hsave_gprs);
}

static void l1_hsave_pa(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	unsigned int maxphy = guest_maxphyaddr();
	uint64_t bad[2] = { p->svm.hsave | 0x800, 1ULL << maxphy };
	uint8_t vec;

	svm_init(&p->svm, l2_vmmcall, p->l2_stack_top);
	GUEST_ASSERT_EQ(rdmsr(MSR_VM_HSAVE_PA), p->svm.hsave);
	for (int i = 0; i < 2; i++) {
		if (i == 1 && maxphy >= 52)
			break;
		vec = wrmsr_safe(MSR_VM_HSAVE_PA, bad[i]);
		__GUEST_ASSERT(vec == GP_VECTOR, "WRMSR VM_HSAVE_PA 0x%lx (%s, MAXPHYADDR %u): "
			       "vector %u, expected #GP", bad[i],
			       i ? "beyond MAXPHYADDR" : "not page aligned", maxphy, vec);
		GUEST_ASSERT_EQ(rdmsr(MSR_VM_HSAVE_PA), p->svm.hsave);
	}

	/* VM_HSAVE_PA = 0 is a valid write, but VMRUN with it is #GP(0). */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_VM_HSAVE_PA, 0), NO_VECTOR);
	vmcb->control.exit_code = 0x5a5a;
	vec = guest_run_safe(vmrun_safe_fn, vmcb);
	stgi();		/* svm_run() cleared GIF before the VMRUN that faulted */
	__GUEST_ASSERT(vec == GP_VECTOR, "VMRUN with VM_HSAVE_PA 0: vector %u, expected #GP "
		       "(exit code 0x%lx)", vec, vmcb->control.exit_code);
	GUEST_ASSERT_EQ(guest_fault_error_code(), 0);

	/* With a save area again, the same VMCB runs. */
	wrmsr(MSR_VM_HSAVE_PA, p->svm.hsave);
	svm_run(p->svm.vmcb, &hsave_gprs);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);
	GUEST_DONE();
}

SVM_TEST(vm_hsave_pa_checks, l1_hsave_pa)

/* ---- VMMCALL not intercepted ---- */

#define VMMCALL_RAX	0x5eed1234ULL

static volatile uint64_t ud_count, ud_rip;

static void l2_ud_handler(struct ex_regs *regs)
{
	ud_count++;
	ud_rip = regs->rip;
	regs->rip += 3;		/* VMMCALL is 0f 01 d9 */
}

static void l2_vmmcall_then_hlt(void)
{
	asm volatile("l2_vmmcall_insn: vmmcall\n\thlt" :: "a"(VMMCALL_RAX) : "memory");
}

extern char l2_vmmcall_insn[];

static void l1_vmmcall_ud(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	struct nested n;

	guest_install_handler(UD_VECTOR, l2_ud_handler);
	guest_nested_init(&n, p, l2_vmmcall_then_hlt);
	vmcb->control.intercept_misc2 &= ~SVM_INTERCEPT2_VMMCALL;
	guest_nested_intercept(&n, NESTED_INTERCEPT_HLT, 0);
	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_HLT);
	__GUEST_ASSERT(ud_count == 1 && ud_rip == (uintptr_t)l2_vmmcall_insn,
		       "L2's VMMCALL (not intercepted by L1) at 0x%lx raised %lu #UD (last at "
		       "0x%lx), expected one #UD there; L2 RAX 0x%lx (was 0x%llx)",
		       (uintptr_t)l2_vmmcall_insn, ud_count, ud_rip, vmcb->save.rax,
		       VMMCALL_RAX);
	__GUEST_ASSERT(vmcb->save.rax == VMMCALL_RAX, "L2 RAX 0x%lx after a #UD VMMCALL, "
		       "expected 0x%llx unchanged", vmcb->save.rax, VMMCALL_RAX);
	GUEST_DONE();
}

SVM_TEST(l2_vmmcall_not_intercepted_is_ud, l1_vmmcall_ud)

TEST_HARNESS_MAIN
