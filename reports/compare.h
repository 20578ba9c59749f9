/* SPDX-License-Identifier: MIT */
/*
 * compare.h - `vidmm-bench compare BASE.json NEW.json`: runs matched by
 * workload, params, threads and paging mode; each key metric judged improved,
 * regressed or no significant change (ARCHITECTURE.md section 6).
 *
 * Owns: the statistical test on latency histograms and the verdicts. Must
 * not: edit either document, or call a difference significant without
 * saying how (the table names the test or "no test possible").
 */
#ifndef VIDMM_COMPARE_H
#define VIDMM_COMPARE_H

#include <jansson.h>

/* Mann-Whitney U between two bucket histograms (RESULTS.md "histograms":
 * {"buckets": [[lo_ns, hi_ns, n], ...]}). */
struct compare_mwu {
	double n_base, n_new;
	double median_base, median_new; /* ns, bucket midpoints */
	double auc;     /* P(new > base) + P(tie)/2: 0.5 = no shift, > 0.5 = new slower */
	double z;       /* normal approximation, tie-corrected; > 0: new slower */
	double p;       /* two-sided p-value */
};

/* Returns 0, or -EINVAL when a side has no samples or malformed buckets. */
int compare_histograms(const json_t *base, const json_t *new_, struct compare_mwu *out);

/* `vidmm-bench compare ...` with argv[0] = "compare"; returns the exit status
 * (0 nothing regressed significantly, 1 something did, 2 bad input). */
int compare_main(int argc, char **argv);

#endif
