/* SPDX-License-Identifier: MIT */
/*
 * vt_env.c - the standard test fixture and its helpers (see vt_env.h).
 * Owns: building the emulated GPU and the manager for a case, and tearing
 * them down. Must not: hold test cases or policy.
 */
#include "vt_env.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vt.h"
#include "vt_proc.h"

uint64_t vt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * VT_SEC + (uint64_t)ts.tv_nsec;
}

const char *vt_env_driver(void)
{
	const char *d = getenv("VIDMM_TEST_DRIVER");
	return d && *d ? d : "emu";
}

int vt_env_open(struct vt_env *e, const struct vt_env_opts *o, char *err, size_t len)
{
	static const struct vt_env_opts defaults;
	struct platform_opts po = { .paging_mode = VIDMM_PAGING_WINDOW };
	int ret;

	memset(e, 0, sizeof(*e));
	if (!o)
		o = &defaults;
	ret = vidmm_profile_builtin(o->profile ? o->profile : "tiny", &e->prof);
	if (ret) {
		snprintf(err, len, "no profile %s", o->profile ? o->profile : "tiny");
		return ret;
	}
	if (o->sysmem)
		e->prof.sysmem = o->sysmem;
	if (o->sysmem_reserve)
		e->prof.sysmem_reserve = o->sysmem_reserve;
	if (o->swap)
		e->prof.swap = o->swap;
	if (o->copy_engines)
		e->prof.copy_engines = o->copy_engines;
	po.paging_mode = o->mode;
	po.pipelined_paging = o->pipelined;
	po.no_swap = o->no_swap;
	po.no_background_reclaim = o->no_background_reclaim;
	po.no_async_readahead = o->no_async_readahead;
	po.evict_policy = o->evict_policy;
	if (!o->no_swap) {
		const char *t = getenv("TMPDIR");
		const char *root = o->swap_root ? o->swap_root : t && *t ? t : "/tmp";
		snprintf(e->dir, sizeof(e->dir), "%s/vidmm-vt-XXXXXX", root);
		if (!mkdtemp(e->dir)) {
			ret = -errno;
			snprintf(err, len, "mkdtemp in %s: %s", root, strerror(errno));
			e->dir[0] = 0;
			return ret;
		}
		po.swap_dir = e->dir;
	}
	ret = platform_open_opts(&e->prof, vt_env_driver(), &po, &e->pl, err, len);
	if (ret)
		goto fail;
	/* a real device may have clamped the profile */
	e->prof = e->pl.profile;
	if (o->plain_lru || o->fence_timeout_ns || o->move_budget || o->no_clear ||
	    o->force_buffered || o->bounce_window_ns || o->reclaim_high_pct || o->reclaim_low_pct) {
		/* The platform builds the manager from the profile: rebuild it on
		 * the same chip with the case's configuration. */
		struct vidmm_config cfg = e->pl.cfg;
		cfg.evict_plain_lru = o->plain_lru;
		cfg.fence_timeout_ns = o->fence_timeout_ns;
		cfg.submit_move_budget = o->move_budget;
		cfg.bounce_window_ns = o->bounce_window_ns;
		cfg.no_clear_on_create = o->no_clear;
		cfg.swap_force_buffered = o->force_buffered;
		cfg.reclaim_high_pct = o->reclaim_high_pct;
		cfg.reclaim_low_pct = o->reclaim_low_pct;
		vidmm_destroy(e->pl.vm);
		e->pl.vm = NULL;
		ret = vidmm_init(&cfg, &e->pl.vm);
		if (ret) {
			snprintf(err, len, "vidmm_init with the case's config: %s", vidmm_init_error());
			platform_close(&e->pl);
			goto fail;
		}
		e->pl.cfg = cfg;
	}
	e->vm = e->pl.vm;
	e->emu = e->pl.emu;
	e->page = e->prof.page_size;
	e->local_vis = platform_find_segment(e->vm, VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE,
					     VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE);
	e->local_invis = platform_find_segment(e->vm, VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE,
					       VIDMM_SEG_LOCAL);
	e->pcie_snoop = platform_find_segment(e->vm,
					      VIDMM_SEG_PCIE | VIDMM_SEG_SNOOPED | VIDMM_SEG_PAGING,
					      VIDMM_SEG_PCIE | VIDMM_SEG_SNOOPED);
	e->pcie_unsnoop = platform_find_segment(e->vm,
						VIDMM_SEG_PCIE | VIDMM_SEG_SNOOPED | VIDMM_SEG_PAGING,
						VIDMM_SEG_PCIE);
	e->paging = platform_find_segment(e->vm, VIDMM_SEG_PAGING, VIDMM_SEG_PAGING);
	if (e->pl.ops->query_engines(e->pl.chip_ctx, &e->eng) || e->local_vis < 0 ||
	    e->local_invis < 0 || e->pcie_snoop < 0 || e->pcie_unsnoop < 0 || e->paging < 0 ||
	    e->eng.n_job < 1) {
		snprintf(err, len, "the profile lacks a segment or a job engine");
		platform_close(&e->pl);
		ret = -ENODEV;
		goto fail;
	}
	e->job_engine = e->eng.n_copy;
	return 0;
fail:
	if (e->dir[0])
		rmdir(e->dir);
	e->dir[0] = 0;
	return ret;
}

