/* SPDX-License-Identifier: MIT */
/*
 * check.c - vidmm_check: verifies every invariant of the manager
 * (ARCHITECTURE.md section 7), for tests and fuzzers to call after each step.
 *
 * Owns: nothing; it only reads. Must not: repair anything (a checker that
 * fixes hides the bug it should report). Takes vm->lock for the whole check.
 *
 * Invariants:
 *  I1 every heap is internally consistent (heap_check), sysmem too;
 *  I2 in every segment, live ranges (allocations on its lists, driver
 *     memory, the paging carve) and the heap's holes tile the segment exactly:
 *     no gap, no overlap - so the heap and the lists agree;
 *  I3 list byte and count totals equal the sums over the lists, and every
 *     allocation on a list says it is resident there;
 *  I4 every live handle's allocation is resident on exactly one list, or
 *     evicted/swapped with no segment range (never both resident and cached);
 *  I5 every GART entry of a live PCIe range names that range's own system
 *     frame with the segment's snoop bit; every other entry is the dummy
 *     page; the mapped counter equals the live pages;
 *  I6 system frames held (dummy page, PCIe ranges, paged-out copies) add up
 *     to the allocator's used count, within the budget;
 *  I7 the paging segment lies inside its parent's carve;
 *  I8 every allocation is in a state allocation.c allows: a CPU-locked one
 *     is live, resident in a CPU-visible segment and mapped; an unpagable
 *     one is resident; a destroyed one is deferred, owned by a mover or
 *     being freed by none other; a clear is pending only while resident.
 * Ranges and frames of operations in progress (vm->transit), quarantined
 * ones, live and late paging windows, pipelined page-ins still copying
 * (their windows and source frames) and the staging area are part of I2,
 * I5 and I6: vidmm_check may run at any moment, also while other threads
 * are in the middle of a call with the lock dropped.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct range {
	uint64_t start, size;
	const struct sys_pages *pages; /* mapped PCIe range, else NULL */
	bool snooped;
	bool hole;
};

struct ranges {
	struct range *r;
	uint32_t n, cap;
};

static int push(struct ranges *v, uint64_t start, uint64_t size,
		const struct sys_pages *pages, bool snooped, bool hole)
{
	if (array_reserve((void **)&v->r, v->n, &v->cap, sizeof(*v->r)))
		return -ENOMEM;
	v->r[v->n++] = (struct range){ start, size, pages, snooped, hole };
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int fail(struct vidmm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vm->check_error, sizeof(vm->check_error), fmt, ap);
	va_end(ap);
	return -EUCLEAN;
}

static int hole_cb(void *arg, uint64_t start, uint64_t size)
{
	return push(arg, start, size, NULL, false, true);
}

