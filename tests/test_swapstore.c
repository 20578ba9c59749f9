/* SPDX-License-Identifier: MIT */
/*
 * test_swapstore.c - the swap store of core/swap.h on its own: data through
 * scattered buffers and back, checksums, short and failed I/O, space
 * accounting, buffered fallback, the memlock rule for registered buffers,
 * reads handed back as they finish, and that a killed process leaves no file
 * behind.
 *
 * Owns: the SWAPSTORE-* cases. Must not: use the manager (the store is
 * self-contained; the lead wires it into residency), or touch other tests.
 *
 * Files go to the system temp dir (TMPDIR or /tmp) in a fresh directory per
 * case; volumes stay at tens of MiB. Random cases print their seed (replay
 * with VIDMM_SEED=...).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vt.h"
#include "core/swap.h"

#define PAGE 4096u
#define MiB (1u << 20)

/* ---- helpers --------------------------------------------------------------- */

static const char *tmp_root(void)
{
	const char *t = getenv("TMPDIR");
	return t && *t ? t : "/tmp";
}

/* A fresh, empty directory for one case. */
static void make_dir(char *out, size_t len)
{
	snprintf(out, len, "%s/vidmm-swaptest-XXXXXX", tmp_root());
	assert_non_null(mkdtemp(out));
}

static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static struct swap_store *open_store(const char *dir, uint64_t size, unsigned qd,
				     bool buffered)
{
	struct swap_config cfg = { .dir = dir, .size = size, .queue_depth = qd,
				   .force_buffered = buffered };
	struct swap_store *s = NULL;
	char err[256] = "";
	int ret = swap_open(&cfg, &s, err, sizeof(err));
	if (ret)
		fprintf(stderr, "swap_open: %d %s\n", ret, err);
	assert_int_equal(ret, 0);
	return s;
}

