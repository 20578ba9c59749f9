/* SPDX-License-Identifier: MIT */
/*
 * heap.c - the range allocator behind every segment (API in heap.h).
 *
 * Owns: the holes of one heap, their indexes, and the pool their descriptors
 * come from.
 * Must not: track allocated ranges (the caller's struct heap_node holds them;
 * the heap only counts them), know segments, allocations or the GART, lock,
 * or allocate memory per operation in steady state.
 *
 * Three indexes over the holes, each paid for only by what needs it:
 *
 *  - Size classes (always). A TLSF-style two-level map: class_of(size) puts
 *    sizes below 64 in classes of their own and splits every power of two
 *    above into 64 equal classes, so a class spans at most 1/64 of its sizes
 *    (a page-multiple size below 256 KiB has a class to itself). A bitmap of
 *    non-empty classes, with a summary word above it, finds the first
 *    non-empty class above a size with two count-trailing-zeros. Each class
 *    keeps its holes in a small red-black tree ordered by (size, address), so
 *    best fit is exact, not "good": the first hole at or after the request
 *    in that order is the smallest that fits, ties to the lowest address,
 *    exactly as before this heap had classes. A search costs the bitmap
 *    lookups plus one descent of one class's tree (a handful of holes).
 *
 *  - Boundaries (always, while memory allows). An open-addressing hash table
 *    maps every hole's start and end address to the hole. Holes are never
 *    adjacent, so an address is the boundary of at most one hole, and a free
 *    finds the hole ending where it starts and the hole starting where it
 *    ends with two probes instead of an address-tree descent. Each entry is a
 *    pointer with a 16-bit fingerprint of the key in its unused top bits, so a
 *    probe that misses rarely touches the hole.
 *
 *  - Address order (only once something asks for it). The red-black tree by
 *    address, augmented with the largest hole in each subtree, of the heap
 *    before the classes. It is built the first time a bottom-up or top-down
 *    placement, a range-restricted request, heap_reserve, or an aligned best
 *    fit that the size order alone cannot settle quickly needs it, and is
 *    kept from then on. Best-fit heaps whose requests are unrestricted never
 *    build it and pay nothing for it.
 *
 * A resized hole is not moved in its class tree at once: the one hole resized
 * last (h->moved) may sit where its old key belonged, in its old class's tree,
 * until the next search or insertion (size_settle). An alloc and a free of
 * one size shrink a hole and grow it back, so usually it is still in place
 * when settled, and neither move is ever made.
 *
 * Aligned best fit: the first hole in size order usually fits (page-multiple
 * sizes in a page-aligned heap always do). A hole of at least size + align - 1
 * bytes always fits, so the size-order walk stops there; it tries at most
 * ALIGN_WALK holes before handing over to the exact walk in both orders that
 * the heap always had (which builds the address index).
 *
 * Hole descriptors come from chunks owned by the heap and are recycled on a
 * free list: the pool grows to the peak number of holes and stays there.
 * heap_free never fails: there are never more holes than live nodes + 1, so a
 * pool of at least live + 2 descriptors always has a spare for the hole a free
 * may create. Allocation grows the pool to that size before it changes
 * anything, so its -ENOMEM comes up front. The boundary table may need to grow
 * on a free; if that malloc fails the table runs fuller, and if it would be
 * full the heap drops it and builds the address index instead, which needs no
 * memory (its links are in the descriptors). Either way the free succeeds.
 */
#include "heap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbtree.h"

/* ---- size classes ---- */

#define SL_BITS 6
#define SL_COUNT (1u << SL_BITS)
#define NCLASS ((64u - SL_BITS + 1u) << SL_BITS) /* 3776 */
#define NWORDS (NCLASS / 64u)                    /* 59 */
#define ALIGN_WALK 16

_Static_assert(NCLASS % 64 == 0 && NWORDS <= 64, "class bitmap layout");

struct hole {
	struct rb_node rb_cls;  /* its class's tree; key (size, start) */
	struct rb_node rb_addr; /* address index, while h->addr_on; key start */
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

struct heap {
	uint64_t start;
	uint64_t size;
	uint64_t end; /* start + size; never wraps (heap_create refuses that) */
	uint64_t free_bytes;
	uint64_t nholes;
	uint64_t live; /* nodes handed out and not yet freed */

	/* size classes: bit c of words[c / 64] is set iff cls[c] is non-empty;
	 * bit w of top is set iff words[w] is non-zero */
	uint64_t top;
	uint64_t words[NWORDS];
	struct hole *moved; /* resized since placed in its class tree */
	unsigned moved_cls; /* the class whose tree holds it meanwhile */
	uint64_t moved_size, moved_start; /* its key there */

	/* boundaries: open addressing, linear probing, 2 entries per hole */
	uint64_t *tab;      /* NULL: dropped (memory was short); addr_on then */
	uint64_t tab_mask;  /* slots - 1 */
	unsigned tab_shift; /* 64 - log2(slots) */
	uint64_t tab_used;
	bool no_tab;        /* a hole above 2^48: no room for home bits, no table */

	/* address order, built on first use */
	bool addr_on;
	struct rb_root by_addr;

	struct hole *free_list;
	struct hole_chunk *chunks;
	size_t next_chunk; /* holes in the next chunk: doubles up to a cap */
	uint64_t pool_total; /* descriptors in all chunks (holes + free list) */

