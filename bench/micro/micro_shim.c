/* SPDX-License-Identifier: MIT */
/*
 * micro_shim.c - what the gbshim.h loop itself costs, so that figures of
 * other microbenchmarks can be read net of it.
 *
 * Owns: the BM_shim/... benchmarks: an empty body run unbatched
 * (gb_keep_running per iteration), batched (GB_FOR), in fixed batches of 64,
 * and the cost of a pause/resume pair.
 * Must not: measure anything of vidmm.
 *
 * The "empty" body is gb_clobber_memory(): an empty asm, so that the
 * compiler keeps one loop trip per iteration instead of deleting the loop
 * (then the batched loop would report 0 ns, which no real body gets).
 */
#include "gbshim.h"
#include "micro.h"

static void bm_empty_unbatched(gb_state *st, void *user)
{
	(void)user;
	while (gb_keep_running(st))
		gb_clobber_memory();
}

static void bm_empty_batched(gb_state *st, void *user)
{
	(void)user;
	GB_FOR(st)
		gb_clobber_memory();
}

static void bm_empty_batch64(gb_state *st, void *user)
{
	(void)user;
	while (gb_keep_running_batch(st, 64))
		for (int i = 0; i < 64; i++)
			gb_clobber_memory();
}

/* PauseTiming/ResumeTiming read clocks: too costly to use per iteration. */
static void bm_pause_resume(gb_state *st, void *user)
{
	(void)user;
	GB_FOR(st) {
		gb_pause_timing(st);
		gb_resume_timing(st);
	}
}

void micro_shim_register(void)
{
	gb_register("BM_shim/empty_unbatched", bm_empty_unbatched, NULL);
	gb_register("BM_shim/empty_batched", bm_empty_batched, NULL);
	gb_register("BM_shim/empty_batch64", bm_empty_batch64, NULL);
	gb_register("BM_shim/pause_resume", bm_pause_resume, NULL);
}
