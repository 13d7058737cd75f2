// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memory errors end to end, a host and guest round trip kept
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
 *  - The whole flow on the host's memory-failure code
 *    (hwpoison_early_kill_ao_then_ar): each link of the chain checked
 *    against its own source, the PFN poisoned through hwpoison-inject with
 *    the VMM in early-kill mode (BUS_MCEERR_AO at once, forwarded as SRAO,
 *    the poisoned page kept as QEMU keeps it), then the guest's write to
 *    the retired page: KVM's BUS_MCEERR_AR, forwarded as SRAR.  The host
 *    kernel's log lines are printed and checked.
 *
 * Every recovery ends with the guest touching the poisoned page through
 * its identity mapping (GVA == GPA): the handler removed it, so that #PFs.
 *
 * Recovery is UCR error handling (SDM vol. 3B 16.6): it needs MCG_SER_P in
 * the guest's MCG_CAP as KVM applied it (kvm_amd drops it).  Without it,
 * srao_* and srar_* SKIP; sigbus_simulated_* and real_host_poison_recovers
 * first check their host half (the SIGBUS, the GPA, the MCE injected, the
 * host page replaced) and that the guest refuses the error as a non-SER_P
 * guest must (16.10.4.1), and only then SKIP the guest's recovery.
 *
 * Caught bugs: bugs/mce-hwpoison-signal-lsb-zero.patch,
 * bugs/mce-hwpoison-efault-no-sigbus.patch
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kernel-page-flags.h>

#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/mce.h"
#include "kmsg.h"
#include "mce.h"

#define BANKS		4
#define VICTIM_VA	0x300000000ULL
#define PATTERN		0x5eed5eed00000000ULL
/* What the VMM writes into the host page it put behind the old GPA. */
#define MARKER		0x0dd0beef00000000ULL
#define WORDS		512

/* A SYNC whose next instruction is the victim's load: RIP at the exit is that load. */
static uint64_t sync_then_load(uint64_t va, uint64_t *load_rip)
{
	uint64_t rax = UCALL_RAX(UCALL_SYNC, 1, __LINE__);
	uint64_t v, at;

	/* GUEST_SYNC(va), spelled out so that the load is the very next instruction. */
	asm volatile(UCALL_OUT_INSN "\n\t"
		     "1: mov (%[va]), %[v]\n\t"
		     "lea 1b(%%rip), %[at]"
		     : [v] "=&r"(v), [at] "=&r"(at), "+" UCALL_C_RAX(rax)
		     : UCALL_C_PORT((uint16_t)UCALL_PIO_PORT), UCALL_C_FILE(__FILE__),
		       UCALL_C_ARG0(va), [va] "r"(va)
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

/*
 * SYNC 4: read the poisoned page through its identity VA.  The handler took
 * that mapping away, so this must #PF (not-present, CR2 = that VA).
 */
static void probe_identity_va(void)
{
	uint64_t va = mce_guest.poisoned[0], v = 0;

	asm volatile(ASM_SAFE("mov (%[va]), %[v]") : [v] "+r"(v) : [va] "r"(va) : "memory");
	GUEST_SYNC(4, guest_fault_vector(), this_percpu()->fault_cr2, guest_fault_error_code(),
		   va);
}

/* SRAO: the host reports the error at SYNC 1; the victim finds its data gone and goes on. */
static void guest_srao_victim(void)
{
	guest_mce_init();
	fill(PATTERN);
	GUEST_SYNC(1);
	GUEST_SYNC(2, intact(PATTERN), mce_guest.nr_events,
		   ((volatile uint64_t *)VICTIM_VA)[1]);
	fill(PATTERN + 1);	/* the victim carries on */
	GUEST_SYNC(3, intact(PATTERN + 1));
	probe_identity_va();
}

/* SRAR: the error comes as the load is about to consume it. */
static void guest_srar_victim(void)
{
	uint64_t at, v;

	guest_mce_init();
	fill(PATTERN);
	v = sync_then_load(VICTIM_VA + 8, &at);
	GUEST_SYNC(2, v, at, mce_guest.nr_events);
	fill(PATTERN + 1);
	GUEST_SYNC(3, intact(PATTERN + 1));
	probe_identity_va();
}

struct victim {
	uint64_t gpa;		/* the page the victim starts on */
	struct mce_guest_state *st;	/* host view of the guest's state */
	bool ser_p;		/* MCG_SER_P took effect in the guest's MCG_CAP */
	char no_ser[320];	/* if not, why (vcpu_mce_ser_p()) */
};

/* Tests that are all guest recovery: nothing to check without SER_P. */
#define REQUIRE_UCR_RECOVERY(v) do {						\
	if (!(v)->ser_p)							\
		SKIP(return, "%s: UCR recovery (SDM 16.6) is not available to this guest",	\
		     (v)->no_ser);						\
} while (0)

/*
 * After the host half passed and the guest refused the error: SKIP the
 * guest's recovery half.  Not if an EXPECT already failed: SKIP() would turn
 * that failure into a skip.
 */
#define SKIP_GUEST_RECOVERY(v, host_half) do {					\
	if (KVM_TEST_FAILED())							\
		return;								\
	SKIP(return, "host half passed (%s); the guest refused the error as a guest "	\
	     "without SER_P must (SDM 16.10.4.1); its recovery is not tested: %s: UCR "	\
	     "recovery (SDM 16.6) is not available to this guest", host_half,	\
	     (v)->no_ser);							\
} while (0)

