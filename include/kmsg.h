/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host kernel's log (/dev/kmsg, Documentation/ABI/testing/dev-kmsg):
 * open it at its end, then read the records the test caused, one by one.
 * Reading /dev/kmsg needs CAP_SYSLOG unless dmesg_restrict is 0.
 */
#ifndef KVM_SUITE_KMSG_H
#define KVM_SUITE_KMSG_H

#include <stddef.h>

/* A descriptor positioned after the last record, or -errno. */
int kmsg_open(void);
/*
 * The next record's message (the text after "prefix;", without the
 * newline) in line: 1, or 0 when no record is left.  Records the ring
 * overwrote before they were read are skipped.
 */
int kmsg_next(int fd, char *line, size_t len);

#endif /* KVM_SUITE_KMSG_H */
