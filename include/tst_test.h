/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A guest test API in the vocabulary of LTP's KVM library, on this suite's
 * architecture: the guest code is a function in the test binary, results
 * travel as ucalls (UCALL_USER + n), and the host maps them to kselftest
 * verdicts.  A complete test:
 *
 *	#include "tst_test.h"
 *
 *	static void guest_main(void)
 *	{
 *		struct kvm_cregs cr;
 *
 *		kvm_read_cregs(&cr);
 *		if (cr.cr0 & X86_CR0_PG)
 *			tst_res(TPASS, "paging is on, CR3=0x%lx", cr.cr3);
 *		else
 *			tst_res(TFAIL, "paging is off");
 *	}
 *
 *	TST_KVM_TEST(paging_on, guest_main)
 *
 *	TST_KVM_MAIN
 *
 * Each TST_KVM_TEST becomes one kselftest test: a fresh VM (the LTP
 * environment below) runs guest_main; "-i N" runs it N times, a fresh VM
 * each time.  Verdict: any TFAIL, TBROK or TWARN fails the test (TBROK is
 * reported as broken); else TCONF skips it with its message; else at least
 * one TPASS passes it; a guest that reports nothing fails.  With -i N each
 * iteration is checked on its own: one that reports nothing but TINFO adds
 * a TBROK, so the other iterations' TPASS cannot hide it.
 *
 * The environment the guest gets (each promise checked by tst_env_test):
 *  - 64-bit mode, CPL0, the low 2 GiB identity mapped (GVA == GPA) in the
 *    page tables whether or not memory backs it, except page 0, which is
 *    left unmapped so that a NULL dereference faults;
 *  - a result page at TST_KVM_RESULT_ADDR, above 2 GiB, holding the last
 *    result and message (the ucall message points there);
 *  - a stack of at least 8 KiB (GUEST_STACK_SIZE);
 *  - a default handler for every exception vector: an exception nobody
 *    handles ends the run with TBROK naming vector, RIP and error code;
 *  - a heap for tst_heap_alloc() of TST_KVM_HEAP_SIZE bytes.
 *
 * Where this differs from LTP's KVM library:
 *  - Verdicts: a run with TPASS and TCONF (and no TFAIL/TBROK/TWARN) is a
 *    kselftest SKIP here, because a test can only have one verdict; LTP
 *    counts both and the test passes.
 *  - tst_kvm_validate_result(inst, result, sum) takes the instance, the
 *    result type the ucall carried and the summary, and also prints and
 *    counts the result; LTP's tst_kvm_validate_result(value) only checks a
 *    value and ends the program with TBROK if it is invalid.  Here an
 *    invalid one is counted as TBROK and the other tests still run.
 *  - TST_TEST_TCONF(name, msg) takes the kselftest test name as well as the
 *    message, since each test here is a named kselftest test.
 *  - Page 0 is not mapped (see above): "the low 2 GiB identity mapped"
 *    means pages 0x1000 up to 2 GiB.
 *  - struct tst_kvm_cpuid stands for LTP's struct kvm_cpuid, a name that
 *    <linux/kvm.h> already uses.
 */
#ifndef KVM_SUITE_TST_TEST_H
#define KVM_SUITE_TST_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "guest.h"

/* Result types: LTP's values, so they can be combined as flags. */
#define TPASS	0
#define TFAIL	1
#define TBROK	2
#define TWARN	4
#define TINFO	16
#define TCONF	32

/* ucall commands of this API. */
#define UCALL_TST_RES	(UCALL_USER + 0)	/* args: type; message: result page */
#define UCALL_TST_BRK	(UCALL_USER + 1)	/* as above; the guest never resumes */

#define TST_KVM_RESULT_ADDR	0xfffff000ULL	/* last page below 4 GiB */
#define TST_KVM_RESULT_SLOT	30
#define TST_KVM_HEAP_SIZE	(4 * 1024 * 1024)
#define TST_KVM_IDENTITY_TOP	(2ULL << 30)

/* The result page: what the last tst_res()/tst_brk() reported. */
struct tst_kvm_result {
	int32_t result;
	int32_t lineno;
	uint64_t file_addr;
	char message[4096 - 16];
};

/* x rounded up to a multiple of a (a power of 2), in the type of x. */
#define LTP_ALIGN(x, a)	(((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
/* Number of elements of array a (an array, not a pointer). */
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* ================= guest side (guest_lib/tst_guest.c) ================= */

void tst_res_(const char *file, int lineno, int result, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void tst_brk_(const char *file, int lineno, int result, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));

/* Report a result and carry on. */
#define tst_res(result, fmt, ...) tst_res_(__FILE__, __LINE__, (result), fmt, ##__VA_ARGS__)
/* Report TBROK or TCONF and end this run of the guest. */
#define tst_brk(result, fmt, ...) tst_brk_(__FILE__, __LINE__, (result), fmt, ##__VA_ARGS__)

/* End this run of the guest now (the results so far stand). */
void kvm_exit(void) __attribute__((noreturn));

/*
 * String functions: the guest has no libc, so guest.h declares the suite's
 * own memset(), memcpy(), strcpy(), strcat() and strlen() (and memmove,
 * memcmp, strnlen, strcmp, strncmp, strchr), with the C standard's
 * semantics (guest_lib/string.c).  memzero(buf, size) is LTP's shorthand
 * for memset(buf, 0, size).
 */
