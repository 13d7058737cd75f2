/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Intel VMX encodings shared by host and guest (SDM vol. 3C chapters 24-28
 * and 31, appendix A for the capability MSRs, in x86/msr.h, and B for the
 * VMCS field encodings): VMCS fields, controls, exit reasons, the pages
 * the host hands to L1.  The L1 API (guest_lib/vmx.c) is guest/vmx.h;
 * guest/nested.h is the vendor-neutral layer.
 */
#ifndef KVM_SUITE_X86_VMX_H
#define KVM_SUITE_X86_VMX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "x86/processor.h"

#define VMX_BASIC_REVISION(b)		((uint32_t)(b) & 0x7fffffff)
/* IA32_VMX_MISC bit 29: VMWRITE may write the VM-exit information fields (A.6). */
#define VMX_MISC_VMWRITE_ANY_FIELD	(1ULL << 29)
/* IA32_VMX_EPT_VPID_CAP (appendix A.10) */
#define VMX_EPT_CAP_WALK_4		(1ULL << 6)	/* page-walk length 4 */
#define VMX_EPT_CAP_WB			(1ULL << 14)	/* WB paging structures */
#define VMX_EPT_CAP_2M			(1ULL << 16)	/* EPT PDE may map 2 MiB */
#define VMX_EPT_CAP_INVEPT		(1ULL << 20)
#define VMX_EPT_CAP_INVEPT_SINGLE	(1ULL << 25)
#define VMX_EPT_CAP_INVEPT_ALL		(1ULL << 26)
/* EPT paging-structure entries (28.2.2; numbering of the SDM editions this file cites) */
#define EPT_R				(1ULL << 0)
#define EPT_W				(1ULL << 1)
#define EPT_X				(1ULL << 2)
#define EPT_RWX				(EPT_R | EPT_W | EPT_X)
#define EPT_MT_WB			(6ULL << 3)	/* leaf memory type, bits 5:3 */
#define EPT_PS				(1ULL << 7)	/* PDE maps a 2 MiB page */
/* EPTP (24.6.11): memory type 2:0 (6 = WB), page-walk length - 1 in 5:3 */
#define EPTP_WB_4LEVEL			(6ULL | (3ULL << 3))
#define VMX_BASIC_INOUT			(1ULL << 54)	/* INS/OUTS instruction information */
#define VMX_BASIC_TRUE_CTLS		(1ULL << 55)

/* ---- EPT and VPID (vmx_ept_test): SDM vol. 3C 29.3, 29.4.3, appendix A.10 ---- */
#define VMX_EPT_CAP_EXEC_ONLY		(1ULL << 0)	/* execute-only leaves (XWR = 100) */
#define VMX_EPT_CAP_1G			(1ULL << 17)	/* EPT PDPTE may map 1 GiB */
#define VMX_EPT_CAP_AD			(1ULL << 21)	/* accessed and dirty flags */
#define VMX_VPID_CAP_INVVPID		(1ULL << 32)
#define VMX_VPID_CAP_INDIVIDUAL		(1ULL << 40)	/* INVVPID type 0 */
#define VMX_VPID_CAP_SINGLE		(1ULL << 41)	/* type 1 */
#define VMX_VPID_CAP_ALL		(1ULL << 42)	/* type 2 */
#define VMX_VPID_CAP_SINGLE_GLOBALS	(1ULL << 43)	/* type 3: keeps global translations */
#define EPT_ACCESSED			(1ULL << 8)	/* with EPTP_AD */
#define EPT_DIRTY			(1ULL << 9)	/* leaves only */
#define EPTP_AD				(1ULL << 6)	/* enable EPT A/D flags */
/* INVEPT (type 1, 2) and INVVPID (type 0-3) operand types (31.3) */
#define INVEPT_SINGLE			1
#define INVEPT_ALL			2
#define INVVPID_ADDR			0
#define INVVPID_SINGLE			1
#define INVVPID_ALL			2
#define INVVPID_SINGLE_GLOBALS		3
#define SECONDARY_EXEC_ENABLE_VPID	(1u << 5)
/* EPT-violation exit qualification (28.2.1, table 28-7), as struct vmx_qual_ept decodes it */
#define EPT_VQ_READ			(1ULL << 0)
#define EPT_VQ_WRITE			(1ULL << 1)
#define EPT_VQ_FETCH			(1ULL << 2)
#define EPT_VQ_R			(1ULL << 3)	/* the entries' AND of R (bit 0) */
#define EPT_VQ_W			(1ULL << 4)
#define EPT_VQ_X			(1ULL << 5)
#define EPT_VQ_GLA_VALID		(1ULL << 7)
#define EPT_VQ_FINAL			(1ULL << 8)	/* translation of the GLA, not a walk */
/* VM-instruction errors (31.4) */
#define VMXERR_ENTRY_CONTROLS		7
#define VMXERR_INVEPT_INVVPID		28
/* ---- end of EPT and VPID ---- */

