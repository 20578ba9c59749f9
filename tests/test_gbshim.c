/* SPDX-License-Identifier: MIT */
/*
 * test_gbshim.c - tests of the C API over Google Benchmark (bench/micro/gbshim.h).
 *
 * Owns: the GBSHIM-* cases, and the benchmarks they run.
 * Must not: test vidmm itself, or depend on how fast this machine is beyond
 * ratios with wide margins.
 *
 * Google Benchmark's registry and flags are process-wide and Initialize is
 * once per process, so every case re-executes this program in child mode
 * (argv[1] == "--gbshim-child"): the child registers the benchmarks, runs
 * those that the case's --benchmark_filter selects with JSON written to a
 * temporary file, and exits non-zero if a fixture invariant broke; the case
 * then parses the JSON with jansson and checks what the reports say.
 */
#include "vt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gbshim.h"

#define CHILD_FLAG "--gbshim-child"
#define USER_MAGIC 0x6762u

/* ==== child side: the benchmarks ======================================== */

struct reg_user {
	unsigned magic;
	uint64_t seed;
};

/* Every reporting feature a C body uses, with values the parent can check. */
static void bm_reg_basic(gb_state *st, void *user)
{
	const struct reg_user *u = user;
	uint64_t x = u->seed;

	GB_FOR(st) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		gb_do_not_optimize(x);
	}
	int64_t it = gb_iterations(st);
	gb_set_label(st, "label-ok");
	gb_set_bytes_processed(st, it * 4096);
	gb_set_items_processed(st, it * 3);
	gb_counter_set(st, "plain", 42, GB_COUNTER_DEFAULT);
	gb_counter_set(st, "rate", 1000, GB_COUNTER_RATE);
	gb_counter_set(st, "per_iter", 3, GB_COUNTER_ITER_INVARIANT);
	gb_counter_set(st, "avg_iter", 5.0 * (double)it, GB_COUNTER_AVG_ITERATIONS);
	gb_counter_set(st, "kib", 2048, GB_COUNTER_1024);
	gb_counter_set(st, "kilo", 2048, GB_COUNTER_DEFAULT);
	gb_counter_set(st, "user_ok", u->magic == USER_MAGIC, GB_COUNTER_DEFAULT);
	gb_counter_set(st, "iterations_seen", (double)it, GB_COUNTER_DEFAULT);
}

/* A fixture whose invariants the body and teardown check. */
struct fix {
	atomic_int setups, teardowns, ready, bad;
	int64_t args[4];
	int nargs, threads;
};
static struct fix the_fix;

static void fix_setup(const struct gb_run *run, void *user)
{
	struct fix *f = user;

	if (atomic_load(&f->ready))
		atomic_store(&f->bad, 1);	/* two setups without teardown */
	usleep(1000);	/* a thread that does not wait for setup sees !ready */
	f->nargs = run->nargs;
	f->threads = run->threads;
	for (int i = 0; i < run->nargs && i < 4; i++)
		f->args[i] = run->args[i];
	atomic_fetch_add(&f->setups, 1);
	atomic_store(&f->ready, 1);
}

static void fix_teardown(const struct gb_run *run, void *user)
{
	struct fix *f = user;

	if (!atomic_load(&f->ready) || run->nargs != f->nargs || run->threads != f->threads)
		atomic_store(&f->bad, 1);
	for (int i = 0; i < run->nargs && i < 4; i++)
		if (run->args[i] != f->args[i])
			atomic_store(&f->bad, 1);
	atomic_store(&f->ready, 0);
	atomic_fetch_add(&f->teardowns, 1);
}

