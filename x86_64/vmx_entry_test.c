// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intel VMX: the checks VM entry makes before it runs the guest, L1's view
 * (SDM vol. 3C chapter 27 "VM Entries", numbering of the 2023 and later
 * editions; chapter 26 in older ones).  Each table row takes a good VMCS
 * (L2 executes VMCALL), breaks one field and expects:
 *
 *  - 27.2.1 checks on the VM-execution, VM-exit and VM-entry control
 *    fields: VMfailValid, VM-instruction error 7 (31.4);
 *  - 27.2.2/27.2.3 checks on the host control registers, MSRs, segment and
 *    descriptor-table registers and address-space size: VMfailValid, error 8;
 *  - 27.3.1 checks on the guest-state area: a VM exit with basic reason 33
 *    and bit 31 set ("VM-entry failure due to invalid guest state"), exit
 *    qualification 0, or 4 for the VMCS link pointer (27.8); the activity
 *    state HLT rules of 27.3.1.5 have their own test, as a KVM that lets
 *    them through runs L2 in ways the other rows cannot survive;
 *  - 27.4 loading MSRs from the VM-entry MSR-load area: a VM exit with
 *    reason 34 | bit 31 whose qualification is the 1-based index of the
 *    entry that could not be loaded.
 *
 * After each bad row L1 undoes its writes and VMLAUNCHes the same VMCS
 * again: a failed VM entry leaves it clear (31.3 VMLAUNCH) and changes no
 * state that would make the good VMCS fail, so L2 must reach its VMCALL.
 * Control bits that must be 0 or 1 come from the capability MSRs
 * (IA32_VMX_TRUE_*_CTLS, IA32_VMX_PROCBASED_CTLS2, CR0/CR4_FIXED0/1;
 * appendix A) at run time.  Every row runs even when one fails; the
 * failures are printed and counted.
 *
 * kvm_intel checks controls, host state and part of the guest state in
 * software (nested.c: nested_vmx_check_controls/_host_state/_guest_state,
 * vmx_guest_state_valid() for the segments, nested_vmx_load_msr()) and
 * leaves the rest (RFLAGS, CS.L/D, TR type in IA-32e mode, interruptibility)
 * to the processor's checks of vmcs02, which it reflects to L1.
 *
 * Idea: the upstream selftest x86_64/vmx_invalid_nested_guest_state.c (a
 * VM-entry failure for invalid L2 guest state reaches L1 as reason 33) and
 * kvm-unit-tests x86/vmx_tests.c (vmx_controls_test,
 * vmx_host_state_area_test, vmx_guest_state_area_test), as tables here.
 *
 * Caught bugs: bugs/nested-vmx-entry-msr-load-fs-base.patch,
 * bugs/nested-vmx-entry-link-ptr-revision.patch,
 * bugs/nested-vmx-entry-host-selector-rpl.patch,
 * bugs/nested-vmx-entry-msr-area-alignment.patch
 */
#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "nested.h"

#define NONCANONICAL	0x4000000000000000ULL	/* bit 62 without 63: never canonical */

enum { WANT_VMFAIL, WANT_EXIT };

struct entry_case {
	const char *name;
	/* Breaks the VMCS with bad_write(); NULL, or why the row does not apply here. */
	const char *(*apply)(void);
	int kind;		/* WANT_VMFAIL: error; WANT_EXIT: reason | bit 31, qual */
	uint32_t error_or_reason;
	uint64_t qual;
};

static struct nested n;
static uint64_t eptp, msr_page, link_page;

/* Undo log of the fields a row wrote, restored in reverse order. */
static struct { uint64_t field, old; } undo[8];
static unsigned int nr_undo;

static void bad_write(uint64_t field, uint64_t value)
{
	__GUEST_ASSERT(nr_undo < ARRAY_SIZE(undo), "undo log full");
	undo[nr_undo].field = field;
	undo[nr_undo++].old = vmread(field);
	vmwrite(field, value);
}

static void bad_or(uint64_t field, uint64_t bits)
{
	bad_write(field, vmread(field) | bits);
}

static void bad_andn(uint64_t field, uint64_t bits)
{
	bad_write(field, vmread(field) & ~bits);
}

static void undo_writes(void)
{
	while (nr_undo) {
		nr_undo--;
		vmwrite(undo[nr_undo].field, undo[nr_undo].old);
	}
}

static uint64_t maxphyaddr_bit(void)
{
	struct cpuid_regs r;

	cpuid_count(0x80000008, 0, &r);
	return 1ULL << (r.eax & 0xff);
}

static uint32_t ctls_msr(uint32_t msr)
{
	if (!(rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS))
		return msr;
	switch (msr) {
	case MSR_IA32_VMX_PINBASED_CTLS: return MSR_IA32_VMX_TRUE_PINBASED;
	case MSR_IA32_VMX_PROCBASED_CTLS: return MSR_IA32_VMX_TRUE_PROCBASED;
	case MSR_IA32_VMX_EXIT_CTLS: return MSR_IA32_VMX_TRUE_EXIT;
	case MSR_IA32_VMX_ENTRY_CTLS: return MSR_IA32_VMX_TRUE_ENTRY;
	}
	return msr;
}

