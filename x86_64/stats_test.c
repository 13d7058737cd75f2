// SPDX-License-Identifier: GPL-2.0-only
/*
 * Binary statistics (api.rst 4.133 KVM_GET_STATS_FD, KVM_CAP_BINARY_STATS_FD),
 * for a VM fd and a vCPU fd:
 *  - the layout: header flags 0; id string, descriptor and data blocks at
 *    multiples of 8, not overlapping each other or the header, the file
 *    ending where the last one ends; the id string NUL-terminated within
 *    name_size ("kvm-<pid>" for the VM, the vCPU's a different one);
 *  - each descriptor: type, unit and base within their _MAX; cumulative,
 *    instant and peak stats of size 1; linear histograms with a bucket
 *    size; no logarithmic histogram of booleans; names non-empty,
 *    NUL-terminated within name_size and unique; each stat's values inside
 *    the data block, apart from the others'; and (its own test) the data
 *    block "an array of 64-bit values in the same order as the
 *    descriptors";
 *  - the values: booleans 0 or 1, cumulative and peak values never
 *    decrease, and the counters move with what the guest did, by deltas:
 *    N port writes are N (+1 for the ucall's own OUT) io_exits, K HLTs
 *    without an in-kernel LAPIC are K halt_exits, one host-injected NMI is
 *    at least one nmi_injections, and exits grows by at least the exits
 *    seen; the
 *    VM's page-mapping counts (pages_4k/2m/1g) grow when the guest touches
 *    memory it never touched.
 * Covers the idea of upstream tools/testing/selftests/kvm/kvm_binary_stats_test.c.
 *
 * Caught bugs: bugs/pio-io-exits-stat-not-counted.patch
 */
#include <unistd.h>

#include "guest/guest.h"
#include "kvm_test_harness.h"

#define STAT_PORT	0x3f7
#define NR_OUTS		25
#define NR_HLTS		7

struct stats {
	int fd;
	struct kvm_stats_header hdr;
	char *id;
	uint8_t *descs;			/* num_desc descriptors of desc_size bytes */
	size_t desc_size;
	size_t data_len;		/* bytes in the data block */
	uint64_t *data;
};

static struct kvm_stats_desc *stat_desc(const struct stats *s, unsigned int i)
{
	return (struct kvm_stats_desc *)(s->descs + i * s->desc_size);
}

static void stats_read_data(struct __test_metadata *_metadata, struct stats *s)
{
	ssize_t n = pread(s->fd, s->data, s->data_len, s->hdr.data_offset);

	ASSERT_EQ(n, (ssize_t)s->data_len) TH_LOG("pread of the data block: %s", strerror(errno));
}

static void stats_open(struct __test_metadata *_metadata, int owner_fd, struct stats *s)
{
	ssize_t n;
	size_t len;

	TEST_REQUIRE_CAP(KVM_CAP_BINARY_STATS_FD);
	s->fd = ioctl(owner_fd, KVM_GET_STATS_FD, NULL);
	ASSERT_GE(s->fd, 0) TH_LOG("KVM_GET_STATS_FD: %s", strerror(errno));
	n = pread(s->fd, &s->hdr, sizeof(s->hdr), 0);
	ASSERT_EQ(n, (ssize_t)sizeof(s->hdr));
	ASSERT_GT(s->hdr.name_size, 0);
	ASSERT_LT(s->hdr.name_size, 4096);
	ASSERT_LT(s->hdr.num_desc, 4096);

	s->id = calloc(1, s->hdr.name_size);
	n = pread(s->fd, s->id, s->hdr.name_size, s->hdr.id_offset);
	ASSERT_EQ(n, (ssize_t)s->hdr.name_size);

	s->desc_size = sizeof(struct kvm_stats_desc) + s->hdr.name_size;
	len = s->desc_size * s->hdr.num_desc;
	s->descs = calloc(1, len ?: 1);
	n = pread(s->fd, s->descs, len, s->hdr.desc_offset);
	ASSERT_EQ(n, (ssize_t)len);

	s->data_len = 0;
	for (unsigned int i = 0; i < s->hdr.num_desc; i++)
		s->data_len += stat_desc(s, i)->size * sizeof(uint64_t);
	s->data = calloc(1, s->data_len ?: 1);
	stats_read_data(_metadata, s);
}

