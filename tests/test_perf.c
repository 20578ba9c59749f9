/* SPDX-License-Identifier: MIT */
/*
 * test_perf.c - the perf-analysis tools: `--timeline`, the USDT probes,
 * frame-pointer stacks and thread names, as a user would use them
 * (docs/perf-analysis.md).
 *
 * Owns: TIMELINE-WELL-FORMED, TIMELINE-BAD-PATH, USDT-PROBES-PRESENT,
 * USDT-PROBE-FIRES, PERF-STACKS. Must not: assert on timing; where the
 * kernel or the tools refuse (no root, no uprobes, no perf), a case exits
 * 77 (skipped) and says why, in the order ../shared/design/platform-notes.md
 * gives.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "vt.h"
#include "vt_proc.h"


static json_t *load(const char *path)
{
	json_error_t je;
	json_t *d = json_load_file(path, 0, &je);
	if (!d)
		fail_msg("%s: %s (line %d)", path, je.text, je.line);
	return d;
}

static double num(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	if (!json_is_number(v))
		fail_msg("no number '%s'", k);
	return json_number_value(v);
}

/* A command's whole output, or NULL (caller frees). */
static char *capture(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);

	if (!p || !buf) {
		if (p)
			pclose(p);
		free(buf);
		return NULL;
	}
	for (;;) {
		if (n + 4096 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		size_t r = fread(buf + n, 1, cap - n - 1, p);
		if (!r)
			break;
		n += r;
	}
	buf[n] = 0;
	if (pclose(p) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static bool have_tool(const char *name)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* ---- TIMELINE-WELL-FORMED ------------------------------------------------------------ */

struct slice {
	double s, e;
	const char *name;
	int result;
};

static int cmp_slice(const void *pa, const void *pb)
{
	const struct slice *a = pa, *b = pb;
	if (a->s != b->s)
		return a->s < b->s ? -1 : 1;
	return a->e > b->e ? -1 : a->e < b->e;
}

/* Slices of one track: X events, and B/E pairs matched in file order. */
static size_t track_slices(const json_t *ev, json_int_t tid, struct slice *out, size_t cap)
{
	struct slice open[64];
	size_t n = 0, depth = 0, i;
	const json_t *e;

	json_array_foreach(ev, i, e) {
		if (json_integer_value(json_object_get(e, "tid")) != tid)
			continue;
		const char *ph = json_string_value(json_object_get(e, "ph"));
		double ts = json_number_value(json_object_get(e, "ts"));
		if (!strcmp(ph, "X")) {
			assert_true(n < cap);
			out[n++] = (struct slice){ ts, ts + json_number_value(json_object_get(e, "dur")),
						   json_string_value(json_object_get(e, "name")), 0 };
		} else if (!strcmp(ph, "B")) {
			assert_true(depth < 64);
			open[depth++] = (struct slice){ ts, 0,
							json_string_value(json_object_get(e, "name")),
							0 };
		} else if (!strcmp(ph, "E")) {
			if (!depth)
				fail_msg("tid %lld: an E without its B at %.3f", (long long)tid, ts);
			struct slice s = open[--depth];
			s.e = ts;
			const json_t *r = json_object_get(json_object_get(e, "args"), "result");
			s.result = r ? (int)json_integer_value(r) : 0;
			assert_true(n < cap);
			out[n++] = s;
		}
	}
	if (depth)
		fail_msg("tid %lld: %zu B without their E", (long long)tid, depth);
	return n;
}

/* Every track's slices nest: each lies inside the one that encloses its
 * start, or after it. Returns the count of slices named name with result 0. */
static void check_timeline(const char *path, const char *const *names, uint64_t *counts,
			   json_t **run_args)
{
	json_t *d = load(path);
	const json_t *ev = json_object_get(d, "traceEvents");
	size_t i, cap = json_array_size(ev) + 1;
	struct slice *sl = malloc(cap * sizeof(*sl));
	json_int_t tids[256];
	size_t ntid = 0;
	const json_t *e;
	bool saw_counter = false;

	assert_non_null(sl);
	assert_true(json_is_array(ev));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "otherData"),
							    "vidmm_dropped_events")), 0);
	json_array_foreach(ev, i, e) {
		const char *ph = json_string_value(json_object_get(e, "ph"));
		assert_non_null(ph);
		if (!strcmp(ph, "C"))
			saw_counter = true;
		if (strcmp(ph, "M") == 0 || !json_object_get(e, "tid"))
			continue;
		json_int_t t = json_integer_value(json_object_get(e, "tid"));
		bool seen = false;
		for (size_t k = 0; k < ntid; k++)
			seen |= tids[k] == t;
		if (!seen) {
			assert_true(ntid < 256);
			tids[ntid++] = t;
		}
	}
	assert_true(saw_counter);
	for (size_t k = 0; names[k]; k++)
		counts[k] = 0;
	for (size_t k = 0; k < ntid; k++) {
		size_t n = track_slices(ev, tids[k], sl, cap);
		qsort(sl, n, sizeof(*sl), cmp_slice);
		struct slice *stack[128];
		size_t depth = 0;
		for (size_t j = 0; j < n; j++) {
			/* %.3f µs in the file: a nanosecond of rounding either way */
			while (depth && stack[depth - 1]->e <= sl[j].s + 0.002)
				depth--;
			if (depth && sl[j].e > stack[depth - 1]->e + 0.002)
				fail_msg("tid %lld: '%s' [%.3f, %.3f] overlaps '%s' [%.3f, %.3f]",
					 (long long)tids[k], sl[j].name, sl[j].s, sl[j].e,
					 stack[depth - 1]->name, stack[depth - 1]->s, stack[depth - 1]->e);
			assert_true(depth < 128);
			stack[depth++] = &sl[j];
			for (size_t q = 0; names[q]; q++)
				if (!strcmp(sl[j].name, names[q]) && sl[j].result == 0)
					counts[q]++;
		}
	}
	/* the run's slice carries the manager's counters at its end */
	*run_args = NULL;
	json_array_foreach(ev, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "ph")), "X") &&
		    json_object_get(e, "cat") && !strcmp(json_string_value(json_object_get(e, "cat")),
							 "run") &&
		    json_object_get(e, "args"))
			*run_args = json_incref(json_object_get(e, "args"));
	assert_non_null(*run_args);
	/* named threads: the clients and both engines */
	char *all = json_dumps(ev, JSON_COMPACT);
	assert_non_null(strstr(all, "\"vidmm-w0\""));
	assert_non_null(strstr(all, "\"emu-copy0\""));
	assert_non_null(strstr(all, "\"emu-job0\""));
	assert_non_null(strstr(all, "\"vidmm-sampler\""));
	free(all);
	free(sl);
	json_decref(d);
}

