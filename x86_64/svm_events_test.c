// SPDX-License-Identifier: GPL-2.0-only
/*
 * Nested SVM: events across the L1/L2 boundary (AMD APM vol. 2 chapter 15).
 * Every test SKIPs unless KVM offers SVM to its guests (kvm_amd nested=1).
 *
 *  - EVENTINJ (15.20), one case per event type: an external interrupt, an
 *    NMI, exceptions without and with an error code (#UD, #DF(0), #TS, #PF
 *    with the CR2 L1 put in the VMCB), a software interrupt (INTn, TYPE 4)
 *    and the soft exceptions #BP and #OF.  L2's handler must see the
 *    vector, the error code and the return RIP: the VMCB's RIP for faults
 *    and interrupts, for soft events next_rip where CPUID offers NRIPS
 *    (15.7.1) and else the RIP L1 advanced itself.  After delivery the
 *    exit has no EXITINTINFO and EVENTINJ.V is clear.  The same again with
 *    L2's stack on a page L2 has not touched, so that the delivery exits
 *    to L0 (a nested or shadow page fault) half way: KVM must deliver the
 *    event again (15.7.2), once, with the same return RIP.  On kvm_amd
 *    without NRIPS (the QEMU lane) KVM drops the soft events there: see
 *    eventinj_survives_exit_during_delivery;
 *  - an exception the host queues while L2 runs (KVM_SET_VCPU_EVENTS with
 *    KVM_CAP_EXCEPTION_PAYLOAD): "pending" means not yet delivered, so L1's
 *    exception intercepts apply (15.12): #PF exits with the payload in
 *    EXITINFO2 and L2's CR2 untouched, #SS with its error code in
 *    EXITINFO1, and no EXITINTINFO.  "Injected" means being delivered: the
 *    intercept does not apply, and with L2's IDT limit 0 the delivery
 *    faults: #GP(IDT index of #SS) exits with the #SS and its error code in
 *    EXITINTINFO (15.7.2); without the #GP intercept it is #DF(0), without
 *    that a shutdown (the idea of the upstream selftest
 *    x86_64/nested_exceptions_test.c);
 *  - physical interrupts and NMIs that arrive while L2 runs (self-IPIs
 *    through L1's xAPIC, 15.21.1 and 15.13): with the INTR/NMI intercept
 *    they exit (0x60/0x61) and L1 takes them once GIF is set again; with
 *    V_INTR_MASKING=1 L2's IF does not hold them; with V_INTR_MASKING=0
 *    L2's IF=0 holds them until L2's STI; without the intercept they go
 *    through L2's IDT (kvm-unit-tests svm_tests.c "interrupt", "nmi",
 *    svm_intr_intercept_mix_*);
 *  - virtual interrupts (15.21.1-15.21.4): V_IRQ with int_vector is taken
 *    by L2 through its IDT when its IF=1 and V_INTR_PRIO > V_TPR, then
 *    V_IRQ reads 0 in the VMCB; held while IF=0 or V_INTR_PRIO < V_TPR
 *    until L2 lowers CR8 (its V_TPR); with the VINTR intercept it exits
 *    0x64 instead (kvm-unit-tests "virq_inject");
 *  - the interrupt shadow (15.21.5): after STI or MOV SS the exit's int_state
 *    bit 0 is set, after another instruction it is clear;
 *  - GIF (15.17): with GIF clear, an interrupt and an NMI wait for STGI
 *    and are taken right after it; VGIF (15.33, CPUID 0x8000000A EDX[16]):
 *    L2's CLGI/STGI (not intercepted) change V_GIF in VMCB12 without an
 *    exit, and a virtual interrupt waits while V_GIF=0 (kvm-unit-tests
 *    "vgif").
 *
 * Caught bugs: bugs/nested-svm-vmrun-cr2-not-loaded.patch,
 * bugs/nested-svm-exception-vmexit-drops-payload.patch,
 * bugs/nested-svm-intr-masking-uses-l2-if.patch,
 * bugs/nested-svm-stgi-drops-pending-nmi.patch,
 * bugs/nested-svm-v-irq-not-passed-to-l2.patch,
 * bugs/nested-svm-vmexit-int-state-not-saved.patch,
 * bugs/nested-svm-vgif-not-synced-to-vmcb12.patch (needs VGIF: caught with
 * make bug_corpus CPU=max; the default lane's EPYC model has none)
 *
 * QEMU TCG (the AMD lane) deviates here, and the test accepts or avoids
 * exactly that: a fault while delivering through the IDT has error code
 * vector * 16 + 2; a CR8 write by L2 that unmasks a V_IRQ aborts QEMU 7.2
 * (that case SKIPs under qemu-tcg); a virtual interrupt whose delivery
 * exits to L0 comes back as an exception-type EXITINTINFO and the
 * re-injection fails, so L2 touches what delivery uses first; where KVM
 * does not intercept #GP (SVME_ADDR_CHK, CPU=max) QEMU makes #SS+#GP a #DF
 * without checking the #DF intercept (SHUTDOWN, accepted under qemu-tcg);
 * QEMU has no NRIPS, and VGIF only in its "max" model.
 */
