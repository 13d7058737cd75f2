/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest runtime: what guest code may use besides guest/ucall.h.  The
 * layouts the host shares (struct guest_percpu, struct ex_regs) are in
 * x86/runtime.h.
 *
 * Every vCPU starts in 64-bit mode at CPL0 with paging on, interrupts off,
 * its own stack (GUEST_STACK_SIZE, guard page below), its own TSS (IST
 * stacks for #DF, NMI and #MC) and GS.base pointing at its struct
 * guest_percpu.  All 256 IDT vectors enter guest_exception_dispatch().
 *
 * Guest code must not use libc, TLS, floating point or SSE (the build
 * compiles guest code with -mgeneral-regs-only); the string functions below
 * are the suite's own.
 */
#ifndef KVM_SUITE_GUEST_H
#define KVM_SUITE_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "guest/printf.h"
#include "guest/processor.h"
#include "guest/ucall.h"
#include "x86/runtime.h"

static inline struct guest_percpu *this_percpu(void)
{
	struct guest_percpu *p;

	asm volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}

static inline unsigned int guest_vcpu_id(void)
{
	return this_percpu()->vcpu_id;
}

/*
 * Exception handlers.  A handler gets the saved state, may change it (e.g.
 * advance regs->rip past a faulting instruction) and returns to resume the
 * interrupted code with that state.  Vectors without a handler end the test
 * with a report naming the vector, RIP, error code, CR2 and registers.
 * The host can install handlers too: vm_install_exception_handler().
 */
void guest_install_handler(unsigned int vector, guest_handler_t handler);
void guest_exception_dispatch(struct ex_regs *regs);	/* called from entry.S */
void __attribute__((noreturn)) guest_report_unhandled(struct ex_regs *regs);

/*
 * ASM_SAFE(insn): run one instruction; if it raises an exception, resume
 * right after it instead of dying.  Afterwards guest_fault_vector() is the
 * vector it raised or NO_VECTOR.  Use inside extended asm:
 *
 *	asm volatile(ASM_SAFE("rdmsr") : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
 *	vec = guest_fault_vector();
 *
 * Only exceptions (vectors 0-31 except NMI and #MC) are caught.  Immediate
 * label addresses are fine because test binaries are linked non-PIE below 2 GiB.
 */
#define ASM_SAFE(insn)								\
	"movq $886f, %%gs:" __stringify(PERCPU_FIXUP_RIP) "\n\t"			\
	"movq $" __stringify(NO_VECTOR) ", %%gs:" __stringify(PERCPU_FAULT_VECTOR) "\n\t" \
	insn "\n\t"								\
	"886: movq $0, %%gs:" __stringify(PERCPU_FIXUP_RIP) "\n\t"

static inline uint8_t guest_fault_vector(void)
{
	uint64_t v;

	asm volatile("mov %%gs:" __stringify(PERCPU_FAULT_VECTOR) ", %0" : "=r"(v) :: "memory");
	return v;
}

static inline uint64_t guest_fault_error_code(void)
{
	uint64_t v;

	asm volatile("mov %%gs:" __stringify(PERCPU_FAULT_ERRCODE) ", %0" : "=r"(v) :: "memory");
	return v;
}

/* rdmsr/wrmsr that return the vector raised (NO_VECTOR if none) instead of faulting. */
static inline uint8_t rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;
	uint8_t vec;

	asm volatile(ASM_SAFE("rdmsr") : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	vec = guest_fault_vector();
	*val = lo | ((uint64_t)hi << 32);
	return vec;
}

static inline uint8_t wrmsr_safe(uint32_t msr, uint64_t value)
{
	asm volatile(ASM_SAFE("wrmsr")
		     :: "a"((uint32_t)value), "d"((uint32_t)(value >> 32)), "c"(msr)
		     : "memory");
	return guest_fault_vector();
}

/* Run fn(arg); an exception inside it returns here with its vector.  NO_VECTOR if none. */
uint8_t guest_run_safe(void (*fn)(void *arg), void *arg);

/* A segment of the live GDT; desc is 0 for the null selector (guest_lib/gdt.c). */
struct gdt_segment {
	uint16_t sel;
	uint32_t limit;		/* in bytes, granularity applied */
	uint64_t base;
	uint64_t desc;		/* the raw descriptor: attributes in bits 40-47, 52-55 */
};
struct gdt_segment guest_gdt_segment(uint16_t sel);

/* ---- string functions (guest_lib/string.c); the names are the standard ones ---- */
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *dst, const char *src);
char *strcat(char *dst, const char *src);
char *strchr(const char *s, int c);

#endif /* KVM_SUITE_GUEST_H */
