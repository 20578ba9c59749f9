/* SPDX-License-Identifier: MIT */
/*
 * validate.h - the gate of `vidmm-bench report` and `compare`: a results
 * document (bench/RESULTS.md), or Google Benchmark JSON, checked for the
 * shape the Python reports rely on, before they run.
 *
 * Owns: what "a results file we can read" means, and the one-line message
 * that says where one is not. Must not: render or compare (the Python module
 * reports/vidmm_reports does), or reject keys it does not know (readers
 * ignore them: RESULTS.md).
 */
#ifndef VIDMM_REPORTS_VALIDATE_H
#define VIDMM_REPORTS_VALIDATE_H

#include <stddef.h>

enum doc_kind { DOC_RESULTS = 1, DOC_GBENCH, DOC_FUZZ, DOC_ANALYZE };

/* Parse text (len bytes, named name in messages) and check it: the kind
 * (> 0), or -EINVAL with "NAME: runs[3].histograms.create.buckets[2]: ..." in
 * err. */
int validate_text(const char *text, size_t len, const char *name, char *err, size_t err_len);
/* The same for a file; -errno when it cannot be read (a directory, say). */
int validate_file(const char *path, char *err, size_t err_len);

#endif