static void stats_close(struct stats *s)
{
	close(s->fd);
	free(s->id);
	free(s->descs);
	free(s->data);
}

/* The value of a size-1 stat by name; fails the test if KVM has no such stat. */
static uint64_t stat_value(struct __test_metadata *_metadata, const struct stats *s,
			   const char *name)
{
	for (unsigned int i = 0; i < s->hdr.num_desc; i++) {
		const struct kvm_stats_desc *d = stat_desc(s, i);

		if (!strcmp(d->name, name))
			return s->data[d->offset / sizeof(uint64_t)];
	}
	EXPECT_TRUE(false) TH_LOG("%s has no stat \"%s\"", s->id, name);
	return 0;
}

static bool stat_exists(const struct stats *s, const char *name)
{
	for (unsigned int i = 0; i < s->hdr.num_desc; i++)
		if (!strcmp(stat_desc(s, i)->name, name))
			return true;
	return false;
}

static uint64_t nmi_count;
static uint64_t fresh_gpa;

static void guest_nmi_handler(struct ex_regs *regs)
{
	nmi_count++;
}

static void guest_plain_stats(void)
{
	GUEST_SYNC(0);
}

/* Each phase between two ucalls does one kind of thing a known number of times. */
static void guest_activity(void)
{
	GUEST_SYNC(0);
	for (unsigned int i = 0; i < NR_OUTS; i++)
		outb(STAT_PORT, i);
	GUEST_SYNC(1);
	for (unsigned int i = 0; i < NR_HLTS; i++)
		hlt();
	GUEST_SYNC(2);
	/* The host made an NMI pending here. */
	GUEST_SYNC(3);
	*(volatile uint64_t *)fresh_gpa = 0x5a;
	GUEST_SYNC(4);
}

struct block {
	const char *name;
	uint64_t start, len;
};

/* The header and the three blocks: 8-byte aligned, not overlapping, the file ends with them. */
static void check_layout(struct __test_metadata *_metadata, const struct stats *s)
{
	struct block b[] = {
		{ "header", 0, sizeof(s->hdr) },
		{ "id string", s->hdr.id_offset, s->hdr.name_size },
		{ "descriptors", s->hdr.desc_offset, s->desc_size * s->hdr.num_desc },
		{ "data", s->hdr.data_offset, s->data_len },
	};
	uint64_t end = 0;
	uint8_t byte;

	EXPECT_EQ(s->hdr.flags, 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(b); i++) {
		EXPECT_EQ(b[i].start % 8, 0) TH_LOG("%s at offset %llu", b[i].name,
						    (unsigned long long)b[i].start);
		if (b[i].start + b[i].len > end)
			end = b[i].start + b[i].len;
		for (unsigned int j = 0; j < i; j++) {
			bool apart = b[i].start >= b[j].start + b[j].len ||
				     b[j].start >= b[i].start + b[i].len;

			EXPECT_TRUE(apart) TH_LOG("%s [%llu, +%llu) overlaps %s [%llu, +%llu)",
						  b[i].name, (unsigned long long)b[i].start,
						  (unsigned long long)b[i].len, b[j].name,
						  (unsigned long long)b[j].start,
						  (unsigned long long)b[j].len);
		}
	}
	EXPECT_EQ(pread(s->fd, &byte, 1, end), 0) TH_LOG("bytes past the last block (%llu)",
							 (unsigned long long)end);

	EXPECT_NE(memchr(s->id, 0, s->hdr.name_size), NULL) TH_LOG("id string not terminated");
	EXPECT_EQ(strncmp(s->id, "kvm-", 4), 0) TH_LOG("id string \"%.*s\"",
						       (int)s->hdr.name_size, s->id);
}

