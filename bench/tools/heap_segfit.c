/* SPDX-License-Identifier: MIT */
/*
 * heap_segfit.c - the reference segregated-fit allocator (see heap_segfit.h).
 *
 * Owns: block descriptors (a pool of its own), the physical block list, the
 * per-class free lists and their two-level bitmap.
 * Must not: search a list or a tree: every operation is a bounded number of
 * bitmap and list steps, which is what makes it the yardstick.
 *
 * Classes as in TLSF: sizes below 32 get a class each, every power of two
 * above is split into 32 classes. Allocation rounds the request up to the
 * next class boundary ("mapping search"), so every block in the class found
 * is big enough; an aligned request whose head block cannot take the padding
 * searches again for size + align - 1. Padding in front of an aligned block
 * and the tail behind it become free blocks.
 */
#include "heap_segfit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#define SL_BITS 5
#define SL_COUNT (1u << SL_BITS)
#define NCLASS ((64u - SL_BITS + 1u) << SL_BITS)
#define NWORDS (NCLASS / 64u)
#define CHUNK 1024

struct sf_block {
	uint64_t start, size;
	struct sf_block *prev_phys, *next_phys;
	struct sf_block *prev_free, *next_free; /* prev_free == USED: allocated */
};

#define USED ((struct sf_block *)(uintptr_t)1)

struct sf_chunk {
	struct sf_chunk *next;
	struct sf_block b[CHUNK];
};

struct sf_heap {
	uint64_t top;
	uint64_t words[NWORDS];
	struct sf_block *head[NCLASS];
	struct sf_block *spare; /* unused descriptors, linked by next_free */
	struct sf_chunk *chunks;
	uint64_t nfree, nblocks, ndesc;
};

static inline unsigned class_of(uint64_t size)
{
	unsigned fl;

	if (size < SL_COUNT)
		return (unsigned)size;
	fl = 63u - (unsigned)__builtin_clzll(size);
	return ((fl - SL_BITS + 1u) << SL_BITS) | (unsigned)((size >> (fl - SL_BITS)) & (SL_COUNT - 1));
}

/* The first class all of whose sizes are >= size. */
static inline unsigned class_up(uint64_t size)
{
	unsigned fl;
	uint64_t r;

	if (size < SL_COUNT)
		return (unsigned)size;
	fl = 63u - (unsigned)__builtin_clzll(size);
	r = size + ((1ull << (fl - SL_BITS)) - 1);
	if (r < size)
		return NCLASS;
	return class_of(r);
}

/* First non-empty class >= c, or NCLASS. */
static inline unsigned class_from(const struct sf_heap *h, unsigned c)
{
	unsigned w;
	uint64_t m, t;

	if (c >= NCLASS)
		return NCLASS;
	w = c >> 6;
	m = h->words[w] & (~0ull << (c & 63));
	if (m)
		return (w << 6) | (unsigned)__builtin_ctzll(m);
	t = w + 1 < 64 ? h->top & (~0ull << (w + 1)) : 0;
	if (!t)
		return NCLASS;
	w = (unsigned)__builtin_ctzll(t);
	return (w << 6) | (unsigned)__builtin_ctzll(h->words[w]);
}

static void list_add(struct sf_heap *h, struct sf_block *b)
{
	unsigned c = class_of(b->size);

	b->prev_free = NULL;
	b->next_free = h->head[c];
	if (b->next_free)
		b->next_free->prev_free = b;
	h->head[c] = b;
	h->words[c >> 6] |= 1ull << (c & 63);
	h->top |= 1ull << (c >> 6);
	h->nfree++;
}

static void list_del(struct sf_heap *h, struct sf_block *b)
{
	unsigned c = class_of(b->size);

	if (b->prev_free)
		b->prev_free->next_free = b->next_free;
	else
		h->head[c] = b->next_free;
	if (b->next_free)
		b->next_free->prev_free = b->prev_free;
	if (!h->head[c] && !(h->words[c >> 6] &= ~(1ull << (c & 63))))
		h->top &= ~(1ull << (c >> 6));
	h->nfree--;
}

/* At least two spare descriptors (an aligned allocation splits twice), so
 * that nothing after this can fail. */
