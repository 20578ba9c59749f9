/* SPDX-License-Identifier: MIT */
/*
 * heap_old.c - the segment heap as it was before the size-class rewrite
 * (core/heap.c at e89f013), kept only as a baseline: heap_bench times it
 * beside the new heap, and tests/test_heap_vs_old.c checks that the new one
 * makes exactly its decisions. API in heap_old.h (old_heap_* mirrors heap_*).
 * Must not: be used by libvidmm, or be changed except to keep it building.
 *
 * Owns: the holes of one heap, their two indexes, and the pool their
 * descriptors come from.
 * Must not: track allocated ranges (the caller's struct heap_node holds them;
 * the heap only counts them), know segments, allocations or the GART, lock,
 * or allocate memory per operation in steady state.
 *
 * Every hole is linked into two red-black trees (rbtree.h):
 *  - by address, each node augmented with the largest hole in its subtree
 *    (subtree_max). Descending while skipping subtrees whose maximum is too
 *    small finds the lowest (highest) hole of at least a given size at or
 *    after (before) a given address in O(log n): bottom-up, top-down and
 *    range-restricted placement, and the neighbour lookup on free.
 *  - by (size, address), for best fit: the first node of at least the
 *    requested size is the best hole when no alignment or range gets in the
 *    way. The one hole resized last may sit at its old place in this tree
 *    until the tree is next searched (size_settle): alloc-then-free of a
 *    size usually restores it, and then it never has to move.
 * The largest hole is the address tree root's subtree_max: O(1).
 *
 * Cost per operation is O(log n) in the number of holes, plus, only for
 * aligned or range-restricted requests, O(log n) for each hole that is large
 * enough by size but loses to alignment padding or lies outside the range
 * (there is no exact O(log n) index for "fits after padding"; the kernel's
 * drm_mm has the same property). Best fit with alignment or a range walks the
 * size order and the address order in lock step and stops as soon as either
 * walk decides, so it costs at most twice the cheaper of the two walks.
 *
 * Hole descriptors come from chunks owned by the heap and are recycled on a
 * free list: the pool grows to the peak number of holes and stays there.
 * heap_free never fails: there are never more holes than live nodes + 1, so
 * a pool of at least live + 2 descriptors always has a spare for the hole a
 * free may create (and for the split an allocation may make). Allocation
 * grows the pool to that size before it changes anything, so its -ENOMEM
 * comes up front, and a free can always give a range back.
 */
#include "heap_old.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/rbtree.h"

struct hole {
	struct rb_node rb_addr; /* address tree; key: start */
	struct rb_node rb_size; /* size tree; key: (size, start) */
	uint64_t start;
	uint64_t size;
	union {
		uint64_t subtree_max; /* largest size in rb_addr's subtree */
		struct hole *next_free; /* while on the pool's free list */
	};
};

struct hole_chunk {
	struct hole_chunk *next;
	struct hole holes[];
};

struct old_heap {
	uint64_t start;
	uint64_t size;
	uint64_t end; /* start + size; never wraps (heap_create refuses that) */
	struct rb_root by_addr;
	struct rb_root by_size;
	uint64_t free_bytes;
	uint64_t nholes;
	uint64_t live; /* nodes handed out and not yet freed */
	struct hole *moved; /* resized since placed in the size tree; see size_settle */
	struct hole *free_list;
	struct hole_chunk *chunks;
	size_t next_chunk; /* holes in the next chunk: doubles up to a cap */
	uint64_t pool_total; /* descriptors in all chunks (holes + free list) */
};

#define CHUNK_FIRST 16
#define CHUNK_MAX 4096

static inline uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static inline struct hole *addr_hole(const struct rb_node *rb)
{
	return rb_entry(rb, struct hole, rb_addr);
}

static inline struct hole *size_hole(const struct rb_node *rb)
{
	return rb_entry(rb, struct hole, rb_size);
}

static inline struct hole *addr_hole_safe(const struct rb_node *rb)
{
	return rb ? addr_hole(rb) : NULL;
}

/* End of a hole; holes lie inside the heap, so this never wraps. */
static inline uint64_t hole_end(const struct hole *hl)
{
	return hl->start + hl->size;
}

