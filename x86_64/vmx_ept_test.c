// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intel VMX: EPT and VPID as L1 sees them through kvm_intel's nested EPT
 * (SDM vol. 3C, numbering of the 2023 and later editions; one less in
 * older ones).  L1 builds its own EPT tables for L2: an identity map of
 * its RAM plus an alias, a guest-physical address (512 GiB + 2 GiB + 6 MiB
 * + 16 KiB, a distinct index at each level) that L1's own page tables map
 * at linear address 1 GiB + 20 KiB for L2 and that L1's EPT sends to one
 * data page.  Each row changes one EPT entry of the alias and lets L2
 * read, write or execute there.
 *
 *  - 29.3.3.2 "EPT Violations" and 28.2.1 table 28-7: an entry not present
 *    at each level (PML4E, PDPTE, PDE, PTE), a leaf or a non-leaf entry
 *    without the right the access needs; the exit qualification's bits 0-2
 *    (the access), 3-5 (the AND of R/W/X over the entries walked), 7 (GLA
 *    valid) and 8 (translation of the linear address, clear for an access
 *    to L1's paging structures), the guest-physical and guest-linear
 *    address fields.  L1 then repairs the entry without INVEPT (an EPT
 *    violation invalidates the mappings of its address, 29.4.3.1) and L2
 *    completes its access;
 *  - 29.3.3.1 "EPT Misconfigurations" (exit reason 49): W=1 with R=0,
 *    execute-only without IA32_VMX_EPT_VPID_CAP bit 0, memory types 2 and
 *    7, reserved bits 7:3 of a PML4E and 6:3 of a non-leaf PDE, an address
 *    bit at MAXPHYADDR; the guest-physical address reported;
 *  - 29.3.5 "Accessed and Dirty Flags for EPT": with EPTP bit 6, A set in
 *    every entry walked and D in the leaf written, not in a leaf only
 *    read; without it both stay clear;
 *  - 29.3.2 table 29-4: a 2 MiB leaf (PDE bit 7) translates, and a
 *    violation in it reports the address within the 2 MiB page;
 *  - 31.3 INVEPT and INVVPID: the types IA32_VMX_EPT_VPID_CAP offers
 *    succeed, other types give VMfailValid with error 28, as do VPID 0
 *    for the types other than all-context, a non-canonical address for
 *    the individual-address type and bits 63:16 of the VPID field; after a
 *    changed EPT leaf and INVEPT of either type L2 sees the new page
 *    (without INVEPT the stale one is allowed, so that is not checked);
 *  - 27.2.1.1: "enable VPID" with VPID 0 fails VM entry with error 7.
 *
 * Rows needing EPT SKIP where kvm_intel offers none to L1 (ept=0); each
 * row needing a capability names it when it SKIPs.  Rows keep running
 * after one fails.
 *
 * kvm_intel shadows L1's EPT (mmu/paging_tmpl.h with PTTYPE_EPT): its walk
 * computes bits 0-5 of the qualification, takes bits 7-8 from the
 * hardware's, nested_ept_inject_page_fault() reflects the exit;
 * handle_invept() and handle_invvpid() in nested.c emulate the
 * instructions; nested_check_vm_execution_controls() the VPID 0 rule.
 *
 * Ideas: kvm-unit-tests x86/vmx_tests.c (ept_access_test_*,
 * ept_misconfig tests, invvpid_test, test_vpid, the EPT A/D tests) and the
 * upstream selftest x86_64/vmx_dirty_log_test.c.
 *
 * Caught bugs: bugs/nested-vmx-ept-qual-leaf-rights.patch,
 * bugs/nested-vmx-ept-ad-ignored.patch,
 * bugs/nested-vmx-ept-invept-type-check.patch,
 * bugs/nested-vmx-ept-invvpid-vpid0.patch,
 * bugs/nested-vmx-ept-vpid0-entry.patch
 */
#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "nested.h"

/* L2's linear address of the alias: PDPT index 1 of L1's paging, PT index 5. */
#define ALIAS_GVA	0x40005000UL
#define L1_PDPT_IDX	1
#define L1_PT_IDX	5
/* The alias GPA: PML4 1, PDPT 2, PD 3, PT 4 (PML4 0, PDPT 5 where MAXPHYADDR < 40). */
#define ALIAS_LOW	0x80604000ULL
#define ALIAS_LOW_ALT	0x140604000ULL
#define OFF_READ	0x10
#define OFF_WRITE	0x18
#define OFF_FETCH	0x100
#define READ_MAGIC	0x5eadda7a5eadda7aUL
#define WRITE_MAGIC	0x3717e3717e3717e0UL
#define FETCH_DONE	0xfe7c4UL
#define NO_GPA		(~0ULL)

/* Entries of the alias's EPT walk and the EPT leaf of L1's page table page. */
enum ept_level { L_PML4E, L_PDPTE, L_PDE, L_PTE, L_L1_PT };

static const char *const level_names[] = { "PML4E", "PDPTE", "PDE", "PTE", "L1 PT leaf" };

enum access { ACC_READ, ACC_WRITE, ACC_FETCH };

struct ept_row {
	const char *name;
	enum access acc;
	enum ept_level level;	/* the entry changed */
	uint64_t clear, set;	/* bits taken from and added to it */
	bool huge;		/* the alias's PDE is a 2 MiB leaf */
	uint32_t reason;	/* EXIT_REASON_VMCALL: no exit */
	uint64_t qual;		/* bits 0-5, 7, 8 (violations only) */
	/* NULL, or why this row cannot run here. */
	const char *(*need)(void);
};

static struct nested n;
static char why[200];
static unsigned int skipped, failed;

static uint8_t page_a[4096] __attribute__((aligned(4096)));
static uint8_t page_b[4096] __attribute__((aligned(4096)));
static uint64_t l1_pd[512] __attribute__((aligned(4096)));
static uint64_t l1_pt[512] __attribute__((aligned(4096)));

/* Shared by L1 and L2. */
static volatile uint64_t l2_out, l2_out2;
static struct vmx_gprs regs;
static uint64_t alias_gpa;		/* the L2 GPA of the alias page */
static uint64_t *alias_e[4];		/* its EPT entries, PML4E to PTE */
static uint64_t eptp;

#define ROW_FAIL(row, fmt, ...) do {						\
	GUEST_PRINTF("FAIL %s: " fmt, row, ##__VA_ARGS__);	/* prefixed with file:line */ \
	failed++;								\
} while (0)

/* ---- capabilities ---- */

static uint64_t ept_caps(void)
{
	return rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
}

static unsigned int maxphyaddr(void)
{
	struct cpuid_regs r;

	cpuid_count(0x80000008, 0, &r);
	return r.eax & 0xff;
}

/* Why EPT can't be used by L1, naming ept=0 when the control is missing. */
static const char *no_ept(void)
{
	const char *w = vmx_ept_unsupported();

	if (!w)
		return NULL;
	if (!((rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32) & CPU_BASED_ACTIVATE_SECONDARY) ||
	    !((rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32) & SECONDARY_EXEC_ENABLE_EPT))
		return "ept=0: kvm_intel offers no EPT to L1";
	return w;
}

static const char *need_high_alias(void)
{
	if (maxphyaddr() < 40) {
		guest_snprintf(why, sizeof(why), "MAXPHYADDR %u < 40: no GPA with PML4 index 1",
			       maxphyaddr());
		return why;
	}
	return NULL;
}

static const char *need_exec_only(void)
{
	return ept_caps() & VMX_EPT_CAP_EXEC_ONLY ? NULL :
	       "IA32_VMX_EPT_VPID_CAP bit 0 clear: no execute-only EPT leaves";
}

static const char *need_no_exec_only(void)
{
	return ept_caps() & VMX_EPT_CAP_EXEC_ONLY ?
	       "IA32_VMX_EPT_VPID_CAP bit 0 set: execute-only is valid (see the violation row)" :
	       NULL;
}

static const char *need_maxphy_below_52(void)
{
	return maxphyaddr() < 52 ? NULL : "MAXPHYADDR 52: no reserved address bit";
}

/* ---- L2 ---- */

static void __attribute__((noreturn)) l2_done(void)
{
	for (;;)
		asm volatile("vmcall" ::: "memory");
}

static void l2_read(void)
{
	l2_out = *(volatile uint64_t *)(ALIAS_GVA + OFF_READ);
	l2_done();
}

static void l2_write(void)
{
	*(volatile uint64_t *)(ALIAS_GVA + OFF_WRITE) = WRITE_MAGIC;
	l2_done();
}

static void l2_fetch(void)
{
	asm volatile("call *%0" :: "r"(ALIAS_GVA + OFF_FETCH) : "memory");
	l2_out = FETCH_DONE;
	l2_done();
}

/* Read, back to L1, read again (INVEPT rows). */
static void l2_read_twice(void)
{
	l2_out = *(volatile uint64_t *)(ALIAS_GVA + OFF_READ);
	asm volatile("vmcall" ::: "memory");
	l2_out2 = *(volatile uint64_t *)(ALIAS_GVA + OFF_READ);
	l2_done();
}

static void l2_read_write(void)
{
	l2_out = *(volatile uint64_t *)(ALIAS_GVA + OFF_READ);
	*(volatile uint64_t *)(ALIAS_GVA + OFF_WRITE) = WRITE_MAGIC;
	l2_done();
}

static void (*const l2_of[])(void) = { l2_read, l2_write, l2_fetch };
static const uint64_t off_of[] = { OFF_READ, OFF_WRITE, OFF_FETCH };

/* ---- L1's side of the alias ---- */

/* PDPT[1] of L1's paging -> l1_pd -> l1_pt; L1 itself never uses these addresses. */
static void l1_map_alias_once(void)
{
	uint64_t *pml4 = (uint64_t *)(uintptr_t)(get_cr3() & PTE_ADDR_MASK);
	uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & PTE_ADDR_MASK);

	if (pdpt[L1_PDPT_IDX] && (pdpt[L1_PDPT_IDX] & PTE_ADDR_MASK) != (uintptr_t)l1_pd)
		GUEST_FAIL("L1's PDPT[%u] is in use (0x%lx): pick another alias",
			   L1_PDPT_IDX, pdpt[L1_PDPT_IDX]);
	pdpt[L1_PDPT_IDX] = (uintptr_t)l1_pd | PTE_DEFAULT;
	l1_pd[0] = (uintptr_t)l1_pt | PTE_DEFAULT;
	alias_gpa = maxphyaddr() >= 40 ? (1ULL << 39) | ALIAS_LOW : ALIAS_LOW_ALT;
}

