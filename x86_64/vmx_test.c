// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intel VMX, L1's view (SDM vol. 3C).  Every test SKIPs with "no VMX"
 * unless KVM offers VMX to its guests (kvm_intel nested=1): neither this
 * project's machine (kvm_pvm) nor QEMU's TCG has it, so these are built
 * and kept to the SDM for hosts that do.
 *
 *  - VMXON: with CR4.VMXE=0 it is #UD (23.7); with a bad revision
 *    identifier or an unaligned region, VMfailInvalid (31.3 VMXON);
 *  - VMCLEAR/VMPTRLD of an invalid or the VMXON pointer: VMfailValid with
 *    errors 2/3 and 9/10; VMPTRLD of a wrong revision: error 11;
 *  - VMREAD/VMWRITE of an unsupported field: error 12; VMWRITE of a
 *    read-only field: error 13 (unless VMX_MISC bit 29 allows it);
 *  - the capability MSRs are consistent (appendix A): every allowed-0 bit
 *    is allowed-1, CR0/CR4 fixed-0 bits are within fixed-1, the VMCS
 *    revision and size are sane;
 *  - IA32_FEATURE_CONTROL: once locked, writes #GP (23.7);
 *  - VMLAUNCH on a launched VMCS: VMfailValid error 4 (31.3);
 *  - exits for HLT, the I/O bitmap and the MSR bitmap, and VMCALL;
 *  - VM entry with invalid guest state (CR0.PG without PE) fails with exit
 *    reason 33 | bit 31 (26.3, 26.8);
 *  - CR3-load exiting with its qualification, interrupt-window exiting
 *    before L2's first instruction, the preemption timer, and an EPT
 *    violation with the GPA that re-runs once L1 maps the page.
 */
#include "kvm_test_harness.h"
#include "guest.h"
#include "nested.h"

#define VMX_TEST(name, l1_fn)							\
	KVM_ONE_VCPU_TEST(name, l1_fn)						\
	{									\
		TEST_REQUIRE_VMX();							\
		nested_run_until_done(vm, vcpu);				\
	}

#define EXPECT_VMX(call, want, want_err) do {					\
	uint8_t __vec = NO_VECTOR;						\
	enum vmx_status __s = (call);						\
	uint64_t __err = 0;							\
										\
	if (__s == VMX_FAIL_VALID)						\
		__vmread(VM_INSTRUCTION_ERROR, &__err, NULL);			\
	__GUEST_ASSERT(__s == (want) && (__s != VMX_FAIL_VALID || __err == (want_err)),	\
		       "%s: %s (error %lu: %s, vector %u), expected %s (error %u: %s)",	\
		       #call, vmx_status_name(__s), __err, vmx_insn_error_name(__err), __vec, \
		       vmx_status_name(want), (unsigned int)(want_err),		\
		       vmx_insn_error_name(want_err));				\
} while (0)

static void l1_vmxon(struct nested_pages *p)
{
	uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC);
	uint32_t *region = (uint32_t *)(uintptr_t)p->vmx.vmxon;
	uint8_t vec;

	/* CR4.VMXE=0: VMXON is #UD. */
	set_cr4(get_cr4() & ~X86_CR4_VMXE);
	GUEST_ASSERT_EQ(__vmxon(p->vmx.vmxon, &vec), VMX_FAULT);
	GUEST_ASSERT_EQ(vec, UD_VECTOR);

	/* Bad revision and misalignment: VMfailInvalid (no current VMCS yet). */
	GUEST_ASSERT_EQ(vmx_enable(&p->vmx, &vec), VMX_OK);
	GUEST_ASSERT_EQ(__vmxoff(&vec), VMX_OK);
	*region = VMX_BASIC_REVISION(basic) ^ 1;
	GUEST_ASSERT_EQ(__vmxon(p->vmx.vmxon, &vec), VMX_FAIL_INVALID);
	*region = VMX_BASIC_REVISION(basic);
	GUEST_ASSERT_EQ(__vmxon(p->vmx.vmxon + 8, &vec), VMX_FAIL_INVALID);
	GUEST_ASSERT_EQ(__vmxon(p->vmx.vmxon, &vec), VMX_OK);
	/* VMXON in VMX root operation: VMfailInvalid without a current VMCS. */
	GUEST_ASSERT_EQ(__vmxon(p->vmx.vmxon, &vec), VMX_FAIL_INVALID);
	GUEST_DONE();
}

