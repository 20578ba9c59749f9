/* SPDX-License-Identifier: MIT */
/*
 * manager.c - the manager of one adapter: vidmm_init / vidmm_destroy (the
 * note's init order and its reverse), the segment table, the configuration
 * and budgets, driver-owned segment memory, and the query calls.
 *
 * Must not: implement placement or eviction policy (allocation.c, residency)
 * or GART entry formats (gart.c).
 *
 * LOCKING (the rules for all of core/):
 *  - vm->lock protects every field of struct vidmm and everything reachable
 *    from it: segments, heaps, lists, the handle table's structure, sysmem
 *    and the GART tables. Public entry points take it; *_locked helpers
 *    expect it. One exception runs without it: a resident submit
 *    (reservation.c), below.
 *  - Each allocation has a reservation, a->resv (dma_resv's role). The
 *    resident-submit fast path takes the reservations of a job's
 *    allocations, in address order, and nothing else: it reads the handle
 *    table lock-free (descriptors are type-stable and checked under resv
 *    against the handle they are published under, allocation.c), queues
 *    the job, writes the fences (atomics) and queues the use for the
 *    eviction policy. So every vm->lock holder changes what that path reads
 *    (pub_handle, moving, destroyed, clear_fence, inflight, ra_next) and
 *    writes fences that path may also write only under the allocation's
 *    resv, one allocation at a time, waiting for nothing while it holds
 *    it. Mover ownership is taken under resv (alloc_own): after it no
 *    submit can start, so an owner that needs the allocation idle checks
 *    after owning (alloc_own_idle), not only before.
 *  - It is never held while waiting for the GPU (fence waits) or for I/O.
 *    Code that must wait drops it, waits, retakes it and revalidates (handles
 *    are generation-checked, so an allocation destroyed meanwhile is seen).
 *  - Chip ops that only queue work or touch registers (mmio_*, copy, fill,
 *    submit_job, fence_completed, fence_error) may be called with it (or a
 *    reservation) held; fence_wait never. Queueing never blocks (chip.h): a
 *    full ring returns -EAGAIN, and the core waits for the engine's next
 *    fence with every lock dropped (engine_space_unlocked; the fast path
 *    the same, with its reservations dropped), then revalidates.
 *  - vidmm_init and vidmm_destroy run without it: nobody else can see the
 *    manager yet / any more.
 *  - Lifetime of an allocation across a dropped lock: whoever drops the lock
 *    while holding an allocation pointer holds either an op pin (a->op_pins:
 *    submit, lock) or mover ownership (a->moving: page-out/in, migration,
 *    swap-out/in, lock setup). A destroy meanwhile releases the handle at
 *    once but leaves the memory to the mover's release or to the reaper once
 *    the pins and the GPU are done (allocation.c: finalize_destroyed_locked).
 *    Ranges and frames held by an operation in progress outside every list
 *    are on vm->transit; those a late copy may still write, in quarantine.
 *    A freed descriptor goes to vm->desc_free, never back to malloc before
 *    vidmm_destroy, so a fast submit holding a stale pointer can lock it.
 *  - The swap store has its own internal lock (swap.c); vm->lock may be held
 *    when calling into it for slots, never across its I/O.
 *  - ORDER: vm->lock, then reservations (one at a time under vm->lock; a
 *    job's set, in address order, without it), then the swap store's lock;
 *    the emulator's locks are below all of them (chip ops never call back
 *    into the core). Nothing takes vm->lock while holding a reservation:
 *    the fast path lets go of its set before it tries vm->lock (a trylock,
 *    to apply the queued uses). The swap store's per-ring stats_lock and
 *    the fast path's statistics shards (reservation.c) are leaves: nothing
 *    is taken under them. Builds with assertions check the order at every
 *    acquisition (lockstat.h ranks: LOCK_RANK_MANAGER < LOCK_RANK_RESV <
 *    LOCK_RANK_SWAP_STORE) and abort on an inversion.
 *  - vm->lock is taken only through vm_lock / vm_trylock / vm_unlock /
 *    vm_cond_timedwait (internal.h), which keep its statistics (lockstat.h:
 *    acquisitions, waits, sampled hold times; vidmm_query_lock_stats,
 *    scale_bench). The reservations are one class ("reservation"), counted
 *    per thread group by the fast path.
 *  - Not split yet (issue 15): segments' heaps and LRU lists, the GART, the
 *    system-page allocator and the handle table's growth are all still
 *    under vm->lock; so is every submit that has to page in.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static _Thread_local char init_error[256];

const char *vidmm_init_error(void)
{
	return init_error;
}

static int init_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(init_error, sizeof(init_error), fmt, ap);
	va_end(ap);
	return err;
}

static bool ranges_overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

/* Step 3: segment descriptors from the chip, validated, one heap each. */
static int init_segments(struct vidmm *vm)
{
	struct vidmm_chip_segment_desc d[VIDMM_CHIP_MAX_SEGMENTS];
	uint64_t page = vm_page_size(vm);
	uint32_t n = 0;
	int ret;

	ret = vm->chip->query_segments(vm->chip_ctx, d, VIDMM_CHIP_MAX_SEGMENTS, &n);
	if (ret)
		return init_fail(ret, "chip: query_segments failed (%d)", ret);
	if (n == 0 || n > VIDMM_CHIP_MAX_SEGMENTS)
		return init_fail(-EINVAL, "chip reported %u segments (1..%d allowed)",
				 n, VIDMM_CHIP_MAX_SEGMENTS);
	for (uint32_t i = 0; i < n; i++) {
		const struct vidmm_chip_segment_desc *s = &d[i];
		bool local = s->flags & VIDMM_SEG_LOCAL, pcie = s->flags & VIDMM_SEG_PCIE;

		if (!s->size || s->size % page || s->base % page || s->base + s->size < s->base)
			return init_fail(-EINVAL, "segment %u (%.*s): size or base not page-aligned or wraps",
					 i, VIDMM_CHIP_NAME_LEN, s->name);
		if (local == pcie)
			return init_fail(-EINVAL, "segment %u (%.*s): must be exactly one of local and PCIe",
					 i, VIDMM_CHIP_NAME_LEN, s->name);
		if (pcie && !gart_covers(&vm->gart, s->base, s->size))
			return init_fail(-EINVAL, "GART too small: it covers [0x%llx, +0x%llx) but PCIe segment %u (%.*s) is [0x%llx, +0x%llx)",
					 (unsigned long long)vm->gart.geo.base,
					 (unsigned long long)vm->gart.geo.size, i,
					 VIDMM_CHIP_NAME_LEN, s->name,
					 (unsigned long long)s->base, (unsigned long long)s->size);
		for (uint32_t j = 0; j < i; j++)
			if (ranges_overlap(s->base, s->size, d[j].base, d[j].size))
				return init_fail(-EINVAL, "segments %u (%.*s) and %u (%.*s) overlap",
						 j, VIDMM_CHIP_NAME_LEN, d[j].name, i,
						 VIDMM_CHIP_NAME_LEN, s->name);
	}
	for (uint32_t i = 0; i < n; i++) {
		ret = segment_create(&vm->seg[i], i, &d[i]);
		if (ret)
			return init_fail(ret, "segment %u: heap creation failed", i);
		vm->nsegs = i + 1;
	}
	return 0;
}

