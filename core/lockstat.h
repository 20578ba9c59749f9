/* SPDX-License-Identifier: MIT */
/*
 * lockstat.h - what the manager's locks cost: per lock class, how often a
 * lock was taken, how often a taker had to wait and for how long, and how
 * long it was held (internal to libvidmm; read through
 * vidmm_query_lock_stats).
 *
 * Owns: struct lockstat and the acquire/release/condvar wrappers that fill
 * it. Must not: change what a lock protects or the order locks are taken in
 * (manager.c documents both), or allocate.
 *
 * Cheap enough to be always on: an uncontended acquisition is a trylock and
 * a counter; only a taker that has to wait reads the clock (twice), and hold
 * times are sampled, one acquisition in LOCKSTAT_SAMPLE (two clock reads
 * then). Every field is written by the lock's holder only, so the lock
 * itself protects its statistics. A condvar wait ends the hold sample in
 * progress (the lock is given up inside it) and starts none.
 */
#ifndef VIDMM_LOCKSTAT_H
#define VIDMM_LOCKSTAT_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "vidmm.h"

#define LOCKSTAT_SAMPLE 16u /* power of two: one hold time in this many */

struct lockstat {
	uint64_t acquisitions; /* condvar re-acquisitions not counted */
	uint64_t contended;    /* acquisitions that waited */
	uint64_t hold_t0;      /* start of the hold being sampled, 0: none */
	struct vidmm_hist wait; /* ns waited, contended acquisitions */
	struct vidmm_hist hold; /* ns held, sampled acquisitions */
};

uint64_t now_ns(void);

static inline void lockstat_init(struct lockstat *ls)
{
	ls->acquisitions = ls->contended = ls->hold_t0 = 0;
	vidmm_hist_init(&ls->wait);
	vidmm_hist_init(&ls->hold);
}

static inline void lockstat_lock(pthread_mutex_t *m, struct lockstat *ls)
{
	uint64_t t = 0;

	if (pthread_mutex_trylock(m)) {
		uint64_t t0 = now_ns();

		pthread_mutex_lock(m);
		t = now_ns();
		ls->contended++;
		vidmm_hist_record(&ls->wait, t - t0);
	}
	ls->hold_t0 = 0;
	if (!(++ls->acquisitions & (LOCKSTAT_SAMPLE - 1)))
		ls->hold_t0 = t ? t : now_ns();
}

/* End the hold sample in progress, if any (the caller still holds m). */
static inline void lockstat_hold_end(struct lockstat *ls)
{
	if (ls->hold_t0) {
		vidmm_hist_record(&ls->hold, now_ns() - ls->hold_t0);
		ls->hold_t0 = 0;
	}
}

static inline void lockstat_unlock(pthread_mutex_t *m, struct lockstat *ls)
{
	lockstat_hold_end(ls);
	pthread_mutex_unlock(m);
}

static inline int lockstat_cond_timedwait(pthread_cond_t *cv, pthread_mutex_t *m,
					  struct lockstat *ls, const struct timespec *ts)
{
	lockstat_hold_end(ls);
	return pthread_cond_timedwait(cv, m, ts);
}

#endif /* VIDMM_LOCKSTAT_H */
