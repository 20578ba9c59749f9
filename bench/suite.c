/* SPDX-License-Identifier: MIT */
/*
 * suite.c - `vidmm-bench suite NAME`: quick (CI: every workload family once,
 * --verify, tiny profile, under 90 s on 2 cores) and full (longer runs and
 * more variants on the default profile, for numbers rather than checks).
 *
 * Owns: the suite definitions and the out dir (results.json + summary.md).
 * Must not: hide a failed run: any check failure makes the suite exit 1.
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
#include "results.h"
#include "suite.h"

struct suite_run {
	const char *workload;
	const char *params; /* "k=v k=v" */
	unsigned threads;   /* 0: the workload's default */
	double duration_s;
	enum vidmm_paging_mode mode;
};

struct suite {
	const char *name;
	const char *description;
	const char *profile;
	bool verify;
	const struct suite_run *runs;
	const char *micro_filter;   /* vidmm-micro --benchmark_filter, run after the runs */
	const char *micro_min_time; /* --benchmark_min_time (plain seconds in 1.7.1) */
};

/* One or two arguments of every microbenchmark family: a few seconds. */
#define MICRO_QUICK                                                                     \
	"^BM_(heap_(baseline_)?pair/live:10000/frag:50|gart_map_unmap/pages:(1|4096|262144)/" \
	"|emu_mmu_translate/pages:4096/|residency_(page_(out|in)|memcpy)/size:2097152"        \
	"|fence_signal_to_wake|fence_submit/allocs:16/|shim/empty"                             \
	"|swap_(out|in|raw_write|raw_read)/size:2097152/qd:32)"

static const struct suite_run quick_runs[] = {
	{ "alloc-churn", "dist=lognormal", 0, 3.0, VIDMM_PAGING_WINDOW },
	{ "frag", "", 0, 3.0, VIDMM_PAGING_WINDOW },
	{ "oversubscribe", "", 0, 3.0, VIDMM_PAGING_WINDOW },
	{ "game-frame", "", 0, 3.0, VIDMM_PAGING_WINDOW },
	{ "ml-train", "", 0, 3.0, VIDMM_PAGING_WINDOW },
	{ "paging", "", 0, 2.0, VIDMM_PAGING_WINDOW },
	{ "paging", "", 0, 2.0, VIDMM_PAGING_BOUNCE },
	{ "swap", "pressure=1.3", 0, 2.0, VIDMM_PAGING_WINDOW },
	{ "multi-client", "", 4, 3.0, VIDMM_PAGING_WINDOW },
	{ .workload = NULL },
};

static const struct suite_run full_runs[] = {
	{ "alloc-churn", "dist=uniform", 0, 15.0, VIDMM_PAGING_WINDOW },
	{ "alloc-churn", "dist=lognormal", 0, 15.0, VIDMM_PAGING_WINDOW },
	{ "alloc-churn", "dist=powerlaw", 0, 15.0, VIDMM_PAGING_WINDOW },
	{ "frag", "", 0, 15.0, VIDMM_PAGING_WINDOW },
	{ "oversubscribe", "ws_factor=1.5", 0, 15.0, VIDMM_PAGING_WINDOW },
	{ "oversubscribe", "ws_factor=3", 0, 15.0, VIDMM_PAGING_WINDOW },
	{ "game-frame", "", 0, 15.0, VIDMM_PAGING_WINDOW },
	{ "ml-train", "", 0, 15.0, VIDMM_PAGING_WINDOW },
	{ "paging", "", 0, 10.0, VIDMM_PAGING_WINDOW },
	{ "paging", "", 0, 10.0, VIDMM_PAGING_BOUNCE },
	{ "swap", "", 0, 10.0, VIDMM_PAGING_WINDOW },
	{ "multi-client", "", 4, 15.0, VIDMM_PAGING_WINDOW },
	{ "multi-client", "", 8, 15.0, VIDMM_PAGING_WINDOW },
	{ .workload = NULL },
};

static const struct suite suites[] = {
	{ "quick", "every workload family once, --verify, tiny profile, < 90 s (CI)", "tiny",
	  true, quick_runs, MICRO_QUICK, "0.05" },
	{ "full", "longer runs and more variants on the default profile (~3 min)", "default",
	  false, full_runs, ".", "0.1" },
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
		"usage: vidmm-bench suite NAME [--out-dir DIR] [--seed N] [--quiet]\n"
		"\n"
		"Runs every run of the suite and writes DIR/results.json and DIR/summary.md\n"
		"(default DIR: results/NAME-YYYYmmdd-HHMMSS). Exit 1 if any run fails a check.\n"
		"\nsuites:\n");
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
	return 0;
}

static int build_config(const struct suite *s, const struct suite_run *r, uint64_t seed,
			bool quiet, struct run_config *c, char *err, size_t len)
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
	c->duration_s = r->duration_s;
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
 * Run vidmm-micro (built next to this binary when Google Benchmark is there)
 * with the suite's filter, its JSON into out_dir/micro.json and its table into
 * micro.txt. Returns "micro.json", "not built" or "failed (...)" for the
 * context; a failure here is reported, not fatal: the suite's checks are the
 * workloads'.
 */
