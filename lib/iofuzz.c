// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz host side: the port map, the plan, a small device model for ports
 * that exit to userspace, the heartbeat watchdog and VM restart, the
 * supervising parent, the minimizer and the reproducer file.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "iofuzz.h"
#include "kvm_util.h"

#define LAPIC_GPA	0xfee00000ULL
#define IOAPIC_GPA	0xfec00000ULL
#define MAX_RESTARTS	2000

/*
 * The ports KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2 (with the dummy speaker)
 * put in the kernel, the ones the device model below answers, the two MMIO
 * pages of the in-kernel APICs and the MSR ranges KVM emulates.  MMIO units
 * are the 16-byte register slots (Intel 82093AA datasheet 3.0; SDM vol. 3A
 * 11.4.1 table 11-1).
 */
#define PORT(n, b, e, k, pit)	\
	{ n, { b, e, IOF_PORT, 1, k, 0 }, IOFUZZ_MODE_PORTS, pit, false }
#define MMIO(n, b, e)	{ n, { b, e, IOF_MMIO, 16, 1, 0 }, IOFUZZ_MODE_MMIO, false, false }
#define MSR(n, b, e, opt)	{ n, { b, e, IOF_MSR, 1, 1, 0 }, IOFUZZ_MODE_MSR, false, opt }
const struct iofuzz_dev iofuzz_devs[] = {
	PORT("pic_master", 0x20, 0x21, 1, false),
	PORT("pit", 0x40, 0x43, 1, true),
	PORT("speaker", 0x61, 0x61, 1, true),
	PORT("pic_slave", 0xa0, 0xa1, 1, false),
	PORT("elcr", 0x4d0, 0x4d1, 1, false),
	PORT("cmos", 0x70, 0x71, 0, false),
	PORT("port80", 0x80, 0x80, 0, false),
	PORT("com1", 0x3f8, 0x3ff, 0, false),
	PORT("pci_conf", 0xcf8, 0xcff, 0, false),
	MMIO("lapic", LAPIC_GPA, LAPIC_GPA + 0xff0),
	MMIO("ioapic", IOAPIC_GPA, IOAPIC_GPA + 0x40),
	MSR("msr_arch", 0, 0x1fff, false),
	MSR("msr_amd64", 0xc0000000, 0xc00001ff, false),
	MSR("msr_kvm", 0x4b564d00, 0x4b564d0f, true),
	/* Full-range mode: every port but UCALL_PIO_PORT (the suite's own channel). */
	{ "full", { 0, 0xffff, IOF_PORT, 1, 0, 0 }, IOFUZZ_MODE_PORTS, false, true },
};
const unsigned int iofuzz_nr_devs = ARRAY_SIZE(iofuzz_devs);

/*
 * Never touched: the ucall port, and MSRs whose write would pull the floor
 * from under the executor itself rather than exercise KVM (EFER.LME/LMA,
 * GS.base holds the guest's per-CPU pointer, and the KVM clock MSRs, old
 * 0x11/0x12 and new MSR_KVM_WALL_CLOCK_NEW/MSR_KVM_SYSTEM_TIME_NEW
 * 0x4b564d00/01, make KVM write guest RAM at a fuzzed address:
 * Documentation/virt/kvm/x86/msr.rst).
 */
static const struct iofuzz_range fixed_excl[] = {
	{ UCALL_PIO_PORT, UCALL_PIO_PORT + 3, IOF_PORT, 1, 0, 0 },
	{ 0x11, 0x12, IOF_MSR, 1, 0, 0 },
	{ 0x4b564d00, 0x4b564d01, IOF_MSR, 1, 0, 0 },
	{ 0xc0000080, 0xc0000080, IOF_MSR, 1, 0, 0 },
	{ 0xc0000101, 0xc0000101, IOF_MSR, 1, 0, 0 },
};
_Static_assert(ARRAY_SIZE(fixed_excl) == IOFUZZ_NR_FIXED_EXCL, "IOFUZZ_NR_FIXED_EXCL");

/* The guest's copies (every global is in the ELF loaded into the guest). */
static struct iofuzz_plan guest_plan;
static struct iofuzz_shared guest_shared;

static const char *const type_names[IOF_NR_TYPES] = {
	"nop", "in", "out", "ins", "outs", "mmio_rd", "mmio_wr", "msr_rd", "msr_wr",
};

const char *iofuzz_type_name(unsigned int type)
{
	return type < IOF_NR_TYPES ? type_names[type] : "?";
}

bool iofuzz_parse_mode(const char *s, uint32_t *mode)
{
	static const struct { const char *n; uint32_t m; } modes[] = {
		{ "ports", IOFUZZ_MODE_PORTS }, { "mmio", IOFUZZ_MODE_MMIO },
		{ "msr", IOFUZZ_MODE_MSR }, { "all", IOFUZZ_MODE_ALL },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(modes); i++)
		if (!strcmp(s, modes[i].n)) {
			*mode = modes[i].m;
			return true;
		}
	return false;
}

static int dev_by_name(const char *name, size_t len)
{
	for (unsigned int i = 0; i < iofuzz_nr_devs; i++)
		if (strlen(iofuzz_devs[i].name) == len && !strncmp(iofuzz_devs[i].name, name, len))
			return i;
	return -1;
}

/*
 * "[SPACE:]lo-hi" or "[SPACE:]lo" in a -x list, SPACE one of port (the
 * default), mmio, msr; false if it is none of these.
 */
static bool parse_range(const char *s, size_t len, uint8_t *space, uint64_t *lo, uint64_t *hi)
{
	static const struct { const char *p; uint8_t space; } spaces[] = {
		{ "port:", IOF_PORT }, { "mmio:", IOF_MMIO }, { "msr:", IOF_MSR },
	};
	char buf[64], *dash;

	*space = IOF_PORT;
	for (unsigned int i = 0; i < ARRAY_SIZE(spaces); i++) {
		size_t n = strlen(spaces[i].p);

		if (len > n && !strncmp(s, spaces[i].p, n)) {
			*space = spaces[i].space;
			s += n;
			len -= n;
			break;
		}
	}
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = 0;
	dash = strchr(buf, '-');
	if (dash)
		*dash = 0;
	if (!parse_u64(buf, lo))
		return false;
	if (!dash) {
		*hi = *lo;
		return true;
	}
	return parse_u64(dash + 1, hi) && *hi >= *lo;
}

/*
 * Adds one -x range to excl[] unless the same range is there already;
 * false when the list is full.
 */
static bool excl_add(struct iofuzz_range *excl, uint32_t *n, uint32_t max, uint8_t space,
		     uint64_t lo, uint64_t hi)
{
	for (uint32_t i = 0; i < *n; i++)
		if (excl[i].space == space && excl[i].beg == lo && excl[i].end == hi)
			return true;
	if (*n >= max)
		return false;
	excl[(*n)++] = (struct iofuzz_range){ lo, hi, space, 1, 0, 0 };
	return true;
}

/* Calls fn(item, len) for each comma-separated item; stops at the first false. */
static bool for_each_item(const char *list, bool (*fn)(const char *, size_t, void *), void *arg)
{
	while (*list) {
		const char *end = strchr(list, ',');
		size_t len = end ? (size_t)(end - list) : strlen(list);

		if (len && !fn(list, len, arg))
			return false;
		list += len + (end ? 1 : 0);
	}
	return true;
}

struct list_check {
	char *err;
	size_t len;
	bool ranges_ok;
	uint32_t nr_excl;
	struct iofuzz_range excl[IOFUZZ_MAX_EXCL];
};

static bool check_item(const char *s, size_t len, void *arg)
{
	struct list_check *c = arg;
	uint64_t lo, hi;
	uint8_t space;

	if (dev_by_name(s, len) >= 0)
		return true;
	if (c->ranges_ok && parse_range(s, len, &space, &lo, &hi)) {
		if (excl_add(c->excl, &c->nr_excl, IOFUZZ_MAX_SKIP, space, lo, hi))
			return true;
		snprintf(c->err, c->len, "-x: more than %lu distinct ranges at '%.*s'",
			 (unsigned long)IOFUZZ_MAX_SKIP, (int)len, s);
		return false;
	}
	snprintf(c->err, c->len, "unknown device '%.*s'%s", (int)len, s,
		 c->ranges_ok ? " (and not a range [port:|mmio:|msr:]lo[-hi])" : "");
	return false;
}

