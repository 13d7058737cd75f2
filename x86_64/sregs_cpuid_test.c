// SPDX-License-Identifier: GPL-2.0-only
/*
 * Special registers against the vCPU model, and the ioctls that describe
 * the model (CPUID tables, MSR lists):
 *  - KVM_GET/SET_SREGS2 (api.rst 4.131/4.132, KVM_CAP_SREGS2): the fields
 *    KVM_GET_SREGS has are the same, a round trip changes nothing, unknown
 *    flags and KVM_SREGS2_FLAGS_PDPTRS_VALID outside PAE paging are EINVAL.
 *    In PAE paging the four PDPTRs are registers (SDM vol. 3A 4.4.1: loaded
 *    from the table CR3 points to when CR3 is loaded): KVM_SET_SREGS loads
 *    them from guest memory, KVM_SET_SREGS2 with PDPTRS_VALID takes the
 *    caller's values instead of memory's, and KVM_GET_SREGS2 reports them
 *    with PDPTRS_VALID.
 *  - KVM_SET_SREGS refuses a CR4 bit whose feature the vCPU's CPUID lacks
 *    (SDM vol. 3A 2.5: "setting a reserved bit" / a bit of an unsupported
 *    feature in CR4 is #GP(0) on MOV to CR4; KVM x86.c/regs.c
 *    kvm_is_valid_sregs() applies the guest's CPUID, api.rst KVM_SET_SREGS)
 *    with EINVAL and the state unchanged; with the feature in the vCPU's
 *    CPUID the same CR4 is accepted; reserved bits never are.  The guest's
 *    own MOV to CR4 of such a bit is #GP(0) (SDM vol. 2B MOV to CR).
 *  - KVM_GET_SUPPORTED_CPUID / KVM_GET_EMULATED_CPUID (api.rst 4.46/4.88):
 *    too few entries is E2BIG; too many is success with nent set to the
 *    table's size; KVM_SET_CPUID2 after KVM_RUN takes only the identical
 *    table (api.rst 4.20 caveat): one leaf fewer or more is EINVAL.
 *  - MSRs (api.rst 4.3/4.18/4.19): KVM_GET_MSR_INDEX_LIST and
 *    KVM_GET_MSR_FEATURE_INDEX_LIST answer E2BIG with nmsrs set to the
 *    count; every MSR of the index list is read by KVM_GET_MSRS on a vCPU
 *    with the supported CPUID, and writing back each value read is
 *    accepted and leaves the value as it was (what migration relies on);
 *    every feature MSR is read by the system KVM_GET_MSRS; KVM_GET_MSRS and
 *    KVM_SET_MSRS stop at an unknown index and return how many they did.
 * kvm_run's synced registers are sync_regs_test.c's.
 * Upstream's selftests with these ideas: x86_64/set_sregs_test.c,
 * x86_64/cpuid_test.c, x86_64/get_msr_index_features.c.
 *
 * Caught bugs: bugs/regs-sregs2-pdptrs-ignored.patch,
 *              bugs/msr-cpuid-cr4-smep-ignores-cpuid.patch
 */
#include "guest/guest.h"
#include "kvm_test_harness.h"

#define UNKNOWN_MSR	0x2ff00000
/* Room for more CPUID entries than KVM_MAX_CPUID_ENTRIES (256, asm/kvm_host.h). */
#define KVM_MAX_CPUID_ENTRIES_PLUS	300

static void guest_sync_loop(void)
{
	for (uint64_t i = 0;; i++)
		GUEST_SYNC(i);
}

/* ---- KVM_GET/SET_SREGS2 ---- */

/* The fields both structures have: everything before kvm_sregs.interrupt_bitmap. */
#define SREGS_COMMON	offsetof(struct kvm_sregs, interrupt_bitmap)
_Static_assert(offsetof(struct kvm_sregs2, flags) == SREGS_COMMON, "kvm_sregs2 layout");

static int __vcpu_sregs2_get(struct kvm_vcpu *vcpu, struct kvm_sregs2 *s)
{
	return __vcpu_ioctl(vcpu, KVM_GET_SREGS2, s);
}

