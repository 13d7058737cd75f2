/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x86-64 architectural definitions shared by host and guest code, and the
 * guest's instruction accessors (CPUID, CRs, MSRs, port I/O).
 *
 * Bit positions are from the Intel SDM vol. 3A chapter 2 (control registers,
 * EFER) and vol. 2A (CPUID); exception vectors from SDM vol. 3A table 6-1.
 */
#ifndef KVM_SUITE_PROCESSOR_H
#define KVM_SUITE_PROCESSOR_H

#include <stdbool.h>
#include <stdint.h>

#define BIT(n)		(1UL << (n))
#define BIT_ULL(n)	(1ULL << (n))

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define HUGEPAGE_SIZE	(1UL << 21)

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

/* RFLAGS */
#define X86_EFLAGS_FIXED BIT(1)
#define X86_EFLAGS_TF	BIT(8)
#define X86_EFLAGS_IF	BIT(9)
#define X86_EFLAGS_AC	BIT(18)

/* EFER, SDM vol. 3A 2.2.1 */
#define EFER_SCE	BIT(0)
#define EFER_LME	BIT(8)
#define EFER_LMA	BIT(10)
#define EFER_NX		BIT(11)
#define EFER_SVME	BIT(12)

/* MSRs */
#define MSR_IA32_TSC			0x00000010
#define MSR_IA32_PLATFORM_ID		0x00000017
#define MSR_IA32_APICBASE		0x0000001b
#define MSR_IA32_FEATURE_CONTROL	0x0000003a
#define MSR_IA32_TSC_ADJUST		0x0000003b
#define MSR_IA32_SYSENTER_CS		0x00000174
#define MSR_IA32_SYSENTER_ESP		0x00000175
#define MSR_IA32_SYSENTER_EIP		0x00000176
#define MSR_IA32_MCG_CAP		0x00000179
#define MSR_IA32_MCG_STATUS		0x0000017a
#define MSR_IA32_MCG_CTL		0x0000017b
#define MSR_IA32_MISC_ENABLE		0x000001a0
#define MSR_IA32_CR_PAT			0x00000277
#define MSR_IA32_MC0_CTL		0x00000400
#define MSR_IA32_MC0_STATUS		0x00000401
#define MSR_IA32_MC0_ADDR		0x00000402
#define MSR_IA32_MC0_MISC		0x00000403
#define MSR_IA32_MCx_CTL(x)		(MSR_IA32_MC0_CTL + 4 * (x))
#define MSR_IA32_MCx_STATUS(x)		(MSR_IA32_MC0_STATUS + 4 * (x))
#define MSR_IA32_MCx_ADDR(x)		(MSR_IA32_MC0_ADDR + 4 * (x))
#define MSR_IA32_MCx_MISC(x)		(MSR_IA32_MC0_MISC + 4 * (x))
#define MSR_IA32_TSC_DEADLINE		0x000006e0
#define MSR_EFER			0xc0000080
#define MSR_STAR			0xc0000081
#define MSR_LSTAR			0xc0000082
#define MSR_CSTAR			0xc0000083
#define MSR_SYSCALL_MASK		0xc0000084
#define MSR_FS_BASE			0xc0000100
#define MSR_GS_BASE			0xc0000101
#define MSR_KERNEL_GS_BASE		0xc0000102
#define MSR_TSC_AUX			0xc0000103
#define MSR_VM_HSAVE_PA			0xc0010117

/* Exception vectors, SDM vol. 3A table 6-1 */
#define DE_VECTOR	0
#define DB_VECTOR	1
#define NMI_VECTOR	2
#define BP_VECTOR	3
#define OF_VECTOR	4
#define BR_VECTOR	5
#define UD_VECTOR	6
#define NM_VECTOR	7
#define DF_VECTOR	8
#define TS_VECTOR	10
#define NP_VECTOR	11
#define SS_VECTOR	12
#define GP_VECTOR	13
#define PF_VECTOR	14
#define MF_VECTOR	16
#define AC_VECTOR	17
#define MC_VECTOR	18
#define XM_VECTOR	19
#define VE_VECTOR	20
#define CP_VECTOR	21
#define NR_VECTORS	256

/* #PF error code bits, SDM vol. 3A 4.7 */
#define PFERR_PRESENT	BIT(0)
#define PFERR_WRITE	BIT(1)
#define PFERR_USER	BIT(2)
#define PFERR_RSVD	BIT(3)
#define PFERR_FETCH	BIT(4)

/* Does the CPU push an error code for this vector?  SDM vol. 3A 6.13. */
static inline bool vector_has_error_code(unsigned int vector)
{
	return vector == DF_VECTOR || (vector >= TS_VECTOR && vector <= PF_VECTOR) ||
	       vector == AC_VECTOR || vector == CP_VECTOR || vector == 29 || vector == 30;
}

