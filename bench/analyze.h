/* SPDX-License-Identifier: MIT */
/*
 * analyze.h - `vidmm-bench analyze`: the eviction lab's offline analysis of
 * a trace. At each capacity it replays the trace through the real manager on
 * the emulated GPU under every eviction policy (and under belady, which knows
 * the future), and sets the bytes each moved beside a lower bound on what any
 * policy must move (offline.h).
 */
#ifndef VIDMM_ANALYZE_H
#define VIDMM_ANALYZE_H

#include <stdbool.h>
#include <stdint.h>

#include "offline.h"

/* One policy's replay at one capacity. */
struct analyze_run {
	uint64_t bytes_in, bytes_out; /* bytes_paged_in / bytes_paged_out */
	uint64_t page_ins, page_outs;
	uint64_t swapped;             /* bytes swapped out and in (should stay 0) */
	uint64_t failed_calls;        /* succeeded in the recording, failed here */
	uint64_t integrity_errors;
	bool check_failed;            /* vidmm_check failed, or an undocumented errno */
	double seconds;
};

/*
 * Replay the trace at path (whose uses m holds) with the local segments
 * resized to capacity bytes, every allocation placed in them only, system
 * memory large enough that nothing is swapped, and eviction policy policy
 * ("belady" gets m as its oracle). 0, or -errno with a message.
 */
int analyze_replay(const char *path, const struct offline *m, uint64_t capacity,
		   const char *policy, struct analyze_run *out, char *err, size_t len);

/* The command; argv[0] is "analyze". Exit code (0, 1 a replay went wrong, 2
 * bad usage). */
int analyze_main(int argc, char **argv);

#endif /* VIDMM_ANALYZE_H */
