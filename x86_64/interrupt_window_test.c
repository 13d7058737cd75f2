// SPDX-License-Identifier: GPL-2.0-only
/*
 * Interrupts and NMIs that userspace hands to KVM without an in-kernel
 * irqchip, and when the guest may take them:
 *  - request_interrupt_window (api.rst 5, struct kvm_run): KVM_RUN returns
 *    KVM_EXIT_IRQ_WINDOW_OPEN when an interrupt can be injected, never
 *    while RFLAGS.IF=0 or inside the one-instruction shadow of STI (SDM
 *    vol. 3A 6.8.3); ready_for_interrupt_injection and if_flag say so at
 *    each exit.  KVM_INTERRUPT (api.rst 4.16) then delivers the vector at
 *    the RIP of the window exit; a vector beyond 255 is EINVAL.  Without
 *    an in-kernel irqchip KVM_INTERRUPT injects at the next entry whatever
 *    IF is (userspace must wait for ready_for_interrupt_injection), and a
 *    second one replaces the first: api.rst's EEXIST is the split-irqchip
 *    case only, so neither is asserted.
 *  - KVM_NMI: the NMI is taken with IF=0; while its handler runs further
 *    NMIs are blocked until the next IRET (SDM vol. 3A 6.7.1):
 *    KVM_GET_VCPU_EVENTS shows nmi.masked, a second KVM_NMI stays pending
 *    (nmi.pending) and is delivered right after the handler's IRET.
 * Left out: the MOV SS shadow (no exit can fall between MOV SS and the
 * next instruction to observe it; singlestep_test's area) and KVM_SET_*
 * of a shadow (vcpu_migrate_test).
 *
 * Upstream ideas: none as one file; the request_interrupt_window loop of
 * QEMU's userspace-irqchip mode, checked against api.rst.
 *
 * Caught bugs: bugs/events-nmi-not-masked-during-handler.patch
 */
#include "guest/guest.h"
#include "kvm_test_harness.h"

#define IRQ_VECTOR	0x41

static volatile uint64_t irq_count, irq_rip;

static void guest_irq(struct ex_regs *regs)
{
	irq_count++;
	irq_rip = regs->rip;
}

asm(".pushsection .text\n"
    "window_probe:\n"
    "	sti\n"
    "window_shadowed: nop\n"
    "window_spin: jmp window_spin\n"	/* the handler moves RIP on */
    "window_done:\n"
    "	cli\n"
    "	ret\n"
    ".popsection");
extern char window_shadowed[], window_spin[], window_done[];

static void guest_window_irq(struct ex_regs *regs)
{
	guest_irq(regs);
	regs->rip = (uint64_t)(uintptr_t)window_done;
}

static void guest_window(void)
{
	guest_install_handler(IRQ_VECTOR, guest_window_irq);
	cli();
	GUEST_SYNC(0);			/* the host asks for the window here */
	GUEST_SYNC(1);			/* IF=0: no window yet */
	asm volatile("call window_probe" ::: "memory");
	GUEST_SYNC(irq_count, irq_rip);
}

KVM_VCPU_TEST(interrupt_window_exit_after_sti_shadow, guest_window)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	struct ucall uc;

	vcpu_run_expect_sync(vcpu, 0);
	EXPECT_EQ(run->if_flag, 0);
	EXPECT_EQ(run->ready_for_interrupt_injection, 0);
	run->request_interrupt_window = 1;

	vcpu_run_expect_sync(vcpu, 1);
	EXPECT_EQ(run->ready_for_interrupt_injection, 0);

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IRQ_WINDOW_OPEN);
	EXPECT_EQ(run->if_flag, 1);
	EXPECT_EQ(run->ready_for_interrupt_injection, 1);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_NE(regs.rip, (uint64_t)(uintptr_t)window_shadowed)
		TH_LOG("the window opened inside the STI shadow");
	EXPECT_EQ(regs.rip, (uint64_t)(uintptr_t)window_spin)
		TH_LOG("window exit at RIP %#llx, expected %p", regs.rip, window_spin);

	run->request_interrupt_window = 0;
	errno = 0;
	EXPECT_EQ(__vcpu_ioctl(vcpu, KVM_INTERRUPT, &(struct kvm_interrupt){ .irq = 256 }), -1);
	EXPECT_EQ(errno, EINVAL) TH_LOG("KVM_INTERRUPT of vector 256");
	vcpu_ioctl(vcpu, KVM_INTERRUPT, &(struct kvm_interrupt){ .irq = IRQ_VECTOR });
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	EXPECT_EQ(uc.args[0], 1);
	EXPECT_EQ(uc.args[1], (uint64_t)(uintptr_t)window_spin);
	vcpu_run_expect_done(vcpu);
}

/* ---- NMI blocking until IRET ---- */

static volatile uint64_t nmi_count;

static void guest_nmi(struct ex_regs *regs)
{
	nmi_count++;
	if (nmi_count == 1) {
		GUEST_SYNC(1, nmi_count);	/* the host sends a second NMI */
		for (int i = 0; i < 1000; i++)
			cpu_relax();
		GUEST_SYNC(2, nmi_count);	/* still blocked: 1 */
	}
}

static void guest_nmis(void)
{
	guest_install_handler(NMI_VECTOR, guest_nmi);
	cli();
	GUEST_SYNC(0, 0);		/* the host sends the first NMI */
	for (int i = 0; i < 1000000 && nmi_count < 2; i++)
		cpu_relax();
	GUEST_SYNC(3, nmi_count);
}

KVM_VCPU_TEST(nmi_blocked_until_iret, guest_nmis)
{
	struct kvm_vcpu_events ev;
	struct ucall uc;

	TEST_REQUIRE_CAP(KVM_CAP_VCPU_EVENTS);
	vcpu_run_expect_sync(vcpu, 0);
	vcpu_ioctl(vcpu, KVM_NMI, NULL);

	/* Taken with IF=0. */
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 1);
	vcpu_events_get(vcpu, &ev);
	EXPECT_EQ(ev.nmi.masked, 1) TH_LOG("KVM_GET_VCPU_EVENTS inside the NMI handler");
	vcpu_ioctl(vcpu, KVM_NMI, NULL);

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 2);
	EXPECT_EQ(uc.args[1], 1) TH_LOG("a second NMI ran inside the first one's handler");
	vcpu_events_get(vcpu, &ev);
	EXPECT_EQ(ev.nmi.pending, 1) TH_LOG("the blocked NMI is not pending");
	EXPECT_EQ(ev.nmi.masked, 1);

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 3);
	EXPECT_EQ(uc.args[1], 2) TH_LOG("%lu NMIs after the handler's IRET, expected 2",
					(unsigned long)uc.args[1]);
	vcpu_events_get(vcpu, &ev);
	EXPECT_EQ(ev.nmi.masked, 0);
	EXPECT_EQ(ev.nmi.pending, 0);
	vcpu_run_expect_done(vcpu);
}

TEST_HARNESS_MAIN
