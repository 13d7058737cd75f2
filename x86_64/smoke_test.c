// SPDX-License-Identifier: GPL-2.0-only
#include "guest.h"
#include "kvm_test_harness.h"

static void guest_code(void)
{
	GUEST_SYNC(42, 7);
	GUEST_PRINTF("hello %d %s", 5, "world");
	GUEST_DONE();
}

KVM_ONE_VCPU_TEST(sync_value, guest_code)
{
	vcpu_run_expect_sync(vcpu, 42);
	vcpu_run_expect_done(vcpu);
}

TEST_HARNESS_MAIN
