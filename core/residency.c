/* SPDX-License-Identifier: MIT */
/*
 * residency.c - paging out (the note's vidmmi_segment_unresident_allocations)
 * and paging in: eviction policy, data movement through the paging segment,
 * vidmm_submit, vidmm_lock/unlock, vidmm_evict, deferred destroy.
 *
 * Owns: which allocations are resident where, victim selection, windows in
 * the paging segment, the bounce staging area, and the residency counters and
 * histograms. Must not: write GART entries except through gart.c, or wait on
 * the GPU with vm->lock held (see manager.c for the locking rules).
 *
 * Moving data. Paging out a local allocation takes system pages for it, maps a
 * window of the paging segment onto those very pages and has a copy engine
 * copy local -> window: one copy, and the data lands where it will live. The
 * local range is freed only after the copy's fence has signalled (and the
 * copy reported no error); until then the allocation is marked `moving`, which
 * keeps every other thread's hands off it while vm->lock is dropped for the
 * wait. Bounce mode (the original driver's way) copies through a fixed staging
 * area with its own pages, then the CPU copies staging -> the allocation's
 * pages: two copies, kept so the difference can be measured. PCIe placements
 * move without a copy: their pages stay, only the GART mapping comes and goes.
 *
 * Choosing victims. Candidates are idle, unpinned, pagable allocations of the
 * segment, lowest priority first and least recently used first within a
 * priority. For a request the scan adds candidates in that order, tracking the
 * free extent each would open together with its free neighbours and already
 * scanned neighbours (as drm_mm's eviction scan does), and stops at the first
 * extent that holds the request: only the victims inside that extent are
 * paged out. With evict_plain_lru every scanned candidate is evicted, as the
 * original driver's FIFO walk did. Busy candidates are only waited for when no
 * idle set suffices (bounded), and the error says why nothing fitted: -ENOSPC
 * if even evicting every pagable allocation could not make room, -EBUSY if
 * only busy ones stood in the way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define MAX_XFERS 64
#define MAX_ROUNDS 8

static uint64_t fence_timeout(const struct vidmm *vm)
{
	return vm->cfg.fence_timeout_ns ? vm->cfg.fence_timeout_ns : 2000000000ull;
}

static uint64_t bounce_window(const struct vidmm *vm)
{
	return vm->cfg.bounce_window_ns ? vm->cfg.bounce_window_ns : 100000000ull;
}

static struct segment *paging_seg(struct vidmm *vm)
{
	return &vm->seg[vm->paging_seg];
}

static bool pinned(const struct vidmm_allocation *a)
{
	return a->lock_count || a->op_pins || (a->flags & VIDMM_ALLOC_UNPAGABLE);
}

/* Wait on the "something moved" condition, at most ms milliseconds. */
static void wait_moved(struct vidmm *vm, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_cond_timedwait(&vm->moved, &vm->lock, &ts);
}

/* Wait until a is not moving; false if that takes too long. */
static bool wait_not_moving(struct vidmm *vm, struct vidmm_allocation *a)
{
	uint64_t deadline = now_ns() + fence_timeout(vm);

	while (a->moving) {
		if (now_ns() > deadline)
			return false;
		wait_moved(vm, 10);
	}
	return true;
}

/* ---- windows ---------------------------------------------------------------- */

#define xfer paging_window

/* Map the window at gpu_addr onto pages [first, first+n) of p. */
static void map_slice(struct vidmm *vm, uint64_t gpu_addr, const struct sys_pages *p,
		      uint64_t first, uint64_t n, bool snooped)
{
	struct sys_extent buf[16];
	struct sys_pages view = { .ext = buf };
	uint64_t at = 0, addr = gpu_addr;
	uint32_t shift = vm->gart.geo.page_shift;

	for (uint32_t e = 0; e < p->n_ext && n; e++) {
		const struct heap_node *x = &p->ext[e].node;
		if (at + x->size <= first) {
			at += x->size;
			continue;
		}
		uint64_t skip = first > at ? first - at : 0;
		uint64_t take = x->size - skip < n ? x->size - skip : n;
		buf[view.n_ext].node.start = x->start + skip;
		buf[view.n_ext].node.size = take;
		view.n_ext++;
		view.npages += take;
		first += take;
		n -= take;
		at += x->size;
		if (view.n_ext == 16 || !n) {
			gart_map(vm, addr, &view, snooped);
			addr += view.npages << shift;
			view.n_ext = 0;
			view.npages = 0;
		}
	}
}

static uint32_t pick_copy_engine(struct vidmm *vm)
{
	return vm->next_copy_engine++ % vm->engines.n_copy;
}

/* Wait for every queued transfer (vm->lock dropped), then take the windows
 * down. Returns the first error: a timed-out wait or a failed copy. */
