// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPUID and MSRs.
 *  - The guest's CPUID equals the table the host set with KVM_SET_CPUID2,
 *    leaf by leaf, except for the bits the SDM defines as reflecting live
 *    state (OSXSAVE, APIC enable, OSPKE, XSAVE area sizes); and
 *    KVM_GET_CPUID2 returns that table (api.rst: "reads the CPUID entries
 *    that have been set with KVM_SET_CPUID2").
 *  - MSRs written by the guest read back the same in the guest and through
 *    KVM_GET_MSRS; values set with KVM_SET_MSRS are what the guest reads.
 *  - A non-existent MSR raises #GP(0) on RDMSR and WRMSR (SDM vol. 2B,
 *    RDMSR/WRMSR "Protected Mode Exceptions"); KVM_GET_MSRS processes 0 MSRs.
 *  - A non-canonical address written to FS/GS/KernelGS base, LSTAR or CSTAR
 *    is #GP(0) for the guest (SDM vol. 2B WRMSR) and refused from the host.
 *  - After KVM_RUN, KVM_SET_CPUID2 takes only the table already set
 *    (api.rst 4.20 caveat; cpuid.c), and the vCPU runs on with its model.
 *
 * Caught bugs: bugs/msr-noncanonical-base-msrs.patch,
 *              bugs/msr-cpuid-set-after-run.patch
 */
#include <stdio.h>

#include "guest/guest.h"
#include "kvm_test_harness.h"

#define MAX_LEAVES 128

struct leaf {
	uint32_t function, index;
	struct cpuid_regs regs;
};

static struct leaf leaves[MAX_LEAVES];
static uint32_t nr_leaves;

static void guest_cpuid(void)
{
	for (uint32_t i = 0; i < nr_leaves; i++)
		cpuid_count(leaves[i].function, leaves[i].index, &leaves[i].regs);
	GUEST_DONE();
}

/* Bits that follow CR4/XCR0/APIC state rather than the CPUID table. */
static void mask_dynamic(uint32_t function, uint32_t index, struct cpuid_regs *r)
{
	if (function == 1) {
		r->ecx &= ~(1u << 27);		/* OSXSAVE = CR4.OSXSAVE */
		r->edx &= ~(1u << 9);		/* APIC = IA32_APIC_BASE.EN */
	} else if (function == 7 && index == 0) {
		r->ecx &= ~(1u << 4);		/* OSPKE = CR4.PKE */
	} else if (function == 0xd && (index == 0 || index == 1)) {
		r->ebx = 0;			/* XSAVE size for the current XCR0/XSS */
	}
}

static unsigned int compare_leaves(struct __test_metadata *_metadata, const char *what,
				   const struct kvm_cpuid2 *set, const struct leaf *got_leaves)
{
	unsigned int mismatches = 0;

	for (uint32_t i = 0; i < nr_leaves; i++) {
		const struct kvm_cpuid_entry2 *e = &set->entries[i];
		struct cpuid_regs want = { e->eax, e->ebx, e->ecx, e->edx };
		struct cpuid_regs got = got_leaves[i].regs;

		mask_dynamic(e->function, e->index, &want);
		mask_dynamic(e->function, e->index, &got);
		if (memcmp(&want, &got, sizeof(want))) {
			if (mismatches++ < 8)
				TH_LOG("CPUID %#x.%u: set %08x %08x %08x %08x, %s %08x %08x %08x %08x",
				       e->function, e->index, want.eax, want.ebx, want.ecx, want.edx,
				       what, got.eax, got.ebx, got.ecx, got.edx);
		}
	}
	return mismatches;
}

KVM_VCPU_TEST(guest_sees_the_cpuid_the_host_set, guest_cpuid)
{
	/* vm_vcpu_add() gave KVM_SET_CPUID2 the supported table (APIC ID adjusted). */
	const struct kvm_cpuid2 *set = vcpu->cpuid;

	ASSERT_NE(set, NULL);
	ASSERT_GT(set->nent, 0);
	nr_leaves = set->nent < MAX_LEAVES ? set->nent : MAX_LEAVES;
	for (uint32_t i = 0; i < nr_leaves; i++) {
		leaves[i].function = set->entries[i].function;
		leaves[i].index = set->entries[i].index;
	}
	sync_global_to_guest(vm, leaves);
	sync_global_to_guest(vm, nr_leaves);
	vcpu_run_expect_done(vcpu);
	sync_global_from_guest(vm, leaves);
	EXPECT_EQ(compare_leaves(_metadata, "guest sees", set, leaves), 0);
}

