// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host half of the LTP-style API (include/tst_test.h): instances are thin
 * wrappers of this suite's VMs, and results are mapped to kselftest
 * verdicts.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tst_kvm.h"

unsigned int tst_kvm_iterations = 1;

static const int result_types[] = { TPASS, TFAIL, TBROK, TWARN, TINFO, TCONF };
static const char *const result_names[] = { "TPASS", "TFAIL", "TBROK", "TWARN", "TINFO",
					    "TCONF" };

int tst_result_index(int result)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(result_types); i++)
		if (result_types[i] == result)
			return i;
	return -1;
}

const char *tst_result_name(int result)
{
	int i = tst_result_index(result);

	return i < 0 ? "T???" : result_names[i];
}

void tst_kvm_count(struct tst_kvm_summary *sum, int result, const char *fmt, ...)
{
	char *dst;
	va_list ap;

	sum->counts[tst_result_index(result)]++;
	if (result == TPASS || result == TINFO)
		return;
	dst = result == TCONF ? sum->tconf : sum->first_problem;
	if (dst[0])
		return;
	va_start(ap, fmt);
	vsnprintf(dst, sizeof(sum->first_problem), fmt, ap);
	va_end(ap);
}

/* ram[slot] from the suite VM's memslot slot (if it has one). */
static void sync_ram_slot(struct tst_kvm_instance *inst, unsigned int slot)
{
	const struct kvm_mem_region *r = vm_mem_region_find(inst->vm, slot);

	if (r && slot < MAX_KVM_MEMSLOTS)
		inst->ram[slot] = r->region;
}

void tst_kvm_create_instance(struct tst_kvm_instance *inst, size_t ram_size)
{
	struct vm_opts opts = { .ram_size = ram_size };
	void *guest_main = inst->guest_main;
	uint64_t top, heap;

	if (!guest_main)
		guest_main = tst_kvm_payload_main;
	TEST_ASSERT(guest_main, "tst_kvm_create_instance: no guest: set inst->guest_main, "
		    "or build an LTP-form test (kvm_test.h) with a payload main()");
	TEST_ASSERT(ram_size <= TST_KVM_IDENTITY_TOP - 2 * MiB,
		    "tst_kvm_create_instance: RAM %#zx must leave room below 2 GiB", ram_size);
	memset(inst, 0, sizeof(*inst));
	inst->guest_main = guest_main;
	inst->vm = vm_create_opts(&opts);

	/* Identity map up to 2 GiB, backed or not, as LTP's guests expect. */
	top = ALIGN_UP(inst->vm->ram_size, 2 * MiB);
	virt_map_2m(inst->vm, top, top, TST_KVM_IDENTITY_TOP - top, PTE_DEFAULT);
	/* LTP's payloads get page 0 mapped too; suite-style guests keep NULL faulting. */
	if (guest_main == (void *)tst_kvm_payload_main)
		virt_map(inst->vm, 0, 0, PAGE_SIZE, PTE_DEFAULT);

	/* The result page, above 2 GiB in its own slot. */
	inst->result = vm_mem_region_add(inst->vm, TST_KVM_RESULT_SLOT, TST_KVM_RESULT_ADDR,
					 PAGE_SIZE, 0);
	virt_map(inst->vm, TST_KVM_RESULT_ADDR, TST_KVM_RESULT_ADDR, PAGE_SIZE, PTE_DEFAULT);

	heap = vm_phys_alloc(inst->vm, TST_KVM_HEAP_SIZE / PAGE_SIZE);
	write_guest_global(inst->vm, tst_heap_base, heap);
	write_guest_global(inst->vm, tst_heap_end, heap + TST_KVM_HEAP_SIZE);

	inst->vcpu = vm_vcpu_add(inst->vm, 0, guest_main);
	inst->vm_fd = inst->vm->fd;
	inst->vcpu_fd = inst->vcpu->fd;
	inst->vcpu_info = inst->vcpu->run;
	inst->vcpu_info_size = inst->vcpu->run_size;
	sync_ram_slot(inst, 0);
	sync_ram_slot(inst, TST_KVM_RESULT_SLOT);
}

