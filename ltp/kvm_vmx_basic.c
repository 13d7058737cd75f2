// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP's VMX helpers (include/kvm_x86_vmx.h, the API of LTP's kvm_vmx01 and
 * kvm_vmx02), SDM vol. 3C as guest_lib/vmx.c numbers it (before the 2023
 * renumbering): kvm_set_vmx_state(1) enters VMX operation (VMXON, 23.7-23.8);
 * a vCPU from kvm_create_vmx_vcpu() runs its guest_main() in L2 on its own
 * stack and ends in HLT, which exits with basic exit reason 12 (HLT
 * exiting, 24.6.2 and 25.1.3; appendix C) and the return value in
 * cpu->regs.rax; kvm_vmx_vmrun() passes cpu->regs to L2 and back, uses
 * VMLAUNCH first and VMRESUME after (30.3); kvm_init_vmx_vcpu() VMCLEARs a
 * launched VMCS, so VMLAUNCH works on it again (24.11.3; else
 * VM-instruction error 4, 30.4); the VM-exit instruction length of HLT
 * (27.2.4) resumes L2 past it; CPUID exits unconditionally (25.1.2, reason
 * 10); kvm_vmcs_copy_gdt_descriptor() writes a GDT entry built with
 * kvm_set_segment_descriptor() into the guest FS fields (24.4.1, vol. 3A
 * 3.4.5; accessed type as 26.3.1.2 requires) and VM entry loads it
 * (26.3.2.2): L2 reads that selector from FS; kvm_vmx_read_vmctl_mask()
 * reads the TRUE_* capability MSR when IA32_VMX_BASIC bit 55 says so (A.2,
 * A.3.2).  Without VMX it is a TCONF (SKIP): the AMD lane.  An LTP-form
 * test (include/kvm_test.h), the VMX sibling of kvm_svm_basic; ideas from
 * LTP's kvm_vmx01/kvm_vmx02 and kvm-unit-tests' x86/vmx.c (test_vmlaunch,
 * test_vmresume, the VMCLEAR launch-state checks of vmx_tests.c).
 *
 * Caught bugs: bugs/nested-vmx-vmcs-vmclear-keeps-launched.patch
 */
#include "kvm_test.h"

#ifdef COMPILE_PAYLOAD

#include "kvm_x86_vmx.h"

#define RBX_IN		0x1122334455ULL
#define SUM_100		4950

static int l2_sum(void)
{
	volatile int a[100];
	int sum = 0;

	for (int i = 0; i < 100; i++)
		a[i] = i;
	for (int i = 0; i < 100; i++)
		sum += a[i];
	return sum;
}

/* Reads RBX as L1 passed it, then leaves its own value there for L1 to see. */
static int l2_swaps_rbx(void)
{
	uint64_t rbx;

	asm volatile("mov %%rbx, %0" : "=r"(rbx));
	asm volatile("mov %0, %%rbx\n\thlt" :: "r"(rbx + 1) : "rbx");
	return 0;
}

static int l2_cpuid(void)
{
	struct kvm_cpuid c;

	kvm_get_cpuid(0, 0, &c);
	return 1;
}

static int l2_reads_fs(void)
{
	uint16_t fs;

	asm volatile("mov %%fs, %0" : "=r"(fs));
	return fs;
}

static uint64_t exit_reason(void)
{
	return kvm_vmx_vmread(VMX_VMCS_EXIT_REASON);
}

static void check_exit(const char *what, uint64_t want)
{
	uint64_t r = exit_reason();

	if (r != want)
		tst_res(TFAIL, "%s: exit reason %lu (%s), expected %lu (%s); qualification 0x%lx",
			what, r, vmx_exit_name(r & 0xffff), want, vmx_exit_name(want),
			kvm_vmx_vmread(VMX_VMCS_EXIT_QUALIFICATION));
}

