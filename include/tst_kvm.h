/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The LTP-style API, host side (lib/tst_kvm.c): LTP's KVM host library
 * with the names and signatures of LTP's KVM Test API document, and the
 * suite's richer variants (distinct names) that count into a summary and
 * map it to a kselftest verdict.  tst_test.h (suite style) and
 * kvm_test.h (LTP form) describe the two ways of writing a test.
 */
#ifndef KVM_SUITE_TST_KVM_H
#define KVM_SUITE_TST_KVM_H

#include <stddef.h>
#include <stdint.h>

#include "kvm_util.h"
#include "x86/tst.h"

/* Memory slots an instance tracks in ram[] (slot numbers 0 .. 31). */
#define MAX_KVM_MEMSLOTS	32

/* Counts of what a run reported, and how it ended. */
struct tst_kvm_summary {
	unsigned int counts[6];		/* index: tst_result_index() */
	unsigned int runs;
	char first_problem[512];	/* the first TFAIL/TBROK/TWARN, for the log */
	char tconf[512];		/* the first TCONF message */
	bool broke;			/* a run ended in tst_brk(), a fatal exception or a KVM_RUN error */
};

/*
 * One guest VM with one vCPU.  The first six fields are LTP's, as its KVM
 * Test API document lists them: ram[slot] describes memslot "slot" (unused
 * slots have userspace_addr 0).  The rest is the suite's: its VM and vCPU,
 * and the guest entry point.  guest_main NULL (LTP form) runs the payload's
 * main() with page 0 mapped as LTP promises; suite-style tests set
 * guest_main to a guest function before tst_kvm_create_instance(), and page
 * 0 stays unmapped so that NULL dereferences fault.
 */
struct tst_kvm_instance {
	int vm_fd, vcpu_fd;
	struct kvm_run *vcpu_info;
	size_t vcpu_info_size;
	struct kvm_userspace_memory_region ram[MAX_KVM_MEMSLOTS];
	struct tst_kvm_result *result;

	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	void *guest_main;
	int ended;		/* the last run ended with the guest (tst_kvm_wait_guest()) */
};

/* The LTP-form payload's main() (kvm_test.h); absent in suite-style binaries. */
extern void tst_kvm_payload_main(void) __attribute__((weak));

