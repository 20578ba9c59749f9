/* SPDX-License-Identifier: MIT */
/*
 * vt.h - small helpers shared by the cmocka test programs.
 *
 * Owns: naming test cases exactly as the issues name them (so meson can run
 * one case per registered test), seeds that are printed and replayable, and
 * the standard emulated-GPU + manager fixture.
 * Must not: contain assertions of its own about vidmm behaviour.
 *
 * Each test program takes an optional case name as argv[1] and runs only that
 * case; meson registers one test per case (tests/meson.build).
 */
#ifndef VIDMM_VT_H
#define VIDMM_VT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Sanitizer builds run 2-20x slower: tests scale their work by this. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define VT_SANITIZED 1
#endif
#endif
#ifndef VT_SANITIZED
#define VT_SANITIZED 0
#endif
/* TSan alone: its builds run the threaded suites 3-10x slower than ASan. */
#if defined(__SANITIZE_THREAD__)
#define VT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VT_TSAN 1
#endif
#endif
#ifndef VT_TSAN
#define VT_TSAN 0
#endif

#define VT_CASE(name, fn) { name, fn, NULL, NULL, NULL }
#define VT_CASE_F(name, fn, setup, teardown) { name, fn, setup, teardown, NULL }

/* Run the cases of one program, honouring an optional case filter in argv[1]. */
static inline int vt_main(const char *group, const struct CMUnitTest *cases,
			  size_t n, int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return _cmocka_run_group_tests(group, cases, n, NULL, NULL);
}
#define VT_MAIN(group, cases) vt_main(group, cases, sizeof(cases) / sizeof(cases[0]), argc, argv)

/* Skip the running case: say why on stdout, exit 77 (meson's skip). For what
 * the machine lacks (a tool, a device), never for a failure. */
#define VT_SKIP(...)                            \
	do {                                    \
		printf("SKIP: " __VA_ARGS__);   \
		printf("\n");                   \
		fflush(stdout);                 \
		exit(77);                       \
	} while (0)

/*
 * The seed of a random test: VIDMM_SEED from the environment if set (replay),
 * else derived from the clock. Always printed, so any failure can be replayed
 * with VIDMM_SEED=<seed>.
 */
uint64_t vt_seed(const char *test_name);

/* xoshiro256** seeded from splitmix64: fast, good, and reproducible everywhere. */
struct vt_rng { uint64_t s[4]; };
void vt_rng_seed(struct vt_rng *r, uint64_t seed);
uint64_t vt_rng_next(struct vt_rng *r);
/* Uniform in [0, n), n > 0. */
uint64_t vt_rng_below(struct vt_rng *r, uint64_t n);

#endif
