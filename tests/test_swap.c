/* SPDX-License-Identifier: MIT */
/*
 * test_swap.c - swap through the manager (the note's vidmmi_do_swap_out) on
 * the emulated GPU: explicit swap-out and swap-in by job and by CPU lock,
 * a seeded working set far larger than memory, a swap file too small,
 * injected I/O errors, a corrupted swap file, the RLIMIT_MEMLOCK and buffered
 * I/O fallbacks, no file left behind by a killed process, concurrent
 * clients against background reclaim, and system pages still on their way
 * back from a destroyed allocation.
 *
 * Owns: those test cases (tests/meson.build registers them, one meson test
 * per case). Must not: reach into core internals or modify core/, drivers/,
 * bench/ or other tests; it sees the manager only through vidmm.h (its swap
 * test hooks vidmm_debug_swap_inject / vidmm_debug_swap_fd included) and the
 * platform glue of bench/platform.h.
 *
 * Conventions: every case opens the "tiny" profile (local 16 + 48 MiB,
 * PCIe 2 x 32 MiB, system budget 128 MiB, swap 256 MiB), shrunk where a case
 * needs pressure sooner, with its swap file in a fresh mkdtemp directory that
 * must be empty again when the manager is gone. Data is written as the seeded
 * position-independent pattern of chip.h (vidmm_pattern_word) by FILL jobs or
 * through a CPU lock, and checked by VERIFY jobs (GPU side) or by reading
 * the locked pointer (CPU side), never by trusting the manager's counters.
 * Every random choice comes from a seed printed by vt_seed (replay with
 * VIDMM_SEED=<seed>).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#include "vt.h"
#include "vt_env.h"
#include "bench/platform.h"
#include "drivers/emu/emu.h"

#define KIB ((uint64_t)1024)
#define MIB ((uint64_t)1 << 20)
#define MS ((uint64_t)1000000)
#define SEC ((uint64_t)1000000000)
/* Long enough for any healthy job (swap I/O included) under a sanitizer,
 * short enough that a lost fence fails the case, not the meson timeout. */
#define JOB_WAIT_NS (60 * SEC)

/* ---- swap directories ------------------------------------------------------------ */

static const char *tmp_root(void)
{
	const char *t = getenv("TMPDIR");
	return t && *t ? t : "/tmp";
}

/* A fresh, empty directory under root (NULL: $TMPDIR or /tmp); 0 or -errno. */
static int make_dir_in(const char *root, char *out, size_t len)
{
	snprintf(out, len, "%s/vidmm-swt-XXXXXX", root ? root : tmp_root());
	return mkdtemp(out) ? 0 : -errno;
}

/* Entries other than . and .., or -1 if the directory cannot be read. */
static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* ---- fixture: tests/vt_env.h ------------------------------------------------------ */


static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static struct vidmm_stats stats_of(vidmm_t *vm)
{
	struct vidmm_stats st;
	assert_int_equal(vidmm_query_stats(vm, &st), 0);
	return st;
}

static int try_create(vidmm_t *vm, int seg, uint64_t size, int prio, uint32_t flags,
		      vidmm_handle_t *h)
{
	return vt_create(vm, seg, size, prio, flags, h);
}

static vidmm_handle_t create_in(struct vt_env *e, int seg, uint64_t size, int prio, uint32_t flags)
{
	vidmm_handle_t h = 0;
	int ret = try_create(e->vm, seg, size, prio, flags, &h);
	if (ret)
		fail_msg("create %" PRIu64 " bytes in segment %d: %s", size, seg, vidmm_strerror(ret));
	return h;
}

static enum vidmm_residency residency_of(vidmm_t *vm, vidmm_handle_t h)
{
	struct vidmm_alloc_info i;
	int ret = vidmm_query_allocation(vm, h, &i);
	if (ret)
		fail_msg("query handle 0x%" PRIx64 ": %s", h, vidmm_strerror(ret));
	return i.residency;
}

static const char *res_name(enum vidmm_residency r)
{
	return r == VIDMM_RESIDENT ? "resident" : r == VIDMM_EVICTED ? "evicted" :
	       r == VIDMM_SWAPPED ? "swapped" : "?";
}

static void expect_residency(vidmm_t *vm, vidmm_handle_t h, enum vidmm_residency want,
			     const char *what)
{
	enum vidmm_residency r = residency_of(vm, h);
	if (r != want)
		fail_msg("%s: expected %s, is %s", what, res_name(want), res_name(r));
}

/* ---- data: GPU jobs and CPU locks (no cmocka: also used by threads/children) ------- */

/* Submit a one-ref job and wait for it; *result valid when this returns 0. */
static int run1(vidmm_t *vm, enum vidmm_job_op op, uint64_t seed, vidmm_handle_t h,
		uint64_t *result)
{
	return platform_job1(vm, op, seed, h, result, JOB_WAIT_NS, NULL);
}

/* GPU-side check: 0 and *bad = mismatched words, or the submit/wait error. */
static int verify_job(vidmm_t *vm, vidmm_handle_t h, uint64_t seed, uint64_t *bad)
{
	*bad = UINT64_MAX; /* a job that never wrote its result is not a pass */
	return run1(vm, VIDMM_JOB_VERIFY, seed, h, bad);
}

/* Words of [cpu, cpu+size) that differ from the pattern of seed. */
static uint64_t cpu_mismatches(const void *cpu, uint64_t size, uint64_t seed)
{
	const uint64_t *w = cpu;
	uint64_t bad = 0;

	for (uint64_t off = 0; off < size; off += 8)
		bad += w[off / 8] != vidmm_pattern_word(seed, off);
	return bad;
}

static void cpu_write_pattern(void *cpu, uint64_t size, uint64_t seed)
{
	uint64_t *w = cpu;

	for (uint64_t off = 0; off < size; off += 8)
		w[off / 8] = vidmm_pattern_word(seed, off);
}

/*
 * CPU-side check through a lock (a lock of a swapped allocation swaps it in);
 * with new_seed != 0 the pattern of new_seed is then written through the
 * same pointer (a CPU write the next swap-out must carry). 0 and *bad, or the
 * lock error.
 */
static int lock_check(vidmm_t *vm, vidmm_handle_t h, uint64_t size, uint64_t seed,
		      uint64_t new_seed, uint64_t *bad)
{
	void *cpu = NULL;
	int ret = vidmm_lock(vm, h, &cpu);

	*bad = UINT64_MAX;
	if (ret)
		return ret;
	if (!cpu) {
		vidmm_unlock(vm, h);
		return -EFAULT;
	}
	*bad = cpu_mismatches(cpu, size, seed);
	if (new_seed)
		cpu_write_pattern(cpu, size, new_seed);
	return vidmm_unlock(vm, h);
}

static void gpu_fill(vidmm_t *vm, vidmm_handle_t h, uint64_t seed)
{
	int ret = run1(vm, VIDMM_JOB_FILL, seed, h, NULL);
	if (ret)
		fail_msg("FILL job on 0x%" PRIx64 ": %s", h, vidmm_strerror(ret));
}

static void expect_verify(vidmm_t *vm, vidmm_handle_t h, uint64_t seed, const char *what)
{
	uint64_t bad;
	int ret = verify_job(vm, h, seed, &bad);
	if (ret)
		fail_msg("%s: VERIFY job: %s", what, vidmm_strerror(ret));
	if (bad)
		fail_msg("%s: VERIFY found %" PRIu64 " mismatched words (seed %" PRIu64 ")", what,
			 bad, seed);
}

static void expect_lock_data(vidmm_t *vm, vidmm_handle_t h, uint64_t size, uint64_t seed,
			     const char *what)
{
	uint64_t bad;
	int ret = lock_check(vm, h, size, seed, 0, &bad);
	if (ret)
		fail_msg("%s: lock: %s", what, vidmm_strerror(ret));
	if (bad)
		fail_msg("%s: CPU read found %" PRIu64 " mismatched words (seed %" PRIu64 ")", what,
			 bad, seed);
}

static void expect_swap_out(vidmm_t *vm, vidmm_handle_t h, const char *what)
{
	int ret = vidmm_swap_out(vm, h);
	if (ret)
		fail_msg("%s: vidmm_swap_out: %s", what, vidmm_strerror(ret));
	expect_residency(vm, h, VIDMM_SWAPPED, what);
}

/* An allocation failure must say what ran out, in words. */
static void expect_clear_error(int ret, const char *what)
{
	const char *s = vidmm_strerror(ret);

	if (ret != -ENOMEM && ret != -ENOSPC)
		fail_msg("%s: expected -ENOMEM or -ENOSPC, got %d (%s)", what, ret, s ? s : "(null)");
	if (!s || !*s || strstr(s, "Unknown") || strstr(s, "not an error"))
		fail_msg("%s: vidmm_strerror(%d) gives no clear text: '%s'", what, ret, s ? s : "(null)");
}

/*
 * Once nothing is swapped any more, the file must be empty: every slot
 * freed. Background reclaim may still be finishing a batch whose
 * allocations were destroyed meanwhile (their slots go when it completes),
 * so poll for a while before calling it a leak.
 */
static void expect_swap_empty(vidmm_t *vm, const char *what)
{
	struct vidmm_stats st = stats_of(vm);
	uint64_t t0 = now_ns();
	bool waited = st.swap_used_bytes || st.swapped_allocations;

	while ((st.swap_used_bytes || st.swapped_allocations) && now_ns() - t0 < 5 * SEC) {
		struct timespec ts = { 0, 10 * (long)MS };
		nanosleep(&ts, NULL);
		st = stats_of(vm);
	}
	if (st.swap_used_bytes || st.swapped_allocations)
		fail_msg("%s: %" PRIu64 " bytes still used in the swap file, %" PRIu64
			 " allocations swapped (after 5 s)", what, st.swap_used_bytes,
			 st.swapped_allocations);
	if (waited)
		printf("%s: the swap file took %" PRIu64 " ms to empty\n", what,
		       (now_ns() - t0) / MS);
}

/* ---- SWAP-ROUNDTRIP ------------------------------------------------------------------- */

