/* SPDX-License-Identifier: MIT */
/*
 * swap_raw.c - swap-raw: the disk's own sequential O_DIRECT io_uring speed,
 * measured the way fio does it, and (with --store) the same pattern through
 * the swap store, so the store's overhead is a ratio against the raw figure.
 *
 * Owns: the swap-raw executable. Must not: use the manager; the store part
 * uses only core/swap.h.
 *
 * Raw: one private file (O_TMPFILE, fallocated) in --dir, written then read
 * sequentially in --bs blocks with --qd I/Os in flight, like
 *   fio --ioengine=io_uring --direct=1 --bs=2M --iodepth=32 --rw=write|read --size=1G
 * but from buffers in huge pages (iobuf.h), where fio's are malloc'd.
 * Store: the same total size as 2 MiB and as 64 KiB "allocations" (slots),
 * written with swap_write_many and read with
 * swap_read_many in batches of --batch bytes, from a --pool sized buffer
 * registered with swap_register_region (the store decides whether it can be
 * registered). Each phase runs --runs times on a fresh file; the median is
 * reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include "core/swap.h"
#include "iobuf.h"

#define MAX_RUNS 15

struct opts {
	const char *dir;
	uint64_t bs, size, pool, batch;
	unsigned qd, runs;
	bool store;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t m = 1;

	if (end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': m = 1ull << 10; end++; break;
	case 'm': case 'M': m = 1ull << 20; end++; break;
	case 'g': case 'G': m = 1ull << 30; end++; break;
	case 0: break;
	default: return -1;
	}
	if (*end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return -1;
	*out = (uint64_t)v * m;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: swap-raw [options]\n"
		"Sequential O_DIRECT io_uring write then read of one file (like fio), and with\n"
		"--store the same through the swap store at 2 MiB and 64 KiB allocations.\n"
		"  --dir DIR      directory for the file (default: $TMPDIR or /tmp)\n"
		"  --bs SIZE      raw block size (default 2M)\n"
		"  --qd N         queue depth (default 32)\n"
		"  --size SIZE    bytes per pass (default 1G)\n"
		"  --runs N       repetitions, median reported (default 3, max %d)\n"
		"  --store        also measure the swap store\n"
		"  --pool SIZE    store: source/target buffer, registered if it fits\n"
		"                 (default: --size, at most 1G)\n"
		"  --batch SIZE   store: bytes of allocations per swap_*_many call (default = pool);\n"
		"                 each call ends by draining the queue, so small batches cost\n"
		"  --help\n", MAX_RUNS);
}

/* ---- raw ------------------------------------------------------------------ */

static const uint32_t flag_steps[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN,
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
	IORING_SETUP_COOP_TASKRUN,
	0,
};

static int ring_init(struct io_uring *ring, unsigned qd, uint32_t *flags)
{
	int ret = -EINVAL;
	for (unsigned i = 0; i < 4; i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = flag_steps[i];
		ret = io_uring_queue_init_params(qd, ring, &p);
		if (ret != -EINVAL) {
			*flags = flag_steps[i];
			break;
		}
	}
	return ret;
}

static int open_file(const char *dir, uint64_t size, bool *direct)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_DIRECT | O_CLOEXEC, 0600);

	*direct = true;
	if (fd < 0) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/swap-raw-XXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0)
			return -errno;
		unlink(path);
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_DIRECT) < 0)
			*direct = false;
	}
	if (fallocate(fd, 0, 0, (off_t)size) < 0 && errno != EOPNOTSUPP) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* One sequential pass over [0, size) in bs blocks, qd in flight. Returns the
 * seconds taken or a negative errno. */
