/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Offsets into struct guest_percpu (x86/runtime.h) that assembly uses
 * through %gs: ASM_SAFE and guest_lib/entry.S.  Plain #defines so that
 * entry.S includes this very header; x86/runtime.h asserts each offset
 * against the structure.
 */
#ifndef KVM_SUITE_X86_PERCPU_H
#define KVM_SUITE_X86_PERCPU_H

#define PERCPU_FIXUP_RIP	0x08
#define PERCPU_FAULT_VECTOR	0x10
#define PERCPU_FAULT_ERRCODE	0x18
#define PERCPU_ESCAPE_RSP	0x40
/* guest_percpu.fault_vector when nothing faulted; guest_run_safe()'s "no exception". */
#define NO_VECTOR		0xff

#endif /* KVM_SUITE_X86_PERCPU_H */
