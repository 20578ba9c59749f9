/* SPDX-License-Identifier: MIT */
/*
 * swap.h - the swap store: a private file that holds the contents of
 * swapped-out allocations, written and read through io_uring.
 *
 * Internal to libvidmm (the manager's swap-out/swap-in path); also used by its
 * own test (tests/test_swapstore.c) and by the swap-raw measurement tool.
 *
 * Owns: one file (O_TMPFILE, or a 0600 mkstemp file unlinked at once, so no
 * other user can read swapped GPU memory and nothing survives the process),
 * preallocated to the configured size; the slot allocator over it (extents in
 * units of swap_io_unit(), contiguous where the free space allows); one
 * io_uring ring per thread that does swap I/O (created lazily, freed when the
 * thread exits or the store closes); the registration of the caller's
 * system-memory pool as fixed buffers where RLIMIT_MEMLOCK allows; per-extent
 * XXH3 checksums; I/O statistics.
 *
 * Must not: touch allocations, segments, the GART or system-page accounting;
 * it sees only caller buffers (swap_iov) and caller-owned slots (swap_slot).
 * It never frees or changes the caller's memory beyond the bytes a read
 * targets.
 *
 * Locking: store->lock (internal) protects the slot allocator, the ring list
 * and the registered region; it is never held across an I/O wait (the
 * project's rule). I/O runs on the calling thread's own ring without any
 * lock, so any number of threads may swap_write/swap_read the same store at
 * once, on different slots. A slot must not be written/read/freed by two
 * threads at the same time (the caller serialises per slot, as it does per
 * allocation). swap_close must not race with any other call on the store,
 * nor with the exit of a thread that used it (join such threads first).
 * Rings are SINGLE_ISSUER: a forked child must not use its parent's store
 * (open its own).
 *
 * All functions returning int return 0 or a negative errno.
 */
#ifndef VIDMM_SWAP_H
#define VIDMM_SWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vidmm.h"

/* The largest checksum extent, and the largest single I/O the store issues
 * (one extent's; extents of different slots merge only up to SWAP_MERGE_MAX). */
#define SWAP_EXTENT_MAX (2u << 20)
#define SWAP_IO_MAX (2u << 20)
/* Extents of different slots (small allocations in one batch) join one I/O
 * only up to this: a batch then keeps many I/Os in flight instead of a few
 * 2 MiB ones. Measured on the project's virtio disk (fio, O_DIRECT io_uring,
 * MiB/s at QD 1/4/32): 64 KiB reads 728/1198/1645, 256 KiB 1101/1346/1138,
 * 2 MiB 1379/1460/1314; a 16 MiB batch of 64 KiB slots read back at
 * 1.4-1.6 GB/s joined to 256 KiB, 1.1 GB/s to 64 KiB (per-I/O cost) and
 * 1.0 GB/s to 2 MiB (eight I/Os in flight). One extent is never cut below
 * its length. */
#define SWAP_MERGE_MAX (256u << 10)
#define SWAP_DEFAULT_QD 32u
#define SWAP_MAX_QD 4096u

struct swap_store; /* opaque; see swap.c */

struct tracer;

struct swap_config {
	const char *dir;      /* directory for the file; NULL: $TMPDIR or /tmp */
	uint64_t size;        /* bytes, rounded up to swap_io_unit() */
	unsigned queue_depth; /* I/Os in flight per ring; 0: SWAP_DEFAULT_QD */
	bool force_buffered;  /* never use O_DIRECT */
	bool no_tmpfile;      /* skip O_TMPFILE, use mkstemp+unlink (tests the fallback) */
	uint32_t test_dio_align; /* tests: pretend the file's direct-I/O alignment is this */
	const struct tracer *tracer; /* swap_io_* trace points (probes.h); NULL: probes only */
};

/*
 * A run of the caller's memory (page-frame runs of the system-memory pool:
 * page-aligned, page-multiple). In direct mode base must be aligned to
 * stats.mem_align and len a multiple of stats.offset_align, else -EINVAL.
 */
