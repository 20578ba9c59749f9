/* SPDX-License-Identifier: MIT */
/*
 * emu.c - the emulated GPU as a chip-layer backend: creation and teardown,
 * the memory mappings, the MMIO register file, the chip-op table, and the
 * CPU-side GPU accesses (emu_gpu_read/write) used by tests.
 *
 * Owns: struct emu's lifetime, its mappings and registers (locking rules in
 * emu_internal.h). Must not: include anything from core/; translation lives
 * in mmu.c and engines in engine.c.
 *
 * Memory: local memory and the RAM pool are MAP_NORESERVE anonymous mappings,
 * so a profile with gigabytes of each costs only the pages actually touched
 * (the pool in 2 MiB transparent huge pages where the kernel allows).
 * The pool starts at frame EMU_FIRST_PFN (not 0): the frames below are mapped
 * PROT_NONE, so a core that puts pool indices into GART entries, or touches
 * "frame 0", is caught at once.
 */
#include "emu_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

static void *map_sparse(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

uint64_t emu_pcie_base(const struct emu *e)
{
	return e->pcie_base;
}

const struct vidmm_profile *emu_profile(const struct emu *e)
{
	return &e->prof;
}

int emu_create(const struct vidmm_profile *p, struct emu **out)
{
	struct emu *e;
	int ret;

	if (!p || !out)
		return -EINVAL;
	ret = vidmm_profile_validate(p, NULL, 0);
	if (ret)
		return ret;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->prof = *p;
	e->loadavg_fd = -1; /* emu_destroy may run before it is opened */
	e->page_size = p->page_size;
	e->page_shift = (uint32_t)__builtin_ctzll(p->page_size);
	e->entry_bytes = p->gart_entry_bytes;
	e->per_table = p->page_size / p->gart_entry_bytes;
	e->per_table_shift = (uint32_t)__builtin_ctz(e->per_table);
	e->local_size = p->local_visible + p->local_invisible;
	e->local_pages = e->local_size >> e->page_shift;
	e->pcie_size = p->pcie_snooped + p->pcie_unsnooped;
	e->pcie_pages = e->pcie_size >> e->page_shift;
	e->snooped_pages = p->pcie_snooped >> e->page_shift;
	e->pcie_base = chip_layout_pcie_base(e->local_size);
	e->pool_first = EMU_FIRST_PFN;
	e->pool_npages = p->sysmem >> e->page_shift;
	pthread_mutex_init(&e->inval_lock, NULL);
	pthread_mutex_init(&e->cpu_lock, NULL);
	pthread_mutex_init(&e->irq_lock, NULL);
	atomic_init(&e->tlb_check, true);
	e->ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	e->wait_spin_ns = e->ncpus > 1 ? EMU_WAIT_SPIN_NS : 0;
	e->loadavg_fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	atomic_init(&e->inval_gen, 0);
	for (uint32_t i = 0; i < EMU_NREGS; i++)
		atomic_init(&e->regs[i], 0);
	atomic_init(&e->regs[EMU_MMIO_ID / 4], EMU_CHIP_ID);

	ret = -ENOMEM;
	e->local = map_sparse(e->local_size);
	if (!e->local)
		goto fail;
	e->pool_map_len = (e->pool_first + e->pool_npages) << e->page_shift;
	e->pool_map = map_sparse(e->pool_map_len);
	if (!e->pool_map)
		goto fail;
	/*
	 * Transparent huge pages for the pool, as a real driver's system pool
	 * (TTM's) takes higher-order pages where it can: a run of frames is
	 * then physically contiguous, so a swap I/O is a few segments instead
	 * of one per 4 KiB page, and the swap checksums and copies miss the
	 * TLB less. Measured with swap_bench (two A/B pairs, the manager's
	 * own MB/s): 64 KiB swap-in 1243/1481 -> 2128/2175, swap-out
	 * 3016/3409 -> 3758/4434; 2 MiB swap-in 1831/1779 -> 2252/2051. Only
	 * a hint: without THP (EINVAL) everything works, a little slower.
	 */
	(void)madvise(e->pool_map, e->pool_map_len, MADV_HUGEPAGE);
	if (mprotect(e->pool_map, e->pool_first << e->page_shift, PROT_NONE)) {
		ret = -errno;
		goto fail;
	}
	e->zero_page = aligned_alloc(e->page_size, e->page_size);
	if (!e->zero_page)
		goto fail;
	memset(e->zero_page, 0, e->page_size);
	ret = tlb_init(&e->cpu_tlb, p->tlb_entries);
	if (ret)
		goto fail;
	ret = engines_start(e);
	if (ret)
		goto fail;
	*out = e;
	return 0;
fail:
	emu_destroy(e);
	return ret;
}

void emu_destroy(struct emu *e)
{
	if (!e)
		return;
	engines_stop(e);
	if (e->loadavg_fd >= 0)
		close(e->loadavg_fd);
	tlb_fini(&e->cpu_tlb);
	free(e->zero_page);
	if (e->pool_map)
		munmap(e->pool_map, e->pool_map_len);
	if (e->local)
		munmap(e->local, e->local_size);
	pthread_mutex_destroy(&e->inval_lock);
	pthread_mutex_destroy(&e->cpu_lock);
	pthread_mutex_destroy(&e->irq_lock);
	free(e);
}

void emu_set_interrupt(struct emu *e, emu_interrupt_fn fn, void *arg)
{
	pthread_mutex_lock(&e->irq_lock);
	e->irq_fn = fn;
	e->irq_arg = arg;
	pthread_mutex_unlock(&e->irq_lock);
}

void emu_set_trace(struct emu *e, emu_trace_fn fn, void *arg)
{
	e->trace_fn = fn;
	e->trace_arg = arg;
}

void emu_set_tlb_check(struct emu *e, bool on)
{
	atomic_store_explicit(&e->tlb_check, on, memory_order_relaxed);
}

void emu_set_null_touch(struct emu *e, bool on)
{
	atomic_store_explicit(&e->null_touch, on, memory_order_relaxed);
}

void emu_mmu_stats(struct emu *e, struct emu_mmu_stats *out)
{
	out->snoop_mismatches = atomic_load_explicit(&e->snoop_mismatch, memory_order_relaxed);
	out->invalidations = atomic_load_explicit(&e->invalidations, memory_order_relaxed);
}

void *emu_pfn_to_host(struct emu *e, uint64_t pfn)
{
	if (pfn < e->pool_first || pfn - e->pool_first >= e->pool_npages)
		return NULL;
	return e->pool_map + (pfn << e->page_shift);
}

int emu_walk(struct emu *e, uint64_t gpu_addr, uint64_t *pfn)
{
	if (gpu_addr < e->pcie_base || gpu_addr - e->pcie_base >= e->pcie_size)
		return -EFAULT;
	uint64_t idx = (gpu_addr - e->pcie_base) >> e->page_shift;
	/* A test asks for the table's contents, enabled or not. */
	struct xl x = mmu_walk_tables(e, idx);

	switch (x.kind) {
	case XL_UNMAPPED:
		return -ENOENT;
	case XL_BADTABLE:
		return -EFAULT;
	default: /* XL_OK, XL_BADFRAME: the entry names a frame */
		if (pfn)
			*pfn = x.pfn;
		return 0;
	}
}

/* ---- CPU-side GPU accesses ---- */

static int gpu_rw(struct emu *e, uint64_t gpu_addr, uint8_t *buf, size_t len, bool write)
{
	struct cursor c;
	int ret;

	if (len == 0)
		return 0;
	ret = emu_range_check(e, gpu_addr, len);
	if (ret)
		return ret;
	pthread_mutex_lock(&e->cpu_lock);
	cursor_init(&c, e, &e->cpu_tlb, gpu_addr, len);
	while (len) {
		ret = cursor_next(&c);
		if (ret)
			break;
		if (write) {
			if (!c.dummy)
				memcpy(c.host, buf, c.len);
		} else {
			memcpy(buf, c.host, c.len);
		}
		buf += c.len;
		len -= c.len;
		cursor_advance(&c, c.len);
	}
	pthread_mutex_unlock(&e->cpu_lock);
	return ret;
}

int emu_gpu_read(struct emu *e, uint64_t gpu_addr, void *dst, size_t len)
{
	return gpu_rw(e, gpu_addr, dst, len, false);
}

int emu_gpu_write(struct emu *e, uint64_t gpu_addr, const void *src, size_t len)
{
	return gpu_rw(e, gpu_addr, (uint8_t *)(uintptr_t)src, len, true);
}

/* ---- chip ops ---- */

static int op_query_segments(void *ctx, struct vidmm_chip_segment_desc *out, uint32_t max,
			     uint32_t *count)
{
	struct emu *e = ctx;
	return chip_layout_segments(&e->prof, e->pcie_base, out, max, count);
}

static int op_query_gart(void *ctx, struct vidmm_chip_gart_geometry *out)
{
	struct emu *e = ctx;

	if (!out)
		return -EINVAL;
	chip_layout_gart(&e->prof, e->pcie_base, out);
	return 0;
}

static int op_query_sysmem(void *ctx, struct vidmm_chip_sysmem *out)
{
	struct emu *e = ctx;

	if (!out)
		return -EINVAL;
	out->cpu = e->pool_map;
	out->first_pfn = e->pool_first;
	out->npages = e->pool_npages;
	out->page_shift = e->page_shift;
	return 0;
}

static int op_query_engines(void *ctx, struct vidmm_chip_engines *out)
{
	struct emu *e = ctx;

	if (!out)
		return -EINVAL;
	out->n_copy = e->n_copy;
	out->n_job = e->n_engines - e->n_copy;
	return 0;
}

static uint32_t op_mmio_read32(void *ctx, uint32_t reg)
{
	struct emu *e = ctx;

	/* Like a PCIe read that nobody claims. */
	if ((reg & 3) || reg >= EMU_MMIO_SIZE)
		return 0xffffffffu;
	return atomic_load_explicit(&e->regs[reg / 4], memory_order_relaxed);
}

static void op_mmio_write32(void *ctx, uint32_t reg, uint32_t value)
{
	struct emu *e = ctx;

	if ((reg & 3) || reg >= EMU_MMIO_SIZE)
		return;
	switch (reg) {
	case EMU_MMIO_ID:
		return; /* read-only */
	case EMU_MMIO_MMU_INVAL_TRIGGER:
		/* Self-clearing: it reads 0, the range is dropped from every TLB. */
		if (value)
			mmu_invalidate(e,
				       atomic_load_explicit(&e->regs[EMU_MMIO_MMU_INVAL_FIRST / 4],
							    memory_order_relaxed),
				       atomic_load_explicit(&e->regs[EMU_MMIO_MMU_INVAL_COUNT / 4],
							    memory_order_relaxed));
		return;
	case EMU_MMIO_MMU_ENABLE:
		atomic_store_explicit(&e->regs[reg / 4], value & 1, memory_order_relaxed);
		/* Translations cached under the other mode are meaningless now. */
		mmu_invalidate(e, 0, 0);
		return;
	default:
		atomic_store_explicit(&e->regs[reg / 4], value, memory_order_relaxed);
		return;
	}
}

static void *op_map_local(void *ctx, uint64_t gpu_addr, uint64_t size)
{
	struct emu *e = ctx;

	if (gpu_addr > e->prof.local_visible || size > e->prof.local_visible - gpu_addr)
		return NULL;
	return e->local + gpu_addr;
}

static void op_unmap_local(void *ctx, void *cpu, uint64_t size)
{
	/* The BAR mapping is permanent; nothing to undo. */
	(void)ctx;
	(void)cpu;
	(void)size;
}

static int op_copy(void *ctx, uint32_t engine, uint64_t dst, uint64_t src, uint64_t size,
		   const struct vidmm_chip_deps *deps, uint64_t *fence)
{
	return emu_submit_copy(ctx, engine, dst, src, size, deps, fence);
}

static int op_fill(void *ctx, uint32_t engine, uint64_t dst, uint64_t size, uint32_t pattern,
		   const struct vidmm_chip_deps *deps, uint64_t *fence)
{
	return emu_submit_fill(ctx, engine, dst, size, pattern, deps, fence);
}

static int op_submit_job(void *ctx, uint32_t engine, const struct vidmm_chip_job *job,
			 const struct vidmm_chip_deps *deps, uint64_t *fence)
{
	return emu_submit_job(ctx, engine, job, deps, fence);
}

static uint64_t op_fence_completed(void *ctx, uint32_t engine)
{
	return emu_fence_completed(ctx, engine);
}

static int op_fence_wait(void *ctx, uint32_t engine, uint64_t fence, uint64_t timeout_ns)
{
	return emu_fence_wait(ctx, engine, fence, timeout_ns);
}

static int op_fence_error(void *ctx, uint32_t engine, uint64_t fence)
{
	return emu_fence_error(ctx, engine, fence);
}

static int op_fault_report(void *ctx, struct vidmm_chip_faults *out)
{
	struct emu *e = ctx;

	if (!out)
		return -EINVAL;
	out->dummy_page_accesses = atomic_load_explicit(&e->f_dummy, memory_order_relaxed);
	out->unmapped_accesses = atomic_load_explicit(&e->f_unmapped, memory_order_relaxed);
	out->stale_tlb_hits = atomic_load_explicit(&e->f_stale, memory_order_relaxed);
	out->out_of_range = atomic_load_explicit(&e->f_oor, memory_order_relaxed);
	out->copy_errors = atomic_load_explicit(&e->f_copy_err, memory_order_relaxed);
	return 0;
}

const struct vidmm_chip_ops emu_chip_ops = {
	.name = "emu",
	.query_segments = op_query_segments,
	.query_gart = op_query_gart,
	.query_sysmem = op_query_sysmem,
	.query_engines = op_query_engines,
	.mmio_read32 = op_mmio_read32,
	.mmio_write32 = op_mmio_write32,
	.map_local = op_map_local,
	.unmap_local = op_unmap_local,
	.copy = op_copy,
	.fill = op_fill,
	.submit_job = op_submit_job,
	.fence_completed = op_fence_completed,
	.fence_wait = op_fence_wait,
	.fence_error = op_fence_error,
	.fault_report = op_fault_report,
};

void emu_wait_stats(struct emu *e, struct emu_wait_stats *out)
{
	out->spun = atomic_load_explicit(&e->waits_spun, memory_order_relaxed);
	out->not_spun_busy = atomic_load_explicit(&e->waits_not_spun_busy, memory_order_relaxed);
}
