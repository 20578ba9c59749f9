/* SPDX-License-Identifier: MIT */
/*
 * runner.c - runs one workload (see runner.h) and implements the wl_* calls
 * of workloads/workload.h.
 *
 * Owns: worker threads, the stop condition, per-thread histograms, verify
 * jobs and their pending results, the sampler thread (time series every
 * 100 ms, progress bar, deadline), perf/pin hooks, rusage. Must not: hold a
 * lock of its own across a manager call that can wait for the GPU (the only
 * harness locks are the trace writer's and the gauge table's, held for
 * memory operations only), parse options, or write results files.
 *
 * Timing uses the TSC where it is invariant (constant_tsc + nonstop_tsc):
 * two clock_gettime calls per operation cost ~5% of a 500 ns allocation,
 * more than the 3% budget the statistics may add; two rdtsc cost ~1%.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_RDTSC 1
#endif

#include "runner.h"
#include "contract.h"
#include "metrics.h"
#include "perf.h"
#include "pin.h"
#include "platform.h"
#include "trace.h"

const char *const wl_op_names[WL_OP_COUNT] = {
	"create", "destroy", "submit", "wait", "lock", "unlock", "evict",
};

#define PEND_N 64
#define FENCE_TIMEOUT_NS (10ull * 1000000000ull)

/* A VERIFY in flight, and the writes it checks (distinct FILL fences of its
 * refs): if one of those failed on the engine, the API reported that data
 * lost, and the VERIFY's mismatches are not integrity errors. */
#define PEND_DEPS 4

struct pend {
	struct vidmm_fence f;
	uint64_t result;
	struct vidmm_fence dep[PEND_DEPS];
	unsigned ndep;
};

struct thread_priv {
	struct vidmm_hist hist[RUN_NHISTS];
	struct pend pend[PEND_N];
	unsigned head, count;
	struct vidmm_fence last;
	bool has_last;
	/* the writes the next VERIFY depends on (wl_job sets them) */
	struct vidmm_fence next_dep[PEND_DEPS];
	unsigned next_ndep;
	uint64_t ops_flushed;
	_Atomic uint64_t ops_seen; /* t->ops as of the last wl_continue, for the sampler */
	pthread_t tid;
	int ret;
};

struct runner_state {
	const struct run_config *c;
	struct run_result *res;
	struct wl_run run;
	struct wl_thread *threads;
	atomic_bool stop;
	atomic_uint_fast64_t ops;
	atomic_uint_fast64_t next_id;
	atomic_uint_fast64_t seed_ctr;
	atomic_uint_fast64_t undocumented;
	struct platform *pl;  /* the run's chip and manager (replayed faults) */
	uint64_t t0_ns;
	pthread_mutex_t lock; /* gauges, check result, samples */
	pthread_cond_t cond;  /* wakes the sampler at the end */
	bool done;
	size_t cap_samples;
	struct pin_ctx pin;
	bool pinned;
};

/* ---- time ---------------------------------------------------------------- */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double ns_per_tick = 1.0;
static bool use_tsc;
static pthread_once_t calib_once = PTHREAD_ONCE_INIT;

static bool tsc_invariant(void)
{
#ifdef HAVE_RDTSC
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool c = false, n = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		c = strstr(line, " constant_tsc") != NULL;
		n = strstr(line, " nonstop_tsc") != NULL;
		break;
	}
	fclose(f);
	return c && n;
#else
	return false;
#endif
}

static void calibrate(void)
{
#ifdef HAVE_RDTSC
	if (!tsc_invariant())
		return;
	/* 20 ms against CLOCK_MONOTONIC: good to ~0.01%, far below the
	 * histograms' 3% bucket width. */
	uint64_t n0 = mono_ns(), c0 = __rdtsc();
	struct timespec d = { 0, 20 * 1000 * 1000 };
	nanosleep(&d, NULL);
	uint64_t n1 = mono_ns(), c1 = __rdtsc();
	if (c1 > c0 && n1 > n0) {
		ns_per_tick = (double)(n1 - n0) / (double)(c1 - c0);
		use_tsc = true;
	}
#endif
}

double runner_ns_per_tick(void)
{
	pthread_once(&calib_once, calibrate);
	return ns_per_tick;
}

uint64_t wl_ticks(void)
{
#ifdef HAVE_RDTSC
	if (use_tsc)
		return __rdtsc();
#endif
	return mono_ns();
}

uint64_t wl_ticks_ns(uint64_t ticks)
{
	return use_tsc ? (uint64_t)((double)ticks * ns_per_tick) : ticks;
}

/* ---- parameters ------------------------------------------------------------ */

static bool parse_num(const char *s, bool integer, double *out)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	if (integer) {
		long long v = strtoll(s, &end, 10);
		if (errno || *end)
			return false;
		*out = (double)v;
	} else {
		double v = strtod(s, &end);
		if (errno || *end || !isfinite(v))
			return false;
		*out = v;
	}
	return true;
}

static bool enum_has(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, v, n) == 0)
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

static int check_value(const struct wl_param *p, const char *v, char *err, size_t len)
{
	double d;

	switch (p->type) {
	case WL_P_ENUM:
		if (!enum_has(p->choices, v)) {
			snprintf(err, len, "--param %s: '%s' is not one of %s", p->name, v, p->choices);
			return -EINVAL;
		}
		return 0;
	case WL_P_INT:
	case WL_P_FLOAT:
		if (!parse_num(v, p->type == WL_P_INT, &d)) {
			snprintf(err, len, "--param %s: '%s' is not %s", p->name, v,
				 p->type == WL_P_INT ? "an integer" : "a number");
			return -EINVAL;
		}
		if (d < p->min || d > p->max) {
			snprintf(err, len, "--param %s: %s is outside [%g, %g]", p->name, v, p->min,
				 p->max);
			return -EINVAL;
		}
		return 0;
	}
	return -EINVAL;
}

