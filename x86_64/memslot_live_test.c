// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memory as a VMM changes it under running vCPUs, and the limits it sizes
 * a VM by (Documentation/virt/kvm/api.rst):
 *  - KVM_SET_USER_MEMORY_REGION while vCPUs run: a guest reading a GPA
 *    while the slot behind it is deleted, re-added, moved away and back
 *    sees the old data, an MMIO exit or the new data while the ioctl is in
 *    flight, and once the ioctl has returned only the new state, never a
 *    stale translation (checked with a handshake: the host publishes the
 *    state after the ioctl, the guest reads the state before the access);
 *    with KVM_X86_QUIRK_SLOT_ZAP_ALL (KVM_CAP_DISABLE_QUIRKS2) on, where
 *    KVM drops every mapping, and off, where it drops only the slot's;
 *  - KVM_CAP_NR_MEMSLOTS slots at once, each its own memory; slot id
 *    KVM_CAP_NR_MEMSLOTS is EINVAL;
 *  - guest memory whose host pages are not there yet (userfaultfd MISSING
 *    mode, Documentation/admin-guide/mm/userfaultfd.rst): KVM's fault on
 *    the page waits for UFFDIO_COPY and the guest sees the copied data;
 *  - KVM_MEM_READONLY, every access kind: reads (plain, string) and
 *    instruction fetches are served from memory; every write (MOV, REP
 *    STOS, REP MOVS, XCHG, LOCK ADD, LOCK XADD) exits as KVM_EXIT_MMIO
 *    with the address, length and data the instruction writes (SDM vol. 2
 *    for each instruction), and the memory is unchanged;
 *  - KVM_CAP_MAX_VCPUS vCPUs can be created (one more is EINVAL), ids up
 *    to KVM_CAP_MAX_VCPU_ID - 1 (that id is EINVAL), and
 *    KVM_ENABLE_CAP(KVM_CAP_MAX_VCPU_ID) lowers the id limit of a VM.
 *
 * Zero-size, overlapping and misaligned slots, a plain move/delete and the
 * read-only MOV store are in memslot_test.
 *
 * Upstream ideas: tools/testing/selftests/kvm/set_memory_region_test.c
 * (slot deleted and moved under a running vCPU; KVM_CAP_NR_MEMSLOTS
 * slots), memslot_modification_stress_test.c (slot changes while vCPUs
 * access memory), demand_paging_test.c (userfaultfd, MISSING mode; its
 * MINOR mode and timing are left out), kvm_create_max_vcpus.c.
 *
 * Caught bugs: bugs/memslot-targeted-zap-skips-first-page.patch,
 * bugs/memslot-readonly-locked-rmw.patch
 */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest/guest.h"
#include "kvm_test_harness.h"

#define TEST_SLOT	1
#define SLOT_GPA	0x40000000ULL	/* 1 GiB: above RAM */
#define MOVED_GPA	0x48000000ULL

/* ---- slot changes under running vCPUs ---- */

#define LIVE_VCPUS	2
#define LIVE_CYCLES	12
/* api.rst KVM_CAP_DISABLE_QUIRKS2 (Linux 6.12; older uapi headers lack it). */
#ifndef KVM_X86_QUIRK_SLOT_ZAP_ALL
#define KVM_X86_QUIRK_SLOT_ZAP_ALL	(1 << 7)
#endif
#define MMIO_VALUE	0x4d4d494f4d4d494fULL	/* what an MMIO read of SLOT_GPA returns */
#define SYNC_EVERY	2048

/*
 * The host publishes, for each phase, the values a read of SLOT_GPA may
 * return; a phase's values live in slot phase & 1 and are rewritten only
 * after every vCPU has finished a read in the phase that followed.
 */
struct live_state {
	uint64_t phase;			/* ~0: stop */
	uint64_t allowed[2][2];
	uint64_t seen[LIVE_VCPUS];	/* last phase each vCPU checked a read in */
};

static struct live_state live;

