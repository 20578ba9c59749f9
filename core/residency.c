/* SPDX-License-Identifier: MIT */
/*
 * residency.c - paging out (the note's vidmmi_segment_unresident_allocations)
 * and paging in: eviction policy, data movement through the paging segment,
 * vidmm_submit, vidmm_lock/unlock, vidmm_evict, deferred destroy, clear on
 * create and the quarantine of what late copies may still write.
 *
 * Owns: which allocations are resident where, victim selection, windows in
 * the paging segment, the bounce staging area, quarantine, and the residency
 * counters and histograms. Must not: write GART entries except through
 * gart.c, wait on the GPU with vm->lock held, or let a chip command block
 * under it (see manager.c for the locking rules and allocation.c for the
 * states an allocation goes through).
 *
 * Ownership. Whoever changes an allocation's placement owns it first
 * (a->moving): page-out, page-in, the migration and setup of a CPU lock,
 * swap-out and swap-in. One owner at a time; everyone else who needs it
 * waits for the owner (wait_owner), with vm->lock dropped, and then looks
 * again. A submit takes the GPU addresses of its allocations only after
 * checking, under the lock and right before queueing the job, that none has
 * an owner: so no job is ever queued on a range that is being vacated.
 * Owners never wait for another allocation's owner while they own one,
 * except eviction, whose victims are idle and unpinned: no cycle can form.
 *
 * Moving data. Paging out a local allocation takes system pages for it, maps a
 * window of the paging segment onto those very pages and has a copy engine
 * copy local -> window: one copy, and the data lands where it will live. The
 * local range is freed only after the copy's fence has signalled (and the
 * copy reported no error). Bounce mode (the original driver's way) copies
 * through a fixed staging area with its own pages, then the CPU copies
 * staging -> the allocation's pages: two copies, kept so the difference can
 * be measured. PCIe placements move without a copy: their pages stay, only
 * the GART mapping comes and goes. A CPU lock of an allocation resident
 * where the CPU cannot see it finds room in a CPU-visible segment first and
 * then moves it there with one GPU copy (migration), so a lock that finds
 * no room changes nothing.
 *
 * Late copies. A copy whose fence does not signal within the fence timeout
 * may still run. Nothing it may touch is reused until it has: its target
 * range and the frames of a timed-out page-out go to quarantine, its windows
 * stay allocated (unmapped, marked late), and the staging area waits for its
 * fence. residency_reap_locked gives them back once the fences signal.
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
 *
 * Clear on create. A new range is zeroed by a fill on a copy engine, queued
 * and not waited for: the allocation counts as busy until the fill has
 * completed without error (a failed one is issued again), so nothing moves it
 * or reads it before, and a job that references it waits for the fill.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define MAX_XFERS 64
#define MAX_ROUNDS 8
/* The largest copy command of a migration: spreads a large move over every
 * copy engine and bounds one command's latency. */
#define COPY_CHUNK (4ull << 20)

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

static enum heap_mode alloc_mode(const struct vidmm_allocation *a)
{
	return (a->flags & VIDMM_ALLOC_TOP_DOWN) ? HEAP_TOP_DOWN : HEAP_BEST_FIT;
}

/* Wait on the "something moved" condition, at most ms milliseconds. */
static void wait_moved(struct vidmm *vm, unsigned ms)
{
	vm_cond_wait_ms(vm, &vm->moved, ms);
}

/* Wait until a has no owner: 0, or -EBUSY past deadline. The caller keeps a
 * alive across the wait (an op pin). */
static int wait_owner(struct vidmm *vm, struct vidmm_allocation *a, uint64_t deadline)
{
	while (a->moving) {
		if (now_ns() > deadline)
			return -EBUSY;
		wait_moved(vm, 10);
	}
	return 0;
}

/* Wait, as a's owner, until its GPU work (clear included) is done. */
static int wait_idle_owned(struct vidmm *vm, struct vidmm_allocation *a, uint64_t deadline)
{
	while (alloc_busy_locked(vm, a)) {
		uint64_t now = now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		int r = alloc_wait_idle_unlocked(vm, a, deadline - now);
		if (r)
			return r == -ETIMEDOUT ? r : -EIO;
	}
	return 0;
}

/* ---- engine commands: never blocking under vm->lock ---------------------------- */

static uint32_t pick_copy_engine(struct vidmm *vm)
{
	return vm->next_copy_engine++ % vm->engines.n_copy;
}


/* chip->copy; a full ring is waited out with vm->lock dropped. The caller
 * owns everything the copy touches. */
static int copy_cmd_locked(struct vidmm *vm, uint32_t engine, uint64_t dst, uint64_t src,
			   uint64_t len, enum vidmm_copy_purpose why,
			   const struct vidmm_chip_deps *deps, uint64_t *fence)
{
	for (;;) {
		int r = vm->chip->copy(vm->chip_ctx, engine, dst, src, len, deps, fence);
		if (r == 0) {
			note_issued(vm, engine, *fence);
			VIDMM_TRACE(&vm->tracer, copy, VIDMM_TRACE_COPY, engine, *fence, len, why);
		}
		if (r != -EAGAIN)
			return r ? -EIO : 0;
		vm->st.ring_full_waits++;
		r = engine_space_unlocked(vm, engine, fence_timeout(vm));
		if (r)
			return r;
	}
}

struct cmd {
	uint32_t engine;
	uint64_t fence; /* 0: never issued */
};

/*
 * Wait (vm->lock dropped) for commands c[0..n) and check each one's error.
 * 0; -ETIMEDOUT, with pending[engine] set to the last fence of every engine
 * that did not finish in time; -EIO if a command failed.
 */
static int wait_cmds(struct vidmm *vm, const struct cmd *c, uint32_t n, uint64_t *pending)
{
	uint64_t last[VIDMM_MAX_ENGINES] = { 0 };
	int err = 0;

	for (uint32_t i = 0; i < n; i++)
		if (c[i].fence > last[c[i].engine])
			last[c[i].engine] = c[i].fence;
	for (uint32_t e = 0; e < vm->engines.n_copy; e++) {
		if (!last[e])
			continue;
		if (vm->chip->fence_completed(vm->chip_ctx, e) < last[e])
			vm->st.paging_cpu_waits++;
		int r = fence_wait_unlocked(vm, e, last[e], fence_timeout(vm));
		if (r) {
			err = -ETIMEDOUT;
			if (last[e] > pending[e])
				pending[e] = last[e];
		}
	}
	if (err)
		vm->st.copy_timeouts++;
	for (uint32_t i = 0; i < n && !err; i++)
		if (c[i].fence && vm->chip->fence_error &&
		    vm->chip->fence_error(vm->chip_ctx, c[i].engine, c[i].fence))
			err = -EIO;
	return err;
}

static bool any_pending(const struct vidmm *vm, const uint64_t *pending)
{
	for (uint32_t e = 0; e < vm->engines.n_copy; e++)
		if (pending[e] && vm->chip->fence_completed(vm->chip_ctx, e) < pending[e])
			return true;
	return false;
}

/* ---- quarantine ------------------------------------------------------------------ */

/*
 * Hand a range of seg (if seg) and/or frames (moved out of *pages, if any)
 * that a late copy may still write to quarantine record q, allocated by the
 * caller before it started the copy (so this cannot fail). The range is
 * unmapped first: a late write through it lands on the dummy page.
 */
static void quarantine_commit(struct vidmm *vm, struct quarantine *q, struct segment *seg,
			      const struct heap_node *node, struct sys_pages *pages,
			      const uint64_t *pending)
{
	q->seg = seg;
	if (seg)
		q->node = *node;
	if (pages) {
		q->pages = *pages;
		memset(pages, 0, sizeof(*pages));
	}
	memcpy(q->fence, pending, sizeof(q->fence));
	vm->st.quarantined_bytes += (seg ? q->node.size : 0) +
				    (q->pages.npages << vm->gart.geo.page_shift);
	list_add_tail(&q->link, &vm->quarantine);
}

static bool fences_done(struct vidmm *vm, const uint64_t *fence)
{
	for (uint32_t e = 0; e < vm->engines.n_copy; e++)
		if (fence[e] && vm->chip->fence_completed(vm->chip_ctx, e) < fence[e])
			return false;
	return true;
}

/* ---- windows ---------------------------------------------------------------------- */

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

static bool inflight_reap_locked(struct vidmm *vm);
static void inflight_wait_oldest(struct vidmm *vm, uint64_t deadline);

/*
 * No window is free, and the caller holds none of its own. Pipelined
 * page-ins whose copies are over give theirs back; else wait for the
 * oldest one's copies, or for a synchronous mover, who gives its windows
 * back within one copy. 0 to look again, -EBUSY past deadline.
 */
