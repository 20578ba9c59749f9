/* SPDX-License-Identifier: MIT */
/*
 * swap.c - the swap store (see swap.h for the contract and the locking).
 *
 * Owns: the private file, its slot allocator (a heap in io_unit blocks, as
 * sysmem.c does for frames), the per-thread io_uring rings, the registered
 * region and the per-extent checksums. Must not: know about allocations,
 * segments or the manager's lock; it never calls back into the manager.
 *
 * The I/O path: every swap_{write,read}[_many] call runs one pipeline on the
 * calling thread's ring. The requests' extents are opened in order; each
 * extent becomes one I/O (READV/WRITEV over the caller's pieces) or, for
 * pieces inside the registered region, one READ/WRITE_FIXED per piece. Up to
 * the queue depth are kept in flight. Extents that follow each other in the
 * file (the next extent of the slot, or the next request's slot: the
 * allocator hands out space in address order) join one vectored I/O up to
 * SWAP_MERGE_MAX (swap.h says why not SWAP_IO_MAX), so a batch of small
 * allocations makes I/Os larger than one, and still many of them;
 * checksums stay per extent. New work is prepared in a batch and
 * submitted with one io_uring_submit. Completions are checked one by one:
 * short ones are resubmitted for the remainder, errors fail their request
 * only. Write checksums are computed before an extent's I/O is prepared (and
 * what is already prepared is submitted first, so the disk is not idle while
 * we hash); read checksums are verified after the next batch is submitted, so
 * hashing overlaps the I/O that follows it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>
#include <liburing.h>
#include <xxhash.h>

#include "heap.h"
#include "swap.h"
#include "lockstat.h"
#include "probes.h"

#ifndef STATX_DIOALIGN
#define STATX_DIOALIGN 0x00002000U
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif

/* The kernel's struct statx, declared here because Debian 12's glibc struct
 * lacks the DIO alignment fields (offsets from linux/stat.h). */
struct swap_statx {
	uint32_t mask;
	uint32_t blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, spare0;
	uint64_t ino, size, blocks, attributes_mask;
	uint64_t ts[8];           /* atime, btime, ctime, mtime: 16 bytes each */
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t mnt_id;
	uint32_t dio_mem_align;   /* offset 0x98 */
	uint32_t dio_offset_align;
	uint64_t spare3[12];
};
_Static_assert(sizeof(struct swap_statx) == 0x100, "struct statx layout");

/* Registration pins every page; above this we never register, whatever the
 * limit says (a sparse multi-GiB pool with an unlimited memlock). Also the
 * kernel's limit for one registered buffer. */
#define REG_MAX (1ull << 30)
#define EXT_IOV_MAX 1024u  /* IOV_MAX */

enum { DIR_READ = 0, DIR_WRITE = 1 };

struct ring_stats {
	uint64_t bytes[2], ios[2];
	uint64_t fixed, shorts, errors;
	uint32_t qd_reached;
	uint32_t qd_reached_dir[2]; /* the same, for reads and for writes */
	struct vidmm_hist lat[2];
};

/* One extent of one request, while its I/O is in flight. */
struct xt {
	struct swap_req *req;
	struct swap_extent *ext;
	struct iovec *pieces;   /* the caller memory of this extent, in order */
	unsigned np, cap;
	unsigned next_piece;    /* first piece not yet given to an op */
	uint64_t issued;        /* bytes of the extent given to ops */
	unsigned outstanding;   /* ops not yet completed */
	bool failed;
	bool hashed;            /* write: ext->sum computed */
	struct xt *next;        /* free list / verify list */
	struct xt *all;         /* every xt of the ring, for freeing */
};

/* One submission (and its resubmissions after short completions). */
struct op {
	struct xt **xv;         /* the extents it covers (several when merged) */
	unsigned nxv, xv_cap;
	struct iovec *full;     /* all its caller memory, in file order */
	unsigned nfull, full_cap;
	uint64_t off;           /* file offset of full[0] */
	uint64_t len, done;
	int inject_err;         /* < 0: complete with this instead of doing I/O */
	bool inject_short;      /* the next submission moves only part */
	bool fixed;
	uint16_t buf_index;
	unsigned retries;
	uint64_t t0;
	struct iovec *iov;      /* what the current submission covers */
	unsigned iov_cap;
	unsigned next_free;
};

struct swap_ring {
	struct swap_store *s;
	struct swap_ring *next;     /* store->rings */
	struct io_uring ring;
	uint32_t flags;
	bool dead;                  /* the ring failed in a way we could not recover */
	/* region as this ring knows it */
	unsigned reg_gen;
	bool registered;
	uintptr_t reg_base;
	size_t reg_len;
	/* pipeline state, owned by the ring's thread */
	struct op *ops;
	unsigned op_free;           /* index + 1; 0: none */
	struct xt *xt_all, *xt_free;
	unsigned *stamp;            /* ops prepared since the last submit */
	unsigned nstamp;
	XXH3_state_t *xx;
	/* counters: written by the ring's thread, read by swap_query_stats */
	pthread_mutex_t stats_lock;
	struct ring_stats st;
};

struct swap_store {
	const struct tracer *tracer;
	int fd;
	bool direct;
	bool tmpfile;
	uint32_t mem_align, offset_align, unit;
	uint32_t qd;
	uint64_t size;
	pthread_key_t key;

	pthread_mutex_t lock;       /* the fields below up to the atomics; taken
				     * through store_lock (lockstat.h) */
	struct lockstat lockstat;   /* of lock */
	struct heap *heap;          /* free file space, in units */
	uint64_t used, slots;
	struct swap_ring *rings;
	uint32_t nrings, rings_registered;
	struct ring_stats retired;  /* counters of rings whose threads exited */
	void *reg_base;
	size_t reg_len;
	bool reg_ok;                /* region small enough to register */
	char reg_note[96];
	char io_note[96];           /* why buffered, when direct was wanted */

	atomic_uint reg_gen;
	atomic_uint flag_step;      /* first setup-flags step worth trying */
	atomic_uint ring_flags;
	atomic_uint inj_n[2];
	atomic_int inj_err[2];
	/* Random faults: probabilities in 2^-32 units of an error (inj_p,
	 * with inj_perr) and of a short completion (inj_ps), drawn from a
	 * seeded counter stream (swap_inject_random). */
	atomic_uint inj_p[2], inj_ps[2];
	atomic_int inj_perr[2];
	atomic_uint inj_full, inj_corrupt; /* slot allocation refused; data flipped on disk */
	atomic_uint_fast64_t inj_ctr;
	uint64_t inj_seed;
	atomic_uint_fast64_t csum_fail;
	atomic_uint_fast64_t injected;
	atomic_uint_fast64_t injected_by[5]; /* write errors, read errors, short I/Os, full, corrupt */
};

static inline void store_lock(struct swap_store *s)
{
	lockstat_lock(&s->lock, &s->lockstat);
}

static inline void store_unlock(struct swap_store *s)
{
	lockstat_unlock(&s->lock, &s->lockstat);
}

static const uint32_t flag_steps[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN,
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
	IORING_SETUP_COOP_TASKRUN,
	0,
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void set_err(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

const char *swap_ring_flags_str(uint32_t flags, char *buf, size_t len)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER" },
		{ IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN" },
		{ IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN" },
	};
	size_t at = 0;

	if (!len)
		return buf;
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].bit))
			continue;
		int w = snprintf(buf + at, len - at, "%s%s", at ? "|" : "", names[i].name);
		if (w < 0 || (size_t)w >= len - at)
			break;
		at += (size_t)w;
	}
	if (!at)
		snprintf(buf, len, "none");
	return buf;
}

