/* SPDX-License-Identifier: MIT */
/*
 * engine.c - the emulated engines: one thread per engine fed by a bounded
 * command ring, executing copy, fill and GPU-job commands through the MMU and
 * signalling a monotonic 64-bit fence per command; plus fault injection.
 *
 * Owns: struct emu_engine (its locking is documented in emu_internal.h), the
 * data movers (copy, fill, job ops) and the fence timeline of each engine.
 * Must not: translate addresses itself (mmu.c's cursors do) or write MMIO.
 *
 * Fences complete in submission order on each engine. The error of a failed
 * command is remembered by its exact fence value (fence_error answers for
 * that command, not for earlier ones) in a history of the last EMU_ERR_HIST
 * failures. No lock is held while moving data or while the interrupt
 * callback runs; the only sleeps are on the engine's own condvars.
 */
#include "emu_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

/* ---- polling ---- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* Spin up to ns while *v == seen. */
static void spin_until_changed(_Atomic uint64_t *v, uint64_t seen, uint64_t ns)
{
	uint64_t end = emu_now_ns() + ns;

	for (unsigned i = 1;; i++) {
		if (atomic_load_explicit(v, memory_order_relaxed) != seen)
			return;
		cpu_relax();
		if (!(i & 63) && emu_now_ns() >= end)
			return;
	}
}

/* The engine thread marks itself running or idle (it alone writes the flag). */
static void set_running(struct emu_engine *eng, bool on)
{
	if (atomic_load_explicit(&eng->running, memory_order_relaxed) == on)
		return;
	atomic_store_explicit(&eng->running, on, memory_order_relaxed);
	atomic_fetch_add_explicit(&eng->e->cpu_wanted, on ? 1 : -1, memory_order_relaxed);
}

/* Spin up to ns while *v < target. */
static void spin_until_reached(_Atomic uint64_t *v, uint64_t target, uint64_t ns)
{
	uint64_t end = emu_now_ns() + ns;

	for (unsigned i = 1;; i++) {
		if (atomic_load_explicit(v, memory_order_acquire) >= target)
			return;
		cpu_relax();
		if (!(i & 63) && emu_now_ns() >= end)
			return;
	}
}

/*
 * Threads runnable on the machine now, this one included (the fourth field
 * of /proc/loadavg, "running/total"), read at most once a millisecond and
 * shared by every waiter; -1 when it cannot be read.
 */
static int runnable_now(struct emu *e)
{
	uint64_t now = emu_now_ns();
	char buf[128], *p = buf;
	ssize_t n;
	int r;

	if (e->loadavg_fd < 0)
		return -1;
	if (now - atomic_load_explicit(&e->runnable_at_ns, memory_order_relaxed) < 1000000)
		return atomic_load_explicit(&e->runnable, memory_order_relaxed);
	n = pread(e->loadavg_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	for (int field = 0; field < 3 && p; field++) {
		p = strchr(p, ' ');
		p = p ? p + 1 : NULL;
	}
	if (!p || (r = atoi(p)) <= 0)
		return -1;
	atomic_store_explicit(&e->runnable, r, memory_order_relaxed);
	atomic_store_explicit(&e->runnable_at_ns, now, memory_order_relaxed);
	return r;
}

/* ---- data movers ---- */

/*
 * A copy reads its source as DMA does. A copy that outlived its fence
 * timeout may still read memory whose owner has since locked and is writing
 * it (the manager gave up on the copy and quarantined its destination). On
 * hardware that is a DMA read of a page the CPU writes: defined, with a
 * torn result nobody uses. In this process it is a data race in C's terms,
 * so a ThreadSanitizer build reads the source through a bounce buffer with
 * the reads exempted (TSan's annotations cannot exempt reads alone); the
 * copy's writes stay checked, since a late write into memory in use is
 * exactly the bug quarantine prevents. A torn read whose result is used
 * shows as integrity errors in verify runs, which do not depend on TSan.
 */
#if defined(__SANITIZE_THREAD__)
#define EMU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EMU_TSAN 1
#endif
#endif

#ifdef EMU_TSAN
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);

static void dma_copy(uint8_t *dst, const uint8_t *src, uint64_t n)
{
	static _Thread_local uint8_t bounce[64 << 10];

	if (dst < src + n && src < dst + n) {
		/* Overlapping (a copy within one allocation): memmove's
		 * semantics, unchecked. */
		AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
		memmove(dst, src, n);
		AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
		return;
	}
	while (n) {
		uint64_t c = n < sizeof(bounce) ? n : sizeof(bounce);
		AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
		memcpy(bounce, src, c);
		AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
		memcpy(dst, bounce, c);
		dst += c;
		src += c;
		n -= c;
	}
}
#else
static void dma_copy(uint8_t *dst, const uint8_t *src, uint64_t n)
{
	/* memmove: overlapping GPU copies stay defined */
	memmove(dst, src, n);
}
#endif

int emu_do_copy(struct emu *e, struct tlb *t, uint64_t dst, uint64_t src, uint64_t size)
{
	struct cursor s, d;
	int ret;

	if (size == 0)
		return 0;
	ret = emu_range_check(e, src, size);
	if (ret)
		return ret;
	ret = emu_range_check(e, dst, size);
	if (ret)
		return ret;
	cursor_init(&s, e, t, src, size);
	cursor_init(&d, e, t, dst, size);
	while (size) {
		if (!s.len && (ret = cursor_next(&s)))
			return ret;
		if (!d.len && (ret = cursor_next(&d)))
			return ret;
		uint64_t n = s.len < d.len ? s.len : d.len;
		if (!d.dummy)
			dma_copy(d.host, s.host, n);
		cursor_advance(&s, n);
		cursor_advance(&d, n);
		size -= n;
	}
	return 0;
}

