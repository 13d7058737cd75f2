// SPDX-License-Identifier: GPL-2.0-only
/*
 * The LTP-style result API (include/tst_test.h): tst_res() formats in the
 * guest and reaches the host with the guest's file:line through the result
 * page above 2 GiB; each result type maps to the kselftest verdict the
 * header documents; tst_brk() and kvm_exit() end a run; -i N iterates on
 * fresh VMs.
 */
#include <errno.h>
#include <string.h>

#include "tst_test.h"

static int expected_line;

static void guest_formats(void)
{
	expected_line = __LINE__ + 1;
	tst_res(TINFO, "[%d] [%5s] [%-4x|] [%#lx] [%c] [%%]", -17, "ab", 0xbeef, 0x1000UL, 'q');
	tst_res(TPASS, "formatted");
}

/* The message, file and line of a result arrive as the guest wrote them. */
KVM_TEST(result_page_carries_message_file_and_line)
{
	struct tst_kvm_instance inst = { .guest_main = guest_formats };
	struct tst_kvm_summary sum = { 0 };
	char file[256];
	struct ucall uc;

	tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
	/* First exit: the TINFO, before the guest moves on. */
	vcpu_run(inst.vcpu);
	ASSERT_EQ(get_ucall(inst.vcpu, &uc), UCALL_TST_RES);
	EXPECT_EQ(uc.args[0], TINFO);
	EXPECT_EQ(uc.buffer_gva, TST_KVM_RESULT_ADDR + offsetof(struct tst_kvm_result, message));
	EXPECT_STREQ(inst.result->message, "[-17] [   ab] [beef|] [0x1000] [q] [%]");
	EXPECT_EQ(inst.result->result, TINFO);
	sync_global_from_guest(inst.vm, expected_line);
	EXPECT_EQ(inst.result->lineno, expected_line);
	EXPECT_EQ(uc.line, (unsigned int)expected_line);
	ucall_file(inst.vcpu, &uc, file, sizeof(file));
	EXPECT_NE(strstr(file, "tst_results_test.c"), NULL) TH_LOG("file %s", file);
	tst_kvm_report_result(&inst, TINFO, &sum);
	EXPECT_EQ(sum.counts[tst_result_index(TINFO)], 1);
	ASSERT_EQ(tst_kvm_run_instance_sum(&inst, 0, &sum), 0);
	EXPECT_EQ(sum.counts[tst_result_index(TPASS)], 1);
	EXPECT_EQ(tst_kvm_verdict(&sum, NULL), KSFT_PASS);
	tst_kvm_destroy_instance(&inst);
}

static void guest_pass_then_info(void)
{
	tst_res(TINFO, "informational only");
	tst_res(TPASS, "ok");
}

static void guest_fail(void)
{
	tst_res(TPASS, "a pass does not hide a failure");
	tst_res(TFAIL, "value %d is wrong", 3);
}

static void guest_warn(void)
{
	tst_res(TPASS, "pass");
	tst_res(TWARN, "cleanup went wrong");
}

static void guest_conf(void)
{
	tst_res(TCONF, "feature X missing");
}

static void guest_brk(void)
{
	tst_brk(TBROK, "cannot continue: %s", "setup failed");
	tst_res(TPASS, "never reached");
}

static void guest_silent(void)
{
}

static void guest_exit_early(void)
{
	tst_res(TPASS, "before kvm_exit");
	kvm_exit();
	tst_res(TFAIL, "kvm_exit() returned");
}

static void guest_fatal_exception(void)
{
	asm volatile("ud2");
	tst_res(TPASS, "never reached");
}

static void guest_brk_pass(void)
{
	tst_brk(TPASS, "tst_brk() may not pass a test");
	tst_res(TPASS, "never reached");
}

static void guest_brk_fail(void)
{
	tst_brk(TFAIL, "tst_brk() may not fail a test either");
	tst_res(TPASS, "never reached");
}

static void guest_unknown_type(void)
{
	tst_res(7, "seven is no result type");
}

