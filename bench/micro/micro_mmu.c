/* SPDX-License-Identifier: MIT */
/*
 * micro_mmu.c - Google Benchmark microbenchmarks of the emulated MMU:
 * translations per second with a warm and a cold TLB.
 *
 * Owns: BM_emu_mmu_translate/pages:N/tlb:T/check:C. Must not: change
 * drivers/ or core/; it only reads through emu_gpu_read and writes the
 * documented MMIO invalidate registers.
 *
 * One pass = emu_gpu_read of 8 bytes at the start of each of N consecutive
 * GART-mapped pages (one translation each; the 8 bytes never cross a page).
 * tlb:1 (warm): passes back to back, so with N <= the TLB size (256 in the
 * "default" profile, direct-mapped) every translation after the first pass
 * hits; with N larger, consecutive pages evict each other and every access
 * misses (the "stride beyond the TLB" case). tlb:0 (cold): before every
 * pass the whole TLB is invalidated through EMU_MMIO_MMU_INVAL_* (count 0 =
 * all), as the core does; that write and the TLB flush it causes are inside
 * the timed region, since they are part of what a cold pass costs.
 * check:1 keeps the emulator's stale-TLB checking (a re-walk on every hit,
 * the default); check:0 turns it off, which is what a hit costs without the
 * checker.
 *
 * The pages are driver segment memory in the snooped PCIe segment, written
 * once by the CPU so reads hit real frames, not the kernel's shared zero page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vidmm.h"
#include "drivers/emu/emu.h"
#include "gbshim.h"
#include "platform.h"
#include "micro.h"

#define MU_MAX_PAGES 16384ull /* 64 MiB: well past any profile's TLB */

static struct {
	bool tried;
	char err[256];
	struct platform pl; /* pl.emu, pl.vm */
	struct vidmm_segment_memory mem;
	uint32_t tlb_entries;
} mu;

static void mu_close(void)
{
	if (mu.mem.internal)
		vidmm_release_segment_memory(mu.pl.vm, &mu.mem);
	platform_close(&mu.pl);
}

static bool mu_get(gb_state *st)
{
	struct vidmm_segment_info s[VIDMM_MAX_SEGMENTS];
	struct vidmm_profile p;
	uint32_t n = 0;
	int seg = -1, ret;

	if (!mu.tried) {
		mu.tried = true;
		atexit(mu_close);
		ret = vidmm_profile_builtin("default", &p);
		if (ret)
			snprintf(mu.err, sizeof(mu.err), "profile default: %s", strerror(-ret));
		else
			ret = platform_open_opts(&p, "emu", &(struct platform_opts){ .no_swap = true },
						&mu.pl, mu.err, sizeof(mu.err));
		if (!ret) {
			mu.tlb_entries = p.tlb_entries;
			vidmm_query_segments(mu.pl.vm, s, VIDMM_MAX_SEGMENTS, &n);
			for (uint32_t i = 0; i < n && seg < 0; i++)
				if ((s[i].flags & (VIDMM_SEG_PCIE | VIDMM_SEG_PAGING)) == VIDMM_SEG_PCIE)
					seg = (int)s[i].id;
			ret = seg < 0 ? -ENODEV
				      : vidmm_allocate_segment_memory(mu.pl.vm, (uint32_t)seg,
								      MU_MAX_PAGES * 4096, 0, 0,
								      &mu.mem);
			if (ret)
				snprintf(mu.err, sizeof(mu.err), "PCIe segment memory: %s",
					 vidmm_strerror(ret));
		}
		if (!ret && !mu.mem.cpu) {
			snprintf(mu.err, sizeof(mu.err), "PCIe segment memory has no CPU view");
			ret = -EINVAL;
		}
		if (!ret)
			for (uint64_t i = 0; i < MU_MAX_PAGES; i++)
				*(volatile uint64_t *)((char *)mu.mem.cpu + i * 4096) = i + 1;
		if (ret)
			mu_close();
	}
	if (!mu.pl.vm) {
		gb_skip_with_error(st, mu.err);
		return false;
	}
	return true;
}

static void bm_emu_mmu_translate(gb_state *st, void *user)
{
	uint64_t n = (uint64_t)gb_range(st, 0);
	bool warm = gb_range(st, 1) != 0;
	bool check = gb_range(st, 2) != 0;
	uint64_t word = 0, sum = 0;
	int ret = 0;

	(void)user;
	if (!mu_get(st))
		return;
	if (n < 1 || n > MU_MAX_PAGES) {
		gb_skip_with_error(st, "pages must be in 1..16384");
		return;
	}
	struct emu *e = mu.pl.emu;
	const uint64_t base = mu.mem.gpu_addr;

	emu_set_tlb_check(e, check);
	/* One untimed pass, so a warm run starts warm. */
	for (uint64_t i = 0; i < n && !ret; i++)
		ret = emu_gpu_read(e, base + i * 4096, &word, sizeof(word));
	GB_FOR(st) {
		if (!warm) {
			emu_chip_ops.mmio_write32(e, EMU_MMIO_MMU_INVAL_FIRST, 0);
			emu_chip_ops.mmio_write32(e, EMU_MMIO_MMU_INVAL_COUNT, 0);
			emu_chip_ops.mmio_write32(e, EMU_MMIO_MMU_INVAL_TRIGGER, 1);
		}
		for (uint64_t i = 0; i < n; i++) {
			ret |= emu_gpu_read(e, base + i * 4096, &word, sizeof(word));
			sum += word;
		}
		gb_do_not_optimize(sum);
	}
	emu_set_tlb_check(e, true);
	if (ret) {
		gb_skip_with_error(st, "emu_gpu_read failed");
		return;
	}
	/* Every page holds its index + 1: a wrong sum means a wrong frame. */
	if (gb_iterations(st) && sum != (uint64_t)gb_iterations(st) * (n * (n + 1) / 2)) {
		gb_skip_with_error(st, "translation read the wrong frame");
		return;
	}
	int64_t it = gb_iterations(st);
	gb_set_items_processed(st, it * (int64_t)n);
	gb_counter_set(st, "translations", (double)it * (double)n, GB_COUNTER_RATE);
	gb_counter_set(st, "tlb_entries", (double)mu.tlb_entries, GB_COUNTER_DEFAULT);
}

void micro_mmu_register(void)
{
	static const char *const names[] = { "pages", "tlb", "check" };
	static const int64_t pages[] = { 1, 16, 256, 4096, 16384 };
	gb_bench *b;

	b = gb_register("BM_emu_mmu_translate", bm_emu_mmu_translate, NULL);
	gb_bench_arg_names(b, names, 3);
	for (int check = 0; check <= 1; check++)
		for (int warm = 1; warm >= 0; warm--)
			for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
				int64_t a[3] = { pages[i], warm, check };
				gb_bench_args(b, a, 3);
			}
	gb_add_context("micro_mmu",
		       "profile default (TLB 256 entries, direct-mapped), driver emu; "
		       "emu_gpu_read of 8 bytes per page; tlb:0 = full MMIO invalidate "
		       "before each pass; check:1 = stale-TLB checker on");
}
