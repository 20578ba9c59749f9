/* SPDX-License-Identifier: MIT */
/*
 * report.c - `vidmm-bench report RESULTS.json [--md F] [--html F]` (see
 * report.h): Markdown (bench/results.c's summary plus per-run latency tables)
 * and a self-contained HTML page whose charts are SVG generated here.
 *
 * Owns: the HTML layout and the charts. Must not: touch the input file, write
 * an output other than through a temporary file renamed into place (a report
 * is whole or absent), or reach anything outside the page (no scripts, no
 * fonts, no URLs: the page must open offline and from an archive).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "rfile.h"
#include "rjson.h"

#define EXIT_USAGE 2

/* ---- text buffer ----------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t n, cap;
	bool oom;
};

static void sb(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		int w = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
		va_end(ap);
		if (w < 0)
			return;
		if (b->p && b->n + (size_t)w < b->cap) {
			b->n += (size_t)w;
			return;
		}
		size_t nc = (b->cap + (size_t)w + 1) * 2;
		char *np = realloc(b->p, nc);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
}

static char *sb_take(struct sbuf *b)
{
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	if (!b->p)
		return strdup("");
	return b->p;
}

/* HTML text and attribute values: every string from the document goes through
 * here (workload names, params, host CPU, the command line). */
static void sb_esc(struct sbuf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': sb(b, "&amp;"); break;
		case '<': sb(b, "&lt;"); break;
		case '>': sb(b, "&gt;"); break;
		case '"': sb(b, "&quot;"); break;
		case '\'': sb(b, "&#39;"); break;
		default: sb(b, "%c", *s); break;
		}
	}
}


/* Axis labels: 3 significant digits with a binary (bytes) or SI suffix. */
static void fmt_qty(char *buf, size_t len, double v, bool bytes)
{
	static const char *const bin[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	static const char *const si[] = { "", "k", "M", "G", "T" };
	double base = bytes ? 1024.0 : 1000.0;
	int i = 0;

	while (fabs(v) >= base && i < 4) {
		v /= base;
		i++;
	}
	snprintf(buf, len, "%.3g%s%s", v, bytes ? " " : "", bytes ? bin[i] : si[i]);
}

/* ---- loading ----------------------------------------------------------------- */

int report_load(const char *path, json_t **doc, char *err, size_t len)
{
	json_error_t je;
	struct stat st;

	*doc = NULL;
	/* A directory or unreadable file is "cannot read", not "malformed". */
	if (stat(path, &st)) {
		int e = errno;
		snprintf(err, len, "%s: cannot read: %s", path, strerror(e));
		return -e;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, len, "%s: cannot read: %s", path, strerror(EISDIR));
		return -EISDIR;
	}
	if (access(path, R_OK)) {
		int e = errno;
		snprintf(err, len, "%s: cannot read: %s", path, strerror(e));
		return -e;
	}
	json_t *d = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!d) {
		snprintf(err, len, "%s: malformed JSON (line %d, column %d): %s", path, je.line,
			 je.column, je.text);
		/* jansson's text is one line already; keep the promise regardless */
		for (char *c = err; *c; c++)
			if (*c == '\n')
				*c = ' ';
		return -EINVAL;
	}
	/* A bare run ({"workload":..., "metrics":...}) is accepted as a one-run
	 * document, so a run extracted by a script still renders. */
	if (json_is_object(d) && json_is_string(json_object_get(d, "workload")) &&
	    json_is_object(json_object_get(d, "metrics"))) {
		json_t *w = json_object();
		json_t *runs = json_array();
		json_object_set_new(w, "context", json_object());
		json_array_append_new(runs, d);
		json_object_set_new(w, "runs", runs);
		d = w;
	}
	const json_t *runs = json_object_get(d, "runs");
	const char *why = NULL;
	if (!json_is_object(d))
		why = "the top level is not an object";
	else if (!json_is_object(json_object_get(d, "context")))
		why = "no \"context\" object";
	else if (!json_is_array(runs))
		why = "no \"runs\" array";
	else if (json_array_size(runs) == 0)
		why = "\"runs\" is empty";
	for (size_t i = 0; !why && i < json_array_size(runs); i++) {
		const json_t *r = json_array_get(runs, i);
		if (!json_is_object(r) || !json_is_string(json_object_get(r, "workload")))
			why = "a run without a \"workload\"";
		else if (!json_is_object(json_object_get(r, "metrics")))
			why = "a run without \"metrics\"";
	}
	if (why) {
		snprintf(err, len, "%s: not a vidmm-bench results document (%s)", path, why);
		json_decref(d);
		return -EINVAL;
	}
	*doc = d;
	return 0;
}

