/* SPDX-License-Identifier: MIT */
/*
 * test_residency.c - residency on the emulated GPU: eviction policy
 * (priority, then LRU, pinned and busy never moved, one contiguous window for
 * a large request), page-out/page-in through the paging segment (window and
 * bounce modes), page-in at submit and at CPU lock, deferred destroy, fence
 * timeouts, injected copy failures, and a multi-threaded oversubscription
 * stress with data verification.
 *
 * Owns: those test cases (tests/meson.build names them). Must not: reach
 * into core internals or modify core/, drivers/ or other tests; it sees the
 * manager only through vidmm.h, and the hardware only through the
 * emulator's test hooks (fault injection, engine reset, fault counters).
 *
 * Layout conventions: every case runs on the "tiny" profile (local-visible
 * 16 MiB holding the GART tables, local-invisible 48 MiB, PCIe 2 x 32 MiB,
 * paging window 8 MiB) and confines itself to one segment with
 * n_preferred = 1, filling what it does not use with an unpagable filler so
 * that eviction among the test's own allocations is the only way to make
 * room. Data is checked by GPU jobs (FILL, then VERIFY counting mismatched
 * words of a seeded position-independent pattern), never by peeking.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "vt.h"
#include "vt_env.h"
#include "vt_proc.h"
#include "bench/platform.h"
#include "drivers/emu/emu.h"

#define KIB ((uint64_t)1024)
#define MIB ((uint64_t)1 << 20)
#define MS ((uint64_t)1000000)
#define SEC ((uint64_t)1000000000)
/* Long enough for any healthy job under a sanitizer, short enough that a
 * lost fence fails the case instead of the meson timeout. */
#define JOB_WAIT_NS (30 * SEC)

/* ---- fixture ------------------------------------------------------------------ */

/* The fixture is the standard one (tests/vt_env.h): tiny profile, emulated
 * GPU, manager configured per case. */

