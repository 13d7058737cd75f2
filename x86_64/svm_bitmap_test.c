// SPDX-License-Identifier: GPL-2.0-only
/*
 * Nested SVM permission maps: which MSR and port accesses of L2 reach L1 as
 * a #VMEXIT, what the exit says, and that the others reach the MSR or port
 * itself (AMD APM vol. 2).  Every test SKIPs unless KVM offers SVM to its
 * guests (kvm_amd nested=1).
 *
 *  - MSRPM (15.11): with the MSR_PROT intercept set, RDMSR/WRMSR of an MSR
 *    in 0000_0000-0000_1FFF, C000_0000-C000_1FFF or C001_0000-C001_1FFF
 *    exits iff its read bit (even) or write bit (odd) is set; an MSR outside
 *    the three ranges always exits.  The exit has exit_info_1 0 (RDMSR) or
 *    1 (WRMSR), ECX the MSR and, for WRMSR, EDX:EAX the value; L1 completes
 *    it.  Each range is tried at its first and last MSR and at MSRs in
 *    between (ones KVM passes straight through to L2, such as STAR, and ones
 *    KVM intercepts and emulates itself, such as SYSENTER_EIP), with only
 *    the read bit, only the write bit, both and neither.  An access that does
 *    not exit reaches the MSR: L2 gets what L1 itself gets for the same
 *    RDMSR/WRMSR (value or #GP), and a write is seen by L1 afterwards (these
 *    MSRs are not switched by VMRUN/#VMEXIT, 15.5.1).  With MSR_PROT clear
 *    nothing exits, whatever the map says.  Bits 11:0 of MSRPM_BASE_PA and
 *    IOPM_BASE_PA are ignored (appendix B, table B-1): a pass of each table
 *    sets them.
 *  - MSRs KVM emulates and L1 does not intercept: L2's RDMSR of the TSC
 *    is L1's TSC plus VMCB12's TSC_OFFSET (15.15), of EFER the value
 *    VMRUN loaded from VMCB12 (15.5.1), not L1's: KVM's values for L2.
 *  - IOPM (15.10): IN/OUT/INS/OUTS exit iff the bit of any port the access
 *    touches (port .. port + size - 1) is set: accesses of 2 and 4 bytes
 *    whose later ports are intercepted, across a byte of the bitmap (port 7
 *    of size 2 with only port 8 set) and a page of it (0x7fff, 0x8000), and
 *    from port 0xffff, whose bits for 0x10000-0x10002 are in the IOPM's
 *    third page (the map is 12 KiB).
 *    exit_info_1 (15.10.2) has TYPE (bit 0, 1 = IN), STR (2), REP (3), the
 *    size (SZ8/16/32, bits 4-6), the address size (A16/32/64, bits 7-9;
 *    A32 with an 0x67 prefix) and the port (31:16); SEG (12:10) only where
 *    DecodeAssists is offered; exit_info_2 is the next RIP.  Immediate and
 *    DX forms, string forms with and without REP.  An intercepted string
 *    instruction has transferred nothing (RCX, RSI/RDI unchanged).  An
 *    access that does not exit reaches the port: the host sees the
 *    KVM_EXIT_IO with L2's data, and L2 gets the host's.  With IOIO_PROT
 *    clear nothing exits even with every bit set.
 *  - Both tables again with L2's instructions run by KVM's emulator
 *    (kvm.force_emulation_prefix): KVM then checks L1's maps and builds
 *    exit_info_1 itself (svm_check_intercept()).
 *  - The next RIP of those emulated exits (exit_info_2 of IOIO; NRIP where
 *    NRIPS is offered) is the next instruction's address.  Linux 6.12's
 *    emulator gives the instruction's own RIP (emulator_check_intercept()
 *    passes ctxt->eip), fixed upstream by c8e612bfedff ("KVM: nSVM: Pass
 *    next RIP, not current RIP, for nested VM-Exit on emulation", 2025,
 *    not in Debian's 6.12.118): emulated_exit_next_rip fails on such KVMs.
 *
 * Under QEMU TCG (KVM_SUITE_CPU_EMULATOR=qemu-tcg) the CPU's native IOIO
 * exit has no address-size bit (QEMU's gen_check_io sets none): accepted
 * there only, logged; the emulated forms are checked strictly.
 *
 * The ideas of kvm-unit-tests x86/svm_tests.c "ioio" and "msr intercept
 * check" (which also run L2 against the maps), extended; none of the upstream selftests (tools/testing/selftests/kvm/x86_64/)
 * covers the nested permission maps.
 *
 * Caught bugs: bugs/nested-svm-iopm-single-bit.patch,
 * bugs/nested-svm-msrpm-rw-swapped.patch, bugs/nested-svm-msrpm-range-end.patch,
 * bugs/nested-svm-msrpm-merge-drops-l1.patch
 */
#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "nested.h"

/* Set by the host before L1 runs. */
static bool tcg_lane, fep_on;

/*
 * Added to IOPM_BASE_PA and MSRPM_BASE_PA in a pass of each table: bits
 * 11:0 of both are ignored (APM vol. 2 appendix B, table B-1).
 */
#define BASE_LOW_BITS	0xabc
static uint64_t base_low;

/* ---- the host: ucalls, and a log of L2's port accesses that reach it ---- */

#define IO_LOG_MAX	8
#define HOST_IN_BYTE(i)	((uint8_t)(0xd0 + (i)))	/* what an IN gets from the host */

struct io_access {
	uint16_t port;
	uint8_t size, in;
	uint32_t count;
	uint8_t data[16];
};

static volatile struct {
	uint32_t n;
	uint32_t in_bytes;
	struct io_access a[IO_LOG_MAX];
} io_log;

static void host_log_io(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	typeof(io_log) *log = (typeof(io_log) *)addr_gva2hva(vm, (uint64_t)(uintptr_t)&io_log);
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t bytes = run->io.size * run->io.count, i;
	volatile struct io_access *a = &log->a[log->n < IO_LOG_MAX ? log->n : IO_LOG_MAX - 1];

	log->n++;
	a->port = run->io.port;
	a->size = run->io.size;
	a->in = run->io.direction == KVM_EXIT_IO_IN;
	a->count = run->io.count;
	for (i = 0; i < bytes; i++) {
		if (a->in)
			data[i] = HOST_IN_BYTE(log->in_bytes++);
		if (i < sizeof(a->data))
			a->data[i] = data[i];
	}
}

