// SPDX-License-Identifier: GPL-2.0-only
/*
 * The in-kernel interrupt controllers and timer (KVM_CREATE_IRQCHIP,
 * KVM_CREATE_PIT2) as a guest sees their registers, and KVM_GET_IRQCHIP /
 * KVM_GET_PIT2 / KVM_GET_LAPIC agreeing with what the guest saw:
 *  - IOAPIC (Intel 82093AA datasheet, 3.2): IOAPICVER reads version 0x11 with
 *    the maximum redirection entry 23 in bits 23:16; IOAPICID bits 27:24 are
 *    read/write; in a redirection entry Delivery Status (bit 12) and Remote
 *    IRR (bit 14) are read-only, a write can neither set nor clear them:
 *    Remote IRR is 1 from the LAPIC's acceptance of a level interrupt to
 *    the EOI with its vector;
 *  - PIC (Intel 8259A datasheet, OCW3): RR=1 selects IRR (RIS=0) or ISR
 *    (RIS=1) for the next read of the even port; an OCW3 with RR=0 is "no
 *    action" and leaves the selection; the odd port reads the IMR; ICW1
 *    clears the IMR.  ELCR (Intel PIIX/ICH datasheets, ELCR1/ELCR2): IRQ0,
 *    1, 2, 8 and 13 are always edge, their bits read 0;
 *  - PIT (Intel 8254 datasheet): the read-back status byte carries the
 *    programmed RW/mode/BCD bits 5:0; a latched count read back LSB then MSB
 *    lies in [1, N] in mode 2; a count of 0 is the maximum, 2^16 in binary;
 *    KVM_SET_PIT2 restores every channel's count (api.rst KVM_SET_PIT2);
 *  - LAPIC (SDM vol. 3A ch. 11): the version register (11.4.8: version in
 *    7:0, Max LVT Entry in 23:16); while the APIC is software disabled
 *    (SVR bit 8 clear) every LVT mask bit is set and cannot be cleared
 *    (11.4.7.2), and clearing SVR bit 8 masks them all again; PPR follows
 *    TPR when nothing is in service (11.8.3.1) and CR8 is TPR[7:4]
 *    (11.8.6.1); the current-count register counts down from the initial
 *    count and reads 0 once the initial count is written 0 (11.5.4), and
 *    KVM_GET_LAPIC returns that current count, not a stale copy; and the
 *    PPR that follows the TPR, also when the guest wrote CR8 without an
 *    exit (TPR shadow, V_TPR).
 *
 * Caught bugs: bugs/ioapic-redir-readonly-bits.patch,
 * bugs/pic-ocw3-read-select.patch, bugs/pit-set-pit2-reload-count.patch,
 * bugs/lapic-get-lapic-tmcct.patch, bugs/lapic-lvt-mask-sw-disabled.patch,
 * bugs/lapic-tpr-write-keeps-stale-ppr.patch
 */
#include "guest/apic.h"
#include "guest/guest.h"
#include "guest/ioapic.h"
#include "kvm_test_harness.h"

static struct kvm_vm *irqchip_vm(struct kvm_vcpu **vcpu, void *guest_code)
{
	struct kvm_vm *vm = vm_create_opts(&(struct vm_opts){ .irqchip = true });

	*vcpu = vm_vcpu_add(vm, 0, guest_code);
	virt_map_mmio(vm, IOAPIC_DEFAULT_GPA, PAGE_SIZE);
	virt_map_mmio(vm, APIC_DEFAULT_GPA, PAGE_SIZE);
	return vm;
}

/* ---- IOAPIC ---- */


