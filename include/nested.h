/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Nested virtualization, vendor-neutral: L1 guest code runs an L2 function
 * and gets each exit back as a common reason, so a test whose idea is the
 * same on both vendors is written once.  This is the host side (lib/nested.c);
 * L1's API is guest/nested.h (guest_lib/nested.c), the vendor layers
 * guest/svm.h (AMD, guest_lib/svm.c) and guest/vmx.h (Intel,
 * guest_lib/vmx.c) for tests of vendor-specific behaviour.
 *
 * How to write a nested test:
 *
 *	static void l2_code(void)
 *	{
 *		uint32_t eax = 0, ebx, ecx = 0, edx;
 *
 *		asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
 *		guest_nested_hypercall(42);		// VMMCALL or VMCALL: back to L1
 *	}
 *
 *	static void l1_code(struct nested_pages *pages)
 *	{
 *		struct nested n;
 *
 *		guest_nested_init(&n, pages, l2_code);
 *		guest_nested_intercept(&n, NESTED_INTERCEPT_CPUID, 0);
 *		GUEST_ASSERT_EQ(guest_nested_run(&n), NESTED_EXIT_CPUID);
 *		guest_nested_skip(&n, 2);		// CPUID is 2 bytes
 *		GUEST_ASSERT_EQ(guest_nested_run(&n), NESTED_EXIT_HYPERCALL);
 *		GUEST_ASSERT_EQ(guest_nested_l2_rax(&n), 42);
 *		GUEST_DONE();
 *	}
 *
 *	KVM_VCPU_TEST(cpuid_exits, l1_code)
 *	{
 *		TEST_REQUIRE_NESTED();
 *		vcpu_args_set(vcpu, 1, nested_alloc(vm));
 *		vcpu_run_expect_done(vcpu);
 *	}
 *
 * Nested paging (SVM NPT, VMX EPT) is one call: guest_nested_tdp_enable() gives
 * L2 an identity map of the first 4 GiB of guest-physical memory and
 * guest_nested_tdp_set_present() takes a page out of it (or puts it back):
 *
 *	const char *why = guest_nested_tdp_unsupported();
 *
 *	if (why)
 *		guest_nested_skip_test(why);		// the host test SKIPs with it
 *	guest_nested_init(&n, pages, l2_code);
 *	guest_nested_tdp_enable(&n);
 *	guest_nested_tdp_set_present(&n, gpa, false);	// L2's access: NESTED_EXIT_NPF
 *
 * and the host runs L1 with NESTED_RUN_L1(vm, vcpu), which SKIPs for that.
 *
 * L2 shares L1's page tables, GDT, IDT and per-vCPU data (GS), so guest
 * library code (GUEST_ASSERT, ucalls, exception handlers) works in L2 too;
 * it gets its own stack.  A ucall from L2 reaches the host directly when L1
 * does not intercept the port.
 */
#ifndef KVM_SUITE_NESTED_H
#define KVM_SUITE_NESTED_H

#include <stdbool.h>

#include "kvm_util.h"
#include "vcpu_state.h"
#include "x86/nested.h"

/* Pages for one nested set-up; returns the guest address to pass to L1. */
uint64_t nested_alloc(struct kvm_vm *vm);
bool kvm_has_nested(const char **why);
/*
 * Give L1 (the vCPU's guest function) its pages and run it until GUEST_DONE
 * (returns NULL) or guest_nested_skip_test() (returns its reason).
 */
const char *nested_run_until_done_at(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
				     const char *file, unsigned int line)
	__attribute__((warn_unused_result));
#define nested_run_until_done(vm, vcpu)						\
	nested_run_until_done_at(vm, vcpu, __FILE__, __LINE__)
/* Run L1 until it has guest_nested_skip_test()ped (NULL: it did not), skipping SYNCs. */
const char *nested_run_l1_at(struct kvm_vm *vm, struct kvm_vcpu *vcpu, const char *file,
			     unsigned int line)
	__attribute__((warn_unused_result));
#define nested_run_l1(vm, vcpu)	nested_run_l1_at(vm, vcpu, __FILE__, __LINE__)
/* In a test body: nested_run_until_done(), and SKIP if L1 asked to. */
#define NESTED_RUN_L1(vm, vcpu) do {						\
	const char *__skip = nested_run_until_done(vm, vcpu);			\
									\
	if (__skip)								\
		SKIP(return, "%s", __skip);					\
} while (0)

/*
 * Move a vCPU to another VM, L2 and all (a live migration): the whole vCPU
 * as include/vcpu_state.h saves it, plus KVM_GET_NESTED_STATE, which
 * vcpu_state_load() sets last (it builds on EFER, CR state and the MSRs).
 * The new VM must have the same memslots (vm_memory_copy()).
 */
struct vcpu_saved *nested_vcpu_state_save_at(struct kvm_vcpu *vcpu, const char *file,
					     unsigned int line);
#define nested_vcpu_state_save(vcpu)	nested_vcpu_state_save_at(vcpu, __FILE__, __LINE__)
#define nested_vcpu_state_load(vcpu, st)	vcpu_state_load(vcpu, st)
void nested_vcpu_state_free(struct vcpu_saved *st);

#define TEST_REQUIRE_NESTED() do {						\
	const char *__why;							\
	TEST_REQUIRE_MSG(kvm_has_nested(&__why), "%s", __why);		\
} while (0)
#define TEST_REQUIRE_SVM()							\
	TEST_REQUIRE_MSG(kvm_cpu_has(X86_FEATURE_SVM), "no SVM: KVM_GET_SUPPORTED_CPUID lacks "	\
			 "0x80000001 ECX.SVM (needs kvm_amd nested=1)")
/* A test whose L1 code is l1_fn, run where KVM offers SVM (SKIP elsewhere). */
#define SVM_TEST(name, l1_fn)							\
	KVM_VCPU_TEST(name, l1_fn)						\
	{									\
		TEST_REQUIRE_SVM();						\
		NESTED_RUN_L1(vm, vcpu);					\
	}
#define TEST_REQUIRE_VMX()							\
	TEST_REQUIRE_MSG(kvm_cpu_has(X86_FEATURE_VMX), "no VMX: KVM_GET_SUPPORTED_CPUID lacks "	\
			 "1 ECX.VMX (needs kvm_intel nested=1)")
/* A test whose L1 code is l1_fn, run where KVM offers VMX (SKIP elsewhere). */
#define VMX_TEST(name, l1_fn)							\
	KVM_VCPU_TEST(name, l1_fn)						\
	{									\
		TEST_REQUIRE_VMX();						\
		NESTED_RUN_L1(vm, vcpu);					\
	}

#endif /* KVM_SUITE_NESTED_H */