int runner_resolve_params(struct run_config *c, const char *const *keys,
			  const char *const *vals, unsigned n, char *err, size_t len)
{
	const struct wl_param *ps = c->w->params;
	unsigned np = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct wl_param *p = ps;
		while (p && p->name && strcmp(p->name, keys[i]) != 0)
			p++;
		if (!p || !p->name) {
			snprintf(err, len, "--param: unknown parameter '%s' for workload %s "
				 "(see vidmm-bench run %s --help)", keys[i], c->w->name, c->w->name);
			return -EINVAL;
		}
		if (check_value(p, vals[i], err, len))
			return -EINVAL;
	}
	for (const struct wl_param *p = ps; p && p->name; p++) {
		const char *v = p->def;
		bool def = true;
		/* the last --param of a name wins, as with any repeated option */
		for (unsigned i = 0; i < n; i++)
			if (strcmp(keys[i], p->name) == 0) {
				v = vals[i];
				def = false;
			}
		if (np == RUN_MAX_PARAMS || strlen(p->name) >= sizeof(c->params[0].name) ||
		    strlen(v) >= sizeof(c->params[0].value)) {
			snprintf(err, len, "--param %s: value too long", p->name);
			return -EINVAL;
		}
		snprintf(c->params[np].name, sizeof(c->params[np].name), "%s", p->name);
		snprintf(c->params[np].value, sizeof(c->params[np].value), "%s", v);
		c->params[np].is_default = def;
		np++;
	}
	c->nparams = np;
	return 0;
}

static const char *param_text(const struct wl_run *r, const char *name)
{
	const struct run_config *c = r->rs->c;

	for (unsigned i = 0; i < c->nparams; i++)
		if (strcmp(c->params[i].name, name) == 0)
			return c->params[i].value;
	/* A workload asking for a parameter it does not declare is a bug in
	 * the workload: fail loudly rather than run with a made-up value. */
	fprintf(stderr, "vidmm-bench: workload %s reads undeclared parameter '%s'\n",
		r->w->name, name);
	abort();
}

int64_t wl_param_int(const struct wl_run *r, const char *name)
{
	return strtoll(param_text(r, name), NULL, 10);
}

double wl_param_float(const struct wl_run *r, const char *name)
{
	return strtod(param_text(r, name), NULL);
}

const char *wl_param_str(const struct wl_run *r, const char *name)
{
	return param_text(r, name);
}

uint64_t wl_pages(const struct wl_run *r, double bytes)
{
	uint64_t ps = r->page_size;
	if (!(bytes > (double)ps))
		return ps;
	return ((uint64_t)bytes + ps / 2) / ps * ps;
}

/* ---- randomness ------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

double wl_normal(struct wl_thread *t)
{
	double u1 = wl_unif(t), u2 = wl_unif(t);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

int wl_zipf_init(struct wl_zipf *z, uint32_t n, double s)
{
	double sum = 0;

	z->n = n;
	z->cdf = malloc(sizeof(double) * (n ? n : 1));
	if (!z->cdf)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		sum += 1.0 / pow((double)(i + 1), s);
		z->cdf[i] = sum;
	}
	for (uint32_t i = 0; i < n; i++)
		z->cdf[i] /= sum;
	return 0;
}

uint32_t wl_zipf_next(struct wl_thread *t, const struct wl_zipf *z)
{
	double u = wl_unif(t);
	uint32_t lo = 0, hi = z->n ? z->n - 1 : 0;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (z->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void wl_zipf_free(struct wl_zipf *z)
{
	free(z->cdf);
	z->cdf = NULL;
}

/* ---- operations -------------------------------------------------------------- */

static inline bool stats_on(const struct wl_thread *t)
{
	return t->r->rs->c->stats;
}

static inline void rec(struct wl_thread *t, unsigned k, uint64_t t0)
{
	vidmm_hist_record(&t->hp->hist[k], wl_ticks_ns(wl_ticks() - t0));
}

bool wl_continue(struct wl_thread *t)
{
	struct runner_state *rs = t->r->rs;

	/* a relaxed store is a plain mov: the sampler reads this, not t->ops */
	atomic_store_explicit(&t->hp->ops_seen, t->ops, memory_order_relaxed);
	if (atomic_load_explicit(&rs->stop, memory_order_relaxed))
		return false;
	if (rs->c->ops_limit) {
		uint64_t d = t->ops - t->hp->ops_flushed;
		t->hp->ops_flushed = t->ops;
		uint64_t tot = atomic_fetch_add_explicit(&rs->ops, d, memory_order_relaxed) + d;
		if (tot >= rs->c->ops_limit) {
			atomic_store(&rs->stop, true);
			return false;
		}
	}
	return true;
}

/* Every return of the manager is checked against what vidmm.h documents
 * for the call (bench/contract.h): an undocumented one fails the run. */
static int contract(struct wl_thread *t, enum vidmm_call call, int ret)
{
	struct runner_state *rs = t->r->rs;

	if (contract_errno_ok(call, ret))
		return ret;
	if (atomic_fetch_add(&rs->undocumented, 1) == 0) {
		pthread_mutex_lock(&rs->lock);
		snprintf(rs->res->undocumented_first, sizeof(rs->res->undocumented_first),
			 "%s returned %d (%s); documented: %s", contract_call_name(call), ret,
			 vidmm_strerror(ret), contract_errnos(call));
		pthread_mutex_unlock(&rs->lock);
	}
	return ret;
}

/* A completed command the engine did not fail. -ENODATA (so many failures
 * since that the engine forgot) counts as failed: then nobody can tell. */
