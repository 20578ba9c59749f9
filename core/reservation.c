/* SPDX-License-Identifier: MIT */
/*
 * reservation.c - the resident-submit fast path: a job whose allocations are
 * all resident, settled and published is queued under their reservations
 * (a->resv, dma_resv's role) alone, without the manager's lock, so a client
 * whose work is resident does not wait behind another's eviction scan,
 * paging or swap I/O. Also the two things that path must not do under
 * vm->lock and therefore defers or shards: the eviction policy's use hook
 * (a lock-free queue applied by the next vm->lock holder, as TTM batches
 * its LRU bulk moves) and its statistics (per-thread-group shards).
 *
 * Owns: submit_fast, the use queue, the shards. Must not: change an
 * allocation's placement or state (only its fences, as a submit does), wait
 * for anything but a reservation held for a few stores, or take vm->lock.
 *
 * THE PROTOCOL (manager.c has the lock order):
 *  - The fast path takes its allocations' reservations - by trylock in the
 *    job's order, or, if one is busy, sorted by address and waiting (so
 *    two fast submits over overlapping sets cannot deadlock) - checks
 *    under them that each is still published under the handle given
 *    (pub_handle), not owned by a mover, RESIDENT, its clear known done
 *    (clear_fence 0), no pipelined page-in in flight and no read-ahead
 *    trigger pending; queues the job (the chip's submit_job never blocks:
 *    on a full ring the reservations are let go, the engine's next
 *    completion waited for, and everything checked again), records its
 *    fence on each, queues the use, and lets go. Anything else - a handle
 *    it cannot resolve, one allocation not settled - is the locked path's,
 *    which gives the documented errors.
 *  - A vm->lock holder changes those fields only under the allocation's
 *    reservation, one at a time, and never waits for anything while holding
 *    it. Ownership (alloc_own) is taken under it, so after alloc_own no fast
 *    submit can start on the allocation, and one in progress has finished
 *    and left its fences: an owner that needs the allocation idle checks
 *    alloc_busy_locked after alloc_own, never only before.
 *  - Fences are atomics: written under resv, read by busy checks without it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the use queue ------------------------------------------------------------------ */

/* Queue the uses of a[0..n) for the eviction policy (their resvs held, so
 * they are live), in the job's order, with one push. An allocation queued
 * by an earlier submit stays where it is: the policy sees its first use
 * since the last drain, not its last (one named twice by this job moves to
 * the newest end). true if the queue was empty: the caller then tries
 * to apply it at once. */
static bool use_queue(struct vidmm *vm, struct vidmm_allocation *const *a, uint32_t n)
{
	struct vidmm_allocation *first = NULL, *last = NULL;

	/* The chain runs newest first, as the stack does. */
	for (uint32_t i = 0; i < n; i++) {
		struct vidmm_allocation *x = a[i];
		if (atomic_exchange_explicit(&x->use_queued, true, memory_order_acq_rel)) {
			/* Named again by this job: its use is the newest, as
			 * the locked path's second hook call would make it. */
			struct vidmm_allocation **pp = &first, *prev = NULL;
			while (*pp && *pp != x) {
				prev = *pp;
				pp = &(*pp)->use_next;
			}
			if (!*pp || *pp == first)
				continue; /* queued before this job, or newest already */
			*pp = x->use_next;
			if (last == x)
				last = prev;
			x->use_next = first;
			first = x;
			continue;
		}
		x->use_next = first;
		first = x;
		if (!last)
			last = x;
	}
	if (!first)
		return false;
	struct vidmm_allocation *head = atomic_load_explicit(&vm->used_head, memory_order_relaxed);
	do
		last->use_next = head;
	while (!atomic_compare_exchange_weak_explicit(&vm->used_head, &head, first,
						      memory_order_release, memory_order_relaxed));
	return head == NULL;
}

