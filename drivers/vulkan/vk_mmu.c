/* SPDX-License-Identifier: MIT */
/*
 * vk_mmu.c - the Vulkan driver's GART: the register file, the three-level
 * walk over the tables the core wrote in CPU-visible local memory, the
 * translation cache, and the translation of a GPU range into pieces of
 * device memory (struct vkchunk) that the engines turn into copy regions
 * and shader runs.
 *
 * Owns: c->regs, c->tlb (under c->tlb_lock) and the fault counters.
 * Must not: record or submit commands (vk_engine.c does).
 *
 * The cache is direct-mapped (profile tlb_entries) and caches every walk,
 * invalid entries and dummy-frame entries included, so mapping a page
 * without an invalidation is caught like unmapping one without. Every hit
 * re-walks the tables and counts stale_tlb_hits when they differ; the
 * cached translation is the one used, as hardware would.
 */
#include "vk_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t load_entry(const struct vkchip *c, uint64_t frame, uint64_t i)
{
	const uint8_t *p = c->mem[MEM_VIS].cpu + (frame << c->page_shift) + i * c->entry_bytes;

	if (c->entry_bytes == 4)
		return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
	return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
}

/* Tables must lie in the CPU-visible local memory: the only local memory the
 * driver (like the core) can read. */
static bool table_ok(const struct vkchip *c, uint64_t frame)
{
	return frame < (c->prof.local_visible >> c->page_shift);
}

int vkm_walk_tables(struct vkchip *c, uint64_t idx, uint64_t *pfn)
{
	const uint32_t es = c->per_table_shift;
	const uint64_t mask = c->per_table - 1;
	uint64_t l1 = idx >> (2 * es);

	if (l1 >= CHIP_L1_REGS)
		return XL_BADTABLE;
	uint64_t e = atomic_load_explicit(&c->regs[CHIP_MMIO_MMU_START_ADDRESS / 4 + l1],
					  memory_order_relaxed);
	if (!(e & CHIP_PTE_VALID))
		return XL_UNMAPPED;
	if (!table_ok(c, e >> CHIP_PTE_SHIFT))
		return XL_BADTABLE;
	e = load_entry(c, e >> CHIP_PTE_SHIFT, (idx >> es) & mask);
	if (!(e & CHIP_PTE_VALID))
		return XL_UNMAPPED;
	if (!table_ok(c, e >> CHIP_PTE_SHIFT))
		return XL_BADTABLE;
	e = load_entry(c, e >> CHIP_PTE_SHIFT, idx & mask);
	if (!(e & CHIP_PTE_VALID))
		return XL_UNMAPPED;
	*pfn = e >> CHIP_PTE_SHIFT;
	return *pfn >= VK_FIRST_PFN && *pfn - VK_FIRST_PFN < c->pool_npages ? XL_OK : XL_BADFRAME;
}

static int walk(struct vkchip *c, uint64_t idx, uint64_t *pfn)
{
	*pfn = 0;
	if (!(atomic_load_explicit(&c->regs[CHIP_MMIO_MMU_ENABLE / 4], memory_order_relaxed) & 1))
		return XL_UNMAPPED;
	return vkm_walk_tables(c, idx, pfn);
}

/* With c->tlb_lock held: the translation of aperture page idx. */
static int lookup(struct vkchip *c, uint64_t idx, uint64_t *pfn)
{
	struct vktlb_ent *t = &c->tlb[idx & c->tlb_mask];
	uint64_t fresh;
	int kind;

	if (t->tag == idx + 1) {
		kind = walk(c, idx, &fresh);
		if (kind != (int)t->kind || fresh != t->pfn)
			atomic_fetch_add_explicit(&c->f_stale, 1, memory_order_relaxed);
		*pfn = t->pfn;
		return (int)t->kind;
	}
	kind = walk(c, idx, pfn);
	*t = (struct vktlb_ent){ idx + 1, *pfn, (uint32_t)kind };
	return kind;
}

