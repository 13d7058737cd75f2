// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memory errors end to end, the method of the 2010 KVM RAS suite made
 * self-contained: a guest victim works on a page, the host follows the
 * victim's VA down to the host page (guest VA -> GPA -> host VA -> host
 * PFN) and reports an error there; the guest's #MC handler (guest_lib/mce.c)
 * takes the page out of use and gives the victim a fresh one.
 *
 *  - SRAO: the victim carries on on a fresh page; its old data is lost
 *    and it notices.
 *  - SRAR: the error arrives as the victim's load is about to run (RIP is
 *    that load, EIPV set, SDM vol. 3B 16.6.3); the handler remaps and the
 *    load executes on the new page.
 *  - The VMM's SIGBUS path, with the SIGBUS raised by the test itself
 *    (sigbus_simulated_*): nothing is poisoned, the VMM code is what runs.
 *  - Real host poison (MADV_HWPOISON) where the host kernel has
 *    CONFIG_MEMORY_FAILURE: KVM itself raises the SIGBUS.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvm_test_harness.h"
#include "guest.h"
#include "mce.h"

#define BANKS		4
#define VICTIM_VA	0x300000000ULL
#define PATTERN		0x5eed5eed00000000ULL
#define WORDS		512

/* A SYNC whose next instruction is the victim's load: RIP at the exit is that load. */
static uint64_t sync_then_load(uint64_t va, uint64_t *load_rip)
{
	uint64_t rax = (uint64_t)__LINE__ << 32 | UCALL_TAG | 1u << UCALL_NARGS_SHIFT | UCALL_SYNC;
	uint64_t v, at;

	asm volatile("outl %%eax, %%dx\n\t"
		     "1: mov (%[va]), %[v]\n\t"
		     "lea 1b(%%rip), %[at]"
		     : [v] "=&r"(v), [at] "=&r"(at), "+a"(rax)
		     : "d"((uint16_t)UCALL_PIO_PORT), "b"(__FILE__), "D"(va), [va] "r"(va)
		     : "memory");
	*load_rip = at;
	return v;
}

static void fill(uint64_t tag)
{
	volatile uint64_t *p = (volatile uint64_t *)VICTIM_VA;

	for (unsigned int i = 0; i < WORDS; i++)
		p[i] = tag ^ i;
}

/* Words of the victim page that still hold tag. */
static unsigned int intact(uint64_t tag)
{
	volatile uint64_t *p = (volatile uint64_t *)VICTIM_VA;
	unsigned int n = 0;

	for (unsigned int i = 0; i < WORDS; i++)
		n += p[i] == (tag ^ i);
	return n;
}

/* SRAO: the host reports the error at SYNC 1; the victim finds its data gone and goes on. */
static void guest_srao_victim(void)
{
	mce_guest_init();
	fill(PATTERN);
	GUEST_SYNC(1);
	GUEST_SYNC(2, intact(PATTERN), mce_guest.nr_events);
	fill(PATTERN + 1);	/* the victim carries on */
	GUEST_SYNC(3, intact(PATTERN + 1));
}

/* SRAR: the error comes as the load is about to consume it. */
static void guest_srar_victim(void)
{
	uint64_t at, v;

	mce_guest_init();
	fill(PATTERN);
	v = sync_then_load(VICTIM_VA + 8, &at);
	GUEST_SYNC(2, v, at, mce_guest.nr_events);
	fill(PATTERN + 1);
	GUEST_SYNC(3, intact(PATTERN + 1));
}

struct victim {
	uint64_t gpa;		/* the page the victim starts on */
	struct mce_guest_state *st;	/* host view of the guest's state */
};

static void setup_victim(struct __test_metadata *_metadata, struct kvm_vm *vm,
			 struct kvm_vcpu *vcpu, struct victim *v)
{
	TEST_REQUIRE_CAP(KVM_CAP_MCE);
	TEST_REQUIRE_MSG(kvm_mce_cap_supported() & MCG_SER_P,
			 "KVM does not support MCG_SER_P (software error recovery)");
	vcpu_setup_mce(vcpu, BANKS | MCG_SER_P | (kvm_mce_cap_supported() & MCG_CTL_P));
	v->gpa = vm_phys_alloc(vm, 1);
	virt_map(vm, VICTIM_VA, v->gpa, PAGE_SIZE, PTE_DEFAULT);
	v->st = addr_gva2hva(vm, (uintptr_t)&mce_guest);
	v->st->victims[0] = VICTIM_VA;
	for (unsigned int i = 0; i < 2; i++)
		v->st->spare_pages[v->st->nr_spare++] = vm_phys_alloc(vm, 1);
}

static uint32_t run(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	vcpu_run(vcpu);
	if (get_ucall(vcpu, uc) == UCALL_ABORT)
		report_guest_abort(vcpu, uc);
	TEST_ASSERT(uc->cmd == UCALL_SYNC, "expected a GUEST_SYNC, got exit %s",
		    exit_reason_str(vcpu->run->exit_reason));
	return uc->cmd;
}

