// SPDX-License-Identifier: GPL-2.0-only
/*
 * Nested SVM state saved and restored at every stage of an L1 hypervisor's
 * life (the idea of upstream's x86_64/state_test.c, here with a whole vCPU
 * and every stage a VMM can meet): at each exit to the host, the whole
 * vCPU - KVM_GET_REGS, _SREGS, _XSAVE, _XCRS, _VCPU_EVENTS, _DEBUGREGS,
 * _MP_STATE, _LAPIC, the MSRs of KVM_GET_MSR_INDEX_LIST and
 * KVM_GET_NESTED_STATE (include/nested.h, after completing a pending
 * PIO/MMIO as api.rst's kvm_run note on KVM_EXIT_IO/KVM_EXIT_MMIO asks) -
 * is loaded into a new VM with a copy of the memory (or back onto the same
 * vCPU), and the guest carries on there.  The new vCPU's KVM_GET_* ioctls
 * must return what was saved (for KVM_GET_NESTED_STATE: the header, VMCB12's
 * control area and the L1 state VMRUN saved), and the guest must see
 * nothing of the move.  The stages, in order (AMD APM vol. 2):
 *
 *  1. L1 before any VMRUN, with EFER.SVME and VM_HSAVE_PA set (15.4,
 *     15.30.4): not in guest mode, GIF set; both survive;
 *  2. L2 at an OUT L1 does not intercept (15.10.1: the IOPM bit is clear,
 *     so the exit is the host's), with a pattern in every GPR: they are
 *     what KVM_GET_REGS saves and what L2 reads after the move; L2's TSC
 *     carries VMCB12's TSC_OFFSET (table B-1, 0x50) on both sides;
 *  3. L2 reading MMIO (no memslot): the host's data lands in L2's register
 *     and the read is not repeated;
 *  4. L2's #UD, which L1 intercepts (15.12): it reaches L1 after the moves
 *     while L2 ran, and L1, stopped by the host right after that #VMEXIT,
 *     sees the exit in VMCB12 after the move;
 *  5. VMRUN with an event in EVENTINJ (15.20), the vCPU stopped by the
 *     host right after KVM emulated the VMRUN and before L2 ran (single
 *     step over the VMRUN: KVM_STATE_NESTED_RUN_PENDING): the event is
 *     delivered to L2 once, in the new VM;
 *  6. back in L1 after #VMEXIT, before STGI: #VMEXIT clears GIF (15.17),
 *     and with GIF clear an interrupt made pending by L1 (a self-IPI) must
 *     not be taken until STGI, in the new VM too (GIF clear in the saved
 *     flags).
 *
 * Each runs with L1's nested paging (15.25, NPT) on and off, into a new VM
 * and onto the same vCPU.  KVM_SET_NESTED_STATE's refusals of bad input
 * are svm_nested_state_test's.
 *
 * Caught bugs: bugs/nested-svm-set-nested-state-gif-not-restored.patch,
 *              bugs/nested-svm-set-nested-state-tsc-offset-dropped.patch,
 *              bugs/nested-svm-set-nested-state-event-inj-dropped.patch
 */
#include "guest/apic.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "kvm_test_harness.h"
#include "nested.h"
#include "x86/apic.h"

#define STAGE_L1_READY		0x51
#define STAGE_L1_AFTER_UD	0x54
#define STAGE_PRE_INJECT	0x55
#define PORT_L2_GPRS		0x99
#define PORT_GIF		0x9a
#define MMIO_GPA		0xc0000000ULL	/* no memslot: reads exit to userspace */
#define MMIO_DATA		0x0123456789abcdefULL
#define L2_TSC_OFFSET		(1ULL << 44)
#define GIF_VECTOR		0xe5
#define INJ_EVENT		(SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT | DE_VECTOR)
#define L2_DONE			0x600d
#define MAX_STEPS		2000

/* The value L2 puts in GPR i (struct kvm_regs order; RSP, i == 6, keeps its own). */
#define GPR_PAT(i)	(0xa5a5000000000000ULL | (uint64_t)(i) << 40 | 0xc0ffee00ULL | (i))

