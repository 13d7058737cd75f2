// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: comparing two platforms' read logs (tools/iofuzz -L, then -C).
 * The same seed and options give the same ops on every platform, and the
 * read oracle logs each read it checked with the bits it vouches for: on
 * a deterministic register two KVM implementations must return the same
 * bits.  A log starts with a "# platform NAME ..." line; each read is
 * "read OP VCPU VALUE BITS NAME".  Both logs are in op order, so one walk
 * pairs them; reads only one platform checked (a restart, a model switched
 * off) are counted, not compared.
 */
#include "internal.h"

struct log_read {
	uint64_t op, value, bits;
	unsigned int cpu;
	char name[96];
};

struct read_log {
	FILE *f;
	char platform[64];
	struct log_read r;
	bool more;
};

static void next_read(struct read_log *l)
{
	char line[256];

	l->more = false;
	while (fgets(line, sizeof(line), l->f)) {
		int n = 0;

		if (!strncmp(line, "# platform ", 11)) {
			sscanf(line + 11, "%63s", l->platform);
			continue;
		}
		if (sscanf(line, "read %lu %u %lx %lx %n", &l->r.op, &l->r.cpu, &l->r.value,
			   &l->r.bits, &n) != 4 || !n)
			continue;
		snprintf(l->r.name, sizeof(l->r.name), "%s", line + n);
		l->r.name[strcspn(l->r.name, "\n")] = 0;
		l->more = true;
		return;
	}
}

static bool open_log(struct read_log *l, const char *path, char *why, size_t len)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->platform, sizeof(l->platform), "%s", path);
	l->f = fopen(path, "r");
	if (!l->f) {
		snprintf(why, len, "cannot read '%s': %s", path, strerror(errno));
		return false;
	}
	next_read(l);
	return true;
}

/* Same op, same vCPU, same register: then a.name orders the reads within an op. */
static int cmp_reads(const struct log_read *a, const struct log_read *b)
{
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	if (a->cpu != b->cpu)
		return a->cpu < b->cpu ? -1 : 1;
	return strcmp(a->name, b->name);
}

long iofuzz_readlog_compare(const char *a, const char *b, char *why, size_t len)
{
	struct read_log la, lb;
	uint64_t both = 0, only = 0;
	long diff = 0;

	if (!open_log(&la, a, why, len))
		return -1;
	if (!open_log(&lb, b, why, len)) {
		fclose(la.f);
		return -1;
	}
	while (la.more && lb.more) {
		int c = cmp_reads(&la.r, &lb.r);
		uint64_t bits = la.r.bits & lb.r.bits;

		if (c) {
			only++;
			next_read(c < 0 ? &la : &lb);
			continue;
		}
		both++;
		if ((la.r.value ^ lb.r.value) & bits) {
			diff++;
			printf("# op %lu vCPU %u %s: %s read %#lx, %s read %#lx (bits compared %#lx)\n",
			       la.r.op, la.r.cpu, la.r.name, la.platform, la.r.value & bits,
			       lb.platform, lb.r.value & bits, bits);
		}
		next_read(&la);
		next_read(&lb);
	}
	while (la.more || lb.more) {
		only++;
		next_read(la.more ? &la : &lb);
	}
	printf("# %s vs %s: %lu reads compared, %ld differ; %lu checked on one side only\n",
	       la.platform, lb.platform, both, diff, only);
	fclose(la.f);
	fclose(lb.f);
	return diff;
}
