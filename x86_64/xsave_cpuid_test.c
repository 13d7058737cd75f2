// SPDX-License-Identifier: GPL-2.0-only
/*
 * XCR0, IA32_XSS and CR4.OSXSAVE against the guest's CPUID.
 *  - XSETBV (SDM vol. 2C XSETBV, vol. 1 13.3): #GP(0) for an XCR other than
 *    XCR0, for XCR0[0] (x87) clear, for AVX (bit 2) without SSE (bit 1), for
 *    AVX-512 (bits 7:5) not all set together or set without AVX, and for any
 *    bit not reported in CPUID.(EAX=0DH,ECX=0):EDX:EAX; what it accepts
 *    XGETBV(0) reads back.  With CR4.OSXSAVE=0, XSETBV and XGETBV are #UD.
 *    Each XSETBV is run natively and through KVM's emulator (KVM_FEP).
 *  - The bits reported are those of the CPUID the host set: a state
 *    component removed from leaf 0xD is refused by XSETBV, and by
 *    KVM_SET_XCRS (api.rst) with EINVAL.  (Under QEMU TCG the native XSETBV
 *    never reaches KVM, see choose_xsetbv_paths(); the emulated one does.)
 *  - XGETBV(1) (CPUID.(EAX=0DH,ECX=1):EAX[2]) returns XCR0 AND XINUSE, so
 *    no bit outside XCR0 (SDM vol. 1 13.6); without that feature it is #GP.
 *  - IA32_XSS (SDM vol. 4 table 2-2, vol. 1 13.3) exists when
 *    CPUID.(EAX=0DH,ECX=1):EAX[3] (XSAVES); a 1 in a bit not reported in
 *    CPUID.(EAX=0DH,ECX=1):EDX:ECX is #GP; without XSAVES the MSR is #GP.
 *  - CPUID.1:ECX.OSXSAVE[bit 27] reflects CR4.OSXSAVE (SDM vol. 2A CPUID),
 *    whether the guest writes CR4 or the host sets it with KVM_SET_SREGS.
 * Covers the ideas of upstream tools/testing/selftests/kvm/x86_64/
 * xcr0_cpuid_test.c, xss_msr_test.c and cr4_cpuid_sync_test.c.
 *
 * Caught bugs: bugs/msr-cpuid-osxsave-not-mirrored.patch,
 *              bugs/msr-cpuid-xsetbv-host-xcr0.patch
 */
#include "guest/guest.h"
#include "kvm_test_harness.h"

static inline uint8_t xsetbv_safe(uint32_t index, uint64_t value)
{
	asm volatile(ASM_SAFE("xsetbv")
		     :: "a"((uint32_t)value), "d"((uint32_t)(value >> 32)), "c"(index)
		     : "memory");
	return guest_fault_vector();
}

/* The same through KVM's emulator (force-emulation prefix). */
static inline uint8_t xsetbv_fep_safe(uint32_t index, uint64_t value)
{
	asm volatile(ASM_SAFE(KVM_FEP "xsetbv")
		     :: "a"((uint32_t)value), "d"((uint32_t)(value >> 32)), "c"(index)
		     : "memory");
	return guest_fault_vector();
}

/*
 * Which XSETBVs the guest checks: the native instruction, and the one
 * KVM's emulator runs.  Under QEMU TCG the native one is not KVM's: TCG's
 * SVM does not deliver the XSETBV intercept (target/i386/tcg
 * helper_xsetbv() checks none), so L1's KVM never sees it, and KVM loads
 * its own idea of XCR0 again at the next VM entry (in the lane, XGETBV
 * after a native XSETBV(3) read 1 in 3 of 30 runs).  There only the
 * emulated XSETBV is checked.
 */
static bool check_native = true, check_fep;

static uint8_t guest_xsetbv(bool fep, uint32_t index, uint64_t value)
{
	return fep ? xsetbv_fep_safe(index, value) : xsetbv_safe(index, value);
}

