/* SPDX-License-Identifier: MIT */
/*
 * sysmem.c - system pages with a page budget and an emergency reserve.
 *
 * Owns: which frames of the chip's host-memory pool vidmm holds, and the
 * budget (step 1 of the note's vidmm_init: how much PCIe/system memory the GPU
 * may use). Must not: touch the GART, segments or allocations; its caller maps
 * the frames it hands out. Called with vm->lock held.
 *
 * Frames are handed out as extents from a heap in frame units: one contiguous
 * run when the pool allows (so a GART map is a linear fill and a swap write is
 * one large I/O), else the fewest large runs, largest first. The reserve keeps
 * the last frames for the manager's own needs (the GART's dummy page,
 * driver-owned PCIe buffers) so client pressure cannot starve them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int sysmem_init(struct sysmem *sm, const struct vidmm_chip_sysmem *pool,
		uint64_t budget_bytes, uint64_t reserve_bytes)
{
	memset(sm, 0, sizeof(*sm));
	if (!pool->npages || !pool->cpu)
		return -EINVAL;
	sm->cpu = pool->cpu;
	sm->first_pfn = pool->first_pfn;
	sm->npages = pool->npages;
	sm->page_shift = pool->page_shift;
	sm->budget = budget_bytes >> pool->page_shift;
	if (sm->budget > sm->npages)
		sm->budget = sm->npages;
	sm->reserve = reserve_bytes >> pool->page_shift;
	if (sm->reserve >= sm->budget)
		return -EINVAL;
	return heap_create(sm->first_pfn, sm->npages, &sm->frames);
}

void sysmem_fini(struct sysmem *sm)
{
	heap_destroy(sm->frames);
	sm->frames = NULL;
}

void *sysmem_frame_cpu(const struct sysmem *sm, uint64_t pfn)
{
	return (char *)sm->cpu + (pfn << sm->page_shift);
}

static int push_extent(struct sys_pages *p, uint32_t *cap, const struct heap_node *n)
{
	if (array_reserve((void **)&p->ext, p->n_ext, cap, sizeof(*p->ext)))
		return -ENOMEM;
	p->ext[p->n_ext++].node = *n;
	p->npages += n->size;
	return 0;
}

int sysmem_alloc(struct sysmem *sm, uint64_t npages, bool contiguous,
		 bool use_reserve, struct sys_pages *out)
{
	uint64_t limit = use_reserve ? sm->budget : sm->budget - sm->reserve;
	struct sys_pages p = { 0 };
	uint32_t cap = 0;
	struct heap_node n;
	int ret;

	if (!npages)
		return -EINVAL;
	if (sm->used + npages > limit || sm->used + npages < sm->used)
		return -ENOMEM;

	ret = heap_alloc(sm->frames, &n, npages, 0, 0, UINT64_MAX, HEAP_BEST_FIT);
	if (ret == 0) {
		ret = push_extent(&p, &cap, &n);
		if (ret) {
			heap_free(sm->frames, &n);
			return ret;
		}
	} else if (contiguous) {
		return -ENOMEM;
	} else {
		/* Fragmented pool: the fewest runs, largest first. Each step takes a
		 * whole hole, so the loop runs at most once per hole. */
		uint64_t left = npages;
		while (left) {
			uint64_t take = heap_largest_free(sm->frames);
			if (!take) {
				ret = -ENOMEM;
				goto unwind;
			}
			if (take > left)
				take = left;
			ret = heap_alloc(sm->frames, &n, take, 0, 0, UINT64_MAX,
					 HEAP_BEST_FIT);
			if (ret)
				goto unwind;
			ret = push_extent(&p, &cap, &n);
			if (ret) {
				heap_free(sm->frames, &n);
				goto unwind;
			}
			left -= take;
		}
	}
	sm->used += npages;
	*out = p;
	return 0;

unwind:
	for (uint32_t i = 0; i < p.n_ext; i++)
		heap_free(sm->frames, &p.ext[i].node);
	free(p.ext);
	return ret == -ENOSPC ? -ENOMEM : ret;
}

void sysmem_free(struct sysmem *sm, struct sys_pages *pages)
{
	for (uint32_t i = 0; i < pages->n_ext; i++) {
		heap_free(sm->frames, &pages->ext[i].node); /* never fails (heap.h) */
		sm->used -= pages->ext[i].node.size;
	}
	free(pages->ext);
	memset(pages, 0, sizeof(*pages));
}

int sysmem_check(const struct sysmem *sm, char *why, size_t len)
{
	struct heap_stats st;
	int ret = heap_check(sm->frames, why, len);

	if (ret)
		return ret;
	heap_query(sm->frames, &st);
	if (st.total - st.free != sm->used) {
		snprintf(why, len, "sysmem: %llu frames used by the heap, %llu counted",
			 (unsigned long long)(st.total - st.free),
			 (unsigned long long)sm->used);
		return -EUCLEAN;
	}
	if (sm->used > sm->budget) {
		snprintf(why, len, "sysmem: %llu frames used over a budget of %llu",
			 (unsigned long long)sm->used, (unsigned long long)sm->budget);
		return -EUCLEAN;
	}
	return 0;
}