static int wait_for_window(struct vidmm *vm, uint64_t deadline)
{
	if (inflight_reap_locked(vm))
		return 0;
	if (now_ns() > deadline)
		return -EBUSY;
	if (!list_empty(&vm->inflight))
		inflight_wait_oldest(vm, deadline);
	else
		wait_moved(vm, 5);
	return 0;
}

/*
 * Wait for the copies through windows w[0..*n) (vm->lock dropped), then take
 * the windows down: unmapped at once (a late command then writes the dummy
 * page), freed when their copy has finished, else left on vm->windows marked
 * late until it has. Returns wait_cmds' result.
 */
static int flush_windows(struct vidmm *vm, struct paging_window **w, uint32_t *n,
			 uint64_t *pending)
{
	struct cmd c[MAX_XFERS];
	int err;

	for (uint32_t i = 0; i < *n; i++)
		c[i] = (struct cmd){ w[i]->engine, w[i]->fence };
	err = wait_cmds(vm, c, *n, pending);
	for (uint32_t i = 0; i < *n; i++) {
		struct paging_window *x = w[i];
		gart_unmap(vm, x->win.start, x->win.size >> vm->gart.geo.page_shift);
		if (x->fence && vm->chip->fence_completed(vm->chip_ctx, x->engine) < x->fence) {
			x->late = true;
			vm->st.quarantined_bytes += x->win.size;
			vm->st.late_unmapped_pages += x->win.size >> vm->gart.geo.page_shift;
			continue;
		}
		heap_free(paging_seg(vm)->heap, &x->win);
		list_del(&x->link);
		free(x);
	}
	*n = 0;
	pthread_cond_broadcast(&vm->moved);
	return err;
}

/*
 * Copy a's data between the local range at local and its system pages
 * through windows of the paging segment (window mode). a is owned. deps:
 * what the copies start after (a busy victim's jobs).
 *
 * keep (page-in only; NULL: synchronous): pipelined, the copies are queued
 * and not waited for; the windows of those left in flight come back in
 * *keep (NULL when every copy was waited for: windows ran out and a's own
 * filled the paging segment, as the synchronous path would have). On error
 * every copy issued is waited for, and pending says what may still run.
 */
static int transfer_window(struct vidmm *vm, struct vidmm_allocation *a, uint64_t local,
			   bool out, const struct vidmm_chip_deps *deps, uint64_t *pending,
			   struct inflight **keep)
{
	struct segment *pg = paging_seg(vm);
	uint64_t page = vm_page_size(vm);
	uint64_t chunk = (pg->size / 4) & ~(page - 1);
	uint64_t deadline = now_ns() + fence_timeout(vm);
	bool snooped = pg->flags & VIDMM_SEG_SNOOPED, stalled = false;
	struct paging_window *w[MAX_XFERS];
	uint32_t n = 0;
	uint64_t off = 0;
	int err = 0;

	if (keep)
		*keep = NULL;
	if (chunk < page)
		chunk = page;
	while (off < a->size && !err) {
		uint64_t len = a->size - off < chunk ? a->size - off : chunk;
		struct paging_window *t = calloc(1, sizeof(*t));

		if (!t) {
			err = -ENOMEM;
			break;
		}
		if (heap_alloc(pg->heap, &t->win, len, page, 0, UINT64_MAX, HEAP_BEST_FIT)) {
			free(t);
			if (keep && inflight_reap_locked(vm))
				continue;
			if (keep && !stalled)
				vm->st.pipeline_stalls++;
			stalled = true;
			if (n) {
				/* Its own windows fill the segment: wait for
				 * them (pipelined too, as the synchronous path). */
				err = flush_windows(vm, w, &n, pending);
				continue;
			}
			err = wait_for_window(vm, deadline);
			continue;
		}
		map_slice(vm, t->win.start, &a->pages, off >> vm->gart.geo.page_shift,
			  len >> vm->gart.geo.page_shift, snooped);
		list_add_tail(&t->link, &vm->windows);
		t->engine = pick_copy_engine(vm);
		t->dst = local + off;
		w[n++] = t;
		err = out ? copy_cmd_locked(vm, t->engine, t->win.start, local + off, len,
					    VIDMM_COPY_PAGE_OUT, deps, &t->fence)
			  : copy_cmd_locked(vm, t->engine, local + off, t->win.start, len,
					    VIDMM_COPY_PAGE_IN, deps, &t->fence);
		if (err)
			break;
		off += len;
		vm->st.bytes_copied_window += len;
		if (n == MAX_XFERS)
			err = flush_windows(vm, w, &n, pending);
	}
	struct inflight *fl = keep && !err && n ? malloc(sizeof(*fl) + n * sizeof(fl->w[0])) : NULL;
	if (fl) {
		fl->n = n;
		memcpy(fl->w, w, n * sizeof(w[0]));
		*keep = fl;
		return 0;
	}
	int r = flush_windows(vm, w, &n, pending);
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

/* The staging area is free of late copies (forgetting the fences that have
 * signalled); else *engine and *fence name one still to wait for. */
static bool staging_settled(struct vidmm *vm, uint32_t *engine, uint64_t *fence)
{
	for (uint32_t e = 0; e < vm->engines.n_copy; e++) {
		if (!vm->staging_fence[e])
			continue;
		if (vm->chip->fence_completed(vm->chip_ctx, e) >= vm->staging_fence[e]) {
			vm->staging_fence[e] = 0;
			continue;
		}
		*engine = e;
		*fence = vm->staging_fence[e];
		return false;
	}
	return true;
}

/* Bounce mode: GPU copy to the staging area, CPU copy to the pages (or the
 * reverse for page-in). The staging area has one user at a time, and is not
 * used while a copy that timed out may still touch it. a is owned. */
static int transfer_bounce(struct vidmm *vm, struct vidmm_allocation *a, uint64_t local,
			   bool out, uint64_t *pending)
{
	uint64_t deadline = now_ns() + fence_timeout(vm);
	char *staging = sysmem_frame_cpu(&vm->sysmem, vm->staging_pages.ext[0].node.start);
	uint64_t off = 0;
	int err = 0;

	for (;;) {
		uint32_t le;
		uint64_t lf, now = now_ns();
		if (!vm->staging_busy && staging_settled(vm, &le, &lf))
			break;
		if (now > deadline)
			return -EBUSY;
		if (vm->staging_busy)
			wait_moved(vm, 5);
		else
			fence_wait_unlocked(vm, le, lf, deadline - now);
	}
	vm->staging_busy = true;
	while (off < a->size && !err) {
		uint64_t len = a->size - off < vm->staging.size ? a->size - off : vm->staging.size;
		struct cmd c = { pick_copy_engine(vm), 0 };

		if (!out) {
			vm_unlock(vm);
			cpu_copy_pages(vm, &a->pages, off, staging, len, false);
			vm_lock(vm);
		}
		err = out ? copy_cmd_locked(vm, c.engine, vm->staging.start, local + off, len,
					    VIDMM_COPY_PAGE_OUT, NULL, &c.fence)
			  : copy_cmd_locked(vm, c.engine, local + off, vm->staging.start, len,
					    VIDMM_COPY_PAGE_IN, NULL, &c.fence);
		if (err)
			break;
		err = wait_cmds(vm, &c, 1, pending);
		if (err) {
			if (err == -ETIMEDOUT)
				vm->staging_fence[c.engine] = c.fence;
			break;
		}
		if (out) {
			vm_unlock(vm);
			cpu_copy_pages(vm, &a->pages, off, staging, len, true);
			vm_lock(vm);
		}
		vm->st.bytes_copied_bounce += 2 * len;
		off += len;
	}
	vm->staging_busy = false;
	pthread_cond_broadcast(&vm->moved);
	return err;
}

/* Move a's data between the local range at local and a->pages. pending:
 * on -ETIMEDOUT, the fences the copies that may still run will signal.
 * deps (window mode, page-out only): what the copies start after. */
static int transfer(struct vidmm *vm, struct vidmm_allocation *a, uint64_t local, bool out,
		    const struct vidmm_chip_deps *deps, uint64_t *pending)
{
	memset(pending, 0, VIDMM_MAX_ENGINES * sizeof(*pending));
	return vm->cfg.paging_mode == VIDMM_PAGING_BOUNCE
		       ? transfer_bounce(vm, a, local, out, pending)
		       : transfer_window(vm, a, local, out, deps, pending, NULL);
}

/* ---- pipelined page-in ---------------------------------------------------------------- */

/*
 * What a pipelined page-in holds is given back once its copies are over
 * (or the GPU is idle): windows unmapped and freed, source frames freed.
 */
static void inflight_free(struct vidmm *vm, struct inflight *fl)
{
	for (uint32_t i = 0; i < fl->n; i++) {
		struct paging_window *x = fl->w[i];
		gart_unmap(vm, x->win.start, x->win.size >> vm->gart.geo.page_shift);
		heap_free(paging_seg(vm)->heap, &x->win);
		list_del(&x->link);
		free(x);
	}
	if (fl->pages.npages)
		sysmem_free(&vm->sysmem, &fl->pages);
	list_del(&fl->link);
	resv_lock(vm, fl->a);
	fl->a->inflight = NULL;
	resv_unlock(vm, fl->a);
	free(fl);
	pthread_cond_broadcast(&vm->moved);
}

enum { FLIGHT_NONE = 0, FLIGHT_QUEUED, FLIGHT_STUCK };

static bool cmd_failed(struct vidmm *vm, uint32_t engine, uint64_t fence)
{
	return vm->chip->fence_error && vm->chip->fence_error(vm->chip_ctx, engine, fence);
}

/*
 * Where a's pipelined page-in stands. FLIGHT_NONE: none (done now, or there
 * was none). FLIGHT_QUEUED: every window's copy is queued or running, none
 * known to have failed, so a job can follow them on the GPU (add_copy_deps:
 * one dependency per window, each window's copy writing its own part).
 * FLIGHT_STUCK: a failed copy could not be issued again (ring full): *engine
 * is where to wait for room. A copy that failed is issued again from its
 * window, which still maps the source pages, as soon as it is seen to have
 * failed, not once the others are done: a job submitted meanwhile must not
 * depend only on the copies still running while another part of the range
 * holds what the failed one left (a previous owner's bytes). A destroyed
 * allocation's copies are not issued again (nobody reads it).
 */
static int inflight_state_locked(struct vidmm *vm, struct vidmm_allocation *a, uint32_t *engine)
{
	struct inflight *fl = a->inflight;
	bool running = false, stuck = false;

	if (!fl)
		return FLIGHT_NONE;
	for (uint32_t i = 0; i < fl->n; i++) {
		struct paging_window *x = fl->w[i];
		uint64_t f;

		if (!x->redo) {
			if (!x->fence)
				continue; /* done without error, seen so before */
			if (vm->chip->fence_completed(vm->chip_ctx, x->engine) < x->fence) {
				running = true;
				continue;
			}
			if (!cmd_failed(vm, x->engine, x->fence)) {
				/* Done: never asked again (a fault history that
				 * overflowed later would call it failed, and the
				 * copy issued again would overwrite what jobs
				 * wrote since). */
				x->fence = 0;
				continue;
			}
			x->redo = true;
			vm->st.copy_failures++;
		}
		if (a->destroyed)
			continue;
		if (vm->chip->copy(vm->chip_ctx, x->engine, x->dst, x->win.start, x->win.size, NULL,
				   &f)) {
			*engine = x->engine;
			stuck = true;
			continue;
		}
		x->fence = f;
		x->redo = false;
		running = true;
		if (f > a->write_fence[x->engine])
			a->write_fence[x->engine] = f;
		note_issued(vm, x->engine, f);
		VIDMM_TRACE(&vm->tracer, copy, VIDMM_TRACE_COPY, x->engine, f, x->win.size,
			    VIDMM_COPY_PAGE_IN);
		vm->st.pipeline_copy_retries++;
		vm->st.bytes_copied_window += x->win.size;
	}
	if (stuck)
		return FLIGHT_STUCK;
	if (running)
		return FLIGHT_QUEUED;
	inflight_free(vm, fl);
	return FLIGHT_NONE;
}

void inflight_drop_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	if (a->inflight)
		inflight_free(vm, a->inflight);
}

