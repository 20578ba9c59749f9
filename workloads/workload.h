/* SPDX-License-Identifier: MIT */
/*
 * workload.h - the contract between vidmm-bench's runner and its workloads.
 *
 * Owns: the registration struct every workload fills in (name, family,
 * description, parameter table, thread body), the workload table, and the
 * wl_* calls a workload makes instead of calling libvidmm directly. Going
 * through wl_* is what gives every workload, for free: per-thread latency
 * histograms per operation kind, the operation count and --ops/--duration
 * stop, --verify content checking (FILL on create and on write, VERIFY on
 * read and before destroy), --record traces that `replay` reproduces, and a
 * check of every return code against what vidmm.h documents (an
 * undocumented one fails the run).
 *
 * Must not: know about the CLI, results files or threads (bench/ does that),
 * or touch the core beyond core/vidmm.h. The wl_* calls are implemented in
 * bench/wl_runtime.c (the measured window in bench/window.c).
 *
 * Sizes: workloads size everything as fractions of the profile's capacities
 * (wl_run.local_bytes etc.), never absolute bytes, so a parameter means the
 * same on the tiny profile and on an 80 GiB card.
 */
#ifndef VIDMM_WORKLOAD_H
#define VIDMM_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vidmm.h"
#include "drivers/profile.h"

/* Operation kinds the harness times (one histogram per thread per kind). */
enum wl_op {
	WL_OP_CREATE = 0,
	WL_OP_DESTROY,
	WL_OP_SUBMIT,
	WL_OP_WAIT,
	WL_OP_LOCK,
	WL_OP_UNLOCK,
	WL_OP_EVICT,
	WL_OP_COUNT
};
extern const char *const wl_op_names[WL_OP_COUNT];

#define WL_MAX_HISTS 8     /* workload-defined histograms (frame time, ...) */
#define WL_MAX_COUNTERS 12 /* workload-defined counters, summed over threads */
#define WL_MAX_GAUGES 16   /* workload-defined run-level values */

enum wl_ptype { WL_P_INT, WL_P_FLOAT, WL_P_ENUM };

/* One documented parameter: --param name=value. */
struct wl_param {
	const char *name;
	enum wl_ptype type;
	const char *def;     /* default, as text */
	const char *help;
	double min, max;     /* inclusive bounds for INT/FLOAT */
	const char *choices; /* ENUM: "a|b|c" */
};

/* A workload's view of one allocation; the workload owns the storage. */
struct wl_alloc {
	vidmm_handle_t h;   /* 0: not live */
	uint64_t id;        /* run-unique, dense: the trace's name for it */
	uint64_t size;
	uint64_t seed;      /* content pattern seed (verify); 0 = unknown content */
	struct vidmm_fence wfence; /* the job that last wrote it (verify): if the
				    * engine failed it, the API reports the loss */
};

struct wl_run;
struct wl_thread;

/* A value a reader looks at first: one of the workload's counters or
 * gauges, and which way is better. Results list them ("headline"), the
 * console prints them, and compare judges them. */
struct wl_headline {
	const char *name;
	bool lower_is_better;
	const char *unit;   /* "MiB/s", "ns", "bytes" or NULL (a count) */
};

struct workload {
	const char *name;
	const char *family;       /* summary.md groups runs by family */
	const char *description;  /* one line */
	const struct wl_param *params; /* terminated by { NULL } */
	const char *unit;         /* what t->units counts ("jobs", "frames") */
	unsigned default_threads; /* when --threads is not given */
	bool needs_swap;          /* meaningless without a swap file: skipped (exit 77) */
	const char *metrics_doc;  /* its workload_metrics, for `run W --help` and RESULTS.md */
	const char *const *hists;    /* names of extra histograms, NULL-terminated */
	const char *const *counters; /* names of t->ctr[] entries, NULL-terminated: counted
				      * in the measured window only */
	const char *const *setup_counters; /* names of t->setup_ctr[] entries: counted over
					    * the whole run (what setup made) */
	const struct wl_headline *headline; /* terminated by { NULL }; may be NULL */
	/* Optional, single-threaded before the threads start: check parameter
	 * combinations, set r->priv. -EINVAL with a message in r->err. */
	int (*setup)(struct wl_run *r);
	/* Body of every thread: loop while wl_continue(t); clean up after.
	 * 0, or a negative errno for a harness-level failure (not for
	 * allocation failures, which are measurements). */
	int (*thread)(struct wl_thread *t);
	/* Optional, after every thread has returned. */
	void (*teardown)(struct wl_run *r);
};

/* The workload table (workloads/registry.c), NULL-terminated. */
extern const struct workload *const workload_table[];
const struct workload *workload_find(const char *name);

struct runner_state; /* the harness's internals */

struct wl_run {
	const struct workload *w;
	vidmm_t *vm;
	const struct vidmm_profile *prof;
	uint64_t seed;
	unsigned nthreads;
	bool verify;
	bool deterministic;  /* wait for every job's fence (record/replay) */
	void *priv;
	char err[256];
	/* capacities, bytes */
	uint64_t page_size;
	uint64_t local_bytes;     /* visible + invisible */
	uint64_t local_visible;
	uint64_t pcie_bytes;      /* both halves of the aperture, paging window included */
	uint64_t sysmem_bytes;    /* vidmm's system-page budget */
	uint32_t seg_local[2];    /* local segment ids */
	uint32_t n_seg_local;
	struct runner_state *rs;
};

