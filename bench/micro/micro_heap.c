/* SPDX-License-Identifier: MIT */
/*
 * micro_heap.c - Google Benchmark microbenchmarks of the range allocator
 * (core/heap.h) beside the original driver's size-sorted list heap
 * (bench/tools/heap_baseline.h), at the same sizes and the same layouts.
 *
 * Owns: BM_heap_pair/live:N/frag:F/mode:M and BM_heap_baseline_pair/live:N/
 * frag:F. Must not: touch core/ or the baseline (their cost is what is
 * measured), or time anything but the alloc/free pair (layouts are built
 * before the loop and kept between calls of one run).
 *
 * A "pair" is one allocation of a size drawn from a precomputed ring (4 KiB
 * .. 1 MiB, page multiples, page aligned) followed by the free of that same
 * range. Freeing coalesces the range back into the hole it came from, so
 * the heap's state is stationary: every iteration of every call sees the same
 * layout, which is what lets the library's calibration calls and the final
 * call measure the same thing.
 *
 * Layouts, identical for both heaps (same seed, same ranges):
 *  - live:N   N allocated ranges (random sizes as above), in address order;
 *  - frag:F   F% of the ranges in the layout are holes: frag:0 packs the N
 *             live ranges from the bottom with one free tail; frag:50 puts a
 *             random-sized hole after every live range (N holes, the
 *             "allocate 2N, free every other one" checkerboard);
 *  - the heap is 3 * N * (average size) + 64 MiB, so the tail hole always
 *    takes any request and no pair fails.
 *
 * The baseline is O(holes) per operation (a size-ordered scan to allocate, a
 * full scan for neighbours and a sorted insert to free), so at live:100000/
 * frag:50 one pair walks ~200k list nodes. That stays affordable without a
 * cap: the pair is stationary, so the layout is built once (bl_load, not
 * 100k quadratic frees) and a run is min_time of pairs like any other.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/heap.h"
#include "gbshim.h"
#include "heap_baseline.h"
#include "micro.h"


#define MH_PAGE 4096ull
#define MH_MAX_PAGES 256u /* requests and random ranges: 4 KiB .. 1 MiB */
#define MH_AVG_BYTES (MH_PAGE * (MH_MAX_PAGES + 1) / 2)
#define MH_BASE (1ull << 30)
#define MH_RING 4096u     /* request sizes, reused cyclically (power of two) */

