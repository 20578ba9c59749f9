/* SPDX-License-Identifier: MIT */
/*
 * test_cli.c - acceptance tests of the `vidmm-bench` command (issue 5): the
 * binary is run as a user would run it (path in $VIDMM_BENCH, set by
 * tests/meson.build), and its exit status, messages and files are checked.
 *
 * Owns: CLI-LIST, CLI-RUN-EACH-WORKLOAD, CLI-BAD-INPUT, CLI-REPLAY-EXACT,
 * CLI-PROBE, CLI-SUITE-QUICK, RSS-INCLUDES-CHILDREN. Must not: link the
 * harness (these test the program, not its functions) or depend on timing
 * beyond generous bounds.
 * Every run uses an explicit --seed, printed in the output on failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "vt.h"
#include "vt_proc.h"

static const char *const workloads[] = {
	"alloc-churn", "frag", "oversubscribe", "game-frame",
	"ml-train", "paging", "swap", "multi-client", NULL,
};

/* ---- CLI-LIST -------------------------------------------------------------- */

static void cli_list(void **state)
{
	struct vt_result r;
	(void)state;

	vt_run_bench(&r, (const char *[]){ "list", NULL });
	vt_show("list", &r);
	assert_int_equal(r.status, 0);
	for (int i = 0; workloads[i]; i++) {
		/* one line each, with a description after the name */
		const char *p = strstr(r.out, workloads[i]);
		assert_non_null(p);
		const char *nl = strchr(p, '\n');
		assert_true(nl && nl - p > (long)strlen(workloads[i]) + 5);
	}
	assert_non_null(strstr(r.out, "quick"));
	assert_non_null(strstr(r.out, "full"));

	/* --help on every subcommand, and --version */
	static const char *const helps[][3] = {
		{ "--help", NULL }, { "list", "--help" }, { "run", "--help" },
		{ "suite", "--help" }, { "replay", "--help" }, { "probe", "--help" },
		{ "overhead", "--help" }, { "run", "alloc-churn" },
	};
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
		const char *a[4] = { helps[i][0], helps[i][1], NULL, NULL };
		if (i == 7)
			a[2] = "--help";
		vt_run_bench(&r, a);
		if (r.status != 0 || strstr(r.out, "usage") == NULL)
			vt_show(helps[i][0], &r);
		assert_int_equal(r.status, 0);
		assert_non_null(strstr(r.out, "usage"));
	}
	/* a workload's help documents its parameters */
	vt_run_bench(&r, (const char *[]){ "run", "alloc-churn", "--help", NULL });
	assert_non_null(strstr(r.out, "dist"));
	assert_non_null(strstr(r.out, "lognormal"));
	vt_run_bench(&r, (const char *[]){ "--version", NULL });
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "vidmm-bench"));
}

/* ---- results validation ------------------------------------------------------- */

/* The keys bench/RESULTS.md documents as always present. */
static const char *const ctx_keys[] = {
	"format", "version", "git_rev", "started_at", "driver", "profile", "paging_mode",
	"host_cpu", "host_cpus", "kernel", "hw_perf_counters", "swap_available", "io_uring",
	"swap_dir", "seed", "topology", "command", NULL,
};
static const char *const run_keys[] = {
	"workload", "family", "description", "params", "config", "metrics", "workload_metrics",
	"latency", "histograms", "vidmm", "time_series", "perf", "checks", NULL,
};
static const char *const metric_keys[] = {
	"duration_s", "ops", "ops_per_sec", "unit", "units", "units_per_sec",
	"alloc_failures", "alloc_failures_per_sec", "alloc_failures_per_kop",
	"page_outs", "page_outs_per_sec", "page_outs_per_kop",
	"page_ins", "page_ins_per_sec", "page_ins_per_kop",
	"swap_outs", "swap_outs_per_sec", "swap_outs_per_kop",
	"swap_ins", "swap_ins_per_sec", "swap_ins_per_kop",
	"dummy_page_faults", "dummy_page_faults_per_sec", "dummy_page_faults_per_kop",
	"integrity_errors", "integrity_errors_per_sec", "integrity_errors_per_kop",
	"bytes_paged_out", "bytes_paged_in", "bytes_swapped_out", "bytes_swapped_in",
	"peak_rss_kib", "minor_faults", "major_faults", NULL,
};
static const char *const pct_keys[] = {
	"count", "mean_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", NULL,
};
static const char *const ts_keys[] = {
	"interval_ms", "t_s", "resident_bytes", "sysmem_pages", "evicted_bytes", "swap_bytes",
	"page_outs", "page_ins", "alloc_failures", "dummy_page_faults", "ops", NULL,
};

