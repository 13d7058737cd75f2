/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The LTP-style API (tst_test.h), what host and guest share: result types,
 * the ucall commands that carry them, the result page and the guest heap.
 */
#ifndef KVM_SUITE_X86_TST_H
#define KVM_SUITE_X86_TST_H

#include <stdint.h>

#include "x86/const.h"
#include "x86/ucall.h"

/* Result types: LTP's values, so they can be combined as flags. */
#define TPASS	0
#define TFAIL	1
#define TBROK	2
#define TWARN	4
#define TINFO	16
#define TCONF	32

/* ucall commands of this API. */
#define UCALL_TST_RES	(UCALL_USER + 0)	/* args: type; message: result page */
#define UCALL_TST_BRK	(UCALL_USER + 1)	/* as above; the guest never resumes */

#define TST_KVM_RESULT_ADDR	0xfffff000ULL	/* last page below 4 GiB */
#define TST_KVM_RESULT_SLOT	30
#define TST_KVM_HEAP_SIZE	(4 * 1024 * 1024)
#define TST_KVM_IDENTITY_TOP	(2ULL << 30)

/*
 * The result page: what the last tst_res()/tst_brk() reported.  LTP's
 * layout; message runs to the end of the page (TST_KVM_MESSAGE_SIZE bytes).
 */
struct tst_kvm_result {
	int32_t result;
	int32_t lineno;
	uint64_t file_addr;
	char message[0];
};

#define TST_KVM_MESSAGE_SIZE	(4096 - sizeof(struct tst_kvm_result))

/*
 * LTP's other values of the result field, for guest/host synchronisation
 * (tst_signal_host(), tst_wait_host(), tst_kvm_wait_guest()): no result,
 * the guest has ended (the host library writes it), the guest is waiting.
 */
#define KVM_TNONE		-1
#define KVM_TEXIT		0xff
#define KVM_TSYNC		0xfe
/* The result page, LTP's names. */
#define KVM_RESULT_BASEADDR	TST_KVM_RESULT_ADDR
#define KVM_RESULT_SIZE		4096

_Static_assert(sizeof(struct tst_kvm_result) == 16, "LTP's result header");

/*
 * x rounded up to a multiple of a (a power of 2), in the type of x: LTP's
 * name.  ARRAY_SIZE() (x86/const.h) is LTP's too.
 */
#define LTP_ALIGN(x, a)	ALIGN_UP(x, a)

/* The guest's view of its heap, written by the host before the first run. */
extern uint64_t tst_heap_base, tst_heap_end;

#endif /* KVM_SUITE_X86_TST_H */
