// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest printf/assert contract: what the guest formats with the suite's
 * own vsnprintf arrives on the host exactly as glibc would format it, and
 * guest assertions reach the host as failures carrying the guest's
 * file:line, the expression and both values.
 */
#include "guest/guest.h"
#include "kvm_test_harness.h"

struct fmt_case {
	const char *fmt;
	uint64_t a, b;
};

/* Each format takes two integer-class arguments (unused ones are ignored). */
static const struct fmt_case cases[] = {
	{ "%d|%d", 0, (uint64_t)-1 },
	{ "%i %u", (uint64_t)INT32_MIN, UINT32_MAX },
	{ "%x %X", 0xdeadbeef, 0xcafe },
	{ "%#x %#o", 0x1f, 8 },
	{ "%o|%#o", 0, 0 },
	{ "%08x|%-8x|", 0xabc, 0xabc },
	{ "%+d % d", 5, 5 },
	{ "%.5d|%.0d|", 42, 0 },
	{ "%10.4x|%-10.4u|", 0x1f, 7 },
	{ "%ld %lu", (uint64_t)INT64_MIN, UINT64_MAX },
	{ "%lld %llx", (uint64_t)-123456789012LL, 0x123456789abcdefULL },
	{ "%hd %hu", 70000, 70000 },
	{ "%hhd %hhu", 300, 300 },
	{ "%zu %zx", 123, 0xfff },
	{ "%c%c", 'o', 'k' },
	{ "%%d %d%%", 1, 2 },
	{ "%*d|", 6, 33 },
	{ "%-*d|", 6, 33 },
	{ "%.*d|", 4, 7 },
	{ "%#lx %#lo", 0xfff, 0777 },
};

static char guest_buf[256];

static void guest_code(void)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		int n = guest_snprintf(guest_buf, sizeof(guest_buf), cases[i].fmt,
				       cases[i].a, cases[i].b);

		/* The return value is part of the contract too. */
		GUEST_SYNC(i, n, (uint64_t)(uintptr_t)guest_buf);
	}
	/* %s and %p take pointers: compared separately. */
	guest_snprintf(guest_buf, sizeof(guest_buf), "[%s] [%.3s] [%8s] [%-4s] [%p] [%p]",
		       "guest", "truncate", "right", "l", (void *)0x1234, (void *)0);
	GUEST_SYNC(ARRAY_SIZE(cases), 0, (uint64_t)(uintptr_t)guest_buf);
	GUEST_PRINTF("printf from the guest: %d %s", 42, "ok");
	GUEST_DONE();
}

KVM_VCPU_TEST(formats_match_glibc, guest_code)
{
	char expect[256];
	struct ucall uc;

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *got;
		int n;

		ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
		ASSERT_EQ(uc.args[0], i);
		got = addr_gva2hva(vm, uc.args[2]);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		n = snprintf(expect, sizeof(expect), cases[i].fmt, cases[i].a, cases[i].b);
#pragma GCC diagnostic pop
		EXPECT_STREQ(got, expect) TH_LOG("format \"%s\"", cases[i].fmt);
		EXPECT_EQ((int)uc.args[1], n) TH_LOG("return value for \"%s\"", cases[i].fmt);
	}
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	snprintf(expect, sizeof(expect), "[%s] [%.3s] [%8s] [%-4s] [%p] [%p]",
		 "guest", "truncate", "right", "l", (void *)0x1234, (void *)0);
	EXPECT_STREQ((char *)addr_gva2hva(vm, uc.args[2]), expect);

	/* GUEST_PRINTF: the message and the guest's own file:line. */
	vcpu_run(vcpu);
	ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_PRINTF);
	EXPECT_STREQ(uc.buffer, "printf from the guest: 42 ok");
	ucall_file(vcpu, &uc, expect, sizeof(expect));
	EXPECT_STREQ(expect, __FILE__);
	EXPECT_GT(uc.line, 0);
	vcpu_run_expect_done(vcpu);
}

static int assert_line;

static void guest_assert_eq(void)
{
	uint64_t x = 3;

	assert_line = __LINE__ + 1;
	GUEST_ASSERT_EQ(x + 1, 5);
}

KVM_VCPU_TEST(assert_eq_reports_both_values, guest_assert_eq)
{
	char file[256];
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_ABORT);
	EXPECT_STREQ(uc.buffer, "x + 1 == 5 failed: 0x4 (4) vs 0x5 (5)");
	EXPECT_STREQ(ucall_file(vcpu, &uc, file, sizeof(file)), __FILE__);
	/* The guest wrote its line into its own copy of assert_line. */
	sync_global_from_guest(vm, assert_line);
	EXPECT_EQ(uc.line, (uint32_t)assert_line);
}

static void guest_assert_msg(void)
{
	int vector = 13;

	__GUEST_ASSERT(vector == 6, "expected #UD, got vector %d at %s", vector, "here");
}

KVM_VCPU_TEST(assert_message_is_formatted, guest_assert_msg)
{
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_ABORT);
	EXPECT_STREQ(uc.buffer, "vector == 6: expected #UD, got vector 13 at here");
}

static void guest_fail(void)
{
	GUEST_FAIL("state %s/%u", "broken", 7u);
}

