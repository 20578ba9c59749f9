/* SPDX-License-Identifier: MIT */
/*
 * test_heap.c - the range allocator (core/heap.h) on its own.
 *
 * Owns: the HEAP-* cases: exact placement in every mode, alignment, ranges,
 * reserve boundaries, and a long random run against a brute-force model.
 * Must not: reach into heap.c's internals (it sees holes only through
 * heap_for_each_hole / heap_query / heap_check), or share the model's search
 * code with the heap: the model is a sorted array scanned linearly, so a
 * mistake in the trees cannot be mirrored in it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>

#include "vt.h"
#include "core/heap.h"

typedef unsigned __int128 u128;

struct range {
	uint64_t start, size;
};

/* ---- helpers ---- */

static void check_heap(const struct heap *h, const char *where)
{
	char why[256];
	int ret = heap_check(h, why, sizeof(why));

	if (ret)
		fail_msg("%s: heap_check = %d: %s", where, ret, why);
}

struct snap {
	struct heap_stats st;
	size_t n, cap;
	struct range *r;
};

static int snap_hole(void *arg, uint64_t start, uint64_t size)
{
	struct snap *s = arg;

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->r = realloc(s->r, s->cap * sizeof(*s->r));
		assert_non_null(s->r);
	}
	s->r[s->n].start = start;
	s->r[s->n].size = size;
	s->n++;
	return 0;
}

static void snap_take(const struct heap *h, struct snap *s)
{
	s->n = 0;
	heap_query(h, &s->st);
	assert_int_equal(heap_for_each_hole(h, snap_hole, s), 0);
}

static void snap_free(struct snap *s)
{
	free(s->r);
	memset(s, 0, sizeof(*s));
}

static void snap_expect_same(const struct snap *a, const struct snap *b, const char *what)
{
	if (memcmp(&a->st, &b->st, sizeof(a->st)))
		fail_msg("%s: stats changed (free %" PRIu64 "->%" PRIu64 ", holes %" PRIu64
			 "->%" PRIu64 ", allocated %" PRIu64 "->%" PRIu64 ")",
			 what, a->st.free, b->st.free, a->st.holes, b->st.holes,
			 a->st.allocated, b->st.allocated);
	if (a->n != b->n)
		fail_msg("%s: hole count changed %zu -> %zu", what, a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		if (a->r[i].start != b->r[i].start || a->r[i].size != b->r[i].size)
			fail_msg("%s: hole %zu changed [%#" PRIx64 ",+%#" PRIx64 ") -> [%#" PRIx64
				 ",+%#" PRIx64 ")", what, i, a->r[i].start, a->r[i].size,
				 b->r[i].start, b->r[i].size);
}

static const enum heap_mode all_modes[] = { HEAP_BEST_FIT, HEAP_BOTTOM_UP, HEAP_TOP_DOWN };
static const char *const mode_name[] = { "best-fit", "bottom-up", "top-down" };

/* An operation that must fail must leave the heap exactly as it was. */
#define EXPECT_REJECT(h, expect_ret, call, what)                                 \
	do {                                                                     \
		struct snap before_ = { 0 }, after_ = { 0 };                     \
		int ret_;                                                        \
		snap_take((h), &before_);                                        \
		ret_ = (call);                                                   \
		if (ret_ != (expect_ret))                                        \
			fail_msg("%s: returned %d, expected %d", (what), ret_,   \
				 (expect_ret));                                  \
		snap_take((h), &after_);                                         \
		snap_expect_same(&before_, &after_, (what));                     \
		check_heap((h), (what));                                         \
		snap_free(&before_);                                             \
		snap_free(&after_);                                              \
	} while (0)

/* ---- HEAP-INIT-ONE-HOLE ---- */

static void test_init_one_hole(void **state)
{
	static const struct range cases[] = {
		{ 0, 1 },
		{ 0x1000, 0x100000 },
		{ 0x12345, 0x6789 },
		{ 0, UINT64_MAX },
		{ UINT64_MAX - 1, 1 },
		{ 1ull << 63, (1ull << 63) - 1 },
	};
	struct heap *h;
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct snap s = { 0 };

		assert_int_equal(heap_create(cases[i].start, cases[i].size, &h), 0);
		snap_take(h, &s);
		assert_int_equal(s.st.total, cases[i].size);
		assert_int_equal(s.st.free, cases[i].size);
		assert_int_equal(s.st.largest_free, cases[i].size);
		assert_int_equal(s.st.holes, 1);
		assert_int_equal(s.st.allocated, 0);
		assert_int_equal(heap_largest_free(h), cases[i].size);
		assert_int_equal(s.n, 1);
		assert_int_equal(s.r[0].start, cases[i].start);
		assert_int_equal(s.r[0].size, cases[i].size);
		check_heap(h, "fresh heap");

		/* The whole heap is allocatable at once, in every mode, and
		 * freeing it gives the one hole back. */
		for (size_t m = 0; m < 3; m++) {
			struct heap_node n;
			struct snap t = { 0 };

			assert_int_equal(heap_alloc(h, &n, cases[i].size, 0, 0, UINT64_MAX,
						    all_modes[m]), 0);
			assert_int_equal(n.start, cases[i].start);
			assert_int_equal(heap_largest_free(h), 0);
			check_heap(h, "full heap");
			assert_int_equal(heap_free(h, &n), 0);
			snap_take(h, &t);
			snap_expect_same(&s, &t, "alloc+free of the whole heap");
			snap_free(&t);
		}
		snap_free(&s);
		heap_destroy(h);
	}

	h = NULL;
	assert_int_equal(heap_create(0, 0, &h), -EINVAL);
	assert_int_equal(heap_create(UINT64_MAX, 2, &h), -EINVAL);
	assert_int_equal(heap_create(1, UINT64_MAX, &h), -EINVAL);
	assert_int_equal(heap_create(0, 16, NULL), -EINVAL);
	assert_null(h);
	assert_true(heap_hole_bytes() > 0);
	heap_destroy(NULL);
}

/* ---- HEAP-RESERVE-BOUNDARIES ---- */

