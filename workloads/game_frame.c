/* SPDX-License-Identifier: MIT */
/*
 * game_frame.c - a game's frame loop: per-frame render targets (local only,
 * high priority, created and destroyed every frame), a texture pool larger
 * than local memory with priorities by popularity, Zipf-chosen textures
 * sampled each frame, a few textures streamed out and in each frame, and the
 * frame presented (waited for) before the next. Measures frames/s and
 * frame-time percentiles against a frame budget.
 * Owns: only its generator. Must not: call libvidmm except through wl_*.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "workload.h"

static const struct wl_param params[] = {
	{ "rt_count", WL_P_INT, "3", "render targets per frame", 1, 16, NULL },
	{ "rt_frac", WL_P_FLOAT, "0.03", "render target size, fraction of local memory", 1e-6, 0.25,
	  NULL },
	{ "tex_ws", WL_P_FLOAT, "1.5", "texture pool, multiple of local memory", 0.01, 64, NULL },
	{ "tex_frac", WL_P_FLOAT, "0.008", "median texture size, fraction of local memory", 1e-6,
	  0.25, NULL },
	{ "tex_per_frame", WL_P_INT, "24", "textures sampled per frame", 1, 48, NULL },
	{ "stream", WL_P_INT, "2", "textures replaced (streamed) per frame", 0, 64, NULL },
	{ "zipf", WL_P_FLOAT, "1.0", "Zipf skew of texture popularity", 0, 5, NULL },
	{ "budget_ms", WL_P_FLOAT, "16.667", "frame budget; longer frames count as missed", 0.01,
	  10000, NULL },
	{ "vsync", WL_P_INT, "0", "1: sleep out the rest of the budget after each frame", 0, 1,
	  NULL },
	{ .name = NULL },
};

static const char *const hists[] = { "frame", NULL };
static const char *const counters[] = { "missed_frames", "streamed_textures", NULL };
/* Counted while the textures are made, before the measured window. */
static const char *const setup_counters[] = { "textures", NULL };

static enum vidmm_priority rank_prio(uint32_t rank, uint32_t n)
{
	if (rank < n / 10)
		return VIDMM_PRIO_HIGH;
	if (rank < n / 2)
		return VIDMM_PRIO_NORMAL;
	return VIDMM_PRIO_LOW;
}

static uint64_t tex_size(struct wl_thread *t, double median)
{
	/* log-normal, sigma 0.7: mip chains and atlases of mixed sizes */
	return wl_pages(t->r, median * exp(0.7 * wl_normal(t)));
}

