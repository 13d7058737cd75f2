// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vendor-neutral nested layer (include/nested.h) over guest_lib/svm.c
 * and guest_lib/vmx.c.
 */
#include "guest/guest.h"
#include "guest/nested.h"

enum nested_vendor nested_current_vendor;

/* VMX state kept between runs of the one L2 this layer drives. */
static bool vmx_launched;
static struct vmx_gprs vmx_regs;

enum nested_vendor guest_nested_vendor(void)
{
	if (svm_supported())
		return NESTED_SVM;
	if (vmx_supported())
		return NESTED_VMX;
	return NESTED_NONE;
}

const char *guest_nested_exit_name(enum nested_exit e)
{
	static const char *const names[] = {
		"CPUID", "HLT", "IO", "MSR", "HYPERCALL", "SHUTDOWN", "NPF", "EXCEPTION",
		"INVALID", "OTHER",
	};

	return e <= NESTED_EXIT_OTHER ? names[e] : "?";
}

const char *guest_nested_exit_str(struct nested *n, char *buf, size_t len)
{
	if (n->vendor == NESTED_SVM) {
		struct vmcb *vmcb = guest_nested_vmcb(n->pages);

		guest_snprintf(buf, len, "#VMEXIT %s (0x%lx), exit_info_1 0x%lx exit_info_2 0x%lx",
			       svm_exit_name(n->raw_exit), n->raw_exit, vmcb->control.exit_info_1,
			       vmcb->control.exit_info_2);
		return buf;
	}
	return vmx_exit_str(n->raw_exit, vmread(EXIT_QUALIFICATION), buf, len);
}

static struct vmcb *vmcb_of(struct nested *n)
{
	return guest_nested_vmcb(n->pages);
}

void guest_nested_init(struct nested *n, struct nested_pages *pages, void (*l2)(void))
{
	uint8_t vec;
	enum vmx_status s;

	memset(n, 0, sizeof(*n));
	n->pages = pages;
	n->vendor = guest_nested_vendor();
	nested_current_vendor = n->vendor;
	n->pool_next = pages->pool;
	switch (n->vendor) {
	case NESTED_SVM:
		svm_init(&pages->svm, l2, pages->l2_stack_top);
		break;
	case NESTED_VMX:
		s = vmx_enable(&pages->vmx, &vec);
		if (s != VMX_OK)
			GUEST_FAIL("VMXON: %s, vector %u", vmx_status_name(s), vec);
		vmx_init_vmcs(&pages->vmx, l2, pages->l2_stack_top);
		vmx_launched = false;
		memset(&vmx_regs, 0, sizeof(vmx_regs));
		break;
	default:
		GUEST_FAIL("guest_nested_init: the guest's CPUID has neither SVM nor VMX");
	}
}

static enum nested_exit svm_decode(struct nested *n)
{
	struct vmcb *vmcb = vmcb_of(n);
	uint64_t code = vmcb->control.exit_code;

	n->raw_exit = code;
	switch (code) {
	case SVM_EXIT_CPUID: return NESTED_EXIT_CPUID;
	case SVM_EXIT_HLT: return NESTED_EXIT_HLT;
	case SVM_EXIT_IOIO:
		n->qual = SVM_IOIO_PORT(vmcb->control.exit_info_1);
		n->is_write = !(vmcb->control.exit_info_1 & SVM_IOIO_TYPE_IN);
		return NESTED_EXIT_IO;
	case SVM_EXIT_MSR:
		n->qual = (uint32_t)n->gprs.rcx;
		n->is_write = vmcb->control.exit_info_1 == 1;
		return NESTED_EXIT_MSR;
	case SVM_EXIT_VMMCALL: return NESTED_EXIT_HYPERCALL;
	case SVM_EXIT_SHUTDOWN: return NESTED_EXIT_SHUTDOWN;
	case SVM_EXIT_NPF:
		n->qual = vmcb->control.exit_info_2;
		return NESTED_EXIT_NPF;
	case SVM_EXIT_INVALID: return NESTED_EXIT_INVALID;
	}
	if (code >= SVM_EXIT_EXCP_BASE && code < SVM_EXIT_EXCP_BASE + 32) {
		n->qual = code - SVM_EXIT_EXCP_BASE;
		return NESTED_EXIT_EXCEPTION;
	}
	return NESTED_EXIT_OTHER;
}

