/* SPDX-License-Identifier: MIT */
/*
 * swap_bench.c - swap-out and swap-in throughput through the manager
 * (vidmmi_do_swap_out under real system-memory pressure, swap-in at submit)
 * for 2 MiB and 64 KiB allocations at the store's default queue depth (32),
 * each beside the raw figure of the same disk measured in the same run: a
 * sequential O_DIRECT io_uring write then read of a file in the same
 * directory, with the same block size and queue depth, from buffers in huge
 * pages as the emulator's pool is (iobuf.h: from malloc'd buffers the raw
 * pass ran at half the disk's speed). Also the swap-in latency distribution
 * (per allocation and per read I/O), swap-in driven by 32 client threads at
 * once, the disk's view of each kind of pass (requests, their size,
 * merges, depth at the device, from the block layer's counters), and the
 * CPUs each part of the stack kept busy during the swap-in passes
 * (bench/threadcpu.h, from nanosecond counters): whether a pass waited for
 * the disk or for a CPU.
 *
 * Owns: only its measurements. Must not: change core/ or reach into it (the
 * manager is used through vidmm.h and bench/platform.h alone). Prints ratios
 * measured in one run: this machine is shared and noisy, absolute times are
 * not verdicts. Targets: swap-out >= 0.9x raw write and swap-in >= 0.9x raw
 * read at 2 MiB, QD 32.
 *
 * How the manager is driven, per allocation size A:
 *  - a profile shaped from "default" whose system budget just holds the data
 *    set D (n allocations of A in the snooped PCIe segment, filled by the GPU)
 *    and whose swap file holds it; background reclaim off so that all swap
 *    I/O happens inside the timed calls;
 *  - every allocation paged out (vidmm_evict: a GART unmap, data stay in
 *    their system pages), then large allocations created in the other PCIe
 *    segment until they take the whole budget: the manager must swap the
 *    data set out, in its own batches (up to 256 allocations per io_uring
 *    pipeline) - that is the swap-out figure;
 *  - those destroyed, one TOUCH job per allocation in creation order
 *    (= file order): each submit swaps one allocation in, or finds it read
 *    ahead - the swap-in figure (one client thread, as an application
 *    touching its data would); in every round twice, with the manager's
 *    read-ahead thread and without it (vidmm_debug_async_readahead), the
 *    order alternating between rounds;
 *  - everything verified (VERIFY jobs) afterwards: a wrong byte exits 1.
 * Throughput is given two ways: bytes over the manager's own time (the
 * VIDMM_HIST_SWAP_OUT / _SWAP_IN histogram sums: time inside swap-out
 * batches and inside each caller's swap-in) and bytes over wall time around
 * the calls (allocation, GART, page-in and job costs included). Swap-out
 * ratios use the first. Swap-in ratios use the second: the read-ahead
 * thread reads outside the callers' swap-ins, so their time no longer
 * covers the reads, and the wall time of the whole pass, page-ins
 * included, is what the reader waited.
 *
 * The raw loop is a minimal re-implementation (raw_*), because bench/swap_raw.c
 * (the swap-raw tool, owned elsewhere) exposes no header to call it through;
 * it measures the same thing the same way (fio-like sequential pass, QD
 * buffers of bs bytes, short completions resubmitted).
 *
 * Usage: swap_bench [--dir DIR] [--quick] [--help]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <liburing.h>

#include "iobuf.h"
#include "threadcpu.h"
#include "platform.h"
#include "drivers/emu/emu.h"

#define KIB ((uint64_t)1024)
#define MIB ((uint64_t)1 << 20)
#define QD 32u               /* the store's default, and the raw loop's */
#define MAX_ROUNDS 5
#define MT_THREADS 32        /* clients of the multi-threaded swap-in figure */
#define JOB_WAIT_NS (60ull * 1000000000ull)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(const double *v, unsigned n)
{
	double s[MAX_ROUNDS];
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double min_of(const double *v, unsigned n)
{
	double m = v[0];
	for (unsigned i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double max_of(const double *v, unsigned n)
{
	double m = v[0];
	for (unsigned i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* ---- raw: sequential O_DIRECT io_uring pass (see the header comment) ------------ */

struct raw {
	struct io_uring ring;
	int fd;
	bool direct;
	uint32_t ring_flags;
	char *bufs[QD];
	struct iobuf mem;        /* the QD buffers */
	uint64_t bs, size;
};

/* The store asks for these in this order; so does the raw loop, so both run
 * on the same kind of ring. */
static const uint32_t ring_steps[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN,
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
	IORING_SETUP_COOP_TASKRUN,
	0,
};

static int raw_open(struct raw *r, const char *dir, uint64_t bs, uint64_t size)
{
	int ret = -EINVAL;

	memset(r, 0, sizeof(*r));
	r->bs = bs;
	r->size = size / bs * bs;
	/* A private file that vanishes with the process, as the swap file is. */
	r->fd = open(dir, O_TMPFILE | O_RDWR | O_DIRECT | O_CLOEXEC, 0600);
	r->direct = true;
	if (r->fd < 0) {
		r->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		r->direct = false;
	}
	if (r->fd < 0)
		return -errno;
	if (fallocate(r->fd, 0, 0, (off_t)r->size) < 0 && errno != EOPNOTSUPP) {
		ret = -errno;
		close(r->fd);
		return ret;
	}
	for (unsigned i = 0; i < sizeof(ring_steps) / sizeof(ring_steps[0]); i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = ring_steps[i];
		ret = io_uring_queue_init_params(QD, &r->ring, &p);
		if (ret != -EINVAL) {
			r->ring_flags = ring_steps[i];
			break;
		}
	}
	if (ret) {
		close(r->fd);
		return ret;
	}
	/* In huge pages, as the manager's pool is (iobuf.h says why). */
	if (iobuf_alloc(&r->mem, QD * bs)) {
		io_uring_queue_exit(&r->ring);
		close(r->fd);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < QD; i++) {
		r->bufs[i] = r->mem.base + i * bs;
		for (uint64_t j = 0; j < bs; j += 8)
			*(uint64_t *)(r->bufs[i] + j) = (j + i + 1) * 0x9e3779b97f4a7c15ull;
	}
	return 0;
}

static void raw_close(struct raw *r)
{
	iobuf_free(&r->mem);
	io_uring_queue_exit(&r->ring);
	close(r->fd);
}

static void raw_prep(struct raw *r, bool write, unsigned b, uint64_t pos, uint64_t off,
		     uint64_t len)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	if (write)
		io_uring_prep_write(sqe, r->fd, r->bufs[b] + pos, (unsigned)len, off);
	else
		io_uring_prep_read(sqe, r->fd, r->bufs[b] + pos, (unsigned)len, off);
	io_uring_sqe_set_data64(sqe, b);
}

/* One sequential pass over the file, QD blocks in flight: seconds, or < 0. */
static double raw_pass(struct raw *r, bool write)
{
	uint64_t next = 0, done = 0, off_of[QD], left_of[QD], pos_of[QD];
	unsigned freeq[QD], nfree = QD;
	double t0 = now_s();

	for (unsigned i = 0; i < QD; i++)
		freeq[i] = i;
	while (done < r->size) {
		while (nfree && next < r->size) {
			unsigned b = freeq[--nfree];
			off_of[b] = next;
			left_of[b] = r->bs;
			pos_of[b] = 0;
			raw_prep(r, write, b, 0, next, r->bs);
			next += r->bs;
		}
		int ret = io_uring_submit_and_wait(&r->ring, 1);
		if (ret < 0 && ret != -EINTR)
			return ret;
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&r->ring, head, cqe) {
			unsigned b = (unsigned)io_uring_cqe_get_data64(cqe);
			seen++;
			if (cqe->res <= 0)
				return cqe->res ? cqe->res : -EIO;
			pos_of[b] += (uint64_t)cqe->res;
			left_of[b] -= (uint64_t)cqe->res;
			done += (uint64_t)cqe->res;
			if (left_of[b]) /* short: the rest of the block again */
				raw_prep(r, write, b, pos_of[b], off_of[b] + pos_of[b], left_of[b]);
			else
				freeq[nfree++] = b;
		}
		io_uring_cq_advance(&r->ring, seen);
	}
	return now_s() - t0;
}

/* ---- the disk's own view: /sys/dev/block/MAJ:MIN/stat of the file's device ------- */

/* Deltas of the block layer's counters over the timed passes: how many
 * requests reached the device, how large, how many the scheduler merged,
 * and how many were in flight on average. They say what the disk was asked
 * to do, which the two figures' bytes per second alone do not. */
struct dview {
	uint64_t ios, merges, sectors, ticks_ms; /* one direction */
	double secs;
	bool ok, failed;
};

static bool dstat_read(dev_t dev, bool write, uint64_t v[4])
{
	char path[96];
	unsigned long long f[11] = { 0 };
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/stat", major(dev), minor(dev));
	FILE *fp = fopen(path, "r");
	if (!fp)
		return false;
	int n = fscanf(fp, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1],
		       &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9], &f[10]);
	fclose(fp);
	if (n != 11)
		return false;
	unsigned b = write ? 4 : 0;
	v[0] = f[b];
	v[1] = f[b + 1];
	v[2] = f[b + 2];
	v[3] = f[b + 3]; /* ms spent by this direction's requests, summed over them */
	return true;
}

struct dsnap {
	uint64_t v[4];
	double t;
	bool ok;
};

static struct dsnap dsnap_take(dev_t dev, bool write)
{
	struct dsnap s = { .t = now_s() };
	s.ok = dstat_read(dev, write, s.v);
	return s;
}

static void dview_add(struct dview *d, dev_t dev, bool write, const struct dsnap *a)
{
	struct dsnap b = dsnap_take(dev, write);
	if (!a->ok || !b.ok) {
		d->failed = true; /* partial totals would read as whole ones */
		return;
	}
	d->ok = true;
	d->ios += b.v[0] - a->v[0];
	d->merges += b.v[1] - a->v[1];
	d->sectors += b.v[2] - a->v[2];
	d->ticks_ms += b.v[3] - a->v[3];
	d->secs += b.t - a->t;
}

static void dview_print(const char *what, const struct dview *d)
{
	if (!d->ok || d->failed) {
		printf("    %-22s (no block-layer counters for this file's device)\n", what);
		return;
	}
	if (!d->ios) {
		printf("    %-22s no requests reached the device\n", what);
		return;
	}
	/* The direction's request-milliseconds over the elapsed time: the
	 * mean number of its requests in flight at the device. */
	printf("    %-22s %7" PRIu64 " requests of %6.0f KiB avg, %6" PRIu64 " merged, %5.1f in flight avg, "
	       "%5.2f ms per request\n", what, d->ios, (double)d->sectors * 512 / 1024 / (double)d->ios,
	       d->merges, (double)d->ticks_ms / 1e3 / d->secs, (double)d->ticks_ms / (double)d->ios);
}

/* ---- the manager ----------------------------------------------------------------- */

struct mgr {
	struct platform pl;
	vidmm_t *vm;
	int data_seg, big_seg;
	uint64_t size, n;        /* allocation size, count */
	vidmm_handle_t *h;
	vidmm_handle_t big[128];
	unsigned nbig;
	struct threadcpu_snap cpu0, cpu1; /* around a swap-in pass */
};

struct round {
	double out_hist_s, out_wall_s;   /* swap-out: in-batch time, wall */
	double in_hist_s, in_wall_s;     /* swap-in */
	uint64_t out_bytes, in_bytes;
	uint64_t async_readaheads;       /* allocations the read-ahead thread read */
	double in_cpu_s[TCPU_ROLES];     /* CPU seconds of the swap-in pass, by thread role */
};

static int submit1(vidmm_t *vm, enum vidmm_job_op op, uint64_t seed, vidmm_handle_t h,
		   uint64_t *result, struct vidmm_fence *f)
{
	return platform_job1(vm, op, seed, h, result, 0, f);
}

static int run1(vidmm_t *vm, enum vidmm_job_op op, uint64_t seed, vidmm_handle_t h,
		uint64_t *result)
{
	struct vidmm_fence f;
	int ret = submit1(vm, op, seed, h, result, &f);
	return ret ? ret : vidmm_wait_fence(vm, f, JOB_WAIT_NS);
}

static int mgr_open(struct mgr *m, const char *dir, uint64_t size, uint64_t data)
{
	struct vidmm_profile p;
	struct platform_opts po = { .paging_mode = VIDMM_PAGING_WINDOW, .swap_dir = dir };
	struct vidmm_config cfg;
	char err[256];
	int ret;

	memset(m, 0, sizeof(*m));
	m->size = size;
	m->n = data / size;
	vidmm_profile_builtin("default", &p);
	/* The budget holds the data set and a little more; the swap file holds
	 * the data set. Everything else as "default". */
	p.sysmem = data + 64 * MIB;
	p.sysmem_reserve = 32 * MIB;
	p.swap = data + 64 * MIB;
	/* Room for the data set in one PCIe segment and the pressure in the
	 * other (the paging window is carved from the snooped one). */
	if (p.pcie_snooped < data + p.paging + 64 * MIB)
		p.pcie_snooped = data + p.paging + 64 * MIB;
	if (p.pcie_unsnooped < data + 128 * MIB)
		p.pcie_unsnooped = data + 128 * MIB;
	ret = platform_open_opts(&p, "emu", &po, &m->pl, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "swap_bench: %s\n", err);
		return ret;
	}
	/* All swap I/O inside the timed calls: no reclaim thread. */
	cfg = m->pl.cfg;
	cfg.no_background_reclaim = true;
	vidmm_destroy(m->pl.vm);
	m->pl.vm = NULL;
	ret = vidmm_init(&cfg, &m->pl.vm);
	if (ret) {
		fprintf(stderr, "swap_bench: vidmm_init: %s\n", vidmm_init_error());
		return ret;
	}
	m->pl.cfg = cfg;
	m->vm = m->pl.vm;
	/* Data in the snooped PCIe segment (its pages are its data: paging it
	 * out or in is a GART update, so the figures are swap, not copies);
	 * the pressure in the other one. The TLB checker only costs time here. */
	emu_set_tlb_check(m->pl.emu, false);
	m->data_seg = platform_find_segment(m->vm, VIDMM_SEG_PCIE | VIDMM_SEG_SNOOPED | VIDMM_SEG_PAGING,
					    VIDMM_SEG_PCIE | VIDMM_SEG_SNOOPED);
	m->big_seg = platform_find_segment(m->vm, VIDMM_SEG_PCIE | VIDMM_SEG_SNOOPED | VIDMM_SEG_PAGING,
					   VIDMM_SEG_PCIE);
	if (m->data_seg < 0 || m->big_seg < 0) {
		fprintf(stderr, "swap_bench: the profile has no PCIe segments\n");
		return -ENODEV;
	}
	m->h = calloc(m->n, sizeof(*m->h));
	if (!m->h)
		return -ENOMEM;
	for (uint64_t i = 0; i < m->n; i++) {
		struct vidmm_alloc_desc d = { .size = size, .priority = VIDMM_PRIO_NORMAL,
					      .n_preferred = 1, .preferred = { (uint32_t)m->data_seg } };
		ret = vidmm_create_allocation(m->vm, &d, &m->h[i]);
		if (!ret)
			ret = run1(m->vm, VIDMM_JOB_FILL, i + 1, m->h[i], NULL);
		if (ret) {
			fprintf(stderr, "swap_bench: allocation %" PRIu64 " of %" PRIu64 ": %s\n", i, m->n,
				vidmm_strerror(ret));
			return ret;
		}
	}
	return 0;
}

