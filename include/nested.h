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
#include <stddef.h>
#include <stdint.h>

#include "svm.h"
#include "ucall.h"
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
	uint64_t tdp_root;		/* nested page tables, 0 until guest_nested_tdp_enable() */
};

enum nested_vendor guest_nested_vendor(void);
const char *guest_nested_exit_name(enum nested_exit e);
/* The last exit, decoded: SVM exit code and exit info, VMX reason and qualification. */
const char *guest_nested_exit_str(struct nested *n, char *buf, size_t len);
void guest_nested_init(struct nested *n, struct nested_pages *pages, void (*l2)(void));
/* Enter L2 until its next exit; a failed VM entry (VMfail) ends the test at the caller's line. */
enum nested_exit guest_nested_run_at(struct nested *n, const char *file, unsigned int line);
#define guest_nested_run(n)	guest_nested_run_at(n, __FILE__, __LINE__)
/* Advance L2 past the exiting instruction of len bytes (next RIP where the CPU tells). */
void guest_nested_skip(struct nested *n, unsigned int len);
void guest_nested_intercept(struct nested *n, enum nested_intercept what, uint64_t arg);
uint64_t guest_nested_l2_rax(struct nested *n);
uint64_t guest_nested_l2_rip(struct nested *n);
/* Complete an intercepted RDMSR for L2: EDX:EAX = value (RDX/RAX upper halves cleared). */
void guest_nested_l2_set_msr_result(struct nested *n, uint64_t value);
uint64_t guest_nested_alloc_page(struct nested *n);	/* from the pool, zeroed */

/*
 * Nested page tables: APM vol. 2 15.25 (NPT, the format of long-mode page
 * tables; L2's accesses are user accesses) and SDM vol. 3C 28.2 (EPT, RWX
 * and memory-type bits).  guest_nested_tdp_unsupported() is NULL when this CPU
 * (as KVM presents it) can run them, else why not: SVM needs NPT (CPUID
 * 0x8000000A EDX bit 0), VMX the enable-EPT control and, in
 * IA32_VMX_EPT_VPID_CAP, a 4-level walk, WB and 2 MiB pages.
 * guest_nested_tdp_enable() identity-maps GPAs [0, NESTED_TDP_SIZE) with 2 MiB
 * pages from the pool and turns nested paging on (SVM: NP_ENABLE and
 * nCR3; VMX: EPTP and the enable-EPT control).  guest_nested_tdp_pte() returns the
 * 4 KiB leaf of gpa, splitting its 2 MiB page; guest_nested_tdp_set_present()
 * sets it to gpa with full rights or to 0, and makes sure the next entry
 * doesn't use a stale translation.
 */
#define NESTED_TDP_SIZE		(4ULL << 30)
const char *guest_nested_tdp_unsupported(void);
void guest_nested_tdp_enable(struct nested *n);
uint64_t *guest_nested_tdp_pte(struct nested *n, uint64_t gpa);
/* Rights (and EPT memory type) of a 4 KiB leaf. */
uint64_t guest_nested_tdp_leaf_bits(struct nested *n);
void guest_nested_tdp_set_present(struct nested *n, uint64_t gpa, bool present);

/*
 * L1 can't run the test here (a feature KVM doesn't offer): tell the host,
 * whose NESTED_RUN_L1() SKIPs the test with why.  Does not return.
 */
#define NESTED_SKIP_SYNC	0x5c1b0000ULL
static inline void __attribute__((noreturn)) guest_nested_skip_test(const char *why)
{
	for (;;)
		GUEST_SYNC(NESTED_SKIP_SYNC, (uint64_t)(uintptr_t)why);
}

/* Set by guest_nested_init(): L2 must not ask CPUID, which L1 may intercept. */
extern enum nested_vendor nested_current_vendor;

/* From L2: back to L1 with arg in RAX. */
static inline void guest_nested_hypercall(uint64_t arg)
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
 * Move a vCPU to another VM, L2 and all: save completes a pending PIO/MMIO
 * exit (KVM_RUN with immediate_exit) and takes registers, sregs, FPU,
 * events, debug registers, MP state, the MSRs the nested library uses and
 * KVM_GET_NESTED_STATE; load puts them on a fresh vCPU.  The new VM must
 * have the same memslots; nested_vm_copy_memory() copies their contents.
 */
struct nested_vcpu_state;
struct nested_vcpu_state *nested_vcpu_state_save_at(struct kvm_vcpu *vcpu, const char *file,
						    unsigned int line);
#define nested_vcpu_state_save(vcpu)	nested_vcpu_state_save_at(vcpu, __FILE__, __LINE__)
void nested_vcpu_state_load_at(struct kvm_vcpu *vcpu, const struct nested_vcpu_state *st,
			       const char *file, unsigned int line);
#define nested_vcpu_state_load(vcpu, st)					\
	nested_vcpu_state_load_at(vcpu, st, __FILE__, __LINE__)
void nested_vcpu_state_free(struct nested_vcpu_state *st);
void nested_vm_copy_memory(struct kvm_vm *dst, struct kvm_vm *src);

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
#endif

#endif /* KVM_SUITE_NESTED_H */
