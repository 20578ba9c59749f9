/* SPDX-License-Identifier: MIT */
/*
 * emu.h - the emulated GPU: a chip-layer backend (struct vidmm_chip_ops) built
 * from a profile.
 *
 * Owns: the emulated local memory (a sparse host mapping), the emulated host
 * RAM pool that GART entries point into, the MMIO register file, the MMU (an
 * L1 -> L2 -> L3 walk for every GPU access to the PCIe aperture) and its TLB,
 * and the engines that execute copy and fill commands through the MMU.
 *
 * Must not: include anything from core/. It only knows the chip contract.
 *
 * GPU address map: local memory at [0, local_visible + local_invisible),
 * visible part first; the PCIe aperture (snooped half, then unsnooped half) at
 * EMU_PCIE_BASE or higher (see emu_pcie_base()).
 */
#ifndef VIDMM_EMU_H
#define VIDMM_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../chip.h"
#include "../layout.h"
#include "../profile.h"

/* MMIO register map and GART entry format: the layout both chips share
 * (drivers/layout.h), under the emulator's names. */
#define EMU_MMIO_ID                 CHIP_MMIO_ID /* reads EMU_CHIP_ID */
#define EMU_MMIO_MMU_ENABLE         CHIP_MMIO_MMU_ENABLE
#define EMU_MMIO_MMU_DUMMY_PFN      CHIP_MMIO_MMU_DUMMY_PFN
#define EMU_MMIO_MMU_INVAL_FIRST    CHIP_MMIO_MMU_INVAL_FIRST
#define EMU_MMIO_MMU_INVAL_COUNT    CHIP_MMIO_MMU_INVAL_COUNT
#define EMU_MMIO_MMU_INVAL_TRIGGER  CHIP_MMIO_MMU_INVAL_TRIGGER
#define EMU_MMIO_MMU_START_ADDRESS  CHIP_MMIO_MMU_START_ADDRESS
#define EMU_MMIO_SIZE               CHIP_MMIO_SIZE
#define EMU_CHIP_ID                 0x56494d4du /* "VIMM" */

#define EMU_PTE_VALID  CHIP_PTE_VALID
#define EMU_PTE_SNOOP  CHIP_PTE_SNOOP
#define EMU_PTE_SHIFT  CHIP_PTE_SHIFT

#define EMU_PCIE_BASE  CHIP_PCIE_BASE

struct emu;

/*
 * emu_chip_ops, where chip.h leaves room:
 *  - query_sysmem: first_pfn is non-zero (0x100); the
 *    frames below it are mapped PROT_NONE, so writing through a raw pool index
 *    faults. cpu points at frame 0 of that mapping.
 *  - mmio: unaligned or out-of-file offsets read 0xffffffff and ignore writes;
 *    ID is read-only; INVAL_TRIGGER (any non-zero write) is self-clearing and
 *    reads 0; writing MMU_ENABLE also drops every TLB. With the MMU disabled
 *    every aperture access is an unmapped access.
 *  - translation faults: an invalid entry at any level counts
 *    unmapped_accesses and dummy_page_accesses and reads the dummy page; an
 *    entry naming the MMU_DUMMY_PFN frame counts dummy_page_accesses. Writes
 *    to the dummy page are dropped (it stays zero). A table pointer outside
 *    local memory, an L3 frame outside the pool, or a range outside every
 *    segment counts out_of_range and fails the command with -EFAULT.
 *    Counts are per page per command.
 *  - copy/fill: any engine; copies are memmove-safe for overlapping ranges;
 *    fill repeats the 4 pattern bytes (little-endian) from dst onwards.
 *    submit_job: job engines only; every ref 8-byte aligned (-EINVAL);
 *    CHECKSUM is XXH3-64 of the refs' bytes in order, seeded with job->seed.
 *    None blocks: a full ring (64 commands) returns -EAGAIN.
 *  - fence_wait: -EINVAL for a fence never issued; polls ~100 us before
 *    sleeping. fence_error: the error of the command whose fence is exactly
 *    this value (0 if it succeeded), -EINPROGRESS if not yet completed,
 *    -EINVAL if never issued, -ENODATA if over 1024 later failures pushed
 *    it out of the history.
 */
extern const struct vidmm_chip_ops emu_chip_ops;