static int flush(struct vidmm *vm, struct xfer *x, uint32_t *n, uint64_t *pending)
{
	uint64_t last[VIDMM_MAX_ENGINES] = { 0 };
	int err = 0;

	for (uint32_t i = 0; i < *n; i++)
		if (x[i].fence > last[x[i].engine])
			last[x[i].engine] = x[i].fence;
	for (uint32_t e = 0; e < vm->engines.n_copy; e++) {
		if (!last[e])
			continue;
		int r = fence_wait_unlocked(vm, e, last[e], fence_timeout(vm));
		if (r && !err)
			err = r;
		/* A copy that did not finish may still run: remember its fence. */
		if (r && last[e] > pending[e])
			pending[e] = last[e];
	}
	for (uint32_t i = 0; i < *n; i++) {
		if (!err && vm->chip->fence_error &&
		    vm->chip->fence_error(vm->chip_ctx, x[i].engine, x[i].fence))
			err = -EIO;
		/* Even after a timeout the window goes back to the dummy page: a
		 * command that runs late then writes nowhere that matters. */
		gart_unmap(vm, x[i].win.start, x[i].win.size >> vm->gart.geo.page_shift);
		heap_free(paging_seg(vm)->heap, &x[i].win);
		list_del(&x[i].link);
	}
	*n = 0;
	pthread_cond_broadcast(&vm->moved);
	return err;
}

/* Copy a's data between its local range and its system pages through windows
 * of the paging segment (window mode). a is `moving`. */
static int transfer_window(struct vidmm *vm, struct vidmm_allocation *a, bool out,
			   uint64_t *pending)
{
	struct segment *pg = paging_seg(vm);
	uint64_t page = vm_page_size(vm);
	uint64_t chunk = (pg->size / 4) & ~(page - 1);
	bool snooped = pg->flags & VIDMM_SEG_SNOOPED;
	struct xfer x[MAX_XFERS];
	uint32_t n = 0, waits = 0;
	uint64_t off = 0;
	int err = 0;

	if (chunk < page)
		chunk = page;
	while (off < a->size && !err) {
		uint64_t len = a->size - off < chunk ? a->size - off : chunk;
		struct xfer *t = &x[n];
		int r = heap_alloc(pg->heap, &t->win, len, page, 0, UINT64_MAX, HEAP_BEST_FIT);

		if (r) {
			if (n) {
				err = flush(vm, x, &n, pending);
				continue;
			}
			/* Other movers hold the windows: they give them back
			 * within one copy each. Bounded. */
			if (++waits > 1000) {
				err = -EBUSY;
				break;
			}
			wait_moved(vm, 5);
			continue;
		}
		map_slice(vm, t->win.start, &a->pages, off >> vm->gart.geo.page_shift,
			  len >> vm->gart.geo.page_shift, snooped);
		list_add_tail(&t->link, &vm->windows);
		t->engine = pick_copy_engine(vm);
		r = out ? vm->chip->copy(vm->chip_ctx, t->engine, t->win.start,
					 a->node.start + off, len, &t->fence)
			: vm->chip->copy(vm->chip_ctx, t->engine, a->node.start + off,
					 t->win.start, len, &t->fence);
		if (r) {
			t->fence = 0;
			n++;
			err = r;
			break;
		}
		n++;
		off += len;
		vm->st.bytes_copied_window += len;
		if (n == MAX_XFERS)
			err = flush(vm, x, &n, pending);
	}
	int r = flush(vm, x, &n, pending);
	return err ? err : r;
}

/* Copy a range of a's system pages to or from a CPU buffer. */
static void cpu_copy_pages(struct vidmm *vm, const struct sys_pages *p, uint64_t off,
			   void *buf, uint64_t len, bool to_pages)
{
	uint32_t shift = vm->gart.geo.page_shift;
	uint64_t at = 0;

	for (uint32_t e = 0; e < p->n_ext && len; e++) {
		uint64_t ext_bytes = p->ext[e].node.size << shift;
		if (at + ext_bytes <= off) {
			at += ext_bytes;
			continue;
		}
		uint64_t skip = off - at;
		uint64_t take = ext_bytes - skip < len ? ext_bytes - skip : len;
		char *cpu = (char *)sysmem_frame_cpu(&vm->sysmem, p->ext[e].node.start) + skip;
		if (to_pages)
			memcpy(cpu, buf, take);
		else
			memcpy(buf, cpu, take);
		buf = (char *)buf + take;
		off += take;
		len -= take;
		at += ext_bytes;
	}
}

/* Bounce mode: GPU copy to the staging area, CPU copy to the pages (or the
 * reverse for page-in). The staging area has one user at a time. */
