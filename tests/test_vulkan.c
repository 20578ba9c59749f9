/* SPDX-License-Identifier: MIT */
/*
 * test_vulkan.c - the Vulkan driver (drivers/vulkan) under the manager, on
 * whatever device the loader finds (meson pins Mesa's lavapipe with
 * VK_ICD_FILENAMES and turns the validation layer on).
 *
 * Owns: VK-INIT-SKIPS-CLEANLY, VK-SEGMENTS-FROM-DEVICE, VK-GART-WALK,
 * VK-PATTERNS-MATCH-EMU, VK-EVERY-WORKLOAD, VK-REPLAY-CROSS-DRIVER,
 * VK-VALIDATION-CLEAN, VK-FUZZ-THREADS, VK-PIPELINED-PAGING. Must not: assert on timing. Without a usable
 * Vulkan device every case but the first exits 77 and says why.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vt.h"
#include "vt_proc.h"
#include "platform.h"
#include "drivers/vulkan/vk.h"
#include "drivers/vulkan/vk_internal.h" /* VK-VALIDATION-CLEAN's deliberate mistake */

#define MIB (UINT64_C(1) << 20)
#define SEC 1000000000ull


static void open_vk(const char *profile, struct platform *pl)
{
	struct vidmm_profile p;
	char err[512];

	assert_int_equal(vidmm_profile_builtin(profile, &p), 0);
	int r = platform_open(&p, "vulkan", pl, err, sizeof(err));
	if (r == -ENXIO)
		VT_SKIP("%s", err);
	if (r)
		fail_msg("platform_open vulkan: %s", err);
}

static vidmm_handle_t alloc_in(vidmm_t *vm, uint64_t size, uint32_t flags, int seg)
{
	struct vidmm_alloc_desc d = { .size = size, .priority = VIDMM_PRIO_NORMAL,
				      .flags = flags };
	vidmm_handle_t h;

	if (seg >= 0) {
		d.n_preferred = 1;
		d.preferred[0] = (uint32_t)seg;
	}
	assert_int_equal(vidmm_create_allocation(vm, &d, &h), 0);
	return h;
}

static uint64_t job(vidmm_t *vm, enum vidmm_job_op op, uint64_t seed, vidmm_handle_t h)
{
	uint64_t res = ~0ull;
	assert_int_equal(platform_job1(vm, op, seed, h, &res, 30 * SEC, NULL), 0);
	return res;
}

/* ---- VK-INIT-SKIPS-CLEANLY ---- */

static void init_skips_cleanly(void **state)
{
	struct vt_result r;
	(void)state;

	/* No driver at all: the loader finds no ICD. */
	setenv("VK_ICD_FILENAMES", "/nonexistent/vidmm-no-icd.json", 1);
	vt_run_bench(&r, (const char *[]){ "run", "frag", "--driver", "vulkan", "--ops", "10",
				  "--seed", "1", "--quiet", NULL });
	printf("no ICD: exit %d, stderr: %s", r.status, r.err);
	assert_int_equal(r.status, 77);
	assert_non_null(strstr(r.err, "skipped"));
	assert_non_null(strstr(r.err, "Vulkan"));
	/* one line, nothing else */
	assert_non_null(strchr(r.err, '\n'));
	assert_null(strchr(strchr(r.err, '\n') + 1, '\n'));
	/* a device that is not there is a user's mistake, not a skip */
	unsetenv("VK_ICD_FILENAMES");
	const char *icd = getenv("VIDMM_TEST_VK_ICD");
	if (icd)
		setenv("VK_ICD_FILENAMES", icd, 1);
	vt_run_bench(&r, (const char *[]){ "run", "frag", "--driver", "vulkan", "--device", "99",
				  "--ops", "10", "--seed", "1", "--quiet", NULL });
	printf("--device 99: exit %d, stderr: %s", r.status, r.err);
	if (r.status == 77)
		VT_SKIP("no usable Vulkan device for the --device check: %s", r.err);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--device"));
	vt_run_bench(&r, (const char *[]){ "run", "frag", "--device", "0", "--ops", "10", NULL });
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--device"));
}

/* ---- VK-SEGMENTS-FROM-DEVICE ---- */

