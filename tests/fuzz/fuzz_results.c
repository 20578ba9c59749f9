/* SPDX-License-Identifier: MIT */
/*
 * fuzz_results.c - libFuzzer target: the results readers behind `report`
 * and `compare` (reports/). A document is refused with a message, or turned
 * into Markdown and HTML; every pair of latency histograms in it compares.
 * Owns: only the entry point. Must not: validate documents itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/results.h"
#include "reports/compare.h"
#include "reports/report.h"

#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	json_t *doc = NULL;
	char err[512] = "";

	if (fuzz_file_write(data, size, path))
		return 0;
	if (report_load(path, &doc, err, sizeof(err)) == 0) {
		free(report_markdown(doc, results_summary_md));
		free(report_html(doc));
		json_t *runs = json_object_get(doc, "runs"), *r, *lat;
		size_t i;
		json_array_foreach(runs, i, r) {
			lat = json_object_get(r, "latency");
			const char *k;
			json_t *h;
			json_object_foreach(lat, k, h) {
				struct compare_mwu m;
				compare_histograms(h, h, &m);
			}
		}
		json_decref(doc);
	} else if (!err[0]) {
		fprintf(stderr, "fuzz_results: refused without a message\n");
		abort();
	}
	unlink(path);
	return 0;
}
