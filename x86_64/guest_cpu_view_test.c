// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the guest reads of its CPU is what the host set up: CR0 and CR4 say
 * long mode (CR0.PE, CR0.PG, CR4.PAE: SDM vol. 3A 9.8.5) and CR3 points at
 * the tables the host built; CR2 holds the address of the last #PF (SDM
 * vol. 3A 4.7); CPUID leaves 0 and 0x80000000 are the ones set with
 * KVM_SET_CPUID2 (api.rst); a guest WRMSR of IA32_KERNEL_GS_BASE reads
 * back in the guest and through KVM_GET_MSRS (api.rst).  The guest reads
 * them with the LTP-style API's kvm_read_cregs() and kvm_rdmsr()/kvm_wrmsr(),
 * and CPUID with cpuid_count() (LTP's kvm_get_cpuid() takes a struct
 * kvm_cpuid, a name only LTP-form payloads can use: ltp/kvm_cpu_regs.c).
 */
#include "tst_test.h"

static uint64_t host_cr3;
static uint32_t host_leaf0[4], host_ext0[4];

static void guest_cregs(void)
{
	struct kvm_cregs cr;

	kvm_read_cregs(&cr);
	/* Long mode needs CR0.PE, CR0.PG and CR4.PAE (SDM vol. 3A 9.8.5). */
	if (!(cr.cr0 & X86_CR0_PE) || !(cr.cr0 & X86_CR0_PG) || !(cr.cr4 & X86_CR4_PAE))
		tst_res(TFAIL, "CR0 0x%lx CR4 0x%lx: not long mode", cr.cr0, cr.cr4);
	else if ((cr.cr3 & ~0xfffULL) != host_cr3)
		tst_res(TFAIL, "CR3 0x%lx, the host built the tables at 0x%lx", cr.cr3, host_cr3);
	else
		tst_res(TPASS, "CR0 0x%lx CR3 0x%lx CR4 0x%lx", cr.cr0, cr.cr3, cr.cr4);

	/* CR2 is the faulting address of the last #PF. */
	asm volatile(ASM_SAFE("mov 0x18, %%rax") ::: "rax", "memory");
	kvm_read_cregs(&cr);
	if (guest_fault_vector() != PF_VECTOR || cr.cr2 != 0x18)
		tst_res(TFAIL, "after a #PF at 0x18: vector %u, CR2 0x%lx", guest_fault_vector(),
			cr.cr2);
	else
		tst_res(TPASS, "CR2 holds the #PF address 0x%lx", cr.cr2);
}

static void guest_cpuid(void)
{
	struct cpuid_regs c, e;

	cpuid_count(0, 0, &c);
	cpuid_count(0x80000000, 0, &e);
	/* Leaves the host set and KVM passes through unchanged on every platform. */
	if (c.eax != host_leaf0[0] || c.ebx != host_leaf0[1] || c.ecx != host_leaf0[2] ||
	    c.edx != host_leaf0[3])
		tst_res(TFAIL, "leaf 0: %x %x %x %x, host set %x %x %x %x", c.eax, c.ebx, c.ecx,
			c.edx, host_leaf0[0], host_leaf0[1], host_leaf0[2], host_leaf0[3]);
	else if (e.eax != host_ext0[0])
		tst_res(TFAIL, "leaf 0x80000000: max %x, host set %x", e.eax, host_ext0[0]);
	else
		tst_res(TPASS, "leaf 0 (max 0x%x, vendor %.4s%.4s%.4s) and 0x80000000 as set",
			c.eax, (char *)&c.ebx, (char *)&c.edx, (char *)&c.ecx);
}

static void guest_msr(void)
{
	/*
	 * KERNEL_GS_BASE: 64 bits wide on both vendors (SYSENTER_EIP is not:
	 * KVM keeps 32 bits of it for AMD guests).  Canonical, as it must be.
	 */
	const uint64_t v = 0xffffffff81234560ULL;

	kvm_wrmsr(MSR_KERNEL_GS_BASE, v);
	if (kvm_rdmsr(MSR_KERNEL_GS_BASE) != v)
		tst_res(TFAIL, "KERNEL_GS_BASE reads 0x%lx after writing 0x%lx",
			kvm_rdmsr(MSR_KERNEL_GS_BASE), v);
	else
		tst_res(TPASS, "KERNEL_GS_BASE round trip 0x%lx", v);
}

static void get_leaf(struct __test_metadata *_metadata, struct tst_kvm_instance *inst,
		     uint32_t leaf, uint32_t out[4])
{
	const struct kvm_cpuid_entry2 *e = cpuid_find_entry(inst->vcpu->cpuid, leaf, 0);

	ASSERT_NE(e, NULL) TH_LOG("leaf %#x not in the vCPU's CPUID", leaf);
	out[0] = e->eax;
	out[1] = e->ebx;
	out[2] = e->ecx;
	out[3] = e->edx;
}

static void run_one(struct __test_metadata *_metadata, void (*guest)(void), unsigned int passes)
{
	struct tst_kvm_instance inst = { .guest_main = guest };
	struct tst_kvm_summary sum = { 0 };

	tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
	write_guest_global(inst.vm, host_cr3, inst.vm->pml4);
	get_leaf(_metadata, &inst, 0, host_leaf0);
	get_leaf(_metadata, &inst, 0x80000000, host_ext0);
	sync_global_to_guest(inst.vm, host_leaf0);
	sync_global_to_guest(inst.vm, host_ext0);
	tst_kvm_run_instance_sum(&inst, 0, &sum);
	EXPECT_EQ(tst_kvm_verdict(&sum, NULL), KSFT_PASS) TH_LOG("%s", sum.first_problem);
	EXPECT_EQ(sum.counts[tst_result_index(TPASS)], passes);
	if (guest == guest_msr)	/* the guest's write is the vCPU's state */
		EXPECT_EQ(vcpu_get_msr(inst.vcpu, MSR_KERNEL_GS_BASE), 0xffffffff81234560ULL);
	tst_kvm_destroy_instance(&inst);
}

KVM_TEST(read_cregs) { run_one(_metadata, guest_cregs, 2); }
KVM_TEST(get_cpuid) { run_one(_metadata, guest_cpuid, 1); }
KVM_TEST(rdmsr_wrmsr) { run_one(_metadata, guest_msr, 1); }

TST_KVM_MAIN