static const char *run_micro(const struct suite *s, const char *out_dir, char *buf, size_t len)
{
	char bin[PATH_MAX], out[PATH_MAX + 32], txt[PATH_MAX];

	if (cli_sibling_path("vidmm-micro", bin, sizeof(bin)))
		return "not built";
	snprintf(out, sizeof(out), "--benchmark_out=%s/micro.json", out_dir);
	snprintf(txt, sizeof(txt), "%s/micro.txt", out_dir);
	char filt[512], mt[64];
	snprintf(filt, sizeof(filt), "--benchmark_filter=%s", s->micro_filter);
	snprintf(mt, sizeof(mt), "--benchmark_min_time=%s", s->micro_min_time);

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
		execl(bin, bin, filt, mt, out, "--benchmark_out_format=json", (char *)NULL);
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

int suite_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out-dir", required_argument, NULL, 'o' },
		{ "seed", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out_dir = NULL;
	char def_dir[PATH_MAX], err[512];
	uint64_t seed = cli_clock_seed();
	bool quiet = false;
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
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
		case 'q':
			quiet = true;
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
	char pj[PATH_MAX], pm[PATH_MAX];
	struct rfile fj, fm;
	if (snprintf(pj, sizeof(pj), "%s/results.json", out_dir) >= (int)sizeof(pj) ||
	    snprintf(pm, sizeof(pm), "%s/summary.md", out_dir) >= (int)sizeof(pm)) {
		fprintf(stderr, "vidmm-bench suite: --out-dir: path too long\n");
		return 2;
	}
	if (rfile_open(&fj, pj, "--out-dir", err, sizeof(err))) {
		fprintf(stderr, "vidmm-bench suite: %s\n", err);
		return 2;
	}
	if (rfile_open(&fm, pm, "--out-dir", err, sizeof(err))) {
		rfile_abort(&fj);
		fprintf(stderr, "vidmm-bench suite: %s\n", err);
		return 2;
	}

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	printf("suite %s: profile %s, seed %" PRIu64 ", out dir %s\n", s->name, s->profile, seed,
	       out_dir);
	fflush(stdout);
	json_t *runs = json_array(), *ctx = NULL;
	unsigned nruns = 0, nfailed = 0;
	int status = 0;
	for (const struct suite_run *sr = s->runs; sr->workload; sr++, nruns++) {
		struct run_config c;
		struct run_result res;
		if (build_config(s, sr, seed + nruns, quiet, &c, err, sizeof(err)) ||
		    runner_run(&c, &res, err, sizeof(err))) {
			fprintf(stderr, "vidmm-bench suite: %s: %s\n", sr->workload, err);
			status = 2;
			break;
		}
		if (!ctx)
			ctx = results_context(&c, &res, argc, argv);
		json_t *jr = results_run(&c, &res);
		json_object_set_new(jr, "suite_index", json_integer(nruns));
		json_array_append_new(runs, jr);
		if (!quiet)
			results_print_run(stdout, &c, &res);
		fflush(stdout);
		if (res.failed) {
			nfailed++;
			fprintf(stderr, "vidmm-bench suite: %s: FAILED: %s\n", c.w->name, res.fail_reason);
		}
		runner_result_free(&res);
	}
	char micro_buf[128];
	const char *micro = NULL;
	if (!status && s->micro_filter) {
		if (!quiet)
			printf("suite %s: microbenchmarks (vidmm-micro, min time %s s)\n", s->name,
			       s->micro_min_time);
		micro = run_micro(s, out_dir, micro_buf, sizeof(micro_buf));
		if (!quiet)
			printf("suite %s: microbenchmarks: %s\n", s->name, micro);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (status) {
		json_decref(runs);
		json_decref(ctx);
		rfile_abort(&fj);
		rfile_abort(&fm);
		return status;
	}
	double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	json_object_set_new(ctx, "suite", json_string(s->name));
	json_object_set_new(ctx, "seed", json_integer((json_int_t)seed));
	json_object_set_new(ctx, "wall_s", json_real(wall));
	json_object_set_new(ctx, "peak_rss_kib", json_integer(ru.ru_maxrss));
	if (micro)
		json_object_set_new(ctx, "microbenchmarks", json_string(micro));
	json_t *doc = results_document(ctx, runs);
	char *js = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(9));
	char *md = results_summary_md(doc);
	json_decref(doc);
	int w1 = js && md ? rfile_put(&fj, js, err, sizeof(err)) : -ENOMEM;
	int w2 = w1 ? -1 : rfile_put(&fm, md, err, sizeof(err));
	free(js);
	free(md);
	if (w1 || w2) {
		if (w1)
			rfile_abort(&fj);
		rfile_abort(&fm);
		fprintf(stderr, "vidmm-bench suite: %s\n", err);
		return 2;
	}
	printf("suite %s: %u runs, %u failed, wall %.1f s, peak RSS %.1f MiB; %s and %s written\n",
	       s->name, nruns, nfailed, wall, (double)ru.ru_maxrss / 1024.0, pj, pm);
	return nfailed ? 1 : 0;
}
