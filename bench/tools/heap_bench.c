/* SPDX-License-Identifier: MIT */
/*
 * heap_bench.c - benchmark of the range allocator (core/heap.h) against the
 * original driver's algorithm (bench/tools/heap_baseline.h).
 *
 * Owns: the workloads (steady churn at N live allocations; churn in a 50%
 * checkerboard left by allocating 2N and freeing every other one), the
 * timing, and the verdict on the heap's performance targets.
 * Must not: reach into heap.c's internals, or time anything but alloc/free
 * pairs (set-up, random numbers and snapshots stay outside the clock).
 *
 * Two workloads, both at a fixed number N of live allocations (random sizes
 * 4 KiB .. 1 MiB, page multiples, page aligned):
 *  - pair: allocate one more node, then free it. The heap returns to the same
 *    state after every pair, so the layout measured is exactly the layout
 *    built: N live in steady state, or the 50% checkerboard.
 *  - churn: free a random live node, then allocate a new random size into its
 *    slot. Realistic turnover, and much harder on the caches: every pair
 *    touches a random, cold part of the trees. The checkerboard decays under
 *    churn, so it is rebuilt (untimed) every N/4 pairs.
 * Pairs run in batches timed with CLOCK_MONOTONIC; the figure reported is the
 * median over batches of ns per pair, with the 10th and 90th percentiles to
 * show the noise. The baseline runs the same workloads from the same layout.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_rng.h"
#include "core/heap.h"
#include "heap_baseline.h"
#include "heap_compare.h"

#define PAGE 4096ull
#define MAX_PAGES 256u        /* sizes 1..256 pages: 4 KiB .. 1 MiB */
#define AVG_BYTES (PAGE * (MAX_PAGES + 1) / 2)
#define HEAP_BASE (1ull << 30)
#define RING_BITS 14 /* 16K pairs, 96 KiB: small beside the trees in the caches */
#define RING (1u << RING_BITS)
#define MAX_BATCHES 401

static uint64_t rnd_size(struct rng *r)
{
	return PAGE * (1 + below32((uint32_t)rng_next(r), MAX_PAGES));
}

/*
 * The pair sequence, precomputed so that no random number is drawn inside a
 * timed batch: a slot draw (reduced modulo N at use) and a size per pair. The
 * ring is kept small so it does not crowd the heap out of the caches; churn
 * XORs the slot draws with a new salt on every lap, so successive laps free
 * different slots.
 */
static uint32_t ring_slot[RING];
static uint16_t ring_pages[RING];

static void ring_fill(uint64_t seed)
{
	struct rng r;

	rng_seed(&r, seed ^ 0x5eed);
	for (uint32_t i = 0; i < RING; i++) {
		uint64_t x = rng_next(&r);

		ring_slot[i] = (uint32_t)x;
		ring_pages[i] = (uint16_t)(1 + below32((uint32_t)(x >> 32), MAX_PAGES));
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "heap_bench: %s: %s\n", what, strerror(-err));
	exit(1);
}

/* One heap size for plain and checkerboard runs at the same N, so the only
 * difference between them is the layout: 2N average sizes plus half again. */
static uint64_t heap_size_for(size_t n)
{
	return 3 * (uint64_t)n * AVG_BYTES + 64 * (1ull << 20);
}

/* ---- workloads: "run count pairs", with an optional untimed rebuild ---- */

struct workload {
	void (*rebuild)(void *ctx); /* NULL: the state is stationary */
	void (*run)(void *ctx, size_t count);
	size_t round_pairs;         /* pairs before a rebuild is due */
	void *ctx;
};

struct ours {
	struct heap *h;
	struct heap_node *nodes; /* size 0: empty slot after a failed alloc */
	size_t n;
	enum heap_mode mode;
	uint32_t pos;
	uint32_t salt;
	uint64_t lap;
	uint64_t fails;
	uint64_t build_seed;
};

struct base {
	struct bl_heap *b;
	uint64_t *start, *size; /* slots, as ours.nodes */
	size_t n;
	uint32_t pos;
	uint32_t salt;
	uint64_t lap;
	uint64_t fails;
	uint64_t build_seed;
};

