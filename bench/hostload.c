/* SPDX-License-Identifier: MIT */
/*
 * hostload.c - how much of the machine other work took while a window was
 * measured: other processes' CPU time, and time the hypervisor stole.
 *
 * Owns: reading /proc/stat and /proc/self/stat, and the arithmetic between
 * two readings. Must not: decide what a busy window means for a result (the
 * runner notes it, the repeat loops measure a repetition again, compare
 * leaves it out of its test).
 *
 * Why: a benchmark on a shared machine measures its neighbours too. A
 * repetition that ran while another process held a core is slower for a
 * reason that is not the code under test, and every repetition of one
 * document tends to share it (the neighbour runs for seconds), so the test
 * across repetitions cannot tell it from a regression. Measured, it can be
 * named and the repetition measured again.
 *
 * Both files count in clock ticks (USER_HZ), from the same per-CPU
 * accounting, so "all CPUs' busy time minus this process's" is other work.
 * Interrupt time is left out of both: this process's own I/O raises it.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostload.h"

static bool read_stat(struct hostload_snap *s)
{
	unsigned long long v[10] = { 0 };
	char line[512];
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return false;
	bool ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	/* cpu user nice system idle iowait irq softirq steal guest guest_nice */
	if (!ok || sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
			  &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) < 8)
		return false;
	s->busy = v[0] + v[1] + v[2];
	s->steal = v[7];
	/* guest time is already inside user and nice */
	s->total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
	return true;
}

static bool read_self(struct hostload_snap *s)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");

	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The command name may hold spaces and parentheses: the fields
	 * start after the last ')'. utime and stime are fields 14 and 15. */
	const char *p = strrchr(buf, ')');
	unsigned long long ut, st;
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return false;
	s->own = ut + st;
	return true;
}

void hostload_snap(struct hostload_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->ok = read_stat(s) && read_self(s);
}

bool hostload_between(const struct hostload_snap *a, const struct hostload_snap *b,
		      struct hostload *out)
{
	memset(out, 0, sizeof(*out));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (!a->ok || !b->ok || b->total <= a->total || ncpu <= 0)
		return false;
	/* total ticks over all CPUs: the span in CPU-seconds, in ticks */
	double span = (double)(b->total - a->total);
	double busy = (double)(b->busy - a->busy), own = (double)(b->own - a->own);
	double other = busy - own;
	/* Both sides are sampled at ticks: a window a few ticks long can read
	 * a little negative. */
	if (other < 0)
		other = 0;
	out->ncpu = (unsigned)ncpu;
	out->other_cpus = other / span * (double)ncpu;
	out->steal_cpus = (double)(b->steal - a->steal) / span * (double)ncpu;
	out->own_cpus = own / span * (double)ncpu;
	out->ok = true;
	return true;
}

double hostload_share(const struct hostload *h)
{
	return h->ok && h->ncpu ? (h->other_cpus + h->steal_cpus) / (double)h->ncpu : 0;
}

double hostload_wait_quiet(double limit, double span_s, double max_s)
{
	struct timespec t0, now, nap = { 0, (long)(span_s * 1e9) };
	double waited = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct hostload_snap a, b;
		struct hostload h;
		hostload_snap(&a);
		nanosleep(&nap, NULL);
		hostload_snap(&b);
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) * 1e-9;
		/* unknown load: nothing to wait for */
		if (!hostload_between(&a, &b, &h) || hostload_share(&h) <= limit)
			return waited;
		if (waited >= max_s)
			return -waited;
	}
}
