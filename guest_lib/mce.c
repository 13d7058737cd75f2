// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest machine-check handling (SDM vol. 3B 16.6 and 16.10): read the
 * banks, classify each error and decide (mce_decide() in mce.h), clear what
 * was handled, and for a recoverable memory error do what an OS's
 * memory-failure code does: take the page out of use (no mapping of it
 * stays, not even the identity map) and give the victim a fresh page at the
 * same VA.
 */
#include "guest/guest.h"
#include "guest/mce.h"

struct mce_guest_state mce_guest;

/*
 * Page tables for splitting large pages of the identity map.  They live in
 * this image, which is mapped at its link address (GVA == GPA), so their
 * address is also the GPA a paging entry needs.
 */
#define MCE_PT_POOL	4
static uint64_t mce_pt_pool[MCE_PT_POOL][512] __attribute__((aligned(4096)));

static uint64_t *pt_entry(uint64_t table, uint64_t va, int level)
{
	/* Page tables sit in identity-mapped memory: GPA == VA. */
	return (uint64_t *)(uintptr_t)table + ((va >> (12 + 9 * level)) & 511);
}

uint64_t *guest_mce_pte(uint64_t va)
{
	uint64_t table = get_cr3() & PTE_ADDR_MASK;

	for (int level = 3; level >= 0; level--) {
		uint64_t *e = pt_entry(table, va, level);

		if (!(*e & PTE_PRESENT))
			return NULL;
		if (!level)
			return e;
		if (*e & PTE_LARGE)
			return NULL;	/* a large page can't be replaced page by page */
		table = *e & PTE_ADDR_MASK;
	}
	return NULL;
}

/*
 * Replace the large-page entry *e (level 1: 2 MiB, level 2: 1 GiB) by a
 * table of 512 entries that map the same memory with the same attributes
 * (SDM vol. 3A 4.5, tables 4-17..4-20: PAT moves from bit 12 to bit 7 in a
 * 4 KiB PTE).  The translations don't change, so no TLB flush is needed
 * for the split itself; the caller flushes the page it then changes.
 */
static void split_large(uint64_t *e, int level)
{
	uint64_t child_size = 1ULL << (12 + 9 * (level - 1));
	uint64_t base = *e & PTE_ADDR_MASK & ~((child_size << 9) - 1);
	uint64_t flags = *e & ~(PTE_ADDR_MASK & ~PTE_PAT_LARGE), *table;

	if (mce_guest.nr_pt_pages >= MCE_PT_POOL)
		GUEST_FAIL("memory failure: no page-table page left to split the %s page at "
			   "GPA 0x%lx (pool of %u)", level == 1 ? "2 MiB" : "1 GiB", base,
			   MCE_PT_POOL);
	table = mce_pt_pool[mce_guest.nr_pt_pages++];
	if (level == 1) {
		flags &= ~(PTE_LARGE | PTE_PAT_LARGE);
		if (*e & PTE_PAT_LARGE)
			flags |= PTE_PAT_4K;
	}
	for (unsigned int i = 0; i < 512; i++)
		table[i] = (base + i * child_size) | flags;
	/* A non-leaf entry: the leaves keep their own permissions. */
	*e = (uint64_t)(uintptr_t)table | PTE_PRESENT | PTE_WRITABLE | PTE_USER | PTE_ACCESSED;
}

/* Remove the identity mapping (VA == GPA) of one page; false if it had none. */
static bool unmap_identity(uint64_t gpa)
{
	uint64_t table = get_cr3() & PTE_ADDR_MASK;

	for (int level = 3; level >= 0; level--) {
		uint64_t *e = pt_entry(table, gpa, level);

		if (!(*e & PTE_PRESENT))
			return false;
		if (level && (*e & PTE_LARGE))
			split_large(e, level);
		if (!level) {
			*e = 0;
			/* INVLPG drops the page's TLB entries of any page size (SDM 4.10.4.1). */
			invlpg(gpa);
			return true;
		}
		table = *e & PTE_ADDR_MASK;
	}
	return false;
}

/*
 * The guest's memory_failure(): the page is recorded as poisoned, loses
 * its identity mapping, and every victim VA that mapped it gets a fresh page.
 */
static void memory_failure(struct mce_event *ev, uint64_t gpa)
{
	ev->page = gpa;
	if (mce_guest.nr_poisoned < MCE_MAX_EVENTS)
		mce_guest.poisoned[mce_guest.nr_poisoned++] = gpa;
	ev->identity_unmapped = unmap_identity(gpa);
	for (unsigned int i = 0; i < MCE_MAX_VICTIMS; i++) {
		uint64_t va = mce_guest.victims[i], *pte, fresh;

		if (!va)
			continue;
		pte = guest_mce_pte(va);
		if (!pte || (*pte & PTE_ADDR_MASK) != gpa)
			continue;
		if (!mce_guest.nr_spare)
			GUEST_FAIL("memory failure at GPA 0x%lx: no spare page for VA 0x%lx", gpa, va);
		fresh = mce_guest.spare_pages[--mce_guest.nr_spare];
		/* The data is lost; the victim gets a zeroed page, not stale bytes. */
		memset((void *)(uintptr_t)fresh, 0, 4096);
		*pte = (*pte & ~PTE_ADDR_MASK) | fresh;
		invlpg(va);
		ev->victim_va = va;
		ev->new_gpa = fresh;
	}
}

/* Read one valid bank into a new event and decide what to do with it. */
static struct mce_event *record_bank(unsigned int bank, uint64_t status, uint64_t mcg_cap,
				     uint64_t mcg_status, uint64_t rip)
{
	struct mce_event *ev;
	struct mce_decision d;

	if (mce_guest.nr_events >= MCE_MAX_EVENTS)
		GUEST_FAIL("more than %u machine-check events", MCE_MAX_EVENTS);
	ev = &mce_guest.events[mce_guest.nr_events++];
	ev->mcg_cap = mcg_cap;
	ev->mcg_status = mcg_status;
	ev->ctl = rdmsr(MSR_IA32_MCx_CTL(bank));
	ev->status = status;
	ev->bank = bank;
	ev->rip = rip;
	ev->addr = (status & MCI_STATUS_ADDRV) ? rdmsr(MSR_IA32_MCx_ADDR(bank)) : 0;
	ev->misc = (status & MCI_STATUS_MISCV) ? rdmsr(MSR_IA32_MCx_MISC(bank)) : 0;
	d = mce_decide(status, ev->misc, mcg_status, mcg_cap);
	ev->class = d.class;
	ev->action = d.action;
	ev->reason = d.reason;
	return ev;
}

static void mce_handler(struct ex_regs *regs)
{
	/* Read per #MC, not cached: what this #MC is judged by (SER_P, bank count). */
	uint64_t mcg_cap = rdmsr(MSR_IA32_MCG_CAP);
	uint64_t mcg_status = rdmsr(MSR_IA32_MCG_STATUS);
	unsigned int banks = mcg_cap & MCG_CAP_COUNT_MASK, first = mce_guest.nr_events;
	struct mce_event *fatal = NULL;

	mce_guest.mcg_cap = mcg_cap;
	if (!(mcg_status & MCG_STATUS_MCIP))
		GUEST_FAIL("#MC at RIP 0x%lx with MCG_STATUS.MCIP clear (0x%lx)", regs->rip,
			   mcg_status);

	for (unsigned int bank = 0; bank < banks; bank++) {
		uint64_t status = rdmsr(MSR_IA32_MCx_STATUS(bank));
		struct mce_event *ev;

		if (!(status & MCI_STATUS_VAL))
			continue;
		ev = record_bank(bank, status, mcg_cap, mcg_status, regs->rip);
		if (ev->action == MCE_ACT_FATAL && !fatal)
			fatal = ev;
	}
	if (mce_guest.nr_events == first)
		GUEST_FAIL("#MC at RIP 0x%lx, MCG_STATUS 0x%lx, but no bank holds a valid error",
			   regs->rip, mcg_status);

	/*
	 * 16.3.1.2: only with RIPV may execution resume at the frame RIP, whatever
	 * the banks hold.  A fatal #MC keeps its banks and MCIP as they are (the
	 * host reads them back) and ends the guest without touching memory.
	 */
	if (!fatal && !(mcg_status & MCG_STATUS_RIPV)) {
		fatal = &mce_guest.events[first];
		fatal->action = MCE_ACT_FATAL;
		fatal->reason = MCE_WHY_NO_RIPV;
	}
	if (fatal) {
		mce_guest.fatal_reason = fatal->reason;
		GUEST_FAIL("unrecoverable machine check at RIP 0x%lx: bank %u status 0x%lx "
			   "addr 0x%lx misc 0x%lx mcg_status 0x%lx (%s): %s", regs->rip,
			   fatal->bank, fatal->status, fatal->addr, fatal->misc, mcg_status,
			   mce_class_name(fatal->class), mce_reason_str(fatal->reason));
	}

	for (unsigned int i = first; i < mce_guest.nr_events; i++) {
		struct mce_event *ev = &mce_guest.events[i];

		if (ev->action == MCE_ACT_MEMORY_FAILURE)
			memory_failure(ev, mce_error_page(ev->addr, ev->misc));
		/* 16.3.2.2: software clears the status it has consumed. */
		wrmsr(MSR_IA32_MCx_STATUS(ev->bank), 0);
	}
	/* Clearing MCIP re-arms #MC; another one while set is a shutdown (16.10.1). */
	wrmsr(MSR_IA32_MCG_STATUS, 0);
}

void guest_mce_init(void)
{
	mce_guest.mcg_cap = rdmsr(MSR_IA32_MCG_CAP);
	guest_install_handler(MC_VECTOR, mce_handler);
	set_cr4(get_cr4() | X86_CR4_MCE);
}

unsigned int guest_mce_poll(void)
{
	uint64_t mcg_cap = rdmsr(MSR_IA32_MCG_CAP);
	unsigned int banks = mcg_cap & MCG_CAP_COUNT_MASK, n = 0;

	mce_guest.mcg_cap = mcg_cap;
	for (unsigned int bank = 0; bank < banks; bank++) {
		uint64_t status = rdmsr(MSR_IA32_MCx_STATUS(bank));

		if (!(status & MCI_STATUS_VAL))
			continue;
		/* A poll only records: nothing was consumed, nothing is acted on. */
		record_bank(bank, status, mcg_cap, 0, 0)->action = MCE_ACT_LOG;
		wrmsr(MSR_IA32_MCx_STATUS(bank), 0);
		n++;
	}
	return n;
}
