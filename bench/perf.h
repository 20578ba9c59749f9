/* SPDX-License-Identifier: MIT */
/*
 * perf.h - CPU-side counters for a benchmark run through perf_event_open(2).
 *
 * Owns: opening hardware and software counters for the calling process,
 * starting/stopping/reading them as a unit, multiplexing correction, and
 * naming each counter for the runner's JSON. Must not: sample, mmap ring
 * buffers, touch other processes, or change perf_event_paranoid.
 *
 * Counting model: events are opened with pid 0, cpu -1 and inherit=1, so they
 * count the calling thread and every thread or child it creates *after*
 * perf_open (threads that already exist are not counted: open before spawning
 * workers). Reading sums the live children too.
 *
 * Events: hardware (cycles, instructions, cache-references, cache-misses,
 * branch-misses) where the machine has a PMU, and always the software ones
 * (task-clock, page-faults, context-switches, cpu-migrations). An event the
 * kernel does not support (ENOENT/EOPNOTSUPP/ENODEV/EINVAL, e.g. no PMU in a
 * VM) is left out and reported as unavailable; it is not an error.
 *
 * Grouping: hardware events form one group and software events another (a
 * hardware group that cannot be scheduled must not hide the software counts),
 * each read in one read(2) with PERF_FORMAT_GROUP | TOTAL_TIME_ENABLED |
 * TOTAL_TIME_RUNNING. Kernels before the inherited-group-read support reject
 * inherit together with PERF_FORMAT_GROUP (EINVAL on the leader); then every
 * event is opened as its own counter with TOTAL_TIME_ENABLED|RUNNING and read
 * separately. perf_group.grouped says which mode is in use.
 *
 * Privilege: first opened counting kernel and user mode; on EACCES/EPERM
 * (perf_event_paranoid >= 2 without CAP_PERFMON) everything is reopened with
 * exclude_kernel=1 and exclude_hv=1; perf_group.exclude_kernel says so.
 */
#ifndef VIDMM_PERF_H
#define VIDMM_PERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Event ids, in report order. */
enum perf_ev {
	PERF_EV_CYCLES,
	PERF_EV_INSTRUCTIONS,
	PERF_EV_CACHE_REFERENCES,
	PERF_EV_CACHE_MISSES,
	PERF_EV_BRANCH_MISSES,
	PERF_EV_TASK_CLOCK,         /* nanoseconds */
	PERF_EV_PAGE_FAULTS,
	PERF_EV_CONTEXT_SWITCHES,
	PERF_EV_CPU_MIGRATIONS,
	PERF_EV_COUNT
};

/* perf_open flags */
#define PERF_OPEN_SW_ONLY      0x1u  /* skip the hardware events */
#define PERF_OPEN_NO_INHERIT   0x2u  /* calling thread only (inherit=0) */
#define PERF_OPEN_USER_ONLY    0x4u  /* exclude_kernel from the start */
#define PERF_OPEN_SEPARATE     0x8u  /* one counter per event, no group read
                                      * (the old-kernel fallback, forced) */

struct perf_group {
	int fd[PERF_EV_COUNT];      /* -1 when not open */
	int err[PERF_EV_COUNT];     /* positive errno of the failed open, 0 if open */
	int leader_hw, leader_sw;   /* fd of each group leader, -1 if none */
	unsigned flags;             /* as passed to perf_open */
	bool grouped;               /* PERF_FORMAT_GROUP in use */
	bool exclude_kernel;        /* had to (or was asked to) drop kernel mode */
	bool running;               /* between perf_start and perf_stop */
	unsigned nopen;             /* events open */
	/* enabled/running times at the last perf_start: the kernel's are
	 * cumulative since open, perf_read reports them since perf_start */
	uint64_t base_enabled[PERF_EV_COUNT], base_running[PERF_EV_COUNT];
};

/* One counter as read. value is scaled for multiplexing:
 * raw * time_enabled / time_running (raw when running == enabled or 0).
 * With inherit the kernel sums counts *and* times over every thread counted,
 * so time_enabled is thread-nanoseconds, not wall time; the ratio still is
 * the fraction of the time the counter was on the PMU. */
struct perf_counter {
	const char *name;           /* JSON-friendly key, e.g. "task_clock_ns" */
	enum perf_ev ev;
	uint64_t value;             /* scaled */
	uint64_t raw;
	uint64_t time_enabled, time_running;   /* ns */
	bool scaled;                /* running < enabled: value is an estimate */
};

struct perf_counts {
	unsigned n;                 /* entries in c[], the open events in enum order */
	struct perf_counter c[PERF_EV_COUNT];
};

/*
 * Open the counters (disabled) for the calling process as described above.
 * flags: PERF_OPEN_*. On success at least one event is open; unavailable
 * events are recorded in g->err. Returns 0, -EACCES/-EPERM when perf is
 * forbidden even with exclude_kernel, -ENOSYS when the kernel has no
 * perf_event_open, -ENOENT when no event at all could be opened, or another
 * negative errno. On failure nothing is left open; perf_close is harmless.
 */
int perf_open(struct perf_group *g, unsigned flags);

/* Reset all counters to zero and enable them. Returns 0 or a negative errno. */
int perf_start(struct perf_group *g);

/* Disable all counters (values are kept for perf_read). 0 or negative errno. */
int perf_stop(struct perf_group *g);

/*
 * Read every open counter into out (running or stopped), scaled for
 * multiplexing. Returns 0 or a negative errno (-EIO on a short read).
 */
int perf_read(struct perf_group *g, struct perf_counts *out);

/* Close every fd; the group may be perf_open'ed again. NULL is allowed. */
void perf_close(struct perf_group *g);

/* JSON-friendly name of an event ("cycles", "task_clock_ns", ...), or NULL. */
const char *perf_ev_name(enum perf_ev ev);

/* Find a counter by name in a read result; returns 0 and *value, or -ENOENT
 * when that event was not open. */
int perf_counts_get(const struct perf_counts *c, const char *name, uint64_t *value);

/*
 * Probe this machine (open and close each event once, for the calling
 * thread) and write one line such as
 *   "perf_event_paranoid=2; available: task-clock page-faults ...;
 *    unavailable: cycles (ENOENT) ...; exclude_kernel needed: no;
 *    group read with inherit: yes"
 * into buf. Returns 0, or a negative errno when nothing could be opened
 * (the line then says why). buf is always terminated when len > 0.
 */
int perf_available_summary(char *buf, size_t len);

/* Same kind of line for an opened group (what this run actually counts). */
int perf_group_summary(const struct perf_group *g, char *buf, size_t len);

/*
 * Whether this machine exposes hardware counters to this process: true when
 * PERF_COUNT_HW_INSTRUCTIONS opens for the calling thread (user mode only,
 * the least privileged form). False in most VMs without a virtual PMU.
 */
bool perf_hw_counters_available(void);

#endif