static void guest_live_reader(void)
{
	unsigned int id = guest_vcpu_id();

	for (uint64_t n = 1;; n++) {
		uint64_t phase = __atomic_load_n(&live.phase, __ATOMIC_ACQUIRE);
		uint64_t a0, a1, v;

		if (phase == ~0ULL)
			break;
		a0 = live.allowed[phase & 1][0];
		a1 = live.allowed[phase & 1][1];
		v = *(volatile uint64_t *)SLOT_GPA;
		if (v != a0 && v != a1)
			GUEST_FAIL("vCPU %u, phase %lu: read %#lx at %#llx, allowed %#lx or %#lx",
				   id, phase, v, SLOT_GPA, a0, a1);
		__atomic_store_n(&live.seen[id], phase, __ATOMIC_RELEASE);
		if (!(n % SYNC_EVERY))
			GUEST_SYNC(n);	/* an exit now and then, for the watchdog */
	}
	GUEST_DONE();
}

static void live_vcpu_worker(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		if (run->exit_reason == KVM_EXIT_MMIO) {
			uint64_t v = MMIO_VALUE;

			TEST_ASSERT(run->mmio.phys_addr == SLOT_GPA && !run->mmio.is_write &&
				    run->mmio.len == 8,
				    "vCPU %u: MMIO %s of %u bytes at %#llx, expected a read of 8 "
				    "at %#llx", vcpu->id, run->mmio.is_write ? "write" : "read",
				    run->mmio.len, (unsigned long long)run->mmio.phys_addr,
				    SLOT_GPA);
			memcpy(run->mmio.data, &v, sizeof(v));
			continue;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			continue;
		case UCALL_DONE:
			return;
		case UCALL_ABORT:
			report_guest_abort(vcpu, &uc);
		default:
			TEST_FAIL("vCPU %u: unexpected exit %s", vcpu->id,
				  exit_reason_str(run->exit_reason));
		}
	}
}

/* Publish the next phase with its allowed values; wait until every vCPU read in it. */
static void live_phase(struct __test_metadata *_metadata, struct live_state *ls,
		       uint64_t a0, uint64_t a1)
{
	uint64_t next = ls->phase + 1;
	uint64_t deadline = now_ns() + 10ULL * 1000000000ULL * kvm_timeout_scale();

	ls->allowed[next & 1][0] = a0;
	ls->allowed[next & 1][1] = a1;
	__atomic_store_n(&ls->phase, next, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < LIVE_VCPUS; i++) {
		while (__atomic_load_n(&ls->seen[i], __ATOMIC_ACQUIRE) != next) {
			ASSERT_LT(now_ns(), deadline) {
				TH_LOG("vCPU %u did not read SLOT_GPA in phase %lu (last %lu)", i,
				       (unsigned long)next, (unsigned long)ls->seen[i]);
			}
			usleep(100);
		}
	}
}

/*
 * Each cycle: the slot (backed by buffer A, then B) is deleted, re-added
 * with other memory, moved away and moved back.  Around every ioctl a
 * transition phase allows the old and the new view; after it, only the new.
 */
static void run_slot_changes(struct __test_metadata *_metadata, bool targeted_zap)
{
	struct kvm_vcpu *vcpus[LIVE_VCPUS];
	struct kvm_vm *vm = vm_create_with_vcpus(LIVE_VCPUS, guest_live_reader, vcpus);
	pthread_t threads[LIVE_VCPUS];
	struct live_state *ls;
	uint64_t *buf[2], cur;

	if (targeted_zap)
		vm_enable_cap(vm, KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_SLOT_ZAP_ALL);
	for (unsigned int i = 0; i < 2; i++) {
		buf[i] = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(buf[i], MAP_FAILED);
	}
	virt_map(vm, SLOT_GPA, SLOT_GPA, PAGE_SIZE, PTE_DEFAULT);
	buf[0][0] = cur = 0xa0000000;
	vm_set_user_memory_region(vm, TEST_SLOT, 0, SLOT_GPA, PAGE_SIZE, buf[0]);
	ls = addr_gva2hva(vm, (uint64_t)&live);
	ls->phase = 0;
	ls->allowed[0][0] = ls->allowed[0][1] = cur;
	for (unsigned int i = 0; i < LIVE_VCPUS; i++) {
		ls->seen[i] = ~0ULL - 1;
		threads[i] = vcpu_thread_start(vcpus[i], live_vcpu_worker);
	}
	live_phase(_metadata, ls, cur, cur);

	for (unsigned int c = 0; c < LIVE_CYCLES; c++) {
		uint64_t *other = buf[(c + 1) & 1];
		uint64_t next = 0xb0000000 + c;

		/* Delete: old data or MMIO while in flight, then MMIO only. */
		live_phase(_metadata, ls, cur, MMIO_VALUE);
		vm_set_user_memory_region(vm, TEST_SLOT, 0, SLOT_GPA, 0, NULL);
		live_phase(_metadata, ls, MMIO_VALUE, MMIO_VALUE);

		/* Re-add with other memory holding other data. */
		other[0] = next;
		live_phase(_metadata, ls, MMIO_VALUE, next);
		vm_set_user_memory_region(vm, TEST_SLOT, 0, SLOT_GPA, PAGE_SIZE, other);
		live_phase(_metadata, ls, next, next);
		cur = next;

		/* Move away: SLOT_GPA is unbacked after it. */
		live_phase(_metadata, ls, cur, MMIO_VALUE);
		vm_set_user_memory_region(vm, TEST_SLOT, 0, MOVED_GPA, PAGE_SIZE, other);
		live_phase(_metadata, ls, MMIO_VALUE, MMIO_VALUE);

		/* And back. */
		live_phase(_metadata, ls, MMIO_VALUE, cur);
		vm_set_user_memory_region(vm, TEST_SLOT, 0, SLOT_GPA, PAGE_SIZE, other);
		live_phase(_metadata, ls, cur, cur);
	}

	__atomic_store_n(&ls->phase, ~0ULL, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < LIVE_VCPUS; i++)
		vcpu_thread_join(threads[i]);
	kvm_vm_free(vm);
	munmap(buf[0], PAGE_SIZE);
	munmap(buf[1], PAGE_SIZE);
}