struct swap_iov {
	void *base;
	size_t len;
};

/* One extent of a slot: file range and the XXH3-64 of its data. */
struct swap_extent {
	uint64_t off;
	uint64_t len;  /* <= SWAP_EXTENT_MAX */
	uint64_t sum;
};

/*
 * A slot: where one allocation's data lives in the file. Caller-owned (may be
 * embedded and copied; holds no pointer into itself), filled by
 * swap_slot_alloc, emptied by swap_slot_free. ext[] is in data order; the
 * extents of one run are adjacent in the file. Only the store writes it.
 */
struct swap_slot {
	uint64_t bytes;           /* data bytes: sum of ext[].len */
	uint32_t n_ext;
	uint32_t n_runs;
	struct swap_extent *ext;  /* n_ext entries */
	void *runs;               /* allocator ranges (internal) */
	bool valid;               /* a swap_write completed: the checksums are good */
};

/* One allocation's worth of I/O in a batch. */
struct swap_req {
	struct swap_slot *slot;
	const struct swap_iov *iov; /* total length == slot->bytes */
	unsigned niov;
	int result;                 /* out: 0 or a negative errno for this request */
	unsigned xt_live;           /* the store's own: its extents opened and not
				     * yet finished (0 between calls) */
};

struct swap_stats {
	/* what the store got from the machine */
	const char *io_mode;      /* "direct" or "buffered" */
	char io_note[96];         /* why buffered, when direct was wanted */
	const char *buffer_mode;  /* "registered", "plain" or "mixed" (some rings failed to register) */
	const char *file_kind;    /* "tmpfile" or "mkstemp" */
	char buffer_note[96];     /* why plain, when it is */
	uint32_t mem_align;       /* buffer address alignment for direct I/O */
	uint32_t offset_align;    /* file offset / length alignment for direct I/O */
	uint32_t io_unit;         /* slot allocation unit (>= offset_align, >= 4 KiB) */
	uint32_t queue_depth;     /* configured */
	uint32_t qd_reached;      /* most I/Os in flight at once on one ring */
	uint32_t read_qd_reached; /* the same, counting reads only */
	uint32_t ring_flags;      /* IORING_SETUP_* obtained (0 before the first ring) */
	uint32_t rings;           /* live rings (one per thread that did I/O and is alive) */
	uint32_t rings_registered;/* of which registered the region */
	/* space */
	uint64_t file_size;
	uint64_t used_bytes;      /* in live slots */
	uint64_t largest_free;
	uint64_t slots;           /* live slots */
	/* traffic (I/O-level: one count per completed read/write submission) */
	uint64_t bytes_written, bytes_read;
	uint64_t writes, reads;
	uint64_t fixed_ios;       /* of which through registered buffers */
	uint64_t short_ios;       /* completions short of the request, remainder resubmitted */
	uint64_t io_errors;       /* I/Os completed with an error (injected ones included) */
	uint64_t injected;        /* faults injected */
	uint64_t injected_by[5];  /* of which write errors, read errors, short I/Os,
				   * slot allocations refused (full), slots corrupted on disk */
	uint64_t checksum_failures;
	/* submission-to-completion latency per I/O, ns */
	struct vidmm_hist write_lat, read_lat;
};

/*
 * Create the store: a private file in cfg->dir preallocated (fallocate) to
 * cfg->size, O_DIRECT with the alignment statx(STATX_DIOALIGN) reports (else
 * the device's logical block size, else 512), or buffered I/O where the file
 * system refuses O_DIRECT (probed with one aligned write at open). No ring is
 * created here. On failure err (if non-NULL) gets one line saying why.
 * Errors: -EINVAL bad config, -ENOSPC the file system cannot hold cfg->size,
 * -ENOENT/-EACCES the directory, -ENOMEM.
 */