/* "#GP" for 13 etc.; "vector" for anything without a mnemonic. */
const char *exception_mnemonic(unsigned int vector);

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
#define X86_FEATURE_X2APIC	X86_FEATURE(1, 0, CPUID_ECX, 21)
#define X86_FEATURE_TSC_DEADLINE X86_FEATURE(1, 0, CPUID_ECX, 24)
#define X86_FEATURE_XSAVE	X86_FEATURE(1, 0, CPUID_ECX, 26)
#define X86_FEATURE_HYPERVISOR	X86_FEATURE(1, 0, CPUID_ECX, 31)
#define X86_FEATURE_MSR		X86_FEATURE(1, 0, CPUID_EDX, 5)
#define X86_FEATURE_PAE		X86_FEATURE(1, 0, CPUID_EDX, 6)
#define X86_FEATURE_MCE		X86_FEATURE(1, 0, CPUID_EDX, 7)
#define X86_FEATURE_APIC	X86_FEATURE(1, 0, CPUID_EDX, 9)
#define X86_FEATURE_MCA		X86_FEATURE(1, 0, CPUID_EDX, 14)
#define X86_FEATURE_FSGSBASE	X86_FEATURE(7, 0, CPUID_EBX, 0)
#define X86_FEATURE_SMEP	X86_FEATURE(7, 0, CPUID_EBX, 7)
#define X86_FEATURE_SMAP	X86_FEATURE(7, 0, CPUID_EBX, 20)
#define X86_FEATURE_LA57	X86_FEATURE(7, 0, CPUID_ECX, 16)
#define X86_FEATURE_SVM		X86_FEATURE(0x80000001, 0, CPUID_ECX, 2)
#define X86_FEATURE_NX		X86_FEATURE(0x80000001, 0, CPUID_EDX, 20)
#define X86_FEATURE_GBPAGES	X86_FEATURE(0x80000001, 0, CPUID_EDX, 26)
#define X86_FEATURE_RDTSCP	X86_FEATURE(0x80000001, 0, CPUID_EDX, 27)
#define X86_FEATURE_LM		X86_FEATURE(0x80000001, 0, CPUID_EDX, 29)
#define X86_FEATURE_NPT		X86_FEATURE(0x8000000a, 0, CPUID_EDX, 0)
#define X86_FEATURE_NRIPS	X86_FEATURE(0x8000000a, 0, CPUID_EDX, 3)

static inline uint32_t cpuid_reg(const struct cpuid_regs *r, uint8_t reg)
{
	const uint32_t *v = &r->eax;

	return v[reg];
}

/*
 * Instruction accessors.  They are usable from host code too where the
 * instruction is legal at CPL3 (cpuid), but exist for the guest.
 */
static inline void cpuid_count(uint32_t leaf, uint32_t index, struct cpuid_regs *r)
{
	asm volatile("cpuid"
		     : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
		     : "a"(leaf), "c"(index)
		     : "memory");
}

/*
 * A leaf exists only up to the maximum its range's first leaf reports in
 * EAX: leaf 0 for basic leaves, 0x80000000 for extended ones (SDM vol. 2A
 * CPUID), and 0x400000x0 for a hypervisor's leaves (KVM: 0x40000000, see
 * Documentation/virt/kvm/x86/cpuid.rst; hypervisors may stack ranges every
 * 0x100).
 */
static inline uint32_t cpuid_range_base(uint32_t leaf)
{
	if ((leaf & 0xf0000000) == 0x40000000)
		return leaf & 0xffffff00;
	return leaf & 0x80000000;
}

static inline bool this_cpu_has(struct x86_feature f)
{
	struct cpuid_regs r;

	cpuid_count(cpuid_range_base(f.leaf), 0, &r);
	if (r.eax < f.leaf)
		return false;
	cpuid_count(f.leaf, f.index, &r);
	return cpuid_reg(&r, f.reg) & (1u << f.bit);
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return lo | ((uint64_t)hi << 32);
}

static inline void wrmsr(uint32_t msr, uint64_t value)
{
	asm volatile("wrmsr"
		     :: "a"((uint32_t)value), "d"((uint32_t)(value >> 32)), "c"(msr)
		     : "memory");
}

#define DEFINE_CR_ACCESSORS(n)							\
static inline uint64_t get_cr##n(void)						\
{										\
	uint64_t v;								\
	asm volatile("mov %%cr" #n ", %0" : "=r"(v) :: "memory");		\
	return v;								\
}										\
static inline void set_cr##n(uint64_t v)					\
{										\
	asm volatile("mov %0, %%cr" #n :: "r"(v) : "memory");			\
}
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)
DEFINE_CR_ACCESSORS(8)

static inline uint64_t get_rflags(void)
{
	uint64_t v;

	asm volatile("pushfq; popq %0" : "=r"(v) :: "memory");
	return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" :: "a"(v), "Nd"(port) : "memory");
}

static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" :: "a"(v), "Nd"(port) : "memory");
}

static inline void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" :: "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | ((uint64_t)hi << 32);
}

static inline void cli(void) { asm volatile("cli" ::: "memory"); }
static inline void sti(void) { asm volatile("sti" ::: "memory"); }
static inline void hlt(void) { asm volatile("hlt" ::: "memory"); }
static inline void sti_hlt(void) { asm volatile("sti; hlt" ::: "memory"); }
static inline void cpu_relax(void) { asm volatile("pause" ::: "memory"); }
static inline void invlpg(uint64_t va)
{
	asm volatile("invlpg (%0)" :: "r"(va) : "memory");
}

/*
 * ud2; "kvm": with kvm.force_emulation_prefix on, KVM emulates the
 * instruction that follows (a #UD otherwise).  For asm strings.
 */
#define KVM_FEP ".byte 0x0f, 0x0b, 0x6b, 0x76, 0x6d\n\t"

#endif /* KVM_SUITE_PROCESSOR_H */
