/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Machine-check architecture (SDM vol. 3B chapter 16) for the RAS tests:
 * register bits, the error classification both sides use, the guest #MC
 * framework (guest_lib/mce.c) and the host side (lib/mce.c): KVM's MCE
 * ioctls, mcelog-style log lines, host page translation and the VMM's
 * SIGBUS path.
 */
#ifndef KVM_SUITE_MCE_H
#define KVM_SUITE_MCE_H

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
 * of table 16-28 (memory scrubbing 0xC0, data load 0x134).
 */
#define MCACOD_MEM_READ		0x009f
#define MCACOD_SCRUB		0x00c0
#define MCACOD_DATA_LOAD	0x0134

/* MCi_MISC address mode "physical" and LSB 12 (page granularity), 16.3.2.4. */
#define MCI_MISC_PHYS_PAGE	((2ULL << 6) | 12)

/* Table 16-6 / 16.6: the classes software must tell apart. */
enum mce_class {
	MCE_NONE,	/* VAL clear: nothing logged */
	MCE_CORRECTED,	/* UC=0: corrected, logged, never #MC */
	MCE_UCNA,	/* UC=1 PCC=0 S=0: uncorrected, no action required */
	MCE_SRAO,	/* UC=1 PCC=0 S=1 AR=0: software recoverable, action optional */
	MCE_SRAR,	/* UC=1 PCC=0 S=1 AR=1: software recoverable, action required */
	MCE_FATAL,	/* UC=1 PCC=1: processor context corrupt */
};

static inline enum mce_class mce_classify(uint64_t status)
{
	if (!(status & MCI_STATUS_VAL))
		return MCE_NONE;
	if (!(status & MCI_STATUS_UC))
		return MCE_CORRECTED;
	if (status & MCI_STATUS_PCC)
		return MCE_FATAL;
	if (!(status & MCI_STATUS_S))
		return MCE_UCNA;
	return (status & MCI_STATUS_AR) ? MCE_SRAR : MCE_SRAO;
}

static inline const char *mce_class_name(enum mce_class c)
{
	static const char *const names[] = { "none", "corrected", "UCNA", "SRAO", "SRAR",
					     "fatal" };

	return c <= MCE_FATAL ? names[c] : "?";
}

/* Ready-made MCi_STATUS values (EN set: the error is signalled). */
#define MCE_STATUS_SRAO	(MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN | MCI_STATUS_MISCV | \
			 MCI_STATUS_ADDRV | MCI_STATUS_S | MCACOD_SCRUB)
#define MCE_STATUS_SRAR	(MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN | MCI_STATUS_MISCV | \
			 MCI_STATUS_ADDRV | MCI_STATUS_S | MCI_STATUS_AR | MCACOD_DATA_LOAD)
#define MCE_STATUS_CE	(MCI_STATUS_VAL | MCI_STATUS_EN | MCI_STATUS_ADDRV | MCACOD_MEM_READ)
#define MCE_STATUS_FATAL (MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN | MCI_STATUS_PCC | \
			  MCACOD_MEM_READ)

/* ================= guest side (guest_lib/mce.c) ================= */

#define MCE_MAX_EVENTS		16
#define MCE_MAX_SPARE_PAGES	8
#define MCE_MAX_VICTIMS		4

/* One #MC (or polled bank) as the guest saw and handled it. */
struct mce_event {
	uint64_t mcg_status;
	uint64_t status, addr, misc;
	uint64_t rip;			/* RIP of the #MC frame */
	uint32_t bank;
	uint32_t class;			/* enum mce_class */
	uint64_t victim_va;		/* remapped VA, 0 if none */
	uint64_t new_gpa;		/* the fresh page behind it */
};

/*
 * Shared with the host by symbol (sync_global_from_guest): what the
 * handler did.  The host fills spare_pages and victims before the run.
 */
struct mce_guest_state {
	uint64_t mcg_cap;
	uint32_t nr_events;
	uint32_t nr_spare;		/* spare pages left */
	struct mce_event events[MCE_MAX_EVENTS];
	uint64_t spare_pages[MCE_MAX_SPARE_PAGES];	/* GPAs, 4 KiB */
	uint64_t victims[MCE_MAX_VICTIMS];		/* 4 KiB-mapped VAs to protect */
	uint64_t poisoned[MCE_MAX_EVENTS];		/* GPAs taken out of use */
	uint32_t nr_poisoned;
};

extern struct mce_guest_state mce_guest;

/* Set CR4.MCE and install the #MC handler; reads MCG_CAP. */
void mce_guest_init(void);
/* Poll every bank for logged errors (corrected errors raise no #MC). */
unsigned int mce_guest_poll(void);
/* The guest's own page-table walk: the 4 KiB PTE for va, or NULL. */
uint64_t *mce_guest_pte(uint64_t va);

/* ================= host side (lib/mce.c) ================= */

#ifndef MCE_GUEST_ONLY
#include "kvm_util.h"

uint64_t kvm_mce_cap_supported(void);		/* KVM_X86_GET_MCE_CAP_SUPPORTED */
int __vcpu_setup_mce(struct kvm_vcpu *vcpu, uint64_t mcg_cap);
void vcpu_setup_mce(struct kvm_vcpu *vcpu, uint64_t mcg_cap);
int __vcpu_inject_mce(struct kvm_vcpu *vcpu, const struct kvm_x86_mce *mce);
void vcpu_inject_mce(struct kvm_vcpu *vcpu, const struct kvm_x86_mce *mce);

/* "VAL UC EN ..." for a status value; returns buf. */
char *mce_status_str(uint64_t status, char *buf, size_t len);
/* One mcelog-like line on stdout: bank, decoded status, address, action. */
void mce_log(const char *what, const struct kvm_x86_mce *mce, const char *action);
void mce_log_event(const struct mce_event *ev);

/* Host VA -> host PFN via /proc/self/pagemap (needs CAP_SYS_ADMIN for the PFN). */
int __hva_to_pfn(const void *hva, uint64_t *pfn);
uint64_t hva_to_pfn(const void *hva);

/* The chain the 2010 suite walked by hand: guest VA -> GPA -> host VA -> host PFN. */
struct guest_page_chain {
	uint64_t gva, gpa;
	void *hva;
	uint64_t pfn;		/* 0 if pagemap hides it */
};
void guest_page_chain(struct kvm_vm *vm, uint64_t gva, struct guest_page_chain *c);

/*
 * The VMM's SIGBUS path.  vmm_sigbus_install() routes SIGBUS with
 * BUS_MCEERR_AR/AO to a handler that records it; after KVM_RUN returns,
 * vmm_handle_memory_error() translates si_addr to a GPA, injects the MCE
 * the SDM prescribes (AR: SRAR with EIPV; AO: SRAO with RIPV), replaces the
 * poisoned host page with a fresh one so the VM can go on, and logs it.
 * Returns false if no memory error was pending.
 */
struct vmm_memory_error {
	int code;		/* BUS_MCEERR_AR or BUS_MCEERR_AO */
	void *hva;
	uint64_t gpa;
	struct kvm_x86_mce mce;
};
void vmm_sigbus_install(void);
bool vmm_memory_error_pending(void);
bool vmm_handle_memory_error(struct kvm_vcpu *vcpu, unsigned int bank,
			     struct vmm_memory_error *out);
#endif

#endif /* KVM_SUITE_MCE_H */
