/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Nested virtualization for L1 guest code (guest_lib/nested.c), vendor
 * neutral: L1 runs an L2 function and gets each exit back as a common
 * reason.  nested.h (the host side) shows how to write a nested test.
 */
#ifndef KVM_SUITE_GUEST_NESTED_H
#define KVM_SUITE_GUEST_NESTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/svm.h"
#include "guest/ucall.h"
#include "guest/vmx.h"
#include "x86/nested.h"

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
/* The VMCB among the pages the host allocated for an SVM L1. */
static inline struct vmcb *guest_nested_vmcb(const struct nested_pages *pages)
{
	return (struct vmcb *)(uintptr_t)pages->svm.vmcb;
}

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

#endif /* KVM_SUITE_GUEST_NESTED_H */