int swap_open(const struct swap_config *cfg, struct swap_store **out,
	      char *err, size_t err_len);

/* Close the file (its space is freed: it has no name) and every ring. Free
 * the slots first: a slot still live keeps its small extent array (leaked). */
void swap_close(struct swap_store *s);

/* The allocation unit: slot sizes and caller lengths are multiples of it. */
uint32_t swap_io_unit(const struct swap_store *s);

/*
 * Make the calling pool known: [base, base+len) is the system-memory pool the
 * swap buffers come from. When len <= RLIMIT_MEMLOCK (and <= 1 GiB, since
 * registration pins every page: a large sparse MAP_NORESERVE pool must never
 * be registered) each ring registers it as fixed buffers the next time its
 * thread does I/O, and I/O to or from memory inside it uses READ/WRITE_FIXED;
 * otherwise, or when a ring's registration fails (ENOMEM, EPERM, ...), that
 * ring uses plain buffers. base NULL / len 0 forgets the region. Returns 0
 * (plain buffers are not an error; stats say which mode is used) or -EINVAL.
 */
int swap_register_region(struct swap_store *s, void *base, size_t len);

/*
 * Reserve bytes (a non-zero multiple of swap_io_unit()) in the file: one
 * contiguous run when a hole fits, else the fewest, largest runs; cut into
 * extents of at most SWAP_EXTENT_MAX. -EINVAL bad size, -ENOSPC not enough
 * free space (nothing changes), -ENOMEM.
 */
int swap_slot_alloc(struct swap_store *s, uint64_t bytes, struct swap_slot *out);
/* Give the slot's space back; the slot is zeroed. A zeroed slot is a no-op. */
void swap_slot_free(struct swap_store *s, struct swap_slot *slot);

/*
 * Write the caller's memory (iov[0..n), total == slot->bytes) into the slot,
 * checksumming each extent, and wait for it. The I/Os are batched up to the
 * queue depth on the calling thread's ring; short completions are finished by
 * resubmitting the remainder. On success slot->valid is set; on error it is
 * cleared and the error returned (-EIO, -ENOSPC, ... from the kernel, -EINVAL
 * for misaligned buffers or a length mismatch).
 */
int swap_write(struct swap_store *s, struct swap_slot *slot,
	       const struct swap_iov *iov, unsigned n);
/*
 * Read the slot into iov[0..n) and verify every extent's checksum: a mismatch
 * is -EIO (counted in checksum_failures), never silent. -ENODATA if the slot
 * was never written successfully. On error the buffers' contents are
 * unspecified.
 */
int swap_read(struct swap_store *s, struct swap_slot *slot,
	      const struct swap_iov *iov, unsigned n);

/*
 * Batch forms: all requests' I/Os go through one pipeline at the queue depth
 * (several small allocations in one submission), and extents adjacent in the
 * file are merged into one I/O of up to SWAP_MERGE_MAX, so small allocations
 * swapped together make I/Os larger than one, and still many. Each
 * req->result is set; a failed
 * request does not stop the others (but an I/O error fails every request
 * that shared the failed I/O). Returns 0 when all succeeded, else the first
 * failed request's error. Each call waits for all its I/O: the queue drains
 * at its end, so larger batches keep the disk busier. Buffers of different
 * requests must not overlap in a read batch.
 */
int swap_write_many(struct swap_store *s, struct swap_req *reqs, unsigned n);
int swap_read_many(struct swap_store *s, struct swap_req *reqs, unsigned n);

/*
 * swap_read_many that hands each request back as soon as it is finished
 * instead of at the end: done(arg, first, count) is called on the calling
 * thread for reqs[first..first+count), in request order, once each of them
 * and every request before it has its final result (read and verified, or
 * failed) and no I/O of theirs is outstanding; from then on the store does
 * not touch those requests, their iovs or their buffers. Every request is
 * handed back exactly once before the call returns. A reader of many
 * allocations can thus use the first ones while the rest are read. done is
 * called with no store lock held, and may take the caller's locks and free
 * the requests' slots and buffers, but must not do I/O on this store (it
 * would reuse the calling thread's ring in the middle of this call). One
 * exception, as for swap_read_many: if the ring fails for good with I/O in
 * flight, what is left is handed back failed though the kernel may still be
 * writing into it.
 */
