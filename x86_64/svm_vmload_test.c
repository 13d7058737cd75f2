// SPDX-License-Identifier: GPL-2.0-only
/*
 * VMLOAD and VMSAVE, and what L2 may reach through them and through
 * VMCB12's AVIC bit (AMD APM vol. 2 chapter 15).  Every test SKIPs unless
 * KVM offers SVM to its guests (kvm_amd nested=1; `make vm_run_tests`).
 *
 *  - VMSAVE stores, and VMLOAD loads, exactly FS, GS, TR and LDTR with
 *    their hidden state (selector, attributes, limit, base), KernelGSBase,
 *    STAR, LSTAR, CSTAR, SFMASK and SYSENTER_CS/ESP/EIP (APM 15.5.2).  L1
 *    loads TR and LDTR from descriptors of its own GDT (LTR/LLDT, checked
 *    with STR/SLDT/LAR/LSL) and FS/GS from data descriptors, VMSAVEs, changes
 *    every one of them, VMLOADs: the registers and a second VMSAVE show
 *    every field came back.
 *  - VMLOAD/VMSAVE with EFER.SVME=0 are #UD and move nothing (APM vol. 3,
 *    VMLOAD/VMSAVE exceptions).
 *  - L2 running VMLOAD/VMSAVE (the ideas of LTP's kvm_svm02 and kvm_svm04,
 *    table-driven over intercepts and nested paging): intercepted, each one
 *    is a #VMEXIT with RAX intact and moves nothing (15.9, 15.5.2); not
 *    intercepted, it moves L2's own state to and from the page L2 names.
 *    Which page that is: with virtual VMLOAD/VMSAVE (CPUID 0x8000000A
 *    EDX[15], virt_ext bit 1 in VMCB12 and nested paging on, APM 15.33.1)
 *    RAX is an L2 guest-physical address translated through L1's nested
 *    page tables; otherwise it is a physical address of L1's, used as is.
 *    The case that remaps L2's page to another L1 page in L1's NPT tells the
 *    two apart, and an L2 page of neither kind shows KVM letting the CPU use
 *    RAX as a host-physical address: CVE-2021-3656, fixed by upstream
 *    c7dfa4009965 ("KVM: nSVM: always intercept VMLOAD/VMSAVE when nested
 *    (CVE-2021-3656)").  The pages L2 names lie at L2_VLS_GPA, above the
 *    QEMU lane's 2 GiB of RAM, so such a bug reads zeros there and the
 *    check of what VMLOAD loaded fails before any VMSAVE writes.  #VMEXIT
 *    switches none of these registers (15.6): L1 sees L2's values after.
 *  - int_ctl's AVIC enable in VMCB12, with avic_backing_page, the physical
 *    and logical ID tables and avic_vapic_bar pointing at L1 pages filled
 *    with a pattern, gives L2 no virtual APIC where L1's CPUID has no AVIC
 *    (CPUID 0x8000000A EDX[13]; APM 15.29): L2's reads and writes at the
 *    APIC address reach the ordinary memory L1 has there, and the backing
 *    page and tables stay as they were (LTP's kvm_svm01, CVE-2021-3653,
 *    fixed by upstream 0f923e07124d ("KVM: nSVM: avoid picking up
 *    unsupported bits from L2 in int_ctl (CVE-2021-3653)")).  KVM copying
 *    the bit only matters where the CPU under KVM implements AVIC and
 *    kvm_amd avic=1; QEMU's TCG SVM ignores the bit, so there the check
 *    cannot fail, and the test says so.
 *
 * The L2 cases cover the idea of upstream's nested_vmsave_vmload_test.c
 * (tools/testing/selftests/kvm/x86/: one L2 GPA that NPT maps to another L1
 * page, with and without virt_ext; it requires virtual VMLOAD/VMSAVE and so
 * SKIPs where the CPU under KVM lacks it, the QEMU lane included) and go
 * further: every field, not KernelGSBase alone, and the non-virtual rule
 * too.  kvm-unit-tests x86/svm_tests.c checks the VMLOAD/VMSAVE intercepts
 * only.
 *
 * Caught bugs: bugs/nested-svm-vmloadsave-tr-not-copied.patch,
 * bugs/nested-svm-vmload-vmsave-emulation-uses-vmcb02.patch,
 * bugs/nested-svm-l2-vmload-vmsave-not-intercepted.patch,
 * bugs/nested-svm-vmload-vmsave-no-svme-check.patch.
 * Not catchable in the QEMU lane: bugs/nested-svm-int-ctl-avic-from-vmcb12.patch.
 */
#include "kvm_test_harness.h"
#include "guest/apic.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "nested.h"

/* The fields VMLOAD/VMSAVE move (APM 15.5.2, VMCB offsets from appendix B). */
#define VLS_FIELD(f) { #f, offsetof(struct vmcb, save.f), sizeof(((struct vmcb *)0)->save.f) }
#define VLS_SEG(s) VLS_FIELD(s.selector), VLS_FIELD(s.attrib), VLS_FIELD(s.limit), VLS_FIELD(s.base)

