/* SPDX-License-Identifier: MIT */
/*
 * allocation.c - client allocations: the descriptor, the handle table, and
 * create/destroy/query with placement over the preferred segments (the note's
 * vidmm_create_allocation).
 *
 * Owns: struct vidmm_allocation lifetimes and the handle table. Handles are
 * (generation << 32 | slot + 1): a slot's generation changes every time it is
 * freed, so a stale, forged or double-destroyed handle never reaches a
 * descriptor - it gets -EBADF and changes nothing.
 *
 * Must not: move data between segments (residency does) or write GART
 * entries directly (segment.c / gart.c do). Called with vm->lock held where
 * the name says _locked; the public calls take it.
 *
 * Descriptors are type-stable: a freed one is kept on vm->desc_free and
 * reused (its reservation initialised once), and handed back to malloc only
 * by vidmm_destroy, so the resident-submit fast path may lock one it read
 * from the table without vm->lock and find, under its reservation, that it
 * is no longer (or not yet) published under the handle it was given.
 *
 * THE STATE OF AN ALLOCATION, all under vm->lock (and, where manager.c
 * says so, also under a->resv):
 *
 *   residency  RESIDENT (a range of a->seg, on its pagable or unpagable
 *              list; PCIe: a->pages mapped there), EVICTED (data in
 *              a->pages, on vm->evicted[prio]) or SWAPPED (data in a->swp,
 *              on vm->swapped);
 *   moving     one owner is changing its placement (below);
 *   op_pins    calls in progress (submit, lock) that hold a pointer to it:
 *              not a victim, not freed;
 *   lock_count CPU locks (> 0: resident in a CPU-visible segment, a->cpu
 *              valid, not a victim);
 *   busy       a fence recorded on it has not signalled, or its clear has
 *              not completed without error;
 *   destroyed  the handle is gone (deferred: on vm->deferred, waiting for
 *              the pins and the GPU).
 *
 * Transitions (who, and what it needs first):
 *
 *   (none) -> RESIDENT        create: a range is found (transit record while
 *                             the lock may drop), PCIe frames mapped, the
 *                             clear queued (busy), then published.
 *   RESIDENT -> EVICTED       page-out (eviction, vidmm_evict, reclaim of
 *                             PCIe): owner; idle, no pins, no CPU lock,
 *                             pagable. Local: copy to fresh frames, then the
 *                             range is freed; PCIe: unmapped, frames kept.
 *   EVICTED -> RESIDENT       page-in (submit, lock): owner; the caller holds
 *                             an op pin. Range found first (transit), copy,
 *                             then the frames are freed.
 *   RESIDENT -> RESIDENT      migration for a CPU lock (invisible local ->
 *                             CPU-visible): owner, idle, pagable; room found
 *                             first, one GPU copy, then the old range freed.
 *                             Also the frames of a PCIe one made contiguous.
 *   EVICTED -> SWAPPED        swap-out (reclaim, vidmm_swap_out): owner;
 *                             idle, no pins, no CPU lock; frames freed after
 *                             the write succeeded.
 *   RESIDENT -> SWAPPED       vidmm_swap_out: owner; as page-out, but the
 *                             range is kept until the write has succeeded.
 *   SWAPPED -> EVICTED        swap-in (submit, lock): owner; checksums good.
 *   CPU lock 0 -> 1           vidmm_lock: owner while the GPU work drains
 *                             and it is mapped; resident, CPU-visible.
 *   CPU lock n -> n +/- 1     vidmm_lock / vidmm_unlock: nothing else.
 *   live -> destroyed         vidmm_destroy_allocation: not CPU-locked
 *                             (-EBUSY). The handle goes at once; the memory
 *                             is freed by the owner's release if moving,
 *                             else now if idle and unpinned, else deferred
 *                             until the reaper finds it idle and unpinned.
 *
 * A failed transition leaves the allocation as it was, except that frames or
 * ranges a timed-out copy may still write go to quarantine (residency.c).
 * Every state above, and every range held in transit or quarantine, is
 * checked by vidmm_check (check.c).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define KNOWN_FLAGS (VIDMM_ALLOC_UNPAGABLE | VIDMM_ALLOC_CPU_VISIBLE | \
		     VIDMM_ALLOC_LOCAL_ONLY | VIDMM_ALLOC_TOP_DOWN)

struct vidmm_allocation *handle_lookup_locked(struct vidmm *vm, vidmm_handle_t h)
{
	uint64_t idx = (h & 0xffffffffull);
	uint32_t gen = (uint32_t)(h >> 32);

	if (idx == 0 || idx > vm->nslots || gen == 0)
		return NULL;
	struct handle_slot *s = &vm->slots[idx - 1];
	if (!s->a || s->gen != gen)
		return NULL;
	return s->a;
}

/*
 * The descriptor in h's slot, without vm->lock, or NULL: possibly stale.
 * The table may grow meanwhile (an old array stays readable: the growth in
 * slot_reserve_locked keeps it), and the descriptor may be freed and reused
 * meanwhile (descriptors are type-stable, so locking its resv is safe). The
 * caller decides under a->resv, by a->pub_handle == h.
 */
