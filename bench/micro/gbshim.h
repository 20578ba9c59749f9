/* SPDX-License-Identifier: MIT */
/*
 * gbshim.h - a C API over Google Benchmark (libbenchmark 1.7.1).
 *
 * Owns: the C view of Google Benchmark: registering C benchmark functions
 * with user data, their argument lists, threads, repetitions, fixtures and
 * statistics; the running-state operations (loop, timing, counters, errors);
 * the optimisation barrier for C benchmark bodies; run-wide context entries.
 * Must not: depend on vidmm (core/, drivers/) or on anything C++ in this
 * header; the only C++ lives in gbshim.cc, so C code never needs a C++
 * compiler beyond that one file.
 *
 * Naming: gb_bench_*() configure a registered benchmark and must be called
 * before gb_run_specified(); the gb_*() taking a gb_state are used by a
 * running benchmark function, from the thread that got that state.
 *
 * A minimal benchmark:
 *
 *	static void bm_fill(gb_state *st, void *user)
 *	{
 *		size_t n = (size_t)gb_range(st, 0);
 *		char *buf = user;
 *
 *		GB_FOR(st) {
 *			memset(buf, 0x5a, n);
 *			gb_do_not_optimize(buf);
 *		}
 *		gb_set_bytes_processed(st, gb_iterations(st) * (int64_t)n);
 *	}
 *
 *	gb_bench *b = gb_register("BM_fill", bm_fill, buf);
 *	gb_bench_range(b, 64, 64 << 10);
 *	gb_bench_arg_name(b, "size");
 */
#ifndef VIDMM_GBSHIM_H
#define VIDMM_GBSHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A registered benchmark (a family: one per gb_register call). */
typedef struct gb_bench gb_bench;
/* The state of one running thread of one benchmark run. */
typedef struct gb_state gb_state;

/* The benchmark body; `user` is the pointer given at registration. */
typedef void (*gb_fn)(gb_state *st, void *user);

/* What a fixture callback knows about the run it prepares or ends. */
struct gb_run {
	const int64_t *args;	/* the run's arguments, args[0..nargs) */
	int nargs;		/* 0 when the benchmark has no arguments */
	int threads;		/* threads that run the body concurrently */
};

/* Per-run setup/teardown; `user` is the pointer given at registration. */
typedef void (*gb_fixture_fn)(const struct gb_run *run, void *user);

/* Values equal benchmark::TimeUnit. */
enum gb_time_unit { GB_NS = 0, GB_US = 1, GB_MS = 2, GB_S = 3 };

/*
 * Counter flags; GB_COUNTER_RATE..GB_COUNTER_INVERT equal
 * benchmark::Counter::Flags. GB_COUNTER_1024 selects OneK::kIs1024 (the
 * console prints 1Ki instead of 1.024k; JSON values are unaffected).
 */
enum gb_counter_flags {
	GB_COUNTER_DEFAULT = 0,
	GB_COUNTER_RATE = 1 << 0,		/* divided by the run's seconds */
	GB_COUNTER_AVG_THREADS = 1 << 1,	/* divided by the thread count */
	GB_COUNTER_ITER_INVARIANT = 1 << 2,	/* per iteration: times iterations */
	GB_COUNTER_AVG_ITERATIONS = 1 << 3,	/* divided by iterations */
	GB_COUNTER_1024 = 1 << 16,		/* k = 1024 when printed */
	GB_COUNTER_INVERT = (int)(1u << 31),	/* 1/x, applied last */
};

/* Values equal benchmark::StatisticUnit. */
enum gb_stat_unit { GB_STAT_TIME = 0, GB_STAT_PERCENT = 1 };

/* A statistic over the repetitions of a run: n >= 2 values, any order. */
typedef double (*gb_stat_fn)(const double *v, size_t n);

/* An inclusive [lo, hi] argument range for gb_bench_ranges(). */
struct gb_range { int64_t lo, hi; };

/* ---- process ---------------------------------------------------------- */

/*
 * Parse and remove every --benchmark_* flag (and --v, --help) from argv, as
 * benchmark::Initialize does. Call once per process, before
 * gb_run_specified(); later calls do nothing.
 */
void gb_initialize(int *argc, char **argv);

/*
 * Print arguments left in argv after gb_initialize() as unrecognized.
 * Returns true when there was at least one (argc > 1).
 */
bool gb_report_unrecognized(int argc, char **argv);

/*
 * Run every registered benchmark that --benchmark_filter selects, reporting
 * through the reporters the flags chose. Returns the number of benchmarks
 * that matched.
 */
size_t gb_run_specified(void);