/* ---- guest ---- */

uint64_t svm_state_l2_gprs[16];		/* what L2's GPRs held after its OUT */
uint64_t svm_state_gif_irqs;		/* interrupts taken at GIF_VECTOR */
static volatile uint64_t inj_count, inj_vector, inj_rip;
extern char svm_state_l2_ud[], svm_state_l2_vmmcall[];

/* L2 of stage 6: back to L1 at once, registers untouched. */
asm(".pushsection .text\n"
    "svm_state_l2_vmmcall:\n\t"
    "vmmcall\n\t"
    "ud2\n"
    ".popsection");

static void guest_gif_irq(struct ex_regs *regs)
{
	svm_state_gif_irqs++;
	xapic_write(APIC_EOI, 0);
}

static void guest_injected_de(struct ex_regs *regs)
{
	inj_count++;
	inj_vector = regs->vector;
	inj_rip = regs->rip;
}

/* Every GPR but RSP loaded with GPR_PAT(), an OUT, then all stored as they are. */
static void __attribute__((noinline)) l2_gprs_at_out(void)
{
	asm volatile("push %%rbp\n\tpush %%rbx\n\tpush %%r12\n\t"
		     "push %%r13\n\tpush %%r14\n\tpush %%r15\n\t"
		     "movabs %[v0], %%rax\n\tmovabs %[v1], %%rbx\n\t"
		     "movabs %[v2], %%rcx\n\tmovabs %[v3], %%rdx\n\t"
		     "movabs %[v4], %%rsi\n\tmovabs %[v5], %%rdi\n\t"
		     "movabs %[v7], %%rbp\n\tmovabs %[v8], %%r8\n\t"
		     "movabs %[v9], %%r9\n\tmovabs %[v10], %%r10\n\t"
		     "movabs %[v11], %%r11\n\tmovabs %[v12], %%r12\n\t"
		     "movabs %[v13], %%r13\n\tmovabs %[v14], %%r14\n\t"
		     "movabs %[v15], %%r15\n\t"
		     "outb %%al, %[port]\n\t"
		     "mov %%rax, svm_state_l2_gprs+0(%%rip)\n\t"
		     "mov %%rbx, svm_state_l2_gprs+8(%%rip)\n\t"
		     "mov %%rcx, svm_state_l2_gprs+16(%%rip)\n\t"
		     "mov %%rdx, svm_state_l2_gprs+24(%%rip)\n\t"
		     "mov %%rsi, svm_state_l2_gprs+32(%%rip)\n\t"
		     "mov %%rdi, svm_state_l2_gprs+40(%%rip)\n\t"
		     "mov %%rbp, svm_state_l2_gprs+56(%%rip)\n\t"
		     "mov %%r8, svm_state_l2_gprs+64(%%rip)\n\t"
		     "mov %%r9, svm_state_l2_gprs+72(%%rip)\n\t"
		     "mov %%r10, svm_state_l2_gprs+80(%%rip)\n\t"
		     "mov %%r11, svm_state_l2_gprs+88(%%rip)\n\t"
		     "mov %%r12, svm_state_l2_gprs+96(%%rip)\n\t"
		     "mov %%r13, svm_state_l2_gprs+104(%%rip)\n\t"
		     "mov %%r14, svm_state_l2_gprs+112(%%rip)\n\t"
		     "mov %%r15, svm_state_l2_gprs+120(%%rip)\n\t"
		     "pop %%r15\n\tpop %%r14\n\tpop %%r13\n\t"
		     "pop %%r12\n\tpop %%rbx\n\tpop %%rbp"
		     :: [v0] "i"(GPR_PAT(0)), [v1] "i"(GPR_PAT(1)), [v2] "i"(GPR_PAT(2)),
			[v3] "i"(GPR_PAT(3)), [v4] "i"(GPR_PAT(4)), [v5] "i"(GPR_PAT(5)),
			[v7] "i"(GPR_PAT(7)), [v8] "i"(GPR_PAT(8)), [v9] "i"(GPR_PAT(9)),
			[v10] "i"(GPR_PAT(10)), [v11] "i"(GPR_PAT(11)), [v12] "i"(GPR_PAT(12)),
			[v13] "i"(GPR_PAT(13)), [v14] "i"(GPR_PAT(14)), [v15] "i"(GPR_PAT(15)),
			[port] "i"(PORT_L2_GPRS)
		     : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
}

/* Stages 2-4 in L2; l1_tsc is L1's TSC just before its VMRUN. */
static uint64_t l1_tsc;

static void l2_main(void)
{
	uint64_t t0, t1, mmio;

	t0 = rdtsc();
	l2_gprs_at_out();
	for (int i = 0; i < 16; i++) {
		if (i == 6)
			continue;
		__GUEST_ASSERT(svm_state_l2_gprs[i] == GPR_PAT(i),
			       "L2 GPR %d after its OUT and the move: 0x%lx, loaded 0x%llx", i,
			       svm_state_l2_gprs[i], GPR_PAT(i));
	}
	mmio = *(volatile uint64_t *)MMIO_GPA;
	GUEST_ASSERT_EQ(mmio, MMIO_DATA);
	t1 = rdtsc();
	/* L2's TSC is L1's plus VMCB12's TSC_OFFSET, before and after the moves. */
	__GUEST_ASSERT(t0 - l1_tsc >= L2_TSC_OFFSET && t1 >= t0 && t1 - t0 < L2_TSC_OFFSET / 2,
		       "L2 TSC 0x%lx then 0x%lx after the moves; L1's was 0x%lx, offset 0x%llx",
		       t0, t1, l1_tsc, L2_TSC_OFFSET);
	asm volatile("svm_state_l2_ud: ud2");
	guest_nested_hypercall(L2_DONE);
}

static void l2_injected(void)
{
	guest_nested_hypercall(inj_count);
}

static void l1_stages(struct nested_pages *p, uint64_t npt)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	uint64_t before, after, gpa;
	struct nested n;
	enum nested_exit e;

	if (npt && guest_nested_tdp_unsupported())
		guest_nested_skip_test(guest_nested_tdp_unsupported());
	guest_nested_init(&n, p, l2_main);
	if (npt)
		guest_nested_tdp_enable(&n);
	vmcb->control.intercept_exceptions |= 1u << UD_VECTOR;
	vmcb->control.tsc_offset = L2_TSC_OFFSET;

	/* 1. SVME and VM_HSAVE_PA set, no VMRUN yet. */
	GUEST_SYNC(STAGE_L1_READY);
	GUEST_ASSERT(rdmsr(MSR_EFER) & EFER_SVME);
	GUEST_ASSERT_EQ(rdmsr(MSR_VM_HSAVE_PA), p->svm.hsave);

	/* 2-4. L2 runs to its #UD, which L1 intercepts. */
	l1_tsc = rdtsc();
	e = guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_EXCP_BASE + UD_VECTOR);
	GUEST_ASSERT_EQ(vmcb->save.rip, (uintptr_t)svm_state_l2_ud);
	GUEST_SYNC(STAGE_L1_AFTER_UD);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_EXCP_BASE + UD_VECTOR);
	GUEST_ASSERT_EQ(vmcb->save.rip, (uintptr_t)svm_state_l2_ud);
	vmcb->save.rip += 2;
	e = guest_nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_HYPERCALL && guest_nested_l2_rax(&n) == L2_DONE,
		       "exit %s (raw 0x%lx) rax 0x%lx, expected L2's hypercall 0x%x",
		       guest_nested_exit_name(e), n.raw_exit, guest_nested_l2_rax(&n), L2_DONE);

	/* 5. An event in EVENTINJ; the host stops the vCPU right after VMRUN. */
	vmcb->save.rip = (uintptr_t)l2_injected;
	vmcb->save.rsp = p->l2_stack_top;
	vmcb->control.event_inj = INJ_EVENT;
	GUEST_SYNC(STAGE_PRE_INJECT);
	e = guest_nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_HYPERCALL, "exit %s (raw 0x%lx), expected a hypercall",
		       guest_nested_exit_name(e), n.raw_exit);
	__GUEST_ASSERT(inj_count == 1 && inj_vector == DE_VECTOR &&
		       inj_rip == (uintptr_t)l2_injected,
		       "EVENTINJ 0x%x: L2 took %lu events, vector %lu at 0x%lx; expected one #DE "
		       "at %p", INJ_EVENT, inj_count, inj_vector, inj_rip, l2_injected);

	/* 6. #VMEXIT clears GIF: a self-IPI waits for STGI, across the move. */
	vmcb->save.rip = (uintptr_t)svm_state_l2_vmmcall;
	vmcb->save.rsp = p->l2_stack_top;
	vmcb->control.event_inj = 0;
	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	gpa = p->svm.vmcb;
	asm volatile("sti\n\tclgi\n\tvmrun %%rax" : "+a"(gpa) :: "memory");
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);
	xapic_write(APIC_ICR_HI, 0);
	xapic_write(APIC_ICR_LO, GIF_VECTOR | APIC_DEST_SELF);
	asm volatile("outb %%al, %[port]\n\t"
		     "nop\n\tnop\n\t"
		     "mov svm_state_gif_irqs(%%rip), %[before]\n\t"
		     "stgi\n\t"
		     "nop\n\tnop\n\t"
		     "cli\n\t"
		     "mov svm_state_gif_irqs(%%rip), %[after]"
		     : [before] "=&r"(before), [after] "=r"(after)
		     : [port] "i"(PORT_GIF), "a"(0) : "memory");
	__GUEST_ASSERT(before == 0, "interrupt 0x%x taken with GIF clear (%lu times before STGI)",
		       GIF_VECTOR, before);
	__GUEST_ASSERT(after == 1, "interrupt 0x%x taken %lu times after STGI, expected once",
		       GIF_VECTOR, after);
	GUEST_DONE();
}

