// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intel VMX: the VM-execution controls that decide which L2 instructions
 * exit to L1 (SDM vol. 3C chapter 26 "VMX Non-Root Operation", numbering of
 * the 2023 and later editions; chapter 25 in older ones) and what the exit
 * reports (28.2.1 and 28.2.4 "Information for VM Exits Due to Instruction
 * Execution": exit qualification, VM-exit instruction length and
 * instruction information).  Each table row builds a fresh VMCS, sets or
 * clears one control, lets L2 execute one instruction and expects either
 * that exit (reason, qualification, length, information where defined) or
 * none: L2 then reaches VMCALL and L1 checks the instruction's
 * architectural effect.
 *
 *  - 26.1.3 and 26.3 "Changes to Instruction Behavior": CR0/CR4 guest/host
 *    masks and read shadows (reads of masked bits return the shadow; MOV to
 *    CR0/CR4 exits iff it sets a masked bit to differ from the shadow, and
 *    otherwise leaves the masked bits of the real register alone), CLTS and
 *    LMSW against the mask, CR3-load exiting with the CR3-target list,
 *    CR3-store exiting;
 *  - 26.1.3 and 25.6.4 "I/O-Bitmap Addresses": bitmap A covers 0-7FFFH, B
 *    8000H-FFFFH; an access exits if any port it touches is intercepted,
 *    and one that wraps past FFFFH always exits; unconditional I/O exiting
 *    without bitmaps;
 *  - 25.6.9 "MSR-Bitmap Address": read/write halves for 0-1FFFH and
 *    C0000000H-C0001FFFH; an MSR outside both ranges always exits;
 *  - 25.6.3 and 26.2 "Other Causes of VM Exits": a #PF exits iff
 *    (PFEC & MASK) == MATCH when bit 14 of the exception bitmap is set, iff
 *    they differ when it is clear;
 *  - 26.1.3: HLT, INVLPG (qualification: the linear address), RDTSC,
 *    RDPMC, MONITOR, MWAIT, PAUSE, RDRAND, WBINVD and descriptor-table
 *    exiting (reasons 46/47, instruction information 28.2.5), and 26.3
 *    "TSC offsetting": RDTSC in L2 returns L1's TSC plus the offset.
 *
 * A control the capability MSRs (appendix A.3) do not allow, or an
 * instruction L1's CPUID does not offer, makes its row print SKIP.  The
 * rows run even when one fails; failures are printed and counted.
 *
 * kvm_intel gets every L2 exit first and reflects it to L1 in software
 * (nested.c: nested_vmx_l1_wants_exit(), nested_vmx_exit_handled_cr/_io/
 * _msr/_mtf), runs CR accesses and MSRs L1 does not intercept itself, and
 * copies the #PF mask/match into vmcs02 when EPT is on (prepare_vmcs02).
 *
 * Idea: kvm-unit-tests x86/vmx_tests.c (cr_shadowing, iobmp, msr bitmap
 * and insn_intercept tests); the upstream selftests
 * x86_64/vmx_tsc_adjust_test.c and nested_exceptions_test.c cover the TSC
 * offset and exception-bitmap parts.
 *
 * Caught bugs: bugs/nested-vmx-ctl-cr0-shadow-compare.patch,
 * bugs/nested-vmx-ctl-io-bitmap-single-port.patch,
 * bugs/nested-vmx-ctl-msr-bitmap-last-bit.patch,
 * bugs/nested-vmx-ctl-pfec-mask-match-swap.patch
 */
#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "nested.h"

#define NO_QUAL		(~0ULL)		/* the qualification is undefined for this exit */
#define UNMAPPED	0x40000000ULL	/* a linear address L1's page tables do not map */
#define INVLPG_ADDR	0x12345000ULL
#define TSC_OFF		((uint64_t)1 << 40)

struct ctl_case {
	const char *name;
	/* Writes the VMCS (and want_*); NULL, or why the row cannot run here. */
	const char *(*setup)(void);
	void (*l2)(void);
	uint32_t reason;	/* EXIT_REASON_VMCALL: no exit, L2 reached its VMCALL */
	uint64_t qual;		/* NO_QUAL: not checked */
	uint32_t len;		/* 0: not defined for this exit */
	/* After the exit: NULL, or what was wrong (in why[]). */
	const char *(*check)(void);
};

static struct nested n;
static char why[160];

/* Shared by L1 and L2 (same page tables). */
static volatile uint64_t l2_arg, l2_out, l2_vec;
static uint64_t want_qual, want_guest_cr, want_read, want_info, want_info_mask;
static uint64_t tsc_before, tsc_after;
static struct vmx_gprs regs;

/* ---- controls, from the capability MSRs (appendix A.3) ---- */

static uint32_t ctls_msr(uint32_t msr)
{
	if (!(rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS))
		return msr;
	return msr == MSR_IA32_VMX_PROCBASED_CTLS ? MSR_IA32_VMX_TRUE_PROCBASED : msr;
}

/* Set (on) or clear one primary processor-based control; why it can't be. */
static const char *proc_ctl(uint32_t bit, bool on)
{
	uint64_t caps = rdmsr(ctls_msr(MSR_IA32_VMX_PROCBASED_CTLS));
	uint64_t v = vmread(CPU_BASED_VM_EXEC_CONTROL);

	if (on && !((caps >> 32) & bit)) {
		guest_snprintf(why, sizeof(why), "primary control 0x%x has allowed-1 = 0", bit);
		return why;
	}
	if (!on && ((uint32_t)caps & bit)) {
		guest_snprintf(why, sizeof(why), "primary control 0x%x has allowed-0 = 1", bit);
		return why;
	}
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, on ? v | bit : v & ~bit);
	return NULL;
}

static const char *sec_ctl(uint32_t bit, bool on)
{
	const char *w = proc_ctl(CPU_BASED_ACTIVATE_SECONDARY, true);

	if (w)
		return w;
	if (on && !((rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32) & bit)) {
		guest_snprintf(why, sizeof(why), "secondary control 0x%x has allowed-1 = 0", bit);
		return why;
	}
	vmwrite(SECONDARY_VM_EXEC_CONTROL, on ? bit : 0);
	return NULL;
}