static void bm_reg_fixture(gb_state *st, void *user)
{
	struct fix *f = user;
	int ok = atomic_load(&f->ready) && f->nargs == 2 && f->threads == gb_threads(st) &&
		 f->args[0] == gb_range(st, 0) && f->args[1] == gb_range(st, 1);
	uint64_t x = (uint64_t)gb_thread_index(st);

	GB_FOR(st) {
		x = x * 2862933555777941757ull + 3037000493ull;
		gb_do_not_optimize(x);
	}
	/* Teardown must wait for every thread's body, including this tail. */
	if (gb_thread_index(st) != 0)
		usleep(1000);
	ok = ok && atomic_load(&f->ready);
	gb_counter_set(st, "fixture_ok", ok, GB_COUNTER_DEFAULT);	/* summed */
	gb_counter_set(st, "avg", 10, GB_COUNTER_AVG_THREADS);		/* averaged */
}

/* GPU-style timing: each iteration "took" 2 us according to its fences. */
static void bm_reg_manual(gb_state *st, void *user)
{
	(void)user;
	GB_FOR(st)
		gb_set_iteration_time(st, 2e-6);
}

static void bm_reg_stats(gb_state *st, void *user)
{
	(void)user;
	uint64_t x = 1;

	GB_FOR(st) {
		for (int i = 0; i < 16; i++)
			x = x * 6364136223846793005ull + 1ull;
		gb_do_not_optimize(x);
	}
}

/* Reports its arguments as counters, to match them against the name. */
static void bm_rng(gb_state *st, void *user)
{
	int nargs = (int)(intptr_t)user;

	GB_FOR(st)
		gb_clobber_memory();
	for (int i = 0; i < nargs; i++) {
		char name[16];
		snprintf(name, sizeof(name), "arg%d", i);
		gb_counter_set(st, name, (double)gb_range(st, (size_t)i), GB_COUNTER_AVG_THREADS);
	}
}

static atomic_int skip_flag_bad;

static void bm_skip_before(gb_state *st, void *user)
{
	(void)user;
	gb_skip_with_error(st, "skip-before: no device");
	if (!gb_error_occurred(st))
		atomic_store(&skip_flag_bad, 1);
}

static void bm_skip_inside(gb_state *st, void *user)
{
	(void)user;
	int64_t i = 0, at = gb_max_iterations(st) / 2 + 1;

	GB_FOR(st) {
		if (++i == at) {
			gb_skip_with_error(st, "skip-inside: fence timeout");
			break;
		}
	}
	if (!gb_error_occurred(st))
		atomic_store(&skip_flag_bad, 1);
}

static void bm_skip_unbatched(gb_state *st, void *user)
{
	(void)user;
	while (gb_keep_running(st))
		gb_skip_with_error(st, "skip-unbatched: lost context");
}

static void bm_skip_ok(gb_state *st, void *user)
{
	(void)user;
	GB_FOR(st)
		gb_clobber_memory();
}

/*
 * Work that the optimiser deletes when nothing reads its result (a local
 * buffer, a local value): the barrier variants must scale with their
 * argument; the controls without it show what deletion looks like (GCC 12
 * -O2: 0.000 ns whatever the size).
 */
static void bm_bar_memset(gb_state *st, void *user)
{
	(void)user;
	unsigned char buf[65536];	/* local: nothing else can read it */
	size_t n = (size_t)gb_range(st, 0);

	GB_FOR(st) {
		memset(buf, 0x5a, n);
		gb_do_not_optimize(buf);
	}
}

static void bm_bar_memset_nobarrier(gb_state *st, void *user)
{
	(void)user;
	unsigned char buf[65536];
	size_t n = (size_t)gb_range(st, 0);

	GB_FOR(st)
		memset(buf, 0x5a, n);
}

static void bm_bar_lcg(gb_state *st, void *user)
{
	(void)user;
	int64_t n = gb_range(st, 0);
	uint64_t x = 1;

	GB_FOR(st) {
		for (int64_t i = 0; i < n; i++)
			x = x * 6364136223846793005ull + 1442695040888963407ull;
		gb_do_not_optimize(x);
	}
}

