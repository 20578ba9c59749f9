/* SPDX-License-Identifier: MIT */
/*
 * micro_swap.c - Google Benchmark microbenchmarks of swap: the manager's
 * swap-out and swap-in per allocation size and swap queue depth, beside a
 * raw sequential O_DIRECT io_uring pass with the same block size and queue
 * depth on a file in the same directory.
 *
 * Owns: BM_swap_out/size:S/qd:Q, BM_swap_in/size:S/qd:Q,
 * BM_swap_raw_write/size:S/qd:Q, BM_swap_raw_read/size:S/qd:Q.
 * Must not: change core/ or drivers/, or reach into the manager or the swap
 * store (core/swap.h): the swap figures go through core/vidmm.h only, so they
 * are what a client sees. The raw loop is a minimal copy of the one in
 * bench/tools/swap_bench.c / swap_raw.c rather than a shared helper: both of those
 * keep it static around their own structs and fixed QD arrays, and this file
 * must not edit them.
 *
 * One iteration is one pass over MS_SET bytes in both families: MS_SET/size
 * allocations (swap) or blocks (raw), so real_time, bytes_per_second and
 * items_per_second compare directly between BM_swap_out and
 * BM_swap_raw_write, and between BM_swap_in and BM_swap_raw_read.
 *
 * Swap: the data live in the snooped PCIe segment, whose pages are the data,
 * so paging out or in is a GART update and the figures are the swap I/O, not
 * copies (as bench/tools/swap_bench.c does). The manager runs without background
 * reclaim, so every swap I/O happens inside the timed calls. Manual time,
 * wall clock around: vidmm_swap_out of every (already paged-out) allocation
 * (BM_swap_out); vidmm_lock + vidmm_unlock of every swapped allocation, which
 * reads it back from the file and maps it (BM_swap_in). What puts the
 * allocations back in the state the pass needs is outside the timed part.
 * vidmm_swap_out takes one allocation, and one allocation of at most
 * SWAP_IO_MAX (2 MiB) is one I/O, so the manager cannot use a queue deeper
 * than 1 here: qd_reached reports what it did reach.
 *
 * Counters: io_p50_ns, the median of the swap store's I/O-level histogram
 * (VIDMM_HIST_SWAP_WRITE_IO / _READ_IO, submission to completion) over the
 * call; op_p50_ns, the median of the manager's per-allocation histogram
 * (VIDMM_HIST_SWAP_OUT / _SWAP_IN); qd_reached, vidmm_stats'
 * swap_queue_depth_reached. The label is the store's I/O and buffer mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include "core/vidmm.h"
#include "drivers/emu/emu.h"
#include "gbshim.h"
#include "micro.h"
#include "platform.h"

#define MIB (1ull << 20)
/* Bytes per pass: 32 blocks of 2 MiB, so qd:32 can have every block of a
 * pass in flight; small enough that MICRO-SMOKE's one pass per run is quick. */
#define MS_SET (64 * MIB)
#define MS_WAIT_NS 10000000000ull

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The directory the manager's swap file goes to when swap_dir is NULL. */
static const char *ms_dir(void)
{
	const char *d = getenv("TMPDIR");

	return d && *d ? d : "/tmp";
}

static void ms_fail(gb_state *st, const char *what, int ret)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "%s: %s", what, vidmm_strerror(ret));
	gb_skip_with_error(st, msg);
}

/* The median of what h gained since h0 (min/max only bound the answer). */
static double ms_hist_p50(const struct vidmm_hist *h0, const struct vidmm_hist *h)
{
	static struct vidmm_hist d; /* large: not on the stack */

	d.count = h->count - h0->count;
	d.sum = h->sum - h0->sum;
	d.min = 0;
	d.max = h->max;
	for (size_t i = 0; i < VIDMM_HIST_BUCKETS; i++)
		d.buckets[i] = h->buckets[i] - h0->buckets[i];
	return (double)vidmm_hist_quantile(&d, 0.5);
}

/* ---- the manager ---------------------------------------------------------- */

/*
 * One manager per (size, qd), kept across the calls Google Benchmark makes
 * for one run, so allocations are created and filled once per run.
 */
static struct {
	struct platform pl;
	vidmm_handle_t *h;
	uint64_t n, size;
	uint32_t qd;
	char err[256];
} ms_m;