static bool cpuid_bit(uint32_t leaf, int reg, unsigned int bit)
{
	struct cpuid_regs r;
	uint32_t v;

	cpuid_count(leaf, 0, &r);
	v = reg == 'c' ? r.ecx : reg == 'b' ? r.ebx : r.edx;
	return (v >> bit) & 1;
}

/* ---- L2 side ---- */

static void __attribute__((noreturn)) l2_done(void)
{
	for (;;)
		asm volatile("vmcall" ::: "memory");
}

/* RBX is GPR 3 in the CR-access qualification (28.2.1). */
#define GPR_RBX	3

static void l2_read_cr0(void)
{
	l2_out = get_cr0();
	l2_done();
}

static void l2_write_cr0(void)
{
	asm volatile("mov %%rbx, %%cr0" :: "b"(l2_arg) : "memory");
	l2_out = get_cr0();
	l2_done();
}

static void l2_read_cr4(void)
{
	l2_out = get_cr4();
	l2_done();
}

static void l2_write_cr4(void)
{
	asm volatile("mov %%rbx, %%cr4" :: "b"(l2_arg) : "memory");
	l2_out = get_cr4();
	l2_done();
}

static void l2_clts(void)
{
	asm volatile("clts" ::: "memory");
	l2_out = get_cr0();
	l2_done();
}

static void l2_lmsw(void)
{
	asm volatile("lmsw %%ax" :: "a"(l2_arg) : "memory");
	l2_out = get_cr0();
	l2_done();
}

static void l2_write_cr3(void)
{
	asm volatile("mov %%rbx, %%cr3" :: "b"(l2_arg) : "memory");
	l2_done();
}

static void l2_read_cr3(void)
{
	uint64_t v;

	asm volatile("mov %%cr3, %%rbx" : "=b"(v) :: "memory");
	l2_out = v;
	l2_done();
}

/* I/O: port in DX (or the immediate), one instruction each. */
static void l2_inb_dx(void)
{
	asm volatile("inb %%dx, %%al" :: "d"(l2_arg) : "rax", "memory");
	l2_done();
}

static void l2_outb_dx(void)
{
	asm volatile("outb %%al, %%dx" :: "d"(l2_arg), "a"(0) : "memory");
	l2_done();
}

static void l2_inw_dx(void)
{
	asm volatile("inw %%dx, %%ax" :: "d"(l2_arg) : "rax", "memory");
	l2_done();
}

static void l2_inl_dx(void)
{
	asm volatile("inl %%dx, %%eax" :: "d"(l2_arg) : "rax", "memory");
	l2_done();
}

static void l2_outb_imm(void)
{
	asm volatile("outb %%al, $0x42" :: "a"(0) : "memory");
	l2_done();
}

static uint8_t io_buf[16];

static void l2_rep_outsb(void)
{
	asm volatile("rep outsb" :: "d"(l2_arg), "S"(io_buf), "c"(1) : "memory");
	l2_done();
}

static void l2_insb(void)
{
	asm volatile("insb" :: "d"(l2_arg), "D"(io_buf) : "memory");
	l2_done();
}

static void l2_rdmsr(void)
{
	uint32_t lo = 0, hi = 0;

	asm volatile(ASM_SAFE("rdmsr") : "=a"(lo), "=d"(hi) : "c"(l2_arg) : "memory");
	l2_vec = guest_fault_vector();
	l2_out = lo | ((uint64_t)hi << 32);
	l2_done();
}

static void l2_wrmsr(void)
{
	asm volatile(ASM_SAFE("wrmsr") :: "c"(l2_arg), "a"(0), "d"(0) : "memory");
	l2_vec = guest_fault_vector();
	l2_done();
}

static void l2_pf_read(void)
{
	uint64_t v;

	asm volatile(ASM_SAFE("movq (%%rdi), %%rax") : "=a"(v) : "D"(UNMAPPED + 8) : "memory");
	l2_vec = guest_fault_vector();
	l2_out = guest_fault_error_code();
	l2_done();
}

static void l2_pf_write(void)
{
	asm volatile(ASM_SAFE("movq %%rax, (%%rdi)") :: "a"(0), "D"(UNMAPPED + 8) : "memory");
	l2_vec = guest_fault_vector();
	l2_out = guest_fault_error_code();
	l2_done();
}

static void l2_hlt(void)
{
	asm volatile("hlt" ::: "memory");
	l2_done();
}

static void l2_invlpg(void)
{
	asm volatile("invlpg (%%rax)" :: "a"(INVLPG_ADDR) : "memory");
	l2_done();
}

static void l2_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	l2_out = lo | ((uint64_t)hi << 32);
	l2_done();
}

static void l2_rdpmc(void)
{
	asm volatile(ASM_SAFE("rdpmc") :: "c"(0) : "rax", "rdx", "memory");
	l2_vec = guest_fault_vector();
	l2_done();
}

static void l2_monitor(void)
{
	asm volatile("monitor" :: "a"(io_buf), "c"(0), "d"(0) : "memory");
	l2_done();
}

static void l2_mwait(void)
{
	asm volatile("mwait" :: "a"(0), "c"(0) : "memory");
	l2_done();
}

static void l2_pause(void)
{
	asm volatile("pause" ::: "memory");
	l2_done();
}

static void l2_rdrand(void)
{
	uint8_t ok;

	asm volatile("rdrand %%eax; setc %0" : "=r"(ok) :: "rax", "cc", "memory");
	l2_out = ok;
	l2_done();
}

static void l2_wbinvd(void)
{
	asm volatile("wbinvd" ::: "memory");
	l2_done();
}

static struct { uint16_t limit; uint64_t base; } __attribute__((packed)) l2_dt;

static void l2_sgdt(void)
{
	asm volatile("sgdt (%%rax)" :: "a"(&l2_dt) : "memory");
	l2_done();
}

static void l2_sidt(void)
{
	asm volatile("sidt (%%rax)" :: "a"(&l2_dt) : "memory");
	l2_done();
}

static void l2_sldt(void)
{
	uint32_t v = 0xffff;

	asm volatile("sldt %%eax" : "+a"(v) :: "memory");
	l2_out = v;
	l2_done();
}

/* ---- CR access (26.1.3, 26.3, qualification table 28-3) ---- */

