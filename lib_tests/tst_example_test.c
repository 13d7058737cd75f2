// SPDX-License-Identifier: GPL-2.0-only
/*
 * Documentation/ltp-api.md's example, built and run like every test so that
 * the example stays true: a #UD callback counts the fault in a heap block
 * and resumes the guest after the UD2.
 */
#include "tst_test.h"

static int on_ud(void *data, struct kvm_interrupt_frame *ifrm,
		 unsigned long errcode)
{
	(*(int *)data)++;	/* count the #UDs */
	ifrm->eip += 2;		/* skip the 2-byte UD2 */
	return 0;		/* handled: resume */
}

static void guest_main(void)
{
	int *uds = tst_heap_alloc(sizeof(*uds));

	tst_set_interrupt_callback(UD_VECTOR, on_ud, uds);
	asm volatile("ud2");
	if (*uds == 1)
		tst_res(TPASS, "resumed after one #UD, counter on the heap at %p", uds);
	else
		tst_res(TFAIL, "%d #UDs seen, expected 1", *uds);
}

TST_KVM_TEST(resume_after_ud, guest_main)

TST_KVM_MAIN