/* ---- open / close ------------------------------------------------------------ */

/* The direct-I/O alignment of fd: statx(STATX_DIOALIGN), else the logical
 * block size of the device under it, else 512. Returns false when statx says
 * the file system does no direct I/O at all. */
static bool dio_alignment(int fd, uint32_t *mem, uint32_t *off)
{
	struct swap_statx sx;
	struct stat st;

	memset(&sx, 0, sizeof(sx));
	if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
	    (sx.mask & STATX_DIOALIGN)) {
		if (!sx.dio_offset_align)
			return false;
		*mem = sx.dio_mem_align ? sx.dio_mem_align : sx.dio_offset_align;
		*off = sx.dio_offset_align;
		return true;
	}
	*mem = *off = 512;
	if (fstat(fd, &st) == 0) {
		char dev[64];
		int bfd, ssz;
		snprintf(dev, sizeof(dev), "/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
		bfd = open(dev, O_RDONLY | O_CLOEXEC);
		if (bfd >= 0) {
			if (ioctl(bfd, BLKSSZGET, &ssz) == 0 && ssz >= 512 && !(ssz & (ssz - 1)))
				*mem = *off = (uint32_t)ssz;
			close(bfd);
		}
	}
	return true;
}

/* One aligned write and read at offset 0: some file systems accept O_DIRECT
 * at open and refuse it (EINVAL) on the first I/O. */
static int probe_direct(int fd, uint32_t unit)
{
	void *buf;
	int ret = 0;

	if (posix_memalign(&buf, unit, unit))
		return -ENOMEM;
	memset(buf, 0, unit);
	if (pwrite(fd, buf, unit, 0) != (ssize_t)unit)
		ret = -errno;
	else if (pread(fd, buf, unit, 0) != (ssize_t)unit)
		ret = -errno;
	free(buf);
	return ret;
}

static void ring_thread_exit(void *arg);

int swap_open(const struct swap_config *cfg, struct swap_store **out,
	      char *err, size_t err_len)
{
	const char *dir;
	struct swap_store *s;
	int fd = -1, ret, oflags;
	bool want_direct, tmpfile = false;
	uint32_t mem = 1, off = 1, unit;
	uint64_t size;

	*out = NULL;
	if (!cfg || !cfg->size || cfg->queue_depth > SWAP_MAX_QD) {
		set_err(err, err_len, "swap: bad configuration (size 0 or queue depth > %u)",
			SWAP_MAX_QD);
		return -EINVAL;
	}
	dir = cfg->dir;
	if (!dir || !*dir)
		dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	want_direct = !cfg->force_buffered;
	oflags = O_RDWR | O_CLOEXEC;

	if (!cfg->no_tmpfile) {
		fd = open(dir, O_TMPFILE | oflags | (want_direct ? O_DIRECT : 0), 0600);
		if (fd < 0 && errno == EINVAL && want_direct) {
			/* EINVAL here means O_DIRECT or O_TMPFILE is refused; try
			 * without O_DIRECT to tell which. */
			fd = open(dir, O_TMPFILE | oflags, 0600);
			if (fd >= 0)
				want_direct = false;
		}
		if (fd >= 0) {
			tmpfile = true;
		} else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
			ret = -errno;
			set_err(err, err_len, "swap: cannot create a file in %s: %s", dir,
				strerror(errno));
			return ret;
		}
	}
	if (fd < 0) {
		/* No O_TMPFILE here: a 0600 file whose name is gone before we
		 * write a byte, so nobody can open it and a crash leaves nothing. */
		char path[PATH_MAX];
		if (snprintf(path, sizeof(path), "%s/vidmm-swap-XXXXXX", dir) >= (int)sizeof(path)) {
			set_err(err, err_len, "swap: directory name too long");
			return -ENAMETOOLONG;
		}
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			set_err(err, err_len, "swap: cannot create a file in %s: %s", dir,
				strerror(errno));
			return ret;
		}
		unlink(path);
		fchmod(fd, 0600);
		if (want_direct && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_DIRECT) < 0)
			want_direct = false;
	}

	char io_note[96] = "";
	if (want_direct && !dio_alignment(fd, &mem, &off)) {
		want_direct = false;
		snprintf(io_note, sizeof(io_note), "no direct-I/O alignment reported");
	}
	if (want_direct && cfg->test_dio_align)
		mem = off = cfg->test_dio_align;
	/* Callers' buffers are page frames and their lengths page multiples
	 * (swap.h): direct I/O with a coarser alignment could not take them.
	 * Buffered I/O takes any; say why it is used. */
	if (want_direct && (off > 4096 || mem > 4096)) {
		snprintf(io_note, sizeof(io_note),
			 "direct-I/O alignment %u (memory %u) is coarser than the 4096-byte page",
			 off, mem);
		want_direct = false;
	}
	if (!want_direct) {
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_DIRECT);
		mem = off = 1;
	}
	unit = 4096;
	size = (cfg->size + unit - 1) / unit * unit;

	if (fallocate(fd, 0, 0, (off_t)size) < 0) {
		if (errno == ENOSPC || errno == EFBIG) {
			/* EFBIG (beyond the largest file) is the same answer:
			 * this file system cannot hold that much swap. */
			ret = -ENOSPC;
			set_err(err, err_len,
				"swap: no space for a %llu-byte swap file in %s (fallocate: %s)",
				(unsigned long long)size, dir, strerror(errno));
			close(fd);
			return ret;
		}
		/* No fallocate on this file system: a sparse file still works,
		 * but running out of space then shows as -ENOSPC on a write. */
		if (ftruncate(fd, (off_t)size) < 0) {
			ret = -errno;
			set_err(err, err_len, "swap: cannot size the swap file in %s: %s", dir,
				strerror(errno));
			close(fd);
			return ret;
		}
	}

	if (want_direct) {
		ret = probe_direct(fd, unit);
		if (ret == -EINVAL) {
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_DIRECT);
			want_direct = false;
			mem = off = 1;
			snprintf(io_note, sizeof(io_note), "the file system refused an aligned direct I/O");
		} else if (ret) {
			set_err(err, err_len, "swap: first I/O on the swap file in %s failed: %s",
				dir, strerror(-ret));
			close(fd);
			return ret;
		}
	}

	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		set_err(err, err_len, "swap: out of memory");
		return -ENOMEM;
	}
	s->fd = fd;
	s->tracer = cfg->tracer;
	s->direct = want_direct;
	snprintf(s->io_note, sizeof(s->io_note), "%s", io_note);
	s->tmpfile = tmpfile;
	s->mem_align = mem;
	s->offset_align = off;
	s->unit = unit;
	s->qd = cfg->queue_depth ? cfg->queue_depth : SWAP_DEFAULT_QD;
	s->size = size;
	snprintf(s->reg_note, sizeof(s->reg_note), "no region registered");
	vidmm_hist_init(&s->retired.lat[0]);
	vidmm_hist_init(&s->retired.lat[1]);
	ret = heap_create(0, size / unit, &s->heap);
	if (!ret && pthread_mutex_init(&s->lock, NULL))
		ret = -ENOMEM;
	lockstat_init(&s->lockstat, "swap store", LOCK_RANK_SWAP_STORE);
	if (!ret && pthread_key_create(&s->key, ring_thread_exit)) {
		pthread_mutex_destroy(&s->lock);
		ret = -EAGAIN;
	}
	if (ret) {
		if (s->heap)
			heap_destroy(s->heap);
		free(s);
		close(fd);
		set_err(err, err_len, "swap: cannot set up the store: %s", strerror(-ret));
		return ret;
	}
	*out = s;
	return 0;
}