bool iofuzz_check_lists(const struct iofuzz_cfg *cfg, char *err, size_t len)
{
	struct list_check c = { err, len, false, 0, {} };

	if (!for_each_item(cfg->devices, check_item, &c))
		return false;
	c.ranges_ok = true;
	return for_each_item(cfg->skip, check_item, &c);
}

static bool name_in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	while (*list) {
		const char *end = strchr(list, ',');
		size_t len = end ? (size_t)(end - list) : strlen(list);

		if (len == n && !strncmp(list, name, n))
			return true;
		list += len + (end ? 1 : 0);
	}
	return false;
}

struct skip_ctx {
	struct iofuzz_plan *plan;
};

/*
 * A numeric range skips that range of its own space only: ports unless it
 * says mmio: or msr:, so -x 0x10-0x20 leaves MSRs 0x10-0x20 fuzzed.
 */
static bool add_skip_range(const char *s, size_t len, void *arg)
{
	struct iofuzz_plan *plan = ((struct skip_ctx *)arg)->plan;
	uint64_t lo, hi;
	uint8_t space;

	if (dev_by_name(s, len) >= 0 || !parse_range(s, len, &space, &lo, &hi))
		return true;
	TEST_ASSERT(excl_add(plan->excl, &plan->nr_excl, IOFUZZ_MAX_EXCL, space, lo, hi),
		    "-x: more than %lu distinct ranges at '%.*s'",
		    (unsigned long)IOFUZZ_MAX_SKIP, (int)len, s);
	return true;
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
	for (unsigned int i = 0; i < ARRAY_SIZE(fixed_excl); i++)
		plan->excl[plan->nr_excl++] = fixed_excl[i];
}

void iofuzz_build_plan(const struct iofuzz_cfg *cfg, struct iofuzz_state *st)
{
	struct iofuzz_plan *plan = &st->plan;
	struct skip_ctx sc = { plan };
	uint64_t n = 0;

	memset(plan, 0, sizeof(*plan));
	plan->seed = cfg->seed;
	for (unsigned int i = 0; i < iofuzz_nr_devs; i++) {
		const struct iofuzz_dev *d = &iofuzz_devs[i];
		bool named = name_in_list(cfg->devices, d->name);

		if (cfg->devices[0] ? !named : (d->optional || !(d->mode & cfg->mode)))
			continue;
		if (name_in_list(cfg->skip, d->name))
			continue;
		plan->ranges[plan->nr_ranges] = d->r;
		plan->ranges[plan->nr_ranges++].id = i;
	}
	TEST_ASSERT(plan->nr_ranges, "no device left to fuzz (check -m, -d and -x)");
	plan_add_fixed_excl(plan);
	for_each_item(cfg->skip, add_skip_range, &sc);

	/* The seed's phases per range: read all, write 0 to all, fuzz_count x size writes. */
	for (uint32_t i = 0; i < plan->nr_ranges; i++) {
		const struct iofuzz_range *r = &plan->ranges[i];
		uint64_t units = (r->end - r->beg) / r->stride + 1;
		uint64_t counts[3] = { units, units, cfg->fuzz_count * units };

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
	plan->total = cfg->max_ops && cfg->max_ops < n ? cfg->max_ops : n;
}

static void host_gen(const struct iofuzz_state *st, uint64_t idx, struct iofuzz_op *op)
{
	const struct iofuzz_plan *plan = &st->plan;

	if (plan->nr_list) {
		*op = ((const struct iofuzz_op *)st->list)[idx];
		return;
	}
	iofuzz_gen_op(plan, iofuzz_find_seg(plan, idx), plan->ranges, idx, op);
}

/* Op idx, in a buffer valid until the next call. */
static const struct iofuzz_op *host_op(const struct iofuzz_state *st, uint64_t idx)
{
	static struct iofuzz_op op;

	host_gen(st, idx, &op);
	return &op;
}

/* ---- planted faults (test-only) ---- */

/* Does an op before k look exactly like op k?  Then a content-matched fault fires early. */
static bool seen_before(const struct iofuzz_state *st, uint64_t k, const struct iofuzz_op *op)
{
	struct iofuzz_op o;

	for (uint64_t i = 0; i < k; i++) {
		host_gen(st, i, &o);
		if (iofuzz_op_equal(&o, op))
			return true;
	}
	return false;
}

static void plant_fault(const struct iofuzz_cfg *cfg, struct iofuzz_state *st)
{
	struct iofuzz_plan *plan = &st->plan;
	uint64_t k = cfg->fault_at;

	if (!cfg->fault)
		return;		/* none, or planted already (a reproducer file) */
	plan->fault = cfg->fault;
	TEST_ASSERT(k < plan->total, "fault op %lu beyond the run's %lu ops", k, plan->total);
	/*
	 * The first op from K on that is unique so far (the fault matches ops by
	 * content) and, for a device-model crash, exits to userspace as an OUT.
	 */
	for (;; k++) {
		TEST_ASSERT(k < plan->total, "no op at or after %lu can carry the fault",
			    cfg->fault_at);
		host_gen(st, k, &plan->fault_op);
		if (plan->fault_op.type == IOF_NOP)
			continue;
		if (cfg->fault == IOF_FAULT_CRASH && (plan->fault_op.type != IOF_OUT ||
		    plan->ranges[plan->fault_op.range].in_kernel))
			continue;
		if (!seen_before(st, k, &plan->fault_op))
			break;
	}
	st->fault_idx = k;
	if (k != cfg->fault_at)
		kvm_log("iofuzz: planted fault moved to op %lu, the first fitting op from %lu",
			k, cfg->fault_at);
}

/* ---- reproducer files ---- */

static int range_of(const struct iofuzz_plan *plan, unsigned int type, uint64_t addr)
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

/* Every device of every space: an explicit list may hold any op. */
static void plan_for_list(struct iofuzz_plan *plan, uint64_t seed)
{
	memset(plan, 0, sizeof(*plan));
	plan->seed = seed;
	for (unsigned int i = 0; i < iofuzz_nr_devs; i++) {
		plan->ranges[plan->nr_ranges] = iofuzz_devs[i].r;
		plan->ranges[plan->nr_ranges++].id = i;
	}
	plan_add_fixed_excl(plan);
}

void iofuzz_set_list(struct iofuzz_state *st, const struct iofuzz_op *ops, uint64_t n)
{
	struct iofuzz_op *list = (struct iofuzz_op *)st->list;

	TEST_ASSERT(n && n <= IOFUZZ_MAX_LIST, "%lu ops: want 1-%u", n, IOFUZZ_MAX_LIST);
	plan_for_list(&st->plan, 0);
	for (uint64_t i = 0; i < n; i++) {
		int r = range_of(&st->plan, ops[i].type, ops[i].addr);

		TEST_ASSERT(r >= 0, "op %lu: address %#lx is in no device", i, ops[i].addr);
		list[i] = ops[i];
		list[i].range = r;
	}
	st->plan.nr_list = n;
	st->plan.total = n;
}

static bool parse_op(const char *line, struct iofuzz_op *op)
{
	char type[16];
	unsigned int size, count;
	unsigned long long addr, value;

	if (sscanf(line, "%15s %u %u %llx %llx", type, &size, &count, &addr, &value) != 5)
		return false;
	for (unsigned int t = 1; t < IOF_NR_TYPES; t++) {
		if (strcmp(type, type_names[t]))
			continue;
		if ((size != 1 && size != 2 && size != 4 && size != 8) || !count ||
		    count > IOFUZZ_STR_MAX)
			return false;
		*op = (struct iofuzz_op){ .type = t, .size = size, .count = count,
					  .addr = addr, .value = value };
		return true;
	}
	return false;
}

static void format_op(char *buf, size_t len, const struct iofuzz_op *op)
{
	snprintf(buf, len, "%s %u %u %#lx %#lx", iofuzz_type_name(op->type), op->size,
		 op->count, op->addr, op->value);
}

bool iofuzz_load_ops(const char *path, struct iofuzz_cfg *cfg, struct iofuzz_state *st,
		     char *err, size_t len)
{
	struct iofuzz_op *list = (struct iofuzz_op *)st->list;
	FILE *f = fopen(path, "r");
	char line[256];
	unsigned int lineno = 0;
	uint64_t n = 0;

	if (!f) {
		snprintf(err, len, "cannot open '%s': %s", path, strerror(errno));
		return false;
	}
	plan_for_list(&st->plan, cfg->seed);
	while (fgets(line, sizeof(line), f)) {
		struct iofuzz_op op;
		char *s = line;
		int r;

		lineno++;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '#' || *s == '\n' || !*s)
			continue;
		if (!strncmp(s, "fault ", 6)) {
			char kind[16];

			if (sscanf(s + 6, "%15s", kind) != 1 ||
			    !parse_op(s + 6 + strlen(kind), &op))
				goto bad;
			cfg->fault = !strcmp(kind, "triple") ? IOF_FAULT_TRIPLE :
				     !strcmp(kind, "hang") ? IOF_FAULT_HANG :
				     !strcmp(kind, "crash") ? IOF_FAULT_CRASH : IOF_FAULT_NONE;
			if (!cfg->fault)
				goto bad;
			st->plan.fault = cfg->fault;
			st->plan.fault_op = op;
			continue;
		}
		if (strncmp(s, "op ", 3) || !parse_op(s + 3, &op) || n >= IOFUZZ_MAX_LIST)
			goto bad;
		r = range_of(&st->plan, op.type, op.addr);
		if (r < 0)
			goto bad;
		op.range = r;
		list[n++] = op;
	}
	fclose(f);
	if (!n) {
		snprintf(err, len, "'%s' holds no ops", path);
		return false;
	}
	if (st->plan.fault)
		st->plan.fault_op.range = range_of(&st->plan, st->plan.fault_op.type,
						   st->plan.fault_op.addr);
	st->plan.nr_list = n;
	st->plan.total = n;
	return true;
bad:
	snprintf(err, len, "%s:%u: not an op line (want 'op TYPE SIZE COUNT ADDR VALUE', "
		 "at most %u ops, address inside a known device): %s", path, lineno,
		 IOFUZZ_MAX_LIST, line);
	fclose(f);
	return false;
}

