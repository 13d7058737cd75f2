/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Machine-check architecture (SDM vol. 3B chapter 16) for the RAS tests,
 * host side (lib/mce.c): KVM's MCE ioctls, mcelog-style log lines, host
 * page translation and the VMM's SIGBUS path.  The register bits and the
 * error classification are shared with the guest (x86/mce.h, included);
 * the guest #MC framework is guest/mce.h.
 */
#ifndef KVM_SUITE_MCE_H
#define KVM_SUITE_MCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kvm_util.h"
#include "x86/mce.h"

uint64_t kvm_mce_cap_supported(void);		/* KVM_X86_GET_MCE_CAP_SUPPORTED */
int __vcpu_setup_mce(struct kvm_vcpu *vcpu, uint64_t mcg_cap);
void vcpu_setup_mce_at(struct kvm_vcpu *vcpu, uint64_t mcg_cap, const char *file,
		       unsigned int line);
#define vcpu_setup_mce(vcpu, mcg_cap)	vcpu_setup_mce_at(vcpu, mcg_cap, __FILE__, __LINE__)
int __vcpu_inject_mce(struct kvm_vcpu *vcpu, const struct kvm_x86_mce *mce);
void vcpu_inject_mce_at(struct kvm_vcpu *vcpu, const struct kvm_x86_mce *mce, const char *file,
			unsigned int line);
#define vcpu_inject_mce(vcpu, mce)	vcpu_inject_mce_at(vcpu, mce, __FILE__, __LINE__)

/*
 * The guest's MCG_CAP as KVM applied it, read with KVM_GET_MSRS after
 * KVM_X86_SETUP_MCE: KVM may accept a bit and still not give it to the guest
 * (kvm_amd's svm_setup_mce() keeps bits 8:0 only).
 */
uint64_t vcpu_mcg_cap_at(struct kvm_vcpu *vcpu, const char *file, unsigned int line);
#define vcpu_mcg_cap(vcpu)	vcpu_mcg_cap_at(vcpu, __FILE__, __LINE__)
/*
 * Did MCG_SER_P take effect for this vCPU, set up with mcg_cap?  If not,
 * why gets the exact reason (what was set, what was read, and why it is
 * missing where that is known), for a test's SKIP line or log.
 */
bool vcpu_mce_ser_p(struct kvm_vcpu *vcpu, uint64_t mcg_cap, char *why, size_t len);

/* "VAL UC EN ..." for a status value; returns buf. */
char *mce_status_str(uint64_t status, char *buf, size_t len);
/*
 * One mcelog-like line on stdout: bank, decoded status, address, action.
 * The class is the one a guest with the MCG_CAP of the last vcpu_setup_mce()
 * (as KVM_GET_MSRS reads it) gives it; MCG_SER_P before any.
 */
void mce_log(const char *what, const struct kvm_x86_mce *mce, const char *action);
void mce_log_event(const struct mce_event *ev);

/*
 * Host VA -> host PFN via /proc/self/pagemap (needs CAP_SYS_ADMIN for the
 * PFN; Documentation/admin-guide/mm/pagemap.rst).  __hva_pagemap() gives the
 * raw entry, __hva_to_pfn() the PFN of a present page (-ENOENT if not).
 */
#define PAGEMAP_PRESENT		(1ULL << 63)
#define PAGEMAP_SWAP		(1ULL << 62)	/* a swap entry: swapped, or hwpoison */
#define PAGEMAP_PFN_MASK	((1ULL << 55) - 1)
int __hva_pagemap(const void *hva, uint64_t *entry);
int __hva_to_pfn(const void *hva, uint64_t *pfn);
/* The page's flags in /proc/kpageflags (root; bits in <linux/kernel-page-flags.h>). */
int __pfn_kpageflags(uint64_t pfn, uint64_t *flags);
uint64_t hva_to_pfn_at(const void *hva, const char *file, unsigned int line);
#define hva_to_pfn(hva)		hva_to_pfn_at(hva, __FILE__, __LINE__)

/* From a guest page to the host page behind it: guest VA -> GPA -> host VA -> host PFN. */
struct vm_page_chain {
	uint64_t gva, gpa;
	void *hva;
	uint64_t pfn;		/* 0 if pagemap hides it */
};
void vm_page_chain(struct kvm_vm *vm, uint64_t gva, struct vm_page_chain *c);

/*
 * The VMM's SIGBUS path.  vmm_sigbus_install() routes SIGBUS with
 * BUS_MCEERR_AR/AO to a handler that records it; after KVM_RUN returns (or
 * the call that poisoned a page), vmm_handle_memory_error() translates
 * si_addr to a GPA, injects the MCE the SDM prescribes (AR: SRAR with EIPV;
 * AO: SRAO with RIPV) and logs it.  With VMM_REPLACE_PAGE it then puts a
 * fresh page at the poisoned host VA so the VM can go on there; with
 * VMM_KEEP_PAGE the poison stays, as QEMU leaves it until the guest resets:
 * the guest retires the page, and a guest access to it later is KVM's
 * BUS_MCEERR_AR.  Returns false if no memory error was pending.
 */
struct vmm_memory_error {
	int code;		/* BUS_MCEERR_AR or BUS_MCEERR_AO */
	int addr_lsb;		/* si_addr_lsb: the error's granule, log2 bytes */
	pid_t tid;		/* the thread the SIGBUS was delivered to */
	void *hva;		/* si_addr */
	uint64_t gpa;
	struct kvm_x86_mce mce;
};
enum vmm_page_policy { VMM_REPLACE_PAGE, VMM_KEEP_PAGE };
void vmm_sigbus_install(void);
bool vmm_memory_error_pending(void);
/* Consume a pending memory-error SIGBUS without acting on it (false if none). */
bool vmm_take_memory_error(int *code, void **hva);
bool vmm_handle_memory_error(struct kvm_vcpu *vcpu, unsigned int bank,
			     enum vmm_page_policy page, struct vmm_memory_error *out);

#endif /* KVM_SUITE_MCE_H */
