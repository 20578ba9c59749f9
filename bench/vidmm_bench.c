/* SPDX-License-Identifier: MIT */
/*
 * vidmm_bench.c - main of `vidmm-bench`: subcommand dispatch, and the
 * run/replay/list/probe/overhead commands (report and compare live in reports/).
 *
 * Owns: exit codes (0 ok, 1 a check failed, 2 bad usage or configuration,
 * 77 skipped) and the order "validate everything, open every output, then
 * run, then write": a bad option or an unwritable path is reported before any
 * work, and a results file appears whole or not at all. Must not: parse
 * options itself (cli.c, suite.c) or lay out JSON (results.c).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze.h"
#include "cli.h"
#include "drivers/probe.h"
#include "drivers/vulkan/vk.h"
#include "interrupt.h"
#include "metrics.h"
#include "reports/launch.h"
#include "results.h"
#include "suite.h"
#include "trace.h"
#include "units.h"
#include "vidmm_version.h"
#include "timeline.h"

#define EXIT_CHECK 1
#define EXIT_USAGE 2

int fuzz_main(int argc, char **argv); /* fuzz_cli.c */

static void list(FILE *out)
{
	fprintf(out, "workloads:\n");
	for (const struct workload *const *w = workload_table; *w; w++)
		fprintf(out, "  %-14s %s\n", (*w)->name, (*w)->description);
	fprintf(out, "suites:\n");
	suite_list(out);
	fprintf(out, "eviction policies (--evict-policy):\n");
	for (unsigned i = 0; vidmm_evict_policy_name(i); i++)
		fprintf(out, "  %-14s %s\n", vidmm_evict_policy_name(i),
			vidmm_evict_policy_description(i));
}

static int write_doc(struct rfile *f, json_t *doc, const char *opt)
{
	char err[512];
	char *s = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(9));

	if (!s) {
		rfile_abort(f);
		fprintf(stderr, "vidmm-bench: out of memory writing results\n");
		return -ENOMEM;
	}
	int ret = rfile_put(f, s, err, sizeof(err));
	free(s);
	if (ret)
		fprintf(stderr, "vidmm-bench: %s: %s\n", opt, err);
	return ret;
}

/* The report page of a results file (reports/vidmm_reports). */
static int render_html(const char *results, const char *html)
{
	const char *args[] = { "report", results, "--html", html, NULL };
	return reports_exec(args);
}

/* Median and 95% interval across repetitions, on the console. */
static void print_repetitions(const char *name, const char *unit, const double *ops,
			      const double *units, unsigned n)
{
	struct metrics_ci a, b;
	char m1[UNITS_BUF], l1[UNITS_BUF], h1[UNITS_BUF], m2[UNITS_BUF], l2[UNITS_BUF],
		h2[UNITS_BUF];

	metrics_median_ci(ops, n, &a);
	metrics_median_ci(units, n, &b);
	printf("%s: %u repetitions: calls/s median %s [%s–%s], %s/s median %s [%s–%s] "
	       "(%.0f%% interval of the median%s)\n", name, n, units_count(m1, a.median),
	       units_count(l1, a.lo), units_count(h1, a.hi), unit, units_count(m2, b.median),
	       units_count(l2, b.lo), units_count(h2, b.hi), a.coverage * 100,
	       n < 6 ? ": min to max, too few repetitions for 95%" : "");
}