static void *map_pool(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

static void fill_random(struct vt_rng *r, void *buf, size_t len)
{
	uint64_t *w = buf;
	for (size_t i = 0; i < len / 8; i++)
		w[i] = vt_rng_next(r);
}

/*
 * A scatter layout: nslots slots of pages[i] pages each, as runs of 1..16
 * pages placed at shuffled positions of a pool of npool pages (no page used
 * twice), so iovecs are scattered, of mixed lengths, and sometimes adjacent.
 */
struct layout {
	unsigned nslots;
	struct swap_iov **iov;
	unsigned *niov;
};

static void layout_make(struct vt_rng *r, struct layout *l, char *pool, unsigned npool,
			const unsigned *pages, unsigned nslots)
{
	unsigned *run_start = malloc(npool * sizeof(unsigned));
	unsigned *run_len = malloc(npool * sizeof(unsigned));
	unsigned nruns = 0, at = 0, ri = 0;

	assert_non_null(run_start);
	assert_non_null(run_len);
	while (at < npool) {
		unsigned len = 1 + (unsigned)vt_rng_below(r, 16);
		if (len > npool - at)
			len = npool - at;
		run_start[nruns] = at;
		run_len[nruns++] = len;
		at += len;
	}
	for (unsigned i = nruns - 1; i > 0; i--) {
		unsigned j = (unsigned)vt_rng_below(r, i + 1), t;
		t = run_start[i]; run_start[i] = run_start[j]; run_start[j] = t;
		t = run_len[i]; run_len[i] = run_len[j]; run_len[j] = t;
	}
	l->nslots = nslots;
	l->iov = calloc(nslots, sizeof(*l->iov));
	l->niov = calloc(nslots, sizeof(*l->niov));
	for (unsigned s = 0; s < nslots; s++) {
		unsigned need = pages[s];
		l->iov[s] = calloc(need, sizeof(struct swap_iov));
		while (need) {
			assert_true(ri < nruns);
			unsigned take = run_len[ri] < need ? run_len[ri] : need;
			l->iov[s][l->niov[s]++] = (struct swap_iov){
				pool + (size_t)run_start[ri] * PAGE, (size_t)take * PAGE };
			run_start[ri] += take;
			run_len[ri] -= take;
			if (!run_len[ri])
				ri++;
			need -= take;
		}
	}
	free(run_start);
	free(run_len);
}

static void layout_free(struct layout *l)
{
	for (unsigned s = 0; s < l->nslots; s++)
		free(l->iov[s]);
	free(l->iov);
	free(l->niov);
}

/* Do slot s's bytes in layout a equal those in layout b? */
static bool same_data(const struct layout *a, const struct layout *b, unsigned s)
{
	unsigned ia = 0, ib = 0;
	size_t oa = 0, ob = 0;

	while (ia < a->niov[s] && ib < b->niov[s]) {
		size_t la = a->iov[s][ia].len - oa, lb = b->iov[s][ib].len - ob;
		size_t n = la < lb ? la : lb;
		if (memcmp((char *)a->iov[s][ia].base + oa, (char *)b->iov[s][ib].base + ob, n))
			return false;
		oa += n;
		ob += n;
		if (oa == a->iov[s][ia].len) { ia++; oa = 0; }
		if (ob == b->iov[s][ib].len) { ib++; ob = 0; }
	}
	return ia == a->niov[s] && ib == b->niov[s];
}

/* Write nslots slots from layout w (over a pool of random data), read them back
 * into layout rd over another pool, compare, free; the allocator ends empty. */
static void roundtrip(struct swap_store *s, struct vt_rng *r, char *wpool, char *rpool,
		      unsigned npool, unsigned nslots, unsigned max_pages)
{
	unsigned *pages = calloc(nslots, sizeof(unsigned)), total = 0;
	struct swap_slot *slots = calloc(nslots, sizeof(*slots));
	struct swap_req *reqs = calloc(nslots, sizeof(*reqs));
	struct layout lw, lr;
	struct swap_stats st;

	for (unsigned i = 0; i < nslots; i++) {
		unsigned room = npool - total - (nslots - i - 1); /* a page for each one left */
		pages[i] = 1 + (unsigned)vt_rng_below(r, max_pages);
		if (pages[i] > room)
			pages[i] = room;
		total += pages[i];
	}
	assert_true(total <= npool);
	layout_make(r, &lw, wpool, npool, pages, nslots);
	layout_make(r, &lr, rpool, npool, pages, nslots);
	fill_random(r, wpool, (size_t)npool * PAGE);
	memset(rpool, 0xa5, (size_t)npool * PAGE);

	for (unsigned i = 0; i < nslots; i++) {
		assert_int_equal(swap_slot_alloc(s, (uint64_t)pages[i] * PAGE, &slots[i]), 0);
		assert_int_equal(slots[i].bytes, (uint64_t)pages[i] * PAGE);
	}
	/* Half one by one, half in one batch. */
	for (unsigned i = 0; i < nslots / 2; i++)
		assert_int_equal(swap_write(s, &slots[i], lw.iov[i], lw.niov[i]), 0);
	for (unsigned i = nslots / 2; i < nslots; i++)
		reqs[i] = (struct swap_req){ .slot = &slots[i], .iov = lw.iov[i], .niov = lw.niov[i], .result = 1 };
	assert_int_equal(swap_write_many(s, reqs + nslots / 2, nslots - nslots / 2), 0);
	for (unsigned i = nslots / 2; i < nslots; i++)
		assert_int_equal(reqs[i].result, 0);

	for (unsigned i = 0; i < nslots; i++)
		reqs[i] = (struct swap_req){ .slot = &slots[i], .iov = lr.iov[i], .niov = lr.niov[i], .result = 1 };
	assert_int_equal(swap_read_many(s, reqs, nslots / 2), 0);
	for (unsigned i = nslots / 2; i < nslots; i++)
		assert_int_equal(swap_read(s, &slots[i], lr.iov[i], lr.niov[i]), 0);
	for (unsigned i = 0; i < nslots; i++) {
		if (!same_data(&lw, &lr, i))
			fail_msg("slot %u (%u pages, %u write iovs, %u read iovs) differs",
				 i, pages[i], lw.niov[i], lr.niov[i]);
	}
	for (unsigned i = 0; i < nslots; i++)
		swap_slot_free(s, &slots[i]);
	swap_query_stats(s, &st);
	assert_int_equal(st.used_bytes, 0);
	assert_int_equal(st.slots, 0);
	assert_int_equal(st.largest_free, st.file_size);
	layout_free(&lw);
	layout_free(&lr);
	free(pages);
	free(slots);
	free(reqs);
}

static void print_stats(const char *what, struct swap_store *s)
{
	struct swap_stats st;
	char fl[96];

	swap_query_stats(s, &st);
	printf("%s: io=%s align=%u/%u unit=%u buffers=%s%s%s%s ring=%s qd=%u/%u "
	       "w=%" PRIu64 "/%" PRIu64 "B r=%" PRIu64 "/%" PRIu64 "B fixed=%" PRIu64
	       " short=%" PRIu64 " err=%" PRIu64 " csum=%" PRIu64 " p50w=%" PRIu64 "ns\n",
	       what, st.io_mode, st.mem_align, st.offset_align, st.io_unit, st.buffer_mode,
	       st.buffer_note[0] ? " (" : "", st.buffer_note, st.buffer_note[0] ? ")" : "",
	       swap_ring_flags_str(st.ring_flags, fl, sizeof(fl)), st.qd_reached,
	       st.queue_depth, st.writes, st.bytes_written, st.reads, st.bytes_read,
	       st.fixed_ios, st.short_ios, st.io_errors, st.checksum_failures,
	       vidmm_hist_quantile(&st.write_lat, 0.5));
	fflush(stdout);
}

/* ---- SWAPSTORE-ROUNDTRIP ------------------------------------------------------- */

struct thr_arg {
	struct swap_store *s;
	uint64_t seed;
	char *wpool, *rpool;
	unsigned npool;
	int failures;
};

/* Each thread its own pools and slots; the store (allocator, stats) shared. */
static void *thr_main(void *p)
{
	struct thr_arg *a = p;
	struct vt_rng r;

	vt_rng_seed(&r, a->seed);
	for (int round = 0; round < 6; round++) {
		struct swap_slot slot[4];
		unsigned pages[4];
		for (int i = 0; i < 4; i++) {
			pages[i] = 1 + (unsigned)vt_rng_below(&r, a->npool / 4);
			if (swap_slot_alloc(a->s, (uint64_t)pages[i] * PAGE, &slot[i])) {
				a->failures++;
				return NULL;
			}
		}
		fill_random(&r, a->wpool, (size_t)a->npool * PAGE);
		memset(a->rpool, 0, (size_t)a->npool * PAGE);
		for (int i = 0; i < 4; i++) {
			size_t o = (size_t)i * (a->npool / 4) * PAGE, len = (size_t)pages[i] * PAGE;
			struct swap_iov w = { a->wpool + o, len }, rd = { a->rpool + o, len };
			if (swap_write(a->s, &slot[i], &w, 1) || swap_read(a->s, &slot[i], &rd, 1) ||
			    memcmp(a->wpool + o, a->rpool + o, len))
				a->failures++;
		}
		for (int i = 0; i < 4; i++)
			swap_slot_free(a->s, &slot[i]);
	}
	return NULL;
}

static void test_roundtrip(void **state)
{
	uint64_t seed = vt_seed("SWAPSTORE-ROUNDTRIP");
	const unsigned npool = 2048; /* 8 MiB per pool */
	char dir[256];
	struct vt_rng r;
	struct swap_store *s;
	struct swap_stats st;
	char *wpool = map_pool((size_t)npool * PAGE), *rpool = map_pool((size_t)npool * PAGE);

	vt_rng_seed(&r, seed);
	make_dir(dir, sizeof(dir));
	/* A small queue depth so batches are longer than the queue. */
	s = open_store(dir, 48ull * MiB, 8, false);

	/* Plain buffers, then with both pools registered (8 MiB each: the
	 * read pool is registered, the write pool plain, so both kinds of SQE
	 * and mixed extents are used). */
	roundtrip(s, &r, wpool, rpool, npool, 40, 200);
	swap_query_stats(s, &st);
	assert_int_equal(st.fixed_ios, 0);
	assert_string_equal(st.buffer_mode, "plain");
	assert_true(st.qd_reached <= 8);
	assert_true(st.qd_reached >= 2);
	assert_true(st.write_lat.count > 0 && st.read_lat.count > 0);
	print_stats("plain", s);

	assert_int_equal(swap_register_region(s, rpool, (size_t)npool * PAGE), 0);
	roundtrip(s, &r, wpool, rpool, npool, 40, 200);
	swap_query_stats(s, &st);
	print_stats("rpool registered", s);
	{
		/* One run of region memory per extent: fixed I/O, and slots
		 * adjacent in the file with adjacent memory merge into one
		 * (up to SWAP_MERGE_MAX). */
		struct swap_slot sl[3];
		struct swap_iov v[3];
		struct swap_req q[3];
		uint64_t fixed0 = st.fixed_ios;
		for (int i = 0; i < 3; i++) {
			assert_int_equal(swap_slot_alloc(s, 64 * 1024, &sl[i]), 0);
			v[i] = (struct swap_iov){ rpool + (size_t)i * 64 * 1024, 64 * 1024 };
			q[i] = (struct swap_req){ .slot = &sl[i], .iov = &v[i], .niov = 1, .result = 0 };
		}
		fill_random(&r, rpool, 192 * 1024);
		memcpy(wpool, rpool, 192 * 1024);
		assert_int_equal(swap_write_many(s, q, 3), 0);
		memset(rpool, 0, 192 * 1024);
		assert_int_equal(swap_read_many(s, q, 3), 0);
		assert_memory_equal(wpool, rpool, 192 * 1024);
		swap_query_stats(s, &st);
		if (!strcmp(st.buffer_mode, "registered"))
			assert_int_equal(st.fixed_ios, fixed0 + 2); /* one write, one read */
		else
			printf("registration refused here: %s\n", st.buffer_note);
		for (int i = 0; i < 3; i++)
			swap_slot_free(s, &sl[i]);
	}
	/* Big slots: several extents each, one or more I/Os per extent. */
	roundtrip(s, &r, wpool, rpool, npool, 4, npool / 3);
	assert_int_equal(swap_register_region(s, NULL, 0), 0);
	swap_query_stats(s, &st);
	assert_int_equal(st.checksum_failures, 0);
	assert_int_equal(st.io_errors, 0);

	/* Two threads on one store, each with its own ring; the write pool of
	 * thread 0 is the registered region. */
	struct thr_arg a[2];
	pthread_t t[2];
	for (int i = 0; i < 2; i++) {
		a[i] = (struct thr_arg){ .s = s, .seed = seed + 1 + (uint64_t)i,
					 .npool = 512, .failures = 0 };
		a[i].wpool = map_pool(512 * PAGE);
		a[i].rpool = map_pool(512 * PAGE);
	}
	assert_int_equal(swap_register_region(s, a[0].wpool, 512 * PAGE), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thr_main, &a[i]), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(a[i].failures, 0);
		munmap(a[i].wpool, 512 * PAGE);
		munmap(a[i].rpool, 512 * PAGE);
	}
	swap_query_stats(s, &st);
	print_stats("after threads", s);
	/* The threads' rings went away with them; their counts stayed. */
	assert_int_equal(st.rings, 1);
	assert_int_equal(st.used_bytes, 0);
	assert_int_equal(st.checksum_failures, 0);

	swap_close(s);
	assert_int_equal(dir_entries(dir), 0);
	rmdir(dir);
	munmap(wpool, (size_t)npool * PAGE);
	munmap(rpool, (size_t)npool * PAGE);
}

