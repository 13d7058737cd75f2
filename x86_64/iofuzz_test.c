// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz_test: fuzz KVM's in-kernel devices (PIC, PIT, ELCR, LAPIC, IOAPIC,
 * MSRs) and the userspace-exit path from inside the guest, with the 2010
 * iofuzz's phases (read all, write 0, fuzz_count x size random writes) plus
 * a mixed phase, hang/triple-fault restart, a supervising parent and exact
 * replay.  Without options it runs a bounded self-checking suite (TAP):
 * one result per device range, determinism by op-log hash, and the planted
 * faults (triple fault, hang, VMM crash) detected, minimized and replayed.
 */
#include <getopt.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "iofuzz.h"
#include "kvm_util.h"

static int tap_n, tap_fail, tap_pass;

static void tap(bool ok, const char *name, const char *skip)
{
	tap_n++;
	if (skip) {
		printf("ok %d %s # SKIP %s\n", tap_n, name, skip);
		return;
	}
	printf("%sok %d %s\n", ok ? "" : "not ", tap_n, name);
	if (ok)
		tap_pass++;
	else
		tap_fail++;
	fflush(stdout);
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [options]\n"
		"Without options: the bounded self-checking suite (TAP).\n"
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
		"  -F K:AT    test-only planted fault: K = triple (guest triple-faults),\n"
		"             hang (guest spins without exits), crash (host device model\n"
		"             crashes) at op AT\n"
		"  -l         list the self-check's result names (run it without options)\n"
		"  -h         this help\n"
		"Devices:", prog, (unsigned long)IOFUZZ_MAX_SKIP, UCALL_PIO_PORT);
	for (unsigned int i = 0; i < iofuzz_nr_devs; i++)
		fprintf(f, " %s", iofuzz_devs[i].name);
	fprintf(f, "\n");
}

static void cfg_defaults(struct iofuzz_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->fuzz_count = 1;
	cfg->mixed_ops = 4096;
	cfg->mode = IOFUZZ_MODE_ALL;
	cfg->hang_ms = 1000;
}

static uint64_t random_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20 ^ (uint64_t)getpid() << 40;
}

/* One device range passes when no finding was attributed to it. */
static void tap_devices(const struct iofuzz_state *st, const char *prefix)
{
	struct iofuzz_op op;
	int bad_dev = -1;
	char name[64];

	if (st->findings && st->cur < st->plan.total) {
		const struct iofuzz_seg *seg = iofuzz_find_seg(&st->plan, st->cur);

		if (seg) {
			iofuzz_gen_op(&st->plan, seg, st->plan.ranges, st->cur, &op);
			bad_dev = st->plan.ranges[op.range].id;
		}
	}
	for (uint32_t i = 0; i < st->plan.nr_ranges; i++) {
		unsigned int id = st->plan.ranges[i].id;

		/* A replayed list names every device; report the ones it touched. */
		if (st->plan.nr_list && !st->stats[id].ops)
			continue;
		snprintf(name, sizeof(name), "%s%s", prefix, iofuzz_devs[id].name);
		tap(!(st->findings && (bad_dev < 0 || bad_dev == (int)id)), name, NULL);
	}
}

static int kmsg_check(int fd, bool report)
{
	char first[256] = "";
	int hits;

	if (fd < 0)
		return 0;
	hits = iofuzz_kmsg_scan(fd, first, sizeof(first));
	if (hits && report)
		printf("# host kernel logged %d WARN/BUG/Oops lines during the run, first: %s",
		       hits, first);
	return hits;
}

/* ---- the default suite ---- */

/*
 * The self-check is a test, so it must not flake: its seeds are fixed
 * (seed i is IOFUZZ_SUITE_SEED + i, default 0x5eed0000 + i).  Fuzzing for
 * new findings is the fuzzer's job (options, random seed by default), or
 * IOFUZZ_SUITE_RANDOM=1 to give the self-check fresh seeds.
 */