static void mgr_close(struct mgr *m)
{
	if (m->pl.vm || m->pl.emu)
		platform_close(&m->pl);
	free(m->h);
}

static double hist_sum_s(vidmm_t *vm, enum vidmm_hist_id id)
{
	struct vidmm_hist h;
	vidmm_query_histogram(vm, id, &h);
	return (double)h.sum * 1e-9;
}

/* Page every data allocation out (GART unmap, data stay in their pages). */
static int evict_all(struct mgr *m)
{
	for (uint64_t i = 0; i < m->n; i++) {
		int ret = vidmm_evict(m->vm, m->h[i]);
		if (ret) {
			fprintf(stderr, "swap_bench: evict: %s\n", vidmm_strerror(ret));
			return ret;
		}
	}
	return 0;
}

/*
 * Swap the data set out the way an application would make it happen: new
 * allocations that need every free system page. Chunks of up to 128 MiB,
 * so each call has whole batches to write, and at most 256 allocations'
 * worth: one swap-out batch (core/reclaim.c's MAX_BATCH) per call.
 */
static int pressure_out(struct mgr *m, double *wall)
{
	struct vidmm_stats st;
	uint64_t want, chunk = 256 * m->size < 128 * MIB ? 256 * m->size : 128 * MIB;
	double t0;

	vidmm_query_stats(m->vm, &st);
	want = (st.sysmem_pages_budget - st.sysmem_pages_reserve - st.sysmem_pages_used) * 4096 +
	       m->n * m->size;
	t0 = now_s();
	for (m->nbig = 0; want && m->nbig < sizeof(m->big) / sizeof(m->big[0]);) {
		uint64_t sz = want < chunk ? want : chunk;
		struct vidmm_alloc_desc d = { .size = sz, .priority = VIDMM_PRIO_HIGH,
					      .n_preferred = 1, .preferred = { (uint32_t)m->big_seg } };
		int ret = vidmm_create_allocation(m->vm, &d, &m->big[m->nbig]);
		if (ret) {
			fprintf(stderr, "swap_bench: pressure allocation of %" PRIu64 " MiB: %s\n",
				sz >> 20, vidmm_strerror(ret));
			return ret;
		}
		want -= sz;
		m->nbig++; /* destroyed by pressure_release even if the wait fails */
		/*
		 * Its clear (a fill of sz bytes on the copy engines) finishes
		 * before the next allocation's swap-out starts: the swap-out
		 * then shares the CPUs with nothing the raw pass lacks. Left to
		 * overlap, on 2 vCPUs the memsets took about 15% off 64 KiB
		 * swap-out (1.7-1.9 against 2.0-2.2 GB/s); the wall-time figure
		 * keeps the clears' time.
		 */
		ret = vidmm_wait_idle(m->vm, JOB_WAIT_NS);
		if (ret) {
			fprintf(stderr, "swap_bench: waiting for the pressure allocation's clear: %s\n",
				vidmm_strerror(ret));
			return ret;
		}
	}
	*wall = now_s() - t0;
	vidmm_query_stats(m->vm, &st);
	if (st.swapped_allocations != m->n) {
		fprintf(stderr, "swap_bench: only %" PRIu64 " of %" PRIu64 " allocations swapped out\n",
			st.swapped_allocations, m->n);
		return -EAGAIN;
	}
	return 0;
}

