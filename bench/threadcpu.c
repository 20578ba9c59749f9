/* SPDX-License-Identifier: MIT */
/*
 * threadcpu.c - where this process's CPU time went during a window, by the
 * role of each thread: client threads, the emulated chip's engines, the
 * manager's own threads and I/O workers, and the harness.
 *
 * Owns: reading /proc/self/task/<tid>/{comm,stat,schedstat} and the roles by thread
 * name. Must not: name threads (their owners do: runner.c, engine.c,
 * reclaim.c, ...) or judge the figures (the runner prints them).
 *
 * Why: on a machine with few cores, a run's client threads compete with the
 * emulated engines and with waiters that spin, and a figure only means
 * something once it is known how many CPUs each side had. The roles come
 * from the names the threads give themselves, so this file is the one place
 * that knows those names.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "threadcpu.h"

const char *const threadcpu_role_names[TCPU_ROLES] = {
	"clients", "engines", "manager", "harness", "exited",
};

static enum tcpu_role role_of(const char *comm)
{
	if (strncmp(comm, "vidmm-w", 7) == 0 || strncmp(comm, "vidmm-fuzz", 10) == 0)
		return TCPU_CLIENTS;
	if (strncmp(comm, "emu-", 4) == 0)
		return TCPU_ENGINES;
	/* reclaim, read-ahead, and io_uring's workers (io-wq, SQPOLL) for swap I/O */
	if (strcmp(comm, "vidmm-reclaim") == 0 || strcmp(comm, "vidmm-readahead") == 0 ||
	    strncmp(comm, "iou-", 4) == 0)
		return TCPU_MANAGER;
	return TCPU_HARNESS;
}

static bool read_task(pid_t tid, char *comm, size_t clen, unsigned long long *ticks)
{
	char path[64], buf[1024];

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* "tid (comm) state ...": comm may hold spaces and parentheses */
	char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	unsigned long long ut, st;
	if (!open || !close || close < open ||
	    sscanf(close + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
		   &st) != 2)
		return false;
	size_t cl = (size_t)(close - open - 1);
	if (cl >= clen)
		cl = clen - 1;
	memcpy(comm, open + 1, cl);
	comm[cl] = 0;
	*ticks = ut + st;
	return true;
}

/* The thread's time on a CPU in nanoseconds (the first field of schedstat),
 * or 0. */
static unsigned long long read_ns(pid_t tid)
{
	char path[64];
	unsigned long long ns = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return ns;
}

void threadcpu_snap(struct threadcpu_snap *s)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;

	memset(s, 0, sizeof(*s));
	if (!d)
		return;
	while ((de = readdir(d)) && s->n < TCPU_MAX_THREADS) {
		char comm[32];
		unsigned long long t;
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid <= 0 || !read_task(tid, comm, sizeof(comm), &t))
			continue;
		s->tid[s->n] = tid;
		s->role[s->n] = role_of(comm);
		s->ticks[s->n] = t;
		s->ns[s->n] = read_ns(tid);
		s->n++;
	}
	closedir(d);
	s->ok = s->n > 0;
}

bool threadcpu_between(const struct threadcpu_snap *a, const struct threadcpu_snap *b,
		       double own_ticks, double seconds, struct threadcpu *out)
{
	long hz = sysconf(_SC_CLK_TCK);
	double sum = 0;

	memset(out, 0, sizeof(*out));
	if (!a->ok || !b->ok || seconds <= 0 || hz <= 0)
		return false;
	for (unsigned i = 0; i < b->n; i++) {
		unsigned long long before = 0;
		for (unsigned k = 0; k < a->n; k++)
			if (a->tid[k] == b->tid[i]) {
				before = a->ticks[k];
				break;
			}
		/* a tid reused by a new thread reads less than before */
		double d = b->ticks[i] >= before ? (double)(b->ticks[i] - before) : (double)b->ticks[i];
		out->cpus[b->role[i]] += d;
		sum += d;
	}
	/* Threads that ended inside the window (I/O workers come and go)
	 * are in the process's total only. */
	if (own_ticks > sum)
		out->cpus[TCPU_EXITED] = own_ticks - sum;
	for (int r = 0; r < TCPU_ROLES; r++)
		out->cpus[r] /= (double)hz * seconds;
	out->ok = true;
	return true;
}

bool threadcpu_between_ns(const struct threadcpu_snap *a, const struct threadcpu_snap *b,
			  double seconds, struct threadcpu *out)
{
	bool any = false;

	memset(out, 0, sizeof(*out));
	if (!a->ok || !b->ok || seconds <= 0)
		return false;
	for (unsigned i = 0; i < b->n; i++)
		for (unsigned k = 0; k < a->n; k++)
			if (a->tid[k] == b->tid[i]) {
				if (a->ns[k] && b->ns[i] >= a->ns[k]) {
					out->cpus[b->role[i]] += (double)(b->ns[i] - a->ns[k]) / 1e9;
					any = true;
				}
				break;
			}
	for (int r = 0; r < TCPU_ROLES; r++)
		out->cpus[r] /= seconds;
	out->ok = any;
	return any;
}
