/* SPDX-License-Identifier: MIT */
/*
 * vk_engine.c - the Vulkan driver's engines and its chip-op table: command
 * slots, recording copies, fills and jobs from translated ranges, submitting
 * them on a queue with the engine's timeline semaphore, retiring completed
 * slots (job results, CHECKSUM's hash), and the fence ops.
 *
 * Owns: c->eng[], the job pipeline. Must not: translate by itself (vk_mmu.c)
 * or touch the instance and memory setup (vk_device.c). Locking:
 * vk_internal.h.
 *
 * Ordering: each command waits for its engine's previous fence (an engine
 * is in order, whatever the queue does) and, for engines on another queue,
 * for the fences already retired there (a memory dependency on what the
 * core saw complete: costs no wait). Each command buffer opens with a full
 * memory barrier (earlier work on the same queue) and closes with one
 * towards the host (the core reads what the GPU wrote once the fence is
 * seen).
 */
#include "vk_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#define RES_BYTES (VK_SLOTS * 16u)
#define OP_NONE UINT32_MAX

/* A shader run (shaders/job.comp's struct Run). */
struct vkrun {
	uint64_t addr, off, len, word_base, dummy;
};

struct push {
	uint64_t runs, result, seed, total_words;
	uint32_t nruns, op;
};

static const uint32_t job_spv[] =
#include "job.spv.h"
	;

static struct vkengine *get_engine(struct vkchip *c, uint32_t id)
{
	return id < c->n_engines ? &c->eng[id] : NULL;
}

/* ---- retiring ---- */

static void record_error(struct vkengine *e, uint64_t fence, int err)
{
	pthread_mutex_lock(&e->err_lock);
	if (e->err_count == VK_ERR_HIST) {
		e->err_lost_upto = e->errs[e->err_head].fence;
		e->err_head = (e->err_head + 1) % VK_ERR_HIST;
		e->err_count--;
	}
	uint32_t s = (e->err_head + e->err_count) % VK_ERR_HIST;
	e->errs[s].fence = fence;
	e->errs[s].err = err;
	e->err_count++;
	pthread_mutex_unlock(&e->err_lock);
}

/* Finish every slot the GPU has completed: results reach the job's pointer
 * before anyone is told the fence completed. Returns the retired fence. */
static uint64_t retire(struct vkchip *c, struct vkengine *e)
{
	uint64_t done = 0;

	if (vkGetSemaphoreCounterValue(c->dev, e->sem, &done) != VK_SUCCESS)
		return atomic_load_explicit(&e->retired, memory_order_acquire);
	if (done <= atomic_load_explicit(&e->retired, memory_order_acquire))
		return atomic_load_explicit(&e->retired, memory_order_acquire);
	pthread_mutex_lock(&e->retire_lock);
	/* Another thread may have retired past what this one read before the
	 * lock: never go back (slots would be retired twice, and a result
	 * written again after its owner had read it). */
	uint64_t from = atomic_load_explicit(&e->retired, memory_order_relaxed);
	if (done <= from) {
		pthread_mutex_unlock(&e->retire_lock);
		return from;
	}
	for (uint64_t f = from + 1; f <= done; f++) {
		struct vkslot *s = &e->slot[f % VK_SLOTS];
		if (atomic_load_explicit(&s->fence, memory_order_acquire) != f)
			continue;
		if (s->result) {
			uint64_t v = 0;
			if (s->op == VIDMM_JOB_VERIFY)
				memcpy(&v, e->args.cpu + (f % VK_SLOTS) * 16, 4), v &= 0xffffffffu;
			else if (s->op == VIDMM_JOB_CHECKSUM)
				v = XXH3_64bits_withSeed(s->staging.cpu, s->staging.cpu ? s->staging.size : 0,
							 s->seed);
			*s->result = v;
			s->result = NULL;
		}
		if (s->staging.buf)
			vkd_free(c, &s->staging);
		if (e->is_job)
			atomic_store_explicit(&e->arena_tail, s->arena_end, memory_order_release);
	}
	atomic_store_explicit(&e->retired, done, memory_order_release);
	pthread_mutex_unlock(&e->retire_lock);
	return done;
}

/* ---- recording ---- */

static void barrier(VkCommandBuffer cb, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access)
{
	VkMemoryBarrier b = { .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
			      .srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT,
			      .dstAccessMask = dst_access };
	vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, dst_stage, 0, 1, &b, 0, NULL,
			     0, NULL);
}

static void begin_cb(VkCommandBuffer cb)
{
	VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
					.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
	vkResetCommandBuffer(cb, 0);
	vkBeginCommandBuffer(cb, &bi);
	barrier(cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
		VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT);
}

/* With e->lock held: the slot of the next fence, its command buffer begun;
 * -EAGAIN while that slot's previous command is in flight. */
