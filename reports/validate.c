/* SPDX-License-Identifier: MIT */
/* validate.c - see validate.h. */
#include "validate.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

struct ctx {
	const char *name;
	char *err;
	size_t len;
	bool failed;
};

static bool bad(struct ctx *c, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool bad(struct ctx *c, const char *where, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	if (c->failed)
		return false;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->len, "%s: %s%s%s", c->name, where, *where ? ": " : "", msg);
	c->failed = true;
	return false;
}

static bool num(const json_t *v)
{
	return json_is_integer(v) || (json_is_real(v) && isfinite(json_real_value(v)));
}

/* o[k], when present, must satisfy pred. */
static bool opt(struct ctx *c, const json_t *o, const char *k, bool (*pred)(const json_t *),
		const char *what, const char *where)
{
	const json_t *v = json_object_get(o, k);
	char w[256];

	if (!v || pred(v))
		return true;
	snprintf(w, sizeof(w), "%.150s%s%.40s", where, *where ? "." : "", k);
	return bad(c, w, "expected %s", what);
}

static bool is_obj(const json_t *v) { return json_is_object(v); }
static bool is_str(const json_t *v) { return json_is_string(v); }
static bool is_arr(const json_t *v) { return json_is_array(v); }
static bool is_bool(const json_t *v) { return json_is_boolean(v); }
static bool is_count(const json_t *v) { return json_is_integer(v) && json_integer_value(v) >= 0; }

/* Every member of o a number. */
static bool all_num(struct ctx *c, const json_t *o, const char *where)
{
	const char *k;
	const json_t *v;
	char w[256];

	json_object_foreach((json_t *)o, k, v)
		if (!num(v) && !json_is_string(v) && !json_is_boolean(v) && !json_is_null(v)) {
			snprintf(w, sizeof(w), "%.150s.%.40s", where, k);
			return bad(c, w, "expected a number");
		}
	return true;
}

static bool histogram(struct ctx *c, const json_t *h, const char *where)
{
	char w[256];

	if (!json_is_object(h))
		return bad(c, where, "expected {count, sum_ns, min_ns, max_ns, buckets}");
	const json_t *b = json_object_get(h, "buckets");
	if (!json_is_array(b))
		return bad(c, where, "no buckets array");
	size_t i;
	const json_t *e;
	json_array_foreach(b, i, e) {
		if (!json_is_array(e) || json_array_size(e) != 3 || !num(json_array_get(e, 0)) ||
		    !num(json_array_get(e, 1)) || !num(json_array_get(e, 2)) ||
		    json_number_value(json_array_get(e, 0)) < 0 ||
		    json_number_value(json_array_get(e, 1)) < json_number_value(json_array_get(e, 0)) ||
		    json_number_value(json_array_get(e, 2)) < 0) {
			snprintf(w, sizeof(w), "%.180s.buckets[%zu]", where, i);
			return bad(c, w, "expected [lo_ns, hi_ns, count] with 0 <= lo <= hi, count >= 0");
		}
	}
	return opt(c, h, "count", num, "a number", where);
}

static bool series(struct ctx *c, const json_t *ts, const char *where)
{
	char w[256];
	const json_t *t = json_object_get(ts, "t_s");
	size_t n;

	if (!json_is_array(t))
		return bad(c, where, "no t_s array");
	n = json_array_size(t);
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)ts, k, v) {
		snprintf(w, sizeof(w), "%.150s.%.40s", where, k);
		if (json_is_array(v)) {
			if (json_array_size(v) != n)
				return bad(c, w, "%zu samples, t_s has %zu", json_array_size(v), n);
			size_t i;
			const json_t *x;
			json_array_foreach(v, i, x)
				if (!num(x))
					return bad(c, w, "sample %zu is not a number", i);
		} else if (json_is_object(v)) {
			const char *k2;
			const json_t *v2;
			json_object_foreach((json_t *)v, k2, v2) {
				char w2[320];
				snprintf(w2, sizeof(w2), "%.200s.%.60s", w, k2);
				if (!json_is_array(v2) || json_array_size(v2) != n)
					return bad(c, w2, "expected %zu samples", n);
				size_t i;
				const json_t *x;
				json_array_foreach(v2, i, x)
					if (!num(x))
						return bad(c, w2, "sample %zu is not a number", i);
			}
		}
	}
	return true;
}

