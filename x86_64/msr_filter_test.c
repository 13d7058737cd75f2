// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace MSR exits and MSR filters, as Documentation/virt/kvm/api.rst
 * (Linux 6.12) specifies them:
 *  - 5. kvm_run, KVM_EXIT_X86_RDMSR / KVM_EXIT_X86_WRMSR: "index" is the
 *    MSR, "reason" the KVM_MSR_EXIT_REASON_* bit, a WRMSR exit carries the
 *    guest's value in "data"; for a RDMSR, the "data" userspace writes is
 *    "transferred into guest register state" (all 64 bits: EDX:EAX), and
 *    "error" = 1 "will inject a #GP into the guest".
 *  - 7.21 KVM_CAP_X86_USER_SPACE_MSR: only the reasons in args[0] exit;
 *    an access that would #GP for a reason not in the mask still #GPs
 *    (UNKNOWN: an MSR KVM does not know; INVAL: a reserved-bit write;
 *    FILTER: denied by the filter).  A mask bit outside the three is EINVAL.
 *  - 4.97 KVM_X86_SET_MSR_FILTER: a range's bitmap allows (1) or denies (0)
 *    the operations in its flags; an MSR no range matches gets the default
 *    (DEFAULT_ALLOW or DEFAULT_DENY); a denied access exits with reason
 *    FILTER when that reason is enabled, else is #GP; a denied WRMSR does
 *    not reach KVM's MSR (KVM_GET_MSRS still reads the old value).  A
 *    filter may even be set while vCPUs run ("vCPUs will see either the
 *    previous filter or the new filter"), so one set between two KVM_RUNs
 *    applies at the next, also to MSRs the vendor module passes through
 *    to the guest (KERNEL_GS_BASE, SYSENTER_CS on kvm_amd).  The FILTER
 *    reason is enabled before any filter, as api.rst asks.
 *    Validity: unknown filter flags, a range with no or unknown flags, a
 *    bitmap over KVM_MSR_FILTER_MAX_BITMAP_SIZE (the uapi header's limit;
 *    api.rst allows "up to 16 bitmaps", which the struct itself bounds)
 *    and DEFAULT_DENY with no ranges ("invalid and causes an error") are
 *    EINVAL; the empty filter with DEFAULT_ALLOW "disables MSR filtering".
 * RDMSR and WRMSR run natively (the vendor module's MSR intercept, KVM's
 * fast path) and, where kvm.force_emulation_prefix is on, through KVM's
 * emulator (a different completion path, complete_emulated_rdmsr()).
 * A #GP is checked with its error code 0 (SDM vol. 2B RDMSR/WRMSR: #GP(0))
 * and EDX:EAX left as they were.
 *
 * Upstream's tools/testing/selftests/kvm/x86_64/userspace_msr_exit_test.c
 * covers the same ground with its own MSR choice.
 *
 * Caught bugs: bugs/msr-userspace-rdmsr-drops-edx.patch,
 *              bugs/msr-filter-default-deny-ignored.patch,
 *              bugs/msr-filter-change-not-requested.patch,
 *              bugs/msr-exit-reason-mask-ignored.patch,
 *              bugs/msr-filter-write-checks-read-bitmap.patch,
 *              bugs/msr-emulated-rdmsr-data-dropped.patch (emulated steps: needs
 *              kvm.force_emulation_prefix, on in the lanes)
 */
#include <errno.h>
#include <stdio.h>

#include "guest/guest.h"
#include "kvm_test_harness.h"

/*
 * MSR_IA32_POWER_CTL is plain storage KVM emulates for every vendor and
 * always intercepts.  MSR_NON_EXISTENT is an index no KVM knows (upstream's
 * selftests use the same one).
 */
#define MSR_NON_EXISTENT	0x474f4f00

/* Not in older uapi headers. */
#ifndef KVM_MSR_EXIT_REASON_VALID_MASK
#define KVM_MSR_EXIT_REASON_VALID_MASK	(KVM_MSR_EXIT_REASON_INVAL |		\
					 KVM_MSR_EXIT_REASON_UNKNOWN |		\
					 KVM_MSR_EXIT_REASON_FILTER)
#endif
#define REASON_ALL	KVM_MSR_EXIT_REASON_VALID_MASK

