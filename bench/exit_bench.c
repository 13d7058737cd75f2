// SPDX-License-Identifier: GPL-2.0-only
/*
 * exit_bench: what the suite's plumbing costs, against the bare exit it
 * rides on.  Prints medians; it asserts nothing about timing.
 *
 *  raw PIO exit     guest loop of one OUT, host loop of bare KVM_RUN ioctls
 *  ucall            GUEST_SYNC in the guest, vcpu_run() + get_ucall() on the host
 *  VM lifecycle     create VM + vCPU + load ELF + run to the first ucall + destroy
 */
#include <getopt.h>

#include "guest.h"
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

/* Per-iteration cost in ns of `batch` iterations, median of `rounds`. */
static uint64_t bench_raw(unsigned int batch, unsigned int rounds)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, raw_guest);
	uint64_t t[rounds];

	for (unsigned int r = 0; r < rounds; r++) {
		uint64_t start = now_ns();

		for (unsigned int i = 0; i < batch; i++) {
			TEST_ASSERT(!ioctl(vcpu->fd, KVM_RUN, NULL), "KVM_RUN");
			TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO &&
				    vcpu->run->io.port == RAW_PORT, "unexpected exit");
		}
		t[r] = (now_ns() - start) / batch;
	}
	kvm_vm_free(vm);
	return median(t, rounds);
}

static uint64_t bench_ucall(unsigned int batch, unsigned int rounds)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, ucall_guest);
	uint64_t t[rounds], expect = 0;
	struct ucall uc;

	for (unsigned int r = 0; r < rounds; r++) {
		uint64_t start = now_ns();

		for (unsigned int i = 0; i < batch; i++, expect++) {
			vcpu_run(vcpu);
			TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC && uc.args[0] == expect,
				    "expected GUEST_SYNC(%lu)", expect);
		}
		t[r] = (now_ns() - start) / batch;
	}
	kvm_vm_free(vm);
	return median(t, rounds);
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
	uint64_t raw, uc, life;
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
	raw = bench_raw(batch, rounds);
	uc = bench_ucall(batch, rounds);
	life = bench_lifecycle(lifecycles);
	printf("raw PIO exit round trip:   %6lu ns (median of %u x %u)\n", raw, rounds, batch);
	printf("ucall round trip:          %6lu ns (median of %u x %u)\n", uc, rounds, batch);
	printf("ucall / raw:               %3lu.%02lu (target <= 1.10)\n",
	       uc * 100 / raw / 100, uc * 100 / raw % 100);
	printf("VM lifecycle:              %6lu us (median of %u; target <= 1000 us)\n",
	       life / 1000, lifecycles);
	return 0;
}
