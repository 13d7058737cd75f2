/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * LTP's Intel VMX helpers for LTP-form payloads (kvm_test.h), on the
 * suite's VMX library (guest/vmx.h, guest_lib/vmx.c); guest_lib/tst_vmx.c.
 *
 * The constants are LTP's names for the suite's one name of each value
 * (x86/vmx.h: VMCS encodings of SDM vol. 3C appendix B, controls of
 * 24.6-24.8, exit reasons of appendix C;
 * x86/msr.h: the capability MSRs of appendix A), kept so that LTP's tests
 * build unmodified; suite code uses the suite's names.
 *
 * A vCPU from kvm_create_vmx_vcpu(guest_main, 1) is L1's own state (its
 * segments, GDT, IDT, CR0/CR3/CR4, EFER, PAT) entering tst_l2_entry on an
 * 8 KiB stack with guest_main in RAX: L2 calls guest_main() and executes
 * HLT (HLT exiting is set) with its return value in RAX, so
 * kvm_vmx_vmrun() comes back with exit reason VMX_EXIT_HLT and
 * cpu->regs.rax the value.  The controls are the capability MSRs' allowed-0
 * settings plus HLT exiting, I/O and MSR bitmaps (empty: no I/O or MSR
 * exits), IA-32e mode guest, host address-space size and EFER/PAT
 * load/save; the rest is the test's to change.  kvm_vmx_vmread(),
 * kvm_vmx_vmwrite(), kvm_vmx_vmclear() and kvm_vmx_vmptrld() end the run
 * with TBROK naming the VM-instruction error when the instruction fails;
 * kvm_vmx_vmrun() does the same for a failed VMLAUNCH/VMRESUME or VM entry.
 */
#ifndef KVM_SUITE_KVM_X86_VMX_H
#define KVM_SUITE_KVM_X86_VMX_H

#include "guest/vmx.h"
#include "kvm_x86.h"

/* CPUID.1:ECX (SDM vol. 2A, table 3-10). */
#define CPUID_MODEL_VMX			(1 << 5)
#define CPUID_MODEL_SMX			(1 << 6)

/* Capability MSRs (appendix A); the *_MASK2 ones are the TRUE_* MSRs. */
#define MSR_IA32_VMX_PINX_MASK		MSR_IA32_VMX_PINBASED_CTLS
#define MSR_IA32_VMX_EXECCTL_MASK	MSR_IA32_VMX_PROCBASED_CTLS
#define MSR_IA32_VMX_EXITCTL_MASK	MSR_IA32_VMX_EXIT_CTLS
#define MSR_IA32_VMX_ENTRYCTL_MASK	MSR_IA32_VMX_ENTRY_CTLS
#define MSR_IA32_VMX_EXECCTL2_MASK	MSR_IA32_VMX_PROCBASED_CTLS2
#define MSR_IA32_VMX_PINX_MASK2		MSR_IA32_VMX_TRUE_PINBASED
#define MSR_IA32_VMX_EXECCTL_MASK2	MSR_IA32_VMX_TRUE_PROCBASED
#define MSR_IA32_VMX_EXITCTL_MASK2	MSR_IA32_VMX_TRUE_EXIT
#define MSR_IA32_VMX_ENTRYCTL_MASK2	MSR_IA32_VMX_TRUE_ENTRY
#define MSR_IA32_VMX_EXECCTL3_MASK	MSR_IA32_VMX_PROCBASED_CTLS3

/* kvm_vmx_read_vmctl_mask() ids. */
#define VMX_CTLMASK_PINX		0
#define VMX_CTLMASK_EXECCTL		1
#define VMX_CTLMASK_EXECCTL2		2
#define VMX_CTLMASK_EXECCTL3		3
#define VMX_CTLMASK_EXITCTL		4
#define VMX_CTLMASK_ENTRYCTL		5
#define VMX_CTLMASK_MAX			6

/* IA32_FEATURE_CONTROL (SDM vol. 4, table 2-2). */
#define IA32FC_LOCK			FEAT_CTL_LOCK
#define IA32FC_VMXON_SMX		FEAT_CTL_VMX_INSIDE_SMX
#define IA32FC_VMXON_NORMAL		FEAT_CTL_VMX_OUTSIDE_SMX

#define IA32_VMXBASIC_USELESS_CTL_MASKS	VMX_BASIC_TRUE_CTLS

