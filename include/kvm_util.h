/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host VM library: /dev/kvm, VMs, memslots, vCPUs, guest page tables and
 * address translation, ucall decoding.
 *
 * Naming, one convention for the whole library (host and guest):
 *  - __foo() is the raw call: it returns the result (for an ioctl, -1 with
 *    errno set on failure) so that a test can check an expected error;
 *  - foo() is the checked call: it asserts success and, when it fails, names
 *    what failed (the ioctl, errno text) at the CALLER's file:line.  It is a
 *    macro around foo_at(..., file, line), which does the work, so a failure
 *    points at the test line that called foo(), not at the library;
 *  - foo_at() is for wrappers that pass their own caller's location on.
 * No function taking a file and line is named __foo.  Functions that only
 * report a location they are given (test_assert_fail(), kvm_ioctl_fail(),
 * the guest's guest_abort() and guest_ucall*()) are not checked calls and
 * take it as their first arguments.  Test bugs the library catches in its
 * arguments (a bad vector, an unaligned mapping, guest memory exhausted)
 * assert in the library with a message saying what was wrong.
 *
 * Prefixes: host library functions are kvm_*, vm_* and vcpu_*; guest-side
 * functions (guest_lib/, the guest halves of the headers) are guest_*, or
 * carry their architecture's name (svm_*, vmx_*, vmread()).  LTP's guest API
 * in tst_test.h keeps LTP's names (tst_*, kvm_exit(), kvm_rdmsr(), ...).
 *
 * Guest memory model (see lib/vm.c): slot 0 is RAM at GPA 0, identity
 * mapped (GVA == GPA) except page 0, which is left unmapped to catch NULL
 * dereferences.  The test's own ELF is loaded at its link addresses, so guest
 * code and globals are addressable by their C names from both sides; the
 * guest has its own copy of every global (sync_global_to_guest()).
 */
#ifndef KVM_SUITE_KVM_UTIL_H
#define KVM_SUITE_KVM_UTIL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "test_util.h"
#include "ucall.h"
#include "x86/processor.h"

#define KVM_DEV_PATH		"/dev/kvm"
#define KVM_MAX_TEST_VCPUS	64
#define DEFAULT_RAM_SIZE	(64 * MiB)
#define DEFAULT_RUN_TIMEOUT_MS	10000

struct kvm_vm;

struct kvm_mem_region {
	struct kvm_userspace_memory_region region;
	void *host_mem;
	size_t mmap_size;
	bool owns_mem;
	struct kvm_mem_region *next;
};

struct kvm_vcpu {
	struct kvm_vm *vm;
	uint32_t id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	uint64_t percpu_gva;	/* struct guest_percpu of this vCPU */
	struct kvm_cpuid2 *cpuid;	/* the table last given to KVM_SET_CPUID2 */
	uint64_t stack_top;
	/* Watchdog: a KVM_RUN that makes no exit for timeout_ms is kicked out. */
	unsigned int timeout_ms;
	volatile int in_run;
	volatile uint64_t run_seq;
	volatile bool kicked;
	pthread_t thread;
};

struct vm_opts {
	uint64_t ram_size;	/* slot 0; 0 means DEFAULT_RAM_SIZE */
	/*
	 * Create the in-kernel PIC/IOAPIC/LAPIC.  Off by default: it costs
	 * ~7 ms on kvm_pvm (ten times a whole VM without it), and without it
	 * HLT exits to userspace instead of blocking.
	 */
	bool irqchip;
	/*
	 * With the in-kernel LAPIC, KVM creates every vCPU but the boot one
	 * waiting for INIT/SIPI; the library makes each runnable unless this
	 * is set (tests of the boot CPU, INIT and SIPI).
	 */
	bool keep_mp_state;
	bool no_elf;		/* don't load the test ELF (raw guests) */
	unsigned long type;	/* KVM_CREATE_VM machine type; 0 = KVM_X86_DEFAULT_VM */
};

struct kvm_vm {
	int kvm_fd;		/* kvm_dev_fd(): shared, not owned by the VM */
	int fd;
	uint64_t ram_size;
	bool has_irqchip;
	bool keep_mp_state;	/* vm_opts.keep_mp_state */
	struct kvm_mem_region *regions;
	struct kvm_vcpu *vcpus[KVM_MAX_TEST_VCPUS];
	unsigned int nr_vcpus;

	/* Guest-physical page allocators: below the ELF (4 KiB-mapped) and above it. */
	uint64_t low_next, low_end;
	uint64_t high_next, high_end;

	uint64_t pml4;		/* GPA of the top-level page table */
	uint64_t gdt, idt;	/* GVAs */
	uint64_t elf_lo, elf_hi;
};

/* ---- /dev/kvm and capabilities ---- */
int kvm_open_dev(int flags);			/* skips when /dev/kvm is unusable */
int kvm_dev_fd(void);				/* the process's shared /dev/kvm fd */
int kvm_vcpu_mmap_size(void);
/* KVM_CHECK_EXTENSION on /dev/kvm, and on the VM. */
int kvm_check_cap_at(long cap, const char *file, unsigned int line);
#define kvm_check_cap(cap)	kvm_check_cap_at(cap, __FILE__, __LINE__)
int vm_check_cap_at(struct kvm_vm *vm, long cap, const char *file, unsigned int line);
#define vm_check_cap(vm, cap)	vm_check_cap_at(vm, cap, __FILE__, __LINE__)
int __vm_enable_cap(struct kvm_vm *vm, uint32_t cap, uint64_t arg0);
void vm_enable_cap_at(struct kvm_vm *vm, uint32_t cap, uint64_t arg0, const char *file,
		      unsigned int line);
#define vm_enable_cap(vm, cap, arg0)	vm_enable_cap_at(vm, cap, arg0, __FILE__, __LINE__)
const char *kvm_platform_name(void);		/* "kvm_pvm", "kvm_intel", "kvm_amd", ... */

#define TEST_REQUIRE_CAP(cap)							\
	TEST_REQUIRE_MSG(kvm_check_cap(cap), "KVM does not support %s", #cap)

/* Is kvm.force_emulation_prefix on (KVM_FEP in the guest then works)? */
bool kvm_fep_enabled(void);
#define TEST_REQUIRE_FEP()							\
	TEST_REQUIRE_MSG(kvm_fep_enabled(), "kvm.force_emulation_prefix is off: KVM's "	\
			 "emulator can't be forced (the QEMU lane enables it)")

/* ---- ioctl wrappers: the checked forms name the ioctl ---- */

/*
 * Fail at file:line with "<ioctl> (<detail>) failed: rc <rc>, errno <err>
 * (<text>)"; the detail (what was asked) is formatted from fmt, if not NULL.
 */
void __attribute__((noreturn, format(printf, 6, 7)))
kvm_ioctl_fail(const char *file, unsigned int line, const char *ioctl_name, int rc, int err,
	       const char *fmt, ...);

/*
 * name is the ioctl's name as a string: it must be stringified (#cmd) by the
 * outermost macro, before the preprocessor expands KVM_FOO to its number.
 */
#define kvm_ioctl_named_at(fd, cmd, arg, name, what, file, line) ({		\
	int __r = ioctl(fd, cmd, arg);						\
	if (__r < 0)								\
		kvm_ioctl_fail(file, line, name, __r, errno, "%s", what);	\
	__r;									\
})
#define __vm_ioctl(vm, cmd, arg)	ioctl((vm)->fd, cmd, arg)
#define vm_ioctl(vm, cmd, arg)							\
	kvm_ioctl_named_at((vm)->fd, cmd, arg, #cmd, "vm ioctl", __FILE__, __LINE__)
#define __vcpu_ioctl(vcpu, cmd, arg)	ioctl((vcpu)->fd, cmd, arg)
#define vcpu_ioctl(vcpu, cmd, arg)						\
	kvm_ioctl_named_at((vcpu)->fd, cmd, arg, #cmd, "vcpu ioctl", __FILE__, __LINE__)
#define kvm_ioctl(fd, cmd, arg)							\
	kvm_ioctl_named_at(fd, cmd, arg, #cmd, "kvm ioctl", __FILE__, __LINE__)

/* ---- VMs ---- */
/*
 * NULL with errno set when KVM_CREATE_VM (e.g. an unknown opts->type) or
 * KVM_CREATE_IRQCHIP fails; the library's own set-up still asserts.
 */
struct kvm_vm *__vm_create_opts(const struct vm_opts *opts);
struct kvm_vm *vm_create_opts_at(const struct vm_opts *opts, const char *file,
				 unsigned int line);
/* Variadic so that a compound literal with commas is one argument. */
#define vm_create_opts(...)	vm_create_opts_at((__VA_ARGS__), __FILE__, __LINE__)
#define vm_create()							\
	vm_create_opts_at(&(const struct vm_opts){ 0 }, __FILE__, __LINE__)
/* A VM with one vCPU (id 0) that will run guest_code(). */
struct kvm_vm *vm_create_with_one_vcpu_at(struct kvm_vcpu **vcpu, void *guest_code,
					  const char *file, unsigned int line);
#define vm_create_with_one_vcpu(vcpu, guest_code)				\
	vm_create_with_one_vcpu_at(vcpu, guest_code, __FILE__, __LINE__)
/* A VM with nr vCPUs, all running guest_code(). */
struct kvm_vm *vm_create_with_vcpus_at(unsigned int nr, void *guest_code,
				       struct kvm_vcpu **vcpus, const char *file,
				       unsigned int line);
#define vm_create_with_vcpus(nr, guest_code, vcpus)				\
	vm_create_with_vcpus_at(nr, guest_code, vcpus, __FILE__, __LINE__)
void kvm_vm_free(struct kvm_vm *vm);
/* Memory-only VM (no /dev/kvm): for host unit tests of the page-table code. */
struct kvm_vm *vm_create_offline(uint64_t ram_size);

/*
 * ---- memslots ----
 * The __ forms return the KVM_SET_USER_MEMORY_REGION / dirty-log ioctl
 * result (-1 and errno); the library's bookkeeping changes only on success.
 * Asking for a slot the library does not (or, for add, already) track is a
 * test bug and asserts in both forms.
 */
int __vm_mem_region_add(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
			uint32_t flags, void **hva);
void *vm_mem_region_add_at(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
			   uint32_t flags, const char *file, unsigned int line);
#define vm_mem_region_add(vm, slot, gpa, size, flags)				\
	vm_mem_region_add_at(vm, slot, gpa, size, flags, __FILE__, __LINE__)
int __vm_set_user_memory_region(struct kvm_vm *vm, uint32_t slot, uint32_t flags,
				uint64_t gpa, uint64_t size, void *hva);
void vm_set_user_memory_region_at(struct kvm_vm *vm, uint32_t slot, uint32_t flags,
				  uint64_t gpa, uint64_t size, void *hva, const char *file,
				  unsigned int line);
#define vm_set_user_memory_region(vm, slot, flags, gpa, size, hva)		\
	vm_set_user_memory_region_at(vm, slot, flags, gpa, size, hva, __FILE__, __LINE__)
/* The RAM (slot 0) moved to other host memory: SMM's view of it (as_id 1) follows. */
void vm_smm_ram_remap(struct kvm_vm *vm);
struct kvm_mem_region *vm_mem_region_find(struct kvm_vm *vm, uint32_t slot);
int __vm_mem_region_delete(struct kvm_vm *vm, uint32_t slot);
void vm_mem_region_delete_at(struct kvm_vm *vm, uint32_t slot, const char *file,
			     unsigned int line);
#define vm_mem_region_delete(vm, slot)						\
	vm_mem_region_delete_at(vm, slot, __FILE__, __LINE__)
int __vm_mem_region_move(struct kvm_vm *vm, uint32_t slot, uint64_t new_gpa);
void vm_mem_region_move_at(struct kvm_vm *vm, uint32_t slot, uint64_t new_gpa,
			   const char *file, unsigned int line);
#define vm_mem_region_move(vm, slot, new_gpa)					\
	vm_mem_region_move_at(vm, slot, new_gpa, __FILE__, __LINE__)
int __vm_mem_region_set_flags(struct kvm_vm *vm, uint32_t slot, uint32_t flags);
void vm_mem_region_set_flags_at(struct kvm_vm *vm, uint32_t slot, uint32_t flags,
				const char *file, unsigned int line);
#define vm_mem_region_set_flags(vm, slot, flags)				\
	vm_mem_region_set_flags_at(vm, slot, flags, __FILE__, __LINE__)
int __vm_get_dirty_log(struct kvm_vm *vm, uint32_t slot, void *bitmap);
void vm_get_dirty_log_at(struct kvm_vm *vm, uint32_t slot, void *bitmap, const char *file,
			 unsigned int line);
#define vm_get_dirty_log(vm, slot, bitmap)					\
	vm_get_dirty_log_at(vm, slot, bitmap, __FILE__, __LINE__)
/* Needs KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled (api.rst KVM_CLEAR_DIRTY_LOG). */
int __vm_clear_dirty_log(struct kvm_vm *vm, uint32_t slot, void *bitmap,
			 uint64_t first_page, uint32_t num_pages);
void vm_clear_dirty_log_at(struct kvm_vm *vm, uint32_t slot, void *bitmap,
			   uint64_t first_page, uint32_t num_pages, const char *file,
			   unsigned int line);
#define vm_clear_dirty_log(vm, slot, bitmap, first_page, num_pages)		\
	vm_clear_dirty_log_at(vm, slot, bitmap, first_page, num_pages, __FILE__, __LINE__)

/* ---- guest physical memory and translation ---- */
uint64_t vm_phys_alloc(struct kvm_vm *vm, unsigned int npages);	/* zeroed pages */
uint64_t vm_phys_alloc_low(struct kvm_vm *vm, unsigned int npages);	/* below the ELF */
/* The __ forms return NULL or false where nothing translates; the others assert. */
void *__addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa);
void *addr_gpa2hva_at(struct kvm_vm *vm, uint64_t gpa, const char *file, unsigned int line);
#define addr_gpa2hva(vm, gpa)	addr_gpa2hva_at(vm, gpa, __FILE__, __LINE__)
bool __addr_hva2gpa(struct kvm_vm *vm, const void *hva, uint64_t *gpa);
uint64_t addr_hva2gpa_at(struct kvm_vm *vm, const void *hva, const char *file,
			 unsigned int line);
#define addr_hva2gpa(vm, hva)	addr_hva2gpa_at(vm, hva, __FILE__, __LINE__)
bool __addr_gva2gpa(struct kvm_vm *vm, uint64_t gva, uint64_t *gpa);
uint64_t addr_gva2gpa_at(struct kvm_vm *vm, uint64_t gva, const char *file, unsigned int line);
#define addr_gva2gpa(vm, gva)	addr_gva2gpa_at(vm, gva, __FILE__, __LINE__)
void *addr_gva2hva_at(struct kvm_vm *vm, uint64_t gva, const char *file, unsigned int line);
#define addr_gva2hva(vm, gva)	addr_gva2hva_at(vm, gva, __FILE__, __LINE__)

/* Copy a host global to/from the guest's copy of the same global. */
#define sync_global_to_guest(vm, g)						\
	memcpy(addr_gva2hva(vm, (uint64_t)(uintptr_t)&(g)), &(g), sizeof(g))
#define sync_global_from_guest(vm, g)						\
	memcpy(&(g), addr_gva2hva(vm, (uint64_t)(uintptr_t)&(g)), sizeof(g))
#define write_guest_global(vm, g, val) ({					\
	__typeof__(g) __v = (val);						\
	memcpy(addr_gva2hva(vm, (uint64_t)(uintptr_t)&(g)), &__v, sizeof(g));	\
})

