// SPDX-License-Identifier: GPL-2.0-only
/*
 * vCPU state through the get/set ioctls (Documentation/virt/kvm/api.rst,
 * section 4: KVM_GET/SET_REGS, _SREGS, _FPU, _VCPU_EVENTS, _DEBUGREGS, _LAPIC,
 * _MSRS, _CPUID2) and VM/vCPU creation, using both library forms:
 *  - what KVM_SET_x stores, KVM_GET_x returns unchanged;
 *  - a value the host sets is the one the guest reads, and a value the guest
 *    writes is the one the host then gets (GPRs, CR2, DR0-DR3, TPR/CR8; the
 *    x87 FCW and a pending NMI host to guest only);
 *  - invalid requests fail with the errno api.rst / KVM's x86.c give, through
 *    the raw __ forms, and leave the state untouched.
 *  - KVM_SET_VCPU_EVENTS refuses an "exception" whose vector is not one
 *    (SDM vol. 3A 6.3.1), and KVM_SET_SREGS refuses CR0/CR4/EFER/CS.L state
 *    no CPU can be in (SDM vol. 2B MOV to CR0, vol. 3A 10.8.5).
 * MSR visibility in both directions is covered by cpuid_msr_test.
 *
 * Caught bugs: bugs/events-exception-vector-unchecked.patch,
 *              bugs/regs-sregs-invalid-cr0.patch
 */
#include "guest/guest.h"
#include "kvm_test_harness.h"

/* ---- general-purpose registers ---- */

static void guest_regs(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, uint64_t f)
{
	register uint64_t r12 asm("r12") = 0x1200000000000012ULL;
	register uint64_t r15 asm("r15") = 0x1500000000000015ULL;

	/* The host put these in RDI..R9 with KVM_SET_REGS. */
	GUEST_SYNC(a, b, c, d, e, f);
	/* Stop with known values in registers; HLT exits to userspace without an irqchip. */
	asm volatile("hlt" :: "a"(0xaaaa0000aaaaULL), "b"(0xbbbb0000bbbbULL), "r"(r12),
		     "r"(r15) : "memory");
	GUEST_DONE();
}

KVM_VCPU_TEST(regs_round_trip_and_reach_the_guest, guest_regs)
{
	struct kvm_regs set, got;
	struct ucall uc;

	vcpu_regs_get(vcpu, &set);
	set.rdi = 0x0101010101010101ULL;
	set.rsi = 0x0202020202020202ULL;
	set.rdx = 0x0303030303030303ULL;
	set.rcx = 0x0404040404040404ULL;
	set.r8 = 0x0505050505050505ULL;
	set.r9 = 0x0606060606060606ULL;
	ASSERT_EQ(__vcpu_regs_set(vcpu, &set), 0);
	ASSERT_EQ(__vcpu_regs_get(vcpu, &got), 0);
	EXPECT_EQ(memcmp(&set, &got, sizeof(set)), 0);

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	EXPECT_EQ(uc.args[0], set.rdi);
	EXPECT_EQ(uc.args[1], set.rsi);
	EXPECT_EQ(uc.args[2], set.rdx);
	EXPECT_EQ(uc.args[3], set.rcx);
	EXPECT_EQ(uc.args[4], set.r8);
	EXPECT_EQ(uc.args[5], set.r9);

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_HLT);
	vcpu_regs_get(vcpu, &got);
	EXPECT_EQ(got.rax, 0xaaaa0000aaaaULL);
	EXPECT_EQ(got.rbx, 0xbbbb0000bbbbULL);
	EXPECT_EQ(got.r12, 0x1200000000000012ULL);
	EXPECT_EQ(got.r15, 0x1500000000000015ULL);
	/* RIP is past the HLT, still inside guest_regs(). */
	EXPECT_GT(got.rip, (uint64_t)(uintptr_t)guest_regs);
	EXPECT_LT(got.rip, (uint64_t)(uintptr_t)guest_regs + 4096);
	EXPECT_NE(got.rflags & X86_EFLAGS_FIXED, 0);	/* bit 1 reads as 1, SDM 3.4.3 */
	vcpu_run_expect_done(vcpu);
}

/* ---- special registers: CR2 is plain storage, SDM vol. 3A 2.5 ---- */

static void guest_cr2(void)
{
	GUEST_SYNC(get_cr2());
	set_cr2(0x7777000ULL);
	GUEST_SYNC(0);
}

