// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intel VMX: the VMCS as L1 sees it -- its fields, its launch state, the
 * capability MSRs that describe it, and shadow VMCSs (SDM vol. 3C, 2023
 * and later numbering).
 *
 *  - 25.11.2 "VMREAD, VMWRITE and Encodings of VMCS Fields" and A.9
 *    "VMCS Enumeration": every encoding of each width (16-bit, 64-bit,
 *    32-bit, natural) and type (control, read-only data, guest, host) up to
 *    one past IA32_VMX_VMCS_ENUM's highest index, with access type full and
 *    high.  A supported field reads a value that fits its width; high access
 *    exists only for 64-bit fields and reads/writes their upper half;
 *    nothing above the enumerated index is supported and some field has
 *    that index; other encodings, reserved bit 12 and bits 63:15 give
 *    VMfailValid error 12 (31.4).  Every supported field is written with
 *    its own pattern (in descending encoding order) and all are read back:
 *    a write truncates to the width and touches no other field.  A
 *    read-only data field's VMWRITE is error 13 unless IA32_VMX_MISC bit 29
 *    (A.6) allows it; the host clears that bit in one case.
 *  - 25.1 and 31.3 VMCLEAR/VMLAUNCH/VMRESUME: VMLAUNCH of a launched VMCS is
 *    error 4; VMCLEAR makes it clear, so VMRESUME after VMCLEAR+VMPTRLD is
 *    error 5 and VMLAUNCH then runs; VMCLEAR of another VMCS leaves the
 *    current one launched; VMCLEAR of the current one leaves no current
 *    VMCS (VMRESUME is VMfailInvalid).
 *  - Appendix A: IA32_VMX_BASIC reserved bits; each non-TRUE control MSR
 *    reports the default1 controls (A.2) as allowed-0 = 1 and differs from
 *    its TRUE MSR only there; secondary controls have no allowed-0 bits;
 *    IA32_VMX_MISC reserved bits and its CR3-target count, which VM entry
 *    enforces (27.2.1.1, error 7); VMCS_ENUM bits beyond 9:1 are 0; the
 *    capability MSRs are read-only (WRMSR #GP, value kept); 24.8: in VMX
 *    operation MOV to CR0 clearing NE and MOV to CR4 clearing VMXE are #GP
 *    (IA32_VMX_CR0/CR4_FIXED0), and are legal after VMXOFF.
 *  - 25.10 "VMCS Types" and 26.1.3/31.3 (VMREAD/VMWRITE in VMX non-root
 *    operation): with "VMCS shadowing", an L2 VMREAD/VMWRITE whose bit in
 *    the VMREAD/VMWRITE bitmap is 0 accesses the shadow VMCS named by the
 *    VMCS link pointer (revision with bit 31, the shadow-VMCS indicator)
 *    without a VM exit, one whose bit is 1 exits (reasons 23/25); with the
 *    link pointer FFFFFFFF_FFFFFFFFH it is VMfailInvalid; entry checks
 *    (27.2.1.1, 27.3.1.5): the bitmap addresses (error 7) and the link
 *    pointer's shadow indicator matching the control (exit 33, qual 4).
 *
 * kvm_intel emulates VMREAD/VMWRITE from its vmcs12 field table
 * (vmcs12.c, get_vmcs12_field_offset(), vmcs12_read_any/_write_any in
 * handle_vmread/handle_vmwrite), computes VMCS_ENUM from that table
 * (nested_vmx_calc_vmcs_enum_msr()), reflects L2's VMREAD/VMWRITE after
 * nested_vmx_exit_handled_vmcs_access() and serves the others from its
 * cached shadow vmcs12.
 *
 * Ideas: kvm-unit-tests x86/vmx.c (test_vmread_vmwrite, test_vmcs_lifecycle,
 * test_vmx_caps) and x86/vmx_tests.c (vmx_vmcs_shadow_test,
 * test_vmcs_link_ptr), LTP kvm_vmx01 (shadow VMCS), the upstream selftest
 * x86_64/vmx_msrs_test.c (read-only VMX MSRs).
 *
 * Caught bugs: bugs/nested-vmx-vmcs-enum-max-index-low.patch,
 * bugs/nested-vmx-vmcs-high-access-low-half.patch,
 * bugs/nested-vmx-vmcs-vmclear-keeps-launched.patch,
 * bugs/nested-vmx-vmcs-procbased-default1-missing.patch,
 * bugs/nested-vmx-vmcs-shadow-vmwrite-read-bitmap.patch,
 * bugs/nested-vmx-vmcs-shadow-indicator-unchecked.patch,
 * bugs/nested-vmx-vmcs-readonly-natural-writable.patch,
 * bugs/nested-vmx-vmcs-cap-msr-guest-writable.patch
 */
#include "kvm_test_harness.h"
#include "guest/guest.h"
#include "guest/nested.h"
#include "guest/vmx_check.h"
#include "nested.h"

static const char *const width_names[] = { "16-bit", "64-bit", "32-bit", "natural-width" };
static const char *const type_names[] = { "control", "read-only data", "guest-state",
					   "host-state" };

/* ---- every field encoding (25.11.2, A.9) ---- */

static uint64_t width_mask(uint32_t enc)
{
	if (enc & VMCS_ENC_HIGH)
		return 0xffffffffULL;
	switch (VMCS_ENC_WIDTH(enc)) {
	case VMCS_WIDTH_16: return 0xffff;
	case VMCS_WIDTH_32: return 0xffffffffULL;
	default: return ~0ULL;		/* natural width is 64 bits in IA-32e mode */
	}
}

/* A value for field enc: distinct per field, every bit set in some field. */
static uint64_t field_pattern(uint32_t enc)
{
	uint64_t v = 0x0123456789abcdefULL ^ ((uint64_t)enc * 0x9e3779b97f4a7c15ULL);

	/* Access rights: bits 31:17, 11:8 reserved (25.4.1); some CPUs drop them on VMWRITE. */
	if (enc >= GUEST_ES_AR_BYTES && enc <= GUEST_TR_AR_BYTES)
		v &= 0x1f0ff;
	return v & width_mask(enc);
}

static struct vmx_gprs regs;

#define MAX_FIELDS	512
static struct field { uint16_t enc; uint64_t val; } fields[MAX_FIELDS];
static unsigned int nr_fields;
static bool ro_writes_blocked;	/* set by the host: it cleared IA32_VMX_MISC bit 29 */

/* One VMREAD of enc against the encoding rules; records supported full-access fields. */
static void probe_encoding(uint32_t enc, unsigned int max_idx, unsigned int *seen_max)
{
	bool form_ok = !(enc & VMCS_ENC_HIGH) || VMCS_ENC_WIDTH(enc) == VMCS_WIDTH_64;
	uint64_t v, full;
	uint8_t vec;
	enum vmx_status s = __vmread(enc, &v, &vec);

	if (s != VMX_OK) {
		CHECK_VMX("VMREAD of an unsupported encoding", s, VMX_FAIL_VALID, 12);
		if (enc & VMCS_ENC_HIGH && VMCS_ENC_INDEX(enc) <= max_idx && form_ok &&
		    nr_fields && fields[nr_fields - 1].enc == (enc & ~VMCS_ENC_HIGH))
			CHECK(0, "64-bit field 0x%x reads, its high half 0x%x: %s (error %u)",
			      enc & ~VMCS_ENC_HIGH, enc, vmx_status_name(s), vmx_insn_error(s));
		return;
	}
	CHECK(VMCS_ENC_INDEX(enc) <= max_idx, "field 0x%x (%s %s, index %u) is supported, above "
	      "VMCS_ENUM's highest index %u", enc, width_names[VMCS_ENC_WIDTH(enc)],
	      type_names[VMCS_ENC_TYPE(enc)], VMCS_ENC_INDEX(enc), max_idx);
	CHECK(form_ok, "VMREAD of 0x%x (high access to a %s field) succeeded, expected error 12",
	      enc, width_names[VMCS_ENC_WIDTH(enc)]);
	CHECK(!(v & ~width_mask(enc)), "VMREAD of %s field 0x%x = 0x%lx: bits beyond its width",
	      width_names[VMCS_ENC_WIDTH(enc)], enc, v);
	if (VMCS_ENC_INDEX(enc) > *seen_max)
		*seen_max = VMCS_ENC_INDEX(enc);
	if (enc & VMCS_ENC_HIGH) {
		full = vmread(enc & ~VMCS_ENC_HIGH);
		CHECK(v == full >> 32, "VMREAD high 0x%x = 0x%lx, full field 0x%x = 0x%lx", enc, v,
		      enc & ~VMCS_ENC_HIGH, full);
		return;
	}
	if (nr_fields < MAX_FIELDS)
		fields[nr_fields++] = (struct field){ .enc = enc, .val = v };
}

static void enumerate_fields(unsigned int max_idx)
{
	unsigned int seen_max = 0;

	nr_fields = 0;
	for (uint32_t w = 0; w < 4; w++)
		for (uint32_t t = 0; t < 4; t++)
			for (uint32_t i = 0; i <= max_idx + 1 && i <= 0x1ff; i++)
				for (uint32_t a = 0; a < 2; a++)
					probe_encoding(VMCS_ENC(w, t, i) | a, max_idx, &seen_max);
	CHECK(seen_max == max_idx, "highest supported field index %u, VMCS_ENUM says %u",
	      seen_max, max_idx);
	GUEST_PRINTF("%u fields (full access) supported, highest index %u", nr_fields, seen_max);
}

/* Reserved bit 12, bits 63:15 of the encoding: unsupported component. */
static void reserved_encoding_bits(void)
{
	static const uint64_t bad[] = { GUEST_RIP | 0x1000, GUEST_RIP | 0x8000,
					GUEST_RIP | (1ULL << 32), VIRTUAL_PROCESSOR_ID | 0x1000 };
	uint64_t v;

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_VMX("VMREAD of an encoding with reserved bits", __vmread(bad[i], &v, NULL),
			  VMX_FAIL_VALID, 12);
		CHECK_VMX("VMWRITE of an encoding with reserved bits",
			  __vmwrite(bad[i], 0, NULL), VMX_FAIL_VALID, 12);
	}
}

