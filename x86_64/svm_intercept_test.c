// SPDX-License-Identifier: GPL-2.0-only
/*
 * Nested SVM instruction intercepts, from L1's side (AMD APM vol. 2
 * chapter 15).  Every test SKIPs unless KVM offers SVM to its guests
 * (kvm_amd nested=1).
 *
 * One table row per intercept: how L1 sets it in its VMCB (15.9 and after,
 * appendix B), the L2 instruction (between two labels, so L1 knows its
 * address and where the next one starts), the exit code (appendix C), the
 * exit_info_1 that decode assists define ("Decode Assists"), and what the instruction
 * does when L1 does not intercept it.  Each row runs twice:
 *
 *  - intercepted: the instruction does not execute and the #VMEXIT has the
 *    row's exit code, the VMCB's RIP is the instruction (15.6), next_rip
 *    the instruction after it when CPUID 0x8000000A EDX.NRIPS is offered
 *    (15.7.1), exit_info_1 the GPR / linear address / vector when
 *    EDX.DecodeAssists is offered ("Decode Assists"); L1 moves RIP on and
 *    L2 continues to the end of the row (an intercepted VMMCALL);
 *  - not intercepted: the instruction does what the APM vol. 3 says in L2
 *    (the register it reads, the CR/DR/MSR it writes, the exception it
 *    raises: #UD for VMMCALL (vol. 3 VMMCALL), RSM outside SMM, SKINIT
 *    where CPUID lacks it, INTO in 64-bit mode; #DB for ICEBP, #BP for
 *    INT3, the vector of INTn), and L1 sees no exit but the end of the row.
 *
 * CR0 (15.9, "Selective CR0 Write Intercept"): MOV to CR0 that changes only TS or MP and CLTS do
 * not trigger the selective CR0 write intercept (exit 0x65), MOV to CR0
 * changing another bit and LMSW changing EM do; with both the CR0 write
 * and the selective intercept set, the CR0 write intercept (0x10) wins.
 * The CR0 rows also run with L2's CR0.CD set: a KVM underneath then traps
 * L2's CR0 accesses itself (it keeps CD clear in the real CR0) and must
 * decide on L1's intercepts the same way.
 *
 * Where kvm.force_emulation_prefix is on, the rows KVM's emulator handles
 * run a third and fourth time behind KVM_FEP, so that KVM's own intercept
 * check for emulated instructions (the one L1's intercepts go through when
 * KVM emulates an L2 instruction) is held to the same rules.
 *
 * QEMU 7.2's TCG (the AMD lane) checks no intercept for INT3 (#BP intercept,
 * Documentation/lanes.md), RDTSCP (it checks the RDTSC intercept) and INVD
 * (it checks WBINVD's), and raises #UD for ICEBP: under
 * KVM_SUITE_CPU_EMULATOR=qemu-tcg such a case, when it reaches L2 with no
 * #VMEXIT, is logged with what L2 saw and skipped.  ICEBP and INTn also run
 * behind KVM_FEP when intercepted, so KVM's own check of those intercepts
 * runs there.  TCG offers neither NRIPS nor decode assists, so next_rip and
 * exit_info_1 are only checked on hardware that has them.
 *
 * DR6/DR7 accesses KVM emulates for L2 are a test of their own
 * (emulated_dr6_dr7_access_in_l2): on Linux 6.12 an emulated MOV from DR7
 * in L2 reads L1's DR7 (kvm_get_dr() returns vcpu->arch.dr7, which nested
 * VMRUN does not load from VMCB12; it writes vmcb02's DR7 only).
 *
 * The ideas of kvm-unit-tests x86/svm_tests.c: cr3 read/write intercept,
 * dr intercept, next_rip, sel_cr0_bug, cr0 selective write (there the tests
 * are one function each; here one table).  No upstream selftest covers
 * these intercepts (tools/testing/selftests/kvm/x86_64/svm_*.c test VMMCALL,
 * NMI/soft-interrupt injection and next_rip of INTn only).
 *
 * Caught bugs: bugs/nested-svm-sel-cr0-beats-cr0-write.patch,
 * bugs/nested-svm-sel-cr0-ts-mp-intercepted.patch,
 * bugs/nested-svm-recalc-intercepts-drops-rdtsc.patch,
 * bugs/nested-svm-emulated-dr-write-exit-code.patch,
 * bugs/nested-svm-emulated-intn-not-intercepted.patch,
 * bugs/nested-svm-l2-vmload-vmsave-wrong-vmcb.patch
 */
#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "nested.h"

#define SENTINEL	0x5e171e1dead0000ULL
#define SWINT_VECTOR	0x55
#define TSC_OFF		(1ULL << 40)
#define KGS_OLD		0xffff800000111000ULL
#define KGS_NEW		0xffff800000222000ULL
#define TSC_AUX_VAL	0x1234
#define DR_VAL(n)	(0x10000ULL * ((n) + 1) + 0x100)
#define DR6_INIT	0xffff0ff0ULL
#define DR6_NEW		0xffff0ff1ULL	/* B0 */
#define DR7_INIT	0x400ULL
#define DR7_NEW		0x700ULL	/* LE, GE: no breakpoint enabled */
#define SYNC_EXPECT_HLT	0x4a17ULL	/* L1: the next exit is L2 halting the vCPU */

/* Set by the host. */
static bool on_tcg, fep_on;
static int only_group;

/*
 * L2 code of one row: entry (prologue), the instruction between _s and _e,
 * then the row's end (VMMCALL unless said).  A second copy puts KVM_FEP
 * before the instruction.
 */
#define L2_ROW(name, prologue, insn, end)					\
	asm(".pushsection .text\n"						\
	    #name "_p:\n\t" prologue "\n"					\
	    #name "_s:\n\t" insn "\n"						\
	    #name "_e:\n\t" end "\n\tud2\n"					\
	    #name "_fp:\n\t" prologue "\n"					\
	    #name "_fs:\n\t" KVM_FEP insn "\n"					\
	    #name "_fe:\n\t" end "\n\tud2\n"					\
	    ".popsection");							\
	extern char name##_p[], name##_s[], name##_e[], name##_fp[], name##_fs[], name##_fe[]