static int transfer_bounce(struct vidmm *vm, struct vidmm_allocation *a, bool out,
			   uint64_t *pending)
{
	uint64_t deadline = now_ns() + fence_timeout(vm);
	char *staging = sysmem_frame_cpu(&vm->sysmem, vm->staging_pages.ext[0].node.start);
	uint64_t off = 0;
	int err = 0;

	while (vm->staging_busy) {
		if (now_ns() > deadline)
			return -EBUSY;
		wait_moved(vm, 5);
	}
	vm->staging_busy = true;
	while (off < a->size && !err) {
		uint64_t len = a->size - off < vm->staging.size ? a->size - off : vm->staging.size;
		uint32_t eng = pick_copy_engine(vm);
		uint64_t fence = 0;

		if (!out) {
			pthread_mutex_unlock(&vm->lock);
			cpu_copy_pages(vm, &a->pages, off, staging, len, false);
			pthread_mutex_lock(&vm->lock);
		}
		err = out ? vm->chip->copy(vm->chip_ctx, eng, vm->staging.start,
					   a->node.start + off, len, &fence)
			  : vm->chip->copy(vm->chip_ctx, eng, a->node.start + off,
					   vm->staging.start, len, &fence);
		if (err)
			break;
		err = fence_wait_unlocked(vm, eng, fence, fence_timeout(vm));
		if (err)
			pending[eng] = fence;
		if (!err && vm->chip->fence_error &&
		    vm->chip->fence_error(vm->chip_ctx, eng, fence))
			err = -EIO;
		if (err)
			break;
		if (out) {
			pthread_mutex_unlock(&vm->lock);
			cpu_copy_pages(vm, &a->pages, off, staging, len, true);
			pthread_mutex_lock(&vm->lock);
		}
		vm->st.bytes_copied_bounce += 2 * len;
		off += len;
	}
	vm->staging_busy = false;
	pthread_cond_broadcast(&vm->moved);
	return err;
}

/* pending[engine]: on a timeout, the fences the copies that may still run will
 * signal (0 where none). */
static int transfer(struct vidmm *vm, struct vidmm_allocation *a, bool out, uint64_t *pending)
{
	memset(pending, 0, VIDMM_MAX_ENGINES * sizeof(*pending));
	return vm->cfg.paging_mode == VIDMM_PAGING_BOUNCE ? transfer_bounce(vm, a, out, pending)
							  : transfer_window(vm, a, out, pending);
}

static bool any_pending(const uint64_t *pending)
{
	for (int e = 0; e < VIDMM_MAX_ENGINES; e++)
		if (pending[e])
			return true;
	return false;
}

/* Hold a range a late copy may still write until its fences signal; if even
 * the record cannot be allocated the range is leaked rather than reused. */
static void quarantine_range(struct vidmm *vm, struct segment *s, const struct heap_node *node,
			     const uint64_t *pending)
{
	struct quarantine *q = calloc(1, sizeof(*q));

	if (!q)
		return;
	q->seg = s;
	q->node = *node;
	memcpy(q->fence, pending, sizeof(q->fence));
	list_add_tail(&q->link, &vm->quarantine);
}

static bool quarantine_done(struct vidmm *vm, const struct quarantine *q)
{
	for (uint32_t e = 0; e < vm->engines.n_copy; e++)
		if (q->fence[e] && vm->chip->fence_completed(vm->chip_ctx, e) < q->fence[e])
			return false;
	return true;
}

/* ---- page out / page in ------------------------------------------------------ */

static void note_bounce(struct vidmm *vm, uint64_t then, uint64_t now)
{
	if (then && now - then < bounce_window(vm))
		vm->st.bounces++;
}

/*
 * Page one idle, unpinned, resident allocation out. The caller owns it
 * (alloc_own) and releases it afterwards; it is never freed here. On failure
 * it stays resident with its data intact.
 */
int page_out_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	struct segment *s = a->seg;
	uint64_t t0 = now_ns();
	int ret;

	if (seg_is_pcie(s)) {
		/* The pages are the data: unmap, keep them. */
		gart_unmap(vm, a->node.start, a->pages.npages);
		heap_free(s->heap, &a->node);
		vm->st.pcie_remaps++;
	} else {
		uint64_t pending[VIDMM_MAX_ENGINES];
		/* Taking pages may swap others out with the lock dropped. */
		ret = alloc_pages_locked(vm, a->size >> vm->gart.geo.page_shift, false, &a->pages);
		if (ret)
			return ret;
		ret = transfer(vm, a, true, pending);
		if (ret) {
			sysmem_free(&vm->sysmem, &a->pages);
			if (ret == -EIO)
				vm->st.copy_failures++;
			return ret;
		}
		heap_free(s->heap, &a->node);
	}
	segment_list_del(s, a);
	a->residency = VIDMM_EVICTED;
	a->seg = NULL;
	list_add_tail(&a->cache, &vm->evicted[a->priority]);
	vm->st.page_outs++;
	vm->st.bytes_paged_out += a->size;
	vm->st.evictions_by_priority[a->priority]++;
	vm->st.evicted_allocations++;
	vm->st.evicted_bytes += a->size;
	uint64_t t1 = now_ns();
	note_bounce(vm, a->last_in_ns, t1);
	a->last_out_ns = t1;
	vidmm_hist_record(&vm->hist[VIDMM_HIST_PAGE_OUT], t1 - t0);
	return 0;
}

/* ---- victim scan ------------------------------------------------------------- */

