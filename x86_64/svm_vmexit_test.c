// SPDX-License-Identifier: GPL-2.0-only
/*
 * AMD SVM #VMEXIT, what L1 finds afterwards (AMD APM vol. 2 chapter 15).
 * Every test SKIPs unless KVM offers SVM to its guests (kvm_amd nested=1).
 *
 *  - #VMEXIT (15.6) writes L2's state back to the VMCB's state save area
 *    (CR0, CR2, CR4, EFER, RFLAGS, RIP, RSP, RAX, DR7, ES/DS selectors,
 *    IDTR, CPL) and reloads L1's from the host save area VMRUN filled
 *    (RFLAGS, CR0, CR3, CR4, EFER, ES/DS, IDTR ...): L2 changes each of
 *    them before its VMMCALL (keeping EFER.SVME), and L1 must see L2's
 *    values in the VMCB and its own in the CPU;
 *  - EXITINTINFO (15.7.2): an intercepted exception that occurs while an
 *    event is being delivered exits with that event in EXITINTINFO: its
 *    vector, type and, when it has one, its error code (EXITINTINFO.EV
 *    and the error code word).  Here L2's stack is unmapped, so delivering
 *    #UD (raised by L2) or #GP(0x1234) (injected by L1 through EVENTINJ,
 *    15.20) takes a #PF, which L1 intercepts; L1 then points L2's RSP at
 *    its stack and re-injects the event from EXITINTINFO, and L2's
 *    handler must get it with its error code.
 *
 * Caught bugs: bugs/nested-svm-vmexit-l1-cr4-not-restored.patch,
 * bugs/nested-svm-exit-int-info-no-error-code.patch,
 * bugs/nested-svm-recalc-intercepts-drops-exceptions.patch
 */
#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "nested.h"


struct dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static inline uint16_t get_ds(void)
{
	uint16_t s;

	asm volatile("mov %%ds, %0" : "=r"(s));
	return s;
}

static inline uint16_t get_es(void)
{
	uint16_t s;

	asm volatile("mov %%es, %0" : "=r"(s));
	return s;
}

/* ---- state saved to VMCB12 and L1 state restored ---- */

#define L2_CR2		0xdead5000ULL
#define L2_DR7		0x600ULL	/* bit 10 fixed-1, GE: no breakpoint enabled */
#define L2_RAX		0x1122334455667788ULL

/* Set by L1 before it runs L2. */
static uint64_t l2_new_cr0, l2_new_cr4, l2_new_efer, l2_new_rsp;
static struct dtr l2_new_idtr;

/*
 * L2 changes CR2, CR4 (TSD), CR0 (TS), DR7, EFER (SCE), DS and ES (null),
 * IDTR's limit, RFLAGS.DF, RSP and RAX, then exits with VMMCALL.
 */
static void l2_change_state(void)
{
	asm volatile("mov %0, %%cr2" :: "r"(L2_CR2) : "memory");
	asm volatile("mov %0, %%cr4" :: "r"(l2_new_cr4) : "memory");
	asm volatile("mov %0, %%cr0" :: "r"(l2_new_cr0) : "memory");
	asm volatile("mov %0, %%dr7" :: "r"(L2_DR7) : "memory");
	wrmsr(MSR_EFER, l2_new_efer);
	asm volatile("mov %0, %%ds\n\tmov %0, %%es" :: "r"(0) : "memory");
	asm volatile("lidt %0" :: "m"(l2_new_idtr) : "memory");
	asm volatile("std" ::: "memory");
	asm volatile("mov %[rsp], %%rsp\n\t"
		     "l2_state_vmmcall: vmmcall\n\t"
		     "ud2"
		     :: [rsp] "r"(l2_new_rsp), "a"(L2_RAX) : "memory");
}

extern char l2_state_vmmcall[];

#define CHECK_VMCB(field, expected) do {					\
	uint64_t __got = (field), __exp = (expected);				\
	__GUEST_ASSERT(__got == __exp, "VMCB12 %s after #VMEXIT: 0x%lx, L2 had 0x%lx",	\
		       #field, __got, __exp);					\
} while (0)

#define CHECK_L1(what, got, expected) do {					\
	uint64_t __got = (got), __exp = (expected);				\
	__GUEST_ASSERT(__got == __exp, "L1's %s after #VMEXIT: 0x%lx, expected its own "	\
		       "0x%lx (L2 had 0x%lx)", what, __got, __exp, (uint64_t)(l2_val));	\
} while (0)

