// SPDX-License-Identifier: GPL-2.0-only
/*
 * AMD nested paging (NPT) beyond present/not-present, from L1: the rights,
 * reserved bits and A/D bits of L1's nested page tables as KVM enforces them
 * on L2 (AMD APM vol. 2 15.25).  KVM shadows L1's NPT with its shadow MMU
 * (arch/x86/kvm/mmu/paging_tmpl.h, the 64-bit walker over the NPT) and
 * reflects the faults it finds to L1 as #VMEXIT(NPF)
 * (nested_svm_inject_npf_exit() in svm/nested.c).
 *
 *  - npt_faults_by_entry, one table: an L2 access through a private chain
 *    of L1 NPT entries (PML4E, PDPTE, PDE, PTE, and a 2 MiB PDE leaf) with
 *    one entry changed either succeeds (the data is right) or ends in
 *    #VMEXIT(NPF) (exit code 0x400) with EXITINFO2 = the GPA and EXITINFO1
 *    = a #PF-style error code plus bit 32 "final translation" or bit 33
 *    "guest page-table walk" (APM 15.25.6):
 *      . read-only at any level: reads work, writes fault P|W|U;
 *      . not present: P=0;
 *      . no-execute at any level: data works, fetches fault P|U|I/D; the
 *        nested walk uses L1's EFER.NXE (the host's at VMRUN, 15.25.5), so
 *        this holds with L2's EFER.NXE clear too;
 *      . U=0 at any level: every nested access is a user access (15.25.5),
 *        so L2's CPL0 access faults P|U;
 *      . reserved bits (APM 5.3.4 long-mode entries; NPT uses that format):
 *        an address bit at MAXPHYADDR at every level, PML4E bit 7, a 2 MiB
 *        leaf's bits 20:13: P|RSVD|U;
 *      . faults on L2's own page-table pages (L1's NPT maps them read-only,
 *        not at all, U=0 or with a reserved bit): bit 33 instead of 32,
 *        EXITINFO2 = the GPA of the guest page-table entry, and W set (the
 *        walk must set the A bits the test cleared; kvm-unit-tests
 *        npt_rw_pfwalk expects P|W|U there too);
 *      . npt_faults_through_kvm_emulator: the same rights for an access
 *        KVM's emulator does for L2 (KVM_FEP: KVM walks L1's NPT itself,
 *        translate_nested_gpa()): fault or not, error code, page;
 *        npt_emulated_fault_reports_gpa_and_walk_bit: and the exact GPA
 *        and bit 33 of those faults, where KVM 6.12 reports the page's GPA
 *        and bit 32 (known_failures);
 *    the ideas of kvm-unit-tests x86/svm_npt.c npt_nx, npt_np, npt_us,
 *    npt_rw, npt_rw_pfwalk, npt_rsvd, npt_rsvd_pfwalk;
 *  - npt_accessed_dirty_bits: the walk sets A in every NPT entry it uses
 *    and D in the leaf on a write, not on a read (NPT entries are long-mode
 *    entries, whose A/D bits the CPU maintains, APM 5.4.2), for a 4 KiB and
 *    a 2 MiB leaf, and again after L1 clears them;
 *  - npt_l1_mmio: an L2 GPA that L1's NPT maps to an L1 GPA no memslot
 *    backs reaches the host as KVM_EXIT_MMIO at the L1 GPA (not L2's),
 *    with the data written and the data the host returns (kvm-unit-tests
 *    npt_l1mmio and npt_rw_l1mmio); and a page L1's NPT maps to L1's local
 *    APIC reads as L1's own APIC does;
 *  - npt_disabled_uses_l1_cr3: with NP_ENABLE = 0, nested_cr3 is ignored
 *    (APM 15.25.3) and L2 runs on its own CR3 (here L1's): data moves both
 *    ways, and a #PF in L2 is L2's, intercepted as #VMEXIT(0x4e) with the
 *    error code in EXITINFO1 and the address in EXITINFO2 (APM 15.12).
 *    This one also runs with npt=0.
 *
 * The NPT tests SKIP where KVM offers L1 no NPT (CPUID 0x8000000A EDX.NP:
 * kvm_amd npt=0).  kvm_intel and kvm_pvm have no SVM: all SKIP there.
 *
 * Caught bugs: bugs/nested-svm-npf-walk-bit-dropped.patch,
 * bugs/mmu-large-pde-rsvd-bits-unchecked.patch,
 * bugs/mmu-nested-npt-walk-not-user.patch,
 * bugs/nested-svm-npt-walk-uses-l2-efer.patch (npt_faults_by_entry),
 * bugs/mmu-npt-accessed-bit-leaf-only.patch (npt_accessed_dirty_bits),
 * bugs/mmu-nested-mmio-uses-l2-gpa.patch (npt_l1_mmio),
 * bugs/nested-svm-pf-vmexit-stale-cr2.patch (npt_disabled_uses_l1_cr3, npt=0)
 */
#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "nested.h"

/*
 * L1 memory for L2's test pages, in a slot of its own so nothing else
 * lives in the 2 MiB page the 2 MiB leaf maps.
 */
