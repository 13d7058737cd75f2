// SPDX-License-Identifier: GPL-2.0-only
/*
 * The environment the LTP-style API promises (include/tst_test.h), each
 * promise checked from inside the guest, and the host tst_kvm_* helpers
 * that look into it.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "tst_test.h"

/*
 * Walk CR3's 4-level tables (SDM vol. 3A 4.5) for va; 0 if not mapped.
 * *writable: R/W is 1 at every level (4.6: the access right is the AND).
 */
static uint64_t walk_rw(uint64_t va, bool *writable)
{
	struct kvm_cregs cr;
	uintptr_t table;

	kvm_read_cregs(&cr);
	table = cr.cr3 & ~0xfffULL;
	*writable = true;
	for (int level = 3; level >= 0; level--) {
		/* Tables live in low RAM, identity mapped: their GPA is a pointer. */
		const struct page_table_entry_pae *e =
			(const void *)(table + 8 * ((va >> (12 + 9 * level)) & 511));
		uintptr_t next = kvm_get_page_address_pae(e);

		if (!next)
			return 0;
		*writable = *writable && e->writable;
		if (level == 0)
			return next | (va & 0xfff);
		if (e->page_type) {	/* PS: 1 GiB (level 2) or 2 MiB (level 1) page */
			uint64_t mask = (1ULL << (12 + 9 * level)) - 1;

			return (next & ~mask) | (va & mask);
		}
		table = next;
	}
	return 0;
}

static uint64_t walk(uint64_t va)
{
	bool writable;

	return walk_rw(va, &writable);
}

static void guest_identity_map(void)
{
	unsigned int checked = 0, bad = 0;
	uint64_t pa;

	/* Every 2 MiB of the low 2 GiB, at a few offsets; RAM is only 64 MiB of it. */
	for (uint64_t va = 0x200000; va < TST_KVM_IDENTITY_TOP; va += 0x200000) {
		for (uint64_t off = 0; off < 0x200000; off += 0x7f123) {
			checked++;
			pa = walk(va + off);
			if (pa != va + off && bad++ < 5)
				tst_res(TFAIL, "VA 0x%lx translates to 0x%lx", va + off, pa);
		}
	}
	pa = walk(TST_KVM_RESULT_ADDR + 0x10);
	if (pa != TST_KVM_RESULT_ADDR + 0x10)
		tst_res(TFAIL, "result page VA 0x%llx translates to 0x%lx", TST_KVM_RESULT_ADDR, pa);
	else if (!bad)
		tst_res(TPASS, "%u addresses in the low 2 GiB and the result page map to themselves",
			checked);
}

TST_KVM_TEST(low_2gib_identity_mapped, guest_identity_map)

static uint64_t result_page_gpa;	/* the guest's own walk of TST_KVM_RESULT_ADDR */

static void guest_result_page(void)
{
	result_page_gpa = walk(TST_KVM_RESULT_ADDR);
	if (result_page_gpa < TST_KVM_IDENTITY_TOP)
		tst_res(TFAIL, "result page VA 0x%llx maps to GPA 0x%lx, below 2 GiB",
			TST_KVM_RESULT_ADDR, result_page_gpa);
	tst_res(TINFO, "result page at GPA 0x%lx", result_page_gpa);
	tst_res(TPASS, "results go through the page at 0x%llx", TST_KVM_RESULT_ADDR);
}

/*
 * The result page is guest memory above 2 GiB: the memslot backing it
 * starts there, the guest's own page walk of TST_KVM_RESULT_ADDR lands in
 * it, and the message the guest wrote is in that slot's host mapping.
 */