/* ---- host ---- */

static struct kvm_vm *stages_vm(struct kvm_vcpu **vcpu)
{
	struct kvm_vm *vm = vm_create_opts(&(struct vm_opts){ .irqchip = true });

	*vcpu = vm_vcpu_add(vm, 0, l1_stages);
	virt_map_mmio(vm, APIC_DEFAULT_GPA, PAGE_SIZE);
	virt_map_mmio(vm, MMIO_GPA, PAGE_SIZE);
	vm_install_exception_handler(vm, GIF_VECTOR, guest_gif_irq);
	vm_install_exception_handler(vm, DE_VECTOR, guest_injected_de);
	return vm;
}

/* Run to the next exit that is not a guest PRINTF; guest aborts fail the test here. */
static uint32_t run_to_exit(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	for (;;) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason != KVM_EXIT_IO || vcpu->run->io.port != UCALL_PIO_PORT)
			return UCALL_NONE;
		switch (get_ucall(vcpu, uc)) {
		case UCALL_ABORT:
			report_guest_abort(vcpu, uc);
		case UCALL_PRINTF:
			printf("# guest: %s\n", uc->buffer);
			continue;
		default:
			return uc->cmd;
		}
	}
}

static uint32_t lapic_reg(const struct kvm_lapic_state *l, unsigned int off)
{
	uint32_t v;

	memcpy(&v, l->regs + off, sizeof(v));
	return v;
}