static void pressure_release(struct mgr *m)
{
	for (unsigned i = 0; i < m->nbig; i++)
		vidmm_destroy_allocation(m->vm, m->big[i]);
	m->nbig = 0;
}

/* Swap in [lo, hi) with one TOUCH job each; the submit does the swap-in, the
 * jobs themselves are only waited for at the end. */
static int touch_range(vidmm_t *vm, const vidmm_handle_t *h, uint64_t lo, uint64_t hi)
{
	struct vidmm_fence f = { 0, 0 };
	int ret = 0;

	for (uint64_t i = lo; i < hi && !ret; i++)
		ret = submit1(vm, VIDMM_JOB_TOUCH, 0, h[i], NULL, &f);
	if (!ret && hi > lo)
		ret = vidmm_wait_fence(vm, f, JOB_WAIT_NS);
	return ret;
}

static int round_trip(struct mgr *m, struct round *r, dev_t dev, struct dview *dout,
		      struct dview *din)
{
	double o0, i0, t0;
	struct vidmm_stats s0, s1;
	struct dsnap d0;
	int ret;

	memset(r->in_cpu_s, 0, sizeof(r->in_cpu_s));
	ret = evict_all(m);
	if (ret)
		return ret;
	vidmm_query_stats(m->vm, &s0);
	o0 = hist_sum_s(m->vm, VIDMM_HIST_SWAP_OUT);
	d0 = dsnap_take(dev, true);
	ret = pressure_out(m, &r->out_wall_s);
	if (ret)
		return ret;
	dview_add(dout, dev, true, &d0);
	r->out_hist_s = hist_sum_s(m->vm, VIDMM_HIST_SWAP_OUT) - o0;
	pressure_release(m);

