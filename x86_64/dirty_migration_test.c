// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dirty logging the way a live migration uses it: a vCPU on its own thread
 * keeps writing guest pages in a pseudo-random order (a generation number
 * and a word that moves with each generation in every page it touches)
 * while the host, round after round, collects the dirty pages and copies
 * them into a "destination" buffer.  After the guest is stopped and one
 * last round is made, the destination must equal guest memory byte for
 * byte: a page written but never logged shows as a difference.
 *
 * Rules (Documentation/virt/kvm/api.rst):
 *  - KVM_GET_DIRTY_LOG: the bitmap has the pages dirtied since the last
 *    call, and the call re-arms logging for them;
 *  - KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: KVM_GET_DIRTY_LOG only reports,
 *    KVM_CLEAR_DIRTY_LOG re-arms logging for the pages it clears, so a
 *    VMM clears before it copies; with KVM_DIRTY_LOG_INITIALLY_SET every
 *    bit of a new slot's log starts set;
 *  - KVM_SET_USER_MEMORY_REGION: KVM_MEM_LOG_DIRTY_PAGES may be turned on
 *    for a slot the guest already uses, and every write after it is
 *    logged: with 4 KiB mappings everywhere (every mapping KVM has must
 *    lose write access), and with 2 MiB guest pages, THP-backed where the
 *    host gives huge pages (KVM must split or write-protect its large
 *    mappings);
 *  - KVM_CAP_DIRTY_LOG_RING(_ACQ_REL): each write to a clean page pushes
 *    one (slot, offset) entry with KVM_DIRTY_GFN_F_DIRTY; the VMM marks
 *    the entries it collected KVM_DIRTY_GFN_F_RESET, and
 *    KVM_RESET_DIRTY_RINGS re-arms logging for them; a full ring makes
 *    KVM_RUN exit with KVM_EXIT_DIRTY_RING_FULL until the VMM resets it.
 *
 * Upstream ideas: tools/testing/selftests/kvm/dirty_log_test.c (a writer
 * vCPU against a collecting host, checked page by page; dirty ring),
 * dirty_log_perf_test.c (many rounds, CLEAR_DIRTY_LOG) and
 * x86_64/dirty_log_page_splitting_test.c (logging turned on over huge
 * mappings; its page-size statistics are left out: they are not a rule of
 * api.rst).
 *
 * Caught bugs: bugs/dirty-log-ring-reset-drops-entry.patch,
 * bugs/dirty-log-enable-wp-huge-only.patch,
 * bugs/dirty-log-reprotect-last-page.patch (every case)
 */
#include <sys/mman.h>
#include <unistd.h>

#include "guest/guest.h"
#include "kvm_test_harness.h"

#define TEST_SLOT	1
#define SLOT_GPA	0x40000000ULL	/* 1 GiB: 2 MiB aligned, above RAM */
#define SLOT_PAGES	1024		/* 4 MiB: two 2 MiB pages */
#define SLOT_SIZE	((uint64_t)SLOT_PAGES * PAGE_SIZE)
#define WRITES_PER_GEN	96
#define MIN_ROUNDS	40
#define MIN_GENS	60
#define ROUND_GAP_US	1000
#define RING_MIN_ENTRIES	256	/* one page: the ring fills up now and then */

/*
 * Each generation writes WRITES_PER_GEN pages picked by a linear
 * congruential generator: word 0 gets the generation, and one more word,
 * whose offset moves with the generation, gets the generation and page.
 */
static void guest_dirty_writer(void)
{
	uint64_t x = 0x2545f4914f6cdd1dULL;

	for (uint64_t gen = 1;; gen++) {
		for (unsigned int i = 0; i < WRITES_PER_GEN; i++) {
			uint64_t page, *p;

			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			page = (x >> 33) % SLOT_PAGES;
			p = (uint64_t *)(SLOT_GPA + page * PAGE_SIZE);
			p[0] = gen;
			p[1 + gen % (PAGE_SIZE / 8 - 1)] = (gen << 32) | page;
		}
		GUEST_SYNC(gen);
	}
}

struct migration {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint8_t *mem;			/* the slot's host memory */
	uint8_t *dest;			/* what the "destination" got */
	bool manual;			/* KVM_CLEAR_DIRTY_LOG re-arms */
	struct kvm_dirty_gfn *ring;	/* NULL: bitmap logging */
	uint32_t ring_entries;
	uint32_t ring_next;		/* next ring entry to collect */
	volatile bool stop;
	volatile uint64_t gen;		/* last generation the guest finished */
	volatile uint64_t ring_full_exits;
	uint64_t rounds, logged;
};

/* The vCPU thread's view of the test (one test per process). */
static struct migration *mig;