/* L2's linear alias -> GPA gpa (4 KiB aligned). */
static void l1_point_alias(uint64_t gpa)
{
	l1_pt[L1_PT_IDX] = gpa | PTE_DEFAULT;
	asm volatile("invlpg (%0)" :: "r"(ALIAS_GVA) : "memory");
}

/* ---- L1's EPT ---- */

static uint64_t *ept_next(uint64_t *entry)
{
	if (!(*entry & EPT_RWX))
		*entry = guest_nested_alloc_page(&n) | EPT_RWX;
	return (uint64_t *)(uintptr_t)(*entry & PTE_ADDR_MASK);
}

/* The data page's contents: a value to read, a slot to write, RET to execute. */
static void fill_page(uint8_t *pg, uint64_t magic)
{
	memset(pg, 0, 4096);
	*(uint64_t *)(pg + OFF_READ) = magic;
	pg[OFF_FETCH] = 0xc3;
}

/*
 * A fresh VMCS running l2 and fresh EPT tables from the pool: the identity
 * map with L1's PT page split out, and the alias chain ending at page_a
 * (through a 2 MiB leaf with huge).  INVEPT drops what L0 kept of the
 * previous row's tables.
 */
static void setup_l2(struct nested_pages *p, void (*l2)(void), bool huge, bool ad)
{
	uint64_t *t;
	uint64_t base = (uintptr_t)page_a & ~0x1fffffULL;

	vmx_init_vmcs(&p->vmx, l2, p->l2_stack_top);
	memset(&regs, 0, sizeof(regs));
	n.pool_next = p->pool;
	n.tdp_root = 0;
	guest_nested_tdp_enable(&n);
	guest_nested_tdp_pte(&n, (uintptr_t)l1_pt);
	t = (uint64_t *)(uintptr_t)n.tdp_root;
	alias_e[L_PML4E] = &t[(alias_gpa >> 39) & 511];
	t = ept_next(alias_e[L_PML4E]);
	alias_e[L_PDPTE] = &t[(alias_gpa >> 30) & 511];
	t = ept_next(alias_e[L_PDPTE]);
	alias_e[L_PDE] = &t[(alias_gpa >> 21) & 511];
	t = ept_next(alias_e[L_PDE]);
	alias_e[L_PTE] = &t[(alias_gpa >> 12) & 511];
	*alias_e[L_PTE] = (uintptr_t)page_a | EPT_RWX | EPT_MT_WB;
	if (huge) {
		*alias_e[L_PDE] = base | EPT_RWX | EPT_MT_WB | EPT_PS;
		l1_point_alias((alias_gpa & ~0x1fffffULL) + ((uintptr_t)page_a - base));
	} else {
		l1_point_alias(alias_gpa);
	}
	eptp = n.tdp_root | EPTP_WB_4LEVEL | (ad ? EPTP_AD : 0);
	vmwrite(EPT_POINTER, eptp);
	fill_page(page_a, READ_MAGIC);
	l2_out = 0;
	l2_out2 = 0;
	if (!vmx_invept(eptp))
		GUEST_FAIL("no INVEPT to start from clean EPT tables");
}

