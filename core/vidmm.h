/* SPDX-License-Identifier: MIT */
/*
 * vidmm.h - the public API of libvidmm, a GPU video memory manager.
 *
 * This is the only header a client (workload, test, benchmark) includes from
 * core/. The vocabulary follows the design note (../shared/seed): segments with
 * heaps, a paging segment carved from a PCIe segment, a dummy page, a
 * three-level GART, allocations on pagable (per priority) or unpagable lists.
 *
 * Owns: the public contract; the implementation's types stay in internal.h.
 * Must not: expose internals (pointers to descriptors, heap nodes, lists).
 *
 * Conventions: every function returning int returns 0 or a negative errno
 * from the list its comment gives, and no other; vidmm_strerror() names it.
 * A failed call leaves the allocations it was given as they were (placement,
 * contents, lists); making room may have paged or swapped other allocations
 * out, which is never visible in their contents. Every call is thread-safe,
 * also on the same handle at the same time (see manager.c for the locking
 * rules and allocation.c for an allocation's states).
 *
 * Errors common to the calls that need GPU memory (create, submit, lock):
 *  -ENOSPC  no room, even if every pagable allocation were paged out;
 *  -EBUSY   room could only be made by moving allocations that are in use
 *           (busy on the GPU, locked, pinned by a call in progress, or being
 *           moved by another thread) and did not become free within the
 *           fence timeout, or whose page-out copy failed or timed out;
 *  -ENOMEM  no system pages (the budget is spent and swap cannot help) or no
 *           host memory. Pages of allocations destroyed while busy are
 *           waited for first, within the fence timeout.
 * Memory handed to a client never shows a previous owner's bytes: a new
 * allocation reads as zeros (cleared by a GPU fill on a copy engine, issued
 * at create and waited for by its first use; see cfg.no_clear_on_create).
 */
#ifndef VIDMM_H
#define VIDMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../drivers/chip.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VIDMM_MAX_SEGMENTS (VIDMM_CHIP_MAX_SEGMENTS + 1) /* + the paging segment */
#define VIDMM_MAX_PREFERRED 4

typedef struct vidmm vidmm_t;

/*
 * The generation of the manager's placement and eviction decisions: bumped
 * whenever the same sequence of calls may now place or evict differently
 * (and so give different paging counters). Traces record it; a replay
 * compares counters only with a recording of the same generation.
 *  1: round 1 (each allowed segment in order, evicting before trying the
 *     next);
 *  2: free room in every allowed segment before any eviction; new
 *     allocations busy until their clear has run.
 */
#define VIDMM_POLICY_VERSION 2

/* An allocation handle: generation-checked, never a pointer. 0 is never valid. */
typedef uint64_t vidmm_handle_t;

enum vidmm_priority {
	VIDMM_PRIO_DISCARD = 0,
	VIDMM_PRIO_LOW,
	VIDMM_PRIO_NORMAL,
	VIDMM_PRIO_HIGH,
	VIDMM_PRIO_MAX,
	VIDMM_PRIO_COUNT
};

/* Allocation flags. */
enum {
	VIDMM_ALLOC_UNPAGABLE = 1u << 0,   /* never paged out: on the unpagable list */
	VIDMM_ALLOC_CPU_VISIBLE = 1u << 1, /* only segments the CPU can map */
	VIDMM_ALLOC_LOCAL_ONLY = 1u << 2,  /* only local video memory (primary surfaces) */
	VIDMM_ALLOC_TOP_DOWN = 1u << 3,    /* place at the top of the segment */
};

/* Segment-memory flags (vidmm_allocate_segment_memory). */
enum {
	VIDMM_SEGMEM_TOP_DOWN = 1u << 0,
	VIDMM_SEGMEM_BOTTOM_UP = 1u << 1,
};

/* How page-out and page-in move data between local memory and system pages. */
enum vidmm_paging_mode {
	/* A window of the paging segment is mapped onto the allocation's own
	 * system pages: one GPU copy. */
	VIDMM_PAGING_WINDOW = 0,
	/* A fixed staging area of the paging segment with its own pages: a GPU
	 * copy plus a CPU copy (the original driver's way). */
	VIDMM_PAGING_BOUNCE,
};

/*
 * Trace events. Every one is also a USDT probe (provider "vidmm", the name
 * in brackets) that costs one nop while nothing is attached; the table of
 * probes and their arguments is in docs/perf-analysis.md. Arguments a[0..3]
 * as listed; unused ones are 0. Handles are vidmm_handle_t values, segments
 * segment ids, results 0 or a negative errno.
 */