static bool fence_ok(struct wl_thread *t, struct vidmm_fence f)
{
	int st = contract(t, CALL_FENCE_STATUS, vidmm_fence_status(t->r->vm, f));
	return st != -EIO && st != -ENODATA;
}

/* The mismatches a completed VERIFY counts as integrity errors: none if the
 * VERIFY itself failed on the engine (it checked nothing: counted lost), or
 * if a write it checks failed (the API reports that data lost). */
static uint64_t verify_outcome(struct wl_thread *t, const struct pend *p)
{
	if (!fence_ok(t, p->f)) {
		t->reported_losses++;
		return 0;
	}
	for (unsigned i = 0; i < p->ndep; i++)
		if (!fence_ok(t, p->dep[i])) {
			t->reported_losses++;
			return 0;
		}
	return p->result;
}

static void harvest(struct wl_thread *t, bool wait)
{
	struct thread_priv *hp = t->hp;
	vidmm_t *vm = t->r->vm;

	while (hp->count) {
		struct pend *p = &hp->pend[hp->head];
		if (!vidmm_fence_signalled(vm, p->f)) {
			if (!wait)
				return;
			uint64_t t0 = wl_ticks();
			int ret = contract(t, CALL_WAIT_FENCE, vidmm_wait_fence(vm, p->f, FENCE_TIMEOUT_NS));
			if (stats_on(t))
				rec(t, WL_OP_WAIT, t0);
			if (ret) {
				/* The result never arrives: count the job as
				 * lost data rather than hang the run. */
				t->integrity_errors++;
				t->job_failures++;
				hp->head = (hp->head + 1) % PEND_N;
				hp->count--;
				continue;
			}
		}
		t->integrity_errors += verify_outcome(t, p);
		hp->head = (hp->head + 1) % PEND_N;
		hp->count--;
	}
}

static int wait_last(struct wl_thread *t)
{
	struct thread_priv *hp = t->hp;
	int ret = 0;

	if (hp->has_last) {
		uint64_t t0 = wl_ticks();
		ret = contract(t, CALL_WAIT_FENCE, vidmm_wait_fence(t->r->vm, hp->last, FENCE_TIMEOUT_NS));
		if (stats_on(t))
			rec(t, WL_OP_WAIT, t0);
		hp->has_last = false;
	}
	harvest(t, true);
	return ret;
}

int wl_sync(struct wl_thread *t)
{
	return wait_last(t);
}

int runner_raw_create(struct wl_thread *t, const struct vidmm_alloc_desc *d, uint64_t id,
		      vidmm_handle_t *h)
{
	uint64_t t0 = stats_on(t) ? wl_ticks() : 0;
	int ret = contract(t, CALL_CREATE, vidmm_create_allocation(t->r->vm, d, h));

	if (stats_on(t))
		rec(t, WL_OP_CREATE, t0);
	t->ops++;
	if (ret) {
		t->create_failures++;
		*h = 0;
	} else if (t->r->deterministic) {
		/* The clear of a new allocation runs on a copy engine; while it
		 * runs the allocation is busy, which eviction sees. A replay must
		 * see the same, so it does not race the engine. */
		vidmm_wait_idle(t->r->vm, FENCE_TIMEOUT_NS);
	}
	if (t->r->rs->c->trace)
		trace_op_create(t->r->rs->c->trace, id, d, ret);
	return ret;
}

int runner_raw_destroy(struct wl_thread *t, vidmm_handle_t h, uint64_t id)
{
	uint64_t t0 = stats_on(t) ? wl_ticks() : 0;
	int ret = contract(t, CALL_DESTROY, vidmm_destroy_allocation(t->r->vm, h));

	if (stats_on(t))
		rec(t, WL_OP_DESTROY, t0);
	t->ops++;
	if (t->r->rs->c->trace)
		trace_op_simple(t->r->rs->c->trace, 'd', id, ret);
	return ret;
}

/* vidmm_submit as every submit path of the runner makes it: timed, checked
 * against the contract, counted, recorded in the trace. */
static int submit_counted(struct wl_thread *t, struct vidmm_job *j, const uint64_t *ids,
			  struct vidmm_fence *f)
{
	uint64_t t0 = stats_on(t) ? wl_ticks() : 0;
	int ret = contract(t, CALL_SUBMIT, vidmm_submit(t->r->vm, j, f));

	if (stats_on(t))
		rec(t, WL_OP_SUBMIT, t0);
	t->ops++;
	if (t->r->rs->c->trace)
		trace_op_submit(t->r->rs->c->trace, j, ids, ret);
	if (ret)
		t->job_failures++;
	return ret;
}

int runner_raw_submit(struct wl_thread *t, const struct vidmm_job *job, const uint64_t *ids)
{
	struct thread_priv *hp = t->hp;
	struct vidmm_job j = *job;
	struct vidmm_fence f;
	struct pend *p = NULL;
	int ret;

	if (j.op == VIDMM_JOB_VERIFY) {
		if (hp->count == PEND_N) {
			/* Wait for the oldest result before reusing its slot. */
			struct pend *o = &hp->pend[hp->head];
			uint64_t t0 = wl_ticks();
			int w = contract(t, CALL_WAIT_FENCE, vidmm_wait_fence(t->r->vm, o->f, FENCE_TIMEOUT_NS));
			if (stats_on(t))
				rec(t, WL_OP_WAIT, t0);
			t->integrity_errors += w ? 1 : verify_outcome(t, o);
			hp->head = (hp->head + 1) % PEND_N;
			hp->count--;
		}
		p = &hp->pend[(hp->head + hp->count) % PEND_N];
		p->result = 0;
		p->ndep = hp->next_ndep;
		memcpy(p->dep, hp->next_dep, sizeof(p->dep));
		j.result = &p->result;
	} else {
		j.result = NULL;
	}
	hp->next_ndep = 0;
	ret = submit_counted(t, &j, ids, &f);
	if (ret)
		return ret;
	if (p) {
		p->f = f;
		hp->count++;
		t->verify_jobs++;
	}
	hp->last = f;
	hp->has_last = true;
	if (t->r->deterministic)
		wait_last(t);
	else if (hp->count)
		harvest(t, false);
	return 0;
}

