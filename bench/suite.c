/* SPDX-License-Identifier: MIT */
/*
 * suite.c - `vidmm-bench suite NAME`: quick (the main job and CI: every
 * workload family, --verify, tiny profile) and full (longer runs and more
 * variants on the default profile, for numbers rather than checks). Each
 * run is repeated (5 times by default, interleaved: repetition 1 of every
 * run, then repetition 2, ...), so that `compare` has the repetitions its
 * test needs and slow drift of the machine spreads over every run alike.
 *
 * Owns: the suite definitions and the out dir (results.json, micro.json,
 * summary.md, report.html). Must not: hide a failed run: any check failure
 * makes the suite exit 1.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "interrupt.h"
#include "reports/launch.h"
#include "results.h"
#include "suite.h"
#include "timeline.h"

struct suite_run {
	const char *workload;
	const char *params; /* "k=v k=v" */
	unsigned threads;   /* 0: the workload's default */
	double duration_s;  /* the measured window */
	enum vidmm_paging_mode mode;
	bool pipelined;     /* --paging pipelined */
};

struct suite {
	const char *name;
	const char *description;
	const char *profile;
	bool verify;
	unsigned repeat;            /* repetitions of every run (--repeat changes it) */
	double warmup_s;            /* before every measured window */
	const struct suite_run *runs;
	const char *micro_filter;   /* vidmm-micro --benchmark_filter, run after the runs */
	const char *micro_min_time; /* --benchmark_min_time (plain seconds in 1.7.1) */
};

/* 5 repetitions: the smallest two-sided p-value a Mann-Whitney U test of
 * 5 against 5 can give is 0.008, below compare's 0.05; with 3 it is 0.1, and
 * compare could only ever say "inconclusive". */
#define SUITE_REPEAT 5

/* One or two arguments of every microbenchmark family. */
#define MICRO_QUICK                                                                     \
	"^BM_(heap_(baseline_)?pair/live:10000/frag:50|gart_map_unmap/pages:(1|4096|262144)/" \
	"|emu_mmu_translate/pages:4096/|residency_(page_(out|in)|memcpy)/size:2097152"        \
	"|fence_signal_to_wake|fence_submit/allocs:16/|shim/empty"                             \
	"|swap_(out|in|raw_write|raw_read)/size:2097152/qd:32)"

static const struct suite_run quick_runs[] = {
	{ "alloc-churn", "dist=lognormal", 0, 1.0, VIDMM_PAGING_WINDOW, false },
	{ "frag", "", 0, 1.0, VIDMM_PAGING_WINDOW, false },
	{ "oversubscribe", "", 0, 1.0, VIDMM_PAGING_WINDOW, false },
	{ "game-frame", "", 0, 1.0, VIDMM_PAGING_WINDOW, false },
	{ "ml-train", "", 0, 1.0, VIDMM_PAGING_WINDOW, false },
	{ "paging", "", 0, 1.0, VIDMM_PAGING_WINDOW, false },
	{ "paging", "", 0, 1.0, VIDMM_PAGING_BOUNCE, false },
	{ "swap", "pressure=1.3", 0, 1.0, VIDMM_PAGING_WINDOW, false },
	{ "multi-client", "", 4, 1.0, VIDMM_PAGING_WINDOW, false },
	{ .workload = NULL },
};

static const struct suite_run full_runs[] = {
	{ "alloc-churn", "dist=uniform", 0, 4.0, VIDMM_PAGING_WINDOW, false },
	{ "alloc-churn", "dist=lognormal", 0, 4.0, VIDMM_PAGING_WINDOW, false },
	{ "alloc-churn", "dist=powerlaw", 0, 4.0, VIDMM_PAGING_WINDOW, false },
	{ "frag", "", 0, 4.0, VIDMM_PAGING_WINDOW, false },
	{ "oversubscribe", "ws_factor=1.5", 0, 4.0, VIDMM_PAGING_WINDOW, false },
	{ "oversubscribe", "ws_factor=3", 0, 4.0, VIDMM_PAGING_WINDOW, false },
	{ "oversubscribe", "ws_factor=3", 0, 4.0, VIDMM_PAGING_WINDOW, true },
	{ "game-frame", "", 0, 4.0, VIDMM_PAGING_WINDOW, false },
	{ "game-frame", "", 0, 4.0, VIDMM_PAGING_WINDOW, true },
	{ "ml-train", "", 0, 4.0, VIDMM_PAGING_WINDOW, false },
	{ "paging", "", 0, 3.0, VIDMM_PAGING_WINDOW, false },
	{ "paging", "", 0, 3.0, VIDMM_PAGING_BOUNCE, false },
	{ "swap", "", 0, 3.0, VIDMM_PAGING_WINDOW, false },
	{ "multi-client", "", 4, 4.0, VIDMM_PAGING_WINDOW, false },
	{ "multi-client", "", 8, 4.0, VIDMM_PAGING_WINDOW, false },
	{ .workload = NULL },
};

