/* SPDX-License-Identifier: MIT */
/*
 * runner.h - runs one workload on a fresh emulated GPU + manager: worker
 * threads, the stop condition, per-thread histograms, the 100 ms sampler
 * (time series, progress bar, deadline), perf counters, pinning, rusage.
 *
 * Owns: struct run_config (what to run) and struct run_result (what
 * happened, before it becomes JSON in results.c). Must not: parse the command
 * line (cli.c), write files other than the trace it is handed (results.c,
 * trace.c), or call exit().
 */
#ifndef VIDMM_RUNNER_H
#define VIDMM_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/vidmm.h"
#include "drivers/profile.h"
#include "hostload.h"
#include "threadcpu.h"
#include "inject.h"
#include "workloads/workload.h"

#define RUN_MAX_PARAMS 24
#define RUN_NHISTS (WL_OP_COUNT + WL_MAX_HISTS)
/* the manager's histograms, the swap store's two I/O ones included */
#define RUN_VM_HISTS (VIDMM_HIST_SWAP_READ_IO + 1)

struct run_param {
	char name[48];
	char value[96];
	bool is_default;
};

struct trace_writer;

struct run_config {
	const struct workload *w;
	struct vidmm_profile profile;
	char driver[16];
	char device[64];           /* --device (vulkan): "" the first usable */
	char evict_policy[32];     /* --evict-policy; "": the default (lru) */
	enum vidmm_paging_mode paging_mode;
	bool pipelined;          /* --paging pipelined: page-in copies ordered on the GPU */
	double duration_s;       /* the measured window; 0: no time limit (then ops_limit > 0) */
	uint64_t ops_limit;      /* measured manager calls; 0: none */
	double warmup_s;         /* after setup, before the window; not measured */
	double setup_limit_s;    /* setup longer than this stops the run (exit 1); 0: default */
	bool allow_empty;        /* a window that did no work is not a failure */
	unsigned threads;
	uint64_t seed;
	bool verify;
	bool stats;              /* false: no latency histograms, no time series */
	bool perf;
	bool pin;
	bool progress;           /* draw a progress bar on stderr */
	bool deterministic;      /* wait for every fence (forced by record/replay) */
	char swap_dir[256];
	uint64_t fence_timeout_ns; /* --fence-timeout; 0: the manager's default */
	bool no_clear;           /* --no-clear: new allocations are not cleared */
	double host_limit;       /* --max-other-load: other work's share of the machine in a
				  * window above which it was busy; 0: the default, >= 1: never */
	struct inject_plan inject; /* --inject */
	struct trace_writer *trace; /* --record, or NULL */
	/* the belady policy's oracle (vidmm_config.next_use): analyze only */
	uint64_t (*next_use)(void *arg, vidmm_handle_t h);
	void *next_use_arg;
	void *wl_arg;            /* handed to the workload as r->priv before setup */
	unsigned nparams;
	struct run_param params[RUN_MAX_PARAMS]; /* resolved: every declared one */
};

/* One 100 ms sample. */
struct run_sample {
	double t_s;
	uint64_t resident[VIDMM_MAX_SEGMENTS]; /* client bytes resident per segment */
	uint64_t sysmem_pages;
	uint64_t evicted_bytes;
	uint64_t page_outs, page_ins, alloc_failures, dummy_page_faults;
	uint64_t swap_used_bytes;
	uint64_t swap_out_bytes, swap_in_bytes; /* cumulative */
	uint64_t ops;
};

struct run_gauge {
	char name[48];
	double v;
};

#define RUN_MAX_NOTES 4
/* Fewer units of work than this in the window: inconclusive. */
#define RUN_MIN_UNITS 5