static const struct vls_field {
	const char *name;
	unsigned int off, size;
} vls_fields[] = {
	VLS_SEG(fs), VLS_SEG(gs), VLS_SEG(tr), VLS_SEG(ldtr),
	VLS_FIELD(kernel_gs_base), VLS_FIELD(star), VLS_FIELD(lstar), VLS_FIELD(cstar),
	VLS_FIELD(sfmask), VLS_FIELD(sysenter_cs), VLS_FIELD(sysenter_esp),
	VLS_FIELD(sysenter_eip),
};
#define NR_VLS_FIELDS	(sizeof(vls_fields) / sizeof(vls_fields[0]))

static uint64_t vls_get(const struct vmcb *v, unsigned int i)
{
	const uint8_t *p = (const uint8_t *)v + vls_fields[i].off;

	switch (vls_fields[i].size) {
	case 2: return *(const uint16_t *)p;
	case 4: return *(const uint32_t *)p;
	default: return *(const uint64_t *)p;
	}
}

static void vls_set(struct vmcb *v, unsigned int i, uint64_t val)
{
	uint8_t *p = (uint8_t *)v + vls_fields[i].off;

	switch (vls_fields[i].size) {
	case 2: *(uint16_t *)p = val; break;
	case 4: *(uint32_t *)p = val; break;
	default: *(uint64_t *)p = val; break;
	}
}

/* Every VMLOAD/VMSAVE field of got equals want, else fail naming the first that differs. */
#define ASSERT_VLS_EQ(got, want, what) do {					\
	for (unsigned int __i = 0; __i < NR_VLS_FIELDS; __i++)			\
		__GUEST_ASSERT(vls_get(got, __i) == vls_get(want, __i),		\
			       "%s: VMCB field %s is 0x%lx, expected 0x%lx", what,	\
			       vls_fields[__i].name, vls_get(got, __i), vls_get(want, __i)); \
} while (0)

/* All VMLOAD/VMSAVE fields of a page still 0: nothing was saved there. */
#define ASSERT_VLS_ZERO(page, what) do {					\
	for (unsigned int __i = 0; __i < NR_VLS_FIELDS; __i++)			\
		__GUEST_ASSERT(!vls_get(page, __i), "%s: VMCB field %s of a page nothing "	\
			       "may save to is 0x%lx", what, vls_fields[__i].name,	\
			       vls_get(page, __i));				\
} while (0)

/*
 * The registers as instructions see them (not through VMSAVE): selectors,
 * bases and MSRs.  Only inline code here: between the loads of a test's
 * state and L1's VMLOAD of its own, GS does not point at the per-vCPU data.
 */
struct live_state {
	uint16_t fs, gs, tr, ldtr;
	uint64_t msr[10];
};

static const char *const live_msr_names[10] = {
	"FS_BASE", "GS_BASE", "KERNEL_GS_BASE", "STAR", "LSTAR", "CSTAR", "SFMASK",
	"SYSENTER_CS", "SYSENTER_ESP", "SYSENTER_EIP",
};

static inline __attribute__((always_inline)) uint64_t rdmsr_inline(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (uint64_t)hi << 32;
}

static inline __attribute__((always_inline)) void wrmsr_inline(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline __attribute__((always_inline)) void read_live(volatile struct live_state *s)
{
	uint16_t sel;

	asm volatile("mov %%fs, %0" : "=r"(sel));
	s->fs = sel;
	asm volatile("mov %%gs, %0" : "=r"(sel));
	s->gs = sel;
	asm volatile("str %0" : "=r"(sel));
	s->tr = sel;
	asm volatile("sldt %0" : "=r"(sel));
	s->ldtr = sel;
	s->msr[0] = rdmsr_inline(MSR_FS_BASE);
	s->msr[1] = rdmsr_inline(MSR_GS_BASE);
	s->msr[2] = rdmsr_inline(MSR_KERNEL_GS_BASE);
	s->msr[3] = rdmsr_inline(MSR_STAR);
	s->msr[4] = rdmsr_inline(MSR_LSTAR);
	s->msr[5] = rdmsr_inline(MSR_CSTAR);
	s->msr[6] = rdmsr_inline(MSR_SYSCALL_MASK);
	s->msr[7] = rdmsr_inline(MSR_IA32_SYSENTER_CS);
	s->msr[8] = rdmsr_inline(MSR_IA32_SYSENTER_ESP);
	s->msr[9] = rdmsr_inline(MSR_IA32_SYSENTER_EIP);
}

/* What read_live() must show for the state a VMCB holds. */
static void live_from_vmcb(struct live_state *s, const struct vmcb *v)
{
	s->fs = v->save.fs.selector;
	s->gs = v->save.gs.selector;
	s->tr = v->save.tr.selector;
	s->ldtr = v->save.ldtr.selector;
	s->msr[0] = v->save.fs.base;
	s->msr[1] = v->save.gs.base;
	s->msr[2] = v->save.kernel_gs_base;
	s->msr[3] = v->save.star;
	s->msr[4] = v->save.lstar;
	s->msr[5] = v->save.cstar;
	s->msr[6] = v->save.sfmask;
	s->msr[7] = v->save.sysenter_cs;
	s->msr[8] = v->save.sysenter_esp;
	s->msr[9] = v->save.sysenter_eip;
}

#define ASSERT_LIVE_EQ(got, want, what) do {					\
	bool __sels_equal = (got)->fs == (want)->fs && (got)->gs == (want)->gs &&	\
			    (got)->tr == (want)->tr && (got)->ldtr == (want)->ldtr;	\
										\
	__GUEST_ASSERT(__sels_equal, "%s: FS/GS/TR/LDTR selectors 0x%x/0x%x/0x%x/0x%x, expected "	\
		       "0x%x/0x%x/0x%x/0x%x", what, (got)->fs, (got)->gs, (got)->tr,	\
		       (got)->ldtr, (want)->fs, (want)->gs, (want)->tr, (want)->ldtr);	\
	for (unsigned int __i = 0; __i < 10; __i++)				\
		__GUEST_ASSERT((got)->msr[__i] == (want)->msr[__i],		\
			       "%s: RDMSR %s = 0x%lx, expected 0x%lx", what,	\
			       live_msr_names[__i], (got)->msr[__i], (want)->msr[__i]);	\
} while (0)

