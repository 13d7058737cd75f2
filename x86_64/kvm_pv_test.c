// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM's paravirtual interface to the guest (Linux 6.12 documentation):
 *  - Documentation/virt/kvm/x86/msr.rst MSR_KVM_STEAL_TIME: the guest
 *    registers a 64-byte aligned area with bit 0 set; "version" is a
 *    sequence counter the guest must see "equal and even" around a read,
 *    "flags" is "always zero", "steal" is the time the vCPU did not run,
 *    in ns, and KVM updates the area "until anything with bit0 == 0 is
 *    written".  KVM counts the vCPU thread's run-queue delay (time
 *    runnable but not running): the test keeps its vCPU thread off its CPU
 *    with a busy thread pinned to the same CPU, measures that delay from
 *    /proc/self/task/<tid>/schedstat, and the guest must see at least that
 *    much more steal, at most what the thread's run_delay grew by over
 *    both entries, never less than before.  Each vCPU has its own MSR and
 *    area: a vCPU's runs update only the area it registered.  Bits 1-5 are
 *    reserved: a write with them set is #GP (and a host KVM_SET_MSRS of it
 *    is refused).
 *  - api.rst 8.28 KVM_CAP_ENFORCE_PV_FEATURE_CPUID: with it enabled, a PV
 *    MSR or hypercall whose feature bit is clear in CPUID 0x40000001 EAX
 *    (Documentation/virt/kvm/x86/cpuid.rst) is refused: the MSR access is
 *    #GP (msr.rst's MSRs, by the feature cpuid.rst names for each), the
 *    hypercall returns -KVM_ENOSYS (hypercalls.rst); with the bit set, both
 *    work; without the cap, KVM ignores the bits.  Checked table-driven
 *    for no features, all of KVM's, each one missing alone, and no
 *    features without the cap.
 *  - api.rst 7.31 KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_FIX_HYPERCALL_INSN:
 *    by default KVM rewrites the other vendor's hypercall instruction
 *    (VMCALL on AMD, VMMCALL on Intel; hypercalls.rst) in guest memory to
 *    the native one; with the quirk disabled the guest gets #UD instead
 *    and its code is left alone.  The native instruction works either way.
 *
 * Upstream's tools/testing/selftests/kvm/steal_time.c,
 * x86_64/kvm_pv_test.c and x86_64/fix_hypercall_test.c check the same
 * ideas.  kvmclock (MSR_KVM_SYSTEM_TIME*) is only used here as a gated
 * MSR: its semantics are tsc_kvmclock_test's.
 *
 * Caught bugs: bugs/msr-cpuid-steal-time-version-odd.patch,
 *              bugs/msr-cpuid-pv-async-pf-ack-wrong-feature.patch,
 *              bugs/msr-cpuid-fix-hypercall-quirk-ignored.patch,
 *              bugs/msr-cpuid-steal-time-reserved-bits.patch
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "guest/guest.h"
#include "kvm_test_harness.h"

/* CPUID 0x40000001 EAX bits (Documentation/virt/kvm/x86/cpuid.rst). */
#define KVM_CPUID_FEATURES		0x40000001
#define KVM_FEATURE_CLOCKSOURCE		0
#define KVM_FEATURE_CLOCKSOURCE2	3
#define KVM_FEATURE_ASYNC_PF		4
#define KVM_FEATURE_STEAL_TIME		5
#define KVM_FEATURE_PV_EOI		6
#define KVM_FEATURE_PV_UNHALT		7
#define KVM_FEATURE_PV_SEND_IPI		11
#define KVM_FEATURE_POLL_CONTROL	12
#define KVM_FEATURE_PV_SCHED_YIELD	13
#define KVM_FEATURE_ASYNC_PF_INT	14

/* Documentation/virt/kvm/x86/hypercalls.rst */
#define KVM_HC_VAPIC_POLL_IRQ		1
#define KVM_HC_KICK_CPU			5
#define KVM_HC_SEND_IPI			10
#define KVM_HC_SCHED_YIELD		11
#define KVM_HC_UNKNOWN			0x7ff0	/* no such hypercall */
#define KVM_ENOSYS			1000

/* Instruction bytes (SDM vol. 2B VMCALL, APM vol. 3 VMMCALL). */
#define VMCALL_BYTES			0xc1010f	/* 0f 01 c1, little endian */
#define VMMCALL_BYTES			0xd9010f	/* 0f 01 d9 */

