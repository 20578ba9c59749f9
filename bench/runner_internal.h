/* SPDX-License-Identifier: MIT */
/*
 * runner_internal.h - what runner.c (a run: threads, the sampler, the
 * measured window) and wl_runtime.c (the wl_* calls of workloads/workload.h)
 * share.
 *
 * Owns: the per-run and per-thread state. Must not: be included by a
 * workload (workloads see workload.h only).
 */
#ifndef VIDMM_RUNNER_INTERNAL_H
#define VIDMM_RUNNER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pin.h"
#include "platform.h"
#include "runner.h"

#define PEND_N 64
#define FENCE_TIMEOUT_NS (10ull * 1000000000ull)

/* A VERIFY in flight, and the writes it checks (distinct FILL fences of its
 * refs): if one of those failed on the engine, the API reported that data
 * lost, and the VERIFY's mismatches are not integrity errors. */
#define PEND_DEPS 4

struct pend {
	struct vidmm_fence f;
	uint64_t result;
	struct vidmm_fence dep[PEND_DEPS];
	unsigned ndep;
};

struct thread_priv {
	struct vidmm_hist hist[RUN_NHISTS];
	struct pend pend[PEND_N];
	unsigned head, count;
	struct vidmm_fence last;
	bool has_last;
	/* the writes the next VERIFY depends on (wl_job sets them) */
	struct vidmm_fence next_dep[PEND_DEPS];
	unsigned next_ndep;
	uint64_t ops_flushed;
	_Atomic uint64_t ops_seen; /* t->ops as of the last wl_continue, for the sampler */
	pthread_t tid;
	int ret;
};

struct runner_state {
	const struct run_config *c;
	struct run_result *res;
	struct wl_run run;
	struct wl_thread *threads;
	atomic_bool stop;
	atomic_uint_fast64_t ops;
	atomic_uint_fast64_t next_id;
	atomic_uint_fast64_t seed_ctr;
	atomic_uint_fast64_t undocumented;
	struct platform *pl;  /* the run's chip and manager (replayed faults) */
	uint64_t t0_ns;
	pthread_mutex_t lock; /* gauges, check result, samples */
	pthread_cond_t cond;  /* wakes the sampler at the end */
	bool done;
	size_t cap_samples;
	struct pin_ctx pin;
	bool pinned;
};

static inline uint64_t runner_splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline bool stats_on(const struct wl_thread *t)
{
	return t->r->rs->c->stats;
}

static inline void rec(struct wl_thread *t, unsigned k, uint64_t t0)
{
	vidmm_hist_record(&t->hp->hist[k], wl_ticks_ns(wl_ticks() - t0));
}

/* After a thread's body returned: wait for its last job and collect the
 * results of its VERIFY jobs still in flight (wl_runtime.c). */
void runtime_thread_done(struct wl_thread *t);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t runner_mono_ns(void);

#endif
