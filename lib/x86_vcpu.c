// SPDX-License-Identifier: GPL-2.0-only
/*
 * vCPUs: creation in 64-bit mode, register and MSR access, KVM_RUN with a
 * watchdog, and decoding of exits for failure reports.
 */
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"
#include "x86/runtime.h"

/* guest_lib/entry.S: where a guest function returns to (reports UCALL_DONE). */
extern char guest_return_trampoline[];

/* ---- watchdog ---------------------------------------------------------
 * Every KVM_RUN is bounded.  One thread per process samples the vCPUs that
 * are inside KVM_RUN; one that stays in the same run longer than its
 * timeout is kicked out with a signal (KVM_RUN returns -EINTR) and the test
 * fails with the vCPU state instead of hanging.  The hot path only bumps
 * two fields, so a ucall costs no extra system call.
 */
#define WATCHDOG_SIGNAL		SIGUSR2
#define WATCHDOG_PERIOD_MS	50

static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kvm_vcpu *wd_vcpus[1024];
static struct {
	uint64_t seq;
	uint64_t since_ns;
} wd_state[1024];
static pid_t wd_pid;
static unsigned int wd_scale = 1;

static void wd_signal_handler(int sig)
{
	(void)sig;
}

static void *watchdog_thread(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t now;

		usleep(WATCHDOG_PERIOD_MS * 1000);
		now = now_ns();
		pthread_mutex_lock(&wd_lock);
		for (unsigned int i = 0; i < ARRAY_SIZE(wd_vcpus); i++) {
			struct kvm_vcpu *v = wd_vcpus[i];

			if (!v || !v->in_run) {
				wd_state[i].since_ns = 0;
				continue;
			}
			if (wd_state[i].seq != v->run_seq || !wd_state[i].since_ns) {
				wd_state[i].seq = v->run_seq;
				wd_state[i].since_ns = now;
				continue;
			}
			if (now - wd_state[i].since_ns >
			    (uint64_t)v->timeout_ms * wd_scale * 1000000ULL) {
				v->kicked = true;
				pthread_kill(v->thread, WATCHDOG_SIGNAL);
			}
		}
		pthread_mutex_unlock(&wd_lock);
	}
	return NULL;
}

static void wd_atfork_child(void)
{
	pthread_mutex_init(&wd_lock, NULL);
	memset(wd_vcpus, 0, sizeof(wd_vcpus));
	wd_pid = 0;
}

/* KVM_SUITE_TIMEOUT_SCALE: slow platforms (QEMU TCG) stretch every bound. */
unsigned int kvm_timeout_scale(void)
{
	const char *scale = getenv("KVM_SUITE_TIMEOUT_SCALE");

	return scale && atoi(scale) > 0 ? atoi(scale) : 1;
}

bool kvm_cpu_emulator_is(const char *name)
{
	const char *emu = getenv("KVM_SUITE_CPU_EMULATOR");

	return emu && !strcmp(emu, name);
}

bool host_clocksource_is_tsc(char *name, size_t size)
{
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");

	snprintf(name, size, "unknown");
	if (f) {
		if (fgets(name, size, f))
			name[strcspn(name, "\n")] = 0;
		fclose(f);
	}
	return !strcmp(name, "tsc");
}

static void watchdog_register(struct kvm_vcpu *vcpu)
{
	static bool atfork_done;
	unsigned int i;

	pthread_mutex_lock(&wd_lock);
	if (wd_pid != getpid()) {
		struct sigaction sa = { .sa_handler = wd_signal_handler };
		pthread_t t;

		if (!atfork_done) {
			pthread_atfork(NULL, NULL, wd_atfork_child);
			atfork_done = true;
		}
		wd_scale = kvm_timeout_scale();
		sigaction(WATCHDOG_SIGNAL, &sa, NULL);
		TEST_ASSERT(!pthread_create(&t, NULL, watchdog_thread, NULL),
			    "cannot start the KVM_RUN watchdog thread");
		pthread_detach(t);
		wd_pid = getpid();
	}
	for (i = 0; i < ARRAY_SIZE(wd_vcpus) && wd_vcpus[i]; i++)
		;
	TEST_ASSERT(i < ARRAY_SIZE(wd_vcpus), "too many vCPUs in this process");
	wd_vcpus[i] = vcpu;
	wd_state[i].since_ns = 0;
	pthread_mutex_unlock(&wd_lock);
}