/* MSRs that count time by themselves between KVM_SET_MSRS and KVM_GET_MSRS. */
static bool msr_is_volatile(uint32_t index)
{
	return index == MSR_IA32_TSC || index == HV_X64_MSR_VP_RUNTIME ||
	       index == HV_X64_MSR_TIME_REF_COUNT;
}

static const char *nested_flags_str(uint32_t f, char *buf, size_t len)
{
	snprintf(buf, len, "%#x (%s%s%s)", f, f & KVM_STATE_NESTED_GUEST_MODE ? "guest-mode " : "",
		 f & KVM_STATE_NESTED_RUN_PENDING ? "run-pending " : "",
		 f & KVM_STATE_NESTED_GIF_SET ? "GIF" : "no-GIF");
	return buf;
}

/*
 * KVM_GET_NESTED_STATE after the load: the header, VMCB12's control area
 * and the L1 state VMRUN saved (what KVM keeps of it: svm_copy_vmrun_state)
 * are what was saved.
 */
static void nested_expect_equal(struct __test_metadata *_metadata,
				const struct kvm_nested_state *now,
				const struct kvm_nested_state *was, const char *where)
{
	const struct vmcb *a = (const struct vmcb *)now->data.svm[0].vmcb12;
	const struct vmcb *b = (const struct vmcb *)was->data.svm[0].vmcb12;
	const uint8_t *ca = (const uint8_t *)&a->control, *cb = (const uint8_t *)&b->control;
	char f1[64], f2[64];
	unsigned int i = 0;

	EXPECT_EQ(now->flags, was->flags)
		TH_LOG("%s: KVM_GET_NESTED_STATE flags %s, saved %s", where,
		       nested_flags_str(now->flags, f1, sizeof(f1)),
		       nested_flags_str(was->flags, f2, sizeof(f2)));
	EXPECT_EQ(now->size, was->size) TH_LOG("%s: KVM_GET_NESTED_STATE size", where);
	EXPECT_EQ(now->format, was->format) TH_LOG("%s: KVM_GET_NESTED_STATE format", where);
	if (!(was->flags & KVM_STATE_NESTED_GUEST_MODE))
		return;
	EXPECT_EQ(now->hdr.svm.vmcb_pa, was->hdr.svm.vmcb_pa) TH_LOG("%s: vmcb_pa", where);
	while (i < sizeof(a->control) && ca[i] == cb[i])
		i++;
	EXPECT_EQ(i, sizeof(a->control))
		TH_LOG("%s: VMCB12 control byte %#x: %#x, saved %#x (tsc_offset %#lx/%#lx, "
		       "int_ctl %#x/%#x, event_inj %#x/%#x, exceptions %#x/%#x; new/saved)", where,
		       i, ca[i], cb[i], a->control.tsc_offset, b->control.tsc_offset,
		       a->control.int_ctl, b->control.int_ctl, a->control.event_inj,
		       b->control.event_inj, a->control.intercept_exceptions,
		       b->control.intercept_exceptions);
#define EXPECT_SAVE_EQ(f)							\
	EXPECT_EQ(a->save.f, b->save.f) TH_LOG("%s: saved L1 " #f ": %#lx, saved %#lx",	\
					       where, (uint64_t)a->save.f, (uint64_t)b->save.f)
	EXPECT_SAVE_EQ(cr0);
	EXPECT_SAVE_EQ(cr3);
	EXPECT_SAVE_EQ(cr4);
	EXPECT_SAVE_EQ(efer);
	EXPECT_SAVE_EQ(rflags);
	EXPECT_SAVE_EQ(rip);
	EXPECT_SAVE_EQ(rsp);
	EXPECT_SAVE_EQ(rax);
	EXPECT_SAVE_EQ(cs.selector);
	EXPECT_SAVE_EQ(cs.base);
	EXPECT_SAVE_EQ(ss.selector);
	EXPECT_SAVE_EQ(gdtr.base);
	EXPECT_SAVE_EQ(idtr.base);
#undef EXPECT_SAVE_EQ
}

