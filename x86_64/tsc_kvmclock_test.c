// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's time: its TSC, IA32_TSC_ADJUST and the TSC frequency, and
 * KVM's paravirtual clock (kvmclock) with KVM_GET_CLOCK / KVM_SET_CLOCK.
 *
 * TSC (SDM vol. 3B 17.17.3, "Time-Stamp Counter Adjustment"; api.rst 4.55,
 * 4.56):
 *  - IA32_TSC_ADJUST is 0 at reset; a guest WRMSR to IA32_TSC that adds X
 *    to the TSC also adds X to IA32_TSC_ADJUST; a guest WRMSR of
 *    IA32_TSC_ADJUST that adds X to it adds X to the TSC.  Userspace's
 *    writes are KVM's exception (x86.c, kept by upstream's tsc_msrs_test):
 *    a KVM_SET_MSRS of IA32_TSC sets the TSC and leaves IA32_TSC_ADJUST as
 *    it was, one of IA32_TSC_ADJUST sets it without moving the TSC, so that
 *    restoring both MSRs of a migrated vCPU does not apply the difference
 *    twice; and userspace's first IA32_TSC write is taken as written even
 *    within a second of the running TSC (KVM's one-second "resync" window
 *    applies only to later writes).  RDTSC, RDMSR and KVM_GET_MSRS agree,
 *    and the TSC only moves forward between writes.  One table of guest
 *    and host writes, each checked through all three reads.
 *  - KVM_GET_TSC_KHZ (KVM_CAP_GET_TSC_KHZ) is the rate at which the guest's
 *    TSC runs, measured against the host's CLOCK_MONOTONIC_RAW; with
 *    KVM_CAP_TSC_CONTROL, KVM_SET_TSC_KHZ changes that rate; without it a
 *    rate below the host's cannot be given (EINVAL) while the current one
 *    can always be set again.  The VM ioctls (KVM_CAP_VM_TSC_CONTROL) set
 *    the frequency of vCPUs created afterwards.
 *  - vCPUs created at different times share one TSC (KVM synchronizes a new
 *    vCPU's TSC with the VM's): reads taken in turn on each vCPU never go
 *    backwards.
 * kvmclock (Documentation/virt/kvm/x86/msr.rst MSR_KVM_SYSTEM_TIME_NEW;
 * api.rst 4.29 KVM_GET_CLOCK, 4.30 KVM_SET_CLOCK):
 *  - the guest registers a pvclock_vcpu_time_info with bit 0 set; its
 *    version is even whenever the guest reads it (odd means an update in
 *    progress, and this vCPU's own area is only written while it is out of
 *    guest mode) and the same before and after the read; the time it gives
 *    never goes backwards, over many reads and over exits, and advances by
 *    at least the time the host kept the vCPU out;
 *  - KVM_GET_CLOCK returns only flags KVM_CHECK_EXTENSION(KVM_CAP_ADJUST_CLOCK)
 *    lists; with KVM_CLOCK_REALTIME / KVM_CLOCK_HOST_TSC, realtime and
 *    host_tsc were sampled during the call; with KVM_CLOCK_TSC_STABLE the
 *    clock is the exact kvmclock every vCPU reads (the guest's pvclock
 *    formula at host_tsc plus the vCPU's TSC offset) and the pvclock's
 *    PVCLOCK_TSC_STABLE_BIT says the same;
 *  - KVM_SET_CLOCK sets the value KVM_GET_CLOCK then reads and the guest's
 *    kvmclock jumps to it (forwards or backwards); with KVM_CLOCK_REALTIME
 *    the realtime elapsed since `realtime` is added; other flags of
 *    KVM_GET_CLOCK are ignored, unknown ones refused (EINVAL);
 *  - writing the MSR with bit 0 clear stops the updates.
 *
 * TCG note: in the QEMU lane the host's TSC (and so the guest's) advances
 * irregularly against the guest's instructions; every bound below allows
 * seconds of slack (TSC_SLACK, CLOCK_SLACK_NS, times the timeout scale),
 * while the values written differ by hours, so a wrong KVM still fails.
 *
 * Upstream's selftests with these ideas (tools/testing/selftests/kvm/
 * x86_64/): tsc_msrs_test.c (the MSR rules), kvm_clock_test.c
 * (KVM_SET_CLOCK with and without REALTIME, read back by the guest) and
 * tsc_scaling_sync.c (vCPUs' TSCs in sync, at a VM-wide frequency; here
 * read in turn from one thread, not raced from one thread per vCPU).
 * Left out: the Hyper-V TSC page, the wall clock MSRs, KVM_KVMCLOCK_CTRL,
 * TSC_ADJUST and TSC scaling of a nested guest (vmx_tsc_adjust_test.c,
 * vmx/svm_nested_tsc_scaling_test.c) and KVM_VCPU_TSC_OFFSET writes
 * (tsc_offset attribute; only read here).
 *
 * Caught bugs: bugs/tsc-guest-wrmsr-tsc-no-adjust.patch,
 *              bugs/tsc-user-tsc-write-synced-to-startup.patch,
 *              bugs/kvmclock-set-clock-realtime-ignored.patch,
 *              bugs/kvmclock-pvclock-version-left-odd.patch,
 *              bugs/tsc-vcpu-create-not-synchronized.patch,
 *              bugs/tsc-set-khz-below-host-accepted.patch
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "guest/guest.h"
#include "kvm_test_harness.h"

/* msr.rst, MSR_KVM_SYSTEM_TIME_NEW: 32 bytes, 4-byte aligned, bit 0 enables. */
struct pvclock_vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

#define KVM_SYSTEM_TIME_ENABLE	BIT_ULL(0)
#define PVCLOCK_TSC_STABLE_BIT	BIT(0)	/* pvclock flags bit 0 (CPUID bit 24) */

#define NSEC_PER_SEC		1000000000LL

