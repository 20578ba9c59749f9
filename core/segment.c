/* SPDX-License-Identifier: MIT */
/*
 * segment.c - a segment: a contiguous range of GPU address space with its own
 * heap and its resident lists (step 3 of the note's vidmm_init), and the range
 * operations every user of a segment shares.
 *
 * Owns: the segment's heap, its pagable lists (one per priority, each in LRU
 * order: head least recently used) and unpagable list, and their byte and
 * count totals. Must not: choose placements or victims (allocation.c and
 * residency do). Called with vm->lock held.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

int segment_create(struct segment *s, uint32_t id,
		   const struct vidmm_chip_segment_desc *d)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	memcpy(s->name, d->name, sizeof(s->name));
	s->name[sizeof(s->name) - 1] = '\0';
	s->flags = d->flags;
	s->base = d->base;
	s->size = d->size;
	s->parent = -1;
	for (int p = 0; p < VIDMM_PRIO_COUNT; p++)
		list_init(&s->pagable[p]);
	list_init(&s->unpagable);
	list_init(&s->driver);
	return heap_create(d->base, d->size, &s->heap);
}

void segment_destroy(struct segment *s)
{
	heap_destroy(s->heap);
	s->heap = NULL;
}

void segment_list_add(struct segment *s, struct vidmm_allocation *a)
{
	if (a->flags & VIDMM_ALLOC_UNPAGABLE) {
		list_add_tail(&a->lru, &s->unpagable);
		s->unpagable_bytes += a->size;
		s->unpagable_count++;
	} else {
		list_add_tail(&a->lru, &s->pagable[a->priority]);
		s->pagable_bytes[a->priority] += a->size;
		s->pagable_count[a->priority]++;
	}
}

void segment_list_del(struct segment *s, struct vidmm_allocation *a)
{
	list_del(&a->lru);
	if (a->flags & VIDMM_ALLOC_UNPAGABLE) {
		s->unpagable_bytes -= a->size;
		s->unpagable_count--;
	} else {
		s->pagable_bytes[a->priority] -= a->size;
		s->pagable_count[a->priority]--;
	}
}

/*
 * Take a range of segment s and, for a PCIe segment, the system pages behind
 * it, mapped in the GART (the note's vidmm_allocate_segment_memory steps 1-2).
 * All or nothing: on failure nothing is held.
 */
int segrange_alloc_locked(struct vidmm *vm, struct segment *s, struct heap_node *node,
			  struct sys_pages *pages, uint64_t size, uint64_t align,
			  enum heap_mode mode, bool contiguous_pages, bool use_reserve)
{
	int ret = heap_alloc(s->heap, node, size, align, 0, UINT64_MAX, mode);

	if (ret)
		return ret;
	memset(pages, 0, sizeof(*pages));
	if (seg_is_pcie(s)) {
		ret = sysmem_alloc(&vm->sysmem, size >> vm->gart.geo.page_shift,
				   contiguous_pages, use_reserve, pages);
		if (ret) {
			heap_free(s->heap, node);
			return ret;
		}
		gart_map(vm, node->start, pages, s->flags & VIDMM_SEG_SNOOPED);
	}
	return 0;
}

void segrange_free_locked(struct vidmm *vm, struct segment *s, struct heap_node *node,
			  struct sys_pages *pages)
{
	if (seg_is_pcie(s) && pages->npages) {
		gart_unmap(vm, node->start, pages->npages);
		sysmem_free(&vm->sysmem, pages);
	}
	heap_free(s->heap, node);
}
