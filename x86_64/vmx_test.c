// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intel VMX, L1's view (SDM vol. 3C).  Every test SKIPs with "no VMX"
 * unless KVM offers VMX to its guests (kvm_intel nested=1): neither this
 * project's machine (kvm_pvm) nor QEMU's TCG has it, so these are built
 * and kept to the SDM for hosts that do.
 *
 *  - VMXON: with CR4.VMXE=0 it is #UD (23.7); with IA32_FEATURE_CONTROL
 *    unlocked, or locked without "VMX outside SMX", or with CR0.NE=0 (a
 *    CR0 fixed-1 bit, 23.8) it is #GP (31.3 VMXON pseudo-code); with a bad
 *    revision identifier or an unaligned region, VMfailInvalid;
 *  - VMCLEAR/VMPTRLD of an invalid or the VMXON pointer: VMfailValid with
 *    errors 2/3 and 9/10; VMPTRLD of a wrong revision: error 11;
 *  - VMREAD/VMWRITE of an unsupported field: error 12; VMWRITE of a
 *    read-only field: error 13 -- KVM sets VMX_MISC bit 29 (VMWRITE to any
 *    field), so the host clears it first (KVM accepts a subset of its
 *    VMX_MISC features before the first KVM_RUN); an unsupported encoding
 *    in the read-only (VM-exit information) class is still error 12, as
 *    VMWRITE checks "unsupported" first (31.3 VMWRITE operation);
 *  - the capability MSRs are consistent (appendix A): every allowed-0 bit
 *    is allowed-1, CR0/CR4 fixed-0 bits are within fixed-1, the VMCS
 *    revision and size are sane;
 *  - IA32_FEATURE_CONTROL: once locked, writes #GP (23.7);
 *  - VMLAUNCH on a launched VMCS: VMfailValid error 4 (31.3);
 *  - exits for HLT, the I/O bitmap and the MSR bitmap, and VMCALL; exits
 *    are reported by name with the qualification decoded (27.2.1);
 *  - VM entry with invalid guest state (CR0.PG without PE) fails with exit
 *    reason 33 | bit 31 (26.3, 26.8);
 *  - CR3-load exiting with its qualification, interrupt-window exiting
 *    before L2's first instruction, the preemption timer, and an EPT
 *    violation with the GPA that re-runs once L1 maps the page.
 *
 * Caught bugs: bugs/nested-vmx-vmwrite-readonly-before-unsupported.patch,
 * bugs/nested-vmx-vmxon-bad-cr-ud.patch
 */
#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "nested.h"

/* call is a __vmxxx(..., &vec): vec is the variable it stores a fault's vector in. */
#define EXPECT_VMX(vec, call, want, want_err) do {				\
	enum vmx_status __s = (call);						\
	uint64_t __err = 0;							\
										\
	if (__s == VMX_FAIL_VALID)						\
		__vmread(VM_INSTRUCTION_ERROR, &__err, NULL);			\
	__GUEST_ASSERT(__s == (want) && (__s != VMX_FAIL_VALID || __err == (want_err)),	\
		       "%s: %s (error %lu: %s, vector %u), expected %s (error %u: %s)",	\
		       #call, vmx_status_name(__s), __err, vmx_insn_error_name(__err),	\
		       __s == VMX_FAULT ? (vec) : NO_VECTOR, vmx_status_name(want),	\
		       (unsigned int)(want_err), vmx_insn_error_name(want_err));	\
} while (0)

/* A VMX instruction that must fault with vector want_vec. */
#define EXPECT_VMX_FAULT(vec, call, want_vec) do {				\
	enum vmx_status __s = (call);						\
										\
	__GUEST_ASSERT(__s == VMX_FAULT && (vec) == (want_vec),			\
		       "%s: %s, vector %u; expected fault with vector %u", #call,	\
		       vmx_status_name(__s), __s == VMX_FAULT ? (vec) : NO_VECTOR,	\
		       (unsigned int)(want_vec));					\
} while (0)

/* Run L2 and expect the exit want (enum nested_exit), naming what came instead. */
#define EXPECT_NESTED(n, want) do {						\
	enum nested_exit __e = guest_nested_run(n);					\
	char __b[160];								\
										\
	__GUEST_ASSERT(__e == (want), "exit %s [%s], expected %s",		\
		       guest_nested_exit_name(__e), guest_nested_exit_str(n, __b, sizeof(__b)),	\
		       guest_nested_exit_name(want));					\
} while (0)