#define CRQ(cr, type, gpr)	((cr) | ((type) << 4) | ((uint64_t)(gpr) << 8))

static uint64_t cr0_now(void)
{
	return vmread(GUEST_CR0);
}

/* Mask CR0.TS with the shadow's TS flipped: L2 must read the shadow's. */
static const char *cr0_read_shadow(void)
{
	uint64_t c0 = cr0_now();

	vmwrite(CR0_GUEST_HOST_MASK, X86_CR0_TS);
	vmwrite(CR0_READ_SHADOW, c0 ^ X86_CR0_TS);
	want_read = c0 ^ X86_CR0_TS;
	want_guest_cr = c0;
	return NULL;
}

static const char *check_cr0_read(void)
{
	uint64_t g = vmread(GUEST_CR0);

	if (l2_out != want_read || g != want_guest_cr) {
		guest_snprintf(why, sizeof(why), "L2 read CR0 0x%lx (expected 0x%lx), "
			       "GUEST_CR0 0x%lx (expected 0x%lx)", l2_out, want_read, g,
			       want_guest_cr);
		return why;
	}
	return NULL;
}

/* MOV to CR0 flipping masked TS away from the shadow: exit 28, MOV to CR0 from RBX. */
static const char *cr0_write_differs(void)
{
	uint64_t c0 = cr0_now();

	vmwrite(CR0_GUEST_HOST_MASK, X86_CR0_TS);
	vmwrite(CR0_READ_SHADOW, c0);
	l2_arg = c0 ^ X86_CR0_TS;
	return NULL;
}

/*
 * MOV to CR0 with masked TS equal to the shadow (which differs from the
 * real TS) and unmasked AM flipped: no exit, AM is written, the real TS is
 * not (26.3: bits set in the mask are not modified), L2 reads TS from the shadow.
 */
static const char *cr0_write_matches(void)
{
	uint64_t c0 = cr0_now();

	vmwrite(CR0_GUEST_HOST_MASK, X86_CR0_TS);
	vmwrite(CR0_READ_SHADOW, c0 ^ X86_CR0_TS);
	l2_arg = c0 ^ X86_CR0_TS ^ X86_CR0_AM;
	want_read = l2_arg;
	want_guest_cr = c0 ^ X86_CR0_AM;
	return NULL;
}

/* CLTS exits iff TS is masked and the shadow's TS is 1 (26.1.3). */
static const char *clts_shadow_ts_set(void)
{
	uint64_t c0 = cr0_now();

	vmwrite(CR0_GUEST_HOST_MASK, X86_CR0_TS);
	vmwrite(CR0_READ_SHADOW, c0 | X86_CR0_TS);
	return NULL;
}

/* Masked TS, shadow TS 0, real TS 1: CLTS does not exit and leaves the real TS (26.3). */
static const char *clts_shadow_ts_clear(void)
{
	uint64_t c0 = cr0_now();

	vmwrite(GUEST_CR0, c0 | X86_CR0_TS);
	vmwrite(CR0_GUEST_HOST_MASK, X86_CR0_TS);
	vmwrite(CR0_READ_SHADOW, c0 & ~X86_CR0_TS);
	want_read = c0 & ~X86_CR0_TS;
	want_guest_cr = c0 | X86_CR0_TS;
	return NULL;
}

/* LMSW setting masked TS that the shadow has clear: exit, type 3, source data in 31:16. */
static const char *lmsw_differs(void)
{
	uint64_t c0 = cr0_now() & ~X86_CR0_TS;

	vmwrite(GUEST_CR0, c0);
	vmwrite(CR0_GUEST_HOST_MASK, X86_CR0_TS);
	vmwrite(CR0_READ_SHADOW, c0);
	l2_arg = (c0 & 0xffff) | X86_CR0_TS;
	want_qual = CRQ(0, VMX_CR_LMSW, 0) | (l2_arg << 16);
	return NULL;
}

/* LMSW writing masked TS equal to the shadow: no exit, the real TS stays 0. */
static const char *lmsw_matches(void)
{
	uint64_t c0 = cr0_now() & ~X86_CR0_TS;

	vmwrite(GUEST_CR0, c0);
	vmwrite(CR0_GUEST_HOST_MASK, X86_CR0_TS);
	vmwrite(CR0_READ_SHADOW, c0 | X86_CR0_TS);
	l2_arg = (c0 & 0xffff) | X86_CR0_TS;
	want_read = c0 | X86_CR0_TS;
	want_guest_cr = c0;
	return NULL;
}

static const char *cr4_read_shadow(void)
{
	uint64_t c4 = vmread(GUEST_CR4);

	vmwrite(CR4_GUEST_HOST_MASK, X86_CR4_TSD);
	vmwrite(CR4_READ_SHADOW, c4 ^ X86_CR4_TSD);
	want_read = c4 ^ X86_CR4_TSD;
	want_guest_cr = c4;
	return NULL;
}

static const char *check_cr4(void)
{
	uint64_t g = vmread(GUEST_CR4);

	if (l2_out != want_read || g != want_guest_cr) {
		guest_snprintf(why, sizeof(why), "L2 read CR4 0x%lx (expected 0x%lx), "
			       "GUEST_CR4 0x%lx (expected 0x%lx)", l2_out, want_read, g,
			       want_guest_cr);
		return why;
	}
	return NULL;
}

static const char *cr4_write_differs(void)
{
	uint64_t c4 = vmread(GUEST_CR4);

	vmwrite(CR4_GUEST_HOST_MASK, X86_CR4_TSD);
	vmwrite(CR4_READ_SHADOW, c4);
	l2_arg = c4 ^ X86_CR4_TSD;
	return NULL;
}

/* Masked TSD equal to the shadow, unmasked PCE flipped: no exit, PCE written, TSD not. */
static const char *cr4_write_matches(void)
{
	uint64_t c4 = vmread(GUEST_CR4);

	vmwrite(CR4_GUEST_HOST_MASK, X86_CR4_TSD);
	vmwrite(CR4_READ_SHADOW, c4 ^ X86_CR4_TSD);
	l2_arg = c4 ^ X86_CR4_TSD ^ X86_CR4_PCE;
	want_read = l2_arg;
	want_guest_cr = c4 ^ X86_CR4_PCE;
	return NULL;
}

