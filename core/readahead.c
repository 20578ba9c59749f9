/* SPDX-License-Identifier: MIT */
/*
 * readahead.c - reading swapped allocations back before anyone asks: the
 * read-ahead window, its markers on the allocations, and the read-ahead
 * thread.
 *
 * Owns: which swapped allocations a swap-in reads with it and how far, the
 * two markers (ra_window on a swapped allocation, ra_next on one read ahead
 * and not yet used), and the asynchronous read-ahead thread with its queue.
 * Must not: swap anything out or take pages past the reclaim high watermark
 * (read-ahead is a guess; it never makes room for itself), do I/O with
 * vm->lock held, or fail a caller: a read-ahead that fails leaves its
 * allocations swapped, and their own swap-in reads them again.
 *
 * The kernel's on-demand read-ahead in small, by file position, not a guess
 * about what belongs together:
 *
 *  - Synchronous (readahead_pick_locked, for allocations smaller than
 *    SWAP_READAHEAD_BELOW): a swap-in reads, in the same submission as its
 *    own data, the allocations swapped out in its batch right after it, up
 *    to the window; for a reader already in order (the allocation carries
 *    the marker) also those of later batches, as long as each one's data
 *    starts where the one before ends in the file.
 *
 *  - The window ramps as the kernel's does, with its marker: a read-ahead
 *    leaves its window on the swapped allocation it stopped before
 *    (ra_window), and a swap-in of that one (the reader went past the
 *    read-ahead, in order) doubles it, from SWAP_READAHEAD_MIN_BYTES up to
 *    SWAP_READAHEAD_MAX_BYTES; any other swap-in starts at the minimum. The
 *    state lives on the allocations, so clients reading different sets ramp
 *    each on its own, and an allocation swapped out again starts unmarked.
 *
 *  - Asynchronous (the kernel's PG_readahead): the first allocation a
 *    read-ahead brought carries a trigger (ra_next, the handle of the
 *    allocation the read-ahead stopped before). The reader's first use of
 *    it takes the next window, starting at that allocation (owned, pages
 *    taken, under the reader's lock: a reader faster than the thread's
 *    wake-up then waits for the thread's reads rather than reading the same
 *    data itself), and queues it for the read-ahead thread, which reads it
 *    on its own ring while the reader consumes what the last window
 *    brought, and puts the trigger on the first of what it read. Its
 *    window ramps two steps further, to SWAP_READAHEAD_ASYNC_MAX_BYTES. A reader that keeps consuming in order thus
 *    finds the disk already reading the window after the one it is in, and
 *    never waits for a whole window once the stream runs. A swap-in of one
 *    large allocation (no synchronous read-ahead: it is a large read
 *    already, and reading more with it only delays its caller) by a reader
 *    in order queues the allocation after it at once. Nothing is queued for
 *    a reader that jumps: the trigger sits on data it did not use.
 *
 * A synchronous swap-in of a reader that caught up with the thread finds
 * the allocations it needs owned (moving) by the thread and waits for them
 * as for any mover: the data is read once. The thread releases each one as
 * its read finishes (swap_read_many_each), not the window as a whole, so
 * that reader waits for its own allocation only.
 *
 * Locking: everything runs under vm->lock but the thread's reads, which run
 * with it dropped on allocations it owns (moving), as every swap-in's do;
 * the store's hand-back (window_part_read) takes it between two reaps of
 * the thread's ring, never across an I/O wait.
 * The queue is vm->ra (at most 8 windows picked and owned; a reader that
 * finds it full reads for itself), under vm->lock; the thread sleeps on
 * vm->ra.cv. vidmm_wait_idle waits for the queue to drain (vm->moved is
 * broadcast when the thread finishes a window); vidmm_destroy stops the
 * thread first, and what is still queued goes back unread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define RA_QUEUE ((uint32_t)(sizeof(((struct vidmm *)0)->ra.q) / sizeof(((struct vidmm *)0)->ra.q[0])))

/* Where a slot's data ends in the file (0: no extents). */
static uint64_t slot_end(const struct swap_slot *s)
{
	return s->n_ext ? s->ext[s->n_ext - 1].off + s->ext[s->n_ext - 1].len : 0;
}

