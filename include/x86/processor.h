/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x86-64 architectural definitions shared by host and guest code: control
 * registers, RFLAGS, EFER, exception vectors, the suite's GDT selectors and
 * CPUID feature bits; with x86/msr.h, x86/pgtable.h and x86/apic.h (included
 * here) the one vocabulary of both halves.  The guest's instruction
 * accessors are in guest/processor.h.
 *
 * Bit positions are from the Intel SDM vol. 3A chapter 2 (control registers,
 * EFER) and vol. 2A (CPUID); exception vectors from SDM vol. 3A table 6-1.
 */
#ifndef KVM_SUITE_X86_PROCESSOR_H
#define KVM_SUITE_X86_PROCESSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "x86/apic.h"
#include "x86/const.h"
#include "x86/msr.h"
#include "x86/pgtable.h"
#include "x86/vectors.h"

/* CR0, SDM vol. 3A 2.5 */
#define X86_CR0_PE	BIT(0)
#define X86_CR0_MP	BIT(1)
#define X86_CR0_EM	BIT(2)
#define X86_CR0_TS	BIT(3)
#define X86_CR0_ET	BIT(4)
#define X86_CR0_NE	BIT(5)
#define X86_CR0_WP	BIT(16)
#define X86_CR0_AM	BIT(18)
#define X86_CR0_NW	BIT(29)
#define X86_CR0_CD	BIT(30)
#define X86_CR0_PG	BIT(31)

/* CR3 without PCIDE: page-level write-through and cache disable */
#define X86_CR3_PWT	BIT(3)
#define X86_CR3_PCD	BIT(4)

/* CR4 */
#define X86_CR4_VME	BIT(0)
#define X86_CR4_PVI	BIT(1)
#define X86_CR4_TSD	BIT(2)
#define X86_CR4_DE	BIT(3)
#define X86_CR4_PSE	BIT(4)
#define X86_CR4_PAE	BIT(5)
#define X86_CR4_MCE	BIT(6)
#define X86_CR4_PGE	BIT(7)
#define X86_CR4_PCE	BIT(8)
#define X86_CR4_OSFXSR	BIT(9)
#define X86_CR4_OSXMMEXCPT BIT(10)
#define X86_CR4_UMIP	BIT(11)
#define X86_CR4_LA57	BIT(12)
#define X86_CR4_VMXE	BIT(13)
#define X86_CR4_SMXE	BIT(14)
#define X86_CR4_FSGSBASE BIT(16)
#define X86_CR4_PCIDE	BIT(17)
#define X86_CR4_OSXSAVE	BIT(18)
#define X86_CR4_SMEP	BIT(20)
#define X86_CR4_SMAP	BIT(21)
#define X86_CR4_PKE	BIT(22)
#define X86_CR4_CET	BIT(23)

/* RFLAGS */
#define X86_EFLAGS_CF	BIT(0)
#define X86_EFLAGS_FIXED BIT(1)
#define X86_EFLAGS_PF	BIT(2)
#define X86_EFLAGS_AF	BIT(4)
#define X86_EFLAGS_ZF	BIT(6)
#define X86_EFLAGS_SF	BIT(7)
#define X86_EFLAGS_TF	BIT(8)
#define X86_EFLAGS_IF	BIT(9)
#define X86_EFLAGS_DF	BIT(10)
#define X86_EFLAGS_OF	BIT(11)
#define X86_EFLAGS_IOPL	(3ULL << 12)
#define X86_EFLAGS_NT	BIT(14)
#define X86_EFLAGS_RF	BIT(16)
#define X86_EFLAGS_VM	BIT(17)
#define X86_EFLAGS_AC	BIT(18)
/* The status flags arithmetic instructions write; a plain number for asm strings. */
#define X86_EFLAGS_ARITH 0x8d5
_Static_assert(X86_EFLAGS_ARITH == (X86_EFLAGS_OF | X86_EFLAGS_SF | X86_EFLAGS_ZF | X86_EFLAGS_AF |
				    X86_EFLAGS_PF | X86_EFLAGS_CF), "OF SF ZF AF PF CF");

/*
 * Debug registers, SDM vol. 3B 18.2.3 (DR6) and 18.2.4 (DR7).  DR6_INIT is
 * DR6 with no condition reported: the bits that read as 1.
 */
