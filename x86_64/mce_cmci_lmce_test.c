// SPDX-License-Identifier: GPL-2.0-only
/*
 * The optional machine-check signalling paths, where KVM advertises them in
 * KVM_X86_GET_MCE_CAP_SUPPORTED (each test SKIPs naming the missing bit):
 *
 *  - CMCI (MCG_CMCI_P, SDM vol. 3B 16.5): with MCi_CTL2.CMCI_EN set and the
 *    LAPIC's LVT CMCI entry unmasked, an uncorrected-no-action (UCNA)
 *    error is logged in the bank and signalled by the CMCI interrupt, not
 *    by #MC.  KVM injects UCNA when KVM_X86_SET_MCE has mcg_status 0 and
 *    UC=1 with PCC=S=AR=0 (api.rst KVM_X86_SET_MCE).
 *  - LMCE (MCG_LMCE_P, 16.3.1.5): IA32_MCG_EXT_CTL exists for the guest only
 *    once IA32_FEATURE_CONTROL.LMCE_ON is set (KVM: RDMSR/WRMSR #GP before,
 *    vmx_get_msr/vmx_set_msr), takes only LMCE_EN, and the guest may set
 *    LMCE_ON itself only when MCG_CAP has LMCE_P; a locked FEATURE_CONTROL
 *    is read-only to the guest.  KVM_X86_SET_MCE copies mcg_status as given
 *    (it does not check LMCE_EN), so LMCE_S reaching the handler is only the
 *    delivery path, checked last.
 */
#include "kvm_test_harness.h"
#include "guest/apic.h"
#include "guest/guest.h"
#include "guest/mce.h"
#include "mce.h"

#define BANKS			4
#define CMCI_BANK		2
#define CMCI_VECTOR		0x50
#define UCNA_STATUS		(MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN | MCI_STATUS_ADDRV | \
				 MCACOD_MEM_READ)

static volatile unsigned int cmci_count;

static void cmci_handler(struct ex_regs *regs)
{
	cmci_count++;
	xapic_write(APIC_EOI, 0);
}

static void guest_cmci(void)
{
	guest_mce_init();
	guest_install_handler(CMCI_VECTOR, cmci_handler);
	xapic_write(APIC_SVR, 0x100 | 0xff);		/* software-enable the APIC */
	xapic_write(APIC_LVTCMCI, CMCI_VECTOR);		/* fixed delivery, unmasked */
	wrmsr(MSR_IA32_MCx_CTL2(CMCI_BANK), MCI_CTL2_CMCI_EN | 1);
	sti();
	GUEST_SYNC(1);
	for (unsigned long i = 0; i < 100000000UL && !cmci_count; i++)
		cpu_relax();
	cli();
	GUEST_SYNC(2, cmci_count, mce_guest.nr_events, rdmsr(MSR_IA32_MCx_STATUS(CMCI_BANK)),
		   rdmsr(MSR_IA32_MCx_ADDR(CMCI_BANK)));
}

KVM_TEST(ucna_is_signalled_by_cmci)
{
	struct vm_opts opts = { .irqchip = true };
	struct kvm_x86_mce m = {
		.bank = CMCI_BANK, .status = UCNA_STATUS, .addr = 0x7000, .mcg_status = 0,
	};
	uint64_t supported = kvm_mce_cap_supported();
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	TEST_REQUIRE_MSG(supported & MCG_CMCI_P, "KVM does not advertise MCG_CMCI_P "
			 "(KVM_X86_GET_MCE_CAP_SUPPORTED %#lx): no CMCI/UCNA", supported);
	vm = vm_create_opts(&opts);
	vcpu = vm_vcpu_add(vm, 0, guest_cmci);
	virt_map_mmio(vm, APIC_DEFAULT_GPA, PAGE_SIZE);
	vcpu_setup_mce(vcpu, BANKS | MCG_CMCI_P | (supported & (MCG_CTL_P | MCG_SER_P)));
	vcpu_run(vcpu);
	ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
	mce_log("host injects", &m, "UCNA (mcg_status 0)");
	vcpu_inject_mce(vcpu, &m);
	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		report_guest_abort(vcpu, &uc);
	ASSERT_EQ(uc.cmd, UCALL_SYNC);
	EXPECT_EQ(uc.args[1], 1) TH_LOG("CMCI interrupts: %lu", uc.args[1]);
	EXPECT_EQ(uc.args[2], 0) TH_LOG("a UCNA raised #MC");
	EXPECT_EQ(uc.args[3], UCNA_STATUS);
	EXPECT_EQ(uc.args[4], 0x7000);
	kvm_vm_free(vm);
}