static void setup_victim(struct __test_metadata *_metadata, struct kvm_vm *vm,
			 struct kvm_vcpu *vcpu, struct victim *v)
{
	uint64_t cap;

	TEST_REQUIRE_CAP(KVM_CAP_MCE);
	TEST_REQUIRE_MSG(kvm_check_cap(KVM_CAP_MCE) >= BANKS, "needs %u MCE banks", BANKS);
	cap = BANKS | (kvm_mce_cap_supported() & (MCG_CTL_P | MCG_SER_P));
	vcpu_setup_mce(vcpu, cap);
	v->ser_p = vcpu_mce_ser_p(vcpu, cap, v->no_ser, sizeof(v->no_ser));
	if (!v->ser_p)
		printf("# %s\n", v->no_ser);
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
	struct vm_page_chain c;

	vm_page_chain(vm, VICTIM_VA, &c);
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
	EXPECT_EQ(ev->action, MCE_ACT_MEMORY_FAILURE) TH_LOG("reason: %s",
							     mce_reason_str(ev->reason));
	EXPECT_EQ(ev->ctl, ~0ULL) TH_LOG("MCi_CTL as the handler read it");
	EXPECT_NE(ev->mcg_cap & MCG_SER_P, 0) TH_LOG("MCG_CAP %#lx", ev->mcg_cap);
	EXPECT_EQ(ev->addr & ~(PAGE_SIZE - 1), v->gpa);
	EXPECT_EQ(ev->page, v->gpa);
	EXPECT_TRUE(ev->identity_unmapped);
	EXPECT_EQ(ev->victim_va, VICTIM_VA);
	EXPECT_NE(ev->new_gpa, v->gpa);
	EXPECT_EQ(addr_gva2gpa(vm, VICTIM_VA), ev->new_gpa) TH_LOG("the victim's PTE");
	EXPECT_EQ(v->st->nr_poisoned, 1);
	EXPECT_EQ(v->st->poisoned[0], v->gpa);
}

/*
 * A guest without SER_P refuses the injected memory error (16.10.4.1): the
 * handler reads the bank as the VMM injected it and takes its fatal path;
 * nothing is remapped and MCIP stays set.
 */
static void check_refused_without_ser(struct __test_metadata *_metadata, struct kvm_vm *vm,
				      struct kvm_vcpu *vcpu, struct victim *v,
				      const struct kvm_x86_mce *m)
{
	const struct mce_event *ev = &v->st->events[0];
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_ABORT)
		TH_LOG("no SER_P: the guest went on after an uncorrected error (exit %s, "
		       "ucall %u, args[0] %#lx)", exit_reason_str(vcpu->run->exit_reason),
		       uc.cmd, uc.args[0]);
	printf("# guest: %s\n", uc.buffer);
	EXPECT_NE(strstr(uc.buffer, "unrecoverable machine check"), NULL);
	ASSERT_EQ(v->st->nr_events, 1);
	mce_log_event(ev);
	EXPECT_EQ(ev->bank, m->bank);
	EXPECT_EQ(ev->status, m->status);
	EXPECT_EQ(ev->addr, m->addr);
	EXPECT_EQ(ev->misc, m->misc);
	EXPECT_EQ(ev->mcg_status, m->mcg_status);
	EXPECT_EQ(ev->mcg_cap & MCG_SER_P, 0) TH_LOG("MCG_CAP %#lx", ev->mcg_cap);
	EXPECT_EQ(ev->class, MCE_UC);
	EXPECT_EQ(ev->action, MCE_ACT_FATAL);
	EXPECT_EQ(ev->reason, MCE_WHY_NO_SER_P) TH_LOG("reason: %s", mce_reason_str(ev->reason));
	EXPECT_EQ(v->st->nr_poisoned, 0);
	EXPECT_EQ(addr_gva2gpa(vm, VICTIM_VA), v->gpa) TH_LOG("the victim was remapped");
	EXPECT_NE(vcpu_get_msr(vcpu, MSR_IA32_MCG_STATUS) & MCG_STATUS_MCIP, 0);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_IA32_MCx_STATUS(m->bank)), m->status);
}

