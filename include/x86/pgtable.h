/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * 4-level paging: page sizes and paging-structure entry bits (SDM vol. 3A
 * 4.5, tables 4-14 to 4-19), one vocabulary for the host's page-table code
 * (lib/x86_pgtable.c), the guest's (guest_lib/mce.c) and nested page tables
 * (guest_lib/nested.c: AMD's NPT uses the long-mode format, APM 15.25).
 * Plain #defines: usable from .S files.
 */
#ifndef KVM_SUITE_X86_PGTABLE_H
#define KVM_SUITE_X86_PGTABLE_H

#include "x86/const.h"

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define HUGEPAGE_SIZE	(1UL << 21)

#define PTE_PRESENT	BIT_ULL(0)
#define PTE_WRITABLE	BIT_ULL(1)
#define PTE_USER	BIT_ULL(2)
#define PTE_PWT		BIT_ULL(3)
#define PTE_PCD		BIT_ULL(4)
#define PTE_ACCESSED	BIT_ULL(5)
#define PTE_DIRTY	BIT_ULL(6)
#define PTE_LARGE	BIT_ULL(7)	/* PS: a PDE or PDPTE maps a 2 MiB / 1 GiB page */
#define PTE_PAT_4K	BIT_ULL(7)	/* PAT bit of a 4 KiB PTE */
#define PTE_GLOBAL	BIT_ULL(8)
#define PTE_PAT_LARGE	BIT_ULL(12)	/* PAT bit of a 2 MiB / 1 GiB entry */
#define PTE_NX		BIT_ULL(63)
#define PTE_ADDR_MASK	0x000ffffffffff000ULL
#define PTE_DEFAULT	(PTE_PRESENT | PTE_WRITABLE)

#endif /* KVM_SUITE_X86_PGTABLE_H */
