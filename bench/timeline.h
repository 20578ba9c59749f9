/* SPDX-License-Identifier: MIT */
/*
 * timeline.h - `--timeline FILE`: a Chrome trace-event JSON file of what a
 * run did, for Perfetto (ui.perfetto.dev, trace_processor) and
 * chrome://tracing.
 *
 * Owns: the per-thread event rings, the thread that empties them into an
 * unnamed temporary file, and the conversion of that file into trace
 * events at the end. Must not: block on a producer's path, allocate there
 * beyond the first event of a thread (which registers its ring) and a chunk
 * when the drain thread has fallen a chunk behind, or change what it
 * records: an event that finds the rings' memory budget spent is dropped
 * and counted (the file says how many).
 *
 * What the file holds (docs/perf-analysis.md shows it):
 *  - API calls as slices on the client threads that made them, with the
 *    manager's page-outs, page-ins, swap-ins and swap-outs nested inside;
 *  - one track per engine: every command it ran (page-in copy, page-out
 *    copy, clear, migrate copy, job) as a slice from start to fence
 *    signal, and its time in the queue (submit to start) as an async slice;
 *  - swap I/O as async slices (submit to completion), reclaim passes on the
 *    reclaim thread, evictions, placement failures, throttled moves and
 *    faults as instants;
 *  - counters: bytes used, free and the largest hole per segment, system
 *    pages in use, swap in use;
 *  - flow arrows from a page-in to its copies and from a submit to its job;
 *  - each run as a slice of the "runs" track, with the manager's own
 *    counters at its end (the test checks the slices against them).
 */
#ifndef VIDMM_BENCH_TIMELINE_H
#define VIDMM_BENCH_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/vidmm.h"
#include "drivers/emu/emu.h"

struct timeline;

/* The open timeline, or NULL: set by timeline_open, read by platform.c
 * (hooks), wl_runtime.c (API slices) and runner.c (counters). */
extern struct timeline *timeline_active;

/* Check that path can be written and start recording (the file is written
 * by timeline_close). 0 or -errno with a message in err. */
int timeline_open(const char *path, char *err, size_t len);
/* Write the file; 0, or -errno with a message (nothing written then). */
int timeline_close(char *err, size_t len);
/* Drop the recording without writing anything (an error elsewhere). */
void timeline_abort(void);

uint64_t timeline_now(void);

/* Hooks: vidmm_config.trace and emu_set_trace. */
void timeline_core_event(void *arg, const struct vidmm_trace_event *ev);
void timeline_emu_cmd(void *arg, const struct emu_trace_cmd *c);

/* A manager call (bench/contract.h's enum vidmm_call) from t0 to now. */
void timeline_api(int call, uint64_t t0, int ret);

/* One segment's counters, or the system pool (seg = -1: used pages bytes,
 * swap used bytes). */
void timeline_counter_segment(uint32_t seg, uint64_t used, uint64_t free_bytes, uint64_t largest);
void timeline_counter_system(uint64_t sysmem_used_bytes, uint64_t swap_used_bytes);

/* A run (its label), its measured window, and the manager's counters at its
 * end: a slice of the "runs" track. */
void timeline_run(const char *label, uint64_t t0, uint64_t ws, uint64_t we, uint64_t t1,
		  const struct vidmm_stats *end);

/* Events dropped so far (the rings' memory budget was spent). */
uint64_t timeline_dropped(void);

#endif /* VIDMM_BENCH_TIMELINE_H */