struct wl_thread {
	struct wl_run *r;
	unsigned idx;
	uint64_t rng[4];
	void *priv;
	/* counted by the harness and the workload */
	uint64_t ops;              /* wl_* calls that reached the manager */
	uint64_t units;            /* workload units done (w->unit) */
	uint64_t create_failures;
	uint64_t job_failures;     /* submits the manager refused */
	uint64_t integrity_errors; /* mismatched words seen by VERIFY */
	uint64_t verify_jobs;
	uint64_t reported_losses;  /* writes the API reported lost (a failed job):
				    * their mismatches are not integrity errors */
	uint64_t ctr[WL_MAX_COUNTERS];
	uint64_t setup_ctr[WL_MAX_COUNTERS];
	struct thread_priv *hp;    /* the harness's per-thread state */
};

/* ---- what a workload calls ---------------------------------------------- */

/*
 * The measured window. A thread body is: setup (make its allocations),
 * wl_begin(t), its loop `while (wl_continue(t)) { ... }`, wl_end(t), then
 * teardown. The window opens once every thread has called wl_begin and the
 * warm-up (--warmup) has passed; only what happens inside it is counted in
 * ops, units, counters and latencies, and --duration and --ops bound it.
 * wl_continue is false once the run should stop (the window closed, an
 * interrupt, the setup limit); a setup loop may call it too, to stop early.
 * wl_end is implied when wl_continue returns false or the body returns.
 */
void wl_begin(struct wl_thread *t);
bool wl_continue(struct wl_thread *t);
void wl_end(struct wl_thread *t);

/* Parameter values (validated by the harness before the run). */
int64_t wl_param_int(const struct wl_run *r, const char *name);
double wl_param_float(const struct wl_run *r, const char *name);
const char *wl_param_str(const struct wl_run *r, const char *name);

/* Round a byte count to pages, at least one page. */
uint64_t wl_pages(const struct wl_run *r, double bytes);

/*
 * Operations. Each times the manager call into the thread's histogram of
 * its kind, counts an op, and records it in the trace.
 * wl_create: in a verify run, also FILLs the new allocation with a fresh
 * pattern. wl_destroy: in a verify run, VERIFYs it first (counting mismatches
 * as integrity errors). Return the manager's 0 / negative errno.
 */
int wl_create(struct wl_thread *t, const struct vidmm_alloc_desc *d, struct wl_alloc *a);
int wl_destroy(struct wl_thread *t, struct wl_alloc *a);
/*
 * A GPU job over refs[0..n) with per-ref access (VIDMM_ACCESS_*). Normal
 * runs: one TOUCH job. Verify runs: VERIFY jobs over the read refs (one per
 * group of refs with the same pattern) and one FILL with a fresh pattern over
 * the written ones. *fence (may be NULL) is the last job's fence.
 */
int wl_job(struct wl_thread *t, struct wl_alloc *const *refs, const uint32_t *access,
	   uint32_t n, struct vidmm_fence *fence);
/* Wait for everything this thread submitted (and collect VERIFY results). */
int wl_sync(struct wl_thread *t);
int wl_lock(struct wl_thread *t, struct wl_alloc *a, void **cpu);
int wl_unlock(struct wl_thread *t, struct wl_alloc *a);
int wl_evict(struct wl_thread *t, struct wl_alloc *a);
int wl_swap_out(struct wl_thread *t, struct wl_alloc *a);

/* Timing for workload histograms: a cheap timestamp and a duration in ns. */
uint64_t wl_ticks(void);
uint64_t wl_ticks_ns(uint64_t ticks);
/* Record ns in extra histogram k (index into w->hists); no-op with stats off. */
void wl_hist(struct wl_thread *t, unsigned k, uint64_t ns);
/* Set a run-level value reported under the run's "workload" metrics. */
void wl_gauge(struct wl_run *r, const char *name, double v);
/* From teardown: what the measured window counted, over all threads (units,
 * and counter k of w->counters). */
uint64_t wl_result_units(const struct wl_run *r);
uint64_t wl_result_counter(const struct wl_run *r, unsigned k);
/* A note for whoever reads the results: why a figure looks the way it does
 * (a default that is alarming on a small profile, say). From teardown. */
void wl_note(struct wl_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* vidmm_check; a failure is recorded and fails the run (exit 1). The run
 * form may be called from a workload's own threads (a checker). */
int wl_check(struct wl_thread *t);
int wl_run_check(struct wl_run *r);

/* ---- randomness: xoshiro256**, seeded per thread from the run seed ------ */

static inline uint64_t wl_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t wl_rand(struct wl_thread *t)
{
	uint64_t *s = t->rng;
	uint64_t r = wl_rotl(s[1] * 5, 7) * 9, x = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= x;
	s[3] = wl_rotl(s[3], 45);
	return r;
}

/* Uniform in [0, n), n > 0. */
static inline uint64_t wl_below(struct wl_thread *t, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)wl_rand(t) * n) >> 64);
}

/* Uniform in [0, 1). */
static inline double wl_unif(struct wl_thread *t)
{
	return (double)(wl_rand(t) >> 11) * 0x1.0p-53;
}

double wl_normal(struct wl_thread *t);

/* Zipf(s) over [0, n): rank 0 most popular. */
struct wl_zipf {
	uint32_t n;
	double *cdf;
};
int wl_zipf_init(struct wl_zipf *z, uint32_t n, double s);
uint32_t wl_zipf_next(struct wl_thread *t, const struct wl_zipf *z);
void wl_zipf_free(struct wl_zipf *z);

#endif