static void segments_from_device(void **state)
{
	struct platform pl;
	struct vidmm_segment_info s[VIDMM_MAX_SEGMENTS];
	struct vidmm_profile want;
	uint32_t n = 0;
	(void)state;

	/* default asks for more than lavapipe's 2 GiB heap holds: clamped */
	open_vk("default", &pl);
	assert_int_equal(vidmm_profile_builtin("default", &want), 0);
	printf("device: %s\nclamps: %s\n", vk_chip_device_name(pl.vk), vk_chip_clamps(pl.vk));
	assert_true(pl.profile.local_visible <= want.local_visible);
	assert_true(pl.profile.sysmem <= want.sysmem);
	assert_int_equal(vidmm_profile_validate(&pl.profile, NULL, 0), 0);
	assert_int_equal(vidmm_query_segments(pl.vm, s, VIDMM_MAX_SEGMENTS, &n), 0);
	uint64_t local = 0, vis = 0, pcie = 0;
	for (uint32_t i = 0; i < n; i++) {
		printf("segment %u %-16s base 0x%" PRIx64 " size %" PRIu64 " MiB flags 0x%x\n",
		       s[i].id, s[i].name, s[i].base, s[i].size / MIB, s[i].flags);
		if (s[i].flags & VIDMM_SEG_LOCAL) {
			local += s[i].size;
			if (s[i].flags & VIDMM_SEG_CPU_VISIBLE)
				vis += s[i].size;
		}
		if ((s[i].flags & VIDMM_SEG_PCIE) && !(s[i].flags & VIDMM_SEG_PAGING))
			pcie += s[i].size;
	}
	/* the segments are what the driver built, the sizes the clamped profile */
	assert_int_equal(local, pl.profile.local_visible + pl.profile.local_invisible);
	assert_int_equal(vis, pl.profile.local_visible);
	/* the aperture, less the paging window carved from it */
	assert_true(pcie > 0 && pcie <= pl.profile.pcie_snooped + pl.profile.pcie_unsnooped);
	/* the chip maps visible local memory and nothing past it */
	assert_non_null(pl.ops->map_local(pl.chip_ctx, 0, pl.profile.local_visible));
	assert_null(pl.ops->map_local(pl.chip_ctx, pl.profile.local_visible, 4096));
	struct vidmm_chip_sysmem sm;
	assert_int_equal(pl.ops->query_sysmem(pl.chip_ctx, &sm), 0);
	assert_int_equal(sm.npages, pl.profile.sysmem / pl.profile.page_size);
	/* an allocation in each local segment takes a pattern and keeps it */
	int sv = platform_find_segment(pl.vm, VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE,
				       VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE);
	int si = platform_find_segment(pl.vm, VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE,
				       VIDMM_SEG_LOCAL);
	vidmm_handle_t a = alloc_in(pl.vm, 4 * MIB, 0, sv), b = alloc_in(pl.vm, 4 * MIB, 0, si);
	job(pl.vm, VIDMM_JOB_FILL, 7, a);
	job(pl.vm, VIDMM_JOB_FILL, 8, b);
	assert_int_equal(job(pl.vm, VIDMM_JOB_VERIFY, 7, a), 0);
	assert_int_equal(job(pl.vm, VIDMM_JOB_VERIFY, 8, b), 0);
	assert_int_equal(job(pl.vm, VIDMM_JOB_VERIFY, 7, b), 4 * MIB / 8);
	assert_int_equal(vidmm_check(pl.vm), 0);
	platform_close(&pl);

	/* probe lists the same device beside the PCI view, usable, with its heaps */
	struct vt_result r;
	vt_run_bench(&r, (const char *[]){ "probe", "--json", NULL });
	assert_int_equal(r.status, 0);
	json_error_t je;
	json_t *d = json_loads(r.out, 0, &je);
	if (!d)
		fail_msg("probe --json: %s: %s", je.text, r.out);
	const json_t *v = json_object_get(d, "vulkan");
	assert_true(json_is_array(v) && json_array_size(v) >= 1);
	const json_t *d0 = json_array_get(v, 0);
	printf("probe: %s, usable %s, %zu heap(s), %zu memory type(s)\n",
	       json_string_value(json_object_get(d0, "name")),
	       json_is_true(json_object_get(d0, "usable")) ? "yes" : "no",
	       json_array_size(json_object_get(d0, "heaps")),
	       json_array_size(json_object_get(d0, "memory_types")));
	assert_true(json_is_true(json_object_get(d0, "usable")));
	assert_true(json_array_size(json_object_get(d0, "heaps")) >= 1);
	assert_true(json_array_size(json_object_get(d0, "memory_types")) >= 1);
	assert_true(json_array_size(json_object_get(d0, "queue_families")) >= 1);
	assert_non_null(json_object_get(d, "devices")); /* the PCI view is still there */
	json_decref(d);
}

