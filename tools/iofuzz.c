// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: fuzz KVM's in-kernel devices (PIC, PIT, ELCR, LAPIC, IOAPIC,
 * MSRs) and the userspace-exit path from inside the guest, with the classic
 * iofuzz's phases (read all, write 0, fuzz_count x size random writes) plus
 * a mixed phase, hang/triple-fault restart, a supervising parent, exact
 * replay and a minimizer.  The library is lib/iofuzz/; its bounded
 * self-check is x86_64/iofuzz_test.  Results are TAP, one per device range
 * fuzzed, the host kernel log and the VMM's survival.
 */
#include <getopt.h>
#include <unistd.h>

#include "iofuzz.h"
#include "kmsg.h"
#include "kselftest.h"
#include "kvm_util.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [options]\n"
		"Fuzzes KVM's device emulation from inside a guest; without options every\n"
		"device of -m all, with a random seed.  The self-check is x86_64/iofuzz_test.\n"
		"  -c COUNT   fuzz phase: COUNT random writes per unit of each range (default 1)\n"
		"  -x LIST    skip devices, by name or range, comma-separated; a range\n"
		"             is [port:|mmio:|msr:]lo[-hi], port space unless it says\n"
		"             otherwise (-x 0x10-0x20 skips those ports, not MSRs 0x10-0x20;\n"
		"             msr:0x10-0x20 the MSRs); at most %lu distinct ranges, -x may repeat\n"
		"  -s SEED    seed (default: random, printed); same seed = same ops\n"
		"  -t SEC     time budget in seconds (default none)\n"
		"  -n OPS     stop after OPS ops (default: the whole plan)\n"
		"  -d LIST    only these devices; 'full' is every port 0-0xffff except\n"
		"             the suite's ucall port %#x, which is never fuzzed\n"
		"  -m MODE    ports, mmio, msr or all (default all)\n"
		"  -v         verbose: dump vCPU state at every restart, list the ports\n"
		"             with the most exits to userspace\n"
		"  -G         the guest generates each op itself with the shared PRNG\n"
		"             (default: the host compiles the same ops to guest code,\n"
		"             ~10x faster on kvm_pvm)\n"
		"  -r FILE    replay the ops listed in FILE (a reproducer)\n"
		"  -o FILE    on a failure, minimize it and write the reproducer to FILE\n"
		"  -O         no read oracle: do not check the values the guest reads from\n"
		"             the PICs, the ELCR, the I/O APIC, the PIT and the local APIC\n"
		"             against a model of them (nor KVM_GET_IRQCHIP, KVM_GET_PIT2 and\n"
		"             KVM_GET_LAPIC after each chunk);\n"
		"             crashes and hangs only;\n"
		"             -G implies it\n"
		"  -M N       migration oracle: after every N ops (1-%u) move the VM into a\n"
		"             new one as a VMM migrates it (vCPU, PICs, I/O APIC, PIT,\n"
		"             memory) and go on there; the read oracle must still hold\n"
		"  -p N[:S]   spread the ops over N vCPUs (1-%u): runs of S ops (default\n"
		"             %u) each go to a vCPU drawn from the seed, one vCPU running at\n"
		"             a time, so the interleaving replays exactly; IPIs, EOIs and\n"
		"             the PICs, PIT and I/O APIC from every vCPU, each vCPU's local\n"
		"             APIC checked by the read oracle\n"
		"  -L FILE    log every read the oracle checks (op, vCPU, value, bits\n"
		"             checked, register) to FILE, headed by the platform's name\n"
		"  -C A,B     compare two such logs of the same seed and options (two\n"
		"             platforms): print every read whose checked bits differ, with\n"
		"             both values; exit 1 if any differ; needs no /dev/kvm\n"
		"  -F K:AT    test-only planted fault: K = triple (guest triple-faults),\n"
		"             hang (guest spins without exits), crash (host device model\n"
		"             crashes), oracle (the read oracle expects another value) at op AT\n"
		"  -h         this help\n"
		"Devices:", prog, (unsigned long)IOFUZZ_MAX_SKIP, UCALL_PIO_PORT,
		IOFUZZ_MIGRATE_MAX, IOFUZZ_MAX_VCPUS, IOFUZZ_SLICE);
	for (unsigned int i = 0; i < iofuzz_nr_devs; i++)
		fprintf(f, " %s", iofuzz_devs[i].name);
	fprintf(f, "\n");
}