static void ms_m_close(void)
{
	if (ms_m.pl.vm || ms_m.pl.emu)
		platform_close(&ms_m.pl);
	free(ms_m.h);
	memset(&ms_m, 0, sizeof(ms_m));
}

static int ms_job(vidmm_t *vm, enum vidmm_job_op op, uint64_t seed, vidmm_handle_t h,
		  uint64_t *result)
{
	return platform_job1(vm, op, seed, h, result, MS_WAIT_NS, NULL);
}

/* Every allocation swapped out (untimed helper and the timed pass alike). */
static int ms_swap_out_all(void)
{
	for (uint64_t i = 0; i < ms_m.n; i++) {
		int ret = vidmm_swap_out(ms_m.pl.vm, ms_m.h[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Every allocation read back and mapped: lock + unlock. */
static int ms_swap_in_all(void)
{
	for (uint64_t i = 0; i < ms_m.n; i++) {
		void *cpu;
		int ret = vidmm_lock(ms_m.pl.vm, ms_m.h[i], &cpu);
		if (!ret)
			ret = vidmm_unlock(ms_m.pl.vm, ms_m.h[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Every allocation paged out (GART unmap: the data stay in their pages). */
static int ms_evict_all(void)
{
	for (uint64_t i = 0; i < ms_m.n; i++) {
		int ret = vidmm_evict(ms_m.pl.vm, ms_m.h[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static bool ms_m_get(gb_state *st, uint64_t size, uint32_t qd)
{
	struct platform_opts po = {
		.paging_mode = VIDMM_PAGING_WINDOW,
		.no_swap = false,
		.no_background_reclaim = true,
	};
	struct vidmm_profile p;
	struct vidmm_config cfg;
	int seg, ret;

	if (ms_m.pl.vm && ms_m.size == size && ms_m.qd == qd)
		return true;
	ms_m_close();
	if (size == 0 || MS_SET % size) {
		gb_skip_with_error(st, "size must divide the 64 MiB pass");
		return false;
	}
	ret = vidmm_profile_builtin("default", &p);
	if (ret) {
		gb_skip_with_error(st, "no default profile");
		return false;
	}
	/* The budget holds the data set and a little more; so does the file. */
	snprintf(p.name, sizeof(p.name), "default-swap");
	p.sysmem = MS_SET + 64 * MIB;
	p.sysmem_reserve = 32 * MIB;
	p.swap = MS_SET + 64 * MIB;
	if (p.pcie_snooped < MS_SET + p.paging + 64 * MIB)
		p.pcie_snooped = MS_SET + p.paging + 64 * MIB;
	ret = platform_open_opts(&p, "emu", &po, &ms_m.pl, ms_m.err, sizeof(ms_m.err));
	if (ret) {
		gb_skip_with_error(st, ms_m.err);
		memset(&ms_m.pl, 0, sizeof(ms_m.pl));
		return false;
	}
	/* The queue depth is a vidmm_config field platform_opts does not carry:
	 * re-init the manager on the same chip with it (paging_bench.c does so
	 * for the paging mode). */
	cfg = ms_m.pl.cfg;
	cfg.swap_queue_depth = qd;
	vidmm_destroy(ms_m.pl.vm);
	ms_m.pl.vm = NULL;
	ret = vidmm_init(&cfg, &ms_m.pl.vm);
	if (ret) {
		snprintf(ms_m.err, sizeof(ms_m.err), "vidmm_init: %s", vidmm_init_error());
		ms_m_close();
		gb_skip_with_error(st, ms_m.err);
		return false;
	}
	ms_m.pl.cfg = cfg;
	/* The TLB checker only costs time here. */
	emu_set_tlb_check(ms_m.pl.emu, false);
	seg = platform_find_segment(ms_m.pl.vm, VIDMM_SEG_PCIE | VIDMM_SEG_SNOOPED | VIDMM_SEG_PAGING,
				    VIDMM_SEG_PCIE | VIDMM_SEG_SNOOPED);
	if (seg < 0) {
		ms_m_close();
		gb_skip_with_error(st, "the profile has no snooped PCIe segment");
		return false;
	}
	ms_m.size = size;
	ms_m.qd = qd;
	ms_m.n = MS_SET / size;
	ms_m.h = calloc(ms_m.n, sizeof(*ms_m.h));
	if (!ms_m.h) {
		ms_m_close();
		gb_skip_with_error(st, "out of memory");
		return false;
	}
	for (uint64_t i = 0; i < ms_m.n; i++) {
		struct vidmm_alloc_desc d = { .size = size, .priority = VIDMM_PRIO_NORMAL,
					      .n_preferred = 1, .preferred = { (uint32_t)seg } };
		ret = vidmm_create_allocation(ms_m.pl.vm, &d, &ms_m.h[i]);
		if (!ret)
			ret = ms_job(ms_m.pl.vm, VIDMM_JOB_FILL, i + 1, ms_m.h[i], NULL);
		if (ret) {
			ms_m_close();
			ms_fail(st, "creating the allocations", ret);
			return false;
		}
	}
	/* One untimed round trip: the first write of a fallocated file's
	 * blocks converts unwritten extents, and this thread's ring is created
	 * on its first swap I/O; neither is what a pass should measure. */
	ret = ms_evict_all();
	if (!ret)
		ret = ms_swap_out_all();
	if (!ret)
		ret = ms_swap_in_all();
	if (!ret)
		ret = ms_evict_all();
	if (ret) {
		ms_m_close();
		ms_fail(st, "warm-up round trip", ret);
		return false;
	}
	return true;
}

enum { MS_OUT = 0, MS_IN = 1 };

/*
 * Each iteration: every allocation starts paged out; BM_swap_out times the
 * swap-outs, BM_swap_in swaps out untimed and times lock + unlock; then
 * every allocation is paged out again (untimed). At the end of the call all
 * data are verified against their fill seeds: a figure for a swap that lost
 * data would be worthless.
 */
static void bm_swap(gb_state *st, void *user)
{
	const int dir = (int)(intptr_t)user;
	const uint64_t size = (uint64_t)gb_range(st, 0);
	const uint32_t qd = (uint32_t)gb_range(st, 1);
	const enum vidmm_hist_id io_id = dir == MS_OUT ? VIDMM_HIST_SWAP_WRITE_IO
						       : VIDMM_HIST_SWAP_READ_IO;
	const enum vidmm_hist_id op_id = dir == MS_OUT ? VIDMM_HIST_SWAP_OUT : VIDMM_HIST_SWAP_IN;
	static struct vidmm_hist io0, io1, op0, op1; /* ~15 KiB each */
	struct vidmm_stats s;
	char label[64];
	int ret = 0;

	if (!ms_m_get(st, size, qd))
		return;
	vidmm_t *vm = ms_m.pl.vm;

	vidmm_query_histogram(vm, io_id, &io0);
	vidmm_query_histogram(vm, op_id, &op0);
	GB_FOR(st) {
		uint64_t t0, t1;

		if (dir == MS_IN && (ret = ms_swap_out_all())) {
			ms_fail(st, "swap-out before swap-in", ret);
			break;
		}
		t0 = ms_now();
		ret = dir == MS_OUT ? ms_swap_out_all() : ms_swap_in_all();
		t1 = ms_now();
		if (ret) {
			ms_fail(st, dir == MS_OUT ? "vidmm_swap_out" : "vidmm_lock/unlock", ret);
			break;
		}
		if (dir == MS_OUT && (ret = ms_swap_in_all())) {
			ms_fail(st, "swap-in after swap-out", ret);
			break;
		}
		if ((ret = ms_evict_all())) {
			ms_fail(st, "vidmm_evict", ret);
			break;
		}
		gb_set_iteration_time(st, (double)(t1 - t0) * 1e-9);
	}
	if (!gb_error_occurred(st)) {
		vidmm_query_histogram(vm, io_id, &io1);
		vidmm_query_histogram(vm, op_id, &op1);
		for (uint64_t i = 0; i < ms_m.n && !gb_error_occurred(st); i++) {
			uint64_t bad = 0;
			ret = ms_job(vm, VIDMM_JOB_VERIFY, i + 1, ms_m.h[i], &bad);
			if (ret)
				ms_fail(st, "verify", ret);
			else if (bad)
				gb_skip_with_error(st, "data changed across swap-out/swap-in");
		}
		if (!gb_error_occurred(st) && (ret = ms_evict_all()))
			ms_fail(st, "vidmm_evict after verify", ret);
	}
	if (gb_error_occurred(st)) {
		ms_m_close(); /* unknown state: start over next time */
		return;
	}
	vidmm_query_stats(vm, &s);
	int64_t it = gb_iterations(st);
	gb_set_bytes_processed(st, it * (int64_t)MS_SET);
	gb_set_items_processed(st, it * (int64_t)ms_m.n);
	gb_counter_set(st, "io_p50_ns", ms_hist_p50(&io0, &io1), GB_COUNTER_DEFAULT);
	gb_counter_set(st, "op_p50_ns", ms_hist_p50(&op0, &op1), GB_COUNTER_DEFAULT);
	gb_counter_set(st, "qd_reached", (double)s.swap_queue_depth_reached, GB_COUNTER_DEFAULT);
	snprintf(label, sizeof(label), "%s %s", s.swap_io_mode, s.swap_buffer_mode);
	gb_set_label(st, label);
}

/* ---- raw: sequential O_DIRECT io_uring, as bench/tools/swap_bench.c ---------- */

/* The store asks for these in this order; so does the raw loop, so both run
 * on the same kind of ring. */
static const uint32_t ms_ring_steps[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN,
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
	IORING_SETUP_COOP_TASKRUN,
	0,
};

/* One file and ring per (bs, qd), kept across the calls of one run. */
static struct {
	struct io_uring ring;
	bool ring_up, direct;
	int fd;
	char *buf;     /* MS_SET bytes: block b is buf + b * bs, as allocations */
	uint64_t bs;
	unsigned qd;
} ms_r = { .fd = -1 };

static void ms_r_close(void)
{
	if (ms_r.ring_up)
		io_uring_queue_exit(&ms_r.ring);
	if (ms_r.fd >= 0)
		close(ms_r.fd);
	free(ms_r.buf);
	memset(&ms_r, 0, sizeof(ms_r));
	ms_r.fd = -1;
}

static void ms_r_prep(bool write, uint64_t off, uint64_t len)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ms_r.ring);

	if (write)
		io_uring_prep_write(sqe, ms_r.fd, ms_r.buf + off, (unsigned)len, off);
	else
		io_uring_prep_read(sqe, ms_r.fd, ms_r.buf + off, (unsigned)len, off);
	/* The file offset is the buffer offset: it identifies the I/O. */
	io_uring_sqe_set_data64(sqe, off);
}

/* One sequential pass over the file, qd blocks in flight: 0 or -errno. */
static int ms_r_pass(bool write)
{
	uint64_t next = 0, done = 0;
	unsigned inflight = 0;

	while (done < MS_SET) {
		while (inflight < ms_r.qd && next < MS_SET) {
			ms_r_prep(write, next, ms_r.bs);
			next += ms_r.bs;
			inflight++;
		}
		int ret = io_uring_submit_and_wait(&ms_r.ring, 1);
		if (ret < 0 && ret != -EINTR)
			return ret;
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&ms_r.ring, head, cqe) {
			uint64_t off = io_uring_cqe_get_data64(cqe);
			uint64_t end = (off / ms_r.bs + 1) * ms_r.bs;
			seen++;
			if (cqe->res <= 0) {
				io_uring_cq_advance(&ms_r.ring, seen);
				return cqe->res ? cqe->res : -EIO;
			}
			off += (uint64_t)cqe->res;
			done += (uint64_t)cqe->res;
			if (off < end) /* short: the rest of the block again */
				ms_r_prep(write, off, end - off);
			else
				inflight--;
		}
		io_uring_cq_advance(&ms_r.ring, seen);
	}
	return 0;
}

static bool ms_r_get(gb_state *st, uint64_t bs, unsigned qd)
{
	char msg[200];
	int ret = -EINVAL;

	if (ms_r.ring_up && ms_r.bs == bs && ms_r.qd == qd)
		return true;
	ms_r_close();
	if (bs == 0 || bs % 4096 || MS_SET % bs || qd == 0) {
		gb_skip_with_error(st, "size must be a 4 KiB multiple dividing 64 MiB, qd >= 1");
		return false;
	}
	ms_r.bs = bs;
	ms_r.qd = qd;
	/* A private file that vanishes with the process, as the swap file is. */
	ms_r.direct = true;
	ms_r.fd = open(ms_dir(), O_TMPFILE | O_RDWR | O_DIRECT | O_CLOEXEC, 0600);
	if (ms_r.fd < 0) {
		ms_r.fd = open(ms_dir(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		ms_r.direct = false;
	}
	if (ms_r.fd < 0) {
		snprintf(msg, sizeof(msg), "O_TMPFILE in %s: %s", ms_dir(), strerror(errno));
		goto fail;
	}
	if (fallocate(ms_r.fd, 0, 0, (off_t)MS_SET) < 0 && errno != EOPNOTSUPP) {
		snprintf(msg, sizeof(msg), "fallocate: %s", strerror(errno));
		goto fail;
	}
	if (posix_memalign((void **)&ms_r.buf, 4096, MS_SET)) {
		ms_r.buf = NULL;
		snprintf(msg, sizeof(msg), "out of memory");
		goto fail;
	}
	for (uint64_t j = 0; j < MS_SET; j += 8)
		*(uint64_t *)(ms_r.buf + j) = (j + 1) * 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < sizeof(ms_ring_steps) / sizeof(ms_ring_steps[0]); i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = ms_ring_steps[i];
		ret = io_uring_queue_init_params(qd, &ms_r.ring, &p);
		if (ret != -EINVAL)
			break;
	}
	if (ret) {
		snprintf(msg, sizeof(msg), "io_uring_queue_init: %s", strerror(-ret));
		goto fail;
	}
	ms_r.ring_up = true;
	/* Write the file once untimed: reading unwritten extents returns zeros
	 * without touching the disk, and the first write converts them. */
	ret = ms_r_pass(true);
	if (ret) {
		snprintf(msg, sizeof(msg), "first write pass: %s", strerror(-ret));
		goto fail;
	}
	return true;
fail:
	ms_r_close();
	gb_skip_with_error(st, msg);
	return false;
}

static void bm_swap_raw(gb_state *st, void *user)
{
	const bool write = (intptr_t)user == MS_OUT;
	const uint64_t bs = (uint64_t)gb_range(st, 0);
	const unsigned qd = (unsigned)gb_range(st, 1);
	char msg[120];

	if (!ms_r_get(st, bs, qd))
		return;
	GB_FOR(st) {
		uint64_t t0 = ms_now();
		int ret = ms_r_pass(write);
		uint64_t t1 = ms_now();
		if (ret) {
			snprintf(msg, sizeof(msg), "%s pass: %s", write ? "write" : "read",
				 strerror(-ret));
			gb_skip_with_error(st, msg);
			break;
		}
		gb_set_iteration_time(st, (double)(t1 - t0) * 1e-9);
	}
	if (gb_error_occurred(st)) {
		ms_r_close();
		return;
	}
	int64_t it = gb_iterations(st);
	gb_set_bytes_processed(st, it * (int64_t)MS_SET);
	gb_set_items_processed(st, it * (int64_t)(MS_SET / bs));
	gb_set_label(st, ms_r.direct ? "direct" : "buffered");
}

static void ms_atexit(void)
{
	ms_m_close();
	ms_r_close();
}

void micro_swap_register(void)
{
	static const char *const names[] = { "size", "qd" };
	static const int64_t sizes[] = { 64 << 10, 2 << 20 };
	static const int64_t qds[] = { 1, 8, 32 };
	static const struct {
		const char *name;
		gb_fn fn;
		int dir;
	} fams[] = {
		{ "BM_swap_out", bm_swap, MS_OUT },
		{ "BM_swap_in", bm_swap, MS_IN },
		{ "BM_swap_raw_write", bm_swap_raw, MS_OUT },
		{ "BM_swap_raw_read", bm_swap_raw, MS_IN },
	};

	atexit(ms_atexit);
	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		gb_bench *b = gb_register(fams[f].name, fams[f].fn, (void *)(intptr_t)fams[f].dir);

		gb_bench_arg_names(b, names, 2);
		for (size_t i = 0; i < 2; i++)
			for (size_t q = 0; q < 3; q++) {
				int64_t a[2] = { sizes[i], qds[q] };
				gb_bench_args(b, a, 2);
			}
		gb_bench_use_manual_time(b);
		gb_bench_unit(b, GB_MS);
	}
	gb_add_contextf("micro_swap",
			"profile default (sysmem and swap 128 MiB), driver emu, data in the "
			"snooped PCIe segment, no background reclaim, dir %s; one iteration = "
			"one pass over 64 MiB (size-byte allocations or blocks); manual time = "
			"wall clock around vidmm_swap_out (swap_out), vidmm_lock+unlock "
			"(swap_in), the io_uring pass (raw)",
			ms_dir());
}
