// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP KVM Test API 3.4, CPU state: kvm_get_cpuid() fills struct kvm_cpuid
 * (leaf 0: a vendor string and a maximum leaf >= 1; leaf 0x80000001
 * EDX[29], long mode, which the suite's vCPU CPUID (KVM's supported CPUID)
 * offers to a guest that runs in 64-bit mode; subleaf in ECX reaches the
 * CPU: leaf 0xb/0x1f or 4 differ per subleaf, SDM vol. 2A CPUID);
 * kvm_read_cregs() fills struct kvm_cregs (CR0.PE, CR0.PG, CR4.PAE in
 * 64-bit mode, SDM vol. 3A 9.8.5; CR3 is kvm_pagetable; CR2 is the address
 * of the last #PF, 4.7); kvm_rdmsr() of IA32_EFER has LMA (2.2.1) and
 * kvm_wrmsr()/kvm_rdmsr() round-trip IA32_KERNEL_GS_BASE.  An LTP-form test
 * (include/kvm_test.h).
 */
#include "kvm_test.h"

#ifdef COMPILE_PAYLOAD

#define PF_ADDR		0x90000010UL	/* above 2 GiB: not mapped */

static int skip_fault(void *userdata, struct kvm_interrupt_frame *ifrm, unsigned long errcode)
{
	ifrm->eip = (uintptr_t)userdata;
	return 0;
}

static void check_cpuid(void)
{
	struct kvm_cpuid c0, ext, sub0, sub1;
	char vendor[13];

	kvm_get_cpuid(0, 0, &c0);
	kvm_get_cpuid(0x80000001, 0, &ext);
	/* Leaf 4 (deterministic cache parameters): subleaf n is cache level/type n. */
	kvm_get_cpuid(4, 0, &sub0);
	kvm_get_cpuid(4, 1, &sub1);
	memcpy(vendor, &c0.ebx, 4);
	memcpy(vendor + 4, &c0.edx, 4);
	memcpy(vendor + 8, &c0.ecx, 4);
	vendor[12] = 0;
	if (c0.eax < 1 || (strcmp(vendor, "GenuineIntel") && strcmp(vendor, "AuthenticAMD")))
		tst_res(TFAIL, "CPUID 0: max leaf 0x%x, vendor '%s'", c0.eax, vendor);
	else if (!(ext.edx & (1u << 29)))
		tst_res(TFAIL, "CPUID 0x80000001: EDX 0x%x lacks LM (bit 29)", ext.edx);
	else if (c0.eax >= 4 && sub0.eax && sub0.eax == sub1.eax && sub0.ebx == sub1.ebx)
		tst_res(TFAIL, "CPUID 4: subleaves 0 and 1 are the same (0x%x 0x%x): ECX not passed",
			sub0.eax, sub0.ebx);
	else
		tst_res(TPASS, "kvm_get_cpuid(): max leaf 0x%x, %s, LM set, subleaf in ECX",
			c0.eax, vendor);
}

static void check_cregs(void)
{
	extern char pf_after[];
	struct kvm_cregs cr;

	kvm_read_cregs(&cr);
	if (!(cr.cr0 & X86_CR0_PE) || !(cr.cr0 & X86_CR0_PG) || !(cr.cr4 & CR4_PAE))
		tst_res(TFAIL, "CR0 0x%lx CR4 0x%lx: not 64-bit paging", cr.cr0, cr.cr4);
	else if ((cr.cr3 & PTE_ADDR_MASK) != (uintptr_t)kvm_pagetable)
		tst_res(TFAIL, "CR3 0x%lx, kvm_pagetable %p", cr.cr3, kvm_pagetable);
	else
		tst_res(TPASS, "kvm_read_cregs(): CR0 0x%lx CR3 0x%lx CR4 0x%lx", cr.cr0, cr.cr3,
			cr.cr4);

	tst_set_interrupt_callback(INTR_PAGE_FAULT, skip_fault, pf_after);
	asm volatile("movb (%0), %%al\n\tpf_after:" :: "r"(PF_ADDR) : "rax", "memory");
	tst_set_interrupt_callback(INTR_PAGE_FAULT, NULL, NULL);
	kvm_read_cregs(&cr);
	if (cr.cr2 != PF_ADDR)
		tst_res(TFAIL, "CR2 0x%lx after a #PF at 0x%lx", cr.cr2, PF_ADDR);
	else
		tst_res(TPASS, "kvm_read_cregs(): CR2 holds the #PF address 0x%lx", cr.cr2);
}

static void check_msrs(void)
{
	uint64_t efer = kvm_rdmsr(MSR_EFER), old = kvm_rdmsr(MSR_KERNEL_GS_BASE), v;

	kvm_wrmsr(MSR_KERNEL_GS_BASE, 0x12345678abcULL);
	v = kvm_rdmsr(MSR_KERNEL_GS_BASE);
	kvm_wrmsr(MSR_KERNEL_GS_BASE, old);
	if (!(efer & EFER_LMA))
		tst_res(TFAIL, "kvm_rdmsr(MSR_EFER) = 0x%lx: LMA clear", efer);
	else if (v != 0x12345678abcULL)
		tst_res(TFAIL, "KERNEL_GS_BASE reads 0x%lx after kvm_wrmsr() of 0x12345678abc", v);
	else
		tst_res(TPASS, "kvm_rdmsr(): EFER 0x%lx has LMA; kvm_wrmsr() round trip", efer);
}

void main(void)
{
	check_cpuid();
	check_cregs();
	check_msrs();
}

#else /* COMPILE_PAYLOAD */

static struct tst_test test = {
	.test_all = tst_kvm_run,
	.setup = tst_kvm_setup,
	.cleanup = tst_kvm_cleanup,
};

#endif /* COMPILE_PAYLOAD */
