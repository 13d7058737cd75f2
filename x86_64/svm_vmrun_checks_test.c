// SPDX-License-Identifier: GPL-2.0-only
/*
 * AMD SVM: the VMRUN consistency checks, and the L1 state #VMEXIT loads
 * (AMD APM vol. 2 chapter 15).  Every test SKIPs unless KVM offers SVM to
 * its guests (kvm_amd nested=1; `make vm_run_tests`).
 *
 *  - VMRUN of a VMCB in an illegal state is #VMEXIT(VMEXIT_INVALID) at
 *    once (APM 15.5.1, "Canonicalization and Consistency Checks"), and the
 *    good VMCB runs L2 to its VMMCALL after each bad one.  One table per
 *    rule family:
 *      save area: EFER.SVME=0 and EFER's MBZ bits (including those of
 *      features the guest's CPUID lacks); EFER.LME=CR0.PG=1 with CR4.PAE=0,
 *      with CR0.PE=0, or with CS.L=CS.D=1; CR0.CD=0 with CR0.NW=1 and
 *      CR0[63:32]; the MBZ bits of CR3 (long mode: bits 63:52 and
 *      MAXPHYADDR and up, 5.3.2; also with PAE and legacy 32-bit paging,
 *      against a baseline of each mode that does enter L2) and of CR4
 *      (reserved bits, and the bits of features absent from the guest's
 *      CPUID: the host takes PKU and LA57 out of it), DR6[63:32] and
 *      DR7[63:32];
 *      controls: the VMRUN intercept clear, ASID 0, an MSR or I/O
 *      permission map reaching MAXPHYADDR (and the largest base that does
 *      not, also with bits 11:0 set, which VMRUN ignores (15.10.1,
 *      15.11): these run), and with NPT nested_ctl.NP_ENABLE with nCR3 at
 *      or above MAXPHYADDR or without NPT in the guest's CPUID (KVM's
 *      rule);
 *      event injection (15.20): a reserved EVENTINJ.TYPE (1, 5, 6, 7), or
 *      TYPE 3 (exception) with a vector that is not an exception's (2, the
 *      NMI, or 32) is VMEXIT_INVALID.  KVM 6.12 does not check EVENTINJ
 *      (its VMCB02 carries the event to the CPU underneath, which refuses
 *      it: on hardware L1 gets VMEXIT_INVALID all the same).  QEMU TCG's
 *      VMRUN refuses it too but stores a 32-bit -1 (0xffffffff), which
 *      KVM hands on: under KVM_SUITE_CPU_EMULATOR=qemu-tcg that value is
 *      accepted for these cases only, and logged;
 *      segment and descriptor-table bases are canonicalized, not checked:
 *      non-canonical ones still enter L2;
 *    the idea of kvm-unit-tests x86/svm_tests.c svm_guest_state_test
 *    (test_efer, test_cr0, test_cr3, test_cr4, test_dr,
 *    test_msrpm_iopm_bitmap_addrs, test_canonicalization) and of its
 *    proposed test_event_inject; upstream selftests
 *    x86/nested_invalid_cr3_test.c and x86/svm_nested_clear_efer_svme.c
 *    check single rules of the same family.
 *  - #VMEXIT reloads L1's state from the host save area VMRUN filled (15.6)
 *    and resets DR7 so that no breakpoint is enabled (0x400): CS and SS
 *    (selectors), GDTR and IDTR (base and limit), CR3, RSP, RAX, RFLAGS
 *    (all of it), CPL 0, DR7 = 0x400 whatever L1 had; L2 changes all
 *    of them (its own GDT with new CS/SS, IDT copy, page-table copy, DR7,
 *    flags, RSP, RAX; CPL 3 in a second run) and L1 checks them in the
 *    instructions right after VMRUN, then runs on.  svm_vmexit_test.c
 *    checks CR0, CR4, EFER, DS/ES and IDTR.limit; this adds the rest.
 *  - GIF is clear after #VMEXIT (15.17: #VMEXIT clears GIF), also after
 *    #VMEXIT(VMEXIT_INVALID), until STGI: a self-IPI sent then is held
 *    with RFLAGS.IF=1 and taken at STGI.
 *
 * Caught bugs: bugs/nested-svm-vmrun-efer-svme.patch,
 * bugs/nested-svm-vmrun-iopm-pa-unchecked.patch,
 * bugs/nested-svm-vmrun-dr6-unchecked.patch,
 * bugs/nested-svm-vmexit-dr7-not-reset.patch,
 * bugs/nested-svm-vmexit-gif-not-cleared.patch
 */
#include <stdlib.h>

#include "kvm_test_harness.h"
#include "guest/apic.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "guest/gprs_asm.h"
#include "nested.h"


static unsigned int guest_maxphyaddr(void)
{
	struct cpuid_regs r;

	cpuid_count(0x80000008, 0, &r);
	return r.eax & 0xff;
}

/* ---- VMRUN consistency checks, table driven ---- */

/* An event KVM should have refused, delivered to L2 anyway: counted, then L2 goes on. */
#define EVENT_VECTOR	0x20
static volatile uint64_t l2_events;

static void l2_event_handler(struct ex_regs *regs)
{
	l2_events++;
}

static void l2_vmmcall(void)
{
	guest_nested_hypercall(1);
}

