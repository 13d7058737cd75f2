// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intel VMX, L1's view of what VMX instructions and VM exits leave in its
 * registers (SDM vol. 3C).  Every test SKIPs with "no VMX" unless KVM
 * offers VMX to its guests (kvm_intel nested=1; the Bochs lane).
 *
 *  - 31.2 "Conventions": VMsucceed clears CF, PF, AF, ZF, SF and OF;
 *    VMfailInvalid sets CF and clears the other five; VMfailValid sets ZF
 *    and clears the other five.  L1 sets all six before each instruction
 *    (VMXON, VMREAD without a current VMCS, VMCLEAR, VMPTRLD, VMPTRST,
 *    VMWRITE, VMREAD, VMCLEAR of the VMXON pointer, VMXON in VMX root
 *    operation, VMXOFF), so an emulation that only touches CF and ZF, or
 *    leaves any of them alone, shows;
 *  - a VMREAD whose destination (or VMWRITE whose source) is not mapped
 *    raises #PF (31.3 VMREAD/VMWRITE operation: "any faults resulting from
 *    accessing a memory ... operand"): a fault leaves RFLAGS as it was, so
 *    the six flags are still set after the handler returns;
 *  - 27.5.2 "Loading Host Segment and Descriptor-Table Registers": on a VM
 *    exit "the GDTR and IDTR limits are each set to FFFFH", whatever they
 *    were in L1 (this suite's GDT and IDT limits are smaller) or in L2.
 *
 * Caught bugs: bugs/nested-vmx-succeed-keeps-flags.patch,
 * bugs/nested-vmx-exit-gdtr-idtr-limits.patch,
 * bugs/nested-vmx-vmread-pf-sets-flags.patch
 */
#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "nested.h"

/* The six status flags of 31.2: CF, PF, AF, ZF, SF, OF. */
#define F_CF		X86_EFLAGS_CF
#define F_PF		X86_EFLAGS_PF
#define F_AF		X86_EFLAGS_AF
#define F_ZF		X86_EFLAGS_ZF
#define F_SF		X86_EFLAGS_SF
#define F_OF		X86_EFLAGS_OF
#define ARITH_FLAGS	X86_EFLAGS_ARITH	/* a plain number: used in asm strings */

/*
 * Run insn (a VMX instruction with the given asm operands) with all six
 * status flags set and return RFLAGS right after it.
 */
#define RFLAGS_AFTER(insn, ...) ({						\
	uint64_t __f;								\
										\
	asm volatile("pushfq\n\t"						\
		     "orq $" __stringify(ARITH_FLAGS) ", (%%rsp)\n\t"		\
		     "popfq\n\t"						\
		     insn "\n\t"						\
		     "pushfq\n\t"						\
		     "popq %[f]"						\
		     : [f] "=&r"(__f) : __VA_ARGS__ : "cc", "memory");		\
	__f;									\
})

static const char *flags_str(uint64_t f, char *buf, size_t len)
{
	guest_snprintf(buf, len, "%s%s%s%s%s%s", f & F_CF ? " CF" : "", f & F_PF ? " PF" : "",
		       f & F_AF ? " AF" : "", f & F_ZF ? " ZF" : "", f & F_SF ? " SF" : "",
		       f & F_OF ? " OF" : "");
	return buf[0] ? buf : " none";
}

/* 31.2: the status flags after insn are exactly want (0, CF or ZF). */
static void check_flags(const char *insn, uint64_t rflags, uint64_t want)
{
	char got[32], exp[32];

	__GUEST_ASSERT((rflags & ARITH_FLAGS) == want,
		       "%s with CF PF AF ZF SF OF set before: RFLAGS 0x%lx has set:%s, expected "
		       "set:%s (%s, SDM 31.2)", insn, rflags,
		       flags_str(rflags & ARITH_FLAGS, got, sizeof(got)),
		       flags_str(want, exp, sizeof(exp)),
		       want == 0 ? "VMsucceed" : want == F_CF ? "VMfailInvalid" : "VMfailValid");
}

static void l1_status_flags(struct nested_pages *p)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL), vmxon = p->vmx.vmxon, vmcs = p->vmx.vmcs;
	uint64_t cur = 0, val = 0, field, err;
	uint64_t f;

	/* What vmx_enable() does, with VMXON itself under test. */
	if (!(fc & FEAT_CTL_LOCK))
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEAT_CTL_LOCK | FEAT_CTL_VMX_OUTSIDE_SMX);
	vmx_set_fixed_cr_bits();
	vmx_prepare_vmxon_region(&p->vmx);
	*(uint32_t *)(uintptr_t)vmcs = VMX_BASIC_REVISION(rdmsr(MSR_IA32_VMX_BASIC));

	f = RFLAGS_AFTER("vmxon %[m]", [m] "m"(vmxon));
	check_flags("VMXON", f, 0);

	/* No current VMCS yet: VMfailInvalid. */
	field = GUEST_RIP;
	f = RFLAGS_AFTER("vmread %[fld], %[v]", [fld] "r"(field), [v] "m"(val));
	check_flags("VMREAD without a current VMCS", f, F_CF);

	f = RFLAGS_AFTER("vmclear %[m]", [m] "m"(vmcs));
	check_flags("VMCLEAR", f, 0);
	f = RFLAGS_AFTER("vmptrld %[m]", [m] "m"(vmcs));
	check_flags("VMPTRLD", f, 0);
	f = RFLAGS_AFTER("vmptrst %[m]", [m] "m"(cur));
	check_flags("VMPTRST", f, 0);
	GUEST_ASSERT_EQ(cur, vmcs);

	val = 0x1234;
	f = RFLAGS_AFTER("vmwrite %[v], %[fld]", [fld] "r"(field), [v] "m"(val));
	check_flags("VMWRITE GUEST_RIP", f, 0);
	val = 0;
	f = RFLAGS_AFTER("vmread %[fld], %[v]", [fld] "r"(field), [v] "m"(val));
	check_flags("VMREAD GUEST_RIP", f, 0);
	GUEST_ASSERT_EQ(val, 0x1234);

	/* VMfailValid: VMCLEAR of the VMXON pointer (error 3), VMXON in root (error 15). */
	f = RFLAGS_AFTER("vmclear %[m]", [m] "m"(vmxon));
	check_flags("VMCLEAR of the VMXON pointer", f, F_ZF);
	err = vmread(VM_INSTRUCTION_ERROR);
	__GUEST_ASSERT(err == 3, "VMCLEAR of the VMXON pointer: error %lu (%s), expected 3",
		       err, vmx_insn_error_name(err));
	f = RFLAGS_AFTER("vmxon %[m]", [m] "m"(vmxon));
	check_flags("VMXON in VMX root operation", f, F_ZF);
	err = vmread(VM_INSTRUCTION_ERROR);
	__GUEST_ASSERT(err == 15, "VMXON in VMX root operation: error %lu (%s), expected 15",
		       err, vmx_insn_error_name(err));

	f = RFLAGS_AFTER("vmxoff");
	check_flags("VMXOFF", f, 0);
	GUEST_DONE();
}