static void check_descriptors(struct __test_metadata *_metadata, const struct stats *s)
{
	ASSERT_GT(s->hdr.num_desc, 0);
	for (unsigned int i = 0; i < s->hdr.num_desc; i++) {
		const struct kvm_stats_desc *d = stat_desc(s, i);
		uint32_t type = d->flags & KVM_STATS_TYPE_MASK;
		uint32_t unit = d->flags & KVM_STATS_UNIT_MASK;
		uint32_t base = d->flags & KVM_STATS_BASE_MASK;
		size_t len = strnlen(d->name, s->hdr.name_size);

		EXPECT_LT(len, s->hdr.name_size) TH_LOG("stat %u: name not NUL-terminated", i);
		EXPECT_GT(len, 0) TH_LOG("stat %u: empty name", i);
		if (len == s->hdr.name_size)
			continue;
		EXPECT_LE(type, KVM_STATS_TYPE_MAX) TH_LOG("%s: flags %#x", d->name, d->flags);
		EXPECT_LE(unit, KVM_STATS_UNIT_MAX) TH_LOG("%s: flags %#x", d->name, d->flags);
		EXPECT_LE(base, KVM_STATS_BASE_MAX) TH_LOG("%s: flags %#x", d->name, d->flags);
		EXPECT_EQ(d->flags & ~(KVM_STATS_TYPE_MASK | KVM_STATS_UNIT_MASK |
				       KVM_STATS_BASE_MASK), 0)
			TH_LOG("%s: flags %#x has bits outside type/unit/base", d->name, d->flags);
		switch (type) {
		case KVM_STATS_TYPE_CUMULATIVE:
		case KVM_STATS_TYPE_INSTANT:
		case KVM_STATS_TYPE_PEAK:
			EXPECT_EQ(d->size, 1) TH_LOG("%s: type %#x, size %u", d->name, type,
						     d->size);
			break;
		case KVM_STATS_TYPE_LINEAR_HIST:
			EXPECT_GT(d->bucket_size, 0) TH_LOG("%s: linear histogram", d->name);
			EXPECT_GT(d->size, 0) TH_LOG("%s", d->name);
			break;
		case KVM_STATS_TYPE_LOG_HIST:
			EXPECT_GT(d->size, 0) TH_LOG("%s", d->name);
			EXPECT_NE(unit, KVM_STATS_UNIT_BOOLEAN)
				TH_LOG("%s: boolean logarithmic histogram", d->name);
			break;
		}
		/* Each stat's values lie inside the data block, apart from the others'. */
		EXPECT_LE(d->offset + d->size * sizeof(uint64_t), s->data_len)
			TH_LOG("%s: offset %u size %u past the data block (%zu bytes)", d->name,
			       d->offset, d->size, s->data_len);
		EXPECT_EQ(d->offset % sizeof(uint64_t), 0) TH_LOG("%s: offset %u", d->name,
								  d->offset);
		for (unsigned int j = 0; j < i; j++) {
			const struct kvm_stats_desc *o = stat_desc(s, j);

			EXPECT_TRUE(d->offset >= o->offset + o->size * sizeof(uint64_t) ||
				    o->offset >= d->offset + d->size * sizeof(uint64_t))
				TH_LOG("%s and %s share data", d->name, o->name);
		}
		if (unit == KVM_STATS_UNIT_BOOLEAN && type != KVM_STATS_TYPE_LINEAR_HIST &&
		    d->offset + sizeof(uint64_t) <= s->data_len) {
			uint64_t v = s->data[d->offset / sizeof(uint64_t)];

			EXPECT_LE(v, 1) TH_LOG("boolean %s = %llu", d->name,
					       (unsigned long long)v);
		}
		for (unsigned int j = 0; j < i; j++) {
			EXPECT_NE(strncmp(d->name, stat_desc(s, j)->name, s->hdr.name_size), 0)
				TH_LOG("stat name \"%s\" appears twice", d->name);
		}
	}
}

/* Cumulative and peak values never go down between two reads. */
static void check_monotonic(struct __test_metadata *_metadata, const struct stats *s,
			    const uint64_t *before)
{
	for (unsigned int i = 0; i < s->hdr.num_desc; i++) {
		const struct kvm_stats_desc *d = stat_desc(s, i);
		uint32_t type = d->flags & KVM_STATS_TYPE_MASK;
		unsigned int k = d->offset / sizeof(uint64_t);

		if (type != KVM_STATS_TYPE_CUMULATIVE && type != KVM_STATS_TYPE_PEAK)
			continue;
		EXPECT_GE(s->data[k], before[k]) TH_LOG("%s went from %llu to %llu", d->name,
							(unsigned long long)before[k],
							(unsigned long long)s->data[k]);
	}
}

