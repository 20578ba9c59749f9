/* SPDX-License-Identifier: MIT */
/*
 * heap_bench.c - benchmark of the range allocator (core/heap.h) against the
 * original driver's algorithm (bench/heap_baseline.h).
 *
 * Owns: the workloads (steady churn at N live allocations; churn in a 50%
 * checkerboard left by allocating 2N and freeing every other one), the
 * timing, and the verdict on the heap's performance targets.
 * Must not: reach into heap.c's internals, or time anything but alloc/free
 * pairs (set-up, random numbers and snapshots stay outside the clock).
 *
 * A "pair" is one heap_free of a random live slot followed by one heap_alloc
 * of a random size (4 KiB .. 1 MiB, page multiples, page aligned) into that
 * slot, so the number of live allocations stays at N. Pairs run in batches
 * timed with CLOCK_MONOTONIC; the figure reported is the median over batches
 * of ns per pair, with the 10th and 90th percentiles to show the noise.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/heap.h"
#include "heap_baseline.h"

#define PAGE 4096ull
#define MAX_PAGES 256u        /* sizes 1..256 pages: 4 KiB .. 1 MiB */
#define AVG_BYTES (PAGE * (MAX_PAGES + 1) / 2)
#define HEAP_BASE (1ull << 30)
#define RING_BITS 20
#define RING (1u << RING_BITS)
#define MAX_BATCHES 401

/* ---- random numbers (xoshiro256**, splitmix64-seeded) ---- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

static inline uint32_t below32(uint32_t r, size_t n)
{
	return (uint32_t)(((uint64_t)r * n) >> 32);
}

static uint64_t rnd_size(struct rng *r)
{
	return PAGE * (1 + below32((uint32_t)rng_next(r), MAX_PAGES));
}

/*
 * The pair sequence, precomputed so that no random number is drawn inside a
 * timed batch: a slot draw (reduced modulo N at use) and a size per pair.
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

/* ---- the workloads, as a generic "run count pairs" with optional rebuild ---- */

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
	uint64_t fails;
	/* checkerboard */
	uint64_t build_seed;
	uint64_t holes_sum, holes_samples;
};

struct base {
	struct bl_heap *b;
	uint64_t *start, *size;
	size_t n;
	uint32_t pos;
	uint64_t fails;
	uint64_t build_seed;
	uint64_t holes_sum, holes_samples;
};

static void ours_run(void *ctx, size_t count)
{
	struct ours *o = ctx;
	uint32_t pos = o->pos;

	for (size_t k = 0; k < count; k++, pos = (pos + 1) & (RING - 1)) {
		struct heap_node *nd = &o->nodes[below32(ring_slot[pos], o->n)];

		if (nd->size)
			heap_free(o->h, nd);
		if (heap_alloc(o->h, nd, ring_pages[pos] * PAGE, PAGE, 0, UINT64_MAX, o->mode)) {
			nd->size = 0;
			o->fails++;
		}
	}
	o->pos = pos;
}