static void test_return_value(struct kvm_vmx_vcpu *cpu)
{
	kvm_vmx_vmrun(cpu);
	check_exit("guest_main's return", VMX_EXIT_HLT);
	if (exit_reason() == VMX_EXIT_HLT && cpu->regs.rax == SUM_100)
		tst_res(TPASS, "L2 guest_main() returned %d in RAX at an HLT exit", SUM_100);
	else if (exit_reason() == VMX_EXIT_HLT)
		tst_res(TFAIL, "L2 guest_main() returned %lu, expected %d", cpu->regs.rax,
			SUM_100);
	if (kvm_vmx_vmptrst() != (uintptr_t)cpu->vmcs)
		tst_res(TFAIL, "current VMCS 0x%lx after kvm_vmx_vmrun(), expected %p",
			kvm_vmx_vmptrst(), cpu->vmcs);
}

/* After an HLT exit RIP is the HLT (27.2.4: its length is saved): resume past it. */
static void skip_hlt(void)
{
	kvm_vmx_vmwrite(VMX_VMCS_GUEST_RIP, kvm_vmx_vmread(VMX_VMCS_GUEST_RIP) +
			kvm_vmx_vmread(VMX_VMCS_VMEXIT_INST_LEN));
}

static void test_regs_and_resume(struct kvm_vmx_vcpu *cpu, uint16_t ss, void *rsp)
{
	kvm_init_vmx_vcpu(cpu, ss, rsp, l2_swaps_rbx);
	cpu->regs.rbx = RBX_IN;
	/* The VMCS ran before: only kvm_init_vmx_vcpu()'s VMCLEAR makes it clear (24.11.3). */
	kvm_vmx_activate_vcpu(cpu);
	if (kvm_vmx_vmlaunch(cpu)) {
		tst_res(TFAIL, "VMLAUNCH after kvm_init_vmx_vcpu() (VMCLEAR) of a launched VMCS "
			"failed: VM-instruction error %d (%s)", kvm_vmx_inst_errno(),
			kvm_vmx_inst_err());
		return;
	}
	cpu->launched = 1;
	check_exit("HLT inside L2", VMX_EXIT_HLT);
	if (cpu->regs.rbx == RBX_IN + 1)
		tst_res(TPASS, "cpu->regs.rbx reached L2 and L2's RBX came back at the exit");
	else
		tst_res(TFAIL, "regs.rbx after the exit 0x%lx, expected 0x%llx (L2 adds 1 to "
			"what it got)", cpu->regs.rbx, RBX_IN + 1);
	/* Second entry of a launched VMCS: VMRESUME; the stub's HLT follows. */
	skip_hlt();
	kvm_vmx_vmrun(cpu);
	check_exit("after VMRESUME", VMX_EXIT_HLT);
	if (exit_reason() == VMX_EXIT_HLT && cpu->regs.rax == 0 && cpu->launched)
		tst_res(TPASS, "VMRESUME of the launched VMCS: guest_main returned 0");
	else
		tst_res(TFAIL, "VMRESUME: exit %lu, RAX %lu, launched %d", exit_reason(),
			cpu->regs.rax, cpu->launched);
}

static void test_cpuid_exit(struct kvm_vmx_vcpu *cpu, uint16_t ss, void *rsp)
{
	kvm_init_vmx_vcpu(cpu, ss, rsp, l2_cpuid);
	kvm_vmx_vmrun(cpu);
	if (exit_reason() == EXIT_REASON_CPUID && cpu->regs.rax == 0)
		tst_res(TPASS, "L2's CPUID exits (reason 10) with leaf 0 in RAX");
	else
		tst_res(TFAIL, "L2's CPUID: exit reason %lu (%s), RAX 0x%lx; expected 10, 0",
			exit_reason(), vmx_exit_name(exit_reason() & 0xffff), cpu->regs.rax);
}

