/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The I/O APIC's registers (Intel 82093AA datasheet, 3.0-3.2), at
 * IOAPIC_DEFAULT_GPA (x86/apic.h): the index register IOREGSEL, the data
 * window IOWIN, and the bits of a redirection-table entry.  Plain #defines:
 * usable from .S files and from the host (struct kvm_ioapic_state's
 * redirtbl[].bits use the same layout).
 */
#ifndef KVM_SUITE_X86_IOAPIC_H
#define KVM_SUITE_X86_IOAPIC_H

#include "x86/apic.h"
#include "x86/const.h"

#define IOAPIC_IOREGSEL		(IOAPIC_DEFAULT_GPA + 0x00)
#define IOAPIC_IOWIN		(IOAPIC_DEFAULT_GPA + 0x10)

#define IOAPIC_REG_ID		0x00
#define IOAPIC_REG_VER		0x01
#define IOAPIC_REDTBL_LO(pin)	(0x10 + 2 * (pin))
#define IOAPIC_REDTBL_HI(pin)	(0x11 + 2 * (pin))

/* Redirection-table entry, low dword (3.2.4) */
#define IOAPIC_RTE_LOGICAL	BIT(11)		/* destination mode */
#define IOAPIC_RTE_DELIVS	BIT(12)		/* delivery status, read-only */
#define IOAPIC_RTE_ACTIVE_LOW	BIT(13)		/* interrupt input pin polarity */
#define IOAPIC_RTE_REMOTE_IRR	BIT(14)		/* read-only */
#define IOAPIC_RTE_LEVEL	BIT(15)		/* trigger mode */
#define IOAPIC_RTE_MASKED	BIT(16)

#endif /* KVM_SUITE_X86_IOAPIC_H */