#define DATA_SLOT	1
#define DATA_GPA	0x10000000ULL
#define DATA_SIZE	(2 * HUGEPAGE_SIZE)
/*
 * L2 GPAs behind a private chain of NPT entries (PML4 index 1, so no
 * other L2 access shares an entry): a 4 KiB leaf onto DATA_GPA and a
 * 2 MiB leaf onto DATA_GPA + 2 MiB.  L1's page tables map them at GVA ==
 * GPA; their own tables are private too (PML4 index 1 of L1's CR3).
 */
#define L2_GPA_4K	(1ULL << 39)
#define L2_GPA_2M	(L2_GPA_4K + HUGEPAGE_SIZE)
#define READ_OFF	0x100
#define WRITE_OFF	0x200
#define EXEC_OFF	0x300
#define READ_PATTERN	0x5a5a0123456789a5ULL
#define WRITE_PATTERN	0xa5a5fedcba987654ULL
#define EXEC_DONE	0xe8ecULL

#define NPT_TABLE	(PTE_PRESENT | PTE_WRITABLE | PTE_USER)
#define NPT_LEAF	(PTE_PRESENT | PTE_WRITABLE | PTE_USER)
#define NPF_ERR(info1)	((uint32_t)(info1))

enum l2_access { ACC_READ, ACC_WRITE, ACC_FETCH };
static const char *const access_names[] = { "read", "write", "fetch" };

/* What L2 does next; L1 sets these, L2 reads them (shared memory). */
static volatile uint64_t l2_addr;
static volatile int l2_access;
static volatile bool l2_fep;	/* through KVM's emulator (KVM_FEP) */

static void l2_do_access(void)
{
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)l2_addr;
	uint64_t v = 0;

	switch (l2_access) {
	case ACC_READ:
		if (l2_fep)
			asm volatile(KVM_FEP "movq (%1), %0" : "=r"(v) : "r"(p) : "memory");
		else
			v = *p;
		break;
	case ACC_WRITE:
		if (l2_fep)
			asm volatile(KVM_FEP "movq %0, (%1)"
				     :: "r"((uint64_t)WRITE_PATTERN), "r"(p) : "memory");
		else
			*p = WRITE_PATTERN;
		v = *p;
		break;
	case ACC_FETCH:
		/* The page holds a RET (0xc3) at l2_addr. */
		asm volatile("call *%0" :: "r"(l2_addr)
			     : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
			       "memory");
		v = EXEC_DONE;
		break;
	}
	guest_nested_hypercall(v);
}

static unsigned int guest_maxphyaddr(void)
{
	struct cpuid_regs r;

	cpuid_count(0x80000008, 0, &r);
	return r.eax & 0xff;
}

/* ---- L1's own page tables (GVA == GPA for RAM), to find L2's walk pages ---- */

enum walk_level { LVL_PTE, LVL_PDE, LVL_PDPTE, LVL_PML4E };

/* L1's guest paging-structure entry for gva at lvl. */
static uint64_t *l1_gpte(uint64_t gva, enum walk_level lvl)
{
	uint64_t *table = (uint64_t *)(uintptr_t)(get_cr3() & PTE_ADDR_MASK);

	for (int l = LVL_PML4E; l > (int)lvl; l--) {
		uint64_t e = table[(gva >> (12 + 9 * l)) & 511];

		if (!(e & PTE_PRESENT) || (e & PTE_LARGE))
			GUEST_FAIL("L1 page tables: no 4 KiB walk for 0x%lx (level %d entry 0x%lx)",
				   gva, l, e);
		table = (uint64_t *)(uintptr_t)(e & PTE_ADDR_MASK);
	}
	return &table[(gva >> (12 + 9 * lvl)) & 511];
}

/* ---- the private NPT chain ---- */

enum npt_entry { E_PML4E, E_PDPTE, E_PDE, E_PTE, E_PDE_2M,
		 /* NPT leaves of L2's page-table pages for L2_GPA_4K */
		 E_WALK_PDPT, E_WALK_PD, E_WALK_PT, NR_ENTRIES };
static const char *const entry_names[] = {
	"PML4E", "PDPTE", "PDE (table)", "PTE", "PDE (2 MiB leaf)",
	"leaf of L2's PDPT page", "leaf of L2's PD page", "leaf of L2's PT page",
};

struct npt_chain {
	uint64_t *e[NR_ENTRIES];
	uint64_t pristine[NR_ENTRIES];
	uint64_t walk_page[NR_ENTRIES];	/* E_WALK_*: GPA of the guest table page */
};

static void npt_chain_build(struct nested *n, struct npt_chain *c)
{
	uint64_t *pml4 = (uint64_t *)(uintptr_t)n->tdp_root;
	uint64_t pdpt = guest_nested_alloc_page(n);
	uint64_t pd = guest_nested_alloc_page(n);
	uint64_t pt = guest_nested_alloc_page(n);
	static const enum walk_level walk_lvl[] = {
		[E_WALK_PDPT] = LVL_PML4E, [E_WALK_PD] = LVL_PDPTE, [E_WALK_PT] = LVL_PDE,
	};

	c->e[E_PML4E] = &pml4[(L2_GPA_4K >> 39) & 511];
	c->pristine[E_PML4E] = pdpt | NPT_TABLE;
	c->e[E_PDPTE] = &((uint64_t *)(uintptr_t)pdpt)[0];
	c->pristine[E_PDPTE] = pd | NPT_TABLE;
	c->e[E_PDE] = &((uint64_t *)(uintptr_t)pd)[0];
	c->pristine[E_PDE] = pt | NPT_TABLE;
	c->e[E_PTE] = &((uint64_t *)(uintptr_t)pt)[0];
	c->pristine[E_PTE] = DATA_GPA | NPT_LEAF;
	c->e[E_PDE_2M] = &((uint64_t *)(uintptr_t)pd)[1];
	c->pristine[E_PDE_2M] = (DATA_GPA + HUGEPAGE_SIZE) | NPT_LEAF | PTE_LARGE;
	/* The table pages L2's walk of GVA L2_GPA_4K reads, each at index 0. */
	for (int i = E_WALK_PDPT; i <= E_WALK_PT; i++) {
		uint64_t page = *l1_gpte(L2_GPA_4K, walk_lvl[i]) & PTE_ADDR_MASK;

		c->walk_page[i] = page;
		c->e[i] = guest_nested_tdp_pte(n, page);
		c->pristine[i] = page | NPT_LEAF;
	}
}