/* Release what gb_initialize() and the registrations hold. */
void gb_shutdown(void);

/*
 * Add a key/value entry to the "context" of every report (console header,
 * JSON "context"). Call before gb_run_specified(); a key that exists is kept
 * and Google Benchmark warns on stderr.
 */
void gb_add_context(const char *key, const char *value);

/* gb_add_context() with a printf-formatted value. */
void gb_add_contextf(const char *key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * "debug" or "release": how libbenchmark itself was compiled, read from the
 * library's own JSON context ("library_build_type"); "unknown" if absent.
 * Debian's 1.7.1 is a debug build: its own loop costs more than upstream's.
 * Any time, before or after gb_initialize(); the string is static.
 */
const char *gb_library_build_type(void);

/* Default time unit of benchmarks that do not set one with gb_bench_unit(). */
void gb_set_default_time_unit(enum gb_time_unit unit);

/* ---- registration ----------------------------------------------------- */

/*
 * Register `fn` under `name` (not NULL; copied); it is called with `user`
 * for every thread of every run. Google Benchmark owns the benchmark until
 * the process exits. Never returns NULL.
 */
gb_bench *gb_register(const char *name, gb_fn fn, void *user);

/*
 * Call `setup` before and `teardown` after each run, once per run whatever
 * the thread count, with the user pointer of gb_register() and the run's
 * arguments. Either may be NULL. Unlike benchmark::Benchmark::Setup (a bare
 * function pointer in 1.7.1), these get user data. They run outside the
 * timed region; for a threaded run, setup ends before any thread enters its
 * loop and teardown starts after every thread has returned.
 */
void gb_bench_fixture(gb_bench *b, gb_fixture_fn setup, gb_fixture_fn teardown);

/* Add one run with a single argument. */
void gb_bench_arg(gb_bench *b, int64_t x);
/* Add one run with n arguments (n equal for every run of a benchmark). */
void gb_bench_args(gb_bench *b, const int64_t *args, size_t n);
/* Add runs for start, powers of the range multiplier between, and limit. */
void gb_bench_range(gb_bench *b, int64_t start, int64_t limit);
/* Add the cartesian product of n gb_bench_range()-style ranges. */
void gb_bench_ranges(gb_bench *b, const struct gb_range *r, size_t n);
/* Multiplier of later gb_bench_range/ranges() calls (default 8); >= 2. */
void gb_bench_range_multiplier(gb_bench *b, int multiplier);
/* Add a run for every start + k * step up to limit (limit always). */
void gb_bench_dense_range(gb_bench *b, int64_t start, int64_t limit, int step);
/* Name the only argument: runs are named "BM_x/<name>:<value>". */
void gb_bench_arg_name(gb_bench *b, const char *name);
/* Name n arguments: "BM_x/<name0>:<v0>/<name1>:<v1>". */
void gb_bench_arg_names(gb_bench *b, const char *const *names, size_t n);

/* Run the body in t threads at once (each gets its own gb_state). */
void gb_bench_threads(gb_bench *b, int t);
/* Run once for min, powers of 2 between, and max threads. */
void gb_bench_thread_range(gb_bench *b, int min_threads, int max_threads);
/* Repeat each run n times (overrides --benchmark_repetitions). */
void gb_bench_repetitions(gb_bench *b, int n);
/* Report only the aggregates of repetitions, not every repetition. */
void gb_bench_report_aggregates_only(gb_bench *b, bool only);
/* Report times in `unit`. */
void gb_bench_unit(gb_bench *b, enum gb_time_unit unit);
/* Minimum seconds per run (overrides --benchmark_min_time). */
void gb_bench_min_time(gb_bench *b, double seconds);
/* Exactly n iterations per run, for when iteration control is needed. */
void gb_bench_iterations(gb_bench *b, int64_t n);
/* Time with the wall clock instead of the CPU time of thread 0. */
void gb_bench_use_real_time(gb_bench *b);
/*
 * Time with gb_set_iteration_time() only, e.g. from GPU fence timestamps;
 * the body must then call it once per iteration.
 */
void gb_bench_use_manual_time(gb_bench *b);
/* Measure the CPU time of the whole process, not only the running thread. */
void gb_bench_measure_process_cpu_time(gb_bench *b);

/*
 * Add an aggregate `name` over the repetitions (time, and every counter),
 * computed by `fn`. At most 64 distinct functions per process (one static
 * trampoline each, since 1.7.1's StatisticsFunc takes no user data); the
 * same function on many benchmarks uses one. Returns false when full.
 */
bool gb_bench_statistics(gb_bench *b, const char *name, gb_stat_fn fn,
			 enum gb_stat_unit unit);

/* 95th percentile, linearly interpolated between closest ranks. */
double gb_stat_p95(const double *v, size_t n);
/* Largest value. */
double gb_stat_max(const double *v, size_t n);

/* ---- a running benchmark ---------------------------------------------- */

/*
 * Start the next single iteration; false when the loop is over. One call
 * through the shim per iteration (~1 ns): prefer GB_FOR.
 */
bool gb_keep_running(gb_state *st);

/*
 * Start the next n iterations; false when the loop is over. May overshoot
 * the planned iteration count by up to n - 1; the reported count and time
 * include the overshoot.
 */
bool gb_keep_running_batch(gb_state *st, int64_t n);

/*
 * Number of iterations to run back to back now, 0 when the loop is over:
 * the whole run in one batch, as benchmark.h's range-for does. Used by
 * GB_FOR.
 */
int64_t gb_next_batch(gb_state *st);

/*
 * The benchmark loop: costs what a counted C loop costs, with one shim
 * call per run instead of per iteration. Leave it early only after
 * gb_skip_with_error(), with break (the loop then ends).
 */
#define GB_FOR(st)                                                          \
	for (int64_t gb__left_ = 0; (gb__left_ = gb_next_batch(st)) > 0;) \
		for (; gb__left_ > 0; gb__left_--)

/* Stop/restart the timer around work that must not count (~100s of ns). */
void gb_pause_timing(gb_state *st);
void gb_resume_timing(gb_state *st);

/*
 * Report the run as an error ("error_occurred": true, "error_message")
 * instead of a result. The loop ends at its next check: break out of
 * GB_FOR, or return if the loop has not started.
 */
void gb_skip_with_error(gb_state *st, const char *msg);
/* True once gb_skip_with_error() was called on this state. */
bool gb_error_occurred(const gb_state *st);

/* The manually measured seconds of this iteration (gb_bench_use_manual_time). */
void gb_set_iteration_time(gb_state *st, double seconds);

/* A label printed with the run's result; copied. */
void gb_set_label(gb_state *st, const char *label);
/* Bytes processed by the whole run: reported as bytes_per_second. */
void gb_set_bytes_processed(gb_state *st, int64_t bytes);
/* Items processed by the whole run: reported as items_per_second. */
void gb_set_items_processed(gb_state *st, int64_t items);

/*
 * Set counter `name` of this thread to `value` (gb_counter_flags or'ed).
 * Threads' values are summed before the flags apply.
 */
void gb_counter_set(gb_state *st, const char *name, double value, int flags);

/* Argument i of this run (i < number of arguments). */
int64_t gb_range(const gb_state *st, size_t i);
/* Threads running this benchmark run. */
int gb_threads(const gb_state *st);
/* This thread's index in [0, gb_threads()). */
int gb_thread_index(const gb_state *st);
/* Iterations run so far by this thread (all of them after the loop). */
int64_t gb_iterations(const gb_state *st);
/* Iterations this thread was asked to run. */
int64_t gb_max_iterations(const gb_state *st);

/* ---- optimisation barrier --------------------------------------------- */

/*
 * The asm benchmark::DoNotOptimize and ClobberMemory use (GCC and Clang),
 * inline so that they cost nothing. Without them, a C body whose results
 * are never read is deleted by the optimiser and "measures" ~0.1 ns.
 */
#if !defined(__GNUC__)
#error "gbshim.h needs GNU inline asm (GCC or Clang)"
#endif

#if defined(__clang__)
#define GB__DNO_CONSTRAINT "+r,m"
#else
#define GB__DNO_CONSTRAINT "+m,r"
#endif

#ifdef __cplusplus
#define GB__AUTO auto
#else
#define GB__AUTO __auto_type
#endif

/*
 * Make the compiler assume `x` (any scalar value or pointer expression) is
 * read and modified here, and that all memory reachable from a pointer may
 * be read or written: so the computation of x, and stores to what a pointer
 * x points at, must happen. For a struct or array, pass its address.
 */
#define gb_do_not_optimize(x)                                              \
	do {                                                               \
		GB__AUTO gb__dno_ = (x);                                   \
		__asm__ __volatile__("" : GB__DNO_CONSTRAINT(gb__dno_) : : "memory"); \
	} while (0)

/* Force pending stores to memory to be done, and memory to be re-read. */
static inline __attribute__((always_inline)) void gb_clobber_memory(void)
{
	__asm__ __volatile__("" : : : "memory");
}

#ifdef __cplusplus
}
#endif

#endif
