/* SPDX-License-Identifier: MIT */
/*
 * emu_internal.h - what emu.c, mmu.c and engine.c share: struct emu, the TLB
 * and cursor types, and the functions each file exports to the others.
 *
 * Owns: the layout of the emulated chip's state and who may touch what
 * (locking rules below). Must not: be included outside drivers/emu/.
 *
 * Locking, one rule per shared structure:
 *  - Profile copy, geometry, mappings (local, pool, zero page), engine array:
 *    written once in emu_create before any thread starts, read-only after.
 *  - MMIO register file (regs[]): _Atomic words; any thread stores, any thread
 *    loads (relaxed). Writes with side effects (INVAL_TRIGGER, MMU_ENABLE)
 *    go through mmu_invalidate, which publishes via inval_lock/inval_gen.
 *  - Local memory and the RAM pool: not locked. Page-table entries in local
 *    memory are read with relaxed atomic loads because the CPU rewrites
 *    entries of other pages while engines walk; the data itself is ordered by
 *    the submit (engine lock) and fence (release/acquire) protocol.
 *  - Invalidation log (inval_log[], inval_gen): inval_lock protects the log;
 *    inval_gen is also stored with release while holding it, so a TLB owner
 *    can check for news with one acquire load and only lock when it changed.
 *  - Each engine's TLB: owned by that engine's thread, no lock. The CPU-side
 *    TLB used by emu_gpu_read/write is protected by cpu_lock.
 *  - Fault counters and statistics: _Atomic, relaxed (monotonic counters with
 *    no ordering duty).
 *  - Engine ring, fences and injection state: see struct emu_engine.
 *  - Interrupt callback: irq_lock protects the (fn, arg) pair.
 */
#ifndef VIDMM_EMU_INTERNAL_H
#define VIDMM_EMU_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "emu.h"

/* USDT probes of the emulated chip (provider "vidmm", like the core's; the
 * table is in docs/perf-analysis.md): one nop each while nothing attaches. */
#ifdef VIDMM_HAVE_SDT
#include <sys/sdt.h>
#define EMU_PROBE4(name, a0, a1, a2, a3) \
	DTRACE_PROBE4(vidmm, name, (uint64_t)(a0), (uint64_t)(a1), (uint64_t)(a2), (uint64_t)(a3))
#else
#define EMU_PROBE4(name, a0, a1, a2, a3) \
	do {                             \
	} while (0)
#endif

/* First frame number of the RAM pool: frames below it are "not RAM" and
 * PROT_NONE, so a core that writes pool indices instead of frames faults. */
#define EMU_FIRST_PFN 0x100u
#define EMU_RING_SIZE 64u      /* commands per engine ring */
#define EMU_INVAL_LOG 64u      /* invalidations remembered for lazy TLB sync */
#define EMU_ERR_HIST 1024u     /* failed fences remembered per engine */
#define EMU_ENGINE_SPIN_NS 0u     /* idle engines sleep at once: polling threads steal the copy's core on small machines */
/* fence_wait polls this long before sleeping: a paging copy of a few MiB
 * finishes within it, and in a VM a futex wake-up costs tens of microseconds,
 * which the waiter would add to every copy. But a spinner holds a CPU the
 * engine may need: on 2 vCPUs with the job engine busy, spinning while the
 * copy engine waited for a CPU cost oversubscribe 5x its throughput
 * (docs/perf-analysis.md). So a waiter spins only when a CPU is left for it,
 * and for its engine unless that is already running, besides every running
 * engine and every other spinner (emu.cpu_wanted); with one CPU it never
 * spins (emu_create sets wait_spin_ns). */
#define EMU_WAIT_SPIN_NS 250000u
#define EMU_NREGS (EMU_MMIO_SIZE / 4)
#define EMU_L1_REGS ((EMU_MMIO_SIZE - EMU_MMIO_MMU_START_ADDRESS) / 4)