/* ---- guest page tables (lib/x86_pgtable.c), 4-level, SDM vol. 3A 4.5 ---- */
enum pg_level { PG_LEVEL_NONE, PG_LEVEL_4K, PG_LEVEL_2M, PG_LEVEL_1G, PG_LEVEL_512G };

void virt_pgd_alloc(struct kvm_vm *vm);
/* Map [gva, gva+size) to [gpa, ...) with 4 KiB pages, splitting 2 MiB pages on the way. */
void virt_map(struct kvm_vm *vm, uint64_t gva, uint64_t gpa, uint64_t size, uint64_t flags);
/* Same with 2 MiB pages; gva, gpa and size must be 2 MiB aligned. */
void virt_map_2m(struct kvm_vm *vm, uint64_t gva, uint64_t gpa, uint64_t size, uint64_t flags);
void virt_unmap(struct kvm_vm *vm, uint64_t gva, uint64_t size);
/* Leaf entry mapping gva (host pointer into the table) and its level; NULL if unmapped. */
uint64_t *virt_get_pte(struct kvm_vm *vm, uint64_t gva, enum pg_level *level);
/* Map a page of device MMIO (e.g. the local APIC) uncached at gva == gpa. */
void virt_map_mmio(struct kvm_vm *vm, uint64_t gpa, uint64_t size);