#include "kvm_test_harness.h"
#include "guest/apic.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "nested.h"

#define SPIN_LOOPS	20000

/* Set by the host: the CPU under KVM is QEMU TCG (KVM_SUITE_CPU_EMULATOR=qemu-tcg). */
static bool qemu_tcg;

static void spin(void)
{
	for (int i = 0; i < SPIN_LOOPS; i++)
		cpu_relax();
}

/* ---- EVENTINJ, every type ---- */

#define INJ_INTR_VEC	0x50
#define INJ_SOFT_VEC	0x51
#define INJ_CR2		0xbad0f000ULL

struct inj_case {
	const char *name;
	uint32_t event;		/* EVENTINJ without V */
	uint32_t err;
	bool soft;		/* returns past the instruction (INTn, INT3, INTO) */
};

static const struct inj_case inj_cases[] = {
	{ "INTR 0x50", SVM_EVTINJ_TYPE_INTR | INJ_INTR_VEC, 0, false },
	{ "NMI", SVM_EVTINJ_TYPE_NMI | NMI_VECTOR, 0, false },
	{ "#UD", SVM_EVTINJ_TYPE_EXEPT | UD_VECTOR, 0, false },
	{ "#DF(0)", SVM_EVTINJ_TYPE_EXEPT | SVM_EVTINJ_VALID_ERR | DF_VECTOR, 0, false },
	{ "#TS(0x1238)", SVM_EVTINJ_TYPE_EXEPT | SVM_EVTINJ_VALID_ERR | TS_VECTOR, 0x1238, false },
	{ "#PF(0x6) with CR2", SVM_EVTINJ_TYPE_EXEPT | SVM_EVTINJ_VALID_ERR | PF_VECTOR, 0x6, false },
	{ "INT 0x51", SVM_EVTINJ_TYPE_SOFT | INJ_SOFT_VEC, 0, true },
	{ "#BP", SVM_EVTINJ_TYPE_EXEPT | BP_VECTOR, 0, true },
	{ "#OF", SVM_EVTINJ_TYPE_EXEPT | OF_VECTOR, 0, true },
};

/*
 * Faults and interrupts return to l2_inj_rip.  Soft events are injected as
 * if the 2-byte INT at l2_inj_soft had trapped: they return to
 * l2_inj_soft_next; if the INT ran after all, the handler counts twice.
 */
asm(".pushsection .text\n"
	"l2_inj_rip:\n\t"
	"vmmcall\n\t"
	"ud2\n"
	"l2_inj_soft:\n\t"
	"int $" __stringify(INJ_SOFT_VEC) "\n"
	"l2_inj_soft_next:\n\t"
	"vmmcall\n\t"
	"ud2\n"
	".popsection");
void l2_inj_rip(void);
extern char l2_inj_soft[], l2_inj_soft_next[];

static volatile uint64_t inj_count, inj_vector, inj_error, inj_rip, inj_cr2;

static void inj_handler(struct ex_regs *regs)
{
	inj_count++;
	inj_vector = regs->vector;
	inj_error = regs->error_code;
	inj_rip = regs->rip;
	inj_cr2 = get_cr2();
}

/* Touches the top 2 KiB of L2's stack, then exits. */
static void l2_touch_stack(void)
{
	volatile uint8_t stack[2048];

	stack[0] = 0;
	stack[sizeof(stack) - 1] = 0;
	guest_nested_hypercall(0);
}

/*
 * Each case of inj_cases[], on L2's usual stack or (fresh_stack) on a page
 * nothing has touched: pushing the frame there exits to L0 (nested or
 * shadow page fault) in the middle of the delivery, and KVM must deliver
 * the same event again, as the CPU would have (15.7.2, 15.20).  Returns the
 * number of failing cases, each one printed.
 */