/* ---- VK-GART-WALK ---- */

/* The L3 entry of a GPU page of the aperture, found as the chip walks. */
static uint32_t *l3_entry(struct platform *pl, uint64_t gpu_addr)
{
	struct vidmm_chip_gart_geometry g;
	assert_int_equal(pl->ops->query_gart(pl->chip_ctx, &g), 0);
	assert_int_equal(g.entry_bytes, 4);
	uint64_t idx = (gpu_addr - g.base) >> g.page_shift, E = g.entries_per_table;
	uint32_t l1 = pl->ops->mmio_read32(pl->chip_ctx, g.mmio_l1_base + 4 * (uint32_t)(idx / E / E));
	assert_true(l1 & g.valid_bit);
	uint32_t *l2 = pl->ops->map_local(pl->chip_ctx, (uint64_t)(l1 >> g.addr_shift) << g.page_shift,
					  1u << g.page_shift);
	assert_non_null(l2);
	uint32_t e2 = l2[(idx / E) % E];
	assert_true(e2 & g.valid_bit);
	uint32_t *l3 = pl->ops->map_local(pl->chip_ctx, (uint64_t)(e2 >> g.addr_shift) << g.page_shift,
					  1u << g.page_shift);
	assert_non_null(l3);
	return &l3[idx % E];
}

static void invalidate_all(struct platform *pl)
{
	struct vidmm_chip_gart_geometry g;
	pl->ops->query_gart(pl->chip_ctx, &g);
	pl->ops->mmio_write32(pl->chip_ctx, g.mmio_inval_first, 0);
	pl->ops->mmio_write32(pl->chip_ctx, g.mmio_inval_count, 0);
	pl->ops->mmio_write32(pl->chip_ctx, g.mmio_inval_trigger, 1);
}

static void gart_walk(void **state)
{
	struct platform pl;
	struct vidmm_chip_faults f0, f1, f2;
	struct vidmm_alloc_info ai;
	(void)state;

	open_vk("tiny", &pl);
	int pcie = platform_find_segment(pl.vm, VIDMM_SEG_PCIE | VIDMM_SEG_PAGING, VIDMM_SEG_PCIE);
	assert_true(pcie >= 0);
	vidmm_handle_t h = alloc_in(pl.vm, 64 * 1024, VIDMM_ALLOC_CPU_VISIBLE, pcie);
	job(pl.vm, VIDMM_JOB_FILL, 42, h);
	assert_int_equal(vidmm_query_allocation(pl.vm, h, &ai), 0);
	assert_int_equal(ai.segment, (uint32_t)pcie);
	/* written by a job through the GART: the CPU sees the pattern in the
	 * system pages the L3 entries name */
	uint64_t pfn;
	assert_int_equal(vk_chip_walk(pl.vk, ai.gpu_addr, &pfn), 0);
	struct vidmm_chip_sysmem sm;
	pl.ops->query_sysmem(pl.chip_ctx, &sm);
	const uint64_t *frame = (const uint64_t *)((const uint8_t *)sm.cpu + (pfn << sm.page_shift));
	for (unsigned i = 0; i < 512; i++)
		assert_true(frame[i] == vidmm_pattern_word(42, 8ull * i));
	assert_int_equal(job(pl.vm, VIDMM_JOB_VERIFY, 42, h), 0);

	/* A stale entry: the first page's L3 entry made invalid without an
	 * invalidation. The cached translation still serves (as hardware),
	 * and the chip counts the stale hit: never silence. */
	uint32_t *ent = l3_entry(&pl, ai.gpu_addr), saved = *ent;
	pl.ops->fault_report(pl.chip_ctx, &f0);
	__atomic_store_n(ent, 0u, __ATOMIC_RELAXED);
	uint64_t bad_stale = job(pl.vm, VIDMM_JOB_VERIFY, 42, h);
	pl.ops->fault_report(pl.chip_ctx, &f1);
	printf("stale entry, not invalidated: %" PRIu64 " bad words, stale hits %" PRIu64 " -> %"
	       PRIu64 "\n", bad_stale, f0.stale_tlb_hits, f1.stale_tlb_hits);
	assert_true(f1.stale_tlb_hits > f0.stale_tlb_hits);
	/* Once invalidated, the walk finds the invalid entry: the page reads
	 * the dummy page (wrong data), and the access is counted. */
	invalidate_all(&pl);
	uint64_t bad = job(pl.vm, VIDMM_JOB_VERIFY, 42, h);
	pl.ops->fault_report(pl.chip_ctx, &f2);
	printf("invalid entry, invalidated: %" PRIu64 " bad words, dummy %" PRIu64 " -> %" PRIu64
	       ", unmapped %" PRIu64 " -> %" PRIu64 "\n", bad, f1.dummy_page_accesses,
	       f2.dummy_page_accesses, f1.unmapped_accesses, f2.unmapped_accesses);
	assert_int_equal(bad, 512);
	assert_true(f2.dummy_page_accesses > f1.dummy_page_accesses);
	assert_true(f2.unmapped_accesses > f1.unmapped_accesses);
	/* put it back: the data was never lost */
	__atomic_store_n(ent, saved, __ATOMIC_RELAXED);
	invalidate_all(&pl);
	assert_int_equal(job(pl.vm, VIDMM_JOB_VERIFY, 42, h), 0);
	assert_int_equal(vidmm_check(pl.vm), 0);
	platform_close(&pl);
}

