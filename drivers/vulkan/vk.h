/* SPDX-License-Identifier: MIT */
/*
 * vk.h - a real GPU under the manager: the chip-layer backend that drives any
 * Vulkan 1.2+ device (Mesa's lavapipe in CI).
 *
 * Owns: the Vulkan instance and device, the device memory behind the
 * segments and the system pool, the GART's register file and the driver's
 * translation cache, and the engines (queues, command buffers, timeline
 * semaphores, the job shader). Must not: include anything from core/, or let
 * a Vulkan type into chip.h or this header (another real driver must fit
 * the same table).
 *
 * Segments: local memory is DEVICE_LOCAL memory; its CPU-visible part comes
 * from a memory type that is also HOST_VISIBLE (the BAR or ReBAR window).
 * The system pool is HOST_VISIBLE|HOST_COHERENT memory, preferably not
 * device-local (on a discrete GPU: host RAM the GPU reaches over PCIe).
 * The GPU address map, register map and entry format are the emulator's
 * (drivers/layout.h).
 *
 * The GART: L1 is this driver's register file (the emulator's register map
 * and entry format), L2 and L3 live in CPU-visible local memory where the
 * core writes them. The driver walks them when it records a command, turning
 * each run of pages into copy regions or shader runs; translations are
 * cached and the cache is refreshed only by the invalidate register writes,
 * so a stale entry the core forgot to invalidate gives stale data (and is
 * counted), as on hardware. An invalid entry, or one naming the dummy frame,
 * reads the dummy page and drops writes, counted per page per command.
 *
 * Engines: copy engines run paging copies and fills on a transfer-only
 * queue family when the device has one, else on the compute queue; one job
 * engine runs FILL, VERIFY, TOUCH (a compute shader reproducing
 * vidmm_pattern_word bit for bit), COPY (copy regions) and CHECKSUM (XXH3-64
 * of the bytes, seeded, as the emulator: the bytes are copied to a host
 * buffer and hashed when the fence is seen). Each engine's fence timeline is
 * a timeline semaphore; fence_wait is vkWaitSemaphores. Results reach the
 * job's result pointer before fence_completed or fence_wait report the fence
 * (retired in order by whoever observes it first: no driver thread).
 * Commands never block: 64 in flight per engine, then -EAGAIN.
 */
#ifndef VIDMM_VK_H
#define VIDMM_VK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../chip.h"
#include "../profile.h"

struct vkchip;

extern const struct vidmm_chip_ops vk_chip_ops;

/*
 * Open a device and build a chip from a validated profile. device: NULL or
 * "" for the first device that has what the driver needs, a decimal index
 * into the list `vidmm-bench probe` prints, or a substring of the device
 * name. Sizes the device cannot hold are clamped; *used (may be NULL)
 * receives the profile actually built (a note of each clamp goes to err's
 * caller through vk_chip_clamps).
 *
 * Returns 0; -ENODEV (no Vulkan loader or driver, no such device, or the
 * device lacks a feature: err names it in one line); -EINVAL (bad profile);
 * -ENOMEM; -EIO (a Vulkan call failed: err names it).
 *
 * VIDMM_VK_VALIDATION=1 enables the Khronos validation layer; each message
 * of severity WARNING or ERROR is counted (vk_chip_validation_messages) and
 * printed to stderr.
 */
int vk_chip_create(const struct vidmm_profile *p, const char *device, struct vkchip **out,
		   struct vidmm_profile *used, char *err, size_t len);
void vk_chip_destroy(struct vkchip *c);

/* What was clamped to fit the device, one line each; "" if nothing. */
const char *vk_chip_clamps(const struct vkchip *c);
/* The device's name and Vulkan API version, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
const char *vk_chip_device_name(const struct vkchip *c);
/* Validation-layer messages (WARNING|ERROR) seen so far, on every chip of
 * the process (the messenger is per instance, the count global). */
uint64_t vk_validation_messages(void);

/*
 * List the Vulkan devices: index, name, type, API version, memory heaps and
 * types, queue families, and whether the driver can use the device (or what
 * it lacks). JSON form: an array of objects on one line. 0, or -ENODEV when
 * no loader or no device (a line says so).
 */
int vk_probe(FILE *out, bool json);

/* Translate one GPU address of the aperture with a fresh walk (tests): the
 * L3 entry's frame. 0, -EFAULT (outside the aperture or a bad table) or
 * -ENOENT (an invalid entry). */
int vk_chip_walk(struct vkchip *c, uint64_t gpu_addr, uint64_t *pfn);

/*
 * The raw figure beside the manager's (paging_bench --driver vulkan): GB/s of
 * vkCmdCopyBuffer moving n buffers of size bytes from local memory (the
 * invisible segment's memory type) to the system pool's memory type
 * (to_sys) or back, on the first copy engine's queue, median of reps: all n
 * in one submit, or (one_each) each buffer its own submit and host wait, as
 * synchronous paging does. Scratch buffers of those types, not the chip's
 * (no data of the manager's moves), each page written before the timed
 * copies as the manager's memory is. 0 or a negative errno.
 */
int vk_chip_raw_copy_gbps(struct vkchip *c, uint64_t size, int n, int reps, bool to_sys,
			  bool one_each, double *gbps);

#endif /* VIDMM_VK_H */
