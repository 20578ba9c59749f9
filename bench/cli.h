/* SPDX-License-Identifier: MIT */
/*
 * cli.h - option parsing for vidmm-bench's `run` and `replay` subcommands
 * (GNU getopt_long) and the help texts.
 *
 * Owns: turning argv into a validated struct run_config: the workload, the
 * profile with capacity overrides (re-validated), the stop condition, the
 * seed, and the --param list checked against the workload's table. Every
 * error is one line naming the offending option or field. Must not: open
 * the output files or run anything.
 */
#ifndef VIDMM_CLI_H
#define VIDMM_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "runner.h"

struct cli_run {
	struct run_config cfg;
	const char *trace;   /* replay: the trace path */
	const char *out;     /* --out */
	const char *record;  /* --record */
	const char *timeline; /* --timeline: Chrome trace-event JSON (timeline.h) */
	bool quiet;
	bool seed_set;
	bool help;           /* --help was printed: exit 0 */
	unsigned repeat;     /* --repeat N (0: once) */
	bool same_seed;      /* --same-seed: every repetition with the one seed */
	const char *html;    /* --html: a report page of the results */
	bool partial;        /* replay --partial: a trace without its footer */
};

/*
 * Parse `run WORKLOAD [options]` (replay false) or `replay TRACE [options]`
 * (replay true); argv[0] is the subcommand. For replay the profile, seed and
 * workload come from the trace later (trace_replay_open); only the options
 * that make sense for a replay are accepted. Returns 0 or -EINVAL with one
 * line in err.
 */
int cli_parse_run(int argc, char **argv, bool replay, struct cli_run *o, char *err, size_t len);

/* Strict number parsing for options: a positive (or, with zero_ok,
 * non-negative) decimal integer no larger than max. */
int cli_parse_u64(const char *opt, const char *s, uint64_t max, bool zero_ok, uint64_t *out,
		  char *err, size_t len);

/* An option's separate value that is itself an option (`--out --ops 10`):
 * -EINVAL, "option '--out' needs a value". */
int cli_value_ok(const char *opt, const char *value, char *err, size_t len);

/* --evict-policy NAME: a policy vidmm knows (copied into out), or -EINVAL
 * with a message that lists them. */
int cli_evict_policy(const char *name, char *out, size_t out_len, char *err, size_t len);

/* A number of seconds in [min, max], strict: the message says which bound. */
int cli_parse_seconds(const char *opt, const char *s, double min, double max, double *out,
		      char *err, size_t len);

/* A share of the machine in (0, 1] (--max-other-load). */
int cli_parse_share(const char *opt, const char *s, double *out, char *err, size_t len);

/* A seed from the clock, below 2^63 (results keep it as a JSON integer). */
uint64_t cli_clock_seed(void);

void cli_help_main(FILE *out);
void cli_help_run(FILE *out);
void cli_help_workload(FILE *out, const struct workload *w);
void cli_help_replay(FILE *out);

/*
 * Path of a program built with this one (vidmm-micro: beside vidmm-bench once
 * installed, in micro/ below it in the build tree), from /proc/self/exe. 0,
 * or -ENOENT when it is not there or not executable.
 */
int cli_sibling_path(const char *name, char *out, size_t len);

#endif
