// SPDX-License-Identifier: GPL-2.0-only
/*
 * Write protection by the guest's own page tables (R/W=0 at any level),
 * under KVM's shadow MMU in particular.  The idea behind LTP's
 * kvm_pagefault01 (CVE-2021-38198: KVM's shadow MMU computed a shadow
 * page's access rights wrongly and let a guest write go through a
 * write-protected guest mapping), written from the architecture:
 *
 * SDM vol. 3A 4.6.1: a linear address is writable only if R/W is 1 in the
 * entry of every level that maps it; with CR0.WP=1 that holds at CPL0 too.
 * A write that breaks it is a #PF with error code P=1 W/R=1 (0x3) and CR2
 * the address (4.7), and the write does not happen.  After changing an
 * entry, INVLPG of the address drops the stale translations (4.10.4.1).
 *
 * write_protect_is_honoured: each case writes through a mapping first (so
 * KVM has a writable shadow translation, or TLB entry, for it), then
 * write-protects one level of the guest's own tables (PTE, PDE, PDPTE and
 * PML4E), and writes again; then a second mapping of the page, read-only,
 * must fault while the first one writes.
 *
 * shared_table_alias: the CVE itself.  A shadow MMU keeps one shadow page
 * per guest table and access mask (the AND of R/W down the walk, SDM 4.6).
 * When two walks reach the SAME guest page-directory or page table, one
 * with a read-only entry above it and one without, they need different
 * shadow pages; KVM before the fix reused the first one it had built, so
 * a write through the read-only path went through.  Each variant builds
 * such a pair of walks and runs, in a fresh VM, in both orders: writable
 * walk first (a cached writable shadow must not leak to the read-only
 * walk) and read-only walk first (a cached read-only one must not stop
 * the writable walk).
 *
 * With two-dimensional paging (EPT/NPT) the CPU walks the guest tables
 * itself: write_protect_is_honoured still checks the architecture there,
 * shared_table_alias SKIPs (its subject, KVM's shadow MMU, does not run);
 * kvm_pvm always shadows them.  Both print which mode they found.
 *
 * shared_directory_with_mixed_entries: the CVE's own layout (the one LTP's
 * kvm_pagefault01 builds): one directory under a writable and a read-only
 * PDPTE, holding a read-only and a writable PDE; see the test.
 *
 * Caught bugs: bugs/mmu-shadow-inherited-access.patch (the CVE, in the
 * amd-shadow lane: shared_directory_with_mixed_entries fails; the other
 * alias layouts do not expose it).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tst_test.h"

#define VA_A	0x8000000000ULL	/* PML4[1]: PML4E, PDPT, PD and PT all its own */
#define VA_B	0x240000000ULL	/* PML4[0] PDPT[9]: a second mapping of the same page */