/* ---- Markdown -------------------------------------------------------------------- */

/* Latency kinds in the document's order (jansson keeps insertion order when
 * it loads an object, which is the harness's: its own kinds first). */
static void md_latency(struct sbuf *b, const json_t *r, size_t idx)
{
	const json_t *lat = json_object_get(r, "latency");
	const char *k;
	const json_t *v;

	sb(b, "\n### %s (run %zu): latency per operation kind\n\n", rj_str(r, "workload"), idx);
	if (!json_object_size(lat)) {
		sb(b, "No latency samples (run with statistics off?).\n");
		return;
	}
	sb(b, "| op | count | mean | p50 | p90 | p99 | p99.9 | max |\n");
	sb(b, "|---|---|---|---|---|---|---|---|\n");
	json_object_foreach((json_t *)lat, k, v) {
		char m[32], p50[32], p90[32], p99[32], p999[32], mx[32];
		rj_fmt_ns(m, sizeof(m), rj_num(v, "mean_ns"));
		rj_fmt_ns(p50, sizeof(p50), rj_num(v, "p50_ns"));
		rj_fmt_ns(p90, sizeof(p90), rj_num(v, "p90_ns"));
		rj_fmt_ns(p99, sizeof(p99), rj_num(v, "p99_ns"));
		rj_fmt_ns(p999, sizeof(p999), rj_num(v, "p999_ns"));
		rj_fmt_ns(mx, sizeof(mx), rj_num(v, "max_ns"));
		sb(b, "| %s | %.0f | %s | %s | %s | %s | %s | %s |\n", k, rj_num(v, "count"), m, p50,
		   p90, p99, p999, mx);
	}
	const json_t *m = json_object_get(r, "metrics");
	sb(b, "\nswap-outs %.0f, swap-ins %.0f, minor faults %.0f, major faults %.0f\n",
	   rj_num(m, "swap_outs"), rj_num(m, "swap_ins"), rj_num(m, "minor_faults"),
	   rj_num(m, "major_faults"));
}

char *report_markdown(const json_t *doc, report_md_fn md)
{
	struct sbuf b = { 0 };
	const json_t *runs = json_object_get(doc, "runs");
	char *head = md ? md(doc) : NULL;

	if (md && !head)
		return NULL;
	sb(&b, "%s", head ? head : "# vidmm-bench results\n");
	free(head);
	sb(&b, "\n## Latency per operation kind\n");
	for (size_t i = 0; i < json_array_size(runs); i++)
		md_latency(&b, json_array_get(runs, i), i);
	return sb_take(&b);
}

/* ---- SVG charts ------------------------------------------------------------------ */

static const char *const palette[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};
#define NPAL (sizeof(palette) / sizeof(palette[0]))

#define CW 640.0   /* chart size in px: fits a laptop screen two-up */
#define CH 260.0
#define ML 70.0    /* margins: room for axis labels */
#define MR 150.0   /* legend */
#define MT 28.0
#define MB 36.0

/*
 * A line chart of n series over x (seconds). Each series a JSON array parallel
 * to x; missing or non-numeric points are skipped (readers ignore what they
 * do not understand).
 */
