# SPDX-License-Identifier: GPL-2.0-only
#
# Two ways to build, one set of rules:
#  - in-tree: this folder is tools/testing/selftests/kvm of a kernel tree;
#    kselftest's lib.mk and kselftest_harness.h come from "..", uapi headers
#    from KHDR_INCLUDES (make -C tools/testing/selftests TARGETS=kvm run_tests).
#  - standalone: a checkout anywhere; the kselftest files come from
#    KSFT_DIR=<kernel>/tools/testing/selftests, or KDIR=<kernel tree>, or
#    else from Debian's linux-source-6.12, unpacked into .cache/ by
#    scripts/ksft_fetch.sh (first make, or make ksft_fetch).  Build output
#    goes to build/.
#
# Test binaries are static and non-PIE: guest code runs at the addresses the
# host links it at.  Everything that can run in the guest (guest_lib/ and the
# tests themselves) is built without SSE/x87 (-mgeneral-regs-only) and
# without a red zone (exceptions push onto the interrupted stack).

SUITE_DIR := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

ifneq ($(wildcard $(SUITE_DIR)/../kselftest_harness.h),)
  KSFT_DIR ?= $(abspath $(SUITE_DIR)/..)
  SUITE_MODE := in-tree
else
  SUITE_MODE := standalone
  ifneq ($(KDIR),)
    KSFT_DIR ?= $(abspath $(KDIR))/tools/testing/selftests
  endif
  KSFT_CACHE := $(SUITE_DIR)/.cache
  KSFT_DIR ?= $(KSFT_CACHE)/linux-6.12/tools/testing/selftests
  OUTPUT ?= $(SUITE_DIR)/build$(if $(SANITIZE),-sanitize)
  # kselftest's runner looks for "settings" relative to its own folder, which
  # is not ours in this mode; hand it our timeout directly.
  export kselftest_override_timeout := $(shell sed -n 's/^timeout=//p' $(SUITE_DIR)/settings)
endif