/* An APIC ID no vCPU has: KICK_CPU and SCHED_YIELD find no target. */
#define NO_SUCH_APIC_ID			0xfe

/* ---- guest: hypercalls ---- */

/* AMD and Hygon use VMMCALL (hypercalls.rst: "the instruction ... vendor"). */
static bool guest_cpu_is_amd(void)
{
	struct cpuid_regs r;

	cpuid_count(0, 0, &r);
	return r.ebx == 0x68747541 /* "Auth" */ || r.ebx == 0x6f677948 /* "Hygo" */;
}

struct hc_out {
	uint64_t rax;		/* the return value, or RAX as it was on a fault */
	uint8_t vector;		/* NO_VECTOR, or what the instruction raised */
	uint32_t bytes;		/* the instruction's 3 bytes after it ran */
};

/* One VMCALL or VMMCALL (native == the CPU vendor's own), faults caught. */
static struct hc_out guest_hypercall(bool vmmcall, uint64_t nr, uint64_t a0, uint64_t a1,
				     uint64_t a2, uint64_t a3)
{
	struct hc_out out = { .rax = nr };
	uint8_t *at;

	if (vmmcall)
		asm volatile("lea 1f(%%rip), %[at]\n\t" ASM_SAFE("1: vmmcall")
			     : [at] "=&r"(at), "+a"(out.rax)
			     : "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
	else
		asm volatile("lea 1f(%%rip), %[at]\n\t" ASM_SAFE("1: vmcall")
			     : [at] "=&r"(at), "+a"(out.rax)
			     : "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
	out.vector = guest_fault_vector();
	out.bytes = at[0] | at[1] << 8 | at[2] << 16;
	return out;
}

static struct hc_out guest_native_hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
					    uint64_t a3)
{
	return guest_hypercall(guest_cpu_is_amd(), nr, a0, a1, a2, a3);
}

/* ---- host helpers ---- */

static void vcpu_enable_cap(struct kvm_vcpu *vcpu, uint32_t cap, uint64_t arg0)
{
	struct kvm_enable_cap c = { .cap = cap, .args = { arg0 } };

	vcpu_ioctl(vcpu, KVM_ENABLE_CAP, &c);
}

/* The vCPU's table with CPUID 0x40000001 EAX = features. */
static void vcpu_set_pv_features(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
				 uint32_t features)
{
	size_t size = sizeof(*vcpu->cpuid) + vcpu->cpuid->nent * sizeof(vcpu->cpuid->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	struct kvm_cpuid_entry2 *e;

	ASSERT_NE(c, NULL);
	memcpy(c, vcpu->cpuid, size);
	e = cpuid_find_entry(c, KVM_CPUID_FEATURES, 0);
	ASSERT_NE(e, NULL) TH_LOG("the vCPU's CPUID has no KVM leaf 0x40000001");
	e->eax = features;
	vcpu_set_cpuid(vcpu, c);
	free(c);
}

static uint32_t kvm_pv_features(void)
{
	const struct kvm_cpuid_entry2 *e =
		cpuid_find_entry(kvm_get_supported_cpuid(), KVM_CPUID_FEATURES, 0);

	return e ? e->eax : 0;
}

/* ---- steal time ---- */

struct kvm_steal_time {
	uint64_t steal;
	uint32_t version;
	uint32_t flags;
	uint8_t preempted;
	uint8_t pad8[3];
	uint32_t pad[11];
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct kvm_steal_time) == 64, "msr.rst struct kvm_steal_time");

static struct kvm_steal_time steal_area;
/* Room for a misaligned registration: 128 bytes, 64-byte aligned. */
static uint8_t steal_spare[128] __attribute__((aligned(64)));

#define ST_ENABLE		BIT_ULL(0)

enum { ST_ENABLED = 1, ST_AFTER_STEAL, ST_DISABLED, ST_AFTER_DISABLED };

/* One read as msr.rst asks: version, steal, version again. */
static void guest_steal_report(uint64_t stage)
{
	volatile struct kvm_steal_time *st = &steal_area;
	uint32_t v1 = st->version;
	uint64_t steal = st->steal;
	uint32_t v2 = st->version;

	GUEST_SYNC(stage, v1, steal, v2, st->flags, st->preempted);
}

static void guest_steal_time(void)
{
	uint64_t gpa = (uint64_t)(uintptr_t)&steal_area;

	wrmsr(MSR_KVM_STEAL_TIME, gpa | ST_ENABLE);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_STEAL_TIME), gpa | ST_ENABLE);
	guest_steal_report(ST_ENABLED);
	guest_steal_report(ST_AFTER_STEAL);
	wrmsr(MSR_KVM_STEAL_TIME, gpa);
	guest_steal_report(ST_DISABLED);
	guest_steal_report(ST_AFTER_DISABLED);
	GUEST_DONE();
}