static void run_l1(struct __test_metadata *_metadata, struct kvm_vm *vm,
		   struct kvm_vcpu *vcpu)
{
	struct ucall uc;
	char file[256];

	tcg_lane = kvm_cpu_emulator_is("qemu-tcg");
	fep_on = kvm_fep_enabled();
	sync_global_to_guest(vm, tcg_lane);
	sync_global_to_guest(vm, fep_on);
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	for (;;) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason == KVM_EXIT_IO &&
		    vcpu->run->io.port != UCALL_PIO_PORT) {
			host_log_io(vm, vcpu);
			continue;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_NONE:
			TEST_ASSERT_KVM_EXIT_REASON(vcpu, VCPU_EXIT_UCALL);
			break;
		case UCALL_PRINTF:
			TH_LOG("guest %s:%u: %s", ucall_file(vcpu, &uc, file, sizeof(file)),
			       uc.line, uc.buffer);
			break;
		case UCALL_ABORT:
			report_guest_abort(vcpu, &uc);
		case UCALL_SYNC:
			if (uc.args[0] == NESTED_SKIP_SYNC)
				SKIP(return, "%s", (const char *)addr_gva2hva(vm, uc.args[1]));
			break;
		case UCALL_DONE:
			return;
		}
	}
}

#define BITMAP_TEST(name, l1_fn)						\
	KVM_VCPU_TEST(name, l1_fn)						\
	{									\
		TEST_REQUIRE_SVM();						\
		run_l1(_metadata, vm, vcpu);					\
	}

/* ---- MSRPM ---- */

/*
 * SAFE: L1 and L2 may write l1val/l2val (no effect on the test's code).
 * Otherwise L2 writes back what L1 read (a no-op where the write is allowed).
 */
struct msr_case {
	uint32_t msr;
	const char *what;
	bool safe;
	bool outside;		/* outside the three ranges: always exits */
	uint64_t l1val, l2val;
};

#define MSR_PLAIN(m, w)		{ .msr = (m), .what = (w) }
#define MSR_SAFE(m, w, v1, v2)							\
	{ .msr = (m), .what = (w), .safe = true, .l1val = (v1), .l2val = (v2) }
#define MSR_OUTSIDE(m, w)	{ .msr = (m), .what = (w), .outside = true }

static const struct msr_case msr_cases[] = {
	MSR_PLAIN(0x00000000, "first of range 0 (P5_MC_ADDR)"),
	MSR_PLAIN(MSR_IA32_APICBASE, "APIC_BASE (KVM emulates it)"),
	MSR_SAFE(MSR_IA32_SYSENTER_CS, "SYSENTER_CS", 0x10, 0x23),
	MSR_SAFE(MSR_IA32_SYSENTER_ESP, "SYSENTER_ESP", 0x12345678, 0x9abcdef0),
	MSR_SAFE(MSR_IA32_SYSENTER_EIP, "SYSENTER_EIP", 0x13572468, 0x24681357),
	MSR_PLAIN(0x00000802, "x2APIC ID (KVM always intercepts it for L2)"),
	MSR_PLAIN(0x00001fff, "last of range 0"),
	MSR_PLAIN(0xc0000000, "first of range 1"),
	MSR_PLAIN(MSR_EFER, "EFER"),
	MSR_SAFE(MSR_STAR, "STAR", 0x0023001000000000ULL, 0x001b000800000000ULL),
	MSR_SAFE(MSR_LSTAR, "LSTAR", 0xffffffff81000000ULL, 0x0000000040001000ULL),
	MSR_SAFE(MSR_CSTAR, "CSTAR", 0xffffffff82000000ULL, 0x0000000040002000ULL),
	MSR_SAFE(MSR_SYSCALL_MASK, "SFMASK", 0x4700, 0x0300),
	MSR_SAFE(MSR_KERNEL_GS_BASE, "KERNEL_GS_BASE", 0xffff888000001000ULL, 0x777000),
	MSR_SAFE(MSR_TSC_AUX, "TSC_AUX", 0x11, 0x22),
	MSR_PLAIN(0xc0001fff, "last of range 1"),
	MSR_PLAIN(0xc0010000, "first of range 2 (PERF_CTL0)"),
	MSR_PLAIN(MSR_VM_CR, "VM_CR"),
	MSR_PLAIN(0xc0011fff, "last of range 2"),
	MSR_OUTSIDE(0x00002000, "just past range 0"),
	MSR_OUTSIDE(0xc0002000, "just past range 1"),
	MSR_OUTSIDE(0xc000ffff, "just below range 2"),
	MSR_OUTSIDE(0xc0012000, "just past range 2"),
	MSR_OUTSIDE(0x80000000, "0x80000000"),
	MSR_OUTSIDE(0xffffffff, "0xffffffff"),
};

enum msr_mode { MODE_NONE, MODE_READ, MODE_WRITE, MODE_BOTH, MODE_PROT_OFF };
static const char *const mode_name[] = {
	"no bit", "read bit only", "write bit only", "both bits", "MSR_PROT clear, map all ones",
};

/* What L2 does next, and what it got. */
static volatile struct {
	uint32_t msr;
	bool write, fep;
	uint64_t wval;
	uint8_t vec;
	uint64_t rval;
} l2_msr;

/* RDMSR/WRMSR through KVM's emulator (force-emulation prefix). */
static uint8_t rdmsr_fep_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;

	asm volatile(ASM_SAFE(KVM_FEP "rdmsr") : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	*val = lo | ((uint64_t)hi << 32);
	return guest_fault_vector();
}

static uint8_t wrmsr_fep_safe(uint32_t msr, uint64_t value)
{
	asm volatile(ASM_SAFE(KVM_FEP "wrmsr")
		     :: "a"((uint32_t)value), "d"((uint32_t)(value >> 32)), "c"(msr)
		     : "memory");
	return guest_fault_vector();
}

static void l2_msr_loop(void)
{
	uint64_t v = 0;

	for (;;) {
		if (l2_msr.write) {
			l2_msr.vec = l2_msr.fep ? wrmsr_fep_safe(l2_msr.msr, l2_msr.wval) :
						  wrmsr_safe(l2_msr.msr, l2_msr.wval);
		} else {
			l2_msr.vec = l2_msr.fep ? rdmsr_fep_safe(l2_msr.msr, &v) :
						  rdmsr_safe(l2_msr.msr, &v);
			l2_msr.rval = v;
		}
		guest_nested_hypercall(0);
	}
}

