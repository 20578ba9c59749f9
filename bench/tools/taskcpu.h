/* SPDX-License-Identifier: MIT */
/*
 * taskcpu.h - CPU time of this process's threads over a short span, by the
 * part of the stack they run (taskcpu.c), in nanoseconds: enough resolution
 * for a pass of tens of milliseconds, where clock ticks (bench/threadcpu.h,
 * the runner's) count a handful.
 */
#ifndef VIDMM_BENCH_TOOLS_TASKCPU_H
#define VIDMM_BENCH_TOOLS_TASKCPU_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum taskcpu_part {
	TASKCPU_MAIN,      /* the process's first thread (the benchmark's client) */
	TASKCPU_COPY,      /* the emulator's copy engines (emu-copy*) */
	TASKCPU_JOB,       /* the emulator's job engines (emu-job*) */
	TASKCPU_READAHEAD, /* the manager's read-ahead thread */
	TASKCPU_OTHER,     /* the rest: reclaim, io_uring workers, ... */
	TASKCPU_PARTS
};
extern const char *const taskcpu_part_names[TASKCPU_PARTS];

#define TASKCPU_MAX 128

struct taskcpu_snap {
	unsigned n;
	pid_t tid[TASKCPU_MAX];
	unsigned char part[TASKCPU_MAX];
	uint64_t ns[TASKCPU_MAX]; /* time on a CPU (schedstat) */
};

/* Read every thread of this process now; false if /proc had nothing. */
bool taskcpu_snap(struct taskcpu_snap *s);
/* Add to acc the CPU time each part used from a to b (threads in both). */
void taskcpu_add(const struct taskcpu_snap *a, const struct taskcpu_snap *b,
		 uint64_t acc[TASKCPU_PARTS]);

#endif
