// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host unit tests of the machine-check classification and decision rules
 * in include/mce.h (no /dev/kvm needed), against SDM vol. 3B 16.6.3 (UCR
 * error classes: the MCi_STATUS flags UC, PCC, S, AR, OVER; S and AR
 * reserved without MCG_CAP.SER_P), 16.3.2.4 (MCi_MISC address mode and
 * LSB) and 16.10 (RIPV: restart only where it is set; the error-processing
 * pseudocode of 16.10.4.1: without SER_P no uncorrected error is
 * recoverable, with it EN=0 OVER=0 is a spurious log and an SRAO is acted
 * on only with OVER=0).
 */
#include "kvm_test_harness.h"
#include "mce.h"

#define VAL	MCI_STATUS_VAL
#define OVER	MCI_STATUS_OVER
#define UC	MCI_STATUS_UC
#define PCC	MCI_STATUS_PCC
#define S	MCI_STATUS_S
#define AR	MCI_STATUS_AR
#define SER	MCG_SER_P

/*
 * Every combination of VAL, UC, PCC, S, AR and OVER, with and without
 * SER_P, checked against the SDM's rules stated one by one (vol. 3B 16.3.2.2
 * and 16.6.3), not against a second copy of the classifier's branches:
 *  - VAL=0: no error; UC=0: corrected, whatever else is set; PCC=1: fatal.
 *  - Without SER_P, S and AR are not defined: flipping them changes nothing,
 *    and no UCR class (UCNA, SRAO, SRAR, invalid) can come out.
 *  - With SER_P, S and AR pick the class (table 16-6): 00 UCNA, 10 SRAO,
 *    11 SRAR, 01 not a defined encoding; OVER turns only SRAR fatal.
 */
static bool is_ucr_class(enum mce_class c)
{
	return c == MCE_UCNA || c == MCE_SRAO || c == MCE_SRAR || c == MCE_INVALID;
}

KVM_TEST(classify_every_flag_combination)
{
	static const uint64_t flags[] = { VAL, UC, PCC, S, AR, OVER };
	static const enum mce_class by_s_ar[4] = {
		[0] = MCE_UCNA, [1] = MCE_INVALID, [2] = MCE_SRAO, [3] = MCE_SRAR,
	};
	unsigned int checked = 0;

	for (unsigned int ser = 0; ser < 2; ser++) {
		uint64_t cap = ser ? SER | 4 : 4;

		for (unsigned int m = 0; m < 1u << ARRAY_SIZE(flags); m++) {
			uint64_t st = MCI_STATUS_EN | MCACOD_DATA_LOAD;
			enum mce_class c, want;

			for (unsigned int b = 0; b < ARRAY_SIZE(flags); b++) {
				if (m & (1u << b))
					st |= flags[b];
			}
			c = mce_classify(st, cap);
			checked++;
			if (!(st & VAL)) {
				EXPECT_EQ(c, MCE_NONE) TH_LOG("status %#lx", st);
				continue;
			}
			if (!(st & UC)) {
				EXPECT_EQ(c, MCE_CORRECTED) TH_LOG("status %#lx", st);
				continue;
			}
			if (st & PCC) {
				EXPECT_EQ(c, MCE_FATAL) TH_LOG("status %#lx", st);
				continue;
			}
			if (!ser) {
				EXPECT_EQ(c, mce_classify(st ^ S, cap)) TH_LOG("status %#lx", st);
				EXPECT_EQ(c, mce_classify(st ^ AR, cap)) TH_LOG("status %#lx", st);
				EXPECT_FALSE(is_ucr_class(c)) TH_LOG("status %#lx: class %d", st, c);
				continue;
			}
			want = by_s_ar[!!(st & S) * 2 + !!(st & AR)];
			if (want == MCE_SRAR && (st & OVER))
				want = MCE_FATAL;
			EXPECT_EQ(c, want) TH_LOG("status %#lx, SER_P", st);
		}
	}
	EXPECT_EQ(checked, 128);
}

