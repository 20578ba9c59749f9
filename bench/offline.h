/* SPDX-License-Identifier: MIT */
/*
 * offline.h - what an offline analysis knows of a trace: every allocation's
 * size and the lines where it is used, the next-use oracle the belady
 * policy asks, and a lower bound on the bytes any policy must move at a
 * given capacity.
 *
 * Owns: reading a trace's uses (bench/trace.h's format, version 1) and the
 * bound. Must not: run the manager (analyze.c does), or write anything.
 *
 * Clock: the line number in the trace file (the header is line 1), the same
 * clock trace_replay_line() gives while a replay runs. A use is an
 * allocation referenced by a submit, or locked ("l", "V", "W"), in a call
 * the recording saw succeed; all the allocations of one submit are used at
 * once and must be resident together.
 *
 * The bounds (Berger, Beckmann, Harchol-Balter, "Practical Bounds on Optimal
 * Caching with Variable Object Sizes", SIGMETRICS 2018). Between two
 * consecutive uses of an allocation of s bytes, g lines apart, it either
 * stays resident, taking s bytes of capacity on each of the g - 1 lines in
 * between, or it is paged out and back in, moving 2s bytes. FOO writes this
 * as a min-cost flow; its linear relaxation (FOO-L) keeps a fraction of each
 * interval, the capacity holding on every line (after that line's own uses).
 * Every real schedule is a solution, so no policy moves fewer bytes than
 * FOO-L (offline_bound). PFOO-L relaxes further, to the capacity held on
 * average over the trace (offline_bound_average): a fractional knapsack,
 * lower still, and loose when the peak is far above the average. Both
 * ignore (which can only lower them) the residency a new allocation takes
 * before its first use and after its last, contiguity, and forced evictions
 * and swap-outs in the trace.
 */
#ifndef VIDMM_OFFLINE_H
#define VIDMM_OFFLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct offline;

/* Read the trace at path. -EINVAL with a message naming the line for a
 * malformed trace; -errno for a file that cannot be read. */
int offline_load(const char *path, struct offline **out, char *err, size_t len);
void offline_free(struct offline *m);

/* The most bytes live at once (successful creates minus destroys). */
uint64_t offline_peak(const struct offline *m);
/* Allocations created, and uses of them. */
uint64_t offline_allocations(const struct offline *m);
uint64_t offline_uses(const struct offline *m);
/* The most bytes one line needs resident at once. */
uint64_t offline_max_step(const struct offline *m);
/* The page size of the trace's profile (capacities are whole pages). */
uint64_t offline_page_size(const struct offline *m);

/* The first line after now where allocation id is used; UINT64_MAX if none
 * (or an id the trace never created). O(log uses of id). */
uint64_t offline_next_use(const struct offline *m, int64_t id, uint64_t now);

struct offline_bound {
	bool feasible;      /* false: some line needs more than the capacity */
	uint64_t bytes;     /* lower bound on bytes paged out plus paged in */
	uint64_t intervals; /* between consecutive uses */
	double kept;        /* intervals the bound keeps resident (fractional) */
	uint64_t all_out;   /* bytes moved if no interval were kept */
};

/* FOO-L: the lower bound with the capacity held on every line (below). */
void offline_bound(const struct offline *m, uint64_t capacity, struct offline_bound *out);
/* PFOO-L: the capacity held only on average over the trace's lines. Lower
 * than (or equal to) FOO-L, and O(n log n) with no per-line state. */
void offline_bound_average(const struct offline *m, uint64_t capacity,
			   struct offline_bound *out);

#endif /* VIDMM_OFFLINE_H */
