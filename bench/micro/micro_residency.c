/* SPDX-License-Identifier: MIT */
/*
 * micro_residency.c - Google Benchmark microbenchmarks of residency: the cost
 * of picking and paging out an LRU victim as the number of resident
 * allocations grows, and page-out / page-in per size beside a plain memcpy of
 * the same size.
 *
 * Owns: BM_residency_evict_lru/resident:N, BM_residency_page_out/size:S/
 * mode:M, BM_residency_page_in/size:S/mode:M, BM_residency_memcpy/size:S.
 * Must not: change core/ or drivers/, or reach into the manager: everything
 * here goes through core/vidmm.h, so the figures are what a client sees.
 *
 * Timing is manual (UseManualTime), wall clock around the one call that does
 * the work, because that work waits for copy-engine fences on other threads:
 * CPU time of this thread would leave the copy out. The core waits on the
 * copy fence inside vidmm_evict (page-out) and inside vidmm_submit (page-in
 * at submit), so the call's duration is the move's. The core's own
 * histograms (VIDMM_HIST_PAGE_OUT / _PAGE_IN, start to range freed / made
 * resident) are reported beside it as core_ns, their mean over the run.
 *
 * mode:0 is the window paging mode (one GPU copy through a paging-segment
 * window onto the allocation's system pages), mode:1 bounce (GPU copy to a
 * staging area plus a CPU copy), as in struct vidmm_config.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/vidmm.h"
#include "drivers/emu/emu.h"
#include "gbshim.h"
#include "platform.h"
#include "micro.h"

#define MR_ALLOC 65536ull   /* evict_lru: every resident allocation's size */
#define MR_WAIT_NS 5000000000ull

static uint64_t mr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct mr_vm {
	struct emu *emu;
	vidmm_t *vm;
	int64_t key;   /* what the instance was opened for (mode or N) */
	int seg;       /* the CPU-invisible local segment */
};

/* profile -> emulated chip -> manager, without swap (bench/platform.c). */
static int mr_open(const struct vidmm_profile *p, enum vidmm_paging_mode mode,
		   struct mr_vm *out, char *err, size_t len)
{
	struct vidmm_segment_info s[VIDMM_MAX_SEGMENTS];
	struct platform_opts o = { .paging_mode = mode, .no_swap = true };
	struct platform pl;
	uint32_t n = 0;
	int ret = platform_open_opts(p, "emu", &o, &pl, err, len);

	if (ret)
		return ret;
	out->emu = pl.emu;
	out->vm = pl.vm;
	out->seg = -1;
	vidmm_query_segments(out->vm, s, VIDMM_MAX_SEGMENTS, &n);
	for (uint32_t i = 0; i < n && out->seg < 0; i++)
		if ((s[i].flags & (VIDMM_SEG_LOCAL | VIDMM_SEG_CPU_VISIBLE)) == VIDMM_SEG_LOCAL)
			out->seg = (int)s[i].id;
	if (out->seg < 0) {
		snprintf(err, len, "profile %s has no CPU-invisible local segment", p->name);
		vidmm_destroy(out->vm);
		emu_destroy(out->emu);
		memset(out, 0, sizeof(*out));
		return -ENODEV;
	}
	return 0;
}

static void mr_close(struct mr_vm *m)
{
	if (m->vm)
		vidmm_destroy(m->vm);
	if (m->emu)
		emu_destroy(m->emu);
	memset(m, 0, sizeof(*m));
}

static int mr_create(struct mr_vm *m, uint64_t size, vidmm_handle_t *h)
{
	struct vidmm_alloc_desc d = {
		.size = size,
		.priority = VIDMM_PRIO_NORMAL,
		.n_preferred = 1,
		.preferred = { (uint32_t)m->seg },
	};

	return vidmm_create_allocation(m->vm, &d, h);
}

/* Submit op over one allocation and wait for it; *result if non-NULL. */
static int mr_job(struct mr_vm *m, vidmm_handle_t h, enum vidmm_job_op op, uint64_t seed,
		  uint64_t *result)
{
	uint64_t r = 0;
	int ret = platform_job1(m->vm, op, seed, h, &r, MR_WAIT_NS, NULL);

	if (result)
		*result = r;
	return ret;
}