static bool run(struct ctx *c, const json_t *r, size_t idx)
{
	char w[64], w2[256];
	const char *k;
	const json_t *v;

	snprintf(w, sizeof(w), "runs[%zu]", idx);
	if (!json_is_object(r))
		return bad(c, w, "not an object");
	if (!json_is_string(json_object_get(r, "workload")))
		return bad(c, w, "no workload name");
	const json_t *m = json_object_get(r, "metrics");
	if (!json_is_object(m))
		return bad(c, w, "no metrics object");
	snprintf(w2, sizeof(w2), "%s.metrics", w);
	if (!all_num(c, m, w2))
		return false;
	if (!opt(c, r, "config", is_obj, "an object", w) || !opt(c, r, "params", is_obj, "an object", w) ||
	    !opt(c, r, "latency", is_obj, "an object", w) ||
	    !opt(c, r, "histograms", is_obj, "an object", w) ||
	    !opt(c, r, "time_series", is_obj, "an object", w) ||
	    !opt(c, r, "workload_metrics", is_obj, "an object", w) ||
	    !opt(c, r, "phases", is_obj, "an object", w) || !opt(c, r, "headline", is_arr, "an array", w) ||
	    !opt(c, r, "notes", is_arr, "an array", w) || !opt(c, r, "checks", is_obj, "an object", w) ||
	    !opt(c, r, "repetition", is_count, "a count", w) ||
	    !opt(c, r, "interrupted", is_bool, "true or false", w) ||
	    !opt(c, r, "inconclusive", is_bool, "true or false", w))
		return false;
	json_object_foreach((json_t *)json_object_get(r, "params"), k, v)
		if (!json_is_string(v) && !num(v)) {
			snprintf(w2, sizeof(w2), "%.40s.params.%.100s", w, k);
			return bad(c, w2, "expected a string");
		}
	const json_t *cfg = json_object_get(r, "config");
	if (!opt(c, cfg, "threads", is_count, "a count", w) ||
	    !opt(c, cfg, "paging_mode", is_str, "a string", w) ||
	    !opt(c, cfg, "profile", is_str, "a string", w))
		return false;
	json_object_foreach((json_t *)json_object_get(r, "latency"), k, v) {
		snprintf(w2, sizeof(w2), "%.40s.latency.%.100s", w, k);
		if (!json_is_object(v))
			return bad(c, w2, "expected {count, p50_ns, ...}");
		if (!all_num(c, v, w2))
			return false;
	}
	json_object_foreach((json_t *)json_object_get(r, "histograms"), k, v) {
		snprintf(w2, sizeof(w2), "%.40s.histograms.%.100s", w, k);
		if (!histogram(c, v, w2))
			return false;
	}
	const json_t *ts = json_object_get(r, "time_series");
	if (ts && json_object_size(ts)) {
		snprintf(w2, sizeof(w2), "%s.time_series", w);
		if (!series(c, ts, w2))
			return false;
	}
	snprintf(w2, sizeof(w2), "%s.workload_metrics", w);
	if (!all_num(c, json_object_get(r, "workload_metrics"), w2))
		return false;
	snprintf(w2, sizeof(w2), "%s.phases", w);
	if (!all_num(c, json_object_get(r, "phases"), w2))
		return false;
	size_t i;
	json_array_foreach(json_object_get(r, "headline"), i, v)
		if (!json_is_object(v) || !json_is_string(json_object_get(v, "name"))) {
			snprintf(w2, sizeof(w2), "%s.headline[%zu]", w, i);
			return bad(c, w2, "expected {name, better}");
		}
	json_array_foreach(json_object_get(r, "notes"), i, v)
		if (!json_is_string(v)) {
			snprintf(w2, sizeof(w2), "%s.notes[%zu]", w, i);
			return bad(c, w2, "expected a string");
		}
	const json_t *hl = json_object_get(r, "host_load");
	if (hl && !json_is_null(hl)) {
		snprintf(w2, sizeof(w2), "%s.host_load", w);
		if (!json_is_object(hl) || !json_is_boolean(json_object_get(hl, "busy")) ||
		    !num(json_object_get(hl, "share")))
			return bad(c, w2, "expected {busy, share, ...} or null");
	}
	const json_t *cr = json_object_get(r, "cpu_by_role");
	if (cr && !json_is_null(cr)) {
		snprintf(w2, sizeof(w2), "%s.cpu_by_role", w);
		if (!json_is_object(cr))
			return bad(c, w2, "expected an object or null");
		if (!all_num(c, cr, w2))
			return false;
	}
	const json_t *vm = json_object_get(r, "vidmm");
	if (vm) {
		snprintf(w2, sizeof(w2), "%s.vidmm", w);
		if (!json_is_object(vm))
			return bad(c, w2, "expected an object");
		json_array_foreach(json_object_get(vm, "segments"), i, v)
			if (!json_is_object(v) || !json_is_string(json_object_get(v, "name")) ||
			    !num(json_object_get(v, "total"))) {
				snprintf(w2, sizeof(w2), "%s.vidmm.segments[%zu]", w, i);
				return bad(c, w2, "expected {name, total, ...}");
			}
	}
	return true;
}

static int results(struct ctx *c, const json_t *d)
{
	const json_t *ctx = json_object_get(d, "context");
	const json_t *runs = json_object_get(d, "runs");

	if (!json_object_size(ctx) && !json_is_object(ctx))
		return bad(c, "context", "expected an object"), -EINVAL;
	if (json_array_size(runs) == 0)
		return bad(c, "runs", "empty: there is nothing to report"), -EINVAL;
	const json_t *p = json_object_get(ctx, "profile");
	if (p && !json_is_object(p))
		return bad(c, "context.profile", "expected an object"), -EINVAL;
	if (!all_num(c, p, "context.profile"))
		return -EINVAL;
	size_t i;
	const json_t *r;
	json_array_foreach(runs, i, r)
		if (!run(c, r, i))
			return -EINVAL;
	return DOC_RESULTS;
}