static void choose_xsetbv_paths(struct __test_metadata *_metadata, struct kvm_vm *vm)
{
	check_fep = kvm_fep_enabled();
	if (kvm_cpu_emulator_is("qemu-tcg")) {
		TH_LOG("native XSETBV not checked: QEMU TCG's SVM does not intercept it for KVM");
		check_native = false;
	}
	TEST_REQUIRE_MSG(check_native || check_fep, "native XSETBV does not reach KVM under "
			 "QEMU TCG and kvm.force_emulation_prefix is off");
	sync_global_to_guest(vm, check_native);
	sync_global_to_guest(vm, check_fep);
}

static inline uint8_t xgetbv_safe(uint32_t index, uint64_t *value)
{
	uint32_t lo = 0, hi = 0;

	asm volatile(ASM_SAFE("xgetbv") : "=a"(lo), "=d"(hi) : "c"(index) : "memory");
	*value = lo | ((uint64_t)hi << 32);
	return guest_fault_vector();
}

static uint64_t guest_supported_xcr0(void)
{
	struct cpuid_regs r;

	cpuid_count(0xd, 0, &r);
	return r.eax | ((uint64_t)r.edx << 32);
}

static void require_xsave(void)
{
	TEST_REQUIRE_MSG(kvm_cpu_has(X86_FEATURE_XSAVE),
			 "KVM_GET_SUPPORTED_CPUID has no XSAVE (CPUID.1:ECX[26]): the host "
			 "kernel runs without XSAVE");
}

#define GUEST_ASSERT_VECTOR(got, want, what, val)					\
	__GUEST_ASSERT((got) == (want), "%s %#lx: vector %u, expected %u", what,	\
		       (unsigned long)(val), got, want)

/* ---- CR4.OSXSAVE is what CPUID.1:ECX.OSXSAVE reads ---- */
static bool guest_osxsave_bit(void)
{
	return this_cpu_has(X86_FEATURE_OSXSAVE);
}

static void guest_osxsave(void)
{
	uint64_t v;

	GUEST_ASSERT(this_cpu_has(X86_FEATURE_XSAVE));
	GUEST_ASSERT_EQ(get_cr4() & X86_CR4_OSXSAVE, 0);
	GUEST_ASSERT_EQ(guest_osxsave_bit(), false);
	/* XSETBV/XGETBV are #UD while CR4.OSXSAVE = 0. */
	GUEST_ASSERT_VECTOR(xgetbv_safe(0, &v), UD_VECTOR, "XGETBV, CR4.OSXSAVE=0, ECX", 0);
	GUEST_ASSERT_VECTOR(xsetbv_safe(0, XFEATURE_MASK_X87), UD_VECTOR,
			    "XSETBV, CR4.OSXSAVE=0, XCR0", XFEATURE_MASK_X87);

	set_cr4(get_cr4() | X86_CR4_OSXSAVE);
	GUEST_ASSERT_EQ(guest_osxsave_bit(), true);
	GUEST_ASSERT_VECTOR(xgetbv_safe(0, &v), NO_VECTOR, "XGETBV ECX", 0);
	GUEST_ASSERT(v & XFEATURE_MASK_X87);

	set_cr4(get_cr4() & ~X86_CR4_OSXSAVE);
	GUEST_ASSERT_EQ(guest_osxsave_bit(), false);
	/* The host sets CR4.OSXSAVE with KVM_SET_SREGS here... */
	GUEST_SYNC(0);
	GUEST_ASSERT_NE(get_cr4() & X86_CR4_OSXSAVE, 0);
	GUEST_ASSERT_EQ(guest_osxsave_bit(), true);
	/* ...and clears it here. */
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(guest_osxsave_bit(), false);
	GUEST_DONE();
}

