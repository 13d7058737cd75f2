// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: the options that pick what is fuzzed.  -m names a space, -d a
 * comma list of devices, -x a comma list of devices or ranges to skip.
 */
#include "internal.h"

bool iofuzz_parse_mode(const char *s, uint32_t *mode)
{
	static const struct { const char *name; uint32_t mode; } modes[] = {
		{ .name = "ports", .mode = IOFUZZ_MODE_PORTS },
		{ .name = "mmio", .mode = IOFUZZ_MODE_MMIO },
		{ .name = "msr", .mode = IOFUZZ_MODE_MSR },
		{ .name = "all", .mode = IOFUZZ_MODE_ALL },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(modes); i++)
		if (!strcmp(s, modes[i].name)) {
			*mode = modes[i].mode;
			return true;
		}
	return false;
}

/*
 * "[SPACE:]lo-hi" or "[SPACE:]lo" in a -x list, SPACE one of port (the
 * default), mmio, msr; false if it is none of these.
 */
static bool parse_range(const char *s, size_t len, uint8_t *space, uint64_t *lo, uint64_t *hi)
{
	static const struct { const char *prefix; uint8_t space; } spaces[] = {
		{ .prefix = "port:", .space = IOF_PORT },
		{ .prefix = "mmio:", .space = IOF_MMIO },
		{ .prefix = "msr:", .space = IOF_MSR },
	};
	char buf[64], *dash;

	*space = IOF_PORT;
	for (unsigned int i = 0; i < ARRAY_SIZE(spaces); i++) {
		size_t n = strlen(spaces[i].prefix);

		if (len > n && !strncmp(s, spaces[i].prefix, n)) {
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
	excl[(*n)++] = (struct iofuzz_range){ .beg = lo, .end = hi, .space = space, .stride = 1 };
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
	bool ranges_ok;		/* -x: ranges as well as names */
	uint32_t nr_excl;
	struct iofuzz_range excl[IOFUZZ_MAX_EXCL];
};

static bool check_item(const char *s, size_t len, void *arg)
{
	struct list_check *c = arg;
	uint64_t lo, hi;
	uint8_t space;

	if (iofuzz_dev_by_name_len(s, len) >= 0)
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
	struct list_check c = { .err = err, .len = len };

	if (!for_each_item(cfg->devices, check_item, &c))
		return false;
	c.ranges_ok = true;
	return for_each_item(cfg->skip, check_item, &c);
}

bool iofuzz_name_in_list(const char *list, const char *name)
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

/*
 * A numeric range skips that range of its own space only: ports unless it
 * says mmio: or msr:, so -x 0x10-0x20 leaves MSRs 0x10-0x20 fuzzed.
 * Device names in the list were taken care of when the ranges were picked.
 */
static bool add_skip_range(const char *s, size_t len, void *arg)
{
	struct iofuzz_plan *plan = arg;
	uint64_t lo, hi;
	uint8_t space;

	if (iofuzz_dev_by_name_len(s, len) >= 0 || !parse_range(s, len, &space, &lo, &hi))
		return true;
	TEST_ASSERT(excl_add(plan->excl, &plan->nr_excl, IOFUZZ_MAX_EXCL, space, lo, hi),
		    "-x: more than %lu distinct ranges at '%.*s'",
		    (unsigned long)IOFUZZ_MAX_SKIP, (int)len, s);
	return true;
}

void iofuzz_plan_add_skips(struct iofuzz_plan *plan, const char *skip)
{
	for_each_item(skip, add_skip_range, plan);
}
