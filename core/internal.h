/* SPDX-License-Identifier: MIT */
/*
 * internal.h - the manager's internal data structures, shared by the files of
 * core/ and by nothing outside it.
 *
 * Owns: the layout of struct vidmm, segments, allocations, the GART and the
 * system-page allocator, and the prototypes each core file exports to the
 * others. Must not: be included by workloads, drivers, tests or benchmarks
 * (they use vidmm.h).
 *
 * Locking: vm->lock protects every field below unless the field's comment
 * says otherwise; an allocation's reservation (a->resv) also guards what
 * the resident-submit fast path reads and writes without vm->lock
 * (manager.c states the rules and the order). Functions named *_locked
 * expect the caller to hold vm->lock.
 */
#ifndef VIDMM_INTERNAL_H
#define VIDMM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heap.h"
#include "list.h"
#include "swap.h"
#include "vidmm.h"
#include "probes.h"
#include "evict_policy.h"
#include "lockstat.h"

/* ---- system pages (sysmem.c) ------------------------------------------------ */

/* A run of physically contiguous system frames. */
struct sys_extent {
	struct heap_node node; /* start = first frame, size = frames */
};

/* The system pages backing one range: a few extents, as contiguous as the pool allows. */
struct sys_pages {
	struct sys_extent *ext;
	uint32_t n_ext;
	uint64_t npages;
};

struct sysmem {
	void *cpu;            /* CPU address of frame 0 */
	uint64_t first_pfn;
	uint64_t npages;      /* frames in the chip's pool */
	uint32_t page_shift;
	uint64_t budget;      /* frames vidmm may hold */
	uint64_t reserve;     /* of which only reserve users may take the last ones */
	uint64_t used;
	struct heap *frames;  /* free frames, in frame units */
};

int sysmem_init(struct sysmem *sm, const struct vidmm_chip_sysmem *pool,
		uint64_t budget_bytes, uint64_t reserve_bytes);
void sysmem_fini(struct sysmem *sm);
/* Take npages frames. contiguous: one extent or fail. use_reserve: may dip
 * into the emergency reserve. -ENOMEM over budget or out of frames. */
int sysmem_alloc(struct sysmem *sm, uint64_t npages, bool contiguous,
		 bool use_reserve, struct sys_pages *out);
void sysmem_free(struct sysmem *sm, struct sys_pages *pages);
/* CPU address of frame pfn. */
void *sysmem_frame_cpu(const struct sysmem *sm, uint64_t pfn);
int sysmem_check(const struct sysmem *sm, char *why, size_t len);

/* ---- GART (gart.c) ----------------------------------------------------------- */

struct gart {
	struct vidmm_chip_gart_geometry geo;
	uint64_t npages;        /* entries (GPU pages) the GART covers */
	uint64_t n_l2, n_l3;    /* tables */
	uint8_t *l2;            /* CPU view of the first L2 table */
	uint8_t *l3;            /* CPU view of the first L3 table (all L3 tables are contiguous) */
	uint64_t tables_gpu;    /* GPU address of the tables' segment memory */
	struct vidmm_segment_memory tables;
	struct sys_pages dummy; /* the dummy page */
	uint64_t dummy_pfn;
	uint64_t dummy_entry;
	uint64_t mapped;        /* entries not naming the dummy page */
	uint64_t invalidations;
	bool batch_invalidate;  /* one invalidate per map/unmap (else one per page) */
};

int gart_init(struct vidmm *vm);
void gart_fini(struct vidmm *vm);
/* Point the entries of [gpu_addr, +pages->npages pages) at pages' frames and
 * invalidate the TLB for that range. */
void gart_map(struct vidmm *vm, uint64_t gpu_addr, const struct sys_pages *pages,
	      bool snooped);
/* Point them back at the dummy page and invalidate. */
void gart_unmap(struct vidmm *vm, uint64_t gpu_addr, uint64_t npages);
/* Entry of GPU page index i (relative to the GART base). */
uint64_t gart_read_entry(const struct gart *g, uint64_t i);
uint64_t gart_make_entry(const struct gart *g, uint64_t pfn, bool snooped);
bool gart_covers(const struct gart *g, uint64_t gpu_addr, uint64_t size);

/* ---- segments (segment.c) ----------------------------------------------------- */