static double raw_pass(struct io_uring *ring, int fd, char **bufs, unsigned qd,
		       uint64_t bs, uint64_t size, bool write)
{
	uint64_t next = 0, done = 0;
	unsigned inflight = 0;
	uint64_t off_of[SWAP_MAX_QD], left_of[SWAP_MAX_QD], pos_of[SWAP_MAX_QD];
	unsigned freeq[SWAP_MAX_QD], nfree = qd;
	double t0 = now_s();

	for (unsigned i = 0; i < qd; i++)
		freeq[i] = i;
	while (done < size) {
		while (nfree && next < size) {
			unsigned b = freeq[--nfree];
			struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
			uint64_t len = size - next < bs ? size - next : bs;
			off_of[b] = next;
			left_of[b] = len;
			pos_of[b] = 0;
			if (write)
				io_uring_prep_write(sqe, fd, bufs[b], (unsigned)len, next);
			else
				io_uring_prep_read(sqe, fd, bufs[b], (unsigned)len, next);
			io_uring_sqe_set_data64(sqe, b);
			next += len;
			inflight++;
		}
		int ret = io_uring_submit_and_wait(ring, 1);
		if (ret < 0 && ret != -EINTR)
			return ret;
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(ring, head, cqe) {
			unsigned b = (unsigned)io_uring_cqe_get_data64(cqe);
			seen++;
			if (cqe->res <= 0)
				return cqe->res ? cqe->res : -EIO;
			pos_of[b] += (uint64_t)cqe->res;
			left_of[b] -= (uint64_t)cqe->res;
			done += (uint64_t)cqe->res;
			if (left_of[b]) { /* short: the rest of this block again */
				struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
				if (write)
					io_uring_prep_write(sqe, fd, bufs[b] + pos_of[b],
							    (unsigned)left_of[b], off_of[b] + pos_of[b]);
				else
					io_uring_prep_read(sqe, fd, bufs[b] + pos_of[b],
							   (unsigned)left_of[b], off_of[b] + pos_of[b]);
				io_uring_sqe_set_data64(sqe, b);
			} else {
				freeq[nfree++] = b;
				inflight--;
			}
		}
		io_uring_cq_advance(ring, seen);
	}
	return now_s() - t0;
}

static int raw_run(const struct opts *o, double *w_s, double *r_s, uint32_t *flags,
		   bool *direct)
{
	struct io_uring ring;
	struct iobuf mem;
	char **bufs = calloc(o->qd, sizeof(char *));
	int fd, ret;

	if (!bufs)
		return -ENOMEM;

	fd = open_file(o->dir, o->size, direct);
	if (fd < 0) {
		free(bufs);
		return fd;
	}
	ret = ring_init(&ring, o->qd, flags);
	/* In huge pages, as the emulator's pool is (iobuf.h says why). */
	if (!ret && iobuf_alloc(&mem, o->qd * o->bs)) {
		io_uring_queue_exit(&ring);
		ret = -ENOMEM;
	}
	if (ret) {
		close(fd);
		free(bufs);
		return ret;
	}
	for (unsigned i = 0; i < o->qd; i++) {
		bufs[i] = mem.base + i * o->bs;
		for (uint64_t j = 0; j < o->bs; j += 8)
			*(uint64_t *)(bufs[i] + j) = (j + i) * 0x9e3779b97f4a7c15ull;
	}
	*w_s = raw_pass(&ring, fd, bufs, o->qd, o->bs, o->size, true);
	*r_s = *w_s < 0 ? -1 : raw_pass(&ring, fd, bufs, o->qd, o->bs, o->size, false);
	ret = *w_s < 0 ? (int)*w_s : *r_s < 0 ? (int)*r_s : 0;
	iobuf_free(&mem);
	free(bufs);
	io_uring_queue_exit(&ring);
	close(fd);
	return ret;
}

/* ---- store ------------------------------------------------------------------ */