/* ---- vCPUs ---- */
/* NULL with errno set when KVM_CREATE_VCPU fails (e.g. EEXIST for a used id). */
struct kvm_vcpu *__vm_vcpu_add(struct kvm_vm *vm, uint32_t id, void *guest_code);
struct kvm_vcpu *vm_vcpu_add_at(struct kvm_vm *vm, uint32_t id, void *guest_code,
				const char *file, unsigned int line);
#define vm_vcpu_add(vm, id, guest_code)						\
	vm_vcpu_add_at(vm, id, guest_code, __FILE__, __LINE__)
void vcpu_set_entry(struct kvm_vcpu *vcpu, void *guest_code);
void vcpu_args_set(struct kvm_vcpu *vcpu, unsigned int n, ...);
/* Multiplier of every KVM_RUN watchdog bound (env KVM_SUITE_TIMEOUT_SCALE, default 1). */
unsigned int kvm_timeout_scale(void);
/*
 * Is the host's CPU emulated by name (env KVM_SUITE_CPU_EMULATOR, which the
 * lanes set: "bochs" in the Intel lane, "qemu-tcg" under QEMU TCG)?
 */
bool kvm_cpu_emulator_is(const char *name);
/*
 * Is the host's clocksource the TSC?  name gets the clocksource's name.  If
 * not (e.g. the Intel lane marks the TSC unstable), KVM catches each vCPU's
 * TSC up with kvmclock (tsc_catchup) and the TSC is no clock to time
 * anything with, in the host or in a guest.
 */