	i0 = hist_sum_s(m->vm, VIDMM_HIST_SWAP_IN);
	d0 = dsnap_take(dev, false);
	threadcpu_snap(&m->cpu0);
	t0 = now_s();
	ret = touch_range(m->vm, m->h, 0, m->n);
	r->in_wall_s = now_s() - t0;
	threadcpu_snap(&m->cpu1);
	struct threadcpu tc;
	if (threadcpu_between_ns(&m->cpu0, &m->cpu1, r->in_wall_s, &tc))
		for (int k = 0; k < TCPU_ROLES; k++)
			r->in_cpu_s[k] = tc.cpus[k] * r->in_wall_s;
	dview_add(din, dev, false, &d0);
	if (ret) {
		fprintf(stderr, "swap_bench: swap-in: %s\n", vidmm_strerror(ret));
		return ret;
	}
	r->in_hist_s = hist_sum_s(m->vm, VIDMM_HIST_SWAP_IN) - i0;
	vidmm_query_stats(m->vm, &s1);
	r->out_bytes = s1.bytes_swapped_out - s0.bytes_swapped_out;
	r->in_bytes = s1.bytes_swapped_in - s0.bytes_swapped_in;
	r->async_readaheads = s1.swap_async_readaheads - s0.swap_async_readaheads;
	return 0;
}

