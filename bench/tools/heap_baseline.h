/* SPDX-License-Identifier: MIT */
/*
 * heap_baseline.h - the original driver's heap algorithm, kept only as the
 * benchmark's point of comparison (bench/tools/heap_bench.c).
 *
 * Owns: a free list of blocks sorted by size (a singly linked list), first
 * fit in that order (so the smallest block that fits), and coalescing on free
 * by scanning the whole list for address neighbours.
 * Must not: be used by libvidmm, or be made clever: its cost is the point.
 */
#ifndef VIDMM_HEAP_BASELINE_H
#define VIDMM_HEAP_BASELINE_H

#include <stddef.h>
#include <stdint.h>

struct bl_heap;

/* Create a heap over [start, start+size) as one free block. 0 or -errno. */
int bl_create(uint64_t start, uint64_t size, struct bl_heap **out);
void bl_destroy(struct bl_heap *h);

/*
 * Allocate size bytes aligned to align (0/1: none; else a power of two) from
 * the first block in size order that can hold them, at the block's lowest
 * aligned address. 0 and *out_start, or -ENOSPC / -EINVAL.
 */
int bl_alloc(struct bl_heap *h, uint64_t size, uint64_t align, uint64_t *out_start);

/* Give [start, start+size) back, merging with address neighbours found by a
 * linear scan. 0 or -ENOMEM. */
int bl_free(struct bl_heap *h, uint64_t start, uint64_t size);

/*
 * Replace the free list with exactly these n blocks (starts ascending or not;
 * they must be disjoint and non-adjacent). For setting up a benchmark state
 * without paying the baseline's quadratic cost; not timed. 0 or -ENOMEM.
 */
int bl_load(struct bl_heap *h, const uint64_t *starts, const uint64_t *sizes, size_t n);

/* Number of free blocks. */
size_t bl_blocks(const struct bl_heap *h);

/* Bytes per free block descriptor. */
size_t bl_block_bytes(void);

#endif /* VIDMM_HEAP_BASELINE_H */
