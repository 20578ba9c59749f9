/* SPDX-License-Identifier: MIT */
/*
 * lockstat.c - the lock-order check behind lockstat.h: which locks this
 * thread holds, and the report when an acquisition would invert the order.
 *
 * Owns: the per-thread stack of held lock classes. Must not: take a lock or
 * allocate (it runs inside every acquisition).
 */
#include "lockstat.h"

#ifdef LOCKSTAT_ORDER_CHECK
#include <stdio.h>
#include <stdlib.h>

#define HELD_MAX 8

static _Thread_local const struct lockstat *held[HELD_MAX];
static _Thread_local unsigned nheld;

void lockstat_order_take(const struct lockstat *ls)
{
	for (unsigned i = 0; i < nheld; i++)
		if (held[i]->rank >= ls->rank) {
			fprintf(stderr,
				"vidmm: lock order violated: taking \"%s\" (rank %u) while holding "
				"\"%s\" (rank %u); the order is in core/manager.c\n",
				ls->name, ls->rank, held[i]->name, held[i]->rank);
			abort();
		}
	if (nheld == HELD_MAX) {
		fprintf(stderr, "vidmm: more than %d locks held at once\n", HELD_MAX);
		abort();
	}
	held[nheld++] = ls;
}

void lockstat_order_give(const struct lockstat *ls)
{
	for (unsigned i = nheld; i-- > 0;)
		if (held[i] == ls) {
			held[i] = held[--nheld];
			return;
		}
	fprintf(stderr, "vidmm: \"%s\" released by a thread that does not hold it\n", ls->name);
	abort();
}
#endif
