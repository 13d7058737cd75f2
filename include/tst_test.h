/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A guest test API in the vocabulary of LTP's KVM library, on this suite's
 * architecture: the guest code is a function in the test binary, results
 * travel as ucalls (UCALL_USER + n), and the host maps them to kselftest
 * verdicts.  A complete test:
 *
 *	#include "tst_test.h"
 *
 *	static void guest_main(void)
 *	{
 *		struct kvm_cregs cr;
 *
 *		kvm_read_cregs(&cr);
 *		if (cr.cr0 & X86_CR0_PG)
 *			tst_res(TPASS, "paging is on, CR3=0x%lx", cr.cr3);
 *		else
 *			tst_res(TFAIL, "paging is off");
 *	}
 *
 *	TST_KVM_TEST(paging_on, guest_main)
 *
 *	TST_KVM_MAIN
 *
 * Each TST_KVM_TEST becomes one kselftest test: a fresh VM (the LTP
 * environment below) runs guest_main; "-i N" runs it N times, a fresh VM
 * each time.  Verdict: any TFAIL, TBROK or TWARN fails the test (TBROK is
 * reported as broken); else TCONF skips it with its message; else at least
 * one TPASS passes it; a guest that reports nothing fails.  With -i N each
 * iteration is checked on its own: one that reports nothing but TINFO adds
 * a TBROK, so the other iterations' TPASS cannot hide it.
 *
 * The environment the guest gets (each promise checked by tst_env_test):
 *  - 64-bit mode, CPL0, the low 2 GiB identity mapped (GVA == GPA) in the
 *    page tables whether or not memory backs it, except page 0, which is
 *    left unmapped so that a NULL dereference faults;
 *  - a result page at TST_KVM_RESULT_ADDR, above 2 GiB, holding the last
 *    result and message (the ucall message points there);
 *  - a stack of at least 8 KiB (GUEST_STACK_SIZE);
 *  - a default handler for every exception vector: an exception nobody
 *    handles ends the run with TBROK naming vector, RIP and error code;
 *  - a heap for tst_heap_alloc() of TST_KVM_HEAP_SIZE bytes.
 *
 * This is the suite's own style (several named kselftest tests per file,
 * guest functions beside host code).  LTP's own form, a file with
 * #ifdef COMPILE_PAYLOAD that builds unmodified, is include/kvm_test.h
 * (tests in ltp/); both share the guest library and lib/tst_kvm.c, and
 * Documentation/ltp-api.md lists what differs between them and LTP.
 * Where this style differs from LTP's KVM Test API document:
 *  - Verdicts: a run with TPASS and TCONF (and no TFAIL/TBROK/TWARN) is a
 *    kselftest SKIP here, because a test can only have one verdict; LTP
 *    counts both and the test passes.  (The LTP form does the same.)
 *  - The document's tst_kvm_setup/run/cleanup(void), tst_kvm_run_instance
 *    (inst) and tst_kvm_validate_result(value) are the LTP form's; this
 *    style uses the richer variants that count into a summary:
 *    tst_kvm_setup_instance(inst, guest_main), tst_kvm_run_iteration(inst,
 *    sum), tst_kvm_cleanup_instance(inst), tst_kvm_run_instance_sum(inst,
 *    exp_errno, sum) and tst_kvm_report_result(inst, result, sum), where an
 *    invalid result is counted as TBROK and the other tests still run.
 *  - TST_KVM_TEST_TCONF(name, msg) takes the kselftest test name as well as
 *    the message (the document's TST_TEST_TCONF(message) is the LTP form's).
 *  - Page 0 is not mapped (see above), so that NULL dereferences fault: an
 *    instance with guest_main set is this style's; the LTP form's payload
 *    gets page 0 mapped as the document promises.
 *  - struct kvm_cpuid and kvm_get_cpuid() exist only in LTP-form payloads
 *    (kvm_x86.h): <linux/kvm.h>, included here, owns the struct name; guest
 *    functions here use cpuid_count() (guest/processor.h).
 */
#ifndef KVM_SUITE_TST_TEST_H
#define KVM_SUITE_TST_TEST_H

#include "guest/tst.h"
#include "kvm_test_harness.h"
#include "tst_kvm.h"

/* A test whose guest only reports TCONF with msg: how an unsupported setup reports. */
#define TST_KVM_TEST_TCONF(name, msg)						\
	static void __tst_tconf_##name(void)					\
	{									\
		tst_brk(TCONF, "%s", msg);					\
	}									\
	TST_KVM_TEST(name, __tst_tconf_##name)
/* The guest function of TST_KVM_TEST_TCONF(name, msg), for a test that runs it itself. */
#define TST_TCONF_GUEST(name)	__tst_tconf_##name

#define TST_KVM_TEST(name, guest_main)						\
KVM_TEST(name)									\
{										\
	struct tst_kvm_summary __sum;						\
	const char *__reason;							\
										\
	tst_kvm_run_test((void *)(guest_main), &__sum);				\
	switch (tst_kvm_verdict(&__sum, &__reason)) {				\
	case KSFT_SKIP:								\
		SKIP(return, "%s", __reason);					\
	case KSFT_FAIL:								\
		ASSERT_TRUE(false) TH_LOG("%s", __reason);			\
	}									\
}

/* main(): "-i N" (iterations), then the kselftest harness's own options. */
#define TST_KVM_MAIN								\
int main(int argc, char **argv)							\
{										\
	return tst_kvm_main(argc, argv, kvm_harness_run);			\
}

#endif /* KVM_SUITE_TST_TEST_H */
