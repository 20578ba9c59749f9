/* SPDX-License-Identifier: MIT */
/*
 * analyze.c - `vidmm-bench analyze TRACE` (analyze.h).
 *
 * Owns: the command's options, the capacities studied, one replay per
 * (capacity, policy), the table and the results JSON. Must not: model the
 * manager (every figure but the bound comes from the real manager replaying
 * the trace), or change how a replay runs except through trace.h's analysis
 * switches (local-only placement, the oracle).
 *
 * Capacity means local memory: the profile's visible and invisible local
 * segments are resized in their ratio to the capacity, every allocation is
 * placed there only (so the PCIe segments, which a job could use in place,
 * do not add room the bound does not know of), system memory is made large
 * enough that nothing is swapped, and there is no swap file. Bytes moved is
 * bytes_paged_out + bytes_paged_in.
 */
#include "analyze.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "drivers/chip.h"
#include "platform.h"
#include "rfile.h"
#include "runner.h"
#include "trace.h"
#include "units.h"

#define MAX_CAPS 16
#define MAX_POLICIES 16
#define EXIT_USAGE 2

struct oracle {
	const struct offline *m;
	struct trace_replay *tr;
};

static uint64_t oracle_next_use(void *arg, vidmm_handle_t h)
{
	const struct oracle *o = arg;
	int64_t id = trace_replay_id_of(o->tr, h);

	return id < 0 ? UINT64_MAX : offline_next_use(o->m, id, trace_replay_line(o->tr));
}

static uint64_t round_down(uint64_t v, uint64_t a)
{
	return v / a * a;
}

/*
 * Bytes the manager keeps for itself in local memory (the GART's tables live
 * in the CPU-visible local segment): measured on a manager built from p with
 * room to spare, since they depend on the PCIe sizes, not on local's.
 */
static int driver_local_bytes(const struct vidmm_profile *p, uint64_t *out, char *err, size_t len)
{
	/* One analysis replays one profile at many capacities: measure once.
	 * The key is the profile with its local sizes left out. */
	static struct vidmm_profile key;
	static uint64_t known;
	static bool have;
	struct vidmm_profile q = *p;
	struct vidmm_profile k;

	memcpy(&k, p, sizeof(k)); /* bytes, padding included, for memcmp */
	k.local_visible = k.local_invisible = 0;
	if (have && !memcmp(&k, &key, sizeof(k))) {
		*out = known;
		return 0;
	}
	struct platform_opts po = { .no_swap = true, .no_background_reclaim = true };
	struct vidmm_segment_info si[VIDMM_MAX_SEGMENTS];
	struct vidmm_stats st;
	struct platform pl;
	uint32_t n = 0;
	int ret;

	q.local_visible += 64ull << 20;
	ret = platform_open_opts(&q, "emu", &po, &pl, err, len);
	if (ret)
		return ret;
	*out = 0;
	if (!vidmm_query_segments(pl.vm, si, VIDMM_MAX_SEGMENTS, &n) && !vidmm_query_stats(pl.vm, &st))
		for (uint32_t i = 0; i < n && i < VIDMM_MAX_SEGMENTS; i++)
			if (si[i].flags & VIDMM_SEG_LOCAL)
				*out += st.seg[si[i].id].total - st.seg[si[i].id].free;
	platform_close(&pl);
	memcpy(&key, &k, sizeof(key));
	known = *out;
	have = true;
	return 0;
}

/* The profile at capacity cap: local segments in their ratio, at least a
 * page each, plus what the manager keeps there for itself; room in system
 * memory for everything twice; no swap. */
