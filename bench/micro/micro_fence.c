/* SPDX-License-Identifier: MIT */
/*
 * micro_fence.c - Google Benchmark microbenchmarks of fences and submission:
 * signal-to-wake latency of a tiny job, and the cost of vidmm_submit as the
 * number of (resident) allocations a job references grows.
 *
 * Owns: BM_fence_signal_to_wake and BM_fence_submit/allocs:N. Must not:
 * change core/ or drivers/; the manager is driven through core/vidmm.h, and
 * the emulator only lends its interrupt hook (emu_set_interrupt) to
 * timestamp the moment a fence signals.
 *
 * signal_to_wake: each iteration submits a TOUCH job over one resident 4 KiB
 * allocation and waits for its fence with vidmm_wait_fence; the manual time
 * is submit call to waiter awake (what a client waiting on a tiny job sees).
 * Counters split it: submit_ns (the vidmm_submit call), signal_ns (submit
 * start to the engine's interrupt, raised just after the fence was stored
 * and waiters were woken) and wake_after_irq_ns (interrupt to waiter awake;
 * it can be <= 0, since a waiter that polls sees the fence before the
 * interrupt runs). p50_ns / p99_ns are percentiles of the per-iteration
 * submit-to-wake times (the manual time is their mean, which a loaded
 * machine's tail dominates).
 *
 * submit: N allocations of 64 KiB, all resident in the CPU-invisible local
 * segment (nothing can evict them: nothing else allocates), one TOUCH job
 * reading all of them per submit. Submits are timed in batches of 32 (one
 * clock read pair per batch, manual time), then the batch's last fence is
 * waited for outside the timed part, so the job engine's ring (64 entries)
 * never fills and blocks a submit. core_p50_ns is the median of the core's
 * own VIDMM_HIST_SUBMIT histogram over the run.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/vidmm.h"
#include "drivers/emu/emu.h"
#include "gbshim.h"
#include "platform.h"
#include "micro.h"

#define MF_WAIT_NS 5000000000ull
#define MF_BATCH 32
#define MF_MAX_REFS 64

static uint64_t mf_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct {
	bool tried;
	char err[256];
	struct emu *emu;
	vidmm_t *vm;
	int seg;                          /* CPU-invisible local segment */
	vidmm_handle_t small;             /* 4 KiB, for signal_to_wake */
	vidmm_handle_t refs[MF_MAX_REFS]; /* 64 KiB each, for submit */
	uint32_t job_engine;              /* chip engine id of job engine 0 */
	/* Interrupt timestamp of the fence being waited for. */
	_Atomic uint64_t want_fence;
	_Atomic uint64_t irq_ns;
} mf;

static void mf_irq(void *arg, uint32_t engine, uint64_t fence)
{
	(void)arg;
	if (engine == mf.job_engine &&
	    fence >= atomic_load_explicit(&mf.want_fence, memory_order_acquire) &&
	    atomic_load_explicit(&mf.irq_ns, memory_order_relaxed) == 0)
		atomic_store_explicit(&mf.irq_ns, mf_now(), memory_order_release);
}

static void mf_close(void)
{
	if (mf.emu)
		emu_set_interrupt(mf.emu, NULL, NULL);
	if (mf.vm)
		vidmm_destroy(mf.vm);
	if (mf.emu)
		emu_destroy(mf.emu);
	mf.vm = NULL;
	mf.emu = NULL;
}

/* profile -> emulated chip -> manager without swap (bench/platform.c), plus
 * the allocations every run uses. */
