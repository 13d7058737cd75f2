// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP KVM Test API 3.4 and 4: kvm_exit() ends the payload at once, from
 * any call depth, and the results reported before it stand; with -i N each
 * iteration runs main() again on a fresh VM (tst_kvm_run()), so the static
 * counter below starts at 0 every time.  An LTP-form test
 * (include/kvm_test.h).
 */
#include "kvm_test.h"

#ifdef COMPILE_PAYLOAD

static int runs;

static __attribute__((noinline)) void leave_inner(void)
{
	kvm_exit();
}

static __attribute__((noinline)) void leave(void)
{
	leave_inner();
	tst_res(TFAIL, "kvm_exit() returned to its caller");
}

void main(void)
{
	if (++runs != 1)
		tst_res(TFAIL, "main() ran %d times in one VM", runs);
	tst_res(TPASS, "result reported before kvm_exit()");
	leave();
	tst_res(TFAIL, "kvm_exit() returned");
}

#else /* COMPILE_PAYLOAD */

static struct tst_test test = {
	.test_all = tst_kvm_run,
	.setup = tst_kvm_setup,
	.cleanup = tst_kvm_cleanup,
};

#endif /* COMPILE_PAYLOAD */
