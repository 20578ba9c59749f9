/* SPDX-License-Identifier: MIT */
/*
 * alloc_churn.c - allocation churn: random sizes (uniform, log-normal or
 * power-law), random priorities, random frees, around a target fill of
 * local memory. Measures allocation latency, failures and fragmentation
 * (1 - largest free range / free bytes of the local segments).
 * Owns: only its generator. Must not: call libvidmm except through wl_*.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

static const struct wl_param params[] = {
	{ "dist", WL_P_ENUM, "lognormal", "size distribution", 0, 0, "uniform|lognormal|powerlaw" },
	{ "min_frac", WL_P_FLOAT, "0.0001", "smallest size, fraction of local memory", 1e-9, 1, NULL },
	{ "max_frac", WL_P_FLOAT, "0.02", "largest size, fraction of local memory", 1e-9, 1, NULL },
	{ "fill", WL_P_FLOAT, "0.8", "live bytes kept around this fraction of local memory", 0.01, 4,
	  NULL },
	{ "alpha", WL_P_FLOAT, "1.5", "power-law exponent (dist=powerlaw)", 0.1, 10, NULL },
	{ "slots", WL_P_INT, "4096", "most live allocations per thread", 2, 1 << 20, NULL },
	{ .name = NULL },
};

static const char *const counters[] = { "creates", "destroys", "frag_samples", NULL };

static int setup(struct wl_run *r)
{
	if (wl_param_float(r, "min_frac") > wl_param_float(r, "max_frac")) {
		snprintf(r->err, sizeof(r->err), "--param min_frac: larger than max_frac");
		return -EINVAL;
	}
	return 0;
}

static uint64_t pick_size(struct wl_thread *t, int dist, double lo, double hi, double alpha)
{
	double s;

	switch (dist) {
	case 0:
		s = lo + wl_unif(t) * (hi - lo);
		break;
	case 1: { /* median at the geometric middle, +-3 sigma spans [lo, hi] */
		double mu = 0.5 * (log(lo) + log(hi)), sigma = (log(hi) - log(lo)) / 6.0;
		s = exp(mu + sigma * wl_normal(t));
		break;
	}
	default: { /* Pareto from lo, truncated at hi */
		double u = 1.0 - wl_unif(t);
		s = lo * pow(u, -1.0 / alpha);
		break;
	}
	}
	if (s < lo)
		s = lo;
	if (s > hi)
		s = hi;
	return (uint64_t)s;
}

static void frag_gauges(struct wl_thread *t)
{
	struct vidmm_stats st;
	uint64_t free_b = 0, largest = 0;

	if (vidmm_query_stats(t->r->vm, &st))
		return;
	for (uint32_t i = 0; i < t->r->n_seg_local; i++) {
		const struct vidmm_segment_stats *s = &st.seg[t->r->seg_local[i]];
		free_b += s->free;
		if (s->largest_free > largest)
			largest = s->largest_free;
	}
	wl_gauge(t->r, "local_free_bytes", (double)free_b);
	wl_gauge(t->r, "local_largest_free_bytes", (double)largest);
	wl_gauge(t->r, "fragmentation", free_b ? 1.0 - (double)largest / (double)free_b : 0.0);
}

static int thread(struct wl_thread *t)
{
	struct wl_run *r = t->r;
	const char *d = wl_param_str(r, "dist");
	int dist = d[0] == 'u' ? 0 : d[0] == 'l' ? 1 : 2;
	double lo = wl_param_float(r, "min_frac") * (double)r->local_bytes;
	double hi = wl_param_float(r, "max_frac") * (double)r->local_bytes;
	double alpha = wl_param_float(r, "alpha");
	double target = wl_param_float(r, "fill") * (double)r->local_bytes / r->nthreads;
	uint32_t slots = (uint32_t)wl_param_int(r, "slots"), nlive = 0;
	struct wl_alloc *live = calloc(slots, sizeof(*live));
	double live_bytes = 0, frag_sum = 0;

	if (!live)
		return -ENOMEM;
	if (lo < (double)r->page_size)
		lo = (double)r->page_size;
	if (hi < lo)
		hi = lo;
	wl_begin(t);
	while (wl_continue(t)) {
		bool grow = nlive < slots && live_bytes < target;
		if (nlive == 0 || (grow && wl_unif(t) < 0.6)) {
			struct vidmm_alloc_desc desc = {
				.size = pick_size(t, dist, lo, hi, alpha),
				.priority = (enum vidmm_priority)(VIDMM_PRIO_LOW + wl_below(t, 3)),
			};
			if (wl_create(t, &desc, &live[nlive]) == 0) {
				live_bytes += (double)live[nlive].size;
				nlive++;
				t->ctr[0]++;
			}
		} else {
			uint32_t k = (uint32_t)wl_below(t, nlive);
			live_bytes -= (double)live[k].size;
			wl_destroy(t, &live[k]);
			live[k] = live[--nlive];
			t->ctr[1]++;
		}
		t->units++;
		/* A fragmentation sample every 4096 steps (thread 0): the mean
		 * over the run, not just the end state. */
		if (t->idx == 0 && (t->units & 4095) == 0) {
			struct vidmm_stats st;
			if (vidmm_query_stats(r->vm, &st) == 0) {
				uint64_t f = 0, l = 0;
				for (uint32_t i = 0; i < r->n_seg_local; i++) {
					f += st.seg[r->seg_local[i]].free;
					if (st.seg[r->seg_local[i]].largest_free > l)
						l = st.seg[r->seg_local[i]].largest_free;
				}
				frag_sum += f ? 1.0 - (double)l / (double)f : 0.0;
				t->ctr[2]++;
			}
		}
	}
	wl_end(t);
	if (t->idx == 0) {
		frag_gauges(t);
		if (t->ctr[2])
			wl_gauge(r, "fragmentation_mean", frag_sum / (double)t->ctr[2]);
	}
	while (nlive)
		wl_destroy(t, &live[--nlive]);
	free(live);
	return 0;
}

static const struct wl_headline headline[] = {
	{ "fragmentation_mean", true, NULL },
	{ .name = NULL },
};

const struct workload wl_alloc_churn = {
	.name = "alloc-churn",
	.family = "alloc-churn",
	.description = "random-size creates and frees around a fill target; latency, failures, "
		       "fragmentation",
	.params = params,
	.metrics_doc =
		"creates, destroys: calls in the window; frag_samples: fragmentation samples "
		"taken; fragmentation_mean: mean of 1 - largest hole / free over local memory "
		"while churning (lower is better); fragmentation, local_free_bytes, "
		"local_largest_free_bytes: the same at the end",
	.unit = "steps",
	.default_threads = 1,
	.counters = counters,
	.headline = headline,
	.setup = setup,
	.thread = thread,
};
