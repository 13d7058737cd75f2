/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Nested virtualization, what host and L1 guest code share: the pages the
 * host allocates for L1 (nested_alloc()), the size of the nested identity
 * map and the SYNC by which L1 asks the host to SKIP.  The guest API is
 * guest/nested.h, the host's nested.h; how to write a nested test is in
 * the latter.
 */
#ifndef KVM_SUITE_X86_NESTED_H
#define KVM_SUITE_X86_NESTED_H

#include <stdint.h>

#include "x86/svm.h"
#include "x86/vmx.h"

/* Pages the host allocates for L1 (nested_alloc()); identity mapped. */
struct nested_pages {
	struct svm_pages svm;
	struct vmx_pages vmx;
	uint64_t l2_stack_top;
	uint64_t pool, pool_pages;	/* spare zeroed pages, e.g. for NPT/EPT tables */
};

/* guest_nested_tdp_enable() identity-maps GPAs [0, NESTED_TDP_SIZE) for L2. */
#define NESTED_TDP_SIZE		(4ULL << 30)

/* GUEST_SYNC(NESTED_SKIP_SYNC, why): L1 can't run the test here (guest_nested_skip_test()). */
#define NESTED_SKIP_SYNC	0x5c1b0000ULL

#endif /* KVM_SUITE_X86_NESTED_H */