static int begin(struct vkchip *c, struct vkengine *e, struct vkslot **out)
{
	uint64_t v = e->submitted + 1;
	struct vkslot *s = &e->slot[v % VK_SLOTS];

	uint64_t was = atomic_load_explicit(&s->fence, memory_order_relaxed);
	if (was && was > retire(c, e))
		return -EAGAIN;
	s->result = NULL;
	s->op = OP_NONE;
	s->arena_end = e->arena_head;
	begin_cb(s->cb);
	*out = s;
	return 0;
}

/*
 * A dependency whose command failed (chip.h: the failure propagates). Every
 * failure here is known when its command is queued (a recording that could
 * not translate), so the history answers before the fence signals. err_lock
 * is a leaf: taking another engine's under e->lock cannot deadlock.
 */
static bool dep_failed(struct vkchip *c, const struct vidmm_chip_dep *d)
{
	struct vkengine *o = get_engine(c, d->engine);
	bool failed = false;

	pthread_mutex_lock(&o->err_lock);
	for (uint32_t i = 0; i < o->err_count; i++)
		if (o->errs[(o->err_head + i) % VK_ERR_HIST].fence == d->fence)
			failed = true;
	if (d->fence && d->fence <= o->err_lost_upto)
		failed = true; /* unknown: the safe answer */
	pthread_mutex_unlock(&o->err_lock);
	return failed;
}

/* Every engine named exists and every fence was issued (chip.h). */
static int deps_check(struct vkchip *c, const struct vidmm_chip_deps *deps)
{
	if (!deps)
		return 0;
	if (deps->n > VIDMM_CHIP_MAX_DEPS)
		return -EINVAL;
	for (uint32_t i = 0; i < deps->n; i++) {
		struct vkengine *o = get_engine(c, deps->d[i].engine);
		if (!o || deps->d[i].fence > atomic_load_explicit(&o->submitted_pub,
								  memory_order_acquire))
			return -EINVAL;
	}
	return 0;
}

/* With e->lock held: queue the slot's command as fence submitted + 1, after
 * the fences in deps (a wait on each engine's timeline semaphore). A
 * recording that failed (err: -EFAULT, a bad translation) or a failed
 * dependency (-ECANCELED) is dropped and an empty command signals the fence
 * instead, its error kept for fence_error. */
static int finish(struct vkchip *c, struct vkengine *e, struct vkslot *s, int err,
		  const struct vidmm_chip_deps *deps, uint64_t *fence)
{
	uint64_t v = e->submitted + 1;
	VkSemaphore ws[VK_MAX_ENGINES + VIDMM_CHIP_MAX_DEPS];
	uint64_t wv[VK_MAX_ENGINES + VIDMM_CHIP_MAX_DEPS];
	VkPipelineStageFlags wst[VK_MAX_ENGINES + VIDMM_CHIP_MAX_DEPS];
	uint32_t nw = 0;

	for (uint32_t i = 0; deps && i < deps->n && !err; i++)
		if (dep_failed(c, &deps->d[i]))
			err = -ECANCELED;
	if (err) {
		vkEndCommandBuffer(s->cb);
		begin_cb(s->cb);
		if (s->staging.buf)
			vkd_free(c, &s->staging);
		s->op = OP_NONE;
	}
	barrier(s->cb, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT | VK_ACCESS_HOST_WRITE_BIT);
	vkEndCommandBuffer(s->cb);
	ws[nw] = e->sem;
	wv[nw] = v - 1;
	wst[nw++] = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
	for (uint32_t i = 0; i < c->n_engines; i++) {
		struct vkengine *o = &c->eng[i];
		uint64_t r = atomic_load_explicit(&o->retired, memory_order_acquire);
		if (o == e || o->queue == e->queue || !r)
			continue;
		ws[nw] = o->sem;
		wv[nw] = r;
		wst[nw++] = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
	}
	for (uint32_t i = 0; deps && i < deps->n; i++) {
		if (deps->d[i].engine == e->id || !deps->d[i].fence)
			continue; /* ring order, or nothing */
		ws[nw] = c->eng[deps->d[i].engine].sem;
		wv[nw] = deps->d[i].fence;
		wst[nw++] = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
	}
	VkTimelineSemaphoreSubmitInfo ti = { .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
					     .waitSemaphoreValueCount = nw, .pWaitSemaphoreValues = wv,
					     .signalSemaphoreValueCount = 1, .pSignalSemaphoreValues = &v };
	VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .pNext = &ti,
			    .waitSemaphoreCount = nw, .pWaitSemaphores = ws,
			    .pWaitDstStageMask = wst, .commandBufferCount = 1,
			    .pCommandBuffers = &s->cb, .signalSemaphoreCount = 1,
			    .pSignalSemaphores = &e->sem };
	/* The slot is v's before the GPU can signal v: another thread's
	 * retire may see the semaphore reach v before this one returns from
	 * vkQueueSubmit, and must then find the slot (and its result pointer
	 * and staging) v's. Storing it afterwards lost CHECKSUM results under
	 * four fuzz threads. */
	uint64_t was = atomic_load_explicit(&s->fence, memory_order_relaxed);
	atomic_store_explicit(&s->fence, v, memory_order_release);
	pthread_mutex_lock(&e->queue->lock);
	VkResult r = vkQueueSubmit(e->queue->q, 1, &si, VK_NULL_HANDLE);
	pthread_mutex_unlock(&e->queue->lock);
	if (r != VK_SUCCESS) {
		atomic_store_explicit(&s->fence, was, memory_order_relaxed);
		if (s->staging.buf)
			vkd_free(c, &s->staging);
		return VK_CHECK_ERR(r);
	}
	e->submitted = v;
	atomic_store_explicit(&e->submitted_pub, v, memory_order_release);
	if (err) {
		record_error(e, v, err);
		atomic_fetch_add_explicit(&c->f_copy_err, 1, memory_order_relaxed);
	}
	if (fence)
		*fence = v;
	return 0;
}