/* ---- VK-PATTERNS-MATCH-EMU ---- */

static void patterns_match_emu(void **state)
{
	struct platform vk, emu;
	struct vidmm_profile p;
	char err[256];
	void *cpu;
	const uint64_t size = 1 * MIB + 4096;
	(void)state;

	open_vk("tiny", &vk);
	assert_int_equal(vidmm_profile_builtin("tiny", &p), 0);
	assert_int_equal(platform_open(&p, "emu", &emu, err, sizeof(err)), 0);
	for (int pass = 0; pass < 2; pass++) {
		/* local visible memory, then the PCIe aperture (through the GART) */
		unsigned m = pass ? VIDMM_SEG_PCIE | VIDMM_SEG_PAGING : VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE;
		unsigned w = pass ? VIDMM_SEG_PCIE : VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE;
		vidmm_handle_t hv = alloc_in(vk.vm, size, VIDMM_ALLOC_CPU_VISIBLE,
					     platform_find_segment(vk.vm, m, w));
		vidmm_handle_t he = alloc_in(emu.vm, size, VIDMM_ALLOC_CPU_VISIBLE,
					     platform_find_segment(emu.vm, m, w));
		/* FILL on Vulkan, checked on the CPU with the emulator's algorithm */
		job(vk.vm, VIDMM_JOB_FILL, 0xabcdef + pass, hv);
		assert_int_equal(vidmm_lock(vk.vm, hv, &cpu), 0);
		uint64_t bad = 0;
		for (uint64_t o = 0; o < size; o += 8)
			bad += ((uint64_t *)cpu)[o / 8] != vidmm_pattern_word(0xabcdef + pass, o);
		assert_int_equal(vidmm_unlock(vk.vm, hv), 0);
		printf("pass %d: Vulkan FILL, CPU check: %" PRIu64 " bad words\n", pass, bad);
		assert_int_equal(bad, 0);
		/* the reverse: the CPU writes the pattern, Vulkan's VERIFY agrees,
		 * and finds the one word the CPU then breaks */
		assert_int_equal(vidmm_lock(vk.vm, hv, &cpu), 0);
		for (uint64_t o = 0; o < size; o += 8)
			((uint64_t *)cpu)[o / 8] = vidmm_pattern_word(99, o);
		assert_int_equal(vidmm_unlock(vk.vm, hv), 0);
		assert_int_equal(job(vk.vm, VIDMM_JOB_VERIFY, 99, hv), 0);
		assert_int_equal(vidmm_lock(vk.vm, hv, &cpu), 0);
		((uint64_t *)cpu)[size / 8 - 1] ^= 1;
		assert_int_equal(vidmm_unlock(vk.vm, hv), 0);
		assert_int_equal(job(vk.vm, VIDMM_JOB_VERIFY, 99, hv), 1);
		/* both drivers fill the same bytes and hash them the same */
		job(vk.vm, VIDMM_JOB_FILL, 5, hv);
		job(emu.vm, VIDMM_JOB_FILL, 5, he);
		uint64_t cv = job(vk.vm, VIDMM_JOB_CHECKSUM, 77, hv);
		uint64_t ce = job(emu.vm, VIDMM_JOB_CHECKSUM, 77, he);
		printf("pass %d: CHECKSUM vulkan %016" PRIx64 " emu %016" PRIx64 "\n", pass, cv, ce);
		assert_true(cv == ce);
		void *ce_cpu;
		assert_int_equal(vidmm_lock(vk.vm, hv, &cpu), 0);
		assert_int_equal(vidmm_lock(emu.vm, he, &ce_cpu), 0);
		assert_memory_equal(cpu, ce_cpu, size);
		vidmm_unlock(vk.vm, hv);
		vidmm_unlock(emu.vm, he);
		/* COPY job between the two: the bytes follow */
		vidmm_handle_t h2 = alloc_in(vk.vm, size, 0, -1);
		struct vidmm_job j = { .op = VIDMM_JOB_COPY, .nrefs = 2,
				       .refs = { { hv, VIDMM_ACCESS_READ }, { h2, VIDMM_ACCESS_WRITE } } };
		struct vidmm_fence f;
		assert_int_equal(vidmm_submit(vk.vm, &j, &f), 0);
		assert_int_equal(vidmm_wait_fence(vk.vm, f, 30 * SEC), 0);
		assert_int_equal(job(vk.vm, VIDMM_JOB_VERIFY, 5, h2), 0);
		assert_int_equal(job(vk.vm, VIDMM_JOB_TOUCH, 0, h2), 0);
	}
	assert_int_equal(vidmm_check(vk.vm), 0);
	platform_close(&emu);
	platform_close(&vk);
}