void tst_kvm_destroy_instance(struct tst_kvm_instance *inst)
{
	kvm_vm_free(inst->vm);
	inst->vm = NULL;
	inst->vcpu = NULL;
	inst->result = NULL;
	inst->vm_fd = inst->vcpu_fd = -1;
	inst->vcpu_info = NULL;
	memset(inst->ram, 0, sizeof(inst->ram));
}

/* The guarded buffers of tst_kvm_alloc_memory(), until tst_free_all(). */
struct guarded_buf {
	void *map;		/* mmap incl. the guard pages */
	size_t map_size;
	struct guarded_buf *next;
};

static struct guarded_buf *guarded_bufs;

void tst_free_all(void)
{
	while (guarded_bufs) {
		struct guarded_buf *b = guarded_bufs;

		guarded_bufs = b->next;
		munmap(b->map, b->map_size);
		free(b);
	}
}

void *tst_kvm_alloc_memory(struct tst_kvm_instance *inst, unsigned int slot,
			   uint64_t baseaddr, size_t size, unsigned int flags)
{
	uint64_t gpa = ALIGN_DOWN(baseaddr, PAGE_SIZE);
	struct guarded_buf *b = calloc(1, sizeof(*b));
	uint8_t *mem;

	TEST_ASSERT(b, "tst_kvm_alloc_memory: out of memory");
	TEST_ASSERT(slot < MAX_KVM_MEMSLOTS && !inst->ram[slot].userspace_addr,
		    "tst_kvm_alloc_memory: slot %u is in use or not below %d", slot,
		    MAX_KVM_MEMSLOTS);
	size = ALIGN_UP(baseaddr - gpa + size, PAGE_SIZE);
	/* A PROT_NONE page on each side turns a host overrun into SIGSEGV. */
	b->map_size = size + 2 * PAGE_SIZE;
	b->map = mmap(NULL, b->map_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(b->map != MAP_FAILED, "tst_kvm_alloc_memory: mmap: %s", strerror(errno));
	b->next = guarded_bufs;
	guarded_bufs = b;
	mem = (uint8_t *)b->map + PAGE_SIZE;
	TEST_ASSERT(!mprotect(mem, size, PROT_READ | PROT_WRITE),
		    "tst_kvm_alloc_memory: mprotect: %s", strerror(errno));
	vm_set_user_memory_region(inst->vm, slot, flags, gpa, size, mem);
	inst->ram[slot] = (struct kvm_userspace_memory_region){
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)mem,
	};
	/* Below 2 GiB the identity map covers it already; above, map it. */
	if (!__addr_gva2gpa(inst->vm, gpa, &(uint64_t){ 0 }))
		virt_map(inst->vm, gpa, gpa, size, PTE_DEFAULT);
	return mem;
}

uint64_t tst_kvm_get_phys_address(const struct tst_kvm_instance *inst, uint64_t addr)
{
	uint64_t gpa;

	return __addr_gva2gpa(inst->vm, addr, &gpa) ? gpa : 0;
}

int tst_kvm_find_phys_memslot(const struct tst_kvm_instance *inst, uint64_t paddr)
{
	for (int i = 0; i < MAX_KVM_MEMSLOTS; i++) {
		const struct kvm_userspace_memory_region *r = &inst->ram[i];

		if (r->userspace_addr && paddr >= r->guest_phys_addr &&
		    paddr - r->guest_phys_addr < r->memory_size)
			return i;
	}
	return -1;
}

int tst_kvm_find_memslot(const struct tst_kvm_instance *inst, uint64_t addr)
{
	uint64_t gpa;

	if (!__addr_gva2gpa(inst->vm, addr, &gpa))
		return -1;
	return tst_kvm_find_phys_memslot(inst, gpa);
}

