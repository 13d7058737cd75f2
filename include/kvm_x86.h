/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * LTP's x86 guest API for LTP-form payloads (kvm_test.h, COMPILE_PAYLOAD).
 * The functions and structs every guest shares are in guest/tst.h
 * (interrupt frames and callbacks, struct page_table_entry_pae,
 * kvm_get_page_address_pae(), struct kvm_cregs, kvm_read_cregs(),
 * kvm_rdmsr(), kvm_wrmsr(), kvm_exit()); this header adds what only the
 * payload pass can have: struct kvm_cpuid, whose name <linux/kvm.h> also
 * uses, kvm_get_cpuid(), and the constant names LTP's tests use.
 *
 * The LTP constant names below are aliases of the suite's one name for
 * each value (x86/vectors.h, x86/msr.h, x86/processor.h), kept only so
 * that LTP's tests build unmodified; suite code uses the suite's names.
 */
#ifndef KVM_SUITE_KVM_X86_H
#define KVM_SUITE_KVM_X86_H

#ifdef KVM_API_VERSION
#error "kvm_x86.h is guest code: include it in the COMPILE_PAYLOAD pass, not with <linux/kvm.h>"
#endif

#include "guest/tst.h"
#include "x86/msr.h"
#include "x86/processor.h"
#include "x86/vectors.h"

struct kvm_cpuid {
	unsigned int eax, ebx, ecx, edx;
};