static bool field_writable(uint32_t enc)
{
	return VMCS_ENC_TYPE(enc) != VMCS_TYPE_RO_DATA || !ro_writes_blocked;
}

/* Write every field its pattern (high encodings first), then read them all back. */
static void write_read_fields(void)
{
	for (int i = nr_fields - 1; i >= 0; i--) {
		struct field *f = &fields[i];
		enum vmx_status s = __vmwrite(f->enc, field_pattern(f->enc), NULL);

		if (field_writable(f->enc)) {
			CHECK(s == VMX_OK, "VMWRITE of %s %s field 0x%x: %s (error %u: %s)",
			      width_names[VMCS_ENC_WIDTH(f->enc)], type_names[VMCS_ENC_TYPE(f->enc)],
			      f->enc, vmx_status_name(s), vmx_insn_error(s),
			      vmx_insn_error_name(vmx_insn_error(s)));
			f->val = field_pattern(f->enc);
		} else {
			CHECK_VMX("VMWRITE of a read-only field (VMX_MISC bit 29 clear)", s,
				  VMX_FAIL_VALID, 13);
			/* The refusal itself sets the VM-instruction error field. */
			if (f->enc == VM_INSTRUCTION_ERROR)
				f->val = 13;
		}
	}
	for (unsigned int i = 0; i < nr_fields; i++) {
		uint64_t v = vmread(fields[i].enc);

		CHECK(v == fields[i].val, "%s field 0x%x reads 0x%lx, expected 0x%lx%s",
		      width_names[VMCS_ENC_WIDTH(fields[i].enc)], fields[i].enc, v, fields[i].val,
		      field_writable(fields[i].enc) ? " (its pattern, width-truncated)" :
		      " (unchanged by the refused VMWRITE)");
	}
}

