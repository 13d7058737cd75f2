// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: the minimizer.  It takes the 512 ops up to a failing one, checks
 * that they fail alone (else the 4096 ops up to it), then drops chunks of them (delta debugging) while
 * the failure stays; each trial runs in a supervised child.  The result is
 * written as a reproducer file (repro.c).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define MIN_WINDOW	512	/* ops up to the failing one it starts from */
/*
 * ... or, when those do not fail alone (state set up earlier, e.g. a PIT
 * latch the oracle's KVM_GET_PIT2 comparison sees at a chunk's end), this many.
 */
#define MAX_WINDOW	4096
#define MAX_TRIALS	300

/* How a trial ended. */
struct trial {
	int end;
	uint64_t restarts;
};

/* The ops as an explicit list, with the failing run's planted fault. */
static void trial_plan(struct iofuzz_state *st, const struct iofuzz_cfg *cfg,
		       const struct iofuzz_plan *fplan, const struct iofuzz_op *ops, uint64_t n)
{
	iofuzz_plan_for_list(&st->plan, cfg->seed);
	for (uint64_t i = 0; i < n; i++) {
		int r = iofuzz_range_of(&st->plan, ops[i].type, ops[i].addr);

		/*
		 * The minimizer drops NOPs: an MSR or MMIO one is in no range (and
		 * iofuzz_jit_fill() indexes ranges by it), and no reproducer line
		 * holds one.
		 */
		TEST_ASSERT(r >= 0 && ops[i].type != IOF_NOP,
			    "minimizer op %lu (%s %#lx) is a NOP or in no device", i,
			    iofuzz_type_name(ops[i].type), ops[i].addr);
		iofuzz_list(st)[i] = ops[i];
		iofuzz_list(st)[i].range = r;
	}
	st->plan.nr_list = n;
	st->plan.total = n;
	st->plan.fault = fplan->fault;
	st->plan.fault_op = fplan->fault_op;
	st->plan.irq_lines = fplan->irq_lines;
	st->plan.migrate = fplan->migrate;
	st->plan.vcpus = fplan->vcpus;
}

static struct trial run_list(const struct iofuzz_cfg *cfg, const struct iofuzz_plan *fplan,
			     const struct iofuzz_op *ops, uint64_t n)
{
	struct iofuzz_state *st = iofuzz_state_alloc();
	struct iofuzz_cfg c = *cfg;
	struct trial t;
	int saved_stdout = dup(1), devnull = open("/dev/null", O_WRONLY);

	trial_plan(st, cfg, fplan, ops, n);
	c.fault = IOF_FAULT_NONE;	/* already planted, by content */
	c.time_ms = 0;
	/* Trials are quiet: their reports would drown the minimizer's. */
	fflush(stdout);
	dup2(devnull, 1);
	t.end = iofuzz_supervise(&c, st);
	fflush(stdout);
	dup2(saved_stdout, 1);
	close(saved_stdout);
	close(devnull);
	t.restarts = st->restarts;
	munmap(st, sizeof(*st));
	return t;
}

static bool reproduces(struct trial t, int want_end, uint64_t want_restarts)
{
	return want_end == IOF_END_CRASH ? t.end == IOF_END_CRASH :
	       want_end == IOF_END_FINDING ? t.end == IOF_END_FINDING :
	       t.restarts >= want_restarts;
}

struct minimizer {
	const struct iofuzz_cfg *cfg;
	const struct iofuzz_plan *fplan;	/* the failing run's */
	int want_end;
	uint64_t want_restarts;
	struct iofuzz_op *ops, *tmp;
	uint64_t n, trials;
};

static bool still_fails(struct minimizer *m, const struct iofuzz_op *ops, uint64_t n)
{
	return reproduces(run_list(m->cfg, m->fplan, ops, n), m->want_end, m->want_restarts);
}

/*
 * Delta debugging (Zeller): drop chunks while the failure stays, finer when
 * no chunk can go; bounded trials.
 */
static void ddmin(struct minimizer *m)
{
	uint64_t chunks = 2;

	while (m->n >= 2 && m->trials < MAX_TRIALS) {
		uint64_t size = (m->n + chunks - 1) / chunks;
		bool reduced = false;

		for (uint64_t c = 0; c * size < m->n && m->trials < MAX_TRIALS; c++) {
			uint64_t k = 0;

			for (uint64_t i = 0; i < m->n; i++)
				if (i < c * size || i >= (c + 1) * size)
					m->tmp[k++] = m->ops[i];
			m->trials++;
			if (k && still_fails(m, m->tmp, k)) {
				memcpy(m->ops, m->tmp, k * sizeof(*m->ops));
				m->n = k;
				chunks = chunks > 2 ? chunks - 1 : 2;
				reduced = true;
				break;
			}
		}
		if (!reduced) {
			if (chunks >= m->n)
				break;
			chunks = chunks * 2 < m->n ? chunks * 2 : m->n;
		}
	}
}

