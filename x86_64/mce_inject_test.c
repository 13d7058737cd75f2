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
 *  - the overwrite rules of 16.3.2.2 (OVER flag): "uncorrected errors are
 *    written over corrected errors", but a corrected error does not
 *    replace a logged uncorrected one; either way OVER is set;
 *  - an invalid bank, or a status without VAL, is EINVAL;
 *  - errors the SDM makes unrecoverable (16.6.3, 16.10) are refused by the
 *    guest's handler: it ends the guest through its fatal path, leaves MCIP
 *    and the bank as they are and touches no page.  Without MCG_CAP.SER_P
 *    that is every uncorrected error (16.10.4.1), so each case is refused
 *    whether or not SER_P took effect in the guest (kvm_amd drops it).

 *
 * Caught bugs: bugs/mce-inject-ignores-cr4-mce.patch,
 *              bugs/mce-ce-overwrites-uc.patch
 */
#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/mce.h"
#include "mce.h"

#define BANKS		8
#define ERR_GPA		0x2345000ULL

/* Returns the MCG_CAP set: KVM's MCG_CTL_P and MCG_SER_P where it advertises them. */
static uint64_t setup(struct kvm_vcpu *vcpu)
{
	uint64_t cap;

	TEST_REQUIRE_CAP(KVM_CAP_MCE);
	TEST_REQUIRE_MSG(kvm_check_cap(KVM_CAP_MCE) >= BANKS, "needs %u MCE banks", BANKS);
	cap = BANKS | (kvm_mce_cap_supported() & (MCG_CTL_P | MCG_SER_P));
	vcpu_setup_mce(vcpu, cap);
	return cap;
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
	guest_mce_init();
	GUEST_SYNC(1);		/* the host injects here */
	GUEST_ASSERT_EQ(mce_guest.nr_events, 1);
	GUEST_SYNC(rdmsr(MSR_IA32_MCG_STATUS), rdmsr(MSR_IA32_MCx_STATUS(2)));
}

/*
 * An SRAO at bank 2.  The handler reads the bank as injected either way;
 * then, with SER_P, it recovers (the page is taken out of use, the bank and
 * MCIP cleared); without SER_P the same status is just "uncorrected" and,
 * by 16.10.4.1, fatal: the handler refuses it and leaves everything set.
 */