static void has_keys(const json_t *o, const char *const *keys, const char *where)
{
	assert_true(json_is_object(o));
	for (int i = 0; keys[i]; i++) {
		if (!json_object_get(o, keys[i]))
			printf("missing key %s.%s\n", where, keys[i]);
		assert_non_null(json_object_get(o, keys[i]));
	}
}

static json_t *validate(const char *path, size_t nruns)
{
	json_error_t je;
	json_t *d = json_load_file(path, 0, &je);

	if (!d)
		printf("%s: %s (line %d)\n", path, je.text, je.line);
	assert_non_null(d);
	has_keys(json_object_get(d, "context"), ctx_keys, "context");
	const json_t *runs = json_object_get(d, "runs");
	assert_true(json_is_array(runs));
	assert_int_equal(json_array_size(runs), nruns);
	for (size_t i = 0; i < nruns; i++) {
		const json_t *r = json_array_get(runs, i);
		has_keys(r, run_keys, "run");
		has_keys(json_object_get(r, "metrics"), metric_keys, "metrics");
		has_keys(json_object_get(r, "time_series"), ts_keys, "time_series");
		const char *k;
		const json_t *v;
		json_object_foreach((json_t *)json_object_get(r, "latency"), k, v)
			has_keys(v, pct_keys, k);
		/* histograms: non-zero buckets that add up to the count */
		json_object_foreach((json_t *)json_object_get(r, "histograms"), k, v) {
			json_int_t sum = 0;
			size_t j;
			const json_t *b;
			json_array_foreach(json_object_get(v, "buckets"), j, b) {
				assert_true(json_integer_value(json_array_get(b, 2)) > 0);
				sum += json_integer_value(json_array_get(b, 2));
			}
			assert_int_equal(sum, json_integer_value(json_object_get(v, "count")));
		}
		assert_true(json_integer_value(json_object_get(json_object_get(r, "metrics"), "ops")) > 0);
	}
	return d;
}

/* ---- CLI-RUN-EACH-WORKLOAD ---------------------------------------------------- */

static void cli_run_each(void **state)
{
	char *dir = vt_mktmpdir("test_cli"), path[512];
	struct vt_result r;
	(void)state;

	for (int i = 0; workloads[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s.json", dir, workloads[i]);
		/* Half a second checks that every workload runs and verifies, not its
		 * rate: a slow one (frag) may finish too few units for one. */
		vt_run_bench(&r, (const char *[]){ "run", workloads[i], "--profile", "tiny", "--verify",
					  "--duration", "0.5", "--seed", "42", "--quiet", "--out",
					  path, "--allow-empty", NULL });
		if (r.status != 0)
			vt_show(workloads[i], &r);
		assert_int_equal(r.status, 0);
		assert_non_null(strstr(r.out, "seed 42"));
		json_t *d = validate(path, 1);
		const json_t *run0 = json_array_get(json_object_get(d, "runs"), 0);
		const json_t *m = json_object_get(run0, "metrics");
		assert_string_equal(json_string_value(json_object_get(run0, "workload")), workloads[i]);
		assert_int_equal(json_integer_value(json_object_get(m, "integrity_errors")), 0);
		assert_int_equal(json_integer_value(json_object_get(m, "dummy_page_faults")), 0);
		assert_true(json_integer_value(json_object_get(m, "verify_jobs")) > 0);
		assert_true(json_is_true(json_object_get(json_object_get(run0, "checks"), "passed")));
		assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "context"),
								    "seed")), 42);
		json_decref(d);
	}
	vt_rmtree(dir);
	free(dir);
}

/* ---- CLI-BAD-INPUT ---------------------------------------------------------------- */

struct bad {
	const char *what;
	const char *args[12];
	const char *names; /* expected in the message */
};

