/* SPDX-License-Identifier: MIT */
/*
 * test_heap_vs_old.c - the size-class heap (core/heap.c) against the heap it
 * replaced (bench/tools/heap_old.c, two red-black trees), in best-fit mode.
 *
 * Owns: HEAP-VS-OLD: 10^6 random operations on both heaps side by side; every
 * allocation must succeed or fail on both, at the same address, and the
 * holes, the largest hole and the free extents must stay identical.
 * Must not: reach into either heap's internals (heap_footprint's flags say
 * only which of the new heap's indexes exist, so that the test can show it
 * exercised the path without the address index).
 *
 * Two heaps are driven, so both of the new heap's modes are compared:
 *  - "fast": unrestricted best fit with no or page alignment, the way every
 *    segment uses the heap; the new heap must never build its address index;
 *  - "full": best fit with alignments up to 1 MiB and some range-restricted
 *    requests, which make it build the index and walk both orders.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>

#include "vt.h"
#include "core/heap.h"
#include "bench/tools/heap_old.h"

#define PAGE 4096ull

struct pair {
	struct heap *h;
	struct old_heap *o;
	struct heap_node *nn, *on; /* live nodes, same index on both */
	size_t nlive, cap;
};

struct hl_list {
	uint64_t *v;
	size_t n, cap;
};

static int take_hole(void *arg, uint64_t start, uint64_t size)
{
	struct hl_list *l = arg;

	if (l->n + 2 > l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		assert_non_null(l->v);
	}
	l->v[l->n++] = start;
	l->v[l->n++] = size;
	return 0;
}

static void compare_full(struct pair *p, uint64_t op)
{
	struct hl_list a = { 0 }, b = { 0 };
	struct heap_stats sa, sb;
	char why[256];

	if (heap_check(p->h, why, sizeof(why)))
		fail_msg("op %" PRIu64 ": heap_check: %s", op, why);
	assert_int_equal(heap_for_each_hole(p->h, take_hole, &a), 0);
	assert_int_equal(old_heap_for_each_hole(p->o, take_hole, &b), 0);
	if (a.n != b.n)
		fail_msg("op %" PRIu64 ": %zu holes, old heap %zu", op, a.n / 2, b.n / 2);
	for (size_t i = 0; i < a.n; i += 2)
		if (a.v[i] != b.v[i] || a.v[i + 1] != b.v[i + 1])
			fail_msg("op %" PRIu64 ": hole %zu is [%#" PRIx64 ",+%#" PRIx64
				 "), old heap [%#" PRIx64 ",+%#" PRIx64 ")", op, i / 2, a.v[i],
				 a.v[i + 1], b.v[i], b.v[i + 1]);
	heap_query(p->h, &sa);
	old_heap_query(p->o, &sb);
	assert_int_equal(sa.free, sb.free);
	assert_int_equal(sa.largest_free, sb.largest_free);
	assert_int_equal(sa.holes, sb.holes);
	assert_int_equal(sa.allocated, sb.allocated);
	free(a.v);
	free(b.v);
}

static uint64_t log_uniform_pages(struct vt_rng *r, unsigned max_log2)
{
	unsigned k = (unsigned)vt_rng_below(r, max_log2 + 1);
	uint64_t lo = 1ull << k;

	return lo + vt_rng_below(r, lo); /* [2^k, 2^(k+1)) pages */
}