KVM_VCPU_TEST(uncorrected_error_reaches_handler, guest_recover)
{
	struct kvm_x86_mce m;
	struct mce_guest_state st;
	struct ucall uc;
	uint64_t gpa, cap, read;
	char why[320];
	bool ser;

	cap = setup(vcpu);
	read = vcpu_mcg_cap(vcpu);
	ser = vcpu_mce_ser_p(vcpu, cap, why, sizeof(why));
	ASSERT_EQ(run(vcpu, &uc), UCALL_SYNC);
	m = make_mce(2, MCE_STATUS_SRAO);
	inject(vcpu, &m);
	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT && ser)
		report_guest_abort(vcpu, &uc);
	memcpy(&st, addr_gva2hva(vm, (uintptr_t)&mce_guest), sizeof(st));
	ASSERT_EQ(st.nr_events, 1);
	mce_log_event(&st.events[0]);
	/* What the handler read: the injected bank, MCG_STATUS, and the guest's MCG_CAP. */
	EXPECT_EQ(st.events[0].bank, 2);
	EXPECT_EQ(st.events[0].status, MCE_STATUS_SRAO);
	EXPECT_EQ(st.events[0].addr, ERR_GPA);
	EXPECT_EQ(st.events[0].misc, MCI_MISC_PHYS_PAGE);
	EXPECT_EQ(st.events[0].mcg_status, MCG_STATUS_MCIP | MCG_STATUS_RIPV);
	EXPECT_EQ(st.events[0].ctl, ~0ULL);
	EXPECT_EQ(st.events[0].mcg_cap, read) TH_LOG("RDMSR and KVM_GET_MSRS differ");
	EXPECT_EQ(st.events[0].mcg_cap & MCG_CAP_COUNT_MASK, BANKS);

	if (!ser) {
		printf("# %s: the handler must refuse the error (SDM 16.10.4.1)\n", why);
		ASSERT_EQ(uc.cmd, UCALL_ABORT)
			TH_LOG("no SER_P: the guest went on after an uncorrected error (exit %s, "
			       "ucall %u, args[0] %lu)", exit_reason_str(vcpu->run->exit_reason),
			       uc.cmd, uc.args[0]);
		printf("# guest: %s\n", uc.buffer);
		EXPECT_NE(strstr(uc.buffer, "unrecoverable machine check"), NULL);
		EXPECT_EQ(st.events[0].class, MCE_UC);
		EXPECT_EQ(st.events[0].action, MCE_ACT_FATAL);
		EXPECT_EQ(st.events[0].reason, MCE_WHY_NO_SER_P)
			TH_LOG("reason: %s", mce_reason_str(st.events[0].reason));
		EXPECT_EQ(st.fatal_reason, MCE_WHY_NO_SER_P);
		EXPECT_EQ(st.nr_poisoned, 0);
		EXPECT_TRUE(__addr_gva2gpa(vm, ERR_GPA, &gpa)) TH_LOG("page unmapped anyway");
		/* Refused: MCIP still set, the error still in the bank. */
		EXPECT_NE(vcpu_get_msr(vcpu, MSR_IA32_MCG_STATUS) & MCG_STATUS_MCIP, 0);
		EXPECT_EQ(vcpu_get_msr(vcpu, MSR_IA32_MCx_STATUS(2)), MCE_STATUS_SRAO);
		return;
	}
	ASSERT_EQ(uc.cmd, UCALL_SYNC);
	/* The handler cleared MCIP and the bank. */
	EXPECT_EQ(uc.args[0], 0);
	EXPECT_EQ(uc.args[1], 0);
	EXPECT_EQ(st.events[0].class, MCE_SRAO);
	EXPECT_EQ(st.events[0].action, MCE_ACT_MEMORY_FAILURE);
	EXPECT_EQ(st.nr_poisoned, 1);
	EXPECT_EQ(st.poisoned[0], ERR_GPA);
	/* No victim there: the page only lost its identity mapping (a 2 MiB page, split). */
	EXPECT_TRUE(st.events[0].identity_unmapped);
	EXPECT_EQ(st.nr_pt_pages, 1);
	EXPECT_EQ(st.events[0].victim_va, 0);
	EXPECT_FALSE(__addr_gva2gpa(vm, ERR_GPA, &gpa));
	EXPECT_TRUE(__addr_gva2gpa(vm, ERR_GPA + PAGE_SIZE, &gpa));
	EXPECT_TRUE(__addr_gva2gpa(vm, ERR_GPA - PAGE_SIZE, &gpa));
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

KVM_VCPU_TEST(second_mce_while_mcip_is_shutdown, guest_mcip_stays)
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

KVM_VCPU_TEST(mce_with_cr4_mce_clear_is_shutdown, guest_no_cr4_mce)
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
	guest_mce_init();
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

KVM_VCPU_TEST(disabled_bank_or_mcg_ctl_not_signalled, guest_disabled)
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
	guest_mce_init();
	GUEST_SYNC(1);		/* one corrected error */
	GUEST_SYNC(2, rdmsr(MSR_IA32_MCx_STATUS(3)), mce_guest.nr_events);
	/* Not cleared: the host logs a second one over it. */
	GUEST_SYNC(3, rdmsr(MSR_IA32_MCx_STATUS(3)), rdmsr(MSR_IA32_MCx_ADDR(3)),
		   mce_guest.nr_events);
	GUEST_ASSERT_EQ(guest_mce_poll(), 1);
	GUEST_SYNC(4, rdmsr(MSR_IA32_MCx_STATUS(3)), mce_guest.nr_events);
}

KVM_VCPU_TEST(corrected_error_logged_without_mc, guest_corrected)
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