int vt_env_close(struct vt_env *e)
{
	/* A case that hung an engine and failed before resetting it must not
	 * leave teardown waiting on a fence that never comes. */
	for (uint32_t i = 0; e->emu && i < e->eng.n_copy + e->eng.n_job; i++)
		emu_reset_engine(e->emu, i);
	platform_close(&e->pl);
	if (e->dir[0]) {
		if (vt_count_files(e->dir) != 0)
			return -ENOTEMPTY;
		rmdir(e->dir);
	}
	return 0;
}

struct vt_env *vt_env_up(const struct vt_env_opts *o)
{
	struct vt_env *e = calloc(1, sizeof(*e));
	char err[512] = "";

	assert_non_null(e);
	int ret = vt_env_open(e, o, err, sizeof(err));
	if (ret == -ENXIO && strcmp(vt_env_driver(), "emu") != 0) {
		/* no device for the driver variant: skipped, saying why */
		printf("SKIP: --driver %s: %s\n", vt_env_driver(), err);
		fflush(stdout);
		exit(77);
	}
	if (ret)
		fail_msg("fixture: %s", err);
	return e;
}

void vt_env_down(struct vt_env *e)
{
	char dir[sizeof(e->dir)];

	memcpy(dir, e->dir, sizeof(dir));
	if (vt_env_close(e))
		fail_msg("swap directory %s is not empty after the manager closed", dir);
	free(e);
}

void vt_check(vidmm_t *vm, const char *when)
{
	if (vidmm_check(vm))
		fail_msg("vidmm_check (%s): %s", when, vidmm_check_error(vm));
}

struct vidmm_stats vt_stats(vidmm_t *vm)
{
	struct vidmm_stats st;
	assert_int_equal(vidmm_query_stats(vm, &st), 0);
	return st;
}

struct vidmm_alloc_info vt_info(vidmm_t *vm, vidmm_handle_t h)
{
	struct vidmm_alloc_info i;
	int ret = vidmm_query_allocation(vm, h, &i);
	if (ret)
		fail_msg("query handle 0x%" PRIx64 ": %s", h, vidmm_strerror(ret));
	return i;
}

int vt_create(vidmm_t *vm, int seg, uint64_t size, int prio, uint32_t flags,
	      vidmm_handle_t *h)
{
	struct vidmm_alloc_desc d = { .size = size, .priority = (enum vidmm_priority)prio,
				      .flags = flags };
	if (seg >= 0) {
		d.n_preferred = 1;
		d.preferred[0] = (uint32_t)seg;
	}
	return vidmm_create_allocation(vm, &d, h);
}

vidmm_handle_t vt_must_create(vidmm_t *vm, int seg, uint64_t size, int prio, uint32_t flags)
{
	vidmm_handle_t h = 0;
	int ret = vt_create(vm, seg, size, prio, flags, &h);
	if (ret)
		fail_msg("create %" PRIu64 " bytes in segment %d: %s", size, seg, vidmm_strerror(ret));
	return h;
}

int vt_job(vidmm_t *vm, enum vidmm_job_op op, uint64_t seed, vidmm_handle_t h,
	   uint64_t *result)
{
	return platform_job1(vm, op, seed, h, result, VT_WAIT_NS, NULL);
}

void vt_must_fill(vidmm_t *vm, vidmm_handle_t h, uint64_t seed)
{
	int ret = vt_job(vm, VIDMM_JOB_FILL, seed, h, NULL);
	if (ret)
		fail_msg("FILL job on 0x%" PRIx64 ": %s", h, vidmm_strerror(ret));
}

uint64_t vt_must_verify(vidmm_t *vm, vidmm_handle_t h, uint64_t seed)
{
	uint64_t bad = UINT64_MAX;
	int ret = vt_job(vm, VIDMM_JOB_VERIFY, seed, h, &bad);
	if (ret)
		fail_msg("VERIFY job on 0x%" PRIx64 ": %s", h, vidmm_strerror(ret));
	return bad;
}

uint64_t vt_cpu_mismatches(const void *p, uint64_t size, uint64_t seed)
{
	const uint64_t *w = p;
	uint64_t bad = 0;

	for (uint64_t i = 0; i < size / 8; i++)
		bad += w[i] != vidmm_pattern_word(seed, i * 8);
	return bad;
}

void vt_cpu_fill(void *p, uint64_t size, uint64_t seed)
{
	uint64_t *w = p;

	for (uint64_t i = 0; i < size / 8; i++)
		w[i] = vidmm_pattern_word(seed, i * 8);
}