void residency_drain_used_locked(struct vidmm *vm)
{
	struct vidmm_allocation *list, *rev = NULL;

	/* Called on every reap, scan and locked use: an empty queue costs a
	 * load, not a read-modify-write of a line the fast path writes. */
	if (!atomic_load_explicit(&vm->used_head, memory_order_relaxed))
		return;
	list = atomic_exchange_explicit(&vm->used_head, NULL, memory_order_acquire);

	/* Oldest first, as the policy's most-recent end expects. */
	while (list) {
		struct vidmm_allocation *next = list->use_next;
		list->use_next = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		struct vidmm_allocation *next = rev->use_next;
		/* Cleared only once its link is read: a pusher may reuse it. */
		atomic_store_explicit(&rev->use_queued, false, memory_order_release);
		if (!rev->destroyed && rev->residency == VIDMM_RESIDENT && !rev->moving)
			vm->policy->use(vm, rev);
		rev = next;
	}
}

/* ---- statistics shards -------------------------------------------------------------- */

static atomic_uint next_shard;
static _Thread_local unsigned my_shard; /* 1 + index; 0: not assigned yet */

static struct fast_shard *shard(struct vidmm *vm)
{
	if (!my_shard)
		my_shard = 1 + atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) %
			       FAST_SHARDS;
	return &vm->fast[my_shard - 1];
}

int fast_init(struct vidmm *vm)
{
	vm->fast = aligned_alloc(64, FAST_SHARDS * sizeof(*vm->fast));
	if (!vm->fast)
		return -ENOMEM;
	for (unsigned i = 0; i < FAST_SHARDS; i++) {
		struct fast_shard *s = &vm->fast[i];
		pthread_mutex_init(&s->m, NULL);
		s->submits = s->ring_full_waits = s->resv_acq = s->resv_contended = 0;
		vidmm_hist_init(&s->submit);
		vidmm_hist_init(&s->resv_wait);
		vidmm_hist_init(&s->resv_hold);
	}
	lockstat_init(&vm->resv_class, "reservation", LOCK_RANK_RESV);
	return 0;
}

void fast_fini(struct vidmm *vm)
{
	for (unsigned i = 0; vm->fast && i < FAST_SHARDS; i++)
		pthread_mutex_destroy(&vm->fast[i].m);
	free(vm->fast);
	vm->fast = NULL;
}

void fast_resv_stats(struct vidmm *vm, struct vidmm_lock_stats *out)
{
	memset(out, 0, sizeof(*out));
	vidmm_hist_init(&out->wait);
	vidmm_hist_init(&out->hold);
	for (unsigned i = 0; i < FAST_SHARDS; i++) {
		struct fast_shard *s = &vm->fast[i];
		pthread_mutex_lock(&s->m);
		out->acquisitions += s->resv_acq;
		out->contended += s->resv_contended;
		vidmm_hist_merge(&out->wait, &s->resv_wait);
		vidmm_hist_merge(&out->hold, &s->resv_hold);
		pthread_mutex_unlock(&s->m);
	}
}

void fast_submit_stats(struct vidmm *vm, uint64_t *submits, uint64_t *ring_full_waits,
		       struct vidmm_hist *hist)
{
	for (unsigned i = 0; i < FAST_SHARDS; i++) {
		struct fast_shard *s = &vm->fast[i];
		pthread_mutex_lock(&s->m);
		if (submits)
			*submits += s->submits;
		if (ring_full_waits)
			*ring_full_waits += s->ring_full_waits;
		if (hist)
			vidmm_hist_merge(hist, &s->submit);
		pthread_mutex_unlock(&s->m);
	}
}

/* ---- the fast path -------------------------------------------------------------------- */

/*
 * What the fast path may submit on: published, settled, resident, its clear
 * on create known done (resv held). clear_fence must be 0 - the locked path
 * has seen the clear complete without error - not merely completed on the
 * chip: a success the locked path has not recorded yet may be forgotten by
 * the chip later (-ENODATA past its error history) and taken for a failure,
 * and the clear issued again would wipe what jobs wrote since.
 */
