/* SPDX-License-Identifier: MIT */
/*
 * hostload.h - the machine's other load over a span of time (hostload.c).
 */
#ifndef VIDMM_BENCH_HOSTLOAD_H
#define VIDMM_BENCH_HOSTLOAD_H

#include <stdbool.h>

/* One reading, in clock ticks summed over all CPUs. */
struct hostload_snap {
	unsigned long long busy;  /* user + nice + system, every process */
	unsigned long long steal; /* taken by the hypervisor */
	unsigned long long total; /* everything but guest time */
	unsigned long long own;   /* this process, every thread */
	bool ok;                  /* both files were read */
};

/* Between two readings, averaged over the span, in CPUs (1.0: one CPU for
 * the whole span). */
struct hostload {
	bool ok;
	unsigned ncpu;
	double other_cpus; /* other processes and kernel threads */
	double steal_cpus; /* the hypervisor */
	double own_cpus;   /* this process */
};

/* The default share of the machine that other work may take during a
 * repetition's window before the repetition is measured again. */
#define HOSTLOAD_DEFAULT_LIMIT 0.05

/* Read now. Never fails: a reading that could not be taken has ok false,
 * and any span that includes it is unknown. */
void hostload_snap(struct hostload_snap *s);
/* The load between a and b. False (and out zeroed) when either reading
 * failed or no time passed. */
bool hostload_between(const struct hostload_snap *a, const struct hostload_snap *b,
		      struct hostload *out);
/* Other work's share of the machine, 0 to 1 (0 when unknown). */
double hostload_share(const struct hostload *h);
/* Sleep until a span of span_s seconds in which other work took at most
 * `limit` of the machine, or max_s seconds have passed. Returns the
 * seconds waited, negated when the machine never went quiet. This process
 * should be idle meanwhile: its own work does not count, but its threads
 * would compete with the work being waited out. */
double hostload_wait_quiet(double limit, double span_s, double max_s);

#endif
