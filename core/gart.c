/* SPDX-License-Identifier: MIT */
/*
 * gart.c - the three-level GART: L1 in the MMIO registers starting at
 * MMIO_MMU_START_ADDRESS, L2 and L3 tables in CPU-visible local memory taken
 * with vidmm_allocate_segment_memory and filled by the CPU (steps 5-7 of the
 * note's vidmm_init).
 *
 * Owns: the table memory, the dummy page, every entry's value, and TLB
 * invalidation. Must not: decide what is mapped where (allocation.c and
 * residency decide; this file only writes entries) or sleep. Called with
 * vm->lock held.
 *
 * Invariant (checked by check.c): every entry not backing a live range names
 * the dummy page. Unmap therefore never just clears an entry - the original
 * driver's evicted ranges kept stale entries, which let a late GPU access
 * read freed memory. Every map and unmap ends with a TLB invalidate of the
 * range it changed (one per call when batching, else one per page), so the
 * MMU never serves a stale translation.
 *
 * All L3 tables are one contiguous block, so entry i of the GART lives at
 * l3 + i * entry_bytes: mapping n pages is a linear fill.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static inline void write_entry(uint8_t *table, uint64_t i, uint32_t bytes, uint64_t v)
{
	/* Relaxed atomics: the GPU's MMU walks these tables concurrently (other
	 * entries), and a torn entry must be impossible even in emulation. */
	if (bytes == 4)
		__atomic_store_n((uint32_t *)table + i, (uint32_t)v, __ATOMIC_RELAXED);
	else
		__atomic_store_n((uint64_t *)table + i, v, __ATOMIC_RELAXED);
}

static inline uint64_t read_entry(const uint8_t *table, uint64_t i, uint32_t bytes)
{
	if (bytes == 4)
		return __atomic_load_n((const uint32_t *)table + i, __ATOMIC_RELAXED);
	return __atomic_load_n((const uint64_t *)table + i, __ATOMIC_RELAXED);
}

uint64_t gart_read_entry(const struct gart *g, uint64_t i)
{
	return read_entry(g->l3, i, g->geo.entry_bytes);
}

uint64_t gart_make_entry(const struct gart *g, uint64_t pfn, bool snooped)
{
	return (pfn << g->geo.addr_shift) | g->geo.valid_bit |
	       (snooped ? g->geo.snoop_bit : 0);
}

bool gart_covers(const struct gart *g, uint64_t gpu_addr, uint64_t size)
{
	return gpu_addr >= g->geo.base && size <= g->geo.size &&
	       gpu_addr - g->geo.base <= g->geo.size - size;
}

static void invalidate(struct vidmm *vm, uint64_t first, uint64_t count)
{
	const struct vidmm_chip_gart_geometry *geo = &vm->gart.geo;

	vm->chip->mmio_write32(vm->chip_ctx, geo->mmio_inval_first, (uint32_t)first);
	vm->chip->mmio_write32(vm->chip_ctx, geo->mmio_inval_count, (uint32_t)count);
	vm->chip->mmio_write32(vm->chip_ctx, geo->mmio_inval_trigger, 1);
	vm->gart.invalidations++;
}

static void flush_range(struct vidmm *vm, uint64_t first, uint64_t count)
{
	if (vm->gart.batch_invalidate || count == 0) {
		invalidate(vm, first, count);
		return;
	}
	for (uint64_t i = 0; i < count; i++)
		invalidate(vm, first + i, 1);
}

void gart_map(struct vidmm *vm, uint64_t gpu_addr, const struct sys_pages *pages,
	      bool snooped)
{
	struct gart *g = &vm->gart;
	uint64_t first = (gpu_addr - g->geo.base) >> g->geo.page_shift;
	uint64_t i = first;
	uint64_t step = 1ull << g->geo.addr_shift;

	for (uint32_t e = 0; e < pages->n_ext; e++) {
		const struct heap_node *x = &pages->ext[e].node;
		uint64_t v = gart_make_entry(g, x->start, snooped);

		/* Frames of one extent are consecutive: so are their entries. */
		if (g->geo.entry_bytes == 4) {
			uint32_t *p = (uint32_t *)g->l3 + i;
			for (uint64_t k = 0; k < x->size; k++, v += step)
				__atomic_store_n(p + k, (uint32_t)v, __ATOMIC_RELAXED);
		} else {
			uint64_t *p = (uint64_t *)g->l3 + i;
			for (uint64_t k = 0; k < x->size; k++, v += step)
				__atomic_store_n(p + k, v, __ATOMIC_RELAXED);
		}
		i += x->size;
	}
	g->mapped += pages->npages;
	flush_range(vm, first, pages->npages);
}

