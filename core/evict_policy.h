/* SPDX-License-Identifier: MIT */
/*
 * evict_policy.h - eviction policies behind one ops table (internal to
 * libvidmm), in the shape of the chip ops and fio's ioengines.
 *
 * Owns: the order in which one priority level's candidates are offered to
 * the victim scan, and each policy's bookkeeping on use, on becoming
 * resident and on eviction. Must not: choose across priorities, look at
 * pinned, busy or moving allocations (the scan in residency.c filters them
 * before a policy sees the candidates), drop vm->lock, or allocate.
 *
 * The victim set is still the contiguous window of residency.c's scan: the
 * scan walks the candidates in the policy's order and stops at the first
 * prefix whose ranges, with the free space around them, open a hole that
 * fits the request. So every policy keeps the priority rule (lower levels
 * first), the pin rules and contiguity; only the order within a level is
 * the policy's.
 *
 * All hooks run with vm->lock held.
 */
#ifndef VIDMM_EVICT_POLICY_H
#define VIDMM_EVICT_POLICY_H

#include <stdint.h>

struct vidmm;
struct segment;
struct vidmm_allocation;

struct evict_policy {
	const char *name;
	const char *description;
	/* a, live and resident, was used by a submitted job or a CPU lock. */
	void (*use)(struct vidmm *vm, struct vidmm_allocation *a);
	/* a was just put on its segment's list (created or paged in). */
	void (*resident)(struct vidmm *vm, struct vidmm_allocation *a);
	/* a is about to be paged out as a victim. */
	void (*evicted)(struct vidmm *vm, struct vidmm_allocation *a);
	/* Reorder v[0..n), n >= 2 (one priority level of s, in list order:
	 * least recently added or touched first) into the order victims are
	 * taken. */
	void (*order)(struct vidmm *vm, struct segment *s, struct vidmm_allocation **v,
		      uint32_t n);
};

/* The policy named name (NULL or "": the default, lru); NULL if unknown. */
const struct evict_policy *evict_policy_find(const char *name);

#endif /* VIDMM_EVICT_POLICY_H */
