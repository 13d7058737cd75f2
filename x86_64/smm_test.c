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
 *
 * Also checked:
 *  - RSM restores the full 64-bit RIP saved in the state-save area (AMD64
 *    layout, RIP at SMBASE + 0xff78; APM vol. 2 10.2.3, table 10-2): an SMI
 *    taken while the guest runs code above 4 GiB returns there, not to the
 *    RIP truncated to 32 bits (KVM's RSM is emulated in the handler's
 *    16-bit mode and must switch the emulator back to 64-bit mode).
 *  - An SMI wakes a halted processor (SDM vol. 3C 32.10 "Auto HALT
 *    Restart": an SMI received in the HALT state is serviced, the saved
 *    state records the halt): a vCPU in KVM_MP_STATE_HALTED that gets
 *    KVM_SMI (api.rst) runs its SMI handler.
 *  - KVM_SET_VCPU_EVENTS's smi.pending makes an SMI pending (api.rst), and
 *    an SMI that arrives in SMM is latched until RSM (SDM vol. 3C chapter 32).
 * Upstream's x86_64/smm_test.c has these ideas too, and migrates a vCPU
 * while in SMM: vcpu_migrate_test.c does that here.
 *
 * Caught bugs: bugs/smm-rsm-emulator-mode-stale.patch,
 *              bugs/smm-smi-does-not-wake-halted-vcpu.patch,
 *              bugs/smm-set-events-drops-smi-pending.patch,
 *              bugs/smm-smi-in-smm-dropped.patch
 */
#include <string.h>

#include "guest/apic.h"
#include "guest/guest.h"
#include "kvm_test_harness.h"

#define SMM_PORT		0x99
#define SMRAM_PAGES		16		/* SMBASE .. SMBASE + 64 KiB */
#define SMM_HANDLER		0x8000		/* SMBASE + 0x8000: first instruction */
#define SMM_SAVE_AREA		0xfe00		/* SMBASE + 0xfe00 .. 0xffff */

