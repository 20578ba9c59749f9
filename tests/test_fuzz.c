/* SPDX-License-Identifier: MIT */
/*
 * test_fuzz.c - `vidmm-bench fuzz` and `--inject` as a user runs them: the
 * fuzzer finds a planted defect and hands back a reproducer replay fails
 * on, minimizes, runs clean on shared allocations, compares paging modes,
 * and every fault kind is injected, counted and survived.
 *
 * Owns: the FUZZ-* and INJECT-EACH-KIND cases. Must not: reach into the
 * harness; it runs the binaries meson names ($VIDMM_BENCH, and
 * $VIDMM_BENCH_PLANTED for the build with a planted defect) and reads
 * their JSON. VIDMM_FUZZ_SECONDS sets the long runs (default 60).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "vt.h"
#include "vt_proc.h"

static double fuzz_seconds(void)
{
	const char *e = getenv("VIDMM_FUZZ_SECONDS");
	double s = e && *e ? strtod(e, NULL) : 60.0;
	return s > 0 ? s : 60.0;
}

static json_t *load(const char *path)
{
	json_error_t je;
	json_t *d = json_load_file(path, 0, &je);
	if (!d)
		fail_msg("%s: %s", path, je.text);
	return d;
}

static json_t *fuzz_obj(json_t *doc)
{
	json_t *f = json_object_get(doc, "fuzz");
	assert_non_null(f);
	return f;
}

/* Run `fuzz` with args (NULL-terminated) plus --out; the results object. */
static json_t *run_fuzz(const char *const *args, const char *dir, int want_status)
{
	char out[512];
	const char *a[40];
	int n = 0;
	struct vt_result *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	snprintf(out, sizeof(out), "%s/fuzz.json", dir);
	a[n++] = "fuzz";
	for (int i = 0; args[i]; i++)
		a[n++] = args[i];
	a[n++] = "--out";
	a[n++] = out;
	a[n++] = "--quiet";
	a[n++] = "--swap-dir";
	a[n++] = dir;
	a[n] = NULL;
	vt_run_bench(r, a);
	printf("%s", r->out);
	if (r->status != want_status) {
		vt_show("fuzz", r);
		fail_msg("vidmm-bench fuzz exited %d, expected %d", r->status, want_status);
	}
	free(r);
	return load(out);
}

/* ---- FUZZ-FINDS-PLANTED-BUG ------------------------------------------------------------- */

/* The build with a planted defect (every second page-in of a 3-page-multiple
 * allocation skips its copy back): found within the time, minimized, and
 * the reproducer fails replay with the same build. */
static void finds_planted_bug(void **state)
{
	const char *planted = getenv("VIDMM_BENCH_PLANTED");
	char *dir = vt_mktmpdir("vidmm-fuzzp");
	char repro[600], secs[32], seedbuf[32];
	struct vt_result *r = calloc(1, sizeof(*r));

	(void)state;
	assert_non_null(planted);
	assert_non_null(r);
	snprintf(repro, sizeof(repro), "%s/found.trace", dir);
	snprintf(secs, sizeof(secs), "%.0f", fuzz_seconds());
	snprintf(seedbuf, sizeof(seedbuf), "%" PRIu64, vt_seed("FUZZ-FINDS-PLANTED-BUG"));
	/* vt_run_bench runs $VIDMM_BENCH: point it at the planted build. */
	const char *bench = getenv("VIDMM_BENCH");
	char saved[512];
	snprintf(saved, sizeof(saved), "%s", bench);
	setenv("VIDMM_BENCH", planted, 1);
	json_t *d = run_fuzz((const char *[]){ "--time", secs, "--seed", seedbuf, "--repro",
						   repro, NULL }, dir, 1);
	json_t *fi = json_object_get(fuzz_obj(d), "finding");
	assert_true(json_is_object(fi));
	printf("found: %s\nminimized %d -> %d calls\n",
	       json_string_value(json_object_get(fi, "what")),
	       (int)json_integer_value(json_object_get(fi, "calls")),
	       (int)json_integer_value(json_object_get(fi, "minimized_calls")));
	assert_true(vt_exists(repro));
	/* The reproducer fails replay on the same check, with that build. */
	vt_run_bench(r, (const char *[]){ "replay", repro, "--quiet", NULL });
	printf("replay of the reproducer: exit %d\n%s", r->status, r->out);
	if (r->status != 1) {
		vt_show("replay", r);
		fail_msg("the reproducer replays with exit %d, not 1", r->status);
	}
	setenv("VIDMM_BENCH", saved, 1);
	json_decref(d);
	free(r);
	vt_rmtree(dir);
	free(dir);
}

