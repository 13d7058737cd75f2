// SPDX-License-Identifier: GPL-2.0-only
/*
 * The idea of LTP's kvm_pagefault01 (CVE-2021-38198), in the LTP form and
 * with LTP's names: a write through a read-only PDPTE must #PF even when
 * KVM has already shadowed the page directory below it through a writable
 * PDPTE (SDM vol. 3A 4.6: the access rights of a translation are the
 * combination of all its levels).  The CVE's layout: two PDPTEs, 4 GiB
 * (R/W=1) and 5 GiB (R/W=0), point to one page directory whose first PDE
 * is read-only and whose second is writable.  Reading through the first
 * PDE and writing through the second on the 4 GiB side, then reading on the
 * 5 GiB side, makes a buggy shadow MMU look up the directory's shadow page
 * with the access accumulated down to the leaf instead of the access the
 * directory inherits, and reuse a shadow page built under the writable
 * PDPTE for the read-only one.  Fixed upstream by b1bd5cba3306
 * "KVM: X86: MMU: Use the correct inherited permissions to get shadow
 * page".  The bug needs shadow paging: run it with npt=0/ept=0
 * (make vm_run_tests TDP=0); with TDP it checks the hardware walk.
 * x86_64/pt_write_protect_test.c checks the same at every level.
 *
 * Caught bugs: bugs/mmu-shadow-inherited-access.patch (TDP=0)
 */
#include "kvm_test.h"

#ifdef COMPILE_PAYLOAD

#define GIB		0x40000000UL
#define TWO_MIB		0x200000UL

static int on_page_fault(void *userdata, struct kvm_interrupt_frame *ifrm, unsigned long errcode)
{
	struct kvm_cregs cr;

	kvm_read_cregs(&cr);
	if (cr.cr2 != (uintptr_t)userdata)
		return 1;	/* not the write under test: fatal */
	if ((errcode & 3) != 3)
		tst_res(TFAIL, "#PF at 0x%lx with error code 0x%lx, expected P=1 W=1", cr.cr2,
			errcode);
	else
		tst_res(TPASS, "write through the read-only PDPTE raised #PF (0x%lx)", errcode);
	kvm_exit();
}

/* A present, user-accessible entry for the page at addr. */
static void set_entry(struct page_table_entry_pae *e, uintptr_t addr, int writable)
{
	memzero(e, sizeof(*e));
	e->address = addr >> 12;
	e->user_access = 1;
	e->writable = writable;
	e->present = 1;
}

void main(void)
{
	struct page_table_entry_pae *pdpt = kvm_pagetable, *pd, *pt_a, *pt_b;
	char *pages, *rw_a, *rw_b, *ro_a, *ro_b;
	struct kvm_cregs cr;

	kvm_read_cregs(&cr);
	if (!(kvm_rdmsr(MSR_EFER) & EFER_LMA))
		tst_brk(TBROK, "the payload does not run with 64-bit paging");
	/* SDM vol. 3A 4.6.1: without CR0.WP supervisor writes ignore R/W. */
	if (!(cr.cr0 & X86_CR0_WP))
		tst_brk(TBROK, "CR0.WP is clear");
	/* kvm_pagetable is the PML4; entry 0 covers 0-512 GiB. */
	pdpt = (struct page_table_entry_pae *)kvm_get_page_address_pae(&pdpt[0]);
	if (!pdpt || pdpt[4].present || pdpt[5].present)
		tst_brk(TBROK, "no PDPT, or 4-6 GiB is already mapped");

	/* One page directory, two page tables, two data pages. */
	pages = tst_heap_alloc_aligned(5 * PAGESIZE, PAGESIZE);
	memzero(pages, 5 * PAGESIZE);
	pd = (void *)pages;
	pt_a = (void *)(pages + PAGESIZE);
	pt_b = (void *)(pages + 2 * PAGESIZE);
	set_entry(&pd[0], (uintptr_t)pt_a, 0);
	set_entry(&pd[1], (uintptr_t)pt_b, 1);
	set_entry(&pt_a[0], (uintptr_t)pages + 3 * PAGESIZE, 1);
	set_entry(&pt_b[0], (uintptr_t)pages + 4 * PAGESIZE, 1);
	set_entry(&pdpt[4], (uintptr_t)pd, 1);
	set_entry(&pdpt[5], (uintptr_t)pd, 0);

	rw_a = (char *)(4 * GIB);
	rw_b = (char *)(4 * GIB + TWO_MIB);
	ro_a = (char *)(5 * GIB);
	ro_b = (char *)(5 * GIB + TWO_MIB);
	tst_set_interrupt_callback(INTR_PAGE_FAULT, on_page_fault, ro_b);

	/* The 4 GiB side: read via the read-only PDE, write via the writable one; then 5 GiB. */
	*(volatile char *)rw_b = *(volatile char *)rw_a + 1;
	(void)*(volatile char *)ro_a;
	*(volatile char *)ro_b = 7;
	tst_res(TFAIL, "write to 0x%lx through a read-only PDPTE did not #PF (CVE-2021-38198)",
		(uintptr_t)ro_b);
}

#else /* COMPILE_PAYLOAD */

static struct tst_test test = {
	.test_all = tst_kvm_run,
	.setup = tst_kvm_setup,
	.cleanup = tst_kvm_cleanup,
	.needs_root = 1,
	.supported_archs = (const char *const []) {
		"x86_64",
		NULL
	},
	.tags = (struct tst_tag[]){
		{"linux-git", "b1bd5cba3306"},
		{"CVE", "2021-38198"},
		{}
	}
};

#endif /* COMPILE_PAYLOAD */