/* Next ring position; a new salt for the slot draws on every lap. */
static inline uint32_t ring_step(uint32_t pos, uint32_t *salt, uint64_t *lap)
{
	pos = (pos + 1) & (RING - 1);
	if (pos == 0)
		*salt = (uint32_t)splitmix(lap);
	return pos;
}

static void ours_pair(void *ctx, size_t count)
{
	struct ours *o = ctx;
	uint32_t pos = o->pos;
	struct heap_node t;

	for (size_t k = 0; k < count; k++, pos = (pos + 1) & (RING - 1)) {
		if (heap_alloc(o->h, &t, ring_pages[pos] * PAGE, PAGE, 0, UINT64_MAX, o->mode))
			o->fails++;
		else
			heap_free(o->h, &t);
	}
	o->pos = pos;
}

static void ours_churn(void *ctx, size_t count)
{
	struct ours *o = ctx;
	uint32_t pos = o->pos;

	for (size_t k = 0; k < count; k++, pos = ring_step(pos, &o->salt, &o->lap)) {
		struct heap_node *nd = &o->nodes[below32(ring_slot[pos] ^ o->salt, o->n)];

		if (nd->size)
			heap_free(o->h, nd);
		if (heap_alloc(o->h, nd, ring_pages[pos] * PAGE, PAGE, 0, UINT64_MAX, o->mode)) {
			nd->size = 0;
			o->fails++;
		}
	}
	o->pos = pos;
}

static void base_pair(void *ctx, size_t count)
{
	struct base *b = ctx;
	uint32_t pos = b->pos;
	uint64_t at;

	for (size_t k = 0; k < count; k++, pos = (pos + 1) & (RING - 1)) {
		uint64_t sz = ring_pages[pos] * PAGE;

		if (bl_alloc(b->b, sz, PAGE, &at))
			b->fails++;
		else
			bl_free(b->b, at, sz);
	}
	b->pos = pos;
}

static void base_churn(void *ctx, size_t count)
{
	struct base *b = ctx;
	uint32_t pos = b->pos;

	for (size_t k = 0; k < count; k++, pos = ring_step(pos, &b->salt, &b->lap)) {
		size_t i = below32(ring_slot[pos] ^ b->salt, b->n);
		uint64_t sz = ring_pages[pos] * PAGE;

		if (b->size[i])
			bl_free(b->b, b->start[i], b->size[i]);
		if (bl_alloc(b->b, sz, PAGE, &b->start[i])) {
			b->size[i] = 0;
			b->fails++;
		} else {
			b->size[i] = sz;
		}
	}
	b->pos = pos;
}

/* Allocate 2N (in the mode under test), free every other one: N live nodes,
 * each between two holes. */
static void ours_build_checkerboard(void *ctx)
{
	struct ours *o = ctx;
	struct heap_node *all;
	struct rng r;
	int ret;

	heap_destroy(o->h);
	ret = heap_create(HEAP_BASE, heap_size_for(o->n), &o->h);
	if (ret)
		die("heap_create", ret);
	all = malloc(2 * o->n * sizeof(*all));
	if (!all)
		die("malloc", -ENOMEM);
	rng_seed(&r, o->build_seed++);
	for (size_t i = 0; i < 2 * o->n; i++) {
		ret = heap_alloc(o->h, &all[i], rnd_size(&r), PAGE, 0, UINT64_MAX, o->mode);
		if (ret)
			die("checkerboard fill", ret);
	}
	for (size_t i = 0; i < o->n; i++) {
		o->nodes[i] = all[2 * i];
		heap_free(o->h, &all[2 * i + 1]);
	}
	free(all);
}

/* The same checkerboard for the baseline, laid out directly (2N sizes
 * packed from the heap's start, as first fit does on an empty heap: the
 * layout ours has in best-fit and bottom-up mode), loaded in one go rather
 * than paying the baseline's quadratic frees. */
