// SPDX-License-Identifier: GPL-2.0-only
/*
 * System-management mode as KVM emulates it (KVM_CAP_X86_SMM).  A guest
 * that sends itself an SMI through its local APIC's ICR (delivery mode
 * 010b, SDM vol. 3A 11.6.1) enters SMM at the next instruction boundary,
 * runs the SMI handler at SMBASE + 0x8000 in a real-address-like mode with
 * CS base = SMBASE, and RSM returns it to the interrupted instruction
 * stream (SDM vol. 3C 32.2-32.5; APM vol. 2 10.3).
 *
 * The host moves SMBASE to pages of the test's own (MSR_IA32_SMBASE,
 * which KVM lets only the host write) and puts a two-instruction handler
 * there: OUT to a port (an exit KVM flags KVM_RUN_X86_SMM), then RSM.
 */
#include <string.h>

#include "guest.h"
#include "kvm_test_harness.h"

#define MSR_IA32_SMBASE		0x9e
#define LAPIC_GPA		0xfee00000ULL
#define APIC_SVR		0xf0
#define APIC_ICR_LO		0x300
#define APIC_ICR_HI		0x310
#define APIC_SVR_ENABLE		(1u << 8)
#define APIC_DM_SMI		(2u << 8)
#define APIC_LEVEL_ASSERT	(1u << 14)
#define SMM_PORT		0x99
#define SMRAM_PAGES		16		/* SMBASE .. SMBASE + 64 KiB */
#define SMM_HANDLER		0x8000		/* SMBASE + 0x8000: first instruction */
#define SMM_SAVE_AREA		0xfe00		/* SMBASE + 0xfe00 .. 0xffff */

static void lapic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)(uintptr_t)(LAPIC_GPA + reg) = val;
}

static void guest_self_smi(void)
{
	lapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	/* Physical destination APIC ID 0 (this vCPU): no shorthand with SMI. */
	lapic_write(APIC_ICR_HI, 0);
	lapic_write(APIC_ICR_LO, APIC_DM_SMI | APIC_LEVEL_ASSERT);
	GUEST_SYNC(1);
}

KVM_TEST(self_smi_enters_smm_and_rsm_returns)
{
	/* 16-bit code at CS:0x8000: out %al, $SMM_PORT; rsm */
	static const uint8_t handler[] = { 0xe6, SMM_PORT, 0x0f, 0xaa };
	struct kvm_vcpu_events ev;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t smbase;
	uint8_t *save;
	bool saved = false;

	TEST_REQUIRE_CAP(KVM_CAP_X86_SMM);
	vm = vm_create_opts(&(struct vm_opts){ .irqchip = true });
	virt_map_mmio(vm, LAPIC_GPA, PAGE_SIZE);
	vcpu = vm_vcpu_add(vm, 0, guest_self_smi);
	smbase = vm_phys_alloc(vm, SMRAM_PAGES);
	ASSERT_LT(smbase + SMRAM_PAGES * PAGE_SIZE, 1ULL << 32);
	memcpy(addr_gpa2hva(vm, smbase + SMM_HANDLER), handler, sizeof(handler));
	vcpu_set_msr(vcpu, MSR_IA32_SMBASE, smbase);

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	EXPECT_EQ(vcpu->run->io.port, SMM_PORT);
	EXPECT_NE(vcpu->run->flags & KVM_RUN_X86_SMM, 0)
		TH_LOG("the handler's OUT exit is not flagged KVM_RUN_X86_SMM");
	vcpu_events_get(vcpu, &ev);
	EXPECT_EQ(ev.smi.smm, 1) TH_LOG("KVM_GET_VCPU_EVENTS: not in SMM in the handler");
	/* On entry KVM saved the interrupted state at SMBASE + 0xfe00. */
	save = addr_gpa2hva(vm, smbase + SMM_SAVE_AREA);
	for (unsigned int i = 0; i < 0x200; i++)
		saved |= save[i] != 0;
	EXPECT_TRUE(saved) TH_LOG("nothing written to the state-save area");

	/* RSM back to the guest, which reports from after its ICR write. */
	vcpu_run_expect_sync(vcpu, 1);
	EXPECT_EQ(vcpu->run->flags & KVM_RUN_X86_SMM, 0);
	vcpu_events_get(vcpu, &ev);
	EXPECT_EQ(ev.smi.smm, 0) TH_LOG("still in SMM after RSM");
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
