/* SPDX-License-Identifier: MIT */
/*
 * chip.h - the chip layer: the one table of operations the vidmm core calls to
 * reach (emulated or real) hardware.
 *
 * Owns: the contract between core/ and drivers/. Everything the core knows of a
 * GPU comes through struct vidmm_chip_ops; the core includes no driver header
 * and a driver never reaches into the core's internals.
 *
 * Must not: depend on anything in core/ other than plain C types. A backend is
 * one ops table (the shape of fio's ioengine ops); optional ops may be NULL
 * where the comment says so.
 *
 * Address spaces:
 *  - GPU virtual addresses (uint64_t "gpu_addr"): local video memory segments
 *    and the PCIe aperture that the GART translates.
 *  - System page frames (uint64_t "pfn"): pages of the host memory the chip can
 *    DMA to. The chip exposes that memory as one pool (query_sysmem); the core's
 *    system-page allocator hands out frames from it under a budget and writes
 *    their numbers into GART entries.
 *  - MMIO registers: 32-bit, byte offsets.
 */
#ifndef VIDMM_CHIP_H
#define VIDMM_CHIP_H

#include <stddef.h>
#include <stdint.h>

#define VIDMM_CHIP_MAX_SEGMENTS 16
#define VIDMM_CHIP_NAME_LEN 32

/* Segment flags, as the chip reports them. */
enum {
	VIDMM_SEG_LOCAL = 1u << 0,       /* video memory on the card */
	VIDMM_SEG_PCIE = 1u << 1,        /* system memory seen through the GART */
	VIDMM_SEG_SNOOPED = 1u << 2,     /* PCIe, cache-coherent (snooped) */
	VIDMM_SEG_CPU_VISIBLE = 1u << 3, /* the CPU can map it (BAR-visible local, or PCIe) */
	VIDMM_SEG_PAGING = 1u << 4,      /* set by the core on the paging segment it carves */
};

struct vidmm_chip_segment_desc {
	char name[VIDMM_CHIP_NAME_LEN];
	uint64_t base; /* GPU virtual address of the first byte */
	uint64_t size; /* bytes, a multiple of the GART page size */
	uint32_t flags;
};

/*
 * GART geometry and the exact entry format. Levels: L1 lives in MMIO registers
 * starting at mmio_l1_base (one 32-bit register per L1 entry); L2 and L3 tables
 * live in local memory, each table one page of entries_per_table entries.
 * Entries at every level are (frame << addr_shift) | flags, entry_bytes wide:
 * for L1/L2 the frame is a local-memory page number (gpu_addr >> page_shift) of
 * the next-level table, for L3 a system page frame.
 */
struct vidmm_chip_gart_geometry {
	uint64_t base;              /* first GPU address the GART translates */
	uint64_t size;              /* bytes the GART covers */
	uint32_t page_shift;        /* 12 for 4 KiB GPU pages */
	uint32_t entry_bytes;       /* 4 or 8 */
	uint32_t levels;            /* 3 */
	uint32_t entries_per_table; /* entries in one L2 or L3 table */
	uint32_t l1_entries;        /* number of L1 registers */
	uint32_t addr_shift;        /* frame number position inside an entry */
	uint32_t valid_bit;         /* mask */
	uint32_t snoop_bit;         /* mask, meaningful in L3 entries */
	/* MMIO register offsets (bytes). */
	uint32_t mmio_l1_base;      /* MMIO_MMU_START_ADDRESS */
	uint32_t mmio_dummy_pfn;    /* frame of the dummy page */
	uint32_t mmio_inval_first;  /* first GPU page (relative to base) to invalidate */
	uint32_t mmio_inval_count;  /* number of pages; 0 means all */
	uint32_t mmio_inval_trigger;/* write 1: the TLB drops the range */
	uint32_t mmio_enable;       /* write 1: the MMU starts translating */
};

/* The host memory the chip can DMA to, exposed as one pool of page frames. */
struct vidmm_chip_sysmem {
	void *cpu;           /* CPU address of frame 0 */
	uint64_t first_pfn;  /* first usable frame number (frames below are not RAM) */
	uint64_t npages;     /* frames in the pool */
	uint32_t page_shift; /* 12 */
};

/* What the chip observed going wrong; monotonic counters. */
struct vidmm_chip_faults {
	uint64_t dummy_page_accesses; /* GPU accesses that resolved to the dummy page,
				       * those through an invalid entry included */
	uint64_t unmapped_accesses;   /* of which through an invalid L1/L2/L3 entry */
	uint64_t stale_tlb_hits;      /* TLB served an entry the page table no longer holds */
	uint64_t out_of_range;        /* accesses outside every segment */
	uint64_t copy_errors;         /* engine commands that failed */
};

/*
 * Engines. Ids [0, n_copy) are copy engines (the core uses them for paging);
 * ids [n_copy, n_copy + n_job) are job engines that run client GPU jobs. Each
 * engine has its own monotonic 64-bit fence timeline starting at 0.
 */
struct vidmm_chip_engines {
	uint32_t n_copy;
	uint32_t n_job;
};

/*
 * A GPU job: one operation over ranges of GPU addresses, executed by a job
 * engine through the MMU exactly like any GPU access (a range that is not
 * resident reads or writes the dummy page, and the chip counts it).
 *
 * Seeded patterns are position-independent within a range: the 64-bit word at
 * byte offset o of a range holds vidmm_pattern_word(seed, o), so data verified
 * after it has been paged out and back, or moved, must still match.
 */