/* The last exit's basic reason is want (EXIT_REASON_*), by name. */
#define EXPECT_REASON(n, want) do {						\
	char __b[160];								\
										\
	__GUEST_ASSERT((n)->raw_exit == (want), "exit [%s], expected %s (%u)",	\
		       guest_nested_exit_str(n, __b, sizeof(__b)), vmx_exit_name(want),	\
		       (unsigned int)(want));					\
} while (0)

/* Host and L1 agree on the stages of vmxon_checks through SYNCs. */
/* L1 locked FEATURE_CONTROL without VMX; the host sets "VMX outside SMX". */
#define SYNC_FC_LOCKED_NO_VMX	1

static void l1_vmxon(struct nested_pages *p)
{
	uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC);
	uint32_t *region = (uint32_t *)(uintptr_t)p->vmx.vmxon;
	uint64_t fc, cr0;
	uint8_t vec;

	/* CR4.VMXE=0: VMXON is #UD (31.3 VMXON, first check). */
	set_cr4(get_cr4() & ~X86_CR4_VMXE);
	EXPECT_VMX_FAULT(vec, __vmxon(p->vmx.vmxon, &vec), UD_VECTOR);

	/*
	 * IA32_FEATURE_CONTROL (the host zeroed it) must be locked with
	 * "enable VMX outside SMX" set, or VMXON outside SMX is #GP(0) even
	 * with CR0/CR4 and the region right (31.3 VMXON pseudo-code; 23.7).
	 * Unlocked first, then locked with VMX disabled, as a firmware that
	 * turns VMX off leaves it.
	 */
	fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	__GUEST_ASSERT(!(fc & FEAT_CTL_LOCK), "IA32_FEATURE_CONTROL 0x%lx, the host zeroed it", fc);
	vmx_set_fixed_cr_bits();
	vmx_prepare_vmxon_region(&p->vmx);
	EXPECT_VMX_FAULT(vec, __vmxon(p->vmx.vmxon, &vec), GP_VECTOR);
	wrmsr(MSR_IA32_FEATURE_CONTROL, FEAT_CTL_LOCK);
	EXPECT_VMX_FAULT(vec, __vmxon(p->vmx.vmxon, &vec), GP_VECTOR);
	/* Locked now, so only the host can change it: it sets "VMX outside SMX". */
	GUEST_SYNC(SYNC_FC_LOCKED_NO_VMX);
	fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	__GUEST_ASSERT((fc & (FEAT_CTL_LOCK | FEAT_CTL_VMX_OUTSIDE_SMX)) ==
		       (FEAT_CTL_LOCK | FEAT_CTL_VMX_OUTSIDE_SMX),
		       "IA32_FEATURE_CONTROL 0x%lx, the host set lock and VMX outside SMX", fc);

	/*
	 * CR0.NE is fixed to 1 in VMX operation (IA32_VMX_CR0_FIXED0, A.7):
	 * VMXON with it clear is #GP(0) ("the values of CR0 and CR4 are not
	 * supported in VMX operation").  Clearing NE is legal outside VMX.
	 */
	cr0 = get_cr0();
	__GUEST_ASSERT(rdmsr(MSR_IA32_VMX_CR0_FIXED0) & X86_CR0_NE,
		       "IA32_VMX_CR0_FIXED0 0x%lx lacks NE", rdmsr(MSR_IA32_VMX_CR0_FIXED0));
	set_cr0(cr0 & ~X86_CR0_NE);
	EXPECT_VMX_FAULT(vec, __vmxon(p->vmx.vmxon, &vec), GP_VECTOR);
	set_cr0(cr0);

	/* Now everything holds: VMXON succeeds. */
	EXPECT_VMX(vec, vmx_enable(&p->vmx, &vec), VMX_OK, 0);
	EXPECT_VMX(vec, __vmxoff(&vec), VMX_OK, 0);

	/* Bad revision and misalignment: VMfailInvalid (no current VMCS yet). */
	*region = VMX_BASIC_REVISION(basic) ^ 1;
	EXPECT_VMX(vec, __vmxon(p->vmx.vmxon, &vec), VMX_FAIL_INVALID, 0);
	*region = VMX_BASIC_REVISION(basic);
	EXPECT_VMX(vec, __vmxon(p->vmx.vmxon + 8, &vec), VMX_FAIL_INVALID, 0);
	EXPECT_VMX(vec, __vmxon(p->vmx.vmxon, &vec), VMX_OK, 0);
	/* VMXON in VMX root operation: VMfailInvalid without a current VMCS. */
	EXPECT_VMX(vec, __vmxon(p->vmx.vmxon, &vec), VMX_FAIL_INVALID, 0);
	GUEST_DONE();
}

