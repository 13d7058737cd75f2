// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP's Intel VMX helpers (include/kvm_x86_vmx.h) on the suite's VMX
 * library (guest_lib/vmx.c): the same VMXON, VMCS set-up and VM entry.
 */
#include "guest/tst.h"
#include "guest/vmx.h"
#include "kvm_x86_vmx.h"

#define VMX_STACK_SIZE	8192

int kvm_is_vmx_supported(void)
{
	return vmx_supported();
}

static void vmx_brk(const char *insn, unsigned long field, enum vmx_status s, uint8_t vec)
{
	tst_brk(TBROK, "%s(0x%lx) failed: %s, VM-instruction error %u (%s), vector %u", insn,
		field, vmx_status_name(s), vmx_insn_error(s),
		s == VMX_FAIL_VALID ? vmx_insn_error_name(vmx_insn_error(s)) : "-", vec);
}

struct kvm_vmcs *kvm_alloc_vmcs(void)
{
	struct kvm_vmcs *v = tst_heap_alloc_aligned(sizeof(*v), PAGESIZE);

	memzero(v, sizeof(*v));
	v->version = VMX_BASIC_REVISION(rdmsr(MSR_IA32_VMX_BASIC));
	return v;
}

void kvm_set_vmx_state(int enabled)
{
	static struct vmx_pages pages;
	enum vmx_status s;
	uint8_t vec;

	if (!kvm_is_vmx_supported())
		tst_brk(TCONF, "the vCPU does not offer VMX (CPUID.1:ECX[5])");
	if (!enabled) {
		s = __vmxoff(&vec);
		if (s != VMX_OK)
			vmx_brk("VMXOFF", 0, s, vec);
		return;
	}
	if (!pages.vmxon)
		pages.vmxon = (uintptr_t)kvm_alloc_vmcs();
	s = vmx_enable(&pages, &vec);
	if (s != VMX_OK)
		vmx_brk("VMXON", pages.vmxon, s, vec);
}

void kvm_vmx_vmclear(struct kvm_vmcs *buf)
{
	uint8_t vec;
	enum vmx_status s = __vmclear((uintptr_t)buf, &vec);

	if (s != VMX_OK)
		vmx_brk("VMCLEAR", (uintptr_t)buf, s, vec);
}

void kvm_vmx_vmptrld(struct kvm_vmcs *buf)
{
	uint8_t vec;
	enum vmx_status s = __vmptrld((uintptr_t)buf, &vec);

	if (s != VMX_OK)
		vmx_brk("VMPTRLD", (uintptr_t)buf, s, vec);
}

uint64_t kvm_vmx_vmptrst(void)
{
	uint64_t pa = VMX_INVALID_VMCS;
	uint8_t vec;
	enum vmx_status s = __vmptrst(&pa, &vec);

	if (s != VMX_OK)
		vmx_brk("VMPTRST", 0, s, vec);
	return pa;
}

uint64_t kvm_vmx_vmread(unsigned long var_id)
{
	uint64_t v;
	uint8_t vec;
	enum vmx_status s = __vmread(var_id, &v, &vec);

	if (s != VMX_OK)
		vmx_brk("VMREAD", var_id, s, vec);
	return v;
}

void kvm_vmx_vmwrite(unsigned long var_id, uint64_t value)
{
	uint8_t vec;
	enum vmx_status s = __vmwrite(var_id, value, &vec);

	if (s != VMX_OK)
		vmx_brk("VMWRITE", var_id, s, vec);
}

void kvm_vmcs_copy_gdt_descriptor(unsigned int gdt_id, unsigned long vmcs_selector,
				  unsigned long vmcs_flags, unsigned long vmcs_limit,
				  unsigned long vmcs_baseaddr)
{
	if (gdt_id >= KVM_GDT_SIZE)
		tst_brk(TBROK, "GDT entry %u out of range (KVM_GDT_SIZE %d)", gdt_id,
			KVM_GDT_SIZE);
	vmx_write_seg(gdt_id << 3, vmcs_selector, vmcs_flags, vmcs_limit, vmcs_baseaddr);
}

uint64_t kvm_vmx_read_vmctl_mask(unsigned int ctl_id)
{
	static const uint32_t msrs[VMX_CTLMASK_MAX] = {
		[VMX_CTLMASK_PINX] = MSR_IA32_VMX_PINBASED_CTLS,
		[VMX_CTLMASK_EXECCTL] = MSR_IA32_VMX_PROCBASED_CTLS,
		[VMX_CTLMASK_EXECCTL2] = MSR_IA32_VMX_PROCBASED_CTLS2,
		[VMX_CTLMASK_EXECCTL3] = MSR_IA32_VMX_PROCBASED_CTLS3,
		[VMX_CTLMASK_EXITCTL] = MSR_IA32_VMX_EXIT_CTLS,
		[VMX_CTLMASK_ENTRYCTL] = MSR_IA32_VMX_ENTRY_CTLS,
	};

	if (ctl_id >= VMX_CTLMASK_MAX)
		tst_brk(TBROK, "kvm_vmx_read_vmctl_mask: no control mask %u", ctl_id);
	return vmx_ctl_caps(msrs[ctl_id]);
}

