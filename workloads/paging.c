/* SPDX-License-Identifier: MIT */
/*
 * paging.c - pure page-out / page-in throughput by allocation size: per size
 * class, create a batch, write it, evict every allocation (vidmm_evict), then
 * page the batch back in with read jobs. The paging mode is the run's
 * (--paging-mode window|bounce). Reports MiB/s per direction and size, and
 * per-allocation page-out / page-in latency histograms.
 * Owns: only its generator. Must not: call libvidmm except through wl_*.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

static const struct wl_param params[] = {
	{ "small_frac", WL_P_FLOAT, "0.001", "small class, fraction of local memory", 1e-6, 0.5,
	  NULL },
	{ "mid_frac", WL_P_FLOAT, "0.03", "middle class, fraction of local memory", 1e-6, 0.5, NULL },
	{ "large_frac", WL_P_FLOAT, "0.125", "large class, fraction of local memory", 1e-6, 0.5,
	  NULL },
	{ "batch_frac", WL_P_FLOAT, "0.25", "bytes per class per round, fraction of local memory",
	  1e-4, 0.9, NULL },
	{ .name = NULL },
};

static const char *const hists[] = { "page_out_small", "page_out_mid", "page_out_large",
				     "page_in_small", "page_in_mid", "page_in_large", NULL };
static const char *const counters[] = { "evict_busy", NULL };

struct totals {
	pthread_mutex_t lock;
	uint64_t out_bytes[3], out_ns[3], in_bytes[3], in_ns[3];
};

static int setup(struct wl_run *r)
{
	struct totals *tt = calloc(1, sizeof(*tt));
	if (!tt)
		return -ENOMEM;
	pthread_mutex_init(&tt->lock, NULL);
	r->priv = tt;
	return 0;
}

static void teardown(struct wl_run *r)
{
	static const char *const cls[3] = { "small", "mid", "large" };
	struct totals *tt = r->priv;
	char name[48];

	static const char *const frac[3] = { "small_frac", "mid_frac", "large_frac" };
	for (int c = 0; c < 3; c++) {
		/* the size of the class, for charts of throughput by size */
		snprintf(name, sizeof(name), "size_bytes_%s", cls[c]);
		wl_gauge(r, name, (double)wl_pages(r, wl_param_float(r, frac[c]) *
							(double)r->local_bytes));
		snprintf(name, sizeof(name), "page_out_mib_per_s_%s", cls[c]);
		wl_gauge(r, name, tt->out_ns[c] ? (double)tt->out_bytes[c] / 1048576.0 /
						      ((double)tt->out_ns[c] * 1e-9) : 0.0);
		snprintf(name, sizeof(name), "page_in_mib_per_s_%s", cls[c]);
		wl_gauge(r, name, tt->in_ns[c] ? (double)tt->in_bytes[c] / 1048576.0 /
						     ((double)tt->in_ns[c] * 1e-9) : 0.0);
	}
	pthread_mutex_destroy(&tt->lock);
	free(tt);
	r->priv = NULL;
}

static int thread(struct wl_thread *t)
{
	struct wl_run *r = t->r;
	struct totals *tt = r->priv;
	static const char *const fr[3] = { "small_frac", "mid_frac", "large_frac" };
	uint64_t size[3];
	uint32_t n[3], nmax = 1;
	uint64_t ob[3] = { 0 }, on[3] = { 0 }, ib[3] = { 0 }, in[3] = { 0 };
	double batch = wl_param_float(r, "batch_frac") * (double)r->local_bytes / r->nthreads;

	for (int c = 0; c < 3; c++) {
		size[c] = wl_pages(r, wl_param_float(r, fr[c]) * (double)r->local_bytes);
		n[c] = (uint32_t)(batch / (double)size[c]);
		if (n[c] < 1)
			n[c] = 1;
		if (n[c] > 4096)
			n[c] = 4096;
		if (n[c] > nmax)
			nmax = n[c];
	}
	struct wl_alloc *a = calloc(nmax, sizeof(*a));
	if (!a)
		return -ENOMEM;
	wl_begin(t);
	while (wl_continue(t)) {
		for (int c = 0; c < 3 && wl_continue(t); c++) {
			struct vidmm_alloc_desc d = { .size = size[c], .priority = VIDMM_PRIO_NORMAL };
			uint32_t acc = VIDMM_ACCESS_WRITE;
			for (uint32_t i = 0; i < n[c]; i++)
				if (wl_create(t, &d, &a[i]) == 0) {
					struct wl_alloc *p = &a[i];
					wl_job(t, &p, &acc, 1, NULL);
				}
			wl_sync(t); /* idle, so evict never meets a busy allocation */
			for (uint32_t i = 0; i < n[c]; i++) {
				if (!a[i].h)
					continue;
				uint64_t t0 = wl_ticks();
				int ret = wl_evict(t, &a[i]);
				uint64_t ns = wl_ticks_ns(wl_ticks() - t0);
				if (ret) {
					t->ctr[0]++;
					continue;
				}
				wl_hist(t, (unsigned)c, ns);
				ob[c] += a[i].size;
				on[c] += ns;
			}
			acc = VIDMM_ACCESS_READ;
			for (uint32_t i = 0; i < n[c]; i++) {
				if (!a[i].h)
					continue;
				struct wl_alloc *p = &a[i];
				uint64_t t0 = wl_ticks();
				/* the page-in happens in the submit; waiting makes the
				 * figure include the job's completion too, as a client
				 * would see it */
				if (wl_job(t, &p, &acc, 1, NULL) == 0) {
					wl_sync(t);
					uint64_t ns = wl_ticks_ns(wl_ticks() - t0);
					wl_hist(t, 3u + (unsigned)c, ns);
					ib[c] += a[i].size;
					in[c] += ns;
				}
			}
			for (uint32_t i = 0; i < n[c]; i++)
				if (a[i].h)
					wl_destroy(t, &a[i]);
		}
		t->units++;
	}
	wl_end(t);
	free(a);
	pthread_mutex_lock(&tt->lock);
	for (int c = 0; c < 3; c++) {
		tt->out_bytes[c] += ob[c];
		tt->out_ns[c] += on[c];
		tt->in_bytes[c] += ib[c];
		tt->in_ns[c] += in[c];
	}
	pthread_mutex_unlock(&tt->lock);
	return 0;
}

static const struct wl_headline headline[] = {
	{ "page_out_mib_per_s_small", false, "MiB/s" },
	{ "page_out_mib_per_s_mid", false, "MiB/s" },
	{ "page_out_mib_per_s_large", false, "MiB/s" },
	{ "page_in_mib_per_s_small", false, "MiB/s" },
	{ "page_in_mib_per_s_mid", false, "MiB/s" },
	{ "page_in_mib_per_s_large", false, "MiB/s" },
	{ .name = NULL },
};

const struct workload wl_paging = {
	.name = "paging",
	.family = "paging",
	.description = "page-out / page-in throughput by size (vidmm_evict, then read jobs), per "
		       "--paging-mode",
	.params = params,
	.metrics_doc =
		"page_out_mib_per_s_<size>, page_in_mib_per_s_<size>: throughput of vidmm_evict "
		"and of the read job that pages back in, per size class; size_bytes_<size>: the "
		"class sizes; evict_busy: evictions refused because the allocation was busy",
	.unit = "rounds",
	.default_threads = 1,
	.hists = hists,
	.counters = counters,
	.headline = headline,
	.setup = setup,
	.thread = thread,
	.teardown = teardown,
};