static inline uint64_t subtree_max(const struct rb_node *rb)
{
	return rb ? addr_hole(rb)->subtree_max : 0;
}

/* ---- augmentation of the address tree ---- */

static inline uint64_t compute_max(const struct hole *hl)
{
	return max_u64(hl->size, max_u64(subtree_max(hl->rb_addr.rb_left),
					 subtree_max(hl->rb_addr.rb_right)));
}

static void aug_propagate(struct rb_node *rb, struct rb_node *stop)
{
	while (rb != stop) {
		struct hole *hl = addr_hole(rb);
		uint64_t m = compute_max(hl);

		/* Unchanged here means unchanged above: the ancestors were right
		 * before this change (see rb_augment_callbacks). */
		if (hl->subtree_max == m)
			break;
		hl->subtree_max = m;
		rb = rb_parent(rb);
	}
}

static void aug_copy(struct rb_node *old, struct rb_node *new_node)
{
	addr_hole(new_node)->subtree_max = addr_hole(old)->subtree_max;
}

static void aug_rotate(struct rb_node *old, struct rb_node *new_node)
{
	struct hole *o = addr_hole(old);

	addr_hole(new_node)->subtree_max = o->subtree_max;
	o->subtree_max = compute_max(o);
}

static const struct rb_augment_callbacks aug_cb = {
	aug_propagate, aug_copy, aug_rotate,
};

/* hl grew in place: raise the maxima above it while they are smaller. Unlike
 * a full recompute this reads no siblings. */
static void aug_grew(struct hole *hl)
{
	struct rb_node *rb = &hl->rb_addr;

	while (rb && addr_hole(rb)->subtree_max < hl->size) {
		addr_hole(rb)->subtree_max = hl->size;
		rb = rb_parent(rb);
	}
}

/* hl shrank in place from old_size: nothing above it changes unless it was
 * the largest hole of its own subtree. */
static void aug_shrank(struct hole *hl, uint64_t old_size)
{
	if (hl->subtree_max > old_size)
		return;
	aug_propagate(&hl->rb_addr, NULL);
}

/* ---- descriptor pool ---- */

/* Make sure one descriptor is available; called before any change. */
static int pool_reserve(struct old_heap *h)
{
	struct hole_chunk *c;
	size_t n = h->next_chunk;

	if (h->free_list)
		return 0;
	c = malloc(sizeof(*c) + n * sizeof(struct hole));
	if (!c)
		return -ENOMEM;
	c->next = h->chunks;
	h->chunks = c;
	h->pool_total += n;
	for (size_t i = n; i-- > 0;) {
		c->holes[i].next_free = h->free_list;
		h->free_list = &c->holes[i];
	}
	if (h->next_chunk < CHUNK_MAX)
		h->next_chunk *= 2;
	return 0;
}

/* Before a node is handed out: enough descriptors that every later free
 * (and this operation's split) finds a spare. */
static int pool_ensure(struct old_heap *h)
{
	while (h->pool_total < h->live + 2) {
		struct hole *keep = h->free_list;
		/* pool_reserve adds a chunk only when the free list is empty. */
		h->free_list = NULL;
		int ret = pool_reserve(h);
		if (!ret) {
			/* Append the old free list behind the new chunk's. */
			struct hole **tail = &h->free_list;
			while (*tail)
				tail = &(*tail)->next_free;
			*tail = keep;
		} else {
			h->free_list = keep;
			return ret;
		}
	}
	return 0;
}

/* Only after pool_reserve succeeded in this operation. */
static inline struct hole *pool_get(struct old_heap *h)
{
	struct hole *hl = h->free_list;

	h->free_list = hl->next_free;
	return hl;
}

static inline void pool_put(struct old_heap *h, struct hole *hl)
{
	hl->next_free = h->free_list;
	h->free_list = hl;
}

/* ---- the size tree ---- */

/* (size, start) order; start breaks ties so keys are unique. One 128-bit
 * comparison is one branch instead of two. */
typedef unsigned __int128 size_key;

static inline size_key key_of(uint64_t size, uint64_t start)
{
	return ((size_key)size << 64) | start;
}

static inline bool size_less(uint64_t size_a, uint64_t start_a, const struct hole *b)
{
	return key_of(size_a, start_a) < key_of(b->size, b->start);
}

