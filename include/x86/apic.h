/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Local APIC (xAPIC MMIO, SDM vol. 3A chapter 11, table 11-1) and I/O APIC
 * (Intel 82093AA datasheet) at their default addresses.  Plain #defines:
 * usable from .S files.
 */
#ifndef KVM_SUITE_X86_APIC_H
#define KVM_SUITE_X86_APIC_H

#include "x86/const.h"

#define APIC_DEFAULT_GPA	0xfee00000ULL	/* IA32_APIC_BASE after reset */
#define IOAPIC_DEFAULT_GPA	0xfec00000ULL

/* xAPIC register offsets from APIC_DEFAULT_GPA */
#define APIC_ID		0x20
#define APIC_LVR	0x30
#define APIC_TPR	0x80
#define APIC_PPR	0xa0
#define APIC_EOI	0xb0
#define APIC_SVR	0xf0
#define APIC_LVTCMCI	0x2f0
#define APIC_ICR_LO	0x300
#define APIC_ICR_HI	0x310
#define APIC_LVTT	0x320
#define APIC_LVTTHMR	0x330
#define APIC_LVTPC	0x340
#define APIC_LVT0	0x350
#define APIC_LVT1	0x360
#define APIC_LVTERR	0x370
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3e0

#define APIC_SVR_ENABLE		BIT(8)		/* APIC software enable */
#define APIC_LVT_MASKED		BIT(16)
#define APIC_DM_SMI		(2u << 8)	/* ICR delivery mode */
#define APIC_LEVEL_ASSERT	(1u << 14)	/* ICR level */

#endif /* KVM_SUITE_X86_APIC_H */