/* EDX:EAX before a RDMSR: a #GP must leave both halves as they were. */
#define POISON		0x5a5a5a5aa5a5a5a5ULL
#define EFER_RSVD63	BIT_ULL(63)

/* ---- guest: one RDMSR or WRMSR per step, #GP caught ---- */

enum { RD = 1, WR = 2, FEP = 4 };

struct filter_spec;

struct step {
	uint8_t op;		/* RD or WR, | FEP for KVM's emulator */
	uint32_t msr;
	uint64_t data;		/* WR: the guest's value; RD exit: userspace's answer */
	uint32_t exit;		/* KVM_MSR_EXIT_REASON_* of the exit expected; 0: none */
	uint8_t error;		/* userspace's run->msr.error */
	uint8_t vector;		/* what the guest sees: NO_VECTOR or GP_VECTOR */
	const struct filter_spec *filter;	/* set before this step's KVM_RUN */
};

#define MAX_STEPS	16
static struct step script[MAX_STEPS];
static unsigned int nr_steps;

/* Each probe is one instruction and a RET; the #GP handler resumes at the RET. */
asm(".pushsection .text\n"
    "msr_probe_rd: rdmsr\n"
    "msr_probe_rd_ret: ret\n"
    "msr_probe_wr: wrmsr\n"
    "msr_probe_wr_ret: ret\n"
    "msr_probe_rd_fep: " KVM_FEP "rdmsr\n"
    "msr_probe_rd_fep_ret: ret\n"
    "msr_probe_wr_fep: " KVM_FEP "wrmsr\n"
    "msr_probe_wr_fep_ret: ret\n"
    ".popsection");
extern char msr_probe_rd[], msr_probe_rd_ret[], msr_probe_wr[], msr_probe_wr_ret[];
extern char msr_probe_rd_fep[], msr_probe_rd_fep_ret[];
extern char msr_probe_wr_fep[], msr_probe_wr_fep_ret[];

/* By (op & WR ? 1 : 0) + (op & FEP ? 2 : 0). */
static const struct probe {
	char *start, *ret;
} probes[] = {
	{ msr_probe_rd, msr_probe_rd_ret },
	{ msr_probe_wr, msr_probe_wr_ret },
	{ msr_probe_rd_fep, msr_probe_rd_fep_ret },
	{ msr_probe_wr_fep, msr_probe_wr_fep_ret },
};

static volatile uint64_t gp_start, gp_fixup, gp_vector, gp_error;

static void gp_handler(struct ex_regs *regs)
{
	if (!gp_fixup || regs->rip < gp_start || regs->rip >= gp_fixup)
		guest_report_unhandled(regs);
	gp_vector = regs->vector;
	gp_error = regs->error_code;
	regs->rip = gp_fixup;
}

static void guest_script(void)
{
	guest_install_handler(GP_VECTOR, gp_handler);
	for (unsigned int i = 0; i < nr_steps; i++) {
		const struct step *s = &script[i];
		uint32_t lo = s->op & WR ? (uint32_t)s->data : (uint32_t)POISON;
		uint32_t hi = s->op & WR ? s->data >> 32 : POISON >> 32;
		const struct probe *p = &probes[!!(s->op & WR) + 2 * !!(s->op & FEP)];

		gp_vector = NO_VECTOR;
		gp_error = 0;
		gp_start = (uint64_t)(uintptr_t)p->start;
		gp_fixup = (uint64_t)(uintptr_t)p->ret;
		asm volatile("call *%[probe]"
			     : "+a"(lo), "+d"(hi) : "c"(s->msr), [probe] "r"(p->start) : "memory");
		gp_fixup = 0;
		GUEST_SYNC(i, gp_vector, lo | (uint64_t)hi << 32, gp_error);
	}
	GUEST_DONE();
}

/* ---- host: filters, the cap, and running a script ---- */

struct range_spec {
	uint32_t flags;		/* KVM_MSR_FILTER_READ / _WRITE */
	uint32_t base, nmsrs;
	bool allow;		/* bitmap all ones (allow) or all zeros (deny) */
};

struct filter_spec {
	uint32_t flags;		/* KVM_MSR_FILTER_DEFAULT_ALLOW / _DENY */
	unsigned int nr;
	struct range_spec r[4];
};