enum vidmm_trace_kind {
	VIDMM_TRACE_ALLOC_CREATE = 0, /* [alloc_create] handle, size, segment (~0: none), priority */
	VIDMM_TRACE_ALLOC_DESTROY,    /* [alloc_destroy] handle, size, residency */
	VIDMM_TRACE_PLACE_FAIL,       /* [place_fail] segment, size, align, result */
	VIDMM_TRACE_EVICT,            /* [evict] victim, bytes, reason (vidmm_evict_reason), segment */
	VIDMM_TRACE_PAGE_OUT_BEGIN,   /* [page_out_begin] handle, bytes, paging mode, segment */
	VIDMM_TRACE_PAGE_OUT_END,     /* [page_out_end] handle, bytes, result, ns */
	VIDMM_TRACE_PAGE_IN_BEGIN,    /* [page_in_begin] handle, bytes, paging mode, throttled */
	VIDMM_TRACE_PAGE_IN_END,      /* [page_in_end] handle, bytes, result, ns */
	VIDMM_TRACE_COPY,             /* [copy] engine, fence, bytes, purpose (vidmm_copy_purpose) */
	VIDMM_TRACE_SWAP_OUT_BEGIN,   /* [swap_out_begin] allocations, bytes, background */
	VIDMM_TRACE_SWAP_OUT_END,     /* [swap_out_end] allocations, bytes, result, ns */
	VIDMM_TRACE_SWAP_IN_BEGIN,    /* [swap_in_begin] handle, bytes */
	VIDMM_TRACE_SWAP_IN_END,      /* [swap_in_end] handle, bytes, result, ns */
	VIDMM_TRACE_SWAP_IO_SUBMIT,   /* [swap_io_submit] io id, bytes, write (1) / read (0), file offset */
	VIDMM_TRACE_SWAP_IO_COMPLETE, /* [swap_io_complete] io id, bytes, result, ns */
	VIDMM_TRACE_RECLAIM_BEGIN,    /* [reclaim_begin] pages in use, pages wanted free */
	VIDMM_TRACE_RECLAIM_END,      /* [reclaim_end] pages in use, result, allocations swapped out */
	VIDMM_TRACE_SUBMIT,           /* [submit] job engine, refs, fence, result */
	VIDMM_TRACE_LOCK,             /* [lock] handle, size, result */
	VIDMM_TRACE_UNLOCK,           /* [unlock] handle, result */
	VIDMM_TRACE_THROTTLE,         /* [throttle] handle, bytes: a page-in past the submit's move budget */
	VIDMM_TRACE_FAULT,            /* [fault] kind (1 dummy page, 2 stale TLB), count, new since the last (seen by vidmm_query_stats) */
	VIDMM_TRACE_KINDS
};

/* Why a victim was paged out (VIDMM_TRACE_EVICT's reason). */
enum vidmm_evict_reason {
	VIDMM_EVICT_WINDOW = 0, /* part of the contiguous window that fits the request */
	VIDMM_EVICT_LRU,        /* plain priority/LRU order (evict_plain_lru) */
	VIDMM_EVICT_PRIORITY,   /* above the lowest priority present: lower ones did not make room */
	VIDMM_EVICT_BUSY_WAIT,  /* busy: the request waited for its fence (no page-out yet) */
	VIDMM_EVICT_EXPLICIT,   /* vidmm_evict() */
	VIDMM_EVICT_BUSY_QUEUED,/* busy: paged out with its copies queued after its jobs
				 * (pipelined paging) */
};

/* What a copy engine command issued by the manager is for (VIDMM_TRACE_COPY). */
enum vidmm_copy_purpose {
	VIDMM_COPY_PAGE_OUT = 0,
	VIDMM_COPY_PAGE_IN,
	VIDMM_COPY_CLEAR,     /* clearing a new allocation */
	VIDMM_COPY_MIGRATE,   /* a move for vidmm_lock (CPU-visible or contiguous) */
};

struct vidmm_trace_event {
	uint32_t kind;  /* enum vidmm_trace_kind */
	uint32_t pad;
	uint64_t ts_ns; /* CLOCK_MONOTONIC */
	uint64_t a[4];
};

/* Called on the thread where the event happens, possibly with manager locks
 * held: it must not call vidmm, block, or take long (copy the event into a
 * per-thread buffer). */
typedef void (*vidmm_trace_fn)(void *arg, const struct vidmm_trace_event *ev);

