/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * LTP's AMD SVM helpers for LTP-form payloads (kvm_test.h), on the suite's
 * mini hypervisor (guest/svm.h, guest_lib/svm.c); guest_lib/tst_svm.c.
 *
 * struct kvm_vmcb is the VMCB (APM vol. 2 appendix B) with LTP's field
 * names; guest_lib/tst_svm.c asserts that each field sits where the
 * suite's struct vmcb (x86/svm.h) has it.  LTP's SVM_INTERCEPT_* are
 * intercept numbers (bit n of the intercept vectors), where the suite's
 * x86/svm.h names masks in one vector word: the two cannot meet, so the
 * LTP constants exist only where x86/svm.h is not included (payloads).
 *
 * A vCPU from kvm_create_svm_vcpu(guest_main, 1) runs guest_main() on its
 * own stack; when it returns, L2 executes HLT (intercepted) with its return
 * value in RAX: exitcode SVM_EXIT_HLT, vmcb->rax the value.  As in LTP, L2
 * starts at a stub that calls the function in RAX (tst_l2_entry), so
 * kvm_init_guest_vmcb() on the same stack top starts another function.  RAX, RSP and
 * RIP live in the VMCB; kvm_svm_vmrun() loads the other registers from
 * cpu->regs and stores them back after the #VMEXIT, with regs.rax and
 * regs.rsp copied from the VMCB.  As LTP's does, it also VMLOADs the VMCB
 * before VMRUN and VMSAVEs into it after the #VMEXIT (L1's own FS, GS,
 * TR, LDTR and MSRs of that set saved and restored around it): L2's
 * values of those live in the VMCB too.
 */
#ifndef KVM_SUITE_KVM_X86_SVM_H
#define KVM_SUITE_KVM_X86_SVM_H

#include "kvm_x86.h"

#ifndef KVM_SUITE_X86_SVM_H
/* CPUID 0x8000000A EDX (APM vol. 3, CPUID Fn8000_000A_EDX), LTP's names. */
#define SVM_CPUID_NESTED_PAGING	(1 << 0)
#define SVM_CPUID_LBR_VIRT	(1 << 1)
#define SVM_CPUID_NRIP_SAVE	(1 << 3)
#define SVM_CPUID_VMCB_CLEAN	(1 << 5)
#define SVM_CPUID_DECODE_ASSIST	(1 << 7)
#define SVM_CPUID_AVIC		(1 << 13)
#define SVM_CPUID_VMSAVE_VIRT	(1 << 15)
#define SVM_CPUID_VGIF		(1 << 16)

/* Intercept numbers: bit n of the VMCB's intercept vectors (APM B-1). */
#define SVM_INTERCEPT_HLT	0x78
#define SVM_INTERCEPT_VMRUN	0x80
#define SVM_INTERCEPT_VMLOAD	0x82
#define SVM_INTERCEPT_VMSAVE	0x83
#define SVM_INTERCEPT_STGI	0x84
#define SVM_INTERCEPT_CLGI	0x85
#define SVM_INTERCEPT_MAX	0x95

/* #VMEXIT codes (APM appendix C). */
#define SVM_EXIT_HLT		0x78
#define SVM_EXIT_VMRUN		0x80
#define SVM_EXIT_VMLOAD		0x82
#define SVM_EXIT_VMSAVE		0x83
#define SVM_EXIT_STGI		0x84
#define SVM_EXIT_CLGI		0x85
#define SVM_EXIT_AVIC_NOACCEL	0x402
#define SVM_EXIT_INVALID	((uint64_t)-1)
#endif /* !KVM_SUITE_X86_SVM_H */

/* virt_intr_ctl: bit 31 of the VMCB's V_INTR word (AVIC enable), in its top byte. */
#define SVM_INTR_AVIC		(1 << 7)

/* A segment in the VMCB's state save area. */
struct kvm_vmcb_descriptor {
	uint16_t selector;
	uint16_t attrib;
	uint32_t limit;
	uint64_t base;
};

