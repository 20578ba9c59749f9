/* SPDX-License-Identifier: MIT */
/*
 * test_emu.c - tests of the emulated GPU and the profiles, driven only through
 * the public contracts (chip.h ops, profile.h, emu.h).
 *
 * Owns: the EMU-* cases. Must not: use core/ (these tests build GART tables by
 * hand, the way the core will) or reach into drivers/emu internals.
 *
 * Random cases print their seed (replay with VIDMM_SEED=<seed>).
 */
#include "vt.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "drivers/emu/emu.h"
#include "drivers/profile.h"

#define MIB (UINT64_C(1) << 20)
#define SEC (UINT64_C(1000000000))


static const struct vidmm_chip_ops *ops = &emu_chip_ops;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

#define assert_contains(hay, needle)                                                   \
	do {                                                                           \
		if (!strstr((hay), (needle)))                                          \
			fail_msg("message \"%s\" does not mention \"%s\"", (hay), (needle)); \
	} while (0)

static struct vidmm_chip_faults faults(struct emu *e)
{
	struct vidmm_chip_faults f;
	assert_int_equal(ops->fault_report(e, &f), 0);
	return f;
}

/* ------------------------------------------------------------------------ */
/* A hand-built GART, the way the core builds it: every L3 entry valid and
 * naming the dummy frame, L3 tables linked into L2 tables, L2 tables in the
 * L1 registers; tables at the top of CPU-visible local memory. */

struct fx {
	struct emu *e;
	struct vidmm_profile p;
	struct vidmm_chip_gart_geometry g;
	struct vidmm_chip_sysmem sm;
	uint64_t pcie;         /* aperture base */
	uint64_t tables_gpu;   /* GPU address of the first table */
	uint8_t *tables;       /* CPU pointer to it */
	uint64_t n_l2, n_l3;
	uint64_t dummy_pfn;
	uint64_t next_pfn;     /* bump allocator of frames */
	uint64_t snooped_pages;
};

static uint64_t pte(const struct fx *f, uint64_t frame, uint32_t flags)
{
	return (frame << f->g.addr_shift) | flags;
}

static void store_entry(const struct fx *f, uint8_t *p, uint64_t v)
{
	if (f->g.entry_bytes == 4)
		__atomic_store_n((uint32_t *)(void *)p, (uint32_t)v, __ATOMIC_RELAXED);
	else
		__atomic_store_n((uint64_t *)(void *)p, v, __ATOMIC_RELAXED);
}

static uint8_t *l3_slot(const struct fx *f, uint64_t idx)
{
	uint64_t E = f->g.entries_per_table;
	uint64_t table = idx / E; /* L3 tables follow the L2 tables */
	return f->tables + ((f->n_l2 + table) << f->g.page_shift) + (idx % E) * f->g.entry_bytes;
}

static uint32_t snoop_of(const struct fx *f, uint64_t idx)
{
	return idx < f->snooped_pages ? f->g.snoop_bit : 0;
}

static void set_pte(struct fx *f, uint64_t idx, uint64_t frame)
{
	store_entry(f, l3_slot(f, idx), pte(f, frame, f->g.valid_bit | snoop_of(f, idx)));
}

static void set_raw_pte(struct fx *f, uint64_t idx, uint64_t v)
{
	store_entry(f, l3_slot(f, idx), v);
}

static void invalidate(struct fx *f, uint32_t first, uint32_t count)
{
	ops->mmio_write32(f->e, f->g.mmio_inval_first, first);
	ops->mmio_write32(f->e, f->g.mmio_inval_count, count);
	ops->mmio_write32(f->e, f->g.mmio_inval_trigger, 1);
}

static uint64_t alloc_pfn(struct fx *f)
{
	assert_true(f->next_pfn < f->sm.first_pfn + f->sm.npages);
	return f->next_pfn++;
}

static uint8_t *host(struct fx *f, uint64_t pfn)
{
	uint8_t *p = emu_pfn_to_host(f->e, pfn);
	assert_non_null(p);
	return p;
}

static void fx_create(struct fx *f, const struct vidmm_profile *p)
{
	memset(f, 0, sizeof(*f));
	f->p = *p;
	assert_int_equal(emu_create(p, &f->e), 0);
	assert_int_equal(ops->query_gart(f->e, &f->g), 0);
	assert_int_equal(ops->query_sysmem(f->e, &f->sm), 0);
	f->pcie = emu_pcie_base(f->e);
	f->snooped_pages = p->pcie_snooped >> f->g.page_shift;
}

static void fx_gart(struct fx *f)
{
	const uint64_t E = f->g.entries_per_table, ps = UINT64_C(1) << f->g.page_shift;
	const uint64_t pages = f->g.size >> f->g.page_shift;

	f->n_l3 = (pages + E - 1) / E;
	f->n_l2 = (f->n_l3 + E - 1) / E;
	uint64_t bytes = (f->n_l2 + f->n_l3) * ps;
	assert_true(bytes <= f->p.local_visible);
	f->tables_gpu = f->p.local_visible - bytes;
	f->tables = ops->map_local(f->e, f->tables_gpu, bytes);
	assert_non_null(f->tables);

	f->dummy_pfn = f->sm.first_pfn; /* the first frame, kept zero */
	f->next_pfn = f->sm.first_pfn + 1;
	ops->mmio_write32(f->e, f->g.mmio_dummy_pfn, (uint32_t)f->dummy_pfn);
	for (uint64_t i = 0; i < f->n_l3 * E; i++)
		set_pte(f, i, f->dummy_pfn);
	for (uint64_t l2 = 0; l2 < f->n_l2; l2++) {
		uint8_t *t = f->tables + l2 * ps;
		for (uint64_t j = 0; j < E; j++) {
			uint64_t l3 = l2 * E + j;
			uint64_t frame = (f->tables_gpu >> f->g.page_shift) + f->n_l2 + l3;
			store_entry(f, t + j * f->g.entry_bytes,
				    l3 < f->n_l3 ? pte(f, frame, f->g.valid_bit) : 0);
		}
		uint64_t frame = (f->tables_gpu >> f->g.page_shift) + l2;
		ops->mmio_write32(f->e, f->g.mmio_l1_base + 4 * (uint32_t)l2,
				  (uint32_t)pte(f, frame, f->g.valid_bit));
	}
	ops->mmio_write32(f->e, f->g.mmio_enable, 1);
	invalidate(f, 0, 0);
}

static void fx_destroy(struct fx *f)
{
	emu_destroy(f->e);
	f->e = NULL;
}

static struct vidmm_profile tiny(void)
{
	struct vidmm_profile p;
	assert_int_equal(vidmm_profile_builtin("tiny", &p), 0);
	return p;
}

/* Map aperture pages [first, first+n) to frames, contiguous or shuffled. */
static void map_range(struct fx *f, uint64_t first, uint64_t n, bool shuffled, struct vt_rng *r)
{
	uint64_t *frames = malloc(n * sizeof(*frames));
	assert_non_null(frames);
	for (uint64_t i = 0; i < n; i++)
		frames[i] = alloc_pfn(f);
	if (shuffled) {
		for (uint64_t i = n - 1; i > 0; i--) {
			uint64_t j = vt_rng_below(r, i + 1), t = frames[i];
			frames[i] = frames[j];
			frames[j] = t;
		}
	}
	for (uint64_t i = 0; i < n; i++)
		set_pte(f, first + i, frames[i]);
	free(frames);
	invalidate(f, (uint32_t)first, (uint32_t)n);
}

static void fill_random(uint8_t *p, size_t n, struct vt_rng *r)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v = vt_rng_next(r);
		memcpy(p + i, &v, 8);
	}
	for (; i < n; i++)
		p[i] = (uint8_t)vt_rng_next(r);
}