KVM_VCPU_TEST(get_cpuid2_returns_what_was_set, guest_cpuid)
{
	const struct kvm_cpuid2 *set = vcpu->cpuid;
	struct kvm_cpuid2 *got = vcpu_get_cpuid(vcpu);
	static struct leaf from_kvm[MAX_LEAVES];

	ASSERT_EQ(got->nent, set->nent);
	nr_leaves = set->nent < MAX_LEAVES ? set->nent : MAX_LEAVES;
	for (uint32_t i = 0; i < nr_leaves; i++) {
		const struct kvm_cpuid_entry2 *e =
			cpuid_find_entry(got, set->entries[i].function, set->entries[i].index);

		ASSERT_NE(e, NULL) TH_LOG("leaf %#x.%u missing", set->entries[i].function,
					  set->entries[i].index);
		from_kvm[i].regs = (struct cpuid_regs){ e->eax, e->ebx, e->ecx, e->edx };
	}
	EXPECT_EQ(compare_leaves(_metadata, "KVM_GET_CPUID2 has", set, from_kvm), 0);
	free(got);
}

/* The guest sees exactly what it set for a leaf the host changed. */
static void guest_cpuid_custom(void)
{
	struct cpuid_regs r;

	cpuid_count(0x40000100, 0, &r);
	GUEST_SYNC(r.eax, r.ebx, r.ecx, r.edx);
}

KVM_VCPU_TEST(custom_leaf_reaches_guest, guest_cpuid_custom)
{
	const struct kvm_cpuid2 *sup = kvm_get_supported_cpuid();
	struct kvm_cpuid2 *c = kvm_cpuid2_alloc(sup->nent + 1);
	struct kvm_cpuid_entry2 *e;
	struct ucall uc;

	memcpy(c->entries, sup->entries, sup->nent * sizeof(c->entries[0]));
	e = &c->entries[sup->nent];
	*e = (struct kvm_cpuid_entry2){ .function = 0x40000100, .eax = 0x11111111,
					.ebx = 0x22222222, .ecx = 0x33333333, .edx = 0x44444444 };
	vcpu_set_cpuid(vcpu, c);
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	EXPECT_EQ(uc.args[0], 0x11111111);
	EXPECT_EQ(uc.args[1], 0x22222222);
	EXPECT_EQ(uc.args[2], 0x33333333);
	EXPECT_EQ(uc.args[3], 0x44444444);
	free(c);
}

/*
 * this_cpu_has() reads the vCPU's CPUID: a feature bit the host set in the
 * table and one it cleared read that way in the guest.  Leaf 0x80000001,
 * which kvm_pvm passes through as set (it rewrites 0x1, 0x7 and 0xd.1, see
 * known_failures): PDPE1GB forced on (this host's KVM doesn't even offer
 * it), RDTSCP forced off, LM left alone (on: the guest runs in 64-bit mode).
 */
static void guest_this_cpu_has(void)
{
	struct cpuid_regs r;

	cpuid_count(0x80000001, 0, &r);
	GUEST_SYNC(this_cpu_has(X86_FEATURE_GBPAGES), this_cpu_has(X86_FEATURE_RDTSCP),
		   this_cpu_has(X86_FEATURE_LM), r.edx);
}

static struct kvm_cpuid2 *supported_cpuid_copy(void)
{
	const struct kvm_cpuid2 *sup = kvm_get_supported_cpuid();
	struct kvm_cpuid2 *c = kvm_cpuid2_alloc(sup->nent);

	memcpy(c->entries, sup->entries, sup->nent * sizeof(c->entries[0]));
	return c;
}

KVM_VCPU_TEST(this_cpu_has_sees_set_and_cleared_bits, guest_this_cpu_has)
{
	struct kvm_cpuid2 *c = supported_cpuid_copy();
	struct kvm_cpuid_entry2 *e = cpuid_find_entry(c, 0x80000001, 0);
	struct ucall uc;

	ASSERT_NE(e, NULL) TH_LOG("KVM_GET_SUPPORTED_CPUID has no leaf 0x80000001");
	ASSERT_NE(e->edx & (1u << X86_FEATURE_LM.bit), 0) TH_LOG("LM not supported?");
	e->edx |= 1u << X86_FEATURE_GBPAGES.bit;
	e->edx &= ~(1u << X86_FEATURE_RDTSCP.bit);
	vcpu_set_cpuid(vcpu, c);

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	/* The raw register first: a KVM that rewrote it explains everything below. */
	EXPECT_EQ(uc.args[3], e->edx) TH_LOG("CPUID 0x80000001 EDX: set %#x, guest sees %#lx",
					     e->edx, (unsigned long)uc.args[3]);
	EXPECT_EQ(uc.args[0], 1) TH_LOG("this_cpu_has(GBPAGES), set by the host");
	EXPECT_EQ(uc.args[1], 0) TH_LOG("this_cpu_has(RDTSCP), cleared by the host");
	EXPECT_EQ(uc.args[2], 1) TH_LOG("this_cpu_has(LM), left as supported");
	free(c);
}