/* Store len bytes of the 4-byte pattern, starting at pattern byte phase. */
static void fill_bytes(uint8_t *p, uint64_t len, uint32_t pattern, unsigned phase)
{
	uint8_t b[4];

	memcpy(b, &pattern, 4);
	if (b[0] == b[1] && b[1] == b[2] && b[2] == b[3]) {
		memset(p, b[0], len);
		return;
	}
	while (len && ((uintptr_t)p & 7)) {
		*p++ = b[phase];
		phase = (phase + 1) & 3;
		len--;
	}
	uint8_t w8[8];
	for (unsigned i = 0; i < 8; i++)
		w8[i] = b[(phase + i) & 3];
	uint64_t w;
	memcpy(&w, w8, 8);
	uint64_t *q = (uint64_t *)(void *)p;
	for (; len >= 8; len -= 8)
		*q++ = w;
	p = (uint8_t *)q;
	for (unsigned i = 0; i < len; i++)
		p[i] = w8[i];
}

static int do_fill(struct emu *e, struct tlb *t, uint64_t dst, uint64_t size, uint32_t pattern)
{
	struct cursor d;
	uint64_t off = 0;
	int ret;

	if (size == 0)
		return 0;
	ret = emu_range_check(e, dst, size);
	if (ret)
		return ret;
	cursor_init(&d, e, t, dst, size);
	while (off < size) {
		ret = cursor_next(&d);
		if (ret)
			return ret;
		if (!d.dummy)
			fill_bytes(d.host, d.len, pattern, off & 3);
		off += d.len;
		cursor_advance(&d, d.len);
	}
	return 0;
}

/*
 * Job refs start 8-byte aligned (checked at submit), and chunks split only at
 * page boundaries, so a pattern word never straddles two chunks; only the last
 * word of a ref may be partial.
 */
static int job_fill(struct emu *e, struct tlb *t, const struct vidmm_chip_job_ref *r, uint64_t seed)
{
	struct cursor d;
	uint64_t off = 0;
	int ret = emu_range_check(e, r->gpu_addr, r->size);

	if (ret)
		return ret;
	cursor_init(&d, e, t, r->gpu_addr, r->size);
	while (off < r->size) {
		ret = cursor_next(&d);
		if (ret)
			return ret;
		uint64_t n = d.len;
		if (!d.dummy) {
			uint64_t i = 0;
			for (; i + 8 <= n; i += 8) {
				uint64_t w = vidmm_pattern_word(seed, off + i);
				memcpy(d.host + i, &w, 8);
			}
			if (i < n) {
				uint64_t w = vidmm_pattern_word(seed, off + i);
				memcpy(d.host + i, &w, n - i);
			}
		}
		off += n;
		cursor_advance(&d, n);
	}
	return 0;
}

static int job_verify(struct emu *e, struct tlb *t, const struct vidmm_chip_job_ref *r,
		      uint64_t seed, uint64_t *bad)
{
	struct cursor s;
	uint64_t off = 0;
	int ret = emu_range_check(e, r->gpu_addr, r->size);

	if (ret)
		return ret;
	cursor_init(&s, e, t, r->gpu_addr, r->size);
	while (off < r->size) {
		ret = cursor_next(&s);
		if (ret)
			return ret;
		uint64_t n = s.len, i = 0;
		for (; i + 8 <= n; i += 8) {
			uint64_t w;
			memcpy(&w, s.host + i, 8);
			*bad += w != vidmm_pattern_word(seed, off + i);
		}
		if (i < n) {
			uint64_t w = vidmm_pattern_word(seed, off + i);
			*bad += memcmp(s.host + i, &w, n - i) != 0;
		}
		off += n;
		cursor_advance(&s, n);
	}
	return 0;
}

static int job_checksum(struct emu *e, struct tlb *t, const struct vidmm_chip_job_ref *r,
			XXH3_state_t *st)
{
	struct cursor s;
	uint64_t off = 0;
	int ret = emu_range_check(e, r->gpu_addr, r->size);

	if (ret)
		return ret;
	cursor_init(&s, e, t, r->gpu_addr, r->size);
	while (off < r->size) {
		ret = cursor_next(&s);
		if (ret)
			return ret;
		XXH3_64bits_update(st, s.host, s.len);
		off += s.len;
		cursor_advance(&s, s.len);
	}
	return 0;
}

static int job_touch(struct emu *e, struct tlb *t, const struct vidmm_chip_job_ref *r)
{
	int ret = emu_range_check(e, r->gpu_addr, r->size);
	uint64_t a = r->gpu_addr, end = r->gpu_addr + r->size;

	if (ret)
		return ret;
	while (a < end) {
		struct cursor s;
		uint64_t n = end - a < 8 ? end - a : 8;
		uint64_t next = (a | (e->page_size - 1)) + 1;
		volatile uint8_t sink;

		cursor_init(&s, e, t, a, n);
		ret = cursor_next(&s);
		if (ret)
			return ret;
		sink = s.host[0];
		(void)sink;
		a = next;
	}
	return 0;
}

static uint64_t job_bytes(const struct vidmm_chip_job *j)
{
	uint64_t b = 0;

	if (j->op == VIDMM_JOB_COPY)
		return j->refs[0].size < j->refs[1].size ? j->refs[0].size : j->refs[1].size;
	for (uint32_t i = 0; i < j->nrefs; i++)
		b += j->refs[i].size;
	return b;
}

