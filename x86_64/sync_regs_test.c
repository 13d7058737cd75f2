// SPDX-License-Identifier: GPL-2.0-only
/*
 * vCPU state shared through kvm_run (api.rst 5 "The kvm_run structure":
 * kvm_valid_regs, kvm_dirty_regs, s.regs; api.rst 6.74 KVM_CAP_SYNC_REGS):
 * KVM_CHECK_EXTENSION returns the sets KVM can sync (x86:
 * KVM_SYNC_X86_REGS, _SREGS, _EVENTS), and "unused bitfields in the
 * bitarrays must be set to zero".
 *  - A set named in kvm_valid_regs is copied out on every return from
 *    KVM_RUN and then equals what KVM_GET_REGS / _SREGS / _VCPU_EVENTS
 *    return; a set not named is left as userspace wrote it.
 *  - A set named in kvm_dirty_regs is loaded before the guest runs, as the
 *    KVM_SET ioctl would load it, and reaches the guest (a GPR, CR2, a
 *    pending NMI); a set not named is not loaded.
 *  - A bit KVM did not report, in either field, makes KVM_RUN fail with
 *    EINVAL before the guest runs (bits 31:3 and 63:32 in separate tests:
 *    Linux 6.12 checks the fields, both __u64, against a u32 mask and lets
 *    bits 63:32 through).
 *  - State the KVM_SET ioctls refuse is refused through kvm_dirty_regs too
 *    (EINVAL, nothing loaded, the guest does not run): CR0/CR4/EFER/CS.L
 *    combinations no CPU can be in (SDM vol. 2B MOV to CR0/CR4, vol. 3A
 *    10.8.5) and an "exception" whose vector is not one (SDM vol. 3A 6.3.1).
 *    KVM's sync path has had such holes: 0d033770d43a ("KVM: x86: Fix
 *    KVM_CAP_SYNC_REGS's sync_regs() TOCTOU issues") closed a race that let
 *    unchecked sregs/events in.
 *  - Registers KVM itself changes while finishing an IN (api.rst KVM_RUN
 *    immediate_exit: complete the pending I/O and return EINTR) are the ones
 *    s.regs then shows: AL holds the data, RAX[63:8] kept (SDM vol. 1
 *    3.4.1.1), RIP past the IN.
 * Covers the idea of upstream tools/testing/selftests/kvm/x86_64/sync_regs_test.c.
 *
 * Caught bugs: bugs/regs-sync-regs-sregs-error-ignored.patch
 */
#include "guest/guest.h"
#include "kvm_test_harness.h"

#define LOOP_PORT	0x80
#define IN_PORT		0x81
#define TEST_SYNC_SETS	(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS)

/*
 * Each KVM_RUN adds 1 to RBX, copies CR2 to RCX and exits on an OUT: the
 * host sees what the guest did with the registers it was given.
 */
static void guest_loop(void)
{
	asm volatile("1: add $1, %%rbx\n\t"
		     "mov %%cr2, %%rcx\n\t"
		     "outb %%al, %[port]\n\t"
		     "jmp 1b"
		     :: [port] "N"(LOOP_PORT) : "rbx", "rcx", "memory");
}

static uint64_t nmi_count;

static void guest_nmi_handler(struct ex_regs *regs)
{
	nmi_count++;
}

static void require_sync_regs(void)
{
	int cap = kvm_check_cap(KVM_CAP_SYNC_REGS);

	TEST_REQUIRE_MSG((cap & TEST_SYNC_SETS) == TEST_SYNC_SETS,
			 "KVM_CAP_SYNC_REGS is %#x, without KVM_SYNC_X86_REGS|SREGS|EVENTS (%#x)",
			 cap, (unsigned int)TEST_SYNC_SETS);
}

/* One KVM_RUN that must end on the guest loop's OUT. */
static void run_to_loop_exit(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu)
{
	int r = __vcpu_run(vcpu);

	ASSERT_EQ(r, 0) TH_LOG("KVM_RUN: %s (valid %#llx dirty %#llx)", strerror(errno),
			       (unsigned long long)vcpu->run->kvm_valid_regs,
			       (unsigned long long)vcpu->run->kvm_dirty_regs);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(vcpu->run->io.port, LOOP_PORT);
}

/* First differing byte of two structs, for the failure message. */
static int first_diff(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return i;
	return -1;
}

