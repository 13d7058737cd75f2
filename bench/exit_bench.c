// SPDX-License-Identifier: GPL-2.0-only
/*
 * exit_bench: what the suite's plumbing costs, against the bare exit it
 * rides on.  Prints medians; it asserts nothing about timing.
 *
 *  raw PIO exit     guest loop of one OUT, host loop of bare KVM_RUN ioctls
 *  ucall            GUEST_SYNC in the guest, vcpu_run() + get_ucall() on the host
 *  VM lifecycle     create VM + vCPU + load ELF + run to the first ucall + destroy
 *  bare lifecycle   the same with raw ioctls and a one-HLT real-mode guest: the floor
 */
#include <fcntl.h>
#include <getopt.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest/guest.h"
#include "kvm_util.h"

#define RAW_PORT 0x2000

static void raw_guest(void)
{
	for (;;)
		asm volatile("outl %%eax, %%dx" :: "a"(0), "d"(RAW_PORT));
}

static void ucall_guest(void)
{
	for (uint64_t i = 0;; i++)
		GUEST_SYNC(i);
}

static void first_ucall_guest(void)
{
	GUEST_SYNC(0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static uint64_t time_raw_batch(struct kvm_vcpu *vcpu, unsigned int batch)
{
	uint64_t start = now_ns();

	for (unsigned int i = 0; i < batch; i++) {
		TEST_ASSERT(!ioctl(vcpu->fd, KVM_RUN, NULL), "KVM_RUN");
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO &&
			    vcpu->run->io.port == RAW_PORT, "unexpected exit");
	}
	return (now_ns() - start) / batch;
}

static uint64_t time_ucall_batch(struct kvm_vcpu *vcpu, unsigned int batch, uint64_t *expect)
{
	uint64_t start = now_ns();
	struct ucall uc;

	for (unsigned int i = 0; i < batch; i++, (*expect)++) {
		vcpu_run(vcpu);
		TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC && uc.args[0] == *expect,
			    "expected GUEST_SYNC(%lu)", *expect);
	}
	return (now_ns() - start) / batch;
}

/*
 * Raw and ucall batches alternate so that drift in the machine's speed
 * affects both medians alike.
 */
static void bench_exits(unsigned int batch, unsigned int rounds, uint64_t *raw, uint64_t *uc)
{
	struct kvm_vcpu *raw_vcpu, *uc_vcpu;
	struct kvm_vm *raw_vm = vm_create_with_one_vcpu(&raw_vcpu, raw_guest);
	struct kvm_vm *uc_vm = vm_create_with_one_vcpu(&uc_vcpu, ucall_guest);
	uint64_t t_raw[rounds], t_uc[rounds], expect = 0;

	/* The bare exit carries no register state; the library's vCPUs do. */
	raw_vcpu->run->kvm_valid_regs = 0;
	time_raw_batch(raw_vcpu, batch / 10 + 1);	/* warm up both */
	time_ucall_batch(uc_vcpu, batch / 10 + 1, &expect);
	for (unsigned int r = 0; r < rounds; r++) {
		t_raw[r] = time_raw_batch(raw_vcpu, batch);
		t_uc[r] = time_ucall_batch(uc_vcpu, batch, &expect);
	}
	*raw = median(t_raw, rounds);
	*uc = median(t_uc, rounds);
	kvm_vm_free(raw_vm);
	kvm_vm_free(uc_vm);
}