/*
 * Every entry back to full rights with A/D clear, L2's own entries for
 * L2_GPA_4K with A clear (so the walk has to write them), and a TLB flush
 * on the next VMRUN.
 */
static void npt_chain_reset(struct nested *n, struct npt_chain *c)
{
	for (int i = 0; i < NR_ENTRIES; i++)
		*c->e[i] = c->pristine[i];
	for (int l = LVL_PTE; l <= LVL_PML4E; l++)
		*l1_gpte(L2_GPA_4K, l) &= ~(PTE_ACCESSED | PTE_DIRTY);
	guest_nested_vmcb(n->pages)->control.tlb_ctl = 1;
}

static void npt_data_reset(void)
{
	uint8_t *d4 = (uint8_t *)(uintptr_t)DATA_GPA;
	uint8_t *d2 = (uint8_t *)(uintptr_t)(DATA_GPA + HUGEPAGE_SIZE);

	*(volatile uint64_t *)(d4 + READ_OFF) = READ_PATTERN;
	*(volatile uint64_t *)(d2 + READ_OFF) = READ_PATTERN;
	*(volatile uint64_t *)(d4 + WRITE_OFF) = 0;
	*(volatile uint64_t *)(d2 + WRITE_OFF) = 0;
	d4[EXEC_OFF] = 0xc3;
	d2[EXEC_OFF] = 0xc3;
}

/* Start L2 afresh at l2_do_access doing acc at gpa, natively or through KVM's emulator. */
static void l2_start(struct nested *n, uint64_t gpa, enum l2_access acc, bool fep)
{
	struct vmcb *vmcb = guest_nested_vmcb(n->pages);

	vmcb->save.efer = rdmsr(MSR_EFER);
	l2_addr = gpa;
	l2_access = acc;
	l2_fep = fep;
	vmcb->save.rip = (uintptr_t)l2_do_access;
	vmcb->save.rsp = n->pages->l2_stack_top;
	vmcb->save.rflags = 0x2;
}

static uint64_t expected_value(enum l2_access acc)
{
	return acc == ACC_READ ? READ_PATTERN : acc == ACC_WRITE ? WRITE_PATTERN : EXEC_DONE;
}

static uint64_t access_offset(enum l2_access acc)
{
	return acc == ACC_READ ? READ_OFF : acc == ACC_WRITE ? WRITE_OFF : EXEC_OFF;
}

/* What a changed bit stands for; RSVD_ADDR is bit MAXPHYADDR, found at run time. */
#define RSVD_ADDR	BIT_ULL(52)	/* a marker only: never written */

#define FINAL		SVM_NPF_FINAL_GPA
#define WALK		SVM_NPF_IN_WALK
#define P		PFERR_PRESENT
#define W		PFERR_WRITE
#define U		PFERR_USER
#define RSVD		PFERR_RSVD
#define ID		PFERR_FETCH

#define VIA_FEP		1	/* KVM's emulator does the access (KVM_FEP) */
#define L2_NO_NXE	2	/* L2 runs with EFER.NXE = 0 (L1 keeps it) */

struct npt_case {
	const char *what;
	enum npt_entry entry;
	uint64_t set, clear;
	enum l2_access acc;
	bool in_2m;		/* access L2_GPA_2M (else L2_GPA_4K) */
	uint32_t err;		/* EXITINFO1[31:0]; with kind 0, no fault */
	uint64_t kind;		/* FINAL or WALK; 0: the access works */
	unsigned int how;	/* VIA_FEP, L2_NO_NXE */
};