static pid_t gettid_(void)
{
	return syscall(SYS_gettid);
}

/* The thread's run-queue delay in ns (schedstat field 2), or -1. */
static int64_t thread_run_delay(pid_t tid)
{
	char path[64];
	unsigned long long run, delay;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fscanf(f, "%llu %llu", &run, &delay);
	fclose(f);
	return n == 2 ? (int64_t)delay : -1;
}

#define STEAL_WANT_NS		(20 * 1000 * 1000ull)	/* keep the vCPU thread off this long */
#define STEAL_BOUND_NS		(5 * 1000 * 1000 * 1000ull)

static volatile bool hog_stop;

static void *cpu_hog(void *arg)
{
	uint64_t end = now_ns() + STEAL_BOUND_NS;

	while (!hog_stop && now_ns() < end)
		;
	return NULL;
}

/*
 * Keep the calling (vCPU) thread runnable but off its CPU: a busy thread
 * pinned to the same CPU runs while this one yields, until the run-queue
 * delay grew by STEAL_WANT_NS (bounded).  Returns the growth measured.
 */
static int64_t steal_from_this_thread(struct __test_metadata *_metadata)
{
	pid_t tid = gettid_();
	int64_t start = thread_run_delay(tid), now = start;
	uint64_t deadline = now_ns() + STEAL_BOUND_NS;
	cpu_set_t set;
	pthread_attr_t attr;
	pthread_t hog;

	CPU_ZERO(&set);
	CPU_SET(sched_getcpu(), &set);
	ASSERT_EQ(sched_setaffinity(0, sizeof(set), &set), 0);
	ASSERT_EQ(pthread_attr_init(&attr), 0);
	ASSERT_EQ(pthread_attr_setaffinity_np(&attr, sizeof(set), &set), 0);
	hog_stop = false;
	ASSERT_EQ(pthread_create(&hog, &attr, cpu_hog, NULL), 0);
	while (now - start < (int64_t)STEAL_WANT_NS && now_ns() < deadline) {
		sched_yield();
		now = thread_run_delay(tid);
	}
	hog_stop = true;
	ASSERT_EQ(pthread_join(hog, NULL), 0);
	pthread_attr_destroy(&attr);
	return thread_run_delay(tid) - start;
}

struct st_report {
	uint32_t v1, v2;
	uint64_t steal;
};

static struct st_report steal_report(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
				     uint64_t stage)
{
	struct ucall uc;

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], stage);
	EXPECT_EQ(uc.args[1], uc.args[3])
		TH_LOG("stage %lu: version changed while the guest read (%lu, %lu)",
		       (unsigned long)stage, (unsigned long)uc.args[1], (unsigned long)uc.args[3]);
	EXPECT_EQ(uc.args[1] & 1, 0)
		TH_LOG("stage %lu: version %lu is odd while the vCPU runs (msr.rst: "
		       "\"make sure they are both equal and even\")",
		       (unsigned long)stage, (unsigned long)uc.args[1]);
	EXPECT_EQ(uc.args[4], 0) TH_LOG("stage %lu: flags %#lx, msr.rst: \"always zero\"",
					(unsigned long)stage, (unsigned long)uc.args[4]);
	EXPECT_EQ(uc.args[5], 0) TH_LOG("stage %lu: preempted %lu while the vCPU runs",
					(unsigned long)stage, (unsigned long)uc.args[5]);
	return (struct st_report){ uc.args[1], uc.args[3], uc.args[2] };
}