/* The floor: the same lifecycle in bare ioctls, no library, no guest code. */
static uint64_t bench_bare_lifecycle(unsigned int count)
{
	static const uint8_t hlt = 0xf4;
	uint64_t t[count];
	int kvm_fd = kvm_open_dev(O_RDWR | O_CLOEXEC);
	int run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);

	for (unsigned int i = 0; i < count; i++) {
		uint64_t start = now_ns();
		int vm = ioctl(kvm_fd, KVM_CREATE_VM, 0), vcpu;
		void *mem = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct kvm_userspace_memory_region r = {
			.slot = 0, .guest_phys_addr = 0, .memory_size = PAGE_SIZE,
			.userspace_addr = (uint64_t)(uintptr_t)mem,
		};
		struct kvm_sregs sregs;
		struct kvm_regs regs = { .rip = 0, .rflags = 2 };
		struct kvm_run *run;

		TEST_ASSERT(vm >= 0 && mem != MAP_FAILED, "bare VM");
		memcpy(mem, &hlt, 1);
		TEST_ASSERT(!ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r), "bare memslot");
		vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
		run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
		TEST_ASSERT(vcpu >= 0 && run != MAP_FAILED, "bare vCPU");
		/* Real mode at 0:0, one HLT. */
		TEST_ASSERT(!ioctl(vcpu, KVM_GET_SREGS, &sregs), "bare sregs");
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		TEST_ASSERT(!ioctl(vcpu, KVM_SET_SREGS, &sregs), "bare sregs");
		TEST_ASSERT(!ioctl(vcpu, KVM_SET_REGS, &regs), "bare regs");
		TEST_ASSERT(!ioctl(vcpu, KVM_RUN, NULL) && run->exit_reason == KVM_EXIT_HLT,
			    "bare run: exit %u", run->exit_reason);
		munmap(run, run_size);
		close(vcpu);
		close(vm);
		munmap(mem, PAGE_SIZE);
		t[i] = now_ns() - start;
	}
	close(kvm_fd);
	return median(t, count);
}

static uint64_t bench_lifecycle(unsigned int count)
{
	uint64_t t[count];
	struct ucall uc;

	for (unsigned int i = 0; i < count; i++) {
		uint64_t start = now_ns();
		struct kvm_vcpu *vcpu;
		struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, first_ucall_guest);

		vcpu_run(vcpu);
		TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC, "expected the first GUEST_SYNC");
		kvm_vm_free(vm);
		t[i] = now_ns() - start;
	}
	return median(t, count);
}

static void usage(const char *argv0)
{
	printf("Usage: %s [-b BATCH] [-r ROUNDS] [-l LIFECYCLES]\n"
	       "  -b BATCH       exits per timed batch (default 20000)\n"
	       "  -r ROUNDS      timed batches; the median is printed (default 15)\n"
	       "  -l LIFECYCLES  VM lifecycles to time (default 300)\n"
	       "  -h             this help\n", argv0);
}

static unsigned int parse_count(const char *opt, const char *arg, unsigned int max)
{
	uint64_t v;

	if (!parse_u64(arg, &v) || v == 0 || v > max) {
		fprintf(stderr, "exit_bench: invalid %s value '%s' (1..%u)\n", opt, arg, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned int batch = 20000, rounds = 15, lifecycles = 300;
	uint64_t raw, uc, life, bare;
	int opt;

	while ((opt = getopt(argc, argv, "b:r:l:h")) != -1) {
		switch (opt) {
		case 'b': batch = parse_count("-b", optarg, 10000000); break;
		case 'r': rounds = parse_count("-r", optarg, 1000); break;
		case 'l': lifecycles = parse_count("-l", optarg, 100000); break;
		case 'h': usage(argv[0]); return 0;
		default: usage(argv[0]); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "exit_bench: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}

	printf("platform: %s\n", kvm_platform_name());
	bench_exits(batch, rounds, &raw, &uc);
	life = bench_lifecycle(lifecycles);
	bare = bench_bare_lifecycle(lifecycles);
	printf("raw PIO exit round trip:   %6lu ns (median of %u x %u)\n", raw, rounds, batch);
	printf("ucall round trip:          %6lu ns (median of %u x %u)\n", uc, rounds, batch);
	printf("ucall / raw:               %3lu.%02lu (target <= 1.10)\n",
	       uc * 100 / raw / 100, uc * 100 / raw % 100);
	printf("VM lifecycle:              %6lu us (median of %u; target <= 1000 us)\n",
	       life / 1000, lifecycles);
	printf("bare-ioctl lifecycle floor: %5lu us (create VM, 4 KiB slot, vCPU, one HLT, "
	       "destroy)\n", bare / 1000);
	printf("lifecycle / floor:         %3lu.%02lu\n", life * 100 / bare / 100,
	       life * 100 / bare % 100);
	return 0;
}
