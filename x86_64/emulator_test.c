// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM's instruction emulator against the CPU: each instruction below runs
 * natively and then through KVM's emulator (the force-emulation prefix,
 * kvm.force_emulation_prefix=1, on in the QEMU lane), from the same
 * registers, RFLAGS and memory; the emulated run must leave the same
 * RAX..RDI, the same memory and the same RFLAGS bits that the SDM defines
 * for the instruction (undefined ones are masked, e.g. all but CF for BT,
 * AF for shifts and logic, all but ZF for BSF/BSR).  Native runs are also
 * checked against values worked out from the SDM (vol. 2) for the cases
 * that pin a rule down:
 *  - CMPS computes [RSI] - [RDI] and SCAS computes rAX - [RDI] ("the
 *    direction of subtraction"), so CF/SF/OF follow that order; RSI/RDI
 *    step by the element size, downward with DF=1; REPE/REPNE stop on ZF.
 *  - BT/BTS/BTR/BTC with a memory bit base and a register offset address
 *    the bit at BitBase + (BitOffset DIV 8), BitOffset signed and as wide as
 *    the operand (SDM vol. 2 3.1.1.9 and BT: 64-bit offsets -2^63..2^63-1).
 *  - CMOVcc with a 32-bit operand in 64-bit mode clears RAX[63:32] even when
 *    the condition is false (SDM vol. 2 CMOVcc, vol. 1 3.4.1.1); 16- and
 *    64-bit forms leave the destination alone when false.
 *  - XADD, CMPXCHG (success and failure, 32-bit failure zero-extends EAX),
 *    arithmetic/logic/shift flags, MOVZX/MOVSX, BSF/BSR, REP MOVS/STOS and
 *    LODS with DF=1.
 *
 * Caught bugs: bugs/emulator-cmps-scas-operand-order.patch,
 * bugs/emulator-bt-64bit-offset.patch, bugs/emulator-cmov32-false-no-zero-extend.patch
 */
#include "guest/guest.h"
#include "kvm_test_harness.h"

#define CF	X86_EFLAGS_CF
#define PF	X86_EFLAGS_PF
#define AF	X86_EFLAGS_AF
#define ZF	X86_EFLAGS_ZF
#define SF	X86_EFLAGS_SF
#define DF	X86_EFLAGS_DF
#define OF	X86_EFLAGS_OF
#define ARITH	X86_EFLAGS_ARITH

struct regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rflags;
};

#define MEM_QWORDS	8
static uint64_t mem[MEM_QWORDS] __attribute__((aligned(64)));

/* A register value M(off) is the guest address mem + off. */
#define MEMREF_TAG	0xa5a5a5a5a5a50000ull
#define M(off)		(MEMREF_TAG | (off))

#define EXEC(prefix, insn, r)							\
	asm volatile("mov 0(%[p]), %%rax\n\t"					\
		     "mov 8(%[p]), %%rbx\n\t"					\
		     "mov 16(%[p]), %%rcx\n\t"					\
		     "mov 24(%[p]), %%rdx\n\t"					\
		     "mov 32(%[p]), %%rsi\n\t"					\
		     "mov 40(%[p]), %%rdi\n\t"					\
		     "pushq 48(%[p])\n\t"					\
		     "popfq\n\t"						\
		     prefix insn "\n\t"						\
		     "pushfq\n\t"						\
		     "popq 48(%[p])\n\t"					\
		     "cld\n\t"							\
		     "mov %%rax, 0(%[p])\n\t"					\
		     "mov %%rbx, 8(%[p])\n\t"					\
		     "mov %%rcx, 16(%[p])\n\t"					\
		     "mov %%rdx, 24(%[p])\n\t"					\
		     "mov %%rsi, 32(%[p])\n\t"					\
		     "mov %%rdi, 40(%[p])\n\t"					\
		     :: [p] "r"(r)						\
		     : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "memory", "cc")

#define INSN(name, insn)							\
static void name##_native(struct regs *r) { EXEC("", insn, r); }		\
static void name##_emul(struct regs *r) { EXEC(KVM_FEP, insn, r); }