static void svg_lines(struct sbuf *b, const char *title, const json_t *x, const char *const *names,
		      const json_t *const *ys, size_t n, bool bytes)
{
	size_t np = json_array_size(x);
	double xmax = 0, ymax = 0;

	for (size_t i = 0; i < np; i++)
		xmax = fmax(xmax, json_number_value(json_array_get(x, i)));
	for (size_t s = 0; s < n; s++)
		for (size_t i = 0; i < json_array_size(ys[s]); i++)
			ymax = fmax(ymax, json_number_value(json_array_get(ys[s], i)));
	if (xmax <= 0)
		xmax = 1;
	if (ymax <= 0)
		ymax = 1;
	double pw = CW - ML - MR, ph = CH - MT - MB;

	sb(b, "<svg class=\"chart\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
	   "role=\"img\">\n<title>", CW, CH, CW, CH);
	sb_esc(b, title);
	sb(b, "</title>\n<text x=\"%.0f\" y=\"18\" class=\"ct\">", ML);
	sb_esc(b, title);
	sb(b, "</text>\n");
	/* axes and grid: 4 horizontal lines */
	for (int g = 0; g <= 4; g++) {
		double y = MT + ph - ph * g / 4.0;
		char lab[32];
		fmt_qty(lab, sizeof(lab), ymax * g / 4.0, bytes);
		sb(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
		   "<text x=\"%.1f\" y=\"%.1f\" class=\"yl\">%s</text>\n",
		   ML, y, ML + pw, y, ML - 4, y + 4, lab);
	}
	for (int g = 0; g <= 4; g++) {
		double xx = ML + pw * g / 4.0;
		sb(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"xl\">%.3g s</text>\n", xx, MT + ph + 16,
		   xmax * g / 4.0);
	}
	sb(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"frame\"/>\n", ML,
	   MT, pw, ph);
	if (np == 0)
		sb(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"empty\">no samples (run shorter than one "
		   "interval, or --no-stats)</text>\n", ML + pw / 2, MT + ph / 2);
	for (size_t s = 0; s < n; s++) {
		const char *col = palette[s % NPAL];
		size_t m = json_array_size(ys[s]) < np ? json_array_size(ys[s]) : np;
		if (m) {
			sb(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", col);
			for (size_t i = 0; i < m; i++) {
				const json_t *xv = json_array_get(x, i), *yv = json_array_get(ys[s], i);
				if (!json_is_number(xv) || !json_is_number(yv))
					continue;
				sb(b, "%.1f,%.1f ", ML + pw * json_number_value(xv) / xmax,
				   MT + ph - ph * json_number_value(yv) / ymax);
			}
			sb(b, "\"/>\n");
		}
		double ly = MT + 12 + 16.0 * (double)s;
		sb(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>"
		   "<text x=\"%.1f\" y=\"%.1f\" class=\"lg\">", ML + pw + 10, ly - 9, col,
		   ML + pw + 24, ly);
		sb_esc(b, names[s]);
		sb(b, "</text>\n");
	}
	sb(b, "</svg>\n");
}

/*
 * Grouped bars: per op kind p50, p99, p99.9 on a log10 axis (latencies of one
 * run span ns to ms; a linear axis would show one bar).
 */
static void svg_latency_bars(struct sbuf *b, const char *title, const json_t *lat)
{
	static const char *const pk[] = { "p50_ns", "p99_ns", "p999_ns" };
	static const char *const pn[] = { "p50", "p99", "p99.9" };
	size_t nk = json_object_size(lat);
	double lo = INFINITY, hi = 0;
	const char *k;
	const json_t *v;

	json_object_foreach((json_t *)lat, k, v) {
		for (int p = 0; p < 3; p++) {
			double x = rj_num(v, pk[p]);
			if (x > 0) {
				lo = fmin(lo, x);
				hi = fmax(hi, x);
			}
		}
	}
	if (!(hi > 0)) {
		lo = 1;
		hi = 10;
	}
	double d0 = floor(log10(lo)), d1 = ceil(log10(hi));
	if (d1 <= d0)
		d1 = d0 + 1;
	double gw = 66.0; /* group width: 3 bars and a gap */
	double pw = fmax(CW - ML - MR, gw * (double)nk), ph = CH - MT - MB - 14;
	double w = ML + pw + MR;

	sb(b, "<svg class=\"chart\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
	   "role=\"img\">\n<title>", w, CH, w, CH);
	sb_esc(b, title);
	sb(b, "</title>\n<text x=\"%.0f\" y=\"18\" class=\"ct\">", ML);
	sb_esc(b, title);
	sb(b, "</text>\n");
	for (double dd = d0; dd <= d1; dd++) {
		double y = MT + ph - ph * (dd - d0) / (d1 - d0);
		char lab[32];
		rj_fmt_ns(lab, sizeof(lab), pow(10, dd));
		sb(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
		   "<text x=\"%.1f\" y=\"%.1f\" class=\"yl\">%s</text>\n",
		   ML, y, ML + pw, y, ML - 4, y + 4, lab);
	}
	sb(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"frame\"/>\n", ML,
	   MT, pw, ph);
	if (!nk)
		sb(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"empty\">no latency samples</text>\n",
		   ML + pw / 2, MT + ph / 2);
	size_t g = 0;
	json_object_foreach((json_t *)lat, k, v) {
		double gx = ML + (double)g * gw + 6;
		for (int p = 0; p < 3; p++) {
			double x = rj_num(v, pk[p]);
			if (!(x > 0))
				continue;
			double hgt = ph * (log10(x) - d0) / (d1 - d0);
			char lab[32];
			rj_fmt_ns(lab, sizeof(lab), x);
			sb(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"16\" height=\"%.1f\" fill=\"%s\">"
			   "<title>", gx + 18.0 * p, MT + ph - hgt, fmax(hgt, 0.5), palette[p]);
			sb_esc(b, k);
			sb(b, " %s: %s</title></rect>\n", pn[p], lab);
		}
		sb(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"bl\" transform=\"rotate(20 %.1f %.1f)\">",
		   gx, MT + ph + 14, gx, MT + ph + 14);
		sb_esc(b, k);
		sb(b, "</text>\n");
		g++;
	}
	for (int p = 0; p < 3; p++) {
		double ly = MT + 12 + 16.0 * p;
		sb(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>"
		   "<text x=\"%.1f\" y=\"%.1f\" class=\"lg\">%s</text>\n", ML + pw + 10, ly - 9,
		   palette[p], ML + pw + 24, ly, pn[p]);
	}
	sb(b, "</svg>\n");
}

/* ---- HTML ------------------------------------------------------------------------ */

static const char css[] =
	"body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}"
	"table{border-collapse:collapse;margin:.6em 0}"
	"td,th{border:1px solid #ccc;padding:2px 8px;text-align:right;font-size:90%}"
	"th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}"
	"table.ctx td{text-align:left}"
	".fail{color:#b00;font-weight:bold}.ok{color:#070}"
	"svg.chart{margin:.4em 1em .4em 0;background:#fff}"
	".ct{font-size:13px;font-weight:bold}.yl{font-size:10px;text-anchor:end}"
	".xl{font-size:10px;text-anchor:middle}.lg{font-size:11px}.bl{font-size:10px}"
	".empty{font-size:12px;text-anchor:middle;fill:#888}"
	".grid{stroke:#e4e4e4}.frame{fill:none;stroke:#999}"
	"code{font-size:90%}";

/* A context value as text: scalars as they are, objects as k=v lists. */
static void html_value(struct sbuf *b, const json_t *v)
{
	char buf[64];

	/* absent keys render as "-": readers tolerate documents that lack them */
	if (!v) {
		sb(b, "-");
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING:
		sb_esc(b, json_string_value(v));
		break;
	case JSON_INTEGER:
		sb(b, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%.6g", json_real_value(v));
		sb(b, "%s", buf);
		break;
	case JSON_TRUE:
		sb(b, "true");
		break;
	case JSON_FALSE:
		sb(b, "false");
		break;
	case JSON_NULL:
		sb(b, "-");
		break;
	case JSON_ARRAY:
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				sb(b, " ");
			html_value(b, json_array_get(v, i));
		}
		break;
	case JSON_OBJECT: {
		const char *k;
		const json_t *e;
		bool first = true;
		json_object_foreach((json_t *)v, k, e) {
			sb(b, "%s", first ? "" : ", ");
			sb_esc(b, k);
			sb(b, "=");
			html_value(b, e);
			first = false;
		}
		break;
	}
	}
}

static void html_metric_row(struct sbuf *b, const char *name, const json_t *m, const char *k,
			    const char *unit)
{
	const json_t *v = json_object_get(m, k);
	if (!v)
		return;
	sb(b, "<tr><td>%s</td><td>", name);
	html_value(b, v);
	sb(b, "%s%s</td></tr>\n", unit[0] ? " " : "", unit);
}

static void html_run(struct sbuf *b, const json_t *r, size_t idx)
{
	const json_t *m = json_object_get(r, "metrics");
	const json_t *cfg = json_object_get(r, "config");
	const json_t *chk = json_object_get(r, "checks");
	const json_t *lat = json_object_get(r, "latency");
	const json_t *ts = json_object_get(r, "time_series");
	const char *wl = rj_str(r, "workload");
	const char *k;
	const json_t *v;
	char title[256];

	sb(b, "<section id=\"run%zu\">\n<h2>", idx);
	sb_esc(b, wl);
	sb(b, " <small>(run %zu", idx);
	if (json_is_string(json_object_get(r, "family"))) {
		sb(b, ", family ");
		sb_esc(b, rj_str(r, "family"));
	}
	sb(b, ")</small></h2>\n<p>");
	sb_esc(b, rj_str(r, "description"));
	sb(b, "</p>\n<p><b>params</b> <code>");
	html_value(b, json_object_get(r, "params"));
	sb(b, "</code><br><b>config</b> <code>");
	html_value(b, cfg);
	sb(b, "</code><br><b>check</b> ");
	if (!chk)
		sb(b, "-");
	else if (json_is_true(json_object_get(chk, "passed")))
		sb(b, "<span class=\"ok\">passed</span>");
	else {
		sb(b, "<span class=\"fail\">FAILED: ");
		sb_esc(b, rj_str(chk, "failure"));
		sb(b, "</span>");
	}
	sb(b, "</p>\n");

	sb(b, "<table><tr><th>metric</th><th>value</th></tr>\n");
	html_metric_row(b, "duration", m, "duration_s", "s");
	html_metric_row(b, "ops", m, "ops", "");
	html_metric_row(b, "ops/s", m, "ops_per_sec", "");
	html_metric_row(b, "units/s", m, "units_per_sec", rj_str(m, "unit"));
	html_metric_row(b, "allocation failures", m, "alloc_failures", "");
	html_metric_row(b, "job failures", m, "job_failures", "");
	html_metric_row(b, "page-outs", m, "page_outs", "");
	html_metric_row(b, "page-ins", m, "page_ins", "");
	html_metric_row(b, "bytes paged out", m, "bytes_paged_out", "B");
	html_metric_row(b, "bytes paged in", m, "bytes_paged_in", "B");
	html_metric_row(b, "swap-outs", m, "swap_outs", "");
	html_metric_row(b, "swap-ins", m, "swap_ins", "");
	html_metric_row(b, "swap checksum failures", m, "swap_checksum_failures", "");
	html_metric_row(b, "dummy-page faults", m, "dummy_page_faults", "");
	html_metric_row(b, "integrity errors", m, "integrity_errors", "");
	html_metric_row(b, "minor faults (process)", m, "minor_faults", "");
	html_metric_row(b, "major faults (process)", m, "major_faults", "");
	html_metric_row(b, "peak RSS", m, "peak_rss_kib", "KiB");
	sb(b, "</table>\n");

	const json_t *wm = json_object_get(r, "workload_metrics");
	if (json_object_size(wm)) {
		sb(b, "<p><b>workload metrics</b> <code>");
		html_value(b, wm);
		sb(b, "</code></p>\n");
	}

	if (json_object_size(lat)) {
		sb(b, "<table><tr><th>op</th><th>count</th><th>mean</th><th>p50</th><th>p90</th>"
		   "<th>p99</th><th>p99.9</th><th>max</th></tr>\n");
		json_object_foreach((json_t *)lat, k, v) {
			static const char *const cols[] = { "mean_ns", "p50_ns", "p90_ns",
							     "p99_ns", "p999_ns", "max_ns" };
			sb(b, "<tr><td>");
			sb_esc(b, k);
			sb(b, "</td><td>%.0f</td>", rj_num(v, "count"));
			for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
				char t[32];
				rj_fmt_ns(t, sizeof(t), rj_num(v, cols[c]));
				sb(b, "<td>%s</td>", t);
			}
			sb(b, "</tr>\n");
		}
		sb(b, "</table>\n");
	}

	/* charts: resident bytes per segment, system pages, latency bars */
	const json_t *t = json_object_get(ts, "t_s");
	const json_t *res = json_object_get(ts, "resident_bytes");
	size_t nseg = json_object_size(res);
	const char **names = calloc(nseg + 1, sizeof(*names));
	const json_t **ys = calloc(nseg + 1, sizeof(*ys));
	if (!names || !ys) {
		b->oom = true;
	} else {
		size_t s = 0;
		json_object_foreach((json_t *)res, k, v) {
			names[s] = k;
			ys[s++] = v;
		}
		snprintf(title, sizeof(title), "%s: resident bytes per segment", wl);
		svg_lines(b, title, t, names, ys, s, true);
		const char *sn[] = { "sysmem pages" };
		const json_t *sy[] = { json_object_get(ts, "sysmem_pages") };
		snprintf(title, sizeof(title), "%s: system memory pages", wl);
		svg_lines(b, title, t, sn, sy, 1, false);
	}
	free(names);
	free(ys);
	snprintf(title, sizeof(title), "%s: latency percentiles per op kind (log scale)", wl);
	svg_latency_bars(b, title, lat);
	sb(b, "</section>\n");
}