/* The L2 GPA the alias's linear address translates to. */
static uint64_t l2_gpa_of_alias(void)
{
	return l1_pt[L1_PT_IDX] & PTE_ADDR_MASK;
}

static uint64_t *row_entry(const struct ept_row *r)
{
	return r->level == L_L1_PT ? guest_nested_tdp_pte(&n, (uintptr_t)l1_pt) :
	       alias_e[r->level];
}

/* ---- the violation and misconfiguration rows ---- */

static const char *check_done(enum access acc)
{
	uint64_t w = *(volatile uint64_t *)(page_a + OFF_WRITE);

	if (acc == ACC_READ && l2_out != READ_MAGIC)
		guest_snprintf(why, sizeof(why), "L2 read 0x%lx, expected 0x%lx", l2_out,
			       READ_MAGIC);
	else if (acc == ACC_WRITE && w != WRITE_MAGIC)
		guest_snprintf(why, sizeof(why), "L2's write left 0x%lx, expected 0x%lx", w,
			       WRITE_MAGIC);
	else if (acc == ACC_FETCH && l2_out != FETCH_DONE)
		guest_snprintf(why, sizeof(why), "L2 did not return from the alias's RET");
	else
		return NULL;
	return why;
}

static void check_exit_info(const struct ept_row *r, uint64_t qual)
{
	uint64_t gpa = vmread(GUEST_PHYSICAL_ADDRESS), want_gpa, gla;
	char b[160], bw[160];

	want_gpa = r->level == L_L1_PT ? (uintptr_t)&l1_pt[L1_PT_IDX] :
		   l2_gpa_of_alias() + off_of[r->acc];
	if (gpa != want_gpa)
		ROW_FAIL(r->name, "guest-physical address 0x%lx, expected 0x%lx", gpa, want_gpa);
	if (r->reason != EXIT_REASON_EPT_VIOLATION)
		return;
	if ((qual & 0x1bf) != r->qual)
		ROW_FAIL(r->name, "qualification 0x%lx (%s), expected 0x%lx in bits 0-5,7,8 (%s)",
			 qual, vmx_exit_str(EXIT_REASON_EPT_VIOLATION, qual, b, sizeof(b)),
			 r->qual, vmx_exit_str(EXIT_REASON_EPT_VIOLATION, r->qual, bw, sizeof(bw)));
	gla = vmread(GUEST_LINEAR_ADDRESS);
	if ((qual & EPT_VQ_GLA_VALID) && gla != ALIAS_GVA + off_of[r->acc])
		ROW_FAIL(r->name, "guest-linear address 0x%lx, expected 0x%lx", gla,
			 ALIAS_GVA + off_of[r->acc]);
}