static int raw_simple(struct wl_thread *t, char kind, vidmm_handle_t h, uint64_t id, void **cpu)
{
	uint64_t t0 = stats_on(t) ? wl_ticks() : 0;
	unsigned k;
	int ret;

	switch (kind) {
	case 'l':
		ret = contract(t, CALL_LOCK, vidmm_lock(t->r->vm, h, cpu));
		k = WL_OP_LOCK;
		break;
	case 'u':
		ret = contract(t, CALL_UNLOCK, vidmm_unlock(t->r->vm, h));
		k = WL_OP_UNLOCK;
		break;
	case 'o':
		ret = contract(t, CALL_SWAP_OUT, vidmm_swap_out(t->r->vm, h));
		k = WL_OP_EVICT;
		break;
	default:
		ret = contract(t, CALL_EVICT, vidmm_evict(t->r->vm, h));
		k = WL_OP_EVICT;
		break;
	}
	if (stats_on(t))
		rec(t, k, t0);
	t->ops++;
	if (t->r->rs->c->trace)
		trace_op_simple(t->r->rs->c->trace, kind, id, ret);
	return ret;
}

int runner_raw_lock(struct wl_thread *t, vidmm_handle_t h, uint64_t id)
{
	void *cpu;
	return raw_simple(t, 'l', h, id, &cpu);
}

int runner_raw_lock_cpu(struct wl_thread *t, vidmm_handle_t h, uint64_t id, void **cpu)
{
	return raw_simple(t, 'l', h, id, cpu);
}

int runner_raw_submit_expect(struct wl_thread *t, const struct vidmm_job *job,
			     const uint64_t *ids, uint64_t expect)
{
	struct vidmm_job j = *job;
	struct vidmm_fence f;
	uint64_t result = UINT64_MAX;
	int ret;

	j.result = &result;
	t->hp->next_ndep = 0;
	ret = submit_counted(t, &j, ids, &f);
	if (ret)
		return ret;
	if (contract(t, CALL_WAIT_FENCE, vidmm_wait_fence(t->r->vm, f, FENCE_TIMEOUT_NS))) {
		t->integrity_errors++;
		return 0;
	}
	/* A job the engine failed checked nothing: the API says so. */
	if (!fence_ok(t, f)) {
		t->reported_losses++;
		return 0;
	}
	t->verify_jobs++;
	if (result != expect)
		t->integrity_errors++;
	return 0;
}

int runner_raw_fault(struct wl_thread *t, const char *kind, uint64_t seed)
{
	for (int k = 0; k < INJ_KINDS; k++)
		if (strcmp(kind, inject_kind_name((enum inject_kind)k)) == 0) {
			uint64_t ft = t->r->rs->c->fence_timeout_ns ? t->r->rs->c->fence_timeout_ns
								   : 2000000000ull;
			return inject_fire_once(t->r->rs->pl, (enum inject_kind)k, seed, 3 * ft / 2);
		}
	return -EINVAL;
}

int runner_raw_unlock(struct wl_thread *t, vidmm_handle_t h, uint64_t id)
{
	return raw_simple(t, 'u', h, id, NULL);
}

int runner_raw_evict(struct wl_thread *t, vidmm_handle_t h, uint64_t id)
{
	return raw_simple(t, 'e', h, id, NULL);
}

int runner_raw_swap_out(struct wl_thread *t, vidmm_handle_t h, uint64_t id)
{
	return raw_simple(t, 'o', h, id, NULL);
}

/* A fresh pattern seed: from the run seed, so a verify run is replayable,
 * and never 0 (0 means "content unknown"). */
static uint64_t new_seed(struct wl_thread *t)
{
	uint64_t s = t->r->seed ^ (atomic_fetch_add(&t->r->rs->seed_ctr, 1) * 0xd1b54a32d192ed03ull);
	uint64_t v = splitmix(&s);
	return v ? v : 1;
}

/* Remember a write the next VERIFY checks (distinct fences; past
 * PEND_DEPS the oldest are not tracked, which only loses the excuse). */
static void add_dep(struct thread_priv *hp, struct vidmm_fence f)
{
	if (!f.value)
		return;
	for (unsigned i = 0; i < hp->next_ndep; i++)
		if (hp->next_dep[i].engine == f.engine && hp->next_dep[i].value == f.value)
			return;
	if (hp->next_ndep < PEND_DEPS)
		hp->next_dep[hp->next_ndep++] = f;
}

int wl_create(struct wl_thread *t, const struct vidmm_alloc_desc *d, struct wl_alloc *a)
{
	uint64_t id = atomic_fetch_add(&t->r->rs->next_id, 1);
	int ret = runner_raw_create(t, d, id, &a->h);

	a->id = id;
	a->size = d->size;
	a->seed = 0;
	if (ret || !t->r->verify)
		return ret;
	struct vidmm_job j = {
		.op = VIDMM_JOB_FILL, .seed = new_seed(t), .nrefs = 1,
		.refs = { { a->h, VIDMM_ACCESS_WRITE } },
	};
	if (runner_raw_submit(t, &j, &a->id) == 0) {
		a->seed = j.seed;
		a->wfence = t->hp->last;
	}
	return 0;
}