/* ---- L1: every field through VMSAVE and VMLOAD ---- */

/* attrib packs descriptor bits 47:40 in 7:0 and bits 55:52 in 11:8 (VMCB table B-2). */
#define ATTR_G		0x800
#define ATTR_TSS64	0x089	/* P, type 9: available 64-bit TSS */
#define ATTR_TSS_BUSY	0x002	/* type 9 -> 0xb */
#define ATTR_LDT	0x082	/* P, type 2 */

struct seg_spec {
	uint64_t base;		/* FS/GS: the base MSR written after the selector load */
	uint32_t limit;		/* the descriptor's 20-bit limit */
	uint16_t attrib;
};

/* One state for L1 to load by instructions: FS, GS, TR, LDTR, then the MSRs. */
struct l1_state {
	struct seg_spec fs, gs, tr, ldtr;
	uint64_t kernel_gs_base, star, lstar, cstar, sfmask;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
};

/*
 * Two states differing in every field.  SYSENTER_ESP/EIP stay below 4 GiB:
 * AMD CPUs keep only bits 31:0 of them (KVM's svm.c says so too).
 */
static const struct l1_state l1_states[2] = {
	{
		.fs = { 0x00007f1234560000ULL, 0xabcde, 0x593 },	/* data RW, AVL, D/B */
		.gs = { 0xffff8f0012340000ULL, 0x00012, 0x891 | ATTR_G },	/* data RO, G */
		.tr = { 0x00007fabcd123000ULL, 0x02067, ATTR_TSS64 },
		.ldtr = { 0xffffffff87654000ULL, 0x001ff, ATTR_LDT },
		.kernel_gs_base = 0xffff800000001000ULL, .star = 0x0023001012345678ULL,
		.lstar = 0xffffffff81000000ULL, .cstar = 0xffffffff81000100ULL,
		.sfmask = 0x47700, .sysenter_cs = 0x10,
		.sysenter_esp = 0x81234000, .sysenter_eip = 0x81235000,
	}, {
		.fs = { 0x0000000045670000ULL, 0x00321, 0x093 },
		.gs = { 0x00007e0000440000ULL, 0x00777, 0x493 },
		.tr = { 0xffffff8000777000ULL, 0x00167, ATTR_TSS64 },
		.ldtr = { 0x0000000012348000ULL, 0x0ffff, ATTR_LDT | ATTR_G },
		.kernel_gs_base = 0xffff800000002000ULL, .star = 0x0033002087654321ULL,
		.lstar = 0xffffffff82000000ULL, .cstar = 0xffffffff82000100ULL,
		.sfmask = 0x00300, .sysenter_cs = 0x20,
		.sysenter_esp = 0x82234000, .sysenter_eip = 0x82235000,
	},
};

/* Descriptor low quadword (SDM vol. 3A 3.4.5; APM 4.7, 4.8.3). */
static uint64_t make_desc(uint64_t base, uint32_t limit, uint16_t attrib)
{
	return (limit & 0xffff) | ((base & 0xffffff) << 16) | ((uint64_t)(attrib & 0xff) << 40) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)((attrib >> 8) & 0xf) << 52) |
	       (((base >> 24) & 0xff) << 56);
}

static uint32_t hidden_limit(const struct seg_spec *s)
{
	return s->attrib & ATTR_G ? s->limit << 12 | 0xfff : s->limit;
}

/* Selectors of state i in L1's GDT copy: FS, GS, then the 16-byte TSS and LDT descriptors. */
struct l1_sels {
	uint16_t fs, gs, tr, ldtr;
};