/* ---- SWAPSTORE-CHECKSUM -------------------------------------------------------- */

/* Flip one byte of the file behind the store's back (aligned read-modify-write:
 * the fd may be O_DIRECT). */
static void corrupt(struct swap_store *s, uint64_t off)
{
	int fd = swap_test_fd(s);
	uint64_t base = off & ~(uint64_t)(PAGE - 1);
	void *buf;

	assert_int_equal(posix_memalign(&buf, PAGE, PAGE), 0);
	assert_int_equal(pread(fd, buf, PAGE, (off_t)base), PAGE);
	((unsigned char *)buf)[off - base] ^= 0x20;
	assert_int_equal(pwrite(fd, buf, PAGE, (off_t)base), PAGE);
	free(buf);
}

static void test_checksum(void **state)
{
	uint64_t seed = vt_seed("SWAPSTORE-CHECKSUM");
	char dir[256];
	struct vt_rng r;
	struct swap_store *s;
	struct swap_slot a, b, never;
	struct swap_stats st;
	size_t len = 5 * MiB; /* three extents */
	char *w = map_pool(len), *rd = map_pool(len);
	struct swap_iov wi = { w, len }, ri = { rd, len };

	vt_rng_seed(&r, seed);
	make_dir(dir, sizeof(dir));
	s = open_store(dir, 16 * MiB, 0, false);
	fill_random(&r, w, len);
	assert_int_equal(swap_slot_alloc(s, len, &a), 0);
	assert_int_equal(swap_slot_alloc(s, len, &b), 0);
	assert_int_equal(swap_slot_alloc(s, PAGE, &never), 0);
	assert_true(a.n_ext >= 3);
	assert_int_equal(swap_write(s, &a, &wi, 1), 0);
	assert_int_equal(swap_write(s, &b, &wi, 1), 0);
	assert_int_equal(swap_read(s, &a, &ri, 1), 0);
	assert_memory_equal(w, rd, len);

	/* One byte in a random extent of a, at a random place. */
	uint32_t e = (uint32_t)vt_rng_below(&r, a.n_ext);
	corrupt(s, a.ext[e].off + vt_rng_below(&r, a.ext[e].len));
	assert_int_equal(swap_read(s, &a, &ri, 1), -EIO);
	swap_query_stats(s, &st);
	assert_int_equal(st.checksum_failures, 1);
	/* The other slot is untouched; a is bad on every read, counted each time. */
	memset(rd, 0, len);
	assert_int_equal(swap_read(s, &b, &ri, 1), 0);
	assert_memory_equal(w, rd, len);
	struct swap_req q[2] = { { .slot = &a, .iov = &ri, .niov = 1 }, { .slot = &b, .iov = &ri, .niov = 1 } };
	assert_int_equal(swap_read_many(s, q, 1), -EIO);
	swap_query_stats(s, &st);
	assert_int_equal(st.checksum_failures, 2);
	/* Rewriting a makes it good again. */
	assert_int_equal(swap_write(s, &a, &wi, 1), 0);
	assert_int_equal(swap_read(s, &a, &ri, 1), 0);
	/* A slot never written has no data to return. */
	struct swap_iov pi = { rd, PAGE };
	assert_int_equal(swap_read(s, &never, &pi, 1), -ENODATA);
	/* Wrong total length: -EINVAL, nothing read. */
	assert_int_equal(swap_read(s, &a, &pi, 1), -EINVAL);
	print_stats("checksum", s);

	swap_slot_free(s, &a);
	swap_slot_free(s, &b);
	swap_slot_free(s, &never);
	swap_close(s);
	rmdir(dir);
	munmap(w, len);
	munmap(rd, len);
}

/* n slots of blen bytes, written with random bytes from w: wv[i] and rv[i]
 * are slot i's pieces of w and rd (read buffers for later). */