static void cli_bad_input(void **state)
{
	char *dir = vt_mktmpdir("test_cli"), out[512], prof_bad[512], prof_inc[512], prof_neg[512];
	(void)state;

	snprintf(out, sizeof(out), "%s/out.json", dir);
	snprintf(prof_bad, sizeof(prof_bad), "%s/broken.json", dir);
	snprintf(prof_inc, sizeof(prof_inc), "%s/inconsistent.json", dir);
	snprintf(prof_neg, sizeof(prof_neg), "%s/negative.json", dir);
	FILE *f = fopen(prof_bad, "w");
	fputs("{ \"base\": \"tiny\", \"local_visible_mib\": ", f);
	fclose(f);
	f = fopen(prof_inc, "w");
	fputs("{ \"base\": \"tiny\", \"paging_mib\": 48 }\n", f); /* > its 32 MiB parent */
	fclose(f);
	f = fopen(prof_neg, "w");
	fputs("{ \"base\": \"tiny\", \"sysmem_mib\": -5 }\n", f);
	fclose(f);

	const struct bad cases[] = {
		{ "unknown workload", { "run", "no-such-workload" }, "no-such-workload" },
		{ "unknown option", { "run", "alloc-churn", "--frobnicate" }, "--frobnicate" },
		{ "unknown parameter", { "run", "alloc-churn", "--param", "nope=1" }, "nope" },
		{ "bad parameter value", { "run", "alloc-churn", "--param", "dist=cubic" }, "dist" },
		{ "parameter out of range", { "run", "frag", "--param", "fill=7" }, "fill" },
		{ "unknown profile", { "run", "alloc-churn", "--profile", "nosuch" }, "nosuch" },
		{ "malformed profile file", { "run", "alloc-churn", "--profile", prof_bad },
		  "broken.json" },
		{ "inconsistent profile file", { "run", "alloc-churn", "--profile", prof_inc },
		  "paging" },
		{ "negative size in a profile file", { "run", "alloc-churn", "--profile", prof_neg },
		  "sysmem" },
		{ "negative size", { "run", "alloc-churn", "--local-mib", "-5" }, "--local-mib" },
		{ "zero size", { "run", "alloc-churn", "--sysmem-mib", "0" }, "--sysmem-mib" },
		{ "non-numeric size", { "run", "alloc-churn", "--pcie-mib", "lots" }, "--pcie-mib" },
		{ "paging window too large", { "run", "alloc-churn", "--paging-mib", "64" }, "paging" },
		{ "sysmem below its reserve", { "run", "alloc-churn", "--sysmem-mib", "4" }, "sysmem" },
		{ "GART tables do not fit", { "run", "alloc-churn", "--local-mib", "1", "--pcie-mib",
					      "16384", "--sysmem-mib", "256" }, "GART" },
		{ "unknown driver", { "run", "alloc-churn", "--driver", "cuda" }, "no such driver" },
		{ "bad duration", { "run", "alloc-churn", "--duration", "soon" }, "--duration" },
		{ "zero threads", { "run", "alloc-churn", "--threads", "0" }, "--threads" },
		{ "bad paging mode", { "run", "alloc-churn", "--paging-mode", "teleport" },
		  "--paging-mode" },
		{ "unwritable record path", { "run", "alloc-churn", "--record", "/nonexistent/t.jsonl" },
		  "--record" },
		{ "missing swap dir", { "run", "swap", "--swap-dir", "/nonexistent/swapdir" },
		  "--swap-dir" },
		{ "bad fence timeout", { "run", "alloc-churn", "--fence-timeout", "-3" },
		  "--fence-timeout" },
		{ "unknown fault kind", { "run", "alloc-churn", "--inject", "meteor" }, "meteor" },
		{ "bad fault rate", { "run", "alloc-churn", "--inject", "copy-fail:lots" }, "copy-fail" },
		{ "swap fault without swap", { "run", "alloc-churn", "--swap-mib", "0", "--inject",
					       "swap-read" }, "swap-read" },
		{ "share of the machine above 1", { "run", "alloc-churn", "--max-other-load", "1.5" },
		  "--max-other-load" },
		{ "share of the machine of 0", { "suite", "quick", "--max-other-load", "0" },
		  "--max-other-load" },
		{ "unknown suite", { "suite", "nosuch" }, "nosuch" },
		{ "unknown command", { "frobnicate" }, "frobnicate" },
		{ "replay of a missing trace", { "replay", "/nonexistent/trace.jsonl" }, "trace.jsonl" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *a[20];
		int n = 0;
		struct vt_result r;
		for (int k = 0; cases[i].args[k]; k++)
			a[n++] = cases[i].args[k];
		if (!strcmp(a[0], "run")) {
			a[n++] = "--out";
			a[n++] = out;
			a[n++] = "--duration";
			a[n++] = "0.2";
			a[n++] = "--seed";
			a[n++] = "1";
		}
		a[n] = NULL;
		vt_run_bench(&r, a);
		char *nl = strchr(r.err, '\n');
		bool one_line = nl && nl[1] == 0;
		if (r.status != 2 || !strstr(r.err, cases[i].names) || !one_line) {
			vt_show(cases[i].what, &r);
			printf("expected: exit 2 and one line naming '%s'\n", cases[i].names);
		}
		assert_int_equal(r.status, 2);
		assert_true(one_line);
		assert_non_null(strstr(r.err, cases[i].names));
		/* nothing written: not the file, not a temporary */
		assert_false(vt_exists(out));
		assert_int_equal(vt_count_files(dir), 3); /* the three profile files */
	}
	/* an unwritable --out: refused before the run */
	struct vt_result r;
	vt_run_bench(&r, (const char *[]){ "run", "alloc-churn", "--duration", "0.2", "--out",
				  "/nonexistent/dir/out.json", NULL });
	vt_show("unwritable --out", &r);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--out"));
	assert_null(strstr(r.out, "ops in")); /* no run happened */
	/* an --out that is a directory */
	vt_run_bench(&r, (const char *[]){ "run", "alloc-churn", "--duration", "0.2", "--out", dir, NULL });
	assert_int_equal(r.status, 2);
	vt_rmtree(dir);
	free(dir);
}

/* ---- CLI-REPLAY-EXACT --------------------------------------------------------------- */

static void replay_one(const char *dir, const char *w, const char *extra)
{
	char tr[512], a[512], b[512];
	struct vt_result r;

	snprintf(tr, sizeof(tr), "%s/%s.jsonl", dir, w);
	snprintf(a, sizeof(a), "%s/%s-rec.json", dir, w);
	snprintf(b, sizeof(b), "%s/%s-rep.json", dir, w);
	vt_run_bench(&r, (const char *[]){ "run", w, "--ops", "1500", "--seed", "5", "--verify", "--quiet",
				  "--record", tr, "--out", a, "--param", extra, NULL });
	if (r.status)
		vt_show("record", &r);
	assert_int_equal(r.status, 0);
	vt_run_bench(&r, (const char *[]){ "replay", tr, "--quiet", "--out", b, NULL });
	vt_show("replay", &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "match"));

	/* independently of replay's own verdict: the two results files agree on
	 * every deterministic counter */
	json_t *da = validate(a, 1), *db = validate(b, 1);
	const json_t *va = json_object_get(json_array_get(json_object_get(da, "runs"), 0), "vidmm");
	const json_t *vb = json_object_get(json_array_get(json_object_get(db, "runs"), 0), "vidmm");
	static const char *const keys[] = {
		"alloc_failures", "page_outs", "page_ins", "bytes_paged_out", "bytes_paged_in",
		"submits", "locks", "evicted_bytes", "gart_invalidations", "swap_outs", "swap_ins",
		"bytes_swapped_out", "bytes_swapped_in", "sysmem_pages_used", "dummy_page_faults",
		NULL,
	};
	for (int i = 0; keys[i]; i++) {
		json_int_t x = json_integer_value(json_object_get(va, keys[i]));
		json_int_t y = json_integer_value(json_object_get(vb, keys[i]));
		if (x != y)
			printf("%s: %s recorded %lld replayed %lld\n", w, keys[i], (long long)x,
			       (long long)y);
		assert_true(x == y);
	}
	assert_true(json_integer_value(json_object_get(va, "page_outs")) > 0);
	json_decref(da);
	json_decref(db);
}