static uint8_t bitmap_ones[KVM_MSR_FILTER_MAX_BITMAP_SIZE];
static uint8_t bitmap_zeros[KVM_MSR_FILTER_MAX_BITMAP_SIZE];

static void build_filter(const struct filter_spec *fs, struct kvm_msr_filter *f)
{
	memset(bitmap_ones, 0xff, sizeof(bitmap_ones));
	memset(f, 0, sizeof(*f));
	f->flags = fs->flags;
	for (unsigned int i = 0; i < fs->nr; i++) {
		f->ranges[i].flags = fs->r[i].flags;
		f->ranges[i].base = fs->r[i].base;
		f->ranges[i].nmsrs = fs->r[i].nmsrs;
		f->ranges[i].bitmap = fs->r[i].allow ? bitmap_ones : bitmap_zeros;
	}
}

static void set_filter(struct kvm_vm *vm, const struct filter_spec *fs)
{
	struct kvm_msr_filter f;

	build_filter(fs, &f);
	vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, &f);
}

static void require_user_space_msr(void)
{
	TEST_REQUIRE_CAP(KVM_CAP_X86_USER_SPACE_MSR);
	TEST_REQUIRE_CAP(KVM_CAP_X86_MSR_FILTER);
}

/* With kvm.ignore_msrs on, KVM "knows" every MSR: nothing is UNKNOWN. */
static void require_unknown_msrs(void)
{
	FILE *f = fopen("/sys/module/kvm/parameters/ignore_msrs", "r");
	int c = 'N';

	if (f) {
		c = fgetc(f);
		fclose(f);
	}
	TEST_REQUIRE_MSG(c != 'Y' && c != '1',
			 "kvm.ignore_msrs is on: unknown MSRs neither #GP nor exit");
}

/* KVM's own copy of the MSRs the scripts use, as KVM_GET_MSRS must read them. */
struct model {
	uint32_t msr;
	uint64_t val;
};

static struct model model[] = {
	{ MSR_IA32_POWER_CTL, 0x00c0ffee0000abcdULL },
	{ MSR_KERNEL_GS_BASE, 0x00007f0012345000ULL },
	{ MSR_IA32_SYSENTER_CS, 0x0000000000000010ULL },
};

static struct model *model_find(uint32_t msr)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(model); i++)
		if (model[i].msr == msr)
			return &model[i];
	return NULL;
}

static const char *step_str(const struct step *s, unsigned int i, char *buf, size_t len)
{
	snprintf(buf, len, "step %u: %s%s of MSR %#x", i, s->op & WR ? "WRMSR" : "RDMSR",
		 s->op & FEP ? " (emulated)" : "", s->msr);
	return buf;
}

/*
 * One step: the MSR exit it must make (fields checked, then answered), the
 * guest's report (vector, error code, EDX:EAX), then KVM's MSRs.
 */
