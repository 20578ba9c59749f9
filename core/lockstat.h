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
 * progress (the lock is given up inside it); taking the lock back on return
 * counts as an acquisition, sampled like the others, its wait not timed.
 *
 * Lock order (lockdep-style), in every build with assertions (no NDEBUG;
 * meson's b_ndebug=false, so all of this project's builds): each class has a
 * rank, and a thread may take a lock only if its rank is above that of every
 * lock the thread holds - the order manager.c documents. A violation prints
 * both classes and aborts at the acquisition that would invert the order,
 * whether or not it would have deadlocked this time. The held locks are a
 * small per-thread stack (lockstat.c).
 */
#ifndef VIDMM_LOCKSTAT_H
#define VIDMM_LOCKSTAT_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "vidmm.h"

#define LOCKSTAT_SAMPLE 16u /* power of two: one hold time in this many */

#ifndef NDEBUG
#define LOCKSTAT_ORDER_CHECK 1
#endif

/* Ranks: a lock may be taken only above every lock held (manager.c). */
enum lock_rank {
	LOCK_RANK_MANAGER = 1, /* vm->lock */
	LOCK_RANK_RESV,        /* allocations' reservations (a->resv): one at a
				* time under vm->lock, or a job's set without it
				* (reservation.c: by trylock, or in address
				* order), the set registered once */
	LOCK_RANK_SWAP_STORE,  /* the swap store's lock (swap.c) */
};

struct lockstat {
	const char *name;      /* the class, for a violation report */
	unsigned rank;         /* enum lock_rank */
	uint64_t acquisitions; /* condvar re-acquisitions included */
	uint64_t contended;    /* acquisitions that waited */
	uint64_t hold_t0;      /* start of the hold being sampled, 0: none */
	struct vidmm_hist wait; /* ns waited, contended acquisitions */
	struct vidmm_hist hold; /* ns held, sampled acquisitions */
};

uint64_t now_ns(void);

#ifdef LOCKSTAT_ORDER_CHECK
/* Record that this thread takes ls (aborts on an order violation), and that
 * it gave it up. */
void lockstat_order_take(const struct lockstat *ls);
void lockstat_order_give(const struct lockstat *ls);
#else
static inline void lockstat_order_take(const struct lockstat *ls) { (void)ls; }
static inline void lockstat_order_give(const struct lockstat *ls) { (void)ls; }
#endif

static inline void lockstat_init(struct lockstat *ls, const char *name, unsigned rank)
{
	ls->name = name;
	ls->rank = rank;
	ls->acquisitions = ls->contended = ls->hold_t0 = 0;
	vidmm_hist_init(&ls->wait);
	vidmm_hist_init(&ls->hold);
}

/* m was just taken (at t, 0: not read): count it, and sample its hold
 * one time in LOCKSTAT_SAMPLE. */
static inline void lockstat_acquired(struct lockstat *ls, uint64_t t)
{
	ls->hold_t0 = 0;
	if (!(++ls->acquisitions & (LOCKSTAT_SAMPLE - 1)))
		ls->hold_t0 = t ? t : now_ns();
}

static inline void lockstat_lock(pthread_mutex_t *m, struct lockstat *ls)
{
	uint64_t t = 0;

	lockstat_order_take(ls);
	if (pthread_mutex_trylock(m)) {
		uint64_t t0 = now_ns();

		pthread_mutex_lock(m);
		t = now_ns();
		ls->contended++;
		vidmm_hist_record(&ls->wait, t - t0);
	}
	lockstat_acquired(ls, t);
}

/* Take m if it is free: true if taken (counted and sampled like
 * lockstat_lock), false at once otherwise. */
static inline bool lockstat_trylock(pthread_mutex_t *m, struct lockstat *ls)
{
	lockstat_order_take(ls);
	if (pthread_mutex_trylock(m)) {
		lockstat_order_give(ls);
		return false;
	}
	lockstat_acquired(ls, 0);
	return true;
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
	lockstat_order_give(ls);
}

/* Copy the statistics out; the caller holds the lock they describe. */
static inline void lockstat_copy(const struct lockstat *ls, struct vidmm_lock_stats *out)
{
	out->acquisitions = ls->acquisitions;
	out->contended = ls->contended;
	out->wait = ls->wait;
	out->hold = ls->hold;
}

static inline int lockstat_cond_timedwait(pthread_cond_t *cv, pthread_mutex_t *m,
					  struct lockstat *ls, const struct timespec *ts)
{
	lockstat_hold_end(ls);
	int ret = pthread_cond_timedwait(cv, m, ts);
	/* Held again: counted and sampled like any acquisition (the wait for
	 * the mutex inside the condvar is not separable from the wait for
	 * the condition, so it is not timed). */
	lockstat_acquired(ls, 0);
	return ret;
}

#endif /* VIDMM_LOCKSTAT_H */