static int push(struct vkruns *r, struct vkchunk ch)
{
	/* Contiguous pieces of one memory merge; dummy pieces never do (each
	 * is one page of the same dummy page). */
	if (r->n && !ch.dummy) {
		struct vkchunk *l = &r->v[r->n - 1];
		if (!l->dummy && l->buf == ch.buf && l->off + l->len == ch.off) {
			l->len += ch.len;
			return 0;
		}
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct vkchunk *v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = ch;
	return 0;
}

void vkm_runs_free(struct vkruns *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Where a dummy access goes: the frame the register names when it is a pool
 * frame (the core zeroes it), else the driver's zero page. */
static struct vkchunk dummy_chunk(struct vkchip *c, uint64_t len)
{
	uint64_t f = atomic_load_explicit(&c->regs[CHIP_MMIO_MMU_DUMMY_PFN / 4], memory_order_relaxed);

	if (f >= VK_FIRST_PFN && f - VK_FIRST_PFN < c->pool_npages)
		return (struct vkchunk){ MEM_SYS, true, (f - VK_FIRST_PFN) << c->page_shift, len };
	return (struct vkchunk){ MEM_ZERO, true, 0, len };
}

int vkm_translate(struct vkchip *c, uint64_t addr, uint64_t size, struct vkruns *out)
{
	int ret = 0;

	out->n = 0;
	if (!size)
		return 0;
	if (addr < c->local_size && size <= c->local_size - addr) {
		uint64_t vis = c->prof.local_visible;
		if (addr < vis) {
			uint64_t n = size < vis - addr ? size : vis - addr;
			ret = push(out, (struct vkchunk){ MEM_VIS, false, addr, n });
			addr += n;
			size -= n;
		}
		if (!ret && size)
			ret = push(out, (struct vkchunk){ MEM_INVIS, false, addr - vis, size });
		return ret;
	}
	if (addr < c->pcie_base || addr - c->pcie_base > c->pcie_size ||
	    size > c->pcie_size - (addr - c->pcie_base)) {
		atomic_fetch_add_explicit(&c->f_oor, 1, memory_order_relaxed);
		return -EFAULT;
	}
	uint64_t rel = addr - c->pcie_base, page = c->page_size;
	uint64_t dummy_n = 0, unmapped_n = 0;
	uint64_t dpfn = atomic_load_explicit(&c->regs[CHIP_MMIO_MMU_DUMMY_PFN / 4],
					     memory_order_relaxed);
	pthread_mutex_lock(&c->tlb_lock);
	while (size && !ret) {
		uint64_t idx = rel >> c->page_shift, in = rel & (page - 1);
		uint64_t n = page - in < size ? page - in : size, pfn;
		int kind = lookup(c, idx, &pfn);

		if (kind == XL_BADTABLE || kind == XL_BADFRAME) {
			atomic_fetch_add_explicit(&c->f_oor, 1, memory_order_relaxed);
			ret = -EFAULT;
			break;
		}
		if (kind == XL_UNMAPPED || pfn == dpfn) {
			dummy_n++;
			unmapped_n += kind == XL_UNMAPPED;
			struct vkchunk d = dummy_chunk(c, n);
			d.off += in;
			ret = push(out, d);
		} else {
			ret = push(out, (struct vkchunk){ MEM_SYS, false,
							  ((pfn - VK_FIRST_PFN) << c->page_shift) + in,
							  n });
		}
		rel += n;
		size -= n;
	}
	pthread_mutex_unlock(&c->tlb_lock);
	atomic_fetch_add_explicit(&c->f_dummy, dummy_n, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->f_unmapped, unmapped_n, memory_order_relaxed);
	return ret;
}

static void invalidate(struct vkchip *c, uint32_t first, uint32_t count)
{
	pthread_mutex_lock(&c->tlb_lock);
	for (uint32_t i = 0; i <= c->tlb_mask; i++) {
		uint64_t tag = c->tlb[i].tag;
		if (tag && (count == 0 || (tag - 1) - first < count))
			c->tlb[i].tag = 0;
	}
	pthread_mutex_unlock(&c->tlb_lock);
}

uint32_t vkm_mmio_read(struct vkchip *c, uint32_t reg)
{
	if ((reg & 3) || reg >= CHIP_MMIO_SIZE)
		return 0xffffffffu;
	return atomic_load_explicit(&c->regs[reg / 4], memory_order_relaxed);
}

void vkm_mmio_write(struct vkchip *c, uint32_t reg, uint32_t v)
{
	if ((reg & 3) || reg >= CHIP_MMIO_SIZE || reg == CHIP_MMIO_ID)
		return;
	switch (reg) {
	case CHIP_MMIO_MMU_INVAL_TRIGGER:
		if (v)
			invalidate(c,
				   atomic_load_explicit(&c->regs[CHIP_MMIO_MMU_INVAL_FIRST / 4],
							memory_order_relaxed),
				   atomic_load_explicit(&c->regs[CHIP_MMIO_MMU_INVAL_COUNT / 4],
							memory_order_relaxed));
		return;
	case CHIP_MMIO_MMU_ENABLE:
		atomic_store_explicit(&c->regs[reg / 4], v & 1, memory_order_relaxed);
		invalidate(c, 0, 0);
		return;
	default:
		atomic_store_explicit(&c->regs[reg / 4], v, memory_order_relaxed);
	}
}
