/* SPDX-License-Identifier: MIT */
/*
 * fuzz_trace.c - libFuzzer target: the trace parser and replay
 * (bench/trace.c, `vidmm-bench replay`). A trace is accepted and replayed,
 * or refused with one line; a malformed line is reported, never crashes.
 * Traces whose profile is large are refused here before the replay (the
 * replay would only be slow).
 * Owns: only the entry point. Must not: check replay verdicts (a random
 * trace's counters rarely match).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/runner.h"
#include "bench/trace.h"

#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	struct run_config c;
	struct trace_replay *tr = NULL;
	struct run_result res;
	char err[512] = "";

	if (fuzz_file_write(data, size, path))
		return 0;
	memset(&c, 0, sizeof(c));
	if (trace_replay_open(path, &c, &tr, err, sizeof(err)) == 0) {
		const struct vidmm_profile *p = &c.profile;
		if (p->local_visible + p->local_invisible <= (64ull << 20) &&
		    p->pcie_snooped + p->pcie_unsnooped <= (64ull << 20) && p->sysmem <= (128ull << 20)) {
			snprintf(c.driver, sizeof(c.driver), "emu");
			c.profile.swap = c.profile.swap > (16ull << 20) ? 16ull << 20 : c.profile.swap;
			c.ops_limit = 2000;
			if (runner_run(&c, &res, err, sizeof(err)) == 0) {
				trace_replay_compare(tr, &res, stderr);
				runner_result_free(&res);
			}
		}
		trace_replay_close(tr);
	} else if (!err[0]) {
		fprintf(stderr, "fuzz_trace: refused without a message\n");
		abort();
	}
	unlink(path);
	return 0;
}
