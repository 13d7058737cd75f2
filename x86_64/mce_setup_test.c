// SPDX-License-Identifier: GPL-2.0-only
/*
 * Machine-check set-up and bank MSR semantics.
 *
 * KVM_X86_SETUP_MCE takes an MCG_CAP (api.rst): a bank count of 1 up to
 * KVM_CAP_MCE, capability bits only from KVM_X86_GET_MCE_CAP_SUPPORTED;
 * the guest then reads that MCG_CAP back.  The bank MSRs follow SDM vol. 3B
 * 16.3.2 as KVM implements them: MCi_CTL takes all-zeros or all-ones only,
 * a guest may write MCi_STATUS only with 0 (AMD: any value once
 * HWCR.McStatusWrEn is set), MCG_CTL exists only with MCG_CTL_P and takes
 * 0 or all-ones, and MSRs of banks past the count raise #GP.
 *
 * Caught bugs: bugs/mce-mci-bad-wrmsr-eperm.patch,
 *              bugs/mce-mci-status-nonzero-write.patch
 */
#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/mce.h"
#include "mce.h"

static unsigned int max_banks(void)
{
	TEST_REQUIRE_CAP(KVM_CAP_MCE);
	return kvm_check_cap(KVM_CAP_MCE);
}

/* Capability bits KVM supports that this suite knows (no CMCI/LMCE here: they need set-up). */
static uint64_t basic_cap(void)
{
	return kvm_mce_cap_supported() & (MCG_CTL_P | MCG_SER_P);
}

KVM_TEST(bank_counts)
{
	unsigned int max = max_banks();
	const struct { unsigned int banks; bool ok; } cases[] = {
		{ 0, false }, { 1, true }, { max, true }, { max + 1, false }, { 255, false },
	};

	ASSERT_GE(max, 1);
	ASSERT_LE(max, 32) TH_LOG("KVM_CAP_MCE says %u banks; MCG_CAP.Count is 8 bits but "
				  "KVM's limit is 32", max);
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kvm_vcpu *vcpu;
		struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, NULL);
		int r = __vcpu_setup_mce(vcpu, cases[i].banks | basic_cap());

		if (cases[i].ok) {
			EXPECT_EQ(r, 0) TH_LOG("%u banks rejected: %s", cases[i].banks,
					       strerror(errno));
		} else {
			EXPECT_EQ(r, -1) TH_LOG("%u banks accepted (max %u)", cases[i].banks, max);
			EXPECT_EQ(errno, EINVAL);
		}
		kvm_vm_free(vm);
	}
}

KVM_TEST(unsupported_cap_bits_rejected)
{
	static const uint64_t bits[] = { MCG_CTL_P, MCG_EXT_P, MCG_CMCI_P, MCG_TES_P, MCG_SER_P,
					 MCG_ELOG_P, MCG_LMCE_P, 1ULL << 12, 1ULL << 40 };
	uint64_t supported = kvm_mce_cap_supported();
	unsigned int banks = max_banks(), rejected = 0;

	printf("# KVM_X86_GET_MCE_CAP_SUPPORTED %#lx, %u banks\n", supported, banks);
	for (unsigned int i = 0; i < ARRAY_SIZE(bits); i++) {
		struct kvm_vcpu *vcpu;
		struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, NULL);
		int r = __vcpu_setup_mce(vcpu, 1 | bits[i]);

		if (supported & bits[i]) {
			EXPECT_EQ(r, 0) TH_LOG("supported bit %#lx rejected", bits[i]);
		} else {
			EXPECT_EQ(r, -1) TH_LOG("unsupported bit %#lx accepted", bits[i]);
			EXPECT_EQ(errno, EINVAL);
			rejected++;
		}
		kvm_vm_free(vm);
	}
	/* Bits 12 and 40 are reserved everywhere: the rejection path ran. */
	EXPECT_GE(rejected, 2);
}

static void guest_read_cap(void)
{
	GUEST_SYNC(rdmsr(MSR_IA32_MCG_CAP));
}

KVM_VCPU_TEST(guest_reads_the_mcg_cap_set, guest_read_cap)
{
	/* Not KVM's maximum where there is a choice, so the count is the one set. */
	unsigned int banks = max_banks() > 1 ? max_banks() - 1 : 1;
	uint64_t cap = banks | basic_cap();

	vcpu_setup_mce(vcpu, cap);
	vcpu_run_expect_sync(vcpu, cap);
	/* And the host reads the same through KVM_GET_MSRS. */
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_IA32_MCG_CAP), cap);
}