/* VMCS field encodings (appendix B). */
#define VMX_VMCS_GUEST_ES		GUEST_ES_SELECTOR
#define VMX_VMCS_GUEST_CS		GUEST_CS_SELECTOR
#define VMX_VMCS_GUEST_SS		GUEST_SS_SELECTOR
#define VMX_VMCS_GUEST_DS		GUEST_DS_SELECTOR
#define VMX_VMCS_GUEST_FS		GUEST_FS_SELECTOR
#define VMX_VMCS_GUEST_GS		GUEST_GS_SELECTOR
#define VMX_VMCS_GUEST_LDTR		GUEST_LDTR_SELECTOR
#define VMX_VMCS_GUEST_TR		GUEST_TR_SELECTOR
#define VMX_VMCS_GUEST_INTR		GUEST_INTR_STATUS
#define VMX_VMCS_HOST_ES		HOST_ES_SELECTOR
#define VMX_VMCS_HOST_CS		HOST_CS_SELECTOR
#define VMX_VMCS_HOST_SS		HOST_SS_SELECTOR
#define VMX_VMCS_HOST_DS		HOST_DS_SELECTOR
#define VMX_VMCS_HOST_FS		HOST_FS_SELECTOR
#define VMX_VMCS_HOST_GS		HOST_GS_SELECTOR
#define VMX_VMCS_HOST_TR		HOST_TR_SELECTOR

#define VMX_VMCS_MSR_BITMAP_POINTER	MSR_BITMAP
#define VMX_VMCS_VIRT_APIC_POINTER	VIRTUAL_APIC_PAGE_ADDR
#define VMX_VMCS_VIRT_APIC_BASE		APIC_ACCESS_ADDR
#define VMX_VMCS_LINK_POINTER		VMCS_LINK_POINTER

#define VMX_VMCS_GUEST_ES_LIMIT		GUEST_ES_LIMIT
#define VMX_VMCS_GUEST_CS_LIMIT		GUEST_CS_LIMIT
#define VMX_VMCS_GUEST_SS_LIMIT		GUEST_SS_LIMIT
#define VMX_VMCS_GUEST_DS_LIMIT		GUEST_DS_LIMIT
#define VMX_VMCS_GUEST_FS_LIMIT		GUEST_FS_LIMIT
#define VMX_VMCS_GUEST_GS_LIMIT		GUEST_GS_LIMIT
#define VMX_VMCS_GUEST_LDTR_LIMIT	GUEST_LDTR_LIMIT
#define VMX_VMCS_GUEST_TR_LIMIT		GUEST_TR_LIMIT
#define VMX_VMCS_GUEST_GDTR_LIMIT	GUEST_GDTR_LIMIT
#define VMX_VMCS_GUEST_IDTR_LIMIT	GUEST_IDTR_LIMIT
#define VMX_VMCS_GUEST_ES_ACCESS	GUEST_ES_AR_BYTES
#define VMX_VMCS_GUEST_CS_ACCESS	GUEST_CS_AR_BYTES
#define VMX_VMCS_GUEST_SS_ACCESS	GUEST_SS_AR_BYTES
#define VMX_VMCS_GUEST_DS_ACCESS	GUEST_DS_AR_BYTES
#define VMX_VMCS_GUEST_FS_ACCESS	GUEST_FS_AR_BYTES
#define VMX_VMCS_GUEST_GS_ACCESS	GUEST_GS_AR_BYTES
#define VMX_VMCS_GUEST_LDTR_ACCESS	GUEST_LDTR_AR_BYTES
#define VMX_VMCS_GUEST_TR_ACCESS	GUEST_TR_AR_BYTES
#define VMX_VMCS_GUEST_INTR_STATE	GUEST_INTERRUPTIBILITY_INFO
#define VMX_VMCS_GUEST_ACT_STATE	GUEST_ACTIVITY_STATE
#define VMX_VMCS_GUEST_SMBASE		GUEST_SMBASE
#define VMX_VMCS_GUEST_SYSENTER_CS	GUEST_SYSENTER_CS
#define VMX_VMCS_HOST_SYSENTER_CS	HOST_IA32_SYSENTER_CS