/* ---- FUZZ-MINIMIZE ---------------------------------------------------------------------- */

/* A synthetic failure at call 5,000 of a 6,000-call program depends on two
 * calls (the failing one and a create of its slot): the minimizer must get
 * down to at most 20. */
static void minimize(void **state)
{
	char *dir = vt_mktmpdir("vidmm-fuzzm");
	char repro[600];

	(void)state;
	snprintf(repro, sizeof(repro), "%s/min.trace", dir);
	json_t *d = run_fuzz((const char *[]){ "--runs", "1", "--calls", "6000", "--plant-at",
						   "5000", "--seed", "7", "--repro", repro, NULL },
			     dir, 1);
	json_t *fi = json_object_get(fuzz_obj(d), "finding");
	assert_true(json_is_object(fi));
	int from = (int)json_integer_value(json_object_get(fi, "calls"));
	int to = (int)json_integer_value(json_object_get(fi, "minimized_calls"));
	printf("planted failure at call 5000: minimized %d -> %d calls\n", from, to);
	assert_true(from >= 4000);
	assert_true(to >= 1 && to <= 20);
	json_decref(d);
	vt_rmtree(dir);
	free(dir);
}

/* ---- FUZZ-SINGLE / FUZZ-SHARED-THREADS / FUZZ-PIPELINED --------------------------------- */

static void clean_run(const char *threads, const char *name, const char *paging, double secs_f)
{
	char *dir = vt_mktmpdir("vidmm-fuzzc");
	char secs[32], seedbuf[32];

	snprintf(secs, sizeof(secs), "%.0f", secs_f < 1 ? 1 : secs_f);
	snprintf(seedbuf, sizeof(seedbuf), "%" PRIu64, vt_seed(name));
	json_t *d = run_fuzz((const char *[]){ "--time", secs, "--threads", threads, "--seed",
						   seedbuf, "--paging", paging, NULL }, dir, 0);
	json_t *f = fuzz_obj(d);
	assert_string_equal(json_string_value(json_object_get(f, "paging")), paging);
	double calls = json_number_value(json_object_get(f, "calls"));
	double checks = json_number_value(json_object_get(f, "content_checks"));
	printf("%s threads, %s paging: %.0f calls (%.0f/s), %.0f programs, %.0f content checks, "
	       "no finding\n", threads, paging, calls, json_number_value(json_object_get(f, "calls_per_sec")),
	       json_number_value(json_object_get(f, "executions")), checks);
	assert_true(json_is_null(json_object_get(f, "finding")));
	assert_true(calls > 0 && checks > 0);
	json_decref(d);
	vt_rmtree(dir);
	free(dir);
}

static void single(void **state)
{
	(void)state;
	clean_run("1", "FUZZ-SINGLE", "sync", fuzz_seconds());
}

static void shared_threads(void **state)
{
	(void)state;
	clean_run("4", "FUZZ-SHARED-THREADS", "sync", fuzz_seconds());
}

/* The same with pipelined paging (jobs ordered after page-in copies on the
 * GPU, failed copies issued again), one thread then four, with the fault
 * calls on: a quarter of the time each. */
static void pipelined(void **state)
{
	(void)state;
	clean_run("1", "FUZZ-PIPELINED", "pipelined", fuzz_seconds() / 4);
	clean_run("4", "FUZZ-PIPELINED", "pipelined", fuzz_seconds() / 4);
}

/* ---- FUZZ-DIFFERENTIAL ------------------------------------------------------------------ */

/* Every program run in window mode, in bounce mode and with plain-LRU
 * eviction: the same results, the same contents. */