static inline void memzero(void *buf, size_t size)
{
	memset(buf, 0, size);
}

/*
 * Bump allocator over the guest heap.  Memory is zeroed and never freed;
 * running out ends the run with TBROK naming the sizes.
 */
void *tst_heap_alloc(size_t size);
void *tst_heap_alloc_aligned(size_t size, size_t align);

/*
 * The hardware-pushed part of an exception frame (SDM vol. 3A 6.14.1):
 * a callback may change eip to resume elsewhere.  Field names are LTP's.
 */
struct kvm_interrupt_frame {
	uintptr_t eip, cs, eflags, esp, ss;
};

/* The RIP in the frame: the faulting instruction for a fault, the next one for a trap. */
static inline uintptr_t kvm_get_interrupt_ip(const struct kvm_interrupt_frame *ifrm)
{
	return ifrm->eip;
}

/*
 * Return 0 if the interrupt was handled (the guest resumes at ifrm->eip),
 * non-zero to end the run with TBROK.
 */
typedef int (*tst_interrupt_callback)(void *userdata, struct kvm_interrupt_frame *ifrm,
				      unsigned long errcode);

/* Install func for vector; NULL removes it and makes the vector fatal again. */
void tst_set_interrupt_callback(unsigned int vector, tst_interrupt_callback func,
				void *userdata);

/* A 64-bit page-table entry (SDM vol. 3A 4.5, tables 4-15 to 4-20); LTP's names. */
struct page_table_entry_pae {
	unsigned int present: 1;
	unsigned int writable: 1;
	unsigned int user_access: 1;
	unsigned int write_through: 1;
	unsigned int disable_cache: 1;
	unsigned int accessed: 1;
	unsigned int dirty: 1;
	unsigned int page_type: 1;	/* PS: large page, in a PDE or PDPTE */
	unsigned int global: 1;
	unsigned int padding: 3;
	uint64_t address: 40;		/* physical address >> 12 */
	unsigned int padding2: 7;
	unsigned int prot_key: 4;
	unsigned int noexec: 1;
} __attribute__((packed));

/* Physical address the entry points to; 0 if it is not present. */
uintptr_t kvm_get_page_address_pae(const struct page_table_entry_pae *entry);

/* CPUID output.  Not LTP's "struct kvm_cpuid": <linux/kvm.h> owns that name. */
struct tst_kvm_cpuid {
	uint32_t eax, ebx, ecx, edx;
};

/* Control registers as kvm_read_cregs() saw them (CR2: the last #PF address). */
struct kvm_cregs {
	uint64_t cr0, cr2, cr3, cr4;
};

/* CPUID leaf eax, subleaf ecx, as the guest sees it (KVM's vCPU CPUID). */
void kvm_get_cpuid(unsigned int eax, unsigned int ecx, struct tst_kvm_cpuid *buf);
/* Read CR0, CR2, CR3 and CR4 into buf. */
void kvm_read_cregs(struct kvm_cregs *buf);
/* RDMSR/WRMSR; a #GP (bad MSR or value) is fatal unless a callback handles it. */
uint64_t kvm_rdmsr(unsigned int msr);
void kvm_wrmsr(unsigned int msr, uint64_t value);

/* The guest's view of its heap, written by the host before the first run. */
extern uint64_t tst_heap_base, tst_heap_end;

/* A test whose guest only reports TCONF with msg: how an unsupported setup reports. */
#define TST_TEST_TCONF(name, msg)						\
	static void __tst_tconf_##name(void)					\
	{									\
		tst_brk(TCONF, "%s", msg);					\
	}									\
	TST_KVM_TEST(name, __tst_tconf_##name)
/* The guest function of TST_TEST_TCONF(name, msg), for a test that runs it itself. */
#define TST_TCONF_GUEST(name)	__tst_tconf_##name

/* ================= host side (lib/tst_kvm.c) ================= */

/* guest_lib/ defines TST_GUEST_ONLY: nothing below is guest code. */
#ifndef TST_GUEST_ONLY
#include "kvm_util.h"

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

/* lib/tst_kvm.c defines TST_NO_HARNESS: the harness belongs in test files only. */
#ifndef TST_NO_HARNESS
#include "kvm_test_harness.h"

#define TST_KVM_TEST(name, guest_main)						\
KVM_TEST(name)									\
{										\
	struct tst_kvm_summary __sum;						\
	const char *__reason;							\
										\
	tst_kvm_run_test((void *)(guest_main), &__sum);				\
	switch (tst_kvm_verdict(&__sum, &__reason)) {				\
	case KSFT_SKIP:								\
		SKIP(return, "%s", __reason);					\
	case KSFT_FAIL:								\
		ASSERT_TRUE(false) TH_LOG("%s", __reason);			\
	}									\
}

/* main(): "-i N" (iterations), then the kselftest harness's own options. */
#define TST_KVM_MAIN								\
int main(int argc, char **argv)							\
{										\
	return tst_kvm_main(argc, argv, kvm_harness_run);			\
}
#endif /* TST_NO_HARNESS */
#endif /* TST_GUEST_ONLY */

#endif /* KVM_SUITE_TST_TEST_H */