static void run_row(struct nested_pages *p, const struct ept_row *r)
{
	const char *w = r->need ? r->need() : NULL;
	enum vmx_status s;
	uint64_t *e, saved, qual;
	uint32_t reason;
	char b[160];

	if (w) {
		GUEST_PRINTF("SKIP %s: %s", r->name, w);
		skipped++;
		return;
	}
	setup_l2(p, l2_of[r->acc], r->huge, false);
	e = row_entry(r);
	saved = *e;
	*e = (saved & ~r->clear) | r->set;
	reason = vmx_run(false, &regs, &s);
	if (s != VMX_OK) {
		ROW_FAIL(r->name, "VMLAUNCH %s", vmx_status_name(s));
		return;
	}
	qual = vmread(EXIT_QUALIFICATION);
	if (reason != r->reason) {
		ROW_FAIL(r->name, "%s: exit %s, expected %s (%u)", level_names[r->level],
			 vmx_exit_str(reason, qual, b, sizeof(b)), vmx_exit_name(r->reason),
			 r->reason);
		return;
	}
	if (reason != EXIT_REASON_VMCALL) {
		check_exit_info(r, qual);
		/* Repaired without INVEPT: the violation dropped its mappings (29.4.3.1). */
		*e = saved;
		reason = vmx_run(true, &regs, &s);
		if (s != VMX_OK || reason != EXIT_REASON_VMCALL) {
			ROW_FAIL(r->name, "after the repair: %s %s, expected L2's VMCALL",
				 vmx_status_name(s), vmx_exit_str(reason, vmread(EXIT_QUALIFICATION),
								  b, sizeof(b)));
			return;
		}
	}
	w = check_done(r->acc);
	if (w)
		ROW_FAIL(r->name, "%s", w);
}

#define RD	EPT_VQ_READ
#define WR	EPT_VQ_WRITE
#define FE	EPT_VQ_FETCH
#define GF	(EPT_VQ_GLA_VALID | EPT_VQ_FINAL)
#define VIOL(nm, a, l, c, s, q, nd)	{ nm, a, l, c, s, false, EXIT_REASON_EPT_VIOLATION, q, nd }
#define MISC(nm, a, l, c, s, nd)	{ nm, a, l, c, s, false, EXIT_REASON_EPT_MISCONFIG, 0, nd }