VMX_TEST(insn_status_flags, l1_status_flags)

/* Page 0 is not mapped in the guest (and so in L1): any access to it is #PF. */
#define UNMAPPED_GVA	0x10

static void l1_fault_flags(struct nested_pages *p)
{
	uint64_t field = GUEST_ES_SELECTOR, addr = UNMAPPED_GVA, f;
	char got[32];
	uint8_t vec;

	GUEST_ASSERT_EQ(vmx_enable(&p->vmx, &vec), VMX_OK);
	*(uint32_t *)(uintptr_t)p->vmx.vmcs = VMX_BASIC_REVISION(rdmsr(MSR_IA32_VMX_BASIC));
	GUEST_ASSERT_EQ(__vmclear(p->vmx.vmcs, &vec), VMX_OK);
	GUEST_ASSERT_EQ(__vmptrld(p->vmx.vmcs, &vec), VMX_OK);

	/*
	 * A field KVM doesn't shadow, so its emulation runs: VMREAD to an
	 * unmapped destination is #PF, and a faulting instruction changes
	 * neither RFLAGS nor anything else (it is neither VMsucceed nor VMfail).
	 */
	f = RFLAGS_AFTER(ASM_SAFE("vmread %[fld], (%[a])"), [fld] "r"(field), [a] "r"(addr));
	vec = guest_fault_vector();
	__GUEST_ASSERT(vec == PF_VECTOR && (f & ARITH_FLAGS) == ARITH_FLAGS,
		       "VMREAD to unmapped GVA 0x%lx: vector %u (expected #PF, 14), status flags "
		       "set:%s after (all six were set before, expected unchanged)", addr, vec,
		       flags_str(f & ARITH_FLAGS, got, sizeof(got)));
	/* The same for VMWRITE from an unmapped source. */
	f = RFLAGS_AFTER(ASM_SAFE("vmwrite (%[a]), %[fld]"), [fld] "r"(field), [a] "r"(addr));
	vec = guest_fault_vector();
	__GUEST_ASSERT(vec == PF_VECTOR && (f & ARITH_FLAGS) == ARITH_FLAGS,
		       "VMWRITE from unmapped GVA 0x%lx: vector %u (expected #PF, 14), status "
		       "flags set:%s after (all six were set before, expected unchanged)", addr,
		       vec, flags_str(f & ARITH_FLAGS, got, sizeof(got)));
	GUEST_DONE();
}

VMX_TEST(faulting_insn_leaves_flags, l1_fault_flags)

struct dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static void l2_hypercall(void)
{
	guest_nested_hypercall(0x11);
}

static void l1_exit_dtr_limits(struct nested_pages *p)
{
	struct dtr gdtr, idtr, gdtr_after, idtr_after;
	struct nested n;
	char b[160];

	asm volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
	guest_nested_init(&n, p, l2_hypercall);
	/* Meaningless unless the limits differ from FFFFH before the exit. */
	__GUEST_ASSERT(gdtr.limit != 0xffff && idtr.limit != 0xffff,
		       "L1's GDTR limit 0x%x, IDTR limit 0x%x: the test needs them below 0xffff",
		       gdtr.limit, idtr.limit);
	__GUEST_ASSERT(guest_nested_run(&n) == NESTED_EXIT_HYPERCALL, "exit [%s], expected VMCALL",
		       guest_nested_exit_str(&n, b, sizeof(b)));
	asm volatile("sgdt %0; sidt %1" : "=m"(gdtr_after), "=m"(idtr_after));
	/* 27.5.2: the bases come from the host-state area, the limits are FFFFH. */
	__GUEST_ASSERT(gdtr_after.limit == 0xffff && idtr_after.limit == 0xffff &&
		       gdtr_after.base == gdtr.base && idtr_after.base == idtr.base,
		       "after the VM exit GDTR 0x%lx/0x%x, IDTR 0x%lx/0x%x (base/limit); expected "
		       "0x%lx/0xffff and 0x%lx/0xffff (before VMLAUNCH the limits were 0x%x, 0x%x)",
		       gdtr_after.base, gdtr_after.limit, idtr_after.base, idtr_after.limit,
		       gdtr.base, idtr.base, gdtr.limit, idtr.limit);
	GUEST_DONE();
}

VMX_TEST(vm_exit_sets_gdtr_idtr_limits, l1_exit_dtr_limits)

TEST_HARNESS_MAIN