struct vidmm_config {
	const struct vidmm_chip_ops *chip;
	void *chip_ctx;
	uint64_t sysmem_budget;  /* bytes of system pages vidmm may take (step 1 of vidmm_init) */
	uint64_t sysmem_reserve; /* emergency reserve inside the budget, for the GART and paging */
	uint64_t paging_size;    /* bytes of the paging segment */
	bool paging_snooped;     /* carve the paging segment from the snooped PCIe segment */
	enum vidmm_paging_mode paging_mode;
	/* Pipelined paging (window mode): a page-in's copies are queued and
	 * the submit returns; the job waits for them on the GPU (a chip
	 * dependency), as does a job on a new allocation for its clear, and a
	 * victim busy with jobs is paged out after them. A copy that fails
	 * after a job was queued behind it cancels that job (its fence status
	 * is -EIO) and is issued again; the synchronous path fails the submit
	 * instead. false: the submitting thread waits for every copy. */
	bool pipelined_paging;
	/* Eviction normally opens one contiguous window of victims for a
	 * request (scanning in priority/LRU order, stopping at the first set that
	 * opens a big enough hole, evicting only that set). true: evict in plain
	 * priority/LRU order until the request fits (the original's way; kept to
	 * measure the difference). */
	bool evict_plain_lru;
	/* Thrash control: bytes a single submit may move (page in plus page
	 * out) before further moves are throttled; 0 = unlimited. */
	uint64_t submit_move_budget;
	/* An allocation paged back in within this many ns of its page-out (or
	 * out within this of its page-in) counts as a bounce; 0 = 100 ms. */
	uint64_t bounce_window_ns;
	/* Upper bound of any single internal fence wait (eviction of a busy
	 * victim, page-in copy); 0 = 2 s. */
	uint64_t fence_timeout_ns;
	/* Do not clear new allocations (their first bytes are then whatever the
	 * range held before): only for benchmarks that measure the clear's
	 * cost. Clearing is on by default. */
	bool no_clear_on_create;

	/* Swap (the note's vidmmi_do_swap_out): 0 = no swap file. */
	uint64_t swap_size;
	const char *swap_dir;        /* NULL: $TMPDIR or /tmp */
	uint32_t swap_queue_depth;   /* 0: 32 */
	bool swap_force_buffered;    /* never O_DIRECT */
	/* Background reclaim: once system pages in use pass reclaim_high_pct of
	 * the budget, a thread swaps out down to reclaim_low_pct (0/0: 90/75). */
	uint32_t reclaim_high_pct, reclaim_low_pct;
	bool no_background_reclaim;
	/* No asynchronous read-ahead: a reader that consumes swapped
	 * allocations in file order gets only what each swap-in reads with it
	 * (the default starts the next window on a thread of the manager when
	 * the reader first uses what the last one brought). */
	bool no_async_readahead;
	/* Every submit takes the manager's lock (the locked path), rather
	 * than queueing a job on resident, settled allocations under their
	 * reservations alone; for measuring what the fast path is worth. */
	bool no_fast_submit;
	/* Eviction policy within a priority level (vidmm_evict_policy_name
	 * lists them; NULL or "": "lru"). An unknown name fails vidmm_init with
	 * -EINVAL. Priorities, pins and the contiguous window hold for all. */
	const char *evict_policy;
	/* Offline analysis only (`vidmm-bench analyze`): the "belady" policy
	 * asks this for the next use of allocation h, on the caller's clock
	 * (later is larger; UINT64_MAX: never used again). Called with the
	 * manager's lock held: it must not call vidmm, block or take long.
	 * NULL: belady keeps LRU order. Other policies never call it. */
	uint64_t (*next_use)(void *arg, vidmm_handle_t h);
	void *next_use_arg;
	/* Trace hook (NULL: none; the USDT probes fire either way). Fixed at
	 * vidmm_init: it cannot change while the manager runs. */
	vidmm_trace_fn trace;
	void *trace_arg;
};

/* Driver-owned segment memory (GART tables, fence buffers): never paged. */
struct vidmm_segment_memory {
	uint32_t segment;
	uint64_t gpu_addr;
	uint64_t size;
	void *cpu;      /* CPU mapping, or NULL if the segment is not CPU-visible */
	void *internal; /* owned by vidmm */
};

struct vidmm_alloc_desc {
	uint64_t size;
	uint64_t alignment;         /* 0 = page; else a power of two */
	enum vidmm_priority priority;
	uint32_t flags;             /* VIDMM_ALLOC_* */
	uint32_t n_preferred;       /* 0 = any suitable segment, local first */
	uint32_t preferred[VIDMM_MAX_PREFERRED]; /* segment ids in order of preference */
};

enum vidmm_residency {
	VIDMM_RESIDENT = 0, /* in a segment */
	VIDMM_EVICTED,      /* paged out: data in system pages only */
	VIDMM_SWAPPED,      /* swapped out: data on disk only */
};

struct vidmm_alloc_info {
	uint64_t size;
	enum vidmm_priority priority;
	uint32_t flags;
	enum vidmm_residency residency;
	uint32_t segment;  /* valid when resident */
	uint64_t gpu_addr; /* valid when resident */
};

struct vidmm_segment_info {
	uint32_t id;
	char name[VIDMM_CHIP_NAME_LEN];
	uint32_t flags;    /* VIDMM_SEG_* */
	uint64_t base;
	uint64_t size;
	int32_t parent;    /* the paging segment: id of the PCIe segment it was carved from; else -1 */
};

