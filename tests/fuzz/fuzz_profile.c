/* SPDX-License-Identifier: MIT */
/*
 * fuzz_profile.c - libFuzzer target: profile JSON (drivers/profile.c). A
 * profile the parser accepts must validate, and a small one must build a
 * chip and a manager; anything else must be refused with a message, never
 * a crash.
 * Owns: only the entry point. Must not: relax what the parser requires.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/platform.h"
#include "drivers/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vidmm_profile p;
	char err[512] = "", verr[512];

	if (vidmm_profile_parse((const char *)data, size, "input", &p, err, sizeof(err))) {
		if (!err[0]) {
			fprintf(stderr, "fuzz_profile: refused without a message\n");
			abort();
		}
		return 0;
	}
	if (vidmm_profile_validate(&p, verr, sizeof(verr))) {
		fprintf(stderr, "fuzz_profile: parsed but invalid: %s\n", verr);
		abort();
	}
	/* Small enough to build quickly: the manager must come up, or refuse
	 * with a reason. */
	uint64_t total = p.local_visible + p.local_invisible + p.pcie_snooped + p.pcie_unsnooped;
	if (total <= (256ull << 20) && p.sysmem <= (256ull << 20) && p.copy_engines <= 4) {
		struct platform pl;
		struct platform_opts po = { .no_swap = true, .no_background_reclaim = true };
		err[0] = 0;
		if (platform_open_opts(&p, "emu", &po, &pl, err, sizeof(err)) == 0) {
			if (vidmm_check(pl.vm)) {
				fprintf(stderr, "fuzz_profile: vidmm_check on a fresh manager: %s\n",
					vidmm_check_error(pl.vm));
				abort();
			}
			platform_close(&pl);
		} else if (!err[0]) {
			fprintf(stderr, "fuzz_profile: platform_open refused without a message\n");
			abort();
		}
	}
	return 0;
}