KVM_VCPU_TEST(steal_time_counts_time_off_cpu_until_disabled, guest_steal_time)
{
	struct st_report on, stolen, off, after;
	uint64_t t0, t1, gpa = (uint64_t)(uintptr_t)&steal_area;
	int64_t delay, rd0, rd1;

	TEST_REQUIRE_CAP(KVM_CAP_STEAL_TIME);
	TEST_REQUIRE_MSG(thread_run_delay(gettid_()) >= 0,
			 "no /proc/self/task/<tid>/schedstat (CONFIG_SCHED_INFO)");

	t0 = now_ns();
	rd0 = thread_run_delay(gettid_());
	on = steal_report(_metadata, vcpu, ST_ENABLED);
	EXPECT_NE(on.v1, 0) TH_LOG("version still 0: KVM did not fill the area at the next entry");
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_KVM_STEAL_TIME), gpa | ST_ENABLE);

	delay = steal_from_this_thread(_metadata);
	TEST_REQUIRE_MSG(delay >= (int64_t)STEAL_WANT_NS,
			 "the host kept this thread off its CPU for only %ld ns (wanted %llu)",
			 (long)delay, STEAL_WANT_NS);
	stolen = steal_report(_metadata, vcpu, ST_AFTER_STEAL);
	rd1 = thread_run_delay(gettid_());
	t1 = now_ns();
	TH_LOG("version %u -> %u, steal %lu -> %lu ns; thread kept off its CPU %ld ns",
	       on.v1, stolen.v1, (unsigned long)on.steal, (unsigned long)stolen.steal,
	       (long)delay);
	EXPECT_GT(stolen.v1, on.v1) TH_LOG("version did not advance over a new KVM_RUN");
	EXPECT_GE(stolen.steal, on.steal) TH_LOG("steal went backwards: %lu -> %lu",
						 (unsigned long)on.steal,
						 (unsigned long)stolen.steal);
	EXPECT_GE(stolen.steal - on.steal, (uint64_t)delay)
		TH_LOG("steal grew by %lu ns, the vCPU thread waited %ld ns for its CPU",
		       (unsigned long)(stolen.steal - on.steal), (long)delay);
	/*
	 * At most what the thread waited over both entries, in the scheduler's
	 * own clock (run_delay); under Bochs it ran 5% ahead of CLOCK_MONOTONIC.
	 */
	EXPECT_LE(stolen.steal - on.steal, (uint64_t)(rd1 - rd0))
		TH_LOG("steal grew by %lu ns while the thread's run_delay grew by %ld ns "
		       "(%lu ns of wall time)", (unsigned long)(stolen.steal - on.steal),
		       (long)(rd1 - rd0), (unsigned long)(t1 - t0));

	/* Disabled (bit 0 clear): the area must stay as it was. */
	off = steal_report(_metadata, vcpu, ST_DISABLED);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_KVM_STEAL_TIME), gpa);
	delay = steal_from_this_thread(_metadata);
	after = steal_report(_metadata, vcpu, ST_AFTER_DISABLED);
	EXPECT_EQ(after.v1, off.v1) TH_LOG("version changed after the guest disabled steal time");
	EXPECT_EQ(after.steal, off.steal)
		TH_LOG("steal changed from %lu to %lu after the guest disabled steal time "
		       "(thread kept off its CPU for %ld ns)", (unsigned long)off.steal,
		       (unsigned long)after.steal, (long)delay);
	vcpu_run_expect_done(vcpu);
}

/*
 * Per vCPU: each vCPU's MSR and area are its own.  vCPU 0 registers
 * steal_areas[0] while vCPU 1 has none; then vCPU 1 registers
 * steal_areas[1].  A vCPU's entries update only its own area.
 */
static struct kvm_steal_time steal_areas[2];

static void guest_steal_per_vcpu(void)
{
	unsigned int id = guest_vcpu_id();
	uint64_t gpa = (uint64_t)(uintptr_t)&steal_areas[id];

	if (id == 0)
		wrmsr(MSR_KVM_STEAL_TIME, gpa | ST_ENABLE);
	GUEST_SYNC(id, rdmsr(MSR_KVM_STEAL_TIME));
	GUEST_SYNC(id, rdmsr(MSR_KVM_STEAL_TIME));
	if (id == 1)
		wrmsr(MSR_KVM_STEAL_TIME, gpa | ST_ENABLE);
	GUEST_SYNC(id, rdmsr(MSR_KVM_STEAL_TIME));
	GUEST_DONE();
}

static uint32_t area_version(struct kvm_vm *vm, unsigned int i)
{
	volatile struct kvm_steal_time *st =
		addr_gva2hva(vm, (uint64_t)(uintptr_t)&steal_areas[i]);

	return st->version;
}