bool inflight_pending_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	uint32_t e;

	return inflight_state_locked(vm, a, &e) != FLIGHT_NONE;
}

/* Settle every pipelined page-in whose copies are over; true if one gave
 * its windows back. */
static bool inflight_reap_locked(struct vidmm *vm)
{
	bool freed = false;
	uint32_t e;

	list_for_each_safe(pos, tmp, &vm->inflight) {
		struct inflight *fl = list_entry(pos, struct inflight, link);
		freed |= inflight_state_locked(vm, fl->a, &e) == FLIGHT_NONE;
	}
	return freed;
}

/* Wait (vm->lock dropped) for the copies of the oldest pipelined page-in:
 * windows ran out. Its fences are copied first: it may be gone after. */
static void inflight_wait_oldest(struct vidmm *vm, uint64_t deadline)
{
	struct inflight *fl = list_entry(vm->inflight.next, struct inflight, link);
	uint64_t last[VIDMM_MAX_ENGINES] = { 0 };

	for (uint32_t i = 0; i < fl->n; i++)
		if (fl->w[i]->fence > last[fl->w[i]->engine])
			last[fl->w[i]->engine] = fl->w[i]->fence;
	bool waited = false;
	for (uint32_t e = 0; e < vm->engines.n_copy; e++) {
		uint64_t now = now_ns();
		if (!last[e] || vm->chip->fence_completed(vm->chip_ctx, e) >= last[e])
			continue;
		vm->st.paging_cpu_waits++;
		fence_wait_unlocked(vm, e, last[e], deadline > now ? deadline - now : 0);
		waited = true;
	}
	/* Its copies are over but it is not settled (a failed copy waits for
	 * ring room): never look again with the lock held. */
	if (!waited)
		wait_moved(vm, 1);
}

/* GPU copy between two GPU ranges (a migration), in chunks over the copy
 * engines; the caller owns both. */
static int gpu_copy(struct vidmm *vm, uint64_t dst, uint64_t src, uint64_t size,
		    uint64_t *pending)
{
	struct cmd c[MAX_XFERS];
	uint32_t n = 0;
	uint64_t off = 0;
	int err = 0;

	memset(pending, 0, VIDMM_MAX_ENGINES * sizeof(*pending));
	while (off < size && !err) {
		uint64_t len = size - off < COPY_CHUNK ? size - off : COPY_CHUNK;
		c[n].engine = pick_copy_engine(vm);
		err = copy_cmd_locked(vm, c[n].engine, dst + off, src + off, len, VIDMM_COPY_MIGRATE,
				      NULL, &c[n].fence);
		if (err)
			break;
		n++;
		off += len;
		if (n == MAX_XFERS) {
			err = wait_cmds(vm, c, n, pending);
			n = 0;
		}
	}
	int r = wait_cmds(vm, c, n, pending);
	return err ? err : r;
}

/* ---- clear on create ---------------------------------------------------------------- */

int clear_range_locked(struct vidmm *vm, struct vidmm_allocation *a, uint64_t gpu_addr)
{
	uint32_t e = pick_copy_engine(vm);
	uint64_t f;

	for (;;) {
		int r = vm->chip->fill(vm->chip_ctx, e, gpu_addr, a->size, 0, NULL, &f);
		if (r == 0)
			break;
		if (r != -EAGAIN)
			return -EIO;
		vm->st.ring_full_waits++;
		if (engine_space_unlocked(vm, e, fence_timeout(vm)))
			return -EBUSY;
	}
	resv_lock(vm, a);
	a->clear_engine = e;
	a->clear_fence = f;
	if (f > a->write_fence[e])
		a->write_fence[e] = f;
	resv_unlock(vm, a);
	note_issued(vm, e, f);
	VIDMM_TRACE(&vm->tracer, copy, VIDMM_TRACE_COPY, e, f, a->size, VIDMM_COPY_CLEAR);
	vm->st.cleared_bytes += a->size;
	vm->st.clears++;
	return 0;
}

/*
 * true while a's clear has not completed without error. A clear the engine
 * failed left the range's old bytes: it is issued again here (without
 * blocking: if the ring is full, the next look tries again), unless the
 * allocation is destroyed and nobody can read it any more.
 */
bool clear_pending_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	uint32_t e = a->clear_engine;
	uint64_t f;

	if (!a->clear_fence)
		return false;
	if (vm->chip->fence_completed(vm->chip_ctx, e) < a->clear_fence)
		return true;
	if (!vm->chip->fence_error || !vm->chip->fence_error(vm->chip_ctx, e, a->clear_fence) ||
	    a->destroyed) {
		resv_lock(vm, a);
		a->clear_fence = 0;
		resv_unlock(vm, a);
		return false;
	}
	e = pick_copy_engine(vm);
	if (vm->chip->fill(vm->chip_ctx, e, a->node.start, a->size, 0, NULL, &f) == 0) {
		resv_lock(vm, a);
		a->clear_engine = e;
		a->clear_fence = f;
		if (f > a->write_fence[e])
			a->write_fence[e] = f;
		resv_unlock(vm, a);
		note_issued(vm, e, f);
		VIDMM_TRACE(&vm->tracer, copy, VIDMM_TRACE_COPY, e, f, a->size, VIDMM_COPY_CLEAR);
		vm->st.clears++;
		vm->st.clear_retries++;
	}
	return true;
}

/* ---- transit ------------------------------------------------------------------------ */

void transit_add(struct vidmm *vm, struct transit *t)
{
	list_add_tail(&t->link, &vm->transit);
}