static void cli_replay_exact(void **state)
{
	char *dir = vt_mktmpdir("test_cli");
	(void)state;

	replay_one(dir, "oversubscribe", "ws_factor=2");
	replay_one(dir, "ml-train", "ckpt_every=2");
	replay_one(dir, "swap", "pressure=1.3");

	/* a corrupted trace is bad input, not a crash */
	char tr[512];
	struct vt_result r;
	snprintf(tr, sizeof(tr), "%s/bad.jsonl", dir);
	FILE *f = fopen(tr, "w");
	fputs("{\"vidmm_trace\":1}\n", f);
	fclose(f);
	vt_run_bench(&r, (const char *[]){ "replay", tr, "--quiet", NULL });
	assert_int_equal(r.status, 2);
	/* A damaged line deep in the trace (an allocation id far ahead, found by
	 * fuzz_trace: it sized the id table to 8 GiB): one message, exit 2, and
	 * no results file. */
	char out[512];
	snprintf(out, sizeof(out), "%s/bad.json", dir);
	f = fopen(tr, "w");
	fputs("{\"vidmm_trace\":1,\"workload\":\"x\",\"seed\":1,\"threads\":1,"
	      "\"paging_mode\":\"window\",\"profile\":{\"name\":\"tiny\","
	      "\"local_visible\":16777216,\"local_invisible\":50331648,"
	      "\"pcie_snooped\":33554432,\"pcie_unsnooped\":33554432,\"paging\":8388608,"
	      "\"sysmem\":134217728,\"sysmem_reserve\":8388608,\"swap\":0,"
	      "\"page_size\":4096,\"gart_entry_bytes\":4,\"gart_levels\":3,"
	      "\"copy_engines\":1,\"tlb_entries\":64,\"paging_snooped\":true}}\n"
	      "[\"c\",0,4096,0,1,0,[],0]\n[\"c\",962262716,4096,0,1,0,[],0]\n", f);
	fclose(f);
	vt_run_bench(&r, (const char *[]){ "replay", tr, "--out", out, NULL });
	vt_show("replay of a damaged trace", &r);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "out of order"));
	assert_int_equal(access(out, F_OK), -1);
	vt_rmtree(dir);
	free(dir);
}