/* KVM's default: a deleted or moved slot makes KVM drop all its mappings. */
KVM_TEST(slot_changes_under_running_vcpus)
{
	run_slot_changes(_metadata, false);
}

/*
 * api.rst KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_SLOT_ZAP_ALL off: KVM
 * drops only the mappings of the slot that goes away.  The guest must see
 * the same.
 */
KVM_TEST(slot_changes_under_running_vcpus_targeted_zap)
{
	int quirks = kvm_check_cap(KVM_CAP_DISABLE_QUIRKS2);

	TEST_REQUIRE_MSG(quirks & KVM_X86_QUIRK_SLOT_ZAP_ALL, "KVM_CAP_DISABLE_QUIRKS2 (%#x) "
			 "lacks KVM_X86_QUIRK_SLOT_ZAP_ALL", quirks);
	run_slot_changes(_metadata, true);
}

/* ---- KVM_CAP_NR_MEMSLOTS slots ---- */

#define MANY_GPA	0x100000000ULL	/* 4 GiB */
#define MANY_MAGIC	0x5107000000000000ULL

static uint64_t nr_many_slots;

/* Slot i (1..n) is page i - 1 above MANY_GPA, holding MANY_MAGIC | i. */
static void guest_many_slots(void)
{
	for (uint64_t i = 1; i <= nr_many_slots; i++) {
		uint64_t v = *(volatile uint64_t *)(MANY_GPA + (i - 1) * PAGE_SIZE);

		if (v != (MANY_MAGIC | i))
			GUEST_FAIL("slot %lu: read %#lx, expected %#lx", i, v,
				   (uint64_t)(MANY_MAGIC | i));
		*(volatile uint64_t *)(MANY_GPA + (i - 1) * PAGE_SIZE + 8) = i;
		if (!(i % 1024))
			GUEST_SYNC(i);
	}
	GUEST_DONE();
}