static void write_slots(struct swap_store *s, struct vt_rng *r, unsigned n, size_t blen,
			struct swap_slot *sl, struct swap_iov *wv, struct swap_iov *rv,
			struct swap_req *q, char *w, char *rd)
{
	fill_random(r, w, (size_t)n * blen);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(swap_slot_alloc(s, blen, &sl[i]), 0);
		wv[i] = (struct swap_iov){ w + (size_t)i * blen, blen };
		rv[i] = (struct swap_iov){ rd + (size_t)i * blen, blen };
		q[i] = (struct swap_req){ .slot = &sl[i], .iov = &wv[i], .niov = 1 };
	}
	assert_int_equal(swap_write_many(s, q, n), 0);
}

/* ---- SWAPSTORE-READ-EACH ----------------------------------------------------------- */

/* What swap_read_many_each handed back, and whether each request's data was
 * already in place when it was. */
struct each_log {
	struct swap_req *q;
	const char *want; /* the written data, request i at i * blen */
	const char *got;
	size_t blen;
	unsigned next;    /* requests handed back so far */
	unsigned calls;
	unsigned first_count;
	unsigned bad;     /* handed back out of order, twice, or with wrong data */
	int *res;         /* SWAPSTORE-READ-STREAM's: results as handed back */
};

static void each_done(void *arg, unsigned first, unsigned count)
{
	struct each_log *l = arg;

	if (first != l->next || !count)
		l->bad++;
	if (!l->calls)
		l->first_count = count;
	l->calls++;
	for (unsigned i = first; i < first + count; i++)
		if (!l->q[i].result && memcmp(l->want + i * l->blen, l->got + i * l->blen, l->blen))
			l->bad++;
	l->next = first + count;
}

static void test_read_each(void **state)
{
	uint64_t seed = vt_seed("SWAPSTORE-READ-EACH");
	enum { N = 64, BLEN = 64 * 1024 };
	char dir[256];
	struct vt_rng r;
	struct swap_store *s;
	struct swap_slot sl[N];
	struct swap_iov wv[N], rv[N];
	struct swap_req q[N];
	char *w = map_pool((size_t)N * BLEN), *rd = map_pool((size_t)N * BLEN);

	vt_rng_seed(&r, seed);
	make_dir(dir, sizeof(dir));
	/* Queue depth 4: 64 slots joined into 256 KiB I/Os are 16 I/Os, so the
	 * first requests finish before the last are even issued. */
	s = open_store(dir, 16 * MiB, 4, false);
	write_slots(s, &r, N, BLEN, sl, wv, rv, q, w, rd);

	/* All good: each handed back once, in order, data in place, early. */
	struct each_log l = { .q = q, .want = w, .got = rd, .blen = BLEN };
	for (unsigned i = 0; i < N; i++)
		q[i] = (struct swap_req){ .slot = &sl[i], .iov = &rv[i], .niov = 1 };
	assert_int_equal(swap_read_many_each(s, q, N, each_done, &l), 0);
	printf("all good: %u calls, the first handed back %u of %u\n", l.calls, l.first_count, N);
	assert_int_equal(l.bad, 0);
	assert_int_equal(l.next, N);
	assert_true(l.calls >= 2);
	assert_true(l.first_count < N);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(q[i].result, 0);
	assert_memory_equal(w, rd, (size_t)N * BLEN);

	/* A corrupted slot and a request of the wrong length among good ones:
	 * each is handed back in its place with its own error; the others
	 * keep theirs. */
	unsigned bad_sum = 1 + (unsigned)vt_rng_below(&r, N / 2 - 1); /* 1..31 */
	unsigned bad_len = N / 2 + (unsigned)vt_rng_below(&r, N / 2); /* 32..63 */
	struct swap_iov short_iov = { rd + (size_t)bad_len * BLEN, BLEN / 2 };
	corrupt(s, sl[bad_sum].ext[0].off + vt_rng_below(&r, BLEN));
	memset(rd, 0, (size_t)N * BLEN);
	l = (struct each_log){ .q = q, .want = w, .got = rd, .blen = BLEN };
	for (unsigned i = 0; i < N; i++)
		q[i] = (struct swap_req){ .slot = &sl[i], .iov = i == bad_len ? &short_iov : &rv[i],
					  .niov = 1 };
	assert_int_equal(swap_read_many_each(s, q, N, each_done, &l), -EIO);
	assert_int_equal(l.bad, 0);
	assert_int_equal(l.next, N);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(q[i].result, i == bad_sum ? -EIO : i == bad_len ? -EINVAL : 0);

	for (unsigned i = 0; i < N; i++)
		swap_slot_free(s, &sl[i]);
	swap_close(s);
	assert_int_equal(dir_entries(dir), 0);
	rmdir(dir);
	munmap(w, (size_t)N * BLEN);
	munmap(rd, (size_t)N * BLEN);
}

/* ---- SWAPSTORE-READ-STREAM ---------------------------------------------------------- */

/* A stream of NB batches of BN requests (15 slots of 64 KiB: a batch ends
 * inside a 256 KiB I/O, which the next batch's first slot joins): each
 * batch's own log, and whether the batch before had requests still out when
 * more was asked. */
enum { STREAM_NB = 4, STREAM_BN = 15 };

struct stream_state {
	struct swap_req *q;                  /* STREAM_NB * STREAM_BN */
	struct each_log log[STREAM_NB];
	int res[STREAM_NB * STREAM_BN];      /* results, kept as handed back */
	unsigned given;                      /* batches handed to the pipe */
	unsigned more_calls;
	unsigned overlapped;                 /* more answered with the last batch still out */
	bool first_overlapped;
};

/* each_done, then the requests handed back are wrecked, as a caller that
 * frees them would leave them: a store that still read one would crash. */
static void stream_done(void *arg, unsigned first, unsigned count)
{
	struct each_log *l = arg;
	int *res = l->res;

	each_done(arg, first, count);
	for (unsigned i = first; i < first + count; i++) {
		res[i] = l->q[i].result;
		l->q[i] = (struct swap_req){ .slot = NULL };
	}
}

static unsigned stream_more(void *arg, struct swap_req **reqs, void **batch)
{
	struct stream_state *st = arg;

	st->more_calls++;
	if (st->given == STREAM_NB)
		return 0;
	bool out = st->log[st->given - 1].next < STREAM_BN;
	st->overlapped += out;
	if (st->given == 1)
		st->first_overlapped = out;
	*reqs = st->q + st->given * STREAM_BN;
	*batch = &st->log[st->given];
	st->given++;
	return STREAM_BN;
}

