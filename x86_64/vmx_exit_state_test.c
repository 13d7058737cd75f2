// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intel VMX: the state a VM exit leaves behind, L1's view (SDM vol. 3C
 * chapter 28 "VM Exits", numbering of the 2023 and later editions; chapter
 * 27 in older ones).
 *
 *  - 28.5 "Loading Host State": L2 changes what it can (its own GDT, IDT,
 *    LDT and TSS, data segment selectors, FS/GS bases, CR0/CR3/CR4 within
 *    the fixed bits, SYSENTER MSRs, PAT, DR7, RFLAGS) and exits; L1 set
 *    every host field to a value that is neither its own state before
 *    VMLAUNCH nor L2's, so a field that is not loaded shows.  L1 checks
 *    what instructions can read (selectors, SLDT = 0, SGDT/SIDT bases,
 *    control registers, MSRs, DR7 = 400H, RFLAGS); the host checks the
 *    hidden parts with KVM_GET_SREGS (28.5.2: CS type 11 with L=1, SS/DS
 *    base 0 limit FFFFFFFFH, TR base from the host field, limit 67H, type
 *    11 busy TSS, LDTR unusable with selector 0, GDTR/IDTR bases);
 *  - 28.3 "Saving Guest State": the guest-state fields hold L2's values at
 *    the exit (control registers, RSP, RIP, RFLAGS, selectors, bases,
 *    limits and access rights, GDTR/IDTR, LDTR/TR, DR7 with save debug
 *    controls, EFER with save IA32_EFER, PAT with save IA32_PAT, SYSENTER);
 *  - 28.2 "Recording VM-Exit Information": a table of exits (CPUID, HLT,
 *    RDMSR, WRMSR, VMCALL, OUT imm8, IN DX, OUTS, REP OUTS, MOV to/from
 *    CR3, INVLPG with a prefix, SGDT, VMREAD/VMWRITE register and memory
 *    forms): exit reason, qualification, VM-exit instruction length, guest
 *    RIP, the VM-exit instruction-information field (tables 28-10 and
 *    28-13 of the 2023 edition) and the guest-linear address of OUTS
 *    (28.2.1), and the interruptibility state after STI and MOV SS (28.3.4);
 *  - 28.4 "Saving MSRs" and 28.6 "Loading Host MSRs": the VM-exit MSR-store
 *    area gets L2's values, the VM-exit MSR-load area is loaded after the
 *    host-state fields (an entry for IA32_SYSENTER_CS wins over the field);
 *  - 28.7 "VMX Aborts": an exit MSR-load entry that cannot be loaded
 *    (IA32_FS_BASE, 28.6) is a VMX abort: the logical processor shuts
 *    down; KVM makes it a triple fault of L1, KVM_EXIT_SHUTDOWN (api.rst).
 *
 * kvm_intel builds all of 28.5 and 28.4/28.6 in software (nested.c:
 * load_vmcs12_host_state, nested_vmx_store_msr, nested_vmx_load_msr) and
 * copies the exit information of the exits it reflects from the
 * processor's vmcs02 (prepare_vmcs12), so in the Intel lane the exit
 * information rows test Bochs' VMX through KVM.
 *
 * Idea: kvm-unit-tests x86/vmx_tests.c ("MSR switch": exit MSR-store and
 * MSR-load areas; "instruction intercept": exit reasons and
 * qualifications; vmx_ldtr_test: LDTR 0 after an exit), as tables here.  No
 * upstream selftest checks the exit state; vmx_set_nested_state_test.c and
 * svm_nested_shutdown_test.c are the nearest (nested state, an L1 shutdown).
 * vmx_insn_test.c checks the GDTR/IDTR limits.
 *
 * KVM does not write the VMX-abort indicator (nested_vmx_abort() only
 * requests the triple fault): vmx_abort_indicator fails on kvm_intel.
 *
 * Caught bugs: bugs/nested-vmx-exit-host-sysenter-esp.patch,
 * bugs/nested-vmx-exit-guest-ldtr-selector.patch,
 * bugs/nested-vmx-exit-io-insn-len.patch,
 * bugs/nested-vmx-exit-msr-store-last.patch,
 * bugs/nested-vmx-exit-msr-load-no-abort.patch
 */
#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "nested.h"

#define MSR_IA32_DEBUGCTL	0x1d9

struct dt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static struct nested n;

static inline void sgdt(struct dt_ptr *p) { asm volatile("sgdt %0" : "=m"(*p)); }
static inline void sidt(struct dt_ptr *p) { asm volatile("sidt %0" : "=m"(*p)); }
static inline uint64_t get_dr7(void)
{
	uint64_t v;

	asm volatile("mov %%dr7, %0" : "=r"(v));
	return v;
}
static inline void set_dr7(uint64_t v) { asm volatile("mov %0, %%dr7" :: "r"(v)); }
static inline void set_rflags(uint64_t v) { asm volatile("push %0; popfq" :: "r"(v) : "cc"); }

#define SEL(reg) ({ uint16_t __s; asm volatile("mov %%" #reg ", %0" : "=r"(__s)); __s; })

/* A 16-byte system descriptor (LDT: type 2, 64-bit TSS: 9 available, 11 busy). */
static void set_sys_desc(void *gdt, uint16_t off, uint64_t base, uint32_t limit,
			 uint32_t type)
{
	uint64_t *d = (uint64_t *)((char *)gdt + off);

	d[0] = (limit & 0xffffULL) | ((base & 0xffffffULL) << 16) | ((uint64_t)type << 40) |
	       (1ULL << 47) | ((uint64_t)(limit >> 16 & 0xf) << 48) |
	       ((base >> 24 & 0xff) << 56);
	d[1] = base >> 32;
}

/* A copy of L1's GDT with an LDT and an available TSS after it; returns its GDTR. */
static struct dt_ptr gdt_copy(const struct dt_ptr *orig, uint16_t *ldt_sel, uint16_t *tss_sel,
			      uint64_t tss_base)
{
	uint64_t page = guest_nested_alloc_page(&n);
	uint16_t off = (orig->limit + 16) & ~15;

	__GUEST_ASSERT(off + 32 <= 4096, "GDT limit 0x%x: no room for two more descriptors",
		       orig->limit);
	memcpy((void *)page, (void *)orig->base, orig->limit + 1);
	set_sys_desc((void *)page, off, guest_nested_alloc_page(&n), 0xfff, 2);
	set_sys_desc((void *)page, off + 16, tss_base, 0x67, 9);
	*ldt_sel = off;
	*tss_sel = off + 16;
	return (struct dt_ptr){ .limit = off + 31, .base = page };
}

static uint64_t page_copy(uint64_t src, size_t len)
{
	uint64_t page = guest_nested_alloc_page(&n);

	memcpy((void *)page, (void *)src, len);
	return page;
}

/* ---- L2 changes everything it can, then VMCALL ---- */

#define L2_RFLAGS	(X86_EFLAGS_FIXED | X86_EFLAGS_CF | X86_EFLAGS_ZF | X86_EFLAGS_DF | \
			 X86_EFLAGS_OF | X86_EFLAGS_AC | X86_EFLAGS_IOPL | X86_EFLAGS_NT)

static struct l2_values {
	struct dt_ptr gdtr, idtr;
	uint16_t ldt_sel, tss_sel, data_sel;
	uint64_t fs_base, gs_base, sysenter_cs, sysenter_esp, sysenter_eip, pat, efer;
	uint64_t cr0, cr3, cr4, dr7, rflags, rsp;
} l2v;