static void test_reserve_boundaries(void **state)
{
	const uint64_t base = 0x1000, size = 0x10000, end = base + size;
	struct heap *h;
	struct heap_node a, r, x;
	struct snap s0 = { 0 }, s1 = { 0 };
	(void)state;

	assert_int_equal(heap_create(base, size, &h), 0);

	/* An allocated node at [0x3000, 0x4000) and free space around it. */
	r.start = 0x3000;
	r.size = 0x1000;
	assert_int_equal(heap_reserve(h, &r), 0);
	check_heap(h, "reserve in the middle");
	snap_take(h, &s0);
	assert_int_equal(s0.n, 2);
	assert_int_equal(s0.st.allocated, 1);
	assert_int_equal(s0.r[0].start, base);
	assert_int_equal(s0.r[0].size, 0x2000);
	assert_int_equal(s0.r[1].start, 0x4000);
	assert_int_equal(s0.r[1].size, end - 0x4000);
	snap_free(&s0);
	{
		/* The free space around the node: both holes touch it. */
		uint64_t lo = 0, hi = 0;

		heap_free_extent(h, r.start, r.size, &lo, &hi);
		assert_int_equal(lo, base);
		assert_int_equal(hi, end);
	}

#define REJECT_RESERVE(st, sz, expect, what)                              \
	do {                                                              \
		struct heap_node t_ = { (st), (sz) };                     \
		EXPECT_REJECT(h, (expect), heap_reserve(h, &t_), (what)); \
	} while (0)

	/* zero size: everywhere, free or not */
	REJECT_RESERVE(base, 0, -EINVAL, "zero size at the start");
	REJECT_RESERVE(0x2000, 0, -EINVAL, "zero size in a hole");
	REJECT_RESERVE(0x3000, 0, -EINVAL, "zero size on a node");
	/* past the end, or before the start */
	REJECT_RESERVE(end, 1, -EINVAL, "one byte at the end");
	REJECT_RESERVE(end - 0x10, 0x11, -EINVAL, "straddling the end");
	REJECT_RESERVE(end - 1, 2, -EINVAL, "last byte plus one");
	REJECT_RESERVE(base - 1, 2, -EINVAL, "straddling the start");
	REJECT_RESERVE(0, 1, -EINVAL, "below the heap");
	REJECT_RESERVE(base, size + 1, -EINVAL, "one byte bigger than the heap");
	/* wrap-around */
	REJECT_RESERVE(UINT64_MAX - 5, 10, -EINVAL, "wrapping at 2^64");
	REJECT_RESERVE(0x2000, UINT64_MAX, -EINVAL, "size wraps");
	REJECT_RESERVE(UINT64_MAX, 1, -EINVAL, "at UINT64_MAX");
	/* overlap with allocated space, by one byte or more */
	REJECT_RESERVE(0x3000, 0x1000, -EEXIST, "exactly the node");
	REJECT_RESERVE(0x3000, 1, -EEXIST, "first byte of the node");
	REJECT_RESERVE(0x3fff, 1, -EEXIST, "last byte of the node");
	REJECT_RESERVE(0x2fff, 2, -EEXIST, "hole's last byte + node's first");
	REJECT_RESERVE(0x3fff, 2, -EEXIST, "node's last byte + hole's first");
	REJECT_RESERVE(0x2000, 0x3000, -EEXIST, "covering the node");
	REJECT_RESERVE(base, size, -EEXIST, "the whole heap");

	/* Accepted at the exact boundaries: first byte, last byte. */
	x.start = base;
	x.size = 1;
	assert_int_equal(heap_reserve(h, &x), 0);
	a.start = end - 1;
	a.size = 1;
	assert_int_equal(heap_reserve(h, &a), 0);
	check_heap(h, "boundary reserves");
	{
		/* Nodes at the heap's edges touch no hole on their outer side. */
		uint64_t lo = 0, hi = 0;

		heap_free_extent(h, x.start, x.size, &lo, &hi);
		assert_int_equal(lo, base);
		assert_int_equal(hi, 0x3000);
		heap_free_extent(h, a.start, a.size, &lo, &hi);
		assert_int_equal(lo, 0x4000);
		assert_int_equal(hi, end);
	}
	REJECT_RESERVE(base, 1, -EEXIST, "first byte again");
	REJECT_RESERVE(end - 1, 1, -EEXIST, "last byte again");
	REJECT_RESERVE(end - 2, 2, -EEXIST, "overlapping the last byte");

	/* A whole hole, exactly: the hole disappears. */
	snap_take(h, &s0);
	{
		struct heap_node w = { s0.r[0].start, s0.r[0].size };

		assert_int_equal(heap_reserve(h, &w), 0);
		snap_take(h, &s1);
		assert_int_equal(s1.n, s0.n - 1);
		assert_int_equal(s1.st.free, s0.st.free - w.size);
		check_heap(h, "whole-hole reserve");
		assert_int_equal(heap_free(h, &w), 0);
	}
	/* Free everything: the single hole comes back (coalescing both ways). */
	assert_int_equal(heap_free(h, &r), 0);
	assert_int_equal(heap_free(h, &x), 0);
	assert_int_equal(heap_free(h, &a), 0);
	snap_take(h, &s1);
	assert_int_equal(s1.n, 1);
	assert_int_equal(s1.r[0].start, base);
	assert_int_equal(s1.r[0].size, size);
	assert_int_equal(s1.st.allocated, 0);
	check_heap(h, "all freed");

	/* The heap refuses to free what is already free (not a live node). */
	x.start = 0x2000;
	x.size = 0x10;
	EXPECT_REJECT(h, -EINVAL, heap_free(h, &x), "freeing free space");
	snap_free(&s0);
	snap_free(&s1);
	heap_destroy(h);
#undef REJECT_RESERVE
}

/* ---- HEAP-FILL-EXACT ---- */

static void test_fill_exact(void **state)
{
	const uint64_t base = 0x100000, page = 4096, npages = 256, size = page * npages;
	static const uint64_t odd_sizes[] = { 1, 4095, 3, 8191, 17, 65537, 12289, 7 };
	struct heap *h;
	struct heap_node nodes[256], extra;
	(void)state;

	for (size_t m = 0; m < 3; m++) {
		enum heap_mode mode = all_modes[m];
		struct heap_stats st;
		uint64_t k;

		/* Equal pages: placement is fully determined. */
		assert_int_equal(heap_create(base, size, &h), 0);
		for (k = 0; k < npages; k++) {
			uint64_t expect = mode == HEAP_TOP_DOWN ? base + size - (k + 1) * page
								: base + k * page;

			assert_int_equal(heap_alloc(h, &nodes[k], page, page, 0, UINT64_MAX, mode), 0);
			if (nodes[k].start != expect)
				fail_msg("%s: page %" PRIu64 " at %#" PRIx64 ", expected %#" PRIx64,
					 mode_name[m], k, nodes[k].start, expect);
		}
		heap_query(h, &st);
		assert_int_equal(st.free, 0);
		assert_int_equal(st.holes, 0);
		assert_int_equal(st.largest_free, 0);
		assert_int_equal(st.allocated, npages);
		check_heap(h, "full");
		EXPECT_REJECT(h, -ENOSPC, heap_alloc(h, &extra, 1, 0, 0, UINT64_MAX, mode),
			      "one byte into a full heap");
		EXPECT_REJECT(h, -ENOSPC, heap_alloc(h, &extra, page, page, 0, UINT64_MAX, mode),
			      "one page into a full heap");
		/* Free slots one at a time; each is refilled at the same offset. */
		for (k = 0; k < npages; k += 37) {
			uint64_t at = nodes[k].start;

			assert_int_equal(heap_free(h, &nodes[k]), 0);
			assert_int_equal(heap_largest_free(h), page);
			assert_int_equal(heap_alloc(h, &nodes[k], page, page, 0, UINT64_MAX, mode), 0);
			assert_int_equal(nodes[k].start, at);
		}
		/* Free two slots; a page request takes the lower one (bottom-up,
		 * best fit: equal sizes, lowest address) or the higher one. */
		{
			uint64_t lo = nodes[10].start < nodes[200].start ? nodes[10].start
									 : nodes[200].start;
			uint64_t hi = nodes[10].start ^ nodes[200].start ^ lo;

			assert_int_equal(heap_free(h, &nodes[10]), 0);
			assert_int_equal(heap_free(h, &nodes[200]), 0);
			assert_int_equal(heap_alloc(h, &nodes[10], page, 0, 0, UINT64_MAX, mode), 0);
			assert_int_equal(nodes[10].start, mode == HEAP_TOP_DOWN ? hi : lo);
			assert_int_equal(heap_alloc(h, &nodes[200], page, 0, 0, UINT64_MAX, mode), 0);
			assert_int_equal(nodes[200].start, mode == HEAP_TOP_DOWN ? lo : hi);
		}
		for (k = 0; k < npages; k++)
			assert_int_equal(heap_free(h, &nodes[k]), 0);
		heap_query(h, &st);
		assert_int_equal(st.holes, 1);
		assert_int_equal(st.free, size);
		check_heap(h, "emptied");

		/* Odd sizes, the last one exactly the remainder: 100% full. */
		{
			uint64_t used = 0;
			size_t n = 0;

			while (used < size) {
				uint64_t want = odd_sizes[n % 8];

				if (want > size - used)
					want = size - used;
				assert_int_equal(heap_alloc(h, &nodes[n], want, 1, 0, UINT64_MAX, mode), 0);
				used += want;
				n++;
				assert_true(n < 256);
			}
			heap_query(h, &st);
			assert_int_equal(st.free, 0);
			assert_int_equal(st.holes, 0);
			check_heap(h, "full of odd sizes");
			EXPECT_REJECT(h, -ENOSPC, heap_alloc(h, &extra, 1, 0, 0, UINT64_MAX, mode),
				      "one byte into a heap full of odd sizes");
			for (size_t i = 0; i < n; i += 3) {
				uint64_t at = nodes[i].start, sz = nodes[i].size;

				assert_int_equal(heap_free(h, &nodes[i]), 0);
				assert_int_equal(heap_alloc(h, &nodes[i], sz, 0, 0, UINT64_MAX, mode), 0);
				assert_int_equal(nodes[i].start, at);
			}
			check_heap(h, "refilled");
		}
		heap_destroy(h);
	}
}