/*
 * The next RIP of an exit KVM's emulator made (exit_info_2 of IOIO, NRIP).
 * Linux 6.12 gives the instruction's own RIP there: emulated_exit_next_rip
 * asserts it (emu_strict_next_rip), emulated_intercepts_exit_info counts
 * the mismatches and checks everything else.
 */
static bool emu_strict_next_rip;
static unsigned int emu_bad_next_rip, emu_exits;

static void emulated_next_rip(const char *field, const char *what, uint64_t rip,
			      uint64_t got, uint64_t want)
{
	emu_exits++;
	if (got == want)
		return;
	emu_bad_next_rip++;
	__GUEST_ASSERT(!emu_strict_next_rip, "emulated %s (at %#lx) exited with %s %#lx, not "
		       "the next instruction's address %#lx (APM vol. 2 15.10.2 exit_info_2, "
		       "15.7.1 NRIP)%s", what, rip, field, got, want,
		       got == rip ? ": the instruction's own RIP, as KVM's emulator gives "
		       "next_rip to the nested intercept check from ctxt->eip" : "");
}

#define L1_RDMSR_VALUE	0x600dcafe00000000ULL	/* what L1 returns for an intercepted RDMSR */

/*
 * An MSR exit: exit_info_1, ECX, the instruction at RIP, a WRMSR's EDX:EAX and
 * NRIP, checked; then L1 completes it (an RDMSR gets L1_RDMSR_VALUE | MSR).
 */
static void check_msr_exit(struct nested *n, const struct msr_case *c, const char *mode,
			   bool write, uint64_t wval)
{
	struct vmcb *vmcb = guest_nested_vmcb(n->pages);
	uint8_t *insn = (uint8_t *)(uintptr_t)vmcb->save.rip;

	__GUEST_ASSERT(vmcb->control.exit_info_1 == (write ? SVM_MSR_EXIT_WRITE : SVM_MSR_EXIT_READ),
		       "MSR %#x %s (%s), %s: exit_info_1 %#lx, expected %u", c->msr, c->what,
		       mode, write ? "WRMSR" : "RDMSR", vmcb->control.exit_info_1,
		       write ? SVM_MSR_EXIT_WRITE : SVM_MSR_EXIT_READ);
	__GUEST_ASSERT((uint32_t)n->gprs.rcx == c->msr, "MSR %#x %s (%s): ECX %#lx at the exit",
		       c->msr, c->what, mode, n->gprs.rcx);
	__GUEST_ASSERT(insn[0] == 0x0f && insn[1] == (write ? 0x30 : 0x32),
		       "MSR %#x (%s): exit RIP %#lx holds %02x %02x, not %s", c->msr, mode,
		       vmcb->save.rip, insn[0], insn[1], write ? "WRMSR" : "RDMSR");
	if (write)
		__GUEST_ASSERT((uint32_t)vmcb->save.rax == (uint32_t)wval &&
			       (uint32_t)n->gprs.rdx == (uint32_t)(wval >> 32),
			       "MSR %#x (%s): WRMSR exit with EDX:EAX %x:%x, L2 wrote %#lx",
			       c->msr, mode, (uint32_t)n->gprs.rdx, (uint32_t)vmcb->save.rax, wval);
	else
		guest_nested_l2_set_msr_result(n, L1_RDMSR_VALUE | c->msr);
	/* With NRIPS the exit also has the next RIP (15.7.1). */
	if (svm_features() & SVM_FEAT_NRIPS) {
		if (l2_msr.fep)
			emulated_next_rip("NRIP", write ? "WRMSR" : "RDMSR", vmcb->save.rip,
					  vmcb->control.next_rip, vmcb->save.rip + 2);
		else
			__GUEST_ASSERT(vmcb->control.next_rip == vmcb->save.rip + 2,
				       "MSR %#x (%s): NRIP %#lx, the %s at %#lx is 2 bytes",
				       c->msr, mode, vmcb->control.next_rip,
				       write ? "WRMSR" : "RDMSR", vmcb->save.rip);
	}
	vmcb->save.rip += 2;
}

/* Run L2's access (read or write); returns whether it exited to L1 with SVM_EXIT_MSR. */
static bool l2_msr_access(struct nested *n, const struct msr_case *c, const char *mode,
			  bool write, uint64_t wval)
{
	struct vmcb *vmcb = guest_nested_vmcb(n->pages);
	bool exited = false;
	char buf[160];

	l2_msr.msr = c->msr;
	l2_msr.write = write;
	l2_msr.wval = wval;
	l2_msr.vec = 0xee;
	l2_msr.rval = 0;
	if (guest_nested_run(n) == NESTED_EXIT_MSR) {
		check_msr_exit(n, c, mode, write, wval);
		exited = true;
		guest_nested_run(n);
	}
	__GUEST_ASSERT(vmcb->control.exit_code == SVM_EXIT_VMMCALL,
		       "MSR %#x %s (%s), %s: %s, expected VMMCALL after the access", c->msr,
		       c->what, mode, write ? "WRMSR" : "RDMSR",
		       guest_nested_exit_str(n, buf, sizeof(buf)));
	guest_nested_skip(n, 3);
	return exited;
}

