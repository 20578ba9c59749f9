/* SPDX-License-Identifier: MIT */
/*
 * compare.c - `vidmm-bench compare BASE.json NEW.json [--threshold PCT]
 * [--alpha A]` (see compare.h).
 *
 * Owns: matching runs across two documents and the verdict per metric.
 * Must not: edit the documents, or claim significance for a metric that has
 * one sample per side.
 *
 * The test, and why. Latency: a two-sided Mann-Whitney U test computed from
 * the two runs' histograms for the op kind. Every bucket is a group of tied
 * values at its midpoint (both sides use the same log-linear buckets, so tie
 * groups line up exactly), U comes from cumulative counts in one merge pass,
 * and the p-value from the tie-corrected normal approximation (the counts are
 * thousands to millions, far past where the approximation is good).
 * Mann-Whitney rather than Kolmogorov-Smirnov because the question is "did
 * the new build get slower", a shift of location, which MWU is most
 * sensitive to and gives a direction for (AUC = P(new > base)); KS answers
 * "are the shapes different at all", has no direction, and its bucketed
 * statistic is conservative in ways that are hard to state.
 *
 * Caveat, printed with the table: latency samples within one run are not
 * independent (a page-out slows the next hundred calls), so the p-values are
 * optimistic, and with 10^5 samples even a 1% shift is "significant". So a
 * latency regression needs both p < alpha and a median shift of at least the
 * threshold: statistical significance tells it from noise, the threshold tells
 * it from irrelevance.
 *
 * Scalars (ops/s, units/s, page-outs per kop, ...) have one value per run: no
 * variance, so no test; they get the threshold alone and say so. Correctness
 * counters (integrity errors, dummy-page faults, swap checksum failures) are
 * regressions whenever they grow: no threshold excuses a wrong byte.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "report.h"
#include "rjson.h"

#define EXIT_REGRESSED 1
#define EXIT_USAGE 2


/* ---- Mann-Whitney U from histograms ---------------------------------------------- */

struct pt {
	double v, n;
};

static int pt_cmp(const void *a, const void *b)
{
	double x = ((const struct pt *)a)->v, y = ((const struct pt *)b)->v;
	return x < y ? -1 : x > y;
}

/* Buckets as (midpoint, count), sorted; the harness writes them sorted, but a
 * document edited by a script need not be. */
static int load_points(const json_t *h, struct pt **out, size_t *np, double *total)
{
	const json_t *bk = json_object_get(h, "buckets");
	size_t n = json_array_size(bk), k = 0;
	struct pt *p;

	*out = NULL;
	*np = 0;
	*total = 0;
	if (!json_is_array(bk) || n == 0)
		return -EINVAL;
	p = calloc(n, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *b = json_array_get(bk, i);
		const json_t *lo = json_array_get(b, 0), *hi = json_array_get(b, 1),
			     *c = json_array_get(b, 2);
		if (!json_is_number(lo) || !json_is_number(hi) || !json_is_number(c) ||
		    json_number_value(c) < 0) {
			free(p);
			return -EINVAL;
		}
		if (json_number_value(c) == 0)
			continue;
		p[k].v = (json_number_value(lo) + json_number_value(hi)) / 2;
		p[k].n = json_number_value(c);
		*total += p[k].n;
		k++;
	}
	if (!k) {
		free(p);
		return -EINVAL;
	}
	qsort(p, k, sizeof(*p), pt_cmp);
	*out = p;
	*np = k;
	return 0;
}

static double median(const struct pt *p, size_t n, double total)
{
	double c = 0;
	for (size_t i = 0; i < n; i++) {
		c += p[i].n;
		if (c >= total / 2)
			return p[i].v;
	}
	return n ? p[n - 1].v : 0;
}

