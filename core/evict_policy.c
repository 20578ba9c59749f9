/* SPDX-License-Identifier: MIT */
/*
 * evict_policy.c - the eviction policies and their table (evict_policy.h).
 *
 * Owns: each policy's per-allocation state (the policy fields of struct
 * vidmm_allocation, and segment.gds_l) and the table. Must not: touch
 * anything but that state and, for lru and clock, the order of the
 * segment's pagable lists (which is theirs).
 *
 * The policies:
 *  - lru: the list is kept in recency order (a use moves the allocation to
 *    the tail); victims from the head. Round 1's behaviour, the default.
 *  - fifo: the original driver's: the list is in residency order and a use
 *    changes nothing; the allocation made resident longest ago goes first.
 *  - clock: second chance. A use sets a reference bit; the scan passes over
 *    a referenced allocation once, clearing its bit and moving it to the
 *    tail, and takes the unreferenced ones first.
 *  - lru-2: LRU-K with K = 2 (O'Neil, O'Neil, Weikum 1993): the victim is the
 *    one whose second most recent use is oldest; one used only once goes
 *    before any used twice.
 *  - size-aware: GreedyDual-Size (Cao, Irani 1997) with a uniform cost:
 *    H = L + 2^20 / size on becoming resident or on use; the lowest H goes
 *    first and L rises to it. Large idle allocations go before small ones
 *    of the same age. (With the cost equal to the bytes an eviction moves,
 *    cost / size is the same for every allocation and GreedyDual-Size is
 *    exactly LRU, so that variant would add nothing.)
 *  - random: a uniformly random order from a generator seeded at init (so
 *    a replay sees the same choices): the floor any policy must beat.
 *  - belady: offline, for `vidmm-bench analyze` only: the allocation whose
 *    next use is furthest away goes first (Belady's MIN, applied to
 *    variable sizes through the contiguous window). It asks the caller's
 *    next_use oracle (struct vidmm_config); ties, and every candidate when
 *    there is no oracle, keep LRU order, which its use hook maintains.
 */
#include "evict_policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- lru ---------------------------------------------------------------------- */

static void lru_use(struct vidmm *vm, struct vidmm_allocation *a)
{
	(void)vm;
	list_move_tail(&a->lru, (a->flags & VIDMM_ALLOC_UNPAGABLE)
					? &a->seg->unpagable
					: &a->seg->pagable[a->priority]);
}

/* ---- hooks that do nothing, and list order ----------------------------------- */

static void no_hook(struct vidmm *vm, struct vidmm_allocation *a)
{
	(void)vm;
	(void)a;
}

static void list_order(struct vidmm *vm, struct segment *s, struct vidmm_allocation **v,
		       uint32_t n)
{
	(void)vm;
	(void)s;
	(void)v;
	(void)n;
}

/* ---- clock --------------------------------------------------------------------- */

static void clock_use(struct vidmm *vm, struct vidmm_allocation *a)
{
	(void)vm;
	a->referenced = true;
}

static void clock_resident(struct vidmm *vm, struct vidmm_allocation *a)
{
	(void)vm;
	a->referenced = false;
}

/* The hand sweeps from the list's head: unreferenced candidates keep their
 * order in front; referenced ones lose their bit, go to the list's tail and
 * behind every unreferenced one (a stable partition, in place). */
static void clock_order(struct vidmm *vm, struct segment *s, struct vidmm_allocation **v,
			uint32_t n)
{
	struct vidmm_allocation **tmp = malloc((size_t)n * sizeof(*tmp));
	uint32_t k = 0, m = 0;

	(void)vm;
	for (uint32_t i = 0; i < n; i++) {
		struct vidmm_allocation *a = v[i];
		if (a->referenced) {
			a->referenced = false;
			list_move_tail(&a->lru, &s->pagable[a->priority]);
			if (tmp)
				tmp[m++] = a;
		} else {
			v[k++] = a;
		}
	}
	if (tmp)
		memcpy(v + k, tmp, (size_t)m * sizeof(*v));
	free(tmp);
}

/* ---- sorting by a key, stable ------------------------------------------------------ */

struct keyed {
	double k1;
	uint64_t k2;
	uint32_t idx;
	struct vidmm_allocation *a;
};

