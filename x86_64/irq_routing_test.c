// SPDX-License-Identifier: GPL-2.0-only
/*
 * Interrupts a VMM raises through the in-kernel irqchip, the ways device
 * models do it: KVM_IRQ_LINE(_STATUS) on an I/O APIC pin, KVM_SIGNAL_MSI,
 * GSI routes (KVM_SET_GSI_ROUTING) and irqfds (KVM_IRQFD, with and without
 * a resample eventfd), as Documentation/virt/kvm/api.rst defines them, and
 * their delivery as the I/O APIC (82093AA datasheet 3.2.4) and the local
 * APIC (SDM vol. 3A 11.6.2, 11.11) define it:
 *  - an edge-triggered pin interrupts once per rising edge: raising a line
 *    that is already high delivers nothing (KVM_IRQ_LINE_STATUS reports 0,
 *    "coalesced"), lowering and raising it again interrupts again;
 *  - a level-triggered pin sets Remote IRR when a local APIC accepts it and
 *    delivers again after the EOI while the line is still asserted; once the
 *    line is low, the EOI clears Remote IRR and nothing more arrives;
 *  - a masked pin whose level line is asserted interrupts when unmasked;
 *  - an MSI's address selects physical or logical (flat model) destination
 *    mode and the APIC ID or the LDR bits; 0xff in physical mode is a
 *    broadcast; its data holds the vector.  KVM_SIGNAL_MSI returns > 0 when
 *    delivered;
 *  - a GSI with an MSI route delivers that MSI from KVM_IRQ_LINE and from an
 *    irqfd; an irqfd follows a later KVM_SET_GSI_ROUTING; a deassigned irqfd
 *    delivers nothing, a second irqfd with the same eventfd is refused;
 *  - a resampling irqfd asserts a level pin; the guest's EOI deasserts it
 *    (no second interrupt) and signals the resample eventfd once.
 * Pins 16-23 are used: they reach the I/O APIC only (KVM routes GSIs 0-15 to
 * the PICs too), so the status of KVM_IRQ_LINE_STATUS is the I/O APIC's.
 *
 * Upstream has no x86 selftest for these paths (irqfd_test.c, added after
 * 6.12, checks irqfd assignment rules only); QEMU, Firecracker and
 * cloud-hypervisor use every one of them for their virtual devices.
 *
 * Caught bugs: bugs/ioapic-level-eoi-no-redelivery.patch,
 * bugs/ioapic-unmask-drops-pending-level.patch,
 * bugs/irq-msi-logical-as-physical.patch, bugs/irq-irqfd-resample-no-deassert.patch
 */
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "guest/apic.h"
#include "guest/guest.h"
#include "guest/ioapic.h"
#include "kvm_test_harness.h"

#define EDGE_PIN	17
#define LEVEL_PIN	18
#define MASKED_PIN	19
#define RESAMPLE_PIN	20
#define VECTOR_A	0x51
#define VECTOR_B	0x62
#define MSI_GSI		40		/* a GSI beyond the I/O APIC's 24 pins */

#define APIC_DFR_FLAT	0xffffffffu

#define MSI_ADDR(dest, logical)	(0xfee00000u | (dest) << 12 | ((logical) ? BIT(2) : 0))

/* Interrupts each vCPU took, per vector; the handlers EOI unless told not to. */
static volatile uint32_t irqs[2][256];
static volatile bool guest_no_eoi;

static void irq_handler(struct ex_regs *regs)
{
	irqs[guest_vcpu_id()][regs->vector]++;
	if (!guest_no_eoi)
		xapic_write(APIC_EOI, 0);
}

/* Software-enable the local APIC, flat logical ID BIT(vcpu id), no LINT0. */
static void guest_apic_setup(void)
{
	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	xapic_write(APIC_LVT0, APIC_LVT_MASKED);
	xapic_write(APIC_DFR, APIC_DFR_FLAT);
	xapic_write(APIC_LDR, BIT(guest_vcpu_id()) << 24);
	guest_install_handler(VECTOR_A, irq_handler);
	guest_install_handler(VECTOR_B, irq_handler);
}

/*
 * An interrupt the host made pending is taken at the first instruction
 * boundary with IF=1; a few hundred windows also cover an irqfd whose
 * injection KVM defers to a worker.
 */
