/* SPDX-License-Identifier: MIT */
/*
 * list.h - intrusive circular doubly linked lists (the kernel's list_head).
 *
 * Owns: nothing but the link arithmetic. Must not: allocate or lock.
 * Used for the per-segment pagable (per priority, LRU order) and unpagable
 * lists: O(1) insert, remove and move-to-tail, which is what an LRU needs.
 */
#ifndef VIDMM_LIST_H
#define VIDMM_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_head {
	struct list_head *prev, *next;
};

#define list_entry(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

static inline void list_init(struct list_head *h)
{
	h->prev = h->next = h;
}

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static inline void list_del(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

static inline void list_move_tail(struct list_head *n, struct list_head *h)
{
	list_del(n);
	list_add_tail(n, h);
}

#define list_for_each(pos, head) \
	for (struct list_head *pos = (head)->next; pos != (head); pos = pos->next)

/* Safe against removal of pos. */
#define list_for_each_safe(pos, tmp, head) \
	for (struct list_head *pos = (head)->next, *tmp = pos->next; pos != (head); \
	     pos = tmp, tmp = pos->next)

#endif /* VIDMM_LIST_H */
