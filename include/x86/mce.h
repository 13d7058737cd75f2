/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Machine-check architecture (SDM vol. 3B chapter 16) for the RAS tests,
 * shared by host and guest: register bits, the error classification and
 * decision both sides use (pure functions: unit/mce_unit.c tests them on
 * the host), and the state the guest's #MC handler records for the host.
 * The guest framework is guest/mce.h (guest_lib/mce.c), the host side
 * mce.h (lib/mce.c).
 */
#ifndef KVM_SUITE_X86_MCE_H
#define KVM_SUITE_X86_MCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IA32_MCG_CAP (SDM vol. 3B 16.3.1.1) */
#define MCG_CAP_COUNT_MASK	0xffULL
#define MCG_CTL_P		(1ULL << 8)
#define MCG_EXT_P		(1ULL << 9)
#define MCG_CMCI_P		(1ULL << 10)
#define MCG_TES_P		(1ULL << 11)
#define MCG_EXT_CNT_MASK	(0xffULL << 16)
#define MCG_SER_P		(1ULL << 24)
#define MCG_ELOG_P		(1ULL << 26)
#define MCG_LMCE_P		(1ULL << 27)

/* IA32_MCG_STATUS (16.3.1.2) */
#define MCG_STATUS_RIPV		(1ULL << 0)
#define MCG_STATUS_EIPV		(1ULL << 1)
#define MCG_STATUS_MCIP		(1ULL << 2)
#define MCG_STATUS_LMCES	(1ULL << 3)

/* IA32_MCi_STATUS (16.3.2.2) */
#define MCI_STATUS_VAL		(1ULL << 63)
#define MCI_STATUS_OVER		(1ULL << 62)
#define MCI_STATUS_UC		(1ULL << 61)
#define MCI_STATUS_EN		(1ULL << 60)
#define MCI_STATUS_MISCV	(1ULL << 59)
#define MCI_STATUS_ADDRV	(1ULL << 58)
#define MCI_STATUS_PCC		(1ULL << 57)
#define MCI_STATUS_S		(1ULL << 56)
#define MCI_STATUS_AR		(1ULL << 55)

/*
 * MCA error codes (16.9.2): memory-controller read error 0000 0000 1MMM CCCC
 * with MMM=001 (read), CCCC=1111 (channel unknown), and the SRAO/SRAR codes
 * of 16.6.3 (tables 16-8/16-9 in recent SDMs): SRAO memory scrubbing
 * 0000_0000_1100_CCCC and L3 explicit writeback 0x17A; SRAR data load 0x134
 * and instruction fetch 0x150.  Bit 12 is the corrected-error filter bit
 * (16.9.2.1), not part of the code, so matching masks it out.
 */
#define MCACOD_MEM_READ		0x009f
#define MCACOD_SCRUB		0x00c0
#define MCACOD_SCRUB_MASK	0xeff0	/* any channel CCCC */
#define MCACOD_L3_WB		0x017a
#define MCACOD_DATA_LOAD	0x0134
#define MCACOD_INSN_FETCH	0x0150
#define MCACOD_MASK		0xefff

/*
 * IA32_MCi_MISC for UCR errors (16.3.2.4): bits 5:0 the recoverable address
 * LSB (the address is exact down to that bit), bits 8:6 the address mode
 * (2 = physical address).
 */
#define MCI_MISC_LSB(m)		((unsigned int)((m) & 0x3f))
#define MCI_MISC_ADDR_MODE(m)	((unsigned int)(((m) >> 6) & 7))
#define MCI_MISC_ADDR_PHYS	2
/* Physical address, LSB 12: the error names one 4 KiB page. */
#define MCI_MISC_PHYS_PAGE	((2ULL << 6) | 12)

/*
 * The classes of 16.6.3 (UCR error classification; table 16-7/16-8 "MCi_STATUS
 * flags for UCR errors") that software must tell apart.  With MCG_CAP.SER_P
 * clear, S and AR are reserved (16.3.1.1), so an uncorrected error is only
 * "fatal" (PCC=1, or OVER=1: an uncorrected error was lost, 16.10.1) or
 * "uncorrected": and that one is not recoverable either, since without
 * SER_P "there are no recoverable errors supported and all machine-check
 * are fatal exceptions" (16.10.4.1; 16.6.1: the handler logs and shuts
 * down).  A poll may still find and log it.
 */