static void base_build_checkerboard(void *ctx)
{
	struct base *b = ctx;
	uint64_t *hs = malloc(b->n * sizeof(*hs)), *hz = malloc(b->n * sizeof(*hz));
	uint64_t at = HEAP_BASE, end = HEAP_BASE + heap_size_for(b->n);
	struct rng r;
	int ret;

	if (!hs || !hz)
		die("malloc", -ENOMEM);
	rng_seed(&r, b->build_seed++);
	for (size_t i = 0; i < b->n; i++) {
		uint64_t live = rnd_size(&r), gap = rnd_size(&r);

		b->start[i] = at;
		b->size[i] = live;
		hs[i] = at + live;
		hz[i] = gap;
		at += live + gap;
	}
	hz[b->n - 1] = end - hs[b->n - 1]; /* the last gap joins the free tail */
	ret = bl_load(b->b, hs, hz, b->n);
	if (ret)
		die("bl_load", ret);
	free(hs);
	free(hz);
}

/* ---- timing ---- */

struct result {
	double median, p10, p90;
	size_t batches, per_batch;
	uint64_t holes; /* holes when measuring started */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct budget {
	double target_ns;  /* aim for batches this long */
	size_t min_batches, max_batches;
	double budget_ns;  /* stop adding batches (past the minimum) after this */
	double warm_ns;    /* untimed warm-up */
};

/*
 * Time batches of pairs: the batch size is calibrated so a batch takes about
 * target_ns (clock overhead negligible, yet short enough that the median
 * shrugs off preemption by other processes on this shared machine).
 */
static void measure(struct workload *w, const struct budget *bu, struct result *res)
{
	static double samples[MAX_BATCHES];
	size_t per = 1, nb = 0, used = 0, max_b = bu->max_batches;
	uint64_t t0 = 0, t1 = 0, start;
	double cost = 0;

	if (max_b > MAX_BATCHES)
		max_b = MAX_BATCHES;
	/*
	 * Warm up (a layout fresh from its build is cold in the caches) with
	 * batches that double until they take a quarter of the target, and take
	 * the cost per pair from the fastest of them: the fastest, so that a
	 * preemption during warm-up cannot make the timed batches absurdly
	 * short. Stays within a round where there is one.
	 */
	start = now_ns();
	for (int timed = 0; timed < 3 || (double)(now_ns() - start) < bu->warm_ns;) {
		if (used + per > w->round_pairs) {
			if (!w->rebuild)
				break;
			w->rebuild(w->ctx);
			used = 0;
			if (per > w->round_pairs / 8)
				per = w->round_pairs / 8 ? w->round_pairs / 8 : 1;
		}
		t0 = now_ns();
		w->run(w->ctx, per);
		t1 = now_ns();
		used += per;
		if (per >= 8 || t1 - t0 >= 2000) {
			double c = (double)(t1 - t0) / (double)per;

			if (!timed++ || c < cost)
				cost = c;
		}
		if ((double)(t1 - t0) < bu->target_ns / 4 && per < 65536)
			per *= 2;
		if ((double)(now_ns() - start) > 20 * bu->warm_ns + 1e9)
			break; /* a pathological machine: go with what we have */
	}
	{
		size_t want = cost > 0 ? (size_t)(bu->target_ns / cost) : 1;

		per = want < 1 ? 1 : want;
		/* A round must hold several batches. */
		if (w->round_pairs != SIZE_MAX && per > w->round_pairs / 8)
			per = w->round_pairs / 8 ? w->round_pairs / 8 : 1;
	}
	if (w->rebuild) {
		/* Start the timed rounds from a fresh layout, warmed as above. */
		w->rebuild(w->ctx);
		used = 0;
		start = now_ns();
		while ((double)(now_ns() - start) < bu->warm_ns && used + per <= w->round_pairs / 2) {
			w->run(w->ctx, per);
			used += per;
		}
	}
	start = now_ns();
	while (nb < max_b && (nb < bu->min_batches || (double)(now_ns() - start) < bu->budget_ns)) {
		if (w->rebuild && used + per > w->round_pairs) {
			w->rebuild(w->ctx);
			used = 0;
		}
		t0 = now_ns();
		w->run(w->ctx, per);
		t1 = now_ns();
		used += per;
		samples[nb++] = (double)(t1 - t0) / (double)per;
	}
	qsort(samples, nb, sizeof(samples[0]), cmp_double);
	res->median = samples[nb / 2];
	res->p10 = samples[nb / 10];
	res->p90 = samples[nb * 9 / 10];
	res->batches = nb;
	res->per_batch = per;
}

/* ---- the scenarios ---- */

enum layout { PLAIN, CHECKER };
enum who { BEST, BOTTOM, TOP, BASE, NWHO };
enum wl { PAIR, CHURN, NWL };

static const char *const who_name[NWHO] = { "best-fit", "bottom-up", "top-down", "baseline" };
static const char *const layout_name[] = { "steady", "checkerboard" };
static const char *const wl_name[NWL] = { "pair", "churn" };

struct opts {
	bool quick;
	uint64_t seed;
	struct budget ours, base;
};

struct snapshot {
	uint64_t *hs, *hz;
	size_t nh, cap;
};

static int snap_hole(void *arg, uint64_t start, uint64_t size)
{
	struct snapshot *s = arg;

	if (s->nh == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->hs = realloc(s->hs, s->cap * sizeof(*s->hs));
		s->hz = realloc(s->hz, s->cap * sizeof(*s->hz));
		if (!s->hs || !s->hz)
			die("realloc", -ENOMEM);
	}
	s->hs[s->nh] = start;
	s->hz[s->nh] = size;
	s->nh++;
	return 0;
}

static void print_row(enum who who, size_t n, enum layout lay, const struct result r[NWL],
		      uint64_t fails)
{
	printf("  %-9s N=%-6zu %-12s holes %-7" PRIu64 " pair %8.1f ns (p10 %8.1f p90 %8.1f, %3zux%-5zu)"
	       "  churn %9.1f ns (p10 %9.1f p90 %9.1f, %3zux%-5zu)%s\n",
	       who_name[who], n, layout_name[lay], r[PAIR].holes, r[PAIR].median, r[PAIR].p10,
	       r[PAIR].p90, r[PAIR].batches, r[PAIR].per_batch, r[CHURN].median, r[CHURN].p10,
	       r[CHURN].p90, r[CHURN].batches, r[CHURN].per_batch,
	       fails ? "  (some allocations failed)" : "");
	fflush(stdout);
}

/*
 * One layout at one N in one mode: build it, time pairs (stationary), then
 * churn. For best fit, the baseline gets the same layout: the exact holes
 * and live nodes in steady state, the same checkerboard otherwise.
 */
static void run_scenario(const struct opts *o, size_t n, enum heap_mode mode, enum layout lay,
			 struct result res[NWL], struct result base_res[NWL])
{
	struct ours ou = { 0 };
	struct workload w = { NULL, ours_pair, SIZE_MAX, &ou };
	struct snapshot snap = { 0 };
	struct heap_stats st;
	struct rng r;
	int ret;