/* ---- HEAP-RANGE-RESTRICT ---- */

static void test_range_restrict(void **state)
{
	const uint64_t base = 0x10000, blk = 0x10000, size = 16 * blk, end = base + size;
	struct heap *h;
	struct heap_node n, blocks[16];
	(void)state;

	assert_int_equal(heap_create(base, size, &h), 0);

	/* One hole: the range alone decides. */
	assert_int_equal(heap_alloc(h, &n, 0x100, 0, 0x20000, 0x30000, HEAP_BOTTOM_UP), 0);
	assert_int_equal(n.start, 0x20000);
	assert_int_equal(heap_free(h, &n), 0);
	assert_int_equal(heap_alloc(h, &n, 0x100, 0, 0x20000, 0x30000, HEAP_TOP_DOWN), 0);
	assert_int_equal(n.start, 0x30000 - 0x100);
	assert_int_equal(heap_free(h, &n), 0);
	assert_int_equal(heap_alloc(h, &n, 0x100, 0, 0x20000, 0x30000, HEAP_BEST_FIT), 0);
	assert_int_equal(n.start, 0x20000);
	assert_int_equal(heap_free(h, &n), 0);
	/* Aligned inside an unaligned range. */
	assert_int_equal(heap_alloc(h, &n, 0x100, 0x1000, 0x20001, 0x30fff, HEAP_TOP_DOWN), 0);
	assert_int_equal(n.start, 0x30000);
	assert_int_equal(heap_free(h, &n), 0);
	assert_int_equal(heap_alloc(h, &n, 0x100, 0x1000, 0x20001, 0x300ff, HEAP_TOP_DOWN), 0);
	assert_int_equal(n.start, 0x2f000);
	assert_int_equal(heap_free(h, &n), 0);
	assert_int_equal(heap_alloc(h, &n, 0x100, 0x1000, 0x20001, 0x30fff, HEAP_BOTTOM_UP), 0);
	assert_int_equal(n.start, 0x21000);
	assert_int_equal(heap_free(h, &n), 0);
	/* The range exactly as big as the request, then one byte smaller. */
	assert_int_equal(heap_alloc(h, &n, 0x100, 0, 0x20080, 0x20180, HEAP_TOP_DOWN), 0);
	assert_int_equal(n.start, 0x20080);
	assert_int_equal(heap_free(h, &n), 0);
	for (size_t m = 0; m < 3; m++)
		EXPECT_REJECT(h, -ENOSPC,
			      heap_alloc(h, &n, 0x100, 0, 0x20080, 0x2017f, all_modes[m]),
			      "range one byte too small");
	/* Ranges reaching past the heap are clipped to it. */
	assert_int_equal(heap_alloc(h, &n, 0x1000, 0, 0, base + 0x1000, HEAP_TOP_DOWN), 0);
	assert_int_equal(n.start, base);
	assert_int_equal(heap_free(h, &n), 0);
	assert_int_equal(heap_alloc(h, &n, 0x1000, 0, end - 0x1000, UINT64_MAX, HEAP_BOTTOM_UP), 0);
	assert_int_equal(n.start, end - 0x1000);
	assert_int_equal(heap_free(h, &n), 0);
	for (size_t m = 0; m < 3; m++) {
		EXPECT_REJECT(h, -ENOSPC, heap_alloc(h, &n, 0x1001, 0, 0, base + 0x1000, all_modes[m]),
			      "clipped range too small");
		EXPECT_REJECT(h, -ENOSPC, heap_alloc(h, &n, 1, 0, 0, base, all_modes[m]),
			      "range below the heap");
		EXPECT_REJECT(h, -ENOSPC, heap_alloc(h, &n, 1, 0, end, UINT64_MAX, all_modes[m]),
			      "range above the heap");
		EXPECT_REJECT(h, -EINVAL, heap_alloc(h, &n, 1, 0, 0x20000, 0x20000, all_modes[m]),
			      "empty range");
		EXPECT_REJECT(h, -EINVAL, heap_alloc(h, &n, 1, 0, 0x30000, 0x20000, all_modes[m]),
			      "reversed range");
		EXPECT_REJECT(h, -EINVAL, heap_alloc(h, &n, 1, 0, UINT64_MAX, UINT64_MAX, all_modes[m]),
			      "empty range at the top");
	}

	/* Fragment: 16 blocks, free the odd ones -> holes at blocks 1,3,...,15. */
	for (int i = 0; i < 16; i++) {
		assert_int_equal(heap_alloc(h, &blocks[i], blk, 0, 0, UINT64_MAX, HEAP_BOTTOM_UP), 0);
		assert_int_equal(blocks[i].start, base + (uint64_t)i * blk);
	}
	for (int i = 1; i < 16; i += 2)
		assert_int_equal(heap_free(h, &blocks[i]), 0);
	check_heap(h, "checkerboard");

	/*
	 * Range from the middle of hole 3 to the middle of hole 9: hole 3 and
	 * hole 9 are clipped to half a block each, holes 5 and 7 are whole.
	 */
	{
		uint64_t rs = base + 3 * blk + blk / 2, re = base + 9 * blk + blk / 2;

		/* Half a block fits in the clipped parts. */
		assert_int_equal(heap_alloc(h, &n, blk / 2, 0, rs, re, HEAP_BOTTOM_UP), 0);
		assert_int_equal(n.start, rs);
		assert_int_equal(heap_free(h, &n), 0);
		assert_int_equal(heap_alloc(h, &n, blk / 2, 0, rs, re, HEAP_TOP_DOWN), 0);
		assert_int_equal(n.start, re - blk / 2);
		assert_int_equal(heap_free(h, &n), 0);
		/* More than half a block: only the whole holes 5 and 7. */
		assert_int_equal(heap_alloc(h, &n, blk / 2 + 1, 0, rs, re, HEAP_BOTTOM_UP), 0);
		assert_int_equal(n.start, base + 5 * blk);
		assert_int_equal(heap_free(h, &n), 0);
		assert_int_equal(heap_alloc(h, &n, blk / 2 + 1, 0, rs, re, HEAP_TOP_DOWN), 0);
		assert_int_equal(n.start, base + 8 * blk - (blk / 2 + 1));
		assert_int_equal(heap_free(h, &n), 0);
		/* Best fit: all holes are the same size; lowest address whose
		 * clipped part can hold it. */
		assert_int_equal(heap_alloc(h, &n, blk / 2 + 1, 0, rs, re, HEAP_BEST_FIT), 0);
		assert_int_equal(n.start, base + 5 * blk);
		assert_int_equal(heap_free(h, &n), 0);
		for (size_t m = 0; m < 3; m++)
			EXPECT_REJECT(h, -ENOSPC, heap_alloc(h, &n, blk + 1, 0, rs, re, all_modes[m]),
				      "bigger than any hole in range");
	}

	/*
	 * Best fit prefers the smallest hole inside the range, even when a
	 * smaller hole exists outside it: shrink hole 1 to a quarter block,
	 * hole 11 to half a block.
	 */
	{
		struct heap_node q, hq;

		q.start = base + blk;
		q.size = 3 * blk / 4;
		assert_int_equal(heap_reserve(h, &q), 0);
		hq.start = base + 11 * blk;
		hq.size = blk / 2;
		assert_int_equal(heap_reserve(h, &hq), 0);
		assert_int_equal(heap_alloc(h, &n, 0x100, 0, 0, UINT64_MAX, HEAP_BEST_FIT), 0);
		assert_int_equal(n.start, base + blk + 3 * blk / 4);
		assert_int_equal(heap_free(h, &n), 0);
		assert_int_equal(heap_alloc(h, &n, 0x100, 0, base + 5 * blk, end, HEAP_BEST_FIT), 0);
		assert_int_equal(n.start, base + 11 * blk + blk / 2);
		assert_int_equal(heap_free(h, &n), 0);
		/* Node always inside the range, in every mode, for many ranges. */
		for (uint64_t rs = base; rs < end; rs += 0x3333) {
			for (uint64_t re = rs + 0x777; re <= end + 0x10000; re += 0x5555) {
				for (size_t m = 0; m < 3; m++) {
					int ret = heap_alloc(h, &n, 0x777, 0x10, rs, re, all_modes[m]);

					if (ret == -ENOSPC)
						continue;
					assert_int_equal(ret, 0);
					if (n.start < rs || n.start + n.size > re || n.start % 0x10)
						fail_msg("%s: node [%#" PRIx64 ",+%#" PRIx64
							 ") outside range [%#" PRIx64 ",%#" PRIx64 ")",
							 mode_name[m], n.start, n.size, rs, re);
					assert_int_equal(heap_free(h, &n), 0);
				}
			}
		}
		check_heap(h, "after range sweep");
		assert_int_equal(heap_free(h, &q), 0);
		assert_int_equal(heap_free(h, &hq), 0);
	}
	for (int i = 0; i < 16; i += 2)
		assert_int_equal(heap_free(h, &blocks[i]), 0);
	assert_int_equal(heap_largest_free(h), size);
	check_heap(h, "range test end");
	heap_destroy(h);

	/*
	 * Best fit with a range, where many smaller holes outside the range
	 * come first in size order: ten holes of 0x900..0x990 outside, then in
	 * the range two holes (sizes a, b). Ties go to the lower address;
	 * otherwise the smaller hole wins wherever it is.
	 */
	for (int variant = 0; variant < 2; variant++) {
		const uint64_t a = 0x1000, b = variant ? 0xc00 : 0x1000;
		struct heap_node outside[10], sep[12], in_a, in_b;
		uint64_t rs, re;

		assert_int_equal(heap_create(0, 0x100000, &h), 0);
		for (int i = 0; i < 10; i++) {
			assert_int_equal(heap_alloc(h, &outside[i], 0x900 + 0x10 * (uint64_t)i, 0, 0,
						    UINT64_MAX, HEAP_BOTTOM_UP), 0);
			assert_int_equal(heap_alloc(h, &sep[i], 0x10, 0, 0, UINT64_MAX,
						    HEAP_BOTTOM_UP), 0);
		}
		assert_int_equal(heap_alloc(h, &in_a, a, 0, 0, UINT64_MAX, HEAP_BOTTOM_UP), 0);
		assert_int_equal(heap_alloc(h, &sep[10], 0x10, 0, 0, UINT64_MAX, HEAP_BOTTOM_UP), 0);
		assert_int_equal(heap_alloc(h, &in_b, b, 0, 0, UINT64_MAX, HEAP_BOTTOM_UP), 0);
		assert_int_equal(heap_alloc(h, &sep[11], 0x10, 0, 0, UINT64_MAX, HEAP_BOTTOM_UP), 0);
		rs = in_a.start;
		re = in_b.start + in_b.size;
		for (int i = 0; i < 10; i++)
			assert_int_equal(heap_free(h, &outside[i]), 0);
		assert_int_equal(heap_free(h, &in_a), 0);
		assert_int_equal(heap_free(h, &in_b), 0);
		check_heap(h, "tie layout");
		assert_int_equal(heap_alloc(h, &n, 0x800, 0, rs, re, HEAP_BEST_FIT), 0);
		assert_int_equal(n.start, variant ? in_b.start : in_a.start);
		assert_int_equal(heap_free(h, &n), 0);
		/* The same with alignment and no range: smallest hole first. */
		assert_int_equal(heap_alloc(h, &n, 0x800, 0x10, 0, UINT64_MAX, HEAP_BEST_FIT), 0);
		assert_int_equal(n.start, outside[0].start);
		assert_int_equal(heap_free(h, &n), 0);
		heap_destroy(h);
	}
}

