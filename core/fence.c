/* SPDX-License-Identifier: MIT */
/*
 * fence.c - fences: per-engine monotonic values (the chip's timelines), the
 * per-allocation fence slot (last read and write fence per engine), "busy",
 * and waits with timeouts.
 *
 * Owns: the meaning of busy and every wait the core does on the GPU. Must
 * not: wait with vm->lock held - every wait here drops it first (the
 * original driver held its one global lock across GPU waits and stalled
 * every client behind one slow engine). Callers revalidate what they looked
 * at before the wait.
 */
#include <errno.h>
#include <time.h>

#include "internal.h"

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t nengines(const struct vidmm *vm)
{
	return vm->engines.n_copy + vm->engines.n_job;
}

uint64_t fence_timeout(const struct vidmm *vm)
{
	return vm->cfg.fence_timeout_ns ? vm->cfg.fence_timeout_ns : 2000000000ull;
}

bool alloc_busy_locked(struct vidmm *vm, struct vidmm_allocation *a)
{
	for (uint32_t e = 0; e < nengines(vm); e++) {
		uint64_t f = a->read_fence[e] > a->write_fence[e] ? a->read_fence[e] : a->write_fence[e];
		if (f && vm->chip->fence_completed(vm->chip_ctx, e) < f)
			return true;
	}
	/* Signalled, but a clear or pipelined page-in copy that failed is not
	 * done: issued again. */
	return clear_pending_locked(vm, a) || inflight_pending_locked(vm, a);
}

int engine_space_unlocked(struct vidmm *vm, uint32_t engine, uint64_t timeout_ns)
{
	uint64_t next = vm->chip->fence_completed(vm->chip_ctx, engine) + 1;
	int ret = fence_wait_unlocked(vm, engine, next, timeout_ns);

	/* -EINVAL: nothing was in flight any more (the ring drained
	 * meanwhile), so there is room now. */
	return ret == -EINVAL ? 0 : ret;
}

int fence_wait_unlocked(struct vidmm *vm, uint32_t engine, uint64_t value, uint64_t timeout_ns)
{
	int ret;

	if (vm->chip->fence_completed(vm->chip_ctx, engine) >= value)
		return 0;
	vm_unlock(vm);
	ret = vm->chip->fence_wait(vm->chip_ctx, engine, value, timeout_ns);
	vm_lock(vm);
	return ret;
}

int alloc_wait_idle_unlocked(struct vidmm *vm, struct vidmm_allocation *a, uint64_t timeout_ns)
{
	uint64_t want[VIDMM_MAX_ENGINES];
	uint32_t n = nengines(vm);
	uint64_t deadline = now_ns() + timeout_ns;

	/* Copy the slot first: a may be changed (re-submitted) while unlocked,
	 * and waiting for the fences seen now is what the caller asked. */
	for (uint32_t e = 0; e < n; e++)
		want[e] = a->read_fence[e] > a->write_fence[e] ? a->read_fence[e] : a->write_fence[e];
	for (uint32_t e = 0; e < n; e++) {
		if (!want[e])
			continue;
		uint64_t now = now_ns();
		int ret = fence_wait_unlocked(vm, e, want[e], deadline > now ? deadline - now : 0);
		if (ret)
			return ret;
	}
	return 0;
}

int vidmm_wait_fence(vidmm_t *vm, struct vidmm_fence f, uint64_t timeout_ns)
{
	int ret;

	if (!vm || f.engine >= nengines(vm))
		return -EINVAL;
	ret = vm->chip->fence_wait(vm->chip_ctx, f.engine, f.value, timeout_ns);
	/* Destroyed-while-busy allocations may be idle now. If the lock is
	 * busy, its holder reaps on its way out (vm_unlock sees reap_wanted):
	 * a client waiting for its own job must not queue behind another's
	 * paging. */
	if (ret == 0) {
		if (vm_trylock(vm)) {
			residency_reap_locked(vm);
			vm_unlock(vm);
		} else {
			atomic_store_explicit(&vm->reap_wanted, true, memory_order_relaxed);
		}
	}
	return ret;
}

int vidmm_fence_status(vidmm_t *vm, struct vidmm_fence f)
{
	if (!vm || f.engine >= nengines(vm))
		return -EINVAL;
	if (vm->chip->fence_completed(vm->chip_ctx, f.engine) < f.value) {
		/* Issued at all? A fence beyond the newest cannot signal. */
		vm_lock(vm);
		bool known = f.value <= vm->issued[f.engine];
		vm_unlock(vm);
		return known ? -EINPROGRESS : -EINVAL;
	}
	if (!vm->chip->fence_error)
		return 0;
	int err = vm->chip->fence_error(vm->chip_ctx, f.engine, f.value);
	return err == 0 || err == -ENODATA ? err : err == -EINVAL ? -EINVAL : -EIO;
}

bool vidmm_fence_signalled(vidmm_t *vm, struct vidmm_fence f)
{
	if (!vm || f.engine >= nengines(vm))
		return false;
	return vm->chip->fence_completed(vm->chip_ctx, f.engine) >= f.value;
}