static void __attribute__((noreturn)) bad(const char *prog, const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see -h)\n");
	exit(KSFT_FAIL);
}

struct options {
	struct iofuzz_cfg cfg;
	const char *out;	/* -o */
	const char *mode_arg;	/* -m as given */
	const char *log;	/* -L */
	char *cmp;		/* -C A,B */
};

/* -p N[:S] */
static void parse_vcpus(const char *prog, char *arg, struct iofuzz_cfg *cfg)
{
	char *colon = strchr(arg, ':');
	uint64_t n, s = IOFUZZ_SLICE;

	if (colon) {
		*colon = 0;
		if (!parse_u64(colon + 1, &s) || !s || s > IOFUZZ_MIGRATE_MAX)
			bad(prog, "-p N:S wants S (ops in a row on one vCPU) from 1 to 2048, "
			    "got '%s'", colon + 1);
	}
	if (!parse_u64(arg, &n) || !n || n > IOFUZZ_MAX_VCPUS)
		bad(prog, "-p wants a vCPU count from 1 to 8, got '%s'", arg);
	cfg->vcpus = n;
	cfg->slice = s;
}

/* -F KIND:OP */
static void parse_fault(const char *prog, char *arg, struct iofuzz_cfg *cfg)
{
	char *colon = strchr(arg, ':');

	if (!colon || !parse_u64(colon + 1, &cfg->fault_at))
		bad(prog, "-F wants KIND:OP, got '%s'", arg);
	*colon = 0;
	cfg->fault = iofuzz_fault_by_name(arg);
	if (!cfg->fault)
		bad(prog, "-F: unknown fault kind '%s' (triple, hang, crash, oracle)", arg);
}

/* -x: repeated options add up. */
static void add_skip(const char *prog, const char *arg, struct iofuzz_cfg *cfg)
{
	size_t used = strlen(cfg->skip);

	if (used + strlen(arg) + 2 > sizeof(cfg->skip))
		bad(prog, "-x lists longer than the %s-byte limit", "1023");
	snprintf(cfg->skip + used, sizeof(cfg->skip) - used, "%s%s", used ? "," : "", arg);
}

/* One option with its argument; exits on a bad one. */
static void parse_opt(const char *prog, int opt, char *arg, struct options *o)
{
	struct iofuzz_cfg *cfg = &o->cfg;
	uint64_t v;

	switch (opt) {
	case 'c':
		if (!parse_u64(arg, &cfg->fuzz_count) || cfg->fuzz_count > 1000)
			bad(prog, "-c wants a count 0-1000, got '%s'", arg);
		break;
	case 'x':
		add_skip(prog, arg, cfg);
		break;
	case 's':
		if (!parse_u64(arg, &cfg->seed))
			bad(prog, "-s wants a number, got '%s'", arg);
		break;
	case 't':
		if (!parse_u64(arg, &v) || !v || v > 86400)
			bad(prog, "-t wants seconds 1-86400, got '%s'", arg);
		cfg->time_ms = v * 1000;
		break;
	case 'n':
		if (!parse_u64(arg, &cfg->max_ops) || !cfg->max_ops)
			bad(prog, "-n wants a positive op count, got '%s'", arg);
		/* A long run by count: let the mixed phase fill it. */
		cfg->mixed_ops = cfg->max_ops;
		break;
	case 'd':
		snprintf(cfg->devices, sizeof(cfg->devices), "%s", arg);
		break;
	case 'm':
		if (!iofuzz_parse_mode(arg, &cfg->mode))
			bad(prog, "-m wants ports, mmio, msr or all, got '%s'", arg);
		o->mode_arg = arg;
		break;
	case 'v':
		cfg->verbose++;
		break;
	case 'G':
		cfg->guest_gen = true;
		break;
	case 'O':
		cfg->no_oracle = true;
		break;
	case 'M':
		if (!parse_u64(arg, &v) || !v || v > IOFUZZ_MIGRATE_MAX)
			bad(prog, "-M wants an op count from 1 to 2048, got '%s'", arg);
		cfg->migrate = v;
		break;
	case 'p':
		parse_vcpus(prog, arg, cfg);
		break;
	case 'r':
		cfg->replay = arg;
		break;
	case 'L':
		o->log = arg;
		break;
	case 'C':
		if (!strchr(arg, ','))
			bad(prog, "-C wants two logs, A,B, got '%s'", arg);
		o->cmp = arg;
		break;
	case 'o':
		o->out = arg;
		break;
	case 'F':
		parse_fault(prog, arg, cfg);
		break;
	case 'h':
		usage(stdout, prog);
		exit(KSFT_PASS);
	default:
		usage(stderr, prog);
		exit(KSFT_FAIL);
	}
}

