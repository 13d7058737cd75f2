// SPDX-License-Identifier: GPL-2.0-only
/*
 * MMIO and port I/O that userspace completes (api.rst KVM_EXIT_MMIO and
 * KVM_EXIT_IO: for a read the data userspace leaves in kvm_run is what the
 * instruction gets, and the instruction is complete once KVM_RUN is
 * re-entered), as the instruction set defines the result:
 *
 *  - MOV loads and stores of 1, 2, 4 and 8 bytes to an unbacked GPA,
 *    including AH, an immediate stored with sign extension, MOVZX/MOVSX/
 *    MOVSXD and 32-bit destinations (SDM vol. 1 3.4.1.1: a 32-bit result
 *    zero-extends into the 64-bit register, 8- and 16-bit ones leave the
 *    rest unchanged; SDM vol. 2 MOVZX/MOVSX/MOVSXD).  After each, the
 *    complete state: RIP just past the instruction, RFLAGS as before (MOV
 *    affects no flags), the destination as the SDM says, every other GPR
 *    unchanged.
 *  - An access that crosses a page boundary: every byte of it that is
 *    MMIO is reported exactly once, at its own address, with its own data,
 *    and the bytes that fall in RAM go to RAM (x86.c emulator_read_write
 *    splits at the page: two exits for MMIO|MMIO, one for RAM|MMIO).
 *  - MOVS through MMIO (KVM emulates it; SDM vol. 2 MOVS/REP): REP MOVS
 *    from MMIO to RAM and from RAM to MMIO across a page boundary, with DF
 *    0 and 1, and a MOVSQ from MMIO to MMIO: each element read or written
 *    once in order, RCX ends at 0 (unchanged without REP), RSI/RDI step by
 *    the element size in DF's direction, flags unchanged.
 *  - REP INS/OUTS whose buffer spans page boundaries and more than a page
 *    (SDM vol. 2 INS/OUTS/REP): over all exits, each exit's port, size,
 *    direction and a count within what is left; the elements arrive (OUTS)
 *    or are stored (INS) in order at the addresses DF gives; final RCX 0,
 *    RSI/RDI past the last element; nothing outside the buffer written.
 *
 * Idea of tools/testing/selftests/kvm/x86_64/userspace_io_test.c (a REP
 * INSB longer than a page fills the whole buffer, RCX 0 and RDI at the end
 * afterwards), widened to INS/OUTS of every size, DF=1, and MMIO.  Left
 * out: its cases where userspace rewrites RCX in the middle of a REP INS
 * (not ABI: KVM only must not overrun a buffer).  x86_64/port_io_test
 * covers PIO sizes, IN zero-extension, DF=1 within a page and INS without
 * REP.
 *
 * Caught bugs: bugs/mmio-split-second-fragment-data.patch
 */
#include <stddef.h>

#include "guest/guest.h"
#include "kvm_test_harness.h"

#define RAM_SLOT	1
#define MMIO_GPA	0x20000000	/* two unbacked pages */
#define MMIO_SIZE	(2 * PAGE_SIZE)
#define RAM_GPA		(MMIO_GPA - PAGE_SIZE)	/* one RAM page just below */
#define MARK_PORT	0x99		/* OUT imm8 after each case: "done" */
#define MARK_LEN	2		/* bytes of "outb %al, $imm8" */
#define PIO_PORT	0x5a0

#define __str(x)	#x
#define str(x)		__str(x)

/* Flags the cases run with: all arithmetic flags set, or none. */
#define FL_ALL		0x8d7
#define FL_NONE		0x2

/*
 * MOV forms: X(name, instruction, register, its value before, RFLAGS,
 * offset from MMIO_GPA, length, is a store, data, register after).  For a
 * load, data is what the device returns; for a store, what it must get.
 * The base is RSI = MMIO_GPA.
 */
