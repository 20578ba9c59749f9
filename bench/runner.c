/* SPDX-License-Identifier: MIT */
/*
 * runner.c - runs one workload (see runner.h): a fresh chip and manager,
 * the workload's setup, worker threads, the measured window, the sampler
 * thread (time series every 100 ms, progress bar, deadline), perf/pin hooks,
 * rusage, and the checks that decide whether the run passed. The wl_* calls
 * the workers make are in wl_runtime.c.
 *
 * Owns: when a run starts, measures and stops. Must not: hold a lock of its
 * own across a manager call that can wait for the GPU, parse options, or
 * write results files.
 *
 * Timing uses the TSC where it is invariant (constant_tsc + nonstop_tsc):
 * two clock_gettime calls per operation cost ~5% of a 500 ns allocation,
 * more than the 3% budget the statistics may add; two rdtsc cost ~1%.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
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

#include "runner_internal.h"
#include "units.h"
#include "metrics.h"
#include "perf.h"
#include "timeline.h"

/* ---- time ---------------------------------------------------------------- */

uint64_t runner_mono_ns(void)
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
	uint64_t n0 = runner_mono_ns(), c0 = __rdtsc();
	struct timespec d = { 0, 20 * 1000 * 1000 };
	nanosleep(&d, NULL);
	uint64_t n1 = runner_mono_ns(), c1 = __rdtsc();
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
	return runner_mono_ns();
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

/* ---- threads -------------------------------------------------------------------- */

static volatile sig_atomic_t interrupt_flag;

void runner_interrupt(void)
{
	interrupt_flag = 1;
}

bool runner_interrupted(void)
{
	return interrupt_flag != 0;
}

static void *worker(void *arg)
{
	struct wl_thread *t = arg;
	struct runner_state *rs = t->r->rs;
	char name[16];

	/* perf report --sort comm, /proc/PID/task/.../comm and the timeline
	 * show client threads by this name. */
	snprintf(name, sizeof(name), "vidmm-w%u", t->idx);
	pthread_setname_np(pthread_self(), name);
	if (rs->pinned)
		pin_thread(&rs->pin, t->idx);
	t->hp->ret = rs->c->w->thread(t);
	window_thread_end(t);
	runtime_thread_done(t);
	return NULL;
}

static uint64_t ops_now(struct runner_state *rs)
{
	uint64_t ops = 0;

	for (unsigned i = 0; i < rs->run.nthreads; i++)
		ops += atomic_load_explicit(&rs->threads[i].hp->ops_seen, memory_order_relaxed);
	return ops;
}

static uint64_t units_now(struct runner_state *rs)
{
	uint64_t u = 0;

	for (unsigned i = 0; i < rs->run.nthreads; i++)
		u += atomic_load_explicit(&rs->threads[i].hp->units_seen, memory_order_relaxed);
	return u;
}

/* A window of --duration that holds fewer than RUN_MIN_UNITS units (a slow
 * machine, a sanitizer build, a coarse unit) stays open until it holds them,
 * as Google Benchmark runs more iterations until its minimum time: at most
 * this many times --duration, after which the run is inconclusive. */
#define WINDOW_STRETCH_MAX 10

/* The timeline's counters (--timeline) from one query of the manager. */
static void timeline_counters(const struct runner_state *rs, const struct vidmm_stats *st)
{
	for (uint32_t i = 0; i < st->nsegments && i < VIDMM_MAX_SEGMENTS; i++)
		timeline_counter_segment(i, st->seg[i].total - st->seg[i].free, st->seg[i].free,
					 st->seg[i].largest_free);
	timeline_counter_system(st->sysmem_pages_used * rs->c->profile.page_size,
				st->swap_used_bytes);
}

static void sample(struct runner_state *rs, double t_s)
{
	struct run_result *res = rs->res;
	struct vidmm_stats st;

	if (vidmm_query_stats(rs->run.vm, &st))
		return;
	if (timeline_active)
		timeline_counters(rs, &st);
	if (!rs->c->stats)
		return;
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
	s->swap_out_bytes = st.bytes_swapped_out;
	s->swap_in_bytes = st.bytes_swapped_in;
	s->ops = ops_now(rs);
}

/* The progress line says which phase the run is in: a long setup is not a
 * measurement that hangs at 100%. */
