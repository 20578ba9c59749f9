/* SPDX-License-Identifier: MIT */
/*
 * test_core.c - the vidmm core on the emulated GPU: GART set-up, map and
 * unmap through the emulated MMU, placement, lists, bad input, bad
 * configuration, and leaks.
 *
 * Owns: those test cases. Must not: reach into core internals; it sees the
 * manager only through vidmm.h and the hardware only through the emulator's
 * test hooks (the MMU walk, GPU reads/writes, MMIO).
 */
#include <errno.h>
#include <inttypes.h>

#include "vt.h"
#include "bench/platform.h"
#include "drivers/emu/emu.h"

struct env {
	struct platform pl;
	vidmm_t *vm;
	struct emu *emu;
	int local_vis, local_invis, pcie_snoop, pcie_unsnoop, paging;
	uint64_t page;
};

static struct env *env_up(const char *profile)
{
	struct env *e = calloc(1, sizeof(*e));
	struct vidmm_profile p;
	char err[256] = "";

	assert_non_null(e);
	assert_int_equal(vidmm_profile_builtin(profile, &p), 0);
	if (platform_open(&p, "emu", &e->pl, err, sizeof(err)))
		fail_msg("platform_open: %s", err);
	e->vm = e->pl.vm;
	e->emu = e->pl.emu;
	e->page = p.page_size;
	e->local_vis = platform_find_segment(e->vm, VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE,
					     VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE);
	e->local_invis = platform_find_segment(e->vm, VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE,
					       VIDMM_SEG_LOCAL);
	e->pcie_snoop = platform_find_segment(e->vm, VIDMM_SEG_PCIE | VIDMM_SEG_SNOOPED | VIDMM_SEG_PAGING,
					      VIDMM_SEG_PCIE | VIDMM_SEG_SNOOPED);
	e->pcie_unsnoop = platform_find_segment(e->vm, VIDMM_SEG_PCIE | VIDMM_SEG_SNOOPED | VIDMM_SEG_PAGING,
						VIDMM_SEG_PCIE);
	e->paging = platform_find_segment(e->vm, VIDMM_SEG_PAGING, VIDMM_SEG_PAGING);
	assert_true(e->local_vis >= 0 && e->local_invis >= 0 && e->pcie_snoop >= 0 &&
		    e->pcie_unsnoop >= 0 && e->paging >= 0);
	return e;
}

static void env_down(struct env *e)
{
	platform_close(&e->pl);
	free(e);
}

static void check_ok(vidmm_t *vm)
{
	int ret = vidmm_check(vm);
	if (ret)
		fail_msg("vidmm_check: %s", vidmm_check_error(vm));
}

static vidmm_handle_t create_in(struct env *e, int seg, uint64_t size, int prio, uint32_t flags)
{
	struct vidmm_alloc_desc d = { .size = size, .priority = prio, .flags = flags };
	vidmm_handle_t h = 0;
	int ret;

	if (seg >= 0) {
		d.n_preferred = 1;
		d.preferred[0] = (uint32_t)seg;
	}
	ret = vidmm_create_allocation(e->vm, &d, &h);
	if (ret)
		fail_msg("create %" PRIu64 " bytes in segment %d: %s", size, seg, vidmm_strerror(ret));
	/* Its clear runs on a copy engine: these cases look at memory and
	 * placement afterwards, so they let it finish first. */
	assert_int_equal(vidmm_wait_idle(e->vm, 30ull * 1000000000ull), 0);
	return h;
}

static struct vidmm_alloc_info info_of(struct env *e, vidmm_handle_t h)
{
	struct vidmm_alloc_info i;
	assert_int_equal(vidmm_query_allocation(e->vm, h, &i), 0);
	return i;
}

static uint64_t dummy_pfn(struct env *e)
{
	return emu_chip_ops.mmio_read32(e->emu, EMU_MMIO_MMU_DUMMY_PFN);
}

static struct vidmm_chip_faults faults(struct env *e)
{
	struct vidmm_chip_faults f;
	assert_int_equal(emu_chip_ops.fault_report(e->emu, &f), 0);
	return f;
}

/* ---- GART ------------------------------------------------------------------ */