/*
 * A leaf above the maximum of its range does not exist (SDM vol. 2A CPUID:
 * 0x80000000 EAX is the "maximum input value for extended function CPUID
 * information"), so this_cpu_has() must say no for its features even
 * though the table still holds the entry with LM set.
 */
static void guest_this_cpu_has_max_leaf(void)
{
	struct cpuid_regs r;

	cpuid_count(0x80000000, 0, &r);
	GUEST_SYNC(this_cpu_has(X86_FEATURE_LM), r.eax);
}

KVM_VCPU_TEST(this_cpu_has_honours_max_extended_leaf, guest_this_cpu_has_max_leaf)
{
	struct kvm_cpuid2 *c = supported_cpuid_copy();
	struct kvm_cpuid_entry2 *e = cpuid_find_entry(c, 0x80000000, 0);
	struct ucall uc;

	ASSERT_NE(e, NULL) TH_LOG("KVM_GET_SUPPORTED_CPUID has no leaf 0x80000000");
	ASSERT_NE(cpuid_find_entry(c, 0x80000001, 0), NULL);
	e->eax = 0x80000000;
	vcpu_set_cpuid(vcpu, c);

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	EXPECT_EQ(uc.args[1], 0x80000000) TH_LOG("guest's max extended leaf");
	EXPECT_EQ(uc.args[0], 0) TH_LOG("this_cpu_has(LM) with max extended leaf 0x80000000");
	free(c);
}

/*
 * The same for a hypervisor leaf: KVM's feature leaf 0x40000001 exists up
 * to the maximum in 0x40000000 EAX (Documentation/virt/kvm/x86/cpuid.rst),
 * not up to leaf 0's.  KVM_FEATURE_CLOCKSOURCE (bit 0) forced off and
 * KVM_FEATURE_CLOCKSOURCE2 (bit 3) forced on.
 */
#define KVM_PV_FEATURE(bit)	X86_FEATURE(0x40000001, 0, CPUID_EAX, bit)

static void guest_this_cpu_has_pv(void)
{
	struct cpuid_regs r;

	cpuid_count(0x40000001, 0, &r);
	GUEST_SYNC(this_cpu_has(KVM_PV_FEATURE(0)), this_cpu_has(KVM_PV_FEATURE(3)), r.eax);
}

KVM_VCPU_TEST(this_cpu_has_reads_hypervisor_leaves, guest_this_cpu_has_pv)
{
	struct kvm_cpuid2 *c = supported_cpuid_copy();
	struct kvm_cpuid_entry2 *e = cpuid_find_entry(c, 0x40000001, 0);
	struct ucall uc;

	if (!e)
		SKIP(free(c); return, "KVM_GET_SUPPORTED_CPUID has no KVM feature leaf 0x40000001");
	e->eax &= ~1u;
	e->eax |= 1u << 3;
	vcpu_set_cpuid(vcpu, c);

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	EXPECT_EQ(uc.args[2], e->eax) TH_LOG("CPUID 0x40000001 EAX: set %#x, guest sees %#lx",
					     e->eax, (unsigned long)uc.args[2]);
	EXPECT_EQ(uc.args[0], 0) TH_LOG("this_cpu_has(KVM_FEATURE_CLOCKSOURCE), cleared");
	EXPECT_EQ(uc.args[1], 1) TH_LOG("this_cpu_has(KVM_FEATURE_CLOCKSOURCE2), set");
	free(c);
}

struct msr_case {
	uint32_t index;
	uint64_t value;
};