static unsigned int inj_run_cases(struct nested_pages *p, bool fresh_stack)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	bool nrips = svm_features() & SVM_FEAT_NRIPS;
	unsigned int failed = 0;
	struct nested n;

	/* The usual stack is mapped for L2 once L2 has used it. */
	guest_nested_init(&n, p, l2_touch_stack);
	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);

	for (unsigned int i = 0; i < ARRAY_SIZE(inj_cases); i++) {
		const struct inj_case *c = &inj_cases[i];
		uint8_t vec = c->event & 0xff;
		uint64_t ret = c->soft ? (uintptr_t)l2_inj_soft_next : (uintptr_t)l2_inj_rip;
		uint64_t err = c->event & SVM_EVTINJ_VALID_ERR ? c->err : 0;
		bool ok;

		guest_install_handler(vec, inj_handler);
		guest_nested_init(&n, p, l2_inj_rip);
		if (fresh_stack)
			vmcb->save.rsp = p->pool + (i + 1) * PAGE_SIZE;
		if (c->soft) {
			/*
			 * With NRIPS the CPU pushes next_rip (15.20); without,
			 * L1 advances RIP itself and next_rip (stale here) must
			 * not matter.
			 */
			vmcb->save.rip = nrips ? (uintptr_t)l2_inj_soft : (uintptr_t)l2_inj_soft_next;
			vmcb->control.next_rip = nrips ? (uintptr_t)l2_inj_soft_next :
							 (uintptr_t)l2_inj_soft;
		}
		vmcb->save.cr2 = INJ_CR2;
		vmcb->control.event_inj = SVM_EVTINJ_VALID | c->event;
		vmcb->control.event_inj_err = c->err;
		inj_count = 0;
		inj_vector = inj_error = inj_rip = inj_cr2 = -1ULL;

		guest_nested_run(&n);
		ok = vmcb->control.exit_code == SVM_EXIT_VMMCALL && vmcb->save.rip == ret &&
		     inj_count == 1 && inj_vector == vec && inj_error == err && inj_rip == ret &&
		     (vec != PF_VECTOR || inj_cr2 == INJ_CR2) && !vmcb->control.exit_int_info &&
		     !(vmcb->control.event_inj & SVM_EVTINJ_VALID);
		if (ok)
			continue;
		failed++;
		GUEST_PRINTF("FAIL: EVENTINJ %s (0x%x, error 0x%x, NRIPS %d, %s stack): #VMEXIT %s "
			     "at RIP 0x%lx; L2's handler ran %lu times, last vector %ld error "
			     "0x%lx return RIP 0x%lx CR2 0x%lx; EXITINTINFO 0x%x EVENTINJ 0x%x "
			     "after; expected VMMCALL at 0x%lx, once, vector %u error 0x%lx return "
			     "RIP 0x%lx%s, no EXITINTINFO, EVENTINJ.V clear\n", c->name,
			     SVM_EVTINJ_VALID | c->event, c->err, nrips,
			     fresh_stack ? "untouched" : "mapped",
			     svm_exit_name(vmcb->control.exit_code), vmcb->save.rip, inj_count,
			     (int64_t)inj_vector, inj_error, inj_rip, inj_cr2,
			     vmcb->control.exit_int_info, vmcb->control.event_inj, ret, vec, err,
			     ret, vec == PF_VECTOR ? " CR2 0xbad0f000" : "");
	}
	return failed;
}

static void l1_eventinj(struct nested_pages *p)
{
	unsigned int failed = inj_run_cases(p, false);

	__GUEST_ASSERT(!failed, "%u of %lu EVENTINJ cases failed (printed above)", failed,
		       ARRAY_SIZE(inj_cases));
	GUEST_DONE();
}

SVM_TEST(eventinj_each_type_reaches_l2_idt, l1_eventinj)

static void l1_eventinj_reinjected(struct nested_pages *p)
{
	unsigned int failed = inj_run_cases(p, true);

	__GUEST_ASSERT(!failed, "%u of %lu EVENTINJ cases failed when their delivery exited "
		       "to L0 (printed above)", failed, ARRAY_SIZE(inj_cases));
	GUEST_DONE();
}

SVM_TEST(eventinj_survives_exit_during_delivery, l1_eventinj_reinjected)

/* ---- pending vs injected exceptions queued by the host while L2 runs ---- */

#define PE_PF_ADDR	0xcafe0000ULL	/* the #PF's payload: its CR2 */
#define PE_PF_ERROR	0x2
#define PE_L2_CR2	0x1234000ULL
#define PE_SS_ERROR	0xdeadbeefU
#define IDT_ERR(vec)	((vec) * 8 + 2)		/* IDT bit, index = vector (APM 8.4.1) */

enum pe_step { PE_PENDING_PF = 1, PE_PENDING_SS, PE_INJECTED_SS_GP, PE_INJECTED_SS_DF,
	       PE_INJECTED_SS_SHUTDOWN, PE_DONE };

static volatile uint64_t pe_step;

static void l2_pe_sync(void)
{
	GUEST_SYNC(pe_step);
	GUEST_FAIL("step %lu: L2 ran on after the host queued an exception", pe_step);
}

static void pe_next(struct nested_pages *p, struct nested *n, uint64_t step)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);

	pe_step = step;
	vmcb->save.rip = (uintptr_t)l2_pe_sync;
	vmcb->save.rsp = p->l2_stack_top;
	guest_nested_run(n);
}

