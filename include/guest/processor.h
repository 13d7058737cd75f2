/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest's instruction accessors (CPUID, CRs, MSRs, port I/O, TSC,
 * interrupts), over the shared vocabulary of x86/processor.h.  cpuid_count()
 * and this_cpu_has() are legal at CPL3 too, but exist for the guest.
 */
#ifndef KVM_SUITE_GUEST_PROCESSOR_H
#define KVM_SUITE_GUEST_PROCESSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "x86/processor.h"

/* "#GP" for 13 etc.; "vector" for anything without a mnemonic (guest_lib/exceptions.c). */
const char *exception_mnemonic(unsigned int vector);

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

/* MOV from DRn, n in 0-3, 6, 7 (any other n reads 0). */
static inline uint64_t get_dr(int n)
{
	uint64_t v = 0;

	switch (n) {
	case 0: asm volatile("mov %%dr0, %0" : "=r"(v)); break;
	case 1: asm volatile("mov %%dr1, %0" : "=r"(v)); break;
	case 2: asm volatile("mov %%dr2, %0" : "=r"(v)); break;
	case 3: asm volatile("mov %%dr3, %0" : "=r"(v)); break;
	case 6: asm volatile("mov %%dr6, %0" : "=r"(v)); break;
	case 7: asm volatile("mov %%dr7, %0" : "=r"(v)); break;
	}
	return v;
}

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

#endif /* KVM_SUITE_GUEST_PROCESSOR_H */
