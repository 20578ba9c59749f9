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
#include "core/swap.h"
#include "units.h"
#include "metrics.h"
#include "perf.h"
#include "vidmm_version.h"

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

json_t *results_io_uring(const struct vidmm_stats *st)
{
	json_t *o = json_pack("{s:s,s:s,s:I}", "io_mode", st->swap_io_mode, "buffer_mode",
			      st->swap_buffer_mode, "swap_file_bytes", (json_int_t)st->swap_file_bytes);
	/* The rings are set up at the first swap I/O: before it there are no
	 * flags to report, which is not the same as none obtained. */
	if (st->swap_outs + st->swap_ins + st->swap_write_errors + st->swap_read_errors) {
		char names[128];
		json_object_set_new(o, "setup_flags", json_integer(st->swap_ring_flags));
		json_object_set_new(o, "setup_flags_names",
				    json_string(swap_ring_flags_str(st->swap_ring_flags, names,
								    sizeof(names))));
	} else {
		json_object_set_new(o, "setup_flags", json_null());
		json_object_set_new(o, "setup_flags_names", json_string("no swap I/O in this run"));
	}
	return o;
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
	json_object_set_new(o, "paging", json_string(c->pipelined ? "pipelined" : "sync"));
	json_object_set_new(o, "evict_policy",
			    json_string(c->evict_policy[0] ? c->evict_policy : "lru"));
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
		json_object_set_new(o, "io_uring", results_io_uring(&res->st));
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
	/* Rates and counts of the measured window; the "vidmm" section below
	 * is the manager's final state. */
	const struct vidmm_stats *st = &res->st_window;

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
	json_object_set_new(cfg, "paging", json_string(c->pipelined ? "pipelined" : "sync"));
	json_object_set_new(cfg, "evict_policy",
			    json_string(c->evict_policy[0] ? c->evict_policy : "lru"));
	json_t *inj = json_array();
	for (unsigned i = 0; i < c->inject.n; i++) {
		const struct inject_spec *sp = &c->inject.s[i];
		json_array_append_new(inj, sp->count
			? json_pack("{s:s,s:I}", "kind", inject_kind_name(sp->kind), "count",
				    (json_int_t)sp->count)
			: json_pack("{s:s,s:f}", "kind", inject_kind_name(sp->kind), "rate", sp->rate));
	}
	json_object_set_new(cfg, "inject", inj);
	json_object_set_new(cfg, "warmup_s", json_real(c->warmup_s));
	json_object_set_new(cfg, "allow_empty", json_boolean(c->allow_empty));
	json_object_set_new(run, "config", cfg);

	json_object_set_new(run, "phases", json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:I}",
		"setup_s", res->setup_s, "warmup_s", res->warmup_s, "measured_s", res->duration_s,
		"teardown_s", res->teardown_s, "window_start_s", res->window_start_s,
		"window_end_s", res->window_end_s, "ops_total", (json_int_t)res->ops_total));
	json_object_set_new(run, "inconclusive", json_boolean(res->inconclusive));
	json_object_set_new(run, "inconclusive_reason", json_string(res->inconclusive_reason));
	json_object_set_new(run, "interrupted", json_boolean(res->interrupted));
	json_t *notes = json_array();
	for (unsigned i = 0; i < res->nnotes; i++)
		json_array_append_new(notes, json_string(res->notes[i]));
	json_object_set_new(run, "notes", notes);
	/* Other work on the machine during the window: null when unknown. */
	if (res->host.ok)
		json_object_set_new(run, "host_load", json_pack("{s:f,s:f,s:f,s:i,s:f,s:b,s:f,s:i}",
			"other_cpus", res->host.other_cpus, "steal_cpus", res->host.steal_cpus,
			"own_cpus", res->host.own_cpus, "ncpu", (int)res->host.ncpu,
			"share", hostload_share(&res->host), "busy", res->host_busy,
			"limit", runner_host_limit(c),
			"remeasured", (int)res->host_remeasured));
	else
		json_object_set_new(run, "host_load", json_null());
	/* This process's CPUs in the window by thread role (threadcpu.c). */
	if (res->cpu.ok) {
		json_t *cpu = json_object();
		for (int r = 0; r < TCPU_ROLES; r++)
			json_object_set_new(cpu, threadcpu_role_names[r], json_real(res->cpu.cpus[r]));
		json_object_set_new(run, "cpu_by_role", cpu);
	} else {
		json_object_set_new(run, "cpu_by_role", json_null());
	}
	json_t *head = json_array();
	for (const struct wl_headline *h = c->w->headline; h && h->name; h++)
		json_array_append_new(head, json_pack("{s:s,s:s,s:s}", "name", h->name,
			"better", h->lower_is_better ? "lower" : "higher", "unit", h->unit ? h->unit : ""));
	json_object_set_new(run, "headline", head);

	json_t *m = json_object();
	json_object_set_new(m, "duration_s", json_real(secs));
	json_object_set_new(m, "ops", json_integer((json_int_t)res->ops));
	json_object_set_new(m, "ops_per_sec", json_real(secs > 0 ? (double)res->ops / secs : 0));
	json_object_set_new(m, "unit", json_string(c->w->unit ? c->w->unit : "ops"));
	json_object_set_new(m, "units", json_integer((json_int_t)res->units));
	json_object_set_new(m, "units_per_sec", json_real(secs > 0 ? (double)res->units / secs : 0));
	rate(m, "alloc_failures", st->alloc_failures, secs, res->ops);
	json_object_set_new(m, "create_failures", json_integer((json_int_t)res->create_failures));
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
	for (unsigned k = 0; c->w->setup_counters && c->w->setup_counters[k] && k < WL_MAX_COUNTERS;
	     k++)
		json_object_set_new(wm, c->w->setup_counters[k],
				    json_integer((json_int_t)res->setup_ctr[k]));
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
	/* The manager's locks over the window, per class: counts, and wait /
	 * hold latencies beside the others (so compare and report see them). */
	json_t *locks = json_object();
	for (unsigned k = 0; res->locks && k < VIDMM_LOCK_CLASSES; k++) {
		const struct vidmm_lock_stats *l = &res->locks[k];
		char nm[64];
		const char *cls = vidmm_lock_class_name((enum vidmm_lock_class)k);
		json_t *o = json_pack("{s:I, s:I}", "acquisitions", (json_int_t)l->acquisitions,
				      "contended", (json_int_t)l->contended);
		json_object_set_new(locks, cls, o);
		for (int w = 0; w < 2; w++) {
			const struct vidmm_hist *h = w ? &l->hold : &l->wait;
			if (!h->count)
				continue;
			snprintf(nm, sizeof(nm), "lock_%s_%s", cls, w ? "hold" : "wait");
			for (char *p = nm; *p; p++)
				if (*p == ' ')
					*p = '_';
			json_object_set_new(lat, nm, metrics_pct_json(h));
			json_object_set_new(hists, nm, metrics_hist_json(h));
		}
	}
	json_object_set_new(run, "locks", locks);
	json_object_set_new(run, "latency", lat);
	json_object_set_new(run, "histograms", hists);

	json_t *vm = metrics_stats_json(&res->st);
	json_t *segs = json_object_get(vm, "segments");
	for (uint32_t i = 0; i < res->nsegs && i < json_array_size(segs); i++) {
		json_t *s = json_array_get(segs, i);
		json_object_set_new(s, "name", json_string(res->segs[i].name));
		json_object_set_new(s, "fragmentation",
				    json_real(metrics_fragmentation(&res->st.seg[i])));
	}
	json_object_set_new(run, "vidmm", vm);

	/* Columnar time series: one array per quantity, index = sample. */
	json_t *ts = json_object();
	json_t *t_s = json_array(), *sys = json_array(), *evb = json_array(), *po = json_array();
	json_t *pi = json_array(), *af = json_array(), *dpf = json_array(), *ops = json_array();
	json_t *swp = json_array(), *swo = json_array(), *swi = json_array();
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
		json_array_append_new(swo, json_integer((json_int_t)s->swap_out_bytes));
		json_array_append_new(swi, json_integer((json_int_t)s->swap_in_bytes));
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
	json_object_set_new(ts, "swap_out_bytes", swo);
	json_object_set_new(ts, "swap_in_bytes", swi);
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
		json_object_set_new(p, "counters_cover", json_string("the whole run, every thread"));
		if (res->perf_window_ok) {
			/* The window's share, and per operation: a counter over the
			 * window divided by the window's calls, units and page-ins
			 * (an attribution of all CPU time, not one operation's own
			 * cost: docs/perf-analysis.md). */
			const struct vidmm_stats *stw = &res->st_window;
			json_t *w = json_object(), *per = json_object();
			for (unsigned i = 0; i < res->nperf; i++) {
				double v = (double)res->perf_window[i];
				char k[64];
				json_object_set_new(w, res->perf_name[i], json_integer((json_int_t)v));
				if (res->ops) {
					snprintf(k, sizeof(k), "%s_per_call", res->perf_name[i]);
					json_object_set_new(per, k, json_real(v / (double)res->ops));
				}
				if (res->units) {
					snprintf(k, sizeof(k), "%s_per_unit", res->perf_name[i]);
					json_object_set_new(per, k, json_real(v / (double)res->units));
				}
				if (stw->page_ins) {
					snprintf(k, sizeof(k), "%s_per_page_in", res->perf_name[i]);
					json_object_set_new(per, k, json_real(v / (double)stw->page_ins));
				}
			}
			json_object_set_new(p, "window", w);
			json_object_set_new(p, "per_operation", per);
		}
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