static void guest_irq_window(void)
{
	for (int i = 0; i < 2000; i++) {
		sti();
		asm volatile("nop");
		cli();
	}
}

/* Each resume: open the window, report both vectors' counts. */
static void guest_report_loop(void)
{
	guest_apic_setup();
	for (;;) {
		GUEST_SYNC(irqs[guest_vcpu_id()][VECTOR_A], irqs[guest_vcpu_id()][VECTOR_B]);
		guest_irq_window();
	}
}

static struct kvm_vm *irq_vm(struct kvm_vcpu **vcpus, int n, void *guest_code)
{
	struct kvm_vm *vm = vm_create_opts(&(struct vm_opts){ .irqchip = true });

	for (int i = 0; i < n; i++)
		vcpus[i] = vm_vcpu_add(vm, i, guest_code);
	virt_map_mmio(vm, IOAPIC_DEFAULT_GPA, PAGE_SIZE);
	virt_map_mmio(vm, APIC_DEFAULT_GPA, PAGE_SIZE);
	return vm;
}

/* Run to the next GUEST_SYNC; returns the count of vector A (B in *b). */
static uint64_t run_counts_at(struct kvm_vcpu *vcpu, uint64_t *b, const char *file,
			      unsigned int line)
{
	struct ucall uc;
	uint32_t cmd = vcpu_run_ucall_at(vcpu, &uc, file, line);

	TEST_ASSERT(cmd == UCALL_SYNC, "%s:%u: vCPU %u: ucall %u, expected a SYNC", file, line,
		    vcpu->id, cmd);
	if (b)
		*b = uc.args[1];
	return uc.args[0];
}
#define run_counts(vcpu, b)	run_counts_at(vcpu, b, __FILE__, __LINE__)

/* KVM_IRQ_LINE_STATUS; returns its status. */
static int irq_line_at(struct kvm_vm *vm, uint32_t gsi, int level, const char *file,
		       unsigned int line)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	kvm_ioctl_named_at(vm->fd, KVM_IRQ_LINE_STATUS, &irq, "KVM_IRQ_LINE_STATUS", "vm ioctl",
			   file, line);
	return irq.status;
}
#define irq_line(vm, gsi, level)	irq_line_at(vm, gsi, level, __FILE__, __LINE__)

/* ---- I/O APIC pins ---- */

static void guest_edge(void)
{
	ioapic_write(IOAPIC_REDTBL_HI(EDGE_PIN), 0);
	ioapic_write(IOAPIC_REDTBL_LO(EDGE_PIN), VECTOR_A);	/* fixed, physical, edge */
	guest_report_loop();
}

KVM_TEST(ioapic_edge_pin_interrupts_once_per_rising_edge)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	TEST_REQUIRE_CAP(KVM_CAP_IRQ_INJECT_STATUS);
	vm = irq_vm(&vcpu, 1, guest_edge);
	ASSERT_EQ(run_counts(vcpu, NULL), 0);

	EXPECT_GT(irq_line(vm, EDGE_PIN, 1), 0) TH_LOG("rising edge: not delivered");
	EXPECT_EQ(irq_line(vm, EDGE_PIN, 1), 0) TH_LOG("line already high: not coalesced");
	EXPECT_EQ(run_counts(vcpu, NULL), 1);

	EXPECT_EQ(irq_line(vm, EDGE_PIN, 1), 0) TH_LOG("still high after the interrupt");
	EXPECT_EQ(run_counts(vcpu, NULL), 1) TH_LOG("an interrupt without a rising edge");

	irq_line(vm, EDGE_PIN, 0);
	EXPECT_GT(irq_line(vm, EDGE_PIN, 1), 0) TH_LOG("second rising edge: not delivered");
	EXPECT_EQ(run_counts(vcpu, NULL), 2);
	kvm_vm_free(vm);
}