/* I2, I3 for one segment; appends its mapped PCIe ranges to *mapped. */
static int check_segment(struct vidmm *vm, struct segment *s, struct ranges *mapped,
			 uint64_t *resident_seen, uint64_t *frames)
{
	struct ranges v = { 0 };
	bool snooped = s->flags & VIDMM_SEG_SNOOPED;
	bool map = seg_is_pcie(s) && !seg_is_paging(s);
	int ret = 0;

	for (int p = -1; p < VIDMM_PRIO_COUNT && !ret; p++) {
		struct list_head *head = p < 0 ? &s->unpagable : &s->pagable[p];
		uint64_t bytes = 0, count = 0;

		list_for_each(pos, head) {
			struct vidmm_allocation *a = list_entry(pos, struct vidmm_allocation, lru);
			if (a->residency != VIDMM_RESIDENT || a->seg != s) {
				ret = fail(vm, "%s: allocation in slot %u is on the list but not resident there",
					   s->name, a->slot);
				break;
			}
			if ((p < 0) != !!(a->flags & VIDMM_ALLOC_UNPAGABLE) ||
			    (p >= 0 && a->priority != (enum vidmm_priority)p)) {
				ret = fail(vm, "%s: allocation in slot %u is on the wrong list", s->name, a->slot);
				break;
			}
			if (a->node.size != a->size) {
				ret = fail(vm, "%s: allocation in slot %u has a %llu-byte range for %llu bytes",
					   s->name, a->slot, (unsigned long long)a->node.size,
					   (unsigned long long)a->size);
				break;
			}
			if (map && a->pages.npages != a->size >> vm->gart.geo.page_shift) {
				ret = fail(vm, "%s: allocation in slot %u is backed by %llu pages, needs %llu",
					   s->name, a->slot, (unsigned long long)a->pages.npages,
					   (unsigned long long)(a->size >> vm->gart.geo.page_shift));
				break;
			}
			bytes += a->size;
			count++;
			/* A destroyed one still on its list is owned by a mover,
			 * which finishes the destroy: it has no handle any more. */
			if (!a->destroyed)
				(*resident_seen)++;
			else if (!a->moving) {
				ret = fail(vm, "%s: destroyed allocation on a list without a mover", s->name);
				break;
			}
			*frames += a->pages.npages;
			ret = push(&v, a->node.start, a->node.size, NULL, false, false);
			if (!ret && map)
				ret = push(mapped, a->node.start, a->node.size, &a->pages, snooped, false);
			if (ret)
				break;
		}
		if (ret)
			break;
		uint64_t want_b = p < 0 ? s->unpagable_bytes : s->pagable_bytes[p];
		uint64_t want_c = p < 0 ? s->unpagable_count : s->pagable_count[p];
		if (bytes != want_b || count != want_c)
			ret = fail(vm, "%s: %s list holds %llu bytes in %llu allocations, counters say %llu in %llu",
				   s->name, p < 0 ? "unpagable" : "a pagable",
				   (unsigned long long)bytes, (unsigned long long)count,
				   (unsigned long long)want_b, (unsigned long long)want_c);
	}
	if (!ret) {
		uint64_t bytes = 0, count = 0;
		list_for_each(pos, &s->driver) {
			struct segmem *m = list_entry(pos, struct segmem, link);
			bytes += m->node.size;
			count++;
			*frames += m->pages.npages;
			ret = push(&v, m->node.start, m->node.size, NULL, false, false);
			if (!ret && map)
				ret = push(mapped, m->node.start, m->node.size, &m->pages, snooped, false);
			if (ret)
				break;
		}
		if (!ret && (bytes != s->driver_bytes || count != s->driver_count))
			ret = fail(vm, "%s: driver memory list and counters disagree", s->name);
	}
	/* Ranges held outside the lists: destroyed-but-busy allocations, page-ins
	 * in flight, and in the paging segment its windows and staging area. */
	list_for_each(pos, &vm->deferred) {
		struct vidmm_allocation *a = list_entry(pos, struct vidmm_allocation, lru);
		if (ret || a->residency != VIDMM_RESIDENT || a->seg != s)
			continue;
		*frames += a->pages.npages;
		ret = push(&v, a->node.start, a->node.size, NULL, false, false);
		if (!ret && map)
			ret = push(mapped, a->node.start, a->node.size, &a->pages, snooped, false);
	}
	list_for_each(pos, &vm->transit) {
		struct transit *t = list_entry(pos, struct transit, link);
		if (ret || t->seg != s)
			continue;
		ret = push(&v, t->node.start, t->node.size, NULL, false, false);
		if (!ret && t->mapped)
			ret = push(mapped, t->node.start, t->node.size, &t->pages, snooped, false);
	}
	list_for_each(pos, &vm->quarantine) {
		struct quarantine *q = list_entry(pos, struct quarantine, link);
		if (!ret && q->seg == s)
			ret = push(&v, q->node.start, q->node.size, NULL, false, false);
	}
	if (!ret && seg_is_paging(s)) {
		list_for_each(pos, &vm->windows) {
			struct paging_window *w = list_entry(pos, struct paging_window, link);
			if (ret)
				break;
			ret = push(&v, w->win.start, w->win.size, NULL, false, false);
			/* Its entries map some allocation's pages: counted, not
			 * compared. A late window is unmapped (dummy page). */
			if (!ret && !w->late)
				ret = push(mapped, w->win.start, w->win.size, NULL, snooped, false);
		}
		if (!ret && vm->staging.size) {
			*frames += vm->staging_pages.npages;
			ret = push(&v, vm->staging.start, vm->staging.size, NULL, false, false);
			if (!ret)
				ret = push(mapped, vm->staging.start, vm->staging.size,
					   &vm->staging_pages, snooped, false);
		}
	}
	if (!ret && s->has_carve)
		ret = push(&v, s->carve.start, s->carve.size, NULL, false, false);
	if (!ret)
		ret = heap_for_each_hole(s->heap, hole_cb, &v);
	if (ret)
		goto out;

	if (v.n)
		qsort(v.r, v.n, sizeof(*v.r), cmp_range);
	uint64_t at = s->base;
	for (uint32_t i = 0; i < v.n; i++) {
		if (v.r[i].start != at) {
			ret = fail(vm, "%s: %s at 0x%llx where 0x%llx was expected (heap and lists disagree)",
				   s->name, v.r[i].hole ? "hole" : "range",
				   (unsigned long long)v.r[i].start, (unsigned long long)at);
			goto out;
		}
		at += v.r[i].size;
	}
	if (at != s->base + s->size)
		ret = fail(vm, "%s: ranges and holes end at 0x%llx, the segment at 0x%llx",
			   s->name, (unsigned long long)at, (unsigned long long)(s->base + s->size));
out:
	free(v.r);
	return ret;
}