/* splitmix64: a deterministic stream, so both heaps get the same layout. */
static uint64_t mh_rand(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t mh_rand_size(uint64_t *x)
{
	return MH_PAGE * (1 + mh_rand(x) % MH_MAX_PAGES);
}

static uint64_t mh_req[MH_RING];

/* The layout: live ranges and holes, each in address order. */
struct mh_layout {
	size_t n_live, n_holes;
	uint64_t *live_start, *live_size;
	uint64_t *hole_start, *hole_size;
	uint64_t heap_size;
};

static void mh_layout_free(struct mh_layout *l)
{
	free(l->live_start);
	free(l->live_size);
	free(l->hole_start);
	free(l->hole_size);
	memset(l, 0, sizeof(*l));
}

static int mh_layout_build(struct mh_layout *l, size_t n, int frag)
{
	uint64_t seed = 0x6a09e667f3bcc908ull ^ n;
	/* Holes wanted among the ranges: F% of (live + holes) are holes. */
	size_t holes = frag > 0 ? (size_t)((double)n * frag / (100.0 - frag)) : 0;
	uint64_t at = MH_BASE, end;

	memset(l, 0, sizeof(*l));
	l->heap_size = 3 * (uint64_t)n * MH_AVG_BYTES + (64ull << 20);
	end = MH_BASE + l->heap_size;
	l->live_start = malloc(n * sizeof(uint64_t));
	l->live_size = malloc(n * sizeof(uint64_t));
	l->hole_start = malloc((holes + 1) * sizeof(uint64_t));
	l->hole_size = malloc((holes + 1) * sizeof(uint64_t));
	if (!l->live_start || !l->live_size || !l->hole_start || !l->hole_size) {
		mh_layout_free(l);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		l->live_start[i] = at;
		l->live_size[i] = mh_rand_size(&seed);
		at += l->live_size[i];
		l->n_live++;
		/* Spread the holes evenly: one after live i when the running
		 * quota (i+1)*holes/n steps up. Never two in a row, since
		 * adjacent holes would coalesce into one. */
		if (holes && (i + 1) * holes / n > i * holes / n) {
			l->hole_start[l->n_holes] = at;
			l->hole_size[l->n_holes] = mh_rand_size(&seed);
			at += l->hole_size[l->n_holes];
			l->n_holes++;
		}
	}
	if (at >= end) {
		mh_layout_free(l);
		return -ENOSPC;
	}
	/* The free tail; if the last live range was followed by a hole, that
	 * hole and the tail are one. */
	if (l->n_holes && l->hole_start[l->n_holes - 1] + l->hole_size[l->n_holes - 1] == at)
		l->hole_size[l->n_holes - 1] = end - l->hole_start[l->n_holes - 1];
	else {
		l->hole_start[l->n_holes] = at;
		l->hole_size[l->n_holes] = end - at;
		l->n_holes++;
	}
	return 0;
}

/*
 * One heap of each kind, kept between the calls of a run (and across runs of
 * the same live/frag): building 100k live ranges costs more than a short
 * run, and the pair leaves the layout as it found it.
 */
static struct {
	size_t n;
	int frag;
	struct heap *h;
	struct heap_node *nodes; /* the live ranges (the heap never owns nodes) */
	uint64_t holes;
} mh_ours;

static struct {
	size_t n;
	int frag;
	struct bl_heap *b;
	uint64_t holes;
} mh_base;

static void mh_ours_drop(void)
{
	heap_destroy(mh_ours.h);
	free(mh_ours.nodes);
	memset(&mh_ours, 0, sizeof(mh_ours));
}

static void mh_base_drop(void)
{
	if (mh_base.b)
		bl_destroy(mh_base.b);
	memset(&mh_base, 0, sizeof(mh_base));
}

static void mh_atexit(void)
{
	mh_ours_drop();
	mh_base_drop();
}

static int mh_ours_get(size_t n, int frag)
{
	struct mh_layout l;
	struct heap_stats hs;
	int ret;

	if (mh_ours.h && mh_ours.n == n && mh_ours.frag == frag)
		return 0;
	mh_ours_drop();
	ret = mh_layout_build(&l, n, frag);
	if (ret)
		return ret;
	ret = heap_create(MH_BASE, l.heap_size, &mh_ours.h);
	if (!ret) {
		mh_ours.nodes = calloc(n, sizeof(*mh_ours.nodes));
		if (!mh_ours.nodes)
			ret = -ENOMEM;
	}
	for (size_t i = 0; !ret && i < n; i++) {
		mh_ours.nodes[i].start = l.live_start[i];
		mh_ours.nodes[i].size = l.live_size[i];
		ret = heap_reserve(mh_ours.h, &mh_ours.nodes[i]);
	}
	mh_layout_free(&l);
	if (ret) {
		mh_ours_drop();
		return ret;
	}
	heap_query(mh_ours.h, &hs);
	mh_ours.n = n;
	mh_ours.frag = frag;
	mh_ours.holes = hs.holes;
	return 0;
}

static int mh_base_get(size_t n, int frag)
{
	struct mh_layout l;
	int ret;

	if (mh_base.b && mh_base.n == n && mh_base.frag == frag)
		return 0;
	mh_base_drop();
	ret = mh_layout_build(&l, n, frag);
	if (ret)
		return ret;
	ret = bl_create(MH_BASE, l.heap_size, &mh_base.b);
	/* bl_load lays the holes out directly: the baseline's own frees
	 * would make building 100k ranges quadratic. */
	if (!ret)
		ret = bl_load(mh_base.b, l.hole_start, l.hole_size, l.n_holes);
	mh_layout_free(&l);
	if (ret) {
		mh_base_drop();
		return ret;
	}
	mh_base.n = n;
	mh_base.frag = frag;
	mh_base.holes = bl_blocks(mh_base.b);
	return 0;
}

static const char *mh_err(int ret)
{
	return ret == -ENOMEM ? "out of memory building the layout"
	     : ret == -ENOSPC ? "layout does not fit the heap"
	     : "building the layout failed";
}

static int mh_args(gb_state *st, size_t *n, int *frag)
{
	int64_t live = gb_range(st, 0), f = gb_range(st, 1);

	if (live < 1 || f < 0 || f > 50) {
		gb_skip_with_error(st, "live must be >= 1 and frag in 0..50");
		return -EINVAL;
	}
	*n = (size_t)live;
	*frag = (int)f;
	return 0;
}

static void bm_heap_pair(gb_state *st, void *user)
{
	enum heap_mode mode = (enum heap_mode)gb_range(st, 2);
	struct heap_node nd;
	uint32_t pos = 0;
	size_t n;
	int frag, ret;

	(void)user;
	if (mh_args(st, &n, &frag))
		return;
	ret = mh_ours_get(n, frag);
	if (ret) {
		gb_skip_with_error(st, mh_err(ret));
		return;
	}
	struct heap *h = mh_ours.h;
	GB_FOR(st) {
		if (heap_alloc(h, &nd, mh_req[pos], MH_PAGE, 0, UINT64_MAX, mode)) {
			gb_skip_with_error(st, "heap_alloc failed");
			break;
		}
		heap_free(h, &nd);
		pos = (pos + 1) & (MH_RING - 1);
	}
	gb_set_items_processed(st, gb_iterations(st));
	gb_counter_set(st, "holes", (double)mh_ours.holes, GB_COUNTER_DEFAULT);
	gb_counter_set(st, "live", (double)n, GB_COUNTER_DEFAULT);
}

static void bm_heap_baseline_pair(gb_state *st, void *user)
{
	uint64_t start;
	uint32_t pos = 0;
	size_t n;
	int frag, ret;

	(void)user;
	if (mh_args(st, &n, &frag))
		return;
	ret = mh_base_get(n, frag);
	if (ret) {
		gb_skip_with_error(st, mh_err(ret));
		return;
	}
	struct bl_heap *b = mh_base.b;
	GB_FOR(st) {
		if (bl_alloc(b, mh_req[pos], MH_PAGE, &start)) {
			gb_skip_with_error(st, "bl_alloc failed");
			break;
		}
		bl_free(b, start, mh_req[pos]);
		pos = (pos + 1) & (MH_RING - 1);
	}
	gb_set_items_processed(st, gb_iterations(st));
	gb_counter_set(st, "holes", (double)mh_base.holes, GB_COUNTER_DEFAULT);
	gb_counter_set(st, "live", (double)n, GB_COUNTER_DEFAULT);
}

void micro_heap_register(void)
{
	static const char *const names3[] = { "live", "frag", "mode" };
	static const int64_t lives[] = { 1000, 10000, 100000 };
	static const int64_t frags[] = { 0, 50 };
	uint64_t seed = 0xbb67ae8584caa73bull;
	gb_bench *b;

	for (uint32_t i = 0; i < MH_RING; i++)
		mh_req[i] = mh_rand_size(&seed);
	atexit(mh_atexit);

	/* mode: 0 best fit, 1 bottom-up, 2 top-down (enum heap_mode). Runs of
	 * one live/frag are adjacent so the cached layout is built once. */
	b = gb_register("BM_heap_pair", bm_heap_pair, NULL);
	gb_bench_arg_names(b, names3, 3);
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 2; j++)
			for (int64_t m = HEAP_BEST_FIT; m <= HEAP_TOP_DOWN; m++) {
				int64_t a[3] = { lives[i], frags[j], m };
				gb_bench_args(b, a, 3);
			}

	/* The baseline has one policy: first fit in size order, which is best
	 * fit, so it compares with mode:0. */
	b = gb_register("BM_heap_baseline_pair", bm_heap_baseline_pair, NULL);
	gb_bench_arg_names(b, names3, 2);
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 2; j++) {
			int64_t a[2] = { lives[i], frags[j] };
			gb_bench_args(b, a, 2);
		}

	gb_add_context("micro_heap",
		       "pair = alloc (4 KiB..1 MiB, page aligned) + free of the same range; "
		       "frag:F = F% of the layout's ranges are holes; mode 0 best fit, "
		       "1 bottom-up, 2 top-down; baseline = size-sorted list (best fit)");
}
