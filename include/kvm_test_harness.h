/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kselftest_harness.h glue.
 *
 * KVM_ONE_VCPU_TEST(name, guest_fn) defines a test that gets a fresh VM
 * with one vCPU set to run guest_fn; its body sees `vm` and `vcpu`:
 *
 *	static void guest_code(void) { GUEST_SYNC(42); }
 *
 *	KVM_ONE_VCPU_TEST(sync_value, guest_code)
 *	{
 *		vcpu_run_expect_sync(vcpu, 42);
 *		vcpu_run_expect_done(vcpu);
 *	}
 *
 *	TEST_HARNESS_MAIN
 *
 * KVM_TEST(name) is a plain test that creates what it needs itself.  In
 * both, TEST_REQUIRE*() skips record their reason in the TAP line, and
 * assertion failures fail only the current test (the harness forks one
 * process per test).
 */
#ifndef KVM_SUITE_TEST_HARNESS_H
#define KVM_SUITE_TEST_HARNESS_H

#include "kselftest_harness.h"
#include "kvm_util.h"

static struct __test_metadata *__kvm_current_test;

static inline void __kvm_harness_skip(const char *reason)
{
	if (__kvm_current_test && __kvm_current_test->results)
		snprintf(__kvm_current_test->results->reason,
			 sizeof(__kvm_current_test->results->reason), "%s", reason);
}

static inline void __kvm_harness_enter(struct __test_metadata *md)
{
	__kvm_current_test = md;
	test_skip_hook = __kvm_harness_skip;
}

/* Read and lay out the ELF once in the parent; every forked test inherits it. */
static void __attribute__((constructor)) __kvm_harness_prime(void)
{
	self_elf_image();
}

FIXTURE(kvm) {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
};

FIXTURE_SETUP(kvm)
{
	__kvm_harness_enter(_metadata);
	self->vm = NULL;
	self->vcpu = NULL;
}

FIXTURE_TEARDOWN(kvm)
{
	kvm_vm_free(self->vm);
}

#define KVM_ONE_VCPU_TEST(name, guest_fn)					\
static void __kvm_body_##name(struct __test_metadata *_metadata,		\
			      struct kvm_vm *vm, struct kvm_vcpu *vcpu);	\
TEST_F(kvm, name)								\
{										\
	self->vm = vm_create_with_one_vcpu(&self->vcpu, (void *)(guest_fn));	\
	__kvm_body_##name(_metadata, self->vm, self->vcpu);			\
}										\
static void __kvm_body_##name(struct __test_metadata *_metadata,		\
			      struct kvm_vm *vm, struct kvm_vcpu *vcpu)

#define KVM_TEST(name)								\
static void __kvm_plain_##name(struct __test_metadata *_metadata);		\
TEST(name)									\
{										\
	__kvm_harness_enter(_metadata);						\
	__kvm_plain_##name(_metadata);						\
}										\
static void __kvm_plain_##name(struct __test_metadata *_metadata)

/*
 * main() for TEST_HARNESS_MAIN (and, through tst_kvm_main(), TST_KVM_MAIN).
 * The harness's own argv check lets a filter that matches nothing run zero
 * tests and exit 0 ("1..0"), ignores stray arguments and exits KSFT_SKIP
 * for -h.  kvm_harness_run() checks the command line first: -h prints the
 * usage and exits 0; a -t/-f/-v/-r name that names no registered test,
 * fixture or variant, a missing value, or a positional argument prints an
 * error and exits KVM_HARNESS_EXIT_USAGE.  Everything else, unknown options
 * included, goes to the harness unchanged: it lists (-l), excludes
 * (-T/-F/-V, where a name matching nothing is harmless), rejects what it
 * doesn't know (KSFT_FAIL), and a newer harness may know more options.
 *
 * Checking names walks __fixture_list, the harness's registry: its
 * name/next/tests/variant links have been stable since variants came in
 * (Linux 5.8); nothing else of the harness's internals is used.
 */
#define KVM_HARNESS_EXIT_USAGE	2
#define KVM_HARNESS_OPTS	"hlF:f:V:v:t:T:r:"

/* The harness's full name of a test: fixture[.variant].test (its -r form). */
static inline void kvm_harness_full_name(char *buf, size_t size, struct __fixture_metadata *f,
					 struct __fixture_variant_metadata *v,
					 struct __test_metadata *t)
{
	snprintf(buf, size, "%s%s%s.%s", f->name, v && v->name[0] ? "." : "",
		 v ? v->name : "", t->name);
}