struct scan {
	struct { uint64_t lo, hi; } *iv; /* disjoint, sorted extents */
	uint32_t niv, cap_iv;
	struct vidmm_allocation **blk;   /* scanned candidates, in scan order */
	uint32_t nblk, cap_blk;
	uint64_t win_lo, win_hi;         /* the extent that fits, once found */
};

static void scan_free(struct scan *sc)
{
	free(sc->iv);
	free(sc->blk);
}

/* Add a candidate; true once some extent holds size at align. */
static int scan_add(struct scan *sc, const struct segment *s, struct vidmm_allocation *a,
		    uint64_t size, uint64_t align, bool *fits)
{
	uint64_t lo, hi;
	uint32_t i, j;

	if (array_reserve((void **)&sc->blk, sc->nblk, &sc->cap_blk, sizeof(*sc->blk)) ||
	    array_reserve((void **)&sc->iv, sc->niv, &sc->cap_iv, sizeof(*sc->iv)))
		return -ENOMEM;
	sc->blk[sc->nblk++] = a;
	heap_free_extent(s->heap, a->node.start, a->node.size, &lo, &hi);
	/* Merge with every extent it touches (they are sorted and disjoint). */
	for (i = 0; i < sc->niv && sc->iv[i].hi < lo; i++)
		;
	for (j = i; j < sc->niv && sc->iv[j].lo <= hi; j++) {
		if (sc->iv[j].lo < lo)
			lo = sc->iv[j].lo;
		if (sc->iv[j].hi > hi)
			hi = sc->iv[j].hi;
	}
	if (j > i) {
		sc->iv[i].lo = lo;
		sc->iv[i].hi = hi;
		memmove(&sc->iv[i + 1], &sc->iv[j], (sc->niv - j) * sizeof(*sc->iv));
		sc->niv -= j - i - 1;
	} else {
		memmove(&sc->iv[i + 1], &sc->iv[i], (sc->niv - i) * sizeof(*sc->iv));
		sc->iv[i].lo = lo;
		sc->iv[i].hi = hi;
		sc->niv++;
	}
	uint64_t start = align_up(lo, align);
	*fits = start >= lo && start <= hi && hi - start >= size;
	if (*fits) {
		sc->win_lo = lo;
		sc->win_hi = hi;
	}
	return 0;
}

enum scan_pass { SCAN_IDLE, SCAN_ANY };

/* Scan s's pagable lists. Returns 0 with *fits set, or -ENOMEM. */
static int scan_segment(struct vidmm *vm, struct segment *s, uint64_t size, uint64_t align,
			enum scan_pass pass, struct scan *sc, bool *fits)
{
	*fits = false;
	for (int p = 0; p < VIDMM_PRIO_COUNT; p++) {
		list_for_each(pos, &s->pagable[p]) {
			struct vidmm_allocation *a = list_entry(pos, struct vidmm_allocation, lru);
			if (pinned(a) || a->moving || a->destroyed)
				continue;
			if (pass == SCAN_IDLE && alloc_busy_locked(vm, a))
				continue;
			int r = scan_add(sc, s, a, size, align, fits);
			if (r)
				return r;
			if (*fits)
				return 0;
		}
	}
	/* Destroyed-but-busy allocations will free their ranges too. */
	if (pass == SCAN_ANY) {
		list_for_each(pos, &vm->deferred) {
			struct vidmm_allocation *a = list_entry(pos, struct vidmm_allocation, lru);
			if (a->residency != VIDMM_RESIDENT || a->seg != s)
				continue;
			int r = scan_add(sc, s, a, size, align, fits);
			if (r)
				return r;
			if (*fits)
				return 0;
		}
	}
	return 0;
}

static bool in_window(const struct scan *sc, const struct vidmm_allocation *a)
{
	return a->node.start >= sc->win_lo && a->node.start + a->node.size <= sc->win_hi;
}

/*
 * Make room for size/align in s by paging victims out. 0: something was freed
 * (the caller retries its allocation), -EAGAIN: waited for a busy victim
 * (retry), -ENOSPC, -EBUSY, -ENOMEM, -EIO.
 */
