/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Nested virtualization, vendor-neutral: L1 guest code runs an L2 function
 * and gets each exit back as a common reason, so a test whose idea is the
 * same on both vendors is written once.  The vendor layers are
 * include/svm.h (AMD, guest_lib/svm.c) and include/vmx.h (Intel,
 * guest_lib/vmx.c) for tests of vendor-specific behaviour.
 *
 * How to write a nested test:
 *
 *	static void l2_code(void)
 *	{
 *		uint32_t eax = 0, ebx, ecx = 0, edx;
 *
 *		asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
 *		nested_hypercall(42);		// VMMCALL or VMCALL: back to L1
 *	}
 *
 *	static void l1_code(struct nested_pages *pages)
 *	{
 *		struct nested n;
 *
 *		nested_init(&n, pages, l2_code);
 *		nested_intercept(&n, NESTED_INTERCEPT_CPUID, 0);
 *		GUEST_ASSERT_EQ(nested_run(&n), NESTED_EXIT_CPUID);
 *		nested_skip(&n, 2);		// CPUID is 2 bytes
 *		GUEST_ASSERT_EQ(nested_run(&n), NESTED_EXIT_HYPERCALL);
 *		GUEST_ASSERT_EQ(nested_l2_rax(&n), 42);
 *		GUEST_DONE();
 *	}
 *
 *	KVM_ONE_VCPU_TEST(cpuid_exits, l1_code)
 *	{
 *		TEST_REQUIRE_NESTED();
 *		vcpu_args_set(vcpu, 1, nested_alloc(vm));
 *		vcpu_run_expect_done(vcpu);
 *	}
 *
 * L2 shares L1's page tables, GDT, IDT and per-vCPU data (GS), so guest
 * library code (GUEST_ASSERT, ucalls, exception handlers) works in L2 too;
 * it gets its own stack.  A ucall from L2 reaches the host directly when L1
 * does not intercept the port.
 */
#ifndef KVM_SUITE_NESTED_H
#define KVM_SUITE_NESTED_H

#include <stdbool.h>
#include <stdint.h>

#include "svm.h"
#include "vmx.h"

enum nested_vendor { NESTED_NONE, NESTED_SVM, NESTED_VMX };

enum nested_exit {
	NESTED_EXIT_CPUID,
	NESTED_EXIT_HLT,
	NESTED_EXIT_IO,		/* qual: port */
	NESTED_EXIT_MSR,	/* qual: MSR index; is_write set */
	NESTED_EXIT_HYPERCALL,	/* VMMCALL / VMCALL */
	NESTED_EXIT_SHUTDOWN,	/* triple fault */
	NESTED_EXIT_NPF,	/* nested page fault / EPT violation; qual: GPA */
	NESTED_EXIT_EXCEPTION,	/* qual: vector */
	NESTED_EXIT_INVALID,	/* VM entry failed: invalid state */
	NESTED_EXIT_OTHER,
};

enum nested_intercept {
	NESTED_INTERCEPT_CPUID,	/* VMX always exits on CPUID */
	NESTED_INTERCEPT_HLT,
	NESTED_INTERCEPT_IO,	/* arg: port */
	NESTED_INTERCEPT_MSR,	/* arg: MSR index */
};

/* Pages the host allocates for L1 (nested_alloc()); identity mapped. */
struct nested_pages {
	struct svm_pages svm;
	struct vmx_pages vmx;
	uint64_t l2_stack_top;
	uint64_t pool, pool_pages;	/* spare zeroed pages, e.g. for NPT/EPT tables */
};

struct nested {
	enum nested_vendor vendor;
	struct nested_pages *pages;
	struct svm_gprs gprs;		/* L2's GPRs except RAX/RSP */
	uint64_t raw_exit;		/* SVM exit code or VMX exit reason */
	uint64_t qual;			/* see enum nested_exit */
	bool is_write;
	uint64_t pool_next;
};

enum nested_vendor nested_vendor(void);
const char *nested_exit_name(enum nested_exit e);
void nested_init(struct nested *n, struct nested_pages *pages, void (*l2)(void));
enum nested_exit nested_run(struct nested *n);
/* Advance L2 past the exiting instruction of len bytes (next RIP where the CPU tells). */
void nested_skip(struct nested *n, unsigned int len);
void nested_intercept(struct nested *n, enum nested_intercept what, uint64_t arg);
uint64_t nested_l2_rax(struct nested *n);
uint64_t nested_l2_rip(struct nested *n);
uint64_t nested_alloc_page(struct nested *n);	/* from the pool, zeroed */

/* Set by nested_init(): L2 must not ask CPUID, which L1 may intercept. */
extern enum nested_vendor nested_current_vendor;

/* From L2: back to L1 with arg in RAX. */
static inline void nested_hypercall(uint64_t arg)
{
	if (nested_current_vendor == NESTED_SVM)
		asm volatile("vmmcall" : "+a"(arg) :: "memory");
	else
		asm volatile("vmcall" : "+a"(arg) :: "memory");
}

#ifndef NESTED_GUEST_ONLY
#include "kvm_util.h"

/* Pages for one nested set-up; returns the guest address to pass to L1. */
uint64_t nested_alloc(struct kvm_vm *vm);
bool kvm_has_nested(const char **why);
/* Give L1 (the vCPU's guest function) its pages and run it until GUEST_DONE. */
void nested_run_until_done(struct kvm_vm *vm, struct kvm_vcpu *vcpu);

#define TEST_REQUIRE_NESTED() do {						\
	const char *__why;							\
	TEST_REQUIRE_MSG(kvm_has_nested(&__why), "%s", __why);		\
} while (0)
#define TEST_REQUIRE_SVM()							\
	TEST_REQUIRE_MSG(kvm_cpu_has(X86_FEATURE_SVM), "no SVM: KVM_GET_SUPPORTED_CPUID lacks "	\
			 "0x80000001 ECX.SVM (needs kvm_amd nested=1)")
#define TEST_REQUIRE_VMX()							\
	TEST_REQUIRE_MSG(kvm_cpu_has(X86_FEATURE_VMX), "no VMX: KVM_GET_SUPPORTED_CPUID lacks "	\
			 "1 ECX.VMX (needs kvm_intel nested=1)")
#endif

#endif /* KVM_SUITE_NESTED_H */
