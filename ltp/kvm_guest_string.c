// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP KVM Test API 3.1 and 3.2 in the payload: memset, memzero, memcpy,
 * strcpy, strcat and strlen behave as the C standard says (return values
 * included: memzero returns dest like memset), and ARRAY_SIZE and
 * LTP_ALIGN compute what the document says.  An LTP-form test
 * (include/kvm_test.h).
 */
#include "kvm_test.h"

#ifdef COMPILE_PAYLOAD

static int bad;

static void check(int ok, const char *what)
{
	if (!ok) {
		tst_res(TFAIL, what);
		bad++;
	}
}

void main(void)
{
	char buf[32], other[32];
	unsigned int words[7];

	check(memset(buf, 'x', sizeof(buf)) == buf, "memset() does not return dest");
	check(buf[0] == 'x' && buf[31] == 'x', "memset() did not fill the buffer");
	check(memzero(buf + 4, 8) == buf + 4, "memzero() does not return dest");
	check(buf[3] == 'x' && !buf[4] && !buf[11] && buf[12] == 'x',
	      "memzero() cleared other bytes than [4, 12)");
	check(strcpy(buf, "kvm") == buf, "strcpy() does not return dest");
	check(strcat(buf, "-payload") == buf, "strcat() does not return dest");
	check(strlen(buf) == 11, "strlen(\"kvm-payload\") is not 11");
	check(strlen("") == 0, "strlen(\"\") is not 0");
	check(memcpy(other, buf, strlen(buf) + 1) == other, "memcpy() does not return dest");
	check(!strcmp(other, "kvm-payload"), "memcpy() copied something else");
	check(ARRAY_SIZE(words) == 7, "ARRAY_SIZE() of a 7-element array is not 7");
	check(LTP_ALIGN(13, 8) == 16 && LTP_ALIGN(16, 8) == 16 && LTP_ALIGN(0, 4096) == 0,
	      "LTP_ALIGN(13, 8) != 16, LTP_ALIGN(16, 8) != 16 or LTP_ALIGN(0, 4096) != 0");
	if (!bad)
		tst_res(TPASS, "memset, memzero, memcpy, strcpy, strcat, strlen, ARRAY_SIZE, LTP_ALIGN");
}

#else /* COMPILE_PAYLOAD */

static struct tst_test test = {
	.test_all = tst_kvm_run,
	.setup = tst_kvm_setup,
	.cleanup = tst_kvm_cleanup,
};

#endif /* COMPILE_PAYLOAD */