/* Copy regions between two buffers, flushed whenever the pair changes. */
struct regions {
	VkBufferCopy *v;
	size_t n, cap;
	uint32_t src, dst;
};

static int region_add(struct vkchip *c, VkCommandBuffer cb, struct regions *g, uint32_t src,
		      uint32_t dst, VkBufferCopy r)
{
	if (g->n && (g->src != src || g->dst != dst)) {
		vkCmdCopyBuffer(cb, c->mem[g->src].buf, c->mem[g->dst].buf, (uint32_t)g->n, g->v);
		g->n = 0;
	}
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 16;
		VkBufferCopy *v = realloc(g->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		g->v = v;
		g->cap = cap;
	}
	g->src = src;
	g->dst = dst;
	g->v[g->n++] = r;
	return 0;
}

static void region_flush(struct vkchip *c, VkCommandBuffer cb, struct regions *g)
{
	if (g->n)
		vkCmdCopyBuffer(cb, c->mem[g->src].buf, c->mem[g->dst].buf, (uint32_t)g->n, g->v);
	g->n = 0;
}

/* Local to overlapping local memory in one buffer: memmove, in pieces no
 * longer than the distance, each after the previous one's writes. */
static void copy_overlapping(VkCommandBuffer cb, VkBuffer b, uint64_t dst, uint64_t src,
			     uint64_t size)
{
	uint64_t d = dst > src ? dst - src : src - dst;
	for (uint64_t done = 0; done < size;) {
		uint64_t n = size - done < d ? size - done : d;
		uint64_t at = dst > src ? size - done - n : done;
		VkBufferCopy r = { src + at, dst + at, n };
		vkCmdCopyBuffer(cb, b, b, 1, &r);
		barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
			VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
		done += n;
	}
}

/* Record dst <- src (GPU addresses); dst_mem set: into that driver buffer
 * at dst instead (CHECKSUM's staging). */
static int record_copy(struct vkchip *c, VkCommandBuffer cb, uint64_t dst, uint64_t src,
		       uint64_t size, const struct vkmem *dst_mem)
{
	struct vkruns s = { 0 }, d = { 0 };
	struct regions g = { 0 };
	int ret;

	if (!size)
		return 0;
	ret = vkm_translate(c, src, size, &s);
	if (!ret && !dst_mem)
		ret = vkm_translate(c, dst, size, &d);
	if (ret)
		goto out;
	if (!dst_mem && s.n == 1 && d.n == 1 && s.v[0].buf == d.v[0].buf && !s.v[0].dummy &&
	    !d.v[0].dummy && s.v[0].off < d.v[0].off + size && d.v[0].off < s.v[0].off + size) {
		if (s.v[0].off != d.v[0].off)
			copy_overlapping(cb, c->mem[s.v[0].buf].buf, d.v[0].off, s.v[0].off, size);
		goto out;
	}
	size_t si = 0, di = 0;
	uint64_t so = 0, dof = 0, at = 0;
	while (at < size) {
		const struct vkchunk *sc = &s.v[si];
		uint64_t n = sc->len - so;
		if (!dst_mem) {
			const struct vkchunk *dc = &d.v[di];
			if (dc->len - dof < n)
				n = dc->len - dof;
			if (!dc->dummy)
				ret = region_add(c, cb, &g, sc->buf, dc->buf,
						 (VkBufferCopy){ sc->off + so, dc->off + dof, n });
			if ((dof += n) == dc->len)
				di++, dof = 0;
		} else {
			VkBufferCopy r = { sc->off + so, dst + at, n };
			region_flush(c, cb, &g);
			vkCmdCopyBuffer(cb, c->mem[sc->buf].buf, dst_mem->buf, 1, &r);
		}
		if (ret)
			goto out;
		if ((so += n) == sc->len)
			si++, so = 0;
		at += n;
	}
	region_flush(c, cb, &g);
out:
	free(g.v);
	vkm_runs_free(&s);
	vkm_runs_free(&d);
	return ret;
}