/* VMWRITE of the high half changes bits 63:32 only (25.11.2). */
static void high_half_writes(void)
{
	const uint64_t hi = 0x89abcdefULL;

	for (unsigned int i = 0; i < nr_fields; i++) {
		uint32_t enc = fields[i].enc;
		uint64_t want = (fields[i].val & 0xffffffffULL) | (hi << 32), v;

		if (VMCS_ENC_WIDTH(enc) != VMCS_WIDTH_64 || !field_writable(enc))
			continue;
		CHECK_VMX("VMWRITE of a high half", __vmwrite(enc | VMCS_ENC_HIGH,
			  0xffffffff00000000ULL | hi, NULL), VMX_OK, 0);
		v = vmread(enc);
		CHECK(v == want, "after VMWRITE 0x%lx to 0x%x (high), field 0x%x = 0x%lx, "
		      "expected 0x%lx", hi, enc | VMCS_ENC_HIGH, enc, v, want);
		v = vmread(enc | VMCS_ENC_HIGH);
		CHECK(v == hi, "VMREAD of 0x%x (high) = 0x%lx, expected 0x%lx", enc | VMCS_ENC_HIGH,
		      v, hi);
	}
}

static void l1_fields(struct nested_pages *p)
{
	uint64_t misc = rdmsr(MSR_IA32_VMX_MISC), vmcs_enum = rdmsr(MSR_IA32_VMX_VMCS_ENUM);
	uint8_t vec;

	GUEST_ASSERT_EQ(vmx_enable(&p->vmx, &vec), VMX_OK);
	*(uint32_t *)(uintptr_t)p->vmx.vmcs = VMX_BASIC_REVISION(rdmsr(MSR_IA32_VMX_BASIC));
	GUEST_ASSERT_EQ(__vmclear(p->vmx.vmcs, &vec), VMX_OK);
	GUEST_ASSERT_EQ(__vmptrld(p->vmx.vmcs, &vec), VMX_OK);
	if (ro_writes_blocked)
		__GUEST_ASSERT(!(misc & VMX_MISC_VMWRITE_ANY_FIELD),
			       "the host cleared VMX_MISC bit 29, L1 reads 0x%lx", misc);
	else
		ro_writes_blocked = !(misc & VMX_MISC_VMWRITE_ANY_FIELD);
	CHECK(!(vmcs_enum & ~0x3feULL), "IA32_VMX_VMCS_ENUM 0x%lx: bits other than 9:1 set",
	      vmcs_enum);
	enumerate_fields(VMX_VMCS_ENUM_MAX_INDEX(vmcs_enum));
	reserved_encoding_bits();
	write_read_fields();
	high_half_writes();
	GUEST_ASSERT_EQ(__vmclear(p->vmx.vmcs, &vec), VMX_OK);
	CHECK_DONE();
}

