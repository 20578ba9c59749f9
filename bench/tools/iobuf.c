/* SPDX-License-Identifier: MIT */
/*
 * iobuf.c - buffers for the raw disk passes (iobuf.h says why huge pages).
 *
 * Owns: its mappings. Must not: know about the manager or the swap store.
 */
#include "iobuf.h"

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_SZ ((size_t)2 << 20)

int iobuf_alloc(struct iobuf *b, size_t len)
{
	size_t want = (len + HUGE_SZ - 1) / HUGE_SZ * HUGE_SZ;

	memset(b, 0, sizeof(*b));
	b->map_len = want + HUGE_SZ; /* room to align */
	b->map = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->map == MAP_FAILED) {
		b->map = NULL;
		return -ENOMEM;
	}
	b->base = (char *)(((uintptr_t)b->map + HUGE_SZ - 1) & ~(uintptr_t)(HUGE_SZ - 1));
	b->len = want;
	/* A hint: without THP (EINVAL) the pass runs from small pages, and
	 * iobuf_huge_bytes says so. */
	(void)madvise(b->base, b->len, MADV_HUGEPAGE);
	return 0;
}

void iobuf_free(struct iobuf *b)
{
	if (b->map)
		munmap(b->map, b->map_len);
	memset(b, 0, sizeof(*b));
}

size_t iobuf_huge_bytes(const struct iobuf *b)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	size_t huge = 0;
	bool in = false;

	if (!f || !b->base)
		return f ? (fclose(f), 0) : 0;
	while (fgets(line, sizeof(line), f)) {
		uintptr_t lo, hi;
		unsigned long long kb;
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &lo, &hi) == 2 && strchr(line, ' ') &&
		    strchr(line, '-') < strchr(line, ' '))
			in = lo < (uintptr_t)b->base + b->len && hi > (uintptr_t)b->base;
		else if (in && sscanf(line, "AnonHugePages: %llu kB", &kb) == 1)
			huge += (size_t)kb << 10;
	}
	fclose(f);
	return huge;
}
