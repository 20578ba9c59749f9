/* SPDX-License-Identifier: MIT */
/*
 * rfile.h - output files that appear at their path only when complete.
 *
 * Owns: the unnamed temporary file in the target's directory (O_TMPFILE:
 * created at open, which is also the writability check a run does before it
 * starts), writing it, and publishing it by name. Must not: know what is
 * written. Used for every results, summary and fuzz output, so a failure,
 * an interrupt or even SIGKILL never leaves a partial file or a temporary
 * one behind.
 *
 * Where the file system has no O_TMPFILE, a named temporary file
 * ".NAME.tmp.PID.XXXXXX" stands in; rfile_open removes those of processes
 * that are gone (a SIGKILL's leftovers) from the directory it writes to.
 * The Python reports (reports/vidmm_reports/outfile.py) do the same.
 */
#ifndef VIDMM_RFILE_H
#define VIDMM_RFILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct rfile {
	char path[PATH_MAX];
	char tmp[PATH_MAX + 48]; /* the named fallback, or "" */
	int fd;                  /* -1 once written or aborted */
	bool done;               /* written (rfile_write) */
};

/* Create the temporary file; errors name opt (the option that gave the
 * path) and say why (a directory, no permission, no such directory). */
int rfile_open(struct rfile *f, const char *path, const char *opt, char *err, size_t len);
/* Write text into the temporary file (not yet published). */
int rfile_write(struct rfile *f, const char *text, char *err, size_t len);
/* Publish: give the written file its name (replacing what was there). */
int rfile_commit(struct rfile *f, char *err, size_t len);
/* rfile_write then rfile_commit. */
int rfile_put(struct rfile *f, const char *text, char *err, size_t len);
/* Drop the temporary file, whatever state it is in. Safe after commit. */
void rfile_abort(struct rfile *f);

/* Whether a path can be written as an output (the check alone, nothing left
 * behind): 0, or -errno with a message naming opt. */
int rfile_check(const char *path, const char *opt, char *err, size_t len);

#endif