static void check_ok(vidmm_t *vm)
{
	int ret = vidmm_check(vm);
	if (ret)
		fail_msg("vidmm_check: %s", vidmm_check_error(vm));
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static struct vidmm_stats stats_of(struct vt_env *e)
{
	struct vidmm_stats st;
	assert_int_equal(vidmm_query_stats(e->vm, &st), 0);
	return st;
}

static struct vidmm_chip_faults faults_of(struct vt_env *e)
{
	struct vidmm_chip_faults f;
	assert_int_equal(e->pl.ops->fault_report(e->pl.chip_ctx, &f), 0);
	return f;
}

static int try_create(struct vt_env *e, int seg, uint64_t size, int prio, uint32_t flags,
		      vidmm_handle_t *h)
{
	return vt_create(e->vm, seg, size, prio, flags, h);
}

static vidmm_handle_t create_in(struct vt_env *e, int seg, uint64_t size, int prio, uint32_t flags)
{
	vidmm_handle_t h = 0;
	int ret = try_create(e, seg, size, prio, flags, &h);
	if (ret)
		fail_msg("create %" PRIu64 " bytes in segment %d: %s", size, seg, vidmm_strerror(ret));
	/* The cases reason about idle allocations: let its clear (queued on a
	 * copy engine) finish, so it does not count as busy, and cannot delay
	 * a copy a case times. Only the copy engines: a case may have hung the
	 * job engine on purpose (and a hung copy engine is waited for briefly). */
	for (uint32_t i = 0; e->emu && i < e->eng.n_copy; i++) {
		struct emu_engine_stats es;
		assert_int_equal(emu_engine_stats(e->emu, i, &es), 0);
		emu_chip_ops.fence_wait(e->emu, i, es.submitted, 2 * SEC);
	}
	/* another driver: no case hangs its engines (injection is the
	 * emulator's), so all of them */
	if (!e->emu)
		assert_int_equal(vidmm_wait_idle(e->vm, 30 * SEC), 0);
	return h;
}

static struct vidmm_alloc_info info_of(struct vt_env *e, vidmm_handle_t h)
{
	struct vidmm_alloc_info i;
	int ret = vidmm_query_allocation(e->vm, h, &i);
	if (ret)
		fail_msg("query handle 0x%" PRIx64 ": %s", h, vidmm_strerror(ret));
	return i;
}

static bool is_resident(struct vt_env *e, vidmm_handle_t h)
{
	return info_of(e, h).residency == VIDMM_RESIDENT;
}

static void expect_resident_at(struct vt_env *e, vidmm_handle_t h, int seg, uint64_t addr,
			       const char *what)
{
	struct vidmm_alloc_info i = info_of(e, h);
	if (i.residency != VIDMM_RESIDENT || (int)i.segment != seg || i.gpu_addr != addr)
		fail_msg("%s: expected resident in segment %d at 0x%" PRIx64 ", is %s in %d at 0x%" PRIx64,
			 what, seg, addr, i.residency == VIDMM_RESIDENT ? "resident" : "not resident",
			 (int)i.segment, i.gpu_addr);
}

static void expect_evicted(struct vt_env *e, vidmm_handle_t h, const char *what)
{
	struct vidmm_alloc_info i = info_of(e, h);
	if (i.residency != VIDMM_EVICTED)
		fail_msg("%s: expected evicted, residency is %d (segment %d)", what,
			 (int)i.residency, (int)i.segment);
}

/*
 * Fill seg with allocations of size (as many as fit, at most max), then take
 * whatever is left with one unpagable filler: the segment is then full, and
 * only the returned allocations can make room. Needs the segment's free
 * space to be one hole (true for a fresh manager).
 */
static int fill_segment(struct vt_env *e, int seg, uint64_t size, int prio,
			vidmm_handle_t *out, int max)
{
	struct vidmm_stats st = stats_of(e);
	uint64_t free_b = st.seg[seg].free;
	int n = 0;

	if (st.seg[seg].largest_free != free_b)
		fail_msg("segment %d is fragmented before the case starts", seg);
	while (n < max && free_b >= size) {
		out[n++] = create_in(e, seg, size, prio, 0);
		free_b -= size;
	}
	st = stats_of(e);
	assert_int_equal(st.seg[seg].free, free_b);
	if (free_b)
		create_in(e, seg, free_b, VIDMM_PRIO_MAX, VIDMM_ALLOC_UNPAGABLE);
	assert_int_equal(stats_of(e).seg[seg].free, 0);
	/* New allocations are busy until their clears have run: the cases
	 * start from idle ones. */
	assert_int_equal(vidmm_wait_idle(e->vm, JOB_WAIT_NS), 0);
	return n;
}

/* ---- GPU jobs ------------------------------------------------------------------ */

static int submit_refs(vidmm_t *vm, enum vidmm_job_op op, uint64_t seed,
		       const vidmm_handle_t *h, const uint32_t *access, uint32_t n,
		       uint64_t *result, struct vidmm_fence *f)
{
	struct vidmm_job j;

	memset(&j, 0, sizeof(j));
	j.op = op;
	j.seed = seed;
	j.engine = 0;
	j.nrefs = n;
	j.result = result;
	for (uint32_t i = 0; i < n; i++) {
		j.refs[i].handle = h[i];
		j.refs[i].access = access[i];
	}
	return vidmm_submit(vm, &j, f);
}

static int submit1(vidmm_t *vm, enum vidmm_job_op op, uint64_t seed, vidmm_handle_t h,
		   uint64_t *result, struct vidmm_fence *f)
{
	uint32_t acc = op == VIDMM_JOB_FILL ? VIDMM_ACCESS_WRITE : VIDMM_ACCESS_READ;
	return submit_refs(vm, op, seed, &h, &acc, 1, result, f);
}

/* Submit and wait; the result word is valid once this returns 0. */
static int run1(vidmm_t *vm, enum vidmm_job_op op, uint64_t seed, vidmm_handle_t h,
		uint64_t *result)
{
	struct vidmm_fence f;
	int ret = submit1(vm, op, seed, h, result, &f);
	if (ret)
		return ret;
	return vidmm_wait_fence(vm, f, JOB_WAIT_NS);
}

static void gpu_fill(struct vt_env *e, vidmm_handle_t h, uint64_t seed)
{
	int ret = run1(e->vm, VIDMM_JOB_FILL, seed, h, NULL);
	if (ret)
		fail_msg("FILL job: %s", vidmm_strerror(ret));
}

static uint64_t gpu_verify(struct vt_env *e, vidmm_handle_t h, uint64_t seed)
{
	uint64_t bad = UINT64_MAX;
	int ret = run1(e->vm, VIDMM_JOB_VERIFY, seed, h, &bad);
	if (ret)
		fail_msg("VERIFY job: %s", vidmm_strerror(ret));
	return bad;
}

/* A use of the allocation on the GPU: makes it resident and most recent. */
static void gpu_touch(struct vt_env *e, vidmm_handle_t h)
{
	int ret = run1(e->vm, VIDMM_JOB_TOUCH, 0, h, NULL);
	if (ret)
		fail_msg("TOUCH job: %s", vidmm_strerror(ret));
}

/*
 * Overwrite every free byte of a segment (allocate the holes, FILL them with
 * a junk pattern, free them again). Emulated local memory keeps its bytes
 * when a range is freed, so without this a page-in that skipped its copy
 * back into the same range would still "see" the old data.
 */
static void scrub_free(struct vt_env *e, int seg)
{
	vidmm_handle_t h[64];
	int n = 0;

	for (;;) {
		uint64_t hole = stats_of(e).seg[seg].largest_free;
		if (!hole || n == 64)
			break;
		h[n] = create_in(e, seg, hole, VIDMM_PRIO_MAX, VIDMM_ALLOC_UNPAGABLE);
		gpu_fill(e, h[n], 0xdeadbeefull + (uint64_t)n);
		n++;
	}
	for (int i = 0; i < n; i++)
		assert_int_equal(vidmm_destroy_allocation(e->vm, h[i]), 0);
}

/* ---- EVICT-LRU-FIRST ------------------------------------------------------------- */

static void evict_lru_first(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	vidmm_handle_t a[16], x[2], b[16];
	uint64_t addr[16];
	const uint64_t sz = 4 * MIB;

	(void)state;
	/* Local-invisible: 12 x 4 MiB, each written (a use, in index order),
	 * then a[0] used again - the LRU order is a1, a2, ..., a11, a0. */
	int n = fill_segment(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, a, 16);
	assert_true(n >= 4);
	for (int i = 0; i < n; i++) {
		gpu_fill(e, a[i], 1000 + (uint64_t)i);
		addr[i] = info_of(e, a[i]).gpu_addr;
	}
	gpu_touch(e, a[0]);
	check_ok(e->vm);
	struct vidmm_stats st0 = stats_of(e);

	/* One new allocation: exactly one victim, the least recent (a1). */
	x[0] = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	check_ok(e->vm);
	expect_evicted(e, a[1], "a1, least recently used");
	expect_resident_at(e, a[0], e->local_invis, addr[0], "a0, just submitted");
	for (int i = 2; i < n; i++)
		expect_resident_at(e, a[i], e->local_invis, addr[i], "a newer one");
	struct vidmm_stats st1 = stats_of(e);
	assert_int_equal(st1.page_outs - st0.page_outs, 1);
	assert_int_equal(st1.bytes_paged_out - st0.bytes_paged_out, sz);
	assert_int_equal(st1.evictions_by_priority[VIDMM_PRIO_NORMAL] -
			 st0.evictions_by_priority[VIDMM_PRIO_NORMAL], 1);

	/* The next one takes a2 (creation of x0 was a use of x0, not a victim). */
	x[1] = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	check_ok(e->vm);
	expect_evicted(e, a[2], "a2, now least recently used");
	expect_resident_at(e, a[0], e->local_invis, addr[0], "a0");
	assert_true(is_resident(e, x[0]));
	for (int i = 3; i < n; i++)
		expect_resident_at(e, a[i], e->local_invis, addr[i], "a newer one");

	/* A job on the evicted a1 pages it in; the room comes from a3, the
	 * least recent of the rest. a1's data came back intact. */
	assert_int_equal(gpu_verify(e, a[1], 1001), 0);
	check_ok(e->vm);
	assert_true(is_resident(e, a[1]));
	expect_evicted(e, a[3], "a3, least recent when a1 was paged in");
	expect_evicted(e, a[2], "a2 (not touched)");
	expect_resident_at(e, a[0], e->local_invis, addr[0], "a0");
	assert_true(is_resident(e, x[0]) && is_resident(e, x[1]));

	/* CPU lock is a use too (local-visible, where the CPU can map). */
	int m = fill_segment(e, e->local_vis, 1 * MIB, VIDMM_PRIO_NORMAL, b, 16);
	assert_true(m >= 3);
	void *cpu = NULL;
	assert_int_equal(vidmm_lock(e->vm, b[0], &cpu), 0);
	assert_non_null(cpu);
	assert_int_equal(vidmm_unlock(e->vm, b[0]), 0);
	create_in(e, e->local_vis, 1 * MIB, VIDMM_PRIO_NORMAL, 0);
	check_ok(e->vm);
	expect_evicted(e, b[1], "b1, least recent after b0 was locked");
	assert_true(is_resident(e, b[0]));
	for (int i = 2; i < m; i++)
		assert_true(is_resident(e, b[i]));
	vt_env_down(e);
}

/* ---- EVICT-PRIORITY ---------------------------------------------------------------- */

static void evict_priority(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	const uint64_t sz = 4 * MIB;
	/* Created highest priority first, so plain LRU would pick the wrong
	 * ones: the policy must look at priority before recency. */
	static const int order[] = { VIDMM_PRIO_MAX, VIDMM_PRIO_MAX, VIDMM_PRIO_HIGH, VIDMM_PRIO_HIGH,
				     VIDMM_PRIO_NORMAL, VIDMM_PRIO_NORMAL, VIDMM_PRIO_LOW, VIDMM_PRIO_LOW,
				     VIDMM_PRIO_DISCARD, VIDMM_PRIO_DISCARD };
	enum { N = sizeof(order) / sizeof(order[0]) };
	/* Expected victims, in order: discard, low, normal, high (oldest of
	 * each priority first). */
	static const int victims[] = { 8, 9, 6, 7, 4, 5, 2, 3 };
	vidmm_handle_t h[N];
	bool gone[N] = { false };

	(void)state;
	struct vidmm_stats st = stats_of(e);
	assert_true(st.seg[e->local_invis].free >= N * sz);
	for (int i = 0; i < N; i++)
		h[i] = create_in(e, e->local_invis, sz, order[i], 0);
	create_in(e, e->local_invis, stats_of(e).seg[e->local_invis].free, VIDMM_PRIO_MAX,
		  VIDMM_ALLOC_UNPAGABLE);
	check_ok(e->vm);

	for (size_t k = 0; k < sizeof(victims) / sizeof(victims[0]); k++) {
		struct vidmm_stats st0 = stats_of(e);
		int v = victims[k];
		/* MAX priority newcomers never become the better victim. */
		create_in(e, e->local_invis, sz, VIDMM_PRIO_MAX, 0);
		check_ok(e->vm);
		gone[v] = true;
		for (int i = 0; i < N; i++) {
			bool res = is_resident(e, h[i]);
			if (res == gone[i])
				fail_msg("step %zu: allocation %d (priority %d) is %s, expected %s", k, i,
					 order[i], res ? "resident" : "evicted",
					 gone[i] ? "evicted" : "resident");
		}
		struct vidmm_stats st1 = stats_of(e);
		assert_int_equal(st1.page_outs - st0.page_outs, 1);
		for (int p = 0; p < VIDMM_PRIO_COUNT; p++)
			assert_int_equal(st1.evictions_by_priority[p] - st0.evictions_by_priority[p],
					 p == order[v] ? 1 : 0);
	}
	vt_env_down(e);
}

/* ---- POLICY-TABLE --------------------------------------------------------------------- */

/*
 * Every eviction policy keeps the rules the policy table promises: lower
 * priorities go first, a CPU-locked (pinned) allocation is never a victim,
 * and each step evicts exactly one; and every workload runs with --verify
 * under it, with no integrity error and every check passing. The order
 * within a priority is the policy's own and not asserted here.
 */
static void policy_table(void **state)
{
	const uint64_t sz = 1 * MIB;
	static const int order[] = { VIDMM_PRIO_MAX, VIDMM_PRIO_HIGH, VIDMM_PRIO_HIGH,
				     VIDMM_PRIO_NORMAL, VIDMM_PRIO_NORMAL, VIDMM_PRIO_LOW,
				     VIDMM_PRIO_LOW, VIDMM_PRIO_DISCARD, VIDMM_PRIO_DISCARD };
	enum { N = sizeof(order) / sizeof(order[0]) };
	static const char *const workloads[] = { "alloc-churn", "frag", "oversubscribe",
						 "game-frame", "ml-train", "paging", "swap",
						 "multi-client", "shared", NULL };
	unsigned npol = 0, nwork = 0;
	(void)state;

	while (vidmm_evict_policy_name(npol))
		npol++;
	while (workloads[nwork])
		nwork++;
	for (unsigned pi = 0; pi < npol; pi++) {
		const char *pol = vidmm_evict_policy_name(pi);
		int ran = 0;
		struct vt_env_opts o = { .evict_policy = pol };
		struct vt_env *e = vt_env_up(&o);
		vidmm_handle_t h[N], pinned;
		bool gone[N] = { false };
		void *cpu;

		for (int i = 0; i < N; i++) {
			h[i] = create_in(e, e->local_vis, sz, order[i], 0);
			gpu_touch(e, h[i]); /* a use, which some policies record */
		}
		/* In the same (CPU-visible) segment, a lowest-priority allocation
		 * locked by the CPU: the best victim by every order, and pinned. */
		pinned = create_in(e, e->local_vis, sz, VIDMM_PRIO_DISCARD, 0);
		assert_int_equal(vidmm_lock(e->vm, pinned, &cpu), 0);
		create_in(e, e->local_vis, stats_of(e).seg[e->local_vis].free, VIDMM_PRIO_MAX,
			  VIDMM_ALLOC_UNPAGABLE);
		check_ok(e->vm);
		for (int k = 0; k < N - 1; k++) {
			struct vidmm_stats st0 = stats_of(e);
			int lowest = VIDMM_PRIO_COUNT;
			for (int i = 0; i < N; i++)
				if (!gone[i] && order[i] < lowest)
					lowest = order[i];
			create_in(e, e->local_vis, sz, VIDMM_PRIO_MAX, 0);
			check_ok(e->vm);
			int victims = 0;
			for (int i = 0; i < N; i++) {
				if (gone[i] || is_resident(e, h[i]))
					continue;
				gone[i] = true;
				victims++;
				if (order[i] != lowest)
					fail_msg("%s, step %d: evicted allocation %d of priority %d while "
						 "priority %d had idle ones", pol, k, i, order[i], lowest);
			}
			assert_int_equal(victims, 1);
			assert_int_equal(stats_of(e).page_outs - st0.page_outs, 1);
			assert_true(is_resident(e, pinned));
		}
		assert_int_equal(vidmm_unlock(e->vm, pinned), 0);
		vt_env_down(e);

		for (int w = 0; workloads[w]; w++) {
			struct vt_result r;
			char seed[16];

			/* Under TSan, where this matrix took 3 of CI's 30 minutes,
			 * the workloads are dealt over the policies: each workload
			 * runs under one policy and each policy runs at least one.
			 * The release and ASan builds run the whole matrix. */
			if (VT_TSAN && (unsigned)w % npol != pi &&
			    !(pi >= nwork && (unsigned)w == pi % nwork))
				continue;
			ran++;
			snprintf(seed, sizeof(seed), "%u", 40 + pi);
			vt_run_bench(&r, (const char *[]){ "run", workloads[w], "--evict-policy", pol,
						  "--verify", "--duration", "0.2", "--allow-empty",
						  "--seed", seed, "--quiet", NULL });
			if (r.status != 0 && r.status != 77)
				vt_show(workloads[w], &r);
			if (r.status != 0 && r.status != 77)
				fail_msg("run %s --evict-policy %s --verify: exit %d", workloads[w], pol,
					 r.status);
		}
		printf("%s: priorities and pins held; %d workloads ran clean with --verify%s\n", pol,
		       ran, VT_TSAN ? " (TSan: the workloads dealt over the policies)" : "");
	}
}

/* ---- EVICT-ALL-PINNED-FAILS ---------------------------------------------------------- */

static void evict_all_pinned_fails(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	vidmm_handle_t h[32];
	struct vidmm_alloc_info before[32];
	void *cpu[32];
	int n = 0;

	(void)state;
	/* Local-visible filled with unpagable allocations and locked pagable
	 * ones, alternating; the remainder is unpagable too. */
	struct vidmm_stats st = stats_of(e);
	uint64_t left = st.seg[e->local_vis].free;
	while (left >= 1 * MIB && n < 32) {
		bool pin = n % 2 == 0;
		h[n] = create_in(e, e->local_vis, 1 * MIB, n % VIDMM_PRIO_COUNT,
				 pin ? VIDMM_ALLOC_UNPAGABLE : 0);
		if (!pin) {
			assert_int_equal(vidmm_lock(e->vm, h[n], &cpu[n]), 0);
			memset(cpu[n], 0x5a ^ n, 1 * MIB);
		}
		left -= 1 * MIB;
		n++;
	}
	if (left)
		create_in(e, e->local_vis, left, VIDMM_PRIO_LOW, VIDMM_ALLOC_UNPAGABLE);
	assert_true(n >= 4);
	for (int i = 0; i < n; i++)
		before[i] = info_of(e, h[i]);
	check_ok(e->vm);
	struct vidmm_stats st0 = stats_of(e);

	/* No victim exists: a clean -ENOSPC, whatever the request's size or
	 * priority, and nothing moved. */
	vidmm_handle_t x = 0;
	uint64_t sizes[] = { 4 * KIB, 1 * MIB, 3 * MIB };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int ret = try_create(e, e->local_vis, sizes[k], VIDMM_PRIO_MAX, 0, &x);
		if (ret != -ENOSPC)
			fail_msg("create %" PRIu64 " bytes with only pinned allocations: %d (%s), want -ENOSPC",
				 sizes[k], ret, vidmm_strerror(ret));
		check_ok(e->vm);
	}
	struct vidmm_stats st1 = stats_of(e);
	assert_int_equal(st1.page_outs, st0.page_outs);
	assert_int_equal(st1.bytes_paged_out, st0.bytes_paged_out);
	assert_int_equal(st1.seg[e->local_vis].free, 0);
	for (int i = 0; i < n; i++) {
		struct vidmm_alloc_info now = info_of(e, h[i]);
		assert_int_equal(now.residency, VIDMM_RESIDENT);
		assert_int_equal(now.segment, before[i].segment);
		assert_int_equal(now.gpu_addr, before[i].gpu_addr);
		if (i % 2) {
			/* Locked memory stayed where the CPU pointer says. */
			uint8_t *p = cpu[i];
			for (uint64_t o = 0; o < 1 * MIB; o += 4093)
				if (p[o] != (uint8_t)(0x5a ^ i))
					fail_msg("locked allocation %d changed at offset %" PRIu64, i, o);
		}
	}
	/* The same holds for vidmm_evict on a pinned allocation. */
	assert_int_equal(vidmm_evict(e->vm, h[0]), -EBUSY);
	assert_int_equal(vidmm_evict(e->vm, h[1]), -EBUSY);
	assert_int_equal(stats_of(e).page_outs, st0.page_outs);

	/* Unlock one: now there is a victim and the request succeeds. */
	assert_int_equal(vidmm_unlock(e->vm, h[1]), 0);
	assert_int_equal(try_create(e, e->local_vis, 1 * MIB, VIDMM_PRIO_MAX, 0, &x), 0);
	check_ok(e->vm);
	expect_evicted(e, h[1], "the one unlocked allocation");
	assert_int_equal(stats_of(e).page_outs, st0.page_outs + 1);
	for (int i = 3; i < n; i += 2)
		assert_int_equal(vidmm_unlock(e->vm, h[i]), 0);
	vt_env_down(e);
}

