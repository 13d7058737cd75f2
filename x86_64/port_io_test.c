// SPDX-License-Identifier: GPL-2.0-only
/*
 * Port I/O exits (api.rst, KVM_EXIT_IO): IN and OUT of 1, 2 and 4 bytes
 * report port, size, direction and data; the data the host leaves in
 * kvm_run is what an IN returns; REP OUTS/INS move the whole buffer in
 * order, possibly over several exits (count per exit <= the remaining RCX).
 *
 * Also:
 *  - IN's destination register (SDM vol. 1 3.4.1.1): a 32-bit IN zero-extends
 *    into RAX[63:32]; 8- and 16-bit INs leave the rest of RAX unchanged.
 *  - INS/OUTS with EFLAGS.DF=1 (SDM vol. 2 INS/OUTS): RDI/RSI decrement, so
 *    REP INSB stores the port's successive bytes at descending addresses and
 *    REP OUTSB sends memory from the highest address down; nothing outside
 *    the RCX elements is written; RCX ends at 0.
 *  - INS without REP transfers exactly one element whatever RCX holds: one
 *    KVM_EXIT_IO with count 1, RCX unchanged, RDI advanced by the size.
 *
 * Caught bugs: bugs/pio-in32-no-zero-extend.patch, bugs/pio-rep-ins-df-set.patch,
 * bugs/pio-ins-count-without-rep.patch
 */
#include "guest/guest.h"
#include "kvm_test_harness.h"

#define PORT	0x3f0a
#define STR_LEN	512

static uint8_t out_buf[STR_LEN], in_buf[STR_LEN];

static void guest_io(void)
{
	outb(PORT, 0xa5);
	outw(PORT, 0xbeef);
	outl(PORT, 0xdeadbeef);
	GUEST_ASSERT_EQ(inb(PORT), 0x5a);
	GUEST_ASSERT_EQ(inw(PORT), 0x1234);
	GUEST_ASSERT_EQ(inl(PORT), 0x89abcdef);

	/* REP OUTSB of a known pattern, then REP INSW of what the host sends. */
	void *src = out_buf, *dst = in_buf;
	uint64_t count = STR_LEN;

	for (unsigned int i = 0; i < STR_LEN; i++)
		out_buf[i] = i * 7 + 3;
	asm volatile("cld; rep outsb" : "+S"(src), "+c"(count) : "d"(PORT) : "memory");
	GUEST_ASSERT_EQ(count, 0);
	count = STR_LEN / 2;
	asm volatile("cld; rep insw" : "+D"(dst), "+c"(count) : "d"(PORT) : "memory");
	GUEST_ASSERT_EQ(count, 0);
	for (unsigned int i = 0; i < STR_LEN; i++)
		GUEST_ASSERT_EQ(in_buf[i], (uint8_t)(i ^ 0x3c));
	GUEST_DONE();
}

/*
 * Run to the next exit on PORT.  A guest assertion failure (a ucall on the
 * way) is reported with the guest's message instead of as a wrong port.
 */
static void run_to_port(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		if (vcpu->run->io.port == PORT)
			return;
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_ABORT:
			report_guest_abort(vcpu, &uc);
		case UCALL_PRINTF:
			TH_LOG("guest: %s", uc.buffer);
			continue;
		default:
			ASSERT_EQ(vcpu->run->io.port, PORT)
				TH_LOG("exit on port %#x (ucall %u from guest line %u), expected "
				       "I/O on %#x", vcpu->run->io.port, uc.cmd, uc.line, PORT);
		}
	}
}

/* The bytes of a REP OUTSB of len bytes, in order, over its exits; returns their number. */
static unsigned int collect_outsb(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
				  uint8_t *got, unsigned int len)
{
	struct kvm_run *run = vcpu->run;
	unsigned int done = 0, exits = 0;

	while (done < len) {
		run_to_port(_metadata, vcpu);
		ASSERT_EQ(run->io.direction, KVM_EXIT_IO_OUT);
		ASSERT_EQ(run->io.size, 1);
		ASSERT_GE(run->io.count, 1);
		ASSERT_LE(done + run->io.count, len);
		memcpy(got + done, (uint8_t *)run + run->io.data_offset, run->io.count);
		done += run->io.count;
		exits++;
	}
	return exits;
}

static void expect_out(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
		       unsigned int size, uint32_t value)
{
	struct kvm_run *run = vcpu->run;
	uint32_t data = 0;

	run_to_port(_metadata, vcpu);
	ASSERT_EQ(run->io.port, PORT);
	ASSERT_EQ(run->io.direction, KVM_EXIT_IO_OUT);
	ASSERT_EQ(run->io.size, size);
	ASSERT_EQ(run->io.count, 1);
	memcpy(&data, (uint8_t *)run + run->io.data_offset, size);
	EXPECT_EQ(data, value);
}