/* A workload value by name: a counter (summed over threads) or a gauge. */
static bool wl_value(const struct run_config *c, const struct run_result *res, const char *name,
		     double *v)
{
	for (unsigned k = 0; c->w->counters && c->w->counters[k] && k < WL_MAX_COUNTERS; k++)
		if (strcmp(c->w->counters[k], name) == 0) {
			*v = (double)res->ctr[k];
			return true;
		}
	for (unsigned k = 0; c->w->setup_counters && c->w->setup_counters[k] && k < WL_MAX_COUNTERS;
	     k++)
		if (strcmp(c->w->setup_counters[k], name) == 0) {
			*v = (double)res->setup_ctr[k];
			return true;
		}
	for (unsigned k = 0; k < res->ngauges; k++)
		if (strcmp(res->gauges[k].name, name) == 0) {
			*v = res->gauges[k].v;
			return true;
		}
	return false;
}

static const char *fmt_value(char *buf, double v, const char *unit)
{
	if (unit && strcmp(unit, "ns") == 0)
		return units_ns(buf, v);
	if (unit && strcmp(unit, "bytes") == 0)
		return units_bytes(buf, v);
	if (unit && strcmp(unit, "MiB/s") == 0) {
		units_bytes(buf, v * 1048576.0);
		strcat(buf, "/s");
		return buf;
	}
	return units_count(buf, v);
}