static void guest_ioapic(void)
{
	uint32_t ver = ioapic_read(IOAPIC_REG_VER);

	/* 82093AA 3.2.2: version 0x11, Maximum Redirection Entry = 24 - 1. */
	GUEST_ASSERT_EQ(ver & 0xff, 0x11);
	GUEST_ASSERT_EQ((ver >> 16) & 0xff, 23);
	ioapic_write(IOAPIC_REG_VER, 0);
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REG_VER), ver);

	/* 3.2.1: IOAPICID bits 27:24 are the ID, read/write. */
	ioapic_write(IOAPIC_REG_ID, 0x0a000000);
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REG_ID) & 0x0f000000, 0x0a000000);

	/*
	 * 3.2.4: Delivery Status (12) and Remote IRR (14) are read-only.  The
	 * pins are masked and idle, so both read 0 whatever the guest wrote.
	 */
	ioapic_write(IOAPIC_REDTBL_HI(5), 0x03000000);
	ioapic_write(IOAPIC_REDTBL_LO(5), IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL |
		     IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_DELIVS | 0x45);
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REDTBL_LO(5)), IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x45);
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REDTBL_HI(5)), 0x03000000);

	ioapic_write(IOAPIC_REDTBL_LO(9), IOAPIC_RTE_MASKED | IOAPIC_RTE_DELIVS | 0x51);
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REDTBL_LO(9)), IOAPIC_RTE_MASKED | 0x51);
	ioapic_write(IOAPIC_REDTBL_LO(9), IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR | 0x52);
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REDTBL_LO(9)), IOAPIC_RTE_MASKED | 0x52);
	GUEST_DONE();
}

KVM_TEST(ioapic_version_id_and_readonly_redirection_bits)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = irqchip_vm(&vcpu, guest_ioapic);
	vcpu_run_expect_done(vcpu);

	vm_ioctl(vm, KVM_GET_IRQCHIP, &chip);
	EXPECT_EQ(chip.chip.ioapic.id, 0xa);
	EXPECT_EQ(chip.chip.ioapic.redirtbl[5].bits,
		  (0x03ULL << 56) | IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x45);
	EXPECT_EQ(chip.chip.ioapic.redirtbl[9].bits, IOAPIC_RTE_MASKED | 0x52);
	kvm_vm_free(vm);
}

#define LEVEL_PIN	10
#define LEVEL_VECTOR	0x60

static volatile int level_irqs;

static void level_irq_handler(struct ex_regs *regs)
{
	level_irqs++;			/* no EOI: the interrupt stays in service */
}

static void guest_ioapic_remote_irr(void)
{
	uint32_t rte = IOAPIC_RTE_LEVEL | LEVEL_VECTOR;	/* fixed, physical, dest 0 */

	outb(0x21, 0xff);		/* keep the PICs out of the way */
	outb(0xa1, 0xff);
	xapic_write(APIC_LVT0, APIC_LVT_MASKED);
	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	guest_install_handler(LEVEL_VECTOR, level_irq_handler);
	ioapic_write(IOAPIC_REDTBL_HI(LEVEL_PIN), 0);
	ioapic_write(IOAPIC_REDTBL_LO(LEVEL_PIN), rte);

	GUEST_SYNC(1);			/* the host asserts the pin (level high) */
	for (int i = 0; i < 1000 && !level_irqs; i++) {
		sti();
		asm volatile("nop");
		cli();
	}
	GUEST_ASSERT_EQ(level_irqs, 1);
	/* 3.2.4: the LAPIC accepted it, no EOI yet: Remote IRR is 1. */
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REDTBL_LO(LEVEL_PIN)), rte | IOAPIC_RTE_REMOTE_IRR);

	GUEST_SYNC(2);			/* the host deasserts the pin */
	/* Still in service.  Rewriting the entry (bit 14 written 0) keeps it. */
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REDTBL_LO(LEVEL_PIN)), rte | IOAPIC_RTE_REMOTE_IRR);
	ioapic_write(IOAPIC_REDTBL_LO(LEVEL_PIN), rte);
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REDTBL_LO(LEVEL_PIN)), rte | IOAPIC_RTE_REMOTE_IRR);
	sti();
	asm volatile("nop");
	cli();
	GUEST_ASSERT_EQ(level_irqs, 1);	/* and nothing was delivered twice */

	xapic_write(APIC_EOI, 0);
	/* The EOI with the entry's vector clears Remote IRR. */
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REDTBL_LO(LEVEL_PIN)), rte);
	GUEST_DONE();
}