struct run_result {
	/* The measured window (runner_internal.h: enum run_phase). ops, units,
	 * the failures, ctr[] and the *_window stats count only what happened
	 * in it; integrity errors, losses and checks count the whole run. */
	double duration_s;                        /* the window, seconds */
	double setup_s, warmup_s, teardown_s;     /* outside it */
	double window_start_s, window_end_s;      /* since the threads started; -1: never opened */
	uint64_t end_ns;                          /* when the last thread returned */
	uint64_t ops_total;                       /* manager calls, setup and teardown included */
	bool window_stats_valid;
	struct vidmm_stats st_window;             /* counters: the window's; levels: at its end */
	bool inconclusive;                        /* the window did too little to measure */
	char inconclusive_reason[160];
	bool interrupted;                         /* SIGINT/SIGTERM (runner_interrupt) */
	bool setup_overrun;                       /* stopped at the setup limit */
	unsigned nnotes;
	char notes[RUN_MAX_NOTES][200];           /* what a reader should know about the figures */
	uint64_t ops, units, create_failures, job_failures, integrity_errors, verify_jobs;
	uint64_t reported_losses; /* data the API reported lost (failed jobs) */
	uint64_t ctr[WL_MAX_COUNTERS];             /* the window's */
	uint64_t setup_ctr[WL_MAX_COUNTERS];       /* the whole run's */
	unsigned ngauges;
	struct run_gauge gauges[WL_MAX_GAUGES];
	struct vidmm_hist *hist;                  /* [RUN_NHISTS], merged over threads, window only */
	struct vidmm_hist *vm_hist;               /* [RUN_VM_HISTS], the manager's, window only */
	struct vidmm_lock_stats *locks;           /* [VIDMM_LOCK_CLASSES], window only */
	struct vidmm_stats st;                    /* final */
	uint32_t nsegs;
	struct vidmm_segment_info segs[VIDMM_MAX_SEGMENTS];
	size_t nsamples;
	struct run_sample *samples;
	/* getrusage(RUSAGE_SELF) */
	long peak_rss_kib;
	long minor_faults, major_faults;          /* during the run */
	/* perf */
	bool perf_ok;
	char perf_summary[512];
	unsigned nperf;
	char perf_name[16][32];
	uint64_t perf_value[16];
	bool perf_scaled[16];
	/* The same counters over the measured window only (perf_window_ok):
	 * read when the window opened and closed. */
	bool perf_window_ok;
	uint64_t perf_window[16];
	/* Other work on the machine during the window (hostload.c); busy:
	 * more than run_config.host_limit of it. remeasured: attempts before
	 * this one that were busy and measured again (runner_run_repetition). */
	struct hostload host;
	struct threadcpu cpu; /* this process's CPUs in the window, by thread role */
	bool host_busy;
	unsigned host_remeasured;
	/* pin */
	char topology[256];
	/* faults injected (--inject), per kind */
	uint64_t faults[INJ_KINDS];
	/* checks */
	bool check_failed;
	char check_err[256];
	uint64_t undocumented;                    /* returns vidmm.h does not document */
	char undocumented_first[160];
	int workload_error;                       /* a thread body's negative errno */
	bool failed;                              /* any check failed: exit 1 */
	char fail_reason[384];
};

/*
 * Fill c->params with every parameter the workload declares: user values
 * from keys/vals (each "name" must be declared, each value valid for its
 * type), defaults for the rest. -EINVAL with one line naming the parameter.
 */
int runner_resolve_params(struct run_config *c, const char *const *keys,
			  const char *const *vals, unsigned n, char *err, size_t len);

/*
 * Run c->w. Returns 0 when the run happened (res filled; res->failed says
 * whether a check failed), or a negative errno for a configuration problem
 * (the chip or manager could not be built, the workload refused its
 * parameters), with one line in err: -ENXIO when the driver found no usable
 * device (platform_open's; the CLI skips, exit 77). Free res with runner_result_free.
 */
int runner_run(const struct run_config *c, struct run_result *res, char *err, size_t len);
/* The share of the machine other work may take before a window is busy. */
static inline double runner_host_limit(const struct run_config *c)
{
	return c->host_limit > 0 ? c->host_limit : HOSTLOAD_DEFAULT_LIMIT;
}
/* One repetition of a series: runner_run, measured again while the machine
 * was busy during the window (res->host_busy) and *budget allows, each time
 * saying so on stdout under `label`. *budget counts down the extra runs a
 * whole series may make. The last attempt is the result, busy or not; its
 * host_remeasured counts the ones before it. Returns runner_run's value. */
int runner_run_repetition(const struct run_config *c, struct run_result *res, unsigned *budget,
			  const char *label, char *err, size_t len);

/*
 * From a signal handler (async-signal-safe): stop the run in progress, if
 * any, as its deadline would; the result is marked interrupted. Every later
 * runner_run of the process is stopped at once too (a suite stops).
 */
void runner_interrupt(void);
/* Whether runner_interrupt has been called. */
bool runner_interrupted(void);
void runner_result_free(struct run_result *res);

/* A note for the reader of the results (at most RUN_MAX_NOTES). */
void runner_note(struct run_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Nanoseconds per wl_ticks() tick, calibrated once. */
double runner_ns_per_tick(void);

/* ---- raw calls for trace replay: time, count and trace like wl_*, but do
 * not add verify jobs. id is the trace's allocation id. ---- */
int runner_raw_create(struct wl_thread *t, const struct vidmm_alloc_desc *d, uint64_t id,
		      vidmm_handle_t *h);
int runner_raw_destroy(struct wl_thread *t, vidmm_handle_t h, uint64_t id);
/* ids[i] names job->refs[i] in the trace. A VERIFY job's result is counted
 * into integrity_errors when it arrives. */
int runner_raw_submit(struct wl_thread *t, const struct vidmm_job *job, const uint64_t *ids);
int runner_raw_lock(struct wl_thread *t, vidmm_handle_t h, uint64_t id);
int runner_raw_unlock(struct wl_thread *t, vidmm_handle_t h, uint64_t id);
int runner_raw_evict(struct wl_thread *t, vidmm_handle_t h, uint64_t id);
int runner_raw_swap_out(struct wl_thread *t, vidmm_handle_t h, uint64_t id);
/* Lock and hand back the CPU pointer. */
int runner_raw_lock_cpu(struct wl_thread *t, vidmm_handle_t h, uint64_t id, void **cpu);
/* Submit, wait, and count an integrity error unless the job's result word
 * is expect (a job the engine failed counts as a reported loss). */
int runner_raw_submit_expect(struct wl_thread *t, const struct vidmm_job *job,
			     const uint64_t *ids, uint64_t expect);
/* One fault of the named --inject kind now (inject_fire_once). */
int runner_raw_fault(struct wl_thread *t, const char *kind, uint64_t seed);

#endif