#define MOV_CASES(X)									\
	X(ld8,     "movb 0x1(%rsi), %al",      rax, 0x1122334455667788, FL_ALL,  0x1, 1, 0,	\
	  0xf0, 0x11223344556677f0)							\
	X(ld8h,    "movb 0x2(%rsi), %ah",      rax, 0x1122334455667788, FL_NONE, 0x2, 1, 0,	\
	  0xf0, 0x112233445566f088)							\
	X(ld16,    "movw 0x4(%rsi), %ax",      rax, 0x1122334455667788, FL_ALL,  0x4, 2, 0,	\
	  0x8001, 0x1122334455668001)							\
	X(ld32,    "movl 0x8(%rsi), %eax",     rax, 0x1122334455667788, FL_NONE, 0x8, 4, 0,	\
	  0x80000001, 0x80000001)							\
	X(ld64,    "movq 0x10(%rsi), %rax",    rax, 0x1122334455667788, FL_ALL,  0x10, 8, 0,	\
	  0x8877665544332211, 0x8877665544332211)					\
	X(ld32r10, "movl 0x28(%rsi), %r10d",   r10, 0xffffffffffffffff, FL_ALL,  0x28, 4, 0,	\
	  0xfedcba98, 0xfedcba98)							\
	X(zx8_32,  "movzbl 0x18(%rsi), %ebx",  rbx, 0xffffffffffffffff, FL_ALL,  0x18, 1, 0,	\
	  0x80, 0x80)									\
	X(zx8_16,  "movzbw 0x19(%rsi), %bx",   rbx, 0x1122334455667788, FL_NONE, 0x19, 1, 0,	\
	  0x80, 0x1122334455660080)							\
	X(zx16_32, "movzwl 0x1a(%rsi), %ecx",  rcx, 0xffffffffffffffff, FL_ALL,  0x1a, 2, 0,	\
	  0x8000, 0x8000)								\
	X(zx8_64,  "movzbq 0x1c(%rsi), %rdx",  rdx, 0xffffffffffffffff, FL_NONE, 0x1c, 1, 0,	\
	  0xff, 0xff)									\
	X(sx8_32,  "movsbl 0x1d(%rsi), %edx",  rdx, 0x1122334455667788, FL_ALL,  0x1d, 1, 0,	\
	  0x80, 0xffffff80)								\
	X(sx8_16,  "movsbw 0x1e(%rsi), %dx",   rdx, 0x1122334455667788, FL_NONE, 0x1e, 1, 0,	\
	  0x80, 0x112233445566ff80)							\
	X(sx8_64p, "movsbq 0x1f(%rsi), %rdi",  rdi, 0xffffffffffffffff, FL_ALL,  0x1f, 1, 0,	\
	  0x7f, 0x7f)									\
	X(sx8_64n, "movsbq 0x1f(%rsi), %rdi",  rdi, 0, FL_NONE, 0x1f, 1, 0,		\
	  0x80, 0xffffffffffffff80)							\
	X(sx16_32, "movswl 0x20(%rsi), %edi",  rdi, 0x1122334455667788, FL_ALL,  0x20, 2, 0,	\
	  0x8000, 0xffff8000)								\
	X(sx16_64, "movswq 0x22(%rsi), %r8",   r8,  0, FL_NONE, 0x22, 2, 0,		\
	  0x8001, 0xffffffffffff8001)							\
	X(sx32_64, "movslq 0x24(%rsi), %r9",   r9,  0, FL_ALL,  0x24, 4, 0,		\
	  0x80000000, 0xffffffff80000000)						\
	X(st8,     "movb %al, 0x30(%rsi)",     rax, 0x1122334455667788, FL_ALL,  0x30, 1, 1,	\
	  0x88, 0x1122334455667788)							\
	X(st8h,    "movb %ah, 0x31(%rsi)",     rax, 0x1122334455667788, FL_NONE, 0x31, 1, 1,	\
	  0x77, 0x1122334455667788)							\
	X(st16,    "movw %ax, 0x32(%rsi)",     rax, 0x1122334455667788, FL_ALL,  0x32, 2, 1,	\
	  0x7788, 0x1122334455667788)							\
	X(st32,    "movl %eax, 0x34(%rsi)",    rax, 0x1122334455667788, FL_NONE, 0x34, 4, 1,	\
	  0x55667788, 0x1122334455667788)						\
	X(st64,    "movq %r11, 0x38(%rsi)",    r11, 0x8877665544332211, FL_ALL,  0x38, 8, 1,	\
	  0x8877665544332211, 0x8877665544332211)					\
	X(sti8,    "movb $0x5a, 0x40(%rsi)",   rax, 0, FL_NONE, 0x40, 1, 1,		\
	  0x5a, 0)									\
	X(sti16,   "movw $0x1234, 0x42(%rsi)", rax, 0, FL_ALL,  0x42, 2, 1,		\
	  0x1234, 0)									\
	X(sti32,   "movl $0x89abcdef, 0x44(%rsi)", rax, 0, FL_NONE, 0x44, 4, 1,		\
	  0x89abcdef, 0)								\
	X(sti64,   "movq $-2, 0x48(%rsi)",     rax, 0, FL_ALL,  0x48, 8, 1,		\
	  0xfffffffffffffffe, 0)							\
	/* Across the boundary between the two MMIO pages, and from RAM into MMIO. */	\
	X(xst32,   "movl %eax, 0xffe(%rsi)",   rax, 0x1122334455667788, FL_ALL,  0xffe, 4, 1,	\
	  0x55667788, 0x1122334455667788)						\
	X(xst64,   "movq %rax, 0xffb(%rsi)",   rax, 0x0123456789abcdef, FL_NONE, 0xffb, 8, 1,	\
	  0x0123456789abcdef, 0x0123456789abcdef)					\
	X(xld16,   "movw 0xfff(%rsi), %cx",    rcx, 0x1122334455667788, FL_ALL,  0xfff, 2, 0,	\
	  0xa55a, 0x112233445566a55a)							\
	X(xld64,   "movq 0xffd(%rsi), %rdx",   rdx, 0, FL_NONE, 0xffd, 8, 0,		\
	  0xf1e2d3c4b5a69788, 0xf1e2d3c4b5a69788)					\
	X(xld32sx, "movslq 0xffe(%rsi), %r8",  r8,  0, FL_ALL,  0xffe, 4, 0,		\
	  0x80706050, 0xffffffff80706050)						\
	X(rst64,   "movq %rax, -3(%rsi)",      rax, 0x0123456789abcdef, FL_ALL,  -3, 8, 1,	\
	  0x0123456789abcdef, 0x0123456789abcdef)					\
	X(rld64,   "movq -5(%rsi), %rbx",      rbx, 0, FL_NONE, -5, 8, 0,		\
	  0x1f2e3d4c5b6a7988, 0x1f2e3d4c5b6a7988)