struct vidmm_segment_stats {
	uint64_t total;
	uint64_t free;
	uint64_t largest_free;
	uint64_t pagable_bytes[VIDMM_PRIO_COUNT];
	uint64_t pagable_count[VIDMM_PRIO_COUNT];
	uint64_t unpagable_bytes;
	uint64_t unpagable_count;
	uint64_t driver_bytes;   /* vidmm_allocate_segment_memory ranges */
	uint64_t driver_count;
};

/* Kinds of swap faults the test hook vidmm_debug_swap_fault injects. */
enum vidmm_swap_fault {
	VIDMM_SWAP_FAULT_WRITE = 0, /* a write I/O fails with -EIO */
	VIDMM_SWAP_FAULT_READ,      /* a read I/O fails with -EIO */
	VIDMM_SWAP_FAULT_SHORT,     /* an I/O completes short (both directions) */
	VIDMM_SWAP_FAULT_FULL,      /* a slot allocation is refused: the file is "full" */
	VIDMM_SWAP_FAULT_CORRUPT,   /* a byte of a slot just written is flipped on disk */
	VIDMM_SWAP_FAULT_KINDS
};

struct vidmm_stats {
	uint32_t nsegments;
	struct vidmm_segment_stats seg[VIDMM_MAX_SEGMENTS];
	uint64_t gart_pages;          /* GART entries */
	uint64_t gart_mapped_pages;   /* entries not pointing at the dummy page */
	uint64_t gart_invalidations;  /* TLB invalidate commands written */
	uint64_t sysmem_pages_used;
	uint64_t sysmem_pages_budget;
	uint64_t sysmem_pages_reserve;
	uint64_t allocations;         /* live client allocations */
	uint64_t alloc_failures;
	uint64_t dummy_page_faults;   /* from the chip's fault report */
	uint64_t stale_tlb_hits;      /* from the chip's fault report */

	/* residency */
	uint64_t page_outs, page_ins;
	uint64_t bytes_paged_out, bytes_paged_in;   /* allocation bytes */
	uint64_t bytes_copied_window;               /* bytes moved by GPU copies through windows */
	uint64_t bytes_copied_bounce;               /* GPU + CPU copies in bounce mode */
	uint64_t pcie_remaps;                       /* PCIe page-ins/outs without a copy */
	uint64_t evictions_by_priority[VIDMM_PRIO_COUNT];
	uint64_t busy_waits;                        /* waits for a busy victim's fence */
	uint64_t throttled_moves;                   /* page-ins past the submit budget: placed
						     * where room was free rather than evicting */
	uint64_t bounces;                           /* in and out again within the window */
	uint64_t deferred_destroys;                 /* destroyed while busy, freed later */
	uint64_t copy_failures;                     /* page-out/in copies the engine failed */
	uint64_t copy_timeouts;                     /* paging copies not finished within the fence timeout */
	uint64_t migrations;                        /* moved to a CPU-visible segment for a lock (one copy) */
	uint64_t cleared_bytes;                     /* new allocations' bytes zeroed by a GPU fill */
	uint64_t clears;                            /* clears issued (retries included) */
	uint64_t clear_retries;                     /* clears issued again after the engine failed one */
	uint64_t ring_full_waits;                   /* chip commands refused (ring full): waited, locks dropped */
	uint64_t paging_cpu_waits;                  /* times a thread waited on the CPU for a paging
						     * or clear fence (copies, busy victims, clears) */
	uint64_t pipelined_page_ins;                /* page-ins whose copies were left to the GPU to
						     * order (cfg.pipelined_paging) */
	uint64_t pipeline_stalls;                   /* pipelined page-ins that waited for windows */
	uint64_t busy_pageouts;                     /* busy victims paged out with their copies
						     * queued after their jobs (pipelined) */
	uint64_t pipeline_copy_retries;             /* pipelined page-in copies issued again after
						     * the engine failed one */
	uint64_t quarantined_bytes;                 /* now: range and frame bytes a late copy may still write */
	uint64_t late_unmapped_pages;               /* GART pages unmapped under a copy that had not
						     * finished: each may show up once as a dummy-page
						     * access when that copy runs late */
	uint64_t submits, locks;
	uint64_t fast_submits;                      /* of submits, queued under the allocations'
						     * reservations alone (no manager lock) */
	uint64_t evicted_allocations, evicted_bytes;/* now: paged out, in system pages */