	/* one per class up to the heap size's: a heap has no larger hole */
	unsigned ncls;
	struct cls {
		struct rb_root root;
		struct hole *first; /* in (size, start) order */
	} cls[];
};

#define CHUNK_FIRST 16
#define CHUNK_MAX 4096
#define TAB_MIN_BITS 4

static inline uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* End of a hole; holes lie inside the heap, so this never wraps. */
static inline uint64_t hole_end(const struct hole *hl)
{
	return hl->start + hl->size;
}

static inline unsigned class_of(uint64_t size)
{
	unsigned fl;

	if (size < SL_COUNT)
		return (unsigned)size;
	fl = 63u - (unsigned)__builtin_clzll(size);
	return ((fl - SL_BITS + 1u) << SL_BITS) | (unsigned)((size >> (fl - SL_BITS)) & (SL_COUNT - 1));
}

static inline struct hole *cls_hole(const struct rb_node *rb)
{
	return rb_entry(rb, struct hole, rb_cls);
}

static inline struct hole *addr_hole(const struct rb_node *rb)
{
	return rb_entry(rb, struct hole, rb_addr);
}

static inline struct hole *addr_hole_safe(const struct rb_node *rb)
{
	return rb ? addr_hole(rb) : NULL;
}

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

static inline void bit_set(struct heap *h, unsigned c)
{
	h->words[c >> 6] |= 1ull << (c & 63);
	h->top |= 1ull << (c >> 6);
}

static inline void bit_clear(struct heap *h, unsigned c)
{
	if (!(h->words[c >> 6] &= ~(1ull << (c & 63))))
		h->top &= ~(1ull << (c >> 6));
}

/* First non-empty class strictly above c, or NCLASS. */
static inline unsigned class_after(const struct heap *h, unsigned c)
{
	unsigned w;
	uint64_t m, t;

	if (++c >= NCLASS)
		return NCLASS;
	w = c >> 6;
	m = h->words[w] & (~0ull << (c & 63));
	if (m)
		return (w << 6) | (unsigned)__builtin_ctzll(m);
	t = w + 1 < 64 ? h->top & (~0ull << (w + 1)) : 0;
	if (!t)
		return NCLASS;
	w = (unsigned)__builtin_ctzll(t);
	return (w << 6) | (unsigned)__builtin_ctzll(h->words[w]);
}

/* Highest non-empty class, or NCLASS when there are no holes. */
static inline unsigned class_last(const struct heap *h)
{
	unsigned w;

	if (!h->top)
		return NCLASS;
	w = 63u - (unsigned)__builtin_clzll(h->top);
	return (w << 6) | (63u - (unsigned)__builtin_clzll(h->words[w]));
}

/* Highest non-empty class strictly below c, or NCLASS. */
static inline unsigned class_before(const struct heap *h, unsigned c)
{
	unsigned w = c >> 6;
	uint64_t m = h->words[w] & ((1ull << (c & 63)) - 1), t;

	if (m)
		return (w << 6) | (63u - (unsigned)__builtin_clzll(m));
	t = h->top & ((1ull << w) - 1);
	if (!t)
		return NCLASS;
	w = 63u - (unsigned)__builtin_clzll(t);
	return (w << 6) | (63u - (unsigned)__builtin_clzll(h->words[w]));
}

/* ---- the class trees ---- */

static void cls_insert(struct heap *h, struct hole *hl)
{
	unsigned c = class_of(hl->size);
	struct rb_node **link = &h->cls[c].root.rb_node, *parent = NULL;
	size_key k = key_of(hl->size, hl->start);
	bool leftmost = true;

	while (*link) {
		parent = *link;
		if (k < key_of(cls_hole(parent)->size, cls_hole(parent)->start)) {
			link = &parent->rb_left;
		} else {
			link = &parent->rb_right;
			leftmost = false;
		}
	}
	if (leftmost)
		h->cls[c].first = hl;
	rb_link_node(&hl->rb_cls, parent, link);
	rb_insert_color(&hl->rb_cls, &h->cls[c].root);
	bit_set(h, c);
}

static void cls_erase(struct heap *h, struct hole *hl, unsigned c)
{
	if (h->cls[c].first == hl) {
		struct rb_node *nx = rb_next(&hl->rb_cls);

		h->cls[c].first = nx ? cls_hole(nx) : NULL;
	}
	rb_erase(&hl->rb_cls, &h->cls[c].root);
	if (!h->cls[c].root.rb_node)
		bit_clear(h, c);
}

/* The class whose tree holds hl now. */
static inline unsigned cls_home(const struct heap *h, const struct hole *hl)
{
	return hl == h->moved ? h->moved_cls : class_of(hl->size);
}

static void size_settle(struct heap *h);

/* First hole, in (size, start) order, of at least need bytes. Settled. */
static struct hole *size_lower_bound(const struct heap *h, uint64_t need)
{
	unsigned c = class_of(need);

	if (h->words[c >> 6] & (1ull << (c & 63))) {
		struct rb_node *rb = h->cls[c].root.rb_node;
		struct hole *best = NULL;

		/* A class whose sizes are all one (below 64, or a page-multiple
		 * size up to 256 KiB in a page-granular heap) or whose first hole
		 * is big enough needs no descent. */
		if (h->cls[c].first->size >= need)
			return h->cls[c].first;
		while (rb) {
			struct hole *hl = cls_hole(rb);

			if (hl->size >= need) {
				best = hl;
				rb = rb->rb_left;
			} else {
				rb = rb->rb_right;
			}
		}
		if (best)
			return best;
	}
	c = class_after(h, c);
	return c < NCLASS ? h->cls[c].first : NULL;
}

/* The hole after hl in (size, start) order. Settled. */
static struct hole *size_next(const struct heap *h, const struct hole *hl)
{
	struct rb_node *nx = rb_next(&hl->rb_cls);
	unsigned c;