	ou.n = n;
	ou.mode = mode;
	ou.nodes = calloc(n, sizeof(*ou.nodes));
	if (!ou.nodes)
		die("calloc", -ENOMEM);
	ou.pos = (uint32_t)(o->seed % RING);
	ou.build_seed = o->seed * 31 + n;
	if (lay == PLAIN) {
		ret = heap_create(HEAP_BASE, heap_size_for(n), &ou.h);
		if (ret)
			die("heap_create", ret);
		rng_seed(&r, o->seed + n);
		for (size_t i = 0; i < n; i++) {
			ret = heap_alloc(ou.h, &ou.nodes[i], rnd_size(&r), PAGE, 0, UINT64_MAX, mode);
			if (ret)
				die("fill", ret);
		}
		ours_churn(&ou, 2 * n); /* from one big hole to a steady state */
		if (base_res)
			heap_for_each_hole(ou.h, snap_hole, &snap);
	} else {
		ours_build_checkerboard(&ou);
	}
	heap_query(ou.h, &st);
	res[PAIR].holes = st.holes;
	measure(&w, &o->ours, &res[PAIR]);
	w.run = ours_churn;
	if (lay == CHECKER) {
		w.rebuild = ours_build_checkerboard;
		w.round_pairs = n / 4;
	}
	res[CHURN].holes = st.holes;
	measure(&w, &o->ours, &res[CHURN]);
	print_row((enum who)mode, n, lay, res, ou.fails);