/*
 * The TSC values the MSR test writes are STEP apart (2^44 cycles, hours at
 * any plausible frequency); everything else that moves the TSC during a
 * step (the guest's instructions, exits, the host) must stay under
 * TSC_SLACK (2^36 cycles, about 30 s at 2 GHz).
 */
#define STEP			(1ULL << 44)
#define TSC_SLACK_BASE		(1ULL << 36)
/* kvmclock: KVM_SET_CLOCK values hundreds of seconds apart, 10 s of slack. */
#define CLOCK_SLACK_BASE_NS	(10 * NSEC_PER_SEC)

static uint64_t tsc_slack(void)
{
	return TSC_SLACK_BASE * kvm_timeout_scale();
}

static int64_t clock_slack_ns(void)
{
	return CLOCK_SLACK_BASE_NS * kvm_timeout_scale();
}

/* msr.rst: the pvclock formula, for the guest's reads and the host's checks. */
static uint64_t pvclock_ns_at(const struct pvclock_vcpu_time_info *p, uint64_t tsc)
{
	uint64_t delta = tsc - p->tsc_timestamp;

	if (p->tsc_shift >= 0)
		delta <<= p->tsc_shift;
	else
		delta >>= -p->tsc_shift;
	return p->system_time + (uint64_t)(((unsigned __int128)delta * p->tsc_to_system_mul) >> 32);
}

static uint64_t raw_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* RDTSC after earlier loads (LFENCE orders it on AMD and Intel alike). */
static inline uint64_t rdtsc_ordered(void)
{
	asm volatile("lfence" ::: "memory");
	return rdtsc();
}

/* The host's TSC rate against CLOCK_MONOTONIC_RAW over 100 ms. */
static uint64_t host_tsc_khz(void)
{
	uint64_t t0 = raw_ns(), c0 = rdtsc_ordered(), t1, c1;

	usleep(100 * 1000);
	t1 = raw_ns();
	c1 = rdtsc_ordered();
	return (c1 - c0) * 1000000ULL / (t1 - t0);
}

/* ---- IA32_TSC and IA32_TSC_ADJUST ---- */

enum tsc_actor { BY_GUEST, BY_HOST };

struct tsc_step {
	enum tsc_actor who;
	uint32_t msr;		/* MSR_IA32_TSC or MSR_IA32_TSC_ADJUST */
	uint64_t value;
	bool near_now;		/* BY_HOST: the value is the TSC now + 0.9 s */
};

/*
 * From a fresh vCPU (TSC near 0, TSC_ADJUST 0).  KVM takes a host TSC write
 * within one second of the TSC it expects as a resync of the vCPUs and
 * matches it to the others, except for userspace's first write (a guest
 * restored after running under a second must keep its value).  The first
 * step is such a first write, 0.9 s ahead; the later host writes stay far
 * from the expected TSC.
 */
static const struct tsc_step tsc_steps[] = {
	{ BY_HOST, MSR_IA32_TSC, 0, true },		/* TSC := now + 0.9 s */
	{ BY_GUEST, MSR_IA32_TSC, 1 * STEP, false },	/* ADJ += ~STEP */
	{ BY_GUEST, MSR_IA32_TSC_ADJUST, 3 * STEP, false },	/* TSC += 2 STEP */
	{ BY_HOST, MSR_IA32_TSC, 10 * STEP, false },	/* ADJ unchanged */
	{ BY_HOST, MSR_IA32_TSC_ADJUST, 7 * STEP, false },	/* TSC unchanged */
	{ BY_GUEST, MSR_IA32_TSC_ADJUST, -1 * STEP, false },	/* TSC -= 8 STEP */
	{ BY_GUEST, MSR_IA32_TSC, 5 * STEP, false },	/* ADJ += ~3 STEP */
	{ BY_HOST, MSR_IA32_TSC, 2 * STEP, false },	/* backwards, ADJ unchanged */
	{ BY_GUEST, MSR_IA32_TSC, 1ULL << 62, false },	/* ADJ += ~2^62 */
	{ BY_HOST, MSR_IA32_TSC_ADJUST, 0, false },	/* TSC unchanged */
	{ BY_GUEST, MSR_IA32_TSC_ADJUST, 2 * STEP, false },	/* TSC += 2 STEP */
};

/*
 * Per step: read TSC and TSC_ADJUST, exit (the host writes in a BY_HOST
 * step), write in a BY_GUEST step, read RDTSC, RDMSR(TSC), TSC_ADJUST.
 */
static void guest_tsc_steps(void)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(tsc_steps); i++) {
		const struct tsc_step *s = &tsc_steps[i];
		uint64_t r0, a0, r1, m1, a1;

		r0 = rdtsc_ordered();
		a0 = rdmsr(MSR_IA32_TSC_ADJUST);
		GUEST_SYNC(i);
		if (s->who == BY_GUEST)
			wrmsr(s->msr, s->value);
		r1 = rdtsc_ordered();
		m1 = rdmsr(MSR_IA32_TSC);
		a1 = rdmsr(MSR_IA32_TSC_ADJUST);
		GUEST_SYNC(r0, a0, r1, m1, a1);
	}
}

/*
 * Is `actual` within [expect, expect + slack)?  Differences are taken mod
 * 2^64, as the TSC's own arithmetic is.
 */
static bool tsc_near(uint64_t actual, uint64_t expect, uint64_t slack)
{
	return actual - expect < slack;
}

#define EXPECT_TSC_NEAR(actual, expect, what)				\
	EXPECT_TRUE(tsc_near(actual, expect, tsc_slack())) {			\
		TH_LOG("step %u (%s): %s is %#lx, expected %#lx + [0, %#lx): off by %ld", \
		       i, step_str, what, (uint64_t)(actual), (uint64_t)(expect),	\
		       tsc_slack(), (int64_t)((actual) - (expect)));		\
	}