static volatile unsigned int mc_count;
static volatile uint64_t mc_status, mc_addr;

/* Records bank 2, clears only MCG_STATUS (MCIP): the bank stays valid. */
static void mc_record_keep_bank(struct ex_regs *regs)
{
	mc_status = rdmsr(MSR_IA32_MCx_STATUS(2));
	mc_addr = rdmsr(MSR_IA32_MCx_ADDR(2));
	mc_count++;
	wrmsr(MSR_IA32_MCG_STATUS, 0);
}

static void guest_overwrite(void)
{
	guest_install_handler(MC_VECTOR, mc_record_keep_bank);
	set_cr4(get_cr4() | X86_CR4_MCE);
	GUEST_SYNC(1);		/* UC in bank 2: #MC, the bank is left valid */
	GUEST_SYNC(2, mc_count, mc_status);
	/* A CE in bank 2 on top of it: no #MC, nothing replaced. */
	GUEST_SYNC(3, mc_count, rdmsr(MSR_IA32_MCx_STATUS(2)), rdmsr(MSR_IA32_MCx_ADDR(2)));
	wrmsr(MSR_IA32_MCx_STATUS(2), 0);
	GUEST_SYNC(4);		/* a CE, then a UC over it */
	GUEST_SYNC(5, mc_count, mc_status, mc_addr);
}

KVM_VCPU_TEST(overwrite_rules_uc_over_ce_not_ce_over_uc, guest_overwrite)
{
	struct kvm_x86_mce uc = make_mce(2, MCE_STATUS_SRAO);
	struct kvm_x86_mce ce = make_mce(2, MCE_STATUS_CE);
	struct ucall uc_;

	setup(vcpu);
	ce.mcg_status = 0;
	ce.addr = ERR_GPA + 0x1000;
	ASSERT_EQ(run(vcpu, &uc_), UCALL_SYNC);
	inject(vcpu, &uc);
	ASSERT_EQ(run(vcpu, &uc_), UCALL_SYNC);
	ASSERT_EQ(uc_.args[0], 2);
	ASSERT_EQ(uc_.args[1], 1) TH_LOG("the uncorrected error raised %lu #MC", uc_.args[1]);
	ASSERT_EQ(uc_.args[2], MCE_STATUS_SRAO);

	/* First UC, then CE: the UC stays, with OVER. */
	inject(vcpu, &ce);
	ASSERT_EQ(run(vcpu, &uc_), UCALL_SYNC);
	ASSERT_EQ(uc_.args[0], 3);
	EXPECT_EQ(uc_.args[1], 1) TH_LOG("the corrected error raised #MC");
	EXPECT_EQ(uc_.args[2], MCE_STATUS_SRAO | MCI_STATUS_OVER)
		TH_LOG("bank 2 after a CE over a logged UC: status %#lx, expected the UC's %#llx "
		       "with OVER", uc_.args[2], MCE_STATUS_SRAO | MCI_STATUS_OVER);
	EXPECT_EQ(uc_.args[3], ERR_GPA) TH_LOG("ADDR %#lx: the CE's address replaced the UC's",
					       uc_.args[3]);

	/* First CE, then UC: the UC replaces it, with OVER, and signals #MC. */
	ASSERT_EQ(run(vcpu, &uc_), UCALL_SYNC);
	ASSERT_EQ(uc_.args[0], 4);
	inject(vcpu, &ce);
	uc.addr = ERR_GPA + 0x2000;
	inject(vcpu, &uc);
	ASSERT_EQ(run(vcpu, &uc_), UCALL_SYNC);
	ASSERT_EQ(uc_.args[0], 5);
	EXPECT_EQ(uc_.args[1], 2);
	EXPECT_EQ(uc_.args[2], MCE_STATUS_SRAO | MCI_STATUS_OVER);
	EXPECT_EQ(uc_.args[3], ERR_GPA + 0x2000);
}

