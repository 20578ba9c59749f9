/* SPDX-License-Identifier: MIT */
/*
 * threadcpu.h - this process's CPU time over a span, by thread role
 * (threadcpu.c).
 */
#ifndef VIDMM_BENCH_THREADCPU_H
#define VIDMM_BENCH_THREADCPU_H

#include <stdbool.h>
#include <sys/types.h>

enum tcpu_role {
	TCPU_CLIENTS, /* the workload's threads (vidmm-w*, the fuzzer's) */
	TCPU_ENGINES, /* the emulated chip's copy and job engines (emu-*) */
	TCPU_MANAGER, /* the manager's reclaim thread and io_uring workers */
	TCPU_HARNESS, /* the sampler, the main thread, the timeline's drain */
	TCPU_EXITED,  /* threads that ended inside the span */
	TCPU_ROLES
};
extern const char *const threadcpu_role_names[TCPU_ROLES];

#define TCPU_MAX_THREADS 256

struct threadcpu_snap {
	bool ok;
	unsigned n;
	pid_t tid[TCPU_MAX_THREADS];
	unsigned char role[TCPU_MAX_THREADS];
	unsigned long long ticks[TCPU_MAX_THREADS]; /* utime + stime, clock ticks */
	unsigned long long ns[TCPU_MAX_THREADS];    /* time on a CPU (schedstat); 0: unknown */
};

/* CPUs used by each role, averaged over the span (1.0: one CPU throughout). */
struct threadcpu {
	bool ok;
	double cpus[TCPU_ROLES];
};

/* Read every thread of this process now (never fails: ok false if none). */
void threadcpu_snap(struct threadcpu_snap *s);
/* The span from a to b, `seconds` long; own_ticks is the process's own
 * total over the span (hostload.c), so that threads that ended count. */
bool threadcpu_between(const struct threadcpu_snap *a, const struct threadcpu_snap *b,
		       double own_ticks, double seconds, struct threadcpu *out);

/* The same from the threads' nanosecond counters, for a span too short for
 * clock ticks (a pass of tens of milliseconds counts a handful). Threads
 * that ended inside the span are left out (TCPU_EXITED stays 0); false if
 * the counters are not there (a kernel without schedstat). */
bool threadcpu_between_ns(const struct threadcpu_snap *a, const struct threadcpu_snap *b,
			  double seconds, struct threadcpu *out);

#endif
