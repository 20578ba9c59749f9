/* SPDX-License-Identifier: MIT */
/*
 * reclaim.c - swapping out to disk (the note's vidmmi_do_swap_out), swapping
 * back in, and background reclaim of system pages.
 *
 * Owns: the manager's use of the swap store (core/swap.c owns the file, the
 * rings and the checksums), the system-cache and swapped lists' policy, the
 * reclaim thread and the swap counters. Must not: do I/O with vm->lock held
 * (allocations in flight are marked `moving` instead, as residency.c does for
 * copies), or touch GART entries.
 *
 * Who holds system pages: PCIe-resident allocations (their pages are their
 * data) and paged-out ones (EVICTED: the system-cache list, one LRU list per
 * priority). When the budget cannot satisfy a request, vidmmi_do_swap_out
 * writes EVICTED allocations to the swap file - lowest priority first, least
 * recently used first within one - in batches through one io_uring
 * submission pipeline, frees their pages and puts them on the swapped list
 * (enumerable, aged, counted; the original driver left them on no list).
 * When too few candidates remain it first pages idle PCIe-resident
 * allocations out (a GART unmap, no copy), which turns them into candidates:
 * in this design they are what the note's paging-segment allocations were.
 * On a failed write an allocation keeps its pages and stays where it was.
 * vidmm_swap_out of a resident allocation copies its data into fresh pages
 * and writes them while it stays resident; only once the write has
 * succeeded does it give up its range, so a failed call changes nothing.
 * Every loop is bounded.
 *
 * Swap-in (page-in or lock of a SWAPPED allocation) reads the data back into
 * fresh pages and verifies each extent's checksum: a mismatch is -EIO,
 * counted, and the allocation stays swapped (its slot is kept, so the bad
 * data is never handed out as good). It reads ahead (readahead.c owns what
 * and how far): the allocations written after it come back in the same
 * submission or on the read-ahead thread, so small allocations swapped out
 * together keep several reads in flight, and a reader in file order finds
 * the next window already on its way.
 *
 * Background reclaim: a thread sleeps on reclaim_cv; past the high watermark
 * of the client budget it swaps out cold EVICTED allocations down to the low
 * watermark (hysteresis), off the callers' paths.
 *
 * Locking: everything here runs under vm->lock except swap_write_many /
 * swap_read, which run with it dropped on allocations marked moving.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define MAX_BATCH 256 /* allocations per swap-out batch (one io_uring pipeline) */
#define MAX_ROUNDS 8

static uint64_t client_limit(const struct vidmm *vm)
{
	return vm->sysmem.budget - vm->sysmem.reserve;
}

static uint64_t client_free(const struct vidmm *vm)
{
	uint64_t lim = client_limit(vm);
	return vm->sysmem.used < lim ? lim - vm->sysmem.used : 0;
}

static uint32_t pct(uint32_t v, uint32_t dflt)
{
	return v && v <= 100 ? v : dflt;
}

uint64_t reclaim_high_mark(const struct vidmm *vm)
{
	return client_limit(vm) * pct(vm->cfg.reclaim_high_pct, 90) / 100;
}

static uint64_t low_mark(const struct vidmm *vm)
{
	uint64_t low = client_limit(vm) * pct(vm->cfg.reclaim_low_pct, 75) / 100;
	uint64_t high = reclaim_high_mark(vm);
	return low < high ? low : high;
}

/* The CPU view of a's pages as swap iovecs (one per extent). */
struct swap_iov *reclaim_pages_iov(struct vidmm *vm, const struct sys_pages *p)
{
	struct swap_iov *iov = calloc(p->n_ext ? p->n_ext : 1, sizeof(*iov));

	if (!iov)
		return NULL;
	for (uint32_t e = 0; e < p->n_ext; e++) {
		iov[e].base = sysmem_frame_cpu(&vm->sysmem, p->ext[e].node.start);
		iov[e].len = p->ext[e].node.size << vm->gart.geo.page_shift;
	}
	return iov;
}

static bool swappable(const struct vidmm_allocation *a)
{
	return a->residency == VIDMM_EVICTED && !a->moving && !a->destroyed &&
	       !a->lock_count && !a->op_pins && a->pages.npages &&
	       !(a->flags & VIDMM_ALLOC_UNPAGABLE);
}