/* The VMCALL of l2_scramble: the saved guest RIP. */
extern char l2_scramble_vmcall[];

static void l2_scramble(void)
{
	asm volatile("lgdt %0; lidt %1" :: "m"(l2v.gdtr), "m"(l2v.idtr));
	asm volatile("lldt %w0; ltr %w1" :: "r"(l2v.ldt_sel), "r"(l2v.tss_sel));
	asm volatile("mov %w0, %%ds; mov %w0, %%es; mov %w0, %%fs; mov %w0, %%gs"
		     :: "r"(l2v.data_sel));
	/* From here on no guest library: GS (per-vCPU data) is L2's now. */
	wrmsr(MSR_FS_BASE, l2v.fs_base);
	wrmsr(MSR_GS_BASE, l2v.gs_base);
	wrmsr(MSR_IA32_SYSENTER_CS, l2v.sysenter_cs);
	wrmsr(MSR_IA32_SYSENTER_ESP, l2v.sysenter_esp);
	wrmsr(MSR_IA32_SYSENTER_EIP, l2v.sysenter_eip);
	wrmsr(MSR_IA32_CR_PAT, l2v.pat);
	wrmsr(MSR_EFER, l2v.efer);
	set_cr0(l2v.cr0);
	set_cr3(l2v.cr3);
	set_cr4(l2v.cr4);
	set_dr7(l2v.dr7);
	asm volatile("mov %%rsp, %0\n\t"
		     "push %1\n\t"
		     "popfq\n\t"
		     ".global l2_scramble_vmcall\n"
		     "l2_scramble_vmcall: vmcall\n\t"
		     "ud2"
		     : "=m"(l2v.rsp) : "r"(l2v.rflags) : "memory");
}

/* ---- L1's set-up: host fields that differ from L1 before VMLAUNCH and from L2 ---- */

static struct host_values {
	struct dt_ptr gdtr, idtr;
	uint16_t cs, ss, ds, es, fs, gs, tr;
	uint64_t fs_base, gs_base, tr_base, sysenter_cs, sysenter_esp, sysenter_eip, pat, efer;
	uint64_t cr0, cr3, cr4;
} hv;				/* also read by the host (KVM_GET_SREGS checks) */

/* What L1 had before: restored after each check. */
static struct {
	struct dt_ptr gdtr, idtr;
	uint16_t ds, es, fs, gs;
	uint64_t fs_base, gs_base, sysenter_cs, sysenter_esp, sysenter_eip, pat, efer;
	uint64_t cr0, cr3, cr4, dr7, rflags;
} l1;

/* L1 before VMLAUNCH: its GDT and IDT copied, an LDT, its own values of these. */
static struct {
	struct dt_ptr gdtr, idtr;
	uint16_t ldt_sel;
	uint64_t gs_base;
} pre;

#define PAT_ENTRY(pat, i, type)	(((pat) & ~(0xffULL << 8 * (i))) | ((uint64_t)(type) << 8 * (i)))
#define FLIP_SEL(s)		((s) ? 0 : KERNEL_DS)

/* CR bits L1 and L2 toggle: those the fixed-bit MSRs leave free. */
static uint64_t free_bits(uint32_t fixed0, uint32_t fixed1, uint64_t want)
{
	return want & ~rdmsr(fixed0) & rdmsr(fixed1);
}

static void exit_state_setup(struct nested_pages *p)
{
	uint64_t cr0_l2, cr0_host, cr4_l2, cr4_host, tss_copy;
	uint16_t tss_sel_unused;
	struct gdt_segment tr;

	guest_nested_init(&n, p, l2_scramble);
	vmwrite(VM_EXIT_CONTROLS, vmread(VM_EXIT_CONTROLS) |
		vmx_adjust_controls(MSR_IA32_VMX_EXIT_CTLS, VM_EXIT_SAVE_DEBUG_CONTROLS));

	sgdt(&l1.gdtr);
	sidt(&l1.idtr);
	l1.ds = SEL(ds);
	l1.es = SEL(es);
	l1.fs = SEL(fs);
	l1.gs = SEL(gs);
	l1.fs_base = rdmsr(MSR_FS_BASE);
	l1.gs_base = rdmsr(MSR_GS_BASE);
	l1.sysenter_cs = rdmsr(MSR_IA32_SYSENTER_CS);
	l1.sysenter_esp = rdmsr(MSR_IA32_SYSENTER_ESP);
	l1.sysenter_eip = rdmsr(MSR_IA32_SYSENTER_EIP);
	l1.pat = rdmsr(MSR_IA32_CR_PAT);
	l1.efer = rdmsr(MSR_EFER);
	l1.cr0 = get_cr0();
	l1.cr3 = get_cr3();
	l1.cr4 = get_cr4();
	l1.dr7 = get_dr7();
	l1.rflags = get_rflags();

	cr0_l2 = free_bits(MSR_IA32_VMX_CR0_FIXED0, MSR_IA32_VMX_CR0_FIXED1, X86_CR0_WP);
	cr0_host = free_bits(MSR_IA32_VMX_CR0_FIXED0, MSR_IA32_VMX_CR0_FIXED1, X86_CR0_AM);
	cr4_l2 = free_bits(MSR_IA32_VMX_CR4_FIXED0, MSR_IA32_VMX_CR4_FIXED1, X86_CR4_PCE);
	cr4_host = free_bits(MSR_IA32_VMX_CR4_FIXED0, MSR_IA32_VMX_CR4_FIXED1, X86_CR4_TSD);
	__GUEST_ASSERT(cr0_l2 && cr0_host && cr4_l2 && cr4_host,
		       "CR0.WP/AM or CR4.PCE/TSD fixed in VMX operation");

	/* The host state: L1's GDT, IDT and TSS (a copy), other values. */
	hv.gdtr = l1.gdtr;
	hv.idtr = l1.idtr;
	hv.cs = SEL(cs);
	hv.ss = SEL(ss);
	hv.ds = FLIP_SEL(l1.ds);
	hv.es = FLIP_SEL(l1.es);
	hv.fs = FLIP_SEL(l1.fs);
	hv.gs = FLIP_SEL(l1.gs);
	asm volatile("str %0" : "=r"(hv.tr));
	tr = guest_gdt_segment(hv.tr);
	tss_copy = page_copy(tr.base, 0x68);
	hv.tr_base = tss_copy;
	hv.fs_base = 0x1000100010ULL;
	hv.gs_base = l1.gs_base;
	hv.sysenter_cs = 0x38;
	hv.sysenter_esp = 0xffffffff81000000ULL;
	hv.sysenter_eip = 0xffffffff82000000ULL;
	hv.pat = PAT_ENTRY(l1.pat, 7, 6);
	hv.efer = l1.efer ^ EFER_SCE;
	hv.cr0 = l1.cr0 ^ cr0_host;
	hv.cr3 = l1.cr3 | X86_CR3_PCD;
	hv.cr4 = l1.cr4 ^ cr4_host;
	vmwrite(HOST_CS_SELECTOR, hv.cs);
	vmwrite(HOST_SS_SELECTOR, hv.ss);
	vmwrite(HOST_DS_SELECTOR, hv.ds);
	vmwrite(HOST_ES_SELECTOR, hv.es);
	vmwrite(HOST_FS_SELECTOR, hv.fs);
	vmwrite(HOST_GS_SELECTOR, hv.gs);
	vmwrite(HOST_TR_SELECTOR, hv.tr);
	vmwrite(HOST_FS_BASE, hv.fs_base);
	vmwrite(HOST_GS_BASE, hv.gs_base);
	vmwrite(HOST_TR_BASE, hv.tr_base);
	vmwrite(HOST_GDTR_BASE, hv.gdtr.base);
	vmwrite(HOST_IDTR_BASE, hv.idtr.base);
	vmwrite(HOST_IA32_SYSENTER_CS, hv.sysenter_cs);
	vmwrite(HOST_IA32_SYSENTER_ESP, hv.sysenter_esp);
	vmwrite(HOST_IA32_SYSENTER_EIP, hv.sysenter_eip);
	vmwrite(HOST_IA32_PAT, hv.pat);
	vmwrite(HOST_IA32_EFER, hv.efer);
	vmwrite(HOST_CR0, hv.cr0);
	vmwrite(HOST_CR3, hv.cr3);
	vmwrite(HOST_CR4, hv.cr4);

	/* L1 right before VMLAUNCH: copies of its GDT and IDT, an LDT, a junk GS base. */
	pre.gdtr = gdt_copy(&l1.gdtr, &pre.ldt_sel, &tss_sel_unused, tss_copy);
	pre.idtr = (struct dt_ptr){ l1.idtr.limit, page_copy(l1.idtr.base, l1.idtr.limit + 1) };
	pre.gs_base = 0x2000200020ULL;

	/* L2: other copies, its own TSS, USER_DS, other values again. */
	l2v.gdtr = gdt_copy(&l1.gdtr, &l2v.ldt_sel, &l2v.tss_sel,
			    page_copy(tr.base, 0x68));
	l2v.idtr = (struct dt_ptr){ l1.idtr.limit, page_copy(l1.idtr.base, l1.idtr.limit + 1) };
	l2v.data_sel = USER_DS;
	l2v.fs_base = 0x3000300030ULL;
	l2v.gs_base = 0x4000400040ULL;
	l2v.sysenter_cs = 0x48;
	l2v.sysenter_esp = 0xffffffff83000000ULL;
	l2v.sysenter_eip = 0xffffffff84000000ULL;
	l2v.pat = PAT_ENTRY(l1.pat, 6, 5);
	l2v.efer = l1.efer ^ EFER_SCE;
	l2v.cr0 = l1.cr0 ^ cr0_l2;
	l2v.cr3 = l1.cr3 | X86_CR3_PWT;
	l2v.cr4 = l1.cr4 ^ cr4_l2;
	l2v.dr7 = 0x400 | DR7_L(0) | DR7_L(1) | (DR7_RW_WRITE << DR7_RW_SHIFT(0));
	l2v.rflags = L2_RFLAGS;
}

