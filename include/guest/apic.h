/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest's access to its local APIC in xAPIC mode: 32-bit MMIO at
 * APIC_DEFAULT_GPA + the register's offset (x86/apic.h; SDM vol. 3A
 * 11.4.1).  The page must be mapped (virt_map_mmio() on the host).  In
 * x2APIC mode the registers are MSRs: rdmsr(X2APIC_MSR(reg)).
 */
#ifndef KVM_SUITE_GUEST_APIC_H
#define KVM_SUITE_GUEST_APIC_H

#include <stdint.h>

#include "x86/apic.h"

static inline uint32_t xapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(uintptr_t)(APIC_DEFAULT_GPA + reg);
}

static inline void xapic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)(uintptr_t)(APIC_DEFAULT_GPA + reg) = val;
}

#endif /* KVM_SUITE_GUEST_APIC_H */