/* a's data is safely in its slot: give its pages back and put it on the
 * swapped list. a is off every other list already. */
static void mark_swapped_locked(struct vidmm *vm, struct vidmm_allocation *a, uint64_t took_ns)
{
	sysmem_free(&vm->sysmem, &a->pages);
	a->residency = VIDMM_SWAPPED;
	a->swapped_ns = now_ns();
	a->ra_window = 0;
	a->ra_next = 0;
	list_add_tail(&a->cache, &vm->swapped);
	vm->st.swap_outs++;
	vm->st.bytes_swapped_out += a->size;
	vm->st.swapped_allocations++;
	vm->st.swapped_bytes += a->size;
	vidmm_hist_record(&vm->hist[VIDMM_HIST_SWAP_OUT], took_ns);
}

/*
 * Write cands[0..n) (EVICTED, swappable) to the swap file in one batch.
 * Returns the number of pages freed (>= 0) or a negative errno when nothing
 * could be written (-ENOSPC: the file is full).
 */
static int64_t swap_out_batch_locked(struct vidmm *vm, struct vidmm_allocation **cands,
				     uint32_t n, bool background)
{
	struct swap_req req[MAX_BATCH];
	struct swap_iov *iov[MAX_BATCH];
	uint32_t m = 0;
	int64_t freed = 0;
	int first_err = 0;

	for (uint32_t i = 0; i < n && i < MAX_BATCH; i++) {
		struct vidmm_allocation *a = cands[i];
		int r = swap_slot_alloc(vm->swap, a->size, &a->swp);
		if (r) {
			if (r == -ENOSPC)
				vm->st.swap_full++;
			first_err = first_err ? first_err : r;
			break;
		}
		iov[m] = reclaim_pages_iov(vm, &a->pages);
		if (!iov[m]) {
			swap_slot_free(vm->swap, &a->swp);
			first_err = first_err ? first_err : -ENOMEM;
			break;
		}
		req[m] = (struct swap_req){ .slot = &a->swp, .iov = iov[m], .niov = a->pages.n_ext };
		alloc_own(vm, a);
		cands[m++] = a;
	}
	if (!m)
		return first_err ? first_err : -ENOMEM;
	/* One batch, one id: swap-in reads the rest of a batch ahead. */
	uint64_t batch = ++vm->swap_batches;
	for (uint32_t i = 0; i < m; i++)
		cands[i]->swap_batch = batch;

	uint64_t t0 = now_ns(), bytes = 0, done = 0, done_bytes = 0;
	for (uint32_t i = 0; i < m; i++)
		bytes += cands[i]->size;
	VIDMM_TRACE(&vm->tracer, swap_out_begin, VIDMM_TRACE_SWAP_OUT_BEGIN, m, bytes, background, 0);
	vm_unlock(vm);
	swap_write_many(vm->swap, req, m);
	vm_lock(vm);
	uint64_t per = (now_ns() - t0) / m;

	for (uint32_t i = 0; i < m; i++) {
		struct vidmm_allocation *a = cands[i];
		free(iov[i]);
		if (req[i].result) {
			/* Keeps its pages; back where it was. */
			swap_slot_free(vm->swap, &a->swp);
			vm->st.swap_write_errors++;
			first_err = first_err ? first_err : req[i].result;
		} else {
			freed += (int64_t)a->pages.npages;
			done++;
			done_bytes += a->size;
			list_del(&a->cache);
			vm->st.evicted_allocations--;
			vm->st.evicted_bytes -= a->size;
			mark_swapped_locked(vm, a, per);
		}
		alloc_release_locked(vm, a);
	}
	VIDMM_TRACE(&vm->tracer, swap_out_end, VIDMM_TRACE_SWAP_OUT_END, done, done_bytes, first_err,
		    now_ns() - t0);
	return freed ? freed : first_err;
}

/* Pick up to MAX_BATCH swappable allocations covering want pages. */
static uint32_t pick_candidates(struct vidmm *vm, uint64_t want,
				struct vidmm_allocation **out)
{
	uint32_t n = 0;
	uint64_t pages = 0;

	for (int p = 0; p < VIDMM_PRIO_COUNT && pages < want && n < MAX_BATCH; p++)
		list_for_each(pos, &vm->evicted[p]) {
			struct vidmm_allocation *a = list_entry(pos, struct vidmm_allocation, cache);
			if (!swappable(a))
				continue;
			out[n++] = a;
			pages += a->pages.npages;
			if (pages >= want || n == MAX_BATCH)
				break;
		}
	return n;
}

