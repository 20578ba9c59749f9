/* SPDX-License-Identifier: MIT */
/*
 * shared.c - many clients on one set of shared allocations: every thread
 * submits jobs (several allocations each, read and write), locks for CPU
 * reads and writes (nested too), evicts and swaps out, destroys and
 * re-creates, and now and then destroys an allocation others are still
 * using. A checker thread runs vidmm_check all along.
 *
 * The content protocol keeps every allocation's expected bytes known (so
 * --verify means the same as in any other workload): a per-allocation
 * reader-writer lock of the workload's own, taken with trylock (never
 * waited for, so threads never deadlock on each other), shared by jobs and
 * CPU locks that read, exclusive for those that write and for destroy and
 * re-create. Evictions and swap-outs take no lock at all (they must never
 * change contents), nor do the "racy" destroys: those only retire the
 * handle, and whoever meets the dead handle gets -EBADF.
 *
 * Owns: only its generator. Must not: call libvidmm except through wl_*.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "workload.h"

static const struct wl_param params[] = {
	{ "ws_factor", WL_P_FLOAT, "3.0", "all shared allocations, multiple of local memory", 0.01,
	  64, NULL },
	{ "obj_frac", WL_P_FLOAT, "0.02", "median allocation size, fraction of local memory (sizes "
	  "spread log-uniformly over 1/4..4x)", 1e-6, 0.25, NULL },
	{ "refs", WL_P_INT, "3", "most allocations per job", 1, 16, NULL },
	{ "write_frac", WL_P_FLOAT, "0.3", "probability that a job or a CPU lock writes", 0, 1, NULL },
	{ "cpu_frac", WL_P_FLOAT, "0.1", "probability that an operation is a CPU lock", 0, 1, NULL },
	{ "move_frac", WL_P_FLOAT, "0.05", "probability of an evict or swap-out of any allocation",
	  0, 1, NULL },
	{ "churn", WL_P_FLOAT, "0.02", "probability of destroying and re-creating one", 0, 1, NULL },
	{ "racy_destroy", WL_P_FLOAT, "0.005", "probability of destroying one other threads may be "
	  "using", 0, 1, NULL },
	{ "check_ms", WL_P_INT, "5", "vidmm_check period of the checker thread (0: none)", 0, 10000,
	  NULL },
	{ .name = NULL },
};

static const char *const counters[] = { "cpu_locks", "moves", "recreated", "racy_destroys",
					"refused", "stale", "busy_skips", NULL };
enum { C_CPU, C_MOVE, C_RECREATE, C_RACY, C_REFUSED, C_STALE, C_SKIP };

struct sobj {
	pthread_rwlock_t rw;        /* content: shared to read, exclusive to write/destroy */
	struct wl_alloc a;          /* h and seed change only with rw exclusive */
	_Atomic uint64_t h, id;     /* the live handle for unlocked calls (0: none) */
	uint64_t size;
};

struct spriv {
	struct sobj *o;
	uint32_t n;
	pthread_barrier_t ready;
	pthread_t checker;
	bool checking;
	atomic_bool stop;
	unsigned check_ms;
	struct wl_run *r;
};