/* VMCS field encodings (appendix B) */
enum vmcs_field {
	VIRTUAL_PROCESSOR_ID = 0x0000,
	GUEST_ES_SELECTOR = 0x0800, GUEST_CS_SELECTOR = 0x0802, GUEST_SS_SELECTOR = 0x0804,
	GUEST_DS_SELECTOR = 0x0806, GUEST_FS_SELECTOR = 0x0808, GUEST_GS_SELECTOR = 0x080a,
	GUEST_LDTR_SELECTOR = 0x080c, GUEST_TR_SELECTOR = 0x080e,
	HOST_ES_SELECTOR = 0x0c00, HOST_CS_SELECTOR = 0x0c02, HOST_SS_SELECTOR = 0x0c04,
	HOST_DS_SELECTOR = 0x0c06, HOST_FS_SELECTOR = 0x0c08, HOST_GS_SELECTOR = 0x0c0a,
	HOST_TR_SELECTOR = 0x0c0c, GUEST_INTR_STATUS = 0x0810,
	IO_BITMAP_A = 0x2000, IO_BITMAP_B = 0x2002, MSR_BITMAP = 0x2004,
	VM_EXIT_MSR_STORE_ADDR = 0x2006, VM_EXIT_MSR_LOAD_ADDR = 0x2008,
	VM_ENTRY_MSR_LOAD_ADDR = 0x200a, VIRTUAL_APIC_PAGE_ADDR = 0x2012,
	TSC_OFFSET = 0x2010, EPT_POINTER = 0x201a,
	GUEST_PHYSICAL_ADDRESS = 0x2400,
	VMCS_LINK_POINTER = 0x2800, GUEST_IA32_DEBUGCTL = 0x2802, GUEST_IA32_PAT = 0x2804,
	GUEST_IA32_EFER = 0x2806,
	HOST_IA32_PAT = 0x2c00, HOST_IA32_EFER = 0x2c02,
	PIN_BASED_VM_EXEC_CONTROL = 0x4000, CPU_BASED_VM_EXEC_CONTROL = 0x4002,
	EXCEPTION_BITMAP = 0x4004, PAGE_FAULT_ERROR_CODE_MASK = 0x4006,
	PAGE_FAULT_ERROR_CODE_MATCH = 0x4008, CR3_TARGET_COUNT = 0x400a, VM_EXIT_CONTROLS = 0x400c,
	VM_EXIT_MSR_STORE_COUNT = 0x400e, VM_EXIT_MSR_LOAD_COUNT = 0x4010,
	VM_ENTRY_CONTROLS = 0x4012, VM_ENTRY_MSR_LOAD_COUNT = 0x4014,
	VM_ENTRY_INTR_INFO_FIELD = 0x4016, VM_ENTRY_EXCEPTION_ERROR_CODE = 0x4018,
	VM_ENTRY_INSTRUCTION_LEN = 0x401a, SECONDARY_VM_EXEC_CONTROL = 0x401e,
	VM_INSTRUCTION_ERROR = 0x4400, VM_EXIT_REASON = 0x4402, VM_EXIT_INTR_INFO = 0x4404,
	VM_EXIT_INTR_ERROR_CODE = 0x4406, IDT_VECTORING_INFO_FIELD = 0x4408,
	IDT_VECTORING_ERROR_CODE = 0x440a, VM_EXIT_INSTRUCTION_LEN = 0x440c,
	VMX_INSTRUCTION_INFO = 0x440e,
	GUEST_ES_LIMIT = 0x4800, GUEST_CS_LIMIT = 0x4802, GUEST_SS_LIMIT = 0x4804,
	GUEST_DS_LIMIT = 0x4806, GUEST_FS_LIMIT = 0x4808, GUEST_GS_LIMIT = 0x480a,
	GUEST_LDTR_LIMIT = 0x480c, GUEST_TR_LIMIT = 0x480e, GUEST_GDTR_LIMIT = 0x4810,
	GUEST_IDTR_LIMIT = 0x4812,
	GUEST_ES_AR_BYTES = 0x4814, GUEST_CS_AR_BYTES = 0x4816, GUEST_SS_AR_BYTES = 0x4818,
	GUEST_DS_AR_BYTES = 0x481a, GUEST_FS_AR_BYTES = 0x481c, GUEST_GS_AR_BYTES = 0x481e,
	GUEST_LDTR_AR_BYTES = 0x4820, GUEST_TR_AR_BYTES = 0x4822,
	GUEST_INTERRUPTIBILITY_INFO = 0x4824, GUEST_ACTIVITY_STATE = 0x4826,
	GUEST_SMBASE = 0x4828, GUEST_SYSENTER_CS = 0x482a, VMX_PREEMPTION_TIMER_VALUE = 0x482e,
	HOST_IA32_SYSENTER_CS = 0x4c00,
	CR0_GUEST_HOST_MASK = 0x6000, CR4_GUEST_HOST_MASK = 0x6002,
	CR0_READ_SHADOW = 0x6004, CR4_READ_SHADOW = 0x6006, CR3_TARGET_VALUE0 = 0x6008,
	EXIT_QUALIFICATION = 0x6400, GUEST_LINEAR_ADDRESS = 0x640a,
	GUEST_CR0 = 0x6800, GUEST_CR3 = 0x6802, GUEST_CR4 = 0x6804,
	GUEST_ES_BASE = 0x6806, GUEST_CS_BASE = 0x6808, GUEST_SS_BASE = 0x680a,
	GUEST_DS_BASE = 0x680c, GUEST_FS_BASE = 0x680e, GUEST_GS_BASE = 0x6810,
	GUEST_LDTR_BASE = 0x6812, GUEST_TR_BASE = 0x6814, GUEST_GDTR_BASE = 0x6816,
	GUEST_IDTR_BASE = 0x6818, GUEST_DR7 = 0x681a, GUEST_RSP = 0x681c, GUEST_RIP = 0x681e,
	GUEST_RFLAGS = 0x6820, GUEST_PENDING_DBG_EXCEPTIONS = 0x6822,
	GUEST_SYSENTER_ESP = 0x6824, GUEST_SYSENTER_EIP = 0x6826,
	HOST_CR0 = 0x6c00, HOST_CR3 = 0x6c02, HOST_CR4 = 0x6c04, HOST_FS_BASE = 0x6c06,
	HOST_GS_BASE = 0x6c08, HOST_TR_BASE = 0x6c0a, HOST_GDTR_BASE = 0x6c0c,
	HOST_IDTR_BASE = 0x6c0e, HOST_IA32_SYSENTER_ESP = 0x6c10,
	HOST_IA32_SYSENTER_EIP = 0x6c12, HOST_RSP = 0x6c14, HOST_RIP = 0x6c16,
};