enum vidmm_job_op {
	VIDMM_JOB_FILL = 0,  /* write the pattern of seed into every ref (write intent) */
	VIDMM_JOB_VERIFY,    /* count words differing from the pattern of seed (read) */
	VIDMM_JOB_COPY,      /* refs[0] (read) -> refs[1] (write), min of both sizes */
	VIDMM_JOB_CHECKSUM,  /* 64-bit checksum of every ref (read) */
	VIDMM_JOB_TOUCH,     /* read one word per page of every ref */
};

enum { VIDMM_ACCESS_READ = 1u << 0, VIDMM_ACCESS_WRITE = 1u << 1 };

struct vidmm_chip_job_ref {
	uint64_t gpu_addr;
	uint64_t size;
	uint32_t access; /* VIDMM_ACCESS_* */
};

#define VIDMM_JOB_MAX_REFS 64

struct vidmm_chip_job {
	enum vidmm_job_op op;
	uint64_t seed;
	uint32_t nrefs;
	struct vidmm_chip_job_ref refs[VIDMM_JOB_MAX_REFS];
	/*
	 * Written by the engine before the job's fence signals; the caller keeps
	 * the memory alive until then. VERIFY: mismatched words; CHECKSUM: the
	 * checksum; others: 0. May be NULL.
	 */
	uint64_t *result;
};

static inline uint64_t vidmm_pattern_word(uint64_t seed, uint64_t offset)
{
	uint64_t z = seed ^ ((offset >> 3) * 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * Dependencies of an engine command: it starts only once every fence listed
 * has signalled, the way drm_sched holds a job until its dependencies'
 * dma_fences signal and a Vulkan queue waits on timeline semaphores. The
 * submitting thread does not wait: the engine does.
 *
 * A dependency whose command failed fails the dependent command too, without
 * running it (its fence_error is -ECANCELED), as a dma_fence error reaches
 * the jobs scheduled after it: a job that was to read a page-in's data never
 * runs on the bytes a failed copy left.
 *
 * Every fence named must already have been issued (returned by a command of
 * that engine), else the command is refused with -EINVAL. That keeps engines
 * from waiting on each other in a cycle: the oldest command not yet done
 * depends only on older ones, which are done, so it can always run.
 */
#define VIDMM_CHIP_MAX_DEPS 16

struct vidmm_chip_dep {
	uint32_t engine;
	uint64_t fence;
};

struct vidmm_chip_deps {
	uint32_t n;
	struct vidmm_chip_dep d[VIDMM_CHIP_MAX_DEPS];
};

struct vidmm_chip_ops {
	const char *name;

	/* Fill out[0..max) with segment descriptors; *count = number filled. */
	int (*query_segments)(void *ctx, struct vidmm_chip_segment_desc *out,
			      uint32_t max, uint32_t *count);
	int (*query_gart)(void *ctx, struct vidmm_chip_gart_geometry *out);
	int (*query_sysmem)(void *ctx, struct vidmm_chip_sysmem *out);
	int (*query_engines)(void *ctx, struct vidmm_chip_engines *out);

	uint32_t (*mmio_read32)(void *ctx, uint32_t reg);
	void (*mmio_write32)(void *ctx, uint32_t reg, uint32_t value);

	/* CPU pointer to local memory [gpu_addr, gpu_addr+size), or NULL if that
	 * range is not CPU-visible local memory. Stays valid until unmap_local. */
	void *(*map_local)(void *ctx, uint64_t gpu_addr, uint64_t size);
	void (*unmap_local)(void *ctx, void *cpu, uint64_t size);

	/*
	 * Engine commands. Both take GPU addresses (local or PCIe) and go through
	 * the MMU. On success *fence is the engine fence value that signals when
	 * the command has completed; completion may be asynchronous. A command
	 * that fails on the engine still signals its fence and is counted in
	 * faults.copy_errors; the failure is reported by fence_error.
	 *
	 * copy, fill and submit_job never block: the core calls them with its
	 * locks held. When the engine cannot take the command now (its ring is
	 * full) they return -EAGAIN and change nothing; the caller drops its
	 * locks, waits for the engine's next fence (fence_completed + 1) and
	 * tries again.
	 *
	 * deps (NULL or n == 0: none) is read during the call only: the command
	 * starts after those fences (see struct vidmm_chip_deps).
	 */
	int (*copy)(void *ctx, uint32_t engine, uint64_t dst, uint64_t src,
		    uint64_t size, const struct vidmm_chip_deps *deps, uint64_t *fence);
	int (*fill)(void *ctx, uint32_t engine, uint64_t dst, uint64_t size,
		    uint32_t pattern, const struct vidmm_chip_deps *deps, uint64_t *fence);

	/* Queue a GPU job on a job engine. The job struct is copied; the result
	 * pointer inside it is written on completion. */
	int (*submit_job)(void *ctx, uint32_t engine, const struct vidmm_chip_job *job,
			  const struct vidmm_chip_deps *deps, uint64_t *fence);

	/* Last fence value the engine has completed (monotonic). */
	uint64_t (*fence_completed)(void *ctx, uint32_t engine);
	/* Wait until fence_completed >= fence or timeout_ns passes (-ETIMEDOUT). */
	int (*fence_wait)(void *ctx, uint32_t engine, uint64_t fence,
			  uint64_t timeout_ns);
	/* 0, or the negative errno of the command that owns exactly this fence
	 * (earlier failures do not taint later fences). May be NULL. */
	int (*fence_error)(void *ctx, uint32_t engine, uint64_t fence);

	int (*fault_report)(void *ctx, struct vidmm_chip_faults *out);
};

#endif /* VIDMM_CHIP_H */