int swap_read_many_each(struct swap_store *s, struct swap_req *reqs, unsigned n,
			void (*done)(void *arg, unsigned first, unsigned count), void *arg);

/*
 * A stream of read batches on the calling thread's ring, with no drain
 * between them: each batch is read as by swap_read_many_each, and once every
 * request given so far is started and the queue has room, more(more_arg,
 * &reqs, &arg) is asked for the next batch (its count; 0 for none yet). So
 * the queue stays full across batches, where separate calls each drain it
 * at their end (a batch about the size of the queue then runs at half its
 * depth on average). While it has none, more is asked again as I/Os
 * complete (a caller's queue may fill meanwhile), and the call ends when
 * nothing is in flight and more has nothing. done(arg, first, count) gets
 * each batch's own arg, with first counted within that batch; requests come
 * back in order within a batch (a batch's first ones may come back before
 * the last of the batch before it), and once a batch's last request is
 * handed back the store never touches that batch again, so done may free
 * its array. At most two batches are in the pipe: more is not asked while
 * the one before the current is not all back. more and done run with no
 * store lock held, between two reaps, and must not do I/O on this store.
 * The first batch is reqs[0..n) with arg; n == 0 reads nothing and asks for
 * no more. Returns 0 when every request of every batch succeeded, else the
 * first failed one's error (in the order they were handed back); -EINVAL
 * without a done.
 */
struct swap_stream {
	void (*done)(void *arg, unsigned first, unsigned count);
	unsigned (*more)(void *more_arg, struct swap_req **reqs, void **arg);
	void *more_arg;
};
int swap_read_stream(struct swap_store *s, struct swap_req *reqs, unsigned n, void *arg,
		     const struct swap_stream *st);

/* Copy out the counters (merged over every ring). */
void swap_query_stats(struct swap_store *s, struct swap_stats *out);

/* "SINGLE_ISSUER|DEFER_TASKRUN|COOP_TASKRUN" style names of IORING_SETUP_* bits. */
const char *swap_ring_flags_str(uint32_t flags, char *buf, size_t len);

/* ---- test hooks ---------------------------------------------------------- */

/*
 * Fault injection: the next n I/Os in the given direction (counted over all
 * threads) fail with err (a negative errno) instead of reaching the disk.
 * err == 0 instead makes them short: they move only part of their bytes and
 * the store must resubmit the rest. n == 0 cancels.
 */
void swap_inject_error(struct swap_store *s, bool on_write, int err, unsigned n);
/* From now on each I/O in the given direction fails with err (err 0: comes
 * back short instead; the two are set independently) with probability p (0
 * turns it off), drawn from a stream seeded with seed. Counted in injected
 * like the above. */
void swap_inject_random(struct swap_store *s, bool on_write, int err, double p, uint64_t seed);
/* With probability p: a slot allocation is refused as if the file were full
 * (corrupt false), or one byte of a slot just written is flipped on disk
 * behind the store's back (corrupt true; a read must fail its checksum). */
void swap_inject_full_corrupt(struct swap_store *s, bool corrupt, double p, uint64_t seed);

/* The file descriptor (tests corrupt the file through it). */
int swap_test_fd(const struct swap_store *s);
/* Call fn(arg) with the store's lock held (vidmm_debug_lock_inversion). */
void swap_test_with_lock(struct swap_store *s, void (*fn)(void *arg), void *arg);
/* The store lock's statistics (lockstat.h). */
void swap_lock_stats(struct swap_store *s, struct vidmm_lock_stats *out);

#endif /* VIDMM_SWAP_H */
