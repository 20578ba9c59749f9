/* SPDX-License-Identifier: MIT */
/*
 * test_stats.c - the log-linear latency histograms of core/stats.c (the
 * vidmm_hist_* calls of vidmm.h): bucket arithmetic, merging of per-thread
 * histograms, and the accuracy of percentiles read from them.
 *
 * Owns: the HIST-MERGE and HIST-SUB cases. Must not: touch core/ internals or any other
 * test file; it sees the histograms only through vidmm.h, and needs no
 * manager or chip (histograms are plain caller-owned structs).
 *
 * The promise under test (vidmm.h): exact below 32, 32 linear sub-buckets
 * per power of two above, so a percentile read from a histogram is within
 * 1/32 of the true sample value; merging adds buckets, so merged per-thread
 * histograms answer exactly like one histogram of all samples.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>

#include "vt.h"
#include "core/vidmm.h"

#define NTHREADS 4

/* ---- sample generators ---------------------------------------------------- */

static double unit(struct vt_rng *r)
{
	/* 53 random bits -> (0, 1): never 0, so log() below is finite. */
	return ((double)(vt_rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(struct vt_rng *r)
{
	/* Box-Muller; one of the pair is enough here. */
	return sqrt(-2.0 * log(unit(r))) * cos(6.283185307179586 * unit(r));
}

static uint64_t clamp_u64(double v)
{
	if (!(v > 0))
		return 0;
	if (v >= 1.8e19)
		return UINT64_MAX;
	return (uint64_t)v;
}

enum dist { D_UNIFORM, D_LOGNORMAL, D_BIMODAL, D_SMALL, D_WIDE, D_COUNT };
static const char *const dist_name[D_COUNT] = {
	"uniform", "log-normal", "bimodal", "small (exact range)", "wide (powers of two)",
};

static uint64_t sample(enum dist d, struct vt_rng *r)
{
	switch (d) {
	case D_UNIFORM: /* a flat latency spread, 0 .. 1 ms */
		return vt_rng_below(r, 1000000);
	case D_LOGNORMAL: /* the usual latency shape: median ~22 us, long tail */
		return clamp_u64(exp(10.0 + 2.0 * normal(r)));
	case D_BIMODAL: /* fast path ~2 us vs slow path ~5 ms (e.g. hit vs page-in) */
		if (vt_rng_below(r, 2))
			return clamp_u64(2000.0 + 100.0 * normal(r));
		return clamp_u64(5e6 + 1e5 * normal(r));
	case D_SMALL: /* straddles the exact/log-linear boundary at 32 */
		return vt_rng_below(r, 80);
	case D_WIDE: /* bucket edges of every magnitude, up to the top bucket */
	default: {
		uint32_t e = (uint32_t)vt_rng_below(r, 64);
		uint64_t base = 1ull << e;
		switch (vt_rng_below(r, 4)) {
		case 0: return base;
		case 1: return base - 1;
		case 2: return e ? base + vt_rng_below(r, base) : base;
		default: return e == 63 ? UINT64_MAX : (base << 1) - 1;
		}
	}
	}
}

/* ---- per-thread recording -------------------------------------------------- */

struct rec_arg {
	const uint64_t *samples;
	size_t from, to;
	struct vidmm_hist h;
};

static void *record_thread(void *p)
{
	struct rec_arg *a = p;

	for (size_t i = a->from; i < a->to; i++)
		vidmm_hist_record(&a->h, a->samples[i]);
	return NULL;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* The exact nearest-rank percentile (the definition vidmm.h documents for
 * vidmm_hist_quantile: rank = ceil(q * n), at least 1). */
static uint64_t exact_quantile(const uint64_t *sorted, size_t n, double q)
{
	if (q <= 0)
		return sorted[0];
	if (q >= 1)
		return sorted[n - 1];
	uint64_t rank = (uint64_t)ceil(q * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

/* The bucket layout itself: every bucket maps back to itself, buckets tile
 * [0, UINT64_MAX] without gaps, and each is at most 1/32 of its low edge
 * wide - the root of the percentile error bound checked below. */
static void check_bucket_layout(void)
{
	uint64_t expect_lo = 0;

	for (uint32_t b = 0; b < VIDMM_HIST_BUCKETS; b++) {
		uint64_t lo, hi;
		vidmm_hist_bucket_range(b, &lo, &hi);
		if (lo != expect_lo)
			fail_msg("bucket %u starts at %" PRIu64 ", expected %" PRIu64, b, lo, expect_lo);
		assert_true(hi >= lo);
		assert_int_equal(vidmm_hist_bucket(lo), b);
		assert_int_equal(vidmm_hist_bucket(hi), b);
		if (lo < 32)
			assert_true(lo == hi); /* exact range */
		else if ((double)(hi - lo) > (double)lo / 32.0)
			fail_msg("bucket %u [%" PRIu64 ", %" PRIu64 "] wider than 1/32", b, lo, hi);
		if (b + 1 == VIDMM_HIST_BUCKETS)
			assert_true(hi == UINT64_MAX);
		else
			expect_lo = hi + 1;
	}
}

static void hist_equal(const struct vidmm_hist *a, const struct vidmm_hist *b, const char *what)
{
	if (a->count != b->count || a->sum != b->sum || a->min != b->min || a->max != b->max)
		fail_msg("%s: count/sum/min/max differ (%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64
			 " vs %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 ")", what,
			 a->count, a->sum, a->min, a->max, b->count, b->sum, b->min, b->max);
	for (uint32_t i = 0; i < VIDMM_HIST_BUCKETS; i++)
		if (a->buckets[i] != b->buckets[i])
			fail_msg("%s: bucket %u holds %" PRIu64 " vs %" PRIu64, what, i,
				 a->buckets[i], b->buckets[i]);
}

static const double quantiles[] = { 0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9,
				    0.95, 0.99, 0.999, 0.9999, 1.0 };
#define NQ (sizeof(quantiles) / sizeof(quantiles[0]))

static void one_distribution(enum dist d, uint64_t seed, size_t n)
{
	struct vt_rng r;
	uint64_t *s = malloc(n * sizeof(*s)), *sorted = malloc(n * sizeof(*s));
	struct rec_arg *args = calloc(NTHREADS, sizeof(*args));
	pthread_t th[NTHREADS];
	struct vidmm_hist *all = malloc(sizeof(*all)), *merged = malloc(sizeof(*merged));
	struct vidmm_hist *empty = malloc(sizeof(*empty));

	assert_non_null(s);
	assert_non_null(sorted);
	assert_non_null(args);
	assert_non_null(all);
	assert_non_null(merged);
	assert_non_null(empty);
	vt_rng_seed(&r, seed ^ ((uint64_t)d * 0x9e3779b97f4a7c15ull));
	for (size_t i = 0; i < n; i++)
		s[i] = sample(d, &r);

	/* One histogram of everything... */
	vidmm_hist_init(all);
	for (size_t i = 0; i < n; i++)
		vidmm_hist_record(all, s[i]);
	assert_int_equal(all->count, n);

	/* ...and the same samples recorded by threads in uneven slices (one
	 * thread may get none: merging an empty histogram must be harmless). */
	size_t cut[NTHREADS + 1];
	cut[0] = 0;
	cut[NTHREADS] = n;
	for (int t = 1; t < NTHREADS; t++)
		cut[t] = (size_t)vt_rng_below(&r, n + 1);
	qsort(cut + 1, NTHREADS - 1, sizeof(size_t), cmp_u64);
	if (d == D_SMALL)
		cut[2] = cut[1]; /* force an empty slice on one distribution */
	for (int t = 0; t < NTHREADS; t++) {
		args[t].samples = s;
		args[t].from = cut[t];
		args[t].to = cut[t + 1];
		vidmm_hist_init(&args[t].h);
		assert_int_equal(pthread_create(&th[t], NULL, record_thread, &args[t]), 0);
	}
	for (int t = 0; t < NTHREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);

	/* Merge into a fresh histogram, in reverse order, with an empty one
	 * merged in the middle. */
	vidmm_hist_init(merged);
	vidmm_hist_init(empty);
	for (int t = NTHREADS - 1; t >= 0; t--) {
		vidmm_hist_merge(merged, &args[t].h);
		if (t == NTHREADS / 2)
			vidmm_hist_merge(merged, empty);
	}
	char what[96];
	snprintf(what, sizeof(what), "%s: merged vs single", dist_name[d]);
	hist_equal(merged, all, what);

	/* Percentiles: merged == single, and within 1/32 of the exact value. */
	memcpy(sorted, s, n * sizeof(*s));
	qsort(sorted, n, sizeof(*sorted), cmp_u64);
	printf("  %-22s n=%zu", dist_name[d], n);
	for (size_t qi = 0; qi < NQ; qi++) {
		double q = quantiles[qi];
		uint64_t hm = vidmm_hist_quantile(merged, q), ha = vidmm_hist_quantile(all, q);
		uint64_t ex = exact_quantile(sorted, n, q);
		if (hm != ha)
			fail_msg("%s q=%g: merged %" PRIu64 " != single %" PRIu64, dist_name[d], q, hm, ha);
		double err = hm > ex ? (double)(hm - ex) : (double)(ex - hm);
		if (ex < 32 ? hm != ex : err > (double)ex / 32.0)
			fail_msg("%s q=%g: histogram says %" PRIu64 ", exact is %" PRIu64
				 " (relative error %.4f > 1/32)", dist_name[d], q, hm, ex,
				 ex ? err / (double)ex : err);
		if (q == 0.5 || q == 0.99)
			printf("  p%g=%" PRIu64 " (exact %" PRIu64 ")", q * 100, hm, ex);
	}
	printf("\n");
	/* min and max are exact, whatever the buckets. */
	assert_int_equal(vidmm_hist_quantile(merged, 0.0), sorted[0]);
	assert_int_equal(vidmm_hist_quantile(merged, 1.0), sorted[n - 1]);

	free(s);
	free(sorted);
	free(args);
	free(all);
	free(merged);
	free(empty);
}

static void hist_merge(void **state)
{
	uint64_t seed = vt_seed("HIST-MERGE");
	struct vidmm_hist *h = malloc(sizeof(*h));

	(void)state;
	assert_non_null(h);
	check_bucket_layout();

	/* An empty histogram answers 0 and merging it into another changes nothing. */
	vidmm_hist_init(h);
	assert_int_equal(vidmm_hist_quantile(h, 0.5), 0);

	for (enum dist d = 0; d < D_COUNT; d++) {
		one_distribution(d, seed, 200000);
		/* Small counts exercise the nearest-rank edge (rank 1, rank n). */
		one_distribution(d, seed + 1, 1 + (size_t)d);
		one_distribution(d, seed + 2, 37);
	}
	free(h);
}

/* A snapshot subtracted from a later one leaves exactly the samples between,
 * also when the result overwrites the later snapshot in place. */
static void hist_sub(void **state)
{
	struct vidmm_hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)),
			  *mid = malloc(sizeof(*mid)), *out = malloc(sizeof(*out));

	(void)state;
	assert_true(a && b && mid && out);
	vidmm_hist_init(b);
	vidmm_hist_init(mid);
	for (uint64_t v = 1; v < 5000; v += 7)
		vidmm_hist_record(b, v);
	*a = *b;
	for (uint64_t v = 100000; v < 200000; v += 997) {
		vidmm_hist_record(a, v);
		vidmm_hist_record(mid, v);
	}
	vidmm_hist_sub(out, a, b);
	assert_int_equal(out->count, mid->count);
	assert_int_equal(out->sum, mid->sum);
	assert_memory_equal(out->buckets, mid->buckets, sizeof(mid->buckets));
	/* min and max are the bounds of the end buckets: they cover the samples. */
	assert_true(out->min <= mid->min && out->max >= mid->max);
	assert_true(out->min > 5000);
	vidmm_hist_sub(a, a, b); /* in place */
	assert_int_equal(a->count, mid->count);
	assert_memory_equal(a->buckets, mid->buckets, sizeof(mid->buckets));
	vidmm_hist_sub(out, b, b); /* nothing between */
	assert_int_equal(out->count, 0);
	assert_int_equal(vidmm_hist_quantile(out, 0.5), 0);
	free(a);
	free(b);
	free(mid);
	free(out);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("HIST-MERGE", hist_merge),
		VT_CASE("HIST-SUB", hist_sub),
	};
	return VT_MAIN("stats", cases);
}
