/* SPDX-License-Identifier: MIT */
/*
 * probes.h - the manager's trace points: a USDT probe (provider "vidmm") and
 * the trace hook of vidmm_config, fired together by one macro.
 *
 * Owns: the macro and the hook's calling convention. The list of points and
 * their arguments is enum vidmm_trace_kind in vidmm.h (and the table in
 * docs/perf-analysis.md); a point is fired where the thing happens, in the
 * file that owns it.
 * Must not: cost anything when nobody listens. A USDT probe is one nop in
 * the instruction stream, its arguments stay where the compiler keeps them
 * anyway (`.note.stapsdt` says where); the hook is one load and a branch
 * that predicts "not set". Nothing here allocates, locks or blocks.
 */
#ifndef VIDMM_PROBES_H
#define VIDMM_PROBES_H

#include <stdint.h>
#include <time.h>

#include "vidmm.h"

#ifdef VIDMM_HAVE_SDT
#include <sys/sdt.h>
#else
#define DTRACE_PROBE4(provider, name, a0, a1, a2, a3) \
	do {                                          \
		(void)(a0);                           \
		(void)(a1);                           \
		(void)(a2);                           \
		(void)(a3);                           \
	} while (0)
#endif

/* Who listens in-process (vidmm_config.trace), copied where events fire. */
struct tracer {
	vidmm_trace_fn fn;
	void *arg;
};

static inline uint64_t tracer_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void tracer_emit(const struct tracer *tr, enum vidmm_trace_kind kind, uint64_t a0,
			       uint64_t a1, uint64_t a2, uint64_t a3)
{
	struct vidmm_trace_event ev = { .kind = kind, .ts_ns = tracer_now_ns(),
					.a = { a0, a1, a2, a3 } };
	tr->fn(tr->arg, &ev);
}

/*
 * Fire point NAME (the USDT probe vidmm:NAME) of kind KIND with four
 * arguments. tr may be NULL (no hook): swap tests run the store alone.
 */
#define VIDMM_TRACE(tr, name, kind, a0, a1, a2, a3)                                      \
	do {                                                                             \
		uint64_t vt_a0_ = (uint64_t)(a0), vt_a1_ = (uint64_t)(a1),               \
			 vt_a2_ = (uint64_t)(a2), vt_a3_ = (uint64_t)(a3);               \
		DTRACE_PROBE4(vidmm, name, vt_a0_, vt_a1_, vt_a2_, vt_a3_);              \
		const struct tracer *vt_tr_ = (tr);                                      \
		if (__builtin_expect(vt_tr_ != NULL && vt_tr_->fn != NULL, 0))           \
			tracer_emit(vt_tr_, kind, vt_a0_, vt_a1_, vt_a2_, vt_a3_);       \
	} while (0)

#endif /* VIDMM_PROBES_H */