KVM_VCPU_TEST(tsc_and_tsc_adjust_writes, guest_tsc_steps)
{
	char cs[32];
	uint64_t khz;

	TEST_REQUIRE_FEATURE(X86_FEATURE_TSC_ADJUST);
	if (!host_clocksource_is_tsc(cs, sizeof(cs)))
		SKIP(return, "the host's clocksource is %s, not tsc: KVM catches a vCPU's TSC up "
		     "with kvmclock (tsc_catchup), so TSC writes that move it back do not stay", cs);
	khz = kvm_check_cap(KVM_CAP_GET_TSC_KHZ) ? __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, 0) : 0;
	if ((int64_t)khz <= 0)
		khz = host_tsc_khz();

	for (unsigned int i = 0; i < ARRAY_SIZE(tsc_steps); i++) {
		const struct tsc_step *s = &tsc_steps[i];
		uint64_t h0t, h0a, hst = 0, hsa = 0, h1t, h1a, value = s->value;
		uint64_t r0, a0, r1, m1, a1;
		char step_str[80];
		struct ucall uc;

		vcpu_run_expect_sync(vcpu, i);
		h0t = vcpu_get_msr(vcpu, MSR_IA32_TSC);
		h0a = vcpu_get_msr(vcpu, MSR_IA32_TSC_ADJUST);
		if (s->near_now)
			value = h0t + khz * 900;
		snprintf(step_str, sizeof(step_str), "%s %s := %#lx%s",
			 s->who == BY_GUEST ? "guest WRMSR" : "host KVM_SET_MSRS",
			 s->msr == MSR_IA32_TSC ? "IA32_TSC" : "IA32_TSC_ADJUST", value,
			 s->near_now ? " (the TSC + 0.9 s)" : "");
		if (s->who == BY_HOST) {
			vcpu_set_msr(vcpu, s->msr, value);
			hst = vcpu_get_msr(vcpu, MSR_IA32_TSC);
			hsa = vcpu_get_msr(vcpu, MSR_IA32_TSC_ADJUST);
		}
		ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
		r0 = uc.args[0];
		a0 = uc.args[1];
		r1 = uc.args[2];
		m1 = uc.args[3];
		a1 = uc.args[4];
		h1t = vcpu_get_msr(vcpu, MSR_IA32_TSC);
		h1a = vcpu_get_msr(vcpu, MSR_IA32_TSC_ADJUST);

		if (i == 0) {
			/* SDM vol. 3B 17.17.3: IA32_TSC_ADJUST is 0 at reset. */
			EXPECT_EQ(a0, 0) TH_LOG("a new vCPU's IA32_TSC_ADJUST (guest RDMSR)");
			EXPECT_EQ(h0a, 0) TH_LOG("a new vCPU's IA32_TSC_ADJUST (KVM_GET_MSRS)");
			EXPECT_TSC_NEAR(r0, 0, "a new vCPU's TSC");
		}

		/* Guest and host see one TSC and one TSC_ADJUST. */
		EXPECT_TSC_NEAR(h0t, r0, "KVM_GET_MSRS(IA32_TSC) after the guest's RDTSC");
		EXPECT_EQ(h0a, a0) TH_LOG("step %u (%s): TSC_ADJUST before: host %#lx, guest %#lx",
					  i, step_str, h0a, a0);
		EXPECT_TSC_NEAR(m1, r1, "RDMSR(IA32_TSC) after RDTSC");
		EXPECT_TSC_NEAR(h1t, m1, "KVM_GET_MSRS(IA32_TSC) after RDMSR(IA32_TSC)");
		EXPECT_EQ(h1a, a1) TH_LOG("step %u (%s): TSC_ADJUST after: host %#lx, guest %#lx",
					  i, step_str, h1a, a1);

		if (s->msr == MSR_IA32_TSC) {
			/* The TSC now counts from the value written. */
			EXPECT_TSC_NEAR(r1, value, "the TSC after the write");
			if (s->who == BY_HOST)
				EXPECT_TSC_NEAR(hst, value, "KVM_GET_MSRS(IA32_TSC) then");
		} else if (s->who == BY_GUEST) {
			/* The TSC moved by what TSC_ADJUST moved. */
			EXPECT_TSC_NEAR(r1, r0 + (value - a0), "the TSC after the write");
		} else {
			/* A host TSC_ADJUST write leaves the TSC running as it was. */
			EXPECT_TSC_NEAR(r1, r0, "the TSC after the write");
			EXPECT_TSC_NEAR(hst, h0t, "KVM_GET_MSRS(IA32_TSC) after the write");
		}

		if (s->msr == MSR_IA32_TSC_ADJUST) {
			EXPECT_EQ(a1, value) TH_LOG("step %u (%s): TSC_ADJUST reads %#lx", i,
						       step_str, a1);
			if (s->who == BY_HOST)
				EXPECT_EQ(hsa, value) {
					TH_LOG("step %u (%s): KVM_GET_MSRS(IA32_TSC_ADJUST) right "
					       "after the write: %#lx", i, step_str, hsa);
				}
		} else if (s->who == BY_GUEST) {
			/*
			 * SDM 17.17.3: TSC_ADJUST moved by what the write added
			 * to the TSC, value - TSC at the write, where that TSC
			 * was r0 or a little later.
			 */
			EXPECT_TRUE(tsc_near((value - r0) - (a1 - a0), 0, tsc_slack())) {
				TH_LOG("step %u (%s): TSC_ADJUST %#lx -> %#lx, moved by %ld; the "
				       "write moved the TSC by %ld (from %#lx) less up to %#lx", i,
				       step_str, a0, a1, (int64_t)(a1 - a0),
				       (int64_t)(value - r0), r0, tsc_slack());
			}
		} else {
			EXPECT_EQ(a1, a0) {
				TH_LOG("step %u (%s): the host's IA32_TSC write changed TSC_ADJUST "
				       "%#lx -> %#lx", i, step_str, a0, a1);
			}
			EXPECT_EQ(hsa, h0a) {
				TH_LOG("step %u (%s): KVM_GET_MSRS(IA32_TSC_ADJUST) %#lx -> %#lx "
				       "across the host's IA32_TSC write", i, step_str, h0a, hsa);
			}
		}
		if (KVM_TEST_FAILED())
			return;
	}
	vcpu_run_expect_done(vcpu);
}