static void print_chain(struct kvm_vm *vm)
{
	struct guest_page_chain c;

	guest_page_chain(vm, VICTIM_VA, &c);
	printf("# victim: guest VA %#lx -> GPA %#lx -> host VA %p -> host PFN %#lx%s\n", c.gva,
	       c.gpa, c.hva, c.pfn, c.pfn ? "" : " (pagemap hides PFNs: not root)");
}

/* What the guest handler did, checked against the error and the victim. */
static void check_recovered(struct __test_metadata *_metadata, struct kvm_vm *vm,
			    struct victim *v, enum mce_class class)
{
	const struct mce_event *ev = &v->st->events[0];

	ASSERT_EQ(v->st->nr_events, 1);
	mce_log_event(ev);
	EXPECT_EQ(ev->class, class);
	EXPECT_EQ(ev->addr & ~(PAGE_SIZE - 1), v->gpa);
	EXPECT_EQ(ev->victim_va, VICTIM_VA);
	EXPECT_NE(ev->new_gpa, v->gpa);
	EXPECT_EQ(addr_gva2gpa(vm, VICTIM_VA), ev->new_gpa) TH_LOG("the victim's PTE");
	EXPECT_EQ(v->st->nr_poisoned, 1);
	EXPECT_EQ(v->st->poisoned[0], v->gpa);
}

static struct kvm_x86_mce mem_error(uint64_t gpa, bool ar)
{
	struct kvm_x86_mce m = {
		.bank = 1, .addr = gpa, .misc = MCI_MISC_PHYS_PAGE,
		.status = ar ? MCE_STATUS_SRAR : MCE_STATUS_SRAO,
		.mcg_status = MCG_STATUS_MCIP | MCG_STATUS_RIPV | (ar ? MCG_STATUS_EIPV : 0),
	};

	return m;
}

KVM_ONE_VCPU_TEST(srao_victim_moves_to_a_fresh_page, guest_srao_victim)
{
	struct victim v;
	struct kvm_x86_mce m;
	struct ucall uc;

	setup_victim(_metadata, vm, vcpu, &v);
	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], 1);
	print_chain(vm);
	m = mem_error(v.gpa, false);
	mce_log("host injects", &m, "SRAO at the victim's page");
	vcpu_inject_mce(vcpu, &m);
	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], 2);
	EXPECT_EQ(uc.args[1], 0) TH_LOG("%lu words of the lost page still visible", uc.args[1]);
	EXPECT_EQ(uc.args[2], 1);
	check_recovered(_metadata, vm, &v, MCE_SRAO);
	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], 3);
	EXPECT_EQ(uc.args[1], WORDS);
	/* The victim's new writes live in the new page; the old page keeps the old data. */
	EXPECT_EQ(*(uint64_t *)addr_gpa2hva(vm, v.st->events[0].new_gpa), PATTERN + 1);
	EXPECT_EQ(*(uint64_t *)addr_gpa2hva(vm, v.gpa), PATTERN);
	printf("# victim: data loss reported (0 of %u words survived), carried on at GPA %#lx\n",
	       WORDS, v.st->events[0].new_gpa);
}

/*
 * The guest reports the load's address (a label) and the handler the #MC
 * frame's RIP.  (The exit's RIP is no substitute: at a PIO exit to
 * userspace kvm_amd still points at the OUT, kvm_pvm already past it.)
 */
static void check_srar_outcome(struct __test_metadata *_metadata, struct kvm_vm *vm,
			       struct kvm_vcpu *vcpu, struct victim *v)
{
	struct ucall uc;
	uint64_t load_rip;

	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], 2);
	/* The load ran after the handler, on the fresh (zeroed) page. */
	EXPECT_EQ(uc.args[1], 0) TH_LOG("the load returned %#lx", uc.args[1]);
	load_rip = uc.args[2];
	EXPECT_EQ(uc.args[3], 1);
	check_recovered(_metadata, vm, v, MCE_SRAR);
	EXPECT_EQ(v->st->events[0].rip, load_rip) TH_LOG("#MC frame RIP is not the load");
	EXPECT_EQ(v->st->events[0].mcg_status & (MCG_STATUS_EIPV | MCG_STATUS_RIPV),
		  MCG_STATUS_EIPV | MCG_STATUS_RIPV);
	EXPECT_NE(v->st->events[0].status & MCI_STATUS_AR, 0);
	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], 3);
	EXPECT_EQ(uc.args[1], WORDS);
}

KVM_ONE_VCPU_TEST(srar_load_reexecutes_on_the_new_page, guest_srar_victim)
{
	struct kvm_x86_mce m;
	struct victim v;
	struct ucall uc;

	setup_victim(_metadata, vm, vcpu, &v);
	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], VICTIM_VA + 8);
	print_chain(vm);
	m = mem_error(v.gpa + 8, true);
	mce_log("host injects", &m, "SRAR: the victim's next instruction loads from it");
	vcpu_inject_mce(vcpu, &m);
	check_srar_outcome(_metadata, vm, vcpu, &v);
}