#define VMX_VMCS_GUEST_CR0		GUEST_CR0
#define VMX_VMCS_GUEST_CR3		GUEST_CR3
#define VMX_VMCS_GUEST_CR4		GUEST_CR4
#define VMX_VMCS_GUEST_ES_BASE		GUEST_ES_BASE
#define VMX_VMCS_GUEST_CS_BASE		GUEST_CS_BASE
#define VMX_VMCS_GUEST_SS_BASE		GUEST_SS_BASE
#define VMX_VMCS_GUEST_DS_BASE		GUEST_DS_BASE
#define VMX_VMCS_GUEST_FS_BASE		GUEST_FS_BASE
#define VMX_VMCS_GUEST_GS_BASE		GUEST_GS_BASE
#define VMX_VMCS_GUEST_LDTR_BASE	GUEST_LDTR_BASE
#define VMX_VMCS_GUEST_TR_BASE		GUEST_TR_BASE
#define VMX_VMCS_GUEST_GDTR_BASE	GUEST_GDTR_BASE
#define VMX_VMCS_GUEST_IDTR_BASE	GUEST_IDTR_BASE
#define VMX_VMCS_GUEST_DR7		GUEST_DR7
#define VMX_VMCS_GUEST_RSP		GUEST_RSP
#define VMX_VMCS_GUEST_RIP		GUEST_RIP
#define VMX_VMCS_GUEST_RFLAGS		GUEST_RFLAGS
#define VMX_VMCS_GUEST_DEBUG_EXC	GUEST_PENDING_DBG_EXCEPTIONS
#define VMX_VMCS_GUEST_SYSENTER_ESP	GUEST_SYSENTER_ESP
#define VMX_VMCS_GUEST_SYSENTER_EIP	GUEST_SYSENTER_EIP
#define VMX_VMCS_HOST_CR0		HOST_CR0
#define VMX_VMCS_HOST_CR3		HOST_CR3
#define VMX_VMCS_HOST_CR4		HOST_CR4
#define VMX_VMCS_HOST_FS_BASE		HOST_FS_BASE
#define VMX_VMCS_HOST_GS_BASE		HOST_GS_BASE
#define VMX_VMCS_HOST_TR_BASE		HOST_TR_BASE
#define VMX_VMCS_HOST_GDTR_BASE		HOST_GDTR_BASE
#define VMX_VMCS_HOST_IDTR_BASE		HOST_IDTR_BASE
#define VMX_VMCS_HOST_SYSENTER_ESP	HOST_IA32_SYSENTER_ESP
#define VMX_VMCS_HOST_SYSENTER_EIP	HOST_IA32_SYSENTER_EIP
#define VMX_VMCS_HOST_RSP		HOST_RSP
#define VMX_VMCS_HOST_RIP		HOST_RIP

#define VMX_VMCS_VMPINX_CTL		PIN_BASED_VM_EXEC_CONTROL
#define VMX_VMCS_VMEXEC_CTL		CPU_BASED_VM_EXEC_CONTROL
#define VMX_VMCS_VMEXIT_CTL		VM_EXIT_CONTROLS
#define VMX_VMCS_VMEXIT_MSR_STORE	VM_EXIT_MSR_STORE_COUNT
#define VMX_VMCS_VMEXIT_MSR_LOAD	VM_EXIT_MSR_LOAD_COUNT
#define VMX_VMCS_VMENTRY_CTL		VM_ENTRY_CONTROLS
#define VMX_VMCS_VMENTRY_MSR_LOAD	VM_ENTRY_MSR_LOAD_COUNT
#define VMX_VMCS_VMENTRY_INTR		VM_ENTRY_INTR_INFO_FIELD
#define VMX_VMCS_VMENTRY_EXC		VM_ENTRY_EXCEPTION_ERROR_CODE
#define VMX_VMCS_VMENTRY_INST_LEN	VM_ENTRY_INSTRUCTION_LEN
#define VMX_VMCS_VMEXEC_CTL2		SECONDARY_VM_EXEC_CONTROL

#define VMX_VMCS_VMINST_ERROR		VM_INSTRUCTION_ERROR
#define VMX_VMCS_EXIT_REASON		VM_EXIT_REASON
#define VMX_VMCS_VMEXIT_INTR_INFO	VM_EXIT_INTR_INFO
#define VMX_VMCS_VMEXIT_INTR_ERRNO	VM_EXIT_INTR_ERROR_CODE
#define VMX_VMCS_IDTVEC_INFO		IDT_VECTORING_INFO_FIELD
#define VMX_VMCS_IDTVEC_ERRNO		IDT_VECTORING_ERROR_CODE
#define VMX_VMCS_VMEXIT_INST_LEN	VM_EXIT_INSTRUCTION_LEN
#define VMX_VMCS_VMEXIT_INST_INFO	VMX_INSTRUCTION_INFO
#define VMX_VMCS_EXIT_QUALIFICATION	EXIT_QUALIFICATION

/* Controls. */
#define VMX_INTERCEPT_HLT		CPU_BASED_HLT_EXITING
#define VMX_EXECCTL_TPR_SHADOW		CPU_BASED_TPR_SHADOW
#define VMX_EXECCTL_MSR_BITMAP		CPU_BASED_USE_MSR_BITMAPS
#define VMX_EXECCTL_ENABLE_CTL2		CPU_BASED_ACTIVATE_SECONDARY

#define VMX_EXECCTL2_VIRT_APIC		SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES
#define VMX_EXECCTL2_VIRT_X2APIC	SECONDARY_EXEC_VIRTUALIZE_X2APIC
#define VMX_EXECCTL2_VIRT_APIC_REG	SECONDARY_EXEC_APIC_REGISTER_VIRT
#define VMX_EXECCTL2_VIRT_INTR		SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY
#define VMX_EXECCTL2_SHADOW_VMCS	SECONDARY_EXEC_SHADOW_VMCS