static const char *fault_name(uint32_t f)
{
	return f == IOF_FAULT_TRIPLE ? "triple" : f == IOF_FAULT_HANG ? "hang" :
	       f == IOF_FAULT_CRASH ? "crash" : "none";
}

static void write_ops(const char *path, const struct iofuzz_plan *plan,
		      const struct iofuzz_op *ops, uint64_t n, const char *why)
{
	FILE *f = fopen(path, "w");
	char buf[128];

	TEST_ASSERT(f, "cannot write reproducer '%s'", path);
	fprintf(f, "# iofuzz reproducer: %s\n# replay: iofuzz_test -r %s\n", why, path);
	if (plan->fault) {
		format_op(buf, sizeof(buf), &plan->fault_op);
		fprintf(f, "fault %s %s\n", fault_name(plan->fault), buf);
	}
	for (uint64_t i = 0; i < n; i++) {
		format_op(buf, sizeof(buf), &ops[i]);
		fprintf(f, "op %s\n", buf);
	}
	TEST_ASSERT(!fclose(f), "writing '%s'", path);
}

/* ---- the device model for ports that exit to userspace ---- */

struct devmodel {
	uint8_t cmos_index, cmos[128];
	uint8_t com1_scratch;
	uint32_t pci_addr;
};

static uint32_t model_in(struct devmodel *m, uint16_t port)
{
	switch (port) {
	case 0x71:
		return m->cmos[m->cmos_index & 0x7f];
	case 0x3fd:
		return 0x60;		/* LSR: transmitter empty */
	case 0x3ff:
		return m->com1_scratch;
	case 0xcf8:
		return m->pci_addr;
	default:
		return 0xffffffff;	/* nothing there: the bus floats high */
	}
}

static void model_out(struct devmodel *m, uint16_t port, uint32_t v)
{
	switch (port) {
	case 0x70:
		m->cmos_index = v;
		break;
	case 0x71:
		m->cmos[m->cmos_index & 0x7f] = v;
		break;
	case 0x3ff:
		m->com1_scratch = v;
		break;
	case 0xcf8:
		m->pci_addr = v;
		break;
	}
}


/* ---- the fast executor: ops compiled to guest machine code ----
 *
 * On kvm_pvm every guest instruction costs ~0.6 us (measured: a 5-instruction
 * loop runs at 2.9 us an iteration), so an op that the guest generates itself
 * (~300 instructions of PRNG and decoding) costs ~100x the access it makes.
 * The host therefore runs the same generator and emits each op as the 2-4
 * instructions that perform it: "mov $v,%eax; mov $port,%edx; out" is one
 * instruction more than the raw exit loop.  Chunks of JIT_CHUNK ops end with
 * a jump to a fixed tail that reports IOFUZZ_CHUNK_MAGIC on the ucall port;
 * the host refills the body while the vCPU is out and the tail jumps back.
 * The op index of an exit comes from its RIP through the per-op offsets of
 * the access instruction (the last one of each op): an exit leaves RIP at its
 * start or just past its end, nowhere else.
 */
#define JIT_CHUNK	2048
#define JIT_OP_MAX	48		/* bytes of code one op may take, fault included */
#define JIT_TAIL	(JIT_CHUNK * JIT_OP_MAX + 16)
#define JIT_DATA	(JIT_TAIL + 64)	/* 32-byte INS/OUTS buffers, one per op */
#define JIT_BYTES	(JIT_DATA + JIT_CHUNK * 32)

struct jit {
	uint64_t gva;
	uint8_t *hva;
	uint64_t first, n;
	uint32_t off[JIT_CHUNK + 1];	/* where each op's code starts */
	/* Its access instruction: [acc, end); acc == end for a NOP op (no access). */
	uint32_t acc[JIT_CHUNK], end[JIT_CHUNK];
	uint32_t hb_gva;
};

static uint8_t *emit_imm(uint8_t *p, uint8_t opcode, uint32_t v)
{
	*p++ = opcode;
	memcpy(p, &v, 4);
	return p + 4;
}

static uint8_t *emit_bytes(uint8_t *p, const char *b, size_t n)
{
	memcpy(p, b, n);
	return p + n;
}

#define MOV_EAX	0xb8
#define MOV_ECX	0xb9
#define MOV_EDX	0xba
#define MOV_ESI	0xbe
#define MOV_EDI	0xbf

static uint8_t *emit_hb(uint8_t *p, uint32_t hb_gva, uint32_t idx)
{
	/* movl $idx, hb_gva (C7 /0 with a SIB-only disp32 address) */
	p = emit_bytes(p, "\xc7\x04\x25", 3);
	memcpy(p, &hb_gva, 4);
	memcpy(p + 4, &idx, 4);
	return p + 8;
}

static uint8_t *emit_jmp(uint8_t *p, uint8_t *base, uint32_t to)
{
	int32_t rel = (int32_t)to - (int32_t)(p + 5 - base);

	return emit_imm(p, 0xe9, rel);
}

/*
 * What the emitted code left in EAX and EDX, so a load of the same value is
 * skipped: the seed's read-all and write-0 phases then cost one instruction
 * per op, as the raw loop does.
 */
struct jit_regs {
	bool eax_ok, edx_ok;
	uint32_t eax, edx;
};

static uint8_t *emit_eax(uint8_t *p, struct jit_regs *r, uint32_t v)
{
	if (r->eax_ok && r->eax == v)
		return p;
	r->eax_ok = true;
	r->eax = v;
	return emit_imm(p, MOV_EAX, v);
}

static uint8_t *emit_edx(uint8_t *p, struct jit_regs *r, uint32_t v)
{
	if (r->edx_ok && r->edx == v)
		return p;
	r->edx_ok = true;
	r->edx = v;
	return emit_imm(p, MOV_EDX, v);
}