/*
 * The guest side: one function in assembly, each case loading its
 * register and RFLAGS, then the instruction between two labels, then the
 * mark OUT.  RBX is the only callee-saved register the cases use.
 */
#define ASM_MOV_CASE(name, insn, reg, init, flags, ...)				\
	"movabs $" #init ", %" #reg "\n\t"					\
	"pushq $" str(flags) "\n\t"						\
	"popfq\n\t"								\
	".global mov_" #name "_start\n"						\
	"mov_" #name "_start:\n\t"						\
	insn "\n\t"								\
	".global mov_" #name "_end\n"						\
	"mov_" #name "_end:\n\t"						\
	"outb %al, $" str(MARK_PORT) "\n\t"

asm(".pushsection .text\n"
    ".global guest_mov_cases\n"
    "guest_mov_cases:\n\t"
    "push %rbx\n\t"
    "movabs $" str(MMIO_GPA) ", %rsi\n\t"
    MOV_CASES(ASM_MOV_CASE)
    "pop %rbx\n\t"
    "ret\n"
    ".popsection\n");

#define DECLARE_MOV_LABELS(name, ...)	extern const char mov_##name##_start[], mov_##name##_end[];
MOV_CASES(DECLARE_MOV_LABELS)

struct mov_case {
	const char *name, *insn;
	const char *start, *end;
	size_t reg;		/* offset in struct kvm_regs */
	uint64_t flags;
	int off;
	unsigned int len;
	bool write;
	uint64_t data, expect;
};

#define MOV_CASE_ENTRY(name, insn, reg, init, flags, off, len, write, data, expect)	\
	{ #name, insn, mov_##name##_start, mov_##name##_end,				\
	  offsetof(struct kvm_regs, reg), flags, off, len, write, data, expect },

static const struct mov_case mov_cases[] = {
	MOV_CASES(MOV_CASE_ENTRY)
};

static void guest_mov_forms(void)
{
	asm volatile("call guest_mov_cases"
		     ::: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
			 "memory", "cc");
	GUEST_DONE();
}

/*
 * The device behind MMIO_GPA: reads return mem[], writes land in it, and
 * every byte read or written is counted.
 */