/* What the options say together: the lists name known devices, -d agrees with -m. */
static void check_options(const char *prog, const struct options *o)
{
	const struct iofuzz_cfg *cfg = &o->cfg;
	char err[512];

	if (!iofuzz_check_lists(cfg, err, sizeof(err)))
		bad(prog, "%s", err);
	if (cfg->migrate && cfg->guest_gen)
		bad(prog, "%s", "-M moves the VM between chunks of the compiled stream: not with -G");
	if (cfg->vcpus > 1 && cfg->guest_gen)
		bad(prog, "%s", "-p takes turns between chunks of the compiled stream: not with -G");
	/* -d names the devices, so -m could only contradict it: refuse a conflict. */
	if (!o->mode_arg || !cfg->devices[0])
		return;
	for (unsigned int d = 0; d < iofuzz_nr_devs; d++) {
		if (!iofuzz_name_in_list(cfg->devices, iofuzz_devs[d].name) ||
		    (iofuzz_devs[d].mode & cfg->mode))
			continue;
		snprintf(err, sizeof(err), "-d %s is not in -m %s", iofuzz_devs[d].name,
			 o->mode_arg);
		bad(prog, "%s", err);
	}
}

/*
 * One result per device range: FAIL when the finding is blamed on it; a
 * device the read oracle models needs its reads checked (iofuzz_dev_result()).
 */
static void report_devices(const struct iofuzz_state *st)
{
	char name[64], why[600];

	if (st->oracle)
		ksft_print_msg("read oracle: %lu reads checked, %lu KVM_GET_IRQCHIP round trips, "
			       "%lu ns/op of host time over %lu ops\n", st->oracle_reads,
			       st->oracle_trips, st->oracle_ops ? st->oracle_ns / st->oracle_ops : 0,
			       st->oracle_ops);
	if (st->plan.migrate)
		ksft_print_msg("migration oracle: %lu moves into a new VM, one every %u ops\n",
			       st->migrations, st->plan.migrate);
	if (st->plan.vcpus > 1) {
		char ops[128] = "";

		for (unsigned int i = 0, n = 0; i < st->plan.vcpus && n < sizeof(ops); i++)
			n += snprintf(ops + n, sizeof(ops) - n, "%s%lu", i ? "/" : "", st->cpu_ops[i]);
		ksft_print_msg("%u vCPUs: %lu turns, ops per vCPU %s\n", st->plan.vcpus, st->turns,
			       ops);
	}
	for (uint32_t i = 0; i < st->plan.nr_ranges; i++) {
		unsigned int id = st->plan.ranges[i].id;
		int code;

		/* A replayed list names every device; report the ones it touched. */
		if (st->plan.nr_list && !st->stats[id].ops)
			continue;
		code = iofuzz_dev_result(st, id, why, sizeof(why));
		snprintf(name, sizeof(name), "fuzz.%s", iofuzz_devs[id].name);
		ksft_test_result_code(code, name, why[0] ? "%s" : NULL, why);
	}
}

