/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - turning the manager's counters and log-linear histograms into
 * the JSON that results files and traces carry.
 *
 * Owns: the list of struct vidmm_stats counters by name (and which of them
 * are deterministic, so a replay can compare them), histogram -> percentile
 * and histogram -> bucket JSON. Must not: open files or run anything.
 */
#ifndef VIDMM_METRICS_H
#define VIDMM_METRICS_H

#include <stdbool.h>
#include <jansson.h>

#include "core/vidmm.h"

/* Scalar struct vidmm_stats fields: X(name, deterministic). Not
 * deterministic: "bounces" (a page-in within 100 ms of its page-out: wall
 * time), "fast_submits" (whether a new allocation's clear was seen done
 * before its next submit depends on the engines' timing), the background
 * reclaim counters (a thread, off in record/replay runs but still not part
 * of the calls), and the deepest swap queue seen (depends on I/O completion
 * timing). */
#define METRICS_STATS_FIELDS(X)                                                  \
	X(gart_pages, true) X(gart_mapped_pages, true) X(gart_invalidations, true) \
	X(sysmem_pages_used, true) X(sysmem_pages_budget, true)                    \
	X(sysmem_pages_reserve, true) X(allocations, true) X(alloc_failures, true) \
	X(dummy_page_faults, true) X(stale_tlb_hits, true) X(page_outs, true)     \
	X(page_ins, true) X(bytes_paged_out, true) X(bytes_paged_in, true)         \
	X(bytes_copied_window, true) X(bytes_copied_bounce, true)                  \
	X(pcie_remaps, true) X(busy_waits, true) X(throttled_moves, true)          \
	X(bounces, false) X(deferred_destroys, true) X(copy_failures, true)        \
	X(submits, true) X(locks, true) X(evicted_allocations, true)               \
	X(evicted_bytes, true) X(swap_outs, true) X(swap_ins, true)                \
	X(bytes_swapped_out, true) X(bytes_swapped_in, true)                       \
	X(swapped_allocations, true) X(swapped_bytes, true)                        \
	X(swap_write_errors, true) X(swap_read_errors, true) X(swap_full, true)    \
	X(reclaim_runs, false) X(reclaimed_bytes, false) X(swap_file_bytes, true)  \
	X(swap_used_bytes, true) X(swap_checksum_failures, true)                   \
	X(swap_queue_depth_reached, false) X(paging_cpu_waits, false)             \
	X(pipelined_page_ins, false) X(pipeline_stalls, false)                     \
	X(pipeline_copy_retries, false) X(busy_pageouts, false)                    \
	X(fast_submits, false)

/* The fields of METRICS_STATS_FIELDS that only grow (counts of events), so
 * that the difference over the measured window means something; the others
 * are levels (pages in use, live allocations). X(name, deterministic). */
#define METRICS_COUNTER_FIELDS(X)                                                \
	X(gart_invalidations, true) X(alloc_failures, true)                        \
	X(dummy_page_faults, true) X(stale_tlb_hits, true) X(page_outs, true)     \
	X(page_ins, true) X(bytes_paged_out, true) X(bytes_paged_in, true)         \
	X(bytes_copied_window, true) X(bytes_copied_bounce, true)                  \
	X(pcie_remaps, true) X(busy_waits, true) X(throttled_moves, true)          \
	X(bounces, false) X(deferred_destroys, true) X(copy_failures, true)        \
	X(copy_timeouts, false) X(migrations, true) X(cleared_bytes, true)         \
	X(clears, true) X(submits, true) X(locks, true) X(swap_outs, true)         \
	X(swap_ins, true) X(bytes_swapped_out, true) X(bytes_swapped_in, true)     \
	X(swap_write_errors, true) X(swap_read_errors, true) X(swap_full, true)    \
	X(reclaim_runs, false) X(reclaimed_bytes, false)                           \
	X(swap_checksum_failures, true) X(swap_readaheads, false)                  \
	X(swap_async_readaheads, false)                                            \
	X(paging_cpu_waits, false) X(pipelined_page_ins, false)                    \
	X(pipeline_stalls, false) X(pipeline_copy_retries, false)                 \
	X(busy_pageouts, false) X(fast_submits, false)

/* Every scalar counter, evictions_by_priority as an array, and per segment
 * {total, free, largest_free, resident}. */
json_t *metrics_stats_json(const struct vidmm_stats *st);

/* {"count","mean_ns","p50_ns","p90_ns","p99_ns","p999_ns","max_ns"} */
json_t *metrics_pct_json(const struct vidmm_hist *h);

/* {"count","sum_ns","min_ns","max_ns","buckets":[[lo_ns, hi_ns, n], ...]}
 * with only the non-zero buckets. */
json_t *metrics_hist_json(const struct vidmm_hist *h);

/* Client bytes resident in a segment (pagable + unpagable). */
uint64_t metrics_seg_resident(const struct vidmm_segment_stats *s);

/* 1 - largest_free / free over a segment (0 when nothing is free). */
double metrics_fragmentation(const struct vidmm_segment_stats *s);

/* The median of v[0..n) and a distribution-free interval for it from order
 * statistics (binomial ranks): the narrowest with at least 95% coverage, or
 * [min, max] when n is too small for that (coverage says what it has). The
 * Python reports compute the same (reports/vidmm_reports/stats.py). */
struct metrics_ci {
	double median, lo, hi, coverage;
};
void metrics_median_ci(const double *v, unsigned n, struct metrics_ci *out);

#include "drivers/profile.h"

/* Every field of a profile, sizes in bytes (exact, unlike the MiB of
 * profile JSON files): the results' context and trace headers. */
json_t *metrics_profile_json(const struct vidmm_profile *p);
/* The inverse; -EINVAL with a message naming the field. */
int metrics_profile_from_json(const json_t *o, struct vidmm_profile *p, char *err, size_t len);

#endif