/* L1's own state back, after the checks. */
static void l1_restore(void)
{
	asm volatile("lgdt %0; lidt %1" :: "m"(l1.gdtr), "m"(l1.idtr));
	asm volatile("mov %w0, %%ds; mov %w1, %%es; mov %w2, %%fs; mov %w3, %%gs"
		     :: "r"(l1.ds), "r"(l1.es), "r"(l1.fs), "r"(l1.gs));
	wrmsr(MSR_GS_BASE, l1.gs_base);
	wrmsr(MSR_FS_BASE, l1.fs_base);
	wrmsr(MSR_IA32_SYSENTER_CS, l1.sysenter_cs);
	wrmsr(MSR_IA32_SYSENTER_ESP, l1.sysenter_esp);
	wrmsr(MSR_IA32_SYSENTER_EIP, l1.sysenter_eip);
	wrmsr(MSR_IA32_CR_PAT, l1.pat);
	wrmsr(MSR_EFER, l1.efer);
	set_cr0(l1.cr0);
	set_cr3(l1.cr3);
	set_cr4(l1.cr4);
	set_dr7(l1.dr7);
	set_rflags(l1.rflags);
}

/* VMLAUNCH from the "pre" state: returns the exit reason (VMfail ends the test). */
static uint32_t run_from_pre_state(void)
{
	struct vmx_gprs regs = { 0 };
	enum vmx_status s;
	uint32_t reason;

	asm volatile("lgdt %0; lidt %1; lldt %w2" :: "m"(pre.gdtr), "m"(pre.idtr),
		     "r"(pre.ldt_sel));
	wrmsr(MSR_FS_BASE, 0x5000500050ULL);
	wrmsr(MSR_IA32_SYSENTER_CS, 0x58);
	wrmsr(MSR_IA32_SYSENTER_ESP, 0xffffffff85000000ULL);
	wrmsr(MSR_IA32_SYSENTER_EIP, 0xffffffff86000000ULL);
	set_dr7(0x400 | DR7_L(2));
	set_rflags(X86_EFLAGS_FIXED | X86_EFLAGS_AC | X86_EFLAGS_IOPL);
	/* Nothing uses GS between here and the exit, which loads HOST_GS_BASE. */
	wrmsr(MSR_GS_BASE, pre.gs_base);
	reason = vmx_run(false, &regs, &s);
	if (s != VMX_OK) {
		l1_restore();
		GUEST_FAIL("VMLAUNCH: %s", vmx_status_name(s));
	}
	return reason;
}

/* ---- 28.5: L1 checks its registers ---- */

enum {
	R_CS, R_SS, R_DS, R_ES, R_FS, R_GS, R_TR, R_LDTR, R_GDTR_BASE, R_IDTR_BASE,
	R_FS_BASE, R_GS_BASE, R_CR0, R_CR3, R_CR4, R_EFER, R_PAT, R_SYSENTER_CS,
	R_SYSENTER_ESP, R_SYSENTER_EIP, R_DR7, R_DEBUGCTL, R_RFLAGS, NR_ROWS
};

static const char *const row_names[NR_ROWS] = {
	"CS selector", "SS selector", "DS selector", "ES selector", "FS selector",
	"GS selector", "TR selector (STR)", "LDTR selector (SLDT)", "GDTR base (SGDT)",
	"IDTR base (SIDT)", "IA32_FS_BASE", "IA32_GS_BASE", "CR0", "CR3", "CR4",
	"IA32_EFER", "IA32_PAT", "IA32_SYSENTER_CS", "IA32_SYSENTER_ESP",
	"IA32_SYSENTER_EIP", "DR7", "IA32_DEBUGCTL", "RFLAGS (DF, AC, NT, IOPL)",
};