/*
 * The thread's window ramps two steps further: nobody waits for the whole
 * of it at once, so a window should hold more than the store's queue depth
 * in large allocations' I/Os (32 x 2 MiB). With 32 MiB, 2 MiB swap-in kept 6
 * requests in flight at the device and ran at 0.74x raw; with 64 MiB, 11.6
 * and 1.03x (swap_bench, same run order). The stream (window_more) takes
 * the next window onto the ring only once it is queued, which is when the
 * reader reaches this one: at 64 MiB the disk still averaged 12.5 requests
 * in flight to raw's 17; at 128 MiB 13.1, and 2 MiB swap-in went from 0.90
 * to 0.96 of raw at the median of 8 alternating swap_bench pairs (higher in
 * 6). Pages past the reclaim high watermark are never taken for it.
 */
#define SWAP_READAHEAD_ASYNC_MAX_BYTES (4 * SWAP_READAHEAD_MAX_BYTES)

/* The window after one of marked bytes (0: none before), up to cap. */
static uint64_t next_window(uint64_t marked, uint64_t cap)
{
	uint64_t w = marked ? marked * 2 : SWAP_READAHEAD_MIN_BYTES;

	return w > cap ? cap : w;
}

/* Whether b comes next for a read-ahead: in batch, or, for a reader already
 * in order, with its data starting where the last one's ends in the file
 * (the kernel's sequential read-ahead, not a guess). */
static bool continues(const struct vidmm_allocation *b, uint64_t batch, uint64_t prev_end,
		      bool in_order)
{
	return b->swap_batch == batch || (in_order && b->swp.n_ext && b->swp.ext[0].off == prev_end);
}

/*
 * Walk the swapped list from pos, taking into rs (emptied first) the
 * allocations of batch, and for a reader in order those whose data follows
 * in the file, up to window bytes; own them and take their pages. The first
 * one not taken gets the window as its marker. Skipped ones (busy, locked)
 * count towards neither the count nor the window; the walk is bounded.
 */
static void pick_from_locked(struct vidmm *vm, struct list_head *pos, uint64_t batch,
			     uint64_t prev_end, bool in_order, uint64_t window,
			     struct readahead *rs)
{
	uint64_t bytes = 0, shift = vm->gart.geo.page_shift;
	uint32_t visited = 0;

	rs->n = 0;
	rs->stop = 0;
	rs->triggered = false;
	for (; pos != &vm->swapped && rs->n < SWAP_READAHEAD_MAX && visited < 2 * SWAP_READAHEAD_MAX;
	     pos = pos->next, visited++) {
		struct vidmm_allocation *b = list_entry(pos, struct vidmm_allocation, cache);
		uint64_t np = b->size >> shift;

		if (!continues(b, batch, prev_end, in_order) || bytes + b->size > window)
			break;
		prev_end = slot_end(&b->swp);
		if (b->moving || b->destroyed || b->lock_count || b->op_pins || !b->swp.valid)
			continue;
		if (vm->sysmem.used + np > reclaim_high_mark(vm) ||
		    sysmem_alloc(&vm->sysmem, np, false, false, &b->pages))
			break;
		struct swap_iov *iov = reclaim_pages_iov(vm, &b->pages);
		if (!iov) {
			sysmem_free(&vm->sysmem, &b->pages);
			break;
		}
		rs->iov[rs->n + 1] = iov;
		rs->req[rs->n + 1] = (struct swap_req){ .slot = &b->swp, .iov = iov,
							.niov = b->pages.n_ext };
		alloc_own(vm, b);
		rs->ra[rs->n++] = b;
		bytes += b->size;
	}
	if (pos != &vm->swapped) {
		struct vidmm_allocation *m = list_entry(pos, struct vidmm_allocation, cache);

		m->ra_window = window;
		rs->stop = alloc_handle(m);
	}
}

void readahead_pick_locked(struct vidmm *vm, struct vidmm_allocation *a, struct readahead *rs)
{
	pick_from_locked(vm, a->cache.next, a->swap_batch, slot_end(&a->swp), a->ra_window != 0,
			 next_window(a->ra_window, SWAP_READAHEAD_MAX_BYTES), rs);
}

