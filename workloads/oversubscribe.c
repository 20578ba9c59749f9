/* SPDX-License-Identifier: MIT */
/*
 * oversubscribe.c - a working set k times local memory (default 2x), and GPU
 * jobs that each touch a few objects chosen with Zipf skew: the hot objects
 * should stay resident and the cold ones page out and in. Measures job
 * throughput and page-in/page-out rates.
 * Owns: only its generator. Must not: call libvidmm except through wl_*.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

static const struct wl_param params[] = {
	{ "ws_factor", WL_P_FLOAT, "2.0", "working set, multiple of local memory", 0.01, 64, NULL },
	{ "obj_frac", WL_P_FLOAT, "0.015625", "object size, fraction of local memory", 1e-6, 0.5,
	  NULL },
	{ "refs", WL_P_INT, "4", "objects per job", 1, 64, NULL },
	{ "zipf", WL_P_FLOAT, "0.8", "Zipf skew of object popularity (0 = uniform)", 0, 5, NULL },
	{ "write_frac", WL_P_FLOAT, "0.25", "probability that a job writes an object", 0, 1, NULL },
	{ .name = NULL },
};

/* Counted while the working set is made, before the measured window. */
static const char *const setup_counters[] = { "objects", NULL };

static int thread(struct wl_thread *t)
{
	struct wl_run *r = t->r;
	uint64_t obj = wl_pages(r, wl_param_float(r, "obj_frac") * (double)r->local_bytes);
	uint32_t n = (uint32_t)(wl_param_float(r, "ws_factor") * (double)r->local_bytes /
				(double)obj / r->nthreads);
	uint32_t refs = (uint32_t)wl_param_int(r, "refs");
	double wf = wl_param_float(r, "write_frac");
	struct wl_alloc *o, *sel[64];
	uint32_t *perm, acc[64];
	struct wl_zipf z;

	if (n < refs)
		n = refs;
	o = calloc(n, sizeof(*o));
	perm = calloc(n, sizeof(*perm));
	if (!o || !perm || wl_zipf_init(&z, n, wl_param_float(r, "zipf"))) {
		free(o);
		free(perm);
		return -ENOMEM;
	}
	/* Popularity rank -> object, shuffled, so that the hot set is not
	 * simply the objects created last (still resident by LRU). */
	for (uint32_t i = 0; i < n; i++)
		perm[i] = i;
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t k = (uint32_t)wl_below(t, i + 1), x = perm[i];
		perm[i] = perm[k];
		perm[k] = x;
	}
	for (uint32_t i = 0; i < n && wl_continue(t); i++) {
		struct vidmm_alloc_desc d = { .size = obj, .priority = VIDMM_PRIO_NORMAL };
		if (wl_create(t, &d, &o[i]) == 0)
			t->setup_ctr[0]++;
	}
	wl_begin(t);
	while (wl_continue(t)) {
		uint32_t m = 0;
		for (uint32_t tries = 0; m < refs && tries < refs * 8; tries++) {
			struct wl_alloc *a = &o[perm[wl_zipf_next(t, &z)]];
			bool dup = !a->h;
			for (uint32_t k = 0; k < m; k++)
				dup |= sel[k] == a;
			if (dup)
				continue;
			sel[m] = a;
			acc[m] = wl_unif(t) < wf ? VIDMM_ACCESS_READ | VIDMM_ACCESS_WRITE
						 : VIDMM_ACCESS_READ;
			m++;
		}
		if (!m)
			break;
		wl_job(t, sel, acc, m, NULL);
		t->units++;
	}
	wl_end(t);
	wl_sync(t);
	for (uint32_t i = 0; i < n; i++)
		if (o[i].h)
			wl_destroy(t, &o[i]);
	wl_zipf_free(&z);
	free(o);
	free(perm);
	return 0;
}

const struct workload wl_oversubscribe = {
	.name = "oversubscribe",
	.family = "oversubscribe",
	.description = "working set k x local memory, Zipf-skewed jobs; page-in/out rates, job "
		       "throughput",
	.params = params,
	.metrics_doc =
		"objects: the working set made at setup (ws_factor x local memory in obj_frac "
		"pieces)",
	.unit = "jobs",
	.default_threads = 1,
	.setup_counters = setup_counters,
	.thread = thread,
};