int tst_result_index(int result);	/* TPASS..TCONF -> 0..5 */
const char *tst_result_name(int result);
/* Count result in sum; the first TFAIL/TBROK/TWARN and TCONF keep their message. */
void tst_kvm_count(struct tst_kvm_summary *sum, int result, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The summary LTP-form tests report into: the host tst_res()/tst_brk()
 * (kvm_host.h) and tst_kvm_run_instance() count here.
 */
extern struct tst_kvm_summary tst_kvm_results;

/*
 * End the program now: run the LTP-form test's cleanup once (if any),
 * print the verdict of tst_kvm_results as TAP and exit with it (lib/tst_ltp.c).
 */
void tst_ltp_exit(void) __attribute__((noreturn));

/* ---- LTP's KVM host library, with the signatures of its document ---- */

/*
 * The default test: setup creates the VM, run runs it (then replaces it
 * with a fresh one for the next iteration, and frees the guarded buffers:
 * tst_free_all()), cleanup destroys it.
 */
void tst_kvm_setup(void);
void tst_kvm_run(void);
void tst_kvm_cleanup(void);
/* End the program with TBROK unless value is a result type tst_res() accepts. */
void tst_kvm_validate_result(int value);
/* Guest virtual -> guest physical through the guest page tables; 0 if unmapped. */
uint64_t tst_kvm_get_phys_address(const struct tst_kvm_instance *inst, uint64_t addr);
/* Index in inst->ram[] of the memslot holding guest physical paddr, or -1. */
int tst_kvm_find_phys_memslot(const struct tst_kvm_instance *inst, uint64_t paddr);
/* The same for guest virtual addr; -1 if unmapped or not backed. */
int tst_kvm_find_memslot(const struct tst_kvm_instance *inst, uint64_t addr);
/* Host pointer for guest virtual address addr; NULL if unmapped or not backed. */
void *tst_kvm_get_memptr(const struct tst_kvm_instance *inst, uint64_t addr);
/*
 * A guarded buffer (PROT_NONE page on each side) of at least size bytes,
 * page aligned at both ends, installed as memslot `slot` at the page of
 * baseaddr; baseaddr need not be page aligned: it is at ret + baseaddr %
 * PAGE_SIZE.  flags: KVM_MEM_* of KVM_SET_USER_MEMORY_REGION.  Above the
 * identity-mapped 2 GiB the guest page tables map it too.  Freed by
 * tst_free_all(), not by tst_kvm_destroy_instance().
 */
void *tst_kvm_alloc_memory(struct tst_kvm_instance *inst, unsigned int slot,
			   uint64_t baseaddr, size_t size, unsigned int flags);
/* KVM_GET_SUPPORTED_CPUID on sysfd (a /dev/kvm fd); caller frees. */
struct kvm_cpuid2 *tst_kvm_get_cpuid(int sysfd);
/* A VM with the LTP environment and at least ram_size bytes of RAM. */
void tst_kvm_create_instance(struct tst_kvm_instance *inst, size_t ram_size);
/*
 * Run until the guest ends; print its results and count them in
 * tst_kvm_results.  A guest tst_brk() (or a fatal exception) ends the
 * whole program as LTP's host tst_brk() does: cleanup, verdict, exit.
 */
void tst_kvm_run_instance(struct tst_kvm_instance *inst);
/*
 * LTP's newer form of it, tst_kvm_run_instance(inst, exp_errno) in an
 * LTP-form controller (kvm_host.h picks it by the argument count): a
 * KVM_RUN that fails with exp_errno (e.g. EINTR after a signal) returns -1
 * instead of ending the test; else 0 when the guest ended.
 */
int tst_kvm_run_instance_errno(struct tst_kvm_instance *inst, int exp_errno);
/*
 * Wait up to timeout_ms for the guest's tst_signal_host()/tst_wait_host():
 * 0 when it signalled, KVM_TEXIT if the guest ended first (inst->ended; the
 * result page keeps the last result), -1 on timeout.
 */
int tst_kvm_wait_guest(struct tst_kvm_instance *inst, int timeout_ms);
/* Release a guest in tst_wait_host(): the result page back to KVM_TNONE. */
void tst_kvm_clear_guest_signal(struct tst_kvm_instance *inst);
/* Free the VM (not the tst_kvm_alloc_memory() buffers); inst->vm becomes NULL. */
void tst_kvm_destroy_instance(struct tst_kvm_instance *inst);
/* Free every guarded buffer of tst_kvm_alloc_memory() (LTP: tst_free_all()). */
void tst_free_all(void);

/* ---- the suite's richer variants (suite-style tests, tst_test.h) ---- */

/*
 * tst_kvm_run_instance() into sum: exp_errno is the errno a failing KVM_RUN
 * is expected to return (0: KVM_RUN must not fail); the return value is 0,
 * or -1 when KVM_RUN failed with exp_errno.  Any other KVM_RUN error, an
 * unexpected exit or a hang is counted as TBROK.
 */
int tst_kvm_run_instance_sum(struct tst_kvm_instance *inst, int exp_errno,
			     struct tst_kvm_summary *sum);
/*
 * Print and count the result on the result page (after a UCALL_TST_*):
 * result is the type the ucall carried.  A page that disagrees with it, or
 * an invalid type (tst_kvm_validate_result()), is counted as TBROK and the
 * run goes on.
 */
void tst_kvm_report_result(struct tst_kvm_instance *inst, int result,
			   struct tst_kvm_summary *sum);
/*
 * The three phases for one guest function: setup creates the instance,
 * run_iteration runs it (if the guest reported nothing but TINFO it adds a
 * TBROK "iteration N: ... no result"), cleanup frees it and its buffers.
 */
void tst_kvm_setup_instance(struct tst_kvm_instance *inst, void *guest_main);
void tst_kvm_run_iteration(struct tst_kvm_instance *inst, struct tst_kvm_summary *sum);
void tst_kvm_cleanup_instance(struct tst_kvm_instance *inst);

/* Iterations per test (-i N). */
extern unsigned int tst_kvm_iterations;

/*
 * Run guest_main tst_kvm_iterations times, a fresh VM each time, and map
 * the summary to a verdict: 0 pass, 1 fail, 4 skip (reason in *reason).
 */
int tst_kvm_run_test(void *guest_main, struct tst_kvm_summary *sum);
int tst_kvm_verdict(const struct tst_kvm_summary *sum, const char **reason);
/* Parse "-i N" / "-iN" into tst_kvm_iterations; 0 on success, else prints why. */
int tst_kvm_parse_iterations(const char *argv0, const char *val);
int tst_kvm_main(int argc, char **argv, int (*harness_run)(int, char **));

#endif /* KVM_SUITE_TST_KVM_H */