INSN(cmpsb, "cmpsb")
INSN(cmpsq, "cmpsq")
INSN(repe_cmpsb, "repe cmpsb")
INSN(scasb, "scasb")
INSN(scasq, "scasq")
INSN(repne_scasw, "repne scasw")
INSN(bt64, "bt %%rax, (%%rbx)")
INSN(bts64, "bts %%rax, (%%rbx)")
INSN(btr64, "btr %%rax, (%%rbx)")
INSN(btc64, "btc %%rax, (%%rbx)")
INSN(bt32, "bt %%eax, (%%rbx)")
INSN(bts32, "bts %%eax, (%%rbx)")
INSN(bt16, "bt %%ax, (%%rbx)")
INSN(bt64_imm, "btq $36, (%%rbx)")
INSN(cmovz32, "cmovz %%ebx, %%eax")
INSN(cmovnz32, "cmovnz %%ebx, %%eax")
INSN(cmovz64, "cmovz %%rbx, %%rax")
INSN(cmovz16, "cmovz %%bx, %%ax")
INSN(cmovz32_mem, "cmovzl (%%rsi), %%eax")
INSN(xadd64, "xadd %%rbx, (%%rsi)")
INSN(xadd32_same, "xadd %%eax, %%eax")
INSN(cmpxchg64, "cmpxchg %%rbx, (%%rsi)")
INSN(cmpxchg32, "cmpxchg %%ecx, (%%rsi)")
INSN(add64, "add %%rbx, (%%rsi)")
INSN(sub32, "sub (%%rsi), %%eax")
INSN(adc8, "adc %%bl, (%%rsi)")
INSN(sbb16, "sbb %%bx, (%%rsi)")
INSN(negb, "negb (%%rsi)")
INSN(incl, "incl (%%rsi)")
INSN(decw, "decw (%%rsi)")
INSN(shlq1, "shlq $1, (%%rsi)")
INSN(sarl1, "sarl $1, (%%rsi)")
INSN(andl, "andl %%ebx, (%%rsi)")
INSN(bsf64, "bsf (%%rsi), %%rax")
INSN(bsr32, "bsr %%ebx, %%ecx")
INSN(movzbl, "movzbl (%%rsi), %%eax")
INSN(movsbq, "movsbq (%%rsi), %%rax")
INSN(movswl, "movswl (%%rsi), %%eax")
INSN(rep_movsb, "rep movsb")
INSN(rep_stosw, "rep stosw")
INSN(lodsb, "lodsb")

struct emu_case {
	const char *name;
	void (*native)(struct regs *r);
	void (*emul)(struct regs *r);
	struct regs in;			/* rflags: the arithmetic flags and DF to start with */
	uint64_t mem[MEM_QWORDS];
	uint64_t flags;			/* RFLAGS bits the SDM defines after the instruction */
	uint64_t rax, cf;		/* the SDM's RAX / CF, if CHK_RAX / CHK_CF */
	unsigned int check;
};

#define CHK_RAX	1
#define CHK_CF	2

#define C(fn, ...) { .name = #fn, .native = fn##_native, .emul = fn##_emul, __VA_ARGS__ }

/* Patterns for the bit tests: even bits set in one, odd bits in the other. */
#define EVEN	0x5555555555555555ull
#define ODD	0xaaaaaaaaaaaaaaaaull
#define BYTES	0x0807060504030201ull