/* -L: the log's header; the VMM child writes the reads (the parent has flushed). */
static void open_read_log(const char *prog, const char *path, const struct iofuzz_cfg *cfg)
{
	FILE *f = fopen(path, "w");

	if (!f)
		bad(prog, "-L: cannot write '%s'", path);
	fprintf(f, "# platform %s seed %#lx\n", kvm_platform_name(), cfg->seed);
	fflush(f);
	iofuzz_oracle_log(f);
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct iofuzz_cfg *cfg = &o.cfg;
	struct iofuzz_state *st;
	char err[512];
	int opt, end, kmsg;

	iofuzz_cfg_defaults(cfg);
	cfg->seed = iofuzz_random_seed();
	while ((opt = getopt(argc, argv, "c:x:s:t:n:d:m:vGOM:p:r:o:L:C:F:h")) != -1)
		parse_opt(argv[0], opt, optarg, &o);
	if (optind < argc)
		bad(argv[0], "unexpected argument '%s'", argv[optind]);
	check_options(argv[0], &o);
	if (o.cmp) {
		char *b = strchr(o.cmp, ',');
		long n;

		*b++ = 0;
		n = iofuzz_readlog_compare(o.cmp, b, err, sizeof(err));
		if (n < 0)
			bad(argv[0], "%s", err);
		exit(n ? KSFT_FAIL : KSFT_PASS);
	}

	kvm_dev_fd();	/* no /dev/kvm: SKIP, not a failed VMM child */
	st = iofuzz_state_alloc();
	if (cfg->replay) {
		cfg->seed = 0;	/* an explicit list has no seed */
		if (!iofuzz_load_ops(cfg->replay, cfg, st, err, sizeof(err)))
			bad(argv[0], "%s", err);
		cfg->fault = IOF_FAULT_NONE;	/* planted by the file, by content */
		ksft_print_header();
		ksft_print_msg("replaying %lu ops from %s\n", st->plan.total, cfg->replay);
	} else {
		ksft_print_header();
		ksft_print_msg("iofuzz seed %#lx (replay with -s %#lx)\n", cfg->seed, cfg->seed);
		iofuzz_build_plan(cfg, st);
	}
	kmsg = kmsg_open();
	if (kmsg < 0)
		ksft_print_msg("/dev/kmsg not readable (%s): the host-log check is skipped\n",
			       strerror(errno));
	if (o.log)
		open_read_log(argv[0], o.log, cfg);
	end = iofuzz_supervise(cfg, st);
	if (o.log)
		iofuzz_oracle_log(NULL);	/* the minimizer's trials log nothing */
	iofuzz_print_table(st);
	if (cfg->verbose)
		iofuzz_print_ports(st, 10);
	report_devices(st);
	if (kmsg < 0)
		ksft_test_result_code(KSFT_SKIP, "host_kernel_log_clean",
				      "/dev/kmsg is not readable by this user");
	else
		ksft_test_result(!iofuzz_kmsg_report(kmsg), "host_kernel_log_clean\n");
	ksft_test_result(end != IOF_END_CRASH, "vmm_alive\n");
	if (end == IOF_END_OK && st->restarts)
		st->cur = st->restart_at[0];
	if (o.out && !cfg->replay && (end == IOF_END_CRASH || end == IOF_END_FINDING ||
				      st->restarts))
		iofuzz_minimize(cfg, st, end == IOF_END_CRASH || end == IOF_END_FINDING ?
				end : IOF_END_OK, 1, o.out);
	/* The plan comes last: a replay reports only the devices it touched. */
	ksft_set_plan(ksft_test_num());
	ksft_finished();
}
