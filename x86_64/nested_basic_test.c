// SPDX-License-Identifier: GPL-2.0-only
/*
 * Nested virtualization, the ideas common to both vendors, each written
 * once on include/nested.h: L1 runs L2 and sees
 *  - CPUID, HLT, an intercepted I/O port and an intercepted MSR as exits
 *    of their kind (SVM: APM 15.9-15.11; VMX: SDM vol. 3C 25.1), while a
 *    port or MSR L1 does not intercept goes on without L1 (here: a ucall
 *    from L2 reaches the host directly); L1 completes the intercepted
 *    RDMSR with a value of its own, which L2 must get in EDX:EAX;
 *  - a hypercall (VMMCALL/VMCALL) with its argument;
 *  - and KVM_GET_NESTED_STATE / KVM_SET_NESTED_STATE taken while L2 runs
 *    puts L2 back exactly where it was (api.rst), on the same vCPU and on
 *    a vCPU of a new VM with a copy of the memory (a migration): there L2
 *    carries on, and its exit goes to L1 as before.
 * Each test SKIPs where KVM offers neither SVM nor VMX.
 */
#include "kvm_test_harness.h"
#include "guest/nested.h"
#include "nested.h"

#define MSR_TEST_INTERCEPTED	MSR_IA32_SYSENTER_CS
#define PORT_TEST		0x80
/* What L1 makes the intercepted RDMSR return: unlike the MSR's real value (0). */
#define EMULATED_MSR_VALUE	0x1122334455667788ULL

static void l2_exits(void)
{
	uint32_t eax = 0, ebx, ecx = 0, edx;

	asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	asm volatile("hlt");
	outb(PORT_TEST, 0x5a);
	/* Intercepted: the value is L1's. */
	guest_nested_hypercall(rdmsr(MSR_TEST_INTERCEPTED));
	/* Not intercepted: L2 reads the MSR itself. */
	guest_nested_hypercall(0x1234 + (uint32_t)rdmsr(MSR_KERNEL_GS_BASE));
}

static void l1_exits(struct nested_pages *pages)
{
	struct nested n;
	enum nested_exit e;

	guest_nested_init(&n, pages, l2_exits);
	GUEST_PRINTF("L1: %s, SVM features 0x%x", n.vendor == NESTED_SVM ? "SVM" : "VMX",
		     n.vendor == NESTED_SVM ? svm_features() : 0);
	guest_nested_intercept(&n, NESTED_INTERCEPT_CPUID, 0);
	guest_nested_intercept(&n, NESTED_INTERCEPT_HLT, 0);
	guest_nested_intercept(&n, NESTED_INTERCEPT_IO, PORT_TEST);
	guest_nested_intercept(&n, NESTED_INTERCEPT_MSR, MSR_TEST_INTERCEPTED);
	wrmsr(MSR_KERNEL_GS_BASE, 0x10);

	e = guest_nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_CPUID, "exit %s (raw 0x%lx), expected CPUID",
		       guest_nested_exit_name(e), n.raw_exit);
	guest_nested_skip(&n, 2);
	e = guest_nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_HLT, "exit %s (raw 0x%lx), expected HLT",
		       guest_nested_exit_name(e), n.raw_exit);
	guest_nested_skip(&n, 1);
	e = guest_nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_IO && n.qual == PORT_TEST && n.is_write,
		       "exit %s (raw 0x%lx) port 0x%lx write %d, expected OUT to 0x%x",
		       guest_nested_exit_name(e), n.raw_exit, n.qual, n.is_write, PORT_TEST);
	guest_nested_skip(&n, 2);
	e = guest_nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_MSR && n.qual == MSR_TEST_INTERCEPTED && !n.is_write,
		       "exit %s (raw 0x%lx) MSR 0x%lx write %d, expected RDMSR 0x%x",
		       guest_nested_exit_name(e), n.raw_exit, n.qual, n.is_write,
		       MSR_TEST_INTERCEPTED);
	guest_nested_l2_set_msr_result(&n, EMULATED_MSR_VALUE);
	guest_nested_skip(&n, 2);
	e = guest_nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_HYPERCALL, "exit %s (raw 0x%lx), expected a hypercall",
		       guest_nested_exit_name(e), n.raw_exit);
	__GUEST_ASSERT(guest_nested_l2_rax(&n) == EMULATED_MSR_VALUE,
		       "L2's RDMSR got 0x%lx, L1 completed it with 0x%llx", guest_nested_l2_rax(&n),
		       EMULATED_MSR_VALUE);
	guest_nested_skip(&n, 3);
	e = guest_nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_HYPERCALL, "exit %s (raw 0x%lx), expected a hypercall",
		       guest_nested_exit_name(e), n.raw_exit);
	GUEST_ASSERT_EQ(guest_nested_l2_rax(&n), 0x1234 + 0x10);
	GUEST_DONE();
}