/* Plain storage MSRs with no side effects on a running 64-bit guest. */
static const struct msr_case msrs[] = {
	{ MSR_IA32_SYSENTER_CS, 0x10 },
	{ MSR_IA32_SYSENTER_ESP, 0x81234560 },	/* 32-bit on AMD (APM vol. 2 6.1.1) */
	{ MSR_IA32_SYSENTER_EIP, 0x81000000 },
	{ MSR_KERNEL_GS_BASE, 0xffff888012345000ULL },
	{ MSR_STAR, 0x0023001000000000ULL },
	{ MSR_LSTAR, 0xffffffff81e00000ULL },
	{ MSR_CSTAR, 0xffffffff81e00100ULL },
	{ MSR_SYSCALL_MASK, 0x47700 },
};

static void guest_msrs(void)
{
	uint64_t v;

	for (unsigned int i = 0; i < ARRAY_SIZE(msrs); i++) {
		wrmsr(msrs[i].index, msrs[i].value);
		GUEST_ASSERT_EQ(rdmsr(msrs[i].index), msrs[i].value);
	}
	GUEST_SYNC(1);
	/* Now the host has written value ^ 0x5a0 (kept canonical) to each. */
	for (unsigned int i = 0; i < ARRAY_SIZE(msrs); i++)
		GUEST_ASSERT_EQ(rdmsr(msrs[i].index), msrs[i].value ^ 0x5a0);

	/* A non-existent MSR: #GP(0) both ways. */
	GUEST_ASSERT_EQ(rdmsr_safe(0x2ff00000, &v), GP_VECTOR);
	GUEST_ASSERT_EQ(guest_fault_error_code(), 0);
	GUEST_ASSERT_EQ(wrmsr_safe(0x2ff00000, 0), GP_VECTOR);
	GUEST_ASSERT_EQ(guest_fault_error_code(), 0);
	/* A reserved-bit write to EFER: #GP(0) (SDM vol. 3A 2.2.1). */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_EFER, rdmsr(MSR_EFER) | BIT_ULL(63)), GP_VECTOR);
	GUEST_DONE();
}

KVM_VCPU_TEST(msr_read_write_and_gp, guest_msrs)
{
	uint64_t v;

	vcpu_run_expect_sync(vcpu, 1);
	for (unsigned int i = 0; i < ARRAY_SIZE(msrs); i++) {
		EXPECT_EQ(vcpu_get_msr(vcpu, msrs[i].index), msrs[i].value)
			TH_LOG("MSR %#x via KVM_GET_MSRS", msrs[i].index);
		vcpu_set_msr(vcpu, msrs[i].index, msrs[i].value ^ 0x5a0);
	}
	/* KVM_GET_MSRS stops at an MSR it does not know: 0 processed. */
	EXPECT_EQ(__vcpu_get_msr(vcpu, 0x2ff00000, &v), 0);
	vcpu_run_expect_done(vcpu);
}

/*
 * The base-address MSRs hold linear addresses: WRMSR of a non-canonical
 * value to FS.base, GS.base, KernelGSbase, LSTAR or CSTAR raises #GP(0)
 * (SDM vol. 2B WRMSR: "If the source register contains a non-canonical
 * address and ECX specifies one of the following MSRs: IA32_DS_AREA,
 * IA32_FS_BASE, IA32_GS_BASE, IA32_KERNEL_GS_BASE, IA32_LSTAR,
 * IA32_SYSENTER_EIP, IA32_SYSENTER_ESP"; APM vol. 2 4.5.3 likewise for
 * the 64-bit bases).  KVM must refuse such a value from the host too
 * (KVM_SET_MSRS processes 0 MSRs): the guest could not have written it,
 * and loading it into the hardware MSR faults in the host (CVE-2014-3610).
 * 0x8000000000000000 is non-canonical with 48- and 57-bit addresses.
 */
#define NONCANONICAL	0x8000000000000000ULL

static const uint32_t base_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_LSTAR, MSR_CSTAR,
};

static bool use_fep;

