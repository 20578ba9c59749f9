/* SPDX-License-Identifier: MIT */
/*
 * window.c - the measured window of a run: what counts as measured, and
 * what is setup, warm-up or teardown.
 *
 * Owns: the phase (runner_internal.h, enum run_phase), its edges in time,
 * each thread's counts at the edges, and the manager's counters and
 * histograms, the machine's load (hostload.c) and this process's threads'
 * CPU time (threadcpu.c) at the edges. Must not:
 * decide when the deadline is (the sampler in runner.c does), or hold a
 * lock across a manager call.
 *
 * The window opens when every thread has called wl_begin (its allocations
 * are made) and the warm-up has passed; it closes at the deadline, at the
 * --ops limit, on an interrupt, or when every thread has left its loop. A
 * thread notices an edge at its next wl_continue: the counts it takes there
 * leave out the iteration in flight at the opening and include the one in
 * flight at the closing, so over a window the error averages out to zero
 * and is never more than one iteration per thread.
 *
 * Phase changes are a compare-and-swap on rs->phase: the one caller that
 * moves an edge takes that edge's snapshot of the manager, so the snapshot
 * needs no lock. Readers use it only after every thread has been joined.
 */
#include <string.h>

#include "runner_internal.h"
#include "metrics.h"

static void snap_manager(struct runner_state *rs, bool start)
{
	struct vidmm_stats *st = start ? &rs->st_ws : &rs->st_we;
	struct vidmm_hist *h = start ? rs->vm_ws : rs->vm_we;

	if (vidmm_query_stats(rs->run.vm, st))
		memset(st, 0, sizeof(*st));
	for (int k = 0; k < RUN_VM_HISTS; k++)
		if (vidmm_query_histogram(rs->run.vm, (enum vidmm_hist_id)k, &h[k]))
			vidmm_hist_init(&h[k]);
	struct vidmm_lock_stats *lk = start ? rs->lk_ws : rs->lk_we;
	for (int k = 0; k < VIDMM_LOCK_CLASSES; k++)
		if (vidmm_query_lock_stats(rs->run.vm, (enum vidmm_lock_class)k, &lk[k])) {
			memset(&lk[k], 0, sizeof(lk[k]));
			vidmm_hist_init(&lk[k].wait);
			vidmm_hist_init(&lk[k].hold);
		}
	if (start)
		rs->have_ws = true;
	else
		rs->have_we = true;
	/* --perf: the counters of the whole process, at the window's edges. */
	if (rs->pg && perf_read(rs->pg, start ? &rs->perf_ws : &rs->perf_we) == 0) {
		if (start)
			rs->perf_have_ws = true;
		else
			rs->perf_have_we = true;
	}
}

bool window_move(struct runner_state *rs, int from, int to)
{
	int f = from;
	struct hostload_snap host;
	struct threadcpu_snap tcpu;

	/* The machine's load and the threads' CPU from /proc are read outside
	 * the window's time on both edges (reading every thread's stat file
	 * takes tens of microseconds). At the start that means before the
	 * phase moves: once it has, the sampler reads t_ws_ns, which must
	 * already hold the start. Only the caller that moves it keeps them. */
	if (to == PH_MEASURE) {
		hostload_snap(&host);
		threadcpu_snap(&tcpu);
	}
	if (!atomic_compare_exchange_strong(&rs->phase, &f, to))
		return false;
	if (to == PH_MEASURE) {
		rs->host_ws = host;
		rs->tcpu_ws = tcpu;
	}
	uint64_t now = runner_mono_ns();
	if (to == PH_WARMUP)
		atomic_store(&rs->t_warm_ns, now);
	if (to == PH_MEASURE) {
		atomic_store(&rs->t_ws_ns, now);
		snap_manager(rs, true);
	}
	if (to == PH_DRAIN) {
		if (from == PH_MEASURE) {
			atomic_store(&rs->t_we_ns, now);
			snap_manager(rs, false);
			hostload_snap(&rs->host_we);
			threadcpu_snap(&rs->tcpu_we);
		}
		atomic_store(&rs->stop, true);
	}
	/* The sampler sleeps until the next edge it knows of: tell it. */
	pthread_mutex_lock(&rs->lock);
	rs->kick = true;
	pthread_cond_signal(&rs->cond);
	pthread_mutex_unlock(&rs->lock);
	return true;
}

void window_stop(struct runner_state *rs)
{
	for (;;) {
		int ph = atomic_load(&rs->phase);
		if (ph == PH_DRAIN || window_move(rs, ph, PH_DRAIN))
			break;
	}
	atomic_store(&rs->stop, true);
}

static void counts(const struct wl_thread *t, struct win_counts *c)
{
	c->ops = t->ops;
	c->units = t->units;
	c->create_failures = t->create_failures;
	c->job_failures = t->job_failures;
	memcpy(c->ctr, t->ctr, sizeof(c->ctr));
}

/* Every thread has begun: open the window, or start the warm-up. */
static void all_begun(struct runner_state *rs)
{
	if (rs->c->warmup_s > 0)
		window_move(rs, PH_SETUP, PH_WARMUP);
	else
		window_move(rs, PH_SETUP, PH_MEASURE);
}