static void bm_bar_lcg_nobarrier(gb_state *st, void *user)
{
	(void)user;
	int64_t n = gb_range(st, 0);
	uint64_t x = 1;

	GB_FOR(st) {
		for (int64_t i = 0; i < n; i++)
			x = x * 6364136223846793005ull + 1442695040888963407ull;
	}
}

static void register_all(void)
{
	static struct reg_user ru = { USER_MAGIC, 12345 };
	gb_bench *b;

	b = gb_register("BM_reg_basic", bm_reg_basic, &ru);
	gb_bench_use_real_time(b);

	b = gb_register("BM_reg_fixture", bm_reg_fixture, &the_fix);
	gb_bench_fixture(b, fix_setup, fix_teardown);
	gb_bench_args(b, (const int64_t[]){ 7, 9 }, 2);
	gb_bench_threads(b, 2);

	b = gb_register("BM_reg_manual", bm_reg_manual, NULL);
	gb_bench_use_manual_time(b);

	b = gb_register("BM_reg_stats", bm_reg_stats, NULL);
	gb_bench_repetitions(b, 3);
	gb_bench_unit(b, GB_US);
	if (!gb_bench_statistics(b, "p95", gb_stat_p95, GB_STAT_TIME) ||
	    !gb_bench_statistics(b, "max", gb_stat_max, GB_STAT_TIME))
		exit(4);	/* no free statistics slot */

	b = gb_register("BM_rng_sq", bm_rng, (void *)(intptr_t)2);
	gb_bench_arg_names(b, (const char *const[]){ "size", "qd" }, 2);
	gb_bench_range_multiplier(b, 4);
	gb_bench_ranges(b, (const struct gb_range[]){ { 4096, 16384 }, { 32, 64 } }, 2);

	b = gb_register("BM_rng_dense", bm_rng, (void *)(intptr_t)1);
	gb_bench_arg_name(b, "n");
	gb_bench_dense_range(b, 1, 7, 3);

	b = gb_register("BM_rng_args", bm_rng, (void *)(intptr_t)2);
	gb_bench_arg_names(b, (const char *const[]){ "a", "b" }, 2);
	gb_bench_args(b, (const int64_t[]){ 1, 2 }, 2);
	gb_bench_args(b, (const int64_t[]){ 3, 4 }, 2);

	b = gb_register("BM_rng_arg", bm_rng, (void *)(intptr_t)1);
	gb_bench_arg(b, 5);
	gb_bench_arg(b, 6);

	b = gb_register("BM_rng_range", bm_rng, (void *)(intptr_t)1);
	gb_bench_arg_name(b, "len");
	gb_bench_range(b, 8, 512);

	b = gb_register("BM_rng_thr", bm_rng, (void *)(intptr_t)1);
	gb_bench_arg_name(b, "x");
	gb_bench_arg(b, 3);
	gb_bench_threads(b, 2);
	gb_bench_use_real_time(b);

	gb_register("BM_skip_before", bm_skip_before, NULL);
	gb_register("BM_skip_inside", bm_skip_inside, NULL);
	gb_register("BM_skip_unbatched", bm_skip_unbatched, NULL);
	gb_register("BM_skip_ok", bm_skip_ok, NULL);

	b = gb_register("BM_bar_memset", bm_bar_memset, NULL);
	gb_bench_arg(b, 4096);
	gb_bench_arg(b, 65536);
	b = gb_register("BM_bar_memset_nobarrier", bm_bar_memset_nobarrier, NULL);
	gb_bench_arg(b, 4096);
	gb_bench_arg(b, 65536);
	b = gb_register("BM_bar_lcg", bm_bar_lcg, NULL);
	gb_bench_arg(b, 64);
	gb_bench_arg(b, 1024);
	b = gb_register("BM_bar_lcg_nobarrier", bm_bar_lcg_nobarrier, NULL);
	gb_bench_arg(b, 64);
	gb_bench_arg(b, 1024);
}

