/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Intel VMX for L1 guest code (guest_lib/vmx.c), over the encodings of
 * x86/vmx.h.  Where there is no VMX (kvm_pvm, kvm_amd, QEMU's TCG) the
 * tests SKIP with "no VMX"; they run on kvm_intel nested=1, e.g. in the
 * Intel lane (make vm_run_tests VENDOR=intel, Documentation/lanes.md).
 */
#ifndef KVM_SUITE_GUEST_VMX_H
#define KVM_SUITE_GUEST_VMX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/processor.h"
#include "x86/vmx.h"

/* Outcome of a VMX instruction (SDM vol. 3C 31.2): RFLAGS.CF / ZF, or a fault. */
enum vmx_status {
	VMX_OK,
	VMX_FAIL_INVALID,	/* CF=1: no current VMCS to hold an error number */
	VMX_FAIL_VALID,		/* ZF=1: VM_INSTRUCTION_ERROR says why */
	VMX_FAULT,		/* the instruction raised an exception (see vector) */
};

const char *vmx_status_name(enum vmx_status s);
const char *vmx_insn_error_name(uint32_t err);	/* SDM vol. 3C 31.4 */
/* VM_INSTRUCTION_ERROR after a VMfailValid, else 0. */
uint32_t vmx_insn_error(enum vmx_status s);
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

/* The capability MSR of a control (its TRUE_* one when VMX_BASIC bit 55 says so). */
uint64_t vmx_ctl_caps(uint32_t msr);
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
/* INVEPT/INVVPID of a type with the descriptor's two halves; *vector for VMX_FAULT. */
enum vmx_status __invept(uint64_t type, uint64_t eptp, uint64_t rsvd, uint8_t *vector);
enum vmx_status __invvpid(uint64_t type, uint64_t vpid, uint64_t gla, uint8_t *vector);
/* INVEPT of all contexts (or the one of eptp); false if KVM offers neither. */
bool vmx_invept(uint64_t eptp);
/* GDT segment sel into the current VMCS's four fields of one segment (24.4.1). */
void vmx_write_seg(uint16_t sel, uint64_t sel_field, uint64_t ar_field, uint64_t limit_field,
		   uint64_t base_field);
/* The host-state area of the current VMCS: L1 as it is now (24.5). */
void vmx_write_host_state(void);
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

#endif /* KVM_SUITE_GUEST_VMX_H */
