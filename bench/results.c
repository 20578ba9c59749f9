/* SPDX-License-Identifier: MIT */
/*
 * results.c - results JSON, summary.md, atomic file writes (see results.h;
 * every key is documented in bench/RESULTS.md - change both together).
 *
 * Owns: the layout of results documents. Must not: remove or rename a key
 * (readers compare files across versions: add keys instead).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "results.h"
#include "metrics.h"
#include "perf.h"
#include "vidmm_version.h"
#include "reports/rjson.h"

/* ---- context ------------------------------------------------------------------ */

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) == 0) {
			char *c = strchr(line, ':');
			if (c) {
				c++;
				while (*c == ' ' || *c == '\t')
					c++;
				c[strcspn(c, "\n")] = 0;
				snprintf(buf, len, "%s", c);
			}
			break;
		}
	}
	fclose(f);
}

json_t *results_context(const struct run_config *c, const struct run_result *res, int argc,
			char **argv)
{
	const char *topology = res ? res->topology : NULL;
	json_t *o = json_object();
	char cpu[256], when[64];
	struct utsname u;
	time_t now = time(NULL);
	struct tm tm;

	json_object_set_new(o, "format", json_integer(RESULTS_FORMAT));
	json_object_set_new(o, "version", json_string(VIDMM_VERSION));
	json_object_set_new(o, "git_rev", json_string(VIDMM_GIT_REV));
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(o, "started_at", json_string(when));
	json_object_set_new(o, "driver", json_string(c->driver));
	json_object_set_new(o, "profile", metrics_profile_json(&c->profile));
	json_object_set_new(o, "paging_mode",
			    json_string(c->paging_mode == VIDMM_PAGING_BOUNCE ? "bounce" : "window"));
	cpu_model(cpu, sizeof(cpu));
	json_object_set_new(o, "host_cpu", json_string(cpu));
	json_object_set_new(o, "host_cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	if (uname(&u) == 0) {
		char k[600];
		snprintf(k, sizeof(k), "%s %s %s", u.sysname, u.release, u.machine);
		json_object_set_new(o, "kernel", json_string(k));
	} else {
		json_object_set_new(o, "kernel", json_string("unknown"));
	}
	json_object_set_new(o, "hw_perf_counters", json_boolean(perf_hw_counters_available()));
	/* What the swap store obtained (from the run's final statistics):
	 * null when there is no swap file. */
	bool swap = res && res->st.swap_io_mode[0];
	json_object_set_new(o, "swap_available", json_boolean(swap));
	if (swap)
		json_object_set_new(o, "io_uring", json_pack("{s:i,s:s,s:s,s:I}",
			"setup_flags", (int)res->st.swap_ring_flags,
			"io_mode", res->st.swap_io_mode, "buffer_mode", res->st.swap_buffer_mode,
			"swap_file_bytes", (json_int_t)res->st.swap_file_bytes));
	else
		json_object_set_new(o, "io_uring", json_null());
	json_object_set_new(o, "swap_dir", c->swap_dir[0] ? json_string(c->swap_dir) : json_null());
	json_object_set_new(o, "seed", json_integer((json_int_t)c->seed));
	json_object_set_new(o, "topology", topology && *topology ? json_string(topology) : json_null());
	json_t *cmd = json_array();
	for (int i = 0; i < argc; i++)
		json_array_append_new(cmd, json_string(argv[i]));
	json_object_set_new(o, "command", cmd);
	return o;
}

/* ---- a run -------------------------------------------------------------------- */

static void rate(json_t *m, const char *name, uint64_t v, double secs, uint64_t ops)
{
	char k[64];

	json_object_set_new(m, name, json_integer((json_int_t)v));
	snprintf(k, sizeof(k), "%s_per_sec", name);
	json_object_set_new(m, k, json_real(secs > 0 ? (double)v / secs : 0.0));
	snprintf(k, sizeof(k), "%s_per_kop", name);
	json_object_set_new(m, k, json_real(ops ? (double)v * 1000.0 / (double)ops : 0.0));
}