static const struct suite suites[] = {
	{ "quick", "every workload family, --verify, tiny profile, 5 repetitions of 1 s (the "
	  "main job, ~2 min)", "tiny", true, SUITE_REPEAT, 0.2, quick_runs, MICRO_QUICK, "0.05" },
	{ "full", "longer runs and more variants on the default profile, 5 repetitions of "
	  "3-4 s, sync and pipelined paging side by side (~7 min)", "default", false, SUITE_REPEAT, 0.5, full_runs, ".", "0.1" },
	{ .name = NULL },
};

void suite_list(FILE *out)
{
	for (const struct suite *s = suites; s->name; s++)
		fprintf(out, "  %-14s %s\n", s->name, s->description);
}

static void help(FILE *out)
{
	fprintf(out,
		"usage: vidmm-bench suite NAME [--out-dir DIR] [--seed N] [--repeat N] [--same-seed]\n"
		"                         [--allow-empty] [--perf] [--evict-policy NAME]\n"
		"                         [--max-other-load SHARE] [--timeline FILE.json] [--quiet]\n"
		"                         [--list]\n"
		"\n"
		"Runs every run of the suite, each repeated (default %d times, interleaved), and\n"
		"writes DIR/results.json, DIR/micro.json (the microbenchmarks), DIR/summary.md and\n"
		"DIR/report.html (default DIR: results/NAME-YYYYmmdd-HHMMSS). Exit 1 if any run fails\n"
		"a check, 130 when interrupted (the runs that finished are written).\n"
		"\n"
		"  --list       print the runs of the suite and exit (--dry-run is the same)\n"
		"  --repeat N   repetitions of every run (compare needs at least 4 per side)\n"
		"  --same-seed  every repetition with the same seed (default: seed + repetition)\n"
		"  --timeline FILE.json  one timeline of every run, for Perfetto or chrome://tracing\n"
		"  --perf       perf_event_open counters for every run (summary.md, report.html)\n"
		"  --evict-policy NAME  every run with this eviction policy (vidmm-bench list)\n"
		"  --max-other-load SHARE  a run during whose window other processes and the\n"
		"               hypervisor took more than SHARE of the machine's CPU time is\n"
		"               measured again once it is quiet, twice as many extra runs as\n"
		"               the suite has at most\n"
		"               (default 0.05; 1: never)\n"
		"\nsuites:\n", SUITE_REPEAT);
	suite_list(out);
}

