/* SPDX-License-Identifier: MIT */
/*
 * micro_probe.c - what a trace point of core/probes.h costs: with nobody
 * attached (the USDT nop and the hook's test), and with a hook attached.
 *
 * Owns: the BM_probe/... benchmarks. Must not: measure anything but the
 * probe site; the body around it is the same in every variant.
 *
 * The body is what a typical probe site sits in: an LRU-style update of a
 * descriptor (two loads, two stores) whose fields are also the probe's
 * arguments, so the arguments cost what they cost in the core (the
 * compiler has them in registers, or must load them only for the probe).
 * docs/perf-analysis.md turns the difference into a share of the cheapest
 * instrumented call.
 */
#include <stdint.h>

#include "core/probes.h"
#include "gbshim.h"
#include "micro.h"

struct obj {
	uint64_t handle, size, uses, last;
};

#define NOBJ 1024u
static struct obj objs[NOBJ];
static const struct tracer no_hook = { NULL, NULL };
static uint64_t hook_calls;

static void hook(void *arg, const struct vidmm_trace_event *ev)
{
	(void)arg;
	hook_calls += ev->kind;
}

static const struct tracer with_hook = { hook, NULL };

__attribute__((noinline)) static void touch_plain(struct obj *o, uint64_t i)
{
	o->uses++;
	o->last = i;
}

__attribute__((noinline)) static void touch_probed(const struct tracer *tr, struct obj *o,
						  uint64_t i)
{
	o->uses++;
	o->last = i;
	VIDMM_TRACE(tr, micro_touch, VIDMM_TRACE_SUBMIT, o->handle, o->size, o - objs, i);
}

static void bm_none(gb_state *st, void *user)
{
	uint64_t i = 0;
	(void)user;
	GB_FOR(st) {
		touch_plain(&objs[i & (NOBJ - 1)], i);
		i++;
	}
}

static void bm_probed(gb_state *st, void *user)
{
	const struct tracer *tr = user;
	uint64_t i = 0;
	GB_FOR(st) {
		touch_probed(tr, &objs[i & (NOBJ - 1)], i);
		i++;
	}
}

void micro_probe_register(void)
{
	for (unsigned i = 0; i < NOBJ; i++)
		objs[i] = (struct obj){ .handle = i + 1, .size = 4096ull << (i % 8) };
	gb_register("BM_probe/none", bm_none, NULL);
	gb_register("BM_probe/unattached", bm_probed, (void *)&no_hook);
	gb_register("BM_probe/hooked", bm_probed, (void *)&with_hook);
}
