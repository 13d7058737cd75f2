/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest's access to the I/O APIC (x86/ioapic.h): an indirect register
 * read or write through IOREGSEL/IOWIN.  The page at IOAPIC_DEFAULT_GPA must
 * be mapped (virt_map_mmio() on the host).
 */
#ifndef KVM_SUITE_GUEST_IOAPIC_H
#define KVM_SUITE_GUEST_IOAPIC_H

#include <stdint.h>

#include "x86/ioapic.h"

static inline uint32_t ioapic_read(uint32_t reg)
{
	*(volatile uint32_t *)IOAPIC_IOREGSEL = reg;
	return *(volatile uint32_t *)IOAPIC_IOWIN;
}

static inline void ioapic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)IOAPIC_IOREGSEL = reg;
	*(volatile uint32_t *)IOAPIC_IOWIN = val;
}

#endif /* KVM_SUITE_GUEST_IOAPIC_H */