static int __vcpu_sregs2_set(struct kvm_vcpu *vcpu, struct kvm_sregs2 *s)
{
	return __vcpu_ioctl(vcpu, KVM_SET_SREGS2, s);
}

KVM_VCPU_TEST(sregs2_round_trip_and_flags, guest_sync_loop)
{
	struct kvm_sregs2 s2, got, bad;
	struct kvm_sregs s;

	TEST_REQUIRE_CAP(KVM_CAP_SREGS2);
	vcpu_run_expect_sync(vcpu, 0);
	vcpu_sregs_get(vcpu, &s);
	ASSERT_EQ(__vcpu_sregs2_get(vcpu, &s2), 0) TH_LOG("KVM_GET_SREGS2: %s", strerror(errno));
	EXPECT_EQ(memcmp(&s, &s2, SREGS_COMMON), 0) TH_LOG("KVM_GET_SREGS and _SREGS2 differ");
	/* 64-bit mode is not PAE paging (EFER.LMA=1): no PDPTRs (SDM vol. 3A 4.1.1). */
	EXPECT_EQ(s2.flags, 0);

	s2.cr2 = 0x4444000ULL;
	ASSERT_EQ(__vcpu_sregs2_set(vcpu, &s2), 0) TH_LOG("KVM_SET_SREGS2: %s", strerror(errno));
	ASSERT_EQ(__vcpu_sregs2_get(vcpu, &got), 0);
	EXPECT_EQ(memcmp(&s2, &got, sizeof(got)), 0) TH_LOG("KVM_GET_SREGS2 after the set");

	bad = s2;
	bad.flags = 2;
	EXPECT_EQ(__vcpu_sregs2_set(vcpu, &bad), -1) TH_LOG("unknown flag 2 accepted");
	EXPECT_EQ(errno, EINVAL);
	bad.flags = 1ULL << 63;
	EXPECT_EQ(__vcpu_sregs2_set(vcpu, &bad), -1) TH_LOG("unknown flag bit 63 accepted");
	EXPECT_EQ(errno, EINVAL);
	bad.flags = KVM_SREGS2_FLAGS_PDPTRS_VALID;
	bad.pdptrs[0] = 0x1001;
	EXPECT_EQ(__vcpu_sregs2_set(vcpu, &bad), -1)
		TH_LOG("PDPTRS_VALID accepted in 64-bit mode");
	EXPECT_EQ(errno, EINVAL);
	bad.cr2 = 0x5555000ULL;
	ASSERT_EQ(__vcpu_sregs2_get(vcpu, &got), 0);
	EXPECT_EQ(memcmp(&s2, &got, sizeof(got)), 0) TH_LOG("state changed by refused calls");

	/* The guest runs on with the state set. */
	vcpu_run_expect_sync(vcpu, 1);
}

/* PDPTEs: present, pointing at a page, no reserved bit (SDM vol. 3A 4.4.1, table 4-8). */
static void pae_sregs(struct kvm_vcpu *vcpu, uint64_t cr3, struct kvm_sregs *s)
{
	vcpu_sregs_get(vcpu, s);
	s->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	s->cr4 = X86_CR4_PAE;
	s->efer = 0;
	s->cr3 = cr3;
	s->cs.l = 0;
	s->cs.db = 1;
}