/* What the loaded vCPU's KVM_GET_* ioctls return is what was saved. */
static void state_expect_equal(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
			       const struct vcpu_saved *s, const char *where)
{
	struct vcpu_saved *now = nested_vcpu_state_save(vcpu);
	int i = 0;

	EXPECT_EQ(memcmp(&now->regs, &s->regs, sizeof(now->regs)), 0)
		TH_LOG("%s: KVM_GET_REGS: RIP %#llx, saved %#llx; RFLAGS %#llx, saved %#llx",
		       where, now->regs.rip, s->regs.rip, now->regs.rflags, s->regs.rflags);
	EXPECT_EQ(memcmp(&now->sregs, &s->sregs, sizeof(now->sregs)), 0)
		TH_LOG("%s: KVM_GET_SREGS: CR0 %#llx/%#llx CR3 %#llx/%#llx CR4 %#llx/%#llx "
		       "EFER %#llx/%#llx (new/saved)", where, now->sregs.cr0, s->sregs.cr0,
		       now->sregs.cr3, s->sregs.cr3, now->sregs.cr4, s->sregs.cr4,
		       now->sregs.efer, s->sregs.efer);
	if (s->xsave) {
		const uint8_t *x = (const uint8_t *)now->xsave, *y = (const uint8_t *)s->xsave;

		while (i < s->xsave_size && x[i] == y[i])
			i++;
		EXPECT_EQ(i, s->xsave_size)
			TH_LOG("%s: KVM_GET_XSAVE byte %d: %#x, saved %#x", where, i, x[i], y[i]);
	} else {
		EXPECT_EQ(memcmp(&now->fpu, &s->fpu, sizeof(now->fpu)), 0)
			TH_LOG("%s: KVM_GET_FPU", where);
	}
	if (s->has_xcrs)
		EXPECT_EQ(now->xcrs.xcrs[0].value, s->xcrs.xcrs[0].value)
			TH_LOG("%s: KVM_GET_XCRS XCR0", where);
	EXPECT_EQ(memcmp(&now->debugregs, &s->debugregs, sizeof(now->debugregs)), 0)
		TH_LOG("%s: KVM_GET_DEBUGREGS: DR6 %#llx/%#llx DR7 %#llx/%#llx (new/saved)",
		       where, now->debugregs.dr6, s->debugregs.dr6, now->debugregs.dr7,
		       s->debugregs.dr7);
	EXPECT_EQ(memcmp(&now->events, &s->events, sizeof(now->events)), 0)
		TH_LOG("%s: KVM_GET_VCPU_EVENTS (new/saved): flags %#x/%#x, exception %u/%u "
		       "injected %u/%u pending %u/%u, interrupt %u/%u, NMI pending %u/%u, "
		       "shadow %u/%u", where, now->events.flags, s->events.flags,
		       now->events.exception.nr, s->events.exception.nr,
		       now->events.exception.injected, s->events.exception.injected,
		       now->events.exception.pending, s->events.exception.pending,
		       now->events.interrupt.injected, s->events.interrupt.injected,
		       now->events.nmi.pending, s->events.nmi.pending,
		       now->events.interrupt.shadow, s->events.interrupt.shadow);
	EXPECT_EQ(now->mp_state.mp_state, s->mp_state.mp_state)
		TH_LOG("%s: KVM_GET_MP_STATE", where);
	for (unsigned int off = 0; s->has_lapic && off < sizeof(now->lapic.regs); off += 16) {
		/* TMCCT counts down; KVM_SET_LAPIC recomputes PPR from TPR and ISR. */
		if (off == APIC_TMCCT || off == APIC_PPR)
			continue;
		EXPECT_EQ(lapic_reg(&now->lapic, off), lapic_reg(&s->lapic, off))
			TH_LOG("%s: KVM_GET_LAPIC register %#x", where, off);
	}
	for (unsigned int m = 0; m < s->msrs->nmsrs; m++) {
		if (msr_is_volatile(s->msrs->entries[m].index))
			continue;
		EXPECT_EQ(now->msrs->entries[m].data, s->msrs->entries[m].data)
			TH_LOG("%s: KVM_GET_MSRS MSR %#x", where, s->msrs->entries[m].index);
	}
	nested_expect_equal(_metadata, now->nested, s->nested, where);
	nested_vcpu_state_free(now);
}

