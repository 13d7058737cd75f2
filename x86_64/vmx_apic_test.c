// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intel VMX: APIC virtualization seen by L1 (SDM vol. 3C chapter 31 "APIC
 * Virtualization and Virtual Interrupts", 2023 and later numbering; 29 in
 * older editions), without posted interrupts or virtual-interrupt delivery.
 *
 *  - 31.1.1/31.3 "use TPR shadow": L2's MOV to CR8 writes VTPR (offset 80H
 *    of the virtual-APIC page) bits 7:4 with source bits 3:0 and clears the
 *    rest of the dword; MOV from CR8 reads VTPR bits 7:4; neither exits
 *    with CR8-load/store exiting clear, and L1's own TPR is untouched;
 *  - 31.1.2 "TPR virtualization": a MOV to CR8 that leaves VTPR[7:4] below
 *    TPR threshold[3:0] is a trap-like VM exit, reason 43 (after the write,
 *    RIP past the MOV); one that does not, none;
 *  - 27.2.1.1 VM-entry checks with "use TPR shadow" (VMfailValid error 7):
 *    the virtual-APIC address 4-KByte aligned and within MAXPHYADDR; with
 *    virtual-interrupt delivery 0, TPR threshold bits 31:4 zero; with
 *    "virtualize APIC accesses" 0 as well, threshold bits 3:0 not above
 *    VTPR bits 7:4 (so L1 lowers the threshold before resuming after 43);
 *  - 31.4 "virtualize APIC accesses": with TPR shadow off, L2's linear read
 *    and write of the APIC-access page exit with reason 44, qualification
 *    (28.2.1) the page offset in 11:0 and the access type (0 linear read,
 *    1 linear write) in 15:12; the entry check on the APIC-access address.
 *
 * The TPR-shadow case runs with the in-kernel LAPIC; with a userspace LAPIC
 * kvm_intel lets L2's MOV to CR8 reach L1's TPR (x86_64/known_failures).
 * A control KVM's nested VMX does not offer makes its case SKIP naming it
 * (kvm_intel offers no posted interrupts or virtual-interrupt delivery
 * under Bochs, so those are not tested).  kvm_intel checks the addresses
 * in software (nested_vmx_check_tpr_shadow_controls(),
 * nested_vmx_check_apic_access_controls()), maps L1's virtual-APIC page
 * into vmcs02 and leaves the TPR-threshold checks to the processor;
 * nested_vmx_l1_wants_exit() reflects reasons 43 and 44.
 *
 * Ideas: LTP kvm_vmx02 (TPR shadow and the virtual-APIC page) and
 * kvm-unit-tests x86/vmx_tests.c (vmx_tpr_shadow test, test_apic_virt_addr,
 * test_apic_access_addr, apic_reg_virt_test).
 *
 * Caught bugs: bugs/nested-vmx-apic-tpr-below-threshold-not-reflected.patch,
 * bugs/nested-vmx-apic-vapic-addr-unchecked.patch
 */
#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "guest/vmx_check.h"
#include "nested.h"

static struct vmx_gprs regs;

/* What L2 read from CR8 at each step. */
static volatile uint64_t cr8_first, cr8_after5, cr8_after3;

static uint64_t get_cr8_val(void)
{
	uint64_t v;

	asm volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

static void set_cr8_val(uint64_t v)
{
	asm volatile("mov %0, %%cr8" :: "r"(v) : "memory");
}

static void __attribute__((noreturn)) l2_vmcall_loop(void)
{
	for (;;)
		asm volatile("vmcall" ::: "memory");
}

/* Threshold 4: 5 and 6 stay at or above it, 3 goes below (exit 43). */
static void l2_tpr(void)
{
	cr8_first = get_cr8_val();
	set_cr8_val(5);
	cr8_after5 = get_cr8_val();
	set_cr8_val(6);
	set_cr8_val(3);
	cr8_after3 = get_cr8_val();
	l2_vmcall_loop();
}

static const char *ctl_missing(uint32_t msr, uint32_t bit, const char *name)
{
	static char why[120];

	if ((rdmsr(msr) >> 32) & bit)
		return NULL;
	guest_snprintf(why, sizeof(why), "the %s control has allowed-1 = 0 in KVM's nested VMX",
		       name);
	return why;
}

static const char *tpr_shadow_missing(void)
{
	return ctl_missing(MSR_IA32_VMX_PROCBASED_CTLS, CPU_BASED_TPR_SHADOW, "use TPR shadow");
}

static const char *vaa_missing(void)
{
	const char *w = ctl_missing(MSR_IA32_VMX_PROCBASED_CTLS, CPU_BASED_ACTIVATE_SECONDARY,
				    "activate secondary controls");

	return w ? w : ctl_missing(MSR_IA32_VMX_PROCBASED_CTLS2,
				   SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES,
				   "virtualize APIC accesses");
}

static uint32_t *vtpr(uint64_t vapic)
{
	return (uint32_t *)(uintptr_t)(vapic + VAPIC_VTPR);
}

/* A fresh VMCS running l2 with "use TPR shadow" on vapic and threshold thr. */
static void tpr_shadow_vmcs(struct nested_pages *p, void (*l2)(void), uint64_t vapic,
			    uint32_t thr)
{
	vmx_init_vmcs(&p->vmx, l2, p->l2_stack_top);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, (vmread(CPU_BASED_VM_EXEC_CONTROL) |
		CPU_BASED_TPR_SHADOW) & ~(CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING));
	vmwrite(VIRTUAL_APIC_PAGE_ADDR, vapic);
	vmwrite(TPR_THRESHOLD, thr);
}