static void swap_roundtrip(void **state)
{
	struct vt_env_opts o = { .no_background_reclaim = true };
	struct vt_env *e = vt_env_up(&o);
	struct vt_rng rng;
	uint64_t seed = vt_seed("SWAP-ROUNDTRIP");
	/* Sizes that exercise one extent, several extents (> 2 MiB) and a
	 * run that is not a multiple of the 2 MiB extent; placements in
	 * local-invisible, local-visible and PCIe memory and anywhere. */
	static const uint64_t sizes[] = { 64 * KIB, 1 * MIB, 2 * MIB, 2 * MIB + 4 * KIB,
					  5 * MIB + 12 * KIB, 4 * KIB };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	int segs[N];
	vidmm_handle_t h[N];
	uint64_t sd[N], total = 0;

	(void)state;
	vt_rng_seed(&rng, seed);
	/* Only CPU-visible placements can be locked: local-invisible ones
	 * (0 and 4) are always checked by jobs. */
	segs[0] = e->local_invis;
	segs[1] = e->local_vis;
	segs[2] = e->pcie_snoop;
	segs[3] = -1;
	segs[4] = e->local_invis;
	segs[5] = e->pcie_snoop;
	for (int i = 0; i < N; i++) {
		h[i] = create_in(e, segs[i], sizes[i], VIDMM_PRIO_NORMAL, 0);
		sd[i] = vt_rng_next(&rng) | 1;
		gpu_fill(e->vm, h[i], sd[i]);
		total += sizes[i];
	}
	vt_check(e->vm, "after fill");
	struct vidmm_stats s0 = stats_of(e->vm);
	if (strcmp(s0.swap_io_mode, "direct") && strcmp(s0.swap_io_mode, "buffered"))
		fail_msg("swap_io_mode is '%s' with a swap file", s0.swap_io_mode);
	assert_int_equal(s0.swap_used_bytes, 0);
	assert_true(s0.swap_file_bytes >= e->prof.swap);

	/* Out, in creation order: each one leaves memory for the file. */
	for (int i = 0; i < N; i++) {
		char what[64];
		snprintf(what, sizeof(what), "allocation %d (%" PRIu64 " bytes)", i, sizes[i]);
		expect_swap_out(e->vm, h[i], what);
		vt_check(e->vm, what);
	}
	struct vidmm_stats s1 = stats_of(e->vm);
	assert_int_equal(s1.swap_outs - s0.swap_outs, N);
	assert_int_equal(s1.bytes_swapped_out - s0.bytes_swapped_out, total);
	assert_int_equal(s1.swapped_allocations, N);
	assert_int_equal(s1.swapped_bytes, total);
	assert_int_equal(s1.swap_write_errors, 0);
	if (s1.swap_used_bytes < total)
		fail_msg("swap file holds %" PRIu64 " bytes for %" PRIu64 " bytes swapped out",
			 s1.swap_used_bytes, total);
	/* Swapped allocations hold no system pages: everything went back. */
	assert_true(s1.sysmem_pages_used <= s0.sysmem_pages_used);

	/* The swapped list: every one, oldest first, with its size. */
	struct vidmm_swapped_info list[N + 1];
	uint32_t count = 0;
	assert_int_equal(vidmm_query_swapped(e->vm, list, N + 1, &count), 0);
	assert_int_equal(count, N);
	for (int i = 0; i < N; i++) {
		if (list[i].handle != h[i] || list[i].size != sizes[i])
			fail_msg("swapped list entry %d: handle 0x%" PRIx64 " size %" PRIu64
				 ", expected 0x%" PRIx64 " size %" PRIu64, i, list[i].handle,
				 list[i].size, h[i], sizes[i]);
		if (i && list[i].age_ns > list[i - 1].age_ns)
			fail_msg("swapped list is not oldest first at entry %d", i);
	}
	assert_int_equal(vidmm_query_swapped(e->vm, NULL, 0, &count), 0);
	assert_int_equal(count, N);

	/* Swapping a swapped allocation again is a no-op, not a second copy. */
	assert_int_equal(vidmm_swap_out(e->vm, h[0]), 0);
	assert_int_equal(stats_of(e->vm).swap_outs, s1.swap_outs);
	assert_int_equal(stats_of(e->vm).swap_used_bytes, s1.swap_used_bytes);

	/* In: even ones by a VERIFY job, odd ones by a CPU lock. */
	for (int i = 0; i < N; i++) {
		char what[64];
		snprintf(what, sizeof(what), "swap-in of allocation %d", i);
		if (i % 2 == 0)
			expect_verify(e->vm, h[i], sd[i], what);
		else
			expect_lock_data(e->vm, h[i], sizes[i], sd[i], what);
		if (residency_of(e->vm, h[i]) == VIDMM_SWAPPED)
			fail_msg("%s: still swapped after use", what);
		vt_check(e->vm, what);
	}
	struct vidmm_stats s2 = stats_of(e->vm);
	assert_int_equal(s2.swap_ins - s0.swap_ins, N);
	assert_int_equal(s2.bytes_swapped_in - s0.bytes_swapped_in, total);
	assert_int_equal(s2.swapped_allocations, 0);
	assert_int_equal(s2.swapped_bytes, 0);
	assert_int_equal(s2.swap_read_errors, 0);
	assert_int_equal(s2.swap_checksum_failures, 0);
	if (s2.swap_used_bytes != 0)
		fail_msg("swap file still holds %" PRIu64 " bytes after every swap-in: slots not freed",
			 s2.swap_used_bytes);
	assert_int_equal(vidmm_query_swapped(e->vm, NULL, 0, &count), 0);
	assert_int_equal(count, 0);

	/* The histograms saw it, at both levels. */
	struct vidmm_hist hg;
	assert_int_equal(vidmm_query_histogram(e->vm, VIDMM_HIST_SWAP_OUT, &hg), 0);
	assert_true(hg.count >= N);
	assert_int_equal(vidmm_query_histogram(e->vm, VIDMM_HIST_SWAP_IN, &hg), 0);
	/* one per caller's swap-in: those read ahead (by the read-ahead thread,
	 * as the loop above reads in swap-out order) had none */
	printf("swap-ins %" PRIu64 ", of them read ahead %" PRIu64 " (%" PRIu64 " by the thread)\n",
	       s2.swap_ins - s0.swap_ins, s2.swap_readaheads - s0.swap_readaheads,
	       s2.swap_async_readaheads - s0.swap_async_readaheads);
	assert_int_equal(hg.count + (s2.swap_readaheads - s0.swap_readaheads), N);
	assert_int_equal(vidmm_query_histogram(e->vm, VIDMM_HIST_SWAP_WRITE_IO, &hg), 0);
	assert_true(hg.count >= N);
	assert_int_equal(vidmm_query_histogram(e->vm, VIDMM_HIST_SWAP_READ_IO, &hg), 0);
	assert_true(hg.count >= N);

	/* New data after a swap-in must be what the next swap-out carries
	 * (not the old slot's contents): rewrite (GPU and CPU), swap out, back. */
	for (int i = 0; i < N; i++) {
		uint64_t ns = vt_rng_next(&rng) | 1, bad;
		if (segs[i] == e->local_invis || i % 2 == 0) {
			gpu_fill(e->vm, h[i], ns);
		} else {
			int ret = lock_check(e->vm, h[i], sizes[i], sd[i], ns, &bad);
			if (ret || bad)
				fail_msg("rewrite of allocation %d: %s, %" PRIu64 " mismatches", i,
					 vidmm_strerror(ret), bad);
		}
		sd[i] = ns;
		expect_swap_out(e->vm, h[i], "second swap-out");
	}
	for (int i = N - 1; i >= 0; i--) {
		if (segs[i] == e->local_invis || i % 2)
			expect_verify(e->vm, h[i], sd[i], "second swap-in (job)");
		else
			expect_lock_data(e->vm, h[i], sizes[i], sd[i], "second swap-in (lock)");
	}
	vt_check(e->vm, "after the second round");
	assert_int_equal(stats_of(e->vm).swap_used_bytes, 0);

	/* Destroying a swapped allocation frees its slot too. */
	expect_swap_out(e->vm, h[4], "before destroy");
	assert_true(stats_of(e->vm).swap_used_bytes >= sizes[4]);
	assert_int_equal(vidmm_destroy_allocation(e->vm, h[4]), 0);
	assert_int_equal(stats_of(e->vm).swap_used_bytes, 0);
	assert_int_equal(stats_of(e->vm).swapped_allocations, 0);
	assert_int_equal(vidmm_swap_out(e->vm, h[4]), -EBADF);
	vt_check(e->vm, "after destroying a swapped allocation");

	/* What may not be swapped out says so and stays where it is. */
	void *cpu;
	assert_int_equal(vidmm_lock(e->vm, h[1], &cpu), 0);
	assert_int_equal(vidmm_swap_out(e->vm, h[1]), -EBUSY);
	assert_int_equal(vidmm_unlock(e->vm, h[1]), 0);
	vidmm_handle_t pin = create_in(e, e->local_invis, 64 * KIB, VIDMM_PRIO_NORMAL,
				       VIDMM_ALLOC_UNPAGABLE);
	assert_int_equal(vidmm_swap_out(e->vm, pin), -EBUSY);
	expect_residency(e->vm, pin, VIDMM_RESIDENT, "unpagable");
	assert_int_equal(vidmm_swap_out(e->vm, 0), -EBADF);
	assert_int_equal(vidmm_swap_out(NULL, h[0]), -EINVAL);
	vt_check(e->vm, "after refused swap-outs");
	vt_env_down(e);

	/* Without a swap file: -ENODEV, and the hooks say so too. */
	struct vt_env_opts ns = { .no_swap = true };
	e = vt_env_up(&ns);
	vidmm_handle_t x = create_in(e, -1, 64 * KIB, VIDMM_PRIO_NORMAL, 0);
	assert_int_equal(vidmm_swap_out(e->vm, x), -ENODEV);
	assert_int_equal(vidmm_debug_swap_fd(e->vm), -ENODEV);
	assert_int_equal(vidmm_debug_swap_inject(e->vm, true, -EIO, 1), -ENODEV);
	assert_string_equal(stats_of(e->vm).swap_io_mode, "");
	vt_check(e->vm, "no swap");
	vt_env_down(e);
}

/* ---- SWAP-VERIFY-PATTERN ----------------------------------------------------------- */

struct tracked {
	vidmm_handle_t h;
	uint64_t size, seed;
};

static void swap_verify_pattern(void **state)
{
	struct vt_env *e = vt_env_up(NULL);
	uint64_t seed = vt_seed("SWAP-VERIFY-PATTERN");
	struct vt_rng rng;
	static const uint64_t sizes[] = { 64 * KIB, 256 * KIB, 1 * MIB, 2 * MIB, 2 * MIB, 4 * MIB };
	/* 3x local memory plus the whole system budget: at least a third of
	 * it can only be on disk at any time. */
	const uint64_t local = e->prof.local_visible + e->prof.local_invisible;
	const uint64_t target = 3 * local + e->prof.sysmem;
	struct tracked *t = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0, accesses, ops[5] = { 0 };

	(void)state;
	vt_rng_seed(&rng, seed);
	printf("working set %" PRIu64 " MiB (local %" PRIu64 " MiB, system budget %" PRIu64
	       " MiB, swap %" PRIu64 " MiB)\n", target / MIB, local / MIB, e->prof.sysmem / MIB,
	       e->prof.swap / MIB);
	while (total < target) {
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			t = realloc(t, cap * sizeof(*t));
			assert_non_null(t);
		}
		uint64_t sz = sizes[vt_rng_below(&rng, sizeof(sizes) / sizeof(sizes[0]))];
		t[n].size = sz;
		t[n].seed = vt_rng_next(&rng) | 1;
		int ret = try_create(e->vm, -1, sz, (int)vt_rng_below(&rng, VIDMM_PRIO_COUNT), 0,
				     &t[n].h);
		if (ret)
			fail_msg("create #%zu (%" PRIu64 " bytes, %" PRIu64 " MiB so far): %s", n, sz,
				 total / MIB, vidmm_strerror(ret));
		ret = run1(e->vm, VIDMM_JOB_FILL, t[n].seed, t[n].h, NULL);
		if (ret)
			fail_msg("FILL #%zu: %s", n, vidmm_strerror(ret));
		total += sz;
		n++;
		if (n % 64 == 0)
			vt_check(e->vm, "while filling");
	}
	vt_check(e->vm, "after filling");
	struct vidmm_stats s0 = stats_of(e->vm);
	printf("%zu allocations, %" PRIu64 " MiB; swap-outs so far %" PRIu64 " (%" PRIu64
	       " MiB on disk)\n", n, total / MIB, s0.swap_outs, s0.swapped_bytes / MIB);

	/* Random access in seeded order: GPU reads, CPU reads, and rewrites by
	 * either side (so swapped data is not only the first generation). */
	accesses = VT_SANITIZED ? n : 2 * n;
	for (uint64_t k = 0; k < accesses; k++) {
		struct tracked *a = &t[vt_rng_below(&rng, n)];
		uint64_t r = vt_rng_below(&rng, 100), bad = 0, ns;
		int ret, op;

		if (r < 45) {
			op = 0;
			ret = verify_job(e->vm, a->h, a->seed, &bad);
		} else if (r < 75) {
			op = 1;
			ret = lock_check(e->vm, a->h, a->size, a->seed, 0, &bad);
		} else if (r < 87) {
			op = 2;
			ns = vt_rng_next(&rng) | 1;
			ret = lock_check(e->vm, a->h, a->size, a->seed, ns, &bad);
			if (!ret)
				a->seed = ns;
		} else {
			op = 3;
			ns = vt_rng_next(&rng) | 1;
			ret = run1(e->vm, VIDMM_JOB_FILL, ns, a->h, NULL);
			if (!ret)
				a->seed = ns;
		}
		ops[op]++;
		if (ret)
			fail_msg("access %" PRIu64 " (op %d) on allocation 0x%" PRIx64 " (%" PRIu64
				 " bytes): %s", k, op, a->h, a->size, vidmm_strerror(ret));
		if (bad)
			fail_msg("access %" PRIu64 " (op %d) on allocation 0x%" PRIx64 ": %" PRIu64
				 " mismatched words", k, op, a->h, bad);
		if (k % 64 == 63)
			vt_check(e->vm, "during random access");
	}
	/* Last, everything once more, in creation order (oldest: the most
	 * likely to have gone to disk and come back several times). */
	for (size_t i = 0; i < n; i++) {
		uint64_t bad;
		int ret = verify_job(e->vm, t[i].h, t[i].seed, &bad);
		if (ret || bad)
			fail_msg("final VERIFY of #%zu: %s, %" PRIu64 " mismatched words", i,
				 vidmm_strerror(ret), bad);
	}
	vt_check(e->vm, "after the final pass");
	struct vidmm_stats s1 = stats_of(e->vm);
	printf("accesses: %" PRIu64 " verify, %" PRIu64 " lock-read, %" PRIu64 " lock-write, %"
	       PRIu64 " fill; swap-outs %" PRIu64 " (%" PRIu64 " MiB), swap-ins %" PRIu64
	       " (%" PRIu64 " MiB), reclaim runs %" PRIu64 ", io %s, buffers %s\n",
	       ops[0], ops[1], ops[2], ops[3], s1.swap_outs, s1.bytes_swapped_out / MIB,
	       s1.swap_ins, s1.bytes_swapped_in / MIB, s1.reclaim_runs, s1.swap_io_mode,
	       s1.swap_buffer_mode);
	if (!s1.swap_outs || !s1.swap_ins)
		fail_msg("the working set never went through swap (outs %" PRIu64 ", ins %" PRIu64 ")",
			 s1.swap_outs, s1.swap_ins);
	assert_int_equal(s1.swap_read_errors + s1.swap_write_errors + s1.swap_checksum_failures, 0);
	assert_int_equal(s1.dummy_page_faults, 0);

	for (size_t i = 0; i < n; i++)
		assert_int_equal(vidmm_destroy_allocation(e->vm, t[i].h), 0);
	struct vidmm_stats s2 = stats_of(e->vm);
	assert_int_equal(s2.allocations, 0);
	expect_swap_empty(e->vm, "after destroying everything");
	vt_check(e->vm, "after destroying everything");
	free(t);
	vt_env_down(e);
}

