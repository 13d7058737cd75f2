/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * AMD SVM encodings (AMD APM vol. 2, chapter 15 "Secure Virtual Machine"
 * and appendix B "Layout of VMCB"), shared by host and guest: the VMCB,
 * intercept and exit codes, the pages the host hands to L1.  The L1 API
 * (guest_lib/svm.c runs L2 with VMRUN) is guest/svm.h; guest/nested.h is
 * the vendor-neutral layer most tests use.
 */
#ifndef KVM_SUITE_X86_SVM_H
#define KVM_SUITE_X86_SVM_H

#include <stddef.h>
#include <stdint.h>

#include "x86/processor.h"

/* CPUID 0x8000000A EDX (APM vol. 3, E.4.9) */
#define SVM_FEAT_NPT		(1u << 0)
#define SVM_FEAT_NRIPS		(1u << 3)
#define SVM_FEAT_DECODE_ASSISTS	(1u << 7)
#define SVM_FEAT_AVIC		(1u << 13)
#define SVM_FEAT_V_VMSAVE_VMLOAD	(1u << 15)	/* virtual VMLOAD/VMSAVE (15.33.1) */
#define SVM_FEAT_VGIF		(1u << 16)

/* VMCB segment (appendix B, table B-2): attrib packs descriptor bits 40-47 and 52-55. */
#define SVM_SEG_ATTR_DB		(1u << 10)	/* descriptor bit 54: D/B */
struct vmcb_seg {
	uint16_t selector;
	uint16_t attrib;
	uint32_t limit;
	uint64_t base;
} __attribute__((packed));

/* Control area, offsets 0x000-0x3ff (table B-1). */
struct vmcb_control {
	uint32_t intercept_cr;		/* 0x000: reads 15:0, writes 31:16 */
	uint32_t intercept_dr;		/* 0x004 */
	uint32_t intercept_exceptions;	/* 0x008: bit n = vector n */
	uint32_t intercept_misc1;	/* 0x00c: SVM_INTERCEPT_* (word 3) */
	uint32_t intercept_misc2;	/* 0x010: SVM_INTERCEPT2_* (word 4) */
	uint32_t intercept_misc3;	/* 0x014 */
	uint8_t reserved_018[0x03c - 0x018];
	uint16_t pause_filter_thresh;	/* 0x03c */
	uint16_t pause_filter_count;	/* 0x03e */
	uint64_t iopm_base_pa;		/* 0x040 */
	uint64_t msrpm_base_pa;		/* 0x048 */
	uint64_t tsc_offset;		/* 0x050 */
	uint32_t asid;			/* 0x058 */
	uint8_t tlb_ctl;		/* 0x05c */
	uint8_t reserved_05d[3];
	uint32_t int_ctl;		/* 0x060: SVM_INT_CTL_* */
	uint32_t int_vector;		/* 0x064 */
	uint32_t int_state;		/* 0x068 */
	uint8_t reserved_06c[4];
	uint64_t exit_code;		/* 0x070 */
	uint64_t exit_info_1;		/* 0x078 */
	uint64_t exit_info_2;		/* 0x080 */
	uint32_t exit_int_info;		/* 0x088 */
	uint32_t exit_int_info_err;	/* 0x08c */
	uint64_t nested_ctl;		/* 0x090: bit 0 NP_ENABLE */
	uint64_t avic_vapic_bar;	/* 0x098 */
	uint64_t ghcb_gpa;		/* 0x0a0 */
	uint32_t event_inj;		/* 0x0a8: SVM_EVTINJ_* */
	uint32_t event_inj_err;		/* 0x0ac */
	uint64_t nested_cr3;		/* 0x0b0 */
	uint64_t virt_ext;		/* 0x0b8 */
	uint32_t clean;			/* 0x0c0 */
	uint32_t reserved_0c4;
	uint64_t next_rip;		/* 0x0c8: with NRIPS */
	uint8_t insn_len;		/* 0x0d0 */
	uint8_t insn_bytes[15];
	uint64_t avic_backing_page;	/* 0x0e0 */
	uint8_t reserved_0e8[8];
	uint64_t avic_logical_id;	/* 0x0f0 */
	uint64_t avic_physical_id;	/* 0x0f8 */
	uint8_t reserved_100[0x400 - 0x100];
} __attribute__((packed));

/* State save area, VMCB offsets 0x400 onwards (table B-2). */
struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;	/* 0x400-0x49f */
	uint8_t reserved_4a0[0x4cb - 0x4a0];
	uint8_t cpl;			/* 0x4cb */
	uint8_t reserved_4cc[4];
	uint64_t efer;			/* 0x4d0 */
	uint8_t reserved_4d8[0x548 - 0x4d8];
	uint64_t cr4;			/* 0x548 */
	uint64_t cr3;			/* 0x550 */
	uint64_t cr0;			/* 0x558 */
	uint64_t dr7;			/* 0x560 */
	uint64_t dr6;			/* 0x568 */
	uint64_t rflags;		/* 0x570 */
	uint64_t rip;			/* 0x578 */
	uint8_t reserved_580[0x5d8 - 0x580];
	uint64_t rsp;			/* 0x5d8 */
	uint8_t reserved_5e0[0x5f8 - 0x5e0];
	uint64_t rax;			/* 0x5f8 */
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;		/* 0x600 */
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;		/* 0x628 */
	uint64_t cr2;			/* 0x640 */
	uint8_t reserved_648[0x668 - 0x648];
	uint64_t g_pat;			/* 0x668 */
	uint64_t dbgctl;		/* 0x670 */
} __attribute__((packed));

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
	uint8_t pad[4096 - sizeof(struct vmcb_control) - sizeof(struct vmcb_save)];
} __attribute__((packed));