/* Step 4: the paging segment, carved top-down from a PCIe segment. */
static int init_paging_segment(struct vidmm *vm)
{
	uint32_t want = VIDMM_SEG_PCIE | (vm->cfg.paging_snooped ? VIDMM_SEG_SNOOPED : 0);
	uint64_t page = vm_page_size(vm);
	struct segment *parent = NULL;
	struct vidmm_chip_segment_desc d;
	int ret;

	for (uint32_t i = 0; i < vm->nsegs; i++)
		if ((vm->seg[i].flags & (VIDMM_SEG_PCIE | VIDMM_SEG_SNOOPED)) == want) {
			parent = &vm->seg[i];
			break;
		}
	if (!parent)
		return init_fail(-EINVAL, "no %s PCIe segment to carve the paging segment from",
				 vm->cfg.paging_snooped ? "snooped" : "unsnooped");
	if (!vm->cfg.paging_size || vm->cfg.paging_size % page)
		return init_fail(-EINVAL, "paging_size %llu must be a non-zero multiple of the %llu-byte page",
				 (unsigned long long)vm->cfg.paging_size, (unsigned long long)page);
	/* Strictly smaller: a paging window that takes the whole segment leaves
	 * nothing for allocations placed there. */
	if (vm->cfg.paging_size >= parent->size)
		return init_fail(-EINVAL, "paging window (%llu bytes) does not fit inside its segment %s (%llu bytes)",
				 (unsigned long long)vm->cfg.paging_size, parent->name,
				 (unsigned long long)parent->size);
	ret = heap_alloc(parent->heap, &parent->carve, vm->cfg.paging_size, page,
			 0, UINT64_MAX, HEAP_TOP_DOWN);
	if (ret)
		return init_fail(ret, "cannot carve the paging segment from %s", parent->name);
	parent->has_carve = true;

	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "paging");
	d.base = parent->carve.start;
	d.size = parent->carve.size;
	d.flags = (parent->flags & ~VIDMM_SEG_CPU_VISIBLE) | VIDMM_SEG_PAGING;
	ret = segment_create(&vm->seg[vm->nsegs], vm->nsegs, &d);
	if (ret) {
		heap_free(parent->heap, &parent->carve);
		parent->has_carve = false;
		return init_fail(ret, "paging segment: heap creation failed");
	}
	vm->seg[vm->nsegs].parent = (int32_t)parent->id;
	vm->paging_seg = (int32_t)vm->nsegs;
	vm->nsegs++;
	return 0;
}