int compare_histograms(const json_t *base, const json_t *new_, struct compare_mwu *o)
{
	struct pt *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	double n1, n2;
	int ret;

	memset(o, 0, sizeof(*o));
	o->p = 1;
	ret = load_points(base, &a, &na, &n1);
	if (!ret)
		ret = load_points(new_, &b, &nb, &n2);
	if (ret) {
		free(a);
		return ret;
	}
	o->n_base = n1;
	o->n_new = n2;
	o->median_base = median(a, na, n1);
	o->median_new = median(b, nb, n2);

	/* One merge pass over distinct values: each new sample beats every base
	 * sample below its value and ties half of those at it. */
	double u = 0, below = 0, ties = 0;
	size_t i = 0, j = 0;
	while (i < na || j < nb) {
		double v = (j >= nb || (i < na && a[i].v <= b[j].v)) ? a[i].v : b[j].v;
		double ca = 0, cb = 0;
		while (i < na && a[i].v == v)
			ca += a[i++].n;
		while (j < nb && b[j].v == v)
			cb += b[j++].n;
		u += cb * (below + ca / 2);
		below += ca;
		double t = ca + cb;
		ties += t * t * t - t;
	}
	free(a);
	free(b);

	double N = n1 + n2, mu = n1 * n2 / 2;
	double var = n1 * n2 / 12 * ((N + 1) - (N > 1 ? ties / (N * (N - 1)) : 0));
	o->auc = u / (n1 * n2);
	if (var > 0) {
		/* continuity correction toward the mean */
		double d = u - mu;
		double cc = d > 0.5 ? d - 0.5 : d < -0.5 ? d + 0.5 : 0;
		o->z = cc / sqrt(var);
		o->p = erfc(fabs(o->z) / sqrt(2.0));
	} else {
		/* every sample in one tie group: nothing can differ */
		o->z = 0;
		o->p = 1;
	}
	return 0;
}

/* ---- matching ------------------------------------------------------------------- */

