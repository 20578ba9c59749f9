/* SPDX-License-Identifier: MIT */
/*
 * test_analyze.c - the eviction lab's offline analysis (bench/offline.h,
 * bench/analyze.h, `vidmm-bench analyze`).
 *
 * Owns: BELADY-SIZE-OPTIMAL-SMALL, BOUND-IS-LOWER, ANALYZE-REAL-TRACE,
 * TRACE-V1-STILL-REPLAYS, ANALYZE-BAD-INPUT.
 * Must not: share the bound's or the policies' code with the checks: the
 * exact optimum and Belady's MIN here are brute force over resident sets,
 * and the linear program behind FOO-L is solved by enumerating integral
 * points (its constraint matrix is an interval matrix, so an optimum is
 * integral), not by the greedy offline.c uses.
 *
 * The small traces are written in the trace format by the test itself: each
 * allocation is created on the line before its first use (so the first use
 * costs nothing anywhere), then used by single- or double-reference submits;
 * sizes are whole pages and the profile's visible local segment is a page,
 * so a capacity of k pages holds any k pages' worth of allocations apart
 * from fragmentation.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "vt.h"
#include "vt_proc.h"
#include "analyze.h"
#include "core/vidmm.h"
#include "offline.h"

#define PAGE ((uint64_t)4096)
#define MAXOBJ 8
#define MAXSTEP 24

struct small {
	unsigned nobj, nstep;
	uint64_t pages[MAXOBJ];
	unsigned req[MAXSTEP][2]; /* objects used at each step */
	unsigned nreq[MAXSTEP];
	uint64_t line[MAXSTEP];   /* the step's line in the trace */
	uint64_t create_line[MAXOBJ];
	uint64_t last_line;
};

static const char *header =
	"{\"vidmm_trace\":1,\"workload\":\"test\",\"seed\":1,\"threads\":1,\"verify\":false,"
	"\"paging_mode\":\"window\",\"driver\":\"emu\",\"profile\":{\"name\":\"tiny\","
	"\"local_visible\":4096,\"local_invisible\":1044480,\"pcie_snooped\":33554432,"
	"\"pcie_unsnooped\":33554432,\"paging\":8388608,\"sysmem\":134217728,"
	"\"sysmem_reserve\":8388608,\"swap\":0,\"page_size\":4096,\"gart_entry_bytes\":4,"
	"\"gart_levels\":3,\"copy_engines\":1,\"tlb_entries\":64,\"paging_snooped\":true},"
	"\"params\":{}}\n";

/* Write s as a trace at path, numbering its lines as the analysis will. */
static void write_trace(struct small *s, const char *path)
{
	FILE *f = fopen(path, "w");
	bool created[MAXOBJ] = { false };
	unsigned id[MAXOBJ], nid = 0; /* trace ids number the creates in order */
	uint64_t ln = 1;

	assert_non_null(f);
	fputs(header, f);
	for (unsigned t = 0; t < s->nstep; t++) {
		for (unsigned k = 0; k < s->nreq[t]; k++) {
			unsigned o = s->req[t][k];

			if (created[o])
				continue;
			created[o] = true;
			id[o] = nid++;
			fprintf(f, "[\"c\",%u,%" PRIu64 ",0,2,0,[],0]\n", id[o], s->pages[o] * PAGE);
			s->create_line[o] = ++ln;
		}
		fprintf(f, "[\"s\",4,%u,0,[", t);
		for (unsigned k = 0; k < s->nreq[t]; k++)
			fprintf(f, "%s[%u,3]", k ? "," : "", id[s->req[t][k]]);
		fprintf(f, "],0]\n");
		s->line[t] = ++ln;
	}
	for (unsigned o = 0; o < s->nobj; o++)
		if (created[o]) {
			fprintf(f, "[\"d\",%u,0]\n", id[o]);
			ln++;
		}
	s->last_line = ln;
	assert_int_equal(fclose(f), 0);
}

