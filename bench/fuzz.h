/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - `vidmm-bench fuzz`: random sequences of manager calls on a small
 * profile, each call checked as it returns:
 *  - vidmm_check passes;
 *  - the return is documented for the call (bench/contract.h) and legal in
 *    the situation (a model: a destroy of a live, unlocked allocation must
 *    succeed, a call on a destroyed handle must be -EBADF, ...);
 *  - a shadow model of every allocation's contents (zeros when new, GPU
 *    FILL and COPY, CPU writes through vidmm_lock) agrees with what VERIFY
 *    and CHECKSUM jobs and CPU reads see, whatever paging, swapping and
 *    injected faults did in between, unless the API reported the loss;
 *  - optionally, a differential oracle: the same program with the other
 *    paging mode must give the same result for every call and the same
 *    contents; with plain-LRU eviction, the same result for every call
 *    whose result the model fixes.
 * A finding is minimized (delta debugging over the program) and written as
 * a trace that `vidmm-bench replay` turns into exit 1 on the same check.
 *
 * Owns: the program generator, the model, the minimizer and the reproducer
 * writer. Must not: reach into the core beyond vidmm.h (and the emulator's
 * fault hooks through bench/inject.h's kinds).
 */
#ifndef VIDMM_FUZZ_H
#define VIDMM_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/vidmm.h"
#include "drivers/profile.h"
#include "inject.h"

struct fuzz_opts {
	struct vidmm_profile profile;
	uint64_t seed;
	double time_s;            /* stop after this long (0: no limit) */
	uint64_t runs;            /* stop after this many programs (0: no limit) */
	uint32_t calls;           /* calls per program */
	unsigned threads;         /* 1: deterministic, findings minimized; > 1: shared */
	enum vidmm_paging_mode mode;
	bool pipelined;           /* --paging pipelined (window mode) */
	bool differential;        /* replay every program under the other variants */
	uint64_t fence_timeout_ns;
	struct inject_plan inject;/* random faults armed for every program */
	bool fault_calls;         /* fault injection among the generated calls */
	char evict_policy[32];    /* --evict-policy; "": the default */
	char driver[16];          /* --driver: "emu" (default) or "vulkan" */
	char device[64];          /* --device (vulkan); "": the first usable */
	char swap_dir[256];
	const char *repro;        /* reproducer path; NULL: fuzz-<seed>.trace */
	bool progress;
	/* test hook (FUZZ-MINIMIZE): a synthetic failure at the first call
	 * numbered plant_at or later (in its generated program) that runs on
	 * a live slot */
	uint32_t plant_at;
};

#define FUZZ_KINDS 12

struct fuzz_stats {
	uint64_t executions, calls;
	uint64_t calls_by_kind[FUZZ_KINDS];
	/* returns per kind: [kind][0] successes, [kind][e] for -e (e < 160) */
	uint64_t rets[FUZZ_KINDS][160];
	uint64_t content_checks;
	uint64_t differential_runs;
	double secs;
	bool found;
	char finding[512];
	uint32_t original_len, minimized_len;
	char repro[512];
	uint64_t finding_seed;
};

/* The name of call kind k ("create", ...). */
const char *fuzz_kind_name(unsigned k);

/*
 * Run programs until time or runs is spent or something is found. 0 when
 * the fuzzing ran (st->found says whether it found something), or a
 * negative errno for a setup problem (one line in err).
 */
int fuzz_run(const struct fuzz_opts *o, struct fuzz_stats *st, char *err, size_t len);

/* The default profile of `vidmm-bench fuzz` and fuzz_api ("fuzz-small"). */
void fuzz_default_profile(struct vidmm_profile *p);

/* libFuzzer: decode data into one program (the first byte: paging mode and
 * eviction policy) and run it with every check. 0: clean; 1: a finding
 * (described in why). */
int fuzz_one_input(const uint8_t *data, size_t size, char *why, size_t len);

/* The results document of a fuzzing session (jansson: json_t *). */
void *fuzz_results_json(const struct fuzz_opts *o, const struct fuzz_stats *st);

#endif