static void base_run(void *ctx, size_t count)
{
	struct base *b = ctx;
	uint32_t pos = b->pos;

	for (size_t k = 0; k < count; k++, pos = (pos + 1) & (RING - 1)) {
		size_t i = below32(ring_slot[pos], b->n);
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
static void ours_rebuild_checkerboard(void *ctx)
{
	struct ours *o = ctx;
	struct heap_node *all;
	struct heap_stats st;
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
	heap_query(o->h, &st);
	o->holes_sum += st.holes;
	o->holes_samples++;
}

/* The same checkerboard for the baseline, laid out directly (2N sizes
 * packed from the heap's start, as its first fit does on an empty heap),
 * loaded in one go rather than paying its quadratic frees. */
static void base_rebuild_checkerboard(void *ctx)
{
	struct base *b = ctx;
	uint64_t *hs = malloc((b->n + 1) * sizeof(*hs)), *hz = malloc((b->n + 1) * sizeof(*hz));
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
	/* The last gap joins the free tail. */
	hz[b->n - 1] = end - hs[b->n - 1];
	ret = bl_load(b->b, hs, hz, b->n);
	if (ret)
		die("bl_load", ret);
	free(hs);
	free(hz);
	b->holes_sum += bl_blocks(b->b);
	b->holes_samples++;
}

struct result {
	double median, p10, p90;
	size_t batches, per_batch;
	double holes; /* average number of holes while measured */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Time batches of pairs: per_batch is calibrated so a batch takes about
 * target_ns (clock overhead negligible); at least min_batches, at most
 * max_batches, and no more once budget_ns has been spent.
 */
static void measure(struct workload *w, double target_ns, size_t min_batches,
		    size_t max_batches, double budget_ns, struct result *res)
{
	static double samples[MAX_BATCHES];
	size_t per = 1, nb = 0, used = 0;
	uint64_t t0 = 0, t1 = 0, start;

	if (max_batches > MAX_BATCHES)
		max_batches = MAX_BATCHES;
	if (w->rebuild)
		w->rebuild(w->ctx);
	/* Calibrate: double the batch until it takes target/4. */
	for (;;) {
		if (used + per > w->round_pairs)
			break;
		t0 = now_ns();
		w->run(w->ctx, per);
		t1 = now_ns();
		used += per;
		if ((double)(t1 - t0) >= target_ns / 4 || per >= 65536)
			break;
		per *= 2;
	}
	{
		double cost = (double)(t1 - t0) / (double)per;
		size_t want = cost > 0 ? (size_t)(target_ns / cost) : 1;

		per = want < 1 ? 1 : want;
		/* A round must hold several batches. */
		if (w->round_pairs != SIZE_MAX && per > w->round_pairs / 8)
			per = w->round_pairs / 8 ? w->round_pairs / 8 : 1;
	}
	if (w->rebuild) {
		w->rebuild(w->ctx);
		used = 0;
	}
	start = now_ns();
	while (nb < max_batches && (nb < min_batches || (double)(now_ns() - start) < budget_ns)) {
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

/* ---- the runs ---- */

struct opts {
	bool quick;
	uint64_t seed;
	size_t min_batches, max_batches;
	double target_ns, budget_ours_ns, budget_base_ns;
};

static const char *const mode_name[] = { "best-fit", "bottom-up", "top-down" };

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

static void print_result(const char *who, const char *layout, size_t n, const struct result *r,
			 uint64_t fails)
{
	printf("  %-10s %-12s N=%-7zu %9.1f ns/pair  (p10 %9.1f, p90 %9.1f)  holes~%-8.0f %zu x %zu pairs%s\n",
	       who, layout, n, r->median, r->p10, r->p90, r->holes, r->batches, r->per_batch,
	       fails ? "  (some allocs failed!)" : "");
	fflush(stdout);
}

/* Steady churn at N live: fill, churn N pairs untimed, then measure. For
 * best fit, hand the exact state to the baseline and measure it there too. */
static void run_plain(const struct opts *o, size_t n, enum heap_mode mode,
		      struct result *res, struct result *base_res)
{
	struct ours ou = { 0 };
	struct workload w = { NULL, ours_run, SIZE_MAX, &ou };
	struct heap_stats st;
	struct rng r;
	int ret;

	ou.n = n;
	ou.mode = mode;
	ou.nodes = calloc(n, sizeof(*ou.nodes));
	if (!ou.nodes)
		die("calloc", -ENOMEM);
	ret = heap_create(HEAP_BASE, heap_size_for(n), &ou.h);
	if (ret)
		die("heap_create", ret);
	rng_seed(&r, o->seed + n);
	for (size_t i = 0; i < n; i++) {
		ret = heap_alloc(ou.h, &ou.nodes[i], rnd_size(&r), PAGE, 0, UINT64_MAX, mode);
		if (ret)
			die("fill", ret);
	}
	ou.pos = (uint32_t)(o->seed % RING);
	ours_run(&ou, n < 100000 ? 2 * n : n); /* reach a steady state */
	measure(&w, o->target_ns, o->min_batches, o->max_batches, o->budget_ours_ns, res);
	heap_query(ou.h, &st);
	res->holes = (double)st.holes;
	print_result("ours", mode_name[mode], n, res, ou.fails);

	if (base_res) {
		struct base b = { 0 };
		struct workload bw = { NULL, base_run, SIZE_MAX, &b };
		struct snapshot s = { 0 };

		heap_for_each_hole(ou.h, snap_hole, &s);
		b.n = n;
		b.start = malloc(n * sizeof(*b.start));
		b.size = malloc(n * sizeof(*b.size));
		if (!b.start || !b.size)
			die("malloc", -ENOMEM);
		for (size_t i = 0; i < n; i++) {
			b.start[i] = ou.nodes[i].start;
			b.size[i] = ou.nodes[i].size;
		}
		ret = bl_create(HEAP_BASE, heap_size_for(n), &b.b);
		if (!ret)
			ret = bl_load(b.b, s.hs, s.hz, s.nh);
		if (ret)
			die("baseline set-up", ret);
		b.pos = ou.pos;
		measure(&bw, o->target_ns * 10, o->min_batches / 4 + 1, o->max_batches,
			o->budget_base_ns, base_res);
		base_res->holes = (double)bl_blocks(b.b);
		print_result("baseline", "size-list", n, base_res, b.fails);
		bl_destroy(b.b);
		free(b.start);
		free(b.size);
		free(s.hs);
		free(s.hz);
	}
	heap_destroy(ou.h);
	free(ou.nodes);
}

/* Churn in a 50% checkerboard: 2N allocated, every other one freed; a round
 * of at most N/4 pairs, then the checkerboard is rebuilt, so the layout
 * measured stays close to the checkerboard. */
static void run_checkerboard(const struct opts *o, size_t n, enum heap_mode mode,
			     struct result *res, struct result *base_res)
{
	struct ours ou = { 0 };
	struct workload w = { ours_rebuild_checkerboard, ours_run, n / 4, &ou };

	ou.n = n;
	ou.mode = mode;
	ou.nodes = calloc(n, sizeof(*ou.nodes));
	if (!ou.nodes)
		die("calloc", -ENOMEM);
	ou.build_seed = o->seed * 31 + n;
	ou.pos = (uint32_t)((o->seed * 7) % RING);
	measure(&w, o->target_ns, o->min_batches, o->max_batches, o->budget_ours_ns, res);
	res->holes = (double)ou.holes_sum / (double)ou.holes_samples;
	print_result("ours", mode_name[mode], n, res, ou.fails);
	heap_destroy(ou.h);
	free(ou.nodes);

	if (base_res) {
		struct base b = { 0 };
		struct workload bw = { base_rebuild_checkerboard, base_run, n / 4, &b };
		int ret;

		b.n = n;
		b.start = malloc(n * sizeof(*b.start));
		b.size = malloc(n * sizeof(*b.size));
		if (!b.start || !b.size)
			die("malloc", -ENOMEM);
		ret = bl_create(HEAP_BASE, heap_size_for(n), &b.b);
		if (ret)
			die("bl_create", ret);
		b.build_seed = o->seed * 31 + n;
		b.pos = (uint32_t)((o->seed * 7) % RING);
		measure(&bw, o->target_ns * 10, o->min_batches / 4 + 1, o->max_batches,
			o->budget_base_ns, base_res);
		base_res->holes = (double)b.holes_sum / (double)b.holes_samples;
		print_result("baseline", "size-list", n, base_res, b.fails);
		bl_destroy(b.b);
		free(b.start);
		free(b.size);
	}
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s [--quick] [--seed N] [--help]\n"
		"\n"
		"Times alloc+free pairs of the vidmm heap (best fit, bottom-up, top-down)\n"
		"and of the original driver's size-sorted free list, at 1k, 10k and 100k\n"
		"live allocations (random 4 KiB..1 MiB page multiples), in steady churn and\n"
		"in a 50%% checkerboard (2N allocated, every other one freed). Reports the\n"
		"median ns per pair over timed batches and checks the heap's targets.\n"
		"\n"
		"  --quick    a few seconds: fewer batches (CI smoke run)\n"
		"  --seed N   random seed (default: fixed, printed)\n"
		"  --help     this text\n"
		"\n"
		"Exit status: 0 ok (targets are reported, not enforced), 2 bad usage.\n",
		argv0);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const size_t sizes[] = { 1000, 10000, 100000 };
	enum { NS = 3 };
	struct opts o = { false, 20240601, 101, 401, 50e3, 0.25e9, 2.0e9 };
	struct result plain[NS][3], frag[NS][3], bplain[NS], bfrag[NS];
	uint64_t t_start = now_ns();
	int c;
	bool ok;

	while ((c = getopt_long(argc, argv, "qs:h", longopts, NULL)) != -1) {
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
		o.min_batches = 21;
		o.max_batches = 41;
		o.budget_ours_ns = 0.02e9;
		o.budget_base_ns = 0.15e9;
	}
	ring_fill(o.seed);

	printf("heap_bench: seed=%" PRIu64 "%s\n", o.seed, o.quick ? " (quick)" : "");
	printf("metadata: %zu B per allocation (struct heap_node, in the caller's descriptor), "
	       "%zu B per hole (heap_hole_bytes); baseline %zu B per free block\n",
	       sizeof(struct heap_node), heap_hole_bytes(), bl_block_bytes());
	printf("pair = free a random live slot + alloc 4 KiB..1 MiB (page multiple, page aligned) "
	       "into it; median over batches\n\n");

	for (int i = 0; i < NS; i++) {
		printf("N=%zu live, steady churn\n", sizes[i]);
		for (int m = 0; m < 3; m++)
			run_plain(&o, sizes[i], (enum heap_mode)m, &plain[i][m],
				  m == HEAP_BEST_FIT ? &bplain[i] : NULL);
		printf("N=%zu live, 50%% checkerboard (2N allocated, every other freed)\n", sizes[i]);
		for (int m = 0; m < 3; m++)
			run_checkerboard(&o, sizes[i], (enum heap_mode)m, &frag[i][m],
					 m == HEAP_BEST_FIT ? &bfrag[i] : NULL);
		printf("\n");
	}

	printf("summary (median ns per alloc+free pair; baseline and speedup vs best fit)\n");
	printf("  %-7s %-10s %9s %12s %6s %12s %12s %9s %9s\n", "N", "mode", "plain", "checkerboard",
	       "ratio", "base plain", "base checker", "x plain", "x checker");
	for (int i = 0; i < NS; i++)
		for (int m = 0; m < 3; m++) {
			printf("  %-7zu %-10s %9.1f %12.1f %6.2f", sizes[i], mode_name[m],
			       plain[i][m].median, frag[i][m].median,
			       frag[i][m].median / plain[i][m].median);
			if (m == HEAP_BEST_FIT)
				printf(" %12.0f %12.0f %8.0fx %8.0fx", bplain[i].median, bfrag[i].median,
				       bplain[i].median / plain[i][m].median,
				       bfrag[i].median / frag[i][m].median);
			printf("\n");
		}

	printf("\ntargets\n");
	for (int m = 0; m < 3; m++) {
		ok = plain[NS - 1][m].median <= 150.0;
		printf("  pair <= 150 ns median at 100k live, %-9s: %7.1f ns    %s\n", mode_name[m],
		       plain[NS - 1][m].median, ok ? "met" : "NOT MET");
	}
	for (int m = 0; m < 3; m++)
		for (int i = 0; i < NS; i++) {
			double ratio = frag[i][m].median / plain[i][m].median;

			printf("  checkerboard(2N, 50%%) / plain(N) <= 2.5, %-9s N=%-6zu: %5.2f  %s\n",
			       mode_name[m], sizes[i], ratio, ratio <= 2.5 ? "met" : "NOT MET");
		}
	ok = bplain[NS - 1].median / plain[NS - 1][HEAP_BEST_FIT].median >= 50.0;
	printf("  >= 50x faster than baseline at 100k live (steady churn, best fit): %.0fx  %s\n",
	       bplain[NS - 1].median / plain[NS - 1][HEAP_BEST_FIT].median, ok ? "met" : "NOT MET");
	ok = bfrag[NS - 1].median / frag[NS - 1][HEAP_BEST_FIT].median >= 50.0;
	printf("  >= 50x faster than baseline at 100k live (checkerboard, best fit): %.0fx  %s\n",
	       bfrag[NS - 1].median / frag[NS - 1][HEAP_BEST_FIT].median, ok ? "met" : "NOT MET");
	printf("\ntotal %.1f s\n", (double)(now_ns() - t_start) / 1e9);
	return 0;
}