static void gen(struct vt_rng *r, struct small *s, bool uniform, unsigned nobj, unsigned nstep)
{
	memset(s, 0, sizeof(*s));
	s->nobj = nobj;
	s->nstep = nstep;
	for (unsigned o = 0; o < nobj; o++)
		s->pages[o] = uniform ? 1 : 1 + vt_rng_below(r, 3);
	for (unsigned t = 0; t < nstep; t++) {
		s->req[t][0] = (unsigned)vt_rng_below(r, nobj);
		s->nreq[t] = 1;
		if (!uniform && vt_rng_below(r, 5) == 0) {
			unsigned b = (unsigned)vt_rng_below(r, nobj);
			if (b != s->req[t][0]) {
				s->req[t][1] = b;
				s->nreq[t] = 2;
			}
		}
	}
}

/* ---- brute force: the exact optimum over resident sets ---- */

static uint64_t set_pages(const struct small *s, unsigned set)
{
	uint64_t p = 0;

	for (unsigned o = 0; o < s->nobj; o++)
		if (set & (1u << o))
			p += s->pages[o];
	return p;
}

/*
 * The least cost of serving every step with at most cap pages resident,
 * where bringing back an allocation that was used before costs cost(o)
 * (2 * its bytes for bytes moved, 1 for page-ins) and a first use is free.
 * Resident sets only change at steps: evicting earlier never helps.
 */
static uint64_t brute_opt(const struct small *s, uint64_t cap, bool count_pageins)
{
	static uint64_t best[1u << MAXOBJ], next[1u << MAXOBJ];
	const unsigned nset = 1u << s->nobj;
	unsigned seen = 0;

	for (unsigned x = 0; x < nset; x++)
		best[x] = UINT64_MAX;
	best[0] = 0;
	for (unsigned t = 0; t < s->nstep; t++) {
		unsigned q = 0;

		for (unsigned k = 0; k < s->nreq[t]; k++)
			q |= 1u << s->req[t][k];
		for (unsigned x = 0; x < nset; x++)
			next[x] = UINT64_MAX;
		for (unsigned r = 0; r < nset; r++) {
			if (best[r] == UINT64_MAX)
				continue;
			uint64_t c = best[r];
			for (unsigned o = 0; o < s->nobj; o++)
				if ((q & (1u << o)) && !(r & (1u << o)) && (seen & (1u << o)))
					c += count_pageins ? 1 : 2 * s->pages[o] * PAGE;
			/* keep any subset of what was resident, plus q */
			unsigned avail = r & ~q;
			for (unsigned keep = avail;; keep = (keep - 1) & avail) {
				unsigned nr = keep | q;
				if (set_pages(s, nr) <= cap && c < next[nr])
					next[nr] = c;
				if (!keep)
					break;
			}
		}
		memcpy(best, next, nset * sizeof(best[0]));
		seen |= q;
	}
	uint64_t m = UINT64_MAX;
	for (unsigned x = 0; x < nset; x++)
		if (best[x] < m)
			m = best[x];
	return m;
}

/*
 * FOO's linear program solved by enumeration: keep f_i pages (integral: the
 * interval matrix makes an integral optimum exist) of each interval between
 * consecutive uses, at most cap pages kept plus used on every line.
 */
struct ival {
	uint64_t from, to; /* lines strictly between the uses: [from, to] */
	uint64_t pages;
};

static uint64_t lp_best;

static void lp_search(const struct ival *iv, unsigned n, unsigned i, int64_t *room, uint64_t nlines,
		      uint64_t kept)
{
	if (i == n) {
		if (kept > lp_best)
			lp_best = kept;
		return;
	}
	for (uint64_t f = 0; f <= iv[i].pages; f++) {
		bool ok = true;
		for (uint64_t l = iv[i].from; l <= iv[i].to && l < nlines; l++)
			ok &= room[l] >= (int64_t)f;
		if (!ok)
			break;
		for (uint64_t l = iv[i].from; l <= iv[i].to && l < nlines; l++)
			room[l] -= (int64_t)f;
		lp_search(iv, n, i + 1, room, nlines, kept + f);
		for (uint64_t l = iv[i].from; l <= iv[i].to && l < nlines; l++)
			room[l] += (int64_t)f;
	}
}

/* Bytes FOO-L must report for s at cap pages, or UINT64_MAX if some line
 * needs more than cap. */