static void l1_vmexit_state(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	uint64_t cr0, cr3, cr4, efer, rflags, l2_val;
	struct dtr idtr, idtr_after;
	uint16_t ds, es, cs;
	struct nested n;

	/* guest_nested_init() sets EFER.SVME: L1's state is what it has after. */
	guest_nested_init(&n, p, l2_change_state);
	cr0 = get_cr0();
	cr3 = get_cr3();
	cr4 = get_cr4();
	efer = rdmsr(MSR_EFER);
	rflags = get_rflags();
	ds = get_ds();
	es = get_es();
	asm volatile("sidt %0" : "=m"(idtr));
	asm volatile("mov %%cs, %0" : "=r"(cs));
	l2_new_cr0 = cr0 | X86_CR0_TS;
	l2_new_cr4 = cr4 ^ X86_CR4_TSD;
	l2_new_efer = efer ^ EFER_SCE;
	l2_new_rsp = p->l2_stack_top - 0x40;
	l2_new_idtr.base = idtr.base;
	l2_new_idtr.limit = idtr.limit - 0x10;

	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);

	/* L1's own state is back (15.6), checked before anything else runs. */
	l2_val = l2_new_cr4;
	CHECK_L1("CR4", get_cr4(), cr4);
	l2_val = l2_new_cr0;
	CHECK_L1("CR0", get_cr0(), cr0);
	l2_val = l2_new_efer;
	CHECK_L1("EFER", rdmsr(MSR_EFER), efer);
	l2_val = X86_EFLAGS_DF;
	CHECK_L1("RFLAGS.DF|IF", get_rflags() & (X86_EFLAGS_DF | X86_EFLAGS_IF),
		 rflags & (X86_EFLAGS_DF | X86_EFLAGS_IF));
	l2_val = 0;
	CHECK_L1("DS", get_ds(), ds);
	CHECK_L1("ES", get_es(), es);
	asm volatile("sidt %0" : "=m"(idtr_after));
	l2_val = l2_new_idtr.limit;
	CHECK_L1("IDTR.limit", idtr_after.limit, idtr.limit);
	CHECK_L1("IDTR.base", idtr_after.base, idtr.base);
	CHECK_L1("CR3", get_cr3(), cr3);

	/* And L2's state is in VMCB12 (15.6). */
	CHECK_VMCB(vmcb->save.rip, (uintptr_t)l2_state_vmmcall);
	CHECK_VMCB(vmcb->save.rsp, l2_new_rsp);
	CHECK_VMCB(vmcb->save.rax, L2_RAX);
	CHECK_VMCB(vmcb->save.cr2, L2_CR2);
	CHECK_VMCB(vmcb->save.cr0, l2_new_cr0);
	CHECK_VMCB(vmcb->save.cr3, cr3);
	CHECK_VMCB(vmcb->save.cr4, l2_new_cr4);
	CHECK_VMCB(vmcb->save.efer, l2_new_efer);
	CHECK_VMCB(vmcb->save.dr7, L2_DR7);
	CHECK_VMCB(vmcb->save.rflags & X86_EFLAGS_DF, X86_EFLAGS_DF);
	CHECK_VMCB(vmcb->save.ds.selector, 0);
	CHECK_VMCB(vmcb->save.es.selector, 0);
	CHECK_VMCB(vmcb->save.cs.selector, cs);
	CHECK_VMCB(vmcb->save.idtr.limit, l2_new_idtr.limit);
	CHECK_VMCB(vmcb->save.idtr.base, idtr.base);
	CHECK_VMCB(vmcb->save.cpl, 0);
	GUEST_DONE();
}

SVM_TEST(vmexit_saves_l2_state_and_restores_l1, l1_vmexit_state)


/* ---- EXITINTINFO ---- */

#define BAD_STACK	0x1000ULL	/* page 0 is not mapped: pushes below it fault */
#define EVTINJ_TYPE_MASK	(7u << 8)
#define HANDLED		0x600d0000ULL
#define GP_ERROR	0x1234

static volatile uint64_t l2_vector, l2_error, l2_events;

static void l2_handler(struct ex_regs *regs)
{
	l2_vector = regs->vector;
	l2_error = regs->error_code;
	l2_events++;
	regs->rax = HANDLED | regs->vector;
	if (regs->vector == UD_VECTOR)
		regs->rip += 2;		/* past the UD2 */
}

/* L2's stack is bad, so a #PF that reaches L2 instead of L1 ends as #DF. */
static void l2_df_handler(struct ex_regs *regs)
{
	GUEST_FAIL("#DF in L2 (RIP 0x%lx): a #PF that L1 intercepts was delivered to L2 "
		   "instead of exiting to L1", regs->rip);
}

/* Runs with RSP at BAD_STACK: #UD can't be delivered; after it is, VMMCALL. */
asm(".pushsection .text\n"
	"l2_ud_bad_stack:\n\t"
	"mov $" __stringify(BAD_STACK) ", %rsp\n"
	"l2_ud_insn:\n\t"
	"ud2\n\t"
	"vmmcall\n\t"
	"ud2\n"
	"l2_gp_target:\n\t"
	"vmmcall\n\t"
	"ud2\n"
	".popsection");