static void guest_self_smi(void)
{
	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	/* Physical destination APIC ID 0 (this vCPU): no shorthand with SMI. */
	xapic_write(APIC_ICR_HI, 0);
	xapic_write(APIC_ICR_LO, APIC_DM_SMI | APIC_LEVEL_ASSERT);
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
	virt_map_mmio(vm, APIC_DEFAULT_GPA, PAGE_SIZE);
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

/* SMBASE + 0xfe00 + 0x178: RIP in the AMD64 state-save map KVM uses for 64-bit guests. */
#define SMRAM_SAVED_RIP		(SMM_SAVE_AREA + 0x178)
/* Code above 4 GiB: an alias of the stub's pages whose low 32 bits are the stub's own. */
#define HIGH_ALIAS		0x8000000000ULL

/*
 * Sends this vCPU an SMI from above 4 GiB (when called through the alias)
 * and returns the RIP it resumed at after RSM: the address of "1:" as it
 * runs (RIP-relative).  Its only memory reference is the LAPIC's absolute
 * address, so the alias runs it unchanged.
 */
uint64_t smi_stub(void);
asm(".pushsection .text\n"
    ".global smi_stub\n"
    "smi_stub:\n"
    "	movl $0xfee00300, %edx\n"		/* LAPIC ICR low */
    "	movl $0x4200, %eax\n"			/* APIC_DM_SMI | APIC_LEVEL_ASSERT */
    "	movl %eax, (%rdx)\n"			/* the SMI is taken after this */
    "1:	leaq 1b(%rip), %rax\n"
    "	ret\n"
    ".popsection\n");
_Static_assert(APIC_DEFAULT_GPA + APIC_ICR_LO == 0xfee00300, "smi_stub's LAPIC ICR low");
_Static_assert((APIC_DM_SMI | APIC_LEVEL_ASSERT) == 0x4200, "smi_stub's ICR value");

/* A VM with an in-kernel LAPIC and the OUT/RSM handler at SMBASE; returns SMBASE. */
static uint64_t smm_vm_create(struct kvm_vm **vmp, struct kvm_vcpu **vcpup, void *guest_code)
{
	static const uint8_t handler[] = { 0xe6, SMM_PORT, 0x0f, 0xaa };
	struct kvm_vm *vm;
	uint64_t smbase;

	TEST_REQUIRE_CAP(KVM_CAP_X86_SMM);
	vm = vm_create_opts(&(struct vm_opts){ .irqchip = true });
	virt_map_mmio(vm, APIC_DEFAULT_GPA, PAGE_SIZE);
	*vcpup = vm_vcpu_add(vm, 0, guest_code);
	smbase = vm_phys_alloc(vm, SMRAM_PAGES);
	TEST_ASSERT(smbase + SMRAM_PAGES * PAGE_SIZE < (1ULL << 32), "SMBASE %#lx above 4 GiB",
		    smbase);
	memcpy(addr_gpa2hva(vm, smbase + SMM_HANDLER), handler, sizeof(handler));
	vcpu_set_msr(*vcpup, MSR_IA32_SMBASE, smbase);
	*vmp = vm;
	return smbase;
}

/* The handler's OUT: in SMM, flagged so. */
static void expect_smm_handler_exit(struct kvm_vcpu *vcpu)
{
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	TEST_ASSERT(vcpu->run->io.port == SMM_PORT && (vcpu->run->flags & KVM_RUN_X86_SMM),
		    "expected the SMI handler's OUT to port %#x in SMM, got port %#x flags %#x",
		    SMM_PORT, vcpu->run->io.port, vcpu->run->flags);
}

static void guest_smi_above_4g(void)
{
	uint64_t (*high)(void) = (void *)((uintptr_t)smi_stub + HIGH_ALIAS);
	uint64_t rip;

	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	xapic_write(APIC_ICR_HI, 0);
	rip = high();
	__GUEST_ASSERT(rip >= HIGH_ALIAS, "RSM resumed at RIP %#lx, not in the stub's alias "
		       "at %#lx (+%#lx) where the SMI was taken: RIP lost its bits 63:32", rip,
		       (uint64_t)(uintptr_t)high, (uint64_t)HIGH_ALIAS);
	GUEST_SYNC(rip);
}

KVM_TEST(rsm_returns_to_a_rip_above_4g)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t smbase, stub = (uintptr_t)smi_stub, saved;
	struct ucall uc;

	smbase = smm_vm_create(&vm, &vcpu, guest_smi_above_4g);
	/* Two pages: the stub may straddle a page boundary. */
	virt_map(vm, HIGH_ALIAS + (stub & ~(PAGE_SIZE - 1)), stub & ~(PAGE_SIZE - 1),
		 2 * PAGE_SIZE, PTE_DEFAULT);

	expect_smm_handler_exit(vcpu);
	/* KVM saved the interrupted RIP, the stub's "1:" in the alias. */
	memcpy(&saved, addr_gpa2hva(vm, smbase + SMRAM_SAVED_RIP), sizeof(saved));
	printf("# SMI taken at RIP %#lx (saved at SMBASE + %#x)\n", saved, SMRAM_SAVED_RIP);
	EXPECT_GE(saved, HIGH_ALIAS + stub) TH_LOG("saved RIP %#lx is not in the alias", saved);
	EXPECT_LT(saved, HIGH_ALIAS + stub + 32);

	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		report_guest_abort(vcpu, &uc);
	ASSERT_EQ(uc.cmd, UCALL_SYNC) TH_LOG("exit %s", exit_reason_str(vcpu->run->exit_reason));
	EXPECT_EQ(uc.args[0], saved) TH_LOG("RSM returned to %#lx, SMI was taken at %#lx",
					    uc.args[0], saved);
	kvm_vm_free(vm);
}