static const struct npt_case npt_cases[] = {
	/* untouched chain: every access works */
	{ "untouched", E_PTE, 0, 0, ACC_READ, false, 0, 0, 0 },
	{ "untouched", E_PTE, 0, 0, ACC_WRITE, false, 0, 0, 0 },
	{ "untouched", E_PTE, 0, 0, ACC_FETCH, false, 0, 0, 0 },
	{ "untouched", E_PDE_2M, 0, 0, ACC_WRITE, true, 0, 0, 0 },
	{ "untouched", E_PDE_2M, 0, 0, ACC_FETCH, true, 0, 0, 0 },
	/* npt_rw: read-only */
	{ "read-only", E_PTE, 0, PTE_WRITABLE, ACC_READ, false, 0, 0, 0 },
	{ "read-only", E_PTE, 0, PTE_WRITABLE, ACC_WRITE, false, P | W | U, FINAL, 0 },
	{ "read-only", E_PDE_2M, 0, PTE_WRITABLE, ACC_READ, true, 0, 0, 0 },
	{ "read-only", E_PDE_2M, 0, PTE_WRITABLE, ACC_WRITE, true, P | W | U, FINAL, 0 },
	{ "read-only", E_PDE, 0, PTE_WRITABLE, ACC_WRITE, false, P | W | U, FINAL, 0 },
	{ "read-only", E_PDPTE, 0, PTE_WRITABLE, ACC_WRITE, false, P | W | U, FINAL, 0 },
	{ "read-only", E_PML4E, 0, PTE_WRITABLE, ACC_READ, false, 0, 0, 0 },
	{ "read-only", E_PML4E, 0, PTE_WRITABLE, ACC_WRITE, false, P | W | U, FINAL, 0 },
	/* npt_np: not present */
	{ "not present", E_PTE, 0, PTE_PRESENT, ACC_READ, false, U, FINAL, 0 },
	{ "not present", E_PTE, 0, PTE_PRESENT, ACC_WRITE, false, W | U, FINAL, 0 },
	{ "not present", E_PDE_2M, 0, PTE_PRESENT, ACC_WRITE, true, W | U, FINAL, 0 },
	{ "not present", E_PDPTE, 0, PTE_PRESENT, ACC_READ, false, U, FINAL, 0 },
	/* npt_nx: no-execute */
	{ "NX", E_PTE, PTE_NX, 0, ACC_READ, false, 0, 0, 0 },
	{ "NX", E_PTE, PTE_NX, 0, ACC_WRITE, false, 0, 0, 0 },
	{ "NX", E_PTE, PTE_NX, 0, ACC_FETCH, false, P | U | ID, FINAL, 0 },
	{ "NX", E_PDE_2M, PTE_NX, 0, ACC_READ, true, 0, 0, 0 },
	{ "NX", E_PDE_2M, PTE_NX, 0, ACC_FETCH, true, P | U | ID, FINAL, 0 },
	{ "NX", E_PDE, PTE_NX, 0, ACC_FETCH, false, P | U | ID, FINAL, 0 },
	{ "NX", E_PML4E, PTE_NX, 0, ACC_FETCH, false, P | U | ID, FINAL, 0 },
	/* npt_us: L2's accesses are user accesses */
	{ "U=0", E_PTE, 0, PTE_USER, ACC_READ, false, P | U, FINAL, 0 },
	{ "U=0", E_PTE, 0, PTE_USER, ACC_WRITE, false, P | W | U, FINAL, 0 },
	{ "U=0", E_PTE, 0, PTE_USER, ACC_FETCH, false, P | U | ID, FINAL, 0 },
	{ "U=0", E_PDE_2M, 0, PTE_USER, ACC_READ, true, P | U, FINAL, 0 },
	{ "U=0", E_PDPTE, 0, PTE_USER, ACC_READ, false, P | U, FINAL, 0 },
	/* npt_rsvd: reserved bits at every level */
	{ "address bit MAXPHYADDR", E_PML4E, RSVD_ADDR, 0, ACC_READ, false, P | RSVD | U, FINAL, 0 },
	{ "bit 7 (PS, MBZ)", E_PML4E, PTE_LARGE, 0, ACC_READ, false, P | RSVD | U, FINAL, 0 },
	{ "address bit MAXPHYADDR", E_PDPTE, RSVD_ADDR, 0, ACC_READ, false, P | RSVD | U, FINAL, 0 },
	{ "address bit MAXPHYADDR", E_PDE, RSVD_ADDR, 0, ACC_READ, false, P | RSVD | U, FINAL, 0 },
	{ "address bit MAXPHYADDR", E_PTE, RSVD_ADDR, 0, ACC_READ, false, P | RSVD | U, FINAL, 0 },
	{ "address bit MAXPHYADDR", E_PTE, RSVD_ADDR, 0, ACC_WRITE, false,
	  P | RSVD | W | U, FINAL, 0 },
	{ "address bit MAXPHYADDR", E_PDE_2M, RSVD_ADDR, 0, ACC_READ, true, P | RSVD | U, FINAL, 0 },
	{ "bit 13 (of 20:13)", E_PDE_2M, BIT_ULL(13), 0, ACC_READ, true, P | RSVD | U, FINAL, 0 },
	{ "bit 20 (of 20:13)", E_PDE_2M, BIT_ULL(20), 0, ACC_WRITE, true,
	  P | RSVD | W | U, FINAL, 0 },
	/* npt_rw_pfwalk, npt_np, npt_rsvd_pfwalk on L2's own page tables */
	{ "not present", E_WALK_PT, 0, PTE_PRESENT, ACC_READ, false, W | U, WALK, 0 },
	{ "read-only", E_WALK_PT, 0, PTE_WRITABLE, ACC_READ, false, P | W | U, WALK, 0 },
	{ "read-only", E_WALK_PT, 0, PTE_WRITABLE, ACC_WRITE, false, P | W | U, WALK, 0 },
	{ "not present", E_WALK_PD, 0, PTE_PRESENT, ACC_WRITE, false, W | U, WALK, 0 },
	{ "read-only", E_WALK_PDPT, 0, PTE_WRITABLE, ACC_READ, false, P | W | U, WALK, 0 },
	{ "U=0", E_WALK_PD, 0, PTE_USER, ACC_READ, false, P | W | U, WALK, 0 },
	{ "address bit MAXPHYADDR", E_WALK_PD, RSVD_ADDR, 0, ACC_READ, false,
	  P | RSVD | W | U, WALK, 0 },
	/* the same rules when KVM's emulator does L2's access (its own nested walk) */
	{ "untouched", E_PTE, 0, 0, ACC_READ, false, 0, 0, VIA_FEP },
	{ "untouched", E_PTE, 0, 0, ACC_WRITE, false, 0, 0, VIA_FEP },
	{ "read-only", E_PTE, 0, PTE_WRITABLE, ACC_READ, false, 0, 0, VIA_FEP },
	{ "read-only", E_PTE, 0, PTE_WRITABLE, ACC_WRITE, false, P | W | U, FINAL, VIA_FEP },
	{ "read-only", E_PDE_2M, 0, PTE_WRITABLE, ACC_WRITE, true, P | W | U, FINAL, VIA_FEP },
	{ "not present", E_PTE, 0, PTE_PRESENT, ACC_READ, false, U, FINAL, VIA_FEP },
	{ "NX", E_PTE, PTE_NX, 0, ACC_READ, false, 0, 0, VIA_FEP },
	{ "U=0", E_PTE, 0, PTE_USER, ACC_READ, false, P | U, FINAL, VIA_FEP },
	{ "U=0", E_PDE_2M, 0, PTE_USER, ACC_WRITE, true, P | W | U, FINAL, VIA_FEP },
	{ "address bit MAXPHYADDR", E_PTE, RSVD_ADDR, 0, ACC_READ, false, P | RSVD | U, FINAL,
	  VIA_FEP },
	{ "bit 13 (of 20:13)", E_PDE_2M, BIT_ULL(13), 0, ACC_READ, true, P | RSVD | U, FINAL,
	  VIA_FEP },
	{ "not present", E_WALK_PT, 0, PTE_PRESENT, ACC_READ, false, W | U, WALK, VIA_FEP },
	{ "read-only", E_WALK_PT, 0, PTE_WRITABLE, ACC_READ, false, P | W | U, WALK, VIA_FEP },
	/* the NPT walk uses L1's EFER.NXE (the host's at VMRUN), not L2's */
	{ "NX, L2 EFER.NXE=0", E_PTE, PTE_NX, 0, ACC_READ, false, 0, 0, L2_NO_NXE },
	{ "NX, L2 EFER.NXE=0", E_PTE, PTE_NX, 0, ACC_FETCH, false, P | U | ID, FINAL, L2_NO_NXE },
	{ "NX, L2 EFER.NXE=0", E_PDE_2M, PTE_NX, 0, ACC_WRITE, true, 0, 0, L2_NO_NXE },
	{ "L2 EFER.NXE=0", E_PTE, 0, 0, ACC_FETCH, false, 0, 0, L2_NO_NXE },
};