static int resize(struct vidmm_profile *p, uint64_t cap, uint64_t peak, char *err, size_t len)
{
	uint64_t pg = p->page_size ? p->page_size : 4096, local = p->local_visible + p->local_invisible;
	uint64_t vis;

	cap = round_down(cap, pg);
	if (cap < pg) {
		snprintf(err, len, "analyze: capacity %" PRIu64 " B: at least a page (%" PRIu64
			 " B) is needed", cap, pg);
		return -EINVAL;
	}
	/* The visible segment's share may round to nothing: it still holds
	 * the manager's own tables (added below). */
	vis = local ? round_down((uint64_t)((double)cap * (double)p->local_visible / (double)local), pg)
		    : cap / 2;
	if (p->local_invisible && vis > cap - pg)
		vis = cap - pg;
	p->local_visible = vis;
	p->local_invisible = cap - vis;
	uint64_t own;
	int ret = driver_local_bytes(p, &own, err, len);
	if (ret)
		return ret;
	p->local_visible += own;
	uint64_t need = round_down(2 * peak + p->sysmem_reserve + (64ull << 20), pg);
	if (p->sysmem < need)
		p->sysmem = need;
	p->swap = 0;
	return 0;
}

int analyze_replay(const char *path, const struct offline *m, uint64_t capacity,
		   const char *policy, struct analyze_run *out, char *err, size_t len)
{
	struct run_config c;
	struct run_result res;
	struct trace_replay *tr = NULL;
	struct oracle o;
	struct timespec t0, t1;
	int ret;

	memset(&c, 0, sizeof(c));
	memset(out, 0, sizeof(*out));
	ret = trace_replay_open(path, &c, &tr, err, len);
	if (ret)
		return ret;
	snprintf(c.driver, sizeof(c.driver), "emu");
	c.stats = false;
	c.host_limit = 1; /* a replay's counters do not depend on the machine's load */
	ret = resize(&c.profile, capacity, offline_peak(m), err, len);
	if (!ret)
		ret = cli_evict_policy(policy, c.evict_policy, sizeof(c.evict_policy), err, len);
	if (ret) {
		trace_replay_close(tr);
		return -EINVAL;
	}
	trace_replay_set_evict_policy(tr, policy);
	trace_replay_set_local_only(tr, true);
	o.m = m;
	o.tr = tr;
	if (!strcmp(policy, "belady")) {
		c.next_use = oracle_next_use;
		c.next_use_arg = &o;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = runner_run(&c, &res, err, len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!ret && (res.workload_error || trace_replay_error(tr))) {
		snprintf(err, len, "analyze: replay of %s failed: %s", path,
			 trace_replay_error(tr) ? trace_replay_error(tr) : strerror(-res.workload_error));
		runner_result_free(&res);
		ret = -EINVAL;
	} else if (!ret) {
		out->bytes_in = res.st.bytes_paged_in;
		out->bytes_out = res.st.bytes_paged_out;
		out->page_ins = res.st.page_ins;
		out->page_outs = res.st.page_outs;
		out->swapped = res.st.bytes_swapped_out + res.st.bytes_swapped_in;
		out->failed_calls = trace_replay_failed_now(tr);
		out->integrity_errors = res.integrity_errors;
		out->check_failed = res.check_failed || res.undocumented;
		out->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		runner_result_free(&res);
	}
	trace_replay_close(tr);
	return ret;
}

/* ---- the command ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vidmm-bench analyze TRACE [--oversubscription X,Y,...] [--capacity BYTES]\n"
		"                           [--capacities A,B,...] [--policies P,Q,...]\n"
		"                           [--out FILE.json] [--quiet]\n"
		"\n"
		"The eviction lab's offline analysis. At each capacity of local memory, replays\n"
		"TRACE through the manager on the emulated GPU under each eviction policy, and\n"
		"under belady (an offline policy: the allocation whose next use is furthest away\n"
		"goes first), every allocation placed in local memory only; and computes a lower\n"
		"bound on the bytes any policy must page out and in at that capacity (FOO-L, the\n"
		"linear relaxation of FOO; PFOO-L beside it: Berger, Beckmann, Harchol-Balter,\n"
		"SIGMETRICS 2018). Prints bytes moved per policy beside the bound and belady.\n"
		"\n"
		"  --oversubscription X,..  capacities as the trace's peak live bytes / X\n"
		"                           (default 1.25,1.5,2,3)\n"
		"  --capacity BYTES         one capacity (suffixes K, M, G: KiB, MiB, GiB)\n"
		"  --capacities A,B,...     several\n"
		"  --policies P,Q,...       default: every policy (vidmm-bench list) and belady\n"
		"  --out FILE.json          write every figure (vidmm-bench report draws it)\n"
		"  --quiet                  no table\n"
		"\n"
		"Exit status: 0, 1 a replay failed, 2 bad usage or a bad trace.\n");
}

/* "48M", "1.5G", "65536": bytes. */
static int parse_bytes(const char *opt, const char *s, uint64_t *out, char *err, size_t len)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v > 0)) {
		snprintf(err, len, "%s: '%s' is not a size (bytes, or with K, M, G)", opt, s);
		return -EINVAL;
	}
	if (*end == 'K' || *end == 'k')
		v *= 1024, end++;
	else if (*end == 'M' || *end == 'm')
		v *= 1024 * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		v *= 1024.0 * 1024 * 1024, end++;
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end || v >= 0x1p62) {
		snprintf(err, len, "%s: '%s' is not a size (bytes, or with K, M, G)", opt, s);
		return -EINVAL;
	}
	*out = (uint64_t)v;
	return 0;
}

