/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The command-line check every test binary runs before the kselftest
 * harness sees argv (lib/test_args.c); kvm_test_harness.h's main() calls it.
 *
 * The harness's own argv check lets a filter that matches nothing run zero
 * tests and exit 0 ("1..0"), ignores stray arguments and exits KSFT_SKIP
 * for -h.  test_args_check() checks the command line first: -h (or --help)
 * prints the usage and exits 0; a -t/-f/-v/-r name that names no registered
 * test, fixture or variant, a missing value, an unknown long option or a
 * positional argument prints an error and exits TEST_ARGS_EXIT_USAGE.
 * Everything else, unknown options included, goes to the harness unchanged:
 * it lists (-l), excludes (-T/-F/-V, where a name matching nothing is
 * harmless), rejects what it doesn't know (KSFT_FAIL), and a newer harness
 * may know more options.
 */
#ifndef KVM_SUITE_TEST_ARGS_H
#define KVM_SUITE_TEST_ARGS_H

#define TEST_ARGS_EXIT_USAGE	2

/*
 * One registered test: its fixture, variant ("" when the fixture has none)
 * and name.  A fixture (variant) without tests is one entry with test NULL:
 * -f/-v may still name it.
 */
struct test_args_test {
	const char *fixture;
	const char *variant;
	const char *test;
};

/*
 * Check argv against the count tests: -1 means go on and run them (argv
 * unchanged; getopt's optind/opterr are left for the caller to reset), any
 * other value is the exit status.
 */
int test_args_check(int argc, char **argv, const struct test_args_test *tests,
		    unsigned int count);

#endif /* KVM_SUITE_TEST_ARGS_H */