static void msr_case_run(struct nested *n, const struct msr_case *c, enum msr_mode mode,
			 bool fep)
{
	struct vmcb *vmcb = guest_nested_vmcb(n->pages);
	bool rd_exit, wr_exit, exited;
	uint8_t rvec, wvec, vec;
	uint64_t cur, wval, v;
	char label[64];

	guest_snprintf(label, sizeof(label), "%s%s%s", fep ? "emulated, " : "", mode_name[mode],
		       base_low ? ", MSRPM_BASE_PA bits 11:0 set" : "");

	/* L1's own access first: what L2 must get where it doesn't exit. */
	rvec = rdmsr_safe(c->msr, &cur);
	if (c->safe && rvec == NO_VECTOR) {
		wvec = wrmsr_safe(c->msr, c->l1val);
		if (wvec == NO_VECTOR)
			cur = c->l1val;
		wval = c->l2val;
	} else {
		wval = rvec == NO_VECTOR ? cur : 0;
		wvec = wrmsr_safe(c->msr, wval);
	}

	memset((void *)(uintptr_t)n->pages->svm.msrpm, mode == MODE_PROT_OFF ? 0xff : 0,
	       SVM_MSRPM_SIZE);
	vmcb->control.msrpm_base_pa = n->pages->svm.msrpm | base_low;
	if (mode == MODE_PROT_OFF)
		vmcb->control.intercept_misc1 &= ~SVM_INTERCEPT_MSR;
	else
		vmcb->control.intercept_misc1 |= SVM_INTERCEPT_MSR;
	if (!c->outside && mode != MODE_PROT_OFF)
		svm_intercept_msr_rw(n->pages->svm.msrpm, c->msr,
				     mode == MODE_READ || mode == MODE_BOTH,
				     mode == MODE_WRITE || mode == MODE_BOTH);
	rd_exit = mode != MODE_PROT_OFF && (c->outside || mode == MODE_READ || mode == MODE_BOTH);
	wr_exit = mode != MODE_PROT_OFF && (c->outside || mode == MODE_WRITE || mode == MODE_BOTH);
	l2_msr.fep = fep;

	exited = l2_msr_access(n, c, label, false, 0);
	__GUEST_ASSERT(exited == rd_exit, "MSR %#x %s, %s: L2's RDMSR %s, expected %s", c->msr,
		       c->what, label, exited ? "exited to L1" : "did not exit",
		       rd_exit ? "a #VMEXIT(MSR)" : "none");
	if (exited)
		__GUEST_ASSERT(l2_msr.vec == NO_VECTOR && l2_msr.rval == (L1_RDMSR_VALUE | c->msr),
			       "MSR %#x (%s): L2's RDMSR got vector %u value %#lx, L1 gave %#llx",
			       c->msr, label, l2_msr.vec, l2_msr.rval,
			       L1_RDMSR_VALUE | c->msr);
	else
		__GUEST_ASSERT(l2_msr.vec == rvec && (rvec != NO_VECTOR || l2_msr.rval == cur),
			       "MSR %#x %s (%s): L2's RDMSR got vector %u value %#lx; L1's own "
			       "got vector %u value %#lx", c->msr, c->what, label,
			       l2_msr.vec, l2_msr.rval, rvec, cur);

	exited = l2_msr_access(n, c, label, true, wval);
	__GUEST_ASSERT(exited == wr_exit, "MSR %#x %s, %s: L2's WRMSR %s, expected %s", c->msr,
		       c->what, label, exited ? "exited to L1" : "did not exit",
		       wr_exit ? "a #VMEXIT(MSR)" : "none");
	vec = rdmsr_safe(c->msr, &v);
	if (exited) {
		GUEST_ASSERT_EQ(l2_msr.vec, NO_VECTOR);
		/* L1 did not write it: the MSR is unchanged. */
		__GUEST_ASSERT(vec != NO_VECTOR || v == cur, "MSR %#x (%s): %#lx after an "
			       "intercepted WRMSR of %#lx, was %#lx", c->msr, label, v,
			       wval, cur);
	} else {
		__GUEST_ASSERT(l2_msr.vec == wvec, "MSR %#x %s (%s): L2's WRMSR of %#lx raised "
			       "vector %u; L1's own raised %u", c->msr, c->what, label,
			       wval, l2_msr.vec, wvec);
		if (c->safe && wvec == NO_VECTOR)
			__GUEST_ASSERT(vec == NO_VECTOR && v == wval, "MSR %#x %s (%s): L1 reads "
				       "%#lx after L2's WRMSR of %#lx went through", c->msr,
				       c->what, label, v, wval);
	}
}

static void l1_msrpm(struct nested_pages *p)
{
	struct nested n;
	unsigned int i, m;
	uint64_t saved[ARRAY_SIZE(msr_cases)];
	uint8_t vec[ARRAY_SIZE(msr_cases)];

	guest_nested_init(&n, p, l2_msr_loop);
	for (i = 0; i < ARRAY_SIZE(msr_cases); i++)
		vec[i] = rdmsr_safe(msr_cases[i].msr, &saved[i]);
	for (i = 0; i < ARRAY_SIZE(msr_cases); i++) {
		for (m = MODE_NONE; m <= MODE_PROT_OFF; m++) {
			/* No bit to set: only "no bit" and MSR_PROT clear differ. */
			if (msr_cases[i].outside && m != MODE_NONE && m != MODE_PROT_OFF)
				continue;
			msr_case_run(&n, &msr_cases[i], m, false);
		}
		if (!msr_cases[i].outside) {
			base_low = BASE_LOW_BITS;
			msr_case_run(&n, &msr_cases[i], MODE_READ, false);
			msr_case_run(&n, &msr_cases[i], MODE_WRITE, false);
			base_low = 0;
		}
		if (msr_cases[i].safe && vec[i] == NO_VECTOR)
			wrmsr(msr_cases[i].msr, saved[i]);
	}
	GUEST_DONE();
}

BITMAP_TEST(msrpm_read_and_write_bits, l1_msrpm)

/*
 * MSRs KVM emulates, not intercepted by L1: L2 gets KVM's value for L2, for
 * the TSC L1's TSC plus TSC_OFFSET, for EFER the one VMCB12 gave L2.
 */
#define L2_TSC_OFFSET	(1ULL << 44)