static int evict_for_locked(struct vidmm *vm, struct segment *s, uint64_t size, uint64_t align)
{
	struct scan sc = { 0 };
	bool fits;
	int ret;

	ret = scan_segment(vm, s, size, align, SCAN_IDLE, &sc, &fits);
	if (ret)
		goto out;
	if (fits) {
		/* Own every chosen victim before the first wait, so none can be
		 * freed or moved by another thread while the lock is dropped;
		 * they are then paged out one at a time. */
		struct vidmm_allocation **v = sc.blk;
		uint32_t n = 0, freed = 0;
		int err = 0;
		for (uint32_t i = 0; i < sc.nblk; i++)
			if (vm->cfg.evict_plain_lru || in_window(&sc, sc.blk[i])) {
				alloc_own(sc.blk[i]);
				v[n++] = sc.blk[i];
			}
		for (uint32_t i = 0; i < n; i++) {
			struct vidmm_allocation *a = v[i];
			/* Revalidate: an earlier victim's wait dropped the lock. */
			if (a->residency == VIDMM_RESIDENT && a->seg == s && !pinned(a) &&
			    !a->destroyed && !alloc_busy_locked(vm, a)) {
				int r = page_out_locked(vm, a);
				if (r)
					err = err ? err : r;
				else
					freed++;
			}
			alloc_release_locked(vm, a);
		}
		/* A victim whose copy did not finish in time is, for the request,
		 * a busy victim. */
		if (err == -ETIMEDOUT)
			err = -EBUSY;
		ret = freed ? 0 : (err ? err : -EAGAIN);
		goto out;
	}
	/* No idle set is enough. Would waiting for busy ones be? */
	scan_free(&sc);
	memset(&sc, 0, sizeof(sc));
	ret = scan_segment(vm, s, size, align, SCAN_ANY, &sc, &fits);
	if (ret)
		goto out;
	if (!fits) {
		/* Allocations being moved by other threads may free room. */
		bool movers = false;
		for (int p = 0; p < VIDMM_PRIO_COUNT && !movers; p++)
			list_for_each(pos, &s->pagable[p])
				if (list_entry(pos, struct vidmm_allocation, lru)->moving) {
					movers = true;
					break;
				}
		if (movers) {
			wait_moved(vm, 10);
			ret = -EAGAIN;
		} else {
			ret = -ENOSPC;
		}
		goto out;
	}
	/* Wait for the least recently used busy victim of the set that fits. */
	for (uint32_t i = 0; i < sc.nblk; i++) {
		struct vidmm_allocation *a = sc.blk[i];
		if (!in_window(&sc, a) || !alloc_busy_locked(vm, a))
			continue;
		vm->st.busy_waits++;
		ret = alloc_wait_idle_unlocked(vm, a, fence_timeout(vm));
		residency_reap_locked(vm);
		ret = ret == -ETIMEDOUT ? -EBUSY : -EAGAIN;
		goto out;
	}
	ret = -EAGAIN;
out:
	scan_free(&sc);
	return ret;
}

int residency_place_locked(struct vidmm *vm, struct vidmm_allocation *a,
			   struct segment *s, bool allow_evict)
{
	enum heap_mode mode = (a->flags & VIDMM_ALLOC_TOP_DOWN) ? HEAP_TOP_DOWN : HEAP_BEST_FIT;
	int ret = -ENOSPC;

	if (a->size > s->size)
		return -ENOSPC;
	for (int round = 0; round < MAX_ROUNDS; round++) {
		ret = heap_alloc(s->heap, &a->node, a->size, a->align, 0, UINT64_MAX, mode);
		if (ret != -ENOSPC)
			return ret;
		/* Destroyed allocations whose fences have signalled give their
		 * ranges back first: that costs no copy. */
		if (!list_empty(&vm->deferred) || !list_empty(&vm->quarantine)) {
			residency_reap_locked(vm);
			ret = heap_alloc(s->heap, &a->node, a->size, a->align, 0, UINT64_MAX, mode);
			if (ret != -ENOSPC)
				return ret;
		}
		if (!allow_evict)
			return ret;
		ret = evict_for_locked(vm, s, a->size, a->align);
		if (ret && ret != -EAGAIN)
			return ret;
	}
	ret = heap_alloc(s->heap, &a->node, a->size, a->align, 0, UINT64_MAX, mode);
	return ret == -ENOSPC ? -EBUSY : ret;
}

/* Bring an evicted allocation into segment s. */
static int page_in_to_locked(struct vidmm *vm, struct vidmm_allocation *a, struct segment *s,
			     bool allow_evict)
{
	uint64_t t0 = now_ns();
	int ret = residency_place_locked(vm, a, s, allow_evict);

	if (ret)
		return ret;
	if (a->destroyed) { /* while eviction ran with the lock dropped */
		heap_free(s->heap, &a->node);
		return -EBADF;
	}
	if (seg_is_pcie(s)) {
		gart_map(vm, a->node.start, &a->pages, s->flags & VIDMM_SEG_SNOOPED);
		vm->st.pcie_remaps++;
	} else {
		uint64_t pending[VIDMM_MAX_ENGINES];
		alloc_own(a);
		a->seg = s; /* check.c: the range is in flight into s */
		list_add_tail(&a->lru, &vm->inflight);
		ret = transfer(vm, a, false, pending);
		list_del(&a->lru);
		a->seg = NULL;
		if (ret) {
			if (any_pending(pending))
				quarantine_range(vm, s, &a->node, pending);
			else
				heap_free(s->heap, &a->node);
			if (ret == -EIO)
				vm->st.copy_failures++;
			/* The caller's op pin keeps a allocated even if destroyed. */
			alloc_release_locked(vm, a);
			return ret;
		}
		sysmem_free(&vm->sysmem, &a->pages);
		a->moving = false;
		pthread_cond_broadcast(&vm->moved);
	}
	list_del(&a->cache);
	vm->st.evicted_allocations--;
	vm->st.evicted_bytes -= a->size;
	a->residency = VIDMM_RESIDENT;
	a->seg = s;
	segment_list_add(s, a);
	vm->st.page_ins++;
	vm->st.bytes_paged_in += a->size;
	uint64_t t1 = now_ns();
	note_bounce(vm, a->last_out_ns, t1);
	a->last_in_ns = t1;
	vidmm_hist_record(&vm->hist[VIDMM_HIST_PAGE_IN], t1 - t0);
	if (a->destroyed) {
		/* Destroyed during the copy: the caller's op pin defers it. */
		finalize_destroyed_locked(vm, a);
		return -EBADF;
	}
	return 0;
}