/* Page idle, unpinned PCIe-resident allocations out (no copy: a GART unmap),
 * lowest priority and least recent first, until want pages are candidates. */
static uint64_t unresident_pcie_locked(struct vidmm *vm, uint64_t want)
{
	uint64_t got = 0;

	residency_drain_used_locked(vm); /* the policy's order, up to date */
	for (uint32_t s = 0; s < vm->nsegs && got < want; s++) {
		struct segment *seg = &vm->seg[s];
		if (!seg_is_pcie(seg) || seg_is_paging(seg))
			continue;
		for (int p = 0; p < VIDMM_PRIO_COUNT && got < want; p++)
			list_for_each_safe(pos, tmp, &seg->pagable[p]) {
				struct vidmm_allocation *a =
					list_entry(pos, struct vidmm_allocation, lru);
				if (a->lock_count || a->op_pins || a->moving || a->destroyed ||
				    alloc_busy_locked(vm, a))
					continue;
				uint64_t np = a->pages.npages;
				if (!alloc_own_idle(vm, a))
					continue;
				if (page_out_locked(vm, a) == 0)
					got += np;
				alloc_release_locked(vm, a);
				if (got >= want)
					break;
			}
	}
	return got;
}

/*
 * vidmmi_do_swap_out: swap out until need pages are free for clients.
 * background: only cold (EVICTED) allocations, nothing paged out for it.
 *
 * Bounded by progress, not by a round count: every round either swaps at
 * least one allocation out (it can never be a candidate again until it is
 * read back) or pages PCIe allocations out (which cannot recur without a
 * page-in), else it stops. A fixed count would give up with room still in
 * the file.
 */
static int do_swap_out_locked(struct vidmm *vm, uint64_t need, bool background)
{
	struct vidmm_allocation *cands[MAX_BATCH];
	int err = -ENOMEM;

	if (!vm->swap)
		return -ENOMEM;
	for (;;) {
		uint64_t free_now = client_free(vm);
		if (free_now >= need)
			return 0;
		uint64_t want = need - free_now;
		uint32_t n = pick_candidates(vm, want, cands);
		if (!n) {
			if (background || !unresident_pcie_locked(vm, want))
				return err;
			continue;
		}
		int64_t r = swap_out_batch_locked(vm, cands, n, background);
		if (r < 0) {
			err = (int)r == -ENOSPC ? -ENOMEM : (int)r;
			/* The file is full or failing: more rounds will not help. */
			return err;
		}
		if (background && r > 0)
			vm->st.reclaimed_bytes += (uint64_t)r << vm->gart.geo.page_shift;
	}
}

/*
 * System pages that are already given up but not yet free: allocations
 * destroyed while busy (a clear on create still queued, a job still
 * reading), quarantined frames, and the source pages of pipelined page-ins. They come back when their fences
 * signal, so a request they would satisfy waits for those fences, bounded
 * by the fence timeout and with vm->lock dropped, rather than fail with
 * -ENOMEM while the memory is on its way back. A fence that has already
 * made one such wait time out (a hung copy, a long job) is not waited for
 * again: a caller paging victims out one by one would otherwise wait a
 * fence timeout per victim. False when nothing worth waiting for is
 * pending.
 */