/* ---- VK-EVERY-WORKLOAD ---- */

static void every_workload(void **state)
{
	static const char *const wls[] = { "alloc-churn", "frag", "oversubscribe", "game-frame",
					   "ml-train", "paging", "swap", "multi-client", "shared",
					   NULL };
	struct vt_result r;
	struct platform pl;
	(void)state;

	open_vk("tiny", &pl); /* skips without a device */
	platform_close(&pl);
	for (int i = 0; wls[i]; i++) {
		vt_run_bench(&r, (const char *[]){ "run", wls[i], "--driver", "vulkan", "--profile",
					  "tiny", "--verify", "--ops", "400", "--seed", "1",
					  "--allow-empty", NULL });
		const char *integ = strstr(r.out, "integrity:");
		printf("%-14s exit %d  %.*s\n", wls[i], r.status,
		       integ ? (int)strcspn(integ, "\n") : 0, integ ? integ : "");
		if (r.status)
			vt_show(wls[i], &r);
		assert_int_equal(r.status, 0);
		assert_non_null(integ);
		assert_non_null(strstr(integ, "integrity: 0 errors"));
		assert_null(strstr(r.err, "vulkan validation"));
	}
}

/* ---- VK-REPLAY-CROSS-DRIVER ---- */

static void replay_cross_driver(void **state)
{
	char *dir = vt_mktmpdir("test_vulkan"), te[512], tv[512];
	struct vt_result r;
	struct platform pl;
	(void)state;

	open_vk("tiny", &pl);
	platform_close(&pl);
	snprintf(te, sizeof(te), "%s/emu.jsonl", dir);
	snprintf(tv, sizeof(tv), "%s/vk.jsonl", dir);
	vt_run_bench(&r, (const char *[]){ "run", "frag", "--duration", "0.2", "--seed", "4",
				  "--threads", "1", "--verify", "--quiet", "--record", te, NULL });
	assert_int_equal(r.status, 0);
	vt_run_bench(&r, (const char *[]){ "run", "oversubscribe", "--driver", "vulkan",
				  "--duration", "0.3", "--seed", "4", "--threads", "1", "--verify",
				  "--allow-empty", "--quiet", "--record", tv, NULL });
	assert_int_equal(r.status, 0);
	/* each replays on the other driver with the same functional results:
	 * replay compares the manager's final counters with the recording */
	const char *pairs[2][2] = { { te, "vulkan" }, { tv, "emu" } };
	for (int i = 0; i < 2; i++) {
		vt_run_bench(&r, (const char *[]){ "replay", pairs[i][0], "--driver", pairs[i][1],
					  NULL });
		const char *m = strstr(r.out, "replay: ");
		printf("%s on %s: exit %d: %.*s\n", i ? "vulkan trace" : "emu trace", pairs[i][1],
		       r.status, m ? (int)strcspn(m, "\n") : 0, m ? m : "");
		if (r.status)
			vt_show("replay", &r);
		assert_int_equal(r.status, 0);
		assert_non_null(strstr(r.out, "final statistics match the recording"));
		assert_null(strstr(r.err, "vulkan validation"));
	}
	vt_rmtree(dir);
	free(dir);
}

