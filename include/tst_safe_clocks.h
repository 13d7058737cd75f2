/* SPDX-License-Identifier: GPL-2.0-only */
/* LTP's SAFE_CLOCK_GETTIME for LTP-form controllers: clock_gettime() or TBROK. */
#ifndef KVM_SUITE_TST_SAFE_CLOCKS_H
#define KVM_SUITE_TST_SAFE_CLOCKS_H

#include <time.h>

#include "tst_ltp.h"

int safe_clock_gettime(const char *file, int lineno, clockid_t clk, struct timespec *tp);
#define SAFE_CLOCK_GETTIME(clk, tp)						\
	safe_clock_gettime(__FILE__, __LINE__, (clk), (tp))

#endif /* KVM_SUITE_TST_SAFE_CLOCKS_H */