static void timeline_well_formed(void **state)
{
	char *dir = vt_mktmpdir("test_perf"), tl[512], out[512];
	const char *names[] = { "page-in", "page-out", "job", "swap-in", "create_allocation",
				"submit", NULL };
	uint64_t counts[6];
	struct vt_result r;
	json_t *args;
	(void)state;

	/* Paging: every page-in and page-out is a slice on its client thread,
	 * every job one on the job engine's track. */
	snprintf(tl, sizeof(tl), "%s/tl.json", dir);
	snprintf(out, sizeof(out), "%s/r.json", dir);
	vt_run_bench(&r, (const char *[]){ "run", "oversubscribe", "--threads", "2", "--duration",
				  "0.5", "--seed", "4", "--quiet", "--timeline", tl, "--out", out,
				  NULL });
	if (r.status)
		vt_show("oversubscribe --timeline", &r);
	assert_int_equal(r.status, 0);
	check_timeline(tl, names, counts, &args);
	printf("oversubscribe: %llu page-ins, %llu page-outs, %llu jobs, %llu submits; manager: "
	       "%.0f, %.0f, submits %.0f\n", (unsigned long long)counts[0],
	       (unsigned long long)counts[1], (unsigned long long)counts[2],
	       (unsigned long long)counts[5], num(args, "page_ins"), num(args, "page_outs"),
	       num(args, "submits"));
	assert_true(counts[0] > 0);
	assert_int_equal(counts[0], (uint64_t)num(args, "page_ins"));
	assert_int_equal(counts[1], (uint64_t)num(args, "page_outs"));
	assert_int_equal(counts[2], (uint64_t)num(args, "submits"));
	assert_int_equal(counts[5], (uint64_t)num(args, "submits"));
	json_decref(args);

	/* Swapping: every swap-in is a slice; the swap track has the I/O. */
	vt_run_bench(&r, (const char *[]){ "run", "swap", "--duration", "0.5", "--seed", "4",
				  "--quiet", "--timeline", tl, NULL });
	if (r.status == 77) {
		printf("swap: skipped (%s)\n", r.err);
	} else {
		assert_int_equal(r.status, 0);
		check_timeline(tl, names, counts, &args);
		/* those read ahead (with a swap-in, or by the read-ahead
		 * thread) are not swap-ins of their own */
		printf("swap: %llu swap-ins; manager %.0f, of them read ahead %.0f\n",
		       (unsigned long long)counts[3], num(args, "swap_ins"),
		       num(args, "swap_readaheads"));
		assert_int_equal(counts[3],
				 (uint64_t)num(args, "swap_ins") - (uint64_t)num(args, "swap_readaheads"));
		json_decref(args);
		json_t *d = load(tl);
		char *all = json_dumps(d, JSON_COMPACT);
		assert_non_null(strstr(all, "\"swap I/O\""));
		free(all);
		json_decref(d);
	}
	/* replay, suite and fuzz take it too */
	char trace[512];
	snprintf(trace, sizeof(trace), "%s/t.jsonl", dir);
	vt_run_bench(&r, (const char *[]){ "run", "frag", "--duration", "0.2", "--seed", "4",
				  "--threads", "1", "--quiet", "--record", trace, NULL });
	assert_int_equal(r.status, 0);
	vt_run_bench(&r, (const char *[]){ "replay", trace, "--quiet", "--timeline", tl, NULL });
	if (r.status)
		vt_show("replay --timeline", &r);
	assert_int_equal(r.status, 0);
	json_decref(load(tl));
	vt_run_bench(&r, (const char *[]){ "fuzz", "--runs", "2", "--seed", "4", "--quiet",
				  "--timeline", tl, NULL });
	assert_int_equal(r.status, 0);
	json_decref(load(tl));
	vt_rmtree(dir);
	free(dir);
}