/* Build an emulated GPU from a validated profile. The emu pointer is the ctx
 * argument of every op in emu_chip_ops. */
int emu_create(const struct vidmm_profile *p, struct emu **out);
void emu_destroy(struct emu *e);

uint64_t emu_pcie_base(const struct emu *e);

/*
 * GPU-side accesses for tests and the job engine: read or write len bytes at a
 * GPU address through the MMU and TLB exactly as an engine would (faults and
 * dummy-page hits are counted). Returns 0 or -EFAULT for addresses outside
 * every segment.
 */
int emu_gpu_read(struct emu *e, uint64_t gpu_addr, void *dst, size_t len);
int emu_gpu_write(struct emu *e, uint64_t gpu_addr, const void *src, size_t len);

/*
 * Translate one GPU address of the PCIe aperture with a fresh page-table walk
 * (no TLB), for tests: *pfn is the system frame the L3 entry names. Returns 0,
 * -EFAULT (outside the aperture) or -ENOENT (an invalid L1/L2/L3 entry).
 * (Emulator detail: the walk ignores MMU_ENABLE; an L1/L2 entry pointing
 * outside local memory gives -EFAULT; an L3 frame outside the pool is
 * returned as is.)
 */
int emu_walk(struct emu *e, uint64_t gpu_addr, uint64_t *pfn);

/* Host pointer of a system frame of the emulated RAM pool (tests). */
void *emu_pfn_to_host(struct emu *e, uint64_t pfn);

/* ---- additions: engines, TLB control, fault injection, statistics ---- */

/*
 * The profile the chip was built from (a copy owned by the emu).
 */
const struct vidmm_profile *emu_profile(const struct emu *e);

/*
 * "Interrupt" raised after a fence has signalled (completed value stored,
 * waiters woken). It runs on the engine's thread (or, for fences aborted by
 * emu_reset_engine, on the resetting thread) with no emu lock held; it may
 * call fence_completed/fence_error but must not wait on a fence of the engine
 * that raised it. fence is the highest value just completed. fn NULL turns
 * interrupts off. Set it while no command is in flight.
 */
typedef void (*emu_interrupt_fn)(void *arg, uint32_t engine, uint64_t fence);
void emu_set_interrupt(struct emu *e, emu_interrupt_fn fn, void *arg);

/*
 * TLB checking (default on): every TLB hit re-walks the page table and a hit
 * whose cached translation differs from the table counts stale_tlb_hits. The
 * stale translation is still the one used, as hardware would. Turning it off
 * saves three loads per page on hits (benchmarks).
 *
 * The TLB caches every translation it walks, including invalid entries and
 * entries naming the dummy page, so mapping a page without an invalidation
 * is caught exactly like unmapping one without.
 */
void emu_set_tlb_check(struct emu *e, bool on);

/*
 * Null TOUCH jobs, as null_blk is to the block layer: a TOUCH job reads
 * and writes nothing anyone can see, so the engine may retire it without
 * reading the memory. One submitted with no pending dependency while its
 * engine has nothing outstanding retires inside the submit (its fence has
 * signalled when the submit returns: no engine thread wakes for it); any
 * other goes through the ring, and the engine retires it unread. For
 * measuring the manager's own submit path and how it scales with client
 * threads, apart from the emulated GPU's work, which on a small machine
 * takes the cores the clients need (scale_bench's null-engine column).
 * Copies, fills and every other job run as always. With a trace callback
 * set nothing retires inline (there would be no engine thread to report
 * it): every null TOUCH goes through the ring, unread, and is reported.
 * Off by default.
 */
void emu_set_null_touch(struct emu *e, bool on);

/*
 * Every command an engine finished, for a timeline: when it was submitted,
 * when the engine started and finished it, and how. The callback runs on the
 * engine's thread with no lock held, after the fence has signalled; it must
 * not call back into the chip. Set it before the first command is
 * submitted (it is not synchronised with running engines); NULL: none.
 */
enum emu_cmd_type { EMU_CMD_COPY = 0, EMU_CMD_FILL, EMU_CMD_JOB };
struct emu_trace_cmd {
	uint32_t engine;
	uint32_t type; /* enum emu_cmd_type */
	uint64_t fence;
	uint64_t bytes;
	uint64_t t_submit_ns, t_start_ns, t_end_ns; /* CLOCK_MONOTONIC */
	int32_t err;   /* 0 or the command's error (-EIO) */
};
typedef void (*emu_trace_fn)(void *arg, const struct emu_trace_cmd *c);
void emu_set_trace(struct emu *e, emu_trace_fn fn, void *arg);