static void wait_ok(struct emu *e, uint32_t engine, uint64_t fence)
{
	assert_int_equal(ops->fence_wait(e, engine, fence, 10 * SEC), 0);
	assert_true(ops->fence_completed(e, engine) >= fence);
	assert_int_equal(ops->fence_error(e, engine, fence), 0);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* ------------------------------------------------------------------------ */

static long rss_kib(void)
{
	long size = 0, res = 0;
	FILE *fp = fopen("/proc/self/statm", "r");
	if (!fp)
		return 0;
	if (fscanf(fp, "%ld %ld", &size, &res) != 2)
		res = 0;
	fclose(fp);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void check_bad(const struct vidmm_profile *base, void (*mutate)(struct vidmm_profile *),
		      const char *field)
{
	struct vidmm_profile p = *base;
	char err[512] = "";
	struct emu *e = NULL;

	mutate(&p);
	assert_int_equal(vidmm_profile_validate(&p, err, sizeof(err)), -EINVAL);
	assert_contains(err, field);
	assert_int_equal(emu_create(&p, &e), -EINVAL);
	assert_null(e);
}

static void m_page(struct vidmm_profile *p) { p->page_size = 8192; }
static void m_entry(struct vidmm_profile *p) { p->gart_entry_bytes = 2; }
static void m_levels(struct vidmm_profile *p) { p->gart_levels = 2; }
static void m_ce0(struct vidmm_profile *p) { p->copy_engines = 0; }
static void m_ce9(struct vidmm_profile *p) { p->copy_engines = 9; }
static void m_tlb(struct vidmm_profile *p) { p->tlb_entries = 100; }
static void m_tlb0(struct vidmm_profile *p) { p->tlb_entries = 0; }
static void m_lv0(struct vidmm_profile *p) { p->local_visible = 0; }
static void m_lvalign(struct vidmm_profile *p) { p->local_visible += 100; }
static void m_paging_align(struct vidmm_profile *p) { p->paging += 512; }
static void m_paging_big(struct vidmm_profile *p) { p->paging = p->pcie_snooped; }
static void m_paging_unsn(struct vidmm_profile *p) { p->paging_snooped = false; p->pcie_unsnooped = 0; }
static void m_reserve(struct vidmm_profile *p) { p->sysmem_reserve = p->sysmem; }
static void m_sys0(struct vidmm_profile *p) { p->sysmem = 0; }
static void m_pcie0(struct vidmm_profile *p) { p->pcie_snooped = 0; p->pcie_unsnooped = 0; }
static void m_gart_big(struct vidmm_profile *p)
{
	p->gart_entry_bytes = 8; /* 1024 L1 regs * 512 * 512 pages = 1 TiB */
	p->pcie_snooped = p->pcie_unsnooped = UINT64_C(1) << 40;
}
static void m_local_big(struct vidmm_profile *p) { p->local_invisible = UINT64_C(2) << 40; }
static void m_swap_align(struct vidmm_profile *p) { p->swap = 4095; }
static void m_noname(struct vidmm_profile *p) { p->name[0] = '\0'; }

static void test_profiles(void **state)
{
	(void)state;
	int n = 0;

	for (const char *const *name = vidmm_profile_builtin_names; *name; name++, n++) {
		struct vidmm_profile p;
		char err[256] = "";
		assert_int_equal(vidmm_profile_builtin(*name, &p), 0);
		assert_string_equal(p.name, *name);
		if (vidmm_profile_validate(&p, err, sizeof(err)))
			fail_msg("built-in %s does not validate: %s", *name, err);
		struct vidmm_profile q;
		assert_int_equal(vidmm_profile_resolve(*name, &q, err, sizeof(err)), 0);
		assert_memory_equal(&p, &q, sizeof(p));

		/* Sparse: creating the chip must not commit its memory. */
		long before = rss_kib();
		struct emu *e;
		assert_int_equal(emu_create(&p, &e), 0);
		long grown = rss_kib() - before;
		printf("profile %s: local %" PRIu64 " MiB, pool %" PRIu64 " MiB, rss +%ld KiB\n",
		       *name, (p.local_visible + p.local_invisible) / MIB, p.sysmem / MIB, grown);
		assert_true(grown < 32 * 1024);

		struct vidmm_chip_segment_desc seg[VIDMM_CHIP_MAX_SEGMENTS];
		uint32_t cnt = 0;
		assert_int_equal(ops->query_segments(e, seg, VIDMM_CHIP_MAX_SEGMENTS, &cnt), 0);
		assert_int_equal(cnt, 4);
		assert_string_equal(seg[0].name, "local-visible");
		assert_int_equal(seg[0].base, 0);
		assert_int_equal(seg[0].size, p.local_visible);
		assert_int_equal(seg[0].flags, VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE);
		assert_string_equal(seg[1].name, "local-invisible");
		assert_int_equal(seg[1].base, p.local_visible);
		assert_int_equal(seg[1].flags, VIDMM_SEG_LOCAL);
		assert_string_equal(seg[2].name, "pcie-snooped");
		assert_true(seg[2].base >= EMU_PCIE_BASE);
		assert_true(seg[2].base >= p.local_visible + p.local_invisible);
		assert_int_equal(seg[2].base, emu_pcie_base(e));
		assert_int_equal(seg[2].size, p.pcie_snooped);
		assert_int_equal(seg[2].flags, VIDMM_SEG_PCIE | VIDMM_SEG_SNOOPED | VIDMM_SEG_CPU_VISIBLE);
		assert_string_equal(seg[3].name, "pcie-unsnooped");
		assert_int_equal(seg[3].base, seg[2].base + p.pcie_snooped);
		assert_int_equal(seg[3].flags, VIDMM_SEG_PCIE | VIDMM_SEG_CPU_VISIBLE);
		assert_int_equal(ops->query_segments(e, seg, 2, &cnt), -ENOSPC);

		struct vidmm_chip_gart_geometry g;
		assert_int_equal(ops->query_gart(e, &g), 0);
		assert_int_equal(g.base, seg[2].base);
		assert_int_equal(g.size, p.pcie_snooped + p.pcie_unsnooped);
		assert_int_equal(g.page_shift, 12);
		assert_int_equal(g.entry_bytes, p.gart_entry_bytes);
		assert_int_equal(g.levels, 3);
		assert_int_equal(g.entries_per_table, p.page_size / p.gart_entry_bytes);
		assert_int_equal(g.l1_entries, (EMU_MMIO_SIZE - EMU_MMIO_MMU_START_ADDRESS) / 4);
		assert_int_equal(g.addr_shift, EMU_PTE_SHIFT);
		assert_int_equal(g.valid_bit, EMU_PTE_VALID);
		assert_int_equal(g.snoop_bit, EMU_PTE_SNOOP);
		assert_int_equal(g.mmio_l1_base, EMU_MMIO_MMU_START_ADDRESS);
		assert_int_equal(g.mmio_dummy_pfn, EMU_MMIO_MMU_DUMMY_PFN);
		assert_int_equal(g.mmio_inval_first, EMU_MMIO_MMU_INVAL_FIRST);
		assert_int_equal(g.mmio_inval_count, EMU_MMIO_MMU_INVAL_COUNT);
		assert_int_equal(g.mmio_inval_trigger, EMU_MMIO_MMU_INVAL_TRIGGER);
		assert_int_equal(g.mmio_enable, EMU_MMIO_MMU_ENABLE);

		struct vidmm_chip_sysmem sm;
		assert_int_equal(ops->query_sysmem(e, &sm), 0);
		assert_true(sm.first_pfn > 0);
		assert_int_equal(sm.npages, p.sysmem >> 12);
		assert_int_equal(sm.page_shift, 12);
		/* The last frame and the top of local memory are usable. */
		uint8_t *last = (uint8_t *)sm.cpu + ((sm.first_pfn + sm.npages - 1) << 12);
		assert_ptr_equal(last, emu_pfn_to_host(e, sm.first_pfn + sm.npages - 1));
		last[4095] = 0x5a;
		assert_null(emu_pfn_to_host(e, sm.first_pfn - 1));
		assert_null(emu_pfn_to_host(e, sm.first_pfn + sm.npages));
		uint8_t *top = ops->map_local(e, p.local_visible - 4096, 4096);
		assert_non_null(top);
		top[4095] = 0xa5;

		struct vidmm_chip_engines en;
		assert_int_equal(ops->query_engines(e, &en), 0);
		assert_int_equal(en.n_copy, p.copy_engines);
		assert_int_equal(en.n_job, 1);
		assert_int_equal(ops->mmio_read32(e, EMU_MMIO_ID), EMU_CHIP_ID);
		emu_destroy(e);
	}
	assert_int_equal(n, 3);

	struct vidmm_profile p;
	char err[256] = "";
	assert_int_equal(vidmm_profile_builtin("nonesuch", &p), -ENOENT);
	assert_int_equal(vidmm_profile_resolve("nonesuch", &p, err, sizeof(err)), -ENOENT);
	assert_contains(err, "nonesuch");

	/* arise is shaped like the design note's hardware. */
	assert_int_equal(vidmm_profile_builtin("arise", &p), 0);
	assert_int_equal(p.pcie_snooped, UINT64_C(4) << 30);
	assert_int_equal(p.pcie_unsnooped, UINT64_C(4) << 30);
	assert_int_equal(p.paging, UINT64_C(1) << 30);
	assert_int_equal(p.page_size, 4096);
	assert_int_equal(p.gart_entry_bytes, 4);
	assert_int_equal(p.gart_levels, 3);

	/* Each rule, with the field named. */
	struct vidmm_profile t = tiny();
	check_bad(&t, m_page, "page_size");
	check_bad(&t, m_entry, "gart_entry_bytes");
	check_bad(&t, m_levels, "gart_levels");
	check_bad(&t, m_ce0, "copy_engines");
	check_bad(&t, m_ce9, "copy_engines");
	check_bad(&t, m_tlb, "tlb_entries");
	check_bad(&t, m_tlb0, "tlb_entries");
	check_bad(&t, m_lv0, "local_visible");
	check_bad(&t, m_lvalign, "local_visible");
	check_bad(&t, m_paging_align, "paging");
	check_bad(&t, m_paging_big, "paging");
	check_bad(&t, m_paging_unsn, "paging");
	check_bad(&t, m_reserve, "sysmem_reserve");
	check_bad(&t, m_sys0, "sysmem");
	check_bad(&t, m_pcie0, "pcie_snooped");
	check_bad(&t, m_gart_big, "pcie_snooped+pcie_unsnooped");
	check_bad(&t, m_local_big, "local_visible+local_invisible");
	check_bad(&t, m_swap_align, "swap");
	check_bad(&t, m_noname, "name");
}

/* ------------------------------------------------------------------------ */

static char tmpdir[64];

static const char *write_json(const char *file, const char *text)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, file);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void json_bad(const char *file, const char *text, int want, const char *field)
{
	struct vidmm_profile p;
	char err[512] = "";
	const char *path = write_json(file, text);

	memset(&p, 0x77, sizeof(p));
	struct vidmm_profile untouched = p;
	int ret = vidmm_profile_load(path, &p, err, sizeof(err));
	if (ret != want)
		fail_msg("%s: got %d, want %d (%s)", file, ret, want, err);
	assert_contains(err, path);
	assert_contains(err, field);
	assert_null(strchr(err, '\n'));
	assert_memory_equal(&p, &untouched, sizeof(p));
	printf("  rejected %-22s %s\n", file, err);
}

static void test_profile_json(void **state)
{
	(void)state;
	struct vidmm_profile p, t = tiny(), d;
	char err[512] = "";

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vidmm-test-emu-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));

	const char *good = write_json("good.json",
		"{\n"
		"  \"name\": \"mine\", \"base\": \"tiny\",\n"
		"  \"local_visible_mib\": 32, \"local_invisible_mib\": 0,\n"
		"  \"pcie_unsnooped_mib\": 64, \"paging_segment\": \"unsnooped\",\n"
		"  \"paging_mib\": 4, \"copy_engines\": 3, \"tlb_entries\": 128,\n"
		"  \"gart_entry_bytes\": 8, \"sysmem_reserve_mib\": 0, \"swap_mib\": 1024\n"
		"}\n");
	if (vidmm_profile_load(good, &p, err, sizeof(err)))
		fail_msg("good file rejected: %s", err);
	assert_string_equal(p.name, "mine");
	assert_int_equal(p.local_visible, 32 * MIB);
	assert_int_equal(p.local_invisible, 0);
	assert_int_equal(p.pcie_snooped, t.pcie_snooped); /* from the base */
	assert_int_equal(p.pcie_unsnooped, 64 * MIB);
	assert_false(p.paging_snooped);
	assert_int_equal(p.paging, 4 * MIB);
	assert_int_equal(p.copy_engines, 3);
	assert_int_equal(p.tlb_entries, 128);
	assert_int_equal(p.gart_entry_bytes, 8);
	assert_int_equal(p.sysmem, t.sysmem);
	assert_int_equal(p.sysmem_reserve, 0);
	assert_int_equal(p.swap, 1024 * MIB);
	assert_int_equal(vidmm_profile_resolve(good, &d, err, sizeof(err)), 0);
	assert_memory_equal(&p, &d, sizeof(p));
	/* It builds a chip too. */
	struct emu *e;
	assert_int_equal(emu_create(&p, &e), 0);
	struct vidmm_chip_engines en;
	assert_int_equal(ops->query_engines(e, &en), 0);
	assert_int_equal(en.n_copy, 3);
	uint32_t cnt;
	struct vidmm_chip_segment_desc seg[8];
	assert_int_equal(ops->query_segments(e, seg, 8, &cnt), 0);
	assert_int_equal(cnt, 3); /* zero-size local-invisible skipped */
	emu_destroy(e);

	/* No base: "default". */
	const char *nobase = write_json("nobase.json", "{\"name\": \"x\", \"swap_mib\": 1}");
	assert_int_equal(vidmm_profile_load(nobase, &p, err, sizeof(err)), 0);
	assert_int_equal(vidmm_profile_builtin("default", &d), 0);
	assert_int_equal(p.local_visible, d.local_visible);
	assert_int_equal(p.swap, 1 * MIB);

	json_bad("malformed.json", "{\n  \"name\": \"x\",\n  \"paging_mib\": \n}\n", -EINVAL, ":4:");
	json_bad("malformed2.json", "{\"name\": \"x\"", -EINVAL, "malformed");
	json_bad("unknown.json", "{\"local_visibel_mib\": 16}", -EINVAL, "local_visibel_mib");
	json_bad("type_str.json", "{\"copy_engines\": \"2\"}", -EINVAL, "copy_engines");
	json_bad("type_real.json", "{\"sysmem_mib\": 1.5}", -EINVAL, "sysmem_mib");
	json_bad("type_bool.json", "{\"tlb_entries\": true}", -EINVAL, "tlb_entries");
	json_bad("type_name.json", "{\"name\": 7}", -EINVAL, "name");
	json_bad("zero.json", "{\"sysmem_mib\": 0}", -EINVAL, "sysmem_mib");
	json_bad("zero_lv.json", "{\"local_visible_mib\": 0}", -EINVAL, "local_visible_mib");
	json_bad("negative.json", "{\"swap_mib\": -1}", -EINVAL, "swap_mib");
	json_bad("huge.json", "{\"pcie_snooped_mib\": 99999999999}", -EINVAL, "pcie_snooped_mib");
	json_bad("paging.json", "{\"base\": \"tiny\", \"paging_mib\": 32}", -EINVAL, "paging");
	json_bad("paging_seg.json", "{\"paging_segment\": \"sideways\"}", -EINVAL, "paging_segment");
	json_bad("reserve.json", "{\"base\": \"tiny\", \"sysmem_reserve_mib\": 128}", -EINVAL,
		 "sysmem_reserve");
	json_bad("entry.json", "{\"gart_entry_bytes\": 6}", -EINVAL, "gart_entry_bytes");
	json_bad("base.json", "{\"base\": \"huge\"}", -EINVAL, "base");
	json_bad("base_type.json", "{\"base\": 1}", -EINVAL, "base");
	json_bad("array.json", "[1, 2]", -EINVAL, "object");
	json_bad("dup.json", "{\"swap_mib\": 1, \"swap_mib\": 2}", -EINVAL, "swap_mib");

	char missing[128];
	snprintf(missing, sizeof(missing), "%s/missing.json", tmpdir);
	assert_int_equal(vidmm_profile_load(missing, &p, err, sizeof(err)), -ENOENT);
	assert_contains(err, missing);

	/* Clean up. */
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
}