enum mce_class {
	MCE_NONE,	/* VAL clear: nothing logged */
	MCE_CORRECTED,	/* UC=0: corrected, logged, never #MC */
	MCE_UCNA,	/* SER_P, UC=1 PCC=0 S=0 AR=0: no action required (OVER ignored) */
	MCE_SRAO,	/* SER_P, UC=1 PCC=0 S=1 AR=0: recoverable, action optional */
	MCE_SRAR,	/* SER_P, UC=1 PCC=0 S=1 AR=1 OVER=0: recoverable, action required */
	MCE_UC,		/* no SER_P, UC=1 PCC=0 OVER=0: not recoverable (16.10.4.1) */
	MCE_FATAL,	/* UC=1 and PCC=1; or OVER=1 with AR=1 (SER_P) or any UC (no SER_P) */
	MCE_INVALID,	/* SER_P, UC=1 PCC=0 S=0 AR=1: an encoding the SDM does not define */
	MCE_NR_CLASSES
};

static inline enum mce_class mce_classify(uint64_t status, uint64_t mcg_cap)
{
	if (!(status & MCI_STATUS_VAL))
		return MCE_NONE;
	if (!(status & MCI_STATUS_UC))
		return MCE_CORRECTED;
	if (status & MCI_STATUS_PCC)
		return MCE_FATAL;
	if (!(mcg_cap & MCG_SER_P))
		return (status & MCI_STATUS_OVER) ? MCE_FATAL : MCE_UC;
	if (!(status & MCI_STATUS_S))
		return (status & MCI_STATUS_AR) ? MCE_INVALID : MCE_UCNA;
	if (!(status & MCI_STATUS_AR))
		return MCE_SRAO;	/* OVER: an earlier SRAO/UCNA was lost; still optional */
	/* 16.6.3: an SRAR whose bank overflowed may have lost the error to act on. */
	return (status & MCI_STATUS_OVER) ? MCE_FATAL : MCE_SRAR;
}

static inline const char *mce_class_name(enum mce_class c)
{
	static const char *const names[] = { "none", "corrected", "UCNA", "SRAO", "SRAR",
					     "uncorrected (no SER_P)", "fatal", "invalid" };

	return c < MCE_NR_CLASSES ? names[c] : "?";
}

/* What the #MC handler (or a poll) does with one bank. */
enum mce_action {
	MCE_ACT_LOG,		/* recorded only */
	MCE_ACT_IGNORE,		/* EN=0: not the error that signalled this #MC */
	MCE_ACT_MEMORY_FAILURE,	/* the page is taken out of use */
	MCE_ACT_FATAL,		/* the interrupted context cannot go on */
};

/* Why: for FATAL, what made it unrecoverable; for LOG, why no action was taken. */
enum mce_reason {
	MCE_WHY_NONE,
	MCE_WHY_PCC,		/* processor context corrupt */
	MCE_WHY_OVERFLOW,	/* OVER=1 with an uncorrected error that can't be dropped */
	MCE_WHY_INVALID,	/* UC=1 PCC=0 S=0 AR=1 */
	MCE_WHY_NO_RIPV,	/* MCG_STATUS.RIPV=0: no restart at the frame RIP */
	MCE_WHY_NO_ADDR,	/* ADDRV or MISCV clear: no address to act on */
	MCE_WHY_ADDR_MODE,	/* MCi_MISC address mode is not physical */
	MCE_WHY_ADDR_LSB,	/* MCi_MISC LSB > 12: the address names no single page */
	MCE_WHY_MCACOD,		/* an SRAR/SRAO code this handler does not know */
	MCE_WHY_NOT_ENABLED,	/* EN=0 */
	MCE_WHY_NO_SER_P,	/* MCG_CAP.SER_P=0: no uncorrected error is recoverable */
	MCE_NR_REASONS
};

