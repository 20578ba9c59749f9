/* SPDX-License-Identifier: MIT */
/*
 * vt_proc.h - running vidmm-bench from a test and looking at what it left.
 *
 * Owns: spawning the binary meson names in $VIDMM_BENCH (or another) with captured
 * stdout/stderr, and temporary directories. Must not: assert anything about
 * vidmm-bench's behaviour (the tests do).
 */
#ifndef VIDMM_VT_PROC_H
#define VIDMM_VT_PROC_H

#include <stdbool.h>
#include <stddef.h>

struct vt_result {
	int status;   /* exit status, or -1 for a signal */
	char out[131072];
	char err[16384];
};

/* $VIDMM_BENCH (set by meson test); exits the test program if missing. */
const char *vt_bench(void);
/* Run vidmm-bench with args (NULL-terminated, without the program name). */
void vt_run_bench(struct vt_result *res, const char *const *args);
/* The same, sending signal sig `times` times (100 ms apart) after_s seconds
 * after the start, unless it has exited by then. */
void vt_run_bench_signal(struct vt_result *res, const char *const *args, double after_s,
			 int sig, int times);
/* Run another program (a path) the same way. */
void vt_run(struct vt_result *res, const char *prog, const char *const *args);
/* Print a result, for a failure's context. */
void vt_show(const char *what, const struct vt_result *r);
/* A fresh directory /tmp/<prefix>.XXXXXX (caller frees the path). */
char *vt_mktmpdir(const char *prefix);
/* Remove a directory and the files in it (one level). */
void vt_rmtree(const char *dir);
/* Entries in a directory, "." and ".." not counted. */
unsigned vt_count_files(const char *dir);
bool vt_exists(const char *path);

#endif