KVM_TEST(result_page_above_2gib)
{
	struct tst_kvm_instance inst = { .guest_main = guest_result_page };
	struct tst_kvm_summary sum = { 0 };
	const struct kvm_mem_region *r, *slot = NULL;
	const struct tst_kvm_result *page;
	char want[64];
	struct ucall uc;
	uint64_t gpa;

	tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
	for (r = inst.vm->regions; r; r = r->next)
		if (r->region.slot == TST_KVM_RESULT_SLOT)
			slot = r;
	ASSERT_NE(slot, NULL);
	gpa = slot->region.guest_phys_addr;
	EXPECT_GE(gpa, TST_KVM_IDENTITY_TOP);
	EXPECT_GE(slot->region.memory_size, sizeof(struct tst_kvm_result));
	EXPECT_EQ(tst_kvm_get_phys_address(&inst, TST_KVM_RESULT_ADDR), gpa);
	EXPECT_EQ(tst_kvm_find_phys_memslot(&inst, gpa), TST_KVM_RESULT_SLOT);
	page = slot->host_mem;

	/* First exit: the TINFO, with the guest's walk already done. */
	vcpu_run(inst.vcpu);
	ASSERT_EQ(get_ucall(inst.vcpu, &uc), UCALL_TST_RES);
	sync_global_from_guest(inst.vm, result_page_gpa);
	EXPECT_EQ(result_page_gpa, gpa);
	snprintf(want, sizeof(want), "result page at GPA 0x%lx", gpa);
	EXPECT_EQ(page->result, TINFO);
	EXPECT_STREQ(page->message, want);
	EXPECT_EQ(uc.buffer_gva, TST_KVM_RESULT_ADDR + offsetof(struct tst_kvm_result, message));
	tst_kvm_report_result(&inst, uc.args[0], &sum);
	tst_kvm_run_instance_sum(&inst, 0, &sum);
	EXPECT_EQ(tst_kvm_verdict(&sum, NULL), KSFT_PASS) TH_LOG("%s", sum.first_problem);
	EXPECT_EQ(page->result, TPASS);
	tst_kvm_destroy_instance(&inst);
}

#define STACK_WANTED	8192

static uint64_t stack_rsp, stack_room;
static const uint64_t probe_offsets[] = { 8, 8 + 0x1000, STACK_WANTED };

/* Use 12 KiB of stack for real: a stack smaller than that hits its guard page. */
static __attribute__((noinline)) unsigned int use_stack(unsigned int depth)
{
	volatile uint8_t frame[3000];

	frame[0] = depth;
	frame[sizeof(frame) - 1] = depth;
	if (depth)
		return frame[0] + use_stack(depth - 1) + frame[sizeof(frame) - 1];
	return 0;
}

static void guest_stack(void)
{
	uint64_t rsp, va, lowest;
	bool writable;

	asm volatile("mov %%rsp, %0" : "=r"(rsp));
	stack_rsp = rsp;
	/* First, so its frames can't overwrite the probes the host reads back. */
	use_stack(4);

	/*
	 * Measure: walk down from RSP's page to the first page that is not
	 * mapped writable (the guard page), at most 64 KiB.
	 */
	lowest = rsp & ~0xfffULL;
	for (va = lowest; va > lowest - 0x10000; va -= 0x1000) {
		if (!walk_rw(va, &writable) || !writable)
			break;
	}
	stack_room = rsp - (va + 0x1000);
	if (stack_room < STACK_WANTED) {
		tst_res(TFAIL, "RSP 0x%lx: only %lu bytes mapped writable below it (page 0x%lx %s)",
			rsp, stack_room, va, walk(va) ? "read-only" : "not present");
		return;
	}

	/*
	 * Write the 8 KiB below RSP: probes at most a page apart, so a byte in
	 * every page, down to the lowest byte.  No calls in between, so nothing
	 * else uses that memory meanwhile.
	 */
	for (unsigned int i = 0; i < ARRAY_SIZE(probe_offsets); i++) {
		va = rsp - probe_offsets[i];
		asm volatile(ASM_SAFE("movb %b1, (%0)") :: "r"(va), "r"(va) : "memory");
		if (guest_fault_vector() != NO_VECTOR || *(volatile uint8_t *)va != (uint8_t)va) {
			tst_res(TFAIL, "RSP 0x%lx: write to 0x%lx raised vector %u", rsp, va,
				guest_fault_vector());
			return;
		}
	}
	tst_res(TPASS, "%lu bytes of writable stack below RSP 0x%lx; 8 KiB below it written, "
		"12 KiB of frames used", stack_room, rsp);
}

/* Flags of the entry at level (3 = PML4E .. 0 = PTE) for gva; 0 if the walk stops above. */
static uint64_t host_entry(struct kvm_vm *vm, uint64_t gva, int level)
{
	uint64_t table = vm->pml4;

	for (int l = 3;; l--) {
		uint64_t e = ((uint64_t *)addr_gpa2hva(vm, table))[(gva >> (12 + 9 * l)) & 511];

		if (l == level || !(e & PTE_PRESENT) || (e & PTE_LARGE))
			return l == level ? e : 0;
		table = e & PTE_ADDR_MASK;
	}
}

/*
 * At least 8 KiB of stack: the guest measures how much is mapped writable
 * below its RSP and writes the 8 KiB below it; the host confirms from the
 * page tables that those pages are present and writable at every level
 * and that the page under the stack is a guard page (not present).
 */
