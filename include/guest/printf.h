/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Formatted output for guest code.
 *
 * Guest code runs without libc and without SSE (kvm_pvm's emulator cannot
 * run SSE moves; see GUEST_CFLAGS in the Makefile), so it cannot call
 * glibc's snprintf.
 * guest_vsnprintf() implements the C99 snprintf contract for the integer,
 * pointer, string and character conversions:
 *
 *   conversions  d i u x X o p s c %
 *   flags        - 0 # + space
 *   width        N or *          precision  .N or .*
 *   length       hh h l ll z t j
 *
 * The return value is the length the full output would have had, the
 * buffer is always NUL-terminated when size > 0, and %p prints "0x..." or
 * "(nil)", %s of NULL prints "(null)" (glibc's choices, so host-side unit
 * tests can compare against glibc directly).  Floating point is not
 * supported: %e %f %g %a print the conversion literally.
 *
 * The same object is linked into host unit tests (unit/printf_unit.c).
 */
#ifndef SUITE_GUEST_PRINTF_H
#define SUITE_GUEST_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