/* CPUs each part of the stack kept busy during the swap-in passes, with the
 * read-ahead thread and without (CPU time over wall time, all rounds): says
 * whether a pass was waiting for the disk or for a CPU. The client is this
 * program's main thread (threadcpu's "harness" role); the manager's threads
 * are the read-ahead and reclaim threads and io_uring's workers. */
static void print_pass_cpu(const struct round *on, const struct round *off, unsigned rounds)
{
	static const struct {
		enum tcpu_role role;
		const char *name;
	} shown[] = { { TCPU_HARNESS, "client" }, { TCPU_ENGINES, "engines" },
		      { TCPU_MANAGER, "manager's threads" } };
	const struct round *rr[2] = { on, off };

	printf("  CPUs busy in the swap-in passes (of %ld), by part:\n",
	       sysconf(_SC_NPROCESSORS_ONLN));
	for (int k = 0; k < 2; k++) {
		double wall = 0, cpus[TCPU_ROLES] = { 0 }, total = 0;

		for (unsigned i = 0; i < rounds; i++) {
			wall += rr[k][i].in_wall_s;
			for (int r = 0; r < TCPU_ROLES; r++)
				cpus[r] += rr[k][i].in_cpu_s[r];
		}
		printf("    %-22s", k ? "without the thread:" : "with the thread:");
		for (unsigned s = 0; s < sizeof(shown) / sizeof(shown[0]); s++)
			printf(" %s %.2f,", shown[s].name, wall > 0 ? cpus[shown[s].role] / wall : 0);
		for (int r = 0; r < TCPU_ROLES; r++)
			total += wall > 0 ? cpus[r] / wall : 0;
		printf(" total %.2f\n", total);
	}
}

