// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: the configuration, the plan built from it (ranges, exclusions,
 * segments) or from an explicit op list, and the host's view of op i: the
 * guest's own generator (guest_lib/iofuzz_guest.c) called on the host.
 */
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

void iofuzz_cfg_defaults(struct iofuzz_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->fuzz_count = 1;
	cfg->mixed_ops = 4096;
	cfg->mode = IOFUZZ_MODE_ALL;
	cfg->hang_ms = 1000;
}

uint64_t iofuzz_random_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20 ^ (uint64_t)getpid() << 40;
}

struct iofuzz_state *iofuzz_state_alloc(void)
{
	struct iofuzz_state *st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(st != MAP_FAILED, "mmap of the shared fuzz state");
	return st;
}

static void plan_add_fixed_excl(struct iofuzz_plan *plan)
{
	for (unsigned int i = 0; i < IOFUZZ_NR_FIXED_EXCL; i++)
		plan->excl[plan->nr_excl++] = iofuzz_fixed_excl[i];
}

static void plan_add_range(struct iofuzz_plan *plan, unsigned int dev)
{
	plan->ranges[plan->nr_ranges] = iofuzz_devs[dev].r;
	plan->ranges[plan->nr_ranges++].id = dev;
}

/*
 * -d names the devices; without it, every device of the -m mode that is not
 * optional.  -x takes devices out by name here, ranges by exclusion.
 */
static void plan_pick_ranges(const struct iofuzz_cfg *cfg, struct iofuzz_plan *plan)
{
	for (unsigned int i = 0; i < iofuzz_nr_devs; i++) {
		const struct iofuzz_dev *d = &iofuzz_devs[i];
		bool named = iofuzz_name_in_list(cfg->devices, d->name);

		if (cfg->devices[0] ? !named : (d->optional || !(d->mode & cfg->mode)))
			continue;
		if (iofuzz_name_in_list(cfg->skip, d->name))
			continue;
		plan_add_range(plan, i);
	}
	TEST_ASSERT(plan->nr_ranges, "no device left to fuzz (check -m, -d and -x)");
}

/* The phases per range: read all, write 0 to all, fuzz_count x units writes; then mixed. */
static uint64_t plan_add_segs(const struct iofuzz_cfg *cfg, struct iofuzz_plan *plan)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < plan->nr_ranges; i++) {
		const struct iofuzz_range *r = &plan->ranges[i];
		uint64_t units = (r->end - r->beg) / r->stride + 1;
		uint64_t counts[3] = {
			[IOF_READ_ALL] = units,
			[IOF_WRITE_ZERO] = units,
			[IOF_FUZZ] = cfg->fuzz_count * units,
		};

		for (int p = 0; p < 3; p++) {
			if (!counts[p])
				continue;
			plan->segs[plan->nr_segs++] = (struct iofuzz_seg){
				.first = n, .count = counts[p], .phase = p, .range = i };
			n += counts[p];
		}
	}
	if (cfg->mixed_ops) {
		plan->segs[plan->nr_segs++] = (struct iofuzz_seg){
			.first = n, .count = cfg->mixed_ops, .phase = IOF_MIXED };
		n += cfg->mixed_ops;
	}
	return n;
}

void iofuzz_build_plan(const struct iofuzz_cfg *cfg, struct iofuzz_state *st)
{
	struct iofuzz_plan *plan = &st->plan;
	uint64_t n;

	memset(plan, 0, sizeof(*plan));
	plan->seed = cfg->seed;
	plan_pick_ranges(cfg, plan);
	plan_add_fixed_excl(plan);
	iofuzz_plan_add_skips(plan, cfg->skip);
	n = plan_add_segs(cfg, plan);
	plan->total = cfg->max_ops && cfg->max_ops < n ? cfg->max_ops : n;
	plan->migrate = cfg->migrate;
	plan->vcpus = cfg->vcpus > 1 ? cfg->vcpus : 1;
	plan->slice = cfg->slice ? cfg->slice : IOFUZZ_SLICE;
}

/* ---- explicit op lists (reproducers, the minimizer's trials) ---- */

void iofuzz_plan_for_list(struct iofuzz_plan *plan, uint64_t seed)
{
	memset(plan, 0, sizeof(*plan));
	plan->seed = seed;
	for (unsigned int i = 0; i < iofuzz_nr_devs; i++)
		plan_add_range(plan, i);
	plan_add_fixed_excl(plan);
}

int iofuzz_range_of(const struct iofuzz_plan *plan, unsigned int type, uint64_t addr)
{
	unsigned int space = type >= IOF_MSR_RD ? IOF_MSR :
			     type >= IOF_MMIO_RD ? IOF_MMIO : IOF_PORT;

	/* An MMIO op may hit any byte of its range's last 16-byte unit. */
	for (uint32_t i = 0; i < plan->nr_ranges; i++)
		if (plan->ranges[i].space == space && addr >= plan->ranges[i].beg &&
		    addr <= plan->ranges[i].end + plan->ranges[i].stride - 1)
			return i;
	return -1;
}

void iofuzz_set_list(struct iofuzz_state *st, const struct iofuzz_op *ops, uint64_t n)
{
	struct iofuzz_op *list = iofuzz_list(st);

	TEST_ASSERT(n && n <= IOFUZZ_MAX_LIST, "%lu ops: want 1-%u", n, IOFUZZ_MAX_LIST);
	iofuzz_plan_for_list(&st->plan, 0);
	for (uint64_t i = 0; i < n; i++) {
		int r = iofuzz_range_of(&st->plan, ops[i].type, ops[i].addr);

		TEST_ASSERT(r >= 0, "op %lu: address %#lx is in no device", i, ops[i].addr);
		list[i] = ops[i];
		list[i].range = r;
	}
	st->plan.nr_list = n;
	st->plan.total = n;
}

/* ---- op i, as the host sees it ---- */

void iofuzz_host_gen(const struct iofuzz_state *st, uint64_t idx, struct iofuzz_op *op)
{
	const struct iofuzz_plan *plan = &st->plan;

	if (plan->nr_list) {
		*op = ((const struct iofuzz_op *)st->list)[idx];
		return;
	}
	iofuzz_gen_op(plan, iofuzz_find_seg(plan, idx), plan->ranges, idx, op);
	op->cpu = iofuzz_op_cpu(plan, idx);
}

/*
 * The interleaving of several vCPUs: generated ops go in slices of
 * plan->slice ops, each slice to a vCPU drawn from (seed, slice number).  A
 * pure function of the op index, like the ops themselves, so a run (and a
 * restart resuming at any op) is replayed exactly.  The VMM runs one vCPU
 * at a time, so the order of every access across vCPUs is the op order.
 */
uint8_t iofuzz_op_cpu(const struct iofuzz_plan *plan, uint64_t idx)
{
	uint64_t z;

	if (plan->vcpus <= 1)
		return 0;
	z = (plan->seed ^ 0x7663707573ULL) + (idx / plan->slice + 1) * 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31)) % plan->vcpus;
}

const struct iofuzz_op *iofuzz_host_op(const struct iofuzz_state *st, uint64_t idx)
{
	static struct iofuzz_op op;

	iofuzz_host_gen(st, idx, &op);
	return &op;
}

uint64_t iofuzz_host_hash(const struct iofuzz_state *st, uint64_t from, uint64_t to)
{
	uint64_t h = IOFUZZ_HASH_INIT;
	struct iofuzz_op op;

	for (uint64_t i = from; i < to; i++) {
		iofuzz_host_gen(st, i, &op);
		h = iofuzz_hash_op(h, &op);
	}
	return h;
}