struct segment {
	uint32_t id;
	char name[VIDMM_CHIP_NAME_LEN];
	uint32_t flags;
	uint64_t base, size;
	int32_t parent;                 /* paging segment: the PCIe segment it came from */
	struct heap *heap;
	struct list_head pagable[VIDMM_PRIO_COUNT]; /* LRU order: head is least recent */
	struct list_head unpagable;
	struct list_head driver;        /* struct segmem: vidmm_allocate_segment_memory */
	uint64_t pagable_bytes[VIDMM_PRIO_COUNT];
	uint64_t pagable_count[VIDMM_PRIO_COUNT];
	uint64_t unpagable_bytes, unpagable_count;
	uint64_t driver_bytes, driver_count;
	struct heap_node carve;         /* PCIe parent: the range given to the paging segment */
	bool has_carve;
	double gds_l;                   /* GreedyDual's inflation value (evict_policy.c) */
};

static inline bool seg_is_local(const struct segment *s) { return s->flags & VIDMM_SEG_LOCAL; }
static inline bool seg_is_pcie(const struct segment *s) { return s->flags & VIDMM_SEG_PCIE; }
static inline bool seg_is_paging(const struct segment *s) { return s->flags & VIDMM_SEG_PAGING; }

int segment_create(struct segment *s, uint32_t id,
		   const struct vidmm_chip_segment_desc *d);
void segment_destroy(struct segment *s);

/* Driver-owned segment memory. */
struct segmem {
	struct list_head link;
	struct heap_node node;
	struct sys_pages pages;   /* PCIe segments only */
	uint32_t segment;
};

/* ---- allocations (allocation.c) ------------------------------------------------ */

#define VIDMM_MAX_ENGINES 16

struct vidmm_allocation {
	/*
	 * The reservation (dma_resv's role): taken by the fast submit path
	 * (residency.c: submit_fast) without vm->lock, and by vm->lock holders
	 * around every change of what that path reads - pub_handle, moving,
	 * destroyed, clear_fence, inflight, ra_next - and around their fence
	 * writes. Initialised once: descriptors are type-stable (reused, never
	 * freed before the manager; allocation.c), so a stale pointer read
	 * from the handle table can still be locked and found not to match.
	 */
	pthread_mutex_t resv;
	/* Everything from here is reset when a descriptor is reused. */
	vidmm_handle_t pub_handle; /* the handle it is published under, 0: none
				    * (under resv and vm->lock) */
	struct vidmm_allocation *desc_next; /* vm->desc_free link while unused */
	/* The fast path's deferred LRU update (residency.c: use_queue):
	 * queued at most once, on vm->used_head, until a vm->lock holder
	 * applies it. */
	struct vidmm_allocation *use_next;
	atomic_bool use_queued;
	uint32_t slot;
	uint32_t gen;
	uint64_t size;            /* page-rounded */
	uint64_t align;
	enum vidmm_priority priority;
	uint32_t flags;
	uint32_t n_allowed;       /* placement order */
	uint32_t allowed[VIDMM_MAX_SEGMENTS];
	enum vidmm_residency residency;
	struct segment *seg;      /* resident: where */
	struct heap_node node;    /* resident: the range */
	struct sys_pages pages;   /* PCIe placement or paged-out copy */
	struct list_head lru;     /* on seg->pagable[priority] or seg->unpagable */
	/* The fence slot: last read and write fence per engine. Atomic: the
	 * fast submit path writes them under resv alone, while vm->lock
	 * holders read them (a busy check) without it. Written under resv. */
	_Atomic uint64_t read_fence[VIDMM_MAX_ENGINES];
	_Atomic uint64_t write_fence[VIDMM_MAX_ENGINES];

