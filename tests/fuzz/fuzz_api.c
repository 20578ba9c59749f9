/* SPDX-License-Identifier: MIT */
/*
 * fuzz_api.c - libFuzzer target: the input bytes decide a program of
 * manager calls (bench/fuzz.c: the same calls, model and checks as
 * `vidmm-bench fuzz`), run on the tiny profile. A finding aborts, so
 * libFuzzer keeps the input: `build-fuzz/tests/fuzz/fuzz_api CRASH-FILE`
 * replays it.
 * Owns: only the entry point. Must not: check anything itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[600];

	if (fuzz_one_input(data, size, why, sizeof(why))) {
		fprintf(stderr, "fuzz_api: %s\n", why);
		abort();
	}
	return 0;
}