static void ring_free(struct swap_ring *r)
{
	/* Unregister first: the kernel returns the locked-memory charge of
	 * registered buffers only when the ring is finally torn down, which
	 * queue_exit may defer; a store opened right after would be refused. */
	if (r->registered)
		io_uring_unregister_buffers(&r->ring);
	io_uring_queue_exit(&r->ring);
	if (r->ops) {
		for (unsigned i = 0; i < r->s->qd; i++) {
			free(r->ops[i].iov);
			free(r->ops[i].xv);
			free(r->ops[i].full);
		}
	}
	while (r->xt_all) {
		struct xt *x = r->xt_all;
		r->xt_all = x->all;
		free(x->pieces);
		free(x);
	}
	free(r->ops);
	free(r->stamp);
	if (r->xx)
		XXH3_freeState(r->xx);
	pthread_mutex_destroy(&r->stats_lock);
	free(r);
}

static void stats_add(struct ring_stats *into, const struct ring_stats *from)
{
	for (int d = 0; d < 2; d++) {
		into->bytes[d] += from->bytes[d];
		into->ios[d] += from->ios[d];
		vidmm_hist_merge(&into->lat[d], &from->lat[d]);
	}
	into->fixed += from->fixed;
	into->shorts += from->shorts;
	into->errors += from->errors;
	if (from->qd_reached > into->qd_reached)
		into->qd_reached = from->qd_reached;
	for (int d = 0; d < 2; d++)
		if (from->qd_reached_dir[d] > into->qd_reached_dir[d])
			into->qd_reached_dir[d] = from->qd_reached_dir[d];
}

/* A thread that did swap I/O exits: fold its counters into the store and free
 * its ring. */
static void ring_thread_exit(void *arg)
{
	struct swap_ring *r = arg, **pp;
	struct swap_store *s = r->s;

	store_lock(s);
	for (pp = &s->rings; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	s->nrings--;
	if (r->registered)
		s->rings_registered--;
	pthread_mutex_lock(&r->stats_lock);
	stats_add(&s->retired, &r->st);
	pthread_mutex_unlock(&r->stats_lock);
	store_unlock(s);
	ring_free(r);
}

void swap_close(struct swap_store *s)
{
	if (!s)
		return;
	/* After this no thread-exit destructor runs for this store: the rings
	 * of threads still alive are ours to free. */
	pthread_key_delete(s->key);
	while (s->rings) {
		struct swap_ring *r = s->rings;
		s->rings = r->next;
		ring_free(r);
	}
	heap_destroy(s->heap);
	pthread_mutex_destroy(&s->lock);
	close(s->fd);
	free(s);
}

uint32_t swap_io_unit(const struct swap_store *s)
{
	return s->unit;
}

int swap_test_fd(const struct swap_store *s)
{
	return s->fd;
}

void swap_test_with_lock(struct swap_store *s, void (*fn)(void *arg), void *arg)
{
	store_lock(s);
	fn(arg);
	store_unlock(s);
}

void swap_lock_stats(struct swap_store *s, struct vidmm_lock_stats *out)
{
	store_lock(s);
	lockstat_copy(&s->lockstat, out);
	store_unlock(s);
}

void swap_inject_error(struct swap_store *s, bool on_write, int err, unsigned n)
{
	int d = on_write ? DIR_WRITE : DIR_READ;
	if (err > 0)
		err = -err;
	atomic_store(&s->inj_n[d], 0);
	atomic_store(&s->inj_err[d], err);
	atomic_store(&s->inj_n[d], n);
}

void swap_inject_random(struct swap_store *s, bool on_write, int err, double p, uint64_t seed)
{
	int d = on_write ? DIR_WRITE : DIR_READ;
	unsigned q = p >= 1.0 ? UINT32_MAX : p > 0.0 ? (unsigned)(p * 4294967296.0) : 0;
	if (err > 0)
		err = -err;
	s->inj_seed = seed;
	if (!err) {
		atomic_store(&s->inj_ps[d], q);
		return;
	}
	atomic_store(&s->inj_p[d], 0);
	atomic_store(&s->inj_perr[d], err);
	atomic_store(&s->inj_p[d], q);
}

void swap_inject_full_corrupt(struct swap_store *s, bool corrupt, double p, uint64_t seed)
{
	unsigned q = p >= 1.0 ? UINT32_MAX : p > 0.0 ? (unsigned)(p * 4294967296.0) : 0;
	s->inj_seed = seed;
	atomic_store(corrupt ? &s->inj_corrupt : &s->inj_full, q);
}

/* One draw of the random fault stream: below p (2^-32 units)? */
static bool inject_draw(struct swap_store *s, unsigned p)
{
	uint64_t z = s->inj_seed + 0x9e3779b97f4a7c15ull * (atomic_fetch_add(&s->inj_ctr, 1) + 1);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) >> 32) < p;
}

/* Take one injected fault for direction d: 1 and *err set, or 0. */
static int inject_take(struct swap_store *s, int d, int *err)
{
	unsigned n = atomic_load_explicit(&s->inj_n[d], memory_order_relaxed);
	while (n) {
		if (atomic_compare_exchange_weak(&s->inj_n[d], &n, n - 1)) {
			*err = atomic_load(&s->inj_err[d]);
			return 1;
		}
	}
	unsigned p = atomic_load_explicit(&s->inj_p[d], memory_order_relaxed);
	if (p && inject_draw(s, p)) {
		*err = atomic_load(&s->inj_perr[d]);
		return 1;
	}
	p = atomic_load_explicit(&s->inj_ps[d], memory_order_relaxed);
	if (p && inject_draw(s, p)) {
		*err = 0;
		return 1;
	}
	return 0;
}

/* ---- registered region -------------------------------------------------------- */

int swap_register_region(struct swap_store *s, void *base, size_t len)
{
	struct rlimit rl;

	if ((base == NULL) != (len == 0))
		return -EINVAL;
	store_lock(s);
	s->reg_base = base;
	s->reg_len = len;
	s->reg_ok = false;
	if (!len) {
		snprintf(s->reg_note, sizeof(s->reg_note), "no region registered");
	} else if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0) {
		snprintf(s->reg_note, sizeof(s->reg_note), "getrlimit(RLIMIT_MEMLOCK): %s",
			 strerror(errno));
	} else if (rl.rlim_cur != RLIM_INFINITY && len > rl.rlim_cur) {
		snprintf(s->reg_note, sizeof(s->reg_note),
			 "region %zu KiB > RLIMIT_MEMLOCK %llu KiB", len >> 10,
			 (unsigned long long)rl.rlim_cur >> 10);
	} else if (len > REG_MAX) {
		snprintf(s->reg_note, sizeof(s->reg_note),
			 "region %zu MiB > %llu MiB: never pinned whole", len >> 20, REG_MAX >> 20);
	} else {
		s->reg_ok = true;
		s->reg_note[0] = 0;
	}
	atomic_fetch_add(&s->reg_gen, 1);
	store_unlock(s);
	return 0;
}

/* Bring the ring's registration in line with the store's region (in the
 * ring's own thread: a SINGLE_ISSUER ring takes registrations only there). */