#define L2_INSN(name, insn)	L2_ROW(name, "", insn, "vmmcall")
#define LABELS(name)	{ name##_p, name##_s, name##_e, name##_fp, name##_fs, name##_fe }

L2_INSN(cr0_read, "mov %cr0, %rbx");
L2_INSN(cr0_write, "mov %rbx, %cr0");
L2_INSN(lmsw, "lmsw %bx");
L2_INSN(clts, "clts");
L2_INSN(cr3_read, "mov %cr3, %rbx");
L2_INSN(cr3_write, "mov %rbx, %cr3");
L2_INSN(cr4_read, "mov %cr4, %rbx");
L2_INSN(cr4_write, "mov %rbx, %cr4");
L2_INSN(dr0_read, "mov %dr0, %rbx");
L2_INSN(dr1_read, "mov %dr1, %rbx");
L2_INSN(dr2_read, "mov %dr2, %rbx");
L2_INSN(dr3_read, "mov %dr3, %rbx");
L2_INSN(dr6_read, "mov %dr6, %rbx");
L2_INSN(dr7_read, "mov %dr7, %rbx");
L2_INSN(dr0_write, "mov %rbx, %dr0");
L2_INSN(dr1_write, "mov %rbx, %dr1");
L2_INSN(dr2_write, "mov %rbx, %dr2");
L2_INSN(dr3_write, "mov %rbx, %dr3");
L2_INSN(dr6_write, "mov %rbx, %dr6");
L2_INSN(dr7_write, "mov %rbx, %dr7");
L2_INSN(cpuid, "cpuid");
L2_INSN(hlt, "hlt");
L2_INSN(invlpg, "invlpg (%rbx)");
L2_INSN(rdtsc, "rdtsc");
L2_INSN(rdtscp, "rdtscp");
L2_INSN(pause, "pause");
L2_INSN(rdpmc, "rdpmc");
L2_INSN(wbinvd, "wbinvd");
L2_INSN(invd, "invd");
L2_INSN(monitor, "monitor");
L2_INSN(mwait, "mwait");
L2_INSN(rsm, "rsm");
L2_ROW(vmmcall, "", "vmmcall", "hlt");
L2_INSN(vmrun, "vmrun");
L2_INSN(vmload, "vmload");
L2_INSN(vmsave, "vmsave");
L2_INSN(stgi, "stgi");
L2_INSN(clgi, "clgi");
L2_INSN(skinit, ".byte 0x0f, 0x01, 0xde");
L2_INSN(invlpga, ".byte 0x0f, 0x01, 0xdf");
L2_INSN(intn, "int $" __stringify(SWINT_VECTOR));
L2_INSN(int3, "int3");
L2_INSN(into, ".byte 0xce");
L2_INSN(icebp, ".byte 0xf1");
/* An IRET frame back to the next instruction: only RSP tells it ran. */
L2_ROW(iret, "mov %rsp, %rcx\n\tmov %ss, %eax\n\tpush %rax\n\tpush %rcx\n\tpushfq\n\t"
	     "mov %cs, %eax\n\tpush %rax\n\tlea 1f(%rip), %rax\n\tpush %rax",
       "iretq\n1:", "vmmcall");

enum group { G_CR = 1, G_DR, G_DR_EMUL, G_INSN, G_SVM, G_EVENT };
/* Intercept vector words, VMCB offsets 0x000-0x010 (table B-1). */
enum word { W_CR, W_DR, W_EXC, W_MISC1, W_MISC2 };

/* Row flags */
#define F_FEP		(1u << 0)	/* also behind KVM_FEP (KVM's emulator) */
#define F_CD		(1u << 1)	/* also with L2's CR0.CD set */
#define F_DA_CR		(1u << 2)	/* decode assists: exit_info_1 = bit 63 | RBX (3) */
#define F_DA_GPR	(1u << 3)	/* decode assists: exit_info_1[3:0] = RBX (3) */
#define F_DA_LMSW	(1u << 4)	/* decode assists: exit_info_1 bit 63 clear */
#define F_DA_ADDR	(1u << 5)	/* decode assists: exit_info_1 = the linear address (RBX) */
#define F_DA_VEC	(1u << 6)	/* decode assists: exit_info_1 = the vector */
#define F_END_HLT	(1u << 7)	/* the row ends with an intercepted HLT, not VMMCALL */
#define F_HOST_HLT	(1u << 8)	/* not intercepted: the vCPU halts (KVM_EXIT_HLT) */
#define F_MAY_UD	(1u << 9)	/* not intercepted: #UD allowed unless CPUID has MONITOR */
#define F_MAY_GP	(1u << 10)	/* not intercepted: #GP allowed (no counter) */
#define F_TCG_NOCHECK	(1u << 11)	/* QEMU TCG doesn't check this intercept */
#define F_NO_PLAIN	(1u << 12)	/* L1 must intercept it (VMRUN, 15.5.1) */
#define F_RDTSCP	(1u << 13)	/* needs CPUID RDTSCP */
#define F_SKINIT	(1u << 14)	/* not intercepted: #UD unless CPUID SKINIT */
#define F_TCG_UD	(1u << 15)	/* QEMU TCG raises #UD for it */
#define F_FEP_ONLY	(1u << 16)	/* only behind KVM_FEP */
#define F_FEP_ICPT	(1u << 17)	/* behind KVM_FEP when intercepted only (see below) */

#define NO_EXIT		((uint64_t)-2)	/* the intercept set doesn't apply: it runs */

struct l2_labels {
	char *entry, *start, *end, *fep_entry, *fep_start, *fep_end;
};

struct icpt {
	enum word word;
	uint32_t bits;
};

struct ctx;

struct row {
	const char *name;
	enum group group;
	struct l2_labels l;
	struct icpt icpt[2];
	uint64_t exit;		/* when intercepted; NO_EXIT: runs anyway */
	uint8_t vec;		/* exception in L2 when it runs (0: none) */
	uint32_t flags;
	void (*setup)(struct ctx *c);
	void (*check)(struct ctx *c, bool ran);
};

