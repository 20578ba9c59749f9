/* SPDX-License-Identifier: MIT */
/*
 * test_report.c - acceptance tests of `vidmm-bench report` and `compare`
 * (reports/): the binary is run as a user would run it (path in
 * $VIDMM_BENCH, set by tests/meson.build), and its exit status, messages and
 * files are checked.
 *
 * Owns: REPORT-MD-HTML, REPORT-BAD-INPUT, REPORT-CHARTS,
 * COMPARE-SAME-BUILD-NO-REGRESSION, COMPARE-DETECTS-SLOWDOWN, COMPARE-PAIRING,
 * COMPARE-MICRO-JSON. Must not: link the harness or reports/ (these test the
 * program), or assert on a throughput: the statistics are tested through
 * their verdicts on runs of this build (same configuration: no change;
 * twice the work per job: a regression).
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

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* One line of stderr, no more: the contract for every input/output error. */
static void assert_one_line(const struct vt_result *r)
{
	size_t len = strlen(r->err);
	assert_true(len > 0);
	assert_int_equal(r->err[len - 1], '\n');
	assert_null(memchr(r->err, '\n', len - 1));
}

/* One line of stdout that contains both strings, or NULL. */
static const char *line_with(const char *out, const char *a, const char *b)
{
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		char buf[1024];
		snprintf(buf, sizeof(buf), "%.*s", (int)(n < sizeof(buf) - 1 ? n : sizeof(buf) - 1), l);
		if (strstr(buf, a) && (!b || strstr(buf, b)))
			return l;
	}
	return NULL;
}

/* The compare cases run alone (tests/meson.build) and judge measurements:
 * their repetitions that ran beside other work are measured again, as a
 * user's are. The report cases run beside other tests and judge rendering:
 * they take the machine as it is (--max-other-load 1), so that a label does
 * not gain a "busy machine" flag from a neighbouring test. */
static bool remeasure_busy;

/* A repeated run into path: args after "run". */
static void make(const char *path, const char *const *args)
{
	struct vt_result *r = calloc(1, sizeof(*r));
	const char *a[32];
	int n = 0;

	assert_non_null(r);
	a[n++] = "run";
	for (int i = 0; args[i] && n < 26; i++)
		a[n++] = args[i];
	a[n++] = "--quiet";
	if (!remeasure_busy) {
		a[n++] = "--max-other-load";
		a[n++] = "1";
	}
	a[n++] = "--out";
	a[n++] = path;
	a[n] = NULL;
	vt_run_bench(r, a);
	if (r->status != 0)
		vt_show("run", r);
	assert_int_equal(r->status, 0);
	assert_true(vt_exists(path));
	free(r);
}

/* compare's verdict line: the four counts. */
static void verdict(const struct vt_result *r, int *reg, int *imp, int *unch, int *inc)
{
	const char *v = strstr(r->out, "verdict: ");
	assert_non_null(v);
	assert_int_equal(sscanf(v, "verdict: %d regressed, %d improved, %d unchanged, %d "
				"inconclusive", reg, imp, unch, inc), 4);
}

/* Nothing judged, for the machine's sake: repetitions that ran beside other
 * work were left out and too few remained for a test. */
static bool busy_inconclusive(const struct vt_result *r, int reg, int imp, int inc)
{
	return !reg && !imp && inc && strstr(r->out, "shared the machine with other work");
}

/* ---- REPORT-MD-HTML ------------------------------------------------------------------ */