struct mt_arg {
	vidmm_t *vm;
	const vidmm_handle_t *h;
	uint64_t lo, hi;
	int ret;
};

static void *mt_main(void *p)
{
	struct mt_arg *a = p;
	a->ret = touch_range(a->vm, a->h, a->lo, a->hi);
	return NULL;
}

/* Swap-in by MT_THREADS clients at once (each on its own contiguous slice);
 * wall seconds, or < 0. */
static double mt_swap_in(struct mgr *m)
{
	pthread_t t[MT_THREADS];
	struct mt_arg a[MT_THREADS];
	double wall, t0;

	if (evict_all(m) || pressure_out(m, &wall))
		return -1;
	pressure_release(m);
	t0 = now_s();
	for (unsigned i = 0; i < MT_THREADS; i++) {
		a[i] = (struct mt_arg){ m->vm, m->h, m->n * i / MT_THREADS, m->n * (i + 1) / MT_THREADS, 0 };
		pthread_create(&t[i], NULL, mt_main, &a[i]);
	}
	for (unsigned i = 0; i < MT_THREADS; i++)
		pthread_join(t[i], NULL);
	wall = now_s() - t0;
	for (unsigned i = 0; i < MT_THREADS; i++)
		if (a[i].ret) {
			fprintf(stderr, "swap_bench: threaded swap-in: %s\n", vidmm_strerror(a[i].ret));
			return -1;
		}
	return wall;
}

/* VERIFY every allocation: 0, or the number of bad ones. */
static uint64_t verify_all(struct mgr *m)
{
	uint64_t bad_allocs = 0;

	for (uint64_t i = 0; i < m->n; i++) {
		uint64_t bad = UINT64_MAX;
		int ret = run1(m->vm, VIDMM_JOB_VERIFY, i + 1, m->h[i], &bad);
		if (ret || bad) {
			if (bad_allocs < 5)
				fprintf(stderr, "swap_bench: allocation %" PRIu64 ": %s, %" PRIu64
					" mismatched words\n", i, ret ? vidmm_strerror(ret) : "ok", bad);
			bad_allocs++;
		}
	}
	return bad_allocs;
}