/* Outcome of a page-table walk. */
enum xl_kind {
	XL_OK = 0,      /* a frame of the RAM pool (possibly the dummy frame) */
	XL_UNMAPPED,    /* an invalid entry at some level, or the MMU disabled */
	XL_BADTABLE,    /* an L1/L2 entry names a table outside local memory */
	XL_BADFRAME,    /* an L3 entry names a frame outside the RAM pool */
};

struct xl {
	uint64_t pfn;
	uint8_t kind;
	uint8_t snoop;
};

struct tlb_entry {
	uint64_t tag; /* page index + 1; 0 = empty */
	uint64_t pfn;
	uint8_t kind;
	uint8_t snoop;
};

/* A direct-mapped TLB. Single owner (see the locking rules above). */
struct tlb {
	struct tlb_entry *ent;
	uint32_t mask;
	uint64_t seen_gen;   /* last invalidation applied */
	uint64_t hits, misses, flushes; /* owner-only; published to stats */
};

struct emu_cmd {
	enum { CMD_COPY, CMD_FILL, CMD_JOB } type;
	uint64_t fence;
	bool inject_fail;
	uint64_t delay_ns;       /* fence signals this long after the work */
	uint64_t start_delay_ns; /* the work starts this long after the engine takes it */
	uint64_t dst, src, size;
	uint32_t pattern;
	uint64_t t_submit_ns;    /* for the timeline (emu_set_trace) */
	uint32_t ndeps;          /* fences to wait for before starting (chip.h) */
	/* Copied only up to ndeps and, for a job, nrefs: see copy_cmd. */
	struct vidmm_chip_dep deps[VIDMM_CHIP_MAX_DEPS];
	struct vidmm_chip_job job;
};

struct emu_err_rec {
	uint64_t fence;
	int err;
};

/*
 * One engine: a thread fed by a bounded ring, the way a GPU front end reads
 * the ring the driver writes: submitters append under lock and publish the
 * write pointer; the engine thread takes commands and completes them without
 * the lock, so a submit never waits for the engine (and the engine never
 * for a submit) in steady state.
 *
 * lock protects: appending to ring[] (wptr moves only under it), ring_full,
 * issued, sleeping, the injection counters and the error history; hung, stop
 * and reset_gen are written under it and read by the engine without it.
 * Condvars, all used with lock: work (the engine thread sleeps on it when the
 * ring is empty or the engine hung, and a delay sleeps on it so that a reset
 * or stop cuts it short), done (fence waiters and emu_reset_engine waiting
 * for the running command). Submitters never wait: a full ring is -EAGAIN.
 *
 * Taking a command (engine thread): in_pop = 1, reset_gen read, hung and
 * stop read, wptr read (acquire), hung and stop read again, the slot at rptr
 * copied, executing set, rptr advanced (release), in_pop = 0, all seq_cst. emu_reset_engine sets hung, then waits until in_pop is 0
 * and executing is 0: from then on the engine cannot take a command, and the
 * reset is the ring's only reader until it clears hung (the store/load pairs
 * on hung and in_pop are Dekker's: one side always sees the other). Resets
 * are serialised by reset_lock, since the first to finish clears hung.
 * Completing: completed is stored (seq_cst) before executing is cleared, and
 * then, only if waiters is non-zero, done is broadcast under lock; a waiter
 * raises waiters under lock before it reads completed. So the engine takes
 * the lock only for a delay, an error, or a waiter.
 * submits mirrors issued so that an idle engine can poll for work without
 * the lock. tlb is the engine thread's alone. The stat_* fields are relaxed
 * atomics written by the engine thread, read by anyone.
 */
struct emu_engine {
	struct emu *e;
	uint32_t id;
	bool is_job;
	pthread_t thread;
	bool thread_started;