KVM_TEST(steal_time_is_per_vcpu)
{
	struct kvm_vcpu *vcpus[2];
	struct kvm_vm *vm;
	uint32_t v0, v1;
	struct ucall uc;

	TEST_REQUIRE_CAP(KVM_CAP_STEAL_TIME);
	vm = vm_create_with_vcpus(2, guest_steal_per_vcpu, vcpus);

	ASSERT_EQ(vcpu_run_ucall(vcpus[0], &uc), UCALL_SYNC);
	EXPECT_EQ(uc.args[1], (uint64_t)(uintptr_t)&steal_areas[0] | ST_ENABLE);
	v0 = area_version(vm, 0);
	EXPECT_NE(v0, 0) TH_LOG("vCPU 0's area not filled after its WRMSR");
	/* vCPU 1, never registered: its MSR is 0, and its runs touch no area. */
	for (unsigned int i = 0; i < 2; i++) {
		ASSERT_EQ(vcpu_run_ucall(vcpus[1], &uc), UCALL_SYNC);
		EXPECT_EQ(uc.args[0], 1);
		EXPECT_EQ(uc.args[1], 0) TH_LOG("vCPU 1's STEAL_TIME reads %#lx before it wrote it",
						(unsigned long)uc.args[1]);
	}
	EXPECT_EQ(area_version(vm, 0), v0) TH_LOG("vCPU 1's entries updated vCPU 0's area");
	EXPECT_EQ(area_version(vm, 1), 0) TH_LOG("an area nobody registered was written");
	EXPECT_EQ(vcpu_get_msr(vcpus[1], MSR_KVM_STEAL_TIME), 0);

	/* vCPU 1 registers its own: only its area moves on its entries. */
	ASSERT_EQ(vcpu_run_ucall(vcpus[1], &uc), UCALL_SYNC);
	EXPECT_EQ(uc.args[1], (uint64_t)(uintptr_t)&steal_areas[1] | ST_ENABLE);
	v1 = area_version(vm, 1);
	EXPECT_NE(v1, 0) TH_LOG("vCPU 1's area not filled after its WRMSR");
	EXPECT_EQ(v1 & 1, 0);
	vcpu_run_expect_done(vcpus[1]);
	EXPECT_GT(area_version(vm, 1), v1) TH_LOG("vCPU 1's entry did not update its area");
	v1 = area_version(vm, 1);
	EXPECT_EQ(area_version(vm, 0), v0) TH_LOG("vCPU 1's entries updated vCPU 0's area");
	EXPECT_EQ(vcpu_get_msr(vcpus[0], MSR_KVM_STEAL_TIME),
		  (uint64_t)(uintptr_t)&steal_areas[0] | ST_ENABLE);

	/* vCPU 0 again: its version moves on, vCPU 1's stays. */
	ASSERT_EQ(vcpu_run_ucall(vcpus[0], &uc), UCALL_SYNC);
	EXPECT_GT(area_version(vm, 0), v0) TH_LOG("vCPU 0's entry did not update its area");
	EXPECT_EQ(area_version(vm, 1), v1) TH_LOG("vCPU 0's entry updated vCPU 1's area");
	kvm_vm_free(vm);
}

/* Reserved bits 1-5 (a 2- or 32-byte aligned area) are #GP; the MSR keeps its value. */
static void guest_steal_time_bad(void)
{
	uint64_t base = (uint64_t)(uintptr_t)steal_spare;
	static const uint64_t bad[] = { BIT_ULL(1), BIT_ULL(3), BIT_ULL(5), 0x3e };
	uint64_t v;

	wrmsr(MSR_KVM_STEAL_TIME, base | ST_ENABLE);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		uint8_t vec = wrmsr_safe(MSR_KVM_STEAL_TIME, base | bad[i] | ST_ENABLE);

		__GUEST_ASSERT(vec == GP_VECTOR, "WRMSR(STEAL_TIME, %#lx): vector %u, want #GP",
			       (unsigned long)(base | bad[i] | ST_ENABLE), vec);
		GUEST_ASSERT_EQ(rdmsr_safe(MSR_KVM_STEAL_TIME, &v), NO_VECTOR);
		GUEST_ASSERT_EQ(v, base | ST_ENABLE);
	}
	/* 64-byte aligned is enough (bit 6 is an address bit). */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_KVM_STEAL_TIME, (base + 64) | ST_ENABLE), NO_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_STEAL_TIME), (base + 64) | ST_ENABLE);
	GUEST_DONE();
}