/*
 * With -M a list cannot shrink below one move period (the move must still
 * come between the ops that set the state and the read that sees it
 * lost): try the failing list with a move every 8 ops, then after every op,
 * and minimize again after each period that still fails (its own trials).
 */
static void shrink_period(struct minimizer *m, struct iofuzz_plan *fplan)
{
	static const uint32_t periods[] = { 8, 1 };
	uint64_t trials = m->trials;

	for (unsigned int i = 0; i < ARRAY_SIZE(periods); i++) {
		uint32_t old = fplan->migrate;

		if (old <= periods[i])
			continue;
		fplan->migrate = periods[i];
		m->trials = 0;
		trials++;
		if (!still_fails(m, m->ops, m->n)) {
			fplan->migrate = old;
			break;
		}
		ddmin(m);
		trials += m->trials;
	}
	m->trials = trials;
}

/*
 * With several vCPUs: does the failure need them?  Try the list with every
 * op on vCPU 0 (the other vCPUs still exist: they can be IPI targets), then
 * with one vCPU; a failure that stays is reported that way, the simpler case.
 */
static void shrink_cpus(struct minimizer *m, struct iofuzz_plan *fplan)
{
	uint32_t vcpus = fplan->vcpus;

	for (uint64_t i = 0; i < m->n; i++)
		m->tmp[i] = m->ops[i], m->tmp[i].cpu = 0;
	m->trials++;
	if (!still_fails(m, m->tmp, m->n))
		return;
	memcpy(m->ops, m->tmp, m->n * sizeof(*m->ops));
	fplan->vcpus = 1;
	m->trials++;
	if (!still_fails(m, m->ops, m->n))
		fplan->vcpus = vcpus;
}

/* The ops lo..fail of the failing run that are not NOPs, into m->ops. */
static void window(struct minimizer *m, const struct iofuzz_state *failing, uint64_t lo,
		   uint64_t fail)
{
	/*
	 * NOPs (excluded units) accessed nothing, and have no device for a list
	 * nor an "op" line a reproducer could load: leave them out.
	 */
	m->n = 0;
	for (uint64_t i = lo; i <= fail; i++) {
		iofuzz_host_gen(failing, i, &m->ops[m->n]);
		if (m->ops[m->n].type != IOF_NOP)
			m->n++;
	}
	kvm_log("iofuzz: minimizing ops %lu-%lu of seed %#lx (%lu of them not NOPs)", lo, fail,
		failing->plan.seed, m->n);
}

uint64_t iofuzz_minimize(const struct iofuzz_cfg *cfg, const struct iofuzz_state *failing,
			 int want_end, uint64_t want_restarts, const char *path)
{
	uint64_t fail = failing->cur, lo = fail >= MIN_WINDOW - 1 ? fail - (MIN_WINDOW - 1) : 0;
	struct iofuzz_plan *fplan = malloc(sizeof(*fplan));
	struct minimizer m = {
		.cfg = cfg, .fplan = fplan,
		.want_end = want_end, .want_restarts = want_restarts,
		.ops = calloc(MAX_WINDOW, sizeof(*m.ops)),
		.tmp = calloc(MAX_WINDOW, sizeof(*m.tmp)),
	};
	char why[256];

	TEST_ASSERT(m.ops && m.tmp && fplan, "out of memory");
	/* The trials hold the PIC lines the failing op's chunk had (oracle.c). */
	*fplan = failing->plan;
	if (!fplan->nr_list)
		fplan->irq_lines = failing->finding_lines;
	window(&m, failing, lo, fail);
	if (!m.n)
		goto out;
	if (!still_fails(&m, m.ops, m.n) && lo) {
		lo = fail >= MAX_WINDOW - 1 ? fail - (MAX_WINDOW - 1) : 0;
		window(&m, failing, lo, fail);
	}
	if (!still_fails(&m, m.ops, m.n)) {
		/* E.g. an event driven by a fuzzed timer, or state set up earlier. */
		kvm_log("iofuzz: the failure at op %lu does not reproduce from the last %lu ops "
			"alone: not minimized; replay it with the seed", fail, m.n);
		m.n = 0;
		goto out;
	}
	ddmin(&m);
	if (fplan->vcpus > 1)
		shrink_cpus(&m, fplan);
	if (fplan->migrate > 1)
		shrink_period(&m, fplan);
	snprintf(why, sizeof(why), "seed %#lx, failure at op %lu (%s), %lu ops after %lu trials",
		 failing->plan.seed, fail, want_end == IOF_END_CRASH ? "VMM crash" :
		 want_end == IOF_END_FINDING ? "finding" : "restart", m.n, m.trials);
	iofuzz_write_ops(path, fplan, m.ops, m.n, why);
	kvm_log("iofuzz: minimized to %lu ops in %lu trials: %s", m.n, m.trials, path);
out:
	free(fplan);
	free(m.ops);
	free(m.tmp);
	return m.n;
}