/*
 * Set by the host: which cases run and what is compared.  An NPF that KVM's
 * emulator finds (it walks L1's NPT itself) must look like the CPU's; KVM
 * 6.12 differs in two ways, both in nested_svm_inject_npf_exit() and
 * paging_tmpl.h: EXITINFO1 always has bit 32 (final translation), also for
 * a fault on a guest page-table page ("TODO: track the cause of the nested
 * page fault"), and EXITINFO2 is the GPA of the page, not of the access
 * (the nested walk is done for gfn_to_gpa(gfn)).  So the emulated cases
 * are checked in two tests: whether the access faults, with which error
 * code and on which page (RUN_FEP_RIGHTS), and the exact GPA and walk bit
 * (RUN_FEP_EXACT, in known_failures for kvm_amd).
 */
enum { RUN_NATIVE, RUN_FEP_RIGHTS, RUN_FEP_EXACT };
static int run_mode;

static void l1_npt_cases(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	const char *why = guest_nested_tdp_unsupported();
	unsigned int maxphy = guest_maxphyaddr();
	bool nxe = rdmsr(MSR_EFER) & EFER_NX;
	unsigned int failed = 0;
	struct npt_chain c;
	struct nested n;

	if (why)
		guest_nested_skip_test(why);
	if (maxphy <= 39)
		guest_nested_skip_test("MAXPHYADDR <= 39: no L2 GPA under PML4 index 1");
	guest_nested_init(&n, p, l2_do_access);
	guest_nested_tdp_enable(&n);
	npt_chain_build(&n, &c);

	for (unsigned int i = 0; i < ARRAY_SIZE(npt_cases); i++) {
		const struct npt_case *t = &npt_cases[i];
		uint64_t gpa = (t->in_2m ? L2_GPA_2M : L2_GPA_4K) + access_offset(t->acc);
		uint64_t set = t->set, fault_gpa, info1, info2, kind;

		if (set & RSVD_ADDR) {
			if (maxphy >= 52) {
				GUEST_PRINTF("%s %s: MAXPHYADDR %u leaves no reserved address bit, skipped\n",
					     entry_names[t->entry], t->what, maxphy);
				continue;
			}
			set = (set & ~RSVD_ADDR) | BIT_ULL(maxphy);
		}
		if (!!(t->how & VIA_FEP) != (run_mode != RUN_NATIVE))
			continue;
		if (run_mode == RUN_FEP_EXACT && !t->kind)
			continue;
		if (((set & PTE_NX) || (t->how & L2_NO_NXE)) && !nxe) {
			GUEST_PRINTF("%s %s: L1's EFER.NXE is 0 (no NX in CPUID), skipped\n",
				     entry_names[t->entry], t->what);
			continue;
		}
		npt_data_reset();
		npt_chain_reset(&n, &c);
		*c.e[t->entry] = (*c.e[t->entry] | set) & ~t->clear;
		l2_start(&n, gpa, t->acc, t->how & VIA_FEP);
		if (t->how & L2_NO_NXE)
			vmcb->save.efer &= ~EFER_NX;
		guest_nested_run(&n);

		if (!t->kind) {
			__GUEST_ASSERT(vmcb->control.exit_code == SVM_EXIT_VMMCALL,
				       "%s %s, L2 %s of 0x%lx: #VMEXIT %s (0x%lx) exit_info_1 0x%lx "
				       "exit_info_2 0x%lx, expected the access to work",
				       entry_names[t->entry], t->what, access_names[t->acc], gpa,
				       svm_exit_name(vmcb->control.exit_code),
				       vmcb->control.exit_code, vmcb->control.exit_info_1,
				       vmcb->control.exit_info_2);
			__GUEST_ASSERT(guest_nested_l2_rax(&n) == expected_value(t->acc),
				       "%s %s, L2 %s of 0x%lx: got 0x%lx, expected 0x%lx",
				       entry_names[t->entry], t->what, access_names[t->acc], gpa,
				       guest_nested_l2_rax(&n), expected_value(t->acc));
			continue;
		}
		/* A walk fault is on the guest PTE L2's walk reads: index 0 of the page. */
		fault_gpa = t->kind == WALK ? c.walk_page[t->entry] : gpa;
		info1 = vmcb->control.exit_info_1;
		info2 = vmcb->control.exit_info_2;
		kind = info1 & (FINAL | WALK);
		if (run_mode == RUN_FEP_RIGHTS) {
			/* The fault itself: its error code and its page. */
			kind = t->kind;
			if ((info2 & PAGE_MASK) == (fault_gpa & PAGE_MASK))
				info2 = fault_gpa;
		}
		if (vmcb->control.exit_code == SVM_EXIT_NPF && info2 == fault_gpa &&
		    kind == t->kind && NPF_ERR(info1) == t->err)
			continue;
		GUEST_PRINTF("FAIL %s %s (0x%lx), L2 %s%s of 0x%lx: #VMEXIT %s (0x%lx) exit_info_1 "
			     "0x%lx exit_info_2 0x%lx; expected NPF, exit_info_1 0x%lx, exit_info_2 "
			     "0x%lx\n", entry_names[t->entry], t->what, *c.e[t->entry],
			     (t->how & VIA_FEP) ? "emulated " : "", access_names[t->acc], gpa,
			     svm_exit_name(vmcb->control.exit_code), vmcb->control.exit_code,
			     vmcb->control.exit_info_1, vmcb->control.exit_info_2,
			     t->kind | t->err, fault_gpa);
		failed++;
	}
	__GUEST_ASSERT(!failed, "%u NPF cases failed (FAIL lines above)", failed);
	GUEST_DONE();
}