/* ---- SWAP-ENOSPC ---------------------------------------------------------------------- */

/*
 * The converse of a full file: while the file has room, a request must be
 * met however many allocations have to go to disk for it. A 24 MiB
 * allocation over a system budget held by ~2400 paged-out 16 KiB
 * allocations needs ~1500 of them written out in one call.
 */
static void large_request_with_room(uint64_t seed)
{
	struct vt_env_opts o = { .sysmem = 48 * MIB, .no_background_reclaim = true };
	struct vt_env *e = vt_env_up(&o);
	const uint64_t small = 16 * KIB, big = 24 * MIB;
	struct vt_rng rng;
	struct tracked *t = NULL;
	size_t n = 0, cap = 0;
	vidmm_handle_t x = 0;
	int ret;

	vt_rng_seed(&rng, seed);
	struct vidmm_stats st = stats_of(e->vm);
	const uint64_t limit = st.sysmem_pages_budget - st.sysmem_pages_reserve;
	/* Fill the budget with paged-out small allocations: created in PCIe
	 * (their pages are their data), filled, and paged out (an unmap). */
	while ((st = stats_of(e->vm)).sysmem_pages_used + 256 < limit) {
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			t = realloc(t, cap * sizeof(*t));
			assert_non_null(t);
		}
		t[n].size = small;
		t[n].seed = vt_rng_next(&rng) | 1;
		t[n].h = create_in(e, e->pcie_snoop, small, VIDMM_PRIO_NORMAL, 0);
		gpu_fill(e->vm, t[n].h, t[n].seed);
		ret = vidmm_evict(e->vm, t[n].h);
		if (ret)
			fail_msg("evict small #%zu: %s", n, vidmm_strerror(ret));
		n++;
	}
	vt_check(e->vm, "small allocations paged out");
	struct vidmm_stats s0 = stats_of(e->vm);
	int seg = platform_find_segment(e->vm, VIDMM_SEG_PCIE | VIDMM_SEG_SNOOPED | VIDMM_SEG_PAGING,
					VIDMM_SEG_PCIE);
	assert_true(seg >= 0);
	ret = try_create(e->vm, seg, big, VIDMM_PRIO_NORMAL, 0, &x);
	struct vidmm_stats s1 = stats_of(e->vm);
	printf("large request: %zu x 16 KiB paged out, %" PRIu64 " of %" PRIu64 " client pages used; "
	       "24 MiB allocation: %s after %" PRIu64 " swap-outs (%" PRIu64 " MiB of %" PRIu64
	       " MiB swap used)\n", n, s0.sysmem_pages_used, limit, ret ? vidmm_strerror(ret) : "ok",
	       s1.swap_outs - s0.swap_outs, s1.swap_used_bytes / MIB, s1.swap_file_bytes / MIB);
	vt_check(e->vm, "after the large request");
	if (ret)
		fail_msg("a 24 MiB allocation failed (%d: %s) with %" PRIu64 " MiB free in the swap file "
			 "and %zu swappable allocations: the swap-out gave up early", ret,
			 vidmm_strerror(ret), (s1.swap_file_bytes - s1.swap_used_bytes) / MIB, n);
	assert_int_equal(s1.swap_full, 0);
	assert_int_equal(vidmm_destroy_allocation(e->vm, x), 0);
	for (size_t i = 0; i < n; i++)
		expect_verify(e->vm, t[i].h, t[i].seed, "small allocation after the large request");
	vt_check(e->vm, "after verifying the small allocations");
	free(t);
	vt_env_down(e);
}