static const char *const vm_hist_names[RUN_VM_HISTS] = {
	[VIDMM_HIST_PAGE_OUT] = "vidmm_page_out",
	[VIDMM_HIST_PAGE_IN] = "vidmm_page_in",
	[VIDMM_HIST_SUBMIT] = "vidmm_submit",
	[VIDMM_HIST_LOCK] = "vidmm_lock",
	[VIDMM_HIST_SWAP_OUT] = "vidmm_swap_out",
	[VIDMM_HIST_SWAP_IN] = "vidmm_swap_in",
	[VIDMM_HIST_SWAP_WRITE_IO] = "vidmm_swap_write_io",
	[VIDMM_HIST_SWAP_READ_IO] = "vidmm_swap_read_io",
};

json_t *results_run(const struct run_config *c, const struct run_result *res)
{
	json_t *run = json_object();
	json_t *params = json_object();
	double secs = res->duration_s;
	const struct vidmm_stats *st = &res->st;

	json_object_set_new(run, "workload", json_string(c->w->name));
	json_object_set_new(run, "family", json_string(c->w->family));
	json_object_set_new(run, "description", json_string(c->w->description));
	for (unsigned i = 0; i < c->nparams; i++)
		json_object_set_new(params, c->params[i].name, json_string(c->params[i].value));
	json_object_set_new(run, "params", params);
	json_t *cfg = json_pack("{s:s,s:i,s:f,s:I,s:b,s:b,s:s,s:I,s:b,s:b,s:I}",
		"profile", c->profile.name, "threads", (int)c->threads,
		"duration_s", c->duration_s, "ops_limit", (json_int_t)c->ops_limit,
		"verify", c->verify, "stats", c->stats,
		"paging_mode", c->paging_mode == VIDMM_PAGING_BOUNCE ? "bounce" : "window",
		"seed", (json_int_t)c->seed, "deterministic", c->deterministic,
		"clear_on_create", !c->no_clear,
		"fence_timeout_ns", (json_int_t)(c->fence_timeout_ns ? c->fence_timeout_ns
									: 2000000000ull));
	json_t *inj = json_array();
	for (unsigned i = 0; i < c->inject.n; i++) {
		const struct inject_spec *sp = &c->inject.s[i];
		json_array_append_new(inj, sp->count
			? json_pack("{s:s,s:I}", "kind", inject_kind_name(sp->kind), "count",
				    (json_int_t)sp->count)
			: json_pack("{s:s,s:f}", "kind", inject_kind_name(sp->kind), "rate", sp->rate));
	}
	json_object_set_new(cfg, "inject", inj);
	json_object_set_new(run, "config", cfg);

	json_t *m = json_object();
	json_object_set_new(m, "duration_s", json_real(secs));
	json_object_set_new(m, "ops", json_integer((json_int_t)res->ops));
	json_object_set_new(m, "ops_per_sec", json_real(secs > 0 ? (double)res->ops / secs : 0));
	json_object_set_new(m, "unit", json_string(c->w->unit ? c->w->unit : "ops"));
	json_object_set_new(m, "units", json_integer((json_int_t)res->units));
	json_object_set_new(m, "units_per_sec", json_real(secs > 0 ? (double)res->units / secs : 0));
	rate(m, "alloc_failures", st->alloc_failures, secs, res->ops);
	rate(m, "job_failures", res->job_failures, secs, res->ops);
	rate(m, "page_outs", st->page_outs, secs, res->ops);
	rate(m, "page_ins", st->page_ins, secs, res->ops);
	rate(m, "swap_outs", st->swap_outs, secs, res->ops);
	rate(m, "swap_ins", st->swap_ins, secs, res->ops);
	rate(m, "dummy_page_faults", st->dummy_page_faults, secs, res->ops);
	rate(m, "integrity_errors", res->integrity_errors, secs, res->ops);
	json_object_set_new(m, "reported_losses", json_integer((json_int_t)res->reported_losses));
	json_object_set_new(m, "bytes_paged_out", json_integer((json_int_t)st->bytes_paged_out));
	json_object_set_new(m, "bytes_paged_in", json_integer((json_int_t)st->bytes_paged_in));
	json_object_set_new(m, "bytes_paged_out_per_sec",
			    json_real(secs > 0 ? (double)st->bytes_paged_out / secs : 0));
	json_object_set_new(m, "bytes_paged_in_per_sec",
			    json_real(secs > 0 ? (double)st->bytes_paged_in / secs : 0));
	json_object_set_new(m, "bytes_swapped_out", json_integer((json_int_t)st->bytes_swapped_out));
	json_object_set_new(m, "bytes_swapped_in", json_integer((json_int_t)st->bytes_swapped_in));
	json_object_set_new(m, "bytes_swapped_out_per_sec",
			    json_real(secs > 0 ? (double)st->bytes_swapped_out / secs : 0));
	json_object_set_new(m, "bytes_swapped_in_per_sec",
			    json_real(secs > 0 ? (double)st->bytes_swapped_in / secs : 0));
	json_object_set_new(m, "swap_available", json_boolean(st->swap_io_mode[0] != 0));
	json_object_set_new(m, "swap_checksum_failures",
			    json_integer((json_int_t)st->swap_checksum_failures));
	json_object_set_new(m, "verify_jobs", json_integer((json_int_t)res->verify_jobs));
	json_object_set_new(m, "peak_rss_kib", json_integer(res->peak_rss_kib));
	json_object_set_new(m, "minor_faults", json_integer(res->minor_faults));
	json_object_set_new(m, "major_faults", json_integer(res->major_faults));
	json_object_set_new(run, "metrics", m);

	json_t *wm = json_object();
	for (unsigned k = 0; c->w->counters && c->w->counters[k] && k < WL_MAX_COUNTERS; k++)
		json_object_set_new(wm, c->w->counters[k], json_integer((json_int_t)res->ctr[k]));
	for (unsigned k = 0; k < res->ngauges; k++)
		json_object_set_new(wm, res->gauges[k].name, json_real(res->gauges[k].v));
	json_object_set_new(run, "workload_metrics", wm);

	json_t *lat = json_object(), *hists = json_object();
	for (unsigned k = 0; k < RUN_NHISTS; k++) {
		const char *name;
		if (k < WL_OP_COUNT)
			name = wl_op_names[k];
		else {
			unsigned e = k - WL_OP_COUNT;
			const char *const *h = c->w->hists;
			unsigned i = 0;
			while (h && h[i] && i < e)
				i++;
			if (!h || !h[i])
				continue;
			name = h[i];
		}
		if (!res->hist[k].count)
			continue;
		json_object_set_new(lat, name, metrics_pct_json(&res->hist[k]));
		json_object_set_new(hists, name, metrics_hist_json(&res->hist[k]));
	}
	for (unsigned k = 0; k < RUN_VM_HISTS; k++) {
		if (!res->vm_hist[k].count || !vm_hist_names[k])
			continue;
		json_object_set_new(lat, vm_hist_names[k], metrics_pct_json(&res->vm_hist[k]));
		json_object_set_new(hists, vm_hist_names[k], metrics_hist_json(&res->vm_hist[k]));
	}
	json_object_set_new(run, "latency", lat);
	json_object_set_new(run, "histograms", hists);

	json_t *vm = metrics_stats_json(st);
	json_t *segs = json_object_get(vm, "segments");
	for (uint32_t i = 0; i < res->nsegs && i < json_array_size(segs); i++) {
		json_t *s = json_array_get(segs, i);
		json_object_set_new(s, "name", json_string(res->segs[i].name));
		json_object_set_new(s, "fragmentation", json_real(metrics_fragmentation(&st->seg[i])));
	}
	json_object_set_new(run, "vidmm", vm);

	/* Columnar time series: one array per quantity, index = sample. */
	json_t *ts = json_object();
	json_t *t_s = json_array(), *sys = json_array(), *evb = json_array(), *po = json_array();
	json_t *pi = json_array(), *af = json_array(), *dpf = json_array(), *ops = json_array();
	json_t *swp = json_array();
	json_t *res_seg = json_object();
	json_t *seg_arr[VIDMM_MAX_SEGMENTS];
	for (uint32_t i = 0; i < res->nsegs; i++) {
		seg_arr[i] = json_array();
		json_object_set_new(res_seg, res->segs[i].name, seg_arr[i]);
	}
	for (size_t i = 0; i < res->nsamples; i++) {
		const struct run_sample *s = &res->samples[i];
		json_array_append_new(t_s, json_real(s->t_s));
		for (uint32_t k = 0; k < res->nsegs; k++)
			json_array_append_new(seg_arr[k], json_integer((json_int_t)s->resident[k]));
		json_array_append_new(sys, json_integer((json_int_t)s->sysmem_pages));
		json_array_append_new(evb, json_integer((json_int_t)s->evicted_bytes));
		json_array_append_new(swp, json_integer((json_int_t)s->swap_used_bytes));
		json_array_append_new(po, json_integer((json_int_t)s->page_outs));
		json_array_append_new(pi, json_integer((json_int_t)s->page_ins));
		json_array_append_new(af, json_integer((json_int_t)s->alloc_failures));
		json_array_append_new(dpf, json_integer((json_int_t)s->dummy_page_faults));
		json_array_append_new(ops, json_integer((json_int_t)s->ops));
	}
	json_object_set_new(ts, "interval_ms", json_integer(100));
	json_object_set_new(ts, "t_s", t_s);
	json_object_set_new(ts, "resident_bytes", res_seg);
	json_object_set_new(ts, "sysmem_pages", sys);
	json_object_set_new(ts, "evicted_bytes", evb);
	json_object_set_new(ts, "swap_bytes", swp);
	json_object_set_new(ts, "page_outs", po);
	json_object_set_new(ts, "page_ins", pi);
	json_object_set_new(ts, "alloc_failures", af);
	json_object_set_new(ts, "dummy_page_faults", dpf);
	json_object_set_new(ts, "ops", ops);
	json_object_set_new(run, "time_series", ts);

	if (c->perf) {
		json_t *p = json_object();
		json_object_set_new(p, "available", json_boolean(res->perf_ok));
		json_object_set_new(p, "summary", json_string(res->perf_summary));
		json_t *ctr = json_object();
		for (unsigned i = 0; i < res->nperf; i++)
			json_object_set_new(ctr, res->perf_name[i], json_pack("{s:I,s:b}", "value",
				(json_int_t)res->perf_value[i], "scaled", res->perf_scaled[i]));
		json_object_set_new(p, "counters", ctr);
		json_object_set_new(run, "perf", p);
	} else {
		json_object_set_new(run, "perf", json_null());
	}
	json_t *faults = json_object();
	for (int k = 0; k < INJ_KINDS; k++)
		if (res->faults[k])
			json_object_set_new(faults, inject_kind_name((enum inject_kind)k),
					    json_integer((json_int_t)res->faults[k]));
	json_object_set_new(run, "faults_injected", faults);
	json_object_set_new(run, "checks", json_pack("{s:b,s:s,s:I,s:s,s:s}", "passed", !res->failed,
		"vidmm_check", res->check_failed ? res->check_err : "ok",
		"undocumented_errnos", (json_int_t)res->undocumented,
		"first_undocumented", res->undocumented_first,
		"failure", res->failed ? res->fail_reason : ""));
	return run;
}