static uint64_t suite_seed(unsigned int i)
{
	const char *base = getenv("IOFUZZ_SUITE_SEED");

	if (getenv("IOFUZZ_SUITE_RANDOM"))
		return random_seed() + i;
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
			printf("# %s: %lu exits by device, %lu by its ports\n",
			       iofuzz_devs[d].name, st->stats[d].exits, sum);
			ok = false;
		}
	}
	for (uint32_t p = 0; p < 65536; p++)
		ports += st->port_exits[p];
	if (ports != devs || !ports)
		printf("# %lu port exits by port, %lu by device\n", ports, devs);
	return ok && ports == devs && ports;
}

/*
 * On a slow platform (KVM_SUITE_TIMEOUT_SCALE > 1: the QEMU lane's one TCG
 * vCPU), a fuzzed PIT ticking at KVM's minimum period keeps that vCPU busy
 * injecting interrupts and starves this process, its time budget and
 * watchdog included (seen: the self-check still running after 20 minutes).
 * The self-check must end, so its fuzz runs leave the PIT out there;
 * `iofuzz_test -d pit` still fuzzes it on purpose.
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

	cfg_defaults(&cfg);
	cfg.seed = suite_seed(0);
	cfg.time_ms = 20000;
	suite_skip_pit_if_slow(&cfg);
	printf("# default fuzz: seed %#lx (replay with -s %#lx)\n", cfg.seed, cfg.seed);
	iofuzz_build_plan(&cfg, st);
	end = iofuzz_supervise(&cfg, st);
	iofuzz_print_table(st);
	if (end == IOF_END_CRASH)
		printf("# %s\n", st->finding);
	tap_devices(st, "fuzz.");
	if (kvm_timeout_scale() > 1)
		tap(true, "fuzz.pit", "left out with KVM_SUITE_TIMEOUT_SCALE > 1: a fuzzed PIT "
		    "starves a single slow vCPU");
	/* tap_devices() blames findings; a dead VMM has none, so it gets its own result. */
	tap(end != IOF_END_CRASH, "fuzz.vmm_alive", NULL);
	tap(end != IOF_END_CRASH && port_counts_add_up(st), "fuzz.port_exit_counts_add_up", NULL);
	if (kmsg < 0)
		tap(true, "host_kernel_log_clean", "/dev/kmsg is not readable by this user");
	else
		tap(!kmsg_check(kmsg, true), "host_kernel_log_clean", NULL);
}

/* The four userspace-exit devices, fuzz count 2, a mixed phase of mixed ops. */
static void cfg_userspace_ports(struct iofuzz_cfg *cfg, unsigned int seed_index,
				unsigned int mixed)
{
	cfg_defaults(cfg);
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
	printf("# seed %#lx: %lu in, %lu out, %lu ins, %lu outs ops; end %d, %lu restarts\n",
	       cfg.seed, kinds[IOF_IN], kinds[IOF_OUT], kinds[IOF_INS], kinds[IOF_OUTS], end,
	       st->restarts);
	for (unsigned int i = 0; i < ARRAY_SIZE(devs); i++) {
		const struct iofuzz_dev_stats *s = NULL;

		for (unsigned int d = 0; d < iofuzz_nr_devs; d++)
			if (!strcmp(iofuzz_devs[d].name, devs[i]))
				s = &st->stats[d];
		TEST_ASSERT(s, "no device %s", devs[i]);
		if (!s->ops || s->in_kernel || s->exited_ops != s->ops) {
			printf("# %s: %lu ops, %lu exited, %lu in kernel\n", devs[i], s->ops,
			       s->exited_ops, s->in_kernel);
			ok = false;
		}
	}
	tap(ok, "fuzz.userspace_ports_every_op_exited", NULL);
	munmap(st, sizeof(*st));
}