static inline const char *mce_reason_str(enum mce_reason r)
{
	static const char *const s[] = {
		"", "processor context corrupt (PCC=1)",
		"overflow (OVER=1): an earlier error was lost",
		"invalid encoding (UC=1 PCC=0 S=0 AR=1)",
		"MCG_STATUS.RIPV=0: the interrupted context cannot be restarted",
		"no usable address (ADDRV or MISCV clear)",
		"MCi_MISC address mode is not physical",
		"MCi_MISC LSB above 12: no single page named",
		"MCA error code unknown for this class",
		"EN=0: not the signalled error",
		"MCG_CAP.SER_P=0: no uncorrected error is recoverable (SDM 16.10.4.1)",
	};

	return r < MCE_NR_REASONS ? s[r] : "?";
}

struct mce_decision {
	uint8_t class;		/* enum mce_class */
	uint8_t action;		/* enum mce_action */
	uint8_t reason;		/* enum mce_reason */
};

/* The error page an SRAO/SRAR names: MCi_ADDR with the bits below LSB masked off. */
static inline uint64_t mce_error_page(uint64_t addr, uint64_t misc)
{
	return addr & ~((1ULL << MCI_MISC_LSB(misc)) - 1) & ~0xfffULL;
}

/* Why the address of a UCR error can't be acted on (16.6.3 / 16.3.2.4), or NONE. */
static inline enum mce_reason mce_address_problem(uint64_t status, uint64_t misc)
{
	if (!(status & MCI_STATUS_ADDRV) || !(status & MCI_STATUS_MISCV))
		return MCE_WHY_NO_ADDR;
	if (MCI_MISC_ADDR_MODE(misc) != MCI_MISC_ADDR_PHYS)
		return MCE_WHY_ADDR_MODE;
	if (MCI_MISC_LSB(misc) > 12)
		return MCE_WHY_ADDR_LSB;
	return MCE_WHY_NONE;
}

/*
 * The handler's decision for one valid bank, after the error-processing
 * pseudocode of SDM vol. 3B 16.10.4.1 (and 16.6.3): mcg_status with MCIP
 * set means "inside #MC", where RIPV=0 makes anything uncorrected fatal (the
 * frame RIP is no place to resume).  mcg_status 0 is a poll's: the
 * decision is what the error would call for, and guest_mce_poll() records
 * it with action LOG, since a polled error was not consumed.
 *  - Without MCG_CAP.SER_P every uncorrected error in #MC is fatal (the
 *    pseudocode's first test on UC=1), EN=0 or not.
 *  - With SER_P, EN=0 and OVER=0 is a spurious log: not the error that
 *    signalled this #MC, ignored.
 *  - SRAR needs OVER=0, RIPV, a usable physical page address and a code the
 *    handler can repair (data load; instruction fetch would need the code
 *    page restored, which this framework can't): otherwise fatal.
 *  - SRAO is acted on only with OVER=0 and a known code and a usable
 *    address; otherwise it is logged, no action (the action is optional;
 *    nothing was consumed).
 */
static inline struct mce_decision mce_decide(uint64_t status, uint64_t misc,
					     uint64_t mcg_status, uint64_t mcg_cap)
{
	struct mce_decision d = { mce_classify(status, mcg_cap), MCE_ACT_LOG, MCE_WHY_NONE };
	bool in_mc = mcg_status & MCG_STATUS_MCIP;
	bool ripv = mcg_status & MCG_STATUS_RIPV;
	unsigned int code = status & MCACOD_MASK;

	if (in_mc && (mcg_cap & MCG_SER_P) && (status & MCI_STATUS_UC) &&
	    !(status & (MCI_STATUS_EN | MCI_STATUS_OVER))) {
		d.action = MCE_ACT_IGNORE;
		d.reason = MCE_WHY_NOT_ENABLED;
		return d;
	}
	switch (d.class) {
	case MCE_FATAL:
		d.action = MCE_ACT_FATAL;
		d.reason = (status & MCI_STATUS_PCC) ? MCE_WHY_PCC : MCE_WHY_OVERFLOW;
		break;
	case MCE_INVALID:
		d.action = MCE_ACT_FATAL;
		d.reason = MCE_WHY_INVALID;
		break;
	case MCE_UC:
		if (in_mc) {
			d.action = MCE_ACT_FATAL;
			d.reason = ripv ? MCE_WHY_NO_SER_P : MCE_WHY_NO_RIPV;
		}
		break;
	case MCE_SRAR:
		d.action = MCE_ACT_FATAL;
		if (in_mc && !ripv)
			d.reason = MCE_WHY_NO_RIPV;
		else if (mce_address_problem(status, misc))
			d.reason = mce_address_problem(status, misc);
		else if (code != MCACOD_DATA_LOAD)
			d.reason = MCE_WHY_MCACOD;
		else
			d.action = MCE_ACT_MEMORY_FAILURE;
		break;
	case MCE_SRAO:
		if (in_mc && !ripv) {
			d.action = MCE_ACT_FATAL;
			d.reason = MCE_WHY_NO_RIPV;
		} else if (status & MCI_STATUS_OVER) {
			d.reason = MCE_WHY_OVERFLOW;	/* which error does the address name? */
		} else if ((code & MCACOD_SCRUB_MASK) != MCACOD_SCRUB && code != MCACOD_L3_WB) {
			d.reason = MCE_WHY_MCACOD;
		} else if (mce_address_problem(status, misc)) {
			d.reason = mce_address_problem(status, misc);
		} else {
			d.action = MCE_ACT_MEMORY_FAILURE;
		}
		break;
	default:	/* none, corrected, UCNA: logged */
		break;
	}
	return d;
}

