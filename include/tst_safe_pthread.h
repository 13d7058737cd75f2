/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * LTP's SAFE_PTHREAD_* for LTP-form controllers: the pthread call, and
 * TBROK naming it and the error it returned.  TRYLOCK and TIMEDLOCK return
 * EBUSY / ETIMEDOUT (the expected failures) instead; the others return 0.
 */
#ifndef KVM_SUITE_TST_SAFE_PTHREAD_H
#define KVM_SUITE_TST_SAFE_PTHREAD_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "tst_ltp.h"

int safe_pthread_call(const char *file, int lineno, const char *call, int ret, int allowed);

#define SAFE_PTHREAD_CALL_(call, allowed)					\
	safe_pthread_call(__FILE__, __LINE__, #call, call, allowed)

#define SAFE_PTHREAD_CREATE(tid, attr, fn, arg)					\
	SAFE_PTHREAD_CALL_(pthread_create(tid, attr, fn, arg), 0)
#define SAFE_PTHREAD_JOIN(tid, retval)						\
	SAFE_PTHREAD_CALL_(pthread_join(tid, retval), 0)
#define SAFE_PTHREAD_KILL(tid, sig)						\
	SAFE_PTHREAD_CALL_(pthread_kill(tid, sig), 0)
#define SAFE_PTHREAD_MUTEXATTR_INIT(attr)					\
	SAFE_PTHREAD_CALL_(pthread_mutexattr_init(attr), 0)
#define SAFE_PTHREAD_MUTEXATTR_DESTROY(attr)					\
	SAFE_PTHREAD_CALL_(pthread_mutexattr_destroy(attr), 0)
#define SAFE_PTHREAD_MUTEXATTR_SETTYPE(attr, type)				\
	SAFE_PTHREAD_CALL_(pthread_mutexattr_settype(attr, type), 0)
#define SAFE_PTHREAD_MUTEX_INIT(mutex, attr)					\
	SAFE_PTHREAD_CALL_(pthread_mutex_init(mutex, attr), 0)
#define SAFE_PTHREAD_MUTEX_DESTROY(mutex)					\
	SAFE_PTHREAD_CALL_(pthread_mutex_destroy(mutex), 0)
#define SAFE_PTHREAD_MUTEX_LOCK(mutex)						\
	SAFE_PTHREAD_CALL_(pthread_mutex_lock(mutex), 0)
#define SAFE_PTHREAD_MUTEX_UNLOCK(mutex)					\
	SAFE_PTHREAD_CALL_(pthread_mutex_unlock(mutex), 0)
#define SAFE_PTHREAD_MUTEX_TRYLOCK(mutex)					\
	SAFE_PTHREAD_CALL_(pthread_mutex_trylock(mutex), EBUSY)
#define SAFE_PTHREAD_MUTEX_TIMEDLOCK(mutex, abstime)				\
	SAFE_PTHREAD_CALL_(pthread_mutex_timedlock(mutex, abstime), ETIMEDOUT)

#endif /* KVM_SUITE_TST_SAFE_PTHREAD_H */