static uint64_t run_hash(uint64_t seed, bool guest_gen)
{
	struct iofuzz_state *st = iofuzz_state_alloc();
	struct iofuzz_cfg cfg;
	uint64_t h;
	int end;

	cfg_defaults(&cfg);
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
		printf("# seed %#lx: run ended %d: %s\n", seed, end, st->finding);
	printf("# seed %#lx (%s): %lu ops, %lu exits seen, op-log hash %#lx\n", seed,
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

	tap(a && a == b, "determinism.same_seed_same_oplog_hash", NULL);
	tap(a && c && a != c, "determinism.other_seed_other_oplog_hash", NULL);
	/* The guest's own PRNG run and the host's compiled ops must reach the host alike. */
	tap(a && g == a, "determinism.guest_generator_matches_host", NULL);
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
static void suite_skip(void)
{
	static const struct { uint64_t lo, hi; } skipped[] = {
		{ 0x70, 0x70 }, { 0x71, 0x71 }, { 0x80, 0x80 }, { 0x3f8, 0x3fb },
		{ 0x3fc, 0x3ff }, { 0xcfc, 0xcff },
	};
	struct iofuzz_state *st = iofuzz_state_alloc();
	uint64_t hits = 0, control = 0, exits = 0, ctl_exits = 0;
	struct iofuzz_cfg cfg;
	struct iofuzz_op op;
	char err[256], *p;
	bool ok;
	int end;

	cfg_userspace_ports(&cfg, 6, 600);
	snprintf(cfg.skip, sizeof(cfg.skip), "0x70,0x71,0x80,0x3f8-0x3fb,0x3fc-0x3ff,0xcfc-0xcff");
	ok = iofuzz_check_lists(&cfg, err, sizeof(err));
	if (!ok)
		printf("# -x %s: %s\n", cfg.skip, err);
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
	printf("# -x %s: %lu of %lu ops touch skipped ports, %lu exits from them; "
	       "pci 0xcf8-0xcfb: %lu ops, %lu exits\n", cfg.skip, hits, st->plan.total, exits,
	       control, ctl_exits);
	tap(ok && end == IOF_END_OK && !hits && !exits && control && ctl_exits,
	    "skip.x_port_ranges_not_touched", NULL);

	/* A bare range is port space only; msr: names MSRs; each device keeps the rest. */
	cfg_defaults(&cfg);
	cfg.seed = suite_seed(6);
	cfg.fuzz_count = 0;
	cfg.mixed_ops = 0;
	snprintf(cfg.devices, sizeof(cfg.devices), "pic_master,msr_arch");
	snprintf(cfg.skip, sizeof(cfg.skip), "0x10,0x20,msr:0x30-0x31");
	iofuzz_build_plan(&cfg, st);
	hits = control = 0;
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
	tap(!hits && control == 6, "skip.bare_range_is_port_space_only", NULL);
	if (hits || control != 6)
		printf("# -x %s: %lu ops on skipped units, %lu of 6 on kept ones\n", cfg.skip,
		       hits, control);

	/* Repeats are stored once; more distinct ranges than fit is an error, not a drop. */
	p = cfg.skip;
	for (unsigned int i = 0; i < 100; i++)
		p += sprintf(p, "0x20,");
	ok = iofuzz_check_lists(&cfg, err, sizeof(err));
	p = cfg.skip;
	for (unsigned int i = 0; i <= IOFUZZ_MAX_SKIP; i++)
		p += sprintf(p, "%#x,", 0x2000 + i);
	ok = ok && !iofuzz_check_lists(&cfg, err, sizeof(err)) && strstr(err, "more than");
	printf("# %u distinct -x ranges: %s\n", IOFUZZ_MAX_SKIP + 1, err);
	tap(ok, "skip.x_list_dedups_and_rejects_overflow", NULL);
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

	cfg_defaults(&rcfg);
	rcfg.hang_ms = 300;
	if (!iofuzz_load_ops(path, &rcfg, re, err, sizeof(err))) {
		printf("# %s\n", err);
		return false;
	}
	rcfg.fault = IOF_FAULT_NONE;	/* the file planted it, by content */
	at = fault_op_index(re);
	end = iofuzz_supervise(&rcfg, re);
	if (fault == IOF_FAULT_CRASH ? end == IOF_END_CRASH && re->cur == at :
	    end == IOF_END_OK && re->restarts == 1 && re->restart_at[0] == at)
		return true;
	printf("# replay: end %d, restarts %lu at %lu, current op %lu; fault op is %lu of %lu\n",
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
		printf("# replays: %lu and %lu exits logged, %lu and %lu KVM_RUN returns, "
		       "exit hashes %#lx %#lx\n", a->log_pos, b->log_pos, a->exits_total,
		       b->exits_total, a->exit_hash, b->exit_hash);
		return false;
	}
	for (uint64_t k = a->log_pos - n; k < a->log_pos; k++) {
		const struct iofuzz_log_entry *x = &a->log[k % IOFUZZ_LOG_RING];
		const struct iofuzz_log_entry *y = &b->log[k % IOFUZZ_LOG_RING];

		if (x->idx != y->idx || x->exit_reason != y->exit_reason ||
		    !iofuzz_op_equal(&x->op, &y->op)) {
			printf("# replays differ at exit %lu: op %lu %s %#lx vs op %lu %s %#lx\n",
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
		printf("# replay: %lu ops must exit, yet no exit was hashed\n", expect);
		return false;
	}
	if (fault != IOF_FAULT_CRASH)
		return true;
	/* The device model died on the fault op's own exit, which it had logged. */
	last = re->log_pos ? &re->log[(re->log_pos - 1) % IOFUZZ_LOG_RING] : NULL;
	if (!last || last->idx != at || last->exit_reason != KVM_EXIT_IO ||
	    !iofuzz_op_equal(&last->op, &re->plan.fault_op)) {
		printf("# replay: the last exit logged is not the fault op %lu's (%lu exits)\n",
		       at, re->log_pos);
		return false;
	}
	return true;
}

/* Planted fault at op K: detected, reported at K, minimized, and the reproducer replays. */
static void suite_fault(uint32_t fault, const char *name, uint64_t k)
{
	struct iofuzz_state *st = iofuzz_state_alloc(), *re = iofuzz_state_alloc();
	struct iofuzz_state *re2 = iofuzz_state_alloc();
	char path[] = "/tmp/iofuzz_repro_XXXXXX", tname[96];
	struct iofuzz_cfg cfg;
	struct stat sb;
	int end, fd;
	uint64_t n;
	bool ok;

	cfg_defaults(&cfg);
	cfg.seed = suite_seed(2 + fault);
	cfg.mode = IOFUZZ_MODE_PORTS;
	/*
	 * No PIT (nor the speaker port that gates it): a fuzzed PIT ticking at
	 * its 200 us floor can stall a kvm_pvm guest by itself (seed
	 * 0x6ca43a776716eb, -m ports -F hang:900 -n 2100 stalls at op 2056
	 * after the restart), and this test is about the planted fault.  Still
	 * many ports and 32-bit values: planted faults match ops by content, so
	 * a small op space would repeat the planted op.
	 */
	snprintf(cfg.devices, sizeof(cfg.devices),
		 "pic_master,pic_slave,elcr,cmos,port80,com1,pci_conf");
	cfg.mixed_ops = 2000;
	cfg.fault = fault;
	cfg.fault_at = k;
	cfg.hang_ms = 300;
	printf("# planted %s at op %lu, seed %#lx\n", name, k, cfg.seed);
	iofuzz_build_plan(&cfg, st);
	end = iofuzz_supervise(&cfg, st);
	if (fault == IOF_FAULT_CRASH) {
		/* Reported at exactly the op whose exit the device model died on. */
		ok = end == IOF_END_CRASH && st->cur == st->fault_idx && st->fault_idx >= k;
	} else {
		ok = end == IOF_END_OK && st->restarts == 1 && st->restart_at[0] == st->fault_idx &&
		     st->fault_idx >= k && st->done == st->plan.total;
		st->cur = st->fault_idx;
	}
	snprintf(tname, sizeof(tname), "fault.%s_detected_at_op", name);
	tap(ok, tname, NULL);
	if (!ok) {
		printf("# end %d, restarts %lu, restart_at %lu, current op %lu\n", end,
		       st->restarts, st->restart_at[0], st->cur);
		snprintf(tname, sizeof(tname), "fault.%s_minimized", name);
		tap(false, tname, "the planted fault was not detected");
		snprintf(tname, sizeof(tname), "fault.%s_replays_exactly", name);
		tap(false, tname, "the planted fault was not detected");
		munmap(st, sizeof(*st));
		munmap(re, sizeof(*re));
		munmap(re2, sizeof(*re2));
		return;
	}

	fd = mkstemp(path);
	TEST_ASSERT(fd >= 0, "mkstemp");
	close(fd);
	/* 0 is "did not reproduce, nothing written": a failure, as is an empty file. */
	n = iofuzz_minimize(&cfg, st, fault == IOF_FAULT_CRASH ? IOF_END_CRASH : IOF_END_OK,
			    1, path);
	ok = n >= 1 && n <= 2 && !stat(path, &sb) && sb.st_size > 0;
	snprintf(tname, sizeof(tname), "fault.%s_minimized", name);
	tap(ok, tname, NULL);
	if (!ok)
		printf("# minimized to %lu ops\n", n);

	/*
	 * Replayed twice: each stops exactly at the fault op's index in the
	 * reproducer, sees the exits its ops must make, and both see the same
	 * exits at the same ops.
	 */
	ok = replay_file(path, fault, re) && replay_file(path, fault, re2) &&
	     replay_exits_as_expected(re, fault) && replay_exits_as_expected(re2, fault) &&
	     same_exits(re, re2);
	snprintf(tname, sizeof(tname), "fault.%s_replays_exactly", name);
	tap(ok, tname, NULL);
	unlink(path);
	munmap(st, sizeof(*st));
	munmap(re, sizeof(*re));
	munmap(re2, sizeof(*re2));
}

static const struct {
	uint32_t fault;
	const char *name;
	uint64_t at;
} suite_faults[] = {
	{ IOF_FAULT_TRIPLE, "triple_fault", 1500 },
	{ IOF_FAULT_HANG, "hang", 900 },
	{ IOF_FAULT_CRASH, "vmm_crash", 1200 },
};

/* The three results of each planted fault, in the order suite_fault() reports them. */
static const char *const fault_results[] = { "detected_at_op", "minimized", "replays_exactly" };

/* -l: the self-check's result names, in the order it reports them. */
static void list_tests(void)
{
	static const char *const fixed[] = {
		"fuzz.vmm_alive", "fuzz.port_exit_counts_add_up", "host_kernel_log_clean",
		"fuzz.userspace_ports_every_op_exited",
		"determinism.same_seed_same_oplog_hash",
		"determinism.other_seed_other_oplog_hash",
		"determinism.guest_generator_matches_host",
		"skip.x_port_ranges_not_touched", "skip.bare_range_is_port_space_only",
		"skip.x_list_dedups_and_rejects_overflow",
	};

	for (unsigned int d = 0; d < iofuzz_nr_devs; d++)
		if (!iofuzz_devs[d].optional)
			printf("fuzz.%s\n", iofuzz_devs[d].name);
	for (unsigned int i = 0; i < ARRAY_SIZE(fixed); i++)
		printf("%s\n", fixed[i]);
	for (unsigned int f = 0; f < ARRAY_SIZE(suite_faults); f++)
		for (unsigned int i = 0; i < ARRAY_SIZE(fault_results); i++)
			printf("fault.%s_%s\n", suite_faults[f].name, fault_results[i]);
}

/*
 * Why a planted fault cannot be checked on this platform, or NULL.  Bochs
 * (the CPU of the Intel lane, KVM_SUITE_CPU_EMULATOR=bochs) delivers no
 * interrupt to the host kernel while a VMX guest runs a loop without exits,
 * although external-interrupt exiting is set (SDM vol. 3C 25.2: such an
 * interrupt causes a VM exit whatever the guest's RFLAGS.IF): the whole host
 * freezes until the guest exits, so no watchdog can see the planted hang.
 * Seen with "jmp ." and "1: nop; jmp 1b" alike: a host shell loop printing
 * /proc/uptime every 2 s stopped for minutes once the guest spun.
 */
static const char *fault_unobservable(uint32_t fault)
{
	const char *emu = getenv("KVM_SUITE_CPU_EMULATOR");

	if (fault == IOF_FAULT_HANG && emu && !strcmp(emu, "bochs"))
		return "Bochs delivers no host interrupt while a VMX guest loops without "
		       "exits (KVM_SUITE_CPU_EMULATOR=bochs): the host freezes with it";
	return NULL;
}

static void suite_fault_skip(const char *name, const char *why)
{
	char tname[96];

	for (unsigned int i = 0; i < ARRAY_SIZE(fault_results); i++) {
		snprintf(tname, sizeof(tname), "fault.%s_%s", name, fault_results[i]);
		tap(true, tname, why);
	}
}

static int run_suite(void)
{
	int kmsg;

	kvm_dev_fd();	/* no /dev/kvm: the binary SKIPs, before any VMM child */
	kmsg = iofuzz_kmsg_open();
	printf("TAP version 13\n");
	if (kmsg < 0)
		printf("# /dev/kmsg not readable (%s): the host-log check is skipped\n",
		       strerror(errno));
	suite_fuzz(kmsg);
	suite_userspace_ports();
	suite_determinism();
	suite_skip();
	for (unsigned int f = 0; f < ARRAY_SIZE(suite_faults); f++) {
		const char *why = fault_unobservable(suite_faults[f].fault);

		if (why)
			suite_fault_skip(suite_faults[f].name, why);
		else
			suite_fault(suite_faults[f].fault, suite_faults[f].name,
				    suite_faults[f].at);
	}
	printf("1..%d\n", tap_n);
	printf("# Totals: pass:%d fail:%d skip:%d\n", tap_pass, tap_fail,
	       tap_n - tap_pass - tap_fail);
	return tap_fail ? KSFT_FAIL : tap_pass ? KSFT_PASS : KSFT_SKIP;
}

/* ---- one fuzz run with options ---- */

/* Is name an item of the comma-separated list? */
static bool check_named(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ',') && (!p[n] || p[n] == ','))
			return true;
	return false;
}

static int __attribute__((noreturn)) bad(const char *prog, const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see -h)\n");
	exit(KSFT_FAIL);
}

int main(int argc, char **argv)
{
	struct iofuzz_state *st;
	struct iofuzz_cfg cfg;
	const char *out = NULL;
	const char *mode_arg = NULL;
	char err[512];
	uint64_t v;
	int opt, end, kmsg;

	cfg_defaults(&cfg);
	cfg.seed = random_seed();
	if (argc == 1)
		return run_suite();
	while ((opt = getopt(argc, argv, "c:x:s:t:n:d:m:vGr:o:F:lh")) != -1) {
		switch (opt) {
		case 'c':
			if (!parse_u64(optarg, &cfg.fuzz_count) || cfg.fuzz_count > 1000)
				bad(argv[0], "-c wants a count 0-1000, got '%s'", optarg);
			break;
		case 'x': {
			/* Repeated -x options add up. */
			size_t used = strlen(cfg.skip);

			if (used + strlen(optarg) + 2 > sizeof(cfg.skip))
				bad(argv[0], "-x lists longer than the %s-byte limit", "1023");
			snprintf(cfg.skip + used, sizeof(cfg.skip) - used, "%s%s",
				 used ? "," : "", optarg);
			break;
		}
		case 's':
			if (!parse_u64(optarg, &cfg.seed))
				bad(argv[0], "-s wants a number, got '%s'", optarg);
			break;
		case 't':
			if (!parse_u64(optarg, &v) || !v || v > 86400)
				bad(argv[0], "-t wants seconds 1-86400, got '%s'", optarg);
			cfg.time_ms = v * 1000;
			break;
		case 'n':
			if (!parse_u64(optarg, &cfg.max_ops) || !cfg.max_ops)
				bad(argv[0], "-n wants a positive op count, got '%s'", optarg);
			/* A long run by count: let the mixed phase fill it. */
			cfg.mixed_ops = cfg.max_ops;
			break;
		case 'd':
			snprintf(cfg.devices, sizeof(cfg.devices), "%s", optarg);
			break;
		case 'm':
			if (!iofuzz_parse_mode(optarg, &cfg.mode))
				bad(argv[0], "-m wants ports, mmio, msr or all, got '%s'", optarg);
			mode_arg = optarg;
			break;
		case 'v':
			cfg.verbose++;
			break;
		case 'G':
			cfg.guest_gen = true;
			break;
		case 'r':
			cfg.replay = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'F': {
			char *colon = strchr(optarg, ':');

			if (!colon || !parse_u64(colon + 1, &cfg.fault_at))
				bad(argv[0], "-F wants KIND:OP, got '%s'", optarg);
			*colon = 0;
			cfg.fault = !strcmp(optarg, "triple") ? IOF_FAULT_TRIPLE :
				    !strcmp(optarg, "hang") ? IOF_FAULT_HANG :
				    !strcmp(optarg, "crash") ? IOF_FAULT_CRASH : IOF_FAULT_NONE;
			if (!cfg.fault)
				bad(argv[0], "-F: unknown fault kind '%s' (triple, hang, crash)",
				    optarg);
			break;
		}
		case 'l':
			list_tests();
			return 0;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return KSFT_FAIL;
		}
	}
	if (optind < argc)
		bad(argv[0], "unexpected argument '%s'", argv[optind]);
	if (!iofuzz_check_lists(&cfg, err, sizeof(err)))
		bad(argv[0], "%s", err);
	/* -d names the devices, so -m could only contradict it: refuse a conflict. */
	if (mode_arg && cfg.devices[0]) {
		for (unsigned int d = 0; d < iofuzz_nr_devs; d++) {
			if (!check_named(cfg.devices, iofuzz_devs[d].name) ||
			    (iofuzz_devs[d].mode & cfg.mode))
				continue;
			snprintf(err, sizeof(err), "-d %s is not in -m %s", iofuzz_devs[d].name,
				 mode_arg);
			bad(argv[0], "%s", err);
		}
	}

	kvm_dev_fd();	/* no /dev/kvm: SKIP, not a failed VMM child */
	st = iofuzz_state_alloc();
	if (cfg.replay) {
		cfg.seed = 0;	/* an explicit list has no seed */
		if (!iofuzz_load_ops(cfg.replay, &cfg, st, err, sizeof(err)))
			bad(argv[0], "%s", err);
		cfg.fault = IOF_FAULT_NONE;	/* planted by the file, by content */
		printf("TAP version 13\n");
		printf("# replaying %lu ops from %s\n", st->plan.total, cfg.replay);
	} else {
		printf("TAP version 13\n");
		printf("# iofuzz seed %#lx (replay with -s %#lx)\n", cfg.seed, cfg.seed);
		iofuzz_build_plan(&cfg, st);
	}
	kmsg = iofuzz_kmsg_open();
	if (kmsg < 0)
		printf("# /dev/kmsg not readable (%s): the host-log check is skipped\n",
		       strerror(errno));
	end = iofuzz_supervise(&cfg, st);
	iofuzz_print_table(st);
	if (cfg.verbose)
		iofuzz_print_ports(st, 10);
	tap_devices(st, "fuzz.");
	if (kmsg < 0)
		tap(true, "host_kernel_log_clean", "/dev/kmsg is not readable by this user");
	else
		tap(!kmsg_check(kmsg, true), "host_kernel_log_clean", NULL);
	tap(end != IOF_END_CRASH, "vmm_alive", NULL);
	if (end == IOF_END_OK && st->restarts)
		st->cur = st->restart_at[0];
	if (out && !cfg.replay && (end == IOF_END_CRASH || end == IOF_END_FINDING || st->restarts))
		iofuzz_minimize(&cfg, st, end == IOF_END_CRASH || end == IOF_END_FINDING ?
				end : IOF_END_OK, 1, out);
	printf("1..%d\n", tap_n);
	return tap_fail ? KSFT_FAIL : KSFT_PASS;
}