/*
 * Where the access instruction (prefixes included) begins.  It may not begin
 * at `avoid`, the end of the previous op's access, when that op would exit
 * just like this one: an exit there, with RIP just past the one or at the
 * other, would name either op.  A NOP between them tells them apart.
 */
static uint8_t *emit_access(uint8_t *p, const uint8_t *avoid, uint8_t **acc)
{
	if (p == avoid)
		*p++ = 0x90;	/* nop */
	*acc = p;
	return p;
}

/* mov (%rsi) to or from %al, %ax, %eax or %rax: 8A/8B, 88/89, with 66 or REX.W. */
static uint8_t *emit_mov_rsi(uint8_t *p, unsigned int size, bool store)
{
	if (size == 2)
		*p++ = 0x66;
	if (size == 8)
		*p++ = 0x48;
	*p++ = (store ? 0x88 : 0x8a) + (size != 1);
	*p++ = 0x06;		/* ModRM: (%rsi) */
	return p;
}

static uint8_t *emit_op(uint8_t *p, const struct iofuzz_op *op, uint32_t buf_gva,
			struct jit_regs *r, const uint8_t *avoid, uint8_t **acc)
{
	bool w16 = op->size == 2, b8 = op->size == 1;

	*acc = p;
	switch (op->type) {
	case IOF_OUT:
		p = emit_eax(p, r, op->value);
		/* Ports below 0x100 have the imm8 form (E6/E7): one instruction less. */
		if (op->addr < 0x100) {
			p = emit_access(p, avoid, acc);
			if (w16)
				*p++ = 0x66;
			*p++ = b8 ? 0xe6 : 0xe7;
			*p++ = op->addr;
			break;
		}
		p = emit_edx(p, r, op->addr);
		p = emit_access(p, avoid, acc);
		if (w16)
			*p++ = 0x66;
		*p++ = b8 ? 0xee : 0xef;
		break;
	case IOF_IN:
		r->eax_ok = false;
		if (op->addr < 0x100) {
			p = emit_access(p, avoid, acc);
			if (w16)
				*p++ = 0x66;
			*p++ = b8 ? 0xe4 : 0xe5;	/* IN from imm8 port */
			*p++ = op->addr;
			break;
		}
		p = emit_edx(p, r, op->addr);
		p = emit_access(p, avoid, acc);
		if (w16)
			*p++ = 0x66;
		*p++ = b8 ? 0xec : 0xed;
		break;
	case IOF_OUTS:
	case IOF_INS:
		p = emit_imm(p, op->type == IOF_OUTS ? MOV_ESI : MOV_EDI, buf_gva);
		p = emit_imm(p, MOV_ECX, op->count);
		p = emit_edx(p, r, op->addr);
		p = emit_access(p, avoid, acc);
		if (w16)
			*p++ = 0x66;
		*p++ = 0xf3;	/* REP */
		*p++ = (op->type == IOF_OUTS ? 0x6e : 0x6c) + !b8;
		break;
	case IOF_MMIO_RD:
		/* mov (%rsi), %al / %ax / %eax / %rax */
		r->eax_ok = false;
		p = emit_imm(p, MOV_ESI, op->addr);
		p = emit_access(p, avoid, acc);
		p = emit_mov_rsi(p, op->size, false);
		break;
	case IOF_MMIO_WR:
		if (op->size == 8) {
			/* movabs $v, %rax: all 64 bits */
			p = emit_bytes(p, "\x48\xb8", 2);
			memcpy(p, &op->value, 8);
			p += 8;
			r->eax_ok = false;
		} else {
			p = emit_eax(p, r, op->value);
		}
		p = emit_imm(p, MOV_ESI, op->addr);
		p = emit_access(p, avoid, acc);
		p = emit_mov_rsi(p, op->size, true);
		break;
	case IOF_MSR_RD:
		r->eax_ok = r->edx_ok = false;
		p = emit_imm(p, MOV_ECX, op->addr);
		p = emit_access(p, avoid, acc);
		p = emit_bytes(p, "\x0f\x32", 2);
		break;
	case IOF_MSR_WR:
		p = emit_eax(p, r, op->value);
		p = emit_edx(p, r, op->value >> 32);
		p = emit_imm(p, MOV_ECX, op->addr);
		p = emit_access(p, avoid, acc);
		p = emit_bytes(p, "\x0f\x30", 2);
		break;
	default:
		*acc = p;	/* a NOP op: no access, acc == end */
		break;
	}
	return p;
}

/* The exit an access makes, as a key: 0 none (MSRs, NOP), else space and direction. */
static unsigned int exit_kind(unsigned int type)
{
	return type == IOF_IN || type == IOF_INS ? 1 : type == IOF_OUT || type == IOF_OUTS ? 2 :
	       type == IOF_MMIO_RD ? 3 : type == IOF_MMIO_WR ? 4 : 0;
}

/* Could an exit of one of these ops pass for an exit of the other (exit_matches())? */
static bool exits_alike(const struct iofuzz_op *a, const struct iofuzz_op *b)
{
	return exit_kind(a->type) && exit_kind(a->type) == exit_kind(b->type) &&
	       a->addr == b->addr && a->size == b->size;
}

/*
 * A byte access to a port of an in-kernel port device stays in the kernel:
 * KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2 register the PICs, the ELCR, the PIT
 * and the speaker for every port of these ranges.  The only stream of alike
 * ops back to back that matters for speed (the write-0 phase, the bench's
 * loop of one OUT) is of this kind, so it goes without the separating NOP.
 */
static bool may_exit(const struct iofuzz_plan *plan, const struct iofuzz_op *op)
{
	const struct iofuzz_range *r = &plan->ranges[op->range];

	return !(r->in_kernel && r->space == IOF_PORT && op->size == 1);
}

static void jit_tail(struct jit *j)
{
	uint8_t *p = j->hva + JIT_TAIL;

	p = emit_imm(p, MOV_EAX, IOFUZZ_CHUNK_MAGIC);
	p = emit_imm(p, MOV_EDX, UCALL_PIO_PORT);
	*p++ = 0xef;
	emit_jmp(p, j->hva, 0);
}

static void jit_fill(const struct iofuzz_state *st, struct jit *j, uint64_t first)
{
	const struct iofuzz_plan *plan = &st->plan;
	uint8_t *base = j->hva, *p = base;
	struct jit_regs regs = { 0 };	/* the tail leaves EAX/EDX as it likes */
	struct iofuzz_op op, prev = { .type = IOF_NOP };
	uint8_t *prev_end = NULL, *acc;

	_Static_assert(IOFUZZ_STR_MAX * 4 <= 32, "INS/OUTS buffer of one op");
	j->first = first;
	j->n = plan->total - first < JIT_CHUNK ? plan->total - first : JIT_CHUNK;
	for (uint64_t i = 0; i < j->n; i++) {
		uint32_t buf = j->gva + JIT_DATA + i * 32;
		bool sep;

		j->off[i] = p - base;
		host_gen(st, first + i, &op);
		if (op.type == IOF_OUTS)
			iofuzz_str_data(&op, base + JIT_DATA + i * 32);
		if (plan->fault && iofuzz_op_equal(&op, &plan->fault_op) &&
		    plan->fault != IOF_FAULT_CRASH) {
			p = emit_hb(p, j->hb_gva, first + i);
			regs.eax_ok = regs.edx_ok = false;
			if (plan->fault == IOF_FAULT_TRIPLE)
				/* push 0; push 0; lidt (%rsp); ud2: empty IDT, SDM 3A 6.15 */
				p = emit_bytes(p, "\x6a\x00\x6a\x00\x0f\x01\x1c\x24\x0f\x0b", 10);
			else
				p = emit_bytes(p, "\xeb\xfe", 2);	/* jmp . */
		}
		/*
		 * Ops that exit show progress by exiting; in-kernel port ops
		 * store a heartbeat every IOFUZZ_HB_EVERY ops for the watchdog,
		 * MMIO and MSR ops before each op (see IOFUZZ_HB_EVERY).
		 */
		if (op.type != IOF_NOP && plan->ranges[op.range].space != IOF_PORT) {
			p = emit_hb(p, j->hb_gva, first + i);
		} else if (!((first + i) % IOFUZZ_HB_EVERY) &&
			   plan->ranges[op.range].in_kernel) {
			p = emit_hb(p, j->hb_gva, first + i);
		}
		sep = op.type != IOF_NOP && exits_alike(&prev, &op) && may_exit(plan, &op);
		p = emit_op(p, &op, buf, &regs, sep ? prev_end : NULL, &acc);
		j->acc[i] = acc - base;
		j->end[i] = p - base;
		if (op.type != IOF_NOP) {
			prev = op;
			prev_end = p;
		}
	}
	j->off[j->n] = p - base;
	emit_jmp(p, base, JIT_TAIL);
}