struct vidmm_allocation *handle_peek(struct vidmm *vm, vidmm_handle_t h)
{
	uint64_t idx = (h & 0xffffffffull);

	if (idx == 0 || idx > atomic_load_explicit(&vm->nslots, memory_order_acquire))
		return NULL;
	struct handle_slot *t = atomic_load_explicit(&vm->slots, memory_order_acquire);
	return atomic_load_explicit(&t[idx - 1].a, memory_order_acquire);
}

/* A descriptor, zeroed past its reservation: a reused one (type-stable, see
 * struct vidmm_allocation) or a new one. NULL without memory. */
static struct vidmm_allocation *desc_get_locked(struct vidmm *vm)
{
	struct vidmm_allocation *a = vm->desc_free;

	if (a) {
		vm->desc_free = a->desc_next;
		/* A fast path holding a stale pointer may hold resv and look
		 * at pub_handle: reset under it. */
		pthread_mutex_lock(&a->resv);
		memset((char *)a + offsetof(struct vidmm_allocation, pub_handle), 0,
		       sizeof(*a) - offsetof(struct vidmm_allocation, pub_handle));
		pthread_mutex_unlock(&a->resv);
		return a;
	}
	a = calloc(1, sizeof(*a));
	if (a && pthread_mutex_init(&a->resv, NULL)) {
		free(a);
		a = NULL;
	}
	return a;
}

/* Give a descriptor back for reuse; its memory stays until the manager goes. */
static void desc_put_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	a->desc_next = vm->desc_free;
	vm->desc_free = a;
}

void allocation_descs_fini(struct vidmm *vm)
{
	while (vm->desc_free) {
		struct vidmm_allocation *a = vm->desc_free;
		vm->desc_free = a->desc_next;
		pthread_mutex_destroy(&a->resv);
		free(a);
	}
	for (uint32_t i = 0; i < vm->n_retired_slots; i++)
		free(vm->retired_slots[i]);
	free(vm->slots);
}

/*
 * Take a slot out of circulation for a create in progress, before anything
 * else changes, so publishing the finished allocation cannot fail. It is
 * the create's own: placement may drop the lock, and other creates then
 * take other slots (a reservation of "some capacity" would not survive
 * that). An empty reserved slot makes every handle naming it stale.
 */