/* SYNC 4 (probe_identity_va): the poisoned page's identity VA is gone, its neighbours aren't. */
static void check_identity_va_gone(struct __test_metadata *_metadata, struct kvm_vm *vm,
				   struct kvm_vcpu *vcpu, struct victim *v)
{
	struct ucall uc;
	uint64_t gpa;

	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], 4);
	EXPECT_EQ(uc.args[4], v->gpa);
	EXPECT_EQ(uc.args[1], PF_VECTOR) TH_LOG("reading identity VA %#lx of the poisoned page "
						"raised vector %#lx, not #PF", v->gpa, uc.args[1]);
	EXPECT_EQ(uc.args[2], v->gpa) TH_LOG("CR2");
	EXPECT_EQ(uc.args[3] & 1, 0) TH_LOG("#PF error code %#lx: P=1, still mapped",
					     uc.args[3]);
	EXPECT_FALSE(__addr_gva2gpa(vm, v->gpa, &gpa)) TH_LOG("host walk: still mapped");
	/* The large page around it was split (one page-table page), not dropped. */
	EXPECT_EQ(v->st->nr_pt_pages, 1);
	ASSERT_TRUE(__addr_gva2gpa(vm, v->gpa + PAGE_SIZE, &gpa));
	EXPECT_EQ(gpa, v->gpa + PAGE_SIZE);
	ASSERT_TRUE(__addr_gva2gpa(vm, v->gpa - PAGE_SIZE, &gpa));
	EXPECT_EQ(gpa, v->gpa - PAGE_SIZE);
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

KVM_VCPU_TEST(srao_victim_moves_to_a_fresh_page, guest_srao_victim)
{
	struct victim v;
	struct kvm_x86_mce m;
	struct ucall uc;

	setup_victim(_metadata, vm, vcpu, &v);
	REQUIRE_UCR_RECOVERY(&v);
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
	EXPECT_EQ(uc.args[3], 0) TH_LOG("the victim read %#lx, not its fresh page", uc.args[3]);
	check_recovered(_metadata, vm, &v, MCE_SRAO);
	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], 3);
	EXPECT_EQ(uc.args[1], WORDS);
	/* The victim's new writes live in the new page; the old page keeps the old data. */
	EXPECT_EQ(*(uint64_t *)addr_gpa2hva(vm, v.st->events[0].new_gpa), PATTERN + 1);
	EXPECT_EQ(*(uint64_t *)addr_gpa2hva(vm, v.gpa), PATTERN);
	printf("# victim: data loss reported (0 of %u words survived), carried on at GPA %#lx\n",
	       WORDS, v.st->events[0].new_gpa);
	check_identity_va_gone(_metadata, vm, vcpu, &v);
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
	/*
	 * The load ran after the handler, on the guest's fresh (zeroed) page.  The
	 * old GPA holds PATTERN, or MARKER once the VMM replaced its host page:
	 * only the guest's remap gives 0.
	 */
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
	check_identity_va_gone(_metadata, vm, vcpu, v);
}

