/* SPDX-License-Identifier: MIT */
/*
 * coverage.h - edge coverage of the running binary, when it was built with
 * -Dfuzz=enabled (every object instrumented with -fsanitize=fuzzer-no-link).
 */
#ifndef VIDMM_BENCH_COVERAGE_H
#define VIDMM_BENCH_COVERAGE_H

#include <stdbool.h>
#include <stdint.h>

/* Edges of the instrumented build and how many have run so far; false when
 * the build is not instrumented. */
bool coverage_edges(uint64_t *edges, uint64_t *hit);

#endif