static void npt_test_memory(struct kvm_vm *vm)
{
	vm_mem_region_add(vm, DATA_SLOT, DATA_GPA, DATA_SIZE, 0);
	virt_map_2m(vm, DATA_GPA, DATA_GPA, DATA_SIZE, PTE_DEFAULT);
	/* L2's GVAs == its GPAs, with 4 KiB tables of their own. */
	virt_map(vm, L2_GPA_4K, L2_GPA_4K, PAGE_SIZE, PTE_DEFAULT);
	virt_map(vm, L2_GPA_2M, L2_GPA_2M, PAGE_SIZE, PTE_DEFAULT);
}

KVM_VCPU_TEST(npt_faults_by_entry, l1_npt_cases)
{
	TEST_REQUIRE_SVM();
	npt_test_memory(vm);
	NESTED_RUN_L1(vm, vcpu);
}

#define RUN_EMULATED(mode) do {						\
	npt_test_memory(vm);							\
	write_guest_global(vm, run_mode, mode);					\
	NESTED_RUN_L1(vm, vcpu);						\
} while (0)

/* The same rules when KVM's emulator does L2's access (its own nested walk). */
KVM_VCPU_TEST(npt_faults_through_kvm_emulator, l1_npt_cases)
{
	TEST_REQUIRE_SVM();
	TEST_REQUIRE_FEP();
	RUN_EMULATED(RUN_FEP_RIGHTS);
}

/* And the exact EXITINFO1 bits 33:32 and EXITINFO2 of those faults. */
KVM_VCPU_TEST(npt_emulated_fault_reports_gpa_and_walk_bit, l1_npt_cases)
{
	TEST_REQUIRE_SVM();
	TEST_REQUIRE_FEP();
	RUN_EMULATED(RUN_FEP_EXACT);
}

/* ---- A/D bits ---- */

static void npt_run_access(struct nested *n, uint64_t gpa, enum l2_access acc)
{
	struct vmcb *vmcb = guest_nested_vmcb(n->pages);

	l2_start(n, gpa, acc, false);
	guest_nested_run(n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);
	GUEST_ASSERT_EQ(guest_nested_l2_rax(n), expected_value(acc));
}

