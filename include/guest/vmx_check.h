/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Soft checks for VMX tests that run many rows in one L1 (x86_64/vmx_vmcs_test.c,
 * x86_64/vmx_apic_test.c): a failed CHECK() is counted and printed with
 * file:line (the first 30), the rows go on, and CHECK_DONE() fails the test
 * if any did.  CHECK_VMX() decodes a VMX instruction's outcome (status and
 * VM-instruction error by name), CHECK_RUN() a VM entry's (the exit by name
 * with its qualification, or the VMfail).  Needs a struct vmx_gprs regs.
 */
#ifndef KVM_SUITE_GUEST_VMX_CHECK_H
#define KVM_SUITE_GUEST_VMX_CHECK_H

#include "guest/guest.h"
#include "guest/vmx.h"

static unsigned int vmx_check_failures;

#define CHECK(cond, fmt, ...) do {						\
	if (!(cond) && vmx_check_failures++ < 30)				\
		GUEST_PRINTF("FAIL %s:%d: " fmt, __FILE__, __LINE__, ##__VA_ARGS__);	\
} while (0)

#define CHECK_DONE() do {							\
	__GUEST_ASSERT(!vmx_check_failures, "%u check(s) failed (the first listed above)", \
		       vmx_check_failures);					\
	GUEST_DONE();								\
} while (0)

#define CHECK_VMX(what, s, want, want_err) do {				\
	enum vmx_status __s = (s);						\
	uint32_t __e = vmx_insn_error(__s);					\
									\
	CHECK(__s == (want) && (__s != VMX_FAIL_VALID || __e == (want_err)),	\
	      "%s: %s (error %u: %s), expected %s (error %u: %s)", what,	\
	      vmx_status_name(__s), __e, vmx_insn_error_name(__e),		\
	      vmx_status_name(want), (unsigned int)(want_err),		\
	      vmx_insn_error_name(want_err));					\
} while (0)

/* VMLAUNCH (launched false) or VMRESUME: exit want, or VMfail want_status with error want. */
#define CHECK_RUN(what, launched, want_status, want) do {			\
	enum vmx_status __rs;							\
	uint32_t __r = vmx_run(launched, &regs, &__rs);				\
	char __b[160];								\
									\
	if ((want_status) == VMX_OK)						\
		CHECK(__rs == VMX_OK && __r == (want), "%s: %s, %s; expected exit %s (%u)", \
		      what, vmx_status_name(__rs), __rs == VMX_OK ?		\
		      vmx_exit_str(__r, vmread(EXIT_QUALIFICATION), __b, sizeof(__b)) : \
		      vmx_insn_error_name(vmx_insn_error(__rs)), vmx_exit_name(want),	\
		      (unsigned int)(want));					\
	else									\
		CHECK_VMX(what, __rs, want_status, want);			\
} while (0)

#endif /* KVM_SUITE_GUEST_VMX_CHECK_H */