VMX_TEST(vmxon_checks, l1_vmxon)

static void l1_pointers(struct nested_pages *p)
{
	uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC);
	uint32_t *vmcs = (uint32_t *)(uintptr_t)p->vmx.vmcs;
	uint64_t cur;
	uint8_t vec;

	GUEST_ASSERT_EQ(vmx_enable(&p->vmx, &vec), VMX_OK);
	*vmcs = VMX_BASIC_REVISION(basic);
	/* Make a current VMCS so failures are VMfailValid with an error number. */
	GUEST_ASSERT_EQ(__vmclear(p->vmx.vmcs, &vec), VMX_OK);
	GUEST_ASSERT_EQ(__vmptrld(p->vmx.vmcs, &vec), VMX_OK);
	GUEST_ASSERT_EQ(__vmptrst(&cur, &vec), VMX_OK);
	GUEST_ASSERT_EQ(cur, p->vmx.vmcs);

	EXPECT_VMX(__vmclear(p->vmx.vmcs + 1, &vec), VMX_FAIL_VALID, 2);
	EXPECT_VMX(__vmclear(p->vmx.vmxon, &vec), VMX_FAIL_VALID, 3);
	EXPECT_VMX(__vmptrld(p->vmx.vmcs + 0x10, &vec), VMX_FAIL_VALID, 9);
	EXPECT_VMX(__vmptrld(p->vmx.vmxon, &vec), VMX_FAIL_VALID, 10);
	*(uint32_t *)(uintptr_t)p->pool = VMX_BASIC_REVISION(basic) ^ 1;
	EXPECT_VMX(__vmptrld(p->pool, &vec), VMX_FAIL_VALID, 11);
	GUEST_DONE();
}

VMX_TEST(vmclear_vmptrld_invalid_pointers, l1_pointers)

static void l2_nothing(void)
{
	nested_hypercall(0);
}

static void l1_fields(struct nested_pages *p)
{
	uint64_t v;
	uint8_t vec;
	struct nested n;

	nested_init(&n, p, l2_nothing);
	EXPECT_VMX(__vmread(0x7ffe, &v, &vec), VMX_FAIL_VALID, 12);
	EXPECT_VMX(__vmwrite(0x7ffe, 0, &vec), VMX_FAIL_VALID, 12);
	/* VM_EXIT_REASON is read-only unless VMX_MISC bit 29 allows writes to exit fields. */
	if (!(rdmsr(MSR_IA32_VMX_MISC) & (1ULL << 29)))
		EXPECT_VMX(__vmwrite(VM_EXIT_REASON, 0, &vec), VMX_FAIL_VALID, 13);
	GUEST_DONE();
}

VMX_TEST(vmread_vmwrite_bad_fields, l1_fields)

