/* SPDX-License-Identifier: MIT */
/*
 * micro_gart.c - Google Benchmark microbenchmarks of GART map and unmap.
 *
 * Owns: BM_gart_map_unmap/pages:N/batch:B (gart_map + gart_unmap of N
 * contiguous system pages, driven directly through core/internal.h) and
 * BM_gart_segmem/pages:N/batch:B (the same through the public API:
 * vidmm_allocate_segment_memory + vidmm_release_segment_memory, i.e. heap,
 * system pages and GART together). batch:1 is one TLB invalidate per call
 * (vm->gart.batch_invalidate, the default), batch:0 one per page.
 * Must not: change core/ or drivers/; leave the manager in any state
 * vidmm_check would refuse (each iteration ends with the range mapped as it
 * started, and the batching flag is restored).
 *
 * Why internal.h: there is no public call that maps GART entries without a
 * heap allocation and system pages around it. The benchmark takes vm->lock
 * for a whole run, as gart.c expects its callers to hold it; nothing else
 * uses this manager, so no one waits on it.
 *
 * Profile: "arise" (an 8 GiB GART, 4 GiB snooped of which 1 GiB is the
 * paging segment), large enough for a 1 GiB (262144-page) mapping. Memory is
 * sparse: mapping writes only entries, never the pages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "drivers/emu/emu.h"
#include "gbshim.h"
#include "platform.h"
#include "micro.h"

#define MG_MAX_PAGES 262144ull /* 1 GiB of 4 KiB pages */

static struct {
	bool tried;
	char err[256];
	struct platform pl; /* pl.emu, pl.vm */
	uint32_t snooped_seg, unsnooped_seg;
	struct vidmm_segment_memory mem; /* MG_MAX_PAGES, mapped, snooped segment */
} mg;

static void mg_close(void)
{
	if (mg.mem.internal)
		vidmm_release_segment_memory(mg.pl.vm, &mg.mem);
	platform_close(&mg.pl);
}

/* The PCIe segment (not the paging one) with the given snoop attribute. */
static int mg_find_pcie(vidmm_t *vm, bool snooped)
{
	struct vidmm_segment_info s[VIDMM_MAX_SEGMENTS];
	uint32_t n = 0;

	if (vidmm_query_segments(vm, s, VIDMM_MAX_SEGMENTS, &n))
		return -1;
	for (uint32_t i = 0; i < n; i++)
		if ((s[i].flags & (VIDMM_SEG_PCIE | VIDMM_SEG_PAGING)) == VIDMM_SEG_PCIE &&
		    !!(s[i].flags & VIDMM_SEG_SNOOPED) == snooped)
			return (int)s[i].id;
	return -1;
}

/* Open once, on first use: a failure is reported by every run. */
static bool mg_get(gb_state *st)
{
	struct vidmm_profile p;
	int a, b, ret;

	if (!mg.tried) {
		mg.tried = true;
		atexit(mg_close);
		ret = vidmm_profile_builtin("arise", &p);
		if (ret)
			snprintf(mg.err, sizeof(mg.err), "profile arise: %s", strerror(-ret));
		else
			ret = platform_open_opts(&p, "emu", &(struct platform_opts){ .no_swap = true },
						&mg.pl, mg.err, sizeof(mg.err));
		if (!ret) {
			a = mg_find_pcie(mg.pl.vm, true);
			b = mg_find_pcie(mg.pl.vm, false);
			if (a < 0 || b < 0) {
				snprintf(mg.err, sizeof(mg.err), "no snooped/unsnooped PCIe segment");
				ret = -ENODEV;
			} else {
				mg.snooped_seg = (uint32_t)a;
				mg.unsnooped_seg = (uint32_t)b;
			}
		}
		if (!ret) {
			ret = vidmm_allocate_segment_memory(mg.pl.vm, mg.snooped_seg,
							    MG_MAX_PAGES * 4096, 0,
							    VIDMM_SEGMEM_BOTTOM_UP, &mg.mem);
			if (ret)
				snprintf(mg.err, sizeof(mg.err), "1 GiB of segment memory: %s",
					 vidmm_strerror(ret));
		}
		if (ret)
			mg_close();
	}
	if (!mg.pl.vm) {
		gb_skip_with_error(st, mg.err);
		return false;
	}
	return true;
}

