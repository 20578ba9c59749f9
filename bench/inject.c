/* SPDX-License-Identifier: MIT */
/*
 * inject.c - command-line fault injection for one run (see inject.h).
 * Owns: the injector thread for counted faults and hangs, and the mapping
 * of kinds onto the emulator's and the swap store's hooks. Must not: touch
 * the manager beyond its public test hooks.
 */
#include "inject.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform.h"
#include "drivers/emu/emu.h"

static const char *const names[INJ_KINDS] = {
	[INJ_COPY_FAIL] = "copy-fail",     [INJ_FENCE_DELAY] = "fence-delay",
	[INJ_LATE] = "late",               [INJ_HANG] = "hang",
	[INJ_JOB_FAIL] = "job-fail",       [INJ_SYSMEM_FULL] = "sysmem-full",
	[INJ_SWAP_WRITE] = "swap-write",   [INJ_SWAP_READ] = "swap-read",
	[INJ_SHORT_IO] = "short-io",       [INJ_SWAP_FULL] = "swap-full",
	[INJ_CORRUPT] = "corrupt",
};

/* The swap store's fault kind behind a swap injection kind. */
static enum vidmm_swap_fault swap_kind(enum inject_kind k)
{
	switch (k) {
	case INJ_SWAP_WRITE: return VIDMM_SWAP_FAULT_WRITE;
	case INJ_SWAP_READ: return VIDMM_SWAP_FAULT_READ;
	case INJ_SHORT_IO: return VIDMM_SWAP_FAULT_SHORT;
	case INJ_SWAP_FULL: return VIDMM_SWAP_FAULT_FULL;
	default: return VIDMM_SWAP_FAULT_CORRUPT;
	}
}

static bool is_swap(enum inject_kind k)
{
	return k >= INJ_SWAP_WRITE;
}

/* Kinds that happen as episodes over the run: a count, never a rate. */
static bool count_only(enum inject_kind k)
{
	return k == INJ_HANG || k == INJ_SYSMEM_FULL;
}

const char *inject_kind_name(enum inject_kind k)
{
	return (unsigned)k < INJ_KINDS ? names[k] : "?";
}

const char *inject_kinds_help(void)
{
	return "copy-fail, fence-delay, late, hang, job-fail, sysmem-full, swap-write, swap-read, "
	       "short-io, swap-full, corrupt";
}

int inject_parse(const char *arg, struct inject_plan *p, char *err, size_t len)
{
	char buf[256];
	char *save = NULL;

	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf)) {
		snprintf(err, len, "--inject: '%.40s...' is too long", arg);
		return -EINVAL;
	}
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		struct inject_spec s = { .rate = 0.01 };
		int k;

		if (colon)
			*colon = '\0';
		for (k = 0; k < INJ_KINDS; k++)
			if (strcmp(tok, names[k]) == 0)
				break;
		if (k == INJ_KINDS) {
			snprintf(err, len, "--inject: no fault kind '%s' (kinds: %s)", tok,
				 inject_kinds_help());
			return -EINVAL;
		}
		s.kind = (enum inject_kind)k;
		if (count_only(s.kind))
			s.rate = 0, s.count = 3;
		if (colon) {
			char *end;
			errno = 0;
			double v = strtod(colon + 1, &end);
			if (errno || *end || end == colon + 1 || !(v > 0) || v > 1e9) {
				snprintf(err, len, "--inject %s: '%s' is neither a rate in (0, 1) nor a "
					 "count >= 1", tok, colon + 1);
				return -EINVAL;
			}
			if (v < 1) {
				if (count_only(s.kind)) {
					snprintf(err, len, "--inject %s: takes a count (%s:3), not a rate",
						 tok, tok);
					return -EINVAL;
				}
				s.rate = v, s.count = 0;
			} else {
				if (v != (double)(uint64_t)v) {
					snprintf(err, len, "--inject %s: a count must be a whole number, not %s",
						 tok, colon + 1);
					return -EINVAL;
				}
				s.rate = 0, s.count = (uint64_t)v;
			}
		}
		if (p->n == INJECT_MAX) {
			snprintf(err, len, "--inject: at most %d fault specs", INJECT_MAX);
			return -EINVAL;
		}
		p->s[p->n++] = s;
	}
	return 0;
}

struct inject_run {
	struct inject_plan plan;
	struct platform *pl;
	uint64_t seed, delay_ns;
	double period_s;            /* a counted fault every period_s */
	pthread_t th;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool stop;
	uint64_t counted[INJ_KINDS]; /* counted faults and hangs, by the thread */
	struct emu_engine_stats base[16];
	uint64_t swap_base[VIDMM_SWAP_FAULT_KINDS];
};

static uint64_t mix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Wait ns on the run's condvar; false once stopped. */
static bool nap(struct inject_run *r, uint64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t t = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + ns;
	ts.tv_sec = (time_t)(t / 1000000000ull);
	ts.tv_nsec = (long)(t % 1000000000ull);
	pthread_mutex_lock(&r->lock);
	while (!r->stop && pthread_cond_timedwait(&r->cv, &r->lock, &ts) == 0)
		;
	bool go = !r->stop;
	pthread_mutex_unlock(&r->lock);
	return go;
}