enum paging_mode { MODE_LONG, MODE_PAE, MODE_LEGACY };
static const char *const mode_names[] = { "long mode", "PAE", "legacy 32-bit" };

enum how {
	HOW_BITS,	/* field = (field & ~clear) | set */
	HOW_PA_BIT,	/* field |= 1 << MAXPHYADDR */
	HOW_PA_TOP,	/* field = (1 << MAXPHYADDR) - set */
};

struct vmrun_case {
	const char *name;
	enum paging_mode mode;
	uint16_t off, size;		/* the field changed: offset in struct vmcb, 0 for none */
	enum how how;
	uint64_t clear, set;
	struct x86_feature absent;	/* only where the guest's CPUID lacks it */
	struct x86_feature needs;	/* only where the guest's CPUID has it */
	bool np;			/* NP_ENABLE, nCR3 a valid empty table */
	bool valid;			/* must enter L2 */
	bool cpu_checks;		/* KVM leaves the check to the CPU underneath */
};

/*
 * Set by the host under QEMU TCG, whose VMRUN stores VMEXIT_INVALID as a
 * 32-bit -1 (0x00000000ffffffff) instead of the APM's 64-bit -1 (appendix
 * C): KVM copies VMCB02's exit code to L1 as it finds it, so where KVM
 * leaves a check to the CPU underneath, L1 sees QEMU's short value.
 */
static bool cpu_is_qemu_tcg;
#define QEMU_TCG_VMEXIT_INVALID	0xffffffffULL

#define SAVE(f)	.off = offsetof(struct vmcb, save.f), .size = sizeof(((struct vmcb *)0)->save.f)
#define VMCB_CTRL(f)	.off = offsetof(struct vmcb, control.f),				\
		.size = sizeof(((struct vmcb *)0)->control.f)

static uint64_t field_get(struct vmcb *vmcb, const struct vmrun_case *c)
{
	void *f = (uint8_t *)vmcb + c->off;

	switch (c->size) {
	case 2: return *(uint16_t *)f;
	case 4: return *(uint32_t *)f;
	case 8: return *(uint64_t *)f;
	}
	return 0;
}

static void field_set(struct vmcb *vmcb, const struct vmrun_case *c, uint64_t v)
{
	void *f = (uint8_t *)vmcb + c->off;

	switch (c->size) {
	case 2: *(uint16_t *)f = v; break;
	case 4: *(uint32_t *)f = v; break;
	case 8: *(uint64_t *)f = v; break;
	}
}

/*
 * The good VMCB (L1's state, L2 at l2_vmmcall), turned into mode: PAE or
 * legacy 32-bit paging with CR3 at an empty table, so a valid entry takes
 * a #PF at L2's first fetch.  Every exception and shutdown exits, so an
 * entry that should have failed can't take L1 down with it.
 */
static void vmcb_prepare(struct nested_pages *p, enum paging_mode mode, bool np)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	struct gdt_segment cs32;

	svm_init(&p->svm, l2_vmmcall, p->l2_stack_top);
	vmcb->control.intercept_exceptions = ~0u;
	vmcb->control.intercept_misc1 |= SVM_INTERCEPT_SHUTDOWN;
	if (np) {
		vmcb->control.nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
		vmcb->control.nested_cr3 = p->pool;
	}
	if (mode == MODE_LONG)
		return;
	vmcb->save.efer &= ~(EFER_LME | EFER_LMA);
	if (mode == MODE_LEGACY)
		vmcb->save.cr4 &= ~X86_CR4_PAE;
	vmcb->save.cr3 = p->pool;
	cs32 = guest_gdt_segment(KERNEL_CS32);
	vmcb->save.cs.selector = KERNEL_CS32;
	vmcb->save.cs.attrib = ((cs32.desc >> 40) & 0xff) | (((cs32.desc >> 52) & 0xf) << 8);
	vmcb->save.cs.limit = cs32.limit;
	vmcb->save.cs.base = cs32.base;
}