static void l1_msr_tsc(struct nested_pages *p)
{
	struct vmcb *vmcb = guest_nested_vmcb(p);
	uint64_t before, after;
	struct nested n;
	bool exited;
	const struct msr_case tsc = MSR_PLAIN(MSR_IA32_TSC, "TSC");
	const struct msr_case efer = MSR_PLAIN(MSR_EFER, "EFER");
	uint64_t l1_efer;

	guest_nested_init(&n, p, l2_msr_loop);
	vmcb->control.intercept_misc1 |= SVM_INTERCEPT_MSR;
	vmcb->control.tsc_offset = L2_TSC_OFFSET;
	before = rdtsc();
	exited = l2_msr_access(&n, &tsc, "no bit", false, 0);
	after = rdtsc();
	__GUEST_ASSERT(!exited, "L2's RDMSR(TSC) exited to L1 with no MSRPM bit set");
	__GUEST_ASSERT(l2_msr.vec == NO_VECTOR && l2_msr.rval >= before + L2_TSC_OFFSET &&
		       l2_msr.rval <= after + L2_TSC_OFFSET,
		       "L2's RDMSR(TSC) got vector %u value %#lx; expected L1's TSC (%#lx..%#lx) "
		       "plus TSC_OFFSET %#llx", l2_msr.vec, l2_msr.rval, before, after,
		       L2_TSC_OFFSET);

	/* And with the read bit set, L1 gets it instead. */
	svm_intercept_msr_rw(p->svm.msrpm, MSR_IA32_TSC, true, false);
	exited = l2_msr_access(&n, &tsc, "read bit only", false, 0);
	__GUEST_ASSERT(exited && l2_msr.rval == (L1_RDMSR_VALUE | MSR_IA32_TSC),
		       "L2's RDMSR(TSC) with the read bit set %s, got %#lx",
		       exited ? "exited" : "did not exit to L1", l2_msr.rval);

	/* EFER: L2's own, which VMRUN loaded from VMCB12 (15.5.1), not L1's. */
	svm_intercept_msr_rw(p->svm.msrpm, MSR_IA32_TSC, false, false);
	l1_efer = rdmsr(MSR_EFER);
	vmcb->save.efer = l1_efer ^ EFER_SCE;
	exited = l2_msr_access(&n, &efer, "no bit", false, 0);
	__GUEST_ASSERT(!exited && l2_msr.vec == NO_VECTOR && l2_msr.rval == (l1_efer ^ EFER_SCE),
		       "L2's RDMSR(EFER) %s, vector %u value %#lx; L2's EFER (VMCB12) is %#lx, "
		       "L1's %#lx", exited ? "exited to L1" : "did not exit", l2_msr.vec,
		       l2_msr.rval, l1_efer ^ EFER_SCE, l1_efer);
	GUEST_ASSERT_EQ(rdmsr(MSR_EFER), l1_efer);
	GUEST_DONE();
}

BITMAP_TEST(msr_l2_gets_kvm_value, l1_msr_tsc)

/* ---- IOPM ---- */

#define IO_OUT_DATA	0x1122334455667788ULL	/* L2's RAX before an OUT/IN */
#define IO_REP_COUNT	2
#define L1_IN_DATA	0xa5a5a5a5c3c3c3c3ULL	/* L1's answer to an intercepted IN */

/*
 * One stub per instruction form: the instruction, then RET; _fep the same
 * behind KVM's force-emulation prefix.  L2 calls it with DX = port,
 * RCX = IO_REP_COUNT, RSI/RDI = buffers.
 */
#define IO_STUB(name, insn)							\
	asm(".pushsection .text\n"						\
	    #name ":\n\t" insn "\n"						\
	    #name "_end:\n\tret\n"						\
	    #name "_fep:\n\t" KVM_FEP insn "\n"					\
	    #name "_fep_end:\n\tret\n"						\
	    ".popsection");							\
	extern char name[], name##_end[], name##_fep[], name##_fep_end[]

IO_STUB(inb_dx, "inb %dx, %al");
IO_STUB(inw_dx, "inw %dx, %ax");
IO_STUB(inl_dx, "inl %dx, %eax");
IO_STUB(outb_dx, "outb %al, %dx");
IO_STUB(outw_dx, "outw %ax, %dx");
IO_STUB(outl_dx, "outl %eax, %dx");
IO_STUB(inb_7, "inb $7, %al");
IO_STUB(inb_8, "inb $8, %al");
IO_STUB(inw_7, "inw $7, %ax");
IO_STUB(inl_5, "inl $5, %eax");
IO_STUB(outb_8, "outb %al, $8");
IO_STUB(outw_7, "outw %ax, $7");
IO_STUB(outl_4, "outl %eax, $4");
IO_STUB(outl_5, "outl %eax, $5");
IO_STUB(insb, "insb");
IO_STUB(rep_insw, "rep insw");
IO_STUB(rep_insl, "rep insl");
IO_STUB(outsb, "outsb");
IO_STUB(rep_outsb, "rep outsb");
IO_STUB(rep_outsw, "rep outsw");
IO_STUB(rep_outsl, "rep outsl");
IO_STUB(a32_rep_insw, "addr32 rep insw");
IO_STUB(a32_outsl, "addr32 outsl");

#define IO_IN	SVM_IOIO_TYPE_IN
#define IO_STR	SVM_IOIO_STR
#define IO_REP	SVM_IOIO_REP
#define IO_A32	SVM_IOIO_A32		/* 0x67 prefix; A64 otherwise */
#define NO_PORT	0xffffffffu

struct io_case {
	const char *what;
	char *stub, *end, *fep, *fep_end;
	uint16_t port;
	uint8_t size;
	uint32_t flags;			/* IO_* */
	uint32_t icpt[2];		/* IOPM bits set (0..0x10007), NO_PORT if none */
};

#define STUB(s)	s, s##_end, s##_fep, s##_fep_end

