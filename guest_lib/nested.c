// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vendor-neutral nested layer (include/nested.h) over guest_lib/svm.c
 * and guest_lib/vmx.c.
 */
#define NESTED_GUEST_ONLY
#include "guest.h"
#include "nested.h"

enum nested_vendor nested_current_vendor;

/* VMX state kept between runs of the one L2 this layer drives. */
static bool vmx_launched;
static struct vmx_gprs vmx_regs;

enum nested_vendor nested_vendor(void)
{
	if (svm_supported())
		return NESTED_SVM;
	if (vmx_supported())
		return NESTED_VMX;
	return NESTED_NONE;
}

const char *nested_exit_name(enum nested_exit e)
{
	static const char *const names[] = {
		"CPUID", "HLT", "IO", "MSR", "HYPERCALL", "SHUTDOWN", "NPF", "EXCEPTION",
		"INVALID", "OTHER",
	};

	return e <= NESTED_EXIT_OTHER ? names[e] : "?";
}

static struct vmcb *vmcb_of(struct nested *n)
{
	return (struct vmcb *)(uintptr_t)n->pages->svm.vmcb;
}

void nested_init(struct nested *n, struct nested_pages *pages, void (*l2)(void))
{
	uint8_t vec;
	enum vmx_status s;

	memset(n, 0, sizeof(*n));
	n->pages = pages;
	n->vendor = nested_vendor();
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
		GUEST_FAIL("nested_init: the guest's CPUID has neither SVM nor VMX");
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
	case EXIT_REASON_IO_INSTRUCTION:
		/* 27.2.1 table 27-5: port in 31:16, direction in bit 3 (1 = IN). */
		n->qual = (vmread(EXIT_QUALIFICATION) >> 16) & 0xffff;
		n->is_write = !(vmread(EXIT_QUALIFICATION) & 8);
		return NESTED_EXIT_IO;
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

enum nested_exit nested_run(struct nested *n)
{
	enum vmx_status s;
	uint32_t reason;

	if (n->vendor == NESTED_SVM) {
		svm_run(n->pages->svm.vmcb, &n->gprs);
		return svm_decode(n);
	}
	reason = vmx_run(vmx_launched, &vmx_regs, &s);
	if (s != VMX_OK) {
		uint64_t err = 0;

		if (s == VMX_FAIL_VALID)
			__vmread(VM_INSTRUCTION_ERROR, &err, NULL);
		GUEST_FAIL("%s: %s, VM-instruction error %lu (%s)",
			   vmx_launched ? "VMRESUME" : "VMLAUNCH", vmx_status_name(s), err,
			   vmx_insn_error_name(err));
	}
	vmx_launched = true;
	return vmx_decode(n, reason);
}

void nested_skip(struct nested *n, unsigned int len)
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

void nested_intercept(struct nested *n, enum nested_intercept what, uint64_t arg)
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
		/* Read bitmaps at 0 (low) and 1024 (high), writes at 2048 and 3072 (24.6.9). */
		uint8_t *bm = (uint8_t *)(uintptr_t)n->pages->vmx.msr_bitmap;
		uint32_t off = arg >= 0xc0000000u ? 1024 : 0, idx = arg & 0x1fff;

		bm[off + idx / 8] |= 1u << (idx % 8);
		bm[2048 + off + idx / 8] |= 1u << (idx % 8);
		break;
	}
	}
}

uint64_t nested_l2_rax(struct nested *n)
{
	return n->vendor == NESTED_SVM ? vmcb_of(n)->save.rax : vmx_regs.rax;
}

uint64_t nested_l2_rip(struct nested *n)
{
	return n->vendor == NESTED_SVM ? vmcb_of(n)->save.rip : vmread(GUEST_RIP);
}

uint64_t nested_alloc_page(struct nested *n)
{
	uint64_t pa = n->pool_next;

	if (pa >= n->pages->pool + n->pages->pool_pages * 4096)
		GUEST_FAIL("nested page pool (%lu pages) exhausted", n->pages->pool_pages);
	n->pool_next += 4096;
	memset((void *)(uintptr_t)pa, 0, 4096);
	return pa;
}