/* The runs of a FILL, VERIFY or TOUCH job: every ref translated (TOUCH: one
 * word per page). *out is malloc'd. */
static int job_runs(struct vkchip *c, const struct vidmm_chip_job *j, struct vkrun **out,
		    size_t *nout, uint64_t *words)
{
	struct vkruns t = { 0 };
	struct vkrun *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t wb = 0;
	int ret = 0;

	for (uint32_t i = 0; i < j->nrefs && !ret; i++) {
		const struct vidmm_chip_job_ref *r = &j->refs[i];
		uint64_t a = r->gpu_addr, end = r->gpu_addr + r->size;
		while (a < end && !ret) {
			uint64_t len = end - a;
			if (j->op == VIDMM_JOB_TOUCH)
				len = len < 8 ? len : 8;
			ret = vkm_translate(c, a, len, &t);
			uint64_t off = a - r->gpu_addr;
			for (size_t k = 0; k < t.n && !ret; k++) {
				if (n == cap) {
					cap = cap ? 2 * cap : 64;
					struct vkrun *nv = realloc(v, cap * sizeof(*nv));
					if (!nv) {
						ret = -ENOMEM;
						break;
					}
					v = nv;
				}
				const struct vkchunk *ch = &t.v[k];
				v[n++] = (struct vkrun){ c->mem[ch->buf].addr + ch->off, off, ch->len, wb,
							 ch->dummy };
				wb += (ch->len + 7) / 8;
				off += ch->len;
			}
			a = j->op == VIDMM_JOB_TOUCH ? (a | (c->page_size - 1)) + 1 : end;
		}
	}
	vkm_runs_free(&t);
	if (ret) {
		free(v);
		return ret;
	}
	*out = v;
	*nout = n;
	*words = wb;
	return 0;
}

/* With e->lock held: bytes of the job arena, or -EAGAIN until older jobs
 * retire. */
static int arena_get(struct vkchip *c, struct vkengine *e, uint64_t need, uint64_t *off)
{
	uint64_t size = e->args.size - RES_BYTES, head = e->arena_head;

	if (need > size)
		return -E2BIG;
	if (head % size + need > size)
		head += size - head % size;
	if (head + need - atomic_load_explicit(&e->arena_tail, memory_order_acquire) > size) {
		retire(c, e);
		if (head + need - atomic_load_explicit(&e->arena_tail, memory_order_acquire) > size)
			return -EAGAIN;
	}
	*off = RES_BYTES + head % size;
	e->arena_head = head + need;
	return 0;
}

static int record_job(struct vkchip *c, struct vkengine *e, struct vkslot *s,
		      const struct vidmm_chip_job *j)
{
	uint64_t slot = (e->submitted + 1) % VK_SLOTS;

	s->op = j->op;
	s->seed = j->seed;
	s->result = j->result;
	switch (j->op) {
	case VIDMM_JOB_COPY: {
		uint64_t n = j->refs[0].size < j->refs[1].size ? j->refs[0].size : j->refs[1].size;
		return record_copy(c, s->cb, j->refs[1].gpu_addr, j->refs[0].gpu_addr, n, NULL);
	}
	case VIDMM_JOB_CHECKSUM: {
		uint64_t total = 0;
		for (uint32_t i = 0; i < j->nrefs; i++)
			total += j->refs[i].size;
		if (!total)
			return 0;
		/* host-visible and coherent: the pool's memory type */
		int ret = vkd_alloc(c, &s->staging, total, c->mtype[MEM_SYS], true);
		uint64_t at = 0;
		for (uint32_t i = 0; i < j->nrefs && !ret; i++) {
			ret = record_copy(c, s->cb, at, j->refs[i].gpu_addr, j->refs[i].size,
					  &s->staging);
			at += j->refs[i].size;
		}
		return ret;
	}
	default:
		break;
	}
	struct vkrun *runs;
	size_t n;
	uint64_t words, off = 0;
	int ret = job_runs(c, j, &runs, &n, &words);
	if (ret)
		return ret;
	if (n)
		ret = arena_get(c, e, n * sizeof(*runs), &off);
	if (!ret) {
		memset(e->args.cpu + slot * 16, 0, 16);
		if (n) {
			memcpy(e->args.cpu + off, runs, n * sizeof(*runs));
			s->arena_end = e->arena_head;
			struct push pc = { e->args.addr + off, e->args.addr + slot * 16, j->seed, words,
					   (uint32_t)n, (uint32_t)j->op };
			uint64_t groups = (words + 63) / 64;
			vkCmdBindPipeline(s->cb, VK_PIPELINE_BIND_POINT_COMPUTE, c->pipe);
			vkCmdPushConstants(s->cb, c->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc),
					   &pc);
			vkCmdDispatch(s->cb, (uint32_t)(groups < 65535 ? groups : 65535), 1, 1);
		}
	}
	free(runs);
	return ret;
}

/* ---- chip ops ---- */

