// SPDX-License-Identifier: GPL-2.0-only
/*
 * The suite's own promises about failures, checked end to end: each case
 * runs in a child process and the test reads what the child printed.
 *  - a guest that stops making exits is kicked by the KVM_RUN watchdog and
 *    the test fails with the vCPU's registers, within the bound;
 *  - a guest assertion fails the test with the guest's file:line and text;
 *  - an unexpected exit names the expected and the actual exit, decoded;
 *  - an unhandled guest exception names the vector and the guest function;
 *  - a failing checked ioctl wrapper names the ioctl, the errno text and the
 *    caller's file:line (not the library's);
 *  - KVM_EXIT_INTERNAL_ERROR is decoded with its suberror and data.
 */
#include <sys/wait.h>

#include "guest/guest.h"
#include "kvm_test_harness.h"

/* Run fn() in a child with stdout+stderr captured; return its exit status. */
static int run_child(void (*fn)(void), char *out, size_t len)
{
	int pipefd[2], status;
	size_t used = 0;
	pid_t pid;

	/* No /dev/kvm: the test SKIPs here, not in the child it judges. */
	kvm_dev_fd();
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

/*
 * The children print the line of the call that fails ("call at line N"), the
 * parent expects "library_test.c:N" in the failure report.
 */
static void expect_caller_line(struct __test_metadata *_metadata, const char *out)
{
	const char *p = strstr(out, "call at line ");
	char where[64];
	unsigned int line;

	ASSERT_NE(p, NULL) TH_LOG("%s", out);
	ASSERT_EQ(sscanf(p, "call at line %u", &line), 1);
	snprintf(where, sizeof(where), "library_test.c:%u\n", line);
	EXPECT_NE(strstr(out, where), NULL) TH_LOG("want %s in:\n%s", where, out);
	EXPECT_EQ(strstr(out, "kvm_util.h:"), NULL) TH_LOG("%s", out);
	/* Not the library's own line (the path of the checkout may hold "lib/"). */
	EXPECT_EQ(strstr(out, "lib/vm.c:"), NULL) TH_LOG("%s", out);
	EXPECT_EQ(strstr(out, "lib/x86_vcpu.c:"), NULL) TH_LOG("%s", out);
	EXPECT_EQ(strstr(out, "lib/kvm.c:"), NULL) TH_LOG("%s", out);
}

static void child_bad_events(void)
{
	struct kvm_vcpu_events ev = { .flags = 1u << 31 };	/* unknown flag: EINVAL */
	struct kvm_vcpu *vcpu;

	vm_create_with_one_vcpu(&vcpu, guest_hlt);
	kvm_log("call at line %d", __LINE__ + 1);
	vcpu_events_set(vcpu, &ev);
}

/* A checked call failing in a child names the ioctl, the errno text and the caller. */
static void expect_checked_failure(struct __test_metadata *_metadata, void (*child)(void),
				   const char *ioctl_name, int err)
{
	char out[8192];
	int rc = run_child(child, out, sizeof(out));

	EXPECT_EQ(rc, KSFT_FAIL) TH_LOG("%s", out);
	EXPECT_NE(strstr(out, ioctl_name), NULL) TH_LOG("%s", out);
	EXPECT_NE(strstr(out, strerror(err)), NULL) TH_LOG("%s", out);
	expect_caller_line(_metadata, out);
}

KVM_TEST(checked_ioctl_failure_names_ioctl_errno_and_caller)
{
	expect_checked_failure(_metadata, child_bad_events, "KVM_SET_VCPU_EVENTS", EINVAL);
}

static void child_bad_memslot(void)
{
	struct kvm_vm *vm = vm_create();

	/* Slot 1 over slot 0's RAM at GPA 0: EEXIST. */
	kvm_log("call at line %d", __LINE__ + 1);
	vm_mem_region_add(vm, 1, 0, 2 * PAGE_SIZE, 0);
}

KVM_TEST(checked_memslot_failure_names_ioctl_errno_and_caller)
{
	expect_checked_failure(_metadata, child_bad_memslot, "KVM_SET_USER_MEMORY_REGION",
			       EEXIST);
}

static void child_unknown_msr(void)
{
	struct kvm_vcpu *vcpu;

	vm_create_with_one_vcpu(&vcpu, guest_hlt);
	/* A stale errno must not appear: KVM_SET_MSRS "fails" by processing 0 MSRs. */
	errno = EBADF;
	kvm_log("call at line %d", __LINE__ + 1);
	vcpu_set_msr(vcpu, 0x2ff00000, 1);
}

KVM_TEST(checked_msr_failure_has_no_stale_errno)
{
	char out[8192];
	int rc = run_child(child_unknown_msr, out, sizeof(out));

	EXPECT_EQ(rc, KSFT_FAIL) TH_LOG("%s", out);
	EXPECT_NE(strstr(out, "KVM_SET_MSRS(MSR 0x2ff00000 = 0x1) processed 0 of 1 MSRs"), NULL)
		TH_LOG("%s", out);
	EXPECT_EQ(strstr(out, "errno="), NULL) TH_LOG("%s", out);
	EXPECT_EQ(strstr(out, strerror(EBADF)), NULL) TH_LOG("%s", out);
	expect_caller_line(_metadata, out);
}

static void child_internal_error(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_run *run;

	vm_create_with_one_vcpu(&vcpu, guest_hlt);
	/* As KVM fills it for an emulation failure (api.rst, KVM_EXIT_INTERNAL_ERROR). */
	run = vcpu->run;
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->internal.ndata = 3;
	run->internal.data[0] = 0x1;
	run->internal.data[1] = 0xabcdef;
	run->internal.data[2] = 0x8000000000000001ULL;
	run->internal.data[3] = 0x5555;		/* beyond ndata: not printed */
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
}

KVM_TEST(internal_error_exit_is_decoded)
{
	char out[8192];
	int rc = run_child(child_internal_error, out, sizeof(out));

	EXPECT_EQ(rc, KSFT_FAIL);
	EXPECT_NE(strstr(out, "expected exit KVM_EXIT_IO (2), got KVM_EXIT_INTERNAL_ERROR (17): "
			 "suberror 1 (EMULATION), data 0x1 0xabcdef 0x8000000000000001\n"), NULL)
		TH_LOG("%s", out);
	EXPECT_EQ(strstr(out, "0x5555"), NULL) TH_LOG("%s", out);
}

TEST_HARNESS_MAIN
