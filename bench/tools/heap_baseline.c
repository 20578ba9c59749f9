/* SPDX-License-Identifier: MIT */
/*
 * heap_baseline.c - the original driver's heap: a size-sorted linked free
 * list with linear search and linear coalescing (see heap_baseline.h).
 *
 * Owns: that algorithm, faithfully slow, for heap_bench only.
 * Must not: share code with core/heap.c (the comparison would be moot) or
 * allocate per operation in steady state (descriptors are recycled, as ours
 * are, so the comparison measures the algorithm and not malloc).
 */
#include "heap_baseline.h"

#include <errno.h>
#include <stdlib.h>

struct bl_block {
	struct bl_block *next;
	uint64_t start;
	uint64_t size;
};

struct bl_heap {
	uint64_t start, size;
	struct bl_block *free_list; /* ascending size */
	struct bl_block *spare;     /* recycled descriptors */
	size_t nblocks;
};

static struct bl_block *get_block(struct bl_heap *h)
{
	struct bl_block *b = h->spare;

	if (b) {
		h->spare = b->next;
		return b;
	}
	return malloc(sizeof(*b));
}

static void put_block(struct bl_heap *h, struct bl_block *b)
{
	b->next = h->spare;
	h->spare = b;
}

/* Insert in size order: walk from the head to the first larger block. */
static void insert_sorted(struct bl_heap *h, struct bl_block *b)
{
	struct bl_block **link = &h->free_list;

	while (*link && (*link)->size < b->size)
		link = &(*link)->next;
	b->next = *link;
	*link = b;
	h->nblocks++;
}

int bl_create(uint64_t start, uint64_t size, struct bl_heap **out)
{
	struct bl_heap *h;
	struct bl_block *b;

	if (!size || start + size < start)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->start = start;
	h->size = size;
	b = get_block(h);
	if (!b) {
		free(h);
		return -ENOMEM;
	}
	b->start = start;
	b->size = size;
	insert_sorted(h, b);
	*out = h;
	return 0;
}

static void free_chain(struct bl_block *b)
{
	while (b) {
		struct bl_block *n = b->next;

		free(b);
		b = n;
	}
}

void bl_destroy(struct bl_heap *h)
{
	if (!h)
		return;
	free_chain(h->free_list);
	free_chain(h->spare);
	free(h);
}

int bl_alloc(struct bl_heap *h, uint64_t size, uint64_t align, uint64_t *out_start)
{
	struct bl_block **link, *b;

	if (!size)
		return -EINVAL;
	if (align <= 1)
		align = 1;
	else if (align & (align - 1))
		return -EINVAL;
	for (link = &h->free_list; (b = *link); link = &b->next) {
		uint64_t pad = (align - (b->start & (align - 1))) & (align - 1);
		uint64_t at, end, tail;
		struct bl_block *t = NULL;

		if (b->size < size || pad > b->size - size)
			continue;
		at = b->start + pad;
		end = b->start + b->size;
		tail = end - (at + size);
		if (pad && tail) {
			/* Split in three: the tail needs its own block. */
			t = get_block(h);
			if (!t)
				return -ENOMEM;
		}
		/* Unlink before re-inserting anything: an insert may land at *link. */
		*link = b->next;
		h->nblocks--;
		if (t) {
			t->start = at + size;
			t->size = tail;
			insert_sorted(h, t);
		}
		if (pad) {
			b->size = pad;
			insert_sorted(h, b);
		} else if (tail) {
			b->start = at + size;
			b->size = tail;
			insert_sorted(h, b);
		} else {
			put_block(h, b);
		}
		*out_start = at;
		return 0;
	}
	return -ENOSPC;
}

int bl_free(struct bl_heap *h, uint64_t start, uint64_t size)
{
	struct bl_block **link, *b, *prev = NULL, *next = NULL;
	uint64_t end = start + size;

	/* One pass over the whole list for both neighbours, unlinking them. */
	for (link = &h->free_list; (b = *link);) {
		if (b->start + b->size == start || b->start == end) {
			*link = b->next;
			h->nblocks--;
			if (b->start == end)
				next = b;
			else
				prev = b;
			continue;
		}
		link = &b->next;
	}
	if (prev) {
		prev->size += size;
		b = prev;
		if (next) {
			b->size += next->size;
			put_block(h, next);
		}
	} else if (next) {
		next->start = start;
		next->size += size;
		b = next;
	} else {
		b = get_block(h);
		if (!b)
			return -ENOMEM;
		b->start = start;
		b->size = size;
	}
	insert_sorted(h, b);
	return 0;
}

struct pair {
	uint64_t start, size;
};

static int cmp_size(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

int bl_load(struct bl_heap *h, const uint64_t *starts, const uint64_t *sizes, size_t n)
{
	struct pair *p = malloc((n ? n : 1) * sizeof(*p));
	struct bl_block **link;

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		p[i].start = starts[i];
		p[i].size = sizes[i];
	}
	qsort(p, n, sizeof(*p), cmp_size);
	while (h->free_list) {
		struct bl_block *b = h->free_list;

		h->free_list = b->next;
		put_block(h, b);
	}
	h->nblocks = 0;
	link = &h->free_list;
	for (size_t i = 0; i < n; i++) {
		struct bl_block *b = get_block(h);

		if (!b) {
			free(p);
			return -ENOMEM;
		}
		b->start = p[i].start;
		b->size = p[i].size;
		b->next = NULL;
		*link = b;
		link = &b->next;
		h->nblocks++;
	}
	free(p);
	return 0;
}

size_t bl_blocks(const struct bl_heap *h)
{
	return h->nblocks;
}

size_t bl_block_bytes(void)
{
	return sizeof(struct bl_block);
}