json_t *results_document(json_t *ctx, json_t *runs)
{
	json_t *d = json_object();
	json_object_set_new(d, "context", ctx);
	json_object_set_new(d, "runs", runs);
	return d;
}

/* ---- summary.md ---------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t n, cap;
};

static void sb(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
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
		if (!np)
			return;
		b->p = np;
		b->cap = nc;
	}
}


char *results_summary_md(const json_t *doc)
{
	struct sbuf b = { 0 };
	const json_t *ctx = json_object_get(doc, "context");
	const json_t *runs = json_object_get(doc, "runs");
	const json_t *prof = json_object_get(ctx, "profile");

	sb(&b, "# vidmm-bench results\n\n");
	if (json_object_get(ctx, "suite"))
		sb(&b, "Suite **%s**", rj_str(ctx, "suite"));
	sb(&b, "\n\n| context | |\n|---|---|\n");
	sb(&b, "| version | %s (%s) |\n", rj_str(ctx, "version"), rj_str(ctx, "git_rev"));
	sb(&b, "| started | %s |\n", rj_str(ctx, "started_at"));
	sb(&b, "| driver / profile | %s / %s (local %.0f MiB, PCIe %.0f MiB, paging %.0f MiB, "
	   "sysmem %.0f MiB) |\n", rj_str(ctx, "driver"), rj_str(prof, "name"),
	   (rj_num(prof, "local_visible") + rj_num(prof, "local_invisible")) / 1048576.0,
	   (rj_num(prof, "pcie_snooped") + rj_num(prof, "pcie_unsnooped")) / 1048576.0,
	   rj_num(prof, "paging") / 1048576.0, rj_num(prof, "sysmem") / 1048576.0);
	sb(&b, "| paging mode | %s |\n", rj_str(ctx, "paging_mode"));
	sb(&b, "| host | %s, %.0f CPUs; %s |\n", rj_str(ctx, "host_cpu"), rj_num(ctx, "host_cpus"),
	   rj_str(ctx, "kernel"));
	sb(&b, "| hw perf counters | %s |\n",
	   json_is_true(json_object_get(ctx, "hw_perf_counters")) ? "yes" : "no");
	sb(&b, "| swap | %s |\n", json_is_true(json_object_get(ctx, "swap_available"))
	   ? "available" : "unavailable (no swap file)");
	sb(&b, "| seed | %.0f |\n", rj_num(ctx, "seed"));
	if (json_is_string(json_object_get(ctx, "topology")))
		sb(&b, "| topology | %s |\n", rj_str(ctx, "topology"));
	if (json_is_number(json_object_get(ctx, "wall_s")))
		sb(&b, "| suite wall time | %.1f s |\n", rj_num(ctx, "wall_s"));
	if (json_is_number(json_object_get(ctx, "peak_rss_kib")))
		sb(&b, "| peak RSS | %.1f MiB |\n", rj_num(ctx, "peak_rss_kib") / 1024.0);
	if (json_is_string(json_object_get(ctx, "microbenchmarks")))
		sb(&b, "| microbenchmarks (vidmm-micro, Google Benchmark JSON) | %s |\n",
		   json_string_value(json_object_get(ctx, "microbenchmarks")));

	/* One table per family, in order of first appearance. */
	size_t n = json_array_size(runs);
	char **seen = calloc(n + 1, sizeof(char *));
	size_t nseen = 0;
	for (size_t i = 0; i < n; i++) {
		const char *fam = rj_str(json_array_get(runs, i), "family");
		bool dup = false;
		for (size_t k = 0; k < nseen; k++)
			dup |= strcmp(seen[k], fam) == 0;
		if (dup || !seen)
			continue;
		seen[nseen++] = (char *)fam;
		sb(&b, "\n## %s\n\n", fam);
		sb(&b, "| workload | params | threads | s | ops/s | units/s | create p50 / p99 | "
		   "submit p50 / p99 | alloc fail | page-outs | page-ins | MiB out / in | "
		   "dummy faults | integrity errors | check |\n");
		sb(&b, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
		for (size_t j = i; j < n; j++) {
			const json_t *r = json_array_get(runs, j);
			if (strcmp(rj_str(r, "family"), fam) != 0)
				continue;
			const json_t *m = json_object_get(r, "metrics");
			const json_t *lat = json_object_get(r, "latency");
			const json_t *cr = json_object_get(lat, "create");
			const json_t *su = json_object_get(lat, "submit");
			const json_t *cfg = json_object_get(r, "config");
			const json_t *chk = json_object_get(r, "checks");
			char c50[32], c99[32], s50[32], s99[32];
			rj_fmt_ns(c50, sizeof(c50), rj_num(cr, "p50_ns"));
			rj_fmt_ns(c99, sizeof(c99), rj_num(cr, "p99_ns"));
			rj_fmt_ns(s50, sizeof(s50), rj_num(su, "p50_ns"));
			rj_fmt_ns(s99, sizeof(s99), rj_num(su, "p99_ns"));
			sb(&b, "| %s | ", rj_str(r, "workload"));
			const char *k;
			const json_t *v;
			bool first = true;
			json_object_foreach((json_t *)json_object_get(r, "params"), k, v) {
				sb(&b, "%s%s=%s", first ? "" : " ", k, json_string_value(v));
				first = false;
			}
			sb(&b, "%spaging_mode=%s", first ? "" : " ", rj_str(cfg, "paging_mode"));
			sb(&b, " | %.0f | %.1f | %.0f | %.1f %s | %s / %s | %s / %s | %.0f | %.0f | %.0f | "
			   "%.1f / %.1f | %.0f | %.0f | %s |\n",
			   rj_num(cfg, "threads"), rj_num(m, "duration_s"), rj_num(m, "ops_per_sec"),
			   rj_num(m, "units_per_sec"), rj_str(m, "unit"), c50, c99, s50, s99,
			   rj_num(m, "alloc_failures"), rj_num(m, "page_outs"), rj_num(m, "page_ins"),
			   rj_num(m, "bytes_paged_out") / 1048576.0, rj_num(m, "bytes_paged_in") / 1048576.0,
			   rj_num(m, "dummy_page_faults"), rj_num(m, "integrity_errors"),
			   json_is_true(json_object_get(chk, "passed")) ? "ok"
								      : rj_str(chk, "failure"));
		}
		/* Workload-specific numbers, one line per run. */
		for (size_t j = i; j < n; j++) {
			const json_t *r = json_array_get(runs, j);
			const json_t *wm = json_object_get(r, "workload_metrics");
			if (strcmp(rj_str(r, "family"), fam) != 0 || !json_object_size(wm))
				continue;
			sb(&b, "\n%s:", rj_str(r, "workload"));
			const char *k;
			const json_t *v;
			json_object_foreach((json_t *)wm, k, v)
				sb(&b, " %s=%.4g", k, json_number_value(v));
			sb(&b, "\n");
		}
	}
	free(seen);
	return b.p;
}