static enum nested_exit vmx_decode(struct nested *n, uint32_t reason)
{
	n->raw_exit = reason;
	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY)
		return NESTED_EXIT_INVALID;
	switch (reason & 0xffff) {
	case EXIT_REASON_CPUID: return NESTED_EXIT_CPUID;
	case EXIT_REASON_HLT: return NESTED_EXIT_HLT;
	case EXIT_REASON_IO_INSTRUCTION: {
		struct vmx_qual_io io = vmx_qual_io(vmread(EXIT_QUALIFICATION));

		n->qual = io.port;
		n->is_write = !io.in;
		return NESTED_EXIT_IO;
	}
	case EXIT_REASON_MSR_READ:
	case EXIT_REASON_MSR_WRITE:
		n->qual = (uint32_t)vmx_regs.rcx;
		n->is_write = (reason & 0xffff) == EXIT_REASON_MSR_WRITE;
		return NESTED_EXIT_MSR;
	case EXIT_REASON_VMCALL: return NESTED_EXIT_HYPERCALL;
	case EXIT_REASON_TRIPLE_FAULT: return NESTED_EXIT_SHUTDOWN;
	case EXIT_REASON_EPT_VIOLATION:
		n->qual = vmread(GUEST_PHYSICAL_ADDRESS);
		return NESTED_EXIT_NPF;
	case EXIT_REASON_EXCEPTION_NMI:
		n->qual = vmread(VM_EXIT_INTR_INFO) & 0xff;
		return NESTED_EXIT_EXCEPTION;
	}
	return NESTED_EXIT_OTHER;
}

enum nested_exit guest_nested_run_at(struct nested *n, const char *file, unsigned int line)
{
	enum vmx_status s;
	uint32_t reason;

	if (n->vendor == NESTED_SVM) {
		svm_run(n->pages->svm.vmcb, &n->gprs);
		/* A flush asked for by guest_nested_tdp_set_present() is done: one VMRUN only. */
		vmcb_of(n)->control.tlb_ctl = 0;
		return svm_decode(n);
	}
	reason = vmx_run(vmx_launched, &vmx_regs, &s);
	if (s != VMX_OK) {
		uint64_t err = vmx_insn_error(s);

		guest_abort(file, line, "%s: %s, VM-instruction error %lu (%s)",
			    vmx_launched ? "VMRESUME" : "VMLAUNCH", vmx_status_name(s), err,
			    vmx_insn_error_name(err));
	}
	/*
	 * A VMCS is "launched" only by a VM entry that succeeds (SDM vol. 3C
	 * 31.3, VMLAUNCH operation); a VM-entry failure while checking or
	 * loading guest state (exit reason bit 31, 26.7) leaves it clear, so
	 * the next try must be VMLAUNCH again.
	 */
	if (!(reason & VMX_EXIT_REASONS_FAILED_VMENTRY))
		vmx_launched = true;
	return vmx_decode(n, reason);
}

void guest_nested_skip(struct nested *n, unsigned int len)
{
	if (n->vendor == NESTED_SVM) {
		struct vmcb *vmcb = vmcb_of(n);

		/* IOIO exits always carry the next RIP; others only with NRIPS (APM 15.7.1). */
		if (n->raw_exit == SVM_EXIT_IOIO)
			vmcb->save.rip = vmcb->control.exit_info_2;
		else if (svm_features() & SVM_FEAT_NRIPS)
			vmcb->save.rip = vmcb->control.next_rip;
		else
			vmcb->save.rip += len;
	} else {
		vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(VM_EXIT_INSTRUCTION_LEN));
	}
}

