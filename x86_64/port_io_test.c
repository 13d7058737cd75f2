// SPDX-License-Identifier: GPL-2.0-only
/*
 * Port I/O exits (api.rst, KVM_EXIT_IO): IN and OUT of 1, 2 and 4 bytes
 * report port, size, direction and data; the data the host leaves in
 * kvm_run is what an IN returns; REP OUTS/INS move the whole buffer in
 * order, possibly over several exits (count per exit <= the remaining RCX).
 */
#include "guest.h"
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

static void expect_out(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
		       unsigned int size, uint32_t value)
{
	struct kvm_run *run = vcpu->run;
	uint32_t data = 0;

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
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

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(run->io.port, PORT);
	ASSERT_EQ(run->io.direction, KVM_EXIT_IO_IN);
	ASSERT_EQ(run->io.size, size);
	memcpy((uint8_t *)run + run->io.data_offset, &value, size);
}

KVM_ONE_VCPU_TEST(in_out_sizes_and_string_io, guest_io)
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
	while (done < STR_LEN) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		ASSERT_EQ(run->io.direction, KVM_EXIT_IO_OUT);
		ASSERT_EQ(run->io.size, 1);
		ASSERT_GE(run->io.count, 1);
		ASSERT_LE(done + run->io.count, STR_LEN);
		memcpy(got + done, (uint8_t *)run + run->io.data_offset, run->io.count);
		done += run->io.count;
		exits++;
	}
	for (unsigned int i = 0; i < STR_LEN; i++) {
		ASSERT_EQ(got[i], (uint8_t)(i * 7 + 3)) TH_LOG("byte %u", i);
	}
	TH_LOG("REP OUTSB of %u bytes took %u exits", STR_LEN, exits);

	/* REP INSW: feed words until the guest's RCX is exhausted. */
	done = 0;
	while (done < STR_LEN / 2) {
		uint16_t *dst;

		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
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

TEST_HARNESS_MAIN