KVM_VCPU_TEST(vm_and_vcpu_stats_layout, guest_plain_stats)
{
	struct stats vs, cs, vs2;

	stats_open(_metadata, vm->fd, &vs);
	check_layout(_metadata, &vs);
	check_descriptors(_metadata, &vs);
	stats_open(_metadata, vcpu->fd, &cs);
	check_layout(_metadata, &cs);
	check_descriptors(_metadata, &cs);

	/* The VM's id is "kvm-<pid of its creator>"; the vCPU's is another one. */
	{
		char want[32];

		snprintf(want, sizeof(want), "kvm-%d", getpid());
		EXPECT_EQ(strcmp(vs.id, want), 0) TH_LOG("VM id \"%s\", want \"%s\"", vs.id, want);
	}
	EXPECT_NE(strcmp(vs.id, cs.id), 0) TH_LOG("VM and vCPU share the id \"%s\"", cs.id);

	/* A second fd of the same VM describes the same stats. */
	stats_open(_metadata, vm->fd, &vs2);
	EXPECT_EQ(memcmp(&vs.hdr, &vs2.hdr, sizeof(vs.hdr)), 0);
	EXPECT_EQ(memcmp(vs.descs, vs2.descs, vs.desc_size * vs.hdr.num_desc), 0);
	stats_close(&vs2);
	stats_close(&vs);
	stats_close(&cs);
}

/*
 * api.rst: "The Stats Data block contains an array of 64-bit values in the
 * same order as the descriptors in Descriptors block."
 */
static void expect_descriptor_order(struct __test_metadata *_metadata, const struct stats *s)
{
	uint32_t expect_offset = 0;

	for (unsigned int i = 0; i < s->hdr.num_desc; i++) {
		const struct kvm_stats_desc *d = stat_desc(s, i);

		EXPECT_EQ(d->offset, expect_offset) TH_LOG("%s: stat %u of %s", d->name, i, s->id);
		expect_offset += d->size * sizeof(uint64_t);
	}
}

KVM_VCPU_TEST(data_block_in_descriptor_order, guest_plain_stats)
{
	struct stats vs, cs;

	stats_open(_metadata, vm->fd, &vs);
	stats_open(_metadata, vcpu->fd, &cs);
	expect_descriptor_order(_metadata, &vs);
	expect_descriptor_order(_metadata, &cs);
	stats_close(&vs);
	stats_close(&cs);
}

struct phase_check {
	const char *name;
	uint64_t delta;
	bool at_least;		/* delta is a lower bound, not the exact count */
};

static void expect_deltas(struct __test_metadata *_metadata, const char *phase,
			  const struct stats *s, const uint64_t *before,
			  const struct phase_check *c, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t now = stat_value(_metadata, s, c[i].name);
		uint64_t then = 0;

		for (unsigned int j = 0; j < s->hdr.num_desc; j++)
			if (!strcmp(stat_desc(s, j)->name, c[i].name))
				then = before[stat_desc(s, j)->offset / sizeof(uint64_t)];
		if (c[i].at_least) {
			EXPECT_GE(now - then, c[i].delta)
				TH_LOG("%s: %s grew by %llu, expected at least %llu", phase,
				       c[i].name, (unsigned long long)(now - then),
				       (unsigned long long)c[i].delta);
		} else {
			EXPECT_EQ(now - then, c[i].delta)
				TH_LOG("%s: %s grew by %llu, expected %llu", phase, c[i].name,
				       (unsigned long long)(now - then),
				       (unsigned long long)c[i].delta);
		}
	}
}

/* Snapshot the data block into before[] and re-read it after the next phase. */
static void snapshot(struct __test_metadata *_metadata, struct stats *s, uint64_t *before)
{
	stats_read_data(_metadata, s);
	memcpy(before, s->data, s->data_len);
}