KVM_VCPU_TEST(sregs2_pdptrs_in_pae_mode, guest_sync_loop)
{
	uint64_t pdpt = vm_phys_alloc_low(vm, 1), dirs = vm_phys_alloc_low(vm, 8);
	uint64_t *mem = addr_gpa2hva(vm, pdpt);
	uint64_t from_mem[4], from_host[4];
	struct kvm_sregs2 s2;
	struct kvm_sregs s;

	TEST_REQUIRE_CAP(KVM_CAP_SREGS2);
	for (unsigned int i = 0; i < 4; i++) {
		from_mem[i] = (dirs + i * PAGE_SIZE) | PTE_PRESENT;
		from_host[i] = (dirs + (4 + i) * PAGE_SIZE) | PTE_PRESENT;
		mem[i] = from_mem[i];
	}

	/* KVM_SET_SREGS in PAE paging loads the PDPTRs from memory at CR3. */
	pae_sregs(vcpu, pdpt, &s);
	/* A KVM whose guests run only in 64-bit mode (kvm_pvm) has no PAE paging to test. */
	if (__vcpu_sregs_set(vcpu, &s))
		SKIP(return, "KVM_SET_SREGS refuses 32-bit PAE paging (CR0 %#llx CR4 %#llx EFER 0): %s",
		     s.cr0, s.cr4, strerror(errno));
	ASSERT_EQ(__vcpu_sregs2_get(vcpu, &s2), 0);
	EXPECT_EQ(s2.flags, KVM_SREGS2_FLAGS_PDPTRS_VALID) TH_LOG("KVM_GET_SREGS2 in PAE paging");
	for (unsigned int i = 0; i < 4; i++) {
		EXPECT_EQ(s2.pdptrs[i], from_mem[i]) TH_LOG("PDPTR %u after KVM_SET_SREGS", i);
	}

	/* KVM_SET_SREGS2 with PDPTRS_VALID: the caller's PDPTRs, not memory's. */
	memcpy(s2.pdptrs, from_host, sizeof(from_host));
	ASSERT_EQ(__vcpu_sregs2_set(vcpu, &s2), 0) TH_LOG("KVM_SET_SREGS2 with PDPTRs: %s",
							  strerror(errno));
	memset(&s2, 0, sizeof(s2));
	ASSERT_EQ(__vcpu_sregs2_get(vcpu, &s2), 0);
	EXPECT_EQ(s2.flags, KVM_SREGS2_FLAGS_PDPTRS_VALID);
	for (unsigned int i = 0; i < 4; i++) {
		EXPECT_EQ(s2.pdptrs[i], from_host[i])
			TH_LOG("PDPTR %u after KVM_SET_SREGS2 with PDPTRS_VALID (memory has %#lx)",
			       i, from_mem[i]);
	}
	/* Memory is untouched: the PDPTRs are registers, not the table. */
	for (unsigned int i = 0; i < 4; i++) {
		EXPECT_EQ(mem[i], from_mem[i]);
	}

	/* Without the flag, KVM_SET_SREGS2 loads them from memory again, as a CR3 load does. */
	s2.flags = 0;
	ASSERT_EQ(__vcpu_sregs2_set(vcpu, &s2), 0);
	ASSERT_EQ(__vcpu_sregs2_get(vcpu, &s2), 0);
	for (unsigned int i = 0; i < 4; i++) {
		EXPECT_EQ(s2.pdptrs[i], from_mem[i]) TH_LOG("PDPTR %u after KVM_SET_SREGS2 "
							     "without PDPTRS_VALID", i);
	}
}

/* ---- CR4 against the vCPU's CPUID ---- */

struct cr4_case {
	const char *what;
	uint64_t bit;
	struct x86_feature feature;
};

static const struct cr4_case cr4_cases[] = {
	{ "OSXSAVE (XSAVE)", X86_CR4_OSXSAVE, X86_FEATURE_XSAVE },
	{ "SMEP", X86_CR4_SMEP, X86_FEATURE_SMEP },
	{ "SMAP", X86_CR4_SMAP, X86_FEATURE_SMAP },
	{ "UMIP", X86_CR4_UMIP, X86_FEATURE_UMIP },
	{ "FSGSBASE", X86_CR4_FSGSBASE, X86_FEATURE_FSGSBASE },
	{ "PKE (PKU)", X86_CR4_PKE, X86_FEATURE_PKU },
	{ "LA57", X86_CR4_LA57, X86_FEATURE_LA57 },
	{ "PCIDE (PCID)", X86_CR4_PCIDE, X86_FEATURE_PCID },
	{ "VMXE (VMX)", X86_CR4_VMXE, X86_FEATURE_VMX },
	{ "SMXE (SMX)", X86_CR4_SMXE, X86_FEATURE_SMX },
};