	if (nx)
		return cls_hole(nx);
	c = class_after(h, class_of(hl->size));
	return c < NCLASS ? h->cls[c].first : NULL;
}

/* ---- the boundary table ---- */

/*
 * An entry is the hole's pointer, ENTRY_END if the key is the hole's end
 * rather than its start (holes are 8-byte aligned, so bit 0 is free), and, in
 * the top 16 bits (zero in a user-space pointer; tab_check_chunk makes sure),
 * the low 16 bits of the entry's home slot. The home bits let a lookup skip
 * entries from other homes, and let deletion find each entry's home,
 * without reading any hole: the slot an entry sits in is at most
 * HOME_SPAN - 1 slots past its home (tab_put_raw refuses to go farther), so
 * 16 low bits identify it. 0 is an empty slot.
 */
#define ENTRY_END 1ull
#define HOME_SHIFT 48
#define HOME_SPAN 0x10000ull
#define PTR_MASK ((1ull << HOME_SHIFT) - 2)

static inline uint64_t tab_home(const struct heap *h, uint64_t key)
{
	return (key * 0x9e3779b97f4a7c15ull) >> h->tab_shift;
}

static inline struct hole *tab_hole(uint64_t e)
{
	return (struct hole *)(uintptr_t)(e & PTR_MASK);
}

/* The home slot of the entry e found in slot j of a table with mask m. */
static inline uint64_t entry_home(uint64_t e, uint64_t j, uint64_t m)
{
	uint64_t span = m < HOME_SPAN - 1 ? m : HOME_SPAN - 1;

	return (j - ((j - (e >> HOME_SHIFT)) & span)) & m;
}

/* The hole that starts or ends at key, or NULL. The resized hole's entries
 * may still be under its old boundaries (size_settle), so it is asked first,
 * and its entries are passed over; an emptied one is no hole. */
static struct hole *tab_find(const struct heap *h, uint64_t key)
{
	uint64_t i = tab_home(h, key), tag = i & (HOME_SPAN - 1), e;
	struct hole *m = h->moved;

	if (m && m->size && (m->start == key || hole_end(m) == key))
		return m;
	while ((e = h->tab[i])) {
		if ((e >> HOME_SHIFT) == tag) {
			struct hole *x = tab_hole(e);

			if (x != m && ((e & ENTRY_END) ? hole_end(x) : x->start) == key)
				return x;
		}
		i = (i + 1) & h->tab_mask;
	}
	return NULL;
}

/* Whether the table holds hl's entry for a boundary under key. */
static bool tab_has(const struct heap *h, const struct hole *hl, bool is_end, uint64_t key)
{
	uint64_t i = tab_home(h, key), e;
	uint64_t want = (uint64_t)(uintptr_t)hl | (is_end ? ENTRY_END : 0) |
			((i & (HOME_SPAN - 1)) << HOME_SHIFT);

	for (uint64_t d = 0; (e = h->tab[i]) && d <= h->tab_mask; d++) {
		if (e == want)
			return true;
		i = (i + 1) & h->tab_mask;
	}
	return false;
}

/* Enter e (without home bits) at home in tab; false if every slot within
 * HOME_SPAN of home is taken (never at a sane load). */
static bool tab_put_raw(uint64_t *tab, uint64_t mask, uint64_t home, uint64_t e)
{
	uint64_t i = home;

	for (uint64_t d = 0; tab[i]; d++) {
		if (d + 1 >= HOME_SPAN || d >= mask)
			return false;
		i = (i + 1) & mask;
	}
	tab[i] = e | ((home & (HOME_SPAN - 1)) << HOME_SHIFT);
	return true;
}

static void tab_drop(struct heap *h);

static void tab_put(struct heap *h, const struct hole *hl, bool is_end)
{
	uint64_t key = is_end ? hole_end(hl) : hl->start;

	if (!h->tab)
		return; /* dropped by the other boundary's put */
	if (!tab_put_raw(h->tab, h->tab_mask, tab_home(h, key),
			 (uint64_t)(uintptr_t)hl | (is_end ? ENTRY_END : 0))) {
		tab_drop(h);
		return;
	}
	h->tab_used++;
}

/* Remove hl's entry for its start or end, entered under key (which must be
 * there). Backward-shift deletion keeps every probe sequence unbroken
 * without tombstones. */
static void tab_del(struct heap *h, const struct hole *hl, bool is_end, uint64_t key)
{
	uint64_t home = tab_home(h, key), i = home, j;
	uint64_t want = (uint64_t)(uintptr_t)hl | (is_end ? ENTRY_END : 0) |
			((home & (HOME_SPAN - 1)) << HOME_SHIFT);

	while (h->tab[i] != want)
		i = (i + 1) & h->tab_mask;
	h->tab_used--;
	for (;;) {
		uint64_t e = 0;

		h->tab[i] = 0;
		for (j = (i + 1) & h->tab_mask; (e = h->tab[j]); j = (j + 1) & h->tab_mask) {
			uint64_t eh = entry_home(e, j, h->tab_mask);

			/* e may fill the gap at i unless its home lies
			 * cyclically in (i, j]. */
			if (i <= j ? (eh <= i || eh > j) : (eh <= i && eh > j))
				break;
		}
		if (!e)
			return;
		h->tab[i] = e;
		i = j;
	}
}

/* Rebuild into 2^bits slots from the class trees. Returns false, table
 * unchanged, without memory (or if the entries will not fit). */
static bool tab_resize(struct heap *h, unsigned bits)
{
	uint64_t n = 1ull << bits, *t, used = 0;
	unsigned shift = 64 - bits;

	size_settle(h); /* every hole's entries under its current boundaries */
	t = calloc(n, sizeof(*t));
	if (!t)
		return false;
	for (unsigned c = class_after(h, 0u - 1u); c < NCLASS; c = class_after(h, c))
		for (struct rb_node *rb = rb_first(&h->cls[c].root); rb; rb = rb_next(rb)) {
			const struct hole *x = cls_hole(rb);
			uint64_t p = (uint64_t)(uintptr_t)x;

			if (!tab_put_raw(t, n - 1, (x->start * 0x9e3779b97f4a7c15ull) >> shift, p) ||
			    !tab_put_raw(t, n - 1, (hole_end(x) * 0x9e3779b97f4a7c15ull) >> shift,
					 p | ENTRY_END)) {
				free(t);
				return false;
			}
			used += 2;
		}
	free(h->tab);
	h->tab = t;
	h->tab_mask = n - 1;
	h->tab_shift = shift;
	h->tab_used = used;
	return true;
}

static void addr_enable(struct heap *h);

/* Drop the table: the address index takes over the neighbour lookups. */
static void tab_drop(struct heap *h)
{
	addr_enable(h);
	free(h->tab);
	h->tab = NULL;
	h->tab_used = 0;
}

/*
 * Room for two more entries: keep the load at most one half, growing the
 * table when memory allows; when it does not, run fuller, and when even that
 * would leave no free slot, drop the table. Returns whether it is there.
 */
static bool tab_room(struct heap *h)
{
	unsigned bits = 64 - h->tab_shift;

	if (!h->tab)
		return false;
	if (2 * (h->tab_used + 2) <= h->tab_mask + 1)
		return true;
	if (bits < 62 && tab_resize(h, bits + 1))
		return true;
	if (h->tab_used + 3 <= h->tab_mask + 1)
		return true;
	tab_drop(h);
	return false;
}

/* Entries need the top 16 bits of every hole's address to be zero, as on
 * Linux without an address hint above 2^47 (x86-64) or 2^48 (arm64). A pool
 * chunk above that drops the table for good. */
static void tab_check_chunk(struct heap *h, const void *lo, size_t len)
{
	if ((uint64_t)(uintptr_t)lo + len > (1ull << HOME_SHIFT)) {
		h->no_tab = true;
		if (h->tab)
			tab_drop(h);
	}
}

/* ---- the address index ---- */

static inline uint64_t subtree_max(const struct rb_node *rb)
{
	return rb ? addr_hole(rb)->subtree_max : 0;
}

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

/* hl grew in place: raise the maxima above it while they are smaller. */
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

/* Link a new hole whose in-order neighbours are prev and next (either NULL)
 * without searching: between two neighbours exactly one of prev's right
 * and next's left child slots is free. */
static void addr_insert_between(struct heap *h, struct hole *hl,
				struct hole *prev, struct hole *next)
{
	struct rb_node *parent, **link;