/* ------------------------------------------------------------------------ */

static void walk_frames(struct fx *f, const uint64_t *idxs, size_t n)
{
	uint64_t frames[16];
	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++) {
		frames[i] = alloc_pfn(f);
		set_pte(f, idxs[i], frames[i]);
		/* A word that names the page, in its frame. */
		uint64_t tag = 0xc0ffee0000000000ull | idxs[i];
		memcpy(host(f, frames[i]) + 8, &tag, 8);
	}
	invalidate(f, 0, 0);
	for (size_t i = 0; i < n; i++) {
		uint64_t pfn = 0, got = 0, va = f->pcie + (idxs[i] << 12);
		assert_int_equal(emu_walk(f->e, va + 123, &pfn), 0);
		assert_int_equal(pfn, frames[i]);
		assert_int_equal(emu_gpu_read(f->e, va + 8, &got, 8), 0);
		assert_int_equal(got, 0xc0ffee0000000000ull | idxs[i]);
	}
}

static void mmu_walk_profile(struct vidmm_profile *p)
{
	struct fx f;
	struct vidmm_chip_faults f0, f1;
	uint64_t pfn;
	uint8_t buf[4096];

	fx_create(&f, p);
	printf("walk: %s entry_bytes=%u E=%u aperture=%" PRIu64 " MiB\n", p->name,
	       f.g.entry_bytes, f.g.entries_per_table, f.g.size / MIB);

	/* Nothing set up: L1 invalid everywhere. */
	assert_int_equal(emu_walk(f.e, f.pcie, &pfn), -ENOENT);
	assert_int_equal(emu_walk(f.e, f.pcie - 1, &pfn), -EFAULT);
	assert_int_equal(emu_walk(f.e, f.pcie + f.g.size, &pfn), -EFAULT);

	fx_gart(&f);
	const uint64_t E = f.g.entries_per_table, pages = f.g.size >> 12;
	/* Pages chosen to exercise each level's index: first, last of an L3
	 * table, first of the next, deep inside, the last page; and the second
	 * L1 entry where the aperture has one. */
	uint64_t idxs[16] = { 0, 1, E - 1, E, E + 1, 3 * E + 7, pages - 1 };
	size_t n = 7;
	if (pages > E * E) {
		idxs[n++] = E * E;
		idxs[n++] = E * E + 2 * E + 3;
	}
	walk_frames(&f, idxs, n);

	/* Bit-exact L3 format: (frame << 4) | VALID, the snoop bit is no address bit. */
	uint64_t fr = alloc_pfn(&f);
	set_raw_pte(&f, 5, (fr << EMU_PTE_SHIFT) | EMU_PTE_VALID | EMU_PTE_SNOOP);
	invalidate(&f, 5, 1);
	assert_int_equal(emu_walk(f.e, f.pcie + 5 * 4096, &pfn), 0);
	assert_int_equal(pfn, fr);
	set_raw_pte(&f, 5, (fr << EMU_PTE_SHIFT) | EMU_PTE_SNOOP); /* not valid */
	invalidate(&f, 5, 1);
	assert_int_equal(emu_walk(f.e, f.pcie + 5 * 4096, &pfn), -ENOENT);

	/* The dummy page: reads see its contents, writes are dropped. */
	memset(host(&f, f.dummy_pfn), 0, 4096);
	host(&f, f.dummy_pfn)[7] = 0x42;
	f0 = faults(f.e);
	assert_int_equal(emu_gpu_read(f.e, f.pcie + 9 * 4096, buf, 4096), 0); /* dummy entry */
	assert_int_equal(buf[7], 0x42);
	f1 = faults(f.e);
	assert_int_equal(f1.dummy_page_accesses - f0.dummy_page_accesses, 1);
	assert_int_equal(f1.unmapped_accesses - f0.unmapped_accesses, 0);
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(emu_gpu_write(f.e, f.pcie + 9 * 4096, buf, 4096), 0);
	assert_int_equal(host(&f, f.dummy_pfn)[7], 0x42);
	assert_int_equal(host(&f, f.dummy_pfn)[8], 0);
	host(&f, f.dummy_pfn)[7] = 0;

	/* Invalid L3 entry: unmapped, resolved to the dummy page. */
	f0 = faults(f.e);
	assert_int_equal(emu_gpu_read(f.e, f.pcie + 5 * 4096, buf, 16), 0);
	assert_true(all_zero(buf, 16));
	assert_int_equal(emu_gpu_write(f.e, f.pcie + 5 * 4096, buf + 1, 8), 0);
	f1 = faults(f.e);
	assert_int_equal(f1.unmapped_accesses - f0.unmapped_accesses, 2);
	assert_int_equal(f1.dummy_page_accesses - f0.dummy_page_accesses, 2);
	assert_true(all_zero(host(&f, f.dummy_pfn), 4096));

	/* Invalid L2 entry: the whole L3 table's range is unmapped. */
	uint8_t *l2e = f.tables + 1 * f.g.entry_bytes;
	uint64_t saved = f.g.entry_bytes == 4 ? *(uint32_t *)(void *)l2e : *(uint64_t *)(void *)l2e;
	store_entry(&f, l2e, saved & ~(uint64_t)EMU_PTE_VALID);
	invalidate(&f, 0, 0);
	assert_int_equal(emu_walk(f.e, f.pcie + E * 4096, &pfn), -ENOENT);
	f0 = faults(f.e);
	assert_int_equal(emu_gpu_read(f.e, f.pcie + (E + 1) * 4096 + 8, buf, 8), 0);
	assert_true(all_zero(buf, 8));
	f1 = faults(f.e);
	assert_int_equal(f1.unmapped_accesses - f0.unmapped_accesses, 1);
	/* An L2 entry naming a table outside local memory: out of range. */
	uint64_t local_pages = (p->local_visible + p->local_invisible) >> 12;
	store_entry(&f, l2e, pte(&f, local_pages + 10, EMU_PTE_VALID));
	invalidate(&f, 0, 0);
	assert_int_equal(emu_walk(f.e, f.pcie + E * 4096, &pfn), -EFAULT);
	f0 = faults(f.e);
	assert_int_equal(emu_gpu_read(f.e, f.pcie + E * 4096, buf, 8), -EFAULT);
	f1 = faults(f.e);
	assert_int_equal(f1.out_of_range - f0.out_of_range, 1);
	store_entry(&f, l2e, saved);
	invalidate(&f, 0, 0);
	assert_int_equal(emu_walk(f.e, f.pcie + E * 4096, &pfn), 0);

	/* Invalid L1 register. */
	uint32_t l1 = ops->mmio_read32(f.e, EMU_MMIO_MMU_START_ADDRESS);
	assert_true(l1 & EMU_PTE_VALID);
	assert_int_equal(l1 >> EMU_PTE_SHIFT, f.tables_gpu >> 12);
	ops->mmio_write32(f.e, EMU_MMIO_MMU_START_ADDRESS, l1 & ~EMU_PTE_VALID);
	invalidate(&f, 0, 0);
	assert_int_equal(emu_walk(f.e, f.pcie, &pfn), -ENOENT);
	f0 = faults(f.e);
	assert_int_equal(emu_gpu_read(f.e, f.pcie, buf, 8), 0);
	f1 = faults(f.e);
	assert_int_equal(f1.unmapped_accesses - f0.unmapped_accesses, 1);
	ops->mmio_write32(f.e, EMU_MMIO_MMU_START_ADDRESS, l1);
	invalidate(&f, 0, 0);

	/* An L3 entry naming a frame outside the pool (a raw pool index). */
	set_pte(&f, 6, 3);
	invalidate(&f, 6, 1);
	f0 = faults(f.e);
	assert_int_equal(emu_gpu_read(f.e, f.pcie + 6 * 4096, buf, 8), -EFAULT);
	f1 = faults(f.e);
	assert_int_equal(f1.out_of_range - f0.out_of_range, 1);

	/* Outside every segment. */
	f0 = faults(f.e);
	assert_int_equal(emu_gpu_read(f.e, p->local_visible + p->local_invisible, buf, 8), -EFAULT);
	assert_int_equal(emu_gpu_read(f.e, f.pcie + f.g.size - 4, buf, 8), -EFAULT);
	assert_int_equal(emu_gpu_write(f.e, UINT64_MAX - 3, buf, 8), -EFAULT);
	f1 = faults(f.e);
	assert_int_equal(f1.out_of_range - f0.out_of_range, 3);

	/* Snoop attribute: an entry in the snooped half without SNOOP is counted. */
	struct emu_mmu_stats ms0, ms1;
	emu_mmu_stats(f.e, &ms0);
	uint64_t fr2 = alloc_pfn(&f);
	set_raw_pte(&f, 11, pte(&f, fr2, EMU_PTE_VALID)); /* idx 11 is in the snooped half */
	invalidate(&f, 11, 1);
	assert_int_equal(emu_gpu_read(f.e, f.pcie + 11 * 4096, buf, 8), 0);
	emu_mmu_stats(f.e, &ms1);
	assert_int_equal(ms1.snoop_mismatches - ms0.snoop_mismatches, 1);
	assert_true(ms1.invalidations > ms0.invalidations);

	/* MMU disabled: nothing translates. */
	ops->mmio_write32(f.e, EMU_MMIO_MMU_ENABLE, 0);
	f0 = faults(f.e);
	assert_int_equal(emu_gpu_read(f.e, f.pcie + idxs[1] * 4096, buf, 8), 0);
	f1 = faults(f.e);
	assert_int_equal(f1.unmapped_accesses - f0.unmapped_accesses, 1);
	ops->mmio_write32(f.e, EMU_MMIO_MMU_ENABLE, 1);

	/* Local memory is not translated; map_local covers only the visible part. */
	assert_non_null(ops->map_local(f.e, 0, p->local_visible));
	assert_null(ops->map_local(f.e, 0, p->local_visible + 4096));
	assert_null(ops->map_local(f.e, p->local_visible, 4096));
	uint8_t *lp = ops->map_local(f.e, 4096, 4096);
	lp[0] = 0x99;
	assert_int_equal(emu_gpu_read(f.e, 4096, buf, 1), 0);
	assert_int_equal(buf[0], 0x99);
	if (p->local_invisible) {
		buf[0] = 0x77;
		assert_int_equal(emu_gpu_write(f.e, p->local_visible + 100, buf, 1), 0);
		buf[0] = 0;
		assert_int_equal(emu_gpu_read(f.e, p->local_visible + 100, buf, 1), 0);
		assert_int_equal(buf[0], 0x77);
	}

	/* MMIO: ID read-only, trigger self-clearing, unclaimed reads all-ones. */
	ops->mmio_write32(f.e, EMU_MMIO_ID, 0);
	assert_int_equal(ops->mmio_read32(f.e, EMU_MMIO_ID), EMU_CHIP_ID);
	assert_int_equal(ops->mmio_read32(f.e, EMU_MMIO_MMU_INVAL_TRIGGER), 0);
	assert_int_equal(ops->mmio_read32(f.e, EMU_MMIO_MMU_DUMMY_PFN), f.dummy_pfn);
	assert_int_equal(ops->mmio_read32(f.e, EMU_MMIO_SIZE), 0xffffffffu);
	assert_int_equal(ops->mmio_read32(f.e, 2), 0xffffffffu);
	fx_destroy(&f);
}

