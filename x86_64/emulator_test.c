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
 *  - MUL/IMUL (CF and OF defined), DIV/IDIV (IDIV r/m8 leaves RAX[63:16]),
 *    rotates (only CF, and OF for a count of 1, change), SHLD/SHRD, BSWAP
 *    (r32 zero-extends), CBW/CWDE/CDQE and CWD/CDQ/CQO (CDQ zero-extends
 *    RDX, CWD writes DX only), SETcc, XCHG with memory, LAHF/SAHF, MOVBE
 *    (r16 keeps the upper 48 bits; where CPUID offers MOVBE).
 *  - MOV from CR0/CR3/CR4, MOV to CR4/CR8 and DR1/DR7 read back, and DR4
 *    as an alias of DR6 while CR4.DE = 0 (SDM vol. 3B 18.2.2).
 * Upstream's nearest idea: x86/fastops_test.c of kernels after 6.12 (flags of emulated
 * arithmetic), which this extends to the non-fastop instructions.
 *
 * Caught bugs: bugs/emulator-cmps-scas-operand-order.patch,
 * bugs/emulator-bt-64bit-offset.patch, bugs/emulator-cmov32-false-no-zero-extend.patch,
 * bugs/emulator-cdq-writes-rdx-high.patch, bugs/regs-dr4-reads-dr7.patch
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

/* Two instructions, both emulated in the _emul form. */
#define INSN2(name, i1, i2)							\
static void name##_native(struct regs *r) { EXEC("", i1 "\n\t" i2, r); }	\
static void name##_emul(struct regs *r) { EXEC(KVM_FEP, i1 "\n\t" KVM_FEP i2, r); }

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
INSN(mulq, "mulq %%rbx")
INSN(imul3_64, "imul $-3, %%rbx, %%rcx")
INSN(imul2_32, "imul %%ebx, %%eax")
INSN(divl, "divl %%ebx")
INSN(idivb, "idivb %%bl")
INSN(rclq1, "rclq $1, (%%rsi)")
INSN(rcrl_cl, "rcrl %%cl, %%eax")
INSN(rolw_cl, "rolw %%cl, (%%rsi)")
INSN(shldq4, "shld $4, %%rbx, (%%rsi)")
INSN(shrdl_cl, "shrd %%cl, %%ebx, %%eax")
INSN(bswap32, "bswap %%eax")
INSN(bswap64, "bswap %%rbx")
INSN(cqo, "cqo")
INSN(cdq, "cltd")
INSN(cwd, "cwtd")
INSN(cbw, "cbtw")
INSN(cwde, "cwtl")
INSN(cdqe, "cltq")
INSN(setnz, "setnz %%al")
INSN(setb_mem, "setb (%%rsi)")
INSN(xchg_mem, "xchg %%rbx, (%%rsi)")
INSN(lahf, "lahf")
INSN(sahf, "sahf")
INSN(movbe16_load, "movbe (%%rsi), %%ax")
INSN(movbe32_load, "movbe (%%rsi), %%eax")
INSN(movbe64_store, "movbe %%rbx, (%%rsi)")
/* Control and debug registers: reads, and writes of a value read back. */
INSN(mov_from_cr0, "mov %%cr0, %%rax")
INSN(mov_from_cr3, "mov %%cr3, %%rbx")
INSN(mov_from_cr4, "mov %%cr4, %%rcx")
INSN2(mov_cr4_rewrite, "mov %%cr4, %%rax", "mov %%rax, %%cr4")
INSN2(mov_cr8_write_read, "mov %%rax, %%cr8", "mov %%cr8, %%rbx")
INSN2(mov_dr1_write_read, "mov %%rax, %%dr1", "mov %%dr1, %%rbx")
INSN2(mov_dr7_write_read, "mov %%rax, %%dr7", "mov %%dr7, %%rbx")
INSN2(mov_dr4_aliases_dr6, "mov %%rax, %%dr6", "mov %%dr4, %%rbx")