static void swap_enospc(void **state)
{
	/* 8 MiB of swap behind a 48 MiB budget: the file fills long before
	 * anything else does. */
	struct vt_env_opts o = { .sysmem = 48 * MIB, .swap = 8 * MIB };
	struct vt_env *e = vt_env_up(&o);
	uint64_t seed = vt_seed("SWAP-ENOSPC");
	struct vt_rng rng;
	enum { MAXN = 512 };
	struct tracked t[MAXN];
	int n = 0, ret = 0;
	const uint64_t sz = 2 * MIB;

	(void)state;
	vt_rng_seed(&rng, seed);
	/* Slack to give back at the end: PCIe-resident and unpagable, so it
	 * holds system pages that nothing else can take. */
	vidmm_handle_t ballast = create_in(e, e->pcie_snoop, 8 * MIB, VIDMM_PRIO_MAX,
					   VIDMM_ALLOC_UNPAGABLE);
	/* Local memory only: new allocations push old ones out to system
	 * pages and on to swap (with PCIe allowed, placement would fill PCIe's
	 * free room first, and the pages would be spent without any swapping). */
	struct vidmm_alloc_desc ld = { .size = sz, .priority = VIDMM_PRIO_NORMAL, .n_preferred = 2,
				       .preferred = { (uint32_t)e->local_invis, (uint32_t)e->local_vis } };
	for (; n < MAXN; n++) {
		t[n].size = sz;
		t[n].seed = vt_rng_next(&rng) | 1;
		ret = vidmm_create_allocation(e->vm, &ld, &t[n].h);
		if (ret)
			break;
		ret = run1(e->vm, VIDMM_JOB_FILL, t[n].seed, t[n].h, NULL);
		if (ret)
			fail_msg("FILL #%d: %s", n, vidmm_strerror(ret));
	}
	if (n == MAXN)
		fail_msg("%d x 2 MiB created without running out: the swap file is not bounded", n);
	printf("creation #%d failed: %d (%s)\n", n, ret, vidmm_strerror(ret));
	expect_clear_error(ret, "creation past memory + swap");
	vt_check(e->vm, "after the failed creation");
	struct vidmm_stats s1 = stats_of(e->vm);
	printf("%d allocations live; swapped %" PRIu64 " (%" PRIu64 " MiB of a %" PRIu64
	       " MiB file, %" PRIu64 " used), swap_full %" PRIu64 ", system pages %" PRIu64 "/%"
	       PRIu64 "\n", n, s1.swapped_allocations, s1.swapped_bytes / MIB,
	       s1.swap_file_bytes / MIB, s1.swap_used_bytes / MIB, s1.swap_full,
	       s1.sysmem_pages_used, s1.sysmem_pages_budget);
	assert_int_equal(s1.allocations, (uint64_t)n + 1);
	if (!s1.swap_full)
		fail_msg("the swap file filled up but swap_full was not counted");
	assert_true(s1.swapped_bytes <= s1.swap_file_bytes);
	assert_true(s1.swap_used_bytes <= s1.swap_file_bytes);
	assert_int_equal(s1.swap_write_errors, 0);

	/* An explicit swap-out of a paged-out allocation (it only needs a
	 * slot; a resident one would first need system pages, -ENOMEM) with
	 * the file full: -ENOSPC, and it keeps its data in memory. */
	int victim = -1;
	for (int i = n - 1; i >= 0 && victim < 0; i--)
		if (residency_of(e->vm, t[i].h) == VIDMM_EVICTED)
			victim = i;
	if (victim < 0)
		fail_msg("no allocation is paged out with the swap file full");
	uint64_t full0 = stats_of(e->vm).swap_full;
	ret = vidmm_swap_out(e->vm, t[victim].h);
	if (ret != -ENOSPC)
		fail_msg("vidmm_swap_out with the file full: %d (%s), expected -ENOSPC", ret,
			 vidmm_strerror(ret));
	expect_residency(e->vm, t[victim].h, VIDMM_EVICTED, "after the refused swap-out");
	assert_true(stats_of(e->vm).swap_full > full0);
	vt_check(e->vm, "after the refused swap-out");

	/* Nothing lost: with the ballast gone there is room to swap in, and
	 * every allocation made before the failure still holds its data. */
	assert_int_equal(vidmm_destroy_allocation(e->vm, ballast), 0);
	for (int i = 0; i < n; i++) {
		char what[48];
		snprintf(what, sizeof(what), "allocation #%d of %d", i, n);
		if (i % 3 == 2)
			expect_lock_data(e->vm, t[i].h, t[i].size, t[i].seed, what);
		else
			expect_verify(e->vm, t[i].h, t[i].seed, what);
	}
	vt_check(e->vm, "after verifying everything");
	struct vidmm_stats s2 = stats_of(e->vm);
	assert_int_equal(s2.swap_read_errors + s2.swap_checksum_failures, 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(vidmm_destroy_allocation(e->vm, t[i].h), 0);
	expect_swap_empty(e->vm, "after destroying everything");
	vt_check(e->vm, "after destroying everything");
	vt_env_down(e);

	large_request_with_room(seed ^ 0x5bd1e995);
}

/* ---- SWAP-EIO ------------------------------------------------------------------------- */

static void swap_eio(void **state)
{
	/* No background reclaim or read-ahead thread: an injected fault must
	 * hit the I/O this case starts, not one another thread happens to
	 * issue. */
	struct vt_env_opts o = { .sysmem = 48 * MIB, .no_background_reclaim = true,
				 .no_async_readahead = true };
	struct vt_env *e = vt_env_up(&o);
	uint64_t seed = vt_seed("SWAP-EIO");
	struct vt_rng rng;
	const uint64_t sz = 4 * MIB + 64 * KIB; /* three extents: several I/Os */
	uint64_t sa, sb, bad;
	int ret;

	(void)state;
	vt_rng_seed(&rng, seed);
	vidmm_handle_t a = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
	vidmm_handle_t b = create_in(e, e->pcie_snoop, 2 * MIB, VIDMM_PRIO_NORMAL, 0);
	sa = vt_rng_next(&rng) | 1;
	sb = vt_rng_next(&rng) | 1;
	gpu_fill(e->vm, a, sa);
	gpu_fill(e->vm, b, sb);
	struct vidmm_stats s0 = stats_of(e->vm);

	/* Write fails: the swap-out fails with the I/O error, and the
	 * allocation is where it was (resident, its range kept until a write
	 * succeeds) with its data. */
	struct vidmm_alloc_info ia0, ia1;
	assert_int_equal(vidmm_query_allocation(e->vm, a, &ia0), 0);
	assert_int_equal(vidmm_debug_swap_inject(e->vm, true, -EIO, 1000), 0);
	ret = vidmm_swap_out(e->vm, a);
	if (ret != -EIO)
		fail_msg("swap-out with failing writes: %d (%s), expected -EIO", ret, vidmm_strerror(ret));
	expect_residency(e->vm, a, VIDMM_RESIDENT, "after a failed swap write");
	assert_int_equal(vidmm_query_allocation(e->vm, a, &ia1), 0);
	assert_int_equal(ia1.segment, ia0.segment);
	assert_int_equal(ia1.gpu_addr, ia0.gpu_addr);
	vt_check(e->vm, "after a failed swap write");
	struct vidmm_stats s1 = stats_of(e->vm);
	assert_int_equal(s1.swap_write_errors - s0.swap_write_errors, 1);
	assert_int_equal(s1.swap_outs, s0.swap_outs);
	assert_int_equal(s1.swapped_allocations, 0);
	assert_int_equal(s1.swap_used_bytes, 0);     /* the slot went back */
	assert_int_equal(s1.evicted_allocations, s0.evicted_allocations);
	assert_int_equal(s1.sysmem_pages_used, s0.sysmem_pages_used); /* staging pages given back */
	ret = vidmm_swap_out(e->vm, b);               /* from PCIe: same answer */
	assert_int_equal(ret, -EIO);
	expect_residency(e->vm, b, VIDMM_RESIDENT, "PCIe, after a failed swap write");
	vt_check(e->vm, "after a second failed swap write");
	expect_verify(e->vm, a, sa, "data of a after the failed swap-out");
	expect_lock_data(e->vm, b, 2 * MIB, sb, "data of b after the failed swap-out");

	/* Pressure while every write fails: the manager cannot make room, so
	 * creating must fail cleanly, and nothing already there may suffer. */
	struct tracked t[64];
	int n = 0;
	for (; n < 64; n++) {
		t[n].size = 2 * MIB;
		t[n].seed = vt_rng_next(&rng) | 1;
		ret = try_create(e->vm, -1, t[n].size, VIDMM_PRIO_LOW, 0, &t[n].h);
		if (ret)
			break;
		ret = run1(e->vm, VIDMM_JOB_FILL, t[n].seed, t[n].h, NULL);
		if (ret) {
			/* The FILL may be what needed the room: the allocation is
			 * there but unwritten. Drop it. */
			assert_int_equal(vidmm_destroy_allocation(e->vm, t[n].h), 0);
			break;
		}
	}
	printf("pressure with failing writes: %d created, then %d (%s)\n", n, ret,
	       vidmm_strerror(ret));
	if (n == 64)
		fail_msg("128 MiB created over a 48 MiB budget while every swap write fails");
	if (ret != -ENOMEM && ret != -ENOSPC && ret != -EIO)
		fail_msg("creation under pressure with failing swap: %d (%s)", ret, vidmm_strerror(ret));
	vt_check(e->vm, "after pressure with failing writes");
	assert_int_equal(stats_of(e->vm).swapped_allocations, 0);
	assert_int_equal(vidmm_debug_swap_inject(e->vm, true, 0, 0), 0); /* cancel */
	for (int i = 0; i < n; i++)
		expect_verify(e->vm, t[i].h, t[i].seed, "pressure survivor");
	for (int i = 0; i < n; i++)
		assert_int_equal(vidmm_destroy_allocation(e->vm, t[i].h), 0);
	vt_check(e->vm, "after the pressure part");

	/* Read fails: the page-in fails with -EIO, the allocation stays
	 * swapped (its slot kept), and a retry without the fault succeeds. */
	expect_swap_out(e->vm, a, "a, writes healthy again");
	expect_swap_out(e->vm, b, "b, writes healthy again");
	struct vidmm_stats s2 = stats_of(e->vm);
	assert_int_equal(vidmm_debug_swap_inject(e->vm, false, -EIO, 1000), 0);
	ret = verify_job(e->vm, a, sa, &bad);
	if (ret != -EIO)
		fail_msg("VERIFY of a swapped allocation with failing reads: %d (%s), expected -EIO",
			 ret, vidmm_strerror(ret));
	expect_residency(e->vm, a, VIDMM_SWAPPED, "a after a failed swap read");
	void *cpu = NULL;
	ret = vidmm_lock(e->vm, b, &cpu);
	if (ret != -EIO)
		fail_msg("lock of a swapped allocation with failing reads: %d (%s), expected -EIO",
			 ret, vidmm_strerror(ret));
	expect_residency(e->vm, b, VIDMM_SWAPPED, "b after a failed swap read");
	vt_check(e->vm, "after failed swap reads");
	struct vidmm_stats s3 = stats_of(e->vm);
	assert_int_equal(s3.swap_read_errors - s2.swap_read_errors, 2);
	assert_int_equal(s3.swap_ins, s2.swap_ins);
	assert_int_equal(s3.swapped_allocations, 2);
	assert_int_equal(s3.swap_used_bytes, s2.swap_used_bytes);
	/* The failed reads gave their fresh pages back. */
	assert_int_equal(s3.sysmem_pages_used, s2.sysmem_pages_used);
	assert_int_equal(s3.swap_checksum_failures, 0); /* an I/O error is not a bad sum */

	assert_int_equal(vidmm_debug_swap_inject(e->vm, false, 0, 0), 0); /* cancel */
	expect_verify(e->vm, a, sa, "a retried without the fault");
	expect_lock_data(e->vm, b, 2 * MIB, sb, "b retried without the fault");
	struct vidmm_stats s4 = stats_of(e->vm);
	assert_int_equal(s4.swap_ins - s3.swap_ins, 2);
	assert_int_equal(s4.swapped_allocations, 0);
	assert_int_equal(s4.swap_used_bytes, 0);
	vt_check(e->vm, "after the retry");

	/* Short completions both ways (err 0): the store finishes them, and
	 * the data survive a round trip. */
	assert_int_equal(vidmm_debug_swap_inject(e->vm, true, 0, 3), 0);
	expect_swap_out(e->vm, a, "a with short writes");
	assert_int_equal(vidmm_debug_swap_inject(e->vm, false, 0, 3), 0);
	expect_verify(e->vm, a, sa, "a with short reads");
	vt_check(e->vm, "after short I/O");
	vt_env_down(e);
}

/* ---- SWAP-CORRUPT --------------------------------------------------------------------- */

#define IO_ALIGN 4096u

/*
 * Offset in the swap file of the 8-byte word want, scanning from 0 with
 * aligned reads (the descriptor may be O_DIRECT). -1 if absent.
 */
static int64_t file_find_word(int fd, uint64_t file_size, uint64_t want)
{
	const size_t chunk = 1 * MIB;
	uint64_t *buf = NULL;
	int64_t found = -1;

	if (posix_memalign((void **)&buf, IO_ALIGN, chunk))
		return -1;
	for (uint64_t off = 0; off < file_size && found < 0; off += chunk) {
		size_t len = file_size - off < chunk ? (size_t)(file_size - off) : chunk;
		ssize_t got = pread(fd, buf, len, (off_t)off);
		if (got <= 0)
			break;
		for (size_t i = 0; i < (size_t)got / 8; i++)
			if (buf[i] == want) {
				found = (int64_t)(off + i * 8);
				break;
			}
	}
	free(buf);
	return found;
}

/* XOR byte `at` of the file with x (an aligned read-modify-write of its
 * block, for O_DIRECT). 0 or -errno. */
static int file_xor_byte(int fd, uint64_t at, uint8_t x)
{
	uint8_t *blk = NULL;
	uint64_t base = at & ~(uint64_t)(IO_ALIGN - 1);
	int ret = 0;

	if (posix_memalign((void **)&blk, IO_ALIGN, IO_ALIGN))
		return -ENOMEM;
	if (pread(fd, blk, IO_ALIGN, (off_t)base) != (ssize_t)IO_ALIGN) {
		ret = -EIO;
	} else {
		blk[at - base] ^= x;
		if (pwrite(fd, blk, IO_ALIGN, (off_t)base) != (ssize_t)IO_ALIGN)
			ret = errno ? -errno : -EIO;
	}
	free(blk);
	return ret;
}

/* Corrupt allocation h (filled with seed, swapped) at data offset data_off
 * and show that using it fails loudly, twice (job and lock), with nothing
 * changed; then repair the byte and show the slot was kept intact. */
static void corrupt_case(struct vt_env *e, vidmm_handle_t h, uint64_t size, uint64_t seed,
			 uint64_t data_off, const char *what)
{
	int fd = vidmm_debug_swap_fd(e->vm);
	struct vidmm_stats s0 = stats_of(e->vm);
	uint64_t bad;
	int ret;

	assert_true(fd >= 0);
	int64_t at = file_find_word(fd, s0.swap_file_bytes, vidmm_pattern_word(seed, data_off));
	if (at < 0)
		fail_msg("%s: the data word at offset %" PRIu64 " is nowhere in the %" PRIu64
			 "-byte swap file", what, data_off, s0.swap_file_bytes);
	printf("%s: data offset %" PRIu64 " is at file offset %" PRId64 "\n", what, data_off, at);
	assert_int_equal(file_xor_byte(fd, (uint64_t)at + 3, 0x40), 0);

	ret = verify_job(e->vm, h, seed, &bad);
	if (ret != -EIO)
		fail_msg("%s: VERIFY of corrupted swap data: %d (%s, %" PRIu64
			 " mismatches), expected -EIO", what, ret, vidmm_strerror(ret), bad);
	expect_residency(e->vm, h, VIDMM_SWAPPED, what);
	void *cpu = NULL;
	ret = vidmm_lock(e->vm, h, &cpu);
	if (ret != -EIO) {
		if (!ret) {
			uint64_t m = cpu_mismatches(cpu, size, seed);
			vidmm_unlock(e->vm, h);
			fail_msg("%s: lock of corrupted swap data succeeded (%" PRIu64
				 " mismatched words handed out)", what, m);
		}
		fail_msg("%s: lock of corrupted swap data: %d (%s), expected -EIO", what, ret,
			 vidmm_strerror(ret));
	}
	expect_residency(e->vm, h, VIDMM_SWAPPED, what);
	vt_check(e->vm, what);
	struct vidmm_stats s1 = stats_of(e->vm);
	assert_int_equal(s1.swap_checksum_failures - s0.swap_checksum_failures, 2);
	assert_int_equal(s1.swap_read_errors - s0.swap_read_errors, 2);
	assert_int_equal(s1.swap_ins, s0.swap_ins);
	assert_int_equal(s1.swap_used_bytes, s0.swap_used_bytes);
	assert_int_equal(s1.sysmem_pages_used, s0.sysmem_pages_used);

	/* Put the byte back: the kept slot reads back whole and correct. */
	assert_int_equal(file_xor_byte(fd, (uint64_t)at + 3, 0x40), 0);
	expect_verify(e->vm, h, seed, what);
	assert_int_equal(stats_of(e->vm).swap_ins, s0.swap_ins + 1);
}

static void swap_corrupt(void **state)
{
	/* A small file: the scans for the pattern words read all of it. */
	struct vt_env_opts o = { .swap = 32 * MIB, .no_background_reclaim = true,
				 .no_async_readahead = true };
	struct vt_env *e = vt_env_up(&o);
	uint64_t seed = vt_seed("SWAP-CORRUPT");
	struct vt_rng rng;
	const uint64_t sz1 = 1 * MIB, sz2 = 4 * MIB + 8 * KIB;

	(void)state;
	vt_rng_seed(&rng, seed);
	/* a may live anywhere (the lock below must be able to reach a
	 * CPU-visible segment); it starts in local-invisible memory. */
	vidmm_handle_t a = create_in(e, -1, sz1, VIDMM_PRIO_NORMAL, 0);
	vidmm_handle_t b = create_in(e, e->pcie_snoop, sz2, VIDMM_PRIO_NORMAL, 0);
	vidmm_handle_t c = create_in(e, -1, 64 * KIB, VIDMM_PRIO_NORMAL, 0);
	uint64_t sa = vt_rng_next(&rng) | 1, sb = vt_rng_next(&rng) | 1, sc = vt_rng_next(&rng) | 1;
	gpu_fill(e->vm, a, sa);
	gpu_fill(e->vm, b, sb);
	gpu_fill(e->vm, c, sc);
	expect_swap_out(e->vm, a, "a");
	expect_swap_out(e->vm, b, "b");
	expect_swap_out(e->vm, c, "c");
	vt_check(e->vm, "after swapping out");

	/* First word of a one-extent allocation; a word inside the second
	 * extent of a multi-extent one; the last word of the third extent. */
	corrupt_case(e, a, sz1, sa, 0, "a, first word");
	expect_swap_out(e->vm, a, "a again");
	corrupt_case(e, b, sz2, sb, 3 * MIB + 4 * KIB, "b, second extent");
	expect_swap_out(e->vm, b, "b again");
	corrupt_case(e, b, sz2, sb, sz2 - 8, "b, last word");
	/* The neighbours in the file were never affected. */
	expect_lock_data(e->vm, c, 64 * KIB, sc, "c, untouched neighbour");

	/* A corrupted allocation that is destroyed instead: its slot goes. */
	expect_swap_out(e->vm, a, "a, to be destroyed");
	int fd = vidmm_debug_swap_fd(e->vm);
	int64_t at = file_find_word(fd, stats_of(e->vm).swap_file_bytes, vidmm_pattern_word(sa, 512));
	assert_true(at >= 0);
	assert_int_equal(file_xor_byte(fd, (uint64_t)at, 0xff), 0);
	assert_int_equal(vidmm_destroy_allocation(e->vm, a), 0);
	vt_check(e->vm, "after destroying the corrupted allocation");
	assert_int_equal(stats_of(e->vm).swap_used_bytes, 0);
	assert_int_equal(stats_of(e->vm).swapped_allocations, 0);
	vt_env_down(e);
}

/* ---- SWAP-MEMLOCK-FALLBACK ------------------------------------------------------------ */

#define CHILD_CHECK(c) do { if (!(c)) { fprintf(stderr, "child: %s:%d: %s\n", \
	__FILE__, __LINE__, #c); fflush(stderr); _exit(1); } } while (0)

/* Drop CAP_IPC_LOCK from every set (root bypasses RLIMIT_MEMLOCK with it).
 * 0, or -errno. */
static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	const unsigned idx = CAP_TO_INDEX(CAP_IPC_LOCK);
	const uint32_t bit = CAP_TO_MASK(CAP_IPC_LOCK);

	/* Not even an exec may give it back. */
	if (prctl(PR_CAPBSET_DROP, CAP_IPC_LOCK, 0, 0, 0) && errno != EINVAL)
		return -errno;
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[idx].effective &= ~bit;
	data[idx].permitted &= ~bit;
	data[idx].inheritable &= ~bit;
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

static bool has_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return true; /* unknown: assume the worst */
	return data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK);
}