#define EXPECT_SAME_STATE(_a, _b, _what)						\
	EXPECT_EQ(first_diff(&(_a), &(_b), sizeof(_a)), -1)				\
		TH_LOG("%s: s.regs and the GET ioctl differ from byte offset %d",	\
		       _what, first_diff(&(_a), &(_b), sizeof(_a)))

static void expect_sync_equals_get(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu)
{
	struct kvm_sync_regs *s = &vcpu->run->s.regs;
	struct kvm_vcpu_events events;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	vcpu_regs_get(vcpu, &regs);
	vcpu_sregs_get(vcpu, &sregs);
	vcpu_events_get(vcpu, &events);
	EXPECT_SAME_STATE(s->regs, regs, "KVM_SYNC_X86_REGS");
	EXPECT_SAME_STATE(s->sregs, sregs, "KVM_SYNC_X86_SREGS");
	EXPECT_SAME_STATE(s->events, events, "KVM_SYNC_X86_EVENTS");
}

/*
 * ---- bits KVM did not report are refused ----
 * KVM_RUN checks kvm_valid_regs and kvm_dirty_regs (both __u64) against
 * the sets it syncs ("Unused bitfields in the bitarrays must be set to
 * zero", api.rst; x86.c) and fails with EINVAL without entering the guest.
 * Bits 31:3 and 63:32 are two tests: KVM has checked them differently.
 */
static void expect_bits_refused(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
				const uint64_t *bad, unsigned int n)
{
	uint64_t cap = kvm_check_cap(KVM_CAP_SYNC_REGS);
	struct kvm_regs before, after;

	vcpu_regs_get(vcpu, &before);
	for (unsigned int i = 0; i < n; i++) {
		for (unsigned int dirty = 0; dirty < 2; dirty++) {
			const char *field = dirty ? "kvm_dirty_regs" : "kvm_valid_regs";
			int r;

			ASSERT_EQ(bad[i] & cap, 0);
			vcpu->run->kvm_valid_regs = dirty ? 0 : bad[i] | TEST_SYNC_SETS;
			vcpu->run->kvm_dirty_regs = dirty ? bad[i] | KVM_SYNC_X86_REGS : 0;
			if (dirty)
				vcpu->run->s.regs.regs = before;
			r = __vcpu_run(vcpu);
			EXPECT_EQ(r, -1) TH_LOG("%s %#llx: KVM_RUN returned %d, exit %s", field,
						(unsigned long long)bad[i], r,
						exit_reason_str(vcpu->run->exit_reason));
			EXPECT_EQ(errno, EINVAL) TH_LOG("%s %#llx", field,
							(unsigned long long)bad[i]);
			if (r == 0)
				vcpu_regs_set(vcpu, &before);
		}
	}
	vcpu->run->kvm_valid_regs = 0;
	vcpu->run->kvm_dirty_regs = 0;
	/* The guest never ran: RBX and RIP are where they started. */
	vcpu_regs_get(vcpu, &after);
	EXPECT_EQ(after.rbx, before.rbx);
	EXPECT_EQ(after.rip, before.rip);
}

KVM_VCPU_TEST(unknown_sync_bits_are_refused, guest_loop)
{
	uint64_t cap, bad[2];

	require_sync_regs();
	cap = kvm_check_cap(KVM_CAP_SYNC_REGS);
	bad[0] = (cap + 1) & ~cap;	/* the lowest bit KVM did not report */
	bad[1] = 1ULL << 31;
	expect_bits_refused(_metadata, vcpu, bad, ARRAY_SIZE(bad));
}

KVM_VCPU_TEST(unknown_sync_bits_above_31_are_refused, guest_loop)
{
	static const uint64_t bad[] = { 1ULL << 32, 1ULL << 63 };

	require_sync_regs();
	expect_bits_refused(_metadata, vcpu, bad, ARRAY_SIZE(bad));
}