int wl_destroy(struct wl_thread *t, struct wl_alloc *a)
{
	int ret;

	if (!a->h)
		return -EBADF;
	if (t->r->verify && a->seed) {
		struct vidmm_job j = {
			.op = VIDMM_JOB_VERIFY, .seed = a->seed, .nrefs = 1,
			.refs = { { a->h, VIDMM_ACCESS_READ } },
		};
		add_dep(t->hp, a->wfence);
		runner_raw_submit(t, &j, &a->id);
	}
	ret = runner_raw_destroy(t, a->h, a->id);
	a->h = 0;
	a->seed = 0;
	return ret;
}

int wl_job(struct wl_thread *t, struct wl_alloc *const *refs, const uint32_t *access,
	   uint32_t n, struct vidmm_fence *fence)
{
	struct vidmm_job j;
	uint64_t ids[VIDMM_JOB_MAX_REFS];
	int ret = 0;

	if (n == 0 || n > VIDMM_JOB_MAX_REFS)
		return -EINVAL;
	if (!t->r->verify) {
		memset(&j, 0, offsetof(struct vidmm_job, refs));
		j.op = VIDMM_JOB_TOUCH;
		j.nrefs = n;
		for (uint32_t i = 0; i < n; i++) {
			j.refs[i].handle = refs[i]->h;
			j.refs[i].access = access[i];
			ids[i] = refs[i]->id;
		}
		ret = runner_raw_submit(t, &j, ids);
		if (!ret && fence)
			*fence = t->hp->last;
		return ret;
	}
	/* Verify: one VERIFY per group of read refs sharing a pattern seed. */
	bool done[VIDMM_JOB_MAX_REFS] = { false };
	for (uint32_t i = 0; i < n; i++) {
		if (done[i] || !(access[i] & VIDMM_ACCESS_READ) || !refs[i]->seed)
			continue;
		memset(&j, 0, offsetof(struct vidmm_job, refs));
		j.op = VIDMM_JOB_VERIFY;
		j.seed = refs[i]->seed;
		for (uint32_t k = i; k < n; k++) {
			if (done[k] || !(access[k] & VIDMM_ACCESS_READ) || refs[k]->seed != j.seed)
				continue;
			/* the same allocation twice in one job is refused */
			bool dup = false;
			for (uint32_t q = 0; q < j.nrefs; q++)
				dup |= j.refs[q].handle == refs[k]->h;
			done[k] = true;
			if (dup)
				continue;
			ids[j.nrefs] = refs[k]->id;
			j.refs[j.nrefs].handle = refs[k]->h;
			j.refs[j.nrefs].access = VIDMM_ACCESS_READ;
			j.nrefs++;
			add_dep(t->hp, refs[k]->wfence);
		}
		int r = runner_raw_submit(t, &j, ids);
		if (r && !ret)
			ret = r;
	}
	/* One FILL with a fresh pattern over the written refs. */
	memset(&j, 0, offsetof(struct vidmm_job, refs));
	j.op = VIDMM_JOB_FILL;
	j.seed = new_seed(t);
	for (uint32_t i = 0; i < n; i++) {
		if (!(access[i] & VIDMM_ACCESS_WRITE))
			continue;
		bool dup = false;
		for (uint32_t q = 0; q < j.nrefs; q++)
			dup |= j.refs[q].handle == refs[i]->h;
		if (dup)
			continue;
		ids[j.nrefs] = refs[i]->id;
		j.refs[j.nrefs].handle = refs[i]->h;
		j.refs[j.nrefs].access = VIDMM_ACCESS_WRITE;
		j.nrefs++;
	}
	if (j.nrefs) {
		int r = runner_raw_submit(t, &j, ids);
		if (!r) {
			for (uint32_t i = 0; i < n; i++)
				if (access[i] & VIDMM_ACCESS_WRITE) {
					refs[i]->seed = j.seed;
					refs[i]->wfence = t->hp->last;
				}
		} else if (!ret) {
			ret = r;
		}
	}
	if (fence && t->hp->has_last)
		*fence = t->hp->last;
	return ret;
}

int wl_lock(struct wl_thread *t, struct wl_alloc *a, void **cpu)
{
	int ret = raw_simple(t, 'l', a->h, a->id, cpu);

	if (ret || !t->r->verify || !a->seed)
		return ret;
	/* The lock waited for the GPU: a write the engine failed is reported
	 * lost, and the content is unknown from now on. */
	if (a->wfence.value && !fence_ok(t, a->wfence)) {
		t->reported_losses++;
		a->seed = 0;
		return 0;
	}
	/* The CPU's view must hold the same pattern the GPU wrote: checks the
	 * lock path (page-in for the CPU, contiguous PCIe remap) too. */
	const uint64_t *w = *cpu;
	uint64_t bad = 0, n = a->size / 8;
	for (uint64_t i = 0; i < n; i++)
		bad += w[i] != vidmm_pattern_word(a->seed, i * 8);
	t->integrity_errors += bad;
	return 0;
}

int wl_unlock(struct wl_thread *t, struct wl_alloc *a)
{
	return raw_simple(t, 'u', a->h, a->id, NULL);
}

int wl_evict(struct wl_thread *t, struct wl_alloc *a)
{
	return raw_simple(t, 'e', a->h, a->id, NULL);
}

int wl_swap_out(struct wl_thread *t, struct wl_alloc *a)
{
	return raw_simple(t, 'o', a->h, a->id, NULL);
}

void wl_hist(struct wl_thread *t, unsigned k, uint64_t ns)
{
	if (stats_on(t) && k < WL_MAX_HISTS)
		vidmm_hist_record(&t->hp->hist[WL_OP_COUNT + k], ns);
}