VMX_TEST(fields_with_vmwrite_to_any_field, l1_fields)

KVM_VCPU_TEST(fields_with_read_only_exit_information, l1_fields)
{
	uint64_t misc;

	TEST_REQUIRE_VMX();
	/* KVM takes back any subset of its VMX_MISC features before the first KVM_RUN. */
	misc = vcpu_get_msr(vcpu, MSR_IA32_VMX_MISC);
	TEST_REQUIRE_MSG(__vcpu_set_msr(vcpu, MSR_IA32_VMX_MISC,
					misc & ~VMX_MISC_VMWRITE_ANY_FIELD) == 1,
			 "KVM refuses IA32_VMX_MISC without bit 29 (0x%lx)", misc);
	write_guest_global(vm, ro_writes_blocked, true);
	NESTED_RUN_L1(vm, vcpu);
}

/* ---- launch state (25.1, 31.3) ---- */

static void __attribute__((noreturn)) l2_vmcall_loop(void)
{
	for (;;)
		asm volatile("vmcall" ::: "memory");
}

static void l1_launch_state(struct nested_pages *p)
{
	struct nested n;
	uint64_t other, cur;
	uint8_t vec;

	guest_nested_init(&n, p, l2_vmcall_loop);
	other = guest_nested_alloc_page(&n);
	*(uint32_t *)(uintptr_t)other = VMX_BASIC_REVISION(rdmsr(MSR_IA32_VMX_BASIC));

	CHECK_RUN("VMRESUME of a clear VMCS", true, VMX_FAIL_VALID, 5);
	CHECK_RUN("VMLAUNCH of a clear VMCS", false, VMX_OK, EXIT_REASON_VMCALL);
	CHECK_RUN("VMLAUNCH of a launched VMCS", false, VMX_FAIL_VALID, 4);
	CHECK_RUN("VMRESUME of a launched VMCS", true, VMX_OK, EXIT_REASON_VMCALL);

	/* VMCLEAR of another VMCS leaves the current one current and launched. */
	CHECK_VMX("VMCLEAR of another VMCS", __vmclear(other, &vec), VMX_OK, 0);
	CHECK_RUN("VMRESUME after VMCLEAR of another VMCS", true, VMX_OK, EXIT_REASON_VMCALL);

	/* VMCLEAR, VMPTRLD: clear, so VMRESUME fails and VMLAUNCH runs from the saved state. */
	CHECK_VMX("VMCLEAR of the current VMCS", __vmclear(p->vmx.vmcs, &vec), VMX_OK, 0);
	CHECK_VMX("VMPTRLD after VMCLEAR", __vmptrld(p->vmx.vmcs, &vec), VMX_OK, 0);
	CHECK_RUN("VMRESUME after VMCLEAR+VMPTRLD", true, VMX_FAIL_VALID, 5);
	CHECK_RUN("VMLAUNCH after VMCLEAR+VMPTRLD", false, VMX_OK, EXIT_REASON_VMCALL);
	CHECK_RUN("VMRESUME after that VMLAUNCH", true, VMX_OK, EXIT_REASON_VMCALL);

	/* VMCLEAR of the current VMCS leaves none (31.3 VMCLEAR): VMfailInvalid. */
	CHECK_VMX("VMCLEAR of the current VMCS", __vmclear(p->vmx.vmcs, &vec), VMX_OK, 0);
	CHECK_VMX("VMPTRST", __vmptrst(&cur, &vec), VMX_OK, 0);
	CHECK(cur == ~0ULL, "VMPTRST after VMCLEAR of the current VMCS: 0x%lx, expected ~0", cur);
	CHECK_RUN("VMRESUME without a current VMCS", true, VMX_FAIL_INVALID, 0);
	CHECK_RUN("VMLAUNCH without a current VMCS", false, VMX_FAIL_INVALID, 0);
	CHECK_DONE();
}