/* ---- kvm_valid_regs: what KVM copies out ---- */
KVM_VCPU_TEST(valid_sets_equal_the_get_ioctls, guest_loop)
{
	struct kvm_sync_regs *s = &vcpu->run->s.regs;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	uint64_t rbx;

	require_sync_regs();
	vcpu->run->kvm_valid_regs = TEST_SYNC_SETS;
	run_to_loop_exit(_metadata, vcpu);
	expect_sync_equals_get(_metadata, vcpu);
	rbx = s->regs.rbx;

	/* Again after the guest moved on, with CR2 changed by the host in between. */
	vcpu_sregs_get(vcpu, &sregs);
	sregs.cr2 = 0x5a5a000ULL;
	vcpu_sregs_set(vcpu, &sregs);
	run_to_loop_exit(_metadata, vcpu);
	expect_sync_equals_get(_metadata, vcpu);
	EXPECT_EQ(s->regs.rbx, rbx + 1);
	EXPECT_EQ(s->regs.rcx, 0x5a5a000ULL);
	EXPECT_EQ(s->sregs.cr2, 0x5a5a000ULL);

	/* Only the named set is written: the other two keep what userspace left. */
	memset(&s->sregs, 0xa5, sizeof(s->sregs));
	memset(&s->events, 0x5a, sizeof(s->events));
	vcpu->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	run_to_loop_exit(_metadata, vcpu);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_SAME_STATE(s->regs, regs, "KVM_SYNC_X86_REGS alone");
	EXPECT_EQ(s->regs.rbx, rbx + 2);
	sregs = s->sregs;
	memset(&s->sregs, 0xa5, sizeof(s->sregs));
	EXPECT_EQ(first_diff(&sregs, &s->sregs, sizeof(sregs)), -1)
		TH_LOG("s.regs.sregs written though kvm_valid_regs did not name it");
	EXPECT_EQ(s->events.flags, 0x5a5a5a5a)
		TH_LOG("s.regs.events written though kvm_valid_regs did not name it");
	vcpu->run->kvm_valid_regs = 0;
}

/* ---- kvm_dirty_regs: what KVM loads, and that the guest then has it ---- */
KVM_VCPU_TEST(dirty_sets_reach_the_guest, guest_loop)
{
	struct kvm_sync_regs *s = &vcpu->run->s.regs;
	struct kvm_regs regs;

	require_sync_regs();
	vm_install_exception_handler(vm, NMI_VECTOR, guest_nmi_handler);
	vcpu->run->kvm_valid_regs = TEST_SYNC_SETS;
	run_to_loop_exit(_metadata, vcpu);

	/* REGS: the guest adds 1 to the RBX the host put in s.regs. */
	s->regs.rbx = 0xbad1dea000ULL;
	vcpu->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	run_to_loop_exit(_metadata, vcpu);
	EXPECT_EQ(s->regs.rbx, 0xbad1dea001ULL);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(regs.rbx, 0xbad1dea001ULL);

	/* SREGS: the guest reads the CR2 the host put in s.regs. */
	s->sregs.cr2 = 0x1234000ULL;
	vcpu->run->kvm_dirty_regs = KVM_SYNC_X86_SREGS;
	run_to_loop_exit(_metadata, vcpu);
	EXPECT_EQ(s->regs.rcx, 0x1234000ULL) TH_LOG("the guest read CR2 %#llx",
						   (unsigned long long)s->regs.rcx);
	EXPECT_EQ(s->regs.rbx, 0xbad1dea002ULL);

	/* EVENTS: a pending NMI is taken before the guest's next instruction. */
	memset(&s->events, 0, sizeof(s->events));
	s->events.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	s->events.nmi.pending = 1;
	vcpu->run->kvm_dirty_regs = KVM_SYNC_X86_EVENTS;
	run_to_loop_exit(_metadata, vcpu);
	sync_global_from_guest(vm, nmi_count);
	EXPECT_EQ(nmi_count, 1);
	EXPECT_EQ(s->events.nmi.pending, 0);

	/* Not dirty: KVM overwrites s.regs with the live values, the guest keeps its own. */
	vcpu->run->kvm_dirty_regs = 0;
	s->regs.rbx = 0xdeadbeefULL;
	run_to_loop_exit(_metadata, vcpu);
	EXPECT_EQ(s->regs.rbx, 0xbad1dea004ULL);

	/* Neither valid nor dirty: s.regs is left alone, KVM_SET_REGS is what counts. */
	vcpu->run->kvm_valid_regs = 0;
	s->regs.rbx = 0xaaaaULL;
	vcpu_regs_get(vcpu, &regs);
	regs.rbx = 0xbac0ULL;
	vcpu_regs_set(vcpu, &regs);
	run_to_loop_exit(_metadata, vcpu);
	EXPECT_EQ(s->regs.rbx, 0xaaaaULL);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(regs.rbx, 0xbac1ULL);

	/* Dirty but not valid: loaded, and s.regs not rewritten. */
	vcpu->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	s->regs = regs;
	s->regs.rbx = 0xbbbbULL;
	run_to_loop_exit(_metadata, vcpu);
	EXPECT_EQ(s->regs.rbx, 0xbbbbULL);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(regs.rbx, 0xbbbcULL);
}