/* Reserved in CR4 on every CPU (SDM vol. 3A 2.5: bit 15, bits 63:32). */
static const uint64_t cr4_reserved[] = { BIT(15), 1ULL << 32, 1ULL << 63 };

/* The register of a CPUID entry that holds feature f. */
static uint32_t *cpuid_entry_reg(struct kvm_cpuid_entry2 *e, struct x86_feature f)
{
	uint32_t *r[] = { &e->eax, &e->ebx, &e->ecx, &e->edx };

	return r[f.reg];
}

static struct kvm_cpuid2 *cpuid_with(struct x86_feature f, bool on)
{
	const struct kvm_cpuid2 *sup = kvm_get_supported_cpuid();
	struct kvm_cpuid2 *c = kvm_cpuid2_alloc(sup->nent);
	struct kvm_cpuid_entry2 *e;

	memcpy(c->entries, sup->entries, sup->nent * sizeof(c->entries[0]));
	e = cpuid_find_entry(c, f.leaf, f.index);
	if (!e)
		return c;	/* no such leaf: the feature is absent either way */
	if (on)
		*cpuid_entry_reg(e, f) |= BIT(f.bit);
	else
		*cpuid_entry_reg(e, f) &= ~BIT(f.bit);
	return c;
}

/* KVM_SET_SREGS with CR4 = base | bit must fail with EINVAL and change nothing. */
static void expect_cr4_refused(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
			       const struct kvm_sregs *base, uint64_t bit, const char *what)
{
	struct kvm_sregs s = *base, got;

	s.cr4 |= bit;
	EXPECT_EQ(__vcpu_sregs_set(vcpu, &s), -1)
		TH_LOG("%s: CR4 %#llx accepted", what, s.cr4);
	EXPECT_EQ(errno, EINVAL) TH_LOG("%s", what);
	vcpu_sregs_get(vcpu, &got);
	EXPECT_EQ(memcmp(&got, base, sizeof(got)), 0)
		TH_LOG("%s: state changed by the refused call, CR4 now %#llx", what, got.cr4);
}

KVM_VCPU_TEST(cr4_bits_follow_the_vcpu_cpuid, guest_sync_loop)
{
	struct kvm_sregs orig, base, got;

	vcpu_sregs_get(vcpu, &orig);
	for (unsigned int i = 0; i < ARRAY_SIZE(cr4_cases); i++) {
		const struct cr4_case *c = &cr4_cases[i];
		struct kvm_cpuid2 *cpuid;

		/* The feature absent from the vCPU's CPUID: the bit is refused. */
		cpuid = cpuid_with(c->feature, false);
		vcpu_set_cpuid(vcpu, cpuid);
		free(cpuid);
		base = orig;
		base.cr4 &= ~c->bit;
		ASSERT_EQ(__vcpu_sregs_set(vcpu, &base), 0)
			TH_LOG("%s: CR4 %#llx without the bit refused", c->what, base.cr4);
		expect_cr4_refused(_metadata, vcpu, &base, c->bit, c->what);

		/* Present (where KVM can offer it at all): the same CR4 is accepted. */
		if (!kvm_cpu_has(c->feature)) {
			TH_LOG("%s: not in KVM_GET_SUPPORTED_CPUID, only the refusal checked",
			       c->what);
			continue;
		}
		cpuid = cpuid_with(c->feature, true);
		vcpu_set_cpuid(vcpu, cpuid);
		free(cpuid);
		base.cr4 |= c->bit;
		EXPECT_EQ(__vcpu_sregs_set(vcpu, &base), 0)
			TH_LOG("%s in CPUID: CR4 %#llx refused, errno %d", c->what, base.cr4, errno);
		vcpu_sregs_get(vcpu, &got);
		EXPECT_EQ(got.cr4, base.cr4) TH_LOG("%s: KVM_GET_SREGS CR4", c->what);
	}

	/* Reserved bits: refused with every feature KVM offers in the vCPU's CPUID. */
	vcpu_set_cpuid(vcpu, kvm_get_supported_cpuid());
	ASSERT_EQ(__vcpu_sregs_set(vcpu, &orig), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(cr4_reserved); i++) {
		char what[48];

		snprintf(what, sizeof(what), "reserved CR4 bit %u", __builtin_ctzll(cr4_reserved[i]));
		expect_cr4_refused(_metadata, vcpu, &orig, cr4_reserved[i], what);
	}
	vcpu_run_expect_sync(vcpu, 0);
}

