// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz_test: the bounded self-check of iofuzz (lib/iofuzz/; the fuzzer
 * itself is tools/iofuzz).  With fixed seeds it fuzzes every device once
 * (one result per device range), checks the VMM survived and its exit
 * counts add up, that every op on a userspace-exit port exited, that runs
 * are deterministic by op-log hash, that -x ranges are honoured, and that
 * the planted faults (triple fault, hang, VMM crash, oracle mismatch) are
 * detected at their op, minimized and replayed exactly.
 *
 * The read oracle (lib/iofuzz/oracle.c, from the Intel 8259A and 82093AA
 * datasheets and KVM's documented deviations) is checked first, on its own:
 * a fuzz of the PICs, the ELCR and the I/O APIC whose every read must match
 * the model, and KVM_GET_IRQCHIP after every chunk of ops; then a fuzz of the
 * 8254 PIT (Intel 8254 datasheet: control word, latch and read-back
 * commands, the LSB/MSB flip-flops) and port 0x61 without port 0x40, its
 * deterministic reads checked and KVM_GET_PIT2 after every chunk (the model
 * and KVM's deviations: lib/iofuzz/oracle.c); then a fuzz of the local
 * APIC's xAPIC page (SDM vol. 3A 11.4.6 ID, 11.4.8 version, 11.5.1 LVT,
 * 11.5.3 ESR, 11.5.4 timer initial count and divide configuration, 11.6.1
 * ICR, 11.6.2.2 LDR/DFR, 11.8.3.1 TPR/PPR, 11.9 SVR; the model:
 * lib/iofuzz/oracle_lapic.c) whose register reads and KVM_GET_LAPIC after
 * every chunk must match the model; then a fuzz of the MTRRs, PAT and the
 * machine-check banks (SDM vol. 3A 12.11.2 MTRRs, 12.12.2 PAT, vol. 3B
 * 16.3.1-16.3.2 MCG_CAP/STATUS/CTL and MCi_CTL/STATUS/ADDR/MISC/CTL2, vol. 4
 * table 2-2; the model and KVM's deviations: lib/iofuzz/oracle_msr.c) whose
 * every RDMSR/WRMSR must fault (#GP) exactly when the model says, whose
 * RDMSR values and KVM_GET_MSRS after every chunk must match it.  A finding there
 * is minimized and the reproducer printed.  Ideas: the classic iofuzz
 * (crash/hang detection); kvm-unit-tests x86/ioapic.c (the version
 * register, read-only redirection bits); the PIC and ELCR checks follow
 * the 8259A and PIIX4 datasheets (cited in lib/iofuzz/oracle.c), the
 * LAPIC's the SDM register by register (lib/iofuzz/oracle_lapic.c); the
 * MSR rules are kvm-unit-tests x86/msr.c's idea (write, read back, reserved
 * bits #GP) applied by a model to fuzzed values.
 *
 * Caught bugs: bugs/pic-ocw3-read-select.patch, bugs/pic-ocw3-isr-reads-irr.patch,
 * bugs/pic-elcr-fixed-bits-writable.patch, bugs/pic-icw1-keeps-imr.patch,
 * bugs/ioapic-redir-readonly-bits.patch, bugs/ioapic-remote-irr-writable.patch,
 * bugs/ioapic-ioregsel-not-8bit.patch, bugs/pit-status-rw-bits.patch,
 * bugs/pit-latch-overwrites-pending.patch, bugs/pit-mode-6-7-not-aliased.patch,
 * bugs/pit-word-read-flipflop-stuck.patch, bugs/pit-bcd-dropped.patch,
 * bugs/lapic-version-max-lvt-off-by-one.patch, bugs/lapic-dfr-model-bits-only.patch,
 * bugs/lapic-ldr-low-bits-kept.patch, bugs/lapic-tdcr-bit2-kept.patch,
 * bugs/lapic-icr-delivery-status-kept.patch,
 * bugs/msr-cpuid-pat-reserved-types-accepted.patch, bugs/msr-cpuid-mtrr-uc-minus-type.patch,
 * bugs/msr-cpuid-mtrr-physbase-bit11-kept.patch, bugs/mce-mci-ctl-check-on-addr.patch,
 * bugs/msr-cpuid-get-msrs-pat-reset-value.patch, bugs/lapic-allinc-self-only.patch,
 * bugs/lapic-allbut-includes-self.patch
 */
#include <getopt.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iofuzz.h"
#include "kmsg.h"
#include "kselftest.h"
#include "kvm_util.h"

/* ---- the results, and the tables they come from ---- */

/*
 * The self-check's results besides fuzz.<device> (one per device the default
 * fuzz covers: every device of iofuzz_devs[] that is not optional) and
 * fault.<fault>_<step> (suite_faults[] x fault_steps[]).  In the order they
 * are reported: the devices' first, these, the faults' last.  -l lists and
 * ksft_set_plan() counts from these same tables, and report() refuses a name
 * that is not in them.
 */
enum result {
	RES_VMM_ALIVE,
	RES_PORT_COUNTS,
	RES_HOST_LOG,
	RES_USERSPACE_PORTS,
	RES_SAME_SEED,
	RES_OTHER_SEED,
	RES_GUEST_GEN,
	RES_SKIP_RANGES,
	RES_SKIP_BARE,
	RES_SKIP_DEDUP,
	NR_RESULTS
};

static const char *const result_names[NR_RESULTS] = {
	[RES_VMM_ALIVE] = "fuzz.vmm_alive",
	[RES_PORT_COUNTS] = "fuzz.port_exit_counts_add_up",
	[RES_HOST_LOG] = "host_kernel_log_clean",
	[RES_USERSPACE_PORTS] = "fuzz.userspace_ports_every_op_exited",
	[RES_SAME_SEED] = "determinism.same_seed_same_oplog_hash",
	[RES_OTHER_SEED] = "determinism.other_seed_other_oplog_hash",
	[RES_GUEST_GEN] = "determinism.guest_generator_matches_host",
	[RES_SKIP_RANGES] = "skip.x_port_ranges_not_touched",
	[RES_SKIP_BARE] = "skip.bare_range_is_port_space_only",
	[RES_SKIP_DEDUP] = "skip.x_list_dedups_and_rejects_overflow",
};

/* The planted faults, at op AT of their run. */
static const struct suite_fault {
	uint32_t fault;
	const char *name;
	uint64_t at;
} suite_faults[] = {
	{ .fault = IOF_FAULT_TRIPLE, .name = "triple_fault", .at = 1500 },
	{ .fault = IOF_FAULT_HANG, .name = "hang", .at = 900 },
	{ .fault = IOF_FAULT_CRASH, .name = "vmm_crash", .at = 1200 },
	{ .fault = IOF_FAULT_ORACLE, .name = "oracle_mismatch", .at = 1000 },
};

enum fault_step { STEP_DETECTED, STEP_MINIMIZED, STEP_REPLAYS, NR_STEPS };

static const char *const fault_steps[NR_STEPS] = {
	[STEP_DETECTED] = "detected_at_op",
	[STEP_MINIMIZED] = "minimized",
	[STEP_REPLAYS] = "replays_exactly",
};

#define MAX_RESULTS	(ARRAY_SIZE(oracle_cases) + IOFUZZ_MAX_DEVS + NR_RESULTS + ARRAY_SIZE(suite_faults) * NR_STEPS)
#define NAME_MAX_LEN	64

/*
 * The read oracle on its own, one case per group of modelled devices, each
 * a fuzz count 4 and a mixed phase (8 chunks or more, so as many
 * KVM_GET_IRQCHIP/KVM_GET_PIT2 round trips at least).  Every read must match
 * the model; every device must have had at least IOFUZZ_ORACLE_MIN_READS of
 * them checked.  A finding is minimized and the reproducer printed (replay:
 * tools/iofuzz -r FILE).
 *
 * The migration cases add the migration oracle (tools/iofuzz -M): every
 * `migrate` ops the VM moves into a new one (vCPU, PICs, I/O APIC, PIT and
 * memory, lib/vcpu_state.c) and the reads after each move must still match
 * the model, which the move leaves alone (api.rst KVM_SET_IRQCHIP,
 * KVM_SET_PIT2: the state KVM_GET_* returns is the device's state).
 *
 * The vCPU cases spread the ops over several vCPUs (tools/iofuzz -p), one
 * vCPU at a time in seeded turns of IOFUZZ_SLICE ops: the devices shared by
 * all (PICs, ELCR, I/O APIC) must answer every vCPU alike, and each vCPU's
 * LAPIC is its own model, whose IRR follows the fixed IPIs every vCPU
 * sends (SDM vol. 3A 11.6.1-11.6.2: shorthands, physical and logical
 * destinations); every vCPU must have had its turns.
 *
 * The LAPIC case fuzzes the xAPIC page alone (no WRMSR to IA32_APIC_BASE
 * can switch the model off); it shares seed index 10 with a migration case
 * (other devices, so other ops), the seed its lane figures were taken with.
 *
 * The PIT cases leave out port 0x40: without a count written to counter 0
 * KVM arms no PIT timer, so no IRQ0 storm starves a slow single vCPU (see
 * suite_skip_pit_if_slow()) and the case runs in every lane.  Counter 0
 * still gets control words, latches and read-backs through 0x43.
 */
static const struct oracle_case {
	const char *result, *devices, *skip;
	unsigned int seed, mixed, migrate, vcpus;
	const char *devs[5];
} oracle_cases[] = {
	{ .result = "oracle.pic_elcr_ioapic_reads_match_model",
	  .devices = "pic_master,pic_slave,elcr,ioapic", .seed = 8, .mixed = 16384,
	  .devs = { "pic_master", "pic_slave", "elcr", "ioapic" } },
	{ .result = "oracle.pit_reads_match_model", .devices = "pit,speaker", .skip = "0x40",
	  .seed = 9, .mixed = 32768, .devs = { "pit", "speaker" } },
	{ .result = "migration.pic_elcr_ioapic_reads_hold_across_moves",
	  .devices = "pic_master,pic_slave,elcr,ioapic", .seed = 10, .mixed = 8192,
	  .migrate = 128, .devs = { "pic_master", "pic_slave", "elcr", "ioapic" } },
	{ .result = "migration.pit_reads_hold_across_moves", .devices = "pit,speaker",
	  .skip = "0x40", .seed = 11, .mixed = 8192, .migrate = 128,
	  .devs = { "pit", "speaker" } },
	{ .result = "oracle.lapic_reads_match_model", .devices = "lapic", .seed = 10,
	  .mixed = 16384, .devs = { "lapic" } },
	{ .result = "vcpus.lapic_ipis_reach_their_destinations", .devices = "lapic", .seed = 12,
	  .mixed = 16384, .vcpus = 4, .devs = { "lapic" } },
	{ .result = "vcpus.pic_elcr_ioapic_from_every_vcpu",
	  .devices = "pic_master,pic_slave,elcr,ioapic", .seed = 13, .mixed = 8192, .vcpus = 3,
	  .devs = { "pic_master", "pic_slave", "elcr", "ioapic" } },
	{ .result = "oracle.msr_reads_match_model", .devices = "msr_mtrr,msr_mce", .seed = 12,
	  .mixed = 16384, .devs = { "msr_mtrr", "msr_mce" } },
	{ .result = "migration.msr_reads_hold_across_moves", .devices = "msr_mtrr,msr_mce",
	  .seed = 13, .mixed = 8192, .migrate = 128, .devs = { "msr_mtrr", "msr_mce" } },
};

static char names[MAX_RESULTS][NAME_MAX_LEN];
static bool reported[MAX_RESULTS];
static unsigned int nr_names;

static void __attribute__((format(printf, 1, 2))) add_name(const char *fmt, ...)
{
	va_list ap;

	TEST_ASSERT(nr_names < MAX_RESULTS, "more than %lu results", (unsigned long)MAX_RESULTS);
	va_start(ap, fmt);
	vsnprintf(names[nr_names++], NAME_MAX_LEN, fmt, ap);
	va_end(ap);
}

/* Every result name, in the order the self-check reports them. */
static void build_names(void)
{
	for (unsigned int c = 0; c < ARRAY_SIZE(oracle_cases); c++)
		add_name("%s", oracle_cases[c].result);
	for (unsigned int d = 0; d < iofuzz_nr_devs; d++)
		if (!iofuzz_devs[d].optional)
			add_name("fuzz.%s", iofuzz_devs[d].name);
	for (unsigned int r = 0; r < NR_RESULTS; r++)
		add_name("%s", result_names[r]);
	for (unsigned int f = 0; f < ARRAY_SIZE(suite_faults); f++)
		for (unsigned int s = 0; s < NR_STEPS; s++)
			add_name("fault.%s_%s", suite_faults[f].name, fault_steps[s]);
}

/*
 * One result: KSFT_PASS, KSFT_FAIL or KSFT_SKIP (with why).  Each name of the
 * table exactly once; the plan's count catches one never reported.
 */
static void report(const char *name, int code, const char *why)
{
	unsigned int i;

	for (i = 0; i < nr_names && strcmp(names[i], name); i++)
		;
	TEST_ASSERT(i < nr_names, "result '%s' is in no table of the self-check", name);
	TEST_ASSERT(!reported[i], "result '%s' reported twice", name);
	reported[i] = true;
	ksft_test_result_code(code, name, why ? "%s" : NULL, why);
	fflush(stdout);
}

static void report_ok(enum result r, bool ok)
{
	report(result_names[r], ok ? KSFT_PASS : KSFT_FAIL, NULL);
}

static void report_dev(unsigned int dev, int code, const char *why)
{
	char name[NAME_MAX_LEN];

	snprintf(name, sizeof(name), "fuzz.%s", iofuzz_devs[dev].name);
	report(name, code, why);
}

static void report_fault(const struct suite_fault *f, enum fault_step s, int code,
			 const char *why)
{
	char name[NAME_MAX_LEN];

	snprintf(name, sizeof(name), "fault.%s_%s", f->name, fault_steps[s]);
	report(name, code, why);
}

/* ---- the checks ---- */

/*
 * One device range fails when a finding was attributed to it; one the read
 * oracle models passes only with enough of its reads checked
 * (iofuzz_dev_result()).
 */
static void report_devices(const struct iofuzz_state *st)
{
	char why[600];

	for (uint32_t i = 0; i < st->plan.nr_ranges; i++) {
		unsigned int id = st->plan.ranges[i].id;
		int code = iofuzz_dev_result(st, id, why, sizeof(why));

		report_dev(id, code, why[0] ? why : NULL);
	}
}

/*
 * The self-check is a test, so it must not flake: its seeds are fixed
 * (seed i is IOFUZZ_SUITE_SEED + i, default 0x5eed0000 + i).  Fuzzing for
 * new findings is the fuzzer's job (tools/iofuzz, a random seed by default), or
 * IOFUZZ_SUITE_RANDOM=1 to give the self-check fresh seeds.
 */
static uint64_t suite_seed(unsigned int i)
{
	const char *base = getenv("IOFUZZ_SUITE_SEED");

	if (getenv("IOFUZZ_SUITE_RANDOM"))
		return iofuzz_random_seed() + i;
	return (base ? strtoull(base, NULL, 0) : 0x5eed0000ULL) + i;
}

/*
 * Exits are counted twice by the VMM: per device, by the range of the op the
 * exit was put at (from its RIP), and per port, by the port the exit names.
 * The ports of each named device must add up to its count, and all ports to
 * all devices: every exit came from an op of its own device.
 */
static bool port_counts_add_up(const struct iofuzz_state *st)
{
	uint64_t ports = 0, devs = 0;
	bool ok = true;

	for (unsigned int d = 0; d < iofuzz_nr_devs; d++) {
		const struct iofuzz_range *r = &iofuzz_devs[d].r;
		uint64_t sum = 0;

		if (r->space != IOF_PORT)
			continue;
		devs += st->stats[d].exits;
		if (iofuzz_devs[d].optional)
			continue;
		for (uint64_t p = r->beg; p <= r->end; p++)
			sum += st->port_exits[p];
		if (sum != st->stats[d].exits) {
			ksft_print_msg("%s: %lu exits by device, %lu by its ports\n",
				       iofuzz_devs[d].name, st->stats[d].exits, sum);
			ok = false;
		}
	}
	for (uint32_t p = 0; p < 65536; p++)
		ports += st->port_exits[p];
	if (ports != devs || !ports)
		ksft_print_msg("%lu port exits by port, %lu by device\n", ports, devs);
	return ok && ports == devs && ports;
}

/*
 * On a slow platform (KVM_SUITE_TIMEOUT_SCALE > 1: the QEMU lane's one TCG
 * vCPU), a fuzzed PIT ticking at KVM's minimum period keeps that vCPU busy
 * injecting interrupts and starves this process, its time budget and
 * watchdog included (seen: the self-check still running after 20 minutes).
 * The self-check must end, so its fuzz runs leave the PIT out there;
 * `tools/iofuzz -d pit` still fuzzes it on purpose.
 */
static void suite_skip_pit_if_slow(struct iofuzz_cfg *cfg)
{
	if (kvm_timeout_scale() > 1)
		snprintf(cfg->skip, sizeof(cfg->skip), "pit");
}

static void suite_fuzz(int kmsg)
{
	struct iofuzz_state *st = iofuzz_state_alloc();
	struct iofuzz_cfg cfg;
	int end;

	iofuzz_cfg_defaults(&cfg);
	cfg.seed = suite_seed(0);
	cfg.time_ms = 20000;
	suite_skip_pit_if_slow(&cfg);
	ksft_print_msg("default fuzz: seed %#lx (replay with tools/iofuzz -s %#lx)\n", cfg.seed,
		       cfg.seed);
	iofuzz_build_plan(&cfg, st);
	end = iofuzz_supervise(&cfg, st);
	iofuzz_print_table(st);
	if (end == IOF_END_CRASH)
		ksft_print_msg("%s\n", st->finding);
	ksft_print_msg("read oracle: %lu reads checked, %lu KVM_GET_IRQCHIP round trips\n",
		       st->oracle_reads, st->oracle_trips);
	report_devices(st);
	if (kvm_timeout_scale() > 1)
		report_dev(iofuzz_dev_by_name("pit"), KSFT_SKIP, "left out with "
			   "KVM_SUITE_TIMEOUT_SCALE > 1: a fuzzed PIT starves a single slow vCPU");
	/* report_devices() blames findings; a dead VMM has none, so it gets its own result. */
	report_ok(RES_VMM_ALIVE, end != IOF_END_CRASH);
	report_ok(RES_PORT_COUNTS, end != IOF_END_CRASH && port_counts_add_up(st));
	if (kmsg < 0)
		report(result_names[RES_HOST_LOG], KSFT_SKIP,
		       "/dev/kmsg is not readable by this user");
	else
		report_ok(RES_HOST_LOG, !iofuzz_kmsg_report(kmsg));
	munmap(st, sizeof(*st));
}

/* Print a reproducer file to the TAP log, as comments. */
static void print_file(const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		ksft_print_msg("  %s", line);
	fclose(f);
}


/* Enough of dev's reads checked (the PIT's are not all checkable, so not a model's rule). */
static int oracle_dev_result(const struct iofuzz_state *st, int d, char *why, size_t len)
{
	int code = iofuzz_dev_result(st, d, why, len);

	if (code != KSFT_PASS || iofuzz_oracle_models(d))
		return code;
	if (st->stats[d].oracle_reads < IOFUZZ_ORACLE_MIN_READS) {
		snprintf(why, len, "the oracle checked %lu of its reads, fewer than %u",
			 st->stats[d].oracle_reads, IOFUZZ_ORACLE_MIN_READS);
		return KSFT_FAIL;
	}
	snprintf(why, len, "%lu ops, %lu reads checked by the oracle", st->stats[d].ops,
		 st->stats[d].oracle_reads);
	return KSFT_PASS;
}

static void suite_oracle(const struct oracle_case *c)
{
	struct iofuzz_state *st = iofuzz_state_alloc();
	char path[] = "/tmp/iofuzz_oracle_XXXXXX", why[600];
	uint64_t t0 = now_ns();
	struct iofuzz_cfg cfg;
	bool ok;
	int end, fd;

	iofuzz_cfg_defaults(&cfg);
	cfg.seed = suite_seed(c->seed);
	cfg.fuzz_count = 4;
	cfg.mixed_ops = c->mixed;
	cfg.time_ms = 60000;
	cfg.migrate = c->migrate;
	cfg.vcpus = c->vcpus;
	snprintf(cfg.devices, sizeof(cfg.devices), "%s", c->devices);
	if (c->skip)
		snprintf(cfg.skip, sizeof(cfg.skip), "%s", c->skip);
	ksft_print_msg("oracle fuzz: seed %#lx (tools/iofuzz -s %#lx -d %s%s%s -c 4 -n %u%s%.0u"
		       "%s%.0u)\n", cfg.seed, cfg.seed, cfg.devices, c->skip ? " -x " : "",
		       c->skip ? c->skip : "", c->mixed, c->migrate ? " -M " : "", c->migrate,
		       c->vcpus ? " -p " : "", c->vcpus);
	iofuzz_build_plan(&cfg, st);
	end = iofuzz_supervise(&cfg, st);
	ksft_print_msg("oracle fuzz: end %d after %lu ms, %lu ops, %lu reads checked, "
		       "%lu round trips, %lu restarts, %lu moves into a new VM\n", end,
		       (now_ns() - t0) / 1000000, st->done, st->oracle_reads, st->oracle_trips,
		       st->restarts, st->migrations);
	ok = end == IOF_END_OK && !st->findings && st->oracle_trips;
	/* Every move that the plan asks for (one per `migrate` ops but the last). */
	if (ok && c->migrate && st->migrations != (st->plan.total - 1) / c->migrate) {
		ksft_print_msg("  %lu moves, the plan's %lu ops ask for %lu\n", st->migrations,
			       st->plan.total, (st->plan.total - 1) / c->migrate);
		ok = false;
	}
	/* Every vCPU had turns (a schedule stuck on one vCPU tests nothing of the others). */
	for (unsigned int i = 0; i < c->vcpus; i++) {
		ksft_print_msg("  vCPU %u: %lu ops\n", i, st->cpu_ops[i]);
		ok = ok && st->cpu_ops[i];
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(c->devs) && c->devs[i]; i++) {
		int d = iofuzz_dev_by_name(c->devs[i]);
		int code = oracle_dev_result(st, d, why, sizeof(why));

		ksft_print_msg("  %s: %s\n", c->devs[i], why);
		ok = ok && code == KSFT_PASS;
	}
	if (end == IOF_END_FINDING) {
		ksft_print_msg("%s\n", st->finding);
		fd = mkstemp(path);
		TEST_ASSERT(fd >= 0, "mkstemp");
		close(fd);
		if (iofuzz_minimize(&cfg, st, IOF_END_FINDING, 1, path))
			print_file(path);
		unlink(path);
	}
	report(c->result, ok ? KSFT_PASS : KSFT_FAIL, NULL);
	munmap(st, sizeof(*st));
}

/* The four userspace-exit devices, fuzz count 2, a mixed phase of mixed ops. */
static void cfg_userspace_ports(struct iofuzz_cfg *cfg, unsigned int seed_index,
				unsigned int mixed)
{
	iofuzz_cfg_defaults(cfg);
	cfg->seed = suite_seed(seed_index);
	cfg->mode = IOFUZZ_MODE_PORTS;
	cfg->fuzz_count = 2;
	cfg->mixed_ops = mixed;
	snprintf(cfg->devices, sizeof(cfg->devices), "cmos,port80,com1,pci_conf");
}

/*
 * No KVM device answers cmos, port80, com1 or pci_conf (nor any port that an
 * access of up to 4 bytes there reaches), so every IN, OUT, INS and OUTS on
 * them must exit to userspace at least once: each device's in-kernel count
 * (ops - ops an exit was put at) is 0, with all four op kinds in the run.  An
 * exit put at a neighbouring op with the same port (e.g. two "in $0x71" in a
 * row) leaves its own op looking "in kernel".
 */
static void suite_userspace_ports(void)
{
	static const char *const devs[] = { "cmos", "port80", "com1", "pci_conf" };
	struct iofuzz_state *st = iofuzz_state_alloc();
	uint64_t kinds[IOF_NR_TYPES] = { 0 };
	struct iofuzz_cfg cfg;
	struct iofuzz_op op;
	bool ok;
	int end;

	cfg_userspace_ports(&cfg, 7, 3000);
	iofuzz_build_plan(&cfg, st);
	for (uint64_t i = 0; i < st->plan.total; i++) {
		iofuzz_gen_op(&st->plan, iofuzz_find_seg(&st->plan, i), st->plan.ranges, i, &op);
		kinds[op.type]++;
	}
	end = iofuzz_supervise(&cfg, st);
	ok = end == IOF_END_OK && !st->restarts && kinds[IOF_IN] && kinds[IOF_OUT] &&
	     kinds[IOF_INS] && kinds[IOF_OUTS];
	ksft_print_msg("seed %#lx: %lu in, %lu out, %lu ins, %lu outs ops; end %d, "
		       "%lu restarts\n", cfg.seed, kinds[IOF_IN], kinds[IOF_OUT], kinds[IOF_INS],
		       kinds[IOF_OUTS], end, st->restarts);
	for (unsigned int i = 0; i < ARRAY_SIZE(devs); i++) {
		int d = iofuzz_dev_by_name(devs[i]);
		const struct iofuzz_dev_stats *s;

		TEST_ASSERT(d >= 0, "no device %s", devs[i]);
		s = &st->stats[d];
		if (!s->ops || s->in_kernel || s->exited_ops != s->ops) {
			ksft_print_msg("%s: %lu ops, %lu exited, %lu in kernel\n", devs[i], s->ops,
				       s->exited_ops, s->in_kernel);
			ok = false;
		}
	}
	report_ok(RES_USERSPACE_PORTS, ok);
	munmap(st, sizeof(*st));
}

static uint64_t run_hash(uint64_t seed, bool guest_gen)
{
	struct iofuzz_state *st = iofuzz_state_alloc();
	struct iofuzz_cfg cfg;
	uint64_t h;
	int end;

	iofuzz_cfg_defaults(&cfg);
	cfg.seed = seed;
	cfg.mode = IOFUZZ_MODE_PORTS;
	cfg.mixed_ops = 2000;
	cfg.guest_gen = guest_gen;
	suite_skip_pit_if_slow(&cfg);
	iofuzz_build_plan(&cfg, st);
	end = iofuzz_supervise(&cfg, st);
	/* 0 fails every determinism check: a crash, a finding or a restart. */
	h = end != IOF_END_OK || st->findings || st->restarts ? 0 : st->hash;
	if (end != IOF_END_OK)
		ksft_print_msg("seed %#lx: run ended %d: %s\n", seed, end, st->finding);
	ksft_print_msg("seed %#lx (%s): %lu ops, %lu exits seen, op-log hash %#lx\n", seed,
		       guest_gen ? "guest-generated ops" : "host-compiled ops", st->done,
		       st->exits_total, st->hash);
	munmap(st, sizeof(*st));
	return h;
}

static void suite_determinism(void)
{
	uint64_t seed = suite_seed(1);
	uint64_t a = run_hash(seed, false), b = run_hash(seed, false);
	uint64_t c = run_hash(seed + 1, false), g = run_hash(seed, true);

	report_ok(RES_SAME_SEED, a && a == b);
	report_ok(RES_OTHER_SEED, a && c && a != c);
	/* The guest's own PRNG run and the host's compiled ops must reach the host alike. */
	report_ok(RES_GUEST_GEN, a && g == a);
}

/* Does op touch any byte of ports lo-hi? */
static bool op_hits_ports(const struct iofuzz_op *op, uint64_t lo, uint64_t hi)
{
	return op->type >= IOF_IN && op->type <= IOF_OUTS && op->addr <= hi &&
	       op->addr + op->size - 1 >= lo;
}

/*
 * -x by range: six port ranges (more than the 8-entry list that used to drop
 * the 4th and later ones) skip every port of cmos, port80 and com1 and half
 * of pci_conf.  No generated op may touch them and no exit may come from
 * them, while the rest of pci_conf is fuzzed as a control.
 */
static void skip_port_ranges(struct iofuzz_state *st)
{
	static const struct { uint64_t lo, hi; } skipped[] = {
		{ 0x70, 0x70 }, { 0x71, 0x71 }, { 0x80, 0x80 }, { 0x3f8, 0x3fb },
		{ 0x3fc, 0x3ff }, { 0xcfc, 0xcff },
	};
	uint64_t hits = 0, control = 0, exits = 0, ctl_exits = 0;
	struct iofuzz_cfg cfg;
	struct iofuzz_op op;
	char err[256];
	bool ok;
	int end;

	cfg_userspace_ports(&cfg, 6, 600);
	snprintf(cfg.skip, sizeof(cfg.skip), "0x70,0x71,0x80,0x3f8-0x3fb,0x3fc-0x3ff,0xcfc-0xcff");
	ok = iofuzz_check_lists(&cfg, err, sizeof(err));
	if (!ok)
		ksft_print_msg("-x %s: %s\n", cfg.skip, err);
	iofuzz_build_plan(&cfg, st);
	for (uint64_t i = 0; i < st->plan.total; i++) {
		iofuzz_gen_op(&st->plan, iofuzz_find_seg(&st->plan, i), st->plan.ranges, i, &op);
		for (unsigned int k = 0; k < ARRAY_SIZE(skipped); k++)
			hits += op_hits_ports(&op, skipped[k].lo, skipped[k].hi);
		control += op_hits_ports(&op, 0xcf8, 0xcfb);
	}
	end = iofuzz_supervise(&cfg, st);
	for (unsigned int k = 0; k < ARRAY_SIZE(skipped); k++)
		for (uint64_t port = skipped[k].lo; port <= skipped[k].hi; port++)
			exits += st->port_exits[port];
	for (uint64_t port = 0xcf8; port <= 0xcfb; port++)
		ctl_exits += st->port_exits[port];
	ksft_print_msg("-x %s: %lu of %lu ops touch skipped ports, %lu exits from them; "
		       "pci 0xcf8-0xcfb: %lu ops, %lu exits\n", cfg.skip, hits, st->plan.total,
		       exits, control, ctl_exits);
	report_ok(RES_SKIP_RANGES, ok && end == IOF_END_OK && !hits && !exits && control &&
		  ctl_exits);
}

/* A bare range is port space only; msr: names MSRs; each device keeps the rest. */
static void skip_bare_range(struct iofuzz_state *st, struct iofuzz_cfg *cfg)
{
	uint64_t hits = 0, control = 0;
	struct iofuzz_op op;

	iofuzz_cfg_defaults(cfg);
	cfg->seed = suite_seed(6);
	cfg->fuzz_count = 0;
	cfg->mixed_ops = 0;
	snprintf(cfg->devices, sizeof(cfg->devices), "pic_master,msr_arch");
	snprintf(cfg->skip, sizeof(cfg->skip), "0x10,0x20,msr:0x30-0x31");
	iofuzz_build_plan(cfg, st);
	for (uint64_t i = 0; i < st->plan.total; i++) {
		iofuzz_gen_op(&st->plan, iofuzz_find_seg(&st->plan, i), st->plan.ranges, i, &op);
		if (op.type == IOF_NOP)
			continue;
		hits += op_hits_ports(&op, 0x20, 0x20) ||
			(op.type >= IOF_MSR_RD && op.addr >= 0x30 && op.addr <= 0x31);
		control += (op.type >= IOF_MSR_RD && (op.addr == 0x10 || op.addr == 0x20)) ||
			   op_hits_ports(&op, 0x21, 0x21);
	}
	/* Read-all and write-0: MSRs 0x10 and 0x20 and port 0x21, twice apiece. */
	report_ok(RES_SKIP_BARE, !hits && control == 6);
	if (hits || control != 6)
		ksft_print_msg("-x %s: %lu ops on skipped units, %lu of 6 on kept ones\n",
			       cfg->skip, hits, control);
}

/* Repeats are stored once; more distinct ranges than fit is an error, not a drop. */
static void skip_list_limits(struct iofuzz_cfg *cfg)
{
	char err[256], *p;
	bool ok;

	p = cfg->skip;
	for (unsigned int i = 0; i < 100; i++)
		p += sprintf(p, "0x20,");
	ok = iofuzz_check_lists(cfg, err, sizeof(err));
	p = cfg->skip;
	for (unsigned int i = 0; i <= IOFUZZ_MAX_SKIP; i++)
		p += sprintf(p, "%#x,", 0x2000 + i);
	ok = ok && !iofuzz_check_lists(cfg, err, sizeof(err)) && strstr(err, "more than");
	ksft_print_msg("%u distinct -x ranges: %s\n", IOFUZZ_MAX_SKIP + 1, err);
	report_ok(RES_SKIP_DEDUP, ok);
}

static void suite_skip(void)
{
	struct iofuzz_state *st = iofuzz_state_alloc();
	struct iofuzz_cfg cfg;

	skip_port_ranges(st);
	skip_bare_range(st, &cfg);
	skip_list_limits(&cfg);
	munmap(st, sizeof(*st));
}

/* The index of the reproducer's op that carries the planted fault, or ~0. */
static uint64_t fault_op_index(const struct iofuzz_state *st)
{
	const struct iofuzz_op *list = (const struct iofuzz_op *)st->list;

	for (uint64_t i = 0; i < st->plan.nr_list; i++)
		if (iofuzz_op_equal(&list[i], &st->plan.fault_op))
			return i;
	return ~0ULL;
}

/* Replay a reproducer; false with the reason printed if it does not end as planted. */
static bool replay_file(const char *path, uint32_t fault, struct iofuzz_state *re)
{
	struct iofuzz_cfg rcfg;
	char err[512];
	uint64_t at;
	int end;

	iofuzz_cfg_defaults(&rcfg);
	rcfg.hang_ms = 300;
	if (!iofuzz_load_ops(path, &rcfg, re, err, sizeof(err))) {
		ksft_print_msg("%s\n", err);
		return false;
	}
	rcfg.fault = IOF_FAULT_NONE;	/* the file planted it, by content */
	at = fault_op_index(re);
	end = iofuzz_supervise(&rcfg, re);
	if (fault == IOF_FAULT_CRASH ? end == IOF_END_CRASH && re->cur == at :
	    fault == IOF_FAULT_ORACLE ? end == IOF_END_FINDING && re->cur == at :
	    end == IOF_END_OK && re->restarts == 1 && re->restart_at[0] == at)
		return true;
	ksft_print_msg("replay: end %d, restarts %lu at %lu, current op %lu; "
		       "fault op is %lu of %lu\n",
		       end, re->restarts, re->restart_at[0], re->cur, at, re->plan.nr_list);
	return false;
}

/*
 * Did two replays run alike?  The same exits, in the same order, at the same
 * ops (the log: every exit's op index, what the exit described, its reason),
 * as many KVM_RUN returns, and the same exit hash (all exits' data).
 */
static bool same_exits(const struct iofuzz_state *a, const struct iofuzz_state *b)
{
	uint64_t n = a->log_pos < IOFUZZ_LOG_RING ? a->log_pos : IOFUZZ_LOG_RING;

	if (a->log_pos != b->log_pos || a->exits_total != b->exits_total ||
	    a->exit_hash != b->exit_hash) {
		ksft_print_msg("replays: %lu and %lu exits logged, %lu and %lu KVM_RUN returns, "
			       "exit hashes %#lx %#lx\n", a->log_pos, b->log_pos, a->exits_total,
			       b->exits_total, a->exit_hash, b->exit_hash);
		return false;
	}
	for (uint64_t k = a->log_pos - n; k < a->log_pos; k++) {
		const struct iofuzz_log_entry *x = &a->log[k % IOFUZZ_LOG_RING];
		const struct iofuzz_log_entry *y = &b->log[k % IOFUZZ_LOG_RING];

		if (x->idx != y->idx || x->exit_reason != y->exit_reason ||
		    !iofuzz_op_equal(&x->op, &y->op)) {
			ksft_print_msg("replays differ at exit %lu: op %lu %s %#lx vs "
				       "op %lu %s %#lx\n",
				       k, x->idx, iofuzz_type_name(x->op.type), x->op.addr, y->idx,
				       iofuzz_type_name(y->op.type), y->op.addr);
			return false;
		}
	}
	return true;
}

/*
 * What a replay of a reproducer must have seen: its ops on ports no KVM
 * device answers exit, except the fault op (a triple fault or hang comes
 * before its access; a VMM crash ends the run on its exit, logged but not
 * hashed) and, for a crash, the ops after it.
 */
static bool replay_exits_as_expected(const struct iofuzz_state *re, uint32_t fault)
{
	const struct iofuzz_op *list = (const struct iofuzz_op *)re->list;
	const struct iofuzz_log_entry *last;
	uint64_t at = fault_op_index(re), expect = 0;

	for (uint64_t i = 0; i < re->plan.nr_list; i++) {
		const struct iofuzz_range *r = &re->plan.ranges[list[i].range];

		if (i == at || (fault == IOF_FAULT_CRASH && i > at))
			continue;
		expect += r->space == IOF_PORT && !r->in_kernel && list[i].type != IOF_NOP;
	}
	if (expect && re->exit_hash == IOFUZZ_HASH_INIT) {
		ksft_print_msg("replay: %lu ops must exit, yet no exit was hashed\n", expect);
		return false;
	}
	if (fault != IOF_FAULT_CRASH)
		return true;
	/* The device model died on the fault op's own exit, which it had logged. */
	last = re->log_pos ? &re->log[(re->log_pos - 1) % IOFUZZ_LOG_RING] : NULL;
	if (!last || last->idx != at || last->exit_reason != KVM_EXIT_IO ||
	    !iofuzz_op_equal(&last->op, &re->plan.fault_op)) {
		ksft_print_msg("replay: the last exit logged is not the fault op %lu's "
			       "(%lu exits)\n",
			       at, re->log_pos);
		return false;
	}
	return true;
}

/* The run with a planted fault: detected, and reported at the op that carries it? */
static bool fault_detected(const struct suite_fault *f, struct iofuzz_cfg *cfg,
			   struct iofuzz_state *st)
{
	bool ok;
	int end;

	iofuzz_cfg_defaults(cfg);
	cfg->seed = suite_seed(2 + f->fault);
	cfg->mode = IOFUZZ_MODE_PORTS;
	/*
	 * No PIT (nor the speaker port that gates it): a fuzzed PIT ticking at
	 * its 200 us floor can stall a kvm_pvm guest by itself (seed
	 * 0x6ca43a776716eb, -m ports -F hang:900 -n 2100 stalls at op 2056
	 * after the restart), and this test is about the planted fault.  Still
	 * many ports and 32-bit values: planted faults match ops by content, so
	 * a small op space would repeat the planted op.
	 */
	snprintf(cfg->devices, sizeof(cfg->devices),
		 "pic_master,pic_slave,elcr,cmos,port80,com1,pci_conf");
	cfg->mixed_ops = 2000;
	cfg->fault = f->fault;
	cfg->fault_at = f->at;
	cfg->hang_ms = 300;
	ksft_print_msg("planted %s at op %lu, seed %#lx\n", f->name, f->at, cfg->seed);
	iofuzz_build_plan(cfg, st);
	end = iofuzz_supervise(cfg, st);
	if (f->fault == IOF_FAULT_CRASH) {
		/* Reported at exactly the op whose exit the device model died on. */
		ok = end == IOF_END_CRASH && st->cur == st->fault_idx && st->fault_idx >= f->at;
	} else if (f->fault == IOF_FAULT_ORACLE) {
		/* A finding at exactly the read the oracle was made to expect wrongly. */
		ok = end == IOF_END_FINDING && st->cur == st->fault_idx && st->fault_idx >= f->at;
		if (ok)
			ksft_print_msg("%s\n", st->finding);
	} else {
		ok = end == IOF_END_OK && st->restarts == 1 && st->restart_at[0] == st->fault_idx &&
		     st->fault_idx >= f->at;
		ok = ok && st->done == st->plan.total;
		st->cur = st->fault_idx;
	}
	if (!ok)
		ksft_print_msg("end %d, restarts %lu, restart_at %lu, current op %lu\n", end,
			       st->restarts, st->restart_at[0], st->cur);
	return ok;
}

/*
 * Why a planted fault cannot be observed on this platform, or NULL.  Bochs
 * (the CPU of the Intel lane, KVM_SUITE_CPU_EMULATOR=bochs) delivers no
 * interrupt to the host kernel while a VMX guest runs a loop without exits,
 * although external-interrupt exiting is set (SDM vol. 3C 25.2: such an
 * interrupt causes a VM exit whatever the guest's RFLAGS.IF): the whole host
 * freezes until the guest exits, so no watchdog can see the planted hang.
 * Seen with "jmp ." and "1: nop; jmp 1b" alike: a host shell loop printing
 * /proc/uptime every 2 s stopped for minutes once the guest spun.
 */
static const char *fault_unobservable(const struct suite_fault *f)
{
	if (f->fault == IOF_FAULT_HANG && kvm_cpu_emulator_is("bochs"))
		return "Bochs delivers no host interrupt while a VMX guest loops without "
		       "exits (KVM_SUITE_CPU_EMULATOR=bochs): the host freezes with it";
	return NULL;
}

/* Planted fault at op K: detected, reported at K, minimized, and the reproducer replays. */
static void suite_fault(const struct suite_fault *f)
{
	struct iofuzz_state *st = iofuzz_state_alloc(), *re = iofuzz_state_alloc();
	struct iofuzz_state *re2 = iofuzz_state_alloc();
	char path[] = "/tmp/iofuzz_repro_XXXXXX";
	struct iofuzz_cfg cfg;
	const char *why;
	struct stat sb;
	uint64_t n;
	bool ok;
	int fd;

	why = fault_unobservable(f);
	if (why) {
		for (enum fault_step step = 0; step < NR_STEPS; step++)
			report_fault(f, step, KSFT_SKIP, why);
		goto out;
	}
	ok = fault_detected(f, &cfg, st);
	report_fault(f, STEP_DETECTED, ok ? KSFT_PASS : KSFT_FAIL, NULL);
	if (!ok) {
		report_fault(f, STEP_MINIMIZED, KSFT_SKIP, "the planted fault was not detected");
		report_fault(f, STEP_REPLAYS, KSFT_SKIP, "the planted fault was not detected");
		goto out;
	}

	fd = mkstemp(path);
	TEST_ASSERT(fd >= 0, "mkstemp");
	close(fd);
	/* 0 is "did not reproduce, nothing written": a failure, as is an empty file. */
	n = iofuzz_minimize(&cfg, st, f->fault == IOF_FAULT_CRASH ? IOF_END_CRASH :
			    f->fault == IOF_FAULT_ORACLE ? IOF_END_FINDING : IOF_END_OK, 1, path);
	ok = n >= 1 && n <= 2 && !stat(path, &sb) && sb.st_size > 0;
	report_fault(f, STEP_MINIMIZED, ok ? KSFT_PASS : KSFT_FAIL, NULL);
	if (!ok)
		ksft_print_msg("minimized to %lu ops\n", n);

	/*
	 * Replayed twice: each stops exactly at the fault op's index in the
	 * reproducer, sees the exits its ops must make, and both see the same
	 * exits at the same ops.
	 */
	ok = replay_file(path, f->fault, re) && replay_file(path, f->fault, re2) &&
	     replay_exits_as_expected(re, f->fault) && replay_exits_as_expected(re2, f->fault) &&
	     same_exits(re, re2);
	report_fault(f, STEP_REPLAYS, ok ? KSFT_PASS : KSFT_FAIL, NULL);
	unlink(path);
out:
	munmap(st, sizeof(*st));
	munmap(re, sizeof(*re));
	munmap(re2, sizeof(*re2));
}

/* ---- main ---- */

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [-l] [-h]\n"
		"The bounded self-check of iofuzz (kselftest TAP): a fuzz of every device\n"
		"with fixed seeds, the read oracle (PIC, ELCR, I/O APIC; PIT; LAPIC), the\n"
		"migration oracle (the VM moved into a new one as it runs), several\n"
		"vCPUs (IPIs between their LAPICs), determinism, -x\n"
		"ranges, and planted faults detected,\n"
		"minimized and replayed.  The fuzzer itself is tools/iofuzz.\n"
		"  -l         list the self-check's result names, in the order it reports them\n"
		"  -h         this help\n"
		"Environment: IOFUZZ_SUITE_SEED=N moves the fixed seeds (N + i, default\n"
		"0x5eed0000 + i); IOFUZZ_SUITE_RANDOM=1 draws fresh ones;\n"
		"KVM_SUITE_TIMEOUT_SCALE > 1 leaves the PIT out of the fuzz runs\n"
		"(fuzz.pit SKIPs).\n",
		prog);
}

int main(int argc, char **argv)
{
	int opt, kmsg;

	build_names();
	opterr = 0;	/* the message below says more */
	while ((opt = getopt(argc, argv, "lh")) != -1) {
		switch (opt) {
		case 'l':
			for (unsigned int i = 0; i < nr_names; i++)
				printf("%s\n", names[i]);
			return KSFT_PASS;
		case 'h':
			usage(stdout, argv[0]);
			return KSFT_PASS;
		default:
			fprintf(stderr, "%s: unknown option -%c (see -h; the fuzzer's options "
				"are tools/iofuzz's)\n", argv[0], optopt);
			return KSFT_FAIL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (see -h)\n", argv[0], argv[optind]);
		return KSFT_FAIL;
	}

	kvm_dev_fd();	/* no /dev/kvm: the binary SKIPs, before any VMM child */
	kmsg = kmsg_open();
	ksft_print_header();
	ksft_set_plan(nr_names);
	if (kmsg < 0)
		ksft_print_msg("/dev/kmsg not readable (%s): the host-log check is skipped\n",
			       strerror(errno));
	for (unsigned int c = 0; c < ARRAY_SIZE(oracle_cases); c++)
		suite_oracle(&oracle_cases[c]);
	suite_fuzz(kmsg);
	suite_userspace_ports();
	suite_determinism();
	suite_skip();
	for (unsigned int f = 0; f < ARRAY_SIZE(suite_faults); f++)
		suite_fault(&suite_faults[f]);
	ksft_finished();
}