/* ---- CLI-PROBE -------------------------------------------------------------------------- */

static void cli_probe(void **state)
{
	struct vt_result r;
	(void)state;

	vt_run_bench(&r, (const char *[]){ "probe", NULL });
	vt_show("probe", &r);
	assert_int_equal(r.status, 0);
	assert_true(strlen(r.out) > 0);
	/* this machine has no GPU; a machine with one lists it */
	assert_true(strstr(r.out, "no display-class") || strstr(r.out, "libpci") ||
		    strstr(r.out, "VGA") || strstr(r.out, "3D") || strstr(r.out, "Display"));
	vt_run_bench(&r, (const char *[]){ "probe", "--json", NULL });
	assert_int_equal(r.status, 0);
	json_error_t je;
	json_t *d = json_loads(r.out, 0, &je);
	assert_non_null(d);
	json_decref(d);
}

/* ---- CLI-SUITE-QUICK --------------------------------------------------------------------- */

static void cli_suite_quick(void **state)
{
	char *dir = vt_mktmpdir("test_cli"), j[512], m[512];
	struct vt_result r;
	(void)state;

	/* Two repetitions (the default is 5): enough to see them grouped, and
	 * the suite stays short in the sanitizer builds. */
	/* beside other tests: the machine is taken as it is */
	vt_run_bench(&r, (const char *[]){ "suite", "quick", "--out-dir", dir, "--quiet", "--seed", "3",
				  "--repeat", "2", "--max-other-load", "1", NULL });
	vt_show("suite quick", &r);
	assert_int_equal(r.status, 0);
	snprintf(j, sizeof(j), "%s/results.json", dir);
	snprintf(m, sizeof(m), "%s/summary.md", dir);
	json_t *d0 = json_load_file(j, 0, NULL);
	assert_non_null(d0);
	size_t nruns = json_array_size(json_object_get(d0, "runs"));
	json_decref(d0);
	json_t *d = validate(j, nruns);
	const json_t *runs = json_object_get(d, "runs");
	assert_true(json_array_size(runs) >= 8);
	for (int i = 0; workloads[i]; i++) {
		bool found = false;
		size_t k;
		const json_t *r0;
		json_array_foreach(runs, k, r0)
			found |= !strcmp(json_string_value(json_object_get(r0, "workload")), workloads[i]);
		assert_true(found);
	}
	const json_t *ctx = json_object_get(d, "context");
	/* The 90 s budget is a figure for README (measured on a quiet machine),
	 * not a timed assertion: sanitizer builds and a loaded CI machine run
	 * slower. The suite must record its wall time, though. */
	assert_true(json_is_number(json_object_get(ctx, "wall_s")));
	printf("quick suite wall time %.1f s\n", json_number_value(json_object_get(ctx, "wall_s")));
	FILE *f = fopen(m, "r");
	assert_non_null(f);
	char line[256];
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(strstr(line, "vidmm-bench results"));
	fclose(f);
	/* results.json, summary.md and report.html, plus micro.json and
	 * micro.txt when vidmm-micro was built (the context says which); no
	 * temporaries. */
	const char *micro = json_string_value(json_object_get(ctx, "microbenchmarks"));
	assert_non_null(micro);
	if (strcmp(micro, "micro.json") == 0) {
		char mj[PATH_MAX];
		snprintf(mj, sizeof(mj), "%s/micro.json", dir);
		json_error_t jerr;
		json_t *mdoc = json_load_file(mj, 0, &jerr);
		if (!mdoc)
			fail_msg("micro.json: %s", jerr.text);
		assert_true(json_array_size(json_object_get(mdoc, "benchmarks")) > 0);
		json_decref(mdoc);
		assert_int_equal(vt_count_files(dir), 5);
	} else {
		assert_non_null(strstr(micro, "not built"));
		assert_int_equal(vt_count_files(dir), 3);
	}
	json_decref(d);
	vt_rmtree(dir);
	free(dir);
}