KVM_VCPU_TEST(invalid_injection_is_einval, NULL)
{
	struct kvm_x86_mce m = make_mce(BANKS, MCE_STATUS_SRAO);

	setup(vcpu);
	EXPECT_EQ(__vcpu_inject_mce(vcpu, &m), -1);
	EXPECT_EQ(errno, EINVAL);
	m = make_mce(1, MCE_STATUS_SRAO & ~MCI_STATUS_VAL);
	EXPECT_EQ(__vcpu_inject_mce(vcpu, &m), -1);
	EXPECT_EQ(errno, EINVAL);
}

static void guest_must_not_recover(void)
{
	guest_mce_init();
	GUEST_SYNC(1);		/* the host injects here */
	GUEST_SYNC(2, mce_guest.nr_events);	/* only if the handler resumed */
}

/*
 * Each case in a fresh VM: the handler must take its fatal path (GUEST_FAIL
 * with the reason), not resume, and leave MCIP and the bank set.  The reason
 * depends on the guest's MCG_CAP as KVM applied it: a case set up with
 * SER_P that the guest does not see must still be refused, for the reason a
 * non-SER_P guest has (reason_no_ser: PCC, OVER and RIPV=0 keep theirs,
 * anything else is "no SER_P", 16.10.4.1).
 */