/* In the child: a manager with o's profile, n allocations of size (the first
 * n_out swapped out explicitly, the rest under whatever pressure there is),
 * all read back by job or lock, and the buffer mode it ended up with. */
static void child_swap_run(const struct vt_env_opts *o, uint64_t seed, uint64_t size, int n,
			   int n_out, const char *label, const char *want_mode)
{
	struct vt_env e;
	char err[512] = "";
	struct vt_rng rng;
	struct tracked t[32];
	uint64_t bad;

	CHILD_CHECK(n <= 32);
	if (vt_env_open(&e, o, err, sizeof(err))) {
		fprintf(stderr, "child: %s: env: %s\n", label, err);
		_exit(1);
	}
	vt_rng_seed(&rng, seed);
	for (int i = 0; i < n; i++) {
		t[i].size = size;
		t[i].seed = vt_rng_next(&rng) | 1;
		CHILD_CHECK(try_create(e.vm, -1, t[i].size, VIDMM_PRIO_NORMAL, 0, &t[i].h) == 0);
		CHILD_CHECK(run1(e.vm, VIDMM_JOB_FILL, t[i].seed, t[i].h, NULL) == 0);
		if (i < n_out)
			CHILD_CHECK(vidmm_swap_out(e.vm, t[i].h) == 0);
	}
	for (int i = 0; i < n; i++) {
		if (i % 2)
			CHILD_CHECK(verify_job(e.vm, t[i].h, t[i].seed, &bad) == 0 && bad == 0);
		else
			CHILD_CHECK(lock_check(e.vm, t[i].h, t[i].size, t[i].seed, 0, &bad) == 0 &&
				    bad == 0);
	}
	CHILD_CHECK(vidmm_check(e.vm) == 0);
	struct vidmm_stats st;
	CHILD_CHECK(vidmm_query_stats(e.vm, &st) == 0);
	printf("child, %s: buffers=%s (want %s) io=%s swap-outs %" PRIu64 " swap-ins %" PRIu64 "\n",
	       label, st.swap_buffer_mode, want_mode, st.swap_io_mode, st.swap_outs, st.swap_ins);
	fflush(stdout);
	CHILD_CHECK(st.swap_outs >= (uint64_t)n_out && st.swap_ins >= (uint64_t)n_out);
	CHILD_CHECK(st.swap_read_errors == 0 && st.swap_write_errors == 0);
	CHILD_CHECK(strcmp(st.swap_buffer_mode, want_mode) == 0);
	CHILD_CHECK(vt_env_close(&e) == 0);
}

/* The child: whole managers under an 8 MiB lock limit, without CAP_IPC_LOCK. */
static void memlock_child(uint64_t seed, const char *root, uid_t uid)
{
	struct rlimit rl = { 8 * MIB, 8 * MIB };

	CHILD_CHECK(setrlimit(RLIMIT_MEMLOCK, &rl) == 0);
	if (geteuid() == 0) {
		/* io_uring charges registered buffers to the user, and every
		 * root process is one user: an unused uid of our own keeps
		 * others' registrations out of the count (and drops every
		 * capability, CAP_IPC_LOCK included). */
		CHILD_CHECK(setgroups(0, NULL) == 0);
		CHILD_CHECK(setresgid(uid, uid, uid) == 0);
		CHILD_CHECK(setresuid(uid, uid, uid) == 0);
	}
	if (has_ipc_lock())
		CHILD_CHECK(drop_ipc_lock() == 0);
	CHILD_CHECK(!has_ipc_lock());

	/* A 48 MiB pool over the limit: never registered (the store's own
	 * check); swap works with plain buffers, under real pressure too
	 * (24 x 4 MiB over 64 MiB local and a 48 MiB budget). */
	const struct vt_env_opts big = { .sysmem = 48 * MIB, .swap_root = root };
	child_swap_run(&big, seed, 4 * MIB, 24, 2, "48 MiB pool", "plain");

	/* A 6 MiB pool with 4 MiB of this user's lock limit already taken by
	 * another ring: the kernel refuses the registration (the limit binds,
	 * not just the store's own check), and swap falls back to plain
	 * buffers. One ring in the manager: no reclaim or read-ahead thread doing
	 * I/O. */
	const struct vt_env_opts fit = { .sysmem = 6 * MIB, .sysmem_reserve = 2 * MIB,
				      .no_background_reclaim = true, .no_async_readahead = true,
				      .swap_root = root };
	struct io_uring other;
	void *held = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHILD_CHECK(held != MAP_FAILED);
	CHILD_CHECK(io_uring_queue_init(4, &other, 0) == 0);
	struct iovec iv = { .iov_base = held, .iov_len = 4 * MIB };
	CHILD_CHECK(io_uring_register_buffers(&other, &iv, 1) == 0);
	child_swap_run(&fit, seed + 1, 1 * MIB, 24, 8, "6 MiB pool, 4 MiB locked elsewhere", "plain");
	/* Unregistering gives the 4 MiB back at once; a closed ring would
	 * give it back only when the kernel gets round to freeing it. */
	CHILD_CHECK(io_uring_unregister_buffers(&other) == 0);
	io_uring_queue_exit(&other);
	munmap(held, 4 * MIB);

	/* The same pool with the limit free again (the ring's own memory
	 * counts too, hence 6 MiB and not 8): registered. */
	child_swap_run(&fit, seed + 2, 1 * MIB, 24, 8, "6 MiB pool", "registered");
	_exit(0);
}

static void swap_memlock_fallback(void **state)
{
	uint64_t seed = vt_seed("SWAP-MEMLOCK-FALLBACK");
	/* Unique among concurrent runs of this case (one per parent pid). */
	uid_t uid = (uid_t)(200000 + getpid() % 100000);
	char root[256];
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(make_dir_in(NULL, root, sizeof(root)), 0);
	if (geteuid() == 0)
		assert_int_equal(chown(root, uid, uid), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		memlock_child(seed, root, uid);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	int left = dir_entries(root);
	rmdir(root);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("memlock child: %s %d", WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	assert_int_equal(left, 0);
}

/* ---- SWAP-BUFFERED-FALLBACK ---------------------------------------------------------- */

/* A short round trip of n allocations through swap; returns the io mode. */
static void roundtrip_some(struct vt_env *e, uint64_t seed, const char *what)
{
	struct vt_rng rng;
	vidmm_handle_t h[6];
	uint64_t sd[6], sz[6];

	vt_rng_seed(&rng, seed);
	for (int i = 0; i < 6; i++) {
		sz[i] = (uint64_t)(1 + vt_rng_below(&rng, 48)) * 64 * KIB;
		sd[i] = vt_rng_next(&rng) | 1;
		h[i] = create_in(e, -1, sz[i], VIDMM_PRIO_NORMAL, 0);
		gpu_fill(e->vm, h[i], sd[i]);
		expect_swap_out(e->vm, h[i], what);
	}
	vt_check(e->vm, what);
	assert_int_equal(stats_of(e->vm).swapped_allocations, 6);
	for (int i = 0; i < 6; i++) {
		if (i % 2)
			expect_verify(e->vm, h[i], sd[i], what);
		else
			expect_lock_data(e->vm, h[i], sz[i], sd[i], what);
	}
	struct vidmm_stats st = stats_of(e->vm);
	assert_int_equal(st.swapped_allocations, 0);
	assert_int_equal(st.swap_used_bytes, 0);
	assert_true(st.swap_ins >= 6);
	vt_check(e->vm, what);
	for (int i = 0; i < 6; i++)
		assert_int_equal(vidmm_destroy_allocation(e->vm, h[i]), 0);
}

static void swap_buffered_fallback(void **state)
{
	uint64_t seed = vt_seed("SWAP-BUFFERED-FALLBACK");
	struct vt_env *e;

	(void)state;
	/* Forced: never O_DIRECT, whatever the file system could do. */
	struct vt_env_opts o = { .force_buffered = true, .no_background_reclaim = true };
	e = vt_env_up(&o);
	assert_string_equal(stats_of(e->vm).swap_io_mode, "buffered");
	roundtrip_some(e, seed, "forced buffered");
	printf("forced: io=%s buffers=%s\n", stats_of(e->vm).swap_io_mode,
	       stats_of(e->vm).swap_buffer_mode);
	vt_env_down(e);

	/* Not forced, in the default directory: the mode is one of the two. */
	struct vt_env_opts d = { .no_background_reclaim = true };
	e = vt_env_up(&d);
	char mode[16];
	snprintf(mode, sizeof(mode), "%s", stats_of(e->vm).swap_io_mode);
	if (strcmp(mode, "direct") && strcmp(mode, "buffered"))
		fail_msg("swap_io_mode '%s' in %s", mode, tmp_root());
	roundtrip_some(e, seed + 1, "default directory");
	printf("%s: io=%s\n", tmp_root(), mode);
	vt_env_down(e);

	/* tmpfs (/dev/shm): O_DIRECT may or may not be allowed there (kernel
	 * dependent); either way swap works and reports what it got. */
	struct stat sb;
	if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0) {
		struct vt_env_opts s = { .swap_root = "/dev/shm", .swap = 32 * MIB,
				      .no_background_reclaim = true };
		e = vt_env_up(&s);
		snprintf(mode, sizeof(mode), "%s", stats_of(e->vm).swap_io_mode);
		if (strcmp(mode, "direct") && strcmp(mode, "buffered"))
			fail_msg("swap_io_mode '%s' on /dev/shm", mode);
		roundtrip_some(e, seed + 2, "/dev/shm");
		printf("/dev/shm: io=%s buffers=%s\n", mode, stats_of(e->vm).swap_buffer_mode);
		vt_env_down(e);
		/* Forced buffered on tmpfs as well. */
		s.force_buffered = true;
		e = vt_env_up(&s);
		assert_string_equal(stats_of(e->vm).swap_io_mode, "buffered");
		roundtrip_some(e, seed + 3, "/dev/shm, forced buffered");
		vt_env_down(e);
	} else {
		printf("/dev/shm: absent or not writable, that part skipped\n");
	}
}

/* ---- SWAP-NO-LEFTOVER ----------------------------------------------------------------- */

/* Does any descriptor of process pid name a file inside dir? */
static bool proc_has_fd_in(pid_t pid, const char *dir)
{
	char path[64], target[512];
	size_t dl = strlen(dir);
	bool found = false;
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char link[384];
		ssize_t n;
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		found = !strncmp(target, dir, dl) && target[dl] == '/';
	}
	closedir(d);
	return found;
}