static void run_cases(struct nested_pages *p, const struct vmrun_case *cases, unsigned int n)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	unsigned int maxphy = guest_maxphyaddr();
	unsigned int ran = 0, skipped = 0, failed = 0;
	struct svm_gprs r = { 0 };

	/* One zeroed page: PDPT/page directory/nested PML4 with nothing present. */
	GUEST_ASSERT(p->pool + PAGE_SIZE <= (1ULL << 32));
	memset((void *)(uintptr_t)p->pool, 0, PAGE_SIZE);
	guest_install_handler(NMI_VECTOR, l2_event_handler);
	guest_install_handler(EVENT_VECTOR, l2_event_handler);

	for (const struct vmrun_case *c = cases; c < cases + n; c++) {
		uint64_t old = 0, new = 0, code, want;

		if ((c->absent.leaf && this_cpu_has(c->absent)) ||
		    (c->needs.leaf && !this_cpu_has(c->needs))) {
			GUEST_PRINTF("%s: not run, the guest's CPUID %s the feature\n", c->name,
				     c->absent.leaf ? "has" : "lacks");
			skipped++;
			continue;
		}
		vmcb_prepare(p, c->mode, c->np);
		if (c->size) {
			old = field_get(vmcb, c);
			switch (c->how) {
			case HOW_BITS: new = (old & ~c->clear) | c->set; break;
			case HOW_PA_BIT: new = old | (1ULL << maxphy); break;
			case HOW_PA_TOP: new = (1ULL << maxphy) - c->set; break;
			}
			field_set(vmcb, c, new);
		}
		l2_events = 0;
		svm_run(p->svm.vmcb, &r);
		code = vmcb->control.exit_code;
		want = !c->valid ? SVM_EXIT_INVALID :
		       c->mode == MODE_LONG ? SVM_EXIT_VMMCALL : SVM_EXIT_EXCP_BASE + PF_VECTOR;
		if (code != want && c->cpu_checks && cpu_is_qemu_tcg &&
		    code == QEMU_TCG_VMEXIT_INVALID) {
			GUEST_PRINTF("%s: #VMEXIT 0x%lx: refused by QEMU TCG's VMRUN (a 32-bit "
				     "VMEXIT_INVALID), not by KVM, which leaves this check to the "
				     "CPU; accepted as the emulator's encoding\n", c->name, code);
		} else if (code != want) {
			/*
			 * KVM's own checks write all 64 bits of VMEXIT_INVALID;
			 * 0xffffffff comes from the CPU underneath (QEMU TCG stores
			 * a 32-bit -1) refusing the VMCB02 KVM built from it: KVM
			 * did not check this itself.
			 */
			GUEST_PRINTF("FAIL %s (%s): #VMEXIT %s (0x%lx), expected %s%s; VMCB offset "
				     "0x%x: 0x%lx -> 0x%lx; exit_info_1 0x%lx exit_info_2 0x%lx; "
				     "MAXPHYADDR %u; L2 took %lu stray events\n", c->name,
				     mode_names[c->mode], svm_exit_name(code), code,
				     svm_exit_name(want),
				     code == 0xffffffffULL ? " (0xffffffff: KVM let the CPU "
				     "underneath find it)" : "", c->off, old, new,
				     vmcb->control.exit_info_1, vmcb->control.exit_info_2, maxphy,
				     l2_events);
			failed++;
		}

		/* The good VMCB still runs afterwards. */
		vmcb_prepare(p, MODE_LONG, false);
		svm_run(p->svm.vmcb, &r);
		__GUEST_ASSERT(vmcb->control.exit_code == SVM_EXIT_VMMCALL,
			       "the good VMCB after case '%s': #VMEXIT %s (0x%lx), expected VMMCALL",
			       c->name, svm_exit_name(vmcb->control.exit_code),
			       vmcb->control.exit_code);
		ran++;
	}
	__GUEST_ASSERT(!failed, "%u of %u cases failed (FAIL lines above)", failed, ran);
	GUEST_PRINTF("%u cases run, %u not applicable here (MAXPHYADDR %u)\n", ran, skipped,
		     maxphy);
	GUEST_DONE();
}

#define BIT63	(1ULL << 63)