VMX_TEST(launch_state_across_vmclear_vmptrld, l1_launch_state)

/* ---- capability MSRs (appendix A) ---- */

/* A.2: the default1 controls of each class (reported as allowed-0 = 1 in the non-TRUE MSR). */
static const struct {
	uint32_t msr, true_msr, default1;
	const char *name;
} ctl_msrs[] = {
	{ MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED, 0x00000016, "pin-based" },
	{ MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED, 0x0401e172, "primary" },
	{ MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT, 0x00036dff, "VM-exit" },
	{ MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY, 0x000011ff, "VM-entry" },
};

static void check_ctl_msrs(uint64_t basic)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(ctl_msrs); i++) {
		uint64_t c = rdmsr(ctl_msrs[i].msr), t;
		uint32_t d1 = ctl_msrs[i].default1;

		CHECK(((uint32_t)c & d1) == d1, "%s controls MSR 0x%x = 0x%lx: default1 bits "
		      "0x%x not all allowed-0 = 1 (A.2)", ctl_msrs[i].name, ctl_msrs[i].msr, c, d1);
		if (!(basic & VMX_BASIC_TRUE_CTLS))
			continue;
		t = rdmsr(ctl_msrs[i].true_msr);
		CHECK((((uint32_t)c ^ (uint32_t)t) & ~d1) == 0 && (t >> 32) == (c >> 32) &&
		      ((uint32_t)t & ~(uint32_t)c) == 0,
		      "TRUE %s MSR 0x%x = 0x%lx vs 0x%lx: may differ only in allowed-0 of default1 "
		      "bits 0x%x", ctl_msrs[i].name, ctl_msrs[i].true_msr, t, c, d1);
	}
}

static void check_misc_and_basic(uint64_t basic)
{
	uint64_t misc = rdmsr(MSR_IA32_VMX_MISC);
	/* A.1: bits 31, 47:45, 48 (must be 0 on Intel 64) and 63:57 are 0. */
	uint64_t basic_rsvd = (1ULL << 31) | (7ULL << 45) | (1ULL << 48) | (0x7fULL << 57);

	CHECK(!(basic & basic_rsvd), "IA32_VMX_BASIC 0x%lx: reserved bits 0x%lx set", basic,
	      basic & basic_rsvd);
	/* A.6: bits 13:9 and 31 are reserved; at most 256 CR3-target values. */
	CHECK(!(misc & ((0x1fULL << 9) | (1ULL << 31))) && VMX_MISC_CR3_TARGETS(misc) <= 256,
	      "IA32_VMX_MISC 0x%lx: reserved bits or CR3-target count %lu", misc,
	      VMX_MISC_CR3_TARGETS(misc));
	if (rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32 & CPU_BASED_ACTIVATE_SECONDARY)
		CHECK((uint32_t)rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) == 0,
		      "IA32_VMX_PROCBASED_CTLS2 0x%lx has allowed-0 = 1 bits (A.3.3)",
		      rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2));
}

/* The VMX capability MSRs are read-only: WRMSR of their own value is #GP. */
static void check_msrs_read_only(void)
{
	for (uint32_t msr = MSR_IA32_VMX_BASIC; msr <= MSR_IA32_VMX_TRUE_ENTRY + 1; msr++) {
		uint64_t v, after;
		uint8_t vec;

		if (rdmsr_safe(msr, &v) != NO_VECTOR)
			continue;
		vec = wrmsr_safe(msr, v);
		rdmsr_safe(msr, &after);
		CHECK(vec == GP_VECTOR && after == v, "WRMSR 0x%x (a VMX capability MSR) of its "
		      "own value 0x%lx: vector %u (expected #GP %u), reads 0x%lx after", msr, v, vec,
		      GP_VECTOR, after);
	}
}

/* 27.2.1.1: the CR3-target count must not exceed IA32_VMX_MISC's. */
static void check_cr3_target_count(struct nested_pages *p)
{
	unsigned int count = VMX_MISC_CR3_TARGETS(rdmsr(MSR_IA32_VMX_MISC));

	vmx_init_vmcs(&p->vmx, l2_vmcall_loop, p->l2_stack_top);
	vmwrite(CR3_TARGET_COUNT, count + 1);
	CHECK_RUN("VMLAUNCH with CR3-target count VMX_MISC + 1", false, VMX_FAIL_VALID, 7);
	vmwrite(CR3_TARGET_COUNT, count);
	CHECK_RUN("VMLAUNCH with CR3-target count = VMX_MISC", false, VMX_OK, EXIT_REASON_VMCALL);
}