#define DR6_TRAP_BITS	0xfULL		/* B0-B3 */
#define DR6_BD		BIT(13)
#define DR6_BS		BIT(14)
#define DR6_BT		BIT(15)
#define DR6_INIT	0xffff0ff0ULL
#define DR7_FIXED_1	BIT(10)
#define DR7_L(n)	BIT(2 * (n))		/* local enable of DRn */
#define DR7_RW_SHIFT(n)	(16 + 4 * (n))
#define DR7_LEN_SHIFT(n)	(18 + 4 * (n))
#define DR7_RW_EXEC	0ULL
#define DR7_RW_WRITE	1ULL
#define DR7_RW_IO	2ULL
#define DR7_RW_RW	3ULL
/* LEN field for a 1, 2, 4 or 8 byte breakpoint (8: 10b, 4: 11b). */
#define DR7_LEN(bytes)	((bytes) == 1 ? 0ULL : (bytes) == 2 ? 1ULL : (bytes) == 8 ? 2ULL : 3ULL)

/* EFER, SDM vol. 3A 2.2.1 */
#define EFER_SCE	BIT(0)
#define EFER_LME	BIT(8)
#define EFER_LMA	BIT(10)
#define EFER_NX		BIT(11)
#define EFER_SVME	BIT(12)
#define EFER_FFXSR	BIT(14)
#define EFER_TCE	BIT(15)

/* XCR0 state-component bits, SDM vol. 1 13.1 and 13.3 */
#define XFEATURE_MASK_X87	BIT_ULL(0)
#define XFEATURE_MASK_SSE	BIT_ULL(1)
#define XFEATURE_MASK_AVX	BIT_ULL(2)
#define XFEATURE_MASK_AVX512	(BIT_ULL(5) | BIT_ULL(6) | BIT_ULL(7))

/* #PF error code bits, SDM vol. 3A 4.7 */
#define PFERR_PRESENT	BIT(0)
#define PFERR_WRITE	BIT(1)
#define PFERR_USER	BIT(2)
#define PFERR_RSVD	BIT(3)
#define PFERR_FETCH	BIT(4)

_Static_assert(X86_ERROR_CODE_VECTORS == (1u << DF_VECTOR | 1u << TS_VECTOR | 1u << NP_VECTOR |
					  1u << SS_VECTOR | 1u << GP_VECTOR | 1u << PF_VECTOR |
					  1u << AC_VECTOR | 1u << CP_VECTOR | 1u << 29 | 1u << 30),
	       "x86/vectors.h");

/* Does the CPU push an error code for this vector?  SDM vol. 3A 6.13. */
static inline bool vector_has_error_code(unsigned int vector)
{
	return vector < 32 && (X86_ERROR_CODE_VECTORS >> vector) & 1;
}

/* Selectors of the GDT every vCPU gets (see lib/x86_vcpu.c). */
#define KERNEL_CS	0x08
#define KERNEL_DS	0x10
#define KERNEL_CS32	0x18
#define USER_DS		0x23
#define USER_CS		0x2b
#define TSS_SEL_BASE	0x30	/* vCPU n's TSS is at TSS_SEL_BASE + 16 * n */

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

/*
 * CPUID feature bits, as (leaf, subleaf, register, bit).  The register is
 * named by its index in struct cpuid_regs (EAX=0 .. EDX=3).
 */
struct x86_feature {
	uint32_t leaf;
	uint32_t index;
	uint8_t reg;
	uint8_t bit;
};