static void report_md_html(void **state)
{
	char *dir = vt_mktmpdir("test_report");
	char js[512], md[512], html[512];
	struct vt_result *r = calloc(1, sizeof(*r));
	(void)state;

	assert_non_null(r);
	snprintf(js, sizeof(js), "%s/X.json", dir);
	snprintf(md, sizeof(md), "%s/X.md", dir);
	snprintf(html, sizeof(html), "%s/X.html", dir);
	make(js, (const char *[]){ "alloc-churn", "--duration", "0.3", "--repeat", "2", "--seed", "1",
				   NULL });

	vt_run_bench(r, (const char *[]){ "report", js, "--md", md, "--html", html, NULL });
	if (r->status)
		vt_show("report", r);
	assert_int_equal(r->status, 0);
	/* results + two outputs, no temporary left behind */
	assert_int_equal(vt_count_files(dir), 3);

	char *h = read_all(html);
	assert_true(strncmp(h, "<!DOCTYPE html>", 15) == 0);
	assert_non_null(strstr(h, "<svg"));
	assert_non_null(strstr(h, "</html>"));
	assert_non_null(strstr(h, "alloc-churn"));
	/* self-contained: nothing fetched from anywhere, no scripts (the SVG
	 * namespace URIs name, they do not fetch) */
	assert_null(strstr(h, "src=\"http"));
	assert_null(strstr(h, "href=\"http"));
	assert_null(strstr(h, "url(http"));
	assert_null(strstr(h, "@import"));
	assert_null(strstr(h, "<script"));
	assert_null(strstr(h, "<link"));
	free(h);

	char *m = read_all(md);
	assert_non_null(strstr(m, "| run | reps |"));
	assert_non_null(strstr(m, "| alloc-churn | 2 |"));
	assert_non_null(strstr(m, "| operation | count |"));
	assert_non_null(strstr(m, "| create |"));
	/* human units: durations with units, counts with separators, no raw
	 * nanosecond or scientific figures */
	assert_true(strstr(m, " µs") || strstr(m, " ms") || strstr(m, " ns"));
	assert_null(strstr(m, "e+0"));
	free(m);

	/* no --md/--html: the Markdown on stdout */
	vt_run_bench(r, (const char *[]){ "report", js, NULL });
	assert_int_equal(r->status, 0);
	assert_non_null(strstr(r->out, "| alloc-churn |"));

	free(r);
	vt_rmtree(dir);
	free(dir);
}

/* ---- REPORT-BAD-INPUT ---------------------------------------------------------------- */

static void report_bad_input(void **state)
{
	char *dir = vt_mktmpdir("test_report");
	char bad[512], notres[512], good[512], md[512], html[512], missing[512], unw[512],
		hist[512], fuzz[512];
	struct vt_result *r = calloc(1, sizeof(*r));
	(void)state;

	assert_non_null(r);
	snprintf(bad, sizeof(bad), "%s/bad.json", dir);
	snprintf(notres, sizeof(notres), "%s/notres.json", dir);
	snprintf(good, sizeof(good), "%s/good.json", dir);
	snprintf(md, sizeof(md), "%s/out.md", dir);
	snprintf(html, sizeof(html), "%s/out.html", dir);
	snprintf(missing, sizeof(missing), "%s/missing.json", dir);
	snprintf(unw, sizeof(unw), "%s/no-such-dir/out.md", dir);
	snprintf(hist, sizeof(hist), "%s/hist.json", dir);
	snprintf(fuzz, sizeof(fuzz), "%s/fuzz.json", dir);
	write_text(bad, "{\"context\": {\"format\": 1}, \"runs\": [ {\"workload\": ");
	write_text(notres, "{\"tool\": \"not ours\"}\n");
	write_text(hist, "{\"context\": {}, \"runs\": [{\"workload\": \"w\", \"metrics\": {}, "
			 "\"histograms\": {\"create\": {\"buckets\": [[10, 5, 1]]}}}]}\n");
	write_text(fuzz, "{\"context\": {}, \"fuzz\": {\"executions\": 1}}\n");
	/* the smallest valid document: a context and one run with metrics */
	write_text(good, "{\"context\": {}, \"runs\": [{\"workload\": \"w\", \"metrics\": {}}]}\n");

	const char *inputs[] = { missing, bad, notres, hist, fuzz, dir };
	const char *expect[] = { "missing.json", "not JSON", "neither a vidmm-bench results",
				 "runs[0].histograms.create.buckets[0]", "fuzz", "directory" };
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		vt_run_bench(r, (const char *[]){ "report", inputs[i], "--md", md, "--html", html,
						 NULL });
		if (r->status != 2)
			vt_show("report bad input", r);
		assert_int_equal(r->status, 2);
		assert_one_line(r);
		assert_non_null(strstr(r->err, expect[i]));
		assert_false(vt_exists(md));
		assert_false(vt_exists(html));
		/* compare refuses the same inputs */
		vt_run_bench(r, (const char *[]){ "compare", good, inputs[i], NULL });
		assert_int_equal(r->status, 2);
		assert_one_line(r);
	}

	/* unwritable output: nothing written, not even the other output */
	vt_run_bench(r, (const char *[]){ "report", good, "--html", html, "--md", unw, NULL });
	if (r->status != 2)
		vt_show("report unwritable", r);
	assert_int_equal(r->status, 2);
	assert_one_line(r);
	assert_non_null(strstr(r->err, "no-such-dir"));
	assert_false(vt_exists(html));

	/* the minimal document itself renders */
	vt_run_bench(r, (const char *[]){ "report", good, "--html", html, NULL });
	if (r->status)
		vt_show("minimal", r);
	assert_int_equal(r->status, 0);
	assert_true(vt_exists(html));
	/* five inputs and the page, no temporaries */
	assert_int_equal(vt_count_files(dir), 6);

	free(r);
	vt_rmtree(dir);
	free(dir);
}