/* ---- EVICT-SKIP-BUSY ------------------------------------------------------------------- */

static void evict_skip_busy(void **state)
{
	/* A 1 s bound on waits for busy victims keeps the -EBUSY path quick
	 * and still leaves room for the 200 ms delayed fence below. */
	struct vt_env_opts o = { .fence_timeout_ns = 1 * SEC };
	struct vt_env *e = vt_env_up(&o);
	const uint64_t sz = 4 * MIB;
	struct vidmm_fence f;

	(void)state;
	/* a0 (low priority: the policy's first choice) and a1 (normal), the
	 * rest unpagable. */
	vidmm_handle_t a0 = create_in(e, e->local_invis, sz, VIDMM_PRIO_LOW, 0);
	vidmm_handle_t a1 = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	create_in(e, e->local_invis, stats_of(e).seg[e->local_invis].free, VIDMM_PRIO_MAX,
		  VIDMM_ALLOC_UNPAGABLE);
	gpu_fill(e, a0, 77);
	gpu_fill(e, a1, 78);
	gpu_touch(e, a1); /* a0 stays the least recent as well */
	uint64_t a0_addr = info_of(e, a0).gpu_addr;

	/* Keep a job on a0 in flight: a hung job engine never signals it. */
	assert_int_equal(emu_inject_hang(e->emu, e->job_engine), 0);
	assert_int_equal(submit1(e->vm, VIDMM_JOB_TOUCH, 0, a0, NULL, &f), 0);
	assert_false(vidmm_fence_signalled(e->vm, f));
	assert_int_equal(vidmm_evict(e->vm, a0), -EBUSY);
	check_ok(e->vm);

	/* The request passes over busy a0 and takes a1. */
	struct vidmm_stats st0 = stats_of(e);
	vidmm_handle_t x = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, VIDMM_ALLOC_UNPAGABLE);
	check_ok(e->vm);
	expect_resident_at(e, a0, e->local_invis, a0_addr, "busy a0");
	expect_evicted(e, a1, "idle a1");
	struct vidmm_stats st1 = stats_of(e);
	assert_int_equal(st1.page_outs - st0.page_outs, 1);
	assert_int_equal(st1.evictions_by_priority[VIDMM_PRIO_LOW],
			 st0.evictions_by_priority[VIDMM_PRIO_LOW]);

	/* Now only busy a0 could make room: a bounded wait, then -EBUSY. */
	vidmm_handle_t y = 0;
	uint64_t t0 = now_ns();
	int ret = try_create(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0, &y);
	uint64_t waited = now_ns() - t0;
	if (ret != -EBUSY)
		fail_msg("create with only a busy victim: %d (%s), want -EBUSY", ret, vidmm_strerror(ret));
	printf("only-busy request failed after %" PRIu64 " ms\n", waited / MS);
	assert_true(waited < 20 * SEC); /* bounded: 1 s configured */
	check_ok(e->vm);
	struct vidmm_stats st2 = stats_of(e);
	assert_true(st2.busy_waits > st1.busy_waits);
	assert_int_equal(st2.page_outs, st1.page_outs);
	expect_resident_at(e, a0, e->local_invis, a0_addr, "busy a0 after -EBUSY");

	/* Reset the engine: the job is aborted, its fence signals, a0 is idle
	 * and becomes the victim. */
	assert_int_equal(emu_reset_engine(e->emu, e->job_engine), 0);
	assert_int_equal(vidmm_wait_fence(e->vm, f, JOB_WAIT_NS), 0);
	assert_int_equal(try_create(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0, &y), 0);
	check_ok(e->vm);
	expect_evicted(e, a0, "a0 once idle");

	/* Neither was damaged by any of this. */
	assert_int_equal(vidmm_destroy_allocation(e->vm, x), 0);
	assert_int_equal(vidmm_destroy_allocation(e->vm, y), 0);
	assert_int_equal(gpu_verify(e, a0, 77), 0);
	assert_int_equal(gpu_verify(e, a1, 78), 0);
	check_ok(e->vm);

	/* A slow fence (not a hang): the request waits for it and succeeds,
	 * and the victim moved only after its fence signalled. */
	assert_true(is_resident(e, a0) && is_resident(e, a1));
	vidmm_handle_t z1 = create_in(e, e->local_invis, sz, VIDMM_PRIO_MAX, VIDMM_ALLOC_UNPAGABLE);
	(void)z1;
	assert_int_equal(vidmm_evict(e->vm, a1), 0); /* a0 is the only victim left */
	assert_int_equal(emu_inject_fence_delay(e->emu, e->job_engine, 200 * MS, 1), 0);
	assert_int_equal(submit1(e->vm, VIDMM_JOB_TOUCH, 0, a0, NULL, &f), 0);
	st1 = stats_of(e);
	ret = try_create(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0, &y);
	if (ret)
		fail_msg("create behind a 200 ms fence (1 s bound): %s", vidmm_strerror(ret));
	assert_true(vidmm_fence_signalled(e->vm, f));
	check_ok(e->vm);
	expect_evicted(e, a0, "a0 after its slow fence");
	st2 = stats_of(e);
	assert_true(st2.busy_waits > st1.busy_waits);
	assert_int_equal(vidmm_destroy_allocation(e->vm, y), 0);
	assert_int_equal(gpu_verify(e, a0, 77), 0);
	check_ok(e->vm);
	vt_env_down(e);
}

/* ---- EVICT-DELETED-REAPED --------------------------------------------------------------- */

static void evict_deleted_reaped(void **state)
{
	struct vt_env_opts o = { .fence_timeout_ns = 1 * SEC };
	struct vt_env *e = vt_env_up(&o);
	const uint64_t sz = 4 * MIB;
	struct vidmm_fence f;
	struct vidmm_alloc_info ai;

	(void)state;
	vidmm_handle_t a = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	create_in(e, e->local_invis, stats_of(e).seg[e->local_invis].free, VIDMM_PRIO_MAX,
		  VIDMM_ALLOC_UNPAGABLE);
	uint64_t a_addr = info_of(e, a).gpu_addr;
	struct vidmm_stats st0 = stats_of(e);

	/* Destroy while a job still uses it: the handle dies now, the range
	 * later. */
	assert_int_equal(emu_inject_hang(e->emu, e->job_engine), 0);
	assert_int_equal(submit1(e->vm, VIDMM_JOB_TOUCH, 0, a, NULL, &f), 0);
	assert_int_equal(vidmm_destroy_allocation(e->vm, a), 0);
	assert_int_equal(vidmm_query_allocation(e->vm, a, &ai), -EBADF);
	assert_int_equal(vidmm_destroy_allocation(e->vm, a), -EBADF);
	check_ok(e->vm);
	struct vidmm_stats st1 = stats_of(e);
	assert_int_equal(st1.deferred_destroys - st0.deferred_destroys, 1);
	assert_int_equal(st1.seg[e->local_invis].free, 0); /* still held by the job */

	/* While the fence cannot signal, its range is not usable: the cause
	 * is a busy allocation, so -EBUSY (not -ENOSPC), after a bounded wait. */
	vidmm_handle_t b = 0;
	uint64_t t0 = now_ns();
	int ret = try_create(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0, &b);
	if (ret != -EBUSY)
		fail_msg("create while the only room is a busy destroyed range: %d (%s), want -EBUSY",
			 ret, vidmm_strerror(ret));
	assert_true(now_ns() - t0 < 20 * SEC);
	check_ok(e->vm);

	/* Fence signals (engine reset): the waiting request gets the range. */
	assert_int_equal(emu_reset_engine(e->emu, e->job_engine), 0);
	assert_int_equal(vidmm_wait_fence(e->vm, f, JOB_WAIT_NS), 0);
	ret = try_create(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0, &b);
	if (ret)
		fail_msg("create after the destroyed allocation's fence signalled: %s", vidmm_strerror(ret));
	expect_resident_at(e, b, e->local_invis, a_addr, "new allocation in the reaped range");
	check_ok(e->vm);
	struct vidmm_stats st2 = stats_of(e);
	assert_int_equal(st2.page_outs, st0.page_outs); /* reaped, not paged out */

	/* Same with a fence that is merely late: a request arriving while it
	 * is pending waits for it and then gets the range. */
	gpu_fill(e, b, 5);
	assert_int_equal(emu_inject_fence_delay(e->emu, e->job_engine, 300 * MS, 1), 0);
	assert_int_equal(submit1(e->vm, VIDMM_JOB_TOUCH, 0, b, NULL, &f), 0);
	assert_int_equal(vidmm_destroy_allocation(e->vm, b), 0);
	assert_false(vidmm_fence_signalled(e->vm, f));
	vidmm_handle_t c = 0;
	ret = try_create(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0, &c);
	if (ret)
		fail_msg("create behind a destroyed allocation's 300 ms fence: %s", vidmm_strerror(ret));
	assert_true(vidmm_fence_signalled(e->vm, f));
	expect_resident_at(e, c, e->local_invis, a_addr, "allocation in the reaped range");
	struct vidmm_stats st3 = stats_of(e);
	assert_int_equal(st3.deferred_destroys - st0.deferred_destroys, 2);
	assert_int_equal(st3.page_outs, st0.page_outs);
	check_ok(e->vm);

	/* A destroy of an idle allocation (its clear done) is immediate, not
	 * deferred. */
	assert_int_equal(vidmm_wait_idle(e->vm, JOB_WAIT_NS), 0);
	assert_int_equal(vidmm_destroy_allocation(e->vm, c), 0);
	assert_int_equal(stats_of(e).seg[e->local_invis].free, sz);
	assert_int_equal(stats_of(e).deferred_destroys, st3.deferred_destroys);
	check_ok(e->vm);
	vt_env_down(e);
}

/* ---- EVICT-CONTIGUOUS-WINDOW ------------------------------------------------------------- */

struct by_addr {
	vidmm_handle_t h;
	uint64_t addr;
};

