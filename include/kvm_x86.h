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

/* CPUID leaf eax, subleaf ecx, as this vCPU sees it. */
void kvm_get_cpuid(unsigned int eax, unsigned int ecx, struct kvm_cpuid *buf);

/*
 * LTP's top-level page table (the PML4 in 64-bit mode): the table CR3
 * points to, identity mapped like all of the low 2 GiB.
 */
#define kvm_pagetable								\
	((struct page_table_entry_pae *)(uintptr_t)(get_cr3() & PTE_ADDR_MASK))

#define PAGESIZE		PAGE_SIZE
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

/* CPUID leaves and MSRs, LTP's names. */
#define CPUID_GET_INPUT_RANGE	0x80000000
#define CPUID_GET_EXT_FEATURES	0x80000001
#define CPUID_GET_SVM_FEATURES	0x8000000a
#define MSR_SYSENTER_CS		MSR_IA32_SYSENTER_CS
#define MSR_SYSENTER_ESP	MSR_IA32_SYSENTER_ESP
#define MSR_SYSENTER_EIP	MSR_IA32_SYSENTER_EIP
#define MSR_SFMASK		MSR_SYSCALL_MASK
#define EFER_NXE		EFER_NX
#define VM_CR_SVMDIS		(1 << 4)	/* MSR_VM_CR: SVM disabled (APM 15.30.1) */

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