static const char *cr8_exiting_required(void)
{
	uint64_t c = rdmsr(rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS ?
			   MSR_IA32_VMX_TRUE_PROCBASED : MSR_IA32_VMX_PROCBASED_CTLS);

	if ((uint32_t)c & (CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING))
		return "CR8-load/store exiting have allowed-0 = 1 (no TRUE controls)";
	return NULL;
}

/* SKIP unless TPR shadow can run here; else set up L1 and return a virtual-APIC page. */
static uint64_t tpr_shadow_begin(struct nested_pages *p, struct nested *n)
{
	const char *why = tpr_shadow_missing();

	if (!why)
		why = cr8_exiting_required();
	if (why)
		guest_nested_skip_test(why);
	guest_nested_init(n, p, l2_vmcall_loop);
	return guest_nested_alloc_page(n);
}

static void l1_tpr_shadow(struct nested_pages *p)
{
	uint64_t vapic, l1_cr8;
	struct nested n;
	char b[160];
	uint32_t r;
	enum vmx_status s;

	vapic = tpr_shadow_begin(p, &n);
	set_cr8_val(1);
	l1_cr8 = get_cr8_val();
	*vtpr(vapic) = 0x7c;
	tpr_shadow_vmcs(p, l2_tpr, vapic, 4);

	r = vmx_run(false, &regs, &s);
	CHECK(s == VMX_OK && r == EXIT_REASON_TPR_BELOW_THRESHOLD, "L2's MOV of 3 to CR8 with "
	      "threshold 4: %s, %s; expected exit TPR_BELOW_THRESHOLD (43)", vmx_status_name(s),
	      s == VMX_OK ? vmx_exit_str(r, vmread(EXIT_QUALIFICATION), b, sizeof(b)) :
	      vmx_insn_error_name(vmx_insn_error(s)));
	if (s != VMX_OK)
		CHECK_DONE();
	if (r == EXIT_REASON_TPR_BELOW_THRESHOLD) {
		/* Trap-like: VTPR already written, L2 not yet past its next read. */
		CHECK(*vtpr(vapic) == 0x30 && cr8_after3 == 0, "at exit 43: VTPR 0x%x (expected "
		      "0x30), L2's read after the MOV 0x%lx (expected not yet done)",
		      *vtpr(vapic), cr8_after3);
		/* VM entry needs threshold <= VTPR[7:4] again (27.2.1.1), as a VMM does. */
		vmwrite(TPR_THRESHOLD, 3);
		CHECK_RUN("VMRESUME after exit 43, threshold 3", true, VMX_OK, EXIT_REASON_VMCALL);
	}
	CHECK(cr8_first == 7 && cr8_after5 == 5 && cr8_after3 == 3, "L2's CR8 reads: %lu, %lu, "
	      "%lu; expected 7 (VTPR 0x7c), 5, 3", cr8_first, cr8_after5, cr8_after3);
	/* 31.3: bits 3:0 and 31:8 of the VTPR dword cleared by a MOV to CR8. */
	CHECK(*vtpr(vapic) == 0x30, "VTPR dword 0x%x after L2's MOV of 3 to CR8, expected 0x30",
	      *vtpr(vapic));
	CHECK(get_cr8_val() == l1_cr8, "L1's CR8 %lu after L2's writes, was %lu", get_cr8_val(),
	      l1_cr8);
	CHECK_DONE();
}

/*
 * QEMU and every VMM that nests use the in-kernel LAPIC; with it vmcs01 has
 * no CR8 exiting of its own, so vmcs02 has only L1's.
 */
KVM_TEST(tpr_shadow_and_threshold)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	const char *skip;

	TEST_REQUIRE_VMX();
	vm = vm_create_opts(&(struct vm_opts){ .irqchip = true });
	vcpu = vm_vcpu_add(vm, 0, l1_tpr_shadow);
	skip = nested_run_until_done(vm, vcpu);
	kvm_vm_free(vm);
	if (skip)
		SKIP(return, "%s", skip);
}

/*
 * The same with the LAPIC in userspace (no KVM_CREATE_IRQCHIP).  kvm_intel
 * then sets CR8-load/store exiting in vmcs01, prepare_vmcs02_early() keeps
 * them in vmcs02 although L1 asked for "use TPR shadow" without them, and
 * L0 handles L2's MOV to CR8 as L1's own (KVM_EXIT_SET_TPR): listed in
 * x86_64/known_failures for kvm_intel.
 */