static void test_read_stream(void **state)
{
	uint64_t seed = vt_seed("SWAPSTORE-READ-STREAM");
	enum { N = STREAM_NB * STREAM_BN, BLEN = 64 * 1024 };
	char dir[256];
	struct vt_rng r;
	struct swap_store *s;
	struct swap_slot sl[N];
	struct swap_iov wv[N], rv[N];
	struct swap_req q[N];
	char *w = map_pool((size_t)N * BLEN), *rd = map_pool((size_t)N * BLEN);
	const struct swap_stream ops = { .done = stream_done, .more = stream_more };
	struct stream_state *st = calloc(1, sizeof(*st));

	(void)state;
	assert_non_null(st);
	vt_rng_seed(&r, seed);
	make_dir(dir, sizeof(dir));
	s = open_store(dir, 16 * MiB, 4, false);
	write_slots(s, &r, N, BLEN, sl, wv, rv, q, w, rd);

	for (int round = 0; round < 2; round++) {
		/* Round 1: one slot of a later batch corrupted on disk. */
		unsigned bad = round ? STREAM_BN + (unsigned)vt_rng_below(&r, N - STREAM_BN) : N;
		struct swap_stream o = ops;

		if (round)
			corrupt(s, sl[bad].ext[0].off + vt_rng_below(&r, BLEN));
		memset(rd, 0, (size_t)N * BLEN);
		memset(st, 0, sizeof(*st));
		st->q = q;
		st->given = 1;
		for (unsigned i = 0; i < N; i++)
			q[i] = (struct swap_req){ .slot = &sl[i], .iov = &rv[i], .niov = 1 };
		for (unsigned b = 0; b < STREAM_NB; b++)
			st->log[b] = (struct each_log){ .q = q + b * STREAM_BN,
							.want = w + (size_t)b * STREAM_BN * BLEN,
							.got = rd + (size_t)b * STREAM_BN * BLEN,
							.blen = BLEN, .res = st->res + b * STREAM_BN };
		o.more_arg = st;
		assert_int_equal(swap_read_stream(s, q, STREAM_BN, &st->log[0], &o),
				 round ? -EIO : 0);
		printf("round %d: %u batches, more asked %u times, %u of %u answered with the "
		       "batch before still being read\n", round, st->given, st->more_calls,
		       st->overlapped, STREAM_NB - 1);
		/* Every batch whole, in order, once each, data in place. */
		assert_int_equal(st->given, STREAM_NB);
		for (unsigned b = 0; b < STREAM_NB; b++) {
			assert_int_equal(st->log[b].bad, 0);
			assert_int_equal(st->log[b].next, STREAM_BN);
		}
		for (unsigned i = 0; i < N; i++)
			assert_int_equal(st->res[i], i == bad ? -EIO : 0);
		for (unsigned i = 0; i < N; i++)
			if (i != bad)
				assert_memory_equal(w + (size_t)i * BLEN, rd + (size_t)i * BLEN, BLEN);
		/* No drain between batches: the second was taken while the
		 * first's last slot was joining an I/O, which the second's first
		 * slot then joined too. */
		assert_true(st->first_overlapped);
		if (round) { /* rewritten, for the next case to read it good */
			struct swap_req wq = { .slot = &sl[bad], .iov = &wv[bad], .niov = 1 };
			assert_int_equal(swap_write_many(s, &wq, 1), 0);
		}
	}

	/*
	 * A batch's last request fails after its read was issued: three
	 * 256 KiB slots and a 2 MiB one at queue depth 4 fill the queue with
	 * the 2 MiB read last, when the pipe stands on it (an I/O of
	 * SWAP_IO_MAX looks no further), and that slot is corrupted. The
	 * batch comes back whole, its last request -EIO, and the store never
	 * reads a request handed back (stream_done wrecks each one).
	 */
	{
		enum { K = 4 };
		static const size_t len[K] = { 256 * 1024, 256 * 1024, 256 * 1024, 2 * MiB };
		struct swap_slot ks[K];
		struct swap_iov kw[K], kr[K];
		struct swap_req kq[K];
		size_t total = 0, at = 0;
		struct swap_stream o = ops;

		for (unsigned i = 0; i < K; i++)
			total += len[i];
		char *kwb = map_pool(total), *krb = map_pool(total);
		fill_random(&r, kwb, total);
		for (unsigned i = 0; i < K; i++, at += len[i - 1]) {
			assert_int_equal(swap_slot_alloc(s, len[i], &ks[i]), 0);
			kw[i] = (struct swap_iov){ kwb + at, len[i] };
			kr[i] = (struct swap_iov){ krb + at, len[i] };
			kq[i] = (struct swap_req){ .slot = &ks[i], .iov = &kw[i], .niov = 1 };
		}
		assert_int_equal(swap_write_many(s, kq, K), 0);
		corrupt(s, ks[K - 1].ext[ks[K - 1].n_ext - 1].off + vt_rng_below(&r, 4096));
		for (unsigned i = 0; i < K; i++)
			kq[i] = (struct swap_req){ .slot = &ks[i], .iov = &kr[i], .niov = 1 };
		memset(st, 0, sizeof(*st));
		st->q = kq;
		st->given = STREAM_NB; /* no more batches */
		st->log[0] = (struct each_log){ .q = kq, .want = kwb, .got = krb, .blen = 0,
						.res = st->res };
		o.more_arg = st;
		assert_int_equal(swap_read_stream(s, kq, K, &st->log[0], &o), -EIO);
		assert_int_equal(st->log[0].bad, 0);
		assert_int_equal(st->log[0].next, K);
		for (unsigned i = 0; i < K; i++)
			assert_int_equal(st->res[i], i == K - 1 ? -EIO : 0);
		assert_memory_equal(kwb, krb, total - len[K - 1]);
		for (unsigned i = 0; i < K; i++)
			swap_slot_free(s, &ks[i]);
		munmap(kwb, total);
		munmap(krb, total);
	}

	/* An empty first batch reads nothing and asks for nothing; no done is
	 * -EINVAL. */
	struct swap_stream o0 = ops;
	memset(st, 0, sizeof(*st));
	st->q = q;
	st->given = 1;
	o0.more_arg = st;
	assert_int_equal(swap_read_stream(s, q, 0, &st->log[0], &o0), 0);
	assert_int_equal(st->more_calls, 0);
	o0.done = NULL;
	assert_int_equal(swap_read_stream(s, q, 1, &st->log[0], &o0), -EINVAL);

	for (unsigned i = 0; i < N; i++)
		swap_slot_free(s, &sl[i]);
	swap_close(s);
	assert_int_equal(dir_entries(dir), 0);
	rmdir(dir);
	munmap(w, (size_t)N * BLEN);
	munmap(rd, (size_t)N * BLEN);
	free(st);
}