static void test_mmu_walk(void **state)
{
	(void)state;
	struct vidmm_profile p = tiny();
	mmu_walk_profile(&p);

	/* 8-byte entries, and an aperture that needs two L1 entries. */
	p = tiny();
	snprintf(p.name, sizeof(p.name), "tiny-8b");
	p.gart_entry_bytes = 8;
	p.pcie_snooped = 1024 * MIB;
	p.pcie_unsnooped = 1024 * MIB;
	mmu_walk_profile(&p);
}

/* ------------------------------------------------------------------------ */

static struct vidmm_profile two_engines(void)
{
	struct vidmm_profile p = tiny();
	p.copy_engines = 2;
	return p;
}

struct churn {
	struct fx *f;
	_Atomic bool stop;
	uint64_t first, n; /* pages it may remap */
	uint64_t frames[2];
	uint64_t rounds;
};

/* The "core": rewrites entries of its own pages and invalidates them, while
 * engines translate other pages. */
static void *churn_main(void *arg)
{
	struct churn *c = arg;
	while (!atomic_load(&c->stop)) {
		for (uint64_t i = 0; i < c->n; i++)
			set_pte(c->f, c->first + i, c->frames[(c->rounds + i) & 1]);
		invalidate(c->f, (uint32_t)c->first, (uint32_t)c->n);
		c->rounds++;
	}
	return NULL;
}

static void test_tlb_stale(void **state)
{
	(void)state;
	struct fx f;
	struct vidmm_profile p = two_engines();
	uint64_t a, b, v = 0, fence;
	struct vidmm_chip_faults f0, f1;

	fx_create(&f, &p);
	fx_gart(&f);
	a = alloc_pfn(&f);
	b = alloc_pfn(&f);
	memset(host(&f, a), 0xaa, 4096);
	memset(host(&f, b), 0xbb, 4096);
	const uint64_t idx = 40, va = f.pcie + idx * 4096;

	set_pte(&f, idx, a);
	invalidate(&f, (uint32_t)idx, 1);
	assert_int_equal(emu_gpu_read(f.e, va, &v, 8), 0); /* miss: fills the TLB */
	assert_int_equal(v, 0xaaaaaaaaaaaaaaaaull);
	f0 = faults(f.e);
	assert_int_equal(emu_gpu_read(f.e, va, &v, 8), 0); /* a clean hit */
	assert_int_equal(faults(f.e).stale_tlb_hits, f0.stale_tlb_hits);

	/* Remap without invalidation: the TLB still serves a, and says so. */
	set_pte(&f, idx, b);
	assert_int_equal(emu_gpu_read(f.e, va, &v, 8), 0);
	assert_int_equal(v, 0xaaaaaaaaaaaaaaaaull);
	f1 = faults(f.e);
	assert_int_equal(f1.stale_tlb_hits - f0.stale_tlb_hits, 1);

	/* Invalidating other pages does not help. */
	invalidate(&f, (uint32_t)idx + 1, 100);
	invalidate(&f, 0, (uint32_t)idx);
	assert_int_equal(emu_gpu_read(f.e, va, &v, 8), 0);
	assert_int_equal(faults(f.e).stale_tlb_hits - f0.stale_tlb_hits, 2);

	/* With checking off the stale hit goes unnoticed (but is still served). */
	emu_set_tlb_check(f.e, false);
	assert_int_equal(emu_gpu_read(f.e, va, &v, 8), 0);
	assert_int_equal(v, 0xaaaaaaaaaaaaaaaaull);
	assert_int_equal(faults(f.e).stale_tlb_hits - f0.stale_tlb_hits, 2);
	emu_set_tlb_check(f.e, true);

	/* Invalidating the page: the new mapping, no stale hit. */
	invalidate(&f, (uint32_t)idx, 1);
	assert_int_equal(emu_gpu_read(f.e, va, &v, 8), 0);
	assert_int_equal(v, 0xbbbbbbbbbbbbbbbbull);
	assert_int_equal(emu_gpu_read(f.e, va, &v, 8), 0);
	f1 = faults(f.e);
	assert_int_equal(f1.stale_tlb_hits - f0.stale_tlb_hits, 2);

	/* Unmapping (back to the dummy page) without invalidation is caught too. */
	set_pte(&f, idx, f.dummy_pfn);
	assert_int_equal(emu_gpu_read(f.e, va, &v, 8), 0);
	assert_int_equal(v, 0xbbbbbbbbbbbbbbbbull);
	assert_int_equal(faults(f.e).stale_tlb_hits - f1.stale_tlb_hits, 1);
	invalidate(&f, 0, 0); /* count 0: everything */
	f1 = faults(f.e);
	assert_int_equal(emu_gpu_read(f.e, va, &v, 8), 0);
	assert_int_equal(v, 0);
	assert_int_equal(faults(f.e).stale_tlb_hits, f1.stale_tlb_hits);

	/* Engines have their own TLBs; the copy engine sees the same rules. */
	const uint64_t dst = 8 * MIB; /* local */
	uint8_t *dl = ops->map_local(f.e, dst, 4096);
	set_pte(&f, idx, a);
	invalidate(&f, (uint32_t)idx, 1);
	assert_int_equal(ops->copy(f.e, 0, dst, va, 4096, NULL, &fence), 0);
	wait_ok(f.e, 0, fence);
	assert_int_equal(dl[0], 0xaa);
	f1 = faults(f.e);
	set_pte(&f, idx, b);
	assert_int_equal(ops->copy(f.e, 0, dst, va, 4096, NULL, &fence), 0);
	wait_ok(f.e, 0, fence);
	assert_int_equal(dl[0], 0xaa); /* stale, served */
	assert_int_equal(faults(f.e).stale_tlb_hits - f1.stale_tlb_hits, 1);
	invalidate(&f, (uint32_t)idx, 1);
	assert_int_equal(ops->copy(f.e, 0, dst, va, 4096, NULL, &fence), 0);
	wait_ok(f.e, 0, fence);
	assert_int_equal(dl[0], 0xbb);
	assert_int_equal(faults(f.e).stale_tlb_hits - f1.stale_tlb_hits, 1);

	/* More invalidations than the log keeps: the TLB is flushed whole. */
	set_pte(&f, idx, a);
	for (int i = 0; i < 500; i++)
		invalidate(&f, 1000 + (uint32_t)i, 1);
	f1 = faults(f.e);
	assert_int_equal(emu_gpu_read(f.e, va, &v, 8), 0);
	assert_int_equal(v, 0xaaaaaaaaaaaaaaaaull);
	assert_int_equal(faults(f.e).stale_tlb_hits, f1.stale_tlb_hits);

	/* Concurrency: a "core" thread remaps pages [2000, 2064) and invalidates
	 * them while both engines and the CPU path copy through other pages.
	 * Correct invalidation by the core must never show as a stale hit on the
	 * pages the engines use, and their data must stay right. */
	struct vt_rng r;
	vt_rng_seed(&r, vt_seed("EMU-TLB-STALE"));
	const uint64_t X = f.pcie + 100 * 4096, Y = f.pcie + 700 * 4096;
	map_range(&f, 100, 512, true, &r);
	map_range(&f, 700, 512, true, &r);
	uint8_t *src = ops->map_local(f.e, 0, 2 * MIB);
	fill_random(src, 2 * MIB, &r);
	assert_int_equal(ops->copy(f.e, 0, Y, 0, 2 * MIB, NULL, &fence), 0);
	wait_ok(f.e, 0, fence);
	struct churn c = { .f = &f, .first = 2000, .n = 64, .frames = { a, b } };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, churn_main, &c), 0);
	f1 = faults(f.e);
	int iters = VT_SANITIZED ? 20 : 200;
	for (int i = 0; i < iters; i++) {
		uint64_t f0c, f1c;
		/* Disjoint ranges: the two engines run at the same time. */
		assert_int_equal(ops->copy(f.e, 0, X, 0, 2 * MIB, NULL, &f0c), 0);
		assert_int_equal(ops->copy(f.e, 1, 4 * MIB, Y, 2 * MIB, NULL, &f1c), 0);
		wait_ok(f.e, 0, f0c);
		wait_ok(f.e, 1, f1c);
		assert_int_equal(emu_gpu_read(f.e, Y + (uint64_t)i * 4096, &v, 8), 0);
		assert_memory_equal(&v, src + i * 4096, 8);
	}
	atomic_store(&c.stop, true);
	pthread_join(th, NULL);
	assert_memory_equal(ops->map_local(f.e, 4 * MIB, 2 * MIB), src, 2 * MIB);
	assert_int_equal(emu_gpu_read(f.e, X, ops->map_local(f.e, 6 * MIB, 2 * MIB), 2 * MIB), 0);
	assert_memory_equal(ops->map_local(f.e, 6 * MIB, 2 * MIB), src, 2 * MIB);
	printf("churn: %" PRIu64 " remap rounds during %d copy pairs\n", c.rounds, iters);
	assert_int_equal(faults(f.e).stale_tlb_hits, f1.stale_tlb_hits);
	assert_true(c.rounds > 0);
	fx_destroy(&f);
}

/* ------------------------------------------------------------------------ */

