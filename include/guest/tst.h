/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The LTP-style API, guest side (guest_lib/tst_guest.c): results, the
 * heap, interrupt callbacks, CPU state.  tst_test.h describes the API.
 */
#ifndef KVM_SUITE_GUEST_TST_H
#define KVM_SUITE_GUEST_TST_H

#include <stddef.h>
#include <stdint.h>

#include "guest/guest.h"
#include "x86/tst.h"

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
 * Synchronisation with the host (LTP): tst_signal_host() sets the result
 * page to KVM_TSYNC with data in file_addr, where the host's
 * tst_kvm_wait_guest() sees it; tst_wait_host() also spins until the host
 * changes the result (tst_kvm_clear_guest_signal()).  The spin makes no VM
 * exit: the host's KVM_RUN watchdog bounds it.
 */
void tst_signal_host(void *data);
void tst_wait_host(void *data);

/*
 * String functions: the guest has no libc, so guest.h declares the suite's
 * own memset(), memcpy(), strcpy(), strcat() and strlen() (and memmove,
 * memcmp, strnlen, strcmp, strncmp, strchr), with the C standard's
 * semantics (guest_lib/string.c).  memzero(dest, size) is LTP's shorthand
 * for memset(dest, 0, size) and returns dest like it.
 */
static inline void *memzero(void *dest, size_t size)
{
	return memset(dest, 0, size);
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

_Static_assert(sizeof(struct page_table_entry_pae) == 8, "a paging-structure entry");

/* Physical address the entry points to; 0 if it is not present. */
uintptr_t kvm_get_page_address_pae(const struct page_table_entry_pae *entry);

/*
 * LTP's struct kvm_cpuid and kvm_get_cpuid() are in kvm_x86.h, for LTP-form
 * payloads only: <linux/kvm.h>, which host code in the same file needs,
 * owns that struct name.  Suite-style guests use cpuid_count()
 * (guest/processor.h).
 */

/* Control registers as kvm_read_cregs() saw them (CR2: the last #PF address). */
struct kvm_cregs {
	unsigned long cr0, cr2, cr3, cr4;
};

/* Read CR0, CR2, CR3 and CR4 into buf. */
void kvm_read_cregs(struct kvm_cregs *buf);
/* RDMSR/WRMSR; a #GP (bad MSR or value) is fatal unless a callback handles it. */
uint64_t kvm_rdmsr(unsigned int msr);
void kvm_wrmsr(unsigned int msr, uint64_t value);

#endif /* KVM_SUITE_GUEST_TST_H */
