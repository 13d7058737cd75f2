// SPDX-License-Identifier: GPL-2.0-only
/*
 * How exceptions combine when the delivery of one raises another (SDM vol.
 * 3A 6.15, interrupt 8 and table 6-5; APM vol. 2 8.2.9):
 *  - a benign first exception: the second one is handled serially;
 *  - contributory (#DE, #TS, #NP, #SS, #GP) during contributory: #DF, error
 *    code 0;
 *  - contributory or #PF during #PF: #DF;
 *  - #PF during a contributory exception: the #PF, serially;
 *  - any of these during #DF: triple fault, which KVM reports as
 *    KVM_EXIT_SHUTDOWN (api.rst).
 * The delivery of the first exception is made to fault in three ways: its
 * IDT gate not present (#NP), its gate beyond the IDT limit (#GP), or the
 * stack not present (#PF, CR2 on the stack page).  #NP and #GP raised by
 * an IDT lookup carry the error code of SDM vol. 3A 6.13: index = vector,
 * IDT bit set, EXT set unless the first event was a software interrupt
 * (INT3).  #PF raised while pushing a frame has W=1 P=0 and the saved RIP
 * and RSP of the instruction that raised the first exception; the saved
 * RIP of #DF is undefined (interrupt 8) and not checked.
 *
 * Each case runs with the first exception raised three ways: by the
 * hardware, by KVM's emulator (force-emulation prefix: KVM queues the
 * exception) and by KVM_SET_VCPU_EVENTS (an injected exception).  Where the
 * combination happens depends on what KVM intercepts: kvm_amd intercepts
 * #UD always, #PF with npt=0 and, once the guest sets EFER.SVME (test
 * delivery_faults_combine_with_gp_intercepted; svm_gp_erratum_intercept),
 * #GP; then the exception that faults is in EXITINTINFO and
 * kvm_multiple_exception() applies table 6-5 itself.  The shadow-MMU lane (TDP=0) makes KVM deliver every #PF case.
 * Where the CPU alone combines the two (the second exception is #NP, or
 * #GP without EFER.SVME), QEMU TCG's deviations are accepted under
 * qemu-tcg only, see tcg_deviation().
 *
 * Upstream ideas: tools/testing/selftests/kvm/x86_64/nested_exceptions_test.c
 * (its non-nested rules) and triple_fault_event_test.c (a pending triple
 * fault through KVM_GET/SET_VCPU_EVENTS with KVM_CAP_X86_TRIPLE_FAULT_EVENT;
 * not its nested half, where L2's triple fault is L1's exit).
 *
 * Caught bugs: bugs/events-pf-contributory-no-double-fault.patch,
 * bugs/events-fault-during-df-no-shutdown.patch
 */
#include "guest/guest.h"
#include "kvm_test_harness.h"

#define COMBO_PORT	0xe0		/* the guest's "inject now" OUT (imm8) */
#define UNMAPPED_PAGE	0x40000000	/* mapped nowhere */
#define BAD_RSP		(UNMAPPED_PAGE + 0x800)
#define IDT_EXT		BIT(0)
#define IDT_IDT		BIT(1)
#define IDT_ERR(v, ext)	((uint32_t)(v) << 3 | IDT_IDT | ((ext) ? IDT_EXT : 0))

enum how { NATIVE, FEP, INJECT, NR_HOW };
static const char *const how_name[NR_HOW] = { "hardware", "emulator (FEP)", "injected" };

enum breakage {
	GATE_NOT_PRESENT,	/* the first vector's gate has P=0 */
	BEYOND_LIMIT,		/* IDT limit covers only .gates gates */
	STACK_NOT_PRESENT,	/* RSP on an unmapped page, #PF on IST1 */
	STACK_AND_DF_STACK,	/* same, #PF and #DF on that stack too */
};

struct combo_case {
	const char *what;
	uint8_t first;
	enum breakage breakage;
	uint8_t gates;
	uint8_t second;			/* what the faulting delivery raises */
	unsigned int hows;		/* BIT(NATIVE) | BIT(FEP) | BIT(INJECT) */
	bool shutdown;
	uint8_t vector;			/* the vector that reaches a handler */
	uint32_t error;
};

