// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/kvm: opening it, capabilities, the platform name, supported CPUID
 * and exit-reason names.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm_util.h"

void kvm_ioctl_fail(const char *file, unsigned int line, const char *ioctl_name, int rc, int err,
		    const char *fmt, ...)
{
	char detail[1024] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	test_assert_fail(NULL, file, line, err, "%s%s%s%s failed: rc %d, errno %d (%s)",
			 ioctl_name, *detail ? " (" : "", detail, *detail ? ")" : "", rc, err,
			 strerror(err));
}

bool kvm_fep_enabled(void)
{
	FILE *f = fopen("/sys/module/kvm/parameters/force_emulation_prefix", "r");
	int c = 0;

	if (f) {
		c = fgetc(f);
		fclose(f);
	}
	return c == 'Y' || (c >= '1' && c <= '9');
}

int kvm_open_dev(int flags)
{
	int fd = open(KVM_DEV_PATH, flags);

	if (fd < 0)
		TEST_SKIP("cannot open %s: %s", KVM_DEV_PATH, strerror(errno));
	return fd;
}

/*
 * One /dev/kvm fd per process, shared by every VM: opening the device, the
 * API version check and the system-wide queries below are constant for the
 * process, and a VM lifecycle is short enough (~1 ms here) that repeating
 * them per VM is measurable.  A fork()ed child inherits the fd, which is fine:
 * it is the same open file.
 */
int kvm_dev_fd(void)
{
	static int kvm_fd = -1;
	int version;

	if (kvm_fd >= 0)
		return kvm_fd;
	kvm_fd = kvm_open_dev(O_RDWR | O_CLOEXEC);
	version = ioctl(kvm_fd, KVM_GET_API_VERSION, NULL);
	TEST_REQUIRE_MSG(version == KVM_API_VERSION, "KVM API version %d, need %d",
			 version, KVM_API_VERSION);
	return kvm_fd;
}

int kvm_vcpu_mmap_size(void)
{
	static int size;

	if (!size) {
		size = ioctl(kvm_dev_fd(), KVM_GET_VCPU_MMAP_SIZE, NULL);
		TEST_ASSERT(size >= (int)sizeof(struct kvm_run),
			    "KVM_GET_VCPU_MMAP_SIZE returned %d: %s", size, strerror(errno));
	}
	return size;
}

/* System-wide capabilities cannot change while the module is loaded: cache them. */
#define CAP_CACHE_SIZE 512

int kvm_check_cap_at(long cap, const char *file, unsigned int line)
{
	static int cache[CAP_CACHE_SIZE];	/* value + 1; 0 = not asked yet */
	int r;

	if (cap >= 0 && cap < CAP_CACHE_SIZE && cache[cap])
		return cache[cap] - 1;
	r = ioctl(kvm_dev_fd(), KVM_CHECK_EXTENSION, cap);
	if (r < 0)
		kvm_ioctl_fail(file, line, "KVM_CHECK_EXTENSION", r, errno, "cap %ld", cap);
	if (cap >= 0 && cap < CAP_CACHE_SIZE)
		cache[cap] = r + 1;
	return r;
}

int vm_check_cap_at(struct kvm_vm *vm, long cap, const char *file, unsigned int line)
{
	int r = __vm_ioctl(vm, KVM_CHECK_EXTENSION, (void *)cap);

	if (r < 0)
		kvm_ioctl_fail(file, line, "KVM_CHECK_EXTENSION", r, errno, "VM, cap %ld", cap);
	return r;
}

int __vm_enable_cap(struct kvm_vm *vm, uint32_t cap, uint64_t arg0)
{
	struct kvm_enable_cap ec = { .cap = cap, .args = { arg0 } };

	return __vm_ioctl(vm, KVM_ENABLE_CAP, &ec);
}