static const struct io_case io_cases[] = {
	{ "IN8 of an intercepted port", STUB(inb_dx), 8, 1, IO_IN, { 8, NO_PORT } },
	{ "IN8 next to an intercepted port", STUB(inb_dx), 7, 1, IO_IN, { 8, 6 } },
	{ "IN16 whose 2nd port is in the next bitmap byte", STUB(inw_dx), 7, 2, IO_IN,
	  { 8, NO_PORT } },
	{ "IN16 ending before an intercepted port", STUB(inw_dx), 6, 2, IO_IN, { 8, 5 } },
	{ "IN16 whose 2nd port is intercepted, same byte", STUB(inw_dx), 0xe, 2, IO_IN,
	  { 0xf, NO_PORT } },
	{ "IN32 whose 4th port is in the next byte", STUB(inl_dx), 5, 4, IO_IN,
	  { 8, NO_PORT } },
	{ "IN32 whose 4th port is intercepted, same byte", STUB(inl_dx), 0xc, 4, IO_IN,
	  { 0xf, NO_PORT } },
	{ "IN32 whose 3rd port is intercepted", STUB(inl_dx), 0x9, 4, IO_IN,
	  { 0xb, NO_PORT } },
	{ "IN32 between intercepted ports", STUB(inl_dx), 4, 4, IO_IN, { 8, 3 } },
	{ "OUT8 of an intercepted port", STUB(outb_dx), 8, 1, 0, { 8, NO_PORT } },
	{ "OUT16 whose 2nd port is in the next byte", STUB(outw_dx), 7, 2, 0,
	  { 8, NO_PORT } },
	{ "OUT32 whose 4th port is in the next byte", STUB(outl_dx), 5, 4, 0,
	  { 8, NO_PORT } },
	{ "OUT32 whose 2nd port is intercepted", STUB(outl_dx), 0xa, 4, 0,
	  { 0xb, NO_PORT } },
	{ "OUT32 between intercepted ports", STUB(outl_dx), 4, 4, 0, { 8, 3 } },
	{ "IN16 whose 2nd port is in the IOPM's 2nd page", STUB(inw_dx), 0x7fff, 2, IO_IN,
	  { 0x8000, NO_PORT } },
	{ "OUT32 whose 4th port is in the IOPM's 2nd page", STUB(outl_dx), 0x7ffd, 4, 0,
	  { 0x8000, NO_PORT } },
	{ "IN16 ending at the IOPM's 1st page", STUB(inw_dx), 0x7ffe, 2, IO_IN,
	  { 0x8000, 0x7ffd } },
	{ "IN8 of port 0xffff", STUB(inb_dx), 0xffff, 1, IO_IN, { 0xffff, NO_PORT } },
	{ "IN16 at 0xffff, bit 0x10000 (3rd page)", STUB(inw_dx), 0xffff, 2, IO_IN,
	  { 0x10000, NO_PORT } },
	{ "IN16 at 0xffff, only 0xfffe and 0x10001 set", STUB(inw_dx), 0xffff, 2, IO_IN,
	  { 0xfffe, 0x10001 } },
	{ "IN32 at 0xffff, bit 0x10002", STUB(inl_dx), 0xffff, 4, IO_IN,
	  { 0x10002, NO_PORT } },
	{ "IN32 at 0xffff, bit 0x10003 only", STUB(inl_dx), 0xffff, 4, IO_IN,
	  { 0x10003, NO_PORT } },
	{ "OUT32 at 0xfffe, bit 0x10001", STUB(outl_dx), 0xfffe, 4, 0, { 0x10001, NO_PORT } },
	{ "OUT16 at 0xffff, bit 0x10000", STUB(outw_dx), 0xffff, 2, 0, { 0x10000, NO_PORT } },
	{ "IN8 imm of an intercepted port", STUB(inb_8), 8, 1, IO_IN, { 8, NO_PORT } },
	{ "IN8 imm next to an intercepted port", STUB(inb_7), 7, 1, IO_IN, { 8, NO_PORT } },
	{ "IN16 imm spanning into the next byte", STUB(inw_7), 7, 2, IO_IN, { 8, NO_PORT } },
	{ "IN32 imm spanning into the next byte", STUB(inl_5), 5, 4, IO_IN, { 8, NO_PORT } },
	{ "OUT8 imm of an intercepted port", STUB(outb_8), 8, 1, 0, { 8, NO_PORT } },
	{ "OUT16 imm spanning into the next byte", STUB(outw_7), 7, 2, 0, { 8, NO_PORT } },
	{ "OUT32 imm spanning into the next byte", STUB(outl_5), 5, 4, 0, { 8, NO_PORT } },
	{ "OUT32 imm between intercepted ports", STUB(outl_4), 4, 4, 0, { 8, 3 } },
	{ "INSB", STUB(insb), 8, 1, IO_IN | IO_STR, { 8, NO_PORT } },
	{ "REP INSW spanning into the next byte", STUB(rep_insw), 7, 2,
	  IO_IN | IO_STR | IO_REP, { 8, NO_PORT } },
	{ "REP INSL between intercepted ports", STUB(rep_insl), 4, 4,
	  IO_IN | IO_STR | IO_REP, { 8, 3 } },
	{ "REP INSL at 0xfffd, bit 0x10000", STUB(rep_insl), 0xfffd, 4,
	  IO_IN | IO_STR | IO_REP, { 0x10000, NO_PORT } },
	{ "OUTSB", STUB(outsb), 8, 1, IO_STR, { 8, NO_PORT } },
	{ "REP OUTSB next to an intercepted port", STUB(rep_outsb), 7, 1, IO_STR | IO_REP,
	  { 8, 6 } },
	{ "REP OUTSW spanning into the next byte", STUB(rep_outsw), 7, 2, IO_STR | IO_REP,
	  { 8, NO_PORT } },
	{ "REP OUTSL spanning into the next byte", STUB(rep_outsl), 5, 4, IO_STR | IO_REP,
	  { 8, NO_PORT } },
	{ "REP INSW with a 32-bit address size", STUB(a32_rep_insw), 7, 2,
	  IO_IN | IO_STR | IO_REP | IO_A32, { 8, NO_PORT } },
	{ "OUTSL with a 32-bit address size", STUB(a32_outsl), 5, 4, IO_STR | IO_A32,
	  { 8, NO_PORT } },
};

static bool io_case_exits(const struct io_case *c)
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (c->icpt[i] != NO_PORT && c->icpt[i] >= c->port &&
		    c->icpt[i] < (uint32_t)c->port + c->size)
			return true;
	return false;
}

static const struct io_case *volatile l2_io_case;
static volatile bool l2_io_fep;
static uint8_t io_src[16], io_dst[16];
static volatile uint64_t l2_rax, l2_rcx, l2_rsi, l2_rdi;

static void l2_io_loop(void)
{
	for (;;) {
		const struct io_case *c = l2_io_case;
		void *fn = l2_io_fep ? c->fep : c->stub;
		uint64_t rax = IO_OUT_DATA, rcx = IO_REP_COUNT;
		uint64_t rsi = (uintptr_t)io_src, rdi = (uintptr_t)io_dst;

		asm volatile("cld\n\tcall *%[fn]"
			     : "+a"(rax), "+c"(rcx), "+S"(rsi), "+D"(rdi)
			     : "d"(c->port), [fn] "r"(fn) : "memory", "cc");
		l2_rax = rax;
		l2_rcx = rcx;
		l2_rsi = rsi;
		l2_rdi = rdi;
		guest_nested_hypercall(0);
	}
}

static uint32_t size_bit(uint8_t size)
{
	return size == 1 ? SVM_IOIO_SZ8 : size == 2 ? SVM_IOIO_SZ16 : SVM_IOIO_SZ32;
}

