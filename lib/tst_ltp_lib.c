// SPDX-License-Identifier: GPL-2.0-only
/*
 * The part of LTP's host library that LTP's own KVM tests call
 * (include/tst_ltp.h, tst_module.h, tst_safe_pthread.h, tst_safe_clocks.h):
 * tst_cmd(), the module helpers, the SAFE_* wrappers, tst_parse_int(), and
 * struct tst_test's .save_restore, .needs_kconfigs, .needs_drivers and
 * .min_cpus.  Each failure is reported as LTP does (TBROK, or TCONF for an
 * unmet requirement) through the host tst_res()/tst_brk().
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "tst_kvm.h"
#include "tst_ltp.h"
#include "tst_module.h"
#include "tst_safe_clocks.h"
#include "tst_safe_pthread.h"

#define CMD_TIMEOUT_MS	60000

/* ---- tst_cmd() ---- */

static void redirect(const char *path, int fd)
{
	int f;

	if (!path)
		return;
	f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (f < 0 || dup2(f, fd) < 0)
		_exit(126);
	close(f);
}

/* Wait for pid at most CMD_TIMEOUT_MS; SIGKILL it after that. */
static int wait_bounded(pid_t pid, int *status)
{
	uint64_t end = now_ns() + CMD_TIMEOUT_MS * 1000000ULL;
	pid_t r;

	while ((r = waitpid(pid, status, WNOHANG)) == 0 && now_ns() < end)
		usleep(10000);
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, status, 0);
		return -1;
	}
	return r < 0 ? -1 : 0;
}

int tst_cmd_(const char *file, int lineno, const char *const argv[], const char *stdout_path,
	     const char *stderr_path, int flags)
{
	int status, code;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tst_brk_host_(file, lineno, TBROK | TERRNO, "fork() for %s", argv[0]);
	if (!pid) {
		redirect(stdout_path, STDOUT_FILENO);
		redirect(stderr_path, STDERR_FILENO);
		execvp(argv[0], (char *const *)argv);
		_exit(errno == ENOENT ? 255 : 127);
	}
	if (wait_bounded(pid, &status))
		tst_brk_host_(file, lineno, TBROK, "%s did not end within %d s (killed)", argv[0],
			      CMD_TIMEOUT_MS / 1000);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (code == 255 && (flags & TST_CMD_TCONF_ON_MISSING))
		tst_brk_host_(file, lineno, TCONF, "%s not found", argv[0]);
	if (code && !(flags & TST_CMD_PASS_RETVAL))
		tst_brk_host_(file, lineno, TBROK, "%s exited with %d%s", argv[0], code,
			      code == 255 ? " (not found)" : "");
	return code;
}

/* ---- modules ---- */

void tst_module_load(const char *mod_name, char *const argv[])
{
	const char *cmd[32] = { "modprobe", mod_name };
	unsigned int n = 2;

	for (; argv && *argv; argv++) {
		if (n + 1 >= sizeof(cmd) / sizeof(cmd[0]))
			tst_brk_host_(__FILE__, __LINE__, TBROK, "too many parameters for %s",
				      mod_name);
		cmd[n++] = *argv;
	}
	cmd[n] = NULL;
	tst_cmd(cmd, NULL, NULL, 0);
}

void tst_module_unload(const char *mod_name)
{
	const char *const cmd[] = { "rmmod", mod_name, NULL };

	/* A module in use (a VM being torn down) may need a moment. */
	for (int i = 0; i < 50; i++) {
		if (!tst_cmd(cmd, "/dev/null", "/dev/null", TST_CMD_PASS_RETVAL))
			return;
		usleep(100000);
	}
	tst_brk_host_(__FILE__, __LINE__, TBROK, "rmmod %s failed for 5 s", mod_name);
}

void tst_module_reload(const char *mod_name, char *const argv[])
{
	tst_res_host_(__FILE__, __LINE__, TINFO, "reloading module %s", mod_name);
	tst_module_unload(mod_name);
	tst_module_load(mod_name, argv);
}

/* The first word of a file (at most size - 1 bytes); -1 if it cannot be read. */
static int read_word(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -1;
	ok = fgets(buf, size, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, " \t\n")] = '\0';
	return 0;
}

int tst_read_bool_sys_param(const char *filename)
{
	char buf[64];
	int v;

	if (read_word(filename, buf, sizeof(buf)))
		return -1;
	if (isdigit((unsigned char)buf[0]))
		return tst_parse_int(buf, &v, INT_MIN, INT_MAX) ? 1 : v;
	return strcasecmp(buf, "N") ? 1 : 0;
}

/* ---- small wrappers ---- */