/* Controls (SDM vol. 3C 24.6-24.8) */
#define PIN_BASED_EXT_INTR_MASK		(1u << 0)
#define PIN_BASED_NMI_EXITING		(1u << 3)
#define PIN_BASED_VIRTUAL_NMIS		(1u << 5)
#define PIN_BASED_PREEMPTION_TIMER	(1u << 6)
#define CPU_BASED_INTR_WINDOW_EXITING	(1u << 2)
#define CPU_BASED_USE_TSC_OFFSETTING	(1u << 3)
#define CPU_BASED_HLT_EXITING		(1u << 7)
#define CPU_BASED_INVLPG_EXITING	(1u << 9)
#define CPU_BASED_MWAIT_EXITING		(1u << 10)
#define CPU_BASED_RDPMC_EXITING		(1u << 11)
#define CPU_BASED_RDTSC_EXITING		(1u << 12)
#define CPU_BASED_CR3_LOAD_EXITING	(1u << 15)
#define CPU_BASED_CR3_STORE_EXITING	(1u << 16)
#define CPU_BASED_CR8_LOAD_EXITING	(1u << 19)
#define CPU_BASED_CR8_STORE_EXITING	(1u << 20)
#define CPU_BASED_TPR_SHADOW		(1u << 21)
#define CPU_BASED_NMI_WINDOW_EXITING	(1u << 22)
#define CPU_BASED_UNCOND_IO_EXITING	(1u << 24)
#define CPU_BASED_USE_IO_BITMAPS	(1u << 25)
#define CPU_BASED_USE_MSR_BITMAPS	(1u << 28)
#define CPU_BASED_MONITOR_EXITING	(1u << 29)
#define CPU_BASED_PAUSE_EXITING		(1u << 30)
#define CPU_BASED_ACTIVATE_SECONDARY	(1u << 31)
#define SECONDARY_EXEC_ENABLE_EPT	(1u << 1)
#define SECONDARY_EXEC_DESC		(1u << 2)	/* descriptor-table exiting */
#define SECONDARY_EXEC_WBINVD_EXITING	(1u << 6)
#define SECONDARY_EXEC_RDRAND_EXITING	(1u << 11)
#define SECONDARY_EXEC_UNRESTRICTED_GUEST (1u << 7)
#define VM_EXIT_SAVE_DEBUG_CONTROLS	(1u << 2)
#define VM_EXIT_HOST_ADDR_SPACE_SIZE	(1u << 9)
#define VM_EXIT_SAVE_IA32_PAT		(1u << 18)
#define VM_EXIT_LOAD_IA32_PAT		(1u << 19)
#define VM_EXIT_SAVE_IA32_EFER		(1u << 20)
#define VM_EXIT_LOAD_IA32_EFER		(1u << 21)
#define VM_ENTRY_LOAD_DEBUG_CONTROLS	(1u << 2)
#define VM_ENTRY_IA32E_MODE		(1u << 9)
#define VM_ENTRY_LOAD_IA32_PAT		(1u << 14)
#define VM_ENTRY_LOAD_IA32_EFER		(1u << 15)