KVM_VCPU_TEST(srar_load_reexecutes_on_the_new_page, guest_srar_victim)
{
	struct kvm_x86_mce m;
	struct victim v;
	struct ucall uc;

	setup_victim(_metadata, vm, vcpu, &v);
	REQUIRE_UCR_RECOVERY(&v);
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

/*
 * After the VMM replaced the host page behind the old GPA: the page is fresh
 * (all zero where it held PATTERN).  Where pagemap shows PFNs
 * (CAP_SYS_ADMIN) and the old page was really poisoned, the PFN behind the
 * host VA changed: a poisoned frame is never handed out again (until
 * unpoisoned).  A page that was not poisoned (sigbus_simulated_*) was only
 * freed by the replacement, and the allocator may give the same frame right
 * back: its PFN is printed, not compared.  Then the VMM's page gets MARKER,
 * so that a guest that still read the old GPA would see it, not the zeros of
 * its own fresh page.
 */
static void check_host_page_replaced(struct __test_metadata *_metadata, uint64_t *hva,
				     int pfn_r, uint64_t old_pfn, bool poisoned)
{
	uint64_t new_pfn = 0;
	unsigned int dirty = 0;

	for (unsigned int i = 0; i < WORDS; i++)
		dirty += hva[i] != 0;
	EXPECT_EQ(dirty, 0) TH_LOG("the host page at %p still holds %#lx", hva, *hva);
	for (unsigned int i = 0; i < WORDS; i++)
		hva[i] = MARKER ^ i;
	if (pfn_r == -EPERM) {
		printf("# host: pagemap hides PFNs (no CAP_SYS_ADMIN): PFN change not checked\n");
		return;
	}
	ASSERT_EQ(pfn_r, 0) TH_LOG("pagemap of the victim's host page: %s", strerror(-pfn_r));
	EXPECT_NE(old_pfn, 0);
	ASSERT_EQ(__hva_to_pfn(hva, &new_pfn), 0);
	if (poisoned) {
		EXPECT_NE(new_pfn, old_pfn) TH_LOG("host VA %p still on poisoned PFN %#lx", hva,
						   old_pfn);
	}
	printf("# host: PFN %#lx replaced by PFN %#lx%s\n", old_pfn, new_pfn,
	       poisoned || new_pfn != old_pfn ? "" : " (the freed frame, reused: not poisoned)");
}

/*
 * What the VMM made of a memory-error SIGBUS: delivered to this (the vCPU's)
 * thread, page granular, translated to the GPA, and the MCE the SDM
 * prescribes injected at bank 1 (AR: SRAR with RIPV|EIPV; AO: SRAO, RIPV).
 */
static void check_vmm_injection(struct __test_metadata *_metadata,
				const struct vmm_memory_error *e, int code, uint64_t gpa)
{
	bool ar = code == BUS_MCEERR_AR;

	EXPECT_EQ(e->code, code) TH_LOG("si_code %d", e->code);
	EXPECT_EQ(e->tid, gettid()) TH_LOG("SIGBUS delivered to thread %d, not the vCPU's",
					   e->tid);
	EXPECT_EQ(e->addr_lsb, PAGE_SHIFT) TH_LOG("si_addr_lsb");
	EXPECT_EQ(e->gpa, gpa) TH_LOG("host VA %p", e->hva);
	EXPECT_EQ(e->mce.bank, 1);
	EXPECT_EQ(e->mce.addr, gpa & ~(PAGE_SIZE - 1));
	EXPECT_EQ(e->mce.misc, MCI_MISC_PHYS_PAGE);
	EXPECT_EQ(e->mce.status, ar ? MCE_STATUS_SRAR : MCE_STATUS_SRAO);
	EXPECT_EQ(e->mce.mcg_status, MCG_STATUS_MCIP | MCG_STATUS_RIPV |
		  (ar ? MCG_STATUS_EIPV : 0));
	/* As a guest with SER_P classifies it, whether or not this one has it. */
	EXPECT_EQ(mce_classify(e->mce.status, MCG_SER_P), ar ? MCE_SRAR : MCE_SRAO);
	EXPECT_FALSE(vmm_memory_error_pending());
}

static void sigbus_vmm_path(struct __test_metadata *_metadata, struct kvm_vm *vm,
			    struct kvm_vcpu *vcpu, struct victim *v, int code,
			    struct vmm_memory_error *e)
{
	uint64_t *hva = addr_gpa2hva(vm, v->gpa), pfn = 0;
	int pfn_r;

	/* The guest filled the page at SYNC 1: present, PATTERN. */
	ASSERT_EQ(*hva, PATTERN);
	pfn_r = __hva_to_pfn(hva, &pfn);
	vmm_sigbus_install();
	raise_mce_sigbus(code, (uint8_t *)hva + 0x10);
	ASSERT_TRUE(vmm_memory_error_pending());
	ASSERT_TRUE(vmm_handle_memory_error(vcpu, 1, VMM_REPLACE_PAGE, e));
	EXPECT_EQ(e->hva, (uint8_t *)hva + 0x10);
	check_vmm_injection(_metadata, e, code, v->gpa + 0x10);
	check_host_page_replaced(_metadata, hva, pfn_r, pfn, false);
}

KVM_VCPU_TEST(sigbus_simulated_ar_injects_srar, guest_srar_victim)
{
	struct vmm_memory_error e;
	struct victim v;
	struct ucall uc;

	setup_victim(_metadata, vm, vcpu, &v);
	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], VICTIM_VA + 8);
	print_chain(vm);
	sigbus_vmm_path(_metadata, vm, vcpu, &v, BUS_MCEERR_AR, &e);
	if (!v.ser_p) {
		check_refused_without_ser(_metadata, vm, vcpu, &v, &e.mce);
		SKIP_GUEST_RECOVERY(&v, "BUS_MCEERR_AR on the vCPU thread -> GPA -> SRAR with "
				    "RIPV|EIPV injected, host page replaced");
	}
	check_srar_outcome(_metadata, vm, vcpu, &v);
}

KVM_VCPU_TEST(sigbus_simulated_ao_injects_srao, guest_srao_victim)
{
	struct vmm_memory_error e;
	struct victim v;
	struct ucall uc;

	setup_victim(_metadata, vm, vcpu, &v);
	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], 1);
	sigbus_vmm_path(_metadata, vm, vcpu, &v, BUS_MCEERR_AO, &e);
	if (!v.ser_p) {
		check_refused_without_ser(_metadata, vm, vcpu, &v, &e.mce);
		SKIP_GUEST_RECOVERY(&v, "BUS_MCEERR_AO on the vCPU thread -> GPA -> SRAO with "
				    "RIPV injected, host page replaced");
	}
	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], 2);
	EXPECT_EQ(uc.args[1], 0);
	EXPECT_EQ(uc.args[3], 0) TH_LOG("the victim read %#lx, not its fresh page", uc.args[3]);
	check_recovered(_metadata, vm, &v, MCE_SRAO);
	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], 3);
	EXPECT_EQ(uc.args[1], WORDS);
	check_identity_va_gone(_metadata, vm, vcpu, &v);
}

