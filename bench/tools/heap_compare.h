/* SPDX-License-Identifier: MIT */
/*
 * heap_compare.h - heap_bench's comparison of the segment heap with the heap
 * it replaced and with a reference segregated-fit allocator, interleaved in
 * one process, plus the fragmentation-quality test and metadata per live
 * allocation.
 */
#ifndef VIDMM_HEAP_COMPARE_H
#define VIDMM_HEAP_COMPARE_H

#include <stdbool.h>
#include <stdint.h>

/* Prints the tables; returns 0, or 1 if a target was missed (reported, the
 * caller decides what that means). */
int heap_compare_run(uint64_t seed, bool quick);

#endif /* VIDMM_HEAP_COMPARE_H */