static void watchdog_unregister(struct kvm_vcpu *vcpu)
{
	pthread_mutex_lock(&wd_lock);
	for (unsigned int i = 0; i < ARRAY_SIZE(wd_vcpus); i++)
		if (wd_vcpus[i] == vcpu)
			wd_vcpus[i] = NULL;
	pthread_mutex_unlock(&wd_lock);
}

/* ---- creation ---- */

static void kvm_seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = sel & 3, .db = !code64, .s = 1, .l = code64, .g = 1,
	};
}

/* The 64-bit TSS, SDM vol. 3A 8.7. */
struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

#define PERCPU_TSS_OFFSET	0x800

static uint64_t alloc_system_pages(struct kvm_vm *vm, unsigned int npages, bool guard)
{
	uint64_t gpa;

	if (vm->low_next + (npages + guard) * PAGE_SIZE > vm->low_end)
		return vm_phys_alloc(vm, npages);	/* 2 MiB-mapped: no guard page */
	gpa = vm_phys_alloc_low(vm, npages + guard);
	if (guard) {
		virt_unmap(vm, gpa, PAGE_SIZE);
		gpa += PAGE_SIZE;
	}
	return gpa;
}

static void vcpu_setup_cpuid(struct kvm_vcpu *vcpu)
{
	const struct kvm_cpuid2 *sup = kvm_get_supported_cpuid();
	struct kvm_cpuid2 *c = kvm_cpuid2_alloc(sup->nent);
	struct kvm_cpuid_entry2 *e;

	memcpy(c->entries, sup->entries, sup->nent * sizeof(c->entries[0]));
	/* The initial APIC ID (CPUID.1:EBX[31:24], CPUID.0xB/0x1F:EDX) is the vCPU id. */
	e = cpuid_find_entry(c, 1, 0);
	if (e)
		e->ebx = (e->ebx & 0x00ffffff) | (vcpu->id << 24);
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0xb || c->entries[i].function == 0x1f)
			c->entries[i].edx = vcpu->id;
	vcpu_set_cpuid(vcpu, c);
	free(c);
}

static void vcpu_setup_long_mode(struct kvm_vcpu *vcpu)
{
	struct kvm_vm *vm = vcpu->vm;
	uint64_t percpu_gpa, stack, *gdt;
	struct guest_percpu *pc;
	struct kvm_sregs sregs;
	struct tss64 *tss;
	uint64_t tss_gva;
	uint16_t tr_sel = TSS_SEL_BASE + 16 * vcpu->id;

	percpu_gpa = alloc_system_pages(vm, 1, false);
	stack = alloc_system_pages(vm, GUEST_STACK_SIZE / PAGE_SIZE, true);
	vcpu->percpu_gva = percpu_gpa;
	vcpu->stack_top = stack + GUEST_STACK_SIZE;

	pc = addr_gpa2hva(vm, percpu_gpa);
	pc->self = (struct guest_percpu *)(uintptr_t)percpu_gpa;
	pc->vcpu_id = vcpu->id;
	pc->stack_top = vcpu->stack_top;
	pc->fault_vector = NO_VECTOR;

	/* IST1 #DF, IST2 NMI, IST3 #MC: a broken stack still gets a report. */
	tss_gva = percpu_gpa + PERCPU_TSS_OFFSET;
	tss = addr_gpa2hva(vm, tss_gva);
	tss->iomap_base = sizeof(*tss);
	for (unsigned int i = 0; i < 3; i++)
		tss->ist[i] = alloc_system_pages(vm, GUEST_IST_STACK_SIZE / PAGE_SIZE, false) +
			      GUEST_IST_STACK_SIZE;

	/* Busy 64-bit TSS descriptor (type 11), SDM vol. 3A 8.2.3. */
	gdt = addr_gva2hva(vm, vm->gdt);
	gdt[tr_sel / 8] = (sizeof(*tss) - 1) | ((tss_gva & 0xffffff) << 16) | (0xbULL << 40) |
			  (1ULL << 47) | (((tss_gva >> 24) & 0xff) << 56);
	gdt[tr_sel / 8 + 1] = tss_gva >> 32;

	vcpu_sregs_get(vcpu, &sregs);
	sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	sregs.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	sregs.efer = EFER_LME | EFER_LMA | EFER_SCE;
	if (kvm_cpu_has(X86_FEATURE_NX))
		sregs.efer |= EFER_NX;
	sregs.cr3 = vm->pml4;
	kvm_seg_flat(&sregs.cs, KERNEL_CS, 11, true);
	kvm_seg_flat(&sregs.ds, KERNEL_DS, 3, false);
	kvm_seg_flat(&sregs.es, KERNEL_DS, 3, false);
	kvm_seg_flat(&sregs.ss, KERNEL_DS, 3, false);
	kvm_seg_flat(&sregs.fs, KERNEL_DS, 3, false);
	kvm_seg_flat(&sregs.gs, KERNEL_DS, 3, false);
	sregs.gs.base = percpu_gpa;
	sregs.tr = (struct kvm_segment){
		.base = tss_gva, .limit = sizeof(*tss) - 1, .selector = tr_sel,
		.type = 11, .present = 1,
	};
	sregs.ldt = (struct kvm_segment){ .unusable = 1 };
	sregs.gdt.base = vm->gdt;
	sregs.gdt.limit = (TSS_SEL_BASE + 16 * KVM_MAX_TEST_VCPUS) - 1;
	sregs.idt.base = vm->idt;
	sregs.idt.limit = NR_VECTORS * 16 - 1;
	vcpu_sregs_set(vcpu, &sregs);
}