static uint64_t lp_bound(const struct small *s, uint64_t cap)
{
	struct ival iv[MAXSTEP * 2];
	int64_t room[MAXSTEP * 4];
	unsigned n = 0;
	uint64_t all = 0, last[MAXOBJ] = { 0 };

	for (uint64_t l = 0; l <= s->last_line; l++)
		room[l] = (int64_t)cap;
	for (unsigned t = 0; t < s->nstep; t++) {
		for (unsigned k = 0; k < s->nreq[t]; k++) {
			unsigned o = s->req[t][k];

			room[s->line[t]] -= (int64_t)s->pages[o];
			if (last[o]) {
				iv[n].from = last[o] + 1;
				iv[n].to = s->line[t] - 1;
				iv[n].pages = s->pages[o];
				all += s->pages[o];
				n++;
			}
			last[o] = s->line[t];
		}
		if (room[s->line[t]] < 0)
			return UINT64_MAX;
	}
	lp_best = 0;
	lp_search(iv, n, 0, room, s->last_line + 1, 0);
	return 2 * (all - lp_best) * PAGE;
}

static char *tmpdir;

static void trace_path(char *buf, size_t len, unsigned k)
{
	snprintf(buf, len, "%s/t%u.trace", tmpdir, k);
}

static void load(const char *path, struct offline **m)
{
	char err[512];

	if (offline_load(path, m, err, sizeof(err)))
		fail_msg("offline_load: %s", err);
}

/* all_served: fail the test if the manager could not serve a call (with
 * double-reference jobs, contiguity can leave no room for the second of two
 * pinned allocations at a tight capacity). */
static void replay(const char *path, const struct offline *m, uint64_t cap, const char *policy,
		   struct analyze_run *r, bool all_served)
{
	char err[512];

	if (analyze_replay(path, m, cap, policy, r, err, sizeof(err)))
		fail_msg("analyze_replay %s at %" PRIu64 " B: %s", policy, cap, err);
	if ((all_served && r->failed_calls) || r->integrity_errors)
		fail_msg("%s %s at %" PRIu64 " B: %" PRIu64 " calls failed, %" PRIu64 " integrity "
			 "errors", path, policy, cap, r->failed_calls, r->integrity_errors);
}

/* ---- the cases ---- */

static void test_belady_optimal_small(void **state)
{
	struct vt_rng r;
	char path[600];
	unsigned checked = 0;

	(void)state;
	vt_rng_seed(&r, vt_seed("BELADY-SIZE-OPTIMAL-SMALL"));
	tmpdir = vt_mktmpdir("vidmm-belady");
	for (unsigned k = 0; k < 30; k++) {
		struct small s;
		struct offline *m;
		struct analyze_run run;
		unsigned nobj = 3 + (unsigned)vt_rng_below(&r, 4);
		uint64_t cap = 2 + vt_rng_below(&r, nobj - 2); /* pages: fewer than the objects */

		gen(&r, &s, true, nobj, 10 + (unsigned)vt_rng_below(&r, 12));
		trace_path(path, sizeof(path), k);
		write_trace(&s, path);
		load(path, &m);
		replay(path, m, cap * PAGE, "belady", &run, true);
		uint64_t min = brute_opt(&s, cap, true);
		if (run.page_ins != min) {
			fail_msg("trace %s, %" PRIu64 " pages: belady through the manager paged in %"
				 PRIu64 " times, Belady's MIN by brute force %" PRIu64, path, cap,
				 run.page_ins, min);
		}
		checked += min > 0;
		offline_free(m);
	}
	print_message("30 uniform-size traces: belady's page-ins equal MIN's on all (%u with a "
		      "page-in at all)\n", checked);
	assert_true(checked >= 10);
	vt_rmtree(tmpdir);
	free(tmpdir);
}