/* Mean of what a histogram gained between two snapshots. */
static double mr_hist_mean(const struct vidmm_hist *a, const struct vidmm_hist *b)
{
	uint64_t n = b->count - a->count;

	return n ? (double)(b->sum - a->sum) / (double)n : 0.0;
}

static void mr_fail(gb_state *st, const char *what, int ret)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "%s: %s", what, vidmm_strerror(ret));
	gb_skip_with_error(st, msg);
}

/* ---- page-out / page-in ------------------------------------------------- */

static struct mr_vm mr_page[2]; /* by paging mode */
static char mr_page_err[256];

static struct mr_vm *mr_page_vm(gb_state *st, int mode)
{
	struct vidmm_profile p;
	int ret;

	if (mode < 0 || mode > 1) {
		gb_skip_with_error(st, "mode must be 0 (window) or 1 (bounce)");
		return NULL;
	}
	if (!mr_page[mode].vm) {
		ret = vidmm_profile_builtin("default", &p);
		if (!ret)
			ret = mr_open(&p, (enum vidmm_paging_mode)mode, &mr_page[mode],
				      mr_page_err, sizeof(mr_page_err));
		if (ret) {
			gb_skip_with_error(st, mr_page_err);
			return NULL;
		}
	}
	return &mr_page[mode];
}

enum { MR_OUT = 0, MR_IN = 1 };

/*
 * Each iteration pages the allocation out (vidmm_evict) and back in (a TOUCH
 * job at submit), timing only the direction under test; the job's own fence
 * is waited for outside the timed part, so the GPU's read of the pages is
 * not counted. The data are filled with a seeded pattern first and verified
 * at the end: a figure for a move that lost data would be worthless.
 */
static void bm_residency_page(gb_state *st, void *user)
{
	const int dir = (int)(intptr_t)user;
	const uint64_t size = (uint64_t)gb_range(st, 0);
	const uint64_t seed = 0x5eed0000 + size;
	struct vidmm_hist h0, h1;
	struct vidmm_job touch;
	struct vidmm_fence f;
	struct mr_vm *m;
	vidmm_handle_t h;
	uint64_t bad = 0;
	int ret;

	m = mr_page_vm(st, (int)gb_range(st, 1));
	if (!m)
		return;
	ret = mr_create(m, size, &h);
	if (ret) {
		mr_fail(st, "create", ret);
		return;
	}
	ret = mr_job(m, h, VIDMM_JOB_FILL, seed, NULL);
	if (ret) {
		mr_fail(st, "fill", ret);
		vidmm_destroy_allocation(m->vm, h);
		return;
	}
	memset(&touch, 0, sizeof(touch));
	touch.op = VIDMM_JOB_TOUCH;
	touch.nrefs = 1;
	touch.refs[0].handle = h;
	touch.refs[0].access = VIDMM_ACCESS_READ;
	vidmm_query_histogram(m->vm, dir == MR_OUT ? VIDMM_HIST_PAGE_OUT : VIDMM_HIST_PAGE_IN, &h0);

	GB_FOR(st) {
		uint64_t t0 = 0, t1 = 0;

		if (dir == MR_OUT)
			t0 = mr_now();
		ret = vidmm_evict(m->vm, h);
		if (dir == MR_OUT)
			t1 = mr_now();
		if (ret) {
			mr_fail(st, "evict", ret);
			break;
		}
		if (dir == MR_IN)
			t0 = mr_now();
		ret = vidmm_submit(m->vm, &touch, &f);
		if (dir == MR_IN)
			t1 = mr_now();
		if (!ret)
			ret = vidmm_wait_fence(m->vm, f, MR_WAIT_NS);
		if (ret) {
			mr_fail(st, "page-in at submit", ret);
			break;
		}
		gb_set_iteration_time(st, (double)(t1 - t0) * 1e-9);
	}
	if (!gb_error_occurred(st)) {
		vidmm_query_histogram(m->vm,
				      dir == MR_OUT ? VIDMM_HIST_PAGE_OUT : VIDMM_HIST_PAGE_IN, &h1);
		ret = mr_job(m, h, VIDMM_JOB_VERIFY, seed, &bad);
		if (ret)
			mr_fail(st, "verify", ret);
		else if (bad)
			gb_skip_with_error(st, "data changed across page-out/page-in");
	}
	vidmm_destroy_allocation(m->vm, h);
	if (gb_error_occurred(st))
		return;
	gb_set_bytes_processed(st, gb_iterations(st) * (int64_t)size);
	gb_counter_set(st, "core_ns", mr_hist_mean(&h0, &h1), GB_COUNTER_DEFAULT);
}