static int gbench(struct ctx *c, const json_t *d)
{
	const json_t *b = json_object_get(d, "benchmarks");
	size_t i;
	const json_t *e;
	char w[64];
	size_t n = 0;

	json_array_foreach(b, i, e) {
		snprintf(w, sizeof(w), "benchmarks[%zu]", i);
		if (!json_is_object(e))
			return bad(c, w, "not an object"), -EINVAL;
		const json_t *rt = json_object_get(e, "run_type");
		if (rt && (!json_is_string(rt) || strcmp(json_string_value(rt), "iteration") != 0))
			continue;
		if (json_is_true(json_object_get(e, "error_occurred")))
			continue;
		const char *u = json_string_value(json_object_get(e, "time_unit"));
		if (!json_is_string(json_object_get(e, "name")) || !num(json_object_get(e, "real_time")) ||
		    !u || (strcmp(u, "ns") && strcmp(u, "us") && strcmp(u, "ms") && strcmp(u, "s")))
			return bad(c, w, "expected {name, real_time, time_unit: ns|us|ms|s}"), -EINVAL;
		n++;
	}
	if (!n)
		return bad(c, "benchmarks", "no benchmark results"), -EINVAL;
	return DOC_GBENCH;
}

/* `vidmm-bench analyze --out`: {"analyze": {capacities: [{capacity, bound,
 * policies: {name: {bytes_moved, ...}}}, ...]}} */
static int analyze(struct ctx *c, const json_t *d)
{
	const json_t *caps = json_object_get(json_object_get(d, "analyze"), "capacities");
	const json_t *k;
	size_t i;
	char w[64];

	if (!json_is_array(caps) || !json_array_size(caps))
		return bad(c, "analyze.capacities", "expected a non-empty array"), -EINVAL;
	json_array_foreach(caps, i, k) {
		const json_t *b = json_object_get(k, "bound"), *pol = json_object_get(k, "policies");
		const json_t *p, *bb;
		const char *name;

		snprintf(w, sizeof(w), "analyze.capacities[%zu]", i);
		if (!json_is_object(k) || !is_count(json_object_get(k, "capacity")) ||
		    !json_is_object(b) || !json_is_boolean(json_object_get(b, "feasible")) ||
		    !json_is_object(pol) || !json_object_size(pol))
			return bad(c, w, "expected {capacity, bound: {feasible, bytes}, policies: {...}}"),
			       -EINVAL;
		bb = json_object_get(b, "bytes");
		if (!json_is_null(bb) && !is_count(bb))
			return bad(c, w, "bound.bytes: expected a byte count or null"), -EINVAL;
		json_object_foreach((json_t *)pol, name, p)
			if (!json_is_object(p) || !is_count(json_object_get(p, "bytes_moved")))
				return bad(c, w, "policies.%.40s: expected {bytes_moved, ...}", name),
				       -EINVAL;
	}
	return DOC_ANALYZE;
}

int validate_text(const char *text, size_t len, const char *name, char *err, size_t err_len)
{
	struct ctx c = { .name = name, .err = err, .len = err_len };
	json_error_t je;
	json_t *d = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	int ret;

	if (!d) {
		snprintf(err, err_len, "%s: not JSON (line %d, column %d: %s)", name, je.line, je.column,
			 je.text);
		for (char *p = err; *p; p++)
			if (*p == '\n')
				*p = ' ';
		return -EINVAL;
	}
	if (json_is_object(d) && json_is_array(json_object_get(d, "runs")))
		ret = results(&c, d);
	else if (json_is_object(d) && json_is_array(json_object_get(d, "benchmarks")))
		ret = gbench(&c, d);
	else if (json_is_object(d) && json_is_object(json_object_get(d, "fuzz")))
		ret = DOC_FUZZ;
	else if (json_is_object(d) && json_is_object(json_object_get(d, "analyze")))
		ret = analyze(&c, d);
	else {
		snprintf(err, err_len, "%s: neither a vidmm-bench results document ({context, runs}), "
			 "an analysis ({analyze}) nor Google Benchmark JSON ({context, benchmarks})",
			 name);
		ret = -EINVAL;
	}
	json_decref(d);
	return ret;
}

int validate_file(const char *path, char *err, size_t err_len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;
		snprintf(err, err_len, "%s: cannot read: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) || S_ISDIR(st.st_mode)) {
		close(fd);
		snprintf(err, err_len, "%s: is a directory, not a results file", path);
		return -EISDIR;
	}
	size_t cap = st.st_size > 0 ? (size_t)st.st_size : 4096, n = 0;
	char *buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		snprintf(err, err_len, "%s: out of memory", path);
		return -ENOMEM;
	}
	for (;;) {
		if (n == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				close(fd);
				snprintf(err, err_len, "%s: out of memory", path);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			snprintf(err, err_len, "%s: cannot read: %s", path, strerror(e));
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	int ret = validate_text(buf, n, path, err, err_len);
	free(buf);
	return ret;
}
