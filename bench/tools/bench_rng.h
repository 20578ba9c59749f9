/* SPDX-License-Identifier: MIT */
/*
 * bench_rng.h - the random numbers of the stand-alone heap benchmarks
 * (heap_bench.c, heap_compare.c; scale_bench.c uses splitmix64 alone):
 * xoshiro256** seeded by splitmix64, drawn before the clock starts.
 *
 * Owns: the generator. Must not: be used inside a timed loop.
 */
#ifndef VIDMM_BENCH_RNG_H
#define VIDMM_BENCH_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

static inline uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* r scaled into [0, n) without a division. */
static inline uint32_t below32(uint32_t r, size_t n)
{
	return (uint32_t)(((uint64_t)r * n) >> 32);
}

#endif /* VIDMM_BENCH_RNG_H */
