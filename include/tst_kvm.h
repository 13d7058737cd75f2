/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The LTP-style API, host side (lib/tst_kvm.c): LTP's instance, its
 * three-phase test and the verdict.  tst_test.h describes the API and
 * brings in the kselftest harness for test files.
 */
#ifndef KVM_SUITE_TST_KVM_H
#define KVM_SUITE_TST_KVM_H

#include <stddef.h>
#include <stdint.h>

#include "kvm_util.h"
#include "x86/tst.h"

#define TST_KVM_MAX_ALLOCS	8

struct tst_kvm_alloc {
	void *map;		/* mmap incl. the guard pages */
	size_t map_size;
	unsigned int slot;
	uint64_t gpa, size;
};

/* Counts of what a run reported, and how it ended. */
struct tst_kvm_summary {
	unsigned int counts[6];		/* index: tst_result_index() */
	unsigned int runs;
	char first_problem[512];	/* the first TFAIL/TBROK/TWARN, for the log */
	char tconf[512];		/* the first TCONF message */
};

/*
 * One guest VM: the suite's VM and its only vCPU, the host view of the
 * result page, the buffers of tst_kvm_alloc_memory(), and the guest entry
 * point (set guest_main before tst_kvm_create_instance()).
 */
struct tst_kvm_instance {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct tst_kvm_result *result;	/* host view of the result page */
	struct tst_kvm_alloc allocs[TST_KVM_MAX_ALLOCS];
	unsigned int nr_allocs;
	void *guest_main;
};

int tst_result_index(int result);	/* TPASS..TCONF -> 0..5 */
const char *tst_result_name(int result);

/* A VM with the LTP environment above, one vCPU at inst->guest_main. */
void tst_kvm_create_instance(struct tst_kvm_instance *inst, size_t ram_size);
/*
 * Run until the guest ends (return, kvm_exit, tst_brk, fatal exception),
 * printing each result and adding it to sum.  exp_errno: the errno a
 * failing KVM_RUN is expected to return (0: KVM_RUN must not fail); the
 * return value is 0, or -1 when KVM_RUN failed with exp_errno.  Any other
 * KVM_RUN error, an unexpected exit or a hang is counted as TBROK.
 */
int tst_kvm_run_instance(struct tst_kvm_instance *inst, int exp_errno,
			 struct tst_kvm_summary *sum);
/* Free the VM, then the tst_kvm_alloc_memory() buffers; inst->vm becomes NULL. */
void tst_kvm_destroy_instance(struct tst_kvm_instance *inst);

/*
 * A guarded (PROT_NONE page on each side), page-aligned buffer registered
 * as memslot `slot` at guest address baseaddr and identity mapped in the
 * guest.  flags are the memslot's KVM_MEM_* flags (KVM_MEM_READONLY,
 * KVM_MEM_LOG_DIRTY_PAGES).  Returns the host address.  Freed by
 * tst_kvm_destroy_instance().
 */
void *tst_kvm_alloc_memory(struct tst_kvm_instance *inst, unsigned int slot,
			   uint64_t baseaddr, size_t size, unsigned int flags);
/* Guest virtual -> guest physical through the guest page tables; 0 if unmapped. */
uint64_t tst_kvm_get_phys_address(const struct tst_kvm_instance *inst, uint64_t addr);
/* The memslot holding guest physical / virtual address addr, or -1. */
int tst_kvm_find_phys_memslot(const struct tst_kvm_instance *inst, uint64_t paddr);
int tst_kvm_find_memslot(const struct tst_kvm_instance *inst, uint64_t addr);
/* Host pointer for guest virtual address addr; NULL if unmapped or unbacked. */
void *tst_kvm_get_memptr(const struct tst_kvm_instance *inst, uint64_t addr);
/* KVM_GET_SUPPORTED_CPUID on sysfd (a /dev/kvm fd); caller frees. */
struct kvm_cpuid2 *tst_kvm_get_cpuid(int sysfd);
/*
 * Print and count the result on the result page (after a UCALL_TST_*):
 * result is the type the ucall carried.  A page that disagrees with it, or
 * an unknown type, is counted as TBROK.
 */
void tst_kvm_validate_result(struct tst_kvm_instance *inst, int result,
			     struct tst_kvm_summary *sum);

/*
 * LTP's three-phase test: setup creates the instance, run runs it, cleanup
 * frees it.  tst_kvm_run() is one iteration: if the guest reported nothing
 * but TINFO in it, it adds a TBROK "iteration N: ... no result".
 */
void tst_kvm_setup(struct tst_kvm_instance *inst, void *guest_main);
void tst_kvm_run(struct tst_kvm_instance *inst, struct tst_kvm_summary *sum);
void tst_kvm_cleanup(struct tst_kvm_instance *inst);

/* Iterations per test (-i N). */
extern unsigned int tst_kvm_iterations;

/*
 * Run guest_main tst_kvm_iterations times, a fresh VM each time, and map
 * the summary to a verdict: 0 pass, 1 fail, 4 skip (reason in *reason).
 */
int tst_kvm_run_test(void *guest_main, struct tst_kvm_summary *sum);
int tst_kvm_verdict(const struct tst_kvm_summary *sum, const char **reason);
int tst_kvm_main(int argc, char **argv, int (*harness_run)(int, char **));

#endif /* KVM_SUITE_TST_KVM_H */
