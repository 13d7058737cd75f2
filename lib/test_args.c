// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command-line check of every test binary (include/test_args.h): -h,
 * and names given to -t/-f/-v/-r that must name a registered test.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_args.h"

#define TEST_ARGS_OPTS	"hlF:f:V:v:t:T:r:"

/* The harness's full name of a test: fixture[.variant].test (its -r form). */
static void full_name(char *buf, size_t size, const struct test_args_test *t)
{
	snprintf(buf, size, "%s%s%s.%s", t->fixture, t->variant[0] ? "." : "", t->variant,
		 t->test);
}

/*
 * Does name name something of this kind?  kind is the option letter (lower
 * case): 't' a test, 'f' a fixture, 'v' a variant, 'r' a test's full name;
 * 0 matches nothing.  *nr_tests (if not NULL) gets the number of tests
 * (fixture x variant x test), full (if not NULL) the full name of the first
 * test that name names, or with kind 0 of the first test.
 */
static bool names(const struct test_args_test *tests, unsigned int count, int kind,
		  const char *name, unsigned int *nr_tests, char *full, size_t full_size)
{
	bool found = false, match;
	char buf[1024];

	if (nr_tests)
		*nr_tests = 0;
	if (full && full_size)
		full[0] = 0;
	for (const struct test_args_test *t = tests; t < tests + count; t++) {
		if (kind == 'f' && !strcmp(t->fixture, name))
			found = true;
		if (kind == 'v' && !strcmp(t->variant, name))
			found = true;
		if (!t->test)
			continue;
		full_name(buf, sizeof(buf), t);
		match = (kind == 't' && !strcmp(t->test, name)) ||
			(kind == 'r' && !strcmp(buf, name));
		if (full && full_size && !full[0] && (match || !kind))
			snprintf(full, full_size, "%s", buf);
		found |= match;
		if (nr_tests)
			(*nr_tests)++;
	}
	return found;
}

static void usage(FILE *out, const char *argv0, const struct test_args_test *tests,
		  unsigned int count)
{
	const char *prog = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
	char example[1024];
	unsigned int nr;

	names(tests, count, 0, "", &nr, example, sizeof(example));
	if (!example[0])
		snprintf(example, sizeof(example), "fixture.test");
	fprintf(out,
		"Usage: %s [-h|-l] [-t|-T|-f|-F|-v|-V|-r name]...\n"
		"%s: %u test%s (kselftest harness, TAP on stdout)\n"
		"  -h       print this help\n"
		"  -l       list the tests (fixture, variant, test)\n"
		"  -t name  include test         -T name  exclude test\n"
		"  -f name  include fixture      -F name  exclude fixture\n"
		"  -v name  include variant      -V name  exclude variant\n"
		"  -r name  run one test by its full name fixture[.variant].test, e.g. %s\n"
		"Filters can repeat; the first one that matches a test decides.  An\n"
		"include name that matches nothing is an error (exit %d), as is a\n"
		"stray argument; other options go to the kselftest harness.\n",
		argv0, prog, nr, nr == 1 ? "" : "s", example, TEST_ARGS_EXIT_USAGE);
}

/*
 * getopt() saw "--something" (it has no long options): --help is -h, any
 * other is an error.  Returns the exit status.
 */
static int long_option(int argc, char **argv, const struct test_args_test *tests,
		       unsigned int count)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (strncmp(argv[i], "--", 2))
			continue;
		if (!strcmp(argv[i], "--help")) {
			usage(stdout, argv[0], tests, count);
			return 0;
		}
		fprintf(stderr, "%s: error: unknown option '%s' (see -h)\n", argv[0], argv[i]);
		break;
	}
	return TEST_ARGS_EXIT_USAGE;
}

int test_args_check(int argc, char **argv, const struct test_args_test *tests,
		    unsigned int count)
{
	static const char *const kind_name[] = { ['t'] = "test", ['f'] = "fixture",
						 ['v'] = "variant", ['r'] = "test" };
	const char *prog = argc ? argv[0] : "test";
	char full[1024];
	int opt, kind;

	opterr = 0;	/* the errors below say more than getopt's */
	optind = 1;
	while ((opt = getopt(argc, argv, TEST_ARGS_OPTS)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout, prog, tests, count);
			return 0;
		case 'l':
		case 'T':
		case 'F':
		case 'V':
			continue;
		case '?':
			if (optopt == '-')
				return long_option(argc, argv, tests, count);
			if (optopt && optopt != ':' && strchr(TEST_ARGS_OPTS, optopt)) {
				fprintf(stderr, "%s: error: option -%c needs a name (see -h)\n",
					prog, optopt);
				return TEST_ARGS_EXIT_USAGE;
			}
			/* Not ours: the harness decides (it may take a value). */
			return -1;
		}
		kind = tolower(opt);
		if (names(tests, count, kind, optarg, NULL, NULL, 0))
			continue;
		fprintf(stderr, "%s: error: no %s named '%s' (see -l)\n",
			prog, kind_name[kind], optarg);
		if (kind == 'r' && names(tests, count, 't', optarg, NULL, full, sizeof(full)))
			fprintf(stderr, "%s: -r wants the full name fixture[.variant].test: "
				"-r %s (or -t %s)\n", prog, full, optarg);
		return TEST_ARGS_EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "%s: error: unexpected argument '%s' (see -h)\n",
			prog, argv[optind]);
		return TEST_ARGS_EXIT_USAGE;
	}
	return -1;
}