static int slot_reserve_locked(struct vidmm *vm, uint32_t *idx)
{
	uint32_t i;

	if (vm->free_head) {
		i = vm->free_head - 1;
		vm->free_head = vm->slots[i].next_free;
	} else {
		if (vm->nslots == vm->cap_slots) {
			/* A new array, not realloc: the fast path may be
			 * reading the old one, which is kept (retired) until
			 * the manager goes. Doubling: they add up to less
			 * than the live one. */
			uint32_t ncap = vm->cap_slots ? vm->cap_slots * 2 : 256;
			struct handle_slot *n, *old = vm->slots;
			if (ncap <= vm->cap_slots || ncap > 0x7fffffffu ||
			    (old && vm->n_retired_slots == 32))
				return -ENOMEM;
			n = calloc(ncap, sizeof(*n));
			if (!n)
				return -ENOMEM;
			for (uint32_t k = 0; k < vm->nslots; k++) {
				n[k].gen = old[k].gen;
				n[k].next_free = old[k].next_free;
				atomic_init(&n[k].a, atomic_load_explicit(&old[k].a,
									  memory_order_relaxed));
			}
			atomic_store_explicit(&vm->slots, n, memory_order_release);
			if (old)
				vm->retired_slots[vm->n_retired_slots++] = old;
			vm->cap_slots = ncap;
		}
		i = atomic_load_explicit(&vm->nslots, memory_order_relaxed);
		vm->slots[i].gen = 1;
		atomic_store_explicit(&vm->nslots, i + 1, memory_order_release);
	}
	vm->slots[i].a = NULL;
	vm->slots[i].next_free = 0;
	*idx = i;
	return 0;
}

/* Give a reserved slot back unused. */
static void slot_unreserve_locked(struct vidmm *vm, uint32_t i)
{
	vm->slots[i].next_free = vm->free_head;
	vm->free_head = i + 1;
}

/* Publish a in its reserved slot. */
static void slot_take_locked(struct vidmm *vm, struct vidmm_allocation *a, uint32_t i)
{
	a->slot = i;
	a->gen = vm->slots[i].gen;
	resv_lock(vm, a);
	a->pub_handle = alloc_handle(a);
	resv_unlock(vm, a);
	atomic_store_explicit(&vm->slots[i].a, a, memory_order_release);
}

static void slot_put_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	struct handle_slot *s = &vm->slots[a->slot];

	s->a = NULL;
	if (++s->gen == 0)
		s->gen = 1;
	s->next_free = vm->free_head;
	vm->free_head = a->slot + 1;
}

static bool seg_allowed(const struct segment *s, uint32_t flags)
{
	if (seg_is_paging(s))
		return false;
	if ((flags & VIDMM_ALLOC_CPU_VISIBLE) && !(s->flags & VIDMM_SEG_CPU_VISIBLE))
		return false;
	if ((flags & VIDMM_ALLOC_LOCAL_ONLY) && !seg_is_local(s))
		return false;
	return true;
}

/*
 * The placement order. Preferred segments, in the caller's order, are the
 * only ones used when given (each must suit the flags, else -EINVAL). With
 * none: CPU-invisible local first (keep the BAR-visible window for what the
 * CPU needs), then visible local, then PCIe. Segments the allocation can
 * never fit in (size or alignment larger than the segment) are left out,
 * so no later placement asks one for the impossible.
 */
static int placement_order(const struct vidmm *vm, const struct vidmm_alloc_desc *d,
			   struct vidmm_allocation *a)
{
	uint32_t order[VIDMM_MAX_SEGMENTS], n = 0;
	bool align_fits = false;

	if (d->n_preferred) {
		if (d->n_preferred > VIDMM_MAX_PREFERRED)
			return -EINVAL;
		for (uint32_t i = 0; i < d->n_preferred; i++) {
			uint32_t id = d->preferred[i];
			if (id >= vm->nsegs || !seg_allowed(&vm->seg[id], d->flags))
				return -EINVAL;
			for (uint32_t j = 0; j < i; j++)
				if (d->preferred[j] == id)
					return -EINVAL;
			order[n++] = id;
		}
	} else {
		for (int pass = 0; pass < 3; pass++)
			for (uint32_t i = 0; i < vm->nsegs; i++) {
				const struct segment *s = &vm->seg[i];
				bool vis = seg_cpu_visible(s);
				int want = seg_is_local(s) ? (vis ? 1 : 0) : 2;
				if (want == pass && seg_allowed(s, d->flags))
					order[n++] = i;
			}
		if (!n)
			return -EINVAL;
	}
	a->n_allowed = 0;
	a->cpu_ok = false;
	for (uint32_t i = 0; i < n; i++) {
		const struct segment *s = &vm->seg[order[i]];
		if (a->align > s->size)
			continue;
		align_fits = true;
		if (a->size > s->size)
			continue;
		a->allowed[a->n_allowed++] = order[i];
		if (seg_cpu_visible(s))
			a->cpu_ok = true;
	}
	if (!align_fits)
		return -EINVAL;
	return a->n_allowed ? 0 : -ENOSPC;
}