static int check_gart(struct vidmm *vm, struct ranges *mapped)
{
	const struct gart *g = &vm->gart;
	uint64_t shift = g->geo.page_shift, live = 0;
	uint32_t k = 0;

	if (mapped->n) /* qsort's base must not be NULL, even for 0 elements */
		qsort(mapped->r, mapped->n, sizeof(*mapped->r), cmp_range);
	for (uint64_t i = 0; i < g->npages;) {
		uint64_t addr = g->geo.base + (i << shift);
		if (k < mapped->n && mapped->r[k].start == addr && !mapped->r[k].pages) {
			/* A paging window: any frame but the dummy page. */
			uint64_t n = mapped->r[k].size >> shift;
			for (uint64_t j = 0; j < n; j++, i++)
				if (gart_read_entry(g, i) == g->dummy_entry)
					return fail(vm, "GART entry %llu of a live paging window is the dummy page",
						    (unsigned long long)i);
			live += n;
			k++;
			continue;
		}
		if (k < mapped->n && mapped->r[k].start == addr) {
			const struct range *r = &mapped->r[k];
			for (uint32_t e = 0; e < r->pages->n_ext; e++) {
				const struct heap_node *x = &r->pages->ext[e].node;
				for (uint64_t f = 0; f < x->size; f++, i++) {
					uint64_t want = gart_make_entry(g, x->start + f, r->snooped);
					uint64_t got = gart_read_entry(g, i);
					if (got != want)
						return fail(vm, "GART entry %llu (0x%llx) is 0x%llx, the live range needs 0x%llx",
							    (unsigned long long)i,
							    (unsigned long long)(g->geo.base + (i << shift)),
							    (unsigned long long)got, (unsigned long long)want);
				}
			}
			live += r->pages->npages;
			k++;
			continue;
		}
		uint64_t got = gart_read_entry(g, i);
		if (got != g->dummy_entry)
			return fail(vm, "GART entry %llu (0x%llx) is 0x%llx but backs no live range (dummy page is 0x%llx)",
				    (unsigned long long)i, (unsigned long long)addr,
				    (unsigned long long)got, (unsigned long long)g->dummy_entry);
		i++;
	}
	if (k != mapped->n)
		return fail(vm, "GART: live range at 0x%llx is outside the GART",
			    (unsigned long long)mapped->r[k].start);
	if (live != g->mapped)
		return fail(vm, "GART: %llu entries map live ranges, the counter says %llu",
			    (unsigned long long)live, (unsigned long long)g->mapped);
	return 0;
}