static int cmp_addr(const void *x, const void *y)
{
	const struct by_addr *a = x, *b = y;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/*
 * 1 MiB allocations tiling local-invisible, used so that every other one (by
 * address) is least recent: the oldest victims are scattered 1 MiB holes.
 * Then one 4 MiB request. Returns the bytes paged out; *one_window tells
 * whether the victims formed one contiguous address range.
 */
static uint64_t fragmented_request(bool plain, bool *one_window, uint64_t *victims)
{
	struct vt_env_opts o = { .plain_lru = plain };
	struct vt_env *e = vt_env_up(&o);
	vidmm_handle_t h[64];
	struct by_addr s[64];
	const uint64_t req = 4 * MIB;

	int n = fill_segment(e, e->local_invis, 1 * MIB, VIDMM_PRIO_NORMAL, h, 64);
	assert_true(n >= 16);
	for (int i = 0; i < n; i++) {
		s[i].h = h[i];
		s[i].addr = info_of(e, h[i]).gpu_addr;
	}
	qsort(s, (size_t)n, sizeof(s[0]), cmp_addr);
	for (int i = 1; i < n; i++)
		assert_int_equal(s[i].addr, s[i - 1].addr + 1 * MIB); /* tiled */
	/* LRU order: even ranks (creation), then odd ranks (these jobs). */
	for (int i = 1; i < n; i += 2)
		gpu_touch(e, s[i].h);
	check_ok(e->vm);

	struct vidmm_stats st0 = stats_of(e);
	vidmm_handle_t big = create_in(e, e->local_invis, req, VIDMM_PRIO_NORMAL, 0);
	check_ok(e->vm);
	struct vidmm_stats st1 = stats_of(e);
	uint64_t bytes = st1.bytes_paged_out - st0.bytes_paged_out;
	struct vidmm_alloc_info bi = info_of(e, big);

	/* The victims' old ranges: one run of neighbours, or scattered? */
	int first = -1, last = -1, count = 0;
	*one_window = true;
	for (int i = 0; i < n; i++) {
		if (is_resident(e, s[i].h))
			continue;
		if (last >= 0 && i != last + 1)
			*one_window = false;
		if (first < 0)
			first = i;
		last = i;
		count++;
	}
	*victims = (uint64_t)count;
	assert_int_equal(bytes, (uint64_t)count * MIB);
	assert_int_equal(st1.page_outs - st0.page_outs, (uint64_t)count);
	if (*one_window && count) {
		/* ...and the new allocation lies in the hole they left. */
		assert_true(bi.gpu_addr >= s[first].addr);
		assert_true(bi.gpu_addr + req <= s[last].addr + 1 * MIB);
	}
	printf("%s: %d victims, %" PRIu64 " MiB paged out, %s\n",
	       plain ? "plain LRU" : "contiguous window", count, bytes / MIB,
	       *one_window ? "one contiguous range" : "scattered");
	vt_env_down(e);
	return bytes;
}

static void evict_contiguous_window(void **state)
{
	bool w_one, p_one;
	uint64_t w_n, p_n;

	(void)state;
	uint64_t window = fragmented_request(false, &w_one, &w_n);
	uint64_t plain = fragmented_request(true, &p_one, &p_n);

	/* The layout really is fragmented: plain LRU had to evict much more
	 * than the request (else the comparison would say nothing). */
	assert_true(plain > 2 * 4 * MIB);
	if (window >= plain)
		fail_msg("window eviction paged out %" PRIu64 " bytes, plain LRU %" PRIu64
			 ": the window should evict fewer", window, plain);
	if (!w_one)
		fail_msg("window eviction's %" PRIu64 " victims are not one contiguous range", w_n);
	/* One window: the request plus at most one partial victim at each end. */
	assert_true(window <= 4 * MIB + 2 * 1 * MIB);
}

/* ---- PAGE-WINDOW-ONE-COPY ------------------------------------------------------------------ */

/* Bytes the copy engines have written so far (the hardware's own count). */
static uint64_t copy_engine_bytes(struct vt_env *e)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < e->eng.n_copy; i++) {
		struct emu_engine_stats es;
		assert_int_equal(emu_engine_stats(e->emu, i, &es), 0);
		sum += es.bytes;
	}
	return sum;
}

static void page_copies(enum vidmm_paging_mode mode)
{
	struct vt_env_opts o = { .mode = mode };
	struct vt_env *e = vt_env_up(&o);
	const uint64_t sizes[] = { 4 * MIB, 1 * MIB + 12 * KIB, 64 * KIB };
	const uint64_t copies = mode == VIDMM_PAGING_WINDOW ? 1 : 2;
	const char *name = mode == VIDMM_PAGING_WINDOW ? "window" : "bounce";
	uint64_t dummy0 = faults_of(e).dummy_page_accesses;

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint64_t sz = sizes[k], seed = 0xabc0 + k;
		vidmm_handle_t h = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
		gpu_fill(e, h, seed);

		struct vidmm_stats st0 = stats_of(e);
		uint64_t gpu0 = copy_engine_bytes(e);
		assert_int_equal(vidmm_evict(e->vm, h), 0);
		check_ok(e->vm);
		expect_evicted(e, h, "after vidmm_evict");
		struct vidmm_stats st1 = stats_of(e);
		/* The engines moved each byte once in either mode; bounce mode's
		 * second copy is the CPU's. The counters must agree with that. */
		uint64_t gpu1 = copy_engine_bytes(e);
		assert_int_equal(gpu1 - gpu0, sz);
		uint64_t win = st1.bytes_copied_window - st0.bytes_copied_window;
		uint64_t bnc = st1.bytes_copied_bounce - st0.bytes_copied_bounce;
		printf("%s mode, %" PRIu64 " bytes: page-out copied %" PRIu64 " (window) + %" PRIu64
		       " (bounce)\n", name, sz, win, bnc);
		assert_int_equal(st1.page_outs - st0.page_outs, 1);
		assert_int_equal(st1.bytes_paged_out - st0.bytes_paged_out, sz);
		assert_int_equal(st1.evicted_allocations, st0.evicted_allocations + 1);
		assert_int_equal(win + bnc, copies * sz);
		assert_int_equal(mode == VIDMM_PAGING_WINDOW ? win : bnc, copies * sz);
		/* The local range is free again once the page-out returned. */
		assert_int_equal(st1.seg[e->local_invis].free, st0.seg[e->local_invis].free + sz);

		/* Page in (a job uses it): the same number of copies back. */
		scrub_free(e, e->local_invis);
		st1 = stats_of(e);
		gpu1 = copy_engine_bytes(e);
		assert_int_equal(gpu_verify(e, h, seed), 0);
		check_ok(e->vm);
		assert_true(is_resident(e, h));
		struct vidmm_stats st2 = stats_of(e);
		assert_int_equal(copy_engine_bytes(e) - gpu1, sz);
		win = st2.bytes_copied_window - st1.bytes_copied_window;
		bnc = st2.bytes_copied_bounce - st1.bytes_copied_bounce;
		printf("%s mode, %" PRIu64 " bytes: page-in copied %" PRIu64 " (window) + %" PRIu64
		       " (bounce)\n", name, sz, win, bnc);
		assert_int_equal(st2.page_ins - st1.page_ins, 1);
		assert_int_equal(st2.bytes_paged_in - st1.bytes_paged_in, sz);
		assert_int_equal(win + bnc, copies * sz);
		assert_int_equal(mode == VIDMM_PAGING_WINDOW ? win : bnc, copies * sz);
		assert_int_equal(st2.evicted_allocations, st0.evicted_allocations);
		/* A wrong seed does not verify: the check can fail. */
		assert_true(gpu_verify(e, h, seed + 1) > 0);
	}
	assert_int_equal(faults_of(e).dummy_page_accesses, dummy0);
	vt_env_down(e);
}

static void page_window_one_copy(void **state)
{
	(void)state;
	page_copies(VIDMM_PAGING_WINDOW);
	page_copies(VIDMM_PAGING_BOUNCE);
}

/* ---- PAGE-IN-AT-SUBMIT ---------------------------------------------------------------------- */

static void page_in_at_submit(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	const uint64_t sz = 2 * MIB;
	uint64_t bad = UINT64_MAX;

	(void)state;
	vidmm_handle_t a = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	vidmm_handle_t b = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	gpu_fill(e, a, 42);
	gpu_fill(e, b, 43);
	assert_int_equal(vidmm_evict(e->vm, a), 0);
	assert_int_equal(vidmm_evict(e->vm, b), 0);
	expect_evicted(e, a, "a");
	scrub_free(e, e->local_invis);
	check_ok(e->vm);
	struct vidmm_stats st0 = stats_of(e);
	struct vidmm_chip_faults f0 = faults_of(e);

	/* The job itself makes a resident; it must see the data, not the
	 * dummy page. */
	assert_int_equal(gpu_verify(e, a, 42), 0);
	assert_true(is_resident(e, a));
	assert_int_equal(info_of(e, a).segment, e->local_invis);
	struct vidmm_stats st1 = stats_of(e);
	assert_int_equal(st1.page_ins - st0.page_ins, 1);
	assert_int_equal(st1.bytes_paged_in - st0.bytes_paged_in, sz);
	assert_int_equal(st1.dummy_page_faults, st0.dummy_page_faults);
	assert_int_equal(faults_of(e).dummy_page_accesses, f0.dummy_page_accesses);
	check_ok(e->vm);

	/* Two refs, both paged in by one submit: COPY a (read) -> b (write),
	 * then b holds a's pattern. */
	assert_int_equal(vidmm_evict(e->vm, a), 0);
	scrub_free(e, e->local_invis);
	vidmm_handle_t refs[2] = { a, b };
	uint32_t acc[2] = { VIDMM_ACCESS_READ, VIDMM_ACCESS_WRITE };
	struct vidmm_fence f;
	assert_int_equal(submit_refs(e->vm, VIDMM_JOB_COPY, 0, refs, acc, 2, NULL, &f), 0);
	assert_true(is_resident(e, a) && is_resident(e, b));
	assert_int_equal(vidmm_wait_fence(e->vm, f, JOB_WAIT_NS), 0);
	assert_int_equal(gpu_verify(e, b, 42), 0);
	assert_int_equal(stats_of(e).page_ins - st1.page_ins, 2);

	/* A write job on an evicted allocation, then evicted again and read:
	 * the written data, not the old, comes back. */
	assert_int_equal(vidmm_evict(e->vm, b), 0);
	gpu_fill(e, b, 44);
	assert_int_equal(vidmm_evict(e->vm, b), 0);
	scrub_free(e, e->local_invis);
	assert_int_equal(gpu_verify(e, b, 44), 0);

	/* PCIe placement: page-out and page-in are GART remaps, no copy. */
	vidmm_handle_t p = create_in(e, e->pcie_unsnoop, sz, VIDMM_PRIO_NORMAL, 0);
	gpu_fill(e, p, 45);
	struct vidmm_stats sp0 = stats_of(e);
	assert_int_equal(vidmm_evict(e->vm, p), 0);
	expect_evicted(e, p, "PCIe allocation");
	check_ok(e->vm);
	assert_int_equal(gpu_verify(e, p, 45), 0);
	assert_true(is_resident(e, p));
	struct vidmm_stats sp1 = stats_of(e);
	assert_int_equal(sp1.bytes_copied_window, sp0.bytes_copied_window);
	assert_int_equal(sp1.bytes_copied_bounce, sp0.bytes_copied_bounce);
	assert_true(sp1.pcie_remaps >= sp0.pcie_remaps + 1);

	/* A job on a destroyed handle is refused, nothing submitted. */
	assert_int_equal(vidmm_destroy_allocation(e->vm, p), 0);
	assert_int_equal(submit1(e->vm, VIDMM_JOB_VERIFY, 45, p, &bad, &f), -EBADF);

	struct vidmm_stats st2 = stats_of(e);
	assert_int_equal(st2.dummy_page_faults, st0.dummy_page_faults);
	assert_int_equal(faults_of(e).dummy_page_accesses, f0.dummy_page_accesses);
	check_ok(e->vm);
	vt_env_down(e);
}

/* ---- LOCK-PINS --------------------------------------------------------------------------- */

static void cpu_pattern(void *cpu, uint64_t size, uint64_t seed)
{
	uint64_t *w = cpu;
	for (uint64_t o = 0; o < size; o += 8)
		w[o / 8] = vidmm_pattern_word(seed, o);
}

static uint64_t cpu_mismatches(const void *cpu, uint64_t size, uint64_t seed)
{
	const uint64_t *w = cpu;
	uint64_t bad = 0;
	for (uint64_t o = 0; o < size; o += 8)
		bad += w[o / 8] != vidmm_pattern_word(seed, o);
	return bad;
}