/* Exit status 3: a fixture or skip invariant broke (the JSON cannot say). */
static int child_main(int argc, char **argv)
{
	/* Drop CHILD_FLAG so that Google Benchmark sees only its flags. */
	argv[1] = argv[0];
	argc--;
	argv++;

	gb_initialize(&argc, argv);
	if (gb_report_unrecognized(argc, argv))
		return 2;
	gb_add_context("gbshim_test_context", "ctx-ok");
	gb_add_context("gbench_library_build_type", gb_library_build_type());
	register_all();
	gb_run_specified();
	gb_shutdown();

	int bad = 0;
	if (atomic_load(&the_fix.setups) != atomic_load(&the_fix.teardowns) ||
	    atomic_load(&the_fix.bad) || atomic_load(&the_fix.ready)) {
		fprintf(stderr, "fixture: setups=%d teardowns=%d bad=%d ready=%d\n",
			atomic_load(&the_fix.setups), atomic_load(&the_fix.teardowns),
			atomic_load(&the_fix.bad), atomic_load(&the_fix.ready));
		bad = 1;
	}
	if (atomic_load(&skip_flag_bad)) {
		fprintf(stderr, "gb_error_occurred() was false after gb_skip_with_error()\n");
		bad = 1;
	}
	return bad ? 3 : 0;
}

/* ==== parent side: run a child, read its reports ========================= */

struct child_out {
	json_t *root;		/* the --benchmark_out JSON */
	char *console;		/* the child's stdout (console reporter) */
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	char *s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

/*
 * Run this program in child mode with `filter` and extra benchmark flags
 * (NULL-terminated), assert it exited 0, and return its reports.
 */
static struct child_out run_child(const char *filter, ...)
{
	char json_path[] = "/tmp/gbshim-json-XXXXXX";
	char out_path[] = "/tmp/gbshim-out-XXXXXX";
	int jfd = mkstemp(json_path), ofd = mkstemp(out_path);
	assert_true(jfd >= 0 && ofd >= 0);
	close(jfd);

	char filter_arg[256], out_arg[256];
	snprintf(filter_arg, sizeof(filter_arg), "--benchmark_filter=%s", filter);
	snprintf(out_arg, sizeof(out_arg), "--benchmark_out=%s", json_path);

	const char *args[32] = {
		"/proc/self/exe", CHILD_FLAG, filter_arg, out_arg,
		"--benchmark_out_format=json", "--benchmark_min_time=0.01",
		"--benchmark_color=false", "--benchmark_counters_tabular=false",
	};
	size_t n = 8;
	va_list ap;
	va_start(ap, filter);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < 31;)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;

	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(ofd, STDOUT_FILENO);
		execv("/proc/self/exe", (char *const *)args);
		_exit(127);
	}
	close(ofd);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);

	struct child_out co = { 0 };
	co.console = slurp(out_path);
	printf("---- child %s ----\n%s---- end child ----\n", filter, co.console);
	unlink(out_path);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		unlink(json_path);
		fail_msg("child %s: status 0x%x (exit 3: fixture/skip invariant broke)",
			 filter, status);
	}

	json_error_t err;
	co.root = json_load_file(json_path, 0, &err);
	unlink(json_path);
	if (!co.root)
		fail_msg("child %s: JSON: %s at line %d", filter, err.text, err.line);
	return co;
}

static void child_out_free(struct child_out *co)
{
	json_decref(co->root);
	free(co->console);
}

/* The report named `name` (an iteration, or an aggregate by full name). */
static json_t *find_run(json_t *root, const char *name)
{
	json_t *benches = json_object_get(root, "benchmarks"), *b;
	size_t i;

	assert_true(json_is_array(benches));
	json_array_foreach(benches, i, b) {
		const char *n = json_string_value(json_object_get(b, "name"));
		if (n && strcmp(n, name) == 0)
			return b;
	}
	fail_msg("no report named %s", name);
	return NULL;
}