#define ALL_HOWS	(BIT(NATIVE) | BIT(FEP) | BIT(INJECT))

static const struct combo_case cases[] = {
	{ "benign #UD, gate not present: #NP serially (EXT=1)", UD_VECTOR,
	  GATE_NOT_PRESENT, 0, NP_VECTOR, ALL_HOWS, false, NP_VECTOR, IDT_ERR(UD_VECTOR, 1) },
	{ "software INT3, gate not present: #NP serially (EXT=0)", BP_VECTOR,
	  GATE_NOT_PRESENT, 0, NP_VECTOR, BIT(NATIVE), false, NP_VECTOR, IDT_ERR(BP_VECTOR, 0) },
	{ "contributory #DE, #NP delivering it: #DF", DE_VECTOR,
	  GATE_NOT_PRESENT, 0, NP_VECTOR, ALL_HOWS, false, DF_VECTOR, 0 },
	{ "contributory #GP, #NP delivering it: #DF", GP_VECTOR,
	  GATE_NOT_PRESENT, 0, NP_VECTOR, ALL_HOWS, false, DF_VECTOR, 0 },
	{ "#PF, #NP delivering it: #DF", PF_VECTOR,
	  GATE_NOT_PRESENT, 0, NP_VECTOR, ALL_HOWS, false, DF_VECTOR, 0 },
	{ "#PF, gate beyond the IDT limit, #GP delivering it: #DF", PF_VECTOR,
	  BEYOND_LIMIT, PF_VECTOR, GP_VECTOR, ALL_HOWS, false, DF_VECTOR, 0 },
	{ "#GP, gate beyond the IDT limit, #GP delivering it: #DF", GP_VECTOR,
	  BEYOND_LIMIT, GP_VECTOR, GP_VECTOR, ALL_HOWS, false, DF_VECTOR, 0 },
	{ "#UD, every gate from 6 beyond the limit: #GP, #DF, triple fault", UD_VECTOR,
	  BEYOND_LIMIT, UD_VECTOR, GP_VECTOR, ALL_HOWS, true, 0, 0 },
	{ "contributory #GP, stack not present: #PF serially", GP_VECTOR,
	  STACK_NOT_PRESENT, 0, PF_VECTOR, ALL_HOWS, false, PF_VECTOR, PFERR_WRITE },
	{ "benign #UD, stack not present: #PF serially", UD_VECTOR,
	  STACK_NOT_PRESENT, 0, PF_VECTOR, ALL_HOWS, false, PF_VECTOR, PFERR_WRITE },
	{ "#PF, stack not present for #PF and #DF: #PF, #DF, triple fault", PF_VECTOR,
	  STACK_AND_DF_STACK, 0, PF_VECTOR, ALL_HOWS, true, 0, 0 },
	{ "#DF, stack not present: triple fault", DF_VECTOR,
	  STACK_AND_DF_STACK, 0, PF_VECTOR, BIT(INJECT), true, 0, 0 },
};

/*
 * probe_run(entry, rsp): switch to rsp (unless 0) and jump to a trigger;
 * the handler resumes at probe_resume on the saved stack.  A trigger that
 * does not fault ends at probe_no_fault.  Each trigger's faulting
 * instruction has a label (after the prefix for the emulated forms: KVM
 * reports the instruction it emulated).
 */
uint64_t probe_saved_rsp, probe_no_fault_seen;