/*
 * Fault injection. All are counted against commands *submitted* after the
 * call (not commands already queued), so tests are deterministic. A call
 * replaces what the previous call of the same kind left (n 0 cancels).
 *  - copy failure: the next n commands (copy, fill or job) on the engine fail
 *    with -EIO without touching their destination; their fences still signal,
 *    fence_error reports -EIO and faults.copy_errors counts them.
 *  - fence delay: the next n commands signal their fence delay_ns after the
 *    work is done (the engine is busy meanwhile, as a slow engine would be).
 *  - start delay: the next n commands start their work delay_ns after the
 *    engine takes them (a late engine: a caller that gave up waiting sees
 *    the command's writes land afterwards).
 *  - hang: the engine stops taking commands; fences of queued and later
 *    commands never signal until emu_reset_engine, which aborts every command
 *    not yet started with -EIO (counted in copy_errors), signals their fences
 *    and restarts the engine. Submitting to a hung engine queues until its
 *    ring is full, then returns -EAGAIN like any full ring.
 * Return 0 or -EINVAL (bad engine).
 */
int emu_inject_copy_failure(struct emu *e, uint32_t engine, uint32_t n);
int emu_inject_fence_delay(struct emu *e, uint32_t engine, uint64_t delay_ns, uint32_t n);
int emu_inject_start_delay(struct emu *e, uint32_t engine, uint64_t delay_ns, uint32_t n);
/*
 * Random faults: from now on each command submitted to the engine fails
 * (EMU_FAULT_FAIL), signals its fence delay_ns late (EMU_FAULT_FENCE_DELAY)
 * or starts delay_ns late (EMU_FAULT_START_DELAY) with probability p, drawn
 * from a stream seeded with seed in submission order (the same commands get
 * the same faults). p 0 turns the kind off. Faults applied so far are
 * counted per kind (emu_engine_stats.injected). 0 or -EINVAL.
 */
enum emu_fault_kind {
	EMU_FAULT_FAIL = 0,
	EMU_FAULT_FENCE_DELAY,
	EMU_FAULT_START_DELAY,
	EMU_FAULT_KINDS
};
int emu_inject_random(struct emu *e, uint32_t engine, enum emu_fault_kind kind, double p,
		      uint64_t delay_ns, uint64_t seed);
int emu_inject_hang(struct emu *e, uint32_t engine);
int emu_reset_engine(struct emu *e, uint32_t engine);

struct emu_engine_stats {
	uint64_t commands;     /* commands completed (including failed/aborted ones) */
	uint64_t bytes;        /* bytes written by copy/fill/job commands */
	uint64_t busy_ns;      /* time spent executing commands (delays included) */
	uint64_t tlb_hits;
	uint64_t tlb_misses;
	uint64_t tlb_flushes;  /* invalidations applied to this engine's TLB */
	uint64_t submitted;    /* last fence issued */
	uint64_t completed;    /* last fence completed */
	uint64_t ring_full;    /* submits refused with -EAGAIN (ring full) */
	uint64_t injected[EMU_FAULT_KINDS]; /* faults applied, by kind (all injections) */
};
int emu_engine_stats(struct emu *e, uint32_t engine, struct emu_engine_stats *out);

/*
 * MMU-wide counters beyond struct vidmm_chip_faults: L3 entries whose snoop
 * bit disagrees with the half of the aperture they map (the core wrote the
 * wrong cache attribute), and TLB invalidations triggered through MMIO.
 */
struct emu_mmu_stats {
	uint64_t snoop_mismatches;
	uint64_t invalidations;
};
void emu_mmu_stats(struct emu *e, struct emu_mmu_stats *out);

/*
 * Fence waits that polled before sleeping, and waits that slept at once
 * because no CPU was idle for them: counting the emulator's own engines and
 * pollers, and the machine's runnable threads (other clients and programs).
 */
struct emu_wait_stats {
	uint64_t spun;
	uint64_t not_spun_busy;
};
void emu_wait_stats(struct emu *e, struct emu_wait_stats *out);

#endif /* VIDMM_EMU_H */
