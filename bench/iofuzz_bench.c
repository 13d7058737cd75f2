// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz_bench: fuzzer throughput against the raw cost of the access it
 * makes, both measured in the same run.  Prints figures, asserts nothing
 * about time.
 *
 *  raw userspace exit   guest loop of OUT to a port nobody handles, bare KVM_RUN loop
 *  raw in-kernel port   guest loop of OUTs (unrolled x16) of one value to the PIT2
 *                       dummy speaker (0x61): no exits
 *  raw in-kernel, vals  the minimal loop that writes varying values: x16 of
 *                       "mov $imm,%eax; out %al,$0x61", distinct immediates, which is
 *                       the shape of one compiled fuzz op
 *  executor, userspace  the fuzzer's executor on byte OUTs of random values to the
 *                       device-model ports: one exit each, comparable to the raw exit
 *  executor, in-kernel  the same on port 0x61 (no exits), against both raw in-kernel
 *                       loops: random values cost a MOV each (as in the second raw
 *                       loop), the write-0 phase does not (as in the first)
 *  (every measurement leaves out its first pass: the raw loops run once untimed,
 *  the fuzzer's first chunk of compiled ops is not timed; both touch their code
 *  and data pages there)
 *  fuzz userspace       generated iofuzz ops (all sizes, string forms) on the
 *                       device-model ports (cmos, port80, com1, pci_conf)
 *  fuzz in-kernel       generated ops on PIC, PIT, speaker, ELCR (accesses that
 *                       straddle a device's last port exit to userspace)
 *  read oracle          generated ops on the devices the read oracle models (PICs,
 *                       ELCR, I/O APIC), with and without it (-O): its cost per op,
 *                       model and KVM_GET_IRQCHIP round trips included
 *  (fuzzer times are inside the KVM_RUN loop, VM creation excluded: it is a
 *  fixed ~10 ms per VM with the in-kernel irqchip and PIT)
 *  process spawn        one process spawn per access: the floor of a fuzzer
 *                       that runs one command (e.g. ssh + dd) per access
 */
#include <getopt.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest/guest.h"
#include "iofuzz.h"
#include "kvm_util.h"

#define RAW_PORT	0x2000
#define ROUNDS		5

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

static void raw_user_guest(void)
{
	for (;;)
		asm volatile("outl %%eax, %%dx" :: "a"(0), "d"(RAW_PORT));
}

static void raw_kernel_guest(uint64_t n)
{
	for (;;) {
		/* Unrolled: the loop's own instructions cost ~0.6 us each on kvm_pvm. */
		for (uint64_t i = 0; i < n; i += 16)
			asm volatile(".rept 16\n\toutb %%al, %%dx\n\t.endr" :: "a"(0), "d"(0x61));
		GUEST_SYNC(n);
	}
}

/* The same op shape as the executor's random-value OUTs: a MOV of a new value, an OUT. */
static void raw_kernel_vals_guest(uint64_t n)
{
	for (;;) {
		for (uint64_t i = 0; i < n; i += 16)
			asm volatile(".set iofz_v, 0x5a\n\t"
				     ".rept 16\n\t"
				     "mov $iofz_v, %%eax\n\t"
				     "out %%al, $0x61\n\t"
				     ".set iofz_v, (iofz_v * 37 + 11) & 0xff\n\t"
				     ".endr" ::: "eax");
		GUEST_SYNC(n);
	}
}

static uint64_t raw_user_ps(unsigned int n)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, raw_user_guest);
	uint64_t t0;

	for (unsigned int i = 0; i < n / 10 + 1; i++)
		vcpu_run(vcpu);
	t0 = now_ns();
	for (unsigned int i = 0; i < n; i++) {
		vcpu_run(vcpu);
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO && vcpu->run->io.port == RAW_PORT,
			    "unexpected exit");
	}
	t0 = now_ns() - t0;
	kvm_vm_free(vm);
	return t0 * 1000 / n;
}

static uint64_t raw_kernel_ps(unsigned int n, bool vals)
{
	struct vm_opts opts = { .irqchip = true };
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_vm *vm = vm_create_opts(&opts);
	struct kvm_vcpu *vcpu;
	uint64_t t0;

	vm_ioctl(vm, KVM_CREATE_PIT2, &pit);
	vcpu = vm_vcpu_add(vm, 0, vals ? raw_kernel_vals_guest : raw_kernel_guest);
	vcpu_args_set(vcpu, 1, (uint64_t)n);
	vcpu_run_expect_sync(vcpu, n);		/* warm up */
	t0 = now_ns();
	vcpu_run_expect_sync(vcpu, n);
	t0 = now_ns() - t0;
	kvm_vm_free(vm);
	return t0 * 1000 / n;
}

/*
 * ps per op of the compiled stream after its first chunk (the warm-up), up to
 * the last chunk's exit (chunk refills included, the end-of-run hash not).
 */
static uint64_t warm_ps(const struct iofuzz_state *st)
{
	TEST_ASSERT(st->timed_ops, "a run of %lu ops has no timed chunk after the first %lu",
		    st->done, st->warm_ops);
	return st->timed_ns * 1000 / st->timed_ops;
}