/*
 * The descents below use plain branches on purpose: branch-free (cmov)
 * versions measured 30-60% slower on the benchmark's alloc+free pairs,
 * presumably because a predicted branch lets the CPU fetch the next level
 * before the comparison resolves, where a cmov chain must wait for it.
 */
static void size_insert(struct old_heap *h, struct hole *hl)
{
	struct rb_node **link = &h->by_size.rb_node, *parent = NULL;
	size_key k = key_of(hl->size, hl->start);

	while (*link) {
		parent = *link;
		if (k < key_of(size_hole(parent)->size, size_hole(parent)->start))
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&hl->rb_size, parent, link);
	rb_insert_color(&hl->rb_size, &h->by_size);
}

/*
 * Resizing a hole does not move it in the size tree at once: the heap
 * remembers the one hole resized last (h->moved) and puts it right
 * (size_settle) only before the size tree is next searched or inserted
 * into. Erasing nodes needs no keys, so it may happen meanwhile. An alloc
 * then free of the same size shrinks a hole and grows it back, so usually
 * the hole is still in place when settled, and the two moves (an erase and
 * an insert each) are saved; bottom-up and top-down heaps, which never
 * search the size tree, settle only when a new hole is inserted.
 */
static void size_settle(struct old_heap *h)
{
	struct hole *hl = h->moved;
	struct rb_node *p, *n;

	if (!hl)
		return;
	h->moved = NULL;
	p = rb_prev(&hl->rb_size);
	n = rb_next(&hl->rb_size);
	if ((!p || size_less(size_hole(p)->size, size_hole(p)->start, hl)) &&
	    (!n || size_less(hl->size, hl->start, size_hole(n))))
		return;
	rb_erase(&hl->rb_size, &h->by_size);
	size_insert(h, hl);
}

/* hl's size (and maybe start) is about to change: the hole resized before
 * must be settled first, while every other key is still where it belongs. */
static void size_will_change(struct old_heap *h, struct hole *hl)
{
	if (h->moved != hl) {
		size_settle(h);
		h->moved = hl;
	}
}

/* A new hole into the size tree: the tree must be in order for the search. */
static void size_add(struct old_heap *h, struct hole *hl)
{
	size_settle(h);
	size_insert(h, hl);
}

/* First hole, in (size, start) order, of at least need bytes. */
static struct hole *size_lower_bound(const struct old_heap *h, uint64_t need)
{
	struct rb_node *rb = h->by_size.rb_node;
	struct hole *best = NULL;

	while (rb) {
		struct hole *hl = size_hole(rb);

		if (hl->size >= need) {
			best = hl;
			rb = rb->rb_left;
		} else {
			rb = rb->rb_right;
		}
	}
	return best;
}

/* ---- the address tree ---- */

/* Link a new hole whose in-order neighbours are prev and next (either NULL)
 * without searching: between two neighbours exactly one of prev's right
 * and next's left child slots is free. */
static void addr_insert_between(struct old_heap *h, struct hole *hl,
				struct hole *prev, struct hole *next)
{
	struct rb_node *parent, **link;

	if (prev && !prev->rb_addr.rb_right) {
		parent = &prev->rb_addr;
		link = &parent->rb_right;
	} else if (next) {
		/* next is the leftmost node of the whole tree (no prev) or
		 * of prev's right subtree: its left slot is free. */
		parent = &next->rb_addr;
		link = &parent->rb_left;
	} else {
		/* No neighbours at all: the tree is empty. */
		parent = NULL;
		link = &h->by_addr.rb_node;
	}
	rb_link_node(&hl->rb_addr, parent, link);
	hl->subtree_max = hl->size;
	rb_insert_augmented(&hl->rb_addr, &h->by_addr, &aug_cb);
}

/* Holes around address a: *prev the last with start < a, *next the first
 * with start >= a (either may be NULL). One descent. */
static void addr_neighbours(const struct old_heap *h, uint64_t a,
			    struct hole **prev, struct hole **next)
{
	struct rb_node *rb = h->by_addr.rb_node;
	struct hole *p = NULL, *n = NULL;

