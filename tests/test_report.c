/* SPDX-License-Identifier: MIT */
/*
 * test_report.c - acceptance tests of `vidmm-bench report` and `compare`
 * (reports/): the binary is run as a user would run it (path in
 * $VIDMM_BENCH, set by tests/meson.build), and its exit status, messages and
 * files are checked.
 *
 * Owns: REPORT-MD-HTML, REPORT-BAD-INPUT, COMPARE-NOISE, COMPARE-REGRESSION.
 * Must not: link the harness or reports/ (these test the program), or assert
 * on timings: the only runs are short alloc-churn runs with explicit seeds,
 * and the noise case compares a file with itself (two seeds differ by more
 * than any fixed threshold on a shared machine).
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

/* A short, seeded alloc-churn run into path. */
static void make_run(const char *path, const char *seed)
{
	struct vt_result *r = calloc(1, sizeof(*r));
	const char *args[] = { "run", "alloc-churn", "--profile", "tiny", "--ops", "3000",
			       "--seed", seed, "--quiet", "--out", path, NULL };

	assert_non_null(r);
	vt_run_bench(r, args);
	if (r->status != 0)
		vt_show("run alloc-churn", r);
	assert_int_equal(r->status, 0);
	assert_true(vt_exists(path));
	free(r);
}

/* The table line of `compare` output for run label + metric, or NULL. */
static const char *row(const char *out, const char *metric)
{
	char key[128];
	snprintf(key, sizeof(key), "| %s", metric);
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *p = strstr(l, key);
		const char *e = strchr(l, '\n');
		if (p && (!e || p < e))
			return l;
	}
	return NULL;
}

static bool row_has(const char *line, const char *what)
{
	const char *e = strchr(line, '\n');
	const char *p = strstr(line, what);
	return p && (!e || p < e);
}

static void report_md_html(void **state)
{
	char *dir = vt_mktmpdir("test_report");
	char js[512], md[512], html[512];
	struct vt_result *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	snprintf(js, sizeof(js), "%s/X.json", dir);
	snprintf(md, sizeof(md), "%s/X.md", dir);
	snprintf(html, sizeof(html), "%s/X.html", dir);
	make_run(js, "1");

	const char *a[] = { "report", js, "--md", md, "--html", html, NULL };
	vt_run_bench(r, a);
	if (r->status)
		vt_show("report", r);
	assert_int_equal(r->status, 0);
	/* results + two outputs, no temporary left behind */
	assert_int_equal(vt_count_files(dir), 3);

	char *h = read_all(html);
	assert_true(strncmp(h, "<!DOCTYPE html>", 15) == 0);
	assert_non_null(strstr(h, "<svg"));
	assert_non_null(strstr(h, "</svg>"));
	assert_non_null(strstr(h, "</html>"));
	assert_non_null(strstr(h, "alloc-churn"));
	/* self-contained: nothing fetched from anywhere, no scripts */
	assert_null(strstr(h, "http://"));
	assert_null(strstr(h, "https://"));
	assert_null(strstr(h, "<script"));
	assert_null(strstr(h, "<link"));
	/* every run's workload name appears */
	json_t *doc = json_load_file(js, 0, NULL);
	assert_non_null(doc);
	for (size_t i = 0; i < json_array_size(json_object_get(doc, "runs")); i++) {
		const char *w = json_string_value(
			json_object_get(json_array_get(json_object_get(doc, "runs"), i), "workload"));
		assert_non_null(w);
		assert_non_null(strstr(h, w));
	}
	json_decref(doc);
	free(h);

	char *m = read_all(md);
	assert_non_null(strstr(m, "| workload |"));
	assert_non_null(strstr(m, "| alloc-churn |"));
	assert_non_null(strstr(m, "| op | count |"));
	assert_non_null(strstr(m, "| create |"));
	free(m);

	/* no --md/--html: the Markdown on stdout */
	const char *b[] = { "report", js, NULL };
	vt_run_bench(r, b);
	assert_int_equal(r->status, 0);
	assert_non_null(strstr(r->out, "| alloc-churn |"));

	free(r);
	vt_rmtree(dir);
	free(dir);
}