void kvm_init_vmx_vcpu(struct kvm_vmx_vcpu *cpu, uint16_t ss, void *rsp,
		       int (*guest_main)(void))
{
	static uint64_t io_a, io_b, msr;
	uint64_t old = kvm_vmx_vmptrst();
	struct vmx_pages p = { .vmcs = (uintptr_t)cpu->vmcs };

	/* Empty bitmaps, shared by every vCPU: no I/O or MSR exits. */
	if (!io_a) {
		io_a = (uintptr_t)tst_heap_alloc_aligned(PAGESIZE, PAGESIZE);
		io_b = (uintptr_t)tst_heap_alloc_aligned(PAGESIZE, PAGESIZE);
		msr = (uintptr_t)tst_heap_alloc_aligned(PAGESIZE, PAGESIZE);
	}
	p.io_bitmap_a = io_a;
	p.io_bitmap_b = io_b;
	p.msr_bitmap = msr;
	vmx_init_vmcs(&p, tst_l2_entry, (uintptr_t)rsp);
	kvm_vmx_vmwrite(CPU_BASED_VM_EXEC_CONTROL,
			kvm_vmx_vmread(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_HLT_EXITING);
	kvm_vmcs_copy_gdt_descriptor(ss, GUEST_SS_SELECTOR, GUEST_SS_AR_BYTES, GUEST_SS_LIMIT,
				     GUEST_SS_BASE);
	memzero(&cpu->regs, sizeof(cpu->regs));
	cpu->regs.rax = (uintptr_t)guest_main;
	cpu->launched = 0;
	if (old != VMX_INVALID_VMCS)
		kvm_vmx_vmptrld((struct kvm_vmcs *)(uintptr_t)old);
}

struct kvm_vmx_vcpu *kvm_create_vmx_vcpu(int (*guest_main)(void), int alloc_stack)
{
	struct kvm_vmx_vcpu *cpu = memzero(tst_heap_alloc(sizeof(*cpu)), sizeof(*cpu));
	char *top = NULL;
	uint16_t ss;

	cpu->vmcs = kvm_alloc_vmcs();
	if (alloc_stack)
		top = (char *)tst_heap_alloc_aligned(VMX_STACK_SIZE, PAGESIZE) + VMX_STACK_SIZE;
	asm volatile("mov %%ss, %0" : "=r"(ss));
	kvm_init_vmx_vcpu(cpu, ss >> 3, top, guest_main);
	return cpu;
}

void kvm_vmx_activate_vcpu(struct kvm_vmx_vcpu *cpu)
{
	kvm_vmx_vmptrld(cpu->vmcs);
	vmx_write_host_state();
}

/* VMLAUNCH/VMRESUME with cpu->regs in and out; false if the instruction failed. */
static bool vmx_enter(struct kvm_vmx_vcpu *cpu, bool resume)
{
	struct kvm_regs64 *r = &cpu->regs;
	struct vmx_gprs g = {
		.rax = r->rax, .rbx = r->rbx, .rcx = r->rcx, .rdx = r->rdx, .rsi = r->rsi,
		.rdi = r->rdi, .rbp = r->rbp, .r8 = r->r8, .r9 = r->r9, .r10 = r->r10,
		.r11 = r->r11, .r12 = r->r12, .r13 = r->r13, .r14 = r->r14, .r15 = r->r15,
	};
	enum vmx_status s;

	vmx_run(resume, &g, &s);
	if (s != VMX_OK)
		return false;
	*r = (struct kvm_regs64){
		.rax = g.rax, .rbx = g.rbx, .rcx = g.rcx, .rdx = g.rdx, .rdi = g.rdi,
		.rsi = g.rsi, .rbp = g.rbp, .rsp = kvm_vmx_vmread(GUEST_RSP), .r8 = g.r8,
		.r9 = g.r9, .r10 = g.r10, .r11 = g.r11, .r12 = g.r12, .r13 = g.r13,
		.r14 = g.r14, .r15 = g.r15,
	};
	return true;
}

int kvm_vmx_vmlaunch(struct kvm_vmx_vcpu *buf)
{
	return !vmx_enter(buf, false);
}

int kvm_vmx_vmresume(struct kvm_vmx_vcpu *buf)
{
	return !vmx_enter(buf, true);
}

void kvm_vmx_vmrun(struct kvm_vmx_vcpu *cpu)
{
	uint64_t reason;
	int failed;

	kvm_vmx_activate_vcpu(cpu);
	if (cpu->launched) {
		failed = kvm_vmx_vmresume(cpu);
	} else {
		failed = kvm_vmx_vmlaunch(cpu);
		cpu->launched = 1;
	}
	if (failed)
		tst_brk(TBROK, "VMLAUNCH/VMRESUME failed: VM-instruction error %d (%s)",
			kvm_vmx_inst_errno(), kvm_vmx_inst_err());
	reason = kvm_vmx_vmread(VM_EXIT_REASON);
	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY)
		tst_brk(TBROK, "VM entry failed: exit reason %lu (%s), qualification 0x%lx",
			reason & 0xffff, vmx_exit_name(reason & 0xffff),
			kvm_vmx_vmread(EXIT_QUALIFICATION));
}

int kvm_vmx_inst_errno(void)
{
	uint64_t err;

	if (__vmread(VM_INSTRUCTION_ERROR, &err, NULL) != VMX_OK)
		return -1;
	return err;
}

const char *kvm_vmx_inst_strerr(int vmx_errno)
{
	if (vmx_errno < 0)
		return "no current VMCS to read the error from";
	return vmx_insn_error_name(vmx_errno);
}

const char *kvm_vmx_inst_err(void)
{
	return kvm_vmx_inst_strerr(kvm_vmx_inst_errno());
}