static void answer_in(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
		      unsigned int size, uint32_t value)
{
	struct kvm_run *run = vcpu->run;

	run_to_port(_metadata, vcpu);
	ASSERT_EQ(run->io.port, PORT);
	ASSERT_EQ(run->io.direction, KVM_EXIT_IO_IN);
	ASSERT_EQ(run->io.size, size);
	memcpy((uint8_t *)run + run->io.data_offset, &value, size);
}

KVM_VCPU_TEST(in_out_sizes_and_string_io, guest_io)
{
	struct kvm_run *run = vcpu->run;
	uint8_t got[STR_LEN];
	unsigned int done = 0, exits = 0;

	expect_out(_metadata, vcpu, 1, 0xa5);
	expect_out(_metadata, vcpu, 2, 0xbeef);
	expect_out(_metadata, vcpu, 4, 0xdeadbeef);
	answer_in(_metadata, vcpu, 1, 0x5a);
	answer_in(_metadata, vcpu, 2, 0x1234);
	answer_in(_metadata, vcpu, 4, 0x89abcdef);

	/* REP OUTSB: collect every byte, in order, across however many exits. */
	exits = collect_outsb(_metadata, vcpu, got, STR_LEN);
	for (unsigned int i = 0; i < STR_LEN; i++) {
		ASSERT_EQ(got[i], (uint8_t)(i * 7 + 3)) TH_LOG("byte %u", i);
	}
	TH_LOG("REP OUTSB of %u bytes took %u exits", STR_LEN, exits);

	/* REP INSW: feed words until the guest's RCX is exhausted. */
	done = 0;
	while (done < STR_LEN / 2) {
		uint16_t *dst;

		run_to_port(_metadata, vcpu);
		ASSERT_EQ(run->io.direction, KVM_EXIT_IO_IN);
		ASSERT_EQ(run->io.size, 2);
		ASSERT_LE(done + run->io.count, STR_LEN / 2);
		dst = (uint16_t *)((uint8_t *)run + run->io.data_offset);
		for (unsigned int i = 0; i < run->io.count; i++, done++)
			dst[i] = (uint16_t)(((2 * done) ^ 0x3c) & 0xff) |
				 (uint16_t)((((2 * done + 1) ^ 0x3c) & 0xff) << 8);
	}
	vcpu_run_expect_done(vcpu);
}

/*
 * IN into RAX: 8 and 16 bits merge, 32 bits zero-extend.  The host answers
 * each IN with the low bytes of IN_VALUE.
 */
#define IN_VALUE	0x89abcdefu
#define RAX_BEFORE	0x1122334455667788ull

static uint64_t in_with_rax(int size, uint64_t rax)
{
	switch (size) {
	case 1:
		asm volatile("inb %%dx, %%al" : "+a"(rax) : "d"(PORT) : "memory");
		break;
	case 2:
		asm volatile("inw %%dx, %%ax" : "+a"(rax) : "d"(PORT) : "memory");
		break;
	default:
		asm volatile("inl %%dx, %%eax" : "+a"(rax) : "d"(PORT) : "memory");
		break;
	}
	return rax;
}

static void guest_in_rax(void)
{
	GUEST_ASSERT_EQ(in_with_rax(1, RAX_BEFORE), 0x11223344556677efull);
	GUEST_ASSERT_EQ(in_with_rax(2, RAX_BEFORE), 0x112233445566cdefull);
	GUEST_ASSERT_EQ(in_with_rax(4, RAX_BEFORE), 0x0000000089abcdefull);
	GUEST_ASSERT_EQ(in_with_rax(4, ~0ull), 0x0000000089abcdefull);
	GUEST_DONE();
}

KVM_VCPU_TEST(in_writes_rax_by_operand_size, guest_in_rax)
{
	answer_in(_metadata, vcpu, 1, IN_VALUE);
	answer_in(_metadata, vcpu, 2, IN_VALUE);
	answer_in(_metadata, vcpu, 4, IN_VALUE);
	answer_in(_metadata, vcpu, 4, IN_VALUE);
	vcpu_run_expect_done(vcpu);
}

/*
 * String I/O with DF=1.  A 16-byte window in a 48-byte buffer filled with
 * GUARD: REP INSB from its last byte down, then REP OUTSB from its last
 * byte down.  The host sends 0x40, 0x41, ... and records what it gets.
 */
#define DF_LEN		16
#define GUARD		0xcc

static uint8_t df_buf[3 * DF_LEN];