	/* swap */
	uint64_t swap_outs, swap_ins;               /* allocations */
	uint64_t bytes_swapped_out, bytes_swapped_in;
	uint64_t swapped_allocations, swapped_bytes;/* now: on disk only */
	uint64_t swap_write_errors, swap_read_errors;
	uint64_t swap_full;                         /* swap-outs refused: no room in the file */
	uint64_t swap_readaheads;                   /* allocations read back with another's
						     * swap-in or by the read-ahead thread, before
						     * their own use (in swap_ins) */
	uint64_t swap_async_readaheads;             /* of those, read in asynchronous windows (by
						     * the read-ahead thread, or by a user that
						     * needed one before the thread started it) */
	uint64_t reclaim_runs;                      /* background reclaim passes that swapped */
	uint64_t reclaimed_bytes;                   /* bytes swapped out by background reclaim */
	/* filled from the swap store at query time */
	uint64_t swap_file_bytes, swap_used_bytes;
	uint64_t swap_checksum_failures;
	uint64_t swap_injected[VIDMM_SWAP_FAULT_KINDS]; /* test hooks: faults injected, by kind */
	uint32_t swap_queue_depth_reached;
	uint32_t swap_read_queue_depth_reached;     /* the same, reads only */
	uint32_t swap_ring_flags;                   /* IORING_SETUP_* obtained */
	char swap_io_mode[16];                      /* "direct", "buffered" or "" (no swap) */
	char swap_buffer_mode[16];                  /* "registered", "plain", "mixed" */
};

/* ---- manager ------------------------------------------------------------ */

/*
 * Build the manager for one adapter (the note's vidmm_init): take segment
 * descriptors from the chip, one heap per segment, carve the paging segment
 * top-down from a PCIe segment, allocate the dummy page, build the GART (L1 in
 * MMIO, L2/L3 from CPU-visible local memory, every entry -> dummy page) and
 * enable the MMU. Errors: -EINVAL for an inconsistent configuration (paging
 * window larger than its segment, overlapping segments, a GART too small for
 * the PCIe segments, an unknown paging_mode, an incomplete chip ops table),
 * -ENOMEM; with a swap file: -ENOENT, -ENOTDIR, -EACCES, -EPERM, -EROFS or
 * -ENAMETOOLONG for a swap_dir that cannot hold it, -ENOSPC when the file
 * system cannot preallocate swap_size, -EIO for any other failure of the
 * file. vidmm_init_error() says which.
 */
int vidmm_init(const struct vidmm_config *cfg, vidmm_t **out);

/* Tear down in reverse order. Live allocations are destroyed. */
void vidmm_destroy(vidmm_t *vm);

/* The reason for the last vidmm_init failure in this thread (one line). */
const char *vidmm_init_error(void);

/* ---- segment memory (driver-owned, never paged) --------------------------- */

/*
 * Take size bytes (page-rounded) aligned to align from segment seg. For a PCIe
 * segment, back the range with system pages and enter them into the GART.
 * -EINVAL bad argument (NULL, zero size, unknown or paging segment, bad
 * alignment), -ENOSPC no range, -ENOMEM no system pages.
 */
int vidmm_allocate_segment_memory(vidmm_t *vm, uint32_t seg, uint64_t size,
				  uint64_t align, uint32_t flags,
				  struct vidmm_segment_memory *out);
/* Give it back; GART entries go back to the dummy page. -EINVAL for a
 * descriptor this manager did not hand out (nothing is touched then). */
int vidmm_release_segment_memory(vidmm_t *vm, struct vidmm_segment_memory *mem);

/* ---- allocations ----------------------------------------------------------- */

/*
 * Create a client allocation: placement over the preferred segments in order
 * (then any other suitable one), PCIe placements backed by system pages and
 * mapped, a fence slot bound, and the allocation put on its segment's
 * unpagable list or the pagable list of its priority. Placement first looks
 * for free room in every allowed segment, in order, and pages others out
 * only when none has room. The new range is cleared on a copy engine (the
 * fill is queued, not waited for: its first use waits).
 * Errors: -EINVAL bad descriptor (NULL, zero size, bad alignment, bad
 * priority, unknown flag, unknown, unsuitable or repeated preferred segment,
 * an alignment larger than every allowed segment); -ENOSPC (also for a size
 * larger than every allowed segment), -EBUSY, -ENOMEM as above; -EIO the
 * copy engine refused the clear.
 */
int vidmm_create_allocation(vidmm_t *vm, const struct vidmm_alloc_desc *desc,
			    vidmm_handle_t *out);
/*
 * Destroy: the handle stops working at once; the memory is freed when the
 * GPU work recorded on it has finished and no call in progress still uses it
 * (deferred destroy). -EBADF a stale, forged or already destroyed handle;
 * -EBUSY while it is CPU-locked (vidmm_unlock it first: its CPU pointer must
 * not outlive it); -EINVAL NULL vm. Nothing changes on error.
 */
int vidmm_destroy_allocation(vidmm_t *vm, vidmm_handle_t h);
/* -EINVAL NULL argument, -EBADF bad handle. */
int vidmm_query_allocation(vidmm_t *vm, vidmm_handle_t h,
			   struct vidmm_alloc_info *out);

/* ---- queries --------------------------------------------------------------- */

/* Fill out[0..max) and *count with the segments (the paging segment
 * included). -EINVAL NULL count, or NULL out with max > 0. */
int vidmm_query_segments(vidmm_t *vm, struct vidmm_segment_info *out,
			 uint32_t max, uint32_t *count);