KVM_TEST_TIMEOUT(nr_memslots_slots_at_once, 600)
{
	int nr = kvm_check_cap(KVM_CAP_NR_MEMSLOTS);
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint8_t *mem;
	struct ucall uc;
	uint64_t n, size;

	/* api.rst: KVM_CAP_NR_MEMSLOTS is the number of slots per address space. */
	ASSERT_GT(nr, 1);
	n = nr - 1;	/* slot 0 is the test's RAM */
	size = n * PAGE_SIZE;
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	ASSERT_NE(mem, MAP_FAILED);
	for (uint64_t i = 1; i <= n; i++)
		*(uint64_t *)(mem + (i - 1) * PAGE_SIZE) = MANY_MAGIC | i;

	vm = vm_create();
	vcpu = vm_vcpu_add(vm, 0, guest_many_slots);
	nr_many_slots = n;
	sync_global_to_guest(vm, nr_many_slots);
	virt_map(vm, MANY_GPA, MANY_GPA, size, PTE_DEFAULT);
	for (uint64_t i = 1; i <= n; i++)
		vm_set_user_memory_region(vm, i, 0, MANY_GPA + (i - 1) * PAGE_SIZE, PAGE_SIZE,
					  mem + (i - 1) * PAGE_SIZE);
	/* One more id is past the limit. */
	EXPECT_EQ(__vm_set_user_memory_region(vm, nr, 0, MANY_GPA + size, PAGE_SIZE, mem), -1);
	EXPECT_EQ(errno, EINVAL) TH_LOG("slot id KVM_CAP_NR_MEMSLOTS (%d)", nr);

	while (vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC)
		;
	ASSERT_EQ(uc.cmd, UCALL_DONE);
	/* Each page was its own memory: the guest's write landed in it. */
	for (uint64_t i = 1; i <= n; i++) {
		uint64_t w = *(uint64_t *)(mem + (i - 1) * PAGE_SIZE + 8);

		ASSERT_EQ(w, i) TH_LOG("slot %lu of %lu", (unsigned long)i, (unsigned long)n);
	}
	TH_LOG("%lu slots of one page each, ids 1..%lu", (unsigned long)n, (unsigned long)n);
	kvm_vm_free(vm);
	munmap(mem, size);
}

/* ---- userfaultfd demand paging ---- */

#define UFFD_PAGES	64
#define UFFD_WORD(page, w)	(0xdead000000000000ULL | ((uint64_t)(page) << 16) | (w))

/* Even pages are read first, odd pages written first; both see the copied data. */
static void guest_demand_paging(void)
{
	for (unsigned int i = 0; i < UFFD_PAGES; i++) {
		unsigned int p = (i * 37) % UFFD_PAGES;	/* not in address order */
		volatile uint64_t *w = (volatile uint64_t *)(SLOT_GPA + p * PAGE_SIZE);

		if (p & 1) {
			w[5] = 0x5a5a0000 + p;
			GUEST_ASSERT_EQ(w[5], 0x5a5a0000 + p);
		} else {
			GUEST_ASSERT_EQ(w[5], UFFD_WORD(p, 5));
		}
		GUEST_ASSERT_EQ(w[0], UFFD_WORD(p, 0));
		GUEST_ASSERT_EQ(w[PAGE_SIZE / 8 - 1], UFFD_WORD(p, PAGE_SIZE / 8 - 1));
	}
	GUEST_DONE();
}

struct uffd_server {
	int uffd;
	uint8_t *base;
	volatile bool stop;
	unsigned int faults[UFFD_PAGES];
	unsigned int served;
	char error[200];
};