static const struct vmrun_case save_cases[] = {
	/* EFER (APM 15.5.1: SVME zero, any MBZ bit; 3.1.7 for the bits) */
	{ "EFER.SVME=0", MODE_LONG, SAVE(efer), .clear = EFER_SVME },
	{ "EFER bit 1 (MBZ, bits 7:1)", MODE_LONG, SAVE(efer), .set = 1ULL << 1 },
	{ "EFER bit 7 (MBZ, bits 7:1)", MODE_LONG, SAVE(efer), .set = 1ULL << 7 },
	{ "EFER bit 9 (MBZ)", MODE_LONG, SAVE(efer), .set = 1ULL << 9 },
	{ "EFER bit 16 (MBZ)", MODE_LONG, SAVE(efer), .set = 1ULL << 16 },
	{ "EFER bit 32 (MBZ, bits 63:22)", MODE_LONG, SAVE(efer), .set = 1ULL << 32 },
	{ "EFER bit 63 (MBZ, bits 63:22)", MODE_LONG, SAVE(efer), .set = BIT63 },
	{ "EFER.FFXSR without CPUID FFXSR", MODE_LONG, SAVE(efer), .set = EFER_FFXSR,
	  .absent = X86_FEATURE_FFXSR },
	{ "EFER.TCE without CPUID TCE", MODE_LONG, SAVE(efer), .set = EFER_TCE,
	  .absent = X86_FEATURE_TCE },
	/* the long-mode combinations of 15.5.1 */
	{ "EFER.LME=1 CR0.PG=1 CR4.PAE=0", MODE_LONG, SAVE(cr4), .clear = X86_CR4_PAE },
	{ "EFER.LME=1 CR0.PG=1 CR0.PE=0", MODE_LONG, SAVE(cr0), .clear = X86_CR0_PE },
	{ "EFER.LME=1 CR0.PG=1 CR4.PAE=1 CS.L=1 CS.D=1", MODE_LONG, SAVE(cs.attrib),
	  .set = SVM_SEG_ATTR_DB },
	/* CR0 */
	{ "CR0.CD=0 CR0.NW=1", MODE_LONG, SAVE(cr0), .clear = X86_CR0_CD, .set = X86_CR0_NW },
	{ "CR0 bit 32 (CR0[63:32] MBZ)", MODE_LONG, SAVE(cr0), .set = 1ULL << 32 },
	{ "CR0 bit 63 (CR0[63:32] MBZ)", MODE_LONG, SAVE(cr0), .set = BIT63 },
	/* CR3 in long mode: bits 51:MAXPHYADDR and 63:52 (5.3.2) */
	{ "CR3 bit MAXPHYADDR", MODE_LONG, SAVE(cr3), .how = HOW_PA_BIT },
	{ "CR3 bit 52 (MBZ, bits 63:52)", MODE_LONG, SAVE(cr3), .set = 1ULL << 52 },
	{ "CR3 bit 62 without CPUID LAM", MODE_LONG, SAVE(cr3), .set = 1ULL << 62,
	  .absent = X86_FEATURE_LAM },
	{ "CR3 bit 63 (MBZ, bits 63:52)", MODE_LONG, SAVE(cr3), .set = BIT63 },
	/* CR4 (3.7.1): reserved bits, and those of features the guest lacks */
	{ "CR4 bit 14 (SMXE, reserved on AMD)", MODE_LONG, SAVE(cr4), .set = X86_CR4_SMXE,
	  .absent = X86_FEATURE_SMX },
	{ "CR4 bit 15 (reserved)", MODE_LONG, SAVE(cr4), .set = 1ULL << 15 },
	{ "CR4 bit 19 (reserved)", MODE_LONG, SAVE(cr4), .set = 1ULL << 19 },
	{ "CR4 bit 31 (reserved)", MODE_LONG, SAVE(cr4), .set = 1ULL << 31 },
	{ "CR4 bit 32 (reserved)", MODE_LONG, SAVE(cr4), .set = 1ULL << 32 },
	{ "CR4 bit 63 (reserved)", MODE_LONG, SAVE(cr4), .set = BIT63 },
	{ "CR4.VMXE without CPUID VMX", MODE_LONG, SAVE(cr4), .set = X86_CR4_VMXE,
	  .absent = X86_FEATURE_VMX },
	{ "CR4.LA57 without CPUID LA57", MODE_LONG, SAVE(cr4), .set = X86_CR4_LA57,
	  .absent = X86_FEATURE_LA57 },
	{ "CR4.PKE without CPUID PKU", MODE_LONG, SAVE(cr4), .set = X86_CR4_PKE,
	  .absent = X86_FEATURE_PKU },
	{ "CR4.CET without CPUID shadow stacks", MODE_LONG, SAVE(cr4), .set = X86_CR4_CET,
	  .absent = X86_FEATURE_SHSTK },
	{ "CR4.UMIP without CPUID UMIP", MODE_LONG, SAVE(cr4), .set = X86_CR4_UMIP,
	  .absent = X86_FEATURE_UMIP },
	{ "CR4.SMAP without CPUID SMAP", MODE_LONG, SAVE(cr4), .set = X86_CR4_SMAP,
	  .absent = X86_FEATURE_SMAP },
	{ "CR4.FSGSBASE without CPUID FSGSBASE", MODE_LONG, SAVE(cr4), .set = X86_CR4_FSGSBASE,
	  .absent = X86_FEATURE_FSGSBASE },
	/* DR6, DR7: bits 63:32 MBZ (13.1) */
	{ "DR6 bit 32 (DR6[63:32] MBZ)", MODE_LONG, SAVE(dr6), .set = 1ULL << 32 },
	{ "DR6 bit 63 (DR6[63:32] MBZ)", MODE_LONG, SAVE(dr6), .set = BIT63 },
	{ "DR7 bit 32 (DR7[63:32] MBZ)", MODE_LONG, SAVE(dr7), .set = 1ULL << 32 },
	{ "DR7 bit 63 (DR7[63:32] MBZ)", MODE_LONG, SAVE(dr7), .set = BIT63 },
	/*
	 * Segment and descriptor-table bases are canonicalized, not checked
	 * (15.5.1): a non-canonical one (bit 62, for 48- and 57-bit
	 * addresses) still enters L2, which does not use them.
	 */
	{ "ES.base not canonical", MODE_LONG, SAVE(es.base), .set = 1ULL << 62, .valid = true },
	{ "CS.base not canonical", MODE_LONG, SAVE(cs.base), .set = 1ULL << 62, .valid = true },
	{ "SS.base not canonical", MODE_LONG, SAVE(ss.base), .set = 1ULL << 62, .valid = true },
	{ "DS.base not canonical", MODE_LONG, SAVE(ds.base), .set = 1ULL << 62, .valid = true },
	{ "GDTR.base not canonical", MODE_LONG, SAVE(gdtr.base), .set = 1ULL << 62,
	  .valid = true },
	{ "IDTR.base not canonical", MODE_LONG, SAVE(idtr.base), .set = 1ULL << 62,
	  .valid = true },
	/* PAE paging (5.2): the baseline enters L2; then MBZ bits */
	{ "baseline: enters L2", MODE_PAE, .valid = true },
	{ "CR3 bit MAXPHYADDR", MODE_PAE, SAVE(cr3), .how = HOW_PA_BIT },
	{ "CR3 bit 63", MODE_PAE, SAVE(cr3), .set = BIT63 },
	{ "CR0 bit 32", MODE_PAE, SAVE(cr0), .set = 1ULL << 32 },
	{ "CR0.CD=0 CR0.NW=1", MODE_PAE, SAVE(cr0), .clear = X86_CR0_CD, .set = X86_CR0_NW },
	{ "CR4 bit 15 (reserved)", MODE_PAE, SAVE(cr4), .set = 1ULL << 15 },
	{ "CR4 bit 63 (reserved)", MODE_PAE, SAVE(cr4), .set = BIT63 },
	{ "EFER bit 1 (MBZ)", MODE_PAE, SAVE(efer), .set = 1ULL << 1 },
	{ "DR7 bit 32", MODE_PAE, SAVE(dr7), .set = 1ULL << 32 },
	/* legacy (non-PAE) 32-bit paging (5.2) */
	{ "baseline: enters L2", MODE_LEGACY, .valid = true },
	{ "CR3 bit MAXPHYADDR", MODE_LEGACY, SAVE(cr3), .how = HOW_PA_BIT },
	{ "CR3 bit 63", MODE_LEGACY, SAVE(cr3), .set = BIT63 },
	{ "CR0 bit 32", MODE_LEGACY, SAVE(cr0), .set = 1ULL << 32 },
	{ "CR4 bit 15 (reserved)", MODE_LEGACY, SAVE(cr4), .set = 1ULL << 15 },
	{ "CR4 bit 63 (reserved)", MODE_LEGACY, SAVE(cr4), .set = BIT63 },
	{ "DR6 bit 32", MODE_LEGACY, SAVE(dr6), .set = 1ULL << 32 },
};