/* ---- HEAP-ALIGN ---- */

static uint64_t round_up_u128(uint64_t x, uint64_t a)
{
	return (uint64_t)(((u128)x + a - 1) / a * a);
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void test_align(void **state)
{
	/* An odd base, so alignment of the absolute address differs from the
	 * offset's. */
	const uint64_t base = 0x12345, size = 1ull << 20, end = base + size;
	static const uint64_t primes[] = { 1, 2, 3, 5, 7, 13, 31, 61, 127, 251, 509, 1021,
					   2039, 4093, 8191, 16381, 65521, 131071, 262139 };
	static const uint64_t bad[] = { 3, 5, 6, 12, 0x1001, (1ull << 20) + 1, 1ull << 21,
					1ull << 63, UINT64_MAX, (1ull << 63) + 1 };
	const size_t np = sizeof(primes) / sizeof(primes[0]);
	struct heap *h;
	struct heap_node n;
	struct range kept[512];
	size_t nkept = 0;
	(void)state;

	assert_int_equal(heap_create(base, size, &h), 0);
	/* Empty heap: the exact answer is computable. */
	for (unsigned k = 0; k <= 20; k++) {
		uint64_t align = 1ull << k;

		for (size_t p = 0; p < np; p++) {
			uint64_t sz = primes[p], low = round_up_u128(base, align);
			uint64_t high = (end - sz) / align * align;
			bool fits = low <= end && end - low >= sz;

			for (size_t m = 0; m < 3; m++) {
				int ret = heap_alloc(h, &n, sz, align, 0, UINT64_MAX, all_modes[m]);

				if (!fits) {
					assert_int_equal(ret, -ENOSPC);
					continue;
				}
				if (ret)
					fail_msg("%s: size %" PRIu64 " align %#" PRIx64 ": %d",
						 mode_name[m], sz, align, ret);
				assert_int_equal(n.start % align, 0);
				assert_int_equal(n.start, all_modes[m] == HEAP_TOP_DOWN ? high : low);
				assert_int_equal(n.size, sz);
				assert_int_equal(heap_free(h, &n), 0);
			}
		}
	}
	check_heap(h, "empty-heap alignment sweep");
	for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++)
		for (size_t m = 0; m < 3; m++)
			EXPECT_REJECT(h, -EINVAL, heap_alloc(h, &n, 7, bad[b], 0, UINT64_MAX, all_modes[m]),
				      "bad alignment");

	/* Keep prime-sized, variously aligned nodes until nothing fits any more:
	 * every one aligned, none overlapping. */
	for (unsigned round = 0; nkept < 512; round++) {
		bool any = false;

		for (size_t p = 0; p < np && nkept < 512; p++) {
			unsigned k = (unsigned)((p * 7 + round * 3) % 17);
			uint64_t align = 1ull << k;
			enum heap_mode mode = all_modes[(p + round) % 3];
			int ret;

			if (primes[p] > 20000)
				continue;
			ret = heap_alloc(h, &n, primes[p], align, 0, UINT64_MAX, mode);
			if (ret == -ENOSPC)
				continue;
			assert_int_equal(ret, 0);
			assert_int_equal(n.start % align, 0);
			assert_true(n.start >= base && n.start + n.size <= end);
			kept[nkept].start = n.start;
			kept[nkept].size = n.size;
			nkept++;
			any = true;
		}
		check_heap(h, "prime fill");
		if (!any)
			break;
	}
	assert_true(nkept > 50);
	qsort(kept, nkept, sizeof(kept[0]), cmp_range);
	for (size_t i = 1; i < nkept; i++)
		if (kept[i - 1].start + kept[i - 1].size > kept[i].start)
			fail_msg("overlap: [%#" PRIx64 ",+%" PRIu64 ") and [%#" PRIx64 ",+%" PRIu64 ")",
				 kept[i - 1].start, kept[i - 1].size, kept[i].start, kept[i].size);
	for (size_t i = 0; i < nkept; i++) {
		n.start = kept[i].start;
		n.size = kept[i].size;
		assert_int_equal(heap_free(h, &n), 0);
	}
	assert_int_equal(heap_largest_free(h), size);
	check_heap(h, "align end");
	heap_destroy(h);

	/* Alignment up to a huge heap's size. */
	assert_int_equal(heap_create(0, UINT64_MAX, &h), 0);
	assert_int_equal(heap_alloc(h, &n, 1, 1ull << 63, 0, UINT64_MAX, HEAP_TOP_DOWN), 0);
	assert_int_equal(n.start, 1ull << 63);
	assert_int_equal(heap_free(h, &n), 0);
	assert_int_equal(heap_alloc(h, &n, 3, 1ull << 62, 1, UINT64_MAX, HEAP_BOTTOM_UP), 0);
	assert_int_equal(n.start, 1ull << 62);
	assert_int_equal(heap_free(h, &n), 0);
	check_heap(h, "huge heap");
	heap_destroy(h);
}

