// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: what a run did, for people.  The ring of the last exits to
 * userspace (kept in the shared state, so a supervisor can print it after
 * the VMM died), the last ops regenerated, the per-device table, the
 * busiest ports, and the host kernel's log of the run.
 */
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"
#include "kmsg.h"
#include "kselftest.h"

void iofuzz_log_exit(struct iofuzz_state *st, uint64_t idx, const struct iofuzz_op *op,
		     uint32_t exit_reason)
{
	struct iofuzz_log_entry *e = &st->log[st->log_pos++ % IOFUZZ_LOG_RING];

	e->idx = idx;
	e->op = *op;
	e->exit_reason = exit_reason;
}

void iofuzz_print_log(const struct iofuzz_state *st)
{
	uint64_t n = st->log_pos < IOFUZZ_LOG_RING ? st->log_pos : IOFUZZ_LOG_RING;
	char buf[128];

	kvm_log("last %lu exits to userspace (seed %#lx, current op %lu), as the exit described "
		"the access:", n, st->plan.seed, st->cur);
	for (uint64_t i = st->log_pos - n; i < st->log_pos; i++) {
		const struct iofuzz_log_entry *e = &st->log[i % IOFUZZ_LOG_RING];

		iofuzz_format_op(buf, sizeof(buf), &e->op);
		kvm_log("  op %-8lu %-40s %s", e->idx, buf,
			e->exit_reason ? exit_reason_str(e->exit_reason) : "in kernel");
	}
}

void iofuzz_print_recent(const struct iofuzz_state *st, uint64_t at)
{
	uint64_t from, oldest = ~0ULL, first_k;
	char buf[128], how[64];

	if (!st->plan.total)
		return;
	if (at >= st->plan.total)
		at = st->plan.total - 1;
	from = at >= IOFUZZ_RECENT - 1 ? at - (IOFUZZ_RECENT - 1) : 0;
	/*
	 * The log holds every exit of this run until it wraps; after that, ops
	 * older than its oldest entry may have exits it no longer holds.
	 */
	first_k = st->log_pos > IOFUZZ_LOG_RING ? st->log_pos - IOFUZZ_LOG_RING : 0;
	if (first_k)
		oldest = st->log[first_k % IOFUZZ_LOG_RING].idx;
	/*
	 * The VMM's code runs only while the vCPU is out, so a VMM that died
	 * handling op `at` had run every op up to it; the in-kernel ones made
	 * no exit to log, but op i is a pure function of (seed, i): regenerate.
	 */
	kvm_log("last %lu ops up to op %lu (seed %#lx), regenerated; exits from the log:",
		at - from + 1, at, st->plan.seed);
	for (uint64_t i = from; i <= at; i++) {
		uint32_t reason = 0;
		unsigned int exits = 0;
		struct iofuzz_op op;

		iofuzz_host_gen(st, i, &op);
		for (uint64_t k = first_k; k < st->log_pos; k++) {
			const struct iofuzz_log_entry *e = &st->log[k % IOFUZZ_LOG_RING];

			if (e->idx == i && e->exit_reason) {
				reason = e->exit_reason;
				exits++;
			}
		}
		if (op.type == IOF_NOP)
			snprintf(how, sizeof(how), "skipped unit");
		else if (exits > 1)
			snprintf(how, sizeof(how), "%s x%u", exit_reason_str(reason), exits);
		else if (exits)
			snprintf(how, sizeof(how), "%s", exit_reason_str(reason));
		else if (oldest == ~0ULL || oldest < i)
			snprintf(how, sizeof(how), "%s", i == at ? "stopped here, no exit logged" :
				 "in kernel");
		else
			snprintf(how, sizeof(how), "older than the exit log");
		iofuzz_format_op(buf, sizeof(buf), &op);
		kvm_log("  op %-8lu %-40s %s", i, buf, how);
	}
}

void iofuzz_print_ports(const struct iofuzz_state *st, unsigned int top)
{
	uint32_t shown_max = ~0U;
	unsigned int shown = 0;

	kvm_log("ports with the most exits to userspace:");
	/* Descending by count; ties in port order.  top is small: rescan per rank. */
	while (shown < top) {
		uint32_t best = 0;

		for (uint32_t p = 0; p < 65536; p++)
			if (st->port_exits[p] < shown_max && st->port_exits[p] > best)
				best = st->port_exits[p];
		if (!best)
			break;
		for (uint32_t p = 0; p < 65536 && shown < top; p++) {
			if (st->port_exits[p] != best)
				continue;
			kvm_log("  port %#06x %-12s %10u exits", p, iofuzz_port_dev_name(p), best);
			shown++;
		}
		shown_max = best;
	}
}