static bool ctl_allowed(uint32_t msr, uint32_t bit)
{
	return (rdmsr(ctls_msr(msr)) >> 32) & bit;
}

/* A.3-A.5: clear a bit the allowed-0 half (31:0) says must be 1. */
static const char *clear_must_be_1(uint64_t field, uint32_t msr)
{
	uint32_t must1 = (uint32_t)rdmsr(ctls_msr(msr));

	if (!must1)
		return "no control bit must be 1 (allowed-0 settings all 0)";
	bad_andn(field, must1 & -must1);
	return NULL;
}

/* A.3-A.5: set a bit the allowed-1 half (63:32) says must be 0. */
static const char *set_must_be_0(uint64_t field, uint32_t msr)
{
	uint32_t may1 = rdmsr(ctls_msr(msr)) >> 32;

	if (may1 == ~0u)
		return "every control bit may be 1";
	bad_or(field, ~may1 & (may1 + 1));
	return NULL;
}

static const char *pin_must_be_1(void)
{
	return clear_must_be_1(PIN_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PINBASED_CTLS);
}

static const char *pin_must_be_0(void)
{
	return set_must_be_0(PIN_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PINBASED_CTLS);
}

static const char *proc_must_be_1(void)
{
	return clear_must_be_1(CPU_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS);
}

static const char *proc_must_be_0(void)
{
	return set_must_be_0(CPU_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS);
}

static const char *exit_must_be_1(void)
{
	return clear_must_be_1(VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS);
}

static const char *exit_must_be_0(void)
{
	return set_must_be_0(VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS);
}

static const char *entry_must_be_1(void)
{
	return clear_must_be_1(VM_ENTRY_CONTROLS, MSR_IA32_VMX_ENTRY_CTLS);
}

static const char *entry_must_be_0(void)
{
	return set_must_be_0(VM_ENTRY_CONTROLS, MSR_IA32_VMX_ENTRY_CTLS);
}

static const char *secondary_must_be_0(void)
{
	uint32_t may1 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32;

	if (!ctl_allowed(MSR_IA32_VMX_PROCBASED_CTLS, CPU_BASED_ACTIVATE_SECONDARY))
		return "no secondary controls";
	if (may1 == ~0u)
		return "every secondary control bit may be 1";
	bad_write(SECONDARY_VM_EXEC_CONTROL, ~may1 & (may1 + 1));
	bad_or(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY);
	return NULL;
}

static const char *cr3_targets(void)
{
	bad_write(CR3_TARGET_COUNT, VMX_MISC_CR3_TARGETS(rdmsr(MSR_IA32_VMX_MISC)) + 1);
	return NULL;
}

static const char *io_bitmap_a_unaligned(void)
{
	bad_or(IO_BITMAP_A, 0x800);
	return NULL;
}

static const char *io_bitmap_b_maxphyaddr(void)
{
	bad_write(IO_BITMAP_B, maxphyaddr_bit());
	return NULL;
}

static const char *msr_bitmap_unaligned(void)
{
	bad_or(MSR_BITMAP, 0x10);
	return NULL;
}

static const char *msr_bitmap_maxphyaddr(void)
{
	bad_write(MSR_BITMAP, maxphyaddr_bit());
	return NULL;
}

static const char *virtual_apic_unaligned(void)
{
	if (!ctl_allowed(MSR_IA32_VMX_PROCBASED_CTLS, CPU_BASED_TPR_SHADOW))
		return "no use-TPR-shadow control";
	bad_write(VIRTUAL_APIC_PAGE_ADDR, msr_page + 0x800);
	bad_or(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_TPR_SHADOW);
	return NULL;
}

