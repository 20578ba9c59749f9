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
	enum vidmm_paging_mode paging_mode;
	double duration_s;       /* 0: no time limit (then ops_limit > 0) */
	uint64_t ops_limit;      /* 0: none */
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
	struct inject_plan inject; /* --inject */
	struct trace_writer *trace; /* --record, or NULL */
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
	uint64_t ops;
};

struct run_gauge {
	char name[48];
	double v;
};

struct run_result {
	double duration_s;
	uint64_t ops, units, create_failures, job_failures, integrity_errors, verify_jobs;
	uint64_t reported_losses; /* data the API reported lost (failed jobs) */
	uint64_t ctr[WL_MAX_COUNTERS];
	unsigned ngauges;
	struct run_gauge gauges[WL_MAX_GAUGES];
	struct vidmm_hist *hist;                  /* [RUN_NHISTS], merged over threads */
	struct vidmm_hist *vm_hist;               /* [RUN_VM_HISTS], the manager's */
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
 * parameters), with one line in err. Free res with runner_result_free.
 */
int runner_run(const struct run_config *c, struct run_result *res, char *err, size_t len);
void runner_result_free(struct run_result *res);

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