static int op_copy(void *ctx, uint32_t engine, uint64_t dst, uint64_t src, uint64_t size,
		   const struct vidmm_chip_deps *deps, uint64_t *fence)
{
	struct vkchip *c = ctx;
	struct vkengine *e = get_engine(c, engine);
	struct vkslot *s;
	int ret;

	if (!e || deps_check(c, deps))
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	ret = begin(c, e, &s);
	if (!ret) {
		int err = record_copy(c, s->cb, dst, src, size, NULL);
		ret = err == -ENOMEM ? -ENOMEM : finish(c, e, s, err, deps, fence);
		if (err == -ENOMEM)
			vkEndCommandBuffer(s->cb);
	}
	pthread_mutex_unlock(&e->lock);
	return ret;
}

static int op_fill(void *ctx, uint32_t engine, uint64_t dst, uint64_t size, uint32_t pattern,
		   const struct vidmm_chip_deps *deps, uint64_t *fence)
{
	struct vkchip *c = ctx;
	struct vkengine *e = get_engine(c, engine);
	struct vkruns d = { 0 };
	struct vkslot *s;
	int ret;

	if (!e || (dst & 3) || (size & 3) || deps_check(c, deps))
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	ret = begin(c, e, &s);
	if (!ret) {
		int err = vkm_translate(c, dst, size, &d);
		for (size_t i = 0; i < d.n && !err; i++)
			if (!d.v[i].dummy)
				vkCmdFillBuffer(s->cb, c->mem[d.v[i].buf].buf, d.v[i].off, d.v[i].len,
						pattern);
		ret = err == -ENOMEM ? -ENOMEM : finish(c, e, s, err, deps, fence);
		if (err == -ENOMEM)
			vkEndCommandBuffer(s->cb);
	}
	pthread_mutex_unlock(&e->lock);
	vkm_runs_free(&d);
	return ret;
}

static int op_submit_job(void *ctx, uint32_t engine, const struct vidmm_chip_job *job,
			 const struct vidmm_chip_deps *deps, uint64_t *fence)
{
	struct vkchip *c = ctx;
	struct vkengine *e = get_engine(c, engine);
	struct vkslot *s;
	int ret;

	if (!e || !e->is_job || !job || job->nrefs > VIDMM_JOB_MAX_REFS ||
	    (unsigned)job->op > VIDMM_JOB_TOUCH || (job->op == VIDMM_JOB_COPY && job->nrefs < 2) ||
	    deps_check(c, deps))
		return -EINVAL;
	for (uint32_t i = 0; i < job->nrefs; i++)
		if (job->refs[i].gpu_addr & 7)
			return -EINVAL;
	pthread_mutex_lock(&e->lock);
	ret = begin(c, e, &s);
	if (!ret) {
		int err = record_job(c, e, s, job);
		if (err == -ENOMEM || err == -EAGAIN || err == -E2BIG) {
			vkEndCommandBuffer(s->cb);
			if (s->staging.buf)
				vkd_free(c, &s->staging);
			s->result = NULL;
			e->arena_head = s->arena_end;
			ret = err == -E2BIG ? -ENOMEM : err;
		} else {
			ret = finish(c, e, s, err, deps, fence);
		}
	}
	pthread_mutex_unlock(&e->lock);
	return ret;
}

static uint64_t op_fence_completed(void *ctx, uint32_t engine)
{
	struct vkchip *c = ctx;
	struct vkengine *e = get_engine(c, engine);

	return e ? retire(c, e) : 0;
}

static int op_fence_wait(void *ctx, uint32_t engine, uint64_t fence, uint64_t timeout_ns)
{
	struct vkchip *c = ctx;
	struct vkengine *e = get_engine(c, engine);

	if (!e || fence > atomic_load_explicit(&e->submitted_pub, memory_order_acquire))
		return -EINVAL;
	if (fence <= atomic_load_explicit(&e->retired, memory_order_acquire))
		return 0;
	VkSemaphoreWaitInfo wi = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
				   .semaphoreCount = 1, .pSemaphores = &e->sem, .pValues = &fence };
	VkResult r = vkWaitSemaphores(c->dev, &wi, timeout_ns);
	if (r == VK_TIMEOUT)
		return -ETIMEDOUT;
	if (r != VK_SUCCESS)
		return -EIO;
	retire(c, e);
	return 0;
}

static int op_fence_error(void *ctx, uint32_t engine, uint64_t fence)
{
	struct vkchip *c = ctx;
	struct vkengine *e = get_engine(c, engine);
	int ret = 0;

	if (!e || fence > atomic_load_explicit(&e->submitted_pub, memory_order_acquire))
		return -EINVAL;
	if (fence > retire(c, e))
		return -EINPROGRESS;
	pthread_mutex_lock(&e->err_lock);
	if (fence <= e->err_lost_upto)
		ret = -ENODATA;
	for (uint32_t i = 0; i < e->err_count; i++) {
		uint32_t k = (e->err_head + i) % VK_ERR_HIST;
		if (e->errs[k].fence == fence)
			ret = e->errs[k].err;
	}
	pthread_mutex_unlock(&e->err_lock);
	return ret;
}