static uint8_t wrmsr_fep_safe(uint32_t msr, uint64_t value)
{
	asm volatile(ASM_SAFE(KVM_FEP "wrmsr")
		     :: "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)) : "memory");
	return guest_fault_vector();
}

/*
 * The guest's own WRMSR of these MSRs is not intercepted with SVM (the CPU
 * checks it, and TCG, the lane's CPU, does not), so the guest half goes
 * through KVM's emulator with the force-emulation prefix where it is on.
 */
static void guest_noncanonical(void)
{
	for (unsigned int i = 0; use_fep && i < ARRAY_SIZE(base_msrs); i++) {
		uint64_t before = rdmsr(base_msrs[i]);
		uint8_t vec = wrmsr_fep_safe(base_msrs[i], NONCANONICAL);

		if (vec != GP_VECTOR)
			GUEST_FAIL("emulated WRMSR %#x <- %#lx raised vector %u, not #GP; "
				   "MSR now %#lx", base_msrs[i], (uint64_t)NONCANONICAL, vec,
				   rdmsr(base_msrs[i]));
		GUEST_ASSERT_EQ(guest_fault_error_code(), 0);
		GUEST_ASSERT_EQ(rdmsr(base_msrs[i]), before);
	}
	GUEST_DONE();
}

KVM_VCPU_TEST(noncanonical_base_msrs_rejected, guest_noncanonical)
{
	use_fep = kvm_fep_enabled();
	if (!use_fep)
		TH_LOG("kvm.force_emulation_prefix is off: host half only");
	sync_global_to_guest(vm, use_fep);
	vcpu_run_expect_done(vcpu);
	for (unsigned int i = 0; i < ARRAY_SIZE(base_msrs); i++) {
		uint64_t before = vcpu_get_msr(vcpu, base_msrs[i]);

		EXPECT_EQ(__vcpu_set_msr(vcpu, base_msrs[i], NONCANONICAL), 0) {
			TH_LOG("KVM_SET_MSRS accepted %#llx for MSR %#x",
			       (unsigned long long)NONCANONICAL, base_msrs[i]);
		}
		EXPECT_EQ(vcpu_get_msr(vcpu, base_msrs[i]), before) {
			TH_LOG("MSR %#x changed by a refused write", base_msrs[i]);
		}
		/* A canonical value still goes through. */
		EXPECT_EQ(__vcpu_set_msr(vcpu, base_msrs[i], before), 1);
	}
}

/*
 * KVM_SET_CPUID2 after KVM_RUN (api.rst 4.20 caveat: changing the vCPU
 * model after running the guest is not supported).  KVM accepts only the
 * table already set, which VMMs that reuse a vCPU fd for CPU hotplug
 * resend, and refuses any other with EINVAL (cpuid.c kvm_set_cpuid());
 * after both calls the vCPU keeps running with the model it had, as
 * KVM_GET_CPUID2 and the guest's CPUID show.
 */
static void guest_cpuid_leaf(void)
{
	struct cpuid_regs r;

	for (;;) {
		cpuid_count(0x40000100, 0, &r);
		GUEST_SYNC(r.eax);
	}
}

KVM_VCPU_TEST(cpuid_change_after_run_refused, guest_cpuid_leaf)
{
	const struct kvm_cpuid2 *sup = kvm_get_supported_cpuid();
	struct kvm_cpuid2 *c = kvm_cpuid2_alloc(sup->nent + 1), *same, *got;
	struct kvm_cpuid_entry2 *e;
	int rc;

	memcpy(c->entries, sup->entries, sup->nent * sizeof(c->entries[0]));
	e = &c->entries[sup->nent];
	*e = (struct kvm_cpuid_entry2){ .function = 0x40000100, .eax = 0x1111 };
	vcpu_set_cpuid(vcpu, c);
	vcpu_run_expect_sync(vcpu, 0x1111);

	/* The table KVM holds, sent again: accepted. */
	same = vcpu_get_cpuid(vcpu);
	EXPECT_EQ(__vcpu_set_cpuid(vcpu, same), 0) TH_LOG("errno %d", errno);

	/* A changed leaf: refused, nothing changes. */
	e = cpuid_find_entry(same, 0x40000100, 0);
	ASSERT_NE(e, NULL);
	e->eax = 0x2222;
	rc = __vcpu_set_cpuid(vcpu, same);
	EXPECT_EQ(rc, -1) TH_LOG("KVM_SET_CPUID2 changed leaf 0x40000100 after KVM_RUN");
	if (rc == -1)
		EXPECT_EQ(errno, EINVAL);
	got = vcpu_get_cpuid(vcpu);
	e = cpuid_find_entry(got, 0x40000100, 0);
	ASSERT_NE(e, NULL);
	EXPECT_EQ(e->eax, 0x1111) TH_LOG("KVM_GET_CPUID2 after the refused call");
	/* And the vCPU runs on with its model (a bugged VM fails KVM_RUN with EIO). */
	vcpu_run_expect_sync(vcpu, 0x1111);
	free(c);
	free(same);
	free(got);
}

TEST_HARNESS_MAIN