static const struct ept_row viol_rows[] = {
	VIOL("read, PML4E not present", ACC_READ, L_PML4E, EPT_RWX, 0, RD | GF,
	     need_high_alias),
	VIOL("write, PML4E not present", ACC_WRITE, L_PML4E, EPT_RWX, 0, WR | GF,
	     need_high_alias),
	VIOL("read, PDPTE not present", ACC_READ, L_PDPTE, EPT_RWX, 0, RD | GF, NULL),
	VIOL("write, PDPTE not present", ACC_WRITE, L_PDPTE, EPT_RWX, 0, WR | GF, NULL),
	VIOL("fetch, PDE not present", ACC_FETCH, L_PDE, EPT_RWX, 0, FE | GF, NULL),
	VIOL("read, PTE not present", ACC_READ, L_PTE, EPT_RWX, 0, RD | GF, NULL),
	VIOL("fetch, PTE not present", ACC_FETCH, L_PTE, EPT_RWX, 0, FE | GF, NULL),
	VIOL("write, leaf R+X", ACC_WRITE, L_PTE, EPT_W, 0,
	     WR | EPT_VQ_R | EPT_VQ_X | GF, NULL),
	VIOL("fetch, leaf R+W", ACC_FETCH, L_PTE, EPT_X, 0,
	     FE | EPT_VQ_R | EPT_VQ_W | GF, NULL),
	VIOL("read, leaf X only (execute-only)", ACC_READ, L_PTE, EPT_R | EPT_W, 0,
	     RD | EPT_VQ_X | GF, need_exec_only),
	VIOL("write, non-leaf PDE R+X, leaf RWX: bits 3-5 are the AND", ACC_WRITE, L_PDE,
	     EPT_W, 0, WR | EPT_VQ_R | EPT_VQ_X | GF, NULL),
	VIOL("fetch, non-leaf PDPTE R+W, leaf RWX: bits 3-5 are the AND", ACC_FETCH, L_PDPTE,
	     EPT_X, 0, FE | EPT_VQ_R | EPT_VQ_W | GF, NULL),
	VIOL("read, L1's page-table page not present: walk (bit 8 clear)", ACC_READ, L_L1_PT,
	     EPT_RWX, 0, RD | EPT_VQ_GLA_VALID, NULL),
	{ "read through a 2 MiB EPT leaf", ACC_READ, L_PDE, 0, 0, true, EXIT_REASON_VMCALL,
	  0, NULL },
	{ "write, 2 MiB EPT leaf R+X: GPA within the 2 MiB page", ACC_WRITE, L_PDE, EPT_W, 0,
	  true, EXIT_REASON_EPT_VIOLATION, WR | EPT_VQ_R | EPT_VQ_X | GF, NULL },
};

static const struct ept_row misc_rows[] = {
	MISC("write, leaf W without R", ACC_WRITE, L_PTE, EPT_R | EPT_X, 0, NULL),
	MISC("read, leaf W+X without R", ACC_READ, L_PTE, EPT_R, 0, NULL),
	MISC("read, non-leaf PDE W without R", ACC_READ, L_PDE, EPT_R | EPT_X, 0, NULL),
	MISC("read, leaf X only without execute-only support", ACC_READ, L_PTE,
	     EPT_R | EPT_W, 0, need_no_exec_only),
	MISC("read, leaf memory type 2", ACC_READ, L_PTE, EPT_MT_WB, 2ULL << 3, NULL),
	MISC("read, leaf memory type 7", ACC_READ, L_PTE, 0, 7ULL << 3, NULL),
	MISC("read, PML4E bit 7 (reserved)", ACC_READ, L_PML4E, 0, 1ULL << 7, need_high_alias),
	MISC("read, non-leaf PDE bit 3 (reserved)", ACC_READ, L_PDE, 0, 1ULL << 3, NULL),
	MISC("read, leaf address bit 51 (above MAXPHYADDR)", ACC_READ, L_PTE, 0, 1ULL << 51,
	     need_maxphy_below_52),
};

static void finish(unsigned int nr)
{
	GUEST_PRINTF("%u rows: %u failed, %u not applicable here", nr, failed, skipped);
	__GUEST_ASSERT(!failed, "%u check(s) failed (listed above)", failed);
	GUEST_DONE();
}

static void start(struct nested_pages *p, bool want_ept)
{
	const char *w = want_ept ? no_ept() : NULL;

	if (w)
		guest_nested_skip_test(w);
	guest_nested_init(&n, p, l2_done);
	if (want_ept)
		l1_map_alias_once();
}