static void test_bound_is_lower(void **state)
{
	struct vt_rng r;
	char path[600];
	unsigned tight = 0, nontrivial = 0, runs = 0, unserved = 0;
	double worst_gap = 1;

	(void)state;
	vt_rng_seed(&r, vt_seed("BOUND-IS-LOWER"));
	tmpdir = vt_mktmpdir("vidmm-bound");
	for (unsigned k = 0; k < 200; k++) {
		struct small s;
		struct offline *m;
		struct offline_bound foo, pfoo;
		unsigned nobj = 2 + (unsigned)vt_rng_below(&r, 5);
		uint64_t total = 0, maxp = 0;

		gen(&r, &s, false, nobj, 6 + (unsigned)vt_rng_below(&r, 8));
		for (unsigned o = 0; o < nobj; o++) {
			total += s.pages[o];
			maxp = s.pages[o] > maxp ? s.pages[o] : maxp;
		}
		trace_path(path, sizeof(path), k);
		write_trace(&s, path);
		load(path, &m);
		/* from what one step needs to everything: always runnable */
		uint64_t need = 0;
		for (unsigned t = 0; t < s.nstep; t++) {
			uint64_t n = 0;
			for (unsigned j = 0; j < s.nreq[t]; j++)
				n += s.pages[s.req[t][j]];
			need = n > need ? n : need;
		}
		/* tight more often than not: most capacities then cost something */
		uint64_t cap = need + vt_rng_below(&r, (total - need) / 2 + 1);
		offline_bound(m, cap * PAGE, &foo);
		offline_bound_average(m, cap * PAGE, &pfoo);
		uint64_t lp = lp_bound(&s, cap), opt = brute_opt(&s, cap, false);

		assert_true(foo.feasible);
		if (foo.bytes != lp)
			fail_msg("%s at %" PRIu64 " pages: FOO-L %" PRIu64 " B, the linear program's "
				 "optimum by enumeration %" PRIu64 " B", path, cap, foo.bytes, lp);
		if (foo.bytes > opt)
			fail_msg("%s at %" PRIu64 " pages: bound %" PRIu64 " B above the exact optimum %"
				 PRIu64 " B", path, cap, foo.bytes, opt);
		if (pfoo.bytes > foo.bytes)
			fail_msg("%s: PFOO-L %" PRIu64 " B above FOO-L %" PRIu64 " B", path, pfoo.bytes,
				 foo.bytes);
		for (unsigned p = 0; vidmm_evict_policy_name(p); p++) {
			struct analyze_run run;

			replay(path, m, cap * PAGE, vidmm_evict_policy_name(p), &run, false);
			runs++;
			if (run.failed_calls) {
				unserved++; /* did less than the trace asks: no comparison */
				continue;
			}
			if (run.bytes_in + run.bytes_out < foo.bytes)
				fail_msg("%s at %" PRIu64 " pages: %s moved %" PRIu64 " B, below the bound %"
					 PRIu64 " B", path, cap, vidmm_evict_policy_name(p),
					 run.bytes_in + run.bytes_out, foo.bytes);
		}
		if (opt) {
			nontrivial++;
			tight += foo.bytes == opt;
			if ((double)opt / (double)(foo.bytes ? foo.bytes : 1) > worst_gap && foo.bytes)
				worst_gap = (double)opt / (double)foo.bytes;
		}
		offline_free(m);
	}
	print_message("200 traces: FOO-L equals the linear program's optimum on all and is below the "
		      "exact optimum on all; %u of %u with a cost are tight, worst optimum / bound "
		      "%.2f; below every policy's bytes in all %u replays that served every call (%u "
		      "did not: two pinned allocations and no contiguous room)\n", tight, nontrivial,
		      worst_gap, runs - unserved, unserved);
	assert_true(nontrivial >= 50);
	assert_true(unserved * 10 < runs);
	vt_rmtree(tmpdir);
	free(tmpdir);
}

static const char *src_root(void)
{
	const char *s = getenv("VIDMM_SOURCE_ROOT");

	if (!s)
		fail_msg("VIDMM_SOURCE_ROOT is not set (meson test sets it)");
	return s;
}

