/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Intel VMX for L1 guest code (SDM vol. 3C chapters 24-28 and 31, appendix
 * A for the capability MSRs and B for the VMCS field encodings).
 * guest_lib/vmx.c implements it; include/nested.h is the vendor-neutral
 * layer.  Where there is no VMX (kvm_pvm, kvm_amd, QEMU's TCG) the tests
 * SKIP with "no VMX"; they run on kvm_intel nested=1, e.g. in the Intel
 * lane (make vm_run_tests VENDOR=intel, Documentation/lanes.md).
 */
#ifndef KVM_SUITE_VMX_H
#define KVM_SUITE_VMX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "processor.h"

#define MSR_IA32_VMX_BASIC		0x480
#define MSR_IA32_VMX_PINBASED_CTLS	0x481
#define MSR_IA32_VMX_PROCBASED_CTLS	0x482
#define MSR_IA32_VMX_EXIT_CTLS		0x483
#define MSR_IA32_VMX_ENTRY_CTLS		0x484
#define MSR_IA32_VMX_MISC		0x485
#define MSR_IA32_VMX_CR0_FIXED0		0x486
#define MSR_IA32_VMX_CR0_FIXED1		0x487
#define MSR_IA32_VMX_CR4_FIXED0		0x488
#define MSR_IA32_VMX_CR4_FIXED1		0x489
#define MSR_IA32_VMX_VMCS_ENUM		0x48a
#define MSR_IA32_VMX_PROCBASED_CTLS2	0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP	0x48c
#define MSR_IA32_VMX_TRUE_PINBASED	0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED	0x48e
#define MSR_IA32_VMX_TRUE_EXIT		0x48f
#define MSR_IA32_VMX_TRUE_ENTRY		0x490

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
#define VMX_BASIC_TRUE_CTLS		(1ULL << 55)
#define FEAT_CTL_LOCK			(1ULL << 0)
#define FEAT_CTL_VMX_OUTSIDE_SMX	(1ULL << 2)

/* VMCS field encodings (appendix B) */
enum vmcs_field {
	VIRTUAL_PROCESSOR_ID = 0x0000,
	GUEST_ES_SELECTOR = 0x0800, GUEST_CS_SELECTOR = 0x0802, GUEST_SS_SELECTOR = 0x0804,
	GUEST_DS_SELECTOR = 0x0806, GUEST_FS_SELECTOR = 0x0808, GUEST_GS_SELECTOR = 0x080a,
	GUEST_LDTR_SELECTOR = 0x080c, GUEST_TR_SELECTOR = 0x080e,
	HOST_ES_SELECTOR = 0x0c00, HOST_CS_SELECTOR = 0x0c02, HOST_SS_SELECTOR = 0x0c04,
	HOST_DS_SELECTOR = 0x0c06, HOST_FS_SELECTOR = 0x0c08, HOST_GS_SELECTOR = 0x0c0a,
	HOST_TR_SELECTOR = 0x0c0c,
	IO_BITMAP_A = 0x2000, IO_BITMAP_B = 0x2002, MSR_BITMAP = 0x2004,
	EPT_POINTER = 0x201a,
	GUEST_PHYSICAL_ADDRESS = 0x2400,
	VMCS_LINK_POINTER = 0x2800, GUEST_IA32_DEBUGCTL = 0x2802, GUEST_IA32_PAT = 0x2804,
	GUEST_IA32_EFER = 0x2806,
	HOST_IA32_PAT = 0x2c00, HOST_IA32_EFER = 0x2c02,
	PIN_BASED_VM_EXEC_CONTROL = 0x4000, CPU_BASED_VM_EXEC_CONTROL = 0x4002,
	EXCEPTION_BITMAP = 0x4004, CR3_TARGET_COUNT = 0x400a, VM_EXIT_CONTROLS = 0x400c,
	VM_EXIT_MSR_STORE_COUNT = 0x400e, VM_EXIT_MSR_LOAD_COUNT = 0x4010,
	VM_ENTRY_CONTROLS = 0x4012, VM_ENTRY_MSR_LOAD_COUNT = 0x4014,
	VM_ENTRY_INTR_INFO_FIELD = 0x4016, SECONDARY_VM_EXEC_CONTROL = 0x401e,
	VM_INSTRUCTION_ERROR = 0x4400, VM_EXIT_REASON = 0x4402, VM_EXIT_INTR_INFO = 0x4404,
	VM_EXIT_INSTRUCTION_LEN = 0x440c,
	GUEST_ES_LIMIT = 0x4800, GUEST_CS_LIMIT = 0x4802, GUEST_SS_LIMIT = 0x4804,
	GUEST_DS_LIMIT = 0x4806, GUEST_FS_LIMIT = 0x4808, GUEST_GS_LIMIT = 0x480a,
	GUEST_LDTR_LIMIT = 0x480c, GUEST_TR_LIMIT = 0x480e, GUEST_GDTR_LIMIT = 0x4810,
	GUEST_IDTR_LIMIT = 0x4812,
	GUEST_ES_AR_BYTES = 0x4814, GUEST_CS_AR_BYTES = 0x4816, GUEST_SS_AR_BYTES = 0x4818,
	GUEST_DS_AR_BYTES = 0x481a, GUEST_FS_AR_BYTES = 0x481c, GUEST_GS_AR_BYTES = 0x481e,
	GUEST_LDTR_AR_BYTES = 0x4820, GUEST_TR_AR_BYTES = 0x4822,
	GUEST_INTERRUPTIBILITY_INFO = 0x4824, GUEST_ACTIVITY_STATE = 0x4826,
	GUEST_SYSENTER_CS = 0x482a, VMX_PREEMPTION_TIMER_VALUE = 0x482e,
	HOST_IA32_SYSENTER_CS = 0x4c00,
	CR0_GUEST_HOST_MASK = 0x6000, CR4_GUEST_HOST_MASK = 0x6002,
	CR0_READ_SHADOW = 0x6004, CR4_READ_SHADOW = 0x6006,
	EXIT_QUALIFICATION = 0x6400, GUEST_LINEAR_ADDRESS = 0x640a,
	GUEST_CR0 = 0x6800, GUEST_CR3 = 0x6802, GUEST_CR4 = 0x6804,
	GUEST_ES_BASE = 0x6806, GUEST_CS_BASE = 0x6808, GUEST_SS_BASE = 0x680a,
	GUEST_DS_BASE = 0x680c, GUEST_FS_BASE = 0x680e, GUEST_GS_BASE = 0x6810,
	GUEST_LDTR_BASE = 0x6812, GUEST_TR_BASE = 0x6814, GUEST_GDTR_BASE = 0x6816,
	GUEST_IDTR_BASE = 0x6818, GUEST_DR7 = 0x681a, GUEST_RSP = 0x681c, GUEST_RIP = 0x681e,
	GUEST_RFLAGS = 0x6820, GUEST_SYSENTER_ESP = 0x6824, GUEST_SYSENTER_EIP = 0x6826,
	HOST_CR0 = 0x6c00, HOST_CR3 = 0x6c02, HOST_CR4 = 0x6c04, HOST_FS_BASE = 0x6c06,
	HOST_GS_BASE = 0x6c08, HOST_TR_BASE = 0x6c0a, HOST_GDTR_BASE = 0x6c0c,
	HOST_IDTR_BASE = 0x6c0e, HOST_IA32_SYSENTER_ESP = 0x6c10,
	HOST_IA32_SYSENTER_EIP = 0x6c12, HOST_RSP = 0x6c14, HOST_RIP = 0x6c16,
};

/* Controls (SDM vol. 3C 24.6-24.8) */
#define PIN_BASED_EXT_INTR_MASK		(1u << 0)
#define PIN_BASED_NMI_EXITING		(1u << 3)
#define PIN_BASED_PREEMPTION_TIMER	(1u << 6)
#define CPU_BASED_INTR_WINDOW_EXITING	(1u << 2)
#define CPU_BASED_HLT_EXITING		(1u << 7)
#define CPU_BASED_CR3_LOAD_EXITING	(1u << 15)
#define CPU_BASED_CR3_STORE_EXITING	(1u << 16)
#define CPU_BASED_CR8_LOAD_EXITING	(1u << 19)
#define CPU_BASED_CR8_STORE_EXITING	(1u << 20)
#define CPU_BASED_UNCOND_IO_EXITING	(1u << 24)
#define CPU_BASED_USE_IO_BITMAPS	(1u << 25)
#define CPU_BASED_USE_MSR_BITMAPS	(1u << 28)
#define CPU_BASED_ACTIVATE_SECONDARY	(1u << 31)
#define SECONDARY_EXEC_ENABLE_EPT	(1u << 1)
#define VM_EXIT_HOST_ADDR_SPACE_SIZE	(1u << 9)
#define VM_EXIT_SAVE_IA32_PAT		(1u << 18)
#define VM_EXIT_LOAD_IA32_PAT		(1u << 19)
#define VM_EXIT_SAVE_IA32_EFER		(1u << 20)
#define VM_EXIT_LOAD_IA32_EFER		(1u << 21)
#define VM_ENTRY_IA32E_MODE		(1u << 9)
#define VM_ENTRY_LOAD_IA32_PAT		(1u << 14)
#define VM_ENTRY_LOAD_IA32_EFER		(1u << 15)

/* Basic exit reasons (appendix C); bit 31 of the exit reason: VM-entry failure. */
#define EXIT_REASON_EXCEPTION_NMI	0
#define EXIT_REASON_EXTERNAL_INTERRUPT	1
#define EXIT_REASON_TRIPLE_FAULT	2
#define EXIT_REASON_INTERRUPT_WINDOW	7
#define EXIT_REASON_CPUID		10
#define EXIT_REASON_HLT			12
#define EXIT_REASON_VMCALL		18
#define EXIT_REASON_CR_ACCESS		28
#define EXIT_REASON_IO_INSTRUCTION	30
#define EXIT_REASON_MSR_READ		31
#define EXIT_REASON_MSR_WRITE		32
#define EXIT_REASON_INVALID_STATE	33
#define EXIT_REASON_EPT_VIOLATION	48
#define EXIT_REASON_EPT_MISCONFIG	49
#define EXIT_REASON_PREEMPTION_TIMER	52
#define VMX_EXIT_REASONS_FAILED_VMENTRY	(1u << 31)

/* Outcome of a VMX instruction (SDM vol. 3C 31.2): RFLAGS.CF / ZF, or a fault. */
enum vmx_status {
	VMX_OK,
	VMX_FAIL_INVALID,	/* CF=1: no current VMCS to hold an error number */
	VMX_FAIL_VALID,		/* ZF=1: VM_INSTRUCTION_ERROR says why */
	VMX_FAULT,		/* the instruction raised an exception (see vector) */
};

const char *vmx_status_name(enum vmx_status s);
const char *vmx_insn_error_name(uint32_t err);	/* SDM vol. 3C 31.4 */
const char *vmx_exit_name(uint32_t reason);

/*
 * Exit qualifications, decoded: SDM vol. 3C 27.2.1, tables 27-3 (CR
 * access), 27-5 (I/O) and 27-7 (EPT violation); 28.2.1 and tables 28-x in
 * the 2023 and later editions.
 */
enum vmx_cr_access { VMX_CR_MOV_TO, VMX_CR_MOV_FROM, VMX_CR_CLTS, VMX_CR_LMSW };
struct vmx_qual_cr {			/* exit reason 28, control-register access */
	uint8_t cr;			/* 3:0 */
	enum vmx_cr_access type;	/* 5:4 */
	bool lmsw_mem;			/* 6: LMSW operand in memory */
	uint8_t gpr;			/* 11:8, MOV CR only: 0 = RAX ... 15 = R15 */
	uint16_t lmsw_data;		/* 31:16 */
};
struct vmx_qual_io {			/* exit reason 30, I/O instruction */
	uint8_t size;			/* 2:0 + 1: 1, 2 or 4 bytes */
	bool in;			/* 3: 1 = IN, 0 = OUT */
	bool string, rep, imm;		/* 4, 5, 6 (imm: port in the instruction, not DX) */
	uint16_t port;			/* 31:16 */
};
struct vmx_qual_ept {			/* exit reason 48, EPT violation */
	bool read, write, fetch;	/* 0-2: the access */
	bool readable, writable, executable;	/* 3-5: the entry's permissions (0: absent) */
	bool gla_valid;			/* 7: the guest linear address field is valid */
	bool final_gpa;			/* 8: the access was to the final GPA, not a walk */
	bool nmi_unblocking;		/* 12 */
};
struct vmx_qual_cr vmx_qual_cr(uint64_t qual);
struct vmx_qual_io vmx_qual_io(uint64_t qual);
struct vmx_qual_ept vmx_qual_ept(uint64_t qual);
const char *vmx_gpr_name(unsigned int gpr);
/*
 * One line for an exit: its name (vmx_exit_name()), "entry failed" for bit
 * 31, and the qualification decoded for CR access, I/O and EPT violations,
 * e.g. "CR_ACCESS: MOV to CR3 from RAX".  Returns buf.
 */
const char *vmx_exit_str(uint32_t reason, uint64_t qual, char *buf, size_t len);

/* Pages for one VMX set-up (host-allocated, identity mapped). */
struct vmx_pages {
	uint64_t vmxon, vmcs, io_bitmap_a, io_bitmap_b, msr_bitmap;
};

bool vmx_supported(void);
/* Each returns its status; *vector gets the exception for VMX_FAULT. */
enum vmx_status __vmxon(uint64_t pa, uint8_t *vector);
enum vmx_status __vmxoff(uint8_t *vector);
enum vmx_status __vmclear(uint64_t pa, uint8_t *vector);
enum vmx_status __vmptrld(uint64_t pa, uint8_t *vector);
enum vmx_status __vmptrst(uint64_t *pa, uint8_t *vector);
enum vmx_status __vmread(uint64_t field, uint64_t *value, uint8_t *vector);
enum vmx_status __vmwrite(uint64_t field, uint64_t value, uint8_t *vector);
/* Checked forms: a failure ends the test at the caller's line, naming the instruction error. */
uint64_t vmread_at(uint64_t field, const char *file, unsigned int line);
#define vmread(field)		vmread_at(field, __FILE__, __LINE__)
void vmwrite_at(uint64_t field, uint64_t value, const char *file, unsigned int line);
#define vmwrite(field, value)	vmwrite_at(field, value, __FILE__, __LINE__)

/* Allowed-0/allowed-1 adjustment of wanted controls (appendix A.3-A.5). */
uint32_t vmx_adjust_controls(uint32_t msr, uint32_t want);
/* CR0/CR4 as VMX operation requires (fixed bits, 24.8) and CR4.VMXE. */
void vmx_set_fixed_cr_bits(void);
/* Write the VMCS revision identifier into the VMXON region (A.1). */
void vmx_prepare_vmxon_region(const struct vmx_pages *p);
/* FEATURE_CONTROL, CR0/CR4 fixed bits, CR4.VMXE and VMXON of p->vmxon. */
enum vmx_status vmx_enable(const struct vmx_pages *p, uint8_t *vector);
/* NULL if EPT can be used as guest_lib/nested.c builds it, else the reason. */
const char *vmx_ept_unsupported(void);
/* INVEPT of all contexts (or the one of eptp); false if KVM offers neither. */
bool vmx_invept(uint64_t eptp);
/* VMCLEAR+VMPTRLD p->vmcs and fill it to run entry on stack_top with L1's state. */
void vmx_init_vmcs(const struct vmx_pages *p, void *entry, uint64_t stack_top);
/*
 * VMLAUNCH (first time) or VMRESUME with L2's GPRs in r (RAX included, as
 * r->rax); returns the exit reason, or VMX_EXIT_REASONS_FAILED_VMENTRY |
 * reason, or ~0u if the instruction itself failed (see *status).
 */
struct vmx_gprs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};
uint32_t vmx_run(bool launched, struct vmx_gprs *r, enum vmx_status *status);

#endif /* KVM_SUITE_VMX_H */