/* The entry mapping va at level (0 = PTE, 1 = PDE, 2 = PDPTE, 3 = PML4E). */
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
	static const char *const level_names[] = { "PTE", "PDE", "PDPTE", "PML4E" };

	if (!(get_cr0() & X86_CR0_WP))
		tst_brk(TBROK, "CR0.WP is clear: supervisor writes ignore R/W");

	for (int level = 0; level < 4; level++) {
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

/*
 * Which MMU KVM uses for guest page tables, from its module parameters:
 * printed, and true when KVM walks the guest's tables itself (shadow
 * paging), the subject of shared_table_alias.
 */
static bool print_paging_mode(void)
{
	const char *param = NULL, *mode;
	struct stat st;
	char val[16] = "";
	FILE *f;

	if (!stat("/sys/module/kvm_pvm", &st)) {
		printf("# paging: kvm_pvm, shadow paging (KVM walks the guest's tables)\n");
		return true;
	}
	if (!stat("/sys/module/kvm_intel", &st))
		param = "/sys/module/kvm_intel/parameters/ept";
	else if (!stat("/sys/module/kvm_amd", &st))
		param = "/sys/module/kvm_amd/parameters/npt";
	f = param ? fopen(param, "r") : NULL;
	if (f) {
		if (!fgets(val, sizeof(val), f))
			val[0] = 0;
		fclose(f);
		val[strcspn(val, "\n")] = 0;
	}
	if (!val[0])
		mode = "unknown";
	else if (!strcmp(val, "Y") || !strcmp(val, "1"))
		mode = "two-dimensional paging: the CPU walks the guest's tables";
	else
		mode = "shadow paging (KVM walks the guest's tables)";
	printf("# paging: %s=%s: %s\n", param ? param : "no kvm_intel/kvm_amd", val, mode);
	return !strcmp(val, "N") || !strcmp(val, "0");
}

/* SKIP unless KVM's shadow MMU walks the guest's tables (no NPT/EPT). */
static void require_shadow_mmu(void)
{
	kvm_dev_fd();		/* no /dev/kvm: SKIP for that first */
	TEST_REQUIRE_MSG(print_paging_mode(),
			 "KVM's shadow MMU, this test's subject, does not run: the CPU walks the "
			 "guest's tables (load kvm_amd npt=0 or kvm_intel ept=0; "
			 "make vm_run_tests TDP=0)");
}

KVM_TEST(write_protect_is_honoured)
{
	struct tst_kvm_instance inst = { .guest_main = guest_pagefault };
	struct tst_kvm_summary sum = { 0 };
	uint64_t page;

	print_paging_mode();
	tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
	page = vm_phys_alloc(inst.vm, 1);
	virt_map(inst.vm, VA_A, page, PAGE_SIZE, PTE_DEFAULT);
	virt_map(inst.vm, VA_B, page, PAGE_SIZE, PTE_DEFAULT);
	tst_kvm_run_instance_sum(&inst, 0, &sum);
	EXPECT_EQ(tst_kvm_verdict(&sum, NULL), KSFT_PASS) TH_LOG("%s", sum.first_problem);
	EXPECT_EQ(sum.counts[tst_result_index(TPASS)], 5);
	/* The host sees the last permitted write, and none of the faulting ones. */
	EXPECT_EQ(*(uint64_t *)addr_gpa2hva(inst.vm, page), 0x4444);
	tst_kvm_destroy_instance(&inst);
}

/* Set by the host for each VM: the two walks to the shared table, and the order. */
static uint64_t rw_va, ro_va;
static bool ro_first;

static void guest_shared_table(void)
{
	uint64_t seen;

	if (!(get_cr0() & X86_CR0_WP))
		tst_brk(TBROK, "CR0.WP is clear: supervisor writes ignore R/W");
	/*
	 * Read first through one walk: KVM builds the shadow pages for that
	 * walk's access; then the other walk must get its own rights.
	 */
	if (ro_first) {
		seen = *(volatile uint64_t *)ro_va;
		expect_write("read-only walk, first", ro_va, 0xbad, true);
		expect_write("writable walk, after the read-only one", rw_va, 0x5555, false);
	} else {
		expect_write("writable walk, first", rw_va, 0x5555, false);
		seen = *(volatile uint64_t *)ro_va;
		if (seen != 0x5555) {
			tst_res(TFAIL, "0x%lx reads 0x%lx: not the page 0x%lx maps", ro_va, seen,
				rw_va);
			failures++;
		}
		expect_write("read-only walk, after the writable one", ro_va, 0xbad, true);
	}
	expect_write("writable walk again", rw_va, 0x6666, false);
	expect_write("read-only walk again", ro_va, 0xbad, true);
	seen = *(volatile uint64_t *)ro_va;
	if (seen != 0x6666) {
		tst_res(TFAIL, "0x%lx reads 0x%lx after the writes, expected 0x6666", ro_va, seen);
		failures++;
	}
	if (!failures)
		tst_res(TPASS, "%s walk first: 0x%lx writes, 0x%lx #PF(0x3), one page",
			ro_first ? "read-only" : "writable", rw_va, ro_va);
}

/* The host's pointer to the entry at level for va; the walk must exist down to it. */
static uint64_t *host_entry(struct kvm_vm *vm, uint64_t va, int level)
{
	uint64_t table = vm->pml4;

	for (int l = 3;; l--) {
		uint64_t *e = (uint64_t *)addr_gpa2hva(vm, table) + ((va >> (12 + 9 * l)) & 511);

		if (l == level)
			return e;
		TEST_ASSERT((*e & PTE_PRESENT) && !(*e & PTE_LARGE),
			    "VA %#lx: no table below level %d (entry %#lx)", va, l, *e);
		table = *e & PTE_ADDR_MASK;
	}
}

struct alias_case {
	const char *what;
	uint64_t rw_va, ro_va;
	int share_level;	/* ro_va's entry here is a copy of rw_va's: same table below */
	int ro_level;		/* where ro_va's walk has R/W=0 */
};

/* PML4[2]: nothing else of the guest lives there. */
static const struct alias_case alias_cases[] = {
	{ "shared PD, PDPTE R/W=0 on one walk",
	  0x10000000000ULL, 0x10040000000ULL, 2, 2 },	/* PDPT[0] / PDPT[1] */
	{ "shared PT, PDE R/W=0 on one walk",
	  0x10000000000ULL, 0x10000200000ULL, 1, 1 },	/* PD[0] / PD[1] */
	/* Both PDEs writable, one PD below a read-only PDPTE: the fix's own case. */
	{ "shared PT, PDEs R/W=1, PDPTE R/W=0 above one",
	  0x10000000000ULL, 0x10040000000ULL, 1, 2 },	/* PDPT[0]PD[0] / PDPT[1]PD[0] */
};

/*
 * Two walks meet in one guest table, one read-only above it: the writable
 * walk writes, the read-only one faults with #PF(P|W) at its own address
 * and changes nothing, whichever walk KVM sees first.
 */
KVM_TEST(shared_table_alias)
{
	require_shadow_mmu();
	for (unsigned int i = 0; i < ARRAY_SIZE(alias_cases); i++) {
		const struct alias_case *c = &alias_cases[i];

		for (int order = 0; order < 2; order++) {
			struct tst_kvm_instance inst = { .guest_main = guest_shared_table };
			struct tst_kvm_summary sum = { 0 };
			uint64_t page, decoy, *e;

			tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
			page = vm_phys_alloc(inst.vm, 1);
			decoy = vm_phys_alloc(inst.vm, 1);
			virt_map(inst.vm, c->rw_va, page, PAGE_SIZE, PTE_DEFAULT);
			/* Builds ro_va's own tables down to the leaf... */
			virt_map(inst.vm, c->ro_va, decoy, PAGE_SIZE, PTE_DEFAULT);
			/* ...then points it at rw_va's table below share_level. */
			*host_entry(inst.vm, c->ro_va, c->share_level) =
				*host_entry(inst.vm, c->rw_va, c->share_level);
			e = host_entry(inst.vm, c->ro_va, c->ro_level);
			*e &= ~PTE_WRITABLE;
			ASSERT_EQ(*host_entry(inst.vm, c->rw_va, c->ro_level) & PTE_WRITABLE,
				  PTE_WRITABLE);
			ASSERT_EQ(addr_gva2gpa(inst.vm, c->ro_va), page);
			write_guest_global(inst.vm, rw_va, c->rw_va);
			write_guest_global(inst.vm, ro_va, c->ro_va);
			write_guest_global(inst.vm, ro_first, order == 1);
			tst_kvm_run_instance_sum(&inst, 0, &sum);
			EXPECT_EQ(tst_kvm_verdict(&sum, NULL), KSFT_PASS)
				TH_LOG("%s, %s walk first: %s", c->what,
				       order ? "read-only" : "writable", sum.first_problem);
			/* The writable walk's last write, none of the faulting ones. */
			EXPECT_EQ(*(uint64_t *)addr_gpa2hva(inst.vm, page), 0x6666)
				TH_LOG("%s", c->what);
			EXPECT_EQ(*(uint64_t *)addr_gpa2hva(inst.vm, decoy), 0)
				TH_LOG("%s", c->what);
			tst_kvm_destroy_instance(&inst);
		}
	}
}

/*
 * One page directory reached by a writable and by a read-only PDPTE, with
 * one read-only PDE (to table A) and one writable PDE (to table B) in it.
 * The writable walk is first read through the read-only PDE: a shadow MMU
 * that gave the directory's shadow page the rights of the walk's last
 * table (CVE-2021-38198) files it as read-only, then the read-only walk
 * finds that shadow page, with the writable shadow of table B already
 * linked below it, and its write through table B goes through.
 */
static uint64_t mixed_va[4];	/* rw walk PDE0, rw walk PDE1, ro walk PDE0, ro walk PDE1 */

static void guest_mixed_directory(void)
{
	uint64_t seen;

	if (!(get_cr0() & X86_CR0_WP))
		tst_brk(TBROK, "CR0.WP is clear: supervisor writes ignore R/W");
	seen = *(volatile uint64_t *)mixed_va[0];
	expect_write("writable PDPTE, writable PDE", mixed_va[1], 0x7777, false);
	seen += *(volatile uint64_t *)mixed_va[2];
	expect_write("read-only PDPTE, writable PDE", mixed_va[3], 0xbad, true);
	if (*(volatile uint64_t *)mixed_va[3] != 0x7777) {
		tst_res(TFAIL, "0x%lx reads 0x%lx, expected 0x7777", mixed_va[3],
			*(volatile uint64_t *)mixed_va[3]);
		failures++;
	}
	if (!failures)
		tst_res(TPASS, "directory shared by a writable and a read-only PDPTE: "
			"0x%lx writes, 0x%lx #PF(0x3) (reads 0x%lx)", mixed_va[1], mixed_va[3], seen);
}

KVM_TEST(shared_directory_with_mixed_entries)
{
	struct tst_kvm_instance inst = { .guest_main = guest_mixed_directory };
	struct tst_kvm_summary sum = { 0 };
	/* PML4[2]: PDPT[0] and PDPT[1], PD entries 0 and 1 below each. */
	const uint64_t va[4] = { 0x10000000000ULL, 0x10000200000ULL,
				 0x10040000000ULL, 0x10040200000ULL };
	uint64_t page_a, page_b, decoy;

	require_shadow_mmu();
	tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
	page_a = vm_phys_alloc(inst.vm, 1);
	page_b = vm_phys_alloc(inst.vm, 1);
	decoy = vm_phys_alloc(inst.vm, 1);
	virt_map(inst.vm, va[0], page_a, PAGE_SIZE, PTE_DEFAULT);
	virt_map(inst.vm, va[1], page_b, PAGE_SIZE, PTE_DEFAULT);
	/* The read-only walk gets its own tables, then shares the writable one's PD. */
	virt_map(inst.vm, va[2], decoy, PAGE_SIZE, PTE_DEFAULT);
	*host_entry(inst.vm, va[2], 2) = *host_entry(inst.vm, va[0], 2) & ~PTE_WRITABLE;
	*host_entry(inst.vm, va[0], 1) &= ~PTE_WRITABLE;	/* PDE 0: table A read-only */
	ASSERT_EQ(addr_gva2gpa(inst.vm, va[2]), page_a);
	ASSERT_EQ(addr_gva2gpa(inst.vm, va[3]), page_b);
	for (int i = 0; i < 4; i++)
		write_guest_global(inst.vm, mixed_va[i], va[i]);
	tst_kvm_run_instance_sum(&inst, 0, &sum);
	EXPECT_EQ(tst_kvm_verdict(&sum, NULL), KSFT_PASS) TH_LOG("%s", sum.first_problem);
	EXPECT_EQ(*(uint64_t *)addr_gpa2hva(inst.vm, page_b), 0x7777);
	tst_kvm_destroy_instance(&inst);
}

TST_KVM_MAIN
