/* SPDX-License-Identifier: MIT */
/*
 * vt_env.h - the standard test fixture: an emulated GPU built from the tiny
 * profile and a manager on it, configured per case, plus the handful of
 * calls every case makes (create in a segment, run a job and wait, query).
 *
 * Owns: the fixture and those helpers, so test programs do not each carry a
 * copy. Must not: assert anything about vidmm behaviour beyond "this call the
 * case needs succeeded" (the helpers named vt_must_* fail the case with the
 * errno when it did not).
 *
 * Layout of the tiny profile: local-visible 16 MiB (holding the GART
 * tables), local-invisible 48 MiB, PCIe 2 x 32 MiB (the paging window of
 * 8 MiB carved from the snooped half), 128 MiB of system pages, one copy
 * engine and one job engine.
 */
#ifndef VIDMM_VT_ENV_H
#define VIDMM_VT_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/platform.h"
#include "core/vidmm.h"
#include "drivers/emu/emu.h"

#define VT_KIB ((uint64_t)1024)
#define VT_MIB ((uint64_t)1 << 20)
#define VT_MS ((uint64_t)1000000)
#define VT_SEC ((uint64_t)1000000000)
/* Long enough for any healthy job under a sanitizer, short enough that a
 * lost fence fails the case instead of the meson timeout. */
#define VT_WAIT_NS (30 * VT_SEC)

/* What a case changes from the tiny profile and the platform's config
 * (zero: unchanged). */
struct vt_env_opts {
	const char *profile;          /* NULL: "tiny" */
	uint64_t sysmem, sysmem_reserve, swap;
	bool no_swap;
	uint32_t copy_engines;
	enum vidmm_paging_mode mode;
	bool pipelined;               /* cfg.pipelined_paging */
	bool plain_lru;
	const char *evict_policy;     /* NULL: the default */
	uint64_t fence_timeout_ns;
	uint64_t move_budget;
	uint64_t bounce_window_ns;
	bool no_clear;
	bool force_buffered;
	bool no_background_reclaim;
	bool no_async_readahead;
	uint32_t reclaim_high_pct, reclaim_low_pct;
	const char *swap_root;        /* parent of the swap directory (NULL: $TMPDIR or /tmp) */
};

/* The chip the fixture builds: VIDMM_TEST_DRIVER (meson's driver variants
 * of the residency and swap cases set "vulkan"), else "emu". */
const char *vt_env_driver(void);

struct vt_env {
	struct platform pl;
	vidmm_t *vm;
	struct emu *emu;              /* NULL on another driver */
	struct vidmm_profile prof;
	char dir[256];                /* the swap directory ("" without swap) */
	int local_vis, local_invis, pcie_snoop, pcie_unsnoop, paging;
	uint64_t page;
	struct vidmm_chip_engines eng;
	uint32_t job_engine;          /* chip id of job engine 0 */
};

/* Open / close (the swap directory must be empty afterwards), failing the
 * case on an error. */
struct vt_env *vt_env_up(const struct vt_env_opts *o);
void vt_env_down(struct vt_env *e);
/* The same without cmocka, for forked children and cases that expect the
 * open to fail: 0 or a negative errno with the reason in err; close is
 * -ENOTEMPTY when the swap directory was not empty (it is then left for
 * inspection). */
int vt_env_open(struct vt_env *e, const struct vt_env_opts *o, char *err, size_t len);
int vt_env_close(struct vt_env *e);

/* vidmm_check, failing the case with its reason. */
void vt_check(vidmm_t *vm, const char *when);

struct vidmm_stats vt_stats(vidmm_t *vm);
struct vidmm_alloc_info vt_info(vidmm_t *vm, vidmm_handle_t h);

/* Create size bytes in segment seg (-1: anywhere), preferred alone. */
int vt_create(vidmm_t *vm, int seg, uint64_t size, int prio, uint32_t flags,
	      vidmm_handle_t *h);
vidmm_handle_t vt_must_create(vidmm_t *vm, int seg, uint64_t size, int prio, uint32_t flags);

/* One job over one allocation (write intent for FILL), waited for: its
 * result word (VERIFY: mismatched words; CHECKSUM) in *result. */
int vt_job(vidmm_t *vm, enum vidmm_job_op op, uint64_t seed, vidmm_handle_t h,
	   uint64_t *result);
void vt_must_fill(vidmm_t *vm, vidmm_handle_t h, uint64_t seed);
/* Mismatched words against the pattern of seed (fails the case if the job
 * cannot run). */
uint64_t vt_must_verify(vidmm_t *vm, vidmm_handle_t h, uint64_t seed);

/* Words of [p, p+size) differing from the pattern of seed (CPU side). */
uint64_t vt_cpu_mismatches(const void *p, uint64_t size, uint64_t seed);
void vt_cpu_fill(void *p, uint64_t size, uint64_t seed);

uint64_t vt_now_ns(void);

#endif