struct mmio_dev {
	uint8_t mem[MMIO_SIZE];
	uint8_t reads[MMIO_SIZE], writes[MMIO_SIZE];
	unsigned int exits;
};

static void dev_reset_counts(struct mmio_dev *dev)
{
	memset(dev->reads, 0, sizeof(dev->reads));
	memset(dev->writes, 0, sizeof(dev->writes));
	dev->exits = 0;
}

/* Pass a ucall on (printf) or fail with it; any other exit is the caller's. */
static bool handle_ucall(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	switch (get_ucall(vcpu, &uc)) {
	case UCALL_NONE:
		return false;
	case UCALL_ABORT:
		report_guest_abort(vcpu, &uc);
	case UCALL_PRINTF:
		TH_LOG("guest: %s", uc.buffer);
		return true;
	default:
		ASSERT_TRUE(false) TH_LOG("unexpected ucall %u from guest line %u", uc.cmd,
					  uc.line);
	}
	return false;
}

/*
 * Serve MMIO exits from dev until the guest's mark OUT, then complete the
 * OUT (api.rst: state is consistent after re-entering KVM_RUN) and read
 * the registers.  first (optional) gets the registers at the first MMIO
 * exit.
 */
static void run_to_mark(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
			struct mmio_dev *dev, struct kvm_regs *first, struct kvm_regs *regs)
{
	struct kvm_run *run = vcpu->run;

	for (;;) {
		uint64_t addr, off;
		unsigned int len;

		vcpu_run(vcpu);
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == MARK_PORT)
			break;
		if (run->exit_reason == KVM_EXIT_IO && handle_ucall(_metadata, vcpu))
			continue;
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
		addr = run->mmio.phys_addr;
		len = run->mmio.len;
		ASSERT_TRUE(len >= 1 && len <= 8) TH_LOG("KVM_EXIT_MMIO len %u", len);
		ASSERT_TRUE(addr >= MMIO_GPA && addr + len <= MMIO_GPA + MMIO_SIZE)
			TH_LOG("KVM_EXIT_MMIO at %#llx+%u: outside the device [%#x, %#lx)",
			       (unsigned long long)addr, len, MMIO_GPA, MMIO_GPA + MMIO_SIZE);
		if (first && !dev->exits)
			vcpu_regs_get(vcpu, first);
		dev->exits++;
		off = addr - MMIO_GPA;
		for (unsigned int i = 0; i < len; i++) {
			if (run->mmio.is_write) {
				dev->mem[off + i] = run->mmio.data[i];
				dev->writes[off + i]++;
			} else {
				run->mmio.data[i] = dev->mem[off + i];
				dev->reads[off + i]++;
			}
		}
	}
	ASSERT_EQ(run->io.direction, KVM_EXIT_IO_OUT);
	vcpu_complete_io(vcpu);
	vcpu_regs_get(vcpu, regs);
}

static uint64_t *reg_ptr(struct kvm_regs *regs, size_t off)
{
	return (uint64_t *)((uint8_t *)regs + off);
}

/* The GPRs of struct kvm_regs, rax..r15, in order. */
static const char *const gpr_names[] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static struct mmio_dev mov_dev;