static void run_step(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
		     const struct step *s, unsigned int i)
{
	uint32_t want = s->op & WR ? KVM_EXIT_X86_WRMSR : KVM_EXIT_X86_RDMSR;
	struct kvm_run *run = vcpu->run;
	struct model *m = model_find(s->msr);
	uint64_t expect_val;
	struct ucall uc;
	char what[80];

	step_str(s, i, what, sizeof(what));
	if (s->filter)
		set_filter(vcpu->vm, s->filter);
	vcpu_run(vcpu);
	if (s->exit) {
		if (run->exit_reason != want) {
			TH_LOG("%s: expected %s with reason %#x", what, exit_reason_str(want),
			       s->exit);
			if (get_ucall(vcpu, &uc) == UCALL_SYNC && uc.nargs >= 3)
				TH_LOG("%s: no exit; the guest saw vector %#lx (0xff: none), "
				       "EDX:EAX %#lx", what, uc.args[1], uc.args[2]);
		}
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, want);
		EXPECT_EQ(run->msr.reason, s->exit) TH_LOG("%s: run->msr.reason", what);
		EXPECT_EQ(run->msr.index, s->msr) TH_LOG("%s: run->msr.index", what);
		if (s->op & WR)
			EXPECT_EQ(run->msr.data, s->data) {
				TH_LOG("%s: run->msr.data %#llx, the guest wrote %#lx", what,
				       (unsigned long long)run->msr.data, s->data);
			}
		run->msr.error = s->error;
		if (s->op & RD)
			run->msr.data = s->data;
		vcpu_run(vcpu);
	}
	if (run->exit_reason == KVM_EXIT_X86_RDMSR || run->exit_reason == KVM_EXIT_X86_WRMSR)
		TH_LOG("%s: %s userspace exit, reason %#x, index %#x", what,
		       s->exit ? "a second" : "unexpected", run->msr.reason, run->msr.index);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, VCPU_EXIT_UCALL);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		report_guest_abort(vcpu, &uc);
	ASSERT_EQ(uc.cmd, UCALL_SYNC) TH_LOG("%s: guest line %u", what, uc.line);
	ASSERT_EQ(uc.args[0], i);

	EXPECT_EQ(uc.args[1], s->vector) {
		TH_LOG("%s: guest saw vector %#lx, expected %#x (0xff: none)", what, uc.args[1],
		       s->vector);
	}
	if (s->vector == GP_VECTOR)
		EXPECT_EQ(uc.args[3], 0) TH_LOG("%s: #GP error code", what);
	if (s->op & RD) {
		if (s->vector != NO_VECTOR)
			expect_val = POISON;
		else if (s->exit)
			expect_val = s->data;
		else
			expect_val = m ? m->val : uc.args[2];
		EXPECT_EQ(uc.args[2], expect_val) {
			TH_LOG("%s: guest EDX:EAX %08lx:%08lx, expected %08lx:%08lx", what,
			       uc.args[2] >> 32, uc.args[2] & 0xffffffff, expect_val >> 32,
			       expect_val & 0xffffffff);
		}
	} else if (m && !s->exit && s->vector == NO_VECTOR) {
		m->val = s->data;
	}
	/* A filtered or faulting WRMSR leaves KVM's MSR as it was. */
	for (unsigned int j = 0; j < ARRAY_SIZE(model); j++) {
		uint64_t v = vcpu_get_msr(vcpu, model[j].msr);

		EXPECT_EQ(v, model[j].val) {
			TH_LOG("%s: KVM_GET_MSRS of MSR %#x reads %#lx, expected %#lx", what,
			       model[j].msr, v, model[j].val);
		}
	}
}

static void run_script(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
		       uint64_t reasons, const struct filter_spec *filter,
		       const struct step *steps, unsigned int n)
{
	bool fep = kvm_fep_enabled();

	ASSERT_LE(n, MAX_STEPS);
	vm_enable_cap(vcpu->vm, KVM_CAP_X86_USER_SPACE_MSR, reasons);
	if (filter)
		set_filter(vcpu->vm, filter);
	for (unsigned int i = 0; i < ARRAY_SIZE(model); i++)
		vcpu_set_msr(vcpu, model[i].msr, model[i].val);

	nr_steps = 0;
	for (unsigned int i = 0; i < n; i++)
		if (fep || !(steps[i].op & FEP))
			script[nr_steps++] = steps[i];
	if (nr_steps < n)
		TH_LOG("kvm.force_emulation_prefix is off: %u emulated steps left out",
		       n - nr_steps);
	sync_global_to_guest(vcpu->vm, script);
	sync_global_to_guest(vcpu->vm, nr_steps);
	for (unsigned int i = 0; i < nr_steps; i++)
		run_step(_metadata, vcpu, &script[i], i);
	vcpu_run_expect_done(vcpu);
}

#define RUN_SCRIPT(reasons, filter, steps)					\
	run_script(_metadata, vcpu, reasons, filter, steps, ARRAY_SIZE(steps))

/*
 * A step's outcome: no exit and no fault, #GP without an exit, or an exit
 * answered with data (error 0) or with error 1 (then #GP).
 */
#define DIRECT(o, m, d)		.op = (o), .msr = (m), .data = (d), .vector = NO_VECTOR
#define FAULTS(o, m, d)		.op = (o), .msr = (m), .data = (d), .vector = GP_VECTOR
#define EXITS(o, m, d, r)	DIRECT(o, m, d), .exit = (r)
#define EXITS_GP(o, m, d, r)	FAULTS(o, m, d), .exit = (r), .error = 1

#define FILTER	KVM_MSR_EXIT_REASON_FILTER
#define UNKNOWN	KVM_MSR_EXIT_REASON_UNKNOWN
#define INVAL	KVM_MSR_EXIT_REASON_INVAL