/* ---- REPORT-CHARTS ------------------------------------------------------------------- */

/* Every chart of a figure element, and that it drew something. */
static void assert_chart(const char *html, const char *name)
{
	char key[128];
	snprintf(key, sizeof(key), "data-chart=\"%s\">", name);
	const char *p = strstr(html, key);
	if (!p)
		fail_msg("no %s chart in the page", name);
	const char *end = strstr(p, "</figure>");
	assert_non_null(end);
	/* an SVG with drawn paths in it */
	const char *svg = strstr(p, "<svg");
	assert_true(svg && svg < end);
	int paths = 0;
	for (const char *q = svg; (q = strstr(q, "<path")) && q < end; q++)
		paths++;
	printf("chart %-22s %7zu bytes, %4d paths\n", name, (size_t)(end - p), paths);
	assert_true(paths >= 10);
}

static void report_charts(void **state)
{
	char *dir = vt_mktmpdir("test_report"), res[600], html[600], md[600], png[700], cmd[2400];
	struct vt_result r;
	(void)state;

	/* a real suite, two repetitions: every family, paging, swap */
	vt_run_bench(&r, (const char *[]){ "suite", "quick", "--repeat", "2", "--seed", "5",
				  "--out-dir", dir, "--quiet", NULL });
	if (r.status)
		vt_show("suite quick", &r);
	assert_int_equal(r.status, 0);
	snprintf(res, sizeof(res), "%s/results.json", dir);
	snprintf(html, sizeof(html), "%s/report.html", dir);
	snprintf(md, sizeof(md), "%s/summary.md", dir);
	assert_true(vt_exists(md));
	char *h = read_all(html);
	static const char *const charts[] = { "latency-cdf", "timeline", "paging-by-size", "swap",
					      "faults", "suite-ops/s" };
	for (size_t i = 0; i < sizeof(charts) / sizeof(charts[0]); i++)
		assert_chart(h, charts[i]);
	/* one latency chart and one timeline per run group */
	json_t *d = json_load_file(res, 0, NULL);
	assert_non_null(d);
	size_t groups = json_array_size(json_object_get(d, "runs")) / 2;
	size_t n = 0;
	for (const char *q = h; (q = strstr(q, "data-chart=\"timeline\"")); q++)
		n++;
	assert_int_equal(n, groups);
	if (strcmp(json_string_value(json_object_get(json_object_get(d, "context"),
						     "microbenchmarks")), "micro.json") == 0)
		assert_chart(h, "micro");
	json_decref(d);
	/* readable axes: no scientific notation, units on the ticks */
	assert_null(strstr(h, "1e+0"));
	free(h);
	/* A look in a real browser, when one is installed (not in CI): the
	 * screenshot is left for a person (VIDMM_KEEP_SCREENSHOT names where). */
	const char *keep = getenv("VIDMM_KEEP_SCREENSHOT");
	if (keep && access("/usr/bin/chromium", X_OK) == 0) {
		snprintf(png, sizeof(png), "%s", keep);
		snprintf(cmd, sizeof(cmd), "timeout 120 chromium --headless --no-sandbox --disable-gpu "
			 "--hide-scrollbars --window-size=1200,9000 --screenshot='%s' 'file://%s' "
			 ">/dev/null 2>&1", png, html);
		assert_int_equal(system(cmd), 0);
		assert_true(vt_exists(png));
	}
	vt_rmtree(dir);
	free(dir);
}