KVM_VCPU_TEST(vmxon_checks, l1_vmxon)
{
	TEST_REQUIRE_VMX();
	/*
	 * Host-initiated writes of IA32_FEATURE_CONTROL are allowed even when
	 * locked (that is how userspace restores it): play the firmware.
	 */
	vcpu_set_msr(vcpu, MSR_IA32_FEATURE_CONTROL, 0);
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	vcpu_run_expect_sync(vcpu, SYNC_FC_LOCKED_NO_VMX);
	vcpu_set_msr(vcpu, MSR_IA32_FEATURE_CONTROL, FEAT_CTL_LOCK | FEAT_CTL_VMX_OUTSIDE_SMX);
	vcpu_run_expect_done(vcpu);
}

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

	EXPECT_VMX(vec, __vmclear(p->vmx.vmcs + 1, &vec), VMX_FAIL_VALID, 2);
	EXPECT_VMX(vec, __vmclear(p->vmx.vmxon, &vec), VMX_FAIL_VALID, 3);
	EXPECT_VMX(vec, __vmptrld(p->vmx.vmcs + 0x10, &vec), VMX_FAIL_VALID, 9);
	EXPECT_VMX(vec, __vmptrld(p->vmx.vmxon, &vec), VMX_FAIL_VALID, 10);
	*(uint32_t *)(uintptr_t)p->pool = VMX_BASIC_REVISION(basic) ^ 1;
	EXPECT_VMX(vec, __vmptrld(p->pool, &vec), VMX_FAIL_VALID, 11);
	GUEST_DONE();
}

VMX_TEST(vmclear_vmptrld_invalid_pointers, l1_pointers)

static void l2_nothing(void)
{
	guest_nested_hypercall(0);
}

/* 32-bit VM-exit information class (bits 11:10 = 1), index 0x3f: no such field. */
#define VMCS_UNSUPPORTED_RO_FIELD	0x447e

/* Set by the host: it cleared VMX_MISC bit 29, so VM-exit information fields are read-only. */
static bool ro_fields_expected;

static void l1_fields(struct nested_pages *p)
{
	uint64_t v, misc = rdmsr(MSR_IA32_VMX_MISC);
	uint8_t vec;
	struct nested n;

	guest_nested_init(&n, p, l2_nothing);
	EXPECT_VMX(vec, __vmread(0x7ffe, &v, &vec), VMX_FAIL_VALID, 12);
	EXPECT_VMX(vec, __vmwrite(0x7ffe, 0, &vec), VMX_FAIL_VALID, 12);
	/*
	 * VMWRITE checks "unsupported" before "read-only" (31.3 VMWRITE
	 * operation): a field encoding of the VM-exit information class
	 * (bits 11:10 = 1) that names no field is error 12, not 13.
	 */
	EXPECT_VMX(vec, __vmwrite(VMCS_UNSUPPORTED_RO_FIELD, 0, &vec), VMX_FAIL_VALID, 12);
	/* VM_EXIT_REASON is read-only unless VMX_MISC bit 29 allows writes to exit fields (A.6). */
	if (ro_fields_expected)
		__GUEST_ASSERT(!(misc & VMX_MISC_VMWRITE_ANY_FIELD),
			       "the host cleared VMX_MISC bit 29, L1 reads 0x%lx", misc);
	if (misc & VMX_MISC_VMWRITE_ANY_FIELD) {
		GUEST_PRINTF("VMWRITE to a read-only field: not applicable, VMX_MISC 0x%lx has "
			     "bit 29 (VMWRITE to any field)", misc);
		EXPECT_VMX(vec, __vmwrite(VM_EXIT_REASON, 0, &vec), VMX_OK, 0);
	} else {
		EXPECT_VMX(vec, __vmwrite(VM_EXIT_REASON, 0, &vec), VMX_FAIL_VALID, 13);
	}
	GUEST_DONE();
}