static void ring_sync_region(struct swap_ring *r)
{
	struct swap_store *s = r->s;
	void *base;
	size_t len;
	bool ok;
	unsigned gen;
	int ret = 0;

	store_lock(s);
	gen = atomic_load(&s->reg_gen);
	base = s->reg_base;
	len = s->reg_len;
	ok = s->reg_ok;
	store_unlock(s);

	if (r->registered) {
		io_uring_unregister_buffers(&r->ring);
		r->registered = false;
		store_lock(s);
		s->rings_registered--;
		store_unlock(s);
	}
	if (ok) {
		struct iovec iov = { .iov_base = base, .iov_len = len };
		ret = io_uring_register_buffers(&r->ring, &iov, 1);
		store_lock(s);
		if (ret == 0) {
			s->rings_registered++;
		} else {
			/* ENOMEM: over the lock limit (other rings hold part of
			 * it), EPERM, EOPNOTSUPP for memory io_uring cannot pin.
			 * Plain buffers work the same, only a bit slower. */
			snprintf(s->reg_note, sizeof(s->reg_note),
				 "io_uring_register_buffers: %s", strerror(-ret));
		}
		store_unlock(s);
		if (ret == 0) {
			r->registered = true;
			r->reg_base = (uintptr_t)base;
			r->reg_len = len;
		}
	}
	r->reg_gen = gen;
}

/* ---- rings ---------------------------------------------------------------------- */

static struct swap_ring *ring_create(struct swap_store *s)
{
	struct swap_ring *r = calloc(1, sizeof(*r));
	unsigned step;
	int ret = -EINVAL;

	if (!r)
		return NULL;
	r->s = s;
	if (pthread_mutex_init(&r->stats_lock, NULL)) {
		free(r);
		return NULL;
	}
	vidmm_hist_init(&r->st.lat[0]);
	vidmm_hist_init(&r->st.lat[1]);
	for (step = atomic_load(&s->flag_step); step < 4; step++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = flag_steps[step];
		ret = io_uring_queue_init_params(s->qd, &r->ring, &p);
		if (ret != -EINVAL)
			break;
	}
	if (ret) {
		pthread_mutex_destroy(&r->stats_lock);
		free(r);
		errno = -ret;
		return NULL;
	}
	/* Later rings start at the step that worked: no repeated EINVALs. */
	atomic_store(&s->flag_step, step);
	r->flags = flag_steps[step];
	atomic_store(&s->ring_flags, r->flags);

	r->ops = calloc(s->qd, sizeof(*r->ops));
	r->stamp = calloc(s->qd, sizeof(*r->stamp));
	r->xx = XXH3_createState();
	if (!r->ops || !r->stamp || !r->xx) {
		ring_free(r);
		errno = ENOMEM;
		return NULL;
	}
	for (unsigned i = 0; i < s->qd; i++)
		r->ops[i].next_free = i + 2 <= s->qd ? i + 2 : 0;
	r->op_free = 1;

	store_lock(s);
	r->next = s->rings;
	s->rings = r;
	s->nrings++;
	store_unlock(s);
	pthread_setspecific(s->key, r);
	return r;
}

static int ring_get(struct swap_store *s, struct swap_ring **out)
{
	struct swap_ring *r = pthread_getspecific(s->key);

	if (r && r->dead) {
		/* Left with I/O we could not reap: never reuse it (its memory
		 * stays with the store until close). */
		pthread_setspecific(s->key, NULL);
		r = NULL;
	}
	if (!r) {
		r = ring_create(s);
		if (!r)
			return errno ? -errno : -ENOMEM;
	}
	if (r->reg_gen != atomic_load(&s->reg_gen))
		ring_sync_region(r);
	*out = r;
	return 0;
}

/* ---- slots ------------------------------------------------------------------------ */

int swap_slot_alloc(struct swap_store *s, uint64_t bytes, struct swap_slot *out)
{
	uint64_t units = bytes / s->unit, left;
	struct heap_node *runs = NULL, n;
	uint32_t nruns = 0, cap = 0, next = 0;
	struct swap_extent *ext;
	struct heap_stats hs;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!bytes || bytes % s->unit)
		return -EINVAL;
	unsigned pf = atomic_load_explicit(&s->inj_full, memory_order_relaxed);
	if (pf && inject_draw(s, pf)) {
		atomic_fetch_add(&s->injected, 1);
		atomic_fetch_add(&s->injected_by[3], 1);
		return -ENOSPC;
	}

	store_lock(s);
	heap_query(s->heap, &hs);
	if (hs.free < units) {
		store_unlock(s);
		return -ENOSPC;
	}
	/* One contiguous run if a hole fits (one or a few large I/Os), else the
	 * largest holes first: each step takes a whole hole, so this loops at
	 * most once per hole. */
	left = units;
	while (left) {
		uint64_t take = heap_largest_free(s->heap);
		if (take > left)
			take = left;
		if (!take) {
			ret = -ENOSPC;
			break;
		}
		ret = heap_alloc(s->heap, &n, take, 0, 0, UINT64_MAX, HEAP_BEST_FIT);
		if (ret)
			break;
		if (nruns == cap) {
			uint32_t ncap = cap ? cap * 2 : 1;
			struct heap_node *nr = realloc(runs, ncap * sizeof(*nr));
			if (!nr) {
				heap_free(s->heap, &n);
				ret = -ENOMEM;
				break;
			}
			runs = nr;
			cap = ncap;
		}
		runs[nruns++] = n;
		left -= take;
	}
	if (!ret) {
		s->used += bytes;
		s->slots++;
	} else {
		for (uint32_t i = 0; i < nruns; i++)
			heap_free(s->heap, &runs[i]);
	}
	store_unlock(s);
	if (ret) {
		free(runs);
		return ret;
	}

	for (uint32_t i = 0; i < nruns; i++)
		next += (uint32_t)((runs[i].size * s->unit + SWAP_EXTENT_MAX - 1) / SWAP_EXTENT_MAX);
	ext = malloc(next * sizeof(*ext));
	if (!ext) {
		struct swap_slot tmp = { .bytes = bytes, .n_runs = nruns, .runs = runs };
		swap_slot_free(s, &tmp);
		return -ENOMEM;
	}
	out->bytes = bytes;
	out->n_runs = nruns;
	out->runs = runs;
	out->ext = ext;
	for (uint32_t i = 0; i < nruns; i++) {
		uint64_t off = runs[i].start * s->unit, end = off + runs[i].size * s->unit;
		while (off < end) {
			uint64_t l = end - off < SWAP_EXTENT_MAX ? end - off : SWAP_EXTENT_MAX;
			ext[out->n_ext++] = (struct swap_extent){ .off = off, .len = l };
			off += l;
		}
	}
	return 0;
}

void swap_slot_free(struct swap_store *s, struct swap_slot *slot)
{
	struct heap_node *runs = slot->runs;

	if (!runs) {
		free(slot->ext);
		memset(slot, 0, sizeof(*slot));
		return;
	}
	store_lock(s);
	for (uint32_t i = 0; i < slot->n_runs; i++) {
		/* heap_free fails only when the heap cannot get a hole
		 * descriptor (out of memory): that space is then lost, never
		 * handed out twice. */
		heap_free(s->heap, &runs[i]);
	}
	s->used -= slot->bytes;
	s->slots--;
	store_unlock(s);
	free(runs);
	free(slot->ext);
	memset(slot, 0, sizeof(*slot));
}

/* ---- the I/O pipeline -------------------------------------------------------------- */

/* One caller's array of requests in the pipe (a stream has up to two: the
 * one being opened and the one before it, whose last I/Os are in flight). */
struct batch {
	struct swap_req *reqs;
	unsigned n;
	unsigned handed;          /* requests handed back to done so far */
	void *arg;                /* done's */
};