static struct l1_sels write_descs(uint64_t *gdt, unsigned int first, const struct l1_state *s)
{
	struct l1_sels sel = { first * 8, (first + 1) * 8, (first + 2) * 8, (first + 4) * 8 };

	gdt[first] = make_desc(0, s->fs.limit, s->fs.attrib);
	gdt[first + 1] = make_desc(0, s->gs.limit, s->gs.attrib);
	gdt[first + 2] = make_desc(s->tr.base, s->tr.limit, s->tr.attrib);
	gdt[first + 3] = s->tr.base >> 32;
	gdt[first + 4] = make_desc(s->ldtr.base, s->ldtr.limit, s->ldtr.attrib);
	gdt[first + 5] = s->ldtr.base >> 32;
	return sel;
}

/* The VMCB image VMSAVE must produce for state s loaded with selectors sel. */
static void expected_vmcb(struct vmcb *v, const struct l1_state *s, struct l1_sels sel)
{
	const struct seg_spec *segs[4] = { &s->fs, &s->gs, &s->tr, &s->ldtr };
	const uint16_t sels[4] = { sel.fs, sel.gs, sel.tr, sel.ldtr };

	for (int i = 0; i < 4; i++) {
		vls_set(v, i * 4, sels[i]);
		vls_set(v, i * 4 + 1, segs[i]->attrib);
		vls_set(v, i * 4 + 2, hidden_limit(segs[i]));
		vls_set(v, i * 4 + 3, segs[i]->base);
	}
	/* LTR marks the TSS busy (APM 4.8.3): the loaded TR is a busy TSS. */
	v->save.tr.attrib |= ATTR_TSS_BUSY;
	v->save.kernel_gs_base = s->kernel_gs_base;
	v->save.star = s->star;
	v->save.lstar = s->lstar;
	v->save.cstar = s->cstar;
	v->save.sfmask = s->sfmask;
	v->save.sysenter_cs = s->sysenter_cs;
	v->save.sysenter_esp = s->sysenter_esp;
	v->save.sysenter_eip = s->sysenter_eip;
}

static inline __attribute__((always_inline)) void load_state(const struct l1_state *s,
								 struct l1_sels sel)
{
	asm volatile("mov %0, %%fs" :: "r"(sel.fs));
	asm volatile("mov %0, %%gs" :: "r"(sel.gs));
	asm volatile("lldt %0" :: "r"(sel.ldtr));
	asm volatile("ltr %0" :: "r"(sel.tr));
	wrmsr_inline(MSR_FS_BASE, s->fs.base);
	wrmsr_inline(MSR_GS_BASE, s->gs.base);
	wrmsr_inline(MSR_KERNEL_GS_BASE, s->kernel_gs_base);
	wrmsr_inline(MSR_STAR, s->star);
	wrmsr_inline(MSR_LSTAR, s->lstar);
	wrmsr_inline(MSR_CSTAR, s->cstar);
	wrmsr_inline(MSR_SYSCALL_MASK, s->sfmask);
	wrmsr_inline(MSR_IA32_SYSENTER_CS, s->sysenter_cs);
	wrmsr_inline(MSR_IA32_SYSENTER_ESP, s->sysenter_esp);
	wrmsr_inline(MSR_IA32_SYSENTER_EIP, s->sysenter_eip);
}

struct dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* LAR's access rights (bits 23:8 of the descriptor's high dword) and LSL's limit of sel. */
static void lar_lsl(uint16_t sel, uint32_t *ar, uint32_t *limit)
{
	uint64_t a, l;
	uint8_t zf_a, zf_l;

	asm volatile("lar %2, %0; setz %1" : "=r"(a), "=q"(zf_a) : "r"((uint64_t)sel) : "cc");
	asm volatile("lsl %2, %0; setz %1" : "=r"(l), "=q"(zf_l) : "r"((uint64_t)sel) : "cc");
	__GUEST_ASSERT(zf_a && zf_l, "LAR/LSL of selector 0x%x failed (ZF %u/%u)", sel, zf_a,
		       zf_l);
	*ar = a;
	*limit = l;
}

static void l2_nothing(void)
{
	guest_nested_hypercall(0);
}