	while (rb) {
		struct hole *hl = addr_hole(rb);

		if (hl->start < a) {
			p = hl;
			rb = rb->rb_right;
		} else {
			n = hl;
			rb = rb->rb_left;
		}
	}
	*prev = p;
	*next = n;
}

/* Leftmost hole of at least need bytes in the subtree rb, whose
 * subtree_max the caller has checked to be >= need. */
static struct hole *leftmost_fit(struct rb_node *rb, uint64_t need)
{
	for (;;) {
		struct hole *hl = addr_hole(rb);

		if (subtree_max(rb->rb_left) >= need)
			rb = rb->rb_left;
		else if (hl->size >= need)
			return hl;
		else
			rb = rb->rb_right; /* must hold it: subtree_max >= need */
	}
}

static struct hole *rightmost_fit(struct rb_node *rb, uint64_t need)
{
	for (;;) {
		struct hole *hl = addr_hole(rb);

		if (subtree_max(rb->rb_right) >= need)
			rb = rb->rb_right;
		else if (hl->size >= need)
			return hl;
		else
			rb = rb->rb_left;
	}
}

/* The next hole after hl (in address order) of at least need bytes.
 * O(log n): up to the first ancestor whose right part can hold it, then down. */
static struct hole *next_fit(const struct hole *hl, uint64_t need)
{
	const struct rb_node *rb = &hl->rb_addr, *parent;

	if (subtree_max(rb->rb_right) >= need)
		return leftmost_fit(rb->rb_right, need);
	while ((parent = rb_parent(rb))) {
		if (parent->rb_left == rb) {
			if (addr_hole(parent)->size >= need)
				return addr_hole(parent);
			if (subtree_max(parent->rb_right) >= need)
				return leftmost_fit(parent->rb_right, need);
		}
		rb = parent;
	}
	return NULL;
}

static struct hole *prev_fit(const struct hole *hl, uint64_t need)
{
	const struct rb_node *rb = &hl->rb_addr, *parent;

	if (subtree_max(rb->rb_left) >= need)
		return rightmost_fit(rb->rb_left, need);
	while ((parent = rb_parent(rb))) {
		if (parent->rb_right == rb) {
			if (addr_hole(parent)->size >= need)
				return addr_hole(parent);
			if (subtree_max(parent->rb_left) >= need)
				return rightmost_fit(parent->rb_left, need);
		}
		rb = parent;
	}
	return NULL;
}

/* Lowest hole of at least need bytes that ends after lo. */
static struct hole *first_fit_from(const struct old_heap *h, uint64_t lo, uint64_t need)
{
	struct rb_node *rb = h->by_addr.rb_node;
	struct hole *cand = NULL;

	if (subtree_max(rb) < need)
		return NULL;
	/* Holes are disjoint and sorted, so ends are sorted like starts. */
	while (rb) {
		struct hole *hl = addr_hole(rb);
		if (hole_end(hl) > lo) {
			cand = hl;
			rb = rb->rb_left;
		} else {
			rb = rb->rb_right;
		}
	}
	if (!cand || cand->size >= need)
		return cand;
	return next_fit(cand, need);
}

/* Highest hole of at least need bytes that starts before hi. */
static struct hole *last_fit_before(const struct old_heap *h, uint64_t hi, uint64_t need)
{
	struct rb_node *rb = h->by_addr.rb_node;
	struct hole *cand = NULL;

	if (subtree_max(rb) < need)
		return NULL;
	while (rb) {
		struct hole *hl = addr_hole(rb);
		if (hl->start < hi) {
			cand = hl;
			rb = rb->rb_right;
		} else {
			rb = rb->rb_left;
		}
	}
	if (!cand || cand->size >= need)
		return cand;
	return prev_fit(cand, need);
}

/* ---- placement inside one hole ---- */

/* Lowest aligned start for size bytes in hl clipped to [lo, hi).
 * align is a power of two (1 = none). No arithmetic here can wrap. */
static bool fit_low(const struct hole *hl, uint64_t lo, uint64_t hi,
		    uint64_t size, uint64_t align, uint64_t *out)
{
	uint64_t s = max_u64(hl->start, lo), e = min_u64(hole_end(hl), hi), pad;

	if (s >= e || e - s < size)
		return false;
	pad = (align - (s & (align - 1))) & (align - 1);
	if (pad > e - s - size)
		return false;
	*out = s + pad;
	return true;
}