/* ---- HEAP-TOPDOWN-BOTTOMUP (bitmap model) ---- */

#define BM_SIZE 4096u

struct bitmap_model {
	uint64_t base;
	uint8_t used[BM_SIZE];
	uint32_t run[BM_SIZE + 1]; /* free bytes starting at i */
};

static void bm_runs(struct bitmap_model *bm)
{
	bm->run[BM_SIZE] = 0;
	for (uint32_t i = BM_SIZE; i-- > 0;)
		bm->run[i] = bm->used[i] ? 0 : bm->run[i + 1] + 1;
}

static void bm_mark(struct bitmap_model *bm, const struct heap_node *n, uint8_t v)
{
	for (uint64_t i = n->start - bm->base; i < n->start - bm->base + n->size; i++) {
		if (v)
			assert_int_equal(bm->used[i], 0); /* overlap */
		bm->used[i] = v;
	}
}

/* Lowest (or highest) aligned absolute address in [lo,hi) with size free
 * bytes, by trying every one. */
static bool bm_find(const struct bitmap_model *bm, uint64_t size, uint64_t align,
		    uint64_t lo, uint64_t hi, bool top, uint64_t *at)
{
	uint64_t first = lo > bm->base ? lo : bm->base;
	uint64_t stop = hi < bm->base + BM_SIZE ? hi : bm->base + BM_SIZE;

	if (first >= stop || stop - first < size)
		return false;
	if (!top) {
		for (uint64_t a = first; a + size <= stop; a++)
			if (a % align == 0 && bm->run[a - bm->base] >= size) {
				*at = a;
				return true;
			}
	} else {
		for (uint64_t a = stop - size + 1; a-- > first;)
			if (a % align == 0 && bm->run[a - bm->base] >= size) {
				*at = a;
				return true;
			}
	}
	return false;
}

static void test_topdown_bottomup(void **state)
{
	struct vt_rng rng;
	struct bitmap_model *bm = calloc(1, sizeof(*bm));
	struct heap *h;
	struct heap_node live[BM_SIZE];
	size_t nlive = 0;
	(void)state;

	assert_non_null(bm);
	vt_rng_seed(&rng, vt_seed("HEAP-TOPDOWN-BOTTOMUP"));
	bm->base = 0x7003; /* odd: alignment is of the absolute address */
	assert_int_equal(heap_create(bm->base, BM_SIZE, &h), 0);

	for (int round = 0; round < 4; round++) {
		/* Fill with small random pieces, then free about half at random. */
		for (;;) {
			struct heap_node n;

			if (heap_alloc(h, &n, 1 + vt_rng_below(&rng, 48), 0, 0, UINT64_MAX,
				       HEAP_BOTTOM_UP))
				break;
			bm_mark(bm, &n, 1);
			live[nlive++] = n;
		}
		for (size_t i = 0; i < nlive;) {
			if (vt_rng_below(&rng, 2)) {
				bm_mark(bm, &live[i], 0);
				assert_int_equal(heap_free(h, &live[i]), 0);
				live[i] = live[--nlive];
			} else {
				i++;
			}
		}
		check_heap(h, "after random frees");

		/* Placement queries: every answer against brute force. */
		for (int q = 0; q < 600; q++) {
			uint64_t size = 1 + vt_rng_below(&rng, q % 3 ? 64 : 400);
			uint64_t align = vt_rng_below(&rng, 3) ? 1 : 1ull << vt_rng_below(&rng, 7);
			uint64_t lo = 0, hi = UINT64_MAX, want = 0;
			bool top = vt_rng_below(&rng, 2), fits;
			struct heap_node n;
			int ret;

			if (vt_rng_below(&rng, 2)) {
				lo = bm->base + vt_rng_below(&rng, BM_SIZE);
				hi = lo + 1 + vt_rng_below(&rng, BM_SIZE);
			}
			bm_runs(bm);
			fits = bm_find(bm, size, align, lo, hi, top, &want);
			ret = heap_alloc(h, &n, size, align, lo, hi, top ? HEAP_TOP_DOWN : HEAP_BOTTOM_UP);
			if (!fits) {
				if (ret != -ENOSPC)
					fail_msg("query %d: size %" PRIu64 " align %" PRIu64
						 " range [%#" PRIx64 ",%#" PRIx64 ") %s: ret %d, model: no fit",
						 q, size, align, lo, hi, top ? "top" : "bottom", ret);
				continue;
			}
			if (ret || n.start != want)
				fail_msg("query %d: size %" PRIu64 " align %" PRIu64
					 " range [%#" PRIx64 ",%#" PRIx64 ") %s: ret %d at %#" PRIx64
					 ", model %#" PRIx64, q, size, align, lo, hi,
					 top ? "top" : "bottom", ret, ret ? 0 : n.start, want);
			bm_mark(bm, &n, 1);
			/* Keep some, so later queries see a changing heap. */
			if (vt_rng_below(&rng, 4) == 0) {
				live[nlive++] = n;
			} else {
				bm_mark(bm, &n, 0);
				assert_int_equal(heap_free(h, &n), 0);
			}
			if (q % 50 == 0)
				check_heap(h, "queries");
		}
	}
	while (nlive)
		assert_int_equal(heap_free(h, &live[--nlive]), 0);
	assert_int_equal(heap_largest_free(h), BM_SIZE);
	check_heap(h, "end");
	heap_destroy(h);
	free(bm);
}

/* ---- HEAP-RANDOM-DIFFERENTIAL ---- */

/* The reference model: holes in a sorted array, every search a linear scan. */
struct model {
	uint64_t start, size, end;
	struct range *h;
	size_t n, cap;
	uint64_t free_bytes, live;
};

static void m_insert_at(struct model *m, size_t i, uint64_t start, uint64_t size)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->h = realloc(m->h, m->cap * sizeof(*m->h));
		assert_non_null(m->h);
	}
	memmove(&m->h[i + 1], &m->h[i], (m->n - i) * sizeof(*m->h));
	m->h[i].start = start;
	m->h[i].size = size;
	m->n++;
}

static void m_remove_at(struct model *m, size_t i)
{
	memmove(&m->h[i], &m->h[i + 1], (m->n - i - 1) * sizeof(*m->h));
	m->n--;
}

