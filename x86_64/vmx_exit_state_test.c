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
 * Idea: kvm-unit-tests x86/vmx_tests.c (vmx_exit_state, the VMX
 * instruction-information and msr_switch tests), the upstream selftests
 * x86_64/vmx_msrs_test.c and x86_64/vmx_set_nested_state_test.c (a VMX
 * abort), as tables here.  vmx_insn_test.c checks the GDTR/IDTR limits.
 *
 * Caught bugs: (see bugs/nested-vmx-exit-*.patch)
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

struct got_state {
	uint64_t v[32];
};

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
	got[R_RFLAGS] = get_rflags() & (X86_EFLAGS_DF | X86_EFLAGS_AC | X86_EFLAGS_NT | X86_EFLAGS_IOPL);

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
			*w = ((user_ds.desc >> 40) & 0xff) | 1 | (((user_ds.desc >> 52) & 0xf) << 12);
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
		GUEST_PRINTF("FAIL %s: 0x%lx, expected L2's 0x%lx", rows[i].name, got, *w);
		failed++;
	}
	__GUEST_ASSERT(!failed, "%u of %lu guest-state rows wrong (listed above)", failed,
		       ARRAY_SIZE(rows));
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
	run_exit_state(_metadata, vm, vcpu, false);
}

TEST_HARNESS_MAIN