void transit_del(struct transit *t)
{
	list_del(&t->link);
}

/* ---- page out / page in -------------------------------------------------------------- */

static void note_bounce(struct vidmm *vm, uint64_t then, uint64_t now)
{
	if (then && now - then < bounce_window(vm))
		vm->st.bounces++;
}

static int copy_out_after(struct vidmm *vm, struct vidmm_allocation *a,
			  const struct vidmm_chip_deps *deps)
{
	uint64_t pending[VIDMM_MAX_ENGINES];
	struct quarantine *q = calloc(1, sizeof(*q));
	int ret;

	if (!q)
		return -ENOMEM;
	/* Taking pages may swap others out with the lock dropped. */
	ret = alloc_pages_locked(vm, a->size >> vm->gart.geo.page_shift, false, &a->pages);
	if (ret) {
		free(q);
		return ret;
	}
	ret = transfer(vm, a, a->node.start, true, deps, pending);
	if (ret) {
		/* A late copy may still write these frames: not reused before
		 * it has finished. */
		if (ret == -ETIMEDOUT && any_pending(vm, pending)) {
			quarantine_commit(vm, q, NULL, NULL, &a->pages, pending);
			q = NULL;
		} else {
			sysmem_free(&vm->sysmem, &a->pages);
		}
		if (ret == -EIO)
			vm->st.copy_failures++;
	}
	free(q);
	return ret;
}

int copy_out_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	return copy_out_after(vm, a, NULL);
}

/*
 * Page one unpinned, resident allocation out, idle or (deps) busy only with
 * the GPU jobs named in deps, which its copies then wait for on the GPU.
 * The caller owns it (alloc_own) and releases it afterwards; it is never
 * freed here. On failure (a failed job among deps included: the copy is
 * cancelled) it stays resident with its data intact.
 */