static bool wait_pending_frees_locked(struct vidmm *vm, uint64_t npages)
{
	uint64_t want[VIDMM_MAX_ENGINES] = { 0 };
	uint32_t n = vm->engines.n_copy + vm->engines.n_job;
	uint64_t deadline = now_ns() + fence_timeout(vm), pending = 0;

	list_for_each(pos, &vm->deferred) {
		struct vidmm_allocation *a = list_entry(pos, struct vidmm_allocation, lru);
		if (!a->pages.npages)
			continue;
		for (uint32_t e = 0; e < n; e++) {
			uint64_t f = a->read_fence[e] > a->write_fence[e] ? a->read_fence[e]
									   : a->write_fence[e];
			if (f > want[e])
				want[e] = f;
		}
		pending += a->pages.npages;
	}
	list_for_each(pos, &vm->quarantine) {
		struct quarantine *q = list_entry(pos, struct quarantine, link);
		if (!q->pages.npages)
			continue;
		for (uint32_t e = 0; e < n; e++)
			if (q->fence[e] > want[e])
				want[e] = q->fence[e];
		pending += q->pages.npages;
	}
	/* The source pages of pipelined page-ins still copying. */
	list_for_each(pos, &vm->inflight) {
		struct inflight *fl = list_entry(pos, struct inflight, link);
		for (uint32_t i = 0; i < fl->n; i++)
			if (fl->w[i]->fence > want[fl->w[i]->engine])
				want[fl->w[i]->engine] = fl->w[i]->fence;
		pending += fl->pages.npages;
	}
	/* Only when they would satisfy the request, and only for fences not
	 * already known to be slow. */
	if (!pending || client_free(vm) + pending < npages)
		return false;
	bool worth = false;
	for (uint32_t e = 0; e < n; e++)
		worth |= want[e] > vm->pending_free_slow[e];
	if (!worth)
		return false;
	/* The lists may change while unlocked: the fences seen now are what
	 * is waited for, and the reap frees whatever is idle by then. */
	for (uint32_t e = 0; e < n; e++) {
		uint64_t now = now_ns();
		if (!want[e] || want[e] <= vm->pending_free_slow[e])
			continue;
		if (now >= deadline ||
		    fence_wait_unlocked(vm, e, want[e], deadline - now) == -ETIMEDOUT) {
			if (want[e] > vm->pending_free_slow[e])
				vm->pending_free_slow[e] = want[e];
		}
	}
	residency_reap_locked(vm);
	return true;
}

int alloc_pages_locked(struct vidmm *vm, uint64_t npages, bool contiguous,
		       struct sys_pages *out)
{
	int ret = -ENOMEM;
	bool waited = false;

	for (int round = 0; round < MAX_ROUNDS; round++) {
		ret = sysmem_alloc(&vm->sysmem, npages, contiguous, false, out);
		if (ret != -ENOMEM)
			break;
		/* Finished pipelined page-ins give their source pages back
		 * first: that costs no I/O. */
		if (!list_empty(&vm->inflight)) {
			residency_reap_locked(vm);
			ret = sysmem_alloc(&vm->sysmem, npages, contiguous, false, out);
			if (ret != -ENOMEM)
				break;
		}
		if (vm->swap && !do_swap_out_locked(vm, npages, false))
			continue;
		/* Pages taken for read-ahead not started yet are a guess:
		 * they go before anybody waits. */
		if (readahead_cancel_queued_locked(vm))
			continue;
		/* Nothing (more) to swap out: memory on its way back is waited
		 * for once. */
		if (waited || !wait_pending_frees_locked(vm, npages))
			break;
		waited = true;
	}
	if (ret == 0 && vm->reclaim_running && vm->sysmem.used > reclaim_high_mark(vm))
		pthread_cond_signal(&vm->reclaim_cv);
	return ret;
}

/* a's data is back in its pages: off the swapped list, onto the system
 * cache as EVICTED, its slot free. */
void reclaim_mark_swapped_in_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	swap_slot_free(vm->swap, &a->swp);
	vm->swap_slots_freed++;
	list_del(&a->cache);
	vm->st.swapped_allocations--;
	vm->st.swapped_bytes -= a->size;
	a->residency = VIDMM_EVICTED;
	list_add_tail(&a->cache, &vm->evicted[a->priority]);
	vm->st.evicted_allocations++;
	vm->st.evicted_bytes += a->size;
	vm->st.swap_ins++;
	vm->st.bytes_swapped_in += a->size;
}

/*
 * Read a (owned, SWAPPED) back into fresh pages, with what readahead.c
 * picks to read with it in one submission. Allocations read ahead come back
 * in memory (EVICTED) or, if their read failed, stay as they were: that is
 * not this call's error, their own swap-in tries again.
 */
