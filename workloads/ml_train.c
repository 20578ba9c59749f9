/* SPDX-License-Identifier: MIT */
/*
 * ml_train.c - a training loop: weights, optimizer state and gradients that
 * live for the whole run, activations created in the forward pass and freed
 * in the backward pass of every step, and every ckpt_every steps a
 * checkpoint that locks each weight tensor for the CPU (vidmm_lock: page-in
 * to a CPU-visible segment). Measures steps/s, step and checkpoint times.
 * Owns: only its generator. Must not: call libvidmm except through wl_*.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

#define MAX_LAYERS 32

static const struct wl_param params[] = {
	{ "layers", WL_P_INT, "8", "layers (tensors per kind)", 1, MAX_LAYERS, NULL },
	{ "weights_frac", WL_P_FLOAT, "0.25", "all weights, fraction of local memory", 1e-4, 4,
	  NULL },
	{ "opt_factor", WL_P_FLOAT, "2.0", "optimizer state, multiple of the weights (Adam: 2)", 0,
	  8, NULL },
	{ "act_frac", WL_P_FLOAT, "0.05", "activation per layer, fraction of local memory", 1e-5,
	  1, NULL },
	{ "ckpt_every", WL_P_INT, "20", "steps between checkpoints (0: never)", 0, 1000000, NULL },
	{ .name = NULL },
};

static const char *const hists[] = { "step", "checkpoint", NULL };
static const char *const counters[] = { "checkpoints", "lock_failures", NULL };

static int thread(struct wl_thread *t)
{
	struct wl_run *r = t->r;
	uint32_t L = (uint32_t)wl_param_int(r, "layers");
	double wb = wl_param_float(r, "weights_frac") * (double)r->local_bytes / r->nthreads / L;
	uint64_t wsz = wl_pages(r, wb);
	uint64_t osz = wl_pages(r, wb * wl_param_float(r, "opt_factor"));
	uint64_t asz = wl_pages(r, wl_param_float(r, "act_frac") * (double)r->local_bytes /
				       r->nthreads);
	uint64_t every = (uint64_t)wl_param_int(r, "ckpt_every");
	bool has_opt = wl_param_float(r, "opt_factor") > 0;
	struct wl_alloc w[MAX_LAYERS] = { 0 }, o[MAX_LAYERS] = { 0 }, g[MAX_LAYERS] = { 0 };
	struct wl_alloc act[MAX_LAYERS] = { 0 };
	struct wl_alloc *refs[4];
	uint32_t acc[4];

	for (uint32_t l = 0; l < L; l++) {
		struct vidmm_alloc_desc d = { .size = wsz, .priority = VIDMM_PRIO_HIGH };
		wl_create(t, &d, &w[l]);
		d.priority = VIDMM_PRIO_NORMAL;
		wl_create(t, &d, &g[l]);
		if (has_opt) {
			d.size = osz;
			wl_create(t, &d, &o[l]);
		}
	}
	wl_begin(t);
	while (wl_continue(t)) {
		uint64_t t0 = wl_ticks();
		/* forward: act[l] = f(w[l], act[l-1]) */
		for (uint32_t l = 0; l < L; l++) {
			struct vidmm_alloc_desc d = { .size = asz, .priority = VIDMM_PRIO_NORMAL };
			uint32_t n = 0;
			wl_create(t, &d, &act[l]);
			if (w[l].h) {
				refs[n] = &w[l];
				acc[n++] = VIDMM_ACCESS_READ;
			}
			if (l && act[l - 1].h) {
				refs[n] = &act[l - 1];
				acc[n++] = VIDMM_ACCESS_READ;
			}
			if (act[l].h) {
				refs[n] = &act[l];
				acc[n++] = VIDMM_ACCESS_WRITE;
			}
			if (n)
				wl_job(t, refs, acc, n, NULL);
		}
		/* backward: g[l] = f(act[l], w[l]); the activation dies */
		for (uint32_t l = L; l-- > 0;) {
			uint32_t n = 0;
			if (act[l].h) {
				refs[n] = &act[l];
				acc[n++] = VIDMM_ACCESS_READ;
			}
			if (w[l].h) {
				refs[n] = &w[l];
				acc[n++] = VIDMM_ACCESS_READ;
			}
			if (g[l].h) {
				refs[n] = &g[l];
				acc[n++] = VIDMM_ACCESS_WRITE;
			}
			if (n)
				wl_job(t, refs, acc, n, NULL);
			if (act[l].h)
				wl_destroy(t, &act[l]);
		}
		/* optimizer: w[l], o[l] updated from g[l] */
		for (uint32_t l = 0; l < L; l++) {
			uint32_t n = 0;
			if (w[l].h) {
				refs[n] = &w[l];
				acc[n++] = VIDMM_ACCESS_READ | VIDMM_ACCESS_WRITE;
			}
			if (o[l].h) {
				refs[n] = &o[l];
				acc[n++] = VIDMM_ACCESS_READ | VIDMM_ACCESS_WRITE;
			}
			if (g[l].h) {
				refs[n] = &g[l];
				acc[n++] = VIDMM_ACCESS_READ;
			}
			if (n)
				wl_job(t, refs, acc, n, NULL);
		}
		wl_sync(t);
		wl_hist(t, 0, wl_ticks_ns(wl_ticks() - t0));
		t->units++;
		if (every && t->units % every == 0) {
			uint64_t c0 = wl_ticks();
			for (uint32_t l = 0; l < L; l++) {
				void *cpu;
				if (!w[l].h)
					continue;
				if (wl_lock(t, &w[l], &cpu) == 0)
					wl_unlock(t, &w[l]);
				else
					t->ctr[1]++;
			}
			wl_hist(t, 1, wl_ticks_ns(wl_ticks() - c0));
			t->ctr[0]++;
		}
	}
	wl_end(t);
	for (uint32_t l = 0; l < L; l++) {
		if (w[l].h)
			wl_destroy(t, &w[l]);
		if (o[l].h)
			wl_destroy(t, &o[l]);
		if (g[l].h)
			wl_destroy(t, &g[l]);
		if (act[l].h)
			wl_destroy(t, &act[l]);
	}
	return 0;
}

const struct workload wl_ml_train = {
	.name = "ml-train",
	.family = "ml-train",
	.description = "training steps: weights + optimizer state, per-step activations, "
		       "checkpoint locks; steps/s",
	.params = params,
	.metrics_doc =
		"checkpoints: CPU locks of the weights (every ckpt_every steps); lock_failures: "
		"checkpoints the manager refused",
	.unit = "steps",
	.default_threads = 1,
	.hists = hists,
	.counters = counters,
	.thread = thread,
};
