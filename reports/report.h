/* SPDX-License-Identifier: MIT */
/*
 * report.h - `vidmm-bench report`: a results document (bench/RESULTS.md) to a
 * Markdown summary and a self-contained HTML page with inline SVG charts
 * (ARCHITECTURE.md section 6), plus the loading and atomic-write helpers that
 * `compare` shares.
 *
 * Owns: reading results files for reports/, the HTML page and its charts.
 * Must not: edit results files, run workloads, or keep a second copy of the
 * Markdown summary layout (bench/results.c's results_summary_md is passed in,
 * so this library does not link the harness).
 */
#ifndef VIDMM_REPORT_H
#define VIDMM_REPORT_H

#include <stddef.h>

#include <jansson.h>

/* Renders summary.md for a document; returns malloc'd text or NULL. */
typedef char *(*report_md_fn)(const json_t *doc);

/*
 * Loads path and checks that it is a results document ({"context": {...},
 * "runs": [{"workload": ..., ...}, ...]}); a bare run object is wrapped into
 * one. On error: a one-line reason in err, *doc NULL.
 * Returns 0, -ENOENT/-EACCES/... (cannot read), -EINVAL (malformed JSON or
 * not a results document).
 */
int report_load(const char *path, json_t **doc, char *err, size_t len);

/* The Markdown report: summary.md (md) followed by per-run latency tables.
 * malloc'd, NULL on out of memory. */
char *report_markdown(const json_t *doc, report_md_fn md);

/* The HTML page (inline CSS and SVG, no scripts, no external references).
 * malloc'd, NULL on out of memory. */
char *report_html(const json_t *doc);

/* `vidmm-bench report ...` with argv[0] = "report"; returns the exit status
 * (0 ok, 2 bad usage, input or output). */
int report_main(int argc, char **argv, report_md_fn md);

#endif
