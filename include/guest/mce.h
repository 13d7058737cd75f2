/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest's machine-check framework (guest_lib/mce.c): the #MC handler,
 * polling, and the memory-failure path; its record is mce_guest
 * (x86/mce.h).
 */
#ifndef KVM_SUITE_GUEST_MCE_H
#define KVM_SUITE_GUEST_MCE_H

#include <stdint.h>

#include "x86/mce.h"

/* Set CR4.MCE and install the #MC handler; reads MCG_CAP. */
void guest_mce_init(void);
/* Poll every bank for logged errors (corrected errors raise no #MC). */
unsigned int guest_mce_poll(void);
/* The guest's own page-table walk: the 4 KiB PTE for va, or NULL. */
uint64_t *guest_mce_pte(uint64_t va);

#endif /* KVM_SUITE_GUEST_MCE_H */