KVM_VCPU_TEST(sregs_round_trip_and_reach_the_guest, guest_cr2)
{
	struct kvm_sregs set, got;

	vcpu_sregs_get(vcpu, &set);
	set.cr2 = 0x3333000ULL;
	ASSERT_EQ(__vcpu_sregs_set(vcpu, &set), 0);
	ASSERT_EQ(__vcpu_sregs_get(vcpu, &got), 0);
	EXPECT_EQ(memcmp(&set, &got, sizeof(set)), 0);

	vcpu_run_expect_sync(vcpu, 0x3333000ULL);
	vcpu_run_expect_sync(vcpu, 0);
	vcpu_sregs_get(vcpu, &got);
	EXPECT_EQ(got.cr2, 0x7777000ULL);
}

/*
 * ---- x87/SSE state (SDM vol. 1 8.1.5 FCW, 10.2.3 MXCSR) ----
 * The guest only reads FCW with FNSTCW: kvm_pvm ends KVM_RUN with an
 * EMULATION internal error on guest FLDCW, STMXCSR and MOVQ from an XMM
 * register, so guest writes and XMM/MXCSR are checked through the ioctls
 * only.  MXCSR is not compared: x86.c's KVM_GET_FPU/KVM_SET_FPU do not copy
 * it (it reads 0 here even right after reset); KVM_GET/SET_XSAVE carry it.
 */
#define HOST_FCW	0x027f		/* FNINIT's 0x37f with PC = double precision */

static void guest_fpu(void)
{
	uint16_t fcw = 0;

	asm volatile("fnstcw %0" : "+m"(fcw));
	GUEST_SYNC(fcw);
}

static void fpu_set_host_values(struct kvm_vcpu *vcpu, struct kvm_fpu *set)
{
	const uint64_t xmm0 = 0x1122334455667788ULL;

	vcpu_fpu_get(vcpu, set);
	set->fcw = HOST_FCW;
	memcpy(set->xmm[0], &xmm0, sizeof(xmm0));
	set->fpr[7][0] = 0x5a;
	vcpu_fpu_set(vcpu, set);
}

KVM_VCPU_TEST(fpu_round_trip, guest_fpu)
{
	struct kvm_fpu set, got;

	fpu_set_host_values(vcpu, &set);
	ASSERT_EQ(__vcpu_fpu_get(vcpu, &got), 0);
	EXPECT_EQ(got.fcw, HOST_FCW);
	EXPECT_EQ(memcmp(got.xmm, set.xmm, sizeof(set.xmm)), 0);
	EXPECT_EQ(memcmp(got.fpr, set.fpr, sizeof(set.fpr)), 0);
	ASSERT_EQ(__vcpu_fpu_set(vcpu, &got), 0);
	vcpu_fpu_get(vcpu, &set);
	EXPECT_EQ(memcmp(got.xmm, set.xmm, sizeof(set.xmm)), 0);
	EXPECT_EQ(set.fcw, HOST_FCW);
}

/* XSTATE_BV, the first field of the XSAVE header (SDM vol. 1 13.4.2). */
#define XSAVE_HDR_XSTATE_BV	512
#define XFEATURE_MASK_FP_SSE	0x3ULL

/* KVM_GET_XSAVE's XSTATE_BV, and the FCW in its legacy area (byte 0). */
static uint64_t xstate_bv(struct kvm_vcpu *vcpu, uint16_t *fcw)
{
	struct kvm_xsave xs;
	uint64_t bv;

	TEST_ASSERT(!ioctl(vcpu->fd, KVM_GET_XSAVE, &xs), "KVM_GET_XSAVE: %s", strerror(errno));
	memcpy(&bv, (uint8_t *)xs.region + XSAVE_HDR_XSTATE_BV, sizeof(bv));
	memcpy(fcw, xs.region, sizeof(*fcw));
	return bv;
}

KVM_VCPU_TEST(fpu_host_fcw_reaches_the_guest, guest_fpu)
{
	struct kvm_fpu set;

	/*
	 * api.rst KVM_SET_FPU: "Writes the floating point state to the vcpu."
	 * The guest must then run with that FCW.  Where the host uses XSAVE,
	 * that needs XSTATE_BV[1:0] set too: XRSTOR loads a component whose
	 * bit is clear from its init state (SDM vol. 1 13.8.1), FCW 0x37f.
	 */
	fpu_set_host_values(vcpu, &set);
	if (kvm_check_cap(KVM_CAP_XSAVE)) {
		uint16_t fcw;
		uint64_t bv = xstate_bv(vcpu, &fcw);

		TH_LOG("after KVM_SET_FPU: KVM_GET_XSAVE has XSTATE_BV %#llx (FP|SSE = 0x3), "
		       "FCW %#x", (unsigned long long)bv, fcw);
	}
	vcpu_run_expect_sync(vcpu, HOST_FCW);
}