	/* Written by submitters (under lock). The three groups sit on their
	 * own cache lines: an engine taking and completing commands and a
	 * client submitting more do not pull each other's lines. */
	_Alignas(64) pthread_mutex_t lock;
	pthread_cond_t work, done;
	struct emu_cmd *ring;
	_Atomic uint64_t wptr; /* commands appended (slot: wptr % EMU_RING_SIZE) */
	uint64_t rptr_seen;  /* rptr as last read: reread only when the ring looks full */
	uint64_t ring_full;  /* submits refused with -EAGAIN */
	uint64_t issued;     /* last fence handed out */
	_Atomic uint64_t submits; /* mirror of issued, for the idle poll */
	bool sleeping;        /* the engine thread waits on work */

	/* Written by the engine thread, per command. */
	_Alignas(64) _Atomic uint64_t rptr; /* taken by the engine or aborted by a reset */
	_Atomic uint64_t executing; /* fence of the command running, 0 if none */
	_Atomic uint64_t completed;
	_Atomic bool in_pop;  /* the engine is taking a command (see above) */
	/* The engine thread holds a command and is on a CPU running it: only
	 * then can a waiter's spin pay off (emu_fence_wait). */
	_Atomic bool running;

	/* Read by the engine per command, written seldom. */
	_Alignas(64) _Atomic bool hung, stop;
	pthread_mutex_t reset_lock; /* one emu_reset_engine at a time; before lock */
	_Atomic uint32_t waiters; /* threads in a wait on done */
	_Atomic uint64_t reset_gen;
	uint32_t inject_fail_n;
	uint32_t inject_delay_n;
	uint64_t inject_delay_ns;
	uint32_t inject_start_n;
	uint64_t inject_start_ns;
	/* Random faults (emu_inject_random): per-command probabilities in
	 * 2^-32 units, drawn from a seeded stream in submission order, so a
	 * run with the same commands gets the same faults. */
	uint32_t rnd_fail, rnd_fence, rnd_start;
	uint64_t rnd_fence_ns, rnd_start_ns;
	uint64_t rnd_state;
	uint64_t injected[EMU_FAULT_KINDS];
	struct emu_err_rec errs[EMU_ERR_HIST];
	uint32_t err_head, err_count; /* ring of the newest failures */
	uint64_t err_lost_upto;       /* failures at or below this were dropped */

	struct tlb tlb;

	_Alignas(64) _Atomic uint64_t stat_commands, stat_bytes, stat_busy_ns;
	_Atomic uint64_t stat_tlb_hits, stat_tlb_misses, stat_tlb_flushes;
};

struct emu {
	struct vidmm_profile prof;

	/* Geometry (read-only after create). */
	uint64_t local_size, local_pages;
	uint64_t pcie_base, pcie_size, pcie_pages, snooped_pages;
	uint32_t page_shift;
	uint64_t page_size;
	uint32_t entry_bytes, per_table, per_table_shift;

	uint8_t *local;       /* local memory, GPU address 0 */
	uint8_t *pool_map;    /* RAM pool mapping: frame 0 at pool_map */
	size_t pool_map_len;
	uint64_t pool_first, pool_npages;
	uint8_t *zero_page;   /* read through unmapped entries when no valid dummy frame */

	_Atomic uint32_t regs[EMU_NREGS];

	pthread_mutex_t inval_lock;
	struct { uint32_t first, count; } inval_log[EMU_INVAL_LOG];
	_Atomic uint64_t inval_gen;

	_Atomic bool tlb_check;
	_Atomic bool null_touch; /* emu_set_null_touch */
	uint64_t wait_spin_ns;    /* set once at create: EMU_WAIT_SPIN_NS or 0 */
	long ncpus;               /* online CPUs, at create */
	/* Threads that want a CPU now: engines running a command, waiters
	 * spinning. A waiter spins only if it would not push this past ncpus. */
	_Atomic int cpu_wanted;
	/* And only if the machine has an idle CPU, measured: the kernel's count
	 * of runnable threads (/proc/loadavg, every process's, clients and
	 * other programs included), read at most once a millisecond. */
	int loadavg_fd;                 /* -1: not readable, the count is unknown */
	_Atomic uint64_t runnable_at_ns; /* when runnable was read */
	_Atomic int runnable;
	_Atomic uint64_t waits_spun, waits_not_spun_busy;