static void swap_no_leftover(void **state)
{
	uint64_t seed = vt_seed("SWAP-NO-LEFTOVER");
	char dir[256];
	int pfd[2], status;
	pid_t pid;
	char msg[160] = "";

	(void)state;
	/* The case's own directory: the child's swap goes there (a subdir of
	 * it, made by env_open), so both levels must end up empty. */
	assert_int_equal(make_dir_in(NULL, dir, sizeof(dir)), 0);
	assert_int_equal(pipe(pfd), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vt_env e;
		struct vt_env_opts o = { .swap_root = dir, .sysmem = 48 * MIB };
		char err[512];
		struct vt_rng rng;
		vidmm_handle_t h;
		struct vidmm_stats st;

		close(pfd[0]);
		if (vt_env_open(&e, &o, err, sizeof(err))) {
			fprintf(stderr, "child: env: %s\n", err);
			_exit(1);
		}
		vt_rng_seed(&rng, seed);
		/* Explicit swap-outs plus pressure, so reclaim I/O may be in
		 * flight when the kill comes. */
		for (int i = 0; i < 40; i++) {
			CHILD_CHECK(try_create(e.vm, -1, 4 * MIB, VIDMM_PRIO_NORMAL, 0, &h) == 0);
			CHILD_CHECK(run1(e.vm, VIDMM_JOB_FILL, vt_rng_next(&rng), h, NULL) == 0);
			if (i < 4)
				CHILD_CHECK(vidmm_swap_out(e.vm, h) == 0);
		}
		CHILD_CHECK(vidmm_query_stats(e.vm, &st) == 0);
		CHILD_CHECK(st.swap_used_bytes > 0);
		int len = snprintf(err, sizeof(err), "%s %" PRIu64 " %" PRIu64, e.dir,
				   st.swap_outs, st.swap_used_bytes);
		CHILD_CHECK(write(pfd[1], err, (size_t)len + 1) == len + 1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	ssize_t got = read(pfd[0], msg, sizeof(msg) - 1);
	close(pfd[0]);
	if (got <= 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("the child died before swapping out (status 0x%x)", status);
	}
	msg[got] = 0;
	char sub[256];
	uint64_t outs = 0, used = 0;
	assert_int_equal(sscanf(msg, "%255s %" SCNu64 " %" SCNu64, sub, &outs, &used), 3);
	printf("child: swap dir %s, %" PRIu64 " swap-outs, %" PRIu64 " MiB in the file\n", sub,
	       outs, used / MIB);
	/* The file is really there (open in the child) but has no name. */
	bool open_there = proc_has_fd_in(pid, sub);
	int live_entries = dir_entries(sub);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	if (!open_there)
		fail_msg("no descriptor of the child names a file in %s: swap went elsewhere", sub);
	assert_int_equal(live_entries, 0);
	int after = dir_entries(sub);
	if (after != 0)
		fail_msg("%d entries left in %s after the child was killed", after, sub);
	assert_int_equal(rmdir(sub), 0);
	assert_int_equal(dir_entries(dir), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* ---- SWAP-CONCURRENT ---------------------------------------------------------------- */

#define CC_THREADS 4
#define CC_MAX 48

struct cc_shared {
	vidmm_t *vm;
	uint64_t deadline;
	atomic_bool stop;
	atomic_uint_fast64_t integrity_errors;
	pthread_mutex_t msg_lock;
	char msg[256];
};

struct cc_thread {
	struct cc_shared *sh;
	pthread_t tid;
	uint64_t seed;
	struct tracked t[CC_MAX];
	int n;
	uint64_t live_bytes, cap_bytes;
	uint64_t ops, verifies, locks, fills, creates, destroys, destroys_inflight, swap_outs;
	uint64_t soft_fails; /* -ENOMEM/-ENOSPC/-EBUSY under pressure */
};

static void cc_error(struct cc_shared *sh, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void cc_error(struct cc_shared *sh, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&sh->msg_lock);
	if (!sh->msg[0]) {
		va_start(ap, fmt);
		vsnprintf(sh->msg, sizeof(sh->msg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&sh->msg_lock);
	atomic_store(&sh->stop, true);
}

static bool soft(int ret)
{
	return ret == -ENOMEM || ret == -ENOSPC || ret == -EBUSY;
}

static void cc_drop(struct cc_thread *c, int i)
{
	c->live_bytes -= c->t[i].size;
	c->t[i] = c->t[--c->n];
}

static void *cc_main(void *arg)
{
	struct cc_thread *c = arg;
	struct cc_shared *sh = c->sh;
	vidmm_t *vm = sh->vm;
	struct vt_rng rng;
	static const uint64_t sizes[] = { 64 * KIB, 256 * KIB, 1 * MIB, 2 * MIB };

	vt_rng_seed(&rng, c->seed);
	while (!atomic_load(&sh->stop) && now_ns() < sh->deadline) {
		uint64_t r = vt_rng_below(&rng, 100), bad = 0;
		int ret;

		c->ops++;
		if (c->n == 0 || (r < 22 && c->n < CC_MAX && c->live_bytes < c->cap_bytes)) {
			struct tracked *a = &c->t[c->n];
			a->size = sizes[vt_rng_below(&rng, 4)];
			a->seed = vt_rng_next(&rng) | 1;
			ret = try_create(vm, -1, a->size, (int)vt_rng_below(&rng, VIDMM_PRIO_COUNT), 0,
					 &a->h);
			if (soft(ret)) {
				c->soft_fails++;
				continue;
			}
			if (ret) {
				cc_error(sh, "create: %s", vidmm_strerror(ret));
				break;
			}
			c->n++;
			c->live_bytes += a->size;
			c->creates++;
			ret = run1(vm, VIDMM_JOB_FILL, a->seed, a->h, NULL);
			if (soft(ret)) {
				/* Unwritten: forget its contents, never verify them. */
				c->soft_fails++;
				vidmm_destroy_allocation(vm, a->h);
				cc_drop(c, c->n - 1);
			} else if (ret) {
				cc_error(sh, "FILL of a new allocation: %s", vidmm_strerror(ret));
				break;
			}
			continue;
		}
		int i = (int)vt_rng_below(&rng, (uint64_t)c->n);
		struct tracked *a = &c->t[i];
		if (r < 52) {
			ret = verify_job(vm, a->h, a->seed, &bad);
			c->verifies++;
		} else if (r < 67) {
			uint64_t ns = vt_rng_below(&rng, 2) ? vt_rng_next(&rng) | 1 : 0;
			ret = lock_check(vm, a->h, a->size, a->seed, ns, &bad);
			if (!ret && ns)
				a->seed = ns;
			c->locks++;
		} else if (r < 80) {
			uint64_t ns = vt_rng_next(&rng) | 1;
			ret = run1(vm, VIDMM_JOB_FILL, ns, a->h, NULL);
			if (!ret)
				a->seed = ns;
			c->fills++;
		} else if (r < 92) {
			/* Destroy, half the time while a VERIFY of it is still
			 * queued: the deferred destroy must keep the data until
			 * the job has read it. */
			if (vt_rng_below(&rng, 2)) {
				struct vidmm_job j;
				struct vidmm_fence f;
				uint64_t res = UINT64_MAX;
				memset(&j, 0, sizeof(j));
				j.op = VIDMM_JOB_VERIFY;
				j.seed = a->seed;
				j.nrefs = 1;
				j.refs[0] = (struct vidmm_job_ref){ a->h, VIDMM_ACCESS_READ };
				j.result = &res;
				ret = vidmm_submit(vm, &j, &f);
				int d = vidmm_destroy_allocation(vm, a->h);
				if (d) {
					cc_error(sh, "destroy: %s", vidmm_strerror(d));
					break;
				}
				if (!ret) {
					ret = vidmm_wait_fence(vm, f, JOB_WAIT_NS);
					bad = ret ? 0 : res;
					c->destroys_inflight++;
				}
			} else {
				ret = vidmm_destroy_allocation(vm, a->h);
			}
			c->destroys++;
			uint64_t sd = a->seed;
			cc_drop(c, i);
			if (bad) {
				atomic_fetch_add(&sh->integrity_errors, 1);
				cc_error(sh, "VERIFY racing a destroy: %" PRIu64
					 " mismatched words (seed %" PRIu64 ")", bad, sd);
				break;
			}
			if (ret && !soft(ret)) {
				cc_error(sh, "destroy / VERIFY before destroy: %s", vidmm_strerror(ret));
				break;
			}
			if (ret)
				c->soft_fails++;
			continue;
		} else {
			ret = vidmm_swap_out(vm, a->h);
			c->swap_outs++;
		}
		if (bad) {
			atomic_fetch_add(&sh->integrity_errors, 1);
			cc_error(sh, "thread seed %" PRIu64 ": %" PRIu64 " mismatched words in a %"
				 PRIu64 "-byte allocation (op r=%" PRIu64 ")", c->seed, bad, a->size, r);
			break;
		}
		if (soft(ret)) {
			c->soft_fails++;
		} else if (ret) {
			cc_error(sh, "op r=%" PRIu64 " on a %" PRIu64 "-byte allocation: %s", r, a->size,
				 vidmm_strerror(ret));
			break;
		}
	}
	return NULL;
}

static void swap_concurrent(void **state)
{
	/* A 64 MiB budget and low watermarks: the four clients' 160 MiB keep
	 * background reclaim busy, while the callers also swap synchronously. */
	struct vt_env_opts o = { .sysmem = 64 * MIB, .reclaim_high_pct = 70, .reclaim_low_pct = 50 };
	struct vt_env *e = vt_env_up(&o);
	uint64_t seed = vt_seed("SWAP-CONCURRENT");
	struct cc_shared sh = { .vm = e->vm };
	struct cc_thread th[CC_THREADS];
	const uint64_t run_ns = (VT_SANITIZED ? 25 : 6) * SEC;
	uint64_t checks = 0;

	(void)state;
	pthread_mutex_init(&sh.msg_lock, NULL);
	sh.deadline = now_ns() + run_ns;
	memset(th, 0, sizeof(th));
	for (int i = 0; i < CC_THREADS; i++) {
		th[i].sh = &sh;
		th[i].seed = seed + (uint64_t)i * 0x9e3779b97f4a7c15ull;
		th[i].cap_bytes = 40 * MIB;
		assert_int_equal(pthread_create(&th[i].tid, NULL, cc_main, &th[i]), 0);
	}
	/* The checker runs beside the clients: invariants must hold at any
	 * moment the lock is free, not just when everything is quiet. */
	while (!atomic_load(&sh.stop) && now_ns() < sh.deadline) {
		struct timespec ts = { 0, 200 * (long)MS };
		nanosleep(&ts, NULL);
		if (vidmm_check(e->vm))
			cc_error(&sh, "vidmm_check during the run: %s", vidmm_check_error(e->vm));
		checks++;
	}
	for (int i = 0; i < CC_THREADS; i++)
		pthread_join(th[i].tid, NULL);
	if (sh.msg[0])
		fail_msg("%s (integrity errors %" PRIu64 ")", sh.msg,
			 (uint64_t)atomic_load(&sh.integrity_errors));

	struct vidmm_stats s1 = stats_of(e->vm);
	uint64_t ops = 0, soft_fails = 0;
	for (int i = 0; i < CC_THREADS; i++) {
		printf("thread %d: %" PRIu64 " ops (%" PRIu64 " creates, %" PRIu64 " verifies, %" PRIu64
		       " locks, %" PRIu64 " fills, %" PRIu64 " destroys of which %" PRIu64
		       " with a job in flight, %" PRIu64 " swap-outs), %" PRIu64 " refused, %d live\n",
		       i, th[i].ops, th[i].creates, th[i].verifies, th[i].locks, th[i].fills,
		       th[i].destroys, th[i].destroys_inflight, th[i].swap_outs, th[i].soft_fails,
		       th[i].n);
		ops += th[i].ops;
		soft_fails += th[i].soft_fails;
	}
	printf("%" PRIu64 " checks; swap-outs %" PRIu64 ", swap-ins %" PRIu64 ", reclaim runs %"
	       PRIu64 " (%" PRIu64 " MiB), swap_full %" PRIu64 ", io %s, buffers %s\n", checks,
	       s1.swap_outs, s1.swap_ins, s1.reclaim_runs, s1.reclaimed_bytes / MIB, s1.swap_full,
	       s1.swap_io_mode, s1.swap_buffer_mode);
	if (soft_fails * 2 > ops)
		fail_msg("%" PRIu64 " of %" PRIu64 " operations refused: the clients barely ran",
			 soft_fails, ops);

	/* Quiet now: everything left must verify, then go. */
	for (int i = 0; i < CC_THREADS; i++)
		for (int k = 0; k < th[i].n; k++)
			expect_verify(e->vm, th[i].t[k].h, th[i].t[k].seed, "after the run");
	vt_check(e->vm, "after the run");
	assert_int_equal(atomic_load(&sh.integrity_errors), 0);
	assert_int_equal(s1.swap_read_errors + s1.swap_write_errors + s1.swap_checksum_failures, 0);
	assert_int_equal(s1.dummy_page_faults, 0);
	if (!s1.reclaim_runs)
		fail_msg("background reclaim never ran: no pressure made");
	assert_true(s1.swap_outs > 0);
	for (int i = 0; i < CC_THREADS; i++)
		for (int k = 0; k < th[i].n; k++)
			assert_int_equal(vidmm_destroy_allocation(e->vm, th[i].t[k].h), 0);
	/* Deferred destroys finish once their jobs have: give them a moment. */
	struct vidmm_stats s2 = stats_of(e->vm);
	for (int w = 0; w < 100 && (s2.swap_used_bytes || s2.swapped_allocations); w++) {
		struct timespec ts = { 0, 20 * (long)MS };
		nanosleep(&ts, NULL);
		s2 = stats_of(e->vm);
	}
	assert_int_equal(s2.allocations, 0);
	assert_int_equal(s2.swapped_allocations, 0);
	assert_int_equal(s2.swap_used_bytes, 0);
	vt_check(e->vm, "at the end");
	pthread_mutex_destroy(&sh.msg_lock);
	vt_env_down(e);
}

/* ---- SWAP-SMALL-BATCHED ---------------------------------------------------------------- */

/* 64 KiB allocations swapped out in one batch come back together: the
 * swap-in of the first reads the rest of its batch ahead in the same
 * submission, with more than one read in flight (counted by the store), and
 * every allocation keeps its data. A read error in such a batch fails the
 * call that needed the data, which stays swapped with its slot and reads
 * back on the next try; the batch-mates whose reads succeeded come back. */
static void swap_small_batched(void **state)
{
	/* 16 MiB for clients: 4 MiB of data, then pressure that needs every
	 * page swaps all of it out in one batch */
	struct vt_env_opts o = { .sysmem = 24 * MIB, .sysmem_reserve = 8 * MIB,
				 .no_background_reclaim = true };
	struct vt_env *e = vt_env_up(&o);
	uint64_t seed = vt_seed("SWAP-SMALL-BATCHED");
	enum { N = 64 };
	const uint64_t sz = 64 * 1024;
	vidmm_handle_t h[N];

	(void)state;
	for (int i = 0; i < N; i++) {
		h[i] = create_in(e, e->pcie_snoop, sz, VIDMM_PRIO_NORMAL, 0);
		gpu_fill(e->vm, h[i], seed + (uint64_t)i);
	}
	for (int round = 0; round < 2; round++) {
		/* round 1: a read error in the batch */
		for (int i = 0; i < N; i++)
			assert_int_equal(vidmm_evict(e->vm, h[i]), 0);
		/* every free client page, and the data set's worth more */
		struct vidmm_stats sp = stats_of(e->vm);
		uint64_t want = (sp.sysmem_pages_budget - sp.sysmem_pages_reserve -
				 sp.sysmem_pages_used) * 4096 + N * sz;
		vidmm_handle_t p = create_in(e, e->pcie_unsnoop, want, VIDMM_PRIO_HIGH, 0);
		struct vidmm_stats s0 = stats_of(e->vm);
		printf("round %d, after the pressure: %" PRIu64 " swapped\n", round,
		       s0.swapped_allocations);
		assert_int_equal(s0.swapped_allocations, N);
		assert_int_equal(vidmm_destroy_allocation(e->vm, p), 0);
		if (round == 1) {
			/* the batch that reads it fails, and nothing is lost: the
			 * allocation the job needed stays swapped with its slot */
			assert_int_equal(vidmm_debug_swap_inject(e->vm, false, -EIO, 1), 0);
			uint64_t bad;
			int ret = verify_job(e->vm, h[0], seed, &bad);
			printf("VERIFY with a read error injected: %s\n", vidmm_strerror(ret));
			assert_true(ret != 0);
			assert_int_equal(residency_of(e->vm, h[0]), VIDMM_SWAPPED);
			assert_true(stats_of(e->vm).swap_read_errors >= 1);
			vt_check(e->vm, "after the failed batch");
		}
		struct vidmm_stats s1 = stats_of(e->vm);
		expect_verify(e->vm, h[0], seed, "the first allocation");
		struct vidmm_stats s2 = stats_of(e->vm);
		printf("round %d, one swap-in: %" PRIu64 " read ahead, %" PRIu64 " still swapped, "
		       "reads in flight at most %u\n", round, s2.swap_readaheads - s1.swap_readaheads,
		       s2.swapped_allocations, s2.swap_read_queue_depth_reached);
		if (round == 0) {
			/* 63 x 64 KiB behind it, in several reads at once */
			assert_int_equal(s2.swap_readaheads - s1.swap_readaheads, N - 1);
			assert_int_equal(s2.swapped_allocations, 0);
			assert_true(s2.swap_read_queue_depth_reached > 1);
		}
		for (int i = 0; i < N; i++)
			expect_verify(e->vm, h[i], seed + (uint64_t)i, "an allocation read ahead");
		vt_check(e->vm, "after the swap-ins");
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(vidmm_destroy_allocation(e->vm, h[i]), 0);
	vt_env_down(e);
}

/* ---- SWAP-READAHEAD-RAMP ----------------------------------------------------------------- */

/* Swap N 96 KiB allocations out in five batches, 256 by the first pressure
 * allocation (exactly its pages), then the rest (batches of up to 256) by
 * the second; the slots follow each other in the file. */
enum { RAMP_N = 1100, RAMP_FIRST = 256 };

static void ramp_swap_out(struct vt_env *e, const vidmm_handle_t *h, uint64_t sz)
{
	for (int i = 0; i < RAMP_N; i++)
		assert_int_equal(vidmm_evict(e->vm, h[i]), 0);
	struct vidmm_stats sp = stats_of(e->vm);
	uint64_t free_b = (sp.sysmem_pages_budget - sp.sysmem_pages_reserve - sp.sysmem_pages_used) *
			  4096;
	/* the snooped segment gives 8 MiB to the paging segment: the larger
	 * one goes to the unsnooped */
	vidmm_handle_t p1 = create_in(e, e->pcie_unsnoop, free_b + RAMP_FIRST * sz, VIDMM_PRIO_HIGH,
				      0);
	assert_int_equal(stats_of(e->vm).swapped_allocations, RAMP_FIRST);
	vidmm_handle_t p2 = create_in(e, e->pcie_snoop, (RAMP_N - RAMP_FIRST) * sz, VIDMM_PRIO_HIGH, 0);
	assert_int_equal(stats_of(e->vm).swapped_allocations, RAMP_N);
	assert_int_equal(vidmm_destroy_allocation(e->vm, p1), 0);
	assert_int_equal(vidmm_destroy_allocation(e->vm, p2), 0);
}

/*
 * The read-ahead window (reclaim.c) ramps while a reader consumes swapped
 * allocations in swap-out order: 4, 8, 16, then 32 MiB, and no further; it
 * starts at 4 MiB for a swap-in that does not continue a read-ahead, an
 * allocation swapped out again starts unmarked (round 0's last read-ahead
 * does not make round 1's first swap-in its sequel), and two readers
 * interleaved each ramp on their own (the marker is on the allocations).
 * 96 KiB allocations: 42 fit in 4 MiB, 85 in 8, 170 in 16, 341 in 32 (a
 * window that kept doubling would take all 457 left after 642). A
 * read-ahead goes past its batch only for a reader already in order (129's
 * reaches into the second batch, 300's and 642's run across the next ones);
 * a first swap-in at a batch's end (255, round 1) reads nothing ahead. The
 * budget keeps the high watermark (90% of the clients' share) above the
 * 103 MiB data set, so only the window limits; "default" has the local
 * memory to hold it.
 */
static void swap_readahead_ramp(void **state)
{
	struct vt_env_opts o = { .profile = "default", .sysmem = 192 * MIB,
				 .sysmem_reserve = 8 * MIB, .swap = 256 * MIB,
				 .no_background_reclaim = true };
	struct vt_env *e = vt_env_up(&o);
	uint64_t seed = vt_seed("SWAP-READAHEAD-RAMP");
	const uint64_t sz = 96 * 1024;
	vidmm_handle_t h[RAMP_N];

	(void)state;
	for (int i = 0; i < RAMP_N; i++) {
		h[i] = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
		gpu_fill(e->vm, h[i], seed + (uint64_t)i);
	}
	/* round 0, in order: misses at 0, 43, 129, 300, 642, 984 (the last
	 * 115); round 1, after swapping everything out again (300 lost the
	 * marker round 0 left on it): 255 alone, then two readers interleaved:
	 * 0 and 300 start at 4 MiB, then 43 and 343 continue each its own at
	 * 8 MiB */
	static const int touch[2][6] = { { 0, 43, 129, 300, 642, 984 }, { 255, 0, 300, 43, 343, -1 } };
	static const uint64_t ahead[2][6] = { { 42, 85, 170, 341, 341, 115 }, { 0, 42, 42, 85, 85, 0 } };
	for (int round = 0; round < 2; round++) {
		ramp_swap_out(e, h, sz);
		for (int k = 0; k < 6 && touch[round][k] >= 0; k++) {
			int i = touch[round][k];
			struct vidmm_stats s0 = stats_of(e->vm);
			assert_int_equal(residency_of(e->vm, h[i]), VIDMM_SWAPPED);
			expect_verify(e->vm, h[i], seed + (uint64_t)i, "a swap-in");
			struct vidmm_stats s1 = stats_of(e->vm);
			printf("round %d: swap-in of %d read %" PRIu64 " ahead\n", round, i,
			       s1.swap_readaheads - s0.swap_readaheads);
			assert_int_equal(s1.swap_readaheads - s0.swap_readaheads, ahead[round][k]);
		}
		if (round == 0)
			assert_int_equal(stats_of(e->vm).swapped_allocations, 0);
		for (int i = 0; i < RAMP_N; i++)
			expect_verify(e->vm, h[i], seed + (uint64_t)i, "an allocation read ahead");
		vt_check(e->vm, "after the swap-ins");
	}
	for (int i = 0; i < RAMP_N; i++)
		assert_int_equal(vidmm_destroy_allocation(e->vm, h[i]), 0);
	vt_env_down(e);
}

/* ---- SWAP-READAHEAD-ASYNC ----------------------------------------------------------------- */

/* Swap every one of h[0..n) out: evicted, then a pressure allocation that
 * needs every free client page and their size more. */
static void swap_all_out(struct vt_env *e, const vidmm_handle_t *h, int n, uint64_t sz)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(vidmm_evict(e->vm, h[i]), 0);
	struct vidmm_stats sp = stats_of(e->vm);
	uint64_t want = (sp.sysmem_pages_budget - sp.sysmem_pages_reserve - sp.sysmem_pages_used) *
			4096 + (uint64_t)n * sz;
	vidmm_handle_t p = create_in(e, e->pcie_unsnoop, want, VIDMM_PRIO_HIGH, 0);
	assert_int_equal(stats_of(e->vm).swapped_allocations, (uint64_t)n);
	assert_int_equal(vidmm_destroy_allocation(e->vm, p), 0);
}

/*
 * A reader that uses swapped allocations in swap-out order finds them read
 * ahead by the read-ahead thread (readahead.c): after the first swap-in,
 * the first use of what a read-ahead brought starts the next window, so
 * the reader's own calls read almost nothing. Without the thread
 * (no_async_readahead) the same reader swaps in once per window (64 KiB:
 * 4, 8, 16, 32 MiB). A large allocation (no synchronous read-ahead) read in
 * order starts the thread at once. Every allocation keeps its data; a
 * destroy of everything while the thread reads leaves the manager
 * consistent with nothing held (ASan: nothing leaked), and vidmm_wait_idle
 * returns only once the thread is idle. With the thread held
 * (vidmm_debug_readahead_hold), a window is queued and owned but not
 * started: a reader that needs an allocation in it reads the window itself
 * instead of waiting behind the thread, an evict or a swap-out of one in it
 * succeeds, and a manager destroyed with a window still queued gives it
 * back unread (ASan: nothing leaked).
 */
static void swap_readahead_async(void **state)
{
	uint64_t seed = vt_seed("SWAP-READAHEAD-ASYNC");
	enum { N = 512, NL = 16 };
	static vidmm_handle_t h[N];

	(void)state;
	for (int mode = 0; mode < 2; mode++) {
		struct vt_env_opts o = { .profile = "default", .sysmem = 160 * MIB,
					 .sysmem_reserve = 8 * MIB, .swap = 128 * MIB,
					 .no_background_reclaim = true,
					 .no_async_readahead = mode == 1 };
		struct vt_env *e = vt_env_up(&o);
		for (int part = 0; part < 2; part++) {
			/* 512 x 64 KiB, then 16 x 2 MiB */
			int n = part ? NL : N;
			uint64_t sz = part ? 2 * MIB : 64 * 1024;
			for (int i = 0; i < n; i++) {
				h[i] = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
				gpu_fill(e->vm, h[i], seed + (uint64_t)i);
			}
			swap_all_out(e, h, n, sz);
			struct vidmm_stats s0 = stats_of(e->vm);
			struct vidmm_hist h0, h1;
			assert_int_equal(vidmm_query_histogram(e->vm, VIDMM_HIST_SWAP_IN, &h0), 0);
			for (int i = 0; i < n; i++)
				expect_verify(e->vm, h[i], seed + (uint64_t)i, "a reader in order");
			assert_int_equal(vidmm_wait_idle(e->vm, 10ull * 1000 * MS), 0);
			struct vidmm_stats s1 = stats_of(e->vm);
			assert_int_equal(vidmm_query_histogram(e->vm, VIDMM_HIST_SWAP_IN, &h1), 0);
			uint64_t own = h1.count - h0.count;
			uint64_t async = s1.swap_async_readaheads - s0.swap_async_readaheads;
			printf("%s, %d x %" PRIu64 " KiB in order: %" PRIu64 " swap-ins by the reader, %"
			       PRIu64 " read ahead with them, %" PRIu64 " by the thread\n",
			       mode ? "no thread" : "thread", n, sz >> 10, own,
			       s1.swap_readaheads - s0.swap_readaheads - async, async);
			assert_int_equal(s1.swap_ins - s0.swap_ins, (uint64_t)n);
			assert_int_equal(s1.swapped_allocations, 0);
			assert_int_equal(s1.swap_read_errors, 0);
			if (mode == 1) {
				assert_int_equal(async, 0);
				/* the ramp: 64 KiB misses at 0, 65, 194, 451; 2 MiB one by one */
				assert_int_equal(own, part ? (uint64_t)n : 4);
			} else {
				/* the first two at most (a 2 MiB reader is in
				 * order from the second), and the thread is
				 * always ahead unless it was late to start */
				assert_true(async >= (uint64_t)n / 2);
				assert_true(own <= (uint64_t)n / 2);
			}
			vt_check(e->vm, "after the reader");
			for (int i = 0; i < n; i++)
				assert_int_equal(vidmm_destroy_allocation(e->vm, h[i]), 0);
		}
		/* Destroy while the thread reads: the reader's second use starts
		 * a window of 8 MiB, and everything goes at once. */
		for (int i = 0; i < N; i++) {
			h[i] = create_in(e, e->local_invis, 64 * 1024, VIDMM_PRIO_NORMAL, 0);
			gpu_fill(e->vm, h[i], seed + (uint64_t)i);
		}
		swap_all_out(e, h, N, 64 * 1024);
		expect_verify(e->vm, h[0], seed, "the first");
		expect_verify(e->vm, h[1], seed + 1, "the second");
		for (int i = 0; i < N; i++)
			assert_int_equal(vidmm_destroy_allocation(e->vm, h[i]), 0);
		vt_check(e->vm, "after destroying what the thread reads");
		assert_int_equal(vidmm_wait_idle(e->vm, 10ull * 1000 * MS), 0);
		struct vidmm_stats s2 = stats_of(e->vm);
		printf("%s: destroyed during the read-ahead: %" PRIu64 " allocations, %" PRIu64
		       " swap bytes left\n", mode ? "no thread" : "thread", s2.allocations,
		       s2.swap_used_bytes);
		assert_int_equal(s2.allocations, 0);
		assert_int_equal(s2.swap_used_bytes, 0);
		if (mode == 0) {
			for (int i = 0; i < N; i++) {
				h[i] = create_in(e, e->local_invis, 64 * 1024, VIDMM_PRIO_NORMAL, 0);
				gpu_fill(e->vm, h[i], seed + (uint64_t)i);
			}
			swap_all_out(e, h, N, 64 * 1024);
			assert_int_equal(vidmm_debug_readahead_hold(e->vm, true), 0);
			/* 0 reads 1..64; the use of 1 queues 65..192 (8 MiB) */
			expect_verify(e->vm, h[0], seed, "the first");
			expect_verify(e->vm, h[1], seed + 1, "the second");
			struct vidmm_stats q0 = stats_of(e->vm);
			assert_int_equal(residency_of(e->vm, h[100]), VIDMM_SWAPPED);
			expect_verify(e->vm, h[100], seed + 100, "one in a queued window");
			struct vidmm_stats q1 = stats_of(e->vm);
			printf("held: a use inside the queued window read %" PRIu64 " (by the window: %"
			       PRIu64 ")\n", q1.swap_ins - q0.swap_ins,
			       q1.swap_async_readaheads - q0.swap_async_readaheads);
			assert_int_equal(q1.swap_async_readaheads - q0.swap_async_readaheads, 128);
			assert_int_equal(q1.swap_ins - q0.swap_ins, 128);
			assert_int_equal(residency_of(e->vm, h[65]), VIDMM_EVICTED);
			/* the use of 65 queues 193..448 (16 MiB); destroy some of
			 * them, then the manager, with the window still queued */
			expect_verify(e->vm, h[65], seed + 65, "the first of the window");
			assert_int_equal(residency_of(e->vm, h[300]), VIDMM_SWAPPED);
			/* an evict or swap-out of one in the queued window is
			 * done, not -EBUSY (the swap-out takes it out of it) */
			assert_int_equal(vidmm_evict(e->vm, h[200]), 0);
			assert_int_equal(vidmm_swap_out(e->vm, h[201]), 0);
			assert_int_equal(residency_of(e->vm, h[201]), VIDMM_SWAPPED);
			vt_check(e->vm, "a swap-out out of a queued window");
			for (int i = 250; i < 350; i++)
				assert_int_equal(vidmm_destroy_allocation(e->vm, h[i]), 0);
			vt_check(e->vm, "a window queued, some of it destroyed");
		}
		vt_env_down(e);
	}
}

/* ---- SWAP-READAHEAD-GIVES-BACK ------------------------------------------------------------ */

/*
 * Pages taken for a read-ahead window that has not started are a guess: an
 * allocation that finds no other page, and nothing more to swap out (the
 * swap file is full), gets them, and the window goes back unread, its
 * allocations swapped as they were and readable later. Without the give-back
 * the allocation below fails with -ENOMEM.
 */
static void swap_readahead_gives_back(void **state)
{
	enum { N = 512 };
	const uint64_t sz = 64 * 1024;
	/* the swap file holds the data set and no more */
	struct vt_env_opts o = { .profile = "default", .sysmem = 96 * MIB,
				 .sysmem_reserve = 8 * MIB, .swap = N * sz,
				 .no_background_reclaim = true };
	struct vt_env *e = vt_env_up(&o);
	uint64_t seed = vt_seed("SWAP-READAHEAD-GIVES-BACK");
	static vidmm_handle_t h[N];

	(void)state;
	for (int i = 0; i < N; i++) {
		h[i] = create_in(e, e->local_invis, sz, VIDMM_PRIO_NORMAL, 0);
		gpu_fill(e->vm, h[i], seed + (uint64_t)i);
	}
	swap_all_out(e, h, N, sz);
	assert_int_equal(stats_of(e->vm).swap_used_bytes, (uint64_t)N * sz);
	assert_int_equal(vidmm_debug_readahead_hold(e->vm, true), 0);
	/* 0 reads 1..64 (4 MiB) back; the use of 1 queues 65..192 (8 MiB) */
	expect_verify(e->vm, h[0], seed, "the first");
	expect_verify(e->vm, h[1], seed + 1, "the second");
	struct vidmm_stats s0 = stats_of(e->vm);
	assert_int_equal(residency_of(e->vm, h[65]), VIDMM_SWAPPED);
	/* Every free client page and 6 MiB more: swapping 2..64 out again
	 * (the file has room for 65) gives 4, the queued window 8. */
	uint64_t free_b = (s0.sysmem_pages_budget - s0.sysmem_pages_reserve - s0.sysmem_pages_used) *
			  4096;
	vidmm_handle_t p = 0;
	int ret = try_create(e->vm, e->pcie_unsnoop, free_b + 6 * MIB, VIDMM_PRIO_HIGH, 0, &p);
	struct vidmm_stats s1 = stats_of(e->vm);
	printf("a create of %" PRIu64 " MiB with a window queued: %s; %" PRIu64 " swapped out again, "
	       "%" PRIu64 " swapped\n", (free_b + 6 * MIB) >> 20, vidmm_strerror(ret),
	       s1.swap_outs - s0.swap_outs, s1.swapped_allocations);
	assert_int_equal(ret, 0);
	assert_int_equal(residency_of(e->vm, h[65]), VIDMM_SWAPPED);
	vt_check(e->vm, "after the give-back");
	assert_int_equal(vidmm_destroy_allocation(e->vm, p), 0);
	assert_int_equal(vidmm_debug_readahead_hold(e->vm, false), 0);
	for (int i = 0; i < N; i++)
		expect_verify(e->vm, h[i], seed + (uint64_t)i, "after the give-back");
	assert_int_equal(vidmm_wait_idle(e->vm, 10ull * 1000 * MS), 0);
	vt_check(e->vm, "after reading everything");
	for (int i = 0; i < N; i++)
		assert_int_equal(vidmm_destroy_allocation(e->vm, h[i]), 0);
	vt_env_down(e);
}

/* ---- SYSMEM-WAITS-FOR-PENDING-FREE ------------------------------------------------------ */

/* System pages of an allocation destroyed while busy (its clear on create
 * still queued) come back when its fence signals: a request that needs
 * them waits for that fence rather than fail with -ENOMEM while the memory
 * is on its way back (swap_bench's swap-in did, right after its pressure
 * allocations were destroyed). */
static void sysmem_waits_for_pending_free(void **state)
{
	/* 32 MiB for clients: two 24 MiB allocations never fit at once */
	struct vt_env_opts o = { .sysmem = 40 * MIB, .sysmem_reserve = 8 * MIB };
	struct vt_env *e = vt_env_up(&o);
	const uint64_t sz = 24 * MIB;

	(void)state;
	/* Every copy engine signals its next command 100 ms late: the clear
	 * of the first allocation is still pending when it is destroyed. */
	for (uint32_t c = 0; c < e->eng.n_copy; c++)
		assert_int_equal(emu_inject_fence_delay(e->emu, c, 100 * MS, 1), 0);
	vidmm_handle_t a = create_in(e, e->pcie_snoop, sz, VIDMM_PRIO_NORMAL, 0);
	struct vidmm_stats s0 = stats_of(e->vm);
	assert_int_equal(vidmm_destroy_allocation(e->vm, a), 0);
	struct vidmm_stats s1 = stats_of(e->vm);
	/* destroyed, but its pages are not back yet */
	assert_int_equal(s1.sysmem_pages_used, s0.sysmem_pages_used);
	uint64_t t0 = now_ns();
	vidmm_handle_t b = 0;
	int ret = try_create(e->vm, e->pcie_unsnoop, sz, VIDMM_PRIO_NORMAL, 0, &b);
	printf("second 24 MiB allocation: %s after %.1f ms\n", vidmm_strerror(ret),
	       (double)(now_ns() - t0) / 1e6);
	assert_int_equal(ret, 0);
	gpu_fill(e->vm, b, 7);
	expect_verify(e->vm, b, 7, "the new allocation");
	struct vidmm_stats s2 = stats_of(e->vm);
	assert_int_equal(s2.allocations, 1);
	vt_check(e->vm, "after the wait");
	assert_int_equal(vidmm_destroy_allocation(e->vm, b), 0);
	vt_env_down(e);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("SWAP-ROUNDTRIP", swap_roundtrip),
		VT_CASE("SWAP-VERIFY-PATTERN", swap_verify_pattern),
		VT_CASE("SWAP-ENOSPC", swap_enospc),
		VT_CASE("SWAP-EIO", swap_eio),
		VT_CASE("SWAP-CORRUPT", swap_corrupt),
		VT_CASE("SWAP-MEMLOCK-FALLBACK", swap_memlock_fallback),
		VT_CASE("SWAP-BUFFERED-FALLBACK", swap_buffered_fallback),
		VT_CASE("SWAP-NO-LEFTOVER", swap_no_leftover),
		VT_CASE("SWAP-CONCURRENT", swap_concurrent),
		VT_CASE("SYSMEM-WAITS-FOR-PENDING-FREE", sysmem_waits_for_pending_free),
		VT_CASE("SWAP-READAHEAD-RAMP", swap_readahead_ramp),
		VT_CASE("SWAP-READAHEAD-ASYNC", swap_readahead_async),
		VT_CASE("SWAP-READAHEAD-GIVES-BACK", swap_readahead_gives_back),
		VT_CASE("SWAP-SMALL-BATCHED", swap_small_batched),
	};
	return VT_MAIN("swap", cases);
}