struct pipe {
	struct swap_ring *r;
	struct swap_store *s;
	int dir;
	struct batch b;           /* the batch being opened */
	struct batch prev;        /* a stream's batch before it, not all handed back */
	bool has_prev;
	bool more_blocked;        /* a stream's next batch waits for prev */
	unsigned ri, ei;          /* next request of b / extent to open */
	unsigned ci;              /* position in b.reqs[ri].iov */
	size_t coff;
	struct xt *cur;           /* extent partly given to ops */
	struct xt *verify;        /* read extents complete, checksum pending */
	unsigned inflight;        /* ops prepared or submitted, not completed */
	int ring_err;             /* the ring itself failed */
	int first_err;            /* of the requests handed back so far */
	const struct swap_stream *st; /* NULL: one batch, results at the end */
};

static bool in_region(const struct swap_ring *r, const struct iovec *v)
{
	uintptr_t b = (uintptr_t)v->iov_base;
	return r->registered && b >= r->reg_base && v->iov_len <= r->reg_len &&
	       b - r->reg_base <= r->reg_len - v->iov_len;
}

static void req_fail(struct swap_req *q, int err)
{
	if (!q->result)
		q->result = err;
}

static int validate(struct swap_store *s, struct swap_req *q, int dir)
{
	uint64_t total = 0;

	if (!q->slot || !q->slot->ext || (!q->iov && q->niov))
		return -EINVAL;
	if (dir == DIR_READ && !q->slot->valid)
		return -ENODATA;
	for (unsigned i = 0; i < q->niov; i++) {
		if (((uintptr_t)q->iov[i].base & (s->mem_align - 1)) ||
		    (q->iov[i].len & (s->offset_align - 1)))
			return -EINVAL;
		total += q->iov[i].len;
	}
	return total == q->slot->bytes ? 0 : -EINVAL;
}

static bool next_batch(struct pipe *p);

/* Move p->ri past requests with nothing left to open (failed, or every
 * extent opened). open_extent starts with it, and the hand-back calls it
 * first so those requests can be handed back before the next open. */
static void skip_finished(struct pipe *p)
{
	while (p->ri < p->b.n) {
		const struct swap_req *q = &p->b.reqs[p->ri];

		if (!q->result && p->ei < q->slot->n_ext)
			return;
		p->ri++;
		p->ei = 0;
		p->ci = 0;
		p->coff = 0;
	}
}

/* Open the next extent: its caller pieces (adjacent runs merged); a write's
 * checksum is computed when it is issued. NULL when no request has extents
 * left. */
static struct xt *open_extent(struct pipe *p)
{
	struct swap_ring *r = p->r;
	struct swap_req *q;
	struct xt *x;
	uint64_t need;

	for (;;) {
		skip_finished(p);
		if (p->ri < p->b.n)
			break;
		if (!next_batch(p))
			return NULL;
	}
	q = &p->b.reqs[p->ri];
	/* Extents in flight: up to SWAP_MERGE_MAX / unit per op when merged, plus
	 * those awaiting verification; kept for reuse once made. */
	x = r->xt_free;
	if (x) {
		r->xt_free = x->next;
	} else {
		x = calloc(1, sizeof(*x));
		if (!x) {
			req_fail(q, -ENOMEM);
			return open_extent(p);
		}
		x->all = r->xt_all;
		r->xt_all = x;
	}
	x->next = NULL;
	x->req = q;
	q->xt_live++;
	x->ext = &q->slot->ext[p->ei++];
	x->np = 0;
	x->next_piece = 0;
	x->issued = 0;
	x->outstanding = 0;
	x->failed = false;
	x->hashed = false;

	need = x->ext->len;
	while (need) {
		const struct swap_iov *v = &q->iov[p->ci];
		size_t take = v->len - p->coff;
		char *b = (char *)v->base + p->coff;
		if (take > need)
			take = need;
		if (!take) {
			/* an empty iov entry: nothing to move */
		} else if (x->np && (char *)x->pieces[x->np - 1].iov_base +
			     x->pieces[x->np - 1].iov_len == b) {
			x->pieces[x->np - 1].iov_len += take;
		} else {
			if (x->np == x->cap) {
				unsigned nc = x->cap ? x->cap * 2 : 4;
				struct iovec *np = realloc(x->pieces, nc * sizeof(*np));
				if (!np) {
					/* Leave the request: it fails as a whole. */
					req_fail(q, -ENOMEM);
					x->failed = true;
					return x;
				}
				x->pieces = np;
				x->cap = nc;
			}
			x->pieces[x->np++] = (struct iovec){ .iov_base = b, .iov_len = take };
		}
		need -= take;
		p->coff += take;
		if (p->coff == v->len) {
			p->ci++;
			p->coff = 0;
		}
	}
	return x;
}

static void xt_release(struct swap_ring *r, struct xt *x)
{
	x->req->xt_live--;
	x->next = r->xt_free;
	r->xt_free = x;
}

static uint64_t xt_hash(struct swap_ring *r, const struct xt *x)
{
	if (x->np == 1)
		return XXH3_64bits(x->pieces[0].iov_base, x->pieces[0].iov_len);
	XXH3_64bits_reset(r->xx);
	for (unsigned i = 0; i < x->np; i++)
		XXH3_64bits_update(r->xx, x->pieces[i].iov_base, x->pieces[i].iov_len);
	return XXH3_64bits_digest(r->xx);
}

/* An extent has no op left: verify (reads, later) or release it. */
static void xt_done(struct pipe *p, struct xt *x)
{
	if (p->cur == x)
		p->cur = NULL;
	if (p->dir == DIR_READ && !x->failed && !x->req->result) {
		x->next = p->verify;
		p->verify = x;
		return;
	}
	xt_release(p->r, x);
}

static void run_verify(struct pipe *p)
{
	while (p->verify) {
		struct xt *x = p->verify;
		p->verify = x->next;
		if (!x->req->result && xt_hash(p->r, x) != x->ext->sum) {
			req_fail(x->req, -EIO);
			atomic_fetch_add(&p->s->csum_fail, 1);
		}
		xt_release(p->r, x);
	}
}

/* Fill the op's iovec for its next submission: its pieces minus the done
 * bytes, at most len bytes. */
static int op_build_iov(struct op *o, uint64_t len, unsigned *niov)
{
	uint64_t skip = o->done;
	unsigned n = 0;

	if (o->iov_cap < o->nfull) {
		struct iovec *v = realloc(o->iov, o->nfull * sizeof(*v));
		if (!v)
			return -ENOMEM;
		o->iov = v;
		o->iov_cap = o->nfull;
	}
	for (unsigned i = 0; i < o->nfull && len; i++) {
		struct iovec v = o->full[i];
		if (skip >= v.iov_len) {
			skip -= v.iov_len;
			continue;
		}
		v.iov_base = (char *)v.iov_base + skip;
		v.iov_len -= skip;
		skip = 0;
		if (v.iov_len > len)
			v.iov_len = len;
		len -= v.iov_len;
		o->iov[n++] = v;
	}
	*niov = n;
	return 0;
}

/* Prepare the op's (next) submission. An SQE is always available: prepared
 * plus in-flight ops never exceed the queue depth, which is the SQ size. */