/* ---- COMPARE-SAME-BUILD-NO-REGRESSION ------------------------------------------------ */

/* One measurement of the false alarms: 21 documents of the same
 * configuration, 5 repetitions each, made one after another, and the 20
 * comparisons of neighbours. Counts those flagged and those the machine's
 * load left inconclusive. */
static void same_build_round(const char *dir, int round, int *flagged, int *busy)
{
	char p[21][512];
	struct vt_result r;

	*flagged = *busy = 0;
	for (int i = 0; i < 21; i++) {
		snprintf(p[i], sizeof(p[i]), "%s/r%d-s%02d.json", dir, round, i);
		make(p[i], (const char *[]){ "oversubscribe", "--duration", "0.3", "--warmup", "0.1",
					     "--repeat", "5", "--seed", "11", NULL });
	}
	for (int i = 0; i < 20; i++) {
		int reg, imp, unch, inc;
		vt_run_bench(&r, (const char *[]){ "compare", p[i], p[i + 1], NULL });
		verdict(&r, &reg, &imp, &unch, &inc);
		/* Repetitions that ran beside other work are left out, and can
		 * leave too few for a test: inconclusive for a stated reason,
		 * the machine's, not a false alarm of the statistics. */
		bool machine = busy_inconclusive(&r, reg, imp, inc);
		if (machine)
			(*busy)++;
		else if (reg || imp || inc)
			(*flagged)++;
		if (reg || imp || inc)
			vt_show("a comparison of the same build that was not unchanged", &r);
		assert_int_equal(r.status, reg ? 1 : 0);
		/* the allowed false alarms aside, most metrics are tested
		 * and found unchanged (not merely inconclusive) */
		if (!(reg || imp || inc))
			assert_true(unch > 5);
	}
	printf("round %d: %d of 20 comparisons of the same build not unchanged, %d more "
	       "inconclusive because the machine was busy\n", round, *flagged, *busy);
}

static void compare_same_build(void **state)
{
	(void)state;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* A false-alarm rate is a property of the measurement, and a sanitizer
	 * build measures the sanitizer: its page-in p99 swings by tens of
	 * percent between neighbouring documents. The release build runs it. */
	printf("SKIP: a sanitizer build: the noise it adds is not compare's to judge (the "
	       "release build runs this case)\n");
	fflush(stdout);
	exit(77);
#endif
	char *dir = vt_mktmpdir("test_report");
	int flagged = 0, busy = 0;

	remeasure_busy = true;

	/*
	 * At most 5 of 20. Documents made seconds apart on a shared VM can
	 * differ for the machine's sake (jobs/s -27% then +21% between three
	 * neighbours on an AMD EPYC VM, with no other process running: a
	 * drift host_load does not see, and no test across repetitions can
	 * tell from a change of the code). Runs there flagged 3, 3, 1, 0, 3,
	 * 2, 8 and 1 of 20 (the 8 with jobs/s -20% and +28% between
	 * neighbours); on an Intel Xeon VM 0 or 1. So a round over the bound
	 * is measured once more, on fresh documents, and the case fails only
	 * if that one is over it too: a drift of some seconds does not fail
	 * CI, while a compare that tests correlated samples as independent,
	 * or ignores the noise band, is over it every time and still fails.
	 */
	for (int round = 1; round <= 2; round++) {
		same_build_round(dir, round, &flagged, &busy);
		if (busy > 10) {
			printf("SKIP: the machine was busy with other work for most of this test: a "
			       "false-alarm rate cannot be measured on it\n");
			fflush(stdout);
			vt_rmtree(dir);
			free(dir);
			exit(77);
		}
		if (flagged <= 5)
			break;
		if (round == 1)
			printf("over the bound of 5: measuring again on fresh documents\n");
	}
	assert_true(flagged <= 5);
	vt_rmtree(dir);
	free(dir);
}

