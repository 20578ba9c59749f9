/* SPDX-License-Identifier: MIT */
/*
 * suite.h - named sets of runs (quick, full) written as one results.json and
 * one summary.md. Owns: the suite definitions. Must not: parse run options.
 */
#ifndef VIDMM_SUITE_H
#define VIDMM_SUITE_H

#include <stdio.h>

/* `vidmm-bench suite NAME [--out-dir DIR] [--quiet] [--seed N]`; argv[0] is
 * "suite". Returns the exit status. */
int suite_main(int argc, char **argv);

/* One line per suite for `list`. */
void suite_list(FILE *out);

#endif