static const char *nmi_window_without_vnmi(void)
{
	if (!ctl_allowed(MSR_IA32_VMX_PROCBASED_CTLS, CPU_BASED_NMI_WINDOW_EXITING))
		return "no NMI-window exiting control";
	bad_or(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
	return NULL;
}

static const char *vnmi_without_nmi_exiting(void)
{
	if (!ctl_allowed(MSR_IA32_VMX_PINBASED_CTLS, PIN_BASED_VIRTUAL_NMIS))
		return "no virtual-NMIs control";
	bad_or(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VIRTUAL_NMIS);
	return NULL;
}

static const char *inject(uint32_t info, uint32_t error_code, uint32_t len)
{
	bad_write(VM_ENTRY_EXCEPTION_ERROR_CODE, error_code);
	bad_write(VM_ENTRY_INSTRUCTION_LEN, len);
	bad_write(VM_ENTRY_INTR_INFO_FIELD, VMX_INTR_INFO_VALID | info);
	return NULL;
}

static const char *inject_type_1(void)
{
	return inject(VMX_INTR_TYPE_RESERVED | 0x20, 0, 0);
}

static const char *inject_reserved_bit(void)
{
	return inject(VMX_INTR_TYPE_EXT_INTR | 0x20 | (1u << 12), 0, 0);
}

static const char *inject_nmi_vector_3(void)
{
	return inject(VMX_INTR_TYPE_NMI | 3, 0, 0);
}

static const char *inject_exception_vector_32(void)
{
	return inject(VMX_INTR_TYPE_HARD_EXCEPTION | 32, 0, 0);
}

static const char *inject_ud_with_error_code(void)
{
	return inject(VMX_INTR_TYPE_HARD_EXCEPTION | VMX_INTR_INFO_DELIVER_CODE | UD_VECTOR, 0, 0);
}

static const char *inject_gp_without_error_code(void)
{
	return inject(VMX_INTR_TYPE_HARD_EXCEPTION | GP_VECTOR, 0, 0);
}

static const char *inject_error_code_31_16(void)
{
	return inject(VMX_INTR_TYPE_HARD_EXCEPTION | VMX_INTR_INFO_DELIVER_CODE | GP_VECTOR,
		      0x10000, 0);
}

static const char *inject_soft_intr_len_16(void)
{
	return inject(VMX_INTR_TYPE_SOFT_INTR | 0x20, 0, 16);
}

static const char *inject_soft_intr_len_0(void)
{
	if (rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_ZERO_LEN_INJECTION)
		return "IA32_VMX_MISC bit 30 allows instruction length 0";
	return inject(VMX_INTR_TYPE_SOFT_INTR | 0x20, 0, 0);
}

static const char *entry_msr_load_unaligned(void)
{
	bad_write(VM_ENTRY_MSR_LOAD_ADDR, msr_page + 8);
	bad_write(VM_ENTRY_MSR_LOAD_COUNT, 1);
	return NULL;
}

static const char *entry_msr_load_maxphyaddr(void)
{
	bad_write(VM_ENTRY_MSR_LOAD_ADDR, maxphyaddr_bit());
	bad_write(VM_ENTRY_MSR_LOAD_COUNT, 1);
	return NULL;
}

static const char *exit_msr_load_unaligned(void)
{
	bad_write(VM_EXIT_MSR_LOAD_ADDR, msr_page + 8);
	bad_write(VM_EXIT_MSR_LOAD_COUNT, 1);
	return NULL;
}

static const char *exit_msr_store_unaligned(void)
{
	bad_write(VM_EXIT_MSR_STORE_ADDR, msr_page + 4);
	bad_write(VM_EXIT_MSR_STORE_COUNT, 1);
	return NULL;
}

#define CTL(n, fn) { .name = n, .apply = fn, .kind = WANT_VMFAIL, .error_or_reason = 7 }

static const struct entry_case control_cases[] = {
	CTL("pin-based control that must be 1 cleared", pin_must_be_1),
	CTL("pin-based control that must be 0 set", pin_must_be_0),
	CTL("processor-based control that must be 1 cleared", proc_must_be_1),
	CTL("processor-based control that must be 0 set", proc_must_be_0),
	CTL("secondary control that must be 0 set", secondary_must_be_0),
	CTL("VM-exit control that must be 1 cleared", exit_must_be_1),
	CTL("VM-exit control that must be 0 set", exit_must_be_0),
	CTL("VM-entry control that must be 1 cleared", entry_must_be_1),
	CTL("VM-entry control that must be 0 set", entry_must_be_0),
	CTL("CR3-target count above IA32_VMX_MISC 24:16", cr3_targets),
	CTL("I/O bitmap A not 4 KiB aligned", io_bitmap_a_unaligned),
	CTL("I/O bitmap B beyond MAXPHYADDR", io_bitmap_b_maxphyaddr),
	CTL("MSR bitmap not 4 KiB aligned", msr_bitmap_unaligned),
	CTL("MSR bitmap beyond MAXPHYADDR", msr_bitmap_maxphyaddr),
	CTL("virtual-APIC address not 4 KiB aligned (use TPR shadow)", virtual_apic_unaligned),
	CTL("NMI-window exiting without virtual NMIs", nmi_window_without_vnmi),
	CTL("virtual NMIs without NMI exiting", vnmi_without_nmi_exiting),
	CTL("injection of interruption type 1 (reserved)", inject_type_1),
	CTL("injection with bit 12 (reserved) set", inject_reserved_bit),
	CTL("injection of an NMI with vector 3", inject_nmi_vector_3),
	CTL("injection of a hardware exception with vector 32", inject_exception_vector_32),
	CTL("injection of #UD with deliver-error-code", inject_ud_with_error_code),
	CTL("injection of #GP without deliver-error-code", inject_gp_without_error_code),
	CTL("injection of #GP with error code bits 31:16 set", inject_error_code_31_16),
	CTL("injection of a software interrupt with instruction length 16",
	    inject_soft_intr_len_16),
	CTL("injection of a software interrupt with instruction length 0",
	    inject_soft_intr_len_0),
	CTL("VM-entry MSR-load address not 16-byte aligned", entry_msr_load_unaligned),
	CTL("VM-entry MSR-load area beyond MAXPHYADDR", entry_msr_load_maxphyaddr),
	CTL("VM-exit MSR-load address not 16-byte aligned", exit_msr_load_unaligned),
	CTL("VM-exit MSR-store address not 16-byte aligned", exit_msr_store_unaligned),
};

/* ---- host state (27.2.2, 27.2.3) ---- */

/* The lowest bit of a 64-bit fixed-1 MSR that must be 0. */
static uint64_t fixed1_zero_bit(uint32_t msr)
{
	uint64_t f1 = rdmsr(msr);

	return ~f1 & (f1 + 1);
}

static const char *host_cr0_fixed0(void)
{
	bad_andn(HOST_CR0, X86_CR0_NE);
	return rdmsr(MSR_IA32_VMX_CR0_FIXED0) & X86_CR0_NE ? NULL : "CR0.NE is not fixed to 1";
}

static const char *host_cr0_fixed1(void)
{
	bad_or(HOST_CR0, fixed1_zero_bit(MSR_IA32_VMX_CR0_FIXED1));
	return NULL;
}

static const char *host_cr4_fixed0(void)
{
	bad_andn(HOST_CR4, X86_CR4_VMXE);
	return NULL;
}

static const char *host_cr4_fixed1(void)
{
	bad_or(HOST_CR4, fixed1_zero_bit(MSR_IA32_VMX_CR4_FIXED1));
	return NULL;
}

static const char *host_cr3_maxphyaddr(void)
{
	bad_or(HOST_CR3, maxphyaddr_bit());
	return NULL;
}

static const char *host_cs_rpl(void)
{
	bad_or(HOST_CS_SELECTOR, 3);
	return NULL;
}

static const char *host_ss_ti(void)
{
	bad_or(HOST_SS_SELECTOR, 4);
	return NULL;
}

static const char *host_fs_rpl(void)
{
	bad_or(HOST_FS_SELECTOR, 1);
	return NULL;
}

static const char *host_tr_ti(void)
{
	bad_or(HOST_TR_SELECTOR, 4);
	return NULL;
}

static const char *host_cs_null(void)
{
	bad_write(HOST_CS_SELECTOR, 0);
	return NULL;
}

static const char *host_tr_null(void)
{
	bad_write(HOST_TR_SELECTOR, 0);
	return NULL;
}

#define NONCANON_FN(fn, field)							\
static const char *fn(void)							\
{										\
	bad_write(field, NONCANONICAL);						\
	return NULL;								\
}
NONCANON_FN(host_fs_base, HOST_FS_BASE)
NONCANON_FN(host_gs_base, HOST_GS_BASE)
NONCANON_FN(host_gdtr_base, HOST_GDTR_BASE)
NONCANON_FN(host_idtr_base, HOST_IDTR_BASE)
NONCANON_FN(host_tr_base, HOST_TR_BASE)
NONCANON_FN(host_sysenter_esp, HOST_IA32_SYSENTER_ESP)
NONCANON_FN(host_sysenter_eip, HOST_IA32_SYSENTER_EIP)

static const char *host_addr_space_size(void)
{
	bad_andn(VM_EXIT_CONTROLS, VM_EXIT_HOST_ADDR_SPACE_SIZE);
	return NULL;
}

static const char *need_exit_ctl(uint32_t bit)
{
	return vmread(VM_EXIT_CONTROLS) & bit ? NULL : "KVM's nested VMX lacks the VM-exit control";
}

static const char *host_efer_reserved(void)
{
	bad_or(HOST_IA32_EFER, 1u << 2);
	return need_exit_ctl(VM_EXIT_LOAD_IA32_EFER);
}

static const char *host_efer_lma(void)
{
	bad_andn(HOST_IA32_EFER, EFER_LMA);
	return need_exit_ctl(VM_EXIT_LOAD_IA32_EFER);
}

static const char *host_pat(void)
{
	/* Memory type 2 is reserved (SDM vol. 3A 13.12.2). */
	bad_write(HOST_IA32_PAT, (vmread(HOST_IA32_PAT) & ~0xffULL) | 2);
	return need_exit_ctl(VM_EXIT_LOAD_IA32_PAT);
}

#define HOST(n, fn) { .name = n, .apply = fn, .kind = WANT_VMFAIL, .error_or_reason = 8 }

static const struct entry_case host_cases[] = {
	HOST("host CR0.NE (fixed to 1) clear", host_cr0_fixed0),
	HOST("host CR0 bit fixed to 0 set", host_cr0_fixed1),
	HOST("host CR4.VMXE (fixed to 1) clear", host_cr4_fixed0),
	HOST("host CR4 bit fixed to 0 set", host_cr4_fixed1),
	HOST("host CR3 beyond MAXPHYADDR", host_cr3_maxphyaddr),
	HOST("host CS selector RPL 3", host_cs_rpl),
	HOST("host SS selector TI set", host_ss_ti),
	HOST("host FS selector RPL 1", host_fs_rpl),
	HOST("host TR selector TI set", host_tr_ti),
	HOST("host CS selector 0", host_cs_null),
	HOST("host TR selector 0", host_tr_null),
	HOST("host FS base not canonical", host_fs_base),
	HOST("host GS base not canonical", host_gs_base),
	HOST("host GDTR base not canonical", host_gdtr_base),
	HOST("host IDTR base not canonical", host_idtr_base),
	HOST("host TR base not canonical", host_tr_base),
	HOST("host IA32_SYSENTER_ESP not canonical", host_sysenter_esp),
	HOST("host IA32_SYSENTER_EIP not canonical", host_sysenter_eip),
	HOST("host address-space size 0 while IA32_EFER.LMA=1", host_addr_space_size),
	HOST("host IA32_EFER reserved bit 2 set (load IA32_EFER)", host_efer_reserved),
	HOST("host IA32_EFER.LMA != LME (load IA32_EFER)", host_efer_lma),
	HOST("host IA32_PAT with memory type 2 (load IA32_PAT)", host_pat),
};

/* ---- guest state (27.3.1) ---- */

static const char *guest_cr0_ne(void)
{
	bad_andn(GUEST_CR0, X86_CR0_NE);
	return rdmsr(MSR_IA32_VMX_CR0_FIXED0) & X86_CR0_NE ? NULL : "CR0.NE is not fixed to 1";
}

static const char *guest_cr0_fixed1(void)
{
	bad_or(GUEST_CR0, fixed1_zero_bit(MSR_IA32_VMX_CR0_FIXED1));
	return NULL;
}

static const char *guest_cr0_pg_clear(void)
{
	/* Without unrestricted guest PG is fixed to 1 (and IA-32e mode needs it). */
	bad_andn(GUEST_CR0, X86_CR0_PG);
	return NULL;
}

/* Unrestricted guest needs EPT (27.2.1.1): the map built by guest_nested_tdp_enable(). */
static const char *unrestricted_guest(void)
{
	if (!eptp)
		return "no EPT for unrestricted guest";
	if (!((rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32) & SECONDARY_EXEC_UNRESTRICTED_GUEST))
		return "no unrestricted-guest control";
	bad_write(EPT_POINTER, eptp);
	bad_write(SECONDARY_VM_EXEC_CONTROL,
		  SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST);
	bad_or(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY);
	return NULL;
}

static const char *guest_cr0_pg_without_pe_ug(void)
{
	const char *why = unrestricted_guest();

	if (!why)
		bad_andn(GUEST_CR0, X86_CR0_PE);
	return why;
}

static const char *guest_cr4_vmxe(void)
{
	bad_andn(GUEST_CR4, X86_CR4_VMXE);
	return NULL;
}

static const char *guest_cr4_fixed1(void)
{
	bad_or(GUEST_CR4, fixed1_zero_bit(MSR_IA32_VMX_CR4_FIXED1));
	return NULL;
}

static const char *guest_cr4_pae(void)
{
	bad_andn(GUEST_CR4, X86_CR4_PAE);
	return NULL;
}

static const char *need_entry_ctl(uint32_t bit)
{
	return vmread(VM_ENTRY_CONTROLS) & bit ? NULL : "KVM's nested VMX lacks the VM-entry control";
}

static const char *guest_efer_lma(void)
{
	bad_andn(GUEST_IA32_EFER, EFER_LMA);
	return need_entry_ctl(VM_ENTRY_LOAD_IA32_EFER);
}

static const char *guest_efer_reserved(void)
{
	bad_or(GUEST_IA32_EFER, 1u << 2);
	return need_entry_ctl(VM_ENTRY_LOAD_IA32_EFER);
}

static const char *guest_pat(void)
{
	bad_write(GUEST_IA32_PAT, (vmread(GUEST_IA32_PAT) & ~0xffULL) | 2);
	return need_entry_ctl(VM_ENTRY_LOAD_IA32_PAT);
}

#define RFLAGS_FN(fn, value)							\
static const char *fn(void)							\
{										\
	bad_write(GUEST_RFLAGS, value);						\
	return NULL;								\
}
RFLAGS_FN(rflags_bit1_clear, 0)
RFLAGS_FN(rflags_bit3, X86_EFLAGS_FIXED | (1u << 3))
RFLAGS_FN(rflags_bit15, X86_EFLAGS_FIXED | (1u << 15))
RFLAGS_FN(rflags_bit22, X86_EFLAGS_FIXED | (1u << 22))
RFLAGS_FN(rflags_vm, X86_EFLAGS_FIXED | X86_EFLAGS_VM)

/* VMX access rights (24.4.1): type 3:0, DPL 6:5, L 13, D/B 14. */
#define AR_TYPE		0xfull
#define AR_DPL		(3ull << 5)
#define AR_L		(1ull << 13)
#define AR_DB		(1ull << 14)

static const char *cs_data_type(void)
{
	bad_write(GUEST_CS_AR_BYTES, (vmread(GUEST_CS_AR_BYTES) & ~AR_TYPE) | 3);
	return NULL;
}

static const char *cs_l_and_d(void)
{
	bad_or(GUEST_CS_AR_BYTES, AR_L | AR_DB);
	return NULL;
}

static const char *ss_dpl_not_rpl(void)
{
	bad_or(GUEST_SS_AR_BYTES, AR_DPL);
	return NULL;
}

static const char *tr_type_3(void)
{
	bad_write(GUEST_TR_AR_BYTES, (vmread(GUEST_TR_AR_BYTES) & ~AR_TYPE) | 3);
	return NULL;
}

static const char *tr_type_9(void)
{
	bad_write(GUEST_TR_AR_BYTES, (vmread(GUEST_TR_AR_BYTES) & ~AR_TYPE) | 9);
	return NULL;
}

static const char *ldtr_type_3(void)
{
	/* Usable (bit 16 clear), present, system descriptor of type 3, not an LDT. */
	bad_write(GUEST_LDTR_AR_BYTES, 0x83);
	return NULL;
}

static const char *activity_4(void)
{
	bad_write(GUEST_ACTIVITY_STATE, 4);
	return NULL;
}

static const char *intr_state_reserved(void)
{
	bad_write(GUEST_INTERRUPTIBILITY_INFO, 1u << 5);
	return NULL;
}

static const char *intr_state_sti_and_mov_ss(void)
{
	bad_write(GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	bad_write(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	return NULL;
}

static const char *intr_state_sti_without_if(void)
{
	bad_write(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI);
	return NULL;
}

static const char *link_ptr_no_vmcs(void)
{
	/* A zeroed page: its revision identifier (0) is not the VMCS's. */
	bad_write(VMCS_LINK_POINTER, link_page);
	return NULL;
}

static const char *link_ptr_unaligned(void)
{
	bad_write(VMCS_LINK_POINTER, link_page + 0x800);
	return NULL;
}

#define EXIT(n, fn, r, q)							\
	{ .name = n, .apply = fn, .kind = WANT_EXIT, .error_or_reason = r, .qual = q }
#define GUEST(n, fn)	EXIT(n, fn, EXIT_REASON_INVALID_STATE, 0)

static const struct entry_case guest_cases[] = {
	GUEST("guest CR0.NE (fixed to 1) clear", guest_cr0_ne),
	GUEST("guest CR0 bit fixed to 0 set", guest_cr0_fixed1),
	GUEST("guest CR0.PG clear without unrestricted guest", guest_cr0_pg_clear),
	GUEST("guest CR0.PG=1 with PE=0, unrestricted guest", guest_cr0_pg_without_pe_ug),
	GUEST("guest CR4.VMXE (fixed to 1) clear", guest_cr4_vmxe),
	GUEST("guest CR4 bit fixed to 0 set", guest_cr4_fixed1),
	GUEST("guest CR4.PAE clear with IA-32e mode guest", guest_cr4_pae),
	GUEST("guest IA32_EFER.LMA != IA-32e mode guest (load IA32_EFER)", guest_efer_lma),
	GUEST("guest IA32_EFER reserved bit 2 set (load IA32_EFER)", guest_efer_reserved),
	GUEST("guest IA32_PAT with memory type 2 (load IA32_PAT)", guest_pat),
	GUEST("guest RFLAGS bit 1 clear", rflags_bit1_clear),
	GUEST("guest RFLAGS reserved bit 3 set", rflags_bit3),
	GUEST("guest RFLAGS reserved bit 15 set", rflags_bit15),
	GUEST("guest RFLAGS reserved bit 22 set", rflags_bit22),
	GUEST("guest RFLAGS.VM=1 with IA-32e mode guest", rflags_vm),
	GUEST("guest CS type 3 (data)", cs_data_type),
	GUEST("guest CS.L and CS.D both 1 in IA-32e mode", cs_l_and_d),
	GUEST("guest SS.DPL 3 != SS selector RPL 0", ss_dpl_not_rpl),
	GUEST("guest TR type 3 (16-bit busy TSS) in IA-32e mode", tr_type_3),
	GUEST("guest TR type 9 (available TSS)", tr_type_9),
	GUEST("guest LDTR usable with type 3", ldtr_type_3),
	GUEST("guest activity state 4", activity_4),
	GUEST("guest interruptibility reserved bit 5 set", intr_state_reserved),
	GUEST("guest blocking by STI and by MOV SS both set", intr_state_sti_and_mov_ss),
	GUEST("guest blocking by STI with RFLAGS.IF=0", intr_state_sti_without_if),
	EXIT("VMCS link pointer to a page without a VMCS", link_ptr_no_vmcs,
	     EXIT_REASON_INVALID_STATE, VMX_ENTRY_FAIL_VMCS_LINK_PTR),
	EXIT("VMCS link pointer not 4 KiB aligned", link_ptr_unaligned,
	     EXIT_REASON_INVALID_STATE, VMX_ENTRY_FAIL_VMCS_LINK_PTR),
};

/*
 * 27.3.1.5: the activity state may be HLT only without blocking by STI or
 * MOV SS, and with no event injected but an external interrupt, an NMI, a
 * hardware exception with vector 1 or 18, or a pending MTF.  KVM emulates
 * HLT itself (vmcs02 never holds it), so the processor cannot make these
 * checks for it.  The interrupt-window control keeps KVM from halting the
 * vCPU (it would wait for an interrupt nobody sends) when the check fails.
 */
static const char *hlt_with_sti_blocking(void)
{
	if (!(rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_ACTIVITY_HLT))
		return "IA32_VMX_MISC bit 6: no HLT activity state";
	bad_write(GUEST_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF);
	bad_or(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING);
	bad_write(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI);
	bad_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	return NULL;
}

static const char *hlt_with_ud_injected(void)
{
	if (!(rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_ACTIVITY_HLT))
		return "IA32_VMX_MISC bit 6: no HLT activity state";
	bad_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	return inject(VMX_INTR_TYPE_HARD_EXCEPTION | UD_VECTOR, 0, 0);
}

/* Last: where KVM lets it through, L2 takes the #UD and the test ends there. */
static const struct entry_case hlt_cases[] = {
	GUEST("activity HLT with blocking by STI", hlt_with_sti_blocking),
	GUEST("activity HLT with a #UD injected", hlt_with_ud_injected),
};

/* ---- VM-entry MSR loading (27.4) ---- */

/* One entry of an MSR-load area (24.8.2): index, reserved (must be 0), value. */
struct msr_entry {
	uint32_t index, reserved;
	uint64_t value;
};

/* Load count entries from msr_page: valid loads of IA32_SYSENTER_CS, then the bad one. */
static const char *msr_load(uint32_t count, uint32_t index, uint32_t reserved)
{
	struct msr_entry *e = (struct msr_entry *)(uintptr_t)msr_page;

	for (uint32_t i = 0; i + 1 < count; i++)
		e[i] = (struct msr_entry){ MSR_IA32_SYSENTER_CS, 0, 0 };
	e[count - 1] = (struct msr_entry){ index, reserved, 0 };
	bad_write(VM_ENTRY_MSR_LOAD_ADDR, msr_page);
	bad_write(VM_ENTRY_MSR_LOAD_COUNT, count);
	return NULL;
}

#define MSR_IA32_SMM_MONITOR_CTL	0x9b
#define MSR_IA32_UCODE_WRITE		0x79

static const char *msr_load_fs_base(void)
{
	return msr_load(2, MSR_FS_BASE, 0);
}

static const char *msr_load_gs_base(void)
{
	return msr_load(3, MSR_FS_BASE + 1, 0);
}

static const char *msr_load_smm_monitor(void)
{
	return msr_load(1, MSR_IA32_SMM_MONITOR_CTL, 0);
}

static const char *msr_load_ucode_write(void)
{
	return msr_load(2, MSR_IA32_UCODE_WRITE, 0);
}

static const char *msr_load_reserved(void)
{
	return msr_load(2, MSR_IA32_SYSENTER_CS, 1);
}

/*
 * 27.4: an entry fails to load if it names IA32_FS_BASE or IA32_GS_BASE, an
 * x2APIC MSR in x2APIC mode (not here: L1 uses the xAPIC), an MSR writable
 * only in SMM (IA32_SMM_MONITOR_CTL), one that cannot be loaded for
 * model-specific reasons (vol. 4 chapter 2: the microcode-update trigger,
 * 79H, as KVM implements it), or if its bits 63:32 are not 0.
 */
static const struct entry_case msr_load_cases[] = {
	EXIT("entry 2 loads IA32_FS_BASE", msr_load_fs_base,
	     EXIT_REASON_MSR_LOAD_FAIL, 2),
	EXIT("entry 3 loads IA32_GS_BASE", msr_load_gs_base,
	     EXIT_REASON_MSR_LOAD_FAIL, 3),
	EXIT("entry 1 loads IA32_SMM_MONITOR_CTL", msr_load_smm_monitor,
	     EXIT_REASON_MSR_LOAD_FAIL, 1),
	EXIT("entry 2 loads the microcode-update trigger (79H)", msr_load_ucode_write,
	     EXIT_REASON_MSR_LOAD_FAIL, 2),
	EXIT("entry 2 with reserved bits 63:32 set", msr_load_reserved,
	     EXIT_REASON_MSR_LOAD_FAIL, 2),
};

/* ---- the runner ---- */

static void l2_vmcall(void)
{
	for (;;)
		asm volatile("vmcall" ::: "memory");
}

static const char *outcome_str(enum vmx_status s, uint32_t reason, char *buf, size_t len)
{
	char b[120];

	if (s == VMX_FAIL_VALID) {
		uint64_t err = vmread(VM_INSTRUCTION_ERROR);

		guest_snprintf(buf, len, "VMfailValid, error %lu (%s)", err,
			       vmx_insn_error_name(err));
	} else if (s != VMX_OK) {
		guest_snprintf(buf, len, "%s", vmx_status_name(s));
	} else {
		/* vmx_exit_str() adds the qualification of ordinary exits only. */
		uint64_t qual = vmread(EXIT_QUALIFICATION);

		vmx_exit_str(reason, qual, b, sizeof(b));
		if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY)
			guest_snprintf(buf, len, "exit %s, qualification %lu", b, qual);
		else
			guest_snprintf(buf, len, "exit %s", b);
	}
	return buf;
}

static unsigned int skipped;

/* One row; returns false (after printing why) if VMX did not do what the SDM says. */
static bool run_case(struct nested_pages *p, const struct entry_case *c)
{
	struct vmx_gprs regs = { 0 };
	enum vmx_status s;
	uint32_t reason;
	const char *why;
	bool ok;
	char b[200];

	vmx_init_vmcs(&p->vmx, l2_vmcall, p->l2_stack_top);
	nr_undo = 0;
	why = c->apply();
	if (why) {
		GUEST_PRINTF("SKIP %s: %s", c->name, why);
		skipped++;
		undo_writes();
		return true;
	}

	reason = vmx_run(false, &regs, &s);
	if (c->kind == WANT_VMFAIL)
		ok = s == VMX_FAIL_VALID && vmread(VM_INSTRUCTION_ERROR) == c->error_or_reason;
	else
		ok = s == VMX_OK &&
		     reason == (VMX_EXIT_REASONS_FAILED_VMENTRY | c->error_or_reason) &&
		     vmread(EXIT_QUALIFICATION) == c->qual;
	if (!ok) {
		if (c->kind == WANT_VMFAIL)
			GUEST_PRINTF("FAIL %s: %s, expected VMfailValid with error %u (%s)",
				     c->name, outcome_str(s, reason, b, sizeof(b)),
				     c->error_or_reason, vmx_insn_error_name(c->error_or_reason));
		else
			GUEST_PRINTF("FAIL %s: %s, expected VM-entry failure exit %u, "
				     "qualification %lu", c->name,
				     outcome_str(s, reason, b, sizeof(b)), c->error_or_reason,
				     c->qual);
		/* The bad VMCS ran L2: it is launched now, so no second VMLAUNCH. */
		if (s == VMX_OK && !(reason & VMX_EXIT_REASONS_FAILED_VMENTRY))
			return false;
	}

	/* Undone, the same (still clear) VMCS must enter and reach L2's VMCALL. */
	undo_writes();
	reason = vmx_run(false, &regs, &s);
	if (s != VMX_OK || reason != EXIT_REASON_VMCALL) {
		GUEST_PRINTF("FAIL %s: after undoing it, VMLAUNCH of the good VMCS: %s, "
			     "expected exit VMCALL", c->name,
			     outcome_str(s, reason, b, sizeof(b)));
		return false;
	}
	return ok;
}

static void run_table(struct nested_pages *p, const struct entry_case *cases, unsigned int nr)
{
	unsigned int failed = 0;

	guest_nested_init(&n, p, l2_vmcall);
	msr_page = guest_nested_alloc_page(&n);
	link_page = guest_nested_alloc_page(&n);
	if (!guest_nested_tdp_unsupported()) {
		guest_nested_tdp_enable(&n);
		eptp = vmread(EPT_POINTER);
	}
	for (unsigned int i = 0; i < nr; i++)
		failed += !run_case(p, &cases[i]);
	GUEST_PRINTF("%u rows: %u failed, %u not applicable here", nr, failed, skipped);
	__GUEST_ASSERT(!failed, "%u of %u rows failed (listed above)", failed, nr);
	GUEST_DONE();
}

static void l1_controls(struct nested_pages *p)
{
	run_table(p, control_cases, ARRAY_SIZE(control_cases));
}

static void l1_host_state(struct nested_pages *p)
{
	run_table(p, host_cases, ARRAY_SIZE(host_cases));
}

static void l1_guest_state(struct nested_pages *p)
{
	run_table(p, guest_cases, ARRAY_SIZE(guest_cases));
}

static void l1_hlt(struct nested_pages *p)
{
	run_table(p, hlt_cases, ARRAY_SIZE(hlt_cases));
}

static void l1_msr_load(struct nested_pages *p)
{
	run_table(p, msr_load_cases, ARRAY_SIZE(msr_load_cases));
}

VMX_TEST(entry_control_checks, l1_controls)
VMX_TEST(entry_host_state_checks, l1_host_state)
VMX_TEST(entry_guest_state_checks, l1_guest_state)
VMX_TEST(entry_msr_load_checks, l1_msr_load)
VMX_TEST(entry_hlt_activity_checks, l1_hlt)

TEST_HARNESS_MAIN