/*
 * Does name name something of this kind?  kind is the option letter (lower
 * case): 't' a test, 'f' a fixture, 'v' a variant, 'r' a test's full name;
 * 0 matches nothing.  *count (if not NULL) gets the number of tests
 * (fixture x variant x test), full (if not NULL) the full name of the first
 * test that name names, or with kind 0 of the first test.
 */
static bool kvm_harness_names(int kind, const char *name, unsigned int *count,
			      char *full, size_t full_size)
{
	struct __fixture_variant_metadata no_variant = { .name = "" };
	struct __fixture_variant_metadata *v;
	struct __fixture_metadata *f;
	struct __test_metadata *t;
	bool found = false, match;
	char buf[1024];

	if (count)
		*count = 0;
	if (full && full_size)
		full[0] = 0;
	for (f = __fixture_list; f; f = f->next) {
		if (kind == 'f' && !strcmp(f->name, name))
			found = true;
		for (v = f->variant ?: &no_variant; v; v = v->next) {
			if (kind == 'v' && !strcmp(v->name, name))
				found = true;
			for (t = f->tests; t; t = t->next) {
				kvm_harness_full_name(buf, sizeof(buf), f, v, t);
				match = (kind == 't' && !strcmp(t->name, name)) ||
					(kind == 'r' && !strcmp(buf, name));
				if (full && full_size && !full[0] && (match || !kind))
					snprintf(full, full_size, "%s", buf);
				found |= match;
				if (count)
					(*count)++;
			}
		}
	}
	return found;
}

static void kvm_harness_usage(FILE *out, const char *argv0)
{
	const char *prog = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
	char example[1024];
	unsigned int count;

	kvm_harness_names(0, "", &count, example, sizeof(example));
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
		argv0, prog, count, count == 1 ? "" : "s", example, KVM_HARNESS_EXIT_USAGE);
}

/*
 * getopt() saw "--something" (it has no long options): --help is -h, any
 * other is an error.  Returns the exit status.
 */
static int kvm_harness_long_option(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (strncmp(argv[i], "--", 2))
			continue;
		if (!strcmp(argv[i], "--help")) {
			kvm_harness_usage(stdout, argv[0]);
			return 0;
		}
		fprintf(stderr, "%s: error: unknown option '%s' (see -h)\n", argv[0], argv[i]);
		break;
	}
	return KVM_HARNESS_EXIT_USAGE;
}

/* -1: go on and run the tests; else the exit status. */
static int kvm_harness_check(int argc, char **argv)
{
	static const char *const kind_name[] = { ['t'] = "test", ['f'] = "fixture",
						 ['v'] = "variant", ['r'] = "test" };
	const char *prog = argc ? argv[0] : "test";
	char full[1024];
	int opt, kind;

	opterr = 0;	/* the errors below say more than getopt's */
	optind = 1;
	while ((opt = getopt(argc, argv, KVM_HARNESS_OPTS)) != -1) {
		switch (opt) {
		case 'h':
			kvm_harness_usage(stdout, prog);
			return 0;
		case 'l':
		case 'T':
		case 'F':
		case 'V':
			continue;
		case '?':
			if (optopt == '-')
				return kvm_harness_long_option(argc, argv);
			if (optopt && optopt != ':' && strchr(KVM_HARNESS_OPTS, optopt)) {
				fprintf(stderr, "%s: error: option -%c needs a name (see -h)\n",
					prog, optopt);
				return KVM_HARNESS_EXIT_USAGE;
			}
			/* Not ours: the harness decides (it may take a value). */
			return -1;
		}
		kind = tolower(opt);
		if (kvm_harness_names(kind, optarg, NULL, NULL, 0))
			continue;
		fprintf(stderr, "%s: error: no %s named '%s' (see -l)\n",
			prog, kind_name[kind], optarg);
		if (kind == 'r' && kvm_harness_names('t', optarg, NULL, full, sizeof(full)))
			fprintf(stderr, "%s: -r wants the full name fixture[.variant].test: "
				"-r %s (or -t %s)\n", prog, full, optarg);
		return KVM_HARNESS_EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "%s: error: unexpected argument '%s' (see -h)\n",
			prog, argv[optind]);
		return KVM_HARNESS_EXIT_USAGE;
	}
	return -1;
}

static inline int kvm_harness_run(int argc, char **argv)
{
	int ret = kvm_harness_check(argc, argv);

	if (ret >= 0)
		return ret;
	/* The harness parses argv again from the start (GNU getopt permuted it). */
	opterr = 1;
	optind = 1;
	return test_harness_run(argc, argv);
}

#undef TEST_HARNESS_MAIN
#define TEST_HARNESS_MAIN							\
	int main(int argc, char **argv)						\
	{									\
		return kvm_harness_run(argc, argv);				\
	}

#endif /* KVM_SUITE_TEST_HARNESS_H */