/* Highest aligned start such that the range ends as high as it can. */
static bool fit_high(const struct hole *hl, uint64_t lo, uint64_t hi,
		     uint64_t size, uint64_t align, uint64_t *out)
{
	uint64_t s = max_u64(hl->start, lo), e = min_u64(hole_end(hl), hi), x;

	if (s >= e || e - s < size)
		return false;
	x = (e - size) & ~(align - 1);
	if (x < s)
		return false;
	*out = x;
	return true;
}

static struct hole *find_bottom_up(const struct old_heap *h, uint64_t size, uint64_t align,
				   uint64_t lo, uint64_t hi, uint64_t *at)
{
	for (struct hole *hl = first_fit_from(h, lo, size);
	     hl && hl->start < hi && hi - hl->start >= size;
	     hl = next_fit(hl, size)) {
		if (fit_low(hl, lo, hi, size, align, at))
			return hl;
	}
	return NULL;
}

static struct hole *find_top_down(const struct old_heap *h, uint64_t size, uint64_t align,
				  uint64_t lo, uint64_t hi, uint64_t *at)
{
	for (struct hole *hl = last_fit_before(h, hi, size);
	     hl && hole_end(hl) > lo && hole_end(hl) - lo >= size;
	     hl = prev_fit(hl, size)) {
		if (fit_high(hl, lo, hi, size, align, at))
			return hl;
	}
	return NULL;
}

/*
 * Smallest hole that can hold the request, ties to the lowest address, placed
 * at its lowest aligned address inside the range. "Smallest" is by the
 * hole's whole size, not the part inside the range.
 */
static struct hole *find_best_fit(struct old_heap *h, uint64_t size, uint64_t align,
				  uint64_t lo, uint64_t hi, uint64_t *at)
{
	struct hole *s, *a, *best = NULL;
	struct rb_node *nx;
	uint64_t best_at = 0, x;

	size_settle(h);
	s = size_lower_bound(h, size);
	if (!s)
		return NULL;
	if (align == 1 && lo <= h->start && hi >= h->end) {
		/* Nothing can get in the way: the first big-enough hole is it. */
		*at = s->start;
		return s;
	}
	/* Most aligned requests fit the first candidate (page-multiple sizes in
	 * a page-aligned heap): try it before starting the address walk. */
	if (fit_low(s, lo, hi, size, align, at))
		return s;
	/*
	 * The size walk ends at the first hole that fits (the answer); the
	 * address walk ends when it has seen every big-enough hole in the
	 * range (then its best is the answer). Step both, stop at the first
	 * to finish.
	 */
	a = first_fit_from(h, lo, size);
	for (;;) {
		if (!a || a->start >= hi || hi - a->start < size)
			break; /* address walk done: best is the answer */
		if (fit_low(a, lo, hi, size, align, &x) && (!best || a->size < best->size)) {
			best = a;
			best_at = x;
		}
		a = next_fit(a, size);

		nx = rb_next(&s->rb_size);
		if (!nx)
			return NULL; /* every big-enough hole tried: none fits */
		s = size_hole(nx);
		if (fit_low(s, lo, hi, size, align, at))
			return s;
	}
	if (best)
		*at = best_at;
	return best;
}

/* ---- changing the holes ---- */

static void hole_remove(struct old_heap *h, struct hole *hl)
{
	if (h->moved == hl)
		h->moved = NULL;
	rb_erase_augmented(&hl->rb_addr, &h->by_addr, &aug_cb);
	rb_erase(&hl->rb_size, &h->by_size);
	h->nholes--;
	pool_put(h, hl);
}

/*
 * Take [at, at+size) out of hl, which contains it. Shrinking a hole in place
 * keeps its address order (the rest of it stays between the same
 * neighbours), so only its subtree maxima and its size-tree position change.
 * Needs the spare descriptor from pool_reserve when it splits hl.
 */
