// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM_X86_SET_MCE semantics (api.rst; SDM vol. 3B 16.3, 16.10):
 *  - an uncorrected error reaches the guest's #MC handler with the bank,
 *    MCG_STATUS and address the host injected, and the handler's
 *    clearing of MCIP and the bank sticks;
 *  - a second #MC while MCG_STATUS.MCIP is set, or any #MC with
 *    CR4.MCE=0, shuts the processor down (KVM_EXIT_SHUTDOWN);
 *  - an uncorrected error in a bank whose MCi_CTL is 0, or with MCG_CTL
 *    not all ones, is not signalled;
 *  - a corrected error is logged with no #MC, and OVER is set when it
 *    overwrites a valid one;
 *  - an invalid bank, or a status without VAL, is EINVAL.
 */
#include "kvm_test_harness.h"
#include "guest.h"
#include "mce.h"

#define BANKS		8
#define ERR_GPA		0x2345000ULL

static void setup(struct kvm_vcpu *vcpu)
{
	TEST_REQUIRE_CAP(KVM_CAP_MCE);
	TEST_REQUIRE_MSG(kvm_check_cap(KVM_CAP_MCE) >= BANKS, "needs %u MCE banks", BANKS);
	vcpu_setup_mce(vcpu, BANKS | (kvm_mce_cap_supported() & (MCG_CTL_P | MCG_SER_P)));
}

static struct kvm_x86_mce make_mce(unsigned int bank, uint64_t status)
{
	struct kvm_x86_mce m = {
		.bank = bank, .status = status, .addr = ERR_GPA, .misc = MCI_MISC_PHYS_PAGE,
		.mcg_status = MCG_STATUS_MCIP | MCG_STATUS_RIPV,
	};

	return m;
}

static void inject(struct kvm_vcpu *vcpu, const struct kvm_x86_mce *m)
{
	mce_log("host injects", m, "KVM_X86_SET_MCE");
	vcpu_inject_mce(vcpu, m);
}

/* Run to the next ucall; a guest abort fails the test with its report. */
static uint32_t run(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	vcpu_run(vcpu);
	if (get_ucall(vcpu, uc) == UCALL_ABORT)
		report_guest_abort(vcpu, uc);
	return uc->cmd;
}

static void guest_recover(void)
{
	mce_guest_init();
	GUEST_SYNC(1);		/* the host injects here */
	GUEST_ASSERT_EQ(mce_guest.nr_events, 1);
	GUEST_SYNC(rdmsr(MSR_IA32_MCG_STATUS), rdmsr(MSR_IA32_MCx_STATUS(2)));
}

KVM_ONE_VCPU_TEST(uncorrected_error_reaches_handler, guest_recover)
{
	struct kvm_x86_mce m;
	struct mce_guest_state st;
	struct ucall uc;

	setup(vcpu);
	ASSERT_EQ(run(vcpu, &uc), UCALL_SYNC);
	m = make_mce(2, MCE_STATUS_SRAO);
	inject(vcpu, &m);
	ASSERT_EQ(run(vcpu, &uc), UCALL_SYNC);
	/* The handler cleared MCIP and the bank. */
	EXPECT_EQ(uc.args[0], 0);
	EXPECT_EQ(uc.args[1], 0);
	memcpy(&st, addr_gva2hva(vm, (uintptr_t)&mce_guest), sizeof(st));
	ASSERT_EQ(st.nr_events, 1);
	mce_log_event(&st.events[0]);
	EXPECT_EQ(st.events[0].bank, 2);
	EXPECT_EQ(st.events[0].status, MCE_STATUS_SRAO);
	EXPECT_EQ(st.events[0].class, MCE_SRAO);
	EXPECT_EQ(st.events[0].addr, ERR_GPA);
	EXPECT_EQ(st.events[0].misc, MCI_MISC_PHYS_PAGE);
	EXPECT_EQ(st.events[0].mcg_status, MCG_STATUS_MCIP | MCG_STATUS_RIPV);
	EXPECT_EQ(st.nr_poisoned, 1);
	EXPECT_EQ(st.poisoned[0], ERR_GPA);
}

static void mc_no_clear(struct ex_regs *regs)
{
	/* Handle nothing, leave MCIP set: the next #MC must shut down. */
	GUEST_SYNC(0xc0ffee);
}

static void guest_mcip_stays(void)
{
	guest_install_handler(MC_VECTOR, mc_no_clear);
	set_cr4(get_cr4() | X86_CR4_MCE);
	GUEST_SYNC(1);
	GUEST_FAIL("returned from #MC handler");
}

KVM_ONE_VCPU_TEST(second_mce_while_mcip_is_shutdown, guest_mcip_stays)
{
	struct kvm_x86_mce m;
	struct ucall uc;

	setup(vcpu);
	ASSERT_EQ(run(vcpu, &uc), UCALL_SYNC);
	m = make_mce(1, MCE_STATUS_SRAO);
	inject(vcpu, &m);
	ASSERT_EQ(run(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 0xc0ffee);
	EXPECT_NE(vcpu_get_msr(vcpu, MSR_IA32_MCG_STATUS) & MCG_STATUS_MCIP, 0);
	m = make_mce(3, MCE_STATUS_SRAO);
	inject(vcpu, &m);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_SHUTDOWN);
}