static void l1_caps(struct nested_pages *p)
{
	uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC);
	struct nested n;

	check_misc_and_basic(basic);
	check_ctl_msrs(basic);
	check_msrs_read_only();
	guest_nested_init(&n, p, l2_vmcall_loop);
	check_cr3_target_count(p);
	CHECK_DONE();
}

VMX_TEST(capability_msrs, l1_caps)

static uint8_t mov_cr_safe(int cr, uint64_t v)
{
	if (cr == 0)
		asm volatile(ASM_SAFE("mov %0, %%cr0") :: "r"(v) : "memory");
	else
		asm volatile(ASM_SAFE("mov %0, %%cr4") :: "r"(v) : "memory");
	return guest_fault_vector();
}

/* 24.8: CR0/CR4 bits fixed in VMX operation (FIXED0 = must be 1). */
static void l1_cr_fixed(struct nested_pages *p)
{
	uint64_t cr0, cr4;
	uint8_t vec;

	GUEST_ASSERT_EQ(vmx_enable(&p->vmx, &vec), VMX_OK);
	cr0 = get_cr0();
	cr4 = get_cr4();
	CHECK(rdmsr(MSR_IA32_VMX_CR0_FIXED0) & X86_CR0_NE, "CR0_FIXED0 0x%lx lacks NE",
	      rdmsr(MSR_IA32_VMX_CR0_FIXED0));
	CHECK(rdmsr(MSR_IA32_VMX_CR4_FIXED0) & X86_CR4_VMXE, "CR4_FIXED0 0x%lx lacks VMXE",
	      rdmsr(MSR_IA32_VMX_CR4_FIXED0));
	vec = mov_cr_safe(0, cr0 & ~X86_CR0_NE);
	CHECK(vec == GP_VECTOR && get_cr0() == cr0, "MOV to CR0 clearing NE in VMX operation: "
	      "vector %u, CR0 0x%lx (was 0x%lx); expected #GP, unchanged", vec, get_cr0(), cr0);
	set_cr0(cr0);
	vec = mov_cr_safe(4, cr4 & ~X86_CR4_VMXE);
	CHECK(vec == GP_VECTOR && get_cr4() == cr4, "MOV to CR4 clearing VMXE in VMX operation: "
	      "vector %u, CR4 0x%lx (was 0x%lx); expected #GP, unchanged", vec, get_cr4(), cr4);
	set_cr4(cr4);
	/* Outside VMX operation both are ordinary writes. */
	GUEST_ASSERT_EQ(__vmxoff(&vec), VMX_OK);
	vec = mov_cr_safe(0, cr0 & ~X86_CR0_NE);
	CHECK(vec == NO_VECTOR, "MOV to CR0 clearing NE after VMXOFF: vector %u", vec);
	set_cr0(cr0);
	vec = mov_cr_safe(4, cr4 & ~X86_CR4_VMXE);
	CHECK(vec == NO_VECTOR, "MOV to CR4 clearing VMXE after VMXOFF: vector %u", vec);
	CHECK_DONE();
}

VMX_TEST(cr0_cr4_fixed_bits_in_vmx_operation, l1_cr_fixed)

/* ---- shadow VMCS (25.10, 26.1.3, 31.3) ---- */

#define F_PASS		GUEST_SYSENTER_ESP	/* bitmaps: read 0, write 0 */
#define F_READ_EXITS	GUEST_SYSENTER_EIP	/* read 1, write 0 */
#define F_WRITE_EXITS	GUEST_SYSENTER_CS	/* read 0, write 1 */

/* What L2 saw: status and value of each VMREAD/VMWRITE that must not exit. */
static volatile struct l2_shadow {
	enum vmx_status read_pass, write_pass, read_w_exits, write_r_exits, read_nolink;
	uint64_t pass, w_exits;
	uint8_t vec;
} l2s;

static void l2_shadow(void)
{
	uint64_t v;

	l2s.read_pass = __vmread(F_PASS, &v, NULL);
	l2s.pass = v;
	l2s.write_pass = __vmwrite(F_PASS, 0x4444, NULL);
	l2s.read_w_exits = __vmread(F_WRITE_EXITS, &v, NULL);
	l2s.w_exits = v;
	l2s.write_r_exits = __vmwrite(F_READ_EXITS, 0x5555, NULL);
	__vmread(F_READ_EXITS, &v, NULL);		/* exits: 23 */
	__vmwrite(F_WRITE_EXITS, 0x6666, NULL);		/* exits: 25 */
	l2_vmcall_loop();
}