static bool settled(const struct vidmm_allocation *a)
{
	return !a->moving && !a->destroyed && a->residency == VIDMM_RESIDENT &&
	       !a->clear_fence && !a->inflight && !a->ra_next;
}

/* The distinct allocations of v[0..n), in address order (n is small). */
static uint32_t sort_unique(struct vidmm_allocation **v, uint32_t n)
{
	uint32_t u = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct vidmm_allocation *x = v[i];
		uint32_t k = u;
		bool dup = false;
		for (uint32_t j = 0; j < u && !dup; j++)
			dup = v[j] == x;
		if (dup)
			continue;
		while (k && (uintptr_t)v[k - 1] > (uintptr_t)x) {
			v[k] = v[k - 1];
			k--;
		}
		v[k] = x;
		u++;
	}
	return u;
}

/* Take the reservations of a[0..n) in the job's order if every one is free
 * (the common case: no sort); false, holding none, if one is not (or a
 * job names an allocation twice). */
static bool trylock_all(struct vidmm *vm, struct vidmm_allocation *const *a, uint32_t n)
{
	lockstat_order_take(&vm->resv_class);
	for (uint32_t i = 0; i < n; i++)
		if (pthread_mutex_trylock(&a[i]->resv)) {
			while (i-- > 0)
				pthread_mutex_unlock(&a[i]->resv);
			lockstat_order_give(&vm->resv_class);
			return false;
		}
	return true;
}

/* Take the set's reservations in address order (the set is sorted and
 * distinct): how many had to wait, and for how long in all. */
static void lock_set(struct vidmm *vm, struct vidmm_allocation *const *set, uint32_t nset,
		     uint64_t *contended, uint64_t *waited)
{
	/* The set counts once in the order check: its members are ordered by
	 * address among themselves. */
	lockstat_order_take(&vm->resv_class);
	for (uint32_t i = 0; i < nset; i++)
		if (pthread_mutex_trylock(&set[i]->resv)) {
			uint64_t w0 = now_ns();
			pthread_mutex_lock(&set[i]->resv);
			*waited += now_ns() - w0;
			(*contended)++;
		}
}

static void unlock_set(struct vidmm *vm, struct vidmm_allocation *const *set, uint32_t nset)
{
	for (uint32_t i = nset; i-- > 0;)
		pthread_mutex_unlock(&set[i]->resv);
	lockstat_order_give(&vm->resv_class);
}

/*
 * Under the set's reservations: queue the job if every allocation is
 * settled under the handle given. 0, -EIO, or -EAGAIN (not settled: the
 * locked path's) or -ENOSPC (the job ring is full).
 */
static int try_queue(struct vidmm *vm, const struct vidmm_job *job, uint32_t engine,
		     struct vidmm_allocation *const *a, uint64_t *f, bool *first_use)
{
	struct vidmm_chip_job cj;
	uint32_t n = job->nrefs;

	for (uint32_t i = 0; i < n; i++)
		if (a[i]->pub_handle != job->refs[i].handle || !settled(a[i]))
			return -EAGAIN;
	chip_job_build(&cj, job, a);
	int r = vm->chip->submit_job(vm->chip_ctx, engine, &cj, NULL, f);
	if (r == -EAGAIN)
		return -ENOSPC;
	/* Traced under the reservations, so a trace orders it before any
	 * later change of these allocations. */
	VIDMM_TRACE(&vm->tracer, submit, VIDMM_TRACE_SUBMIT, engine, n, r ? 0 : *f, r ? -EIO : 0);
	if (r)
		return -EIO;
	note_issued(vm, engine, *f);
	for (uint32_t i = 0; i < n; i++) {
		if (job->refs[i].access & VIDMM_ACCESS_WRITE)
			atomic_store_explicit(&a[i]->write_fence[engine], *f, memory_order_release);
		if (job->refs[i].access & VIDMM_ACCESS_READ)
			atomic_store_explicit(&a[i]->read_fence[engine], *f, memory_order_release);
	}
	/* In the job's order, as the locked path calls the hook. */
	*first_use |= use_queue(vm, a, n);
	return 0;
}