static void l1_save_checks(struct nested_pages *p)
{
	run_cases(p, save_cases, ARRAY_SIZE(save_cases));
}

static const struct vmrun_case control_cases[] = {
	{ "VMRUN intercept clear", MODE_LONG, VMCB_CTRL(intercept_misc2),
	  .clear = SVM_INTERCEPT2_VMRUN },
	{ "ASID 0", MODE_LONG, VMCB_CTRL(asid), .clear = ~0ULL },
	/* "The MSR or IOIO intercept tables extend to a physical address >= MAXPHYADDR" */
	{ "MSRPM last page at MAXPHYADDR", MODE_LONG, VMCB_CTRL(msrpm_base_pa), .how = HOW_PA_TOP,
	  .set = SVM_MSRPM_SIZE - PAGE_SIZE },
	{ "MSRPM base with bit MAXPHYADDR set", MODE_LONG, VMCB_CTRL(msrpm_base_pa),
	  .how = HOW_PA_BIT },
	{ "MSRPM base bit 63", MODE_LONG, VMCB_CTRL(msrpm_base_pa), .set = BIT63 },
	{ "MSRPM ending at MAXPHYADDR - 1 (valid)", MODE_LONG, VMCB_CTRL(msrpm_base_pa),
	  .how = HOW_PA_TOP, .set = SVM_MSRPM_SIZE, .valid = true },
	/* "VMRUN ignores the lower 12 bits" of the map's address (15.11) */
	{ "MSRPM ending at MAXPHYADDR - 1, base bits 11:0 = 0x800 (valid)", MODE_LONG,
	  VMCB_CTRL(msrpm_base_pa), .how = HOW_PA_TOP, .set = SVM_MSRPM_SIZE - 0x800,
	  .valid = true },
	{ "IOPM last page at MAXPHYADDR", MODE_LONG, VMCB_CTRL(iopm_base_pa), .how = HOW_PA_TOP,
	  .set = SVM_IOPM_SIZE - PAGE_SIZE },
	{ "IOPM base with bit MAXPHYADDR set", MODE_LONG, VMCB_CTRL(iopm_base_pa),
	  .how = HOW_PA_BIT },
	{ "IOPM base bit 63", MODE_LONG, VMCB_CTRL(iopm_base_pa), .set = BIT63 },
	{ "IOPM ending at MAXPHYADDR - 1 (valid)", MODE_LONG, VMCB_CTRL(iopm_base_pa),
	  .how = HOW_PA_TOP, .set = SVM_IOPM_SIZE, .valid = true },
	{ "IOPM ending at MAXPHYADDR - 1, base bits 11:0 = 0x800 (valid)", MODE_LONG,
	  VMCB_CTRL(iopm_base_pa), .how = HOW_PA_TOP, .set = SVM_IOPM_SIZE - 0x800,
	  .valid = true },
	/* KVM's rules for nested paging (15.25.3) */
	{ "NP_ENABLE without CPUID NPT", MODE_LONG, .np = true, .absent = X86_FEATURE_NPT },
	{ "NP_ENABLE, nCR3 bit MAXPHYADDR", MODE_LONG, VMCB_CTRL(nested_cr3), .how = HOW_PA_BIT,
	  .np = true, .needs = X86_FEATURE_NPT },
	{ "NP_ENABLE, nCR3 bit 63", MODE_LONG, VMCB_CTRL(nested_cr3), .set = BIT63, .np = true,
	  .needs = X86_FEATURE_NPT },
};

static void l1_control_checks(struct nested_pages *p)
{
	run_cases(p, control_cases, ARRAY_SIZE(control_cases));
}


#define EVTINJ(type, vector)	(SVM_EVTINJ_VALID | (type) << 8 | (vector))