static const struct emu_case cases[] = {
	/* CMPS: [RSI] - [RDI].  0x10 - 0x80 borrows and overflows. */
	C(cmpsb, .in = { .rsi = M(0), .rdi = M(32) }, .mem = { 0x10, 0, 0, 0, 0x80 },
	  .flags = ARITH, .cf = 1, .check = CHK_CF),
	C(cmpsq, .in = { .rsi = M(8), .rdi = M(40), .rflags = DF },
	  .mem = { 0, 1, 0, 0, 0, 0x8000000000000000ull }, .flags = ARITH, .cf = 1,
	  .check = CHK_CF),
	C(cmpsq, .in = { .rsi = M(8), .rdi = M(40) },
	  .mem = { 0, 0x8000000000000000ull, 0, 0, 0, 1 }, .flags = ARITH, .cf = 0,
	  .check = CHK_CF),
	C(repe_cmpsb, .in = { .rcx = 8, .rsi = M(0), .rdi = M(32) },
	  .mem = { BYTES, 0, 0, 0, 0x0807ff0504030201ull }, .flags = ARITH, .cf = 1,
	  .check = CHK_CF),
	/* SCAS: AL/RAX - [RDI]. */
	C(scasb, .in = { .rax = 0x1122334455667710ull, .rdi = M(32) },
	  .mem = { 0, 0, 0, 0, 0x80 }, .flags = ARITH, .cf = 1, .check = CHK_CF),
	C(scasq, .in = { .rax = 1, .rdi = M(40), .rflags = DF },
	  .mem = { 0, 0, 0, 0, 0, 0x7fffffffffffffffull }, .flags = ARITH, .cf = 1,
	  .check = CHK_CF),
	C(repne_scasw, .in = { .rax = 0x0605, .rcx = 4, .rdi = M(32) },
	  .mem = { 0, 0, 0, 0, BYTES }, .flags = ARITH),
	/* BT family: base at mem + 16 (mem[2] ODD, mem[3] EVEN, mem[1] EVEN). */
	C(bt64, .in = { .rax = 100, .rbx = M(16) }, .mem = { 0, EVEN, ODD, EVEN },
	  .flags = CF, .cf = 1, .check = CHK_CF),
	C(bt64, .in = { .rax = -28, .rbx = M(16) }, .mem = { 0, EVEN, ODD, EVEN },
	  .flags = CF, .cf = 1, .check = CHK_CF),
	C(bts64, .in = { .rax = 101, .rbx = M(16) }, .mem = { 0, EVEN, ODD, EVEN },
	  .flags = CF, .cf = 0, .check = CHK_CF),
	C(btr64, .in = { .rax = -28, .rbx = M(16) }, .mem = { 0, EVEN, ODD, EVEN },
	  .flags = CF, .cf = 1, .check = CHK_CF),
	C(btc64, .in = { .rax = 200, .rbx = M(16) }, .mem = { 0, EVEN, ODD, EVEN, 0, ODD },
	  .flags = CF, .cf = 0, .check = CHK_CF),
	C(bt32, .in = { .rax = 0xffffffff00000028ull, .rbx = M(16) },
	  .mem = { 0, EVEN, ODD, EVEN }, .flags = CF, .cf = 0, .check = CHK_CF),
	C(bts32, .in = { .rax = -7, .rbx = M(16) }, .mem = { 0, EVEN, ODD, EVEN },
	  .flags = CF, .cf = 0, .check = CHK_CF),
	C(bt16, .in = { .rax = 0xfffd, .rbx = M(16) }, .mem = { 0, EVEN, ODD, EVEN },
	  .flags = CF, .cf = 0, .check = CHK_CF),
	C(bt64_imm, .in = { .rbx = M(16) }, .mem = { 0, EVEN, ODD, EVEN },
	  .flags = CF, .cf = 0, .check = CHK_CF),
	/* CMOVcc: 32-bit always writes (zero-extends), 16/64-bit only when true. */
	C(cmovz32, .in = { .rax = 0xffffffff00000001ull, .rbx = 0x22 },
	  .flags = ARITH | DF, .rax = 1, .check = CHK_RAX),
	C(cmovz32, .in = { .rax = 0xffffffff00000001ull, .rbx = 0x22, .rflags = ZF },
	  .flags = ARITH | DF, .rax = 0x22, .check = CHK_RAX),
	C(cmovnz32, .in = { .rax = 0x8000000012345678ull, .rbx = 0x22, .rflags = ZF },
	  .flags = ARITH, .rax = 0x12345678, .check = CHK_RAX),
	C(cmovz64, .in = { .rax = 0xffffffff00000001ull, .rbx = 0x22 },
	  .flags = ARITH, .rax = 0xffffffff00000001ull, .check = CHK_RAX),
	C(cmovz16, .in = { .rax = 0xffffffff00000001ull, .rbx = 0x22 },
	  .flags = ARITH, .rax = 0xffffffff00000001ull, .check = CHK_RAX),
	C(cmovz32_mem, .in = { .rax = 0xffffffff00000001ull, .rsi = M(0), .rflags = ZF | CF },
	  .mem = { 0x1234567890abcdefull }, .flags = ARITH, .rax = 0x90abcdef,
	  .check = CHK_RAX),
	/* XADD, CMPXCHG */
	C(xadd64, .in = { .rbx = 1, .rsi = M(0) }, .mem = { 0x7fffffffffffffffull },
	  .flags = ARITH),
	C(xadd32_same, .in = { .rax = 0xffffffff80000001ull }, .flags = ARITH,
	  .rax = 2, .check = CHK_RAX),
	C(cmpxchg64, .in = { .rax = 5, .rbx = 7, .rsi = M(0) }, .mem = { 5 },
	  .flags = ARITH),
	C(cmpxchg64, .in = { .rax = 4, .rbx = 7, .rsi = M(0) }, .mem = { 5 },
	  .flags = ARITH, .rax = 5, .cf = 1, .check = CHK_RAX | CHK_CF),
	C(cmpxchg32, .in = { .rax = 0xffffffff00000004ull, .rcx = 7, .rsi = M(0) },
	  .mem = { 0x1111111100000005ull }, .flags = ARITH, .rax = 5, .check = CHK_RAX),
	/* Arithmetic, logic and shifts */
	C(add64, .in = { .rbx = 0x8000000000000000ull, .rsi = M(0) },
	  .mem = { 0x8000000000000001ull }, .flags = ARITH, .cf = 1, .check = CHK_CF),
	C(sub32, .in = { .rax = 0xffffffff00000001ull, .rsi = M(0) }, .mem = { 2 },
	  .flags = ARITH, .rax = 0xffffffff, .cf = 1, .check = CHK_RAX | CHK_CF),
	C(adc8, .in = { .rbx = 0x7f, .rsi = M(0), .rflags = CF }, .mem = { 0x00 },
	  .flags = ARITH),
	C(sbb16, .in = { .rbx = 0x0001, .rsi = M(0), .rflags = CF }, .mem = { 0x8001 },
	  .flags = ARITH),
	C(negb, .in = { .rsi = M(0) }, .mem = { 0x80 }, .flags = ARITH),
	C(incl, .in = { .rsi = M(0), .rflags = CF }, .mem = { 0x7fffffff }, .flags = ARITH),
	C(decw, .in = { .rsi = M(0) }, .mem = { 0x8000 }, .flags = ARITH),
	C(shlq1, .in = { .rsi = M(0) }, .mem = { 0xc000000000000001ull },
	  .flags = ARITH & ~AF),
	C(sarl1, .in = { .rsi = M(0) }, .mem = { 0x80000003 }, .flags = ARITH & ~AF),
	C(andl, .in = { .rbx = 0x80000000, .rsi = M(0), .rflags = CF | OF },
	  .mem = { 0xffffffffffffffffull }, .flags = ARITH & ~AF),
	C(bsf64, .in = { .rax = -1, .rsi = M(0) }, .mem = { 0x0100000000000000ull },
	  .flags = ZF, .rax = 56, .check = CHK_RAX),
	C(bsr32, .in = { .rbx = 0x00012345, .rcx = -1 }, .flags = ZF),
	C(movzbl, .in = { .rax = -1, .rsi = M(0) }, .mem = { 0x80 }, .flags = ARITH,
	  .rax = 0x80, .check = CHK_RAX),
	C(movsbq, .in = { .rsi = M(0) }, .mem = { 0x80 }, .flags = ARITH,
	  .rax = 0xffffffffffffff80ull, .check = CHK_RAX),
	C(movswl, .in = { .rax = -1, .rsi = M(0) }, .mem = { 0x8000 }, .flags = ARITH,
	  .rax = 0xffff8000, .check = CHK_RAX),
	/* String moves, DF=1 */
	C(rep_movsb, .in = { .rcx = 8, .rsi = M(7), .rdi = M(39), .rflags = DF },
	  .mem = { BYTES }, .flags = ARITH),
	C(rep_stosw, .in = { .rax = 0xbeef, .rcx = 3, .rdi = M(36), .rflags = DF },
	  .flags = ARITH),
	C(lodsb, .in = { .rax = -1, .rsi = M(3), .rflags = DF }, .mem = { BYTES },
	  .flags = ARITH, .rax = 0xffffffffffffff04ull, .check = CHK_RAX),
};