/*
 * The guest's MOV to CR4 follows the same rule: #GP(0) and CR4 unchanged
 * (SDM vol. 2B MOV to/from Control Registers, "Protected Mode Exceptions")
 * for a bit whose feature the vCPU's CPUID lacks.  One vCPU without all of
 * them (XSAVE stays: the guest's runtime state may use it).
 */
static uint64_t guest_cr4_bits[ARRAY_SIZE(cr4_cases)];
static uint32_t nr_guest_cr4_bits;

static void guest_mov_cr4(void)
{
	uint64_t cr4 = get_cr4();

	for (uint32_t i = 0; i < nr_guest_cr4_bits; i++) {
		uint64_t v = cr4 | guest_cr4_bits[i];
		uint8_t vec;

		asm volatile(ASM_SAFE("mov %0, %%cr4") :: "r"(v) : "memory");
		vec = guest_fault_vector();
		if (vec != GP_VECTOR)
			GUEST_FAIL("MOV to CR4 of %#lx (bit %#lx, feature not in CPUID): vector %u, "
				   "not #GP; CR4 now %#lx", v, guest_cr4_bits[i], vec, get_cr4());
		GUEST_ASSERT_EQ(guest_fault_error_code(), 0);
		GUEST_ASSERT_EQ(get_cr4(), cr4);
	}
	GUEST_DONE();
}

KVM_VCPU_TEST(guest_mov_cr4_follows_the_cpuid, guest_mov_cr4)
{
	const struct kvm_cpuid2 *sup = kvm_get_supported_cpuid();
	struct kvm_cpuid2 *c = kvm_cpuid2_alloc(sup->nent);

	memcpy(c->entries, sup->entries, sup->nent * sizeof(c->entries[0]));
	for (unsigned int i = 0; i < ARRAY_SIZE(cr4_cases); i++) {
		const struct cr4_case *k = &cr4_cases[i];
		struct kvm_cpuid_entry2 *e = cpuid_find_entry(c, k->feature.leaf, k->feature.index);

		if (k->bit == X86_CR4_OSXSAVE)
			continue;
		if (e)
			*cpuid_entry_reg(e, k->feature) &= ~BIT(k->feature.bit);
		guest_cr4_bits[nr_guest_cr4_bits++] = k->bit;
	}
	vcpu_set_cpuid(vcpu, c);
	sync_global_to_guest(vm, guest_cr4_bits);
	sync_global_to_guest(vm, nr_guest_cr4_bits);
	vcpu_run_expect_done(vcpu);
	free(c);
}

/* ---- CPUID tables ---- */

static int get_system_cpuid(unsigned long ioctl_nr, struct kvm_cpuid2 *c)
{
	return ioctl(kvm_dev_fd(), ioctl_nr, c);
}