/* ---- TSC frequency ---- */

static void guest_tsc_reads(void)
{
	for (;;)
		GUEST_SYNC(rdtsc_ordered());
}

/*
 * The guest's TSC rate: two guest reads with a 200 ms host sleep between.
 * The guest's ticks cover at least the host's interval from the first exit
 * to the next entry, and at most the one from before the first KVM_RUN to
 * after the second.  Checked against khz with 5% tolerance (the scaling
 * bugs this is for are off by a quarter or more).
 */
static void check_guest_tsc_rate(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
				 uint64_t khz, const char *what)
{
	uint64_t t_pre, t_exit, t_entry, t_post, g0, g1, lo, hi;
	struct ucall uc;

	t_pre = raw_ns();
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	g0 = uc.args[0];
	t_exit = raw_ns();
	usleep(200 * 1000);
	t_entry = raw_ns();
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	g1 = uc.args[0];
	t_post = raw_ns();

	lo = (t_entry - t_exit) * khz / 1000000 * 95 / 100;
	hi = (t_post - t_pre) * khz / 1000000 * 105 / 100;
	EXPECT_TRUE(g1 - g0 >= lo && g1 - g0 <= hi) {
		TH_LOG("%s: the guest's TSC advanced %lu in %lu..%lu ns: %lu kHz, not %lu kHz",
		       what, g1 - g0, t_entry - t_exit, t_post - t_pre,
		       (g1 - g0) * 1000000 / (t_entry - t_exit), khz);
	}
}

KVM_VCPU_TEST(tsc_khz_get_set, guest_tsc_reads)
{
	uint64_t khz, host_khz;
	char cs[32];
	int r;

	TEST_REQUIRE_CAP(KVM_CAP_GET_TSC_KHZ);
	r = __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
	ASSERT_GT(r, 0) TH_LOG("KVM_GET_TSC_KHZ: %d, errno %d (%s)", r, errno, strerror(errno));
	khz = r;
	host_khz = host_tsc_khz();
	TH_LOG("KVM_GET_TSC_KHZ %lu kHz, host TSC measured at %lu kHz, KVM_CAP_TSC_CONTROL %d",
	       khz, host_khz, kvm_check_cap(KVM_CAP_TSC_CONTROL));
	/* Without TSC_CONTROL it is the host's rate; with it, still by default. */
	if (!host_clocksource_is_tsc(cs, sizeof(cs))) {
		TH_LOG("the host's clocksource is %s, not tsc: KVM_GET_TSC_KHZ not compared with "
		       "the TSC's rate against CLOCK_MONOTONIC_RAW", cs);
	} else {
		EXPECT_TRUE(host_khz * 100 >= khz * 98 && host_khz * 100 <= khz * 102) {
			TH_LOG("KVM_GET_TSC_KHZ %lu kHz, the host's TSC runs at %lu kHz "
			       "(2%% allowed)", khz, host_khz);
		}
	}
	check_guest_tsc_rate(_metadata, vcpu, khz, "default frequency");

	/* The current frequency can always be set again. */
	r = __vcpu_ioctl(vcpu, KVM_SET_TSC_KHZ, khz);
	EXPECT_EQ(r, 0) TH_LOG("KVM_SET_TSC_KHZ(%lu), the current one: errno %d (%s)", khz,
			       errno, strerror(errno));
	EXPECT_EQ(__vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, 0), khz);

	if (kvm_check_cap(KVM_CAP_TSC_CONTROL))
		return;

	/*
	 * No TSC scaling: a TSC slower than the host's cannot be made (KVM
	 * can only catch a slow TSC up, never hold one back).
	 */
	r = __vcpu_ioctl(vcpu, KVM_SET_TSC_KHZ, khz / 2);
	EXPECT_EQ(r, -1) TH_LOG("KVM_SET_TSC_KHZ(%lu) without TSC scaling: accepted", khz / 2);
	EXPECT_EQ(errno, EINVAL) TH_LOG("KVM_SET_TSC_KHZ(%lu): errno %d (%s)", khz / 2, errno,
					strerror(errno));
	r = __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
	if (r != khz)
		TH_LOG("KVM quirk: after the refused KVM_SET_TSC_KHZ(%lu), KVM_GET_TSC_KHZ "
		       "reads %d", khz / 2, r);
	ASSERT_EQ(__vcpu_ioctl(vcpu, KVM_SET_TSC_KHZ, khz), 0);
	EXPECT_EQ(__vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, 0), khz);
	check_guest_tsc_rate(_metadata, vcpu, khz, "after the refused frequency");
}

/*
 * KVM_CAP_TSC_CONTROL: KVM_SET_TSC_KHZ at half and 1.5 times the host's
 * rate; KVM_GET_TSC_KHZ reads it back and the guest's TSC runs at it.
 */