/* ---- VK-VALIDATION-CLEAN ---- */

static void validation_clean(void **state)
{
	struct platform pl;
	(void)state;

	if (!getenv("VIDMM_VK_VALIDATION"))
		setenv("VIDMM_VK_VALIDATION", "1", 1);
	uint64_t before = vk_validation_messages();
	/* oversubscribed: page-outs, page-ins, clears, jobs of every kind */
	open_vk("tiny", &pl);
	vidmm_handle_t h[24];
	for (int i = 0; i < 24; i++) {
		h[i] = alloc_in(pl.vm, 8 * MIB, 0, -1);
		job(pl.vm, VIDMM_JOB_FILL, 100 + (uint64_t)i, h[i]);
	}
	uint64_t bad = 0;
	for (int i = 0; i < 24; i++) {
		bad += job(pl.vm, VIDMM_JOB_VERIFY, 100 + (uint64_t)i, h[i]);
		job(pl.vm, VIDMM_JOB_CHECKSUM, 1, h[i]);
		job(pl.vm, VIDMM_JOB_TOUCH, 1, h[i]);
	}
	struct vidmm_stats st;
	vidmm_query_stats(pl.vm, &st);
	printf("192 MiB on 64 MiB of local memory: %" PRIu64 " page-outs, %" PRIu64
	       " page-ins, %" PRIu64 " bad words, %" PRIu64 " validation messages\n",
	       st.page_outs, st.page_ins, bad, vk_validation_messages() - before);
	assert_int_equal(bad, 0);
	assert_true(st.page_ins > 0);
	for (int i = 0; i < 24; i++)
		assert_int_equal(vidmm_destroy_allocation(pl.vm, h[i]), 0);
	platform_close(&pl); /* the layer reports leaked objects at destruction */
	assert_int_equal(vk_validation_messages() - before, 0);

	/* ...and the layer is live: a fill at an offset that is not a multiple
	 * of 4 (VUID-vkCmdFillBuffer-dstOffset-00025) is one message. */
	open_vk("tiny", &pl);
	struct vkchip *c = pl.vk;
	VkCommandBuffer cb;
	VkCommandBufferAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
					   .commandPool = c->eng[0].pool,
					   .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
					   .commandBufferCount = 1 };
	VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
	pthread_mutex_lock(&c->eng[0].lock);
	assert_int_equal(vkAllocateCommandBuffers(c->dev, &ai, &cb), VK_SUCCESS);
	vkBeginCommandBuffer(cb, &bi);
	uint64_t clean = vk_validation_messages();
	printf("a deliberate mistake follows:\n");
	fflush(stdout);
	vkCmdFillBuffer(cb, c->mem[MEM_SYS].buf, 1, 4, 0);
	vkEndCommandBuffer(cb);
	vkFreeCommandBuffers(c->dev, c->eng[0].pool, 1, &cb);
	pthread_mutex_unlock(&c->eng[0].lock);
	printf("messages: %" PRIu64 "\n", vk_validation_messages() - clean);
	assert_true(vk_validation_messages() > clean);
	platform_close(&pl);
}

/* ---- VK-FUZZ-THREADS ---- */