static void run_rows(struct nested_pages *p, const struct ept_row *rows, unsigned int nr)
{
	start(p, true);
	for (unsigned int i = 0; i < nr; i++)
		run_row(p, &rows[i]);
	finish(nr);
}

static void l1_violations(struct nested_pages *p)
{
	run_rows(p, viol_rows, ARRAY_SIZE(viol_rows));
}

static void l1_misconfigs(struct nested_pages *p)
{
	run_rows(p, misc_rows, ARRAY_SIZE(misc_rows));
}

/* ---- accessed and dirty flags (29.3.5) ---- */

static void expect_bits(const char *row, const char *what, uint64_t e, uint64_t bits,
			bool set)
{
	if (set ? (e & bits) != bits : (e & bits) != 0)
		ROW_FAIL(row, "%s 0x%lx: %s 0x%lx expected %s", what, e,
			 bits == EPT_ACCESSED ? "A" : bits == EPT_DIRTY ? "D" : "A/D", bits,
			 set ? "set" : "clear");
}

static bool run_to_vmcall(const char *row)
{
	enum vmx_status s;
	uint32_t reason = vmx_run(false, &regs, &s);
	char b[160];

	if (s == VMX_OK && reason == EXIT_REASON_VMCALL)
		return true;
	ROW_FAIL(row, "VMLAUNCH %s, exit %s, expected L2's VMCALL", vmx_status_name(s),
		 vmx_exit_str(reason, vmread(EXIT_QUALIFICATION), b, sizeof(b)));
	return false;
}

static void ad_row(struct nested_pages *p, const char *row, void (*l2)(void), bool ad,
		   bool dirty)
{
	setup_l2(p, l2, false, ad);
	if (!run_to_vmcall(row))
		return;
	for (int l = L_PML4E; l <= L_PTE; l++)
		expect_bits(row, level_names[l], *alias_e[l], EPT_ACCESSED, ad);
	expect_bits(row, "PTE", *alias_e[L_PTE], EPT_DIRTY, ad && dirty);
	/* L1's page tables: with A/D, the walk's accesses count as writes (29.3.5). */
	expect_bits(row, "L1 PT page's leaf", *guest_nested_tdp_pte(&n, (uintptr_t)l1_pt),
		    EPT_ACCESSED | EPT_DIRTY, ad);
}

static void l1_ad(struct nested_pages *p)
{
	start(p, true);
	if (!(ept_caps() & VMX_EPT_CAP_AD)) {
		GUEST_PRINTF("SKIP A/D rows: IA32_VMX_EPT_VPID_CAP bit 21 clear (no EPT A/D)");
		skipped += 2;
	} else {
		ad_row(p, "A/D on, L2 reads: A in the walk, no D", l2_read, true, false);
		ad_row(p, "A/D on, L2 writes: A and D", l2_write, true, true);
	}
	ad_row(p, "A/D off, L2 reads and writes: A/D stay clear", l2_read_write, false, false);
	finish(3);
}

/* ---- INVEPT and INVVPID (31.3) ---- */

enum inv_insn { INVEPT, INVVPID };

struct inv_row {
	const char *name;
	enum inv_insn insn;
	uint64_t type, d0, d1;	/* d0: EPTP or VPID (0 for INVEPT: the current EPTP) */
	uint64_t cap;		/* IA32_VMX_EPT_VPID_CAP bit the row needs, 0: none */
	uint64_t no_cap;	/* ... or needs clear */
	bool ok;		/* VMsucceed, else VMfailValid with error 28 */
};

#define CUR_EPTP	(~0ULL)