int vidmm_create_allocation(vidmm_t *vm, const struct vidmm_alloc_desc *d,
			    vidmm_handle_t *out)
{
	struct vidmm_allocation *a;
	struct transit t = { 0 };
	uint64_t page;
	uint32_t slot = 0;
	bool reserved = false;
	int ret;

	if (!vm || !d || !out)
		return -EINVAL;
	page = vm_page_size(vm);
	if (!d->size || d->size > UINT64_MAX - page || (unsigned)d->priority >= VIDMM_PRIO_COUNT ||
	    (d->flags & ~KNOWN_FLAGS) || (d->alignment && !is_pow2(d->alignment)))
		return -EINVAL;

	vm_lock(vm);
	a = desc_get_locked(vm);
	if (!a) {
		vm_unlock(vm);
		return -ENOMEM;
	}
	a->size = align_up(d->size, page);
	a->align = d->alignment < page ? page : d->alignment;
	a->priority = d->priority;
	a->flags = d->flags;
	list_init(&a->lru);
	list_init(&a->cache);
	ret = placement_order(vm, d, a);
	if (ret == -EINVAL)
		goto err_unlock;
	if (!ret) {
		ret = slot_reserve_locked(vm, &slot);
		reserved = ret == 0;
	}
	/* Place first, then publish the handle: placement may drop the lock to
	 * page victims out, and nobody may see a half-made allocation. */
	if (!ret)
		ret = place_new_locked(vm, a, &t);
	if (ret)
		goto err_count;
	a->seg = t.seg;
	a->node = t.node;
	a->pages = t.pages;
	a->residency = VIDMM_RESIDENT;
	segment_list_add(a->seg, a);
	vm->policy->resident(vm, a);
	slot_take_locked(vm, a, slot);
	vm->live_allocs++;
	*out = alloc_handle(a);
	VIDMM_TRACE(&vm->tracer, alloc_create, VIDMM_TRACE_ALLOC_CREATE, *out, a->size,
		    a->seg - vm->seg, a->priority);
	vm_unlock(vm);
	return 0;

err_count:
	vm->alloc_failures++;
	if (reserved)
		slot_unreserve_locked(vm, slot);
err_unlock:
	desc_put_locked(vm, a);
	vm_unlock(vm);
	return ret;
}

/* Free everything a holds; its handle is already gone (or never was). */
void allocation_free_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	/* Still queued for its use hook: apply the queue while a is still on
	 * its lists (the hook may move it within them), never after. */
	if (atomic_load(&a->use_queued))
		residency_drain_used_locked(vm);
	inflight_drop_locked(vm, a);
	if (a->deferred) {
		list_del(&a->lru);
		a->deferred = false;
	} else if (a->residency == VIDMM_RESIDENT) {
		segment_list_del(a->seg, a);
	}
	if (a->residency == VIDMM_RESIDENT) {
		segrange_free_locked(vm, a->seg, &a->node, &a->pages);
	} else if (a->residency == VIDMM_SWAPPED) {
		list_del(&a->cache);
		vm->st.swapped_allocations--;
		vm->st.swapped_bytes -= a->size;
		swap_slot_free(vm->swap, &a->swp);
		vm->swap_slots_freed++;
	} else {
		list_del(&a->cache);
		vm->st.evicted_allocations--;
		vm->st.evicted_bytes -= a->size;
		if (a->pages.npages)
			sysmem_free(&vm->sysmem, &a->pages);
	}
	desc_put_locked(vm, a);
}

