/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest library of an LTP-form payload (kvm_test.h with
 * COMPILE_PAYLOAD): LTP's documented guest API on the suite's guest_lib.
 *  - memset, memzero, memcpy, strcpy, strcat, strlen (guest/tst.h, guest.h)
 *  - tst_res(result, message), tst_brk(result, message): LTP's calls; the
 *    message may also be a printf format with arguments (a superset)
 *  - TST_TEST_TCONF(message), ARRAY_SIZE(arr), LTP_ALIGN(x, a)
 *  - tst_heap_alloc(), tst_heap_alloc_aligned(), kvm_exit()
 *  - x86: kvm_x86.h (included here too, as LTP tests include it)
 * <linux/kvm.h> and libc headers are not available in this pass.
 */
#ifndef KVM_SUITE_KVM_GUEST_H
#define KVM_SUITE_KVM_GUEST_H

#ifndef COMPILE_PAYLOAD
#error "kvm_guest.h is the payload pass of kvm_test.h (-DCOMPILE_PAYLOAD)"
#endif

#include "guest/tst.h"

/* The payload's "void main(void)" is the VM entry point (see kvm_test.h). */
#define main tst_kvm_payload_main
void tst_kvm_payload_main(void);

/* A payload that only reports TCONF: for tests that cannot be built here. */
#define TST_TEST_TCONF(message)							\
	void main(void)								\
	{									\
		tst_brk(TCONF, "%s", message);					\
	}

#include "kvm_x86.h"

#endif /* KVM_SUITE_KVM_GUEST_H */