static uint64_t size_mask(uint8_t size)
{
	return size == 4 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static bool tcg_asize_noted;

static void check_io_exit(struct nested *n, const struct io_case *c, bool fep)
{
	struct vmcb *vmcb = guest_nested_vmcb(n->pages);
	uint64_t info = vmcb->control.exit_info_1;
	uint64_t expect = (uint64_t)c->port << 16 | (c->flags & (IO_IN | IO_STR | IO_REP)) |
			  size_bit(c->size) | (c->flags & IO_A32 ? SVM_IOIO_A32 : SVM_IOIO_A64);
	uint64_t ignore = 0;
	char *start = fep ? c->fep : c->stub, *end = fep ? c->fep_end : c->end;

	if (c->flags & IO_STR && svm_features() & SVM_FEAT_DECODE_ASSISTS)
		expect |= (c->flags & IO_IN ? 0 : 3) << SVM_IOIO_SEG_SHIFT;	/* ES / DS */
	else
		ignore |= SVM_IOIO_SEG_MASK;
	/* QEMU's native IOIO exit has no address size (see the top of the file). */
	if (!fep && tcg_lane && !(info & SVM_IOIO_ASIZE_MASK)) {
		ignore |= SVM_IOIO_ASIZE_MASK;
		if (!tcg_asize_noted)
			GUEST_PRINTF("qemu-tcg: native IOIO exit_info_1 %#lx has no A16/A32/A64 "
				     "bit (APM 15.10.2 wants A%u); accepted in this lane only",
				     info, c->flags & IO_A32 ? 32 : 64);
		tcg_asize_noted = true;
	}
	__GUEST_ASSERT((info & ~ignore) == (expect & ~ignore),
		       "%s%s, port %#x: exit_info_1 %#lx, expected %#lx (TYPE bit 0, STR 2, REP 3, "
		       "SZ 4-6, A16/32/64 7-9, port 31:16)", fep ? "emulated " : "", c->what,
		       c->port, info, expect);
	/* The next RIP (counted for the emulated forms, see emulated_next_rip()). */
	if (fep)
		emulated_next_rip("exit_info_2", c->what, vmcb->save.rip,
				  vmcb->control.exit_info_2, (uintptr_t)end);
	else
		__GUEST_ASSERT(vmcb->control.exit_info_2 == (uintptr_t)end,
			       "%s: exit_info_2 %#lx, expected the next RIP %p", c->what,
			       vmcb->control.exit_info_2, end);
	/* The emulated form exits at the instruction after KVM's prefix. */
	__GUEST_ASSERT(vmcb->save.rip == (uintptr_t)start + (fep ? 5 : 0),
		       "%s%s: exit RIP %#lx, expected %p", fep ? "emulated " : "", c->what,
		       vmcb->save.rip, start + (fep ? 5 : 0));
	/* L1 completes it: an IN gets L1_IN_DATA, a string instruction does nothing. */
	if ((c->flags & (IO_IN | IO_STR)) == IO_IN)
		vmcb->save.rax = L1_IN_DATA;
	vmcb->save.rip = (uintptr_t)end;
}

/* L2's registers and the host's log after an access that did not exit. */
static void check_io_reached_port(const struct io_case *c, bool fep)
{
	uint32_t count = c->flags & IO_REP ? IO_REP_COUNT : 1, total = 0, i, k = 0;
	uint32_t bytes = count * c->size;
	uint64_t in_val;

	__GUEST_ASSERT(io_log.n >= 1 && io_log.n <= IO_LOG_MAX, "%s%s, port %#x: the host saw "
		       "%u port accesses, expected the access", fep ? "emulated " : "", c->what,
		       c->port, io_log.n);
	for (i = 0; i < io_log.n; i++) {
		const volatile struct io_access *a = &io_log.a[i];

		__GUEST_ASSERT(a->port == c->port && a->size == c->size &&
			       a->in == !!(c->flags & IO_IN),
			       "%s%s: the host saw %s port %#x size %u, expected %s %#x size %u",
			       fep ? "emulated " : "", c->what, a->in ? "IN" : "OUT", a->port,
			       a->size, c->flags & IO_IN ? "IN" : "OUT", c->port, c->size);
		total += a->count;
		for (uint32_t j = 0; !a->in && j < a->count * a->size && k < bytes; j++, k++) {
			uint8_t want = c->flags & IO_STR ? io_src[k] : (uint8_t)(IO_OUT_DATA >> (8 * k));

			__GUEST_ASSERT(a->data[j] == want, "%s%s: byte %u the host got %#x, "
				       "L2 sent %#x", fep ? "emulated " : "", c->what, k,
				       a->data[j], want);
		}
	}
	__GUEST_ASSERT(total == count, "%s%s: %u elements reached the host, expected %u",
		       fep ? "emulated " : "", c->what, total, count);
	if (!(c->flags & IO_STR)) {
		in_val = 0;
		for (i = 0; i < c->size; i++)
			in_val |= (uint64_t)HOST_IN_BYTE(i) << (8 * i);
		if (c->flags & IO_IN)
			__GUEST_ASSERT(l2_rax == ((IO_OUT_DATA & ~size_mask(c->size)) | in_val),
				       "%s%s: L2's RAX %#lx after the IN; the host sent %#lx",
				       fep ? "emulated " : "", c->what, l2_rax, in_val);
		return;
	}
	if (c->flags & IO_IN) {
		for (i = 0; i < bytes; i++)
			__GUEST_ASSERT(io_dst[i] == HOST_IN_BYTE(i), "%s%s: byte %u stored %#x, "
				       "the host sent %#x", fep ? "emulated " : "", c->what, i,
				       io_dst[i], HOST_IN_BYTE(i));
		GUEST_ASSERT_EQ(l2_rdi, (uintptr_t)io_dst + bytes);
	} else {
		GUEST_ASSERT_EQ(l2_rsi, (uintptr_t)io_src + bytes);
	}
	GUEST_ASSERT_EQ(l2_rcx, c->flags & IO_REP ? 0 : IO_REP_COUNT);
}

static void io_case_run(struct nested *n, const struct io_case *c, bool fep, bool prot_off)
{
	struct vmcb *vmcb = guest_nested_vmcb(n->pages);
	bool exit = !prot_off && io_case_exits(c);
	char buf[160];
	unsigned int i;

	memset((void *)(uintptr_t)n->pages->svm.iopm, prot_off ? 0xff : 0, SVM_IOPM_SIZE);
	vmcb->control.iopm_base_pa = n->pages->svm.iopm | base_low;
	if (prot_off) {
		vmcb->control.intercept_misc1 &= ~SVM_INTERCEPT_IOIO;
	} else {
		vmcb->control.intercept_misc1 |= SVM_INTERCEPT_IOIO;
		/* Port numbers above 0xffff only exist as IOPM bits (third page). */
		for (i = 0; i < 2; i++) {
			uint32_t b = c->icpt[i];

			if (b != NO_PORT)
				((uint8_t *)(uintptr_t)n->pages->svm.iopm)[b / 8] |= 1u << (b % 8);
		}
	}
	for (i = 0; i < sizeof(io_src); i++) {
		io_src[i] = 0x30 + i;
		io_dst[i] = 0;
	}
	io_log.n = 0;
	io_log.in_bytes = 0;
	l2_io_case = c;
	l2_io_fep = fep;

	guest_nested_run(n);
	if (exit) {
		__GUEST_ASSERT(vmcb->control.exit_code == SVM_EXIT_IOIO,
			       "%s%s, port %#x size %u, IOPM bits %#x %#x%s: %s, expected IOIO",
			       fep ? "emulated " : "", c->what, c->port, c->size, c->icpt[0],
			       c->icpt[1], base_low ? " (IOPM_BASE_PA bits 11:0 set)" : "",
			       guest_nested_exit_str(n, buf, sizeof(buf)));
		check_io_exit(n, c, fep);
		guest_nested_run(n);
	}
	__GUEST_ASSERT(vmcb->control.exit_code == SVM_EXIT_VMMCALL,
		       "%s%s, port %#x size %u, IOPM bits %#x %#x%s%s: %s, expected %s",
		       fep ? "emulated " : "", c->what, c->port, c->size, c->icpt[0], c->icpt[1],
		       prot_off ? " (IOIO_PROT clear, map all ones)" : "",
		       base_low ? " (IOPM_BASE_PA bits 11:0 set)" : "",
		       guest_nested_exit_str(n, buf, sizeof(buf)),
		       exit ? "VMMCALL after L1 completed the IOIO exit" : "no exit");
	guest_nested_skip(n, 3);
	if (!exit) {
		check_io_reached_port(c, fep);
		return;
	}
	__GUEST_ASSERT(io_log.n == 0, "%s%s: intercepted, yet the host saw %u accesses (port %#x)",
		       fep ? "emulated " : "", c->what, io_log.n, io_log.a[0].port);
	if ((c->flags & (IO_IN | IO_STR)) == IO_IN)
		GUEST_ASSERT_EQ(l2_rax, L1_IN_DATA);
	if (c->flags & IO_STR) {
		/* Nothing transferred before the exit. */
		GUEST_ASSERT_EQ(l2_rcx, IO_REP_COUNT);
		GUEST_ASSERT_EQ(l2_rdi, (uintptr_t)io_dst);
		GUEST_ASSERT_EQ(l2_rsi, (uintptr_t)io_src);
	}
}

static void l1_iopm(struct nested_pages *p)
{
	struct nested n;
	unsigned int i;

	guest_nested_init(&n, p, l2_io_loop);
	for (i = 0; i < ARRAY_SIZE(io_cases); i++)
		io_case_run(&n, &io_cases[i], false, false);
	/* IOIO_PROT clear: no exit, with every bit of the map set. */
	for (i = 0; i < ARRAY_SIZE(io_cases); i++)
		io_case_run(&n, &io_cases[i], false, true);
	base_low = BASE_LOW_BITS;
	for (i = 0; i < ARRAY_SIZE(io_cases); i++)
		io_case_run(&n, &io_cases[i], false, false);
	base_low = 0;
	GUEST_DONE();
}

BITMAP_TEST(iopm_ports_sizes_and_exit_info, l1_iopm)

/*
 * The MSRPM and IOPM tables again with L2's RDMSR/WRMSR/IN/OUT/INS/OUTS run
 * by KVM's emulator (force-emulation prefix): then KVM itself checks L1's
 * maps and builds exit_info_1/2 and NRIP (svm_check_intercept()).
 */
static void l1_emulated(struct nested_pages *p)
{
	struct nested n;
	unsigned int i, m;

	if (!fep_on)
		guest_nested_skip_test("kvm.force_emulation_prefix is off: KVM's emulator "
				       "can't be made to run L2's instructions");
	guest_nested_init(&n, p, l2_io_loop);
	for (i = 0; i < ARRAY_SIZE(io_cases); i++)
		io_case_run(&n, &io_cases[i], true, false);

	guest_nested_init(&n, p, l2_msr_loop);
	for (i = 0; i < ARRAY_SIZE(msr_cases); i++) {
		uint64_t saved;
		uint8_t vec = rdmsr_safe(msr_cases[i].msr, &saved);

		for (m = MODE_NONE; m <= MODE_PROT_OFF; m++) {
			if (msr_cases[i].outside && m != MODE_NONE && m != MODE_PROT_OFF)
				continue;
			msr_case_run(&n, &msr_cases[i], m, true);
		}
		if (msr_cases[i].safe && vec == NO_VECTOR)
			wrmsr(msr_cases[i].msr, saved);
	}
	if (emu_bad_next_rip)
		GUEST_PRINTF("%u of %u emulated exits had a wrong next RIP: see "
			     "emulated_exit_next_rip", emu_bad_next_rip, emu_exits);
	GUEST_DONE();
}

BITMAP_TEST(emulated_intercepts_exit_info, l1_emulated)

/* The next RIP of exits KVM's emulator makes, asserted (see emulated_next_rip()). */
static void l1_emulated_next_rip(struct nested_pages *p)
{
	static const struct msr_case star = MSR_PLAIN(MSR_STAR, "STAR");
	struct nested n;
	unsigned int i;

	if (!fep_on)
		guest_nested_skip_test("kvm.force_emulation_prefix is off: KVM's emulator "
				       "can't be made to run L2's instructions");
	emu_strict_next_rip = true;
	guest_nested_init(&n, p, l2_io_loop);
	for (i = 0; i < ARRAY_SIZE(io_cases); i++)
		if (io_case_exits(&io_cases[i]))
			io_case_run(&n, &io_cases[i], true, false);
	/* NRIP exists only with NRIPS (CPUID 0x8000000A EDX bit 3). */
	guest_nested_init(&n, p, l2_msr_loop);
	msr_case_run(&n, &star, MODE_BOTH, true);
	GUEST_DONE();
}

BITMAP_TEST(emulated_exit_next_rip, l1_emulated_next_rip)


TEST_HARNESS_MAIN