_Static_assert(offsetof(struct vmcb_control, exit_code) == 0x070, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, event_inj) == 0x0a8, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, next_rip) == 0x0c8, "VMCB layout");
_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.efer) == 0x4d0, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.cr4) == 0x548, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rsp) == 0x5d8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rax) == 0x5f8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.kernel_gs_base) == 0x620, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.g_pat) == 0x668, "VMCB layout");
_Static_assert(sizeof(struct vmcb) == 4096, "VMCB is one page");

/* Intercept words 0 and 1 (VMCB 0x000, 0x004): CRn/DRn reads, writes */
#define SVM_INTERCEPT_CR_READ(n)	(1u << (n))
#define SVM_INTERCEPT_CR_WRITE(n)	(1u << (16 + (n)))
#define SVM_INTERCEPT_DR_READ(n)	(1u << (n))
#define SVM_INTERCEPT_DR_WRITE(n)	(1u << (16 + (n)))
/* Intercept word 3 (VMCB 0x00c) */
#define SVM_INTERCEPT_INTR	(1u << 0)
#define SVM_INTERCEPT_NMI	(1u << 1)
#define SVM_INTERCEPT_VINTR	(1u << 4)
#define SVM_INTERCEPT_CR0_SEL_WRITE	(1u << 5)
#define SVM_INTERCEPT_RDTSC	(1u << 14)
#define SVM_INTERCEPT_RDPMC	(1u << 15)
#define SVM_INTERCEPT_CPUID	(1u << 18)
#define SVM_INTERCEPT_RSM	(1u << 19)
#define SVM_INTERCEPT_IRET	(1u << 20)
#define SVM_INTERCEPT_INTN	(1u << 21)
#define SVM_INTERCEPT_INVD	(1u << 22)
#define SVM_INTERCEPT_PAUSE	(1u << 23)
#define SVM_INTERCEPT_HLT	(1u << 24)
#define SVM_INTERCEPT_INVLPG	(1u << 25)
#define SVM_INTERCEPT_INVLPGA	(1u << 26)
#define SVM_INTERCEPT_IOIO	(1u << 27)
#define SVM_INTERCEPT_MSR	(1u << 28)
#define SVM_INTERCEPT_SHUTDOWN	(1u << 31)
/* Intercept word 4 (VMCB 0x010) */
#define SVM_INTERCEPT2_VMRUN	(1u << 0)	/* must be set (APM 15.5.1) */
#define SVM_INTERCEPT2_VMMCALL	(1u << 1)
#define SVM_INTERCEPT2_VMLOAD	(1u << 2)
#define SVM_INTERCEPT2_VMSAVE	(1u << 3)
#define SVM_INTERCEPT2_STGI	(1u << 4)
#define SVM_INTERCEPT2_CLGI	(1u << 5)
#define SVM_INTERCEPT2_SKINIT	(1u << 6)
#define SVM_INTERCEPT2_RDTSCP	(1u << 7)
#define SVM_INTERCEPT2_ICEBP	(1u << 8)
#define SVM_INTERCEPT2_WBINVD	(1u << 9)
#define SVM_INTERCEPT2_MONITOR	(1u << 10)
#define SVM_INTERCEPT2_MWAIT	(1u << 11)

/* int_ctl (VMCB 0x060, APM 15.21.1 and 15.29) */
#define SVM_INT_CTL_V_TPR_MASK		0xfu		/* bits 3:0 */
#define SVM_INT_CTL_V_INTR_PRIO_SHIFT	16		/* bits 19:16 */
#define SVM_INT_CTL_V_IGN_TPR		(1u << 20)
#define SVM_INT_CTL_V_IRQ		(1u << 8)
#define SVM_INT_CTL_V_GIF		(1u << 9)
#define SVM_INT_CTL_V_INTR_MASKING	(1u << 24)
#define SVM_INT_CTL_V_GIF_ENABLE	(1u << 25)
#define SVM_INT_CTL_AVIC_ENABLE		(1u << 31)

/* int_state (VMCB 0x068, APM 15.21.5) */
#define SVM_INT_STATE_SHADOW		(1u << 0)

/* nested_ctl (VMCB 0x090, APM 15.25.3) */
#define SVM_NESTED_CTL_NP_ENABLE	(1ULL << 0)