/* Another client takes every system page it can for a while (unpagable
 * PCIe allocations, as a real one could), then gives them back. */
static void sysmem_episode(struct inject_run *r)
{
	vidmm_handle_t held[256];
	int n = 0;
	struct vidmm_alloc_desc d = { .size = 1u << 20, .priority = VIDMM_PRIO_MAX,
				      .flags = VIDMM_ALLOC_UNPAGABLE | VIDMM_ALLOC_CPU_VISIBLE };

	while (n < 256 && d.size >= 4096) {
		if (vidmm_create_allocation(r->pl->vm, &d, &held[n]) == 0)
			n++;
		else
			d.size /= 2;
	}
	r->counted[INJ_SYSMEM_FULL]++;
	nap(r, 10 * r->delay_ns);
	for (int i = 0; i < n; i++)
		vidmm_destroy_allocation(r->pl->vm, held[i]);
}

/* One counted fault of kind k on the emulator or the store. */
static void fire(struct inject_run *r, enum inject_kind k, uint64_t *rng)
{
	struct vidmm_chip_engines eng;
	struct emu *e = r->pl->emu;

	emu_chip_ops.query_engines(e, &eng);
	uint32_t ce = (uint32_t)(mix(rng) % eng.n_copy);
	switch (k) {
	case INJ_COPY_FAIL:
		emu_inject_copy_failure(e, ce, 1);
		break;
	case INJ_FENCE_DELAY:
		emu_inject_fence_delay(e, ce, r->delay_ns, 1);
		break;
	case INJ_LATE:
		emu_inject_start_delay(e, ce, r->delay_ns, 1);
		break;
	case INJ_JOB_FAIL:
		emu_inject_copy_failure(e, eng.n_copy, 1);
		break;
	case INJ_HANG:
		/* Hung long enough for every wait on it to time out, then reset:
		 * its queued commands fail with -EIO. */
		emu_inject_hang(e, ce);
		r->counted[k]++;
		nap(r, 4 * r->delay_ns);
		emu_reset_engine(e, ce);
		return;
	case INJ_SYSMEM_FULL:
		sysmem_episode(r);
		return;
	case INJ_SWAP_WRITE:
	case INJ_SWAP_READ:
	case INJ_SHORT_IO:
		vidmm_debug_swap_inject(r->pl->vm, k != INJ_SWAP_READ, k == INJ_SHORT_IO ? 0 : -EIO, 1);
		break;
	default: {
		/* Full file or corruption: armed for the next event only. */
		enum vidmm_swap_fault sk = swap_kind(k);
		struct vidmm_stats st;
		uint64_t before = vidmm_query_stats(r->pl->vm, &st) ? 0 : st.swap_injected[sk];
		vidmm_debug_swap_fault(r->pl->vm, sk, 1.0, mix(rng));
		for (int i = 0; i < 100; i++) {
			if (!nap(r, r->delay_ns) || vidmm_query_stats(r->pl->vm, &st) ||
			    st.swap_injected[sk] != before)
				break;
		}
		vidmm_debug_swap_fault(r->pl->vm, sk, 0, 0);
		break;
	}
	}
}

static void *inject_main(void *arg)
{
	struct inject_run *r = arg;
	uint64_t rng = r->seed ^ 0x1badfeedull;

	pthread_setname_np(pthread_self(), "vidmm-inject");
	uint64_t left[INJECT_MAX];
	bool any = true;

	for (unsigned i = 0; i < r->plan.n; i++)
		left[i] = r->plan.s[i].count;
	while (any) {
		any = false;
		for (unsigned i = 0; i < r->plan.n; i++)
			if (left[i]) {
				any = true;
				left[i]--;
				fire(r, r->plan.s[i].kind, &rng);
			}
		if (any && !nap(r, (uint64_t)(r->period_s * 1e9)))
			break;
	}
	return NULL;
}

void inject_arm_rates(const struct inject_plan *p, struct platform *pl, uint64_t seed,
		      uint64_t delay_ns)
{
	struct vidmm_chip_engines eng;

	emu_chip_ops.query_engines(pl->emu, &eng);
	for (unsigned i = 0; i < p->n; i++) {
		const struct inject_spec *s = &p->s[i];
		uint64_t ks = seed + 0x9e37ull * (i + 1);
		if (!s->rate)
			continue;
		if (is_swap(s->kind)) {
			vidmm_debug_swap_fault(pl->vm, swap_kind(s->kind), s->rate, ks);
			continue;
		}
		if (s->kind == INJ_JOB_FAIL) {
			for (uint32_t c = eng.n_copy; c < eng.n_copy + eng.n_job; c++)
				emu_inject_random(pl->emu, c, EMU_FAULT_FAIL, s->rate, 0, ks);
			continue;
		}
		enum emu_fault_kind ek = s->kind == INJ_COPY_FAIL ? EMU_FAULT_FAIL
				       : s->kind == INJ_FENCE_DELAY ? EMU_FAULT_FENCE_DELAY
								    : EMU_FAULT_START_DELAY;
		for (uint32_t c = 0; c < eng.n_copy; c++)
			emu_inject_random(pl->emu, c, ek, s->rate, delay_ns, ks);
	}
}