# Test programs: every x86_64/*_test.c (KVM tests) and lib_tests/*_test.c
# (tests of the suite's own library and test API) is one test binary, and
# so is every ltp/*.c, a test in the form of LTP's KVM Test API (one file
# compiled twice, see include/kvm_test.h and the rule below).
LTP_PROGS := $(patsubst $(SUITE_DIR)/%.c,%,$(sort $(wildcard $(SUITE_DIR)/ltp/*.c)))
TEST_GEN_PROGS := $(patsubst $(SUITE_DIR)/%.c,%,$(sort $(wildcard $(SUITE_DIR)/lib_tests/*_test.c)) \
	$(sort $(wildcard $(SUITE_DIR)/x86_64/*_test.c))) $(LTP_PROGS)
# LTP_KVM_SRC=<ltp>/testcases/kernel/kvm: each *.c there, LTP's own KVM
# tests, unmodified, is one more LTP-form test: build/ltp_ext/<name>
# (Documentation/ltp-api.md, "LTP's own sources").
ifneq ($(LTP_KVM_SRC),)
LTP_KVM_SRC := $(abspath $(LTP_KVM_SRC))
LTP_EXT_PROGS := $(patsubst $(LTP_KVM_SRC)/%.c,ltp_ext/%,$(sort $(wildcard $(LTP_KVM_SRC)/*.c)))
TEST_GEN_PROGS += $(LTP_EXT_PROGS)
endif
# Built but not run by run_tests: benchmarks, tools (tools/iofuzz, the
# fuzzer), host unit tests.
BENCH_PROGS := $(patsubst $(SUITE_DIR)/%.c,%,$(sort $(wildcard $(SUITE_DIR)/bench/*.c)))
TOOL_PROGS := $(patsubst $(SUITE_DIR)/%.c,%,$(sort $(wildcard $(SUITE_DIR)/tools/*.c)))
TEST_GEN_PROGS_EXTENDED := $(BENCH_PROGS) $(TOOL_PROGS)
UNIT_PROGS := $(patsubst $(SUITE_DIR)/%.c,%,$(sort $(wildcard $(SUITE_DIR)/unit/*_unit.c)))
TEST_FILES := x86_64/known_failures

OVERRIDE_TARGETS := 1
all:

KSFT_READY := $(wildcard $(KSFT_DIR)/lib.mk)
KSFT_FETCHED := $(KSFT_CACHE)/linux-6.12/tools/testing/selftests
ifeq ($(KSFT_READY),)
ifneq ($(KSFT_DIR),$(KSFT_FETCHED))
$(error $(KSFT_DIR)/lib.mk not found: KSFT_DIR= must be a kernel's tools/testing/selftests, KDIR= a kernel tree)
endif
# Fetched on first use: make builds the missing include, then restarts.
# `make ksft_fetch` does the same explicitly.
$(KSFT_DIR)/lib.mk:
	@echo "make: fetching kselftest's lib.mk, kselftest_harness.h and uapi headers" \
		"from Debian's linux-source-6.12 (apt-get install if missing) into $(KSFT_CACHE)/;" \
		"KSFT_DIR= or KDIR= uses a kernel tree instead"
	@$(SUITE_DIR)/scripts/ksft_fetch.sh $(KSFT_CACHE) >/dev/null
endif
include $(KSFT_DIR)/lib.mk

# make ksft_fetch: fetch the kselftest files now (standalone mode, no
# KSFT_DIR=/KDIR=); a no-op once they are in .cache/.
ksft_fetch:
ifeq ($(KSFT_DIR),$(KSFT_FETCHED))
	@$(SUITE_DIR)/scripts/ksft_fetch.sh $(KSFT_CACHE) >/dev/null
endif
	@echo "kselftest files: $(KSFT_DIR)"
.PHONY: ksft_fetch

# On the first pass of a fresh checkout lib.mk is still being fetched and
# OUTPUT is unset: the rules below only make sense after make restarts.
ifneq ($(KSFT_READY),)

UNIT_PROGS := $(patsubst %,$(OUTPUT)/%,$(UNIT_PROGS))

# lib.mk appended -D_GNU_SOURCE= and USERCFLAGS to CFLAGS; we keep those.
SUITE_CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-clobbered -Wno-sign-compare \
	-fno-pie -fno-stack-protector -fno-strict-aliasing -fno-omit-frame-pointer \
	-fno-asynchronous-unwind-tables \
	-I$(SUITE_DIR)/include -I$(KSFT_DIR) $(KHDR_INCLUDES)
GUEST_CFLAGS := -mgeneral-regs-only -mno-red-zone
LDFLAGS += -no-pie -pthread

# SANITIZE=1: ASan + UBSan for host-only code (lib/, unit/).  Guest code
# (guest_lib/, and the tests of x86_64/ and lib_tests/, which hold guest
# functions) stays uninstrumented: sanitizer checks inside a guest would
# touch shadow memory the guest doesn't have.  The sanitizer runtimes don't
# link statically, so these binaries are dynamic (still non-PIE: guest
# addresses unchanged).
ifneq ($(SANITIZE),)
  SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
  LDFLAGS += $(SAN_FLAGS)
  # handle_segv=0: crashes the tests plant on purpose (iofuzz's VMM crash)
  # must stay crashes for their supervisors to see.
  SAN_ENV := ASAN_OPTIONS=handle_segv=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
else
  LDFLAGS += -static
endif

# lib/ and its folders of one subsystem each (lib/iofuzz/).
HOST_LIB_SRCS := $(sort $(wildcard $(SUITE_DIR)/lib/*.c $(SUITE_DIR)/lib/*/*.c))
GUEST_LIB_SRCS := $(sort $(wildcard $(SUITE_DIR)/guest_lib/*.c $(SUITE_DIR)/guest_lib/*.S))
HOST_LIB_OBJS := $(patsubst $(SUITE_DIR)/%.c,$(OUTPUT)/%.o,$(HOST_LIB_SRCS))
GUEST_LIB_OBJS := $(patsubst $(SUITE_DIR)/%,$(OUTPUT)/%.o,$(basename $(GUEST_LIB_SRCS)))
GUEST_LIB_OBJS := $(patsubst $(OUTPUT)/%.o.o,$(OUTPUT)/%.o,$(GUEST_LIB_OBJS))
LIB_OBJS := $(HOST_LIB_OBJS) $(GUEST_LIB_OBJS)

DEP_FILES := $(wildcard $(OUTPUT)/*/*.d $(OUTPUT)/*/*/*.d)
-include $(DEP_FILES)

# A test binary whose source is gone (moved or renamed) would still be run
# by check.sh and packed into the lanes: remove it from the build folder.
# In-tree the build folder is the source folder: never the sources (%.c).
STALE_PROGS := $(filter-out $(TEST_GEN_PROGS) %.c %.o %.d,$(wildcard $(OUTPUT)/x86_64/*_test \
	$(OUTPUT)/lib_tests/*_test $(OUTPUT)/ltp/* $(OUTPUT)/ltp_ext/*))
$(if $(STALE_PROGS),$(shell rm -f $(STALE_PROGS)))

# Every folder an object or program lands in (lib/iofuzz/ included).
$(shell mkdir -p $(sort $(dir $(LIB_OBJS))) $(OUTPUT)/x86_64 $(OUTPUT)/lib_tests $(OUTPUT)/ltp \
	$(OUTPUT)/bench $(OUTPUT)/tools $(OUTPUT)/unit $(if $(LTP_KVM_SRC),$(OUTPUT)/ltp_ext))

$(HOST_LIB_OBJS): $(OUTPUT)/%.o: $(SUITE_DIR)/%.c
	$(call msg,CC,,$@)
	$(Q)$(CC) $(CFLAGS) $(SUITE_CFLAGS) $(SAN_FLAGS) -MD -MP -c $< -o $@

# The string functions must not be turned back into calls to themselves.
$(OUTPUT)/guest_lib/string.o: GUEST_EXTRA := -ffreestanding -fno-tree-loop-distribute-patterns

$(OUTPUT)/guest_lib/%.o: $(SUITE_DIR)/guest_lib/%.c
	$(call msg,CC,guest,$@)
	$(Q)$(CC) $(CFLAGS) $(SUITE_CFLAGS) $(GUEST_CFLAGS) $(GUEST_EXTRA) -MD -MP -c $< -o $@

$(OUTPUT)/guest_lib/%.o: $(SUITE_DIR)/guest_lib/%.S
	$(call msg,AS,guest,$@)
	$(Q)$(CC) $(SUITE_CFLAGS) -c $< -o $@

# Tests, benchmarks and tools hold guest code, so they get the guest flags and
# never the sanitizer's (compiled apart from the link for that reason).  The
# library objects are linked whole (there is no archive) so that the
# string functions always replace libc's.
LTP_BINS := $(filter $(OUTPUT)/ltp/%,$(TEST_GEN_PROGS))
LTP_EXT_BINS := $(filter $(OUTPUT)/ltp_ext/%,$(TEST_GEN_PROGS))
$(filter-out $(LTP_BINS) $(LTP_EXT_BINS),$(TEST_GEN_PROGS)) $(TEST_GEN_PROGS_EXTENDED): $(OUTPUT)/%: $(SUITE_DIR)/%.c $(LIB_OBJS)
	$(call msg,CC,,$@)
	$(Q)$(CC) $(CFLAGS) $(SUITE_CFLAGS) $(GUEST_CFLAGS) -MD -MP -MT $@ -MF $@.d -c $< -o $@.o
	$(Q)$(CC) $(LDFLAGS) $@.o $(LIB_OBJS) $(LDLIBS) -o $@

# LTP-form tests (include/kvm_test.h): the file is compiled twice.  The
# payload pass (-DCOMPILE_PAYLOAD, guest flags) renames its main() to
# tst_kvm_payload_main, and objcopy makes every other global it defines
# local, so that a name both passes define (tst_res is on both sides, and a
# test may define its own) cannot clash; its undefined references still
# resolve to guest_lib/.  The controller pass is host code.  One ELF holds both.
OBJCOPY ?= $(CROSS_COMPILE)objcopy
define LTP_FORM_BUILD
	$(Q)$(CC) $(CFLAGS) $(SUITE_CFLAGS) $(GUEST_CFLAGS) -DCOMPILE_PAYLOAD -MD -MP -MT $@ \
		-MF $@.payload.d -c $< -o $@.payload.o
	$(Q)$(OBJCOPY) --keep-global-symbol=tst_kvm_payload_main $@.payload.o
	$(Q)$(CC) $(CFLAGS) $(SUITE_CFLAGS) $(SAN_FLAGS) -MD -MP -MT $@ -MF $@.d -c $< -o $@.host.o
	$(Q)$(CC) $(LDFLAGS) $@.host.o $@.payload.o $(LIB_OBJS) $(LDLIBS) -o $@
endef
$(LTP_BINS): $(OUTPUT)/ltp/%: $(SUITE_DIR)/ltp/%.c $(LIB_OBJS)
	$(call msg,CC,ltp,$@)
	$(LTP_FORM_BUILD)

# LTP's own sources (LTP_KVM_SRC=): the same two passes.  They are LTP's
# code, not the suite's: LTP's guest tst_res() has no printf format check
# (uint64_t printed with %llx), svm01 falls through a case and reads
# guest page 0 on purpose; those warnings are LTP's, not shown here.
$(LTP_EXT_BINS): CFLAGS += -Wno-format -Wno-implicit-fallthrough -Wno-array-bounds \
	-Wno-stringop-overflow
$(LTP_EXT_BINS): $(OUTPUT)/ltp_ext/%: $(LTP_KVM_SRC)/%.c $(LIB_OBJS)
	$(call msg,CC,ltp_ext,$@)
	$(LTP_FORM_BUILD)

# make ltp_ext_report LTP_KVM_SRC=...: per file of LTP_KVM_SRC, built or
# failed to build (with the first error), without stopping at a failure.
ltp_ext_report: $(LIB_OBJS)
	@$(SUITE_DIR)/scripts/ltp_ext_report.sh "$(LTP_KVM_SRC)" "$(MAKE)" "$(OUTPUT)"
.PHONY: ltp_ext_report

# Host unit tests: no KVM; each is linked with the library objects.
$(UNIT_PROGS): $(OUTPUT)/%: $(SUITE_DIR)/%.c $(LIB_OBJS)
	$(call msg,CC,unit,$@)
	$(Q)$(CC) $(CFLAGS) $(SUITE_CFLAGS) $(GUEST_CFLAGS) $(SAN_FLAGS) -MD -MP $(LDFLAGS) \
		$< $(LIB_OBJS) $(LDLIBS) -o $@

all: $(UNIT_PROGS)

EXTRA_CLEAN += $(LIB_OBJS) $(UNIT_PROGS) $(OUTPUT)/*/*.d $(OUTPUT)/*/*/*.d

# make check: host unit tests, then every test with known failures applied.
# JOBS=N runs N test binaries at a time.
# scripts/check_selftest.sh first proves the runner's own verdicts (fake
# binaries, fake known-failures list; ~3 s); scripts/cli_check.sh that every
# binary answers -h and refuses bad options and unknown test names (~1 s).
check: all
	@$(SUITE_DIR)/scripts/check_selftest.sh >$(OUTPUT)/check_selftest.log 2>&1 || \
		{ cat $(OUTPUT)/check_selftest.log; exit 1; }
	@echo "# check.sh self-test: verdicts as expected ($(OUTPUT)/check_selftest.log)"
	@$(SUITE_DIR)/scripts/cli_check.sh $(OUTPUT) >$(OUTPUT)/cli_check.log 2>&1 || \
		{ cat $(OUTPUT)/cli_check.log; exit 1; }
	@echo "# command lines: -h, bad options and unknown test names ($(OUTPUT)/cli_check.log)"
	@JOBS=$(JOBS) $(SAN_ENV) $(SUITE_DIR)/scripts/check.sh --build $(OUTPUT) $(CHECK_ARGS)

# make stress RUNS=N [JOBS=M]: the suite N times; lists verdicts that changed.
stress: all
	@JOBS=$(JOBS) $(SUITE_DIR)/scripts/stress.sh $(OUTPUT) $(or $(RUNS),10)

bench: all
	@for b in $(filter $(OUTPUT)/bench/%,$(TEST_GEN_PROGS_EXTENDED)); do \
		echo "== $$b"; $$b || exit 1; done

help:
	@echo "Targets: all (default), run_tests (kselftest runner), check [JOBS=N] (unit"
	@echo "tests + suite with known failures), stress RUNS=N [JOBS=N] (lists verdicts"
	@echo "that changed), bench, install INSTALL_PATH=dir, clean,"
	@echo "vm_run_tests [VENDOR=amd|intel KERNEL= MODULES= CPU= ACCEL= TESTS= TIMEOUT= KVM_PATCH="
	@echo "TDP=0 STRESS=N] (the lane: kvm_amd in QEMU, or kvm_intel in Bochs with VENDOR=intel;"
	@echo "KVM_PATCH=a.patch,b.patch or a folder: KVM modules rebuilt with them),"
	@echo "bug_corpus [BUGS=names ALL=1 JOBS=N] (the suite against each bugs/*.patch),"
	@echo "platform_table [INTEL_TESTS=] (which tests ran on the host, kvm_amd, kvm_intel)."
	@echo "LTP_KVM_SRC=<ltp>/testcases/kernel/kvm with any target: LTP's own KVM tests too,"
	@echo "as build/ltp_ext/<name>; ltp_ext_report: which of them build (Documentation/ltp-api.md)."
	@echo "SANITIZE=1 with any target: host code under ASan+UBSan, in build-sanitize/."
	@echo "ksft_fetch: fetch kselftest's lib.mk, harness and uapi headers (Debian's"
	@echo "linux-source-6.12, apt-get install if missing) into .cache/; the first make does"
	@echo "it by itself.  KSFT_DIR=<kernel>/tools/testing/selftests or KDIR=<kernel tree>"
	@echo "take them from a kernel tree instead (in-tree mode needs neither)."
	@echo "Mode: $(SUITE_MODE); kselftest files: $(KSFT_DIR); output: $(OUTPUT)"

.PHONY: check stress bench help

# ---- make vm_run_tests: the suite on a chosen kernel's KVM, inside QEMU ----
# KERNEL= MODULES= CPU= ACCEL=kvm|tcg TESTS= TIMEOUT= KVM_PATCH= TDP=0
# (scripts/vm_run.sh).
VM_RUN_ENV = BUILD=$(OUTPUT) KERNEL="$(KERNEL)" MODULES="$(MODULES)" CPU="$(CPU)" \
	ACCEL="$(ACCEL)" TIMEOUT="$(TIMEOUT)" TDP="$(TDP)" VENDOR="$(VENDOR)"
vm_run_tests: all
	@$(VM_RUN_ENV) TESTS="$(TESTS)" KVM_PATCH="$(KVM_PATCH)" STRESS="$(STRESS)" \
		$(SUITE_DIR)/scripts/vm_run.sh

# make bug_corpus [BUGS="name ..."] [ALL=1] [JOBS=N]: the lane once per
# bugs/*.patch; a table of caught and missed bugs (scripts/bug_corpus.sh).
bug_corpus: all
	@$(VM_RUN_ENV) JOBS="$(JOBS)" $(SUITE_DIR)/scripts/bug_corpus.sh $(if $(ALL),--all) $(BUGS)

# make platform_table: which tests ran where, on the day it runs: the host's
# /dev/kvm (check.sh), kvm_amd in QEMU (NPT, then npt=0) and kvm_intel in
# Bochs, one table
# (scripts/platform_table.sh) in $(OUTPUT)/platforms/table.  INTEL_TESTS=
# picks the Intel lane's tests (default: all).
INTEL_TESTS ?= $(patsubst $(OUTPUT)/%,%,$(TEST_GEN_PROGS))
platform_table: all
	@mkdir -p $(OUTPUT)/platforms
	@$(SUITE_DIR)/scripts/check.sh --build $(OUTPUT) >$(OUTPUT)/platforms/host.log 2>&1; \
		host=$$(sed -n 's/^# kvm suite check: platform \([^,]*\),.*/\1/p' \
			$(OUTPUT)/platforms/host.log); \
		[ -e /dev/kvm ] || host="$$host(no-dev-kvm)"; \
		cp $(OUTPUT)/results.tap $(OUTPUT)/platforms/host.tap; \
		$(VM_RUN_ENV) VENDOR=amd TDP=1 RESULTS=$(OUTPUT)/platforms/kvm_amd \
			$(SUITE_DIR)/scripts/vm_run.sh >$(OUTPUT)/platforms/kvm_amd.log 2>&1; \
		$(VM_RUN_ENV) VENDOR=amd TDP=0 RESULTS=$(OUTPUT)/platforms/kvm_amd_npt0 \
			$(SUITE_DIR)/scripts/vm_run.sh >$(OUTPUT)/platforms/kvm_amd_npt0.log 2>&1; \
		$(VM_RUN_ENV) VENDOR=intel TDP=1 RESULTS=$(OUTPUT)/platforms/kvm_intel \
			TESTS="$(INTEL_TESTS)" \
			$(SUITE_DIR)/scripts/vm_run.sh >$(OUTPUT)/platforms/kvm_intel.log 2>&1; \
		$(SUITE_DIR)/scripts/platform_table.sh "$$host=$(OUTPUT)/platforms/host.tap" \
			kvm_amd=$(OUTPUT)/platforms/kvm_amd/results.tap \
			kvm_amd_npt0=$(OUTPUT)/platforms/kvm_amd_npt0/results.tap \
			kvm_intel=$(OUTPUT)/platforms/kvm_intel/results.tap | \
			tee $(OUTPUT)/platforms/table

.PHONY: vm_run_tests bug_corpus platform_table

endif # KSFT_READY