/* ---- TIMELINE-BAD-PATH --------------------------------------------------------------- */

static void timeline_bad_path(void **state)
{
	char *dir = vt_mktmpdir("test_perf"), out[512];
	struct vt_result r;
	(void)state;

	snprintf(out, sizeof(out), "%s/r.json", dir);
	vt_run_bench(&r, (const char *[]){ "run", "frag", "--duration", "0.1", "--quiet",
				  "--timeline", "/nonexistent-dir/t.json", "--out", out, NULL });
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--timeline"));
	assert_false(vt_exists(out));
	vt_run_bench(&r, (const char *[]){ "run", "frag", "--timeline", NULL });
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "timeline"));
	vt_rmtree(dir);
	free(dir);
}

/* ---- USDT-PROBES-PRESENT ------------------------------------------------------------- */

/* The probe table of docs/perf-analysis.md. */
static const char *const probes[] = {
	"alloc_create", "alloc_destroy", "place_fail", "evict", "page_out_begin", "page_out_end",
	"page_in_begin", "page_in_end", "copy", "swap_out_begin", "swap_out_end", "swap_in_begin",
	"swap_in_end", "swap_io_submit", "swap_io_complete", "reclaim_begin", "reclaim_end",
	"submit", "lock", "unlock", "throttle", "fault", "cmd_submit", "fence_signal", "gpu_fault",
	NULL,
};

static void usdt_probes_present(void **state)
{
	char cmd[600];
	(void)state;

#ifndef VIDMM_HAVE_SDT
	VT_SKIP("built without <sys/sdt.h> (Debian: systemtap-sdt-dev): no probes to find");
#endif
	if (!have_tool("readelf"))
		VT_SKIP("readelf is not installed (binutils)");
	snprintf(cmd, sizeof(cmd), "readelf -n '%s'", vt_bench());
	char *notes = capture(cmd);
	assert_non_null(notes);
	assert_non_null(strstr(notes, "stapsdt"));
	for (int i = 0; probes[i]; i++) {
		char want[64];
		snprintf(want, sizeof(want), "Name: %s\n", probes[i]);
		if (!strstr(notes, want))
			fail_msg("probe vidmm:%s is not in %s's .note.stapsdt", probes[i], vt_bench());
	}
	free(notes);
}

/* ---- USDT-PROBE-FIRES ---------------------------------------------------------------- */