static double num(json_t *b, const char *key)
{
	json_t *v = json_object_get(b, key);
	if (!json_is_number(v))
		fail_msg("%s: no number \"%s\"",
			 json_string_value(json_object_get(b, "name")), key);
	return json_number_value(v);
}

static const char *str(json_t *b, const char *key)
{
	json_t *v = json_object_get(b, key);
	if (!json_is_string(v))
		fail_msg("%s: no string \"%s\"",
			 json_string_value(json_object_get(b, "name")), key);
	return json_string_value(v);
}

static void assert_near(double got, double want, double rel, const char *what)
{
	if (!(fabs(got - want) <= rel * fabs(want)))
		fail_msg("%s: got %.9g, want %.9g (rel %.1g)", what, got, want, rel);
}

/* Time unit multiplier to seconds. */
static double unit_s(json_t *b)
{
	const char *u = str(b, "time_unit");
	if (!strcmp(u, "ns")) return 1e-9;
	if (!strcmp(u, "us")) return 1e-6;
	if (!strcmp(u, "ms")) return 1e-3;
	if (!strcmp(u, "s")) return 1.0;
	fail_msg("time_unit %s", u);
	return 0;
}

/* ==== cases ============================================================== */

static void test_register(void **state)
{
	(void)state;
	struct child_out co = run_child("^BM_reg_", NULL);
	json_t *ctx = json_object_get(co.root, "context");

	/* Context: ours, and the library build type under both names. */
	assert_string_equal(str(ctx, "gbshim_test_context"), "ctx-ok");
	assert_string_equal(str(ctx, "gbench_library_build_type"),
			    str(ctx, "library_build_type"));

	/* Every feature of a plain C body. */
	json_t *b = find_run(co.root, "BM_reg_basic/real_time");
	assert_false(json_is_true(json_object_get(b, "error_occurred")));
	assert_string_equal(str(b, "label"), "label-ok");
	double it = num(b, "iterations"), secs = num(b, "real_time") * unit_s(b) * it;
	assert_true(it >= 1 && secs > 0);
	assert_near(num(b, "iterations_seen"), it, 0, "iterations_seen");
	assert_near(num(b, "user_ok"), 1, 0, "user data reaches the body");
	assert_near(num(b, "plain"), 42, 0, "plain counter");
	assert_near(num(b, "per_iter"), 3 * it, 1e-9, "kIsIterationInvariant");
	assert_near(num(b, "avg_iter"), 5, 1e-9, "kAvgIterations");
	assert_near(num(b, "rate"), 1000 / secs, 1e-3, "kIsRate");
	assert_near(num(b, "bytes_per_second"), 4096 * it / secs, 1e-3, "bytes_per_second");
	assert_near(num(b, "items_per_second"), 3 * it / secs, 1e-3, "items_per_second");
	/* OneK only changes how the console prints it: 2048 is 2k, not 2.048k. */
	assert_near(num(b, "kib"), 2048, 0, "kib");
	assert_non_null(strstr(co.console, " kib=2k "));
	assert_non_null(strstr(co.console, " kilo=2.048k "));

	/* Fixture with two threads: run-wide setup saw the args, kAvgThreads. */
	b = find_run(co.root, "BM_reg_fixture/7/9/threads:2");
	assert_near(num(b, "threads"), 2, 0, "threads");
	assert_near(num(b, "fixture_ok"), 2, 0, "fixture ready in both threads");
	assert_near(num(b, "avg"), 10, 0, "kAvgThreads");

	/* Manual time: what the body said, not what the clock said. */
	b = find_run(co.root, "BM_reg_manual/manual_time");
	assert_near(num(b, "real_time") * unit_s(b), 2e-6, 1e-6, "manual time");

	/* Repetitions and the p95/max statistics, in us. */
	json_t *benches = json_object_get(co.root, "benchmarks"), *r;
	double v[3], mx = 0;
	size_t i, nrep = 0;
	json_array_foreach(benches, i, r) {
		if (strcmp(str(r, "run_name"), "BM_reg_stats/repeats:3") ||
		    strcmp(str(r, "run_type"), "iteration"))
			continue;
		assert_true(nrep < 3);
		assert_string_equal(str(r, "time_unit"), "us");
		v[nrep] = num(r, "real_time");
		mx = nrep == 0 || v[nrep] > mx ? v[nrep] : mx;
		nrep++;
	}
	assert_int_equal(nrep, 3);
	b = find_run(co.root, "BM_reg_stats/repeats:3_max");
	assert_string_equal(str(b, "aggregate_name"), "max");
	assert_near(num(b, "real_time"), mx, 1e-6, "max aggregate");
	b = find_run(co.root, "BM_reg_stats/repeats:3_p95");
	assert_string_equal(str(b, "aggregate_name"), "p95");
	assert_near(num(b, "real_time"), gb_stat_p95(v, 3), 1e-6, "p95 aggregate");
	find_run(co.root, "BM_reg_stats/repeats:3_mean");

	child_out_free(&co);
}