static void l1_pending_injected(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	uint32_t ss_info = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT | SVM_EVTINJ_VALID_ERR |
			   SS_VECTOR;
	struct nested n;

	guest_nested_init(&n, p, l2_pe_sync);
	vmcb->save.idtr.limit = 0;
	vmcb->save.cr2 = PE_L2_CR2;
	vmcb->control.intercept_misc1 |= SVM_INTERCEPT_SHUTDOWN;
	vmcb->control.intercept_exceptions = BIT(PF_VECTOR) | BIT(SS_VECTOR) | BIT(GP_VECTOR) |
					     BIT(DF_VECTOR);

	/* Pending #PF: intercepted; the address is in EXITINFO2, not in L2's CR2. */
	pe_next(p, &n, PE_PENDING_PF);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_EXCP_BASE + PF_VECTOR);
	__GUEST_ASSERT(vmcb->control.exit_info_1 == PE_PF_ERROR &&
		       vmcb->control.exit_info_2 == PE_PF_ADDR && vmcb->save.cr2 == PE_L2_CR2,
		       "pending #PF: EXITINFO1 0x%lx EXITINFO2 0x%lx, L2's CR2 0x%lx; expected "
		       "0x%x, 0x%llx (the payload) and 0x%llx (unchanged)",
		       vmcb->control.exit_info_1, vmcb->control.exit_info_2, vmcb->save.cr2,
		       PE_PF_ERROR, PE_PF_ADDR, PE_L2_CR2);
	GUEST_ASSERT_EQ(vmcb->control.exit_int_info, 0);

	/* Pending #SS: intercepted, its error code in EXITINFO1. */
	pe_next(p, &n, PE_PENDING_SS);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_EXCP_BASE + SS_VECTOR);
	GUEST_ASSERT_EQ(vmcb->control.exit_info_1, PE_SS_ERROR);
	GUEST_ASSERT_EQ(vmcb->control.exit_int_info, 0);

	/* Injected #SS: delivering it through an empty IDT is #GP(IDT | #SS). */
	pe_next(p, &n, PE_INJECTED_SS_GP);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_EXCP_BASE + GP_VECTOR);
	if (qemu_tcg && vmcb->control.exit_info_1 == SS_VECTOR * 16 + 2)
		GUEST_PRINTF("qemu-tcg: #GP error code 0x%lx (vector * 16 + 2) for the IDT "
			     "fault, not the APM's 0x%x: accepted under qemu-tcg (lanes.md)\n",
			     vmcb->control.exit_info_1, IDT_ERR(SS_VECTOR));
	else
		GUEST_ASSERT_EQ(vmcb->control.exit_info_1, IDT_ERR(SS_VECTOR));
	__GUEST_ASSERT(vmcb->control.exit_int_info == ss_info &&
		       vmcb->control.exit_int_info_err == PE_SS_ERROR,
		       "#GP while delivering the injected #SS: EXITINTINFO 0x%x error 0x%x, "
		       "expected 0x%x error 0x%x", vmcb->control.exit_int_info,
		       vmcb->control.exit_int_info_err, ss_info, PE_SS_ERROR);

	/* #GP not intercepted: #SS then #GP is #DF(0). */
	vmcb->control.intercept_exceptions &= ~BIT(GP_VECTOR);
	pe_next(p, &n, PE_INJECTED_SS_DF);
	/*
	 * Where KVM does not intercept #GP itself (CPUs with SVME_ADDR_CHK,
	 * e.g. QEMU's "max"), QEMU TCG turns the #GP into #DF after checking
	 * only the #GP intercept, then fails to deliver the #DF: SHUTDOWN.
	 */
	if (qemu_tcg && vmcb->control.exit_code == SVM_EXIT_SHUTDOWN)
		GUEST_PRINTF("qemu-tcg: #SS then #GP made #DF without checking L1's #DF "
			     "intercept (#VMEXIT SHUTDOWN, EXITINTINFO 0x%x): accepted under "
			     "qemu-tcg\n", vmcb->control.exit_int_info);
	else {
		SVM_EXPECT_EXIT(vmcb, SVM_EXIT_EXCP_BASE + DF_VECTOR);
		GUEST_ASSERT_EQ(vmcb->control.exit_info_1, 0);
	}

	/* Nor #DF: shutdown. */
	vmcb->control.intercept_exceptions &= ~BIT(DF_VECTOR);
	pe_next(p, &n, PE_INJECTED_SS_SHUTDOWN);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_SHUTDOWN);
	GUEST_DONE();
}

static void pe_queue(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu, bool injected,
		     uint8_t nr, uint32_t err, bool payload, uint64_t payload_val)
{
	struct kvm_vcpu_events ev;

	vcpu_events_get(vcpu, &ev);
	ASSERT_FALSE(ev.exception.pending || ev.exception.injected)
		TH_LOG("vector %u already %s before the host queued one", ev.exception.nr,
		       ev.exception.pending ? "pending" : "injected");
	ev.flags = KVM_VCPUEVENT_VALID_PAYLOAD;
	ev.exception.pending = !injected;
	ev.exception.injected = injected;
	ev.exception.nr = nr;
	ev.exception.has_error_code = true;
	ev.exception.error_code = err;
	ev.exception_has_payload = payload;
	ev.exception_payload = payload_val;
	vcpu_events_set(vcpu, &ev);
}

static void pe_expect_step(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
			   uint64_t step)
{
	struct ucall uc;

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], step) TH_LOG("L2 asked for step %lu, expected %lu",
					    (unsigned long)uc.args[0], (unsigned long)step);
}