static bool m_fit(const struct range *r, uint64_t lo, uint64_t hi, uint64_t size,
		  uint64_t align, bool top, uint64_t *at)
{
	u128 s = r->start > lo ? r->start : lo;
	u128 e = (u128)r->start + r->size < hi ? (u128)r->start + r->size : hi;
	u128 a;

	if (s + size > e)
		return false;
	a = top ? (e - size) / align * align : (s + align - 1) / align * align;
	if (a < s || a + size > e)
		return false;
	*at = (uint64_t)a;
	return true;
}

/* Take [at, at+size) out of hole i. */
static void m_carve(struct model *m, size_t i, uint64_t at, uint64_t size)
{
	struct range r = m->h[i];
	uint64_t tail = r.start + r.size - (at + size);

	m_remove_at(m, i);
	if (tail)
		m_insert_at(m, i, at + size, tail);
	if (at > r.start)
		m_insert_at(m, i, r.start, at - r.start);
	m->free_bytes -= size;
	m->live++;
}

static int m_alloc(struct model *m, uint64_t size, uint64_t align, uint64_t rs,
		   uint64_t re, int mode, uint64_t *at)
{
	uint64_t lo, hi, x;
	size_t pick = SIZE_MAX;

	if (size == 0 || size > m->size || rs >= re)
		return -EINVAL;
	if (align == 0)
		align = 1;
	if (align & (align - 1) || align > m->size)
		return -EINVAL;
	if (mode < 0 || mode > 2)
		return -EINVAL;
	lo = rs > m->start ? rs : m->start;
	hi = re < m->end ? re : m->end;
	if (mode == HEAP_BOTTOM_UP) {
		for (size_t i = 0; i < m->n && pick == SIZE_MAX; i++)
			if (m_fit(&m->h[i], lo, hi, size, align, false, &x))
				pick = i, *at = x;
	} else if (mode == HEAP_TOP_DOWN) {
		for (size_t i = m->n; i-- > 0 && pick == SIZE_MAX;)
			if (m_fit(&m->h[i], lo, hi, size, align, true, &x))
				pick = i, *at = x;
	} else {
		for (size_t i = 0; i < m->n; i++)
			if ((pick == SIZE_MAX || m->h[i].size < m->h[pick].size) &&
			    m_fit(&m->h[i], lo, hi, size, align, false, &x))
				pick = i, *at = x;
	}
	if (pick == SIZE_MAX)
		return -ENOSPC;
	m_carve(m, pick, *at, size);
	return 0;
}

static int m_reserve(struct model *m, uint64_t start, uint64_t size)
{
	if (size == 0 || start + size < start || start < m->start || start + size > m->end)
		return -EINVAL;
	for (size_t i = 0; i < m->n; i++)
		if (m->h[i].start <= start && start + size <= m->h[i].start + m->h[i].size) {
			m_carve(m, i, start, size);
			return 0;
		}
	return -EEXIST;
}

static void m_free(struct model *m, uint64_t start, uint64_t size)
{
	size_t i = 0;

	while (i < m->n && m->h[i].start < start)
		i++;
	m_insert_at(m, i, start, size);
	if (i + 1 < m->n && m->h[i].start + m->h[i].size == m->h[i + 1].start) {
		m->h[i].size += m->h[i + 1].size;
		m_remove_at(m, i + 1);
	}
	if (i > 0 && m->h[i - 1].start + m->h[i - 1].size == m->h[i].start) {
		m->h[i - 1].size += m->h[i].size;
		m_remove_at(m, i);
	}
	m->free_bytes += size;
	m->live--;
}

/* A random alignment: mostly none or small, sometimes up to and past the
 * heap size, sometimes not a power of two. */
static uint64_t rnd_align(struct vt_rng *r, unsigned log2size)
{
	uint64_t x = vt_rng_below(r, 100);

	if (x < 35)
		return vt_rng_below(r, 2);
	if (x < 80)
		return 1ull << (1 + vt_rng_below(r, 12));
	if (x < 97)
		return 1ull << vt_rng_below(r, log2size + 2);
	return 3 + 2 * vt_rng_below(r, 1000);
}

/*
 * Sizes around scale (the heap size over four times the live target, so
 * the heap settles part full with about as many holes as live nodes), some
 * tiny, a few huge, a few invalid. With a granule, most sizes are a few
 * granules: many holes of equal size, so best fit's tie rule (lowest
 * address) is exercised.
 */
static uint64_t rnd_size(struct vt_rng *r, uint64_t heap_size, uint64_t scale,
			 uint64_t granule)
{
	uint64_t x = vt_rng_below(r, 1000);

	if (x < 200)
		return 1 + vt_rng_below(r, 16);
	if (x < 750)
		return granule ? granule * (1 + vt_rng_below(r, 8))
			       : 1 + vt_rng_below(r, 2 * scale);
	if (x < 980)
		return 1 + vt_rng_below(r, 8 * scale);
	if (x < 990)
		return 1 + vt_rng_below(r, heap_size / 16);
	if (x < 995)
		return 1 + vt_rng_below(r, heap_size);
	return x & 1 ? 0 : heap_size + 1 + vt_rng_below(r, 100);
}

/* A point near the heap: inside mostly, sometimes a little outside. */
static uint64_t rnd_point(struct vt_rng *r, const struct model *m)
{
	u128 slack = m->size / 8 + 1;
	u128 p = (u128)m->start + vt_rng_below(r, m->size + 2 * (uint64_t)slack);

	p = p < slack ? 0 : p - slack;
	return p > UINT64_MAX ? UINT64_MAX : (uint64_t)p;
}

struct tile_ctx {
	struct range *all;
	size_t n;
};

static void diff_full_compare(const struct heap *h, const struct model *m,
			      const struct heap_node *live, size_t nlive, uint64_t op, bool tile)
{
	struct snap s = { 0 };
	uint64_t largest = 0;
	char where[64];

	snprintf(where, sizeof(where), "op %" PRIu64, op);
	check_heap(h, where);
	snap_take(h, &s);
	if (s.n != m->n)
		fail_msg("op %" PRIu64 ": heap has %zu holes, model %zu", op, s.n, m->n);
	for (size_t i = 0; i < m->n; i++) {
		if (s.r[i].start != m->h[i].start || s.r[i].size != m->h[i].size)
			fail_msg("op %" PRIu64 ": hole %zu is [%#" PRIx64 ",+%#" PRIx64
				 "), model [%#" PRIx64 ",+%#" PRIx64 ")", op, i, s.r[i].start,
				 s.r[i].size, m->h[i].start, m->h[i].size);
		if (m->h[i].size > largest)
			largest = m->h[i].size;
	}
	assert_int_equal(s.st.largest_free, largest);
	assert_int_equal(heap_largest_free(h), largest);
	snap_free(&s);

	/* heap_free_extent of a few live nodes against the model's holes. */
	for (size_t k = 0; k < 3 && nlive; k++) {
		const struct heap_node *l = &live[(op * 7919 + k * 104729) % nlive];
		uint64_t lo = 0, hi = 0, want_lo = l->start, want_hi = l->start + l->size;

		for (size_t i = 0; i < m->n; i++) {
			if (m->h[i].start + m->h[i].size == l->start)
				want_lo = m->h[i].start;
			if (m->h[i].start == l->start + l->size)
				want_hi = m->h[i].start + m->h[i].size;
		}
		heap_free_extent(h, l->start, l->size, &lo, &hi);
		if (lo != want_lo || hi != want_hi)
			fail_msg("op %" PRIu64 ": free extent of [%#" PRIx64 ",+%#" PRIx64 ") is [%#"
				 PRIx64 ",%#" PRIx64 "), model [%#" PRIx64 ",%#" PRIx64 ")", op,
				 l->start, l->size, lo, hi, want_lo, want_hi);
	}

	if (tile) {
		/* Live nodes and holes together tile the heap exactly: so no
		 * node overlaps another or a hole, and nothing leaked. */
		struct range *all = malloc((nlive + m->n) * sizeof(*all));
		uint64_t pos = m->start;

		assert_non_null(all);
		for (size_t i = 0; i < nlive; i++) {
			all[i].start = live[i].start;
			all[i].size = live[i].size;
		}
		memcpy(all + nlive, m->h, m->n * sizeof(*all));
		qsort(all, nlive + m->n, sizeof(*all), cmp_range);
		for (size_t i = 0; i < nlive + m->n; i++) {
			if (all[i].start != pos)
				fail_msg("op %" PRIu64 ": %s at %#" PRIx64 ", expected %#" PRIx64,
					 op, all[i].start < pos ? "overlap" : "gap", all[i].start, pos);
			pos += all[i].size;
		}
		assert_int_equal(pos, m->end);
		free(all);
	}
}

