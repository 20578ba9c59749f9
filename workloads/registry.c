/* SPDX-License-Identifier: MIT */
/*
 * registry.c - the one table of workloads (stress-ng style: adding a
 * workload is one file plus one line here and in meson.build).
 * Owns: the table's order, which is the order `list` prints. Must not: hold
 * workload logic.
 */
#include <string.h>

#include "workload.h"

extern const struct workload wl_alloc_churn, wl_frag, wl_oversubscribe, wl_game_frame,
	wl_ml_train, wl_paging, wl_swap, wl_multi_client, wl_shared;

const struct workload *const workload_table[] = {
	&wl_alloc_churn, &wl_frag, &wl_oversubscribe, &wl_game_frame,
	&wl_ml_train, &wl_paging, &wl_swap, &wl_multi_client, &wl_shared, NULL,
};

const struct workload *workload_find(const char *name)
{
	for (const struct workload *const *w = workload_table; *w; w++)
		if (strcmp((*w)->name, name) == 0)
			return *w;
	return NULL;
}