KVM_TEST(unrecoverable_errors_are_refused)
{
	static const struct {
		const char *what;
		uint64_t status, misc, mcg_status;
		bool no_ser;
		enum mce_reason reason, reason_no_ser;
	} cases[] = {
		{ "SRAR without ADDRV", MCE_STATUS_SRAR & ~MCI_STATUS_ADDRV, MCI_MISC_PHYS_PAGE,
		  MCG_STATUS_MCIP | MCG_STATUS_RIPV | MCG_STATUS_EIPV, false, MCE_WHY_NO_ADDR,
		  MCE_WHY_NO_SER_P },
		{ "SRAR, RIPV=0 EIPV=1", MCE_STATUS_SRAR, MCI_MISC_PHYS_PAGE,
		  MCG_STATUS_MCIP | MCG_STATUS_EIPV, false, MCE_WHY_NO_RIPV, MCE_WHY_NO_RIPV },
		{ "SRAO, RIPV=EIPV=0", MCE_STATUS_SRAO, MCI_MISC_PHYS_PAGE, MCG_STATUS_MCIP,
		  false, MCE_WHY_NO_RIPV, MCE_WHY_NO_RIPV },
		{ "PCC=1", MCE_STATUS_FATAL, 0, MCG_STATUS_MCIP | MCG_STATUS_RIPV, false,
		  MCE_WHY_PCC, MCE_WHY_PCC },
		{ "SRAR with OVER", MCE_STATUS_SRAR | MCI_STATUS_OVER, MCI_MISC_PHYS_PAGE,
		  MCG_STATUS_MCIP | MCG_STATUS_RIPV | MCG_STATUS_EIPV, false, MCE_WHY_OVERFLOW,
		  MCE_WHY_OVERFLOW },
		{ "UC=1 PCC=0 S=0 AR=1", MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN |
		  MCI_STATUS_AR | MCACOD_MEM_READ, 0, MCG_STATUS_MCIP | MCG_STATUS_RIPV, false,
		  MCE_WHY_INVALID, MCE_WHY_NO_SER_P },
		{ "SRAR, unknown MCACOD", (MCE_STATUS_SRAR & ~0xffffULL) | MCACOD_MEM_READ,
		  MCI_MISC_PHYS_PAGE, MCG_STATUS_MCIP | MCG_STATUS_RIPV | MCG_STATUS_EIPV, false,
		  MCE_WHY_MCACOD, MCE_WHY_NO_SER_P },
		{ "SRAR, linear address mode", MCE_STATUS_SRAR, (1ULL << 6) | 12,
		  MCG_STATUS_MCIP | MCG_STATUS_RIPV | MCG_STATUS_EIPV, false, MCE_WHY_ADDR_MODE,
		  MCE_WHY_NO_SER_P },
		/* Without SER_P the S/AR bits mean nothing: OVER+UC is simply fatal. */
		{ "no SER_P, UC with OVER", MCE_STATUS_SRAR | MCI_STATUS_OVER, MCI_MISC_PHYS_PAGE,
		  MCG_STATUS_MCIP | MCG_STATUS_RIPV | MCG_STATUS_EIPV, true, MCE_WHY_OVERFLOW,
		  MCE_WHY_OVERFLOW },
		/* ... and an SRAO's recovery is no longer there: uncorrected is fatal. */
		{ "no SER_P, UC PCC=0 with RIPV", MCE_STATUS_SRAO, MCI_MISC_PHYS_PAGE,
		  MCG_STATUS_MCIP | MCG_STATUS_RIPV, true, MCE_WHY_NO_SER_P, MCE_WHY_NO_SER_P },
	};
	uint64_t supported;

	TEST_REQUIRE_CAP(KVM_CAP_MCE);
	TEST_REQUIRE_MSG(kvm_check_cap(KVM_CAP_MCE) >= BANKS, "needs %u MCE banks", BANKS);
	supported = kvm_mce_cap_supported();

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t cap = BANKS | (supported & MCG_CTL_P) |
			       (cases[i].no_ser ? 0 : supported & MCG_SER_P);
		enum mce_reason reason = cases[i].reason;
		char why[320];
		struct kvm_x86_mce m = {
			.bank = 2, .status = cases[i].status, .addr = ERR_GPA,
			.misc = cases[i].misc, .mcg_status = cases[i].mcg_status,
		};
		struct mce_guest_state st;
		struct kvm_vcpu *vcpu;
		struct kvm_vm *vm;
		struct ucall uc;
		uint64_t gpa;

		printf("# case: %s\n", cases[i].what);
		vm = vm_create_with_one_vcpu(&vcpu, guest_must_not_recover);
		vcpu_setup_mce(vcpu, cap);
		if (!vcpu_mce_ser_p(vcpu, cap, why, sizeof(why))) {
			reason = cases[i].reason_no_ser;
			if (!cases[i].no_ser)
				printf("# %s: refused as by a guest without SER_P\n", why);
		}
		ASSERT_EQ(run(vcpu, &uc), UCALL_SYNC);
		inject(vcpu, &m);
		vcpu_run(vcpu);
		ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_ABORT)
			TH_LOG("%s: the guest went on (exit %s, ucall %u, args[0] %lu)",
			       cases[i].what, exit_reason_str(vcpu->run->exit_reason), uc.cmd,
			       uc.args[0]);
		printf("# guest: %s\n", uc.buffer);
		EXPECT_NE(strstr(uc.buffer, "unrecoverable machine check"), NULL);
		EXPECT_NE(strstr(uc.buffer, mce_reason_str(reason)), NULL)
			TH_LOG("%s: expected reason \"%s\"", cases[i].what, mce_reason_str(reason));
		memcpy(&st, addr_gva2hva(vm, (uintptr_t)&mce_guest), sizeof(st));
		ASSERT_EQ(st.nr_events, 1);
		mce_log_event(&st.events[0]);
		EXPECT_EQ(st.events[0].action, MCE_ACT_FATAL);
		EXPECT_EQ(st.fatal_reason, reason);
		EXPECT_EQ(st.nr_poisoned, 0);
		EXPECT_TRUE(__addr_gva2gpa(vm, ERR_GPA, &gpa)) TH_LOG("page unmapped anyway");
		/* Nothing was cleared: MCIP still set, the error still in the bank. */
		EXPECT_NE(vcpu_get_msr(vcpu, MSR_IA32_MCG_STATUS) & MCG_STATUS_MCIP, 0);
		EXPECT_EQ(vcpu_get_msr(vcpu, MSR_IA32_MCx_STATUS(2)), cases[i].status);
		kvm_vm_free(vm);
	}
}

TEST_HARNESS_MAIN
