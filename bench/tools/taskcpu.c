/* SPDX-License-Identifier: MIT */
/*
 * taskcpu.c - CPU time of this process's threads, by part, from
 * /proc/self/task/<tid>/schedstat (nanoseconds on a CPU) and comm.
 *
 * Owns: reading and classifying the threads. Must not: know what the
 * benchmark measures, or keep state between calls. A thread that starts or
 * ends inside a span is left out of it (only threads seen at both ends
 * count): the passes it serves run on long-lived threads.
 */
#include "taskcpu.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const taskcpu_part_names[TASKCPU_PARTS] = {
	"client", "copy engines", "job engine", "read-ahead thread", "other",
};

static unsigned char part_of(pid_t tid, const char *comm)
{
	if (tid == getpid())
		return TASKCPU_MAIN;
	if (!strncmp(comm, "emu-copy", 8))
		return TASKCPU_COPY;
	if (!strncmp(comm, "emu-job", 7))
		return TASKCPU_JOB;
	if (!strcmp(comm, "vidmm-readahead"))
		return TASKCPU_READAHEAD;
	return TASKCPU_OTHER;
}

/* The first line of /proc/self/task/<tid>/<what> into buf; false if gone. */
static bool read_task(pid_t tid, const char *what, char *buf, size_t len)
{
	char path[64];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", (int)tid, what);
	f = fopen(path, "r");
	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	return ok;
}

bool taskcpu_snap(struct taskcpu_snap *s)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	s->n = 0;
	if (!d)
		return false;
	while ((e = readdir(d)) && s->n < TASKCPU_MAX) {
		char comm[32], st[128];
		pid_t tid = (pid_t)atoi(e->d_name);

		if (tid <= 0 || !read_task(tid, "schedstat", st, sizeof(st)) ||
		    !read_task(tid, "comm", comm, sizeof(comm)))
			continue;
		comm[strcspn(comm, "\n")] = 0;
		s->tid[s->n] = tid;
		s->part[s->n] = part_of(tid, comm);
		s->ns[s->n] = strtoull(st, NULL, 10);
		s->n++;
	}
	closedir(d);
	return s->n > 0;
}

void taskcpu_add(const struct taskcpu_snap *a, const struct taskcpu_snap *b,
		 uint64_t acc[TASKCPU_PARTS])
{
	for (unsigned j = 0; j < b->n; j++)
		for (unsigned i = 0; i < a->n; i++)
			if (a->tid[i] == b->tid[j]) {
				if (b->ns[j] > a->ns[i])
					acc[b->part[j]] += b->ns[j] - a->ns[i];
				break;
			}
}