KVM_VCPU_TEST(mov_forms_complete_with_full_state, guest_mov_forms)
{
	uint8_t *ram = vm_mem_region_add(vm, RAM_SLOT, RAM_GPA, PAGE_SIZE, 0);
	struct mmio_dev *dev = &mov_dev;

	virt_map(vm, RAM_GPA, RAM_GPA, PAGE_SIZE + MMIO_SIZE, PTE_DEFAULT);

	for (unsigned int c = 0; c < ARRAY_SIZE(mov_cases); c++) {
		const struct mov_case *mc = &mov_cases[c];
		struct kvm_regs first, regs;
		unsigned int mmio_bytes = 0, counted = 0;

		/* Loads find their data in place; stores find 0xcc. */
		dev_reset_counts(dev);
		memset(dev->mem, 0xcc, sizeof(dev->mem));
		memset(ram, 0xcc, PAGE_SIZE);
		for (unsigned int i = 0; i < mc->len; i++) {
			int at = mc->off + (int)i;
			uint8_t byte = mc->write ? 0xcc : (uint8_t)(mc->data >> (8 * i));

			if (at < 0)
				ram[PAGE_SIZE + at] = byte;
			else
				dev->mem[at] = byte;
		}

		run_to_mark(_metadata, vcpu, dev, &first, &regs);
		ASSERT_GE(dev->exits, 1) TH_LOG("case %s (%s): no MMIO exit", mc->name, mc->insn);

		EXPECT_EQ(regs.rip, (uint64_t)mc->end + MARK_LEN)
			TH_LOG("case %s (%s): RIP %#llx, expected %p + %u (the instruction is "
			       "%ld bytes at %p)", mc->name, mc->insn, regs.rip, mc->end,
			       MARK_LEN, (long)(mc->end - mc->start), mc->start);
		EXPECT_EQ(regs.rflags, mc->flags)
			TH_LOG("case %s (%s): RFLAGS %#llx, set to %#llx before it", mc->name,
			       mc->insn, regs.rflags, (unsigned long long)mc->flags);
		EXPECT_EQ(*reg_ptr(&regs, mc->reg), mc->expect)
			TH_LOG("case %s (%s): destination %#llx, expected %#llx", mc->name,
			       mc->insn, (unsigned long long)*reg_ptr(&regs, mc->reg),
			       (unsigned long long)mc->expect);
		for (unsigned int r = 0; r < ARRAY_SIZE(gpr_names); r++) {
			size_t off = r * sizeof(uint64_t);

			if (off == mc->reg)
				continue;
			EXPECT_EQ(*reg_ptr(&regs, off), *reg_ptr(&first, off))
				TH_LOG("case %s (%s): %s changed from %#llx to %#llx", mc->name,
				       mc->insn, gpr_names[r],
				       (unsigned long long)*reg_ptr(&first, off),
				       (unsigned long long)*reg_ptr(&regs, off));
		}

		/* Every MMIO byte of the access exactly once, with its own data. */
		for (unsigned int i = 0; i < mc->len; i++) {
			int at = mc->off + (int)i;
			uint8_t byte = mc->data >> (8 * i);

			if (at < 0) {
				if (mc->write)
					EXPECT_EQ(ram[PAGE_SIZE + at], byte)
						TH_LOG("case %s (%s): RAM byte %d", mc->name,
						       mc->insn, at);
				continue;
			}
			mmio_bytes++;
			EXPECT_EQ(mc->write ? dev->writes[at] : dev->reads[at], 1)
				TH_LOG("case %s (%s): MMIO byte %#x %s %u times, expected once",
				       mc->name, mc->insn, at, mc->write ? "written" : "read",
				       mc->write ? dev->writes[at] : dev->reads[at]);
			if (mc->write)
				EXPECT_EQ(dev->mem[at], byte)
					TH_LOG("case %s (%s): MMIO byte %#x got %#x, expected %#x",
					       mc->name, mc->insn, at, dev->mem[at], byte);
		}
		for (unsigned int i = 0; i < MMIO_SIZE; i++)
			counted += dev->reads[i] + dev->writes[i];
		EXPECT_EQ(counted, mmio_bytes)
			TH_LOG("case %s (%s): %u MMIO bytes accessed, the instruction has %u",
			       mc->name, mc->insn, counted, mmio_bytes);
		ASSERT_FALSE(KVM_TEST_FAILED()) TH_LOG("case %s: %u exits", mc->name, dev->exits);
	}
	vcpu_run_expect_done(vcpu);
}

/*
 * MOVS through MMIO.  Device byte at offset o holds dev_byte(o); the RAM
 * buffer (a guest global) is filled with ram_byte(i) for MOVS from RAM.
 */
#define MOVS_BUF_LEN	64

static uint8_t dev_byte(unsigned int o)
{
	return (uint8_t)((o * 29) ^ (o >> 8) ^ 0x5c);
}

static uint8_t ram_byte(unsigned int i)
{
	return (uint8_t)(i * 11 + 0x21);
}

struct movs_case {
	bool from_mmio, to_mmio, rep, df;
	unsigned int size, count;
	uint64_t src_off, dst_off;	/* MMIO offsets, or RAM buffer offsets */
};