/*
 * The control for the test above: the same FCW written with KVM_SET_XSAVE
 * and XSTATE_BV[1:0] set (api.rst KVM_SET_XSAVE) is what the guest runs with.
 */
KVM_VCPU_TEST(xsave_host_fcw_reaches_the_guest, guest_fpu)
{
	struct kvm_xsave xs;
	uint16_t fcw = HOST_FCW;
	uint64_t bv;

	if (!kvm_check_cap(KVM_CAP_XSAVE))
		SKIP(return, "no KVM_CAP_XSAVE");
	ASSERT_EQ(ioctl(vcpu->fd, KVM_GET_XSAVE, &xs), 0);
	memcpy(xs.region, &fcw, sizeof(fcw));	/* FCW: byte 0 of the legacy area */
	memcpy(&bv, (uint8_t *)xs.region + XSAVE_HDR_XSTATE_BV, sizeof(bv));
	bv |= XFEATURE_MASK_FP_SSE;
	memcpy((uint8_t *)xs.region + XSAVE_HDR_XSTATE_BV, &bv, sizeof(bv));
	ASSERT_EQ(ioctl(vcpu->fd, KVM_SET_XSAVE, &xs), 0) TH_LOG("KVM_SET_XSAVE: %s",
								 strerror(errno));
	vcpu_run_expect_sync(vcpu, HOST_FCW);
}

/* ---- vCPU events: a pending NMI set by the host is delivered ---- */

static volatile uint64_t nmi_count;

static void guest_nmi_handler(struct ex_regs *regs)
{
	nmi_count++;
}

static void guest_events(void)
{
	GUEST_SYNC(nmi_count);
	/* The host made an NMI pending: it is taken before this runs. */
	GUEST_SYNC(nmi_count);
}

KVM_VCPU_TEST(events_round_trip_and_nmi_reaches_the_guest, guest_events)
{
	struct kvm_vcpu_events ev, got;

	vm_install_exception_handler(vm, NMI_VECTOR, guest_nmi_handler);
	vcpu_run_expect_sync(vcpu, 0);

	vcpu_events_get(vcpu, &ev);
	EXPECT_EQ(ev.nmi.pending, 0);
	ASSERT_EQ(__vcpu_events_set(vcpu, &ev), 0);
	ASSERT_EQ(__vcpu_events_get(vcpu, &got), 0);
	EXPECT_EQ(memcmp(&ev, &got, sizeof(ev)), 0);

	/* Unknown flags: EINVAL (x86.c kvm_vcpu_ioctl_x86_set_vcpu_events). */
	ev.flags = 1u << 31;
	EXPECT_EQ(__vcpu_events_set(vcpu, &ev), -1);
	EXPECT_EQ(errno, EINVAL);
	/* An injected "exception" must be a vector 0-31 other than NMI (2). */
	memset(&ev, 0, sizeof(ev));
	ev.exception.injected = 1;
	ev.exception.nr = NMI_VECTOR;
	EXPECT_EQ(__vcpu_events_set(vcpu, &ev), -1);
	EXPECT_EQ(errno, EINVAL);
	/* The failed calls changed nothing. */
	vcpu_events_get(vcpu, &ev);
	EXPECT_EQ(memcmp(&ev, &got, sizeof(ev)), 0);

	/* api.rst KVM_SET_VCPU_EVENTS: nmi.pending is honoured with VALID_NMI_PENDING. */
	vcpu_events_set(vcpu, &(struct kvm_vcpu_events){
		.flags = KVM_VCPUEVENT_VALID_NMI_PENDING, .nmi.pending = 1,
	});
	vcpu_run_expect_sync(vcpu, 1);
	vcpu_events_get(vcpu, &got);
	EXPECT_EQ(got.nmi.pending, 0);
	EXPECT_EQ(got.nmi.injected, 0);
	/* The handler returned with IRET, which unblocks NMIs (SDM vol. 3A 6.7.1). */
	EXPECT_EQ(got.nmi.masked, 0);
}