KVM_TEST(stack_of_at_least_8k)
{
	struct tst_kvm_instance inst = { .guest_main = guest_stack };
	struct tst_kvm_summary sum = { 0 };
	uint64_t guard, va, rsp;

	tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
	tst_kvm_run_instance_sum(&inst, 0, &sum);
	EXPECT_EQ(tst_kvm_verdict(&sum, NULL), KSFT_PASS) TH_LOG("%s", sum.first_problem);
	sync_global_from_guest(inst.vm, stack_rsp);
	sync_global_from_guest(inst.vm, stack_room);
	rsp = stack_rsp;
	ASSERT_GE(rsp, (uint64_t)STACK_WANTED);
	EXPECT_GE(stack_room, STACK_WANTED);
	for (va = (rsp - STACK_WANTED) & ~0xfffULL; va < rsp; va += PAGE_SIZE) {
		for (int level = 3; level >= 0; level--) {
			uint64_t e = host_entry(inst.vm, va, level);

			EXPECT_EQ(e & PTE_DEFAULT, PTE_DEFAULT)
				TH_LOG("stack page 0x%lx: level %d entry 0x%lx", va, level, e);
			if (e & PTE_LARGE)
				break;
		}
	}
	/* The guest's writes reached the pages the host's walk finds. */
	EXPECT_EQ(*(uint8_t *)addr_gva2hva(inst.vm, rsp - STACK_WANTED),
		  (uint8_t)(rsp - STACK_WANTED));
	guard = inst.vcpu->stack_top - GUEST_STACK_SIZE - PAGE_SIZE;
	EXPECT_FALSE(__addr_gva2gpa(inst.vm, guard, &(uint64_t){ 0 }))
		TH_LOG("no guard page at 0x%lx below the stack", guard);
	/* The guest's measurement stopped at that guard page, not 64 KiB further down. */
	EXPECT_EQ(rsp - stack_room, guard + PAGE_SIZE)
		TH_LOG("RSP 0x%lx, %lu bytes measured, stack top 0x%lx", rsp, stack_room,
		       inst.vcpu->stack_top);
	tst_kvm_destroy_instance(&inst);
}

static void guest_idt(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr;
	unsigned int bad = 0;

	asm volatile("sidt %0" : "=m"(idtr));
	if (idtr.limit < 32 * 16 - 1)
		tst_brk(TBROK, "IDT limit 0x%x does not cover the 32 exception vectors", idtr.limit);
	for (unsigned int v = 0; v < 32; v++) {
		const uint32_t *gate = (const uint32_t *)(uintptr_t)(idtr.base + 16 * v);
		uint64_t target = (gate[0] & 0xffff) | (gate[1] & 0xffff0000) |
				  (uint64_t)gate[2] << 32;
		unsigned int type = (gate[1] >> 8) & 0x1f;	/* P=1 DPL=0 0 type */

		/* SDM vol. 3A 6.14.1: present 64-bit interrupt gate (type 0xE). */
		if (!(gate[1] & 0x8000) || (type & 0xf) != 0xe || !target) {
			tst_res(TFAIL, "vector %u: gate 0x%x 0x%x 0x%x is not a present interrupt gate",
				v, gate[0], gate[1], gate[2]);
			bad++;
		}
	}
	if (!bad)
		tst_res(TPASS, "all 32 exception vectors have a present interrupt gate");
}

TST_KVM_TEST(every_exception_vector_has_a_gate, guest_idt)

static void raise_de(void) { asm volatile("divb %%cl" :: "a"(1), "c"(0)); }
static void raise_ud(void) { asm volatile("ud2"); }
static void raise_gp(void) { asm volatile("mov (%0), %%rax" :: "r"(1ULL << 63) : "rax"); }
static void raise_pf(void) { asm volatile("mov 8, %%rax" ::: "rax"); }

static void (*raise_fn)(void);

static void guest_unhandled(void)
{
	raise_fn();
	tst_res(TFAIL, "resumed after an exception with no callback");
}