/* The yardstick: one thread's memcpy of the same bytes, buffers pre-faulted. */
static void bm_residency_memcpy(gb_state *st, void *user)
{
	const size_t size = (size_t)gb_range(st, 0);
	char *src = malloc(size), *dst = malloc(size);

	(void)user;
	if (!src || !dst) {
		free(src);
		free(dst);
		gb_skip_with_error(st, "out of memory");
		return;
	}
	memset(src, 0x5a, size);
	memset(dst, 0xa5, size);
	GB_FOR(st) {
		memcpy(dst, src, size);
		gb_do_not_optimize(dst);
	}
	free(src);
	free(dst);
	gb_set_bytes_processed(st, gb_iterations(st) * (int64_t)size);
}

/* ---- victim selection ---------------------------------------------------- */

/*
 * N allocations of 64 KiB fill the CPU-invisible local segment exactly (the
 * profile is "default" with local_invisible = N * 64 KiB). Each iteration
 * creates one more there, which must pick the least recently used resident
 * allocation, page it out and take its range. The victim (always the oldest
 * live one: nothing is submitted, so LRU order is creation order) is then
 * destroyed outside the timed part, so the segment stays full and every
 * iteration evicts exactly one. The state persists across calls of a run.
 */
static struct {
	struct mr_vm m;
	vidmm_handle_t *ring; /* live handles, oldest at head */
	size_t n, head;
	char err[256];
} mr_lru;

static void mr_lru_close(void)
{
	free(mr_lru.ring);
	mr_close(&mr_lru.m);
	mr_lru.ring = NULL;
	mr_lru.n = mr_lru.head = 0;
}

static void mr_atexit(void)
{
	mr_lru_close();
	mr_close(&mr_page[0]);
	mr_close(&mr_page[1]);
}

static bool mr_lru_get(gb_state *st, size_t n)
{
	struct vidmm_stats s;
	struct vidmm_profile p;
	int ret;

	if (mr_lru.m.vm && mr_lru.n == n)
		return true;
	mr_lru_close();
	ret = vidmm_profile_builtin("default", &p);
	if (ret) {
		gb_skip_with_error(st, "no default profile");
		return false;
	}
	snprintf(p.name, sizeof(p.name), "default-lru-%zu", n);
	p.local_invisible = n * MR_ALLOC;
	ret = mr_open(&p, VIDMM_PAGING_WINDOW, &mr_lru.m, mr_lru.err, sizeof(mr_lru.err));
	if (ret) {
		gb_skip_with_error(st, mr_lru.err);
		return false;
	}
	mr_lru.ring = calloc(n, sizeof(*mr_lru.ring));
	if (!mr_lru.ring) {
		mr_lru_close();
		gb_skip_with_error(st, "out of memory");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		ret = mr_create(&mr_lru.m, MR_ALLOC, &mr_lru.ring[i]);
		if (ret) {
			mr_lru_close();
			mr_fail(st, "filling the segment", ret);
			return false;
		}
	}
	mr_lru.n = n;
	/* The fills' clears run on a copy engine: an allocation still being
	 * cleared is busy and would be passed over as a victim. */
	vidmm_wait_idle(mr_lru.m.vm, 30ull * 1000000000ull);
	vidmm_query_stats(mr_lru.m.vm, &s);
	if (s.seg[mr_lru.m.seg].free != 0 || s.page_outs != 0) {
		mr_lru_close();
		gb_skip_with_error(st, "the segment is not exactly full after filling it");
		return false;
	}
	return true;
}

