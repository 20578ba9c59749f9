/* SPDX-License-Identifier: MIT */
/*
 * vt.c - seed and RNG helpers for tests (see vt.h).
 * Owns: the seed policy (VIDMM_SEED or the clock, always printed) and the
 * test RNG. Must not: assert anything itself.
 */
#include "vt.h"

#include <inttypes.h>
#include <time.h>

uint64_t vt_seed(const char *test_name)
{
	const char *env = getenv("VIDMM_SEED");
	uint64_t seed;

	if (env && *env) {
		seed = strtoull(env, NULL, 0);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec;
	}
	printf("%s: seed=%" PRIu64 " (replay with VIDMM_SEED=%" PRIu64 ")\n",
	       test_name, seed, seed);
	fflush(stdout);
	return seed;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void vt_rng_seed(struct vt_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t vt_rng_next(struct vt_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t vt_rng_below(struct vt_rng *r, uint64_t n)
{
	/* Lemire's multiply-shift; the tiny bias is irrelevant for tests. */
	return (uint64_t)(((unsigned __int128)vt_rng_next(r) * n) >> 64);
}
