// SPDX-License-Identifier: GPL-2.0-only
/*
 * The optional machine-check signalling paths, where KVM advertises them in
 * KVM_X86_GET_MCE_CAP_SUPPORTED (each test SKIPs naming the missing bit):
 *
 *  - CMCI (MCG_CMCI_P, SDM vol. 3B 16.5): with MCi_CTL2.CMCI_EN set and the
 *    LAPIC's LVT CMCI entry unmasked, an uncorrected-no-action (UCNA)
 *    error is logged in the bank and signalled by the CMCI interrupt, not
 *    by #MC; with CMCI_EN clear it is only logged.  KVM injects UCNA when
 *    KVM_X86_SET_MCE has mcg_status 0 and UC=1 with PCC=S=AR=0 (api.rst
 *    KVM_X86_SET_MCE).
 *  - LMCE (MCG_LMCE_P, 16.3.1.5): IA32_MCG_EXT_CTL exists for the guest only
 *    once IA32_FEATURE_CONTROL.LMCE_ON is set (KVM: RDMSR/WRMSR #GP before,
 *    vmx_get_msr/vmx_set_msr), takes only LMCE_EN, and the guest may set
 *    LMCE_ON itself only when MCG_CAP has LMCE_P; a locked FEATURE_CONTROL
 *    is read-only to the guest.  KVM_X86_SET_MCE copies mcg_status as given
 *    (it does not check LMCE_EN), so LMCE_S reaching the handler is only the
 *    delivery path, checked last.
 *  - Two vCPUs: a local machine check reaches its target only; a broadcast
 *    one, injected on each vCPU as a VMM does, is recovered by the source
 *    and ignored (UC without EN) by the other; MCG_STATUS and the banks are
 *    per vCPU.
 *
 * Caught bugs: bugs/mce-ucna-cmci-ignores-cmci-en.patch,
 * bugs/mce-set-mce-status-all-vcpus.patch, bugs/mce-mcg-status-drops-lmces.patch
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

/* Set by the host: CMCI_EN in MCi_CTL2 of the bank, and how long to wait for the CMCI. */
static bool cmci_en;
static unsigned long cmci_spin;

static void guest_cmci(void)
{
	guest_mce_init();
	guest_install_handler(CMCI_VECTOR, cmci_handler);
	xapic_write(APIC_SVR, 0x100 | 0xff);		/* software-enable the APIC */
	xapic_write(APIC_LVTCMCI, CMCI_VECTOR);		/* fixed delivery, unmasked */
	wrmsr(MSR_IA32_MCx_CTL2(CMCI_BANK), (cmci_en ? MCI_CTL2_CMCI_EN : 0) | 1);
	sti();
	GUEST_SYNC(1);
	/* An interrupt KVM made pending is taken after STI's shadow: a short wait suffices. */
	for (unsigned long i = 0; i < cmci_spin && !cmci_count; i++)
		cpu_relax();
	cli();
	GUEST_SYNC(2, cmci_count, mce_guest.nr_events, rdmsr(MSR_IA32_MCx_STATUS(CMCI_BANK)),
		   rdmsr(MSR_IA32_MCx_ADDR(CMCI_BANK)));
}

/*
 * A UCNA is logged in the bank either way; the CMCI is sent only when the
 * bank's MCi_CTL2.CMCI_EN is set (16.5.1), and never as #MC.
 */