static void report_bad_input(void **state)
{
	char *dir = vt_mktmpdir("test_report");
	char bad[512], notres[512], good[512], md[512], html[512], missing[512], unw[512];
	struct vt_result *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	snprintf(bad, sizeof(bad), "%s/bad.json", dir);
	snprintf(notres, sizeof(notres), "%s/notres.json", dir);
	snprintf(good, sizeof(good), "%s/good.json", dir);
	snprintf(md, sizeof(md), "%s/out.md", dir);
	snprintf(html, sizeof(html), "%s/out.html", dir);
	snprintf(missing, sizeof(missing), "%s/missing.json", dir);
	snprintf(unw, sizeof(unw), "%s/no-such-dir/out.md", dir);
	write_text(bad, "{\"context\": {\"format\": 1}, \"runs\": [ {\"workload\": ");
	write_text(notres, "{\"benchmarks\": [], \"context\": \"not ours\"}\n");
	/* the smallest valid document: a context and one run with metrics */
	write_text(good, "{\"context\": {}, \"runs\": [{\"workload\": \"w\", \"metrics\": {}}]}\n");

	const char *inputs[] = { missing, bad, notres };
	const char *expect[] = { "missing.json", "malformed", "not a vidmm-bench results" };
	for (int i = 0; i < 3; i++) {
		const char *a[] = { "report", inputs[i], "--md", md, "--html", html, NULL };
		vt_run_bench(r, a);
		if (r->status != 2)
			vt_show("report bad input", r);
		assert_int_equal(r->status, 2);
		assert_one_line(r);
		assert_non_null(strstr(r->err, expect[i]));
		assert_false(vt_exists(md));
		assert_false(vt_exists(html));
		/* compare refuses the same inputs */
		const char *c[] = { "compare", good, inputs[i], NULL };
		vt_run_bench(r, c);
		assert_int_equal(r->status, 2);
		assert_one_line(r);
	}

	/* unwritable output: nothing written, not even the other output */
	const char *a[] = { "report", good, "--html", html, "--md", unw, NULL };
	vt_run_bench(r, a);
	if (r->status != 2)
		vt_show("report unwritable", r);
	assert_int_equal(r->status, 2);
	assert_one_line(r);
	assert_non_null(strstr(r->err, "no-such-dir"));
	assert_false(vt_exists(html));

	/* the minimal document itself renders */
	const char *ok[] = { "report", good, "--html", html, NULL };
	vt_run_bench(r, ok);
	assert_int_equal(r->status, 0);
	assert_true(vt_exists(html));
	/* three inputs and the page, no temporaries */
	assert_int_equal(vt_count_files(dir), 4);

	free(r);
	vt_rmtree(dir);
	free(dir);
}

static void compare_noise(void **state)
{
	char *dir = vt_mktmpdir("test_report");
	char js[512];
	struct vt_result *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	snprintf(js, sizeof(js), "%s/base.json", dir);
	make_run(js, "7");

	/* A file against itself: identical histograms, p = 1, nothing changes. */
	const char *a[] = { "compare", js, js, "--alpha", "0.001", NULL };
	vt_run_bench(r, a);
	if (r->status)
		vt_show("compare self", r);
	assert_int_equal(r->status, 0);
	assert_null(strstr(r->out, "| **regressed** |"));
	assert_null(strstr(r->out, "| improved |"));
	const char *l = row(r->out, "latency create (median)");
	assert_non_null(l);
	assert_true(row_has(l, "Mann-Whitney U"));
	assert_true(row_has(l, "| 1 |"));
	assert_true(row_has(l, "no significant change"));
	l = row(r->out, "ops/s");
	assert_non_null(l);
	assert_true(row_has(l, "no test possible (one sample)"));

	free(r);
	vt_rmtree(dir);
	free(dir);
}

/* NEW = BASE with the create histogram moved up by a factor 1.5 (about 13
 * log-linear buckets at 32 per power of two) and ops/s halved. */
static void compare_regression(void **state)
{
	char *dir = vt_mktmpdir("test_report");
	char base[512], nw[512];
	struct vt_result *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	snprintf(base, sizeof(base), "%s/base.json", dir);
	snprintf(nw, sizeof(nw), "%s/new.json", dir);
	make_run(base, "3");

	json_t *doc = json_load_file(base, 0, NULL);
	assert_non_null(doc);
	json_t *run0 = json_array_get(json_object_get(doc, "runs"), 0);
	json_t *m = json_object_get(run0, "metrics");
	json_t *bk = json_object_get(json_object_get(json_object_get(run0, "histograms"), "create"),
				     "buckets");
	assert_true(json_array_size(bk) > 0);
	for (size_t i = 0; i < json_array_size(bk); i++) {
		json_t *b = json_array_get(bk, i);
		for (size_t k = 0; k < 2; k++) {
			json_int_t v = json_integer_value(json_array_get(b, k));
			json_array_set_new(b, k, json_integer(v * 3 / 2 + 1));
		}
	}
	double ops = json_number_value(json_object_get(m, "ops_per_sec"));
	assert_true(ops > 0);
	json_object_set_new(m, "ops_per_sec", json_real(ops * 0.5));
	assert_int_equal(json_dump_file(doc, nw, JSON_INDENT(1)), 0);
	json_decref(doc);

	const char *a[] = { "compare", base, nw, NULL };
	vt_run_bench(r, a);
	if (r->status != 1)
		vt_show("compare regression", r);
	assert_int_equal(r->status, 1);
	const char *l = row(r->out, "ops/s");
	assert_non_null(l);
	assert_true(row_has(l, "**regressed**"));
	assert_true(row_has(l, "-50.0%"));
	l = row(r->out, "latency create (median)");
	assert_non_null(l);
	assert_true(row_has(l, "**regressed**"));
	/* the untouched kind stays put */
	l = row(r->out, "latency destroy (median)");
	assert_non_null(l);
	assert_true(row_has(l, "no significant change"));

	/* the other way round it is an improvement, and exit 0 */
	const char *b[] = { "compare", nw, base, NULL };
	vt_run_bench(r, b);
	if (r->status != 0)
		vt_show("compare reversed", r);
	assert_int_equal(r->status, 0);
	l = row(r->out, "latency create (median)");
	assert_non_null(l);
	assert_true(row_has(l, "improved"));

	free(r);
	vt_rmtree(dir);
	free(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("REPORT-MD-HTML", report_md_html),
		VT_CASE("REPORT-BAD-INPUT", report_bad_input),
		VT_CASE("COMPARE-NOISE", compare_noise),
		VT_CASE("COMPARE-REGRESSION", compare_regression),
	};
	return VT_MAIN("test_report", cases);
}