/*
 * ---- vCPU events: only an exception vector can be an exception ----
 * Vectors 0-31 other than 2 are the architecture's exceptions; 2 is the
 * NMI, an interrupt, and 32-255 are user-defined interrupts (SDM vol. 3A
 * 6.3.1, table 6-1).  KVM_SET_VCPU_EVENTS (api.rst) sets an injected, or
 * with KVM_CAP_EXCEPTION_PAYLOAD a pending, *exception*, so x86.c refuses
 * any other vector with EINVAL; the refused call changes nothing and the
 * guest then runs as if it had never been made.  0xd4 is syzkaller's
 * reproducer for the missing check.
 */
static void guest_plain(void)
{
	GUEST_SYNC(0);
	GUEST_DONE();
}

KVM_VCPU_TEST(events_reject_non_exception_vectors, guest_plain)
{
	static const uint8_t bad[] = { NMI_VECTOR, 32, 0xd4, 255 };
	bool payload = kvm_check_cap(KVM_CAP_EXCEPTION_PAYLOAD) > 0;
	struct kvm_vcpu_events before, ev, after;

	if (payload)
		vm_enable_cap(vm, KVM_CAP_EXCEPTION_PAYLOAD, 1);
	vcpu_events_get(vcpu, &before);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&ev, 0, sizeof(ev));
		ev.exception.injected = 1;
		ev.exception.nr = bad[i];
		EXPECT_EQ(__vcpu_events_set(vcpu, &ev), -1) {
			TH_LOG("injected exception with vector %u accepted", bad[i]);
		}
		EXPECT_EQ(errno, EINVAL);
		if (payload) {
			memset(&ev, 0, sizeof(ev));
			ev.flags = KVM_VCPUEVENT_VALID_PAYLOAD;
			ev.exception.pending = 1;
			ev.exception.nr = bad[i];
			EXPECT_EQ(__vcpu_events_set(vcpu, &ev), -1) {
				TH_LOG("pending exception with vector %u accepted", bad[i]);
			}
			EXPECT_EQ(errno, EINVAL);
		}
		vcpu_events_get(vcpu, &after);
		EXPECT_EQ(memcmp(&before, &after, sizeof(before)), 0) {
			TH_LOG("vector %u: exception injected %u pending %u nr %u after the refused call",
			       bad[i], after.exception.injected, after.exception.pending,
			       after.exception.nr);
		}
	}
	/* Nothing was queued: the guest runs to its ucalls undisturbed. */
	vcpu_run_expect_sync(vcpu, 0);
	vcpu_run_expect_done(vcpu);
}

/*
 * ---- special registers: KVM_SET_SREGS refuses state no CPU can be in ----
 * MOV to CR0 raises #GP(0) on "invalid bit combinations in CR0 (such as
 * setting the PG flag to 1 when the PE flag is set to 0, or setting the CD
 * flag to 0 when the NW flag is set to 1)" and on a 1 in CR0[63:32] (SDM
 * vol. 2B, MOV to/from Control Registers, exceptions).  IA-32e mode is
 * active exactly when EFER.LME=1 and CR0.PG=1, which requires CR4.PAE=1
 * and sets EFER.LMA; outside it LMA is 0 and CS.L means nothing (SDM vol.
 * 3A 10.8.5, 5.2.1).  KVM_SET_SREGS must refuse such state with EINVAL
 * rather than load it (x86.c/regs.c kvm_is_valid_sregs()), and the refused
 * call changes nothing.
 */
struct bad_sregs {
	const char *what;
	uint64_t cr0_set, cr0_clear, cr4_clear, efer_clear;
	bool cs_l_only;	/* leave long mode properly, then set only CS.L */
};

static const struct bad_sregs bad_sregs[] = {
	{ "CR0.PG=1 with CR0.PE=0", .cr0_clear = X86_CR0_PE },
	{ "CR0.NW=1 with CR0.CD=0", .cr0_set = X86_CR0_NW },
	{ "CR0 bit 32 set", .cr0_set = 1ULL << 32 },
	{ "CR0 bit 63 set", .cr0_set = 1ULL << 63 },
	{ "EFER.LME=1 CR0.PG=1 with EFER.LMA=0", .efer_clear = EFER_LMA },
	{ "EFER.LME=1 CR0.PG=1 with CR4.PAE=0", .cr4_clear = X86_CR4_PAE },
	{ "EFER.LMA=1 with CR0.PG=0", .cr0_clear = X86_CR0_PG },
	{ "CS.L=1 outside IA-32e mode", .cs_l_only = true },
};

