/* SPDX-License-Identifier: MIT */
/*
 * heap.h - the range allocator behind every segment (internal to libvidmm).
 *
 * Owns: the free space ("holes") of one address range. Allocated ranges are
 * struct heap_node objects embedded in the caller's own descriptors (the heap
 * never allocates per-allocation memory: the caller owns the node, the heap
 * owns the holes), in the manner of the Linux drm_mm.
 *
 * Must not: know about segments, allocations, the GART or locking. The caller
 * serialises all calls on one heap.
 *
 * Holes are indexed by size class (a two-level bitmap over classes, each
 * class a small tree in (size, address) order: exact best fit at the cost of
 * a bitmap lookup and one short descent), by their boundary addresses (a
 * hash table: a free finds the holes to coalesce with in O(1)), and, only
 * once a request needs address order (bottom-up, top-down, a range, or
 * heap_reserve), by address, augmented with the largest hole in each
 * subtree. Freed ranges coalesce with their address neighbours at once, so no
 * two holes are ever adjacent. heap.c says what each index costs.
 */
#ifndef VIDMM_HEAP_H
#define VIDMM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum heap_mode {
	HEAP_BEST_FIT = 0, /* smallest hole that fits (ties: lowest address) */
	HEAP_BOTTOM_UP,    /* lowest address that fits */
	HEAP_TOP_DOWN,     /* highest address that fits (the range ends as high as it can) */
};

/* An allocated range; embedded in the caller's descriptor. */
struct heap_node {
	uint64_t start;
	uint64_t size;
};

struct heap_stats {
	uint64_t total;        /* size of the managed range */
	uint64_t free;         /* bytes in holes */
	uint64_t largest_free; /* largest hole */
	uint64_t holes;        /* number of holes */
	uint64_t allocated;    /* number of live nodes */
};

struct heap; /* opaque; see heap.c */

/* Create a heap managing [start, start+size) as one hole. size > 0, no wrap. */
int heap_create(uint64_t start, uint64_t size, struct heap **out);
/* Destroy; live nodes are forgotten (the caller owns them). */
void heap_destroy(struct heap *h);

/*
 * Allocate size bytes aligned to align (0 or 1: no alignment; otherwise a power
 * of two, at most the heap size) inside [range_start, range_end) (pass 0 and
 * UINT64_MAX for no restriction). Fills node. Returns 0, -EINVAL for bad
 * arguments, -ENOSPC when no hole fits. On failure the heap is unchanged.
 */
int heap_alloc(struct heap *h, struct heap_node *node, uint64_t size,
	       uint64_t align, uint64_t range_start, uint64_t range_end,
	       enum heap_mode mode);

/*
 * Reserve exactly [node->start, node->start+node->size). -EINVAL for zero size,
 * wrap-around or a range outside the heap; -EEXIST (overlap) when any byte of
 * it is not free. On failure the heap is unchanged.
 */
int heap_reserve(struct heap *h, struct heap_node *node);

/* Return node's range to the heap, coalescing with neighbouring holes. The
 * node must have come from heap_alloc or heap_reserve on this heap. Never
 * fails for such a node (allocation reserved what a free needs); -EINVAL for
 * one that cannot be live: outside the heap, or free space that starts or
 * ends where a hole does (any overlap with a hole, once the heap has its
 * address index). */
int heap_free(struct heap *h, struct heap_node *node);

void heap_query(const struct heap *h, struct heap_stats *out);

/* Largest hole: the last of the highest non-empty class, O(log n) at worst. */
uint64_t heap_largest_free(const struct heap *h);

/*
 * The free space touching [start, start+size): *lo is the start of the hole
 * that ends exactly at start (or start if none), *hi the end of the hole that
 * begins exactly at start+size (or start+size). O(1) (O(log n) if memory was
 * short enough to drop the boundary table). Used by eviction to
 * see how large a hole freeing a range would open.
 */
void heap_free_extent(const struct heap *h, uint64_t start, uint64_t size,
		      uint64_t *lo, uint64_t *hi);

/* Call fn for each hole in address order; stop early if fn returns non-zero
 * (that value is returned). -ENOMEM, before any call, if the heap has no
 * address index and no memory to sort its holes. */
int heap_for_each_hole(const struct heap *h,
		       int (*fn)(void *arg, uint64_t start, uint64_t size),
		       void *arg);

/*
 * Verify every internal invariant: class trees ordered, balanced and matching
 * the bitmaps, every hole in its class and in the boundary table, the address
 * index (when built) ordered with correct subtree maxima, holes inside the
 * range, non-empty, non-adjacent and non-overlapping, counters equal to the
 * indexes' contents. Returns 0, -EUCLEAN (with a one-line reason in why, if
 * non-NULL), or -ENOMEM when there was no memory to sort the holes.
 */
int heap_check(const struct heap *h, char *why, size_t why_len);

/* Bytes of heap metadata per hole (for the benchmark and README). */
size_t heap_hole_bytes(void);

/* What the heap's own memory is spent on (struct heap_node, in the caller's
 * descriptors, is not counted here). */
struct heap_footprint {
	size_t holes;    /* descriptors of the holes there are, and their indexes */
	size_t fixed;    /* the heap itself: class roots and bitmaps */
	size_t reserved; /* every descriptor, spares included: the pool keeps
			  * live + 2 so that a free never needs memory */
	bool address_index; /* built (a request needed address order) */
	bool boundary_table; /* there (dropped only when memory was short) */
};
void heap_footprint(const struct heap *h, struct heap_footprint *out);

#endif /* VIDMM_HEAP_H */