KVM_VCPU_TEST(osxsave_is_mirrored_in_cpuid, guest_osxsave)
{
	struct kvm_sregs sregs;

	require_xsave();
	vcpu_run_expect_sync(vcpu, 0);
	vcpu_sregs_get(vcpu, &sregs);
	sregs.cr4 |= X86_CR4_OSXSAVE;
	vcpu_sregs_set(vcpu, &sregs);
	vcpu_run_expect_sync(vcpu, 1);
	vcpu_sregs_get(vcpu, &sregs);
	sregs.cr4 &= ~X86_CR4_OSXSAVE;
	vcpu_sregs_set(vcpu, &sregs);
	vcpu_run_expect_done(vcpu);
}

/* ---- XSETBV's rules, over the XCR0 bits the guest's CPUID reports ---- */
struct xcr0_case {
	const char *what;
	uint32_t index;
	uint64_t value;
	uint64_t needs;		/* run only when CPUID reports these bits */
	bool ok;
};

static const struct xcr0_case xcr0_cases[] = {
	{ "x87|SSE", 0, XFEATURE_MASK_X87 | XFEATURE_MASK_SSE, 0, true },
	{ "x87 only", 0, XFEATURE_MASK_X87, 0, true },
	{ "x87|SSE|AVX", 0, XFEATURE_MASK_X87 | XFEATURE_MASK_SSE | XFEATURE_MASK_AVX,
	  XFEATURE_MASK_AVX, true },
	{ "XCR0 = 0", 0, 0, 0, false },
	{ "SSE without x87", 0, XFEATURE_MASK_SSE, 0, false },
	{ "x87|AVX without SSE", 0, XFEATURE_MASK_X87 | XFEATURE_MASK_AVX, XFEATURE_MASK_AVX,
	  false },
	{ "AVX-512 without AVX", 0, XFEATURE_MASK_X87 | XFEATURE_MASK_SSE | XFEATURE_MASK_AVX512,
	  XFEATURE_MASK_AVX | XFEATURE_MASK_AVX512, false },
	{ "AVX-512 opmask only", 0,
	  XFEATURE_MASK_X87 | XFEATURE_MASK_SSE | XFEATURE_MASK_AVX | BIT_ULL(5),
	  XFEATURE_MASK_AVX | XFEATURE_MASK_AVX512, false },
	{ "XSETBV of XCR1", 1, XFEATURE_MASK_X87, 0, false },
};

static void guest_xsetbv_rules_once(uint64_t supported, bool fep)
{
	const char *how = fep ? "emulated XSETBV" : "XSETBV";
	uint64_t v;

	for (unsigned int i = 0; i < ARRAY_SIZE(xcr0_cases); i++) {
		const struct xcr0_case *c = &xcr0_cases[i];
		uint8_t vec;

		if ((supported & c->needs) != c->needs)
			continue;
		vec = guest_xsetbv(fep, c->index, c->value);
		if (!c->ok) {
			__GUEST_ASSERT(vec == GP_VECTOR, "%s %s (ECX %u, %#lx): vector %u, "
				       "expected #GP", how, c->what, c->index,
				       (unsigned long)c->value, vec);
			continue;
		}
		__GUEST_ASSERT(vec == NO_VECTOR, "%s %s (%#lx): vector %u", how, c->what,
			       (unsigned long)c->value, vec);
		GUEST_ASSERT_VECTOR(xgetbv_safe(0, &v), NO_VECTOR, "XGETBV ECX", 0);
		GUEST_ASSERT_EQ(v, c->value);
	}

	/* Every bit CPUID does not report is reserved: #GP, XCR0 unchanged. */
	GUEST_ASSERT_VECTOR(guest_xsetbv(fep, 0, XFEATURE_MASK_X87 | XFEATURE_MASK_SSE),
			    NO_VECTOR, how, XFEATURE_MASK_X87 | XFEATURE_MASK_SSE);
	for (unsigned int bit = 2; bit < 64; bit++) {
		uint64_t val = XFEATURE_MASK_X87 | XFEATURE_MASK_SSE | BIT_ULL(bit);

		if (supported & BIT_ULL(bit))
			continue;
		__GUEST_ASSERT(guest_xsetbv(fep, 0, val) == GP_VECTOR,
			       "%s of unreported bit %u, XCR0 %#lx: no #GP", how, bit,
			       (unsigned long)val);
	}
	GUEST_ASSERT_VECTOR(xgetbv_safe(0, &v), NO_VECTOR, "XGETBV ECX", 0);
	GUEST_ASSERT_EQ(v, XFEATURE_MASK_X87 | XFEATURE_MASK_SSE);
}

