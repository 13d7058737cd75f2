/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kselftest_harness.h glue.
 *
 * KVM_ONE_VCPU_TEST(name, guest_fn) defines a test that gets a fresh VM
 * with one vCPU set to run guest_fn; its body sees `vm` and `vcpu`:
 *
 *	static void guest_code(void) { GUEST_SYNC(42); }
 *
 *	KVM_ONE_VCPU_TEST(sync_value, guest_code)
 *	{
 *		vcpu_run_expect_sync(vcpu, 42);
 *		vcpu_run_expect_done(vcpu);
 *	}
 *
 *	TEST_HARNESS_MAIN
 *
 * KVM_TEST(name) is a plain test that creates what it needs itself.  In
 * both, TEST_REQUIRE*() skips record their reason in the TAP line, and
 * assertion failures fail only the current test (the harness forks one
 * process per test).
 */
#ifndef KVM_SUITE_TEST_HARNESS_H
#define KVM_SUITE_TEST_HARNESS_H

#include "kselftest_harness.h"
#include "kvm_util.h"

static struct __test_metadata *__kvm_current_test;

static inline void __kvm_harness_skip(const char *reason)
{
	if (__kvm_current_test && __kvm_current_test->results)
		snprintf(__kvm_current_test->results->reason,
			 sizeof(__kvm_current_test->results->reason), "%s", reason);
}

static inline void __kvm_harness_enter(struct __test_metadata *md)
{
	__kvm_current_test = md;
	test_skip_hook = __kvm_harness_skip;
}

/* Read and lay out the ELF once in the parent; every forked test inherits it. */
static void __attribute__((constructor)) __kvm_harness_prime(void)
{
	self_elf_image();
}

FIXTURE(kvm) {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
};

FIXTURE_SETUP(kvm)
{
	__kvm_harness_enter(_metadata);
	self->vm = NULL;
	self->vcpu = NULL;
}

FIXTURE_TEARDOWN(kvm)
{
	kvm_vm_free(self->vm);
}

#define KVM_ONE_VCPU_TEST(name, guest_fn)					\
static void __kvm_body_##name(struct __test_metadata *_metadata,		\
			      struct kvm_vm *vm, struct kvm_vcpu *vcpu);	\
TEST_F(kvm, name)								\
{										\
	self->vm = vm_create_with_one_vcpu(&self->vcpu, (void *)(guest_fn));	\
	__kvm_body_##name(_metadata, self->vm, self->vcpu);			\
}										\
static void __kvm_body_##name(struct __test_metadata *_metadata,		\
			      struct kvm_vm *vm, struct kvm_vcpu *vcpu)

#define KVM_TEST(name)								\
static void __kvm_plain_##name(struct __test_metadata *_metadata);		\
TEST(name)									\
{										\
	__kvm_harness_enter(_metadata);						\
	__kvm_plain_##name(_metadata);						\
}										\
static void __kvm_plain_##name(struct __test_metadata *_metadata)

#endif /* KVM_SUITE_TEST_HARNESS_H */