#define X86_FEATURE(l, i, r, b)	((struct x86_feature){ l, i, r, b })
#define CPUID_EAX 0
#define CPUID_EBX 1
#define CPUID_ECX 2
#define CPUID_EDX 3
#define X86_FEATURE_SSE3	X86_FEATURE(1, 0, CPUID_ECX, 0)
#define X86_FEATURE_VMX		X86_FEATURE(1, 0, CPUID_ECX, 5)
#define X86_FEATURE_SMX		X86_FEATURE(1, 0, CPUID_ECX, 6)
#define X86_FEATURE_PCID	X86_FEATURE(1, 0, CPUID_ECX, 17)
#define X86_FEATURE_X2APIC	X86_FEATURE(1, 0, CPUID_ECX, 21)
#define X86_FEATURE_MOVBE	X86_FEATURE(1, 0, CPUID_ECX, 22)
#define X86_FEATURE_TSC_DEADLINE X86_FEATURE(1, 0, CPUID_ECX, 24)
#define X86_FEATURE_XSAVE	X86_FEATURE(1, 0, CPUID_ECX, 26)
#define X86_FEATURE_OSXSAVE	X86_FEATURE(1, 0, CPUID_ECX, 27)
#define X86_FEATURE_AVX		X86_FEATURE(1, 0, CPUID_ECX, 28)
#define X86_FEATURE_HYPERVISOR	X86_FEATURE(1, 0, CPUID_ECX, 31)
#define X86_FEATURE_MSR		X86_FEATURE(1, 0, CPUID_EDX, 5)
#define X86_FEATURE_PAE		X86_FEATURE(1, 0, CPUID_EDX, 6)
#define X86_FEATURE_MCE		X86_FEATURE(1, 0, CPUID_EDX, 7)
#define X86_FEATURE_APIC	X86_FEATURE(1, 0, CPUID_EDX, 9)
#define X86_FEATURE_MCA		X86_FEATURE(1, 0, CPUID_EDX, 14)
#define X86_FEATURE_FSGSBASE	X86_FEATURE(7, 0, CPUID_EBX, 0)
#define X86_FEATURE_TSC_ADJUST	X86_FEATURE(7, 0, CPUID_EBX, 1)
#define X86_FEATURE_SMEP	X86_FEATURE(7, 0, CPUID_EBX, 7)
#define X86_FEATURE_SMAP	X86_FEATURE(7, 0, CPUID_EBX, 20)
#define X86_FEATURE_UMIP	X86_FEATURE(7, 0, CPUID_ECX, 2)
#define X86_FEATURE_PKU		X86_FEATURE(7, 0, CPUID_ECX, 3)
#define X86_FEATURE_LA57	X86_FEATURE(7, 0, CPUID_ECX, 16)
#define X86_FEATURE_SHSTK	X86_FEATURE(7, 0, CPUID_ECX, 7)
#define X86_FEATURE_LAM		X86_FEATURE(7, 1, CPUID_EAX, 26)
#define X86_FEATURE_XGETBV1	X86_FEATURE(0xd, 1, CPUID_EAX, 2)
#define X86_FEATURE_XSAVES	X86_FEATURE(0xd, 1, CPUID_EAX, 3)
#define X86_FEATURE_SVM		X86_FEATURE(0x80000001, 0, CPUID_ECX, 2)
#define X86_FEATURE_TCE		X86_FEATURE(0x80000001, 0, CPUID_ECX, 17)
#define X86_FEATURE_NX		X86_FEATURE(0x80000001, 0, CPUID_EDX, 20)
#define X86_FEATURE_FFXSR	X86_FEATURE(0x80000001, 0, CPUID_EDX, 25)
#define X86_FEATURE_GBPAGES	X86_FEATURE(0x80000001, 0, CPUID_EDX, 26)
#define X86_FEATURE_RDTSCP	X86_FEATURE(0x80000001, 0, CPUID_EDX, 27)
#define X86_FEATURE_LM		X86_FEATURE(0x80000001, 0, CPUID_EDX, 29)
#define X86_FEATURE_NPT		X86_FEATURE(0x8000000a, 0, CPUID_EDX, 0)
#define X86_FEATURE_NRIPS	X86_FEATURE(0x8000000a, 0, CPUID_EDX, 3)
/* KVM's paravirtual features, Documentation/virt/kvm/x86/cpuid.rst */
#define X86_FEATURE_KVM_CLOCKSOURCE2	X86_FEATURE(0x40000001, 0, CPUID_EAX, 3)
#define X86_FEATURE_KVM_CLOCKSOURCE_STABLE X86_FEATURE(0x40000001, 0, CPUID_EAX, 24)

static inline uint32_t cpuid_reg(const struct cpuid_regs *r, uint8_t reg)
{
	const uint32_t *v = &r->eax;

	return v[reg];
}

#endif /* KVM_SUITE_X86_PROCESSOR_H */
