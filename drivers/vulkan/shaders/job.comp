// SPDX-License-Identifier: MIT
//
// job.comp - the Vulkan driver's job engine: FILL, VERIFY and TOUCH over runs
// of device memory that the driver's GART walk produced (drivers/vulkan/
// vk_engine.c builds them). Owns: nothing but this kernel; it must give,
// word for word, what drivers/emu/engine.c's job_fill/job_verify give:
// the pattern word at byte offset o of a ref is vidmm_pattern_word(seed, o)
// (drivers/chip.h), a partial last word is compared and written in its
// low bytes only, writes to the dummy page are dropped.
#version 460
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require

layout(local_size_x = 64) in;

struct Run {
	uint64_t addr;      // device address of the run's first byte
	uint64_t off;       // byte offset of that byte in its ref
	uint64_t len;       // bytes
	uint64_t word_base; // words of the runs before this one
	uint64_t dummy;     // 1: the dummy page, writes dropped
};

layout(buffer_reference, std430, buffer_reference_align = 8) readonly buffer Runs { Run r[]; };
layout(buffer_reference, std430, buffer_reference_align = 8) buffer Word { uint64_t w; };
layout(buffer_reference, std430, buffer_reference_align = 8) buffer Result {
	uint bad;   // VERIFY: words that differ
	uint sink;  // TOUCH: keeps the reads
};

layout(push_constant) uniform PC {
	uint64_t runs;
	uint64_t result;
	uint64_t seed;
	uint64_t total_words;
	uint nruns;
	uint op; // 0 FILL, 1 VERIFY, 4 TOUCH (enum vidmm_job_op)
} pc;

uint64_t pattern_word(uint64_t seed, uint64_t offset)
{
	uint64_t z = seed ^ ((offset >> 3) * 0x9e3779b97f4a7c15UL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
	return z ^ (z >> 31);
}

void main()
{
	Runs runs = Runs(pc.runs);
	Result res = Result(pc.result);
	uint64_t stride = uint64_t(gl_NumWorkGroups.x) * 64UL;
	uint bad = 0;

	for (uint64_t g = uint64_t(gl_GlobalInvocationID.x); g < pc.total_words; g += stride) {
		// the run holding word g: the last whose word_base <= g
		uint lo = 0, hi = pc.nruns - 1;
		while (lo < hi) {
			uint mid = (lo + hi + 1) >> 1;
			if (runs.r[mid].word_base <= g)
				lo = mid;
			else
				hi = mid - 1;
		}
		Run r = runs.r[lo];
		uint64_t i = (g - r.word_base) * 8UL;
		uint64_t n = r.len - i < 8UL ? r.len - i : 8UL;
		uint64_t mask = n == 8UL ? ~0UL : ((1UL << (n * 8UL)) - 1UL);
		uint64_t p = pattern_word(pc.seed, r.off + i);
		Word w = Word(r.addr + i);
		if (pc.op == 0u) {
			if (r.dummy == 0UL)
				w.w = n == 8UL ? p : (w.w & ~mask) | (p & mask);
		} else if (pc.op == 1u) {
			if (((w.w ^ p) & mask) != 0UL)
				bad++;
		} else {
			// TOUCH: one word per page; the compare keeps the load
			if (w.w == pc.seed + 0x5bd1e995UL)
				atomicAdd(res.sink, 1u);
		}
	}
	if (bad != 0u)
		atomicAdd(res.bad, bad);
}