static void check_system_cpuid_sizes(struct __test_metadata *_metadata, unsigned long ioctl_nr,
				     const char *name)
{
	struct kvm_cpuid2 *big = kvm_cpuid2_alloc(KVM_MAX_CPUID_ENTRIES_PLUS), *c;
	uint32_t n;

	/* More room than the table needs (even more than KVM's 256): nent becomes its size. */
	big->nent = KVM_MAX_CPUID_ENTRIES_PLUS;
	ASSERT_EQ(get_system_cpuid(ioctl_nr, big), 0) TH_LOG("%s: %s", name, strerror(errno));
	n = big->nent;
	ASSERT_GT(n, 0);
	ASSERT_LE(n, 256) TH_LOG("%s: nent %u", name, n);

	/*
	 * Exactly enough: the same table.  KVM_GET_EMULATED_CPUID refuses
	 * that in Linux 6.12 (cpuid.c __do_cpuid_func_emulated() wants room
	 * for an entry before it knows a leaf has none): logged, not checked.
	 */
	c = kvm_cpuid2_alloc(n);
	if (get_system_cpuid(ioctl_nr, c)) {
		if (ioctl_nr == KVM_GET_EMULATED_CPUID && errno == E2BIG)
			TH_LOG("%s with nent %u, the size of its table: E2BIG (KVM deviation "
			       "from api.rst, not checked)", name, n);
		else
			EXPECT_EQ(errno, 0) TH_LOG("%s with nent %u: %s", name, n,
						   strerror(errno));
	} else {
		EXPECT_EQ(c->nent, n);
		EXPECT_EQ(memcmp(c->entries, big->entries, n * sizeof(c->entries[0])), 0)
			TH_LOG("%s: two calls, two tables", name);
	}
	free(c);

	/* One too few, and none: E2BIG (api.rst 4.46). */
	c = kvm_cpuid2_alloc(n - 1);
	EXPECT_EQ(get_system_cpuid(ioctl_nr, c), -1) TH_LOG("%s with nent %u of %u", name, n - 1, n);
	EXPECT_EQ(errno, E2BIG);
	c->nent = 0;
	EXPECT_EQ(get_system_cpuid(ioctl_nr, c), -1) TH_LOG("%s with nent 0", name);
	EXPECT_EQ(errno, E2BIG);
	free(c);
	free(big);
}

KVM_TEST(system_cpuid_tables_e2big_and_nent)
{
	kvm_dev_fd();
	check_system_cpuid_sizes(_metadata, KVM_GET_SUPPORTED_CPUID, "KVM_GET_SUPPORTED_CPUID");
	if (!kvm_check_cap(KVM_CAP_EXT_EMUL_CPUID))
		SKIP(return, "KVM does not support KVM_CAP_EXT_EMUL_CPUID (KVM_GET_EMULATED_CPUID)");
	check_system_cpuid_sizes(_metadata, KVM_GET_EMULATED_CPUID, "KVM_GET_EMULATED_CPUID");
}

KVM_VCPU_TEST(set_cpuid2_after_run_needs_the_same_table, guest_sync_loop)
{
	struct kvm_cpuid2 *now, *fewer, *more;
	int rc;

	vcpu_run_expect_sync(vcpu, 0);
	now = vcpu_get_cpuid(vcpu);
	ASSERT_GT(now->nent, 1);

	/* The last leaf dropped. */
	fewer = kvm_cpuid2_alloc(now->nent - 1);
	memcpy(fewer->entries, now->entries, fewer->nent * sizeof(now->entries[0]));
	rc = __vcpu_set_cpuid(vcpu, fewer);
	EXPECT_EQ(rc, -1) TH_LOG("KVM_SET_CPUID2 with one leaf fewer accepted after KVM_RUN");
	if (rc == -1)
		EXPECT_EQ(errno, EINVAL);

	/* A leaf added. */
	more = kvm_cpuid2_alloc(now->nent + 1);
	memcpy(more->entries, now->entries, now->nent * sizeof(now->entries[0]));
	more->entries[now->nent] = (struct kvm_cpuid_entry2){ .function = 0x40000123,
							      .eax = 0x1234 };
	rc = __vcpu_set_cpuid(vcpu, more);
	EXPECT_EQ(rc, -1) TH_LOG("KVM_SET_CPUID2 with one leaf more accepted after KVM_RUN");
	if (rc == -1)
		EXPECT_EQ(errno, EINVAL);

	/* The identical table is still fine, and the vCPU runs on. */
	EXPECT_EQ(__vcpu_set_cpuid(vcpu, now), 0) TH_LOG("errno %d", errno);
	free(fewer);
	fewer = vcpu_get_cpuid(vcpu);
	EXPECT_EQ(fewer->nent, now->nent);
	vcpu_run_expect_sync(vcpu, 1);
	free(now);
	free(fewer);
	free(more);
}

/* ---- MSR lists ---- */

