// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM_PRE_FAULT_MEMORY (api.rst 4.143, KVM_CAP_PRE_FAULT_MEMORY): a vCPU
 * ioctl that populates KVM's stage-2 (TDP) page tables for a GPA range.
 *  - a range inside a memslot: returns 0, and "the input values are updated
 *    to point to the remaining range": gpa advanced by the size, size 0;
 *    the VM's mapping stats (KVM_GET_STATS_FD pages_4k/2m/1g, counted in
 *    4 KiB units) grow by at least the range's pages; asking again for the
 *    same range returns 0 and maps nothing new;
 *  - a range that runs past the end of the slot: "0 if at least one page is
 *    processed", gpa = the slot's end and size = what is left beyond it;
 *    asking again from there is ENOENT with gpa/size unchanged;
 *  - a gpa outside every memslot: ENOENT, gpa/size unchanged;
 *  - size 0, an unaligned gpa or size, a range that wraps: EINVAL; flags
 *    other than 0: EINVAL ("flags must currently be zero");
 *  - the guest then reads, in the pre-faulted range, the data the host put
 *    there before the ioctl and after it (the latter through the MMU
 *    notifier: KVM "doesn't break CoW", so the host's write replaces the
 *    page the pre-fault mapped).
 * KVM reports the capability only with two-dimensional paging (kvm_amd
 * npt=0, kvm_intel ept=0: the test SKIPs).
 *
 * Covers the idea of upstream tools/testing/selftests/kvm/pre_fault_memory_test.c.
 *
 * Caught bugs: bugs/mmu-pre-fault-partial-range-error.patch,
 * bugs/mmu-pre-fault-flags-unchecked.patch
 */
#include <unistd.h>

#include "guest/guest.h"
#include "kvm_test_harness.h"

#ifndef KVM_CAP_PRE_FAULT_MEMORY
#define KVM_CAP_PRE_FAULT_MEMORY 236
struct kvm_pre_fault_memory {
	__u64 gpa;
	__u64 size;
	__u64 flags;
	__u64 padding[5];
};
#define KVM_PRE_FAULT_MEMORY	_IOWR(KVMIO, 0xd5, struct kvm_pre_fault_memory)
#endif

#define TEST_SLOT	1
#define SLOT_GPA	0x10000000ULL	/* 256 MiB: above the RAM slot */
#define SLOT_PAGES	64
#define SLOT_END	(SLOT_GPA + SLOT_PAGES * PAGE_SIZE)
#define UNBACKED_GPA	0x20000000ULL
#define PAST_PAGES	4		/* the range past the end: this many each side */

static int __vcpu_pre_fault(struct kvm_vcpu *vcpu, struct kvm_pre_fault_memory *r)
{
	return __vcpu_ioctl(vcpu, KVM_PRE_FAULT_MEMORY, r);
}