static void *uffd_server_thread(void *arg)
{
	struct uffd_server *s = arg;
	uint64_t page_buf[PAGE_SIZE / 8];
	uint64_t deadline = now_ns() + 60ULL * 1000000000ULL * kvm_timeout_scale();

	while (!s->stop && s->served < UFFD_PAGES && now_ns() < deadline) {
		struct pollfd pfd = { .fd = s->uffd, .events = POLLIN };
		struct uffdio_copy copy;
		struct uffd_msg msg;
		uint64_t addr, p;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (read(s->uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;	/* EAGAIN: another wake-up */
		if (msg.event != UFFD_EVENT_PAGEFAULT) {
			snprintf(s->error, sizeof(s->error), "uffd event %u, not a page fault",
				 msg.event);
			break;
		}
		addr = msg.arg.pagefault.address & ~(uint64_t)(PAGE_SIZE - 1);
		p = (addr - (uint64_t)(uintptr_t)s->base) / PAGE_SIZE;
		if (addr < (uint64_t)(uintptr_t)s->base || p >= UFFD_PAGES) {
			snprintf(s->error, sizeof(s->error), "fault at %#lx, outside the slot",
				 (unsigned long)addr);
			break;
		}
		for (unsigned int w = 0; w < PAGE_SIZE / 8; w++)
			page_buf[w] = UFFD_WORD(p, w);
		copy = (struct uffdio_copy){ .dst = addr, .src = (uint64_t)(uintptr_t)page_buf,
					     .len = PAGE_SIZE };
		if (ioctl(s->uffd, UFFDIO_COPY, &copy)) {
			snprintf(s->error, sizeof(s->error), "UFFDIO_COPY at page %lu: %s",
				 (unsigned long)p, strerror(errno));
			break;
		}
		s->faults[p]++;
		s->served++;
	}
	return NULL;
}

/* The first line of a /proc file, or "?" when it cannot be read. */
static void read_sysctl(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(buf, len, "?");
		return;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

KVM_VCPU_TEST(userfaultfd_demand_paging, guest_demand_paging)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct uffd_server s = { 0 };
	size_t size = UFFD_PAGES * PAGE_SIZE;
	char knob[16];
	pthread_t t;

	s.uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (s.uffd < 0) {
		int err = errno;

		read_sysctl("/proc/sys/vm/unprivileged_userfaultfd", knob, sizeof(knob));
		SKIP(return, "userfaultfd() failed: %s (vm.unprivileged_userfaultfd = %s)",
		     strerror(err), knob);
	}
	ASSERT_EQ(ioctl(s.uffd, UFFDIO_API, &api), 0) TH_LOG("UFFDIO_API: %s", strerror(errno));
	s.base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(s.base, MAP_FAILED);
	reg = (struct uffdio_register){
		.range = { .start = (uint64_t)(uintptr_t)s.base, .len = size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	ASSERT_EQ(ioctl(s.uffd, UFFDIO_REGISTER, &reg), 0) {
		TH_LOG("UFFDIO_REGISTER (MISSING): %s", strerror(errno));
	}
	vm_set_user_memory_region(vm, TEST_SLOT, 0, SLOT_GPA, size, s.base);
	virt_map(vm, SLOT_GPA, SLOT_GPA, size, PTE_DEFAULT);

	ASSERT_EQ(pthread_create(&t, NULL, uffd_server_thread, &s), 0);
	vcpu_run_expect_done(vcpu);
	s.stop = true;
	pthread_join(t, NULL);

	EXPECT_STREQ(s.error, "");
	/* MISSING mode: one fault per page, each page filled once, by us. */
	EXPECT_EQ(s.served, UFFD_PAGES);
	for (unsigned int p = 0; p < UFFD_PAGES; p++) {
		EXPECT_EQ(s.faults[p], 1) TH_LOG("page %u", p);
		EXPECT_EQ(((uint64_t *)(s.base + p * PAGE_SIZE))[5],
			  p & 1 ? 0x5a5a0000 + p : UFFD_WORD(p, 5)) TH_LOG("page %u", p);
	}
	close(s.uffd);
	vm_set_user_memory_region(vm, TEST_SLOT, 0, SLOT_GPA, 0, NULL);
	munmap(s.base, size);
}

/* ---- read-only slots, every access kind ---- */

#define RO_PAGES	2
#define RO_CODE		(SLOT_GPA + PAGE_SIZE)	/* page 1: code */

static uint8_t ro_src[64];	/* source of the string moves, in RAM */

enum ro_kind {
	RO_MOV8, RO_MOV1, RO_REP_STOSB, RO_REP_STOSQ, RO_REP_MOVSB, RO_MOVSQ, RO_XCHG,
	RO_LOCK_ADD, RO_LOCK_XADD, NR_RO_KINDS,
};

static const char *const ro_kind_name[] = {
	"MOV m64", "MOV m8", "REP STOSB", "REP STOSQ", "REP MOVSB", "MOVSQ", "XCHG m64",
	"LOCK ADD m32", "LOCK XADD m64",
};

/* Offset in page 0 each kind writes at, and the bytes it writes. */
static const uint16_t ro_offset[] = { 0x08, 0x17, 0x101, 0x200, 0x303, 0x400, 0x508,
				      0x600, 0x708 };
#define RO_VAL		0x1122334455667788ULL
#define RO_STOSB_N	5
#define RO_STOSQ_N	3
#define RO_MOVSB_N	6

static uint8_t ro_pattern(unsigned int off)
{
	return (off * 7 + 3) ^ (off >> 8);
}

static uint64_t ro_pattern64(unsigned int off)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < 8; i++)
		v |= (uint64_t)ro_pattern(off + i) << (8 * i);
	return v;
}

/* The bytes kind k writes (SDM vol. 2: STOS, MOVS, XCHG, ADD, XADD). */
static unsigned int ro_expected(enum ro_kind k, uint8_t *out)
{
	uint64_t v = RO_VAL, old = ro_pattern64(ro_offset[k]);
	unsigned int n = 0;

	switch (k) {
	case RO_MOV8:
	case RO_XCHG:
		n = 8;
		break;
	case RO_MOV1:
		n = 1;
		break;
	case RO_REP_STOSB:
		n = RO_STOSB_N;
		memset(out, 0xab, n);
		return n;
	case RO_REP_STOSQ:
		for (n = 0; n < RO_STOSQ_N * 8; n += 8)
			memcpy(out + n, &v, 8);
		return n;
	case RO_REP_MOVSB:
		n = RO_MOVSB_N;
		for (unsigned int i = 0; i < n; i++)
			out[i] = 0xc0 + i;
		return n;
	case RO_MOVSQ:
		n = 8;
		for (unsigned int i = 0; i < n; i++)
			out[i] = 0xc0 + i;
		return n;
	case RO_LOCK_ADD:
		v = (uint32_t)(old + 5);
		n = 4;
		break;
	case RO_LOCK_XADD:
		v = old + RO_VAL;
		n = 8;
		break;
	default:
		break;
	}
	memcpy(out, &v, n);
	return n;
}

static void guest_readonly_kinds(void)
{
	uint8_t *page = (uint8_t *)SLOT_GPA;
	uint64_t (*code)(void) = (void *)RO_CODE;
	uint8_t copy[16];
	uint64_t rcx, rdi, rsi, rax;

	/* Reads: plain, and a string read through a REP MOVSB out of the slot. */
	GUEST_ASSERT_EQ(*(volatile uint64_t *)(page + 0x10), ro_pattern64(0x10));
	rcx = sizeof(copy);
	rsi = (uint64_t)(page + 0x40);
	rdi = (uint64_t)copy;
	asm volatile("rep movsb" : "+c"(rcx), "+S"(rsi), "+D"(rdi) :: "memory");
	for (unsigned int i = 0; i < sizeof(copy); i++)
		GUEST_ASSERT_EQ(copy[i], ro_pattern(0x40 + i));
	/* An instruction fetch: the host put "mov $0x600dc0de, %eax; ret" there. */
	GUEST_ASSERT_EQ(code(), 0x600dc0de);
	GUEST_SYNC(NR_RO_KINDS);

	for (unsigned int k = 0; k < NR_RO_KINDS; k++) {
		void *dst = page + ro_offset[k];
		uint64_t old = ro_pattern64(ro_offset[k]);

		switch (k) {
		case RO_MOV8:
			*(volatile uint64_t *)dst = RO_VAL;
			break;
		case RO_MOV1:
			*(volatile uint8_t *)dst = (uint8_t)RO_VAL;
			break;
		case RO_REP_STOSB:
			rcx = RO_STOSB_N;
			rdi = (uint64_t)dst;
			asm volatile("rep stosb" : "+c"(rcx), "+D"(rdi) : "a"(0xab) : "memory");
			GUEST_ASSERT_EQ(rcx, 0);
			GUEST_ASSERT_EQ(rdi, (uint64_t)dst + RO_STOSB_N);
			break;
		case RO_REP_STOSQ:
			rcx = RO_STOSQ_N;
			rdi = (uint64_t)dst;
			asm volatile("rep stosq" : "+c"(rcx), "+D"(rdi) : "a"(RO_VAL) : "memory");
			GUEST_ASSERT_EQ(rcx, 0);
			GUEST_ASSERT_EQ(rdi, (uint64_t)dst + RO_STOSQ_N * 8);
			break;
		case RO_REP_MOVSB:
		case RO_MOVSQ:
			for (unsigned int i = 0; i < sizeof(ro_src); i++)
				ro_src[i] = 0xc0 + i;
			rsi = (uint64_t)ro_src;
			rdi = (uint64_t)dst;
			if (k == RO_MOVSQ) {
				asm volatile("movsq" : "+S"(rsi), "+D"(rdi) :: "memory");
				GUEST_ASSERT_EQ(rdi, (uint64_t)dst + 8);
			} else {
				rcx = RO_MOVSB_N;
				asm volatile("rep movsb" : "+c"(rcx), "+S"(rsi), "+D"(rdi)
					     :: "memory");
				GUEST_ASSERT_EQ(rcx, 0);
				GUEST_ASSERT_EQ(rdi, (uint64_t)dst + RO_MOVSB_N);
			}
			break;
		case RO_XCHG:
			rax = RO_VAL;
			asm volatile("xchg %0, %1" : "+r"(rax), "+m"(*(uint64_t *)dst) :: "memory");
			GUEST_ASSERT_EQ(rax, old);	/* the read came from memory */
			break;
		case RO_LOCK_ADD:
			asm volatile("lock addl $5, %0" : "+m"(*(uint32_t *)dst) :: "memory");
			break;
		case RO_LOCK_XADD:
			rax = RO_VAL;
			asm volatile("lock xadd %0, %1" : "+r"(rax), "+m"(*(uint64_t *)dst)
				     :: "memory");
			GUEST_ASSERT_EQ(rax, old);
			break;
		}
		/* What the guest reads back: the host checks it is unchanged. */
		GUEST_SYNC(k, *(volatile uint64_t *)dst);
	}
}

KVM_VCPU_TEST(readonly_slot_every_access_kind, guest_readonly_kinds)
{
	static const uint8_t code[] = { 0xb8, 0xde, 0xc0, 0x0d, 0x60, 0xc3 };
	struct kvm_run *run = vcpu->run;
	uint8_t *mem, *ref;

	TEST_REQUIRE_CAP(KVM_CAP_READONLY_MEM);
	mem = vm_mem_region_add(vm, TEST_SLOT, SLOT_GPA, RO_PAGES * PAGE_SIZE, KVM_MEM_READONLY);
	for (unsigned int i = 0; i < PAGE_SIZE; i++)
		mem[i] = ro_pattern(i);
	memcpy(mem + PAGE_SIZE, code, sizeof(code));
	ref = malloc(RO_PAGES * PAGE_SIZE);
	ASSERT_NE(ref, NULL);
	memcpy(ref, mem, RO_PAGES * PAGE_SIZE);
	virt_map(vm, SLOT_GPA, SLOT_GPA, RO_PAGES * PAGE_SIZE, PTE_DEFAULT);

	vcpu_run_expect_sync(vcpu, NR_RO_KINDS);	/* reads and the fetch: no exit */

	for (unsigned int k = 0; k < NR_RO_KINDS; k++) {
		uint8_t want[64], got[64];
		unsigned int n = ro_expected(k, want), total = 0, exits = 0;
		struct ucall uc;

		memset(got, 0, sizeof(got));
		for (;;) {
			uint64_t off;

			vcpu_run(vcpu);
			if (run->exit_reason != KVM_EXIT_MMIO)
				break;
			off = run->mmio.phys_addr - (SLOT_GPA + ro_offset[k]);
			exits++;
			ASSERT_TRUE(run->mmio.is_write) {
				TH_LOG("%s: MMIO read at %#llx", ro_kind_name[k],
				       run->mmio.phys_addr);
			}
			ASSERT_LE(off + run->mmio.len, n) {
				TH_LOG("%s: MMIO write of %u bytes at %#llx, outside the %u bytes "
				       "at %#llx it writes", ro_kind_name[k], run->mmio.len,
				       run->mmio.phys_addr, n, SLOT_GPA + ro_offset[k]);
			}
			memcpy(got + off, run->mmio.data, run->mmio.len);
			total += run->mmio.len;
		}
		ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC) {
			if (uc.cmd == UCALL_ABORT)
				report_guest_abort(vcpu, &uc);
			TH_LOG("%s: exit %s", ro_kind_name[k], exit_reason_str(run->exit_reason));
		}
		ASSERT_EQ(uc.args[0], k);
		EXPECT_EQ(uc.args[1], ro_pattern64(ro_offset[k])) {
			TH_LOG("%s: the guest reads back %#lx, the slot held %#lx",
			       ro_kind_name[k], (unsigned long)uc.args[1],
			       (unsigned long)ro_pattern64(ro_offset[k]));
		}
		/* Every byte written exits once, with the instruction's data. */
		EXPECT_EQ(total, n) TH_LOG("%s: %u bytes in %u MMIO exits, expected %u",
					   ro_kind_name[k], total, exits, n);
		EXPECT_EQ(memcmp(got, want, n), 0) {
			TH_LOG("%s: MMIO data %#lx..., expected %#lx...", ro_kind_name[k],
			       *(unsigned long *)got, *(unsigned long *)want);
		}
		EXPECT_EQ(memcmp(mem, ref, RO_PAGES * PAGE_SIZE), 0) {
			TH_LOG("%s changed the read-only slot's memory", ro_kind_name[k]);
		}
		memcpy(mem, ref, RO_PAGES * PAGE_SIZE);
	}
	free(ref);
}

/* ---- vCPU limits ---- */

static int create_vcpu_fd(struct kvm_vm *vm, unsigned long id)
{
	return ioctl(vm->fd, KVM_CREATE_VCPU, id);
}

KVM_TEST_TIMEOUT(max_vcpus_and_max_vcpu_id, 600)
{
	int max = kvm_check_cap(KVM_CAP_MAX_VCPUS);
	int max_id = kvm_check_cap(KVM_CAP_MAX_VCPU_ID);
	int nr = kvm_check_cap(KVM_CAP_NR_VCPUS);
	struct rlimit rl;
	struct kvm_vm *vm;
	int *fds, created = 0, want, fd;

	/* api.rst KVM_CREATE_VCPU: NR_VCPUS <= MAX_VCPUS; MAX_VCPU_ID >= MAX_VCPUS. */
	ASSERT_GT(nr, 0);
	EXPECT_LE(nr, max);
	if (!max_id)
		max_id = max;
	EXPECT_GE(max_id, max);

	/* One fd per vCPU: raise the limit (the hard one too, where allowed). */
	ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < (rlim_t)max + 64) {
		struct rlimit more = { (rlim_t)max + 64, (rlim_t)max + 64 };

		if (!setrlimit(RLIMIT_NOFILE, &more))
			rl = more;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	want = max;
	if (rl.rlim_cur < (rlim_t)max + 64)
		want = rl.rlim_cur > 64 ? rl.rlim_cur - 64 : 0;
	ASSERT_GT(want, 0);
	fds = calloc(want, sizeof(*fds));
	ASSERT_NE(fds, NULL);

	vm = vm_create();
	/* The highest id first, then 0, 1, ... */
	fds[created] = create_vcpu_fd(vm, max_id - 1);
	ASSERT_GE(fds[created], 0) {
		TH_LOG("KVM_CREATE_VCPU id %d (KVM_CAP_MAX_VCPU_ID - 1): %s", max_id - 1,
		       strerror(errno));
	}
	created++;
	EXPECT_EQ(create_vcpu_fd(vm, max_id), -1);
	EXPECT_EQ(errno, EINVAL) TH_LOG("KVM_CREATE_VCPU id KVM_CAP_MAX_VCPU_ID (%d)", max_id);
	for (; created < want; created++) {
		fds[created] = create_vcpu_fd(vm, created - 1);
		ASSERT_GE(fds[created], 0) {
			TH_LOG("KVM_CREATE_VCPU %d of %d (KVM_CAP_MAX_VCPUS): %s", created + 1,
			       max, strerror(errno));
		}
	}
	if (created == max) {
		/* api.rst: at most KVM_CAP_MAX_VCPUS vCPUs; a free id does not help. */
		fd = create_vcpu_fd(vm, created - 1);
		EXPECT_EQ(fd, -1) TH_LOG("vCPU %d of a KVM_CAP_MAX_VCPUS of %d", max + 1, max);
		EXPECT_EQ(errno, EINVAL);
	} else {
		TH_LOG("%d of KVM_CAP_MAX_VCPUS %d vCPUs created (RLIMIT_NOFILE %lu): the "
		       "count limit is not reached", created, max, (unsigned long)rl.rlim_cur);
	}
	for (int i = 0; i < created; i++)
		close(fds[i]);
	kvm_vm_free(vm);
	free(fds);

	/* KVM_ENABLE_CAP(KVM_CAP_MAX_VCPU_ID) lowers a VM's id limit (x86). */
	vm = vm_create();
	if (__vm_enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 4)) {
		TH_LOG("KVM_ENABLE_CAP(KVM_CAP_MAX_VCPU_ID): %s; not checked", strerror(errno));
	} else {
		EXPECT_EQ(__vm_enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 4), 0);
		EXPECT_EQ(__vm_enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 8), -1);
		EXPECT_EQ(errno, EINVAL);
		fd = create_vcpu_fd(vm, 3);
		EXPECT_GE(fd, 0) TH_LOG("KVM_CREATE_VCPU id 3 under a limit of 4: %s",
					strerror(errno));
		if (fd >= 0)
			close(fd);
		EXPECT_EQ(create_vcpu_fd(vm, 4), -1);
		EXPECT_EQ(errno, EINVAL);
	}
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