static void ucna(struct __test_metadata *_metadata, bool en)
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
	cmci_en = en;
	cmci_spin = en ? 100000000UL : 10000UL;
	sync_global_to_guest(vm, cmci_en);
	sync_global_to_guest(vm, cmci_spin);
	vcpu_setup_mce(vcpu, BANKS | MCG_CMCI_P | (supported & (MCG_CTL_P | MCG_SER_P)));
	vcpu_run(vcpu);
	ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_IA32_MCx_CTL2(CMCI_BANK)),
		  (en ? MCI_CTL2_CMCI_EN : 0) | 1);
	mce_log("host injects", &m, en ? "UCNA (mcg_status 0), CMCI enabled" :
		"UCNA (mcg_status 0), CMCI disabled in MCi_CTL2");
	vcpu_inject_mce(vcpu, &m);
	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		report_guest_abort(vcpu, &uc);
	ASSERT_EQ(uc.cmd, UCALL_SYNC);
	EXPECT_EQ(uc.args[1], en) TH_LOG("CMCI interrupts: %lu", uc.args[1]);
	EXPECT_EQ(uc.args[2], 0) TH_LOG("a UCNA raised #MC");
	EXPECT_EQ(uc.args[3], UCNA_STATUS);
	EXPECT_EQ(uc.args[4], 0x7000);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_IA32_MCG_STATUS), 0);
	kvm_vm_free(vm);
}

KVM_TEST(ucna_is_signalled_by_cmci)
{
	ucna(_metadata, true);
}