static const char *cr3_load_exiting(void)
{
	l2_arg = vmread(GUEST_CR3);
	return proc_ctl(CPU_BASED_CR3_LOAD_EXITING, true);
}

/* 26.1.3: MOV to CR3 of a value in the CR3-target list does not exit. */
static const char *cr3_load_target(void)
{
	if (!VMX_MISC_CR3_TARGETS(rdmsr(MSR_IA32_VMX_MISC)))
		return "IA32_VMX_MISC bits 24:16: no CR3-target values supported";
	l2_arg = vmread(GUEST_CR3);
	vmwrite(CR3_TARGET_VALUE0, l2_arg);
	vmwrite(CR3_TARGET_COUNT, 1);
	return proc_ctl(CPU_BASED_CR3_LOAD_EXITING, true);
}

static const char *cr3_store_exiting(void)
{
	return proc_ctl(CPU_BASED_CR3_STORE_EXITING, true);
}

static const char *cr3_store_clear(void)
{
	return proc_ctl(CPU_BASED_CR3_STORE_EXITING, false);
}

static const char *check_cr3_read(void)
{
	if (l2_out != vmread(GUEST_CR3)) {
		guest_snprintf(why, sizeof(why), "L2 read CR3 0x%lx, GUEST_CR3 is 0x%lx",
			       l2_out, vmread(GUEST_CR3));
		return why;
	}
	return NULL;
}

#define EXIT_ROW(nm, set, fn, r, q, l)	{ nm, set, fn, r, q, l, NULL }
#define NO_EXIT(nm, set, fn, chk)	{ nm, set, fn, EXIT_REASON_VMCALL, NO_QUAL, 3, chk }

static const struct ctl_case cr_cases[] = {
	NO_EXIT("CR0 read: masked TS comes from the read shadow", cr0_read_shadow,
		l2_read_cr0, check_cr0_read),
	EXIT_ROW("MOV to CR0 making masked TS differ from the shadow", cr0_write_differs,
		 l2_write_cr0, EXIT_REASON_CR_ACCESS, CRQ(0, VMX_CR_MOV_TO, GPR_RBX), 3),
	NO_EXIT("MOV to CR0 with masked TS equal to the shadow (AM flipped)",
		cr0_write_matches, l2_write_cr0, check_cr0_read),
	EXIT_ROW("CLTS with TS masked and set in the shadow", clts_shadow_ts_set, l2_clts,
		 EXIT_REASON_CR_ACCESS, CRQ(0, VMX_CR_CLTS, 0), 2),
	NO_EXIT("CLTS with TS masked and clear in the shadow: real TS kept",
		clts_shadow_ts_clear, l2_clts, check_cr0_read),
	EXIT_ROW("LMSW setting masked TS the shadow has clear", lmsw_differs, l2_lmsw,
		 EXIT_REASON_CR_ACCESS, 0 /* want_qual */, 3),
	NO_EXIT("LMSW with masked TS equal to the shadow: real TS kept", lmsw_matches,
		l2_lmsw, check_cr0_read),
	NO_EXIT("CR4 read: masked TSD comes from the read shadow", cr4_read_shadow,
		l2_read_cr4, check_cr4),
	EXIT_ROW("MOV to CR4 making masked TSD differ from the shadow", cr4_write_differs,
		 l2_write_cr4, EXIT_REASON_CR_ACCESS, CRQ(4, VMX_CR_MOV_TO, GPR_RBX), 3),
	NO_EXIT("MOV to CR4 with masked TSD equal to the shadow (PCE flipped)",
		cr4_write_matches, l2_write_cr4, check_cr4),
	EXIT_ROW("MOV to CR3 with CR3-load exiting", cr3_load_exiting, l2_write_cr3,
		 EXIT_REASON_CR_ACCESS, CRQ(3, VMX_CR_MOV_TO, GPR_RBX), 3),
	NO_EXIT("MOV to CR3 of CR3-target value 0 with CR3-load exiting", cr3_load_target,
		l2_write_cr3, NULL),
	EXIT_ROW("MOV from CR3 with CR3-store exiting", cr3_store_exiting, l2_read_cr3,
		 EXIT_REASON_CR_ACCESS, CRQ(3, VMX_CR_MOV_FROM, GPR_RBX), 3),
	NO_EXIT("MOV from CR3 without CR3-store exiting", cr3_store_clear, l2_read_cr3,
		check_cr3_read),
};

/* ---- I/O (26.1.3, 25.6.4; qualification table 28-5) ---- */

#define IOQ(size, in, str, rep, imm, port)					\
	(((size) - 1) | ((in) << 3) | ((str) << 4) | ((rep) << 5) | ((imm) << 6) |	\
	 ((uint64_t)(port) << 16))

static void io_intercept(uint32_t port)
{
	uint8_t *bm = (uint8_t *)(uintptr_t)(port < 0x8000 ? n.pages->vmx.io_bitmap_a :
							     n.pages->vmx.io_bitmap_b);

	bm[(port & 0x7fff) / 8] |= 1u << (port & 7);
}

static const char *io_7fff(void)
{
	io_intercept(0x7fff);
	l2_arg = 0x7fff;
	return NULL;
}

static const char *io_8000(void)
{
	io_intercept(0x8000);
	l2_arg = 0x8000;
	return NULL;
}

/* A 2-byte access at 7FFFH touches 8000H, intercepted in bitmap B. */
static const char *io_straddle_ab(void)
{
	io_intercept(0x8000);
	l2_arg = 0x7fff;
	return NULL;
}

/* A 4-byte access at 3FFDH touches 4000H, its last byte. */
static const char *io_straddle_4(void)
{
	io_intercept(0x4000);
	l2_arg = 0x3ffd;
	return NULL;
}

/* Nothing intercepted: a 2-byte access at FFFFH wraps to 0 and exits. */
static const char *io_wrap(void)
{
	l2_arg = 0xffff;
	return NULL;
}

static const char *io_imm(void)
{
	io_intercept(0x42);
	return NULL;
}

static const char *io_string_8000(void)
{
	io_intercept(0x8000);
	l2_arg = 0x8000;
	if (rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_INOUT) {
		/* 28.2.5 INS/OUTS: address size 9:7 (2: 64-bit), segment 17:15 (OUTS: DS). */
		want_info = (2u << 7) | (3u << 15);
		want_info_mask = (7u << 7) | (7u << 15);
	}
	return NULL;
}