static void test_copy_fill(void **state)
{
	(void)state;
	struct fx f;
	struct vidmm_profile p = two_engines();
	struct vt_rng r;
	uint64_t fence, last = 0;
	const uint64_t SZ = 2 * MIB;
	uint8_t *ref = malloc(SZ), *buf = malloc(SZ);
	assert_non_null(ref);
	assert_non_null(buf);

	vt_rng_seed(&r, vt_seed("EMU-COPY-FILL"));
	fx_create(&f, &p);
	fx_gart(&f);
	/* Pages [0, 512): contiguous frames. [1024, 1536): shuffled frames, in
	 * the unsnooped half too ([8192, 8704)). */
	map_range(&f, 0, 512, false, &r);
	map_range(&f, 1024, 512, true, &r);
	map_range(&f, 8192, 512, true, &r);
	const uint64_t A = f.pcie, B = f.pcie + 1024 * 4096, C = f.pcie + 8192 * 4096;
	uint8_t *lv = ops->map_local(f.e, 0, 4 * MIB);

	/* local -> PCIe (contiguous), checked through the frames themselves. */
	fill_random(lv, SZ, &r);
	memcpy(ref, lv, SZ);
	assert_int_equal(ops->copy(f.e, 0, A, 0, SZ, NULL, &fence), 0);
	assert_true(fence > last);
	last = fence;
	wait_ok(f.e, 0, fence);
	uint64_t pfn;
	for (uint64_t pg = 0; pg < SZ / 4096; pg++) {
		assert_int_equal(emu_walk(f.e, A + pg * 4096, &pfn), 0);
		if (memcmp(host(&f, pfn), ref + pg * 4096, 4096))
			fail_msg("page %" PRIu64 " differs after local->PCIe", pg);
	}

	/* PCIe -> PCIe (contiguous -> shuffled), PCIe -> local-invisible. */
	assert_int_equal(ops->copy(f.e, 1, B, A, SZ, NULL, &fence), 0);
	wait_ok(f.e, 1, fence);
	const uint64_t INV = p.local_visible + 4 * MIB;
	assert_int_equal(ops->copy(f.e, 1, INV, B, SZ, NULL, &fence), 0);
	wait_ok(f.e, 1, fence);
	assert_int_equal(emu_gpu_read(f.e, INV, buf, SZ), 0);
	assert_memory_equal(buf, ref, SZ);
	assert_int_equal(emu_gpu_read(f.e, B, buf, SZ), 0);
	assert_memory_equal(buf, ref, SZ);

	/* Unaligned offsets and sizes across shuffled pages, both directions. */
	for (int k = 0; k < 20; k++) {
		uint64_t off = vt_rng_below(&r, SZ / 2), n = 1 + vt_rng_below(&r, SZ / 2 - 1);
		uint64_t loff = 2 * MIB + vt_rng_below(&r, MIB);
		memset(lv + 2 * MIB, 0, 2 * MIB);
		assert_int_equal(ops->copy(f.e, k & 1, loff, C + off, 0, NULL, &fence), 0); /* no-op */
		/* Write ref[off..off+n) into C at off, read it back to local loff. */
		assert_int_equal(emu_gpu_write(f.e, C + off, ref + off, n), 0);
		assert_int_equal(ops->copy(f.e, k & 1, loff, C + off, n, NULL, &fence), 0);
		wait_ok(f.e, k & 1, fence);
		if (memcmp(lv + loff, ref + off, n))
			fail_msg("unaligned copy off=%" PRIu64 " n=%" PRIu64 " loff=%" PRIu64, off, n, loff);
		assert_true(all_zero(lv + loff + n, 4 * MIB - loff - n));
	}

	/* Fill: non-uniform pattern at an odd offset; uniform pattern (memset). */
	memset(buf, 0, SZ);
	assert_int_equal(emu_gpu_write(f.e, B, buf, SZ), 0);
	assert_int_equal(ops->fill(f.e, 0, B + 4097, 3 * 4096 + 5, 0xdeadbeef, NULL, &fence), 0);
	wait_ok(f.e, 0, fence);
	assert_int_equal(emu_gpu_read(f.e, B, buf, 6 * 4096), 0);
	const uint8_t pat[4] = { 0xef, 0xbe, 0xad, 0xde };
	for (uint64_t i = 0; i < 6 * 4096; i++) {
		uint8_t want = (i >= 4097 && i < 4097 + 3 * 4096 + 5) ? pat[(i - 4097) % 4] : 0;
		if (buf[i] != want)
			fail_msg("fill byte %" PRIu64 ": %#x, want %#x", i, buf[i], want);
	}
	assert_int_equal(ops->fill(f.e, 1, 4096, 8192, 0x41414141, NULL, &fence), 0);
	wait_ok(f.e, 1, fence);
	for (int i = 0; i < 8192; i++)
		assert_int_equal(lv[4096 + i], 0x41);
	assert_int_equal(lv[4095], ref[4095]);

	/* To and from unmapped pages: writes dropped, reads see the zero dummy. */
	struct vidmm_chip_faults f0 = faults(f.e), f1;
	const uint64_t U = f.pcie + 4000 * 4096;
	assert_int_equal(ops->copy(f.e, 0, U, 0, 4 * 4096, NULL, &fence), 0);
	wait_ok(f.e, 0, fence);
	assert_int_equal(ops->fill(f.e, 0, U, 4 * 4096, 0x12345678, NULL, &fence), 0);
	wait_ok(f.e, 0, fence);
	assert_int_equal(ops->copy(f.e, 0, 0, U, 2 * 4096, NULL, &fence), 0);
	wait_ok(f.e, 0, fence);
	f1 = faults(f.e);
	assert_int_equal(f1.dummy_page_accesses - f0.dummy_page_accesses, 10);
	assert_int_equal(f1.unmapped_accesses - f0.unmapped_accesses, 0);
	assert_true(all_zero(host(&f, f.dummy_pfn), 4096));
	assert_true(all_zero(lv, 2 * 4096));

	/* Out of range: the fence signals with -EFAULT, nothing is written. */
	memcpy(lv, ref, 4096);
	f0 = faults(f.e);
	assert_int_equal(ops->copy(f.e, 0, 0, f.pcie + f.g.size - 4096, 8192, NULL, &fence), 0);
	assert_int_equal(ops->fence_wait(f.e, 0, fence, 10 * SEC), 0);
	assert_int_equal(ops->fence_error(f.e, 0, fence), -EFAULT);
	assert_int_equal(ops->fill(f.e, 0, p.local_visible + p.local_invisible - 4, 8, 0, NULL, &fence), 0);
	assert_int_equal(ops->fence_wait(f.e, 0, fence, 10 * SEC), 0);
	assert_int_equal(ops->fence_error(f.e, 0, fence), -EFAULT);
	f1 = faults(f.e);
	assert_int_equal(f1.out_of_range - f0.out_of_range, 2);
	assert_int_equal(f1.copy_errors - f0.copy_errors, 2);
	assert_memory_equal(lv, ref, 4096);
	/* The next command is fine again. */
	assert_int_equal(ops->copy(f.e, 0, 4096, 0, 4096, NULL, &fence), 0);
	wait_ok(f.e, 0, fence);
	assert_int_equal(ops->fence_error(f.e, 0, fence - 1), -EFAULT);

	/* Many async commands in flight, each verified after the last fence. */
	uint64_t fences[40];
	for (int i = 0; i < 40; i++) {
		assert_int_equal(ops->fill(f.e, i & 1, A + (uint64_t)i * 4096, 4096, 0x01010101u * (uint32_t)(i + 1), NULL,
					  &fences[i]), 0);
		if (i >= 2)
			assert_true(fences[i] > fences[i - 2]);
	}
	wait_ok(f.e, 0, fences[38]);
	wait_ok(f.e, 1, fences[39]);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(emu_gpu_read(f.e, A + (uint64_t)i * 4096 + 4095, buf, 1), 0);
		assert_int_equal(buf[0], i + 1);
	}

	/* Bad arguments are refused at submission. */
	assert_int_equal(ops->copy(f.e, 99, 0, 0, 8, NULL, &fence), -EINVAL);
	assert_int_equal(ops->copy(f.e, 0, 0, 0, 8, NULL, NULL), -EINVAL);

	free(ref);
	free(buf);
	fx_destroy(&f);
}

/*
 * The paging path: 2 MiB local -> PCIe, with physically contiguous frames
 * (copied as runs) and shuffled ones (page by page), many commands in flight
 * and one at a time: the bytes must arrive either way. The time beside a
 * plain memcpy is printed for information only; speed targets live in the
 * benchmarks (paging_bench, vidmm-micro), not in a timed unit test.
 */
static void test_copy_large(void **state)
{
	(void)state;
	struct fx f;
	struct vidmm_profile p = tiny();
	struct vt_rng r;
	const uint64_t SZ = 2 * MIB;
	const int iters = 20;
	uint64_t fence = 0;

	vt_rng_seed(&r, 1);
	fx_create(&f, &p);
	fx_gart(&f);
	map_range(&f, 0, SZ / 4096, false, &r);
	uint8_t *lv = ops->map_local(f.e, 0, SZ);
	fill_random(lv, SZ, &r);
	uint64_t pfn;
	assert_int_equal(emu_walk(f.e, f.pcie, &pfn), 0);
	uint8_t *dst = host(&f, pfn);
	uint8_t *plain = malloc(SZ);
	assert_non_null(plain);
	memset(plain, 1, SZ);
	memcpy(dst, lv, SZ); /* fault everything in before timing */

	double best_memcpy = 1e30, best_emu = 1e30, best_sync = 1e30;
	for (int round = 0; round < 5; round++) {
		uint64_t t0 = now_ns();
		for (int i = 0; i < iters; i++) {
			memcpy(plain, lv, SZ);
			__asm__ volatile("" ::"r"(plain) : "memory");
		}
		uint64_t t1 = now_ns();
		for (int i = 0; i < iters; i++)
			assert_int_equal(ops->copy(f.e, 0, f.pcie, 0, SZ, NULL, &fence), 0);
		wait_ok(f.e, 0, fence);
		uint64_t t2 = now_ns();
		for (int i = 0; i < iters / 4; i++) {
			assert_int_equal(ops->copy(f.e, 0, f.pcie, 0, SZ, NULL, &fence), 0);
			assert_int_equal(ops->fence_wait(f.e, 0, fence, 10 * SEC), 0);
		}
		uint64_t t3 = now_ns();
		double m = (double)(t1 - t0) / iters, em = (double)(t2 - t1) / iters;
		double sy = (double)(t3 - t2) / (iters / 4);
		best_memcpy = m < best_memcpy ? m : best_memcpy;
		best_emu = em < best_emu ? em : best_emu;
		best_sync = sy < best_sync ? sy : best_sync;
	}
	assert_memory_equal(dst, lv, SZ);
	double gbs = (double)SZ / best_memcpy;
	printf("2 MiB local->PCIe: memcpy %.1f us (%.2f GB/s); emu pipelined %.1f us (%.2fx); "
	       "emu submit+wait %.1f us (%.2fx)\n", best_memcpy / 1e3, gbs, best_emu / 1e3,
	       best_memcpy / best_emu, best_sync / 1e3, best_memcpy / best_sync);
	/* Scattered frames: no coalescing, one memcpy per page (information). */
	map_range(&f, 0, SZ / 4096, true, &r);
	uint64_t t0 = now_ns();
	for (int i = 0; i < iters; i++)
		assert_int_equal(ops->copy(f.e, 0, f.pcie, 0, SZ, NULL, &fence), 0);
	wait_ok(f.e, 0, fence);
	double scattered = (double)(now_ns() - t0) / iters;
	printf("2 MiB local->PCIe, shuffled frames: %.1f us (%.2fx memcpy)\n", scattered / 1e3,
	       best_memcpy / scattered);
	assert_int_equal(emu_gpu_read(f.e, f.pcie, plain, SZ), 0);
	assert_memory_equal(plain, lv, SZ);

	struct emu_engine_stats st;
	assert_int_equal(emu_engine_stats(f.e, 0, &st), 0);
	printf("engine 0: %" PRIu64 " commands, %" PRIu64 " MiB, busy %.1f ms, tlb %" PRIu64
	       " hits %" PRIu64 " misses\n", st.commands, st.bytes / MIB, (double)st.busy_ns / 1e6,
	       st.tlb_hits, st.tlb_misses);
	assert_int_equal(st.completed, st.submitted);
	free(plain);
	fx_destroy(&f);
}