KVM_VCPU_TEST(exception_pending_vs_injected_into_l2, l1_pending_injected)
{
	struct kvm_vcpu_events ev;

	TEST_REQUIRE_SVM();
	TEST_REQUIRE_CAP(KVM_CAP_EXCEPTION_PAYLOAD);
	vm_enable_cap(vm, KVM_CAP_EXCEPTION_PAYLOAD, 1);
	write_guest_global(vm, qemu_tcg, kvm_cpu_emulator_is("qemu-tcg"));
	vcpu_args_set(vcpu, 1, nested_alloc(vm));

	pe_expect_step(_metadata, vcpu, PE_PENDING_PF);
	pe_queue(_metadata, vcpu, false, PF_VECTOR, PE_PF_ERROR, true, PE_PF_ADDR);
	/* Still pending, payload and all, after a KVM_RUN that enters nothing. */
	vcpu_complete_io(vcpu);
	vcpu_events_get(vcpu, &ev);
	EXPECT_TRUE(ev.exception.pending && ev.exception.nr == PF_VECTOR &&
		    ev.exception.error_code == PE_PF_ERROR && ev.exception_has_payload &&
		    ev.exception_payload == PE_PF_ADDR)
		TH_LOG("KVM_GET_VCPU_EVENTS: pending %u injected %u vector %u error 0x%x payload "
		       "%u 0x%llx; expected the pending #PF(0x%x) with payload 0x%llx",
		       ev.exception.pending, ev.exception.injected, ev.exception.nr,
		       ev.exception.error_code, ev.exception_has_payload,
		       (unsigned long long)ev.exception_payload, PE_PF_ERROR, PE_PF_ADDR);

	pe_expect_step(_metadata, vcpu, PE_PENDING_SS);
	pe_queue(_metadata, vcpu, false, SS_VECTOR, PE_SS_ERROR, false, 0);
	for (uint64_t step = PE_INJECTED_SS_GP; step < PE_DONE; step++) {
		pe_expect_step(_metadata, vcpu, step);
		pe_queue(_metadata, vcpu, true, SS_VECTOR, PE_SS_ERROR, false, 0);
	}
	vcpu_run_expect_done(vcpu);
}

/* ---- physical interrupts and NMIs while L2 runs ---- */

#define IRQ_VEC		0xa0
#define VIRQ_VEC	0x70

static volatile uint64_t irq_l1, irq_l2, nmi_l1, nmi_l2, virq_l2;
static uint64_t l2_stack_lo, l2_stack_hi;

static bool on_l2_stack(uint64_t rsp)
{
	return rsp > l2_stack_lo && rsp <= l2_stack_hi;
}

static void irq_handler(struct ex_regs *regs)
{
	if (on_l2_stack(regs->rsp))
		irq_l2++;
	else
		irq_l1++;
	xapic_write(APIC_EOI, 0);
}

static void nmi_handler(struct ex_regs *regs)
{
	if (on_l2_stack(regs->rsp))
		nmi_l2++;
	else
		nmi_l1++;
}

/* A virtual interrupt has no APIC behind it: no EOI. */
static void virq_handler(struct ex_regs *regs)
{
	virq_l2++;
}

/* Fixed interrupt or NMI to this vCPU through its xAPIC (SDM vol. 3A 11.6.1). */
static void self_ipi(bool nmi)
{
	xapic_write(APIC_ICR_HI, xapic_read(APIC_ID) & 0xff000000u);
	xapic_write(APIC_ICR_LO, nmi ? APIC_DM_NMI : APIC_DM_FIXED | IRQ_VEC);
}

static void install_handlers(struct nested_pages *p)
{
	guest_install_handler(IRQ_VEC, irq_handler);
	guest_install_handler(NMI_VECTOR, nmi_handler);
	guest_install_handler(VIRQ_VEC, virq_handler);
	l2_stack_hi = p->l2_stack_top;
	l2_stack_lo = p->l2_stack_top - 4 * PAGE_SIZE;
}

/* For the tests whose VM has the in-kernel APIC (run_with_apic()). */
static void apic_init_handlers(struct nested_pages *p)
{
	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	xapic_write(APIC_TPR, 0);
	install_handlers(p);
}

struct intr_case {
	const char *name;
	bool nmi;
	bool intercept;		/* INTR (NMI) intercept */
	bool vim;		/* V_INTR_MASKING */
	bool l2_if;		/* L2 runs with IF=1 */
	bool l2_sti;		/* L2 executes STI after a while */
	uint64_t exit;
	bool to_l2;		/* through L2's IDT; else L1 takes it after the exit */
};

static const struct intr_case intr_cases[] = {
	{ "INTR intercepted, V_INTR_MASKING=1, L2 IF=0: exits", false, true, true, false, false,
	  SVM_EXIT_INTR, false },
	{ "INTR intercepted, V_INTR_MASKING=0, L2 IF=0: held until L2's STI, then exits",
	  false, true, false, false, true, SVM_EXIT_INTR, false },
	{ "INTR not intercepted, V_INTR_MASKING=0, L2 IF=1: L2's IDT", false, false, false, true,
	  false, SVM_EXIT_VMMCALL, true },
	{ "INTR not intercepted, V_INTR_MASKING=0, L2 IF=0: L2's IDT after its STI", false, false,
	  false, false, true, SVM_EXIT_VMMCALL, true },
	{ "INTR not intercepted, V_INTR_MASKING=1, L2 IF=1: L2's IDT", false, false, true, true,
	  false, SVM_EXIT_VMMCALL, true },
	{ "NMI intercepted, L2 IF=0: exits", true, true, true, false, false, SVM_EXIT_NMI, false },
	{ "NMI not intercepted, L2 IF=0: L2's IDT", true, false, true, false, false,
	  SVM_EXIT_VMMCALL, true },
};

static volatile bool l2_ev_nmi, l2_ev_sti, l2_ev_reached_sti;
static volatile uint64_t l2_ev_before_sti;

