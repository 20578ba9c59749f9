/* SPDX-License-Identifier: MIT */
/*
 * fuzz_results.c - libFuzzer target: the gate of `report` and `compare`
 * (reports/validate.c). Any byte string is accepted as a results document or
 * Google Benchmark JSON, or refused with a message; never a crash.
 * Owns: only the entry point. Must not: validate documents itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "reports/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024] = "";
	int k = validate_text((const char *)data, size, "input", err, sizeof(err));

	if (k < 0 && !err[0]) {
		fprintf(stderr, "fuzz_results: refused without a message\n");
		abort();
	}
	if (k > 0 && k != DOC_RESULTS && k != DOC_GBENCH && k != DOC_FUZZ) {
		fprintf(stderr, "fuzz_results: unknown document kind %d\n", k);
		abort();
	}
	return 0;
}