VMX_TEST(tpr_shadow_with_userspace_lapic, l1_tpr_shadow)

static unsigned int guest_maxphyaddr(void)
{
	struct cpuid_regs r;

	cpuid_count(0x80000008, 0, &r);
	return r.eax & 0xff;
}

/* 27.2.1.1: VMfailValid error 7 for each bad field, then the good VMCS runs. */
static void l1_tpr_entry_checks(struct nested_pages *p)
{
	uint64_t vapic, beyond = 1ULL << guest_maxphyaddr();
	struct nested n;

	vapic = tpr_shadow_begin(p, &n);
	*vtpr(vapic) = 0x70;

	tpr_shadow_vmcs(p, l2_vmcall_loop, vapic + 0x800, 0);
	CHECK_RUN("virtual-APIC address not page aligned", false, VMX_FAIL_VALID, 7);
	tpr_shadow_vmcs(p, l2_vmcall_loop, beyond, 0);
	CHECK_RUN("virtual-APIC address beyond MAXPHYADDR", false, VMX_FAIL_VALID, 7);
	tpr_shadow_vmcs(p, l2_vmcall_loop, vapic, 0x10);
	CHECK_RUN("TPR threshold bit 4 set", false, VMX_FAIL_VALID, 7);
	tpr_shadow_vmcs(p, l2_vmcall_loop, vapic, 8);
	CHECK_RUN("TPR threshold 8 above VTPR[7:4] = 7", false, VMX_FAIL_VALID, 7);
	tpr_shadow_vmcs(p, l2_vmcall_loop, vapic, 7);
	CHECK_RUN("TPR threshold 7 = VTPR[7:4]", false, VMX_OK, EXIT_REASON_VMCALL);
	CHECK_DONE();
}

VMX_TEST(tpr_shadow_entry_checks, l1_tpr_entry_checks)

/* L2 reads offset 30H and writes offset 80H of the APIC-access page. */
static volatile uint64_t apic_access_page;

static void l2_apic_access(void)
{
	volatile uint32_t *page = (volatile uint32_t *)(uintptr_t)apic_access_page;
	uint32_t v = page[0x30 / 4];

	page[0x80 / 4] = v | 0x20;
	l2_vmcall_loop();
}

static void expect_apic_access(uint32_t offset, uint32_t type, const char *what)
{
	enum vmx_status s;
	uint32_t r = vmx_run(type != APIC_ACCESS_LINEAR_READ, &regs, &s);
	uint64_t q = vmread(EXIT_QUALIFICATION);
	char b[160];

	CHECK(s == VMX_OK && r == EXIT_REASON_APIC_ACCESS && APIC_ACCESS_QUAL_OFFSET(q) == offset &&
	      APIC_ACCESS_QUAL_TYPE(q) == type, "L2's %s: %s, %s (offset 0x%lx, access type %lu);"
	      " expected APIC_ACCESS (44), offset 0x%x, type %u", what, vmx_status_name(s),
	      s == VMX_OK ? vmx_exit_str(r, q, b, sizeof(b)) : vmx_insn_error_name(vmx_insn_error(s)),
	      APIC_ACCESS_QUAL_OFFSET(q), APIC_ACCESS_QUAL_TYPE(q), offset, type);
	if (s == VMX_OK && r == EXIT_REASON_APIC_ACCESS)
		vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(VM_EXIT_INSTRUCTION_LEN));
}

static void vaa_vmcs(struct nested_pages *p, uint64_t addr)
{
	vmx_init_vmcs(&p->vmx, l2_apic_access, p->l2_stack_top);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, vmread(CPU_BASED_VM_EXEC_CONTROL) |
		CPU_BASED_ACTIVATE_SECONDARY);
	vmwrite(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES);
	vmwrite(APIC_ACCESS_ADDR, addr);
}

static void l1_apic_access(struct nested_pages *p)
{
	const char *why = vaa_missing();
	struct nested n;

	if (why)
		guest_nested_skip_test(why);
	guest_nested_init(&n, p, l2_vmcall_loop);
	apic_access_page = guest_nested_alloc_page(&n);

	vaa_vmcs(p, apic_access_page + 0x10);
	CHECK_RUN("APIC-access address not page aligned", false, VMX_FAIL_VALID, 7);
	vaa_vmcs(p, apic_access_page);
	expect_apic_access(0x30, APIC_ACCESS_LINEAR_READ, "read of offset 30H");
	expect_apic_access(0x80, APIC_ACCESS_LINEAR_WRITE, "write of offset 80H");
	CHECK_RUN("after the APIC accesses", true, VMX_OK, EXIT_REASON_VMCALL);
	CHECK(*(uint32_t *)(uintptr_t)(apic_access_page + 0x80) == 0,
	      "L2's write reached the APIC-access page (0x%x at 80H)",
	      *(uint32_t *)(uintptr_t)(apic_access_page + 0x80));
	CHECK_DONE();
}

VMX_TEST(virtualize_apic_accesses, l1_apic_access)

TEST_HARNESS_MAIN