/* ---- SWAPSTORE-SHORT-IO ---------------------------------------------------------- */

static void test_short_io(void **state)
{
	uint64_t seed = vt_seed("SWAPSTORE-SHORT-IO");
	char dir[256];
	struct vt_rng r;
	struct swap_store *s;
	struct swap_slot a, sl[3];
	struct swap_stats st, st0;
	size_t len = 3 * MiB;
	char *w = map_pool(len), *rd = map_pool(len);
	/* Two scattered pieces: shorts land inside vectored I/Os as well. */
	struct swap_iov wi[2] = { { w + MiB, 2 * MiB }, { w, MiB } };
	struct swap_iov ri[2] = { { rd, MiB }, { rd + MiB, 2 * MiB } };

	vt_rng_seed(&r, seed);
	make_dir(dir, sizeof(dir));
	s = open_store(dir, 16 * MiB, 4, false);
	fill_random(&r, w, len);
	assert_int_equal(swap_slot_alloc(s, len, &a), 0);

	/* Short writes: every I/O comes back half done and is finished. */
	swap_inject_error(s, true, 0, 5);
	assert_int_equal(swap_write(s, &a, wi, 2), 0);
	swap_query_stats(s, &st);
	assert_true(st.short_ios >= 2);
	assert_int_equal(st.io_errors, 0);
	/* Short reads likewise, data intact. */
	swap_inject_error(s, false, 0, 5);
	assert_int_equal(swap_read(s, &a, ri, 2), 0);
	/* The slot holds w[1M..3M) then w[0..1M); rd takes it in order. */
	assert_memory_equal(rd, w + MiB, 2 * MiB);
	assert_memory_equal(rd + 2 * MiB, w, MiB);
	st0 = st;
	swap_query_stats(s, &st);
	assert_true(st.short_ios >= st0.short_ios + 2);

	/* A failed write: the error comes back, the slot holds nothing usable. */
	st0 = st;
	swap_inject_error(s, true, -EIO, 1);
	assert_int_equal(swap_write(s, &a, wi, 2), -EIO);
	assert_false(a.valid);
	assert_int_equal(swap_read(s, &a, ri, 2), -ENODATA);
	swap_query_stats(s, &st);
	assert_int_equal(st.io_errors, 1);
	assert_int_equal(st.injected, st0.injected + 1);

	/* In a batch only the request whose I/O failed fails. */
	char *bw = map_pool(3 * MiB);
	fill_random(&r, bw, 3 * MiB);
	struct swap_iov bi[3] = { { bw, MiB }, { bw + MiB, MiB }, { bw + 2 * MiB, MiB } };
	struct swap_req q[3];
	struct swap_slot gap[3];
	/* Gaps between the slots: file-adjacent slots would share one merged
	 * I/O, and an error then fails every request in it. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(swap_slot_alloc(s, MiB, &sl[i]), 0);
		assert_int_equal(swap_slot_alloc(s, PAGE, &gap[i]), 0);
		q[i] = (struct swap_req){ .slot = &sl[i], .iov = &bi[i], .niov = 1, .result = 0 };
	}
	swap_inject_error(s, true, -ENOSPC, 1);
	assert_int_equal(swap_write_many(s, q, 3), -ENOSPC);
	assert_int_equal(q[0].result, -ENOSPC); /* the first I/O is the first request's */
	assert_int_equal(q[1].result, 0);
	assert_int_equal(q[2].result, 0);
	/* A read error: surfaced, then the next read works. */
	swap_inject_error(s, false, EIO, 1);
	assert_int_equal(swap_read(s, &sl[1], &ri[0], 1), -EIO);
	assert_int_equal(swap_read(s, &sl[1], &ri[0], 1), 0);
	assert_memory_equal(rd, bw + MiB, MiB);
	assert_int_equal(swap_read(s, &sl[2], &ri[0], 1), 0);
	assert_memory_equal(rd, bw + 2 * MiB, MiB);
	/* The failed write's slot is rewritten fine. */
	assert_int_equal(swap_write(s, &a, wi, 2), 0);
	assert_int_equal(swap_read(s, &a, ri, 2), 0);
	assert_memory_equal(rd + 2 * MiB, w, MiB);
	/* Misaligned buffers are refused before any I/O in direct mode. */
	swap_query_stats(s, &st);
	if (!strcmp(st.io_mode, "direct")) {
		struct swap_iov bad = { w + 1, MiB };
		assert_int_equal(swap_write(s, &sl[0], &bad, 1), -EINVAL);
	}
	print_stats("short-io", s);

	for (int i = 0; i < 3; i++) {
		swap_slot_free(s, &sl[i]);
		swap_slot_free(s, &gap[i]);
	}
	swap_slot_free(s, &a);
	swap_close(s);
	rmdir(dir);
	munmap(w, len);
	munmap(rd, len);
	munmap(bw, 3 * MiB);
}

/* ---- SWAPSTORE-ENOSPC ------------------------------------------------------------- */

static void same_space(struct swap_store *s, const struct swap_stats *before)
{
	struct swap_stats st;
	swap_query_stats(s, &st);
	assert_int_equal(st.used_bytes, before->used_bytes);
	assert_int_equal(st.slots, before->slots);
	assert_int_equal(st.largest_free, before->largest_free);
}