static void lock_pins(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	const uint64_t sz = 1 * MIB;
	vidmm_handle_t fill[32];
	void *cpu = NULL, *cpu2 = NULL;

	(void)state;
	/* l is the policy's first choice (low priority, oldest)... */
	vidmm_handle_t l = create_in(e, e->local_vis, sz, VIDMM_PRIO_LOW, VIDMM_ALLOC_CPU_VISIBLE);
	assert_int_equal(vidmm_lock(e->vm, l, &cpu), 0);
	assert_non_null(cpu);
	cpu_pattern(cpu, sz, 31);
	uint64_t l_addr = info_of(e, l).gpu_addr;
	/* ...but locked. The rest of local-visible: normal-priority victims. */
	int n = fill_segment(e, e->local_vis, sz, VIDMM_PRIO_NORMAL, fill, 32);
	assert_true(n >= 4);
	check_ok(e->vm);
	assert_int_equal(vidmm_evict(e->vm, l), -EBUSY);

	/* Pressure: twice the segment's worth of new allocations. */
	struct vidmm_stats st0 = stats_of(e);
	for (int i = 0; i < 2 * n; i++) {
		vidmm_handle_t h = create_in(e, e->local_vis, sz, VIDMM_PRIO_NORMAL, 0);
		if (i % 2)
			assert_int_equal(vidmm_destroy_allocation(e->vm, h), 0);
		expect_resident_at(e, l, e->local_vis, l_addr, "locked allocation under pressure");
		if (i % 4 == 0)
			check_ok(e->vm);
	}
	assert_true(stats_of(e).page_outs > st0.page_outs);
	assert_int_equal(stats_of(e).evictions_by_priority[VIDMM_PRIO_LOW],
			 st0.evictions_by_priority[VIDMM_PRIO_LOW]);
	/* The CPU pointer still maps it: contents intact, and what the CPU
	 * writes now is what the GPU reads. */
	assert_int_equal(cpu_mismatches(cpu, sz, 31), 0);
	cpu_pattern(cpu, sz, 32);
	assert_int_equal(gpu_verify(e, l, 32), 0);
	expect_resident_at(e, l, e->local_vis, l_addr, "locked allocation after a job");

	/* Locks nest: one unlock of two leaves it pinned. */
	assert_int_equal(vidmm_lock(e->vm, l, &cpu2), 0);
	assert_ptr_equal(cpu2, cpu);
	assert_int_equal(vidmm_unlock(e->vm, l), 0);
	assert_int_equal(vidmm_evict(e->vm, l), -EBUSY);
	create_in(e, e->local_vis, sz, VIDMM_PRIO_NORMAL, 0);
	expect_resident_at(e, l, e->local_vis, l_addr, "still locked once");
	assert_int_equal(cpu_mismatches(cpu, sz, 32), 0);
	check_ok(e->vm);

	/* Fully unlocked: evictable again (and the first choice of the policy). */
	assert_int_equal(vidmm_unlock(e->vm, l), 0);
	create_in(e, e->local_vis, sz, VIDMM_PRIO_NORMAL, 0);
	check_ok(e->vm);
	expect_evicted(e, l, "unlocked low-priority allocation under pressure");
	/* Locking pages it back in, CPU-visible, with its data. */
	assert_int_equal(vidmm_lock(e->vm, l, &cpu), 0);
	assert_true(is_resident(e, l));
	assert_int_equal(info_of(e, l).segment, e->local_vis);
	assert_int_equal(cpu_mismatches(cpu, sz, 32), 0);
	assert_int_equal(vidmm_unlock(e->vm, l), 0);
	/* Unlocking what is not locked is an error, not a count underflow. */
	assert_true(vidmm_unlock(e->vm, l) < 0);
	assert_int_equal(vidmm_evict(e->vm, l), 0);
	check_ok(e->vm);
	vt_env_down(e);
}

/* ---- FENCE-TIMEOUT --------------------------------------------------------------------- */

