/* SPDX-License-Identifier: MIT */
/*
 * frag.c - checkerboard fragmentation: fill local memory with small
 * allocations, free every other one (free space is plentiful but no hole is
 * larger than one small allocation), then ask for large ones. Measures how
 * the manager answers a large request in a fragmented segment: latency,
 * failures and how many page-outs each one costs (contiguous-window
 * eviction should need few).
 * Owns: only its generator. Must not: call libvidmm except through wl_*.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

static const struct wl_param params[] = {
	{ "small_frac", WL_P_FLOAT, "0.002", "small allocation, fraction of local memory", 1e-6, 0.5,
	  NULL },
	{ "fill", WL_P_FLOAT, "0.9", "fraction of local memory filled before the checkerboard", 0.05,
	  1, NULL },
	{ "large_mult", WL_P_INT, "16", "large allocation = this many small ones", 2, 1 << 16, NULL },
	{ "large_count", WL_P_INT, "8", "large requests per round", 1, 1 << 16, NULL },
	{ .name = NULL },
};

static const char *const hists[] = { "large_create", NULL };
static const char *const counters[] = { "large_requests", "large_failures",
					"large_page_outs", NULL };

static uint64_t page_outs(struct wl_run *r, double *frag)
{
	struct vidmm_stats st;
	uint64_t f = 0, l = 0;

	if (vidmm_query_stats(r->vm, &st))
		return 0;
	for (uint32_t i = 0; i < r->n_seg_local; i++) {
		f += st.seg[r->seg_local[i]].free;
		if (st.seg[r->seg_local[i]].largest_free > l)
			l = st.seg[r->seg_local[i]].largest_free;
	}
	if (frag)
		*frag = f ? 1.0 - (double)l / (double)f : 0.0;
	return st.page_outs;
}

static int thread(struct wl_thread *t)
{
	struct wl_run *r = t->r;
	uint64_t small = wl_pages(r, wl_param_float(r, "small_frac") * (double)r->local_bytes);
	uint64_t large = small * (uint64_t)wl_param_int(r, "large_mult");
	uint32_t nl = (uint32_t)wl_param_int(r, "large_count");
	uint32_t ns = (uint32_t)(wl_param_float(r, "fill") * (double)r->local_bytes /
				 (double)small / r->nthreads);
	struct wl_alloc *s = calloc(ns ? ns : 1, sizeof(*s)), *l = calloc(nl, sizeof(*l));
	double frag_sum = 0;
	uint64_t rounds = 0;

	if (!s || !l) {
		free(s);
		free(l);
		return -ENOMEM;
	}
	wl_begin(t);
	while (wl_continue(t)) {
		struct vidmm_alloc_desc d = {
			.size = small, .priority = VIDMM_PRIO_NORMAL, .flags = VIDMM_ALLOC_LOCAL_ONLY,
		};
		for (uint32_t i = 0; i < ns && wl_continue(t); i++)
			wl_create(t, &d, &s[i]);
		for (uint32_t i = 0; i < ns; i += 2)
			if (s[i].h)
				wl_destroy(t, &s[i]);
		wl_sync(t);
		double frag;
		page_outs(r, &frag);
		frag_sum += frag;
		rounds++;
		d.size = large;
		for (uint32_t i = 0; i < nl && wl_continue(t); i++) {
			uint64_t po0 = page_outs(r, NULL);
			uint64_t t0 = wl_ticks();
			int ret = wl_create(t, &d, &l[i]);
			wl_hist(t, 0, wl_ticks_ns(wl_ticks() - t0));
			t->ctr[0]++;
			if (ret)
				t->ctr[1]++;
			t->ctr[2] += page_outs(r, NULL) - po0;
		}
		for (uint32_t i = 0; i < nl; i++)
			if (l[i].h)
				wl_destroy(t, &l[i]);
		for (uint32_t i = 1; i < ns; i += 2)
			if (s[i].h)
				wl_destroy(t, &s[i]);
		t->units++;
	}
	wl_end(t);
	if (t->idx == 0 && rounds)
		wl_gauge(r, "fragmentation_mean", frag_sum / (double)rounds);
	for (uint32_t i = 0; i < ns; i++)
		if (s[i].h)
			wl_destroy(t, &s[i]);
	free(s);
	free(l);
	return 0;
}

static const struct wl_headline headline[] = {
	{ "fragmentation_mean", true, NULL },
	{ "large_failures", true, NULL },
	{ .name = NULL },
};

const struct workload wl_frag = {
	.name = "frag",
	.family = "frag",
	.description = "checkerboard fragmentation of local memory, then large requests",
	.params = params,
	.metrics_doc =
		"large_requests, large_failures: large creations tried and refused after the "
		"checkerboard; large_page_outs: page-outs they caused; fragmentation_mean: mean "
		"fragmentation of local memory per round (lower is better)",
	.unit = "rounds",
	.default_threads = 1,
	.hists = hists,
	.counters = counters,
	.headline = headline,
	.thread = thread,
};