/* Reads of POWER_CTL (intercepted) and KERNEL_GS_BASE (passed through on SVM/VMX) denied. */
static const struct filter_spec deny_reads = {
	KVM_MSR_FILTER_DEFAULT_ALLOW, 2, {
		{ KVM_MSR_FILTER_READ, MSR_IA32_POWER_CTL, 1, false },
		{ KVM_MSR_FILTER_READ, MSR_KERNEL_GS_BASE, 1, false },
	}
};

static const struct filter_spec deny_writes = {
	KVM_MSR_FILTER_DEFAULT_ALLOW, 2, {
		{ KVM_MSR_FILTER_WRITE, MSR_IA32_POWER_CTL, 1, false },
		{ KVM_MSR_FILTER_WRITE, MSR_KERNEL_GS_BASE, 1, false },
	}
};

static const struct filter_spec deny_both = {
	KVM_MSR_FILTER_DEFAULT_ALLOW, 1, {
		{ KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, MSR_IA32_POWER_CTL, 1, false },
	}
};

static const struct filter_spec no_filter = { .flags = KVM_MSR_FILTER_DEFAULT_ALLOW };

/*
 * A filtered RDMSR exits with reason FILTER and the index; userspace's
 * data is the guest's EDX:EAX, both halves; error = 1 is #GP(0) with
 * EDX:EAX untouched.  Writes are not in the filter and reach KVM.
 */
static const struct step filtered_rdmsr[] = {
	{ EXITS(RD, MSR_IA32_POWER_CTL, 0xfedcba9876543210ULL, FILTER) },
	{ EXITS_GP(RD, MSR_IA32_POWER_CTL, 0, FILTER) },
	{ EXITS(RD, MSR_KERNEL_GS_BASE, 0x89abcdef01234567ULL, FILTER) },
	{ EXITS_GP(RD, MSR_KERNEL_GS_BASE, 0, FILTER) },
	{ DIRECT(WR, MSR_IA32_POWER_CTL, 0x0000000700000003ULL) },
	{ DIRECT(WR, MSR_KERNEL_GS_BASE, 0x00007ffe89abc000ULL) },
	{ EXITS(RD | FEP, MSR_IA32_POWER_CTL, 0x8000000180000002ULL, FILTER) },
	{ EXITS_GP(RD | FEP, MSR_IA32_POWER_CTL, 0, FILTER) },
	{ EXITS(RD | FEP, MSR_KERNEL_GS_BASE, 0x7fffffff00000001ULL, FILTER) },
	{ EXITS_GP(RD | FEP, MSR_KERNEL_GS_BASE, 0, FILTER) },
};

KVM_VCPU_TEST(filtered_rdmsr_exits_and_returns_userspace_data, guest_script)
{
	require_user_space_msr();
	RUN_SCRIPT(KVM_MSR_EXIT_REASON_FILTER, &deny_reads, filtered_rdmsr);
}

/*
 * A filtered WRMSR exits with the guest's EDX:EAX in data and does not
 * reach KVM's MSR (KVM_GET_MSRS and an allowed RDMSR still read the old
 * value); error = 1 is #GP(0).
 */
static const struct step filtered_wrmsr[] = {
	{ EXITS(WR, MSR_IA32_POWER_CTL, 0x1234567800abcdefULL, FILTER) },
	{ EXITS_GP(WR, MSR_IA32_POWER_CTL, 0x0000000100000000ULL, FILTER) },
	{ DIRECT(RD, MSR_IA32_POWER_CTL, 0) },
	{ EXITS(WR, MSR_KERNEL_GS_BASE, 0x00007fff00001000ULL, FILTER) },
	{ EXITS_GP(WR, MSR_KERNEL_GS_BASE, 0xffff800000000000ULL, FILTER) },
	{ DIRECT(RD, MSR_KERNEL_GS_BASE, 0) },
	{ EXITS(WR | FEP, MSR_IA32_POWER_CTL, 0xa5a5a5a500000001ULL, FILTER) },
	{ EXITS_GP(WR | FEP, MSR_KERNEL_GS_BASE, 0x0000123400005678ULL, FILTER) },
	{ DIRECT(RD | FEP, MSR_KERNEL_GS_BASE, 0) },
};

