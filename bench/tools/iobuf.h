/* SPDX-License-Identifier: MIT */
/*
 * iobuf.h - buffers for the raw disk passes (swap_bench, swap-raw).
 *
 * Owns: one anonymous mapping per buffer set, aligned to 2 MiB and hinted
 * MADV_HUGEPAGE. Must not: know about the manager or the swap store.
 *
 * Why: a direct I/O from memory that is physically scattered in 4 KiB pages
 * needs one segment per page, and the block layer cuts a request at 254
 * segments (this machine's virtio disk). A 2 MiB write from posix_memalign'd
 * buffers reached the disk as 3-4 requests of ~600 KiB, with ~100 in flight
 * at 26 ms each (block-layer counters: 3920 requests for 1280 writes); the
 * manager's, from the emulator's pool, as one request each. From huge pages
 * the raw pass makes one request per write, and neighbours merge up to the
 * disk's 4 MiB: 2.3 -> 5.3 GB/s on the same disk in the same minute. A raw
 * pass from malloc'd buffers was not an upper bound for the manager (issue
 * 17's "swap-out faster than raw"); this one is, and the emulator's pool is
 * in huge pages too (drivers/emu/emu.c).
 */
#ifndef VIDMM_BENCH_IOBUF_H
#define VIDMM_BENCH_IOBUF_H

#include <stddef.h>

struct iobuf {
	char *base;     /* len bytes, 2 MiB aligned */
	size_t len;
	void *map;      /* the whole mapping, for munmap */
	size_t map_len;
};

/* Map len bytes (rounded up to 2 MiB). 0 or -ENOMEM. */
int iobuf_alloc(struct iobuf *b, size_t len);
void iobuf_free(struct iobuf *b);
/* Bytes of the buffer backed by huge pages now (from /proc/self/smaps), or
 * 0 where that cannot be read. Call after the buffer is written. */
size_t iobuf_huge_bytes(const struct iobuf *b);

#endif