static void progress(struct runner_state *rs, uint64_t now, uint64_t ops_ws)
{
	const struct run_config *c = rs->c;
	uint64_t ops = ops_now(rs);
	double el = (double)(now - rs->t0_ns) * 1e-9;
	const char *name = c->w->name;

	switch (atomic_load(&rs->phase)) {
	case PH_SETUP:
		fprintf(stderr, "\r%-14s setup: %5.1f s, %" PRIu64 " calls\033[K", name, el, ops);
		break;
	case PH_WARMUP: {
		double w = (double)(now - atomic_load(&rs->t_warm_ns)) * 1e-9;
		fprintf(stderr, "\r%-14s warm-up: %4.1f of %.1f s\033[K", name, w, c->warmup_s);
		break;
	}
	case PH_MEASURE: {
		double m = (double)(now - atomic_load(&rs->t_ws_ns)) * 1e-9, frac;
		uint64_t mops = ops - ops_ws;
		char bar[31];
		if (c->duration_s > 0)
			frac = m / c->duration_s;
		else
			frac = c->ops_limit ? (double)mops / (double)c->ops_limit : 0;
		if (frac > 1)
			frac = 1;
		int fill = (int)(frac * 30);
		memset(bar, '=', (size_t)fill);
		memset(bar + fill, ' ', (size_t)(30 - fill));
		bar[30] = 0;
		fprintf(stderr, "\r%-14s [%s] %3.0f%% %6.1f s %10" PRIu64 " calls %9.0f/s\033[K",
			name, bar, frac * 100, m, mops, m > 0 ? (double)mops / m : 0.0);
		break;
	}
	default: {
		uint64_t we = atomic_load(&rs->t_we_ns);
		fprintf(stderr, "\r%-14s teardown: %4.1f s\033[K", name,
			we ? (double)(now - we) * 1e-9 : 0.0);
		break;
	}
	}
	fflush(stderr);
}

/* How long setup may run before the run is stopped as failed. */
static uint64_t setup_limit_ns(const struct run_config *c)
{
	double s = c->setup_limit_s > 0 ? c->setup_limit_s
					: (10.0 * c->duration_s > 60.0 ? 10.0 * c->duration_s : 60.0);
	return (uint64_t)(s * 1e9);
}

static void *sampler(void *arg)
{
	struct runner_state *rs = arg;
	const struct run_config *c = rs->c;
	const uint64_t period = 100ull * 1000 * 1000;
	uint64_t next = rs->t0_ns + period, ops_ws = 0, units_ws = 0;
	bool saw_measure = false;

	pthread_setname_np(pthread_self(), "vidmm-sampler");

	for (;;) {
		pthread_mutex_lock(&rs->lock);
		bool done = rs->done;
		pthread_mutex_unlock(&rs->lock);
		if (done)
			break;
		uint64_t now = runner_mono_ns();
		int ph = atomic_load(&rs->phase);
		/* Written here only, read after every thread has been joined. */
		if (interrupt_flag && ph != PH_DRAIN) {
			rs->res->interrupted = true;
			window_stop(rs);
			ph = PH_DRAIN;
		}
		if (ph == PH_SETUP && now - rs->t0_ns >= setup_limit_ns(c)) {
			rs->res->setup_overrun = true;
			window_stop(rs);
			ph = PH_DRAIN;
		}
		uint64_t warm_end = UINT64_MAX, deadline = UINT64_MAX;
		if (ph == PH_WARMUP) {
			uint64_t tw = atomic_load(&rs->t_warm_ns);
			/* not stamped yet (as for the window below): look again soon */
			warm_end = tw ? tw + (uint64_t)(c->warmup_s * 1e9) : now + period / 10;
			if (now >= warm_end && window_move(rs, PH_WARMUP, PH_MEASURE))
				ph = PH_MEASURE;
		}
		if (ph == PH_MEASURE) {
			if (!saw_measure) {
				ops_ws = ops_now(rs);
				units_ws = units_now(rs);
				saw_measure = true;
			}
			uint64_t ws = atomic_load(&rs->t_ws_ns);
			/* The phase moves before the mover stamps the start: a
			 * window without its start yet is looked at again soon,
			 * never closed at once as if it had opened at time 0. */
			if (c->duration_s > 0 && !ws) {
				deadline = now + period / 10;
			} else if (c->duration_s > 0) {
				uint64_t d = (uint64_t)(c->duration_s * 1e9);
				deadline = ws + d;
				/* A thread that finishes a unit just after the window
				 * opened counts it before it sees the window: the
				 * sampler counts it, the window does not. Hence the
				 * margin of one unit per thread. */
				if (now >= deadline && c->w->unit &&
				    units_now(rs) - units_ws < RUN_MIN_UNITS + rs->run.nthreads &&
				    now < ws + WINDOW_STRETCH_MAX * d) {
					rs->extended = true;
					deadline = now + period / 10;
				} else if (now >= deadline) {
					window_move(rs, PH_MEASURE, PH_DRAIN);
				}
			}
		}
		if (now >= next) {
			double el = (double)(now - rs->t0_ns) * 1e-9;
			if (c->stats || timeline_active)
				sample(rs, el);
			if (c->progress)
				progress(rs, now, ops_ws);
			next += period;
			if (next < now)
				next = now + period;
			continue;
		}
		uint64_t wake = next;
		if (deadline < wake)
			wake = deadline;
		if (warm_end < wake)
			wake = warm_end;
		if (ph == PH_SETUP && rs->t0_ns + setup_limit_ns(c) < wake)
			wake = rs->t0_ns + setup_limit_ns(c);
		if (wake <= now)
			wake = now + 1000000;
		struct timespec ts = { .tv_sec = (time_t)(wake / 1000000000ull),
				       .tv_nsec = (long)(wake % 1000000000ull) };
		pthread_mutex_lock(&rs->lock);
		if (!rs->done && !rs->kick)
			pthread_cond_timedwait(&rs->cond, &rs->lock, &ts);
		rs->kick = false;
		pthread_mutex_unlock(&rs->lock);
	}
	if (c->progress)
		fprintf(stderr, "\r\033[K");
	return NULL;
}