static void test_enospc(void **state)
{
	char dir[256], err[256];
	struct swap_store *s;
	struct swap_slot a, b, c, frag[16], big;
	struct swap_stats st;
	struct swap_config cfg;

	make_dir(dir, sizeof(dir));
	s = open_store(dir, 8 * MiB, 0, false);
	assert_int_equal(swap_slot_alloc(s, 6 * MiB, &a), 0);
	swap_query_stats(s, &st);
	assert_int_equal(swap_slot_alloc(s, 4 * MiB, &b), -ENOSPC);
	same_space(s, &st);
	assert_int_equal(b.n_ext, 0);
	assert_int_equal(swap_slot_alloc(s, 3 * PAGE + 1, &b), -EINVAL);
	assert_int_equal(swap_slot_alloc(s, 0, &b), -EINVAL);
	same_space(s, &st);
	assert_int_equal(swap_slot_alloc(s, 2 * MiB, &b), 0); /* exactly full */
	swap_query_stats(s, &st);
	assert_int_equal(st.used_bytes, 8 * MiB);
	assert_int_equal(swap_slot_alloc(s, PAGE, &c), -ENOSPC);
	same_space(s, &st);
	swap_slot_free(s, &a);
	swap_slot_free(s, &b);

	/* Fragmented: 16 x 512 KiB, every other one freed: 4 MiB free in 512 KiB
	 * holes. 3 MiB fits in pieces and holds data; 2 MiB more does not fit. */
	for (int i = 0; i < 16; i++)
		assert_int_equal(swap_slot_alloc(s, 512 * 1024, &frag[i]), 0);
	for (int i = 0; i < 16; i += 2)
		swap_slot_free(s, &frag[i]);
	assert_int_equal(swap_slot_alloc(s, 3 * MiB, &big), 0);
	assert_int_equal(big.n_runs, 6);
	char *w = map_pool(3 * MiB), *rd = map_pool(3 * MiB);
	for (size_t i = 0; i < 3 * MiB; i += 8)
		*(uint64_t *)(w + i) = i * 0x9e3779b97f4a7c15ull;
	struct swap_iov wi = { w, 3 * MiB }, ri = { rd, 3 * MiB };
	assert_int_equal(swap_write(s, &big, &wi, 1), 0);
	assert_int_equal(swap_read(s, &big, &ri, 1), 0);
	assert_memory_equal(w, rd, 3 * MiB);
	swap_query_stats(s, &st);
	assert_int_equal(swap_slot_alloc(s, 2 * MiB, &c), -ENOSPC);
	same_space(s, &st);
	swap_slot_free(s, &big);
	for (int i = 1; i < 16; i += 2)
		swap_slot_free(s, &frag[i]);
	swap_query_stats(s, &st);
	assert_int_equal(st.used_bytes, 0);
	assert_int_equal(st.largest_free, 8 * MiB);
	swap_close(s);
	munmap(w, 3 * MiB);
	munmap(rd, 3 * MiB);

	/* A file the file system cannot hold: -ENOSPC with a reason, no file. */
	cfg = (struct swap_config){ .dir = dir, .size = 1ull << 60 };
	s = NULL;
	assert_int_equal(swap_open(&cfg, &s, err, sizeof(err)), -ENOSPC);
	assert_null(s);
	printf("1 EiB in %s: %s\n", dir, err);
	assert_non_null(strstr(err, "no space"));
	assert_int_equal(dir_entries(dir), 0);
	rmdir(dir);

	/* tmpfs counts its blocks up front: a real ENOSPC. */
	if (access("/dev/shm", W_OK) == 0) {
		cfg = (struct swap_config){ .dir = "/dev/shm", .size = 1ull << 46 };
		int ret = swap_open(&cfg, &s, err, sizeof(err));
		printf("64 TiB in /dev/shm: %d %s\n", ret, err);
		if (ret == 0)
			swap_close(s); /* an unlimited tmpfs: nothing to show */
		else
			assert_int_equal(ret, -ENOSPC);
	}
}

/* ---- SWAPSTORE-LARGE-DIO-ALIGN --------------------------------------------------------- */

/*
 * A disk whose direct-I/O alignment is coarser than the 4 KiB page (64 KiB
 * here, simulated): page-multiple sizes must still work. The store says it
 * went buffered and why, and slots of 1, 3 and 17 pages round-trip.
 */
static void test_large_dio_align(void **state)
{
	uint64_t seed = vt_seed("SWAPSTORE-LARGE-DIO-ALIGN");
	struct swap_config cfg = { .size = 8 * MiB, .test_dio_align = 64 * 1024 };
	struct swap_store *s = NULL;
	struct swap_stats st;
	struct vt_rng r;
	char dir[256], err[256] = "";

	(void)state;
	vt_rng_seed(&r, seed);
	make_dir(dir, sizeof(dir));
	cfg.dir = dir;
	assert_int_equal(swap_open(&cfg, &s, err, sizeof(err)), 0);
	swap_query_stats(s, &st);
	printf("64 KiB direct-I/O alignment: %s I/O, unit %u (%s)\n", st.io_mode, st.io_unit,
	       st.io_note);
	assert_string_equal(st.io_mode, "buffered");
	assert_int_equal(st.io_unit, PAGE);
	assert_non_null(strstr(st.io_note, "65536"));
	char *w = map_pool(32 * PAGE), *rd = map_pool(32 * PAGE);
	const unsigned pages[] = { 1, 3, 17 };
	for (unsigned i = 0; i < 3; i++) {
		struct swap_slot sl;
		struct swap_iov wi = { w, pages[i] * PAGE }, ri = { rd, pages[i] * PAGE };
		fill_random(&r, w, pages[i] * PAGE);
		assert_int_equal(swap_slot_alloc(s, pages[i] * PAGE, &sl), 0);
		assert_int_equal(swap_write(s, &sl, &wi, 1), 0);
		memset(rd, 0, pages[i] * PAGE);
		assert_int_equal(swap_read(s, &sl, &ri, 1), 0);
		assert_memory_equal(w, rd, pages[i] * PAGE);
		swap_slot_free(s, &sl);
	}
	munmap(w, 32 * PAGE);
	munmap(rd, 32 * PAGE);
	swap_close(s);
	rmdir(dir);
}

/* ---- SWAPSTORE-BUFFERED ------------------------------------------------------------ */

static void buffered_roundtrip(struct swap_store *s, struct vt_rng *r)
{
	char *w = map_pool(4 * MiB), *rd = map_pool(4 * MiB);
	roundtrip(s, r, w, rd, 1024, 16, 128);
	munmap(w, 4 * MiB);
	munmap(rd, 4 * MiB);
}

static void test_buffered(void **state)
{
	uint64_t seed = vt_seed("SWAPSTORE-BUFFERED");
	char dir[256];
	struct vt_rng r;
	struct swap_store *s;
	struct swap_stats st;

	vt_rng_seed(&r, seed);
	make_dir(dir, sizeof(dir));
	s = open_store(dir, 16 * MiB, 0, true);
	swap_query_stats(s, &st);
	assert_string_equal(st.io_mode, "buffered");
	buffered_roundtrip(s, &r);
	/* Buffered I/O takes any alignment. */
	{
		char *m = malloc(2 * PAGE + 3);
		struct swap_slot sl;
		struct swap_iov a[2] = { { m + 1, PAGE + 7 }, { m + PAGE + 9, PAGE - 7 } };
		struct swap_iov b = { m + 3, 2 * PAGE };
		for (int i = 0; i < 2 * (int)PAGE + 3; i++)
			m[i] = (char)(i * 7);
		assert_int_equal(swap_slot_alloc(s, 2 * PAGE, &sl), 0);
		assert_int_equal(swap_write(s, &sl, a, 2), 0);
		assert_int_equal(swap_read(s, &sl, &b, 1), 0); /* different layout, same bytes */
		assert_int_equal(swap_read(s, &sl, a, 2), 0);
		swap_slot_free(s, &sl);
		free(m);
	}
	print_stats("forced buffered", s);
	swap_close(s);
	rmdir(dir);

	/* tmpfs: older kernels refuse O_DIRECT there; the store must find out by
	 * itself and work either way. */
	if (access("/dev/shm", W_OK) == 0) {
		char sdir[] = "/dev/shm/vidmm-swaptest-XXXXXX";
		assert_non_null(mkdtemp(sdir));
		s = open_store(sdir, 16 * MiB, 0, false);
		swap_query_stats(s, &st);
		printf("tmpfs (/dev/shm) chose %s I/O\n", st.io_mode);
		buffered_roundtrip(s, &r);
		print_stats("tmpfs", s);
		swap_close(s);
		assert_int_equal(dir_entries(sdir), 0);
		rmdir(sdir);
	}
}

