/* SPDX-License-Identifier: MIT */
/*
 * platform.c - profile -> chip -> manager (see platform.h).
 *
 * Owns: nothing beyond the open/close order (chip before manager, manager
 * before chip on the way down). Must not: hold policy or state of its own.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "platform.h"
#include "drivers/emu/emu.h"
#include "drivers/vulkan/vk.h"

/* The chip for driver: fills out->ops, chip_ctx, and emu or vk. */
static int open_chip(const struct vidmm_profile *p, const char *driver,
		     const struct platform_opts *opts, struct platform *out, char *err,
		     size_t err_len)
{
	int ret;

	if (!driver || strcmp(driver, "emu") == 0) {
		ret = emu_create(p, &out->emu);
		if (ret) {
			snprintf(err, err_len, "emulated GPU: %s", strerror(-ret));
			return ret;
		}
		out->ops = &emu_chip_ops;
		out->chip_ctx = out->emu;
		/* Before the first command: the engines read it without a lock. */
		if (opts && opts->emu_trace)
			emu_set_trace(out->emu, opts->emu_trace, opts->trace_arg);
		return 0;
	}
	if (strcmp(driver, "vulkan") == 0) {
#if HAVE_VULKAN
		ret = vk_chip_create(p, opts ? opts->device : NULL, &out->vk, &out->profile, err,
				     err_len);
		if (ret)
			return ret == -ENODEV ? -ENXIO : ret; /* told apart from a bad --driver */
		const char *cl = vk_chip_clamps(out->vk);
		if (*cl)
			fprintf(stderr, "vulkan: %s: to fit the device, %s\n",
				vk_chip_device_name(out->vk), cl);
		out->ops = &vk_chip_ops;
		out->chip_ctx = out->vk;
		return 0;
#else
		snprintf(err, err_len, "--driver vulkan: this build has no Vulkan driver (Debian: "
			 "libvulkan-dev and glslc at build time)");
		return -ENXIO;
#endif
	}
	snprintf(err, err_len, "--driver: unknown driver '%s' (available: emu, vulkan)", driver);
	return -ENODEV;
}

static void close_chip(struct platform *pl)
{
	if (pl->emu)
		emu_destroy(pl->emu);
	pl->emu = NULL;
#if HAVE_VULKAN
	if (pl->vk)
		vk_chip_destroy(pl->vk);
#endif
	pl->vk = NULL;
}

int platform_open(const struct vidmm_profile *p, const char *driver,
		  struct platform *out, char *err, size_t err_len)
{
	return platform_open_opts(p, driver, NULL, out, err, err_len);
}

int platform_open_opts(const struct vidmm_profile *p, const char *driver,
		       const struct platform_opts *opts, struct platform *out,
		       char *err, size_t err_len)
{
	int ret;

	memset(out, 0, sizeof(*out));
	out->profile = *p;
	ret = vidmm_profile_validate(p, err, err_len);
	if (ret)
		return ret;
	ret = open_chip(p, driver, opts, out, err, err_len);
	if (ret)
		return ret;
	p = &out->profile;
	out->cfg = (struct vidmm_config){
		.chip = out->ops,
		.chip_ctx = out->chip_ctx,
		.sysmem_budget = p->sysmem,
		.sysmem_reserve = p->sysmem_reserve,
		.paging_size = p->paging,
		.paging_snooped = p->paging_snooped,
		.paging_mode = opts ? opts->paging_mode : VIDMM_PAGING_WINDOW,
		.pipelined_paging = opts && opts->pipelined_paging,
		.swap_size = opts && opts->no_swap ? 0 : p->swap,
		.swap_dir = opts ? opts->swap_dir : NULL,
		.no_background_reclaim = opts && opts->no_background_reclaim,
		.no_async_readahead = opts && opts->no_async_readahead,
		.fence_timeout_ns = opts ? opts->fence_timeout_ns : 0,
		.no_clear_on_create = opts && opts->no_clear_on_create,
		.evict_policy = opts ? opts->evict_policy : NULL,
		.next_use = opts ? opts->next_use : NULL,
		.next_use_arg = opts ? opts->next_use_arg : NULL,
		.trace = opts ? opts->trace : NULL,
		.trace_arg = opts ? opts->trace_arg : NULL,
	};
	ret = vidmm_init(&out->cfg, &out->vm);
	if (ret) {
		snprintf(err, err_len, "vidmm_init: %s", vidmm_init_error());
		close_chip(out);
		return ret;
	}
	return 0;
}

void platform_close(struct platform *pl)
{
	vidmm_destroy(pl->vm);
	pl->vm = NULL;
	close_chip(pl);
}

int platform_find_segment(vidmm_t *vm, unsigned mask, unsigned want)
{
	struct vidmm_segment_info s[VIDMM_MAX_SEGMENTS];
	uint32_t n = 0;

	if (vidmm_query_segments(vm, s, VIDMM_MAX_SEGMENTS, &n))
		return -1;
	for (uint32_t i = 0; i < n && i < VIDMM_MAX_SEGMENTS; i++)
		if ((s[i].flags & mask) == want)
			return (int)s[i].id;
	return -1;
}

int platform_job1(vidmm_t *vm, enum vidmm_job_op op, uint64_t seed, vidmm_handle_t h,
		  uint64_t *result, uint64_t timeout_ns, struct vidmm_fence *fence)
{
	struct vidmm_job j;
	struct vidmm_fence f;
	int ret;

	memset(&j, 0, sizeof(j));
	j.op = op;
	j.seed = seed;
	j.nrefs = 1;
	j.refs[0].handle = h;
	j.refs[0].access = op == VIDMM_JOB_FILL ? VIDMM_ACCESS_WRITE : VIDMM_ACCESS_READ;
	j.result = result;
	ret = vidmm_submit(vm, &j, &f);
	if (!ret && fence)
		*fence = f;
	return ret || !timeout_ns ? ret : vidmm_wait_fence(vm, f, timeout_ns);
}