static int check_ops(const struct vidmm_chip_ops *c)
{
	return c && c->query_segments && c->query_gart && c->query_sysmem &&
	       c->query_engines && c->mmio_read32 && c->mmio_write32 && c->map_local &&
	       c->copy && c->fill && c->fence_completed && c->fence_wait &&
	       c->fault_report;
}

static void teardown_segments(struct vidmm *vm)
{
	for (uint32_t i = vm->nsegs; i-- > 0;) {
		struct segment *s = &vm->seg[i];
		if (s->has_carve)
			heap_free(s->heap, &s->carve);
		segment_destroy(s);
	}
	vm->nsegs = 0;
}

int vidmm_init(const struct vidmm_config *cfg, vidmm_t **out)
{
	struct vidmm_chip_sysmem pool;
	struct vidmm *vm;
	int ret;

	init_error[0] = '\0';
	if (!cfg || !out)
		return init_fail(-EINVAL, "vidmm_init: NULL argument");
	if (!check_ops(cfg->chip))
		return init_fail(-EINVAL, "chip ops table incomplete");
	if (cfg->paging_mode != VIDMM_PAGING_WINDOW && cfg->paging_mode != VIDMM_PAGING_BOUNCE)
		return init_fail(-EINVAL, "paging_mode %d is neither window (%d) nor bounce (%d)",
				 (int)cfg->paging_mode, VIDMM_PAGING_WINDOW, VIDMM_PAGING_BOUNCE);
	if (!evict_policy_find(cfg->evict_policy))
		return init_fail(-EINVAL, "evict_policy '%s' is unknown", cfg->evict_policy);

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return init_fail(-ENOMEM, "out of memory");
	pthread_mutex_init(&vm->lock, NULL);
	lockstat_init(&vm->lockstat, "manager", LOCK_RANK_MANAGER);
	atomic_init(&vm->fast_off, cfg->no_fast_submit);
	if (fast_init(vm)) {
		pthread_mutex_destroy(&vm->lock);
		free(vm);
		return init_fail(-ENOMEM, "out of memory");
	}
	vm->cfg = *cfg;
	vm->tracer.fn = cfg->trace;
	vm->tracer.arg = cfg->trace_arg;
	vm->policy = evict_policy_find(cfg->evict_policy);
	vm->policy_rng = 0x9e3779b97f4a7c15ull; /* fixed: a replay makes the same choices */
	vm->cfg.evict_policy = vm->policy->name; /* not the caller's string */
	vm->chip = cfg->chip;
	vm->chip_ctx = cfg->chip_ctx;
	vm->paging_seg = -1;
	vm->gart_table_seg = -1;

	/* Steps 1-2: the budget of system pages, and the chip's tables. */
	ret = vm->chip->query_gart(vm->chip_ctx, &vm->gart.geo);
	if (ret) {
		init_fail(ret, "chip: query_gart failed (%d)", ret);
		goto err_free;
	}
	{
		const struct vidmm_chip_gart_geometry *g = &vm->gart.geo;
		uint64_t E = g->entries_per_table;
		if (g->levels != 3 || (g->entry_bytes != 4 && g->entry_bytes != 8) ||
		    g->page_shift < 12 || g->page_shift > 21 ||
		    E != (1ull << g->page_shift) / g->entry_bytes ||
		    !g->size || g->size % (1ull << g->page_shift)) {
			ret = init_fail(-EINVAL, "GART geometry unsupported (levels %u, %u-byte entries, page shift %u)",
					g->levels, g->entry_bytes, g->page_shift);
			goto err_free;
		}
		uint64_t pages = g->size >> g->page_shift;
		uint64_t n_l2 = ((pages + E - 1) / E + E - 1) / E;
		if (n_l2 > g->l1_entries) {
			ret = init_fail(-EINVAL, "GART too small: %llu bytes need %llu level-1 entries, the chip has %u",
					(unsigned long long)g->size, (unsigned long long)n_l2,
					g->l1_entries);
			goto err_free;
		}
	}
	ret = vm->chip->query_engines(vm->chip_ctx, &vm->engines);
	if (ret || !vm->engines.n_copy ||
	    vm->engines.n_copy + vm->engines.n_job > VIDMM_MAX_ENGINES) {
		ret = init_fail(ret ? ret : -EINVAL, "chip engines unusable (%u copy, %u job)",
				vm->engines.n_copy, vm->engines.n_job);
		goto err_free;
	}
	ret = vm->chip->query_sysmem(vm->chip_ctx, &pool);
	if (ret) {
		init_fail(ret, "chip: query_sysmem failed (%d)", ret);
		goto err_free;
	}
	if (pool.page_shift != vm->gart.geo.page_shift) {
		ret = init_fail(-EINVAL, "system page size differs from the GART page size");
		goto err_free;
	}
	ret = sysmem_init(&vm->sysmem, &pool, cfg->sysmem_budget, cfg->sysmem_reserve);
	if (ret) {
		init_fail(ret, "system-memory budget %llu with reserve %llu is unusable",
			  (unsigned long long)cfg->sysmem_budget,
			  (unsigned long long)cfg->sysmem_reserve);
		goto err_free;
	}

	ret = init_segments(vm);
	if (ret)
		goto err_segments;
	ret = init_paging_segment(vm);
	if (ret)
		goto err_segments;
	for (uint32_t i = 0; i < vm->nsegs; i++)
		if (seg_is_local(&vm->seg[i]) && (vm->seg[i].flags & VIDMM_SEG_CPU_VISIBLE)) {
			vm->gart_table_seg = (int32_t)i;
			break;
		}
	if (vm->gart_table_seg < 0) {
		ret = init_fail(-EINVAL, "no CPU-visible local segment for the GART tables");
		goto err_segments;
	}
	/* Steps 5-7: dummy page, GART tables, L1 registers. */
	ret = gart_init(vm);
	if (ret) {
		init_fail(ret, "GART: %s (%llu bytes of tables in %s)",
			  ret == -ENOSPC ? "no room for the tables" :
			  ret == -ENOMEM ? "no system page for the dummy page" : "setup failed",
			  (unsigned long long)((vm->gart.n_l2 + vm->gart.n_l3) << vm->gart.geo.page_shift),
			  vm->seg[vm->gart_table_seg].name);
		goto err_segments;
	}
	ret = residency_init(vm);
	if (ret) {
		init_fail(ret, "paging: no room or pages for the bounce staging area");
		residency_fini(vm);
		gart_fini(vm);
		goto err_segments;
	}
	{
		char why[192] = "";
		ret = reclaim_init(vm, why, sizeof(why));
		if (ret) {
			/* The store's reasons start with "swap:" already. */
			init_fail(ret, "%s", why[0] ? why : "swap: cannot open the swap file");
			reclaim_fini(vm);
			residency_fini(vm);
			gart_fini(vm);
			goto err_segments;
		}
	}
	*out = vm;
	return 0;

err_segments:
	teardown_segments(vm);
	sysmem_fini(&vm->sysmem);
err_free:
	fast_fini(vm);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
	return ret;
}