/* ---- COMPARE-DETECTS-SLOWDOWN -------------------------------------------------------- */

static void compare_detects_slowdown(void **state)
{
	char *dir = vt_mktmpdir("test_report"), a[512], b[512];
	struct vt_result r;
	int reg, imp, unch, inc;
	(void)state;

	remeasure_busy = true;

	/* twice the objects per job: each job does twice the work */
	snprintf(a, sizeof(a), "%s/base.json", dir);
	snprintf(b, sizeof(b), "%s/slow.json", dir);
	/*
	 * A repetition that shared the machine with other work (the
	 * hypervisor's included) past --max-other-load is measured again
	 * within a budget, and left out of the comparison if it still did:
	 * on this shared VM that has left 2 of 5 repetitions with no other
	 * process running, and compare then rightly refuses to judge. That is
	 * the machine, not the comparison under test: measure the pair again,
	 * and skip if the machine never lets it judge.
	 */
	for (int attempt = 1;; attempt++) {
		make(a, (const char *[]){ "oversubscribe", "--duration", "0.3", "--warmup", "0.1",
					  "--repeat", "5", "--seed", "11", "--param", "refs=4", NULL });
		make(b, (const char *[]){ "oversubscribe", "--duration", "0.3", "--warmup", "0.1",
					  "--repeat", "5", "--seed", "11", "--param", "refs=8", NULL });
		vt_run_bench(&r, (const char *[]){ "compare", a, b, "--axis", "params", NULL });
		vt_show("refs 4 -> 8", &r);
		verdict(&r, &reg, &imp, &unch, &inc);
		if (!busy_inconclusive(&r, reg, imp, inc))
			break;
		if (attempt == 3) {
			printf("SKIP: the machine was busy with other work in %d attempts: the "
			       "comparison could not be judged\n", attempt);
			fflush(stdout);
			vt_rmtree(dir);
			free(dir);
			exit(77);
		}
		printf("attempt %d: repetitions left out for other work on the machine; "
		       "measuring the pair again\n", attempt);
	}
	assert_true(reg >= 1);
	assert_int_equal(r.status, 1);
	assert_non_null(line_with(r.out, "jobs/s", "regressed"));
	/* and the other way round, an improvement, exit 0 */
	vt_run_bench(&r, (const char *[]){ "compare", b, a, "--axis", "params", NULL });
	verdict(&r, &reg, &imp, &unch, &inc);
	assert_true(imp >= 1);
	assert_non_null(line_with(r.out, "jobs/s", "improved"));
	/* fewer repetitions than the test needs: inconclusive, never regressed */
	char c[512], d2[512];
	snprintf(c, sizeof(c), "%s/c.json", dir);
	snprintf(d2, sizeof(d2), "%s/d.json", dir);
	make(c, (const char *[]){ "oversubscribe", "--duration", "0.3", "--repeat", "3", "--seed",
				  "11", "--param", "refs=4", NULL });
	make(d2, (const char *[]){ "oversubscribe", "--duration", "0.3", "--repeat", "3", "--seed",
				   "11", "--param", "refs=8", NULL });
	vt_run_bench(&r, (const char *[]){ "compare", c, d2, "--axis", "params", NULL });
	vt_show("3 repetitions", &r);
	verdict(&r, &reg, &imp, &unch, &inc);
	assert_int_equal(reg + imp, 0);
	assert_true(inc > 0);
	assert_int_equal(r.status, 0);
	vt_rmtree(dir);
	free(dir);
}