KVM_TEST(ioapic_remote_irr_is_read_only)
{
	struct kvm_irq_level irq = { .irq = LEVEL_PIN, .level = 1 };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = irqchip_vm(&vcpu, guest_ioapic_remote_irr);
	vcpu_run_expect_sync(vcpu, 1);
	vm_ioctl(vm, KVM_IRQ_LINE, &irq);
	vcpu_run_expect_sync(vcpu, 2);
	irq.level = 0;
	vm_ioctl(vm, KVM_IRQ_LINE, &irq);
	vcpu_run_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- PIC (8259A) and ELCR ---- */

static void guest_pic(void)
{
	/* ICW1-4 for the master: edge, cascade, vector base 0x20, 8086 mode. */
	outb(0x20, 0x11);
	outb(0x21, 0x20);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	/* ICW1 cleared the IMR; OCW1 writes it and the odd port reads it. */
	GUEST_ASSERT_EQ(inb(0x21), 0);
	outb(0x21, 0xff);
	GUEST_ASSERT_EQ(inb(0x21), 0xff);

	GUEST_SYNC(1);			/* the host raises IRQ3: IRR bit 3, no ISR */

	outb(0x20, 0x0a);		/* OCW3: RR=1 RIS=0, read IRR */
	GUEST_ASSERT_EQ(inb(0x20), 0x08);
	GUEST_ASSERT_EQ(inb(0x20), 0x08);	/* the selection stays */
	outb(0x20, 0x0b);		/* OCW3: RR=1 RIS=1, read ISR */
	GUEST_ASSERT_EQ(inb(0x20), 0x00);
	outb(0x20, 0x08);		/* OCW3 with RR=0: no action */
	GUEST_ASSERT_EQ(inb(0x20), 0x00);
	outb(0x20, 0x09);		/* RR=0, RIS=1 is ignored too */
	GUEST_ASSERT_EQ(inb(0x20), 0x00);
	outb(0x20, 0x0a);
	GUEST_ASSERT_EQ(inb(0x20), 0x08);
	outb(0x20, 0x49);		/* ESMM=1 SMM=0, RR=0: IRR stays selected */
	GUEST_ASSERT_EQ(inb(0x20), 0x08);
	outb(0x20, 0x0b);
	GUEST_ASSERT_EQ(inb(0x21), 0xff);	/* the odd port is the IMR either way */

	/* ELCR: IRQ0-2 (0x4d0 bits 2:0) and IRQ8, IRQ13 (0x4d1 bits 0, 5) read 0. */
	outb(0x4d0, 0xff);
	outb(0x4d1, 0xff);
	GUEST_ASSERT_EQ(inb(0x4d0), 0xf8);
	GUEST_ASSERT_EQ(inb(0x4d1), 0xde);
	outb(0x4d0, 0x20);
	outb(0x4d1, 0x00);
	GUEST_ASSERT_EQ(inb(0x4d0), 0x20);
	GUEST_ASSERT_EQ(inb(0x4d1), 0x00);
	GUEST_DONE();
}

KVM_TEST(pic_ocw3_read_select_imr_and_elcr)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_PIC_MASTER };
	struct kvm_irq_level irq = { .irq = 3, .level = 1 };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = irqchip_vm(&vcpu, guest_pic);
	vcpu_run_expect_sync(vcpu, 1);
	vm_ioctl(vm, KVM_IRQ_LINE, &irq);
	irq.level = 0;
	vm_ioctl(vm, KVM_IRQ_LINE, &irq);
	vcpu_run_expect_done(vcpu);

	vm_ioctl(vm, KVM_GET_IRQCHIP, &chip);
	EXPECT_EQ(chip.chip.pic.irq_base, 0x20);
	EXPECT_EQ(chip.chip.pic.imr, 0xff);
	EXPECT_EQ(chip.chip.pic.irr, 0x08);
	EXPECT_EQ(chip.chip.pic.isr, 0x00);
	EXPECT_EQ(chip.chip.pic.read_reg_select, 1);	/* the last OCW3 chose ISR */
	EXPECT_EQ(chip.chip.pic.elcr, 0x20);
	kvm_vm_free(vm);
}

/* ---- PIT (8254) ---- */

static uint16_t pit_read_word(uint16_t port)
{
	uint8_t lo = inb(port);

	return lo | (inb(port) << 8);
}