static void guest_xsetbv_rules(void)
{
	uint64_t supported = guest_supported_xcr0(), v;

	set_cr4(get_cr4() | X86_CR4_OSXSAVE);
	GUEST_ASSERT(supported & XFEATURE_MASK_X87);
	if (check_native)
		guest_xsetbv_rules_once(supported, false);
	if (check_fep)
		guest_xsetbv_rules_once(supported, true);

	/* XGETBV(1): XCR0 AND XINUSE, or #GP where the CPU lacks it. */
	if (this_cpu_has(X86_FEATURE_XGETBV1)) {
		GUEST_ASSERT_VECTOR(xgetbv_safe(1, &v), NO_VECTOR, "XGETBV ECX", 1);
		__GUEST_ASSERT(!(v & ~(XFEATURE_MASK_X87 | XFEATURE_MASK_SSE)),
			       "XGETBV(1) %#lx has bits outside XCR0 0x3", (unsigned long)v);
	} else {
		GUEST_ASSERT_VECTOR(xgetbv_safe(1, &v), GP_VECTOR, "XGETBV ECX", 1);
	}
	GUEST_SYNC(supported);
}

KVM_VCPU_TEST(xsetbv_follows_the_architecture_and_cpuid, guest_xsetbv_rules)
{
	struct ucall uc;

	require_xsave();
	choose_xsetbv_paths(_metadata, vm);
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TH_LOG("guest CPUID.0xD.0 reports XCR0 bits %#llx", (unsigned long long)uc.args[0]);
}

/*
 * ---- a state component the host takes out of CPUID.0xD is refused ----
 * AVX (XCR0 bit 2) removed from leaf 0xD.0 EAX before the first KVM_RUN:
 * XSETBV(x87|SSE|AVX) is now a reserved-bit #GP, while x87|SSE still
 * loads; KVM_SET_XCRS of the same value fails with EINVAL.
 */
static void guest_xcr0_without_avx(void)
{
	uint64_t v, xcr0 = XFEATURE_MASK_X87 | XFEATURE_MASK_SSE | XFEATURE_MASK_AVX;

	set_cr4(get_cr4() | X86_CR4_OSXSAVE);
	GUEST_ASSERT_EQ(guest_supported_xcr0() & XFEATURE_MASK_AVX, 0);
	for (unsigned int fep = 0; fep < 2; fep++) {
		if (!(fep ? check_fep : check_native))
			continue;
		__GUEST_ASSERT(guest_xsetbv(fep, 0, xcr0) == GP_VECTOR,
			       "%s of XCR0 %#lx with AVX out of CPUID: no #GP",
			       fep ? "emulated XSETBV" : "XSETBV", (unsigned long)xcr0);
		GUEST_ASSERT_VECTOR(xgetbv_safe(0, &v), NO_VECTOR, "XGETBV ECX", 0);
		GUEST_ASSERT_EQ(v & XFEATURE_MASK_AVX, 0);
		GUEST_ASSERT_VECTOR(guest_xsetbv(fep, 0, xcr0 & ~XFEATURE_MASK_AVX), NO_VECTOR,
				    "XSETBV", xcr0 & ~XFEATURE_MASK_AVX);
	}
	GUEST_SYNC(0);
	GUEST_DONE();
}