	if (base_res) {
		struct base b = { 0 };
		struct workload bw = { NULL, base_pair, SIZE_MAX, &b };

		b.n = n;
		b.start = malloc(n * sizeof(*b.start));
		b.size = malloc(n * sizeof(*b.size));
		if (!b.start || !b.size)
			die("malloc", -ENOMEM);
		ret = bl_create(HEAP_BASE, heap_size_for(n), &b.b);
		if (ret)
			die("bl_create", ret);
		b.pos = ou.pos;
		b.salt = ou.salt;
		b.lap = ou.lap;
		b.build_seed = o->seed * 31 + n;
		if (lay == PLAIN) {
			/* ours' state before its timed runs: snapshot and nodes
			 * as they were (pairs leave the nodes unchanged, and
			 * churn is replayed below from ours' slots) */
			ret = bl_load(b.b, snap.hs, snap.hz, snap.nh);
			if (ret)
				die("bl_load", ret);
		} else {
			base_build_checkerboard(&b);
		}
		base_res[PAIR].holes = bl_blocks(b.b);
		measure(&bw, &o->base, &base_res[PAIR]);
		bw.run = base_churn;
		if (lay == PLAIN) {
			/* churn needs the live slots: take ours' current ones and
			 * the holes that go with them */
			snap.nh = 0;
			heap_for_each_hole(ou.h, snap_hole, &snap);
			for (size_t i = 0; i < n; i++) {
				b.start[i] = ou.nodes[i].start;
				b.size[i] = ou.nodes[i].size;
			}
			ret = bl_load(b.b, snap.hs, snap.hz, snap.nh);
			if (ret)
				die("bl_load", ret);
		} else {
			bw.rebuild = base_build_checkerboard;
			bw.round_pairs = n / 4;
		}
		base_res[CHURN].holes = bl_blocks(b.b);
		measure(&bw, &o->base, &base_res[CHURN]);
		print_row(BASE, n, lay, base_res, b.fails);
		bl_destroy(b.b);
		free(b.start);
		free(b.size);
	}
	free(snap.hs);
	free(snap.hz);
	heap_destroy(ou.h);
	free(ou.nodes);
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s [--quick] [--seed N] [--only modes|compare] [--help]\n"
		"\n"
		"Times the vidmm heap (best fit, bottom-up, top-down) and the original\n"
		"driver's size-sorted free list at 1k, 10k and 100k live allocations\n"
		"(random 4 KiB..1 MiB page multiples), in steady state and in a 50%%\n"
		"checkerboard (2N allocated, every other one freed), with two workloads:\n"
		"  pair   allocate one node and free it again (the layout stays as built)\n"
		"  churn  free a random live node, allocate a new one in its slot\n"
		"Reports the median ns per alloc+free over timed batches and checks the\n"
		"heap's targets (\"modes\").\n"
		"\n"
		"Then (\"compare\") times best fit beside the heap it replaced and a\n"
		"reference segregated-fit allocator (TLSF family: two-level bitmap, good\n"
		"fit, O(1)) on identical sequences in interleaved rounds: pairs in steady\n"
		"state, in a 50%% checkerboard and at a fixed 64 KiB, and random churn, at\n"
		"1k, 10k and 100k live (log-uniform 4 KiB..1 MiB); then the quality test\n"
		"(utilization and free blocks at the first failure, 4 GiB, 4 KiB..8 MiB)\n"
		"and metadata per live allocation.\n"
		"\n"
		"  --quick    a few seconds: fewer batches (CI smoke run)\n"
		"  --seed N   random seed (default: fixed, printed)\n"
		"  --only S   run one section: modes or compare\n"
		"  --help     this text\n"
		"\n"
		"Exit status: 0 ok (targets are reported, not enforced), 2 bad usage.\n",
		argv0);
}

static const char *verdict(bool ok)
{
	return ok ? "met" : "NOT MET";
}