void wl_gauge(struct wl_run *r, const char *name, double v)
{
	struct runner_state *rs = r->rs;
	struct run_result *res = rs->res;

	pthread_mutex_lock(&rs->lock);
	unsigned i = 0;
	while (i < res->ngauges && strcmp(res->gauges[i].name, name) != 0)
		i++;
	if (i < WL_MAX_GAUGES) {
		if (i == res->ngauges) {
			snprintf(res->gauges[i].name, sizeof(res->gauges[i].name), "%s", name);
			res->ngauges++;
		}
		res->gauges[i].v = v;
	}
	pthread_mutex_unlock(&rs->lock);
}

int wl_run_check(struct wl_run *r)
{
	struct runner_state *rs = r->rs;
	int ret = vidmm_check(r->vm);

	if (ret) {
		pthread_mutex_lock(&rs->lock);
		if (!rs->res->check_failed) {
			rs->res->check_failed = true;
			snprintf(rs->res->check_err, sizeof(rs->res->check_err), "%s",
				 ret == -EUCLEAN ? vidmm_check_error(r->vm) : vidmm_strerror(ret));
		}
		pthread_mutex_unlock(&rs->lock);
	}
	return ret;
}

int wl_check(struct wl_thread *t)
{
	return wl_run_check(t->r);
}

/* ---- threads -------------------------------------------------------------------- */

static void *worker(void *arg)
{
	struct wl_thread *t = arg;
	struct runner_state *rs = t->r->rs;

	if (rs->pinned)
		pin_thread(&rs->pin, t->idx);
	t->hp->ret = rs->c->w->thread(t);
	wait_last(t);
	return NULL;
}

static void sample(struct runner_state *rs, double t_s)
{
	struct run_result *res = rs->res;
	struct vidmm_stats st;
	uint64_t ops = 0;

	if (vidmm_query_stats(rs->run.vm, &st))
		return;
	for (unsigned i = 0; i < rs->run.nthreads; i++)
		ops += atomic_load_explicit(&rs->threads[i].hp->ops_seen, memory_order_relaxed);
	if (res->nsamples == rs->cap_samples) {
		size_t nc = rs->cap_samples ? rs->cap_samples * 2 : 256;
		struct run_sample *n = realloc(res->samples, nc * sizeof(*n));
		if (!n)
			return;
		res->samples = n;
		rs->cap_samples = nc;
	}
	struct run_sample *s = &res->samples[res->nsamples++];
	memset(s, 0, sizeof(*s));
	s->t_s = t_s;
	for (uint32_t i = 0; i < st.nsegments && i < VIDMM_MAX_SEGMENTS; i++)
		s->resident[i] = metrics_seg_resident(&st.seg[i]);
	s->sysmem_pages = st.sysmem_pages_used;
	s->evicted_bytes = st.evicted_bytes;
	s->page_outs = st.page_outs;
	s->page_ins = st.page_ins;
	s->alloc_failures = st.alloc_failures;
	s->dummy_page_faults = st.dummy_page_faults;
	s->swap_used_bytes = st.swap_used_bytes;
	s->ops = ops;
}

static void progress(struct runner_state *rs, double el)
{
	const struct run_config *c = rs->c;
	uint64_t ops = 0;
	double frac;
	char bar[31];

	for (unsigned i = 0; i < rs->run.nthreads; i++)
		ops += atomic_load_explicit(&rs->threads[i].hp->ops_seen, memory_order_relaxed);
	if (c->duration_s > 0)
		frac = el / c->duration_s;
	else
		frac = c->ops_limit ? (double)ops / (double)c->ops_limit : 0;
	if (frac > 1)
		frac = 1;
	int fill = (int)(frac * 30);
	memset(bar, '=', (size_t)fill);
	memset(bar + fill, ' ', (size_t)(30 - fill));
	bar[30] = 0;
	fprintf(stderr, "\r%-14s [%s] %3.0f%% %6.1fs %10" PRIu64 " ops %9.0f ops/s", c->w->name,
		bar, frac * 100, el, ops, el > 0 ? (double)ops / el : 0.0);
	fflush(stderr);
}

static void *sampler(void *arg)
{
	struct runner_state *rs = arg;
	const struct run_config *c = rs->c;
	const uint64_t period = 100ull * 1000 * 1000;
	uint64_t next = rs->t0_ns + period;

	pthread_mutex_lock(&rs->lock);
	while (!rs->done) {
		uint64_t now = mono_ns();
		uint64_t deadline = c->duration_s > 0 ? rs->t0_ns + (uint64_t)(c->duration_s * 1e9)
						      : UINT64_MAX;
		if (now >= deadline)
			atomic_store(&rs->stop, true);
		if (now >= next) {
			double el = (double)(now - rs->t0_ns) * 1e-9;
			pthread_mutex_unlock(&rs->lock);
			if (c->stats)
				sample(rs, el);
			if (c->progress)
				progress(rs, el);
			pthread_mutex_lock(&rs->lock);
			next += period;
			if (next < now)
				next = now + period;
			continue;
		}
		uint64_t wake = next < deadline ? next : deadline;
		if (wake <= now)
			wake = now + 1000000;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t abs_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec +
				  (wake - now);
		ts.tv_sec = (time_t)(abs_ns / 1000000000ull);
		ts.tv_nsec = (long)(abs_ns % 1000000000ull);
		pthread_cond_timedwait(&rs->cond, &rs->lock, &ts);
	}
	pthread_mutex_unlock(&rs->lock);
	if (c->progress)
		fprintf(stderr, "\r\033[K");
	return NULL;
}

/* ---- the run ---------------------------------------------------------------------- */

void runner_result_free(struct run_result *res)
{
	free(res->hist);
	free(res->vm_hist);
	free(res->samples);
	memset(res, 0, sizeof(*res));
}