bool host_clocksource_is_tsc(char *name, size_t size);
int __vcpu_run(struct kvm_vcpu *vcpu);	/* KVM_RUN result; watchdog-bounded */
void vcpu_run_at(struct kvm_vcpu *vcpu, const char *file, unsigned int line);
#define vcpu_run(vcpu)		vcpu_run_at(vcpu, __FILE__, __LINE__)
/*
 * Finish the instruction an exit to userspace left half done (PIO, MMIO):
 * KVM_RUN with immediate_exit set, which api.rst requires before vCPU state
 * is saved (KVM_GET_NESTED_STATE, KVM_GET_REGS for migration...).
 * Without it, kvm_intel's new vmcs02 has instruction length 0 after a
 * KVM_SET_NESTED_STATE and L2 repeats its OUT.
 */
void vcpu_complete_io_at(struct kvm_vcpu *vcpu, const char *file, unsigned int line);
#define vcpu_complete_io(vcpu)	vcpu_complete_io_at(vcpu, __FILE__, __LINE__)

/*
 * vcpu_<name>_get/set(vcpu, &state) and their __ forms for the KVM_GET_x /
 * KVM_SET_x pair of each piece of vCPU state.
 */
#define DEFINE_VCPU_GET_SET(name, type, get, set)				\
static inline int __vcpu_##name##_get(struct kvm_vcpu *v, type *x)		\
{ return __vcpu_ioctl(v, get, x); }						\
static inline void vcpu_##name##_get_at(struct kvm_vcpu *v, type *x,		\
					const char *file, unsigned int line)	\
{ kvm_ioctl_named_at(v->fd, get, x, #get, "vcpu ioctl", file, line); }	\
static inline int __vcpu_##name##_set(struct kvm_vcpu *v, type *x)		\
{ return __vcpu_ioctl(v, set, x); }						\
static inline void vcpu_##name##_set_at(struct kvm_vcpu *v, type *x,		\
					const char *file, unsigned int line)	\
{ kvm_ioctl_named_at(v->fd, set, x, #set, "vcpu ioctl", file, line); }
DEFINE_VCPU_GET_SET(regs, struct kvm_regs, KVM_GET_REGS, KVM_SET_REGS)
DEFINE_VCPU_GET_SET(sregs, struct kvm_sregs, KVM_GET_SREGS, KVM_SET_SREGS)
DEFINE_VCPU_GET_SET(fpu, struct kvm_fpu, KVM_GET_FPU, KVM_SET_FPU)
DEFINE_VCPU_GET_SET(events, struct kvm_vcpu_events, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS)
DEFINE_VCPU_GET_SET(debugregs, struct kvm_debugregs, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS)
DEFINE_VCPU_GET_SET(lapic, struct kvm_lapic_state, KVM_GET_LAPIC, KVM_SET_LAPIC)
DEFINE_VCPU_GET_SET(mp_state, struct kvm_mp_state, KVM_GET_MP_STATE, KVM_SET_MP_STATE)

/*
 * A macro cannot define macros: one line per checked form.  The state
 * argument is variadic so that a compound literal with commas stays one.
 */
#define __vcpu_state_at(fn, v, ...)	fn(v, (__VA_ARGS__), __FILE__, __LINE__)
#define vcpu_regs_get(v, ...)		__vcpu_state_at(vcpu_regs_get_at, v, __VA_ARGS__)
#define vcpu_regs_set(v, ...)		__vcpu_state_at(vcpu_regs_set_at, v, __VA_ARGS__)
#define vcpu_sregs_get(v, ...)		__vcpu_state_at(vcpu_sregs_get_at, v, __VA_ARGS__)
#define vcpu_sregs_set(v, ...)		__vcpu_state_at(vcpu_sregs_set_at, v, __VA_ARGS__)
#define vcpu_fpu_get(v, ...)		__vcpu_state_at(vcpu_fpu_get_at, v, __VA_ARGS__)
#define vcpu_fpu_set(v, ...)		__vcpu_state_at(vcpu_fpu_set_at, v, __VA_ARGS__)
#define vcpu_events_get(v, ...)		__vcpu_state_at(vcpu_events_get_at, v, __VA_ARGS__)
#define vcpu_events_set(v, ...)		__vcpu_state_at(vcpu_events_set_at, v, __VA_ARGS__)
#define vcpu_debugregs_get(v, ...)	__vcpu_state_at(vcpu_debugregs_get_at, v, __VA_ARGS__)
#define vcpu_debugregs_set(v, ...)	__vcpu_state_at(vcpu_debugregs_set_at, v, __VA_ARGS__)
#define vcpu_lapic_get(v, ...)		__vcpu_state_at(vcpu_lapic_get_at, v, __VA_ARGS__)
#define vcpu_lapic_set(v, ...)		__vcpu_state_at(vcpu_lapic_set_at, v, __VA_ARGS__)
#define vcpu_mp_state_get(v, ...)	__vcpu_state_at(vcpu_mp_state_get_at, v, __VA_ARGS__)
#define vcpu_mp_state_set(v, ...)	__vcpu_state_at(vcpu_mp_state_set_at, v, __VA_ARGS__)

static inline int __vcpu_guest_debug_set(struct kvm_vcpu *v, struct kvm_guest_debug *d)
{
	return __vcpu_ioctl(v, KVM_SET_GUEST_DEBUG, d);
}

static inline void vcpu_guest_debug_set_at(struct kvm_vcpu *v, struct kvm_guest_debug *d,
					   const char *file, unsigned int line)
{
	kvm_ioctl_named_at(v->fd, KVM_SET_GUEST_DEBUG, d, "KVM_SET_GUEST_DEBUG", "vcpu ioctl",
			     file, line);
}
#define vcpu_guest_debug_set(v, ...)						\
	vcpu_guest_debug_set_at(v, (__VA_ARGS__), __FILE__, __LINE__)

/*
 * MSRs: __ forms return the number of MSRs processed (KVM semantics): 1 on
 * success, 0 when KVM rejects the index or value (no errno), -1 with errno
 * when the ioctl itself fails.
 */
int __vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t *value);
uint64_t vcpu_get_msr_at(struct kvm_vcpu *vcpu, uint32_t index, const char *file,
			 unsigned int line);
#define vcpu_get_msr(vcpu, index)	vcpu_get_msr_at(vcpu, index, __FILE__, __LINE__)
int __vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t value);
void vcpu_set_msr_at(struct kvm_vcpu *vcpu, uint32_t index, uint64_t value, const char *file,
		     unsigned int line);
#define vcpu_set_msr(vcpu, index, value)					\
	vcpu_set_msr_at(vcpu, index, value, __FILE__, __LINE__)

/* CPUID */
const struct kvm_cpuid2 *kvm_get_supported_cpuid(void);
struct kvm_cpuid2 *kvm_cpuid2_alloc(unsigned int nent);
struct kvm_cpuid_entry2 *cpuid_find_entry(const struct kvm_cpuid2 *cpuid, uint32_t leaf,
					  uint32_t index);
bool kvm_cpu_has(struct x86_feature f);	/* in KVM_GET_SUPPORTED_CPUID */
int __vcpu_set_cpuid(struct kvm_vcpu *vcpu, const struct kvm_cpuid2 *cpuid);
void vcpu_set_cpuid_at(struct kvm_vcpu *vcpu, const struct kvm_cpuid2 *cpuid, const char *file,
		       unsigned int line);
#define vcpu_set_cpuid(vcpu, ...)						\
	vcpu_set_cpuid_at(vcpu, (__VA_ARGS__), __FILE__, __LINE__)
/* One KVM_GET_CPUID2 into cpuid (cpuid->nent entries of room); E2BIG if too small. */
int __vcpu_get_cpuid(struct kvm_vcpu *vcpu, struct kvm_cpuid2 *cpuid);
/* KVM_GET_CPUID2 into a table big enough; the caller frees it. */
struct kvm_cpuid2 *vcpu_get_cpuid_at(struct kvm_vcpu *vcpu, const char *file,
				     unsigned int line);
#define vcpu_get_cpuid(vcpu)		vcpu_get_cpuid_at(vcpu, __FILE__, __LINE__)

#define TEST_REQUIRE_FEATURE(f)							\
	TEST_REQUIRE_MSG(kvm_cpu_has(f), "KVM does not advertise CPUID feature %s", #f)

/* ---- guest exceptions, from the host ---- */
void vm_install_exception_handler(struct kvm_vm *vm, unsigned int vector, void *handler);

/* ---- vCPU threads ---- */
/* Run fn(vcpu) on a new thread; vcpu_thread_join() asserts it returned. */
pthread_t vcpu_thread_start_at(struct kvm_vcpu *vcpu, void (*fn)(struct kvm_vcpu *vcpu),
			       const char *file, unsigned int line);
#define vcpu_thread_start(vcpu, fn)	vcpu_thread_start_at(vcpu, fn, __FILE__, __LINE__)
void vcpu_thread_join_at(pthread_t thread, const char *file, unsigned int line);
#define vcpu_thread_join(thread)	vcpu_thread_join_at(thread, __FILE__, __LINE__)

/* ---- exits ---- */
const char *exit_reason_str(uint32_t reason);
/*
 * Fail naming expected and actual exit (decoded), plus state, unless they
 * match.  VCPU_EXIT_UCALL as "expected" accepts any ucall.
 */
#define VCPU_EXIT_UCALL	0xffffffffu
void vcpu_assert_exit_at(struct kvm_vcpu *vcpu, uint32_t expected, const char *file,
			 unsigned int line);
#define TEST_ASSERT_KVM_EXIT_REASON(vcpu, expected)				\
	vcpu_assert_exit_at(vcpu, expected, __FILE__, __LINE__)
/* Print registers, sregs and the exit to stdout as "# " lines. */
void vcpu_dump(struct kvm_vcpu *vcpu);
/* "function+0x12" for a guest (= host) code address, from the ELF symbol table. */
const char *symbolize(uint64_t addr, char *buf, size_t len);

/* ---- ucall, host side (lib/ucall.c) ---- */
/* Decode the last exit as a ucall; returns its cmd, UCALL_NONE if it was not one. */
uint32_t get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc);
void __attribute__((noreturn)) report_guest_abort(struct kvm_vcpu *vcpu, struct ucall *uc);
const char *ucall_file(struct kvm_vcpu *vcpu, struct ucall *uc, char *buf, size_t len);
/*
 * Run until the guest makes a ucall other than PRINTF (which is printed).
 * Fails the test on ABORT and on any exit that is not a ucall; returns the cmd.
 */
uint32_t vcpu_run_ucall_at(struct kvm_vcpu *vcpu, struct ucall *uc, const char *file,
			   unsigned int line);
#define vcpu_run_ucall(vcpu, uc)	vcpu_run_ucall_at(vcpu, uc, __FILE__, __LINE__)
/* Run and assert the next ucall is SYNC with the given first argument. */
void vcpu_run_expect_sync_at(struct kvm_vcpu *vcpu, uint64_t arg0, const char *file,
			     unsigned int line);
#define vcpu_run_expect_sync(vcpu, arg0)					\
	vcpu_run_expect_sync_at(vcpu, arg0, __FILE__, __LINE__)
/* Run and assert the guest finishes (UCALL_DONE). */
void vcpu_run_expect_done_at(struct kvm_vcpu *vcpu, const char *file, unsigned int line);
#define vcpu_run_expect_done(vcpu)	vcpu_run_expect_done_at(vcpu, __FILE__, __LINE__)

/* ---- ELF of this test (lib/elf.c) ---- */
struct elf_image {
	uint64_t lo, hi;	/* page-aligned span of the PT_LOAD segments */
	uint8_t *image;		/* hi - lo bytes as the guest must see them */
};
const struct elf_image *self_elf_image(void);

#endif /* KVM_SUITE_KVM_UTIL_H */