/* The fuzzer's shared mode on the Vulkan driver: four threads on shared
 * allocations, every CHECKSUM and VERIFY against the model. It found two
 * races in the driver's retiring within seconds (a lost CHECKSUM result, a
 * result written twice); the seed is printed and varies per run. */
/* The fuzzer on the Vulkan driver in shared mode (seed from the case's
 * name, printed): it must find nothing, with no validation message. */
static void vk_fuzz(const char *name, const char *threads, const char *secs, const char *paging)
{
	struct vt_result r;
	char seed[32];
	char *dir = vt_mktmpdir("test_vulkan"), repro[512];

	snprintf(seed, sizeof(seed), "%" PRIu64, vt_seed(name));
	snprintf(repro, sizeof(repro), "%s/repro.trace", dir);
	vt_run_bench(&r, (const char *[]){ "fuzz", "--driver", "vulkan", "--threads", threads,
				  "--paging", paging, "--time", secs, "--seed", seed, "--repro",
				  repro, NULL });
	printf("%s", r.out);
	if (r.status)
		vt_show("fuzz --driver vulkan", &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "nothing found"));
	assert_null(strstr(r.err, "vulkan validation"));
	vt_rmtree(dir);
	free(dir);
}

static void fuzz_threads(void **state)
{
	struct platform pl;
	(void)state;

	open_vk("tiny", &pl);
	platform_close(&pl);
	vk_fuzz("VK-FUZZ-THREADS", "4", "30", "sync");
}

/* ---- VK-PIPELINED-PAGING ---- */

/* Pipelined paging on the Vulkan driver: chip dependencies become timeline
 * semaphore waits. oversubscribe with --verify leaves page-ins to the GPU to
 * order (the results count them) with 0 integrity errors, and the fuzzer's
 * shared mode finds nothing, with the validation layer on throughout. */
static void pipelined_paging(void **state)
{
	struct vt_result r;
	struct platform pl;
	(void)state;

	open_vk("tiny", &pl);
	platform_close(&pl);
	char *dir = vt_mktmpdir("test_vulkan"), out[512];
	snprintf(out, sizeof(out), "%s/over.json", dir);
	vt_run_bench(&r, (const char *[]){ "run", "oversubscribe", "--driver", "vulkan", "--profile",
				  "tiny", "--paging", "pipelined", "--verify", "--duration", "2",
				  "--seed", "1", "--out", out, NULL });
	const char *pl_line = strstr(r.out, "paging pipelined:");
	printf("%.*s\n", pl_line ? (int)strcspn(pl_line, "\n") : 0, pl_line ? pl_line : "");
	if (r.status)
		vt_show("run oversubscribe --driver vulkan --paging pipelined", &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "integrity: 0 errors"));
	assert_null(strstr(r.err, "vulkan validation"));
	json_error_t je;
	json_t *d = json_load_file(out, 0, &je);
	assert_non_null(d);
	json_t *run = json_array_get(json_object_get(d, "runs"), 0);
	json_int_t piped = json_integer_value(
		json_object_get(json_object_get(run, "vidmm"), "pipelined_page_ins"));
	printf("pipelined page-ins: %lld\n", (long long)piped);
	assert_true(piped > 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(run, "config"),
							       "paging")), "pipelined");
	json_decref(d);
	vt_rmtree(dir);
	free(dir);
	vk_fuzz("VK-PIPELINED-PAGING", "2", "10", "pipelined");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("VK-INIT-SKIPS-CLEANLY", init_skips_cleanly),
		VT_CASE("VK-SEGMENTS-FROM-DEVICE", segments_from_device),
		VT_CASE("VK-GART-WALK", gart_walk),
		VT_CASE("VK-PATTERNS-MATCH-EMU", patterns_match_emu),
		VT_CASE("VK-EVERY-WORKLOAD", every_workload),
		VT_CASE("VK-REPLAY-CROSS-DRIVER", replay_cross_driver),
		VT_CASE("VK-VALIDATION-CLEAN", validation_clean),
		VT_CASE("VK-FUZZ-THREADS", fuzz_threads),
		VT_CASE("VK-PIPELINED-PAGING", pipelined_paging),
	};
	return VT_MAIN("test_vulkan", cases);
}