/* ------------------------------------------------------------------------ */

struct irq_log {
	_Atomic uint64_t calls;
	_Atomic uint64_t last[16];
};

static void on_irq(void *arg, uint32_t engine, uint64_t fence)
{
	struct irq_log *l = arg;
	atomic_fetch_add(&l->calls, 1);
	uint64_t prev = atomic_load(&l->last[engine]);
	/* Interrupts of one engine report non-decreasing fences. */
	if (fence > prev)
		atomic_store(&l->last[engine], fence);
	else if (fence < prev)
		abort();
}

struct poller {
	struct emu *e;
	uint32_t engine;
	uint64_t target;
	bool monotonic;
	uint64_t samples;
};

static void *poll_main(void *arg)
{
	struct poller *pl = arg;
	uint64_t prev = 0;
	pl->monotonic = true;
	for (;;) {
		uint64_t c = ops->fence_completed(pl->e, pl->engine);
		pl->samples++;
		if (c < prev)
			pl->monotonic = false;
		prev = c;
		if (c >= pl->target)
			break;
	}
	return NULL;
}

static void test_engine_async(void **state)
{
	(void)state;
	struct fx f;
	struct vidmm_profile p = two_engines();
	struct irq_log irq;
	uint64_t fa, fb, fence;

	memset(&irq, 0, sizeof(irq));
	fx_create(&f, &p);
	fx_gart(&f);
	struct vidmm_chip_engines en;
	assert_int_equal(ops->query_engines(f.e, &en), 0);
	assert_int_equal(en.n_copy, 2);
	assert_int_equal(en.n_job, 1);
	emu_set_interrupt(f.e, on_irq, &irq);

	/* Overlap: two 300 ms commands on two engines take ~300 ms, not 600. */
	const uint64_t D = 300 * 1000 * 1000ull;
	assert_int_equal(emu_inject_fence_delay(f.e, 0, D, 1), 0);
	assert_int_equal(emu_inject_fence_delay(f.e, 1, D, 1), 0);
	uint64_t t0 = now_ns();
	assert_int_equal(ops->fill(f.e, 0, 0, 4096, 1, NULL, &fa), 0);
	assert_int_equal(ops->fill(f.e, 1, 4096, 4096, 2, NULL, &fb), 0);
	uint64_t submit_ns = now_ns() - t0;
	assert_true(submit_ns < D / 2); /* submission does not wait */
	assert_int_equal(ops->fence_completed(f.e, 0) < fa, true);
	wait_ok(f.e, 0, fa);
	wait_ok(f.e, 1, fb);
	uint64_t both = now_ns() - t0;
	printf("two delayed commands on two engines: %.1f ms (each %.0f ms)\n", (double)both / 1e6,
	       (double)D / 1e6);
	assert_true(both >= D);
	assert_true(both < D + D / 2);

	/* A long command on engine 0 does not hold up engine 1. */
	assert_int_equal(emu_inject_fence_delay(f.e, 0, D, 1), 0);
	assert_int_equal(ops->fill(f.e, 0, 0, 4096, 3, NULL, &fa), 0);
	assert_int_equal(ops->fill(f.e, 1, 4096, 4096, 4, NULL, &fb), 0);
	wait_ok(f.e, 1, fb);
	assert_true(ops->fence_completed(f.e, 0) < fa);
	wait_ok(f.e, 0, fa);

	/* Wait timeout; fence_error of an incomplete fence; unissued fence. */
	assert_int_equal(emu_inject_fence_delay(f.e, 0, D, 1), 0);
	assert_int_equal(ops->fill(f.e, 0, 0, 4096, 5, NULL, &fa), 0);
	t0 = now_ns();
	assert_int_equal(ops->fence_wait(f.e, 0, fa, 20 * 1000 * 1000), -ETIMEDOUT);
	uint64_t waited = now_ns() - t0;
	assert_true(waited >= 20 * 1000 * 1000);
	assert_true(waited < D);
	assert_int_equal(ops->fence_wait(f.e, 0, fa, 0), -ETIMEDOUT);
	assert_int_equal(ops->fence_error(f.e, 0, fa), -EINPROGRESS);
	assert_int_equal(ops->fence_wait(f.e, 0, fa + 1, SEC), -EINVAL);
	wait_ok(f.e, 0, fa);
	assert_int_equal(ops->fence_wait(f.e, 0, fa, 0), 0);
	assert_int_equal(ops->fence_wait(f.e, 0, 0, 0), 0);

	/* Monotonic fences: more commands than the ring holds (a full ring
	 * refuses with -EAGAIN; the submitter waits for the next fence, as
	 * the core does), a poller watching the completed value. */
	const int N = 300;
	uint64_t prev = ops->fence_completed(f.e, 1);
	struct poller pl = { .e = f.e, .engine = 1, .target = prev + N };
	pthread_t th;
	assert_int_equal(emu_inject_fence_delay(f.e, 1, 50 * 1000 * 1000, 1), 0);
	assert_int_equal(pthread_create(&th, NULL, poll_main, &pl), 0);
	int refused = 0;
	for (int i = 0; i < N; i++) {
		int ret;
		while ((ret = ops->fill(f.e, 1, 8192 + (uint64_t)(i % 16) * 4096, 4096,
					(uint32_t)i, NULL, &fence)) == -EAGAIN) {
			refused++;
			assert_int_equal(ops->fence_wait(f.e, 1, ops->fence_completed(f.e, 1) + 1,
							 10 * SEC), 0);
		}
		assert_int_equal(ret, 0);
		assert_int_equal(fence, prev + 1 + (uint64_t)i);
	}
	/* The first command sits 50 ms on its fence: the ring filled behind it. */
	assert_true(refused > 0);
	struct emu_engine_stats rs;
	assert_int_equal(emu_engine_stats(f.e, 1, &rs), 0);
	assert_true(rs.ring_full >= (uint64_t)refused);
	pthread_join(th, NULL);
	assert_true(pl.monotonic);
	wait_ok(f.e, 1, fence);
	assert_int_equal(ops->fence_completed(f.e, 1), prev + N);

	/* Interrupts arrived for both engines up to their last fence. */
	assert_true(atomic_load(&irq.calls) >= (uint64_t)N);
	assert_int_equal(atomic_load(&irq.last[1]), prev + N);
	assert_int_equal(atomic_load(&irq.last[0]), fa);
	emu_set_interrupt(f.e, NULL, NULL);

	/* Engine ids: jobs only on the job engine. */
	struct vidmm_chip_job job = { .op = VIDMM_JOB_TOUCH, .nrefs = 1,
				      .refs = { { 0, 4096, VIDMM_ACCESS_READ } } };
	assert_int_equal(ops->submit_job(f.e, 0, &job, NULL, &fence), -EINVAL);
	assert_int_equal(ops->submit_job(f.e, en.n_copy + en.n_job, &job, NULL, &fence), -EINVAL);
	assert_int_equal(ops->submit_job(f.e, en.n_copy, &job, NULL, &fence), 0);
	wait_ok(f.e, en.n_copy, fence);
	/* Copies run on the job engine too. */
	assert_int_equal(ops->copy(f.e, en.n_copy, 8192, 0, 4096, NULL, &fence), 0);
	wait_ok(f.e, en.n_copy, fence);
	assert_int_equal(ops->fence_wait(f.e, 7, 1, 0), -EINVAL);
	assert_int_equal(ops->fence_completed(f.e, 7), 0);
	fx_destroy(&f);
}

/* ------------------------------------------------------------------------ */

/* Submit one job on the job engine (the job is copied: wrecked after); its
 * fence. */
static uint64_t submit_refs(struct fx *f, enum vidmm_job_op op, uint64_t seed, uint32_t nrefs,
			    const struct vidmm_chip_job_ref *refs, uint64_t *result)
{
	struct vidmm_chip_job job;
	uint64_t fence = 0;

	memset(&job, 0, sizeof(job));
	job.op = op;
	job.seed = seed;
	job.nrefs = nrefs;
	memcpy(job.refs, refs, nrefs * sizeof(*refs));
	job.result = result;
	assert_int_equal(ops->submit_job(f->e, f->p.copy_engines, &job, NULL, &fence), 0);
	memset(&job, 0xff, sizeof(job));
	return fence;
}

static uint64_t submit_one(struct fx *f, enum vidmm_job_op op, uint64_t seed,
			   const struct vidmm_chip_job_ref *ref, uint64_t *result)
{
	return submit_refs(f, op, seed, 1, ref, result);
}

static uint64_t run_job(struct fx *f, enum vidmm_job_op op, uint64_t seed, uint32_t nrefs,
			const struct vidmm_chip_job_ref *refs, int want_err)
{
	uint64_t result = 0xdeadull;
	uint32_t je = f->p.copy_engines;
	uint64_t fence = submit_refs(f, op, seed, nrefs, refs, &result);

	assert_int_equal(ops->fence_wait(f->e, je, fence, 10 * SEC), 0);
	assert_int_equal(ops->fence_error(f->e, je, fence), want_err);
	return result;
}