asm(".pushsection .text\n"
    "probe_run:\n"
    "	mov %rsp, probe_saved_rsp\n"
    "	test %rsi, %rsi\n"
    "	jz 1f\n"
    "	mov %rsi, %rsp\n"
    "1:	jmp *%rdi\n"
    "probe_no_fault:\n"
    "	movq $1, probe_no_fault_seen\n"
    "probe_resume:\n"
    "	mov probe_saved_rsp, %rsp\n"
    "	ret\n"
    "trig_ud: ud2\n"
    "	jmp probe_no_fault\n"
    "trig_ud_fep: " KVM_FEP "trig_ud_fep_insn: ud2\n"
    "	jmp probe_no_fault\n"
    "trig_bp: int3\n"
    "	jmp probe_no_fault\n"
    "trig_de: xor %ecx, %ecx; xor %edx, %edx; mov $1, %eax\n"
    "trig_de_insn: divl %ecx\n"
    "	jmp probe_no_fault\n"
    "trig_de_fep: xor %ecx, %ecx; xor %edx, %edx; mov $1, %eax\n" KVM_FEP
    "trig_de_fep_insn: divl %ecx\n"
    "	jmp probe_no_fault\n"
    "trig_gp: mov $0x7ff8, %eax\n"		/* beyond the GDT limit: #GP(0x7ff8) */
    "trig_gp_insn: mov %ax, %ds\n"
    "	jmp probe_no_fault\n"
    "trig_gp_fep: mov $0x7ff8, %eax\n" KVM_FEP
    "trig_gp_fep_insn: mov %ax, %ds\n"
    "	jmp probe_no_fault\n"
    "trig_pf: mov $" __stringify(UNMAPPED_PAGE) " + 0x10, %edx\n"
    "trig_pf_insn: mov (%rdx), %rax\n"
    "	jmp probe_no_fault\n"
    "trig_pf_fep: mov $" __stringify(UNMAPPED_PAGE) " + 0x10, %edx\n" KVM_FEP
    "trig_pf_fep_insn: mov (%rdx), %rax\n"
    "	jmp probe_no_fault\n"
    "trig_inject: out %al, $" __stringify(COMBO_PORT) "\n"
    "trig_inject_after: jmp probe_no_fault\n"
    ".popsection");
extern char probe_resume[], trig_ud[], trig_ud_fep[], trig_ud_fep_insn[], trig_bp[], trig_de[], trig_de_insn[],
	trig_de_fep[], trig_de_fep_insn[], trig_gp[], trig_gp_insn[], trig_gp_fep[],
	trig_gp_fep_insn[], trig_pf[], trig_pf_insn[], trig_pf_fep[], trig_pf_fep_insn[],
	trig_inject[], trig_inject_after[];

struct trigger {
	uint8_t vector;
	enum how how;
	char *entry, *insn;
};

static const struct trigger triggers[] = {
	{ UD_VECTOR, NATIVE, trig_ud, trig_ud },
	{ UD_VECTOR, FEP, trig_ud_fep, trig_ud_fep_insn },
	{ BP_VECTOR, NATIVE, trig_bp, trig_bp },
	{ DE_VECTOR, NATIVE, trig_de, trig_de_insn },
	{ DE_VECTOR, FEP, trig_de_fep, trig_de_fep_insn },
	{ GP_VECTOR, NATIVE, trig_gp, trig_gp_insn },
	{ GP_VECTOR, FEP, trig_gp_fep, trig_gp_fep_insn },
	{ PF_VECTOR, NATIVE, trig_pf, trig_pf_insn },
	{ PF_VECTOR, FEP, trig_pf_fep, trig_pf_fep_insn },
};

static const struct trigger *find_trigger(uint8_t vector, enum how how)
{
	static const struct trigger inject = { 0, INJECT, trig_inject, trig_inject_after };

	if (how == INJECT)
		return &inject;
	for (unsigned int i = 0; i < ARRAY_SIZE(triggers); i++)
		if (triggers[i].vector == vector && triggers[i].how == how)
			return &triggers[i];
	return NULL;
}

/* ---- guest ---- */

struct idtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

#define GATE_PRESENT	BIT_ULL(47)
#define GATE_IST_SHIFT	32
#define GATE_IST_MASK	(7ull << GATE_IST_SHIFT)

static struct idtr saved_idtr;
static uint64_t saved_gates[2 * 32];
static volatile uint64_t seen_count, seen_vector, seen_error, seen_rip, seen_rsp, seen_cr2;

static uint64_t *idt_gates(void)
{
	return (uint64_t *)(uintptr_t)saved_idtr.base;
}