static int mf_open(void)
{
	struct vidmm_segment_info s[VIDMM_MAX_SEGMENTS];
	struct vidmm_chip_engines eng;
	struct vidmm_profile p;
	uint32_t n = 0;
	int ret;

	ret = vidmm_profile_builtin("default", &p);
	if (ret) {
		snprintf(mf.err, sizeof(mf.err), "profile default: %s", strerror(-ret));
		return ret;
	}
	{
		struct platform_opts o = { .no_swap = true };
		struct platform pl;
		ret = platform_open_opts(&p, "emu", &o, &pl, mf.err, sizeof(mf.err));
		if (ret)
			return ret;
		mf.emu = pl.emu;
		mf.vm = pl.vm;
	}
	emu_chip_ops.query_engines(mf.emu, &eng);
	mf.job_engine = eng.n_copy; /* vidmm_job.engine 0 */
	mf.seg = -1;
	vidmm_query_segments(mf.vm, s, VIDMM_MAX_SEGMENTS, &n);
	for (uint32_t i = 0; i < n && mf.seg < 0; i++)
		if ((s[i].flags & (VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE)) == VIDMM_SEG_LOCAL)
			mf.seg = (int)s[i].id;
	if (mf.seg < 0) {
		snprintf(mf.err, sizeof(mf.err), "no CPU-invisible local segment");
		return -ENODEV;
	}
	struct vidmm_alloc_desc d = {
		.size = 4096,
		.priority = VIDMM_PRIO_NORMAL,
		.n_preferred = 1,
		.preferred = { (uint32_t)mf.seg },
	};
	ret = vidmm_create_allocation(mf.vm, &d, &mf.small);
	d.size = 65536;
	for (int i = 0; i < MF_MAX_REFS && !ret; i++)
		ret = vidmm_create_allocation(mf.vm, &d, &mf.refs[i]);
	if (ret) {
		snprintf(mf.err, sizeof(mf.err), "allocations: %s", vidmm_strerror(ret));
		return ret;
	}
	emu_set_interrupt(mf.emu, mf_irq, NULL);
	return 0;
}

static bool mf_get(gb_state *st)
{
	if (!mf.tried) {
		mf.tried = true;
		atexit(mf_close);
		if (mf_open())
			mf_close();
	}
	if (!mf.vm) {
		gb_skip_with_error(st, mf.err);
		return false;
	}
	return true;
}

static void bm_fence_signal_to_wake(gb_state *st, void *user)
{
	struct vidmm_job j;
	struct vidmm_fence f;
	double submit_sum = 0, signal_sum = 0, wake_sum = 0;
	int64_t irqs = 0;
	int ret = 0;

	(void)user;
	if (!mf_get(st))
		return;
	/* Per-iteration latencies, for percentiles: the mean of a wakeup
	 * latency on a shared machine is dominated by its tail. */
	struct vidmm_hist *lat = malloc(sizeof(*lat));
	if (!lat) {
		gb_skip_with_error(st, "out of memory");
		return;
	}
	vidmm_hist_init(lat);
	memset(&j, 0, sizeof(j));
	j.op = VIDMM_JOB_TOUCH;
	j.nrefs = 1;
	j.refs[0].handle = mf.small;
	j.refs[0].access = VIDMM_ACCESS_READ;

	GB_FOR(st) {
		/* The next fence is unknown until submit returns: ask for any
		 * fence newer than the last one, which on an idle engine is
		 * this job's. */
		atomic_store_explicit(&mf.irq_ns, 0, memory_order_relaxed);
		atomic_store_explicit(&mf.want_fence,
				      emu_chip_ops.fence_completed(mf.emu, mf.job_engine) + 1,
				      memory_order_release);
		uint64_t t0 = mf_now();
		ret = vidmm_submit(mf.vm, &j, &f);
		uint64_t t1 = mf_now();
		if (!ret)
			ret = vidmm_wait_fence(mf.vm, f, MF_WAIT_NS);
		uint64_t t2 = mf_now();
		if (ret)
			break;
		gb_set_iteration_time(st, (double)(t2 - t0) * 1e-9);
		vidmm_hist_record(lat, t2 - t0);
		submit_sum += (double)(t1 - t0);
		/* The interrupt may run after the waiter woke: wait for it so
		 * the next iteration's timestamp is not this one's. */
		uint64_t irq, deadline = t2 + 10000000;
		while (!(irq = atomic_load_explicit(&mf.irq_ns, memory_order_acquire)) &&
		       mf_now() < deadline)
			;
		if (irq) {
			signal_sum += (double)irq - (double)t0;
			wake_sum += (double)t2 - (double)irq;
			irqs++;
		}
	}
	if (ret) {
		char msg[128];
		snprintf(msg, sizeof(msg), "submit/wait: %s", vidmm_strerror(ret));
		gb_skip_with_error(st, msg);
		free(lat);
		return;
	}
	gb_counter_set(st, "p50_ns", (double)vidmm_hist_quantile(lat, 0.5), GB_COUNTER_DEFAULT);
	gb_counter_set(st, "p99_ns", (double)vidmm_hist_quantile(lat, 0.99), GB_COUNTER_DEFAULT);
	free(lat);
	int64_t it = gb_iterations(st);
	gb_set_items_processed(st, it);
	gb_counter_set(st, "submit_ns", it ? submit_sum / (double)it : 0, GB_COUNTER_DEFAULT);
	gb_counter_set(st, "signal_ns", irqs ? signal_sum / (double)irqs : 0, GB_COUNTER_DEFAULT);
	gb_counter_set(st, "wake_after_irq_ns", irqs ? wake_sum / (double)irqs : 0,
		       GB_COUNTER_DEFAULT);
}