static const char *io_string_7fff(void)
{
	io_intercept(0x7fff);
	l2_arg = 0x7fff;
	if (rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_INOUT) {
		/* INS always uses ES (segment field undefined): address size only. */
		want_info = 2u << 7;
		want_info_mask = 7u << 7;
	}
	return NULL;
}

/* Unconditional I/O exiting, no bitmaps: every port exits (26.1.3). */
static const char *io_unconditional(void)
{
	const char *w = proc_ctl(CPU_BASED_USE_IO_BITMAPS, false);

	if (!w)
		w = proc_ctl(CPU_BASED_UNCOND_IO_EXITING, true);
	l2_arg = 0x1234;
	return w;
}

static const struct ctl_case io_cases[] = {
	EXIT_ROW("IN byte from 7FFFH, last bit of bitmap A", io_7fff, l2_inb_dx,
		 EXIT_REASON_IO_INSTRUCTION, IOQ(1, 1, 0, 0, 0, 0x7fff), 1),
	EXIT_ROW("OUT byte to 8000H, first bit of bitmap B", io_8000, l2_outb_dx,
		 EXIT_REASON_IO_INSTRUCTION, IOQ(1, 0, 0, 0, 0, 0x8000), 1),
	EXIT_ROW("IN word from 7FFFH, only 8000H intercepted", io_straddle_ab, l2_inw_dx,
		 EXIT_REASON_IO_INSTRUCTION, IOQ(2, 1, 0, 0, 0, 0x7fff), 2),
	EXIT_ROW("IN dword from 3FFDH, only 4000H intercepted", io_straddle_4, l2_inl_dx,
		 EXIT_REASON_IO_INSTRUCTION, IOQ(4, 1, 0, 0, 0, 0x3ffd), 1),
	EXIT_ROW("IN word from FFFFH (wraps), nothing intercepted", io_wrap, l2_inw_dx,
		 EXIT_REASON_IO_INSTRUCTION, IOQ(2, 1, 0, 0, 0, 0xffff), 2),
	EXIT_ROW("OUT byte to immediate port 42H", io_imm, l2_outb_imm,
		 EXIT_REASON_IO_INSTRUCTION, IOQ(1, 0, 0, 0, 1, 0x42), 2),
	EXIT_ROW("REP OUTSB to 8000H", io_string_8000, l2_rep_outsb,
		 EXIT_REASON_IO_INSTRUCTION, IOQ(1, 0, 1, 1, 0, 0x8000), 2),
	EXIT_ROW("INSB from 7FFFH", io_string_7fff, l2_insb,
		 EXIT_REASON_IO_INSTRUCTION, IOQ(1, 1, 1, 0, 0, 0x7fff), 1),
	EXIT_ROW("IN byte from 1234H, unconditional I/O exiting without bitmaps",
		 io_unconditional, l2_inb_dx,
		 EXIT_REASON_IO_INSTRUCTION, IOQ(1, 1, 0, 0, 0, 0x1234), 1),
};

/* ---- MSR bitmaps (25.6.9) ---- */

/* Byte offsets of the four 1 KiB bitmaps in the MSR-bitmap page. */
#define MSRBM_READ_LOW		0x000
#define MSRBM_READ_HIGH		0x400
#define MSRBM_WRITE_LOW		0x800
#define MSRBM_WRITE_HIGH	0xc00

static void msr_intercept(uint32_t msr, bool write)
{
	uint8_t *bm = (uint8_t *)(uintptr_t)n.pages->vmx.msr_bitmap;
	uint32_t off = msr >= 0xc0000000 ? (write ? MSRBM_WRITE_HIGH : MSRBM_READ_HIGH) :
					   (write ? MSRBM_WRITE_LOW : MSRBM_READ_LOW);

	msr &= 0x1fff;
	bm[off + msr / 8] |= 1u << (msr & 7);
}

#define MSR_SETUP(nm, msr, write, set)						\
static const char *nm(void)							\
{										\
	if (set)								\
		msr_intercept(msr, write);					\
	l2_arg = msr;								\
	return NULL;								\
}
MSR_SETUP(msr_rd_0, 0x0, false, true)
MSR_SETUP(msr_rd_1fff, 0x1fff, false, true)
MSR_SETUP(msr_rd_c0000000, 0xc0000000, false, true)
MSR_SETUP(msr_rd_c0001fff, 0xc0001fff, false, true)
MSR_SETUP(msr_wr_1fff, 0x1fff, true, true)
MSR_SETUP(msr_wr_c0001fff, 0xc0001fff, true, true)
MSR_SETUP(msr_rd_2000, 0x2000, false, false)
MSR_SETUP(msr_rd_c0002000, 0xc0002000, false, false)
MSR_SETUP(msr_wr_40000000_free, 0x40000000, true, false)

/* Only the write bit of 1FFFH (resp. EFER) set: a read does not exit. */
static const char *msr_rd_1fff_write_bit(void)
{
	msr_intercept(0x1fff, true);
	l2_arg = 0x1fff;
	return NULL;
}

static const char *msr_rd_efer_write_bit(void)
{
	msr_intercept(MSR_EFER, true);
	l2_arg = MSR_EFER;
	return NULL;
}

static const char *check_rdmsr_gp(void)
{
	if (l2_vec != GP_VECTOR) {
		guest_snprintf(why, sizeof(why), "RDMSR 0x%lx in L2: vector %lu, expected #GP "
			       "(no such MSR)", l2_arg, l2_vec);
		return why;
	}
	return NULL;
}

static const char *check_rdmsr_efer(void)
{
	if (l2_vec != NO_VECTOR || l2_out != vmread(GUEST_IA32_EFER)) {
		guest_snprintf(why, sizeof(why), "RDMSR EFER in L2: vector %lu, value 0x%lx, "
			       "expected 0x%lx", l2_vec, l2_out, vmread(GUEST_IA32_EFER));
		return why;
	}
	return NULL;
}