static void migration_vcpu_worker(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	while (!mig->stop) {
		int r = __vcpu_run(vcpu);

		TEST_ASSERT(!r, "KVM_RUN failed: %s", strerror(errno));
		if (vcpu->run->exit_reason == KVM_EXIT_DIRTY_RING_FULL) {
			TEST_ASSERT(mig->ring, "KVM_EXIT_DIRTY_RING_FULL without a dirty ring");
			/* The host thread collects and resets the ring. */
			mig->ring_full_exits++;
			usleep(ROUND_GAP_US);
			continue;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			mig->gen = uc.args[0];
			break;
		case UCALL_ABORT:
			report_guest_abort(vcpu, &uc);
		default:
			TEST_FAIL("vCPU: unexpected exit %s",
				  exit_reason_str(vcpu->run->exit_reason));
		}
	}
}

/* Collect the dirty ring: one bit per entry of our slot; returns the count. */
static unsigned int ring_collect(struct __test_metadata *_metadata, struct migration *m,
				 uint64_t *bitmap)
{
	unsigned int n = 0;

	for (;;) {
		struct kvm_dirty_gfn *e = &m->ring[m->ring_next % m->ring_entries];
		uint32_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);

		if (!(flags & KVM_DIRTY_GFN_F_DIRTY))
			break;
		ASSERT_EQ(e->slot, TEST_SLOT) {
			TH_LOG("ring entry %u: slot %#x", m->ring_next, e->slot);
		}
		ASSERT_LT(e->offset, SLOT_PAGES) TH_LOG("ring entry %u", m->ring_next);
		bitmap[e->offset / 64] |= BIT_ULL(e->offset % 64);
		__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
		m->ring_next++;
		n++;
	}
	/* api.rst: KVM_RESET_DIRTY_RINGS re-protects the collected pages. */
	vm_ioctl(m->vm, KVM_RESET_DIRTY_RINGS, NULL);
	return n;
}

/*
 * One round as a VMM makes it: find the dirty pages, re-arm logging for
 * them (GET_DIRTY_LOG does it itself, CLEAR_DIRTY_LOG under manual
 * protection, RESET_DIRTY_RINGS for the ring), then copy them.  Copying
 * after re-arming is what makes it safe: a write after the copy is logged.
 */
static void migration_round(struct __test_metadata *_metadata, struct migration *m)
{
	uint64_t bitmap[SLOT_PAGES / 64] = { 0 };

	if (m->ring) {
		ring_collect(_metadata, m, bitmap);
	} else {
		vm_get_dirty_log(m->vm, TEST_SLOT, bitmap);
		if (m->manual)
			vm_clear_dirty_log(m->vm, TEST_SLOT, bitmap, 0, SLOT_PAGES);
	}
	for (unsigned int p = 0; p < SLOT_PAGES; p++) {
		if (!(bitmap[p / 64] & BIT_ULL(p % 64)))
			continue;
		memcpy(m->dest + p * PAGE_SIZE, m->mem + p * PAGE_SIZE, PAGE_SIZE);
		m->logged++;
	}
	m->rounds++;
}