static void guest_level(void)
{
	uint32_t rte = IOAPIC_RTE_LEVEL | VECTOR_A;

	guest_apic_setup();
	guest_no_eoi = true;
	ioapic_write(IOAPIC_REDTBL_HI(LEVEL_PIN), 0);
	ioapic_write(IOAPIC_REDTBL_LO(LEVEL_PIN), rte);
	GUEST_SYNC(0);				/* the host asserts the line */

	guest_irq_window();
	GUEST_ASSERT_EQ(irqs[0][VECTOR_A], 1);
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REDTBL_LO(LEVEL_PIN)), rte | IOAPIC_RTE_REMOTE_IRR);

	/* EOI with the line still high: Remote IRR clears, the pin fires again. */
	xapic_write(APIC_EOI, 0);
	guest_irq_window();
	__GUEST_ASSERT(irqs[0][VECTOR_A] == 2, "%u interrupts after an EOI with the line "
		       "still asserted, expected 2 (RTE 0x%x)", irqs[0][VECTOR_A],
		       ioapic_read(IOAPIC_REDTBL_LO(LEVEL_PIN)));
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REDTBL_LO(LEVEL_PIN)), rte | IOAPIC_RTE_REMOTE_IRR);
	GUEST_SYNC(1);				/* the host lowers the line */

	xapic_write(APIC_EOI, 0);
	guest_irq_window();
	GUEST_ASSERT_EQ(irqs[0][VECTOR_A], 2);
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REDTBL_LO(LEVEL_PIN)), rte);
	GUEST_DONE();
}

KVM_TEST(ioapic_level_pin_fires_again_after_eoi_while_asserted)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = irq_vm(&vcpu, 1, guest_level);
	vcpu_run_expect_sync(vcpu, 0);
	irq_line(vm, LEVEL_PIN, 1);
	vcpu_run_expect_sync(vcpu, 1);
	irq_line(vm, LEVEL_PIN, 0);
	vcpu_run_expect_done(vcpu);
	kvm_vm_free(vm);
}

static void guest_masked(void)
{
	uint32_t rte = IOAPIC_RTE_LEVEL | VECTOR_A;

	guest_apic_setup();
	ioapic_write(IOAPIC_REDTBL_HI(MASKED_PIN), 0);
	ioapic_write(IOAPIC_REDTBL_LO(MASKED_PIN), rte | IOAPIC_RTE_MASKED);
	GUEST_SYNC(0);				/* the host asserts the line */

	guest_irq_window();
	GUEST_ASSERT_EQ(irqs[0][VECTOR_A], 0);
	guest_no_eoi = true;
	ioapic_write(IOAPIC_REDTBL_LO(MASKED_PIN), rte);
	guest_irq_window();
	__GUEST_ASSERT(irqs[0][VECTOR_A] == 1, "%u interrupts after unmasking an asserted "
		       "level pin, expected 1", irqs[0][VECTOR_A]);
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REDTBL_LO(MASKED_PIN)), rte | IOAPIC_RTE_REMOTE_IRR);
	GUEST_SYNC(1);				/* the host lowers the line */
	xapic_write(APIC_EOI, 0);
	guest_irq_window();
	GUEST_ASSERT_EQ(irqs[0][VECTOR_A], 1);
	GUEST_DONE();
}

KVM_TEST(ioapic_unmasking_an_asserted_level_pin_delivers_it)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	TEST_REQUIRE_CAP(KVM_CAP_IRQ_INJECT_STATUS);
	vm = irq_vm(&vcpu, 1, guest_masked);
	vcpu_run_expect_sync(vcpu, 0);
	EXPECT_LE(irq_line(vm, MASKED_PIN, 1), 0) TH_LOG("a masked pin reported delivery");
	vcpu_run_expect_sync(vcpu, 1);
	irq_line(vm, MASKED_PIN, 0);
	vcpu_run_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- MSIs ---- */

struct msi_case {
	const char *what;
	uint32_t dest;
	bool logical;
	uint64_t got[2];	/* interrupts each vCPU takes */
};

static const struct msi_case msi_cases[] = {
	{ "physical, APIC ID 1", 1, false, { 0, 1 } },
	{ "physical, APIC ID 0", 0, false, { 1, 0 } },
	{ "physical broadcast 0xff", 0xff, false, { 1, 1 } },
	{ "logical flat, LDR bit 1", 0x02, true, { 0, 1 } },
	{ "logical flat, LDR bits 0 and 1", 0x03, true, { 1, 1 } },
	{ "logical flat, LDR bit 0", 0x01, true, { 1, 0 } },
	{ "logical flat, LDR bit 5 (no vCPU)", 0x20, true, { 0, 0 } },
};

