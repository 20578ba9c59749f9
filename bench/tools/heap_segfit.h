/* SPDX-License-Identifier: MIT */
/*
 * heap_segfit.h - a reference segregated-fit range allocator in the TLSF
 * family, kept only as heap_bench's in-run yardstick for the segment heap.
 *
 * Owns: an out-of-band allocator over [start, start+size): every block, used
 * or free, has a descriptor with its physical neighbours; free blocks sit on
 * one list per size class; a two-level bitmap finds a non-empty class in
 * O(1). Good fit, not best fit: a request is rounded up to the next class
 * boundary and takes the head of the first non-empty class from there, so
 * alloc and free are O(1) and never search. The peer it stands in for is
 * TLSF (Masmano et al.) and VulkanMemoryAllocator's virtual blocks.
 * Must not: be used by libvidmm, or be tuned against the heap it measures.
 */
#ifndef VIDMM_HEAP_SEGFIT_H
#define VIDMM_HEAP_SEGFIT_H

#include <stddef.h>
#include <stdint.h>

struct sf_heap;
struct sf_block; /* the allocation's handle */

int sf_create(uint64_t start, uint64_t size, struct sf_heap **out);
void sf_destroy(struct sf_heap *h);

/* size bytes aligned to align (0/1: none; else a power of two). 0 with
 * *out (the handle for sf_free) and *at, or -ENOSPC / -ENOMEM / -EINVAL. */
int sf_alloc(struct sf_heap *h, uint64_t size, uint64_t align, struct sf_block **out,
	     uint64_t *at);
/* Give a block back, merging with free physical neighbours. O(1). */
void sf_free(struct sf_heap *h, struct sf_block *b);

uint64_t sf_free_blocks(const struct sf_heap *h);
/* Bytes of metadata: descriptors of every block (used and free) and the
 * class lists' heads and bitmaps. */
size_t sf_metadata_bytes(const struct sf_heap *h);
size_t sf_block_bytes(void);

#endif /* VIDMM_HEAP_SEGFIT_H */