/* ---- SWAPSTORE-MEMLOCK -------------------------------------------------------------- */

#define CHILD_CHECK(c) do { if (!(c)) { fprintf(stderr, "child: %s:%d: %s\n", \
	__FILE__, __LINE__, #c); _exit(1); } } while (0)

/* In the child: write+read one slot from inside the region. */
static void child_roundtrip(struct swap_store *s, char *region, size_t len)
{
	struct swap_slot sl;
	size_t n = len < 2 * MiB ? len / 2 : MiB;
	struct swap_iov w = { region, n }, rd = { region + n, n };

	for (size_t i = 0; i < n; i++)
		region[i] = (char)(i * 13 + 1);
	memset(region + n, 0, n);
	CHILD_CHECK(swap_slot_alloc(s, n, &sl) == 0);
	CHILD_CHECK(swap_write(s, &sl, &w, 1) == 0);
	CHILD_CHECK(swap_read(s, &sl, &rd, 1) == 0);
	CHILD_CHECK(memcmp(region, region + n, n) == 0);
	swap_slot_free(s, &sl);
}

static void test_memlock(void **state)
{
	char dir[256];
	pid_t pid;
	int status;

	make_dir(dir, sizeof(dir));
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { 8 * MiB, 8 * MiB };
		struct swap_config cfg = { .dir = dir, .size = 16 * MiB };
		struct swap_store *s;
		struct swap_stats st;
		char err[256];
		size_t big = 64 * MiB, small = 4 * MiB;
		char *rb, *rs;

		CHILD_CHECK(setrlimit(RLIMIT_MEMLOCK, &rl) == 0);
		CHILD_CHECK(swap_open(&cfg, &s, err, sizeof(err)) == 0);
		rb = mmap(NULL, big, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		CHILD_CHECK(rb != MAP_FAILED);
		/* 64 MiB > 8 MiB: never registered, plain buffers, still works. */
		CHILD_CHECK(swap_register_region(s, rb, big) == 0);
		child_roundtrip(s, rb, big);
		swap_query_stats(s, &st);
		printf("64 MiB region: buffers=%s (%s) fixed=%" PRIu64 "\n", st.buffer_mode,
		       st.buffer_note, st.fixed_ios);
		CHILD_CHECK(!strcmp(st.buffer_mode, "plain"));
		CHILD_CHECK(strstr(st.buffer_note, "RLIMIT_MEMLOCK") != NULL);
		CHILD_CHECK(st.fixed_ios == 0);
		/* 4 MiB <= 8 MiB: registered, I/O through fixed buffers. */
		rs = rb + 8 * MiB;
		CHILD_CHECK(swap_register_region(s, rs, small) == 0);
		child_roundtrip(s, rs, small);
		swap_query_stats(s, &st);
		printf("4 MiB region: buffers=%s (%s) fixed=%" PRIu64 "\n", st.buffer_mode,
		       st.buffer_note, st.fixed_ios);
		fflush(stdout);
		CHILD_CHECK(!strcmp(st.buffer_mode, "registered"));
		CHILD_CHECK(st.rings_registered == 1);
		CHILD_CHECK(st.fixed_ios >= 2);
		swap_close(s);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(dir_entries(dir), 0);
	rmdir(dir);
}

/* ---- SWAPSTORE-NO-LEFTOVER ------------------------------------------------------------ */

static void killed_child_leaves_nothing(bool no_tmpfile)
{
	char dir[256], c;
	int pfd[2], status;
	pid_t pid;

	make_dir(dir, sizeof(dir));
	assert_int_equal(pipe(pfd), 0);
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct swap_config cfg = { .dir = dir, .size = 16 * MiB,
					   .no_tmpfile = no_tmpfile };
		struct swap_store *s;
		struct swap_slot sl;
		struct swap_stats st;
		char err[256], *buf;
		struct swap_iov v;

		close(pfd[0]);
		CHILD_CHECK(swap_open(&cfg, &s, err, sizeof(err)) == 0);
		swap_query_stats(s, &st);
		CHILD_CHECK(!strcmp(st.file_kind, no_tmpfile ? "mkstemp" : "tmpfile"));
		CHILD_CHECK(posix_memalign((void **)&buf, PAGE, MiB) == 0);
		memset(buf, 0x5a, MiB);
		v = (struct swap_iov){ buf, MiB };
		CHILD_CHECK(swap_slot_alloc(s, MiB, &sl) == 0);
		CHILD_CHECK(swap_write(s, &sl, &v, 1) == 0);
		CHILD_CHECK(write(pfd[1], "x", 1) == 1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	/* While it runs the file has no name either. */
	assert_int_equal(dir_entries(dir), 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	close(pfd[0]);
	assert_int_equal(dir_entries(dir), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_no_leftover(void **state)
{
	killed_child_leaves_nothing(false);
	killed_child_leaves_nothing(true); /* the mkstemp fallback */
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("SWAPSTORE-ROUNDTRIP", test_roundtrip),
		VT_CASE("SWAPSTORE-CHECKSUM", test_checksum),
		VT_CASE("SWAPSTORE-READ-EACH", test_read_each),
		VT_CASE("SWAPSTORE-READ-STREAM", test_read_stream),
		VT_CASE("SWAPSTORE-SHORT-IO", test_short_io),
		VT_CASE("SWAPSTORE-ENOSPC", test_enospc),
		VT_CASE("SWAPSTORE-BUFFERED", test_buffered),
		VT_CASE("SWAPSTORE-LARGE-DIO-ALIGN", test_large_dio_align),
		VT_CASE("SWAPSTORE-MEMLOCK", test_memlock),
		VT_CASE("SWAPSTORE-NO-LEFTOVER", test_no_leftover),
	};
	return VT_MAIN("swapstore", cases);
}