static void guest_sync_twice(void)
{
	GUEST_SYNC(1);		/* the host halts the vCPU here and sends an SMI */
	GUEST_SYNC(2);
}

KVM_TEST(smi_wakes_a_halted_vcpu)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_HALTED };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	smm_vm_create(&vm, &vcpu, guest_sync_twice);
	vcpu_run_expect_sync(vcpu, 1);
	/* Halted with IF=0 and nothing else pending: only the SMI can wake it. */
	vcpu_mp_state_set(vcpu, &mp);
	vcpu_ioctl(vcpu, KVM_SMI, NULL);
	/* Under the harness's 30 s test timeout even scaled x20 for QEMU TCG. */
	vcpu->timeout_ms = 1000;
	printf("# vCPU halted, KVM_SMI sent: the SMI handler must run\n");
	expect_smm_handler_exit(vcpu);
	vcpu_run_expect_sync(vcpu, 2);
	vcpu_mp_state_get(vcpu, &mp);
	EXPECT_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE);
	kvm_vm_free(vm);
}

/*
 * api.rst KVM_SET_VCPU_EVENTS with KVM_VCPUEVENT_VALID_SMM: smi.pending
 * makes an SMI pending, as KVM_SMI does; the vCPU takes it at its next
 * instruction boundary, and KVM_GET_VCPU_EVENTS then says "in SMM", no
 * longer pending.
 */
KVM_TEST(smi_made_pending_by_set_vcpu_events_is_taken)
{
	struct kvm_vcpu_events ev;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	smm_vm_create(&vm, &vcpu, guest_sync_twice);
	vcpu_run_expect_sync(vcpu, 1);
	vcpu_events_get(vcpu, &ev);
	ASSERT_EQ(ev.smi.smm, 0);
	ev.flags = KVM_VCPUEVENT_VALID_SMM;
	ev.smi.pending = 1;
	vcpu_events_set(vcpu, &ev);
	vcpu_events_get(vcpu, &ev);
	EXPECT_EQ(ev.smi.pending, 1) TH_LOG("KVM_GET_VCPU_EVENTS lost the SMI set pending");

	expect_smm_handler_exit(vcpu);
	vcpu_events_get(vcpu, &ev);
	EXPECT_EQ(ev.smi.smm, 1);
	EXPECT_EQ(ev.smi.pending, 0) TH_LOG("the SMI was taken but is still pending");
	vcpu_run_expect_sync(vcpu, 2);
	kvm_vm_free(vm);
}

/*
 * An SMI that arrives in SMM is latched, not lost, and serviced after RSM
 * (SDM vol. 3C chapter 32: SMIs are blocked while in SMM and one is held
 * pending until RSM; APM vol. 2 chapter 10 likewise):
 * KVM_SMI sent while the handler runs leaves smi.pending = 1 in SMM, and the
 * handler runs a second time right after its RSM, before the guest's next
 * instruction.
 */
KVM_TEST(smi_in_smm_is_latched_until_rsm)
{
	struct kvm_vcpu_events ev;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	smm_vm_create(&vm, &vcpu, guest_sync_twice);
	vcpu_run_expect_sync(vcpu, 1);
	vcpu_ioctl(vcpu, KVM_SMI, NULL);
	expect_smm_handler_exit(vcpu);

	vcpu_ioctl(vcpu, KVM_SMI, NULL);
	vcpu_events_get(vcpu, &ev);
	EXPECT_EQ(ev.smi.smm, 1);
	EXPECT_EQ(ev.smi.pending, 1) TH_LOG("an SMI sent in SMM is not pending");
	/* RSM, then the latched SMI: the handler's OUT again, in SMM. */
	expect_smm_handler_exit(vcpu);
	vcpu_events_get(vcpu, &ev);
	EXPECT_EQ(ev.smi.pending, 0);
	vcpu_run_expect_sync(vcpu, 2);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
