/* SPDX-License-Identifier: MIT */
/*
 * fuzz_cli.c - the `vidmm-bench fuzz` command: options, the run, the
 * console summary and the results document (the fuzzing is fuzz.c's).
 *
 * Owns: the fuzz options and their validation. Must not: fuzz.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "coverage.h"
#include "fuzz.h"
#include "rfile.h"
#include "timeline.h"

#define EXIT_USAGE 2

static void help(FILE *out)
{
	fprintf(out,
		"usage: vidmm-bench fuzz [options]\n"
		"\n"
		"Random programs of manager calls (create with every flag, priority, alignment\n"
		"and preferred segments, invalid ones too; destroy, stale and forged handles\n"
		"too; jobs over several allocations; nested CPU locks and CPU writes; evict,\n"
		"swap-out, queries; injected faults), every call checked as it returns:\n"
		"vidmm_check, the errno the header allows in that situation, and a model of\n"
		"every allocation's contents. A finding is minimized and written as a trace\n"
		"that `vidmm-bench replay` fails on (exit 1).\n"
		"\n"
		"  --profile NAME|F.json   profile (default: tiny shrunk to 4+8 MiB local, 2x8 MiB\n"
		"                          PCIe, 24 MiB system pages, 32 MiB swap: paging at once)\n"
		"  --seed N                first program's seed (default: from the clock; printed)\n"
		"  --time SECONDS          stop after this long (default 10 unless --runs)\n"
		"  --runs N                stop after N programs\n"
		"  --calls N               calls per program (default 200)\n"
		"  --threads N             N threads on shared allocations (default 1: then each\n"
		"                          program is deterministic and findings are minimized)\n"
		"  --paging-mode M         window (default) or bounce\n"
		"  --paging P              sync (default) or pipelined page-ins\n"
		"  --differential          run each program in the other paging mode and with\n"
		"                          plain-LRU eviction too, and compare\n"
		"  --no-faults             no fault injection among the generated calls\n"
		"  --inject KIND[:RATE]    random faults besides (as for run)\n"
		"  --fence-timeout MS      the manager's fence timeout (default 100)\n"
		"  --evict-policy NAME     eviction policy of every program (vidmm-bench list)\n"
		"  --swap-dir DIR          where the swap file goes\n"
		"  --driver emu|vulkan     the chip (default emu); on vulkan the generated fault\n"
		"                          calls inject swap faults only\n"
		"  --device N|NAME         with --driver vulkan: the device (vidmm-bench probe)\n"
		"  --repro FILE            where a finding's trace goes (default fuzz-SEED.trace)\n"
		"  --out FILE.json         results: executions, calls and returns by kind, findings\n"
		"  --timeline FILE.json    a timeline of every program (Perfetto, chrome://tracing);\n"
		"                          best with --runs or a short --time\n"
		"  --quiet                 no progress line\n"
		"  --plant-at N            test hook: a synthetic failure at the first call from\n"
		"                          number N on that finds its allocation live (tests the\n"
		"                          minimizer)\n"
		"\nExit status: 0 nothing found, 1 a finding, 2 bad usage.\n");
}

enum { F_PROFILE = 256, F_SEED, F_TIME, F_RUNS, F_CALLS, F_THREADS, F_PMODE, F_PIPE, F_DIFF, F_NOFAULTS,
       F_INJECT, F_FTO, F_SWAPDIR, F_REPRO, F_OUT, F_TIMELINE, F_EVICT, F_QUIET, F_PLANT,
       F_DRIVER, F_DEVICE, F_HELP };

int fuzz_main(int argc, char **argv);

int fuzz_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, F_PROFILE },
		{ "seed", required_argument, NULL, F_SEED },
		{ "time", required_argument, NULL, F_TIME },
		{ "runs", required_argument, NULL, F_RUNS },
		{ "calls", required_argument, NULL, F_CALLS },
		{ "threads", required_argument, NULL, F_THREADS },
		{ "paging-mode", required_argument, NULL, F_PMODE },
		{ "paging", required_argument, NULL, F_PIPE },
		{ "differential", no_argument, NULL, F_DIFF },
		{ "no-faults", no_argument, NULL, F_NOFAULTS },
		{ "inject", required_argument, NULL, F_INJECT },
		{ "fence-timeout", required_argument, NULL, F_FTO },
		{ "evict-policy", required_argument, NULL, F_EVICT },
		{ "driver", required_argument, NULL, F_DRIVER },
		{ "device", required_argument, NULL, F_DEVICE },
		{ "swap-dir", required_argument, NULL, F_SWAPDIR },
		{ "repro", required_argument, NULL, F_REPRO },
		{ "out", required_argument, NULL, F_OUT },
		{ "timeline", required_argument, NULL, F_TIMELINE },
		{ "quiet", no_argument, NULL, F_QUIET },
		{ "plant-at", required_argument, NULL, F_PLANT },
		{ "help", no_argument, NULL, F_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct fuzz_opts o;
	struct fuzz_stats *st = calloc(1, sizeof(*st));
	struct rfile out = { .fd = -1 };
	const char *profile = NULL, *outp = NULL, *timeline = NULL;
	bool quiet = false, seed_set = false, time_set = false;
	char err[512];
	uint64_t v;
	int ch, ret = EXIT_USAGE;

	if (!st) {
		fprintf(stderr, "vidmm-bench fuzz: out of memory\n");
		return EXIT_USAGE;
	}
	memset(&o, 0, sizeof(o));
	o.threads = 1;
	o.calls = 200;
	o.fault_calls = true;
	snprintf(o.driver, sizeof(o.driver), "emu");
	/* Short: injected late commands and hangs then cost little time, and
	 * paging copies on the small profile take well under a millisecond. */
	o.fence_timeout_ns = 100000000ull;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		err[0] = 0;
		if (optarg && optind >= 2 && optarg == argv[optind - 1] &&
		    cli_value_ok(argv[optind - 2], optarg, err, sizeof(err)))
			goto usage;
		switch (ch) {
		case ':':
			snprintf(err, sizeof(err), "option '%s' needs a value", argv[optind - 1]);
			break;
		case '?':
			snprintf(err, sizeof(err), "unknown option '%s'", argv[optind - 1]);
			break;
		case F_HELP:
			help(stdout);
			free(st);
			return 0;
		case F_PROFILE:
			profile = optarg;
			break;
		case F_SEED:
			if (!cli_parse_u64("--seed", optarg, INT64_MAX, true, &o.seed, err, sizeof(err)))
				seed_set = true;
			break;
		case F_TIME: {
			char *end;
			errno = 0;
			o.time_s = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(o.time_s > 0) || o.time_s > 1e7)
				snprintf(err, sizeof(err), "--time: '%s' is not a positive number of seconds",
					 optarg);
			time_set = true;
			break;
		}
		case F_RUNS:
			cli_parse_u64("--runs", optarg, UINT64_MAX / 2, false, &o.runs, err, sizeof(err));
			break;
		case F_CALLS:
			if (!cli_parse_u64("--calls", optarg, 1000000, false, &v, err, sizeof(err)))
				o.calls = (uint32_t)v;
			break;
		case F_THREADS:
			if (!cli_parse_u64("--threads", optarg, 64, false, &v, err, sizeof(err)))
				o.threads = (unsigned)v;
			break;
		case F_PMODE:
			if (strcmp(optarg, "window") == 0)
				o.mode = VIDMM_PAGING_WINDOW;
			else if (strcmp(optarg, "bounce") == 0)
				o.mode = VIDMM_PAGING_BOUNCE;
			else
				snprintf(err, sizeof(err), "--paging-mode: '%s' is not window or bounce",
					 optarg);
			break;
		case F_PIPE:
			if (strcmp(optarg, "sync") == 0)
				o.pipelined = false;
			else if (strcmp(optarg, "pipelined") == 0)
				o.pipelined = true;
			else
				snprintf(err, sizeof(err), "--paging: '%s' is not sync or pipelined",
					 optarg);
			break;
		case F_DIFF:
			o.differential = true;
			break;
		case F_NOFAULTS:
			o.fault_calls = false;
			break;
		case F_INJECT:
			inject_parse(optarg, &o.inject, err, sizeof(err));
			break;
		case F_FTO: {
			char *end;
			double ms = strtod(optarg, &end);
			if (*end || end == optarg || !(ms >= 0.01) || ms > 3600e3)
				snprintf(err, sizeof(err), "--fence-timeout: '%s' is not a number of "
					 "milliseconds between 0.01 and 3600000", optarg);
			o.fence_timeout_ns = (uint64_t)(ms * 1e6);
			break;
		}
		case F_EVICT:
			cli_evict_policy(optarg, o.evict_policy, sizeof(o.evict_policy), err,
					 sizeof(err));
			break;
		case F_DRIVER:
			if (strcmp(optarg, "emu") && strcmp(optarg, "vulkan"))
				snprintf(err, sizeof(err), "--driver: no such driver '%s' (available: "
					 "emu, vulkan)", optarg);
			else
				snprintf(o.driver, sizeof(o.driver), "%s", optarg);
			break;
		case F_DEVICE:
			if (!*optarg || strlen(optarg) >= sizeof(o.device))
				snprintf(err, sizeof(err), "--device: empty or too long");
			else
				snprintf(o.device, sizeof(o.device), "%s", optarg);
			break;
		case F_SWAPDIR:
			if (!*optarg || strlen(optarg) >= sizeof(o.swap_dir))
				snprintf(err, sizeof(err), "--swap-dir: empty or too long");
			else
				snprintf(o.swap_dir, sizeof(o.swap_dir), "%s", optarg);
			break;
		case F_REPRO:
			o.repro = optarg;
			break;
		case F_OUT:
			outp = optarg;
			break;
		case F_TIMELINE:
			timeline = optarg;
			break;
		case F_QUIET:
			quiet = true;
			break;
		case F_PLANT:
			if (!cli_parse_u64("--plant-at", optarg, UINT32_MAX, false, &v, err, sizeof(err)))
				o.plant_at = (uint32_t)v;
			break;
		}
		if (err[0])
			goto usage;
	}
	if (optind < argc) {
		snprintf(err, sizeof(err), "unexpected argument '%s'", argv[optind]);
		goto usage;
	}
	if (strcmp(o.driver, "emu") != 0) {
		/* the chip faults are the emulator's: swap faults stay among the calls */
		if (o.inject.n) {
			snprintf(err, sizeof(err), "--inject: needs --driver emu (faults are injected "
				 "into the emulated engines)");
			goto usage;
		}
	} else if (o.device[0]) {
		snprintf(err, sizeof(err), "--device: applies to --driver vulkan only");
		goto usage;
	}
	for (unsigned i = 0; i < o.inject.n; i++)
		if (o.inject.s[i].count) {
			snprintf(err, sizeof(err), "--inject %s: fuzz takes rates only (counted faults "
				 "need a run's duration)", inject_kind_name(o.inject.s[i].kind));
			goto usage;
		}
	if (profile) {
		char perr[256];
		if (vidmm_profile_resolve(profile, &o.profile, perr, sizeof(perr))) {
			snprintf(err, sizeof(err), "--profile: %s", perr);
			goto usage;
		}
	} else {
		fuzz_default_profile(&o.profile);
		char perr[256];
		if (vidmm_profile_validate(&o.profile, perr, sizeof(perr))) {
			fprintf(stderr, "vidmm-bench fuzz: the built-in fuzz profile: %s\n", perr);
			free(st);
			return EXIT_USAGE;
		}
	}
	if (!seed_set)
		o.seed = cli_clock_seed();
	if (!time_set && !o.runs)
		o.time_s = 10;
	o.progress = !quiet && isatty(STDERR_FILENO);
	/* Output paths are checked before any work. */
	if (outp && rfile_open(&out, outp, "--out", err, sizeof(err)))
		goto usage;
	if (timeline && timeline_open(timeline, err, sizeof(err))) {
		rfile_abort(&out);
		goto usage;
	}
	printf("vidmm-bench fuzz: %sprofile %s, seed %" PRIu64 ", %u thread%s, %u calls per program, "
	       "%s%s paging%s%s\n", strcmp(o.driver, "emu") ? "driver vulkan, " : "", o.profile.name,
	       o.seed, o.threads, o.threads == 1 ? "" : "s",
	       o.calls, o.mode == VIDMM_PAGING_BOUNCE ? "bounce" : "window",
	       o.pipelined ? ", pipelined" : "",
	       o.differential ? ", differential" : "", o.fault_calls ? ", fault calls" : "");
	fflush(stdout);
	int fr = fuzz_run(&o, st, err, sizeof(err));
	if (fr) {
		rfile_abort(&out);
		timeline_abort();
		/* no device for the driver: skipped */
		fprintf(stderr, "vidmm-bench fuzz: %s%s\n", fr == -ENXIO ? "skipped: " : "", err);
		free(st);
		return fr == -ENXIO ? 77 : EXIT_USAGE;
	}
	printf("fuzz: %" PRIu64 " programs, %" PRIu64 " calls in %.1f s (%.1f programs/s, %.0f "
	       "calls/s), %" PRIu64 " content checks%s\n", st->executions, st->calls, st->secs,
	       st->secs > 0 ? (double)st->executions / st->secs : 0.0,
	       st->secs > 0 ? (double)st->calls / st->secs : 0.0, st->content_checks,
	       o.differential ? "" : "");
	if (o.differential)
		printf("fuzz: %" PRIu64 " differential comparisons\n", st->differential_runs);
	if (timeline) {
		uint64_t dropped = timeline_dropped();
		if (timeline_close(err, sizeof(err))) {
			rfile_abort(&out);
			fprintf(stderr, "vidmm-bench fuzz: %s\n", err);
			free(st);
			return EXIT_USAGE;
		}
		printf("fuzz: timeline %s written%s\n", timeline,
		       dropped ? " (events were dropped: see vidmm_dropped_events)" : "");
	}
	uint64_t edges, hit;
	bool covered = coverage_edges(&edges, &hit);
	if (covered)
		printf("fuzz: coverage %" PRIu64 " of %" PRIu64 " edges (%.1f%%)\n", hit, edges,
		       100.0 * (double)hit / (double)edges);
	if (st->found) {
		printf("FOUND (program seed %" PRIu64 "): %s\n", st->finding_seed, st->finding);
		if (st->original_len)
			printf("minimized from %u to %u calls: %s\nreproduce: vidmm-bench replay %s\n",
			       st->original_len, st->minimized_len, st->repro, st->repro);
	} else {
		printf("fuzz: nothing found\n");
	}
	if (outp) {
		json_t *doc = json_pack("{s:{s:s,s:I},s:o}", "context", "tool", "vidmm-bench fuzz",
					"seed", (json_int_t)o.seed, "fuzz", fuzz_results_json(&o, st));
		json_object_set_new(json_object_get(doc, "fuzz"), "coverage", covered ?
			json_pack("{s:I,s:I}", "edges", (json_int_t)edges, "edges_hit", (json_int_t)hit) :
			json_null());
		char *s = json_dumps(doc, JSON_INDENT(1));
		json_decref(doc);
		if (!s || rfile_put(&out, s, err, sizeof(err))) {
			free(s);
			fprintf(stderr, "vidmm-bench fuzz: --out: %s\n", s ? err : "out of memory");
			free(st);
			return EXIT_USAGE;
		}
		free(s);
	}
	ret = st->found ? 1 : 0;
	free(st);
	return ret;
usage:
	fprintf(stderr, "vidmm-bench fuzz: %s\n", err);
	rfile_abort(&out);
	free(st);
	return EXIT_USAGE;
}