static int op_prep(struct pipe *p, struct op *o)
{
	struct swap_ring *r = p->r;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	uint64_t len = o->len - o->done;
	uint64_t off = o->off + o->done;
	unsigned idx = (unsigned)(o - r->ops);
	unsigned niov;
	int ret, err;

	if (!sqe)
		return -EBUSY;
	/* Faults are drawn per submission, resubmissions included, so one I/O
	 * can come back short several times. */
	if (!o->inject_err && inject_take(p->s, p->dir, &err)) {
		atomic_fetch_add(&p->s->injected, 1);
		atomic_fetch_add(&p->s->injected_by[err ? (p->dir == DIR_WRITE ? 0 : 1) : 2], 1);
		if (err)
			o->inject_err = err;
		else
			o->inject_short = true;
	}
	if (o->inject_short) {
		uint64_t half = (len / 2) & ~(uint64_t)(p->s->offset_align - 1);
		o->inject_short = false;
		if (half)
			len = half;
	}
	if (o->inject_err) {
		io_uring_prep_nop(sqe);
	} else if (o->fixed) {
		char *b = (char *)o->full[0].iov_base + o->done;
		if (p->dir == DIR_WRITE)
			io_uring_prep_write_fixed(sqe, p->s->fd, b, (unsigned)len, off, o->buf_index);
		else
			io_uring_prep_read_fixed(sqe, p->s->fd, b, (unsigned)len, off, o->buf_index);
	} else {
		ret = op_build_iov(o, len, &niov);
		if (ret) {
			/* Give the SQE back as a NOP that completes with the error. */
			io_uring_prep_nop(sqe);
			o->inject_err = ret;
		} else if (niov == 1 && p->dir == DIR_WRITE) {
			io_uring_prep_write(sqe, p->s->fd, o->iov[0].iov_base,
					    (unsigned)o->iov[0].iov_len, off);
		} else if (niov == 1) {
			io_uring_prep_read(sqe, p->s->fd, o->iov[0].iov_base,
					   (unsigned)o->iov[0].iov_len, off);
		} else if (p->dir == DIR_WRITE) {
			io_uring_prep_writev(sqe, p->s->fd, o->iov, niov, off);
		} else {
			io_uring_prep_readv(sqe, p->s->fd, o->iov, niov, off);
		}
	}
	io_uring_sqe_set_data64(sqe, idx);
	r->stamp[r->nstamp++] = idx;
	return 0;
}

static int op_add_xt(struct op *o, struct xt *x)
{
	if (o->nxv == o->xv_cap) {
		unsigned nc = o->xv_cap ? o->xv_cap * 2 : 4;
		struct xt **v = realloc(o->xv, nc * sizeof(*v));
		if (!v)
			return -ENOMEM;
		o->xv = v;
		o->xv_cap = nc;
	}
	o->xv[o->nxv++] = x;
	x->outstanding++;
	return 0;
}

static int op_add_pieces(struct op *o, const struct iovec *v, unsigned n)
{
	if (o->nfull + n > o->full_cap) {
		unsigned nc = o->full_cap ? o->full_cap : 8;
		struct iovec *f;
		while (nc < o->nfull + n)
			nc *= 2;
		f = realloc(o->full, nc * sizeof(*f));
		if (!f)
			return -ENOMEM;
		o->full = f;
		o->full_cap = nc;
	}
	for (unsigned i = 0; i < n; i++) {
		if (o->nfull && (char *)o->full[o->nfull - 1].iov_base +
		    o->full[o->nfull - 1].iov_len == (char *)v[i].iov_base)
			o->full[o->nfull - 1].iov_len += v[i].iov_len;
		else
			o->full[o->nfull++] = v[i];
		o->len += v[i].iov_len;
	}
	return 0;
}

/* Fixed buffers for an extent only when it is one run of region memory: a
 * fixed I/O takes one buffer, and splitting a scattered extent into one I/O
 * per run would cost far more than the page pinning fixed buffers save. */
static bool use_fixed(const struct swap_ring *r, const struct xt *x)
{
	return x->np == 1 && in_region(r, &x->pieces[0]);
}

/* Can extent y, whole, join op o? It must follow o in the file and keep it
 * within SWAP_MERGE_MAX and IOV_MAX; a fixed op takes it only if its memory
 * continues o's (still one buffer). */
static bool can_merge(const struct swap_ring *r, const struct op *o, const struct xt *y)
{
	if (!y || y->failed || y->req->result ||
	    y->ext->off != o->off + o->len || o->len + y->ext->len > SWAP_MERGE_MAX ||
	    o->nfull + y->np > EXT_IOV_MAX)
		return false;
	if (o->fixed)
		return use_fixed(r, y) &&
		       (char *)o->full[0].iov_base + o->len == (char *)y->pieces[0].iov_base;
	return true;
}

/*
 * Give the next part of the current extent to a new op. Extents that follow
 * it in the file join the same op (small allocations written or read
 * together go out as large I/Os); each keeps its own checksum.
 */
static void issue_one(struct pipe *p)
{
	struct swap_ring *r = p->r;
	struct xt *x = p->cur;
	struct op *o;
	unsigned i = x->next_piece, j;
	int err;

	o = &r->ops[r->op_free - 1];
	r->op_free = o->next_free;
	o->nxv = 0;
	o->nfull = 0;
	o->len = 0;
	o->off = x->ext->off + x->issued;
	o->done = 0;
	o->retries = 0;
	o->inject_err = 0;
	o->inject_short = false;
	o->buf_index = 0;
	if (i == 0 && use_fixed(r, x)) {
		o->fixed = true;
		j = 1;
	} else {
		o->fixed = false;
		j = x->np - i > EXT_IOV_MAX ? i + EXT_IOV_MAX : x->np;
	}
	err = op_add_xt(o, x);
	if (err) {
		/* Not even the first extent could be recorded: fail it here. */
		req_fail(x->req, err);
		x->failed = true;
		o->next_free = r->op_free;
		r->op_free = (unsigned)(o - r->ops) + 1;
		return;
	}
	if (p->dir == DIR_WRITE && !x->hashed) {
		x->ext->sum = xt_hash(r, x);
		x->hashed = true;
	}
	err = op_add_pieces(o, &x->pieces[i], j - i);
	x->next_piece = j;
	x->issued += o->len;
	if (x->next_piece == x->np)
		p->cur = NULL;
	while (!err && !p->cur && x->next_piece == x->np && o->len < SWAP_IO_MAX) {
		struct xt *y = open_extent(p);
		if (!can_merge(r, o, y)) {
			p->cur = y;
			break;
		}
		err = op_add_xt(o, y);
		if (err) {
			p->cur = y;
			break;
		}
		if (p->dir == DIR_WRITE) {
			y->ext->sum = xt_hash(r, y);
			y->hashed = true;
		}
		err = op_add_pieces(o, y->pieces, y->np);
		y->next_piece = y->np;
		y->issued = y->ext->len;
		x = y;
	}
	p->inflight++;
	if (p->inflight > r->st.qd_reached_dir[p->dir]) {
		pthread_mutex_lock(&r->stats_lock);
		r->st.qd_reached_dir[p->dir] = p->inflight;
		if (p->inflight > r->st.qd_reached)
			r->st.qd_reached = p->inflight;
		pthread_mutex_unlock(&r->stats_lock);
	}
	/* Out of memory building it: it completes as failed, through the
	 * ring, like any other error. */
	if (err)
		o->inject_err = err;
	if (op_prep(p, o))
		o->inject_err = -EBUSY; /* unreachable (see op_prep) */
}