static int do_job(struct emu *e, struct tlb *t, const struct vidmm_chip_job *j)
{
	uint64_t result = 0;
	int ret = 0;

	switch (j->op) {
	case VIDMM_JOB_FILL:
		for (uint32_t i = 0; i < j->nrefs && !ret; i++)
			ret = job_fill(e, t, &j->refs[i], j->seed);
		break;
	case VIDMM_JOB_VERIFY:
		for (uint32_t i = 0; i < j->nrefs && !ret; i++)
			ret = job_verify(e, t, &j->refs[i], j->seed, &result);
		break;
	case VIDMM_JOB_COPY:
		ret = emu_do_copy(e, t, j->refs[1].gpu_addr, j->refs[0].gpu_addr, job_bytes(j));
		break;
	case VIDMM_JOB_CHECKSUM: {
		XXH3_state_t st;
		XXH3_INITSTATE(&st);
		XXH3_64bits_reset_withSeed(&st, j->seed);
		for (uint32_t i = 0; i < j->nrefs && !ret; i++)
			ret = job_checksum(e, t, &j->refs[i], &st);
		result = XXH3_64bits_digest(&st);
		break;
	}
	case VIDMM_JOB_TOUCH:
		for (uint32_t i = 0; i < j->nrefs && !ret; i++)
			ret = job_touch(e, t, &j->refs[i]);
		break;
	}
	/* Before the fence: the caller reads it once the fence has signalled. */
	if (j->result)
		*j->result = result;
	return ret;
}

/* ---- fences ---- */

/* Called with eng->lock held. */
static void record_error(struct emu_engine *eng, uint64_t fence, int err)
{
	uint32_t slot;

	if (eng->err_count == EMU_ERR_HIST) {
		eng->err_lost_upto = eng->errs[eng->err_head].fence;
		eng->err_head = (eng->err_head + 1) % EMU_ERR_HIST;
		eng->err_count--;
	}
	slot = (eng->err_head + eng->err_count) % EMU_ERR_HIST;
	eng->errs[slot].fence = fence;
	eng->errs[slot].err = err;
	eng->err_count++;
	atomic_fetch_add_explicit(&eng->e->f_copy_err, 1, memory_order_relaxed);
}

/* Called with eng->lock held: make fence (and all before it) complete. */
static void signal_locked(struct emu_engine *eng, uint64_t fence)
{
	/* A reset may already have completed past a command that was running. */
	if (fence > atomic_load_explicit(&eng->completed, memory_order_relaxed))
		atomic_store_explicit(&eng->completed, fence, memory_order_release);
	pthread_cond_broadcast(&eng->done);
}

static void raise_irq(struct emu *e, uint32_t engine, uint64_t fence)
{
	emu_interrupt_fn fn;
	void *arg;

	pthread_mutex_lock(&e->irq_lock);
	fn = e->irq_fn;
	arg = e->irq_arg;
	pthread_mutex_unlock(&e->irq_lock);
	if (fn)
		fn(arg, engine, fence);
}

static void publish_tlb_stats(struct emu_engine *eng)
{
	atomic_store_explicit(&eng->stat_tlb_hits, eng->tlb.hits, memory_order_relaxed);
	atomic_store_explicit(&eng->stat_tlb_misses, eng->tlb.misses, memory_order_relaxed);
	atomic_store_explicit(&eng->stat_tlb_flushes, eng->tlb.flushes, memory_order_relaxed);
}

static int execute(struct emu_engine *eng, const struct emu_cmd *c)
{
	struct emu *e = eng->e;

	switch (c->type) {
	case CMD_COPY:
		return emu_do_copy(e, &eng->tlb, c->dst, c->src, c->size);
	case CMD_FILL:
		return do_fill(e, &eng->tlb, c->dst, c->size, c->pattern);
	case CMD_JOB:
		if (c->job.op == VIDMM_JOB_TOUCH &&
		    atomic_load_explicit(&e->null_touch, memory_order_relaxed))
			return 0; /* retired unread (emu_set_null_touch) */
		return do_job(e, &eng->tlb, &c->job);
	}
	return -EINVAL;
}

static uint64_t cmd_bytes(const struct emu_cmd *c)
{
	return c->type == CMD_JOB ? job_bytes(&c->job) : c->size;
}

static void abs_deadline(struct timespec *ts, uint64_t deadline_ns)
{
	ts->tv_sec = (time_t)(deadline_ns / 1000000000ull);
	ts->tv_nsec = (long)(deadline_ns % 1000000000ull);
}

/* With eng->lock held: sleep ns on the engine's own condvar, so a reset or
 * stop cuts it short. */
static void sleep_on_work(struct emu_engine *eng, uint64_t ns, uint64_t my_reset)
{
	uint64_t now = emu_now_ns();
	uint64_t deadline = now + (ns < UINT64_MAX / 2 - now ? ns : UINT64_MAX / 2 - now);
	struct timespec ts;

	abs_deadline(&ts, deadline);
	while (!atomic_load(&eng->stop) && atomic_load(&eng->reset_gen) == my_reset &&
	       emu_now_ns() < deadline)
		pthread_cond_timedwait(&eng->work, &eng->lock, &ts);
}

/* Copy only the refs a job has: the ring slot holds room for
 * VIDMM_JOB_MAX_REFS (1.5 KiB), and the submitter's copy happens under
 * eng->lock. */
static void copy_job(struct vidmm_chip_job *dst, const struct vidmm_chip_job *src)
{
	uint32_t n = src->nrefs <= VIDMM_JOB_MAX_REFS ? src->nrefs : VIDMM_JOB_MAX_REFS;

	dst->op = src->op;
	dst->seed = src->seed;
	dst->nrefs = src->nrefs;
	dst->result = src->result;
	memcpy(dst->refs, src->refs, n * sizeof(dst->refs[0]));
}

static void copy_cmd(struct emu_cmd *dst, const struct emu_cmd *src)
{
	memcpy(dst, src, offsetof(struct emu_cmd, deps));
	memcpy(dst->deps, src->deps, src->ndeps * sizeof(src->deps[0]));
	if (src->type == CMD_JOB)
		copy_job(&dst->job, &src->job);
}

/* Wake whoever waits on done (fence waiters, a reset waiting for the
 * running command); the lock only when someone does (emu_internal.h). */
static void wake_waiters(struct emu_engine *eng)
{
	if (atomic_load(&eng->waiters)) {
		pthread_mutex_lock(&eng->lock);
		pthread_cond_broadcast(&eng->done);
		pthread_mutex_unlock(&eng->lock);
	}
}