static void *checker_main(void *arg)
{
	struct spriv *p = arg;
	struct timespec ts = { 0, (long)p->check_ms * 1000000L };

	while (!atomic_load(&p->stop)) {
		wl_run_check(p->r);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static int setup(struct wl_run *r)
{
	struct spriv *p = calloc(1, sizeof(*p));
	double obj = wl_param_float(r, "obj_frac") * (double)r->local_bytes;

	if (!p)
		return -ENOMEM;
	p->r = r;
	p->n = (uint32_t)(wl_param_float(r, "ws_factor") * (double)r->local_bytes / obj);
	if (p->n < 2)
		p->n = 2;
	p->o = calloc(p->n, sizeof(*p->o));
	if (!p->o) {
		free(p);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < p->n; i++)
		pthread_rwlock_init(&p->o[i].rw, NULL);
	pthread_barrier_init(&p->ready, NULL, r->nthreads);
	p->check_ms = (unsigned)wl_param_int(r, "check_ms");
	if (p->check_ms && pthread_create(&p->checker, NULL, checker_main, p) == 0)
		p->checking = true;
	r->priv = p;
	return 0;
}

static void teardown(struct wl_run *r)
{
	struct spriv *p = r->priv;

	atomic_store(&p->stop, true);
	if (p->checking)
		pthread_join(p->checker, NULL);
	for (uint32_t i = 0; i < p->n; i++)
		pthread_rwlock_destroy(&p->o[i].rw);
	pthread_barrier_destroy(&p->ready);
	free(p->o);
	free(p);
	r->priv = NULL;
}

/* A descriptor with varied flags, priorities and sizes (log-uniform). */
static struct vidmm_alloc_desc random_desc(struct wl_thread *t)
{
	struct wl_run *r = t->r;
	double obj = wl_param_float(r, "obj_frac") * (double)r->local_bytes;
	struct vidmm_alloc_desc d = {
		.size = wl_pages(r, obj * exp2(4.0 * wl_unif(t) - 2.0)),
		.priority = (enum vidmm_priority)wl_below(t, VIDMM_PRIO_COUNT),
	};
	uint64_t k = wl_below(t, 100);

	if (k < 10)
		d.flags |= VIDMM_ALLOC_CPU_VISIBLE;
	else if (k < 15)
		d.flags |= VIDMM_ALLOC_TOP_DOWN;
	else if (k < 17 && d.size <= r->local_bytes / 64)
		d.flags |= VIDMM_ALLOC_UNPAGABLE;
	else if (k < 25 && r->n_seg_local) {
		d.n_preferred = 1;
		d.preferred[0] = r->seg_local[wl_below(t, r->n_seg_local)];
	}
	return d;
}

/* With o->rw held exclusive: make it live (again). */
static void recreate(struct wl_thread *t, struct sobj *o)
{
	struct vidmm_alloc_desc d = random_desc(t);

	/* A racy destroy retired the handle without the lock: forget it. */
	if (o->a.h && atomic_load(&o->h) != o->a.h)
		o->a.h = 0;
	if (o->a.h) {
		atomic_store(&o->h, 0);
		if (wl_destroy(t, &o->a))
			t->ctr[C_REFUSED]++;
	}
	if (wl_create(t, &d, &o->a) == 0) {
		o->size = d.size;
		atomic_store(&o->id, o->a.id);
		atomic_store(&o->h, o->a.h);
	} else {
		o->a.h = 0;
	}
}

/* Try to take o for reading (write false) or writing: never waits. */
static bool take(struct sobj *o, bool write)
{
	return (write ? pthread_rwlock_trywrlock(&o->rw) : pthread_rwlock_tryrdlock(&o->rw)) == 0;
}

static void job(struct wl_thread *t, struct spriv *p)
{
	uint32_t refs = (uint32_t)wl_param_int(t->r, "refs");
	double wf = wl_param_float(t->r, "write_frac");
	struct wl_alloc *sel[16];
	struct sobj *held[16];
	uint32_t acc[16], m = 0, want = 1 + (uint32_t)wl_below(t, refs);

	for (uint32_t tries = 0; m < want && tries < want * 4; tries++) {
		struct sobj *o = &p->o[wl_below(t, p->n)];
		bool dup = false, write = wl_unif(t) < wf;
		for (uint32_t k = 0; k < m; k++)
			dup |= held[k] == o;
		if (dup)
			continue;
		if (!take(o, write)) {
			t->ctr[C_SKIP]++;
			continue;
		}
		if (!o->a.h) {
			pthread_rwlock_unlock(&o->rw);
			continue;
		}
		held[m] = o;
		sel[m] = &o->a;
		acc[m++] = write ? VIDMM_ACCESS_READ | VIDMM_ACCESS_WRITE : VIDMM_ACCESS_READ;
	}
	if (m) {
		int ret = wl_job(t, sel, acc, m, NULL);
		if (ret == -EBADF)
			t->ctr[C_STALE]++;
		else if (ret)
			t->ctr[C_REFUSED]++;
		else
			t->units++;
	}
	for (uint32_t k = 0; k < m; k++)
		pthread_rwlock_unlock(&held[k]->rw);
}

static void cpu(struct wl_thread *t, struct spriv *p)
{
	struct sobj *o = &p->o[wl_below(t, p->n)];
	bool write = wl_unif(t) < wl_param_float(t->r, "write_frac");
	bool nest = wl_below(t, 4) == 0;
	void *cpu_p = NULL, *again = NULL;

	if (!take(o, write)) {
		t->ctr[C_SKIP]++;
		return;
	}
	/* wl_lock checks what the CPU sees against the expected pattern. */
	if (o->a.h && wl_lock(t, &o->a, &cpu_p) == 0) {
		t->ctr[C_CPU]++;
		if (nest && wl_lock(t, &o->a, &again) == 0) {
			if (again != cpu_p)
				t->integrity_errors++; /* one mapping for every lock */
			wl_unlock(t, &o->a);
		}
		if (write) {
			uint64_t seed = wl_rand(t) | 1, *w = cpu_p;
			for (uint64_t i = 0; i < o->a.size / 8; i++)
				w[i] = vidmm_pattern_word(seed, i * 8);
			o->a.seed = seed;
			/* the content is the CPU's now: no GPU write to excuse */
			o->a.wfence = (struct vidmm_fence){ 0, 0 };
		}
		wl_unlock(t, &o->a);
	} else if (o->a.h) {
		t->ctr[C_REFUSED]++;
	}
	pthread_rwlock_unlock(&o->rw);
}

/* Evict or swap out any allocation, taking no lock: contents never change. */
static void move(struct wl_thread *t, struct spriv *p)
{
	struct sobj *o = &p->o[wl_below(t, p->n)];
	struct wl_alloc a = { .h = atomic_load(&o->h), .id = atomic_load(&o->id) };

	if (!a.h)
		return;
	int ret = wl_below(t, 2) ? wl_evict(t, &a) : wl_swap_out(t, &a);
	t->ctr[C_MOVE]++;
	if (ret == -EBADF)
		t->ctr[C_STALE]++;
	else if (ret)
		t->ctr[C_REFUSED]++;
}

/* Destroy one others may be using right now. */
static void racy_destroy(struct wl_thread *t, struct spriv *p)
{
	struct sobj *o = &p->o[wl_below(t, p->n)];
	uint64_t h = atomic_exchange(&o->h, 0);
	struct wl_alloc a = { .h = h, .id = atomic_load(&o->id) };

	if (!h)
		return;
	int ret = wl_destroy(t, &a); /* a.seed 0: no VERIFY first */
	if (ret == 0) {
		t->ctr[C_RACY]++;
	} else {
		/* Locked by a CPU user (-EBUSY) or already gone: give it back
		 * unless a re-create replaced it meanwhile. */
		uint64_t zero = 0;
		if (ret == -EBUSY)
			atomic_compare_exchange_strong(&o->h, &zero, h);
		t->ctr[C_REFUSED]++;
	}
}

static int thread(struct wl_thread *t)
{
	struct spriv *p = t->r->priv;
	double cf = wl_param_float(t->r, "cpu_frac"), mf = wl_param_float(t->r, "move_frac");
	double ch = wl_param_float(t->r, "churn"), rd = wl_param_float(t->r, "racy_destroy");

	/* Each thread creates its stripe, then all share all. */
	for (uint32_t i = t->idx; i < p->n && wl_continue(t); i += t->r->nthreads) {
		pthread_rwlock_wrlock(&p->o[i].rw);
		recreate(t, &p->o[i]);
		pthread_rwlock_unlock(&p->o[i].rw);
	}
	pthread_barrier_wait(&p->ready);
	wl_begin(t);
	while (wl_continue(t)) {
		double u = wl_unif(t);
		if (u < rd)
			racy_destroy(t, p);
		else if (u < rd + ch) {
			struct sobj *o = &p->o[wl_below(t, p->n)];
			if (take(o, true)) {
				recreate(t, o);
				t->ctr[C_RECREATE]++;
				pthread_rwlock_unlock(&o->rw);
			}
		} else if (u < rd + ch + mf)
			move(t, p);
		else if (u < rd + ch + mf + cf)
			cpu(t, p);
		else
			job(t, p);
	}
	wl_end(t);
	wl_sync(t);
	pthread_barrier_wait(&p->ready);
	/* Each thread destroys its stripe (verify runs VERIFY it first). */
	for (uint32_t i = t->idx; i < p->n; i += t->r->nthreads) {
		struct sobj *o = &p->o[i];
		pthread_rwlock_wrlock(&o->rw);
		uint64_t h = atomic_exchange(&o->h, 0);
		if (o->a.h && h == o->a.h) {
			wl_destroy(t, &o->a);
		} else if (h) {
			/* Given back by a racy destroy that found it locked,
			 * after a re-create had given up on it. */
			struct wl_alloc a = { .h = h, .id = atomic_load(&o->id) };
			wl_destroy(t, &a);
		}
		o->a.h = 0;
		pthread_rwlock_unlock(&o->rw);
	}
	wl_sync(t);
	return 0;
}

const struct workload wl_shared = {
	.name = "shared",
	.family = "multi-client",
	.description = "threads sharing one set of allocations: jobs, CPU locks, evictions, "
		       "swap-outs, destroys, all at once",
	.params = params,
	.metrics_doc =
		"cpu_locks, moves, recreated, racy_destroys, ...: the operations of each kind "
		"that ran; refusals are counted as the errno the API documents",
	.unit = "jobs",
	.default_threads = 4,
	.counters = counters,
	.setup = setup,
	.thread = thread,
	.teardown = teardown,
};
