/* SPDX-License-Identifier: MIT */
/*
 * fuzz_file.c - see fuzz_file.h.
 * Owns: only the temporary file. Must not: look at the data.
 */
#include "fuzz_file.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fuzz_file_write(const uint8_t *data, size_t size, char *path)
{
	strcpy(path, "/tmp/vidmm-fuzz-input-XXXXXX");
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}
