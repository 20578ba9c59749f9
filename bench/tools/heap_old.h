/* SPDX-License-Identifier: MIT */
/*
 * heap_old.h - the segment heap before the size-class rewrite (two red-black
 * trees: holes by (size, address) and by address), kept as a baseline for
 * heap_bench and for the differential test of the new heap. Same contract as
 * core/heap.h, with old_heap_ in place of heap_.
 *
 * Owns: nothing libvidmm uses. Must not: be linked into libvidmm.
 */
#ifndef VIDMM_HEAP_OLD_H
#define VIDMM_HEAP_OLD_H

#include "core/heap.h"

struct old_heap;

int old_heap_create(uint64_t start, uint64_t size, struct old_heap **out);
void old_heap_destroy(struct old_heap *h);
int old_heap_alloc(struct old_heap *h, struct heap_node *node, uint64_t size,
		   uint64_t align, uint64_t range_start, uint64_t range_end,
		   enum heap_mode mode);
int old_heap_reserve(struct old_heap *h, struct heap_node *node);
int old_heap_free(struct old_heap *h, struct heap_node *node);
void old_heap_query(const struct old_heap *h, struct heap_stats *out);
uint64_t old_heap_largest_free(const struct old_heap *h);
void old_heap_free_extent(const struct old_heap *h, uint64_t start, uint64_t size,
			  uint64_t *lo, uint64_t *hi);
int old_heap_for_each_hole(const struct old_heap *h,
			   int (*fn)(void *arg, uint64_t start, uint64_t size), void *arg);
int old_heap_check(const struct old_heap *h, char *why, size_t why_len);
size_t old_heap_hole_bytes(void);

#endif /* VIDMM_HEAP_OLD_H */