/* ---- the run ---------------------------------------------------------------------- */

void runner_result_free(struct run_result *res)
{
	free(res->hist);
	free(res->vm_hist);
	free(res->locks);
	free(res->samples);
	memset(res, 0, sizeof(*res));
}

void runner_note(struct run_result *res, const char *fmt, ...)
{
	va_list ap;

	if (res->nnotes >= RUN_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(res->notes[res->nnotes++], sizeof(res->notes[0]), fmt, ap);
	va_end(ap);
}

static void fail(struct run_result *res, const char *why)
{
	if (!res->failed)
		snprintf(res->fail_reason, sizeof(res->fail_reason), "%s", why);
	res->failed = true;
}

int runner_run_repetition(const struct run_config *c, struct run_result *res, unsigned *budget,
			  const char *label, char *err, size_t len)
{
	unsigned again = 0;

	for (;;) {
		int ret = runner_run(c, res, err, len);
		if (ret)
			return ret;
		/* A timeline shows every run that was made: none is replaced. */
		if (!res->host_busy || res->interrupted || timeline_active || !*budget)
			break;
		printf("%s: the machine was busy during the measured window (other processes "
		       "%.2f, hypervisor %.2f of %u CPUs): ", label, res->host.other_cpus,
		       res->host.steal_cpus, res->host.ncpu);
		fflush(stdout);
		runner_result_free(res);
		/* A neighbour runs for seconds: measuring again at once would
		 * mostly meet it again. */
		double w = hostload_wait_quiet(runner_host_limit(c), 0.25, 10.0);
		if (w < 0) {
			/* Busy throughout: measuring again would only wait again.
			 * The rest of the series is measured as the machine is. */
			printf("it stayed busy for %.0f s; measured again, and no other "
			       "repetition will be\n", -w);
			*budget = 0;
		} else {
			printf("measured again once it was quiet for 0.25 s (after %.1f s)\n", w);
			(*budget)--;
		}
		fflush(stdout);
		again++;
	}
	res->host_remeasured = again;
	if (again)
		runner_note(res, "%u earlier attempt%s of this repetition ran on a busy machine "
			    "and %s measured again", again, again == 1 ? "" : "s",
			    again == 1 ? "was" : "were");
	return 0;
}

int runner_run(const struct run_config *c, struct run_result *res, char *err, size_t len)
{
	struct runner_state *rs;
	struct platform pl;
	struct platform_opts po = {
		.paging_mode = c->paging_mode,
		.pipelined_paging = c->pipelined,
		.swap_dir = c->swap_dir[0] ? c->swap_dir : NULL,
		/* reclaim and asynchronous read-ahead run on their own clocks:
		 * off where a run must replay */
		.no_background_reclaim = c->deterministic,
		.no_async_readahead = c->deterministic,
		.fence_timeout_ns = c->fence_timeout_ns,
		.no_clear_on_create = c->no_clear,
		.evict_policy = c->evict_policy[0] ? c->evict_policy : NULL,
		.next_use = c->next_use,
		.next_use_arg = c->next_use_arg,
		.trace = timeline_active ? timeline_core_event : NULL,
		.emu_trace = timeline_active ? timeline_emu_cmd : NULL,
		.trace_arg = timeline_active,
		.device = c->device,
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
	res->locks = calloc(VIDMM_LOCK_CLASSES, sizeof(struct vidmm_lock_stats));
	rs = calloc(1, sizeof(*rs));
	if (!res->hist || !res->vm_hist || !res->locks || !rs) {
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
	/* The sampler's deadlines are CLOCK_MONOTONIC: so must the condition's
	 * clock be (with the default, CLOCK_REALTIME, every wait would have
	 * returned at once and the sampler spun on a core for the whole run). */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rs->cond, &ca);
	pthread_condattr_destroy(&ca);

	/* Before the chip and the manager start their threads: counters
	 * opened with inherit count the threads created after them only. */
	if (c->perf) {
		int pr = perf_open(&pg, 0);
		if (pr == 0) {
			res->perf_ok = true;
			rs->pg = &pg;
			perf_group_summary(&pg, res->perf_summary, sizeof(res->perf_summary));
		} else {
			snprintf(res->perf_summary, sizeof(res->perf_summary),
				 "perf_event_open unavailable: %s", strerror(-pr));
		}
	}
	ret = platform_open_opts(&c->profile, c->driver, &po, &pl, err, len);
	if (ret) {
		/* name the configuration the manager refused: the profile and
		 * its capacity overrides */
		char why[400];
		snprintf(why, sizeof(why), "%s", err);
		if (c->swap_dir[0] && strstr(why, "swap"))
			snprintf(err, len, "--swap-dir %s: %s", c->swap_dir, why);
		else if (ret == -ENXIO || ret == -ENODEV || strncmp(why, "--", 2) == 0)
			snprintf(err, len, "%s", why); /* the driver or device, not the profile */
		else
			snprintf(err, len, "profile %s (with any capacity overrides): %s",
				 c->profile.name, why);
		if (res->perf_ok)
			perf_close(&pg);
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
	/* the profile the chip was built from (a real device may clamp it) */
	r->page_size = pl.profile.page_size;
	r->local_visible = pl.profile.local_visible;
	r->local_bytes = pl.profile.local_visible + pl.profile.local_invisible;
	r->pcie_bytes = pl.profile.pcie_snooped + pl.profile.pcie_unsnooped;
	r->sysmem_bytes = pl.profile.sysmem;
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
			t->rng[k] = runner_splitmix(&s);
		for (unsigned k = 0; k < RUN_NHISTS; k++)
			vidmm_hist_init(&hps[i].hist[k]);
	}
	{
		/* Client threads and the emulated engines' threads want CPUs at
		 * the same time: more of them than cores, and every figure
		 * includes waiting for one (issue 17's --threads 2 on 2 cores). */
		struct vidmm_chip_engines en;
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		if (pl.ops->query_engines(pl.chip_ctx, &en) == 0 && ncpu > 0 &&
		    c->threads + en.n_copy + en.n_job > (unsigned long)ncpu)
			runner_note(res, "%u client thread%s and %u engine threads of the emulated "
				    "chip on %ld CPUs: they compete for cores, so the figures include "
				    "waiting for one", c->threads, c->threads == 1 ? "" : "s",
				    en.n_copy + en.n_job, ncpu);
	}
	if (c->pin) {
		if (pin_init(&rs->pin) == 0) {
			rs->pinned = true;
			pin_topology_summary(&rs->pin, res->topology, sizeof(res->topology));
			if (c->threads > pin_ncores(&rs->pin))
				runner_note(res, "--pin: %u threads on %u cores: threads share cores, so "
					    "per-thread figures include waiting for one", c->threads,
					    pin_ncores(&rs->pin));
		} else {
			snprintf(res->topology, sizeof(res->topology), "unavailable (pin_init failed)");
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
	rs->t0_ns = runner_mono_ns();
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
	uint64_t t1 = runner_mono_ns();
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
			/* the same events in the same order at both edges */
			if (rs->perf_have_ws && rs->perf_have_we && rs->perf_ws.n == pc.n &&
			    rs->perf_we.n == pc.n) {
				res->perf_window_ok = true;
				for (unsigned i = 0; i < res->nperf; i++)
					res->perf_window[i] = rs->perf_we.c[i].value -
							      rs->perf_ws.c[i].value;
			}
		}
		perf_close(&pg);
	}
	getrusage(RUSAGE_SELF, &ru1);
	if (rs->pinned)
		pin_fini(&rs->pin);

	res->end_ns = t1;
	/* ops, units, failures, counters, the manager's window counters and
	 * histograms: what the measured window saw. */
	window_collect(rs);
	for (unsigned i = 0; i < c->threads; i++) {
		struct wl_thread *t = &rs->threads[i];
		res->integrity_errors += t->integrity_errors;
		res->reported_losses += t->reported_losses;
		for (int k = 0; k < WL_MAX_COUNTERS; k++)
			res->setup_ctr[k] += t->setup_ctr[k];
		res->verify_jobs += t->verify_jobs;
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
	if (timeline_active) {
		char label[256];
		int o = snprintf(label, sizeof(label), "%s", c->w->name);
		for (unsigned i = 0; i < c->nparams && o > 0 && (size_t)o < sizeof(label); i++)
			o += snprintf(label + o, sizeof(label) - (size_t)o, " %s=%s", c->params[i].name,
				      c->params[i].value);
		timeline_counters(rs, &res->st);
		timeline_run(label, rs->t0_ns, atomic_load(&rs->t_ws_ns), atomic_load(&rs->t_we_ns),
			     runner_mono_ns(), &res->st);
	}
	if (!res->window_stats_valid) {
		res->st_window = res->st;
		for (int k = 0; k < RUN_VM_HISTS; k++)
			vidmm_hist_init(&res->vm_hist[k]);
	}
	if (vidmm_check(pl.vm) && !res->check_failed) {
		res->check_failed = true;
		snprintf(res->check_err, sizeof(res->check_err), "%s", vidmm_check_error(pl.vm));
	}
	res->peak_rss_kib = ru1.ru_maxrss;
	res->minor_faults = ru1.ru_minflt - ru0.ru_minflt;
	res->major_faults = ru1.ru_majflt - ru0.ru_majflt;
	if (res->window_stats_valid && hostload_between(&rs->host_ws, &rs->host_we, &res->host)) {
		double own_ticks = (double)(rs->host_we.own - rs->host_ws.own);
		threadcpu_between(&rs->tcpu_ws, &rs->tcpu_we, own_ticks, res->duration_s, &res->cpu);
		res->host_busy = hostload_share(&res->host) > runner_host_limit(c);
		if (res->host_busy)
			runner_note(res, "the machine was busy: during the window other processes used "
				    "%.2f and the hypervisor %.2f of its %u CPUs, so the figures include "
				    "waiting for them", res->host.other_cpus, res->host.steal_cpus,
				    res->host.ncpu);
	}

	char why[320];
	if (res->setup_overrun) {
		snprintf(why, sizeof(why), "setup did not finish within %.0f s (--setup-limit): "
			 "nothing was measured", (double)setup_limit_ns(c) * 1e-9);
		fail(res, why);
	} else if (!res->interrupted) {
		/* A window that did no work measured nothing: say so rather than
		 * print rates of zero. */
		uint64_t work = c->w->unit ? res->units : res->ops;
		const char *unit = c->w->unit ? c->w->unit : "calls";
		if (res->duration_s <= 0)
			snprintf(res->inconclusive_reason, sizeof(res->inconclusive_reason),
				 "the measured window never opened");
		else if (work < RUN_MIN_UNITS)
			snprintf(res->inconclusive_reason, sizeof(res->inconclusive_reason),
				 "%" PRIu64 " %s in the %.2f s measured window (a rate needs at least %d)",
				 work, unit, res->duration_s, RUN_MIN_UNITS);
		res->inconclusive = res->inconclusive_reason[0] != 0;
		if (res->inconclusive && !c->allow_empty) {
			snprintf(why, sizeof(why), "inconclusive: %s (--allow-empty accepts it)",
				 res->inconclusive_reason);
			fail(res, why);
		}
	}
	if (rs->extended) {
		char a[32], b[32];
		units_s(a, res->duration_s);
		units_s(b, c->duration_s);
		if (res->inconclusive)
			runner_note(res, "the window was held open past --duration %s for %s (at most "
				    "%dx) and still held fewer than %d %s", b, a, WINDOW_STRETCH_MAX,
				    RUN_MIN_UNITS, c->w->unit);
		else
			runner_note(res, "the window ran %s, past --duration %s, until it held at least %d %s "
				    "(a rate needs them)", a, b, RUN_MIN_UNITS, c->w->unit);
	}
	if (res->setup_s > 5.0 && res->setup_s > res->duration_s)
		runner_note(res, "setup took %.1f s, longer than the %.1f s measured window: the "
			    "figures cover the window only", res->setup_s, res->duration_s);
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
	if (res->perf_ok)
		perf_close(&pg);
	if (c->w->teardown)
		c->w->teardown(r);
	platform_close(&pl);
	free(hps);
	free(rs->threads);
	free(rs);
	runner_result_free(res);
	return ret;
}