static void l1_caps(struct nested_pages *p)
{
	static const uint32_t ctls[] = { MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_PROCBASED_CTLS,
					 MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_ENTRY_CTLS };
	uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC);
	uint32_t size = (basic >> 32) & 0x1fff;

	/* A.1: revision in 30:0 with bit 31 clear; VMCS size 1-4096 bytes; WB memory type. */
	__GUEST_ASSERT(!(basic & (1ULL << 31)) && size && size <= 4096 &&
		       ((basic >> 50) & 0xf) == 6, "IA32_VMX_BASIC 0x%lx", basic);
	for (unsigned int i = 0; i < 4; i++) {
		uint64_t c = rdmsr(ctls[i]);

		/* A.3-A.5: a bit that must be 1 is allowed to be 1. */
		__GUEST_ASSERT(((uint32_t)c & ~(uint32_t)(c >> 32)) == 0,
			       "MSR 0x%x = 0x%lx: allowed-0 not within allowed-1", ctls[i], c);
		if (basic & VMX_BASIC_TRUE_CTLS) {
			uint64_t t = rdmsr(ctls[i] + 0xc);

			/* A.2: TRUE MSRs may only relax the default-1 bits, not the allowed-1s. */
			__GUEST_ASSERT(((uint32_t)t & ~(uint32_t)c) == 0 && (t >> 32) == (c >> 32),
				       "TRUE MSR 0x%x = 0x%lx vs 0x%lx", ctls[i] + 0xc, t, c);
		}
	}
	/* A.7/A.8: fixed-0 (must be 1) bits are within fixed-1 (may be 1). */
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_VMX_CR0_FIXED0) & ~rdmsr(MSR_IA32_VMX_CR0_FIXED1), 0);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_VMX_CR4_FIXED0) & ~rdmsr(MSR_IA32_VMX_CR4_FIXED1), 0);
	GUEST_ASSERT(rdmsr(MSR_IA32_VMX_CR4_FIXED0) & X86_CR4_VMXE);
	GUEST_DONE();
}

VMX_TEST(capability_msrs_are_consistent, l1_caps)

static void l1_feature_control(struct nested_pages *p)
{
	uint64_t fc;
	uint8_t vec;

	GUEST_ASSERT_EQ(vmx_enable(&p->vmx, &vec), VMX_OK);
	fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	GUEST_ASSERT(fc & FEAT_CTL_LOCK);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_IA32_FEATURE_CONTROL, fc & ~FEAT_CTL_VMX_OUTSIDE_SMX),
			GP_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_FEATURE_CONTROL), fc);
	GUEST_DONE();
}

VMX_TEST(feature_control_locked_writes_gp, l1_feature_control)

#define PORT_TEST	0x80

static void l2_exits(void)
{
	asm volatile("hlt");
	outb(PORT_TEST, 1);
	rdmsr(MSR_IA32_SYSENTER_CS);
	nested_hypercall(5);
}

static void l1_exits(struct nested_pages *p)
{
	struct nested n;
	enum vmx_status s;
	struct vmx_gprs r = { 0 };

	nested_init(&n, p, l2_exits);
	nested_intercept(&n, NESTED_INTERCEPT_HLT, 0);
	nested_intercept(&n, NESTED_INTERCEPT_IO, PORT_TEST);
	nested_intercept(&n, NESTED_INTERCEPT_MSR, MSR_IA32_SYSENTER_CS);
	GUEST_ASSERT_EQ(nested_run(&n), NESTED_EXIT_HLT);
	nested_skip(&n, 1);
	GUEST_ASSERT_EQ(nested_run(&n), NESTED_EXIT_IO);
	GUEST_ASSERT_EQ(n.qual, PORT_TEST);
	nested_skip(&n, 2);
	GUEST_ASSERT_EQ(nested_run(&n), NESTED_EXIT_MSR);
	GUEST_ASSERT_EQ(n.qual, MSR_IA32_SYSENTER_CS);
	nested_skip(&n, 2);
	GUEST_ASSERT_EQ(nested_run(&n), NESTED_EXIT_HYPERCALL);
	GUEST_ASSERT_EQ(nested_l2_rax(&n), 5);

	/* The VMCS is launched now: VMLAUNCH must fail with error 4. */
	vmx_run(false, &r, &s);
	GUEST_ASSERT_EQ(s, VMX_FAIL_VALID);
	GUEST_ASSERT_EQ(vmread(VM_INSTRUCTION_ERROR), 4);
	GUEST_DONE();
}

VMX_TEST(exits_and_vmlaunch_on_launched_vmcs, l1_exits)

