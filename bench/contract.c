/* SPDX-License-Identifier: MIT */
/*
 * contract.c - the documented errnos of every public call (see contract.h).
 * Owns: the table. Must not: call the manager.
 */
#include "contract.h"

#include <errno.h>
#include <stddef.h>

#define MAX_ERRS 16

static const struct {
	const char *name;
	int errs[MAX_ERRS]; /* positive errnos, 0-terminated */
	const char *text;
} table[CALL_COUNT] = {
	[CALL_INIT] = { "vidmm_init",
			{ EINVAL, ENOMEM, ENOENT, ENOTDIR, EACCES, EPERM, EROFS, ENAMETOOLONG,
			  ENOSPC, EIO },
			"-EINVAL -ENOMEM -ENOENT -ENOTDIR -EACCES -EPERM -EROFS -ENAMETOOLONG "
			"-ENOSPC -EIO" },
	[CALL_SEGMEM_ALLOC] = { "vidmm_allocate_segment_memory", { EINVAL, ENOSPC, ENOMEM },
				"-EINVAL -ENOSPC -ENOMEM" },
	[CALL_SEGMEM_RELEASE] = { "vidmm_release_segment_memory", { EINVAL }, "-EINVAL" },
	[CALL_CREATE] = { "vidmm_create_allocation", { EINVAL, ENOSPC, EBUSY, ENOMEM, EIO },
			  "-EINVAL -ENOSPC -EBUSY -ENOMEM -EIO" },
	[CALL_DESTROY] = { "vidmm_destroy_allocation", { EBADF, EBUSY, EINVAL },
			   "-EBADF -EBUSY -EINVAL" },
	[CALL_QUERY_ALLOC] = { "vidmm_query_allocation", { EINVAL, EBADF }, "-EINVAL -EBADF" },
	[CALL_QUERY_SEGMENTS] = { "vidmm_query_segments", { EINVAL }, "-EINVAL" },
	[CALL_QUERY_STATS] = { "vidmm_query_stats", { EINVAL }, "-EINVAL" },
	[CALL_CHECK] = { "vidmm_check", { EUCLEAN, ENOMEM, EINVAL }, "-EUCLEAN -ENOMEM -EINVAL" },
	[CALL_SUBMIT] = { "vidmm_submit",
			  { EINVAL, EBADF, ENOSPC, EBUSY, ENOMEM, EIO, ETIMEDOUT },
			  "-EINVAL -EBADF -ENOSPC -EBUSY -ENOMEM -EIO -ETIMEDOUT" },
	[CALL_WAIT_FENCE] = { "vidmm_wait_fence", { ETIMEDOUT, EINVAL }, "-ETIMEDOUT -EINVAL" },
	[CALL_WAIT_IDLE] = { "vidmm_wait_idle", { ETIMEDOUT, EINVAL }, "-ETIMEDOUT -EINVAL" },
	[CALL_FENCE_STATUS] = { "vidmm_fence_status", { EINPROGRESS, EIO, ENODATA, EINVAL },
				"-EINPROGRESS -EIO -ENODATA -EINVAL" },
	[CALL_LOCK] = { "vidmm_lock",
			{ EINVAL, EBADF, ENOSPC, EBUSY, ENOMEM, EIO, ETIMEDOUT },
			"-EINVAL -EBADF -ENOSPC -EBUSY -ENOMEM -EIO -ETIMEDOUT" },
	[CALL_UNLOCK] = { "vidmm_unlock", { EBADF, EINVAL }, "-EBADF -EINVAL" },
	[CALL_EVICT] = { "vidmm_evict", { EINVAL, EBADF, EBUSY, ENOMEM, EIO, ETIMEDOUT },
			 "-EINVAL -EBADF -EBUSY -ENOMEM -EIO -ETIMEDOUT" },
	[CALL_SWAP_OUT] = { "vidmm_swap_out",
			    { EINVAL, EBADF, ENODEV, EBUSY, ENOSPC, ENOMEM, EIO, ETIMEDOUT },
			    "-EINVAL -EBADF -ENODEV -EBUSY -ENOSPC -ENOMEM -EIO -ETIMEDOUT" },
	[CALL_QUERY_SWAPPED] = { "vidmm_query_swapped", { EINVAL }, "-EINVAL" },
	[CALL_QUERY_HIST] = { "vidmm_query_histogram", { EINVAL, ENOMEM }, "-EINVAL -ENOMEM" },
};

const char *contract_call_name(enum vidmm_call c)
{
	return (unsigned)c < CALL_COUNT ? table[c].name : "?";
}

const char *contract_errnos(enum vidmm_call c)
{
	return (unsigned)c < CALL_COUNT ? table[c].text : "";
}

bool contract_errno_ok(enum vidmm_call c, int ret)
{
	if (ret == 0)
		return true;
	if ((unsigned)c >= CALL_COUNT || ret > 0)
		return false;
	for (int i = 0; i < MAX_ERRS && table[c].errs[i]; i++)
		if (table[c].errs[i] == -ret)
			return true;
	return false;
}
