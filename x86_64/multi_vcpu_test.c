// SPDX-License-Identifier: GPL-2.0-only
/*
 * Several vCPUs, each on its own host thread: every vCPU runs the same guest
 * code with its own stack and per-vCPU data, reports its own sequence to the
 * host in order, and all of them increment one shared counter with LOCK
 * XADD, which must end at exactly nr_vcpus * rounds.
 */
#include "guest/guest.h"
#include "kvm_test_harness.h"

#define NR_VCPUS	4
#define ROUNDS		200

static uint64_t shared_counter;

static void guest_code(void)
{
	unsigned int id = guest_vcpu_id();
	uint64_t local = 0;

	for (unsigned int r = 0; r < ROUNDS; r++) {
		uint64_t one = 1;

		asm volatile("lock xaddq %0, %1" : "+r"(one), "+m"(shared_counter) :: "memory");
		local++;
		if (r % 50 == 0)
			GUEST_SYNC(id, r, (uint64_t)(uintptr_t)&local);
	}
	GUEST_ASSERT_EQ(local, ROUNDS);
	GUEST_DONE();
}

static void vcpu_worker(struct kvm_vcpu *vcpu)
{
	uint64_t stack_var_addr = 0;
	unsigned int expect = 0;
	struct ucall uc;

	for (;;) {
		uint32_t cmd = vcpu_run_ucall(vcpu, &uc);

		if (cmd == UCALL_DONE)
			break;
		TEST_ASSERT(cmd == UCALL_SYNC, "vCPU %u: unexpected ucall %u", vcpu->id, cmd);
		TEST_ASSERT(uc.args[0] == vcpu->id, "vCPU %u reported id %lu", vcpu->id,
			    uc.args[0]);
		TEST_ASSERT(uc.args[1] == expect, "vCPU %u: round %lu, expected %u", vcpu->id,
			    uc.args[1], expect);
		/* A stack address that stays put and is this vCPU's own. */
		TEST_ASSERT(!stack_var_addr || stack_var_addr == uc.args[2],
			    "vCPU %u: stack moved", vcpu->id);
		TEST_ASSERT(uc.args[2] < vcpu->stack_top &&
			    uc.args[2] >= vcpu->stack_top - 32 * 1024,
			    "vCPU %u: local %#lx not on its stack (top %#lx)", vcpu->id,
			    uc.args[2], vcpu->stack_top);
		stack_var_addr = uc.args[2];
		expect += 50;
	}
	TEST_ASSERT(expect == ROUNDS, "vCPU %u synced %u times", vcpu->id, expect / 50);
}

KVM_TEST(vcpus_on_threads_share_memory)
{
	struct kvm_vcpu *vcpus[NR_VCPUS];
	struct kvm_vm *vm = vm_create_with_vcpus(NR_VCPUS, guest_code, vcpus);
	pthread_t threads[NR_VCPUS];

	for (unsigned int i = 0; i < NR_VCPUS; i++)
		threads[i] = vcpu_thread_start(vcpus[i], vcpu_worker);
	for (unsigned int i = 0; i < NR_VCPUS; i++)
		vcpu_thread_join(threads[i]);
	sync_global_from_guest(vm, shared_counter);
	ASSERT_EQ(shared_counter, NR_VCPUS * ROUNDS);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