/* With no callback installed, the default handler ends the run with TBROK. */
KVM_TEST(default_handlers_end_the_run_with_tbrok)
{
	static const struct { void (*fn)(void); const char *what; } cases[] = {
		{ raise_de, "#DE (vector 0)" }, { raise_ud, "#UD (vector 6)" },
		{ raise_gp, "#GP (vector 13)" }, { raise_pf, "#PF (vector 14)" },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tst_kvm_instance inst = { .guest_main = guest_unhandled };
		struct tst_kvm_summary sum = { 0 };
		const char *reason;

		tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
		write_guest_global(inst.vm, raise_fn, cases[i].fn);
		tst_kvm_run_instance_sum(&inst, 0, &sum);
		tst_kvm_destroy_instance(&inst);
		EXPECT_EQ(tst_kvm_verdict(&sum, &reason), KSFT_FAIL);
		EXPECT_EQ(sum.counts[tst_result_index(TBROK)], 1);
		EXPECT_NE(strstr(reason, cases[i].what), NULL) TH_LOG("reason '%s'", reason);
	}
}

#define LOW_BUF_GPA	0x60000000ULL	/* inside the identity map, above RAM */
#define HIGH_BUF_GPA	0x140000000ULL	/* above 4 GiB: mapped on allocation */

static uint64_t buf_sum;

static void guest_sum_buffers(void)
{
	const uint32_t *lo = (const void *)(uintptr_t)LOW_BUF_GPA;
	const uint32_t *hi = (const void *)(uintptr_t)HIGH_BUF_GPA;

	for (unsigned int i = 0; i < 3 * 1024; i++)
		buf_sum += lo[i] + hi[i];
	tst_res(TPASS, "summed both buffers");
}

