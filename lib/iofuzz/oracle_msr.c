// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: the read oracle's model of the MSRs KVM emulates itself (devices
 * msr_arch, msr_amd64, msr_kvm and the denser msr_mtrr, msr_mce), from the
 * SDM vol. 4 chapter 2 (table 2-2, architectural MSRs) and vol. 3A/3B as
 * KVM implements them (arch/x86/kvm/x86.c kvm_set_msr_common() /
 * kvm_get_msr_common(), set_msr_mce() / get_msr_mce(), mtrr.c).  Each
 * guest RDMSR and WRMSR of a modelled MSR must fault (#GP) exactly when the
 * model says, and a RDMSR that does not fault must return the model's
 * value; KVM_GET_MSRS of every modelled MSR is compared after every chunk:
 *
 *  - IA32_TSC_ADJUST (3BH, vol. 3B 18.17.3): as written; a WRMSR to
 *    IA32_TSC (10H) changes it by an amount that depends on time, so it is
 *    unchecked from that write until the next KVM_GET_MSRS takes KVM's
 *    value over (it starts so, too);
 *  - IA32_MTRRCAP (FEH, vol. 3A 12.11.2.1): read-only, WRMSR #GP; KVM
 *    offers WC and fixed ranges, no SMRR, 8 variable ranges: 0x508;
 *  - IA32_MCG_CAP (179H, vol. 3B 16.3.1.1): read-only; without
 *    KVM_X86_SETUP_MCE a vCPU has KVM_MAX_MCE_BANKS (32) banks, no
 *    MCG_CTL_P, no MCG_CMCI_P: 0x20;
 *  - IA32_MCG_STATUS (17AH, 16.3.1.2): any value is kept (KVM checks no
 *    reserved bit);
 *  - IA32_MCG_CTL (17BH, 16.3.1.3): present only with MCG_CTL_P: RDMSR
 *    and WRMSR #GP;
 *  - IA32_MISC_ENABLE (1A0H, vol. 4 table 2-2): RESET 0x1800 (BTS and PEBS
 *    unavailable, bits 11 and 12, read-only: a write that changes them
 *    #GPs); bit 7 (performance monitoring available) is read-only and a
 *    write of it is ignored; every other bit is kept as written;
 *  - the MTRRs (vol. 3A 12.11.2): IA32_MTRR_DEF_TYPE (2FFH) keeps type
 *    7:0, FE bit 10, E bit 11, bits 9:8 and 63:12 reserved; the fixed
 *    ranges (250H, 258H-259H, 268H-26FH) one type per byte; variable
 *    range i (200H + 2i, 201H + 2i, i < 8): PHYSBASE type 7:0, bits 11:8
 *    and MAXPHYADDR-63 reserved; PHYSMASK valid bit 11, bits 10:0 and
 *    MAXPHYADDR-63 reserved.  A type other than UC (0), WC (1), WT (4),
 *    WP (5) and WB (6) (12.11.1 table 12-8), or a reserved bit set, is
 *    #GP.  Every other MSR of 200H-26FH is none: #GP;
 *  - IA32_PAT (277H, vol. 3A 12.12.2): RESET 0x0007040600070406; each
 *    byte one of 0, 1, 4, 5, 6, 7 (12.12.2 table 12-10), else #GP;
 *  - IA32_MCi_CTL2 (280H-29FH, 16.3.2.5): without MCG_CMCI_P RDMSR and
 *    WRMSR #GP;
 *  - the banks IA32_MCi_CTL/STATUS/ADDR/MISC (400H-47FH, 16.3.2): 0
 *    after creation (KVM_X86_SETUP_MCE sets MCi_CTL to all ones);
 *    MCi_ADDR and MCi_MISC keep any value; MCi_STATUS takes only 0 from
 *    the guest (16.3.2.2: software writes 0 to clear it; KVM's AMD rule,
 *    a nonzero value when HWCR[McStatusWrEn], never applies here: HWCR is
 *    not fuzzed and starts 0);
 *  - IA32_TSC_AUX (C0000103H, vol. 4 table 2-2): #GP unless the guest's
 *    CPUID has RDTSCP or RDPID; bits 63:32 are reserved;
 *  - MSR_KVM_POLL_CONTROL (4B564D05H, KVM's msr.rst): RESET 1, bit 0 the
 *    only bit, others #GP; MSR_KVM_ASYNC_PF_INT (4B564D06H): bits 7:0 the
 *    vector, others #GP; MSR_KVM_ASYNC_PF_ACK (4B564D07H) reads 0 and
 *    takes any write.
 *
 * Where KVM deliberately differs from the SDM the model follows KVM:
 *  - IA32_TSC_AUX bits 63:32: #GP only when the guest's CPUID vendor is
 *    Intel-compatible; otherwise (AMD) they are dropped and read 0
 *    (__kvm_set_msr(): "current AMD CPUs completely ignore bits 63:32");
 *  - IA32_MCi_CTL takes only 0 or all ones, with bits 10 and 0 free
 *    (set_msr_mce(): the SDM leaves other values undefined; Linux on K8
 *    clears bit 10 of bank 4, UnixWare bit 0 of bank 1);
 *  - IA32_MCG_STATUS keeps its reserved bits;
 *  - IA32_MISC_ENABLE keeps every bit but 7, 11 and 12 (the SDM's
 *    reserved bits included; KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT, on by
 *    default, makes bit 18 plain storage too);
 *  - IA32_TSC_ADJUST's WRMSR succeeds and is dropped when the guest's
 *    CPUID has no TSC_ADJUST (not read as #GP).
 *
 * Not modelled (unchecked): MSRs that KVM passes through to the CPU on
 * one vendor or another (SYSENTER_CS/ESP/EIP, KERNEL_GS_BASE, STAR, LSTAR,
 * CSTAR, SFMASK: VMX or SVM lets the guest's WRMSR reach the CPU, here an
 * emulator, whose checks are not KVM's), MSRs whose outcome depends on
 * guest memory or the host (the other KVM PV MSRs, which take a GPA; the
 * PMU; IA32_APIC_BASE and the x2APIC range, the LAPIC model's), and MSRs
 * that follow time (IA32_TSC, TSC_DEADLINE).
 */
#include "internal.h"
#include "vcpu_state.h"

#define MTRRCAP_KVM		0x508ULL	/* WC, FIX, VCNT 8 */
#define MCG_CAP_KVM		32ULL		/* KVM_MAX_MCE_BANKS banks, no MCG_CTL_P/CMCI_P */
#define MSR_MTRRCAP		0x0fe
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_MTRR_PHYS_BASE0	0x200
#define MSR_MTRR_FIX64K		0x250
#define MSR_MTRR_FIX16K		0x258
#define MSR_MTRR_FIX4K		0x268
#define MSR_MTRR_LAST		0x26f
#define MTRR_NR_VAR		8
#define PAT_RESET		0x0007040600070406ULL
#define MISC_ENABLE_EMON	BIT_ULL(7)
#define MISC_ENABLE_RO		(BIT_ULL(11) | BIT_ULL(12))	/* BTS, PEBS unavailable */
#define MC_BANKS		32

/* The model's slots: one per MSR with state. */
enum {
	S_TSC_ADJUST, S_MCG_STATUS, S_MISC_ENABLE, S_PAT, S_MTRR_DEF,
	S_MTRR_VAR, S_MTRR_FIX = S_MTRR_VAR + 2 * MTRR_NR_VAR, S_MC = S_MTRR_FIX + 11,
	S_TSC_AUX = S_MC + 4 * MC_BANKS, S_POLL, S_APF_INT, NR_SLOTS
};
_Static_assert(NR_SLOTS <= IOFUZZ_MSR_SLOTS, "IOFUZZ_MSR_SLOTS");

/* The fixed-range MTRRs, in slot order. */
static int mtrr_fix_slot(uint32_t msr)
{
	if (msr == MSR_MTRR_FIX64K)
		return 0;
	if (msr >= MSR_MTRR_FIX16K && msr <= MSR_MTRR_FIX16K + 1)
		return 1 + msr - MSR_MTRR_FIX16K;
	if (msr >= MSR_MTRR_FIX4K && msr <= MSR_MTRR_LAST)
		return 3 + msr - MSR_MTRR_FIX4K;
	return -1;
}

/* The slot of an MSR with state, or -1. */
static int slot_of(uint32_t msr)
{
	int f = mtrr_fix_slot(msr);

	if (f >= 0)
		return S_MTRR_FIX + f;
	if (msr >= MSR_MTRR_PHYS_BASE0 && msr < MSR_MTRR_PHYS_BASE0 + 2 * MTRR_NR_VAR)
		return S_MTRR_VAR + msr - MSR_MTRR_PHYS_BASE0;
	if (msr >= MSR_IA32_MC0_CTL && msr < MSR_IA32_MCx_CTL(MC_BANKS))
		return S_MC + msr - MSR_IA32_MC0_CTL;
	switch (msr) {
	case MSR_IA32_TSC_ADJUST:
		return S_TSC_ADJUST;
	case MSR_IA32_MCG_STATUS:
		return S_MCG_STATUS;
	case MSR_IA32_MISC_ENABLE:
		return S_MISC_ENABLE;
	case MSR_IA32_CR_PAT:
		return S_PAT;
	case MSR_MTRR_DEF_TYPE:
		return S_MTRR_DEF;
	case MSR_TSC_AUX:
		return S_TSC_AUX;
	case MSR_KVM_POLL_CONTROL:
		return S_POLL;
	case MSR_KVM_ASYNC_PF_INT:
		return S_APF_INT;
	}
	return -1;
}

/* The MSR of a slot (the inverse of slot_of()). */
static uint32_t slot_msr(int s)
{
	static const uint32_t single[] = {
		[S_TSC_ADJUST] = MSR_IA32_TSC_ADJUST, [S_MCG_STATUS] = MSR_IA32_MCG_STATUS,
		[S_MISC_ENABLE] = MSR_IA32_MISC_ENABLE, [S_PAT] = MSR_IA32_CR_PAT,
		[S_MTRR_DEF] = MSR_MTRR_DEF_TYPE,
	};

	if (s < S_MTRR_VAR)
		return single[s];
	if (s < S_MTRR_FIX)
		return MSR_MTRR_PHYS_BASE0 + s - S_MTRR_VAR;
	if (s < S_MC) {
		s -= S_MTRR_FIX;
		return !s ? MSR_MTRR_FIX64K : s < 3 ? MSR_MTRR_FIX16K + s - 1 :
		       MSR_MTRR_FIX4K + s - 3;
	}
	if (s < S_TSC_AUX)
		return MSR_IA32_MC0_CTL + s - S_MC;
	return s == S_TSC_AUX ? MSR_TSC_AUX : s == S_POLL ? MSR_KVM_POLL_CONTROL :
	       MSR_KVM_ASYNC_PF_INT;
}

/* MSRs without state whose outcome is fixed: a constant read, #GP for writes (or both). */
static bool fixed_msr(const struct iofuzz_msrs *m, uint32_t msr, bool write, uint64_t *v,
		      bool *gp)
{
	*v = 0;
	*gp = true;
	switch (msr) {
	case MSR_MTRRCAP:
		*v = MTRRCAP_KVM;
		*gp = write;
		return true;
	case MSR_IA32_MCG_CAP:
		*v = MCG_CAP_KVM;
		*gp = write;
		return true;
	case MSR_IA32_MCG_CTL:
		return true;
	case MSR_KVM_ASYNC_PF_ACK:
		*gp = false;
		return true;
	case MSR_TSC_AUX:
		if (!m->tsc_aux_ok)
			return true;
		break;
	}
	if (msr >= MSR_IA32_MC0_CTL2 && msr < MSR_IA32_MCx_CTL2(MC_BANKS))
		return true;	/* no MCG_CMCI_P */
	/* No MTRR of KVM's in 200H-26FH: find_mtrr() returns NULL. */
	return msr >= MSR_MTRR_PHYS_BASE0 && msr <= MSR_MTRR_LAST && slot_of(msr) < 0;
}

bool iofuzz_msr_models(uint32_t msr)
{
	uint64_t v;
	bool gp;

	/* Without tsc_aux_ok TSC_AUX is fixed too; either way it is modelled. */
	static const struct iofuzz_msrs any = { .tsc_aux_ok = true };

	return slot_of(msr) >= 0 || fixed_msr(&any, msr, false, &v, &gp);
}

void iofuzz_msr_name(uint32_t msr, char *buf, size_t len)
{
	static const struct { uint32_t msr; const char *name; } names[] = {
		{ MSR_IA32_TSC_ADJUST, "IA32_TSC_ADJUST" }, { MSR_MTRRCAP, "IA32_MTRRCAP" },
		{ MSR_IA32_MCG_CAP, "IA32_MCG_CAP" }, { MSR_IA32_MCG_STATUS, "IA32_MCG_STATUS" },
		{ MSR_IA32_MCG_CTL, "IA32_MCG_CTL" }, { MSR_IA32_MISC_ENABLE, "IA32_MISC_ENABLE" },
		{ MSR_IA32_CR_PAT, "IA32_PAT" }, { MSR_MTRR_DEF_TYPE, "IA32_MTRR_DEF_TYPE" },
		{ MSR_TSC_AUX, "IA32_TSC_AUX" }, { MSR_KVM_POLL_CONTROL, "MSR_KVM_POLL_CONTROL" },
		{ MSR_KVM_ASYNC_PF_INT, "MSR_KVM_ASYNC_PF_INT" },
		{ MSR_KVM_ASYNC_PF_ACK, "MSR_KVM_ASYNC_PF_ACK" },
	};
	static const char *const mc[4] = { "CTL", "STATUS", "ADDR", "MISC" };

	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].msr == msr) {
			snprintf(buf, len, "%s (%#x)", names[i].name, msr);
			return;
		}
	if (msr >= MSR_IA32_MC0_CTL && msr < MSR_IA32_MCx_CTL(MC_BANKS))
		snprintf(buf, len, "IA32_MC%u_%s (%#x)", (msr - MSR_IA32_MC0_CTL) / 4,
			 mc[msr & 3], msr);
	else if (msr >= MSR_IA32_MC0_CTL2 && msr < MSR_IA32_MCx_CTL2(MC_BANKS))
		snprintf(buf, len, "IA32_MC%u_CTL2 (%#x)", msr - MSR_IA32_MC0_CTL2, msr);
	else if (msr >= MSR_MTRR_PHYS_BASE0 && msr < MSR_MTRR_PHYS_BASE0 + 2 * MTRR_NR_VAR)
		snprintf(buf, len, "IA32_MTRR_PHYS%s%u (%#x)", msr & 1 ? "MASK" : "BASE",
			 (msr - MSR_MTRR_PHYS_BASE0) / 2, msr);
	else if (mtrr_fix_slot(msr) >= 0)
		snprintf(buf, len, "IA32_MTRR_FIX (%#x)", msr);
	else
		snprintf(buf, len, "MSR %#x", msr);
}

/* UC, WC, WT, WP, WB (SDM vol. 3A table 12-8); the PAT adds UC- (7). */
static bool mtrr_type_ok(uint64_t t)
{
	return t < 8 && ((1u << t) & 0x73);
}

static bool pat_ok(uint64_t v)
{
	for (int b = 0; b < 64; b += 8)
		if (!mtrr_type_ok((v >> b) & 0xff) && ((v >> b) & 0xff) != 7)
			return false;
	return true;
}

/* Is a WRMSR of v to MTRR slot s valid (SDM vol. 3A 12.11.2.2, 12.11.2.3)? */
static bool mtrr_ok(const struct iofuzz_msrs *m, int s, uint64_t v)
{
	uint64_t rsvd = m->maxphyaddr < 64 ? ~0ULL << m->maxphyaddr : 0;

	if (s == S_MTRR_DEF)
		return !(v & ~0xcffULL) && mtrr_type_ok(v & 0xff);
	if (s >= S_MTRR_FIX) {
		for (int b = 0; b < 64; b += 8)
			if (!mtrr_type_ok((v >> b) & 0xff))
				return false;
		return true;
	}
	if ((s - S_MTRR_VAR) & 1)
		return !(v & (rsvd | 0x7ff));
	return mtrr_type_ok(v & 0xff) && !(v & (rsvd | 0xf00));
}

/* A WRMSR of v to slot s: false when it must #GP; else *v what KVM keeps. */
static bool slot_write(struct iofuzz_msrs *m, int s, uint64_t *v)
{
	uint64_t old = m->val[s];

	if (s >= S_MTRR_DEF && s < S_MC)
		return mtrr_ok(m, s, *v);
	if (s >= S_MC && s < S_TSC_AUX) {
		unsigned int reg = (s - S_MC) & 3;

		if (reg == 0)
			return !*v || (*v | BIT_ULL(10) | 1) == ~0ULL;
		return reg != 1 || !*v;
	}
	switch (s) {
	case S_TSC_ADJUST:
		if (!m->has_tsc_adjust)
			*v = old;
		return true;
	case S_MISC_ENABLE:
		if ((old ^ *v) & MISC_ENABLE_RO)
			return false;
		*v = (*v & ~MISC_ENABLE_EMON) | (old & MISC_ENABLE_EMON);
		return true;
	case S_PAT:
		return pat_ok(*v);
	case S_TSC_AUX:
		if (m->intel && *v >> 32)
			return false;
		*v = (uint32_t)*v;
		return true;
	case S_POLL:
		return !(*v & ~1ULL);
	case S_APF_INT:
		return !(*v >> 8);
	}
	return true;	/* MCG_STATUS */
}

int iofuzz_msr_write(struct iofuzz_msrs *m, uint32_t msr, uint64_t v)
{
	int s = slot_of(msr);
	uint64_t c;
	bool gp;

	if (msr == MSR_IA32_TSC)
		m->known[S_TSC_ADJUST] = false;
	if (fixed_msr(m, msr, true, &c, &gp))
		return gp ? IOFUZZ_MSR_GP : IOFUZZ_MSR_OK;
	if (s < 0)
		return IOFUZZ_MSR_UNMODELLED;
	if (!slot_write(m, s, &v))
		return IOFUZZ_MSR_GP;
	m->val[s] = v;
	return IOFUZZ_MSR_OK;
}

int iofuzz_msr_read(const struct iofuzz_msrs *m, uint32_t msr, uint64_t *v, bool *known)
{
	int s = slot_of(msr);
	bool gp;

	*known = true;
	if (fixed_msr(m, msr, false, v, &gp))
		return gp ? IOFUZZ_MSR_GP : IOFUZZ_MSR_OK;
	if (s < 0)
		return IOFUZZ_MSR_UNMODELLED;
	*v = m->val[s];
	*known = m->known[s];
	return IOFUZZ_MSR_OK;
}

/* The guest's CPUID as KVM holds it: vendor, MAXPHYADDR, RDTSCP/RDPID, TSC_ADJUST. */
static void msr_cpuid(struct iofuzz_msrs *m, struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid2 *c = vcpu_get_cpuid(vcpu);
	struct kvm_cpuid_entry2 *e0 = cpuid_find_entry(c, 0, 0);
	struct kvm_cpuid_entry2 *e7 = cpuid_find_entry(c, 7, 0);
	struct kvm_cpuid_entry2 *x0 = cpuid_find_entry(c, 0x80000000, 0);
	struct kvm_cpuid_entry2 *x1 = cpuid_find_entry(c, 0x80000001, 0);
	struct kvm_cpuid_entry2 *x8 = cpuid_find_entry(c, 0x80000008, 0);

	/* guest_cpuid_is_intel_compatible(): GenuineIntel, CentaurHauls, "  Shanghai  " */
	m->intel = e0 && (e0->ebx == 0x756e6547 || e0->ebx == 0x746e6543 ||
			  e0->ebx == 0x68532020);
	/* cpuid_query_maxphyaddr(): 36 without leaf 0x80000008 */
	m->maxphyaddr = x0 && x0->eax >= 0x80000008 && x8 ? (x8->eax & 0xff) : 36;
	m->tsc_aux_ok = (x1 && (x1->edx & BIT(27))) || (e7 && (e7->ecx & BIT(22)));
	m->has_tsc_adjust = e7 && (e7->ebx & BIT(1));
	free(c);
}

void iofuzz_msr_reset(struct iofuzz_msrs *m, struct kvm_vcpu *vcpu)
{
	uint64_t v;

	memset(m, 0, sizeof(*m));
	msr_cpuid(m, vcpu);
	for (int s = 0; s < NR_SLOTS; s++)
		m->known[s] = true;
	m->known[S_TSC_ADJUST] = false;	/* taken from KVM at the first round trip */
	m->val[S_PAT] = PAT_RESET;
	m->val[S_MISC_ENABLE] = MISC_ENABLE_RO;
	m->val[S_POLL] = 1;
	/* KVM_GET_MSRS stops at the first MSR it refuses: TSC_AUX needs host support. */
	m->host_tsc_aux = __vcpu_get_msr(vcpu, MSR_TSC_AUX, &v) == 1;
}

bool iofuzz_msr_matches(struct iofuzz_msrs *m, struct kvm_vcpu *vcpu, uint32_t *bad,
			char *why, size_t len)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[NR_SLOTS + 2];
	} b = { 0 };
	unsigned int n = 0;
	char name[64];

	for (int s = 0; s < NR_SLOTS; s++)
		if (s != S_TSC_AUX || m->host_tsc_aux)
			b.e[n++].index = slot_msr(s);
	b.e[n++].index = MSR_MTRRCAP;
	b.e[n++].index = MSR_IA32_MCG_CAP;
	b.h.nmsrs = n;
	vcpu_msrs_ioctl_at(vcpu, KVM_GET_MSRS, "KVM_GET_MSRS", &b.h, __FILE__, __LINE__);
	for (unsigned int i = 0; i < n; i++) {
		uint32_t msr = b.e[i].index;
		uint64_t want;
		bool known;

		iofuzz_msr_read(m, msr, &want, &known);
		if (msr == MSR_TSC_AUX && !m->tsc_aux_ok)
			want = m->val[S_TSC_AUX];	/* the host reads it anyway */
		if (!known) {
			m->val[slot_of(msr)] = b.e[i].data;
			m->known[slot_of(msr)] = true;
			continue;
		}
		if (want == b.e[i].data)
			continue;
		iofuzz_msr_name(msr, name, sizeof(name));
		snprintf(why, len, "oracle: KVM_GET_MSRS %s is %#llx, the model has %#lx", name,
			 b.e[i].data, want);
		*bad = msr;
		return false;
	}
	return true;
}