KVM_VCPU_TEST(sregs_reject_invalid_cr0_cr4_efer, guest_plain)
{
	struct kvm_sregs orig, s, got;

	vcpu_sregs_get(vcpu, &orig);
	ASSERT_NE(orig.efer & EFER_LMA, 0);
	ASSERT_NE(orig.cs.l, 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_sregs); i++) {
		const struct bad_sregs *b = &bad_sregs[i];

		s = orig;
		s.cr0 = (s.cr0 | b->cr0_set) & ~b->cr0_clear;
		s.cr4 &= ~b->cr4_clear;
		s.efer &= ~b->efer_clear;
		if (b->cs_l_only) {
			/* Protected mode without paging, legal but for CS.L. */
			s.cr0 &= ~X86_CR0_PG;
			s.efer &= ~EFER_LMA;
			s.cs.db = 0;
		}
		EXPECT_EQ(__vcpu_sregs_set(vcpu, &s), -1) {
			TH_LOG("%s accepted: CR0 %#llx CR4 %#llx EFER %#llx CS.L %u", b->what,
			       (unsigned long long)s.cr0, (unsigned long long)s.cr4,
			       (unsigned long long)s.efer, s.cs.l);
		}
		EXPECT_EQ(errno, EINVAL) TH_LOG("%s", b->what);
		vcpu_sregs_get(vcpu, &got);
		EXPECT_EQ(memcmp(&got, &orig, sizeof(got)), 0) {
			TH_LOG("%s: state changed, CR0 %#llx CR4 %#llx EFER %#llx", b->what,
			       (unsigned long long)got.cr0, (unsigned long long)got.cr4,
			       (unsigned long long)got.efer);
		}
		if (memcmp(&got, &orig, sizeof(got)))
			vcpu_sregs_set(vcpu, &orig);
	}
	/* The legal long-mode state is still accepted and runs. */
	ASSERT_EQ(__vcpu_sregs_set(vcpu, &orig), 0);
	vcpu_run_expect_sync(vcpu, 0);
	vcpu_run_expect_done(vcpu);
}

/* ---- debug registers DR0-DR3 (SDM vol. 3B 18.2.1) ---- */

static const uint64_t host_dr[4] = {
	0x100000ULL, 0x7fffffff1000ULL, 0xffffffff81000000ULL, 0x2000000ULL,
};
static const uint64_t guest_dr[4] = {
	0x400040ULL, 0x400080ULL, 0xffff800000000000ULL, 0x12340ULL,
};

static void guest_debugregs(void)
{
	uint64_t d0, d1, d2, d3;

	asm volatile("mov %%dr0, %0" : "=r"(d0));
	asm volatile("mov %%dr1, %0" : "=r"(d1));
	asm volatile("mov %%dr2, %0" : "=r"(d2));
	asm volatile("mov %%dr3, %0" : "=r"(d3));
	GUEST_SYNC(d0, d1, d2, d3);
	asm volatile("mov %0, %%dr0" :: "r"(guest_dr[0]));
	asm volatile("mov %0, %%dr1" :: "r"(guest_dr[1]));
	asm volatile("mov %0, %%dr2" :: "r"(guest_dr[2]));
	asm volatile("mov %0, %%dr3" :: "r"(guest_dr[3]));
	GUEST_SYNC(0);
}