static void test_random_differential(void **state)
{
	const uint64_t nops = 100000;
	struct vt_rng rng;
	struct model m = { 0 };
	struct heap *h;
	struct heap_node *live;
	size_t nlive = 0, cap = 4096;
	uint64_t counts[4][2] = { { 0 } }; /* alloc, reserve, free, bad free x ok/fail */
	uint64_t granule, live_target, scale, max_holes = 0;
	unsigned log2size;
	(void)state;

	vt_rng_seed(&rng, vt_seed("HEAP-RANDOM-DIFFERENTIAL"));
	live = malloc(cap * sizeof(*live));
	assert_non_null(live);

	/* Heap geometry from the seed: odd sizes, odd bases, and one that ends
	 * right below 2^64. */
	log2size = 20 + (unsigned)vt_rng_below(&rng, 5);
	live_target = 50 + vt_rng_below(&rng, 1500);
	m.size = (1ull << log2size) + vt_rng_below(&rng, 4096);
	switch (vt_rng_below(&rng, 4)) {
	case 0: m.start = 0; break;
	case 1: m.start = 0x100000; break;
	case 2: m.start = vt_rng_next(&rng) >> 1; break;
	default: m.start = UINT64_MAX - m.size - vt_rng_below(&rng, 3); break;
	}
	m.end = m.start + m.size;
	scale = m.size / (4 * live_target);
	granule = 0;
	if (vt_rng_below(&rng, 2))
		for (granule = 1; granule * 4 <= scale; granule *= 2)
			;
	m.free_bytes = m.size;
	m_insert_at(&m, 0, m.start, m.size);
	assert_int_equal(heap_create(m.start, m.size, &h), 0);
	print_message("heap [%#" PRIx64 ", +%#" PRIx64 "), granule %" PRIu64 ", live target %" PRIu64 "\n",
		      m.start, m.size, granule, live_target);

	for (uint64_t op = 0; op < nops; op++) {
		uint64_t kind = vt_rng_below(&rng, 100);
		struct heap_stats st;
		int ret, want;

		/* Keep the live set around a few hundred: biased to free when big. */
		if (nlive > live_target && kind < 60)
			kind = 60 + kind % 30;

		if (kind < 50) {
			uint64_t size = rnd_size(&rng, m.size, scale, granule);
			uint64_t align = rnd_align(&rng, log2size);
			int mode = vt_rng_below(&rng, 200) ? (int)vt_rng_below(&rng, 3) : 3;
			uint64_t rs = 0, re = UINT64_MAX, at = 0;
			struct heap_node n = { 0xdead, 0xbeef };

			switch (vt_rng_below(&rng, 10)) {
			case 0: case 1: case 2: case 3: case 4:
				break;
			case 9:
				rs = rnd_point(&rng, &m);
				re = vt_rng_below(&rng, 2) ? rs : rs - vt_rng_below(&rng, rs + 1);
				break;
			default:
				rs = rnd_point(&rng, &m);
				re = rnd_point(&rng, &m);
				if (rs > re) {
					uint64_t t = rs;
					rs = re;
					re = t;
				}
				if (vt_rng_below(&rng, 8) == 0)
					re = UINT64_MAX;
				break;
			}
			if (nlive == cap)
				size = 0; /* keep the bookkeeping bounded: expect -EINVAL */
			want = m_alloc(&m, size, align, rs, re, mode, &at);
			ret = heap_alloc(h, &n, size, align, rs, re, (enum heap_mode)mode);
			if (ret != want || (ret == 0 && (n.start != at || n.size != size)))
				fail_msg("op %" PRIu64 ": alloc size %#" PRIx64 " align %#" PRIx64
					 " range [%#" PRIx64 ",%#" PRIx64 ") mode %d: heap %d at %#" PRIx64
					 ", model %d at %#" PRIx64, op, size, align, rs, re, mode, ret,
					 n.start, want, at);
			if (ret == 0) {
				if (align > 1)
					assert_int_equal(n.start % align, 0);
				assert_true(n.start >= rs && n.start + n.size <= re);
				live[nlive++] = n;
			}
			counts[0][ret != 0]++;
		} else if (kind < 60) {
			struct heap_node n;
			uint64_t sel = vt_rng_below(&rng, 10);

			if (sel < 4 && m.n) {
				/* inside a hole: should succeed */
				const struct range *r = &m.h[vt_rng_below(&rng, m.n)];

				n.start = r->start + vt_rng_below(&rng, r->size);
				n.size = 1 + vt_rng_below(&rng, r->start + r->size - n.start);
			} else if (sel < 5 && m.n) {
				/* from inside a hole to just past its end: should fail */
				const struct range *r = &m.h[vt_rng_below(&rng, m.n)];

				n.start = r->start + vt_rng_below(&rng, r->size);
				n.size = r->start + r->size - n.start + 1 + vt_rng_below(&rng, 3);
			} else if (sel < 6 && nlive) {
				/* touching a live node: should fail */
				const struct heap_node *l = &live[vt_rng_below(&rng, nlive)];

				n.start = l->start + vt_rng_below(&rng, l->size);
				n.size = 1 + vt_rng_below(&rng, 8192);
			} else if (sel < 9) {
				n.start = rnd_point(&rng, &m);
				n.size = 1 + vt_rng_below(&rng, 8192);
			} else {
				n.start = vt_rng_below(&rng, 2) ? rnd_point(&rng, &m) : UINT64_MAX - vt_rng_below(&rng, 100);
				n.size = vt_rng_below(&rng, 2) ? 0 : UINT64_MAX - vt_rng_below(&rng, 1000);
			}
			if (nlive == cap)
				n.size = 0;
			want = m_reserve(&m, n.start, n.size);
			ret = heap_reserve(h, &n);
			if (ret != want)
				fail_msg("op %" PRIu64 ": reserve [%#" PRIx64 ",+%#" PRIx64
					 "): heap %d, model %d", op, n.start, n.size, ret, want);
			if (ret == 0)
				live[nlive++] = n;
			counts[1][ret != 0]++;
		} else if (kind < 99) {
			size_t i;

			if (!nlive)
				continue;
			i = vt_rng_below(&rng, nlive);
			ret = heap_free(h, &live[i]);
			if (ret)
				fail_msg("op %" PRIu64 ": free [%#" PRIx64 ",+%#" PRIx64 "): %d", op,
					 live[i].start, live[i].size, ret);
			m_free(&m, live[i].start, live[i].size);
			live[i] = live[--nlive];
			counts[2][0]++;
		} else {
			/* Freeing free space (a double free) is refused, unchanged. */
			struct heap_node n;
			const struct range *r;

			if (!m.n)
				continue;
			r = &m.h[vt_rng_below(&rng, m.n)];
			n.start = r->start + vt_rng_below(&rng, r->size);
			n.size = 1 + vt_rng_below(&rng, 64);
			ret = heap_free(h, &n);
			if (ret != -EINVAL)
				fail_msg("op %" PRIu64 ": freeing free space [%#" PRIx64 ",+%#" PRIx64
					 ") returned %d", op, n.start, n.size, ret);
			counts[3][1]++;
		}

		/* Cheap per-op agreement; the full comparison every few ops. */
		heap_query(h, &st);
		if (st.free != m.free_bytes || st.holes != m.n || st.allocated != m.live ||
		    st.allocated != nlive || st.total != m.size)
			fail_msg("op %" PRIu64 ": stats free %" PRIu64 "/%" PRIu64 " holes %" PRIu64
				 "/%zu live %" PRIu64 "/%" PRIu64 " (heap/model)", op, st.free,
				 m.free_bytes, st.holes, m.n, st.allocated, m.live);
		if (m.n > max_holes)
			max_holes = m.n;
		/* Every op while the trees are small (all shapes of few nodes),
		 * then every 97th. */
		if (op < 2000 || op % 97 == 0)
			diff_full_compare(h, &m, live, nlive, op, op % 1009 == 0);
	}
	diff_full_compare(h, &m, live, nlive, nops, true);
	print_message("alloc ok/fail %" PRIu64 "/%" PRIu64 ", reserve ok/fail %" PRIu64 "/%" PRIu64
		      ", free %" PRIu64 ", refused double frees %" PRIu64 ", max holes %" PRIu64 "\n",
		      counts[0][0], counts[0][1], counts[1][0], counts[1][1], counts[2][0],
		      counts[3][1], max_holes);
	/* Both outcomes must have been exercised, or the test proves little. */
	assert_true(counts[0][0] > 10000 && counts[0][1] > 1000);
	assert_true(counts[1][0] > 1000 && counts[1][1] > 1000);

	while (nlive) {
		nlive--;
		assert_int_equal(heap_free(h, &live[nlive]), 0);
		m_free(&m, live[nlive].start, live[nlive].size);
	}
	diff_full_compare(h, &m, live, 0, nops + 1, true);
	assert_int_equal(m.n, 1);
	heap_destroy(h);
	free(m.h);
	free(live);
}