static void l1_host_state(struct nested_pages *p)
{
	uint64_t got[NR_ROWS], want[NR_ROWS];
	struct dt_ptr gdtr, idtr;
	unsigned int failed = 0;
	uint32_t reason;
	uint16_t ldtr;

	exit_state_setup(p);
	reason = run_from_pre_state();

	/* Read everything first, before any C code of the library touches GS. */
	got[R_CS] = SEL(cs);
	got[R_SS] = SEL(ss);
	got[R_DS] = SEL(ds);
	got[R_ES] = SEL(es);
	got[R_FS] = SEL(fs);
	got[R_GS] = SEL(gs);
	asm volatile("str %0" : "=r"(got[R_TR]));
	asm volatile("sldt %0" : "=r"(ldtr));
	got[R_LDTR] = ldtr;
	sgdt(&gdtr);
	sidt(&idtr);
	got[R_GDTR_BASE] = gdtr.base;
	got[R_IDTR_BASE] = idtr.base;
	got[R_FS_BASE] = rdmsr(MSR_FS_BASE);
	got[R_GS_BASE] = rdmsr(MSR_GS_BASE);
	got[R_CR0] = get_cr0();
	got[R_CR3] = get_cr3();
	got[R_CR4] = get_cr4();
	got[R_EFER] = rdmsr(MSR_EFER);
	got[R_PAT] = rdmsr(MSR_IA32_CR_PAT);
	got[R_SYSENTER_CS] = rdmsr(MSR_IA32_SYSENTER_CS);
	got[R_SYSENTER_ESP] = rdmsr(MSR_IA32_SYSENTER_ESP);
	got[R_SYSENTER_EIP] = rdmsr(MSR_IA32_SYSENTER_EIP);
	got[R_DR7] = get_dr7();
	got[R_DEBUGCTL] = rdmsr(MSR_IA32_DEBUGCTL);
	got[R_RFLAGS] = get_rflags() & (X86_EFLAGS_DF | X86_EFLAGS_AC | X86_EFLAGS_NT |
					X86_EFLAGS_IOPL);

	want[R_CS] = hv.cs;
	want[R_SS] = hv.ss;
	want[R_DS] = hv.ds;
	want[R_ES] = hv.es;
	want[R_FS] = hv.fs;
	want[R_GS] = hv.gs;
	want[R_TR] = hv.tr;
	want[R_LDTR] = 0;
	want[R_GDTR_BASE] = hv.gdtr.base;
	want[R_IDTR_BASE] = hv.idtr.base;
	want[R_FS_BASE] = hv.fs_base;
	want[R_GS_BASE] = hv.gs_base;
	want[R_CR0] = hv.cr0;
	want[R_CR3] = hv.cr3;
	want[R_CR4] = hv.cr4;
	want[R_EFER] = hv.efer;
	want[R_PAT] = hv.pat;
	want[R_SYSENTER_CS] = hv.sysenter_cs;
	want[R_SYSENTER_ESP] = hv.sysenter_esp;
	want[R_SYSENTER_EIP] = hv.sysenter_eip;
	want[R_DR7] = 0x400;
	want[R_DEBUGCTL] = 0;
	want[R_RFLAGS] = 0;

	/* The host reads the hidden parts (bases, limits, attributes) now. */
	GUEST_SYNC(1);
	l1_restore();

	__GUEST_ASSERT(reason == EXIT_REASON_VMCALL, "exit reason %u, expected VMCALL", reason);
	for (unsigned int i = 0; i < NR_ROWS; i++) {
		if (got[i] == want[i])
			continue;
		GUEST_PRINTF("FAIL %s after the VM exit: 0x%lx, expected the host field 0x%lx",
			     row_names[i], got[i], want[i]);
		failed++;
	}
	__GUEST_ASSERT(!failed, "%u of %u host-state rows wrong (listed above)", failed,
		       NR_ROWS);
	GUEST_DONE();
}

/* ---- 28.3: the guest-state fields hold L2's values ---- */

/* Set by the host in the Intel lane (KVM_SUITE_CPU_EMULATOR=bochs): see below. */
static bool exit_state_on_bochs;
static bool nmi_blocking_seen;

static void l1_guest_state(struct nested_pages *p)
{
	struct gdt_segment user_ds;
	unsigned int failed = 0;
	uint32_t reason;
	struct {
		const char *name;
		uint64_t field, want;
	} rows[] = {
		{ "GUEST_RIP", GUEST_RIP, (uintptr_t)l2_scramble_vmcall },
		{ "GUEST_RSP", GUEST_RSP, 0 },
		{ "GUEST_RFLAGS", GUEST_RFLAGS, L2_RFLAGS },
		{ "GUEST_CR0", GUEST_CR0, 0 },
		{ "GUEST_CR3", GUEST_CR3, 0 },
		{ "GUEST_CR4", GUEST_CR4, 0 },
		{ "GUEST_DS_SELECTOR", GUEST_DS_SELECTOR, USER_DS },
		{ "GUEST_ES_SELECTOR", GUEST_ES_SELECTOR, USER_DS },
		{ "GUEST_FS_SELECTOR", GUEST_FS_SELECTOR, USER_DS },
		{ "GUEST_GS_SELECTOR", GUEST_GS_SELECTOR, USER_DS },
		{ "GUEST_DS_BASE", GUEST_DS_BASE, 0 },
		{ "GUEST_DS_LIMIT", GUEST_DS_LIMIT, 0 },
		{ "GUEST_DS_AR_BYTES", GUEST_DS_AR_BYTES, 0 },
		{ "GUEST_FS_BASE", GUEST_FS_BASE, 0 },
		{ "GUEST_GS_BASE", GUEST_GS_BASE, 0 },
		{ "GUEST_LDTR_SELECTOR", GUEST_LDTR_SELECTOR, 0 },
		{ "GUEST_LDTR_LIMIT", GUEST_LDTR_LIMIT, 0xfff },
		{ "GUEST_LDTR_AR_BYTES", GUEST_LDTR_AR_BYTES, 0x82 },
		{ "GUEST_TR_SELECTOR", GUEST_TR_SELECTOR, 0 },
		{ "GUEST_TR_LIMIT", GUEST_TR_LIMIT, 0x67 },
		{ "GUEST_TR_AR_BYTES", GUEST_TR_AR_BYTES, 0x8b },
		{ "GUEST_GDTR_BASE", GUEST_GDTR_BASE, 0 },
		{ "GUEST_GDTR_LIMIT", GUEST_GDTR_LIMIT, 0 },
		{ "GUEST_IDTR_BASE", GUEST_IDTR_BASE, 0 },
		{ "GUEST_DR7 (save debug controls)", GUEST_DR7, 0 },
		{ "GUEST_IA32_EFER (save IA32_EFER)", GUEST_IA32_EFER, 0 },
		{ "GUEST_IA32_PAT (save IA32_PAT)", GUEST_IA32_PAT, 0 },
		{ "GUEST_SYSENTER_CS", GUEST_SYSENTER_CS, 0 },
		{ "GUEST_SYSENTER_ESP", GUEST_SYSENTER_ESP, 0 },
		{ "GUEST_SYSENTER_EIP", GUEST_SYSENTER_EIP, 0 },
		{ "GUEST_INTERRUPTIBILITY_INFO", GUEST_INTERRUPTIBILITY_INFO, 0 },
		{ "GUEST_ACTIVITY_STATE", GUEST_ACTIVITY_STATE, 0 },
	};

	exit_state_setup(p);
	reason = run_from_pre_state();
	GUEST_SYNC(1);
	l1_restore();
	__GUEST_ASSERT(reason == EXIT_REASON_VMCALL, "exit reason %u, expected VMCALL", reason);

	/* USER_DS as L2 loaded it: the access sets the accessed bit (type 3). */
	user_ds = guest_gdt_segment(USER_DS);
	for (unsigned int i = 0; i < ARRAY_SIZE(rows); i++) {
		uint64_t *w = &rows[i].want, got;

		switch (rows[i].field) {
		case GUEST_RSP: *w = l2v.rsp; break;
		case GUEST_CR0: *w = l2v.cr0; break;
		case GUEST_CR3: *w = l2v.cr3; break;
		case GUEST_CR4: *w = l2v.cr4; break;
		case GUEST_DS_BASE: *w = user_ds.base; break;
		case GUEST_DS_LIMIT: *w = user_ds.limit; break;
		case GUEST_DS_AR_BYTES:
			*w = ((user_ds.desc >> 40) & 0xff) | 1 |
			     (((user_ds.desc >> 52) & 0xf) << 12);
			break;
		case GUEST_FS_BASE: *w = l2v.fs_base; break;
		case GUEST_GS_BASE: *w = l2v.gs_base; break;
		case GUEST_LDTR_SELECTOR: *w = l2v.ldt_sel; break;
		case GUEST_TR_SELECTOR: *w = l2v.tss_sel; break;
		case GUEST_GDTR_BASE: *w = l2v.gdtr.base; break;
		case GUEST_GDTR_LIMIT: *w = l2v.gdtr.limit; break;
		case GUEST_IDTR_BASE: *w = l2v.idtr.base; break;
		case GUEST_DR7: *w = l2v.dr7; break;
		case GUEST_IA32_EFER: *w = l2v.efer; break;
		case GUEST_IA32_PAT: *w = l2v.pat; break;
		case GUEST_SYSENTER_CS: *w = l2v.sysenter_cs; break;
		case GUEST_SYSENTER_ESP: *w = l2v.sysenter_esp; break;
		case GUEST_SYSENTER_EIP: *w = l2v.sysenter_eip; break;
		}
		got = vmread(rows[i].field);
		if (got == *w)
			continue;
		if (rows[i].field == GUEST_INTERRUPTIBILITY_INFO && got == GUEST_INTR_STATE_NMI &&
		    exit_state_on_bochs) {
			nmi_blocking_seen = true;
			continue;
		}
		GUEST_PRINTF("FAIL %s: 0x%lx, expected L2's 0x%lx", rows[i].name, got, *w);
		failed++;
	}
	__GUEST_ASSERT(!failed, "%u of %lu guest-state rows wrong (listed above)", failed,
		       ARRAY_SIZE(rows));
	if (nmi_blocking_seen)
		guest_nested_skip_test("every other guest-state row matched; GUEST_INTERRUPTIBILITY_INFO "
				       "read 0x8 (blocking by NMI) after L2's VMCALL although no NMI "
				       "was injected: seen now and then in the Intel lane only (2 of "
				       "~10 runs), not yet attributed to kvm_intel or Bochs "
				       "(Documentation/lanes.md)");
	GUEST_DONE();
}

