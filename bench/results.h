/* SPDX-License-Identifier: MIT */
/*
 * results.h - results documents ({"context": {...}, "runs": [...]},
 * ARCHITECTURE.md section 9; keys documented in bench/RESULTS.md) and the
 * console summary of a run. summary.md and the HTML report are drawn from
 * these documents by reports/vidmm_reports.
 *
 * Owns: the JSON layout of a run and of the context. Must not: run anything
 * or decide exit codes.
 */
#ifndef VIDMM_RESULTS_H
#define VIDMM_RESULTS_H

#include <limits.h>
#include <stdio.h>

#include <jansson.h>

#include "runner.h"

/* Version of the results layout; bumped only when a key changes meaning. */
#define RESULTS_FORMAT 1

/* Output files: rfile.h (rfile_open, rfile_put, rfile_abort). */
#include "rfile.h"

/*
 * The context: version, git revision, driver, profile, host CPU, kernel,
 * hardware perf counters, io_uring/swap, seed, topology (pin), command line.
 */
json_t *results_context(const struct run_config *c, const struct run_result *res, int argc,
			char **argv);
/* The context's "io_uring": what the swap store obtained (from a run's
 * final statistics). */
json_t *results_io_uring(const struct vidmm_stats *st);
/* One element of "runs". */
json_t *results_run(const struct run_config *c, const struct run_result *res);
/* {"context": ctx, "runs": runs} (steals both references). */
json_t *results_document(json_t *ctx, json_t *runs);

/* A few human lines about a run (stdout of `run`). */
void results_print_run(FILE *out, const struct run_config *c, const struct run_result *res);

#endif