enum mode { M_NATIVE, M_CD, M_FEP, NR_MODES };
static const char *const mode_names[] = { "native", "CR0.CD=1", "KVM_FEP" };

struct ctx {
	const struct row *r;
	enum mode mode;
	bool icpt;
	struct vmcb *vmcb;
	struct nested *n;
	struct nested_pages *p;
	uint64_t before, want, tsc0, tsc1;
	uint64_t scratch;
};

#define CASE_ASSERT(c, cond, fmt, ...)						\
	__GUEST_ASSERT(cond, "%s [%s, %s]: " fmt, (c)->r->name, mode_names[(c)->mode],	\
		       (c)->icpt ? "intercepted" : "not intercepted", ##__VA_ARGS__)

/* Exceptions L2 takes: the first one is recorded, faults resume at the row's end. */
static volatile uint64_t l2_vec, l2_vec_rip, l2_vec_count, l2_resume;
static uint64_t l2_data;

static void l2_exception(struct ex_regs *regs)
{
	if (!l2_vec_count++) {
		l2_vec = regs->vector;
		l2_vec_rip = regs->rip;
	}
	if (regs->vector == UD_VECTOR || regs->vector == GP_VECTOR)
		regs->rip = l2_resume;
}

static inline void set_dr(int n, uint64_t v)
{
	switch (n) {
	case 0: asm volatile("mov %0, %%dr0" :: "r"(v)); break;
	case 1: asm volatile("mov %0, %%dr1" :: "r"(v)); break;
	case 2: asm volatile("mov %0, %%dr2" :: "r"(v)); break;
	case 3: asm volatile("mov %0, %%dr3" :: "r"(v)); break;
	}
}

/* ---- per-row set-up and effect checks ---- */

static void expect(struct ctx *c, const char *what, uint64_t got, bool ran)
{
	uint64_t exp = ran ? c->want : c->before;

	CASE_ASSERT(c, got == exp, "%s 0x%lx, expected 0x%lx (%s)", what, got, exp,
		    ran ? "the instruction's effect" : "unchanged: it did not run");
}

static void rbx_sentinel(struct ctx *c)
{
	c->n->gprs.rbx = SENTINEL;
	c->before = SENTINEL;
}

static void check_rbx(struct ctx *c, bool ran)
{
	expect(c, "L2 RBX", c->n->gprs.rbx, ran);
}

static void setup_cr0_read(struct ctx *c)
{
	rbx_sentinel(c);
	c->want = c->vmcb->save.cr0;
}

/* MOV to CR0 that sets TS (a CR0 write, not a selective one). */
static void setup_cr0_ts(struct ctx *c)
{
	c->vmcb->save.cr0 &= ~(X86_CR0_TS | X86_CR0_MP);
	c->before = c->vmcb->save.cr0;
	c->want = c->before | X86_CR0_TS;
	c->n->gprs.rbx = c->want;
}

static void setup_cr0_ts_mp(struct ctx *c)
{
	setup_cr0_ts(c);
	c->want |= X86_CR0_MP;
	c->n->gprs.rbx = c->want;
}

/* MOV to CR0 that flips CD: a bit outside TS/MP. */
static void setup_cr0_cd(struct ctx *c)
{
	c->before = c->vmcb->save.cr0;
	c->want = c->before ^ X86_CR0_CD;
	c->n->gprs.rbx = c->want;
}

/* LMSW that sets EM (LMSW writes PE, MP, EM, TS). */
static void setup_lmsw_em(struct ctx *c)
{
	c->vmcb->save.cr0 &= ~(X86_CR0_EM | X86_CR0_TS);
	c->before = c->vmcb->save.cr0;
	c->want = c->before | X86_CR0_EM;
	c->n->gprs.rbx = c->want & 0xffff;
}

static void setup_clts(struct ctx *c)
{
	c->vmcb->save.cr0 |= X86_CR0_TS;
	c->before = c->vmcb->save.cr0;
	c->want = c->before & ~X86_CR0_TS;
}

static void check_cr0(struct ctx *c, bool ran)
{
	expect(c, "L2 CR0", c->vmcb->save.cr0, ran);
}

static void setup_cr3_read(struct ctx *c)
{
	rbx_sentinel(c);
	c->want = c->vmcb->save.cr3;
}

static void setup_cr3_write(struct ctx *c)
{
	c->before = c->vmcb->save.cr3;
	c->want = c->before | (1u << 3);	/* PWT */
	c->n->gprs.rbx = c->want;
}

static void check_cr3(struct ctx *c, bool ran)
{
	expect(c, "L2 CR3", c->vmcb->save.cr3, ran);
}

static void setup_cr4_read(struct ctx *c)
{
	rbx_sentinel(c);
	c->want = c->vmcb->save.cr4;
}

static void setup_cr4_write(struct ctx *c)
{
	c->before = c->vmcb->save.cr4;
	c->want = c->before ^ X86_CR4_TSD;
	c->n->gprs.rbx = c->want;
}

static void check_cr4(struct ctx *c, bool ran)
{
	expect(c, "L2 CR4", c->vmcb->save.cr4, ran);
}

/* DR0-3 are not in the VMCB: L1 and L2 share them (15.5.1, 15.6). */
static int dr_num(struct ctx *c)
{
	return c->r->name[2] - '0';
}

static void setup_dr_read(struct ctx *c)
{
	int dr = dr_num(c);

	rbx_sentinel(c);
	c->vmcb->save.dr6 = DR6_NEW;
	c->vmcb->save.dr7 = DR7_NEW;
	if (dr < 4) {
		set_dr(dr, DR_VAL(dr));
		c->want = DR_VAL(dr);
	} else {
		c->want = dr == 6 ? DR6_NEW : DR7_NEW;
	}
}

static void setup_dr_write(struct ctx *c)
{
	int dr = dr_num(c);

	c->vmcb->save.dr6 = DR6_INIT;
	c->vmcb->save.dr7 = DR7_INIT;
	if (dr < 4) {
		set_dr(dr, 0);
		c->before = 0;
		c->want = DR_VAL(dr);
	} else {
		c->before = dr == 6 ? DR6_INIT : DR7_INIT;
		c->want = dr == 6 ? DR6_NEW : DR7_NEW;
	}
	c->n->gprs.rbx = c->want;
}

static void check_dr_write(struct ctx *c, bool ran)
{
	int dr = dr_num(c);

	if (dr < 4) {
		expect(c, "DRn (shared by L1 and L2)", get_dr(dr), ran);
		set_dr(dr, 0);
	} else {
		expect(c, dr == 6 ? "L2 DR6" : "L2 DR7",
		       dr == 6 ? c->vmcb->save.dr6 : c->vmcb->save.dr7, ran);
	}
}

static void setup_cpuid(struct ctx *c)
{
	struct cpuid_regs r;

	cpuid_count(0, 0, &r);
	rbx_sentinel(c);
	c->vmcb->save.rax = 0;
	c->n->gprs.rcx = 0;
	c->want = r.ebx;
}

static void setup_addr(struct ctx *c)
{
	c->n->gprs.rbx = (uintptr_t)&l2_data;
	c->vmcb->save.rax = (uintptr_t)&l2_data;
	c->n->gprs.rcx = 0;	/* MONITOR: no extensions (else #GP) */
	c->n->gprs.rdx = 0;
}

static void setup_invlpga(struct ctx *c)
{
	setup_addr(c);
	c->n->gprs.rcx = 1;	/* the ASID */
}

static void setup_rdtsc(struct ctx *c)
{
	c->vmcb->control.tsc_offset = TSC_OFF;
	c->vmcb->save.rax = 0;
	c->n->gprs.rdx = SENTINEL;
	c->n->gprs.rcx = SENTINEL;
	wrmsr(MSR_TSC_AUX, TSC_AUX_VAL);
	c->tsc0 = rdtsc();
}

/* L2's TSC is L1's plus the VMCB's TSC_OFFSET (table B-1). */
static void check_rdtsc(struct ctx *c, bool ran)
{
	uint64_t eax = c->vmcb->save.rax, edx = c->n->gprs.rdx, tsc;

	if (!ran) {
		CASE_ASSERT(c, eax == 0 && edx == SENTINEL, "EDX:EAX 0x%lx:0x%lx changed by an "
			    "instruction that did not run", edx, eax);
		return;
	}
	tsc = ((edx & 0xffffffff) << 32) | (eax & 0xffffffff);
	CASE_ASSERT(c, !(eax >> 32) && !(edx >> 32), "RDX 0x%lx RAX 0x%lx: upper halves not "
		    "cleared", edx, eax);
	CASE_ASSERT(c, tsc - TSC_OFF >= c->tsc0 && tsc - TSC_OFF <= c->tsc1,
		    "L2's TSC 0x%lx minus the offset 0x%llx is outside L1's TSC before/after "
		    "[0x%lx, 0x%lx]", tsc, TSC_OFF, c->tsc0, c->tsc1);
	if (c->r->flags & F_RDTSCP)
		CASE_ASSERT(c, c->n->gprs.rcx == TSC_AUX_VAL, "RDTSCP ECX 0x%lx, expected "
			    "TSC_AUX 0x%x", c->n->gprs.rcx, TSC_AUX_VAL);
}

static void setup_vmload(struct ctx *c)
{
	struct vmcb *v = (struct vmcb *)(uintptr_t)c->scratch;

	/* L1's own state, with another KernelGsBase, for L2 to load. */
	svm_vmsave(c->scratch);
	v->save.kernel_gs_base = KGS_NEW;
	wrmsr(MSR_KERNEL_GS_BASE, KGS_OLD);
	c->vmcb->save.rax = c->scratch;
	c->before = KGS_OLD;
	c->want = KGS_NEW;
}

/* VMLOAD/VMSAVE state is not switched by VMRUN/#VMEXIT (15.5.2): L1 sees L2's. */
static void check_vmload(struct ctx *c, bool ran)
{
	expect(c, "KernelGsBase after L2's VMLOAD", rdmsr(MSR_KERNEL_GS_BASE), ran);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}

static void setup_vmsave(struct ctx *c)
{
	memset((void *)(uintptr_t)c->scratch, 0, 4096);
	wrmsr(MSR_KERNEL_GS_BASE, KGS_NEW);
	c->vmcb->save.rax = c->scratch;
	c->before = 0;
	c->want = KGS_NEW;
}

static void check_vmsave(struct ctx *c, bool ran)
{
	expect(c, "KernelGsBase in L2's VMSAVE page",
	       ((struct vmcb *)(uintptr_t)c->scratch)->save.kernel_gs_base, ran);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}

static void setup_vmrun(struct ctx *c)
{
	c->vmcb->save.rax = c->scratch;
}

static void setup_iret(struct ctx *c)
{
	c->want = c->p->l2_stack_top;
	c->before = c->p->l2_stack_top - 5 * 8;
}

static void check_iret(struct ctx *c, bool ran)
{
	expect(c, "L2 RSP at the end (IRET pops its 5-word frame)", c->vmcb->save.rsp, ran);
}

/* ---- the table ---- */

#define CRW(n)		{ W_CR, SVM_INTERCEPT_CR_WRITE(n) }
#define CRR(n)		{ W_CR, SVM_INTERCEPT_CR_READ(n) }
#define SEL		{ W_MISC1, SVM_INTERCEPT_CR0_SEL_WRITE }
#define M1(b)		{ W_MISC1, SVM_INTERCEPT_##b }
#define M2(b)		{ W_MISC2, SVM_INTERCEPT2_##b }
#define EXC(v)		{ W_EXC, 1u << (v) }

#define DR_ROWS(n, group, name, flags)						\
	{ "dr" #n "_read" name, group, LABELS(dr##n##_read),			\
	  { { W_DR, SVM_INTERCEPT_DR_READ(n) } }, SVM_EXIT_READ_DR(n), 0,	\
	  F_DA_GPR | (flags), setup_dr_read, check_rbx },			\
	{ "dr" #n "_write" name, group, LABELS(dr##n##_write),			\
	  { { W_DR, SVM_INTERCEPT_DR_WRITE(n) } }, SVM_EXIT_WRITE_DR(n), 0,	\
	  F_DA_GPR | (flags), setup_dr_write, check_dr_write }

static const struct row rows[] = {
	/* CR0, CR3, CR4: 15.9 */
	{ "cr0_read", G_CR, LABELS(cr0_read), { CRR(0) }, SVM_EXIT_READ_CR(0), 0,
	  F_FEP | F_CD | F_DA_CR, setup_cr0_read, check_rbx },
	{ "cr0_write", G_CR, LABELS(cr0_write), { CRW(0) }, SVM_EXIT_WRITE_CR(0), 0,
	  F_FEP | F_CD | F_DA_CR, setup_cr0_ts, check_cr0 },
	{ "cr0_sel_write_cd", G_CR, LABELS(cr0_write), { SEL }, SVM_EXIT_CR0_SEL_WRITE, 0,
	  F_FEP | F_CD | F_DA_CR, setup_cr0_cd, check_cr0 },
	{ "cr0_sel_write_ts_mp_only", G_CR, LABELS(cr0_write), { SEL }, NO_EXIT, 0,
	  F_FEP | F_CD, setup_cr0_ts_mp, check_cr0 },
	{ "cr0_write_beats_sel_write", G_CR, LABELS(cr0_write), { CRW(0), SEL },
	  SVM_EXIT_WRITE_CR(0), 0, F_FEP | F_CD | F_DA_CR, setup_cr0_cd, check_cr0 },
	{ "lmsw_sel_write", G_CR, LABELS(lmsw), { SEL }, SVM_EXIT_CR0_SEL_WRITE, 0,
	  F_FEP | F_CD | F_DA_LMSW, setup_lmsw_em, check_cr0 },
	{ "lmsw_cr0_write", G_CR, LABELS(lmsw), { CRW(0) }, SVM_EXIT_WRITE_CR(0), 0,
	  F_FEP | F_CD | F_DA_LMSW, setup_lmsw_em, check_cr0 },
	{ "clts_sel_write", G_CR, LABELS(clts), { SEL }, NO_EXIT, 0,
	  F_FEP | F_CD, setup_clts, check_cr0 },
	{ "clts_cr0_write", G_CR, LABELS(clts), { CRW(0) }, SVM_EXIT_WRITE_CR(0), 0,
	  F_FEP | F_CD | F_DA_LMSW, setup_clts, check_cr0 },
	{ "cr3_read", G_CR, LABELS(cr3_read), { CRR(3) }, SVM_EXIT_READ_CR(3), 0,
	  F_FEP | F_DA_CR, setup_cr3_read, check_rbx },
	{ "cr3_write", G_CR, LABELS(cr3_write), { CRW(3) }, SVM_EXIT_WRITE_CR(3), 0,
	  F_FEP | F_DA_CR, setup_cr3_write, check_cr3 },
	{ "cr4_read", G_CR, LABELS(cr4_read), { CRR(4) }, SVM_EXIT_READ_CR(4), 0,
	  F_FEP | F_DA_CR, setup_cr4_read, check_rbx },
	{ "cr4_write", G_CR, LABELS(cr4_write), { CRW(4) }, SVM_EXIT_WRITE_CR(4), 0,
	  F_FEP | F_DA_CR, setup_cr4_write, check_cr4 },

	/* DR0-3, DR6, DR7: 15.9 (DR4/5 alias DR6/7) */
	DR_ROWS(0, G_DR, "", F_FEP), DR_ROWS(1, G_DR, "", F_FEP), DR_ROWS(2, G_DR, "", F_FEP),
	DR_ROWS(3, G_DR, "", F_FEP), DR_ROWS(6, G_DR, "", 0), DR_ROWS(7, G_DR, "", 0),
	/* DR6/DR7 live in the VMCB: L2's, also when KVM emulates the MOV. */
	DR_ROWS(6, G_DR_EMUL, "_emulated", F_FEP | F_FEP_ONLY),
	DR_ROWS(7, G_DR_EMUL, "_emulated", F_FEP | F_FEP_ONLY),

	/* Other instructions: 15.9, appendix C */
	{ "cpuid", G_INSN, LABELS(cpuid), { M1(CPUID) }, SVM_EXIT_CPUID, 0, F_FEP,
	  setup_cpuid, check_rbx },
	{ "hlt", G_INSN, LABELS(hlt), { M1(HLT) }, SVM_EXIT_HLT, 0, F_FEP_ICPT | F_HOST_HLT,
	  NULL, NULL },
	{ "invlpg", G_INSN, LABELS(invlpg), { M1(INVLPG) }, SVM_EXIT_INVLPG, 0,
	  F_FEP | F_DA_ADDR, setup_addr, NULL },
	{ "rdtsc", G_INSN, LABELS(rdtsc), { M1(RDTSC) }, SVM_EXIT_RDTSC, 0, F_FEP,
	  setup_rdtsc, check_rdtsc },
	{ "rdtscp", G_INSN, LABELS(rdtscp), { M2(RDTSCP) }, SVM_EXIT_RDTSCP, 0,
	  F_RDTSCP | F_TCG_NOCHECK,
	  setup_rdtsc, check_rdtsc },
	/* PAUSE filter count 0 (svm_init() zeroes the VMCB): every PAUSE exits. */
	{ "pause", G_INSN, LABELS(pause), { M1(PAUSE) }, SVM_EXIT_PAUSE, 0, F_FEP, NULL, NULL },
	{ "rdpmc", G_INSN, LABELS(rdpmc), { M1(RDPMC) }, SVM_EXIT_RDPMC, 0, F_MAY_GP, NULL, NULL },
	{ "wbinvd", G_INSN, LABELS(wbinvd), { M2(WBINVD) }, SVM_EXIT_WBINVD, 0, F_FEP, NULL, NULL },
	{ "invd", G_INSN, LABELS(invd), { M1(INVD) }, SVM_EXIT_INVD, 0, F_FEP | F_TCG_NOCHECK,
	  NULL, NULL },
	{ "monitor", G_INSN, LABELS(monitor), { M2(MONITOR) }, SVM_EXIT_MONITOR, 0, F_MAY_UD,
	  setup_addr, NULL },
	{ "mwait", G_INSN, LABELS(mwait), { M2(MWAIT) }, SVM_EXIT_MWAIT, 0, F_MAY_UD, NULL, NULL },
	{ "rsm", G_INSN, LABELS(rsm), { M1(RSM) }, SVM_EXIT_RSM, UD_VECTOR, 0, NULL, NULL },

	/* SVM instructions in L2: 15.5.1 (VMRUN), 15.5.2 (VMLOAD/VMSAVE), GIF, SKINIT */
	{ "vmmcall", G_SVM, LABELS(vmmcall), { M2(VMMCALL) }, SVM_EXIT_VMMCALL, UD_VECTOR,
	  F_END_HLT, NULL, NULL },
	{ "vmrun", G_SVM, LABELS(vmrun), { M2(VMRUN) }, SVM_EXIT_VMRUN, 0, F_NO_PLAIN,
	  setup_vmrun, NULL },
	{ "vmload", G_SVM, LABELS(vmload), { M2(VMLOAD) }, SVM_EXIT_VMLOAD, 0, 0,
	  setup_vmload, check_vmload },
	{ "vmsave", G_SVM, LABELS(vmsave), { M2(VMSAVE) }, SVM_EXIT_VMSAVE, 0, 0,
	  setup_vmsave, check_vmsave },
	{ "stgi", G_SVM, LABELS(stgi), { M2(STGI) }, SVM_EXIT_STGI, 0, 0, NULL, NULL },
	{ "clgi", G_SVM, LABELS(clgi), { M2(CLGI) }, SVM_EXIT_CLGI, 0, 0, NULL, NULL },
	{ "skinit", G_SVM, LABELS(skinit), { M2(SKINIT) }, SVM_EXIT_SKINIT, UD_VECTOR,
	  F_SKINIT, setup_vmrun, NULL },
	{ "invlpga", G_SVM, LABELS(invlpga), { M1(INVLPGA) }, SVM_EXIT_INVLPGA, 0, 0,
	  setup_invlpga, NULL },

	/* Software interrupts and IRET: 15.9 (INTn, IRET), 15.12 (exceptions) */
	{ "intn", G_EVENT, LABELS(intn), { M1(INTN) }, SVM_EXIT_SWINT, SWINT_VECTOR,
	  F_DA_VEC | F_FEP_ICPT,
	  NULL, NULL },
	{ "int3", G_EVENT, LABELS(int3), { EXC(BP_VECTOR) }, SVM_EXIT_EXCP_BASE + BP_VECTOR,
	  BP_VECTOR, F_TCG_NOCHECK, NULL, NULL },
	{ "into_64bit_is_ud", G_EVENT, LABELS(into), { EXC(OF_VECTOR) }, NO_EXIT, UD_VECTOR, 0,
	  NULL, NULL },
	{ "icebp", G_EVENT, LABELS(icebp), { M2(ICEBP) }, SVM_EXIT_ICEBP, DB_VECTOR,
	  F_TCG_NOCHECK | F_TCG_UD | F_FEP_ICPT,
	  NULL, NULL },
	{ "iret", G_EVENT, LABELS(iret), { M1(IRET) }, SVM_EXIT_IRET, 0, 0,
	  setup_iret, check_iret },
};

/* ---- L1 ---- */

/* Set or clear (svm_init() intercepts VMMCALL) one intercept: word n at VMCB 4 * n. */
static void set_icpt(struct vmcb *v, const struct icpt *ic, bool on)
{
	uint32_t *w = (uint32_t *)v + ic->word;

	if (on)
		*w |= ic->bits;
	else
		*w &= ~ic->bits;
}

/*
 * MONITOR/MWAIT without CPUID.1:ECX.MONITOR may be #UD (KVM runs them as
 * NOPs unless KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS is off); with it, never.
 */
#define X86_FEATURE_MONITOR	X86_FEATURE(1, 0, CPUID_ECX, 3)

static bool l2_has_vec_ok(struct ctx *c, uint8_t want)
{
	uint32_t f = c->r->flags;

	if ((f & F_MAY_UD) && this_cpu_has(X86_FEATURE_MONITOR))
		f &= ~F_MAY_UD;

	if (l2_vec_count == 0)
		return want == 0 || (f & (F_MAY_UD | F_MAY_GP));
	if (l2_vec_count == 1 && l2_vec == want)
		return true;
	return l2_vec_count == 1 && (((f & F_MAY_UD) && l2_vec == UD_VECTOR) ||
				     ((f & F_MAY_GP) && l2_vec == GP_VECTOR));
}

static void check_decode_assists(struct ctx *c)
{
	uint64_t info = c->vmcb->control.exit_info_1;
	uint32_t f = c->r->flags;

	if (f & F_DA_CR)
		CASE_ASSERT(c, info == (SVM_EXITINFO1_CR_MOV | 3), "exit_info_1 0x%lx, expected "
			    "MOV CRx from/to RBX (0x%llx)", info, SVM_EXITINFO1_CR_MOV | 3);
	if (f & F_DA_GPR)
		CASE_ASSERT(c, (info & SVM_EXITINFO1_GPR_MASK) == 3, "exit_info_1 0x%lx, expected "
			    "GPR 3 (RBX) in bits 3:0", info);
	if (f & F_DA_LMSW)
		CASE_ASSERT(c, !(info & SVM_EXITINFO1_CR_MOV), "exit_info_1 0x%lx: bit 63 (MOV "
			    "CRx) set for LMSW/CLTS", info);
	if (f & F_DA_ADDR)
		CASE_ASSERT(c, info == (uintptr_t)&l2_data, "exit_info_1 0x%lx, expected the "
			    "linear address 0x%lx", info, (uintptr_t)&l2_data);
	if (f & F_DA_VEC)
		CASE_ASSERT(c, info == SWINT_VECTOR, "exit_info_1 0x%lx, expected the vector "
			    "0x%x", info, SWINT_VECTOR);
}

/* One row, one mode, intercepted or not.  Returns false if the case was skipped. */
static bool run_case(struct ctx *c)
{
	const struct row *r = c->r;
	bool fep = c->mode == M_FEP;
	struct vmcb *v = c->vmcb;
	uint64_t entry = (uintptr_t)(fep ? r->l.fep_entry : r->l.entry);
	uint64_t insn = (uintptr_t)(fep ? r->l.fep_start + 5 : r->l.start);
	uint64_t end = (uintptr_t)(fep ? r->l.fep_end : r->l.end);
	uint64_t end_exit = r->flags & F_END_HLT ? SVM_EXIT_HLT : SVM_EXIT_VMMCALL;
	bool nrips = svm_features() & SVM_FEAT_NRIPS;
	bool da = svm_features() & SVM_FEAT_DECODE_ASSISTS;
	bool exits = c->icpt && r->exit != NO_EXIT;
	uint64_t code;

	svm_init(&c->p->svm, (void *)entry, c->p->l2_stack_top);
	memset(&c->n->gprs, 0, sizeof(c->n->gprs));
	if (c->mode == M_CD)
		v->save.cr0 |= X86_CR0_CD;
	if (r->flags & F_END_HLT)
		v->control.intercept_misc1 |= SVM_INTERCEPT_HLT;
	if (r->setup)
		r->setup(c);
	for (int i = 0; i < 2 && r->icpt[i].bits; i++)
		set_icpt(v, &r->icpt[i], c->icpt);
	l2_vec = 0;
	l2_vec_rip = 0;
	l2_vec_count = 0;
	l2_resume = end;

	if (!exits && (r->flags & F_HOST_HLT))
		GUEST_SYNC(SYNC_EXPECT_HLT);	/* the host sees the vCPU halt */
	svm_run(c->p->svm.vmcb, &c->n->gprs);
	code = v->control.exit_code;
	c->tsc1 = rdtsc();

	if (exits) {
		if (code != r->exit && on_tcg && (r->flags & F_TCG_NOCHECK) && code == end_exit) {
			GUEST_PRINTF("%s [%s, intercepted]: skipped: qemu-tcg ran it in L2 without "
				     "checking the intercept (no #VMEXIT; L2 took %lu exceptions, "
				     "vector %lu)\n", r->name, mode_names[c->mode], l2_vec_count,
				     l2_vec_count ? l2_vec : 0);
			return false;
		}
		CASE_ASSERT(c, code == r->exit, "#VMEXIT %s (0x%lx), expected %s (0x%lx); "
			    "exit_info_1 0x%lx, RIP 0x%lx (insn 0x%lx); L2 took %lu exceptions, "
			    "first vector %lu at 0x%lx", svm_exit_name(code), code,
			    svm_exit_name(r->exit), r->exit, v->control.exit_info_1, v->save.rip,
			    insn, l2_vec_count, l2_vec, l2_vec_rip);
		CASE_ASSERT(c, v->save.rip == insn, "VMCB RIP 0x%lx, expected the intercepted "
			    "instruction at 0x%lx", v->save.rip, insn);
		if (nrips)
			CASE_ASSERT(c, v->control.next_rip == end, "next_rip 0x%lx, expected the "
				    "next instruction at 0x%lx (NRIPS offered)",
				    v->control.next_rip, end);
		if (da)
			check_decode_assists(c);
		CASE_ASSERT(c, l2_vec_count == 0, "L2 took vector %lu at 0x%lx before the "
			    "intercept", l2_vec, l2_vec_rip);
		/* L1 emulates nothing: it moves L2 on past the instruction. */
		v->save.rip = nrips ? v->control.next_rip : end;
		svm_run(c->p->svm.vmcb, &c->n->gprs);
		code = v->control.exit_code;
	}
	CASE_ASSERT(c, code == end_exit, "#VMEXIT %s (0x%lx), expected %s at the row's end; "
		    "exit_info_1 0x%lx, RIP 0x%lx; L2 took %lu exceptions, first vector %lu at "
		    "0x%lx", svm_exit_name(code), code, svm_exit_name(end_exit),
		    v->control.exit_info_1, v->save.rip, l2_vec_count, l2_vec, l2_vec_rip);
	CASE_ASSERT(c, v->save.rip == end, "VMCB RIP 0x%lx at the row's end, expected 0x%lx",
		    v->save.rip, end);
	if (!exits) {
		uint64_t want_rip = r->vec == UD_VECTOR ? insn : end;

		if (on_tcg && (r->flags & F_TCG_UD) && l2_vec_count == 1 && l2_vec == UD_VECTOR) {
			GUEST_PRINTF("%s [%s, not intercepted]: skipped: qemu-tcg raised #UD, "
				     "expected vector %u\n", r->name, mode_names[c->mode], r->vec);
			return false;
		}

		CASE_ASSERT(c, l2_has_vec_ok(c, r->vec), "L2 took %lu exceptions, first vector "
			    "%lu at 0x%lx; expected %s%u", l2_vec_count, l2_vec, l2_vec_rip,
			    r->vec ? "one, vector " : "none", r->vec);
		if (l2_vec_count && !fep && l2_vec == r->vec)
			CASE_ASSERT(c, l2_vec_rip == want_rip, "vector %lu at RIP 0x%lx, expected "
				    "0x%lx (%s)", l2_vec, l2_vec_rip, want_rip,
				    want_rip == insn ? "a fault" : "a trap");
		if (l2_vec_count && l2_vec != r->vec)
			GUEST_PRINTF("%s [%s]: not intercepted, it raised vector %lu here\n",
				     r->name, mode_names[c->mode], l2_vec);
	}
	if (r->check)
		r->check(c, !exits);
	return true;
}

static void l1_intercepts(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	uint32_t feat = svm_features();
	struct cpuid_regs ext;
	struct nested n;
	struct ctx c = { .vmcb = vmcb, .n = &n, .p = p };
	unsigned int done = 0, skipped = 0;

	cpuid_count(0x80000001, 0, &ext);
	guest_install_handler(UD_VECTOR, l2_exception);
	guest_install_handler(GP_VECTOR, l2_exception);
	guest_install_handler(DB_VECTOR, l2_exception);
	guest_install_handler(BP_VECTOR, l2_exception);
	guest_install_handler(SWINT_VECTOR, l2_exception);
	guest_nested_init(&n, p, NULL);
	c.scratch = guest_nested_alloc_page(&n);

	GUEST_PRINTF("CPUID 0x8000000A EDX 0x%x: NRIPS %d, DecodeAssists %d; FEP %d\n", feat,
		     !!(feat & SVM_FEAT_NRIPS), !!(feat & SVM_FEAT_DECODE_ASSISTS), fep_on);

	for (unsigned int i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct row *r = &rows[i];

		if (r->group != only_group)
			continue;
		if ((r->flags & F_RDTSCP) && !this_cpu_has(X86_FEATURE_RDTSCP)) {
			GUEST_PRINTF("%s: skipped: CPUID lacks RDTSCP\n", r->name);
			continue;
		}
		c.r = r;
		for (int m = 0; m < NR_MODES; m++) {
			if (m == M_CD && !(r->flags & F_CD))
				continue;
			if (m == M_FEP && !((r->flags & (F_FEP | F_FEP_ICPT)) && fep_on))
				continue;
			if (m != M_FEP && (r->flags & F_FEP_ONLY))
				continue;
			c.mode = m;
			for (int icpt = 1; icpt >= 0; icpt--) {
				c.icpt = icpt;
				if (!icpt && (r->flags & F_NO_PLAIN))
					continue;
				/*
				 * KVM's emulator checks these intercepts before it
				 * executes, but can't run them for L2 itself: INTn
				 * only in real mode, ICEBP not at all, and HLT only
				 * sets halt_request, which only VMX's invalid-guest-
				 * state loop reads (it doesn't halt).  None of that is
				 * a nested matter.
				 */
				if (!icpt && m == M_FEP && (r->flags & F_FEP_ICPT))
					continue;
				/* SKINIT (CPUID 0x80000001 ECX bit 12) would really run. */
				if (!icpt && (r->flags & F_SKINIT) && (ext.ecx & (1u << 12))) {
					GUEST_PRINTF("%s: not-intercepted case skipped: CPUID "
						     "offers SKINIT\n", r->name);
					continue;
				}
				if (run_case(&c))
					done++;
				else
					skipped++;
			}
		}
	}
	GUEST_PRINTF("%u cases checked, %u skipped\n", done, skipped);
	__GUEST_ASSERT(done, "no case ran");
	GUEST_DONE();
}

/* ---- host ---- */

static void run_group(struct __test_metadata *_metadata, struct kvm_vm *vm,
		      struct kvm_vcpu *vcpu, enum group g)
{
	bool expect_hlt = false;
	struct ucall uc;

	on_tcg = kvm_cpu_emulator_is("qemu-tcg");
	fep_on = kvm_fep_enabled();
	only_group = g;
	sync_global_to_guest(vm, on_tcg);
	sync_global_to_guest(vm, fep_on);
	sync_global_to_guest(vm, only_group);
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	for (;;) {
		char file[256];

		vcpu_run(vcpu);
		if (vcpu->run->exit_reason == KVM_EXIT_HLT) {
			/* L2 HLT not intercepted by L1 halts the vCPU: no irqchip, so here. */
			ASSERT_TRUE(expect_hlt) TH_LOG("KVM_EXIT_HLT that L1 did not announce");
			expect_hlt = false;
			continue;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_DONE:
			ASSERT_FALSE(expect_hlt) TH_LOG("L2's HLT never reached the host");
			return;
		case UCALL_ABORT:
			report_guest_abort(vcpu, &uc);
		case UCALL_PRINTF:
			kvm_log("guest %s:%u: %s", ucall_file(vcpu, &uc, file, sizeof(file)),
				uc.line, uc.buffer);
			break;
		case UCALL_SYNC:
			if (uc.args[0] == NESTED_SKIP_SYNC)
				SKIP(return, "%s", (const char *)addr_gva2hva(vm, uc.args[1]));
			ASSERT_EQ(uc.args[0], SYNC_EXPECT_HLT);
			ASSERT_FALSE(expect_hlt) TH_LOG("L2's HLT never reached the host");
			expect_hlt = true;
			break;
		default:
			TEST_ASSERT_KVM_EXIT_REASON(vcpu, VCPU_EXIT_UCALL);
		}
	}
}

#define INTERCEPT_TEST(name, group)						\
	KVM_VCPU_TEST(name, l1_intercepts)					\
	{									\
		TEST_REQUIRE_SVM();						\
		run_group(_metadata, vm, vcpu, group);				\
	}

INTERCEPT_TEST(cr_intercepts_and_selective_cr0_write, G_CR)
INTERCEPT_TEST(dr_intercepts, G_DR)

/* DR6/DR7 reads and writes in L2 that KVM emulates (KVM_FEP): L2's DR6/DR7. */
KVM_VCPU_TEST(emulated_dr6_dr7_access_in_l2, l1_intercepts)
{
	TEST_REQUIRE_SVM();
	TEST_REQUIRE_FEP();
	run_group(_metadata, vm, vcpu, G_DR_EMUL);
}
INTERCEPT_TEST(instruction_intercepts, G_INSN)
INTERCEPT_TEST(svm_instruction_intercepts, G_SVM)
INTERCEPT_TEST(software_interrupt_and_iret_intercepts, G_EVENT)

TEST_HARNESS_MAIN
