/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kselftest_harness.h glue.
 *
 * KVM_VCPU_TEST(name, guest_fn) defines a test that gets a fresh VM with
 * one vCPU set to run guest_fn; its body sees `vm` and `vcpu`:
 *
 *	static void guest_code(void) { GUEST_SYNC(42); }
 *
 *	KVM_VCPU_TEST(sync_value, guest_code)
 *	{
 *		vcpu_run_expect_sync(vcpu, 42);
 *		vcpu_run_expect_done(vcpu);
 *	}
 *
 *	TEST_HARNESS_MAIN
 *
 * (It was called KVM_ONE_VCPU_TEST(name, guest_fn); renamed so that it is
 * not taken for upstream's KVM_ONE_VCPU_TEST(suite, test, guestcode), whose
 * arguments differ.)
 *
 * KVM_TEST(name) is a plain test that creates what it needs itself.  In
 * both, TEST_REQUIRE*() skips record their reason in the TAP line, and
 * assertion failures fail only the current test (the harness forks one
 * process per test).  The harness lists a KVM_VCPU_TEST as kvm.name, a
 * KVM_TEST as global.name.
 *
 * Beyond those, a test needs no harness internals:
 *  - KVM_TEST_TIMEOUT(name, seconds): a KVM_TEST that may run longer than
 *    the harness's default timeout (30 s); listed as kvm.name.
 *  - KVM_TEST_FAILED(): has an EXPECT_*() of the current test failed yet?
 *  - KVM_TEST_SKIPPED(): has a helper it called SKIP()ped the test?
 *  - a helper that uses ASSERT_*()/EXPECT_*() takes the test's
 *    `struct __test_metadata *_metadata` as its first parameter (the
 *    harness's own convention).
 */
#ifndef KVM_SUITE_TEST_HARNESS_H
#define KVM_SUITE_TEST_HARNESS_H

#include "kselftest_harness.h"
#include "kvm_util.h"
#include "test_args.h"

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

#define KVM_VCPU_TEST(name, guest_fn)						\
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

/* In the kvm fixture (whose setup does what KVM_TEST's wrapper does), no VM. */
#define KVM_TEST_TIMEOUT(name, seconds)						\
static void __kvm_long_##name(struct __test_metadata *_metadata);		\
TEST_F_TIMEOUT(kvm, name, seconds)						\
{										\
	__kvm_long_##name(_metadata);						\
}										\
static void __kvm_long_##name(struct __test_metadata *_metadata)

#define KVM_TEST_FAILED()	(_metadata->exit_code == KSFT_FAIL)
#define KVM_TEST_SKIPPED()	(_metadata->exit_code == KSFT_SKIP)

/*
 * main() for TEST_HARNESS_MAIN (and, through tst_kvm_main(), TST_KVM_MAIN):
 * test_args_check() (lib/test_args.c) checks the command line against the
 * registered tests, then the harness runs them.  The tests are read from
 * __fixture_list, the harness's registry: its name/next/tests/variant links
 * have been stable since variants came in (Linux 5.8).
 */
static inline unsigned int kvm_harness_tests(struct test_args_test *out, unsigned int max)
{
	static struct __fixture_variant_metadata no_variant = { .name = "" };
	struct __fixture_variant_metadata *v;
	struct __fixture_metadata *f;
	struct __test_metadata *t;
	unsigned int n = 0;

	for (f = __fixture_list; f; f = f->next) {
		for (v = f->variant ?: &no_variant; v; v = v->next) {
			t = f->tests;
			do {
				if (n < max)
					out[n] = (struct test_args_test){ f->name, v->name,
									  t ? t->name : NULL };
				n++;
			} while (t && (t = t->next));
		}
	}
	return n;
}

static inline int kvm_harness_run(int argc, char **argv)
{
	unsigned int count = kvm_harness_tests(NULL, 0);
	struct test_args_test tests[count];
	int ret;

	kvm_harness_tests(tests, count);
	ret = test_args_check(argc, argv, tests, count);
	if (ret >= 0)
		return ret;
	/* The harness parses argv again from the start (GNU getopt permuted it). */
	opterr = 1;
	optind = 1;
	return test_harness_run(argc, argv);
}

#undef TEST_HARNESS_MAIN
#define TEST_HARNESS_MAIN							\
	int main(int argc, char **argv)						\
	{									\
		return kvm_harness_run(argc, argv);				\
	}

#endif /* KVM_SUITE_TEST_HARNESS_H */