/*
 * Take the next command into c without the lock; false if there is none,
 * or the engine is hung or stopping. The in_pop handshake with
 * emu_reset_engine is in emu_internal.h.
 */
static bool take_command(struct emu_engine *eng, struct emu_cmd *c, uint64_t *my_reset)
{
	bool took = false;

	atomic_store(&eng->in_pop, true);
	/* Read before hung: an engine that sees hung clear took its command
	 * before any reset that is still waiting for in_pop, so a delay of
	 * that command is cut short by that reset's generation change. */
	*my_reset = atomic_load(&eng->reset_gen);
	if (!atomic_load(&eng->hung) && !atomic_load(&eng->stop)) {
		uint64_t r = atomic_load_explicit(&eng->rptr, memory_order_relaxed);

		/* hung and stop read again after the acquire: a command
		 * submitted after emu_inject_hang returned is not taken. */
		if (r != atomic_load_explicit(&eng->wptr, memory_order_acquire) &&
		    !atomic_load(&eng->hung) && !atomic_load(&eng->stop)) {
			copy_cmd(c, &eng->ring[r % EMU_RING_SIZE]);
			set_running(eng, true);
			atomic_store(&eng->executing, c->fence);
			/* The slot may be written again from here on. */
			atomic_store_explicit(&eng->rptr, r + 1, memory_order_release);
			took = true;
		}
	}
	atomic_store(&eng->in_pop, false);
	if (!took)
		wake_waiters(eng); /* a reset may wait for in_pop */
	return took;
}

/* Nothing to take: sleep until there is, or a reset ends a hang. False once
 * the engine is stopping. */
static bool idle(struct emu_engine *eng)
{
	bool spun = false;

	set_running(eng, false);
	pthread_mutex_lock(&eng->lock);
	while (!atomic_load(&eng->stop) &&
	       (atomic_load(&eng->hung) ||
		atomic_load_explicit(&eng->rptr, memory_order_relaxed) ==
			atomic_load_explicit(&eng->wptr, memory_order_relaxed))) {
		if (!spun && !atomic_load(&eng->hung)) {
			/*
			 * Poll a little before sleeping, like a GPU front end:
			 * a submit right after a completion (submit, wait,
			 * submit) then costs no wakeup.
			 */
			uint64_t seen = atomic_load_explicit(&eng->submits, memory_order_relaxed);
			pthread_mutex_unlock(&eng->lock);
			spin_until_changed(&eng->submits, seen, EMU_ENGINE_SPIN_NS);
			pthread_mutex_lock(&eng->lock);
			spun = true;
			continue;
		}
		eng->sleeping = true;
		pthread_cond_wait(&eng->work, &eng->lock);
		eng->sleeping = false;
	}
	bool go = !atomic_load(&eng->stop);
	pthread_mutex_unlock(&eng->lock);
	return go;
}

/*
 * Hold the command until its dependencies have signalled: 0, or -ECANCELED
 * when one of them failed (the error propagates, chip.h) or a reset or stop
 * of this engine ends the wait. The engine is not running meanwhile, so a
 * waiter elsewhere does not spin for it; the wait is sliced so that a reset
 * waiting for this command is not held up by another engine's hang.
 */
static int wait_deps(struct emu_engine *eng, const struct emu_cmd *c, uint64_t my_reset)
{
	struct emu *e = eng->e;
	bool idle_now = false;

	for (uint32_t i = 0; i < c->ndeps; i++) {
		const struct vidmm_chip_dep *d = &c->deps[i];
		while (emu_fence_completed(e, d->engine) < d->fence) {
			if (atomic_load(&eng->stop) || atomic_load(&eng->reset_gen) != my_reset)
				return -ECANCELED;
			if (!idle_now) {
				set_running(eng, false);
				idle_now = true;
			}
			emu_fence_wait(e, d->engine, d->fence, 10000000ull);
		}
		if (emu_fence_error(e, d->engine, d->fence))
			return -ECANCELED;
	}
	if (idle_now)
		set_running(eng, true);
	return 0;
}

static void *engine_main(void *arg)
{
	struct emu_engine *eng = arg;
	struct emu *e = eng->e;
	struct emu_cmd *c = malloc(sizeof(*c));
	char name[16];

	/* One thread per engine: its name is the engine's track in perf and
	 * in a timeline. */
	if (eng->id < e->n_copy)
		snprintf(name, sizeof(name), "emu-copy%u", eng->id % 1000u);
	else
		snprintf(name, sizeof(name), "emu-job%u", (eng->id - e->n_copy) % 1000u);
	pthread_setname_np(pthread_self(), name);

	if (!c)
		abort(); /* cannot happen in practice; the engine would hang silently */

	for (;;) {
		uint64_t my_reset;

		if (!take_command(eng, c, &my_reset)) {
			if (!idle(eng))
				break;
			continue;
		}

		int err = c->ndeps ? wait_deps(eng, c, my_reset) : 0;
		uint64_t t0 = emu_now_ns();
		if (c->start_delay_ns && !err) {
			/* A late engine: the command runs after its delay (a reset
			 * or stop cuts it short), so whoever gave up waiting for
			 * its fence meanwhile sees its writes land later. */
			pthread_mutex_lock(&eng->lock);
			sleep_on_work(eng, c->start_delay_ns, my_reset);
			pthread_mutex_unlock(&eng->lock);
		}
		/* An injected failure must leave the destination untouched. */
		if (!err)
			err = c->inject_fail ? -EIO : execute(eng, c);
		if (!err)
			atomic_fetch_add_explicit(&eng->stat_bytes, cmd_bytes(c), memory_order_relaxed);
		publish_tlb_stats(eng);

		if (c->delay_ns || err) {
			pthread_mutex_lock(&eng->lock);
			if (c->delay_ns) /* late fence */
				sleep_on_work(eng, c->delay_ns, my_reset);
			if (err) /* before the fence: fence_error must find it */
				record_error(eng, c->fence, err);
			pthread_mutex_unlock(&eng->lock);
		}
		/* Counted before the fence completes: whoever sees it complete
		 * sees the command in the statistics. */
		atomic_fetch_add_explicit(&eng->stat_commands, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&eng->stat_busy_ns, emu_now_ns() - t0, memory_order_relaxed);
		/* No reset can store completed meanwhile: it waits for
		 * executing to be 0 first. seq_cst (not just release): with
		 * the waiter's seq_cst waiters++ before its load of completed,
		 * either it sees the fence or wake_waiters sees it. */
		if (c->fence > atomic_load_explicit(&eng->completed, memory_order_relaxed))
			atomic_store(&eng->completed, c->fence);
		uint64_t done_fence = atomic_load_explicit(&eng->completed, memory_order_relaxed);
		atomic_store(&eng->executing, 0);
		wake_waiters(eng);

		uint64_t t1 = emu_now_ns();
		EMU_PROBE4(fence_signal, eng->id, c->fence, err, t1 - t0);
		if (e->trace_fn) {
			struct emu_trace_cmd tc = {
				.engine = eng->id, .type = (uint32_t)c->type, .fence = c->fence,
				.bytes = cmd_bytes(c), .t_submit_ns = c->t_submit_ns, .t_start_ns = t0,
				.t_end_ns = t1, .err = err,
			};
			e->trace_fn(e->trace_arg, &tc);
		}
		raise_irq(e, eng->id, done_fence);
	}
	free(c);
	return NULL;
}