static void l1_every_field(struct nested_pages *p)
{
	struct vmcb *orig, *save[2], *again, *want[2];
	struct live_state live[2], live_back, want_live;
	struct dtr gdtr, new_gdtr;
	struct l1_sels sel[2];
	unsigned int first;
	struct nested n;
	uint64_t *gdt;

	guest_nested_init(&n, p, l2_nothing);	/* EFER.SVME: VMLOAD/VMSAVE are #UD without it */
	orig = (void *)(uintptr_t)guest_nested_alloc_page(&n);
	again = (void *)(uintptr_t)guest_nested_alloc_page(&n);
	for (int i = 0; i < 2; i++) {
		save[i] = (void *)(uintptr_t)guest_nested_alloc_page(&n);
		want[i] = (void *)(uintptr_t)guest_nested_alloc_page(&n);
	}
	gdt = (uint64_t *)(uintptr_t)guest_nested_alloc_page(&n);

	/* A copy of L1's GDT with the descriptors of both states after its entries. */
	asm volatile("sgdt %0" : "=m"(gdtr));
	first = (gdtr.limit + 8) / 8;
	GUEST_ASSERT(first + 12 <= 4096 / 8);
	memcpy(gdt, (void *)(uintptr_t)gdtr.base, gdtr.limit + 1);
	for (int i = 0; i < 2; i++) {
		sel[i] = write_descs(gdt, first + 6 * i, &l1_states[i]);
		expected_vmcb(want[i], &l1_states[i], sel[i]);
	}
	new_gdtr.base = (uintptr_t)gdt;
	new_gdtr.limit = (first + 12) * 8 - 1;

	/* From here to the VMLOAD of orig, GS is not L1's per-vCPU base: inline code only. */
	svm_vmsave((uintptr_t)orig);
	asm volatile("lgdt %0" :: "m"(new_gdtr));
	load_state(&l1_states[0], sel[0]);
	read_live(&live[0]);
	svm_vmsave((uintptr_t)save[0]);
	load_state(&l1_states[1], sel[1]);
	read_live(&live[1]);
	svm_vmsave((uintptr_t)save[1]);
	svm_vmload((uintptr_t)save[0]);
	read_live(&live_back);
	svm_vmsave((uintptr_t)again);
	svm_vmload((uintptr_t)orig);
	asm volatile("lgdt %0" :: "m"(gdtr));

	for (int i = 0; i < 2; i++) {
		uint32_t ar, limit;

		/* The descriptors themselves, as LAR/LSL read them from the GDT copy. */
		asm volatile("lgdt %0" :: "m"(new_gdtr));
		lar_lsl(sel[i].tr, &ar, &limit);
		asm volatile("lgdt %0" :: "m"(gdtr));
		__GUEST_ASSERT(((ar >> 8) & 0xf) == 0xb && limit == hidden_limit(&l1_states[i].tr),
			       "state %d: TSS descriptor after LTR: LAR type 0x%x (expected busy "
			       "0xb), LSL 0x%x (expected 0x%x)", i, (ar >> 8) & 0xf, limit,
			       hidden_limit(&l1_states[i].tr));
		asm volatile("lgdt %0" :: "m"(new_gdtr));
		lar_lsl(sel[i].ldtr, &ar, &limit);
		asm volatile("lgdt %0" :: "m"(gdtr));
		__GUEST_ASSERT(((ar >> 8) & 0xff) == (l1_states[i].ldtr.attrib & 0xff) &&
			       limit == hidden_limit(&l1_states[i].ldtr),
			       "state %d: LDT descriptor: LAR 0x%x, LSL 0x%x (expected 0x%x)", i,
			       ar, limit, hidden_limit(&l1_states[i].ldtr));

		live_from_vmcb(&want_live, want[i]);
		ASSERT_LIVE_EQ(&live[i], &want_live, i ? "state B loaded by instructions" :
			       "state A loaded by instructions");
		/*
		 * The hidden TR type after LTR: busy on hardware; QEMU's TCG loads
		 * the hidden part before it marks the descriptor busy, so its
		 * VMSAVE shows an available TSS (no KVM code touches L1's LTR).
		 */
		if (save[i]->save.tr.attrib == (want[i]->save.tr.attrib & ~ATTR_TSS_BUSY)) {
			GUEST_PRINTF("state %d: VMSAVE shows TR attrib 0x%x, an available TSS "
				     "after LTR (the CPU under KVM, e.g. QEMU TCG, keeps the "
				     "pre-busy type); compared without the busy bit", i,
				     save[i]->save.tr.attrib);
			want[i]->save.tr.attrib &= ~ATTR_TSS_BUSY;
		}
		ASSERT_VLS_EQ(save[i], want[i], i ? "VMSAVE of state B" : "VMSAVE of state A");
	}
	/* VMLOAD of A's page over state B: every register back, the hidden parts included. */
	live_from_vmcb(&want_live, want[0]);
	ASSERT_LIVE_EQ(&live_back, &want_live, "registers after VMLOAD of state A over state B");
	ASSERT_VLS_EQ(again, want[0], "VMSAVE after VMLOAD of state A over state B");
	GUEST_DONE();
}

SVM_TEST(vmsave_vmload_move_every_field, l1_every_field)

/*
 * VMLOAD and VMSAVE are #UD while EFER.SVME is 0 (APM vol. 3, VMLOAD and
 * VMSAVE, exceptions; 15.4): nothing loaded, nothing stored.  The image
 * VMLOAD is offered is L1's own state but for LSTAR, so a VMLOAD that
 * wrongly runs changes only that.
 */
#define SVME_OFF_LSTAR	0xffffffff8cafe000ULL