extern char l2_ud_insn[];
void l2_ud_bad_stack(void);
void l2_gp_target(void);

/*
 * The exit for L2's #PF while delivering the event in EXITINTINFO; returns
 * after L1 has given L2 a good stack and re-injected the event.
 */
static void expect_pf_during_delivery(struct nested_pages *p, struct nested *n,
				      uint32_t int_info, uint32_t int_err, uint64_t rip)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	uint32_t got = vmcb->control.exit_int_info;

	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_EXCP_BASE + PF_VECTOR);
	/* A supervisor write to a not-present page, just below the bad stack. */
	__GUEST_ASSERT((vmcb->control.exit_info_1 & 7) == 2 &&
		       vmcb->control.exit_info_2 < BAD_STACK &&
		       vmcb->control.exit_info_2 >= BAD_STACK - 0x30,
		       "#PF exit: error code 0x%lx, CR2 0x%lx; expected a not-present write "
		       "(0x2) just below 0x%llx", vmcb->control.exit_info_1,
		       vmcb->control.exit_info_2, BAD_STACK);
	__GUEST_ASSERT(got == int_info, "EXITINTINFO 0x%x (vector %u, type %u, EV %u, V %u), "
		       "expected 0x%x (vector %u, type %u, EV %u, V 1)", got, got & 0xff,
		       (got >> 8) & 7, !!(got & SVM_EVTINJ_VALID_ERR), !!(got & SVM_EVTINJ_VALID),
		       int_info, int_info & 0xff, (int_info >> 8) & 7,
		       !!(int_info & SVM_EVTINJ_VALID_ERR));
	if (int_info & SVM_EVTINJ_VALID_ERR)
		__GUEST_ASSERT(vmcb->control.exit_int_info_err == int_err,
			       "EXITINTINFO error code 0x%x, expected 0x%x",
			       vmcb->control.exit_int_info_err, int_err);
	GUEST_ASSERT_EQ(vmcb->save.rip, rip);

	/* Give L2 a stack and deliver the event again, as a hypervisor would. */
	vmcb->save.rsp = p->l2_stack_top;
	vmcb->control.event_inj = vmcb->control.exit_int_info;
	vmcb->control.event_inj_err = vmcb->control.exit_int_info_err;
	guest_nested_run(n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);
}

static void l1_exit_int_info(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	struct nested n;

	guest_install_handler(UD_VECTOR, l2_handler);
	guest_install_handler(GP_VECTOR, l2_handler);
	guest_install_handler(DF_VECTOR, l2_df_handler);

	/* #UD raised by L2: no error code. */
	guest_nested_init(&n, p, l2_ud_bad_stack);
	vmcb->control.intercept_exceptions |= 1u << PF_VECTOR;
	guest_nested_run(&n);
	expect_pf_during_delivery(p, &n, SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT | UD_VECTOR,
				  0, (uintptr_t)l2_ud_insn);
	__GUEST_ASSERT(l2_events == 1 && l2_vector == UD_VECTOR &&
		       guest_nested_l2_rax(&n) == (HANDLED | UD_VECTOR),
		       "re-injected #UD: L2 saw %lu events, last vector %lu; RAX 0x%lx",
		       l2_events, l2_vector, guest_nested_l2_rax(&n));

	/* #GP(0x1234) injected by L1: EXITINTINFO carries the error code. */
	guest_nested_init(&n, p, l2_gp_target);
	vmcb->control.intercept_exceptions |= 1u << PF_VECTOR;
	vmcb->save.rsp = BAD_STACK;
	vmcb->control.event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT |
				  SVM_EVTINJ_VALID_ERR | GP_VECTOR;
	vmcb->control.event_inj_err = GP_ERROR;
	guest_nested_run(&n);
	expect_pf_during_delivery(p, &n, SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT |
				  SVM_EVTINJ_VALID_ERR | GP_VECTOR, GP_ERROR,
				  (uintptr_t)l2_gp_target);
	__GUEST_ASSERT(l2_events == 2 && l2_vector == GP_VECTOR && l2_error == GP_ERROR &&
		       guest_nested_l2_rax(&n) == (HANDLED | GP_VECTOR),
		       "re-injected #GP: L2 saw %lu events, last vector %lu error 0x%lx "
		       "(expected #GP 0x%x); RAX 0x%lx", l2_events, l2_vector, l2_error,
		       GP_ERROR, guest_nested_l2_rax(&n));
	GUEST_DONE();
}

SVM_TEST(exit_int_info_holds_the_event_being_delivered, l1_exit_int_info)

TEST_HARNESS_MAIN