int swap_in_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	uint64_t t0 = now_ns();
	/* A large allocation is a large read already: reading more with it
	 * only makes its caller wait longer (measured: 2 MiB swap-in p50
	 * 1.5 -> 4.1 ms for no throughput); readahead.c reads after it
	 * asynchronously instead. Without memory for the read-ahead's arrays,
	 * no read-ahead either: a alone. */
	struct readahead *rs = a->size < SWAP_READAHEAD_BELOW ? malloc(sizeof(*rs)) : NULL;
	struct swap_req req1, *req = rs ? rs->req : &req1;
	struct swap_iov *iov1, **iov = rs ? rs->iov : &iov1;
	uint32_t nra = 0;
	int ret;

	VIDMM_TRACE(&vm->tracer, swap_in_begin, VIDMM_TRACE_SWAP_IN_BEGIN, alloc_handle(a), a->size,
		    0, 0);
	/* The caller owns a: nothing else touches it while the lock drops. */
	ret = alloc_pages_locked(vm, a->size >> vm->gart.geo.page_shift, false, &a->pages);
	if (ret)
		goto out;
	iov[0] = reclaim_pages_iov(vm, &a->pages);
	if (!iov[0]) {
		sysmem_free(&vm->sysmem, &a->pages);
		ret = -ENOMEM;
		goto out;
	}
	req[0] = (struct swap_req){ .slot = &a->swp, .iov = iov[0], .niov = a->pages.n_ext };
	/* After a's pages: taking them may have dropped the lock. */
	if (rs) {
		readahead_pick_locked(vm, a, rs);
		nra = rs->n;
	}
	vm_unlock(vm);
	if (nra)
		swap_read_many(vm->swap, req, nra + 1);
	else
		req[0].result = swap_read(vm->swap, &a->swp, iov[0], a->pages.n_ext);
	vm_lock(vm);
	free(iov[0]);
	if (rs)
		readahead_finish_locked(vm, rs, false);
	if (req[0].result) {
		/* Stays swapped with its slot: bad data is not handed out. */
		sysmem_free(&vm->sysmem, &a->pages);
		vm->st.swap_read_errors++;
		ret = -EIO;
		goto out;
	}
	if (!nra)
		readahead_after_single_locked(vm, a); /* while a is on the swapped list */
	reclaim_mark_swapped_in_locked(vm, a);
	vidmm_hist_record(&vm->hist[VIDMM_HIST_SWAP_IN], now_ns() - t0);
out:
	free(rs);
	VIDMM_TRACE(&vm->tracer, swap_in_end, VIDMM_TRACE_SWAP_IN_END, alloc_handle(a), a->size, ret,
		    now_ns() - t0);
	return ret;
}

static void *reclaim_main(void *arg)
{
	struct vidmm *vm = arg;

	pthread_setname_np(pthread_self(), "vidmm-reclaim");
	vm_lock(vm);
	while (!vm->reclaim_stop) {
		/* After the file filled up, wait for a slot to be freed (a
		 * swap-in or a destroy) rather than retrying every period. */
		bool blocked = vm->reclaim_blocked && vm->swap_slots_freed == vm->reclaim_blocked_gen;
		if (!blocked && vm->sysmem.used > reclaim_high_mark(vm)) {
			uint64_t target_free = client_limit(vm) - low_mark(vm);
			uint64_t before = vm->st.swap_outs, full = vm->st.swap_full;
			VIDMM_TRACE(&vm->tracer, reclaim_begin, VIDMM_TRACE_RECLAIM_BEGIN,
				    vm->sysmem.used, target_free, 0, 0);
			int r = do_swap_out_locked(vm, target_free, true);
			VIDMM_TRACE(&vm->tracer, reclaim_end, VIDMM_TRACE_RECLAIM_END, vm->sysmem.used,
				    r, vm->st.swap_outs - before, 0);
			if (vm->st.swap_outs != before)
				vm->st.reclaim_runs++;
			vm->reclaim_blocked = vm->st.swap_full != full;
			vm->reclaim_blocked_gen = vm->swap_slots_freed;
		}
		if (!vm->reclaim_stop)
			vm_cond_wait_ms(vm, &vm->reclaim_cv, 100);
	}
	vm_unlock(vm);
	return NULL;
}