/*
 * The ops whose access starts at rip (as KVM's fast PIO path and an MMIO
 * exit leave it: the access completes after userspace answers) or ends there
 * (an OUT the instruction emulator completed first, as kvm_pvm's does, or the
 * port 0x7e quirk): at most one of each, in op order, into idx[]; their count.
 */
static unsigned int jit_access_idx(const struct jit *j, uint64_t rip, uint64_t idx[2])
{
	uint64_t lo = 0, hi = j->n, x;
	unsigned int n = 0;

	if (rip < j->gva || rip - j->gva > j->off[j->n])
		return 0;
	x = rip - j->gva;
	/* The first op whose access ends at or after x (end[] never decreases). */
	while (lo < hi) {
		uint64_t mid = (lo + hi) / 2;

		if (j->end[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint64_t i = lo; i < j->n && j->acc[i] <= x && n < 2; i++)
		if (j->acc[i] < j->end[i] && (j->acc[i] == x || j->end[i] == x))
			idx[n++] = j->first + i;
	return n;
}

/* The op whose code holds guest address rip. */
static bool jit_idx(const struct jit *j, uint64_t rip, uint64_t *idx)
{
	uint64_t lo = 0, hi = j->n, x;

	if (rip < j->gva || rip - j->gva >= j->off[j->n])
		return false;
	x = rip - j->gva;
	while (hi - lo > 1) {
		uint64_t mid = (lo + hi) / 2;

		if (j->off[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	*idx = j->first + lo;
	return true;
}

/* ---- running ---- */

struct life {
	const struct iofuzz_cfg *cfg;
	struct iofuzz_state *st;
	struct kvm_vcpu *vcpu;
	struct iofuzz_shared *sh;	/* host view of the guest's page */
	struct jit *jit;		/* NULL with -G (guest-generated ops) */
	/*
	 * Held by the watchdog while it looks at vcpu and sh, and by run_life()
	 * while it makes them valid (active) or frees them: a VM freed under the
	 * watchdog's reads would kill the VMM, which is reported as a VMM crash.
	 */
	pthread_mutex_t lock;
	volatile bool active, hung, stop;
	volatile bool quit;
	uint64_t t0;
};

/* CPU time the vCPU thread has used (guest time included), in ns; 0 if unknown. */
static uint64_t vcpu_cpu_ns(struct kvm_vcpu *vcpu)
{
	struct timespec ts;
	clockid_t cid;

	if (pthread_getcpuclockid(vcpu->thread, &cid) || clock_gettime(cid, &ts))
		return 0;
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * A hang is no exit and no heartbeat while the vCPU thread itself burned
 * hang_ms of CPU: a vCPU the host simply didn't schedule (a loaded machine)
 * is not a hung guest.  A guest that waits without using CPU (HLT with
 * interrupts off, in the kernel's irqchip) is caught after 10 x hang_ms of
 * wall time.
 */
static void *fuzz_watchdog(void *arg)
{
	struct life *l = arg;
	uint64_t last_seq = 0, last_hb = ~0ULL, since = now_ns(), since_cpu = 0;

	while (!l->quit) {
		uint64_t now, cpu;

		usleep(20000);
		now = now_ns();
		pthread_mutex_lock(&l->lock);
		if (!l->active) {
			pthread_mutex_unlock(&l->lock);
			since = now;
			since_cpu = 0;
			continue;
		}
		/* Kick until the run loop notices: a signal outside KVM_RUN is lost. */
		if (l->cfg->time_ms && now - l->t0 > l->cfg->time_ms * 1000000ULL) {
			l->stop = true;
			pthread_kill(l->vcpu->thread, SIGUSR2);
		}
		cpu = vcpu_cpu_ns(l->vcpu);
		if (l->vcpu->run_seq != last_seq || l->sh->hb != last_hb || !since_cpu) {
			last_seq = l->vcpu->run_seq;
			last_hb = l->sh->hb;
			/* For the parent's report should this process die in KVM_RUN. */
			l->st->hb_seen = last_hb;
			since = now;
			since_cpu = cpu ? cpu : 1;
		} else if ((cpu && cpu - since_cpu > l->cfg->hang_ms * 1000000ULL) ||
			   now - since > 10 * l->cfg->hang_ms * 1000000ULL) {
			l->hung = true;
			pthread_kill(l->vcpu->thread, SIGUSR2);
			since = now;
			since_cpu = cpu ? cpu : 1;
		}
		pthread_mutex_unlock(&l->lock);
	}
	return NULL;
}

static void log_op(struct iofuzz_state *st, uint64_t idx, const struct iofuzz_op *op,
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

		format_op(buf, sizeof(buf), &e->op);
		kvm_log("  op %-8lu %-40s %s", e->idx, buf,
			e->exit_reason ? exit_reason_str(e->exit_reason) : "in kernel");
	}
}

/* kvm_pvm's instruction emulator cannot do these (see known_failures). */
static bool internal_error_explained(struct kvm_vcpu *vcpu, char *why, size_t len)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	uint8_t *insn;

	if (vcpu->run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION)
		return false;
	/*
	 * A fuzzed ICR write can send INIT to this vCPU (e.g. "all including
	 * self"); INIT puts it in real mode at F000:FFF0 (SDM vol. 3A 9.1.1), where
	 * this VM has no memory, and fetching from there cannot be emulated.
	 * That is a guest reset, not a KVM fault.
	 */
	vcpu_sregs_get(vcpu, &sregs);
	if (!(sregs.cr0 & X86_CR0_PE) && sregs.cs.base == 0xffff0000) {
		snprintf(why, len, "guest reset by INIT (real mode at the reset vector, "
			 "no memory there)");
		return true;
	}
	if (strcmp(kvm_platform_name(), "kvm_pvm"))
		return false;
	vcpu_regs_get(vcpu, &regs);
	insn = __addr_gpa2hva(vcpu->vm, regs.rip);
	if (!insn)
		return false;
	if (insn[0] == 0xcc) {
		snprintf(why, len, "kvm_pvm cannot emulate INT3");
		return true;
	}
	return false;
}

static void restart(struct life *l, const char *why, uint64_t at)
{
	struct iofuzz_state *st = l->st;

	st->cur = at;
	if (st->restarts < ARRAY_SIZE(st->restart_at))
		st->restart_at[st->restarts] = at;
	st->restarts++;
	if (at < st->plan.total) {
		struct iofuzz_op op;

		host_gen(st, at, &op);
		st->stats[st->plan.ranges[op.range].id].restarts++;
	}
	kvm_log("iofuzz: restart %lu: %s at op %lu (seed %#lx); resuming at op %lu",
		st->restarts, why, at, st->plan.seed, at + 1);
	if (l->cfg->verbose || st->restarts <= 3) {
		if (l->cfg->verbose)
			vcpu_dump(l->vcpu);
		iofuzz_print_recent(st, at);
	}
}

static void finding(struct life *l, uint64_t at, const char *fmt, ...)
{
	struct iofuzz_state *st = l->st;
	va_list ap;
	int n;

	n = snprintf(st->finding, sizeof(st->finding), "seed %#lx op %lu: ", st->plan.seed, at);
	va_start(ap, fmt);
	vsnprintf(st->finding + n, sizeof(st->finding) - n, fmt, ap);
	va_end(ap);
	st->findings++;
	st->end = IOF_END_FINDING;
	st->cur = at;
	kvm_log("iofuzz: FINDING: %s", st->finding);
	if (l->vcpu)
		vcpu_dump(l->vcpu);	/* not after the VM is gone (restart limit) */
	iofuzz_print_log(st);
	iofuzz_print_recent(st, at);
}

/* One exit to userspace on a fuzzed port: answer it, count it, log it. */
static void handle_io(struct life *l, struct devmodel *m, uint64_t idx)
{
	struct kvm_run *run = l->vcpu->run;
	struct iofuzz_state *st = l->st;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	struct iofuzz_op op = {
		.type = run->io.direction == KVM_EXIT_IO_OUT ? IOF_OUT : IOF_IN,
		.size = run->io.size, .count = run->io.count, .addr = run->io.port,
	};
	st->port_exits[run->io.port]++;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		uint32_t v = 0;

		if (run->io.direction == KVM_EXIT_IO_OUT) {
			memcpy(&v, data, run->io.size);
			if (!i)
				op.value = v;
			/* Every element of a string OUT: the data is part of what reached us. */
			if (i)
				st->exit_hash = iofuzz_hash_op(st->exit_hash,
							       &(struct iofuzz_op){ .value = v });
			if (st->plan.fault == IOF_FAULT_CRASH && run->io.count == 1 &&
			    iofuzz_op_equal(&op, &st->plan.fault_op)) {
				log_op(st, idx, &op, KVM_EXIT_IO);
				st->cur = idx;
				/* Test-only: a device model bug, as a real VMM would have one. */
				raise(SIGSEGV);
			}
			model_out(m, run->io.port, v);
		} else {
			v = model_in(m, run->io.port);
			memcpy(data, &v, run->io.size);
		}
	}
	st->exit_hash = iofuzz_hash_op(st->exit_hash, &op);
	log_op(st, idx, &op, KVM_EXIT_IO);
}

/*
 * An op counts once as "exited" however many exits it took (string forms);
 * each exit counts for the device the op was drawn from (port_exits[] counts
 * by the port the exit names: the two agree only if every exit is put at an
 * op of its own device).  The exit must describe the access the op made
 * (api.rst, KVM_EXIT_IO and KVM_EXIT_MMIO): port or address, size and
 * direction.  Returns false, with the difference in why, when it does not.
 */
static bool exit_matches(const struct kvm_run *run, const struct iofuzz_op *op)
{
	if (run->exit_reason == KVM_EXIT_IO)
		return run->io.port == op->addr && run->io.size == op->size &&
		       run->io.direction == (op->type == IOF_OUT || op->type == IOF_OUTS ?
					     KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN) &&
		       run->io.count <= op->count;
	return run->mmio.phys_addr == op->addr && run->mmio.len == op->size &&
	       run->mmio.is_write == (op->type == IOF_MMIO_WR);
}

static bool check_exited_op(struct iofuzz_state *st, struct kvm_run *run, uint64_t idx,
			    char *why, size_t len)
{
	struct iofuzz_op op;
	bool ok;

	if (idx >= st->plan.total)
		return true;
	host_gen(st, idx, &op);
	TEST_ASSERT(op.range < st->plan.nr_ranges, "op %lu: range %u of %u", idx, op.range,
		    st->plan.nr_ranges);
	st->stats[st->plan.ranges[op.range].id].exits++;
	if (idx != st->last_exited) {
		st->last_exited = idx;
		st->stats[st->plan.ranges[op.range].id].exited_ops++;
	}
	ok = exit_matches(run, &op);
	if (!ok)
		snprintf(why, len, "the exit does not describe op %lu (%s %u %u %#lx)",
			 idx, iofuzz_type_name(op.type), op.size, op.count, op.addr);
	return ok;
}

static void handle_mmio(struct life *l, uint64_t idx)
{
	struct kvm_run *run = l->vcpu->run;
	struct iofuzz_op op = { .type = run->mmio.is_write ? IOF_MMIO_WR : IOF_MMIO_RD,
				.size = run->mmio.len, .count = 1, .addr = run->mmio.phys_addr };

	if (run->mmio.is_write)
		memcpy(&op.value, run->mmio.data, run->mmio.len > 8 ? 8 : run->mmio.len);
	else
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
	l->st->exit_hash = iofuzz_hash_op(l->st->exit_hash, &op);
	log_op(l->st, idx, &op, KVM_EXIT_MMIO);
}

/*
 * The op an exit to userspace belongs to, into *idx; false (with why) when
 * RIP is at no op's access instruction nor just past one.
 */
static bool exit_op_index(struct life *l, uint64_t *idx, char *why, size_t len)
{
	struct kvm_vcpu *vcpu = l->vcpu;
	struct kvm_regs regs_buf, *regs = &regs_buf;
	uint64_t c[2];
	unsigned int n;

	if (vcpu->run->kvm_valid_regs & KVM_SYNC_X86_REGS)
		regs = &vcpu->run->s.regs.regs;
	else
		vcpu_regs_get(vcpu, regs);
	if (!l->jit) {
		*idx = regs->rbx;	/* the C executor passes it in RBX */
		return true;
	}
	/*
	 * Exact: RIP at an op's access or just past it (jit_access_idx()).  Two
	 * candidates (one op's access ends where the next one's starts) differ in
	 * what they access unless jit_fill() put a NOP between them, so the exit's
	 * own description picks the op.  Only two alike in-kernel byte accesses
	 * (may_exit()) could both fit; then the earlier one, unless it has exited.
	 */
	n = jit_access_idx(l->jit, regs->rip, c);
	if (!n) {
		snprintf(why, len, "the exit's RIP %#llx is at no op's access (chunk from op %lu)",
			 regs->rip, l->jit->first);
		return false;
	}
	*idx = c[0];
	if (n == 2) {
		bool m0 = exit_matches(vcpu->run, host_op(l->st, c[0]));
		bool m1 = exit_matches(vcpu->run, host_op(l->st, c[1]));

		if ((m1 && !m0) || (m0 && m1 && l->st->last_exited == c[0]))
			*idx = c[1];
	}
	return true;
}

/* Where a wedged or shut-down guest stopped: its RIP, else the heartbeat. */
static uint64_t stopped_op_index(struct life *l, uint64_t last)
{
	struct kvm_regs regs;
	uint64_t idx;

	if (l->jit) {
		vcpu_regs_get(l->vcpu, &regs);
		if (jit_idx(l->jit, regs.rip, &idx))
			return idx;
	}
	return l->sh->hb > last ? l->sh->hb : last;
}

/* The host's own hash of ops [from, to): must equal what the guest generated. */
static uint64_t host_hash(const struct iofuzz_state *st, uint64_t from, uint64_t to)
{
	uint64_t h = IOFUZZ_HASH_INIT;
	struct iofuzz_op op;

	for (uint64_t i = from; i < to; i++) {
		host_gen(st, i, &op);
		h = iofuzz_hash_op(h, &op);
	}
	return h;
}

/* One VM's life, from op `start` until the plan ends or the VM must restart. */
static uint64_t run_life(struct life *l, uint64_t start)
{
	struct iofuzz_state *st = l->st;
	struct vm_opts opts = { .irqchip = true };
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct devmodel model = { 0 };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t last = start, next = ~0ULL, t_run;

	vm = vm_create_opts(&opts);
	vm_ioctl(vm, KVM_CREATE_PIT2, &pit);
	virt_map_mmio(vm, LAPIC_GPA, PAGE_SIZE);
	virt_map_mmio(vm, IOAPIC_GPA, PAGE_SIZE);
	vcpu = vm_vcpu_add(vm, 0, l->cfg->guest_gen ? (void *)iofuzz_guest_main :
				(void *)iofuzz_guest_jit);
	/* Hangs are ours to handle (restart), not the library's (fail). */
	vcpu->timeout_ms = 24 * 3600 * 1000;
	st->plan.start = start;
	if (st->plan.nr_list) {
		unsigned int pages = (st->plan.nr_list * sizeof(struct iofuzz_op) + PAGE_SIZE - 1)
				     / PAGE_SIZE;
		uint64_t gpa = vm_phys_alloc(vm, pages);

		memcpy(addr_gpa2hva(vm, gpa), st->list,
		       st->plan.nr_list * sizeof(struct iofuzz_op));
		st->plan.list = (struct iofuzz_op *)(uintptr_t)gpa;
	}
	write_guest_global(vm, guest_plan, st->plan);
	l->sh = addr_gva2hva(vm, (uint64_t)(uintptr_t)&guest_shared);
	if (l->cfg->guest_gen) {
		vcpu_args_set(vcpu, 2, (uint64_t)(uintptr_t)&guest_plan,
			      (uint64_t)(uintptr_t)&guest_shared);
	} else {
		l->jit->gva = vm_phys_alloc(vm, ALIGN_UP(JIT_BYTES, PAGE_SIZE) / PAGE_SIZE);
		l->jit->hva = addr_gpa2hva(vm, l->jit->gva);
		l->jit->hb_gva = (uint64_t)(uintptr_t)&guest_shared.hb;
		jit_tail(l->jit);
		jit_fill(st, l->jit, start);
		vcpu_args_set(vcpu, 1, l->jit->gva);
	}
	pthread_mutex_lock(&l->lock);
	l->sh->hb = start;
	l->vcpu = vcpu;
	vcpu->thread = pthread_self();
	l->hung = false;
	st->lives++;
	l->active = true;
	pthread_mutex_unlock(&l->lock);
	t_run = now_ns();

	while (next == ~0ULL) {
		struct kvm_run *run = vcpu->run;
		int r = __vcpu_run(vcpu);
		char why[128];
		struct ucall uc;

		st->exits_total++;
		if (r < 0 || l->stop) {
			if (r < 0 && errno != EINTR) {
				finding(l, last, "KVM_RUN failed: %s", strerror(errno));
				next = st->plan.total;
			} else if (l->stop) {
				st->end = IOF_END_TIME;
				last = l->sh->hb > last ? l->sh->hb : last;
				next = st->plan.total;
				st->done = last;
			} else if (l->hung) {
				last = stopped_op_index(l, last);
				vcpu_dump(vcpu);
				restart(l, "hang (no exit and no heartbeat)", last);
				next = last + 1;
			}
			continue;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.port == UCALL_PIO_PORT && l->jit && run->io.size == 4 &&
			    *(uint32_t *)((uint8_t *)run + run->io.data_offset) ==
			    IOFUZZ_CHUNK_MAGIC) {
				uint64_t end = l->jit->first + l->jit->n;

				last = end - 1;
				st->cur = last;
				if (st->lives == 1) {
					/*
					 * For the bench: the first chunk touches the JIT
					 * pages (warm-up); the rest is the stream's rate.
					 */
					uint64_t t = now_ns() - t_run;

					if (!st->warm_ops) {
						st->warm_ns = t;
						st->warm_ops = end - start;
					} else {
						st->timed_ns = t - st->warm_ns;
						st->timed_ops = end - start - st->warm_ops;
					}
				}
				if (end < st->plan.total) {
					jit_fill(st, l->jit, end);
					break;
				}
				st->hash = iofuzz_hash_op(st->hash, &(struct iofuzz_op){
					.addr = end - start, .value = host_hash(st, start, end) });
				next = st->plan.total;
				break;
			}
			if (run->io.port == UCALL_PIO_PORT) {
				switch (get_ucall(vcpu, &uc)) {
				case IOFUZZ_UCALL_LIFE_DONE:
					/* The guest's generator must agree with the host's. */
					if (uc.args[1] != host_hash(st, start, st->plan.total))
						TEST_FAIL("generators differ: guest hash %#lx,"
							  " ops %lu-%lu", uc.args[1], start,
							  st->plan.total);
					st->hash = iofuzz_hash_op(st->hash, &(struct iofuzz_op){
						.addr = uc.args[0], .value = uc.args[1] });
					next = st->plan.total;
					break;
				case UCALL_ABORT: {
					uint64_t at;

					kvm_log("guest: %s", uc.buffer);
					last = l->sh->hb > last ? l->sh->hb : last;
					/* An unhandled exception reports its RIP in args[1]. */
					if (l->jit && uc.nargs >= 2 &&
					    jit_idx(l->jit, uc.args[1], &at))
						last = at;
					restart(l, "guest exception", last);
					next = last + 1;
					break;
				}
				case UCALL_PRINTF:
					kvm_log("guest: %s", uc.buffer);
					break;
				default:
					TEST_FAIL("unexpected ucall %u", uc.cmd);
				}
				break;
			}
			if (!exit_op_index(l, &last, why, sizeof(why)) ||
			    !check_exited_op(st, run, last, why, sizeof(why))) {
				finding(l, last, "%s", why);
				next = st->plan.total;
				break;
			}
			st->cur = last;
			handle_io(l, &model, last);
			break;
		case KVM_EXIT_MMIO:
			if (!exit_op_index(l, &last, why, sizeof(why)) ||
			    !check_exited_op(st, run, last, why, sizeof(why))) {
				finding(l, last, "%s", why);
				next = st->plan.total;
				break;
			}
			st->cur = last;
			handle_mmio(l, last);
			break;
		case KVM_EXIT_SHUTDOWN:
			last = stopped_op_index(l, last);
			restart(l, "guest shutdown (triple fault)", last);
			next = last + 1;
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			last = l->sh->hb > last ? l->sh->hb : last;
			if (internal_error_explained(vcpu, why, sizeof(why))) {
				restart(l, why, last);
				next = last + 1;
			} else {
				finding(l, last, "KVM_EXIT_INTERNAL_ERROR suberror %u",
					run->internal.suberror);
				next = st->plan.total;
			}
			break;
		default:
			last = l->sh->hb > last ? l->sh->hb : last;
			finding(l, last, "unexpected exit %s", exit_reason_str(run->exit_reason));
			next = st->plan.total;
			break;
		}
	}
	st->run_ns += now_ns() - t_run;
	pthread_mutex_lock(&l->lock);
	l->active = false;
	kvm_vm_free(vm);
	l->vcpu = NULL;
	l->sh = NULL;
	pthread_mutex_unlock(&l->lock);
	if (st->restarts > MAX_RESTARTS && !st->findings) {
		finding(l, last, "more than %u restarts", MAX_RESTARTS);
		next = st->plan.total;
	}
	return next;
}

static void count_ops(struct iofuzz_state *st)
{
	struct iofuzz_op op;

	for (uint64_t i = 0; i < st->done; i++) {
		struct iofuzz_dev_stats *s;

		host_gen(st, i, &op);
		if (op.type == IOF_NOP)
			continue;	/* excluded unit: nothing was accessed */
		s = &st->stats[st->plan.ranges[op.range].id];
		s->ops++;
	}
	for (unsigned int d = 0; d < iofuzz_nr_devs; d++)
		st->stats[d].in_kernel = st->stats[d].ops > st->stats[d].exited_ops ?
					 st->stats[d].ops - st->stats[d].exited_ops : 0;
}

void iofuzz_run(const struct iofuzz_cfg *cfg, struct iofuzz_state *st)
{
	struct life l = { .cfg = cfg, .st = st, .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t wd;

	if (!cfg->guest_gen) {
		l.jit = calloc(1, sizeof(*l.jit));
		TEST_ASSERT(l.jit, "out of memory");
	}
	uint64_t next = 0;

	memset(st->stats, 0, sizeof(st->stats));
	memset(st->port_exits, 0, sizeof(st->port_exits));
	st->warm_ns = st->warm_ops = st->timed_ns = st->timed_ops = 0;
	st->last_exited = ~0ULL;
	/* What replays compare, and what a crash report starts from: this run's own. */
	st->log_pos = 0;
	st->exits_total = 0;
	st->hb_seen = 0;
	st->hash = IOFUZZ_HASH_INIT;
	st->exit_hash = IOFUZZ_HASH_INIT;
	st->end = IOF_END_OK;
	plant_fault(cfg, st);
	l.t0 = now_ns();
	TEST_ASSERT(!pthread_create(&wd, NULL, fuzz_watchdog, &l), "watchdog thread");
	while (next < st->plan.total && !st->findings && st->end != IOF_END_TIME) {
		/* Also between lives: a run of restarts never reaches the watchdog's check. */
		if (cfg->time_ms && now_ns() - l.t0 > cfg->time_ms * 1000000ULL) {
			st->end = IOF_END_TIME;
			st->done = next;
			break;
		}
		next = run_life(&l, next);
	}
	l.quit = true;
	pthread_join(wd, NULL);
	pthread_mutex_destroy(&l.lock);
	free(l.jit);
	if (st->end != IOF_END_TIME)
		st->done = st->findings ? st->cur : st->plan.total;
	st->elapsed_ns = now_ns() - l.t0;
	st->hash = iofuzz_hash_op(st->hash, &(struct iofuzz_op){ .value = st->exit_hash });
	count_ops(st);
}

int iofuzz_supervise(const struct iofuzz_cfg *cfg, struct iofuzz_state *st)
{
	uint64_t limit_ms = (cfg->time_ms ? cfg->time_ms : 600000) + 60000, t0 = now_ns();
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		iofuzz_run(cfg, st);
		fflush(stdout);
		_exit(st->findings ? 1 : 0);
	}
	/* Bounded wait: the child has its own watchdogs, this is the last resort. */
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ns() - t0 > limit_ms * 1000000ULL) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(2000);
	}
	if (WIFSIGNALED(status)) {
		st->end = IOF_END_CRASH;
		snprintf(st->finding, sizeof(st->finding),
			 "VMM process died with signal %d (%s): seed %#lx op %lu",
			 WTERMSIG(status), strsignal(WTERMSIG(status)), st->plan.seed, st->cur);
		kvm_log("iofuzz: %s", st->finding);
		iofuzz_print_recent(st, st->hb_seen > st->cur ? st->hb_seen : st->cur);
		/* The child died before counting its ops: count the ones it reached. */
		st->done = st->cur < st->plan.total ? st->cur + 1 : st->plan.total;
		count_ops(st);
		return IOF_END_CRASH;
	}
	if (!WIFEXITED(status) || (WEXITSTATUS(status) && !st->findings))
		TEST_FAIL("VMM child ended with status %#x without a finding", status);
	return st->end;
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

		host_gen(st, i, &op);
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
		format_op(buf, sizeof(buf), &op);
		kvm_log("  op %-8lu %-40s %s", i, buf, how);
	}
}