/* -EINVAL NULL argument. */
int vidmm_query_stats(vidmm_t *vm, struct vidmm_stats *out);

/*
 * Verify every invariant (ARCHITECTURE.md section 7): heaps and lists agree
 * (allocated ranges and holes tile each segment exactly), list bytes add up,
 * every GART entry not backing a live range is the dummy page and every live
 * page maps its own system frame, system-page accounting adds up, the
 * paging segment lies inside its parent, and every allocation is in a state
 * allocation.c allows (CPU-locked ones resident where the CPU sees them,
 * unpagable ones resident, transient ranges of calls in progress accounted
 * for). Returns 0, -EUCLEAN (the first violation is described by
 * vidmm_check_error()), -ENOMEM (no host memory to check with) or -EINVAL
 * (NULL vm).
 */
int vidmm_check(vidmm_t *vm);
const char *vidmm_check_error(vidmm_t *vm);

/* ---- fences, jobs, CPU access (residency) ----------------------------------- */

/* A point on one engine's timeline. */
struct vidmm_fence {
	uint32_t engine; /* chip engine id */
	uint64_t value;
};

struct vidmm_job_ref {
	vidmm_handle_t handle;
	uint32_t access;  /* VIDMM_ACCESS_READ / _WRITE (chip.h) */
};

/*
 * A GPU job on a job engine: an operation (chip.h enum vidmm_job_op) over up
 * to VIDMM_JOB_MAX_REFS allocations, each referenced whole.
 */
struct vidmm_job {
	enum vidmm_job_op op;
	uint64_t seed;
	uint32_t engine;  /* job engine index, 0 .. n_job-1 */
	uint32_t nrefs;
	struct vidmm_job_ref refs[VIDMM_JOB_MAX_REFS];
	uint64_t *result; /* written when the fence signals (VERIFY: mismatches) */
};

/*
 * Submit a job: make every referenced allocation resident (paging in, and
 * paging others out to make room), record the job's fence on each as a read
 * or write, and move them to the most recently used end of their list. They
 * cannot be paged out until the fence signals. *fence (may be NULL) is the
 * job's completion. The job starts after any clear of a new allocation it
 * references. The same allocation may be referenced by jobs of several
 * threads at once.
 * Errors: -EINVAL a bad job (NULL, no refs or too many, unknown op or engine,
 * COPY without exactly 2 refs, a ref without READ or WRITE access); -EBADF a
 * bad handle, or one destroyed during the call; -ENOSPC / -EBUSY / -ENOMEM
 * when the allocations cannot all be made resident (-EBUSY also when another
 * thread kept one moving past the fence timeout); -EIO a page-in copy failed
 * or a swap-in read failed its checksum (the data stays where it was);
 * -ETIMEDOUT a page-in copy, or the job engine's full ring, did not finish
 * within the fence timeout. On error nothing was submitted.
 */
int vidmm_submit(vidmm_t *vm, const struct vidmm_job *job, struct vidmm_fence *fence);

/* Wait until the fence has signalled, at most timeout_ns: 0, -ETIMEDOUT, or
 * -EINVAL (NULL vm, an unknown engine, a fence never issued). */
int vidmm_wait_fence(vidmm_t *vm, struct vidmm_fence fence, uint64_t timeout_ns);
/*
 * Wait until every command the manager has queued so far (client jobs,
 * paging copies, clears of new allocations) has completed, at most
 * timeout_ns, then free what destroyed allocations and late copies still
 * held. A quiescent point for tests, benchmarks and teardown, like
 * vkDeviceWaitIdle. 0, -ETIMEDOUT, -EINVAL (NULL vm).
 */
int vidmm_wait_idle(vidmm_t *vm, uint64_t timeout_ns);

/*
 * The outcome of the command a fence belongs to: 0 done, -EINPROGRESS not
 * yet, -EIO the engine failed it (a job that failed wrote nothing it was
 * asked to: what it was to write is lost, and the API says so here),
 * -ENODATA too old to tell, -EINVAL (NULL vm, unknown engine, a fence
 * never issued).
 */
int vidmm_fence_status(vidmm_t *vm, struct vidmm_fence fence);

/* Non-blocking: true when signalled. */
bool vidmm_fence_signalled(vidmm_t *vm, struct vidmm_fence fence);

/*
 * CPU access (the note's lock): make the allocation resident in a CPU-visible
 * segment, wait for its GPU work, pin it and return a CPU pointer valid until
 * vidmm_unlock. Locks nest (a count, shared by every thread: the first lock
 * maps, the last unlock unmaps). An allocation resident where the CPU cannot
 * see it moves to a CPU-visible segment with one GPU copy; room is found
 * there first, so a failed lock leaves it where it was.
 * Errors: -EINVAL NULL cpu, or an allocation the CPU can never see (no
 * allowed segment is CPU-visible, or it is unpagable and resident where the
 * CPU cannot see it: unpagable allocations never move); -EBADF bad handle,
 * or destroyed during the call; -ENOSPC / -EBUSY / -ENOMEM no room in a
 * CPU-visible segment; -EIO a copy or swap-in failed, or the chip could not
 * map the range; -ETIMEDOUT its GPU work, or the copy that moves it, did not
 * finish within the fence timeout.
 */
