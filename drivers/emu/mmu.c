/* SPDX-License-Identifier: MIT */
/*
 * mmu.c - the emulated MMU: the three-level GART walk, the direct-mapped TLBs,
 * TLB invalidation, and the cursors that turn a GPU range into host chunks.
 *
 * Owns: translation and everything counted while translating (dummy-page and
 * unmapped accesses, stale TLB hits, out-of-range accesses, snoop mismatches).
 * Must not: move data (engine.c does), or touch engine rings and fences.
 *
 * Invalidation: a generation counter plus a log of the last EMU_INVAL_LOG
 * ranges. mmu_invalidate appends under inval_lock and bumps inval_gen
 * (release). Every translation first compares the TLB's seen_gen with
 * inval_gen (one acquire load); on a change the owner replays the missed
 * ranges onto its own TLB, or flushes it whole if the log has wrapped. So the
 * core never waits for an engine, engines never share a TLB, and any
 * translation that starts after the MMIO trigger write returns sees it.
 *
 * The dummy page: every access that resolves to it (an entry naming the frame
 * in MMU_DUMMY_PFN, or an invalid entry at any level) reads its contents and
 * has its writes dropped. Dropping keeps it zero: it backs every unmapped
 * page at once, so if a stray write through one unmapped page landed, a later
 * read through another would see that data - a non-resident allocation would
 * appear to hold another's bytes, and VERIFY would miss lost data. Until the
 * register names a pool frame, unmapped reads see an internal zero page.
 */
#include "emu_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tlb_init(struct tlb *t, uint32_t entries)
{
	memset(t, 0, sizeof(*t));
	t->ent = calloc(entries, sizeof(*t->ent));
	if (!t->ent)
		return -ENOMEM;
	t->mask = entries - 1;
	return 0;
}

void tlb_fini(struct tlb *t)
{
	free(t->ent);
	t->ent = NULL;
}

static inline uint64_t load_entry(const struct emu *e, uint64_t table_frame, uint64_t index)
{
	const uint8_t *p = e->local + (table_frame << e->page_shift) + index * e->entry_bytes;

	if (e->entry_bytes == 4)
		return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
	return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
}

struct xl mmu_walk_tables(struct emu *e, uint64_t idx)
{
	struct xl r = { 0, XL_UNMAPPED, 0 };
	/* Shifts, not divisions: this runs once per page of every transfer. */
	const uint32_t es = e->per_table_shift;
	const uint64_t emask = e->per_table - 1;
	uint64_t l1 = idx >> (2 * es);
	if (l1 >= EMU_L1_REGS) {
		r.kind = XL_BADTABLE;
		return r;
	}
	uint64_t ent = atomic_load_explicit(&e->regs[EMU_MMIO_MMU_START_ADDRESS / 4 + l1],
					    memory_order_relaxed);
	if (!(ent & EMU_PTE_VALID))
		return r;
	uint64_t frame = ent >> EMU_PTE_SHIFT;
	if (frame >= e->local_pages) {
		r.kind = XL_BADTABLE;
		return r;
	}
	ent = load_entry(e, frame, (idx >> es) & emask);
	if (!(ent & EMU_PTE_VALID))
		return r;
	frame = ent >> EMU_PTE_SHIFT;
	if (frame >= e->local_pages) {
		r.kind = XL_BADTABLE;
		return r;
	}
	ent = load_entry(e, frame, idx & emask);
	if (!(ent & EMU_PTE_VALID))
		return r;
	r.pfn = ent >> EMU_PTE_SHIFT;
	r.snoop = (ent & EMU_PTE_SNOOP) != 0;
	r.kind = (r.pfn >= e->pool_first && r.pfn - e->pool_first < e->pool_npages) ? XL_OK
										  : XL_BADFRAME;
	return r;
}

struct xl mmu_walk(struct emu *e, uint64_t idx)
{
	if (!(atomic_load_explicit(&e->regs[EMU_MMIO_MMU_ENABLE / 4], memory_order_relaxed) & 1))
		return (struct xl){ 0, XL_UNMAPPED, 0 };
	return mmu_walk_tables(e, idx);
}

/* Replay invalidations this TLB has not seen yet. */
static void tlb_sync(struct emu *e, struct tlb *t)
{
	uint64_t g = atomic_load_explicit(&e->inval_gen, memory_order_acquire);

	if (g == t->seen_gen)
		return;
	pthread_mutex_lock(&e->inval_lock);
	g = atomic_load_explicit(&e->inval_gen, memory_order_relaxed);
	if (g - t->seen_gen > EMU_INVAL_LOG) {
		memset(t->ent, 0, ((size_t)t->mask + 1) * sizeof(*t->ent));
	} else {
		for (uint64_t s = t->seen_gen; s != g; s++) {
			uint32_t first = e->inval_log[s % EMU_INVAL_LOG].first;
			uint32_t count = e->inval_log[s % EMU_INVAL_LOG].count;

			for (uint32_t i = 0; i <= t->mask; i++) {
				uint64_t tag = t->ent[i].tag;
				if (tag && (count == 0 || (tag - 1) - first < count))
					t->ent[i].tag = 0;
			}
		}
	}
	t->flushes += g - t->seen_gen;
	t->seen_gen = g;
	pthread_mutex_unlock(&e->inval_lock);
}

static inline bool xl_same(const struct tlb_entry *te, struct xl w)
{
	return te->kind == w.kind && te->pfn == w.pfn && te->snoop == w.snoop;
}

struct xl mmu_translate(struct emu *e, struct tlb *t, uint64_t idx)
{
	tlb_sync(e, t);

