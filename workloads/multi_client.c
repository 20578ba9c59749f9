/* SPDX-License-Identifier: MIT */
/*
 * multi_client.c - N clients (one per thread) contending for one manager:
 * each has its own allocations at its own priority (low, normal, high in
 * turn), submits Zipf-skewed jobs over them and churns a few. Reports jobs/s
 * per client and fairness (slowest / fastest client).
 * Owns: only its generator. Must not: call libvidmm except through wl_*.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

static const struct wl_param params[] = {
	{ "ws_factor", WL_P_FLOAT, "1.5", "all clients' data, multiple of local memory", 0.01, 64,
	  NULL },
	{ "obj_frac", WL_P_FLOAT, "0.01", "object size, fraction of local memory", 1e-6, 0.5, NULL },
	{ "refs", WL_P_INT, "4", "objects per job", 1, 64, NULL },
	{ "zipf", WL_P_FLOAT, "0.9", "Zipf skew within a client", 0, 5, NULL },
	{ "churn", WL_P_FLOAT, "0.05", "probability per job of replacing one object", 0, 1, NULL },
	{ .name = NULL },
};

static const char *const counters[] = { "recreated", NULL };

#define MAX_CLIENTS 256

struct shared {
	uint64_t jobs[MAX_CLIENTS];
};

static int setup(struct wl_run *r)
{
	r->priv = calloc(1, sizeof(struct shared));
	return r->priv ? 0 : -ENOMEM;
}

static void teardown(struct wl_run *r)
{
	struct shared *s = r->priv;
	uint64_t lo = UINT64_MAX, hi = 0;
	char name[48];

	for (unsigned i = 0; i < r->nthreads && i < MAX_CLIENTS; i++) {
		if (s->jobs[i] < lo)
			lo = s->jobs[i];
		if (s->jobs[i] > hi)
			hi = s->jobs[i];
		if (i < 8) {
			snprintf(name, sizeof(name), "client%u_jobs", i);
			wl_gauge(r, name, (double)s->jobs[i]);
		}
	}
	double fair = hi ? (double)lo / (double)hi : 1.0;
	wl_gauge(r, "fairness_min_over_max", fair);
	if (fair < 0.2 && r->nthreads > 1)
		wl_note(r, "fairness %.3g: the clients run at low, normal and high priority in turn, "
			"and under oversubscription the manager evicts low-priority data first, so "
			"those clients page in on nearly every job; this is the priority policy at "
			"work, not a stall", fair);
	free(s);
	r->priv = NULL;
}

static int thread(struct wl_thread *t)
{
	struct wl_run *r = t->r;
	struct shared *sh = r->priv;
	uint64_t obj = wl_pages(r, wl_param_float(r, "obj_frac") * (double)r->local_bytes);
	uint32_t n = (uint32_t)(wl_param_float(r, "ws_factor") * (double)r->local_bytes /
				(double)obj / r->nthreads);
	uint32_t refs = (uint32_t)wl_param_int(r, "refs");
	double churn = wl_param_float(r, "churn");
	enum vidmm_priority prio = (enum vidmm_priority)(VIDMM_PRIO_LOW + t->idx % 3);
	struct wl_alloc *o, *sel[64];
	uint32_t acc[64];
	struct wl_zipf z;

	if (n < refs)
		n = refs;
	o = calloc(n, sizeof(*o));
	if (!o || wl_zipf_init(&z, n, wl_param_float(r, "zipf"))) {
		free(o);
		return -ENOMEM;
	}
	struct vidmm_alloc_desc d = { .size = obj, .priority = prio };
	for (uint32_t i = 0; i < n && wl_continue(t); i++)
		wl_create(t, &d, &o[i]);
	wl_begin(t);
	while (wl_continue(t)) {
		uint32_t m = 0;
		for (uint32_t tries = 0; m < refs && tries < refs * 8; tries++) {
			struct wl_alloc *a = &o[wl_zipf_next(t, &z)];
			bool dup = !a->h;
			for (uint32_t k = 0; k < m; k++)
				dup |= sel[k] == a;
			if (!dup) {
				sel[m] = a;
				acc[m++] = wl_below(t, 4) ? VIDMM_ACCESS_READ
							  : VIDMM_ACCESS_READ | VIDMM_ACCESS_WRITE;
			}
		}
		if (m && wl_job(t, sel, acc, m, NULL) == 0)
			t->units++;
		if (churn > 0 && wl_unif(t) < churn) {
			uint32_t k = (uint32_t)wl_below(t, n);
			if (o[k].h)
				wl_destroy(t, &o[k]);
			wl_create(t, &d, &o[k]);
			t->ctr[0]++;
		}
		if (!m && !churn)
			break;
	}
	wl_end(t);
	wl_sync(t);
	if (t->idx < MAX_CLIENTS)
		sh->jobs[t->idx] = t->units;
	for (uint32_t i = 0; i < n; i++)
		if (o[i].h)
			wl_destroy(t, &o[i]);
	wl_zipf_free(&z);
	free(o);
	return 0;
}

static const struct wl_headline headline[] = {
	{ "fairness_min_over_max", false, NULL },
	{ .name = NULL },
};

const struct workload wl_multi_client = {
	.name = "multi-client",
	.family = "multi-client",
	.description = "N client threads with their own allocations and priorities, contending",
	.params = params,
	.metrics_doc =
		"recreated: objects replaced; client<i>_jobs: jobs per client (first 8); "
		"fairness_min_over_max: slowest client over fastest (1 = fair; priorities make it "
		"lower on purpose)",
	.unit = "jobs",
	.default_threads = 4,
	.counters = counters,
	.headline = headline,
	.setup = setup,
	.thread = thread,
	.teardown = teardown,
};
