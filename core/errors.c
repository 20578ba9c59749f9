/* SPDX-License-Identifier: MIT */
/*
 * errors.c - vidmm_strerror: what each negative errno means when vidmm
 * returns it. Owns only the texts; must not allocate (callable anywhere).
 * The meanings are vidmm's own (ENOSPC is "no room in a segment", not "disk
 * full"), which is why plain strerror() is only the fallback.
 */
#include <errno.h>
#include <string.h>

#include "vidmm.h"

const char *vidmm_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case -EINVAL: return "invalid argument or configuration";
	case -ENOMEM: return "out of memory (system-page budget or host memory exhausted)";
	case -ENOSPC: return "no room (in any allowed segment, or in the swap file)";
	case -EBADF: return "invalid, stale or destroyed allocation handle";
	case -EBUSY: return "only busy or pinned allocations stand in the way";
	case -ETIMEDOUT: return "timed out waiting for a GPU fence";
	case -EIO: return "I/O or engine error (data kept where it could be)";
	case -EUCLEAN: return "manager invariant violated (see vidmm_check_error)";
	case -EEXIST: return "range overlaps memory already in use";
	case -EAGAIN: return "resource temporarily unavailable, retry";
	case -ENOENT: return "not found";
	case -EPERM: return "operation not permitted on this allocation";
	default:
		return err < 0 ? strerror(-err) : "not an error code";
	}
}