/* ---- HEAP-FREE-NEVER-FAILS ---- */

/*
 * This program is linked with --wrap=malloc (tests/meson.build): with
 * fail_mallocs set, every malloc in it (the heap's included) returns NULL.
 * A free that must create a hole between two live ranges then has no
 * memory to get a descriptor from: it must still give the range back (the
 * manager's callers cannot undo a free: a range that failed to come back
 * was leaked and the allocation disagreed with the heap).
 */
static bool fail_mallocs;
void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);

void *__wrap_malloc(size_t n)
{
	return fail_mallocs ? NULL : __real_malloc(n);
}

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_mallocs ? NULL : __real_calloc(n, size);
}

static void test_free_never_fails(void **state)
{
	enum { N = 5000 };
	struct heap *h;
	struct heap_node *n = calloc(N, sizeof(*n));
	struct heap_stats st;

	(void)state;
	assert_non_null(n);
	assert_int_equal(heap_create(0, (uint64_t)N * 4096, &h), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(heap_alloc(h, &n[i], 4096, 0, 0, UINT64_MAX, HEAP_BOTTOM_UP), 0);
	/* Every other one first: each of these frees opens a new hole between
	 * two live ranges, the case that needs a new descriptor. */
	fail_mallocs = true;
	for (int pass = 0; pass < 2; pass++)
		for (int i = pass; i < N; i += 2) {
			int ret = heap_free(h, &n[i]);
			if (ret) {
				fail_mallocs = false;
				fail_msg("heap_free of range %d failed with %d while memory was short", i, ret);
			}
		}
	fail_mallocs = false;
	check_heap(h, "after freeing everything with no memory");
	heap_query(h, &st);
	assert_int_equal(st.holes, 1);
	assert_int_equal(st.free, (uint64_t)N * 4096);
	/* Allocation is where memory shortage may show: -ENOMEM up front,
	 * nothing changed. */
	fail_mallocs = true;
	int ret = 0, got = 0;
	for (int i = 0; i < N && !ret; i++)
		if (!(ret = heap_alloc(h, &n[i], 4096, 0, 0, UINT64_MAX, HEAP_BOTTOM_UP)))
			got++;
	fail_mallocs = false;
	printf("with malloc failing: %d allocations succeeded before %d\n", got, ret);
	assert_true(ret == 0 || ret == -ENOMEM);
	check_heap(h, "after allocating with no memory");
	for (int i = 0; i < got; i++)
		assert_int_equal(heap_free(h, &n[i]), 0);
	heap_destroy(h);
	free(n);
}

/*
 * A best-fit heap keeps no address index; its frees find neighbours in the
 * boundary table, which may have to grow on a free. With malloc failing it
 * must run fuller, then drop the table for the address index, and lose
 * nothing; the table comes back once memory does.
 */
static void test_free_never_fails_best_fit(void **state)
{
	enum { N = 6000 };
	struct heap *h;
	struct heap_node *n = calloc(N, sizeof(*n));
	struct heap_footprint fp;
	struct heap_stats st;

	(void)state;
	assert_non_null(n);
	assert_int_equal(heap_create(0, (uint64_t)N * 4096, &h), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(heap_alloc(h, &n[i], 4096, 4096, 0, UINT64_MAX, HEAP_BEST_FIT), 0);
	heap_footprint(h, &fp);
	assert_false(fp.address_index);
	assert_true(fp.boundary_table);
	fail_mallocs = true;
	for (int pass = 0; pass < 2; pass++)
		for (int i = pass; i < N; i += 2) {
			int ret = heap_free(h, &n[i]);
			if (ret) {
				fail_mallocs = false;
				fail_msg("heap_free of range %d failed with %d while memory was short", i, ret);
			}
			if (pass == 0 && i % 512 == 0) {
				char why[256];
				/* heap_check sorts in memory of its own: let it have some */
				fail_mallocs = false;
				if (heap_check(h, why, sizeof(why)))
					fail_msg("after free %d with no memory: %s", i, why);
				fail_mallocs = true;
			}
		}
	fail_mallocs = false;
	heap_footprint(h, &fp);
	printf("with malloc failing: boundary table %s, address index %s\n",
	       fp.boundary_table ? "kept" : "dropped", fp.address_index ? "built" : "not built");
	assert_false(fp.boundary_table);
	assert_true(fp.address_index);
	check_heap(h, "after freeing everything with no memory");
	heap_query(h, &st);
	assert_int_equal(st.holes, 1);
	assert_int_equal(st.free, (uint64_t)N * 4096);
	/* Memory is back: the next allocation rebuilds the table. */
	for (int i = 0; i < N; i++)
		assert_int_equal(heap_alloc(h, &n[i], 4096, 4096, 0, UINT64_MAX, HEAP_BEST_FIT), 0);
	heap_footprint(h, &fp);
	assert_true(fp.boundary_table);
	for (int i = 0; i < N; i += 2)
		assert_int_equal(heap_free(h, &n[i]), 0);
	check_heap(h, "after the table came back");
	heap_destroy(h);
	free(n);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("HEAP-INIT-ONE-HOLE", test_init_one_hole),
		VT_CASE("HEAP-RESERVE-BOUNDARIES", test_reserve_boundaries),
		VT_CASE("HEAP-FILL-EXACT", test_fill_exact),
		VT_CASE("HEAP-RANGE-RESTRICT", test_range_restrict),
		VT_CASE("HEAP-ALIGN", test_align),
		VT_CASE("HEAP-TOPDOWN-BOTTOMUP", test_topdown_bottomup),
		VT_CASE("HEAP-RANDOM-DIFFERENTIAL", test_random_differential),
		VT_CASE("HEAP-FREE-NEVER-FAILS", test_free_never_fails),
		VT_CASE("HEAP-FREE-NEVER-FAILS-BEST-FIT", test_free_never_fails_best_fit),
	};

	return VT_MAIN("heap", cases);
}