static int op_query_segments(void *ctx, struct vidmm_chip_segment_desc *out, uint32_t max,
			     uint32_t *count)
{
	struct vkchip *c = ctx;
	return chip_layout_segments(&c->prof, c->pcie_base, out, max, count);
}

static int op_query_gart(void *ctx, struct vidmm_chip_gart_geometry *out)
{
	struct vkchip *c = ctx;

	if (!out)
		return -EINVAL;
	chip_layout_gart(&c->prof, c->pcie_base, out);
	return 0;
}

static int op_query_sysmem(void *ctx, struct vidmm_chip_sysmem *out)
{
	struct vkchip *c = ctx;

	if (!out)
		return -EINVAL;
	/* frame 0's address: the pool starts at frame VK_FIRST_PFN */
	out->cpu = (void *)((uintptr_t)c->mem[MEM_SYS].cpu - ((uintptr_t)VK_FIRST_PFN << c->page_shift));
	out->first_pfn = VK_FIRST_PFN;
	out->npages = c->pool_npages;
	out->page_shift = c->page_shift;
	return 0;
}

static int op_query_engines(void *ctx, struct vidmm_chip_engines *out)
{
	struct vkchip *c = ctx;

	if (!out)
		return -EINVAL;
	out->n_copy = c->n_copy;
	out->n_job = c->n_engines - c->n_copy;
	return 0;
}

static uint32_t op_mmio_read32(void *ctx, uint32_t reg)
{
	return vkm_mmio_read(ctx, reg);
}

static void op_mmio_write32(void *ctx, uint32_t reg, uint32_t value)
{
	vkm_mmio_write(ctx, reg, value);
}

static void *op_map_local(void *ctx, uint64_t gpu_addr, uint64_t size)
{
	struct vkchip *c = ctx;

	if (gpu_addr > c->prof.local_visible || size > c->prof.local_visible - gpu_addr)
		return NULL;
	return c->mem[MEM_VIS].cpu + gpu_addr;
}

static void op_unmap_local(void *ctx, void *cpu, uint64_t size)
{
	/* The visible memory stays mapped for the chip's life. */
	(void)ctx;
	(void)cpu;
	(void)size;
}

static int op_fault_report(void *ctx, struct vidmm_chip_faults *out)
{
	struct vkchip *c = ctx;

	if (!out)
		return -EINVAL;
	out->dummy_page_accesses = atomic_load_explicit(&c->f_dummy, memory_order_relaxed);
	out->unmapped_accesses = atomic_load_explicit(&c->f_unmapped, memory_order_relaxed);
	out->stale_tlb_hits = atomic_load_explicit(&c->f_stale, memory_order_relaxed);
	out->out_of_range = atomic_load_explicit(&c->f_oor, memory_order_relaxed);
	out->copy_errors = atomic_load_explicit(&c->f_copy_err, memory_order_relaxed);
	return 0;
}

const struct vidmm_chip_ops vk_chip_ops = {
	.name = "vulkan",
	.query_segments = op_query_segments,
	.query_gart = op_query_gart,
	.query_sysmem = op_query_sysmem,
	.query_engines = op_query_engines,
	.mmio_read32 = op_mmio_read32,
	.mmio_write32 = op_mmio_write32,
	.map_local = op_map_local,
	.unmap_local = op_unmap_local,
	.copy = op_copy,
	.fill = op_fill,
	.submit_job = op_submit_job,
	.fence_completed = op_fence_completed,
	.fence_wait = op_fence_wait,
	.fence_error = op_fence_error,
	.fault_report = op_fault_report,
};

int vk_chip_walk(struct vkchip *c, uint64_t gpu_addr, uint64_t *pfn)
{
	uint64_t f = 0;
	if (gpu_addr < c->pcie_base || gpu_addr - c->pcie_base >= c->pcie_size)
		return -EFAULT;
	switch (vkm_walk_tables(c, (gpu_addr - c->pcie_base) >> c->page_shift, &f)) {
	case XL_UNMAPPED:
		return -ENOENT;
	case XL_BADTABLE:
		return -EFAULT;
	default:
		if (pfn)
			*pfn = f;
		return 0;
	}
}

/* ---- the raw reference ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The raw reference's command buffer, reset and begun. */
static void raw_begin(VkCommandBuffer cb)
{
	VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
					.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };

	vkResetCommandBuffer(cb, 0);
	vkBeginCommandBuffer(cb, &bi);
}

