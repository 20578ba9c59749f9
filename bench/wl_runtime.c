/* SPDX-License-Identifier: MIT */
/*
 * wl_runtime.c - the calls workloads make (workloads/workload.h): parameters,
 * randomness, and every manager call timed, counted, checked against the
 * documented errnos (bench/contract.h), recorded in the trace, and, in
 * verify runs, paired with the FILL and VERIFY jobs that check the data.
 *
 * Owns: what a wl_* call does around the manager call. Must not: hold a
 * lock across a manager call that can wait for the GPU, or decide when a
 * run starts or stops (runner.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner_internal.h"
#include "contract.h"
#include "trace.h"
#include "timeline.h"

const char *const wl_op_names[WL_OP_COUNT] = {
	"create", "destroy", "submit", "wait", "lock", "unlock", "evict",
};

/* ---- parameters ------------------------------------------------------------ */

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

void wl_begin(struct wl_thread *t)
{
	window_thread_begin(t);
}

void wl_end(struct wl_thread *t)
{
	window_thread_end(t);
}

bool wl_continue(struct wl_thread *t)
{
	struct runner_state *rs = t->r->rs;
	struct thread_priv *hp = t->hp;

	/* a relaxed store is a plain mov: the sampler reads this, not t->ops */
	atomic_store_explicit(&hp->ops_seen, t->ops, memory_order_relaxed);
	atomic_store_explicit(&hp->units_seen, t->units, memory_order_relaxed);
	int ph = atomic_load_explicit(&rs->phase, memory_order_relaxed);
	if (ph != hp->seen_phase)
		window_observe(t, ph);
	if (atomic_load_explicit(&rs->stop, memory_order_relaxed)) {
		if (hp->begun)
			window_thread_end(t);
		return false;
	}
	if (rs->c->ops_limit && hp->measuring) {
		/* --ops counts measured calls: setup and teardown are not. */
		uint64_t d = t->ops - hp->ops_flushed;
		hp->ops_flushed = t->ops;
		uint64_t tot = atomic_fetch_add_explicit(&rs->ops, d, memory_order_relaxed) + d;
		if (tot >= rs->c->ops_limit) {
			window_move(rs, PH_MEASURE, PH_DRAIN);
			window_thread_end(t);
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

/* A manager call: a slice of the timeline (--timeline) on this thread, then
 * checked against the contract. The time is taken before the call is
 * evaluated, which a plain function argument could not promise. */
#define api_call(t, call, expr)                                            \
	__extension__({                                                    \
		uint64_t api_t0_ = timeline_active ? timeline_now() : 0;   \
		int api_r_ = (expr);                                       \
		if (api_t0_)                                               \
			timeline_api((call), api_t0_, api_r_);             \
		contract((t), (call), api_r_);                             \
	})

/* A completed command the engine did not fail. -ENODATA (so many failures
 * since that the engine forgot) counts as failed: then nobody can tell. */
static bool fence_ok(struct wl_thread *t, struct vidmm_fence f)
{
	int st = api_call(t, CALL_FENCE_STATUS, vidmm_fence_status(t->r->vm, f));
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
			int ret = api_call(t, CALL_WAIT_FENCE, vidmm_wait_fence(vm, p->f, FENCE_TIMEOUT_NS));
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
		ret = api_call(t, CALL_WAIT_FENCE, vidmm_wait_fence(t->r->vm, hp->last, FENCE_TIMEOUT_NS));
		if (stats_on(t))
			rec(t, WL_OP_WAIT, t0);
		hp->has_last = false;
	}
	harvest(t, true);
	return ret;
}

void runtime_thread_done(struct wl_thread *t)
{
	wait_last(t);
}

int wl_sync(struct wl_thread *t)
{
	return wait_last(t);
}

int runner_raw_create(struct wl_thread *t, const struct vidmm_alloc_desc *d, uint64_t id,
		      vidmm_handle_t *h)
{
	uint64_t t0 = stats_on(t) ? wl_ticks() : 0;
	int ret = api_call(t, CALL_CREATE, vidmm_create_allocation(t->r->vm, d, h));

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
	int ret = api_call(t, CALL_DESTROY, vidmm_destroy_allocation(t->r->vm, h));

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
	int ret = api_call(t, CALL_SUBMIT, vidmm_submit(t->r->vm, j, f));

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
			int w = api_call(t, CALL_WAIT_FENCE, vidmm_wait_fence(t->r->vm, o->f, FENCE_TIMEOUT_NS));
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
		ret = api_call(t, CALL_LOCK, vidmm_lock(t->r->vm, h, cpu));
		k = WL_OP_LOCK;
		break;
	case 'u':
		ret = api_call(t, CALL_UNLOCK, vidmm_unlock(t->r->vm, h));
		k = WL_OP_UNLOCK;
		break;
	case 'o':
		ret = api_call(t, CALL_SWAP_OUT, vidmm_swap_out(t->r->vm, h));
		k = WL_OP_EVICT;
		break;
	default:
		ret = api_call(t, CALL_EVICT, vidmm_evict(t->r->vm, h));
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
	if (api_call(t, CALL_WAIT_FENCE, vidmm_wait_fence(t->r->vm, f, FENCE_TIMEOUT_NS))) {
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
	uint64_t v = runner_splitmix(&s);
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
	 * lost, and nothing is checked. a is not changed: a client may hold a
	 * only to read (the shared workload's read lock, with other readers
	 * looking at a->seed); every later check asks about the same failed
	 * write and excuses it the same way, as verify_outcome does, until a
	 * writer gives a a new pattern. */
	if (a->wfence.value && !fence_ok(t, a->wfence)) {
		t->reported_losses++;
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

uint64_t wl_result_units(const struct wl_run *r)
{
	return r->rs->res->units;
}

uint64_t wl_result_counter(const struct wl_run *r, unsigned k)
{
	return k < WL_MAX_COUNTERS ? r->rs->res->ctr[k] : 0;
}

void wl_note(struct wl_run *r, const char *fmt, ...)
{
	struct run_result *res = r->rs->res;
	char buf[sizeof(res->notes[0])];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&r->rs->lock);
	runner_note(res, "%s", buf);
	pthread_mutex_unlock(&r->rs->lock);
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