#define EXPECT_AD(c, ent, a, d) do {						\
	uint64_t __e = *(c)->e[ent];						\
									\
	__GUEST_ASSERT(!!(__e & PTE_ACCESSED) == (a) && !!(__e & PTE_DIRTY) == (d),	\
		       "NPT %s 0x%lx: A %d D %d, expected A %d D %d",		\
		       entry_names[ent], __e, !!(__e & PTE_ACCESSED),		\
		       !!(__e & PTE_DIRTY), a, d);				\
} while (0)

static void l1_npt_ad(struct nested_pages *p)
{
	const char *why = guest_nested_tdp_unsupported();
	struct npt_chain c;
	struct nested n;

	if (why)
		guest_nested_skip_test(why);
	if (guest_maxphyaddr() <= 39)
		guest_nested_skip_test("MAXPHYADDR <= 39: no L2 GPA under PML4 index 1");
	guest_nested_init(&n, p, l2_do_access);
	guest_nested_tdp_enable(&n);
	npt_chain_build(&n, &c);
	npt_data_reset();
	npt_chain_reset(&n, &c);

	/* A read: A in each entry of the walk, D nowhere. */
	npt_run_access(&n, L2_GPA_4K + READ_OFF, ACC_READ);
	EXPECT_AD(&c, E_PML4E, 1, 0);
	EXPECT_AD(&c, E_PDPTE, 1, 0);
	EXPECT_AD(&c, E_PDE, 1, 0);
	EXPECT_AD(&c, E_PTE, 1, 0);
	EXPECT_AD(&c, E_PDE_2M, 0, 0);
	/* A write to the same page: D in the leaf. */
	npt_run_access(&n, L2_GPA_4K + WRITE_OFF, ACC_WRITE);
	EXPECT_AD(&c, E_PTE, 1, 1);
	GUEST_ASSERT_EQ(*(volatile uint64_t *)(uintptr_t)(DATA_GPA + WRITE_OFF), WRITE_PATTERN);

	/* The 2 MiB leaf: A on a read, D on a write. */
	npt_run_access(&n, L2_GPA_2M + READ_OFF, ACC_READ);
	EXPECT_AD(&c, E_PDE_2M, 1, 0);
	npt_run_access(&n, L2_GPA_2M + WRITE_OFF, ACC_WRITE);
	EXPECT_AD(&c, E_PDE_2M, 1, 1);

	/* L1 clears them again (the walk must notice: KVM write-protects L1's NPT). */
	*c.e[E_PTE] &= ~(PTE_ACCESSED | PTE_DIRTY);
	guest_nested_vmcb(p)->control.tlb_ctl = 1;
	npt_run_access(&n, L2_GPA_4K + READ_OFF, ACC_READ);
	EXPECT_AD(&c, E_PTE, 1, 0);
	npt_run_access(&n, L2_GPA_4K + WRITE_OFF, ACC_WRITE);
	EXPECT_AD(&c, E_PTE, 1, 1);
	GUEST_DONE();
}

KVM_VCPU_TEST(npt_accessed_dirty_bits, l1_npt_ad)
{
	TEST_REQUIRE_SVM();
	npt_test_memory(vm);
	NESTED_RUN_L1(vm, vcpu);
}

/* ---- MMIO behind L1's NPT ---- */

#define MMIO_GPA	0x20000000ULL	/* no memslot; NPT maps L2 GPA == L1 GPA */
#define MMIO_ALIAS_GPA	0x20001000ULL	/* L2 GPA that L1's NPT sends to MMIO_REMAP_GPA */
#define MMIO_REMAP_GPA	0x20002000ULL	/* L1 GPA, no memslot */
#define APIC_ALIAS_GPA	0x20003000ULL	/* L2 GPA that L1's NPT sends to its APIC page */
#define MMIO_OFF	0x40
#define MMIO_WRITE_DATA	0xfeedf00dU
#define MMIO_READ_DATA	0x12345678U
#define MMIO_READ2_DATA	0x9abcdef0U

static volatile uint32_t l2_apic_version;

static void l2_mmio(void)
{
	volatile uint32_t *a = (volatile uint32_t *)(uintptr_t)(MMIO_GPA + MMIO_OFF);
	volatile uint32_t *b = (volatile uint32_t *)(uintptr_t)(MMIO_ALIAS_GPA + MMIO_OFF);

	*a = MMIO_WRITE_DATA;
	GUEST_ASSERT_EQ(*a, MMIO_READ_DATA);
	*b = MMIO_WRITE_DATA + 1;
	GUEST_ASSERT_EQ(*b, MMIO_READ2_DATA);
	l2_apic_version = *(volatile uint32_t *)(uintptr_t)(APIC_ALIAS_GPA + APIC_LVR);
	guest_nested_hypercall(0);
}

