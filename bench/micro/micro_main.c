/* SPDX-License-Identifier: MIT */
/*
 * micro_main.c - main of vidmm-micro, the Google Benchmark microbenchmarks.
 *
 * Owns: the command line (every --benchmark_* flag goes to Google Benchmark
 * unchanged), the run-wide context entries, and calling the registration
 * function of every file listed in micro.h.
 * Must not: register benchmarks itself, or parse flags of its own: results
 * must be reproducible with stock Google Benchmark flags.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gbshim.h"
#include "micro.h"
#include "vidmm_version.h"

/*
 * Whether this machine lets us count CPU cycles: without it, any
 * cycles-based figure in the run is missing or comes from elsewhere.
 * (Debian's libbenchmark is built without libpfm, so its own
 * --benchmark_perf_counters does not work either way.)
 */
static void add_hw_counters_context(void)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_HARDWARE;
	a.size = sizeof(a);
	a.config = PERF_COUNT_HW_CPU_CYCLES;
	a.disabled = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;

	long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	if (fd >= 0) {
		close((int)fd);
		gb_add_context("hw_counters", "yes (perf_event_open cycles)");
	} else {
		gb_add_contextf("hw_counters", "no (perf_event_open: %s)", strerror(errno));
	}
}

/* io_uring availability and kernel features; files add the flags they use. */
static void add_io_uring_context(void)
{
	struct io_uring ring;
	int r = io_uring_queue_init(2, &ring, 0);

	if (r == 0) {
		gb_add_contextf("io_uring", "yes (features=0x%x)", ring.features);
		io_uring_queue_exit(&ring);
	} else {
		gb_add_contextf("io_uring", "no (%s)", strerror(-r));
	}
}

static void add_context(void)
{
	gb_add_context("vidmm_version", VIDMM_VERSION);
	gb_add_context("vidmm_git_rev", VIDMM_GIT_REV);
#ifdef GB_LIBRARY_VERSION
	gb_add_context("gbench_library_version", GB_LIBRARY_VERSION);
#endif
	/*
	 * Google Benchmark puts this in its JSON context only as
	 * "library_build_type" and the console only warns; a debug library
	 * (Debian's) makes its own loop and State slower, so every report
	 * carries it under an explicit name.
	 */
	gb_add_context("gbench_library_build_type", gb_library_build_type());
	gb_add_context("compiler", __VERSION__);
	gb_add_context("shim_loop",
		       "GB_FOR: one KeepRunningBatch(max_iterations) per run; "
		       "empty-loop cost: BM_shim/empty_*");
	add_hw_counters_context();
	add_io_uring_context();
}

int main(int argc, char **argv)
{
	gb_initialize(&argc, argv);
	if (gb_report_unrecognized(argc, argv))
		return 1;

	add_context();

#define MICRO_CALL(x) micro_##x##_register();
	MICRO_BENCHES(MICRO_CALL)
#undef MICRO_CALL

	gb_run_specified();
	gb_shutdown();
	return 0;
}