/* The original section: every mode, and the original driver's list. */
static void run_modes(const struct opts *po)
{
	static const size_t sizes[] = { 1000, 10000, 100000 };
	enum { NS = 3 };
	/* [size][layout][who][workload] */
	static struct result r[NS][2][NWHO][NWL];
	const struct opts o = *po;

	printf("metadata: %zu B per allocation (struct heap_node, in the caller's descriptor), "
	       "%zu B per hole (heap_hole_bytes); baseline %zu B per free block\n",
	       sizeof(struct heap_node), heap_hole_bytes(), bl_block_bytes());
	printf("median ns per alloc+free over timed batches (p10, p90, batches x pairs per batch)\n\n");

	for (int i = 0; i < NS; i++)
		for (int lay = PLAIN; lay <= CHECKER; lay++) {
			for (int m = 0; m < 3; m++)
				run_scenario(&o, sizes[i], (enum heap_mode)m, (enum layout)lay,
					     r[i][lay][m], m == HEAP_BEST_FIT ? r[i][lay][BASE] : NULL);
			printf("\n");
		}

	printf("summary: median ns per alloc+free\n");
	printf("  %-7s %-10s %9s %9s %7s %9s %9s %7s\n", "N", "", "pair", "pair-cb", "cb/st",
	       "churn", "churn-cb", "cb/st");
	for (int i = 0; i < NS; i++)
		for (int w = 0; w < NWHO; w++) {
			const struct result *p = r[i][PLAIN][w], *q = r[i][CHECKER][w];

			printf("  %-7zu %-10s %9.1f %9.1f %7.2f %9.1f %9.1f %7.2f\n", sizes[i], who_name[w],
			       p[PAIR].median, q[PAIR].median, q[PAIR].median / p[PAIR].median,
			       p[CHURN].median, q[CHURN].median, q[CHURN].median / p[CHURN].median);
		}

	printf("\ntargets (pair = the layout stays as built; churn = random turnover, informational)\n");
	for (int w = PAIR; w < NWL; w++)
		for (int m = 0; m < 3; m++) {
			double v = r[NS - 1][PLAIN][m][w].median;

			printf("  %-5s %-9s <= 150 ns median at 100k live:            %9.1f ns  %s\n",
			       wl_name[w], who_name[m], v, verdict(v <= 150.0));
		}
	for (int w = PAIR; w < NWL; w++)
		for (int m = 0; m < 3; m++)
			for (int i = 0; i < NS; i++) {
				double v = r[i][CHECKER][m][w].median / r[i][PLAIN][m][w].median;

				printf("  %-5s %-9s checkerboard(2N->N) / steady(N) <= 2.5, N=%-6zu: %5.2f  %s\n",
				       wl_name[w], who_name[m], sizes[i], v, verdict(v <= 2.5));
			}
	for (int w = PAIR; w < NWL; w++)
		for (int lay = PLAIN; lay <= CHECKER; lay++) {
			double v = r[NS - 1][lay][BASE][w].median / r[NS - 1][lay][BEST][w].median;

			printf("  %-5s best-fit >= 50x faster than baseline at 100k live, %-12s: %7.0fx  %s\n",
			       wl_name[w], layout_name[lay], v, verdict(v >= 50.0));
		}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "seed", required_argument, NULL, 's' },
		{ "only", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = {
		.seed = 20240601,
		.ours = { 50e3, 101, 301, 0.3e9, 0.05e9 },
		.base = { 1e6, 15, 201, 1.2e9, 0.05e9 },
	};
	uint64_t t_start = now_ns();
	bool do_modes = true, do_compare = true;
	int c;

	while ((c = getopt_long(argc, argv, "qs:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			o.quick = true;
			break;
		case 's': {
			char *end;

			errno = 0;
			o.seed = strtoull(optarg, &end, 0);
			if (errno || !*optarg || *end) {
				fprintf(stderr, "heap_bench: bad seed '%s'\n", optarg);
				return 2;
			}
			break;
		}
		case 'o':
			if (!strcmp(optarg, "modes")) {
				do_compare = false;
			} else if (!strcmp(optarg, "compare")) {
				do_modes = false;
			} else {
				fprintf(stderr, "heap_bench: --only takes modes or compare, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "heap_bench: unexpected argument '%s'\n", argv[optind]);
		usage(stderr, argv[0]);
		return 2;
	}
	if (o.quick) {
		o.ours = (struct budget){ 50e3, 21, 41, 0.02e9, 0.01e9 };
		o.base = (struct budget){ 1e6, 5, 41, 0.1e9, 0.01e9 };
	}
	ring_fill(o.seed);

	printf("heap_bench: seed=%" PRIu64 "%s\n", o.seed, o.quick ? " (quick)" : "");
	if (do_modes)
		run_modes(&o);
	if (do_compare)
		(void)heap_compare_run(o.seed, o.quick);
	printf("\ntotal %.1f s\n", (double)(now_ns() - t_start) / 1e9);
	return 0;
}