/* For DF=1 the offsets are those of the first (highest) element. */
static const struct movs_case movs_cases[] = {
	{ .from_mmio = true,  .rep = true, .size = 2, .count = 5, .src_off = 0xffa, .dst_off = 8 },
	{ .to_mmio = true,    .rep = true, .size = 4, .count = 4, .src_off = 4, .dst_off = 0xff8 },
	{ .from_mmio = true,  .rep = true, .df = true, .size = 1, .count = 4, .src_off = 0x1001,
	  .dst_off = 40 },
	{ .to_mmio = true,    .rep = true, .df = true, .size = 8, .count = 3, .src_off = 48,
	  .dst_off = 0x1004 },
	{ .from_mmio = true,  .to_mmio = true, .size = 8, .count = 0x77, .src_off = 0x100,
	  .dst_off = 0x200 },
};

static uint8_t movs_buf[MOVS_BUF_LEN];

static uint64_t movs_addr(bool mmio, uint64_t off)
{
	return mmio ? MMIO_GPA + off : (uint64_t)movs_buf + off;
}

#define GUEST_MOVS(insn)							\
	asm volatile("pushq %[fl]\n\tpopfq\n\t" insn "\n\t"			\
		     "pushfq\n\tpopq %[fl]\n\tcld\n\toutb %%al, $" str(MARK_PORT) \
		     : "+S"(src), "+D"(dst), "+c"(rcx), [fl] "+r"(flags)		\
		     :: "memory", "cc")

static void guest_movs(void)
{
	for (unsigned int c = 0; c < ARRAY_SIZE(movs_cases); c++) {
		const struct movs_case *mc = &movs_cases[c];
		uint64_t src = movs_addr(mc->from_mmio, mc->src_off);
		uint64_t dst = movs_addr(mc->to_mmio, mc->dst_off);
		uint64_t rcx = mc->count, step = mc->rep ? mc->count : 1;
		uint64_t flags = FL_ALL | (mc->df ? X86_EFLAGS_DF : 0);
		int64_t delta = (mc->df ? -1 : 1) * (int64_t)(step * mc->size);
		uint64_t src0 = src, dst0 = dst;

		for (unsigned int i = 0; i < MOVS_BUF_LEN; i++)
			movs_buf[i] = mc->from_mmio ? 0xcc : ram_byte(i);

		switch (mc->size * 2 + mc->rep) {
		case 3:
			GUEST_MOVS("rep movsb");
			break;
		case 5:
			GUEST_MOVS("rep movsw");
			break;
		case 9:
			GUEST_MOVS("rep movsl");
			break;
		case 17:
			GUEST_MOVS("rep movsq");
			break;
		default:
			GUEST_MOVS("movsq");
			break;
		}
		__GUEST_ASSERT(rcx == (mc->rep ? 0 : mc->count),
			       "MOVS case %u: RCX %#lx, expected %#lx", c, rcx,
			       mc->rep ? 0ul : (unsigned long)mc->count);
		__GUEST_ASSERT(src == src0 + delta && dst == dst0 + delta,
			       "MOVS case %u: RSI %#lx RDI %#lx, expected %#lx %#lx", c, src, dst,
			       src0 + delta, dst0 + delta);
		__GUEST_ASSERT(flags == (FL_ALL | (mc->df ? X86_EFLAGS_DF : 0)),
			       "MOVS case %u: RFLAGS %#lx after, %#lx before", c, flags,
			       FL_ALL | (mc->df ? X86_EFLAGS_DF : 0));
		if (!mc->from_mmio || mc->to_mmio)
			continue;
		/* MMIO -> RAM: the elements in place, nothing around them. */
		for (unsigned int i = 0; i < MOVS_BUF_LEN; i++) {
			uint64_t lo = mc->df ? mc->dst_off - (step - 1) * mc->size : mc->dst_off;
			uint64_t src_lo = mc->df ? mc->src_off - (step - 1) * mc->size :
					  mc->src_off;
			bool in = i >= lo && i < lo + step * mc->size;
			uint8_t want = in ? dev_byte(src_lo + i - lo) : 0xcc;

			__GUEST_ASSERT(movs_buf[i] == want,
				       "MOVS case %u: RAM byte %u is %#x, expected %#x", c, i,
				       movs_buf[i], want);
		}
	}
	GUEST_DONE();
}

static struct mmio_dev movs_dev;