static void usdt_probe_fires(void **state)
{
	char *dir = vt_mktmpdir("test_perf"), cmd[2048], tl[512];
	(void)state;

#ifndef VIDMM_HAVE_SDT
	VT_SKIP("built without <sys/sdt.h>: no probes");
#endif
	if (!have_tool("bpftrace"))
		VT_SKIP("bpftrace is not installed");
	if (geteuid() != 0)
		VT_SKIP("bpftrace needs root");
	/* bpftrace attaches through the uprobe PMU (perf_event_open); tracefs's
	 * uprobe_events is what `perf probe` needs, not bpftrace. */
	if (access("/sys/bus/event_source/devices/uprobe/type", F_OK))
		VT_SKIP("the kernel has no uprobe PMU (/sys/bus/event_source/devices/uprobe)");
	if (system("bpftrace -e 'BEGIN { exit(); }' >/dev/null 2>&1") != 0)
		VT_SKIP("bpftrace cannot load a program here (bpftrace -e 'BEGIN{exit();}' fails)");
	/* page_in_end: arg1 bytes, arg2 result. Count the successful ones and
	 * compare with the manager's own counter (the timeline's run slice). */
	snprintf(tl, sizeof(tl), "%s/tl.json", dir);
	snprintf(cmd, sizeof(cmd),
		 "timeout 120 bpftrace -e 'usdt:%s:vidmm:page_in_end /arg2 == 0/ { @n = count(); "
		 "@bytes = sum(arg1); }' -c '%s run oversubscribe --duration 0.5 --seed 6 --quiet "
		 "--timeline %s' 2>/dev/null", vt_bench(), vt_bench(), tl);
	char *out = capture(cmd);
	if (!out)
		VT_SKIP("bpftrace could not attach to %s (see its output by running: %s)", vt_bench(),
		     cmd);
	printf("%s", out);
	const char *n = strstr(out, "@n: ");
	const char *b = strstr(out, "@bytes: ");
	assert_non_null(n);
	assert_non_null(b);
	unsigned long long nv = strtoull(n + 4, NULL, 10), bv = strtoull(b + 8, NULL, 10);
	json_t *d = load(tl);
	const json_t *ev = json_object_get(d, "traceEvents"), *e;
	size_t i;
	double want = -1;
	json_array_foreach(ev, i, e)
		if (json_object_get(e, "cat") &&
		    !strcmp(json_string_value(json_object_get(e, "cat")), "run") &&
		    json_object_get(e, "args"))
			want = num(json_object_get(e, "args"), "page_ins");
	printf("bpftrace: %llu page-ins, %llu bytes; the manager counted %.0f\n", nv, bv, want);
	assert_true(nv > 0);
	assert_int_equal(nv, (unsigned long long)want);
	/* every page-in moves whole pages of a live allocation */
	assert_true(bv >= nv * 4096ull && bv % 4096 == 0);
	json_decref(d);
	free(out);
	vt_rmtree(dir);
	free(dir);
}

/* ---- PERF-STACKS --------------------------------------------------------------------- */

static void perf_stacks(void **state)
{
	char *dir = vt_mktmpdir("test_perf"), cmd[2048];
	(void)state;

	if (!have_tool("perf"))
		VT_SKIP("perf is not installed (Debian: linux-perf)");
	/* cpu-clock explicitly: without a PMU perf would fall back silently;
	 * HOME: perf's build-id cache stays in the test's directory. */
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && HOME='%s' timeout 120 perf record -q -e cpu-clock -F 4000 -g -o p.data -- "
		 "'%s' run oversubscribe --duration 0.5 --seed 7 --quiet >/dev/null 2>&1 && "
		 "HOME='%s' perf script -i p.data -F comm,ip,sym 2>/dev/null",
		 dir, dir, vt_bench(), dir);
	char *out = capture(cmd);
	if (!out || !out[0])
		VT_SKIP("perf record cannot sample here (perf_event_paranoid, or no cpu-clock)");
	/* A client thread's sample with the core and the thread's entry in
	 * one stack: frame pointers walked it from the leaf out. */
	unsigned whole = 0, samples = 0;
	for (char *s = strstr(out, "vidmm-w0"); s; s = strstr(s + 1, "vidmm-w0")) {
		char *end = strstr(s, "\n\n");
		size_t len = end ? (size_t)(end - s) : strlen(s);
		char save = s[len];
		s[len] = 0;
		samples++;
		if (strstr(s, "vidmm_") && strstr(s, "worker") && strstr(s, "start_thread"))
			whole++;
		s[len] = save;
	}
	printf("%u samples of vidmm-w0, %u with vidmm_*, worker and start_thread in the stack\n",
	       samples, whole);
	assert_true(samples > 0);
	assert_true(whole > 0);
	free(out);
	vt_rmtree(dir);
	free(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("TIMELINE-WELL-FORMED", timeline_well_formed),
		VT_CASE("TIMELINE-BAD-PATH", timeline_bad_path),
		VT_CASE("USDT-PROBES-PRESENT", usdt_probes_present),
		VT_CASE("USDT-PROBE-FIRES", usdt_probe_fires),
		VT_CASE("PERF-STACKS", perf_stacks),
	};
	return VT_MAIN("test_perf", cases);
}
