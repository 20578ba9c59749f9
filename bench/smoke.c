/* SPDX-License-Identifier: MIT */
/*
 * smoke.c - vidmm-smoke: a short real workload against the core on the
 * emulated GPU, run by ./scripts/run.sh until the full runner exists.
 *
 * Owns: nothing but its own loop. It creates and destroys allocations of
 * random sizes and priorities in every segment, writes and reads them back
 * through the emulated MMU (PCIe placements go through the GART), checks
 * every invariant as it goes, and prints what it did.
 * Usage: vidmm-smoke [PROFILE] [OPS] [SEED]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform.h"
#include "drivers/emu/emu.h"

static uint64_t rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "tiny";
	char *end;
	long ops = argc > 2 ? strtol(argv[2], &end, 10) : 20000;
	uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : (uint64_t)time(NULL);
	struct vidmm_profile p;
	struct platform pl;
	char err[256];
	enum { LIVE = 512 };
	vidmm_handle_t live[LIVE] = { 0 };
	uint64_t tag[LIVE] = { 0 };
	uint64_t creates = 0, destroys = 0, fails = 0, bad = 0, checks = 0;

	if (ops <= 0 || (argc > 2 && *end)) {
		fprintf(stderr, "vidmm-smoke: OPS must be a positive integer\n");
		return 2;
	}
	if (vidmm_profile_resolve(name, &p, err, sizeof(err))) {
		fprintf(stderr, "vidmm-smoke: profile: %s\n", err);
		return 2;
	}
	if (platform_open(&p, "emu", &pl, err, sizeof(err))) {
		fprintf(stderr, "vidmm-smoke: %s\n", err);
		return 2;
	}
	printf("vidmm-smoke: profile %s, %ld operations, seed %" PRIu64 "\n", p.name, ops, seed);
	double t0 = now();
	for (long i = 0; i < ops; i++) {
		int k = (int)(rng(&seed) % LIVE);
		struct vidmm_alloc_info in;
		if (live[k]) {
			uint64_t got = 0;
			vidmm_query_allocation(pl.vm, live[k], &in);
			emu_gpu_read(pl.emu, in.gpu_addr + in.size - 8, &got, 8);
			if (got != tag[k])
				bad++;
			vidmm_destroy_allocation(pl.vm, live[k]);
			live[k] = 0;
			destroys++;
			continue;
		}
		struct vidmm_alloc_desc d = {
			.size = 4096 + rng(&seed) % (p.local_visible / 64),
			.priority = (enum vidmm_priority)(rng(&seed) % VIDMM_PRIO_COUNT),
			.flags = rng(&seed) % 8 == 0 ? VIDMM_ALLOC_UNPAGABLE : 0,
		};
		if (vidmm_create_allocation(pl.vm, &d, &live[k])) {
			live[k] = 0;
			fails++;
			continue;
		}
		creates++;
		tag[k] = rng(&seed);
		vidmm_query_allocation(pl.vm, live[k], &in);
		emu_gpu_write(pl.emu, in.gpu_addr + in.size - 8, &tag[k], 8);
		if (i % 1000 == 0) {
			checks++;
			if (vidmm_check(pl.vm)) {
				fprintf(stderr, "vidmm-smoke: invariant violated: %s\n",
					vidmm_check_error(pl.vm));
				return 1;
			}
		}
	}
	double dt = now() - t0;
	struct vidmm_stats st;
	vidmm_query_stats(pl.vm, &st);
	printf("  %" PRIu64 " creates, %" PRIu64 " destroys, %" PRIu64 " failed (no room), "
	       "%" PRIu64 " invariant checks in %.3f s (%.0f ops/s)\n",
	       creates, destroys, fails, checks, dt, ops / dt);
	printf("  GART: %" PRIu64 " of %" PRIu64 " pages mapped, %" PRIu64 " TLB invalidations; "
	       "system pages %" PRIu64 "/%" PRIu64 "; stale TLB hits %" PRIu64 "\n",
	       st.gart_mapped_pages, st.gart_pages, st.gart_invalidations,
	       st.sysmem_pages_used, st.sysmem_pages_budget, st.stale_tlb_hits);
	printf("  data read back through the MMU: %" PRIu64 " mismatches\n", bad);
	int rc = bad || st.stale_tlb_hits || vidmm_check(pl.vm) ? 1 : 0;
	platform_close(&pl);
	printf("vidmm-smoke: %s\n", rc ? "FAILED" : "ok");
	return rc;
}
