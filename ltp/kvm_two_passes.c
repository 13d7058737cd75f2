// SPDX-License-Identifier: GPL-2.0-only
/*
 * The build of an LTP-form test (include/kvm_test.h): both passes define
 * the same global names (a variable and a function); each side must see its
 * own, because the payload's globals are made local before the link.  The
 * payload also runs the guest's tst_res() while the controller uses the
 * host's, two functions of one name in one ELF.
 */
#include "kvm_test.h"

int same_name_value = 1111;

int same_name_function(void)
{
#ifdef COMPILE_PAYLOAD
	return 1;
#else
	return 2;
#endif
}

#ifdef COMPILE_PAYLOAD

void main(void)
{
	if (same_name_value != 1111 || same_name_function() != 1)
		tst_res(TFAIL, "payload sees value %d and function %d, not its own 1111 and 1",
			same_name_value, same_name_function());
	else
		tst_res(TPASS, "payload sees its own same_name_value and same_name_function()");
	same_name_value = 3333;		/* the guest's copy: the host's must not change */
}

#else /* COMPILE_PAYLOAD */

static void setup(void)
{
	same_name_value = 2222;
	tst_kvm_setup();
}

static void run(void)
{
	tst_kvm_run();
	if (same_name_value != 2222 || same_name_function() != 2)
		tst_res(TFAIL, "controller sees value %d and function %d, not its own 2222 and 2",
			same_name_value, same_name_function());
	else
		tst_res(TPASS, "controller sees its own same_name_value and same_name_function()");
}

static struct tst_test test = {
	.test_all = run,
	.setup = setup,
	.cleanup = tst_kvm_cleanup,
};

#endif /* COMPILE_PAYLOAD */