static void guest_restore_idt(void)
{
	memcpy(idt_gates(), saved_gates, sizeof(saved_gates));
	asm volatile("lidt %0" :: "m"(saved_idtr) : "memory");
}

static void guest_record(struct ex_regs *regs)
{
	guest_restore_idt();
	seen_count++;
	seen_vector = regs->vector;
	seen_error = regs->error_code;
	seen_rip = regs->rip;
	seen_rsp = regs->rsp;
	seen_cr2 = regs->vector == PF_VECTOR ? get_cr2() : 0;
	regs->rip = (uint64_t)(uintptr_t)probe_resume;
	regs->rsp = probe_saved_rsp;
}

static void guest_break_delivery(const struct combo_case *c)
{
	uint64_t *gates = idt_gates();
	struct idtr short_idtr = saved_idtr;

	switch (c->breakage) {
	case GATE_NOT_PRESENT:
		gates[2 * c->first] &= ~GATE_PRESENT;
		break;
	case BEYOND_LIMIT:
		short_idtr.limit = c->gates * 16 - 1;
		asm volatile("lidt %0" :: "m"(short_idtr) : "memory");
		break;
	case STACK_NOT_PRESENT:
		/* #PF on the #DF stack (IST1), the only good one. */
		gates[2 * PF_VECTOR] &= ~GATE_IST_MASK;
		gates[2 * PF_VECTOR] |= gates[2 * DF_VECTOR] & GATE_IST_MASK;
		break;
	case STACK_AND_DF_STACK:
		gates[2 * PF_VECTOR] &= ~GATE_IST_MASK;
		gates[2 * DF_VECTOR] &= ~GATE_IST_MASK;
		break;
	}
}

static void guest_combo(uint64_t idx, uint64_t how, uint64_t svme)
{
	const struct combo_case *c = &cases[idx];
	const struct trigger *t = find_trigger(c->first, how);
	bool bad_stack = c->breakage == STACK_NOT_PRESENT || c->breakage == STACK_AND_DF_STACK;

	/* On AMD, EFER.SVME makes kvm_amd intercept #GP (the SVM erratum). */
	if (svme)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	asm volatile("sidt %0" : "=m"(saved_idtr));
	memcpy(saved_gates, idt_gates(), sizeof(saved_gates));
	for (unsigned int v = 0; v < 32; v++)
		if (v != NMI_VECTOR && v != MC_VECTOR)
			guest_install_handler(v, guest_record);

	guest_break_delivery(c);
	asm volatile("call probe_run"
		     :: "D"(t->entry), "S"(bad_stack ? BAD_RSP : 0)
		     : "rax", "rcx", "rdx", "memory", "cc");
	guest_restore_idt();
	GUEST_SYNC(seen_count, seen_vector, seen_error, seen_rip, seen_rsp, seen_cr2);
	GUEST_ASSERT_EQ(probe_no_fault_seen, 0);
}

/* ---- host ---- */

/*
 * QEMU TCG, the host CPU of the QEMU lane, deviates where it delivers an
 * event itself (target/i386/tcg/seg_helper.c, do_interrupt64()): a fault in
 * the IDT lookup has error code vector * 16 + 2 (the gate's byte offset, no
 * EXT bit), it is delivered serially even during a contributory exception
 * or #PF (no #DF), and after INT3 its saved RIP is past the INT3.  Those
 * results are accepted under qemu-tcg only where the second exception
 * never reaches KVM: #NP (never intercepted) and #GP while kvm_amd does not
 * intercept it (EFER.SVME clear).  KVM delivers nothing through its
 * emulator in 64-bit mode, so this is the CPU's part of the case; every
 * combination that KVM makes (#PF and, with EFER.SVME, #GP) stays strict.
 */
static bool tcg_deviation(const struct combo_case *c, bool svme, uint64_t vector,
			  uint64_t error)
{
	if (!kvm_cpu_emulator_is("qemu-tcg"))
		return false;
	if (c->second != NP_VECTOR && (c->second != GP_VECTOR || svme))
		return false;
	return vector == c->second && error == ((uint64_t)c->first << 4 | IDT_IDT);
}