int vidmm_lock(vidmm_t *vm, vidmm_handle_t h, void **cpu);
/* -EBADF bad handle, -EINVAL not locked (or NULL vm). */
int vidmm_unlock(vidmm_t *vm, vidmm_handle_t h);

/*
 * Page an allocation out now (tests, tools); 0 if it is not resident.
 * -EBADF bad handle; -EBUSY it is busy on the GPU, locked, unpagable, used
 * by a call in progress or being moved; -ENOMEM no system pages to hold it;
 * -EIO the copy failed; -ETIMEDOUT the copy did not finish within the fence
 * timeout. It stays resident with its data on every error.
 */
int vidmm_evict(vidmm_t *vm, vidmm_handle_t h);

/*
 * Swap it out to disk now, wherever it is (a resident one goes straight from
 * its segment to the file: its range is given up only once the write has
 * succeeded); 0 if already swapped. -EBADF bad handle; -ENODEV no swap file;
 * -EBUSY as for vidmm_evict; -ENOSPC the file is full; -ENOMEM no system
 * pages to stage it in; -EIO the copy or the write failed; -ETIMEDOUT the
 * copy did not finish in time. It stays where it was, with its data, on
 * every error.
 */
int vidmm_swap_out(vidmm_t *vm, vidmm_handle_t h);

/* One entry of the swapped list (oldest first). */
struct vidmm_swapped_info {
	vidmm_handle_t handle;
	uint64_t size;
	enum vidmm_priority priority;
	uint64_t age_ns;   /* time since it was swapped out */
};
/* Enumerate the swapped list: fill out[0..max), *count = how many there are.
 * -EINVAL NULL count, or NULL out with max > 0. */
int vidmm_query_swapped(vidmm_t *vm, struct vidmm_swapped_info *out, uint32_t max,
			uint32_t *count);

/* ---- latency histograms (stats.c) ------------------------------------------- */

/*
 * A log-linear histogram of nanosecond values: exact below 32, then 32
 * linear sub-buckets per power of two, so any percentile read from it is
 * within 1/32 (3.1%) of the true sample value. Histograms merge by adding
 * buckets, so per-thread histograms merged give the same percentiles as one
 * histogram of all samples.
 */
#define VIDMM_HIST_SUB_BITS 5
#define VIDMM_HIST_BUCKETS ((64 - VIDMM_HIST_SUB_BITS + 1) << VIDMM_HIST_SUB_BITS)

struct vidmm_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t min, max;
	uint64_t buckets[VIDMM_HIST_BUCKETS];
};

enum vidmm_hist_id {
	VIDMM_HIST_PAGE_OUT = 0, /* one allocation paged out, start to range freed */
	VIDMM_HIST_PAGE_IN,      /* one allocation made resident again */
	VIDMM_HIST_SUBMIT,       /* vidmm_submit, call to return */
	VIDMM_HIST_LOCK,         /* vidmm_lock, call to return */
	VIDMM_HIST_SWAP_OUT,     /* one swap-out batch, per allocation in it */
	VIDMM_HIST_SWAP_IN,      /* one allocation read back from swap */
	VIDMM_HIST_COUNT,
	/* I/O level, from the swap store: submission to completion */
	VIDMM_HIST_SWAP_WRITE_IO = VIDMM_HIST_COUNT,
	VIDMM_HIST_SWAP_READ_IO,
};

void vidmm_hist_init(struct vidmm_hist *h);
void vidmm_hist_record(struct vidmm_hist *h, uint64_t ns);
void vidmm_hist_merge(struct vidmm_hist *into, const struct vidmm_hist *from);
/* out = a - b, bucket by bucket (b an earlier snapshot of the histogram a):
 * the samples recorded between the two. min and max do not subtract: the
 * bounds of the lowest and highest non-empty buckets stand in for them. */
void vidmm_hist_sub(struct vidmm_hist *out, const struct vidmm_hist *a,
		    const struct vidmm_hist *b);
/* Value at quantile q (0..1): the upper edge of the bucket holding it,
 * clamped to [min, max]. 0 for an empty histogram. */
uint64_t vidmm_hist_quantile(const struct vidmm_hist *h, double q);
/* Bucket index of a value, and the [lo, hi] values a bucket holds. */
uint32_t vidmm_hist_bucket(uint64_t ns);
void vidmm_hist_bucket_range(uint32_t b, uint64_t *lo, uint64_t *hi);
/* Copy out one of the manager's histograms. -EINVAL unknown id or NULL,
 * -ENOMEM. */
int vidmm_query_histogram(vidmm_t *vm, enum vidmm_hist_id id, struct vidmm_hist *out);