static void carve(struct old_heap *h, struct hole *hl, uint64_t at, uint64_t size)
{
	uint64_t hs = hl->start, he = hole_end(hl), e = at + size;

	h->free_bytes -= size;
	if (at == hs && e == he) {
		hole_remove(h, hl);
		return;
	}
	size_will_change(h, hl);
	if (at == hs) {
		hl->start = e;
		hl->size = he - e;
	} else {
		hl->size = at - hs;
	}
	/* Both trees must be whole again before the tail goes in: insertion
	 * compares keys and trusts the ancestors' maxima. */
	aug_shrank(hl, he - hs);
	if (at != hs && e != he) {
		struct hole *tail = pool_get(h);
		struct rb_node *nx = rb_next(&hl->rb_addr);

		tail->start = e;
		tail->size = he - e;
		addr_insert_between(h, tail, hl, addr_hole_safe(nx));
		size_add(h, tail);
		h->nholes++;
	}
}

/* ---- the API ---- */

int old_heap_create(uint64_t start, uint64_t size, struct old_heap **out)
{
	struct old_heap *h;
	struct hole *hl;

	if (!out || size == 0 || start + size < start)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->start = start;
	h->size = size;
	h->end = start + size;
	h->next_chunk = CHUNK_FIRST;
	if (pool_reserve(h)) {
		free(h);
		return -ENOMEM;
	}
	hl = pool_get(h);
	hl->start = start;
	hl->size = size;
	addr_insert_between(h, hl, NULL, NULL);
	size_insert(h, hl);
	h->nholes = 1;
	h->free_bytes = size;
	*out = h;
	return 0;
}

void old_heap_destroy(struct old_heap *h)
{
	struct hole_chunk *c, *n;

	if (!h)
		return;
	for (c = h->chunks; c; c = n) {
		n = c->next;
		free(c);
	}
	free(h);
}

int old_heap_alloc(struct old_heap *h, struct heap_node *node, uint64_t size,
	       uint64_t align, uint64_t range_start, uint64_t range_end,
	       enum heap_mode mode)
{
	struct hole *hl;
	uint64_t lo, hi, at = 0;
	int ret;

	if (!h || !node || size == 0 || size > h->size || range_start >= range_end)
		return -EINVAL;
	if (align <= 1)
		align = 1;
	else if ((align & (align - 1)) || align > h->size)
		return -EINVAL;
	if (mode != HEAP_BEST_FIT && mode != HEAP_BOTTOM_UP && mode != HEAP_TOP_DOWN)
		return -EINVAL;

	/* A valid range that misses the heap or is too small is "no fit". */
	lo = max_u64(range_start, h->start);
	hi = min_u64(range_end, h->end);
	if (lo >= hi || hi - lo < size)
		return -ENOSPC;

	switch (mode) {
	case HEAP_BOTTOM_UP:
		hl = find_bottom_up(h, size, align, lo, hi, &at);
		break;
	case HEAP_TOP_DOWN:
		hl = find_top_down(h, size, align, lo, hi, &at);
		break;
	default:
		hl = find_best_fit(h, size, align, lo, hi, &at);
		break;
	}
	if (!hl)
		return -ENOSPC;
	/* The search above changed nothing yet. */
	ret = pool_ensure(h);
	if (ret)
		return ret;
	carve(h, hl, at, size);
	node->start = at;
	node->size = size;
	h->live++;
	return 0;
}

int old_heap_reserve(struct old_heap *h, struct heap_node *node)
{
	struct hole *prev, *next, *hl;
	uint64_t s, e;
	int ret;

	if (!h || !node)
		return -EINVAL;
	s = node->start;
	e = s + node->size;
	if (node->size == 0 || e < s || s < h->start || e > h->end)
		return -EINVAL;
	/* The only hole that can contain s is the last one starting at or
	 * before it. */
	addr_neighbours(h, s + 1, &prev, &next);
	hl = prev;
	if (!hl || hole_end(hl) < e)
		return -EEXIST;
	ret = pool_ensure(h);
	if (ret)
		return ret;
	carve(h, hl, s, node->size);
	h->live++;
	return 0;
}