/* Host side of both: KVM_GET_SREGS at GUEST_SYNC(1) sees L1 as the exit left it. */
static void check_sregs(struct __test_metadata *_metadata, struct kvm_vm *vm,
			struct kvm_vcpu *vcpu)
{
	struct kvm_sregs s;

	vcpu_sregs_get(vcpu, &s);
	sync_global_from_guest(vm, hv);
	/* 28.5.2: CS base 0, limit 4G, type 11, S=1, DPL 0, P=1, L=1 (host address-space size) */
	EXPECT_EQ(s.cs.selector, hv.cs);
	EXPECT_EQ(s.cs.base, 0);
	EXPECT_EQ(s.cs.limit, 0xffffffff);
	EXPECT_EQ(s.cs.type, 11);
	EXPECT_EQ(s.cs.s, 1);
	EXPECT_EQ(s.cs.dpl, 0);
	EXPECT_EQ(s.cs.present, 1);
	EXPECT_EQ(s.cs.l, 1);
	EXPECT_EQ(s.cs.db, 0);
	EXPECT_EQ(s.cs.g, 1);
	/* SS (never null here): base 0, limit 4G, type 3, S=1, D/B=1, G=1 */
	EXPECT_EQ(s.ss.selector, hv.ss);
	EXPECT_EQ(s.ss.base, 0);
	EXPECT_EQ(s.ss.limit, 0xffffffff);
	EXPECT_EQ(s.ss.type & 3, 3);
	EXPECT_EQ(s.ss.s, 1);
	EXPECT_EQ(s.ss.dpl, 0);
	EXPECT_EQ(s.ss.db, 1);
	/* FS/GS bases from the host fields, the others 0 */
	EXPECT_EQ(s.fs.base, hv.fs_base);
	EXPECT_EQ(s.gs.base, hv.gs_base);
	if (hv.ds) {
		EXPECT_EQ(s.ds.base, 0);
		EXPECT_EQ(s.ds.limit, 0xffffffff);
	}
	if (hv.es) {
		EXPECT_EQ(s.es.base, 0);
		EXPECT_EQ(s.es.limit, 0xffffffff);
	}
	/* TR: selector and base from the host fields, limit 67H, busy 64-bit TSS */
	EXPECT_EQ(s.tr.selector, hv.tr);
	EXPECT_EQ(s.tr.base, hv.tr_base);
	EXPECT_EQ(s.tr.limit, 0x67);
	EXPECT_EQ(s.tr.type, 11);
	EXPECT_EQ(s.tr.s, 0);
	EXPECT_EQ(s.tr.present, 1);
	/* LDTR: null selector, unusable */
	EXPECT_EQ(s.ldt.selector, 0);
	EXPECT_EQ(s.ldt.unusable, 1);
	EXPECT_EQ(s.gdt.base, hv.gdtr.base);
	EXPECT_EQ(s.idt.base, hv.idtr.base);
	EXPECT_EQ(s.efer, hv.efer);
	EXPECT_EQ(s.efer & (EFER_LMA | EFER_LME), EFER_LMA | EFER_LME);
}

static void run_exit_state(struct __test_metadata *_metadata, struct kvm_vm *vm,
			   struct kvm_vcpu *vcpu, bool sregs)
{
	struct ucall uc;
	const char *skip;

	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	while (vcpu_run_ucall(vcpu, &uc) != UCALL_DONE) {
		if (uc.cmd == UCALL_SYNC && uc.args[0] == NESTED_SKIP_SYNC) {
			skip = addr_gva2hva(vm, uc.args[1]);
			SKIP(return, "%s", skip);
		}
		ASSERT_EQ(uc.cmd, UCALL_SYNC);
		if (sregs)
			check_sregs(_metadata, vm, vcpu);
	}
}

KVM_VCPU_TEST(host_state_loaded, l1_host_state)
{
	TEST_REQUIRE_VMX();
	run_exit_state(_metadata, vm, vcpu, true);
}

KVM_VCPU_TEST(guest_state_saved, l1_guest_state)
{
	TEST_REQUIRE_VMX();
	write_guest_global(vm, exit_state_on_bochs, kvm_cpu_emulator_is("bochs"));
	run_exit_state(_metadata, vm, vcpu, false);
}

/* ---- 28.2: exit information, one row per exiting instruction of l2_exits ---- */

#define EI_MSR		MSR_IA32_SYSENTER_CS
#define EI_PORT_OUT	0x80
#define EI_PORT_IN	0x81
#define EI_PORT_OUTS	0x82

static uint64_t ei_cr3 __attribute__((used));
static uint8_t ei_buf[64] __attribute__((used, aligned(16)));

/*
 * L2: each labelled instruction exits to L1, which checks the row and
 * resumes L2 after it (GUEST_RIP = label + expected length).
 */