static uint64_t fuzz_ps_mode(const char *devices, uint32_t mode, bool no_oracle, uint64_t n,
			     uint64_t *exits)
{
	struct iofuzz_state *st = iofuzz_state_alloc();
	struct iofuzz_cfg cfg = {
		.seed = 1, .fuzz_count = 0, .mixed_ops = n, .mode = mode,
		.hang_ms = 2000, .no_oracle = no_oracle,
	};
	uint64_t ps;

	snprintf(cfg.devices, sizeof(cfg.devices), "%s", devices);
	iofuzz_build_plan(&cfg, st);
	iofuzz_run(&cfg, st);
	TEST_ASSERT(!st->findings && !st->restarts, "fuzz run of %s had findings or restarts",
		    devices);
	ps = warm_ps(st);
	*exits = 0;
	for (unsigned int d = 0; d < iofuzz_nr_devs; d++)
		*exits += st->stats[d].exits;
	munmap(st, sizeof(*st));
	return ps;
}

static uint64_t fuzz_ps(const char *devices, uint64_t n, uint64_t *exits)
{
	return fuzz_ps_mode(devices, IOFUZZ_MODE_PORTS, false, n, exits);
}

/* The executor alone: n byte OUTs of random values (or of 0) over the given ports. */
static uint64_t exec_ps(const uint16_t *ports, unsigned int nports, uint64_t n, bool zero,
			uint64_t *exits)
{
	struct iofuzz_state *st = iofuzz_state_alloc();
	struct iofuzz_cfg cfg = { .hang_ms = 2000 };
	struct iofuzz_op *ops = calloc(IOFUZZ_MAX_LIST, sizeof(*ops));
	uint64_t ps;

	TEST_ASSERT(ops, "out of memory");
	n = n < IOFUZZ_MAX_LIST ? n : IOFUZZ_MAX_LIST;
	for (uint64_t i = 0; i < n; i++)
		ops[i] = (struct iofuzz_op){ .type = IOF_OUT, .size = 1, .count = 1,
			.addr = ports[i % nports],
			.value = zero ? 0 : iofuzz_rand(1, i, 0) & 0xff };
	iofuzz_set_list(st, ops, n);
	iofuzz_run(&cfg, st);
	TEST_ASSERT(!st->findings && !st->restarts, "executor run had findings or restarts");
	ps = warm_ps(st);
	*exits = 0;
	for (unsigned int d = 0; d < iofuzz_nr_devs; d++)
		*exits += st->stats[d].exits;
	free(ops);
	munmap(st, sizeof(*st));
	return ps;
}

static uint64_t spawn_us(unsigned int n)
{
	uint64_t t0 = now_ns();

	for (unsigned int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (!pid) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		TEST_ASSERT(pid > 0, "fork");
		waitpid(pid, NULL, 0);
	}
	return (now_ns() - t0) / 1000 / n;
}