KVM_VCPU_TEST(vmread_vmwrite_bad_fields, l1_fields)
{
	uint64_t misc;

	TEST_REQUIRE_VMX();
	/*
	 * KVM offers bit 29 and takes back any subset of its VMX_MISC features
	 * before the first KVM_RUN (vmx_restore_vmx_misc()); without bit 29 its
	 * VMWRITE emulation fails read-only fields with error 13.
	 */
	misc = vcpu_get_msr(vcpu, MSR_IA32_VMX_MISC);
	if (__vcpu_set_msr(vcpu, MSR_IA32_VMX_MISC, misc & ~VMX_MISC_VMWRITE_ANY_FIELD) == 1)
		write_guest_global(vm, ro_fields_expected, true);
	else
		TH_LOG("KVM refused VMX_MISC 0x%lx without bit 29: the read-only VMWRITE case "
		       "is not applicable", misc);
	NESTED_RUN_L1(vm, vcpu);
}

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
	guest_nested_hypercall(5);
}

static void l1_exits(struct nested_pages *p)
{
	struct nested n;
	enum vmx_status s;
	struct vmx_gprs r = { 0 };
	struct vmx_qual_io io;
	char b[160];

	guest_nested_init(&n, p, l2_exits);
	guest_nested_intercept(&n, NESTED_INTERCEPT_HLT, 0);
	guest_nested_intercept(&n, NESTED_INTERCEPT_IO, PORT_TEST);
	guest_nested_intercept(&n, NESTED_INTERCEPT_MSR, MSR_IA32_SYSENTER_CS);
	EXPECT_NESTED(&n, NESTED_EXIT_HLT);
	EXPECT_REASON(&n, EXIT_REASON_HLT);
	guest_nested_skip(&n, 1);
	EXPECT_NESTED(&n, NESTED_EXIT_IO);
	/* outb $imm8: OUT, 1 byte, not string, port in the instruction (table 27-5). */
	io = vmx_qual_io(vmread(EXIT_QUALIFICATION));
	__GUEST_ASSERT(io.port == PORT_TEST && !io.in && io.size == 1 && !io.string && !io.rep,
		       "[%s], expected OUT port 0x%x, 1 byte", guest_nested_exit_str(&n, b, sizeof(b)),
		       PORT_TEST);
	guest_nested_skip(&n, 2);
	EXPECT_NESTED(&n, NESTED_EXIT_MSR);
	EXPECT_REASON(&n, EXIT_REASON_MSR_READ);
	GUEST_ASSERT_EQ(n.qual, MSR_IA32_SYSENTER_CS);
	guest_nested_skip(&n, 2);
	EXPECT_NESTED(&n, NESTED_EXIT_HYPERCALL);
	GUEST_ASSERT_EQ(guest_nested_l2_rax(&n), 5);

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

	guest_nested_init(&n, p, l2_nothing);
	/* 26.3.1.1: CR0.PG=1 requires CR0.PE=1 (no unrestricted guest here). */
	vmwrite(GUEST_CR0, vmread(GUEST_CR0) & ~X86_CR0_PE);
	EXPECT_NESTED(&n, NESTED_EXIT_INVALID);
	EXPECT_REASON(&n, VMX_EXIT_REASONS_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE);
	/* A failed entry doesn't launch the VMCS (31.3 VMLAUNCH): VMLAUNCH again, and it runs. */
	vmwrite(GUEST_CR0, vmread(GUEST_CR0) | X86_CR0_PE);
	EXPECT_NESTED(&n, NESTED_EXIT_HYPERCALL);
	GUEST_DONE();
}

VMX_TEST(vm_entry_with_invalid_guest_state_fails, l1_bad_guest_state)

/* ---- CR access, interrupt window, preemption timer, EPT ---- */

static void l2_cr3_reload(void)
{
	uint64_t cr3 = get_cr3();

	asm volatile("mov %0, %%cr3" :: "a"(cr3) : "memory");
	guest_nested_hypercall(6);
}

