/* SPDX-License-Identifier: MIT */
/*
 * rfile.h - output files that appear at their path only when complete.
 *
 * Owns: the temporary file beside the target (created at open, which is also
 * the writability check a run does before it starts), writing it, and the
 * rename that publishes it. Must not: know what is written. Used for every
 * results, summary, report and trace-free output, so a failure never leaves a
 * partial file behind.
 */
#ifndef VIDMM_RFILE_H
#define VIDMM_RFILE_H

#include <limits.h>
#include <stddef.h>

struct rfile {
	char path[PATH_MAX];
	char tmp[PATH_MAX + 16]; /* "" once published or removed */
	int fd;                  /* -1 once written */
};

/* Create path.XXXXXX; errors name opt (the option that gave the path). */
int rfile_open(struct rfile *f, const char *path, const char *opt, char *err, size_t len);
/* Write text into the temporary file and close it (not yet published). */
int rfile_write(struct rfile *f, const char *text, char *err, size_t len);
/* Publish: rename the written temporary file to path. */
int rfile_commit(struct rfile *f, char *err, size_t len);
/* rfile_write then rfile_commit. */
int rfile_put(struct rfile *f, const char *text, char *err, size_t len);
/* Drop the temporary file, whatever state it is in. Safe after commit. */
void rfile_abort(struct rfile *f);

#endif
