// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host kernel's log, record by record (include/kmsg.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kmsg.h"

int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	lseek(fd, 0, SEEK_END);		/* only what comes from now on */
	return fd;
}

int kmsg_next(int fd, char *line, size_t len)
{
	char rec[8192], *msg, *nl;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on with the next */
		if (n <= 0)
			return 0;
		rec[n] = 0;
		/* "level,seq,usec,flags[,...];message\n" then continuation lines */
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		snprintf(line, len, "%s", msg);
		return 1;
	}
}