void *tst_kvm_get_memptr(const struct tst_kvm_instance *inst, uint64_t addr)
{
	const struct kvm_userspace_memory_region *r;
	uint64_t gpa;
	int slot;

	if (!__addr_gva2gpa(inst->vm, addr, &gpa))
		return NULL;
	slot = tst_kvm_find_phys_memslot(inst, gpa);
	if (slot < 0)
		return NULL;
	r = &inst->ram[slot];
	return (void *)(uintptr_t)(r->userspace_addr + (gpa - r->guest_phys_addr));
}

struct kvm_cpuid2 *tst_kvm_get_cpuid(int sysfd)
{
	struct kvm_cpuid2 *cpuid;

	for (unsigned int nent = 64;; nent *= 2) {
		cpuid = kvm_cpuid2_alloc(nent);
		if (!ioctl(sysfd, KVM_GET_SUPPORTED_CPUID, cpuid))
			return cpuid;
		free(cpuid);
		TEST_ASSERT(errno == E2BIG && nent < 4096,
			    "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
	}
}

void tst_kvm_validate_result(int value)
{
	if (tst_result_index(value) >= 0)
		return;
	printf("# TBROK: invalid result value %d from the guest\n", value);
	tst_kvm_count(&tst_kvm_results, TBROK, "invalid result value %d from the guest", value);
	tst_ltp_exit();
}

void tst_kvm_report_result(struct tst_kvm_instance *inst, int result,
			   struct tst_kvm_summary *sum)
{
	struct tst_kvm_result *res = inst->result;
	char file[256];
	struct ucall uc = { .file = res->file_addr, .line = res->lineno };
	const char *name = tst_result_name(result);

	ucall_file(inst->vcpu, &uc, file, sizeof(file));
	/* The page is guest memory: never trust its string to be terminated. */
	res->message[TST_KVM_MESSAGE_SIZE - 1] = '\0';
	if (res->result != result) {
		printf("# %s:%d: TBROK: result page says %d, ucall says %d: %s\n", file,
		       res->lineno, res->result, result, res->message);
		tst_kvm_count(sum, TBROK, "%s:%d: result page says %d, ucall says %d",
			      file, res->lineno, res->result, result);
		return;
	}
	if (tst_result_index(result) < 0) {
		printf("# %s:%d: TBROK: unknown result type %d: %s\n", file, res->lineno,
		       result, res->message);
		tst_kvm_count(sum, TBROK, "%s:%d: unknown result type %d: %s", file,
			      res->lineno, result, res->message);
		return;
	}
	printf("# %s:%d: %s: %s\n", file, res->lineno, name, res->message);
	tst_kvm_count(sum, result, "%s:%d: %s: %s", file, res->lineno, name, res->message);
}

static int run_instance(struct tst_kvm_instance *inst, int exp_errno,
			struct tst_kvm_summary *sum);

int tst_kvm_run_instance_sum(struct tst_kvm_instance *inst, int exp_errno,
			     struct tst_kvm_summary *sum)
{
	int r;

	__atomic_store_n(&inst->ended, 0, __ATOMIC_SEQ_CST);
	r = run_instance(inst, exp_errno, sum);
	/* For tst_kvm_wait_guest(): the guest has ended (not after an expected error). */
	if (!r)
		__atomic_store_n(&inst->ended, 1, __ATOMIC_SEQ_CST);
	return r;
}

int tst_kvm_run_instance_errno(struct tst_kvm_instance *inst, int exp_errno)
{
	int r;

	tst_kvm_results.broke = false;
	r = tst_kvm_run_instance_sum(inst, exp_errno, &tst_kvm_results);
	if (tst_kvm_results.broke)
		tst_ltp_exit();
	return r;
}

int tst_kvm_wait_guest(struct tst_kvm_instance *inst, int timeout_ms)
{
	uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000ULL;

	do {
		int32_t v = __atomic_load_n(&inst->result->result, __ATOMIC_SEQ_CST);

		if (v == KVM_TSYNC)
			return 0;
		if (__atomic_load_n(&inst->ended, __ATOMIC_SEQ_CST))
			return KVM_TEXIT;
		usleep(1000);
	} while (now_ns() < end);
	return -1;
}

void tst_kvm_clear_guest_signal(struct tst_kvm_instance *inst)
{
	__atomic_store_n(&inst->result->result, KVM_TNONE, __ATOMIC_SEQ_CST);
}

static int run_instance(struct tst_kvm_instance *inst, int exp_errno,
			struct tst_kvm_summary *sum)
{
	struct ucall uc;
	char file[256];

