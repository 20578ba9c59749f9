/* SPDX-License-Identifier: MIT */
/*
 * inject.h - fault injection from the command line (`--inject KIND[:RATE]`
 * or `--inject KIND:COUNT`): turns a list of fault specs into the chip's and
 * the swap store's injection hooks for one run, and counts what was
 * injected.
 *
 * Owns: the fault kinds and their syntax. Must not: decide what a fault
 * means for a workload's results (the runner reports, the workload checks
 * its contents as always).
 *
 * RATE is a probability per command or I/O in (0, 1); an integer COUNT >= 1
 * injects that many faults spread over the run (emulated GPU: the next
 * command of a random copy engine at evenly spaced moments).
 */
#ifndef VIDMM_INJECT_H
#define VIDMM_INJECT_H

#include <stddef.h>
#include <stdint.h>

struct platform;

enum inject_kind {
	INJ_COPY_FAIL = 0, /* a copy-engine command fails (-EIO on its fence) */
	INJ_FENCE_DELAY,   /* a copy-engine fence signals late */
	INJ_LATE,          /* a copy-engine command starts late: runs after its waiter gave up */
	INJ_HANG,          /* a copy engine hangs, and is reset after a while (COUNT) */
	INJ_JOB_FAIL,      /* a GPU job fails on the job engine (vidmm_fence_status reports it) */
	INJ_SYSMEM_FULL,   /* another client takes every free system page for a while (COUNT) */
	INJ_SWAP_WRITE,    /* a swap write fails with -EIO */
	INJ_SWAP_READ,     /* a swap read fails with -EIO */
	INJ_SHORT_IO,      /* a swap I/O completes short (the store must finish it) */
	INJ_SWAP_FULL,     /* a swap slot is refused as if the file were full */
	INJ_CORRUPT,       /* a byte of swapped data is flipped on disk (checksums catch it) */
	INJ_KINDS
};

#define INJECT_MAX 16

struct inject_spec {
	enum inject_kind kind;
	double rate;     /* probability per command or I/O; 0 with count */
	uint64_t count;  /* faults over the run; 0 with rate */
};

struct inject_plan {
	unsigned n;
	struct inject_spec s[INJECT_MAX];
};

/* The kind's name ("copy-fail"), and a one-line list of all of them. */
const char *inject_kind_name(enum inject_kind k);
const char *inject_kinds_help(void);

/* Add one "KIND[:RATE|:COUNT]" (or several, comma-separated) to p. 0, or
 * -EINVAL with one line in err naming what was wrong. */
int inject_parse(const char *arg, struct inject_plan *p, char *err, size_t len);

struct inject_run;

/*
 * Arm p on the platform's chip and manager for a run of about duration_s
 * (0: unknown; counts are then spread over 10 s) with the run's seed.
 * delay_ns is how late a delayed or late command is (a few fence timeouts).
 * 0, -ENOMEM, or -ENODEV for a swap fault without a swap file (err says).
 */
int inject_start(const struct inject_plan *p, struct platform *pl, uint64_t seed,
		 double duration_s, uint64_t delay_ns, struct inject_run **out,
		 char *err, size_t len);
/* Arm only the rate faults of p (no thread: counted kinds are left out). */
void inject_arm_rates(const struct inject_plan *p, struct platform *pl, uint64_t seed,
		      uint64_t delay_ns);
/* One fault of kind k on the next command or I/O it applies to (not the
 * episodes hang and sysmem-full, nor swap-full and corrupt). 0, -EINVAL,
 * -ENODEV. */
int inject_fire_once(struct platform *pl, enum inject_kind k, uint64_t seed, uint64_t delay_ns);

/* Stop injecting (engines reset out of any hang) and report what was
 * injected, per kind. Frees r. */
void inject_stop(struct inject_run *r, uint64_t counts[INJ_KINDS]);

#endif