/* The encodings the SDM names, spelled out once more as a table. */
KVM_TEST(classify_named_encodings)
{
	static const struct {
		uint64_t status, cap;
		enum mce_class class;
	} t[] = {
		{ 0, SER, MCE_NONE },
		{ VAL | OVER, SER, MCE_CORRECTED },
		{ MCE_STATUS_CE, SER, MCE_CORRECTED },
		{ VAL | UC, SER, MCE_UCNA },
		/* OVER ignored for UCNA */
		{ VAL | UC | OVER, SER, MCE_UCNA },
		{ MCE_STATUS_SRAO, SER, MCE_SRAO },
		{ MCE_STATUS_SRAO | OVER, SER, MCE_SRAO },		/* optional: still SRAO */
		{ MCE_STATUS_SRAR, SER, MCE_SRAR },
		{ MCE_STATUS_SRAR | OVER, SER, MCE_FATAL },		/* AR with lost events */
		{ MCE_STATUS_FATAL, SER, MCE_FATAL },
		{ MCE_STATUS_SRAR | PCC, SER, MCE_FATAL },
		{ VAL | UC | AR, SER, MCE_INVALID },			/* S=0 AR=1 */
		{ VAL | UC | AR | OVER, SER, MCE_INVALID },
		/* Without SER_P, S and AR are reserved: never SRAO/SRAR/UCNA/invalid. */
		{ MCE_STATUS_SRAR, 0, MCE_UC },
		{ MCE_STATUS_SRAO, 0, MCE_UC },
		{ VAL | UC | AR, 0, MCE_UC },
		{ VAL | UC | OVER, 0, MCE_FATAL },
		{ MCE_STATUS_FATAL, 0, MCE_FATAL },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(t); i++) {
		EXPECT_EQ(mce_classify(t[i].status, t[i].cap), t[i].class)
			TH_LOG("case %u: status %#lx mcg_cap %#lx: got %s, expected %s", i,
			       t[i].status, t[i].cap,
			       mce_class_name(mce_classify(t[i].status, t[i].cap)),
			       mce_class_name(t[i].class));
	}
}

#define IN_MC	(MCG_STATUS_MCIP | MCG_STATUS_RIPV)
#define IN_MC_E	(MCG_STATUS_MCIP | MCG_STATUS_RIPV | MCG_STATUS_EIPV)
#define PHYS	MCI_MISC_PHYS_PAGE

