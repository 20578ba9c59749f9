/* SPDX-License-Identifier: MIT */
/*
 * stats.c - log-linear latency histograms (see vidmm.h for the layout and its
 * error bound).
 *
 * Owns: bucket arithmetic, merging, quantiles. Must not: lock or allocate;
 * callers own their histograms (the manager's are under vm->lock, the
 * runner keeps one per thread and merges).
 */
#include <stdbool.h>
#include <string.h>

#include "vidmm.h"

#define SUB (1u << VIDMM_HIST_SUB_BITS)

void vidmm_hist_init(struct vidmm_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

uint32_t vidmm_hist_bucket(uint64_t v)
{
	if (v < SUB)
		return (uint32_t)v;
	uint32_t e = 63u - (uint32_t)__builtin_clzll(v);      /* e >= SUB_BITS */
	uint32_t sub = (uint32_t)(v >> (e - VIDMM_HIST_SUB_BITS)) & (SUB - 1);
	return (e - VIDMM_HIST_SUB_BITS + 1) * SUB + sub;
}

void vidmm_hist_bucket_range(uint32_t b, uint64_t *lo, uint64_t *hi)
{
	if (b < SUB) {
		*lo = *hi = b;
		return;
	}
	uint32_t e = b / SUB + VIDMM_HIST_SUB_BITS - 1, sub = b % SUB;
	uint64_t width = 1ull << (e - VIDMM_HIST_SUB_BITS);
	*lo = (1ull << e) + sub * width;
	*hi = *lo + width - 1;
}

void vidmm_hist_record(struct vidmm_hist *h, uint64_t ns)
{
	h->buckets[vidmm_hist_bucket(ns)]++;
	h->count++;
	h->sum += ns;
	if (ns < h->min)
		h->min = ns;
	if (ns > h->max)
		h->max = ns;
}

void vidmm_hist_sub(struct vidmm_hist *out, const struct vidmm_hist *a,
		    const struct vidmm_hist *b)
{
	/* out may be a or b: every field is read before it is written. */
	uint64_t count = a->count >= b->count ? a->count - b->count : 0;
	uint64_t sum = a->sum >= b->sum ? a->sum - b->sum : 0;
	uint64_t min = UINT64_MAX, max = 0;
	bool any = false;

	for (uint32_t i = 0; i < VIDMM_HIST_BUCKETS; i++) {
		out->buckets[i] = a->buckets[i] >= b->buckets[i] ? a->buckets[i] - b->buckets[i] : 0;
		if (!out->buckets[i])
			continue;
		/* min and max do not subtract: the bucket bounds stand in for
		 * them (within 1/32 of the true value). */
		uint64_t lo, hi;
		vidmm_hist_bucket_range(i, &lo, &hi);
		if (!any)
			min = lo;
		max = hi;
		any = true;
	}
	out->count = any ? count : 0;
	out->sum = any ? sum : 0;
	out->min = min;
	out->max = max;
}

void vidmm_hist_merge(struct vidmm_hist *into, const struct vidmm_hist *from)
{
	if (!from->count)
		return;
	for (uint32_t b = 0; b < VIDMM_HIST_BUCKETS; b++)
		into->buckets[b] += from->buckets[b];
	into->count += from->count;
	into->sum += from->sum;
	if (from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t vidmm_hist_quantile(const struct vidmm_hist *h, double q)
{
	if (!h->count)
		return 0;
	if (q <= 0)
		return h->min;
	if (q >= 1)
		return h->max;
	/* The rank of the sample at q (nearest-rank definition, 1-based). */
	uint64_t rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (uint32_t b = 0; b < VIDMM_HIST_BUCKETS; b++) {
		seen += h->buckets[b];
		if (seen >= rank) {
			uint64_t lo, hi;
			vidmm_hist_bucket_range(b, &lo, &hi);
			if (hi > h->max)
				hi = h->max;
			if (hi < h->min)
				hi = h->min;
			return hi;
		}
	}
	return h->max;
}