void vcpu_set_entry(struct kvm_vcpu *vcpu, void *guest_code)
{
	struct kvm_regs regs = { 0 };
	uint64_t *ret_slot = addr_gva2hva(vcpu->vm, vcpu->stack_top - 8);

	/* Entry as if called: (RSP + 8) is 16-byte aligned, SysV ABI 3.2.2. */
	*ret_slot = (uint64_t)(uintptr_t)guest_return_trampoline;
	regs.rsp = vcpu->stack_top - 8;
	regs.rip = (uint64_t)(uintptr_t)guest_code;
	regs.rflags = X86_EFLAGS_FIXED;
	vcpu_regs_set(vcpu, &regs);
}

/*
 * KVM decides which ids are valid (EINVAL beyond KVM_CAP_MAX_VCPU_ID, EEXIST
 * for one in use), so the raw form asks it first; the library itself only
 * tracks ids below KVM_MAX_TEST_VCPUS, and a vCPU KVM created beyond that is
 * a test bug that asserts.
 */
struct kvm_vcpu *__vm_vcpu_add(struct kvm_vm *vm, uint32_t id, void *guest_code)
{
	struct kvm_vcpu *vcpu;
	int mmap_size, fd;

	fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (fd < 0)
		return NULL;
	TEST_ASSERT(id < KVM_MAX_TEST_VCPUS && !vm->vcpus[id],
		    "KVM created vCPU %u, but the library tracks ids below %u, each once", id,
		    KVM_MAX_TEST_VCPUS);
	vcpu = calloc(1, sizeof(*vcpu));
	TEST_ASSERT(vcpu, "out of memory");
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->timeout_ms = DEFAULT_RUN_TIMEOUT_MS;
	vcpu->fd = fd;
	mmap_size = kvm_vcpu_mmap_size();
	vcpu->run_size = mmap_size;
	vcpu->run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	TEST_ASSERT(vcpu->run != MAP_FAILED, "mmap of kvm_run failed");
	vm->vcpus[id] = vcpu;
	vm->nr_vcpus++;
	/* Registers come with every exit: ucalls need no KVM_GET_REGS. */
	if (kvm_check_cap(KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_REGS)
		vcpu->run->kvm_valid_regs = KVM_SYNC_X86_REGS;

	vcpu_setup_cpuid(vcpu);
	if (vm->gdt) {
		vcpu_setup_long_mode(vcpu);
		vcpu_set_entry(vcpu, guest_code);
	}
	/*
	 * With the in-kernel local APIC, KVM creates every vCPU but the boot
	 * one in wait-for-SIPI (KVM_MP_STATE_UNINITIALIZED): make it runnable,
	 * so that each vCPU starts at its guest code as guest/guest.h promises,
	 * unless the test keeps KVM's state (vm_opts.keep_mp_state).
	 */
	if (vm->has_irqchip && !vm->keep_mp_state) {
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

		TEST_ASSERT(!ioctl(fd, KVM_SET_MP_STATE, &mp),
			    "KVM_SET_MP_STATE (runnable) of vCPU %u: errno %d", id, errno);
	}
	watchdog_register(vcpu);
	return vcpu;
}

struct kvm_vcpu *vm_vcpu_add_at(struct kvm_vm *vm, uint32_t id, void *guest_code,
				const char *file, unsigned int line)
{
	struct kvm_vcpu *vcpu;

	if (id >= KVM_MAX_TEST_VCPUS)
		test_assert_fail(NULL, file, line, 0, "vCPU id %u: the library tracks ids below %u",
				 id, KVM_MAX_TEST_VCPUS);
	if (vm->vcpus[id])
		test_assert_fail(NULL, file, line, 0, "vCPU %u already exists", id);
	vcpu = __vm_vcpu_add(vm, id, guest_code);
	if (!vcpu)
		kvm_ioctl_fail(file, line, "KVM_CREATE_VCPU", -1, errno, "id %u", id);
	return vcpu;
}

void vcpu_free(struct kvm_vcpu *vcpu)
{
	watchdog_unregister(vcpu);
	free(vcpu->cpuid);
	munmap(vcpu->run, vcpu->run_size);
	close(vcpu->fd);
	vcpu->vm->vcpus[vcpu->id] = NULL;
	vcpu->vm->nr_vcpus--;
	free(vcpu);
}

void vcpu_args_set(struct kvm_vcpu *vcpu, unsigned int n, ...)
{
	struct kvm_regs regs;
	va_list ap;

	TEST_ASSERT(n <= 6, "at most 6 register arguments, got %u", n);
	vcpu_regs_get(vcpu, &regs);
	va_start(ap, n);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t v = va_arg(ap, uint64_t);

		switch (i) {
		case 0: regs.rdi = v; break;
		case 1: regs.rsi = v; break;
		case 2: regs.rdx = v; break;
		case 3: regs.rcx = v; break;
		case 4: regs.r8 = v; break;
		case 5: regs.r9 = v; break;
		}
	}
	va_end(ap);
	vcpu_regs_set(vcpu, &regs);
}

