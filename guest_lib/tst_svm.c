// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP's AMD SVM helpers (include/kvm_x86_svm.h) on the suite's mini
 * hypervisor (guest_lib/svm.c): the same VMCB, state setup and VMRUN.
 */
#include <stddef.h>

#include "guest/svm.h"
#include "guest/tst.h"
#include "kvm_x86_svm.h"

/* LTP's names sit at the offsets of the suite's one VMCB layout. */
#define SAME_OFFSET(ltp, suite)							\
	_Static_assert(offsetof(struct kvm_vmcb, ltp) == offsetof(struct vmcb, suite), #ltp)
SAME_OFFSET(iopm_base_addr, control.iopm_base_pa);
SAME_OFFSET(msrpm_base_addr, control.msrpm_base_pa);
SAME_OFFSET(tsc_offset, control.tsc_offset);
SAME_OFFSET(guest_asid, control.asid);
SAME_OFFSET(tlb_control, control.tlb_ctl);
SAME_OFFSET(virtual_tpr, control.int_ctl);
SAME_OFFSET(virt_intr_vector, control.int_vector);
SAME_OFFSET(interrupt_shadow, control.int_state);
SAME_OFFSET(exitcode, control.exit_code);
SAME_OFFSET(exitinfo1, control.exit_info_1);
SAME_OFFSET(exitinfo2, control.exit_info_2);
SAME_OFFSET(exit_int_info, control.exit_int_info);
SAME_OFFSET(enable_nested_paging, control.nested_ctl);
SAME_OFFSET(avic_bar, control.avic_vapic_bar);
SAME_OFFSET(ghcb_gpa, control.ghcb_gpa);
SAME_OFFSET(event_injection, control.event_inj);
SAME_OFFSET(nested_cr3, control.nested_cr3);
SAME_OFFSET(virt_ext, control.virt_ext);
SAME_OFFSET(vmcb_clean, control.clean);
SAME_OFFSET(next_rip, control.next_rip);
SAME_OFFSET(instr_len, control.insn_len);
SAME_OFFSET(avic_backing_page, control.avic_backing_page);
SAME_OFFSET(avic_logical_ptr, control.avic_logical_id);
SAME_OFFSET(avic_physical_ptr, control.avic_physical_id);
SAME_OFFSET(es, save.es);
SAME_OFFSET(tr, save.tr);
SAME_OFFSET(cpl, save.cpl);
SAME_OFFSET(efer, save.efer);
SAME_OFFSET(cr4, save.cr4);
SAME_OFFSET(rip, save.rip);
SAME_OFFSET(rsp, save.rsp);
SAME_OFFSET(rax, save.rax);
SAME_OFFSET(star, save.star);
SAME_OFFSET(sysenter_cs, save.sysenter_cs);
SAME_OFFSET(cr2, save.cr2);
SAME_OFFSET(guest_pat, save.g_pat);
_Static_assert(sizeof(struct kvm_vmcb_descriptor) == sizeof(struct vmcb_seg), "VMCB segment");
_Static_assert(sizeof(struct kvm_vmcb) == sizeof(struct vmcb), "VMCB");

#define SVM_STACK_SIZE	8192

int kvm_is_svm_supported(void)
{
	struct kvm_cpuid c;

	kvm_get_cpuid(0x80000000, 0, &c);
	if (c.eax < 0x80000001)
		return 0;
	kvm_get_cpuid(0x80000001, 0, &c);
	return !!(c.ecx & (1u << 2));	/* SVM */
}

int kvm_get_svm_state(void)
{
	return !!(kvm_rdmsr(MSR_EFER) & EFER_SVME);
}

void kvm_set_svm_state(int enabled)
{
	uint64_t efer = kvm_rdmsr(MSR_EFER);

	kvm_wrmsr(MSR_EFER, enabled ? efer | EFER_SVME : efer & ~(uint64_t)EFER_SVME);
}

void kvm_init_svm(void)
{
	void *hsave;

	if (!kvm_is_svm_supported())
		tst_brk(TCONF, "the vCPU does not offer SVM (CPUID 0x80000001 ECX[2])");
	if (kvm_rdmsr(MSR_VM_CR) & VM_CR_SVMDIS)
		tst_brk(TCONF, "SVM is disabled (VM_CR.SVMDIS)");
	kvm_set_svm_state(1);
	hsave = tst_heap_alloc_aligned(PAGESIZE, PAGESIZE);
	kvm_wrmsr(MSR_VM_HSAVE_PA, (uintptr_t)hsave);
}

struct kvm_vmcb *kvm_alloc_vmcb(void)
{
	return memzero(tst_heap_alloc_aligned(sizeof(struct kvm_vmcb), PAGESIZE),
		       sizeof(struct kvm_vmcb));
}

void kvm_vmcb_copy_gdt_descriptor(struct kvm_vmcb_descriptor *dst, unsigned int gdt_id)
{
	svm_seg_from_gdt((struct vmcb_seg *)dst, gdt_id << 3);
}

void kvm_vmcb_set_intercept(struct kvm_vmcb *vmcb, unsigned int id, unsigned int state)
{
	if (id >= 8 * sizeof(vmcb->intercepts))
		tst_brk(TBROK, "kvm_vmcb_set_intercept: no intercept 0x%x", id);
	if (state)
		vmcb->intercepts[id / 8] |= 1u << (id % 8);
	else
		vmcb->intercepts[id / 8] &= ~(1u << (id % 8));
}

void kvm_init_guest_vmcb(struct kvm_vmcb *vmcb, uint32_t asid, uint16_t ss, void *rsp,
			 int (*guest_main)(void))
{
	struct kvm_sregs sregs;

	/* LTP: L2 enters a stub that calls RAX, and HLTs with its return value. */
	svm_vmcb_init_state((struct vmcb *)vmcb, tst_l2_entry, (uintptr_t)rsp);
	vmcb->rax = (uintptr_t)guest_main;
	kvm_read_sregs(&sregs);
	kvm_vmcb_copy_gdt_descriptor(&vmcb->fs, sregs.fs >> 3);
	kvm_vmcb_copy_gdt_descriptor(&vmcb->gs, sregs.gs >> 3);
	kvm_vmcb_copy_gdt_descriptor(&vmcb->ss, ss);
	vmcb->guest_asid = asid;
	/* APM 15.5.1: VMRUN with the VMRUN intercept clear fails (VMEXIT_INVALID). */
	kvm_vmcb_set_intercept(vmcb, 0x80, 1);
}

struct kvm_svm_vcpu *kvm_create_svm_vcpu(int (*guest_main)(void), int alloc_stack)
{
	struct kvm_svm_vcpu *cpu = memzero(tst_heap_alloc(sizeof(*cpu)), sizeof(*cpu));
	char *top = NULL;
	uint16_t ss;

	cpu->vmcb = kvm_alloc_vmcb();
	if (alloc_stack)
		top = (char *)tst_heap_alloc_aligned(SVM_STACK_SIZE, PAGESIZE) + SVM_STACK_SIZE;
	asm volatile("mov %%ss, %0" : "=r"(ss));
	kvm_init_guest_vmcb(cpu->vmcb, 1, ss >> 3, top, guest_main);
	kvm_vmcb_set_intercept(cpu->vmcb, 0x78, 1);	/* HLT: guest_main returned */
	return cpu;
}

void kvm_svm_vmload(struct kvm_vmcb *buf)
{
	asm volatile("vmload %%rax" :: "a"(buf) : "memory");
}

void kvm_svm_vmsave(struct kvm_vmcb *buf)
{
	asm volatile("vmsave %%rax" :: "a"(buf) : "memory");
}

void kvm_svm_vmrun(struct kvm_svm_vcpu *cpu)
{
	static uint64_t host_save;
	struct kvm_regs64 *r = &cpu->regs;
	struct svm_gprs g = {
		.rbx = r->rbx, .rcx = r->rcx, .rdx = r->rdx, .rsi = r->rsi, .rdi = r->rdi,
		.rbp = r->rbp, .r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11,
		.r12 = r->r12, .r13 = r->r13, .r14 = r->r14, .r15 = r->r15,
	};

	/*
	 * LTP's VMRUN sequence: L2's FS, GS, TR, LDTR, KernelGsBase and the
	 * SYSCALL/SYSENTER MSRs come from the VMCB by VMLOAD and go back to it
	 * by VMSAVE after the #VMEXIT (VMRUN and #VMEXIT do not switch them,
	 * APM 15.5.2), L1's own saved and restored around it.  GIF stays clear
	 * until L1's state is back: nothing can interrupt L1 on L2's GS.
	 */
	if (!host_save)
		host_save = (uintptr_t)kvm_alloc_vmcb();
	asm volatile("clgi" ::: "memory");
	svm_vmsave(host_save);
	svm_vmload((uintptr_t)cpu->vmcb);
	svm_run((uintptr_t)cpu->vmcb, &g);
	asm volatile("clgi" ::: "memory");
	svm_vmsave((uintptr_t)cpu->vmcb);
	svm_vmload(host_save);
	asm volatile("stgi" ::: "memory");
	*r = (struct kvm_regs64){
		.rax = cpu->vmcb->rax, .rbx = g.rbx, .rcx = g.rcx, .rdx = g.rdx, .rdi = g.rdi,
		.rsi = g.rsi, .rbp = g.rbp, .rsp = cpu->vmcb->rsp, .r8 = g.r8, .r9 = g.r9,
		.r10 = g.r10, .r11 = g.r11, .r12 = g.r12, .r13 = g.r13, .r14 = g.r14,
		.r15 = g.r15,
	};
}