static void l2_raise_event(void)
{
	self_ipi(l2_ev_nmi);
	spin();
	if (l2_ev_sti) {
		l2_ev_before_sti = irq_l2 + irq_l1 + nmi_l2 + nmi_l1;
		l2_ev_reached_sti = true;
		sti();
		spin();
	}
	guest_nested_hypercall(0);
}

/* L1 takes what is left right after the exit's STGI; allow it a bounded moment. */
static uint64_t wait_l1_hits(volatile uint64_t *count)
{
	for (int i = 0; i < SPIN_LOOPS && !*count; i++)
		cpu_relax();
	return *count;
}

static void l1_intr(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	struct nested n;

	apic_init_handlers(p);
	for (unsigned int i = 0; i < ARRAY_SIZE(intr_cases); i++) {
		const struct intr_case *c = &intr_cases[i];
		volatile uint64_t *l1 = c->nmi ? &nmi_l1 : &irq_l1;
		volatile uint64_t *l2 = c->nmi ? &nmi_l2 : &irq_l2;
		uint64_t got_l1, got_l2;

		guest_nested_init(&n, p, l2_raise_event);
		if (c->intercept)
			vmcb->control.intercept_misc1 |= c->nmi ? SVM_INTERCEPT_NMI :
								  SVM_INTERCEPT_INTR;
		if (c->vim)
			vmcb->control.int_ctl |= SVM_INT_CTL_V_INTR_MASKING;
		vmcb->save.rflags = X86_EFLAGS_FIXED | (c->l2_if ? X86_EFLAGS_IF : 0);
		l2_ev_nmi = c->nmi;
		l2_ev_sti = c->l2_sti;
		l2_ev_reached_sti = false;
		l2_ev_before_sti = -1ULL;
		irq_l1 = irq_l2 = nmi_l1 = nmi_l2 = 0;

		/* L1 has IF=1 around VMRUN: with V_INTR_MASKING its IF is what masks. */
		sti();
		guest_nested_run(&n);
		got_l1 = c->to_l2 ? *l1 : wait_l1_hits(l1);
		cli();
		got_l2 = *l2;
		__GUEST_ASSERT(vmcb->control.exit_code == c->exit,
			       "%s: #VMEXIT %s (0x%lx), expected %s; L2 RIP 0x%lx, L2 reached "
			       "its STI %d; taken by L1 %lu, by L2 %lu", c->name,
			       svm_exit_name(vmcb->control.exit_code), vmcb->control.exit_code,
			       svm_exit_name(c->exit), vmcb->save.rip, l2_ev_reached_sti, got_l1,
			       got_l2);
		__GUEST_ASSERT(got_l1 == !c->to_l2 && got_l2 == c->to_l2,
			       "%s: taken %lu times by L1 (after the exit), %lu times by L2; "
			       "expected %s", c->name, got_l1, got_l2,
			       c->to_l2 ? "once by L2" : "once by L1");
		if (c->l2_sti)
			__GUEST_ASSERT(l2_ev_reached_sti && l2_ev_before_sti == 0,
				       "%s: L2 %s its STI with %lu events taken before it; "
				       "expected its IF=0 to hold the interrupt", c->name,
				       l2_ev_reached_sti ? "reached" : "did not reach",
				       l2_ev_before_sti);
	}
	GUEST_DONE();
}

static void run_with_apic(struct __test_metadata *_metadata, void *l1)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	const char *why;

	TEST_REQUIRE_SVM();
	vm = vm_create_opts(&(struct vm_opts){ .irqchip = true });
	vcpu = vm_vcpu_add(vm, 0, l1);
	virt_map_mmio(vm, APIC_DEFAULT_GPA, PAGE_SIZE);
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	why = nested_run_until_done(vm, vcpu);
	kvm_vm_free(vm);
	if (why)
		SKIP(return, "%s", why);
}

KVM_TEST(physical_intr_and_nmi_exit_or_reach_l2)
{
	run_with_apic(_metadata, l1_intr);
}

/* ---- virtual interrupts: V_IRQ, V_INTR_PRIO, V_TPR, VINTR ---- */

struct virq_case {
	const char *name;
	uint8_t prio, tpr;
	bool l2_if;
	bool vintr;		/* VINTR intercept */
	bool l2_lower_tpr;	/* L2 writes CR8 = 0 after a while */
	uint64_t exit;
	bool taken;
};

static const struct virq_case virq_cases[] = {
	{ "V_IRQ prio 2, V_TPR 0, IF=1: taken", 2, 0, true, false, false, SVM_EXIT_VMMCALL,
	  true },
	{ "V_IRQ with the VINTR intercept: exits", 2, 0, true, true, false, SVM_EXIT_VINTR,
	  false },
	{ "V_IRQ, L2 IF=0: held", 2, 0, false, false, false, SVM_EXIT_VMMCALL, false },
	{ "V_IRQ prio 2, V_TPR 5: held", 2, 5, true, false, false, SVM_EXIT_VMMCALL, false },
	{ "V_IRQ prio 2, V_TPR 5, L2 writes CR8=0: taken then", 2, 5, true, false, true,
	  SVM_EXIT_VMMCALL, true },
};

