// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP KVM Test API 3.2, TST_TEST_TCONF(message): a payload that cannot be
 * built here reports only TCONF, and the binary is a kselftest SKIP (exit
 * 4) carrying the message.  This binary SKIPs by design: the SKIP with the
 * message below is its expected result.  An LTP-form test
 * (include/kvm_test.h).
 */
#include "kvm_test.h"

#ifdef COMPILE_PAYLOAD

TST_TEST_TCONF("TST_TEST_TCONF demonstration: this payload only reports TCONF");

#else /* COMPILE_PAYLOAD */

static struct tst_test test = {
	.test_all = tst_kvm_run,
	.setup = tst_kvm_setup,
	.cleanup = tst_kvm_cleanup,
};

#endif /* COMPILE_PAYLOAD */