static const struct ctl_case msr_cases[] = {
	EXIT_ROW("RDMSR 0H, read-low bit 0", msr_rd_0, l2_rdmsr, EXIT_REASON_MSR_READ,
		 NO_QUAL, 2),
	EXIT_ROW("RDMSR 1FFFH, read-low last bit", msr_rd_1fff, l2_rdmsr,
		 EXIT_REASON_MSR_READ, NO_QUAL, 2),
	EXIT_ROW("RDMSR C0000000H, read-high bit 0", msr_rd_c0000000, l2_rdmsr,
		 EXIT_REASON_MSR_READ, NO_QUAL, 2),
	EXIT_ROW("RDMSR C0001FFFH, read-high last bit", msr_rd_c0001fff, l2_rdmsr,
		 EXIT_REASON_MSR_READ, NO_QUAL, 2),
	EXIT_ROW("WRMSR 1FFFH, write-low last bit", msr_wr_1fff, l2_wrmsr,
		 EXIT_REASON_MSR_WRITE, NO_QUAL, 2),
	EXIT_ROW("WRMSR C0001FFFH, write-high last bit", msr_wr_c0001fff, l2_wrmsr,
		 EXIT_REASON_MSR_WRITE, NO_QUAL, 2),
	EXIT_ROW("RDMSR 2000H (outside the ranges), empty bitmap", msr_rd_2000, l2_rdmsr,
		 EXIT_REASON_MSR_READ, NO_QUAL, 2),
	EXIT_ROW("RDMSR C0002000H (outside the ranges), empty bitmap", msr_rd_c0002000,
		 l2_rdmsr, EXIT_REASON_MSR_READ, NO_QUAL, 2),
	EXIT_ROW("WRMSR 40000000H (outside the ranges), empty bitmap", msr_wr_40000000_free,
		 l2_wrmsr, EXIT_REASON_MSR_WRITE, NO_QUAL, 2),
	NO_EXIT("RDMSR 1FFFH with only its write bit: #GP in L2", msr_rd_1fff_write_bit,
		l2_rdmsr, check_rdmsr_gp),
	NO_EXIT("RDMSR EFER with only its write bit: L2 reads EFER", msr_rd_efer_write_bit,
		l2_rdmsr, check_rdmsr_efer),
};

/* ---- #PF error-code mask/match (25.6.3, 26.2) ---- */

static const char *pf_filter(bool bit14, uint32_t mask, uint32_t match)
{
	vmwrite(EXCEPTION_BITMAP, bit14 ? 1u << PF_VECTOR : 0);
	vmwrite(PAGE_FAULT_ERROR_CODE_MASK, mask);
	vmwrite(PAGE_FAULT_ERROR_CODE_MATCH, match);
	return NULL;
}

static const char *pf_b1_m0_m0(void) { return pf_filter(true, 0, 0); }
static const char *pf_b1_w_0(void) { return pf_filter(true, PFERR_WRITE, 0); }
static const char *pf_b1_w_w(void) { return pf_filter(true, PFERR_WRITE, PFERR_WRITE); }
static const char *pf_b0_w_w(void) { return pf_filter(false, PFERR_WRITE, PFERR_WRITE); }
static const char *pf_b0_m0_m0(void) { return pf_filter(false, 0, 0); }

/* The #PF exit: vector 14, hardware exception, error code valid (25.9.2). */
#define PF_EXIT_INFO	(VMX_INTR_INFO_VALID | VMX_INTR_TYPE_HARD_EXCEPTION |	\
			 VMX_INTR_INFO_DELIVER_CODE | PF_VECTOR)

static uint32_t pf_want_error;

static const char *check_pf_exit(void)
{
	uint64_t info = vmread(VM_EXIT_INTR_INFO), err = vmread(VM_EXIT_INTR_ERROR_CODE);

	if ((info & ~(1ULL << 12)) != PF_EXIT_INFO || err != pf_want_error) {
		guest_snprintf(why, sizeof(why), "interruption info 0x%lx (expected 0x%x), "
			       "error code 0x%lx (expected 0x%x)", info, PF_EXIT_INFO, err,
			       pf_want_error);
		return why;
	}
	return NULL;
}

static const char *check_pf_read_exit(void)
{
	pf_want_error = 0;
	return check_pf_exit();
}

static const char *check_pf_write_exit(void)
{
	pf_want_error = PFERR_WRITE;
	return check_pf_exit();
}

static const char *check_pf_in_l2(void)
{
	if (l2_vec != PF_VECTOR) {
		guest_snprintf(why, sizeof(why), "L2 saw vector %lu, expected #PF", l2_vec);
		return why;
	}
	return NULL;
}

#define PF_EXIT(nm, set, fn, chk)						\
	{ nm, set, fn, EXIT_REASON_EXCEPTION_NMI, UNMAPPED + 8, 0, chk }

static const struct ctl_case pf_cases[] = {
	PF_EXIT("bit 14 set, MASK 0 MATCH 0: read #PF exits", pf_b1_m0_m0, l2_pf_read,
		check_pf_read_exit),
	PF_EXIT("bit 14 set, MASK W MATCH 0: read #PF (W=0) exits", pf_b1_w_0, l2_pf_read,
		check_pf_read_exit),
	NO_EXIT("bit 14 set, MASK W MATCH 0: write #PF (W=1) goes to L2", pf_b1_w_0,
		l2_pf_write, check_pf_in_l2),
	PF_EXIT("bit 14 set, MASK W MATCH W: write #PF (W=1) exits", pf_b1_w_w, l2_pf_write,
		check_pf_write_exit),
	NO_EXIT("bit 14 set, MASK W MATCH W: read #PF (W=0) goes to L2", pf_b1_w_w,
		l2_pf_read, check_pf_in_l2),
	PF_EXIT("bit 14 clear, MASK W MATCH W: read #PF (W=0) exits", pf_b0_w_w, l2_pf_read,
		check_pf_read_exit),
	NO_EXIT("bit 14 clear, MASK W MATCH W: write #PF (W=1) goes to L2", pf_b0_w_w,
		l2_pf_write, check_pf_in_l2),
	NO_EXIT("bit 14 clear, MASK 0 MATCH 0: read #PF goes to L2", pf_b0_m0_m0, l2_pf_read,
		check_pf_in_l2),
};

/* ---- instruction exiting (26.1.3) and TSC offsetting (26.3) ---- */