static int cmd_run(int argc, char **argv, bool replay)
{
	const char *cmd = replay ? "replay" : "run";
	struct cli_run o;
	struct rfile out = { .fd = -1 };
	struct trace_writer *tw = NULL;
	struct trace_replay *tr = NULL;
	char err[512], tmp_json[64] = "";
	int status = 0;

	if (cli_parse_run(argc, argv, replay, &o, err, sizeof(err))) {
		fprintf(stderr, "vidmm-bench %s: %s\n", cmd, err);
		return EXIT_USAGE;
	}
	if (o.help)
		return 0;
	unsigned reps = o.repeat ? o.repeat : 1;
	if (!replay && o.cfg.w->needs_swap && o.cfg.profile.swap == 0) {
		fprintf(stderr, "vidmm-bench run: skipped: %s measures swapping, and the profile "
			"has no swap file (--swap-mib 0)\n", o.cfg.w->name);
		return 77;
	}
	if (replay && reps > 1) {
		fprintf(stderr, "vidmm-bench replay: --repeat: a replay is one run\n");
		return EXIT_USAGE;
	}
	if (o.record && reps > 1) {
		fprintf(stderr, "vidmm-bench run: --record with --repeat: a trace holds one run "
			"(record one repetition)\n");
		return EXIT_USAGE;
	}
	if (replay) {
		bool stats = o.cfg.stats, perf = o.cfg.perf, pin = o.cfg.pin, empty = o.cfg.allow_empty;
		char ep[sizeof(o.cfg.evict_policy)], drv[sizeof(o.cfg.driver)], dev[sizeof(o.cfg.device)];
		snprintf(ep, sizeof(ep), "%s", o.cfg.evict_policy);
		/* a trace replays on either driver: the one asked for, not the
		 * one it was recorded on */
		snprintf(drv, sizeof(drv), "%s", o.cfg.driver);
		snprintf(dev, sizeof(dev), "%s", o.cfg.device);
		if (trace_replay_open(o.trace, &o.cfg, &tr, err, sizeof(err))) {
			fprintf(stderr, "vidmm-bench %s\n", err);
			return EXIT_USAGE;
		}
		trace_replay_set_partial(tr, o.partial);
		if (ep[0]) {
			snprintf(o.cfg.evict_policy, sizeof(o.cfg.evict_policy), "%s", ep);
			trace_replay_set_evict_policy(tr, ep);
		}
		o.cfg.stats = stats;
		o.cfg.perf = perf;
		o.cfg.pin = pin;
		o.cfg.allow_empty = empty;
		snprintf(o.cfg.driver, sizeof(o.cfg.driver), "%s", drv);
		snprintf(o.cfg.device, sizeof(o.cfg.device), "%s", dev);
	}
	o.cfg.progress = !o.quiet && isatty(STDERR_FILENO);
	/* Every output first: an unwritable path fails before any work, and
	 * nothing is written. */
	if ((o.out && rfile_open(&out, o.out, "--out", err, sizeof(err))) ||
	    (o.html && rfile_check(o.html, "--html", err, sizeof(err))) ||
	    (o.record && trace_writer_open(o.record, &tw, err, sizeof(err))) ||
	    (o.timeline && timeline_open(o.timeline, err, sizeof(err)))) {
		fprintf(stderr, "vidmm-bench %s: %s\n", cmd, err);
		rfile_abort(&out);
		trace_writer_abort(tw);
		trace_replay_close(tr);
		return EXIT_USAGE;
	}
	if (o.record) {
		/* Recording waits for every job, so that the trace replays to the
		 * same state (see trace.h). */
		o.cfg.deterministic = true;
		o.cfg.trace = tw;
		trace_write_header(tw, &o.cfg);
		if (o.cfg.threads > 1)
			fprintf(stderr, "vidmm-bench run: note: %u threads recorded: a replay makes the "
				"same calls in recorded order on one thread, not the same "
				"interleaving; it compares counters within a tolerance\n",
				o.cfg.threads);
	}
	interrupt_begin(tw);
	json_t *runs = json_array(), *ctx = NULL;
	double *rops = calloc(reps, sizeof(double)), *runits = calloc(reps, sizeof(double));
	uint64_t base_seed = o.cfg.seed;
	bool interrupted = false, failed = false;
	unsigned done_reps = 0;
	/* A series of repetitions may measure again, twice as many times as it
	 * has repetitions, those that ran on a busy machine: one run is what
	 * it is, and is only noted. */
	unsigned remeasure = reps > 1 ? 2 * reps : 0;
	for (unsigned i = 0; i < reps && !interrupted; i++) {
		struct run_result res;
		o.cfg.seed = o.same_seed ? base_seed : base_seed + i;
		if (reps > 1)
			printf("vidmm-bench %s: workload %s, profile %s, repetition %u of %u, seed %"
			       PRIu64 ", %u thread%s%s\n", cmd, o.cfg.w->name, o.cfg.profile.name, i + 1,
			       reps, o.cfg.seed, o.cfg.threads, o.cfg.threads == 1 ? "" : "s",
			       o.cfg.verify ? ", verify" : "");
		else
			printf("vidmm-bench %s: workload %s, profile %s, seed %" PRIu64 ", %u thread%s%s\n",
			       cmd, replay ? "replay" : o.cfg.w->name, o.cfg.profile.name, o.cfg.seed,
			       o.cfg.threads, o.cfg.threads == 1 ? "" : "s",
			       o.cfg.verify ? ", verify" : "");
		fflush(stdout);
		char label[64];
		snprintf(label, sizeof(label), "repetition %u", i + 1);
		int rr = runner_run_repetition(&o.cfg, &res, &remeasure, label, err, sizeof(err));
		if (rr) {
			interrupt_end();
			/* no device for the driver, or one lacking a feature: skipped */
			fprintf(stderr, "vidmm-bench %s: %s%s\n", cmd, rr == -ENXIO ? "skipped: " : "",
				err);
			rfile_abort(&out);
			timeline_abort();
			trace_writer_abort(tw);
			trace_replay_close(tr);
			json_decref(runs);
			json_decref(ctx);
			free(rops);
			free(runits);
			return rr == -ENXIO ? 77 : EXIT_USAGE;
		}
		interrupted = res.interrupted;
		if (tr) {
			int cmp = trace_replay_compare(tr, &res, stdout);
			if (cmp < 0) {
				/* A damaged trace: what ran is no result (bad input, no output). */
				interrupt_end();
				trace_replay_close(tr);
				rfile_abort(&out);
				timeline_abort();
				runner_result_free(&res);
				json_decref(runs);
				json_decref(ctx);
				free(rops);
				free(runits);
				return EXIT_USAGE;
			}
			if (cmp > 0)
				failed = true;
		}
		if (!ctx)
			ctx = results_context(&o.cfg, &res, argc, argv);
		json_t *jr = results_run(&o.cfg, &res);
		json_object_set_new(jr, "repetition", json_integer(i));
		if (tr)
			trace_replay_describe(tr, jr);
		json_array_append_new(runs, jr);
		if (!o.quiet)
			results_print_run(stdout, &o.cfg, &res);
		else if (res.failed)
			fprintf(stderr, "vidmm-bench %s: CHECK FAILED: %s\n", cmd, res.fail_reason);
		failed |= res.failed;
		rops[i] = res.duration_s > 0 ? (double)res.ops / res.duration_s : 0;
		runits[i] = res.duration_s > 0 ? (double)res.units / res.duration_s : 0;
		done_reps++;
		if (tw && trace_writer_commit(tw, &res, err, sizeof(err))) {
			fprintf(stderr, "vidmm-bench %s: %s\n", cmd, err);
			status = EXIT_USAGE;
		}
		tw = NULL;
		runner_result_free(&res);
	}
	interrupt_end();
	trace_replay_close(tr);
	if (o.timeline) {
		uint64_t dropped = timeline_dropped();
		if (timeline_close(err, sizeof(err))) {
			fprintf(stderr, "vidmm-bench %s: %s\n", cmd, err);
			status = EXIT_USAGE;
		} else if (!o.quiet) {
			printf("timeline: %s written%s\n", o.timeline,
			       dropped ? " (events were dropped: see vidmm_dropped_events)" : "");
		}
	}
	if (done_reps > 1 && !o.quiet)
		print_repetitions(o.cfg.w->name, o.cfg.w->unit ? o.cfg.w->unit : "units", rops,
				  runits, done_reps);
	free(rops);
	free(runits);
	json_object_set_new(ctx, "repeat", json_integer(reps));
	json_object_set_new(ctx, "same_seed", json_boolean(o.same_seed));
	json_object_set_new(ctx, "seed", json_integer((json_int_t)base_seed));
	json_object_set_new(ctx, "interrupted", json_boolean(interrupted));
	json_t *doc = results_document(ctx, runs);
	const char *json_path = o.out;
	if (o.out && write_doc(&out, doc, "--out"))
		status = EXIT_USAGE;
	if (o.html && !status) {
		/* The page is drawn from the results: a temporary copy when there
		 * is no --out. */
		if (!json_path) {
			struct rfile t;
			snprintf(tmp_json, sizeof(tmp_json), "/tmp/vidmm-bench-%ld.json", (long)getpid());
			if (rfile_open(&t, tmp_json, "--html", err, sizeof(err)) ||
			    write_doc(&t, doc, "--html"))
				tmp_json[0] = 0;
			json_path = tmp_json[0] ? tmp_json : NULL;
		}
		if (!json_path || render_html(json_path, o.html))
			status = EXIT_USAGE;
		if (tmp_json[0])
			unlink(tmp_json);
	}
	json_decref(doc);
	if (status)
		return status;
	if (interrupted)
		return EXIT_INTERRUPTED;
	return failed ? EXIT_CHECK : 0;
}

