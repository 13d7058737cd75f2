// SPDX-License-Identifier: GPL-2.0-only
/*
 * struct tst_test's .test with .tcnt (LTP's test API, used by LTP's KVM
 * tests beside .test_all): the driver calls .test(n) for n = 0 .. tcnt - 1,
 * each case must report a result, and tst_kvm_run() gives each case a
 * fresh VM (the payload's static counter starts at 0 every time; run with
 * -i 2 for six cases).  An LTP-form test (include/kvm_test.h).
 */
#include "kvm_test.h"

#ifdef COMPILE_PAYLOAD

static int runs;

void main(void)
{
	if (++runs != 1)
		tst_res(TFAIL, "payload ran %d times in one VM", runs);
	else
		tst_res(TPASS, "a fresh VM for this case");
}

#else /* COMPILE_PAYLOAD */

static unsigned int calls;

static void run(unsigned int n)
{
	if (n != calls % 3)
		tst_res(TFAIL, "case %u called as call %u", n, calls);
	calls++;
	tst_res(TINFO, "case %u", n);
	tst_kvm_run();
}

static void cleanup(void)
{
	tst_kvm_cleanup();
	if (calls % 3)
		tst_res(TFAIL, "%u calls: not a multiple of .tcnt", calls);
}

static struct tst_test test = {
	.tcnt = 3,
	.test = run,
	.setup = tst_kvm_setup,
	.cleanup = cleanup,
};

#endif /* COMPILE_PAYLOAD */