static const char *hlt_on(void) { return proc_ctl(CPU_BASED_HLT_EXITING, true); }
static const char *invlpg_on(void) { return proc_ctl(CPU_BASED_INVLPG_EXITING, true); }
static const char *invlpg_off(void) { return proc_ctl(CPU_BASED_INVLPG_EXITING, false); }
static const char *rdtsc_on(void) { return proc_ctl(CPU_BASED_RDTSC_EXITING, true); }
static const char *rdpmc_on(void) { return proc_ctl(CPU_BASED_RDPMC_EXITING, true); }
static const char *rdpmc_off(void) { return proc_ctl(CPU_BASED_RDPMC_EXITING, false); }
static const char *pause_on(void) { return proc_ctl(CPU_BASED_PAUSE_EXITING, true); }
static const char *pause_off(void) { return proc_ctl(CPU_BASED_PAUSE_EXITING, false); }
static const char *wbinvd_on(void) { return sec_ctl(SECONDARY_EXEC_WBINVD_EXITING, true); }
static const char *wbinvd_off(void) { return sec_ctl(SECONDARY_EXEC_WBINVD_EXITING, false); }

/* CPUID.01H:ECX.MONITOR[bit 3]: without it MONITOR/MWAIT #UD before any exit (26.1.1). */
static const char *monitor_on(void)
{
	if (!cpuid_bit(1, 'c', 3))
		return "CPUID.01H:ECX.MONITOR is 0 in L1";
	return proc_ctl(CPU_BASED_MONITOR_EXITING, true);
}

static const char *mwait_on(void)
{
	if (!cpuid_bit(1, 'c', 3))
		return "CPUID.01H:ECX.MONITOR is 0 in L1";
	return proc_ctl(CPU_BASED_MWAIT_EXITING, true);
}

static const char *rdrand_ctl(bool on)
{
	if (!cpuid_bit(1, 'c', 30))
		return "CPUID.01H:ECX.RDRAND is 0 in L1";
	return sec_ctl(SECONDARY_EXEC_RDRAND_EXITING, on);
}

static const char *rdrand_on(void) { return rdrand_ctl(true); }
static const char *rdrand_off(void) { return rdrand_ctl(false); }

/* 28.2.5, table for LGDT/LIDT/SGDT/SIDT: 64-bit address, DS, no index, base RAX. */
#define DT_INFO_MASK	((7u << 7) | (7u << 15) | (1u << 22) | (0xfu << 23) | (1u << 27) | (3u << 28))
#define DT_INFO(id)	((2u << 7) | (3u << 15) | (1u << 22) | (0u << 23) | ((id) << 28))

static const char *desc_on_sgdt(void)
{
	want_info = DT_INFO(0);
	want_info_mask = DT_INFO_MASK;
	return sec_ctl(SECONDARY_EXEC_DESC, true);
}

static const char *desc_on_sidt(void)
{
	want_info = DT_INFO(1);
	want_info_mask = DT_INFO_MASK;
	return sec_ctl(SECONDARY_EXEC_DESC, true);
}

/* LLDT/LTR/SLDT/STR: register operand (bit 10), reg1 = RAX (6:3), identity 0 = SLDT. */
static const char *desc_on_sldt(void)
{
	want_info = 1u << 10;
	want_info_mask = (1u << 10) | (0xfu << 3) | (3u << 28);
	return sec_ctl(SECONDARY_EXEC_DESC, true);
}

static const char *desc_off(void)
{
	return sec_ctl(SECONDARY_EXEC_DESC, false);
}

static const char *check_sgdt(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) dt;

	asm volatile("sgdt %0" : "=m"(dt));
	if (l2_dt.base != dt.base || l2_dt.limit != dt.limit) {
		guest_snprintf(why, sizeof(why), "L2's SGDT 0x%lx/0x%x, L1's GDTR 0x%lx/0x%x",
			       l2_dt.base, l2_dt.limit, dt.base, dt.limit);
		return why;
	}
	return NULL;
}

static const char *check_rdrand(void)
{
	if (l2_out != 1) {
		guest_snprintf(why, sizeof(why), "RDRAND in L2 returned CF=0");
		return why;
	}
	return NULL;
}

/* TSC offsetting: L2's RDTSC = L1's TSC + offset, between L1's reads around the entry. */
static const char *tsc_offset_on(void)
{
	vmwrite(TSC_OFFSET, TSC_OFF);
	return proc_ctl(CPU_BASED_USE_TSC_OFFSETTING, true);
}

static const char *check_tsc_offset(void)
{
	if (l2_out < tsc_before + TSC_OFF || l2_out > tsc_after + TSC_OFF) {
		guest_snprintf(why, sizeof(why), "L2's TSC 0x%lx not in [0x%lx, 0x%lx] "
			       "(L1's TSC around the entry + 0x%lx)", l2_out,
			       tsc_before + TSC_OFF, tsc_after + TSC_OFF, TSC_OFF);
		return why;
	}
	return NULL;
}

static const char *tsc_no_offset(void)
{
	return proc_ctl(CPU_BASED_USE_TSC_OFFSETTING, false);
}

static const char *check_tsc_plain(void)
{
	if (l2_out < tsc_before || l2_out > tsc_after) {
		guest_snprintf(why, sizeof(why), "L2's TSC 0x%lx not in [0x%lx, 0x%lx]", l2_out,
			       tsc_before, tsc_after);
		return why;
	}
	return NULL;
}