/* ---- main ----------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: swap_bench [--dir DIR] [--quick] [--help]\n"
		"Swap-out and swap-in throughput through the manager at 2 MiB and 64 KiB\n"
		"allocations (queue depth 32), beside a raw sequential O_DIRECT io_uring\n"
		"write/read of the same directory with the same block size and queue depth.\n"
		"  --dir DIR   directory for the swap file and the raw file\n"
		"              (default: $TMPDIR or /tmp)\n"
		"  --quick     a smaller data set and one round (a smoke run)\n"
		"  --help      this text\n"
		"Exit status: 0 figures printed, 1 an error or wrong data, 2 bad usage.\n");
}

static uint64_t hq(const struct vidmm_hist *h, double q)
{
	return vidmm_hist_quantile(h, q);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	static const uint64_t sizes[2] = { 2 * MIB, 64 * KIB };
	const char *dir = NULL;
	bool quick = false;
	int c, status = 0;

	/* Figures and errors in the order they happen, even through a pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'q': quick = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "swap_bench: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!dir)
		dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	if (access(dir, W_OK | X_OK)) {
		fprintf(stderr, "swap_bench: --dir %s: %s\n", dir, strerror(errno));
		return 2;
	}
	const unsigned rounds = quick ? 1 : MAX_ROUNDS;
	/* 64 KiB allocations cost one FILL/TOUCH job each: a smaller set. */
	const uint64_t data[2] = { quick ? 64 * MIB : 512 * MIB, quick ? 32 * MIB : 128 * MIB };

	printf("swap_bench: dir=%s qd=%u rounds=%u (medians), data 2M=%" PRIu64 " MiB 64K=%" PRIu64
	       " MiB%s\n", dir, QD, rounds, data[0] >> 20, data[1] >> 20, quick ? " (quick)" : "");
	for (int s = 0; s < 2 && !status; s++) {
		struct raw raw;
		struct mgr m;
		struct round r[MAX_ROUNDS], rs[MAX_ROUNDS]; /* read-ahead thread on, off */
		double rw[MAX_ROUNDS], rr[MAX_ROUNDS];
		struct vidmm_hist hin, hrd, hwr;
		struct vidmm_stats st;
		int ret;

		ret = raw_open(&raw, dir, sizes[s], data[s]);
		if (ret) {
			fprintf(stderr, "swap_bench: raw file in %s: %s\n", dir, strerror(-ret));
			return 1;
		}
		ret = mgr_open(&m, dir, sizes[s], data[s]);
		if (ret) {
			raw_close(&raw);
			mgr_close(&m);
			return 1;
		}
		/* The disk's view of each kind of pass: raw write, raw read,
		 * swap-out, swap-in. */
		struct dview dv[6] = { 0 }; /* ... and swap-out, swap-in without the thread */
		struct stat fst;
		dev_t dev = fstat(raw.fd, &fst) == 0 ? fst.st_dev : 0;
		/* Interleaved, so drift on a shared disk hits both alike. */
		for (unsigned k = 0; k < rounds && !ret; k++) {
			struct dsnap d0 = dsnap_take(dev, true);
			rw[k] = raw_pass(&raw, true);
			dview_add(&dv[0], dev, true, &d0);
			d0 = dsnap_take(dev, false);
			rr[k] = rw[k] < 0 ? rw[k] : raw_pass(&raw, false);
			dview_add(&dv[1], dev, false, &d0);
			if (rw[k] < 0 || rr[k] < 0) {
				fprintf(stderr, "swap_bench: raw I/O: %s\n",
					strerror((int)-(rw[k] < 0 ? rw[k] : rr[k])));
				ret = -EIO;
				break;
			}
			for (int j = 0; j < 2 && !ret; j++) {
				bool on = (j + k) % 2 == 0;
				ret = vidmm_debug_async_readahead(m.vm, on);
				if (!ret)
					ret = on ? round_trip(&m, &r[k], dev, &dv[2], &dv[3])
						 : round_trip(&m, &rs[k], dev, &dv[4], &dv[5]);
			}
			if (!ret)
				ret = vidmm_debug_async_readahead(m.vm, true);
		}
		double mt = ret ? -1 : mt_swap_in(&m);
		uint64_t bad = ret ? 0 : verify_all(&m);
		if (ret || mt < 0 || bad) {
			if (bad)
				fprintf(stderr, "swap_bench: %" PRIu64 " allocations came back wrong\n", bad);
			status = 1;
		}
		if (!status) {
			double ow[MAX_ROUNDS], oh[MAX_ROUNDS], iw[MAX_ROUNDS], ih[MAX_ROUNDS];
			double sw[MAX_ROUNDS], sh[MAX_ROUNDS], gain[MAX_ROUNDS];
			uint64_t nasync = 0;
			double B = (double)(m.n * m.size);
			for (unsigned k = 0; k < rounds; k++) {
				ow[k] = (double)r[k].out_bytes / r[k].out_wall_s / 1e6;
				oh[k] = (double)r[k].out_bytes / r[k].out_hist_s / 1e6;
				iw[k] = (double)r[k].in_bytes / r[k].in_wall_s / 1e6;
				ih[k] = (double)r[k].in_bytes / r[k].in_hist_s / 1e6;
				sw[k] = (double)rs[k].in_bytes / rs[k].in_wall_s / 1e6;
				sh[k] = (double)rs[k].in_bytes / rs[k].in_hist_s / 1e6;
				gain[k] = iw[k] / sw[k];
				nasync += r[k].async_readaheads;
				rw[k] = (double)raw.size / rw[k] / 1e6;
				rr[k] = (double)raw.size / rr[k] / 1e6;
			}
			vidmm_query_stats(m.vm, &st);
			vidmm_query_histogram(m.vm, VIDMM_HIST_SWAP_IN, &hin);
			vidmm_query_histogram(m.vm, VIDMM_HIST_SWAP_READ_IO, &hrd);
			vidmm_query_histogram(m.vm, VIDMM_HIST_SWAP_WRITE_IO, &hwr);
			double mrw = median(rw, rounds), mrr = median(rr, rounds);
			double mow = median(ow, rounds), moh = median(oh, rounds);
			double miw = median(iw, rounds), mih = median(ih, rounds);
			double msw = median(sw, rounds), msh = median(sh, rounds);
			printf("\n%" PRIu64 " KiB allocations: %" PRIu64 " x = %" PRIu64 " MiB, swap io=%s "
			       "buffers=%s, qd reached %u, raw io=%s, raw buffers %zu of %zu MiB in "
			       "huge pages\n", sizes[s] >> 10, m.n, (uint64_t)B >> 20, st.swap_io_mode,
			       st.swap_buffer_mode, st.swap_queue_depth_reached,
			       raw.direct ? "direct" : "buffered", iobuf_huge_bytes(&raw.mem) >> 20,
			       raw.mem.len >> 20);
			printf("  %-34s %8s %8s %8s  %s\n", "MB/s (median)", "manager", "raw",
			       "ratio", "(other figure, ratio)");
			printf("  (swap-out: the manager's time in its batches (wall time); swap-in: wall "
			       "time of the pass, page-ins included (the callers' time in swap-in))\n");
			printf("  %-34s %8.0f %8.0f %8.2f  (%.0f, %.2f)%s\n", "swap-out (pressure, batched)",
			       moh, mrw, moh / mrw, mow, mow / mrw,
			       s == 0 ? (moh / mrw >= 0.9 ? "  target >= 0.9: met" : "  target >= 0.9: NOT met") : "");
			printf("  %-34s %8.0f %8.0f %8.2f  (%.0f, %.2f)%s\n", "swap-in (1 thread, TOUCH jobs)",
			       miw, mrr, miw / mrr, mih, mih / mrr,
			       s == 0 ? (miw / mrr >= 0.9 ? "  target >= 0.9: met" : "  target >= 0.9: NOT met") : "");
			printf("  %-34s %8.0f %8.0f %8.2f  (%.0f, %.2f)  thread on / off %.2f [%.2f, %.2f]"
			       "\n", "swap-in, no read-ahead thread", msw, mrr, msw / mrr, msh, msh / mrr,
			       median(gain, rounds), min_of(gain, rounds), max_of(gain, rounds));
			printf("    (the thread read %" PRIu64 " of %" PRIu64 " allocations swapped in over "
			       "the rounds with it)\n", nasync, (uint64_t)rounds * m.n);
			print_pass_cpu(r, rs, rounds);
			printf("  %-34s %8s %8.0f %8.2f  (wall)\n", "swap-in (32 threads, TOUCH jobs)", "",
			       mrr, B / mt / 1e6 / mrr);
			printf("    (32-thread swap-in: %.0f MB/s wall)\n", B / mt / 1e6);
			printf("  swap-in latency per allocation: p50 %.0f us  p99 %.0f us  (n=%" PRIu64
			       ", all swap-ins)\n", hq(&hin, 0.5) / 1e3, hq(&hin, 0.99) / 1e3, hin.count);
			printf("  I/O latency: read p50 %.0f us p99 %.0f us, write p50 %.0f us p99 %.0f us\n",
			       hq(&hrd, 0.5) / 1e3, hq(&hrd, 0.99) / 1e3, hq(&hwr, 0.5) / 1e3,
			       hq(&hwr, 0.99) / 1e3);
			printf("  runs (MB/s): out");
			for (unsigned k = 0; k < rounds; k++)
				printf(" %.0f", oh[k]);
			printf(" | raw write");
			for (unsigned k = 0; k < rounds; k++)
				printf(" %.0f", rw[k]);
			printf(" | in");
			for (unsigned k = 0; k < rounds; k++)
				printf(" %.0f", iw[k]);
			printf(" | in, no thread");
			for (unsigned k = 0; k < rounds; k++)
				printf(" %.0f", sw[k]);
			printf(" | raw read");
			for (unsigned k = 0; k < rounds; k++)
				printf(" %.0f", rr[k]);
			printf("\n");
			printf("  the disk's view (the device's block-layer counters over the timed passes; "
			       "device-wide: other I/O to it counts too):\n");
			dview_print("raw write", &dv[0]);
			dview_print("swap-out", &dv[2]);
			dview_print("raw read", &dv[1]);
			dview_print("swap-in", &dv[3]);
			dview_print("swap-in, no thread", &dv[5]);
		}
		mgr_close(&m);
		raw_close(&raw);
	}
	return status;
}
