/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * AMD SVM for L1 guest code (guest_lib/svm.c): set up a VMCB and run L2
 * with VMRUN, over the encodings of x86/svm.h.  guest/nested.h is the
 * vendor-neutral layer most tests use.
 */
#ifndef KVM_SUITE_GUEST_SVM_H
#define KVM_SUITE_GUEST_SVM_H

#include <stdbool.h>
#include <stdint.h>

#include "guest/processor.h"
#include "guest/ucall.h"
#include "x86/svm.h"

const char *svm_exit_name(uint64_t code);

/* In L1: the #VMEXIT was code, else fail with the exit and its info. */
#define SVM_EXPECT_EXIT(vmcb, code) do {					\
	uint64_t __c = (vmcb)->control.exit_code;				\
	__GUEST_ASSERT(__c == (uint64_t)(code), "#VMEXIT %s (0x%lx), expected %s (0x%lx); "	\
		       "exit_info_1 0x%lx exit_info_2 0x%lx exit_int_info 0x%x",	\
		       svm_exit_name(__c), __c, svm_exit_name(code), (uint64_t)(code),	\
		       (vmcb)->control.exit_info_1, (vmcb)->control.exit_info_2,	\
		       (vmcb)->control.exit_int_info);				\
} while (0)

/* L2's general-purpose registers; RAX and RSP live in the VMCB. */
struct svm_gprs {
	uint64_t rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

bool svm_supported(void);			/* CPUID 0x80000001 ECX.SVM */
uint32_t svm_features(void);			/* CPUID 0x8000000A EDX */
/* EFER.SVME, VM_HSAVE_PA, and a VMCB that runs entry on stack_top with L1's state. */
void svm_init(const struct svm_pages *p, void *entry, uint64_t stack_top);
/* The VMCB's state save area: L1's current state, at entry on stack_top. */
void svm_vmcb_init_state(struct vmcb *vmcb, void *entry, uint64_t stack_top);
/* A VMCB segment from GDT selector sel (base, limit, attributes). */
void svm_seg_from_gdt(struct vmcb_seg *s, uint16_t sel);
/* VMRUN the VMCB at vmcb_gpa with L2 registers r; returns the exit code. */
uint64_t svm_run(uint64_t vmcb_gpa, struct svm_gprs *r);
/* Set the IOPM bit of port / the MSRPM read and write bits of msr. */
void svm_intercept_port(uint64_t iopm, uint16_t port, bool on);
void svm_intercept_msr(uint64_t msrpm, uint32_t msr, bool on);
/* Set (or clear) the MSRPM read bit and the write bit of msr separately. */
void svm_intercept_msr_rw(uint64_t msrpm, uint32_t msr, bool read, bool write);

static inline void svm_vmload(uint64_t vmcb_gpa)
{
	asm volatile("vmload %%rax" :: "a"(vmcb_gpa) : "memory");
}

static inline void svm_vmsave(uint64_t vmcb_gpa)
{
	asm volatile("vmsave %%rax" :: "a"(vmcb_gpa) : "memory");
}

static inline void svm_vmmcall(uint64_t arg)
{
	asm volatile("vmmcall" : "+a"(arg) :: "memory");
}

static inline void clgi(void)
{
	asm volatile("clgi" ::: "memory");
}

static inline void stgi(void)
{
	asm volatile("stgi" ::: "memory");
}

#endif /* KVM_SUITE_GUEST_SVM_H */
