/* SPDX-License-Identifier: MIT */
/*
 * coverage.c - counts the edges an instrumented vidmm-bench has run, for
 * the "coverage" of `vidmm-bench fuzz` results.
 *
 * Owns: the hook the coverage instrumentation calls. Must not: be linked
 * into a libFuzzer target (libFuzzer defines the same hook): it is a source
 * of the vidmm-bench executables, never of the harness library.
 *
 * With -fsanitize=fuzzer-no-link every instrumented module hands its inline
 * 8-bit edge counters to __sanitizer_cov_8bit_counters_init from its
 * constructor; the sanitizer runtime's own definition is weak and would
 * only dump them at exit. In a build without instrumentation nothing calls
 * the hook, and coverage_edges says so.
 */
#include "coverage.h"

#include <stddef.h>

#define MAX_REGIONS 1024

static struct { const uint8_t *b, *e; } regions[MAX_REGIONS];
static unsigned nregions;

void __sanitizer_cov_8bit_counters_init(uint8_t *start, uint8_t *stop);

void __sanitizer_cov_8bit_counters_init(uint8_t *start, uint8_t *stop)
{
	/* Constructors run before main, on one thread: no lock. */
	if (start < stop && nregions < MAX_REGIONS) {
		regions[nregions].b = start;
		regions[nregions].e = stop;
		nregions++;
	}
}

bool coverage_edges(uint64_t *edges, uint64_t *hit)
{
	*edges = *hit = 0;
	for (unsigned i = 0; i < nregions; i++)
		for (const volatile uint8_t *c = regions[i].b; c < regions[i].e; c++) {
			(*edges)++;
			*hit += *c != 0;
		}
	return nregions > 0;
}