static int store_run(const struct opts *o, uint64_t alloc, char *pool,
		     double *w_s, double *r_s, struct swap_stats *st)
{
	struct swap_config cfg = { .dir = o->dir, .size = o->size, .queue_depth = o->qd };
	struct swap_store *s;
	char err[256];
	uint64_t nslots = o->size / alloc, per = o->batch / alloc;
	struct swap_slot *slots = calloc(nslots, sizeof(*slots));
	struct swap_req *reqs = calloc(per, sizeof(*reqs));
	struct swap_iov *iov = calloc(per, sizeof(*iov));
	int ret;

	if (!per)
		per = 1;
	ret = swap_open(&cfg, &s, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "swap-raw: %s\n", err);
		return ret;
	}
	swap_register_region(s, pool, o->pool);
	for (uint64_t i = 0; i < nslots; i++) {
		ret = swap_slot_alloc(s, alloc, &slots[i]);
		if (ret)
			goto out;
	}
	for (int pass = 0; pass < 2; pass++) {
		double t0 = now_s();
		for (uint64_t i = 0; i < nslots; i += per) {
			unsigned n = (unsigned)(nslots - i < per ? nslots - i : per);
			for (unsigned k = 0; k < n; k++) {
				iov[k] = (struct swap_iov){ pool + ((i + k) * alloc) % o->pool, alloc };
				reqs[k] = (struct swap_req){ .slot = &slots[i + k], .iov = &iov[k], .niov = 1, .result = 0 };
			}
			ret = pass ? swap_read_many(s, reqs, n) : swap_write_many(s, reqs, n);
			if (ret)
				goto out;
		}
		*(pass ? r_s : w_s) = now_s() - t0;
	}