KVM_TEST(ucna_without_cmci_en_is_only_logged)
{
	ucna(_metadata, false);
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

/*
 * Several vCPUs.  KVM_X86_SET_MCE raises #MC on the one vCPU it is issued
 * on; a broadcast machine check (16.3.1.5: every logical processor gets it)
 * is the VMM's injection on each, as QEMU does: the source vCPU gets the
 * error, the others MCG_STATUS MCIP|RIPV and a bank with UC set and EN clear,
 * which a SER_P handler ignores (16.6.2 table 16-x: "not enabled").  A local
 * machine check (LMCE_S in MCG_STATUS, where MCG_LMCE_P is offered and the
 * guest opted in) reaches its target only.  Each vCPU's MCG_STATUS and banks
 * are its own: the host reads them with KVM_GET_MSRS on both.
 */
static void guest_mc_cpu(void)
{
	guest_mce_init();
	if (rdmsr(MSR_IA32_MCG_CAP) & MCG_LMCE_P) {
		wrmsr(MSR_IA32_FEATURE_CONTROL, FEAT_CTL_LOCK | FEAT_CTL_LMCE_ON);
		wrmsr(MSR_IA32_MCG_EXT_CTL, MCG_EXT_CTL_LMCE_EN);
	}
	GUEST_SYNC(1);
	GUEST_SYNC(2, mce_guest.nr_events);
	GUEST_SYNC(3, mce_guest.nr_events);
}

static void run_to_sync(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
			uint64_t stage, uint64_t nr_events)
{
	struct ucall uc;

	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		report_guest_abort(vcpu, &uc);
	ASSERT_EQ(uc.cmd, UCALL_SYNC);
	ASSERT_EQ(uc.args[0], stage) TH_LOG("vCPU %u", vcpu->id);
	if (stage > 1)
		EXPECT_EQ(uc.args[1], nr_events) TH_LOG("vCPU %u: machine-check events so far",
							 vcpu->id);
}

KVM_TEST(broadcast_and_local_mce_on_two_vcpus)
{
	uint64_t supported = kvm_mce_cap_supported(), cap, lmces;
	struct mce_guest_state *st;
	struct kvm_vcpu *vcpu[2];
	struct kvm_x86_mce m;
	struct kvm_vm *vm;
	char why[320];
	unsigned int i;

	TEST_REQUIRE_CAP(KVM_CAP_MCE);
	vm = vm_create_with_vcpus(2, guest_mc_cpu, vcpu);
	cap = BANKS | (supported & (MCG_CTL_P | MCG_SER_P | MCG_LMCE_P));
	for (i = 0; i < 2; i++)
		vcpu_setup_mce(vcpu[i], cap);
	if (!vcpu_mce_ser_p(vcpu[0], cap, why, sizeof(why))) {
		kvm_vm_free(vm);
		SKIP(return, "%s: a broadcast #MC is recoverable only with SER_P (16.10.4.1)",
		     why);
	}
	lmces = (vcpu_mcg_cap(vcpu[0]) & MCG_LMCE_P) ? MCG_STATUS_LMCES : 0;
	if (!lmces)
		printf("# no MCG_LMCE_P (KVM_X86_GET_MCE_CAP_SUPPORTED %#lx): the local machine "
		       "check has no LMCE_S\n", supported);
	st = addr_gva2hva(vm, (uintptr_t)&mce_guest);
	for (i = 0; i < 2; i++)
		run_to_sync(_metadata, vcpu[i], 1, 0);

	/* Local: vCPU 0 only. */
	m = (struct kvm_x86_mce){ .bank = 1, .status = MCE_STATUS_SRAO, .misc = MCI_MISC_PHYS_PAGE,
				  .addr = vm_phys_alloc(vm, 1),
				  .mcg_status = MCG_STATUS_MCIP | MCG_STATUS_RIPV | lmces };
	mce_log("host injects on vCPU 0", &m, lmces ? "local machine check" : "vCPU 0 only");
	vcpu_inject_mce(vcpu[0], &m);
	EXPECT_EQ(vcpu_get_msr(vcpu[0], MSR_IA32_MCG_STATUS), m.mcg_status);
	EXPECT_EQ(vcpu_get_msr(vcpu[1], MSR_IA32_MCG_STATUS), 0) TH_LOG("vCPU 1 got MCG_STATUS");
	EXPECT_EQ(vcpu_get_msr(vcpu[1], MSR_IA32_MCx_STATUS(1)), 0) TH_LOG("vCPU 1 got the bank");
	run_to_sync(_metadata, vcpu[0], 2, 1);
	run_to_sync(_metadata, vcpu[1], 2, 1);
	EXPECT_EQ(st->events[0].mcg_status, m.mcg_status);
	EXPECT_EQ(st->events[0].action, MCE_ACT_MEMORY_FAILURE);
	EXPECT_EQ(st->events[0].page, m.addr);

	/* Broadcast: the error on vCPU 0, "another processor's" #MC on vCPU 1. */
	m.addr = vm_phys_alloc(vm, 1);
	m.mcg_status = MCG_STATUS_MCIP | MCG_STATUS_RIPV;
	mce_log("host injects on vCPU 0", &m, "broadcast: the source");
	vcpu_inject_mce(vcpu[0], &m);
	m = (struct kvm_x86_mce){ .bank = 1, .status = MCI_STATUS_VAL | MCI_STATUS_UC,
				  .mcg_status = MCG_STATUS_MCIP | MCG_STATUS_RIPV };
	mce_log("host injects on vCPU 1", &m, "broadcast: the others (UC, not enabled)");
	vcpu_inject_mce(vcpu[1], &m);
	for (i = 0; i < 2; i++)
		EXPECT_EQ(vcpu_get_msr(vcpu[i], MSR_IA32_MCG_STATUS),
			  MCG_STATUS_MCIP | MCG_STATUS_RIPV) TH_LOG("vCPU %u", i);
	run_to_sync(_metadata, vcpu[0], 3, 2);
	run_to_sync(_metadata, vcpu[1], 3, 3);
	EXPECT_EQ(st->events[1].mcg_status, MCG_STATUS_MCIP | MCG_STATUS_RIPV);
	EXPECT_EQ(st->events[1].action, MCE_ACT_MEMORY_FAILURE);
	EXPECT_EQ(st->events[2].mcg_status, MCG_STATUS_MCIP | MCG_STATUS_RIPV);
	EXPECT_EQ(st->events[2].status, MCI_STATUS_VAL | MCI_STATUS_UC);
	EXPECT_EQ(st->events[2].action, MCE_ACT_IGNORE) TH_LOG("reason: %s",
							       mce_reason_str(st->events[2].reason));
	for (i = 0; i < 3; i++)
		mce_log_event(&st->events[i]);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(vcpu_get_msr(vcpu[i], MSR_IA32_MCG_STATUS), 0)
			TH_LOG("vCPU %u: the handler cleared MCIP", i);
		EXPECT_EQ(vcpu_get_msr(vcpu[i], MSR_IA32_MCx_STATUS(1)), 0)
			TH_LOG("vCPU %u: the handler cleared the bank", i);
	}
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