static void l1_bad_guest_state(struct nested_pages *p)
{
	struct nested n;

	nested_init(&n, p, l2_nothing);
	/* 26.3.1.1: CR0.PG=1 requires CR0.PE=1 (no unrestricted guest here). */
	vmwrite(GUEST_CR0, vmread(GUEST_CR0) & ~X86_CR0_PE);
	GUEST_ASSERT_EQ(nested_run(&n), NESTED_EXIT_INVALID);
	GUEST_ASSERT_EQ(n.raw_exit, VMX_EXIT_REASONS_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE);
	GUEST_DONE();
}

VMX_TEST(vm_entry_with_invalid_guest_state_fails, l1_bad_guest_state)

/* ---- CR access, interrupt window, preemption timer, EPT ---- */

static void l2_cr3_reload(void)
{
	uint64_t cr3 = get_cr3();

	asm volatile("mov %0, %%cr3" :: "a"(cr3) : "memory");
	nested_hypercall(6);
}

static void l1_cr_access(struct nested_pages *p)
{
	struct nested n;
	uint64_t qual;

	nested_init(&n, p, l2_cr3_reload);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, vmx_adjust_controls(MSR_IA32_VMX_PROCBASED_CTLS,
		vmread(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_CR3_LOAD_EXITING));
	GUEST_ASSERT_EQ(nested_run(&n), NESTED_EXIT_OTHER);
	GUEST_ASSERT_EQ(n.raw_exit, EXIT_REASON_CR_ACCESS);
	/* Table 27-3: CR number 3:0, access type 5:4 (0 = MOV to CR), GPR 11:8 (0 = RAX). */
	qual = vmread(EXIT_QUALIFICATION);
	GUEST_ASSERT_EQ(qual & 0xf, 3);
	GUEST_ASSERT_EQ((qual >> 4) & 3, 0);
	GUEST_ASSERT_EQ((qual >> 8) & 0xf, 0);
	nested_skip(&n, 3);
	GUEST_ASSERT_EQ(nested_run(&n), NESTED_EXIT_HYPERCALL);
	GUEST_DONE();
}

VMX_TEST(cr3_load_exiting, l1_cr_access)

static void l1_intr_window(struct nested_pages *p)
{
	struct nested n;

	nested_init(&n, p, l2_nothing);
	/* 25.2: with RFLAGS.IF=1 and no blocking, the exit comes before L2's first instruction. */
	vmwrite(GUEST_RFLAGS, 0x202);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, vmx_adjust_controls(MSR_IA32_VMX_PROCBASED_CTLS,
		vmread(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_INTR_WINDOW_EXITING));
	GUEST_ASSERT_EQ(nested_run(&n), NESTED_EXIT_OTHER);
	GUEST_ASSERT_EQ(n.raw_exit, EXIT_REASON_INTERRUPT_WINDOW);
	GUEST_ASSERT_EQ(nested_l2_rip(&n), (uintptr_t)l2_nothing);
	GUEST_DONE();
}

VMX_TEST(interrupt_window_exiting, l1_intr_window)

static void l2_spin(void)
{
	for (;;)
		cpu_relax();
}

static void l1_preemption_timer(struct nested_pages *p)
{
	struct nested n;

	if (!((rdmsr(MSR_IA32_VMX_PINBASED_CTLS) >> 32) & PIN_BASED_PREEMPTION_TIMER))
		GUEST_SYNC(0xdead);	/* not supported: the host skips */
	nested_init(&n, p, l2_spin);
	vmwrite(PIN_BASED_VM_EXEC_CONTROL, vmread(PIN_BASED_VM_EXEC_CONTROL) |
		PIN_BASED_PREEMPTION_TIMER);
	vmwrite(VMX_PREEMPTION_TIMER_VALUE, 1000);
	GUEST_ASSERT_EQ(nested_run(&n), NESTED_EXIT_OTHER);
	GUEST_ASSERT_EQ(n.raw_exit, EXIT_REASON_PREEMPTION_TIMER);
	GUEST_DONE();
}

KVM_ONE_VCPU_TEST(preemption_timer_exits, l1_preemption_timer)
{
	struct ucall uc;

	TEST_REQUIRE_VMX();
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	if (vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC && uc.args[0] == 0xdead)
		SKIP(return, "KVM's nested VMX lacks the preemption timer");
	ASSERT_EQ(uc.cmd, UCALL_DONE);
}