static int worse(int a, int b)
{
	/* The most telling failure: a real error over "busy" over "no room". */
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	if (a == -ENOSPC)
		return b;
	if (b == -ENOSPC)
		return a;
	if (a == -EBUSY)
		return b;
	return a;
}

/*
 * Make a resident somewhere it may live (CPU-visible ones only if cpu).
 * Within the move budget, each allowed segment is tried in order with
 * eviction; past it (thrash control), a free spot anywhere is preferred to
 * evicting, and eviction happens only if there is none.
 */
static int make_resident_locked(struct vidmm *vm, struct vidmm_allocation *a, bool cpu,
				bool throttled)
{
	int err = -ENOSPC;

	if (a->residency == VIDMM_RESIDENT)
		return 0;
	if (a->residency == VIDMM_SWAPPED) {
		int r = swap_in_locked(vm, a);
		if (r)
			return r;
	}
	if (throttled) {
		/* Counted whether or not a free spot turns up: the budget took
		 * the choice of placement away from the preference order. */
		vm->st.throttled_moves++;
		for (uint32_t i = 0; i < a->n_allowed; i++) {
			struct segment *s = &vm->seg[a->allowed[i]];
			if (cpu && !(s->flags & VIDMM_SEG_CPU_VISIBLE))
				continue;
			if (page_in_to_locked(vm, a, s, false) == 0)
				return 0;
			if (a->destroyed)
				return -EBADF;
		}
	}
	for (uint32_t i = 0; i < a->n_allowed; i++) {
		struct segment *s = &vm->seg[a->allowed[i]];
		if (cpu && !(s->flags & VIDMM_SEG_CPU_VISIBLE))
			continue;
		int r = page_in_to_locked(vm, a, s, true);
		if (r == 0 || r == -EBADF || r == -EIO)
			return r;
		err = worse(err, r);
	}
	return err;
}

/* ---- deferred destroy ---------------------------------------------------------- */

void residency_reap_locked(struct vidmm *vm)
{
	list_for_each_safe(pos, tmp, &vm->quarantine) {
		struct quarantine *q = list_entry(pos, struct quarantine, link);
		if (!quarantine_done(vm, q))
			continue;
		heap_free(q->seg->heap, &q->node);
		list_del(&q->link);
		free(q);
	}
	list_for_each_safe(pos, tmp, &vm->deferred) {
		struct vidmm_allocation *a = list_entry(pos, struct vidmm_allocation, lru);
		if (a->op_pins || a->moving || alloc_busy_locked(vm, a))
			continue;
		allocation_free_locked(vm, a);
	}
}

/* ---- public calls -------------------------------------------------------------- */