/*
 * Save the whole vCPU, whose nested flags must be flags, and load it into a
 * new VM with a copy of the memory (new_vm) or back onto the same vCPU.
 * Returns what was saved (the caller frees it).
 */
static struct vcpu_saved *move(struct __test_metadata *_metadata, struct kvm_vm **vmp,
				      struct kvm_vcpu **vcpup, bool new_vm, uint32_t flags,
				      const char *where)
{
	struct vcpu_saved *st = nested_vcpu_state_save(*vcpup);
	char f1[64], f2[64];

	EXPECT_EQ(st->nested->flags, flags)
		TH_LOG("%s: KVM_GET_NESTED_STATE flags %s, expected %s", where,
		       nested_flags_str(st->nested->flags, f1, sizeof(f1)),
		       nested_flags_str(flags, f2, sizeof(f2)));
	if (new_vm) {
		struct kvm_vcpu *vcpu;
		struct kvm_vm *vm = stages_vm(&vcpu);

		vm_memory_copy(vm, *vmp);
		nested_vcpu_state_load(vcpu, st);
		kvm_vm_free(*vmp);
		*vmp = vm;
		*vcpup = vcpu;
	} else {
		nested_vcpu_state_load(*vcpup, st);
	}
	state_expect_equal(_metadata, *vcpup, st, where);
	return st;
}