KVM_VCPU_TEST(debugregs_round_trip_and_reach_the_guest, guest_debugregs)
{
	struct kvm_debugregs set, got, bad;
	struct ucall uc;

	vcpu_debugregs_get(vcpu, &set);
	/* DR7 stays disabled (no breakpoint fires); only the addresses change. */
	memcpy(set.db, host_dr, sizeof(set.db));
	ASSERT_EQ(__vcpu_debugregs_set(vcpu, &set), 0);
	ASSERT_EQ(__vcpu_debugregs_get(vcpu, &got), 0);
	EXPECT_EQ(memcmp(&set, &got, sizeof(set)), 0);

	/* flags must be 0; DR6/DR7 bits 63:32 are reserved (x86.c, SDM 18.2.3/18.2.4). */
	bad = set;
	bad.flags = 1;
	EXPECT_EQ(__vcpu_debugregs_set(vcpu, &bad), -1);
	EXPECT_EQ(errno, EINVAL);
	bad = set;
	bad.dr7 |= 1ULL << 32;
	EXPECT_EQ(__vcpu_debugregs_set(vcpu, &bad), -1);
	EXPECT_EQ(errno, EINVAL);
	vcpu_debugregs_get(vcpu, &got);
	EXPECT_EQ(memcmp(&set, &got, sizeof(set)), 0);

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	for (unsigned int i = 0; i < 4; i++) {
		/* Braces: EXPECT_*() ... TH_LOG() is two statements. */
		EXPECT_EQ(uc.args[i], host_dr[i]) TH_LOG("guest DR%u", i);
	}
	vcpu_run_expect_sync(vcpu, 0);
	vcpu_debugregs_get(vcpu, &got);
	for (unsigned int i = 0; i < 4; i++) {
		EXPECT_EQ(got.db[i], guest_dr[i]) TH_LOG("KVM_GET_DEBUGREGS db[%u]", i);
	}
}

/* ---- local APIC: TPR[7:4] is CR8 in 64-bit mode (SDM vol. 3A 11.8.6.1) ---- */

static void guest_tpr(void)
{
	GUEST_SYNC(get_cr8());
	set_cr8(3);
	GUEST_SYNC(0);
}

static uint32_t lapic_reg(const struct kvm_lapic_state *s, unsigned int off)
{
	uint32_t v;

	memcpy(&v, s->regs + off, sizeof(v));
	return v;
}

KVM_TEST(lapic_round_trip_and_tpr_reaches_the_guest)
{
	struct kvm_lapic_state set, got;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint32_t tpr = 0x70;

	vm = vm_create_opts(&(struct vm_opts){ .irqchip = true });
	vcpu = vm_vcpu_add(vm, 0, guest_tpr);
	vcpu_lapic_get(vcpu, &set);
	memcpy(set.regs + APIC_TPR, &tpr, sizeof(tpr));
	ASSERT_EQ(__vcpu_lapic_set(vcpu, &set), 0);
	ASSERT_EQ(__vcpu_lapic_get(vcpu, &got), 0);
	/* PPR follows TPR when no interrupt is in service (SDM vol. 3A 11.8.3.1). */
	EXPECT_EQ(lapic_reg(&got, APIC_PPR), 0x70);
	memcpy(set.regs + APIC_PPR, got.regs + APIC_PPR, 4);
	for (unsigned int off = 0; off < sizeof(set.regs); off += 16) {
		if (lapic_reg(&set, off) != lapic_reg(&got, off))
			TH_LOG("APIC reg %#x: set %#x got %#x", off, lapic_reg(&set, off),
			       lapic_reg(&got, off));
	}
	EXPECT_EQ(memcmp(&set, &got, sizeof(set)), 0);

	vcpu_run_expect_sync(vcpu, 7);
	vcpu_run_expect_sync(vcpu, 0);
	vcpu_lapic_get(vcpu, &got);
	EXPECT_EQ(lapic_reg(&got, APIC_TPR), 0x30);
	kvm_vm_free(vm);
}

KVM_VCPU_TEST(lapic_needs_an_in_kernel_irqchip, guest_tpr)
{
	struct kvm_lapic_state s;

	/*
	 * The local APIC is emulated in the kernel only after
	 * KVM_CREATE_IRQCHIP (api.rst 4.24/4.57); without it KVM has no LAPIC
	 * state to read or write, and x86.c answers EINVAL.
	 */
	EXPECT_EQ(__vcpu_lapic_get(vcpu, &s), -1);
	EXPECT_EQ(errno, EINVAL);
	memset(&s, 0, sizeof(s));
	EXPECT_EQ(__vcpu_lapic_set(vcpu, &s), -1);
	EXPECT_EQ(errno, EINVAL);
}

/* ---- MSRs through the raw forms: the count of MSRs processed ---- */