/* A result page that says TFAIL behind a ucall that says TPASS. */
static void guest_page_disagrees(void)
{
	struct tst_kvm_result *res = (void *)(uintptr_t)TST_KVM_RESULT_ADDR;
	const uint64_t args[UCALL_MAX_ARGS] = { TPASS };

	res->result = TFAIL;
	res->lineno = __LINE__;
	res->file_addr = (uintptr_t)__FILE__;
	strcpy(res->message, "the page says TFAIL");
	guest_ucall_msg(UCALL_TST_RES, __FILE__, __LINE__, 1, args, res->message);
}

struct mapping_case {
	const char *name;
	void (*guest)(void);
	int verdict;
	const char *reason;	/* substring of the verdict's reason */
	int counted;		/* result type that must have been counted once */
};

static const struct mapping_case mapping_cases[] = {
	{ "TPASS+TINFO", guest_pass_then_info, KSFT_PASS, "", TINFO },
	{ "TFAIL", guest_fail, KSFT_FAIL, "value 3 is wrong", TFAIL },
	{ "TWARN", guest_warn, KSFT_FAIL, "cleanup went wrong", TWARN },
	{ "TCONF", guest_conf, KSFT_SKIP, "feature X missing", TCONF },
	{ "tst_brk", guest_brk, KSFT_FAIL, "BROKEN: ", TBROK },
	{ "no result", guest_silent, KSFT_FAIL, "iteration 1: the guest reported no result",
	  TBROK },
	{ "kvm_exit", guest_exit_early, KSFT_PASS, "", TPASS },
	{ "exception", guest_fatal_exception, KSFT_FAIL, "#UD", TBROK },
	/* tst_brk() ends a run with TBROK or TCONF only; anything else is broken. */
	{ "tst_brk(TPASS)", guest_brk_pass, KSFT_FAIL,
	  "BROKEN: tst_brk() with TPASS: only TBROK and TCONF may end a test", TBROK },
	{ "tst_brk(TFAIL)", guest_brk_fail, KSFT_FAIL, "BROKEN: ", TBROK },
	{ "unknown type", guest_unknown_type, KSFT_FAIL, "unknown result type 7", TBROK },
	{ "page != ucall", guest_page_disagrees, KSFT_FAIL,
	  "result page says 1, ucall says 0", TBROK },
};

/* Each result type maps to the documented kselftest verdict. */
KVM_TEST(results_map_to_verdicts)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(mapping_cases); i++) {
		const struct mapping_case *c = &mapping_cases[i];
		struct tst_kvm_summary sum;
		const char *reason;

		tst_kvm_run_test(c->guest, &sum);
		EXPECT_EQ(tst_kvm_verdict(&sum, &reason), c->verdict) TH_LOG("case %s", c->name);
		EXPECT_NE(strstr(reason, c->reason), NULL)
			TH_LOG("case %s: reason '%s' lacks '%s'", c->name, reason, c->reason);
		if (c->counted >= 0)
			EXPECT_EQ(sum.counts[tst_result_index(c->counted)], tst_kvm_iterations)
				TH_LOG("case %s", c->name);
	}
	/* tst_brk() stops the guest: its later TPASS never arrives. */
}

static void guest_count_runs(void)
{
	static int runs;	/* in the ELF's data: every VM starts with 0 */

	runs++;
	if (runs == 1)
		tst_res(TPASS, "fresh VM: first run of this copy of the guest");
	else
		tst_res(TFAIL, "guest state leaked between iterations (run %d)", runs);
}

/* Iterations run on fresh VMs: the guest's data starts from the ELF each time. */
KVM_TEST(iterations_use_fresh_vms)
{
	struct tst_kvm_summary sum;
	unsigned int saved = tst_kvm_iterations;

	tst_kvm_iterations = 3;
	tst_kvm_run_test(guest_count_runs, &sum);
	tst_kvm_iterations = saved;
	EXPECT_EQ(sum.runs, 3);
	EXPECT_EQ(sum.counts[tst_result_index(TPASS)], 3);
	EXPECT_EQ(tst_kvm_verdict(&sum, NULL), KSFT_PASS) TH_LOG("%s", sum.first_problem);
}