/* ---- running ---- */

int __vcpu_run(struct kvm_vcpu *vcpu)
{
	int r;

	vcpu->thread = pthread_self();
	vcpu->run_seq++;
	__atomic_store_n(&vcpu->in_run, 1, __ATOMIC_SEQ_CST);
	r = ioctl(vcpu->fd, KVM_RUN, NULL);
	__atomic_store_n(&vcpu->in_run, 0, __ATOMIC_SEQ_CST);
	if (r < 0 && errno == EINTR && vcpu->kicked) {
		vcpu_dump(vcpu);
		TEST_FAIL("vCPU %u made no exit for %u ms: guest wedged (state above)",
			  vcpu->id, vcpu->timeout_ms * wd_scale);
	}
	return r;
}

void vcpu_run_at(struct kvm_vcpu *vcpu, const char *file, unsigned int line)
{
	int r = __vcpu_run(vcpu);

	if (r)
		kvm_ioctl_fail(file, line, "KVM_RUN", r, errno, "vCPU %u", vcpu->id);
}

void vcpu_complete_io_at(struct kvm_vcpu *vcpu, const char *file, unsigned int line)
{
	int r;

	vcpu->run->immediate_exit = 1;
	r = __vcpu_run(vcpu);
	vcpu->run->immediate_exit = 0;
	if (r != -1 || errno != EINTR)
		kvm_ioctl_fail(file, line, "KVM_RUN with immediate_exit", r, errno,
			       "vCPU %u: expected -1 and EINTR", vcpu->id);
}

/* ---- MSRs and CPUID ---- */

int __vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t *value)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index };
	int r = __vcpu_ioctl(vcpu, KVM_GET_MSRS, &m.hdr);

	*value = m.e.data;
	return r;
}

/*
 * KVM_GET_MSRS/KVM_SET_MSRS return how many entries they processed: 0 means
 * KVM refused the index (or value) without an errno, so only r < 0 has one.
 */
static void msr_ioctl_fail(const char *file, unsigned int line, const char *name, int r,
			   int err, uint32_t index, const char *value)
{
	if (r < 0)
		kvm_ioctl_fail(file, line, name, r, err, "MSR %#x%s", index, value);
	test_assert_fail(NULL, file, line, 0, "%s(MSR %#x%s) processed %d of 1 MSRs: KVM "
			 "rejected the MSR or value (no errno)", name, index, value, r);
}