int inject_fire_once(struct platform *pl, enum inject_kind k, uint64_t seed, uint64_t delay_ns)
{
	struct inject_run r = { .pl = pl, .delay_ns = delay_ns, .stop = true };
	uint64_t rng = seed;

	/* Episodes need a thread; a full file and a corruption need the store
	 * to stay armed until the event: neither is a one-shot here. */
	if ((unsigned)k >= INJ_KINDS || count_only(k) || k == INJ_SWAP_FULL || k == INJ_CORRUPT)
		return -EINVAL;
	if (is_swap(k) && vidmm_debug_swap_fd(pl->vm) < 0)
		return -ENODEV;
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cv, NULL);
	fire(&r, k, &rng);
	pthread_mutex_destroy(&r.lock);
	pthread_cond_destroy(&r.cv);
	return 0;
}

int inject_start(const struct inject_plan *p, struct platform *pl, uint64_t seed,
		 double duration_s, uint64_t delay_ns, struct inject_run **out,
		 char *err, size_t len)
{
	struct vidmm_chip_engines eng;
	struct inject_run *r;
	uint64_t most = 0;

	*out = NULL;
	if (!p->n)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	r->plan = *p;
	r->pl = pl;
	r->seed = seed;
	r->delay_ns = delay_ns;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cv, NULL);
	emu_chip_ops.query_engines(pl->emu, &eng);
	for (uint32_t i = 0; i < eng.n_copy + eng.n_job && i < 16; i++)
		emu_engine_stats(pl->emu, i, &r->base[i]);
	{
		struct vidmm_stats st;
		if (vidmm_query_stats(pl->vm, &st) == 0)
			memcpy(r->swap_base, st.swap_injected, sizeof(r->swap_base));
	}
	for (unsigned i = 0; i < p->n; i++) {
		const struct inject_spec *s = &p->s[i];
		if (is_swap(s->kind) && vidmm_debug_swap_fd(pl->vm) < 0) {
			snprintf(err, len, "--inject %s: the run has no swap file (--swap-mib 0?)",
				 names[s->kind]);
			inject_stop(r, NULL);
			return -ENODEV;
		}
		if (s->count > most)
			most = s->count;
	}
	inject_arm_rates(p, pl, seed, delay_ns);
	if (most) {
		r->period_s = (duration_s > 0 ? duration_s : 10.0) / (double)(most + 1);
		if (pthread_create(&r->th, NULL, inject_main, r) == 0)
			r->running = true;
	}
	*out = r;
	return 0;
}

void inject_stop(struct inject_run *r, uint64_t counts[INJ_KINDS])
{
	struct vidmm_chip_engines eng;

	if (counts)
		memset(counts, 0, INJ_KINDS * sizeof(*counts));
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->lock);
	if (r->running)
		pthread_join(r->th, NULL);
	/* Random faults off, and no engine left hung. */
	emu_chip_ops.query_engines(r->pl->emu, &eng);
	for (uint32_t c = 0; c < eng.n_copy + eng.n_job; c++)
		for (int k = 0; k < EMU_FAULT_KINDS; k++)
			emu_inject_random(r->pl->emu, c, (enum emu_fault_kind)k, 0, 0, 0);
	if (vidmm_debug_swap_fd(r->pl->vm) >= 0)
		for (int k = 0; k < VIDMM_SWAP_FAULT_KINDS; k++)
			vidmm_debug_swap_fault(r->pl->vm, (enum vidmm_swap_fault)k, 0, 0);
	if (counts) {
		for (uint32_t c = 0; c < eng.n_copy + eng.n_job && c < 16; c++) {
			struct emu_engine_stats st;
			emu_engine_stats(r->pl->emu, c, &st);
			counts[c < eng.n_copy ? INJ_COPY_FAIL : INJ_JOB_FAIL] +=
				st.injected[EMU_FAULT_FAIL] - r->base[c].injected[EMU_FAULT_FAIL];
			counts[INJ_FENCE_DELAY] += st.injected[EMU_FAULT_FENCE_DELAY] -
						   r->base[c].injected[EMU_FAULT_FENCE_DELAY];
			counts[INJ_LATE] += st.injected[EMU_FAULT_START_DELAY] -
					    r->base[c].injected[EMU_FAULT_START_DELAY];
		}
		counts[INJ_HANG] = r->counted[INJ_HANG];
		counts[INJ_SYSMEM_FULL] = r->counted[INJ_SYSMEM_FULL];
		struct vidmm_stats vs;
		if (vidmm_query_stats(r->pl->vm, &vs) == 0)
			for (int k = INJ_SWAP_WRITE; k < INJ_KINDS; k++) {
				enum vidmm_swap_fault sk = swap_kind((enum inject_kind)k);
				counts[k] = vs.swap_injected[sk] - r->swap_base[sk];
			}
	}
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cv);
	free(r);
}