static void test_analyze_real_trace(void **state)
{
	struct vt_result *res = calloc(1, sizeof(*res));
	char trace[1024], out[1024];
	json_error_t je;
	json_t *root, *caps;
	char *dir = vt_mktmpdir("vidmm-analyze");

	(void)state;
	assert_non_null(res);
	snprintf(trace, sizeof(trace), "%s/traces/pytorch-cs336-step-r1.5.trace", src_root());
	snprintf(out, sizeof(out), "%s/a.json", dir);
	const char *args[] = { "analyze", trace, "--oversubscription", "1.25,1.5,2", "--out", out,
			       NULL };
	vt_run_bench(res, args);
	if (res->status != 0) {
		vt_show("analyze", res);
		fail_msg("analyze exited %d", res->status);
	}
	root = json_load_file(out, 0, &je);
	if (!root)
		fail_msg("%s: %s", out, je.text);
	caps = json_object_get(json_object_get(root, "analyze"), "capacities");
	assert_int_equal(json_array_size(caps), 3);
	for (size_t i = 0; i < json_array_size(caps); i++) {
		json_t *c = json_array_get(caps, i), *pol = json_object_get(c, "policies");
		json_t *b = json_object_get(c, "bound");
		const char *name;
		json_t *p;

		assert_true(json_integer_value(json_object_get(c, "capacity")) > 0);
		assert_true(json_is_true(json_object_get(b, "feasible")));
		assert_true(json_is_integer(json_object_get(b, "bytes")));
		assert_true(json_is_integer(json_object_get(b, "pfoo_l_bytes")));
		int64_t bound = json_integer_value(json_object_get(b, "bytes"));
		assert_true(bound > 0); /* the peak is above every capacity */
		assert_true(json_integer_value(json_object_get(b, "pfoo_l_bytes")) <= bound);
		assert_int_equal(json_object_size(pol), 7);
		json_object_foreach(pol, name, p) {
			int64_t moved = json_integer_value(json_object_get(p, "bytes_moved"));

			assert_true(json_is_integer(json_object_get(p, "bytes_paged_in")));
			assert_true(json_is_integer(json_object_get(p, "bytes_paged_out")));
			assert_true(json_is_integer(json_object_get(p, "page_ins")));
			assert_int_equal(json_integer_value(json_object_get(p, "failed_calls")), 0);
			assert_int_equal(json_integer_value(json_object_get(p, "integrity_errors")), 0);
			assert_int_equal(json_integer_value(json_object_get(p, "bytes_swapped")), 0);
			if (moved < bound)
				fail_msg("capacity %zu: %s moved %" PRId64 " B, below the bound %" PRId64,
					 i, name, moved, bound);
			assert_true(json_real_value(json_object_get(p, "vs_bound")) >= 1.0);
			assert_true(json_is_real(json_object_get(p, "vs_belady")));
		}
		assert_true(json_real_value(json_object_get(json_object_get(pol, "belady"), "vs_belady")) ==
			    1.0);
	}
	/* and the table on stdout */
	assert_non_null(strstr(res->out, "lower bound"));
	assert_non_null(strstr(res->out, "belady"));
	json_decref(root);
	vt_rmtree(dir);
	free(dir);
	free(res);
}

/*
 * The traces in traces/ are version 1, recorded under placement policy 1:
 * each replays with no integrity error and no call that then succeeded and
 * now fails. And a trace recorded now replays to the same counters exactly.
 */
static void test_trace_v1_still_replays(void **state)
{
	static const char *const traces[] = {
		"pytorch-cs336-step-r1.5.trace", "pytorch-cs336-step-r3.5-verify.trace",
		"pytorch-cs336-step-resident.trace", "vma-doc-example.trace",
		"vma-inexor-example.trace",
	};
	struct vt_result *res = calloc(1, sizeof(*res));
	char path[1024], rec[1024];
	char *dir = vt_mktmpdir("vidmm-v1");

	(void)state;
	assert_non_null(res);
	for (size_t i = 0; i < sizeof(traces) / sizeof(traces[0]); i++) {
		snprintf(path, sizeof(path), "%s/traces/%s", src_root(), traces[i]);
		const char *args[] = { "replay", path, "--quiet", NULL };
		vt_run_bench(res, args);
		if (res->status != 0 || !strstr(res->out, "no integrity errors, no call that succeeded "
							  "then fails now")) {
			vt_show(traces[i], res);
			fail_msg("%s does not replay", traces[i]);
		}
	}
	snprintf(rec, sizeof(rec), "%s/now.trace", dir);
	const char *rargs[] = { "run", "oversubscribe", "--ops", "400", "--seed", "7", "--record", rec,
				"--quiet", NULL };
	vt_run_bench(res, rargs);
	if (res->status != 0) {
		vt_show("record", res);
		fail_msg("recording failed");
	}
	const char *pargs[] = { "replay", rec, "--quiet", NULL };
	vt_run_bench(res, pargs);
	if (res->status != 0 || !strstr(res->out, "final statistics match the recording")) {
		vt_show("replay of a fresh recording", res);
		fail_msg("a fresh recording does not replay exactly");
	}
	vt_rmtree(dir);
	free(dir);
	free(res);
}