static const struct vmrun_case event_inj_cases[] = {
	{ "EVENTINJ type 1 (reserved)", MODE_LONG, VMCB_CTRL(event_inj), .clear = ~0ULL,
	  .set = EVTINJ(1, EVENT_VECTOR), .cpu_checks = true },
	{ "EVENTINJ type 5 (reserved)", MODE_LONG, VMCB_CTRL(event_inj), .clear = ~0ULL,
	  .set = EVTINJ(5, EVENT_VECTOR), .cpu_checks = true },
	{ "EVENTINJ type 6 (reserved)", MODE_LONG, VMCB_CTRL(event_inj), .clear = ~0ULL,
	  .set = EVTINJ(6, EVENT_VECTOR), .cpu_checks = true },
	{ "EVENTINJ type 7 (reserved)", MODE_LONG, VMCB_CTRL(event_inj), .clear = ~0ULL,
	  .set = EVTINJ(7, EVENT_VECTOR), .cpu_checks = true },
	{ "EVENTINJ exception with vector 2 (NMI)", MODE_LONG, VMCB_CTRL(event_inj),
	  .clear = ~0ULL, .set = EVTINJ(3, NMI_VECTOR), .cpu_checks = true },
	{ "EVENTINJ exception with vector 32 (not an exception)", MODE_LONG, VMCB_CTRL(event_inj),
	  .clear = ~0ULL, .set = EVTINJ(3, EVENT_VECTOR), .cpu_checks = true },
};

static void l1_event_inj_checks(struct nested_pages *p)
{
	run_cases(p, event_inj_cases, ARRAY_SIZE(event_inj_cases));
}

/*
 * Take PKU and LA57 out of the guest's CPUID, so CR4.PKE and CR4.LA57 are
 * reserved for L1 and L2 whatever the host has.
 */
static void hide_pku_la57(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid2 *cpuid = vcpu_get_cpuid(vcpu);
	struct kvm_cpuid_entry2 *e = cpuid_find_entry(cpuid, 7, 0);

	if (e)
		e->ecx &= ~(1u << X86_FEATURE_PKU.bit | 1u << X86_FEATURE_LA57.bit);
	vcpu_set_cpuid(vcpu, cpuid);
	free(cpuid);
}

KVM_VCPU_TEST(vmrun_bad_save_area_is_vmexit_invalid, l1_save_checks)
{
	TEST_REQUIRE_SVM();
	hide_pku_la57(vcpu);
	NESTED_RUN_L1(vm, vcpu);
}

SVM_TEST(vmrun_bad_controls_is_vmexit_invalid, l1_control_checks)
KVM_VCPU_TEST(vmrun_bad_event_injection_is_vmexit_invalid, l1_event_inj_checks)
{
	TEST_REQUIRE_SVM();
	cpu_is_qemu_tcg = kvm_cpu_emulator_is("qemu-tcg");
	sync_global_to_guest(vm, cpu_is_qemu_tcg);
	NESTED_RUN_L1(vm, vcpu);
}

/* ---- L1 state after #VMEXIT ---- */

#define L2_CS		0xf00	/* in L2's own GDT, past the end of L1's */
#define L2_SS		0xf08
#define L2_GDT_LIMIT	0xfff
#define L2_IDT_LIMIT	0x7ff
#define L1_DR7		0x700ULL	/* LE, GE: no breakpoint enabled */
#define L2_DR7		0x600ULL
#define L2_RAX		0x1122334455667788ULL

struct dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* What L2 loads (set by L1), and what L1 saw around its VMRUN. */
struct dtr l2_gdtr, l2_idtr;
uint64_t l2_cr3, l2_rsp;
uint64_t l1_rsp_before, l1_rsp_after, l1_rax_after, l1_rflags_before, l1_rflags_after;

/*
 * L2: its own GDT, CS and SS from it, null DS/ES, its own IDT and page
 * tables (copies: same mappings), DR7, the arithmetic flags and DF, every
 * GPR, RSP; then VMMCALL.
 */
void l2_change_everything(void);
asm(".pushsection .text\n"
    "l2_change_everything:\n\t"
    "lgdt l2_gdtr(%rip)\n\t"
    "pushq $" __stringify(L2_CS) "\n\t"
    "leaq 1f(%rip), %rax\n\t"
    "pushq %rax\n\t"
    "lretq\n"
    "1:\tmovl $" __stringify(L2_SS) ", %eax\n\t"
    "movl %eax, %ss\n\t"
    "xorl %eax, %eax\n\t"
    "movl %eax, %ds\n\t"
    "movl %eax, %es\n\t"
    "lidt l2_idtr(%rip)\n\t"
    "movq l2_cr3(%rip), %rax\n\t"
    "movq %rax, %cr3\n\t"
    "movq $" __stringify(L2_DR7) ", %rax\n\t"
    "movq %rax, %dr7\n\t"
    "movq $-1, %rbx\n\t"
    "movq $-1, %rcx\n\t"
    "movq $-1, %rdx\n\t"
    "movq $-1, %rsi\n\t"
    "movq $-1, %rdi\n\t"
    "movq $-1, %rbp\n\t"
    "movq $-1, %r12\n\t"
    "movq $-1, %r15\n\t"
    "movq l2_rsp(%rip), %rsp\n\t"
    "movabsq $" __stringify(L2_RAX) ", %rax\n\t"
    "xorl %ecx, %ecx\n\t"		/* ZF=1 PF=1, CF=0 */
    "std\n\t"
    "vmmcall\n\t"
    "ud2\n"
    ".popsection");

/* An L2 that only exits. */
void l2_just_vmmcall(void);
asm(".pushsection .text\n"
    "l2_just_vmmcall:\n\t"
    "vmmcall\n\t"
    "ud2\n"
    ".popsection");