static void test_gdt_segment(struct kvm_vmx_vcpu *cpu, uint16_t ss, void *rsp)
{
	int id = kvm_find_free_descriptor(kvm_gdt, KVM_GDT_SIZE);
	unsigned int flags = SEGTYPE_RWDATA | SEGFLAG_PRESENT | SEGFLAG_32BIT |
			     SEGFLAG_PAGE_LIMIT;
	uint64_t base, limit, ar;

	if (id < 0)
		tst_brk(TBROK, "no free GDT entry among the first %d", KVM_GDT_SIZE);
	kvm_set_segment_descriptor(kvm_gdt + id, 0x5000, 0xf, flags);
	kvm_init_vmx_vcpu(cpu, ss, rsp, l2_reads_fs);
	kvm_vmx_vmptrld(cpu->vmcs);
	kvm_vmcs_copy_gdt_descriptor(id, VMX_VMCS_GUEST_FS, VMX_VMCS_GUEST_FS_ACCESS,
				     VMX_VMCS_GUEST_FS_LIMIT, VMX_VMCS_GUEST_FS_BASE);
	base = kvm_vmx_vmread(VMX_VMCS_GUEST_FS_BASE);
	limit = kvm_vmx_vmread(VMX_VMCS_GUEST_FS_LIMIT);
	/* Type 3 (the accessed bit set by the CPU or not), S, P, D/B, G. */
	ar = kvm_vmx_vmread(VMX_VMCS_GUEST_FS_ACCESS) & ~1ULL;
	if (base != 0x5000 || limit != 0xffff || ar != 0xc092)
		tst_res(TFAIL, "GDT entry %d in the VMCS: base 0x%lx limit 0x%lx AR 0x%lx, "
			"expected 0x5000 0xffff 0xc092", id, base, limit, ar);
	kvm_vmx_vmrun(cpu);
	check_exit("L2 reading FS", VMX_EXIT_HLT);
	if (cpu->regs.rax == (uint64_t)id << 3)
		tst_res(TPASS, "kvm_vmcs_copy_gdt_descriptor(%d): VM entry loaded FS 0x%x", id,
			id << 3);
	else
		tst_res(TFAIL, "L2's FS 0x%lx, expected 0x%x (GDT entry %d)", cpu->regs.rax,
			id << 3, id);
	memset(kvm_gdt + id, 0, sizeof(struct segment_descriptor));
}

static void test_ctl_mask(void)
{
	uint64_t want = kvm_rdmsr(kvm_rdmsr(MSR_IA32_VMX_BASIC) &
				  IA32_VMXBASIC_USELESS_CTL_MASKS ?
				  MSR_IA32_VMX_EXECCTL_MASK2 : MSR_IA32_VMX_EXECCTL_MASK);
	uint64_t got = kvm_vmx_read_vmctl_mask(VMX_CTLMASK_EXECCTL);

	if (got == want)
		tst_res(TPASS, "kvm_vmx_read_vmctl_mask(EXECCTL) = 0x%lx", got);
	else
		tst_res(TFAIL, "kvm_vmx_read_vmctl_mask(EXECCTL) = 0x%lx, the MSR says 0x%lx",
			got, want);
}

void main(void)
{
	struct kvm_vmx_vcpu *cpu;
	uint16_t ss;
	void *rsp;

	kvm_set_vmx_state(1);
	cpu = kvm_create_vmx_vcpu(l2_sum, 1);
	kvm_vmx_vmptrld(cpu->vmcs);
	ss = kvm_vmx_vmread(VMX_VMCS_GUEST_SS) >> 3;
	rsp = (void *)(uintptr_t)kvm_vmx_vmread(VMX_VMCS_GUEST_RSP);
	test_return_value(cpu);
	test_regs_and_resume(cpu, ss, rsp);
	test_cpuid_exit(cpu, ss, rsp);
	test_gdt_segment(cpu, ss, rsp);
	test_ctl_mask();
	kvm_set_vmx_state(0);
}

#else /* COMPILE_PAYLOAD */

static struct tst_test test = {
	.test_all = tst_kvm_run,
	.setup = tst_kvm_setup,
	.cleanup = tst_kvm_cleanup,
	.supported_archs = (const char *const []) {
		"x86_64",
		NULL
	},
};

#endif /* COMPILE_PAYLOAD */