static void l1_need_svme(struct nested_pages *p)
{
	struct vmcb *image, *target;
	struct nested n;
	uint64_t lstar = rdmsr(MSR_LSTAR);
	uint8_t vec[2];

	guest_nested_init(&n, p, l2_nothing);
	image = (void *)(uintptr_t)guest_nested_alloc_page(&n);
	target = (void *)(uintptr_t)guest_nested_alloc_page(&n);
	svm_vmsave((uintptr_t)image);
	image->save.lstar = SVME_OFF_LSTAR;

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_SVME);
	asm volatile(ASM_SAFE("vmload %%rax") :: "a"((uintptr_t)image) : "memory");
	vec[0] = guest_fault_vector();
	asm volatile(ASM_SAFE("vmsave %%rax") :: "a"((uintptr_t)target) : "memory");
	vec[1] = guest_fault_vector();
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);

	__GUEST_ASSERT(vec[0] == UD_VECTOR && vec[1] == UD_VECTOR, "VMLOAD/VMSAVE with "
		       "EFER.SVME=0: vectors %u/%u, expected #UD (%u)", vec[0], vec[1], UD_VECTOR);
	__GUEST_ASSERT(rdmsr(MSR_LSTAR) == lstar, "LSTAR 0x%lx after a #UD VMLOAD "
		       "(EFER.SVME=0), expected 0x%lx unchanged", rdmsr(MSR_LSTAR), lstar);
	ASSERT_VLS_ZERO(target, "VMSAVE with EFER.SVME=0");
	GUEST_DONE();
}

SVM_TEST(vmload_vmsave_ud_without_efer_svme, l1_need_svme)

/* ---- L2 running VMLOAD/VMSAVE ---- */

/*
 * The pages L2 names: a memslot above the QEMU lane's 2 GiB of RAM, so a
 * KVM that let the CPU take RAX as a host-physical address there reads
 * nothing the host has and writes nowhere (the lane's PCI hole).
 */
#define L2_VLS_GPA	0x90000000ULL
#define L2_VLS_SLOT	11
#define L2_VLS_PAGES	2
#define L2_LOAD_GPA	L2_VLS_GPA
#define L2_SAVE_GPA	(L2_VLS_GPA + 4096)
/* L2 writes this LSTAR between its VMLOAD and VMSAVE: the save must hold it. */
#define L2_LSTAR	0xffffffff8badf000ULL

static uint64_t l2_load_gpa, l2_save_gpa;
static volatile struct live_state l2_after_load;

static void l2_vmload_vmsave(void)
{
	svm_vmload(l2_load_gpa);
	read_live(&l2_after_load);
	wrmsr_inline(MSR_LSTAR, L2_LSTAR);
	svm_vmsave(l2_save_gpa);
	guest_nested_hypercall(0x600d);
}

/* A VMLOAD/VMSAVE image unlike L1's and unlike the other one (salt). */
static void fill_vls_image(struct vmcb *v, uint64_t salt)
{
	memset(v, 0, sizeof(*v));
	for (int i = 0; i < 4; i++) {
		vls_set(v, i * 4, 0x40 + 8 * i + salt * 0x100);		/* selector */
		vls_set(v, i * 4 + 1, i < 2 ? 0x093 : i == 2 ? 0x08b : 0x082);	/* attrib */
		vls_set(v, i * 4 + 2, 0x1000 * (i + 1) + salt * 0x10 + 0xf);	/* limit */
		vls_set(v, i * 4 + 3, 0xffff880000000000ULL | salt << 32 | (i + 1) << 20);
	}
	v->save.kernel_gs_base = 0xffff990000000000ULL | salt << 24;
	v->save.star = 0x0023001000000000ULL | salt << 8;
	v->save.lstar = 0xffffffff90000000ULL | salt << 12;
	v->save.cstar = 0xffffffff91000000ULL | salt << 12;
	v->save.sfmask = 0x4700 | salt;
	v->save.sysenter_cs = 0x8 * salt;
	v->save.sysenter_esp = 0x70000000 | salt << 12;
	v->save.sysenter_eip = 0x71000000 | salt << 12;
}

static const struct l2_vls_case {
	const char *name;
	bool intercept, npt, remap, virt_ext;
} l2_vls_cases[] = {
	{ "intercepted", .intercept = true },
	{ "intercepted, nested paging", .intercept = true, .npt = true },
	{ "not intercepted", .intercept = false },
	{ "not intercepted, nested paging, L2's pages remapped", .npt = true, .remap = true },
	{ "not intercepted, nested paging, L2's pages remapped, virt_ext V_VMLOAD_VMSAVE",
	  .npt = true, .remap = true, .virt_ext = true },
};