	/* residency (residency.c); the state machine is written down at the
	 * top of allocation.c. */
	uint32_t lock_count;      /* vidmm_lock pins; > 0: resident, CPU-visible, cpu valid */
	/* Lifetime across a dropped vm->lock:
	 * op_pins: submits and locks in progress that hold a pointer to it;
	 *   it is not chosen as a victim and not freed.
	 * moving: owned by one mover (page-out/in, migration, swap-out/in, the
	 *   CPU-lock setup); nobody else changes its placement or submits GPU
	 *   work on it, and a destroy meanwhile is finished by the owner's
	 *   alloc_release_locked. */
	uint32_t op_pins;
	bool moving;
	bool destroyed;           /* handle gone; freed when idle (deferred destroy) */
	bool deferred;            /* lru is on vm->deferred, not a segment list */
	bool cpu_ok;              /* some allowed segment is CPU-visible */
	void *cpu;                /* vidmm_lock mapping */
	uint64_t last_out_ns, last_in_ns, swapped_ns;
	uint64_t swap_batch;      /* the swap-out batch it was written in (reclaim.c) */
	uint64_t ra_window;       /* SWAPPED: a read-ahead stopped before it with this
				   * window (readahead.c's marker); 0: none */
	vidmm_handle_t ra_next;   /* read ahead, not yet used: its first use starts
				   * the asynchronous read-ahead of this swapped
				   * allocation (readahead.c's trigger); 0: none */
	struct readahead *ra_queued; /* owned by a read-ahead window not yet started:
				      * a user takes it back (readahead.c) */
	/* On vm->evicted[priority] (the system-cache list) while EVICTED, on
	 * vm->swapped while SWAPPED; LRU order in both. */
	struct list_head cache;
	struct swap_slot swp;     /* SWAPPED: where the data is in the swap file */
	/* Clear on create: the fill that zeroes the new range (0: none pending).
	 * Until it has completed without error the allocation counts as busy,
	 * and a failed one is issued again (residency.c: clear_pending_locked). */
	uint32_t clear_engine;
	uint64_t clear_fence;
	/* Pipelined page-in still copying (residency.c: struct inflight):
	 * resident at node already, busy until its copies are done without
	 * error; jobs on it wait for them on the GPU. NULL: none. */
	struct inflight *inflight;
	/* Eviction policy state (evict_policy.c): the last two uses (lru-2),
	 * the GreedyDual credit (size-aware), the reference bit (clock). */
	uint64_t use_ns[2];
	double gds_h;
	bool referenced;
};

/* The handle a lives under (its slot and generation), for traces. */
static inline vidmm_handle_t alloc_handle(const struct vidmm_allocation *a)
{
	return ((uint64_t)a->gen << 32) | (a->slot + 1);
}

struct handle_slot {
	uint32_t gen;             /* bumped on every free: stale handles stop matching */
	uint32_t next_free;       /* free-list link (index + 1; 0 ends) */
	/* Read without vm->lock by the fast submit path: a type-stable
	 * descriptor, checked against the handle under its resv. */
	_Atomic(struct vidmm_allocation *) a;
};

/* A window of the paging segment mapped onto some allocation's pages while a
 * copy runs (residency.c); on vm->windows while live. */
struct paging_window {
	struct list_head link;
	struct heap_node win;
	uint32_t engine;
	uint64_t fence;
	bool late;   /* its copy timed out: unmapped, held until the fence signals */
	uint64_t dst; /* pipelined page-in: where its copy writes (issued again on failure) */
	bool redo;    /* pipelined page-in: its copy failed and is not issued again yet */
};

/*
 * A pipelined page-in in flight (cfg.pipelined_paging): the allocation is
 * resident at its new range from the moment its copies are queued; the
 * copies still run through windows mapped onto its old system pages. Those
 * pages and windows are held here until every copy has completed without
 * error (a failed one is issued again from the same window), then freed.
 * On vm->inflight; a->inflight points back.
 */
struct inflight {
	struct list_head link;
	struct vidmm_allocation *a;
	struct sys_pages pages;   /* the source: the copy in system memory */
	uint32_t n;
	struct paging_window *w[]; /* n windows, also on vm->windows */
};

/*
 * What an operation in progress holds outside every list while it may drop
 * vm->lock: a segment range (a create before it is published, a page-in or
 * CPU-lock migration target while its copy runs) and/or system frames (the
 * contiguous copy vidmm_lock builds). On vm->transit for as long, so
 * vidmm_check can account for every range and frame; the operation owns it.
 */
struct transit {
	struct list_head link;
	struct segment *seg;      /* NULL: frames only */
	struct heap_node node;
	struct sys_pages pages;   /* frames held (PCIe target: mapped into node) */
	bool mapped;              /* node's GART entries point at pages */
};