static void gart_dummy_init(void **state)
{
	struct env *e = env_up("tiny");
	struct vidmm_chip_gart_geometry g;
	struct vidmm_stats st;
	uint64_t dpfn = dummy_pfn(e), pfn;
	uint8_t buf[64];

	(void)state;
	assert_int_equal(emu_chip_ops.query_gart(e->emu, &g), 0);
	assert_true(dpfn != 0);
	/* Every page of the aperture, the paging segment included, walks
	 * through L1 -> L2 -> L3 to the dummy page. */
	for (uint64_t a = g.base; a < g.base + g.size; a += e->page) {
		assert_int_equal(emu_walk(e->emu, a, &pfn), 0);
		if (pfn != dpfn)
			fail_msg("GART page 0x%" PRIx64 " -> frame 0x%" PRIx64 ", dummy is 0x%" PRIx64,
				 a, pfn, dpfn);
	}
	uint8_t *dp = emu_pfn_to_host(e->emu, dpfn);
	for (uint64_t i = 0; i < e->page; i++)
		assert_int_equal(dp[i], 0);
	assert_int_equal(vidmm_query_stats(e->vm, &st), 0);
	assert_int_equal(st.gart_mapped_pages, 0);
	assert_int_equal(st.gart_pages, g.size / e->page);
	assert_int_equal(st.sysmem_pages_used, 1); /* the dummy page */
	/* A GPU read anywhere in the aperture sees zeros and is counted. */
	uint64_t before = faults(e).dummy_page_accesses;
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(emu_gpu_read(e->emu, g.base + g.size / 2, buf, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	assert_true(faults(e).dummy_page_accesses > before);
	check_ok(e->vm);
	env_down(e);
}

static void gart_map_unmap(void **state)
{
	struct env *e = env_up("tiny");
	uint64_t dpfn = dummy_pfn(e);
	int segs[2] = { e->pcie_snoop, e->pcie_unsnoop };
	vidmm_handle_t h[8];
	struct vidmm_alloc_info in[8];

	(void)state;
	for (int i = 0; i < 8; i++) {
		h[i] = create_in(e, segs[i % 2], (uint64_t)(i + 1) * 3 * e->page + 17,
				 VIDMM_PRIO_NORMAL, 0);
		in[i] = info_of(e, h[i]);
		assert_int_equal(in[i].segment, segs[i % 2]);
	}
	check_ok(e->vm);
	/* Every mapped page translates to its own frame, frames are distinct,
	 * and bytes written by the GPU land in that frame. */
	for (int i = 0; i < 8; i++) {
		for (uint64_t off = 0; off < in[i].size; off += e->page) {
			uint64_t pfn = 0, tag = ((uint64_t)i << 32) | off;
			assert_int_equal(emu_walk(e->emu, in[i].gpu_addr + off, &pfn), 0);
			assert_true(pfn != dpfn);
			assert_int_equal(emu_gpu_write(e->emu, in[i].gpu_addr + off, &tag, sizeof(tag)), 0);
			uint64_t got;
			memcpy(&got, emu_pfn_to_host(e->emu, pfn), sizeof(got));
			assert_int_equal(got, tag);
		}
	}
	/* Distinct frames: the tags written above survived each other. */
	for (int i = 0; i < 8; i++)
		for (uint64_t off = 0; off < in[i].size; off += e->page) {
			uint64_t got, tag = ((uint64_t)i << 32) | off;
			assert_int_equal(emu_gpu_read(e->emu, in[i].gpu_addr + off, &got, sizeof(got)), 0);
			assert_int_equal(got, tag);
		}
	uint64_t f0 = faults(e).dummy_page_accesses;
	assert_int_equal(faults(e).stale_tlb_hits, 0);
	/* After unmap (destroy), every page of the range is the dummy page. */
	for (int i = 0; i < 8; i += 2)
		assert_int_equal(vidmm_destroy_allocation(e->vm, h[i]), 0);
	check_ok(e->vm);
	for (int i = 0; i < 8; i++)
		for (uint64_t off = 0; off < in[i].size; off += e->page) {
			uint64_t pfn;
			assert_int_equal(emu_walk(e->emu, in[i].gpu_addr + off, &pfn), 0);
			if (i % 2 == 0)
				assert_int_equal(pfn, dpfn);
			else
				assert_true(pfn != dpfn);
		}
	uint64_t got = 1;
	assert_int_equal(emu_gpu_read(e->emu, in[0].gpu_addr, &got, sizeof(got)), 0);
	assert_int_equal(got, 0);
	assert_true(faults(e).dummy_page_accesses > f0);
	assert_int_equal(faults(e).stale_tlb_hits, 0);
	env_down(e);
}

/* Address of the L3 entry for a GPU address, found as the MMU would. */
static void *l3_entry_cpu(struct env *e, uint64_t gpu_addr)
{
	struct vidmm_chip_gart_geometry g;
	assert_int_equal(emu_chip_ops.query_gart(e->emu, &g), 0);
	uint64_t idx = (gpu_addr - g.base) >> g.page_shift, E = g.entries_per_table;
	uint32_t l1 = emu_chip_ops.mmio_read32(e->emu, g.mmio_l1_base + 4 * (uint32_t)(idx / (E * E)));
	assert_true(l1 & g.valid_bit);
	uint64_t l2_addr = ((uint64_t)l1 >> g.addr_shift) << g.page_shift;
	uint8_t *l2 = emu_chip_ops.map_local(e->emu, l2_addr, 1ull << g.page_shift);
	assert_non_null(l2);
	uint64_t l2e = g.entry_bytes == 4 ? ((uint32_t *)l2)[(idx / E) % E] : ((uint64_t *)l2)[(idx / E) % E];
	assert_true(l2e & g.valid_bit);
	uint64_t l3_addr = (l2e >> g.addr_shift) << g.page_shift;
	uint8_t *l3 = emu_chip_ops.map_local(e->emu, l3_addr, 1ull << g.page_shift);
	assert_non_null(l3);
	return l3 + (idx % E) * g.entry_bytes;
}

static void gart_stale_tlb(void **state)
{
	struct env *e = env_up("tiny");
	struct vidmm_stats st;
	uint64_t x;

	(void)state;
	/* The core's own paths never leave a stale entry: churn mappings while
	 * the TLB is warm and check every access. */
	struct vt_rng r;
	vt_rng_seed(&r, vt_seed("GART-STALE-TLB"));
	vidmm_handle_t live[32] = { 0 };
	for (int step = 0; step < 2000; step++) {
		int k = (int)vt_rng_below(&r, 32);
		if (live[k]) {
			struct vidmm_alloc_info i = info_of(e, live[k]);
			assert_int_equal(emu_gpu_read(e->emu, i.gpu_addr + i.size - 8, &x, 8), 0);
			assert_int_equal(vidmm_destroy_allocation(e->vm, live[k]), 0);
			/* A late access to the freed range must see the dummy page. */
			assert_int_equal(emu_gpu_read(e->emu, i.gpu_addr, &x, 8), 0);
			live[k] = 0;
		} else {
			int seg = vt_rng_below(&r, 2) ? e->pcie_snoop : e->pcie_unsnoop;
			live[k] = create_in(e, seg, (1 + vt_rng_below(&r, 16)) * e->page,
					    VIDMM_PRIO_LOW, 0);
			struct vidmm_alloc_info i = info_of(e, live[k]);
			x = (uint64_t)step;
			assert_int_equal(emu_gpu_write(e->emu, i.gpu_addr, &x, 8), 0);
		}
	}
	assert_int_equal(vidmm_query_stats(e->vm, &st), 0);
	assert_int_equal(st.stale_tlb_hits, 0);
	assert_true(st.gart_invalidations > 0);
	check_ok(e->vm);

	/* Changing an entry behind the MMU's back, with no invalidation, is
	 * caught by the emulator on the next access through the TLB. */
	vidmm_handle_t a = create_in(e, e->pcie_snoop, 2 * e->page, VIDMM_PRIO_NORMAL, 0);
	vidmm_handle_t b = create_in(e, e->pcie_snoop, 2 * e->page, VIDMM_PRIO_NORMAL, 0);
	struct vidmm_alloc_info ia = info_of(e, a), ib = info_of(e, b);
	assert_int_equal(emu_gpu_read(e->emu, ia.gpu_addr, &x, 8), 0); /* warm the TLB */
	uint32_t *ea = l3_entry_cpu(e, ia.gpu_addr), *eb = l3_entry_cpu(e, ib.gpu_addr);
	uint32_t saved = *ea;
	*ea = *eb; /* 4-byte entries on "tiny" */
	assert_int_equal(emu_gpu_read(e->emu, ia.gpu_addr, &x, 8), 0);
	assert_int_equal(vidmm_query_stats(e->vm, &st), 0);
	assert_true(st.stale_tlb_hits > 0);
	*ea = saved;
	/* vidmm_check also sees a wrong entry. */
	*eb = saved;
	assert_int_equal(vidmm_check(e->vm), -EUCLEAN);
	assert_non_null(strstr(vidmm_check_error(e->vm), "GART entry"));
	env_down(e);
}

/* ---- allocations ------------------------------------------------------------- */

static void alloc_placement(void **state)
{
	struct env *e = env_up("tiny");
	struct vidmm_alloc_desc d = { .size = 64 * 1024, .priority = VIDMM_PRIO_NORMAL };
	struct vidmm_stats st;
	vidmm_handle_t h;

	(void)state;
	/* Default order: CPU-invisible local first. (Every allocation here is
	 * unpagable: a pagable one in the way would be paged out rather than
	 * fall back, which the residency tests cover.) */
	h = create_in(e, -1, 64 * 1024, VIDMM_PRIO_NORMAL, VIDMM_ALLOC_UNPAGABLE);
	assert_int_equal(info_of(e, h).segment, e->local_invis);
	/* CPU-visible: only segments the CPU can map; local before PCIe. */
	h = create_in(e, -1, 64 * 1024, VIDMM_PRIO_NORMAL,
		      VIDMM_ALLOC_CPU_VISIBLE | VIDMM_ALLOC_UNPAGABLE);
	assert_int_equal(info_of(e, h).segment, e->local_vis);
	/* The first preferred segment that has room wins. */
	d.flags = VIDMM_ALLOC_UNPAGABLE;
	d.n_preferred = 2;
	d.preferred[0] = (uint32_t)e->pcie_unsnoop;
	d.preferred[1] = (uint32_t)e->local_vis;
	assert_int_equal(vidmm_create_allocation(e->vm, &d, &h), 0);
	assert_int_equal(info_of(e, h).segment, e->pcie_unsnoop);
	/* Fill the first preferred segment with what cannot be paged out:
	 * placement falls back to the second. */
	assert_int_equal(vidmm_query_stats(e->vm, &st), 0);
	uint64_t left = st.seg[e->pcie_unsnoop].free;
	d.size = left;
	d.n_preferred = 1;
	d.flags = VIDMM_ALLOC_UNPAGABLE;
	assert_int_equal(vidmm_create_allocation(e->vm, &d, &h), 0);
	assert_int_equal(info_of(e, h).segment, e->pcie_unsnoop);
	d.size = 64 * 1024;
	d.n_preferred = 2;
	assert_int_equal(vidmm_create_allocation(e->vm, &d, &h), 0);
	assert_int_equal(info_of(e, h).segment, e->local_vis);
	/* With every preferred segment full: -ENOSPC, nothing else taken. */
	d.n_preferred = 1;
	assert_int_equal(vidmm_create_allocation(e->vm, &d, &h), -ENOSPC);
	/* LOCAL_ONLY never lands in PCIe: fill local, then it fails. */
	assert_int_equal(vidmm_query_stats(e->vm, &st), 0);
	struct vidmm_alloc_desc big = { .size = st.seg[e->local_invis].free, .priority = VIDMM_PRIO_LOW,
					.flags = VIDMM_ALLOC_UNPAGABLE };
	assert_int_equal(vidmm_create_allocation(e->vm, &big, &h), 0);
	assert_int_equal(info_of(e, h).segment, e->local_invis);
	big.size = st.seg[e->local_vis].free;
	assert_int_equal(vidmm_create_allocation(e->vm, &big, &h), 0);
	assert_int_equal(info_of(e, h).segment, e->local_vis);
	struct vidmm_alloc_desc lo = { .size = 4096, .priority = VIDMM_PRIO_LOW,
				       .flags = VIDMM_ALLOC_LOCAL_ONLY };
	assert_int_equal(vidmm_create_allocation(e->vm, &lo, &h), -ENOSPC);
	/* ...while a plain one falls through to PCIe. */
	lo.flags = VIDMM_ALLOC_UNPAGABLE;
	assert_int_equal(vidmm_create_allocation(e->vm, &lo, &h), 0);
	assert_int_equal(info_of(e, h).segment, e->pcie_snoop);
	/* Nothing was paged out along the way: nothing could be. */
	assert_int_equal(vidmm_query_stats(e->vm, &st), 0);
	assert_int_equal(st.page_outs, 0);
	/* Top-down placement sits at the top of its segment's free space. */
	h = create_in(e, e->pcie_snoop, 8192, VIDMM_PRIO_LOW, VIDMM_ALLOC_TOP_DOWN);
	struct vidmm_segment_info si[VIDMM_MAX_SEGMENTS];
	uint32_t n;
	assert_int_equal(vidmm_query_segments(e->vm, si, VIDMM_MAX_SEGMENTS, &n), 0);
	/* The paging carve occupies the top of the snooped segment. */
	assert_int_equal(info_of(e, h).gpu_addr + 8192, si[e->paging].base);
	assert_int_equal(si[e->paging].base + si[e->paging].size,
			 si[e->pcie_snoop].base + si[e->pcie_snoop].size);
	assert_int_equal(si[e->paging].parent, e->pcie_snoop);
	check_ok(e->vm);
	env_down(e);
}

static void alloc_lists(void **state)
{
	struct env *e = env_up("tiny");
	struct vt_rng r;
	vidmm_handle_t live[256] = { 0 };
	uint64_t want_bytes[VIDMM_MAX_SEGMENTS][VIDMM_PRIO_COUNT + 1];

	(void)state;
	vt_rng_seed(&r, vt_seed("ALLOC-LISTS"));
	for (int step = 0; step < 4000; step++) {
		int k = (int)vt_rng_below(&r, 256);
		if (live[k]) {
			assert_int_equal(vidmm_destroy_allocation(e->vm, live[k]), 0);
			live[k] = 0;
		} else {
			struct vidmm_alloc_desc d = {
				.size = (1 + vt_rng_below(&r, 64)) * 4096 - vt_rng_below(&r, 4096),
				.priority = (enum vidmm_priority)vt_rng_below(&r, VIDMM_PRIO_COUNT),
				.flags = vt_rng_below(&r, 4) == 0 ? VIDMM_ALLOC_UNPAGABLE : 0,
			};
			int ret = vidmm_create_allocation(e->vm, &d, &live[k]);
			assert_true(ret == 0 || ret == -ENOSPC || ret == -ENOMEM);
			if (ret)
				live[k] = 0;
		}
		if (step % 97 == 0)
			check_ok(e->vm);
	}
	/* Destroyed allocations whose clears were still running are freed
	 * once those finish. */
	assert_int_equal(vidmm_wait_idle(e->vm, 30ull * 1000000000ull), 0);
	/* List bytes add up to each heap's used bytes, and to what we hold. */
	memset(want_bytes, 0, sizeof(want_bytes));
	for (int k = 0; k < 256; k++) {
		if (!live[k])
			continue;
		struct vidmm_alloc_info i = info_of(e, live[k]);
		int slot = (i.flags & VIDMM_ALLOC_UNPAGABLE) ? VIDMM_PRIO_COUNT : (int)i.priority;
		want_bytes[i.segment][slot] += i.size;
	}
	struct vidmm_stats st;
	struct vidmm_segment_info si[VIDMM_MAX_SEGMENTS];
	uint32_t n;
	assert_int_equal(vidmm_query_stats(e->vm, &st), 0);
	assert_int_equal(vidmm_query_segments(e->vm, si, VIDMM_MAX_SEGMENTS, &n), 0);
	for (uint32_t s = 0; s < st.nsegments; s++) {
		const struct vidmm_segment_stats *ss = &st.seg[s];
		uint64_t lists = ss->unpagable_bytes + ss->driver_bytes;
		for (int p = 0; p < VIDMM_PRIO_COUNT; p++) {
			assert_int_equal(ss->pagable_bytes[p], want_bytes[s][p]);
			lists += ss->pagable_bytes[p];
		}
		assert_int_equal(ss->unpagable_bytes, want_bytes[s][VIDMM_PRIO_COUNT]);
		if ((int)s == e->pcie_snoop)
			lists += si[e->paging].size; /* the carve */
		assert_int_equal(lists, ss->total - ss->free);
	}
	check_ok(e->vm);
	env_down(e);
}

static void stats_snapshot(struct env *e, struct vidmm_stats *st)
{
	assert_int_equal(vidmm_query_stats(e->vm, st), 0);
	st->alloc_failures = 0; /* failures are counted, by design */
	st->dummy_page_faults = 0;
}

static void alloc_bad_input(void **state)
{
	struct env *e = env_up("tiny");
	struct vidmm_stats before, after;
	vidmm_handle_t h = 0, keep, gone;

	(void)state;
	keep = create_in(e, -1, 65536, VIDMM_PRIO_NORMAL, 0);
	gone = create_in(e, -1, 65536, VIDMM_PRIO_NORMAL, 0);
	assert_int_equal(vidmm_destroy_allocation(e->vm, gone), 0);
	stats_snapshot(e, &before);

	struct {
		const char *what;
		struct vidmm_alloc_desc d;
		int err;
	} bad[] = {
		{ "zero size", { .size = 0, .priority = VIDMM_PRIO_NORMAL }, -EINVAL },
		{ "huge size", { .size = UINT64_MAX, .priority = VIDMM_PRIO_NORMAL }, -EINVAL },
		{ "larger than any segment", { .size = 1ull << 40, .priority = VIDMM_PRIO_NORMAL }, -ENOSPC },
		{ "alignment not a power of two", { .size = 4096, .alignment = 12288, .priority = VIDMM_PRIO_NORMAL }, -EINVAL },
		{ "alignment beyond every segment", { .size = 4096, .alignment = 1ull << 40, .priority = VIDMM_PRIO_NORMAL }, -EINVAL },
		{ "bad priority", { .size = 4096, .priority = VIDMM_PRIO_COUNT }, -EINVAL },
		{ "negative priority", { .size = 4096, .priority = (enum vidmm_priority)-1 }, -EINVAL },
		{ "unknown flag", { .size = 4096, .priority = VIDMM_PRIO_NORMAL, .flags = 1u << 30 }, -EINVAL },
		{ "unknown segment", { .size = 4096, .priority = VIDMM_PRIO_NORMAL, .n_preferred = 1, .preferred = { 99 } }, -EINVAL },
		{ "paging segment", { .size = 4096, .priority = VIDMM_PRIO_NORMAL, .n_preferred = 1, .preferred = { (uint32_t)e->paging } }, -EINVAL },
		{ "too many preferred", { .size = 4096, .priority = VIDMM_PRIO_NORMAL, .n_preferred = VIDMM_MAX_PREFERRED + 1 }, -EINVAL },
		{ "duplicate preferred", { .size = 4096, .priority = VIDMM_PRIO_NORMAL, .n_preferred = 2, .preferred = { 0, 0 } }, -EINVAL },
		{ "CPU-visible in an invisible segment", { .size = 4096, .priority = VIDMM_PRIO_NORMAL, .flags = VIDMM_ALLOC_CPU_VISIBLE, .n_preferred = 1, .preferred = { (uint32_t)e->local_invis } }, -EINVAL },
		{ "local-only in PCIe", { .size = 4096, .priority = VIDMM_PRIO_NORMAL, .flags = VIDMM_ALLOC_LOCAL_ONLY, .n_preferred = 1, .preferred = { (uint32_t)e->pcie_snoop } }, -EINVAL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = vidmm_create_allocation(e->vm, &bad[i].d, &h);
		if (ret != bad[i].err)
			fail_msg("%s: got %d (%s), want %d", bad[i].what, ret, vidmm_strerror(ret), bad[i].err);
	}
	assert_int_equal(vidmm_create_allocation(e->vm, NULL, &h), -EINVAL);
	/* Stale, forged, zero and double-destroyed handles. */
	vidmm_handle_t forged[] = { 0, gone, keep + 1, keep ^ (1ull << 40), 0xffffffffffffffffull,
				    (keep & 0xffffffffull) | (0x1234ull << 32), 12345 };
	struct vidmm_alloc_info ai;
	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		assert_int_equal(vidmm_destroy_allocation(e->vm, forged[i]), -EBADF);
		assert_int_equal(vidmm_query_allocation(e->vm, forged[i], &ai), -EBADF);
	}
	stats_snapshot(e, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(info_of(e, keep).size, 65536);
	/* Segment memory: bad arguments change nothing either. */
	struct vidmm_segment_memory m;
	assert_int_equal(vidmm_allocate_segment_memory(e->vm, 99, 4096, 0, 0, &m), -EINVAL);
	assert_int_equal(vidmm_allocate_segment_memory(e->vm, 0, 0, 0, 0, &m), -EINVAL);
	assert_int_equal(vidmm_allocate_segment_memory(e->vm, (uint32_t)e->paging, 4096, 0, 0, &m), -EINVAL);
	assert_int_equal(vidmm_allocate_segment_memory(e->vm, 0, 4096, 3 * 4096, 0, &m), -EINVAL);
	struct vidmm_segment_memory fake = { .segment = 0, .gpu_addr = 0, .size = 4096, .internal = &m };
	assert_int_equal(vidmm_release_segment_memory(e->vm, &fake), -EINVAL);
	stats_snapshot(e, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_string_equal(vidmm_strerror(-EBADF), "invalid, stale or destroyed allocation handle");
	check_ok(e->vm);
	env_down(e);
}

/* ---- bad configuration ----------------------------------------------------- */

static struct emu *wrapped;
static int (*real_query_segments)(void *, struct vidmm_chip_segment_desc *, uint32_t, uint32_t *);
static int (*real_query_gart)(void *, struct vidmm_chip_gart_geometry *);
static int bad_mode;

static int query_segments_bad(void *ctx, struct vidmm_chip_segment_desc *out, uint32_t max,
			      uint32_t *count)
{
	int ret = real_query_segments(ctx, out, max, count);
	if (ret == 0 && *count >= 2 && bad_mode == 1)
		out[1].base = out[0].base + out[0].size - 4096; /* overlap by one page */
	if (ret == 0 && bad_mode == 4)
		out[0].base += 100; /* not page-aligned */
	return ret;
}

static int query_gart_bad(void *ctx, struct vidmm_chip_gart_geometry *g)
{
	int ret = real_query_gart(ctx, g);
	if (bad_mode == 2)
		g->size /= 2; /* covers only the first PCIe segment */
	if (bad_mode == 3)
		g->l1_entries = 0; /* cannot address any L2 table */
	return ret;
}

static void init_bad_config(void **state)
{
	struct vidmm_profile p;
	struct emu *emu;
	struct vidmm_chip_ops ops = emu_chip_ops;
	vidmm_t *vm = NULL;

	(void)state;
	assert_int_equal(vidmm_profile_builtin("tiny", &p), 0);
	assert_int_equal(emu_create(&p, &emu), 0);
	wrapped = emu;
	real_query_segments = emu_chip_ops.query_segments;
	real_query_gart = emu_chip_ops.query_gart;
	ops.query_segments = query_segments_bad;
	ops.query_gart = query_gart_bad;
	struct vidmm_config good = {
		.chip = &ops, .chip_ctx = emu, .sysmem_budget = p.sysmem,
		.sysmem_reserve = p.sysmem_reserve, .paging_size = p.paging,
		.paging_snooped = p.paging_snooped,
	};
	struct vidmm_config c;

	struct {
		const char *what;
		int mode;
		uint64_t paging;
		const char *msg;
	} cases[] = {
		{ "paging window larger than its segment", 0, p.pcie_snooped + 4096, "paging window" },
		{ "paging window equal to its segment", 0, p.pcie_snooped, "paging window" },
		{ "paging window not page-aligned", 0, 1000, "paging_size" },
		{ "overlapping segments", 1, 0, "overlap" },
		{ "GART smaller than the PCIe segments", 2, 0, "GART too small" },
		{ "GART without level-1 registers", 3, 0, "GART too small" },
		{ "unaligned segment", 4, 0, "page-aligned" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = good;
		bad_mode = cases[i].mode;
		if (cases[i].paging)
			c.paging_size = cases[i].paging;
		int ret = vidmm_init(&c, &vm);
		if (ret != -EINVAL)
			fail_msg("%s: vidmm_init returned %d", cases[i].what, ret);
		if (!strstr(vidmm_init_error(), cases[i].msg))
			fail_msg("%s: message '%s' does not mention '%s'", cases[i].what,
				 vidmm_init_error(), cases[i].msg);
		printf("%s -> %s\n", cases[i].what, vidmm_init_error());
	}
	/* Budget with a reserve as large as itself; an incomplete ops table. */
	bad_mode = 0;
	c = good;
	c.sysmem_reserve = c.sysmem_budget;
	assert_int_equal(vidmm_init(&c, &vm), -EINVAL);
	c = good;
	struct vidmm_chip_ops partial = emu_chip_ops;
	partial.copy = NULL;
	c.chip = &partial;
	assert_int_equal(vidmm_init(&c, &vm), -EINVAL);
	assert_int_equal(vidmm_init(NULL, &vm), -EINVAL);
	/* The good configuration still works on the same chip afterwards. */
	c = good;
	assert_int_equal(vidmm_init(&c, &vm), 0);
	check_ok(vm);
	vidmm_destroy(vm);
	emu_destroy(emu);
}

/* ---- leaks --------------------------------------------------------------------- */

static int one_hole_or_full(const struct vidmm_segment_stats *s)
{
	return s->free == 0 || s->largest_free == s->free;
}

static void leak_check(void **state)
{
	struct env *e = env_up("tiny");
	struct vidmm_stats st0, st;
	struct vt_rng r;
	vidmm_handle_t h[300];
	struct vidmm_segment_memory m[12];
	int n = 0;

	(void)state;
	stats_snapshot(e, &st0);
	vt_rng_seed(&r, vt_seed("LEAK-CHECK"));
	for (int i = 0; i < 300; i++) {
		struct vidmm_alloc_desc d = {
			.size = (1 + vt_rng_below(&r, 32)) * 4096,
			.alignment = 4096ull << vt_rng_below(&r, 5),
			.priority = (enum vidmm_priority)vt_rng_below(&r, VIDMM_PRIO_COUNT),
			.flags = (uint32_t)vt_rng_below(&r, 16),
		};
		if (vidmm_create_allocation(e->vm, &d, &h[n]) == 0)
			n++;
	}
	int segs[] = { e->local_vis, e->local_invis, e->pcie_snoop, e->pcie_unsnoop };
	for (int i = 0; i < 12; i++)
		assert_int_equal(vidmm_allocate_segment_memory(e->vm, (uint32_t)segs[i % 4],
							       (1 + (uint64_t)i) * 8192, 0,
							       i & 1 ? VIDMM_SEGMEM_TOP_DOWN : 0, &m[i]), 0);
	check_ok(e->vm);
	assert_true(n > 100);
	/* Destroy in a shuffled order. */
	for (int i = n - 1; i > 0; i--) {
		int j = (int)vt_rng_below(&r, (uint64_t)i + 1);
		vidmm_handle_t t = h[i];
		h[i] = h[j];
		h[j] = t;
	}
	for (int i = 0; i < n; i++) {
		assert_int_equal(vidmm_destroy_allocation(e->vm, h[i]), 0);
		if (i % 50 == 0)
			check_ok(e->vm);
	}
	for (int i = 11; i >= 0; i--)
		assert_int_equal(vidmm_release_segment_memory(e->vm, &m[i]), 0);
	check_ok(e->vm);
	assert_int_equal(vidmm_wait_idle(e->vm, 30ull * 1000000000ull), 0);
	stats_snapshot(e, &st);
	assert_int_equal(st.allocations, 0);
	assert_int_equal(st.sysmem_pages_used, 1); /* only the dummy page */
	assert_int_equal(st.gart_mapped_pages, 0);
	for (uint32_t s = 0; s < st.nsegments; s++) {
		assert_true(one_hole_or_full(&st.seg[s]));
		assert_int_equal(st.seg[s].free, st0.seg[s].free);
		for (int p = 0; p < VIDMM_PRIO_COUNT; p++)
			assert_int_equal(st.seg[s].pagable_count[p], 0);
		assert_int_equal(st.seg[s].unpagable_count, 0);
	}
	/* Every GART page is back on the dummy page (vidmm_check verified it
	 * too; here through the MMU itself). */
	struct vidmm_chip_gart_geometry g;
	assert_int_equal(emu_chip_ops.query_gart(e->emu, &g), 0);
	for (uint64_t a = g.base; a < g.base + g.size; a += 4096) {
		uint64_t pfn;
		assert_int_equal(emu_walk(e->emu, a, &pfn), 0);
		assert_int_equal(pfn, dummy_pfn(e));
	}
	/* Destroying the manager with live objects frees them too (ASan's leak
	 * checker fails this test otherwise). */
	for (int i = 0; i < 10; i++)
		create_in(e, -1, 8192, VIDMM_PRIO_HIGH, 0);
	assert_int_equal(vidmm_allocate_segment_memory(e->vm, (uint32_t)e->pcie_snoop, 8192, 0, 0, &m[0]), 0);
	env_down(e);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("GART-DUMMY-INIT", gart_dummy_init),
		VT_CASE("GART-MAP-UNMAP", gart_map_unmap),
		VT_CASE("GART-STALE-TLB", gart_stale_tlb),
		VT_CASE("ALLOC-PLACEMENT", alloc_placement),
		VT_CASE("ALLOC-LISTS", alloc_lists),
		VT_CASE("ALLOC-BAD-INPUT", alloc_bad_input),
		VT_CASE("INIT-BAD-CONFIG", init_bad_config),
		VT_CASE("LEAK-CHECK", leak_check),
	};
	return VT_MAIN("core", cases);
}