static void test_stat_helpers_values(void)
{
	const double a[] = { 5, 1, 3, 2, 4 };	/* sorted: 1 2 3 4 5 */
	/* h = 0.95 * 4 = 3.8: 4 + 0.8 * (5 - 4) */
	assert_near(gb_stat_p95(a, 5), 4.8, 1e-12, "p95 of 1..5");
	assert_near(gb_stat_max(a, 5), 5, 0, "max of 1..5");
	const double one[] = { 7 };
	assert_near(gb_stat_p95(one, 1), 7, 0, "p95 of one value");
}

struct expect_name {
	const char *name;
	int64_t arg[2];
	int nargs;
};

static void test_ranges(void **state)
{
	(void)state;
	test_stat_helpers_values();
	struct child_out co = run_child("^BM_rng_", NULL);
	static const struct expect_name want[] = {
		{ "BM_rng_sq/size:4096/qd:32", { 4096, 32 }, 2 },
		{ "BM_rng_sq/size:16384/qd:32", { 16384, 32 }, 2 },
		{ "BM_rng_sq/size:4096/qd:64", { 4096, 64 }, 2 },
		{ "BM_rng_sq/size:16384/qd:64", { 16384, 64 }, 2 },
		{ "BM_rng_dense/n:1", { 1 }, 1 },
		{ "BM_rng_dense/n:4", { 4 }, 1 },
		{ "BM_rng_dense/n:7", { 7 }, 1 },
		{ "BM_rng_args/a:1/b:2", { 1, 2 }, 2 },
		{ "BM_rng_args/a:3/b:4", { 3, 4 }, 2 },
		{ "BM_rng_arg/5", { 5 }, 1 },
		{ "BM_rng_arg/6", { 6 }, 1 },
		{ "BM_rng_range/len:8", { 8 }, 1 },
		{ "BM_rng_range/len:64", { 64 }, 1 },
		{ "BM_rng_range/len:512", { 512 }, 1 },
		{ "BM_rng_thr/x:3/real_time/threads:2", { 3 }, 1 },
	};
	const size_t nwant = sizeof(want) / sizeof(want[0]);

	/* Exactly these runs, no more: ranges expand as Google Benchmark's do. */
	json_t *benches = json_object_get(co.root, "benchmarks"), *b;
	size_t i;
	assert_int_equal(json_array_size(benches), nwant);
	json_array_foreach(benches, i, b) {
		const char *n = str(b, "name");
		size_t k;
		for (k = 0; k < nwant && strcmp(want[k].name, n); k++)
			;
		if (k == nwant)
			fail_msg("unexpected run %s", n);
		for (int a = 0; a < want[k].nargs; a++) {
			char key[16];
			snprintf(key, sizeof(key), "arg%d", a);
			if (num(b, key) != (double)want[k].arg[a])
				fail_msg("%s: gb_range(%d) = %g, want %" PRId64, n, a,
					 num(b, key), want[k].arg[a]);
		}
	}
	child_out_free(&co);
}