/*
 * What a copy that did not finish in time may still touch: a segment range it
 * may write (a page-in or migration target, a paging window: unmapped, so a
 * late write through it goes to the dummy page) and/or system frames (the
 * destination pages of a timed-out page-out). Held until every fence in
 * fence[] has signalled, then freed (residency_reap_locked).
 */
struct quarantine {
	struct list_head link;
	struct segment *seg;      /* NULL: frames only */
	struct heap_node node;
	struct sys_pages pages;
	uint64_t fence[VIDMM_MAX_ENGINES];
};

/* ---- the manager (manager.c) ---------------------------------------------------- */

struct vidmm {
	pthread_mutex_t lock;     /* take with vm_lock (below): it keeps lockstat */
	struct lockstat lockstat; /* of lock (lockstat.h), under lock */
	struct vidmm_config cfg;
	struct tracer tracer;     /* cfg.trace, for VIDMM_TRACE (probes.h) */
	uint64_t seen_faults[2];  /* dummy-page, stale-TLB counts at the last query (under lock) */
	const struct evict_policy *policy; /* cfg.evict_policy (evict_policy.h) */
	uint64_t policy_rng;      /* the random policy's generator (under lock) */
	const struct vidmm_chip_ops *chip;
	void *chip_ctx;
	struct vidmm_chip_engines engines;

	uint32_t nsegs;           /* chip segments + the paging segment */
	struct segment seg[VIDMM_MAX_SEGMENTS];
	int32_t paging_seg;       /* index of the paging segment */
	int32_t gart_table_seg;   /* CPU-visible local segment holding L2/L3 */

	struct sysmem sysmem;
	struct gart gart;

	/* The handle table. Grown by copying into a new array, published
	 * (release) before nslots passes the old size; old arrays are kept
	 * until the manager goes (retired_slots), so the fast path may still
	 * read one it loaded (allocation.c). */
	_Atomic(struct handle_slot *) slots;
	_Atomic uint32_t nslots;
	uint32_t cap_slots;
	struct handle_slot *retired_slots[32];
	uint32_t n_retired_slots;
	struct vidmm_allocation *desc_free; /* unused descriptors (allocation.c) */
	uint32_t free_head;       /* index + 1 of the first free slot; 0: none */
	uint64_t live_allocs;

	/* residency (residency.c) */
	pthread_cond_t moved;     /* broadcast when a move finishes or a window frees */
	struct list_head evicted[VIDMM_PRIO_COUNT]; /* paged out, in system pages (system-cache list) */
	struct list_head swapped; /* swapped out, oldest first */
	uint64_t swap_batches;    /* swap-out batches written (reclaim.c: read-ahead) */
	uint64_t pending_free_slow[VIDMM_MAX_ENGINES]; /* fences a wait for pending frees
							* timed out on (reclaim.c) */
	struct list_head deferred;/* destroyed while busy: ranges held until idle */
	struct list_head transit; /* struct transit: held by operations in progress */
	struct list_head windows; /* live paging-segment windows */
	struct list_head inflight;/* struct inflight: pipelined page-ins still copying */
	struct list_head quarantine; /* struct quarantine: what a timed-out copy may still write */
	uint32_t next_copy_engine;
	/* Newest fence queued per engine; atomic max (the fast path queues
	 * jobs without vm->lock). */
	_Atomic uint64_t issued[VIDMM_MAX_ENGINES];
	/* Allocations the fast path used, for the eviction policy's use hook
	 * (residency.c: use_queue / residency_drain_used_locked). */
	_Atomic(struct vidmm_allocation *) used_head;
	/* A fence waiter found vm->lock busy and did not reap: the holder
	 * does, in vm_unlock (residency_reap_locked clears it). */
	atomic_bool reap_wanted;
	atomic_bool fast_off;     /* cfg.no_fast_submit, vidmm_debug_fast_submit */
	void (*scan_hook)(void *); /* vidmm_debug_evict_scan_hook */
	void *scan_hook_arg;
	void (*submit_hook)(void *); /* vidmm_debug_locked_submit_hook */
	void *submit_hook_arg;
	/* The fast path's statistics, sharded by thread (reservation.c). */
	struct fast_shard *fast;
	struct lockstat resv_class; /* the reservations' order rank (no stats) */
	/* Bounce mode: the staging area in the paging segment and its pages. */
	struct heap_node staging;
	struct sys_pages staging_pages;
	bool staging_busy;
	/* Copies through the staging area that timed out: it is not used again
	 * until these fences have signalled. */
	uint64_t staging_fence[VIDMM_MAX_ENGINES];
	struct vidmm_hist hist[VIDMM_HIST_COUNT];

