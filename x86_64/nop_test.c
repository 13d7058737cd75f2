// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every multibyte NOP form executes as a NOP: no register, flag or memory
 * changes, no exception even when its memory operand names an unmapped
 * address (SDM vol. 2B NOP: "the instruction ... does not access memory").
 * The forms: 0F 1F /0 with every ModRM shape (register, [base], SIB,
 * disp8, disp32, RIP-relative), with 66 and REX prefixes, lengths 2 to 9
 * (the SDM's recommended sequences among them).
 *
 * The one-byte 90 is in the list too: it is "an alias for NOP regardless
 * of data size prefixes, including REX.W" (SDM vol. 2 XCHG), not a 32-bit
 * XCHG EAX,EAX, so it must not zero RAX[63:32] (RAX's sentinel has high bits).
 *
 * Run natively, and again through KVM's instruction emulator when KVM's
 * force-emulation prefix is enabled (kvm.force_emulation_prefix=1; the QEMU
 * lane loads kvm that way) -- the emulator support for multibyte NOPs is
 * what the 2013 nested suite's accepted patch added.
 *
 * Caught bugs: bugs/emulator-nop-clears-rax-high.patch
 */
#include "kvm_test_harness.h"
#include "guest/guest.h"

#define NOPS(p)								\
	p ".byte 0x90\n\t"					/* 1: 90, NOP */	\
	p ".byte 0x66, 0x90\n\t"				/* 2: xchg ax,ax */	\
	p ".byte 0x0f, 0x1f, 0x00\n\t"				/* 3: [rax] */		\
	p ".byte 0x0f, 0x1f, 0xc0\n\t"				/* 3: register */	\
	p ".byte 0x0f, 0x1f, 0x40, 0x08\n\t"			/* 4: disp8[rax] */	\
	p ".byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\t"		/* 5: SIB disp8 */	\
	p ".byte 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00\n\t"	/* 6: 66 SIB disp8 */	\
	p ".byte 0x48, 0x0f, 0x1f, 0x04, 0x1b\n\t"		/* 5: REX.W [rbx+rbx] */ \
	p ".byte 0x0f, 0x1f, 0x05, 0x00, 0x10, 0x00, 0x00\n\t"	/* 7: RIP-relative */	\
	p ".byte 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00\n\t"	/* 7: disp32[rax] */	\
	p ".byte 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00\n\t"	/* 8: SIB disp32 */ \
	p ".byte 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00\n\t" /* 9 */	\
	p ".byte 0x66, 0x0f, 0x1f, 0x84, 0x1b, 0x78, 0x56, 0x34, 0x12\n\t" /* 9: [rbx+rbx+d32] */ \
	p ".byte 0x41, 0x0f, 0x1f, 0x44, 0x08, 0x10\n\t"	/* 6: REX.B [r8+rcx+8] */

struct regs {
	uint64_t rax, rbx, rcx, rdx, r8, rflags;
};

/* Sentinels: RAX, RBX and R8 point at unmapped memory, so an access would #PF. */
static const struct regs sentinel = {
	0xdead0000000ULL, 0xbeef0000000ULL, 0x10, 0x0123456789abcdefULL, 0xfee100000000ULL, 0,
};

#define RUN_NOPS(prefix, out) do {						\
	register uint64_t __r8 asm("r8") = sentinel.r8;				\
										\
	(out) = sentinel;							\
	asm volatile("pushfq\n\t"						\
		     "orq $" __stringify(X86_EFLAGS_ARITH) ", (%%rsp)\n\t"		\
		     "popfq\n\t"						\
		     NOPS(prefix)						\
		     "pushfq\n\t"						\
		     "pop %[fl]\n\t"						\
		     : "+a"((out).rax), "+b"((out).rbx), "+c"((out).rcx),	\
		       "+d"((out).rdx), "+r"(__r8), [fl] "=r"((out).rflags)	\
		     :: "memory", "cc");					\
	(out).r8 = __r8;							\
} while (0)

static void check(const char *how, const struct regs *r)
{
	__GUEST_ASSERT(r->rax == sentinel.rax && r->rbx == sentinel.rbx && r->rcx == sentinel.rcx &&
		       r->rdx == sentinel.rdx && r->r8 == sentinel.r8,
		       "%s: NOPs changed registers: rax 0x%lx rbx 0x%lx rcx 0x%lx rdx 0x%lx r8 0x%lx "
		       "(expected rax 0x%lx rbx 0x%lx rcx 0x%lx rdx 0x%lx r8 0x%lx)",
		       how, r->rax, r->rbx, r->rcx, r->rdx, r->r8, sentinel.rax, sentinel.rbx,
		       sentinel.rcx, sentinel.rdx, sentinel.r8);
	__GUEST_ASSERT((r->rflags & X86_EFLAGS_ARITH) == X86_EFLAGS_ARITH,
		       "%s: NOPs changed RFLAGS to 0x%lx", how, r->rflags);
}

static void guest_native(void)
{
	struct regs r;

	RUN_NOPS("", r);
	check("native", &r);
	GUEST_DONE();
}

KVM_VCPU_TEST(multibyte_nops_native, guest_native)
{
	vcpu_run_expect_done(vcpu);
}

static void guest_emulated(void)
{
	struct regs r;

	RUN_NOPS(KVM_FEP, r);
	check("emulated", &r);
	GUEST_DONE();
}

KVM_VCPU_TEST(multibyte_nops_emulated, guest_emulated)
{
	TEST_REQUIRE_FEP();
	vcpu_run_expect_done(vcpu);
}

TEST_HARNESS_MAIN