static void run_case(const struct emu_case *c, bool emul, struct regs *r,
		     uint64_t *mem_after)
{
	uint64_t *v = &r->rax;

	*r = c->in;
	for (int i = 0; i < 6; i++)
		if ((v[i] & ~0xffffull) == MEMREF_TAG)
			v[i] = (uint64_t)mem + (v[i] & 0xffff);
	r->rflags = (get_rflags() & ~(ARITH | DF)) | (c->in.rflags & (ARITH | DF));
	memcpy(mem, c->mem, sizeof(mem));
	if (emul)
		c->emul(r);
	else
		c->native(r);
	memcpy(mem_after, mem, sizeof(mem));
}

static const char *const reg_names[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi" };

/* Native results against the SDM's (rules in the header comment). */
static int check_sdm(const struct emu_case *c, unsigned int i, const struct regs *r)
{
	int bad = 0;

	if ((c->check & CHK_RAX) && r->rax != c->rax) {
		GUEST_PRINTF("case %u %s: RAX 0x%lx, the SDM says 0x%lx\n", i, c->name,
			     r->rax, c->rax);
		bad = 1;
	}
	if ((c->check & CHK_CF) && (r->rflags & CF) != c->cf) {
		GUEST_PRINTF("case %u %s: CF %lu, the SDM says %lu\n", i, c->name,
			     (unsigned long)(r->rflags & CF), (unsigned long)c->cf);
		bad = 1;
	}
	return bad;
}

static void guest_native(void)
{
	uint64_t m[MEM_QWORDS];
	struct regs r;
	int bad = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		run_case(&cases[i], false, &r, m);
		bad += check_sdm(&cases[i], i, &r);
	}
	__GUEST_ASSERT(!bad, "%d native results differ from the SDM's (see above)", bad);
	GUEST_DONE();
}

