/* SPDX-License-Identifier: MIT */
/*
 * platform.h - opens a chip backend and a vidmm manager on it from a profile.
 *
 * Owns: the glue between drivers/ and core/ (the one place that knows both),
 * used by the runner, the benchmarks and the tests. Must not: hold policy;
 * it only translates a profile into a chip and a struct vidmm_config.
 */
#ifndef VIDMM_PLATFORM_H
#define VIDMM_PLATFORM_H

#include <stddef.h>

#include "core/vidmm.h"
#include "drivers/emu/emu.h"
#include "drivers/profile.h"

struct emu;
struct vkchip;

struct platform {
	struct vidmm_profile profile;    /* as built: a real device may clamp sizes */
	struct emu *emu;                 /* the emulated chip (driver "emu") */
	struct vkchip *vk;               /* a Vulkan device (driver "vulkan") */
	const struct vidmm_chip_ops *ops;
	void *chip_ctx;
	struct vidmm_config cfg;
	vidmm_t *vm;
};

/*
 * Validate the profile, create the chip for driver ("emu" or "vulkan"; NULL:
 * emu), and vidmm_init on it. On failure a one-line reason is in err and
 * nothing is left open. Returns 0, -EINVAL (bad profile or configuration,
 * an unknown --device), -ENODEV (unknown driver), -ENXIO (the driver found no
 * usable device: no Vulkan driver, or a device lacking a feature; the CLI
 * skips, exit 77) or another negative errno.
 */
int platform_open(const struct vidmm_profile *p, const char *driver,
		  struct platform *out, char *err, size_t err_len);

/* Manager settings a profile does not describe (vidmm-bench's options). */
struct platform_opts {
	enum vidmm_paging_mode paging_mode;
	bool pipelined_paging;  /* --paging pipelined */
	const char *swap_dir;   /* NULL: the system temp directory */
	bool no_swap;           /* no swap file even if the profile has a swap size */
	/* no background reclaim thread: swap-outs happen only inside calls, so
	 * a run is reproducible (vidmm-bench record/replay) */
	bool no_background_reclaim;
	bool no_async_readahead; /* vidmm_config.no_async_readahead */
	uint64_t fence_timeout_ns; /* 0: the manager's default */
	bool no_clear_on_create;   /* measure without clearing new allocations */
	const char *evict_policy;  /* NULL: the default */
	uint64_t (*next_use)(void *arg, vidmm_handle_t h); /* vidmm_config.next_use */
	void *next_use_arg;
	/* Trace hooks (--timeline): the manager's and the emulated chip's. */
	vidmm_trace_fn trace;
	emu_trace_fn emu_trace;
	void *trace_arg;
	const char *device;        /* driver "vulkan": --device; NULL the first usable */
};
/* platform_open with opts (NULL: the defaults platform_open uses). */
int platform_open_opts(const struct vidmm_profile *p, const char *driver,
		       const struct platform_opts *opts, struct platform *out,
		       char *err, size_t err_len);
void platform_close(struct platform *pl);

/*
 * Submit a job over one allocation (write intent for FILL, read otherwise);
 * *fence (may be NULL) is its fence. With timeout_ns, also wait for it, so
 * *result (may be NULL) is valid on return.
 */
int platform_job1(vidmm_t *vm, enum vidmm_job_op op, uint64_t seed, vidmm_handle_t h,
		  uint64_t *result, uint64_t timeout_ns, struct vidmm_fence *fence);

/* Id of the first segment whose flags & mask == want, or -1. */
int platform_find_segment(vidmm_t *vm, unsigned mask, unsigned want);

#endif