/* End cb, submit it with fence, and wait for it on the host. */
static VkResult raw_run(struct vkchip *c, struct vkqueue *q, VkCommandBuffer cb, VkFence fence)
{
	VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1,
			    .pCommandBuffers = &cb };
	VkResult r = vkEndCommandBuffer(cb);

	if (r != VK_SUCCESS)
		return r;
	pthread_mutex_lock(&q->lock);
	r = vkQueueSubmit(q->q, 1, &si, fence);
	pthread_mutex_unlock(&q->lock);
	if (r == VK_SUCCESS)
		r = vkWaitForFences(c->dev, 1, &fence, VK_TRUE, UINT64_MAX);
	vkResetFences(c->dev, 1, &fence);
	return r;
}

/* One submit of buffers [first, first + count) and a host wait. */
static VkResult raw_submit(struct vkchip *c, struct vkqueue *q, VkCommandBuffer cb, VkFence fence,
			   const struct vkmem *src, const struct vkmem *dst, uint64_t size,
			   int first, int count)
{
	raw_begin(cb);
	/* The fill (or the previous pass) in an earlier submit, made visible to
	 * this copy, as the manager's own command buffers begin (begin_cb). */
	barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
		VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
	for (int i = first; i < first + count; i++) {
		VkBufferCopy reg = { (uint64_t)i * size, (uint64_t)i * size, size };
		vkCmdCopyBuffer(cb, src->buf, dst->buf, 1, &reg);
	}
	return raw_run(c, q, cb, fence);
}

/* Fill both scratch buffers with a non-zero pattern, one submit and a host
 * wait: every page then holds data of its own. */
static VkResult raw_fill(struct vkchip *c, struct vkqueue *q, VkCommandBuffer cb, VkFence fence,
			 const struct vkmem *a, const struct vkmem *b)
{
	raw_begin(cb);
	vkCmdFillBuffer(cb, a->buf, 0, VK_WHOLE_SIZE, 0x5a5a5a5au);
	vkCmdFillBuffer(cb, b->buf, 0, VK_WHOLE_SIZE, 0xa5a5a5a5u);
	return raw_run(c, q, cb, fence);
}

int vk_chip_raw_copy_gbps(struct vkchip *c, uint64_t size, int n, int reps, bool to_sys,
			  bool one_each, double *gbps)
{
	struct vkmem loc, sys;
	struct vkqueue *q = c->eng[0].queue;
	VkCommandPool pool = VK_NULL_HANDLE;
	VkCommandBuffer cb;
	VkFence fence = VK_NULL_HANDLE;
	uint64_t total = size * (uint64_t)n, t[64];
	int ret;

	if (n < 1 || reps < 1 || reps > 64)
		return -EINVAL;
	ret = vkd_alloc(c, &loc, total, c->mtype[c->mem[MEM_INVIS].buf ? MEM_INVIS : MEM_VIS], false);
	if (ret)
		return ret;
	ret = vkd_alloc(c, &sys, total, c->mtype[MEM_SYS], false);
	if (ret) {
		vkd_free(c, &loc);
		return ret;
	}
	VkCommandPoolCreateInfo pi = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
				       .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
				       .queueFamilyIndex = q->family };
	VkCommandBufferAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
					   .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
					   .commandBufferCount = 1 };
	VkFenceCreateInfo fi = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
	VkResult r = vkCreateCommandPool(c->dev, &pi, NULL, &pool);
	if (r == VK_SUCCESS) {
		ai.commandPool = pool;
		r = vkAllocateCommandBuffers(c->dev, &ai, &cb);
	}
	if (r == VK_SUCCESS)
		r = vkCreateFence(c->dev, &fi, NULL, &fence);
	const struct vkmem *src = to_sys ? &loc : &sys, *dst = to_sys ? &sys : &loc;
	/*
	 * Write every page of both buffers first. Device memory that nothing
	 * has written is, on lavapipe, anonymous memory still mapped to the
	 * kernel's zero page: a copy out of it reads one cached 4 KiB page and
	 * ran at 10-27 GB/s, twice the memory's speed, where the manager's
	 * copies read memory that holds data (measured: the same raw copy out
	 * of the invisible segment's own, written memory ran at the manager's
	 * 5-7 GB/s). Then one untimed pass, as before.
	 */
	if (r == VK_SUCCESS)
		r = raw_fill(c, q, cb, fence, &loc, &sys);
	for (int k = -1; k < reps && r == VK_SUCCESS; k++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (int i = 0; i < (one_each ? n : 1) && r == VK_SUCCESS; i++)
			r = raw_submit(c, q, cb, fence, src, dst, size, one_each ? i : 0,
				       one_each ? 1 : n);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (k >= 0)
			t[k] = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ull +
			       (uint64_t)(b.tv_nsec - a.tv_nsec);
	}
	if (r == VK_SUCCESS) {
		qsort(t, (size_t)reps, sizeof(t[0]), cmp_u64);
		*gbps = (double)total / (double)t[reps / 2];
	}
	if (fence)
		vkDestroyFence(c->dev, fence, NULL);
	if (pool)
		vkDestroyCommandPool(c->dev, pool, NULL);
	vkd_free(c, &sys);
	vkd_free(c, &loc);
	return r == VK_SUCCESS ? 0 : VK_CHECK_ERR(r);
}