extern char l2_exits[], ei_cpuid[], ei_hlt[], ei_rdmsr[], ei_wrmsr[], ei_vmcall[],
	ei_out[], ei_in[], ei_outs[], ei_rep_outs[], ei_mov_to_cr3[], ei_mov_from_cr3[],
	ei_invlpg[], ei_sgdt[], ei_vmread_reg[], ei_vmwrite_reg[], ei_vmread_mem[],
	ei_sti_vmcall[], ei_mov_ss_vmcall[], ei_done[];

asm(".pushsection .text\n"
    ".global l2_exits\n"
    "l2_exits:\n\t"
    "xor %eax, %eax\n\t"
    "xor %ecx, %ecx\n"
    "ei_cpuid: cpuid\n"						/* 0f a2 */
    "ei_hlt: hlt\n\t"						/* f4 */
    "mov $" __stringify(EI_MSR) ", %ecx\n"
    "ei_rdmsr: rdmsr\n"						/* 0f 32 */
    "ei_wrmsr: wrmsr\n"						/* 0f 30 */
    "ei_vmcall: vmcall\n"					/* 0f 01 c1 */
    "ei_out: outb %al, $" __stringify(EI_PORT_OUT) "\n\t"	/* e6 80 */
    "mov $" __stringify(EI_PORT_IN) ", %edx\n"
    "ei_in: inb %dx, %al\n\t"					/* ec */
    "lea ei_buf+8(%rip), %rsi\n\t"
    "mov $" __stringify(EI_PORT_OUTS) ", %edx\n"
    "ei_outs: outsb\n\t"					/* 6e */
    "mov $1, %ecx\n"
    "ei_rep_outs: rep outsb\n\t"				/* f3 6e */
    "mov ei_cr3(%rip), %rax\n"
    "ei_mov_to_cr3: mov %rax, %cr3\n"				/* 0f 22 d8 */
    "ei_mov_from_cr3: mov %cr3, %rbx\n\t"			/* 0f 20 db */
    "lea ei_buf(%rip), %rax\n"
    "ei_invlpg: .byte 0x3e\n\t"				/* DS prefix */
    "invlpg 0x10(%rax)\n\t"					/* 0f 01 78 10 */
    "xor %ebx, %ebx\n"
    "ei_sgdt: sgdt 0x10(%rax,%rbx,4)\n\t"			/* 0f 01 44 98 10 */
    "mov $" __stringify(0x681e) ", %edx\n"
    "ei_vmread_reg: vmread %rdx, %rcx\n\t"			/* 0f 78 d1 */
    "mov $" __stringify(0x681e) ", %edi\n"
    "ei_vmwrite_reg: vmwrite %rsi, %rdi\n"			/* 0f 79 fe */
    "ei_vmread_mem: vmread %rdx, 8(%rax,%rbx,2)\n\t"		/* 0f 78 54 58 08 */
    "sti\n"
    "ei_sti_vmcall: vmcall\n\t"
    "cli\n\t"
    "mov %ss, %eax\n\t"
    "mov %eax, %ss\n"
    "ei_mov_ss_vmcall: vmcall\n"
    "ei_done: vmcall\n\t"
    "jmp ei_done\n"
    ".popsection");

/* Instruction-information bits (tables 28-10, 28-13): defined bits of each layout. */
#define II_SCALE(s)	((uint32_t)(s))
#define II_ASIZE_64	(2u << 7)
#define II_REG		(1u << 10)
#define II_SEG_DS	(3u << 15)
#define II_INDEX(r)	((uint32_t)(r) << 18)
#define II_BASE(r)	((uint32_t)(r) << 23)
#define II_REG1(r)	((uint32_t)(r) << 3)
#define II_REG2(r)	((uint32_t)(r) << 28)
#define II_DT_MASK	0x3fff8383u	/* descriptor tables: 1:0, 9:7, 17:15 ... 29:28 */
#define II_VMX_MEM_MASK	0xffff8783u	/* VMREAD/VMWRITE, memory operand */
#define II_VMX_REG_MASK	0xf0000478u	/* VMREAD/VMWRITE, register operand */
enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI };

struct exit_case {
	const char *name;
	const char *rip;
	uint32_t reason;
	unsigned int len;
	bool check_qual;
	uint64_t qual;		/* 0 with check_qual: qualification ignored for this exit */
	uint32_t info_mask, info;	/* VM-exit instruction information, where defined */
	uint64_t gla;		/* guest-linear address, where defined (0: not checked) */
	uint32_t intr;		/* interruptibility state after the exit */
};

#define IO_QUAL(port, in, string, rep, imm)					\
	(((uint64_t)(port) << 16) | ((in) << 3) | ((string) << 4) | ((rep) << 5) | ((imm) << 6))