static void bm_residency_evict_lru(gb_state *st, void *user)
{
	const size_t n = (size_t)gb_range(st, 0);
	struct vidmm_alloc_info info;
	struct vidmm_stats s0, s1;
	struct vidmm_hist h0, h1;
	vidmm_handle_t h;
	int ret;

	(void)user;
	if (n < 1 || !mr_lru_get(st, n))
		return;
	vidmm_t *vm = mr_lru.m.vm;

	double sum_ns = 0;

	vidmm_query_stats(vm, &s0);
	vidmm_query_histogram(vm, VIDMM_HIST_PAGE_OUT, &h0);
	GB_FOR(st) {
		uint64_t t0 = mr_now();
		ret = mr_create(&mr_lru.m, MR_ALLOC, &h);
		uint64_t t1 = mr_now();
		if (ret) {
			mr_fail(st, "create with eviction", ret);
			break;
		}
		vidmm_handle_t victim = mr_lru.ring[mr_lru.head];
		ret = vidmm_query_allocation(vm, victim, &info);
		if (ret || info.residency != VIDMM_EVICTED) {
			gb_skip_with_error(st, "the LRU allocation was not the one evicted");
			break;
		}
		vidmm_destroy_allocation(vm, victim);
		mr_lru.ring[mr_lru.head] = h;
		mr_lru.head = (mr_lru.head + 1) % n;
		gb_set_iteration_time(st, (double)(t1 - t0) * 1e-9);
		sum_ns += (double)(t1 - t0);
	}
	if (gb_error_occurred(st)) {
		/* The ring no longer matches the LRU order: rebuild next time. */
		mr_lru_close();
		return;
	}
	vidmm_query_stats(vm, &s1);
	vidmm_query_histogram(vm, VIDMM_HIST_PAGE_OUT, &h1);
	int64_t it = gb_iterations(st);
	gb_set_items_processed(st, it);
	double po = mr_hist_mean(&h0, &h1);
	gb_counter_set(st, "page_out_ns", po, GB_COUNTER_DEFAULT);
	/* What the create cost beyond the victim's copy: the victim scan,
	 * the heap, the handle. This is the part that could grow with N. */
	gb_counter_set(st, "non_copy_ns", it ? sum_ns / (double)it - po : 0, GB_COUNTER_DEFAULT);
	gb_counter_set(st, "evictions_per_iter",
		       it ? (double)(s1.page_outs - s0.page_outs) / (double)it : 0,
		       GB_COUNTER_DEFAULT);
}

void micro_residency_register(void)
{
	static const char *const page_names[] = { "size", "mode" };
	static const int64_t sizes[] = { 64 << 10, 2 << 20, 32 << 20 };
	gb_bench *b;

	atexit(mr_atexit);

	b = gb_register("BM_residency_evict_lru", bm_residency_evict_lru, NULL);
	gb_bench_arg_name(b, "resident");
	gb_bench_range_multiplier(b, 8);
	gb_bench_range(b, 16, 8192);
	gb_bench_use_manual_time(b);
	gb_bench_unit(b, GB_US);

	b = gb_register("BM_residency_page_out", bm_residency_page, (void *)(intptr_t)MR_OUT);
	gb_bench_arg_names(b, page_names, 2);
	for (int mode = 0; mode <= 1; mode++)
		for (size_t i = 0; i < 3; i++) {
			int64_t a[2] = { sizes[i], mode };
			gb_bench_args(b, a, 2);
		}
	gb_bench_use_manual_time(b);
	gb_bench_unit(b, GB_US);

	b = gb_register("BM_residency_page_in", bm_residency_page, (void *)(intptr_t)MR_IN);
	gb_bench_arg_names(b, page_names, 2);
	for (int mode = 0; mode <= 1; mode++)
		for (size_t i = 0; i < 3; i++) {
			int64_t a[2] = { sizes[i], mode };
			gb_bench_args(b, a, 2);
		}
	gb_bench_use_manual_time(b);
	gb_bench_unit(b, GB_US);

	b = gb_register("BM_residency_memcpy", bm_residency_memcpy, NULL);
	gb_bench_arg_name(b, "size");
	for (size_t i = 0; i < 3; i++)
		gb_bench_arg(b, sizes[i]);
	gb_bench_unit(b, GB_US);

	gb_add_context("micro_residency",
		       "profile default (evict_lru: local_invisible = resident * 64 KiB), "
		       "driver emu; manual time = wall clock around vidmm_create_allocation "
		       "(evict_lru), vidmm_evict (page_out), vidmm_submit of a TOUCH job "
		       "(page_in); mode 0 window, 1 bounce; core_ns = the core's histogram mean");
}