KVM_VCPU_TEST(movs_through_mmio, guest_movs)
{
	struct mmio_dev *dev = &movs_dev;

	virt_map(vm, MMIO_GPA, MMIO_GPA, MMIO_SIZE, PTE_DEFAULT);
	for (unsigned int c = 0; c < ARRAY_SIZE(movs_cases); c++) {
		const struct movs_case *mc = &movs_cases[c];
		unsigned int step = mc->rep ? mc->count : 1, bytes = step * mc->size;
		uint64_t src_lo = mc->df ? mc->src_off - (step - 1) * mc->size : mc->src_off;
		uint64_t dst_lo = mc->df ? mc->dst_off - (step - 1) * mc->size : mc->dst_off;
		struct kvm_regs regs;

		dev_reset_counts(dev);
		for (unsigned int i = 0; i < MMIO_SIZE; i++)
			dev->mem[i] = dev_byte(i);
		run_to_mark(_metadata, vcpu, dev, NULL, &regs);

		for (unsigned int i = 0; i < MMIO_SIZE; i++) {
			bool src = mc->from_mmio && i >= src_lo && i < src_lo + bytes;
			bool dst = mc->to_mmio && i >= dst_lo && i < dst_lo + bytes;

			EXPECT_EQ(dev->reads[i], src)
				TH_LOG("MOVS case %u: MMIO byte %#x read %u times, expected %u",
				       c, i, dev->reads[i], src);
			EXPECT_EQ(dev->writes[i], dst)
				TH_LOG("MOVS case %u: MMIO byte %#x written %u times, expected %u",
				       c, i, dev->writes[i], dst);
			if (!dst)
				continue;
			EXPECT_EQ(dev->mem[i], mc->from_mmio ? dev_byte(src_lo + i - dst_lo) :
					       ram_byte(src_lo + i - dst_lo))
				TH_LOG("MOVS case %u: MMIO byte %#x", c, i);
		}
		ASSERT_FALSE(KVM_TEST_FAILED()) TH_LOG("MOVS case %u: %u exits", c, dev->exits);
	}
	vcpu_run_expect_done(vcpu);
}

/*
 * REP INS/OUTS over page boundaries, more than a page at a time.  The
 * buffer is four pages; offsets are of the first element (for DF=1 the
 * highest).  INS element k gets ins_value(k); OUTS sends the buffer,
 * whose byte at offset o is buf_byte(o).
 */
#define PIO_BUF_LEN	(4 * PAGE_SIZE)

struct rep_io_case {
	bool in, df;
	unsigned int size, count;
	unsigned int off;
};

static const struct rep_io_case rep_io_cases[] = {
	{ .in = true,  .size = 1, .count = 0x1020, .off = 0xff0 },
	{ .in = true,  .size = 2, .count = 0x804,  .off = 0x1ffa },
	{ .in = true,  .df = true, .size = 4, .count = 0x402, .off = 0x2ffc },
	{ .in = false, .size = 1, .count = 0x1005, .off = 0xffd },
	{ .in = false, .size = 4, .count = 0x403,  .off = 0xff8 },
	{ .in = false, .df = true, .size = 2, .count = 0x805, .off = 0x2002 },
};

static uint8_t pio_buf[PIO_BUF_LEN] __attribute__((aligned(PAGE_SIZE)));

static uint32_t ins_value(unsigned int k)
{
	return k * 0x9e3779b1u + 0x01234567u;
}

static uint8_t buf_byte(unsigned int o)
{
	return (uint8_t)((o * 13) ^ (o >> 8) ^ 0xa5);
}

static unsigned int elem_off(const struct rep_io_case *rc, unsigned int k)
{
	return rc->df ? rc->off - k * rc->size : rc->off + k * rc->size;
}

#define GUEST_REP_IO(insn, ptr_reg)						\
	asm volatile("testb %b[df], %b[df]\n\tjz 1f\n\tstd\n1:\trep " insn "\n\tcld"	\
		     : "+" ptr_reg(ptr), "+c"(rcx)					\
		     : "d"(PIO_PORT), [df] "q"(rc->df) : "memory", "cc")