/* The named device a port belongs to. */
static const char *port_name(uint32_t port)
{
	for (unsigned int d = 0; d < iofuzz_nr_devs; d++) {
		const struct iofuzz_range *r = &iofuzz_devs[d].r;

		if (r->space == IOF_PORT && !iofuzz_devs[d].optional && port >= r->beg &&
		    port <= r->end)
			return iofuzz_devs[d].name;
	}
	return "full";
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
			kvm_log("  port %#06x %-12s %10u exits", p, port_name(p), best);
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

/* ---- minimizer ---- */

struct trial {
	int end;
	uint64_t restarts;
};

static struct trial run_list(const struct iofuzz_cfg *cfg, const struct iofuzz_plan *fplan,
			     const struct iofuzz_op *ops, uint64_t n)
{
	struct iofuzz_state *st = iofuzz_state_alloc();
	struct iofuzz_cfg c = *cfg;
	struct trial t;
	int saved_stdout = dup(1), devnull = open("/dev/null", O_WRONLY);

	plan_for_list(&st->plan, cfg->seed);
	for (uint64_t i = 0; i < n; i++) {
		int r = range_of(&st->plan, ops[i].type, ops[i].addr);

		/*
		 * The minimizer drops NOPs: an MSR or MMIO one is in no range (and
		 * jit_fill() indexes ranges by it), and no reproducer line holds one.
		 */
		TEST_ASSERT(r >= 0 && ops[i].type != IOF_NOP,
			    "minimizer op %lu (%s %#lx) is a NOP or in no device", i,
			    iofuzz_type_name(ops[i].type), ops[i].addr);
		((struct iofuzz_op *)st->list)[i] = ops[i];
		((struct iofuzz_op *)st->list)[i].range = r;
	}
	st->plan.nr_list = n;
	st->plan.total = n;
	st->plan.fault = fplan->fault;
	st->plan.fault_op = fplan->fault_op;
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

uint64_t iofuzz_minimize(const struct iofuzz_cfg *cfg, const struct iofuzz_state *failing,
			 int want_end, uint64_t want_restarts, const char *path)
{
	uint64_t fail = failing->cur, lo = fail >= 511 ? fail - 511 : 0;
	uint64_t n = 0, trials = 0, chunks = 2;
	struct iofuzz_op *ops = calloc(fail - lo + 1, sizeof(*ops));
	struct iofuzz_op *tmp = calloc(fail - lo + 1, sizeof(*ops));
	char why[256];

	TEST_ASSERT(ops && tmp, "out of memory");
	/*
	 * NOPs (excluded units) accessed nothing, and have no device for a list
	 * nor an "op" line a reproducer could load: leave them out.
	 */
	for (uint64_t i = lo; i <= fail; i++) {
		host_gen(failing, i, &ops[n]);
		if (ops[n].type != IOF_NOP)
			n++;
	}
	kvm_log("iofuzz: minimizing ops %lu-%lu of seed %#lx (%lu of them not NOPs)", lo, fail,
		failing->plan.seed, n);
	if (!n) {
		free(ops);
		free(tmp);
		return 0;
	}
	if (!reproduces(run_list(cfg, &failing->plan, ops, n), want_end, want_restarts)) {
		/* E.g. an event driven by a fuzzed timer, or state set up earlier. */
		kvm_log("iofuzz: the failure at op %lu does not reproduce from the last %lu ops "
			"alone: not minimized; replay it with the seed", fail, n);
		free(ops);
		free(tmp);
		return 0;
	}
	/* Delta debugging (Zeller): drop chunks while the failure stays; bounded trials. */
	while (n >= 2 && trials < 300) {
		uint64_t size = (n + chunks - 1) / chunks;
		bool reduced = false;

		for (uint64_t c = 0; c * size < n && trials < 300; c++) {
			uint64_t m = 0;

			for (uint64_t i = 0; i < n; i++)
				if (i < c * size || i >= (c + 1) * size)
					tmp[m++] = ops[i];
			trials++;
			if (m && reproduces(run_list(cfg, &failing->plan, tmp, m), want_end,
					    want_restarts)) {
				memcpy(ops, tmp, m * sizeof(*ops));
				n = m;
				chunks = chunks > 2 ? chunks - 1 : 2;
				reduced = true;
				break;
			}
		}
		if (!reduced) {
			if (chunks >= n)
				break;
			chunks = chunks * 2 < n ? chunks * 2 : n;
		}
	}
	snprintf(why, sizeof(why), "seed %#lx, failure at op %lu (%s), %lu ops after %lu trials",
		 failing->plan.seed, fail, want_end == IOF_END_CRASH ? "VMM crash" :
		 want_end == IOF_END_FINDING ? "finding" : "restart", n, trials);
	write_ops(path, &failing->plan, ops, n, why);
	kvm_log("iofuzz: minimized to %lu ops in %lu trials: %s", n, trials, path);
	free(ops);
	free(tmp);
	return n;
}

/* ---- host kernel log ---- */

int iofuzz_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);	/* only what this run causes */
	return fd;
}

int iofuzz_kmsg_scan(int fd, char *first, size_t len)
{
	static const char *const bad[] = { "WARNING:", "BUG:", "Oops", "general protection",
					   "kernel BUG" };
	char rec[8192];
	int hits = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: keep reading */
		if (n <= 0)
			break;
		rec[n] = 0;
		for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
			if (strstr(rec, bad[i])) {
				if (!hits++)
					snprintf(first, len, "%s", strchr(rec, ';') ?
						 strchr(rec, ';') + 1 : rec);
				break;
			}
	}
	return hits;
}