KVM_VCPU_TEST(filtered_wrmsr_exits_and_does_not_reach_kvm, guest_script)
{
	require_user_space_msr();
	RUN_SCRIPT(KVM_MSR_EXIT_REASON_FILTER, &deny_writes, filtered_wrmsr);
}

/*
 * Without KVM_MSR_EXIT_REASON_FILTER in the mask a denied access is #GP,
 * not an exit, even with the other reasons enabled.
 */
static const struct step denied_without_filter_reason[] = {
	{ FAULTS(RD, MSR_IA32_POWER_CTL, 0) },
	{ FAULTS(WR, MSR_IA32_POWER_CTL, 0x0000000200000001ULL) },
	{ FAULTS(RD | FEP, MSR_IA32_POWER_CTL, 0) },
	{ FAULTS(WR | FEP, MSR_IA32_POWER_CTL, 0x0000000200000001ULL) },
};

KVM_VCPU_TEST(denied_access_is_gp_without_filter_reason, guest_script)
{
	require_user_space_msr();
	RUN_SCRIPT(KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_INVAL, &deny_both,
		   denied_without_filter_reason);
}

/*
 * An MSR KVM does not know exits with reason UNKNOWN when that reason is
 * enabled; a reserved-bit write (EFER bit 63, SDM vol. 3A 2.2.1) exits
 * with reason INVAL.  No filter is involved.
 */
static const struct step unknown_and_inval_exit[] = {
	{ EXITS(RD, MSR_NON_EXISTENT, 0x0102030405060708ULL, UNKNOWN) },
	{ EXITS_GP(RD, MSR_NON_EXISTENT, 0, UNKNOWN) },
	{ EXITS(WR, MSR_NON_EXISTENT, 0xf0e0d0c0b0a09080ULL, UNKNOWN) },
	{ EXITS_GP(WR, MSR_NON_EXISTENT, 0x1ULL, UNKNOWN) },
	{ EXITS_GP(WR, MSR_EFER, EFER_RSVD63 | EFER_LME | EFER_LMA | EFER_SCE, INVAL) },
	{ EXITS(RD | FEP, MSR_NON_EXISTENT, 0x1111111122222222ULL, UNKNOWN) },
	{ EXITS(WR | FEP, MSR_NON_EXISTENT, 0x3333333344444444ULL, UNKNOWN) },
};

KVM_VCPU_TEST(unknown_and_invalid_msrs_exit_when_enabled, guest_script)
{
	require_user_space_msr();
	require_unknown_msrs();
	RUN_SCRIPT(KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_INVAL, NULL,
		   unknown_and_inval_exit);
}

/* The same accesses with their reasons left out of the mask: #GP(0), no exit. */
static const struct step unknown_and_inval_gp[] = {
	{ FAULTS(RD, MSR_NON_EXISTENT, 0) },
	{ FAULTS(WR, MSR_NON_EXISTENT, 0xf0e0d0c0b0a09080ULL) },
	{ FAULTS(WR, MSR_EFER, EFER_RSVD63 | EFER_LME | EFER_LMA | EFER_SCE) },
	{ FAULTS(RD | FEP, MSR_NON_EXISTENT, 0) },
	{ FAULTS(WR | FEP, MSR_NON_EXISTENT, 0x3333333344444444ULL) },
};

KVM_VCPU_TEST(unknown_and_invalid_msrs_gp_when_not_enabled, guest_script)
{
	require_user_space_msr();
	require_unknown_msrs();
	RUN_SCRIPT(KVM_MSR_EXIT_REASON_FILTER, NULL, unknown_and_inval_gp);
}

/*
 * DEFAULT_DENY with allow ranges: POWER_CTL allowed both ways,
 * KERNEL_GS_BASE in a READ-only range (reads allowed, writes fall to the
 * default and are denied), SYSENTER_CS and an unknown MSR in no range
 * (denied: reason FILTER, also for the MSR KVM does not know).
 */
static const struct filter_spec default_deny = {
	KVM_MSR_FILTER_DEFAULT_DENY, 2, {
		{ KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, MSR_IA32_POWER_CTL, 1, true },
		{ KVM_MSR_FILTER_READ, MSR_KERNEL_GS_BASE, 1, true },
	}
};