static void l1_l2_vls(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	struct vmcb *load_pg = (void *)(uintptr_t)L2_LOAD_GPA, *save_pg = (void *)(uintptr_t)L2_SAVE_GPA;
	struct live_state want_live;
	bool vls_cpu = svm_features() & SVM_FEAT_V_VMSAVE_VMLOAD;
	const char *no_npt = guest_nested_tdp_unsupported();

	GUEST_PRINTF("virtual VMLOAD/VMSAVE (CPUID 0x8000000A EDX[15]): %s",
		     vls_cpu ? "offered" : "not offered: L2's RAX is an L1 physical address");
	for (unsigned int c = 0; c < sizeof(l2_vls_cases) / sizeof(l2_vls_cases[0]); c++) {
		const struct l2_vls_case *t = &l2_vls_cases[c];
		struct vmcb *l1_own, *after, *remap_load = NULL, *remap_save = NULL;
		struct vmcb *used_load = load_pg, *used_save = save_pg, *unused_save = NULL;
		struct vmcb *want;
		struct nested n;

		if (t->npt && no_npt) {
			GUEST_PRINTF("case '%s' skipped: %s", t->name, no_npt);
			continue;
		}
		guest_nested_init(&n, p, l2_vmload_vmsave);
		l1_own = (void *)(uintptr_t)guest_nested_alloc_page(&n);
		after = (void *)(uintptr_t)guest_nested_alloc_page(&n);
		want = (void *)(uintptr_t)guest_nested_alloc_page(&n);
		fill_vls_image(load_pg, 1);
		memset(save_pg, 0, 4096);
		l2_load_gpa = L2_LOAD_GPA;
		l2_save_gpa = L2_SAVE_GPA;
		if (t->npt)
			guest_nested_tdp_enable(&n);
		if (t->remap) {
			/* L2's two GPAs lead to two other L1 pages in L1's NPT. */
			remap_load = (void *)(uintptr_t)guest_nested_alloc_page(&n);
			remap_save = (void *)(uintptr_t)guest_nested_alloc_page(&n);
			fill_vls_image(remap_load, 2);
			*guest_nested_tdp_pte(&n, L2_LOAD_GPA) = (uintptr_t)remap_load |
								 guest_nested_tdp_leaf_bits(&n);
			*guest_nested_tdp_pte(&n, L2_SAVE_GPA) = (uintptr_t)remap_save |
								 guest_nested_tdp_leaf_bits(&n);
			/* APM 15.33.1: translated only with the feature, virt_ext and NPT. */
			if (vls_cpu && t->virt_ext) {
				used_load = remap_load;
				used_save = remap_save;
				unused_save = save_pg;
			} else {
				unused_save = remap_save;
			}
		}
		if (t->virt_ext)
			vmcb->control.virt_ext |= SVM_VIRT_EXT_V_VMLOAD_VMSAVE;
		if (t->intercept)
			vmcb->control.intercept_misc2 |= SVM_INTERCEPT2_VMLOAD | SVM_INTERCEPT2_VMSAVE;

		svm_vmsave((uintptr_t)l1_own);
		if (t->intercept) {
			guest_nested_run(&n);
			svm_vmsave((uintptr_t)after);
			svm_vmload((uintptr_t)l1_own);
			SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMLOAD);
			GUEST_ASSERT_EQ(vmcb->save.rax, L2_LOAD_GPA);
			ASSERT_VLS_EQ(after, l1_own, t->name);
			guest_nested_skip(&n, 3);
			guest_nested_run(&n);
			svm_vmsave((uintptr_t)after);
			svm_vmload((uintptr_t)l1_own);
			SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMSAVE);
			GUEST_ASSERT_EQ(vmcb->save.rax, L2_SAVE_GPA);
			guest_nested_skip(&n, 3);
			/* The skipped VMLOAD loaded nothing: L2 still had L1's state. */
			live_from_vmcb(&want_live, l1_own);
			ASSERT_LIVE_EQ(&l2_after_load, &want_live, t->name);
			/* At the VMSAVE exit L1 has L2's registers, LSTAR as L2 wrote it. */
			memcpy(want, l1_own, sizeof(*want));
			want->save.lstar = L2_LSTAR;
			ASSERT_VLS_EQ(after, want, t->name);
			/* L1 VMLOADed its own state since: L2 goes on with it. */
			memcpy(want, l1_own, sizeof(*want));
		} else {
			memcpy(want, used_load, sizeof(*want));
			want->save.lstar = L2_LSTAR;
		}

		guest_nested_run(&n);
		svm_vmsave((uintptr_t)after);
		svm_vmload((uintptr_t)l1_own);
		SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);
		GUEST_ASSERT_EQ(guest_nested_l2_rax(&n), 0x600d);
		if (t->intercept) {
			ASSERT_VLS_ZERO(save_pg, t->name);
		} else {
			/* What L2's VMLOAD loaded, read by L2 itself. */
			live_from_vmcb(&want_live, used_load);
			ASSERT_LIVE_EQ(&l2_after_load, &want_live, t->name);
			/* L2's VMSAVE stored L2's registers, hidden parts too, in its page. */
			ASSERT_VLS_EQ(used_save, want, t->name);
			if (unused_save)
				ASSERT_VLS_ZERO(unused_save, t->name);
		}
		/* #VMEXIT restores none of them (APM 15.6): L1 has what L2 left. */
		ASSERT_VLS_EQ(after, want, t->name);
		vmcb->control.virt_ext = 0;
	}
	GUEST_DONE();
}