/* The VMCB, LTP's names; the offsets are the APM's (appendix B). */
struct kvm_vmcb {
	uint8_t intercepts[20];			/* 0x000: intercept vectors */
	uint8_t reserved1[0x40 - 0x14];
	uint64_t iopm_base_addr;		/* 0x040 */
	uint64_t msrpm_base_addr;		/* 0x048 */
	uint64_t tsc_offset;			/* 0x050 */
	uint32_t guest_asid;			/* 0x058 */
	uint32_t tlb_control;			/* 0x05c */
	uint8_t virtual_tpr;			/* 0x060: V_TPR */
	uint8_t virtual_irq;			/* 0x061: V_IRQ in bit 0 */
	unsigned char virt_intr_prio: 4;	/* 0x062: V_INTR_PRIO */
	unsigned char virt_ignore_tpr: 4;	/* V_IGN_TPR in bit 0 */
	uint8_t virt_intr_ctl;			/* 0x063: V_INTR_MASKING bit 0, AVIC bit 7 */
	uint8_t virt_intr_vector;		/* 0x064 */
	uint8_t reserved2[3];
	uint64_t interrupt_shadow;		/* 0x068 */
	uint64_t exitcode;			/* 0x070 */
	uint64_t exitinfo1;			/* 0x078 */
	uint64_t exitinfo2;			/* 0x080 */
	uint64_t exit_int_info;			/* 0x088 */
	uint64_t enable_nested_paging;		/* 0x090 */
	uint64_t avic_bar;			/* 0x098 */
	uint64_t ghcb_gpa;			/* 0x0a0 */
	uint64_t event_injection;		/* 0x0a8 */
	uint64_t nested_cr3;			/* 0x0b0 */
	uint64_t virt_ext;			/* 0x0b8 */
	uint32_t vmcb_clean;			/* 0x0c0 */
	uint8_t reserved3[4];
	uint64_t next_rip;			/* 0x0c8 */
	uint8_t instr_len;			/* 0x0d0 */
	uint8_t instr_bytes[15];
	uint64_t avic_backing_page;		/* 0x0e0 */
	uint8_t reserved4[8];
	uint64_t avic_logical_ptr;		/* 0x0f0 */
	uint64_t avic_physical_ptr;		/* 0x0f8 */
	uint8_t reserved5[8];
	uint64_t vmsa_pa;			/* 0x108 */
	uint64_t vmgexit_rax;			/* 0x110 */
	uint8_t vmgexit_cpl;			/* 0x118 */
	uint8_t reserved6[0x400 - 0x119];

	struct kvm_vmcb_descriptor es, cs, ss, ds, fs, gs;	/* 0x400: state save area */
	struct kvm_vmcb_descriptor gdtr, ldtr, idtr, tr;
	uint8_t reserved7[0x4cb - 0x4a0];
	uint8_t cpl;				/* 0x4cb */
	uint8_t reserved8[4];
	uint64_t efer;				/* 0x4d0 */
	uint8_t reserved9[0x548 - 0x4d8];
	uint64_t cr4;				/* 0x548 */
	uint64_t cr3;
	uint64_t cr0;
	uint64_t dr7;
	uint64_t dr6;
	uint64_t rflags;
	uint64_t rip;				/* 0x578 */
	uint8_t reserved10[0x5d8 - 0x580];
	uint64_t rsp;				/* 0x5d8 */
	uint64_t s_cet;
	uint64_t ssp;
	uint64_t isst_addr;
	uint64_t rax;				/* 0x5f8 */
	uint64_t star;				/* 0x600 */
	uint64_t lstar;
	uint64_t cstar;
	uint64_t sfmask;
	uint64_t kernel_gs_base;
	uint64_t sysenter_cs;			/* 0x628 */
	uint64_t sysenter_esp;
	uint64_t sysenter_eip;
	uint64_t cr2;				/* 0x640 */
	uint8_t reserved11[0x668 - 0x648];
	uint64_t guest_pat;			/* 0x668 */
	uint8_t padding[0x1000 - 0x670];
};

_Static_assert(sizeof(struct kvm_vmcb) == 4096, "a VMCB is one page");

struct kvm_svm_vcpu {
	struct kvm_vmcb *vmcb;
	struct kvm_regs64 regs;
};

/* CPUID says SVM (0x80000001 ECX[2]); EFER.SVME; set or clear EFER.SVME. */
int kvm_is_svm_supported(void);
int kvm_get_svm_state(void);
void kvm_set_svm_state(int enabled);
/* TCONF without SVM (or with VM_CR.SVMDIS); else EFER.SVME and a host save area. */
void kvm_init_svm(void);
/* A zeroed, page-aligned VMCB from the heap. */
struct kvm_vmcb *kvm_alloc_vmcb(void);
/* The VMCB form of GDT entry gdt_id (selector gdt_id << 3). */
void kvm_vmcb_copy_gdt_descriptor(struct kvm_vmcb_descriptor *dst, unsigned int gdt_id);
/* Set (state != 0) or clear intercept number id (SVM_INTERCEPT_*). */
void kvm_vmcb_set_intercept(struct kvm_vmcb *vmcb, unsigned int id, unsigned int state);
/*
 * L2 as a copy of this CPU's state at guest_main on rsp (see above), with
 * SS from GDT entry ss (an index, not a selector) and asid; VMRUN intercepted.
 */
void kvm_init_guest_vmcb(struct kvm_vmcb *vmcb, uint32_t asid, uint16_t ss, void *rsp,
			 int (*guest_main)(void));
/* A vCPU running guest_main (see above); alloc_stack: give it an 8 KiB stack. */
struct kvm_svm_vcpu *kvm_create_svm_vcpu(int (*guest_main)(void), int alloc_stack);
/* VMRUN cpu->vmcb with cpu->regs until the next #VMEXIT. */
void kvm_svm_vmrun(struct kvm_svm_vcpu *cpu);
/* VMLOAD / VMSAVE of buf (FS, GS, TR, LDTR, KernelGsBase, the SYSCALL and SYSENTER MSRs). */
void kvm_svm_vmload(struct kvm_vmcb *buf);
void kvm_svm_vmsave(struct kvm_vmcb *buf);

#endif /* KVM_SUITE_KVM_X86_SVM_H */