static const struct step default_deny_steps[] = {
	{ DIRECT(RD, MSR_IA32_POWER_CTL, 0) },
	{ DIRECT(WR, MSR_IA32_POWER_CTL, 0x0000004400000055ULL) },
	{ DIRECT(RD, MSR_KERNEL_GS_BASE, 0) },
	{ EXITS(WR, MSR_KERNEL_GS_BASE, 0x00007f0000002000ULL, FILTER) },
	{ EXITS(RD, MSR_IA32_SYSENTER_CS, 0x0000001200000034ULL, FILTER) },
	{ EXITS_GP(WR, MSR_IA32_SYSENTER_CS, 0x0000000000000008ULL, FILTER) },
	{ EXITS(RD, MSR_NON_EXISTENT, 0x5555555566666666ULL, FILTER) },
	{ DIRECT(RD | FEP, MSR_KERNEL_GS_BASE, 0) },
	{ EXITS(WR | FEP, MSR_KERNEL_GS_BASE, 0x00007f0000003000ULL, FILTER) },
	{ EXITS(RD | FEP, MSR_IA32_SYSENTER_CS, 0x7777777788888888ULL, FILTER) },
};

KVM_VCPU_TEST(default_deny_with_allow_ranges, guest_script)
{
	require_user_space_msr();
	RUN_SCRIPT(KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_UNKNOWN, &default_deny,
		   default_deny_steps);
}

/*
 * A filter set between two KVM_RUNs applies at the next one, to the
 * intercepted POWER_CTL and to KERNEL_GS_BASE, which kvm_amd and kvm_intel
 * pass through to the guest unless the filter denies it; the empty
 * DEFAULT_ALLOW filter lifts it again.
 */
static const struct step filter_changes[] = {
	{ DIRECT(RD, MSR_KERNEL_GS_BASE, 0) },
	{ EXITS(RD, MSR_KERNEL_GS_BASE, 0x0123456789abcdefULL, FILTER), .filter = &deny_reads },
	{ EXITS(RD, MSR_IA32_POWER_CTL, 0x1000000020000000ULL, FILTER) },
	{ DIRECT(WR, MSR_KERNEL_GS_BASE, 0x00007f0000004000ULL) },
	{ EXITS(WR, MSR_KERNEL_GS_BASE, 0x00007f0000005000ULL, FILTER), .filter = &deny_writes },
	{ DIRECT(RD, MSR_KERNEL_GS_BASE, 0) },
	{ DIRECT(WR, MSR_KERNEL_GS_BASE, 0x00007f0000006000ULL), .filter = &no_filter },
	{ DIRECT(RD, MSR_KERNEL_GS_BASE, 0) },
	{ DIRECT(RD, MSR_IA32_POWER_CTL, 0) },
	{ EXITS(RD, MSR_IA32_SYSENTER_CS, 0x0000000300000004ULL, FILTER), .filter = &default_deny },
	{ EXITS(WR, MSR_KERNEL_GS_BASE, 0x00007f0000007000ULL, FILTER) },
	{ DIRECT(RD, MSR_KERNEL_GS_BASE, 0) },
};

KVM_VCPU_TEST(filter_change_applies_at_next_run, guest_script)
{
	require_user_space_msr();
	RUN_SCRIPT(KVM_MSR_EXIT_REASON_FILTER, NULL, filter_changes);
}

/*
 * KVM_X86_SET_MSR_FILTER's validity rules, errno checked; a refused call
 * changes nothing, so one VM takes them all.
 */
struct filter_case {
	const char *what;
	uint32_t flags;
	struct kvm_msr_filter_range r[KVM_MSR_FILTER_MAX_RANGES];
	int err;		/* 0: accepted */
};

#define BIG	(KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8)
#define RANGE(f, b, n)	{ .flags = (f), .base = (b), .nmsrs = (n), .bitmap = bitmap_ones }
#define RW		(KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE)

