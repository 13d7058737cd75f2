/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Transitional: the guest runtime moved to guest/guest.h.  Only for files
 * not yet switched to the include/{x86,guest}/ split (the iofuzz files);
 * delete this header once they include "guest/guest.h" themselves.
 */
#include "guest/guest.h"