/* The VM's mapped memory in 4 KiB units: pages_4k + 512 * pages_2m + 512^2 * pages_1g. */
static uint64_t vm_mapped_4k(struct __test_metadata *_metadata, struct kvm_vm *vm)
{
	static const struct { const char *name; uint64_t scale; } stats[] = {
		{ "pages_4k", 1 }, { "pages_2m", 512 }, { "pages_1g", 512 * 512 },
	};
	struct kvm_stats_header hdr;
	uint64_t total = 0, value;
	unsigned int found = 0;
	size_t desc_size;
	uint8_t *descs;
	int fd;

	fd = ioctl(vm->fd, KVM_GET_STATS_FD, NULL);
	ASSERT_GE(fd, 0) TH_LOG("KVM_GET_STATS_FD: %s", strerror(errno));
	ASSERT_EQ(pread(fd, &hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	desc_size = sizeof(struct kvm_stats_desc) + hdr.name_size;
	descs = calloc(hdr.num_desc, desc_size);
	ASSERT_NE(descs, NULL);
	ASSERT_EQ(pread(fd, descs, desc_size * hdr.num_desc, hdr.desc_offset),
		  (ssize_t)(desc_size * hdr.num_desc));
	for (unsigned int i = 0; i < hdr.num_desc; i++) {
		struct kvm_stats_desc *d = (struct kvm_stats_desc *)(descs + i * desc_size);

		for (unsigned int s = 0; s < ARRAY_SIZE(stats); s++) {
			if (strcmp(d->name, stats[s].name))
				continue;
			ASSERT_EQ(pread(fd, &value, sizeof(value), hdr.data_offset + d->offset),
				  (ssize_t)sizeof(value));
			total += value * stats[s].scale;
			found++;
		}
	}
	free(descs);
	close(fd);
	EXPECT_EQ(found, ARRAY_SIZE(stats)) TH_LOG("the VM's stats lack pages_4k/2m/1g");
	return total;
}

static void require_pre_fault(struct __test_metadata *_metadata)
{
	TEST_REQUIRE_MSG(kvm_check_cap(KVM_CAP_PRE_FAULT_MEMORY),
			 "KVM does not support KVM_CAP_PRE_FAULT_MEMORY (%s: reported only "
			 "with two-dimensional paging, i.e. NPT/EPT on)", kvm_platform_name());
	TEST_REQUIRE_CAP(KVM_CAP_BINARY_STATS_FD);
}

static void guest_read_slot(void)
{
	for (unsigned int i = 0; i < SLOT_PAGES; i++)
		GUEST_ASSERT_EQ(*(volatile uint64_t *)(SLOT_GPA + i * PAGE_SIZE + 8),
				0xfa017000ULL + i);
	GUEST_DONE();
}

KVM_VCPU_TEST(pre_fault_maps_range_and_reports_progress, guest_read_slot)
{
	struct kvm_pre_fault_memory r;
	uint64_t before, after, again;
	uint64_t *mem;
	int rc;

	require_pre_fault(_metadata);
	mem = vm_mem_region_add(vm, TEST_SLOT, SLOT_GPA, SLOT_PAGES * PAGE_SIZE, 0);
	virt_map(vm, SLOT_GPA, SLOT_GPA, SLOT_PAGES * PAGE_SIZE, PTE_DEFAULT);
	/* The first half written before the pre-fault, the second after it. */
	for (unsigned int i = 0; i < SLOT_PAGES / 2; i++)
		mem[i * PAGE_SIZE / 8 + 1] = 0xfa017000ULL + i;

	/* The whole slot but its last PAST_PAGES pages: inside the slot. */
	before = vm_mapped_4k(_metadata, vm);
	r = (struct kvm_pre_fault_memory){ .gpa = SLOT_GPA,
					   .size = (SLOT_PAGES - PAST_PAGES) * PAGE_SIZE };
	rc = __vcpu_pre_fault(vcpu, &r);
	ASSERT_EQ(rc, 0) TH_LOG("KVM_PRE_FAULT_MEMORY [%#llx, +%#lx): errno %d (%s)",
				SLOT_GPA, (SLOT_PAGES - PAST_PAGES) * PAGE_SIZE, errno,
				strerror(errno));
	EXPECT_EQ(r.gpa, SLOT_END - PAST_PAGES * PAGE_SIZE)
		TH_LOG("gpa after a full pre-fault: %#llx", (unsigned long long)r.gpa);
	EXPECT_EQ(r.size, 0) TH_LOG("size left after a full pre-fault: %#llx",
				    (unsigned long long)r.size);
	after = vm_mapped_4k(_metadata, vm);
	EXPECT_GE(after - before, SLOT_PAGES - PAST_PAGES)
		TH_LOG("pages_4k/2m/1g grew by %lu 4 KiB pages for %u pre-faulted",
		       (unsigned long)(after - before), SLOT_PAGES - PAST_PAGES);

	/* Already mapped: success again, nothing new. */
	r = (struct kvm_pre_fault_memory){ .gpa = SLOT_GPA,
					   .size = (SLOT_PAGES - PAST_PAGES) * PAGE_SIZE };
	EXPECT_EQ(__vcpu_pre_fault(vcpu, &r), 0) TH_LOG("second pre-fault: %s", strerror(errno));
	EXPECT_EQ(r.size, 0);
	again = vm_mapped_4k(_metadata, vm);
	EXPECT_EQ(again, after) TH_LOG("a pre-fault of mapped memory changed the stats");

	/* Past the end: the pages inside are mapped, 0, stopped at the slot's end. */
	r = (struct kvm_pre_fault_memory){ .gpa = SLOT_END - PAST_PAGES * PAGE_SIZE,
					   .size = 2 * PAST_PAGES * PAGE_SIZE };
	rc = __vcpu_pre_fault(vcpu, &r);
	EXPECT_EQ(rc, 0) TH_LOG("KVM_PRE_FAULT_MEMORY across the slot's end [%#llx, +%#lx): "
				"rc %d errno %d (%s), expected 0 (pages processed)",
				SLOT_END - PAST_PAGES * PAGE_SIZE, 2 * PAST_PAGES * PAGE_SIZE,
				rc, errno, strerror(errno));
	EXPECT_EQ(r.gpa, SLOT_END) TH_LOG("stopped at gpa %#llx, the slot ends at %#llx",
					  (unsigned long long)r.gpa, SLOT_END);
	EXPECT_EQ(r.size, PAST_PAGES * PAGE_SIZE) TH_LOG("size left %#llx",
							 (unsigned long long)r.size);
	EXPECT_GE(vm_mapped_4k(_metadata, vm) - again, PAST_PAGES)
		TH_LOG("the last %u pages of the slot were not mapped", PAST_PAGES);

	/* From the slot's end on: nothing to map. */
	r = (struct kvm_pre_fault_memory){ .gpa = SLOT_END, .size = PAST_PAGES * PAGE_SIZE };
	rc = __vcpu_pre_fault(vcpu, &r);
	EXPECT_EQ(rc, -1);
	EXPECT_EQ(errno, ENOENT) TH_LOG("KVM_PRE_FAULT_MEMORY at the slot's end: rc %d, %s",
					rc, strerror(errno));
	EXPECT_EQ(r.gpa, SLOT_END);
	EXPECT_EQ(r.size, PAST_PAGES * PAGE_SIZE);

	for (unsigned int i = SLOT_PAGES / 2; i < SLOT_PAGES; i++)
		mem[i * PAGE_SIZE / 8 + 1] = 0xfa017000ULL + i;
	vcpu_run_expect_done(vcpu);
}

static const struct refusal {
	const char *what;
	uint64_t gpa, size, flags;
	int err;
} refusals[] = {
	{ "gpa outside every memslot", UNBACKED_GPA, PAGE_SIZE, 0, ENOENT },
	{ "size 0", SLOT_GPA, 0, 0, EINVAL },
	{ "gpa not page-aligned", SLOT_GPA + 0x800, PAGE_SIZE, 0, EINVAL },
	{ "size not page-aligned", SLOT_GPA, PAGE_SIZE + 0x800, 0, EINVAL },
	{ "gpa + size wraps", -PAGE_SIZE, 2 * PAGE_SIZE, 0, EINVAL },
	{ "gpa + size ends at 2^64", -PAGE_SIZE, PAGE_SIZE, 0, EINVAL },
	{ "flags 1", SLOT_GPA, PAGE_SIZE, 1, EINVAL },
	{ "flags bit 63", SLOT_GPA, PAGE_SIZE, BIT_ULL(63), EINVAL },
};

KVM_VCPU_TEST(pre_fault_refusals, guest_read_slot)
{
	uint64_t before;

	require_pre_fault(_metadata);
	vm_mem_region_add(vm, TEST_SLOT, SLOT_GPA, SLOT_PAGES * PAGE_SIZE, 0);
	before = vm_mapped_4k(_metadata, vm);
	for (unsigned int i = 0; i < ARRAY_SIZE(refusals); i++) {
		const struct refusal *c = &refusals[i];
		struct kvm_pre_fault_memory r = { .gpa = c->gpa, .size = c->size,
						  .flags = c->flags };
		int rc = __vcpu_pre_fault(vcpu, &r);

		EXPECT_EQ(rc, -1) TH_LOG("%s: KVM_PRE_FAULT_MEMORY gpa %#lx size %#lx flags %#lx "
					 "succeeded", c->what, (unsigned long)c->gpa,
					 (unsigned long)c->size, (unsigned long)c->flags);
		EXPECT_EQ(errno, c->err) TH_LOG("%s: KVM_PRE_FAULT_MEMORY errno %d (%s), "
						"expected %d (%s)", c->what, errno,
						strerror(errno), c->err, strerror(c->err));
		EXPECT_EQ(r.gpa, c->gpa) TH_LOG("%s: gpa changed to %#llx", c->what, r.gpa);
		EXPECT_EQ(r.size, c->size) TH_LOG("%s: size changed to %#llx", c->what, r.size);
	}
	EXPECT_EQ(vm_mapped_4k(_metadata, vm), before) TH_LOG("a refused pre-fault mapped memory");
}

TEST_HARNESS_MAIN
