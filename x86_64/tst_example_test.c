// SPDX-License-Identifier: GPL-2.0-only
/*
 * The README's LTP-style example, built and run like every test so that
 * the example stays true: a #UD callback resumes the guest after the UD2,
 * and the heap works afterwards.
 */
#include "tst_test.h"

static int on_ud(void *data, struct kvm_interrupt_frame *ifrm,
		 unsigned long errcode)
{
	ifrm->eip += 2;		/* skip the 2-byte UD2 */
	return 0;		/* handled: resume */
}

static void guest_main(void)
{
	int *v = tst_heap_alloc(sizeof(*v));

	tst_set_interrupt_callback(UD_VECTOR, on_ud, NULL);
	asm volatile("ud2");
	*v = 42;
	if (*v == 42)
		tst_res(TPASS, "resumed after #UD, heap at %p", v);
	else
		tst_res(TFAIL, "heap value %d", *v);
}

TST_KVM_TEST(resume_after_ud, guest_main)

TST_KVM_MAIN