/* ---- engines ---- */

static int engine_start(struct vkchip *c, struct vkengine *e, uint32_t id, bool is_job,
			struct vkqueue *q)
{
	e->id = id;
	e->is_job = is_job;
	e->queue = q;
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->retire_lock, NULL);
	pthread_mutex_init(&e->err_lock, NULL);
	atomic_init(&e->retired, 0);
	atomic_init(&e->submitted_pub, 0);
	atomic_init(&e->arena_tail, 0);
	VkCommandPoolCreateInfo pi = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
				       .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
				       .queueFamilyIndex = q->family };
	VkResult r = vkCreateCommandPool(c->dev, &pi, NULL, &e->pool);
	if (r != VK_SUCCESS)
		return VK_CHECK_ERR(r);
	VkCommandBuffer cbs[VK_SLOTS];
	VkCommandBufferAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
					   .commandPool = e->pool,
					   .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
					   .commandBufferCount = VK_SLOTS };
	r = vkAllocateCommandBuffers(c->dev, &ai, cbs);
	if (r != VK_SUCCESS)
		return VK_CHECK_ERR(r);
	for (uint32_t i = 0; i < VK_SLOTS; i++)
		e->slot[i].cb = cbs[i];
	VkSemaphoreTypeCreateInfo ti = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
					 .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE };
	VkSemaphoreCreateInfo si = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &ti };
	r = vkCreateSemaphore(c->dev, &si, NULL, &e->sem);
	if (r != VK_SUCCESS)
		return VK_CHECK_ERR(r);
	if (is_job) {
		/* Room for a job over every page of the aperture twice over. */
		uint64_t runs = 2 * ((c->pcie_size >> c->page_shift) + 2 * VIDMM_JOB_MAX_REFS);
		uint64_t size = RES_BYTES + runs * sizeof(struct vkrun);
		return vkd_alloc(c, &e->args, size < (1u << 20) ? (1u << 20) : size, c->mtype[MEM_SYS],
				 true);
	}
	return 0;
}

int vk_engines_start(struct vkchip *c, char *err, size_t len)
{
	struct vkqueue *copyq = &c->queues[c->nqueues > 1 ? 1 : 0];
	int ret;

	c->n_copy = c->prof.copy_engines < VK_MAX_ENGINES - 1 ? c->prof.copy_engines
							       : VK_MAX_ENGINES - 1;
	c->n_engines = c->n_copy + 1;
	VkShaderModuleCreateInfo mi = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
					.codeSize = sizeof(job_spv), .pCode = job_spv };
	VkPushConstantRange pr = { VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(struct push) };
	VkPipelineLayoutCreateInfo li = { .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
					  .pushConstantRangeCount = 1, .pPushConstantRanges = &pr };
	VkResult r = vkCreateShaderModule(c->dev, &mi, NULL, &c->shader);
	if (r == VK_SUCCESS)
		r = vkCreatePipelineLayout(c->dev, &li, NULL, &c->layout);
	if (r == VK_SUCCESS) {
		VkComputePipelineCreateInfo ci = {
			.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
			.stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
				   .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = c->shader,
				   .pName = "main" },
			.layout = c->layout };
		r = vkCreateComputePipelines(c->dev, VK_NULL_HANDLE, 1, &ci, NULL, &c->pipe);
	}
	if (r != VK_SUCCESS) {
		snprintf(err, len, "%s: the job shader's pipeline failed (%d)", c->name, (int)r);
		return VK_CHECK_ERR(r);
	}
	for (uint32_t i = 0; i < c->n_engines; i++) {
		bool job = i == c->n_copy;
		ret = engine_start(c, &c->eng[i], i, job, job ? &c->queues[0] : copyq);
		if (ret) {
			snprintf(err, len, "%s: engine %u: %s", c->name, i, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void vk_engines_stop(struct vkchip *c)
{
	vkDeviceWaitIdle(c->dev);
	for (uint32_t i = 0; i < c->n_engines; i++) {
		struct vkengine *e = &c->eng[i];
		if (e->sem)
			retire(c, e);
		for (uint32_t k = 0; k < VK_SLOTS; k++)
			if (e->slot[k].staging.buf)
				vkd_free(c, &e->slot[k].staging);
		vkd_free(c, &e->args);
		if (e->sem)
			vkDestroySemaphore(c->dev, e->sem, NULL);
		if (e->pool)
			vkDestroyCommandPool(c->dev, e->pool, NULL);
		pthread_mutex_destroy(&e->lock);
		pthread_mutex_destroy(&e->retire_lock);
		pthread_mutex_destroy(&e->err_lock);
	}
	if (c->pipe)
		vkDestroyPipeline(c->dev, c->pipe, NULL);
	if (c->layout)
		vkDestroyPipelineLayout(c->dev, c->layout, NULL);
	if (c->shader)
		vkDestroyShaderModule(c->dev, c->shader, NULL);
}