	struct tlb_entry *te = &t->ent[idx & t->mask];
	if (te->tag == idx + 1) {
		t->hits++;
		if (atomic_load_explicit(&e->tlb_check, memory_order_relaxed)) {
			struct xl w = mmu_walk(e, idx);
			if (!xl_same(te, w)) {
				atomic_fetch_add_explicit(&e->f_stale, 1, memory_order_relaxed);
				EMU_PROBE4(gpu_fault, 2, idx, 0, 0);
			}
		}
		/* The stale translation is used, as hardware would. */
		return (struct xl){ te->pfn, te->kind, te->snoop };
	}
	t->misses++;
	struct xl w = mmu_walk(e, idx);
	if (w.kind == XL_OK && (bool)w.snoop != (idx < e->snooped_pages)) {
		uint32_t dummy = atomic_load_explicit(&e->regs[EMU_MMIO_MMU_DUMMY_PFN / 4],
						      memory_order_relaxed);
		/* The shared dummy page has one attribute for both halves. */
		if (w.pfn != dummy)
			atomic_fetch_add_explicit(&e->snoop_mismatch, 1, memory_order_relaxed);
	}
	te->tag = idx + 1;
	te->pfn = w.pfn;
	te->kind = w.kind;
	te->snoop = w.snoop;
	return w;
}

void mmu_invalidate(struct emu *e, uint32_t first, uint32_t count)
{
	pthread_mutex_lock(&e->inval_lock);
	uint64_t g = atomic_load_explicit(&e->inval_gen, memory_order_relaxed);
	e->inval_log[g % EMU_INVAL_LOG].first = first;
	e->inval_log[g % EMU_INVAL_LOG].count = count;
	atomic_store_explicit(&e->inval_gen, g + 1, memory_order_release);
	pthread_mutex_unlock(&e->inval_lock);
	atomic_fetch_add_explicit(&e->invalidations, 1, memory_order_relaxed);
}

int emu_range_check(struct emu *e, uint64_t addr, uint64_t len)
{
	if (addr + len >= addr) {
		if (addr + len <= e->local_size)
			return 0;
		if (addr >= e->pcie_base && addr + len <= e->pcie_base + e->pcie_size)
			return 0;
	}
	atomic_fetch_add_explicit(&e->f_oor, 1, memory_order_relaxed);
	return -EFAULT;
}

void cursor_init(struct cursor *c, struct emu *e, struct tlb *t, uint64_t addr, uint64_t len)
{
	c->e = e;
	c->t = t;
	c->addr = addr;
	c->end = addr + len;
	c->host = NULL;
	c->len = 0;
	c->dummy = false;
	c->have_next = false;
}

static inline uint8_t *pool_host(const struct emu *e, uint64_t pfn)
{
	return e->pool_map + (pfn << e->page_shift);
}

/* Host memory the dummy page reads from right now. */
static uint8_t *dummy_host(struct emu *e)
{
	uint64_t d = atomic_load_explicit(&e->regs[EMU_MMIO_MMU_DUMMY_PFN / 4], memory_order_relaxed);

	if (d >= e->pool_first && d - e->pool_first < e->pool_npages)
		return pool_host(e, d);
	return e->zero_page;
}

int cursor_next(struct cursor *c)
{
	struct emu *e = c->e;
	uint64_t left = c->end - c->addr;

	if (c->addr < e->local_size) {
		/* Local memory needs no translation: one chunk. */
		c->host = e->local + c->addr;
		c->len = left;
		c->dummy = false;
		c->addr = c->end;
		return 0;
	}

	const uint64_t pmask = e->page_size - 1;
	uint64_t idx = (c->addr - e->pcie_base) >> e->page_shift;
	uint64_t off = c->addr & pmask;
	uint64_t n = e->page_size - off < left ? e->page_size - off : left;
	struct xl x;

	if (c->have_next && c->next_idx == idx) {
		x = c->next_xl;
		c->have_next = false;
	} else {
		x = mmu_translate(e, c->t, idx);
	}

	uint32_t dummy = atomic_load_explicit(&e->regs[EMU_MMIO_MMU_DUMMY_PFN / 4],
					      memory_order_relaxed);
	if (x.kind == XL_BADTABLE || x.kind == XL_BADFRAME) {
		atomic_fetch_add_explicit(&e->f_oor, 1, memory_order_relaxed);
		return -EFAULT;
	}
	if (x.kind == XL_UNMAPPED)
		atomic_fetch_add_explicit(&e->f_unmapped, 1, memory_order_relaxed);
	/* An invalid entry resolves to the dummy page too. */
	if (x.kind == XL_UNMAPPED || x.pfn == dummy) {
		atomic_fetch_add_explicit(&e->f_dummy, 1, memory_order_relaxed);
		EMU_PROBE4(gpu_fault, 1, idx, 0, 0);
		c->host = dummy_host(e) + off;
		c->len = n;
		c->dummy = true;
		c->addr += n;
		return 0;
	}

	/* Merge following pages while their frames are contiguous. */
	uint64_t pfn = x.pfn;
	c->host = pool_host(e, pfn) + off;
	c->dummy = false;
	c->addr += n;
	c->len = n;
	while (c->addr < c->end) {
		uint64_t nidx = idx + 1;
		struct xl nx = mmu_translate(e, c->t, nidx);

		if (nx.kind != XL_OK || nx.pfn != pfn + 1 || nx.pfn == dummy) {
			c->have_next = true;
			c->next_idx = nidx;
			c->next_xl = nx;
			break;
		}
		uint64_t step = c->end - c->addr < e->page_size ? c->end - c->addr : e->page_size;
		c->addr += step;
		c->len += step;
		idx = nidx;
		pfn = nx.pfn;
	}
	return 0;
}