int main(int argc, char **argv)
{
	uint64_t n = 4096, ex_user, ex_kern, v;
	static const uint16_t user_ports[] = { 0x80, 0x70, 0x3ff, 0xcf8 };
	/* The raw in-kernel loop's port: the same device, so only the executor differs. */
	static const uint16_t pit_ports[] = { 0x61 };
	uint64_t ru, rk, rv, fu, fk, sp, eu, ek, ez, ex_eu, ex_ek, ex_ez, on, off, ex_o;
	static const char oracle_devs[] = "pic_master,pic_slave,elcr,ioapic";
	int opt;

	while ((opt = getopt(argc, argv, "n:h")) != -1) {
		switch (opt) {
		case 'n':
			/* The first 2048-op chunk is the warm-up: at least one more is timed. */
			if (!parse_u64(optarg, &v) || v < 4096 || v > 10000000 || v % 16) {
				fprintf(stderr,
					"%s: -n wants a multiple of 16, 4096-10000000, got '%s'\n",
					argv[0], optarg);
				return KSFT_FAIL;
			}
			n = v;
			break;
		case 'h':
			printf("Usage: %s [-n OPS]  (default 4096 per measurement, 5 rounds)\n",
			       argv[0]);
			return 0;
		default:
			fprintf(stderr, "Usage: %s [-n OPS]\n", argv[0]);
			return KSFT_FAIL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (see -h)\n", argv[0], argv[optind]);
		return KSFT_FAIL;
	}
	/* Raw and executor rounds alternate; medians of ROUNDS damp the machine's drift. */
	{
		uint64_t t_ru[ROUNDS], t_rk[ROUNDS], t_rv[ROUNDS], t_eu[ROUNDS], t_ek[ROUNDS];
		uint64_t t_ez[ROUNDS];

		for (int r = 0; r < ROUNDS; r++) {
			t_ru[r] = raw_user_ps(n);
			t_eu[r] = exec_ps(user_ports, ARRAY_SIZE(user_ports), n, false, &ex_eu);
			t_rk[r] = raw_kernel_ps(n, false);
			t_ek[r] = exec_ps(pit_ports, ARRAY_SIZE(pit_ports), n, false, &ex_ek);
			t_rv[r] = raw_kernel_ps(n, true);
			t_ez[r] = exec_ps(pit_ports, ARRAY_SIZE(pit_ports), n, true, &ex_ez);
		}
		ru = median(t_ru, ROUNDS);
		eu = median(t_eu, ROUNDS);
		rk = median(t_rk, ROUNDS);
		rv = median(t_rv, ROUNDS);
		ek = median(t_ek, ROUNDS);
		ez = median(t_ez, ROUNDS);
	}
	{
		uint64_t t_on[ROUNDS], t_off[ROUNDS];

		for (int r = 0; r < ROUNDS; r++) {
			t_on[r] = fuzz_ps_mode(oracle_devs, IOFUZZ_MODE_ALL, false, n, &ex_o);
			t_off[r] = fuzz_ps_mode(oracle_devs, IOFUZZ_MODE_ALL, true, n, &ex_o);
		}
		on = median(t_on, ROUNDS);
		off = median(t_off, ROUNDS);
	}
	fu = fuzz_ps("cmos,port80,com1,pci_conf", n, &ex_user);
	fk = fuzz_ps("pic_master,pit,speaker,pic_slave,elcr", n, &ex_kern);
	sp = spawn_us(50);

	/* Integer arithmetic only: this file holds guest code, built without SSE. */
	printf("raw userspace PIO exit:  %6lu.%02lu us/exit (%lu/s)\n", ru / 1000000,
	       ru / 10000 % 100, (unsigned long)(1000000000000ULL / ru));
	printf("raw in-kernel PIO:       %6lu.%02lu us/op   (%lu/s)  [A: x16 out %%al,%%dx of one "
	       "value]\n", rk / 1000000, rk / 10000 % 100, (unsigned long)(1000000000000ULL / rk));
	printf("raw in-kernel PIO, vals: %6lu.%02lu us/op   (%lu/s)  [B: x16 mov $imm,%%eax; "
	       "out %%al,$0x61]\n", rv / 1000000, rv / 10000 % 100,
	       (unsigned long)(1000000000000ULL / rv));
	printf("executor, userspace OUT: %6lu.%02lu us/op   (%lu/s, %lu exits for %lu ops)"
	       " = %lu%% of the raw exit rate\n", eu / 1000000, eu / 10000 % 100,
	       (unsigned long)(1000000000000ULL / eu), ex_eu,
	       n < IOFUZZ_MAX_LIST ? n : IOFUZZ_MAX_LIST, 100 * ru / eu);
	printf("executor, in-kernel OUT: %6lu.%02lu us/op   (%lu/s, %lu exits for %lu ops)"
	       " = %lu%% of raw A, %lu%% of raw B (random values: same shape as B)\n",
	       ek / 1000000, ek / 10000 % 100, (unsigned long)(1000000000000ULL / ek), ex_ek,
	       n < IOFUZZ_MAX_LIST ? n : IOFUZZ_MAX_LIST, 100 * rk / ek, 100 * rv / ek);
	printf("executor, in-kernel 0s:  %6lu.%02lu us/op   (%lu/s, %lu exits for %lu ops)"
	       " = %lu%% of raw A, %lu%% of raw B (write-0 phase: same shape as A)\n",
	       ez / 1000000, ez / 10000 % 100, (unsigned long)(1000000000000ULL / ez), ex_ez,
	       n < IOFUZZ_MAX_LIST ? n : IOFUZZ_MAX_LIST, 100 * rk / ez, 100 * rv / ez);
	printf("iofuzz userspace ports:  %6lu.%02lu us/op   (%lu/s, %lu exits for %lu ops)"
	       " = %lu%% of the raw exit rate\n", fu / 1000000, fu / 10000 % 100,
	       (unsigned long)(1000000000000ULL / fu), ex_user, n, 100 * ru / fu);
	printf("iofuzz in-kernel ports:  %6lu.%02lu us/op   (%lu/s, %lu exits for %lu ops)"
	       " = %lu%% of raw A\n", fk / 1000000, fk / 10000 % 100,
	       (unsigned long)(1000000000000ULL / fk), ex_kern, n, 100 * rk / fk);
	printf("read oracle on:          %6lu.%02lu us/op   (%s, %lu exits for %lu ops)\n",
	       on / 1000000, on / 10000 % 100, oracle_devs, ex_o, n);
	printf("read oracle off (-O):    %6lu.%02lu us/op   => oracle cost %ld ns/op (difference)\n",
	       off / 1000000, off / 10000 % 100, ((long)on - (long)off) / 1000);
	printf("one process spawn:       %6lu.%03lu ms (floor of one command per access)\n",
	       sp / 1000, sp % 1000);
	printf("speed-up vs one command per access: >= %lux (userspace ports), >= %lux (in-kernel)\n",
	       sp * 1000000 / fu, sp * 1000000 / fk);
	return 0;
}