uint64_t vcpu_get_msr_at(struct kvm_vcpu *vcpu, uint32_t index, const char *file,
			 unsigned int line)
{
	uint64_t v;
	int r = __vcpu_get_msr(vcpu, index, &v);

	if (r != 1)
		msr_ioctl_fail(file, line, "KVM_GET_MSRS", r, errno, index, "");
	return v;
}

int __vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t value)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index, .e.data = value };

	return __vcpu_ioctl(vcpu, KVM_SET_MSRS, &m.hdr);
}

void vcpu_set_msr_at(struct kvm_vcpu *vcpu, uint32_t index, uint64_t value, const char *file,
		     unsigned int line)
{
	int r = __vcpu_set_msr(vcpu, index, value);
	char val[40];

	if (r != 1) {
		snprintf(val, sizeof(val), " = %#lx", value);
		msr_ioctl_fail(file, line, "KVM_SET_MSRS", r, errno, index, val);
	}
}

int __vcpu_set_cpuid(struct kvm_vcpu *vcpu, const struct kvm_cpuid2 *cpuid)
{
	size_t size = sizeof(*cpuid) + cpuid->nent * sizeof(cpuid->entries[0]);
	int r = __vcpu_ioctl(vcpu, KVM_SET_CPUID2, (void *)cpuid);

	if (!r) {
		free(vcpu->cpuid);
		vcpu->cpuid = malloc(size);
		TEST_ASSERT(vcpu->cpuid, "out of memory");
		memcpy(vcpu->cpuid, cpuid, size);
	}
	return r;
}

void vcpu_set_cpuid_at(struct kvm_vcpu *vcpu, const struct kvm_cpuid2 *cpuid, const char *file,
		       unsigned int line)
{
	int r = __vcpu_set_cpuid(vcpu, cpuid);

	if (r)
		kvm_ioctl_fail(file, line, "KVM_SET_CPUID2", r, errno, "%u entries", cpuid->nent);
}

int __vcpu_get_cpuid(struct kvm_vcpu *vcpu, struct kvm_cpuid2 *cpuid)
{
	return __vcpu_ioctl(vcpu, KVM_GET_CPUID2, cpuid);
}

struct kvm_cpuid2 *vcpu_get_cpuid_at(struct kvm_vcpu *vcpu, const char *file,
				     unsigned int line)
{
	/* E2BIG means "more room needed" (api.rst KVM_GET_CPUID2): grow and retry. */
	for (unsigned int nent = 128;; nent *= 2) {
		struct kvm_cpuid2 *c = kvm_cpuid2_alloc(nent);
		int r = __vcpu_get_cpuid(vcpu, c);

		if (!r)
			return c;
		if (errno != E2BIG || nent >= 4096)
			kvm_ioctl_fail(file, line, "KVM_GET_CPUID2", r, errno,
				       "room for %u entries", nent);
		free(c);
	}
}

/* ---- threads ---- */

struct vcpu_thread_arg {
	struct kvm_vcpu *vcpu;
	void (*fn)(struct kvm_vcpu *vcpu);
};

static void *vcpu_thread_main(void *p)
{
	struct vcpu_thread_arg a = *(struct vcpu_thread_arg *)p;

	free(p);
	a.fn(a.vcpu);
	return (void *)1;
}

pthread_t vcpu_thread_start_at(struct kvm_vcpu *vcpu, void (*fn)(struct kvm_vcpu *vcpu),
			       const char *file, unsigned int line)
{
	struct vcpu_thread_arg *a = malloc(sizeof(*a));
	pthread_t t;
	int r;

	TEST_ASSERT(a, "out of memory");
	a->vcpu = vcpu;
	a->fn = fn;
	r = pthread_create(&t, NULL, vcpu_thread_main, a);
	if (r)
		test_assert_fail(NULL, file, line, r, "pthread_create for vCPU %u failed",
				 vcpu->id);
	return t;
}

void vcpu_thread_join_at(pthread_t thread, const char *file, unsigned int line)
{
	void *ret;
	int r = pthread_join(thread, &ret);

	if (r)
		test_assert_fail(NULL, file, line, r, "pthread_join failed");
	if (ret != (void *)1)
		test_assert_fail(NULL, file, line, 0, "vCPU thread did not finish its function");
}