/* Find the mapping that holds addr in /proc/self/maps; its permissions. */
static bool map_perms(const void *addr, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;
	char line[512];
	bool found = false;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 &&
		    (uintptr_t)addr >= lo && (uintptr_t)addr < hi) {
			found = true;
			break;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/* tst_kvm_alloc_memory and the lookups: guest and host see the same bytes. */
KVM_TEST(host_helpers_translate_and_find_slots)
{
	struct tst_kvm_instance inst = { .guest_main = guest_sum_buffers };
	struct tst_kvm_summary sum = { 0 };
	uint32_t *lo, *hi;
	uint64_t want = 0, got;
	char perms[5];

	tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
	lo = tst_kvm_alloc_memory(&inst, 5, LOW_BUF_GPA, 3 * 4096, 0);
	hi = tst_kvm_alloc_memory(&inst, 6, HIGH_BUF_GPA, 3 * 4096 - 100, 0);
	ASSERT_EQ((uintptr_t)lo % PAGE_SIZE, 0);
	/* Guard pages on both sides. */
	ASSERT_TRUE(map_perms((uint8_t *)lo - 1, perms));
	EXPECT_STREQ(perms, "---p");
	ASSERT_TRUE(map_perms((uint8_t *)hi + 3 * 4096, perms));
	EXPECT_STREQ(perms, "---p");
	ASSERT_TRUE(map_perms(lo, perms));
	EXPECT_STREQ(perms, "rw-p");
	for (unsigned int i = 0; i < 3 * 1024; i++) {
		lo[i] = i * 7 + 1;
		hi[i] = i * 13 + 5;
		want += lo[i] + hi[i];
	}

	EXPECT_EQ(tst_kvm_find_memslot(&inst, LOW_BUF_GPA + 0x1234), 5);
	EXPECT_EQ(tst_kvm_find_phys_memslot(&inst, HIGH_BUF_GPA + 0x2fff), 6);
	EXPECT_EQ(tst_kvm_find_phys_memslot(&inst, HIGH_BUF_GPA + 0x3000), -1);
	EXPECT_EQ(tst_kvm_find_memslot(&inst, TST_KVM_RESULT_ADDR), TST_KVM_RESULT_SLOT);
	EXPECT_EQ(tst_kvm_find_memslot(&inst, (uintptr_t)&buf_sum), 0);
	EXPECT_EQ(tst_kvm_find_memslot(&inst, 0), -1);	/* page 0 is not mapped */
	EXPECT_EQ(tst_kvm_get_memptr(&inst, HIGH_BUF_GPA + 0x10), (uint8_t *)hi + 0x10);
	EXPECT_EQ(tst_kvm_get_memptr(&inst, TST_KVM_RESULT_ADDR), (void *)inst.result);
	EXPECT_EQ(tst_kvm_get_memptr(&inst, 0), NULL);
	EXPECT_EQ(tst_kvm_get_phys_address(&inst, (uintptr_t)&buf_sum), (uintptr_t)&buf_sum);
	EXPECT_EQ(tst_kvm_get_phys_address(&inst, 0x70000000ULL + 5), 0x70000000ULL + 5);
	EXPECT_EQ(tst_kvm_get_phys_address(&inst, 0x200000000ULL), 0);

	tst_kvm_run_instance_sum(&inst, 0, &sum);
	EXPECT_EQ(tst_kvm_verdict(&sum, NULL), KSFT_PASS) TH_LOG("%s", sum.first_problem);
	got = *(uint64_t *)tst_kvm_get_memptr(&inst, (uintptr_t)&buf_sum);
	EXPECT_EQ(got, want);
	tst_kvm_cleanup_instance(&inst);	/* and the buffers */
}

#define DIRTY_BUF_GPA	0x64000000ULL

static void guest_dirty_pages_1_and_3(void)
{
	volatile uint64_t *buf = (void *)(uintptr_t)DIRTY_BUF_GPA;

	buf[512] = 0x1111;	/* page 1 */
	buf[3 * 512 + 7] = 0x3333;	/* page 3 */
	tst_res(TPASS, "wrote pages 1 and 3 of the buffer");
}

/*
 * The flags of tst_kvm_alloc_memory() reach the memslot: with
 * KVM_MEM_LOG_DIRTY_PAGES, KVM_GET_DIRTY_LOG reports exactly the pages the
 * guest wrote (api.rst 4.8); without it the slot has no dirty log (ENOENT).
 */
KVM_TEST(alloc_memory_passes_memslot_flags)
{
	struct tst_kvm_instance inst = { .guest_main = guest_dirty_pages_1_and_3 };
	struct tst_kvm_summary sum = { 0 };
	uint64_t bitmap[1] = { 0 };
	struct kvm_dirty_log log = { .slot = 8, .dirty_bitmap = bitmap };
	uint64_t *buf;

	tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
	buf = tst_kvm_alloc_memory(&inst, 7, DIRTY_BUF_GPA, 4 * PAGE_SIZE,
				   KVM_MEM_LOG_DIRTY_PAGES);
	tst_kvm_alloc_memory(&inst, 8, DIRTY_BUF_GPA + 0x100000, PAGE_SIZE, 0);
	/* Nothing written yet: the log starts clean. */
	vm_get_dirty_log(inst.vm, 7, bitmap);
	EXPECT_EQ(bitmap[0], 0);
	tst_kvm_run_instance_sum(&inst, 0, &sum);
	EXPECT_EQ(tst_kvm_verdict(&sum, NULL), KSFT_PASS) TH_LOG("%s", sum.first_problem);
	vm_get_dirty_log(inst.vm, 7, bitmap);
	EXPECT_EQ(bitmap[0], 0xa) TH_LOG("dirty bitmap 0x%lx, expected pages 1 and 3", bitmap[0]);
	EXPECT_EQ(buf[512], 0x1111);
	EXPECT_EQ(buf[3 * 512 + 7], 0x3333);
	errno = 0;
	EXPECT_EQ(__vm_ioctl(inst.vm, KVM_GET_DIRTY_LOG, &log), -1);
	EXPECT_EQ(errno, ENOENT) TH_LOG("%s", strerror(errno));
	tst_kvm_cleanup_instance(&inst);	/* and the buffers */
}

/*
 * KVM_GET_SUPPORTED_CPUID passes some fields through from the host CPU the
 * ioctl runs on: the initial APIC ID in leaf 1 EBX[31:24], the x2APIC ID
 * in leaves 0xb/0x1f EDX (seen here: 0 on CPU 0, 1 on CPU 1), and on
 * hybrid parts the cache and core-type leaves.  Both tables are therefore
 * read on one CPU, the one this thread is pinned to.
 */
KVM_TEST(get_cpuid_is_supported_cpuid)
{
	struct kvm_cpuid2 *ref, *c;
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
	c = tst_kvm_get_cpuid(kvm_dev_fd());
	ref = kvm_cpuid2_alloc(c->nent);
	ASSERT_EQ(ioctl(kvm_dev_fd(), KVM_GET_SUPPORTED_CPUID, ref), 0)
		TH_LOG("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	ASSERT_EQ(c->nent, ref->nent);
	for (unsigned int i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *a = &c->entries[i], *b = &ref->entries[i];

		EXPECT_EQ(memcmp(a, b, sizeof(*a)), 0)
			TH_LOG("entry %u: leaf 0x%x.%u is %08x %08x %08x %08x, "
			       "KVM_GET_SUPPORTED_CPUID says %08x %08x %08x %08x", i,
			       a->function, a->index, a->eax, a->ebx, a->ecx, a->edx,
			       b->eax, b->ebx, b->ecx, b->edx);
	}
	free(ref);
	free(c);
}

TST_KVM_MAIN