static void guest_pit_program(void)
{
	uint8_t status;
	uint16_t count;

	/* Counter 2: LSB then MSB, mode 2 (rate generator), binary, N = 0x1234. */
	outb(0x43, 0xb4);
	outb(0x42, 0x34);
	outb(0x42, 0x12);

	outb(0x43, 0xe8);		/* read-back: status only, counter 2 */
	status = inb(0x42);
	GUEST_ASSERT_EQ(status & 0x3f, 0x34);

	outb(0x43, 0x80);		/* counter latch, counter 2 */
	count = pit_read_word(0x42);
	GUEST_ASSERT(count >= 1 && count <= 0x1234);

	outb(0x43, 0xc8);		/* read-back: count and status, counter 2 */
	status = inb(0x42);		/* the status comes first */
	count = pit_read_word(0x42);
	GUEST_ASSERT_EQ(status & 0x3f, 0x34);
	GUEST_ASSERT(count >= 1 && count <= 0x1234);
	GUEST_DONE();
}

static struct kvm_vm *pit_vm(struct kvm_vcpu **vcpu, void *guest_code)
{
	struct kvm_pit_config cfg = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_vm *vm;

	TEST_REQUIRE_CAP(KVM_CAP_PIT2);
	vm = irqchip_vm(vcpu, guest_code);
	vm_ioctl(vm, KVM_CREATE_PIT2, &cfg);
	return vm;
}

KVM_TEST(pit_readback_status_and_latched_count)
{
	struct kvm_pit_state2 ps;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = pit_vm(&vcpu, guest_pit_program);
	vcpu_run_expect_done(vcpu);

	vm_ioctl(vm, KVM_GET_PIT2, &ps);
	EXPECT_EQ(ps.channels[2].count, 0x1234);
	EXPECT_EQ(ps.channels[2].mode, 2);
	EXPECT_EQ(ps.channels[2].rw_mode, 3);
	EXPECT_EQ(ps.channels[2].bcd, 0);
	kvm_vm_free(vm);
}

static void guest_pit_restored(void)
{
	uint8_t status;

	/* Read back the status and count of each counter the host restored. */
	for (int ch = 0; ch < 3; ch++) {
		outb(0x43, 0xc0 | (2 << ch));
		status = inb(0x40 + ch);
		GUEST_ASSERT_EQ(status & 0x3f, 0x34);
		pit_read_word(0x40 + ch);
	}
	GUEST_DONE();
}