/* VM-entry interruption-information field (24.8.3) */
#define VMX_INTR_INFO_VALID		(1u << 31)
#define VMX_INTR_INFO_DELIVER_CODE	(1u << 11)
#define VMX_INTR_TYPE_EXT_INTR		(0u << 8)
#define VMX_INTR_TYPE_RESERVED		(1u << 8)
#define VMX_INTR_TYPE_NMI		(2u << 8)
#define VMX_INTR_TYPE_HARD_EXCEPTION	(3u << 8)
#define VMX_INTR_TYPE_SOFT_INTR		(4u << 8)
/* IA32_VMX_MISC (A.6): CR3-target count in 24:16; bit 30: instruction length 0 injectable. */
#define VMX_MISC_CR3_TARGETS(m)		(((m) >> 16) & 0x1ff)
#define VMX_MISC_ZERO_LEN_INJECTION	(1ULL << 30)
#define VMX_MISC_ACTIVITY_HLT		(1ULL << 6)
/* Guest activity state (24.4.2) */
#define GUEST_ACTIVITY_HLT		1
/* Guest interruptibility state (24.4.2) */
#define GUEST_INTR_STATE_STI		(1u << 0)
#define GUEST_INTR_STATE_MOV_SS		(1u << 1)
/* Exit qualification of a VM-entry failure, reason 33 (27.8): VMCS link pointer. */
#define VMX_ENTRY_FAIL_VMCS_LINK_PTR	4

/* Basic exit reasons (appendix C); bit 31 of the exit reason: VM-entry failure. */
#define EXIT_REASON_EXCEPTION_NMI	0
#define EXIT_REASON_EXTERNAL_INTERRUPT	1
#define EXIT_REASON_TRIPLE_FAULT	2
#define EXIT_REASON_INTERRUPT_WINDOW	7
#define EXIT_REASON_CPUID		10
#define EXIT_REASON_HLT			12
#define EXIT_REASON_INVLPG		14
#define EXIT_REASON_RDPMC		15
#define EXIT_REASON_RDTSC		16
#define EXIT_REASON_VMCALL		18
#define EXIT_REASON_VMREAD		23
#define EXIT_REASON_VMWRITE		25
#define EXIT_REASON_CR_ACCESS		28
#define EXIT_REASON_IO_INSTRUCTION	30
#define EXIT_REASON_MSR_READ		31
#define EXIT_REASON_MSR_WRITE		32
#define EXIT_REASON_INVALID_STATE	33
#define EXIT_REASON_MSR_LOAD_FAIL	34
#define EXIT_REASON_MWAIT		36
#define EXIT_REASON_MONITOR		39
#define EXIT_REASON_PAUSE		40
#define EXIT_REASON_GDTR_IDTR		46
#define EXIT_REASON_LDTR_TR		47
#define EXIT_REASON_EPT_VIOLATION	48
#define EXIT_REASON_EPT_MISCONFIG	49
#define EXIT_REASON_PREEMPTION_TIMER	52
#define EXIT_REASON_WBINVD		54
#define EXIT_REASON_RDRAND		57
#define VMX_EXIT_REASONS_FAILED_VMENTRY	(1u << 31)

