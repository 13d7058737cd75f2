/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * LTP's struct tst_test and host result API, the part kvm_host.h (the
 * controller pass of an LTP-form test) and lib/tst_ltp.c (its driver)
 * share.  kvm_host.h describes what is supported.
 */
#ifndef KVM_SUITE_TST_LTP_H
#define KVM_SUITE_TST_LTP_H

/* Flags LTP's host tst_res()/tst_brk() take with the result type. */
#define TERRNO	0x100	/* append strerror(errno) */
#define TTERRNO	0x200	/* append strerror(TST_ERR) */

extern int TST_ERR;

struct tst_tag {
	const char *name;	/* "linux-git", "CVE", ... */
	const char *value;
};

/*
 * A /proc or /sys file that .save_restore saves, sets to val (NULL: only
 * saves) and restores at exit.  flags say what a missing (TST_SR_*_MISSING)
 * or read-only (TST_SR_*_RO) file means: TCONF (the default), TBROK, or
 * skip the entry with a TINFO; TST_SR_IGNORE_ERR: a failed write is a TINFO.
 */
struct tst_path_val {
	const char *path;
	const char *val;
	unsigned int flags;
};

#define TST_SR_TCONF_MISSING	0x0
#define TST_SR_TBROK_MISSING	0x1
#define TST_SR_SKIP_MISSING	0x2
#define TST_SR_TCONF_RO		0x0
#define TST_SR_TBROK_RO		0x4
#define TST_SR_SKIP_RO		0x8
#define TST_SR_IGNORE_ERR	0x10
#define TST_SR_TCONF		(TST_SR_TCONF_MISSING | TST_SR_TCONF_RO)
#define TST_SR_TBROK		(TST_SR_TBROK_MISSING | TST_SR_TBROK_RO)
#define TST_SR_SKIP		(TST_SR_SKIP_MISSING | TST_SR_SKIP_RO)

struct tst_test {
	unsigned int tcnt;
	void (*setup)(void);
	void (*cleanup)(void);
	void (*test)(unsigned int n);
	void (*test_all)(void);
	int needs_root;
	const char *const *supported_archs;
	const struct tst_tag *tags;
	const char *min_kver;		/* ignored (see above) */
	const char *tconf_msg;
	const struct tst_path_val *save_restore;
	const char *const *needs_kconfigs;
	const char *const *needs_drivers;
	int min_cpus;
};

void tst_res_host_(const char *file, int lineno, int ttype, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void tst_brk_host_(const char *file, int lineno, int ttype, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));

/* Report a result from the controller. */
#define tst_res(ttype, fmt, ...)						\
	tst_res_host_(__FILE__, __LINE__, (ttype), (fmt), ##__VA_ARGS__)
/* Report a result (TBROK or TCONF) and end the test: cleanup, verdict, exit. */
#define tst_brk(ttype, fmt, ...)						\
	tst_brk_host_(__FILE__, __LINE__, (ttype), (fmt), ##__VA_ARGS__)

int tst_run_tcases(int argc, char **argv, struct tst_test *self);

/* ---- LTP's host library, the part LTP's KVM tests use (lib/tst_ltp_lib.c) ---- */

#define LTP_ATTRIBUTE_UNUSED	__attribute__((unused))

/* tst_cmd() flags: return the exit status instead of TBROK; TCONF if argv[0] is missing. */
#define TST_CMD_PASS_RETVAL		0x1
#define TST_CMD_TCONF_ON_MISSING	0x2
/*
 * Run argv (PATH searched) with stdout/stderr to the given files (NULL:
 * inherited) and wait for it, at most 60 s; its exit status.  Without
 * TST_CMD_PASS_RETVAL a non-zero status is TBROK.
 */
int tst_cmd_(const char *file, int lineno, const char *const argv[], const char *stdout_path,
	     const char *stderr_path, int flags);
#define tst_cmd(argv, out, err, flags)						\
	tst_cmd_(__FILE__, __LINE__, (argv), (out), (err), (flags))

/* str as an int in [min, max] into *val: 0, or EINVAL / ERANGE. */
int tst_parse_int(const char *str, int *val, int min, int max);

/* .save_restore (lib/tst_ltp_lib.c): save and set each entry; restore what was set. */
void tst_sys_conf_save_all(const struct tst_path_val *conf);
void tst_sys_conf_restore(int verbose);
/* The requirements .needs_kconfigs, .needs_drivers and .min_cpus: TCONF naming the unmet one. */
void tst_check_kconfigs(const char *const *kconfigs);
void tst_check_drivers(const char *const *drivers);
void tst_check_min_cpus(int min_cpus);

/* SAFE_*: the call, or TBROK naming it and errno (LTP's semantics: the return value). */
int safe_close(const char *file, int lineno, int fd);
struct sigaction;
int safe_sigaction(const char *file, int lineno, int signum, const struct sigaction *act,
		   struct sigaction *oldact);
#define SAFE_CLOSE(fd) do {							\
	safe_close(__FILE__, __LINE__, (fd));					\
	(fd) = -1;								\
} while (0)
#define SAFE_SIGACTION(signum, act, oldact)					\
	safe_sigaction(__FILE__, __LINE__, (signum), (act), (oldact))

#endif /* KVM_SUITE_TST_LTP_H */