static void bm_gart_map_unmap(gb_state *st, void *user)
{
	uint64_t n = (uint64_t)gb_range(st, 0);
	bool batch = gb_range(st, 1) != 0;

	(void)user;
	if (!mg_get(st))
		return;
	if (n < 1 || n > MG_MAX_PAGES) {
		gb_skip_with_error(st, "pages must be in 1..262144");
		return;
	}
	struct vidmm *vm = mg.pl.vm;
	const struct segmem *m = mg.mem.internal;
	/* A view of the first n frames of the (contiguous) backing pages. */
	struct sys_extent ext = { .node = { m->pages.ext[0].node.start, n } };
	struct sys_pages view = { .ext = &ext, .n_ext = 1, .npages = n };
	uint64_t addr = mg.mem.gpu_addr;

	if (m->pages.n_ext != 1) {
		gb_skip_with_error(st, "backing pages are not one contiguous extent");
		return;
	}
	vm_lock(vm);
	bool was = vm->gart.batch_invalidate;
	uint64_t inv0 = vm->gart.invalidations;
	vm->gart.batch_invalidate = batch;
	/* Unmap first, map second: the range ends each iteration mapped, as
	 * the segment memory holding it expects. */
	GB_FOR(st) {
		gart_unmap(vm, addr, n);
		gart_map(vm, addr, &view, true);
	}
	uint64_t inv = vm->gart.invalidations - inv0;
	vm->gart.batch_invalidate = was;
	vm_unlock(vm);

	int64_t it = gb_iterations(st);
	gb_set_items_processed(st, it * 2 * (int64_t)n);
	gb_counter_set(st, "PTEs", (double)it * 2.0 * (double)n, GB_COUNTER_RATE);
	gb_counter_set(st, "invalidations_per_iter", it ? (double)inv / (double)it : 0,
		       GB_COUNTER_DEFAULT);
}

static void bm_gart_segmem(gb_state *st, void *user)
{
	uint64_t n = (uint64_t)gb_range(st, 0);
	bool batch = gb_range(st, 1) != 0;
	struct vidmm_segment_memory mem;
	int ret = 0;

	(void)user;
	if (!mg_get(st))
		return;
	struct vidmm *vm = mg.pl.vm;
	/* The flag is read under vm->lock by gart.c; set it the same way. */
	vm_lock(vm);
	bool was = vm->gart.batch_invalidate;
	vm->gart.batch_invalidate = batch;
	vm_unlock(vm);
	GB_FOR(st) {
		ret = vidmm_allocate_segment_memory(vm, mg.unsnooped_seg, n * 4096, 0, 0, &mem);
		if (ret)
			break;
		vidmm_release_segment_memory(vm, &mem);
	}
	vm_lock(vm);
	vm->gart.batch_invalidate = was;
	vm_unlock(vm);
	if (ret) {
		gb_skip_with_error(st, vidmm_strerror(ret));
		return;
	}
	int64_t it = gb_iterations(st);
	gb_set_items_processed(st, it * 2 * (int64_t)n);
	gb_counter_set(st, "PTEs", (double)it * 2.0 * (double)n, GB_COUNTER_RATE);
}

void micro_gart_register(void)
{
	static const char *const names[] = { "pages", "batch" };
	gb_bench *b;

	b = gb_register("BM_gart_map_unmap", bm_gart_map_unmap, NULL);
	gb_bench_arg_names(b, names, 2);
	/* 1, 8, 64, ..., 262144 (8^6) pages, batched and not. */
	for (int batch = 1; batch >= 0; batch--)
		for (int64_t n = 1; n <= (int64_t)MG_MAX_PAGES; n *= 8) {
			int64_t a[2] = { n, batch };
			gb_bench_args(b, a, 2);
		}

	b = gb_register("BM_gart_segmem", bm_gart_segmem, NULL);
	gb_bench_arg_names(b, names, 2);
	for (int batch = 1; batch >= 0; batch--)
		for (int64_t n = 1; n <= (int64_t)MG_MAX_PAGES; n *= 8) {
			int64_t a[2] = { n, batch };
			gb_bench_args(b, a, 2);
		}

	gb_add_context("micro_gart",
		       "profile arise, driver emu; items and PTEs count entries written "
		       "(map + unmap = 2 per page); batch:1 one invalidate per call, "
		       "batch:0 one per page");
}