/* Rounds while the guest writes, then stop it, a last round, and compare. */
static void migrate(struct __test_metadata *_metadata, struct migration *m)
{
	uint64_t deadline = now_ns() + 30ULL * 1000000000ULL * kvm_timeout_scale();
	unsigned int bad = 0;
	uint64_t live_logged;
	pthread_t t;

	mig = m;
	t = vcpu_thread_start(m->vcpu, migration_vcpu_worker);
	while ((m->rounds < MIN_ROUNDS || m->gen < MIN_GENS) && now_ns() < deadline) {
		/*
		 * Now and then the ring is left alone until it fills: api.rst,
		 * the vCPU then exits with KVM_EXIT_DIRTY_RING_FULL (and must
		 * not lose an entry across it).
		 */
		if (m->ring && m->rounds % 16 == 8) {
			uint64_t full = m->ring_full_exits;

			while (m->ring_full_exits == full && now_ns() < deadline)
				usleep(ROUND_GAP_US);
			ASSERT_NE(m->ring_full_exits, full) {
				TH_LOG("round %lu: the ring was not collected, and the vCPU "
				       "made no KVM_EXIT_DIRTY_RING_FULL exit",
				       (unsigned long)m->rounds);
			}
		}
		migration_round(_metadata, m);
		usleep(ROUND_GAP_US);
	}
	m->stop = true;
	vcpu_thread_join(t);
	live_logged = m->logged;
	migration_round(_metadata, m);

	/* The guest wrote through the rounds, and the rounds saw it. */
	EXPECT_GE(m->gen, MIN_GENS) TH_LOG("the guest made %lu generations in %lu rounds",
					   (unsigned long)m->gen, (unsigned long)m->rounds);
	EXPECT_GT(live_logged, 0);

	for (unsigned int p = 0; p < SLOT_PAGES; p++) {
		uint64_t *src = (uint64_t *)(m->mem + p * PAGE_SIZE);
		uint64_t *dst = (uint64_t *)(m->dest + p * PAGE_SIZE);

		if (!memcmp(src, dst, PAGE_SIZE))
			continue;
		if (bad++ < 8) {
			unsigned int w = 0;

			while (src[w] == dst[w])
				w++;
			TH_LOG("page %u (gpa %#llx) differs at word %u: guest %#lx, copy %#lx "
			       "(guest generation %lu, copy's %lu): written but not logged",
			       p, SLOT_GPA + p * PAGE_SIZE, w, (unsigned long)src[w],
			       (unsigned long)dst[w], (unsigned long)src[0],
			       (unsigned long)dst[0]);
		}
	}
	EXPECT_EQ(bad, 0) TH_LOG("%u of %u pages differ after %lu rounds (%lu pages copied, "
				 "%lu generations, %lu ring-full exits)", bad, SLOT_PAGES,
				 (unsigned long)m->rounds, (unsigned long)m->logged,
				 (unsigned long)m->gen, (unsigned long)m->ring_full_exits);
	TH_LOG("%lu rounds, %lu pages copied, %lu generations, %lu ring-full exits",
	       (unsigned long)m->rounds, (unsigned long)m->logged, (unsigned long)m->gen,
	       (unsigned long)m->ring_full_exits);
}

static void migration_init(struct migration *m, struct kvm_vm *vm, struct kvm_vcpu *vcpu,
			   uint32_t flags)
{
	m->vm = vm;
	m->vcpu = vcpu;
	m->mem = vm_mem_region_add(vm, TEST_SLOT, SLOT_GPA, SLOT_SIZE, flags);
	m->dest = calloc(1, SLOT_SIZE);
	TEST_ASSERT(m->dest, "out of memory");
	virt_map(vm, SLOT_GPA, SLOT_GPA, SLOT_SIZE, PTE_DEFAULT);
}

/* Classic KVM_GET_DIRTY_LOG: get-and-clear, then copy. */
KVM_VCPU_TEST(get_dirty_log_rounds_copy_every_write, guest_dirty_writer)
{
	struct migration m = { 0 };

	migration_init(&m, vm, vcpu, KVM_MEM_LOG_DIRTY_PAGES);
	migrate(_metadata, &m);
	free(m.dest);
}

/*
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 with KVM_DIRTY_LOG_INITIALLY_SET: the
 * first log has every page (the first round copies all of memory, as a
 * migration's bulk stage does), and each round clears before it copies.
 */
KVM_VCPU_TEST(clear_dirty_log_rounds_initially_set, guest_dirty_writer)
{
	uint64_t want = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET;
	uint64_t bitmap[SLOT_PAGES / 64];
	struct migration m = { .manual = true };
	int cap = kvm_check_cap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);

	TEST_REQUIRE_MSG((cap & want) == want, "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 is %#x, "
			 "without MANUAL_PROTECT_ENABLE | INITIALLY_SET", cap);
	vm_enable_cap(vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, want);
	migration_init(&m, vm, vcpu, KVM_MEM_LOG_DIRTY_PAGES);

	vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	for (unsigned int i = 0; i < SLOT_PAGES / 64; i++) {
		EXPECT_EQ(bitmap[i], ~0ULL) TH_LOG("INITIALLY_SET: word %u of the first log", i);
	}
	migrate(_metadata, &m);
	free(m.dest);
}

/*
 * Logging turned on for a slot the guest is already writing: the
 * flags-only change must catch every write after it, through whatever KVM
 * does to the mappings it already has.  With huge, the guest maps the slot
 * with 2 MiB pages and the host memory is THP-backed where the host has
 * huge pages (so KVM's own mappings may be huge and need splitting);
 * without, everything is 4 KiB.
 */
static void run_logging_enabled(struct __test_metadata *_metadata, struct kvm_vm *vm,
				struct kvm_vcpu *vcpu, bool huge)
{
	struct migration m = { 0 };
	size_t map = SLOT_SIZE + 2 * MiB;
	uint64_t deadline = now_ns() + 30ULL * 1000000000ULL * kvm_timeout_scale();
	uint8_t *raw, *mem;
	pthread_t t;