static void differential(void **state)
{
	char *dir = vt_mktmpdir("vidmm-fuzzd");
	char secs[32], seedbuf[32];

	(void)state;
	snprintf(secs, sizeof(secs), "%.0f", fuzz_seconds() / 2);
	snprintf(seedbuf, sizeof(seedbuf), "%" PRIu64, vt_seed("FUZZ-DIFFERENTIAL"));
	json_t *d = run_fuzz((const char *[]){ "--time", secs, "--differential", "--no-faults",
						   "--seed", seedbuf, NULL }, dir, 0);
	json_t *f = fuzz_obj(d);
	double runs = json_number_value(json_object_get(f, "differential_runs"));
	printf("%.0f programs, %.0f differential comparisons\n",
	       json_number_value(json_object_get(f, "executions")), runs);
	assert_true(runs >= 2);
	assert_true(json_is_null(json_object_get(f, "finding")));
	json_decref(d);
	vt_rmtree(dir);
	free(dir);
}

/* ---- INJECT-EACH-KIND ------------------------------------------------------------------- */

/*
 * Every --inject kind on a verifying run of oversubscribe (3x local memory,
 * so it pages and swaps): the faults are counted, vidmm_check and the
 * harness's checks pass, and no data is lost beyond what the API reported
 * (integrity errors 0; reported_losses may count failed jobs).
 */
static void inject_each_kind(void **state)
{
	static const char *const kinds[] = {
		"copy-fail:0.05", "fence-delay:0.05", "late:0.05", "hang:3", "job-fail:0.05",
		"sysmem-full:3", "swap-write:0.05", "swap-read:0.05", "short-io:0.05",
		"swap-full:0.05", "corrupt:0.05",
	};
	char *dir = vt_mktmpdir("vidmm-inject");
	char out[512];

	(void)state;
	snprintf(out, sizeof(out), "%s/r.json", dir);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct vt_result *r = calloc(1, sizeof(*r));
		assert_non_null(r);
		vt_run_bench(r, (const char *[]){ "run", "oversubscribe", "--profile", "tiny", "--verify",
						  "--duration", "2", "--seed", "9", "--param",
						  "ws_factor=3", "--fence-timeout", "50", "--inject",
						  kinds[i], "--swap-dir", dir, "--out", out, "--quiet",
						  NULL });
		json_t *d = load(out);
		json_t *run = json_array_get(json_object_get(d, "runs"), 0);
		json_t *m = json_object_get(run, "metrics");
		json_t *faults = json_object_get(run, "faults_injected");
		char kind[32];
		snprintf(kind, sizeof(kind), "%s", kinds[i]);
		*strchr(kind, ':') = 0;
		double n = json_number_value(json_object_get(faults, kind));
		double ie = json_number_value(json_object_get(m, "integrity_errors"));
		double lost = json_number_value(json_object_get(m, "reported_losses"));
		const char *vc = json_string_value(json_object_get(json_object_get(run, "checks"),
								   "vidmm_check"));
		printf("%-12s injected %4.0f, exit %d, integrity errors %.0f, reported losses %.0f, "
		       "vidmm_check %s\n", kind, n, r->status, ie, lost, vc ? vc : "?");
		if (r->status != 0 || n <= 0 || ie != 0 || !vc || strcmp(vc, "ok")) {
			vt_show(kind, r);
			fail_msg("--inject %s: exit %d, %.0f injected, %.0f integrity errors", kinds[i],
				 r->status, n, ie);
		}
		json_decref(d);
		free(r);
	}
	vt_rmtree(dir);
	free(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("FUZZ-FINDS-PLANTED-BUG", finds_planted_bug),
		VT_CASE("FUZZ-MINIMIZE", minimize),
		VT_CASE("FUZZ-SINGLE", single),
		VT_CASE("FUZZ-SHARED-THREADS", shared_threads),
		VT_CASE("FUZZ-PIPELINED", pipelined),
		VT_CASE("FUZZ-DIFFERENTIAL", differential),
		VT_CASE("INJECT-EACH-KIND", inject_each_kind),
	};
	return VT_MAIN("fuzz", cases);
}
