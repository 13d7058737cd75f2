// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memslots as the guest sees them (Documentation/virt/kvm/api.rst,
 * KVM_SET_USER_MEMORY_REGION and KVM_GET_DIRTY_LOG):
 *  - an access to a GPA no memslot backs exits with KVM_EXIT_MMIO, and the
 *    data the host puts in kvm_run is what the guest reads;
 *  - a write to a KVM_MEM_READONLY slot exits with KVM_EXIT_MMIO and leaves
 *    the memory unchanged, reads are served from memory;
 *  - a moved slot is visible at its new address and gone from the old one;
 *    a deleted slot is gone;
 *  - the dirty bitmap marks exactly the pages the guest wrote;
 *  - dirty logging switched on for an existing slot (a flags-only change)
 *    logs only the writes made after it, and a slot without it has no log;
 *  - with manual dirty-log protection, KVM_CLEAR_DIRTY_LOG clears exactly
 *    the bits asked and re-arms logging for those pages;
 *  - every KVM_GET_DIRTY_LOG re-arms logging for the pages it reported: a
 *    page written again in the next round is logged again, round after
 *    round (api.rst KVM_GET_DIRTY_LOG: the log is of pages dirtied "since
 *    the last call to this ioctl");
 *  - KVM_CLEAR_DIRTY_LOG takes a num_pages that is not a multiple of 64
 *    when first_page + num_pages is the end of the slot, and refuses it
 *    otherwise (api.rst KVM_CLEAR_DIRTY_LOG);
 *  - invalid changes (overlap, READONLY flag change, misalignment) fail
 *    with the documented errno and leave the slots as they were; a slot
 *    that overlaps another by a single page at either end is an overlap,
 *    one that only touches it is not (api.rst: slots may not overlap).
 *
 * Caught bugs: bugs/dirty-log-clear-unaligned-size.patch,
 * bugs/dirty-log-reprotect-last-page.patch, bugs/memslot-overlap-last-page.patch
 */
#include "guest/guest.h"
#include "kvm_test_harness.h"

#define TEST_SLOT	1
#define SLOT_GPA	0x10000000ULL	/* 256 MiB: above the RAM slot */
#define MOVED_GPA	0x18000000ULL
#define UNBACKED_GPA	0x20000000ULL
#define SLOT_PAGES	64

static void guest_mmio(uint64_t addr)
{
	volatile uint32_t *p = (volatile uint32_t *)addr;

	GUEST_SYNC(*p);			/* the read exits; host supplies 0x12345678 */
	*p = 0xfeedf00d;		/* the write exits with this data */
	GUEST_DONE();
}

KVM_VCPU_TEST(unbacked_gpa_exits_as_mmio, guest_mmio)
{
	struct kvm_run *run = vcpu->run;
	uint32_t data = 0x12345678;

	virt_map(vm, UNBACKED_GPA, UNBACKED_GPA, PAGE_SIZE, PTE_DEFAULT);
	vcpu_args_set(vcpu, 1, UNBACKED_GPA + 0x40);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
	EXPECT_EQ(run->mmio.phys_addr, UNBACKED_GPA + 0x40);
	EXPECT_EQ(run->mmio.len, 4);
	EXPECT_EQ(run->mmio.is_write, 0);
	memcpy(run->mmio.data, &data, sizeof(data));
	vcpu_run_expect_sync(vcpu, 0x12345678);

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
	EXPECT_EQ(run->mmio.phys_addr, UNBACKED_GPA + 0x40);
	EXPECT_EQ(run->mmio.len, 4);
	EXPECT_EQ(run->mmio.is_write, 1);
	memcpy(&data, run->mmio.data, sizeof(data));
	EXPECT_EQ(data, 0xfeedf00d);
	vcpu_run_expect_done(vcpu);
}

static void guest_readonly(uint64_t addr)
{
	volatile uint64_t *p = (volatile uint64_t *)addr;

	GUEST_SYNC(*p);			/* served from memory, no exit */
	*p = 0xbad;			/* exits as MMIO */
	GUEST_SYNC(*p);			/* memory unchanged */
}

KVM_VCPU_TEST(readonly_slot_write_exits_as_mmio, guest_readonly)
{
	uint64_t *mem;
	uint64_t data;

	TEST_REQUIRE_CAP(KVM_CAP_READONLY_MEM);
	mem = vm_mem_region_add(vm, TEST_SLOT, SLOT_GPA, PAGE_SIZE, KVM_MEM_READONLY);
	mem[0] = 0x0123456789abcdefULL;
	virt_map(vm, SLOT_GPA, SLOT_GPA, PAGE_SIZE, PTE_DEFAULT);
	vcpu_args_set(vcpu, 1, SLOT_GPA);

	vcpu_run_expect_sync(vcpu, 0x0123456789abcdefULL);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
	EXPECT_EQ(vcpu->run->mmio.phys_addr, SLOT_GPA);
	EXPECT_EQ(vcpu->run->mmio.is_write, 1);
	EXPECT_EQ(vcpu->run->mmio.len, 8);
	memcpy(&data, vcpu->run->mmio.data, sizeof(data));
	EXPECT_EQ(data, 0xbad);
	vcpu_run_expect_sync(vcpu, 0x0123456789abcdefULL);
	EXPECT_EQ(mem[0], 0x0123456789abcdefULL);
}

static void guest_move(void)
{
	GUEST_SYNC(*(volatile uint64_t *)SLOT_GPA);
	/* The host moved the slot: the new address has the data... */
	GUEST_SYNC(*(volatile uint64_t *)MOVED_GPA);
	/* ...and the old one is unbacked (MMIO exit, host returns 0xee..). */
	GUEST_SYNC(*(volatile uint64_t *)SLOT_GPA);
	/* After deletion the new address is unbacked as well. */
	GUEST_SYNC(*(volatile uint64_t *)MOVED_GPA);
}

static void expect_mmio_read(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
			     uint64_t gpa, uint64_t reply)
{
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
	EXPECT_EQ(vcpu->run->mmio.phys_addr, gpa);
	EXPECT_EQ(vcpu->run->mmio.is_write, 0);
	memcpy(vcpu->run->mmio.data, &reply, sizeof(reply));
	vcpu_run_expect_sync(vcpu, reply);
}

KVM_VCPU_TEST(move_and_delete_slot, guest_move)
{
	uint64_t *mem = vm_mem_region_add(vm, TEST_SLOT, SLOT_GPA, PAGE_SIZE, 0);

	mem[0] = 0x5107;
	virt_map(vm, SLOT_GPA, SLOT_GPA, PAGE_SIZE, PTE_DEFAULT);
	virt_map(vm, MOVED_GPA, MOVED_GPA, PAGE_SIZE, PTE_DEFAULT);
	vcpu_run_expect_sync(vcpu, 0x5107);

	vm_mem_region_move(vm, TEST_SLOT, MOVED_GPA);
	vcpu_run_expect_sync(vcpu, 0x5107);
	expect_mmio_read(_metadata, vcpu, SLOT_GPA, 0xeeeeeeeeeeeeeeeeULL);

	vm_mem_region_delete(vm, TEST_SLOT);
	expect_mmio_read(_metadata, vcpu, MOVED_GPA, 0xdddddddddddddddULL);
}

/* Each round writes one byte to the pages named by its mask, then syncs. */
static void guest_dirty_rounds(void)
{
	uint64_t masks[] = { 0x8000000080020002ULL, 0x0000000100000001ULL, 0 };

	for (unsigned int r = 0; r < ARRAY_SIZE(masks); r++) {
		for (unsigned int i = 0; i < SLOT_PAGES; i++)
			if (masks[r] & BIT_ULL(i))
				*(volatile uint8_t *)(SLOT_GPA + i * PAGE_SIZE + 17) = i;
		GUEST_SYNC(masks[r]);
	}
}

KVM_VCPU_TEST(dirty_log_marks_written_pages, guest_dirty_rounds)
{
	uint64_t bitmap[SLOT_PAGES / 64];
	struct ucall uc;

	vm_mem_region_add(vm, TEST_SLOT, SLOT_GPA, SLOT_PAGES * PAGE_SIZE,
			  KVM_MEM_LOG_DIRTY_PAGES);
	virt_map(vm, SLOT_GPA, SLOT_GPA, SLOT_PAGES * PAGE_SIZE, PTE_DEFAULT);
	/* Nothing written yet. */
	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	EXPECT_EQ(bitmap[0], 0);

	for (unsigned int r = 0; r < 3; r++) {
		ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
		/* GET_DIRTY_LOG returns and clears the pages written since the last call. */
		vm_get_dirty_log(vm, TEST_SLOT, bitmap);
		EXPECT_EQ(bitmap[0], uc.args[0]) TH_LOG("round %u", r);
	}
}

/* The guest writes the pages the host put in pages_to_write, then syncs. */
static uint64_t pages_to_write;

static void guest_write_pages(void)
{
	for (;;) {
		uint64_t mask = *(volatile uint64_t *)&pages_to_write;

		for (unsigned int i = 0; i < SLOT_PAGES; i++)
			if (mask & BIT_ULL(i))
				*(volatile uint8_t *)(SLOT_GPA + i * PAGE_SIZE + 5) = 0xa0 + i;
		GUEST_SYNC(mask);
	}
}

static void write_pages(struct kvm_vm *vm, struct kvm_vcpu *vcpu, uint64_t mask)
{
	write_guest_global(vm, pages_to_write, mask);
	vcpu_run_expect_sync(vcpu, mask);
}

KVM_VCPU_TEST(set_flags_turns_dirty_logging_on_and_off, guest_write_pages)
{
	uint64_t bitmap[SLOT_PAGES / 64];

	vm_mem_region_add(vm, TEST_SLOT, SLOT_GPA, SLOT_PAGES * PAGE_SIZE, 0);
	virt_map(vm, SLOT_GPA, SLOT_GPA, SLOT_PAGES * PAGE_SIZE, PTE_DEFAULT);
	write_pages(vm, vcpu, 0xf0);

	/* No KVM_MEM_LOG_DIRTY_PAGES, no bitmap: ENOENT (kvm_main.c kvm_get_dirty_log). */
	EXPECT_EQ(__vm_get_dirty_log(vm, TEST_SLOT, bitmap), -1);
	EXPECT_EQ(errno, ENOENT);

	vm_mem_region_set_flags(vm, TEST_SLOT, KVM_MEM_LOG_DIRTY_PAGES);
	EXPECT_EQ(vm_mem_region_find(vm, TEST_SLOT)->region.flags, KVM_MEM_LOG_DIRTY_PAGES);
	/* Writes made before logging was on are not in the log. */
	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	EXPECT_EQ(bitmap[0], 0);
	write_pages(vm, vcpu, 0x8000000000000101ULL);
	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	EXPECT_EQ(bitmap[0], 0x8000000000000101ULL);

	EXPECT_EQ(__vm_mem_region_set_flags(vm, TEST_SLOT, 0), 0);
	EXPECT_EQ(__vm_get_dirty_log(vm, TEST_SLOT, bitmap), -1);
	EXPECT_EQ(errno, ENOENT);
	/* The slot still works as memory. */
	write_pages(vm, vcpu, 0x2);
}

KVM_VCPU_TEST(dirty_log_logs_rewrites_every_round, guest_write_pages)
{
	/* Pages written again in the next round, single pages and the slot's ends. */
	static const uint64_t rounds[] = {
		0x22, 0x22, 0x22, 0x1, 0x1, 0x8000000000000010ULL, 0x8000000000000010ULL,
		0x8000000000000000ULL, 0, 0xffffffffffffffffULL, 0xffffffffffffffffULL, 0x22,
	};
	uint64_t bitmap[SLOT_PAGES / 64];

	vm_mem_region_add(vm, TEST_SLOT, SLOT_GPA, SLOT_PAGES * PAGE_SIZE,
			  KVM_MEM_LOG_DIRTY_PAGES);
	virt_map(vm, SLOT_GPA, SLOT_GPA, SLOT_PAGES * PAGE_SIZE, PTE_DEFAULT);
	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	EXPECT_EQ(bitmap[0], 0);

	for (unsigned int r = 0; r < ARRAY_SIZE(rounds); r++) {
		write_pages(vm, vcpu, rounds[r]);
		vm_get_dirty_log(vm, TEST_SLOT, bitmap);
		EXPECT_EQ(bitmap[0], rounds[r]) {
			TH_LOG("round %u: wrote %#llx, log %#llx", r,
			       (unsigned long long)rounds[r], (unsigned long long)bitmap[0]);
		}
	}
}

/* A slot whose size is not a multiple of 64 pages. */
#define ODD_PAGES	70
static uint64_t odd_pages_to_write[2];

static void guest_write_odd_slot(void)
{
	for (;;) {
		uint64_t lo = *(volatile uint64_t *)&odd_pages_to_write[0];
		uint64_t hi = *(volatile uint64_t *)&odd_pages_to_write[1];

		for (unsigned int i = 0; i < ODD_PAGES; i++)
			if ((i < 64 ? lo >> i : hi >> (i - 64)) & 1)
				*(volatile uint8_t *)(SLOT_GPA + i * PAGE_SIZE + 9) = i;
		GUEST_SYNC(lo ^ hi);
	}
}

static void write_odd_pages(struct kvm_vm *vm, struct kvm_vcpu *vcpu, uint64_t lo, uint64_t hi)
{
	uint64_t *g = addr_gva2hva(vm, (uint64_t)&odd_pages_to_write);

	g[0] = lo;
	g[1] = hi;
	vcpu_run_expect_sync(vcpu, lo ^ hi);
}

/*
 * api.rst KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: KVM_GET_DIRTY_LOG no longer
 * clears or write-protects; KVM_CLEAR_DIRTY_LOG does, for the pages asked.
 * Without KVM_DIRTY_LOG_INITIALLY_SET the log starts clear.  SKIPs where
 * KVM lacks it.
 */
static void enable_manual_protect(struct kvm_vm *vm)
{
	int manual = kvm_check_cap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);

	TEST_REQUIRE_MSG(manual & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
			 "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 lacks MANUAL_PROTECT_ENABLE (%#x)",
			 manual);
	vm_enable_cap(vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
}

KVM_VCPU_TEST(clear_dirty_log_at_the_end_of_an_unaligned_slot, guest_write_odd_slot)
{
	uint64_t bitmap[2], clear[2];

	enable_manual_protect(vm);
	vm_mem_region_add(vm, TEST_SLOT, SLOT_GPA, ODD_PAGES * PAGE_SIZE,
			  KVM_MEM_LOG_DIRTY_PAGES);
	virt_map(vm, SLOT_GPA, SLOT_GPA, ODD_PAGES * PAGE_SIZE, PTE_DEFAULT);

	write_odd_pages(vm, vcpu, 0x8, 0x21);		/* pages 3, 64 and 69 */
	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	EXPECT_EQ(bitmap[0], 0x8);
	EXPECT_EQ(bitmap[1], 0x21);

	/*
	 * api.rst KVM_CLEAR_DIRTY_LOG: "num_pages must also be a multiple of
	 * 64 unless first_page + num_pages is the size of the memory slot".
	 * The last 6 pages, alone: allowed.
	 */
	clear[0] = 0x21;
	EXPECT_EQ(__vm_clear_dirty_log(vm, TEST_SLOT, clear, 64, ODD_PAGES - 64), 0) {
		TH_LOG("CLEAR_DIRTY_LOG(64, %d) of a %d-page slot: %s", ODD_PAGES - 64,
		       ODD_PAGES, strerror(errno));
	}
	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	EXPECT_EQ(bitmap[0], 0x8);
	EXPECT_EQ(bitmap[1], 0);

	/* Not ending at the end of the slot: refused, nothing cleared. */
	clear[0] = 0x8;
	EXPECT_EQ(__vm_clear_dirty_log(vm, TEST_SLOT, clear, 0, 6), -1);
	EXPECT_EQ(errno, EINVAL);
	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	EXPECT_EQ(bitmap[0], 0x8);

	/* Page 69 was re-protected by the clear: a new write is logged. */
	write_odd_pages(vm, vcpu, 0, 0x20);
	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	EXPECT_EQ(bitmap[0], 0x8);
	EXPECT_EQ(bitmap[1], 0x20);

	/* The whole slot, 70 pages, in one call. */
	clear[0] = ~0ULL;
	clear[1] = ~0ULL;
	EXPECT_EQ(__vm_clear_dirty_log(vm, TEST_SLOT, clear, 0, ODD_PAGES), 0) {
		TH_LOG("CLEAR_DIRTY_LOG(0, %d) of a %d-page slot: %s", ODD_PAGES, ODD_PAGES,
		       strerror(errno));
	}
	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	EXPECT_EQ(bitmap[0], 0);
	EXPECT_EQ(bitmap[1], 0);
}

KVM_VCPU_TEST(clear_dirty_log_clears_only_the_bits_asked, guest_write_pages)
{
	uint64_t bitmap[SLOT_PAGES / 64], clear;

	enable_manual_protect(vm);
	vm_mem_region_add(vm, TEST_SLOT, SLOT_GPA, SLOT_PAGES * PAGE_SIZE,
			  KVM_MEM_LOG_DIRTY_PAGES);
	virt_map(vm, SLOT_GPA, SLOT_GPA, SLOT_PAGES * PAGE_SIZE, PTE_DEFAULT);
	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	EXPECT_EQ(bitmap[0], 0);

	write_pages(vm, vcpu, 0xf);
	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	EXPECT_EQ(bitmap[0], 0xf);
	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	EXPECT_EQ(bitmap[0], 0xf) TH_LOG("GET_DIRTY_LOG cleared the log under manual protect");

	clear = 0x3;
	vm_clear_dirty_log(vm, TEST_SLOT, &clear, 0, SLOT_PAGES);
	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	EXPECT_EQ(bitmap[0], 0xc);

	/* Page 0 was re-protected by the clear: writing it again logs it again. */
	write_pages(vm, vcpu, 0x1);
	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	EXPECT_EQ(bitmap[0], 0xd);

	/* api.rst KVM_CLEAR_DIRTY_LOG: first_page must be a multiple of 64. */
	EXPECT_EQ(__vm_clear_dirty_log(vm, TEST_SLOT, &clear, 1, SLOT_PAGES - 1), -1);
	EXPECT_EQ(errno, EINVAL);
	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	EXPECT_EQ(bitmap[0], 0xd);
}

KVM_VCPU_TEST(invalid_slot_changes_fail_and_change_nothing, guest_write_pages)
{
	struct kvm_mem_region *r;
	void *hva = NULL;

	vm_mem_region_add(vm, TEST_SLOT, SLOT_GPA, PAGE_SIZE, 0);
	/*
	 * Overlapping another slot is EEXIST (kvm_main.c
	 * __kvm_set_memory_region; api.rst: slots may not overlap in GPA space).
	 */
	EXPECT_EQ(__vm_mem_region_add(vm, TEST_SLOT + 1, SLOT_GPA, PAGE_SIZE, 0, &hva), -1);
	EXPECT_EQ(errno, EEXIST);
	EXPECT_EQ(vm_mem_region_find(vm, TEST_SLOT + 1), NULL);
	EXPECT_EQ(hva, NULL);
	EXPECT_EQ(__vm_set_user_memory_region(vm, TEST_SLOT + 1, 0, 0x100000, PAGE_SIZE,
					      vm_mem_region_find(vm, TEST_SLOT)->host_mem), -1);
	EXPECT_EQ(errno, EEXIST);
	/* Moving onto RAM (slot 0 at GPA 0) overlaps too. */
	EXPECT_EQ(__vm_mem_region_move(vm, TEST_SLOT, 0x200000), -1);
	EXPECT_EQ(errno, EEXIST);
	/* KVM_MEM_READONLY cannot change on an existing slot: EINVAL. */
	EXPECT_EQ(__vm_mem_region_set_flags(vm, TEST_SLOT, KVM_MEM_READONLY), -1);
	EXPECT_EQ(errno, EINVAL);
	/* api.rst: guest_phys_addr and memory_size must be page aligned. */
	EXPECT_EQ(__vm_mem_region_add(vm, TEST_SLOT + 2, MOVED_GPA + 0x800, PAGE_SIZE, 0, NULL),
		  -1);
	EXPECT_EQ(errno, EINVAL);
	EXPECT_EQ(vm_mem_region_find(vm, TEST_SLOT + 2), NULL);

	r = vm_mem_region_find(vm, TEST_SLOT);
	ASSERT_NE(r, NULL);
	EXPECT_EQ(r->region.guest_phys_addr, SLOT_GPA);
	EXPECT_EQ(r->region.flags, 0);
	/* The slot is still there, at its address, as writable memory. */
	virt_map(vm, SLOT_GPA, SLOT_GPA, PAGE_SIZE, PTE_DEFAULT);
	write_pages(vm, vcpu, 0x1);
	EXPECT_EQ(((uint8_t *)r->host_mem)[5], 0xa0);

	/* The raw delete removes it, after which the GPA is unbacked. */
	EXPECT_EQ(__vm_mem_region_delete(vm, TEST_SLOT), 0);
	EXPECT_EQ(vm_mem_region_find(vm, TEST_SLOT), NULL);
	EXPECT_EQ(__addr_gpa2hva(vm, SLOT_GPA), NULL);
}

KVM_VCPU_TEST(one_page_overlap_is_an_overlap, guest_write_pages)
{
	const uint64_t pg = PAGE_SIZE;
	void *hva = NULL;

	vm_mem_region_add(vm, TEST_SLOT, SLOT_GPA, 4 * pg, 0);

	/* A new slot whose last page is the existing slot's first page. */
	EXPECT_EQ(__vm_mem_region_add(vm, TEST_SLOT + 1, SLOT_GPA - pg, 2 * pg, 0, &hva), -1);
	EXPECT_EQ(errno, EEXIST);
	EXPECT_EQ(vm_mem_region_find(vm, TEST_SLOT + 1), NULL);
	/* A new slot whose first page is the existing slot's last page. */
	EXPECT_EQ(__vm_mem_region_add(vm, TEST_SLOT + 1, SLOT_GPA + 3 * pg, 2 * pg, 0, &hva),
		  -1);
	EXPECT_EQ(errno, EEXIST);
	EXPECT_EQ(vm_mem_region_find(vm, TEST_SLOT + 1), NULL);
	/* One page, inside. */
	EXPECT_EQ(__vm_mem_region_add(vm, TEST_SLOT + 1, SLOT_GPA + 2 * pg, pg, 0, &hva), -1);
	EXPECT_EQ(errno, EEXIST);

	/* Touching without overlapping, below and above: both fine. */
	ASSERT_EQ(__vm_mem_region_add(vm, TEST_SLOT + 1, SLOT_GPA - 2 * pg, 2 * pg, 0, &hva), 0);
	ASSERT_EQ(__vm_mem_region_add(vm, TEST_SLOT + 2, SLOT_GPA + 4 * pg, 2 * pg, 0, &hva), 0);

	/* Moving a slot so that its last page lands on another's first page. */
	EXPECT_EQ(__vm_mem_region_move(vm, TEST_SLOT + 2, SLOT_GPA - 3 * pg), -1);
	EXPECT_EQ(errno, EEXIST);
	EXPECT_EQ(vm_mem_region_find(vm, TEST_SLOT + 2)->region.guest_phys_addr,
		  SLOT_GPA + 4 * pg);

	/* The original slot is still memory, at its address. */
	virt_map(vm, SLOT_GPA, SLOT_GPA, 4 * pg, PTE_DEFAULT);
	write_pages(vm, vcpu, 0xf);
	EXPECT_EQ(((uint8_t *)vm_mem_region_find(vm, TEST_SLOT)->host_mem)[3 * pg + 5], 0xa3);
}

TEST_HARNESS_MAIN