KVM_VCPU_TEST(tsc_khz_scaled, guest_tsc_reads)
{
	uint64_t khz;
	int r;

	TEST_REQUIRE_CAP(KVM_CAP_TSC_CONTROL);
	TEST_REQUIRE_CAP(KVM_CAP_GET_TSC_KHZ);
	r = __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
	ASSERT_GT(r, 0) TH_LOG("KVM_GET_TSC_KHZ: %d, errno %d (%s)", r, errno, strerror(errno));
	khz = r;
	for (unsigned int i = 0; i < 2; i++) {
		uint64_t want = i ? khz * 3 / 2 : khz / 2;
		char what[64];

		snprintf(what, sizeof(what), "KVM_SET_TSC_KHZ(%lu)", want);
		r = __vcpu_ioctl(vcpu, KVM_SET_TSC_KHZ, want);
		ASSERT_EQ(r, 0) TH_LOG("%s: errno %d (%s)", what, errno, strerror(errno));
		EXPECT_EQ(__vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, 0), want) TH_LOG("after %s", what);
		check_guest_tsc_rate(_metadata, vcpu, want, what);
	}
}

/* Each vCPU reads its TSC in turn, three rounds. */
#define SYNC_VCPUS	3
#define SYNC_ROUNDS	3

static void check_vcpus_share_tsc(struct __test_metadata *_metadata, struct kvm_vcpu **vcpus)
{
	uint64_t prev = 0;

	for (unsigned int round = 0; round < SYNC_ROUNDS; round++) {
		for (unsigned int v = 0; v < SYNC_VCPUS; v++) {
			struct ucall uc;

			ASSERT_EQ(vcpu_run_ucall(vcpus[v], &uc), UCALL_SYNC);
			if (prev)
				EXPECT_GE((int64_t)(uc.args[0] - prev), 0) {
					TH_LOG("round %u: vCPU %u read TSC %#lx after vCPU %u "
					       "read %#lx: %ld cycles back", round, v, uc.args[0],
					       (v + SYNC_VCPUS - 1) % SYNC_VCPUS, prev,
					       (int64_t)(prev - uc.args[0]));
				}
			if (KVM_TEST_FAILED())
				return;
			prev = uc.args[0];
		}
	}
}

/*
 * tsc_scaling_sync.c's idea without the scaling: vCPUs created 50 ms apart
 * still read one TSC.  Without KVM's synchronization at vCPU creation the
 * later vCPUs' TSCs would be 100 million cycles behind.
 */
KVM_TEST(tsc_same_on_vcpus_created_apart)
{
	struct kvm_vcpu *vcpus[SYNC_VCPUS];
	struct kvm_vm *vm = vm_create();

	for (unsigned int v = 0; v < SYNC_VCPUS; v++) {
		if (v)
			usleep(50 * 1000);
		vcpus[v] = vm_vcpu_add(vm, v, guest_tsc_reads);
	}
	check_vcpus_share_tsc(_metadata, vcpus);
	kvm_vm_free(vm);
}

/*
 * KVM_SET_TSC_KHZ on the VM (KVM_CAP_VM_TSC_CONTROL): the frequency of the
 * vCPUs created afterwards, which KVM_GET_TSC_KHZ reads on the VM and on
 * each vCPU, at which their TSCs run, and in sync.
 */
KVM_TEST(vm_tsc_khz_for_new_vcpus)
{
	struct kvm_vcpu *vcpus[SYNC_VCPUS];
	struct kvm_vm *vm;
	uint64_t khz, want;
	int r;

	TEST_REQUIRE_CAP(KVM_CAP_VM_TSC_CONTROL);
	vm = vm_create();
	r = __vm_ioctl(vm, KVM_GET_TSC_KHZ, 0);
	ASSERT_GT(r, 0) TH_LOG("KVM_GET_TSC_KHZ (VM): %d, errno %d (%s)", r, errno,
			       strerror(errno));
	khz = r;
	want = khz * 3 / 4;
	r = __vm_ioctl(vm, KVM_SET_TSC_KHZ, want);
	ASSERT_EQ(r, 0) TH_LOG("KVM_SET_TSC_KHZ (VM, %lu): errno %d (%s)", want, errno,
			       strerror(errno));
	EXPECT_EQ(__vm_ioctl(vm, KVM_GET_TSC_KHZ, 0), want);
	for (unsigned int v = 0; v < SYNC_VCPUS; v++) {
		if (v)
			usleep(50 * 1000);
		vcpus[v] = vm_vcpu_add(vm, v, guest_tsc_reads);
		EXPECT_EQ(__vcpu_ioctl(vcpus[v], KVM_GET_TSC_KHZ, 0), want) {
			TH_LOG("vCPU %u created after the VM's KVM_SET_TSC_KHZ(%lu)", v, want);
		}
	}
	check_guest_tsc_rate(_metadata, vcpus[0], want, "the VM's KVM_SET_TSC_KHZ");
	check_vcpus_share_tsc(_metadata, vcpus);
	kvm_vm_free(vm);
}

/* ---- kvmclock ---- */

static struct pvclock_vcpu_time_info pvti __attribute__((aligned(64)));

static void guest_kvmclock_enable(void)
{
	uint64_t val = (uint64_t)(uintptr_t)&pvti | KVM_SYSTEM_TIME_ENABLE;

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, val);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_SYSTEM_TIME_NEW), val);
}

/*
 * One kvmclock read by msr.rst's protocol.  KVM writes this vCPU's area only
 * while the vCPU is out of guest mode, so the guest must never see an odd
 * version, nor one that changes under its read.
 */
static uint64_t guest_kvmclock_read(uint8_t *flags)
{
	volatile struct pvclock_vcpu_time_info *p = &pvti;
	struct pvclock_vcpu_time_info copy;
	uint32_t v0, v1;
	uint64_t tsc;

	v0 = p->version;
	asm volatile("" ::: "memory");
	copy.tsc_timestamp = p->tsc_timestamp;
	copy.system_time = p->system_time;
	copy.tsc_to_system_mul = p->tsc_to_system_mul;
	copy.tsc_shift = p->tsc_shift;
	copy.flags = p->flags;
	tsc = rdtsc_ordered();
	v1 = p->version;
	__GUEST_ASSERT(!(v0 & 1), "pvclock version %u is odd (an update in progress) while "
		       "the vCPU runs", v0);
	__GUEST_ASSERT(v0 == v1, "pvclock version changed under the read: %u -> %u", v0, v1);
	if (flags)
		*flags = copy.flags;
	return pvclock_ns_at(&copy, tsc);
}