/* virt_ext (VMCB 0x0b8, appendix B) */
#define SVM_VIRT_EXT_LBR		(1ULL << 0)
#define SVM_VIRT_EXT_V_VMLOAD_VMSAVE	(1ULL << 1)

/* EVENTINJ (VMCB 0x0a8, APM 15.20) */
#define SVM_EVTINJ_VALID	(1u << 31)
#define SVM_EVTINJ_VALID_ERR	(1u << 11)
#define SVM_EVTINJ_TYPE_INTR	(0u << 8)
#define SVM_EVTINJ_TYPE_NMI	(2u << 8)
#define SVM_EVTINJ_TYPE_EXEPT	(3u << 8)
#define SVM_EVTINJ_TYPE_SOFT	(4u << 8)
#define SVM_EVTINJ_TYPE_MASK	(7u << 8)

/* #VMEXIT codes (appendix C) */
#define SVM_EXIT_READ_CR(n)	(0x000 + (n))
#define SVM_EXIT_WRITE_CR(n)	(0x010 + (n))
#define SVM_EXIT_READ_DR(n)	(0x020 + (n))
#define SVM_EXIT_WRITE_DR(n)	(0x030 + (n))
#define SVM_EXIT_EXCP_BASE	0x040
#define SVM_EXIT_INTR		0x060
#define SVM_EXIT_NMI		0x061
#define SVM_EXIT_VINTR		0x064
#define SVM_EXIT_CR0_SEL_WRITE	0x065
#define SVM_EXIT_RDTSC		0x06e
#define SVM_EXIT_RDPMC		0x06f
#define SVM_EXIT_CPUID		0x072
#define SVM_EXIT_RSM		0x073
#define SVM_EXIT_IRET		0x074
#define SVM_EXIT_SWINT		0x075
#define SVM_EXIT_INVD		0x076
#define SVM_EXIT_PAUSE		0x077
#define SVM_EXIT_HLT		0x078
#define SVM_EXIT_INVLPG		0x079
#define SVM_EXIT_INVLPGA	0x07a
#define SVM_EXIT_IOIO		0x07b
#define SVM_EXIT_MSR		0x07c
#define SVM_EXIT_SHUTDOWN	0x07f
#define SVM_EXIT_VMRUN		0x080
#define SVM_EXIT_VMMCALL	0x081
#define SVM_EXIT_VMLOAD		0x082
#define SVM_EXIT_VMSAVE		0x083
#define SVM_EXIT_STGI		0x084
#define SVM_EXIT_CLGI		0x085
#define SVM_EXIT_SKINIT		0x086
#define SVM_EXIT_RDTSCP		0x087
#define SVM_EXIT_ICEBP		0x088
#define SVM_EXIT_WBINVD		0x089
#define SVM_EXIT_MONITOR	0x08a
#define SVM_EXIT_MWAIT		0x08b
#define SVM_EXIT_NPF		0x400
#define SVM_EXIT_INVALID	((uint64_t)-1)

/* MOV CRx/DRx exit_info_1 with decode assists (APM 15.33.1): bit 63 MOV CRx, 3:0 the GPR */
#define SVM_EXITINFO1_CR_MOV	(1ULL << 63)
#define SVM_EXITINFO1_GPR_MASK	0xfULL

/* IOIO exit_info_1 (APM 15.10.2); exit_info_2 is the next RIP */
#define SVM_IOIO_TYPE_IN	(1u << 0)
#define SVM_IOIO_STR		(1u << 2)
#define SVM_IOIO_REP		(1u << 3)
#define SVM_IOIO_SZ8		(1u << 4)
#define SVM_IOIO_SZ16		(1u << 5)
#define SVM_IOIO_SZ32		(1u << 6)
#define SVM_IOIO_A16		(1u << 7)
#define SVM_IOIO_A32		(1u << 8)
#define SVM_IOIO_A64		(1u << 9)
#define SVM_IOIO_ASIZE_MASK	(7u << 7)
#define SVM_IOIO_SEG_SHIFT	10		/* with DecodeAssists: 0 ES ... 5 GS */
#define SVM_IOIO_SEG_MASK	(7u << SVM_IOIO_SEG_SHIFT)
#define SVM_IOIO_PORT(info1)	((uint16_t)((info1) >> 16))
/* MSR exit_info_1 (APM 15.11) */
#define SVM_MSR_EXIT_READ	0
#define SVM_MSR_EXIT_WRITE	1
/* NPF exit_info_1 (APM 15.25.6): #PF-style error code plus these */
#define SVM_NPF_FINAL_GPA	(1ULL << 32)
#define SVM_NPF_IN_WALK		(1ULL << 33)

#define SVM_IOPM_SIZE		(3 * 4096)
#define SVM_MSRPM_SIZE		(2 * 4096)

/* Guest-physical pages the host hands to L1 for one SVM set-up (identity mapped). */
struct svm_pages {
	uint64_t vmcb, hsave, iopm, msrpm;	/* GPAs: 1, 1, 3, 2 pages */
};

#endif /* KVM_SUITE_X86_SVM_H */