KVM_VCPU_TEST(steal_time_reserved_bits_are_gp, guest_steal_time_bad)
{
	uint64_t base = (uint64_t)(uintptr_t)steal_spare;

	TEST_REQUIRE_CAP(KVM_CAP_STEAL_TIME);
	vcpu_run_expect_done(vcpu);
	/* The host is held to the same rule (kvm_set_msr_common() for both). */
	EXPECT_EQ(__vcpu_set_msr(vcpu, MSR_KVM_STEAL_TIME, base | BIT_ULL(2) | ST_ENABLE), 0)
		TH_LOG("KVM_SET_MSRS took STEAL_TIME with reserved bit 2 set");
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_KVM_STEAL_TIME), (base + 64) | ST_ENABLE);
}

/* ---- KVM_CAP_ENFORCE_PV_FEATURE_CPUID ---- */

enum pv_value { PV_ZERO, PV_ONE, PV_SCRATCH };

static const struct pv_msr {
	uint32_t index;
	uint8_t feature;
	enum pv_value value;	/* what a write stores when allowed: harmless */
	const char *name;
} pv_msrs[] = {
	{ MSR_KVM_WALL_CLOCK, KVM_FEATURE_CLOCKSOURCE, PV_SCRATCH, "WALL_CLOCK" },
	{ MSR_KVM_SYSTEM_TIME, KVM_FEATURE_CLOCKSOURCE, PV_ZERO, "SYSTEM_TIME" },
	{ MSR_KVM_WALL_CLOCK_NEW, KVM_FEATURE_CLOCKSOURCE2, PV_SCRATCH, "WALL_CLOCK_NEW" },
	{ MSR_KVM_SYSTEM_TIME_NEW, KVM_FEATURE_CLOCKSOURCE2, PV_ZERO, "SYSTEM_TIME_NEW" },
	{ MSR_KVM_ASYNC_PF_EN, KVM_FEATURE_ASYNC_PF, PV_ZERO, "ASYNC_PF_EN" },
	{ MSR_KVM_STEAL_TIME, KVM_FEATURE_STEAL_TIME, PV_ZERO, "STEAL_TIME" },
	{ MSR_KVM_PV_EOI_EN, KVM_FEATURE_PV_EOI, PV_ZERO, "PV_EOI_EN" },
	{ MSR_KVM_POLL_CONTROL, KVM_FEATURE_POLL_CONTROL, PV_ONE, "POLL_CONTROL" },
	{ MSR_KVM_ASYNC_PF_INT, KVM_FEATURE_ASYNC_PF_INT, PV_ZERO, "ASYNC_PF_INT" },
	{ MSR_KVM_ASYNC_PF_ACK, KVM_FEATURE_ASYNC_PF_INT, PV_ZERO, "ASYNC_PF_ACK" },
};

#define NOT_GATED	0xff

static const struct pv_hcall {
	uint64_t nr;
	uint8_t feature;	/* NOT_GATED: no feature bit */
	uint64_t a0, a1;
	int64_t ret;		/* when allowed */
	const char *name;
} pv_hcalls[] = {
	{ KVM_HC_KICK_CPU, KVM_FEATURE_PV_UNHALT, 0, NO_SUCH_APIC_ID, 0, "KICK_CPU" },
	/* Empty destination bitmap: 0 vCPUs got the IPI. */
	{ KVM_HC_SEND_IPI, KVM_FEATURE_PV_SEND_IPI, 0, 0, 0, "SEND_IPI" },
	{ KVM_HC_SCHED_YIELD, KVM_FEATURE_PV_SCHED_YIELD, NO_SUCH_APIC_ID, 0, 0, "SCHED_YIELD" },
	{ KVM_HC_VAPIC_POLL_IRQ, NOT_GATED, 0, 0, 0, "VAPIC_POLL_IRQ" },
	{ KVM_HC_UNKNOWN, NOT_GATED, 0, 0, -KVM_ENOSYS, "(unknown)" },
};

static uint8_t pv_scratch[64] __attribute__((aligned(64)));
static uint8_t pv_rd_vec[ARRAY_SIZE(pv_msrs)], pv_wr_vec[ARRAY_SIZE(pv_msrs)];
static struct hc_out pv_hc_out[ARRAY_SIZE(pv_hcalls)];

