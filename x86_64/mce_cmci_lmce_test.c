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
 *  - LMCE (MCG_LMCE_P, 16.3.1.5): with IA32_FEATURE_CONTROL.LMCE_ON and
 *    IA32_MCG_EXT_CTL.LMCE_EN, a local machine check shows MCG_STATUS.LMCE_S.
 */
#include "kvm_test_harness.h"
#include "guest.h"
#include "mce.h"

#define BANKS			4
#define CMCI_BANK		2
#define CMCI_VECTOR		0x50
#define MSR_IA32_MCx_CTL2(x)	(0x280 + (x))
#define MCI_CTL2_CMCI_EN	(1ULL << 30)
#define MSR_IA32_MCG_EXT_CTL	0x4d0
#define MCG_EXT_CTL_LMCE_EN	(1ULL << 0)
#define FEAT_CTL_LOCKED		(1ULL << 0)
#define FEAT_CTL_LMCE_ON	(1ULL << 20)
#define XAPIC_BASE		0xfee00000ULL
#define APIC_EOI		0xb0
#define APIC_SPIV		0xf0
#define APIC_LVTCMCI		0x2f0
#define UCNA_STATUS		(MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN | MCI_STATUS_ADDRV | \
				 MCACOD_MEM_READ)

static volatile unsigned int cmci_count;

static void apic_write(unsigned int reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(XAPIC_BASE + reg) = v;
}

static void cmci_handler(struct ex_regs *regs)
{
	cmci_count++;
	apic_write(APIC_EOI, 0);
}

static void guest_cmci(void)
{
	mce_guest_init();
	guest_install_handler(CMCI_VECTOR, cmci_handler);
	apic_write(APIC_SPIV, 0x100 | 0xff);		/* software-enable the APIC */
	apic_write(APIC_LVTCMCI, CMCI_VECTOR);		/* fixed delivery, unmasked */
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
	virt_map_mmio(vm, XAPIC_BASE, PAGE_SIZE);
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
	mce_guest_init();
	wrmsr(MSR_IA32_MCG_EXT_CTL, MCG_EXT_CTL_LMCE_EN);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_MCG_EXT_CTL), MCG_EXT_CTL_LMCE_EN);
	GUEST_SYNC(1);
	GUEST_SYNC(2, mce_guest.nr_events, mce_guest.events[0].mcg_status);
}

KVM_ONE_VCPU_TEST(lmce_sets_lmce_s, guest_lmce)
{
	struct kvm_x86_mce m = {
		.bank = 1, .status = MCE_STATUS_SRAO, .addr = 0x9000, .misc = MCI_MISC_PHYS_PAGE,
		.mcg_status = MCG_STATUS_MCIP | MCG_STATUS_RIPV | MCG_STATUS_LMCES,
	};
	uint64_t supported = kvm_mce_cap_supported();
	struct ucall uc;

	TEST_REQUIRE_MSG(supported & MCG_LMCE_P, "KVM does not advertise MCG_LMCE_P "
			 "(KVM_X86_GET_MCE_CAP_SUPPORTED %#lx): no LMCE", supported);
	vcpu_setup_mce(vcpu, BANKS | MCG_LMCE_P | (supported & (MCG_CTL_P | MCG_SER_P)));
	/* The firmware's part: opt in to LMCE and lock IA32_FEATURE_CONTROL. */
	vcpu_set_msr(vcpu, MSR_IA32_FEATURE_CONTROL, FEAT_CTL_LOCKED | FEAT_CTL_LMCE_ON);
	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		report_guest_abort(vcpu, &uc);
	ASSERT_EQ(uc.cmd, UCALL_SYNC);
	mce_log("host injects", &m, "local machine check");
	vcpu_inject_mce(vcpu, &m);
	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		report_guest_abort(vcpu, &uc);
	ASSERT_EQ(uc.cmd, UCALL_SYNC);
	EXPECT_EQ(uc.args[1], 1);
	EXPECT_NE(uc.args[2] & MCG_STATUS_LMCES, 0);
}

TEST_HARNESS_MAIN