static int cmd_probe(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'j') {
			json = true;
		} else if (ch == 'h') {
			printf("usage: vidmm-bench probe [--json]\n\nLists the display-class PCI "
			       "devices (libpci) and the NUMA node and cores near each (hwloc), then the\n"
			       "Vulkan devices (--driver vulkan --device N|NAME): heaps, memory types,\n"
			       "queue families, and whether the driver can use each.\n");
			return 0;
		} else {
			fprintf(stderr, "vidmm-bench probe: unknown option '%s'\n", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vidmm-bench probe: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	/* The PCI view, then the Vulkan devices beside it (JSON: a "vulkan"
	 * member of the same object). */
	char *pci = NULL;
	size_t plen = 0;
	FILE *m = open_memstream(&pci, &plen);
	int r = m ? probe_run(m, json) : -ENOMEM;
	if (m)
		fclose(m);
	if (r) {
		free(pci);
		fprintf(stderr, "vidmm-bench probe: %s\n", strerror(-r));
		return EXIT_CHECK;
	}
	if (json) {
		char *end = strrchr(pci, '}');
		if (end)
			*end = 0;
		fputs(pci, stdout);
		fputs(",\"vulkan\":", stdout);
#if HAVE_VULKAN
		char *vk = NULL;
		size_t vlen = 0;
		FILE *vm = open_memstream(&vk, &vlen);
		if (vm) {
			vk_probe(vm, true);
			fclose(vm);
		}
		while (vk && vlen && vk[vlen - 1] == '\n')
			vk[--vlen] = 0;
		fputs(vk && *vk ? vk : "[]", stdout);
		free(vk);
#else
		fputs("[]", stdout);
#endif
		fputs("}\n", stdout);
	} else {
		fputs(pci, stdout);
#if HAVE_VULKAN
		vk_probe(stdout, false);
#else
		printf("Vulkan: this build has no Vulkan driver (libvulkan-dev, glslc)\n");
#endif
	}
	free(pci);
	return 0;
}

/*
 * overhead: alloc-churn with the harness's statistics on and off. Both sides
 * do the same work (same seed, same --ops: one thread issues the same calls),
 * alternating in ABBA order in one process so drift hits both alike. This
 * machine is shared and noisy, so the figure is the ratio of the *best*
 * times (interference only ever adds time), with the median of the per-pair
 * ratios beside it.
 */
static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int cmd_overhead(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ "ops", required_argument, NULL, 'o' },
		{ "what", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t rounds = 11, ops = 200000;
	bool timeline = false; /* --what timeline: --timeline on/off, statistics on both sides */
	char err[512];
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if (cli_parse_u64("--rounds", optarg, 1000, false, &rounds, err, sizeof(err))) {
				fprintf(stderr, "vidmm-bench overhead: %s\n", err);
				return EXIT_USAGE;
			}
			break;
		case 'o':
			if (cli_parse_u64("--ops", optarg, 1ull << 40, false, &ops, err, sizeof(err))) {
				fprintf(stderr, "vidmm-bench overhead: %s\n", err);
				return EXIT_USAGE;
			}
			break;
		case 'w':
			if (!strcmp(optarg, "timeline")) {
				timeline = true;
			} else if (strcmp(optarg, "stats")) {
				fprintf(stderr, "vidmm-bench overhead: --what: '%s' is neither stats nor "
					"timeline\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			printf("usage: vidmm-bench overhead [--rounds N] [--ops N] [--what stats|timeline]\n\n"
			       "Runs alloc-churn (tiny profile, one thread, --ops N, one seed) N times\n"
			       "with the harness's statistics on (per-call latency histograms, 100 ms\n"
			       "time series) and N times off (--no-stats), alternating ABBA, and prints\n"
			       "the throughput ratio on/off of the best runs and the median of the\n"
			       "per-pair ratios, the median's 95%% interval (order statistics), and\n"
			       "the verdict on the budget (statistics cost <= 3%%): within, OVER, or\n"
			       "unresolved when the interval contains it.\n"
			       "--what timeline: the same with --timeline on and off (statistics on\n"
			       "both sides); the file goes to a temporary path and is deleted.\n");
			return 0;
		default:
			fprintf(stderr, "vidmm-bench overhead: unknown option '%s'\n", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	double *on = calloc(rounds, sizeof(double)), *off = calloc(rounds, sizeof(double));
	double *pair = calloc(rounds, sizeof(double));
	struct run_config c;
	uint64_t seed = cli_clock_seed();
	memset(&c, 0, sizeof(c));
	c.w = workload_find("alloc-churn");
	if (!on || !off || !pair || !c.w ||
	    vidmm_profile_resolve("tiny", &c.profile, err, sizeof(err)) ||
	    runner_resolve_params(&c, NULL, NULL, 0, err, sizeof(err))) {
		free(on);
		free(off);
		free(pair);
		fprintf(stderr, "vidmm-bench overhead: setup failed\n");
		return EXIT_USAGE;
	}
	snprintf(c.driver, sizeof(c.driver), "emu");
	c.threads = 1;
	c.ops_limit = ops;
	c.seed = seed;
	printf("overhead: alloc-churn, tiny, seed %" PRIu64 ", %" PRIu64 " ops, %" PRIu64
	       " rounds each way\n", seed, ops, rounds);
	for (uint64_t i = 0; i < 2 * rounds; i++) {
		struct run_result res;
		/* ABBA: neither side always runs first */
		bool stats = ((i & 1) == 0) == ((i / 2) % 2 == 0);
		char tl[64];
		c.stats = timeline ? true : stats;
		snprintf(tl, sizeof(tl), "/tmp/vidmm-overhead-%ld.json", (long)getpid());
		if (timeline && stats && timeline_open(tl, err, sizeof(err))) {
			fprintf(stderr, "vidmm-bench overhead: %s\n", err);
			free(on);
			free(off);
			free(pair);
			return EXIT_USAGE;
		}
		int rr = runner_run(&c, &res, err, sizeof(err));
		if (timeline && stats) {
			char e2[256];
			if (timeline_close(e2, sizeof(e2)) == 0)
				unlink(tl);
		}
		if (rr) {
			fprintf(stderr, "vidmm-bench overhead: %s\n", err);
			free(on);
			free(off);
			free(pair);
			return EXIT_USAGE;
		}
		double r = (double)res.ops / res.duration_s;
		(stats ? on : off)[i / 2] = r;
		printf("  round %2" PRIu64 " %s %-3s %10.0f ops/s\n", i / 2,
		       timeline ? "timeline" : "stats", stats ? "on" : "off", r);
		fflush(stdout);
		runner_result_free(&res);
	}
	for (uint64_t i = 0; i < rounds; i++)
		pair[i] = on[i] / off[i];
	/* The verdict rests on the per-pair ratios (each pair ran back to
	 * back, ABBA): their median and its order-statistic interval. With
	 * the budget inside the interval the run cannot tell, and says so. */
	struct metrics_ci ci;
	metrics_median_ci(pair, (unsigned)rounds, &ci);
	qsort(on, rounds, sizeof(double), cmp_d);
	qsort(off, rounds, sizeof(double), cmp_d);
	double best = on[rounds - 1] / off[rounds - 1];
	const double budget = 0.97; /* statistics: at most 3% */
	const char *what = timeline ? "the timeline" : "statistics";
	printf("overhead: %s on/off, median of %" PRIu64 " pair ratios %.4f, %.0f%% interval "
	       "[%.4f, %.4f]%s; best runs %.0f / %.0f ops/s = %.4f\n", what, rounds, ci.median,
	       ci.coverage * 100, ci.lo, ci.hi,
	       rounds < 6 ? " (min to max: too few rounds for 95%)" : "", on[rounds - 1],
	       off[rounds - 1], best);
	if (timeline && ci.hi < 1)
		printf("overhead: the timeline costs %.1f%% [%.1f%%, %.1f%%] of alloc-churn's "
		       "throughput\n", (1 - ci.median) * 100, (1 - ci.hi) * 100, (1 - ci.lo) * 100);
	else if (timeline && ci.lo > 1)
		printf("overhead: alloc-churn ran faster with the timeline (the whole interval above "
		       "1): its extra work changed how the threads share the CPUs, so this run "
		       "cannot resolve the timeline's own cost\n");
	else if (timeline)
		printf("overhead: the timeline's cost is unresolved (the interval contains 1: more "
		       "--rounds)\n");
	else
		printf("overhead: budget 3%% (ratio >= %.2f): %s\n", budget,
		       ci.lo >= budget ? "within (the whole interval)"
		       : ci.hi < budget ? "OVER (the whole interval)"
				       : "unresolved (the interval contains the budget: more --rounds)");
	free(on);
	free(off);
	free(pair);
	return 0;
}

/*
 * micro: the Google Benchmark microbenchmarks live in vidmm-micro (C++ is
 * needed only there); every argument, --benchmark_* flags included, is
 * passed through unchanged.
 */
static int cmd_micro(int argc, char **argv)
{
	char bin[PATH_MAX];

	if (cli_sibling_path("vidmm-micro", bin, sizeof(bin))) {
		fprintf(stderr, "vidmm-bench micro: vidmm-micro was not built (it needs C++ and "
				"Google Benchmark: meson option gbench)\n");
		return 77;
	}
	if (argc > 1 && strcmp(argv[1], "--help") == 0)
		printf("usage: vidmm-bench micro [--benchmark_* flags]\n\n"
		       "Runs %s with the flags unchanged, e.g.\n"
		       "  vidmm-bench micro --benchmark_filter=BM_gart --benchmark_out=g.json "
		       "--benchmark_out_format=json\n\nIts own help follows.\n\n", bin);
	fflush(stdout);
	argv[0] = bin;
	execv(bin, argv);
	fprintf(stderr, "vidmm-bench micro: cannot run %s: %s\n", bin, strerror(errno));
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		cli_help_main(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	/* subcommands see argv[0] = their own name */
	int sargc = argc - 1;
	char **sargv = argv + 1;

	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		cli_help_main(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("vidmm-bench %s (%s)\n", VIDMM_VERSION, VIDMM_GIT_REV);
		return 0;
	}
	if (strcmp(cmd, "list") == 0) {
		if (argc > 2 && strcmp(argv[2], "--help") == 0) {
			printf("usage: vidmm-bench list\n\nWorkloads and suites, one line each.\n");
			return 0;
		}
		if (argc > 2) {
			fprintf(stderr, "vidmm-bench list: unexpected argument '%s'\n", argv[2]);
			return EXIT_USAGE;
		}
		list(stdout);
		return 0;
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(sargc, sargv, false);
	if (strcmp(cmd, "replay") == 0)
		return cmd_run(sargc, sargv, true);
	if (strcmp(cmd, "suite") == 0)
		return suite_main(sargc, sargv);
	if (strcmp(cmd, "probe") == 0)
		return cmd_probe(sargc, sargv);
	if (strcmp(cmd, "overhead") == 0)
		return cmd_overhead(sargc, sargv);
	if (strcmp(cmd, "micro") == 0)
		return cmd_micro(sargc, sargv);
	if (strcmp(cmd, "fuzz") == 0)
		return fuzz_main(sargc, sargv);
	if (strcmp(cmd, "analyze") == 0)
		return analyze_main(sargc, sargv);
	/* reports/: the input files checked here, the rest in Python */
	if (strcmp(cmd, "report") == 0 || strcmp(cmd, "compare") == 0)
		return reports_main(sargc, sargv);
	fprintf(stderr, "vidmm-bench: unknown command '%s' (vidmm-bench --help)\n", cmd);
	return EXIT_USAGE;
}