	raw = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(raw, MAP_FAILED);
	mem = (uint8_t *)ALIGN_UP((uintptr_t)raw, 2 * MiB);
	/* Best effort: THP may be off, or always on. */
	madvise(mem, SLOT_SIZE, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	vm_set_user_memory_region(vm, TEST_SLOT, 0, SLOT_GPA, SLOT_SIZE, mem);
	if (huge)
		virt_map_2m(vm, SLOT_GPA, SLOT_GPA, SLOT_SIZE, PTE_DEFAULT);
	else
		virt_map(vm, SLOT_GPA, SLOT_GPA, SLOT_SIZE, PTE_DEFAULT);
	m.vm = vm;
	m.vcpu = vcpu;
	m.mem = mem;
	m.dest = calloc(1, SLOT_SIZE);
	ASSERT_NE(m.dest, NULL);

	/* The guest fills its pages (and KVM its mappings) before logging. */
	mig = &m;
	t = vcpu_thread_start(vcpu, migration_vcpu_worker);
	while (m.gen < MIN_GENS / 2) {
		ASSERT_LT(now_ns(), deadline) TH_LOG("the guest made %lu generations",
						     (unsigned long)m.gen);
		usleep(ROUND_GAP_US);
	}
	/* The VMM turns logging on, then copies everything once (bulk stage). */
	vm_set_user_memory_region(vm, TEST_SLOT, KVM_MEM_LOG_DIRTY_PAGES, SLOT_GPA, SLOT_SIZE,
				  mem);
	memcpy(m.dest, mem, SLOT_SIZE);
	m.stop = true;
	vcpu_thread_join(t);
	m.stop = false;
	m.gen = 0;

	migrate(_metadata, &m);
	free(m.dest);
	munmap(raw, map);
}

KVM_VCPU_TEST(logging_enabled_on_running_guest, guest_dirty_writer)
{
	run_logging_enabled(_metadata, vm, vcpu, false);
}

KVM_VCPU_TEST(logging_enabled_over_large_pages, guest_dirty_writer)
{
	run_logging_enabled(_metadata, vm, vcpu, true);
}

/*
 * The dirty ring, where KVM offers it (KVM_CAP_DIRTY_LOG_RING_ACQ_REL, or
 * the TSO-only KVM_CAP_DIRTY_LOG_RING on x86): enabled before the vCPU is
 * created, collected while the vCPU runs, small enough to fill.
 */
KVM_TEST(dirty_ring_rounds_copy_every_write)
{
	struct migration m = { 0 };
	uint32_t entries, bytes = 0;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	long cap = KVM_CAP_DIRTY_LOG_RING_ACQ_REL;
	int max = kvm_check_cap(cap);

	if (!max) {
		cap = KVM_CAP_DIRTY_LOG_RING;
		max = kvm_check_cap(cap);
	}
	TEST_REQUIRE_MSG(max, "KVM offers neither KVM_CAP_DIRTY_LOG_RING_ACQ_REL nor "
			 "KVM_CAP_DIRTY_LOG_RING");

	/*
	 * The smallest ring KVM takes: it refuses one with no room beyond its
	 * reserved entries (more where the CPU logs into a buffer, e.g. PML).
	 */
	vm = vm_create();
	for (entries = RING_MIN_ENTRIES; entries * sizeof(struct kvm_dirty_gfn) <= (unsigned)max;
	     entries *= 2) {
		if (!__vm_enable_cap(vm, cap, entries * sizeof(struct kvm_dirty_gfn))) {
			bytes = entries * sizeof(struct kvm_dirty_gfn);
			break;
		}
		ASSERT_EQ(errno, EINVAL) TH_LOG("KVM_ENABLE_CAP(dirty ring, %u entries)", entries);
	}
	ASSERT_NE(bytes, 0) TH_LOG("no dirty ring size up to %d bytes was taken", max);
	m.ring_entries = entries;
	vcpu = vm_vcpu_add(vm, 0, guest_dirty_writer);
	migration_init(&m, vm, vcpu, KVM_MEM_LOG_DIRTY_PAGES);
	m.ring = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd,
		      KVM_DIRTY_LOG_PAGE_OFFSET * PAGE_SIZE);
	ASSERT_NE(m.ring, MAP_FAILED) TH_LOG("mmap of the dirty ring: %s", strerror(errno));

	migrate(_metadata, &m);
	/* api.rst: with a ring, the bitmap interface is not there. */
	if (!kvm_check_cap(KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP)) {
		uint64_t bitmap[SLOT_PAGES / 64];

		EXPECT_EQ(__vm_get_dirty_log(vm, TEST_SLOT, bitmap), -1);
		EXPECT_EQ(errno, ENXIO);
	}
	munmap(m.ring, bytes);
	free(m.dest);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