#define TEST_BANK 1
static uint64_t guest_banks;
static bool guest_is_amd;

/* One guest WRMSR or RDMSR and the vector it raised; the guest reports mismatches. */
#define EXPECT_WR(msr, val, vec) do {						\
	uint8_t __v = wrmsr_safe(msr, val);					\
	__GUEST_ASSERT(__v == (vec), "WRMSR %#x <- %#lx raised vector %u, expected %u",	\
		       (unsigned int)(msr), (uint64_t)(val), __v, (unsigned int)(vec)); \
} while (0)
#define EXPECT_RD(msr, vec) do {						\
	uint64_t __x;								\
	uint8_t __v = rdmsr_safe(msr, &__x);					\
	__GUEST_ASSERT(__v == (vec), "RDMSR %#x raised vector %u, expected %u",	\
		       (unsigned int)(msr), __v, (unsigned int)(vec));		\
} while (0)

static void guest_bank_msrs(void)
{
	unsigned int b = TEST_BANK;
	uint64_t v;

	/* MCi_CTL: all-zeros or all-ones only.  After set-up it is all ones. */
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_MCx_CTL(b)), ~0ULL);
	EXPECT_WR(MSR_IA32_MCx_CTL(b), 0, NO_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_MCx_CTL(b)), 0);
	EXPECT_WR(MSR_IA32_MCx_CTL(b), ~0ULL, NO_VECTOR);
	EXPECT_WR(MSR_IA32_MCx_CTL(b), 0x5, GP_VECTOR);
	EXPECT_WR(MSR_IA32_MCx_CTL(b), 0xffffffffULL, GP_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_MCx_CTL(b)), ~0ULL);

	/* MCi_STATUS: the guest may clear it; any other value is #GP. */
	EXPECT_WR(MSR_IA32_MCx_STATUS(b), 0, NO_VECTOR);
	EXPECT_WR(MSR_IA32_MCx_STATUS(b), MCE_STATUS_CE, GP_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_MCx_STATUS(b)), 0);
	if (guest_is_amd) {
		/* AMD: HWCR.McStatusWrEn (bit 18) makes MCi_STATUS writable (APM vol. 2 9.3). */
		wrmsr(MSR_K7_HWCR, rdmsr(MSR_K7_HWCR) | HWCR_MCSTATUSWREN);
		EXPECT_WR(MSR_IA32_MCx_STATUS(b), MCE_STATUS_CE, NO_VECTOR);
		GUEST_ASSERT_EQ(rdmsr(MSR_IA32_MCx_STATUS(b)), MCE_STATUS_CE);
		wrmsr(MSR_IA32_MCx_STATUS(b), 0);
		wrmsr(MSR_K7_HWCR, rdmsr(MSR_K7_HWCR) & ~HWCR_MCSTATUSWREN);
	}

	/* MCG_CTL, present with MCG_CTL_P: 0 or all ones, and it reads back. */
	if (rdmsr(MSR_IA32_MCG_CAP) & MCG_CTL_P) {
		GUEST_ASSERT_EQ(rdmsr(MSR_IA32_MCG_CTL), ~0ULL);
		EXPECT_WR(MSR_IA32_MCG_CTL, 0, NO_VECTOR);
		GUEST_ASSERT_EQ(rdmsr(MSR_IA32_MCG_CTL), 0);
		EXPECT_WR(MSR_IA32_MCG_CTL, 0x3, GP_VECTOR);
		GUEST_ASSERT_EQ(rdmsr(MSR_IA32_MCG_CTL), 0);
		EXPECT_WR(MSR_IA32_MCG_CTL, ~0ULL, NO_VECTOR);
		GUEST_ASSERT_EQ(rdmsr(MSR_IA32_MCG_CTL), ~0ULL);
	} else {
		EXPECT_RD(MSR_IA32_MCG_CTL, GP_VECTOR);
	}

	/* Banks past the count do not exist. */
	EXPECT_RD(MSR_IA32_MCx_CTL(guest_banks), GP_VECTOR);
	EXPECT_RD(MSR_IA32_MCx_STATUS(guest_banks), GP_VECTOR);
	EXPECT_WR(MSR_IA32_MCx_CTL(guest_banks), 0, GP_VECTOR);
	EXPECT_WR(MSR_IA32_MCx_ADDR(guest_banks), 0, GP_VECTOR);
	/* MCi_CTL2 (CMCI) exists only with MCG_CMCI_P. */
	if (!(rdmsr(MSR_IA32_MCG_CAP) & MCG_CMCI_P))
		EXPECT_RD(MSR_IA32_MCx_CTL2(b), GP_VECTOR);

	/* The host wrote MCi_STATUS/ADDR of bank 0 before the run (see below). */
	v = rdmsr(MSR_IA32_MCx_STATUS(0));
	GUEST_SYNC(v, rdmsr(MSR_IA32_MCx_ADDR(0)));
}