static void l1_mmio(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	const char *why = guest_nested_tdp_unsupported();
	struct nested n;
	uint32_t lvr;

	if (why)
		guest_nested_skip_test(why);
	guest_nested_init(&n, p, l2_mmio);
	guest_nested_tdp_enable(&n);
	*guest_nested_tdp_pte(&n, MMIO_ALIAS_GPA) = MMIO_REMAP_GPA | NPT_LEAF;
	*guest_nested_tdp_pte(&n, APIC_ALIAS_GPA) = APIC_DEFAULT_GPA | NPT_LEAF;
	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);
	lvr = *(volatile uint32_t *)(uintptr_t)(APIC_DEFAULT_GPA + APIC_LVR);
	__GUEST_ASSERT(l2_apic_version == lvr,
		       "L2's read of its GPA 0x%llx (L1's APIC page in L1's NPT): 0x%x, L1 reads "
		       "APIC version 0x%x", APIC_ALIAS_GPA + APIC_LVR, l2_apic_version, lvr);
	GUEST_DONE();
}

/*
 * The next exit is an MMIO access at gpa of 4 bytes; a read gets *data, a
 * write sets it.  Failures name the caller's line.
 */
static void expect_mmio_at(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
			   uint64_t gpa, bool is_write, uint32_t *data, unsigned int line)
{
	struct kvm_run *run = vcpu->run;
	struct ucall uc;

	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		report_guest_abort(vcpu, &uc);
	if (get_ucall(vcpu, &uc) == UCALL_SYNC && uc.args[0] == NESTED_SKIP_SYNC)
		SKIP(return, "%s", (const char *)addr_gva2hva(vcpu->vm, uc.args[1]));
	vcpu_assert_exit_at(vcpu, KVM_EXIT_MMIO, __FILE__, line);
	TEST_ASSERT(run->mmio.phys_addr == gpa && run->mmio.len == 4 &&
		    run->mmio.is_write == is_write,
		    "line %u: KVM_EXIT_MMIO %s of %u bytes at 0x%llx, expected a %s of 4 bytes "
		    "at 0x%lx", line, run->mmio.is_write ? "write" : "read", run->mmio.len,
		    run->mmio.phys_addr, is_write ? "write" : "read", gpa);
	if (is_write)
		memcpy(data, run->mmio.data, 4);
	else
		memcpy(run->mmio.data, data, 4);
}
#define expect_mmio(vcpu, gpa, is_write, data)					\
	expect_mmio_at(_metadata, vcpu, gpa, is_write, data, __LINE__)

KVM_TEST(npt_l1_mmio)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint32_t data;

	TEST_REQUIRE_SVM();
	vm = vm_create_opts(&(struct vm_opts){ .irqchip = true });
	vcpu = vm_vcpu_add(vm, 0, l1_mmio);
	/* L2's GVA == GPA for the pages it touches; L1 maps its APIC page. */
	virt_map(vm, MMIO_GPA, MMIO_GPA, 4 * PAGE_SIZE, PTE_DEFAULT);
	virt_map_mmio(vm, APIC_DEFAULT_GPA, PAGE_SIZE);
	vcpu_args_set(vcpu, 1, nested_alloc(vm));

	expect_mmio(vcpu, MMIO_GPA + MMIO_OFF, true, &data);
	if (KVM_TEST_SKIPPED())
		goto out;
	EXPECT_EQ(data, MMIO_WRITE_DATA);
	data = MMIO_READ_DATA;
	expect_mmio(vcpu, MMIO_GPA + MMIO_OFF, false, &data);
	/* Through the remapping leaf: the exit names L1's GPA, not L2's. */
	expect_mmio(vcpu, MMIO_REMAP_GPA + MMIO_OFF, true, &data);
	EXPECT_EQ(data, MMIO_WRITE_DATA + 1);
	data = MMIO_READ2_DATA;
	expect_mmio(vcpu, MMIO_REMAP_GPA + MMIO_OFF, false, &data);
	vcpu_run_expect_done(vcpu);
out:
	kvm_vm_free(vm);
}

/* ---- NP_ENABLE = 0 ---- */

#define UNMAPPED_GVA	0x40000000ULL	/* not in L1's page tables */

static volatile uint64_t np_off_data;

static void l2_np_off(void)
{
	np_off_data += 0x1111;
	guest_nested_hypercall(np_off_data);
	(void)*(volatile uint64_t *)(uintptr_t)UNMAPPED_GVA;
	guest_nested_hypercall(0xbad);
}

static void l1_np_off(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	struct nested n;

	guest_nested_init(&n, p, l2_np_off);
	/* No nested paging: a junk nested_cr3 must not matter (APM 15.25.3). */
	vmcb->control.nested_ctl = 0;
	vmcb->control.nested_cr3 = 0xfffffffffffff000ULL;
	vmcb->control.intercept_exceptions |= 1u << PF_VECTOR;
	np_off_data = 0x2222;
	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);
	GUEST_ASSERT_EQ(guest_nested_l2_rax(&n), 0x3333);
	GUEST_ASSERT_EQ(np_off_data, 0x3333);
	GUEST_ASSERT_EQ(vmcb->save.cr3, get_cr3());
	guest_nested_skip(&n, 3);
	guest_nested_run(&n);
	/* L2's #PF on L1's page tables: error code 0 (not present, read, CPL0), CR2. */
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_EXCP_BASE + PF_VECTOR);
	GUEST_ASSERT_EQ(vmcb->control.exit_info_1, 0);
	GUEST_ASSERT_EQ(vmcb->control.exit_info_2, UNMAPPED_GVA);
	GUEST_DONE();
}

SVM_TEST(npt_disabled_uses_l1_cr3, l1_np_off)

TEST_HARNESS_MAIN
