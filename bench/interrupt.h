/* SPDX-License-Identifier: MIT */
/*
 * interrupt.h - SIGINT and SIGTERM for `run`, `replay` and `suite`.
 *
 * The first signal stops the run in progress at its next step, as its
 * deadline would (runner_interrupt): the command then writes the results of
 * what ran, marked interrupted, closes the trace with a footer that says so,
 * and exits 130. If the threads do not stop within INTERRUPT_GRACE_S (a
 * hang), or at a second signal, the trace recorded so far is published
 * without its footer (`replay --partial` replays it) and the process exits
 * 130 at once. A third signal kills it.
 *
 * Owns: the handlers and the watchdog thread. Must not: do anything in a
 * handler but set flags and write(2).
 */
#ifndef VIDMM_INTERRUPT_H
#define VIDMM_INTERRUPT_H

#include <stdbool.h>

#define INTERRUPT_GRACE_S 10
#define EXIT_INTERRUPTED 130

struct trace_writer;

/* Install the handlers and start the watchdog; tw (may be NULL) is the
 * trace to salvage from a hang. */
void interrupt_begin(struct trace_writer *tw);
/* The command's work is done (results are being written): no salvage. */
void interrupt_end(void);

#endif