	/* swap (reclaim.c) */
	struct swap_store *swap;
	pthread_t reclaim_thread;
	bool reclaim_running, reclaim_stop;
	/* Swap slots given back so far; reclaim waits for it to move after the
	 * file filled up (reclaim_blocked), instead of retrying in a loop. */
	uint64_t swap_slots_freed;
	uint64_t reclaim_blocked_gen;
	bool reclaim_blocked;
	pthread_cond_t reclaim_cv;
	/* Asynchronous read-ahead (readahead.c): allocations to read ahead
	 * from, queued by a reader's first use of what the last read-ahead
	 * brought, for one thread with its own ring. */
	struct {
		pthread_t thread;
		pthread_cond_t cv;     /* work queued, or stop */
		bool running, stop;
		bool paused;           /* vidmm_debug_async_readahead */
		bool held;             /* vidmm_debug_readahead_hold */
		bool busy;             /* a window is being read */
		uint64_t queued, done; /* windows queued, and read or given back */
		uint32_t head, count;
		struct readahead *q[8]; /* picked and owned, to be read */
	} ra;
	struct vidmm_stats st;    /* residency counters (the fields residency owns) */

	/* counters */
	uint64_t alloc_failures;

	char check_error[256];
};

/* The manager's lock, with its statistics (lockstat.h). */
static inline void vm_lock(struct vidmm *vm)
{
	lockstat_lock(&vm->lock, &vm->lockstat);
}

static inline bool vm_trylock(struct vidmm *vm)
{
	return lockstat_trylock(&vm->lock, &vm->lockstat);
}

/* Free deferred-destroyed allocations whose fences have signalled, and
 * quarantined ranges and frames whose late copies have finished. */
void residency_reap_locked(struct vidmm *vm);

/* A fence waiter found the lock busy and left the reap to its holder: done
 * wherever the holder lets go, by unlock or by a condvar wait (else the
 * reap would wait for whoever unlocks next, a whole wait away). */
static inline void vm_reap_if_wanted(struct vidmm *vm)
{
	if (atomic_load_explicit(&vm->reap_wanted, memory_order_relaxed))
		residency_reap_locked(vm);
}

static inline void vm_unlock(struct vidmm *vm)
{
	vm_reap_if_wanted(vm);
	lockstat_unlock(&vm->lock, &vm->lockstat);
}

static inline int vm_cond_timedwait(struct vidmm *vm, pthread_cond_t *cv, const struct timespec *ts)
{
	vm_reap_if_wanted(vm);
	return lockstat_cond_timedwait(cv, &vm->lock, &vm->lockstat, ts);
}

/* Wait on cv (vm->lock held) for at most ms milliseconds. */
static inline void vm_cond_wait_ms(struct vidmm *vm, pthread_cond_t *cv, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	vm_cond_timedwait(vm, cv, &ts);
}

/* ---- fences and residency (fence.c, residency.c) ------------------------------ */

/*
 * What the fast submit path records without vm->lock, one shard per group
 * of threads (a thread keeps its shard), each on its own cache lines and
 * under its own leaf mutex, which nobody takes under it: submits, their
 * latency, and the reservations' lock statistics. Summed by the queries.
 */
#define FAST_SHARDS 8
struct fast_shard {
	pthread_mutex_t m;
	uint64_t submits;
	uint64_t ring_full_waits;     /* as vidmm_stats.ring_full_waits */
	struct vidmm_hist submit;     /* as vm->hist[VIDMM_HIST_SUBMIT] */
	uint64_t resv_acq, resv_contended;
	struct vidmm_hist resv_wait, resv_hold;
} __attribute__((aligned(64)));

int fast_init(struct vidmm *vm);
void fast_fini(struct vidmm *vm);
/* Sum the shards' counts into the lock statistics / the submit figures. */
void fast_resv_stats(struct vidmm *vm, struct vidmm_lock_stats *out);
void fast_submit_stats(struct vidmm *vm, uint64_t *submits, uint64_t *ring_full_waits,
		       struct vidmm_hist *hist);