static void guest_rep_io(void)
{
	for (unsigned int c = 0; c < ARRAY_SIZE(rep_io_cases); c++) {
		const struct rep_io_case *rc = &rep_io_cases[c];
		uint64_t ptr = (uint64_t)pio_buf + rc->off, rcx = rc->count;
		unsigned int lo = rc->df ? elem_off(rc, rc->count - 1) : rc->off;
		unsigned int hi = lo + rc->count * rc->size;

		for (unsigned int o = 0; o < PIO_BUF_LEN; o++)
			pio_buf[o] = rc->in ? 0xcc : buf_byte(o);

		switch (rc->size * 2 + rc->in) {
		case 3:
			GUEST_REP_IO("insb", "D");
			break;
		case 5:
			GUEST_REP_IO("insw", "D");
			break;
		case 9:
			GUEST_REP_IO("insl", "D");
			break;
		case 2:
			GUEST_REP_IO("outsb", "S");
			break;
		case 4:
			GUEST_REP_IO("outsw", "S");
			break;
		default:
			GUEST_REP_IO("outsl", "S");
			break;
		}
		__GUEST_ASSERT(rcx == 0, "REP I/O case %u: RCX %#lx after", c, rcx);
		__GUEST_ASSERT(ptr == (uint64_t)pio_buf + elem_off(rc, rc->count),
			       "REP I/O case %u: %s %#lx, expected %#lx", c, rc->in ? "RDI" : "RSI",
			       ptr, (uint64_t)pio_buf + elem_off(rc, rc->count));
		if (!rc->in)
			continue;
		for (unsigned int o = 0; o < PIO_BUF_LEN; o++) {
			uint8_t want = 0xcc;

			if (o >= lo && o < hi) {
				/* Element k is at elem_off(rc, k). */
				unsigned int k = rc->df ? (rc->off - (o - o % rc->size)) / rc->size :
						 (o - o % rc->size - rc->off) / rc->size;

				want = ins_value(k) >> (8 * (o % rc->size));
			}
			__GUEST_ASSERT(pio_buf[o] == want,
				       "REP INS case %u: byte at buffer offset %#x is %#x, expected "
				       "%#x", c, o, pio_buf[o], want);
		}
	}
	GUEST_DONE();
}

KVM_VCPU_TEST(rep_ins_outs_across_pages, guest_rep_io)
{
	struct kvm_run *run = vcpu->run;

	/* The buffer must start on a page for the offsets to mean what they say. */
	ASSERT_EQ((uint64_t)pio_buf & (PAGE_SIZE - 1), 0);
	for (unsigned int c = 0; c < ARRAY_SIZE(rep_io_cases); c++) {
		const struct rep_io_case *rc = &rep_io_cases[c];
		unsigned int done = 0, exits = 0;

		while (done < rc->count) {
			uint8_t *data;

			vcpu_run(vcpu);
			TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
			if (run->io.port != PIO_PORT && handle_ucall(_metadata, vcpu))
				continue;
			ASSERT_EQ(run->io.port, PIO_PORT)
				TH_LOG("REP I/O case %u: exit on port %#x after %u of %u elements",
				       c, run->io.port, done, rc->count);
			ASSERT_EQ(run->io.direction, rc->in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT);
			ASSERT_EQ(run->io.size, rc->size);
			ASSERT_GE(run->io.count, 1);
			ASSERT_LE(done + run->io.count, rc->count)
				TH_LOG("REP I/O case %u: exit %u asks for %u elements, %u of %u left",
				       c, exits, run->io.count, rc->count - done, rc->count);
			ASSERT_LE(run->io.data_offset + run->io.count * rc->size, vcpu->run_size);
			data = (uint8_t *)run + run->io.data_offset;
			for (unsigned int i = 0; i < run->io.count; i++, done++) {
				uint32_t v = ins_value(done);
				unsigned int o = elem_off(rc, done);

				for (unsigned int b = 0; b < rc->size; b++) {
					if (rc->in) {
						data[i * rc->size + b] = v >> (8 * b);
						continue;
					}
					ASSERT_EQ(data[i * rc->size + b], buf_byte(o + b))
						TH_LOG("REP OUTS case %u: element %u (buffer offset "
						       "%#x) byte %u, exit %u", c, done, o, b, exits);
				}
			}
			exits++;
		}
		TH_LOG("REP %s%s case %u: %u elements of %u bytes in %u exits",
		       rc->in ? "INS" : "OUTS", rc->df ? " (DF=1)" : "", c, rc->count, rc->size,
		       exits);
	}
	vcpu_run_expect_done(vcpu);
}

TEST_HARNESS_MAIN