	for (;;) {
		int r = __vcpu_run(inst->vcpu);

		if (r < 0) {
			if (exp_errno && errno == exp_errno)
				return -1;
			tst_kvm_count(sum, TBROK, "KVM_RUN failed: %s%s", strerror(errno),
				      inst->vcpu->kicked ? " (the guest made no exit within the "
				      "watchdog timeout)" : "");
			sum->broke = true;
			return 0;
		}
		switch (get_ucall(inst->vcpu, &uc)) {
		case UCALL_TST_RES:
			tst_kvm_report_result(inst, uc.args[0], sum);
			break;
		case UCALL_TST_BRK:
			tst_kvm_report_result(inst, uc.args[0], sum);
			if (uc.args[0] != TBROK && uc.args[0] != TCONF)
				tst_kvm_count(sum, TBROK, "tst_brk() with %s: only TBROK and "
					      "TCONF may end a test", tst_result_name(uc.args[0]));
			sum->broke = true;
			return 0;
		case UCALL_PRINTF:
			printf("# %s:%u: %s\n", ucall_file(inst->vcpu, &uc, file, sizeof(file)),
			       uc.line, uc.buffer);
			break;
		case UCALL_DONE:
			return 0;
		case UCALL_ABORT:
			/* A guest assertion or an exception nobody handled. */
			printf("# %s:%u: TBROK: %s\n",
			       ucall_file(inst->vcpu, &uc, file, sizeof(file)), uc.line, uc.buffer);
			tst_kvm_count(sum, TBROK, "%s:%u: %s", file, uc.line, uc.buffer);
			sum->broke = true;
			return 0;
		default:
			tst_kvm_count(sum, TBROK, "unexpected exit: %s",
				      exit_reason_str(inst->vcpu->run->exit_reason));
			vcpu_dump(inst->vcpu);
			sum->broke = true;
			return 0;
		}
	}
}

void tst_kvm_run_instance(struct tst_kvm_instance *inst)
{
	tst_kvm_results.broke = false;
	tst_kvm_run_instance_sum(inst, 0, &tst_kvm_results);
	if (tst_kvm_results.broke)
		tst_ltp_exit();
}

void tst_kvm_setup_instance(struct tst_kvm_instance *inst, void *guest_main)
{
	memset(inst, 0, sizeof(*inst));
	inst->guest_main = guest_main;
	tst_kvm_create_instance(inst, DEFAULT_RAM_SIZE);
}

/* Results that decide a verdict: all but TINFO. */
static unsigned int verdict_results(const struct tst_kvm_summary *sum)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(result_types); i++)
		if (result_types[i] != TINFO)
			n += sum->counts[i];
	return n;
}

void tst_kvm_run_iteration(struct tst_kvm_instance *inst, struct tst_kvm_summary *sum)
{
	unsigned int before = verdict_results(sum);

	tst_kvm_run_instance_sum(inst, 0, sum);
	sum->runs++;
	/*
	 * Judge each iteration, as LTP does: with -i N the counts are summed,
	 * so a silent iteration would otherwise hide behind the others' TPASS.
	 */
	if (verdict_results(sum) == before) {
		printf("# TBROK: iteration %u: the guest reported no result\n", sum->runs);
		tst_kvm_count(sum, TBROK, "iteration %u: the guest reported no result",
			      sum->runs);
	}
}