void finalize_destroyed_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	if (a->op_pins || alloc_busy_locked(vm, a)) {
		if (!a->deferred) {
			if (a->residency == VIDMM_RESIDENT)
				segment_list_del(a->seg, a);
			list_add_tail(&a->lru, &vm->deferred);
			a->deferred = true;
			vm->st.deferred_destroys++;
		}
		return;
	}
	allocation_free_locked(vm, a);
}

bool alloc_release_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	resv_lock(vm, a);
	a->moving = false;
	resv_unlock(vm, a);
	pthread_cond_broadcast(&vm->moved);
	if (!a->destroyed)
		return false;
	finalize_destroyed_locked(vm, a);
	return true;
}

bool alloc_own_idle(struct vidmm *vm, struct vidmm_allocation *a)
{
	alloc_own(vm, a);
	if (!alloc_busy_locked(vm, a))
		return true;
	alloc_release_locked(vm, a); /* not destroyed: that takes vm->lock */
	return false;
}

/*
 * Release the handle at once (a stale handle must fail from now on); free the
 * memory now if nothing can still touch it, else defer: a busy allocation's
 * range and pages stay until its fences signal (the GPU may still read or
 * write them), one held by an operation in progress stays until that ends,
 * and one being moved is finished by its mover.
 */
static void destroy_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	slot_put_locked(vm, a);
	vm->live_allocs--;
	resv_lock(vm, a);
	a->destroyed = true;
	a->pub_handle = 0;
	resv_unlock(vm, a);
	if (!a->moving)
		finalize_destroyed_locked(vm, a);
}

int vidmm_destroy_allocation(vidmm_t *vm, vidmm_handle_t h)
{
	struct vidmm_allocation *a;

	if (!vm)
		return -EINVAL;
	vm_lock(vm);
	a = handle_lookup_locked(vm, h);
	if (!a || a->lock_count) {
		vm_unlock(vm);
		return a ? -EBUSY : -EBADF;
	}
	VIDMM_TRACE(&vm->tracer, alloc_destroy, VIDMM_TRACE_ALLOC_DESTROY, h, a->size,
		    a->residency, 0);
	destroy_locked(vm, a);
	vm_unlock(vm);
	return 0;
}

int vidmm_query_allocation(vidmm_t *vm, vidmm_handle_t h, struct vidmm_alloc_info *out)
{
	struct vidmm_allocation *a;

	if (!vm || !out)
		return -EINVAL;
	vm_lock(vm);
	a = handle_lookup_locked(vm, h);
	if (!a) {
		vm_unlock(vm);
		return -EBADF;
	}
	out->size = a->size;
	out->priority = a->priority;
	out->flags = a->flags;
	out->residency = a->residency;
	out->segment = a->seg ? a->seg->id : UINT32_MAX;
	out->gpu_addr = a->residency == VIDMM_RESIDENT ? a->node.start : 0;
	vm_unlock(vm);
	return 0;
}

/* Teardown: the GPU is idle by contract, so nothing is deferred; CPU locks
 * end with the manager. */
void allocation_destroy_all_locked(struct vidmm *vm)
{
	for (uint32_t i = 0; i < vm->nslots; i++)
		if (vm->slots[i].a) {
			struct vidmm_allocation *a = vm->slots[i].a;
			if (a->lock_count && a->cpu && seg_is_local(a->seg) && vm->chip->unmap_local)
				vm->chip->unmap_local(vm->chip_ctx, a->cpu, a->size);
			slot_put_locked(vm, a);
			vm->live_allocs--;
			allocation_free_locked(vm, a);
		}
	list_for_each_safe(pos, tmp, &vm->deferred)
		allocation_free_locked(vm, list_entry(pos, struct vidmm_allocation, lru));
}