static void l2_shadow_no_link(void)
{
	uint64_t v;

	l2s.read_nolink = __vmread(F_PASS, &v, NULL);
	l2_vmcall_loop();
}

static const char *shadow_unsupported(void)
{
	if (!(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32 & CPU_BASED_ACTIVATE_SECONDARY))
		return "VMX without secondary controls (no VMCS shadowing)";
	if (!(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32 & SECONDARY_EXEC_SHADOW_VMCS))
		return "the VMCS-shadowing secondary control (bit 14) has allowed-1 = 0";
	return NULL;
}

static void bitmap_bit(uint64_t bitmap, uint32_t field, bool set)
{
	uint8_t *b = (uint8_t *)(uintptr_t)bitmap + field / 8;

	*b = set ? *b | (1u << (field % 8)) : *b & ~(1u << (field % 8));
}

/* The shadow VMCS: bit 31 in its revision, fields written through VMPTRLD. */
static void shadow_vmcs_init(uint64_t shadow)
{
	*(uint32_t *)(uintptr_t)shadow = VMX_BASIC_REVISION(rdmsr(MSR_IA32_VMX_BASIC)) |
					 VMCS_SHADOW_INDICATOR;
	GUEST_ASSERT_EQ(__vmclear(shadow, NULL), VMX_OK);
	CHECK_VMX("VMPTRLD of a shadow VMCS", __vmptrld(shadow, NULL), VMX_OK, 0);
	vmwrite(F_PASS, 0x1111);
	vmwrite(F_READ_EXITS, 0x2222);
	vmwrite(F_WRITE_EXITS, 0x3333);
	GUEST_ASSERT_EQ(__vmclear(shadow, NULL), VMX_OK);
}

static void vmcs_shadowing_on(struct nested_pages *p, void (*l2)(void), uint64_t link,
			      uint64_t rbm, uint64_t wbm)
{
	vmx_init_vmcs(&p->vmx, l2, p->l2_stack_top);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, vmread(CPU_BASED_VM_EXEC_CONTROL) |
		CPU_BASED_ACTIVATE_SECONDARY);
	vmwrite(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_SHADOW_VMCS);
	vmwrite(VMREAD_BITMAP, rbm);
	vmwrite(VMWRITE_BITMAP, wbm);
	vmwrite(VMCS_LINK_POINTER, link);
}

/* L2 runs to its VMCALL; the VMREAD/VMWRITE exits on the way must be exactly 23, 25. */
static void shadow_run(void)
{
	static const uint32_t want[] = { EXIT_REASON_VMREAD, EXIT_REASON_VMWRITE,
					 EXIT_REASON_VMCALL };
	enum vmx_status s;
	char b[160];

	for (unsigned int i = 0; i < ARRAY_SIZE(want); i++) {
		uint32_t r = vmx_run(i > 0, &regs, &s);

		CHECK(s == VMX_OK, "VM entry %u: %s (error %u)", i, vmx_status_name(s),
		      vmx_insn_error(s));
		if (s != VMX_OK)
			return;
		CHECK(r == want[i], "exit %u of L2: %s, expected %s (%u)", i,
		      vmx_exit_str(r, vmread(EXIT_QUALIFICATION), b, sizeof(b)),
		      vmx_exit_name(want[i]), want[i]);
		if (r == EXIT_REASON_VMCALL)
			return;
		vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(VM_EXIT_INSTRUCTION_LEN));
	}
}

static void check_l2_accesses(uint64_t shadow, uint64_t vmcs)
{
	CHECK(l2s.read_pass == VMX_OK && l2s.pass == 0x1111, "L2's VMREAD of 0x%x (bit clear): "
	      "%s, 0x%lx; expected the shadow VMCS's 0x1111", F_PASS,
	      vmx_status_name(l2s.read_pass), l2s.pass);
	CHECK(l2s.read_w_exits == VMX_OK && l2s.w_exits == 0x3333, "L2's VMREAD of 0x%x (read "
	      "bit clear): %s, 0x%lx; expected 0x3333", F_WRITE_EXITS,
	      vmx_status_name(l2s.read_w_exits), l2s.w_exits);
	CHECK(l2s.write_pass == VMX_OK && l2s.write_r_exits == VMX_OK, "L2's VMWRITEs with bit "
	      "clear: %s, %s", vmx_status_name(l2s.write_pass), vmx_status_name(l2s.write_r_exits));
	/* The shadow VMCS holds L2's writes, the exiting ones did not reach it. */
	CHECK_VMX("VMPTRLD of the shadow VMCS", __vmptrld(shadow, NULL), VMX_OK, 0);
	CHECK(vmread(F_PASS) == 0x4444 && vmread(F_READ_EXITS) == 0x5555 &&
	      vmread(F_WRITE_EXITS) == 0x3333, "shadow VMCS after L2: 0x%lx 0x%lx 0x%lx, "
	      "expected 0x4444 0x5555 0x3333", vmread(F_PASS), vmread(F_READ_EXITS),
	      vmread(F_WRITE_EXITS));
	GUEST_ASSERT_EQ(__vmptrld(vmcs, NULL), VMX_OK);
}