void iofuzz_print_table(const struct iofuzz_state *st)
{
	/*
	 * exits and ops are counted by the range the op was drawn from (an exit
	 * by the op its RIP names); in-kernel is not counted but computed:
	 * ops - ops that made at least one exit to userspace.
	 */
	kvm_log("%-12s %10s %10s %10s %8s  (in-kernel = ops - ops that exited)", "device",
		"ops", "exits", "in-kernel", "restarts");
	for (unsigned int d = 0; d < iofuzz_nr_devs; d++) {
		const struct iofuzz_dev_stats *s = &st->stats[d];

		if (!s->ops && !s->exits)
			continue;
		kvm_log("%-12s %10lu %10lu %10lu %8lu", iofuzz_devs[d].name, s->ops, s->exits,
			s->in_kernel, s->restarts);
	}
	kvm_log("seed %#lx: %lu ops in %lu lives, %lu restarts, %lu findings, %.3f s, "
		"op-log hash %#lx", st->plan.seed, st->done, st->lives, st->restarts,
		st->findings, st->elapsed_ns / 1e9, st->hash);
}

int iofuzz_finding_dev(const struct iofuzz_state *st)
{
	const struct iofuzz_seg *seg;
	struct iofuzz_op op;

	if (!st->findings)
		return -1;
	/* A KVM_GET_IRQCHIP mismatch: the register's device, not the chunk's last op's. */
	if (st->finding_dev >= 0)
		return st->finding_dev;
	if (st->cur >= st->plan.total)
		return -1;
	/* Generated ops only: an explicit list has no segments, so no blame. */
	seg = iofuzz_find_seg(&st->plan, st->cur);
	if (!seg)
		return -1;
	iofuzz_gen_op(&st->plan, seg, st->plan.ranges, st->cur, &op);
	return st->plan.ranges[op.range].id;
}

int iofuzz_dev_result(const struct iofuzz_state *st, unsigned int dev, char *why, size_t len)
{
	int bad_dev = iofuzz_finding_dev(st);
	const struct iofuzz_dev_stats *s = &st->stats[dev];

	why[0] = 0;
	if (st->findings && (bad_dev < 0 || bad_dev == (int)dev)) {
		snprintf(why, len, "%s", st->finding);
		return KSFT_FAIL;
	}
	if (!iofuzz_oracle_models(dev))
		return KSFT_PASS;
	if (!st->oracle) {
		snprintf(why, len, "read oracle off: crashes and hangs only");
		return KSFT_PASS;
	}
	if (!s->ops) {
		snprintf(why, len, "no op reached it within the budget");
		return KSFT_SKIP;
	}
	if (s->oracle_reads < IOFUZZ_ORACLE_MIN_READS) {
		snprintf(why, len, "the oracle checked %lu of its reads, fewer than %u",
			 s->oracle_reads, IOFUZZ_ORACLE_MIN_READS);
		return KSFT_SKIP;
	}
	snprintf(why, len, "%lu ops, %lu reads checked by the oracle", s->ops, s->oracle_reads);
	return KSFT_PASS;
}

/* ---- the host kernel log ---- */

int iofuzz_kmsg_scan(int fd, char *first, size_t len)
{
	static const char *const bad[] = { "WARNING:", "BUG:", "Oops", "general protection",
					   "kernel BUG" };
	char line[1024];
	int hits = 0;

	while (kmsg_next(fd, line, sizeof(line))) {
		for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
			if (strstr(line, bad[i])) {
				if (!hits++)
					snprintf(first, len, "%s\n", line);
				break;
			}
	}
	return hits;
}

int iofuzz_kmsg_report(int fd)
{
	char first[256] = "";
	int hits;

	if (fd < 0)
		return 0;
	hits = iofuzz_kmsg_scan(fd, first, sizeof(first));
	if (hits)
		printf("# host kernel logged %d WARN/BUG/Oops lines during the run, first: %s",
		       hits, first);
	return hits;
}
