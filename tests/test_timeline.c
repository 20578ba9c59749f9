/* SPDX-License-Identifier: MIT */
/*
 * test_timeline.c - the timeline's event rings in-process (bench/timeline.c):
 * a burst of events from threads that outrun the drain thread all reach the
 * file.
 *
 * Owns: TIMELINE-BURST-KEPT. Must not: assert on timing. The timeline
 * through the command line (slices, nesting, counts against the manager's)
 * is tests/test_perf.c's.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vt.h"
#include "vt_proc.h"
#include "timeline.h"

#define THREADS 4
#define PER_THREAD 60000u

static void *burst(void *arg)
{
	uint64_t k = (uint64_t)(uintptr_t)arg;
	for (uint64_t i = 0; i < PER_THREAD; i++)
		timeline_counter_system(k << 32 | i, 0);
	return NULL;
}

/* Four threads push 60,000 events each as fast as they can on a machine
 * with fewer CPUs: each thread's 4096-event chunk fills long before the
 * drain thread's turn comes (a fixed ring of 8192 events dropped tens of
 * thousands here). Every event is in the file, exactly once, none dropped. */
static void timeline_burst_kept(void **state)
{
	char *dir = vt_mktmpdir("test_timeline"), path[512], err[256];
	pthread_t t[THREADS];
	(void)state;

	snprintf(path, sizeof(path), "%s/tl.json", dir);
	assert_int_equal(timeline_open(path, err, sizeof(err)), 0);
	for (uintptr_t k = 0; k < THREADS; k++)
		assert_int_equal(pthread_create(&t[k], NULL, burst, (void *)k), 0);
	for (int k = 0; k < THREADS; k++)
		pthread_join(t[k], NULL);
	uint64_t dropped = timeline_dropped();
	if (timeline_close(err, sizeof(err)))
		fail_msg("timeline_close: %s", err);

	json_error_t je;
	json_t *d = json_load_file(path, 0, &je);
	if (!d)
		fail_msg("%s: %s (line %d)", path, je.text, je.line);
	const json_t *ev = json_object_get(d, "traceEvents"), *e;
	uint8_t *seen = calloc(THREADS * PER_THREAD, 1);
	size_t i, n = 0, dup = 0;
	assert_non_null(seen);
	json_array_foreach(ev, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		if (!name || strcmp(name, "system pages in use (bytes)"))
			continue;
		uint64_t v = (uint64_t)json_integer_value(
			json_object_get(json_object_get(e, "args"), "used"));
		uint64_t k = v >> 32, s = v & 0xffffffffu;
		assert_true(k < THREADS && s < PER_THREAD);
		dup += seen[k * PER_THREAD + s]++ != 0;
		n++;
	}
	uint64_t in_file = (uint64_t)json_integer_value(
		json_object_get(json_object_get(d, "otherData"), "vidmm_dropped_events"));
	printf("%d threads x %u events: %zu in the file, %zu twice, %llu dropped (file says "
	       "%llu)\n", THREADS, PER_THREAD, n, dup, (unsigned long long)dropped,
	       (unsigned long long)in_file);
	assert_int_equal(dropped, 0);
	assert_int_equal(in_file, 0);
	assert_int_equal(dup, 0);
	assert_int_equal(n, (size_t)THREADS * PER_THREAD);
	free(seen);
	json_decref(d);
	vt_rmtree(dir);
	free(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("TIMELINE-BURST-KEPT", timeline_burst_kept),
	};
	return VT_MAIN("test_timeline", cases);
}