KVM_VCPU_TEST(bank_msr_semantics_guest_and_host, guest_bank_msrs)
{
	unsigned int banks = max_banks() < 4 ? max_banks() : 4;
	struct ucall uc;
	uint32_t vendor;
	int r;

	TEST_REQUIRE_MSG(banks > TEST_BANK, "needs %u MCE banks, KVM has %u", TEST_BANK + 1,
			 banks);
	vcpu_setup_mce(vcpu, banks | basic_cap());
	write_guest_global(vm, guest_banks, banks);
	/*
	 * Not a guess about the host: KVM keys McStatusWrEn on the vCPU's own CPUID
	 * vendor (AMD-compatible: "AuthenticAMD" or "HygonGenuine"), which is what
	 * this vCPU was given from KVM_GET_SUPPORTED_CPUID.
	 */
	vendor = cpuid_find_entry(vcpu->cpuid, 0, 0)->ebx;
	write_guest_global(vm, guest_is_amd, vendor == 0x68747541 || vendor == 0x6f677948);

	/* Host-initiated writes: MCi_STATUS takes any value (state save/restore)... */
	vcpu_set_msr(vcpu, MSR_IA32_MCx_STATUS(0), MCE_STATUS_CE);
	vcpu_set_msr(vcpu, MSR_IA32_MCx_ADDR(0), 0x1234000);
	/* ...but MCi_CTL stays all-zeros-or-ones (KVM_SET_MSRS stops at the bad entry). */
	r = __vcpu_set_msr(vcpu, MSR_IA32_MCx_CTL(1), 0x5);
	EXPECT_EQ(r, 0) TH_LOG("host write of MCi_CTL=5 accepted");
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_IA32_MCx_CTL(1)), ~0ULL);
	/* 0 and all ones both go through, and read back (the guest expects ~0 again). */
	EXPECT_EQ(__vcpu_set_msr(vcpu, MSR_IA32_MCx_CTL(1), 0), 1);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_IA32_MCx_CTL(1)), 0);
	EXPECT_EQ(__vcpu_set_msr(vcpu, MSR_IA32_MCx_CTL(1), ~0ULL), 1);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_IA32_MCx_CTL(1)), ~0ULL);
	/*
	 * MCG_CTL from the host: with MCG_CTL_P, 0 or all ones; without it, only 0
	 * (so state restore of an absent register works) and nothing else.
	 */
	if (basic_cap() & MCG_CTL_P) {
		EXPECT_EQ(__vcpu_set_msr(vcpu, MSR_IA32_MCG_CTL, 0), 1);
		EXPECT_EQ(vcpu_get_msr(vcpu, MSR_IA32_MCG_CTL), 0);
		EXPECT_EQ(__vcpu_set_msr(vcpu, MSR_IA32_MCG_CTL, 0x3), 0)
			TH_LOG("host write of MCG_CTL=3 accepted");
		EXPECT_EQ(vcpu_get_msr(vcpu, MSR_IA32_MCG_CTL), 0);
		EXPECT_EQ(__vcpu_set_msr(vcpu, MSR_IA32_MCG_CTL, ~0ULL), 1);
		EXPECT_EQ(vcpu_get_msr(vcpu, MSR_IA32_MCG_CTL), ~0ULL);
	} else {
		EXPECT_EQ(__vcpu_set_msr(vcpu, MSR_IA32_MCG_CTL, 0), 1);
		EXPECT_EQ(__vcpu_set_msr(vcpu, MSR_IA32_MCG_CTL, ~0ULL), 0);
	}
	/* And a bank past the count doesn't exist for the host either. */
	r = __vcpu_set_msr(vcpu, MSR_IA32_MCx_CTL(banks), 0);
	EXPECT_EQ(r, 0);

	vcpu_run(vcpu);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		EXPECT_EQ(uc.args[0], MCE_STATUS_CE);
		EXPECT_EQ(uc.args[1], 0x1234000);
		break;
	case UCALL_ABORT:
		report_guest_abort(vcpu, &uc);
	default:
		TEST_FAIL("unexpected exit %s", exit_reason_str(vcpu->run->exit_reason));
	}
}

TEST_HARNESS_MAIN