int tst_parse_int(const char *str, int *val, int min, int max)
{
	long v;
	char *end;

	if (!str || !*str)
		return EINVAL;
	errno = 0;
	v = strtol(str, &end, 0);
	if (*end)
		return EINVAL;
	if (errno || v < min || v > max)
		return ERANGE;
	*val = v;
	return 0;
}

int safe_close(const char *file, int lineno, int fd)
{
	int r = close(fd);

	if (r)
		tst_brk_host_(file, lineno, TBROK | TERRNO, "close(%d)", fd);
	return r;
}

int safe_sigaction(const char *file, int lineno, int signum, const struct sigaction *act,
		   struct sigaction *oldact)
{
	int r = sigaction(signum, act, oldact);

	if (r)
		tst_brk_host_(file, lineno, TBROK | TERRNO, "sigaction(%d)", signum);
	return r;
}

int safe_clock_gettime(const char *file, int lineno, clockid_t clk, struct timespec *tp)
{
	int r = clock_gettime(clk, tp);

	if (r)
		tst_brk_host_(file, lineno, TBROK | TERRNO, "clock_gettime(%d)", (int)clk);
	return r;
}

int safe_pthread_call(const char *file, int lineno, const char *call, int ret, int allowed)
{
	if (ret && ret != allowed)
		tst_brk_host_(file, lineno, TBROK, "%s: %s", call, strerror(ret));
	return ret;
}

/* ---- .save_restore ---- */

struct saved_conf {
	char path[PATH_MAX];
	char value[256];
	struct saved_conf *next;
};

static struct saved_conf *saved;

static int write_value(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -1;
	n = write(fd, value, strlen(value));
	err = errno;
	close(fd);
	errno = err;
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

/* A module parameter's bool reads back as Y/N: "1"/"0" mean the same. */
static bool same_value(const char *cur, const char *want)
{
	if (!strcmp(cur, want))
		return true;
	return (!strcmp(cur, "Y") && !strcmp(want, "1")) ||
	       (!strcmp(cur, "N") && !strcmp(want, "0"));
}

static int flag_type(unsigned int flags, unsigned int tbrok, unsigned int skip)
{
	if ((flags & skip) == skip)
		return -1;
	return (flags & tbrok) == tbrok ? TBROK : TCONF;
}

static void save_one(const struct tst_path_val *c)
{
	struct saved_conf *s;
	char cur[256];
	int type;

	if (access(c->path, F_OK)) {
		type = flag_type(c->flags, TST_SR_TBROK_MISSING, TST_SR_SKIP_MISSING);
		if (type < 0) {
			tst_res_host_(__FILE__, __LINE__, TINFO, "%s not found: not set",
				      c->path);
			return;
		}
		tst_brk_host_(__FILE__, __LINE__, type, "%s not found", c->path);
	}
	if (read_word(c->path, cur, sizeof(cur)))
		tst_brk_host_(__FILE__, __LINE__, TBROK | TERRNO, "cannot read %s", c->path);
	/* Already the wanted value: nothing to set, nothing to restore. */
	if (!c->val || same_value(cur, c->val)) {
		tst_res_host_(__FILE__, __LINE__, TINFO, "%s is %s", c->path, cur);
		return;
	}
	if (write_value(c->path, c->val)) {
		if (errno == EACCES || errno == EROFS || errno == EPERM) {
			type = flag_type(c->flags, TST_SR_TBROK_RO, TST_SR_SKIP_RO);
			if (type < 0) {
				tst_res_host_(__FILE__, __LINE__, TINFO, "%s is read-only: "
					      "stays %s", c->path, cur);
				return;
			}
			tst_brk_host_(__FILE__, __LINE__, type | TERRNO, "%s is %s and cannot "
				      "be set to %s", c->path, cur, c->val);
		}
		if (c->flags & TST_SR_IGNORE_ERR) {
			tst_res_host_(__FILE__, __LINE__, TINFO | TERRNO, "writing %s to %s",
				      c->val, c->path);
			return;
		}
		tst_brk_host_(__FILE__, __LINE__, TBROK | TERRNO, "writing %s to %s", c->val,
			      c->path);
	}
	tst_res_host_(__FILE__, __LINE__, TINFO, "%s: %s -> %s (restored at exit)", c->path,
		      cur, c->val);
	s = calloc(1, sizeof(*s));
	if (!s)
		tst_brk_host_(__FILE__, __LINE__, TBROK, "out of memory");
	snprintf(s->path, sizeof(s->path), "%s", c->path);
	snprintf(s->value, sizeof(s->value), "%s", cur);
	s->next = saved;
	saved = s;
}

void tst_sys_conf_save_all(const struct tst_path_val *conf)
{
	for (; conf && conf->path; conf++)
		save_one(conf);
}

void tst_sys_conf_restore(int verbose)
{
	while (saved) {
		struct saved_conf *s = saved;

		saved = s->next;
		if (write_value(s->path, s->value))
			printf("# TWARN: restoring %s to %s: %s\n", s->path, s->value,
			       strerror(errno));
		else if (verbose)
			printf("# %s restored to %s\n", s->path, s->value);
		free(s);
	}
}

/* ---- requirements ---- */

/* The kernel's config as a stream, or NULL (KCONFIG_PATH, /proc/config.gz, /boot). */
static FILE *open_kconfig(char *where, size_t size, bool *piped)
{
	const char *env = getenv("KCONFIG_PATH");
	struct utsname u;

	*piped = false;
	if (env) {
		snprintf(where, size, "%s", env);
		return fopen(env, "r");
	}
	if (!access("/proc/config.gz", R_OK)) {
		snprintf(where, size, "/proc/config.gz");
		*piped = true;
		return popen("zcat /proc/config.gz", "r");
	}
	uname(&u);
	snprintf(where, size, "/boot/config-%s", u.release);
	return fopen(where, "r");
}

/* Is "CONFIG_X" (set to y or m) or "CONFIG_X=v" in the config? */
static bool kconfig_has(FILE *f, const char *want)
{
	size_t n = strcspn(want, "=");
	char line[512];

	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, want, n) || line[n] != '=')
			continue;
		if (want[n] == '=')
			return !strcmp(line + n + 1, want + n + 1);
		return !strcmp(line + n + 1, "y") || !strcmp(line + n + 1, "m");
	}
	return false;
}