void vm_enable_cap_at(struct kvm_vm *vm, uint32_t cap, uint64_t arg0, const char *file,
		      unsigned int line)
{
	int r = __vm_enable_cap(vm, cap, arg0);

	if (r)
		kvm_ioctl_fail(file, line, "KVM_ENABLE_CAP", r, errno, "cap %u, arg0 %#llx", cap,
			       (unsigned long long)arg0);
}

/*
 * Which KVM implementation backs /dev/kvm.  Known-failure entries are keyed
 * by this name, so a deviation recorded for one platform never hides the
 * same failure on another.
 */
const char *kvm_platform_name(void)
{
	static const char *const modules[] = { "kvm_pvm", "kvm_intel", "kvm_amd" };
	struct stat st;
	char path[64];

	for (unsigned int i = 0; i < ARRAY_SIZE(modules); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", modules[i]);
		if (!stat(path, &st))
			return modules[i];
	}
	return "kvm";
}

struct kvm_cpuid2 *kvm_cpuid2_alloc(unsigned int nent)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

	TEST_ASSERT(c, "out of memory");
	c->nent = nent;
	return c;
}

const struct kvm_cpuid2 *kvm_get_supported_cpuid(void)
{
	static struct kvm_cpuid2 *cpuid;
	int fd, r;

	if (cpuid)
		return cpuid;
	fd = kvm_dev_fd();
	for (unsigned int nent = 128;; nent *= 2) {
		cpuid = kvm_cpuid2_alloc(nent);
		r = ioctl(fd, KVM_GET_SUPPORTED_CPUID, cpuid);
		if (!r)
			break;
		TEST_ASSERT(errno == E2BIG && nent < 4096,
			    "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
		free(cpuid);
	}
	return cpuid;
}

struct kvm_cpuid_entry2 *cpuid_find_entry(const struct kvm_cpuid2 *cpuid, uint32_t leaf,
					  uint32_t index)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function != leaf)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		return (struct kvm_cpuid_entry2 *)e;
	}
	return NULL;
}

bool kvm_cpu_has(struct x86_feature f)
{
	const struct kvm_cpuid_entry2 *e =
		cpuid_find_entry(kvm_get_supported_cpuid(), f.leaf, f.index);
	uint32_t regs[4];

	if (!e)
		return false;
	regs[0] = e->eax;
	regs[1] = e->ebx;
	regs[2] = e->ecx;
	regs[3] = e->edx;
	return regs[f.reg] & (1u << f.bit);
}

const char *exit_reason_str(uint32_t reason)
{
#define X(r) [KVM_EXIT_##r] = "KVM_EXIT_" #r
	static const char *const names[] = {
		X(UNKNOWN), X(EXCEPTION), X(IO), X(HYPERCALL), X(DEBUG), X(HLT),
		X(MMIO), X(IRQ_WINDOW_OPEN), X(SHUTDOWN), X(FAIL_ENTRY), X(INTR),
		X(SET_TPR), X(TPR_ACCESS), X(S390_SIEIC), X(S390_RESET), X(DCR),
		X(NMI), X(INTERNAL_ERROR), X(OSI), X(PAPR_HCALL), X(S390_UCONTROL),
		X(WATCHDOG), X(S390_TSCH), X(EPR), X(SYSTEM_EVENT), X(S390_STSI),
		X(IOAPIC_EOI), X(HYPERV), X(ARM_NISV), X(X86_RDMSR), X(X86_WRMSR),
		X(DIRTY_RING_FULL), X(AP_RESET_HOLD), X(X86_BUS_LOCK), X(XEN),
		X(RISCV_SBI), X(RISCV_CSR), X(NOTIFY),
		/* Newer than some uapi headers this may be built against. */
#ifdef KVM_EXIT_LOONGARCH_IOCSR
		X(LOONGARCH_IOCSR),
#endif
#ifdef KVM_EXIT_MEMORY_FAULT
		X(MEMORY_FAULT),
#endif
	};
#undef X
	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "KVM_EXIT_<unknown>";
}