static void run_case(struct __test_metadata *_metadata, const struct combo_case *c,
		     enum how how, bool svme)
{
	const struct trigger *t = find_trigger(c->first, how);
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	bool tcg = false;

	vm = vm_create_with_one_vcpu(&vcpu, guest_combo);
	vcpu_args_set(vcpu, 3, (uint64_t)(c - cases), (uint64_t)how, (uint64_t)svme);
	/*
	 * A KVM that loops re-delivering instead of combining makes no exit:
	 * the watchdog reports it (x20 under TCG) before the harness's timeout.
	 */
	vcpu->timeout_ms = 500;
	if (c->shutdown)	/* names the case if the watchdog fires */
		TH_LOG("%s, %s: expecting KVM_EXIT_SHUTDOWN", c->what, how_name[how]);

	vcpu_run(vcpu);
	if (how == INJECT) {
		struct kvm_vcpu_events ev;

		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		ASSERT_EQ(vcpu->run->io.port, COMBO_PORT);
		vcpu_complete_io(vcpu);
		vcpu_events_get(vcpu, &ev);
		ev.exception.injected = 1;
		ev.exception.nr = c->first;
		ev.exception.has_error_code = !!(X86_ERROR_CODE_VECTORS & BIT(c->first));
		ev.exception.error_code = 0;
		vcpu_events_set(vcpu, &ev);
		vcpu_run(vcpu);
	}

	if (c->shutdown) {
		EXPECT_EQ(vcpu->run->exit_reason, KVM_EXIT_SHUTDOWN)
			TH_LOG("%s, %s: exit %s, not a triple fault's KVM_EXIT_SHUTDOWN",
			       c->what, how_name[how], exit_reason_str(vcpu->run->exit_reason));
		kvm_vm_free(vm);
		return;
	}
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		break;
	case UCALL_ABORT:
		TH_LOG("%s, %s:", c->what, how_name[how]);
		report_guest_abort(vcpu, &uc);
	default:
		TH_LOG("%s, %s: no report from the guest", c->what, how_name[how]);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, VCPU_EXIT_UCALL);
		ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
	}
	EXPECT_EQ(uc.args[0], 1) TH_LOG("%s, %s: %lu handlers ran", c->what, how_name[how],
					(unsigned long)uc.args[0]);
	if (tcg_deviation(c, svme, uc.args[1], uc.args[2])) {
		TH_LOG("%s, %s: vector %lu error code %#lx from QEMU TCG's own delivery, "
		       "not the SDM's vector %u error code %#x; accepted under qemu-tcg",
		       c->what, how_name[how], (unsigned long)uc.args[1],
		       (unsigned long)uc.args[2], c->vector, c->error);
		tcg = true;
	}
	if (!tcg) {
		EXPECT_EQ(uc.args[1], c->vector) TH_LOG("%s, %s: vector", c->what, how_name[how]);
		EXPECT_EQ(uc.args[2], c->error) TH_LOG("%s, %s: error code %#lx", c->what,
						       how_name[how], (unsigned long)uc.args[2]);
	}
	if (c->vector != DF_VECTOR && !(tcg && how == NATIVE && c->first == BP_VECTOR &&
					uc.args[3] == (uint64_t)(uintptr_t)t->insn + 1)) {
		/* A fault in delivery: saved RIP of the first exception's source. */
		EXPECT_EQ(uc.args[3], (uint64_t)(uintptr_t)t->insn)
			TH_LOG("%s, %s: saved RIP %#lx, expected %p", c->what, how_name[how],
			       (unsigned long)uc.args[3], t->insn);
	}
	if (c->vector == PF_VECTOR) {
		/* The frame of the first exception is pushed below BAD_RSP. */
		EXPECT_EQ(uc.args[4], BAD_RSP) TH_LOG("%s, %s: saved RSP", c->what, how_name[how]);
		EXPECT_TRUE(uc.args[5] < BAD_RSP && uc.args[5] >= BAD_RSP - 6 * 8)
			TH_LOG("%s, %s: CR2 %#lx, not in the frame below %#x", c->what,
			       how_name[how], (unsigned long)uc.args[5], BAD_RSP);
	}
	vcpu_run_expect_done(vcpu);
	kvm_vm_free(vm);
}

