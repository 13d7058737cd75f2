// SPDX-License-Identifier: GPL-2.0-only
/*
 * The suite's own promises about failures, checked end to end: each case
 * runs in a child process and the test reads what the child printed.
 *  - a guest that stops making exits is kicked by the KVM_RUN watchdog and
 *    the test fails with the vCPU's registers, within the bound;
 *  - a guest assertion fails the test with the guest's file:line and text;
 *  - an unexpected exit names the expected and the actual exit, decoded;
 *  - an unhandled guest exception names the vector and the guest function.
 */
#include <sys/wait.h>

#include "guest.h"
#include "kvm_test_harness.h"

/* Run fn() in a child with stdout+stderr captured; return its exit status. */
static int run_child(void (*fn)(void), char *out, size_t len)
{
	int pipefd[2], status;
	size_t used = 0;
	pid_t pid;

	TEST_ASSERT(!pipe(pipefd), "pipe");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		fn();
		exit(0);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t n = read(pipefd[0], out + used, len - 1 - used);

		if (n <= 0)
			break;
		used += n;
	}
	out[used] = '\0';
	close(pipefd[0]);
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void guest_spin(void)
{
	for (;;)
		cpu_relax();
}

static void child_wedged(void)
{
	struct kvm_vcpu *vcpu;

	vm_create_with_one_vcpu(&vcpu, guest_spin);
	vcpu->timeout_ms = 300;
	vcpu_run(vcpu);
}

KVM_TEST(watchdog_turns_a_wedged_guest_into_a_failure)
{
	char out[8192], want[64];
	unsigned int scale = kvm_timeout_scale();
	uint64_t start = now_ns();
	int rc = run_child(child_wedged, out, sizeof(out));
	uint64_t ms = (now_ns() - start) / 1000000;

	EXPECT_EQ(rc, KSFT_FAIL) TH_LOG("child output:\n%s", out);
	snprintf(want, sizeof(want), "made no exit for %u ms", 300 * scale);
	EXPECT_NE(strstr(out, want), NULL) TH_LOG("%s", out);
	EXPECT_NE(strstr(out, "guest_spin"), NULL) TH_LOG("RIP not symbolized:\n%s", out);
	/* The watchdog samples every 50 ms: allow generous slack, but bounded. */
	EXPECT_LT(ms, 3000 * scale);
}

static void guest_bad_assert(void)
{
	GUEST_ASSERT_EQ(2 + 2, 5);
}

static void child_guest_assert(void)
{
	struct kvm_vcpu *vcpu;

	vm_create_with_one_vcpu(&vcpu, guest_bad_assert);
	vcpu_run_expect_done(vcpu);
}

KVM_TEST(guest_assert_fails_the_test_with_file_and_line)
{
	char out[8192], where[256];
	int rc = run_child(child_guest_assert, out, sizeof(out));

	snprintf(where, sizeof(where), "%s:", __FILE__);
	EXPECT_EQ(rc, KSFT_FAIL);
	EXPECT_NE(strstr(out, where), NULL) TH_LOG("%s", out);
	EXPECT_NE(strstr(out, "2 + 2 == 5 failed: 0x4 (4) vs 0x5 (5)"), NULL) TH_LOG("%s", out);
	EXPECT_NE(strstr(out, "Guest failure (vCPU 0)"), NULL) TH_LOG("%s", out);
}

static void guest_hlt(void)
{
	hlt();
}

static void child_unexpected_exit(void)
{
	struct kvm_vcpu *vcpu;

	vm_create_with_one_vcpu(&vcpu, guest_hlt);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
}

KVM_TEST(unexpected_exit_is_decoded)
{
	char out[8192];
	int rc = run_child(child_unexpected_exit, out, sizeof(out));

	EXPECT_EQ(rc, KSFT_FAIL);
	EXPECT_NE(strstr(out, "expected exit KVM_EXIT_MMIO (6), got KVM_EXIT_HLT (5)"), NULL)
		TH_LOG("%s", out);
	EXPECT_NE(strstr(out, "RIP"), NULL) TH_LOG("no register dump:\n%s", out);
}

static void guest_ud(void)
{
	asm volatile("ud2");
}

static void child_unhandled(void)
{
	struct kvm_vcpu *vcpu;

	vm_create_with_one_vcpu(&vcpu, guest_ud);
	vcpu_run_expect_done(vcpu);
}

KVM_TEST(unhandled_exception_names_vector_and_function)
{
	char out[8192];
	int rc = run_child(child_unhandled, out, sizeof(out));

	EXPECT_EQ(rc, KSFT_FAIL);
	EXPECT_NE(strstr(out, "Unhandled exception #UD (vector 6)"), NULL) TH_LOG("%s", out);
	EXPECT_NE(strstr(out, "is guest_ud+"), NULL) TH_LOG("%s", out);
}

TEST_HARNESS_MAIN