KVM_TEST(decide_what_the_handler_does)
{
	static const struct {
		uint64_t status, misc, mcg_status, cap;
		enum mce_action action;
		enum mce_reason reason;
	} t[] = {
		{ MCE_STATUS_SRAR, PHYS, IN_MC_E, SER, MCE_ACT_MEMORY_FAILURE, MCE_WHY_NONE },
		{ MCE_STATUS_SRAO, PHYS, IN_MC, SER, MCE_ACT_MEMORY_FAILURE, MCE_WHY_NONE },
		{ MCE_STATUS_SRAO | 0x7, PHYS, IN_MC, SER, MCE_ACT_MEMORY_FAILURE, MCE_WHY_NONE },
		{ (MCE_STATUS_SRAO & ~0xffffULL) | MCACOD_L3_WB, PHYS, IN_MC, SER,
		  MCE_ACT_MEMORY_FAILURE, MCE_WHY_NONE },
		/* The filter bit 12 is not part of the code. */
		{ MCE_STATUS_SRAR | 0x1000, PHYS, IN_MC_E, SER, MCE_ACT_MEMORY_FAILURE, 0 },
		/* LSB below 12 still names one page. */
		{ MCE_STATUS_SRAR, (2 << 6) | 6, IN_MC_E, SER, MCE_ACT_MEMORY_FAILURE, 0 },
		/* RIPV=0: no restart, whatever the error. */
		{ MCE_STATUS_SRAR, PHYS, MCG_STATUS_MCIP | MCG_STATUS_EIPV, SER, MCE_ACT_FATAL,
		  MCE_WHY_NO_RIPV },
		{ MCE_STATUS_SRAO, PHYS, MCG_STATUS_MCIP, SER, MCE_ACT_FATAL, MCE_WHY_NO_RIPV },
		{ VAL | UC | MCI_STATUS_EN, 0, MCG_STATUS_MCIP, 0, MCE_ACT_FATAL,
		  MCE_WHY_NO_RIPV },
		/* SRAR needs an address it can act on, and a code it can repair. */
		{ MCE_STATUS_SRAR & ~MCI_STATUS_ADDRV, PHYS, IN_MC_E, SER, MCE_ACT_FATAL,
		  MCE_WHY_NO_ADDR },
		{ MCE_STATUS_SRAR & ~MCI_STATUS_MISCV, PHYS, IN_MC_E, SER, MCE_ACT_FATAL,
		  MCE_WHY_NO_ADDR },
		{ MCE_STATUS_SRAR, (1 << 6) | 12, IN_MC_E, SER, MCE_ACT_FATAL, MCE_WHY_ADDR_MODE },
		{ MCE_STATUS_SRAR, (2 << 6) | 21, IN_MC_E, SER, MCE_ACT_FATAL, MCE_WHY_ADDR_LSB },
		{ (MCE_STATUS_SRAR & ~0xffffULL) | MCACOD_MEM_READ, PHYS, IN_MC_E, SER,
		  MCE_ACT_FATAL, MCE_WHY_MCACOD },
		{ (MCE_STATUS_SRAR & ~0xffffULL) | MCACOD_INSN_FETCH, PHYS, IN_MC_E, SER,
		  MCE_ACT_FATAL, MCE_WHY_MCACOD },
		/* SRAO that can't be acted on is only logged: the action is optional. */
		{ MCE_STATUS_SRAO & ~MCI_STATUS_ADDRV, PHYS, IN_MC, SER, MCE_ACT_LOG,
		  MCE_WHY_NO_ADDR },
		{ (MCE_STATUS_SRAO & ~0xffffULL) | MCACOD_MEM_READ, PHYS, IN_MC, SER,
		  MCE_ACT_LOG, MCE_WHY_MCACOD },
		/* Overflow, PCC, invalid encodings. */
		{ MCE_STATUS_SRAR | OVER, PHYS, IN_MC_E, SER, MCE_ACT_FATAL, MCE_WHY_OVERFLOW },
		{ MCE_STATUS_FATAL, 0, IN_MC, SER, MCE_ACT_FATAL, MCE_WHY_PCC },
		{ VAL | UC | MCI_STATUS_EN | AR, 0, IN_MC, SER, MCE_ACT_FATAL, MCE_WHY_INVALID },
		{ VAL | UC | MCI_STATUS_EN | OVER, 0, IN_MC, 0, MCE_ACT_FATAL, MCE_WHY_OVERFLOW },
		/* SRAO with OVER: logged, no action (16.10.4.1: act only if OVER=0). */
		{ MCE_STATUS_SRAO | OVER, PHYS, IN_MC, SER, MCE_ACT_LOG, MCE_WHY_OVERFLOW },
		/*
		 * No SER_P: no uncorrected error is recoverable (16.10.4.1), whatever
		 * S, AR, the address and the code say, and RIPV doesn't change that.
		 */
		{ MCE_STATUS_SRAR, PHYS, IN_MC_E, 0, MCE_ACT_FATAL, MCE_WHY_NO_SER_P },
		{ MCE_STATUS_SRAO, PHYS, IN_MC, 0, MCE_ACT_FATAL, MCE_WHY_NO_SER_P },
		{ MCE_STATUS_SRAR & ~MCI_STATUS_ADDRV, PHYS, IN_MC_E, 0, MCE_ACT_FATAL,
		  MCE_WHY_NO_SER_P },
		{ VAL | UC | MCI_STATUS_EN, 0, IN_MC, 0, MCE_ACT_FATAL, MCE_WHY_NO_SER_P },
		{ VAL | UC | MCI_STATUS_EN | AR, 0, IN_MC, 0, MCE_ACT_FATAL, MCE_WHY_NO_SER_P },
		/* No SER_P, EN=0: no spurious-log exemption, still fatal. */
		{ MCE_STATUS_SRAR & ~MCI_STATUS_EN, PHYS, IN_MC_E, 0, MCE_ACT_FATAL,
		  MCE_WHY_NO_SER_P },
		/* No SER_P, a poll: logged (nothing was signalled, nothing to resume). */
		{ MCE_STATUS_SRAR, PHYS, 0, 0, MCE_ACT_LOG, MCE_WHY_NONE },
		/* EN=0 and OVER=0: a spurious log, this bank did not signal the #MC. */
		{ MCE_STATUS_SRAR & ~MCI_STATUS_EN, PHYS, IN_MC_E, SER, MCE_ACT_IGNORE,
		  MCE_WHY_NOT_ENABLED },
		{ MCE_STATUS_FATAL & ~MCI_STATUS_EN, 0, IN_MC, SER, MCE_ACT_IGNORE,
		  MCE_WHY_NOT_ENABLED },
		/* EN=0 with OVER: not spurious (16.10.4.1), judged like any other. */
		{ (MCE_STATUS_SRAR & ~MCI_STATUS_EN) | OVER, PHYS, IN_MC_E, SER, MCE_ACT_FATAL,
		  MCE_WHY_OVERFLOW },
		/* Corrected and UCNA: logged. */
		{ MCE_STATUS_CE, 0, IN_MC, SER, MCE_ACT_LOG, MCE_WHY_NONE },
		{ VAL | UC | MCI_STATUS_EN, 0, IN_MC, SER, MCE_ACT_LOG, MCE_WHY_NONE },
		/* A poll (no MCIP): RIPV and EN don't apply. */
		{ MCE_STATUS_SRAO & ~MCI_STATUS_EN, PHYS, 0, SER, MCE_ACT_MEMORY_FAILURE, 0 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(t); i++) {
		struct mce_decision d = mce_decide(t[i].status, t[i].misc, t[i].mcg_status,
						   t[i].cap);

		EXPECT_EQ(d.action, t[i].action)
			TH_LOG("case %u: status %#lx misc %#lx mcg_status %#lx: action %u (%s)",
			       i, t[i].status, t[i].misc, t[i].mcg_status, d.action,
			       mce_reason_str(d.reason));
		EXPECT_EQ(d.reason, t[i].reason)
			TH_LOG("case %u: reason \"%s\", expected \"%s\"", i,
			       mce_reason_str(d.reason), mce_reason_str(t[i].reason));
	}
}

/*
 * One status in #MC, with and without SER_P and every RIPV/EIPV: a guest
 * without MCG_CAP.SER_P never resumes after an uncorrected error and never
 * acts on one (16.10.4.1, 16.6.1); with SER_P, nothing with PCC=1 or RIPV=0
 * is resumed unless it is a spurious log (EN=0 OVER=0) or a UCNA (no action:
 * the handler itself refuses to resume without RIPV).  Returns how many
 * decisions were fatal with the reason "no SER_P".
 */
static unsigned int check_in_mc(struct __test_metadata *_metadata, uint64_t st)
{
	unsigned int no_ser = 0;

	for (uint64_t g = 0; g < 4; g++) {	/* RIPV, EIPV */
		uint64_t mcg_status = MCG_STATUS_MCIP | g;
		struct mce_decision d = mce_decide(st, PHYS, mcg_status, 8 | MCG_CTL_P);
		struct mce_decision ds = mce_decide(st, PHYS, mcg_status, 8 | MCG_CTL_P | SER);

		if (!(st & UC)) {
			EXPECT_EQ(d.action, MCE_ACT_LOG) TH_LOG("corrected %#lx", st);
			EXPECT_EQ(ds.action, MCE_ACT_LOG) TH_LOG("corrected %#lx", st);
			continue;
		}
		EXPECT_EQ(d.action, MCE_ACT_FATAL)
			TH_LOG("no SER_P: status %#lx mcg_status %#lx not refused (%s)", st,
			       mcg_status, mce_reason_str(d.reason));
		no_ser += d.reason == MCE_WHY_NO_SER_P;
		if (!(st & (MCI_STATUS_EN | OVER))) {
			EXPECT_EQ(ds.action, MCE_ACT_IGNORE) TH_LOG("spurious %#lx", st);
		} else if ((st & PCC) ||
			   (!(mcg_status & MCG_STATUS_RIPV) && ds.class != MCE_UCNA)) {
			EXPECT_EQ(ds.action, MCE_ACT_FATAL)
				TH_LOG("SER_P: status %#lx mcg_status %#lx not refused (%s)", st,
				       mcg_status, mce_reason_str(ds.reason));
		}
	}
	return no_ser;
}

KVM_TEST(uncorrected_never_resumed_without_ser_p)
{
	static const uint64_t flags[] = { UC, PCC, S, AR, OVER, MCI_STATUS_EN,
					  MCI_STATUS_ADDRV, MCI_STATUS_MISCV };
	static const uint64_t codes[] = { MCACOD_DATA_LOAD, MCACOD_SCRUB, MCACOD_MEM_READ };
	unsigned int statuses = 0, no_ser = 0;

	for (unsigned int c = 0; c < ARRAY_SIZE(codes); c++) {
		for (unsigned int m = 0; m < 1u << ARRAY_SIZE(flags); m++) {
			uint64_t st = VAL | codes[c];

			for (unsigned int b = 0; b < ARRAY_SIZE(flags); b++) {
				if (m & (1u << b))
					st |= flags[b];
			}
			no_ser += check_in_mc(_metadata, st);
			statuses++;
		}
	}
	EXPECT_EQ(statuses, ARRAY_SIZE(codes) << ARRAY_SIZE(flags));
	/*
	 * "No SER_P" is the reason exactly where nothing else is: UC=1 PCC=0
	 * OVER=0 with RIPV=1 (any S, AR, EN, ADDRV, MISCV; EIPV 0 or 1).
	 */
	EXPECT_EQ(no_ser, ARRAY_SIZE(codes) * (1u << (ARRAY_SIZE(flags) - 3)) * 2);
}

KVM_TEST(error_page_masks_below_lsb)
{
	EXPECT_EQ(mce_error_page(0x12345678, PHYS), 0x12345000);
	EXPECT_EQ(mce_error_page(0x12345678, (2 << 6) | 6), 0x12345000);
	EXPECT_EQ(mce_error_page(0x12345678, (2 << 6) | 0), 0x12345000);
	EXPECT_EQ(MCI_MISC_ADDR_MODE(PHYS), MCI_MISC_ADDR_PHYS);
	EXPECT_EQ(MCI_MISC_LSB(PHYS), 12);
}

TEST_HARNESS_MAIN