/* The resident-submit fast path (reservation.c): 0 or -EIO (queued or
 * failed, as vidmm_submit), or -EAGAIN: not taken, the locked path's. */
int submit_fast(struct vidmm *vm, const struct vidmm_job *job, uint32_t engine,
		struct vidmm_fence *fence);
/* The descriptor in h's slot, possibly stale, read without vm->lock: the
 * caller checks a->pub_handle == h under a->resv (allocation.c). */
struct vidmm_allocation *handle_peek(struct vidmm *vm, vidmm_handle_t h);
/* Free the unused descriptors and the handle tables (teardown). */
void allocation_descs_fini(struct vidmm *vm);
/* The chip's job for job over allocations a[0..nrefs) at their ranges
 * (resident: the caller checked, under the lock that keeps them there). */
static inline void chip_job_build(struct vidmm_chip_job *cj, const struct vidmm_job *job,
				  struct vidmm_allocation *const *a)
{
	memset(cj, 0, sizeof(*cj));
	cj->op = job->op;
	cj->seed = job->seed;
	cj->nrefs = job->nrefs;
	cj->result = job->result;
	for (uint32_t i = 0; i < job->nrefs; i++) {
		cj->refs[i].gpu_addr = a[i]->node.start;
		cj->refs[i].size = a[i]->size;
		cj->refs[i].access = job->refs[i].access;
	}
}

/* The newest fence the manager queued on engine (vidmm_wait_idle): an
 * atomic max, as fast submits queue jobs without vm->lock. */
static inline void note_issued(struct vidmm *vm, uint32_t engine, uint64_t f)
{
	uint64_t cur = atomic_load_explicit(&vm->issued[engine], memory_order_relaxed);

	while (cur < f && !atomic_compare_exchange_weak_explicit(&vm->issued[engine], &cur, f,
								 memory_order_release,
								 memory_order_relaxed))
		;
}
/* Apply the fast path's queued uses (the eviction policy's use hook). */
void residency_drain_used_locked(struct vidmm *vm);
/* a's reservation, around a change of what the fast path reads. */
static inline void resv_lock(struct vidmm *vm, struct vidmm_allocation *a)
{
	lockstat_order_take(&vm->resv_class);
	pthread_mutex_lock(&a->resv);
}

static inline void resv_unlock(struct vidmm *vm, struct vidmm_allocation *a)
{
	pthread_mutex_unlock(&a->resv);
	lockstat_order_give(&vm->resv_class);
}

uint64_t now_ns(void);
/* The upper bound of one internal GPU wait (cfg.fence_timeout_ns or 2 s). */
uint64_t fence_timeout(const struct vidmm *vm);
/* GPU work on a is not finished: a fence not signalled, or its clear not
 * completed without error (a failed clear is issued again here). */
bool alloc_busy_locked(struct vidmm *vm, struct vidmm_allocation *a);
/* Wait, with vm->lock dropped, for every fence recorded on a (bounded). */
int alloc_wait_idle_unlocked(struct vidmm *vm, struct vidmm_allocation *a, uint64_t timeout_ns);
int fence_wait_unlocked(struct vidmm *vm, uint32_t engine, uint64_t value, uint64_t timeout_ns);
/* A chip command returned -EAGAIN (ring full): wait, vm->lock dropped, for
 * the engine to complete its next command. 0 (retry) or -ETIMEDOUT. */
int engine_space_unlocked(struct vidmm *vm, uint32_t engine, uint64_t timeout_ns);

int residency_init(struct vidmm *vm);
void residency_fini(struct vidmm *vm);
/* Find room for size/align in segment s (into node), paging idle victims out
 * if allow_evict. May drop and retake vm->lock. */
int place_range_locked(struct vidmm *vm, struct segment *s, uint64_t size, uint64_t align,
		       enum heap_mode mode, struct heap_node *node, bool allow_evict);
/* Take system pages, swapping other allocations out if the budget is spent
 * (may drop and retake vm->lock). */
int alloc_pages_locked(struct vidmm *vm, uint64_t npages, bool contiguous,
		       struct sys_pages *out);