#define READ_ROUNDS	4
#define READS		2000
#define OUT_MS		100

/*
 * Rounds of reads with an exit between them; each exit reports the first
 * read of the round, the last, and the pvclock flags.
 */
static void guest_kvmclock_reads(void)
{
	uint64_t prev, first, t;
	uint8_t flags;

	guest_kvmclock_enable();
	prev = guest_kvmclock_read(&flags);
	for (unsigned int round = 0; round < READ_ROUNDS; round++) {
		first = guest_kvmclock_read(&flags);
		__GUEST_ASSERT(first >= prev, "kvmclock went back over an exit: %lu -> %lu",
			       prev, first);
		prev = first;
		for (unsigned int i = 0; i < READS; i++) {
			t = guest_kvmclock_read(NULL);
			__GUEST_ASSERT(t >= prev, "kvmclock went back at read %u of round %u: "
				       "%lu -> %lu", i, round, prev, t);
			prev = t;
		}
		GUEST_SYNC(round, first, prev, flags);
	}
}

/*
 * Between two rounds the host keeps the vCPU out for OUT_MS: the guest's
 * kvmclock advances by the host's CLOCK_MONOTONIC_RAW time between the
 * exit and the next entry at least, and by the time between the KVM_RUNs'
 * starts and ends at most (5% for the rate, msr.rst's system_time being
 * the host's monotonic raw time).  With KVM_CLOCK_TSC_STABLE, KVM_GET_CLOCK
 * before the run is at most the guest's first read, after it at least the
 * guest's last (api.rst: "the exact kvmclock value seen by all VCPUs").
 */
KVM_VCPU_TEST(kvmclock_reads_and_exits, guest_kvmclock_reads)
{
	uint64_t prev_last = 0, prev_exit = 0, prev_entry = 0;
	struct kvm_clock_data before, after;

	TEST_REQUIRE_FEATURE(X86_FEATURE_KVM_CLOCKSOURCE2);
	TEST_REQUIRE_CAP(KVM_CAP_ADJUST_CLOCK);
	for (unsigned int round = 0; round < READ_ROUNDS; round++) {
		uint64_t t_entry, t_exit, first, last;
		bool stable;
		struct ucall uc;

		vm_ioctl(vm, KVM_GET_CLOCK, &before);
		t_entry = raw_ns();
		ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
		t_exit = raw_ns();
		vm_ioctl(vm, KVM_GET_CLOCK, &after);
		ASSERT_EQ(uc.args[0], round);
		first = uc.args[1];
		last = uc.args[2];
		stable = after.flags & KVM_CLOCK_TSC_STABLE;

		EXPECT_EQ(!!(uc.args[3] & PVCLOCK_TSC_STABLE_BIT), stable) {
			TH_LOG("round %u: pvclock flags %#lx, KVM_GET_CLOCK flags %#x", round,
			       uc.args[3], after.flags);
		}
		if (round) {
			uint64_t lo = (t_entry - prev_exit) * 95 / 100;
			uint64_t hi = (t_exit - prev_entry) * 105 / 100;

			EXPECT_TRUE(first - prev_last >= lo && first - prev_last <= hi) {
				TH_LOG("round %u: kvmclock advanced %lu ns over an exit; the host "
				       "kept the vCPU out %lu ns (bounds %lu..%lu)", round,
				       first - prev_last, t_entry - prev_exit, lo, hi);
			}
		}
		if (stable && (before.flags & KVM_CLOCK_TSC_STABLE)) {
			EXPECT_LE(before.clock, first + 1000) {
				TH_LOG("round %u: KVM_GET_CLOCK %llu before the run, the guest "
				       "then read %lu", round, before.clock, first);
			}
			EXPECT_LE(last, after.clock + 1000) {
				TH_LOG("round %u: the guest read %lu, KVM_GET_CLOCK after the "
				       "exit %llu", round, last, after.clock);
			}
		} else if (!stable) {
			TH_LOG("round %u: KVM_GET_CLOCK flags %#x: no KVM_CLOCK_TSC_STABLE, its "
			       "value is not compared with the guest's", round, after.flags);
		}
		if (KVM_TEST_FAILED())
			return;
		prev_last = last;
		prev_exit = t_exit;
		prev_entry = t_entry;
		usleep(OUT_MS * 1000);
	}
	vcpu_run_expect_done(vcpu);
}

static void guest_kvmclock_sync_reads(void)
{
	guest_kvmclock_enable();
	for (;;)
		GUEST_SYNC(guest_kvmclock_read(NULL));
}

/* The vCPU's TSC offset (KVM_VCPU_TSC_CTRL, api.rst 4.126.2), if KVM has it. */
static bool vcpu_tsc_offset(struct kvm_vcpu *vcpu, int64_t *offset)
{
	struct kvm_device_attr attr = {
		.group = KVM_VCPU_TSC_CTRL,
		.attr = KVM_VCPU_TSC_OFFSET,
		.addr = (uint64_t)(uintptr_t)offset,
	};

	if (!kvm_check_cap(KVM_CAP_VCPU_ATTRIBUTES) ||
	    __vcpu_ioctl(vcpu, KVM_HAS_DEVICE_ATTR, &attr))
		return false;
	vcpu_ioctl(vcpu, KVM_GET_DEVICE_ATTR, &attr);
	return true;
}

/*
 * KVM_GET_CLOCK's fields (api.rst 4.29), sampled ten times after the guest
 * registered its kvmclock: flags within KVM_CAP_ADJUST_CLOCK's set, the
 * clock non-decreasing, realtime and host_tsc between the host's own reads
 * around the call, and with TSC_STABLE the clock equal (within 1 us of
 * rounding) to the guest's pvclock at host_tsc plus the vCPU's TSC offset.
 */