/* Raise a memory-error SIGBUS on this (the vCPU's) thread, as the kernel would. */
static void raise_mce_sigbus(int code, void *hva)
{
	siginfo_t si = { .si_signo = SIGBUS, .si_code = code };

	si.si_addr = hva;
	si.si_addr_lsb = PAGE_SHIFT;
	TEST_ASSERT(!syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), SIGBUS, &si),
		    "rt_tgsigqueueinfo: %s", strerror(errno));
}

static void sigbus_vmm_path(struct __test_metadata *_metadata, struct kvm_vm *vm,
			    struct kvm_vcpu *vcpu, struct victim *v, int code)
{
	struct vmm_memory_error e;
	uint64_t *hva = addr_gpa2hva(vm, v->gpa);

	vmm_sigbus_install();
	raise_mce_sigbus(code, (uint8_t *)hva + 0x10);
	ASSERT_TRUE(vmm_memory_error_pending());
	ASSERT_TRUE(vmm_handle_memory_error(vcpu, 1, &e));
	EXPECT_EQ(e.code, code);
	EXPECT_EQ(e.gpa, v->gpa + 0x10);
	EXPECT_EQ(e.mce.addr, v->gpa);
	EXPECT_EQ(mce_classify(e.mce.status), code == BUS_MCEERR_AR ? MCE_SRAR : MCE_SRAO);
	/* The host page behind the GPA was replaced: the victim's pattern is gone there. */
	EXPECT_EQ(*hva, 0);
	EXPECT_FALSE(vmm_memory_error_pending());
}

KVM_ONE_VCPU_TEST(sigbus_simulated_ar_injects_srar, guest_srar_victim)
{
	struct victim v;
	struct ucall uc;

	setup_victim(_metadata, vm, vcpu, &v);
	run(vcpu, &uc);
	print_chain(vm);
	sigbus_vmm_path(_metadata, vm, vcpu, &v, BUS_MCEERR_AR);
	check_srar_outcome(_metadata, vm, vcpu, &v);
}

KVM_ONE_VCPU_TEST(sigbus_simulated_ao_injects_srao, guest_srao_victim)
{
	struct victim v;
	struct ucall uc;

	setup_victim(_metadata, vm, vcpu, &v);
	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], 1);
	sigbus_vmm_path(_metadata, vm, vcpu, &v, BUS_MCEERR_AO);
	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], 2);
	EXPECT_EQ(uc.args[1], 0);
	check_recovered(_metadata, vm, &v, MCE_SRAO);
	run(vcpu, &uc);
	EXPECT_EQ(uc.args[1], WORDS);
}

#define EARLY_KILL	"/proc/sys/vm/memory_failure_early_kill"
#define UNPOISON	"/sys/kernel/debug/hwpoison/unpoison-pfn"

KVM_ONE_VCPU_TEST(real_host_poison_recovers, guest_srar_victim)
{
	struct victim v;
	struct vmm_memory_error e = { 0 };
	struct ucall uc;
	void *page;
	uint64_t pfn = 0;
	int r;

	TEST_REQUIRE_MSG(!access(EARLY_KILL, F_OK), "host kernel lacks CONFIG_MEMORY_FAILURE (no "
			 EARLY_KILL "): MADV_HWPOISON is unavailable");
	TEST_REQUIRE_MSG(!geteuid(), "MADV_HWPOISON needs root (CAP_SYS_ADMIN)");
	setup_victim(_metadata, vm, vcpu, &v);
	vmm_sigbus_install();
	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], VICTIM_VA + 8);
	print_chain(vm);
	page = addr_gpa2hva(vm, v.gpa);
	__hva_to_pfn(page, &pfn);
	r = madvise(page, PAGE_SIZE, MADV_HWPOISON);
	TEST_REQUIRE_MSG(!r, "madvise(MADV_HWPOISON): %s", strerror(errno));
	printf("# host: poisoned PFN %#lx behind GPA %#lx\n", pfn, v.gpa);

	/* The kernel signals us at once (MF_ACTION_REQUIRED) or when KVM touches it. */
	for (int tries = 0; !vmm_memory_error_pending() && tries < 3; tries++) {
		r = __vcpu_run(vcpu);
		ASSERT_TRUE(r < 0 && errno == EINTR)
			TH_LOG("KVM_RUN %d (%s), exit %s: the guest used a poisoned page", r,
			       strerror(errno), exit_reason_str(vcpu->run->exit_reason));
	}
	ASSERT_TRUE(vmm_handle_memory_error(vcpu, 1, &e));
	EXPECT_EQ(e.code, BUS_MCEERR_AR);
	EXPECT_EQ(e.gpa & ~(PAGE_SIZE - 1), v.gpa);
	check_srar_outcome(_metadata, vm, vcpu, &v);

	if (pfn && !access(UNPOISON, W_OK)) {
		FILE *f = fopen(UNPOISON, "w");

		if (f) {
			fprintf(f, "%#lx\n", pfn);
			printf("# host: unpoison PFN %#lx: %s\n", pfn, fclose(f) ? strerror(errno) : "ok");
		}
	} else {
		printf("# host: PFN %#lx stays poisoned (no %s)\n", pfn, UNPOISON);
	}
}

TEST_HARNESS_MAIN