KVM_VCPU_TEST(guest_fail_message, guest_fail)
{
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_ABORT);
	EXPECT_STREQ(uc.buffer, "state broken/7");
	/* The host keeps getting the failure if it insists on resuming. */
	vcpu_run(vcpu);
	ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_ABORT);
}

/*
 * Every assertion form, failing: the host's report (what a developer reads)
 * carries the guest's file:line, the expression and, for the comparisons,
 * both values in hex and decimal.  Each case is one guest function, defined
 * on one line so that its line is the assertion's line.
 */
static uint64_t seven = 7, sixteen = 16, three = 3;
static int64_t minus_two = -2;

#define ASSERT_FORM(fn, stmt)	\
	static const unsigned int fn##_line = __LINE__; static void fn(void) { stmt; }

ASSERT_FORM(guest_ne, GUEST_ASSERT_NE(seven, 7))
ASSERT_FORM(guest_lt, GUEST_ASSERT_LT(sixteen, three))
ASSERT_FORM(guest_le, GUEST_ASSERT_LE(seven + 1, seven))
ASSERT_FORM(guest_gt, GUEST_ASSERT_GT(minus_two, 0))
ASSERT_FORM(guest_ge, GUEST_ASSERT_GE(three, sixteen))
ASSERT_FORM(guest_eq, GUEST_ASSERT_EQ((uint32_t)minus_two, 0))
ASSERT_FORM(guest_plain, GUEST_ASSERT(seven == 8))

static const struct assert_form {
	void (*guest)(void);
	const unsigned int *line;
	const char *message;	/* the failure text, as the host prints it */
} assert_forms[] = {
	{ guest_ne, &guest_ne_line, "seven != 7 failed: 0x7 (7) vs 0x7 (7)" },
	{ guest_lt, &guest_lt_line, "sixteen < three failed: 0x10 (16) vs 0x3 (3)" },
	{ guest_le, &guest_le_line, "seven + 1 <= seven failed: 0x8 (8) vs 0x7 (7)" },
	/* %#llx of 0 is "0", as in glibc: no prefix. */
	{ guest_gt, &guest_gt_line, "minus_two > 0 failed: 0xfffffffffffffffe (-2) vs 0 (0)" },
	{ guest_ge, &guest_ge_line, "three >= sixteen failed: 0x3 (3) vs 0x10 (16)" },
	{ guest_eq, &guest_eq_line,
	  "(uint32_t)minus_two == 0 failed: 0xfffffffe (4294967294) vs 0 (0)" },
	{ guest_plain, &guest_plain_line, "seven == 8: assertion failed" },
};

/*
 * Run one case in a child whose stderr goes to out: the suite's normal path
 * (vcpu_run_expect_done() sees UCALL_ABORT, the host reports and exits).
 * Returns the child's wait status.
 */
static int run_assert_form(const struct assert_form *form, FILE *out)
{
	pid_t pid;
	int status;

	kvm_dev_fd();		/* no /dev/kvm: SKIP here, not in the child */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		struct kvm_vcpu *vcpu;
		struct kvm_vm *vm;

		dup2(fileno(out), STDERR_FILENO);
		vm = vm_create_with_one_vcpu(&vcpu, form->guest);
		vcpu_run_expect_done(vcpu);
		kvm_vm_free(vm);
		_exit(0);	/* the assertion did not fire */
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

KVM_TEST(assert_forms_report_values_and_line)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(assert_forms); i++) {
		const struct assert_form *form = &assert_forms[i];
		char report[8192], where[512], text[512];
		FILE *out = tmpfile();
		size_t n;
		int status;

		ASSERT_NE(out, NULL);
		status = run_assert_form(form, out);
		rewind(out);
		n = fread(report, 1, sizeof(report) - 1, out);
		report[n] = 0;
		fclose(out);

		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == KSFT_FAIL)
			TH_LOG("case %u (\"%s\"): child status %#x, report:\n%s",
			       i, form->message, status, report);
		snprintf(where, sizeof(where), "#   %s:%u\n", __FILE__, *form->line);
		snprintf(text, sizeof(text), "#   ==== Guest failure (vCPU 0) ====\n#   %s\n",
			 form->message);
		EXPECT_NE(strstr(report, where), NULL)
			TH_LOG("case %u: no \"%.*s\" in the report:\n%s",
			       i, (int)strlen(where) - 1, where, report);
		EXPECT_NE(strstr(report, text), NULL)
			TH_LOG("case %u: no \"%s\" in the report:\n%s", i, form->message, report);
	}
}

static void guest_sync_args(void)
{
	GUEST_SYNC();
	GUEST_SYNC(1, 2, 3, 4, 5, 6);
	GUEST_SYNC(UINT64_MAX);
}

/* Up to six values travel in registers; returning from the function is DONE. */
KVM_VCPU_TEST(sync_carries_six_args, guest_sync_args)
{
	struct ucall uc;

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	EXPECT_EQ(uc.nargs, 0);
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.nargs, 6);
	for (unsigned int i = 0; i < 6; i++)
		EXPECT_EQ(uc.args[i], i + 1);
	vcpu_run_expect_sync(vcpu, UINT64_MAX);
	vcpu_run_expect_done(vcpu);
}

TEST_HARNESS_MAIN
