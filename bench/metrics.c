/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - counters and histograms to JSON (see metrics.h).
 * Owns: key names of the "vidmm", "latency" and "histograms" objects of a
 * run (documented in bench/RESULTS.md). Must not: change a key's meaning -
 * readers compare files across versions.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

uint64_t metrics_seg_resident(const struct vidmm_segment_stats *s)
{
	uint64_t b = s->unpagable_bytes;

	for (int p = 0; p < VIDMM_PRIO_COUNT; p++)
		b += s->pagable_bytes[p];
	return b;
}

double metrics_fragmentation(const struct vidmm_segment_stats *s)
{
	if (!s->free)
		return 0.0;
	return 1.0 - (double)s->largest_free / (double)s->free;
}

json_t *metrics_stats_json(const struct vidmm_stats *st)
{
	json_t *o = json_object();

#define X(name, det) json_object_set_new(o, #name, json_integer((json_int_t)st->name));
	METRICS_STATS_FIELDS(X)
#undef X
	json_t *ev = json_array();
	for (int p = 0; p < VIDMM_PRIO_COUNT; p++)
		json_array_append_new(ev, json_integer((json_int_t)st->evictions_by_priority[p]));
	json_object_set_new(o, "evictions_by_priority", ev);
	json_object_set_new(o, "swap_ring_flags", json_integer(st->swap_ring_flags));
	json_object_set_new(o, "swap_io_mode", json_string(st->swap_io_mode));
	json_object_set_new(o, "swap_buffer_mode", json_string(st->swap_buffer_mode));
	json_t *segs = json_array();
	for (uint32_t i = 0; i < st->nsegments && i < VIDMM_MAX_SEGMENTS; i++) {
		const struct vidmm_segment_stats *s = &st->seg[i];
		json_array_append_new(segs, json_pack("{s:I,s:I,s:I,s:I,s:I}",
			"total", (json_int_t)s->total, "free", (json_int_t)s->free,
			"largest_free", (json_int_t)s->largest_free,
			"resident", (json_int_t)metrics_seg_resident(s),
			"driver_bytes", (json_int_t)s->driver_bytes));
	}
	json_object_set_new(o, "segments", segs);
	return o;
}

json_t *metrics_pct_json(const struct vidmm_hist *h)
{
	return json_pack("{s:I,s:f,s:I,s:I,s:I,s:I,s:I}",
		"count", (json_int_t)h->count,
		"mean_ns", h->count ? (double)h->sum / (double)h->count : 0.0,
		"p50_ns", (json_int_t)vidmm_hist_quantile(h, 0.50),
		"p90_ns", (json_int_t)vidmm_hist_quantile(h, 0.90),
		"p99_ns", (json_int_t)vidmm_hist_quantile(h, 0.99),
		"p999_ns", (json_int_t)vidmm_hist_quantile(h, 0.999),
		"max_ns", (json_int_t)(h->count ? h->max : 0));
}

json_t *metrics_hist_json(const struct vidmm_hist *h)
{
	json_t *b = json_array();

	for (uint32_t i = 0; i < VIDMM_HIST_BUCKETS; i++) {
		uint64_t lo, hi;
		if (!h->buckets[i])
			continue;
		vidmm_hist_bucket_range(i, &lo, &hi);
		json_array_append_new(b, json_pack("[I,I,I]", (json_int_t)lo, (json_int_t)hi,
						   (json_int_t)h->buckets[i]));
	}
	return json_pack("{s:I,s:I,s:I,s:I,s:o}", "count", (json_int_t)h->count,
			 "sum_ns", (json_int_t)h->sum, "min_ns", (json_int_t)(h->count ? h->min : 0),
			 "max_ns", (json_int_t)(h->count ? h->max : 0), "buckets", b);
}

#define PROFILE_U64(X) X(local_visible) X(local_invisible) X(pcie_snooped) X(pcie_unsnooped) \
	X(paging) X(sysmem) X(sysmem_reserve) X(swap)
#define PROFILE_U32(X) X(page_size) X(gart_entry_bytes) X(gart_levels) X(copy_engines) \
	X(tlb_entries)

json_t *metrics_profile_json(const struct vidmm_profile *p)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(p->name));
#define X(f) json_object_set_new(o, #f, json_integer((json_int_t)p->f));
	PROFILE_U64(X)
	PROFILE_U32(X)
#undef X
	json_object_set_new(o, "paging_snooped", json_boolean(p->paging_snooped));
	return o;
}

int metrics_profile_from_json(const json_t *o, struct vidmm_profile *p, char *err, size_t len)
{
	const json_t *v;

	memset(p, 0, sizeof(*p));
	v = json_object_get(o, "name");
	if (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof(p->name)) {
		snprintf(err, len, "profile.name: missing or not a string");
		return -EINVAL;
	}
	snprintf(p->name, sizeof(p->name), "%s", json_string_value(v));
#define X(f)                                                                        \
	v = json_object_get(o, #f);                                                 \
	if (!json_is_integer(v) || json_integer_value(v) < 0) {                     \
		snprintf(err, len, "profile." #f ": missing or not a non-negative integer"); \
		return -EINVAL;                                                     \
	}                                                                           \
	p->f = (__typeof__(p->f))json_integer_value(v);
	PROFILE_U64(X)
	PROFILE_U32(X)
#undef X
	v = json_object_get(o, "paging_snooped");
	if (!json_is_boolean(v)) {
		snprintf(err, len, "profile.paging_snooped: missing or not a boolean");
		return -EINVAL;
	}
	p->paging_snooped = json_is_true(v);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* P(B <= k) for B ~ Binomial(n, 1/2). */
static double binom_cdf_half(unsigned n, int k)
{
	double p = 0, c = 1; /* C(n, 0) */

	if (k < 0)
		return 0;
	for (int i = 0; i <= k && i <= (int)n; i++) {
		p += c;
		c = c * (double)(n - (unsigned)i) / (double)(i + 1);
	}
	return p * pow(0.5, (double)n);
}

void metrics_median_ci(const double *v, unsigned n, struct metrics_ci *out)
{
	memset(out, 0, sizeof(*out));
	if (!n)
		return;
	double *x = malloc(n * sizeof(*x));
	if (!x)
		return;
	memcpy(x, v, n * sizeof(*x));
	qsort(x, n, sizeof(*x), cmp_double);
	out->median = n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
	/* [x(k+1), x(n-k)] covers the median with P(k+1 <= B <= n-k-1). */
	unsigned best = 0;
	double cov = n > 1 ? 1.0 - 2.0 * pow(0.5, (double)n) : 0;
	for (unsigned k = 1; n >= 2 * k + 1; k++) {
		double c = binom_cdf_half(n, (int)(n - k - 1)) - binom_cdf_half(n, (int)k);
		if (c < 0.95)
			break;
		best = k;
		cov = c;
	}
	out->lo = x[best];
	out->hi = x[n - 1 - best];
	out->coverage = cov;
	free(x);
}
