// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP KVM Test API 3.4, interrupt callbacks: tst_set_interrupt_callback()
 * passes its userdata, the frame and the error code to the callback;
 * kvm_get_interrupt_ip() is the faulting instruction for a fault (#UD,
 * #GP) and the next one for a trap (#BP, INT3) (SDM vol. 3A 6.5); the error
 * code is 0 for a vector without one and the pushed one for #GP (6.13); a
 * callback returning 0 resumes the payload, and a new callback replaces the
 * old one.  An LTP-form test (include/kvm_test.h).
 */
#include "kvm_test.h"

#ifdef COMPILE_PAYLOAD

struct seen {
	unsigned int calls;
	uintptr_t ip;
	unsigned long errcode;
	uintptr_t resume;	/* where to continue */
};

static int record(void *userdata, struct kvm_interrupt_frame *ifrm, unsigned long errcode)
{
	struct seen *s = userdata;

	s->calls++;
	s->ip = kvm_get_interrupt_ip(ifrm);
	s->errcode = errcode;
	ifrm->eip = s->resume;
	return 0;
}

static int replaced(void *userdata, struct kvm_interrupt_frame *ifrm, unsigned long errcode)
{
	(*(unsigned int *)userdata)++;
	ifrm->eip += 2;		/* skip UD2 */
	return 0;
}

static void expect(const char *what, const struct seen *s, uintptr_t ip, unsigned long errcode)
{
	if (s->calls != 1 || s->ip != ip || s->errcode != errcode)
		tst_res(TFAIL, "%s: %u calls, ip 0x%lx errcode 0x%lx; expected 1 call, ip 0x%lx "
			"errcode 0x%lx", what, s->calls, s->ip, s->errcode, ip, errcode);
	else
		tst_res(TPASS, "%s: callback got userdata, ip 0x%lx and errcode 0x%lx", what, ip,
			errcode);
}

void main(void)
{
	extern char ud_insn[], ud_after[], bp_after[], gp_insn[], gp_after[];
	struct seen s = { 0 };
	unsigned int replaced_calls = 0;

	/* #UD: a fault, no error code. */
	s.resume = (uintptr_t)ud_after;
	tst_set_interrupt_callback(INTR_BAD_OPCODE, record, &s);
	asm volatile("ud_insn: ud2\n\tud_after:");
	expect("#UD", &s, (uintptr_t)ud_insn, 0);

	/* #BP: a trap, the frame holds the next instruction. */
	memzero(&s, sizeof(s));
	s.resume = (uintptr_t)bp_after;
	tst_set_interrupt_callback(INTR_BREAKPOINT, record, &s);
	asm volatile("int3\n\tbp_after:");
	expect("#BP", &s, (uintptr_t)bp_after, 0);

	memzero(&s, sizeof(s));
	s.resume = (uintptr_t)gp_after;
	tst_set_interrupt_callback(INTR_GPF, record, &s);
	/* MOV to DS of selector 0x1238, beyond the GDT limit: #GP(0x1238) (SDM vol. 3A 6.13). */
	asm volatile("mov $0x1238, %%ax\n\tgp_insn: mov %%ax, %%ds\n\tgp_after:" ::: "rax");
	expect("#GP", &s, (uintptr_t)gp_insn, 0x1238);

	/* A second callback for #UD replaces the first. */
	memzero(&s, sizeof(s));
	tst_set_interrupt_callback(INTR_BAD_OPCODE, replaced, &replaced_calls);
	asm volatile("ud2");
	if (replaced_calls != 1 || s.calls)
		tst_res(TFAIL, "after replacing the #UD callback: new one called %u times, old "
			"one %u times", replaced_calls, s.calls);
	else
		tst_res(TPASS, "a new callback replaces the old one");
}

#else /* COMPILE_PAYLOAD */

static struct tst_test test = {
	.test_all = tst_kvm_run,
	.setup = tst_kvm_setup,
	.cleanup = tst_kvm_cleanup,
};

#endif /* COMPILE_PAYLOAD */