KVM_TEST(msi_reaches_the_destinations_its_address_names)
{
	uint64_t total[2] = { 0, 0 };
	struct kvm_vcpu *vcpus[2];
	struct kvm_vm *vm;

	TEST_REQUIRE_CAP(KVM_CAP_SIGNAL_MSI);
	vm = irq_vm(vcpus, 2, guest_report_loop);
	for (int v = 0; v < 2; v++)
		ASSERT_EQ(run_counts(vcpus[v], NULL), 0);

	for (size_t i = 0; i < ARRAY_SIZE(msi_cases); i++) {
		const struct msi_case *c = &msi_cases[i];
		struct kvm_msi msi = {
			.address_lo = MSI_ADDR(c->dest, c->logical),
			.data = VECTOR_A,	/* fixed, edge */
		};
		int r = __vm_ioctl(vm, KVM_SIGNAL_MSI, &msi);

		if (c->got[0] || c->got[1])
			EXPECT_GT(r, 0) TH_LOG("%s: KVM_SIGNAL_MSI returned %d (errno %d)", c->what,
					       r, errno);
		for (int v = 0; v < 2; v++) {
			uint64_t now = run_counts(vcpus[v], NULL);

			EXPECT_EQ(now - total[v], c->got[v])
				TH_LOG("%s: vCPU %d took %lu interrupts", c->what, v,
				       (unsigned long)(now - total[v]));
			total[v] = now;
		}
	}
	kvm_vm_free(vm);
}

/* ---- GSI routes and irqfds ---- */

static void set_msi_route(struct kvm_vm *vm, uint32_t gsi, uint32_t vector)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[1];
	} table = {
		.r.nr = 1,
		.e[0] = {
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = MSI_ADDR(0, false), .data = vector },
		},
	};

	vm_ioctl(vm, KVM_SET_GSI_ROUTING, &table);
}

static void eventfd_signal_once(int fd)
{
	uint64_t one = 1;

	TEST_ASSERT(write(fd, &one, sizeof(one)) == sizeof(one), "eventfd write: errno %d",
		    errno);
}

KVM_TEST(msi_route_delivers_from_irq_line_and_irqfd)
{
	struct kvm_irqfd irqfd = { .gsi = MSI_GSI };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t b;
	int efd;

	TEST_REQUIRE_CAP(KVM_CAP_IRQ_ROUTING);
	TEST_REQUIRE_CAP(KVM_CAP_IRQFD);
	vm = irq_vm(&vcpu, 1, guest_report_loop);
	ASSERT_EQ(run_counts(vcpu, NULL), 0);
	set_msi_route(vm, MSI_GSI, VECTOR_A);

	/* KVM_IRQ_LINE on an MSI route: the MSI, on the rising level. */
	irq_line(vm, MSI_GSI, 1);
	irq_line(vm, MSI_GSI, 0);
	EXPECT_EQ(run_counts(vcpu, &b), 1);
	EXPECT_EQ(b, 0);

	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_GE(efd, 0);
	irqfd.fd = efd;
	vm_ioctl(vm, KVM_IRQFD, &irqfd);
	ASSERT_EQ(__vm_ioctl(vm, KVM_IRQFD, &irqfd), -1) TH_LOG("the same eventfd twice");
	EXPECT_EQ(errno, EBUSY);

	eventfd_signal_once(efd);
	EXPECT_EQ(run_counts(vcpu, &b), 2);
	EXPECT_EQ(b, 0);

	/* A new routing table: the irqfd now raises the new vector. */
	set_msi_route(vm, MSI_GSI, VECTOR_B);
	eventfd_signal_once(efd);
	EXPECT_EQ(run_counts(vcpu, &b), 2);
	EXPECT_EQ(b, 1) TH_LOG("the irqfd did not follow KVM_SET_GSI_ROUTING");

	irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
	vm_ioctl(vm, KVM_IRQFD, &irqfd);
	eventfd_signal_once(efd);
	EXPECT_EQ(run_counts(vcpu, &b), 2);
	EXPECT_EQ(b, 1) TH_LOG("a deassigned irqfd still interrupts");
	close(efd);
	kvm_vm_free(vm);
}