KVM_TEST(pit_set_pit2_count_zero_means_65536)
{
	struct kvm_pit_state2 ps;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	bool counts_ok = true;

	vm = pit_vm(&vcpu, guest_pit_restored);

	/*
	 * 8254: writing 0 as the initial count gives the maximum count, 2^16
	 * in binary.  KVM_SET_PIT2 restores every channel, so a count of 0 in
	 * the state is that maximum for each of them, as KVM_GET_PIT2 shows.
	 */
	vm_ioctl(vm, KVM_GET_PIT2, &ps);
	for (int ch = 0; ch < 3; ch++) {
		ps.channels[ch].count = 0;
		ps.channels[ch].mode = 2;
		ps.channels[ch].rw_mode = 3;
		ps.channels[ch].read_state = 3;
		ps.channels[ch].write_state = 3;
		ps.channels[ch].bcd = 0;
		ps.channels[ch].gate = 1;
		ps.channels[ch].count_latched = 0;
		ps.channels[ch].status_latched = 0;
	}
	vm_ioctl(vm, KVM_SET_PIT2, &ps);
	memset(&ps, 0, sizeof(ps));
	vm_ioctl(vm, KVM_GET_PIT2, &ps);
	for (int ch = 0; ch < 3; ch++) {
		EXPECT_EQ(ps.channels[ch].count, 0x10000) TH_LOG("channel %d", ch);
		EXPECT_EQ(ps.channels[ch].mode, 2) TH_LOG("channel %d", ch);
		if (ps.channels[ch].count != 0x10000)
			counts_ok = false;
	}
	/*
	 * A channel left with count 0 would make the guest's read below
	 * divide by zero in the host (CVE-2015-7513): don't run it then.
	 */
	if (counts_ok)
		vcpu_run_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- local APIC (xAPIC MMIO) ---- */

static const uint32_t lvt_regs[] = { APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC, APIC_LVT1,
				     APIC_LVTERR };
/* Values with the mask bit clear that every LVT above accepts. */
static const uint32_t lvt_vals[] = { 0x000000ef, 0x00000031, 0x00000400, 0x00000400,
				     0x000000fe };

static void guest_lapic_regs(void)
{
	uint32_t lvr = xapic_read(APIC_LVR);

	GUEST_SYNC(lvr);
	GUEST_ASSERT_EQ(xapic_read(APIC_ID) >> 24, 0);
	/* 11.4.8: an integrated APIC has version 1xH; at least 4 LVT entries. */
	GUEST_ASSERT_EQ(lvr & 0xf0, 0x10);
	GUEST_ASSERT_GE((lvr >> 16) & 0xff, 3);

	/* After RESET the APIC is software disabled (11.4.7.1): SVR = 0xff. */
	GUEST_ASSERT_EQ(xapic_read(APIC_SVR) & APIC_SVR_ENABLE, 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(lvt_regs); i++) {
		xapic_write(lvt_regs[i], lvt_vals[i]);
		/* 11.4.7.2: software disabled, the mask bit stays set. */
		__GUEST_ASSERT(xapic_read(lvt_regs[i]) == (lvt_vals[i] | APIC_LVT_MASKED),
			       "LVT %#x: wrote %#x while disabled, read %#x", lvt_regs[i],
			       lvt_vals[i], xapic_read(lvt_regs[i]));
	}

	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	GUEST_ASSERT_EQ(xapic_read(APIC_SVR) & 0x1ff, 0x1ff);
	for (unsigned int i = 0; i < ARRAY_SIZE(lvt_regs); i++) {
		xapic_write(lvt_regs[i], lvt_vals[i]);
		__GUEST_ASSERT(xapic_read(lvt_regs[i]) == lvt_vals[i],
			       "LVT %#x: wrote %#x while enabled, read %#x", lvt_regs[i],
			       lvt_vals[i], xapic_read(lvt_regs[i]));
	}
	GUEST_SYNC(2);			/* host: KVM_GET_LAPIC sees the unmasked LVTs */

	/* Clearing SVR bit 8 sets every mask bit (11.4.7.2). */
	xapic_write(APIC_SVR, 0xff);
	for (unsigned int i = 0; i < ARRAY_SIZE(lvt_regs); i++)
		GUEST_ASSERT_EQ(xapic_read(lvt_regs[i]), lvt_vals[i] | APIC_LVT_MASKED);
	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);

	/*
	 * 11.8.3.1: nothing in service, PPR = TPR; 11.8.6.1: CR8 = TPR[7:4].
	 * The sub-class TPR[3:0] is left 0 here; lapic_tpr_keeps_its_subclass
	 * checks it on its own (kvm_amd loses it).
	 */
	xapic_write(APIC_TPR, 0x50);
	GUEST_ASSERT_EQ(xapic_read(APIC_TPR), 0x50);
	GUEST_ASSERT_EQ(xapic_read(APIC_PPR), 0x50);
	GUEST_ASSERT_EQ(get_cr8(), 5);
	xapic_write(APIC_TPR, 0);
	GUEST_DONE();
}

/*
 * SDM vol. 3A 11.8.3.1: TPR bits 7:4 are the task-priority class, 3:0 the
 * sub-class, both written by software; with nothing in service PPR = TPR.
 * A KVM that keeps only the class (kvm_amd holds the guest's TPR in the
 * VMCB's 4-bit V_TPR while CR8 writes are not intercepted, and rebuilds
 * the APIC's TPR from it at the next exit) reads back 0x50 for 0x51.
 */
static void guest_lapic_tpr_subclass(void)
{
	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	xapic_write(APIC_TPR, 0x51);
	GUEST_SYNC(0);			/* an exit between the write and the reads */
	GUEST_ASSERT_EQ(xapic_read(APIC_TPR), 0x51);
	GUEST_ASSERT_EQ(xapic_read(APIC_PPR), 0x51);
	GUEST_ASSERT_EQ(get_cr8(), 5);
	xapic_write(APIC_TPR, 0);
	GUEST_DONE();
}

KVM_TEST(lapic_tpr_keeps_its_subclass)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = irqchip_vm(&vcpu, guest_lapic_tpr_subclass);
	vcpu_run_expect_sync(vcpu, 0);
	vcpu_run_expect_done(vcpu);
	kvm_vm_free(vm);
}

static uint32_t lapic_reg(const struct kvm_lapic_state *s, unsigned int off)
{
	uint32_t v;

	memcpy(&v, s->regs + off, sizeof(v));
	return v;
}