static const struct filter_case filter_cases[] = {
	{ "empty filter, DEFAULT_ALLOW (filtering off)", KVM_MSR_FILTER_DEFAULT_ALLOW, {}, 0 },
	{ "empty filter, DEFAULT_DENY", KVM_MSR_FILTER_DEFAULT_DENY, {}, EINVAL },
	{ "unknown filter flag bit 1", 2, { RANGE(RW, 0, 1) }, EINVAL },
	{ "unknown filter flag bit 31", 1u << 31, { RANGE(RW, 0, 1) }, EINVAL },
	{ "range with no flags", 0, { RANGE(0, 0, 1) }, EINVAL },
	{ "range with unknown flag bit 2", 0, { RANGE(RW | 4, 0, 1) }, EINVAL },
	{ "second range with unknown flags", 0, { RANGE(RW, 0, 1), RANGE(8, 0x100, 1) }, EINVAL },
	{ "bitmap of KVM_MSR_FILTER_MAX_BITMAP_SIZE", 0, { RANGE(RW, 0, BIG) }, 0 },
	{ "bitmap one long over KVM_MSR_FILTER_MAX_BITMAP_SIZE", 0, { RANGE(RW, 0, BIG + 1) },
	  EINVAL },
	{ "bitmap of 0xffffffff MSRs", KVM_MSR_FILTER_DEFAULT_DENY,
	  { RANGE(RW, 0, 0xffffffffu) }, EINVAL },
	{ "16 ranges, DEFAULT_DENY", KVM_MSR_FILTER_DEFAULT_DENY, {
		RANGE(RW, 0x000, 1), RANGE(RW, 0x010, 2), RANGE(KVM_MSR_FILTER_READ, 0x020, 3),
		RANGE(KVM_MSR_FILTER_WRITE, 0x030, 4), RANGE(RW, 0x040, 5), RANGE(RW, 0x050, 6),
		RANGE(RW, 0x060, 7), RANGE(RW, 0x070, 8), RANGE(RW, 0x080, 9),
		RANGE(RW, 0x090, 10), RANGE(RW, 0x0a0, 11), RANGE(RW, 0x0b0, 12),
		RANGE(RW, 0x0c0, 13), RANGE(RW, 0x0d0, 14), RANGE(RW, 0x0e0, 15),
		RANGE(RW, 0xc0000000, 0x2000) }, 0 },
};

KVM_TEST(set_msr_filter_validity)
{
	struct kvm_msr_filter f;
	struct kvm_vm *vm;

	require_user_space_msr();
	vm = vm_create();
	memset(bitmap_ones, 0xff, sizeof(bitmap_ones));
	for (unsigned int i = 0; i < ARRAY_SIZE(filter_cases); i++) {
		const struct filter_case *c = &filter_cases[i];
		int r;

		memset(&f, 0, sizeof(f));
		f.flags = c->flags;
		memcpy(f.ranges, c->r, sizeof(f.ranges));
		r = __vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, &f);
		if (c->err) {
			EXPECT_EQ(r, -1) TH_LOG("KVM_X86_SET_MSR_FILTER, %s: accepted", c->what);
			EXPECT_EQ(errno, c->err) {
				TH_LOG("KVM_X86_SET_MSR_FILTER, %s: errno %d (%s), expected %s",
				       c->what, errno, strerror(errno), strerror(c->err));
			}
		} else {
			EXPECT_EQ(r, 0) {
				TH_LOG("KVM_X86_SET_MSR_FILTER, %s: rc %d, errno %d (%s)", c->what,
				       r, errno, strerror(errno));
			}
		}
	}
	kvm_vm_free(vm);
}

KVM_TEST(user_space_msr_mask_validity)
{
	struct kvm_vm *vm;
	int r;

	require_user_space_msr();
	vm = vm_create();
	for (uint64_t bit = 0; bit < 64; bit++) {
		uint64_t mask = 1ULL << bit;

		r = __vm_enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, mask);
		if (mask & REASON_ALL) {
			EXPECT_EQ(r, 0) {
				TH_LOG("KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR, %#lx): errno %d "
				       "(%s)", mask, errno, strerror(errno));
			}
		} else {
			EXPECT_EQ(r, -1) {
				TH_LOG("KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR, %#lx) accepted",
				       mask);
			}
			EXPECT_EQ(errno, EINVAL) TH_LOG("mask %#lx: errno %d (%s)", mask, errno,
							strerror(errno));
		}
	}
	vm_enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, REASON_ALL);
	EXPECT_EQ(__vm_enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, REASON_ALL | 8), -1);
	EXPECT_EQ(errno, EINVAL);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