static void test_analyze_bad_input(void **state)
{
	struct vt_result *res = calloc(1, sizeof(*res));
	char trace[1024], bad[1024];
	char *dir = vt_mktmpdir("vidmm-analyze-bad");
	static const struct {
		const char *opt, *val, *says;
	} cases[] = {
		{ "--oversubscription", "0", "--oversubscription" },
		{ "--oversubscription", "1.5,,2", "--oversubscription" },
		{ "--capacity", "lots", "--capacity" },
		{ "--capacities", "1M,2Q", "--capacities" },
		{ "--policies", "lru,nope", "--policies" },
		{ "--capacity", "1000", "--capacity" },
		{ "--oversubscription", "1000", "--oversubscription" },
		{ "--out", "/nonexistent/dir/a.json", "--out" },
	};

	(void)state;
	assert_non_null(res);
	snprintf(trace, sizeof(trace), "%s/traces/vma-doc-example.trace", src_root());
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[] = { "analyze", trace, cases[i].opt, cases[i].val, NULL };
		vt_run_bench(res, args);
		if (res->status != 2 || !strstr(res->err, cases[i].says)) {
			vt_show(cases[i].opt, res);
			fail_msg("analyze %s %s: exit %d, not 2 naming %s", cases[i].opt, cases[i].val,
				 res->status, cases[i].says);
		}
	}
	/* a file that is not a trace, and a trace cut mid-line */
	snprintf(bad, sizeof(bad), "%s/bad.trace", dir);
	FILE *f = fopen(bad, "w");
	assert_non_null(f);
	fputs("{\"vidmm_trace\":1}\n[\"c\",0,4096,0,2,0,[],0]\n[\"s\",4,0,0,[[0,", f);
	fclose(f);
	const char *args[] = { "analyze", bad, NULL };
	vt_run_bench(res, args);
	if (res->status != 2 || !strstr(res->err, "bad.trace:3")) {
		vt_show("cut trace", res);
		fail_msg("a cut trace: exit %d, not 2 naming the line", res->status);
	}
	const char *args2[] = { "analyze", NULL };
	vt_run_bench(res, args2);
	assert_int_equal(res->status, 2);
	/* lines the replay would refuse are refused up front, with no output */
	static const char *const bad_lines[] = {
		"[\"c\",5,4096,0,2,0,[],0]\n",          /* id far ahead of the creates */
		"[\"c\",0,4096,0,2,[],0]\n",            /* a field missing */
		"[\"c\",0,4096,0,2,0,[],0]\n[\"s\",4,0,0,[[0]],0]\n", /* a ref without access */
		"[\"c\",0,4096,0,2,0,[],0]\n[\"c\",0,4096,0,2,0,[],0]\n", /* created twice */
	};
	char outp[1100];
	snprintf(outp, sizeof(outp), "%s/out.json", dir);
	for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		f = fopen(bad, "w");
		assert_non_null(f);
		fputs("{\"vidmm_trace\":1,\"seed\":1,\"threads\":1,\"paging_mode\":\"window\","
		      "\"profile\":{\"name\":\"tiny\"}}\n", f);
		fputs(bad_lines[i], f);
		fclose(f);
		const char *a3[] = { "analyze", bad, "--out", outp, NULL };
		vt_run_bench(res, a3);
		if (res->status != 2 || !strstr(res->err, "bad.trace:") || vt_exists(outp)) {
			vt_show(bad_lines[i], res);
			fail_msg("bad line %zu: exit %d, not 2 naming the line with no output", i,
				 res->status);
		}
	}
	vt_rmtree(dir);
	free(dir);
	free(res);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		VT_CASE("BELADY-SIZE-OPTIMAL-SMALL", test_belady_optimal_small),
		VT_CASE("BOUND-IS-LOWER", test_bound_is_lower),
		VT_CASE("ANALYZE-REAL-TRACE", test_analyze_real_trace),
		VT_CASE("TRACE-V1-STILL-REPLAYS", test_trace_v1_still_replays),
		VT_CASE("ANALYZE-BAD-INPUT", test_analyze_bad_input),
	};

	return VT_MAIN("analyze", cases);
}