KVM_VCPU_TEST(xcr0_bit_removed_from_cpuid_is_refused, guest_xcr0_without_avx)
{
	struct kvm_cpuid2 *cpuid = vcpu_get_cpuid(vcpu);
	struct kvm_cpuid_entry2 *e;
	struct kvm_xcrs xcrs;
	int r;

	require_xsave();
	e = cpuid_find_entry(cpuid, 0xd, 0);
	TEST_REQUIRE_MSG(e && (e->eax & XFEATURE_MASK_AVX),
			 "KVM offers no AVX state (XCR0 bit 2 in CPUID.0xD.0) to take away");
	TEST_REQUIRE_CAP(KVM_CAP_XCRS);
	choose_xsetbv_paths(_metadata, vm);
	/* AVX-512 needs AVX: take it too, so the table stays one a CPU could have. */
	e->eax &= ~(uint32_t)(XFEATURE_MASK_AVX | XFEATURE_MASK_AVX512);
	vcpu_set_cpuid(vcpu, cpuid);

	memset(&xcrs, 0, sizeof(xcrs));
	xcrs.nr_xcrs = 1;
	xcrs.xcrs[0].xcr = 0;
	xcrs.xcrs[0].value = XFEATURE_MASK_X87 | XFEATURE_MASK_SSE | XFEATURE_MASK_AVX;
	r = __vcpu_ioctl(vcpu, KVM_SET_XCRS, &xcrs);
	EXPECT_EQ(r, -1) TH_LOG("KVM_SET_XCRS of XCR0 0x7 with AVX out of CPUID accepted");
	EXPECT_EQ(errno, EINVAL);
	xcrs.xcrs[0].value = XFEATURE_MASK_X87 | XFEATURE_MASK_SSE;
	vcpu_ioctl(vcpu, KVM_SET_XCRS, &xcrs);
	memset(&xcrs, 0, sizeof(xcrs));
	vcpu_ioctl(vcpu, KVM_GET_XCRS, &xcrs);
	ASSERT_EQ(xcrs.nr_xcrs, 1);
	EXPECT_EQ(xcrs.xcrs[0].value, XFEATURE_MASK_X87 | XFEATURE_MASK_SSE);

	vcpu_run_expect_sync(vcpu, 0);
	vcpu_run_expect_done(vcpu);
	free(cpuid);
}

/* ---- IA32_XSS: only the bits CPUID.(0DH,1):EDX:ECX reports ---- */
static void guest_xss(void)
{
	struct cpuid_regs r;
	uint64_t supported, v;

	if (!this_cpu_has(X86_FEATURE_XSAVES)) {
		/* The MSR does not exist. */
		GUEST_ASSERT_VECTOR(rdmsr_safe(MSR_IA32_XSS, &v), GP_VECTOR, "RDMSR", MSR_IA32_XSS);
		GUEST_ASSERT_VECTOR(wrmsr_safe(MSR_IA32_XSS, 0), GP_VECTOR, "WRMSR 0 to",
				    MSR_IA32_XSS);
		GUEST_SYNC(0);
		return;
	}
	cpuid_count(0xd, 1, &r);
	supported = r.ecx | ((uint64_t)r.edx << 32);
	GUEST_ASSERT_VECTOR(wrmsr_safe(MSR_IA32_XSS, 0), NO_VECTOR, "WRMSR 0 to", MSR_IA32_XSS);
	for (unsigned int bit = 0; bit < 64; bit++) {
		if (supported & BIT_ULL(bit))
			continue;
		GUEST_ASSERT_VECTOR(wrmsr_safe(MSR_IA32_XSS, BIT_ULL(bit)), GP_VECTOR,
				    "WRMSR IA32_XSS", BIT_ULL(bit));
	}
	GUEST_ASSERT_VECTOR(rdmsr_safe(MSR_IA32_XSS, &v), NO_VECTOR, "RDMSR", MSR_IA32_XSS);
	GUEST_ASSERT_EQ(v, 0);
	GUEST_SYNC(1);
}

KVM_VCPU_TEST(ia32_xss_follows_cpuid, guest_xss)
{
	struct ucall uc;

	require_xsave();
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TH_LOG("the guest %s XSAVES", uc.args[0] ? "has" : "does not have (IA32_XSS #GP checked)");
}

TEST_HARNESS_MAIN