static void guest_no_cr4_mce(void)
{
	GUEST_ASSERT(!(get_cr4() & X86_CR4_MCE));
	GUEST_SYNC(1);
	GUEST_FAIL("ran on after an #MC with CR4.MCE=0");
}

KVM_ONE_VCPU_TEST(mce_with_cr4_mce_clear_is_shutdown, guest_no_cr4_mce)
{
	struct kvm_x86_mce m = make_mce(1, MCE_STATUS_SRAO);
	struct ucall uc;

	setup(vcpu);
	ASSERT_EQ(run(vcpu, &uc), UCALL_SYNC);
	inject(vcpu, &m);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_SHUTDOWN);
}

static void guest_disabled(void)
{
	mce_guest_init();
	wrmsr(MSR_IA32_MCx_CTL(4), 0);
	GUEST_SYNC(1);		/* UC error in bank 4, which is disabled */
	if (mce_guest.mcg_cap & MCG_CTL_P) {
		wrmsr(MSR_IA32_MCx_CTL(4), ~0ULL);
		wrmsr(MSR_IA32_MCG_CTL, 0);
		GUEST_SYNC(2);	/* UC error in bank 5 with MCG_CTL = 0 */
	}
	GUEST_SYNC(3, mce_guest.nr_events, rdmsr(MSR_IA32_MCx_STATUS(4)),
		   rdmsr(MSR_IA32_MCx_STATUS(5)), rdmsr(MSR_IA32_MCG_STATUS));
}

KVM_ONE_VCPU_TEST(disabled_bank_or_mcg_ctl_not_signalled, guest_disabled)
{
	struct kvm_x86_mce m;
	struct ucall uc;

	setup(vcpu);
	ASSERT_EQ(run(vcpu, &uc), UCALL_SYNC);
	m = make_mce(4, MCE_STATUS_SRAO);
	inject(vcpu, &m);
	ASSERT_EQ(run(vcpu, &uc), UCALL_SYNC);
	if (uc.args[0] == 2) {
		m = make_mce(5, MCE_STATUS_SRAO);
		inject(vcpu, &m);
		ASSERT_EQ(run(vcpu, &uc), UCALL_SYNC);
	} else {
		printf("# no MCG_CTL_P: the MCG_CTL half is not applicable\n");
	}
	ASSERT_EQ(uc.args[0], 3);
	EXPECT_EQ(uc.args[1], 0) TH_LOG("the guest took %lu #MC", uc.args[1]);
	EXPECT_EQ(uc.args[2], 0) TH_LOG("disabled bank 4 logged %#lx", uc.args[2]);
	EXPECT_EQ(uc.args[3], 0) TH_LOG("bank 5 logged %#lx with MCG_CTL=0", uc.args[3]);
	EXPECT_EQ(uc.args[4], 0);
}

static void guest_corrected(void)
{
	mce_guest_init();
	GUEST_SYNC(1);		/* one corrected error */
	GUEST_SYNC(2, rdmsr(MSR_IA32_MCx_STATUS(3)), mce_guest.nr_events);
	/* Not cleared: the host logs a second one over it. */
	GUEST_SYNC(3, rdmsr(MSR_IA32_MCx_STATUS(3)), rdmsr(MSR_IA32_MCx_ADDR(3)),
		   mce_guest.nr_events);
	GUEST_ASSERT_EQ(mce_guest_poll(), 1);
	GUEST_SYNC(4, rdmsr(MSR_IA32_MCx_STATUS(3)), mce_guest.nr_events);
}

KVM_ONE_VCPU_TEST(corrected_error_logged_without_mc, guest_corrected)
{
	struct kvm_x86_mce m = make_mce(3, MCE_STATUS_CE);
	struct ucall uc;

	setup(vcpu);
	m.mcg_status = 0;
	ASSERT_EQ(run(vcpu, &uc), UCALL_SYNC);
	inject(vcpu, &m);
	ASSERT_EQ(run(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 2);
	EXPECT_EQ(uc.args[1], MCE_STATUS_CE);
	EXPECT_EQ(uc.args[2], 0) TH_LOG("a corrected error raised #MC");

	m.addr = ERR_GPA + 0x1000;
	inject(vcpu, &m);
	ASSERT_EQ(run(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 3);
	/* 16.3.2.2: a valid entry overwritten sets OVER. */
	EXPECT_EQ(uc.args[1], MCE_STATUS_CE | MCI_STATUS_OVER);
	EXPECT_EQ(uc.args[2], ERR_GPA + 0x1000);
	EXPECT_EQ(uc.args[3], 0);
	ASSERT_EQ(run(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 4);
	EXPECT_EQ(uc.args[1], 0);	/* polled and cleared */
	EXPECT_EQ(uc.args[2], 1);
}

KVM_ONE_VCPU_TEST(invalid_injection_is_einval, NULL)
{
	struct kvm_x86_mce m = make_mce(BANKS, MCE_STATUS_SRAO);

	setup(vcpu);
	EXPECT_EQ(__vcpu_inject_mce(vcpu, &m), -1);
	EXPECT_EQ(errno, EINVAL);
	m = make_mce(1, MCE_STATUS_SRAO & ~MCI_STATUS_VAL);
	EXPECT_EQ(__vcpu_inject_mce(vcpu, &m), -1);
	EXPECT_EQ(errno, EINVAL);
}

TEST_HARNESS_MAIN