#define EPT_RWX		0x7ULL
#define EPT_WB		(6ULL << 3)	/* leaf memory type (28.3.7) */
#define EPT_PS		0x80ULL
#define EPT_HOLE	0x2345000ULL

static void l2_read_hole(void)
{
	nested_hypercall(*(volatile uint64_t *)EPT_HOLE);
}

static void l1_ept(struct nested_pages *p)
{
	uint64_t *pml4, *pdpt, *pd, *pt, caps2, eptp;
	struct nested n;

	caps2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32 & CPU_BASED_ACTIVATE_SECONDARY ?
		rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32 : 0;
	if (!(caps2 & SECONDARY_EXEC_ENABLE_EPT))
		GUEST_SYNC(0xdead);
	nested_init(&n, p, l2_read_hole);
	pml4 = (uint64_t *)(uintptr_t)nested_alloc_page(&n);
	pdpt = (uint64_t *)(uintptr_t)nested_alloc_page(&n);
	pd = (uint64_t *)(uintptr_t)nested_alloc_page(&n);
	pt = (uint64_t *)(uintptr_t)nested_alloc_page(&n);
	/* Identity map of the first GiB, 2 MiB pages, the hole's 2 MiB in 4 KiB pages. */
	pml4[0] = (uintptr_t)pdpt | EPT_RWX;
	pdpt[0] = (uintptr_t)pd | EPT_RWX;
	for (unsigned int i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | EPT_RWX | EPT_WB | EPT_PS;
	pd[EPT_HOLE >> 21] = (uintptr_t)pt | EPT_RWX;
	for (unsigned int i = 0; i < 512; i++)
		pt[i] = (EPT_HOLE & ~0x1fffffULL) + ((uint64_t)i << 12) + (EPT_RWX | EPT_WB);
	pt[(EPT_HOLE >> 12) & 511] = 0;
	/* EPTP (24.6.11): WB paging structures, 4-level walk (length - 1 in bits 5:3). */
	eptp = (uintptr_t)pml4 | (3 << 3) | 6;
	vmwrite(EPT_POINTER, eptp);
	vmwrite(SECONDARY_VM_EXEC_CONTROL, vmx_adjust_controls(MSR_IA32_VMX_PROCBASED_CTLS2,
		SECONDARY_EXEC_ENABLE_EPT));
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, vmx_adjust_controls(MSR_IA32_VMX_PROCBASED_CTLS,
		vmread(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_ACTIVATE_SECONDARY));
	*(volatile uint64_t *)EPT_HOLE = 0xabcdef;

	GUEST_ASSERT_EQ(nested_run(&n), NESTED_EXIT_NPF);
	GUEST_ASSERT_EQ(n.raw_exit, EXIT_REASON_EPT_VIOLATION);
	GUEST_ASSERT_EQ(n.qual, EPT_HOLE);
	/* Table 27-7: bit 0 = data read; bits 5:3 = the entry's R/W/X (all 0: not present). */
	GUEST_ASSERT_EQ(vmread(EXIT_QUALIFICATION) & 0x3f, 0x1);
	pt[(EPT_HOLE >> 12) & 511] = EPT_HOLE | EPT_RWX | EPT_WB;
	GUEST_ASSERT_EQ(nested_run(&n), NESTED_EXIT_HYPERCALL);
	GUEST_ASSERT_EQ(nested_l2_rax(&n), 0xabcdef);
	GUEST_DONE();
}

KVM_ONE_VCPU_TEST(ept_violation_reports_gpa_and_reruns, l1_ept)
{
	struct ucall uc;

	TEST_REQUIRE_VMX();
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	if (vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC && uc.args[0] == 0xdead)
		SKIP(return, "KVM's nested VMX lacks EPT");
	ASSERT_EQ(uc.cmd, UCALL_DONE);
}

TEST_HARNESS_MAIN