static const struct inv_row inv_rows[] = {
	{ "INVEPT single-context", INVEPT, INVEPT_SINGLE, CUR_EPTP, 0,
	  VMX_EPT_CAP_INVEPT_SINGLE, 0, true },
	{ "INVEPT all-context", INVEPT, INVEPT_ALL, CUR_EPTP, 0, VMX_EPT_CAP_INVEPT_ALL, 0, true },
	{ "INVEPT type 0", INVEPT, 0, CUR_EPTP, 0, VMX_EPT_CAP_INVEPT, 0, false },
	{ "INVEPT type 3", INVEPT, 3, CUR_EPTP, 0, VMX_EPT_CAP_INVEPT, 0, false },
	{ "INVEPT type 1 not offered", INVEPT, INVEPT_SINGLE, CUR_EPTP, 0, VMX_EPT_CAP_INVEPT,
	  VMX_EPT_CAP_INVEPT_SINGLE, false },
	{ "INVEPT type 2 not offered", INVEPT, INVEPT_ALL, CUR_EPTP, 0, VMX_EPT_CAP_INVEPT,
	  VMX_EPT_CAP_INVEPT_ALL, false },
	{ "INVEPT single-context, EPTP with a 5-level walk not offered", INVEPT,
	  INVEPT_SINGLE, 1, 0, VMX_EPT_CAP_INVEPT_SINGLE, 1ULL << 7, false },
	{ "INVVPID individual-address", INVVPID, INVVPID_ADDR, 1, 0x1000,
	  VMX_VPID_CAP_INDIVIDUAL, 0, true },
	{ "INVVPID single-context", INVVPID, INVVPID_SINGLE, 1, 0, VMX_VPID_CAP_SINGLE, 0, true },
	{ "INVVPID all-context", INVVPID, INVVPID_ALL, 0, 0, VMX_VPID_CAP_ALL, 0, true },
	{ "INVVPID single-context retaining globals", INVVPID, INVVPID_SINGLE_GLOBALS, 1, 0,
	  VMX_VPID_CAP_SINGLE_GLOBALS, 0, true },
	{ "INVVPID type 4", INVVPID, 4, 1, 0, VMX_VPID_CAP_INVVPID, 0, false },
	{ "INVVPID individual-address, VPID 0", INVVPID, INVVPID_ADDR, 0, 0x1000,
	  VMX_VPID_CAP_INDIVIDUAL, 0, false },
	{ "INVVPID single-context, VPID 0", INVVPID, INVVPID_SINGLE, 0, 0, VMX_VPID_CAP_SINGLE,
	  0, false },
	{ "INVVPID retaining globals, VPID 0", INVVPID, INVVPID_SINGLE_GLOBALS, 0, 0,
	  VMX_VPID_CAP_SINGLE_GLOBALS, 0, false },
	{ "INVVPID individual-address, non-canonical address", INVVPID, INVVPID_ADDR, 1,
	  0x0000800000000000ULL, VMX_VPID_CAP_INDIVIDUAL, 0, false },
	{ "INVVPID single-context, VPID field bits 63:16 set", INVVPID, INVVPID_SINGLE,
	  1 | (1ULL << 16), 0, VMX_VPID_CAP_SINGLE, 0, false },
};

static const char *inv_skip(const struct inv_row *r)
{
	uint64_t caps = ept_caps();

	if (r->insn == INVEPT && no_ept())
		return no_ept();
	if (r->insn == INVVPID && !(caps & VMX_VPID_CAP_INVVPID))
		return "IA32_VMX_EPT_VPID_CAP bit 32 clear: no INVVPID";
	if (r->cap && !(caps & r->cap)) {
		guest_snprintf(why, sizeof(why), "IA32_VMX_EPT_VPID_CAP 0x%lx lacks 0x%lx",
			       caps, r->cap);
		return why;
	}
	if (r->no_cap && (caps & r->no_cap)) {
		guest_snprintf(why, sizeof(why), "IA32_VMX_EPT_VPID_CAP has 0x%lx (offered)",
			       r->no_cap);
		return why;
	}
	return NULL;
}

static void inv_row(const struct inv_row *r)
{
	const char *w = inv_skip(r);
	uint64_t d0 = r->d0, err = 0;
	enum vmx_status s;
	uint8_t vec;

	if (w) {
		GUEST_PRINTF("SKIP %s: %s", r->name, w);
		skipped++;
		return;
	}
	if (r->insn == INVEPT && d0 == CUR_EPTP)
		d0 = eptp;
	else if (r->insn == INVEPT)	/* EPTP bits 5:3 = 4: a 5-level walk */
		d0 = (eptp & ~0x38ULL) | (4ULL << 3);
	s = r->insn == INVEPT ? __invept(r->type, d0, r->d1, &vec) :
				__invvpid(r->type, d0, r->d1, &vec);
	err = vmx_insn_error(s);
	if (r->ok && s != VMX_OK)
		ROW_FAIL(r->name, "type %lu: %s (error %lu, %s; vector %u), expected VMsucceed",
			 r->type, vmx_status_name(s), err, vmx_insn_error_name(err), vec);
	else if (!r->ok && (s != VMX_FAIL_VALID || err != VMXERR_INVEPT_INVVPID))
		ROW_FAIL(r->name, "type %lu: %s (error %lu, %s; vector %u), expected VMfailValid "
			 "error 28 (%s)", r->type, vmx_status_name(s), err,
			 vmx_insn_error_name(err), vec, vmx_insn_error_name(VMXERR_INVEPT_INVVPID));
}

/*
 * L2 reads page_a through the alias, L1 points the leaf at page_b and
 * invalidates with INVEPT of type: L2's next read must see page_b.
 */