	pthread_mutex_t cpu_lock;
	struct tlb cpu_tlb;

	_Atomic uint64_t f_dummy, f_unmapped, f_stale, f_oor, f_copy_err;
	_Atomic uint64_t snoop_mismatch, invalidations;

	pthread_mutex_t irq_lock;
	emu_interrupt_fn irq_fn;
	void *irq_arg;

	/* Set before the first submit (emu_set_trace), read by the engines
	 * after they take a command: the engine lock orders the two. */
	emu_trace_fn trace_fn;
	void *trace_arg;

	uint32_t n_engines, n_copy;
	struct emu_engine *engines;
};

/* ---- mmu.c ---- */

int tlb_init(struct tlb *t, uint32_t entries);
void tlb_fini(struct tlb *t);

/* Walk the page table for aperture page idx, without any TLB (a disabled
 * MMU translates nothing: XL_UNMAPPED). */
struct xl mmu_walk(struct emu *e, uint64_t idx);
/* The same walk, whether the MMU is enabled or not (emu_walk). */
struct xl mmu_walk_tables(struct emu *e, uint64_t idx);
/* Translate aperture page idx through t (refill on miss, stale check on hit). */
struct xl mmu_translate(struct emu *e, struct tlb *t, uint64_t idx);
/* Record an invalidation of [first, first+count) pages (count 0 = all). */
void mmu_invalidate(struct emu *e, uint32_t first, uint32_t count);

/*
 * A cursor walks a GPU range in host-contiguous chunks: a local range is one
 * chunk; an aperture range is translated page by page through the TLB and
 * physically contiguous frames are merged into one chunk, so a copy costs one
 * memcpy per physically contiguous run. Each page is translated (and its
 * faults counted) exactly once per cursor.
 */
struct cursor {
	struct emu *e;
	struct tlb *t;
	uint64_t addr, end;   /* not yet chunked: [addr, end) */
	uint8_t *host;        /* current chunk */
	uint64_t len;         /* bytes left in the current chunk */
	bool dummy;           /* chunk is the dummy page: reads see it, writes drop */
	bool have_next;       /* a translation already made for page next_idx */
	uint64_t next_idx;
	struct xl next_xl;
};

/* 0, or -EFAULT (counted in out_of_range) if [addr, addr+len) is not wholly
 * inside local memory or wholly inside the aperture. */
int emu_range_check(struct emu *e, uint64_t addr, uint64_t len);
void cursor_init(struct cursor *c, struct emu *e, struct tlb *t, uint64_t addr, uint64_t len);
/* Make the next chunk current (when c->len is 0). 0 or -EFAULT (bad frame). */
int cursor_next(struct cursor *c);
static inline void cursor_advance(struct cursor *c, uint64_t n)
{
	c->host += n;
	c->len -= n;
}

/* ---- engine.c ---- */

int engines_start(struct emu *e);
void engines_stop(struct emu *e);

/* The data movers, shared by engines and emu_gpu_read/write. */
int emu_do_copy(struct emu *e, struct tlb *t, uint64_t dst, uint64_t src, uint64_t size);

int emu_submit_copy(struct emu *e, uint32_t engine, uint64_t dst, uint64_t src,
		    uint64_t size, const struct vidmm_chip_deps *deps, uint64_t *fence);
int emu_submit_fill(struct emu *e, uint32_t engine, uint64_t dst, uint64_t size,
		    uint32_t pattern, const struct vidmm_chip_deps *deps, uint64_t *fence);
int emu_submit_job(struct emu *e, uint32_t engine, const struct vidmm_chip_job *job,
		   const struct vidmm_chip_deps *deps, uint64_t *fence);
uint64_t emu_fence_completed(struct emu *e, uint32_t engine);
int emu_fence_wait(struct emu *e, uint32_t engine, uint64_t fence, uint64_t timeout_ns);
int emu_fence_error(struct emu *e, uint32_t engine, uint64_t fence);

static inline uint64_t emu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* VIDMM_EMU_INTERNAL_H */