static int submit_stamped(struct pipe *p)
{
	struct swap_ring *r = p->r;
	uint64_t t;
	int ret;

	if (!r->nstamp)
		return 0;
	t = mono_ns();
	for (unsigned i = 0; i < r->nstamp; i++) {
		struct op *o = &r->ops[r->stamp[i]];
		o->t0 = t;
		VIDMM_TRACE(r->s->tracer, swap_io_submit, VIDMM_TRACE_SWAP_IO_SUBMIT, (uintptr_t)o,
			    o->len - o->done, p->dir == DIR_WRITE, o->off + o->done);
	}
	do {
		ret = io_uring_submit(&r->ring);
	} while (ret == -EINTR || ret == -EAGAIN);
	if (ret < 0)
		return ret;
	r->nstamp = 0;
	return 0;
}

/* Give the free queue slots new ops. Before hashing a new write extent, what
 * is already prepared goes to the kernel, so the disk works while we hash. */
static void fill(struct pipe *p)
{
	while (p->inflight < p->s->qd && !p->ring_err) {
		if (p->dir == DIR_WRITE && p->r->nstamp && (!p->cur || !p->cur->hashed)) {
			int ret = submit_stamped(p);
			if (ret) {
				p->ring_err = ret;
				return;
			}
		}
		if (!p->cur) {
			p->cur = open_extent(p);
			if (!p->cur)
				return;
			if (p->cur->failed) {
				struct xt *x = p->cur;
				p->cur = NULL;
				if (!x->outstanding)
					xt_release(p->r, x);
				continue;
			}
		}
		if (p->cur->failed || p->cur->req->result) {
			/* Its request failed meanwhile: issue no more of it. */
			struct xt *x = p->cur;
			x->failed = true;
			p->cur = NULL;
			if (!x->outstanding)
				xt_release(p->r, x);
			continue;
		}
		issue_one(p);
	}
}

static void op_finish(struct pipe *p, struct op *o, int err)
{
	struct swap_ring *r = p->r;

	o->next_free = r->op_free;
	r->op_free = (unsigned)(o - r->ops) + 1;
	p->inflight--;
	for (unsigned i = 0; i < o->nxv; i++) {
		struct xt *x = o->xv[i];
		if (err) {
			req_fail(x->req, err);
			x->failed = true;
		}
		x->outstanding--;
		if (!x->outstanding && (x->failed || (p->cur != x && x->next_piece == x->np)))
			xt_done(p, x);
	}
}

static void complete(struct pipe *p, struct op *o, int res, uint64_t now)
{
	struct ring_stats *st = &p->r->st;

	vidmm_hist_record(&st->lat[p->dir], now - o->t0);
	VIDMM_TRACE(p->r->s->tracer, swap_io_complete, VIDMM_TRACE_SWAP_IO_COMPLETE, (uintptr_t)o,
		    res > 0 ? (uint64_t)res : 0, o->inject_err ? o->inject_err : (res < 0 ? res : 0),
		    now - o->t0);
	if (o->inject_err) {
		res = o->inject_err;
		o->inject_err = 0;
	}
	if (res < 0) {
		st->errors++;
		if ((res == -EAGAIN || res == -EINTR) && o->retries++ < 16 && !op_prep(p, o))
			return;
		op_finish(p, o, res);
		return;
	}
	if (res == 0) {
		/* No progress on a preallocated file: never spin on it. */
		st->errors++;
		op_finish(p, o, -EIO);
		return;
	}
	st->bytes[p->dir] += (uint64_t)res;
	st->ios[p->dir]++;
	if (o->fixed)
		st->fixed++;
	o->done += (uint64_t)res;
	if (o->done < o->len) {
		st->shorts++;
		if (!op_prep(p, o))
			return;
		op_finish(p, o, -EIO);
		return;
	}
	op_finish(p, o, 0);
}

static int reap(struct pipe *p)
{
	struct swap_ring *r = p->r;
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	uint64_t now = mono_ns();

	pthread_mutex_lock(&r->stats_lock);
	io_uring_for_each_cqe(&r->ring, head, cqe) {
		struct op *o = &r->ops[io_uring_cqe_get_data64(cqe)];
		seen++;
		complete(p, o, cqe->res, now);
	}
	pthread_mutex_unlock(&r->stats_lock);
	io_uring_cq_advance(&r->ring, seen);
	return (int)seen;
}

/* Whether request i of batch b has its final result: nothing of it is left
 * to open and every extent opened is finished. Nothing is left once the pipe
 * has moved past it (every request of a batch before the one being opened).
 * A request at p->ri, even failed or with all its extents opened, waits:
 * open_extent still reads it, and once handed back, its slot and its very
 * array may be freed (skip_finished moves p->ri on first). */
static bool req_finished(const struct pipe *p, const struct batch *b, unsigned i)
{
	return !b->reqs[i].xt_live && (b != &p->b || i < p->ri);
}

/* Hand b's finished prefix back to the stream's done. Nothing of b is
 * touched after its last request is handed back: done may free the array. */
static void hand_back_batch(struct pipe *p, struct batch *b)
{
	unsigned from = b->handed;

	while (b->handed < b->n && req_finished(p, b, b->handed)) {
		if (!p->first_err && b->reqs[b->handed].result)
			p->first_err = b->reqs[b->handed].result;
		b->handed++;
	}
	if (b->handed > from)
		p->st->done(b->arg, from, b->handed - from);
}

static void hand_back(struct pipe *p)
{
	if (p->has_prev) {
		hand_back_batch(p, &p->prev);
		p->has_prev = p->prev.handed < p->prev.n;
	}
	skip_finished(p);
	hand_back_batch(p, &p->b);
}

/* A batch enters the pipe: every request checked before any I/O of it. */
static void start_batch(struct pipe *p, struct swap_req *reqs, unsigned n, void *arg)
{
	p->b = (struct batch){ .reqs = reqs, .n = n, .arg = arg };
	p->ri = 0;
	p->ei = 0;
	p->ci = 0;
	p->coff = 0;
	for (unsigned i = 0; i < n; i++) {
		reqs[i].xt_live = 0;
		reqs[i].result = validate(p->s, &reqs[i], p->dir);
		/* A write that starts may leave the slot half old, half new. */
		if (p->dir == DIR_WRITE && !reqs[i].result)
			reqs[i].slot->valid = false;
	}
}

/* Every request of the batch is opened and the queue has room: a stream
 * takes its next batch now, so that the disk reads it while the last I/Os of
 * this one complete, instead of draining the queue between batches. Only
 * two batches are in the pipe at once: the one before must be all handed
 * back first. */
static bool next_batch(struct pipe *p)
{
	struct swap_req *reqs = NULL;
	void *arg = NULL;
	unsigned n;

	p->more_blocked = false;
	if (!p->st || !p->st->more || p->ring_err)
		return false;
	run_verify(p); /* a checksum pending is all that may keep prev out */
	hand_back(p);
	if (p->has_prev) {
		p->more_blocked = true; /* asked again once it is all back */
		return false;
	}
	n = p->st->more(p->st->more_arg, &reqs, &arg);
	if (!n)
		return false;
	if (p->b.handed < p->b.n) {
		p->prev = p->b;
		p->has_prev = true;
	}
	start_batch(p, reqs, n, arg);
	return true;
}

/* The end of a stream's call: what is left of b gets its final result and
 * is handed back. */
static void finish_batch(struct pipe *p, struct batch *b)
{
	if (b->handed == b->n)
		return;
	for (unsigned i = b->handed; i < b->n; i++) {
		if (p->ring_err)
			req_fail(&b->reqs[i], p->ring_err);
		if (!p->first_err && b->reqs[i].result)
			p->first_err = b->reqs[i].result;
	}
	p->st->done(b->arg, b->handed, b->n - b->handed);
	b->handed = b->n;
}