static int page_out_after(struct vidmm *vm, struct vidmm_allocation *a,
			  const struct vidmm_chip_deps *deps)
{
	struct segment *s = a->seg;
	uint64_t t0 = now_ns();
	int ret;

	VIDMM_TRACE(&vm->tracer, page_out_begin, VIDMM_TRACE_PAGE_OUT_BEGIN, alloc_handle(a),
		    a->size, vm->cfg.paging_mode, s - vm->seg);
	if (seg_is_pcie(s)) {
		/* The pages are the data: unmap, keep them. */
		gart_unmap(vm, a->node.start, a->pages.npages);
		heap_free(s->heap, &a->node);
		vm->st.pcie_remaps++;
	} else {
		ret = copy_out_after(vm, a, deps);
		if (ret) {
			VIDMM_TRACE(&vm->tracer, page_out_end, VIDMM_TRACE_PAGE_OUT_END,
				    alloc_handle(a), a->size, ret, now_ns() - t0);
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
	VIDMM_TRACE(&vm->tracer, page_out_end, VIDMM_TRACE_PAGE_OUT_END, alloc_handle(a), a->size,
		    0, t1 - t0);
	return 0;
}

/* Page one idle, unpinned, resident allocation out (page_out_after). */
int page_out_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	return page_out_after(vm, a, NULL);
}

/*
 * Pipelined eviction of a busy victim: its page-out copies are queued after
 * the jobs it is busy with, instead of this thread waiting for them first.
 * Only a victim busy with jobs alone (no clear, no page-in of its own still
 * copying) in window mode. The copies themselves are still waited for: the
 * range is reused only once they have read it. 0, -EAGAIN (not such a
 * victim: wait for it instead; or its job failed and it is idle now), or
 * page_out_after's error. *gone: it was destroyed meanwhile and is freed
 * (the caller must not look at it again).
 */
static int page_out_busy_locked(struct vidmm *vm, struct vidmm_allocation *a, bool *gone)
{
	struct vidmm_chip_deps d = { 0 };
	uint32_t nc = vm->engines.n_copy;
	int ret;

	*gone = false;
	if (!vm->cfg.pipelined_paging || vm->cfg.paging_mode != VIDMM_PAGING_WINDOW ||
	    a->moving || pinned(a) || a->destroyed || a->inflight || a->clear_fence ||
	    seg_is_pcie(a->seg) || (a->flags & VIDMM_ALLOC_UNPAGABLE))
		return -EAGAIN;
	/* Owned first: the jobs it is busy with are then all that it will
	 * be busy with (no submit starts on an owned allocation). */
	alloc_own(vm, a);
	for (uint32_t e = 0; e < nc + vm->engines.n_job; e++) {
		uint64_t f = a->read_fence[e] > a->write_fence[e] ? a->read_fence[e] : a->write_fence[e];
		if (!f || vm->chip->fence_completed(vm->chip_ctx, e) >= f)
			continue;
		if (e < nc || d.n == VIDMM_CHIP_MAX_DEPS) {
			alloc_release_locked(vm, a); /* not destroyed: checked above */
			return -EAGAIN;
		}
		d.d[d.n++] = (struct vidmm_chip_dep){ e, f };
	}
	VIDMM_TRACE(&vm->tracer, evict, VIDMM_TRACE_EVICT, alloc_handle(a), a->size,
		    VIDMM_EVICT_BUSY_QUEUED, a->seg - vm->seg);
	vm->policy->evicted(vm, a);
	ret = page_out_after(vm, a, &d);
	*gone = alloc_release_locked(vm, a);
	if (!ret) {
		vm->st.busy_pageouts++;
		return 0;
	}
	/* A job it waited for failed, which cancelled the copy: the victim
	 * is idle now and an ordinary victim again. */
	for (uint32_t i = 0; i < d.n && ret == -EIO; i++)
		if (cmd_failed(vm, d.d[i].engine, d.d[i].fence))
			ret = -EAGAIN;
	return ret;
}

/* ---- victim scan ------------------------------------------------------------- */

struct scan {
	struct { uint64_t lo, hi; } *iv; /* disjoint, sorted extents */
	uint32_t niv, cap_iv;
	struct vidmm_allocation **blk;   /* scanned candidates, in scan order */
	uint32_t nblk, cap_blk;
	struct vidmm_allocation **cand;  /* one priority level, in the policy's order */
	uint32_t cap_cand;
	uint64_t win_lo, win_hi;         /* the extent that fits, once found */
};

static void scan_free(struct scan *sc)
{
	free(sc->iv);
	free(sc->blk);
	free(sc->cand);
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

/* Scan s's pagable lists, lowest priority first; within a level in the
 * eviction policy's order. Returns 0 with *fits set, or -ENOMEM. */
static int scan_segment(struct vidmm *vm, struct segment *s, uint64_t size, uint64_t align,
			enum scan_pass pass, struct scan *sc, bool *fits)
{
	*fits = false;
	if (vm->scan_hook)
		vm->scan_hook(vm->scan_hook_arg);
	residency_drain_used_locked(vm); /* the policy's order, up to date */
	for (int p = 0; p < VIDMM_PRIO_COUNT; p++) {
		uint32_t n = 0;
		list_for_each(pos, &s->pagable[p]) {
			struct vidmm_allocation *a = list_entry(pos, struct vidmm_allocation, lru);
			if (pinned(a) || a->moving || a->destroyed)
				continue;
			if (pass == SCAN_IDLE && alloc_busy_locked(vm, a))
				continue;
			if (array_reserve((void **)&sc->cand, n, &sc->cap_cand, sizeof(*sc->cand)))
				return -ENOMEM;
			sc->cand[n++] = a;
		}
		if (n > 1)
			vm->policy->order(vm, s, sc->cand, n);
		for (uint32_t i = 0; i < n; i++) {
			int r = scan_add(sc, s, sc->cand[i], size, align, fits);
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

/* The lowest priority with pagable allocations in s (VIDMM_PRIO_COUNT: none):
 * a victim above it is evicted for its priority's sake (the trace says so). */
static int lowest_pagable_priority(const struct segment *s)
{
	for (int p = 0; p < VIDMM_PRIO_COUNT; p++)
		if (!list_empty(&s->pagable[p]))
			return p;
	return VIDMM_PRIO_COUNT;
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
				alloc_own(vm, sc.blk[i]);
				v[n++] = sc.blk[i];
			}
		int lowest = lowest_pagable_priority(s);
		for (uint32_t i = 0; i < n; i++) {
			struct vidmm_allocation *a = v[i];
			/* Revalidate: an earlier victim's wait dropped the lock. */
			if (a->residency == VIDMM_RESIDENT && a->seg == s && !pinned(a) &&
			    !a->destroyed && !alloc_busy_locked(vm, a)) {
				VIDMM_TRACE(&vm->tracer, evict, VIDMM_TRACE_EVICT, alloc_handle(a),
					    a->size,
					    (int)a->priority > lowest ? VIDMM_EVICT_PRIORITY
					    : vm->cfg.evict_plain_lru ? VIDMM_EVICT_LRU
								       : VIDMM_EVICT_WINDOW,
					    s - vm->seg);
				vm->policy->evicted(vm, a);
				int r = page_out_locked(vm, a);
				if (r)
					err = err ? err : r;
				else
					freed++;
			}
			alloc_release_locked(vm, a);
		}
		/* A victim whose copy failed or did not finish in time is, for
		 * the request, a victim that could not be moved: busy. */
		if (err == -ETIMEDOUT || err == -EIO)
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
		bool gone;
		ret = page_out_busy_locked(vm, a, &gone);
		if (ret == 0 || gone) {
			ret = ret ? -EAGAIN : 0; /* destroyed meanwhile: look again */
			goto out;
		}
		if (ret != -EAGAIN || !alloc_busy_locked(vm, a)) {
			/* As an idle victim's: a failed copy is a victim
			 * that could not be moved; -EAGAIN, it is idle now. */
			ret = ret == -ETIMEDOUT || ret == -EIO ? -EBUSY : ret;
			goto out;
		}
		VIDMM_TRACE(&vm->tracer, evict, VIDMM_TRACE_EVICT, alloc_handle(a), a->size,
			    VIDMM_EVICT_BUSY_WAIT, s - vm->seg);
		vm->st.busy_waits++;
		vm->st.paging_cpu_waits++;
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


/*
 * Find room for size/align in segment s, into node: free space first, then
 * (allow_evict) by paging idle victims out. May drop and retake vm->lock.
 * 0, -ENOSPC, -EBUSY, -ENOMEM. A request that can never fit in s is -ENOSPC
 * (the heap's -EINVAL never reaches a caller).
 */
static int place_range_try(struct vidmm *vm, struct segment *s, uint64_t size, uint64_t align,
			   enum heap_mode mode, struct heap_node *node, bool allow_evict)
{
	int ret = -ENOSPC;

	if (size > s->size || align > s->size)
		return -ENOSPC;
	for (int round = 0; round < MAX_ROUNDS; round++) {
		ret = heap_alloc(s->heap, node, size, align, 0, UINT64_MAX, mode);
		if (ret != -ENOSPC)
			return ret;
		/* Destroyed allocations whose fences have signalled give their
		 * ranges back first: that costs no copy. */
		if (!list_empty(&vm->deferred) || !list_empty(&vm->quarantine) ||
		    !list_empty(&vm->windows)) {
			residency_reap_locked(vm);
			ret = heap_alloc(s->heap, node, size, align, 0, UINT64_MAX, mode);
			if (ret != -ENOSPC)
				return ret;
		}
		if (!allow_evict)
			return ret;
		ret = evict_for_locked(vm, s, size, align);
		if (ret && ret != -EAGAIN)
			return ret;
	}
	ret = heap_alloc(s->heap, node, size, align, 0, UINT64_MAX, mode);
	return ret == -ENOSPC ? -EBUSY : ret;
}

int place_range_locked(struct vidmm *vm, struct segment *s, uint64_t size, uint64_t align,
		       enum heap_mode mode, struct heap_node *node, bool allow_evict)
{
	int ret = place_range_try(vm, s, size, align, mode, node, allow_evict);

	if (ret)
		VIDMM_TRACE(&vm->tracer, place_fail, VIDMM_TRACE_PLACE_FAIL, s - vm->seg, size,
			    align, ret);
	return ret;
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
 * Choose a segment and a range for a (which the caller owns or which nobody
 * can see yet) among its allowed segments (CPU-visible ones only if cpu),
 * into t. free_first: every allowed segment's free space before any
 * eviction (a new allocation, a lock, a throttled page-in); else each in
 * order, with eviction, before the next (a page-in wants its preferred
 * segment). new_pages: a PCIe range gets fresh system frames, mapped (a new
 * allocation, a migration); a segment whose frames cannot be had is passed
 * over like a full one. With new_pages, t is on vm->transit on success.
 */
static int choose_place(struct vidmm *vm, struct vidmm_allocation *a, bool cpu, bool free_first,
			bool new_pages, struct transit *t)
{
	int err = -ENOSPC;

	for (int pass = free_first ? 0 : 1; pass < 2; pass++)
		for (uint32_t i = 0; i < a->n_allowed; i++) {
			struct segment *s = &vm->seg[a->allowed[i]];
			if (cpu && !seg_cpu_visible(s))
				continue;
			int r = place_range_locked(vm, s, a->size, a->align, alloc_mode(a), &t->node,
						   pass == 1);
			if (r == 0 && new_pages) {
				t->seg = s;
				transit_add(vm, t);
				if (seg_is_pcie(s)) {
					/* May swap others out with the lock dropped. */
					r = alloc_pages_locked(vm, a->size >> vm->gart.geo.page_shift,
							       false, &t->pages);
					if (r) {
						transit_del(t);
						heap_free(s->heap, &t->node);
					} else {
						gart_map(vm, t->node.start, &t->pages,
							 s->flags & VIDMM_SEG_SNOOPED);
						t->mapped = true;
					}
				}
			}
			if (r == 0) {
				t->seg = s;
				return 0;
			}
			err = worse(err, r);
		}
	return err;
}

/* Give back what choose_place(new_pages) took into t (it is on transit). */
static void unplace(struct vidmm *vm, struct transit *t)
{
	transit_del(t);
	if (t->mapped)
		gart_unmap(vm, t->node.start, t->pages.npages);
	t->mapped = false;
	if (t->pages.npages)
		sysmem_free(&vm->sysmem, &t->pages);
	heap_free(t->seg->heap, &t->node);
}

/* Place a new allocation, which nobody can see yet, and clear its range
 * (allocation.c). On success t holds the range (and frames), off transit. */
int place_new_locked(struct vidmm *vm, struct vidmm_allocation *a, struct transit *t)
{
	int ret = choose_place(vm, a, false, true, true, t);

	if (ret)
		return ret;
	if (!vm->cfg.no_clear_on_create) {
		ret = clear_range_locked(vm, a, t->node.start);
		if (ret) {
			unplace(vm, t);
			return ret;
		}
	}
	transit_del(t);
	return 0;
}

/* Bring an evicted allocation, which the caller owns, into one of its
 * segments (CPU-visible ones only if cpu). */
static int page_in_owned(struct vidmm *vm, struct vidmm_allocation *a, bool cpu, bool throttled)
{
	uint64_t t0 = now_ns();
	struct transit t = { 0 };
	struct inflight *fl = NULL;
	int ret;

	if (throttled) {
		/* Counted whether or not a free spot turns up: the budget took
		 * the choice of placement away from the preference order. */
		vm->st.throttled_moves++;
		VIDMM_TRACE(&vm->tracer, throttle, VIDMM_TRACE_THROTTLE, alloc_handle(a), a->size, 0,
			    0);
	}
	VIDMM_TRACE(&vm->tracer, page_in_begin, VIDMM_TRACE_PAGE_IN_BEGIN, alloc_handle(a), a->size,
		    vm->cfg.paging_mode, throttled);
	ret = choose_place(vm, a, cpu, throttled, false, &t);
	if (ret)
		goto fail;
	if (seg_is_pcie(t.seg)) {
		gart_map(vm, t.node.start, &a->pages, t.seg->flags & VIDMM_SEG_SNOOPED);
		vm->st.pcie_remaps++;
	} else {
		uint64_t pending[VIDMM_MAX_ENGINES];
		struct quarantine *q = calloc(1, sizeof(*q));
		if (!q) {
			heap_free(t.seg->heap, &t.node);
			ret = -ENOMEM;
			goto fail;
		}
		transit_add(vm, &t);
#if defined(VIDMM_PLANTED_BUG) && VIDMM_PLANTED_BUG == 1
		/* The planted defect of the fuzzer's test variant (core/meson.build):
		 * from its second page-in on, an allocation of a multiple of 3
		 * pages skips its copy back and comes back with stale bytes. */
		if ((a->size >> vm->gart.geo.page_shift) % 3 == 0 && a->last_in_ns) {
			memset(pending, 0, VIDMM_MAX_ENGINES * sizeof(*pending));
			ret = 0;
		} else
#endif
		if (vm->cfg.pipelined_paging && vm->cfg.paging_mode == VIDMM_PAGING_WINDOW) {
			memset(pending, 0, VIDMM_MAX_ENGINES * sizeof(*pending));
			ret = transfer_window(vm, a, t.node.start, false, NULL, pending, &fl);
		} else
			ret = transfer(vm, a, t.node.start, false, NULL, pending);
		transit_del(&t);
		if (ret) {
			/* A late copy may still write the range. */
			if (ret == -ETIMEDOUT && any_pending(vm, pending)) {
				quarantine_commit(vm, q, t.seg, &t.node, NULL, pending);
				q = NULL;
			} else {
				heap_free(t.seg->heap, &t.node);
			}
			free(q);
			if (ret == -EIO)
				vm->st.copy_failures++;
			goto fail;
		}
		free(q);
		if (fl) {
			/* Resident from now on; busy until the copies are
			 * done (a->write_fence), and jobs wait for them on
			 * the GPU. The pages stay the source until then. */
			fl->a = a;
			fl->pages = a->pages;
			memset(&a->pages, 0, sizeof(a->pages));
			for (uint32_t i = 0; i < fl->n; i++)
				if (fl->w[i]->fence > a->write_fence[fl->w[i]->engine])
					a->write_fence[fl->w[i]->engine] = fl->w[i]->fence;
			a->inflight = fl;
			list_add_tail(&fl->link, &vm->inflight);
			vm->st.pipelined_page_ins++;
		} else {
			sysmem_free(&vm->sysmem, &a->pages);
		}
	}
	list_del(&a->cache);
	vm->st.evicted_allocations--;
	vm->st.evicted_bytes -= a->size;
	a->residency = VIDMM_RESIDENT;
	a->seg = t.seg;
	a->node = t.node;
	segment_list_add(t.seg, a);
	vm->policy->resident(vm, a);
	vm->st.page_ins++;
	vm->st.bytes_paged_in += a->size;
	uint64_t t1 = now_ns();
	note_bounce(vm, a->last_out_ns, t1);
	a->last_in_ns = t1;
	vidmm_hist_record(&vm->hist[VIDMM_HIST_PAGE_IN], t1 - t0);
	VIDMM_TRACE(&vm->tracer, page_in_end, VIDMM_TRACE_PAGE_IN_END, alloc_handle(a), a->size, 0,
		    t1 - t0);
	return 0;
fail:
	VIDMM_TRACE(&vm->tracer, page_in_end, VIDMM_TRACE_PAGE_IN_END, alloc_handle(a), a->size, ret,
		    now_ns() - t0);
	return ret;
}

/*
 * A CPU lock of an allocation resident where the CPU cannot see it: find
 * room in a CPU-visible allowed segment, then move it there with one GPU
 * copy. Nothing changes unless both succeed. The caller holds an op pin.
 */
static int migrate_visible_locked(struct vidmm *vm, struct vidmm_allocation *a,
				  uint64_t deadline)
{
	uint64_t pending[VIDMM_MAX_ENGINES];
	struct transit t = { 0 };
	struct quarantine *q;
	int ret;

	if (a->flags & VIDMM_ALLOC_UNPAGABLE)
		return -EINVAL; /* unpagable allocations never move */
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	alloc_own(vm, a);
	ret = wait_idle_owned(vm, a, deadline);
	if (!ret && a->destroyed)
		ret = -EBADF;
	if (!ret)
		ret = choose_place(vm, a, true, false, true, &t);
	if (ret)
		goto out;
	ret = gpu_copy(vm, t.node.start, a->node.start, a->size, pending);
	if (ret) {
		if (ret == -ETIMEDOUT && any_pending(vm, pending)) {
			/* A late copy may still write the range and frames. */
			transit_del(&t);
			if (t.mapped) {
				gart_unmap(vm, t.node.start, t.pages.npages);
				vm->st.late_unmapped_pages += t.pages.npages;
			}
			quarantine_commit(vm, q, t.seg, &t.node, &t.pages, pending);
			q = NULL;
		} else {
			unplace(vm, &t);
		}
		if (ret == -EIO)
			vm->st.copy_failures++;
		goto out;
	}
	transit_del(&t);
	heap_free(a->seg->heap, &a->node);
	segment_list_del(a->seg, a);
	a->seg = t.seg;
	a->node = t.node;
	a->pages = t.pages;
	segment_list_add(t.seg, a);
	vm->policy->resident(vm, a);
	vm->st.migrations++;
out:
	free(q);
	if (alloc_release_locked(vm, a) && !ret)
		ret = -EBADF;
	return ret;
}

/*
 * Make a resident somewhere it may live (CPU-visible only if cpu), and with
 * no owner at the moment of return. The caller holds an op pin on a; the
 * lock may be dropped. Within the move budget, each allowed segment is tried
 * in order with eviction; past it (thrash control), a free spot anywhere is
 * preferred to evicting.
 */
static int make_resident_locked(struct vidmm *vm, struct vidmm_allocation *a, bool cpu,
				bool throttled, uint64_t deadline)
{
	for (;;) {
		if (a->destroyed)
			return -EBADF;
		/* In a read-ahead window the thread has not started: read
		 * it here rather than wait behind the thread's queue (other
		 * readers' windows included). */
		if (a->moving && a->ra_queued && readahead_run_queued_locked(vm, a))
			continue;
		if (a->moving) {
			int r = wait_owner(vm, a, deadline);
			if (r)
				return r;
			continue;
		}
		/* The first use of what a read-ahead brought: the next window
		 * starts (readahead.c). Not before a's owner is done: a reader
		 * that caught up with the read-ahead thread waits for a here,
		 * and the thread sets the trigger when it lets go. */
		if (a->ra_next)
			readahead_used_locked(vm, a);
		if (a->residency == VIDMM_RESIDENT) {
			if (!cpu || seg_cpu_visible(a->seg))
				return 0;
			int r = migrate_visible_locked(vm, a, deadline);
			if (r)
				return r;
			continue;
		}
		int ret = 0;
		alloc_own(vm, a);
		if (a->residency == VIDMM_SWAPPED)
			ret = swap_in_locked(vm, a);
		if (!ret)
			ret = page_in_owned(vm, a, cpu, throttled);
		if (alloc_release_locked(vm, a))
			return -EBADF;
		if (ret)
			return ret;
	}
}

/* ---- deferred destroy and quarantine ------------------------------------------------------ */

void residency_reap_locked(struct vidmm *vm)
{
	atomic_store_explicit(&vm->reap_wanted, false, memory_order_relaxed);
	residency_drain_used_locked(vm);
	inflight_reap_locked(vm);
	list_for_each_safe(pos, tmp, &vm->quarantine) {
		struct quarantine *q = list_entry(pos, struct quarantine, link);
		if (!fences_done(vm, q->fence))
			continue;
		vm->st.quarantined_bytes -= (q->seg ? q->node.size : 0) +
					    (q->pages.npages << vm->gart.geo.page_shift);
		if (q->seg)
			heap_free(q->seg->heap, &q->node);
		if (q->pages.npages)
			sysmem_free(&vm->sysmem, &q->pages);
		list_del(&q->link);
		free(q);
	}
	list_for_each_safe(pos, tmp, &vm->windows) {
		struct paging_window *w = list_entry(pos, struct paging_window, link);
		if (!w->late || vm->chip->fence_completed(vm->chip_ctx, w->engine) < w->fence)
			continue;
		vm->st.quarantined_bytes -= w->win.size;
		heap_free(paging_seg(vm)->heap, &w->win);
		list_del(&w->link);
		free(w);
	}
	list_for_each_safe(pos, tmp, &vm->deferred) {
		struct vidmm_allocation *a = list_entry(pos, struct vidmm_allocation, lru);
		if (a->op_pins || a->moving || alloc_busy_locked(vm, a))
			continue;
		allocation_free_locked(vm, a);
	}
}

/* ---- public calls -------------------------------------------------------------------------- */

static bool add_dep(struct vidmm_chip_deps *d, uint32_t engine, uint64_t fence)
{
	for (uint32_t k = 0; k < d->n; k++)
		if (d->d[k].engine == engine && d->d[k].fence == fence)
			return true;
	if (d->n == VIDMM_CHIP_MAX_DEPS)
		return false;
	d->d[d->n++] = (struct vidmm_chip_dep){ engine, fence };
	return true;
}

/*
 * Add to d what a job on a must start after: its clear and every copy of
 * its pipelined page-in, one dependency each. Not one per engine: a newer
 * fence signalling says nothing of an older command on the same engine
 * having worked (a failure is this command's alone, chip.h). Signalled ones
 * are named too: the chip drops those that worked and cancels the job for
 * one that failed. false, with d as it was, if they do not fit (the caller
 * waits on the CPU instead).
 */
static bool add_copy_deps(struct vidmm *vm, const struct vidmm_allocation *a,
			  struct vidmm_chip_deps *d)
{
	uint32_t n0 = d->n;
	bool fit = !a->clear_fence || add_dep(d, a->clear_engine, a->clear_fence);

	for (uint32_t i = 0; a->inflight && i < a->inflight->n && fit; i++)
		if (a->inflight->w[i]->fence) /* 0: done without error */
			fit = add_dep(d, a->inflight->w[i]->engine, a->inflight->w[i]->fence);
	if (!fit)
		d->n = n0;
	(void)vm;
	return fit;
}

/* A job or a CPU lock used a: the eviction policy's bookkeeping (lru moves
 * it to the most recently used end of its list). */
static void note_use(struct vidmm *vm, struct vidmm_allocation *a)
{
	residency_drain_used_locked(vm); /* fast submits' earlier uses first */
	if (!a->destroyed && a->residency == VIDMM_RESIDENT)
		vm->policy->use(vm, a);
}

int vidmm_submit(vidmm_t *vm, const struct vidmm_job *job, struct vidmm_fence *fence)
{
	struct vidmm_allocation *a[VIDMM_JOB_MAX_REFS];
	struct vidmm_chip_job cj;
	struct vidmm_chip_deps deps;
	uint64_t t0 = now_ns(), moved0, budget, deadline;
	uint64_t f = 0;
	uint32_t n, engine;
	int ret = 0;

	if (!vm || !job || !job->nrefs || job->nrefs > VIDMM_JOB_MAX_REFS ||
	    (unsigned)job->op > VIDMM_JOB_TOUCH || job->engine >= vm->engines.n_job ||
	    (job->op == VIDMM_JOB_COPY && job->nrefs != 2) || !vm->chip->submit_job)
		return -EINVAL;
	for (uint32_t i = 0; i < job->nrefs; i++)
		if (!(job->refs[i].access & (VIDMM_ACCESS_READ | VIDMM_ACCESS_WRITE)))
			return -EINVAL;
	n = job->nrefs;
	engine = vm->engines.n_copy + job->engine;
	budget = vm->cfg.submit_move_budget;

	/* Resident and settled: queued under the reservations alone. */
	ret = submit_fast(vm, job, engine, fence);
	if (ret != -EAGAIN)
		return ret;
	ret = 0;
	vm_lock(vm);
	residency_reap_locked(vm);
	for (uint32_t i = 0; i < n; i++) {
		a[i] = handle_lookup_locked(vm, job->refs[i].handle);
		if (!a[i]) {
			vm_unlock(vm);
			return -EBADF;
		}
	}
	/* Pin every reference first, so paging one in never evicts another. */
	for (uint32_t i = 0; i < n; i++)
		a[i]->op_pins++;
	moved0 = vm->st.bytes_paged_in + vm->st.bytes_paged_out;
	deadline = now_ns() + fence_timeout(vm);
	for (;;) {
		for (uint32_t i = 0; i < n && !ret; i++) {
			bool throttled = budget &&
				vm->st.bytes_paged_in + vm->st.bytes_paged_out - moved0 >= budget;
			ret = make_resident_locked(vm, a[i], false, throttled, deadline);
		}
		if (ret)
			break;
		/* Making one resident may have dropped the lock: only now, with
		 * the lock held until the job is queued, is it certain that none
		 * is destroyed, paged out or owned by a mover. */
		bool again = false;
		for (uint32_t i = 0; i < n && !ret; i++) {
			if (a[i]->destroyed)
				ret = -EBADF;
			else if (a[i]->moving || a[i]->residency != VIDMM_RESIDENT)
				again = true;
		}
		if (ret)
			break;
		/*
		 * The job must not start before the clear of a new allocation
		 * it uses, or a pipelined page-in's copies, which run on copy
		 * engines. Synchronous: wait for them here. Pipelined: the job
		 * depends on each of them (add_copy_deps), unless a failed one
		 * could not be issued again yet, or they are too many.
		 */
		memset(&deps, 0, sizeof(deps));
		for (uint32_t i = 0; i < n && !again; i++) {
			uint32_t fe = 0;
			bool clear = clear_pending_locked(vm, a[i]);
			int fl = inflight_state_locked(vm, a[i], &fe);
			uint32_t ce = a[i]->clear_engine;
			uint64_t cf = a[i]->clear_fence;
			/* A clear that failed and could not be issued again yet
			 * (ring full) still has its old, signalled fence. */
			bool clear_stuck = clear && vm->chip->fence_completed(vm->chip_ctx, ce) >= cf;

			if (!clear && fl == FLIGHT_NONE)
				continue;
			if (vm->cfg.pipelined_paging && fl != FLIGHT_STUCK && !clear_stuck &&
			    add_copy_deps(vm, a[i], &deps))
				continue;
			/* Only here: a clock read per allocation of every
			 * resident submit doubled BM_fence_submit at 16
			 * allocations (476 -> 983 ns on this machine). */
			uint64_t now = now_ns();
			if (now >= deadline) {
				ret = -ETIMEDOUT;
				break;
			}
			if (fl == FLIGHT_STUCK || clear_stuck) {
				/* Room on the ring for the retry, the lock dropped
				 * at least a moment (the ring may have room already,
				 * or the engine nothing in flight to wait for). */
				if (fl == FLIGHT_STUCK)
					engine_space_unlocked(vm, fe, deadline - now);
				wait_moved(vm, 1);
			} else {
				vm->st.paging_cpu_waits++;
				if (fl == FLIGHT_QUEUED)
					alloc_wait_idle_unlocked(vm, a[i], deadline - now);
				else
					fence_wait_unlocked(vm, ce, cf, deadline - now);
			}
			again = true;
		}
		if (ret)
			break;
		if (!again) {
			chip_job_build(&cj, job, a);
			int r = vm->chip->submit_job(vm->chip_ctx, engine, &cj,
						     deps.n ? &deps : NULL, &f);
			if (r == 0)
				note_issued(vm, engine, f);
			if (r == 0 && vm->submit_hook)
				vm->submit_hook(vm->submit_hook_arg);
			if (r != -EAGAIN) {
				ret = r ? -EIO : 0;
				break;
			}
			/* The job engine's ring is full: wait for it with the
			 * lock dropped, then check everything again. */
			vm->st.ring_full_waits++;
			uint64_t now = now_ns();
			if (now >= deadline ||
			    engine_space_unlocked(vm, engine, deadline - now)) {
				ret = -ETIMEDOUT;
				break;
			}
		}
		if (now_ns() > deadline) {
			ret = -EBUSY;
			break;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!ret) {
			/* Under resv, and only if newer: a fast submit may
			 * have queued a later job on the same engine since
			 * this one was queued (the lock was held, resv not). */
			resv_lock(vm, a[i]);
			if ((job->refs[i].access & VIDMM_ACCESS_WRITE) && f > a[i]->write_fence[engine])
				a[i]->write_fence[engine] = f;
			if ((job->refs[i].access & VIDMM_ACCESS_READ) && f > a[i]->read_fence[engine])
				a[i]->read_fence[engine] = f;
			resv_unlock(vm, a[i]);
			note_use(vm, a[i]);
		}
		a[i]->op_pins--;
	}
	if (ret == 0)
		vm->st.submits++;
	VIDMM_TRACE(&vm->tracer, submit, VIDMM_TRACE_SUBMIT, engine, n, f, ret);
	residency_reap_locked(vm);
	vidmm_hist_record(&vm->hist[VIDMM_HIST_SUBMIT], now_ns() - t0);
	vm_unlock(vm);
	if (!ret && fence) {
		fence->engine = engine;
		fence->value = f;
	}
	return ret;
}

/* Give a PCIe-resident allocation, which the caller owns and which is idle,
 * one contiguous run of frames, so the CPU sees it through one pointer. */
static int make_contiguous_owned(struct vidmm *vm, struct vidmm_allocation *a)
{
	struct transit t = { 0 };
	uint64_t page = vm_page_size(vm), off = 0;
	int ret;

	transit_add(vm, &t);
	ret = alloc_pages_locked(vm, a->pages.npages, true, &t.pages);
	if (ret) {
		transit_del(&t);
		return ret;
	}
	/* O(size): not under the lock. a is owned, so nothing moves it and no
	 * GPU work starts on it meanwhile; t's frames are ours. */
	vm_unlock(vm);
	char *dst = sysmem_frame_cpu(&vm->sysmem, t.pages.ext[0].node.start);
	for (uint32_t e = 0; e < a->pages.n_ext; e++) {
		uint64_t bytes = a->pages.ext[e].node.size * page;
		memcpy(dst + off, sysmem_frame_cpu(&vm->sysmem, a->pages.ext[e].node.start), bytes);
		off += bytes;
	}
	vm_lock(vm);
	transit_del(&t);
	gart_map(vm, a->node.start, &t.pages, a->seg->flags & VIDMM_SEG_SNOOPED);
	vm->gart.mapped -= t.pages.npages; /* a remap, not a new mapping */
	sysmem_free(&vm->sysmem, &a->pages);
	a->pages = t.pages;
	return 0;
}

int vidmm_lock(vidmm_t *vm, vidmm_handle_t h, void **cpu)
{
	struct vidmm_allocation *a;
	uint64_t t0 = now_ns(), deadline;
	int ret = 0;

	if (!vm || !cpu)
		return -EINVAL;
	vm_lock(vm);
	a = handle_lookup_locked(vm, h);
	if (!a) {
		vm_unlock(vm);
		return -EBADF;
	}
	if (a->lock_count) {
		a->lock_count++;
		*cpu = a->cpu;
		vm->st.locks++;
		vm_unlock(vm);
		return 0;
	}
	/* Refused before anything changes: it can never be CPU-visible. */
	if (!a->cpu_ok || ((a->flags & VIDMM_ALLOC_UNPAGABLE) && a->residency == VIDMM_RESIDENT &&
			   !seg_cpu_visible(a->seg))) {
		vm_unlock(vm);
		return -EINVAL;
	}
	/* Held across every dropped lock below; keeps it from being a victim. */
	a->op_pins++;
	deadline = now_ns() + fence_timeout(vm);
	ret = make_resident_locked(vm, a, true, false, deadline);
	if (!ret && a->lock_count) {
		/* Another thread finished locking it while we waited. */
		a->lock_count++;
		*cpu = a->cpu;
	} else if (!ret) {
		/* Own it while its GPU work drains and it is mapped: no job can
		 * start on it, nothing can move it. */
		alloc_own(vm, a);
		ret = wait_idle_owned(vm, a, deadline);
		if (!ret && seg_is_pcie(a->seg) && a->pages.n_ext > 1)
			ret = make_contiguous_owned(vm, a);
		if (!ret && !a->destroyed) {
			if (seg_is_pcie(a->seg))
				a->cpu = sysmem_frame_cpu(&vm->sysmem, a->pages.ext[0].node.start);
			else
				a->cpu = vm->chip->map_local(vm->chip_ctx, a->node.start, a->size);
			if (a->cpu) {
				a->lock_count = 1;
				*cpu = a->cpu;
			} else {
				ret = -EIO;
			}
		}
		if (alloc_release_locked(vm, a) && !ret && !a->lock_count)
			ret = -EBADF;
	}
	if (!ret) {
		vm->st.locks++;
		/* A CPU access is a use: most recently used end of its list. */
		note_use(vm, a);
	}
	/* Before the reap: a destroyed meanwhile may be freed by it. */
	VIDMM_TRACE(&vm->tracer, lock, VIDMM_TRACE_LOCK, h, a->size, ret, 0);
	a->op_pins--;
	if (a->destroyed)
		residency_reap_locked(vm);
	vidmm_hist_record(&vm->hist[VIDMM_HIST_LOCK], now_ns() - t0);
	vm_unlock(vm);
	return ret;
}

int vidmm_unlock(vidmm_t *vm, vidmm_handle_t h)
{
	struct vidmm_allocation *a;

	if (!vm)
		return -EINVAL;
	vm_lock(vm);
	a = handle_lookup_locked(vm, h);
	if (!a || !a->lock_count) {
		vm_unlock(vm);
		return a ? -EINVAL : -EBADF;
	}
	if (--a->lock_count == 0) {
		if (a->cpu && seg_is_local(a->seg) && vm->chip->unmap_local)
			vm->chip->unmap_local(vm->chip_ctx, a->cpu, a->size);
		a->cpu = NULL;
	}
	VIDMM_TRACE(&vm->tracer, unlock, VIDMM_TRACE_UNLOCK, h, 0, 0, 0);
	vm_unlock(vm);
	return 0;
}

int vidmm_evict(vidmm_t *vm, vidmm_handle_t h)
{
	struct vidmm_allocation *a;
	int ret;

	if (!vm)
		return -EINVAL;
	vm_lock(vm);
	a = handle_lookup_locked(vm, h);
	if (!a)
		ret = -EBADF;
	else if (a->moving && a->ra_queued)
		ret = 0; /* swapped, in a read-ahead window not started: not resident */
	else if (a->moving || pinned(a) || alloc_busy_locked(vm, a))
		ret = a->residency == VIDMM_RESIDENT || a->moving ? -EBUSY : 0;
	else if (a->residency != VIDMM_RESIDENT)
		ret = 0;
	else if (!alloc_own_idle(vm, a))
		ret = -EBUSY; /* a job was queued on it just now */
	else {
		VIDMM_TRACE(&vm->tracer, evict, VIDMM_TRACE_EVICT, h, a->size, VIDMM_EVICT_EXPLICIT,
			    a->seg - vm->seg);
		ret = page_out_locked(vm, a);
		alloc_release_locked(vm, a);
	}
	vm_unlock(vm);
	return ret;
}

int vidmm_wait_idle(vidmm_t *vm, uint64_t timeout_ns)
{
	uint64_t want[VIDMM_MAX_ENGINES];
	uint64_t deadline = now_ns() + timeout_ns;
	uint32_t n;
	int ret = 0;

	if (!vm)
		return -EINVAL;
	n = vm->engines.n_copy + vm->engines.n_job;
	vm_lock(vm);
	/* Read-ahead queued by the calls before this one is their work too. */
	ret = readahead_wait_idle_locked(vm, deadline);
	for (; !ret;) {
		uint64_t retries0 = vm->st.clear_retries + vm->st.pipeline_copy_retries;
		for (uint32_t e = 0; e < n; e++)
			want[e] = atomic_load(&vm->issued[e]);
		for (uint32_t e = 0; e < n && !ret; e++) {
			uint64_t now = now_ns();
			if (want[e])
				ret = fence_wait_unlocked(vm, e, want[e],
							  deadline > now ? deadline - now : 0);
		}
		/* A failed clear or pipelined page-in copy issued again
		 * since this pass read want[] (by the reap below, or by one
		 * in a vm_unlock while we waited) is earlier work: wait for
		 * it too. Other threads' new submits are not waited for. */
		residency_reap_locked(vm);
		bool more = vm->st.clear_retries + vm->st.pipeline_copy_retries != retries0;
		if (ret || !more)
			break;
		if (now_ns() >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	vm_unlock(vm);
	return ret ? -ETIMEDOUT : 0;
}

/* Install a test hook (fn NULL removes it) under the manager's lock. */
static int set_hook(vidmm_t *vm, void (**slot)(void *), void **slot_arg, void (*fn)(void *),
		    void *arg)
{
	vm_lock(vm);
	*slot = fn;
	*slot_arg = arg;
	vm_unlock(vm);
	return 0;
}

int vidmm_debug_locked_submit_hook(vidmm_t *vm, void (*fn)(void *), void *arg)
{
	return vm ? set_hook(vm, &vm->submit_hook, &vm->submit_hook_arg, fn, arg) : -EINVAL;
}

int vidmm_debug_evict_scan_hook(vidmm_t *vm, void (*fn)(void *), void *arg)
{
	return vm ? set_hook(vm, &vm->scan_hook, &vm->scan_hook_arg, fn, arg) : -EINVAL;
}

int vidmm_query_histogram(vidmm_t *vm, enum vidmm_hist_id id, struct vidmm_hist *out)
{
	if (!vm || !out || (unsigned)id > VIDMM_HIST_SWAP_READ_IO)
		return -EINVAL;
	vm_lock(vm);
	if ((unsigned)id < VIDMM_HIST_COUNT) {
		*out = vm->hist[id];
		if (id == VIDMM_HIST_SUBMIT)
			fast_submit_stats(vm, NULL, NULL, out); /* leaf locks, under vm->lock */
	} else if (vm->swap) {
		struct swap_stats *ss = malloc(sizeof(*ss));
		if (!ss) {
			vm_unlock(vm);
			return -ENOMEM;
		}
		swap_query_stats(vm->swap, ss);
		*out = id == VIDMM_HIST_SWAP_WRITE_IO ? ss->write_lat : ss->read_lat;
		free(ss);
	} else {
		vidmm_hist_init(out);
	}
	vm_unlock(vm);
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
	list_init(&vm->transit);
	list_init(&vm->windows);
	list_init(&vm->inflight);
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
	/* The GPU is idle by contract now: late copies are over. */
	list_for_each_safe(pos, tmp, &vm->inflight)
		inflight_free(vm, list_entry(pos, struct inflight, link));
	list_for_each_safe(pos, tmp, &vm->quarantine) {
		struct quarantine *q = list_entry(pos, struct quarantine, link);
		if (q->seg)
			heap_free(q->seg->heap, &q->node);
		if (q->pages.npages)
			sysmem_free(&vm->sysmem, &q->pages);
		list_del(&q->link);
		free(q);
	}
	list_for_each_safe(pos, tmp, &vm->windows) {
		struct paging_window *w = list_entry(pos, struct paging_window, link);
		heap_free(paging_seg(vm)->heap, &w->win);
		list_del(&w->link);
		free(w);
	}
	if (vm->staging.size) {
		gart_unmap(vm, vm->staging.start, vm->staging_pages.npages);
		sysmem_free(&vm->sysmem, &vm->staging_pages);
		heap_free(paging_seg(vm)->heap, &vm->staging);
		vm->staging.size = 0;
	}
	pthread_cond_destroy(&vm->moved);
}