static void expect_nested_gprs(struct __test_metadata *_metadata,
			       const struct vcpu_saved *st)
{
	const __u64 *r = &st->regs.rax;

	for (int i = 0; i < 16; i++) {
		if (i == 6)
			continue;
		EXPECT_EQ(r[i], GPR_PAT(i)) TH_LOG("KVM_GET_REGS in L2: GPR %d", i);
	}
}

static void run_stages(struct __test_metadata *_metadata, bool npt, bool new_vm)
{
	const uint32_t gif = KVM_STATE_NESTED_GIF_SET, l2 = KVM_STATE_NESTED_GUEST_MODE;
	struct vcpu_saved *st;
	struct kvm_nested_state *ns;
	uint64_t pages, vmcb_gpa;
	struct kvm_vcpu *vcpu;
	const struct vmcb *v;
	struct kvm_vm *vm;
	struct ucall uc;
	int steps, size;

	TEST_REQUIRE_SVM();
	TEST_REQUIRE_CAP(KVM_CAP_NESTED_STATE);
	TEST_REQUIRE_CAP(KVM_CAP_SET_GUEST_DEBUG);
	vm = stages_vm(&vcpu);
	pages = nested_alloc(vm);
	vmcb_gpa = ((struct nested_pages *)addr_gpa2hva(vm, pages))->svm.vmcb;
	vcpu_args_set(vcpu, 2, pages, (uint64_t)npt);

	/* 1. L1 ready: no guest mode, GIF set. */
	ASSERT_EQ(run_to_exit(vcpu, &uc), UCALL_SYNC);
	if (uc.args[0] == NESTED_SKIP_SYNC) {
		char why[200];

		snprintf(why, sizeof(why), "%s", (const char *)addr_gva2hva(vm, uc.args[1]));
		kvm_vm_free(vm);
		SKIP(return, "%s", why);
	}
	ASSERT_EQ(uc.args[0], STAGE_L1_READY);
	st = move(_metadata, &vm, &vcpu, new_vm, gif, "L1 before VMRUN");
	EXPECT_EQ(st->nested->size, sizeof(*st->nested)) TH_LOG("no VMCB12 data outside L2");
	EXPECT_NE(st->sregs.efer & EFER_SVME, 0);
	nested_vcpu_state_free(st);

	/* 2. L2's OUT, all GPRs patterned. */
	ASSERT_EQ(run_to_exit(vcpu, &uc), UCALL_NONE);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(vcpu->run->io.port, PORT_L2_GPRS);
	st = move(_metadata, &vm, &vcpu, new_vm, l2 | gif, "L2 at an OUT");
	expect_nested_gprs(_metadata, st);
	v = (const struct vmcb *)st->nested->data.svm[0].vmcb12;
	EXPECT_EQ(st->nested->hdr.svm.vmcb_pa, vmcb_gpa);
	EXPECT_EQ(v->control.tsc_offset, L2_TSC_OFFSET);
	EXPECT_NE(v->control.intercept_exceptions & (1u << UD_VECTOR), 0);
	EXPECT_EQ(v->control.nested_ctl & 1, npt) TH_LOG("VMCB12 NP_ENABLE");
	nested_vcpu_state_free(st);

	/* 3. L2's MMIO read; the data is the host's. */
	ASSERT_EQ(run_to_exit(vcpu, &uc), UCALL_NONE);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
	ASSERT_EQ(vcpu->run->mmio.phys_addr, MMIO_GPA);
	ASSERT_EQ(vcpu->run->mmio.is_write, 0);
	ASSERT_EQ(vcpu->run->mmio.len, 8);
	*(uint64_t *)vcpu->run->mmio.data = MMIO_DATA;
	nested_vcpu_state_free(move(_metadata, &vm, &vcpu, new_vm, l2 | gif, "L2 at MMIO"));

	/* 4. L1 right after L2's #UD exit (not a repeated MMIO read). */
	ASSERT_EQ(run_to_exit(vcpu, &uc), UCALL_SYNC)
		TH_LOG("exit %s after the MMIO move", exit_reason_str(vcpu->run->exit_reason));
	ASSERT_EQ(uc.args[0], STAGE_L1_AFTER_UD);
	nested_vcpu_state_free(move(_metadata, &vm, &vcpu, new_vm, gif, "L1 after #UD exit"));

	/* 5. Single-step L1 until KVM has emulated its VMRUN: run pending. */
	ASSERT_EQ(run_to_exit(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], STAGE_PRE_INJECT);
	size = kvm_check_cap(KVM_CAP_NESTED_STATE);
	ns = calloc(1, size);
	ASSERT_NE(ns, NULL);
	vcpu_guest_debug_set(vcpu, &(struct kvm_guest_debug){
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP,
	});
	for (steps = 0; steps < MAX_STEPS; steps++) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_DEBUG);
		ns->size = size;
		vcpu_ioctl(vcpu, KVM_GET_NESTED_STATE, ns);
		if (ns->flags & KVM_STATE_NESTED_GUEST_MODE)
			break;
	}
	vcpu_guest_debug_set(vcpu, &(struct kvm_guest_debug){ .control = 0 });
	ASSERT_LT(steps, MAX_STEPS) TH_LOG("L1 not in guest mode after %d single steps", steps);
	free(ns);
	st = move(_metadata, &vm, &vcpu, new_vm, l2 | gif | KVM_STATE_NESTED_RUN_PENDING,
		  "right after VMRUN with EVENTINJ");
	v = (const struct vmcb *)st->nested->data.svm[0].vmcb12;
	EXPECT_EQ(v->control.event_inj, INJ_EVENT) TH_LOG("VMCB12 EVENTINJ in the saved state");
	EXPECT_EQ(st->regs.rip, (uint64_t)(uintptr_t)l2_injected) TH_LOG("L2 RIP");
	nested_vcpu_state_free(st);

	/* 6. L1 after #VMEXIT with GIF clear, a self-IPI pending. */
	ASSERT_EQ(run_to_exit(vcpu, &uc), UCALL_NONE);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(vcpu->run->io.port, PORT_GIF);
	st = move(_metadata, &vm, &vcpu, new_vm, 0, "L1 with GIF clear");
	EXPECT_NE(lapic_reg(&st->lapic, APIC_IRR + (GIF_VECTOR / 32) * 0x10) &
		  (1u << (GIF_VECTOR % 32)), 0) TH_LOG("the self-IPI is not pending in the IRR");
	nested_vcpu_state_free(st);

	EXPECT_EQ(run_to_exit(vcpu, &uc), UCALL_DONE)
		TH_LOG("exit %s after the last move", exit_reason_str(vcpu->run->exit_reason));
	kvm_vm_free(vm);
}

KVM_TEST_TIMEOUT(stages_move_to_new_vm_npt_off, 120)
{
	run_stages(_metadata, false, true);
}

KVM_TEST_TIMEOUT(stages_move_to_new_vm_npt_on, 120)
{
	run_stages(_metadata, true, true);
}

KVM_TEST_TIMEOUT(stages_reload_same_vcpu_npt_off, 120)
{
	run_stages(_metadata, false, false);
}

KVM_TEST_TIMEOUT(stages_reload_same_vcpu_npt_on, 120)
{
	run_stages(_metadata, true, false);
}

TEST_HARNESS_MAIN