#define VMX_EXITCTL_SAVE_DR		VM_EXIT_SAVE_DEBUG_CONTROLS
#define VMX_EXITCTL_X64			VM_EXIT_HOST_ADDR_SPACE_SIZE

#define VMX_ENTRYCTL_LOAD_DR		VM_ENTRY_LOAD_DEBUG_CONTROLS
#define VMX_ENTRYCTL_X64		VM_ENTRY_IA32E_MODE

/* VMCS revision word (A.1, 24.2), encoding width bits (B.1). */
#define VMX_SHADOW_VMCS			VMCS_SHADOW_INDICATOR
#define VMX_VMCSFIELD_64BIT		0x2000
#define VMX_VMCSFIELD_SIZE_MASK		0x6000

#define VMX_INVALID_VMCS		0xffffffffffffffffULL

/* Exit reasons (appendix C). */
#define VMX_EXIT_HLT			EXIT_REASON_HLT
#define VMX_EXIT_RDMSR			EXIT_REASON_MSR_READ
#define VMX_EXIT_FAILED_ENTRY		VMX_EXIT_REASONS_FAILED_VMENTRY

/* A VMCS region (24.2): revision identifier (bit 31: shadow), abort indicator, data. */
struct kvm_vmcs {
	uint32_t version;
	uint32_t abort;
	uint8_t data[4088];
};

_Static_assert(sizeof(struct kvm_vmcs) == 4096, "a VMCS region is one page");

struct kvm_vmx_vcpu {
	struct kvm_vmcs *vmcs;
	struct kvm_regs64 regs;
	int launched;
};

/* CPUID says VMX (CPUID.1:ECX[5]). */
int kvm_is_vmx_supported(void);
/*
 * enabled: TCONF without VMX; else IA32_FEATURE_CONTROL (lock, VMXON
 * outside SMX), the CR0/CR4 fixed bits and CR4.VMXE, and VMXON.
 * !enabled: VMXOFF.
 */
void kvm_set_vmx_state(int enabled);
/* A zeroed, page-aligned VMCS region with the revision identifier of IA32_VMX_BASIC. */
struct kvm_vmcs *kvm_alloc_vmcs(void);
/* GDT entry gdt_id into the four given fields of the current VMCS. */
void kvm_vmcs_copy_gdt_descriptor(unsigned int gdt_id, unsigned long vmcs_selector,
				  unsigned long vmcs_flags, unsigned long vmcs_limit,
				  unsigned long vmcs_baseaddr);
/* The capability MSR of control ctl_id (VMX_CTLMASK_*), its TRUE_* one where it exists. */
uint64_t kvm_vmx_read_vmctl_mask(unsigned int ctl_id);
/*
 * Fill cpu->vmcs (VMCLEAR first) to run guest_main on rsp with SS from GDT
 * entry ss (an index); cpu->regs zeroed but RAX, launched = 0; the
 * current VMCS stays current.
 */
void kvm_init_vmx_vcpu(struct kvm_vmx_vcpu *cpu, uint16_t ss, void *rsp,
		       int (*guest_main)(void));
/* A vCPU running guest_main (see above); alloc_stack: give it an 8 KiB stack. */
struct kvm_vmx_vcpu *kvm_create_vmx_vcpu(int (*guest_main)(void), int alloc_stack);

/* VMPTRLD cpu->vmcs and write the host-state fields from L1's state now. */
void kvm_vmx_activate_vcpu(struct kvm_vmx_vcpu *cpu);
/* Activate, VMLAUNCH or VMRESUME with cpu->regs until the next VM exit. */
void kvm_vmx_vmrun(struct kvm_vmx_vcpu *cpu);

void kvm_vmx_vmclear(struct kvm_vmcs *buf);
void kvm_vmx_vmptrld(struct kvm_vmcs *buf);
uint64_t kvm_vmx_vmptrst(void);
uint64_t kvm_vmx_vmread(unsigned long var_id);
void kvm_vmx_vmwrite(unsigned long var_id, uint64_t value);
/* VMLAUNCH / VMRESUME of the current VMCS with buf->regs; non-zero if the instruction failed. */
int kvm_vmx_vmlaunch(struct kvm_vmx_vcpu *buf);
int kvm_vmx_vmresume(struct kvm_vmx_vcpu *buf);

/* VM_INSTRUCTION_ERROR of the current VMCS, -1 without one. */
int kvm_vmx_inst_errno(void);
/* The name of VM-instruction error vmx_errno (30.4). */
const char *kvm_vmx_inst_strerr(int vmx_errno);
/* The name of the current VMCS's VM-instruction error. */
const char *kvm_vmx_inst_err(void);

#endif /* KVM_SUITE_KVM_X86_VMX_H */
