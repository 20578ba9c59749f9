/* SPDX-License-Identifier: MIT */
/*
 * contract.h - the errnos core/vidmm.h documents for each public call, as
 * data: the tests, the shared workload and the fuzzer check every return code
 * against it, so an undocumented errno is a failure wherever it shows up.
 *
 * Owns: that table, kept in step with vidmm.h by hand (a change to a call's
 * documented errors changes both). Must not: know when an error is likely;
 * only whether the header allows it at all.
 */
#ifndef VIDMM_CONTRACT_H
#define VIDMM_CONTRACT_H

#include <stdbool.h>

enum vidmm_call {
	CALL_INIT = 0,
	CALL_SEGMEM_ALLOC,
	CALL_SEGMEM_RELEASE,
	CALL_CREATE,
	CALL_DESTROY,
	CALL_QUERY_ALLOC,
	CALL_QUERY_SEGMENTS,
	CALL_QUERY_STATS,
	CALL_CHECK,
	CALL_SUBMIT,
	CALL_WAIT_FENCE,
	CALL_WAIT_IDLE,
	CALL_FENCE_STATUS,
	CALL_LOCK,
	CALL_UNLOCK,
	CALL_EVICT,
	CALL_SWAP_OUT,
	CALL_QUERY_SWAPPED,
	CALL_QUERY_HIST,
	CALL_COUNT
};

/* "vidmm_create_allocation", ... */
const char *contract_call_name(enum vidmm_call c);
/* true for 0 and for every errno the header documents for c. */
bool contract_errno_ok(enum vidmm_call c, int ret);
/* The documented errnos of c, as "-EBADF -EBUSY ..." (for messages). */
const char *contract_errnos(enum vidmm_call c);

#endif