int reclaim_init(struct vidmm *vm, char *err, size_t err_len)
{
	struct swap_config c = {
		.dir = vm->cfg.swap_dir,
		.size = vm->cfg.swap_size,
		.queue_depth = vm->cfg.swap_queue_depth,
		.force_buffered = vm->cfg.swap_force_buffered,
		.tracer = &vm->tracer,
	};
	int ret;

	pthread_cond_init(&vm->reclaim_cv, NULL);
	if (!vm->cfg.swap_size)
		return 0;
	ret = swap_open(&c, &vm->swap, err, err_len);
	switch (ret) {
	case 0:
		break;
	case -EINVAL: case -ENOMEM: case -ENOENT: case -ENOTDIR: case -EACCES:
	case -EPERM: case -EROFS: case -ENAMETOOLONG: case -ENOSPC:
		return ret; /* the documented ones (vidmm.h, vidmm_init) */
	default:
		return -EIO;
	}
	swap_register_region(vm->swap, sysmem_frame_cpu(&vm->sysmem, vm->sysmem.first_pfn),
			     vm->sysmem.npages << vm->sysmem.page_shift);
	ret = readahead_start(vm);
	if (ret) {
		swap_close(vm->swap);
		vm->swap = NULL;
		return ret;
	}
	if (!vm->cfg.no_background_reclaim) {
		ret = pthread_create(&vm->reclaim_thread, NULL, reclaim_main, vm);
		if (ret) {
			readahead_stop(vm);
			swap_close(vm->swap);
			vm->swap = NULL;
			return -ret;
		}
		vm->reclaim_running = true;
	}
	return 0;
}

void reclaim_stop(struct vidmm *vm)
{
	/* The read-ahead thread too: it must not read what is being destroyed. */
	readahead_stop(vm);
	if (!vm->reclaim_running)
		return;
	vm_lock(vm);
	vm->reclaim_stop = true;
	pthread_cond_signal(&vm->reclaim_cv);
	vm_unlock(vm);
	pthread_join(vm->reclaim_thread, NULL);
	vm->reclaim_running = false;
}

void reclaim_fini(struct vidmm *vm)
{
	reclaim_stop(vm);
	if (vm->swap)
		swap_close(vm->swap);
	vm->swap = NULL;
	pthread_cond_destroy(&vm->reclaim_cv);
}

void reclaim_query_stats(struct vidmm *vm, struct vidmm_stats *out)
{
	struct swap_stats ss;

	if (!vm->swap)
		return;
	swap_query_stats(vm->swap, &ss);
	out->swap_file_bytes = ss.file_size;
	out->swap_used_bytes = ss.used_bytes;
	out->swap_checksum_failures = ss.checksum_failures;
	memcpy(out->swap_injected, ss.injected_by, sizeof(out->swap_injected));
	out->swap_queue_depth_reached = ss.qd_reached;
	out->swap_read_queue_depth_reached = ss.read_qd_reached;
	out->swap_ring_flags = ss.ring_flags;
	snprintf(out->swap_io_mode, sizeof(out->swap_io_mode), "%s", ss.io_mode ? ss.io_mode : "");
	snprintf(out->swap_buffer_mode, sizeof(out->swap_buffer_mode), "%s",
		 ss.buffer_mode ? ss.buffer_mode : "");
}

/* ---- public calls ------------------------------------------------------------ */

/*
 * Swap out a, which the caller owns and which is idle, unpinned and pagable,
 * wherever it is. Its data is written from its pages (a local resident one
 * is first copied into fresh pages, staying resident); its range and pages
 * are given up only after the write succeeded. On error it is as it was.
 */
static int swap_out_owned(struct vidmm *vm, struct vidmm_allocation *a)
{
	bool local = a->residency == VIDMM_RESIDENT && seg_is_local(a->seg);
	struct swap_iov *iov;
	uint64_t t0 = now_ns();
	int ret;

	/* Room in the file first: a full file changes nothing. */
	ret = swap_slot_alloc(vm->swap, a->size, &a->swp);
	if (ret) {
		if (ret == -ENOSPC)
			vm->st.swap_full++;
		return ret == -ENOSPC ? -ENOSPC : -ENOMEM;
	}
	if (local) {
		ret = copy_out_locked(vm, a);
		if (ret)
			goto err_slot;
	}
	iov = reclaim_pages_iov(vm, &a->pages);
	if (!iov) {
		ret = -ENOMEM;
		goto err_pages;
	}
	vm_unlock(vm);
	ret = swap_write(vm->swap, &a->swp, iov, a->pages.n_ext);
	vm_lock(vm);
	free(iov);
	if (ret) {
		vm->st.swap_write_errors++;
		ret = -EIO;
		goto err_pages;
	}
	if (a->residency == VIDMM_RESIDENT) {
		struct segment *s = a->seg;
		if (!local)
			gart_unmap(vm, a->node.start, a->pages.npages);
		heap_free(s->heap, &a->node);
		segment_list_del(s, a);
		a->seg = NULL;
		vm->st.page_outs++;
		vm->st.bytes_paged_out += a->size;
		vm->st.evictions_by_priority[a->priority]++;
		a->last_out_ns = now_ns();
	} else {
		list_del(&a->cache);
		vm->st.evicted_allocations--;
		vm->st.evicted_bytes -= a->size;
	}
	/* A batch of one: read ahead of it only by a reader already in order
	 * whose next slot follows in the file (pick_readahead_locked). */
	a->swap_batch = ++vm->swap_batches;
	mark_swapped_locked(vm, a, now_ns() - t0);
	return 0;

err_pages:
	if (local)
		sysmem_free(&vm->sysmem, &a->pages);
err_slot:
	swap_slot_free(vm->swap, &a->swp);
	vm->swap_slots_freed++;
	return ret;
}