/* Wait until every command queued on the engine has completed. */
static void engine_drain(struct vt_env *e, uint32_t engine, uint64_t timeout_ns)
{
	struct emu_engine_stats es;
	uint64_t end = now_ns() + timeout_ns;

	for (;;) {
		assert_int_equal(emu_engine_stats(e->emu, engine, &es), 0);
		if (es.completed >= es.submitted)
			return;
		if (now_ns() > end)
			fail_msg("engine %u still has %" PRIu64 " commands queued", engine,
				 es.submitted - es.completed);
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

/*
 * A slow copy engine (not a hung one): its commands still run, late. A
 * page-in that timed out must not leave its copy aimed at a local range the
 * manager has since given to another allocation - when the engine gets to
 * it, it would overwrite that allocation's data.
 */
static void slow_copy_engine_timeout(void)
{
	struct vt_env_opts o = { .fence_timeout_ns = 300 * MS };
	struct vt_env *e = vt_env_up(&o);
	const uint64_t sz = 1 * MIB;
	uint64_t bad = UINT64_MAX;
	struct vidmm_fence f;

	/* x and y in local-invisible, the rest unpagable; y paged out leaves
	 * the segment's only hole. */
	vidmm_handle_t x = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	vidmm_handle_t y = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	create_in(e, e->local_invis, stats_of(e).seg[e->local_invis].free, VIDMM_PRIO_MAX,
		  VIDMM_ALLOC_UNPAGABLE);
	gpu_fill(e, x, 21);
	gpu_fill(e, y, 22);
	assert_int_equal(vidmm_evict(e->vm, y), 0);

	/* The next copy-engine command signals 1 s after its work: x's
	 * page-out copy runs at once, then the engine sits busy for 1 s, and
	 * the manager gives up after 300 ms (x stays resident). */
	for (uint32_t i = 0; i < e->eng.n_copy; i++)
		assert_int_equal(emu_inject_fence_delay(e->emu, i, 1 * SEC, 1), 0);
	int ret = vidmm_evict(e->vm, x);
	if (ret != -ETIMEDOUT)
		fail_msg("evict on a slow copy engine: %d (%s), want -ETIMEDOUT", ret, vidmm_strerror(ret));
	assert_true(is_resident(e, x));
	check_ok(e->vm);

	/* y's page-in copy queues behind it and times out as well: the submit
	 * fails and y stays paged out. */
	ret = submit1(e->vm, VIDMM_JOB_VERIFY, 22, y, &bad, &f);
	printf("page-in behind a slow copy engine: %d (%s)\n", ret, vidmm_strerror(ret));
	if (ret == 0)
		fail_msg("a page-in whose copy did not complete within the timeout was submitted");
	expect_evicted(e, y, "y after its page-in timed out");
	check_ok(e->vm);

	/* Whoever gets the hole now must keep its data once the late copy has
	 * run. */
	vidmm_handle_t z = 0;
	ret = try_create(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0, &z);
	if (ret == 0) {
		gpu_fill(e, z, 23);
		for (uint32_t i = 0; i < e->eng.n_copy; i++)
			engine_drain(e, i, 10 * SEC);
		uint64_t zbad = gpu_verify(e, z, 23);
		if (zbad)
			fail_msg("%" PRIu64 " words of an allocation placed where a timed-out page-in "
				 "was headed were overwritten when the late copy ran", zbad);
	} else {
		/* Keeping the range until the copy's fence signals is the other
		 * correct answer: then the request waits or is refused. */
		assert_true(ret == -EBUSY || ret == -ENOSPC);
		for (uint32_t i = 0; i < e->eng.n_copy; i++)
			engine_drain(e, i, 10 * SEC);
	}
	check_ok(e->vm);
	/* And y itself, once the engine is quick again, comes back intact. */
	if (z)
		assert_int_equal(vidmm_destroy_allocation(e->vm, z), 0);
	assert_int_equal(gpu_verify(e, y, 22), 0);
	assert_int_equal(gpu_verify(e, x, 21), 0);
	check_ok(e->vm);
	vt_env_down(e);
}

static void fence_timeout(void **state)
{
	struct vt_env_opts o = { .fence_timeout_ns = 300 * MS };
	struct vt_env *e = vt_env_up(&o);
	struct vidmm_fence f;
	void *cpu = NULL;

	(void)state;
	vidmm_handle_t a = create_in(e, e->local_vis, 1 * MIB, VIDMM_PRIO_NORMAL, VIDMM_ALLOC_CPU_VISIBLE);
	vidmm_handle_t b = create_in(e, e->local_invis, 1 * MIB, VIDMM_PRIO_NORMAL, 0);
	gpu_fill(e, a, 11);
	gpu_fill(e, b, 12);

	/* A hung job engine: the wait times out, with a readable reason. */
	assert_int_equal(emu_inject_hang(e->emu, e->job_engine), 0);
	assert_int_equal(submit1(e->vm, VIDMM_JOB_TOUCH, 0, a, NULL, &f), 0);
	uint64_t t0 = now_ns();
	int ret = vidmm_wait_fence(e->vm, f, 100 * MS);
	uint64_t took = now_ns() - t0;
	assert_int_equal(ret, -ETIMEDOUT);
	assert_true(took >= 90 * MS && took < 10 * SEC);
	const char *msg = vidmm_strerror(ret);
	assert_non_null(msg);
	printf("wait on a hung engine: %s\n", msg);
	assert_non_null(strstr(msg, "timed out"));
	assert_false(vidmm_fence_signalled(e->vm, f));
	check_ok(e->vm);

	/* CPU lock waits for the GPU work, bounded by the configured 300 ms. */
	t0 = now_ns();
	ret = vidmm_lock(e->vm, a, &cpu);
	took = now_ns() - t0;
	if (ret != -ETIMEDOUT)
		fail_msg("lock behind a hung job: %d (%s), want -ETIMEDOUT", ret, vidmm_strerror(ret));
	assert_true(took < 10 * SEC);
	check_ok(e->vm);

	/* A hung copy engine: a page-out cannot complete. It fails in bounded
	 * time and the allocation stays resident with its data. */
	for (uint32_t i = 0; i < e->eng.n_copy; i++)
		assert_int_equal(emu_inject_hang(e->emu, i), 0);
	uint64_t b_addr = info_of(e, b).gpu_addr;
	t0 = now_ns();
	ret = vidmm_evict(e->vm, b);
	took = now_ns() - t0;
	printf("page-out on a hung copy engine: %d (%s) after %" PRIu64 " ms\n", ret,
	       vidmm_strerror(ret), took / MS);
	if (ret != -ETIMEDOUT)
		fail_msg("evict on a hung copy engine: %d (%s), want -ETIMEDOUT", ret, vidmm_strerror(ret));
	assert_true(took < 10 * SEC);
	expect_resident_at(e, b, e->local_invis, b_addr, "allocation whose page-out timed out");
	check_ok(e->vm);

	/* Reset: fences signal (the aborted commands fail with -EIO), and
	 * everything works again. */
	for (uint32_t i = 0; i < e->eng.n_copy + e->eng.n_job; i++)
		assert_int_equal(emu_reset_engine(e->emu, i), 0);
	assert_int_equal(vidmm_wait_fence(e->vm, f, JOB_WAIT_NS), 0);
	assert_true(vidmm_fence_signalled(e->vm, f));
	check_ok(e->vm);
	assert_int_equal(vidmm_lock(e->vm, a, &cpu), 0);
	assert_int_equal(cpu_mismatches(cpu, 1 * MIB, 11), 0);
	assert_int_equal(vidmm_unlock(e->vm, a), 0);
	/* The failed lock left no pin behind: a can be evicted. */
	assert_int_equal(vidmm_evict(e->vm, a), 0);
	expect_resident_at(e, b, e->local_invis, b_addr, "b after reset");
	assert_int_equal(gpu_verify(e, b, 12), 0);
	assert_int_equal(vidmm_evict(e->vm, b), 0);
	assert_int_equal(gpu_verify(e, b, 12), 0);
	assert_int_equal(gpu_verify(e, a, 11), 0);
	check_ok(e->vm);
	vt_env_down(e);

	slow_copy_engine_timeout();
}

/* ---- FAULT-COPY-FAILS ------------------------------------------------------------------- */

static void inject_copy_failures(struct vt_env *e, uint32_t n)
{
	for (uint32_t i = 0; i < e->eng.n_copy; i++)
		assert_int_equal(emu_inject_copy_failure(e->emu, i, n), 0);
}

static void fault_copy_fails(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	const uint64_t sz = 4 * MIB;
	struct vidmm_fence f;
	uint64_t bad = UINT64_MAX;

	(void)state;
	vidmm_handle_t v1 = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	vidmm_handle_t v2 = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	create_in(e, e->local_invis, stats_of(e).seg[e->local_invis].free, VIDMM_PRIO_MAX,
		  VIDMM_ALLOC_UNPAGABLE);
	gpu_fill(e, v1, 101); /* v1 is the least recent: first victim */
	gpu_fill(e, v2, 102);
	uint64_t v1_addr = info_of(e, v1).gpu_addr;
	uint64_t dummy0 = faults_of(e).dummy_page_accesses;
	struct vidmm_stats st0 = stats_of(e);

	/* Page-out of v1 fails: the request fails or takes v2, v1 stays. */
	inject_copy_failures(e, 1);
	vidmm_handle_t x = 0;
	int ret = try_create(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0, &x);
	inject_copy_failures(e, 0);
	printf("request whose first victim's copy failed: %d (%s)\n", ret, vidmm_strerror(ret));
	check_ok(e->vm);
	expect_resident_at(e, v1, e->local_invis, v1_addr, "victim whose page-out copy failed");
	struct vidmm_stats st1 = stats_of(e);
	assert_int_equal(st1.copy_failures - st0.copy_failures, 1);
	if (ret == 0)
		expect_evicted(e, v2, "the other victim");
	else
		assert_true(ret == -EIO || ret == -ENOSPC || ret == -EBUSY);
	if (ret == 0)
		assert_int_equal(vidmm_destroy_allocation(e->vm, x), 0);
	assert_int_equal(gpu_verify(e, v1, 101), 0);
	assert_int_equal(gpu_verify(e, v2, 102), 0);
	check_ok(e->vm);

	/* vidmm_evict with a failing copy: -EIO, still resident and intact. */
	st0 = stats_of(e);
	v1_addr = info_of(e, v1).gpu_addr;
	inject_copy_failures(e, 1);
	ret = vidmm_evict(e->vm, v1);
	inject_copy_failures(e, 0);
	if (ret != -EIO)
		fail_msg("evict with a failing copy: %d (%s), want -EIO", ret, vidmm_strerror(ret));
	check_ok(e->vm);
	expect_resident_at(e, v1, e->local_invis, v1_addr, "after a failed vidmm_evict");
	st1 = stats_of(e);
	assert_int_equal(st1.copy_failures - st0.copy_failures, 1);
	assert_int_equal(st1.page_outs, st0.page_outs);
	assert_int_equal(gpu_verify(e, v1, 101), 0);

	/* Page-in at submit with a failing copy: -EIO, no job submitted, the
	 * data still safe in system pages; the retry works. */
	assert_int_equal(vidmm_evict(e->vm, v1), 0);
	struct emu_engine_stats es0, es1;
	assert_int_equal(emu_engine_stats(e->emu, e->job_engine, &es0), 0);
	st0 = stats_of(e);
	inject_copy_failures(e, 1);
	ret = submit1(e->vm, VIDMM_JOB_VERIFY, 101, v1, &bad, &f);
	inject_copy_failures(e, 0);
	if (ret != -EIO)
		fail_msg("submit whose page-in copy fails: %d (%s), want -EIO", ret, vidmm_strerror(ret));
	check_ok(e->vm);
	assert_int_equal(emu_engine_stats(e->emu, e->job_engine, &es1), 0);
	assert_int_equal(es1.submitted, es0.submitted);
	expect_evicted(e, v1, "after a failed page-in");
	st1 = stats_of(e);
	assert_int_equal(st1.copy_failures - st0.copy_failures, 1);
	assert_int_equal(st1.seg[e->local_invis].free, st0.seg[e->local_invis].free);
	scrub_free(e, e->local_invis);
	assert_int_equal(gpu_verify(e, v1, 101), 0);
	assert_int_equal(faults_of(e).dummy_page_accesses, dummy0);
	check_ok(e->vm);
	vt_env_down(e);
}

/* ---- PIPELINED-PAGING-CORRECT ---------------------------------------------------------- */

/*
 * Pipelined paging keeps the data right and takes the CPU wait out of a
 * page-in. Two copy engines. (1) A page-in whose copies start late (an
 * injected start delay) is queued and the submit returns with no CPU wait
 * (paging_cpu_waits unchanged) while the copies still run; the VERIFY job
 * that follows them on the GPU sees the data. The same in synchronous mode
 * waits (paging_cpu_waits grows): the counter tells the modes apart. (2) A
 * page-in copy that fails after the job was queued behind it cancels the
 * job (its fence reports -EIO: the API says the job failed) and is issued
 * again from the system copy: the next VERIFY sees the data and no byte of
 * the range's previous owner; (2b) one seen failed before the job is
 * queued is issued again first. (3) A job on two allocations paged in
 * together, one of whose copies fails: the job is cancelled, not run on
 * the failed one.
 * (4) A busy victim is paged out after its job, not waited for.
 */
/* Every copy engine's next commands start ns late (0: none). */
static void late_copies(struct vt_env *e, uint64_t ns)
{
	for (uint32_t i = 0; i < e->eng.n_copy; i++)
		assert_int_equal(emu_inject_start_delay(e->emu, i, ns, ns ? 64 : 0), 0);
}

static void pipelined_run(bool pipelined, uint64_t *waits_per_pagein)
{
	struct vt_env_opts o = { .copy_engines = 2, .pipelined = pipelined };
	struct vt_env *e = vt_env_up(&o);
	const uint64_t sz = 4 * MIB;
	struct vidmm_fence f;
	uint64_t bad = UINT64_MAX;

	vidmm_handle_t v1 = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	vidmm_handle_t v2 = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	gpu_fill(e, v1, 201);
	gpu_fill(e, v2, 202);
	assert_int_equal(vidmm_evict(e->vm, v1), 0);
	assert_int_equal(vidmm_evict(e->vm, v2), 0);
	scrub_free(e, e->local_invis);

	/* (1) */
	struct vidmm_stats st0 = stats_of(e);
	late_copies(e, 50 * MS);
	assert_int_equal(submit1(e->vm, VIDMM_JOB_VERIFY, 201, v1, &bad, &f), 0);
	bool done_at_return = vidmm_fence_signalled(e->vm, f);
	late_copies(e, 0);
	struct vidmm_stats st1 = stats_of(e);
	assert_int_equal(vidmm_wait_fence(e->vm, f, JOB_WAIT_NS), 0);
	assert_int_equal(vidmm_fence_status(e->vm, f), 0);
	assert_int_equal(bad, 0);
	printf("%s: page-in at submit: %" PRIu64 " CPU waits, job done when submit returned: %s, "
	       "left to the GPU: %" PRIu64 "\n", pipelined ? "pipelined" : "sync",
	       st1.paging_cpu_waits - st0.paging_cpu_waits, done_at_return ? "yes" : "no",
	       st1.pipelined_page_ins - st0.pipelined_page_ins);
	*waits_per_pagein = st1.paging_cpu_waits - st0.paging_cpu_waits;
	if (pipelined) {
		assert_int_equal(st1.paging_cpu_waits, st0.paging_cpu_waits);
		assert_int_equal(st1.pipelined_page_ins - st0.pipelined_page_ins, 1);
		assert_false(done_at_return);
	} else {
		assert_true(st1.paging_cpu_waits > st0.paging_cpu_waits);
		assert_int_equal(st1.pipelined_page_ins, 0);
	}
	check_ok(e->vm);
	if (!pipelined) {
		vt_env_down(e);
		return;
	}

	/* (2) The copy fails after the job was queued behind it (it starts
	 * 200 ms late): the job is cancelled. */
	assert_int_equal(vidmm_evict(e->vm, v1), 0);
	scrub_free(e, e->local_invis);
	st0 = stats_of(e);
	inject_copy_failures(e, 1);
	late_copies(e, 200 * MS);
	assert_int_equal(submit1(e->vm, VIDMM_JOB_VERIFY, 201, v1, &bad, &f), 0);
	late_copies(e, 0);
	inject_copy_failures(e, 0);
	assert_int_equal(vidmm_wait_fence(e->vm, f, JOB_WAIT_NS), 0);
	int status = vidmm_fence_status(e->vm, f);
	printf("pipelined: job after a failed page-in copy: fence status %d (%s)\n", status,
	       vidmm_strerror(status));
	assert_int_equal(status, -EIO);
	check_ok(e->vm);
	/* The job was cancelled at the first failed copy; the other may
	 * still be running (and fail): a job queued now could be cancelled
	 * too. Idle first: every failed copy issued again and done. */
	assert_int_equal(vidmm_wait_idle(e->vm, JOB_WAIT_NS), 0);
	assert_int_equal(gpu_verify(e, v1, 201), 0);
	st1 = stats_of(e);
	assert_true(st1.pipeline_copy_retries > st0.pipeline_copy_retries);
	check_ok(e->vm);

	/* (2b) The copy fails at once: seen failed before the job is
	 * queued, it is issued again first. Either way the job never
	 * succeeds on what the failed copy left. */
	assert_int_equal(vidmm_evict(e->vm, v1), 0);
	scrub_free(e, e->local_invis);
	inject_copy_failures(e, 1);
	assert_int_equal(submit1(e->vm, VIDMM_JOB_VERIFY, 201, v1, &bad, &f), 0);
	inject_copy_failures(e, 0);
	assert_int_equal(vidmm_wait_fence(e->vm, f, JOB_WAIT_NS), 0);
	status = vidmm_fence_status(e->vm, f);
	printf("pipelined: job after a copy that failed at once: fence status %d, %" PRIu64
	       " mismatched words\n", status, bad);
	assert_true(status == -EIO || (status == 0 && bad == 0));
	assert_int_equal(vidmm_wait_idle(e->vm, JOB_WAIT_NS), 0);
	assert_int_equal(gpu_verify(e, v1, 201), 0);
	check_ok(e->vm);

	/* (3) Both paged in by one job; only the first copy fails, late. */
	assert_int_equal(vidmm_evict(e->vm, v1), 0);
	assert_int_equal(vidmm_evict(e->vm, v2), 0);
	scrub_free(e, e->local_invis);
	vidmm_handle_t hh[2] = { v1, v2 };
	uint32_t acc[2] = { VIDMM_ACCESS_READ, VIDMM_ACCESS_READ };
	inject_copy_failures(e, 1);
	late_copies(e, 200 * MS);
	assert_int_equal(submit_refs(e->vm, VIDMM_JOB_VERIFY, 201, hh, acc, 2, &bad, &f), 0);
	late_copies(e, 0);
	inject_copy_failures(e, 0);
	assert_int_equal(vidmm_wait_fence(e->vm, f, JOB_WAIT_NS), 0);
	assert_int_equal(vidmm_fence_status(e->vm, f), -EIO);
	assert_int_equal(vidmm_wait_idle(e->vm, JOB_WAIT_NS), 0);
	assert_int_equal(gpu_verify(e, v1, 201), 0);
	assert_int_equal(gpu_verify(e, v2, 202), 0);
	check_ok(e->vm);

	/* (4) Fill the segment, keep v1 busy behind a slow job, and ask for
	 * room that only v1 can give. */
	assert_int_equal(vidmm_wait_idle(e->vm, JOB_WAIT_NS), 0);
	assert_int_equal(vidmm_evict(e->vm, v2), 0);
	create_in(e, e->local_invis, stats_of(e).seg[e->local_invis].free, VIDMM_PRIO_MAX,
		  VIDMM_ALLOC_UNPAGABLE);
	assert_int_equal(vidmm_wait_idle(e->vm, JOB_WAIT_NS), 0);
	st0 = stats_of(e);
	assert_int_equal(emu_inject_start_delay(e->emu, e->job_engine, 30 * MS, 1), 0);
	assert_int_equal(submit1(e->vm, VIDMM_JOB_FILL, 203, v1, NULL, &f), 0);
	vidmm_handle_t x = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	st1 = stats_of(e);
	printf("pipelined: busy victim: paged out after its job %" PRIu64 ", waited for %" PRIu64
	       "\n", st1.busy_pageouts - st0.busy_pageouts, st1.busy_waits - st0.busy_waits);
	assert_true(st1.busy_pageouts > st0.busy_pageouts);
	expect_evicted(e, v1, "busy victim");
	assert_int_equal(vidmm_destroy_allocation(e->vm, x), 0);
	assert_int_equal(vidmm_wait_fence(e->vm, f, JOB_WAIT_NS), 0);
	assert_int_equal(gpu_verify(e, v1, 203), 0);
	check_ok(e->vm);
	vt_env_down(e);
}

/*
 * (5) Pipelined page-ins hold every window of the paging segment (tiny:
 * 8 MiB, 2 MiB windows) when a synchronous page-out needs one: it takes
 * back the windows of copies that are over instead of waiting for the
 * fence timeout (the first version did, and the submit took 2 s).
 */
static void pipelined_windows(void)
{
	struct vt_env_opts o = { .copy_engines = 2, .pipelined = true,
				 .fence_timeout_ns = 500 * MS };
	struct vt_env *e = vt_env_up(&o);
	const uint64_t sz = 2 * MIB;
	vidmm_handle_t h[6];
	uint32_t acc[5];
	struct vidmm_fence f;
	uint64_t bad = UINT64_MAX;

	for (int i = 0; i < 6; i++)
		h[i] = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	create_in(e, e->local_invis, stats_of(e).seg[e->local_invis].free, VIDMM_PRIO_MAX,
		  VIDMM_ALLOC_UNPAGABLE);
	for (int i = 0; i < 6; i++)
		gpu_fill(e, h[i], 301);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(vidmm_evict(e->vm, h[i]), 0);
		acc[i] = VIDMM_ACCESS_READ;
	}
	/* A plug in one hole: room for four page-ins; the fifth must evict
	 * h[5], through a window of the paging segment. */
	create_in(e, e->local_invis, sz, VIDMM_PRIO_MAX, VIDMM_ALLOC_UNPAGABLE);
	assert_int_equal(stats_of(e).seg[e->local_invis].free, 4 * sz);
	assert_int_equal(vidmm_wait_idle(e->vm, JOB_WAIT_NS), 0);
	struct vidmm_stats st0 = stats_of(e);
	int ret = submit_refs(e->vm, VIDMM_JOB_VERIFY, 301, h, acc, 5, &bad, &f);
	struct vidmm_stats st1 = stats_of(e);
	printf("pipelined: five page-ins through a full paging segment: %d (%s), page-outs %" PRIu64
	       ", window stalls %" PRIu64 "\n", ret, vidmm_strerror(ret),
	       st1.page_outs - st0.page_outs, st1.pipeline_stalls - st0.pipeline_stalls);
	assert_int_equal(ret, 0);
	assert_int_equal(st1.page_outs - st0.page_outs, 1);
	assert_int_equal(vidmm_wait_fence(e->vm, f, JOB_WAIT_NS), 0);
	assert_int_equal(bad, 0);
	expect_evicted(e, h[5], "the victim");
	assert_int_equal(gpu_verify(e, h[5], 301), 0);
	check_ok(e->vm);
	vt_env_down(e);
}

static void pipelined_paging_correct(void **state)
{
	uint64_t sync_waits, pipe_waits;

	(void)state;
	pipelined_windows();
	pipelined_run(false, &sync_waits);
	pipelined_run(true, &pipe_waits);
	printf("PIPELINED-PAGING-CORRECT: CPU waits for one page-in: sync %" PRIu64
	       ", pipelined %" PRIu64 "\n", sync_waits, pipe_waits);
}

/* ---- STRESS-EVICT-VERIFY ------------------------------------------------------------------ */

#define STRESS_THREADS 4

struct s_alloc {
	vidmm_handle_t h;
	uint64_t size;
	uint64_t seed; /* pattern it holds; 0: never written */
};

struct s_thread {
	pthread_t th;
	int id;
	vidmm_t *vm;
	uint64_t seed;
	uint64_t bytes;        /* working-set share */
	uint64_t min_ops, max_ops;
	uint64_t deadline_ns;
	atomic_bool *stop_flag;
	/* results */
	uint64_t ops, fills, verifies, copies, recreates, busy_destroys, refused;
	uint64_t integrity_errors;
	int hard_error;        /* first unexpected error code */
	char why[160];
};

static uint64_t s_size(struct vt_rng *r, uint64_t page)
{
	/* 64 KiB .. 2 MiB, page multiples, skewed small. */
	uint64_t pages = 16 + vt_rng_below(r, vt_rng_below(r, 2) ? 64 : 512 - 16);
	return pages * page;
}

static bool transient(int ret)
{
	/* Under four competing threads these are answers, not bugs: every
	 * other thread's allocation may be busy or locked at that moment. */
	return ret == -ENOSPC || ret == -EBUSY || ret == -ENOMEM;
}

static int s_create(struct s_thread *t, struct s_alloc *a, struct vt_rng *r)
{
	struct vidmm_alloc_desc d = {
		.size = s_size(r, 4096),
		.priority = (enum vidmm_priority)(VIDMM_PRIO_LOW + vt_rng_below(r, 3)),
		.flags = VIDMM_ALLOC_LOCAL_ONLY,
	};
	int ret = vidmm_create_allocation(t->vm, &d, &a->h);
	if (ret == 0) {
		a->size = d.size;
		a->seed = 0;
	} else {
		a->h = 0;
	}
	return ret;
}

static void s_fail(struct s_thread *t, int ret, const char *what)
{
	if (!t->hard_error) {
		t->hard_error = ret ? ret : -EUCLEAN;
		snprintf(t->why, sizeof(t->why), "thread %d: %s: %d (%s)", t->id, what, ret,
			 vidmm_strerror(ret));
	}
}

static void s_verify_one(struct s_thread *t, struct s_alloc *a)
{
	uint64_t bad = UINT64_MAX;
	int ret = run1(t->vm, VIDMM_JOB_VERIFY, a->seed, a->h, &bad);
	if (transient(ret)) {
		t->refused++;
		return;
	}
	if (ret) {
		s_fail(t, ret, "VERIFY");
		return;
	}
	t->verifies++;
	if (bad) {
		if (t->integrity_errors < 5)
			printf("INTEGRITY: thread %d allocation 0x%" PRIx64 " (%" PRIu64
			       " bytes) seed %" PRIu64 ": %" PRIu64 " words wrong\n",
			       t->id, a->h, a->size, a->seed, bad);
		t->integrity_errors++;
	}
}

static void *stress_thread(void *p)
{
	struct s_thread *t = p;
	struct vt_rng r;
	struct s_alloc *al;
	uint32_t n = 0, cap = 1024;
	uint64_t have = 0;

	vt_rng_seed(&r, t->seed);
	al = calloc(cap, sizeof(*al));
	if (!al) {
		s_fail(t, -ENOMEM, "calloc");
		return NULL;
	}
	/* The thread's own allocations: its share of the working set. */
	while (have < t->bytes && n < cap) {
		int tries = 0, ret;
		while ((ret = s_create(t, &al[n], &r)) != 0 && transient(ret) && ++tries < 100)
			t->refused++;
		if (ret) {
			s_fail(t, ret, "create");
			break;
		}
		have += al[n].size;
		n++;
	}

	for (t->ops = 0; !t->hard_error && n; t->ops++) {
		if (t->ops >= t->max_ops)
			break;
		if (t->ops >= t->min_ops &&
		    (now_ns() >= t->deadline_ns || atomic_load(t->stop_flag)))
			break;
		struct s_alloc *a = &al[vt_rng_below(&r, n)];
		uint64_t dice = vt_rng_below(&r, 100);
		int ret;

		if (dice < 3) {
			/* Replace it: frees a range somewhere, takes another. Half
			 * the time it is destroyed while a VERIFY still reads it:
			 * the destroy is deferred, and the job must still see the
			 * data (the range may not be reused under it). */
			struct vidmm_fence f;
			uint64_t bad = UINT64_MAX;
			int jr = -1;
			if (a->seed && vt_rng_below(&r, 2)) {
				jr = submit1(t->vm, VIDMM_JOB_VERIFY, a->seed, a->h, &bad, &f);
				if (transient(jr)) {
					t->refused++;
				} else if (jr) {
					s_fail(t, jr, "VERIFY before destroy");
					break;
				}
			}
			ret = vidmm_destroy_allocation(t->vm, a->h);
			if (ret) {
				s_fail(t, ret, "destroy");
				break;
			}
			if (jr == 0) {
				ret = vidmm_wait_fence(t->vm, f, JOB_WAIT_NS);
				if (ret) {
					s_fail(t, ret, "wait for a destroyed allocation's job");
					break;
				}
				t->busy_destroys++;
				if (bad) {
					printf("INTEGRITY: thread %d, allocation destroyed while its VERIFY ran: "
					       "%" PRIu64 " words wrong\n", t->id, bad);
					t->integrity_errors++;
				}
			}
			int tries = 0;
			while ((ret = s_create(t, a, &r)) != 0 && transient(ret) && ++tries < 100)
				t->refused++;
			if (ret) {
				s_fail(t, ret, "re-create");
				break;
			}
			t->recreates++;
		} else if (dice < 13) {
			/* GPU copy between two of its allocations: two refs paged
			 * in by one submit. The destination holds the source's
			 * pattern if the source covers it. */
			struct s_alloc *b = &al[vt_rng_below(&r, n)];
			if (b == a || !a->seed || b->size > a->size)
				continue;
			vidmm_handle_t refs[2] = { a->h, b->h };
			uint32_t acc[2] = { VIDMM_ACCESS_READ, VIDMM_ACCESS_WRITE };
			struct vidmm_fence f;
			ret = submit_refs(t->vm, VIDMM_JOB_COPY, 0, refs, acc, 2, NULL, &f);
			if (ret == 0)
				ret = vidmm_wait_fence(t->vm, f, JOB_WAIT_NS);
			if (transient(ret)) {
				t->refused++;
				continue;
			}
			if (ret) {
				s_fail(t, ret, "COPY");
				break;
			}
			b->seed = a->seed;
			t->copies++;
		} else if (!a->seed || dice < 45) {
			uint64_t s = vt_rng_next(&r) | 1;
			ret = run1(t->vm, VIDMM_JOB_FILL, s, a->h, NULL);
			if (transient(ret)) {
				t->refused++;
				continue;
			}
			if (ret) {
				s_fail(t, ret, "FILL");
				break;
			}
			a->seed = s;
			t->fills++;
		} else {
			s_verify_one(t, a);
		}
	}
	/* Last, every written allocation is read back once more: long after
	 * it was written, with the other threads' evictions in between. */
	for (uint32_t i = 0; i < n && !t->hard_error; i++) {
		if (!al[i].seed)
			continue;
		/* A refused final verify is retried: the others may still run. */
		for (int tries = 0; tries < 100 && !t->hard_error; tries++) {
			uint64_t before = t->refused;
			s_verify_one(t, &al[i]);
			if (t->refused == before)
				break;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		int ret = vidmm_destroy_allocation(t->vm, al[i].h);
		if (ret)
			s_fail(t, ret, "final destroy");
	}
	free(al);
	return NULL;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	if (v && *v) {
		uint64_t x = strtoull(v, NULL, 0);
		if (x)
			return x;
	}
	return dflt;
}

static void stress_phase(uint64_t seed, double factor, uint64_t budget_ns, uint64_t max_ops)
{
	/* The working set exceeds local memory up to 3x: the paged-out part
	 * needs system pages beyond the tiny profile's 128 MiB. */
	struct vt_env_opts o = { .sysmem = 512 * MIB };
	struct vt_env *e = vt_env_up(&o);
	struct s_thread t[STRESS_THREADS];
	atomic_bool stop = false;

	struct vidmm_stats st0 = stats_of(e);
	uint64_t local = st0.seg[e->local_invis].free + st0.seg[e->local_vis].free;
	uint64_t ws = (uint64_t)((double)local * factor);
	uint64_t dummy0 = faults_of(e).dummy_page_accesses;
	uint64_t start = now_ns();

	memset(t, 0, sizeof(t));
	for (int i = 0; i < STRESS_THREADS; i++) {
		t[i].id = i;
		t[i].vm = e->vm;
		t[i].seed = seed + (uint64_t)i;
		t[i].bytes = ws / STRESS_THREADS;
		/* Never zero work: enough ops that every allocation is
		 * written and read several times, whatever the clock says. */
		t[i].min_ops = 400;
		t[i].max_ops = max_ops > t[i].min_ops ? max_ops : t[i].min_ops;
		t[i].deadline_ns = start + budget_ns;
		t[i].stop_flag = &stop;
		assert_int_equal(pthread_create(&t[i].th, NULL, stress_thread, &t[i]), 0);
	}
	/* The checker runs concurrently with the clients: the invariants must
	 * hold at every moment the lock is free, not only at quiet points
	 * (vidmm.h: every call is thread-safe). VIDMM_STRESS_LIVE_CHECK=0
	 * turns this off, to look past a checker failure when replaying. */
	const char *lc = getenv("VIDMM_STRESS_LIVE_CHECK");
	bool live_check = !(lc && strcmp(lc, "0") == 0);
	int checks = 0;
	char check_fail[300] = "";
	bool joined[STRESS_THREADS] = { false };
	for (;;) {
		bool all_done = true;
		for (int i = 0; i < STRESS_THREADS; i++) {
			if (joined[i])
				continue;
			int jr = pthread_tryjoin_np(t[i].th, NULL);
			if (jr == 0)
				joined[i] = true;
			else if (jr == EBUSY)
				all_done = false;
			else
				fail_msg("pthread_tryjoin_np: %d", jr);
		}
		if (all_done)
			break;
		if (live_check && !check_fail[0]) {
			if (vidmm_check(e->vm)) {
				snprintf(check_fail, sizeof(check_fail), "%s", vidmm_check_error(e->vm));
				atomic_store(&stop, true);
			}
			checks++;
		}
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	uint64_t took = now_ns() - start;

	struct vidmm_stats st1 = stats_of(e);
	uint64_t ops = 0, fills = 0, verifies = 0, copies = 0, recreates = 0, refused = 0, integ = 0;
	uint64_t busy_destroys = 0;
	for (int i = 0; i < STRESS_THREADS; i++) {
		ops += t[i].ops;
		fills += t[i].fills;
		verifies += t[i].verifies;
		copies += t[i].copies;
		recreates += t[i].recreates;
		busy_destroys += t[i].busy_destroys;
		refused += t[i].refused;
		integ += t[i].integrity_errors;
	}
	printf("stress %.1fx local (%" PRIu64 " MiB of %" PRIu64 " MiB): %.1f s, %" PRIu64
	       " ops (%" PRIu64 " fills, %" PRIu64 " verifies, %" PRIu64 " copies, %" PRIu64
	       " re-creates, %" PRIu64 " of them while busy, %" PRIu64 " refused), %" PRIu64
	       " page-outs, %" PRIu64
	       " page-ins, %" PRIu64 " busy waits, %d concurrent checks, %" PRIu64 " integrity errors\n",
	       factor, ws / MIB, local / MIB, (double)took / 1e9, ops, fills, verifies, copies,
	       recreates, busy_destroys, refused, st1.page_outs - st0.page_outs, st1.page_ins - st0.page_ins,
	       st1.busy_waits - st0.busy_waits, checks, integ);
	fflush(stdout);

	for (int i = 0; i < STRESS_THREADS; i++)
		if (t[i].hard_error)
			fail_msg("%s (seed %" PRIu64 ")", t[i].why, seed);
	if (check_fail[0])
		fail_msg("vidmm_check during the run: %s (seed %" PRIu64 ")", check_fail, seed);
	if (integ)
		fail_msg("%" PRIu64 " integrity errors (seed %" PRIu64 ")", integ, seed);
	check_ok(e->vm);
	/* It really oversubscribed: data went out and came back. */
	assert_true(st1.page_outs > st0.page_outs);
	assert_true(st1.page_ins > st0.page_ins);
	assert_true(verifies > 0);
	/* Refusals are tolerated, but most work must have been done. */
	if (refused * 4 > ops)
		fail_msg("%" PRIu64 " of %" PRIu64 " operations refused (seed %" PRIu64 ")",
			 refused, ops, seed);
	/* No job ever touched the dummy page: everything was paged in first. */
	assert_int_equal(faults_of(e).dummy_page_accesses, dummy0);
	assert_int_equal(st1.dummy_page_faults, st0.dummy_page_faults);
	assert_int_equal(st1.allocations, 0);
	vt_env_down(e);
}

static void stress_evict_verify(void **state)
{
	uint64_t seed = vt_seed("STRESS-EVICT-VERIFY");
	/* Per phase: ~12 s normally, ~50 s under a sanitizer; override with
	 * VIDMM_STRESS_SECONDS (and VIDMM_STRESS_OPS, ops per thread). */
	uint64_t secs = env_u64("VIDMM_STRESS_SECONDS", VT_SANITIZED ? 50 : 12);
	uint64_t ops = env_u64("VIDMM_STRESS_OPS", 1000000);

	(void)state;
	printf("stress: %" PRIu64 " s per phase, at most %" PRIu64 " ops per thread%s\n", secs, ops,
	       VT_SANITIZED ? " (sanitizer build)" : "");
	stress_phase(seed, 1.5, secs * SEC, ops);
	stress_phase(seed + 1000, 3.0, secs * SEC, ops);
}

/* ---- THRASH-CONTROL ------------------------------------------------------------------ */

/*
 * Two paged-out allocations that may live in local-invisible or PCIe memory,
 * local-invisible full of idle pagable ones; one job needs both back. With a
 * per-submit move budget the first page-in (which evicts to make room) spends
 * it, so the second is throttled: it takes a free spot in PCIe (a GART remap,
 * no copy, nothing evicted) instead of evicting again. Without a budget both
 * come back to local memory. Paging back in right after paging out is a
 * bounce either way.
 */
static void thrash_case(uint64_t budget, bool *y_in_pcie, struct vidmm_stats *delta)
{
	/* Bounces are page-ins within a wall-clock window of the page-out: one
	 * wide enough for any sanitizer build. */
	struct vt_env_opts o = { .move_budget = budget, .bounce_window_ns = 60 * SEC };
	struct vt_env *e = vt_env_up(&o);
	const uint64_t sz = 2 * MIB;
	vidmm_handle_t xy[2], filler[32];
	struct vidmm_alloc_desc d = { .size = sz, .priority = VIDMM_PRIO_NORMAL, .n_preferred = 2,
				      .preferred = { (uint32_t)e->local_invis, (uint32_t)e->pcie_unsnoop } };

	for (int i = 0; i < 2; i++) {
		assert_int_equal(vidmm_create_allocation(e->vm, &d, &xy[i]), 0);
		assert_int_equal(info_of(e, xy[i]).segment, e->local_invis);
		gpu_fill(e, xy[i], 4242);
	}
	assert_true(fill_segment(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, filler, 32) > 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(vidmm_evict(e->vm, xy[i]), 0);
	/* Their old places go to idle pagable fillers: no free room left. */
	for (int i = 0; i < 2; i++)
		create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	assert_int_equal(stats_of(e).seg[e->local_invis].free, 0);
	struct vidmm_stats s0 = stats_of(e);

	uint32_t acc[2] = { VIDMM_ACCESS_READ, VIDMM_ACCESS_READ };
	uint64_t bad = UINT64_MAX;
	struct vidmm_fence f;
	assert_int_equal(submit_refs(e->vm, VIDMM_JOB_VERIFY, 4242, xy, acc, 2, &bad, &f), 0);
	assert_int_equal(vidmm_wait_fence(e->vm, f, JOB_WAIT_NS), 0);
	assert_int_equal(bad, 0);
	check_ok(e->vm);
	struct vidmm_stats s1 = stats_of(e);
	assert_int_equal(info_of(e, xy[0]).segment, e->local_invis);
	*y_in_pcie = info_of(e, xy[1]).segment == (uint32_t)e->pcie_unsnoop;
	if (!*y_in_pcie)
		assert_int_equal(info_of(e, xy[1]).segment, e->local_invis);
	memset(delta, 0, sizeof(*delta));
	delta->throttled_moves = s1.throttled_moves - s0.throttled_moves;
	delta->page_outs = s1.page_outs - s0.page_outs;
	delta->page_ins = s1.page_ins - s0.page_ins;
	delta->pcie_remaps = s1.pcie_remaps - s0.pcie_remaps;
	delta->bounces = s1.bounces - s0.bounces;
	vt_env_down(e);
}

static void thrash_control(void **state)
{
	struct vidmm_stats d;
	bool in_pcie;

	(void)state;
	/* Budget of one page: the first page-in's moves exhaust it. */
	thrash_case(4096, &in_pcie, &d);
	printf("budget 4 KiB: y in %s, throttled %" PRIu64 ", page-outs %" PRIu64
	       ", page-ins %" PRIu64 ", remaps %" PRIu64 ", bounces %" PRIu64 "\n",
	       in_pcie ? "PCIe" : "local", d.throttled_moves, d.page_outs, d.page_ins,
	       d.pcie_remaps, d.bounces);
	assert_true(in_pcie);
	assert_int_equal(d.throttled_moves, 1); /* y's page-in, diverted to a free spot */
	assert_int_equal(d.page_outs, 1);       /* only the first page-in evicted */
	assert_int_equal(d.page_ins, 2);
	assert_int_equal(d.pcie_remaps, 1);
	assert_true(d.bounces >= 1);

	/* No budget: both come home to local memory, evicting twice. */
	thrash_case(0, &in_pcie, &d);
	assert_false(in_pcie);
	assert_int_equal(d.throttled_moves, 0);
	assert_int_equal(d.page_outs, 2);
	assert_int_equal(d.page_ins, 2);
	assert_true(d.bounces >= 2);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("EVICT-LRU-FIRST", evict_lru_first),
		VT_CASE("PIPELINED-PAGING-CORRECT", pipelined_paging_correct),
		VT_CASE("EVICT-PRIORITY", evict_priority),
		VT_CASE("EVICT-ALL-PINNED-FAILS", evict_all_pinned_fails),
		VT_CASE("POLICY-TABLE", policy_table),
		VT_CASE("EVICT-SKIP-BUSY", evict_skip_busy),
		VT_CASE("EVICT-DELETED-REAPED", evict_deleted_reaped),
		VT_CASE("EVICT-CONTIGUOUS-WINDOW", evict_contiguous_window),
		VT_CASE("PAGE-WINDOW-ONE-COPY", page_window_one_copy),
		VT_CASE("PAGE-IN-AT-SUBMIT", page_in_at_submit),
		VT_CASE("LOCK-PINS", lock_pins),
		VT_CASE("FENCE-TIMEOUT", fence_timeout),
		VT_CASE("FAULT-COPY-FAILS", fault_copy_fails),
		VT_CASE("STRESS-EVICT-VERIFY", stress_evict_verify),
		VT_CASE("THRASH-CONTROL", thrash_control),
	};
	return VT_MAIN("residency", cases);
}
