/* SPDX-License-Identifier: MIT */
/*
 * fuzz_file.h - the input of a target whose code under test reads a file
 * (fuzz_trace, fuzz_results): written to a fresh temporary file.
 */
#ifndef VIDMM_FUZZ_FILE_H
#define VIDMM_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Write data to a new file under /tmp; path (at least 40 bytes) gets its
 * name. 0, or -1 when it could not be written (the input is skipped). The
 * caller unlinks it. */
int fuzz_file_write(const uint8_t *data, size_t size, char *path);

#endif