KVM_TEST(lapic_version_lvt_masks_and_tpr)
{
	struct kvm_lapic_state s;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	vm = irqchip_vm(&vcpu, guest_lapic_regs);
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	vcpu_lapic_get(vcpu, &s);
	EXPECT_EQ(lapic_reg(&s, APIC_LVR), uc.args[0]);

	vcpu_run_expect_sync(vcpu, 2);
	vcpu_lapic_get(vcpu, &s);
	for (unsigned int i = 0; i < ARRAY_SIZE(lvt_regs); i++) {
		EXPECT_EQ(lapic_reg(&s, lvt_regs[i]), lvt_vals[i]) {
			TH_LOG("LVT %#x", lvt_regs[i]);
		}
	}
	vcpu_run_expect_done(vcpu);
	kvm_vm_free(vm);
}

/*
 * PPR is derived (SDM vol. 3A 11.8.3.1): PPR[7:4] is the larger of TPR[7:4]
 * and the class of the highest in-service vector, PPR[3:0] TPR[3:0] or 0.
 * KVM_GET_LAPIC returns the registers as the guest would read them, PPR
 * included, whichever way the guest wrote the TPR: MOV to CR8 (which the
 * CPU may complete without an exit, TPR shadow / V_TPR) or an xAPIC write.
 */
static void guest_lapic_ppr(void)
{
	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	set_cr8(8);
	GUEST_ASSERT_EQ(xapic_read(APIC_PPR), 0x80);
	GUEST_SYNC(0x80);
	set_cr8(3);
	GUEST_SYNC(0x30);
	xapic_write(APIC_TPR, 0x60);
	GUEST_SYNC(0x60);
	set_cr8(0);
	GUEST_SYNC(0);
}

KVM_TEST(get_lapic_ppr_follows_the_tpr)
{
	struct kvm_lapic_state s;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	vm = irqchip_vm(&vcpu, guest_lapic_ppr);
	while (vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC) {
		vcpu_lapic_get(vcpu, &s);
		EXPECT_EQ(lapic_reg(&s, APIC_TPR), uc.args[0]);
		EXPECT_EQ(lapic_reg(&s, APIC_PPR), uc.args[0])
			TH_LOG("KVM_GET_LAPIC: PPR %#x with TPR %#x and nothing in service",
			       lapic_reg(&s, APIC_PPR), lapic_reg(&s, APIC_TPR));
	}
	ASSERT_EQ(uc.cmd, UCALL_DONE);
	kvm_vm_free(vm);
}

static void guest_lapic_timer(void)
{
	uint32_t c1, c2;

	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	xapic_write(APIC_LVTT, APIC_LVT_MASKED | 0xf0);	/* one-shot, masked */
	xapic_write(APIC_TDCR, 0xa);			/* divide by 128 */
	xapic_write(APIC_TMICT, 0xffffffff);
	c1 = xapic_read(APIC_TMCCT);
	GUEST_ASSERT_NE(c1, 0);
	GUEST_SYNC(c1);
	/* The host read the count in between: it counts down (11.5.4). */
	c2 = xapic_read(APIC_TMCCT);
	GUEST_ASSERT_NE(c2, 0);
	GUEST_ASSERT_LE(c2, c1);
	GUEST_SYNC(c2);

	xapic_write(APIC_TMICT, 0);			/* stops the timer */
	GUEST_ASSERT_EQ(xapic_read(APIC_TMCCT), 0);
	GUEST_SYNC(0);
}

KVM_TEST(lapic_timer_current_count_matches_get_lapic)
{
	struct kvm_lapic_state s;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint32_t host_count;

	vm = irqchip_vm(&vcpu, guest_lapic_timer);
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	vcpu_lapic_get(vcpu, &s);
	host_count = lapic_reg(&s, APIC_TMCCT);
	/*
	 * KVM_GET_LAPIC reports the current count at the time of the call:
	 * between the guest's two reads, neither 0 nor a stale register.
	 */
	EXPECT_NE(host_count, 0);
	EXPECT_LE(host_count, uc.args[0]);
	EXPECT_EQ(lapic_reg(&s, APIC_TMICT), 0xffffffff);

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	EXPECT_LE(uc.args[0], host_count);

	vcpu_run_expect_sync(vcpu, 0);
	vcpu_lapic_get(vcpu, &s);
	EXPECT_EQ(lapic_reg(&s, APIC_TMCCT), 0);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