int old_heap_free(struct old_heap *h, struct heap_node *node)
{
	struct hole *prev, *next, *hl;
	uint64_t s, e;
	bool join_prev, join_next;

	if (!h || !node)
		return -EINVAL;
	s = node->start;
	e = s + node->size;
	/* Not required by the contract, but cheap: refuse what cannot be a
	 * live node (outside the heap, or overlapping free space, such as a
	 * double free) instead of corrupting the trees. */
	if (node->size == 0 || e < s || s < h->start || e > h->end || h->live == 0)
		return -EINVAL;
	addr_neighbours(h, s, &prev, &next);
	if ((prev && hole_end(prev) > s) || (next && next->start < e))
		return -EINVAL;
	join_prev = prev && hole_end(prev) == s;
	join_next = next && next->start == e;

	if (join_prev && join_next) {
		uint64_t add = node->size + next->size;

		hole_remove(h, next);
		size_will_change(h, prev);
		prev->size += add;
		hl = prev;
	} else if (join_prev) {
		size_will_change(h, prev);
		prev->size += node->size;
		hl = prev;
	} else if (join_next) {
		/* Growing downwards keeps next's place in address order. */
		size_will_change(h, next);
		next->start = s;
		next->size += node->size;
		hl = next;
	} else {
		/* pool_ensure at allocation left a spare for exactly this. */
		hl = pool_get(h);
		hl->start = s;
		hl->size = node->size;
		addr_insert_between(h, hl, prev, next);
		size_add(h, hl);
		h->nholes++;
		hl = NULL;
	}
	if (hl) {
		aug_grew(hl);
	}
	h->free_bytes += node->size;
	h->live--;
	return 0;
}

void old_heap_query(const struct old_heap *h, struct heap_stats *out)
{
	out->total = h->size;
	out->free = h->free_bytes;
	out->largest_free = subtree_max(h->by_addr.rb_node);
	out->holes = h->nholes;
	out->allocated = h->live;
}

uint64_t old_heap_largest_free(const struct old_heap *h)
{
	return subtree_max(h->by_addr.rb_node);
}

int old_heap_for_each_hole(const struct old_heap *h,
		       int (*fn)(void *arg, uint64_t start, uint64_t size),
		       void *arg)
{
	for (struct rb_node *rb = rb_first(&h->by_addr); rb; rb = rb_next(rb)) {
		const struct hole *hl = addr_hole(rb);
		int ret = fn(arg, hl->start, hl->size);

		if (ret)
			return ret;
	}
	return 0;
}

size_t old_heap_hole_bytes(void)
{
	return sizeof(struct hole);
}

/* ---- checker ---- */

static int cmp_addr(const struct rb_node *a, const struct rb_node *b)
{
	uint64_t x = addr_hole(a)->start, y = addr_hole(b)->start;

	return x < y ? -1 : x > y;
}

static int cmp_size(const struct rb_node *a, const struct rb_node *b)
{
	const struct hole *x = size_hole(a), *y = size_hole(b);

	if (size_less(x->size, x->start, y))
		return -1;
	return size_less(y->size, y->start, x) ? 1 : 0;
}

static int aug_ok(const struct rb_node *rb, char *why, size_t why_len)
{
	const struct hole *hl = addr_hole(rb);

	if (hl->subtree_max != compute_max(hl)) {
		if (why && why_len)
			snprintf(why, why_len,
				 "heap: hole [%#llx,+%#llx) has subtree max %#llx, expected %#llx",
				 (unsigned long long)hl->start, (unsigned long long)hl->size,
				 (unsigned long long)hl->subtree_max,
				 (unsigned long long)compute_max(hl));
		return 1;
	}
	return 0;
}

#define CHECK_FAIL(...)                                          \
	do {                                                     \
		if (why && why_len)                              \
			snprintf(why, why_len, "heap: " __VA_ARGS__); \
		return -EUCLEAN;                                 \
	} while (0)