/* Release entry i of rs without reading it: as it was, swapped. */
static void give_back_locked(struct vidmm *vm, struct readahead *rs, uint32_t i)
{
	struct vidmm_allocation *b = rs->ra[i];

	free(rs->iov[i + 1]);
	sysmem_free(&vm->sysmem, &b->pages);
	b->ra_queued = NULL;
	alloc_release_locked(vm, b);
}

static void cancel_locked(struct vidmm *vm, struct readahead *rs)
{
	for (uint32_t i = 0; i < rs->n; i++)
		give_back_locked(vm, rs, i);
	rs->n = 0;
}

static void finish_range_locked(struct vidmm *vm, struct readahead *rs, uint32_t from,
				uint32_t to, bool async);

static struct readahead *dequeue_locked(struct vidmm *vm);

/* rs is read from now on: a user waits for its allocations as for any
 * mover. */
static void window_started_locked(struct vidmm *vm, struct readahead *rs)
{
	rs->vm = vm;
	for (uint32_t i = 0; i < rs->n; i++)
		rs->ra[i]->ra_queued = NULL;
}

static void window_done_locked(struct vidmm *vm, struct readahead *rs)
{
	free(rs); /* every entry was finished as it was handed back */
	vm->ra.done++;
	pthread_cond_broadcast(&vm->moved);
}

/* The store hands a window's allocations back as their reads finish: each
 * goes to its reader at once, not when the last of the window is read (a
 * reader in order waited for whole windows, up to 128 MiB), and the first one's
 * trigger queues the next window while this one is still being read. */
static void window_part_read(void *arg, unsigned first, unsigned count)
{
	struct readahead *rs = arg;
	struct vidmm *vm = rs->vm;

	vm_lock(vm);
	finish_range_locked(vm, rs, first, first + count, true);
	if (first + count == rs->n)
		window_done_locked(vm, rs); /* broadcasts */
	else
		pthread_cond_broadcast(&vm->moved);
	vm_unlock(vm);
}

/* The thread's stream asks for its next window once this one's reads are
 * all started: the queue's head, taken as the thread's loop would take it,
 * so the disk reads on into it instead of draining between windows (a
 * 64 MiB window of 2 MiB allocations is the whole queue depth: read one
 * call per window, the queue emptied at the end of each). */
static unsigned window_more(void *more_arg, struct swap_req **reqs, void **arg)
{
	struct vidmm *vm = more_arg;
	struct readahead *rs = NULL;

	vm_lock(vm);
	while (!rs && vm->ra.count && !vm->ra.stop && !vm->ra.held) {
		rs = dequeue_locked(vm);
		window_started_locked(vm, rs);
		if (!rs->n) {
			window_done_locked(vm, rs);
			rs = NULL;
		}
	}
	vm_unlock(vm);
	if (!rs)
		return 0;
	*reqs = rs->req + 1;
	*arg = rs;
	return rs->n;
}

/* The thread's side (stream: and the windows queued behind, as it gets to
 * them) and a user's (just rs): rs leaves the queue (or was just taken from
 * its head) and is read now on the calling thread's ring. */
static void read_window_locked(struct vidmm *vm, struct readahead *rs, bool stream)
{
	const struct swap_stream st = { .done = window_part_read,
					.more = stream ? window_more : NULL,
					.more_arg = vm };

	window_started_locked(vm, rs);
	if (!rs->n) {
		window_done_locked(vm, rs);
		return;
	}
	/* No swap_in trace event: those are a caller's swap-ins (and their
	 * read-ahead); these reads are on the store's I/O events. rs is freed
	 * when its last allocation is handed back. */
	vm_unlock(vm);
	swap_read_stream(vm->swap, rs->req + 1, rs->n, rs, &st);
	vm_lock(vm);
}