static struct emu_engine *get_engine(struct emu *e, uint32_t engine)
{
	if (!e || engine >= e->n_engines)
		return NULL;
	return &e->engines[engine];
}

/* The next draw of the engine's fault stream (with eng->lock held). */
static uint32_t rnd_draw(struct emu_engine *eng)
{
	/* splitmix64: one multiply-xorshift step per draw. */
	uint64_t z = (eng->rnd_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/*
 * A null TOUCH job (emu_set_null_touch) retires inside its submit when
 * nothing could complete after it: no dependency kept, no fault injected,
 * and every command before it on this engine complete (completed is
 * issued - 1, with eng->lock held, so no other submit is in between and
 * the engine has nothing left to store). A hung engine retires nothing.
 */
static bool retire_inline(struct emu *e, struct emu_engine *eng, const struct emu_cmd *c,
			  uint32_t nkeep)
{
	return c->type == CMD_JOB && c->job.op == VIDMM_JOB_TOUCH && !nkeep && !c->inject_fail &&
	       !c->delay_ns && !c->start_delay_ns && !e->trace_fn &&
	       atomic_load_explicit(&e->null_touch, memory_order_relaxed) &&
	       !atomic_load(&eng->hung) &&
	       atomic_load_explicit(&eng->completed, memory_order_acquire) == c->fence - 1;
}

/*
 * Reserve a ring slot and a fence; fill() completes the command in place
 * while the lock is held, so the engine sees it whole. Never blocks: a full
 * ring is -EAGAIN (chip.h), because callers may hold their own locks.
 */
static int submit(struct emu *e, uint32_t engine, const struct emu_cmd *proto,
		  const struct vidmm_chip_job *job, const struct vidmm_chip_deps *deps,
		  uint64_t *fence)
{
	struct emu_engine *eng = get_engine(e, engine);
	struct vidmm_chip_dep keep[VIDMM_CHIP_MAX_DEPS];
	uint32_t ndeps = deps ? deps->n : 0, nkeep = 0;
	uint64_t own = 0;

	if (!eng || !fence || ndeps > VIDMM_CHIP_MAX_DEPS)
		return -EINVAL;
	/*
	 * Only fences already issued (chip.h): another engine's submits
	 * mirror is enough, since whoever holds the fence saw it; this
	 * engine's own is checked under its lock. One signalled without error
	 * costs nothing and is not kept. Sorted out before eng->lock is taken, since asking
	 * another engine for an error takes that engine's lock.
	 */
	for (uint32_t i = 0; i < ndeps; i++) {
		const struct vidmm_chip_dep *d = &deps->d[i];
		const struct emu_engine *o = get_engine(e, d->engine);
		if (!o)
			return -EINVAL;
		if (o == eng) {
			/* Met by ring order; kept for its error. */
			own = d->fence > own ? d->fence : own;
			keep[nkeep++] = *d;
			continue;
		}
		if (d->fence > atomic_load_explicit(&o->submits, memory_order_acquire))
			return -EINVAL;
		if (emu_fence_completed(e, d->engine) < d->fence ||
		    (d->fence && emu_fence_error(e, d->engine, d->fence)))
			keep[nkeep++] = *d; /* pending, or failed: propagated */
	}
	pthread_mutex_lock(&eng->lock);
	if (own > eng->issued) {
		pthread_mutex_unlock(&eng->lock);
		return -EINVAL;
	}
	if (atomic_load_explicit(&eng->stop, memory_order_relaxed)) {
		pthread_mutex_unlock(&eng->lock);
		return -ESHUTDOWN;
	}
	uint64_t w = atomic_load_explicit(&eng->wptr, memory_order_relaxed);
	/* rptr only grows: reading the engine's cache line only when the ring
	 * looks full keeps a submit from missing on it every time. Acquire:
	 * the engine has finished copying every slot it passed. */
	if (w - eng->rptr_seen == EMU_RING_SIZE)
		eng->rptr_seen = atomic_load_explicit(&eng->rptr, memory_order_acquire);
	if (w - eng->rptr_seen == EMU_RING_SIZE) {
		eng->ring_full++;
		pthread_mutex_unlock(&eng->lock);
		return -EAGAIN;
	}
	struct emu_cmd *c = &eng->ring[w % EMU_RING_SIZE];
	c->type = proto->type;
	c->dst = proto->dst;
	c->src = proto->src;
	c->size = proto->size;
	c->pattern = proto->pattern;
	c->ndeps = nkeep;
	memcpy(c->deps, keep, nkeep * sizeof(keep[0]));
	if (job)
		copy_job(&c->job, job);
	c->fence = ++eng->issued;
	c->t_submit_ns = e->trace_fn ? emu_now_ns() : 0;
	EMU_PROBE4(cmd_submit, engine, c->fence, c->type, c->type == CMD_JOB ? 0 : c->size);
	c->inject_fail = false;
	c->delay_ns = 0;
	c->start_delay_ns = 0;
	if (eng->inject_start_n) {
		eng->inject_start_n--;
		c->start_delay_ns = eng->inject_start_ns;
	}
	if (eng->inject_fail_n) {
		eng->inject_fail_n--;
		c->inject_fail = true;
	}
	if (eng->inject_delay_n) {
		eng->inject_delay_n--;
		c->delay_ns = eng->inject_delay_ns;
	}
	if (eng->rnd_fail && rnd_draw(eng) < eng->rnd_fail)
		c->inject_fail = true;
	if (eng->rnd_fence && rnd_draw(eng) < eng->rnd_fence)
		c->delay_ns = eng->rnd_fence_ns;
	if (eng->rnd_start && rnd_draw(eng) < eng->rnd_start)
		c->start_delay_ns = eng->rnd_start_ns;
	eng->injected[EMU_FAULT_FAIL] += c->inject_fail;
	eng->injected[EMU_FAULT_FENCE_DELAY] += c->delay_ns != 0;
	eng->injected[EMU_FAULT_START_DELAY] += c->start_delay_ns != 0;
	if (retire_inline(e, eng, c, nkeep)) {
		/* The slot is not published: the next submit reuses it. Nobody
		 * waits for this fence yet (it is not returned), and every one
		 * before it has signalled: no waiter to wake. */
		atomic_fetch_add_explicit(&eng->stat_commands, 1, memory_order_relaxed);
		atomic_store(&eng->completed, c->fence); /* seq_cst, as the engine's */
		atomic_store_explicit(&eng->submits, eng->issued, memory_order_relaxed);
		uint64_t done = c->fence; /* the slot is the next submit's once unlocked */
		*fence = done;
		pthread_mutex_unlock(&eng->lock);
		EMU_PROBE4(fence_signal, eng->id, done, 0, 0);
		return 0;
	}
	atomic_store_explicit(&eng->wptr, w + 1, memory_order_release);
	atomic_store_explicit(&eng->submits, eng->issued, memory_order_relaxed);
	*fence = c->fence;
	if (eng->sleeping)
		pthread_cond_signal(&eng->work);
	pthread_mutex_unlock(&eng->lock);
	return 0;
}

int emu_submit_copy(struct emu *e, uint32_t engine, uint64_t dst, uint64_t src, uint64_t size,
		    const struct vidmm_chip_deps *deps, uint64_t *fence)
{
	struct emu_cmd p = { .type = CMD_COPY, .dst = dst, .src = src, .size = size };

	return submit(e, engine, &p, NULL, deps, fence);
}

int emu_submit_fill(struct emu *e, uint32_t engine, uint64_t dst, uint64_t size, uint32_t pattern,
		    const struct vidmm_chip_deps *deps, uint64_t *fence)
{
	struct emu_cmd p = { .type = CMD_FILL, .dst = dst, .size = size, .pattern = pattern };

	return submit(e, engine, &p, NULL, deps, fence);
}

int emu_submit_job(struct emu *e, uint32_t engine, const struct vidmm_chip_job *job,
		   const struct vidmm_chip_deps *deps, uint64_t *fence)
{
	struct emu_engine *eng = get_engine(e, engine);
	struct emu_cmd p = { .type = CMD_JOB };

	if (!eng || !eng->is_job || !job || job->nrefs > VIDMM_JOB_MAX_REFS)
		return -EINVAL;
	if ((unsigned)job->op > VIDMM_JOB_TOUCH)
		return -EINVAL;
	if (job->op == VIDMM_JOB_COPY && job->nrefs < 2)
		return -EINVAL;
	for (uint32_t i = 0; i < job->nrefs; i++)
		if (job->refs[i].gpu_addr & 7)
			return -EINVAL;
	return submit(e, engine, &p, job, deps, fence);
}

uint64_t emu_fence_completed(struct emu *e, uint32_t engine)
{
	struct emu_engine *eng = get_engine(e, engine);

	if (!eng)
		return 0;
	return atomic_load_explicit(&eng->completed, memory_order_acquire);
}

int emu_fence_wait(struct emu *e, uint32_t engine, uint64_t fence, uint64_t timeout_ns)
{
	struct emu_engine *eng = get_engine(e, engine);
	int ret = 0;

	if (!eng)
		return -EINVAL;
	if (atomic_load_explicit(&eng->completed, memory_order_acquire) >= fence)
		return 0;
	/* Whoever got this fence from submit saw submits >= it. */
	if (fence > atomic_load_explicit(&eng->submits, memory_order_relaxed))
		return -EINVAL;
	/* Most paging waits are for a copy that is about to finish: a spin
	 * saves two scheduler round trips (the i915 trick; see
	 * EMU_WAIT_SPIN_NS for the length). */
	if (e->wait_spin_ns) {
		/* A CPU for this spinner, and one for the engine unless it is
		 * already running, besides every running engine and spinner. */
		int need = atomic_load_explicit(&eng->running, memory_order_relaxed) ? 1 : 2;
		int busy = atomic_fetch_add_explicit(&e->cpu_wanted, 1, memory_order_relaxed);
		/* And the machine, measured: this thread is among the
		 * runnable ones; the engine, unless running, needs one more. */
		int runnable = runnable_now(e);
		if (busy + need <= e->ncpus &&
		    (runnable < 0 || runnable + (need - 1) <= e->ncpus)) {
			atomic_fetch_add_explicit(&e->waits_spun, 1, memory_order_relaxed);
			spin_until_reached(&eng->completed, fence,
					   timeout_ns < e->wait_spin_ns ? timeout_ns : e->wait_spin_ns);
		} else {
			atomic_fetch_add_explicit(&e->waits_not_spun_busy, 1, memory_order_relaxed);
		}
		atomic_fetch_sub_explicit(&e->cpu_wanted, 1, memory_order_relaxed);
	}
	if (atomic_load_explicit(&eng->completed, memory_order_acquire) >= fence)
		return 0;
	uint64_t now = emu_now_ns();
	bool forever = timeout_ns > UINT64_MAX - now;
	struct timespec ts;
	if (!forever)
		abs_deadline(&ts, now + timeout_ns);

	pthread_mutex_lock(&eng->lock);
	if (fence > eng->issued) {
		/* Never issued: waiting could only time out. */
		ret = -EINVAL;
		goto out;
	}
	/* Counted before completed is read: the engine broadcasts done only
	 * when it sees a waiter (emu_internal.h). */
	atomic_fetch_add(&eng->waiters, 1);
	while (atomic_load(&eng->completed) < fence) {
		if (forever) {
			pthread_cond_wait(&eng->done, &eng->lock);
		} else if (pthread_cond_timedwait(&eng->done, &eng->lock, &ts) == ETIMEDOUT) {
			if (atomic_load(&eng->completed) < fence)
				ret = -ETIMEDOUT;
			break;
		}
	}
	atomic_fetch_sub(&eng->waiters, 1);
out:
	pthread_mutex_unlock(&eng->lock);
	return ret;
}

int emu_fence_error(struct emu *e, uint32_t engine, uint64_t fence)
{
	struct emu_engine *eng = get_engine(e, engine);
	int ret = 0;

	if (!eng)
		return -EINVAL;
	pthread_mutex_lock(&eng->lock);
	if (fence > atomic_load_explicit(&eng->completed, memory_order_relaxed)) {
		ret = fence > eng->issued ? -EINVAL : -EINPROGRESS;
		goto out;
	}
	for (uint32_t i = 0; i < eng->err_count; i++) {
		const struct emu_err_rec *r = &eng->errs[(eng->err_head + i) % EMU_ERR_HIST];
		if (r->fence == fence) {
			ret = r->err;
			goto out;
		}
		if (r->fence > fence)
			break;
	}
	/* Too many failures since: we cannot tell any more. */
	if (fence && fence <= eng->err_lost_upto)
		ret = -ENODATA;
out:
	pthread_mutex_unlock(&eng->lock);
	return ret;
}

/* ---- fault injection ---- */

int emu_inject_copy_failure(struct emu *e, uint32_t engine, uint32_t n)
{
	struct emu_engine *eng = get_engine(e, engine);

	if (!eng)
		return -EINVAL;
	pthread_mutex_lock(&eng->lock);
	eng->inject_fail_n = n;
	pthread_mutex_unlock(&eng->lock);
	return 0;
}

int emu_inject_fence_delay(struct emu *e, uint32_t engine, uint64_t delay_ns, uint32_t n)
{
	struct emu_engine *eng = get_engine(e, engine);

	if (!eng)
		return -EINVAL;
	pthread_mutex_lock(&eng->lock);
	eng->inject_delay_n = n;
	eng->inject_delay_ns = delay_ns;
	pthread_mutex_unlock(&eng->lock);
	return 0;
}

int emu_inject_start_delay(struct emu *e, uint32_t engine, uint64_t delay_ns, uint32_t n)
{
	struct emu_engine *eng = get_engine(e, engine);

	if (!eng)
		return -EINVAL;
	pthread_mutex_lock(&eng->lock);
	eng->inject_start_n = n;
	eng->inject_start_ns = delay_ns;
	pthread_mutex_unlock(&eng->lock);
	return 0;
}

int emu_inject_random(struct emu *e, uint32_t engine, enum emu_fault_kind kind, double p,
		      uint64_t delay_ns, uint64_t seed)
{
	struct emu_engine *eng = get_engine(e, engine);

	if (!eng || (unsigned)kind >= EMU_FAULT_KINDS || !(p >= 0.0 && p <= 1.0))
		return -EINVAL;
	/* In 2^-32 units; p 1.0 saturates just below certainty. */
	uint32_t q = p >= 1.0 ? UINT32_MAX : (uint32_t)(p * 4294967296.0);
	pthread_mutex_lock(&eng->lock);
	eng->rnd_state = seed ^ (0x632be59bd9b4e019ull * (engine + 1));
	switch (kind) {
	case EMU_FAULT_FAIL:
		eng->rnd_fail = q;
		break;
	case EMU_FAULT_FENCE_DELAY:
		eng->rnd_fence = q;
		eng->rnd_fence_ns = delay_ns;
		break;
	default:
		eng->rnd_start = q;
		eng->rnd_start_ns = delay_ns;
		break;
	}
	pthread_mutex_unlock(&eng->lock);
	return 0;
}

int emu_inject_hang(struct emu *e, uint32_t engine)
{
	struct emu_engine *eng = get_engine(e, engine);

	if (!eng)
		return -EINVAL;
	pthread_mutex_lock(&eng->lock);
	atomic_store(&eng->hung, true);
	pthread_mutex_unlock(&eng->lock);
	return 0;
}

int emu_reset_engine(struct emu *e, uint32_t engine)
{
	struct emu_engine *eng = get_engine(e, engine);
	uint64_t last;

	if (!eng)
		return -EINVAL;
	/* One reset at a time: each relies on hung until it has emptied the
	 * ring, and the first to finish clears it. */
	pthread_mutex_lock(&eng->reset_lock);
	pthread_mutex_lock(&eng->lock);
	/*
	 * A running command is not aborted halfway: end its delay, let it
	 * finish. Meanwhile the engine must take nothing new, so it is held as
	 * if hung until the ring has been emptied.
	 */
	atomic_store(&eng->hung, true);
	atomic_fetch_add(&eng->reset_gen, 1);
	pthread_cond_broadcast(&eng->work);
	atomic_fetch_add(&eng->waiters, 1);
	while (atomic_load(&eng->in_pop) || atomic_load(&eng->executing))
		pthread_cond_wait(&eng->done, &eng->lock);
	atomic_fetch_sub(&eng->waiters, 1);
	/* The engine takes nothing now: this is the ring's only reader. */
	uint64_t r = atomic_load_explicit(&eng->rptr, memory_order_relaxed);
	uint64_t w = atomic_load_explicit(&eng->wptr, memory_order_relaxed);
	uint32_t aborted = (uint32_t)(w - r);
	for (uint64_t i = r; i < w; i++)
		record_error(eng, eng->ring[i % EMU_RING_SIZE].fence, -EIO);
	atomic_fetch_add_explicit(&eng->stat_commands, aborted, memory_order_relaxed);
	atomic_store_explicit(&eng->rptr, w, memory_order_release);
	eng->rptr_seen = w;
	last = eng->issued;
	signal_locked(eng, last);
	atomic_store(&eng->hung, false);
	pthread_cond_broadcast(&eng->work);
	pthread_mutex_unlock(&eng->lock);
	pthread_mutex_unlock(&eng->reset_lock);
	if (aborted)
		raise_irq(e, engine, last);
	return 0;
}

int emu_engine_stats(struct emu *e, uint32_t engine, struct emu_engine_stats *out)
{
	struct emu_engine *eng = get_engine(e, engine);

	if (!eng || !out)
		return -EINVAL;
	out->commands = atomic_load_explicit(&eng->stat_commands, memory_order_relaxed);
	out->bytes = atomic_load_explicit(&eng->stat_bytes, memory_order_relaxed);
	out->busy_ns = atomic_load_explicit(&eng->stat_busy_ns, memory_order_relaxed);
	out->tlb_hits = atomic_load_explicit(&eng->stat_tlb_hits, memory_order_relaxed);
	out->tlb_misses = atomic_load_explicit(&eng->stat_tlb_misses, memory_order_relaxed);
	out->tlb_flushes = atomic_load_explicit(&eng->stat_tlb_flushes, memory_order_relaxed);
	pthread_mutex_lock(&eng->lock);
	out->submitted = eng->issued;
	out->ring_full = eng->ring_full;
	for (int k = 0; k < EMU_FAULT_KINDS; k++)
		out->injected[k] = eng->injected[k];
	pthread_mutex_unlock(&eng->lock);
	out->completed = atomic_load_explicit(&eng->completed, memory_order_acquire);
	return 0;
}

/* ---- lifetime ---- */

static int engine_init(struct emu *e, struct emu_engine *eng, uint32_t id)
{
	pthread_condattr_t ca;
	int ret;

	eng->e = e; /* marks the mutex and condvars as initialised */
	eng->id = id;
	eng->is_job = id >= e->n_copy;
	atomic_init(&eng->completed, 0);
	pthread_mutex_init(&eng->lock, NULL);
	pthread_mutex_init(&eng->reset_lock, NULL);
	pthread_condattr_init(&ca);
	/* Fence waits and delays use CLOCK_MONOTONIC deadlines. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&eng->work, &ca);
	pthread_cond_init(&eng->done, &ca);
	pthread_condattr_destroy(&ca);
	eng->ring = calloc(EMU_RING_SIZE, sizeof(*eng->ring));
	if (!eng->ring)
		return -ENOMEM;
	ret = tlb_init(&eng->tlb, e->prof.tlb_entries);
	if (ret)
		return ret;
	/* Sees every invalidation made before the engine existed as applied. */
	eng->tlb.seen_gen = atomic_load(&e->inval_gen);
	ret = -pthread_create(&eng->thread, NULL, engine_main, eng);
	if (ret)
		return ret;
	eng->thread_started = true;
	return 0;
}

int engines_start(struct emu *e)
{
	e->n_copy = e->prof.copy_engines;
	e->n_engines = e->n_copy + 1;
	/* Aligned: struct emu_engine keeps its groups on cache lines. */
	size_t bytes = e->n_engines * sizeof(*e->engines);
	e->engines = aligned_alloc(_Alignof(struct emu_engine), bytes);
	if (!e->engines)
		return -ENOMEM;
	memset(e->engines, 0, bytes);
	for (uint32_t i = 0; i < e->n_engines; i++) {
		int ret = engine_init(e, &e->engines[i], i);
		if (ret)
			return ret; /* engines_stop cleans up what was started */
	}
	return 0;
}

void engines_stop(struct emu *e)
{
	if (!e->engines)
		return;
	for (uint32_t i = 0; i < e->n_engines; i++) {
		struct emu_engine *eng = &e->engines[i];
		if (!eng->thread_started)
			continue;
		pthread_mutex_lock(&eng->lock);
		atomic_store(&eng->stop, true);
		pthread_cond_broadcast(&eng->work);
		pthread_mutex_unlock(&eng->lock);
		pthread_join(eng->thread, NULL);
	}
	for (uint32_t i = 0; i < e->n_engines; i++) {
		struct emu_engine *eng = &e->engines[i];
		if (eng->e) {
			pthread_mutex_destroy(&eng->lock);
			pthread_mutex_destroy(&eng->reset_lock);
			pthread_cond_destroy(&eng->work);
			pthread_cond_destroy(&eng->done);
		}
		tlb_fini(&eng->tlb);
		free(eng->ring);
	}
	free(e->engines);
	e->engines = NULL;
}