static void guest_lmce(void)
{
	uint64_t v;

	guest_mce_init();
	/* Before the firmware's opt-in, MCG_EXT_CTL does not exist. */
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_IA32_MCG_EXT_CTL, &v), GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_IA32_MCG_EXT_CTL, MCG_EXT_CTL_LMCE_EN), GP_VECTOR);
	/* The firmware's part, done by the guest: opt in to LMCE and lock. */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_IA32_FEATURE_CONTROL, FEAT_CTL_LOCK | FEAT_CTL_LMCE_ON),
			NO_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_IA32_FEATURE_CONTROL, 0), GP_VECTOR);	/* locked */
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_MCG_EXT_CTL), 0);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_IA32_MCG_EXT_CTL, 2), GP_VECTOR);	/* reserved bit */
	wrmsr(MSR_IA32_MCG_EXT_CTL, MCG_EXT_CTL_LMCE_EN);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_MCG_EXT_CTL), MCG_EXT_CTL_LMCE_EN);
	GUEST_SYNC(1);
	GUEST_SYNC(2, mce_guest.nr_events, mce_guest.events[0].mcg_status);
}

/* Without MCG_LMCE_P in MCG_CAP the guest can't opt in: LMCE_ON is a reserved bit. */
static void guest_no_lmce_p(void)
{
	GUEST_SYNC(wrmsr_safe(MSR_IA32_FEATURE_CONTROL, FEAT_CTL_LOCK | FEAT_CTL_LMCE_ON),
		   rdmsr(MSR_IA32_FEATURE_CONTROL));
}

KVM_VCPU_TEST(lmce_sets_lmce_s, guest_lmce)
{
	struct kvm_x86_mce m = {
		.bank = 1, .status = MCE_STATUS_SRAO, .misc = MCI_MISC_PHYS_PAGE,
		.mcg_status = MCG_STATUS_MCIP | MCG_STATUS_RIPV | MCG_STATUS_LMCES,
	};
	uint64_t supported = kvm_mce_cap_supported();
	struct kvm_vcpu *vcpu2;
	struct kvm_vm *vm2;
	struct ucall uc;

	TEST_REQUIRE_MSG(supported & MCG_LMCE_P, "KVM does not advertise MCG_LMCE_P "
			 "(KVM_X86_GET_MCE_CAP_SUPPORTED %#lx): no LMCE", supported);
	vcpu_setup_mce(vcpu, BANKS | MCG_LMCE_P | (supported & (MCG_CTL_P | MCG_SER_P)));
	/* A page of its own: the handler unmaps the page it recovers. */
	m.addr = vm_phys_alloc(vm, 1);
	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		report_guest_abort(vcpu, &uc);
	ASSERT_EQ(uc.cmd, UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 1);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_IA32_MCG_EXT_CTL), MCG_EXT_CTL_LMCE_EN);
	mce_log("host injects", &m, "local machine check");
	vcpu_inject_mce(vcpu, &m);
	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		report_guest_abort(vcpu, &uc);
	ASSERT_EQ(uc.cmd, UCALL_SYNC);
	EXPECT_EQ(uc.args[1], 1);
	EXPECT_NE(uc.args[2] & MCG_STATUS_LMCES, 0);

	vm2 = vm_create_with_one_vcpu(&vcpu2, guest_no_lmce_p);
	vcpu_setup_mce(vcpu2, BANKS | (supported & (MCG_CTL_P | MCG_SER_P)));
	vcpu_run(vcpu2);
	if (get_ucall(vcpu2, &uc) == UCALL_ABORT)
		report_guest_abort(vcpu2, &uc);
	ASSERT_EQ(uc.cmd, UCALL_SYNC);
	EXPECT_EQ(uc.args[0], GP_VECTOR) TH_LOG("LMCE_ON accepted without MCG_LMCE_P");
	EXPECT_EQ(uc.args[1] & FEAT_CTL_LMCE_ON, 0);
	kvm_vm_free(vm2);
}

TEST_HARNESS_MAIN