void gart_unmap(struct vidmm *vm, uint64_t gpu_addr, uint64_t npages)
{
	struct gart *g = &vm->gart;
	uint64_t first = (gpu_addr - g->geo.base) >> g->geo.page_shift;

	for (uint64_t i = 0; i < npages; i++)
		write_entry(g->l3, first + i, g->geo.entry_bytes, g->dummy_entry);
	g->mapped -= npages;
	flush_range(vm, first, npages);
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

int gart_init(struct vidmm *vm)
{
	struct gart *g = &vm->gart;
	const struct vidmm_chip_gart_geometry *geo = &g->geo;
	uint64_t page = 1ull << geo->page_shift;
	uint64_t E = geo->entries_per_table;
	int ret;

	g->batch_invalidate = true;
	g->npages = geo->size >> geo->page_shift;
	g->n_l3 = div_up(g->npages, E);
	g->n_l2 = div_up(g->n_l3, E);

	/* Step 5: the dummy page, zeroed, from the reserve so it can never fail
	 * for want of budget once init has passed the checks above. */
	ret = sysmem_alloc(&vm->sysmem, 1, true, true, &g->dummy);
	if (ret)
		return ret;
	g->dummy_pfn = g->dummy.ext[0].node.start;
	memset(sysmem_frame_cpu(&vm->sysmem, g->dummy_pfn), 0, page);
	g->dummy_entry = gart_make_entry(g, g->dummy_pfn, false);

	/* Step 6: L2 tables then L3 tables, one block of CPU-visible local
	 * memory, mapped for the CPU because the CPU fills them. */
	ret = vidmm_allocate_segment_memory(vm, (uint32_t)vm->gart_table_seg,
					    (g->n_l2 + g->n_l3) * page, page,
					    VIDMM_SEGMEM_TOP_DOWN, &g->tables);
	if (ret)
		goto err_dummy;
	if (!g->tables.cpu) {
		ret = -EINVAL;
		goto err_tables;
	}
	g->l2 = g->tables.cpu;
	g->l3 = g->l2 + g->n_l2 * page;
	g->tables_gpu = g->tables.gpu_addr;

	/* Every entry -> the dummy page, padding entries of the last table too
	 * (the MMU never reaches them, but a defined value costs nothing). */
	for (uint64_t i = 0; i < g->n_l3 * E; i++)
		write_entry(g->l3, i, geo->entry_bytes, g->dummy_entry);
	/* Link L3 tables into L2; unused L2 entries stay invalid (0). */
	memset(g->l2, 0, g->n_l2 * page);
	for (uint64_t t = 0; t < g->n_l3; t++) {
		uint64_t l3_frame = (g->tables_gpu + (g->n_l2 + t) * page) >> geo->page_shift;
		write_entry(g->l2, t, geo->entry_bytes,
			    (l3_frame << geo->addr_shift) | geo->valid_bit);
	}
	/* Step 7: L2 addresses into the L1 registers, then the dummy page and
	 * a full invalidate before the MMU starts translating. */
	for (uint32_t r = 0; r < geo->l1_entries; r++) {
		uint32_t v = 0;
		if (r < g->n_l2) {
			uint64_t l2_frame = (g->tables_gpu + r * page) >> geo->page_shift;
			v = (uint32_t)((l2_frame << geo->addr_shift) | geo->valid_bit);
		}
		vm->chip->mmio_write32(vm->chip_ctx, geo->mmio_l1_base + 4 * r, v);
	}
	vm->chip->mmio_write32(vm->chip_ctx, geo->mmio_dummy_pfn, (uint32_t)g->dummy_pfn);
	invalidate(vm, 0, 0);
	vm->chip->mmio_write32(vm->chip_ctx, geo->mmio_enable, 1);
	return 0;

err_tables:
	vidmm_release_segment_memory(vm, &g->tables);
err_dummy:
	sysmem_free(&vm->sysmem, &g->dummy);
	return ret;
}

void gart_fini(struct vidmm *vm)
{
	struct gart *g = &vm->gart;
	const struct vidmm_chip_gart_geometry *geo = &g->geo;

	if (!g->l3)
		return;
	vm->chip->mmio_write32(vm->chip_ctx, geo->mmio_enable, 0);
	for (uint32_t r = 0; r < geo->l1_entries; r++)
		vm->chip->mmio_write32(vm->chip_ctx, geo->mmio_l1_base + 4 * r, 0);
	invalidate(vm, 0, 0);
	vidmm_release_segment_memory(vm, &g->tables);
	sysmem_free(&vm->sysmem, &g->dummy);
	g->l2 = g->l3 = NULL;
}