/* ---- RSS-INCLUDES-CHILDREN ----------------------------------------------------------- */

/* The suite's peak memory names what it covers: its own process and, apart,
 * the vidmm-micro child (which /usr/bin/time reports as the maximum). */
static void rss_includes_children(void **state)
{
	char *dir = vt_mktmpdir("test_cli"), j[512];
	struct vt_result r;
	(void)state;

	vt_run_bench(&r, (const char *[]){ "suite", "quick", "--out-dir", dir, "--quiet", "--seed", "3",
				  "--repeat", "1", "--allow-empty", NULL });
	vt_show("suite quick --repeat 1", &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "peak RSS"));
	assert_non_null(strstr(r.out, "(vidmm-micro "));
	snprintf(j, sizeof(j), "%s/results.json", dir);
	json_t *d = json_load_file(j, 0, NULL);
	assert_non_null(d);
	const json_t *ctx = json_object_get(d, "context");
	assert_true(json_integer_value(json_object_get(ctx, "peak_rss_kib")) > 0);
	const json_t *ch = json_object_get(ctx, "children_peak_rss_kib");
	assert_true(json_is_integer(ch));
	const char *micro = json_string_value(json_object_get(ctx, "microbenchmarks"));
	printf("suite %lld KiB, children %lld KiB, microbenchmarks %s\n",
	       (long long)json_integer_value(json_object_get(ctx, "peak_rss_kib")),
	       (long long)json_integer_value(ch), micro ? micro : "?");
	/* vidmm-micro ran as a child: its peak is counted, and apart */
	if (micro && !strcmp(micro, "micro.json"))
		assert_true(json_integer_value(ch) > 0);
	json_decref(d);
	vt_rmtree(dir);
	free(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("CLI-LIST", cli_list),
		VT_CASE("CLI-RUN-EACH-WORKLOAD", cli_run_each),
		VT_CASE("CLI-BAD-INPUT", cli_bad_input),
		VT_CASE("CLI-REPLAY-EXACT", cli_replay_exact),
		VT_CASE("CLI-PROBE", cli_probe),
		VT_CASE("CLI-SUITE-QUICK", cli_suite_quick),
		VT_CASE("RSS-INCLUDES-CHILDREN", rss_includes_children),
	};
	return VT_MAIN("test_cli", cases);
}