/*
 * ---- state the SET ioctls refuse is refused through kvm_dirty_regs ----
 * The same rules as vcpu_state_test's sregs_reject_invalid_cr0_cr4_efer and
 * events_reject_non_exception_vectors, through the sync path: KVM_RUN
 * fails with EINVAL, loads nothing, and the guest does not run.
 */
struct bad_sync {
	const char *what;
	uint32_t set;			/* the kvm_dirty_regs bit */
	uint64_t cr0_set, cr0_clear, cr4_set, cr4_clear, efer_clear;
	int exception_nr;		/* >= 0: an injected exception with this vector */
	uint32_t event_flags;
};

static const struct bad_sync bad_sync[] = {
	{ "CR0.PG=1 with CR0.PE=0", KVM_SYNC_X86_SREGS, .cr0_clear = X86_CR0_PE, .exception_nr = -1 },
	{ "CR0.NW=1 with CR0.CD=0", KVM_SYNC_X86_SREGS, .cr0_set = X86_CR0_NW, .exception_nr = -1 },
	{ "CR0 bit 63 set", KVM_SYNC_X86_SREGS, .cr0_set = 1ULL << 63, .exception_nr = -1 },
	{ "CR4 bit 63 set", KVM_SYNC_X86_SREGS, .cr4_set = 1ULL << 63, .exception_nr = -1 },
	{ "CR4.PAE=0 in IA-32e mode", KVM_SYNC_X86_SREGS, .cr4_clear = X86_CR4_PAE,
	  .exception_nr = -1 },
	{ "EFER.LME=1 CR0.PG=1 with EFER.LMA=0", KVM_SYNC_X86_SREGS, .efer_clear = EFER_LMA,
	  .exception_nr = -1 },
	{ "exception vector 2 (NMI)", KVM_SYNC_X86_EVENTS, .exception_nr = NMI_VECTOR },
	{ "exception vector 32", KVM_SYNC_X86_EVENTS, .exception_nr = 32 },
	{ "exception vector 0xd4", KVM_SYNC_X86_EVENTS, .exception_nr = 0xd4 },
	{ "events flag bit 31", KVM_SYNC_X86_EVENTS, .exception_nr = -1,
	  .event_flags = 1u << 31 },
};