KVM_VCPU_TEST(native_results_follow_the_sdm, guest_native)
{
	vcpu_run_expect_done(vcpu);
}

static void guest_emulated(void)
{
	uint64_t mn[MEM_QWORDS], me[MEM_QWORDS];
	struct regs n, e;
	int bad = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct emu_case *c = &cases[i];
		uint64_t fl = c->flags | DF;
		uint64_t *vn = &n.rax, *ve = &e.rax;
		int case_bad = 0;

		run_case(c, false, &n, mn);
		run_case(c, true, &e, me);
		for (int j = 0; j < 6; j++) {
			if (vn[j] != ve[j]) {
				GUEST_PRINTF("case %u %s: %s native 0x%lx emulated 0x%lx\n", i,
					     c->name, reg_names[j], vn[j], ve[j]);
				case_bad = 1;
			}
		}
		if ((n.rflags ^ e.rflags) & fl) {
			GUEST_PRINTF("case %u %s: RFLAGS (defined bits 0x%lx) native 0x%lx "
				     "emulated 0x%lx\n", i, c->name, fl, n.rflags & fl,
				     e.rflags & fl);
			case_bad = 1;
		}
		for (int j = 0; j < MEM_QWORDS; j++) {
			if (mn[j] != me[j]) {
				GUEST_PRINTF("case %u %s: memory qword %d native 0x%lx emulated "
					     "0x%lx\n", i, c->name, j, mn[j], me[j]);
				case_bad = 1;
			}
		}
		bad += case_bad;
	}
	__GUEST_ASSERT(!bad, "%d of %lu emulated instructions differ from native (see above)",
		       bad, ARRAY_SIZE(cases));
	GUEST_DONE();
}

KVM_VCPU_TEST(emulated_matches_native, guest_emulated)
{
	TEST_REQUIRE_FEP();
	vcpu_run_expect_done(vcpu);
}

TEST_HARNESS_MAIN