void vidmm_destroy(vidmm_t *vm)
{
	if (!vm)
		return;
	/* The reclaim thread first: it must not swap what is being destroyed. */
	reclaim_stop(vm);
	vm_lock(vm);
	allocation_destroy_all_locked(vm);
	vm_unlock(vm);
	reclaim_fini(vm);
	residency_fini(vm);
	/* Driver memory the caller forgot, while the GART still exists (PCIe
	 * ranges unmap through it), except the GART's own tables. */
	for (uint32_t i = 0; i < vm->nsegs; i++) {
		struct segment *s = &vm->seg[i];
		list_for_each_safe(pos, tmp, &s->driver) {
			struct segmem *m = list_entry(pos, struct segmem, link);
			if (m == vm->gart.tables.internal)
				continue;
			list_del(&m->link);
			s->driver_bytes -= m->node.size;
			s->driver_count--;
			segrange_free_locked(vm, s, &m->node, &m->pages);
			free(m);
		}
	}
	gart_fini(vm);
	teardown_segments(vm);
	sysmem_fini(&vm->sysmem);
	allocation_descs_fini(vm);
	fast_fini(vm);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

/* ---- driver-owned segment memory ------------------------------------------- */

int vidmm_allocate_segment_memory(vidmm_t *vm, uint32_t segid, uint64_t size,
				  uint64_t align, uint32_t flags,
				  struct vidmm_segment_memory *out)
{
	uint64_t page;
	struct segment *s;
	struct segmem *m;
	int ret;

	if (!vm || !out || !size)
		return -EINVAL;
	page = vm_page_size(vm);
	if (segid >= vm->nsegs || (int32_t)segid == vm->paging_seg)
		return -EINVAL;
	if (align < page)
		align = page;
	if (!is_pow2(align) || size > UINT64_MAX - page)
		return -EINVAL;
	size = align_up(size, page);
	s = &vm->seg[segid];
	if (size > s->size || align > s->size)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;

	vm_lock(vm);
	/* Driver buffers are CPU-accessed: ask for contiguous frames so the CPU
	 * view is one pointer; they may use the emergency reserve. */
	ret = segrange_alloc_locked(vm, s, &m->node, &m->pages, size, align,
				    (flags & VIDMM_SEGMEM_BOTTOM_UP) ? HEAP_BOTTOM_UP :
				    (flags & VIDMM_SEGMEM_TOP_DOWN) ? HEAP_TOP_DOWN :
				    HEAP_BEST_FIT, true, true);
	if (ret) {
		vm_unlock(vm);
		free(m);
		return ret;
	}
	m->segment = segid;
	list_add_tail(&m->link, &s->driver);
	s->driver_bytes += size;
	s->driver_count++;
	vm_unlock(vm);

	out->segment = segid;
	out->gpu_addr = m->node.start;
	out->size = size;
	out->internal = m;
	out->cpu = NULL;
	if (seg_is_pcie(s))
		out->cpu = sysmem_frame_cpu(&vm->sysmem, m->pages.ext[0].node.start);
	else if (s->flags & VIDMM_SEG_CPU_VISIBLE)
		out->cpu = vm->chip->map_local(vm->chip_ctx, m->node.start, size);
	return 0;
}

int vidmm_release_segment_memory(vidmm_t *vm, struct vidmm_segment_memory *mem)
{
	struct segmem *m;
	struct segment *s;

	if (!vm || !mem || !mem->internal || mem->segment >= vm->nsegs)
		return -EINVAL;
	m = mem->internal;
	s = &vm->seg[mem->segment];

	vm_lock(vm);
	/* The descriptor must be one of this segment's: a forged pointer is
	 * refused rather than freed. */
	bool found = false;
	list_for_each(pos, &s->driver)
		if (pos == &m->link) {
			found = true;
			break;
		}
	if (!found || m->node.start != mem->gpu_addr) {
		vm_unlock(vm);
		return -EINVAL;
	}
	/* Valid: only now is its CPU view given up. */
	if (mem->cpu && seg_is_local(s) && vm->chip->unmap_local)
		vm->chip->unmap_local(vm->chip_ctx, mem->cpu, mem->size);
	list_del(&m->link);
	s->driver_bytes -= m->node.size;
	s->driver_count--;
	segrange_free_locked(vm, s, &m->node, &m->pages);
	vm_unlock(vm);
	free(m);
	memset(mem, 0, sizeof(*mem));
	return 0;
}

/* ---- queries ---------------------------------------------------------------- */

int vidmm_query_segments(vidmm_t *vm, struct vidmm_segment_info *out,
			 uint32_t max, uint32_t *count)
{
	if (!vm || !count || (!out && max))
		return -EINVAL;
	vm_lock(vm);
	for (uint32_t i = 0; i < vm->nsegs && i < max; i++) {
		const struct segment *s = &vm->seg[i];
		out[i].id = s->id;
		memcpy(out[i].name, s->name, sizeof(out[i].name));
		out[i].flags = s->flags;
		out[i].base = s->base;
		out[i].size = s->size;
		out[i].parent = s->parent;
	}
	*count = vm->nsegs;
	vm_unlock(vm);
	return 0;
}

const char *vidmm_lock_class_name(enum vidmm_lock_class cls)
{
	switch (cls) {
	case VIDMM_LOCK_MANAGER:
		return "manager";
	case VIDMM_LOCK_SWAP_STORE:
		return "swap store";
	case VIDMM_LOCK_RESV:
		return "reservation";
	default:
		return NULL;
	}
}

int vidmm_query_lock_stats(vidmm_t *vm, enum vidmm_lock_class cls, struct vidmm_lock_stats *out)
{
	if (!vm || !out || (unsigned)cls >= VIDMM_LOCK_CLASSES)
		return -EINVAL;
	if (cls == VIDMM_LOCK_SWAP_STORE) {
		if (vm->swap) {
			swap_lock_stats(vm->swap, out);
		} else {
			memset(out, 0, sizeof(*out));
			vidmm_hist_init(&out->wait);
			vidmm_hist_init(&out->hold);
		}
		return 0;
	}
	if (cls == VIDMM_LOCK_RESV) {
		fast_resv_stats(vm, out);
		return 0;
	}
	vm_lock(vm);
	lockstat_copy(&vm->lockstat, out);
	vm_unlock(vm);
	return 0;
}

static void take_manager_lock(void *arg)
{
	struct vidmm *vm = arg;

	vm_lock(vm);
	vm_unlock(vm);
}

int vidmm_debug_lock_inversion(vidmm_t *vm)
{
	if (!vm)
		return -EINVAL;
#ifdef LOCKSTAT_ORDER_CHECK
	if (!vm->swap)
		return -ENODEV;
	swap_test_with_lock(vm->swap, take_manager_lock, vm);
	return 0;
#else
	(void)take_manager_lock;
	return -ENOTSUP;
#endif
}

int vidmm_query_stats(vidmm_t *vm, struct vidmm_stats *out)
{
	struct vidmm_chip_faults f = { 0 };

	if (!vm || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	vm->chip->fault_report(vm->chip_ctx, &f);
	vm_lock(vm);
	out->nsegments = vm->nsegs;
	for (uint32_t i = 0; i < vm->nsegs; i++) {
		const struct segment *s = &vm->seg[i];
		struct vidmm_segment_stats *o = &out->seg[i];
		struct heap_stats hs;

		heap_query(s->heap, &hs);
		o->total = hs.total;
		o->free = hs.free;
		o->largest_free = hs.largest_free;
		memcpy(o->pagable_bytes, s->pagable_bytes, sizeof(o->pagable_bytes));
		memcpy(o->pagable_count, s->pagable_count, sizeof(o->pagable_count));
		o->unpagable_bytes = s->unpagable_bytes;
		o->unpagable_count = s->unpagable_count;
		o->driver_bytes = s->driver_bytes;
		o->driver_count = s->driver_count;
	}
	out->gart_pages = vm->gart.npages;
	out->gart_mapped_pages = vm->gart.mapped;
	out->gart_invalidations = vm->gart.invalidations;
	out->sysmem_pages_used = vm->sysmem.used;
	out->sysmem_pages_budget = vm->sysmem.budget;
	out->sysmem_pages_reserve = vm->sysmem.reserve;
	out->allocations = vm->live_allocs;
	out->alloc_failures = vm->alloc_failures;
	/* The residency counters are kept in vm->st by residency.c: copy the
	 * block from page_outs to the end of the struct as one. */
	memcpy((char *)out + offsetof(struct vidmm_stats, page_outs),
	       (const char *)&vm->st + offsetof(struct vidmm_stats, page_outs),
	       sizeof(*out) - offsetof(struct vidmm_stats, page_outs));
	reclaim_query_stats(vm, out);
	/* The chip counts faults; the manager sees them when it asks. */
	const uint64_t seen[2] = { f.dummy_page_accesses, f.stale_tlb_hits };
	for (int k = 0; k < 2; k++)
		if (seen[k] > vm->seen_faults[k]) {
			VIDMM_TRACE(&vm->tracer, fault, VIDMM_TRACE_FAULT, k + 1, seen[k],
				    seen[k] - vm->seen_faults[k], 0);
			vm->seen_faults[k] = seen[k];
		}
	vm_unlock(vm);
	/* The chip counts an access through an invalid entry as a dummy-page
	 * access too (chip.h): adding unmapped_accesses would count it twice. */
	out->dummy_page_faults = f.dummy_page_accesses;
	out->stale_tlb_hits = f.stale_tlb_hits;
	out->fast_submits = 0;
	fast_submit_stats(vm, &out->fast_submits, &out->ring_full_waits, NULL);
	out->submits += out->fast_submits;
	return 0;
}