void tst_kvm_cleanup_instance(struct tst_kvm_instance *inst)
{
	if (inst->vm)
		tst_kvm_destroy_instance(inst);
	tst_free_all();
}

int tst_kvm_run_test(void *guest_main, struct tst_kvm_summary *sum)
{
	struct tst_kvm_instance inst;

	memset(sum, 0, sizeof(*sum));
	for (unsigned int i = 0; i < tst_kvm_iterations; i++) {
		/* LTP: a VM cannot be reset, so every iteration gets a new one. */
		tst_kvm_setup_instance(&inst, guest_main);
		tst_kvm_run_iteration(&inst, sum);
		tst_kvm_cleanup_instance(&inst);
	}
	return tst_kvm_verdict(sum, NULL);
}

/* ---- LTP's default setup/run/cleanup: one VM, the payload's main() ---- */

struct tst_kvm_summary tst_kvm_results;
static struct tst_kvm_instance test_vm;

void tst_kvm_setup(void)
{
	memset(&test_vm, 0, sizeof(test_vm));
	tst_kvm_create_instance(&test_vm, DEFAULT_RAM_SIZE);
}

void tst_kvm_run(void)
{
	tst_kvm_run_instance(&test_vm);
	/* A VM cannot be reset: the next iteration (-i N) gets a fresh one. */
	tst_kvm_destroy_instance(&test_vm);
	tst_free_all();
	tst_kvm_create_instance(&test_vm, DEFAULT_RAM_SIZE);
}

void tst_kvm_cleanup(void)
{
	if (test_vm.vm)
		tst_kvm_destroy_instance(&test_vm);
	tst_free_all();
}

int tst_kvm_verdict(const struct tst_kvm_summary *sum, const char **reason)
{
	static __thread char buf[600];
	const unsigned int *c = sum->counts;
	const char *why;
	int v;

	if (c[1] || c[2] || c[3]) {		/* TFAIL, TBROK, TWARN */
		snprintf(buf, sizeof(buf), "%s%s", c[2] ? "BROKEN: " : "", sum->first_problem);
		why = buf;
		v = 1;
	} else if (c[5]) {			/* TCONF */
		why = sum->tconf;
		v = 4;
	} else if (c[0]) {
		why = "";
		v = 0;
	} else {
		why = "the guest reported no result";
		v = 1;
	}
	if (reason)
		*reason = why;
	return v;
}

int tst_kvm_parse_iterations(const char *argv0, const char *val)
{
	unsigned long it;
	char *end;

	errno = 0;
	it = strtoul(val, &end, 0);
	if (errno || !*val || *end || it < 1 || it > 100000) {
		fprintf(stderr, "%s: -i wants an iteration count 1-100000, got '%s'\n", argv0, val);
		return 1;
	}
	tst_kvm_iterations = it;
	return 0;
}

static void tst_kvm_usage(const char *argv0)
{
	printf("Usage: %s [-i N] [kselftest harness options]\n"
	       "  -i N   run each guest N times (1-100000), a fresh VM each time\n"
	       "Harness options:\n", argv0);
}

int tst_kvm_main(int argc, char **argv, int (*harness_run)(int, char **))
{
	/* On the stack: the harness may exit() with it in use (LeakSanitizer). */
	char *rest[argc + 1];
	int n = 0;

	/* Take "-i N" / "-iN" out; everything else is the harness's. */
	for (int i = 0; i < argc; i++) {
		const char *val = NULL;

		if (i && !strcmp(argv[i], "-i")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: -i needs a count (see -h)\n", argv[0]);
				return 1;
			}
			val = argv[++i];
		} else if (i && !strncmp(argv[i], "-i", 2)) {
			val = argv[i] + 2;
		} else {
			if (i && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")))
				tst_kvm_usage(argv[0]);
			rest[n++] = argv[i];
			continue;
		}
		if (tst_kvm_parse_iterations(argv[0], val))
			return 1;
	}
	rest[n] = NULL;
	return harness_run(n, rest);
}