static void invept_remap_row(struct nested_pages *p, const char *row, uint64_t type,
			     uint64_t cap)
{
	enum vmx_status s;
	uint32_t reason;
	uint8_t vec;

	if (no_ept() || !(ept_caps() & cap)) {
		GUEST_PRINTF("SKIP %s: %s", row, no_ept() ? no_ept() :
			     "IA32_VMX_EPT_VPID_CAP lacks this INVEPT type");
		skipped++;
		return;
	}
	setup_l2(p, l2_read_twice, false, false);
	fill_page(page_b, ~READ_MAGIC);
	if (!run_to_vmcall(row))
		return;
	*alias_e[L_PTE] = (uintptr_t)page_b | EPT_RWX | EPT_MT_WB;
	s = __invept(type, eptp, 0, &vec);
	if (s != VMX_OK) {
		ROW_FAIL(row, "INVEPT type %lu: %s", type, vmx_status_name(s));
		return;
	}
	vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(VM_EXIT_INSTRUCTION_LEN));
	reason = vmx_run(true, &regs, &s);
	if (s != VMX_OK || reason != EXIT_REASON_VMCALL)
		ROW_FAIL(row, "VMRESUME %s, exit %u, expected L2's VMCALL", vmx_status_name(s),
			 reason);
	else if (l2_out != READ_MAGIC || l2_out2 != ~READ_MAGIC)
		ROW_FAIL(row, "L2 read 0x%lx then 0x%lx, expected 0x%lx (page A) then 0x%lx "
			 "(page B, after INVEPT)", l2_out, l2_out2, READ_MAGIC, ~READ_MAGIC);
}

static void l1_inv(struct nested_pages *p)
{
	start(p, false);
	/* A current VMCS: the failures are VMfailValid. */
	if (!no_ept()) {
		l1_map_alias_once();
		setup_l2(p, l2_done, false, false);
	} else {
		vmx_init_vmcs(&p->vmx, l2_done, p->l2_stack_top);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(inv_rows); i++)
		inv_row(&inv_rows[i]);
	invept_remap_row(p, "INVEPT single-context after the leaf moved", INVEPT_SINGLE,
			 VMX_EPT_CAP_INVEPT_SINGLE);
	invept_remap_row(p, "INVEPT all-context after the leaf moved", INVEPT_ALL,
			 VMX_EPT_CAP_INVEPT_ALL);
	finish(ARRAY_SIZE(inv_rows) + 2);
}

/* ---- VPID at VM entry (27.2.1.1) ---- */

static void vpid_entry(struct nested_pages *p, const char *row, uint16_t vpid, bool ok)
{
	enum vmx_status s;
	uint32_t reason;
	uint64_t err = 0;

	vmx_init_vmcs(&p->vmx, l2_done, p->l2_stack_top);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, vmread(CPU_BASED_VM_EXEC_CONTROL) |
		CPU_BASED_ACTIVATE_SECONDARY);
	vmwrite(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_VPID);
	vmwrite(VIRTUAL_PROCESSOR_ID, vpid);
	reason = vmx_run(false, &regs, &s);
	err = vmx_insn_error(s);
	if (ok && (s != VMX_OK || reason != EXIT_REASON_VMCALL))
		ROW_FAIL(row, "VMLAUNCH %s (error %lu, %s), exit %u; expected L2's VMCALL",
			 vmx_status_name(s), err, vmx_insn_error_name(err), reason);
	if (!ok && (s != VMX_FAIL_VALID || err != VMXERR_ENTRY_CONTROLS))
		ROW_FAIL(row, "VMLAUNCH %s (error %lu, %s), exit %u; expected VMfailValid "
			 "error 7 (%s)", vmx_status_name(s), err, vmx_insn_error_name(err),
			 s == VMX_OK ? reason : 0, vmx_insn_error_name(VMXERR_ENTRY_CONTROLS));
}

static void l1_vpid(struct nested_pages *p)
{
	start(p, false);
	if (!((rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32) & CPU_BASED_ACTIVATE_SECONDARY) ||
	    !((rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32) & SECONDARY_EXEC_ENABLE_VPID))
		guest_nested_skip_test("the enable-VPID control has allowed-1 = 0");
	vpid_entry(p, "enable VPID with VPID 0: VMfailValid, invalid control field", 0, false);
	vpid_entry(p, "enable VPID with VPID 1: L2 runs", 1, true);
	finish(2);
}

VMX_TEST(ept_violations, l1_violations)
VMX_TEST(ept_misconfigs, l1_misconfigs)
VMX_TEST(ept_accessed_dirty, l1_ad)
VMX_TEST(invept_invvpid, l1_inv)
VMX_TEST(vpid_entry, l1_vpid)

TEST_HARNESS_MAIN