static void test_job_ops(void **state)
{
	(void)state;
	struct fx f;
	struct vidmm_profile p = tiny();
	struct vt_rng r;
	const uint64_t seed = vt_seed("EMU-JOB-OPS");
	uint8_t *buf = malloc(2 * MIB);
	assert_non_null(buf);

	vt_rng_seed(&r, seed);
	fx_create(&f, &p);
	fx_gart(&f);
	map_range(&f, 0, 256, true, &r);        /* A: 1 MiB, shuffled */
	map_range(&f, 4096, 64, false, &r);     /* B: 256 KiB */
	const uint64_t A = f.pcie, B = f.pcie + 4096 * 4096, L = 1 * MIB, U = f.pcie + 9000 * 4096;
	const uint64_t s = vt_rng_next(&r);
	struct vidmm_chip_faults f0, f1;

	/* FILL then VERIFY, and the pattern bit-exact in the frames. */
	struct vidmm_chip_job_ref ra = { A, 1 * MIB, VIDMM_ACCESS_WRITE };
	assert_int_equal(run_job(&f, VIDMM_JOB_FILL, s, 1, &ra, 0), 0);
	for (uint64_t off = 0; off < 1 * MIB; off += 4096 + 8) {
		uint64_t pfn, w;
		assert_int_equal(emu_walk(f.e, A + off, &pfn), 0);
		memcpy(&w, host(&f, pfn) + (off & 4095), 8);
		assert_int_equal(w, vidmm_pattern_word(s, off));
	}
	ra.access = VIDMM_ACCESS_READ;
	assert_int_equal(run_job(&f, VIDMM_JOB_VERIFY, s, 1, &ra, 0), 0);
	assert_int_equal(run_job(&f, VIDMM_JOB_VERIFY, s + 1, 1, &ra, 0), 1 * MIB / 8);

	/* Corrupt one word and one byte of another: two mismatches. */
	uint64_t pfn;
	assert_int_equal(emu_walk(f.e, A + 5 * 4096, &pfn), 0);
	host(&f, pfn)[16] ^= 1;
	host(&f, pfn)[100] ^= 0x80;
	assert_int_equal(run_job(&f, VIDMM_JOB_VERIFY, s, 1, &ra, 0), 2);
	host(&f, pfn)[16] ^= 1;
	host(&f, pfn)[100] ^= 0x80;

	/* COPY PCIe (shuffled) -> local: the pattern is position independent. */
	struct vidmm_chip_job_ref cp[2] = { { A, 1 * MIB, VIDMM_ACCESS_READ },
					    { L, 2 * MIB, VIDMM_ACCESS_WRITE } };
	assert_int_equal(run_job(&f, VIDMM_JOB_COPY, 0, 2, cp, 0), 0);
	struct vidmm_chip_job_ref rl = { L, 1 * MIB, VIDMM_ACCESS_READ };
	assert_int_equal(run_job(&f, VIDMM_JOB_VERIFY, s, 1, &rl, 0), 0);

	/* CHECKSUM: XXH3-64 of the refs' bytes in order, seeded with the job seed. */
	assert_int_equal(emu_gpu_read(f.e, A, buf, 1 * MIB), 0);
	uint64_t want = XXH3_64bits_withSeed(buf, 1 * MIB, 77);
	assert_int_equal(run_job(&f, VIDMM_JOB_CHECKSUM, 77, 1, &ra, 0), want);
	assert_int_equal(run_job(&f, VIDMM_JOB_CHECKSUM, 77, 1, &rl, 0), want);
	assert_int_not_equal(run_job(&f, VIDMM_JOB_CHECKSUM, 78, 1, &rl, 0), want);
	struct vidmm_chip_job_ref two[2] = { { A, 4096, 1 }, { B, 8192 + 24, 1 } };
	assert_int_equal(emu_gpu_read(f.e, B, buf + 4096, 8192 + 24), 0);
	assert_int_equal(run_job(&f, VIDMM_JOB_CHECKSUM, 3, 2, two, 0),
			 XXH3_64bits_withSeed(buf, 4096 + 8192 + 24, 3));

	/* Several refs, a partial last word; FILL into an unmapped range drops. */
	struct vidmm_chip_job_ref multi[3] = { { B, 100 * 8 + 5, VIDMM_ACCESS_WRITE },
					       { B + 64 * 1024, 3 * 4096, VIDMM_ACCESS_WRITE },
					       { U, 2 * 4096, VIDMM_ACCESS_WRITE } };
	memset(buf, 0x5c, 8192);
	assert_int_equal(emu_gpu_write(f.e, B, buf, 8192), 0);
	f0 = faults(f.e);
	assert_int_equal(run_job(&f, VIDMM_JOB_FILL, s, 3, multi, 0), 0);
	f1 = faults(f.e);
	assert_int_equal(f1.unmapped_accesses - f0.unmapped_accesses, 0);
	assert_int_equal(f1.dummy_page_accesses - f0.dummy_page_accesses, 2);
	assert_true(all_zero(host(&f, f.dummy_pfn), 4096));
	assert_int_equal(emu_gpu_read(f.e, B, buf, 1024), 0);
	uint64_t w;
	memcpy(&w, buf + 800, 8);
	uint64_t pw = vidmm_pattern_word(s, 800);
	assert_memory_equal(buf + 800, &pw, 5);           /* the partial word */
	assert_int_equal(buf[805], 0x5c);                  /* and not a byte more */
	assert_int_equal(run_job(&f, VIDMM_JOB_VERIFY, s, 2, multi, 0), 0);
	/* The unmapped range reads zeros: every word mismatches. */
	assert_int_equal(run_job(&f, VIDMM_JOB_VERIFY, s, 1, &multi[2], 0), 2 * 4096 / 8);

	/* TOUCH: one access per page, counted on the dummy page when unmapped. */
	struct vidmm_chip_job_ref t[2] = { { U + 8, 5 * 4096, 1 }, { A, 1 * MIB, 1 } };
	f0 = faults(f.e);
	assert_int_equal(run_job(&f, VIDMM_JOB_TOUCH, 0, 2, t, 0), 0);
	f1 = faults(f.e);
	assert_int_equal(f1.dummy_page_accesses - f0.dummy_page_accesses, 6); /* 5 pages + 8 bytes */

	/* Out of range and malformed jobs. */
	struct vidmm_chip_job_ref bad = { f.pcie + f.g.size - 8, 16, 1 };
	f0 = faults(f.e);
	run_job(&f, VIDMM_JOB_VERIFY, s, 1, &bad, -EFAULT);
	f1 = faults(f.e);
	assert_int_equal(f1.out_of_range - f0.out_of_range, 1);
	assert_int_equal(f1.copy_errors - f0.copy_errors, 1);
	struct vidmm_chip_job job = { .op = VIDMM_JOB_FILL, .nrefs = 1, .refs = { { A + 4, 8, 2 } } };
	uint64_t fence;
	uint32_t je = p.copy_engines;
	assert_int_equal(ops->submit_job(f.e, je, &job, NULL, &fence), -EINVAL); /* unaligned */
	job.refs[0].gpu_addr = A;
	job.nrefs = VIDMM_JOB_MAX_REFS + 1;
	assert_int_equal(ops->submit_job(f.e, je, &job, NULL, &fence), -EINVAL);
	job.nrefs = 1;
	job.op = VIDMM_JOB_COPY;
	assert_int_equal(ops->submit_job(f.e, je, &job, NULL, &fence), -EINVAL); /* needs two */
	job.op = (enum vidmm_job_op)42;
	assert_int_equal(ops->submit_job(f.e, je, &job, NULL, &fence), -EINVAL);
	job.op = VIDMM_JOB_TOUCH; /* no result pointer: fine */
	assert_int_equal(ops->submit_job(f.e, je, &job, NULL, &fence), 0);
	wait_ok(f.e, je, fence);

	free(buf);
	fx_destroy(&f);
}

/* ------------------------------------------------------------------------ */

static void test_fault_inject(void **state)
{
	(void)state;
	struct fx f;
	struct vidmm_profile p = two_engines();
	struct vt_rng r;
	uint64_t fence, fences[8];
	struct vidmm_chip_faults f0, f1;
	struct emu_engine_stats st0, st1;

	vt_rng_seed(&r, 5);
	fx_create(&f, &p);
	fx_gart(&f);
	map_range(&f, 0, 64, true, &r);
	uint8_t *lv = ops->map_local(f.e, 0, 1 * MIB);
	fill_random(lv, 1 * MIB, &r);
	uint8_t *zero = calloc(1, 64 * 4096), *buf = malloc(64 * 4096);
	assert_non_null(zero);
	assert_non_null(buf);

	/* Copy failure: the next two commands fail with -EIO, touching nothing. */
	f0 = faults(f.e);
	assert_int_equal(emu_engine_stats(f.e, 0, &st0), 0);
	assert_int_equal(emu_inject_copy_failure(f.e, 0, 2), 0);
	assert_int_equal(ops->copy(f.e, 0, f.pcie, 0, 64 * 4096, NULL, &fences[0]), 0);
	assert_int_equal(ops->fill(f.e, 0, f.pcie, 4096, 0x77777777, NULL, &fences[1]), 0);
	assert_int_equal(ops->copy(f.e, 0, 512 * 1024, 0, 4096, NULL, &fences[2]), 0);
	wait_ok(f.e, 0, fences[2]);
	assert_int_equal(ops->fence_error(f.e, 0, fences[0]), -EIO);
	assert_int_equal(ops->fence_error(f.e, 0, fences[1]), -EIO);
	assert_int_equal(emu_gpu_read(f.e, f.pcie, buf, 64 * 4096), 0);
	assert_memory_equal(buf, zero, 64 * 4096);
	assert_memory_equal(lv + 512 * 1024, lv, 4096);
	f1 = faults(f.e);
	assert_int_equal(f1.copy_errors - f0.copy_errors, 2);
	assert_int_equal(emu_engine_stats(f.e, 0, &st1), 0);
	assert_int_equal(st1.commands - st0.commands, 3);
	assert_int_equal(st1.bytes - st0.bytes, 4096);
	/* Other engines are unaffected. */
	assert_int_equal(emu_inject_copy_failure(f.e, 1, 1), 0);
	assert_int_equal(ops->copy(f.e, 0, f.pcie, 0, 4096, NULL, &fence), 0);
	wait_ok(f.e, 0, fence);
	assert_int_equal(emu_gpu_read(f.e, f.pcie, buf, 4096), 0);
	assert_memory_equal(buf, lv, 4096);
	assert_int_equal(emu_inject_copy_failure(f.e, 1, 0), 0);

	/* Late fence: the work is done, the fence arrives delay_ns later. */
	const uint64_t D = 400 * 1000 * 1000ull;
	assert_int_equal(emu_inject_fence_delay(f.e, 0, D, 1), 0);
	uint64_t t0 = now_ns();
	assert_int_equal(ops->copy(f.e, 0, f.pcie + 4096, 4096, 4096, NULL, &fences[0]), 0);
	assert_int_equal(ops->copy(f.e, 0, f.pcie + 8192, 8192, 4096, NULL, &fences[1]), 0);
	assert_int_equal(ops->fence_wait(f.e, 0, fences[0], 50 * 1000 * 1000), -ETIMEDOUT);
	wait_ok(f.e, 0, fences[0]);
	uint64_t late = now_ns() - t0;
	wait_ok(f.e, 0, fences[1]); /* only one was delayed */
	printf("late fence after %.1f ms (delay %.0f ms)\n", (double)late / 1e6, (double)D / 1e6);
	assert_true(late >= D);
	assert_true(late < 3 * D);
	assert_int_equal(emu_gpu_read(f.e, f.pcie + 4096, buf, 8192), 0);
	assert_memory_equal(buf, lv + 4096, 8192);

	/* Hang: no fence arrives; reset aborts the pending commands with -EIO. */
	f0 = faults(f.e);
	assert_int_equal(emu_inject_hang(f.e, 1), 0);
	uint64_t done_before = ops->fence_completed(f.e, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ops->copy(f.e, 1, f.pcie + (16 + (uint64_t)i) * 4096,
					   (uint64_t)i * 4096, 4096, NULL, &fences[i]), 0);
	assert_int_equal(ops->fence_wait(f.e, 1, fences[2], 100 * 1000 * 1000), -ETIMEDOUT);
	assert_int_equal(ops->fence_completed(f.e, 1), done_before);
	/* The other copy engine keeps working. */
	assert_int_equal(ops->copy(f.e, 0, f.pcie + 30 * 4096, 0, 4096, NULL, &fence), 0);
	wait_ok(f.e, 0, fence);
	/* A full ring on a hung engine refuses (-EAGAIN) rather than blocking
	 * forever. */
	int busy = 0;
	uint64_t last = fences[2];
	for (int i = 0; i < 200 && !busy; i++) {
		int ret = ops->fill(f.e, 1, f.pcie + 20 * 4096, 4096, 0xabababab, NULL, &fence);
		if (ret == -EAGAIN)
			busy = 1;
		else {
			assert_int_equal(ret, 0);
			last = fence;
		}
	}
	assert_true(busy);
	assert_int_equal(emu_reset_engine(f.e, 1), 0);
	assert_int_equal(ops->fence_completed(f.e, 1), last);
	for (uint64_t fn = fences[0]; fn <= last; fn++)
		assert_int_equal(ops->fence_error(f.e, 1, fn), -EIO);
	f1 = faults(f.e);
	assert_int_equal(f1.copy_errors - f0.copy_errors, last - fences[0] + 1);
	assert_int_equal(emu_gpu_read(f.e, f.pcie + 16 * 4096, buf, 5 * 4096), 0);
	assert_memory_equal(buf, zero, 5 * 4096);
	/* It works again after the reset. */
	assert_int_equal(ops->copy(f.e, 1, f.pcie + 16 * 4096, 0, 4096, NULL, &fence), 0);
	assert_int_equal(fence, last + 1);
	wait_ok(f.e, 1, fence);
	assert_int_equal(emu_gpu_read(f.e, f.pcie + 16 * 4096, buf, 4096), 0);
	assert_memory_equal(buf, lv, 4096);

	/* Reset during a very late fence: it cuts the delay short; the running
	 * command completed its work (no error), the queued one is aborted. */
	assert_int_equal(emu_engine_stats(f.e, 0, &st0), 0);
	assert_int_equal(emu_inject_fence_delay(f.e, 0, 60 * SEC, 1), 0);
	assert_int_equal(ops->copy(f.e, 0, f.pcie + 40 * 4096, 40 * 4096, 4096, NULL, &fences[0]), 0);
	assert_int_equal(ops->copy(f.e, 0, f.pcie + 41 * 4096, 41 * 4096, 4096, NULL, &fences[1]), 0);
	/* Let the first command do its work (bytes are counted right after). */
	for (int i = 0; i < 5000; i++) {
		assert_int_equal(emu_engine_stats(f.e, 0, &st1), 0);
		if (st1.bytes >= st0.bytes + 4096)
			break;
		usleep(1000);
	}
	assert_true(st1.bytes >= st0.bytes + 4096);
	t0 = now_ns();
	assert_int_equal(emu_reset_engine(f.e, 0), 0);
	assert_true(now_ns() - t0 < 5 * SEC);
	assert_int_equal(ops->fence_wait(f.e, 0, fences[1], 0), 0);
	assert_int_equal(ops->fence_error(f.e, 0, fences[0]), 0);
	assert_int_equal(ops->fence_error(f.e, 0, fences[1]), -EIO);
	assert_int_equal(emu_gpu_read(f.e, f.pcie + 40 * 4096, buf, 4096), 0);
	assert_memory_equal(buf, lv + 40 * 4096, 4096);
	assert_int_equal(emu_gpu_read(f.e, f.pcie + 41 * 4096, buf, 4096), 0);
	assert_memory_equal(buf, zero, 4096);

	/* Start delay: the command runs late. A waiter that gives up sees
	 * nothing written yet; the bytes land when the engine gets to it. */
	assert_int_equal(emu_inject_start_delay(f.e, 0, 300 * 1000 * 1000, 1), 0);
	assert_int_equal(ops->copy(f.e, 0, f.pcie + 42 * 4096, 42 * 4096, 4096, NULL, &fence), 0);
	assert_int_equal(ops->fence_wait(f.e, 0, fence, 20 * 1000 * 1000), -ETIMEDOUT);
	assert_int_equal(emu_gpu_read(f.e, f.pcie + 42 * 4096, buf, 4096), 0);
	assert_memory_equal(buf, zero, 4096);
	wait_ok(f.e, 0, fence);
	assert_int_equal(ops->fence_error(f.e, 0, fence), 0);
	assert_int_equal(emu_gpu_read(f.e, f.pcie + 42 * 4096, buf, 4096), 0);
	assert_memory_equal(buf, lv + 42 * 4096, 4096);

	/* Injection on a bad engine id. */
	assert_int_equal(emu_inject_start_delay(f.e, 9, 1, 1), -EINVAL);
	assert_int_equal(emu_inject_copy_failure(f.e, 9, 1), -EINVAL);
	assert_int_equal(emu_inject_fence_delay(f.e, 9, 1, 1), -EINVAL);
	assert_int_equal(emu_inject_hang(f.e, 9), -EINVAL);
	assert_int_equal(emu_reset_engine(f.e, 9), -EINVAL);

	/* Destroy with a hung engine and queued work must not hang. */
	assert_int_equal(emu_inject_hang(f.e, 0), 0);
	assert_int_equal(ops->copy(f.e, 0, f.pcie, 0, 4096, NULL, &fence), 0);
	free(zero);
	free(buf);
	fx_destroy(&f);
}

