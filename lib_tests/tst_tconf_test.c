// SPDX-License-Identifier: GPL-2.0-only
/*
 * How an unsupported configuration reports: a guest that only says TCONF
 * is a kselftest SKIP carrying its message.  The second test checks that
 * mapping, so the SKIP of the first is the expected outcome, not a gap.
 */
#include "tst_test.h"

#define TCONF_MSG "this guest needs a feature no CPU has (demonstration)"

TST_KVM_TEST_TCONF(unsupported_configuration_skips, TCONF_MSG)

KVM_TEST(tconf_maps_to_skip_with_message)
{
	struct tst_kvm_summary sum;
	const char *reason;

	tst_kvm_run_test(TST_TCONF_GUEST(unsupported_configuration_skips), &sum);
	EXPECT_EQ(tst_kvm_verdict(&sum, &reason), KSFT_SKIP);
	EXPECT_STREQ(strstr(reason, TCONF_MSG), TCONF_MSG) TH_LOG("reason '%s'", reason);
}

TST_KVM_MAIN