/* ---- reports ---- */

static const char *internal_suberror_str(uint32_t s)
{
	switch (s) {
	case KVM_INTERNAL_ERROR_EMULATION: return "EMULATION";
	case KVM_INTERNAL_ERROR_SIMUL_EX: return "SIMUL_EX";
	case KVM_INTERNAL_ERROR_DELIVERY_EV: return "DELIVERY_EV";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "UNEXPECTED_EXIT_REASON";
	default: return "?";
	}
}

static void describe_exit(struct kvm_vcpu *vcpu, char *buf, size_t len)
{
	struct kvm_run *run = vcpu->run;
	int n = snprintf(buf, len, "%s (%u)", exit_reason_str(run->exit_reason),
			 run->exit_reason);

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(buf + n, len - n, ": %s port %#x size %u count %u",
			 run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			 run->io.port, run->io.size, run->io.count);
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf + n, len - n, ": %s gpa %#llx len %u",
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr, run->mmio.len);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf + n, len - n, ": hardware entry failure reason %#llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		n += snprintf(buf + n, len - n, ": suberror %u (%s)", run->internal.suberror,
			      internal_suberror_str(run->internal.suberror));
		for (uint32_t i = 0; i < run->internal.ndata && i < 16 && n < (int)len; i++)
			n += snprintf(buf + n, len - n, "%s%#llx", i ? " " : ", data ",
				      (unsigned long long)run->internal.data[i]);
		break;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		snprintf(buf + n, len - n, ": msr %#x data %#llx", run->msr.index,
			 (unsigned long long)run->msr.data);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		snprintf(buf + n, len - n, ": type %u", run->system_event.type);
		break;
	}
}

void vcpu_dump(struct kvm_vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	char sym[128], ex[512];

	describe_exit(vcpu, ex, sizeof(ex));
	kvm_log("vCPU %u state, last exit %s", vcpu->id, ex);
	if (__vcpu_regs_get(vcpu, &r) || __vcpu_sregs_get(vcpu, &s)) {
		kvm_log("  (cannot read registers: %s)", strerror(errno));
		return;
	}
	kvm_log("  RIP %#llx <%s> RSP %#llx RFLAGS %#llx", r.rip,
		symbolize(r.rip, sym, sizeof(sym)), r.rsp, r.rflags);
	kvm_log("  RAX %#llx RBX %#llx RCX %#llx RDX %#llx", r.rax, r.rbx, r.rcx, r.rdx);
	kvm_log("  RSI %#llx RDI %#llx RBP %#llx R8 %#llx", r.rsi, r.rdi, r.rbp, r.r8);
	kvm_log("  R9 %#llx R10 %#llx R11 %#llx R12 %#llx", r.r9, r.r10, r.r11, r.r12);
	kvm_log("  R13 %#llx R14 %#llx R15 %#llx", r.r13, r.r14, r.r15);
	kvm_log("  CR0 %#llx CR2 %#llx CR3 %#llx CR4 %#llx EFER %#llx", s.cr0, s.cr2, s.cr3,
		s.cr4, s.efer);
	kvm_log("  CS %#x (base %#llx l %u) SS %#x", s.cs.selector, s.cs.base, s.cs.l,
		s.ss.selector);
}

void vcpu_assert_exit_at(struct kvm_vcpu *vcpu, uint32_t expected, const char *file,
			 unsigned int line)
{
	struct ucall uc;
	char ex[512];

	if (vcpu->run->exit_reason == expected ||
	    (expected == VCPU_EXIT_UCALL && get_ucall(vcpu, &uc) != UCALL_NONE))
		return;
	/* A guest assertion is more telling than "expected X, got IO". */
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		report_guest_abort(vcpu, &uc);
	describe_exit(vcpu, ex, sizeof(ex));
	vcpu_dump(vcpu);
	if (expected == VCPU_EXIT_UCALL)
		test_assert_fail(NULL, file, line, 0, "vCPU %u: expected a ucall, got exit %s",
				 vcpu->id, ex);
	test_assert_fail(NULL, file, line, 0, "vCPU %u: expected exit %s (%u), got %s",
			 vcpu->id, exit_reason_str(expected), expected, ex);
}