/*
 * VMRUN with GIF set and CF set, RSP, RAX and RFLAGS taken in the
 * instructions right around it (before any push), the stack then put back
 * so a wrong RSP can't crash L1 before it reports.  L2 clobbers every GPR.
 */
static void l1_vmrun_watched(uint64_t vmcb_gpa)
{
	asm volatile(PUSH_CALLEE_SAVED
		     "stgi\n\t"
		     "stc\n\t"
		     "pushfq\n\t"
		     "popq l1_rflags_before(%%rip)\n\t"
		     "movq %%rsp, l1_rsp_before(%%rip)\n\t"
		     "vmrun %%rax\n\t"
		     "movq %%rsp, l1_rsp_after(%%rip)\n\t"
		     "movq %%rax, l1_rax_after(%%rip)\n\t"
		     "movq l1_rsp_before(%%rip), %%rsp\n\t"
		     "pushfq\n\t"
		     "popq l1_rflags_after(%%rip)\n\t"
		     "cld\n\t"
		     POP_CALLEE_SAVED
		     : "+a"(vmcb_gpa)
		     :
		     : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
}

static uint16_t get_cs(void)
{
	uint16_t s;

	asm volatile("mov %%cs, %0" : "=r"(s));
	return s;
}

static uint16_t get_ss(void)
{
	uint16_t s;

	asm volatile("mov %%ss, %0" : "=r"(s));
	return s;
}

static uint64_t get_dr7(void)
{
	uint64_t v;

	asm volatile("mov %%dr7, %0" : "=r"(v));
	return v;
}

static void set_dr7(uint64_t v)
{
	asm volatile("mov %0, %%dr7" :: "r"(v) : "memory");
}

#define CHECK_L1(what, got, expected) do {					\
	uint64_t __got = (got), __exp = (expected);				\
	__GUEST_ASSERT(__got == __exp, "L1's %s after #VMEXIT: 0x%lx, expected 0x%lx "	\
		       "(from the host save area, 15.6)", what, __got, __exp);	\
} while (0)

#define CHECK_VMCB(field, expected) do {					\
	uint64_t __got = (field), __exp = (expected);				\
	__GUEST_ASSERT(__got == __exp, "VMCB12 %s after #VMEXIT: 0x%lx, L2 had 0x%lx",	\
		       #field, __got, __exp);					\
} while (0)

static void l1_vmexit_loads_host_state(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	uint64_t *l2_gdt = (uint64_t *)(uintptr_t)p->pool;
	void *l2_idt = (void *)(uintptr_t)(p->pool + PAGE_SIZE);
	void *l2_pml4 = (void *)(uintptr_t)(p->pool + 2 * PAGE_SIZE);
	struct dtr gdtr, idtr, gdtr_after, idtr_after;
	uint16_t cs = get_cs(), ss = get_ss();
	uint64_t cr3 = get_cr3();
	struct svm_gprs r = { 0 };

	asm volatile("sgdt %0" : "=m"(gdtr));
	asm volatile("sidt %0" : "=m"(idtr));

	/* L2's GDT: L1's, plus copies of its 64-bit code and data descriptors at L2_CS/L2_SS. */
	memset(l2_gdt, 0, PAGE_SIZE);
	memcpy(l2_gdt, (void *)(uintptr_t)gdtr.base, gdtr.limit + 1);
	l2_gdt[L2_CS / 8] = guest_gdt_segment(KERNEL_CS).desc;
	l2_gdt[L2_SS / 8] = guest_gdt_segment(KERNEL_DS).desc;
	l2_gdtr = (struct dtr){ .limit = L2_GDT_LIMIT, .base = p->pool };
	memcpy(l2_idt, (void *)(uintptr_t)idtr.base, L2_IDT_LIMIT + 1);
	l2_idtr = (struct dtr){ .limit = L2_IDT_LIMIT, .base = (uintptr_t)l2_idt };
	memcpy(l2_pml4, (void *)(uintptr_t)(cr3 & ~0xfffULL), PAGE_SIZE);
	l2_cr3 = (uintptr_t)l2_pml4;
	l2_rsp = p->l2_stack_top - 0x80;

	svm_init(&p->svm, l2_change_everything, p->l2_stack_top);
	vmcb->control.intercept_exceptions = ~0u;
	vmcb->control.intercept_misc1 |= SVM_INTERCEPT_SHUTDOWN;
	set_dr7(L1_DR7);
	l1_vmrun_watched(p->svm.vmcb);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);

	/* L1's state, from the host save area (15.6). */
	CHECK_L1("RSP", l1_rsp_after, l1_rsp_before);
	CHECK_L1("RAX (VMCB address)", l1_rax_after, p->svm.vmcb);
	CHECK_L1("RFLAGS", l1_rflags_after, l1_rflags_before);
	CHECK_L1("DR7 (reset to 0x400, L1 had 0x700)", get_dr7(), DR7_FIXED_1);
	CHECK_L1("CS", get_cs(), cs);
	CHECK_L1("SS", get_ss(), ss);
	CHECK_L1("CR3", get_cr3(), cr3);
	asm volatile("sgdt %0" : "=m"(gdtr_after));
	asm volatile("sidt %0" : "=m"(idtr_after));
	CHECK_L1("GDTR.base", gdtr_after.base, gdtr.base);
	CHECK_L1("GDTR.limit", gdtr_after.limit, gdtr.limit);
	CHECK_L1("IDTR.base", idtr_after.base, idtr.base);
	CHECK_L1("IDTR.limit", idtr_after.limit, idtr.limit);

	/* L2's, in VMCB12. */
	CHECK_VMCB(vmcb->save.cs.selector, L2_CS);
	CHECK_VMCB(vmcb->save.ss.selector, L2_SS);
	CHECK_VMCB(vmcb->save.gdtr.base, l2_gdtr.base);
	CHECK_VMCB(vmcb->save.gdtr.limit, L2_GDT_LIMIT);
	CHECK_VMCB(vmcb->save.idtr.base, l2_idtr.base);
	CHECK_VMCB(vmcb->save.cr3, l2_cr3);
	CHECK_VMCB(vmcb->save.dr7, L2_DR7);
	CHECK_VMCB(vmcb->save.rsp, l2_rsp);
	CHECK_VMCB(vmcb->save.rax, L2_RAX);
	/* XOR leaves AF undefined: the other arithmetic flags and DF. */
	CHECK_VMCB(vmcb->save.rflags & ((X86_EFLAGS_ARITH & ~X86_EFLAGS_AF) | X86_EFLAGS_DF),
		   X86_EFLAGS_ZF | X86_EFLAGS_PF | X86_EFLAGS_DF);
	set_dr7(DR7_FIXED_1);

	/* CPL: L2 at 3 (user CS/SS); L1 is back at 0. */
	svm_init(&p->svm, l2_just_vmmcall, p->l2_stack_top);
	vmcb->control.intercept_exceptions = ~0u;
	vmcb->control.intercept_misc1 |= SVM_INTERCEPT_SHUTDOWN;
	vmcb->save.cs.selector = USER_CS;
	vmcb->save.cs.attrib |= 3 << 5;		/* DPL 3 */
	vmcb->save.ss.selector = USER_DS;
	vmcb->save.ss.attrib |= 3 << 5;
	vmcb->save.cpl = 3;
	svm_run(p->svm.vmcb, &r);
	__GUEST_ASSERT(vmcb->control.exit_code == SVM_EXIT_VMMCALL ||
		       vmcb->control.exit_code == SVM_EXIT_EXCP_BASE + PF_VECTOR,
		       "L2 at CPL 3: #VMEXIT %s (0x%lx), expected VMMCALL or #PF",
		       svm_exit_name(vmcb->control.exit_code), vmcb->control.exit_code);
	CHECK_VMCB(vmcb->save.cpl, 3);
	CHECK_L1("CPL (CS.RPL)", get_cs() & 3, 0);
	CHECK_L1("SS", get_ss(), ss);

	/* And L1 goes on: a normal L2 runs. */
	svm_init(&p->svm, l2_vmmcall, p->l2_stack_top);
	svm_run(p->svm.vmcb, &r);
	SVM_EXPECT_EXIT(vmcb, SVM_EXIT_VMMCALL);
	GUEST_DONE();
}