int vidmm_swap_out(vidmm_t *vm, vidmm_handle_t h)
{
	struct vidmm_allocation *a;
	int ret = 0;

	if (!vm)
		return -EINVAL;
	vm_lock(vm);
	a = handle_lookup_locked(vm, h);
	if (!a) {
		ret = -EBADF;
	} else if (!vm->swap) {
		ret = -ENODEV;
	} else if (a->moving && a->ra_queued) {
		/* swapped, and a guess was about to read it back: no more */
		readahead_drop_locked(vm, a);
	} else if (a->moving || a->lock_count || a->op_pins ||
		   (a->flags & VIDMM_ALLOC_UNPAGABLE) || alloc_busy_locked(vm, a)) {
		ret = a->residency == VIDMM_SWAPPED && !a->moving ? 0 : -EBUSY;
	} else if (a->residency != VIDMM_SWAPPED) {
		if (!alloc_own_idle(vm, a)) {
			vm_unlock(vm);
			return -EBUSY; /* a job was queued on it just now */
		}
		ret = swap_out_owned(vm, a);
		if (alloc_release_locked(vm, a) && !ret)
			ret = -EBADF;
	}
	vm_unlock(vm);
	return ret;
}

int vidmm_query_swapped(vidmm_t *vm, struct vidmm_swapped_info *out, uint32_t max,
			uint32_t *count)
{
	uint32_t n = 0;
	uint64_t now = now_ns();

	if (!vm || !count || (!out && max))
		return -EINVAL;
	vm_lock(vm);
	list_for_each(pos, &vm->swapped) {
		struct vidmm_allocation *a = list_entry(pos, struct vidmm_allocation, cache);
		if (a->destroyed)
			continue;
		if (n < max) {
			out[n].handle = alloc_handle(a);
			out[n].size = a->size;
			out[n].priority = a->priority;
			out[n].age_ns = now - a->swapped_ns;
		}
		n++;
	}
	*count = n;
	vm_unlock(vm);
	return 0;
}

int vidmm_debug_swap_inject(vidmm_t *vm, bool on_write, int err, unsigned n)
{
	if (!vm || !vm->swap)
		return -ENODEV;
	swap_inject_error(vm->swap, on_write, err, n);
	return 0;
}

int vidmm_debug_swap_fault(vidmm_t *vm, enum vidmm_swap_fault kind, double p, uint64_t seed)
{
	if (!vm || !vm->swap)
		return -ENODEV;
	if ((unsigned)kind >= VIDMM_SWAP_FAULT_KINDS || !(p >= 0.0 && p <= 1.0))
		return -EINVAL;
	switch (kind) {
	case VIDMM_SWAP_FAULT_WRITE:
	case VIDMM_SWAP_FAULT_READ:
		swap_inject_random(vm->swap, kind == VIDMM_SWAP_FAULT_WRITE, -EIO, p, seed);
		break;
	case VIDMM_SWAP_FAULT_SHORT:
		swap_inject_random(vm->swap, true, 0, p, seed);
		swap_inject_random(vm->swap, false, 0, p, seed + 1);
		break;
	default:
		swap_inject_full_corrupt(vm->swap, kind == VIDMM_SWAP_FAULT_CORRUPT, p, seed);
		break;
	}
	return 0;
}

int vidmm_debug_swap_fd(vidmm_t *vm)
{
	return vm && vm->swap ? swap_test_fd(vm->swap) : -ENODEV;
}