static void guest_resample(void)
{
	uint32_t rte = IOAPIC_RTE_LEVEL | VECTOR_A;

	guest_apic_setup();
	guest_no_eoi = true;
	ioapic_write(IOAPIC_REDTBL_HI(RESAMPLE_PIN), 0);
	ioapic_write(IOAPIC_REDTBL_LO(RESAMPLE_PIN), rte);
	GUEST_SYNC(0);				/* the host signals the irqfd */

	guest_irq_window();
	GUEST_ASSERT_EQ(irqs[0][VECTOR_A], 1);
	GUEST_SYNC(1);				/* the host: no resample yet */

	xapic_write(APIC_EOI, 0);			/* the resample: KVM lowers the line */
	guest_irq_window();
	__GUEST_ASSERT(irqs[0][VECTOR_A] == 1, "%u interrupts after the EOI of a resampling "
		       "irqfd's level interrupt, expected 1 (RTE 0x%x)", irqs[0][VECTOR_A],
		       ioapic_read(IOAPIC_REDTBL_LO(RESAMPLE_PIN)));
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REDTBL_LO(RESAMPLE_PIN)), rte);
	GUEST_DONE();
}

/* Poll KVM_GET_IRQCHIP until IOAPIC pin @pin's line is high, for at most @ms. */
static bool wait_ioapic_irr(struct kvm_vm *vm, int pin, int ms)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	int waited;

	for (waited = 0; waited <= ms; waited++) {
		vm_ioctl(vm, KVM_GET_IRQCHIP, &chip);
		if (chip.chip.ioapic.irr & BIT(pin))
			return true;
		usleep(1000);
	}
	return false;
}

KVM_TEST(resampling_irqfd_deasserts_on_eoi_and_notifies)
{
	struct kvm_irqfd irqfd = { .gsi = RESAMPLE_PIN, .flags = KVM_IRQFD_FLAG_RESAMPLE };
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	struct kvm_vcpu *vcpu;
	struct pollfd pfd;
	struct kvm_vm *vm;
	uint64_t n = 0;

	TEST_REQUIRE_CAP(KVM_CAP_IRQFD_RESAMPLE);
	vm = irq_vm(&vcpu, 1, guest_resample);
	irqfd.fd = eventfd(0, EFD_CLOEXEC);
	irqfd.resamplefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_GE(irqfd.fd, 0);
	ASSERT_GE(irqfd.resamplefd, 0);
	vm_ioctl(vm, KVM_IRQFD, &irqfd);
	vcpu_run_expect_sync(vcpu, 0);

	/*
	 * An irqfd on an IOAPIC pin cannot inject from the eventfd's wakeup
	 * (atomic context); KVM defers it to a work item.  Wait, bounded, for
	 * the pin to rise before the guest looks for the interrupt.
	 */
	eventfd_signal_once(irqfd.fd);
	ASSERT_TRUE(wait_ioapic_irr(vm, RESAMPLE_PIN, 5000))
		TH_LOG("the irqfd did not assert IOAPIC pin %d within 5 s", RESAMPLE_PIN);
	vcpu_run_expect_sync(vcpu, 1);
	vm_ioctl(vm, KVM_GET_IRQCHIP, &chip);
	EXPECT_TRUE(chip.chip.ioapic.irr & BIT(RESAMPLE_PIN)) TH_LOG("the pin is not asserted");
	EXPECT_EQ(read(irqfd.resamplefd, &n, sizeof(n)), -1) TH_LOG("resampled before the EOI");

	vcpu_run_expect_done(vcpu);
	pfd = (struct pollfd){ .fd = irqfd.resamplefd, .events = POLLIN };
	ASSERT_EQ(poll(&pfd, 1, 5000), 1) TH_LOG("no resample notification within 5 s of the EOI");
	ASSERT_EQ(read(irqfd.resamplefd, &n, sizeof(n)), sizeof(n));
	EXPECT_EQ(n, 1);
	vm_ioctl(vm, KVM_GET_IRQCHIP, &chip);
	EXPECT_FALSE(chip.chip.ioapic.irr & BIT(RESAMPLE_PIN)) TH_LOG("still asserted");
	close(irqfd.fd);
	close(irqfd.resamplefd);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