char *report_html(const json_t *doc)
{
	struct sbuf b = { 0 };
	const json_t *ctx = json_object_get(doc, "context");
	const json_t *runs = json_object_get(doc, "runs");
	const char *k;
	const json_t *v;

	sb(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	   "<title>vidmm-bench results");
	if (json_is_string(json_object_get(ctx, "suite"))) {
		sb(&b, ": suite ");
		sb_esc(&b, rj_str(ctx, "suite"));
	}
	sb(&b, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>vidmm-bench results</h1>\n",
	   css);
	sb(&b, "<h2>Context</h2>\n<table class=\"ctx\"><tr><th>key</th><th>value</th></tr>\n");
	json_object_foreach((json_t *)ctx, k, v) {
		sb(&b, "<tr><td>");
		sb_esc(&b, k);
		sb(&b, "</td><td>");
		html_value(&b, v);
		sb(&b, "</td></tr>\n");
	}
	sb(&b, "</table>\n");

	/* Overview: one line per run, linking to its section. */
	sb(&b, "<h2>Runs</h2>\n<table><tr><th>workload</th><th>threads</th><th>paging</th>"
	   "<th>ops/s</th><th>page-outs</th><th>page-ins</th><th>integrity errors</th>"
	   "<th>check</th></tr>\n");
	for (size_t i = 0; i < json_array_size(runs); i++) {
		const json_t *r = json_array_get(runs, i);
		const json_t *m = json_object_get(r, "metrics");
		const json_t *cfg = json_object_get(r, "config");
		const json_t *chk = json_object_get(r, "checks");
		bool ok = !chk || json_is_true(json_object_get(chk, "passed"));
		sb(&b, "<tr><td><a href=\"#run%zu\">", i);
		sb_esc(&b, rj_str(r, "workload"));
		sb(&b, "</a></td><td>%.0f</td><td>", rj_num(cfg, "threads"));
		sb_esc(&b, rj_str(cfg, "paging_mode"));
		sb(&b, "</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.0f</td>"
		   "<td class=\"%s\">%s</td></tr>\n", rj_num(m, "ops_per_sec"), rj_num(m, "page_outs"),
		   rj_num(m, "page_ins"), rj_num(m, "integrity_errors"), ok ? "ok" : "fail",
		   ok ? "ok" : "FAILED");
	}
	sb(&b, "</table>\n");
	for (size_t i = 0; i < json_array_size(runs); i++)
		html_run(&b, json_array_get(runs, i), i);
	sb(&b, "<p><small>Generated by vidmm-bench report from the results document; "
	   "derived, never edited.</small></p>\n</body>\n</html>\n");
	return sb_take(&b);
}