static int mkdirs(const char *path)
{
	char buf[PATH_MAX];

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	struct stat st;
	if (stat(buf, &st) || !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

static int build_config(const struct suite *s, const struct suite_run *r, uint64_t seed,
			bool quiet, bool allow_empty, bool perf, const char *policy,
			struct run_config *c, char *err, size_t len)
{
	const char *keys[RUN_MAX_PARAMS], *vals[RUN_MAX_PARAMS];
	char buf[256];
	unsigned n = 0;

	memset(c, 0, sizeof(*c));
	c->w = workload_find(r->workload);
	if (!c->w) {
		snprintf(err, len, "suite %s: unknown workload %s", s->name, r->workload);
		return -EINVAL;
	}
	if (vidmm_profile_resolve(s->profile, &c->profile, err, len))
		return -EINVAL;
	snprintf(c->driver, sizeof(c->driver), "emu");
	c->paging_mode = r->mode;
	c->pipelined = r->pipelined;
	c->duration_s = r->duration_s;
	c->warmup_s = s->warmup_s;
	c->allow_empty = allow_empty;
	c->perf = perf;
	snprintf(c->evict_policy, sizeof(c->evict_policy), "%s", policy);
	c->threads = r->threads ? r->threads : (c->w->default_threads ? c->w->default_threads : 1);
	c->seed = seed;
	c->verify = s->verify;
	c->stats = true;
	c->progress = !quiet && isatty(STDERR_FILENO);
	snprintf(buf, sizeof(buf), "%s", r->params);
	for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok && n < RUN_MAX_PARAMS;
	     tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			continue;
		*eq = 0;
		keys[n] = tok;
		vals[n] = eq + 1;
		n++;
	}
	return runner_resolve_params(c, keys, vals, n, err, len);
}

/*
 * Run vidmm-micro (built with this binary when Google Benchmark is there)
 * with the suite's filter and 5 repetitions, its JSON into out_dir/micro.json
 * and its table into micro.txt. Returns "micro.json", "not built" or
 * "failed (...)" for the context; a failure here is reported, not fatal: the
 * suite's checks are the workloads'.
 */
static const char *run_micro(const struct suite *s, unsigned repeat, const char *out_dir,
			     char *buf, size_t len)
{
	char bin[PATH_MAX], out[PATH_MAX + 32], txt[PATH_MAX], reps[64];

	if (cli_sibling_path("vidmm-micro", bin, sizeof(bin)))
		return "not built";
	snprintf(out, sizeof(out), "--benchmark_out=%s/micro.json", out_dir);
	snprintf(txt, sizeof(txt), "%s/micro.txt", out_dir);
	char filt[512], mt[64];
	snprintf(filt, sizeof(filt), "--benchmark_filter=%s", s->micro_filter);
	snprintf(mt, sizeof(mt), "--benchmark_min_time=%s", s->micro_min_time);
	snprintf(reps, sizeof(reps), "--benchmark_repetitions=%u", repeat);

	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(buf, len, "failed (fork: %s)", strerror(errno));
		return buf;
	}
	if (pid == 0) {
		FILE *f = freopen(txt, "w", stdout);
		if (!f)
			_exit(127);
		dup2(STDOUT_FILENO, STDERR_FILENO);
		execl(bin, bin, filt, mt, reps, out, "--benchmark_out_format=json", (char *)NULL);
		_exit(127);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(buf, len, "failed (status %d, see micro.txt)",
			 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		return buf;
	}
	return "micro.json";
}

static void list_runs(const struct suite *s, unsigned repeat)
{
	printf("suite %s: profile %s, %s, %u repetitions, %.1f s warm-up before each window\n",
	       s->name, s->profile, s->verify ? "--verify" : "no --verify", repeat, s->warmup_s);
	for (const struct suite_run *r = s->runs; r->workload; r++)
		printf("  %-14s %-18s threads %-7s %s%s paging, %.1f s window\n", r->workload,
		       *r->params ? r->params : "(defaults)", r->threads ? "" : "default",
		       r->mode == VIDMM_PAGING_BOUNCE ? "bounce" : "window",
		       r->pipelined ? " pipelined" : "", r->duration_s);
	if (s->micro_filter)
		printf("  then the microbenchmarks (vidmm-micro, filter %s, min time %s s, %u "
		       "repetitions)\n", s->micro_filter, s->micro_min_time, repeat);
}

int suite_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out-dir", required_argument, NULL, 'o' },
		{ "seed", required_argument, NULL, 's' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "same-seed", no_argument, NULL, 'S' },
		{ "allow-empty", no_argument, NULL, 'e' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "timeline", required_argument, NULL, 't' },
		{ "perf", no_argument, NULL, 'P' },
		{ "evict-policy", required_argument, NULL, 'E' },
		{ "max-other-load", required_argument, NULL, 'M' },
		{ "list", no_argument, NULL, 'l' },
		{ "dry-run", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out_dir = NULL, *timeline = NULL;
	char policy[32] = "";
	char def_dir[PATH_MAX], err[512];
	uint64_t seed = cli_clock_seed(), repeat = 0;
	double host_limit = 0;
	bool quiet = false, same_seed = false, allow_empty = false, list = false, perf = false;
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (optarg && optind >= 2 && optarg == argv[optind - 1] &&
		    cli_value_ok(argv[optind - 2], optarg, err, sizeof(err))) {
			fprintf(stderr, "vidmm-bench suite: %s\n", err);
			return 2;
		}
		switch (ch) {
		case 'o':
			out_dir = optarg;
			break;
		case 's':
			if (cli_parse_u64("--seed", optarg, INT64_MAX, true, &seed, err, sizeof(err))) {
				fprintf(stderr, "vidmm-bench suite: %s\n", err);
				return 2;
			}
			break;
		case 'r':
			if (cli_parse_u64("--repeat", optarg, 1000, false, &repeat, err, sizeof(err))) {
				fprintf(stderr, "vidmm-bench suite: %s\n", err);
				return 2;
			}
			break;
		case 'S':
			same_seed = true;
			break;
		case 'e':
			allow_empty = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 't':
			timeline = optarg;
			break;
		case 'P':
			perf = true;
			break;
		case 'E':
			if (cli_evict_policy(optarg, policy, sizeof(policy), err, sizeof(err))) {
				fprintf(stderr, "vidmm-bench suite: %s\n", err);
				return 2;
			}
			break;
		case 'M':
			if (cli_parse_share("--max-other-load", optarg, &host_limit, err,
					    sizeof(err))) {
				fprintf(stderr, "vidmm-bench suite: %s\n", err);
				return 2;
			}
			break;
		case 'l':
			list = true;
			break;
		case 'h':
			help(stdout);
			return 0;
		case ':':
			fprintf(stderr, "vidmm-bench suite: option '%s' needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "vidmm-bench suite: unknown option '%s'\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vidmm-bench suite: missing NAME (quick or full)\n");
		return 2;
	}
	const char *name = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "vidmm-bench suite: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	const struct suite *s = suites;
	while (s->name && strcmp(s->name, name) != 0)
		s++;
	if (!s->name) {
		fprintf(stderr, "vidmm-bench suite: unknown suite '%s' (quick, full)\n", name);
		return 2;
	}
	unsigned reps = repeat ? (unsigned)repeat : s->repeat;
	if (list) {
		list_runs(s, reps);
		return 0;
	}
	if (!out_dir) {
		time_t now = time(NULL);
		struct tm tm;
		char ts[32];
		localtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", &tm);
		snprintf(def_dir, sizeof(def_dir), "results/%s-%s", s->name, ts);
		out_dir = def_dir;
	}
	int r = mkdirs(out_dir);
	if (r) {
		fprintf(stderr, "vidmm-bench suite: --out-dir: cannot create %s: %s\n", out_dir,
			strerror(-r));
		return 2;
	}
	char pj[PATH_MAX], pm[PATH_MAX], ph[PATH_MAX];
	struct rfile fj;
	if (snprintf(pj, sizeof(pj), "%s/results.json", out_dir) >= (int)sizeof(pj) ||
	    snprintf(pm, sizeof(pm), "%s/summary.md", out_dir) >= (int)sizeof(pm) ||
	    snprintf(ph, sizeof(ph), "%s/report.html", out_dir) >= (int)sizeof(ph)) {
		fprintf(stderr, "vidmm-bench suite: --out-dir: path too long\n");
		return 2;
	}
	/* Every output checked before the first run. */
	if (rfile_open(&fj, pj, "--out-dir", err, sizeof(err)) ||
	    rfile_check(pm, "--out-dir", err, sizeof(err)) ||
	    rfile_check(ph, "--out-dir", err, sizeof(err)) ||
	    (timeline && timeline_open(timeline, err, sizeof(err)))) {
		rfile_abort(&fj);
		fprintf(stderr, "vidmm-bench suite: %s\n", err);
		return 2;
	}

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned nconf = 0;
	for (const struct suite_run *sr = s->runs; sr->workload; sr++)
		nconf++;
	printf("suite %s: profile %s, seed %" PRIu64 ", %u runs x %u repetitions, out dir %s\n",
	       s->name, s->profile, seed, nconf, reps, out_dir);
	fflush(stdout);
	interrupt_begin(NULL);
	json_t *runs = json_array(), *ctx = NULL;
	unsigned nruns = 0, nfailed = 0;
	int status = 0;
	bool interrupted = false;
	/* Runs on a busy machine measured again: twice as many as the suite has. */
	unsigned remeasure = reps > 1 ? 2 * reps * nconf : 0;
	/* Interleaved: every run's repetition k before any run's k + 1. */
	for (unsigned rep = 0; rep < reps && !status && !interrupted; rep++) {
		unsigned idx = 0;
		for (const struct suite_run *sr = s->runs; sr->workload && !interrupted; sr++, idx++) {
			struct run_config c;
			struct run_result res;
			uint64_t rseed = seed + idx + (same_seed ? 0 : (uint64_t)rep * 1000);
			char label[96];
			snprintf(label, sizeof(label), "[%u/%u] %s", rep * nconf + idx + 1, reps * nconf,
				 sr->workload);
			int bad = build_config(s, sr, rseed, quiet, allow_empty, perf, policy, &c,
					       err, sizeof(err));
			if (!bad) {
				c.host_limit = host_limit;
				bad = runner_run_repetition(&c, &res, &remeasure, label, err,
							    sizeof(err));
			}
			if (bad) {
				fprintf(stderr, "vidmm-bench suite: %s: %s\n", sr->workload, err);
				status = 2;
				break;
			}
			interrupted = res.interrupted;
			if (!ctx)
				ctx = results_context(&c, &res, argc, argv);
			/* The rings exist from the first swap I/O of any run on. */
			const json_t *io = json_object_get(ctx, "io_uring");
			if (json_is_object(io) && json_is_null(json_object_get(io, "setup_flags")) &&
			    res.st.swap_outs + res.st.swap_ins)
				json_object_set_new(ctx, "io_uring", results_io_uring(&res.st));
			json_t *jr = results_run(&c, &res);
			json_object_set_new(jr, "suite_index", json_integer(idx));
			json_object_set_new(jr, "repetition", json_integer(rep));
			json_array_append_new(runs, jr);
			if (!quiet) {
				printf("[%u/%u] ", rep * nconf + idx + 1, reps * nconf);
				results_print_run(stdout, &c, &res);
			}
			fflush(stdout);
			if (res.failed) {
				nfailed++;
				fprintf(stderr, "vidmm-bench suite: %s: FAILED: %s\n", c.w->name,
					res.fail_reason);
			}
			nruns++;
			runner_result_free(&res);
		}
	}
	interrupt_end();
	/* An interrupted suite keeps the timeline of what ran, as its results. */
	if (timeline && (status ? (timeline_abort(), 0) : timeline_close(err, sizeof(err)))) {
		fprintf(stderr, "vidmm-bench suite: %s\n", err);
		status = 2;
	}
	char micro_buf[128];
	const char *micro = NULL;
	if (!status && !interrupted && s->micro_filter) {
		if (!quiet)
			printf("suite %s: microbenchmarks (vidmm-micro, min time %s s, %u repetitions)\n",
			       s->name, s->micro_min_time, reps);
		micro = run_micro(s, reps, out_dir, micro_buf, sizeof(micro_buf));
		if (!quiet)
			printf("suite %s: microbenchmarks: %s\n", s->name, micro);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (status || !ctx) {
		json_decref(runs);
		json_decref(ctx);
		rfile_abort(&fj);
		return status ? status : EXIT_INTERRUPTED;
	}
	double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	struct rusage ru, ruc;
	getrusage(RUSAGE_SELF, &ru);
	getrusage(RUSAGE_CHILDREN, &ruc);
	json_object_set_new(ctx, "suite", json_string(s->name));
	json_object_set_new(ctx, "seed", json_integer((json_int_t)seed));
	json_object_set_new(ctx, "repeat", json_integer(reps));
	json_object_set_new(ctx, "same_seed", json_boolean(same_seed));
	json_object_set_new(ctx, "interrupted", json_boolean(interrupted));
	json_object_set_new(ctx, "wall_s", json_real(wall));
	json_object_set_new(ctx, "peak_rss_kib", json_integer(ru.ru_maxrss));
	/* vidmm-micro runs as a child: its peak is not the suite's. */
	json_object_set_new(ctx, "children_peak_rss_kib", json_integer(ruc.ru_maxrss));
	if (micro)
		json_object_set_new(ctx, "microbenchmarks", json_string(micro));
	json_t *doc = results_document(ctx, runs);
	char *js = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(9));
	json_decref(doc);
	if (!js || rfile_put(&fj, js, err, sizeof(err))) {
		free(js);
		rfile_abort(&fj);
		fprintf(stderr, "vidmm-bench suite: %s\n", js ? err : "out of memory");
		return 2;
	}
	free(js);
	/* summary.md and report.html are drawn from results.json. */
	const char *args[] = { "report", pj, "--md", pm, "--html", ph, NULL };
	int rr = reports_exec(args);
	if (rr)
		fprintf(stderr, "vidmm-bench suite: summary.md and report.html were not written "
			"(vidmm-bench report said why above); results.json is complete\n");
	printf("suite %s: %u runs, %u failed%s, wall %.1f s, peak RSS %.1f MiB (vidmm-micro %.1f "
	       "MiB); %s%s%s written\n", s->name, nruns, nfailed, interrupted ? ", INTERRUPTED" : "",
	       wall, (double)ru.ru_maxrss / 1024.0, (double)ruc.ru_maxrss / 1024.0, pj,
	       rr ? "" : ", summary.md, report.html", "");
	if (interrupted)
		return EXIT_INTERRUPTED;
	if (rr)
		return 2;
	return nfailed ? 1 : 0;
}