KVM_VCPU_TEST(vcpu_counters_follow_the_guest, guest_activity)
{
	struct stats cs;
	uint64_t *before;

	vm_install_exception_handler(vm, NMI_VECTOR, guest_nmi_handler);
	stats_open(_metadata, vcpu->fd, &cs);
	before = calloc(1, cs.data_len);
	for (unsigned int i = 0; i < 4; i++) {
		static const char *const need[] = { "exits", "io_exits", "halt_exits",
						    "nmi_injections" };

		if (!stat_exists(&cs, need[i]))
			SKIP(return, "the vCPU has no \"%s\" stat (%s)", need[i], cs.id);
	}

	vcpu_run_expect_sync(vcpu, 0);
	snapshot(_metadata, &cs, before);
	for (unsigned int i = 0; i < NR_OUTS; i++) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		ASSERT_EQ(vcpu->run->io.port, STAT_PORT);
	}
	vcpu_run_expect_sync(vcpu, 1);
	stats_read_data(_metadata, &cs);
	check_monotonic(_metadata, &cs, before);
	expect_deltas(_metadata, "after OUTs", &cs, before, (struct phase_check[]){
		{ "io_exits", NR_OUTS + 1, false },
		{ "halt_exits", 0, false },
		{ "exits", NR_OUTS + 1, true },
	}, 3);

	snapshot(_metadata, &cs, before);
	for (unsigned int i = 0; i < NR_HLTS; i++) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_HLT);
	}
	vcpu_run_expect_sync(vcpu, 2);
	stats_read_data(_metadata, &cs);
	check_monotonic(_metadata, &cs, before);
	expect_deltas(_metadata, "after HLTs", &cs, before, (struct phase_check[]){
		{ "halt_exits", NR_HLTS, false },
		{ "io_exits", 1, false },
		{ "exits", NR_HLTS + 1, true },
	}, 3);

	snapshot(_metadata, &cs, before);
	vcpu_events_set(vcpu, &(struct kvm_vcpu_events){
		.flags = KVM_VCPUEVENT_VALID_NMI_PENDING, .nmi.pending = 1,
	});
	vcpu_run_expect_sync(vcpu, 3);
	sync_global_from_guest(vm, nmi_count);
	ASSERT_EQ(nmi_count, 1);
	stats_read_data(_metadata, &cs);
	check_monotonic(_metadata, &cs, before);
	expect_deltas(_metadata, "after an NMI", &cs, before, (struct phase_check[]){
		/* An injection cut short by an exit is injected again, and counted again. */
		{ "nmi_injections", 1, true },
		{ "io_exits", 1, false },
		{ "halt_exits", 0, false },
	}, 3);
	free(before);
	stats_close(&cs);
}

KVM_VCPU_TEST(vm_page_counts_follow_the_guest, guest_activity)
{
	static const char *const pages[] = { "pages_4k", "pages_2m", "pages_1g" };
	uint64_t mapped_before = 0, mapped_after = 0;
	struct stats vs;
	uint64_t *before;

	stats_open(_metadata, vm->fd, &vs);
	for (unsigned int i = 0; i < ARRAY_SIZE(pages); i++)
		if (!stat_exists(&vs, pages[i]))
			SKIP(return, "the VM has no \"%s\" stat (%s)", pages[i], vs.id);
	/* The last of 4 MiB of fresh pages: a 2 MiB region the guest never touched. */
	fresh_gpa = vm_phys_alloc(vm, 1024) + 1023 * 4096ULL;
	sync_global_to_guest(vm, fresh_gpa);
	before = calloc(1, vs.data_len);

	vcpu_run_expect_sync(vcpu, 0);
	for (unsigned int i = 0; i < NR_OUTS; i++)
		vcpu_run(vcpu);
	vcpu_run_expect_sync(vcpu, 1);
	for (unsigned int i = 0; i < NR_HLTS; i++)
		vcpu_run(vcpu);
	vcpu_run_expect_sync(vcpu, 2);
	vcpu_run_expect_sync(vcpu, 3);
	snapshot(_metadata, &vs, before);
	for (unsigned int i = 0; i < ARRAY_SIZE(pages); i++)
		mapped_before += stat_value(_metadata, &vs, pages[i]);
	vcpu_run_expect_sync(vcpu, 4);
	stats_read_data(_metadata, &vs);
	check_monotonic(_metadata, &vs, before);
	for (unsigned int i = 0; i < ARRAY_SIZE(pages); i++)
		mapped_after += stat_value(_metadata, &vs, pages[i]);
	EXPECT_GT(mapped_after, mapped_before)
		TH_LOG("pages_4k+2m+1g %llu before and %llu after the guest wrote GPA %#llx",
		       (unsigned long long)mapped_before, (unsigned long long)mapped_after,
		       (unsigned long long)fresh_gpa);
	free(before);
	stats_close(&vs);
}

TEST_HARNESS_MAIN