/* ---- command ------------------------------------------------------------------------ */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vidmm-bench report RESULTS.json [--md OUT.md] [--html OUT.html]\n"
		"\n"
		"Renders a results document (one run, or a suite's results.json) as a Markdown\n"
		"summary (context table, one table per workload family, latency per op kind)\n"
		"and/or a self-contained HTML page (inline CSS and SVG charts: resident bytes\n"
		"per segment and system pages over time, latency percentiles per op kind; no\n"
		"scripts, no external references). Without --md/--html the Markdown goes to\n"
		"stdout. Outputs are written to a temporary name and renamed: whole or absent.\n"
		"\n"
		"exit status: 0 ok, 2 bad usage, unreadable/malformed input, unwritable output.\n");
}

int report_main(int argc, char **argv, report_md_fn md)
{
	static const struct option opts[] = {
		{ "md", required_argument, NULL, 'm' },
		{ "html", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mdp = NULL, *htmlp = NULL, *in = NULL;
	struct rfile fm = { .fd = -1 }, fh = { .fd = -1 };
	char err[1024];
	json_t *doc = NULL;
	char *mtext = NULL, *htext = NULL;
	int ch, status = EXIT_USAGE;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			mdp = optarg;
			break;
		case 'H':
			htmlp = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "vidmm-bench report: unknown option or missing value '%s'\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vidmm-bench report: missing RESULTS.json (vidmm-bench report --help)\n");
		return EXIT_USAGE;
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "vidmm-bench report: unexpected argument '%s'\n", argv[optind + 1]);
		return EXIT_USAGE;
	}
	in = argv[optind];
	if ((mdp && !*mdp) || (htmlp && !*htmlp)) {
		fprintf(stderr, "vidmm-bench report: empty output path\n");
		return EXIT_USAGE;
	}
	if (report_load(in, &doc, err, sizeof(err))) {
		fprintf(stderr, "vidmm-bench report: %s\n", err);
		return EXIT_USAGE;
	}
	/* Outputs opened before rendering: an unwritable path fails first. */
	if ((mdp && rfile_open(&fm, mdp, "--md", err, sizeof(err))) ||
	    (htmlp && rfile_open(&fh, htmlp, "--html", err, sizeof(err)))) {
		fprintf(stderr, "vidmm-bench report: %s\n", err);
		goto out;
	}
	if (mdp || !htmlp) {
		mtext = report_markdown(doc, md);
		if (!mtext) {
			fprintf(stderr, "vidmm-bench report: out of memory\n");
			goto out;
		}
	}
	if (htmlp) {
		htext = report_html(doc);
		if (!htext) {
			fprintf(stderr, "vidmm-bench report: out of memory\n");
			goto out;
		}
	}
	if (!mdp && !htmlp) {
		fputs(mtext, stdout);
		status = fflush(stdout) ? EXIT_USAGE : 0;
		goto out;
	}
	/* Both written in full before either is renamed into place. */
	if ((mdp && rfile_write(&fm, mtext, err, sizeof(err))) ||
	    (htmlp && rfile_write(&fh, htext, err, sizeof(err))) ||
	    (mdp && rfile_commit(&fm, err, sizeof(err))) ||
	    (htmlp && rfile_commit(&fh, err, sizeof(err)))) {
		fprintf(stderr, "vidmm-bench report: %s\n", err);
		goto out;
	}
	status = 0;
out:
	rfile_abort(&fm);
	rfile_abort(&fh);
	free(mtext);
	free(htext);
	json_decref(doc);
	return status;
}
