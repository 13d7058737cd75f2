// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: reproducer files.  Text, one op a line:
 *
 *	# comments
 *	fault KIND TYPE SIZE COUNT ADDR VALUE	(a planted fault, test-only)
 *	irq LINES				(the PIC lines the host holds, oracle.c)
 *	migrate N				(-M: move the VM every N ops)
 *	vcpus N					(-p: the VM's vCPUs)
 *	op TYPE SIZE COUNT ADDR VALUE [cpu C]	(C: the vCPU that runs it, 0 if absent)
 *
 * written by the minimizer and replayed with tools/iofuzz -r FILE.  A list
 * has no seed: an OUTS carries its data's seed in its own value.
 */
#include "internal.h"

static bool parse_op(const char *line, struct iofuzz_op *op)
{
	char type[16];
	unsigned int size, count, t, cpu = 0;
	unsigned long long addr, value;
	int end = 0;

	if (sscanf(line, "%15s %u %u %llx %llx%n", type, &size, &count, &addr, &value, &end) != 5)
		return false;
	if (sscanf(line + end, " cpu %u", &cpu) == 1 && cpu >= IOFUZZ_MAX_VCPUS)
		return false;
	t = iofuzz_type_by_name(type);
	if (t == IOF_NOP)
		return false;
	if ((size != 1 && size != 2 && size != 4 && size != 8) || !count ||
	    count > IOFUZZ_STR_MAX)
		return false;
	*op = (struct iofuzz_op){ .type = t, .size = size, .count = count, .cpu = cpu,
				  .addr = addr, .value = value };
	return true;
}

void iofuzz_format_op(char *buf, size_t len, const struct iofuzz_op *op)
{
	int n = snprintf(buf, len, "%s %u %u %#lx %#lx", iofuzz_type_name(op->type), op->size,
			 op->count, op->addr, op->value);

	if (op->cpu && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " cpu %u", op->cpu);
}

/* "fault KIND op..." (s just past "fault "): plants it in cfg and the plan. */
static bool parse_fault_line(const char *s, struct iofuzz_cfg *cfg, struct iofuzz_plan *plan)
{
	struct iofuzz_op op;
	char kind[16];

	if (sscanf(s, "%15s", kind) != 1 || !parse_op(s + strlen(kind), &op))
		return false;
	cfg->fault = iofuzz_fault_by_name(kind);
	if (!cfg->fault)
		return false;
	plan->fault = cfg->fault;
	plan->fault_op = op;
	return true;
}

/* One line of the file; false if it is neither blank, a comment, a fault nor an op. */
static bool load_line(char *s, struct iofuzz_cfg *cfg, struct iofuzz_state *st, uint64_t *n)
{
	struct iofuzz_op op;
	int r;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '#' || *s == '\n' || !*s)
		return true;
	if (!strncmp(s, "fault ", 6))
		return parse_fault_line(s + 6, cfg, &st->plan);
	if (!strncmp(s, "irq ", 4)) {
		unsigned int lines;

		if (sscanf(s + 4, "%x", &lines) != 1 || lines > 0xffff)
			return false;
		st->plan.irq_lines = lines;
		return true;
	}
	if (!strncmp(s, "migrate ", 8)) {
		unsigned int every;

		if (sscanf(s + 8, "%u", &every) != 1 || !every || every > IOFUZZ_MIGRATE_MAX)
			return false;
		st->plan.migrate = every;
		return true;
	}
	if (!strncmp(s, "vcpus ", 6)) {
		unsigned int n;

		if (sscanf(s + 6, "%u", &n) != 1 || !n || n > IOFUZZ_MAX_VCPUS)
			return false;
		st->plan.vcpus = n;
		return true;
	}
	if (strncmp(s, "op ", 3) || !parse_op(s + 3, &op) || *n >= IOFUZZ_MAX_LIST)
		return false;
	r = iofuzz_range_of(&st->plan, op.type, op.addr);
	if (r < 0)
		return false;
	op.range = r;
	iofuzz_list(st)[(*n)++] = op;
	return true;
}

bool iofuzz_load_ops(const char *path, struct iofuzz_cfg *cfg, struct iofuzz_state *st,
		     char *err, size_t len)
{
	FILE *f = fopen(path, "r");
	unsigned int lineno = 0;
	char line[256];
	uint64_t n = 0;

	if (!f) {
		snprintf(err, len, "cannot open '%s': %s", path, strerror(errno));
		return false;
	}
	iofuzz_plan_for_list(&st->plan, cfg->seed);
	st->plan.migrate = cfg->migrate;	/* a "migrate" line in the file wins */
	st->plan.vcpus = cfg->vcpus;		/* and a "vcpus" line */
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!load_line(line, cfg, st, &n)) {
			snprintf(err, len, "%s:%u: not an op line (want 'op TYPE SIZE COUNT ADDR "
				 "VALUE', at most %u ops, address inside a known device): %s",
				 path, lineno, IOFUZZ_MAX_LIST, line);
			fclose(f);
			return false;
		}
	}
	fclose(f);
	if (!n) {
		snprintf(err, len, "'%s' holds no ops", path);
		return false;
	}
	if (st->plan.vcpus < 1)
		st->plan.vcpus = 1;
	for (uint64_t i = 0; i < n; i++) {
		if (iofuzz_list(st)[i].cpu < st->plan.vcpus)
			continue;
		snprintf(err, len, "'%s': op %lu runs on vCPU %u of %u (a 'vcpus N' line sets N)",
			 path, i, iofuzz_list(st)[i].cpu, st->plan.vcpus);
		return false;
	}
	if (st->plan.fault)
		st->plan.fault_op.range = iofuzz_range_of(&st->plan, st->plan.fault_op.type,
							  st->plan.fault_op.addr);
	st->plan.nr_list = n;
	st->plan.total = n;
	return true;
}

void iofuzz_write_ops(const char *path, const struct iofuzz_plan *plan,
		      const struct iofuzz_op *ops, uint64_t n, const char *why)
{
	FILE *f = fopen(path, "w");
	char buf[128];

	TEST_ASSERT(f, "cannot write reproducer '%s'", path);
	fprintf(f, "# iofuzz reproducer: %s\n# replay: tools/iofuzz -r %s\n", why, path);
	if (plan->fault) {
		iofuzz_format_op(buf, sizeof(buf), &plan->fault_op);
		fprintf(f, "fault %s %s\n", iofuzz_fault_name(plan->fault), buf);
	}
	if (plan->irq_lines)
		fprintf(f, "irq %#x\n", plan->irq_lines);
	if (plan->migrate)
		fprintf(f, "migrate %u\n", plan->migrate);
	if (plan->vcpus > 1)
		fprintf(f, "vcpus %u\n", plan->vcpus);
	for (uint64_t i = 0; i < n; i++) {
		iofuzz_format_op(buf, sizeof(buf), &ops[i]);
		fprintf(f, "op %s\n", buf);
	}
	TEST_ASSERT(!fclose(f), "writing '%s'", path);
}