/* ---- COMPARE-PAIRING ----------------------------------------------------------------- */

static void compare_pairing(void **state)
{
	char *dir = vt_mktmpdir("test_report"), a[512], b[512], w[512], bo[512], big[512];
	struct vt_result r;
	int reg, imp, unch, inc;
	(void)state;

	remeasure_busy = true;

	snprintf(a, sizeof(a), "%s/a.json", dir);
	snprintf(b, sizeof(b), "%s/b.json", dir);
	snprintf(w, sizeof(w), "%s/w.json", dir);
	snprintf(bo, sizeof(bo), "%s/bo.json", dir);
	snprintf(big, sizeof(big), "%s/big.json", dir);
	/* numbers compare as numbers: ws_factor=2 is the default 2.0 */
	make(a, (const char *[]){ "oversubscribe", "--duration", "0.2", "--repeat", "4", "--seed", "3",
				  NULL });
	make(b, (const char *[]){ "oversubscribe", "--duration", "0.2", "--repeat", "4", "--seed", "3",
				  "--param", "ws_factor=2", NULL });
	vt_run_bench(&r, (const char *[]){ "compare", a, b, NULL });
	vt_show("ws_factor 2.0 vs 2", &r);
	verdict(&r, &reg, &imp, &unch, &inc);
	assert_true(reg + imp + unch + inc > 0);
	assert_null(strstr(r.out, "unmatched"));

	/* window against bounce: unmatched, listed with what differs; --axis
	 * and --pair compare them */
	/* Eight short repetitions, not four long ones: with four, Mann-Whitney
	 * reaches alpha 0.05 only when the samples do not overlap at all, and
	 * one disturbed repetition in CI (which disturbs every page_in metric of
	 * that repetition at once) made the "regressed" below inconclusive. */
	make(w, (const char *[]){ "paging", "--duration", "0.5", "--repeat", "8", "--seed", "3",
				  NULL });
	make(bo, (const char *[]){ "paging", "--duration", "0.5", "--repeat", "8", "--seed", "3",
				   "--paging-mode", "bounce", NULL });
	vt_run_bench(&r, (const char *[]){ "compare", w, bo, NULL });
	vt_show("window vs bounce", &r);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.out, "paging_mode=bounce"));
	vt_run_bench(&r, (const char *[]){ "compare", w, bo, "--axis", "paging_mode", NULL });
	verdict(&r, &reg, &imp, &unch, &inc);
	assert_true(reg + imp + unch + inc > 0);
	vt_run_bench(&r, (const char *[]){ "compare", w, bo, "--pair", "paging=paging", NULL });
	vt_show("window vs bounce, --pair", &r);
	verdict(&r, &reg, &imp, &unch, &inc);
	assert_true(reg + imp + unch + inc > 0);
	/* bounce pages through the CPU: slower page-ins, and compare says so.
	 * Not in a sanitizer build: there ASan's checks on every copy cost
	 * more than the second copy does (33 of 34 metrics "unchanged" in the
	 * run that failed it), so its timings say nothing about the modes. */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	assert_non_null(line_with(r.out, "page_in", "regressed"));