/* --perf on the console: the window's counters, the CPUs they kept busy and
 * the task-clock per call, per unit and per page-in; which counters exist
 * here (a VM often has software counters only) is said once. */
static void print_perf(FILE *out, const struct run_config *c, const struct run_result *res)
{
	char a[UNITS_BUF], b[UNITS_BUF], d[UNITS_BUF];

	if (!res->perf_ok) {
		fprintf(out, "  perf: %s\n", res->perf_summary);
		return;
	}
	bool win = res->perf_window_ok;
	const uint64_t *v = win ? res->perf_window : res->perf_value;
	fprintf(out, "  perf (%s):", win ? "measured window, all threads" : "whole run, all threads");
	for (unsigned i = 0; i < res->nperf; i++) {
		if (!strcmp(res->perf_name[i], "task_clock_ns"))
			fprintf(out, "%s task-clock %s (%.2f CPUs)", i ? "," : "",
				units_s(a, (double)v[i] * 1e-9),
				res->duration_s > 0 && win ? (double)v[i] * 1e-9 / res->duration_s : 0.0);
		else
			fprintf(out, "%s %s %s%s", i ? "," : "", res->perf_name[i],
				units_count(a, (double)v[i]), res->perf_scaled[i] ? " (scaled)" : "");
	}
	fprintf(out, "\n");
	for (unsigned i = 0; win && i < res->nperf; i++) {
		if (strcmp(res->perf_name[i], "task_clock_ns") && strcmp(res->perf_name[i], "cycles"))
			continue;
		bool ns = !strcmp(res->perf_name[i], "task_clock_ns");
		double x = (double)v[i];
		const char *unit = c->w->unit ? c->w->unit : "unit";
		fprintf(out, "  perf: %s per call %s", ns ? "task-clock" : "cycles",
			ns ? units_ns(a, res->ops ? x / (double)res->ops : 0)
			   : units_count(a, res->ops ? x / (double)res->ops : 0));
		if (res->units)
			fprintf(out, ", per unit (%s) %s", unit,
				ns ? units_ns(b, x / (double)res->units)
				   : units_count(b, x / (double)res->units));
		if (res->st_window.page_ins)
			fprintf(out, ", per page-in %s",
				ns ? units_ns(d, x / (double)res->st_window.page_ins)
				   : units_count(d, x / (double)res->st_window.page_ins));
		fprintf(out, " (all CPU time shared out, not one operation's own)\n");
	}
	bool hw = false;
	for (unsigned i = 0; i < res->nperf; i++)
		hw |= !strcmp(res->perf_name[i], "cycles") || !strcmp(res->perf_name[i], "instructions");
	if (!hw)
		fprintf(out, "  perf: no hardware counters here (cycles, instructions, caches "
			"unavailable): software counters only\n");
}