static volatile bool l2_virq_if, l2_virq_lower_tpr;
static volatile uint64_t l2_virq_before;

/*
 * Touch what delivering vector vec to L2 reads and writes (its IDT and GDT
 * entries, the stack below), so that no exit to L0 interrupts the delivery
 * of a virtual interrupt: QEMU TCG records a virtual interrupt whose
 * delivery exits as EXITINTINFO type 3 (exception), and VMRUN of that
 * vector >= 32 as an exception then fails with VMEXIT_INVALID.
 */
static void l2_prefault_delivery(uint8_t vec)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) dtr;
	volatile uint8_t stack[2048];
	uint16_t cs;

	asm volatile("sidt %0" : "=m"(dtr));
	(void)*(volatile uint64_t *)(dtr.base + vec * 16);
	(void)*(volatile uint64_t *)(dtr.base + vec * 16 + 8);
	asm volatile("sgdt %0" : "=m"(dtr));
	asm volatile("mov %%cs, %0" : "=r"(cs));
	(void)*(volatile uint64_t *)(dtr.base + (cs & ~7));
	stack[0] = 0;
	stack[sizeof(stack) - 1] = 0;
}

/* L2 starts with IF=0 and sets it (l2_virq_if) once delivery can't exit. */
static void l2_virq(void)
{
	l2_prefault_delivery(VIRQ_VEC);
	if (l2_virq_if)
		sti();
	spin();
	l2_virq_before = virq_l2;
	if (l2_virq_lower_tpr) {
		set_cr8(0);
		spin();
	}
	guest_nested_hypercall(get_cr8());
}

static void l1_virq(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	struct nested n;

	install_handlers(p);
	for (unsigned int i = 0; i < ARRAY_SIZE(virq_cases); i++) {
		const struct virq_case *c = &virq_cases[i];
		bool v_irq_after;

		/*
		 * QEMU 7.2 TCG aborts (tcg_handle_interrupt: assertion
		 * qemu_mutex_iothread_locked()) when a guest's CR8 write
		 * under V_INTR_MASKING unmasks a V_IRQ: its helper raises
		 * the virtual interrupt without the iothread lock.
		 */
		if (c->l2_lower_tpr && qemu_tcg) {
			GUEST_PRINTF("%s: skipped under qemu-tcg, whose CR8 write with a "
				     "V_IRQ pending aborts QEMU 7.2\n", c->name);
			continue;
		}

		guest_nested_init(&n, p, l2_virq);
		vmcb->control.int_ctl = SVM_INT_CTL_V_INTR_MASKING | SVM_INT_CTL_V_IRQ |
					(uint32_t)c->prio << SVM_INT_CTL_V_INTR_PRIO_SHIFT | c->tpr;
		vmcb->control.int_vector = VIRQ_VEC;
		if (c->vintr)
			vmcb->control.intercept_misc1 |= SVM_INTERCEPT_VINTR;
		l2_virq_if = c->l2_if;
		l2_virq_lower_tpr = c->l2_lower_tpr;
		l2_virq_before = -1ULL;
		virq_l2 = 0;

		guest_nested_run(&n);
		v_irq_after = vmcb->control.int_ctl & SVM_INT_CTL_V_IRQ;
		__GUEST_ASSERT(vmcb->control.exit_code == c->exit && virq_l2 == c->taken,
			       "%s: #VMEXIT %s (0x%lx), L2 took vector 0x%x %lu times; expected "
			       "%s and %s (int_ctl 0x%x after)", c->name,
			       svm_exit_name(vmcb->control.exit_code), vmcb->control.exit_code,
			       VIRQ_VEC, virq_l2, svm_exit_name(c->exit),
			       c->taken ? "taken once" : "not taken", vmcb->control.int_ctl);
		/* The CPU clears V_IRQ when it takes the interrupt (15.21.1). */
		__GUEST_ASSERT(v_irq_after == !c->taken, "%s: VMCB12 int_ctl 0x%x after the exit: "
			       "V_IRQ %d, expected %d", c->name, vmcb->control.int_ctl,
			       v_irq_after, !c->taken);
		if (c->l2_lower_tpr) {
			GUEST_ASSERT_EQ(l2_virq_before, 0);
			/* L2's CR8 is V_TPR with V_INTR_MASKING (15.21.4). */
			GUEST_ASSERT_EQ(vmcb->control.int_ctl & SVM_INT_CTL_V_TPR_MASK, 0);
		}
		if (c->exit == SVM_EXIT_VMMCALL)
			GUEST_ASSERT_EQ(guest_nested_l2_rax(&n),
					c->l2_lower_tpr ? 0 : c->tpr);
	}
	GUEST_DONE();
}

KVM_VCPU_TEST(virtual_interrupt_v_irq_prio_tpr_vintr, l1_virq)
{
	TEST_REQUIRE_SVM();
	write_guest_global(vm, qemu_tcg, kvm_cpu_emulator_is("qemu-tcg"));
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	NESTED_RUN_L1(vm, vcpu);
}

/* ---- the interrupt shadow ---- */

