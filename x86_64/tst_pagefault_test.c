// SPDX-License-Identifier: GPL-2.0-only
/*
 * The idea behind LTP's kvm_pagefault01 (CVE-2021-38198: KVM's shadow MMU
 * computed a shadow page's access rights wrongly and let a guest write go
 * through a write-protected guest mapping), written from the architecture:
 *
 * SDM vol. 3A 4.6.1: a linear address is writable only if R/W is 1 in the
 * entry of every level that maps it; with CR0.WP=1 that holds at CPL0 too.
 * A write that breaks it is a #PF with error code P=1 W/R=1 (0x3) and CR2
 * the address (4.7), and the write does not happen.  After changing an
 * entry, INVLPG of the address drops the stale translations (4.10.4.1).
 *
 * Each case writes through a mapping first (so KVM has a writable shadow
 * translation, or TLB entry, for it), then write-protects one level of the
 * guest's own tables, and writes again.  On kvm_pvm, which shadows the
 * guest page tables, this is exactly the CVE's setting.
 */
#include "tst_test.h"

#define VA_A	0x200000000ULL	/* PML4[0] PDPT[8]: its own PD and PT */
#define VA_B	0x240000000ULL	/* PDPT[9]: a second mapping of the same page */

/* The entry mapping va at level (0 = PTE, 1 = PDE, 2 = PDPTE). */
static struct page_table_entry_pae *entry(uint64_t va, int level)
{
	struct kvm_cregs cr;
	uintptr_t table;

	kvm_read_cregs(&cr);
	table = cr.cr3 & ~0xfffULL;
	for (int l = 3;; l--) {
		struct page_table_entry_pae *e = (void *)(table + 8 * ((va >> (12 + 9 * l)) & 511));

		if (l == level)
			return e;
		table = kvm_get_page_address_pae(e);
		if (!table || e->page_type)
			tst_brk(TBROK, "VA 0x%lx: no 4 KiB mapping at level %d", va, l);
	}
}

/* Write val to va; the vector raised (NO_VECTOR if none), error code and CR2. */
static uint8_t try_write(uint64_t va, uint64_t val, uint64_t *err, uint64_t *cr2)
{
	asm volatile(ASM_SAFE("movq %1, (%0)") :: "r"(va), "r"(val) : "memory");
	*err = guest_fault_error_code();
	*cr2 = get_cr2();
	return guest_fault_vector();
}

static unsigned int failures;

static void expect_write(const char *what, uint64_t va, uint64_t val, bool must_fault)
{
	uint64_t before = *(volatile uint64_t *)va, err, cr2;
	uint8_t vec = try_write(va, val, &err, &cr2);
	uint64_t after = *(volatile uint64_t *)va;

	if (!must_fault && (vec != NO_VECTOR || after != val)) {
		tst_res(TFAIL, "%s: write to 0x%lx raised vector %u, memory 0x%lx", what, va, vec,
			after);
		failures++;
	} else if (must_fault && (vec != PF_VECTOR || err != 0x3 || cr2 != va)) {
		tst_res(TFAIL, "%s: write to 0x%lx gave vector %u error code 0x%lx CR2 0x%lx; "
			"expected #PF 0x3 at the address", what, va, vec, err, cr2);
		failures++;
	} else if (must_fault && after != before) {
		tst_res(TFAIL, "%s: the faulting write changed memory 0x%lx -> 0x%lx", what,
			before, after);
		failures++;
	}
}

static void protect(uint64_t va, int level, bool writable)
{
	entry(va, level)->writable = writable;
	invlpg(va);
}

static void guest_pagefault(void)
{
	static const char *const level_names[] = { "PTE", "PDE", "PDPTE" };

	if (!(get_cr0() & X86_CR0_WP))
		tst_brk(TBROK, "CR0.WP is clear: supervisor writes ignore R/W");

	for (int level = 0; level < 3; level++) {
		unsigned int before = failures;

		expect_write("writable", VA_A, 0x1111 + level, false);
		protect(VA_A, level, false);
		expect_write(level_names[level], VA_A, 0xdead, true);
		/* Reads still work through a write-protected mapping. */
		if (*(volatile uint64_t *)VA_A != 0x1111 + (uint64_t)level) {
			tst_res(TFAIL, "%s: read through the read-only mapping is wrong",
				level_names[level]);
			failures++;
		}
		protect(VA_A, level, true);
		expect_write("writable again", VA_A, 0x2222, false);
		if (failures == before)
			tst_res(TPASS, "R/W=0 in the %s: write #PF(0x3) at the address, memory kept",
				level_names[level]);
	}

	/*
	 * Two mappings of one page, one read-only: a write through the writable
	 * one must not make the read-only one writable (shadow pages for one
	 * guest page with different access rights).
	 */
	protect(VA_B, 0, false);
	expect_write("alias writable", VA_A, 0x3333, false);
	expect_write("alias read-only", VA_B, 0xbad, true);
	expect_write("alias writable again", VA_A, 0x4444, false);
	expect_write("alias read-only again", VA_B, 0xbad, true);
	if (*(volatile uint64_t *)VA_B != 0x4444) {
		tst_res(TFAIL, "the read-only alias reads 0x%lx, not 0x4444",
			*(volatile uint64_t *)VA_B);
		failures++;
	}
	if (!failures)
		tst_res(TPASS, "read-only alias of a page written through another mapping faults");
}

KVM_TEST(write_protect_is_honoured)
{
	struct tst_kvm_instance inst = { .guest_main = guest_pagefault };
	struct tst_kvm_summary sum = { 0 };
	uint64_t page;

	tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
	page = vm_phys_alloc(inst.vm, 1);
	virt_map(inst.vm, VA_A, page, PAGE_SIZE, PTE_DEFAULT);
	virt_map(inst.vm, VA_B, page, PAGE_SIZE, PTE_DEFAULT);
	tst_kvm_run_instance(&inst, 0, &sum);
	EXPECT_EQ(tst_kvm_verdict(&sum, NULL), KSFT_PASS) TH_LOG("%s", sum.first_problem);
	EXPECT_EQ(sum.counts[tst_result_index(TPASS)], 4);
	/* The host sees the last permitted write, and none of the faulting ones. */
	EXPECT_EQ(*(uint64_t *)addr_gpa2hva(inst.vm, page), 0x4444);
	tst_kvm_destroy_instance(&inst);
}

TST_KVM_MAIN