static void test_skip(void **state)
{
	(void)state;
	struct child_out co = run_child("^BM_skip_", NULL);
	static const struct { const char *name, *msg; } errs[] = {
		{ "BM_skip_before", "skip-before: no device" },
		{ "BM_skip_inside", "skip-inside: fence timeout" },
		{ "BM_skip_unbatched", "skip-unbatched: lost context" },
	};

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		json_t *b = find_run(co.root, errs[i].name);
		if (!json_is_true(json_object_get(b, "error_occurred")))
			fail_msg("%s: not reported as an error", errs[i].name);
		assert_string_equal(str(b, "error_message"), errs[i].msg);
		/* An error is not a result: no counters, no time. */
		assert_near(num(b, "real_time"), 0, 0, "time of an error");
	}
	/* And the run goes on after errors. */
	json_t *b = find_run(co.root, "BM_skip_ok");
	assert_false(json_is_true(json_object_get(b, "error_occurred")));
	assert_true(num(b, "iterations") >= 1);
	child_out_free(&co);
}

/* Fastest of the repetitions of `name`, in seconds per iteration. */
static double best_time(json_t *root, const char *name)
{
	json_t *benches = json_object_get(root, "benchmarks"), *b;
	double best = INFINITY;
	size_t i;

	json_array_foreach(benches, i, b) {
		if (strcmp(str(b, "run_name"), name) || strcmp(str(b, "run_type"), "iteration"))
			continue;
		double t = num(b, "cpu_time") * unit_s(b);
		best = t < best ? t : best;
	}
	if (!isfinite(best))
		fail_msg("no runs of %s", name);
	return best;
}

static void test_barrier(void **state)
{
	(void)state;
#ifndef __OPTIMIZE__
	fail_msg("test_gbshim built without optimisation: GBSHIM-BARRIER would prove nothing");
#endif
	struct child_out co = run_child("^BM_bar_", "--benchmark_repetitions=3", NULL);
	static const struct { const char *small, *big, *ctl_small, *ctl_big; } pairs[] = {
		{ "BM_bar_memset/4096", "BM_bar_memset/65536",
		  "BM_bar_memset_nobarrier/4096", "BM_bar_memset_nobarrier/65536" },
		{ "BM_bar_lcg/64", "BM_bar_lcg/1024",
		  "BM_bar_lcg_nobarrier/64", "BM_bar_lcg_nobarrier/1024" },
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		double s = best_time(co.root, pairs[i].small), l = best_time(co.root, pairs[i].big);
		double cs = best_time(co.root, pairs[i].ctl_small);
		double cl = best_time(co.root, pairs[i].ctl_big);
		printf("%s: %.3f ns, %s: %.3f ns, ratio %.1f (16x the work); "
		       "without barrier: %.3f ns, %.3f ns, ratio %.1f\n",
		       pairs[i].small, s * 1e9, pairs[i].big, l * 1e9, l / s,
		       cs * 1e9, cl * 1e9, cl / cs);
		/* Deleted work takes the same (tiny) time whatever its size. */
		if (!(l > 4 * s))
			fail_msg("%s: 16x the work took %.2fx the time: the body was "
				 "optimised away despite gb_do_not_optimize", pairs[i].big, l / s);
	}
	child_out_free(&co);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], CHILD_FLAG) == 0)
		return child_main(argc, argv);

	const struct CMUnitTest cases[] = {
		VT_CASE("GBSHIM-REGISTER", test_register),
		VT_CASE("GBSHIM-RANGES", test_ranges),
		VT_CASE("GBSHIM-SKIP", test_skip),
		VT_CASE("GBSHIM-BARRIER", test_barrier),
	};
	return VT_MAIN("gbshim", cases);
}
