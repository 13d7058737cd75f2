// SPDX-License-Identifier: GPL-2.0-only
/*
 * Nested virtualization, the ideas common to both vendors, each written
 * once on include/nested.h: L1 runs L2 and sees
 *  - CPUID, HLT, an intercepted I/O port and an intercepted MSR as exits
 *    of their kind (SVM: APM 15.9-15.11; VMX: SDM vol. 3C 25.1), while a
 *    port or MSR L1 does not intercept goes on without L1 (here: a ucall
 *    from L2 reaches the host directly);
 *  - a hypercall (VMMCALL/VMCALL) with its argument;
 *  - and KVM_GET_NESTED_STATE / KVM_SET_NESTED_STATE taken while L2 runs
 *    puts L2 back exactly where it was (api.rst).
 * Each test SKIPs where KVM offers neither SVM nor VMX.
 */
#include "kvm_test_harness.h"
#include "nested.h"

#define MSR_TEST_INTERCEPTED	MSR_IA32_SYSENTER_CS
#define PORT_TEST		0x80

static void l2_exits(void)
{
	uint32_t eax = 0, ebx, ecx = 0, edx;
	uint64_t tsc_aux;

	asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	asm volatile("hlt");
	outb(PORT_TEST, 0x5a);
	tsc_aux = rdmsr(MSR_TEST_INTERCEPTED);
	/* Not intercepted: L2 reads the MSR itself. */
	nested_hypercall(0x1234 + (uint32_t)rdmsr(MSR_KERNEL_GS_BASE) + (tsc_aux & 0));
}

static void l1_exits(struct nested_pages *pages)
{
	struct nested n;
	enum nested_exit e;

	nested_init(&n, pages, l2_exits);
	GUEST_PRINTF("L1: %s, SVM features 0x%x", n.vendor == NESTED_SVM ? "SVM" : "VMX",
		     n.vendor == NESTED_SVM ? svm_features() : 0);
	nested_intercept(&n, NESTED_INTERCEPT_CPUID, 0);
	nested_intercept(&n, NESTED_INTERCEPT_HLT, 0);
	nested_intercept(&n, NESTED_INTERCEPT_IO, PORT_TEST);
	nested_intercept(&n, NESTED_INTERCEPT_MSR, MSR_TEST_INTERCEPTED);
	wrmsr(MSR_KERNEL_GS_BASE, 0x10);

	e = nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_CPUID, "exit %s (raw 0x%lx), expected CPUID",
		       nested_exit_name(e), n.raw_exit);
	nested_skip(&n, 2);
	e = nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_HLT, "exit %s (raw 0x%lx), expected HLT",
		       nested_exit_name(e), n.raw_exit);
	nested_skip(&n, 1);
	e = nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_IO && n.qual == PORT_TEST && n.is_write,
		       "exit %s (raw 0x%lx) port 0x%lx write %d, expected OUT to 0x%x",
		       nested_exit_name(e), n.raw_exit, n.qual, n.is_write, PORT_TEST);
	nested_skip(&n, 2);
	e = nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_MSR && n.qual == MSR_TEST_INTERCEPTED && !n.is_write,
		       "exit %s (raw 0x%lx) MSR 0x%lx write %d, expected RDMSR 0x%x",
		       nested_exit_name(e), n.raw_exit, n.qual, n.is_write,
		       MSR_TEST_INTERCEPTED);
	nested_skip(&n, 2);
	e = nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_HYPERCALL, "exit %s (raw 0x%lx), expected a hypercall",
		       nested_exit_name(e), n.raw_exit);
	GUEST_ASSERT_EQ(nested_l2_rax(&n), 0x1234 + 0x10);
	GUEST_DONE();
}

KVM_ONE_VCPU_TEST(l1_sees_l2_exits, l1_exits)
{
	TEST_REQUIRE_NESTED();
	nested_run_until_done(vm, vcpu);
}

/* ---- nested state while L2 runs ---- */

static void l2_syncs(void)
{
	register uint64_t keep asm("r12") = 0xfeedface;

	/* The ucall port is not intercepted: this exits from L2 to the host. */
	GUEST_SYNC(0x12);
	asm volatile("" : "+r"(keep));
	GUEST_SYNC(0x13, keep);
	nested_hypercall(0x77);
}

static void l1_state(struct nested_pages *pages)
{
	struct nested n;
	enum nested_exit e;

	nested_init(&n, pages, l2_syncs);
	e = nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_HYPERCALL, "exit %s (raw 0x%lx), expected a hypercall",
		       nested_exit_name(e), n.raw_exit);
	GUEST_ASSERT_EQ(nested_l2_rax(&n), 0x77);
	GUEST_DONE();
}

KVM_ONE_VCPU_TEST(nested_state_round_trip_while_l2_runs, l1_state)
{
	struct kvm_nested_state *st;
	struct ucall uc;
	int size;

	TEST_REQUIRE_NESTED();
	TEST_REQUIRE_CAP(KVM_CAP_NESTED_STATE);
	size = kvm_check_cap(KVM_CAP_NESTED_STATE);
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	vcpu_run_expect_sync(vcpu, 0x12);

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

TEST_HARNESS_MAIN