static int desc_reserve(struct sf_heap *h)
{
	struct sf_chunk *c;

	if (h->ndesc - h->nblocks >= 2)
		return 0;
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->next = h->chunks;
	h->chunks = c;
	for (int i = CHUNK - 1; i >= 0; i--) {
		c->b[i].next_free = h->spare;
		h->spare = &c->b[i];
	}
	h->ndesc += CHUNK;
	return 0;
}

static struct sf_block *desc_get(struct sf_heap *h)
{
	struct sf_block *b = h->spare;

	h->spare = b->next_free;
	h->nblocks++;
	return b;
}

static void desc_put(struct sf_heap *h, struct sf_block *b)
{
	b->next_free = h->spare;
	h->spare = b;
	h->nblocks--;
}

int sf_create(uint64_t start, uint64_t size, struct sf_heap **out)
{
	struct sf_heap *h;
	struct sf_block *b;

	if (!out || !size || start + size < start)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (desc_reserve(h)) {
		free(h);
		return -ENOMEM;
	}
	b = desc_get(h);
	b->start = start;
	b->size = size;
	b->prev_phys = b->next_phys = NULL;
	list_add(h, b);
	*out = h;
	return 0;
}

void sf_destroy(struct sf_heap *h)
{
	struct sf_chunk *c, *n;

	if (!h)
		return;
	for (c = h->chunks; c; c = n) {
		n = c->next;
		free(c);
	}
	free(h);
}

/* Cut [b->start, b->start+len) off b as a free block of its own. */
static void split_front(struct sf_heap *h, struct sf_block *b, uint64_t len)
{
	struct sf_block *f = desc_get(h);

	f->start = b->start;
	f->size = len;
	f->prev_phys = b->prev_phys;
	f->next_phys = b;
	if (b->prev_phys)
		b->prev_phys->next_phys = f;
	b->prev_phys = f;
	b->start += len;
	b->size -= len;
	list_add(h, f);
}

static void split_back(struct sf_heap *h, struct sf_block *b, uint64_t keep)
{
	struct sf_block *t = desc_get(h);

	t->start = b->start + keep;
	t->size = b->size - keep;
	t->prev_phys = b;
	t->next_phys = b->next_phys;
	if (b->next_phys)
		b->next_phys->prev_phys = t;
	b->next_phys = t;
	b->size = keep;
	list_add(h, t);
}

int sf_alloc(struct sf_heap *h, uint64_t size, uint64_t align, struct sf_block **out,
	     uint64_t *at)
{
	struct sf_block *b;
	uint64_t pad;
	unsigned c;

	if (!size)
		return -EINVAL;
	if (align <= 1)
		align = 1;
	else if (align & (align - 1))
		return -EINVAL;
	c = class_from(h, class_up(size));
	if (c == NCLASS)
		return -ENOSPC;
	b = h->head[c];
	pad = (align - (b->start & (align - 1))) & (align - 1);
	if (pad > b->size - size) {
		if (size + align - 1 < size)
			return -ENOSPC;
		c = class_from(h, class_up(size + align - 1));
		if (c == NCLASS)
			return -ENOSPC;
		b = h->head[c];
		pad = (align - (b->start & (align - 1))) & (align - 1);
	}
	if (desc_reserve(h))
		return -ENOMEM;
	list_del(h, b);
	if (pad)
		split_front(h, b, pad);
	if (b->size > size)
		split_back(h, b, size);
	b->prev_free = USED;
	*out = b;
	*at = b->start;
	return 0;
}

void sf_free(struct sf_heap *h, struct sf_block *b)
{
	struct sf_block *p = b->prev_phys, *n = b->next_phys;

	if (p && p->prev_free != USED) {
		list_del(h, p);
		p->size += b->size;
		p->next_phys = n;
		if (n)
			n->prev_phys = p;
		desc_put(h, b);
		b = p;
	}
	if (n && n->prev_free != USED) {
		list_del(h, n);
		b->size += n->size;
		b->next_phys = n->next_phys;
		if (n->next_phys)
			n->next_phys->prev_phys = b;
		desc_put(h, n);
	}
	list_add(h, b);
}

uint64_t sf_free_blocks(const struct sf_heap *h)
{
	return h->nfree;
}

size_t sf_metadata_bytes(const struct sf_heap *h)
{
	return h->nblocks * sizeof(struct sf_block) + sizeof(*h);
}

size_t sf_block_bytes(void)
{
	return sizeof(struct sf_block);
}