KVM_VCPU_TEST(msrs_raw_forms_return_the_count, guest_tpr)
{
	uint64_t v = 0;

	EXPECT_EQ(__vcpu_set_msr(vcpu, MSR_KERNEL_GS_BASE, 0xffff888000abc000ULL), 1);
	EXPECT_EQ(__vcpu_get_msr(vcpu, MSR_KERNEL_GS_BASE, &v), 1);
	EXPECT_EQ(v, 0xffff888000abc000ULL);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_KERNEL_GS_BASE), 0xffff888000abc000ULL);
	/* api.rst KVM_SET_MSRS: returns the number of MSRs set; an unknown one stops it at 0. */
	EXPECT_EQ(__vcpu_set_msr(vcpu, 0x2ff00000, 1), 0);
	EXPECT_EQ(__vcpu_get_msr(vcpu, 0x2ff00000, &v), 0);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_KERNEL_GS_BASE), 0xffff888000abc000ULL);
}

/* ---- CPUID tables ---- */

static bool cpuid_tables_equal(const struct kvm_cpuid2 *a, const struct kvm_cpuid2 *b)
{
	return a->nent == b->nent &&
	       !memcmp(a->entries, b->entries, a->nent * sizeof(a->entries[0]));
}

KVM_VCPU_TEST(cpuid_round_trip_and_errors, guest_tpr)
{
	struct kvm_cpuid2 *first, *again, *small, *huge;

	/*
	 * kvm_pvm rewrites some leaves on KVM_SET_CPUID2 (known_failures,
	 * cpuid_msr_test), so compare what KVM returns against itself:
	 * setting the table KVM_GET_CPUID2 gave must give it back.
	 */
	first = vcpu_get_cpuid(vcpu);
	ASSERT_GT(first->nent, 0);
	ASSERT_EQ(__vcpu_set_cpuid(vcpu, first), 0);
	again = vcpu_get_cpuid(vcpu);
	EXPECT_TRUE(cpuid_tables_equal(first, again))
		TH_LOG("nent %u then %u", first->nent, again->nent);

	/* api.rst KVM_GET_CPUID2: too few entries for the table is E2BIG. */
	small = kvm_cpuid2_alloc(first->nent - 1);
	EXPECT_EQ(__vcpu_get_cpuid(vcpu, small), -1);
	EXPECT_EQ(errno, E2BIG);

	/* More than KVM_MAX_CPUID_ENTRIES (256, arch/x86/include/asm/kvm_host.h): E2BIG. */
	huge = kvm_cpuid2_alloc(257);
	memcpy(huge->entries, first->entries, first->nent * sizeof(first->entries[0]));
	EXPECT_EQ(__vcpu_set_cpuid(vcpu, huge), -1);
	EXPECT_EQ(errno, E2BIG);
	/* The failed call kept the previous table, on both sides. */
	free(again);
	again = vcpu_get_cpuid(vcpu);
	EXPECT_TRUE(cpuid_tables_equal(first, again));
	EXPECT_TRUE(cpuid_tables_equal(first, vcpu->cpuid));
	free(first);
	free(again);
	free(small);
	free(huge);
}

/* ---- creating VMs and vCPUs ---- */

KVM_VCPU_TEST(create_errors_come_from_the_raw_forms, guest_tpr)
{
	int max_id = kvm_check_cap(KVM_CAP_MAX_VCPU_ID);
	struct kvm_vm *bad;

	/* KVM_CREATE_VM takes a machine type; an unknown one is EINVAL (x86.c). */
	errno = 0;
	bad = __vm_create_opts(&(struct vm_opts){ .type = 0xfe });
	EXPECT_EQ(bad, NULL);
	EXPECT_EQ(errno, EINVAL);

	/* api.rst KVM_CREATE_VCPU: an id in use is EEXIST... */
	EXPECT_EQ(__vm_vcpu_add(vm, 0, guest_tpr), NULL);
	EXPECT_EQ(errno, EEXIST);
	/* ...and ids are in [0, KVM_CAP_MAX_VCPU_ID), beyond is EINVAL. */
	ASSERT_GT(max_id, 0);
	EXPECT_EQ(__vm_vcpu_add(vm, max_id, guest_tpr), NULL);
	EXPECT_EQ(errno, EINVAL);
	EXPECT_EQ(vm->nr_vcpus, 1);

	/* A second KVM_CREATE_IRQCHIP is EEXIST (x86.c); the raw VM form made the first. */
	bad = __vm_create_opts(&(struct vm_opts){ .irqchip = true, .no_elf = true });
	ASSERT_NE(bad, NULL);
	EXPECT_EQ(__vm_ioctl(bad, KVM_CREATE_IRQCHIP, NULL), -1);
	EXPECT_EQ(errno, EEXIST);
	kvm_vm_free(bad);
}

TEST_HARNESS_MAIN