#define EARLY_KILL	"/proc/sys/vm/memory_failure_early_kill"
#define UNPOISON	"/sys/kernel/debug/hwpoison/unpoison-pfn"

/* Give the PFN back where the host can (CONFIG_HWPOISON_INJECT, debugfs). */
static void unpoison(uint64_t pfn)
{
	FILE *f;

	if (access(UNPOISON, W_OK)) {
		printf("# host: PFN %#lx stays poisoned (no %s)\n", pfn, UNPOISON);
		return;
	}
	f = fopen(UNPOISON, "w");
	if (f) {
		fprintf(f, "%#lx\n", pfn);
		printf("# host: unpoison PFN %#lx: %s\n", pfn, fclose(f) ? strerror(errno) : "ok");
	}
}

/* The KVM_RUN that needs the poisoned page: -EINTR with KVM's SIGBUS pending. */
static void run_into_poison(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu)
{
	struct ucall uc;
	int r, tries;

	for (tries = 0; tries < 3 && !vmm_memory_error_pending(); tries++) {
		r = __vcpu_run(vcpu);
		if (!r && get_ucall(vcpu, &uc) == UCALL_ABORT)
			report_guest_abort(vcpu, &uc);
		ASSERT_TRUE(r < 0 && errno == EINTR)
			TH_LOG("KVM_RUN returned %d (%s), exit %s, ucall %u: the guest went on "
			       "past a poisoned page without a SIGBUS", r, strerror(errno),
			       exit_reason_str(vcpu->run->exit_reason), get_ucall(vcpu, &uc));
	}
	ASSERT_TRUE(vmm_memory_error_pending())
		TH_LOG("KVM_RUN returned -EINTR %d times without a memory-error SIGBUS", tries);
	printf("# host: KVM_RUN -EINTR with SIGBUS from KVM (run %d)\n", tries);
}

/*
 * The guest's access to the poisoned page: KVM_RUN -EINTR with KVM's
 * BUS_MCEERR_AR (kvm_send_hwpoison_signal(): the page's host VA, page
 * granular, on the vCPU thread); the VMM injects the SRAR, replaces the host
 * page and only then unpoisons the PFN (an unpoisoned PFN could have become
 * the replacement).  A guest without SER_P must refuse the SRAR: checked
 * here; false then, and the caller SKIPs the recovery half.
 */
static bool poison_ar_to_srar(struct __test_metadata *_metadata, struct kvm_vm *vm,
			      struct kvm_vcpu *vcpu, struct victim *v, uint64_t *page,
			      uint64_t pfn)
{
	struct vmm_memory_error e = { 0 };

	run_into_poison(_metadata, vcpu);
	ASSERT_TRUE(vmm_handle_memory_error(vcpu, 1, VMM_REPLACE_PAGE, &e));
	EXPECT_EQ(e.hva, (void *)page) TH_LOG("si_addr");
	check_vmm_injection(_metadata, &e, BUS_MCEERR_AR, v->gpa);
	check_host_page_replaced(_metadata, page, 0, pfn, true);
	unpoison(pfn);
	if (!v->ser_p)
		check_refused_without_ser(_metadata, vm, vcpu, v, &e.mce);
	return v->ser_p;
}

/*
 * Real poison, in the order the kernel produces it:
 *  1. madvise(MADV_HWPOISON) runs memory_failure() with MF_ACTION_REQUIRED
 *     on the (dirty, mapped) page: it is unmapped, and kernels that kill
 *     early signal the caller at once (6.12: BUS_MCEERR_AR to the current
 *     thread, kill_proc()).  That signal arrives as madvise() returns and is
 *     only noted: the page stays in the memslot, so KVM must find the
 *     poison on its own.  Older kernels may send nothing here; both are fine.
 *  2. The guest's load faults on the GPA; KVM's hva_to_pfn() gets
 *     -EHWPOISON, kvm_send_hwpoison_signal() raises BUS_MCEERR_AR at the host
 *     VA on the vCPU thread, and KVM_RUN returns -EINTR.
 *  3. The VMM path injects SRAR (RIPV|EIPV) and replaces the host page; the
 *     guest's handler recovers and its load re-executes on a fresh page.
 *     (Steps 1-2 and the VMM's part of 3 are the host half: checked on every
 *     host that can poison a page, whether or not the guest has SER_P.)
 */