/* 27.3.1.5: the link pointer's bit 31 must equal the VMCS-shadowing control. */
static void check_link_indicator(struct nested_pages *p, uint64_t shadow, uint64_t rbm,
				 uint64_t wbm)
{
	uint32_t *rev = (uint32_t *)(uintptr_t)shadow;

	*rev &= ~VMCS_SHADOW_INDICATOR;
	vmcs_shadowing_on(p, l2_vmcall_loop, shadow, rbm, wbm);
	CHECK_RUN("shadowing on, link pointer to an ordinary VMCS", false, VMX_OK,
		  VMX_EXIT_REASONS_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE);
	CHECK(vmread(EXIT_QUALIFICATION) == VMX_ENTRY_FAIL_VMCS_LINK_PTR,
	      "qualification %lu, expected %u (VMCS link pointer)", vmread(EXIT_QUALIFICATION),
	      VMX_ENTRY_FAIL_VMCS_LINK_PTR);
	*rev |= VMCS_SHADOW_INDICATOR;
	vmx_init_vmcs(&p->vmx, l2_vmcall_loop, p->l2_stack_top);
	vmwrite(VMCS_LINK_POINTER, shadow);
	CHECK_RUN("shadowing off, link pointer to a shadow VMCS", false, VMX_OK,
		  VMX_EXIT_REASONS_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE);
}

/* 27.2.1.1: the bitmap addresses are 4-KByte aligned and within MAXPHYADDR. */
static void check_bitmap_addresses(struct nested_pages *p, uint64_t shadow, uint64_t rbm,
				   uint64_t wbm)
{
	vmcs_shadowing_on(p, l2_vmcall_loop, shadow, rbm + 8, wbm);
	CHECK_RUN("VMREAD-bitmap address not page aligned", false, VMX_FAIL_VALID, 7);
	vmcs_shadowing_on(p, l2_vmcall_loop, shadow, rbm, 1ULL << 52);
	CHECK_RUN("VMWRITE-bitmap address beyond MAXPHYADDR", false, VMX_FAIL_VALID, 7);
}

static void l1_shadow(struct nested_pages *p)
{
	const char *why = shadow_unsupported();
	uint64_t shadow, rbm, wbm;
	struct nested n;

	if (why)
		guest_nested_skip_test(why);
	guest_nested_init(&n, p, l2_vmcall_loop);
	shadow = guest_nested_alloc_page(&n);
	rbm = guest_nested_alloc_page(&n);
	wbm = guest_nested_alloc_page(&n);
	memset((void *)(uintptr_t)rbm, 0xff, 4096);
	memset((void *)(uintptr_t)wbm, 0xff, 4096);
	bitmap_bit(rbm, F_PASS, false);
	bitmap_bit(wbm, F_PASS, false);
	bitmap_bit(rbm, F_WRITE_EXITS, false);
	bitmap_bit(wbm, F_READ_EXITS, false);
	shadow_vmcs_init(shadow);

	vmcs_shadowing_on(p, l2_shadow, shadow, rbm, wbm);
	shadow_run();
	check_l2_accesses(shadow, p->vmx.vmcs);

	/* Link pointer FFFFFFFF_FFFFFFFFH: L2's VMREAD is VMfailInvalid, no exit (31.3). */
	vmcs_shadowing_on(p, l2_shadow_no_link, ~0ULL, rbm, wbm);
	CHECK_RUN("shadowing on, link pointer ~0", false, VMX_OK, EXIT_REASON_VMCALL);
	CHECK(l2s.read_nolink == VMX_FAIL_INVALID, "L2's VMREAD with link pointer ~0: %s, "
	      "expected VMfailInvalid", vmx_status_name(l2s.read_nolink));

	check_link_indicator(p, shadow, rbm, wbm);
	check_bitmap_addresses(p, shadow, rbm, wbm);
	CHECK_DONE();
}

VMX_TEST(shadow_vmcs, l1_shadow)

TEST_HARNESS_MAIN