KVM_VCPU_TEST(kvm_get_clock_fields, guest_kvmclock_sync_reads)
{
	const struct pvclock_vcpu_time_info *hva;
	uint32_t cap, seen = 0;
	uint64_t prev = 0;
	bool exact = false;
	int64_t offset;

	TEST_REQUIRE_FEATURE(X86_FEATURE_KVM_CLOCKSOURCE2);
	TEST_REQUIRE_CAP(KVM_CAP_ADJUST_CLOCK);
	cap = kvm_check_cap(KVM_CAP_ADJUST_CLOCK);
	hva = addr_gva2hva(vm, (uint64_t)(uintptr_t)&pvti);
	ASSERT_EQ(vcpu_run_ucall(vcpu, &(struct ucall){ 0 }), UCALL_SYNC);

	for (unsigned int i = 0; i < 10; i++) {
		struct kvm_clock_data cd = { 0 };
		uint64_t rt0, rt1, tsc0, tsc1;

		rt0 = realtime_ns();
		tsc0 = rdtsc_ordered();
		vm_ioctl(vm, KVM_GET_CLOCK, &cd);
		tsc1 = rdtsc_ordered();
		rt1 = realtime_ns();
		seen |= cd.flags;

		EXPECT_EQ(cd.flags & ~cap, 0) {
			TH_LOG("KVM_GET_CLOCK flags %#x, KVM_CAP_ADJUST_CLOCK %#x", cd.flags, cap);
		}
		EXPECT_GE(cd.clock, prev) TH_LOG("KVM_GET_CLOCK went back: %lu -> %llu", prev,
						 cd.clock);
		prev = cd.clock;
		if (cd.flags & KVM_CLOCK_REALTIME)
			EXPECT_TRUE(cd.realtime >= rt0 && cd.realtime <= rt1) {
				TH_LOG("KVM_GET_CLOCK realtime %llu, CLOCK_REALTIME around the "
				       "call %lu..%lu", cd.realtime, rt0, rt1);
			}
		if (cd.flags & KVM_CLOCK_HOST_TSC)
			EXPECT_TRUE(cd.host_tsc >= tsc0 && cd.host_tsc <= tsc1) {
				TH_LOG("KVM_GET_CLOCK host_tsc %llu, RDTSC around the call "
				       "%lu..%lu", cd.host_tsc, tsc0, tsc1);
			}
		if ((cd.flags & KVM_CLOCK_TSC_STABLE) && (cd.flags & KVM_CLOCK_HOST_TSC) &&
		    (hva->flags & PVCLOCK_TSC_STABLE_BIT) && vcpu_tsc_offset(vcpu, &offset)) {
			struct pvclock_vcpu_time_info copy = *hva;
			uint64_t guest_ns = pvclock_ns_at(&copy, cd.host_tsc + offset);

			exact = true;
			EXPECT_TRUE(guest_ns - cd.clock + 1000 <= 2000) {
				TH_LOG("KVM_GET_CLOCK %llu at host TSC %llu; the guest's pvclock "
				       "there (TSC offset %ld) reads %lu: %ld ns apart", cd.clock,
				       cd.host_tsc, offset, guest_ns,
				       (int64_t)(guest_ns - cd.clock));
			}
		}
		if (KVM_TEST_FAILED())
			return;
		usleep(10 * 1000);
	}
	TH_LOG("KVM_GET_CLOCK flags seen %#x (KVM_CAP_ADJUST_CLOCK %#x)%s", seen, cap,
	       exact ? "" : "; the clock not compared with the guest's pvclock (needs "
	       "TSC_STABLE, HOST_TSC and KVM_VCPU_TSC_OFFSET)");
}

struct set_clock_case {
	const char *what;
	uint64_t clock;
	uint32_t flags;
	int64_t realtime_rel;	/* realtime = the host's CLOCK_REALTIME + this */
	int64_t extra;		/* what KVM must add to clock */
	int err;
};

#define SEC(x)	((x) * NSEC_PER_SEC)

static const struct set_clock_case set_clock_cases[] = {
	{ "forward to 1000 s", SEC(1000), 0, 0, 0, 0 },
	{ "back to 100 s", SEC(100), 0, 0, 0, 0 },
	{ "to 5000 s with REALTIME 300 s ago: 300 s added", SEC(5000), KVM_CLOCK_REALTIME,
	  -SEC(300), SEC(300), 0 },
	{ "to 3000 s with REALTIME 300 s ahead: nothing taken off", SEC(3000),
	  KVM_CLOCK_REALTIME, SEC(300), 0, 0 },
	{ "to 7000 s with KVM_GET_CLOCK's other flags: ignored", SEC(7000),
	  KVM_CLOCK_TSC_STABLE | KVM_CLOCK_HOST_TSC, -SEC(300), 0, 0 },
	{ "to 9000 s with flag bit 0", SEC(9000), 1, 0, 0, EINVAL },
	{ "to 9000 s with flag bit 4", SEC(9000), 1 << 4, 0, 0, EINVAL },
	{ "to 9000 s with flag bit 31", SEC(9000), 1u << 31, 0, 0, EINVAL },
};

/*
 * api.rst 4.30: KVM_SET_CLOCK sets the kvmclock; KVM_GET_CLOCK then reads
 * the value set (plus the time since) and so does the guest at its next
 * read; KVM_CLOCK_REALTIME adds the realtime elapsed since `realtime`.
 * A refused call (unknown flag) leaves the clock running as it was.
 */