static void l1_cr_access(struct nested_pages *p)
{
	struct nested n;
	struct vmx_qual_cr q;
	char b[160];

	guest_nested_init(&n, p, l2_cr3_reload);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, vmx_adjust_controls(MSR_IA32_VMX_PROCBASED_CTLS,
		vmread(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_CR3_LOAD_EXITING));
	EXPECT_NESTED(&n, NESTED_EXIT_OTHER);
	EXPECT_REASON(&n, EXIT_REASON_CR_ACCESS);
	/* Table 27-3: "mov %rax, %cr3" is MOV to CR3 from RAX. */
	q = vmx_qual_cr(vmread(EXIT_QUALIFICATION));
	__GUEST_ASSERT(q.cr == 3 && q.type == VMX_CR_MOV_TO && q.gpr == 0,
		       "[%s], expected MOV to CR3 from RAX", guest_nested_exit_str(&n, b, sizeof(b)));
	guest_nested_skip(&n, 3);
	EXPECT_NESTED(&n, NESTED_EXIT_HYPERCALL);
	GUEST_DONE();
}

VMX_TEST(cr3_load_exiting, l1_cr_access)

static void l1_intr_window(struct nested_pages *p)
{
	struct nested n;

	guest_nested_init(&n, p, l2_nothing);
	/* 25.2: with RFLAGS.IF=1 and no blocking, the exit comes before L2's first instruction. */
	vmwrite(GUEST_RFLAGS, 0x202);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, vmx_adjust_controls(MSR_IA32_VMX_PROCBASED_CTLS,
		vmread(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_INTR_WINDOW_EXITING));
	EXPECT_NESTED(&n, NESTED_EXIT_OTHER);
	EXPECT_REASON(&n, EXIT_REASON_INTERRUPT_WINDOW);
	GUEST_ASSERT_EQ(guest_nested_l2_rip(&n), (uintptr_t)l2_nothing);
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
		guest_nested_skip_test("KVM's nested VMX lacks the preemption timer");
	guest_nested_init(&n, p, l2_spin);
	vmwrite(PIN_BASED_VM_EXEC_CONTROL, vmread(PIN_BASED_VM_EXEC_CONTROL) |
		PIN_BASED_PREEMPTION_TIMER);
	vmwrite(VMX_PREEMPTION_TIMER_VALUE, 1000);
	EXPECT_NESTED(&n, NESTED_EXIT_OTHER);
	EXPECT_REASON(&n, EXIT_REASON_PREEMPTION_TIMER);
	GUEST_DONE();
}

VMX_TEST(preemption_timer_exits, l1_preemption_timer)

#define EPT_HOLE	0x2345000ULL	/* in guest RAM */

static void l2_read_hole(void)
{
	guest_nested_hypercall(*(volatile uint64_t *)EPT_HOLE);
}

static void l1_ept(struct nested_pages *p)
{
	const char *why = guest_nested_tdp_unsupported();
	struct vmx_qual_ept q;
	struct nested n;
	char b[160];

	if (why)
		guest_nested_skip_test(why);
	guest_nested_init(&n, p, l2_read_hole);
	guest_nested_tdp_enable(&n);
	guest_nested_tdp_set_present(&n, EPT_HOLE, false);
	*(volatile uint64_t *)EPT_HOLE = 0xabcdef;

	EXPECT_NESTED(&n, NESTED_EXIT_NPF);
	EXPECT_REASON(&n, EXIT_REASON_EPT_VIOLATION);
	GUEST_ASSERT_EQ(n.qual, EPT_HOLE);
	/* Table 27-7: a data read, via an entry with no rights (not present), at the final GPA. */
	q = vmx_qual_ept(vmread(EXIT_QUALIFICATION));
	__GUEST_ASSERT(q.read && !q.write && !q.fetch && !q.readable && !q.writable &&
		       !q.executable && q.gla_valid && q.final_gpa,
		       "[%s], expected a read of a not-present page at the final GPA",
		       guest_nested_exit_str(&n, b, sizeof(b)));
	guest_nested_tdp_set_present(&n, EPT_HOLE, true);
	EXPECT_NESTED(&n, NESTED_EXIT_HYPERCALL);
	GUEST_ASSERT_EQ(guest_nested_l2_rax(&n), 0xabcdef);
	GUEST_DONE();
}

VMX_TEST(ept_violation_reports_gpa_and_reruns, l1_ept)

TEST_HARNESS_MAIN