bool readahead_run_queued_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	struct readahead *rs = a->ra_queued;
	uint32_t k = 0;

	while (k < vm->ra.count && vm->ra.q[(vm->ra.head + k) % RA_QUEUE] != rs)
		k++;
	if (k == vm->ra.count)
		return false; /* not queued: cannot happen (ra_queued is exact) */
	/* Next for an idle thread, which is waking up for it: waiting keeps
	 * the read overlapped with this reader's work (a reader in order
	 * catches up with every window it queued; reading them itself took
	 * 64 KiB swap-in from 0.90x to 0.80x raw). Behind another window, or
	 * with the thread held, it reads the window itself. So does a reader
	 * that gets here in the moment between the thread handing back the
	 * last of its window and taking this one: waiting for the thread there
	 * too measured no different (5 swap_bench invocations per build). */
	if (k == 0 && !vm->ra.busy && !vm->ra.held)
		return false;
	for (; k + 1 < vm->ra.count; k++)
		vm->ra.q[(vm->ra.head + k) % RA_QUEUE] = vm->ra.q[(vm->ra.head + k + 1) % RA_QUEUE];
	vm->ra.count--;
	read_window_locked(vm, rs, false);
	return true;
}

void readahead_drop_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	struct readahead *rs = a->ra_queued;
	uint32_t i = 0;

	while (i < rs->n && rs->ra[i] != a)
		i++;
	if (i == rs->n)
		return; /* cannot happen: ra_queued is exact */
	give_back_locked(vm, rs, i);
	/* the rest keep their file order */
	memmove(&rs->ra[i], &rs->ra[i + 1], (rs->n - i - 1) * sizeof(rs->ra[0]));
	memmove(&rs->req[i + 1], &rs->req[i + 2], (rs->n - i - 1) * sizeof(rs->req[0]));
	memmove(&rs->iov[i + 1], &rs->iov[i + 2], (rs->n - i - 1) * sizeof(rs->iov[0]));
	rs->n--;
}

bool readahead_cancel_queued_locked(struct vidmm *vm)
{
	bool any = false;

	for (uint32_t k = 0; k < vm->ra.count; k++) {
		struct readahead *rs = vm->ra.q[(vm->ra.head + k) % RA_QUEUE];

		any |= rs->n != 0;
		cancel_locked(vm, rs);
	}
	return any;
}

/*
 * Start the asynchronous read-ahead from the swapped allocation h, which a
 * reader in order is heading for: pick and own the window now, under the
 * caller's lock, so that the reader, arriving there before the thread has
 * even woken, waits for the thread's reads instead of reading the same
 * data itself; the thread only does the I/O.
 */
static void enqueue_locked(struct vidmm *vm, vidmm_handle_t h)
{
	if (!vm->ra.running || vm->ra.stop || vm->ra.paused || vm->ra.count == RA_QUEUE)
		return; /* a full queue: readers outrun the disk, their own swap-ins read */
	struct vidmm_allocation *m = handle_lookup_locked(vm, h);
	/* Gone, already back (its reader got there first), or swapped out
	 * again since it was marked (the mark went with it). */
	if (!m || m->residency != VIDMM_SWAPPED || !m->ra_window || m->moving || !m->swp.n_ext)
		return;
	struct readahead *rs = malloc(sizeof(*rs));
	if (!rs)
		return;
	pick_from_locked(vm, &m->cache, m->swap_batch, m->swp.ext[0].off, true,
			 next_window(m->ra_window, SWAP_READAHEAD_ASYNC_MAX_BYTES), rs);
	if (!rs->n) {
		free(rs);
		return;
	}
	for (uint32_t i = 0; i < rs->n; i++)
		rs->ra[i]->ra_queued = rs;
	vm->ra.q[(vm->ra.head + vm->ra.count++) % RA_QUEUE] = rs;
	vm->ra.queued++;
	pthread_cond_signal(&vm->ra.cv);
}

/* Entries [from, to) of rs are read (or failed): back in memory, or as
 * they were. */
static void finish_range_locked(struct vidmm *vm, struct readahead *rs, uint32_t from,
				uint32_t to, bool async)
{
	for (uint32_t i = from; i < to; i++) {
		struct vidmm_allocation *b = rs->ra[i];

		free(rs->iov[i + 1]);
		if (rs->req[i + 1].result) {
			/* counted like any failed read, though no caller saw it */
			sysmem_free(&vm->sysmem, &b->pages);
			vm->st.swap_read_errors++;
		} else {
			reclaim_mark_swapped_in_locked(vm, b);
			vm->st.swap_readaheads++;
			if (async)
				vm->st.swap_async_readaheads++;
			/* The trigger: on the first one back, which the reader
			 * in order uses next. */
			if (!rs->triggered && rs->stop && vm->ra.running && !vm->ra.paused)
				b->ra_next = rs->stop;
			rs->triggered = true;
		}
		alloc_release_locked(vm, b);
	}
}