/* One run of nops operations; returns the counts of (alloc ok, alloc fail). */
static void run(struct vt_rng *r, bool full, uint64_t nops, uint64_t counts[2])
{
	/* Sizes 4 KiB .. 1 MiB (up to 8 MiB in full), heap of about 1.5x the
	 * live target's bytes, so it fills up and requests fail often. */
	const unsigned max_log2 = full ? 11 : 8;
	const size_t live_target = 1000 + (size_t)vt_rng_below(r, 3000);
	const uint64_t avg = PAGE * ((2ull << max_log2) - 1) / (max_log2 + 1);
	const uint64_t base = vt_rng_below(r, 4) * (1ull << 32) + (full ? 3 * PAGE : 0);
	const uint64_t size = (uint64_t)(1.5 * (double)live_target * (double)avg) & ~(PAGE - 1);
	struct pair p = { 0 };
	struct heap_footprint fp;

	print_message("%s: heap [%#" PRIx64 ", +%#" PRIx64 "), live target %zu\n",
		      full ? "full" : "fast", base, size, live_target);
	assert_int_equal(heap_create(base, size, &p.h), 0);
	assert_int_equal(old_heap_create(base, size, &p.o), 0);
	p.cap = 2 * live_target + 16;
	p.nn = malloc(p.cap * sizeof(*p.nn));
	p.on = malloc(p.cap * sizeof(*p.on));
	assert_non_null(p.nn);
	assert_non_null(p.on);

	for (uint64_t op = 0; op < nops; op++) {
		bool do_alloc = p.nlive < live_target ? vt_rng_below(r, 100) < 60
						      : vt_rng_below(r, 100) < 40;

		if (do_alloc && p.nlive < p.cap) {
			uint64_t sz = log_uniform_pages(r, max_log2) * PAGE, align = PAGE;
			uint64_t rs = 0, re = UINT64_MAX;
			struct heap_node a = { 0 }, b = { 0 };
			int ra, rb;

			if (!full) {
				if (vt_rng_below(r, 4) == 0)
					align = 0; /* none */
			} else {
				switch (vt_rng_below(r, 8)) {
				case 0: align = 0; break;
				case 1: case 2: align = PAGE << vt_rng_below(r, 9); break; /* to 1 MiB */
				case 3:
					rs = base + vt_rng_below(r, size);
					re = rs + (vt_rng_below(r, 2) ? vt_rng_below(r, size) : UINT64_MAX - rs);
					break;
				default: break;
				}
				/* unaligned sizes too, in full */
				if (vt_rng_below(r, 16) == 0)
					sz = 1 + vt_rng_below(r, sz);
			}
			ra = heap_alloc(p.h, &a, sz, align, rs, re, HEAP_BEST_FIT);
			rb = old_heap_alloc(p.o, &b, sz, align, rs, re, HEAP_BEST_FIT);
			if (ra != rb || (!ra && (a.start != b.start || a.size != b.size)))
				fail_msg("op %" PRIu64 ": alloc %#" PRIx64 " align %#" PRIx64 " in [%#" PRIx64
					 ",%#" PRIx64 "): %d at %#" PRIx64 ", old heap %d at %#" PRIx64, op,
					 sz, align, rs, re, ra, a.start, rb, b.start);
			counts[ra != 0]++;
			if (!ra) {
				p.nn[p.nlive] = a;
				p.on[p.nlive] = b;
				p.nlive++;
			}
		} else if (p.nlive) {
			size_t i = (size_t)vt_rng_below(r, p.nlive);
			uint64_t lo, hi, olo, ohi;

			/* the free extent of another live node first */
			heap_free_extent(p.h, p.nn[(i * 7 + 3) % p.nlive].start,
					 p.nn[(i * 7 + 3) % p.nlive].size, &lo, &hi);
			old_heap_free_extent(p.o, p.on[(i * 7 + 3) % p.nlive].start,
					     p.on[(i * 7 + 3) % p.nlive].size, &olo, &ohi);
			if (lo != olo || hi != ohi)
				fail_msg("op %" PRIu64 ": free extent [%#" PRIx64 ",%#" PRIx64
					 "), old heap [%#" PRIx64 ",%#" PRIx64 ")", op, lo, hi, olo, ohi);
			assert_int_equal(heap_free(p.h, &p.nn[i]), 0);
			assert_int_equal(old_heap_free(p.o, &p.on[i]), 0);
			p.nlive--;
			p.nn[i] = p.nn[p.nlive];
			p.on[i] = p.on[p.nlive];
		}
		if (heap_largest_free(p.h) != old_heap_largest_free(p.o))
			fail_msg("op %" PRIu64 ": largest hole %#" PRIx64 ", old heap %#" PRIx64, op,
				 heap_largest_free(p.h), old_heap_largest_free(p.o));
		if (op % 20011 == 0 || op + 1 == nops)
			compare_full(&p, op);
	}
	heap_footprint(p.h, &fp);
	if (!full && fp.address_index)
		fail_msg("the fast run built the address index: it did not test the fast path");
	if (full && !fp.address_index)
		fail_msg("the full run never built the address index");
	/* Everything back: one hole on both. */
	while (p.nlive) {
		p.nlive--;
		assert_int_equal(heap_free(p.h, &p.nn[p.nlive]), 0);
		assert_int_equal(old_heap_free(p.o, &p.on[p.nlive]), 0);
	}
	compare_full(&p, nops);
	heap_destroy(p.h);
	old_heap_destroy(p.o);
	free(p.nn);
	free(p.on);
}

static void test_vs_old(void **state)
{
	struct vt_rng r;
	uint64_t fast[2] = { 0 }, full[2] = { 0 };

	(void)state;
	vt_rng_seed(&r, vt_seed("HEAP-VS-OLD"));
	run(&r, false, 1000000, fast);
	run(&r, true, 200000, full);
	print_message("fast: %" PRIu64 " allocations, %" PRIu64 " failed alike; "
		      "full: %" PRIu64 ", %" PRIu64 " failed alike\n",
		      fast[0] + fast[1], fast[1], full[0] + full[1], full[1]);
	/* The runs must have reached a full heap, or "same failures" says little. */
	assert_true(fast[1] > 1000);
	assert_true(full[1] > 200);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("HEAP-VS-OLD", test_vs_old),
	};

	return VT_MAIN("heap_vs_old", cases);
}