void tst_check_kconfigs(const char *const *kconfigs)
{
	char where[PATH_MAX], tmp[] = "/tmp/kvm-suite-kconfig-XXXXXX";
	bool piped;
	FILE *f, *copy;
	int c;

	if (!kconfigs || !*kconfigs)
		return;
	f = open_kconfig(where, sizeof(where), &piped);
	if (!f)
		tst_brk_host_(__FILE__, __LINE__, TCONF, "no kernel config to check %s against "
			      "(%s: %s; KCONFIG_PATH= names one)", *kconfigs, where,
			      strerror(errno));
	/* A pipe cannot be rewound: keep a copy. */
	c = mkstemp(tmp);
	copy = c >= 0 ? fdopen(c, "w+") : NULL;
	if (!copy)
		tst_brk_host_(__FILE__, __LINE__, TBROK | TERRNO, "mkstemp");
	unlink(tmp);
	while ((c = fgetc(f)) != EOF)
		fputc(c, copy);
	if (piped)
		pclose(f);
	else
		fclose(f);
	for (; *kconfigs; kconfigs++)
		if (!kconfig_has(copy, *kconfigs)) {
			fclose(copy);
			tst_brk_host_(__FILE__, __LINE__, TCONF, "%s not set in %s", *kconfigs,
				      where);
		}
	fclose(copy);
}

/* A module file's line in modules.dep/modules.builtin names it ("kernel/.../kvm.ko"). */
static bool listed_in(const char *path, const char *driver)
{
	char line[1024], name[256];
	FILE *f = fopen(path, "r");
	bool found = false;

	if (!f)
		return false;
	snprintf(name, sizeof(name), "/%s.ko", driver);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, name) != NULL;
	fclose(f);
	return found;
}

static bool driver_available(const char *driver)
{
	char path[PATH_MAX], alt[256];
	struct utsname u;

	/* Loaded (or built in with parameters): /sys/module; "-" and "_" are one. */
	snprintf(alt, sizeof(alt), "%s", driver);
	for (char *p = alt; *p; p++)
		if (*p == '-')
			*p = '_';
	snprintf(path, sizeof(path), "/sys/module/%s", alt);
	if (!access(path, F_OK))
		return true;
	uname(&u);
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
	if (listed_in(path, driver))
		return true;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin", u.release);
	return listed_in(path, driver);
}

void tst_check_drivers(const char *const *drivers)
{
	for (; drivers && *drivers; drivers++)
		if (!driver_available(*drivers))
			tst_brk_host_(__FILE__, __LINE__, TCONF, "driver %s not available "
				      "(not in /sys/module, modules.dep or modules.builtin)",
				      *drivers);
}

void tst_check_min_cpus(int min_cpus)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (min_cpus > 0 && n < min_cpus)
		tst_brk_host_(__FILE__, __LINE__, TCONF, "test needs at least %d CPUs online, "
			      "%ld are", min_cpus, n);
}