KVM_VCPU_TEST(real_host_poison_recovers, guest_srar_victim)
{
	uint64_t pfn = 0, *page;
	int r, pfn_r, code;
	struct victim v;
	struct ucall uc;
	void *addr;

	TEST_REQUIRE_MSG(!access(EARLY_KILL, F_OK), "host kernel lacks CONFIG_MEMORY_FAILURE (no "
			 EARLY_KILL "): MADV_HWPOISON is unavailable");
	TEST_REQUIRE_MSG(!geteuid(), "MADV_HWPOISON needs root (CAP_SYS_ADMIN)");
	setup_victim(_metadata, vm, vcpu, &v);
	page = addr_gpa2hva(vm, v.gpa);
	/*
	 * Before the guest touches it, give the victim page a fresh 4 KiB anonymous
	 * mapping of its own and keep it out of transparent huge pages:
	 * memory_failure() on a THP must split it first and fails (EBUSY) when it
	 * can't.  (No THP support: MADV_NOHUGEPAGE fails, and there is nothing to
	 * avoid.)
	 */
	ASSERT_EQ(mmap(page, PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), (void *)page);
	(void)madvise(page, PAGE_SIZE, MADV_NOHUGEPAGE);
	vmm_sigbus_install();
	run(vcpu, &uc);		/* the guest filled the page and stopped before its load */
	ASSERT_EQ(uc.args[0], VICTIM_VA + 8);
	ASSERT_EQ(*page, PATTERN);
	print_chain(vm);
	pfn_r = __hva_to_pfn(page, &pfn);

	r = madvise(page, PAGE_SIZE, MADV_HWPOISON);
	/* EINVAL: no MADV_HWPOISON in this kernel; EPERM: no CAP_SYS_ADMIN (e.g. a container). */
	TEST_REQUIRE_MSG(!r || (errno != EINVAL && errno != EPERM),
			 "madvise(MADV_HWPOISON): %s", strerror(errno));
	ASSERT_EQ(r, 0) TH_LOG("madvise(MADV_HWPOISON) of host VA %p (GPA %#lx): %s", page, v.gpa,
			       strerror(errno));
	ASSERT_EQ(pfn_r, 0) TH_LOG("CAP_SYS_ADMIN (madvise worked) but no PFN from pagemap: %s",
				   strerror(-pfn_r));
	EXPECT_NE(pfn, 0);
	printf("# host: poisoned PFN %#lx behind GPA %#lx\n", pfn, v.gpa);

	/* 1: the signal of madvise() itself, if this kernel sends one. */
	if (vmm_take_memory_error(&code, &addr)) {
		printf("# host: memory_failure() signalled the caller during madvise(): %s at %p "
		       "(noted, not handled)\n", code == BUS_MCEERR_AR ? "BUS_MCEERR_AR" :
		       "BUS_MCEERR_AO", addr);
		EXPECT_TRUE(code == BUS_MCEERR_AR || code == BUS_MCEERR_AO) TH_LOG("si_code %d",
										     code);
		EXPECT_EQ((uintptr_t)addr & ~(PAGE_SIZE - 1), (uintptr_t)page);
	} else {
		printf("# host: no SIGBUS during madvise(): the first comes from KVM\n");
	}
	EXPECT_FALSE(vmm_memory_error_pending());

	/* 2 and 3: KVM's own SIGBUS when the guest's load needs the page; the VMM path. */
	if (!poison_ar_to_srar(_metadata, vm, vcpu, &v, page, pfn))
		SKIP_GUEST_RECOVERY(&v, "MADV_HWPOISON; KVM_RUN -EINTR with KVM's BUS_MCEERR_AR "
				    "at the page's host VA on the vCPU thread; SRAR with RIPV|EIPV "
				    "injected at its GPA; host PFN replaced");
	check_srar_outcome(_metadata, vm, vcpu, &v);
}

#define CORRUPT_PFN	"/sys/kernel/debug/hwpoison/corrupt-pfn"
/* The stale mapping the guest writes through after it retired the page. */
#define ALIAS_VA	0x300200000ULL
#define ALIAS_DATA	0xa11a5da7a0000000ULL

/*
 * The seed's flow with the host's own machine-check code: the guest reports
 * its walk of the victim's VA (SYNC 1); the host poisons the page behind it
 * and forwards the early kill as an SRAO, taken before the guest's next
 * instruction; the victim finds a fresh page (SYNC 2) and carries on (SYNC
 * 3); then the guest writes to the retired page through a mapping its
 * handler did not know of ("attempt to write to the poisoned page from the
 * guest"), KVM finds the poison and the VMM turns KVM's SIGBUS into an SRAR
 * whose handler moves that mapping too; the write completes there (SYNC 4).
 * A guest without SER_P gets no SRAO (it could not recover from one,
 * 16.10.4.1): its SYNC 2 read is the access that finds the poison.
 */
static void guest_poisoned_page(void)
{
	volatile uint64_t *alias = (volatile uint64_t *)(ALIAS_VA + 16);
	uint64_t *pte;

	guest_mce_init();
	fill(PATTERN);
	pte = guest_mce_pte(VICTIM_VA);
	GUEST_SYNC(1, pte ? *pte & PTE_ADDR_MASK : 0);
	GUEST_SYNC(2, intact(PATTERN), mce_guest.nr_events,
		   ((volatile uint64_t *)VICTIM_VA)[1]);
	fill(PATTERN + 1);
	GUEST_SYNC(3, intact(PATTERN + 1));
	pte = guest_mce_pte(ALIAS_VA);
	GUEST_ASSERT(pte && mce_guest.nr_poisoned == 1);
	*pte = (*pte & ~PTE_ADDR_MASK) | mce_guest.poisoned[0];
	invlpg(ALIAS_VA);
	mce_guest.victims[1] = ALIAS_VA;
	*alias = ALIAS_DATA;
	GUEST_SYNC(4, *alias, mce_guest.nr_events);
}