/*
 * Events (vmx_events_test): SDM vol. 3C 24.6.1/24.6.2, 24.7.1, 24.8.3,
 * 24.9.2-24.9.3, appendix A.6.
 */
#define CPU_BASED_MONITOR_TRAP_FLAG	(1u << 27)
#define VM_EXIT_SAVE_PREEMPTION_TIMER	(1u << 22)
#define VMX_INTR_TYPE_PRIV_SW_EXCEPTION	(5u << 8)
#define VMX_INTR_TYPE_SOFT_EXCEPTION	(6u << 8)
#define VMX_INTR_TYPE_OTHER_EVENT	(7u << 8)
#define VMX_INTR_TYPE_MASK		(7u << 8)
#define VMX_INTR_INFO_NMI_UNBLOCK	(1u << 12)	/* exit interruption info (24.9.2) */
#define GUEST_INTR_STATE_NMI		(1u << 3)
#define VMX_MISC_PREEMPTION_TIMER_RATE(m)	((m) & 0x1f)
#define EXIT_REASON_NMI_WINDOW		8
#define EXIT_REASON_MONITOR_TRAP_FLAG	37

/*
 * ---- VMCS fields, capability MSRs, shadow VMCS, APIC virtualization
 * (x86_64/vmx_vmcs_test.c, x86_64/vmx_apic_test.c) ----
 */
/* VMCS field encoding (24.11.2): access type 0, index 9:1, type 11:10, width 14:13. */
#define VMCS_ENC_HIGH			(1u << 0)	/* 64-bit field, upper 32 bits */
#define VMCS_ENC(width, type, index)	(((width) << 13) | ((type) << 10) | ((index) << 1))
#define VMCS_ENC_WIDTH(f)		(((f) >> 13) & 3)
#define VMCS_ENC_TYPE(f)		(((f) >> 10) & 3)
#define VMCS_ENC_INDEX(f)		(((f) >> 1) & 0x1ff)
enum { VMCS_WIDTH_16, VMCS_WIDTH_64, VMCS_WIDTH_32, VMCS_WIDTH_NATURAL };
enum { VMCS_TYPE_CONTROL, VMCS_TYPE_RO_DATA, VMCS_TYPE_GUEST, VMCS_TYPE_HOST };
/* IA32_VMX_VMCS_ENUM (A.9): highest index of any supported field in bits 9:1. */
#define VMX_VMCS_ENUM_MAX_INDEX(e)	(((e) >> 1) & 0x1ff)
/* Bit 31 of the VMCS revision identifier: a shadow VMCS (24.2). */
#define VMCS_SHADOW_INDICATOR		(1u << 31)
#define APIC_ACCESS_ADDR		0x2014
#define VMREAD_BITMAP			0x2026
#define VMWRITE_BITMAP			0x2028
#define TPR_THRESHOLD			0x401c
#define CPU_BASED_MOV_DR_EXITING	(1u << 23)
#define SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES	(1u << 0)
#define SECONDARY_EXEC_VIRTUALIZE_X2APIC	(1u << 4)
#define SECONDARY_EXEC_APIC_REGISTER_VIRT	(1u << 8)
#define SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY	(1u << 9)
#define SECONDARY_EXEC_SHADOW_VMCS		(1u << 14)
#define EXIT_REASON_TPR_BELOW_THRESHOLD	43
#define EXIT_REASON_APIC_ACCESS		44
/* Virtual-APIC page (30.1): VTPR at offset 80H. */
#define VAPIC_VTPR			0x80
/* Exit qualification of an APIC access (28.2.1): page offset 11:0, access type 15:12. */
#define APIC_ACCESS_QUAL_OFFSET(q)	((q) & 0xfff)
#define APIC_ACCESS_QUAL_TYPE(q)	(((q) >> 12) & 0xf)
#define APIC_ACCESS_LINEAR_READ		0
#define APIC_ACCESS_LINEAR_WRITE	1

/* Pages for one VMX set-up (host-allocated, identity mapped). */
struct vmx_pages {
	uint64_t vmxon, vmcs, io_bitmap_a, io_bitmap_b, msr_bitmap;
};

#endif /* KVM_SUITE_X86_VMX_H */