static void run_all(struct __test_metadata *_metadata, bool svme)
{
	bool fep = kvm_fep_enabled();

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		for (enum how how = NATIVE; how < NR_HOW; how++) {
			if (!(cases[i].hows & BIT(how)) || (how == FEP && !fep))
				continue;
			TEST_ASSERT(find_trigger(cases[i].first, how), "no trigger for case %u", i);
			run_case(_metadata, &cases[i], how, svme);
		}
	}
	if (!fep)
		TH_LOG("kvm.force_emulation_prefix is off: the emulator's cases did not run");
}

KVM_TEST_TIMEOUT(delivery_faults_combine_per_table_6_5, 300)
{
	TEST_REQUIRE_CAP(KVM_CAP_VCPU_EVENTS);
	run_all(_metadata, false);
}

/*
 * The same with EFER.SVME set: on kvm_amd every #GP then exits to KVM,
 * which combines #GP with the exception in EXITINTINFO itself (and with
 * npt=0 also every #PF).
 */
KVM_TEST_TIMEOUT(delivery_faults_combine_with_gp_intercepted, 300)
{
	TEST_REQUIRE_CAP(KVM_CAP_VCPU_EVENTS);
	TEST_REQUIRE_FEATURE(X86_FEATURE_SVM);
	run_all(_metadata, true);
}

/*
 * A pending triple fault as vCPU state (api.rst KVM_GET/SET_VCPU_EVENTS,
 * KVM_VCPUEVENT_VALID_TRIPLE_FAULT): only with KVM_CAP_X86_TRIPLE_FAULT_EVENT
 * enabled is the flag reported and accepted; what is set reads back, a
 * cleared one is gone, and a pending one is a shutdown at the next KVM_RUN.
 */
static void guest_two_syncs(void)
{
	GUEST_SYNC(0);
	GUEST_SYNC(1);
	GUEST_FAIL("ran on after a pending triple fault");
}

KVM_VCPU_TEST(triple_fault_event_round_trip, guest_two_syncs)
{
	struct kvm_vcpu_events ev;

	TEST_REQUIRE_CAP(KVM_CAP_X86_TRIPLE_FAULT_EVENT);
	vcpu_run_expect_sync(vcpu, 0);
	vcpu_complete_io(vcpu);

	vcpu_events_get(vcpu, &ev);
	EXPECT_EQ(ev.flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT, 0);
	ev.flags = KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	ev.triple_fault.pending = 1;
	errno = 0;
	EXPECT_EQ(__vcpu_events_set(vcpu, &ev), -1) TH_LOG("triple fault without the cap");
	EXPECT_EQ(errno, EINVAL);

	vm_enable_cap(vm, KVM_CAP_X86_TRIPLE_FAULT_EVENT, 1);
	vcpu_events_get(vcpu, &ev);
	EXPECT_NE(ev.flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT, 0);
	EXPECT_EQ(ev.triple_fault.pending, 0);

	ev.flags = KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	ev.triple_fault.pending = 1;
	vcpu_events_set(vcpu, &ev);
	memset(&ev, 0, sizeof(ev));
	vcpu_events_get(vcpu, &ev);
	EXPECT_EQ(ev.triple_fault.pending, 1);

	ev.flags = KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	ev.triple_fault.pending = 0;
	vcpu_events_set(vcpu, &ev);
	vcpu_events_get(vcpu, &ev);
	EXPECT_EQ(ev.triple_fault.pending, 0);
	vcpu_run_expect_sync(vcpu, 1);		/* cleared: no shutdown */

	vcpu_complete_io(vcpu);
	ev.flags = KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	ev.triple_fault.pending = 1;
	vcpu_events_set(vcpu, &ev);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_SHUTDOWN);
}

TEST_HARNESS_MAIN