/* Split a comma list into at most max items. */
static int split(const char *opt, const char *s, char items[][64], unsigned max, unsigned *n,
		 char *err, size_t len)
{
	const char *p = s;

	*n = 0;
	while (*p) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);

		if (!l || l >= 64 || *n == max) {
			snprintf(err, len, "%s: '%s': %s", opt, s,
				 *n == max ? "too many items" : "an empty or overlong item");
			return -EINVAL;
		}
		memcpy(items[*n], p, l);
		items[*n][l] = 0;
		(*n)++;
		p += l + (c ? 1 : 0);
		if (c && !*p) {
			snprintf(err, len, "%s: '%s': an empty item", opt, s);
			return -EINVAL;
		}
	}
	if (!*n) {
		snprintf(err, len, "%s: empty", opt);
		return -EINVAL;
	}
	return 0;
}

struct cap {
	uint64_t bytes;
	double over; /* peak / bytes */
	struct offline_bound bound, avg;
	struct analyze_run run[MAX_POLICIES];
	bool ran[MAX_POLICIES];
	int belady; /* index of the belady run, or -1 */
};

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : (a ? INFINITY : 1.0);
}

static json_t *jnum_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

int analyze_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "oversubscription", required_argument, NULL, 'x' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "capacities", required_argument, NULL, 'C' },
		{ "policies", required_argument, NULL, 'p' },
		{ "policy", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char items[MAX_CAPS > MAX_POLICIES ? MAX_CAPS : MAX_POLICIES][64];
	char policy[MAX_POLICIES][32], err[PATH_MAX + 256], ebuf[200];
	double over[MAX_CAPS] = { 1.25, 1.5, 2, 3 };
	uint64_t capb[MAX_CAPS];
	unsigned nover = 4, ncapb = 0, npol = 0, n;
	const char *out = NULL, *path;
	bool quiet = false, by_bytes = false;
	struct rfile rf = { 0 };
	struct offline *m = NULL;
	struct cap *caps = NULL;
	unsigned ncaps;
	int c, rc = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 'x':
			if (split("--oversubscription", optarg, items, MAX_CAPS, &n, err, sizeof(err)))
				goto usage_err;
			for (unsigned i = 0; i < n; i++) {
				char *end;
				errno = 0;
				over[i] = strtod(items[i], &end);
				if (errno || *end || !(over[i] >= 0.01 && over[i] <= 1000)) {
					snprintf(err, sizeof(err), "--oversubscription: '%s' is not a ratio "
						 "between 0.01 and 1000", items[i]);
					goto usage_err;
				}
			}
			nover = n;
			by_bytes = false;
			break;
		case 'c':
		case 'C':
			if (split(c == 'c' ? "--capacity" : "--capacities", optarg, items,
				  c == 'c' ? 1 : MAX_CAPS, &n, err, sizeof(err)))
				goto usage_err;
			for (unsigned i = 0; i < n; i++)
				if (parse_bytes(c == 'c' ? "--capacity" : "--capacities", items[i], &capb[i],
						err, sizeof(err)))
					goto usage_err;
			ncapb = n;
			by_bytes = true;
			break;
		case 'p':
			if (split("--policies", optarg, items, MAX_POLICIES, &n, err, sizeof(err)))
				goto usage_err;
			for (unsigned i = 0; i < n; i++)
				if (cli_evict_policy(items[i], policy[i], sizeof(policy[i]), err,
						     sizeof(err))) {
					/* its message names --evict-policy: say ours */
					char *names = strstr(err, " (");
					char tail[400];

					snprintf(tail, sizeof(tail), "%s", names ? names : "");
					snprintf(err, sizeof(err), "--policies: '%s' is not a policy%s",
						 items[i], tail);
					goto usage_err;
				}
			npol = n;
			break;
		case 'o':
			out = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			snprintf(err, sizeof(err), "%s: needs a value", argv[optind - 1]);
			goto usage_err;
		default:
			snprintf(err, sizeof(err), "unknown option '%s'", argv[optind - 1]);
			goto usage_err;
		}
	}
	if (optind + 1 != argc) {
		snprintf(err, sizeof(err), optind >= argc ? "missing TRACE" : "unexpected argument '%s'",
			 optind < argc ? argv[optind + 1] : "");
		goto usage_err;
	}
	path = argv[optind];
	if (!npol) {
		for (unsigned i = 0; vidmm_evict_policy_name(i) && npol < MAX_POLICIES; i++)
			snprintf(policy[npol++], sizeof(policy[0]), "%s", vidmm_evict_policy_name(i));
	}
	if (offline_load(path, &m, err, sizeof(err))) {
		fprintf(stderr, "vidmm-bench %s\n", err);
		return EXIT_USAGE;
	}
	if (!offline_peak(m)) {
		fprintf(stderr, "vidmm-bench analyze: %s: no allocation is ever created: nothing to "
			"analyze\n", path);
		offline_free(m);
		return EXIT_USAGE;
	}
	/* Creates and destroys only (alloc-churn, frag): no use to bound, but
	 * placing a new allocation may still evict. */
	if (!offline_uses(m) && !quiet)
		printf("analyze: %s: no allocation is ever used: the bound is 0; bytes moved come "
		       "from placing new allocations\n", path);
	/* The replay's reading of the header (profile, seed, policy): a trace
	 * it refuses is refused now, before any work. */
	{
		struct run_config probe;
		struct trace_replay *tr = NULL;

		memset(&probe, 0, sizeof(probe));
		if (trace_replay_open(path, &probe, &tr, err, sizeof(err))) {
			fprintf(stderr, "vidmm-bench analyze: %s\n", err);
			offline_free(m);
			return EXIT_USAGE;
		}
		trace_replay_close(tr);
	}
	/* Every output opened before any work: a bad path fails now. */
	if (out && rfile_open(&rf, out, "--out", err, sizeof(err))) {
		fprintf(stderr, "vidmm-bench analyze: %s\n", err);
		offline_free(m);
		return EXIT_USAGE;
	}
	ncaps = by_bytes ? ncapb : nover;
	caps = calloc(ncaps, sizeof(*caps));
	if (!caps) {
		rfile_abort(&rf);
		offline_free(m);
		return 1;
	}
	for (unsigned i = 0; i < ncaps; i++) {
		uint64_t pg = offline_page_size(m);

		caps[i].bytes = by_bytes ? capb[i] : (uint64_t)((double)offline_peak(m) / over[i]);
		caps[i].bytes = caps[i].bytes / pg * pg;
		if (!caps[i].bytes) {
			fprintf(stderr, "vidmm-bench analyze: %s: a capacity under a page (%" PRIu64
				" B) leaves no room at all%s\n",
				by_bytes ? (ncapb > 1 ? "--capacities" : "--capacity")
					 : "--oversubscription", pg,
				by_bytes ? "" : " (peak live / the ratio)");
			rfile_abort(&rf);
			free(caps);
			offline_free(m);
			return EXIT_USAGE;
		}
		caps[i].over = (double)offline_peak(m) / (double)(caps[i].bytes ? caps[i].bytes : 1);
		offline_bound(m, caps[i].bytes, &caps[i].bound);
		offline_bound_average(m, caps[i].bytes, &caps[i].avg);
	}

	if (!quiet)
		printf("analyze: %s: %" PRIu64 " allocations, %" PRIu64 " uses, peak live %s, one "
		       "line needs at most %s\n", path, offline_allocations(m), offline_uses(m),
		       units_bytes(ebuf, (double)offline_peak(m)),
		       units_bytes(ebuf + 100, (double)offline_max_step(m)));
	for (unsigned i = 0; i < ncaps; i++) {
		struct cap *k = &caps[i];
		char b1[UNITS_BUF], b2[UNITS_BUF];

		k->belady = -1;

		for (unsigned p = 0; p < npol; p++) {
			int r = analyze_replay(path, m, k->bytes, policy[p], &k->run[p], err,
					       sizeof(err));

			if (r == -EINVAL) {
				/* the trace (or a capacity) is bad: nothing to write */
				fprintf(stderr, "vidmm-bench %s\n", err);
				rfile_abort(&rf);
				free(caps);
				offline_free(m);
				return EXIT_USAGE;
			}
			if (r) {
				fprintf(stderr, "vidmm-bench %s\n", err);
				rc = 1;
				continue;
			}
			k->ran[p] = true;
			if (!strcmp(policy[p], "belady"))
				k->belady = (int)p;
			if (k->run[p].integrity_errors || k->run[p].check_failed)
				rc = 1;
		}
		if (quiet)
			continue;
		printf("\ncapacity %s (peak / capacity %.2fx): lower bound %s moved (FOO-L; PFOO-L %s)%s\n",
		       units_bytes(b1, (double)k->bytes), k->over,
		       k->bound.feasible ? units_bytes(b2, (double)k->bound.bytes) : "-",
		       k->avg.feasible ? units_bytes(ebuf, (double)k->avg.bytes) : "-",
		       k->bound.feasible ? "" : " (a line needs more than the capacity)");
		printf("  %-11s %11s %11s %11s %9s %8s %8s %7s %7s\n", "policy", "moved", "paged in",
		       "paged out", "page-ins", "/bound", "/belady", "failed", "s");
		for (unsigned p = 0; p < npol; p++) {
			const struct analyze_run *r = &k->run[p];
			uint64_t moved = r->bytes_in + r->bytes_out;
			char b3[UNITS_BUF], b4[UNITS_BUF], b5[UNITS_BUF];

			if (!k->ran[p]) {
				printf("  %-11s (replay failed)\n", policy[p]);
				continue;
			}
			double rb = k->bound.feasible ? ratio(moved, k->bound.bytes) : NAN;
			double rl = k->belady >= 0 ? ratio(moved, k->run[k->belady].bytes_in +
								  k->run[k->belady].bytes_out) : NAN;
			printf("  %-11s %11s %11s %11s %9" PRIu64 " %8s %8s %7" PRIu64 " %7.2f%s\n",
			       policy[p], units_bytes(b3, (double)moved), units_bytes(b4, (double)r->bytes_in),
			       units_bytes(b5, (double)r->bytes_out), r->page_ins,
			       isfinite(rb) ? (snprintf(b1, sizeof(b1), "%.2f", rb), b1) : "-",
			       isfinite(rl) ? (snprintf(b2, sizeof(b2), "%.2f", rl), b2) : "-",
			       r->failed_calls, r->seconds,
			       r->integrity_errors ? "  INTEGRITY ERRORS"
			       : r->check_failed ? "  CHECK FAILED (vidmm_check or an undocumented errno)"
						  : "");
		}
	}

	if (out) {
		json_t *root = json_object(), *a = json_object(), *jc = json_array();

		json_object_set_new(a, "trace", json_string(path));
		json_object_set_new(a, "allocations", json_integer((json_int_t)offline_allocations(m)));
		json_object_set_new(a, "uses", json_integer((json_int_t)offline_uses(m)));
		json_object_set_new(a, "peak_live_bytes", json_integer((json_int_t)offline_peak(m)));
		json_object_set_new(a, "max_line_bytes", json_integer((json_int_t)offline_max_step(m)));
		json_object_set_new(a, "bound", json_string("FOO-L, FOO's linear relaxation (Berger, "
							    "Beckmann, Harchol-Balter, SIGMETRICS 2018)"));
		json_object_set_new(a, "bytes_moved", json_string("bytes_paged_out + bytes_paged_in"));
		for (unsigned i = 0; i < ncaps; i++) {
			const struct cap *k = &caps[i];
			json_t *jk = json_object(), *jp = json_object(), *jb = json_object();
			int belady = k->belady;

			json_object_set_new(jk, "capacity", json_integer((json_int_t)k->bytes));
			json_object_set_new(jk, "oversubscription", json_real(k->over));
			json_object_set_new(jb, "feasible", json_boolean(k->bound.feasible));
			json_object_set_new(jb, "bytes", k->bound.feasible
							     ? json_integer((json_int_t)k->bound.bytes)
							     : json_null());
			json_object_set_new(jb, "intervals", json_integer((json_int_t)k->bound.intervals));
			json_object_set_new(jb, "kept_intervals", json_real(k->bound.kept));
			json_object_set_new(jb, "bytes_if_none_kept",
					    json_integer((json_int_t)k->bound.all_out));
			json_object_set_new(jb, "pfoo_l_bytes", k->avg.feasible
							     ? json_integer((json_int_t)k->avg.bytes)
							     : json_null());
			json_object_set_new(jk, "bound", jb);
			for (unsigned p = 0; p < npol; p++) {
				const struct analyze_run *r = &k->run[p];
				uint64_t moved = r->bytes_in + r->bytes_out;
				json_t *x;

				if (!k->ran[p])
					continue;
				x = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f}",
					      "bytes_moved", (json_int_t)moved,
					      "bytes_paged_in", (json_int_t)r->bytes_in,
					      "bytes_paged_out", (json_int_t)r->bytes_out,
					      "page_ins", (json_int_t)r->page_ins,
					      "page_outs", (json_int_t)r->page_outs,
					      "bytes_swapped", (json_int_t)r->swapped,
					      "failed_calls", (json_int_t)r->failed_calls,
					      "integrity_errors", (json_int_t)r->integrity_errors,
					      "seconds", r->seconds);
				json_object_set_new(x, "vs_bound", k->bound.feasible
					? jnum_or_null(ratio(moved, k->bound.bytes)) : json_null());
				json_object_set_new(x, "vs_belady", belady >= 0
					? jnum_or_null(ratio(moved, k->run[belady].bytes_in +
								       k->run[belady].bytes_out))
					: json_null());
				json_object_set_new(jp, policy[p], x);
			}
			json_object_set_new(jk, "policies", jp);
			json_array_append_new(jc, jk);
		}
		json_object_set_new(a, "capacities", jc);
		json_object_set_new(root, "analyze", a);
		char *text = json_dumps(root, JSON_INDENT(1));
		json_decref(root);
		if (!text || rfile_put(&rf, text, err, sizeof(err))) {
			fprintf(stderr, "vidmm-bench analyze: %s\n", text ? err : "out of memory");
			rfile_abort(&rf);
			rc = 1;
		} else if (!quiet) {
			printf("\nanalyze: wrote %s\n", out);
		}
		free(text);
	}
	free(caps);
	offline_free(m);
	return rc;

usage_err:
	fprintf(stderr, "vidmm-bench analyze: %s\n", err);
	usage(stderr);
	return EXIT_USAGE;
}