int vidmm_submit(vidmm_t *vm, const struct vidmm_job *job, struct vidmm_fence *fence)
{
	struct vidmm_allocation *a[VIDMM_JOB_MAX_REFS];
	struct vidmm_chip_job cj;
	uint64_t t0 = now_ns(), moved0, budget;
	uint64_t f = 0;
	uint32_t n, engine;
	int ret = 0;

	if (!vm || !job || !job->nrefs || job->nrefs > VIDMM_JOB_MAX_REFS ||
	    (unsigned)job->op > VIDMM_JOB_TOUCH || job->engine >= vm->engines.n_job ||
	    (job->op == VIDMM_JOB_COPY && job->nrefs != 2) || !vm->chip->submit_job)
		return -EINVAL;
	n = job->nrefs;
	engine = vm->engines.n_copy + job->engine;
	budget = vm->cfg.submit_move_budget;

	pthread_mutex_lock(&vm->lock);
	residency_reap_locked(vm);
	for (uint32_t i = 0; i < n; i++) {
		a[i] = handle_lookup_locked(vm, job->refs[i].handle);
		if (!a[i] || !(job->refs[i].access & (VIDMM_ACCESS_READ | VIDMM_ACCESS_WRITE))) {
			pthread_mutex_unlock(&vm->lock);
			return a[i] ? -EINVAL : -EBADF;
		}
	}
	/* Pin every reference first, so paging one in never evicts another. */
	for (uint32_t i = 0; i < n; i++)
		a[i]->op_pins++;
	moved0 = vm->st.bytes_paged_in + vm->st.bytes_paged_out;
	for (uint32_t i = 0; i < n && !ret; i++) {
		if (!wait_not_moving(vm, a[i])) {
			ret = -EBUSY;
			break;
		}
		if (a[i]->destroyed) {
			ret = -EBADF;
			break;
		}
		bool throttled = budget &&
			vm->st.bytes_paged_in + vm->st.bytes_paged_out - moved0 >= budget;
		ret = make_resident_locked(vm, a[i], false, throttled);
	}
	for (uint32_t i = 0; i < n && !ret; i++)
		if (a[i]->destroyed || a[i]->residency != VIDMM_RESIDENT)
			ret = a[i]->destroyed ? -EBADF : -EAGAIN;
	if (!ret) {
		memset(&cj, 0, sizeof(cj));
		cj.op = job->op;
		cj.seed = job->seed;
		cj.nrefs = n;
		cj.result = job->result;
		for (uint32_t i = 0; i < n; i++) {
			cj.refs[i].gpu_addr = a[i]->node.start;
			cj.refs[i].size = a[i]->size;
			cj.refs[i].access = job->refs[i].access;
		}
		ret = vm->chip->submit_job(vm->chip_ctx, engine, &cj, &f);
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!ret) {
			if (job->refs[i].access & VIDMM_ACCESS_WRITE)
				a[i]->write_fence[engine] = f;
			if (job->refs[i].access & VIDMM_ACCESS_READ)
				a[i]->read_fence[engine] = f;
			if (!a[i]->destroyed && a[i]->residency == VIDMM_RESIDENT)
				list_move_tail(&a[i]->lru,
					       (a[i]->flags & VIDMM_ALLOC_UNPAGABLE)
						       ? &a[i]->seg->unpagable
						       : &a[i]->seg->pagable[a[i]->priority]);
		}
		a[i]->op_pins--;
	}
	if (ret == 0)
		vm->st.submits++;
	residency_reap_locked(vm);
	vidmm_hist_record(&vm->hist[VIDMM_HIST_SUBMIT], now_ns() - t0);
	pthread_mutex_unlock(&vm->lock);
	if (!ret && fence) {
		fence->engine = engine;
		fence->value = f;
	}
	return ret;
}

/* Give a PCIe-resident allocation one contiguous run of frames, so the CPU
 * sees it through one pointer. */
static int make_contiguous_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	struct sys_pages np;
	uint64_t page = vm_page_size(vm), off = 0;
	int ret;

	if (a->pages.n_ext <= 1)
		return 0;
	ret = alloc_pages_locked(vm, a->pages.npages, true, &np);
	if (ret)
		return ret;
	for (uint32_t e = 0; e < a->pages.n_ext; e++) {
		uint64_t bytes = a->pages.ext[e].node.size * page;
		memcpy((char *)sysmem_frame_cpu(&vm->sysmem, np.ext[0].node.start) + off,
		       sysmem_frame_cpu(&vm->sysmem, a->pages.ext[e].node.start), bytes);
		off += bytes;
	}
	gart_map(vm, a->node.start, &np, a->seg->flags & VIDMM_SEG_SNOOPED);
	vm->gart.mapped -= np.npages; /* a remap, not a new mapping */
	sysmem_free(&vm->sysmem, &a->pages);
	a->pages = np;
	return 0;
}