/* Page an idle, unpinned, resident allocation out; the caller owns it
 * (alloc_own) and releases it afterwards (residency.c). */
int page_out_locked(struct vidmm *vm, struct vidmm_allocation *a);
/* Copy a's local data into a->pages (taken here) through the paging segment,
 * leaving a resident; the caller owns a. On failure a->pages is empty. */
int copy_out_locked(struct vidmm *vm, struct vidmm_allocation *a);
/* Read a swapped allocation, which the caller owns, back into system pages:
 * EVICTED afterwards. */
int swap_in_locked(struct vidmm *vm, struct vidmm_allocation *a);
/* Place a new allocation (nobody can see it yet): free room in any allowed
 * segment first, then paging victims out of each in order; PCIe frames
 * taken and mapped; the range cleared. t holds the result (off transit). */
int place_new_locked(struct vidmm *vm, struct vidmm_allocation *a, struct transit *t);
/* Issue the clear of a freshly placed range (may drop vm->lock if the copy
 * engine's ring is full; the caller owns what it placed). */
int clear_range_locked(struct vidmm *vm, struct vidmm_allocation *a, uint64_t gpu_addr);
/* true while a's clear has not completed without error (a failed one is
 * issued again). */
bool clear_pending_locked(struct vidmm *vm, struct vidmm_allocation *a);
/* true while a pipelined page-in of a is copying, or one of its copies
 * failed and has been issued again (residency.c). */
bool inflight_pending_locked(struct vidmm *vm, struct vidmm_allocation *a);
/* Give back what a's pipelined page-in holds, at once: only when its copies
 * cannot run any more (the allocation is freed, hence idle). */
void inflight_drop_locked(struct vidmm *vm, struct vidmm_allocation *a);
void transit_add(struct vidmm *vm, struct transit *t);
void transit_del(struct transit *t);
int reclaim_init(struct vidmm *vm, char *err, size_t err_len);
/* Shared with readahead.c: the reclaim high watermark of the client budget
 * (pages), a's pages as swap iovecs (NULL without memory), and a swapped
 * allocation whose data is back in its pages made EVICTED. */
uint64_t reclaim_high_mark(const struct vidmm *vm);
struct swap_iov *reclaim_pages_iov(struct vidmm *vm, const struct sys_pages *p);
void reclaim_mark_swapped_in_locked(struct vidmm *vm, struct vidmm_allocation *a);

/* ---- read-ahead (readahead.c) ---- */

/* Read-ahead at swap-in: at most this many allocations (two swap-out
 * batches) and a window of bytes from SWAP_READAHEAD_MIN_BYTES doubling to
 * SWAP_READAHEAD_MAX_BYTES; synchronously only for allocations smaller than
 * SWAP_READAHEAD_BELOW. */
#define SWAP_READAHEAD_MAX 511
#define SWAP_READAHEAD_MIN_BYTES (4ull << 20)
#define SWAP_READAHEAD_MAX_BYTES (32ull << 20)
#define SWAP_READAHEAD_BELOW (1ull << 20)

/* One read-ahead: req[0] is the caller's own read (synchronous read-ahead
 * only), req[1..n] those of ra[0..n). About 25 KiB: on the heap. */
struct readahead {
	struct vidmm_allocation *ra[SWAP_READAHEAD_MAX];
	struct swap_req req[SWAP_READAHEAD_MAX + 1];
	struct swap_iov *iov[SWAP_READAHEAD_MAX + 1];
	uint32_t n;
	vidmm_handle_t stop; /* the swapped allocation it stopped before (marked); 0: none */
	bool triggered; /* the first one back carries the trigger (ra_next) */
	struct vidmm *vm; /* while the read-ahead thread or a user reads it */
};

/* Take into rs what a swap-in of a (owned, SWAPPED, its own read in req[0])
 * reads with it. */
void readahead_pick_locked(struct vidmm *vm, struct vidmm_allocation *a, struct readahead *rs);
/* After the reads: rs's allocations back in memory or as they were; the
 * first carries the trigger for the next window. */
void readahead_finish_locked(struct vidmm *vm, struct readahead *rs, bool async);
/* After a swap-in of a (owned, read, still SWAPPED) that read nothing ahead:
 * mark the allocation after it in file order, and if a reader reached a in
 * order, read that one ahead asynchronously. */