static int thread(struct wl_thread *t)
{
	struct wl_run *r = t->r;
	uint32_t nrt = (uint32_t)wl_param_int(r, "rt_count");
	uint64_t rt = wl_pages(r, wl_param_float(r, "rt_frac") * (double)r->local_bytes);
	double tmed = wl_param_float(r, "tex_frac") * (double)r->local_bytes;
	uint32_t ntex = (uint32_t)(wl_param_float(r, "tex_ws") * (double)r->local_bytes / tmed /
				   r->nthreads);
	uint32_t per = (uint32_t)wl_param_int(r, "tex_per_frame");
	uint32_t stream = (uint32_t)wl_param_int(r, "stream");
	double budget_ns = wl_param_float(r, "budget_ms") * 1e6;
	bool vsync = wl_param_int(r, "vsync") != 0;
	struct wl_alloc rts[16], *tex, *sel[64];
	uint32_t acc[64];
	struct wl_zipf z;

	if (ntex < per)
		ntex = per;
	tex = calloc(ntex, sizeof(*tex));
	if (!tex || wl_zipf_init(&z, ntex, wl_param_float(r, "zipf"))) {
		free(tex);
		return -ENOMEM;
	}
	/* texture i has popularity rank i */
	for (uint32_t i = 0; i < ntex && wl_continue(t); i++) {
		struct vidmm_alloc_desc d = { .size = tex_size(t, tmed), .priority = rank_prio(i, ntex) };
		if (wl_create(t, &d, &tex[i]) == 0)
			t->setup_ctr[0]++;
	}
	wl_begin(t);
	while (wl_continue(t)) {
		uint64_t t0 = wl_ticks();
		uint32_t m = 0;
		struct vidmm_alloc_desc d = {
			.size = rt, .priority = VIDMM_PRIO_HIGH, .flags = VIDMM_ALLOC_LOCAL_ONLY,
		};
		for (uint32_t i = 0; i < nrt; i++)
			if (wl_create(t, &d, &rts[i]) == 0) {
				sel[m] = &rts[i];
				acc[m++] = VIDMM_ACCESS_WRITE;
			}
		uint32_t base = m;
		for (uint32_t tries = 0; m < base + per && tries < per * 8; tries++) {
			struct wl_alloc *a = &tex[wl_zipf_next(t, &z)];
			bool dup = !a->h;
			for (uint32_t k = base; k < m; k++)
				dup |= sel[k] == a;
			if (dup)
				continue;
			sel[m] = a;
			acc[m++] = VIDMM_ACCESS_READ;
		}
		if (m)
			wl_job(t, sel, acc, m, NULL);
		wl_sync(t); /* present */
		for (uint32_t i = 0; i < nrt; i++)
			if (rts[i].h)
				wl_destroy(t, &rts[i]);
		/* streaming: replace cold textures (the popular tenth stays) */
		for (uint32_t s = 0; s < stream && ntex > 10; s++) {
			uint32_t k = ntex / 10 + (uint32_t)wl_below(t, ntex - ntex / 10);
			if (tex[k].h)
				wl_destroy(t, &tex[k]);
			struct vidmm_alloc_desc td = { .size = tex_size(t, tmed),
						       .priority = rank_prio(k, ntex) };
			wl_create(t, &td, &tex[k]);
			t->ctr[1]++;
		}
		uint64_t ns = wl_ticks_ns(wl_ticks() - t0);
		wl_hist(t, 0, ns);
		if ((double)ns > budget_ns)
			t->ctr[0]++;
		else if (vsync) {
			uint64_t rest = (uint64_t)budget_ns - ns;
			struct timespec ts = { (time_t)(rest / 1000000000ull), (long)(rest % 1000000000ull) };
			nanosleep(&ts, NULL);
		}
		t->units++;
	}
	wl_end(t);
	for (uint32_t i = 0; i < ntex; i++)
		if (tex[i].h)
			wl_destroy(t, &tex[i]);
	wl_zipf_free(&z);
	free(tex);
	return 0;
}

static void teardown(struct wl_run *r)
{
	uint64_t frames = wl_result_units(r), missed = wl_result_counter(r, 0);

	if (frames && missed * 2 > frames)
		wl_note(r, "%llu of %llu frames missed the %.3g ms budget: every frame samples "
			"textures from a pool %.3gx local memory, so most frames page some in, and "
			"the emulated copy engine moves bytes at memcpy speed; --param tex_ws below 1 "
			"or a larger budget_ms shows the frame loop without paging",
			(unsigned long long)missed, (unsigned long long)frames,
			wl_param_float(r, "budget_ms"), wl_param_float(r, "tex_ws"));
}

static const struct wl_headline headline[] = {
	{ "missed_frames", true, NULL },
	{ .name = NULL },
};

const struct workload wl_game_frame = {
	.name = "game-frame",
	.family = "game-frame",
	.description = "frame loop: render targets, streamed textures with priorities, frame "
		       "budget; frames/s, frame-time percentiles",
	.params = params,
	.metrics_doc =
		"missed_frames: frames longer than budget_ms (lower is better); "
		"streamed_textures: textures replaced; textures: the pool made at setup; the "
		"frame histogram holds every frame time",
	.unit = "frames",
	.default_threads = 1,
	.hists = hists,
	.counters = counters,
	.setup_counters = setup_counters,
	.headline = headline,
	.teardown = teardown,
	.thread = thread,
};