int vidmm_lock(vidmm_t *vm, vidmm_handle_t h, void **cpu)
{
	struct vidmm_allocation *a;
	uint64_t t0 = now_ns();
	int ret = 0;

	if (!vm || !cpu)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	a = handle_lookup_locked(vm, h);
	if (!a) {
		pthread_mutex_unlock(&vm->lock);
		return -EBADF;
	}
	if (a->lock_count) {
		a->lock_count++;
		*cpu = a->cpu;
		pthread_mutex_unlock(&vm->lock);
		return 0;
	}
	/* Held across every dropped lock below; also keeps others from moving it. */
	a->op_pins++;
	if (!wait_not_moving(vm, a))
		ret = -EBUSY;
	/* Resident where the CPU cannot see it: move it out first (it may
	 * still be busy on the GPU). */
	if (!ret && !a->destroyed && a->residency == VIDMM_RESIDENT &&
	    !(a->seg->flags & VIDMM_SEG_CPU_VISIBLE)) {
		ret = alloc_wait_idle_unlocked(vm, a, fence_timeout(vm));
		if (!ret && !a->destroyed && a->residency == VIDMM_RESIDENT && !a->moving) {
			alloc_own(a);
			ret = page_out_locked(vm, a);
			alloc_release_locked(vm, a);
		}
	}
	if (!ret && a->destroyed)
		ret = -EBADF;
	if (!ret)
		ret = make_resident_locked(vm, a, true, false);
	if (!ret)
		ret = alloc_wait_idle_unlocked(vm, a, fence_timeout(vm));
	if (!ret && (a->destroyed || a->residency != VIDMM_RESIDENT))
		ret = a->destroyed ? -EBADF : -EAGAIN;
	if (!ret && seg_is_pcie(a->seg))
		ret = make_contiguous_locked(vm, a);
	if (!ret && a->lock_count == 0) {
		if (seg_is_pcie(a->seg))
			a->cpu = sysmem_frame_cpu(&vm->sysmem, a->pages.ext[0].node.start);
		else
			a->cpu = vm->chip->map_local(vm->chip_ctx, a->node.start, a->size);
		if (!a->cpu)
			ret = -EIO;
	}
	if (!ret) {
		a->lock_count++;
		*cpu = a->cpu;
		vm->st.locks++;
		/* A CPU access is a use: most recently used end of its list. */
		list_move_tail(&a->lru, (a->flags & VIDMM_ALLOC_UNPAGABLE)
						? &a->seg->unpagable
						: &a->seg->pagable[a->priority]);
	}
	a->op_pins--;
	if (a->destroyed)
		residency_reap_locked(vm);
	vidmm_hist_record(&vm->hist[VIDMM_HIST_LOCK], now_ns() - t0);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

int vidmm_unlock(vidmm_t *vm, vidmm_handle_t h)
{
	struct vidmm_allocation *a;

	if (!vm)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	a = handle_lookup_locked(vm, h);
	if (!a || !a->lock_count) {
		pthread_mutex_unlock(&vm->lock);
		return a ? -EINVAL : -EBADF;
	}
	if (--a->lock_count == 0) {
		if (a->cpu && a->seg && seg_is_local(a->seg) && vm->chip->unmap_local)
			vm->chip->unmap_local(vm->chip_ctx, a->cpu, a->size);
		a->cpu = NULL;
	}
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

int vidmm_evict(vidmm_t *vm, vidmm_handle_t h)
{
	struct vidmm_allocation *a;
	int ret;

	if (!vm)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	a = handle_lookup_locked(vm, h);
	if (!a)
		ret = -EBADF;
	else if (a->residency != VIDMM_RESIDENT)
		ret = 0;
	else if (pinned(a) || a->moving || alloc_busy_locked(vm, a))
		ret = -EBUSY;
	else {
		alloc_own(a);
		ret = page_out_locked(vm, a);
		alloc_release_locked(vm, a);
	}
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

int vidmm_query_histogram(vidmm_t *vm, enum vidmm_hist_id id, struct vidmm_hist *out)
{
	if (!vm || !out || (unsigned)id > VIDMM_HIST_SWAP_READ_IO)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	if ((unsigned)id < VIDMM_HIST_COUNT) {
		*out = vm->hist[id];
	} else if (vm->swap) {
		struct swap_stats *ss = malloc(sizeof(*ss));
		if (!ss) {
			pthread_mutex_unlock(&vm->lock);
			return -ENOMEM;
		}
		swap_query_stats(vm->swap, ss);
		*out = id == VIDMM_HIST_SWAP_WRITE_IO ? ss->write_lat : ss->read_lat;
		free(ss);
	} else {
		vidmm_hist_init(out);
	}
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

/* ---- init / fini ------------------------------------------------------------------ */

int residency_init(struct vidmm *vm)
{
	pthread_cond_init(&vm->moved, NULL);
	for (int p = 0; p < VIDMM_PRIO_COUNT; p++)
		list_init(&vm->evicted[p]);
	list_init(&vm->swapped);
	list_init(&vm->deferred);
	list_init(&vm->inflight);
	list_init(&vm->windows);
	list_init(&vm->quarantine);
	for (int i = 0; i < VIDMM_HIST_COUNT; i++)
		vidmm_hist_init(&vm->hist[i]);
	if (vm->cfg.paging_mode == VIDMM_PAGING_BOUNCE) {
		struct segment *pg = paging_seg(vm);
		uint64_t page = vm_page_size(vm);
		uint64_t size = (pg->size / 2) & ~(page - 1);
		int ret;

		if (size < page)
			size = page;
		ret = heap_alloc(pg->heap, &vm->staging, size, page, 0, UINT64_MAX, HEAP_BOTTOM_UP);
		if (ret)
			return ret;
		ret = sysmem_alloc(&vm->sysmem, size / page, true, true, &vm->staging_pages);
		if (ret) {
			heap_free(pg->heap, &vm->staging);
			vm->staging.size = 0;
			return ret;
		}
		gart_map(vm, vm->staging.start, &vm->staging_pages, pg->flags & VIDMM_SEG_SNOOPED);
	}
	return 0;
}

void residency_fini(struct vidmm *vm)
{
	list_for_each_safe(pos, tmp, &vm->quarantine) {
		struct quarantine *q = list_entry(pos, struct quarantine, link);
		heap_free(q->seg->heap, &q->node);
		list_del(&q->link);
		free(q);
	}
	if (vm->staging.size) {
		gart_unmap(vm, vm->staging.start, vm->staging_pages.npages);
		sysmem_free(&vm->sysmem, &vm->staging_pages);
		heap_free(paging_seg(vm)->heap, &vm->staging);
		vm->staging.size = 0;
	}
	pthread_cond_destroy(&vm->moved);
}
