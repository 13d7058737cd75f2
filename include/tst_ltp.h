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

#endif /* KVM_SUITE_TST_LTP_H */