static void guest_pv_table(void)
{
	uint64_t v;

	for (unsigned int i = 0; i < ARRAY_SIZE(pv_msrs); i++) {
		const struct pv_msr *m = &pv_msrs[i];
		uint64_t val = m->value == PV_SCRATCH ? (uint64_t)(uintptr_t)pv_scratch :
			       m->value == PV_ONE;

		pv_rd_vec[i] = rdmsr_safe(m->index, &v);
		pv_wr_vec[i] = wrmsr_safe(m->index, val);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(pv_hcalls); i++)
		pv_hc_out[i] = guest_native_hypercall(pv_hcalls[i].nr, pv_hcalls[i].a0,
						      pv_hcalls[i].a1, 0, 0);
	GUEST_DONE();
}

/* One VM: CPUID 0x40000001 EAX = features, the cap on or off; every access checked. */
static void check_pv_config(struct __test_metadata *_metadata, bool enforce, uint32_t features,
			    uint32_t supported)
{
	struct kvm_vm *vm = vm_create_opts(&(struct vm_opts){ .irqchip = true });
	struct kvm_vcpu *vcpu = vm_vcpu_add(vm, 0, guest_pv_table);

	vcpu_set_pv_features(_metadata, vcpu, features);
	if (enforce)
		vcpu_enable_cap(vcpu, KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1);
	vcpu_run_expect_done(vcpu);
	sync_global_from_guest(vm, pv_rd_vec);
	sync_global_from_guest(vm, pv_wr_vec);
	sync_global_from_guest(vm, pv_hc_out);

	for (unsigned int i = 0; i < ARRAY_SIZE(pv_msrs); i++) {
		const struct pv_msr *m = &pv_msrs[i];
		bool has = features & BIT(m->feature);
		uint8_t want = enforce && !has ? GP_VECTOR : NO_VECTOR;

		/* A feature this KVM lacks may fail even when "present". */
		if (!(supported & BIT(m->feature)) && want == NO_VECTOR)
			continue;
		EXPECT_EQ(pv_rd_vec[i], want)
			TH_LOG("RDMSR %s (%#x), feature bit %u %s, cap %s: vector %u, want %u",
			       m->name, m->index, m->feature, has ? "set" : "clear",
			       enforce ? "on" : "off", pv_rd_vec[i], want);
		EXPECT_EQ(pv_wr_vec[i], want)
			TH_LOG("WRMSR %s (%#x), feature bit %u %s, cap %s: vector %u, want %u",
			       m->name, m->index, m->feature, has ? "set" : "clear",
			       enforce ? "on" : "off", pv_wr_vec[i], want);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(pv_hcalls); i++) {
		const struct pv_hcall *h = &pv_hcalls[i];
		bool gated = h->feature != NOT_GATED;
		bool has = gated && features & BIT(h->feature);
		int64_t want = enforce && gated && !has ? -KVM_ENOSYS : h->ret;

		if (gated && !(supported & BIT(h->feature)) && want != -KVM_ENOSYS)
			continue;
		EXPECT_EQ(pv_hc_out[i].vector, NO_VECTOR)
			TH_LOG("hypercall %s raised vector %u", h->name, pv_hc_out[i].vector);
		EXPECT_EQ((int64_t)pv_hc_out[i].rax, want)
			TH_LOG("hypercall %s, feature bit %d %s, cap %s: returned %ld, want %ld",
			       h->name, gated ? h->feature : -1, has ? "set" : "clear",
			       enforce ? "on" : "off", (long)pv_hc_out[i].rax, (long)want);
	}
	kvm_vm_free(vm);
}

KVM_TEST(pv_msrs_and_hypercalls_follow_pv_cpuid_when_enforced)
{
	uint32_t supported = kvm_pv_features(), done = 0;

	TEST_REQUIRE_CAP(KVM_CAP_ENFORCE_PV_FEATURE_CPUID);
	TEST_REQUIRE_MSG(supported, "KVM_GET_SUPPORTED_CPUID has no KVM leaf 0x40000001");

	TH_LOG("KVM's PV features: %#x", supported);
	check_pv_config(_metadata, false, 0, supported);
	check_pv_config(_metadata, true, 0, supported);
	check_pv_config(_metadata, true, supported, supported);
	/* Each feature missing alone: exactly its MSRs and hypercalls refused. */
	for (unsigned int i = 0; i < ARRAY_SIZE(pv_msrs) + ARRAY_SIZE(pv_hcalls); i++) {
		uint8_t f = i < ARRAY_SIZE(pv_msrs) ? pv_msrs[i].feature :
			    pv_hcalls[i - ARRAY_SIZE(pv_msrs)].feature;

		if (f == NOT_GATED || !(supported & BIT(f)) || done & BIT(f))
			continue;
		done |= BIT(f);
		check_pv_config(_metadata, true, supported & ~BIT(f), supported);
	}
}