/* General-purpose registers, LTP's struct (struct kvm_svm_vcpu holds one). */
struct kvm_regs64 {
	uint64_t rax, rbx, rcx, rdx, rdi, rsi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

/* The segment registers' selectors, LTP's struct (kvm_read_sregs()). */
struct kvm_sregs {
	uint16_t cs, ds, es, fs, gs, ss, tr, ldtr;
};

/* CPUID leaf eax, subleaf ecx, as this vCPU sees it. */
void kvm_get_cpuid(unsigned int eax, unsigned int ecx, struct kvm_cpuid *buf);
/* Read the selectors of CS, DS, ES, FS, GS, SS, TR and LDTR into buf. */
void kvm_read_sregs(struct kvm_sregs *buf);
/* MOV to CR0, CR3 or CR4. */
void kvm_set_cr0(unsigned long val);
void kvm_set_cr3(unsigned long val);
void kvm_set_cr4(unsigned long val);

/*
 * Descriptor tables, LTP's view (SDM vol. 3A 3.4.5, 6.14.1).  A segment
 * descriptor's flags, as LTP packs them into one number: bits 7:0 are the
 * descriptor's byte 5 (type, S, DPL, P), bits 11:8 its bits 55:52 (AVL, L,
 * D/B, G).  In 64-bit mode a system descriptor (S=0: LDT, TSS) takes two
 * entries: struct segment_descriptor64.
 */
struct segment_descriptor {
	unsigned int limit_lo : 16;
	unsigned int baseaddr_lo : 24;
	unsigned int flags_lo : 8;
	unsigned int limit_hi : 4;
	unsigned int flags_hi : 4;
	unsigned int baseaddr_hi : 8;
} __attribute__((packed));

struct segment_descriptor64 {
	unsigned int limit_lo : 16;
	unsigned int baseaddr_lo : 24;
	unsigned int flags_lo : 8;
	unsigned int limit_hi : 4;
	unsigned int flags_hi : 4;
	uint64_t baseaddr_hi : 40;
	uint32_t reserved;
} __attribute__((packed));

/* A 64-bit IDT gate (SDM vol. 3A 6.14.1, figure 6-8). */
struct intr_descriptor {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t flags;
	uint64_t offset_hi;	/* bits 63:16 of the offset, then 16 zero bits */
	uint16_t padding;
} __attribute__((packed));

_Static_assert(sizeof(struct segment_descriptor) == 8, "a segment descriptor");
_Static_assert(sizeof(struct segment_descriptor64) == 16, "a system descriptor");
_Static_assert(sizeof(struct intr_descriptor) == 16, "an IDT gate");

/*
 * The live GDT and IDT (SGDT/SIDT), which the LTP API may extend: entries
 * 0 .. KVM_GDT_SIZE - 1 of the GDT are LTP's to use; those the environment
 * does not use are zero (not present), see kvm_find_free_descriptor().
 */
#define KVM_GDT_SIZE		32
#define kvm_gdt			((struct segment_descriptor *)tst_gdt_base())
#define kvm_idt			((struct intr_descriptor *)tst_idt_base())
uintptr_t tst_gdt_base(void);
uintptr_t tst_idt_base(void);

/* Fill a descriptor; a system one (no SEGFLAG_NSYSTEM) fills two entries. */
void kvm_set_segment_descriptor(struct segment_descriptor *dst, uint64_t baseaddr,
				uint32_t limit, unsigned int flags);
/* Read a descriptor's base, limit (as stored: in pages with G) and flags; NULL skips one. */
void kvm_parse_segment_descriptor(struct segment_descriptor *src, uint64_t *baseaddr,
				  uint32_t *limit, unsigned int *flags);
/* Index of the first non-present entry after entry 0 in table[0 .. size - 1], or -1. */
int kvm_find_free_descriptor(const struct segment_descriptor *table, size_t size);
/* A new expand-up 32-bit stack segment below stack_base; returns its index. */
unsigned int kvm_create_stack_descriptor(struct segment_descriptor *table, size_t tabsize,
					 void *stack_base);

/*
 * Where the LTP API's nested guests (kvm_x86_svm.h, kvm_x86_vmx.h) start:
 * call the function whose address is in RAX, then HLT with its return
 * value in RAX (again after a resume).  Enter it with RSP 16-byte aligned.
 */
extern char tst_l2_entry[];

/* LTP's segment types and flags for the functions above. */
#define SEGTYPE_LDT		0x02
#define SEGTYPE_TSS		0x09
#define SEGTYPE_TSS_BUSY	0x0b
#define SEGTYPE_CALL_GATE	0x0c
#define SEGTYPE_INTR_GATE	0x0e
#define SEGTYPE_TRAP_GATE	0x0f
#define SEGTYPE_RODATA		0x10
#define SEGTYPE_RWDATA		0x12
#define SEGTYPE_STACK		0x16
#define SEGTYPE_CODE		0x1a
#define SEGTYPE_MASK		0x1f
#define SEGFLAG_NSYSTEM		0x10	/* S: code or data */
#define SEGFLAG_PRESENT		0x80
#define SEGFLAG_CODE64		0x200	/* L */
#define SEGFLAG_32BIT		0x400	/* D/B */
#define SEGFLAG_PAGE_LIMIT	0x800	/* G */

/*
 * LTP's top-level page table (the PML4 in 64-bit mode): the table CR3
 * points to, identity mapped like all of the low 2 GiB.
 */
#define kvm_pagetable								\
	((struct page_table_entry_pae *)(uintptr_t)(get_cr3() & PTE_ADDR_MASK))

/* LTP's PAGESIZE, spelt as LTP's tests spell it (one may #define it again). */
#define PAGESIZE		0x1000
_Static_assert(PAGESIZE == PAGE_SIZE, "PAGESIZE is PAGE_SIZE");
#define X86_INTR_COUNT		NR_VECTORS

/* Exception vectors, LTP's names (SDM vol. 3A 6.3.1, table 6-1). */
#define INTR_ZERODIV		DE_VECTOR
#define INTR_DEBUG		DB_VECTOR
#define INTR_NMI		NMI_VECTOR
#define INTR_BREAKPOINT		BP_VECTOR
#define INTR_OVERFLOW		OF_VECTOR
#define INTR_BOUND_RANGE_EXC	BR_VECTOR
#define INTR_BAD_OPCODE		UD_VECTOR
#define INTR_DEVICE_ERROR	NM_VECTOR
#define INTR_DOUBLE_FAULT	DF_VECTOR
#define INTR_INVALID_TSS	TS_VECTOR
#define INTR_SEGFAULT		NP_VECTOR
#define INTR_STACK_FAULT	SS_VECTOR
#define INTR_GPF		GP_VECTOR
#define INTR_PAGE_FAULT		PF_VECTOR
#define INTR_FPU_ERROR		MF_VECTOR
#define INTR_ALIGNMENT_ERROR	AC_VECTOR
#define INTR_MACHINE_CHECK	MC_VECTOR
#define INTR_SIMD_ERROR		XM_VECTOR
#define INTR_VIRT_ERROR		VE_VECTOR
#define INTR_CPE		CP_VECTOR

/* CPUID leaves and MSRs, LTP's names. */
#define CPUID_GET_MODEL_INFO	0x1
#define CPUID_GET_INPUT_RANGE	0x80000000
#define CPUID_GET_EXT_FEATURES	0x80000001
#define CPUID_GET_SVM_FEATURES	0x8000000a
#define MSR_SYSENTER_CS		MSR_IA32_SYSENTER_CS
#define MSR_SYSENTER_ESP	MSR_IA32_SYSENTER_ESP
#define MSR_SYSENTER_EIP	MSR_IA32_SYSENTER_EIP
#define MSR_SFMASK		MSR_SYSCALL_MASK
#define EFER_NXE		EFER_NX
#define VM_CR_SVMDIS		(1 << 4)	/* MSR_VM_CR: SVM disabled (APM 15.30.1) */

/* CR0 bits, LTP's names. */
#define CR0_PE			X86_CR0_PE
#define CR0_NE			X86_CR0_NE
#define CR0_WP			X86_CR0_WP
#define CR0_PG			X86_CR0_PG

/* CR4 bits, LTP's names. */
#define CR4_PSE			X86_CR4_PSE
#define CR4_PAE			X86_CR4_PAE
#define CR4_PGE			X86_CR4_PGE
#define CR4_LA57		X86_CR4_LA57
#define CR4_VMXE		X86_CR4_VMXE
#define CR4_SMEP		X86_CR4_SMEP
#define CR4_SMAP		X86_CR4_SMAP
#define CR4_PKE			X86_CR4_PKE

#endif /* KVM_SUITE_KVM_X86_H */