SVM_TEST(vmexit_loads_l1_state_from_host_save_area, l1_vmexit_loads_host_state)

/* ---- GIF after #VMEXIT ---- */

#define IPI_VECTOR	0xe1

static volatile uint64_t ipis;

static void ipi_handler(struct ex_regs *regs)
{
	ipis++;
	xapic_write(APIC_EOI, 0);
}

static void l1_gif_after_vmexit(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);

	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	guest_install_handler(IPI_VECTOR, ipi_handler);
	for (int invalid = 0; invalid < 2; invalid++) {
		const char *exit = invalid ? "#VMEXIT(INVALID)" : "#VMEXIT(VMMCALL)";
		uint64_t gpa = p->svm.vmcb;

		svm_init(&p->svm, l2_just_vmmcall, p->l2_stack_top);
		if (invalid)
			vmcb->control.asid = 0;
		ipis = 0;
		/* VMRUN with GIF=1 (and IF=0): GIF is clear after the #VMEXIT. */
		stgi();
		asm volatile("vmrun %%rax" : "+a"(gpa) :: "memory", "cc");
		SVM_EXPECT_EXIT(vmcb, invalid ? SVM_EXIT_INVALID : SVM_EXIT_VMMCALL);
		xapic_write(APIC_ICR_LO, APIC_DEST_SELF | APIC_DM_FIXED | IPI_VECTOR);
		asm volatile("sti\n\tnop\n\tnop\n\tnop\n\tcli" ::: "memory");
		__GUEST_ASSERT(ipis == 0, "after %s, a self-IPI was taken with GIF (should be) "
			       "clear and IF=1: %lu taken", exit, ipis);
		asm volatile("sti\n\tstgi\n\tnop\n\tnop\n\tcli" ::: "memory");
		__GUEST_ASSERT(ipis == 1, "after %s, the held self-IPI: %lu taken at STGI, "
			       "expected 1", exit, ipis);
	}
	GUEST_DONE();
}

KVM_TEST(gif_is_clear_after_vmexit_until_stgi)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	TEST_REQUIRE_SVM();
	vm = vm_create_opts(&(struct vm_opts){ .irqchip = true });
	virt_map_mmio(vm, APIC_DEFAULT_GPA, PAGE_SIZE);
	vcpu = vm_vcpu_add(vm, 0, l1_gif_after_vmexit);
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	NESTED_RUN_L1(vm, vcpu);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN
