/* SPDX-License-Identifier: MIT */
/*
 * swap.c - system-memory pressure: more data than local memory plus the
 * system-page budget can hold (evicted allocations live in system pages),
 * then jobs over it and churn, so the manager must swap to disk (the
 * profile's swap size; --swap-dir, --swap-mib): swap-outs/ins and their
 * rates come from the manager's counters. Without a swap file (swap 0)
 * there is nothing to measure: the run is skipped (exit 77).
 * Owns: only its generator. Must not: call libvidmm except through wl_*.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

static const struct wl_param params[] = {
	{ "pressure", WL_P_FLOAT, "2.0",
	  "data created, multiple of (local memory + system-page budget)", 0.1, 16, NULL },
	{ "obj_frac", WL_P_FLOAT, "0.01", "object size, fraction of the system-page budget", 1e-5,
	  0.5, NULL },
	{ "refs", WL_P_INT, "2", "objects per job", 1, 64, NULL },
	{ .name = NULL },
};

static const char *const counters[] = { "enomem", "recreated", NULL };
/* Counted while the working set is made, before the measured window. */
static const char *const setup_counters[] = { "objects", "setup_enomem", NULL };

static void peak(struct wl_thread *t, double *p)
{
	struct vidmm_stats st;
	if (vidmm_query_stats(t->r->vm, &st) == 0 && st.sysmem_pages_budget) {
		double f = (double)st.sysmem_pages_used / (double)st.sysmem_pages_budget;
		if (f > *p)
			*p = f;
	}
}

static int thread(struct wl_thread *t)
{
	struct wl_run *r = t->r;
	uint64_t obj = wl_pages(r, wl_param_float(r, "obj_frac") * (double)r->sysmem_bytes);
	uint32_t n = (uint32_t)(wl_param_float(r, "pressure") *
				(double)(r->local_bytes + r->sysmem_bytes) / (double)obj / r->nthreads);
	uint32_t refs = (uint32_t)wl_param_int(r, "refs"), live = 0;
	struct wl_alloc *o, *sel[64];
	uint32_t acc[64];
	double pk = 0;

	if (n < 1)
		n = 1;
	o = calloc(n, sizeof(*o));
	if (!o)
		return -ENOMEM;
	struct vidmm_alloc_desc d = { .size = obj, .priority = VIDMM_PRIO_NORMAL };
	for (uint32_t i = 0; i < n && wl_continue(t); i++) {
		int ret = wl_create(t, &d, &o[i]);
		if (ret == 0) {
			live++;
			t->setup_ctr[0]++;
		} else if (ret == -ENOMEM || ret == -ENOSPC) {
			t->setup_ctr[1]++;
		}
	}
	peak(t, &pk);
	wl_begin(t);
	while (wl_continue(t) && live) {
		uint32_t m = 0;
		for (uint32_t tries = 0; m < refs && tries < refs * 8; tries++) {
			struct wl_alloc *a = &o[wl_below(t, n)];
			bool dup = !a->h;
			for (uint32_t k = 0; k < m; k++)
				dup |= sel[k] == a;
			if (!dup) {
				sel[m] = a;
				acc[m++] = wl_below(t, 4) ? VIDMM_ACCESS_READ
							  : VIDMM_ACCESS_READ | VIDMM_ACCESS_WRITE;
			}
		}
		if (m)
			wl_job(t, sel, acc, m, NULL);
		/* churn: replace one object every 8 jobs, so pressure stays */
		if (wl_below(t, 8) == 0) {
			uint32_t k = (uint32_t)wl_below(t, n);
			if (o[k].h) {
				wl_destroy(t, &o[k]);
				live--;
			}
			int ret = wl_create(t, &d, &o[k]);
			if (ret == 0) {
				live++;
				t->ctr[1]++;
			} else if (ret == -ENOMEM || ret == -ENOSPC) {
				t->ctr[0]++;
			}
			peak(t, &pk);
		}
		t->units++;
	}
	wl_end(t);
	wl_sync(t);
	if (t->idx == 0) {
		wl_gauge(r, "sysmem_peak_frac", pk);
	}
	for (uint32_t i = 0; i < n; i++)
		if (o[i].h)
			wl_destroy(t, &o[i]);
	free(o);
	return 0;
}

const struct workload wl_swap = {
	.name = "swap",
	.family = "swap",
	.description = "system-memory pressure beyond the page budget: swap-out/in to the swap "
		       "file",
	.params = params,
	.metrics_doc =
		"enomem, recreated: creations refused for lack of system pages and objects "
		"replaced in the window; objects, setup_enomem: the same during setup; "
		"sysmem_peak_frac: the highest system-page use seen, as a fraction of the budget",
	.unit = "jobs",
	.default_threads = 1,
	.needs_swap = true,
	.counters = counters,
	.setup_counters = setup_counters,
	.thread = thread,
};
