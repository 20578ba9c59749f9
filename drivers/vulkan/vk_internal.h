/* SPDX-License-Identifier: MIT */
/*
 * vk_internal.h - struct vkchip and what the Vulkan driver's files share
 * (vk_device.c: instance, device, memory; vk_mmu.c: registers and
 * translation; vk_engine.c: engines, fences and the ops table).
 *
 * Locking (in this order; none is held across a GPU wait):
 *  - eng->lock: an engine's command pool, slots, fence counter and arena
 *    (a submit records and queues under it);
 *  - eng->retire_lock: retiring completed slots (results, staging);
 *  - q->lock: a VkQueue (engines may share one), held only for
 *    vkQueueSubmit;
 *  - c->tlb_lock: the translation cache, held while a range is translated
 *    and while an invalidation drops entries;
 *  - eng->err_lock: the engine's error history (a leaf).
 * The register file is atomics; device memory is written by the core
 * through map_local without a driver lock.
 */
#ifndef VIDMM_VK_INTERNAL_H
#define VIDMM_VK_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <vulkan/vulkan.h>

#include "vk.h"
#include "../layout.h"

/* Register map and entry format: drivers/layout.h's (CHIP_*), as the
 * emulator's; only the ID differs. */
#define VK_CHIP_ID 0x564b4d4du /* "VKMM" */
#define VK_NREGS (CHIP_MMIO_SIZE / 4)
/* Frames below are not in the pool (as the emulator: pool indices written
 * as frames are caught). */
#define VK_FIRST_PFN 0x100u

#define VK_SLOTS 64u      /* commands in flight per engine */
#define VK_ERR_HIST 1024u /* failed fences remembered per engine */
#define VK_MAX_ENGINES 9u

/* Device memory behind a segment, the pool, or an engine's arena. */
enum { MEM_VIS = 0, MEM_INVIS, MEM_SYS, MEM_ZERO, MEM_FIXED };

struct vkmem {
	VkDeviceMemory mem;
	VkBuffer buf;
	VkDeviceAddress addr;
	uint8_t *cpu; /* mapped, or NULL */
	uint64_t size;
};

/* A piece of a translated range: bytes [off, off+len) of mem[buf]. */
struct vkchunk {
	uint32_t buf;
	bool dummy; /* the dummy page: reads see it, writes are dropped */
	uint64_t off, len;
};

struct vkruns {
	struct vkchunk *v;
	size_t n, cap;
};

struct vkslot {
	VkCommandBuffer cb;
	/* 0: never used. Stored (release) before the command is queued: a
	 * thread that sees the semaphore reach it must find the slot its own. */
	_Atomic uint64_t fence;
	uint64_t *result;    /* the job's result pointer, or NULL */
	uint32_t op;         /* enum vidmm_job_op, or UINT32_MAX for copy/fill */
	uint64_t seed;
	uint64_t arena_end;  /* the arena is free up to here once retired */
	struct vkmem staging; /* CHECKSUM: the bytes, hashed at retire */
};

struct vkqueue {
	VkQueue q;
	uint32_t family;
	pthread_mutex_t lock;
};

struct vkengine {
	uint32_t id;
	bool is_job;
	struct vkqueue *queue;
	pthread_mutex_t lock;
	VkCommandPool pool;
	struct vkslot slot[VK_SLOTS];
	VkSemaphore sem;        /* the fence timeline */
	uint64_t submitted;     /* under lock; read atomically by waiters */
	_Atomic uint64_t submitted_pub;
	pthread_mutex_t retire_lock;
	_Atomic uint64_t retired;
	/* Job engine: per-slot results (16 bytes each) then a ring of shader
	 * runs, host-visible, reached by device address. */
	struct vkmem args;
	uint64_t arena_head;    /* under lock */
	_Atomic uint64_t arena_tail;
	pthread_mutex_t err_lock;
	struct { uint64_t fence; int err; } errs[VK_ERR_HIST];
	uint32_t err_head, err_count;
	uint64_t err_lost_upto;
};

struct vktlb_ent {
	uint64_t tag; /* page index + 1; 0 empty */
	uint64_t pfn;
	uint32_t kind;
};

/* Walk outcomes (as the emulator's). */
enum { XL_OK = 0, XL_UNMAPPED, XL_BADTABLE, XL_BADFRAME };

struct vkchip {
	struct vidmm_profile prof;
	char clamps[512];
	char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE + 32];
	VkInstance inst;
	VkDebugUtilsMessengerEXT msgr;
	VkPhysicalDevice pd;
	VkDevice dev;
	struct vkqueue queues[2];
	uint32_t nqueues;
	struct vkmem mem[MEM_FIXED];
	uint32_t mtype[MEM_FIXED]; /* memory type of each */
	uint32_t page_size, page_shift, entry_bytes, per_table, per_table_shift;
	uint64_t local_size, pcie_base, pcie_size, pool_npages;
	_Atomic uint32_t regs[VK_NREGS];
	pthread_mutex_t tlb_lock;
	struct vktlb_ent *tlb;
	uint32_t tlb_mask;
	_Atomic uint64_t f_dummy, f_unmapped, f_stale, f_oor, f_copy_err;
	struct vkengine eng[VK_MAX_ENGINES];
	uint32_t n_copy, n_engines;
	VkShaderModule shader;
	VkPipelineLayout layout;
	VkPipeline pipe;
};

/* vk_device.c */
int vkd_alloc(struct vkchip *c, struct vkmem *m, uint64_t size, uint32_t type, bool map);
void vkd_free(struct vkchip *c, struct vkmem *m);
int vk_engines_start(struct vkchip *c, char *err, size_t len);
void vk_engines_stop(struct vkchip *c);

/* vk_mmu.c */
/* [addr, addr+size) as pieces of device memory (dummy pieces flagged: a
 * write drops them); 0, -EFAULT (outside every segment, a bad table or
 * frame: counted) or -ENOMEM. */
int vkm_translate(struct vkchip *c, uint64_t addr, uint64_t size, struct vkruns *out);
void vkm_runs_free(struct vkruns *r);
int vkm_walk_tables(struct vkchip *c, uint64_t idx, uint64_t *pfn);
uint32_t vkm_mmio_read(struct vkchip *c, uint32_t reg);
void vkm_mmio_write(struct vkchip *c, uint32_t reg, uint32_t v);

#define VK_CHECK_ERR(r) ((r) == VK_ERROR_OUT_OF_HOST_MEMORY || (r) == VK_ERROR_OUT_OF_DEVICE_MEMORY \
			 ? -ENOMEM : -EIO)

#endif /* VIDMM_VK_INTERNAL_H */