/* The host kernel's memory-failure lines since kmsg_open(); how many name pfn. */
static unsigned int host_log_lines(int kmsg, uint64_t pfn)
{
	char line[512], hex[32];
	unsigned int n = 0;

	if (kmsg < 0) {
		printf("# host log: /dev/kmsg unreadable (%s)\n", strerror(-kmsg));
		return 0;
	}
	snprintf(hex, sizeof(hex), "%#lx", pfn);
	while (kmsg_next(kmsg, line, sizeof(line))) {
		if (!strstr(line, "emory failure") && !strstr(line, "hwpoison"))
			continue;
		printf("# host log: %s\n", line);
		n += !!strstr(line, hex);
	}
	return n;
}

/*
 * The whole flow on the host's memory-failure code (CONFIG_MEMORY_FAILURE,
 * hwpoison-inject):
 *  1. The chain, each link from its own source: the guest walks its page
 *     tables for the victim's VA (its GPA must be the one the host's walk of
 *     the same tables gives), the memslot gives the host VA (whose bytes must
 *     be what the guest wrote), pagemap the PFN, kpageflags that it is an
 *     anonymous page and not poisoned.
 *  2. The VMM asks for early kill (prctl PR_MCE_KILL_EARLY) and the PFN is
 *     poisoned through hwpoison-inject's corrupt-pfn: memory_failure() must
 *     unmap it (pagemap: a swap-type entry, not present), mark it
 *     (kpageflags HWPOISON), log it, and signal this thread at once with
 *     BUS_MCEERR_AO at the page's host VA, si_addr_lsb 12
 *     (Documentation/mm/hwpoison.rst; prctl(2) PR_MCE_KILL).
 *  3. The VMM maps the host VA back to the GPA, injects an SRAO and keeps the
 *     poisoned page; the guest retires the page and the victim goes on.
 *  4. The guest's later write to the page: KVM's hva_to_pfn() meets the
 *     poison and sends BUS_MCEERR_AR at the host VA (KVM_RUN -EINTR); the
 *     VMM injects an SRAR (RIPV|EIPV), now gives the GPA a fresh host page,
 *     and the guest's handler moves the writer.
 * Without SER_P the host half (1, 2, 4 up to the SRAR) is checked and the
 * guest refuses the SRAR as it must.
 */
