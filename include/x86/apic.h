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
#define APIC_ARBPRI	0x90
#define APIC_PPR	0xa0
#define APIC_EOI	0xb0
#define APIC_LDR	0xd0
#define APIC_DFR	0xe0
#define APIC_SVR	0xf0
#define APIC_ISR	0x100	/* ISR, TMR, IRR: 8 registers each, 0x10 apart */
#define APIC_TMR	0x180
#define APIC_IRR	0x200
#define APIC_ESR	0x280
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
#define APIC_SELF_IPI	0x3f0	/* x2APIC mode only */

/* x2APIC (SDM vol. 3A 11.12.1.2): the register at xAPIC offset reg is MSR 0x800 + reg / 16 */
#define X2APIC_MSR_BASE		0x800
#define X2APIC_MSR(reg)		(X2APIC_MSR_BASE + ((reg) >> 4))

#define APIC_SVR_ENABLE		BIT(8)		/* APIC software enable */
#define APIC_LVT_MASKED		BIT(16)
/* LVT (11.5.1) and ICR (11.6.1): delivery status, bit 12; LVT LINT0/1 bits 13-15 */
#define APIC_DELIV_STATUS	BIT(12)
#define APIC_LVT_POLARITY	BIT(13)
#define APIC_LVT_REMOTE_IRR	BIT(14)
#define APIC_LVT_LEVEL		BIT(15)
#define APIC_LVT_TIMER_PERIODIC	(1u << 17)	/* LVT timer mode (11.5.1) */
#define APIC_LVT_TIMER_TSCDEADLINE (2u << 17)
/* ICR (11.6.1): delivery mode 10:8, destination mode 11, level 14, shorthand 19:18 */
#define APIC_DM_FIXED		(0u << 8)
#define APIC_DM_LOWEST		(1u << 8)
#define APIC_DM_SMI		(2u << 8)
#define APIC_DM_NMI		(4u << 8)
#define APIC_DM_INIT		(5u << 8)
#define APIC_DM_STARTUP		(6u << 8)
#define APIC_DM_EXTINT		(7u << 8)
#define APIC_DM_MASK		(7u << 8)
#define APIC_DEST_LOGICAL	(1u << 11)
#define APIC_LEVEL_ASSERT	(1u << 14)
#define APIC_ICR_LEVEL_TRIG	(1u << 15)	/* trigger mode: level */
#define APIC_DEST_SELF		(1u << 18)
#define APIC_DEST_ALLINC	(2u << 18)
#define APIC_DEST_ALLBUT	(3u << 18)
#define APIC_DEST_SHORT_MASK	(3u << 18)
#define APIC_DEST_BROADCAST	0xffu		/* xAPIC destination field: every APIC */

#endif /* KVM_SUITE_X86_APIC_H */