asm(".pushsection .text\n"
	"l2_shadow_sti:\n\t"
	"sti\n\t"
	"vmmcall\n\t"
	"ud2\n"
	"l2_shadow_movss:\n\t"
	"mov %ss, %eax\n\t"
	"mov %eax, %ss\n\t"
	"vmmcall\n\t"
	"ud2\n"
	"l2_shadow_none:\n\t"
	"sti\n\t"
	"nop\n\t"
	"vmmcall\n\t"
	"ud2\n"
	".popsection");
void l2_shadow_sti(void);
void l2_shadow_movss(void);
void l2_shadow_none(void);

static const struct {
	const char *name;
	void (*l2)(void);
	bool shadow;
} shadow_cases[] = {
	{ "STI; VMMCALL", l2_shadow_sti, true },
	{ "MOV SS; VMMCALL", l2_shadow_movss, true },
	{ "STI; NOP; VMMCALL", l2_shadow_none, false },
};

static void l1_shadow(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	struct nested n;

	for (unsigned int i = 0; i < ARRAY_SIZE(shadow_cases); i++) {
		guest_nested_init(&n, p, shadow_cases[i].l2);
		guest_nested_run(&n);
		SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);
		__GUEST_ASSERT((vmcb->control.int_state & SVM_INT_STATE_SHADOW) ==
			       shadow_cases[i].shadow,
			       "%s: int_state 0x%x at the exit, expected the interrupt shadow "
			       "bit %d", shadow_cases[i].name, vmcb->control.int_state,
			       shadow_cases[i].shadow);
	}
	GUEST_DONE();
}

SVM_TEST(interrupt_shadow_in_int_state, l1_shadow)

/* ---- GIF and VGIF ---- */

static void l1_gif(struct nested_pages *p)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);	/* CLGI/STGI need it */
	apic_init_handlers(p);
	irq_l1 = nmi_l1 = 0;
	for (int nmi = 0; nmi < 2; nmi++) {
		volatile uint64_t *hits = nmi ? &nmi_l1 : &irq_l1;
		uint64_t before, after;

		sti();
		clgi();
		self_ipi(nmi);
		spin();
		before = *hits;
		asm volatile("stgi\n\tnop" ::: "memory");
		after = *hits;
		cli();
		__GUEST_ASSERT(before == 0 && after == 1,
			       "%s with GIF=0: taken %lu times before STGI, %lu right after; "
			       "expected 0 and 1", nmi ? "NMI" : "interrupt", before, after);
	}
	GUEST_DONE();
}

KVM_TEST(gif_holds_interrupt_and_nmi_until_stgi)
{
	run_with_apic(_metadata, l1_gif);
}

static volatile uint64_t l2_vgif_before;

/* With V_GIF_ENABLE and CLGI/STGI not intercepted: they change V_GIF. */
static void l2_vgif(void)
{
	l2_prefault_delivery(VIRQ_VEC);
	clgi();
	guest_nested_hypercall(1);
	sti();
	spin();
	l2_vgif_before = virq_l2;
	stgi();
	asm volatile("nop" ::: "memory");
	guest_nested_hypercall(2);
}

static void l1_vgif(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	struct nested n;

	if (!(svm_features() & SVM_FEAT_VGIF))
		guest_nested_skip_test("no VGIF: CPUID 0x8000000A EDX bit 16 clear in L1 (KVM "
				       "offers it with kvm_amd vgif=1 on VGIF hardware)");
	install_handlers(p);
	guest_nested_init(&n, p, l2_vgif);
	vmcb->control.int_ctl = SVM_INT_CTL_V_INTR_MASKING | SVM_INT_CTL_V_GIF_ENABLE |
				SVM_INT_CTL_V_GIF;
	virq_l2 = 0;
	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);
	GUEST_ASSERT_EQ(guest_nested_l2_rax(&n), 1);
	__GUEST_ASSERT(!(vmcb->control.int_ctl & SVM_INT_CTL_V_GIF),
		       "L2's CLGI: VMCB12 int_ctl 0x%x, expected V_GIF clear", vmcb->control.int_ctl);

	/* A virtual interrupt for L2, which has V_GIF=0: held until its STGI. */
	vmcb->control.int_ctl |= SVM_INT_CTL_V_IRQ | 2u << SVM_INT_CTL_V_INTR_PRIO_SHIFT;
	vmcb->control.int_vector = VIRQ_VEC;
	guest_nested_skip(&n, 3);
	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);
	GUEST_ASSERT_EQ(guest_nested_l2_rax(&n), 2);
	__GUEST_ASSERT(l2_vgif_before == 0 && virq_l2 == 1,
		       "V_IRQ with V_GIF=0: taken %lu times before L2's STGI, %lu in all; "
		       "expected 0 and 1", l2_vgif_before, virq_l2);
	__GUEST_ASSERT(vmcb->control.int_ctl & SVM_INT_CTL_V_GIF,
		       "L2's STGI: VMCB12 int_ctl 0x%x, expected V_GIF set", vmcb->control.int_ctl);
	GUEST_DONE();
}

SVM_TEST(vgif_l2_clgi_stgi_hold_virtual_interrupt, l1_vgif)

TEST_HARNESS_MAIN