/* ---- KVM_X86_QUIRK_FIX_HYPERCALL_INSN ---- */

static void guest_fix_hypercall(void)
{
	bool amd = guest_cpu_is_amd();
	struct hc_out wrong, native;

	/* The other vendor's instruction first, then the native one. */
	wrong = guest_hypercall(!amd, KVM_HC_UNKNOWN, 0, 0, 0, 0);
	GUEST_SYNC(1, wrong.vector, wrong.rax, wrong.bytes, amd);
	native = guest_hypercall(amd, KVM_HC_UNKNOWN, 0, 0, 0, 0);
	GUEST_SYNC(2, native.vector, native.rax, native.bytes, amd);
}

static void check_fix_hypercall(struct __test_metadata *_metadata, bool quirk)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *vcpu;
	uint32_t native_bytes, wrong_bytes;
	struct ucall uc;
	bool amd;

	if (!quirk)
		vm_enable_cap(vm, KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_FIX_HYPERCALL_INSN);
	vcpu = vm_vcpu_add(vm, 0, guest_fix_hypercall);

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 1);
	amd = uc.args[4];
	native_bytes = amd ? VMMCALL_BYTES : VMCALL_BYTES;
	wrong_bytes = amd ? VMCALL_BYTES : VMMCALL_BYTES;
	if (quirk) {
		EXPECT_EQ(uc.args[1], NO_VECTOR)
			TH_LOG("%s with the quirk on: vector %lu, want the call patched",
			       amd ? "VMCALL" : "VMMCALL", (unsigned long)uc.args[1]);
		EXPECT_EQ((int64_t)uc.args[2], -KVM_ENOSYS)
			TH_LOG("wrong-vendor hypercall returned %ld", (long)uc.args[2]);
		EXPECT_EQ(uc.args[3], native_bytes)
			TH_LOG("guest code after the call: %06lx, want the native %06x",
			       (unsigned long)uc.args[3], native_bytes);
	} else {
		EXPECT_EQ(uc.args[1], UD_VECTOR)
			TH_LOG("%s with KVM_X86_QUIRK_FIX_HYPERCALL_INSN disabled: vector %lu, "
			       "want #UD", amd ? "VMCALL" : "VMMCALL", (unsigned long)uc.args[1]);
		EXPECT_EQ(uc.args[2], KVM_HC_UNKNOWN) TH_LOG("RAX changed by a #UD");
		EXPECT_EQ(uc.args[3], wrong_bytes)
			TH_LOG("guest code after the #UD: %06lx, want it untouched (%06x)",
			       (unsigned long)uc.args[3], wrong_bytes);
	}

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], 2);
	EXPECT_EQ(uc.args[1], NO_VECTOR) TH_LOG("native hypercall raised vector %lu",
						(unsigned long)uc.args[1]);
	EXPECT_EQ((int64_t)uc.args[2], -KVM_ENOSYS);
	EXPECT_EQ(uc.args[3], native_bytes) TH_LOG("native hypercall rewritten to %06lx",
						   (unsigned long)uc.args[3]);
	kvm_vm_free(vm);
}

KVM_TEST(wrong_vendor_hypercall_patched_only_with_quirk)
{
	TEST_REQUIRE_CAP(KVM_CAP_DISABLE_QUIRKS2);
	TEST_REQUIRE_MSG(kvm_check_cap(KVM_CAP_DISABLE_QUIRKS2) &
			 KVM_X86_QUIRK_FIX_HYPERCALL_INSN,
			 "KVM_CAP_DISABLE_QUIRKS2 lacks KVM_X86_QUIRK_FIX_HYPERCALL_INSN");
	check_fix_hypercall(_metadata, true);
	check_fix_hypercall(_metadata, false);
}

TEST_HARNESS_MAIN