/* Ready-made MCi_STATUS values (EN set: the error is signalled). */
#define MCE_STATUS_SRAO	(MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN | MCI_STATUS_MISCV | \
			 MCI_STATUS_ADDRV | MCI_STATUS_S | MCACOD_SCRUB)
#define MCE_STATUS_SRAR	(MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN | MCI_STATUS_MISCV | \
			 MCI_STATUS_ADDRV | MCI_STATUS_S | MCI_STATUS_AR | MCACOD_DATA_LOAD)
#define MCE_STATUS_CE	(MCI_STATUS_VAL | MCI_STATUS_EN | MCI_STATUS_ADDRV | MCACOD_MEM_READ)
#define MCE_STATUS_FATAL (MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN | MCI_STATUS_PCC | \
			  MCACOD_MEM_READ)

/* What the guest's #MC handler (guest_lib/mce.c) did, read by the host. */
#define MCE_MAX_EVENTS		16
#define MCE_MAX_SPARE_PAGES	8
#define MCE_MAX_VICTIMS		4

/* One #MC (or polled bank) as the guest saw and handled it. */
struct mce_event {
	uint64_t mcg_cap;		/* read at this #MC / poll */
	uint64_t mcg_status;		/* 0 for a poll */
	uint64_t ctl, status, addr, misc;	/* MCi_CTL, MCi_STATUS/ADDR/MISC */
	uint64_t rip;			/* RIP of the #MC frame */
	uint32_t bank;
	uint8_t class;			/* enum mce_class */
	uint8_t action;			/* enum mce_action */
	uint8_t reason;			/* enum mce_reason */
	uint8_t identity_unmapped;	/* memory failure: VA == GPA mapping removed */
	uint64_t page;			/* memory failure: the GPA taken out of use */
	uint64_t victim_va;		/* remapped VA, 0 if none */
	uint64_t new_gpa;		/* the fresh page behind it */
};

/*
 * Shared with the host by symbol (sync_global_from_guest): what the
 * handler did.  The host fills spare_pages and victims before the run.
 */
struct mce_guest_state {
	uint64_t mcg_cap;		/* as of the last #MC / poll / init */
	uint32_t nr_events;
	uint32_t nr_spare;		/* spare pages left */
	struct mce_event events[MCE_MAX_EVENTS];
	uint64_t spare_pages[MCE_MAX_SPARE_PAGES];	/* GPAs, 4 KiB */
	uint64_t victims[MCE_MAX_VICTIMS];		/* 4 KiB-mapped VAs to protect */
	uint64_t poisoned[MCE_MAX_EVENTS];		/* GPAs taken out of use */
	uint32_t nr_poisoned;
	uint32_t fatal_reason;		/* enum mce_reason of a fatal #MC, else 0 */
	uint32_t nr_pt_pages;		/* page-table pages used to split large pages */
};

extern struct mce_guest_state mce_guest;

#endif /* KVM_SUITE_X86_MCE_H */