int vidmm_check(vidmm_t *vm)
{
	struct ranges mapped = { 0 };
	uint64_t resident_seen = 0, resident = 0, live = 0, frames = 0;
	char why[200];
	int ret = 0;

	if (!vm)
		return -EINVAL;
	vm_lock(vm);
	vm->check_error[0] = '\0';

	/* I1 */
	for (uint32_t i = 0; i < vm->nsegs && !ret; i++)
		if (heap_check(vm->seg[i].heap, why, sizeof(why)))
			ret = fail(vm, "%s heap: %s", vm->seg[i].name, why);
	if (!ret && sysmem_check(&vm->sysmem, why, sizeof(why)))
		ret = fail(vm, "%s", why);
	/* I2, I3 */
	for (uint32_t i = 0; i < vm->nsegs && !ret; i++)
		ret = check_segment(vm, &vm->seg[i], &mapped, &resident_seen, &frames);
	/* I4 */
	for (uint32_t i = 0; i < vm->nslots && !ret; i++) {
		struct vidmm_allocation *a = vm->slots[i].a;
		if (!a)
			continue;
		live++;
		if (a->slot != i || a->gen != vm->slots[i].gen) {
			ret = fail(vm, "handle slot %u names an allocation of slot %u", i, a->slot);
		} else if (a->destroyed || a->deferred) {
			ret = fail(vm, "slot %u: a live handle names a destroyed allocation", i);
		} else if (a->lock_count && (a->residency != VIDMM_RESIDENT || !a->cpu ||
					     !(a->seg->flags & VIDMM_SEG_CPU_VISIBLE))) {
			ret = fail(vm, "slot %u is CPU-locked but not resident and mapped where the CPU sees it", i);
		} else if ((a->flags & VIDMM_ALLOC_UNPAGABLE) && a->residency != VIDMM_RESIDENT) {
			ret = fail(vm, "slot %u is unpagable but not resident", i);
		} else if (a->clear_fence && a->residency != VIDMM_RESIDENT) {
			ret = fail(vm, "slot %u left its range with its clear still pending", i);
		} else if (a->residency == VIDMM_RESIDENT) {
			resident++;
			if (seg_is_local(a->seg) && a->pages.npages && !a->moving)
				ret = fail(vm, "slot %u is resident in %s and also holds a system copy",
					   i, a->seg->name);
		} else {
			if (a->residency == VIDMM_EVICTED && !a->moving &&
			    a->pages.npages != a->size >> vm->gart.geo.page_shift)
				ret = fail(vm, "slot %u is paged out without a full system copy", i);
			if (a->residency == VIDMM_SWAPPED && !a->moving &&
			    (a->pages.npages || !a->swp.valid || a->swp.bytes < a->size))
				ret = fail(vm, "slot %u is swapped out without a valid swap slot, or still holds pages", i);
			frames += a->pages.npages;
		}
	}
	if (!ret && resident != resident_seen)
		ret = fail(vm, "%llu allocations say they are resident, %llu are on segment lists",
			   (unsigned long long)resident, (unsigned long long)resident_seen);
	if (!ret && live != vm->live_allocs)
		ret = fail(vm, "%llu live handles, the counter says %llu",
			   (unsigned long long)live, (unsigned long long)vm->live_allocs);
	/* Frames of destroyed allocations that are not resident anywhere. */
	list_for_each(pos, &vm->deferred) {
		struct vidmm_allocation *a = list_entry(pos, struct vidmm_allocation, lru);
		if (!ret && (!a->destroyed || a->lock_count))
			ret = fail(vm, "a deferred allocation is not destroyed, or still CPU-locked");
		if (a->residency != VIDMM_RESIDENT)
			frames += a->pages.npages;
	}
	/* Frames held by operations in progress and in quarantine. */
	list_for_each(pos, &vm->transit) {
		struct transit *t = list_entry(pos, struct transit, link);
		frames += t->pages.npages;
	}
	list_for_each(pos, &vm->quarantine) {
		struct quarantine *q = list_entry(pos, struct quarantine, link);
		frames += q->pages.npages;
	}
	/* The source frames of pipelined page-ins still copying, which belong
	 * to a resident allocation that points back. */
	list_for_each(pos, &vm->inflight) {
		struct inflight *fl = list_entry(pos, struct inflight, link);
		frames += fl->pages.npages;
		if (!ret && (fl->a->inflight != fl || fl->a->residency != VIDMM_RESIDENT))
			ret = fail(vm, "a pipelined page-in in flight belongs to no resident allocation");
	}
	/* ...and of destroyed ones a mover still owns (page-in, swap-out,
	 * swap-in): they have no handle and are not deferred, but they are on
	 * the system-cache or swapped list until the mover lets go. */
	for (int p = 0; p <= VIDMM_PRIO_COUNT; p++) {
		struct list_head *head = p < VIDMM_PRIO_COUNT ? &vm->evicted[p] : &vm->swapped;
		list_for_each(pos, head) {
			struct vidmm_allocation *a = list_entry(pos, struct vidmm_allocation, cache);
			if (a->destroyed && !a->deferred)
				frames += a->pages.npages;
		}
	}
	/* I5 */
	if (!ret)
		ret = check_gart(vm, &mapped);
	/* I6 */
	if (!ret) {
		frames += vm->gart.dummy.npages;
		if (frames != vm->sysmem.used)
			ret = fail(vm, "system frames: %llu held by ranges and copies, %llu counted used",
				   (unsigned long long)frames, (unsigned long long)vm->sysmem.used);
	}
	/* I7 */
	if (!ret && vm->paging_seg >= 0) {
		const struct segment *p = &vm->seg[vm->paging_seg];
		const struct segment *par = &vm->seg[p->parent];
		if (!par->has_carve || p->base != par->carve.start || p->size != par->carve.size)
			ret = fail(vm, "paging segment is not its parent's carve");
	}
	if (ret == -ENOMEM)
		snprintf(vm->check_error, sizeof(vm->check_error), "out of memory while checking");
	vm_unlock(vm);
	free(mapped.r);
	return ret;
}

const char *vidmm_check_error(vidmm_t *vm)
{
	return vm ? vm->check_error : "no manager";
}