void readahead_after_single_locked(struct vidmm *vm, struct vidmm_allocation *a);
/* a (ra_next set) is used for the first time since it was read ahead. */
void readahead_used_locked(struct vidmm *vm, struct vidmm_allocation *a);
/* a (ra_queued set) is wanted now: its window, not started yet, leaves the
 * queue and is read on the caller's thread (vm->lock dropped meanwhile),
 * unless the thread is about to start it. Returns whether it was read. */
bool readahead_run_queued_locked(struct vidmm *vm, struct vidmm_allocation *a);
/* Take a (ra_queued set) out of its window, as it was: SWAPPED, no owner. */
void readahead_drop_locked(struct vidmm *vm, struct vidmm_allocation *a);
/* Give back every window not yet started (their pages): true if any. */
bool readahead_cancel_queued_locked(struct vidmm *vm);
int readahead_start(struct vidmm *vm);
void readahead_stop(struct vidmm *vm);
/* Wait until no asynchronous read-ahead is queued or running: 0 or
 * -ETIMEDOUT past deadline (now_ns clock). */
int readahead_wait_idle_locked(struct vidmm *vm, uint64_t deadline);
void reclaim_stop(struct vidmm *vm);
void reclaim_fini(struct vidmm *vm);
/* Swap stats from the store into out (under vm->lock). */
void reclaim_query_stats(struct vidmm *vm, struct vidmm_stats *out);

/* Take / give back mover ownership of a (see struct vidmm_allocation); only
 * while !a->moving. Release returns true if a was destroyed meanwhile: it has
 * then been freed or deferred, and the caller must not use it any more. */
static inline void alloc_own(struct vidmm *vm, struct vidmm_allocation *a)
{
	/* Under resv: a fast submit in progress finishes first, and none
	 * starts after. Its fences are then on a: an owner that needs a idle
	 * checks again after this (alloc_busy_locked). */
	resv_lock(vm, a);
	a->moving = true;
	resv_unlock(vm, a);
}
bool alloc_release_locked(struct vidmm *vm, struct vidmm_allocation *a);
/* Own a, seen idle, live and unowned just before: false (not owned) if a
 * fast submit made it busy in between. */
bool alloc_own_idle(struct vidmm *vm, struct vidmm_allocation *a);
/* a's handle is gone: free it now, or defer while the GPU or an operation
 * in progress may still use it. */
void finalize_destroyed_locked(struct vidmm *vm, struct vidmm_allocation *a);

void allocation_free_locked(struct vidmm *vm, struct vidmm_allocation *a);

/* Handle <-> allocation; NULL for a stale, forged or destroyed handle. */
struct vidmm_allocation *handle_lookup_locked(struct vidmm *vm, vidmm_handle_t h);
void allocation_destroy_all_locked(struct vidmm *vm);

/* Put a resident allocation on / off its segment's list. */
void segment_list_add(struct segment *s, struct vidmm_allocation *a);
void segment_list_del(struct segment *s, struct vidmm_allocation *a);

/* Segment memory helpers shared by allocations and driver memory. */
int segrange_alloc_locked(struct vidmm *vm, struct segment *s, struct heap_node *node,
			  struct sys_pages *pages, uint64_t size, uint64_t align,
			  enum heap_mode mode, bool contiguous_pages, bool use_reserve);
void segrange_free_locked(struct vidmm *vm, struct segment *s, struct heap_node *node,
			  struct sys_pages *pages);

static inline uint64_t vm_page_size(const struct vidmm *vm)
{
	return 1ull << vm->gart.geo.page_shift;
}

static inline uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static inline bool seg_cpu_visible(const struct segment *s)
{
	return s->flags & VIDMM_SEG_CPU_VISIBLE;
}

static inline bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* Make room for element n of a growable array of *cap elements (doubling
 * from 16): 0 or -ENOMEM, the array unchanged on failure. */
static inline int array_reserve(void **arr, uint32_t n, uint32_t *cap, size_t elem)
{
	if (n < *cap)
		return 0;
	uint32_t nc = *cap ? *cap * 2 : 16;
	void *p = nc > *cap ? realloc(*arr, (size_t)nc * elem) : NULL;
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}

#endif /* VIDMM_INTERNAL_H */