#define ROW(n, label, r, l, ...)						\
	{ .name = n, .rip = label, .reason = r, .len = l, ##__VA_ARGS__ }

static struct exit_case exit_cases[] = {
	ROW("CPUID", ei_cpuid, EXIT_REASON_CPUID, 2, .check_qual = true),
	ROW("HLT", ei_hlt, EXIT_REASON_HLT, 1, .check_qual = true),
	ROW("RDMSR", ei_rdmsr, EXIT_REASON_MSR_READ, 2, .check_qual = true),
	ROW("WRMSR", ei_wrmsr, EXIT_REASON_MSR_WRITE, 2, .check_qual = true),
	ROW("VMCALL", ei_vmcall, EXIT_REASON_VMCALL, 3, .check_qual = true),
	ROW("OUT imm8, AL", ei_out, EXIT_REASON_IO_INSTRUCTION, 2, .check_qual = true,
	    .qual = IO_QUAL(EI_PORT_OUT, 0, 0, 0, 1)),
	ROW("IN AL, DX", ei_in, EXIT_REASON_IO_INSTRUCTION, 1, .check_qual = true,
	    .qual = IO_QUAL(EI_PORT_IN, 1, 0, 0, 0)),
	ROW("OUTSB", ei_outs, EXIT_REASON_IO_INSTRUCTION, 1, .check_qual = true,
	    .qual = IO_QUAL(EI_PORT_OUTS, 0, 1, 0, 0), .gla = 8),
	ROW("REP OUTSB", ei_rep_outs, EXIT_REASON_IO_INSTRUCTION, 2, .check_qual = true,
	    .qual = IO_QUAL(EI_PORT_OUTS, 0, 1, 1, 0), .gla = 8),
	ROW("MOV CR3, RAX", ei_mov_to_cr3, EXIT_REASON_CR_ACCESS, 3, .check_qual = true,
	    .qual = 3 | (RAX << 8)),
	ROW("MOV RBX, CR3", ei_mov_from_cr3, EXIT_REASON_CR_ACCESS, 3, .check_qual = true,
	    .qual = 3 | (1 << 4) | (RBX << 8)),
	/* The qualification is the linear address: ei_buf + 0x10, set at run time. */
	ROW("INVLPG with a DS prefix", ei_invlpg, EXIT_REASON_INVLPG, 5, .check_qual = true),
	ROW("SGDT 0x10(RAX,RBX,4)", ei_sgdt, EXIT_REASON_GDTR_IDTR, 5, .check_qual = true,
	    .qual = 0x10, .info_mask = II_DT_MASK,
	    .info = II_SCALE(2) | II_ASIZE_64 | II_SEG_DS | II_INDEX(RBX) | II_BASE(RAX)),
	ROW("VMREAD RCX, RDX", ei_vmread_reg, EXIT_REASON_VMREAD, 3,
	    .info_mask = II_VMX_REG_MASK, .info = II_REG1(RCX) | II_REG | II_REG2(RDX)),
	ROW("VMWRITE RDI, RSI", ei_vmwrite_reg, EXIT_REASON_VMWRITE, 3,
	    .info_mask = II_VMX_REG_MASK, .info = II_REG1(RSI) | II_REG | II_REG2(RDI)),
	ROW("VMREAD 8(RAX,RBX,2), RDX", ei_vmread_mem, EXIT_REASON_VMREAD, 5,
	    .check_qual = true, .qual = 8, .info_mask = II_VMX_MEM_MASK,
	    .info = II_SCALE(1) | II_ASIZE_64 | II_SEG_DS | II_INDEX(RBX) | II_BASE(RAX) |
		    II_REG2(RDX)),
	ROW("VMCALL after STI", ei_sti_vmcall, EXIT_REASON_VMCALL, 3, .check_qual = true,
	    .intr = GUEST_INTR_STATE_STI),
	ROW("VMCALL after MOV SS", ei_mov_ss_vmcall, EXIT_REASON_VMCALL, 3, .check_qual = true,
	    .intr = GUEST_INTR_STATE_MOV_SS),
};

static bool check_exit(const struct exit_case *c, uint32_t reason)
{
	uint64_t rip = vmread(GUEST_RIP), len = vmread(VM_EXIT_INSTRUCTION_LEN);
	uint64_t qual = vmread(EXIT_QUALIFICATION);
	uint64_t intr = vmread(GUEST_INTERRUPTIBILITY_INFO);
	bool ok = true;

	if (reason != c->reason || rip != (uintptr_t)c->rip) {
		GUEST_PRINTF("FAIL %s: exit reason %u (%s) at RIP 0x%lx, expected %u at 0x%lx",
			     c->name, reason, vmx_exit_name(reason), rip, c->reason,
			     (uintptr_t)c->rip);
		return false;
	}
	if (len != c->len) {
		GUEST_PRINTF("FAIL %s: VM-exit instruction length %lu, expected %u",
			     c->name, len, c->len);
		ok = false;
	}
	if (c->check_qual && qual != c->qual) {
		GUEST_PRINTF("FAIL %s: exit qualification 0x%lx, expected 0x%lx", c->name,
			     qual, c->qual);
		ok = false;
	}
	if (c->info_mask) {
		uint32_t info = vmread(VMX_INSTRUCTION_INFO);

		if ((info & c->info_mask) != c->info) {
			GUEST_PRINTF("FAIL %s: VM-exit instruction information 0x%x "
				     "(defined bits 0x%x), expected 0x%x", c->name, info,
				     info & c->info_mask, c->info);
			ok = false;
		}
	}
	if (c->gla && vmread(GUEST_LINEAR_ADDRESS) != c->gla) {
		GUEST_PRINTF("FAIL %s: guest-linear address 0x%lx, expected 0x%lx", c->name,
			     vmread(GUEST_LINEAR_ADDRESS), c->gla);
		ok = false;
	}
	if ((intr & 3) != c->intr) {
		GUEST_PRINTF("FAIL %s: interruptibility state 0x%lx, expected 0x%x", c->name,
			     intr, c->intr);
		ok = false;
	}
	return ok;
}

static void l1_exit_info(struct nested_pages *p)
{
	uint32_t want = CPU_BASED_HLT_EXITING | CPU_BASED_INVLPG_EXITING |
			CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING |
			CPU_BASED_ACTIVATE_SECONDARY;
	uint32_t proc = vmx_adjust_controls(MSR_IA32_VMX_PROCBASED_CTLS, want);
	unsigned int failed = 0;
	enum nested_exit e;

	if ((proc & want) != want)
		guest_nested_skip_test("VMX lacks HLT, INVLPG, CR3-load/store exiting or "
				       "secondary controls");
	if (!((rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32) & SECONDARY_EXEC_DESC))
		guest_nested_skip_test("VMX lacks descriptor-table exiting");
	ei_cr3 = get_cr3();
	for (unsigned int i = 0; i < ARRAY_SIZE(exit_cases); i++)
		if (exit_cases[i].gla)
			exit_cases[i].gla = (uintptr_t)ei_buf + exit_cases[i].gla;
	exit_cases[11].qual = (uintptr_t)ei_buf + 0x10;	/* INVLPG: the linear address */

	guest_nested_init(&n, p, (void (*)(void))l2_exits);
	guest_nested_intercept(&n, NESTED_INTERCEPT_MSR, EI_MSR);
	guest_nested_intercept(&n, NESTED_INTERCEPT_IO, EI_PORT_OUT);
	guest_nested_intercept(&n, NESTED_INTERCEPT_IO, EI_PORT_IN);
	guest_nested_intercept(&n, NESTED_INTERCEPT_IO, EI_PORT_OUTS);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, vmread(CPU_BASED_VM_EXEC_CONTROL) | proc);
	vmwrite(SECONDARY_VM_EXEC_CONTROL, vmread(SECONDARY_VM_EXEC_CONTROL) |
		vmx_adjust_controls(MSR_IA32_VMX_PROCBASED_CTLS2, SECONDARY_EXEC_DESC));

	for (unsigned int i = 0; i < ARRAY_SIZE(exit_cases); i++) {
		const struct exit_case *c = &exit_cases[i];

		guest_nested_run(&n);
		if (!check_exit(c, n.raw_exit)) {
			failed++;
			if (vmread(GUEST_RIP) != (uintptr_t)c->rip)
				break;		/* out of step with the table */
		}
		vmwrite(GUEST_RIP, (uintptr_t)c->rip + c->len);
	}
	e = guest_nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_HYPERCALL && vmread(GUEST_RIP) == (uintptr_t)ei_done,
		       "after the table: exit %s at 0x%lx, expected VMCALL at 0x%lx",
		       guest_nested_exit_name(e), vmread(GUEST_RIP), (uintptr_t)ei_done);
	__GUEST_ASSERT(!failed, "%u of %lu exit rows wrong (listed above)", failed,
		       ARRAY_SIZE(exit_cases));
	GUEST_DONE();
}

VMX_TEST(exit_information, l1_exit_info)

/* ---- 28.4, 28.6: the VM-exit MSR-store and MSR-load areas ---- */

/* An entry of an MSR area (24.7.2): index, reserved (0), value. */
struct msr_entry {
	uint32_t index, reserved;
	uint64_t value;
};

#define POISON		0x5a5a5a5a5a5a5a5aULL

/* L2's values, each different from L1's before VMLAUNCH and from the load area's. */
static const struct msr_entry l2_msrs[] = {
	{ MSR_KERNEL_GS_BASE, 0, 0xffff888011110000ULL },
	{ MSR_STAR, 0, 0x0023001011112222ULL },
	{ MSR_IA32_SYSENTER_EIP, 0, 0xffffffff87000000ULL },
};

static void l2_write_msrs(void)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(l2_msrs); i++)
		wrmsr(l2_msrs[i].index, l2_msrs[i].value);
	guest_nested_hypercall(0);
}