void results_print_run(FILE *out, const struct run_config *c, const struct run_result *res)
{
	const struct vidmm_stats *st = &res->st;
	const struct vidmm_hist *cr = &res->hist[WL_OP_CREATE], *su = &res->hist[WL_OP_SUBMIT];

	fprintf(out, "%s: %" PRIu64 " ops in %.2f s (%.0f ops/s), %" PRIu64 " %s (%.1f/s)\n",
		c->w->name, res->ops, res->duration_s,
		res->duration_s > 0 ? (double)res->ops / res->duration_s : 0.0, res->units,
		c->w->unit ? c->w->unit : "units",
		res->duration_s > 0 ? (double)res->units / res->duration_s : 0.0);
	if (cr->count)
		fprintf(out, "  latency: create p50 %" PRIu64 " ns p99 %" PRIu64 " ns\n",
			vidmm_hist_quantile(cr, 0.5), vidmm_hist_quantile(cr, 0.99));
	if (su->count)
		fprintf(out, "  latency: submit p50 %" PRIu64 " ns p99 %" PRIu64 " ns\n",
			vidmm_hist_quantile(su, 0.5), vidmm_hist_quantile(su, 0.99));
	fprintf(out, "  alloc failures %" PRIu64 ", job failures %" PRIu64 ", page-outs %" PRIu64
		" (%.1f MiB), page-ins %" PRIu64 " (%.1f MiB), dummy-page faults %" PRIu64
		", integrity errors %" PRIu64 "%s\n", (uint64_t)st->alloc_failures,
		res->job_failures, (uint64_t)st->page_outs, (double)st->bytes_paged_out / 1048576.0,
		(uint64_t)st->page_ins, (double)st->bytes_paged_in / 1048576.0,
		(uint64_t)st->dummy_page_faults, res->integrity_errors,
		c->verify ? "" : " (not verifying: --verify)");
	if (st->swap_io_mode[0])
		fprintf(out, "  swap (%s I/O): swap-outs %" PRIu64 " (%.1f MiB), swap-ins %" PRIu64
			" (%.1f MiB), swap full %" PRIu64 ", checksum failures %" PRIu64 "\n",
			st->swap_io_mode, (uint64_t)st->swap_outs,
			(double)st->bytes_swapped_out / 1048576.0, (uint64_t)st->swap_ins,
			(double)st->bytes_swapped_in / 1048576.0, (uint64_t)st->swap_full,
			(uint64_t)st->swap_checksum_failures);
	for (unsigned k = 0; k < res->ngauges; k++)
		fprintf(out, "  %s = %.4g\n", res->gauges[k].name, res->gauges[k].v);
	if (c->inject.n) {
		fprintf(out, "  faults injected:");
		for (int k = 0; k < INJ_KINDS; k++)
			if (res->faults[k])
				fprintf(out, " %s %" PRIu64, inject_kind_name((enum inject_kind)k),
					res->faults[k]);
		fprintf(out, "; copy failures %" PRIu64 ", copy timeouts %" PRIu64
			", swap write/read errors %" PRIu64 "/%" PRIu64 "\n",
			(uint64_t)st->copy_failures, (uint64_t)st->copy_timeouts,
			(uint64_t)st->swap_write_errors, (uint64_t)st->swap_read_errors);
	}
	if (res->failed)
		fprintf(out, "  CHECK FAILED: %s\n", res->fail_reason);
}