static void fail(struct run_result *res, const char *why)
{
	if (!res->failed)
		snprintf(res->fail_reason, sizeof(res->fail_reason), "%s", why);
	res->failed = true;
}

int runner_run(const struct run_config *c, struct run_result *res, char *err, size_t len)
{
	struct runner_state *rs;
	struct platform pl;
	struct platform_opts po = {
		.paging_mode = c->paging_mode,
		.swap_dir = c->swap_dir[0] ? c->swap_dir : NULL,
		/* reclaim runs on its own clock: off where a run must replay */
		.no_background_reclaim = c->deterministic,
		.fence_timeout_ns = c->fence_timeout_ns,
		.no_clear_on_create = c->no_clear,
	};
	struct inject_run *inj = NULL;
	struct perf_group pg;
	struct rusage ru0, ru1;
	pthread_t samp;
	int ret;

	runner_ns_per_tick();
	memset(res, 0, sizeof(*res));
	res->hist = calloc(RUN_NHISTS, sizeof(struct vidmm_hist));
	res->vm_hist = calloc(RUN_VM_HISTS, sizeof(struct vidmm_hist));
	rs = calloc(1, sizeof(*rs));
	if (!res->hist || !res->vm_hist || !rs) {
		free(rs);
		runner_result_free(res);
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	for (unsigned k = 0; k < RUN_NHISTS; k++)
		vidmm_hist_init(&res->hist[k]);
	rs->c = c;
	rs->res = res;
	pthread_mutex_init(&rs->lock, NULL);
	pthread_cond_init(&rs->cond, NULL);

	ret = platform_open_opts(&c->profile, c->driver, &po, &pl, err, len);
	if (ret) {
		/* name the configuration the manager refused: the profile and
		 * its capacity overrides */
		char why[400];
		snprintf(why, sizeof(why), "%s", err);
		if (c->swap_dir[0] && strstr(why, "swap"))
			snprintf(err, len, "--swap-dir %s: %s", c->swap_dir, why);
		else
			snprintf(err, len, "profile %s (with any capacity overrides): %s",
				 c->profile.name, why);
		free(rs);
		runner_result_free(res);
		return ret;
	}

	struct wl_run *r = &rs->run;
	rs->pl = &pl;
	r->w = c->w;
	r->vm = pl.vm;
	r->prof = &pl.profile;
	r->seed = c->seed;
	r->nthreads = c->threads;
	r->verify = c->verify;
	r->deterministic = c->deterministic;
	r->priv = c->wl_arg;
	r->rs = rs;
	r->page_size = c->profile.page_size;
	r->local_visible = c->profile.local_visible;
	r->local_bytes = c->profile.local_visible + c->profile.local_invisible;
	r->pcie_bytes = c->profile.pcie_snooped + c->profile.pcie_unsnooped;
	r->sysmem_bytes = c->profile.sysmem;
	{
		struct vidmm_segment_info si[VIDMM_MAX_SEGMENTS];
		uint32_t n = 0;
		vidmm_query_segments(pl.vm, si, VIDMM_MAX_SEGMENTS, &n);
		for (uint32_t i = 0; i < n && r->n_seg_local < 2; i++)
			if (si[i].flags & VIDMM_SEG_LOCAL)
				r->seg_local[r->n_seg_local++] = si[i].id;
	}
	if (c->w->setup) {
		ret = c->w->setup(r);
		if (ret) {
			snprintf(err, len, "%s", r->err[0] ? r->err : "workload setup failed");
			platform_close(&pl);
			free(rs);
			runner_result_free(res);
			return ret;
		}
	}

	rs->threads = calloc(c->threads, sizeof(*rs->threads));
	struct thread_priv *hps = calloc(c->threads, sizeof(*hps));
	if (!rs->threads || !hps) {
		snprintf(err, len, "out of memory");
		ret = -ENOMEM;
		goto out_setup;
	}
	for (unsigned i = 0; i < c->threads; i++) {
		struct wl_thread *t = &rs->threads[i];
		uint64_t s = c->seed + 0x632be59bd9b4e019ull * (i + 1);
		t->r = r;
		t->idx = i;
		t->hp = &hps[i];
		for (int k = 0; k < 4; k++)
			t->rng[k] = splitmix(&s);
		for (unsigned k = 0; k < RUN_NHISTS; k++)
			vidmm_hist_init(&hps[i].hist[k]);
	}
	if (c->pin) {
		if (pin_init(&rs->pin) == 0) {
			rs->pinned = true;
			pin_topology_summary(&rs->pin, res->topology, sizeof(res->topology));
		} else {
			snprintf(res->topology, sizeof(res->topology), "unavailable (pin_init failed)");
		}
	}
	if (c->perf) {
		int pr = perf_open(&pg, 0);
		if (pr == 0) {
			res->perf_ok = true;
			perf_group_summary(&pg, res->perf_summary, sizeof(res->perf_summary));
		} else {
			snprintf(res->perf_summary, sizeof(res->perf_summary),
				 "perf_event_open unavailable: %s", strerror(-pr));
		}
	}

	/* Faults from the first operation to the last: armed now, after the
	 * workload's setup. Late and delayed commands come a few fence
	 * timeouts late, so waits for them do time out. */
	{
		uint64_t ft = c->fence_timeout_ns ? c->fence_timeout_ns : 2000000000ull;
		uint64_t late = ft < 5000000ull ? 3 * ft : 5000000ull + ft / 1000;
		ret = inject_start(&c->inject, &pl, c->seed, c->duration_s, late, &inj, err, len);
		if (ret)
			goto out_setup;
	}
	getrusage(RUSAGE_SELF, &ru0);
	if (res->perf_ok)
		perf_start(&pg);
	rs->t0_ns = mono_ns();
	for (unsigned i = 0; i < c->threads; i++) {
		if (pthread_create(&hps[i].tid, NULL, worker, &rs->threads[i])) {
			atomic_store(&rs->stop, true);
			for (unsigned k = 0; k < i; k++)
				pthread_join(hps[k].tid, NULL);
			snprintf(err, len, "--threads: cannot start thread %u", i);
			ret = -EAGAIN;
			goto out_setup;
		}
	}
	pthread_create(&samp, NULL, sampler, rs);
	for (unsigned i = 0; i < c->threads; i++)
		pthread_join(hps[i].tid, NULL);
	uint64_t t1 = mono_ns();
	pthread_mutex_lock(&rs->lock);
	rs->done = true;
	pthread_cond_signal(&rs->cond);
	pthread_mutex_unlock(&rs->lock);
	pthread_join(samp, NULL);
	inject_stop(inj, res->faults);
	inj = NULL;
	if (res->perf_ok) {
		struct perf_counts pc;
		perf_stop(&pg);
		if (perf_read(&pg, &pc) == 0) {
			for (unsigned i = 0; i < pc.n && i < 16; i++) {
				snprintf(res->perf_name[i], sizeof(res->perf_name[i]), "%s", pc.c[i].name);
				res->perf_value[i] = pc.c[i].value;
				res->perf_scaled[i] = pc.c[i].scaled;
			}
			res->nperf = pc.n < 16 ? pc.n : 16;
		}
		perf_close(&pg);
	}
	getrusage(RUSAGE_SELF, &ru1);
	if (rs->pinned)
		pin_fini(&rs->pin);

	res->duration_s = (double)(t1 - rs->t0_ns) * 1e-9;
	for (unsigned i = 0; i < c->threads; i++) {
		struct wl_thread *t = &rs->threads[i];
		res->ops += t->ops;
		res->units += t->units;
		res->create_failures += t->create_failures;
		res->job_failures += t->job_failures;
		res->integrity_errors += t->integrity_errors;
		res->reported_losses += t->reported_losses;
		res->verify_jobs += t->verify_jobs;
		for (int k = 0; k < WL_MAX_COUNTERS; k++)
			res->ctr[k] += t->ctr[k];
		for (unsigned k = 0; k < RUN_NHISTS; k++)
			vidmm_hist_merge(&res->hist[k], &hps[i].hist[k]);
		if (hps[i].ret && !res->workload_error)
			res->workload_error = hps[i].ret;
	}
	if (c->w->teardown)
		c->w->teardown(r);
	res->undocumented = atomic_load(&rs->undocumented);
	vidmm_query_stats(pl.vm, &res->st);
	vidmm_query_segments(pl.vm, res->segs, VIDMM_MAX_SEGMENTS, &res->nsegs);
	for (int k = 0; k < RUN_VM_HISTS; k++)
		if (vidmm_query_histogram(pl.vm, (enum vidmm_hist_id)k, &res->vm_hist[k]))
			vidmm_hist_init(&res->vm_hist[k]);
	if (vidmm_check(pl.vm) && !res->check_failed) {
		res->check_failed = true;
		snprintf(res->check_err, sizeof(res->check_err), "%s", vidmm_check_error(pl.vm));
	}
	res->peak_rss_kib = ru1.ru_maxrss;
	res->minor_faults = ru1.ru_minflt - ru0.ru_minflt;
	res->major_faults = ru1.ru_majflt - ru0.ru_majflt;

	char why[320];
	if (res->integrity_errors) {
		snprintf(why, sizeof(why), "%" PRIu64 " integrity errors", res->integrity_errors);
		fail(res, why);
	}
	if (res->check_failed) {
		snprintf(why, sizeof(why), "vidmm_check: %s", res->check_err);
		fail(res, why);
	}
	/* Checksum failures are what injected corruption must produce (each
	 * read of a corrupted slot fails again); without it they are lost data. */
	if (res->st.swap_checksum_failures && !res->faults[INJ_CORRUPT]) {
		snprintf(why, sizeof(why), "%" PRIu64 " swap-in checksum failures",
			 (uint64_t)res->st.swap_checksum_failures);
		fail(res, why);
	}
	/* A copy that ran after the manager stopped waiting for it may go
	 * through a window already pointed back at the dummy page: those
	 * accesses are accounted for (late_unmapped_pages); any other is a
	 * GPU access to memory nobody mapped. */
	if (c->verify && res->st.dummy_page_faults > res->st.late_unmapped_pages) {
		snprintf(why, sizeof(why), "%" PRIu64 " dummy-page faults in a verify run (%" PRIu64
			 " explained by late copies)", (uint64_t)res->st.dummy_page_faults,
			 (uint64_t)res->st.late_unmapped_pages);
		fail(res, why);
	}
	if (res->workload_error) {
		snprintf(why, sizeof(why), "workload %s: %s", c->w->name,
			 vidmm_strerror(res->workload_error));
		fail(res, why);
	}
	if (res->undocumented) {
		snprintf(why, sizeof(why), "%" PRIu64 " undocumented return codes, the first: %s",
			 res->undocumented, res->undocumented_first);
		fail(res, why);
	}
	ret = 0;
	platform_close(&pl);
	free(hps);
	free(rs->threads);
	pthread_mutex_destroy(&rs->lock);
	pthread_cond_destroy(&rs->cond);
	free(rs);
	return 0;

out_setup:
	inject_stop(inj, NULL);
	if (c->w->teardown)
		c->w->teardown(r);
	platform_close(&pl);
	free(hps);
	free(rs->threads);
	free(rs);
	runner_result_free(res);
	return ret;
}