KVM_VCPU_TEST(l1_sees_l2_exits, l1_exits)
{
	TEST_REQUIRE_NESTED();
	NESTED_RUN_L1(vm, vcpu);
}

/* ---- nested state while L2 runs ---- */

static void l2_syncs(void)
{
	register uint64_t keep asm("r12") = 0xfeedface;

	/* The ucall port is not intercepted: this exits from L2 to the host. */
	GUEST_SYNC(0x12);
	asm volatile("" : "+r"(keep));
	GUEST_SYNC(0x13, keep);
	guest_nested_hypercall(0x77);
}

static void l1_state(struct nested_pages *pages)
{
	struct nested n;
	enum nested_exit e;

	guest_nested_init(&n, pages, l2_syncs);
	e = guest_nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_HYPERCALL, "exit %s (raw 0x%lx), expected a hypercall",
		       guest_nested_exit_name(e), n.raw_exit);
	GUEST_ASSERT_EQ(guest_nested_l2_rax(&n), 0x77);
	GUEST_DONE();
}

KVM_VCPU_TEST(nested_state_round_trip_while_l2_runs, l1_state)
{
	struct kvm_nested_state *st;
	struct ucall uc;
	int size;

	TEST_REQUIRE_NESTED();
	TEST_REQUIRE_CAP(KVM_CAP_NESTED_STATE);
	size = kvm_check_cap(KVM_CAP_NESTED_STATE);
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	vcpu_run_expect_sync(vcpu, 0x12);

	/*
	 * L2's ucall OUT is still pending: api.rst says to complete it
	 * (KVM_RUN with immediate_exit) before saving state.  kvm_amd
	 * re-decodes the instruction and hides a missing completion;
	 * kvm_intel's fresh vmcs02 has instruction length 0 and L2 would
	 * repeat its OUT.
	 */
	vcpu_complete_io(vcpu);
	st = calloc(1, size);
	ASSERT_NE(st, NULL);
	st->size = size;
	vcpu_ioctl(vcpu, KVM_GET_NESTED_STATE, st);
	printf("# nested state: format %u flags %#x size %u\n", st->format, st->flags, st->size);
	EXPECT_NE(st->flags & KVM_STATE_NESTED_GUEST_MODE, 0) TH_LOG("L2 is running");
	EXPECT_EQ(st->format, kvm_cpu_has(X86_FEATURE_SVM) ? KVM_STATE_NESTED_FORMAT_SVM :
						     KVM_STATE_NESTED_FORMAT_VMX);
	vcpu_ioctl(vcpu, KVM_SET_NESTED_STATE, st);
	free(st);

	/* L2 carries on from its ucall with its registers, then exits to L1. */
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	EXPECT_EQ(uc.args[0], 0x13);
	EXPECT_EQ(uc.args[1], 0xfeedface);
	vcpu_run_expect_done(vcpu);
}

KVM_VCPU_TEST(nested_state_moves_to_a_new_vm_while_l2_runs, l1_state)
{
	struct vcpu_saved *st;
	struct kvm_vcpu *vcpu2;
	struct kvm_vm *vm2;
	struct ucall uc;

	TEST_REQUIRE_NESTED();
	TEST_REQUIRE_CAP(KVM_CAP_NESTED_STATE);
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	vcpu_run_expect_sync(vcpu, 0x12);
	st = nested_vcpu_state_save(vcpu);

	/* Same ELF, same memslots: the new VM only needs the old one's memory contents. */
	vm2 = vm_create_with_one_vcpu(&vcpu2, l1_state);
	vm_memory_copy(vm2, vm);
	nested_vcpu_state_load(vcpu2, st);
	nested_vcpu_state_free(st);

	/* L2 carries on in the new VM, with its registers, then exits to L1 there. */
	ASSERT_EQ(vcpu_run_ucall(vcpu2, &uc), UCALL_SYNC);
	EXPECT_EQ(uc.args[0], 0x13);
	EXPECT_EQ(uc.args[1], 0xfeedface);
	vcpu_run_expect_done(vcpu2);
	kvm_vm_free(vm2);
}

TEST_HARNESS_MAIN