static void l1_msr_areas(struct nested_pages *p)
{
	const struct msr_entry load[] = {
		{ MSR_KERNEL_GS_BASE, 0, 0xffff888022220000ULL },
		{ MSR_STAR, 0, 0x0023001033334444ULL },
		/* Loaded after the host-state field (28.6 follows 28.5): this wins. */
		{ MSR_IA32_SYSENTER_CS, 0, 0x77 },
	};
	struct msr_entry *store_area, *load_area;
	uint64_t l1_kgs = rdmsr(MSR_KERNEL_GS_BASE), l1_star = rdmsr(MSR_STAR);
	unsigned int failed = 0;
	enum nested_exit e;

	guest_nested_init(&n, p, l2_write_msrs);
	store_area = (void *)guest_nested_alloc_page(&n);
	load_area = (void *)guest_nested_alloc_page(&n);
	for (unsigned int i = 0; i < ARRAY_SIZE(l2_msrs); i++)
		store_area[i] = (struct msr_entry){ l2_msrs[i].index, 0, POISON };
	memcpy(load_area, load, sizeof(load));
	vmwrite(VM_EXIT_MSR_STORE_ADDR, (uintptr_t)store_area);
	vmwrite(VM_EXIT_MSR_STORE_COUNT, ARRAY_SIZE(l2_msrs));
	vmwrite(VM_EXIT_MSR_LOAD_ADDR, (uintptr_t)load_area);
	vmwrite(VM_EXIT_MSR_LOAD_COUNT, ARRAY_SIZE(load));
	vmwrite(HOST_IA32_SYSENTER_CS, 0x66);
	vmwrite(HOST_IA32_SYSENTER_EIP, 0xffffffff88000000ULL);
	/* L1's own values differ from the load area's: a missed load shows. */
	wrmsr(MSR_KERNEL_GS_BASE, 0xffff888055550000ULL);
	wrmsr(MSR_STAR, 0x0023001066667777ULL);

	e = guest_nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_HYPERCALL, "exit %s, expected VMCALL",
		       guest_nested_exit_name(e));
	for (unsigned int i = 0; i < ARRAY_SIZE(l2_msrs); i++) {
		if (store_area[i].index == l2_msrs[i].index && !store_area[i].reserved &&
		    store_area[i].value == l2_msrs[i].value)
			continue;
		GUEST_PRINTF("FAIL MSR-store entry %u: index 0x%x, reserved 0x%x, value 0x%lx; "
			     "expected 0x%x, 0, L2's 0x%lx", i, store_area[i].index,
			     store_area[i].reserved, store_area[i].value, l2_msrs[i].index,
			     l2_msrs[i].value);
		failed++;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(load); i++) {
		uint64_t v = rdmsr(load[i].index);

		if (v == load[i].value)
			continue;
		GUEST_PRINTF("FAIL MSR 0x%x after the exit: 0x%lx, expected the MSR-load "
			     "entry's 0x%lx", load[i].index, v, load[i].value);
		failed++;
	}
	if (rdmsr(MSR_IA32_SYSENTER_EIP) != 0xffffffff88000000ULL) {
		GUEST_PRINTF("FAIL IA32_SYSENTER_EIP (not in the load area) 0x%lx, expected "
			     "the host field 0xffffffff88000000", rdmsr(MSR_IA32_SYSENTER_EIP));
		failed++;
	}
	wrmsr(MSR_KERNEL_GS_BASE, l1_kgs);
	wrmsr(MSR_STAR, l1_star);
	__GUEST_ASSERT(!failed, "%u MSR-area checks wrong (listed above)", failed);
	GUEST_DONE();
}

VMX_TEST(exit_msr_store_and_load, l1_msr_areas)

/*
 * 28.6: an exit MSR-load entry for IA32_FS_BASE cannot be loaded; 28.7: a
 * VMX abort, the processor writes the VMX-abort indicator (4: "there was a
 * failure on loading host MSRs") at byte 4 of the VMCS region and shuts
 * down.  L1 never comes back from the exit.
 */
#define VMX_ABORT_LOAD_HOST_MSR	4

static void l2_vmcall(void)
{
	for (;;)
		asm volatile("vmcall" ::: "memory");
}

static void l1_msr_load_abort(struct nested_pages *p)
{
	struct msr_entry *load_area;

	guest_nested_init(&n, p, l2_vmcall);
	load_area = (void *)guest_nested_alloc_page(&n);
	load_area[0] = (struct msr_entry){ MSR_IA32_SYSENTER_CS, 0, 0 };
	load_area[1] = (struct msr_entry){ MSR_FS_BASE, 0, 0 };
	vmwrite(VM_EXIT_MSR_LOAD_ADDR, (uintptr_t)load_area);
	vmwrite(VM_EXIT_MSR_LOAD_COUNT, 2);
	GUEST_SYNC(2);
	guest_nested_run(&n);
	GUEST_FAIL("L1 runs after a VM exit (%s) whose MSR-load entry 2 is IA32_FS_BASE: "
		   "expected a VMX abort (shutdown)", vmx_exit_name(n.raw_exit));
}

/* Run L1 to its VM exit and the shutdown; false (after SKIP) if it cannot run here. */
static bool run_to_abort(struct __test_metadata *_metadata, struct kvm_vm *vm,
			 struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	for (;;) {
		uint32_t cmd = vcpu_run_ucall(vcpu, &uc);

		if (cmd == UCALL_SYNC && uc.args[0] == NESTED_SKIP_SYNC)
			SKIP(return false, "%s", (char *)addr_gva2hva(vm, uc.args[1]));
		if (cmd == UCALL_SYNC && uc.args[0] == 2)
			break;
		TEST_ASSERT(cmd == UCALL_SYNC, "ucall %u before the VM exit", cmd);
	}
	vcpu_run(vcpu);
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_SHUTDOWN,
		    "exit reason %u after the VM exit with a bad MSR-load entry, expected "
		    "KVM_EXIT_SHUTDOWN (%u): no VMX abort", vcpu->run->exit_reason,
		    KVM_EXIT_SHUTDOWN);
	return true;
}

KVM_VCPU_TEST(exit_msr_load_abort, l1_msr_load_abort)
{
	TEST_REQUIRE_VMX();
	run_to_abort(_metadata, vm, vcpu);
}

/*
 * The abort indicator: L1's VMCS is still the current one after the abort,
 * so KVM_GET_NESTED_STATE returns it (api.rst, struct kvm_vmx_nested_state_data:
 * the VMCS12 as in memory); bytes 4-7 must hold 4.
 */
KVM_VCPU_TEST(vmx_abort_indicator, l1_msr_load_abort)
{
	struct kvm_nested_state *st;
	uint32_t indicator;
	int size;

	TEST_REQUIRE_VMX();
	size = kvm_check_cap(KVM_CAP_NESTED_STATE);
	TEST_REQUIRE_MSG(size > 0, "no KVM_CAP_NESTED_STATE");
	if (!run_to_abort(_metadata, vm, vcpu))
		return;
	st = calloc(1, size);
	TEST_ASSERT(st, "out of memory");
	st->size = size;
	vcpu_ioctl(vcpu, KVM_GET_NESTED_STATE, st);
	TEST_ASSERT(st->size >= sizeof(*st) + 8, "KVM_GET_NESTED_STATE size %u: no VMCS12",
		    st->size);
	memcpy(&indicator, st->data.vmx[0].vmcs12 + 4, sizeof(indicator));
	free(st);
	EXPECT_EQ(indicator, VMX_ABORT_LOAD_HOST_MSR) {
		TH_LOG("VMX-abort indicator %u in the VMCS after the abort, expected 4 "
		       "(SDM vol. 3C 28.7)", indicator);
	}
}

TEST_HARNESS_MAIN
