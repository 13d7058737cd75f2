// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest machine-check handling (SDM vol. 3B 16.6 and 16.10): read the
 * banks, classify each error, clear what was handled, and for a
 * recoverable memory error do what an OS's memory-failure code does: take
 * the page out of use and give the victim a fresh page at the same VA.
 */
#define MCE_GUEST_ONLY
#include "guest.h"
#include "mce.h"

struct mce_guest_state mce_guest;

#define PTE_P		0x1ULL
#define PTE_PS		0x80ULL
#define PTE_ADDR	0x000ffffffffff000ULL

uint64_t *mce_guest_pte(uint64_t va)
{
	uint64_t table = get_cr3() & PTE_ADDR;

	for (int level = 3; level >= 0; level--) {
		/* Page tables sit in identity-mapped low memory: GPA == VA. */
		uint64_t *e = (uint64_t *)(uintptr_t)table + ((va >> (12 + 9 * level)) & 511);

		if (!(*e & PTE_P))
			return NULL;
		if (!level)
			return e;
		if (*e & PTE_PS)
			return NULL;	/* a large page can't be replaced page by page */
		table = *e & PTE_ADDR;
	}
	return NULL;
}

/* The guest's memory_failure(): unmap gpa from every victim, map a fresh page. */
static void memory_failure(struct mce_event *ev, uint64_t gpa)
{
	gpa &= ~0xfffULL;
	if (mce_guest.nr_poisoned < MCE_MAX_EVENTS)
		mce_guest.poisoned[mce_guest.nr_poisoned++] = gpa;
	for (unsigned int i = 0; i < MCE_MAX_VICTIMS; i++) {
		uint64_t va = mce_guest.victims[i], *pte, fresh;

		if (!va)
			continue;
		pte = mce_guest_pte(va);
		if (!pte || (*pte & PTE_ADDR) != gpa)
			continue;
		if (!mce_guest.nr_spare)
			GUEST_FAIL("memory failure at GPA 0x%lx: no spare page for VA 0x%lx", gpa, va);
		fresh = mce_guest.spare_pages[--mce_guest.nr_spare];
		/* The data is lost; the victim gets a zeroed page, not stale bytes. */
		memset((void *)(uintptr_t)fresh, 0, 4096);
		*pte = (*pte & ~PTE_ADDR) | fresh;
		invlpg(va);
		ev->victim_va = va;
		ev->new_gpa = fresh;
	}
}

static void mce_handler(struct ex_regs *regs)
{
	uint64_t mcg_status = rdmsr(MSR_IA32_MCG_STATUS);
	unsigned int banks = mce_guest.mcg_cap & MCG_CAP_COUNT_MASK, found = 0;
	const char *fatal = NULL;
	struct mce_event *ev = NULL;

	if (!(mcg_status & MCG_STATUS_MCIP))
		GUEST_FAIL("#MC at RIP 0x%lx with MCG_STATUS.MCIP clear (0x%lx)", regs->rip,
			   mcg_status);

	for (unsigned int bank = 0; bank < banks; bank++) {
		uint64_t status = rdmsr(MSR_IA32_MCx_STATUS(bank));
		enum mce_class class = mce_classify(status);

		if (class == MCE_NONE)
			continue;
		found++;
		if (mce_guest.nr_events >= MCE_MAX_EVENTS)
			GUEST_FAIL("more than %u machine-check events", MCE_MAX_EVENTS);
		ev = &mce_guest.events[mce_guest.nr_events++];
		ev->mcg_status = mcg_status;
		ev->status = status;
		ev->bank = bank;
		ev->class = class;
		ev->rip = regs->rip;
		ev->addr = (status & MCI_STATUS_ADDRV) ? rdmsr(MSR_IA32_MCx_ADDR(bank)) : 0;
		ev->misc = (status & MCI_STATUS_MISCV) ? rdmsr(MSR_IA32_MCx_MISC(bank)) : 0;

		switch (class) {
		case MCE_FATAL:
			fatal = "processor context corrupt (PCC=1)";
			break;
		case MCE_SRAR:
			/* 16.6.3: restart needs RIPV or EIPV; the address tells what to fix. */
			if (!(mcg_status & (MCG_STATUS_RIPV | MCG_STATUS_EIPV)))
				fatal = "SRAR with neither RIPV nor EIPV: no place to restart";
			else if (!(status & MCI_STATUS_ADDRV))
				fatal = "SRAR without an address (ADDRV=0)";
			else
				memory_failure(ev, ev->addr);
			break;
		case MCE_SRAO:
			if (status & MCI_STATUS_ADDRV)
				memory_failure(ev, ev->addr);
			break;
		default:	/* corrected or UCNA found while here: logged only */
			break;
		}
		/* 16.3.2.2: software clears the status it has consumed. */
		wrmsr(MSR_IA32_MCx_STATUS(bank), 0);
	}

	if (!found)
		GUEST_FAIL("#MC at RIP 0x%lx, MCG_STATUS 0x%lx, but no bank holds a valid error",
			   regs->rip, mcg_status);
	if (fatal)
		GUEST_FAIL("unrecoverable machine check, bank %u status 0x%lx addr 0x%lx: %s",
			   ev->bank, ev->status, ev->addr, fatal);
	if (!(mcg_status & MCG_STATUS_RIPV) && !(mcg_status & MCG_STATUS_EIPV))
		GUEST_FAIL("#MC with RIPV=EIPV=0: cannot resume at RIP 0x%lx", regs->rip);
	/* Clearing MCIP re-arms #MC; another one while set is a shutdown (16.10.1). */
	wrmsr(MSR_IA32_MCG_STATUS, 0);
}

void mce_guest_init(void)
{
	mce_guest.mcg_cap = rdmsr(MSR_IA32_MCG_CAP);
	guest_install_handler(MC_VECTOR, mce_handler);
	set_cr4(get_cr4() | X86_CR4_MCE);
}

unsigned int mce_guest_poll(void)
{
	unsigned int banks = mce_guest.mcg_cap & MCG_CAP_COUNT_MASK, n = 0;

	for (unsigned int bank = 0; bank < banks; bank++) {
		uint64_t status = rdmsr(MSR_IA32_MCx_STATUS(bank));
		struct mce_event *ev;

		if (!(status & MCI_STATUS_VAL) || mce_guest.nr_events >= MCE_MAX_EVENTS)
			continue;
		ev = &mce_guest.events[mce_guest.nr_events++];
		ev->status = status;
		ev->bank = bank;
		ev->class = mce_classify(status);
		ev->addr = (status & MCI_STATUS_ADDRV) ? rdmsr(MSR_IA32_MCx_ADDR(bank)) : 0;
		ev->misc = (status & MCI_STATUS_MISCV) ? rdmsr(MSR_IA32_MCx_MISC(bank)) : 0;
		wrmsr(MSR_IA32_MCx_STATUS(bank), 0);
		n++;
	}
	return n;
}