out:
	swap_query_stats(s, st);
	for (uint64_t i = 0; i < nslots; i++)
		swap_slot_free(s, &slots[i]);
	swap_close(s);
	free(slots);
	free(reqs);
	free(iov);
	return ret;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_rate(const char *what, uint64_t bytes, double *secs, unsigned n)
{
	double m = median(secs, n);
	printf("%-22s %8.0f MB/s  %8.0f MiB/s  best %6.0f MB/s  (runs:", what,
	       (double)bytes / m / 1e6, (double)bytes / m / 1048576.0,
	       (double)bytes / secs[0] / 1e6);
	for (unsigned i = 0; i < n; i++)
		printf(" %.0f", (double)bytes / secs[i] / 1e6);
	printf(" MB/s)\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' }, { "bs", required_argument, NULL, 'b' },
		{ "qd", required_argument, NULL, 'q' }, { "size", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'r' }, { "store", no_argument, NULL, 'S' },
		{ "pool", required_argument, NULL, 'p' }, { "batch", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' }, { 0 } };
	struct opts o = { .bs = 2ull << 20, .size = 1ull << 30, .qd = 32, .runs = 3 };
	double rw[MAX_RUNS], rr[MAX_RUNS], sw[2][MAX_RUNS], sr[2][MAX_RUNS];
	static const uint64_t allocs[2] = { 2ull << 20, 64ull << 10 };
	struct swap_stats st[2];
	uint32_t flags = 0;
	bool direct = true;
	char fl[96];
	int c, ret;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd': o.dir = optarg; break;
		case 'b': if (parse_size(optarg, &o.bs) || !o.bs || o.bs % 4096 || o.bs > (1u << 30)) goto bad; break;
		case 'q': o.qd = (unsigned)atoi(optarg); if (!o.qd || o.qd > SWAP_MAX_QD) goto bad; break;
		case 's': if (parse_size(optarg, &o.size) || !o.size) goto bad; break;
		case 'r': o.runs = (unsigned)atoi(optarg); if (!o.runs || o.runs > MAX_RUNS) goto bad; break;
		case 'S': o.store = true; break;
		case 'p': if (parse_size(optarg, &o.pool) || o.pool < (2u << 20) || o.pool % (2u << 20)) goto bad; break;
		case 'B': if (parse_size(optarg, &o.batch)) goto bad; break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	if (!o.dir)
		o.dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	o.size = o.size / o.bs * o.bs;
	if (o.size % (2u << 20) && o.store) {
		fprintf(stderr, "swap-raw: --size must be a multiple of 2 MiB with --store\n");
		return 2;
	}
	/* The pool stands for the system pages of the allocations swapped: as
	 * large as the data (up to 1 GiB), so one batch can hold everything. */
	if (!o.pool)
		o.pool = o.size < (1ull << 30) ? o.size : 1ull << 30;
	/* A read batch must not use a buffer twice: at most the pool. */
	if (!o.batch || o.batch > o.pool)
		o.batch = o.pool;

	char *pool = NULL;
	struct iobuf poolmem = { 0 };
	if (o.store) {
		/* In huge pages, as the raw buffers and the emulator's pool are. */
		if (iobuf_alloc(&poolmem, o.pool)) {
			fprintf(stderr, "swap-raw: no memory for a %" PRIu64 " MiB pool\n", o.pool >> 20);
			return 1;
		}
		pool = poolmem.base;
		for (uint64_t j = 0; j < o.pool; j += 8)
			*(uint64_t *)(pool + j) = j * 0x9e3779b97f4a7c15ull + 1;
	}

	for (unsigned run = 0; run < o.runs; run++) {
		ret = raw_run(&o, &rw[run], &rr[run], &flags, &direct);
		if (ret) {
			fprintf(stderr, "swap-raw: raw I/O in %s: %s\n", o.dir, strerror(-ret));
			return 1;
		}
		for (int a = 0; o.store && a < 2; a++) {
			ret = store_run(&o, allocs[a], pool, &sw[a][run], &sr[a][run], &st[a]);
			if (ret) {
				fprintf(stderr, "swap-raw: store: %s\n", strerror(-ret));
				return 1;
			}
		}
	}

	printf("swap-raw: dir=%s size=%" PRIu64 " MiB bs=%" PRIu64 " KiB qd=%u runs=%u "
	       "io=%s ring=%s\n", o.dir, o.size >> 20, o.bs >> 10, o.qd, o.runs,
	       direct ? "direct" : "buffered", swap_ring_flags_str(flags, fl, sizeof(fl)));
	print_rate("raw write", o.size, rw, o.runs);
	print_rate("raw read", o.size, rr, o.runs);
	if (o.store) {
		double mw = median(rw, o.runs), mr = median(rr, o.runs);
		printf("store: io=%s align=%u/%u buffers=%s%s%s%s ring=%s pool=%" PRIu64
		       " MiB batch=%" PRIu64 " MiB\n", st[0].io_mode, st[0].mem_align,
		       st[0].offset_align, st[0].buffer_mode, st[0].buffer_note[0] ? " (" : "",
		       st[0].buffer_note, st[0].buffer_note[0] ? ")" : "",
		       swap_ring_flags_str(st[0].ring_flags, fl, sizeof(fl)), o.pool >> 20,
		       o.batch >> 20);
		for (int a = 0; a < 2; a++) {
			char name[64];
			double w = median(sw[a], o.runs), r = median(sr[a], o.runs);
			snprintf(name, sizeof(name), "store %" PRIu64 "K swap-out", allocs[a] >> 10);
			print_rate(name, o.size, sw[a], o.runs);
			snprintf(name, sizeof(name), "store %" PRIu64 "K swap-in", allocs[a] >> 10);
			print_rate(name, o.size, sr[a], o.runs);
			printf("  ratio store/raw (medians): swap-out %.3f  swap-in %.3f  (best: %.3f %.3f)\n"
			       "  qd reached %u, "
			       "I/O latency p50/p99 write %.0f/%.0f us read %.0f/%.0f us, fixed I/Os %" PRIu64 "\n",
			       mw / w, mr / r, rw[0] / sw[a][0], rr[0] / sr[a][0], st[a].qd_reached,
			       vidmm_hist_quantile(&st[a].write_lat, 0.5) / 1e3,
			       vidmm_hist_quantile(&st[a].write_lat, 0.99) / 1e3,
			       vidmm_hist_quantile(&st[a].read_lat, 0.5) / 1e3,
			       vidmm_hist_quantile(&st[a].read_lat, 0.99) / 1e3, st[a].fixed_ios);
		}
	}
	return 0;
bad:
	usage(stderr);
	return 2;
}