KVM_VCPU_TEST(kvm_set_clock_values, guest_kvmclock_sync_reads)
{
	int64_t slack = clock_slack_ns();
	struct ucall uc;

	TEST_REQUIRE_FEATURE(X86_FEATURE_KVM_CLOCKSOURCE2);
	TEST_REQUIRE_CAP(KVM_CAP_ADJUST_CLOCK);
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);

	for (unsigned int i = 0; i < ARRAY_SIZE(set_clock_cases); i++) {
		const struct set_clock_case *c = &set_clock_cases[i];
		struct kvm_clock_data old, cd = { 0 }, now;
		uint64_t want;
		int r;

		vm_ioctl(vm, KVM_GET_CLOCK, &old);
		cd.clock = c->clock;
		cd.flags = c->flags;
		cd.realtime = realtime_ns() + c->realtime_rel;
		r = __vm_ioctl(vm, KVM_SET_CLOCK, &cd);
		vm_ioctl(vm, KVM_GET_CLOCK, &now);
		if (c->err) {
			EXPECT_EQ(r, -1) TH_LOG("KVM_SET_CLOCK %s: accepted", c->what);
			EXPECT_EQ(errno, c->err) TH_LOG("KVM_SET_CLOCK %s: errno %d (%s)", c->what,
							errno, strerror(errno));
			want = old.clock;
		} else {
			EXPECT_EQ(r, 0) TH_LOG("KVM_SET_CLOCK %s: errno %d (%s)", c->what, errno,
					       strerror(errno));
			want = c->clock + c->extra;
		}
		EXPECT_TRUE((int64_t)(now.clock - want) >= 0 &&
			    (int64_t)(now.clock - want) < slack) {
			TH_LOG("KVM_SET_CLOCK %s: KVM_GET_CLOCK then reads %llu, expected %lu "
			       "+ [0, %ld): off by %ld ns", c->what, now.clock, want, slack,
			       (int64_t)(now.clock - want));
		}
		ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
		EXPECT_TRUE((int64_t)(uc.args[0] - want) >= 0 &&
			    (int64_t)(uc.args[0] - want) < slack) {
			TH_LOG("KVM_SET_CLOCK %s: the guest's kvmclock then reads %lu, expected "
			       "%lu + [0, %ld): off by %ld ns", c->what, uc.args[0], want, slack,
			       (int64_t)(uc.args[0] - want));
		}
		if (KVM_TEST_FAILED())
			return;
	}
}

/*
 * msr.rst: KVM "may update this structure at any time it sees fit until
 * anything with bit0 == 0 is written to it".  A KVM_SET_CLOCK makes KVM
 * update every vCPU's kvmclock before its next entry: seen while enabled,
 * not after the guest cleared bit 0 (its area keeps the guest's poison),
 * seen again once re-enabled.
 */
static void guest_kvmclock_disable(void)
{
	uint64_t gpa = (uint64_t)(uintptr_t)&pvti;
	volatile uint8_t *bytes = (volatile uint8_t *)&pvti;
	uint64_t t0, t1, t2;
	uint32_t v0, changed = 0;

	guest_kvmclock_enable();
	t0 = guest_kvmclock_read(NULL);
	v0 = pvti.version;
	GUEST_SYNC(1, t0, v0);
	t1 = guest_kvmclock_read(NULL);
	GUEST_SYNC(2, t1, pvti.version);

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, gpa);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_SYSTEM_TIME_NEW), gpa);
	for (unsigned int i = 0; i < sizeof(pvti); i++)
		bytes[i] = 0x5a;
	GUEST_SYNC(3);
	GUEST_SYNC(4);
	for (unsigned int i = 0; i < sizeof(pvti); i++)
		changed += bytes[i] != 0x5a;
	GUEST_SYNC(5, changed);

	guest_kvmclock_enable();
	t2 = guest_kvmclock_read(NULL);
	GUEST_SYNC(6, t2);
}

#define JUMP	SEC(500)

static void set_clock_forward(struct kvm_vm *vm, int64_t by)
{
	struct kvm_clock_data cd;

	vm_ioctl(vm, KVM_GET_CLOCK, &cd);
	cd.clock += by;
	cd.flags = 0;
	vm_ioctl(vm, KVM_SET_CLOCK, &cd);
}

KVM_VCPU_TEST(kvmclock_disable_stops_updates, guest_kvmclock_disable)
{
	uint64_t gpa = (uint64_t)(uintptr_t)&pvti;
	int64_t slack = clock_slack_ns();
	uint64_t t0, t1;
	struct ucall uc;

	TEST_REQUIRE_FEATURE(X86_FEATURE_KVM_CLOCKSOURCE2);
	TEST_REQUIRE_CAP(KVM_CAP_ADJUST_CLOCK);
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 1);
	t0 = uc.args[1];
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_KVM_SYSTEM_TIME_NEW), gpa | KVM_SYSTEM_TIME_ENABLE);
	set_clock_forward(vm, JUMP);

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 2);
	t1 = uc.args[1];
	EXPECT_TRUE((int64_t)(t1 - t0 - JUMP) >= 0 && (int64_t)(t1 - t0 - JUMP) < slack) {
		TH_LOG("KVM_SET_CLOCK +%lld ns: the guest's kvmclock %lu -> %lu", JUMP, t0, t1);
	}

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 3);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_KVM_SYSTEM_TIME_NEW), gpa);
	set_clock_forward(vm, JUMP);
	vcpu_run_expect_sync(vcpu, 4);
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 5);
	EXPECT_EQ(uc.args[1], 0) {
		TH_LOG("%lu bytes of the disabled kvmclock area changed after a KVM_SET_CLOCK",
		       uc.args[1]);
	}

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 6);
	EXPECT_TRUE((int64_t)(uc.args[1] - t1 - JUMP) >= 0 &&
		    (int64_t)(uc.args[1] - t1 - JUMP) < slack) {
		TH_LOG("re-enabled kvmclock reads %lu, was %lu before a KVM_SET_CLOCK +%lld ns",
		       uc.args[1], t1, JUMP);
	}
}

TEST_HARNESS_MAIN