void guest_nested_intercept(struct nested *n, enum nested_intercept what, uint64_t arg)
{
	if (n->vendor == NESTED_SVM) {
		struct vmcb *vmcb = vmcb_of(n);

		switch (what) {
		case NESTED_INTERCEPT_CPUID:
			vmcb->control.intercept_misc1 |= SVM_INTERCEPT_CPUID;
			break;
		case NESTED_INTERCEPT_HLT:
			vmcb->control.intercept_misc1 |= SVM_INTERCEPT_HLT;
			break;
		case NESTED_INTERCEPT_IO:
			vmcb->control.intercept_misc1 |= SVM_INTERCEPT_IOIO;
			svm_intercept_port(n->pages->svm.iopm, arg, true);
			break;
		case NESTED_INTERCEPT_MSR:
			vmcb->control.intercept_misc1 |= SVM_INTERCEPT_MSR;
			svm_intercept_msr(n->pages->svm.msrpm, arg, true);
			break;
		}
		return;
	}
	switch (what) {
	case NESTED_INTERCEPT_CPUID:
		break;		/* CPUID always exits in VMX non-root operation (25.1.2) */
	case NESTED_INTERCEPT_HLT:
		vmwrite(CPU_BASED_VM_EXEC_CONTROL,
			vmread(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_HLT_EXITING);
		break;
	case NESTED_INTERCEPT_IO: {
		/* Bitmap A: ports 0-0x7fff, B: 0x8000-0xffff (24.6.4). */
		uint8_t *bm = (uint8_t *)(uintptr_t)(arg < 0x8000 ? n->pages->vmx.io_bitmap_a :
								    n->pages->vmx.io_bitmap_b);

		bm[(arg & 0x7fff) / 8] |= 1u << (arg % 8);
		break;
	}
	case NESTED_INTERCEPT_MSR: {
		/*
		 * Read bitmaps at 0 (MSRs 0-0x1fff) and 1024 (0xc0000000-0xc0001fff),
		 * writes at 2048 and 3072 (24.6.9).  Other MSRs always exit (25.1.3):
		 * the bitmap can't express them, so asking is a test bug.
		 */
		uint8_t *bm = (uint8_t *)(uintptr_t)n->pages->vmx.msr_bitmap;
		uint32_t off, idx;

		if (arg <= 0x1fff)
			off = 0;
		else if (arg >= 0xc0000000u && arg <= 0xc0001fffu)
			off = 1024;
		else
			GUEST_FAIL("MSR 0x%lx is outside the VMX MSR bitmap ranges 0-0x1fff and "
				   "0xc0000000-0xc0001fff", arg);
		idx = arg & 0x1fff;

		bm[off + idx / 8] |= 1u << (idx % 8);
		bm[2048 + off + idx / 8] |= 1u << (idx % 8);
		break;
	}
	}
}

uint64_t guest_nested_l2_rax(struct nested *n)
{
	return n->vendor == NESTED_SVM ? vmcb_of(n)->save.rax : vmx_regs.rax;
}

uint64_t guest_nested_l2_rip(struct nested *n)
{
	return n->vendor == NESTED_SVM ? vmcb_of(n)->save.rip : vmread(GUEST_RIP);
}

void guest_nested_l2_set_msr_result(struct nested *n, uint64_t value)
{
	if (n->vendor == NESTED_SVM) {
		vmcb_of(n)->save.rax = (uint32_t)value;
		n->gprs.rdx = value >> 32;
	} else {
		vmx_regs.rax = (uint32_t)value;
		vmx_regs.rdx = value >> 32;
	}
}

uint64_t guest_nested_alloc_page(struct nested *n)
{
	uint64_t pa = n->pool_next;

	if (pa >= n->pages->pool + n->pages->pool_pages * 4096)
		GUEST_FAIL("nested page pool (%lu pages) exhausted", n->pages->pool_pages);
	n->pool_next += 4096;
	memset((void *)(uintptr_t)pa, 0, 4096);
	return pa;
}

/* ---- nested page tables ---- */

/* Nested walks are user accesses (APM 15.25.5). */
#define NPT_FLAGS	(PTE_PRESENT | PTE_WRITABLE | PTE_USER)

const char *guest_nested_tdp_unsupported(void)
{
	switch (guest_nested_vendor()) {
	case NESTED_SVM:
		return svm_features() & SVM_FEAT_NPT ? NULL :
			"SVM without nested paging (CPUID 0x8000000A EDX.NP = 0)";
	case NESTED_VMX:
		return vmx_ept_unsupported();
	default:
		return "neither SVM nor VMX";
	}
}

/* Non-leaf entries: every right, so the leaf alone decides (EPT: no memory type here). */
static uint64_t tdp_table_bits(struct nested *n)
{
	return n->vendor == NESTED_SVM ? NPT_FLAGS : EPT_RWX;
}

uint64_t guest_nested_tdp_leaf_bits(struct nested *n)
{
	return n->vendor == NESTED_SVM ? NPT_FLAGS : EPT_RWX | EPT_MT_WB;
}

/* Bit 7 is PS in a long-mode PDE and in an EPT PDE alike (APM 5.3.4, SDM table 28-4). */
static uint64_t tdp_2m_bits(struct nested *n)
{
	return guest_nested_tdp_leaf_bits(n) | PTE_LARGE;
}

static bool tdp_present(struct nested *n, uint64_t e)
{
	return n->vendor == NESTED_SVM ? e & PTE_PRESENT : e & EPT_RWX;
}

static uint64_t vmx_eptp(struct nested *n)
{
	return n->tdp_root | EPTP_WB_4LEVEL;
}

void guest_nested_tdp_enable(struct nested *n)
{
	const char *why = guest_nested_tdp_unsupported();
	uint64_t *pml4, *pdpt, secondary;

	if (why)
		GUEST_FAIL("guest_nested_tdp_enable: %s (check guest_nested_tdp_unsupported() first)", why);
	pml4 = (uint64_t *)(uintptr_t)guest_nested_alloc_page(n);
	pdpt = (uint64_t *)(uintptr_t)guest_nested_alloc_page(n);
	pml4[0] = (uintptr_t)pdpt | tdp_table_bits(n);
	for (uint64_t gb = 0; gb < NESTED_TDP_SIZE >> 30; gb++) {
		uint64_t *pd = (uint64_t *)(uintptr_t)guest_nested_alloc_page(n);

		pdpt[gb] = (uintptr_t)pd | tdp_table_bits(n);
		for (uint64_t i = 0; i < 512; i++)
			pd[i] = (gb << 30 | i << 21) | tdp_2m_bits(n);
	}
	n->tdp_root = (uintptr_t)pml4;

	if (n->vendor == NESTED_SVM) {
		vmcb_of(n)->control.nested_ctl = 1;	/* NP_ENABLE (15.25.3) */
		vmcb_of(n)->control.nested_cr3 = n->tdp_root;
		return;
	}
	vmwrite(EPT_POINTER, vmx_eptp(n));
	/* Keep secondary controls a test set before (only valid with ACTIVATE_SECONDARY). */
	secondary = vmread(CPU_BASED_VM_EXEC_CONTROL) & CPU_BASED_ACTIVATE_SECONDARY ?
		    vmread(SECONDARY_VM_EXEC_CONTROL) : 0;
	vmwrite(SECONDARY_VM_EXEC_CONTROL, vmx_adjust_controls(MSR_IA32_VMX_PROCBASED_CTLS2,
							       secondary | SECONDARY_EXEC_ENABLE_EPT));
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, vmx_adjust_controls(MSR_IA32_VMX_PROCBASED_CTLS,
		vmread(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_ACTIVATE_SECONDARY));
	if (!(vmread(SECONDARY_VM_EXEC_CONTROL) & SECONDARY_EXEC_ENABLE_EPT))
		GUEST_FAIL("enable-EPT did not stick in the secondary controls");
}

uint64_t *guest_nested_tdp_pte(struct nested *n, uint64_t gpa)
{
	uint64_t *table = (uint64_t *)(uintptr_t)n->tdp_root, *pde;

	if (!n->tdp_root || gpa >= NESTED_TDP_SIZE)
		GUEST_FAIL("guest_nested_tdp_pte(0x%lx): %s", gpa,
			   n->tdp_root ? "beyond the identity map" :
			   "guest_nested_tdp_enable() not called");
	table = (uint64_t *)(uintptr_t)(table[0] & PTE_ADDR_MASK);
	table = (uint64_t *)(uintptr_t)(table[gpa >> 30] & PTE_ADDR_MASK);
	pde = &table[(gpa >> 21) & 511];
	if (*pde & PTE_LARGE) {
		/* Split the 2 MiB page into 512 4 KiB pages with the same rights. */
		uint64_t *pt = (uint64_t *)(uintptr_t)guest_nested_alloc_page(n);
		uint64_t base = *pde & PTE_ADDR_MASK & ~0x1fffffULL;

		for (uint64_t i = 0; i < 512; i++)
			pt[i] = (base + (i << 12)) | guest_nested_tdp_leaf_bits(n);
		*pde = (uintptr_t)pt | tdp_table_bits(n);
	}
	return &((uint64_t *)(uintptr_t)(*pde & PTE_ADDR_MASK))[(gpa >> 12) & 511];
}

void guest_nested_tdp_set_present(struct nested *n, uint64_t gpa, bool present)
{
	uint64_t *pte = guest_nested_tdp_pte(n, gpa);
	bool was = tdp_present(n, *pte);

	*pte = present ? (gpa & ~0xfffULL) | guest_nested_tdp_leaf_bits(n) : 0;
	if (!was || present)
		return;		/* absent entries are not cached: nothing stale */
	/* Taken away: flush what L2 may have cached (APM 15.16.1; SDM 28.3.3.4). */
	if (n->vendor == NESTED_SVM)
		vmcb_of(n)->control.tlb_ctl = 1;	/* flush the whole TLB on VMRUN */
	else if (vmx_launched && !vmx_invept(vmx_eptp(n)))
		GUEST_FAIL("no INVEPT to drop the translation of GPA 0x%lx", gpa);
}
