/* SPDX-License-Identifier: MIT */
/*
 * test_micro.c - MICRO-SMOKE: every microbenchmark family of vidmm-micro
 * (bench/micro/micro_{heap,gart,mmu,residency,fence,swap}.c) runs, with every argument,
 * and reports sane results in Google Benchmark's JSON.
 *
 * Owns: that one check. Must not: judge performance (the machine is shared
 * and CI is noisy); only that each run happened, did not report an error,
 * processed > 0 items or bytes per second, and that the counters which are
 * exact by construction are exact (invalidations per GART map/unmap, one
 * eviction per LRU create).
 *
 * vidmm-micro's path comes from meson in VIDMM_MICRO. It runs with
 * --benchmark_min_time=0.001 (seconds, as Google Benchmark 1.7.1 reads it),
 * so each run is a handful of iterations: a few seconds in all.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vt.h"

/* Every family, the number of runs it registers, and its rate field. */
static const struct family {
	const char *name;
	int runs;
	const char *rate; /* items_per_second or bytes_per_second */
} families[] = {
	{ "BM_heap_pair", 18, "items_per_second" },         /* 3 live x 2 frag x 3 modes */
	{ "BM_heap_baseline_pair", 6, "items_per_second" }, /* 3 live x 2 frag */
	{ "BM_gart_map_unmap", 14, "items_per_second" },    /* 7 sizes x batch 0/1 */
	{ "BM_gart_segmem", 14, "items_per_second" },
	{ "BM_emu_mmu_translate", 20, "items_per_second" }, /* 5 sizes x warm/cold x check */
	{ "BM_residency_evict_lru", 5, "items_per_second" },
	{ "BM_residency_page_out", 6, "bytes_per_second" }, /* 3 sizes x 2 modes */
	{ "BM_residency_page_in", 6, "bytes_per_second" },
	{ "BM_residency_memcpy", 3, "bytes_per_second" },
	{ "BM_fence_signal_to_wake", 1, "items_per_second" },
	{ "BM_fence_submit", 7, "items_per_second" },       /* 1, 2, 4, ..., 64 */
	{ "BM_swap_out", 6, "bytes_per_second" },           /* 2 sizes x qd 1/8/32 */
	{ "BM_swap_in", 6, "bytes_per_second" },
	{ "BM_swap_raw_write", 6, "bytes_per_second" },
	{ "BM_swap_raw_read", 6, "bytes_per_second" },
};
#define NFAM (sizeof(families) / sizeof(families[0]))

static const char *const filter =
	"--benchmark_filter=^BM_(heap|gart|emu_mmu|residency|fence|swap)_";

/* Run vidmm-micro with the smoke flags, writing JSON to out. Exit status. */
static int run_micro(const char *exe, const char *out)
{
	char out_arg[512];
	pid_t pid;
	int status;

	snprintf(out_arg, sizeof(out_arg), "--benchmark_out=%s", out);
	const char *argv[] = {
		exe, filter, "--benchmark_min_time=0.001", out_arg,
		"--benchmark_out_format=json", NULL,
	};
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status))
		return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return WEXITSTATUS(status);
}

static double num(json_t *b, const char *key)
{
	json_t *v = json_object_get(b, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The family of a run: its name up to the first '/'. */
static const struct family *family_of(const char *name, size_t *idx)
{
	size_t len = strcspn(name, "/");

	for (size_t i = 0; i < NFAM; i++)
		if (strlen(families[i].name) == len && !strncmp(name, families[i].name, len)) {
			*idx = i;
			return &families[i];
		}
	return NULL;
}

/* The value of argument "<key>:<v>" in a run name, or -1. */
static long long arg_of(const char *name, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "/%s:", key);
	p = strstr(name, pat);
	return p ? atoll(p + strlen(pat)) : -1;
}

static void test_smoke(void **state)
{
	(void)state;
	const char *exe = getenv("VIDMM_MICRO");
	char out[] = "/tmp/vidmm-micro-smoke-XXXXXX";
	int counts[NFAM] = { 0 };
	json_error_t jerr;
	json_t *root, *arr, *b;
	size_t i;
	int fd, rc;

	if (!exe || !*exe) {
		print_message("VIDMM_MICRO is not set (meson sets it to vidmm-micro's path)\n");
		fail();
	}
	fd = mkstemp(out);
	assert_true(fd >= 0);
	close(fd);

	rc = run_micro(exe, out);
	if (rc != 0)
		print_message("%s exited with %d\n", exe, rc);
	assert_int_equal(rc, 0);

	root = json_load_file(out, 0, &jerr);
	unlink(out);
	if (!root)
		print_message("JSON: %s (line %d)\n", jerr.text, jerr.line);
	assert_non_null(root);
	assert_true(json_is_object(json_object_get(root, "context")));
	arr = json_object_get(root, "benchmarks");
	assert_true(json_is_array(arr));

	json_array_foreach(arr, i, b) {
		const char *name = json_string_value(json_object_get(b, "name"));
		const struct family *f;
		size_t fi = 0;

		assert_non_null(name);
		f = family_of(name, &fi);
		if (!f)
			continue; /* another file's benchmark the filter also matched */
		if (json_is_true(json_object_get(b, "error_occurred"))) {
			print_message("%s: error: %s\n", name,
				      json_string_value(json_object_get(b, "error_message")));
			fail();
		}
		double rate = num(b, f->rate), it = num(b, "iterations"), t = num(b, "real_time");
		if (!(rate > 0 && isfinite(rate) && it >= 1 && t > 0 && isfinite(t))) {
			print_message("%s: %s=%g iterations=%g real_time=%g\n", name, f->rate, rate,
				      it, t);
			fail();
		}
		counts[fi]++;

		/* Exact by construction. */
		if (!strcmp(f->name, "BM_gart_map_unmap")) {
			long long pages = arg_of(name, "pages"), batch = arg_of(name, "batch");
			double inv = num(b, "invalidations_per_iter");
			double want = batch ? 2.0 : 2.0 * (double)pages;
			if (inv != want) {
				print_message("%s: %g invalidations per map+unmap, want %g\n", name,
					      inv, want);
				fail();
			}
			assert_true(num(b, "PTEs") > 0);
		} else if (!strcmp(f->name, "BM_residency_evict_lru")) {
			if (num(b, "evictions_per_iter") != 1.0) {
				print_message("%s: %g evictions per create, want 1\n", name,
					      num(b, "evictions_per_iter"));
				fail();
			}
		} else if (!strcmp(f->name, "BM_emu_mmu_translate")) {
			assert_true(num(b, "translations") > 0);
		} else if (!strcmp(f->name, "BM_heap_pair") ||
			   !strcmp(f->name, "BM_heap_baseline_pair")) {
			/* frag:0 leaves one hole (the tail); frag:50 one per live range. */
			long long live = arg_of(name, "live"), frag = arg_of(name, "frag");
			double holes = num(b, "holes");
			if (holes != (frag ? (double)live : 1.0)) {
				print_message("%s: %g holes\n", name, holes);
				fail();
			}
		}
	}
	for (i = 0; i < NFAM; i++) {
		if (counts[i] != families[i].runs)
			print_message("%s: %d runs reported, want %d\n", families[i].name, counts[i],
				      families[i].runs);
		assert_int_equal(counts[i], families[i].runs);
	}
	json_decref(root);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("MICRO-SMOKE", test_smoke),
	};
	return VT_MAIN("micro", cases);
}