/* A list ioctl's E2BIG with nmsrs set to the count (x86.c), then the list. */
static struct kvm_msr_list *msr_list_get(struct __test_metadata *_metadata,
					 unsigned long ioctl_nr, const char *name)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	uint32_t n;

	EXPECT_EQ(ioctl(kvm_dev_fd(), ioctl_nr, &probe), -1) TH_LOG("%s with nmsrs 0", name);
	EXPECT_EQ(errno, E2BIG) TH_LOG("%s with nmsrs 0", name);
	n = probe.nmsrs;
	if (n > 1) {
		list = calloc(1, sizeof(*list) + n * sizeof(list->indices[0]));
		list->nmsrs = n - 1;
		EXPECT_EQ(ioctl(kvm_dev_fd(), ioctl_nr, list), -1)
			TH_LOG("%s with nmsrs %u of %u", name, n - 1, n);
		EXPECT_EQ(errno, E2BIG);
		EXPECT_EQ(list->nmsrs, n) TH_LOG("%s: nmsrs after E2BIG", name);
		free(list);
	}
	list = calloc(1, sizeof(*list) + (n + 1) * sizeof(list->indices[0]));
	TEST_ASSERT(list, "out of memory");
	list->nmsrs = n + 1;
	EXPECT_EQ(ioctl(kvm_dev_fd(), ioctl_nr, list), 0) TH_LOG("%s: %s", name, strerror(errno));
	EXPECT_EQ(list->nmsrs, n) TH_LOG("%s: nmsrs with room for one more", name);
	list->nmsrs = n;
	return list;
}

static struct kvm_msrs *msrs_alloc(const struct kvm_msr_list *list)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + list->nmsrs * sizeof(m->entries[0]));

	TEST_ASSERT(m, "out of memory");
	m->nmsrs = list->nmsrs;
	for (uint32_t i = 0; i < list->nmsrs; i++)
		m->entries[i].index = list->indices[i];
	return m;
}

/*
 * MSRs that change by themselves between two reads: the TSC, and Hyper-V's
 * VP runtime and reference time counters (TLFS: HV_X64_MSR_VP_RUNTIME,
 * HV_X64_MSR_TIME_REF_COUNT).
 */
static bool msr_moves(uint32_t index)
{
	return index == MSR_IA32_TSC || index == 0x40000010 || index == 0x40000020;
}

/*
 * With the in-kernel irqchip, as a VMM has it: without one KVM refuses even
 * the 0 it reads from MSR_KVM_ASYNC_PF_INT (x86.c kvm_pv_enable_async_pf_int()
 * needs an in-kernel LAPIC), seen in the lane.
 */
KVM_TEST(msr_index_list_read_and_written_back)
{
	struct kvm_msr_list *list = msr_list_get(_metadata, KVM_GET_MSR_INDEX_LIST,
						  "KVM_GET_MSR_INDEX_LIST");
	struct kvm_vm *vm = vm_create_opts(&(struct vm_opts){ .irqchip = true });
	struct kvm_vcpu *vcpu = vm_vcpu_add(vm, 0, guest_sync_loop);
	struct kvm_msrs *got;
	uint32_t n = 0;
	int r;

	ASSERT_GT(list->nmsrs, 0);
	vcpu_run_expect_sync(vcpu, 0);
	vcpu_complete_io(vcpu);

	/* api.rst 4.18: the count read; all of them for the MSRs KVM lists. */
	got = msrs_alloc(list);
	r = ioctl(vcpu->fd, KVM_GET_MSRS, got);
	EXPECT_EQ(r, (int)list->nmsrs) TH_LOG("KVM_GET_MSRS of the %u listed MSRs", list->nmsrs);
	/* One by one, so that one unreadable MSR does not hide the others. */
	for (uint32_t i = 0; i < list->nmsrs; i++) {
		uint64_t v;

		if (__vcpu_get_msr(vcpu, list->indices[i], &v) != 1) {
			TH_LOG("MSR %#x of KVM_GET_MSR_INDEX_LIST: KVM_GET_MSRS reads 0 MSRs",
			       list->indices[i]);
			continue;
		}
		got->entries[n++] = (struct kvm_msr_entry){ .index = list->indices[i], .data = v };
	}
	got->nmsrs = n;

	/* Writing back what was read is accepted (api.rst 4.19: 1 MSR set), each one... */
	for (uint32_t i = 0; i < n; i++) {
		EXPECT_EQ(__vcpu_set_msr(vcpu, got->entries[i].index, got->entries[i].data), 1)
			TH_LOG("MSR %#x: KVM_SET_MSRS refuses %#llx, the value KVM_GET_MSRS "
			       "returned", got->entries[i].index,
			       (unsigned long long)got->entries[i].data);
	}
	/* ...and changes nothing. */
	for (uint32_t i = 0; i < n; i++) {
		uint64_t v = 0;

		if (msr_moves(got->entries[i].index))
			continue;
		EXPECT_EQ(__vcpu_get_msr(vcpu, got->entries[i].index, &v), 1);
		EXPECT_EQ(v, got->entries[i].data)
			TH_LOG("MSR %#x after writing back its own value", got->entries[i].index);
	}

	/* The vCPU runs on. */
	vcpu_run_expect_sync(vcpu, 1);
	kvm_vm_free(vm);
	free(list);
	free(got);
}