/*
 * A fence wait polls before sleeping only when a CPU is idle for it: with a
 * busy thread per CPU (plus one) on the machine, every wait sleeps at once,
 * counted by the emulator; the busy threads are other work the emulator's
 * own bookkeeping cannot see, which is the point.
 */
static atomic_bool busy_stop;

static void *busy_thread(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&busy_stop, memory_order_relaxed))
		;
	return NULL;
}

static void test_wait_spins_only_on_idle_cpu(void **state)
{
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct vidmm_profile p = two_engines();
	struct emu_wait_stats w0, w1;
	pthread_t th[64];
	long nth = ncpus + 1 < 64 ? ncpus + 1 : 64;
	struct fx f;
	uint64_t fa;

	(void)state;
	fx_create(&f, &p);
	fx_gart(&f);
	atomic_store(&busy_stop, false);
	for (long i = 0; i < nth; i++)
		assert_int_equal(pthread_create(&th[i], NULL, busy_thread, NULL), 0);
	usleep(5000); /* past the emulator's 1 ms cache of the count */
	emu_wait_stats(f.e, &w0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(emu_inject_fence_delay(f.e, 0, 2000000, 1), 0);
		assert_int_equal(ops->fill(f.e, 0, 0, 4096, (uint64_t)i, NULL, &fa), 0);
		wait_ok(f.e, 0, fa);
	}
	emu_wait_stats(f.e, &w1);
	atomic_store(&busy_stop, true);
	for (long i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	printf("%ld busy threads on %ld CPUs: %" PRIu64 " waits spun, %" PRIu64 " slept at once\n",
	       nth, ncpus, w1.spun - w0.spun, w1.not_spun_busy - w0.not_spun_busy);
	if (ncpus > 1) /* with one CPU the emulator never spins at all */
		assert_true(w1.not_spun_busy - w0.not_spun_busy >= 20);
	assert_int_equal(w1.spun, w0.spun);
	fx_destroy(&f);
}

/* ---- EMU-NULL-TOUCH ---------------------------------------------------------------- */

/* emu_set_null_touch: a TOUCH retires unread, inside its submit when nothing
 * is outstanding, through the ring (in fence order) when something is; every
 * other job still runs. Unread is seen on the fault counters: a TOUCH of an
 * unmapped range reads the dummy page once per page when it runs. */
static void test_null_touch(void **state)
{
	(void)state;
	struct fx f;
	struct vidmm_profile p = tiny();
	struct vt_rng r;
	const uint64_t seed = vt_seed("EMU-NULL-TOUCH");
	const uint32_t je = p.copy_engines;

	vt_rng_seed(&r, seed);
	fx_create(&f, &p);
	fx_gart(&f);
	map_range(&f, 0, 64, false, &r);
	const uint64_t A = f.pcie, U = f.pcie + 9000 * 4096;
	const struct vidmm_chip_job_ref ra = { A, 64 * 4096, VIDMM_ACCESS_WRITE },
					ru = { U, 4 * 4096, VIDMM_ACCESS_READ };
	struct vidmm_chip_faults f0, f1;
	uint64_t res = 0, fence, fill;

	/* Off: a TOUCH of the unmapped range reads the dummy page, 4 times. */
	f0 = faults(f.e);
	fence = submit_one(&f, VIDMM_JOB_TOUCH, 0, &ru, NULL);
	assert_int_equal(ops->fence_wait(f.e, je, fence, 10 * SEC), 0);
	f1 = faults(f.e);
	assert_int_equal(f1.dummy_page_accesses - f0.dummy_page_accesses, 4);

	/* On, the engine idle: signalled when the submit returns, unread. */
	emu_set_null_touch(f.e, true);
	f0 = faults(f.e);
	for (int i = 0; i < 100; i++) {
		fence = submit_one(&f, VIDMM_JOB_TOUCH, 0, &ru, NULL);
		assert_true(ops->fence_completed(f.e, je) >= fence);
		assert_int_equal(ops->fence_error(f.e, je, fence), 0);
	}
	f1 = faults(f.e);
	assert_int_equal(f1.dummy_page_accesses - f0.dummy_page_accesses, 0);

	/* Other jobs still run: FILL then VERIFY finds the pattern. */
	assert_int_equal(run_job(&f, VIDMM_JOB_FILL, seed, 1, &ra, 0), 0);
	assert_int_equal(run_job(&f, VIDMM_JOB_VERIFY, seed, 1, &ra, 0), 0);
	assert_int_equal(run_job(&f, VIDMM_JOB_VERIFY, seed + 1, 1, &ra, 0), 64 * 4096 / 8);

	/* Behind a command still outstanding (a FILL held 200 ms), a TOUCH
	 * waits its turn: not signalled at its submit, and signalled only
	 * after the FILL, in fence order, still unread. */
	assert_int_equal(emu_inject_start_delay(f.e, je, 200 * 1000000ull, 1), 0);
	fill = submit_one(&f, VIDMM_JOB_FILL, seed + 2, &ra, &res);
	f0 = faults(f.e);
	fence = submit_one(&f, VIDMM_JOB_TOUCH, 0, &ru, NULL);
	assert_true(fence > fill);
	assert_true(ops->fence_completed(f.e, je) < fill);
	assert_int_equal(ops->fence_wait(f.e, je, fence, 10 * SEC), 0);
	assert_true(ops->fence_completed(f.e, je) >= fill);
	assert_int_equal(ops->fence_error(f.e, je, fence), 0);
	f1 = faults(f.e);
	assert_int_equal(f1.dummy_page_accesses - f0.dummy_page_accesses, 0);
	assert_int_equal(run_job(&f, VIDMM_JOB_VERIFY, seed + 2, 1, &ra, 0), 0);

	/* Off again: read again. */
	emu_set_null_touch(f.e, false);
	f0 = faults(f.e);
	fence = submit_one(&f, VIDMM_JOB_TOUCH, 0, &ru, NULL);
	assert_int_equal(ops->fence_wait(f.e, je, fence, 10 * SEC), 0);
	f1 = faults(f.e);
	assert_int_equal(f1.dummy_page_accesses - f0.dummy_page_accesses, 4);
	fx_destroy(&f);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("EMU-PROFILES", test_profiles),
		VT_CASE("EMU-PROFILE-JSON", test_profile_json),
		VT_CASE("EMU-MMU-WALK", test_mmu_walk),
		VT_CASE("EMU-TLB-STALE", test_tlb_stale),
		VT_CASE("EMU-COPY-FILL", test_copy_fill),
		VT_CASE("EMU-COPY-LARGE", test_copy_large),
		VT_CASE("EMU-ENGINE-ASYNC", test_engine_async),
		VT_CASE("EMU-JOB-OPS", test_job_ops),
		VT_CASE("EMU-FAULT-INJECT", test_fault_inject),
		VT_CASE("EMU-WAIT-SPINS-ONLY-ON-IDLE-CPU", test_wait_spins_only_on_idle_cpu),
		VT_CASE("EMU-NULL-TOUCH", test_null_touch),
	};
	return VT_MAIN("emu", cases);
}