KVM_VCPU_TEST(dirty_invalid_state_is_refused, guest_loop)
{
	struct kvm_sync_regs *s = &vcpu->run->s.regs;
	struct kvm_vcpu_events ev0, ev;
	struct kvm_sregs sr0, sr;
	struct kvm_regs regs0, regs;

	require_sync_regs();
	vcpu->run->kvm_valid_regs = TEST_SYNC_SETS;
	run_to_loop_exit(_metadata, vcpu);
	vcpu_regs_get(vcpu, &regs0);
	vcpu_sregs_get(vcpu, &sr0);
	vcpu_events_get(vcpu, &ev0);
	ASSERT_NE(sr0.efer & EFER_LMA, 0);

	for (unsigned int i = 0; i < ARRAY_SIZE(bad_sync); i++) {
		const struct bad_sync *b = &bad_sync[i];
		int r;

		s->sregs = sr0;
		s->sregs.cr0 = (sr0.cr0 | b->cr0_set) & ~b->cr0_clear;
		s->sregs.cr4 = (sr0.cr4 | b->cr4_set) & ~b->cr4_clear;
		s->sregs.efer = sr0.efer & ~b->efer_clear;
		memset(&s->events, 0, sizeof(s->events));
		s->events.flags = b->event_flags;
		if (b->exception_nr >= 0) {
			s->events.exception.injected = 1;
			s->events.exception.nr = b->exception_nr;
		}
		vcpu->run->kvm_dirty_regs = b->set;
		r = __vcpu_run(vcpu);
		EXPECT_EQ(r, -1) TH_LOG("%s through kvm_dirty_regs: KVM_RUN returned %d, exit %s",
					b->what, r, exit_reason_str(vcpu->run->exit_reason));
		EXPECT_EQ(errno, EINVAL) TH_LOG("%s", b->what);

		/* Nothing was loaded and the guest did not run. */
		vcpu_regs_get(vcpu, &regs);
		vcpu_sregs_get(vcpu, &sr);
		vcpu_events_get(vcpu, &ev);
		EXPECT_EQ(regs.rbx, regs0.rbx) TH_LOG("%s: the guest ran", b->what);
		EXPECT_EQ(first_diff(&sr, &sr0, sizeof(sr)), -1) {
			TH_LOG("%s: sregs changed, CR0 %#llx CR4 %#llx EFER %#llx", b->what,
			       (unsigned long long)sr.cr0, (unsigned long long)sr.cr4,
			       (unsigned long long)sr.efer);
		}
		EXPECT_EQ(first_diff(&ev, &ev0, sizeof(ev)), -1) {
			TH_LOG("%s: events changed, exception injected %u nr %u", b->what,
			       ev.exception.injected, ev.exception.nr);
		}
		/* kvm_valid_regs still holds: s.regs shows the live state again. */
		expect_sync_equals_get(_metadata, vcpu);
		if (first_diff(&sr, &sr0, sizeof(sr)) >= 0)
			vcpu_sregs_set(vcpu, &sr0);
		if (first_diff(&ev, &ev0, sizeof(ev)) >= 0)
			vcpu_events_set(vcpu, &ev0);
		if (regs.rbx != regs0.rbx)
			vcpu_regs_set(vcpu, &regs0);
	}

	/* The legal state still runs. */
	vcpu->run->kvm_dirty_regs = 0;
	run_to_loop_exit(_metadata, vcpu);
	EXPECT_EQ(s->regs.rbx, regs0.rbx + 1);
}

/*
 * ---- registers KVM changed while completing an IN ----
 * At the IN exit RIP is still at the IN; KVM_RUN with immediate_exit
 * completes it (writes AL, steps RIP) and returns EINTR, and s.regs must
 * show that, not the state of the exit.
 */
static void guest_in(void)
{
	asm volatile("1: inb %[in], %%al\n\t"
		     "outb %%al, %[out]\n\t"
		     "jmp 1b"
		     :: [in] "N"(IN_PORT), [out] "N"(LOOP_PORT) : "rax", "memory");
}

KVM_VCPU_TEST(in_completion_shows_in_sync_regs, guest_in)
{
	struct kvm_sync_regs *s = &vcpu->run->s.regs;
	struct kvm_regs regs;
	uint64_t rax, rip;
	int r;

	require_sync_regs();
	vcpu->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	r = __vcpu_run(vcpu);
	ASSERT_EQ(r, 0);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(vcpu->run->io.port, IN_PORT);
	ASSERT_EQ(vcpu->run->io.direction, KVM_EXIT_IO_IN);
	rax = s->regs.rax;
	rip = s->regs.rip;

	*((uint8_t *)vcpu->run + vcpu->run->io.data_offset) = 0x5a;
	vcpu->run->immediate_exit = 1;
	r = __vcpu_run(vcpu);
	vcpu->run->immediate_exit = 0;
	EXPECT_EQ(r, -1);
	EXPECT_EQ(errno, EINTR);
	EXPECT_EQ(s->regs.rax, (rax & ~0xffULL) | 0x5a) TH_LOG("RAX %#llx before the IN",
							       (unsigned long long)rax);
	EXPECT_EQ(s->regs.rip, rip + 2) TH_LOG("IN imm8 is 2 bytes; RIP was %#llx",
					       (unsigned long long)rip);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_SAME_STATE(s->regs, regs, "after immediate_exit");

	/* The guest goes on with the completed IN: it OUTs the byte it read. */
	r = __vcpu_run(vcpu);
	ASSERT_EQ(r, 0);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	ASSERT_EQ(vcpu->run->io.port, LOOP_PORT);
	EXPECT_EQ(*((uint8_t *)vcpu->run + vcpu->run->io.data_offset), 0x5a);
	EXPECT_EQ(s->regs.rip, rip + 2);
}

TEST_HARNESS_MAIN
