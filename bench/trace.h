/* SPDX-License-Identifier: MIT */
/*
 * trace.h - recording the stream of manager calls of a run (--record) and
 * replaying it (vidmm-bench replay).
 *
 * Owns: the trace format and its reader/writer. Must not: decide what a
 * workload does (the runner calls trace_op_* from its wrappers) or compare
 * anything but the recorded final statistics.
 *
 * FORMAT (JSON Lines, one JSON value per line, version 1):
 *   line 1, header: {"vidmm_trace":1, "workload":S, "seed":N, "threads":N,
 *     "verify":B, "paging_mode":"window"|"bounce", "driver":"emu",
 *     "profile":{every struct vidmm_profile field, sizes in bytes},
 *     "params":{name:value-text}}
 *   then one array per manager call, in the order the calls returned:
 *     ["c", id, size, alignment, priority, flags, [preferred...], ret]  create
 *     ["d", id, ret]                                                  destroy
 *     ["s", op, seed, engine, [[id, access], ...], ret]               submit
 *     ["l", id, ret]  ["u", id, ret]  ["e", id, ret]           lock/unlock/evict
 *     ["o", id, ret]                                                  swap_out
 *   and, in reproducers written by `vidmm-bench fuzz`:
 *     ["s", op, seed, engine, refs, ret, expect]  a job whose result word
 *         (VERIFY: mismatched words; CHECKSUM: the checksum) must be expect
 *     ["V", id, [[len, kind, seed], ...], ret]  lock, check what the CPU
 *         sees (kind 0 zeros, 1 the pattern of seed, 2 unknown), unlock
 *     ["W", id, seed, ret]                      lock, write a pattern, unlock
 *     ["F", 0, "KIND", seed]                    inject one fault (--inject kinds)
 *   with "check_each": true in the header (vidmm_check after every call) and
 *   a footer without "stats" (no counters to compare).
 *   The header may also carry "policy" (VIDMM_POLICY_VERSION of the build
 *   that recorded it; 1 when absent).
 *   id: the run's allocation number (not the handle, which is the core's);
 *   op: enum vidmm_job_op; seed: the job's 64-bit seed as a signed 64-bit
 *   integer (JSON parsers keep 64-bit signed integers exactly);
 *   ret: the call's return value (0 or a negative errno).
 *   last line, footer: {"end":{"ops":N, "integrity_errors":N,
 *     "stats":{the run's final "vidmm" counters, as in results files}}}
 * Recording and replaying wait for every job's fence before the next call,
 * so whether an eviction victim is busy never depends on timing: with one
 * thread the replay makes the same calls in the same state and ends with the
 * same counters (all but "bounces", which counts page-ins within a wall-time
 * window).
 */
#ifndef VIDMM_TRACE_H
#define VIDMM_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "runner.h"

struct trace_writer;

/* Open an unnamed file in path's directory (nothing appears at path until
 * trace_writer_commit or _salvage; rfile.h). -errno with a line naming
 * --record. */
int trace_writer_open(const char *path, struct trace_writer **out, char *err, size_t len);
int trace_write_header(struct trace_writer *tw, const struct run_config *c);
void trace_op_create(struct trace_writer *tw, uint64_t id, const struct vidmm_alloc_desc *d,
		     int ret);
void trace_op_simple(struct trace_writer *tw, char kind, uint64_t id, int ret);
void trace_op_submit(struct trace_writer *tw, const struct vidmm_job *job, const uint64_t *ids,
		     int ret);
/* Write the footer ("end": ops, integrity errors, interrupted, the final
 * statistics) and give the file its name; frees tw. */
int trace_writer_commit(struct trace_writer *tw, const struct run_result *res, char *err,
			size_t len);
/* A run that cannot finish (threads that did not stop after an interrupt):
 * give the calls recorded so far their name, without a footer (`replay
 * --partial` replays them). Does not free tw (its threads may still be in
 * it); the process is about to exit. */
int trace_writer_salvage(struct trace_writer *tw, char *err, size_t len);
void trace_writer_abort(struct trace_writer *tw);

struct trace_replay;

/*
 * Read the header of a trace into c (profile, seed, paging mode, verify,
 * the replay workload, one thread, deterministic). -EINVAL/-errno with one
 * line naming the file and what is wrong.
 */
int trace_replay_open(const char *path, struct run_config *c, struct trace_replay **out,
		      char *err, size_t len);
/*
 * After runner_run: compare the final counters with the footer. Prints the
 * verdict (and every difference) on out. 0 equal, 1 different, -EINVAL when
 * the trace had no footer or a malformed line (said on stderr).
 */
int trace_replay_compare(struct trace_replay *tr, const struct run_result *res, FILE *out);
/* Add "replay_of": {workload, params, trace, threads} of the recording to a
 * results run (json_t *), so that compare can pair a replay with its
 * recording. */
void trace_replay_describe(const struct trace_replay *tr, void *run_json);
/* --partial: a trace without its footer replays (nothing to compare). */
void trace_replay_set_partial(struct trace_replay *tr, bool partial);
/* Replay with another eviction policy than the recording's (--evict-policy):
 * the counters are then shown, not compared. */
void trace_replay_set_evict_policy(struct trace_replay *tr, const char *name);
/* For `vidmm-bench analyze` (analyze.c), which replays a trace at another
 * capacity under each eviction policy: */
/* Place every allocation in the local segments only (the capacity under
 * study), whatever the trace's preferences. */
void trace_replay_set_local_only(struct trace_replay *tr, bool on);
/* The line being replayed (the header is line 1): the analysis's clock. */
uint64_t trace_replay_line(const struct trace_replay *tr);
/* The trace id of the live allocation behind handle h, or -1. */
int64_t trace_replay_id_of(const struct trace_replay *tr, vidmm_handle_t h);
/* Calls that succeeded in the recording and failed in this replay. */
uint64_t trace_replay_failed_now(const struct trace_replay *tr);
/* After a run: what was wrong with the trace ("FILE:LINE: why"), or NULL. */
const char *trace_replay_error(const struct trace_replay *tr);
void trace_replay_close(struct trace_replay *tr);

#endif