KVM_VCPU_TEST(l2_vmload_vmsave_use_l2_pages_and_state, l1_l2_vls)
{
	TEST_REQUIRE_SVM();
	vm_mem_region_add(vm, L2_VLS_SLOT, L2_VLS_GPA, L2_VLS_PAGES * 4096, 0);
	virt_map(vm, L2_VLS_GPA, L2_VLS_GPA, L2_VLS_PAGES * 4096, PTE_DEFAULT);
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	NESTED_RUN_L1(vm, vcpu);
}

/* ---- int_ctl's AVIC enable from VMCB12 (CVE-2021-3653) ---- */

#define AVIC_PATTERN	0xa5a5a5a5u
#define APIC_PATTERN	0x5a5a5a5au
#define L2_TPR		0x12345670u	/* a real TPR keeps bits 7:0 only */

static volatile uint32_t l2_tpr_before, l2_tpr_after;

static void l2_apic_page(void)
{
	l2_tpr_before = xapic_read(APIC_TPR);
	xapic_write(APIC_TPR, L2_TPR);
	l2_tpr_after = xapic_read(APIC_TPR);
	guest_nested_hypercall(1);
}

static void l1_avic_bit(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	uint32_t *pages[3];
	struct nested n;

	if (svm_features() & SVM_FEAT_AVIC)
		guest_nested_skip_test("L1's CPUID offers AVIC (0x8000000A EDX[13]): VMCB12's AVIC "
				       "enable is then L1's to use");
	guest_nested_init(&n, p, l2_apic_page);
	for (int i = 0; i < 3; i++) {
		pages[i] = (uint32_t *)(uintptr_t)guest_nested_alloc_page(&n);
		for (int j = 0; j < 1024; j++)
			pages[i][j] = AVIC_PATTERN;
	}
	/* L1 asks for AVIC over pages it owns: KVM must not pass the bit on (no AVIC in CPUID). */
	vmcb->control.int_ctl |= SVM_INT_CTL_AVIC_ENABLE | SVM_INT_CTL_V_INTR_MASKING;
	vmcb->control.avic_vapic_bar = APIC_DEFAULT_GPA;
	vmcb->control.avic_backing_page = (uintptr_t)pages[0];
	vmcb->control.avic_physical_id = (uintptr_t)pages[1];	/* max index 0 */
	vmcb->control.avic_logical_id = (uintptr_t)pages[2];
	guest_nested_run(&n);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);
	/* L2 reached L1's ordinary memory at the APIC address, all 32 bits of it. */
	GUEST_ASSERT_EQ(l2_tpr_before, APIC_PATTERN);
	GUEST_ASSERT_EQ(l2_tpr_after, L2_TPR);
	GUEST_ASSERT_EQ(xapic_read(APIC_TPR), L2_TPR);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 1024; j++)
			__GUEST_ASSERT(pages[i][j] == AVIC_PATTERN, "%s page: dword %d is 0x%x, "
				       "was 0x%x: L2 reached it", i == 0 ? "AVIC backing" :
				       i == 1 ? "AVIC physical ID" : "AVIC logical ID", j,
				       pages[i][j], AVIC_PATTERN);
	GUEST_DONE();
}

/* kvm_amd's avic parameter: Y/1 when KVM itself uses AVIC (only then can VMCB12's bit leak). */
static bool kvm_amd_avic_on(void)
{
	FILE *f = fopen("/sys/module/kvm_amd/parameters/avic", "r");
	int c = f ? fgetc(f) : EOF;

	if (f)
		fclose(f);
	return c == 'Y' || c == 'y' || c == '1';
}

KVM_VCPU_TEST(vmcb12_avic_enable_gives_l2_no_apic, l1_avic_bit)
{
	uint32_t *page;

	TEST_REQUIRE_SVM();
	/*
	 * KVM copying VMCB12's AVIC enable into VMCB02 (CVE-2021-3653) takes
	 * effect only where the CPU under KVM does AVIC and KVM drives it; a
	 * CPU without AVIC (QEMU's TCG SVM) ignores the bit, and no path in
	 * KVM itself reads it from VMCB02.  Say so where that is the case.
	 */
	if (!kvm_amd_avic_on())
		printf("# kvm_amd avic is off (no AVIC under this KVM): a KVM that passes "
		       "VMCB12's AVIC enable on cannot be seen here; this checks L2's view of "
		       "the APIC page and L1's AVIC pages only\n");
	/* Ordinary memory where the APIC would be (no in-kernel APIC in this VM). */
	page = vm_mem_region_add(vm, 10, APIC_DEFAULT_GPA, PAGE_SIZE, 0);
	virt_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA, PAGE_SIZE, PTE_DEFAULT);
	for (unsigned int i = 0; i < PAGE_SIZE / 4; i++)
		page[i] = APIC_PATTERN;
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	NESTED_RUN_L1(vm, vcpu);
}

TEST_HARNESS_MAIN
