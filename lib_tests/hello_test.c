// SPDX-License-Identifier: GPL-2.0-only
/*
 * The README's "Writing a test" example, built and run like every test so
 * that the example stays true: an MSR the host sets is what the guest
 * reads, and the host answers the guest's IN.
 */
#include "guest/guest.h"
#include "kvm_test_harness.h"

static void guest_code(void)
{
	uint64_t v = rdmsr(MSR_IA32_SYSENTER_CS);

	GUEST_SYNC(v);				/* host sees args[0] == v */
	GUEST_ASSERT_EQ(inb(0x3f0), 0x5a);	/* host answers the IN */
	GUEST_DONE();				/* or just return */
}

KVM_VCPU_TEST(hello, guest_code)		/* gets vm and vcpu */
{
	struct ucall uc;

	vcpu_set_msr(vcpu, MSR_IA32_SYSENTER_CS, 0x10);
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 0x10);

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	*((uint8_t *)vcpu->run + vcpu->run->io.data_offset) = 0x5a;

	vcpu_run_expect_done(vcpu);
}

TEST_HARNESS_MAIN