static int cmp_keyed(const void *pa, const void *pb)
{
	const struct keyed *x = pa, *y = pb;
	if (x->k1 != y->k1)
		return x->k1 < y->k1 ? -1 : 1;
	if (x->k2 != y->k2)
		return x->k2 < y->k2 ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sort v by (k1, k2, list position). Without memory the list order stands. */
static void sort_by(struct vidmm_allocation **v, uint32_t n,
		    void (*key)(const struct vidmm_allocation *a, double *k1, uint64_t *k2))
{
	struct keyed *t = malloc((size_t)n * sizeof(*t));

	if (!t)
		return;
	for (uint32_t i = 0; i < n; i++) {
		t[i].idx = i;
		t[i].a = v[i];
		key(v[i], &t[i].k1, &t[i].k2);
	}
	qsort(t, n, sizeof(*t), cmp_keyed);
	for (uint32_t i = 0; i < n; i++)
		v[i] = t[i].a;
	free(t);
}

/* ---- lru-2 ---------------------------------------------------------------------- */

static void lru2_use(struct vidmm *vm, struct vidmm_allocation *a)
{
	(void)vm;
	a->use_ns[1] = a->use_ns[0];
	a->use_ns[0] = now_ns();
}

static void lru2_resident(struct vidmm *vm, struct vidmm_allocation *a)
{
	(void)vm;
	/* Creation counts as a first use; a page-in keeps the history. */
	if (!a->use_ns[0])
		a->use_ns[0] = now_ns();
}

static void lru2_key(const struct vidmm_allocation *a, double *k1, uint64_t *k2)
{
	*k1 = (double)a->use_ns[1]; /* 0: used once, infinitely far back */
	*k2 = a->use_ns[0];
}

static void lru2_order(struct vidmm *vm, struct segment *s, struct vidmm_allocation **v,
		       uint32_t n)
{
	(void)vm;
	(void)s;
	sort_by(v, n, lru2_key);
}

/* ---- size-aware (GreedyDual-Size) --------------------------------------------------- */

/* A use and a placement both restore the credit: the use and resident hook. */
static void gds_credit(struct vidmm *vm, struct vidmm_allocation *a)
{
	(void)vm;
	a->gds_h = a->seg->gds_l + (double)(1u << 20) / (double)a->size;
}

static void gds_evicted(struct vidmm *vm, struct vidmm_allocation *a)
{
	(void)vm;
	if (a->gds_h > a->seg->gds_l)
		a->seg->gds_l = a->gds_h;
}

static void gds_key(const struct vidmm_allocation *a, double *k1, uint64_t *k2)
{
	*k1 = a->gds_h;
	*k2 = 0;
}

static void gds_order(struct vidmm *vm, struct segment *s, struct vidmm_allocation **v,
		      uint32_t n)
{
	(void)vm;
	(void)s;
	sort_by(v, n, gds_key);
}

/* ---- random ------------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *x)
{
	/* xorshift64*: fast, and a fixed seed replays */
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dull;
}

static void random_order(struct vidmm *vm, struct segment *s, struct vidmm_allocation **v,
			 uint32_t n)
{
	(void)s;
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = (uint32_t)(rng_next(&vm->policy_rng) % i);
		struct vidmm_allocation *t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* ---- belady ------------------------------------------------------------------------ */

/* use_ns[0] holds the sort key while ordering: UINT64_MAX - next use, so the
 * ascending sort puts the furthest next use (and "never") first. */
static void belady_key(const struct vidmm_allocation *a, double *k1, uint64_t *k2)
{
	*k1 = 0;
	*k2 = a->use_ns[0];
}

static void belady_order(struct vidmm *vm, struct segment *s, struct vidmm_allocation **v,
			 uint32_t n)
{
	(void)s;
	if (!vm->cfg.next_use)
		return;
	for (uint32_t i = 0; i < n; i++)
		v[i]->use_ns[0] = UINT64_MAX - vm->cfg.next_use(vm->cfg.next_use_arg,
								 alloc_handle(v[i]));
	sort_by(v, n, belady_key);
}

/* ---- the table ------------------------------------------------------------------------ */

static const struct evict_policy policies[] = {
	{ "lru", "priority, then least recently used (the default)", lru_use, no_hook, no_hook,
	  list_order },
	{ "fifo", "priority, then made resident longest ago (the original driver's)", no_hook,
	  no_hook, no_hook, list_order },
	{ "clock", "priority, then second chance: a used allocation is passed over once",
	  clock_use, clock_resident, no_hook, clock_order },
	{ "lru-2", "priority, then the oldest second-to-last use (LRU-K, K = 2)", lru2_use,
	  lru2_resident, no_hook, lru2_order },
	{ "size-aware", "priority, then GreedyDual-Size: large idle allocations first", gds_credit,
	  gds_credit, gds_evicted, gds_order },
	{ "random", "priority, then a random order (a floor to beat)", no_hook, no_hook, no_hook,
	  random_order },
	{ "belady", "offline (vidmm-bench analyze): priority, then the furthest next use",
	  lru_use, no_hook, no_hook, belady_order },
};

#define NPOLICIES (sizeof(policies) / sizeof(policies[0]))

const struct evict_policy *evict_policy_find(const char *name)
{
	if (!name || !name[0])
		return &policies[0];
	for (size_t i = 0; i < NPOLICIES; i++)
		if (!strcmp(policies[i].name, name))
			return &policies[i];
	return NULL;
}

const char *vidmm_evict_policy_name(unsigned i)
{
	return i < NPOLICIES ? policies[i].name : NULL;
}

const char *vidmm_evict_policy_description(unsigned i)
{
	return i < NPOLICIES ? policies[i].description : NULL;
}