void window_thread_begin(struct wl_thread *t)
{
	struct runner_state *rs = t->r->rs;

	if (t->hp->begun)
		return;
	t->hp->begun = true;
	if (atomic_fetch_add(&rs->begun, 1) + 1 == t->r->nthreads)
		all_begun(rs);
	window_observe(t, atomic_load(&rs->phase));
}

void window_observe(struct wl_thread *t, int phase)
{
	struct thread_priv *hp = t->hp;

	if (phase == hp->seen_phase)
		return;
	hp->seen_phase = phase;
	if (phase >= PH_MEASURE && hp->begun && !hp->have_ws && !hp->ended) {
		counts(t, &hp->at_ws);
		hp->have_ws = true;
		hp->measuring = phase == PH_MEASURE;
		hp->ops_flushed = t->ops;
	}
	if (phase == PH_DRAIN)
		window_thread_end(t);
}

void window_thread_end(struct wl_thread *t)
{
	struct thread_priv *hp = t->hp;
	struct runner_state *rs = t->r->rs;

	if (hp->ended)
		return;
	if (!hp->begun) {
		/* A body that returned without wl_begin: it is done with setup
		 * too, or the others would wait for it forever. */
		hp->begun = true;
		if (atomic_fetch_add(&rs->begun, 1) + 1 == t->r->nthreads)
			all_begun(rs);
	}
	counts(t, &hp->at_we);
	hp->have_we = true;
	if (!hp->have_ws) {
		hp->at_ws = hp->at_we; /* it measured nothing */
		hp->have_ws = true;
	}
	hp->measuring = false;
	hp->ended = true;
	if (atomic_fetch_add(&rs->ended, 1) + 1 == t->r->nthreads) {
		/* Every thread left its loop on its own: the window ends now. */
		int ph = atomic_load(&rs->phase);
		if (ph != PH_DRAIN)
			window_move(rs, ph, PH_DRAIN);
	}
}

void window_collect(struct runner_state *rs)
{
	struct run_result *res = rs->res;
	const struct run_config *c = rs->c;
	uint64_t t0 = rs->t0_ns;
	uint64_t ws = atomic_load(&rs->t_ws_ns), we = atomic_load(&rs->t_we_ns);
	uint64_t warm = atomic_load(&rs->t_warm_ns);

	res->ops = res->units = res->create_failures = res->job_failures = 0;
	memset(res->ctr, 0, sizeof(res->ctr));
	for (unsigned i = 0; i < c->threads; i++) {
		const struct wl_thread *t = &rs->threads[i];
		const struct thread_priv *hp = t->hp;
		res->ops_total += t->ops;
		if (!hp->have_ws || !hp->have_we)
			continue;
		res->ops += hp->at_we.ops - hp->at_ws.ops;
		res->units += hp->at_we.units - hp->at_ws.units;
		res->create_failures += hp->at_we.create_failures - hp->at_ws.create_failures;
		res->job_failures += hp->at_we.job_failures - hp->at_ws.job_failures;
		for (int k = 0; k < WL_MAX_COUNTERS; k++)
			res->ctr[k] += hp->at_we.ctr[k] - hp->at_ws.ctr[k];
	}
	if (ws && we >= ws) {
		res->duration_s = (double)(we - ws) * 1e-9;
		res->window_start_s = (double)(ws - t0) * 1e-9;
		res->window_end_s = (double)(we - t0) * 1e-9;
		res->warmup_s = warm ? (double)(ws - warm) * 1e-9 : 0;
		res->setup_s = (double)((warm ? warm : ws) - t0) * 1e-9;
	} else {
		/* The window never opened (setup limit, interrupt in setup). */
		res->duration_s = 0;
		res->window_start_s = res->window_end_s = -1;
		res->setup_s = (double)(res->end_ns - t0) * 1e-9;
	}
	res->teardown_s = ws && we >= ws ? (double)(res->end_ns - we) * 1e-9 : 0;
	res->window_stats_valid = rs->have_ws && rs->have_we;
	if (res->window_stats_valid) {
		struct vidmm_stats *w = &res->st_window;
		*w = rs->st_we;
#define SUB(name, det) w->name = rs->st_we.name - rs->st_ws.name;
		METRICS_COUNTER_FIELDS(SUB)
#undef SUB
		for (int k = 0; k < RUN_VM_HISTS; k++)
			vidmm_hist_sub(&res->vm_hist[k], &rs->vm_we[k], &rs->vm_ws[k]);
		for (int k = 0; k < VIDMM_LOCK_CLASSES; k++) {
			const struct vidmm_lock_stats *a = &rs->lk_we[k], *b = &rs->lk_ws[k];
			struct vidmm_lock_stats *o = &res->locks[k];
			o->acquisitions = a->acquisitions - b->acquisitions;
			o->contended = a->contended - b->contended;
			vidmm_hist_sub(&o->wait, &a->wait, &b->wait);
			vidmm_hist_sub(&o->hold, &a->hold, &b->hold);
		}
	}
}