void readahead_finish_locked(struct vidmm *vm, struct readahead *rs, bool async)
{
	finish_range_locked(vm, rs, 0, rs->n, async);
	rs->n = 0;
}

void readahead_after_single_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	struct list_head *pos = a->cache.next;

	if (pos == &vm->swapped)
		return;
	struct vidmm_allocation *b = list_entry(pos, struct vidmm_allocation, cache);

	if (!continues(b, a->swap_batch, slot_end(&a->swp), a->ra_window != 0))
		return;
	b->ra_window = next_window(a->ra_window, SWAP_READAHEAD_MAX_BYTES);
	if (a->ra_window)
		enqueue_locked(vm, alloc_handle(b));
}

void readahead_used_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	vidmm_handle_t h = a->ra_next;

	resv_lock(vm, a); /* the fast submit path reads it */
	a->ra_next = 0;
	resv_unlock(vm, a);
	enqueue_locked(vm, h);
}

static struct readahead *dequeue_locked(struct vidmm *vm)
{
	struct readahead *rs = vm->ra.q[vm->ra.head];

	vm->ra.head = (vm->ra.head + 1) % RA_QUEUE;
	vm->ra.count--;
	return rs;
}

static void *readahead_main(void *arg)
{
	struct vidmm *vm = arg;

	pthread_setname_np(pthread_self(), "vidmm-readahead");
	vm_lock(vm);
	while (!vm->ra.stop) {
		if (!vm->ra.count || vm->ra.held) {
			vm_cond_wait_ms(vm, &vm->ra.cv, 1000);
			continue;
		}
		struct readahead *rs = dequeue_locked(vm);
		vm->ra.busy = true;
		read_window_locked(vm, rs, true);
		vm->ra.busy = false;
	}
	/* Stopping (the manager is going): what is still queued goes back
	 * unread. */
	while (vm->ra.count) {
		struct readahead *rs = dequeue_locked(vm);
		cancel_locked(vm, rs);
		free(rs);
		vm->ra.done++;
	}
	vm_unlock(vm);
	return NULL;
}

int readahead_start(struct vidmm *vm)
{
	int ret;

	if (vm->cfg.no_async_readahead || !vm->swap)
		return 0;
	ret = pthread_cond_init(&vm->ra.cv, NULL);
	if (ret)
		return -ret;
	ret = pthread_create(&vm->ra.thread, NULL, readahead_main, vm);
	if (ret) {
		pthread_cond_destroy(&vm->ra.cv);
		return -ret;
	}
	vm->ra.running = true;
	return 0;
}

void readahead_stop(struct vidmm *vm)
{
	if (!vm->ra.running)
		return;
	vm_lock(vm);
	vm->ra.stop = true;
	pthread_cond_signal(&vm->ra.cv);
	vm_unlock(vm);
	pthread_join(vm->ra.thread, NULL);
	pthread_cond_destroy(&vm->ra.cv);
	vm->ra.running = false;
}

int readahead_wait_idle_locked(struct vidmm *vm, uint64_t deadline)
{
	/* The windows queued so far, not those other threads queue meanwhile:
	 * a reader streaming in order must not keep this call waiting. */
	uint64_t want = vm->ra.queued;

	while (vm->ra.done < want && vm->ra.running) {
		if (now_ns() >= deadline)
			return -ETIMEDOUT;
		vm_cond_wait_ms(vm, &vm->moved, 10);
	}
	return 0;
}

int vidmm_debug_readahead_hold(vidmm_t *vm, bool hold)
{
	if (!vm)
		return -EINVAL;
	vm_lock(vm);
	int ret = vm->ra.running ? 0 : -ENODEV;
	if (!ret) {
		vm->ra.held = hold;
		pthread_cond_signal(&vm->ra.cv);
	}
	vm_unlock(vm);
	return ret;
}

int vidmm_debug_async_readahead(vidmm_t *vm, bool on)
{
	if (!vm)
		return -EINVAL;
	vm_lock(vm);
	int ret = vm->ra.running ? 0 : -ENODEV;
	if (!ret)
		vm->ra.paused = !on;
	vm_unlock(vm);
	return ret;
}