KVM_VCPU_TEST(hwpoison_early_kill_ao_then_ar, guest_poisoned_page)
{
	struct vmm_memory_error e = { 0 };
	uint64_t pfn = 0, *page, entry, kflags, alias_gpa;
	char buf[32];
	struct victim v;
	struct ucall uc;
	int fd, kmsg;

	TEST_REQUIRE_MSG(!geteuid(), "hwpoison-inject needs root (CAP_SYS_ADMIN)");
	TEST_REQUIRE_MSG(!access(CORRUPT_PFN, W_OK), "no %s: the host kernel lacks "
			 "CONFIG_MEMORY_FAILURE, the hwpoison-inject module or debugfs", CORRUPT_PFN);
	setup_victim(_metadata, vm, vcpu, &v);
	alias_gpa = vm_phys_alloc(vm, 1);
	virt_map(vm, ALIAS_VA, alias_gpa, PAGE_SIZE, PTE_DEFAULT);
	page = addr_gpa2hva(vm, v.gpa);
	/* A 4 KiB anonymous page of its own, out of THP (real_host_poison_recovers says why). */
	ASSERT_EQ(mmap(page, PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), (void *)page);
	(void)madvise(page, PAGE_SIZE, MADV_NOHUGEPAGE);
	vmm_sigbus_install();
	ASSERT_EQ(prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0), 0)
		TH_LOG("prctl(PR_MCE_KILL_EARLY): %s", strerror(errno));

	/* 1: the chain. */
	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], 1);
	EXPECT_EQ(uc.args[1], v.gpa) TH_LOG("the guest's own walk of VA %#llx", VICTIM_VA);
	EXPECT_EQ(addr_gva2gpa(vm, VICTIM_VA), v.gpa) TH_LOG("the host's walk");
	EXPECT_EQ(page[0], PATTERN);
	EXPECT_EQ(page[WORDS - 1], PATTERN ^ (WORDS - 1)) TH_LOG("host VA %p", page);
	ASSERT_EQ(__hva_to_pfn(page, &pfn), 0);
	ASSERT_EQ(__pfn_kpageflags(pfn, &kflags), 0);
	EXPECT_NE(kflags & (1ULL << KPF_ANON), 0) TH_LOG("kpageflags %#lx", kflags);
	EXPECT_EQ(kflags & (1ULL << KPF_HWPOISON), 0) TH_LOG("kpageflags %#lx", kflags);
	printf("# victim: guest VA %#llx -> GPA %#lx (guest's walk = host's) -> host VA %p "
	       "(holds the guest's data) -> PFN %#lx (kpageflags %#lx)\n", VICTIM_VA, v.gpa,
	       page, pfn, kflags);

	/* 2: poison, early kill. */
	kmsg = kmsg_open();
	fd = open(CORRUPT_PFN, O_WRONLY);
	ASSERT_GE(fd, 0) TH_LOG("open %s: %s", CORRUPT_PFN, strerror(errno));
	snprintf(buf, sizeof(buf), "%#lx\n", pfn);
	ASSERT_EQ(write(fd, buf, strlen(buf)), (ssize_t)strlen(buf))
		TH_LOG("write %s to %s: %s", buf, CORRUPT_PFN, strerror(errno));
	close(fd);
	ASSERT_TRUE(vmm_memory_error_pending())
		TH_LOG("no SIGBUS after corrupt-pfn %#lx with PR_MCE_KILL_EARLY", pfn);
	ASSERT_EQ(__pfn_kpageflags(pfn, &kflags), 0);
	EXPECT_NE(kflags & (1ULL << KPF_HWPOISON), 0) TH_LOG("kpageflags %#lx", kflags);
	ASSERT_EQ(__hva_pagemap(page, &entry), 0);
	EXPECT_EQ(entry & (PAGEMAP_PRESENT | PAGEMAP_SWAP), PAGEMAP_SWAP)
		TH_LOG("pagemap entry %#lx: the page is still mapped", entry);
	EXPECT_GE(host_log_lines(kmsg, pfn), kmsg < 0 ? 0 : 2)
		TH_LOG("host log: no \"Sending SIGBUS\" and \"recovery action\" lines for %#lx", pfn);

	/* 3: AO -> SRAO, page kept (only for a guest that can recover from it). */
	if (v.ser_p) {
		ASSERT_TRUE(vmm_handle_memory_error(vcpu, 1, VMM_KEEP_PAGE, &e));
		EXPECT_EQ(e.hva, (void *)page) TH_LOG("si_addr");
		check_vmm_injection(_metadata, &e, BUS_MCEERR_AO, v.gpa);
		run(vcpu, &uc);
		ASSERT_EQ(uc.args[0], 2);
		EXPECT_EQ(uc.args[1], 0) TH_LOG("%lu words of the lost page visible", uc.args[1]);
		EXPECT_EQ(uc.args[3], 0) TH_LOG("the victim read %#lx, not its fresh page",
						uc.args[3]);
		check_recovered(_metadata, vm, &v, MCE_SRAO);
		run(vcpu, &uc);
		ASSERT_EQ(uc.args[0], 3);
		EXPECT_EQ(uc.args[1], WORDS);
	} else {
		int code;
		void *addr;

		ASSERT_TRUE(vmm_take_memory_error(&code, &addr));
		EXPECT_EQ(code, BUS_MCEERR_AO);
		EXPECT_EQ(addr, (void *)page);
		printf("# vmm: BUS_MCEERR_AO at %p not forwarded: the guest has no SER_P\n", addr);
	}

	/* 4: the guest touches the poisoned page; KVM's AR -> SRAR, page replaced. */
	if (!poison_ar_to_srar(_metadata, vm, vcpu, &v, page, pfn))
		SKIP_GUEST_RECOVERY(&v, "corrupt-pfn with early kill: BUS_MCEERR_AO at once, "
				    "page unmapped and marked; the guest's access: KVM_RUN -EINTR "
				    "with BUS_MCEERR_AR at the host VA; SRAR injected at its GPA");
	run(vcpu, &uc);
	ASSERT_EQ(uc.args[0], 4);
	EXPECT_EQ(uc.args[1], ALIAS_DATA) TH_LOG("the write did not complete");
	ASSERT_EQ(uc.args[2], 2);
	mce_log_event(&v.st->events[1]);
	EXPECT_EQ(v.st->events[1].class, MCE_SRAR);
	EXPECT_EQ(v.st->events[1].page, v.gpa);
	EXPECT_EQ(v.st->events[1].victim_va, ALIAS_VA);
	EXPECT_NE(v.st->events[1].new_gpa, v.gpa);
	EXPECT_EQ(addr_gva2gpa(vm, ALIAS_VA), v.st->events[1].new_gpa);
	EXPECT_EQ(*(uint64_t *)addr_gpa2hva(vm, v.st->events[1].new_gpa + 16), ALIAS_DATA);
	EXPECT_EQ(page[2], MARKER ^ 2) TH_LOG("the write reached the old GPA");
	if (kmsg >= 0)
		close(kmsg);
}

TEST_HARNESS_MAIN