int old_heap_check(const struct old_heap *h, char *why, size_t why_len)
{
	long na, ns;
	uint64_t sum = 0, count = 0, largest = 0;
	const struct hole *prev = NULL;
	bool saw_moved = false;

	if (why && why_len)
		why[0] = '\0';
	if (h->size == 0 || h->end != h->start + h->size || h->end < h->start)
		CHECK_FAIL("bad range start %#llx size %#llx", (unsigned long long)h->start,
			   (unsigned long long)h->size);
	na = rb_check(&h->by_addr, cmp_addr, aug_ok, why, why_len);
	if (na < 0)
		return -EUCLEAN;
	/* The size tree is in key order except for h->moved, which may sit
	 * where its old key belonged until settled: check the order of the
	 * others by hand when there is one. */
	ns = rb_check(&h->by_size, h->moved ? NULL : cmp_size, NULL, why, why_len);
	if (ns < 0)
		return -EUCLEAN;
	if (h->moved) {
		const struct hole *last = NULL;

		for (struct rb_node *rb = rb_first(&h->by_size); rb; rb = rb_next(rb)) {
			const struct hole *x = size_hole(rb);

			if (x == h->moved)
				continue;
			if (last && !size_less(last->size, last->start, x))
				CHECK_FAIL("size tree out of order at hole %#llx",
					   (unsigned long long)x->start);
			last = x;
		}
	}

	for (struct rb_node *rb = rb_first(&h->by_addr); rb; rb = rb_next(rb)) {
		const struct hole *hl = addr_hole(rb);
		const struct rb_node *up = &hl->rb_size;
		unsigned depth = 0;

		if (hl->size == 0)
			CHECK_FAIL("empty hole at %#llx", (unsigned long long)hl->start);
		if (hl->start < h->start || hl->start + hl->size < hl->start ||
		    hl->start + hl->size > h->end)
			CHECK_FAIL("hole [%#llx,+%#llx) outside the heap",
				   (unsigned long long)hl->start, (unsigned long long)hl->size);
		if (prev && hole_end(prev) > hl->start)
			CHECK_FAIL("holes at %#llx and %#llx overlap",
				   (unsigned long long)prev->start, (unsigned long long)hl->start);
		if (prev && hole_end(prev) == hl->start)
			CHECK_FAIL("holes at %#llx and %#llx are adjacent (not coalesced)",
				   (unsigned long long)prev->start, (unsigned long long)hl->start);
		/* The same descriptor must be in the size tree: its parent chain
		 * must end at that tree's root (by structure, not by key, since
		 * h->moved need not be where its key says). */
		while (rb_parent(up) && depth++ < 128)
			up = rb_parent(up);
		if (up != h->by_size.rb_node)
			CHECK_FAIL("hole at %#llx missing from the size tree",
				   (unsigned long long)hl->start);
		if (hl == h->moved)
			saw_moved = true;
		sum += hl->size;
		count++;
		largest = max_u64(largest, hl->size);
		prev = hl;
	}
	if (h->moved && !saw_moved)
		CHECK_FAIL("the resized hole is not a hole");
	if ((uint64_t)na != count || (uint64_t)ns != count || count != h->nholes)
		CHECK_FAIL("hole counts differ: address tree %ld, size tree %ld, counter %llu",
			   na, ns, (unsigned long long)h->nholes);
	if (sum != h->free_bytes)
		CHECK_FAIL("free bytes %llu but holes add up to %llu",
			   (unsigned long long)h->free_bytes, (unsigned long long)sum);
	if (largest != subtree_max(h->by_addr.rb_node))
		CHECK_FAIL("largest hole %llu but root says %llu", (unsigned long long)largest,
			   (unsigned long long)subtree_max(h->by_addr.rb_node));
	/* Every allocated byte belongs to some live node, so: */
	if (h->live == 0 && sum != h->size)
		CHECK_FAIL("no live node but only %llu of %llu bytes free",
			   (unsigned long long)sum, (unsigned long long)h->size);
	if (h->live > h->size - sum)
		CHECK_FAIL("%llu live nodes in %llu allocated bytes",
			   (unsigned long long)h->live, (unsigned long long)(h->size - sum));
	return 0;
}

void old_heap_free_extent(const struct old_heap *h, uint64_t start, uint64_t size,
		      uint64_t *lo, uint64_t *hi)
{
	struct hole *prev, *next;

	/* Holes are coalesced, so at most one hole ends at start and at most
	 * one begins at start + size: one descent finds both candidates. */
	addr_neighbours(h, start, &prev, &next);
	*lo = prev && hole_end(prev) == start ? prev->start : start;
	if (next && next->start == start)
		next = NULL; /* start is not allocated: not a range we can extend */
	if (!next || next->start != start + size) {
		struct hole *p2, *n2;
		addr_neighbours(h, start + size, &p2, &n2);
		next = n2;
	}
	*hi = next && next->start == start + size ? hole_end(next) : start + size;
}
