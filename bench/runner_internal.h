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
#include "threadcpu.h"
#include "perf.h"

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

/* Phases of a run. The measured window is PH_MEASURE: it opens when every
 * thread has called wl_begin (its setup done) and the warm-up has passed,
 * and closes at the deadline, the --ops limit, an interrupt, or when every
 * thread has left its measured loop. */
enum run_phase { PH_SETUP = 0, PH_WARMUP, PH_MEASURE, PH_DRAIN };

/* What a thread has counted, at one edge of the window. */
struct win_counts {
	uint64_t ops, units, create_failures, job_failures;
	uint64_t ctr[WL_MAX_COUNTERS];
};

struct thread_priv {
	struct vidmm_hist hist[RUN_NHISTS];
	/* the measured window as this thread saw it (window.c) */
	int seen_phase;
	bool begun, measuring, ended, have_ws, have_we;
	struct win_counts at_ws, at_we;
	struct pend pend[PEND_N];
	unsigned head, count;
	struct vidmm_fence last;
	bool has_last;
	/* the writes the next VERIFY depends on (wl_job sets them) */
	struct vidmm_fence next_dep[PEND_DEPS];
	unsigned next_ndep;
	uint64_t ops_flushed;
	_Atomic uint64_t ops_seen; /* t->ops as of the last wl_continue, for the sampler */
	_Atomic uint64_t units_seen; /* t->units likewise */
	pthread_t tid;
	int ret;
};

struct runner_state {
	const struct run_config *c;
	struct run_result *res;
	struct wl_run run;
	struct wl_thread *threads;
	atomic_bool stop;
	/* the measured window (window.c) */
	atomic_int phase;                  /* enum run_phase */
	atomic_uint begun, ended;          /* threads past wl_begin / out of their loop */
	_Atomic uint64_t t_warm_ns, t_ws_ns, t_we_ns;
	/* the manager at the window's edges, taken by the thread that moved
	 * the phase (one per edge, so no lock) */
	struct vidmm_stats st_ws, st_we;
	struct vidmm_hist vm_ws[RUN_VM_HISTS], vm_we[RUN_VM_HISTS];
	struct vidmm_lock_stats lk_ws[VIDMM_LOCK_CLASSES], lk_we[VIDMM_LOCK_CLASSES];
	bool have_ws, have_we;
	atomic_uint_fast64_t ops;
	atomic_uint_fast64_t next_id;
	atomic_uint_fast64_t seed_ctr;
	atomic_uint_fast64_t undocumented;
	struct platform *pl;  /* the run's chip and manager (replayed faults) */
	uint64_t t0_ns;
	pthread_mutex_t lock; /* gauges, check result, samples */
	pthread_cond_t cond;  /* wakes the sampler: a phase moved, or the end (CLOCK_MONOTONIC) */
	bool done, kick;      /* under lock */
	bool extended;        /* the sampler held the window open past --duration */
	struct perf_group *pg; /* --perf: read at the window's edges (window.c) */
	struct perf_counts perf_ws, perf_we;
	bool perf_have_ws, perf_have_we;
	struct hostload_snap host_ws, host_we; /* the machine's load at the edges */
	struct threadcpu_snap tcpu_ws, tcpu_we; /* this process's threads at the edges */
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

/* ---- the measured window (window.c) ---- */

/* Move the run from phase `from` to `to` (compare-and-swap: the first
 * caller wins, and takes the manager's snapshot for that edge). to ==
 * PH_DRAIN also stops the threads. Returns whether this call moved it. */
bool window_move(struct runner_state *rs, int from, int to);
/* Stop the run from whatever phase it is in (interrupt, setup limit). */
void window_stop(struct runner_state *rs);
/* A thread calls wl_begin: its setup is done. */
void window_thread_begin(struct wl_thread *t);
/* A thread left its measured loop (wl_continue said stop, wl_end, or its
 * body returned). */
void window_thread_end(struct wl_thread *t);
/* wl_continue: catch up with a phase change (snapshots at the edges). */
void window_observe(struct wl_thread *t, int phase);
/* After every thread has returned: the window's counts into res. */
void window_collect(struct runner_state *rs);

/* Latencies are recorded inside the measured window only. */
static inline bool stats_on(const struct wl_thread *t)
{
	return t->hp->measuring && t->r->rs->c->stats;
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