KVM_TEST(feature_msrs_read_from_dev_kvm)
{
	struct kvm_msr_list *list;
	struct kvm_msrs *m;
	int r;

	if (!kvm_check_cap(KVM_CAP_GET_MSR_FEATURES))
		SKIP(return, "KVM does not support KVM_CAP_GET_MSR_FEATURES");
	list = msr_list_get(_metadata, KVM_GET_MSR_FEATURE_INDEX_LIST,
			    "KVM_GET_MSR_FEATURE_INDEX_LIST");
	m = msrs_alloc(list);
	r = ioctl(kvm_dev_fd(), KVM_GET_MSRS, m);
	EXPECT_EQ(r, (int)list->nmsrs) {
		TH_LOG("system KVM_GET_MSRS of %u feature MSRs read %d, stopping at %#x",
		       list->nmsrs, r, r >= 0 && r < (int)list->nmsrs ? list->indices[r] : 0);
	}
	free(m);

	/* An MSR that is not a feature MSR: nothing read (x86.c do_get_feature_msr()). */
	m = calloc(1, sizeof(*m) + 2 * sizeof(m->entries[0]));
	m->nmsrs = 1;
	m->entries[0].index = UNKNOWN_MSR;
	EXPECT_EQ(ioctl(kvm_dev_fd(), KVM_GET_MSRS, m), 0) TH_LOG("system KVM_GET_MSRS of %#x",
								 UNKNOWN_MSR);
	free(m);
	free(list);
}

KVM_VCPU_TEST(msrs_stop_at_an_unknown_index, guest_sync_loop)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[3];
	} m = { .hdr.nmsrs = 3 };
	uint64_t lstar = vcpu_get_msr(vcpu, MSR_LSTAR);

	m.e[0] = (struct kvm_msr_entry){ .index = MSR_STAR, .data = 0x0023001000000000ULL };
	m.e[1] = (struct kvm_msr_entry){ .index = UNKNOWN_MSR, .data = 1 };
	m.e[2] = (struct kvm_msr_entry){ .index = MSR_LSTAR, .data = lstar ^ 0x1000 };
	/* api.rst 4.19: the number of MSRs set; the first stops it, the last is not set. */
	EXPECT_EQ(ioctl(vcpu->fd, KVM_SET_MSRS, &m), 1);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_STAR), 0x0023001000000000ULL);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_LSTAR), lstar) TH_LOG("MSR after the unknown one set");

	m.e[0].data = 0;
	m.e[2].data = 0;
	EXPECT_EQ(ioctl(vcpu->fd, KVM_GET_MSRS, &m), 1);
	EXPECT_EQ(m.e[0].data, 0x0023001000000000ULL);
	EXPECT_EQ(m.e[2].data, 0) TH_LOG("MSR after the unknown one read");
}

TEST_HARNESS_MAIN