struct emu_case {
	const char *name;
	void (*native)(struct regs *r);
	void (*emul)(struct regs *r);
	struct regs in;			/* rflags: the arithmetic flags and DF to start with */
	uint64_t mem[MEM_QWORDS];
	uint64_t flags;			/* RFLAGS bits the SDM defines after the instruction */
	uint64_t rax, cf;		/* the SDM's RAX / CF, if CHK_RAX / CHK_CF */
	unsigned int check;
	bool movbe;			/* needs CPUID.1:ECX.MOVBE */
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
	/* MUL/IMUL define CF and OF only; DIV/IDIV define no flag. */
	C(mulq, .in = { .rax = 0x8000000000000001ull, .rbx = 6, .rdx = -1 },
	  .flags = CF | OF, .rax = 6, .cf = 1, .check = CHK_RAX | CHK_CF),
	C(imul3_64, .in = { .rbx = 0x4000000000000000ull, .rcx = -1 }, .flags = CF | OF,
	  .cf = 1, .check = CHK_CF),
	C(imul2_32, .in = { .rax = 0xffffffff00000003ull, .rbx = -5 }, .flags = CF | OF,
	  .rax = 0xfffffff1, .cf = 0, .check = CHK_RAX | CHK_CF),
	C(divl, .in = { .rax = 0xaaaaaaaa00000007ull, .rbx = 2, .rdx = 0x5555555500000001ull },
	  .flags = 0, .rax = 0x80000003, .check = CHK_RAX),
	/* IDIV r/m8: AL = AX / r8, AH = remainder, RAX[63:16] unchanged. */
	C(idivb, .in = { .rax = 0x123456789abcff85ull, .rbx = 7 }, .flags = 0,
	  .rax = 0x123456789abcfcefull, .check = CHK_RAX),
	/* Rotates touch CF (and OF for a count of 1) only; SF/ZF/AF/PF are kept. */
	C(rclq1, .in = { .rsi = M(0), .rflags = CF | ZF | PF },
	  .mem = { 0x4000000000000000ull }, .flags = ARITH),
	C(rcrl_cl, .in = { .rax = 0xffffffff00000005ull, .rcx = 3, .rflags = SF | AF },
	  .flags = ARITH & ~OF, .rax = 0x40000000, .cf = 1, .check = CHK_RAX | CHK_CF),
	C(rolw_cl, .in = { .rcx = 4, .rsi = M(0), .rflags = ZF }, .mem = { 0x11112345 },
	  .flags = ARITH & ~OF),
	/* Double shifts: AF undefined, OF only for a count of 1. */
	C(shldq4, .in = { .rbx = 0xf000000000000000ull, .rsi = M(0) },
	  .mem = { 0x1800000000000001ull }, .flags = ARITH & ~(AF | OF), .cf = 1,
	  .check = CHK_CF),
	C(shrdl_cl, .in = { .rax = 0xffffffff00000013ull, .rbx = 5, .rcx = 1 },
	  .flags = ARITH & ~AF, .rax = 0x80000009, .cf = 1, .check = CHK_RAX | CHK_CF),
	/* BSWAP r32 zero-extends in 64-bit mode; no flag changes. */
	C(bswap32, .in = { .rax = 0xffffffff11223344ull, .rflags = CF | SF },
	  .flags = ARITH, .rax = 0x44332211, .check = CHK_RAX),
	C(bswap64, .in = { .rbx = 0x0102030405060708ull }, .flags = ARITH),
	/* Sign extension: CQO/CDQ write rDX (CDQ zero-extends RDX), CWD DX only. */
	C(cqo, .in = { .rax = 0x8000000000000000ull, .rdx = 5 }, .flags = ARITH),
	C(cdq, .in = { .rax = 0x0000000080000000ull, .rdx = 0x1234567812345678ull },
	  .flags = ARITH),
	C(cwd, .in = { .rax = 0x8000, .rdx = 0x1234567812345678ull }, .flags = ARITH),
	C(cbw, .in = { .rax = 0x1122334455667780ull }, .flags = ARITH,
	  .rax = 0x112233445566ff80ull, .check = CHK_RAX),
	C(cwde, .in = { .rax = 0x1122334455668000ull }, .flags = ARITH,
	  .rax = 0xffff8000, .check = CHK_RAX),
	C(cdqe, .in = { .rax = 0x1122334480000000ull }, .flags = ARITH,
	  .rax = 0xffffffff80000000ull, .check = CHK_RAX),
	C(setnz, .in = { .rax = -1 }, .flags = ARITH, .rax = 0xffffffffffffff01ull,
	  .check = CHK_RAX),
	C(setb_mem, .in = { .rsi = M(0), .rflags = CF }, .mem = { -1ull }, .flags = ARITH),
	C(xchg_mem, .in = { .rbx = 0x1111111122222222ull, .rsi = M(0) },
	  .mem = { 0x3333333344444444ull }, .flags = ARITH),
	C(lahf, .in = { .rax = -1, .rflags = SF | CF | PF }, .flags = ARITH),
	C(sahf, .in = { .rax = 0xd500 }, .flags = ARITH),
	/* MOVBE r16 leaves the destination's upper 48 bits alone, r32 zero-extends. */
	C(movbe16_load, .in = { .rax = 0x1122334455667788ull, .rsi = M(0) },
	  .mem = { 0xaabb }, .flags = ARITH, .rax = 0x112233445566bbaaull,
	  .check = CHK_RAX, .movbe = true),
	C(movbe32_load, .in = { .rax = -1, .rsi = M(0) }, .mem = { 0xaabbccdd },
	  .flags = ARITH, .rax = 0xddccbbaa, .check = CHK_RAX, .movbe = true),
	C(movbe64_store, .in = { .rbx = 0x0102030405060708ull, .rsi = M(8) },
	  .flags = ARITH, .movbe = true),
	/* MOV to/from CR/DR: the arithmetic flags are undefined (SDM vol. 2). */
	C(mov_from_cr0, .flags = 0),
	C(mov_from_cr3, .flags = 0),
	C(mov_from_cr4, .flags = 0),
	C(mov_cr4_rewrite, .flags = 0),
	C(mov_cr8_write_read, .in = { .rax = 3 }, .flags = 0),
	C(mov_dr1_write_read, .in = { .rax = 0x12345678abcdull }, .flags = 0),
	/* DR7: bit 10 reads as 1; LE, GE and no enabled breakpoint. */
	C(mov_dr7_write_read, .in = { .rax = 0x700 }, .flags = 0),
	/* With CR4.DE = 0, DR4 is an alias of DR6 (SDM vol. 3B 18.2.2). */
	C(mov_dr4_aliases_dr6, .in = { .rax = 0xffff4ff1ull }, .flags = 0),
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
		if (cases[i].movbe && !this_cpu_has(X86_FEATURE_MOVBE))
			continue;
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
	int bad = 0, skipped = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct emu_case *c = &cases[i];
		uint64_t fl = c->flags | DF;
		uint64_t *vn = &n.rax, *ve = &e.rax;
		int case_bad = 0;

		if (c->movbe && !this_cpu_has(X86_FEATURE_MOVBE)) {
			skipped++;
			continue;
		}
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
		       bad, ARRAY_SIZE(cases) - skipped);
	GUEST_SYNC(skipped);
	GUEST_DONE();
}

KVM_VCPU_TEST(emulated_matches_native, guest_emulated)
{
	struct ucall uc;

	TEST_REQUIRE_FEP();
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	if (uc.args[0])
		ksft_print_msg("the guest's CPUID has no MOVBE: %lu MOVBE cases not run\n",
			       (unsigned long)uc.args[0]);
	vcpu_run_expect_done(vcpu);
}

TEST_HARNESS_MAIN