	if (prev && !prev->rb_addr.rb_right) {
		parent = &prev->rb_addr;
		link = &parent->rb_right;
	} else if (next) {
		parent = &next->rb_addr;
		link = &parent->rb_left;
	} else {
		parent = NULL;
		link = &h->by_addr.rb_node;
	}
	rb_link_node(&hl->rb_addr, parent, link);
	hl->subtree_max = hl->size;
	rb_insert_augmented(&hl->rb_addr, &h->by_addr, &aug_cb);
}

/* Holes around address a: *prev the last with start < a, *next the first
 * with start >= a (either may be NULL). One descent. Needs addr_on. */
static void addr_neighbours(const struct heap *h, uint64_t a,
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

static void add_to_index(struct heap *h, struct hole *hl)
{
	struct hole *prev, *next;

	addr_neighbours(h, hl->start, &prev, &next);
	addr_insert_between(h, hl, prev, next);
}

/* Build the address index from the class trees; needs no memory. */
static void addr_enable(struct heap *h)
{
	if (h->addr_on)
		return;
	size_settle(h); /* no emptied hole in the index */
	h->by_addr.rb_node = NULL;
	for (unsigned c = class_after(h, 0u - 1u); c < NCLASS; c = class_after(h, c))
		for (struct rb_node *rb = rb_first(&h->cls[c].root); rb; rb = rb_next(rb))
			add_to_index(h, cls_hole(rb));
	h->addr_on = true;
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

/* The next hole after hl (in address order) of at least need bytes. */
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
static struct hole *first_fit_from(const struct heap *h, uint64_t lo, uint64_t need)
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
static struct hole *last_fit_before(const struct heap *h, uint64_t hi, uint64_t need)
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

/* ---- descriptor pool ---- */

/* Make sure one descriptor is available; called before any change. */
static int pool_reserve(struct heap *h)
{
	struct hole_chunk *c;
	size_t n = h->next_chunk;

	if (h->free_list)
		return 0;
	c = malloc(sizeof(*c) + n * sizeof(struct hole));
	if (!c)
		return -ENOMEM;
	tab_check_chunk(h, c->holes, n * sizeof(struct hole));
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
 * (and this operation's split) finds a spare, and room in the boundary table
 * for the split. */
static int pool_ensure(struct heap *h)
{
	while (h->pool_total < h->live + 2) {
		struct hole *keep = h->free_list;
		/* pool_reserve adds a chunk only when the free list is empty. */
		h->free_list = NULL;
		int ret = pool_reserve(h);
		if (!ret) {
			struct hole **tail = &h->free_list;
			while (*tail)
				tail = &(*tail)->next_free;
			*tail = keep;
		} else {
			h->free_list = keep;
			return ret;
		}
	}
	/* A table dropped when memory was short comes back when it is not. */
	if (!h->tab && !h->no_tab) {
		unsigned bits = TAB_MIN_BITS;

		while ((1ull << bits) < 4 * (h->nholes + 2))
			bits++;
		(void)tab_resize(h, bits);
	}
	return 0;
}

/* Only after pool_reserve succeeded in this operation. */
static inline struct hole *pool_get(struct heap *h)
{
	struct hole *hl = h->free_list;

	h->free_list = hl->next_free;
	return hl;
}

static inline void pool_put(struct heap *h, struct hole *hl)
{
	hl->next_free = h->free_list;
	h->free_list = hl;
}

/* ---- changing the holes ---- */

/*
 * Put the resized hole where its key belongs (see the top of the file): in
 * its class tree, in the boundary table, and, if the last alloc emptied it,
 * out of both. Its key there is (moved_size, moved_start).
 */
static void size_settle(struct heap *h)
{
	struct hole *hl = h->moved;
	uint64_t os = h->moved_start, oe = h->moved_start + h->moved_size;
	struct rb_node *p, *n;

	if (!hl)
		return;
	h->moved = NULL;
	if (hl->size == 0) {
		/* emptied by an exact fit; never with the address index */
		cls_erase(h, hl, h->moved_cls);
		if (h->tab) {
			tab_del(h, hl, false, os);
			tab_del(h, hl, true, oe);
		}
		pool_put(h, hl);
		return;
	}
	/* Grown back to where it was (an alloc and a free of one size). */
	if (hl->size == h->moved_size && hl->start == os)
		return;
	if (h->tab && hl->start != os) {
		tab_del(h, hl, false, os);
		tab_put(h, hl, false);
	}
	if (h->tab && hole_end(hl) != oe) {
		tab_del(h, hl, true, oe);
		tab_put(h, hl, true);
	}
	if (h->moved_cls == class_of(hl->size)) {
		p = rb_prev(&hl->rb_cls);
		n = rb_next(&hl->rb_cls);
		if ((!p || size_less(cls_hole(p)->size, cls_hole(p)->start, hl)) &&
		    (!n || size_less(hl->size, hl->start, cls_hole(n))))
			return;
	}
	cls_erase(h, hl, h->moved_cls);
	cls_insert(h, hl);
}

/* hl's size (and maybe start) is about to change: the hole resized before
 * must be settled first, while every other key is still where it belongs. */
static void size_will_change(struct heap *h, struct hole *hl)
{
	if (h->moved != hl) {
		size_settle(h);
		h->moved = hl;
		h->moved_cls = class_of(hl->size);
		h->moved_size = hl->size;
		h->moved_start = hl->start;
	}
}

/* A new hole into its class: the trees must be in order for the descent. */
static void size_add(struct heap *h, struct hole *hl)
{
	size_settle(h);
	cls_insert(h, hl);
}

/* A new hole [start, start+size); prev/next are its address neighbours when
 * the address index is on (the caller knows them). */
static void hole_add(struct heap *h, uint64_t start, uint64_t size,
		     struct hole *prev, struct hole *next)
{
	struct hole *hl;
	bool was_on = h->addr_on; /* prev and next are known only if it was on */

	/* Settle first: settling (like tab_room) may drop the table and build
	 * the address index from the holes there are, without this one. */
	size_settle(h);
	hl = pool_get(h);
	hl->start = start;
	hl->size = size;
	if (tab_room(h)) {
		tab_put(h, hl, false);
		tab_put(h, hl, true);
	}
	if (h->addr_on) {
		/* built just now (by the settle or tab_room), without hl */
		if (!was_on)
			addr_neighbours(h, start, &prev, &next);
		addr_insert_between(h, hl, prev, next);
	}
	size_add(h, hl);
	h->nholes++;
}

static void hole_remove(struct heap *h, struct hole *hl)
{
	bool m = hl == h->moved;

	if (h->tab) {
		uint64_t s = m ? h->moved_start : hl->start;

		tab_del(h, hl, false, s);
		tab_del(h, hl, true, m ? s + h->moved_size : hole_end(hl));
	}
	cls_erase(h, hl, cls_home(h, hl));
	if (m)
		h->moved = NULL;
	if (h->addr_on)
		rb_erase_augmented(&hl->rb_addr, &h->by_addr, &aug_cb);
	h->nholes--;
	pool_put(h, hl);
}

/*
 * Resize hl to [start, start+size) in place (its address order among the
 * holes cannot change: the caller only moves boundaries into allocated space
 * next to it, or out of the hole). Its class tree and boundary table entries
 * follow when it is settled.
 */
static void hole_resize(struct heap *h, struct hole *hl, uint64_t start, uint64_t size)
{
	uint64_t old_size = hl->size;

	size_will_change(h, hl);
	hl->start = start;
	hl->size = size;
	if (h->addr_on) {
		if (size > old_size)
			aug_grew(hl);
		else if (size < old_size)
			aug_shrank(hl, old_size);
	}
}

/*
 * Take [at, at+size) out of hl, which contains it. Needs the spare
 * descriptor from pool_ensure when it splits hl.
 */
static void carve(struct heap *h, struct hole *hl, uint64_t at, uint64_t size)
{
	uint64_t hs = hl->start, he = hole_end(hl), e = at + size;

	h->free_bytes -= size;
	if (at == hs && e == he) {
		if (h->addr_on) {
			hole_remove(h, hl);
			return;
		}
		/* Emptied, but left in place until settled: a free of this
		 * range (an alloc+free pair) puts it back untouched. */
		size_will_change(h, hl);
		hl->size = 0;
		h->nholes--;
		return;
	}
	if (at == hs) {
		hole_resize(h, hl, e, he - e);
		return;
	}
	hole_resize(h, hl, hs, at - hs);
	if (e != he) {
		struct hole *next = NULL;

		if (h->addr_on)
			next = addr_hole_safe(rb_next(&hl->rb_addr));
		hole_add(h, e, he - e, hl, next);
	}
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

static struct hole *find_bottom_up(struct heap *h, uint64_t size, uint64_t align,
				   uint64_t lo, uint64_t hi, uint64_t *at)
{
	addr_enable(h);
	for (struct hole *hl = first_fit_from(h, lo, size);
	     hl && hl->start < hi && hi - hl->start >= size;
	     hl = next_fit(hl, size)) {
		if (fit_low(hl, lo, hi, size, align, at))
			return hl;
	}
	return NULL;
}

static struct hole *find_top_down(struct heap *h, uint64_t size, uint64_t align,
				  uint64_t lo, uint64_t hi, uint64_t *at)
{
	addr_enable(h);
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
static struct hole *find_best_fit(struct heap *h, uint64_t size, uint64_t align,
				  uint64_t lo, uint64_t hi, uint64_t *at)
{
	struct hole *s, *a, *best = NULL;
	uint64_t best_at = 0, x;
	bool whole = lo <= h->start && hi >= h->end;

	size_settle(h);
	s = size_lower_bound(h, size);
	if (!s)
		return NULL;
	if (align == 1 && whole) {
		/* Nothing can get in the way: the first big-enough hole is it. */
		*at = s->start;
		return s;
	}
	if (whole) {
		/* A hole of size + align - 1 bytes fits whatever its start, so
		 * the size order decides within a few holes; past ALIGN_WALK
		 * of them, the walk in both orders below is cheaper. */
		for (int k = 0; k < ALIGN_WALK && s; k++, s = size_next(h, s))
			if (fit_low(s, lo, hi, size, align, at))
				return s;
		if (!s)
			return NULL;
		s = size_lower_bound(h, size);
	} else if (fit_low(s, lo, hi, size, align, at)) {
		return s;
	}
	/*
	 * The size walk ends at the first hole that fits (the answer); the
	 * address walk ends when it has seen every big-enough hole in the
	 * range (then its best is the answer). Step both, stop at the first
	 * to finish.
	 */
	addr_enable(h);
	a = first_fit_from(h, lo, size);
	for (;;) {
		if (!a || a->start >= hi || hi - a->start < size)
			break; /* address walk done: best is the answer */
		if (fit_low(a, lo, hi, size, align, &x) &&
		    (!best || size_less(a->size, a->start, best))) {
			best = a;
			best_at = x;
		}
		a = next_fit(a, size);

		s = size_next(h, s);
		if (!s)
			return NULL; /* every big-enough hole tried: none fits */
		if (fit_low(s, lo, hi, size, align, at))
			return s;
	}
	if (best)
		*at = best_at;
	return best;
}

/* ---- the API ---- */

int heap_create(uint64_t start, uint64_t size, struct heap **out)
{
	struct heap *h;

	if (!out || size == 0 || start + size < start)
		return -EINVAL;
	h = calloc(1, sizeof(*h) + (class_of(size) + 1) * sizeof(h->cls[0]));
	if (!h)
		return -ENOMEM;
	h->ncls = class_of(size) + 1;
	h->start = start;
	h->size = size;
	h->end = start + size;
	h->next_chunk = CHUNK_FIRST;
	if (!tab_resize(h, TAB_MIN_BITS) || pool_reserve(h)) {
		free(h->tab);
		free(h);
		return -ENOMEM;
	}
	hole_add(h, start, size, NULL, NULL);
	h->free_bytes = size;
	*out = h;
	return 0;
}

void heap_destroy(struct heap *h)
{
	struct hole_chunk *c, *n;

	if (!h)
		return;
	for (c = h->chunks; c; c = n) {
		n = c->next;
		free(c);
	}
	free(h->tab);
	free(h);
}

int heap_alloc(struct heap *h, struct heap_node *node, uint64_t size,
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
	/* The search above changed no hole (it may have settled one, or built
	 * the address index: neither changes what the heap holds). */
	ret = pool_ensure(h);
	if (ret)
		return ret;
	carve(h, hl, at, size);
	node->start = at;
	node->size = size;
	h->live++;
	return 0;
}

int heap_reserve(struct heap *h, struct heap_node *node)
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
	addr_enable(h);
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

int heap_free(struct heap *h, struct heap_node *node)
{
	struct hole *prev = NULL, *next = NULL, *before = NULL, *after = NULL;
	uint64_t s, e;

	if (!h || !node)
		return -EINVAL;
	s = node->start;
	e = s + node->size;
	/* Not required by the contract, but cheap: refuse what cannot be a
	 * live node (outside the heap, or free space, such as a double free)
	 * instead of corrupting the indexes. With the address index every
	 * overlap with a hole is caught; with only the boundary table, a range
	 * that starts or ends where a hole does. */
	if (node->size == 0 || e < s || s < h->start || e > h->end || h->live == 0)
		return -EINVAL;
	if (h->addr_on) {
		addr_neighbours(h, s, &before, &after);
		if ((before && hole_end(before) > s) || (after && after->start < e))
			return -EINVAL;
		prev = before && hole_end(before) == s ? before : NULL;
		next = after && after->start == e ? after : NULL;
	} else if (h->moved && h->moved_start == s &&
		   (h->moved->size ? h->moved->start == e : h->moved_size == node->size)) {
		/*
		 * The range at the front of the resized hole, where that hole
		 * began when it was last settled: no hole can end at s, since
		 * none did then (holes are never adjacent) and any change to
		 * another hole since would have settled this one. So no
		 * lookup: it joins the hole it was carved from, or refills the
		 * hole it emptied, as it was before the alloc.
		 */
		struct hole *m = h->moved;

		if (m->size) {
			hole_resize(h, m, s, m->size + node->size);
		} else {
			m->size = node->size;
			h->nholes++;
		}
		h->free_bytes += node->size;
		h->live--;
		return 0;
	} else {
		/* An emptied hole is settled away before the lookups. */
		if (h->moved && !h->moved->size)
			size_settle(h);
		prev = tab_find(h, s);
		next = tab_find(h, e);
		if ((prev && prev->start == s) || (next && hole_end(next) == e))
			return -EINVAL;
	}

	if (prev && next) {
		uint64_t grown = hole_end(next) - prev->start;

		hole_remove(h, next);
		hole_resize(h, prev, prev->start, grown);
	} else if (prev) {
		hole_resize(h, prev, prev->start, prev->size + node->size);
	} else if (next) {
		/* Growing downwards keeps next's place in address order. */
		hole_resize(h, next, s, next->size + node->size);
	} else {
		/* pool_ensure at allocation left a spare for exactly this. */
		hole_add(h, s, node->size, before, after);
	}
	h->free_bytes += node->size;
	h->live--;
	return 0;
}

void heap_query(const struct heap *h, struct heap_stats *out)
{
	out->total = h->size;
	out->free = h->free_bytes;
	out->largest_free = heap_largest_free(h);
	out->holes = h->nholes;
	out->allocated = h->live;
}

/*
 * The last hole of the highest class. The resized hole may be out of place
 * (in the class of its old size, and out of order there), so it is weighed
 * separately, and a class whose only hole it is may be empty in truth.
 */
uint64_t heap_largest_free(const struct heap *h)
{
	uint64_t best = h->moved ? h->moved->size : 0;

	for (unsigned c = class_last(h); c < NCLASS; c = class_before(h, c)) {
		const struct rb_node *rb = rb_last(&h->cls[c].root);

		while (rb && cls_hole(rb) == h->moved)
			rb = rb_prev(rb);
		if (rb)
			return max_u64(best, cls_hole(rb)->size);
	}
	return best;
}

static int cmp_start(const void *a, const void *b)
{
	const struct hole *x = *(const struct hole *const *)a, *y = *(const struct hole *const *)b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Every hole in address order into a new array (the caller frees it), for
 * when there is no address index. NULL without memory. */
static const struct hole **holes_sorted(const struct heap *h)
{
	const struct hole **v = malloc((h->nholes ? h->nholes : 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	for (unsigned c = class_after(h, 0u - 1u); c < NCLASS; c = class_after(h, c))
		for (struct rb_node *rb = rb_first(&h->cls[c].root); rb && n < h->nholes; rb = rb_next(rb))
			if (cls_hole(rb)->size) /* not an emptied one (size_settle) */
				v[n++] = cls_hole(rb);
	qsort(v, n, sizeof(*v), cmp_start);
	return v;
}

int heap_for_each_hole(const struct heap *h,
		       int (*fn)(void *arg, uint64_t start, uint64_t size),
		       void *arg)
{
	const struct hole **v;
	int ret = 0;

	if (h->addr_on) {
		for (struct rb_node *rb = rb_first(&h->by_addr); rb; rb = rb_next(rb)) {
			const struct hole *hl = addr_hole(rb);

			ret = fn(arg, hl->start, hl->size);
			if (ret)
				return ret;
		}
		return 0;
	}
	v = holes_sorted(h);
	if (!v)
		return -ENOMEM;
	for (uint64_t i = 0; i < h->nholes && !ret; i++)
		ret = fn(arg, v[i]->start, v[i]->size);
	free(v);
	return ret;
}

size_t heap_hole_bytes(void)
{
	return sizeof(struct hole);
}

void heap_footprint(const struct heap *h, struct heap_footprint *out)
{
	out->holes = h->nholes * sizeof(struct hole) +
		     (h->tab ? (h->tab_mask + 1) * sizeof(uint64_t) : 0);
	out->fixed = sizeof(*h) + h->ncls * sizeof(h->cls[0]);
	out->reserved = h->pool_total * sizeof(struct hole);
	out->address_index = h->addr_on;
	out->boundary_table = h->tab != NULL;
}

void heap_free_extent(const struct heap *h, uint64_t start, uint64_t size,
		      uint64_t *lo, uint64_t *hi)
{
	struct hole *prev, *next;

	if (h->tab) {
		/* An address is one hole's boundary at most: the hole found at
		 * start is the one ending there unless it begins there. */
		prev = tab_find(h, start);
		next = tab_find(h, start + size);
		*lo = prev && hole_end(prev) == start ? prev->start : start;
		*hi = next && next->start == start + size ? hole_end(next) : start + size;
		return;
	}
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

/* ---- checker ---- */

static int cmp_addr(const struct rb_node *a, const struct rb_node *b)
{
	uint64_t x = addr_hole(a)->start, y = addr_hole(b)->start;

	return x < y ? -1 : x > y;
}

static int cmp_size(const struct rb_node *a, const struct rb_node *b)
{
	const struct hole *x = cls_hole(a), *y = cls_hole(b);

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
		ret = -EUCLEAN;                                  \
		goto out;                                        \
	} while (0)

/* The root of the tree rb is in, by structure (parent links), not by key. */
static const struct rb_node *root_of(const struct rb_node *rb)
{
	unsigned depth = 0;

	while (rb_parent(rb) && depth++ < 200)
		rb = rb_parent(rb);
	return rb;
}

int heap_check(const struct heap *h, char *why, size_t why_len)
{
	const struct hole **v = NULL;
	uint64_t sum = 0, count = 0, largest = 0, entries = 0;
	const struct hole *prev = NULL;
	bool saw_moved = false;
	int ret = 0;

	if (why && why_len)
		why[0] = '\0';
	if (h->size == 0 || h->end != h->start + h->size || h->end < h->start)
		CHECK_FAIL("bad range start %#llx size %#llx", (unsigned long long)h->start,
			   (unsigned long long)h->size);
	if (!h->tab && !h->addr_on)
		CHECK_FAIL("neither the boundary table nor the address index");

	/* Class trees: balanced, in (size, start) order, each hole in its
	 * size's class; the resized hole may be anywhere in its old class. */
	for (unsigned c = h->ncls; c < NCLASS; c++)
		if (h->words[c >> 6] & (1ull << (c & 63)))
			CHECK_FAIL("class %u above the heap's largest (%u) marked non-empty", c,
				   h->ncls - 1);
	for (unsigned c = 0; c < h->ncls; c++) {
		bool has_moved = h->moved && h->moved_cls == c;
		bool bit = h->words[c >> 6] & (1ull << (c & 63));
		long n = rb_check(&h->cls[c].root, has_moved ? NULL : cmp_size, NULL, why, why_len);
		const struct hole *last = NULL;

		if (n < 0) {
			ret = -EUCLEAN;
			goto out;
		}
		if (bit != (n > 0))
			CHECK_FAIL("class %u has %ld holes but its bitmap bit is %d", c, n, bit);
		if (h->cls[c].first != (n ? cls_hole(rb_first(&h->cls[c].root)) : NULL))
			CHECK_FAIL("class %u's cached first hole is not its first", c);
		if (!!(h->top & (1ull << (c >> 6))) != !!h->words[c >> 6])
			CHECK_FAIL("summary bit of class word %u is wrong", c >> 6);
		for (struct rb_node *rb = rb_first(&h->cls[c].root); rb; rb = rb_next(rb)) {
			const struct hole *x = cls_hole(rb);

			if (x == h->moved) {
				if (!has_moved)
					CHECK_FAIL("resized hole %#llx not in class %u",
						   (unsigned long long)x->start, h->moved_cls);
				saw_moved = true;
				continue;
			}
			if (class_of(x->size) != c)
				CHECK_FAIL("hole [%#llx,+%#llx) in class %u, belongs in %u",
					   (unsigned long long)x->start, (unsigned long long)x->size,
					   c, class_of(x->size));
			if (last && !size_less(last->size, last->start, x))
				CHECK_FAIL("class %u out of order at hole %#llx", c,
					   (unsigned long long)x->start);
			last = x;
		}
		count += (uint64_t)n;
	}
	if (h->moved && !saw_moved)
		CHECK_FAIL("the resized hole is not a hole");
	if (h->moved && !h->moved->size && h->addr_on)
		CHECK_FAIL("an emptied hole with the address index");
	if (h->moved && !h->moved->size)
		count--; /* an emptied hole, awaiting size_settle */
	if (count != h->nholes)
		CHECK_FAIL("class trees hold %llu holes, counter %llu", (unsigned long long)count,
			   (unsigned long long)h->nholes);

	if (h->addr_on) {
		long na = rb_check(&h->by_addr, cmp_addr, aug_ok, why, why_len);

		if (na < 0) {
			ret = -EUCLEAN;
			goto out;
		}
		if ((uint64_t)na != count)
			CHECK_FAIL("address index holds %ld holes, class trees %llu", na,
				   (unsigned long long)count);
	}
	v = holes_sorted(h);
	if (!v) {
		if (why && why_len)
			snprintf(why, why_len, "heap: no memory to check the address order");
		return -ENOMEM;
	}
	count = 0;
	for (uint64_t i = 0; i < h->nholes; i++) {
		const struct hole *hl = v[i];

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
		if (root_of(&hl->rb_cls) != h->cls[cls_home(h, hl)].root.rb_node)
			CHECK_FAIL("hole at %#llx missing from its class tree",
				   (unsigned long long)hl->start);
		if (h->addr_on && root_of(&hl->rb_addr) != h->by_addr.rb_node)
			CHECK_FAIL("hole at %#llx missing from the address index",
				   (unsigned long long)hl->start);
		if (h->tab && (tab_find(h, hl->start) != hl || tab_find(h, hole_end(hl)) != hl))
			CHECK_FAIL("hole [%#llx,+%#llx) not found in the boundary table",
				   (unsigned long long)hl->start, (unsigned long long)hl->size);
		if (h->tab && hl != h->moved &&
		    (!tab_has(h, hl, false, hl->start) || !tab_has(h, hl, true, hole_end(hl))))
			CHECK_FAIL("hole [%#llx,+%#llx) missing from the boundary table",
				   (unsigned long long)hl->start, (unsigned long long)hl->size);
		sum += hl->size;
		largest = max_u64(largest, hl->size);
		prev = hl;
	}
	if (h->tab && h->moved &&
	    (!tab_has(h, h->moved, false, h->moved_start) ||
	     !tab_has(h, h->moved, true, h->moved_start + h->moved_size)))
		CHECK_FAIL("the resized hole's entries are not under its old boundaries");
	if (h->tab) {
		for (uint64_t i = 0; i <= h->tab_mask; i++)
			entries += h->tab[i] != 0;
		if (entries != 2 * (h->nholes + (h->moved && !h->moved->size)) || h->tab_used != entries)
			CHECK_FAIL("boundary table has %llu entries (counter %llu) for %llu holes",
				   (unsigned long long)entries, (unsigned long long)h->tab_used,
				   (unsigned long long)h->nholes);
	}
	if (sum != h->free_bytes)
		CHECK_FAIL("free bytes %llu but holes add up to %llu",
			   (unsigned long long)h->free_bytes, (unsigned long long)sum);
	if (largest != heap_largest_free(h))
		CHECK_FAIL("largest hole %llu but heap_largest_free says %llu",
			   (unsigned long long)largest, (unsigned long long)heap_largest_free(h));
	if (h->addr_on && largest != subtree_max(h->by_addr.rb_node))
		CHECK_FAIL("largest hole %llu but the address root says %llu",
			   (unsigned long long)largest,
			   (unsigned long long)subtree_max(h->by_addr.rb_node));
	/* Every allocated byte belongs to some live node, so: */
	if (h->live == 0 && sum != h->size)
		CHECK_FAIL("no live node but only %llu of %llu bytes free",
			   (unsigned long long)sum, (unsigned long long)h->size);
	if (h->live > h->size - sum)
		CHECK_FAIL("%llu live nodes in %llu allocated bytes",
			   (unsigned long long)h->live, (unsigned long long)(h->size - sum));
out:
	free(v);
	return ret;
}