#endif

	/* a profile mismatch is said at the top */
	make(big, (const char *[]){ "oversubscribe", "--duration", "0.2", "--repeat", "4", "--seed",
				    "3", "--profile", "default", NULL });
	vt_run_bench(&r, (const char *[]){ "compare", a, big, NULL });
	vt_show("tiny vs default", &r);
	const char *note = strstr(r.out, "NOTE: profiles differ: base tiny, new default");
	assert_non_null(note);
	assert_true(note < strstr(r.out, "verdict:"));
	vt_run_bench(&r, (const char *[]){ "compare", a, big, "--axis", "profile", NULL });
	verdict(&r, &reg, &imp, &unch, &inc);
	assert_true(reg + imp + unch + inc > 0);
	assert_non_null(strstr(r.out, "NOTE: profiles differ"));
	vt_rmtree(dir);
	free(dir);
}

/* ---- COMPARE-MICRO-JSON -------------------------------------------------------------- */

/* Google Benchmark JSON with 5 repetitions of two benchmarks. */
static void write_gbench(const char *path, double a_ns, double b_ns)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"context\": {\"date\": \"2026-11-30\", \"library_version\": \"v1.7.1\"},\n"
		   " \"benchmarks\": [\n");
	static const double jitter[5] = { 0.99, 1.01, 1.0, 0.98, 1.02 };
	for (int rep = 0; rep < 5; rep++)
		for (int k = 0; k < 2; k++)
			fprintf(f, "%s  {\"name\": \"BM_%s\", \"run_name\": \"BM_%s\", \"run_type\": "
				   "\"iteration\", \"repetitions\": 5, \"repetition_index\": %d, "
				   "\"iterations\": 1000, \"real_time\": %.3f, \"cpu_time\": %.3f, "
				   "\"time_unit\": \"ns\"}\n", rep || k ? "," : "", k ? "b" : "a",
				k ? "b" : "a", rep, (k ? b_ns : a_ns) * jitter[rep],
				(k ? b_ns : a_ns) * jitter[rep]);
	/* the aggregates Google Benchmark adds are not repetitions */
	fprintf(f, ", {\"name\": \"BM_a_mean\", \"run_name\": \"BM_a\", \"run_type\": "
		   "\"aggregate\", \"aggregate_name\": \"mean\", \"real_time\": 1, \"cpu_time\": 1, "
		   "\"time_unit\": \"ns\"}\n]}\n");
	fclose(f);
}

static void compare_micro_json(void **state)
{
	char *dir = vt_mktmpdir("test_report"), a[512], b[512], html[512];
	struct vt_result r;
	int reg, imp, unch, inc;
	(void)state;

	snprintf(a, sizeof(a), "%s/micro-a.json", dir);
	snprintf(b, sizeof(b), "%s/micro-b.json", dir);
	snprintf(html, sizeof(html), "%s/micro.html", dir);
	write_gbench(a, 100, 2000);
	write_gbench(b, 200, 2000); /* BM_a twice as slow, BM_b unchanged */
	vt_run_bench(&r, (const char *[]){ "compare", a, b, NULL });
	vt_show("micro", &r);
	verdict(&r, &reg, &imp, &unch, &inc);
	assert_int_equal(reg, 1);
	assert_int_equal(unch, 1);
	assert_int_equal(r.status, 1);
	assert_non_null(line_with(r.out, "BM_a", "regressed"));
	/* a results document and a micro.json do not compare */
	vt_run_bench(&r, (const char *[]){ "report", a, "--html", html, NULL });
	assert_int_equal(r.status, 0);
	char *h = read_all(html);
	assert_chart(h, "micro");
	free(h);
	vt_rmtree(dir);
	free(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("REPORT-MD-HTML", report_md_html),
		VT_CASE("REPORT-BAD-INPUT", report_bad_input),
		VT_CASE("REPORT-CHARTS", report_charts),
		VT_CASE("COMPARE-SAME-BUILD-NO-REGRESSION", compare_same_build),
		VT_CASE("COMPARE-DETECTS-SLOWDOWN", compare_detects_slowdown),
		VT_CASE("COMPARE-PAIRING", compare_pairing),
		VT_CASE("COMPARE-MICRO-JSON", compare_micro_json),
	};
	return VT_MAIN("test_report", cases);
}