void results_print_run(FILE *out, const struct run_config *c, const struct run_result *res)
{
	const struct vidmm_stats *st = &res->st_window;
	const struct vidmm_hist *cr = &res->hist[WL_OP_CREATE], *su = &res->hist[WL_OP_SUBMIT];
	const char *unit = c->w->unit ? c->w->unit : "units";
	double secs = res->duration_s;
	char a[UNITS_BUF], b[UNITS_BUF], d[UNITS_BUF], e[UNITS_BUF], f[UNITS_BUF], g[UNITS_BUF];
	char h8[UNITS_BUF];

	/* What tells this run from another of the same workload (two paging
	 * runs of a suite): its non-default parameters and the paging mode. */
	char label[256];
	int ln = snprintf(label, sizeof(label), "%s", c->w->name);
	for (unsigned k = 0; k < c->nparams && ln < (int)sizeof(label); k++)
		if (!c->params[k].is_default)
			ln += snprintf(label + ln, sizeof(label) - (size_t)ln, " %s=%s", c->params[k].name,
				       c->params[k].value);
	if (c->paging_mode == VIDMM_PAGING_BOUNCE && ln < (int)sizeof(label))
		ln += snprintf(label + ln, sizeof(label) - (size_t)ln, " (bounce paging)");
	if (c->pipelined && ln < (int)sizeof(label))
		snprintf(label + ln, sizeof(label) - (size_t)ln, " (pipelined paging)");
	fprintf(out, "%s: %s calls in the %s measured window (%s/s), %s %s (%s/s)\n", label,
		units_count(a, (double)res->ops), units_s(b, secs),
		units_count(d, secs > 0 ? (double)res->ops / secs : 0), units_count(e, (double)res->units),
		unit, units_count(f, secs > 0 ? (double)res->units / secs : 0));
	fprintf(out, "  outside the window: setup %s", units_s(a, res->setup_s));
	if (res->warmup_s > 0)
		fprintf(out, ", warm-up %s", units_s(b, res->warmup_s));
	fprintf(out, ", teardown %s\n", units_s(d, res->teardown_s));
	if (res->host.ok) {
		/* Who had the CPUs: on few cores the engines and waiters compete
		 * with the clients, and other processes with all of them. */
		fprintf(out, "  CPUs in the window (of %u):", res->host.ncpu);
		for (int r = 0; r < TCPU_ROLES && res->cpu.ok; r++)
			if (r != TCPU_EXITED || res->cpu.cpus[r] >= 0.005)
				fprintf(out, " %s %.2f,", threadcpu_role_names[r], res->cpu.cpus[r]);
		fprintf(out, " other processes %.2f, hypervisor %.2f\n", res->host.other_cpus,
			res->host.steal_cpus);
	}
	if (cr->count || su->count) {
		fprintf(out, "  latency:");
		if (cr->count)
			fprintf(out, " create p50 %s p99 %s%s", units_ns(a, (double)vidmm_hist_quantile(cr, 0.5)),
				units_ns(b, (double)vidmm_hist_quantile(cr, 0.99)), su->count ? ";" : "");
		if (su->count)
			fprintf(out, " submit p50 %s p99 %s", units_ns(a, (double)vidmm_hist_quantile(su, 0.5)),
				units_ns(b, (double)vidmm_hist_quantile(su, 0.99)));
		fprintf(out, "\n");
	}
	/* The manager lock and the allocations' reservations (the resident
	 * submits' only locks) over the window: how contended, how long held
	 * (lockstat.h; the swap store's is in the results file). */
	static const struct { enum vidmm_lock_class cls; const char *label; } shown[] = {
		{ VIDMM_LOCK_MANAGER, "manager lock" }, { VIDMM_LOCK_RESV, "reservations" },
	};
	for (unsigned k = 0; res->locks && k < sizeof(shown) / sizeof(shown[0]); k++) {
		const struct vidmm_lock_stats *l = &res->locks[shown[k].cls];
		if (!l->acquisitions)
			continue;
		char waited[96] = "none waited";
		if (l->contended)
			snprintf(waited, sizeof(waited), "%.2f%% waited (wait p99 %s)",
				 100.0 * (double)l->contended / (double)l->acquisitions,
				 units_ns(b, (double)vidmm_hist_quantile(&l->wait, 0.99)));
		char held[96] = "no hold sampled";
		if (l->hold.count)
			snprintf(held, sizeof(held), "hold p50 %s p99 %s (sampled)",
				 units_ns(d, (double)vidmm_hist_quantile(&l->hold, 0.5)),
				 units_ns(e, (double)vidmm_hist_quantile(&l->hold, 0.99)));
		fprintf(out, "  %s: %s acquisitions, %s, %s", shown[k].label,
			units_count(a, (double)l->acquisitions), waited, held);
		if (shown[k].cls == VIDMM_LOCK_RESV)
			fprintf(out, "; %s of %s submits without the manager lock",
				units_count(a, (double)st->fast_submits), units_count(b, (double)st->submits));
		fprintf(out, "\n");
	}
	fprintf(out, "  page-outs %s (%s), page-ins %s (%s), alloc failures %s, job failures %s, "
		"dummy-page faults %s\n", units_count(a, (double)st->page_outs),
		units_bytes(b, (double)st->bytes_paged_out), units_count(d, (double)st->page_ins),
		units_bytes(e, (double)st->bytes_paged_in), units_count(f, (double)st->alloc_failures),
		units_count(g, (double)res->job_failures), units_count(h8, (double)st->dummy_page_faults));
	if (st->page_ins || st->paging_cpu_waits)
		fprintf(out, "  paging %s: CPU waits for paging or clear fences %s (%.2f per page-in)"
			", page-ins left to the GPU to order %s, window stalls %s\n",
			c->pipelined ? "pipelined" : "sync", units_count(a, (double)st->paging_cpu_waits),
			st->page_ins ? (double)st->paging_cpu_waits / (double)st->page_ins : 0.0,
			units_count(b, (double)st->pipelined_page_ins),
			units_count(d, (double)st->pipeline_stalls));
	if (c->verify)
		fprintf(out, "  integrity: %s errors in %s VERIFY jobs%s\n",
			units_count(a, (double)res->integrity_errors),
			units_count(b, (double)res->verify_jobs),
			res->reported_losses ? " (losses the API reported are not errors)" : "");
	else
		fprintf(out, "  integrity: not checked (run with --verify)\n");
	if (res->st.swap_io_mode[0])
		fprintf(out, "  swap (%s I/O): swap-outs %s (%s), swap-ins %s (%s), swap full %s, "
			"checksum failures %s\n", res->st.swap_io_mode,
			units_count(a, (double)st->swap_outs), units_bytes(b, (double)st->bytes_swapped_out),
			units_count(d, (double)st->swap_ins), units_bytes(e, (double)st->bytes_swapped_in),
			units_count(f, (double)st->swap_full),
			units_count(g, (double)st->swap_checksum_failures));
	/* The workload's headline values first, then the rest of its own. */
	bool first = true;
	for (const struct wl_headline *h = c->w->headline; h && h->name; h++) {
		double v;
		if (!wl_value(c, res, h->name, &v))
			continue;
		fprintf(out, "%s%s %s", first ? "  " : ", ", h->name, fmt_value(a, v, h->unit));
		first = false;
	}
	if (!first)
		fprintf(out, " (%s is better)\n", c->w->headline[0].lower_is_better ? "lower" : "higher");
	first = true;
	for (unsigned k = 0; c->w->counters && c->w->counters[k] && k < WL_MAX_COUNTERS; k++) {
		bool head = false;
		for (const struct wl_headline *h = c->w->headline; h && h->name; h++)
			head |= strcmp(h->name, c->w->counters[k]) == 0;
		if (head)
			continue;
		fprintf(out, "%s%s %s", first ? "  workload: " : ", ", c->w->counters[k],
			units_count(a, (double)res->ctr[k]));
		first = false;
	}
	for (unsigned k = 0; c->w->setup_counters && c->w->setup_counters[k] && k < WL_MAX_COUNTERS;
	     k++) {
		fprintf(out, "%s%s %s", first ? "  workload: " : ", ", c->w->setup_counters[k],
			units_count(a, (double)res->setup_ctr[k]));
		first = false;
	}
	for (unsigned k = 0; k < res->ngauges; k++) {
		bool head = false;
		for (const struct wl_headline *h = c->w->headline; h && h->name; h++)
			head |= strcmp(h->name, res->gauges[k].name) == 0;
		if (head)
			continue;
		fprintf(out, "%s%s %s", first ? "  workload: " : ", ", res->gauges[k].name,
			strstr(res->gauges[k].name, "bytes") ? units_bytes(a, res->gauges[k].v)
							       : units_count(a, res->gauges[k].v));
		first = false;
	}
	if (!first)
		fprintf(out, "\n");
	if (c->inject.n) {
		fprintf(out, "  faults injected:");
		for (int k = 0; k < INJ_KINDS; k++)
			if (res->faults[k])
				fprintf(out, " %s %" PRIu64, inject_kind_name((enum inject_kind)k),
					res->faults[k]);
		fprintf(out, "; copy failures %" PRIu64 ", copy timeouts %" PRIu64
			", swap write/read errors %" PRIu64 "/%" PRIu64 "\n",
			(uint64_t)res->st.copy_failures, (uint64_t)res->st.copy_timeouts,
			(uint64_t)res->st.swap_write_errors, (uint64_t)res->st.swap_read_errors);
	}
	if (c->perf)
		print_perf(out, c, res);
	for (unsigned k = 0; k < res->nnotes; k++)
		fprintf(out, "  note: %s\n", res->notes[k]);
	if (res->interrupted)
		fprintf(out, "  INTERRUPTED: the figures cover the window up to the signal\n");
	if (res->inconclusive)
		fprintf(out, "  INCONCLUSIVE: %s\n", res->inconclusive_reason);
	if (res->failed)
		fprintf(out, "  CHECK FAILED: %s\n", res->fail_reason);
}