static const struct ctl_case insn_cases[] = {
	EXIT_ROW("HLT with HLT exiting", hlt_on, l2_hlt, EXIT_REASON_HLT, NO_QUAL, 1),
	EXIT_ROW("INVLPG with INVLPG exiting: qualification = address", invlpg_on, l2_invlpg,
		 EXIT_REASON_INVLPG, INVLPG_ADDR, 3),
	NO_EXIT("INVLPG without INVLPG exiting", invlpg_off, l2_invlpg, NULL),
	EXIT_ROW("RDTSC with RDTSC exiting", rdtsc_on, l2_rdtsc, EXIT_REASON_RDTSC, NO_QUAL, 2),
	NO_EXIT("RDTSC with TSC offsetting", tsc_offset_on, l2_rdtsc, check_tsc_offset),
	NO_EXIT("RDTSC without TSC offsetting", tsc_no_offset, l2_rdtsc, check_tsc_plain),
	EXIT_ROW("RDPMC with RDPMC exiting", rdpmc_on, l2_rdpmc, EXIT_REASON_RDPMC, NO_QUAL, 2),
	NO_EXIT("RDPMC without RDPMC exiting", rdpmc_off, l2_rdpmc, NULL),
	EXIT_ROW("MONITOR with MONITOR exiting", monitor_on, l2_monitor, EXIT_REASON_MONITOR,
		 NO_QUAL, 3),
	EXIT_ROW("MWAIT with MWAIT exiting", mwait_on, l2_mwait, EXIT_REASON_MWAIT, NO_QUAL, 3),
	EXIT_ROW("PAUSE with PAUSE exiting", pause_on, l2_pause, EXIT_REASON_PAUSE, NO_QUAL, 2),
	NO_EXIT("PAUSE without PAUSE exiting", pause_off, l2_pause, NULL),
	EXIT_ROW("RDRAND with RDRAND exiting", rdrand_on, l2_rdrand, EXIT_REASON_RDRAND,
		 NO_QUAL, 3),
	NO_EXIT("RDRAND without RDRAND exiting", rdrand_off, l2_rdrand, check_rdrand),
	EXIT_ROW("WBINVD with WBINVD exiting", wbinvd_on, l2_wbinvd, EXIT_REASON_WBINVD,
		 NO_QUAL, 2),
	NO_EXIT("WBINVD without WBINVD exiting", wbinvd_off, l2_wbinvd, NULL),
	EXIT_ROW("SGDT with descriptor-table exiting", desc_on_sgdt, l2_sgdt,
		 EXIT_REASON_GDTR_IDTR, 0, 3),
	EXIT_ROW("SIDT with descriptor-table exiting", desc_on_sidt, l2_sidt,
		 EXIT_REASON_GDTR_IDTR, 0, 3),
	EXIT_ROW("SLDT with descriptor-table exiting", desc_on_sldt, l2_sldt,
		 EXIT_REASON_LDTR_TR, NO_QUAL, 3),
	NO_EXIT("SGDT without descriptor-table exiting", desc_off, l2_sgdt, check_sgdt),
};

/* ---- the runner ---- */

static unsigned int skipped;

static bool run_case(struct nested_pages *p, const struct ctl_case *c)
{
	enum vmx_status s;
	uint32_t reason, len;
	uint64_t qual, info;
	const char *w;
	char b[160];

	vmx_init_vmcs(&p->vmx, c->l2, p->l2_stack_top);
	memset(&regs, 0, sizeof(regs));
	l2_arg = 0;
	l2_out = 0;
	l2_vec = NO_VECTOR;
	want_qual = c->qual;
	want_info_mask = 0;
	w = c->setup();
	if (w) {
		GUEST_PRINTF("SKIP %s: %s", c->name, w);
		skipped++;
		return true;
	}

	tsc_before = rdtsc();
	reason = vmx_run(false, &regs, &s);
	tsc_after = rdtsc();
	if (s != VMX_OK) {
		GUEST_PRINTF("FAIL %s: VMLAUNCH %s", c->name, vmx_status_name(s));
		return false;
	}
	qual = vmread(EXIT_QUALIFICATION);
	len = vmread(VM_EXIT_INSTRUCTION_LEN);
	info = vmread(VMX_INSTRUCTION_INFO);
	if (reason != c->reason) {
		GUEST_PRINTF("FAIL %s: exit %s, expected %s (%u)", c->name,
			     vmx_exit_str(reason, qual, b, sizeof(b)),
			     c->reason == EXIT_REASON_VMCALL ? "no exit (L2's VMCALL)" :
			     vmx_exit_name(c->reason), c->reason);
		return false;
	}
	if (want_qual != NO_QUAL && qual != want_qual) {
		GUEST_PRINTF("FAIL %s: exit qualification 0x%lx (%s), expected 0x%lx", c->name,
			     qual, vmx_exit_str(reason, qual, b, sizeof(b)), want_qual);
		return false;
	}
	if (c->len && len != c->len) {
		GUEST_PRINTF("FAIL %s: VM-exit instruction length %u, expected %u", c->name, len,
			     c->len);
		return false;
	}
	if (want_info_mask && (info & want_info_mask) != want_info) {
		GUEST_PRINTF("FAIL %s: VM-exit instruction information 0x%lx, expected 0x%lx in "
			     "bits 0x%lx", c->name, info, want_info, want_info_mask);
		return false;
	}
	if (c->check) {
		w = c->check();
		if (w) {
			GUEST_PRINTF("FAIL %s: %s", c->name, w);
			return false;
		}
	}
	return true;
}

static void run_table(struct nested_pages *p, const struct ctl_case *cases, unsigned int nr)
{
	unsigned int failed = 0;

	guest_nested_init(&n, p, l2_done);
	for (unsigned int i = 0; i < nr; i++)
		failed += !run_case(p, &cases[i]);
	GUEST_PRINTF("%u rows: %u failed, %u not applicable here", nr, failed, skipped);
	__GUEST_ASSERT(!failed, "%u of %u rows failed (listed above)", failed, nr);
	GUEST_DONE();
}

static void l1_cr(struct nested_pages *p)
{
	run_table(p, cr_cases, ARRAY_SIZE(cr_cases));
}

static void l1_io(struct nested_pages *p)
{
	run_table(p, io_cases, ARRAY_SIZE(io_cases));
}

static void l1_msr(struct nested_pages *p)
{
	run_table(p, msr_cases, ARRAY_SIZE(msr_cases));
}

static void l1_pf(struct nested_pages *p)
{
	run_table(p, pf_cases, ARRAY_SIZE(pf_cases));
}

static void l1_insn(struct nested_pages *p)
{
	run_table(p, insn_cases, ARRAY_SIZE(insn_cases));
}

VMX_TEST(cr_masks_and_shadows, l1_cr)
VMX_TEST(io_bitmaps, l1_io)
VMX_TEST(msr_bitmaps, l1_msr)
VMX_TEST(pf_error_code_mask_match, l1_pf)
VMX_TEST(instruction_exiting, l1_insn)

TEST_HARNESS_MAIN