static void guest_string_df(void)
{
	uint8_t *win = df_buf + DF_LEN;
	void *dst = win + DF_LEN - 1, *src;
	uint64_t count = DF_LEN;

	for (unsigned int i = 0; i < sizeof(df_buf); i++)
		df_buf[i] = GUARD;
	asm volatile("std; rep insb; cld" : "+D"(dst), "+c"(count) : "d"(PORT) : "memory");
	GUEST_ASSERT_EQ(count, 0);
	GUEST_ASSERT_EQ((uint64_t)dst, (uint64_t)(win - 1));
	for (unsigned int i = 0; i < DF_LEN; i++)
		__GUEST_ASSERT(win[DF_LEN - 1 - i] == 0x40 + i,
			       "REP INSB, DF=1: byte %u from the port at window offset %u is 0x%x, "
			       "expected 0x%x", i, DF_LEN - 1 - i, win[DF_LEN - 1 - i], 0x40 + i);
	for (unsigned int i = 0; i < DF_LEN; i++) {
		__GUEST_ASSERT(df_buf[i] == GUARD && df_buf[2 * DF_LEN + i] == GUARD,
			       "REP INSB, DF=1 wrote outside its %u bytes: below[%u]=0x%x "
			       "above[%u]=0x%x", DF_LEN, i, df_buf[i], i, df_buf[2 * DF_LEN + i]);
	}

	/* Now send the window back, highest address first. */
	for (unsigned int i = 0; i < DF_LEN; i++)
		win[i] = 0x80 + i;
	src = win + DF_LEN - 1;
	count = DF_LEN;
	asm volatile("std; rep outsb; cld" : "+S"(src), "+c"(count) : "d"(PORT) : "memory");
	GUEST_ASSERT_EQ(count, 0);
	GUEST_ASSERT_EQ((uint64_t)src, (uint64_t)(win - 1));
	GUEST_DONE();
}

KVM_VCPU_TEST(string_io_with_df_set, guest_string_df)
{
	struct kvm_run *run = vcpu->run;
	uint8_t got[DF_LEN];
	unsigned int done = 0;

	while (done < DF_LEN) {
		uint8_t *data;

		run_to_port(_metadata, vcpu);
		ASSERT_EQ(run->io.direction, KVM_EXIT_IO_IN);
		ASSERT_EQ(run->io.port, PORT);
		ASSERT_EQ(run->io.size, 1);
		ASSERT_GE(run->io.count, 1);
		ASSERT_LE(done + run->io.count, DF_LEN);
		data = (uint8_t *)run + run->io.data_offset;
		for (unsigned int i = 0; i < run->io.count; i++)
			data[i] = 0x40 + done++;
	}
	collect_outsb(_metadata, vcpu, got, DF_LEN);
	for (unsigned int i = 0; i < DF_LEN; i++) {
		EXPECT_EQ(got[i], 0x80 + DF_LEN - 1 - i)
			TH_LOG("REP OUTSB, DF=1: element %u sent 0x%x, expected the byte at "
			       "window offset %u (0x%x)", i, got[i], DF_LEN - 1 - i,
			       0x80 + DF_LEN - 1 - i);
	}
	vcpu_run_expect_done(vcpu);
}

/*
 * INS without REP: RCX is not a count.  Two INSB and one INSW with a large
 * RCX; each must be one exit of one element, and each gets the host's next
 * value (nothing read ahead and dropped).
 */
#define NOREP_RCX	0x40

static uint8_t norep_buf[8];

static void guest_ins_norep(void)
{
	void *dst = norep_buf;
	uint64_t rcx = NOREP_RCX;

	asm volatile("cld; insb; insb; insw" : "+D"(dst), "+c"(rcx) : "d"(PORT) : "memory");
	GUEST_ASSERT_EQ(rcx, NOREP_RCX);
	GUEST_ASSERT_EQ((uint64_t)dst, (uint64_t)(norep_buf + 4));
	GUEST_ASSERT_EQ(norep_buf[0], 0x61);
	GUEST_ASSERT_EQ(norep_buf[1], 0x62);
	GUEST_ASSERT_EQ(norep_buf[2], 0x63);
	GUEST_ASSERT_EQ(norep_buf[3], 0x64);
	GUEST_ASSERT_EQ(norep_buf[4], 0);
	GUEST_DONE();
}

KVM_VCPU_TEST(ins_without_rep_is_one_element, guest_ins_norep)
{
	struct kvm_run *run = vcpu->run;
	static const struct { unsigned int size; uint16_t value; } ins[] = {
		{ 1, 0x61 }, { 1, 0x62 }, { 2, 0x6463 },
	};

	for (unsigned int i = 0; i < 3; i++) {
		uint8_t *data;

		run_to_port(_metadata, vcpu);
		ASSERT_EQ(run->io.direction, KVM_EXIT_IO_IN);
		ASSERT_EQ(run->io.port, PORT);
		ASSERT_EQ(run->io.size, ins[i].size);
		ASSERT_EQ(run->io.count, 1)
			TH_LOG("INS #%u without REP (RCX=%#x) asked for %u elements", i,
			       NOREP_RCX, run->io.count);
		data = (uint8_t *)run + run->io.data_offset;
		/* Fill the whole page slot, as if a device had more to give. */
		memset(data, 0xee, 64);
		memcpy(data, &ins[i].value, ins[i].size);
	}
	vcpu_run_expect_done(vcpu);
}

TEST_HARNESS_MAIN