static int iteration;	/* set by the host before each run */

static void guest_pass_on_odd_iterations(void)
{
	tst_res(TINFO, "iteration %d", iteration);
	if (iteration & 1)
		tst_res(TPASS, "odd iteration %d reports a result", iteration);
}

/*
 * With -i N each iteration must report: the silent second one fails the
 * test although the first and third pass (summed counts alone would say
 * 2 TPASS, no failure).
 */
KVM_TEST(silent_iteration_fails_among_passing_ones)
{
	struct tst_kvm_instance inst;
	struct tst_kvm_summary sum = { 0 };
	const char *reason;

	for (int i = 1; i <= 3; i++) {
		tst_kvm_setup_instance(&inst, guest_pass_on_odd_iterations);
		write_guest_global(inst.vm, iteration, i);
		tst_kvm_run_iteration(&inst, &sum);
		tst_kvm_cleanup_instance(&inst);
	}
	EXPECT_EQ(sum.runs, 3);
	EXPECT_EQ(sum.counts[tst_result_index(TPASS)], 2);
	EXPECT_EQ(sum.counts[tst_result_index(TINFO)], 3);
	EXPECT_EQ(sum.counts[tst_result_index(TBROK)], 1);
	EXPECT_EQ(tst_kvm_verdict(&sum, &reason), KSFT_FAIL);
	EXPECT_NE(strstr(reason, "BROKEN: iteration 2: the guest reported no result"), NULL)
		TH_LOG("reason '%s'", reason);
}

/*
 * exp_errno: a KVM_RUN failing with it returns -1 and counts nothing; any
 * other failure is TBROK naming the error.  api.rst: KVM_RUN with
 * kvm_run.immediate_exit set returns -EINTR without entering the guest.
 */
KVM_TEST(run_instance_exp_errno)
{
	struct tst_kvm_instance inst = { .guest_main = guest_pass_then_info };
	struct tst_kvm_summary sum = { 0 };
	const char *reason;

	tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
	inst.vcpu->run->immediate_exit = 1;
	EXPECT_EQ(tst_kvm_run_instance_sum(&inst, EINTR, &sum), -1);
	for (unsigned int idx = 0; idx < ARRAY_SIZE(sum.counts); idx++) {
		EXPECT_EQ(sum.counts[idx], 0) TH_LOG("result index %u", idx);
	}

	EXPECT_EQ(tst_kvm_run_instance_sum(&inst, EFAULT, &sum), 0);
	EXPECT_EQ(sum.counts[tst_result_index(TBROK)], 1);
	EXPECT_EQ(tst_kvm_verdict(&sum, &reason), KSFT_FAIL);
	EXPECT_NE(strstr(reason, "KVM_RUN failed: Interrupted system call"), NULL)
		TH_LOG("reason '%s'", reason);

	memset(&sum, 0, sizeof(sum));
	EXPECT_EQ(tst_kvm_run_instance_sum(&inst, 0, &sum), 0);
	EXPECT_EQ(sum.counts[tst_result_index(TBROK)], 1);

	/* Cleared again, the same vCPU runs the guest to its results. */
	inst.vcpu->run->immediate_exit = 0;
	memset(&sum, 0, sizeof(sum));
	EXPECT_EQ(tst_kvm_run_instance_sum(&inst, EINTR, &sum), 0);
	EXPECT_EQ(sum.counts[tst_result_index(TPASS)], 1);
	EXPECT_EQ(tst_kvm_verdict(&sum, &reason), KSFT_PASS) TH_LOG("%s", reason);
	tst_kvm_destroy_instance(&inst);
}

/* And the same API as a plain TST_KVM_TEST, honouring -i. */
TST_KVM_TEST(tst_kvm_test_passes, guest_pass_then_info)

TST_KVM_MAIN