/*
 * Lock statistics, per lock class: how often the class's lock was taken, how
 * often and how long a taker waited, and how long it was held (sampled: one
 * acquisition in 16). Always collected; the cost is a trylock and a counter
 * per uncontended acquisition. The enum grows as locks are split.
 */
enum vidmm_lock_class {
	VIDMM_LOCK_MANAGER = 0, /* the manager's lock: every core entry point */
	VIDMM_LOCK_SWAP_STORE,  /* the swap store's (slots, rings); all zero without swap */
	VIDMM_LOCK_RESV,        /* allocations' reservations, all of them as one class:
				 * taken by resident submits instead of the manager's
				 * lock. Counted per thread group, merged here; hold
				 * times sampled one in 16 */
	VIDMM_LOCK_CLASSES,
};

struct vidmm_lock_stats {
	uint64_t acquisitions;  /* times taken (condvar re-acquisitions included) */
	uint64_t contended;     /* of those, times the taker had to wait (not timed
				 * or counted after a condvar wait) */
	struct vidmm_hist wait; /* ns waited, one sample per contended acquisition */
	struct vidmm_hist hold; /* ns held, one sample per 16 acquisitions */
};

/* Name of a lock class ("manager", "swap store"), or NULL for an unknown one. */
const char *vidmm_lock_class_name(enum vidmm_lock_class cls);
/* Copy out one class's statistics. -EINVAL unknown class or NULL. */
int vidmm_query_lock_stats(vidmm_t *vm, enum vidmm_lock_class cls, struct vidmm_lock_stats *out);

/* ---- test hooks (fault injection; not for production use) --------------------- */

/* The next n swap I/Os in one direction fail with err (a negative errno), or
 * complete short when err is 0. -ENODEV without a swap file. */
int vidmm_debug_swap_inject(vidmm_t *vm, bool on_write, int err, unsigned n);
/* Random swap faults: from now on each event of the kind happens with
 * probability p, from a stream seeded with seed; p 0 stops that kind.
 * -ENODEV without a swap file, -EINVAL for a bad kind or p outside [0, 1]. */
int vidmm_debug_swap_fault(vidmm_t *vm, enum vidmm_swap_fault kind, double p, uint64_t seed);
/* Pause (on = false) or resume the asynchronous read-ahead, so that a
 * benchmark compares both in one manager; what is queued still runs.
 * -ENODEV without a swap file or with vidmm_config.no_async_readahead. */
int vidmm_debug_async_readahead(vidmm_t *vm, bool on);
/* Hold the read-ahead thread: windows are still picked and queued, but none
 * starts until released, so tests can reach the queued state. -ENODEV as
 * vidmm_debug_async_readahead. */
int vidmm_debug_readahead_hold(vidmm_t *vm, bool hold);
/* Turn the resident-submit fast path off (every submit then takes the
 * manager's lock, as vidmm_config.no_fast_submit) or back on, so that a
 * benchmark compares both in one manager. -EINVAL for a NULL manager. */
int vidmm_debug_fast_submit(vidmm_t *vm, bool on);
/* Call fn(arg) at the start of every eviction scan, inside it (the
 * manager's lock held), so a test can make a scan as long as it likes
 * (SUBMIT-NO-GLOBAL-LOCK); fn NULL removes it. fn must not call the
 * manager. -EINVAL for a NULL manager. */
int vidmm_debug_evict_scan_hook(vidmm_t *vm, void (*fn)(void *), void *arg);
/* Call fn(arg) in the locked submit path, each time between queueing a job
 * and recording its fences on the allocations (the manager's lock held), so
 * a test can queue a fast submit in that window (FENCE-ORDER-LOCKED-VS-FAST);
 * fn NULL removes it. fn must not call the manager on its own thread.
 * -EINVAL for a NULL manager. */
int vidmm_debug_locked_submit_hook(vidmm_t *vm, void (*fn)(void *), void *arg);
/* The swap file's descriptor (tests corrupt it through pwrite), or -ENODEV. */
int vidmm_debug_swap_fd(vidmm_t *vm);
/* Take the manager's lock while holding the swap store's: the inversion of
 * the documented order. A build with assertions aborts with a report (the
 * lock-order check, core/lockstat.h); -ENOTSUP in a build without them,
 * -ENODEV without a swap file. For LOCK-ORDER-ASSERT only. */
int vidmm_debug_lock_inversion(vidmm_t *vm);

/* Text for a negative errno returned by any vidmm function. */
const char *vidmm_strerror(int err);

/* The eviction policies (vidmm_config.evict_policy): the name and a one-line
 * description of policy i, or NULL past the last. Index 0 is the default. */
const char *vidmm_evict_policy_name(unsigned i);
const char *vidmm_evict_policy_description(unsigned i);

#ifdef __cplusplus
}
#endif

#endif /* VIDMM_H */