static void bm_fence_submit(gb_state *st, void *user)
{
	const int64_t n = gb_range(st, 0);
	struct vidmm_hist *h0, *h1;
	struct vidmm_job j;
	struct vidmm_fence f = { 0, 0 };
	int ret = 0;

	(void)user;
	if (!mf_get(st))
		return;
	if (n < 1 || n > MF_MAX_REFS) {
		gb_skip_with_error(st, "allocs must be in 1..64");
		return;
	}
	memset(&j, 0, sizeof(j));
	j.op = VIDMM_JOB_TOUCH;
	j.nrefs = (uint32_t)n;
	for (int64_t i = 0; i < n; i++) {
		j.refs[i].handle = mf.refs[i];
		j.refs[i].access = VIDMM_ACCESS_READ;
	}
	h0 = malloc(sizeof(*h0));
	h1 = malloc(sizeof(*h1));
	if (!h0 || !h1) {
		free(h0);
		free(h1);
		gb_skip_with_error(st, "out of memory");
		return;
	}
	vidmm_query_histogram(mf.vm, VIDMM_HIST_SUBMIT, h0);
	while (gb_keep_running_batch(st, MF_BATCH)) {
		uint64_t t0 = mf_now();
		for (int k = 0; k < MF_BATCH && !ret; k++)
			ret = vidmm_submit(mf.vm, &j, &f);
		uint64_t t1 = mf_now();
		if (!ret)
			ret = vidmm_wait_fence(mf.vm, f, MF_WAIT_NS);
		if (ret)
			break;
		gb_set_iteration_time(st, (double)(t1 - t0) * 1e-9);
	}
	vidmm_query_histogram(mf.vm, VIDMM_HIST_SUBMIT, h1);
	if (ret) {
		char msg[128];
		snprintf(msg, sizeof(msg), "submit: %s", vidmm_strerror(ret));
		gb_skip_with_error(st, msg);
		free(h0);
		free(h1);
		return;
	}
	/* The run's own samples: the difference of the two snapshots. */
	for (uint32_t b = 0; b < VIDMM_HIST_BUCKETS; b++)
		h1->buckets[b] -= h0->buckets[b];
	h1->count -= h0->count;
	h1->sum -= h0->sum;
	h1->min = 0;
	int64_t it = gb_iterations(st);
	gb_set_items_processed(st, it);
	gb_counter_set(st, "allocs", (double)n, GB_COUNTER_DEFAULT);
	gb_counter_set(st, "core_p50_ns", (double)vidmm_hist_quantile(h1, 0.5),
		       GB_COUNTER_DEFAULT);
	free(h0);
	free(h1);
}

void micro_fence_register(void)
{
	gb_bench *b;

	b = gb_register("BM_fence_signal_to_wake", bm_fence_signal_to_wake, NULL);
	gb_bench_use_manual_time(b);
	gb_bench_unit(b, GB_US);

	b = gb_register("BM_fence_submit", bm_fence_submit, NULL);
	gb_bench_arg_name(b, "allocs");
	gb_bench_range_multiplier(b, 2);
	gb_bench_range(b, 1, MF_MAX_REFS);
	gb_bench_use_manual_time(b);

	gb_add_context("micro_fence",
		       "profile default, driver emu, job engine 0; signal_to_wake: manual "
		       "time = vidmm_submit start to vidmm_wait_fence return (TOUCH of "
		       "4 KiB); submit: TOUCH of N resident 64 KiB allocations, batches of "
		       "32 timed, fence waited outside the timed part");
}