/* workload + params (key order normalised) + threads + paging mode */
static char *run_key(const json_t *r)
{
	const json_t *cfg = json_object_get(r, "config");
	char *p = json_dumps(json_object_get(r, "params") ? json_object_get(r, "params")
							  : json_null(),
			     JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	size_t len = strlen(rj_str(r, "workload")) + (p ? strlen(p) : 0) + 128;
	char *k = malloc(len);
	if (k)
		snprintf(k, len, "%s %s threads=%.0f paging=%s", rj_str(r, "workload"), p ? p : "{}",
			 rj_num(cfg, "threads"), rj_str(cfg, "paging_mode"));
	free(p);
	return k;
}

/* ---- verdicts -------------------------------------------------------------------- */

struct tally {
	unsigned regressed, improved, same;
};

static const char *verdict(struct tally *t, int dir)
{
	if (dir > 0) {
		t->regressed++;
		return "**regressed**";
	}
	if (dir < 0) {
		t->improved++;
		return "improved";
	}
	t->same++;
	return "no significant change";
}

static void fmt_change(char *buf, size_t len, double base, double nw)
{
	if (base == 0 && nw == 0)
		snprintf(buf, len, "0%%");
	else if (base == 0)
		snprintf(buf, len, "new (base 0)");
	else
		snprintf(buf, len, "%+.1f%%", (nw - base) / base * 100);
}

/* One scalar, one sample per side: threshold only. higher_better picks the
 * direction of "regressed". */
static void row_scalar(struct tally *t, const char *run, const char *name, const json_t *mb,
		       const json_t *mn, const char *key, bool higher_better, double thr)
{
	const json_t *vb = json_object_get(mb, key), *vn = json_object_get(mn, key);
	if (!json_is_number(vb) || !json_is_number(vn))
		return;
	double b = json_number_value(vb), n = json_number_value(vn);
	double rel = b != 0 ? (n - b) / fabs(b) * 100 : (n > 0 ? INFINITY : n < 0 ? -INFINITY : 0);
	int dir = 0;
	if (fabs(rel) >= thr && rel != 0)
		dir = (rel < 0) == higher_better ? 1 : -1;
	char ch[32];
	fmt_change(ch, sizeof(ch), b, n);
	printf("| %s | %s | %.6g | %.6g | %s | no test possible (one sample); threshold %g%% | - | %s |\n",
	       run, name, b, n, ch, thr, verdict(t, dir));
}

/* Correctness counters: any growth is a regression. */
static void row_correctness(struct tally *t, const char *run, const char *name, const json_t *mb,
			    const json_t *mn, const char *key)
{
	const json_t *vb = json_object_get(mb, key), *vn = json_object_get(mn, key);
	if (!json_is_number(vb) || !json_is_number(vn))
		return;
	double b = json_number_value(vb), n = json_number_value(vn);
	char ch[32];
	fmt_change(ch, sizeof(ch), b, n);
	printf("| %s | %s | %.0f | %.0f | %s | correctness counter: any increase | - | %s |\n", run,
	       name, b, n, ch, verdict(t, n > b ? 1 : n < b ? -1 : 0));
}

static int rows_latency(struct tally *t, const char *run, const json_t *rb, const json_t *rn,
			double thr, double alpha)
{
	const json_t *hb = json_object_get(rb, "histograms"), *hn = json_object_get(rn, "histograms");
	const char *k;
	const json_t *v;

	json_object_foreach((json_t *)hb, k, v) {
		const json_t *w = json_object_get(hn, k);
		struct compare_mwu m;
		char mb[32], mn[32], ch[32], pv[32];
		if (!w) {
			printf("| %s | latency %s | (samples) | - | only in base | - | - | not compared |\n",
			       run, k);
			continue;
		}
		int r = compare_histograms(v, w, &m);
		if (r == -ENOMEM)
			return r;
		if (r) {
			printf("| %s | latency %s | - | - | - | histogram malformed or empty | - | "
			       "not compared |\n", run, k);
			continue;
		}
		rj_fmt_ns(mb, sizeof(mb), m.median_base);
		rj_fmt_ns(mn, sizeof(mn), m.median_new);
		fmt_change(ch, sizeof(ch), m.median_base, m.median_new);
		if (m.p > 0)
			snprintf(pv, sizeof(pv), "%.3g", m.p);
		else
			snprintf(pv, sizeof(pv), "< 1e-300");
		double shift = m.median_base > 0 ? (m.median_new - m.median_base) / m.median_base * 100
						 : 0;
		int dir = 0;
		if (m.p < alpha && fabs(shift) >= thr && shift != 0)
			dir = shift > 0 ? 1 : -1;
		printf("| %s | latency %s (median) | %s | %s | %s | Mann-Whitney U, n=%.0f/%.0f, "
		       "P(new>base)=%.3f | %s | %s |\n", run, k, mb, mn, ch, m.n_base, m.n_new, m.auc,
		       pv, verdict(t, dir));
	}
	json_object_foreach((json_t *)hn, k, v) {
		if (!json_object_get(hb, k))
			printf("| %s | latency %s | - | (samples) | only in new | - | - | not compared |\n",
			       run, k);
	}
	return 0;
}

/* ---- command ---------------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vidmm-bench compare BASE.json NEW.json [--threshold PCT] [--alpha A]\n"
		"\n"
		"Matches the runs of two results documents by workload, params, threads and\n"
		"paging mode, and judges each key metric improved / regressed / no significant\n"
		"change, as a Markdown table on stdout.\n"
		"\n"
		"  latency per op kind   two-sided Mann-Whitney U test on the two histograms\n"
		"                        (tie-corrected normal approximation); regressed when\n"
		"                        p < alpha AND the median grew by >= PCT\n"
		"  ops/s, units/s, page-outs/ins, swap-outs/ins, allocation failures per kop\n"
		"                        one sample per side: no test possible, threshold only\n"
		"  integrity errors, dummy-page faults, swap checksum failures\n"
		"                        any increase is a regression\n"
		"\n"
		"  --threshold PCT       relative change that matters (default 5)\n"
		"  --alpha A             significance level of the test (default 0.001)\n"
		"\n"
		"exit status: 0 nothing regressed, 1 something regressed, 2 bad usage or input\n"
		"(unreadable, malformed, not a results document, no runs in common).\n");
}

static int parse_d(const char *opt, const char *s, double lo, double hi, bool lo_open, double *v)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(d) || d < lo || d > hi || (lo_open && d == lo)) {
		fprintf(stderr, "vidmm-bench compare: %s: invalid value '%s'\n", opt, s);
		return -EINVAL;
	}
	*v = d;
	return 0;
}

static void doc_line(const char *what, const char *path, const json_t *doc)
{
	const json_t *c = json_object_get(doc, "context");
	printf("- %s: `%s` (version %s, git %s, %s, seed %.0f)\n", what, path, rj_str(c, "version"),
	       rj_str(c, "git_rev"), rj_str(c, "started_at"), rj_num(c, "seed"));
}

int compare_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threshold", required_argument, NULL, 't' },
		{ "alpha", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double thr = 5, alpha = 0.001;
	json_t *db = NULL, *dn = NULL;
	char err[1024];
	char **kn = NULL;
	bool *used = NULL;
	int ch, status = EXIT_USAGE;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (parse_d("--threshold", optarg, 0, 1e6, false, &thr))
				return EXIT_USAGE;
			break;
		case 'a':
			if (parse_d("--alpha", optarg, 0, 1, true, &alpha))
				return EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "vidmm-bench compare: unknown option or missing value '%s'\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "vidmm-bench compare: expected BASE.json NEW.json "
				"(vidmm-bench compare --help)\n");
		return EXIT_USAGE;
	}
	const char *pb = argv[optind], *pn = argv[optind + 1];
	if (report_load(pb, &db, err, sizeof(err)) || report_load(pn, &dn, err, sizeof(err))) {
		fprintf(stderr, "vidmm-bench compare: %s\n", err);
		goto out;
	}
	const json_t *rb = json_object_get(db, "runs"), *rn = json_object_get(dn, "runs");
	size_t nb = json_array_size(rb), nn = json_array_size(rn);
	kn = calloc(nn, sizeof(*kn));
	used = calloc(nn, sizeof(*used));
	if (!kn || !used)
		goto oom;
	for (size_t j = 0; j < nn; j++)
		if (!(kn[j] = run_key(json_array_get(rn, j))))
			goto oom;

	printf("# vidmm-bench compare\n\n");
	doc_line("base", pb, db);
	doc_line("new", pn, dn);
	printf("\nthreshold %g%%, alpha %g. Latency: two-sided Mann-Whitney U on the histogram "
	       "buckets; a latency regression needs p < alpha and a median shift >= the "
	       "threshold (samples within a run are correlated, so p-values are optimistic). "
	       "Scalars have one sample per side: threshold only.\n\n", thr, alpha);
	printf("| run | metric | base | new | change | test | p-value | verdict |\n");
	printf("|---|---|---|---|---|---|---|---|\n");

	struct tally t = { 0 };
	size_t matched = 0;
	char *unmatched = NULL;
	size_t ulen = 0;
	FILE *um = open_memstream(&unmatched, &ulen);
	if (!um)
		goto oom;
	for (size_t i = 0; i < nb; i++) {
		const json_t *b = json_array_get(rb, i);
		char *k = run_key(b);
		size_t j;
		if (!k) {
			fclose(um);
			free(unmatched);
			goto oom;
		}
		for (j = 0; j < nn; j++)
			if (!used[j] && strcmp(kn[j], k) == 0)
				break;
		if (j == nn) {
			fprintf(um, "- only in base: run %zu, %s\n", i, k);
			free(k);
			continue;
		}
		free(k);
		used[j] = true;
		matched++;
		const json_t *n = json_array_get(rn, j);
		char run[160];
		snprintf(run, sizeof(run), "%s #%zu", rj_str(b, "workload"), i);
		const json_t *mb = json_object_get(b, "metrics"), *mn = json_object_get(n, "metrics");
		row_scalar(&t, run, "ops/s", mb, mn, "ops_per_sec", true, thr);
		row_scalar(&t, run, "units/s", mb, mn, "units_per_sec", true, thr);
		if (rows_latency(&t, run, b, n, thr, alpha)) {
			fclose(um);
			free(unmatched);
			goto oom;
		}
		row_scalar(&t, run, "page-outs per kop", mb, mn, "page_outs_per_kop", false, thr);
		row_scalar(&t, run, "page-ins per kop", mb, mn, "page_ins_per_kop", false, thr);
		row_scalar(&t, run, "swap-outs per kop", mb, mn, "swap_outs_per_kop", false, thr);
		row_scalar(&t, run, "swap-ins per kop", mb, mn, "swap_ins_per_kop", false, thr);
		row_scalar(&t, run, "alloc failures per kop", mb, mn, "alloc_failures_per_kop", false,
			   thr);
		row_correctness(&t, run, "integrity errors", mb, mn, "integrity_errors");
		row_correctness(&t, run, "dummy-page faults", mb, mn, "dummy_page_faults");
		row_correctness(&t, run, "swap checksum failures", mb, mn, "swap_checksum_failures");
	}
	for (size_t j = 0; j < nn; j++)
		if (!used[j])
			fprintf(um, "- only in new: run %zu, %s\n", j, kn[j]);
	fclose(um);
	if (unmatched && *unmatched)
		printf("\nUnmatched runs (not compared):\n\n%s", unmatched);
	free(unmatched);
	if (!matched) {
		fflush(stdout);
		fprintf(stderr, "vidmm-bench compare: no runs in common (matched by workload, params, "
				"threads, paging mode)\n");
		goto out;
	}
	printf("\n**%u regressed**, %u improved, %u no significant change (%zu run%s matched).\n",
	       t.regressed, t.improved, t.same, matched, matched == 1 ? "" : "s");
	status = t.regressed ? EXIT_REGRESSED : 0;
	goto out;
oom:
	fprintf(stderr, "vidmm-bench compare: out of memory\n");
out:
	if (kn)
		for (size_t j = 0; j < json_array_size(json_object_get(dn, "runs")); j++)
			free(kn[j]);
	free(kn);
	free(used);
	json_decref(db);
	json_decref(dn);
	return status;
}