int submit_fast(struct vidmm *vm, const struct vidmm_job *job, uint32_t engine,
		struct vidmm_fence *fence)
{
	struct vidmm_allocation *a[VIDMM_JOB_MAX_REFS], *set[VIDMM_JOB_MAX_REFS];
	static _Thread_local unsigned sample_ctr;
	bool sample = !(++sample_ctr & (LOCKSTAT_SAMPLE - 1));
	uint64_t t0 = now_ns(), held_ns = 0, waited = 0, contended = 0, ring_waits = 0, f = 0;
	uint64_t deadline = 0, acquired = 0;
	uint32_t n = job->nrefs, nset = 0, sets = 0;
	bool first_use = false;
	int ret;

	if (atomic_load_explicit(&vm->fast_off, memory_order_relaxed))
		return -EAGAIN;
	/* Resolve without locks: a pointer read from the table may be stale,
	 * and is checked under resv. A handle that resolves to nothing is the
	 * locked path's to report. */
	for (uint32_t i = 0; i < n; i++) {
		a[i] = handle_peek(vm, job->refs[i].handle);
		if (!a[i])
			return -EAGAIN;
	}
	for (;;) {
		/* Uncontended, in the job's order; else sorted and distinct,
		 * waiting (a sort of up to 64 costs more than the locks). */
		struct vidmm_allocation *const *held = a;
		uint32_t nheld = n;
		if (!trylock_all(vm, a, n)) {
			if (!nset) {
				memcpy(set, a, n * sizeof(a[0]));
				nset = sort_unique(set, n);
			}
			lock_set(vm, set, nset, &contended, &waited);
			held = set;
			nheld = nset;
		}
		acquired += nheld;
		uint64_t th = sample ? now_ns() : 0;
		ret = try_queue(vm, job, engine, a, &f, &first_use);
		if (sample) {
			held_ns += now_ns() - th;
			sets++;
		}
		unlock_set(vm, held, nheld);
		if (ret != -ENOSPC)
			break;
		/* The job ring is full: wait for its next completion with no
		 * lock held, then look again (the allocations may have moved
		 * meanwhile). Past the fence timeout, the locked path decides. */
		uint64_t now = now_ns();
		if (!deadline)
			deadline = now + fence_timeout(vm);
		if (now >= deadline) {
			ret = -EAGAIN;
			break;
		}
		ring_waits++;
		uint64_t next = vm->chip->fence_completed(vm->chip_ctx, engine) + 1;
		vm->chip->fence_wait(vm->chip_ctx, engine, next, deadline - now);
	}
	/* The policy sees the use now if the manager's lock is free, so an
	 * uncontended client (and every single-threaded, replayable run) gets
	 * exactly the locked path's LRU order; under contention the next
	 * holder applies the queue. Never waits; tried only by whoever found
	 * the queue empty, so fast submitters that keep each other's uses
	 * queued do not all touch the manager's lock. */
	if (first_use && vm_trylock(vm)) {
		residency_drain_used_locked(vm);
		vm_unlock(vm);
	}

	struct fast_shard *s = shard(vm);
	pthread_mutex_lock(&s->m);
	s->resv_acq += acquired;
	s->resv_contended += contended;
	if (contended)
		vidmm_hist_record(&s->resv_wait, waited / contended);
	if (sample && sets)
		vidmm_hist_record(&s->resv_hold, held_ns / sets);
	s->ring_full_waits += ring_waits;
	if (ret != -EAGAIN) { /* the locked path records the calls it takes over */
		s->submits += !ret;
		vidmm_hist_record(&s->submit, now_ns() - t0); /* as the locked path: every call */
	}
	pthread_mutex_unlock(&s->m);
	if (!ret && fence) {
		fence->engine = engine;
		fence->value = f;
	}
	return ret;
}

int vidmm_debug_fast_submit(vidmm_t *vm, bool on)
{
	if (!vm)
		return -EINVAL;
	atomic_store(&vm->fast_off, !on);
	return 0;
}