static int run_pipe(struct swap_store *s, struct swap_req *reqs, unsigned n, int dir,
		    const struct swap_stream *st, void *batch_arg)
{
	struct pipe p = { .s = s, .dir = dir, .st = st };
	unsigned stuck = 0;
	int ret, first = 0;

	if (!n)
		return 0;
	start_batch(&p, reqs, n, batch_arg);
	ret = ring_get(s, &p.r);
	if (ret) {
		for (unsigned i = 0; i < n; i++)
			req_fail(&reqs[i], ret);
		if (st)
			st->done(batch_arg, 0, n);
		return ret;
	}

	for (;;) {
		fill(&p);
		ret = submit_stamped(&p);
		if (ret && !p.ring_err)
			p.ring_err = ret;
		run_verify(&p);
		if (p.st)
			hand_back(&p);
		/* A stream whose next batch waited for prev, all back now: ask
		 * for it before waiting for the disk (fill will, with room). */
		if (p.more_blocked && !p.has_prev && !p.ring_err && p.inflight < p.s->qd)
			continue;
		if (!p.inflight)
			break;
		if (io_uring_cq_ready(&p.r->ring) == 0) {
			ret = io_uring_submit_and_wait(&p.r->ring, 1);
			if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -ETIME &&
			    ret != -EBUSY) {
				if (!p.ring_err)
					p.ring_err = ret;
				/* A ring that cannot wait any more: its I/O may still
				 * be in flight into caller memory, so it is never used
				 * again; give up after a bounded number of tries. */
				if (++stuck > 1000) {
					p.r->dead = true;
					break;
				}
				continue;
			}
		}
		stuck = 0;
		reap(&p);
	}
	run_verify(&p);
	if (p.cur && !p.cur->outstanding)
		xt_release(p.r, p.cur);

	if (p.st) {
		/* One handed back keeps its result: it was final. */
		if (p.has_prev)
			finish_batch(&p, &p.prev);
		finish_batch(&p, &p.b);
		return p.first_err;
	}
	for (unsigned i = 0; i < n; i++) {
		if (p.ring_err)
			req_fail(&reqs[i], p.ring_err);
		if (dir == DIR_WRITE && reqs[i].result != -EINVAL && reqs[i].slot)
			reqs[i].slot->valid = reqs[i].result == 0;
		if (!first && reqs[i].result)
			first = reqs[i].result;
	}
	return first;
}

/*
 * Test hook: flip one byte of a written slot on disk, as a failing disk
 * would, behind the store's back (the checksum must catch it on read).
 */
static void corrupt_after_write(struct swap_store *s, struct swap_req *reqs, unsigned n)
{
	unsigned p = atomic_load_explicit(&s->inj_corrupt, memory_order_relaxed);
	void *blk;

	if (!p || posix_memalign(&blk, 4096, 4096))
		return;
	for (unsigned i = 0; i < n; i++) {
		if (reqs[i].result || !reqs[i].slot->n_ext || !inject_draw(s, p))
			continue;
		uint64_t off = reqs[i].slot->ext[0].off; /* unit-aligned: 4096 */
		if (pread(s->fd, blk, 4096, (off_t)off) == 4096) {
			((uint8_t *)blk)[inject_draw(s, UINT32_MAX) ? 17 : 4000] ^= 0x5a;
			if (pwrite(s->fd, blk, 4096, (off_t)off) == 4096) {
				atomic_fetch_add(&s->injected, 1);
				atomic_fetch_add(&s->injected_by[4], 1);
			}
		}
	}
	free(blk);
}

int swap_write_many(struct swap_store *s, struct swap_req *reqs, unsigned n)
{
	int ret = run_pipe(s, reqs, n, DIR_WRITE, NULL, NULL);
	corrupt_after_write(s, reqs, n);
	return ret;
}

int swap_read_many(struct swap_store *s, struct swap_req *reqs, unsigned n)
{
	return run_pipe(s, reqs, n, DIR_READ, NULL, NULL);
}

int swap_read_many_each(struct swap_store *s, struct swap_req *reqs, unsigned n,
			void (*done)(void *arg, unsigned first, unsigned count), void *arg)
{
	const struct swap_stream st = { .done = done };

	return run_pipe(s, reqs, n, DIR_READ, done ? &st : NULL, arg);
}

int swap_read_stream(struct swap_store *s, struct swap_req *reqs, unsigned n, void *arg,
		     const struct swap_stream *st)
{
	if (!st || !st->done)
		return -EINVAL;
	return run_pipe(s, reqs, n, DIR_READ, st, arg);
}

int swap_write(struct swap_store *s, struct swap_slot *slot,
	       const struct swap_iov *iov, unsigned n)
{
	struct swap_req q = { .slot = slot, .iov = iov, .niov = n };
	return swap_write_many(s, &q, 1);
}

int swap_read(struct swap_store *s, struct swap_slot *slot,
	      const struct swap_iov *iov, unsigned n)
{
	struct swap_req q = { .slot = slot, .iov = iov, .niov = n };
	return run_pipe(s, &q, 1, DIR_READ, NULL, NULL);
}

/* ---- stats ---------------------------------------------------------------------------- */

void swap_query_stats(struct swap_store *s, struct swap_stats *out)
{
	struct ring_stats *sum = malloc(sizeof(*sum));
	struct heap_stats hs;

	memset(out, 0, sizeof(*out));
	out->io_mode = s->direct ? "direct" : "buffered";
	snprintf(out->io_note, sizeof(out->io_note), "%s", s->io_note);
	out->file_kind = s->tmpfile ? "tmpfile" : "mkstemp";
	out->mem_align = s->mem_align;
	out->offset_align = s->offset_align;
	out->io_unit = s->unit;
	out->queue_depth = s->qd;
	out->ring_flags = atomic_load(&s->ring_flags);
	out->checksum_failures = atomic_load(&s->csum_fail);
	out->file_size = s->size;
	vidmm_hist_init(&out->write_lat);
	vidmm_hist_init(&out->read_lat);

	store_lock(s);
	heap_query(s->heap, &hs);
	out->used_bytes = s->used;
	out->slots = s->slots;
	out->largest_free = hs.largest_free * s->unit;
	out->rings = s->nrings;
	out->rings_registered = s->rings_registered;
	if (!s->reg_ok || (s->nrings && !s->rings_registered))
		out->buffer_mode = "plain";
	else if (s->rings_registered < s->nrings)
		out->buffer_mode = "mixed";
	else
		out->buffer_mode = "registered";
	snprintf(out->buffer_note, sizeof(out->buffer_note), "%s", s->reg_note);
	if (sum) {
		*sum = s->retired;
		for (struct swap_ring *r = s->rings; r; r = r->next) {
			pthread_mutex_lock(&r->stats_lock);
			stats_add(sum, &r->st);
			pthread_mutex_unlock(&r->stats_lock);
		}
	}
	store_unlock(s);
	if (!sum)
		return;
	out->bytes_written = sum->bytes[DIR_WRITE];
	out->bytes_read = sum->bytes[DIR_READ];
	out->writes = sum->ios[DIR_WRITE];
	out->reads = sum->ios[DIR_READ];
	out->fixed_ios = sum->fixed;
	out->short_ios = sum->shorts;
	out->io_errors = sum->errors;
	out->injected = atomic_load(&s->injected);
	for (int i = 0; i < 5; i++)
		out->injected_by[i] = atomic_load(&s->injected_by[i]);
	out->qd_reached = sum->qd_reached;
	out->read_qd_reached = sum->qd_reached_dir[DIR_READ];
	out->write_lat = sum->lat[DIR_WRITE];
	out->read_lat = sum->lat[DIR_READ];
	free(sum);
}
