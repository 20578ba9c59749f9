/* SPDX-License-Identifier: MIT */
/*
 * offline.c - a trace's uses, the next-use oracle and the PFOO-L lower bound
 * (offline.h).
 *
 * Owns: the parsed uses (per allocation, sorted by line) and the intervals
 * between them. Must not: replay anything, or keep the trace's lines.
 */
#include "offline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/vidmm.h"

struct use {
	int64_t id;
	uint64_t line;
};

struct gap {
	uint64_t lines; /* between the two uses: g - 1 */
	uint64_t size;
	uint64_t from;  /* the first line in between (the earlier use's + 1) */
};

struct offline {
	uint64_t nid;      /* ids 0 .. nid - 1 */
	uint64_t *size;    /* per id; 0: never created (or the create failed) */
	uint64_t *first;   /* per id: its uses are line[first[id] .. first[id + 1]) */
	uint64_t *line;    /* every use's line, grouped by id, ascending */
	uint64_t nuses;
	struct gap *gaps;  /* sorted by lines */
	uint64_t ngaps;
	uint64_t peak, max_step, last_line;
	unsigned __int128 mandatory; /* sum over lines of the bytes each needs */
	uint64_t *step;    /* per line: the bytes it needs resident at once */
	uint64_t nstep;
	uint64_t page;     /* the profile's page size */
};

struct builder {
	struct use *u;
	uint64_t n, cap;
	uint64_t *size;
	bool *live;
	uint64_t nid;
	uint64_t *step; /* per line */
	uint64_t nstep;
	uint64_t creates, ahead; /* ids number creates: at most `ahead` (threads) early */
	const char *why;         /* what was wrong with a line, when known */
};

static int set_step(struct builder *b, uint64_t line, uint64_t bytes)
{
	if (line >= b->nstep) {
		uint64_t n = b->nstep ? b->nstep : 4096;
		while (n <= line)
			n *= 2;
		uint64_t *p = realloc(b->step, n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		memset(p + b->nstep, 0, (n - b->nstep) * sizeof(*p));
		b->step = p;
		b->nstep = n;
	}
	b->step[line] = bytes;
	return 0;
}

static int grow_ids(struct builder *b, uint64_t id)
{
	uint64_t n;

	if (id < b->nid)
		return 0;
	if (id >= (1ull << 32))
		return -E2BIG;
	n = b->nid ? b->nid : 1024;
	while (n <= id)
		n *= 2;
	uint64_t *s = realloc(b->size, n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	b->size = s;
	bool *l = realloc(b->live, n * sizeof(*l));
	if (!l)
		return -ENOMEM;
	b->live = l;
	memset(b->size + b->nid, 0, (n - b->nid) * sizeof(*s));
	memset(b->live + b->nid, 0, (n - b->nid) * sizeof(*l));
	b->nid = n;
	return 0;
}

static int add_use(struct builder *b, int64_t id, uint64_t line)
{
	if (b->n == b->cap) {
		uint64_t n = b->cap ? 2 * b->cap : 4096;
		struct use *u = realloc(b->u, n * sizeof(*u));
		if (!u)
			return -ENOMEM;
		b->u = u;
		b->cap = n;
	}
	b->u[b->n].id = id;
	b->u[b->n].line = line;
	b->n++;
	return 0;
}

static bool geti(const json_t *a, size_t i, int64_t *v)
{
	const json_t *x = json_array_get(a, i);

	if (!json_is_integer(x))
		return false;
	*v = json_integer_value(x);
	return true;
}

static int cmp_use(const void *pa, const void *pb)
{
	const struct use *a = pa, *b = pb;

	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

static int cmp_gap(const void *pa, const void *pb)
{
	const struct gap *a = pa, *b = pb;

	return a->lines < b->lines ? -1 : a->lines > b->lines;
}

/* A live allocation id the recording created, or false. */
static bool known(const struct builder *b, int64_t id)
{
	return id >= 0 && (uint64_t)id < b->nid && b->live[id];
}

/*
 * One call line at line number ln. Returns 0, or -EINVAL with a message.
 * live_bytes tracks the live total for the peak; step is the bytes this
 * line needs resident.
 */
static int parse_line(struct builder *b, const json_t *a, uint64_t ln, uint64_t *live_bytes,
		      uint64_t *step)
{
	const char *k = json_string_value(json_array_get(a, 0));
	int64_t id, ret, size;

	*step = 0;
	if (!k || !geti(a, 1, &id) || id < 0)
		return -EINVAL;
	if (!strcmp(k, "c")) {
		int64_t x;

		/* the replay's own rules (trace.c): every field, sizes a
		 * manager could hold, ids in the order of the creates */
		if (!geti(a, 2, &size) || size <= 0 || !geti(a, 3, &x) || !geti(a, 4, &x) ||
		    !geti(a, 5, &x) || !json_is_array(json_array_get(a, 6)) ||
		    json_array_size(json_array_get(a, 6)) > VIDMM_MAX_PREFERRED || !geti(a, 7, &ret))
			return -EINVAL;
		if (size > (int64_t)1 << 50) {
			b->why = "an allocation larger than 1 PiB";
			return -EINVAL;
		}
		if ((uint64_t)id > b->creates + b->ahead) {
			b->why = "allocation id out of order";
			return -EINVAL;
		}
		b->creates++;
		int e = grow_ids(b, (uint64_t)id);
		if (e)
			return e;
		if (b->live[id]) {
			b->why = "an allocation id created twice";
			return -EINVAL;
		}
		if (ret == 0 && *live_bytes > ((uint64_t)1 << 62) - (uint64_t)size) {
			b->why = "more than 2^62 bytes live at once";
			return -EINVAL;
		}
		if (ret == 0) {
			b->size[id] = (uint64_t)size;
			b->live[id] = true;
			*live_bytes += (uint64_t)size;
		}
		return 0;
	}
	if (!strcmp(k, "s")) {
		const json_t *refs = json_array_get(a, 4);
		int64_t seen[VIDMM_JOB_MAX_REFS];
		size_t n = 0;

		if (!json_is_array(refs) || json_array_size(refs) > VIDMM_JOB_MAX_REFS ||
		    !geti(a, 5, &ret))
			return -EINVAL;
		if (ret != 0)
			return 0; /* the recording's job did not run */
		for (size_t i = 0; i < json_array_size(refs); i++) {
			int64_t rid;
			bool dup = false;

			int64_t acc;

			if (!geti(json_array_get(refs, i), 0, &rid) || rid < 0 ||
			    !geti(json_array_get(refs, i), 1, &acc))
				return -EINVAL;
			for (size_t j = 0; j < n; j++)
				dup |= seen[j] == rid;
			if (dup || !known(b, rid))
				continue;
			seen[n++] = rid;
			*step += b->size[rid];
			int e = add_use(b, rid, ln);
			if (e)
				return e;
		}
		return 0;
	}
	if (!strcmp(k, "F")) /* an injected fault: no use */
		return json_is_string(json_array_get(a, 2)) && geti(a, 3, &ret) ? 0 : -EINVAL;
	/* [k, id, ..., ret]: ret is the last element */
	if (!geti(a, json_array_size(a) - 1, &ret) || json_array_size(a) < 3)
		return -EINVAL;
	if (!strcmp(k, "d")) {
		if (ret == 0 && known(b, id)) {
			b->live[id] = false;
			*live_bytes -= b->size[id];
		}
		return 0;
	}
	if (!strcmp(k, "l") || !strcmp(k, "V") || !strcmp(k, "W")) {
		if (ret == 0 && known(b, id)) {
			*step = b->size[id];
			return add_use(b, id, ln);
		}
		return 0;
	}
	if (!strcmp(k, "u") || !strcmp(k, "e") || !strcmp(k, "o"))
		return 0;
	return -EINVAL;
}

int offline_load(const char *path, struct offline **out, char *err, size_t len)
{
	struct builder b = { 0 };
	struct offline *m = NULL;
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t ln = 0, live = 0, step;
	json_error_t je;
	int ret = -EINVAL;
	bool footer = false;

	if (!f) {
		ret = -errno;
		snprintf(err, len, "analyze: cannot open %s: %s", path, strerror(errno));
		return ret;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		ret = -ENOMEM;
		goto fail_msg;
	}
	while ((n = getline(&buf, &cap, f)) > 0) {
		json_t *v;

		ln++;
		if (footer) {
			snprintf(err, len, "analyze: %s:%" PRIu64 ": a line after the footer", path, ln);
			goto fail;
		}
		v = json_loadb(buf, (size_t)n, 0, &je);
		if (!v) {
			snprintf(err, len, "analyze: %s:%" PRIu64 ": %s", path, ln, je.text);
			goto fail;
		}
		if (ln == 1) {
			bool ok = json_is_object(v) &&
				  json_integer_value(json_object_get(v, "vidmm_trace")) == 1;
			json_t *th = ok ? json_object_get(v, "threads") : NULL;
			int64_t ps = json_integer_value(json_object_get(json_object_get(v, "profile"),
									 "page_size"));

			b.ahead = json_is_integer(th) && json_integer_value(th) > 0
					  ? (uint64_t)json_integer_value(th) : 1;
			m->page = ps > 0 ? (uint64_t)ps : 4096;
			json_decref(v);
			if (!ok) {
				snprintf(err, len, "analyze: %s: not a vidmm-bench trace (no version-1 "
					 "header line)", path);
				goto fail;
			}
			continue;
		}
		if (json_is_object(v)) {
			footer = json_object_get(v, "end") != NULL;
			json_decref(v);
			if (!footer) {
				snprintf(err, len, "analyze: %s:%" PRIu64 ": an object that is not the "
					 "footer in the middle of the calls", path, ln);
				goto fail;
			}
			continue;
		}
		ret = json_is_array(v) ? parse_line(&b, v, ln, &live, &step) : -EINVAL;
		json_decref(v);
		if (ret) {
			if (ret == -EINVAL)
				snprintf(err, len, "analyze: %s:%" PRIu64 ": %s", path, ln,
					 b.why ? b.why : "malformed trace line");
			else
				snprintf(err, len, "analyze: %s:%" PRIu64 ": %s", path, ln, strerror(-ret));
			goto fail;
		}
		ret = step ? set_step(&b, ln, step) : 0;
		if (ret) {
			snprintf(err, len, "analyze: %s: %s", path, strerror(-ret));
			goto fail;
		}
		ret = -EINVAL;
		if (live > m->peak)
			m->peak = live;
		if (step > m->max_step)
			m->max_step = step;
		m->mandatory += step;
		m->last_line = ln;
	}
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, len, "analyze: %s: read error after line %" PRIu64, path, ln);
		goto fail;
	}
	if (ln == 0) {
		snprintf(err, len, "analyze: %s: empty file", path);
		goto fail;
	}

	/* Group the uses by id (stable in line order: lines only grow). */
	qsort(b.u, b.n, sizeof(*b.u), cmp_use);
	m->nid = b.nid;
	m->size = b.size;
	b.size = NULL;
	m->first = calloc(m->nid + 1, sizeof(*m->first));
	m->line = malloc((b.n ? b.n : 1) * sizeof(*m->line));
	m->gaps = malloc((b.n ? b.n : 1) * sizeof(*m->gaps));
	if (!m->first || !m->line || !m->gaps) {
		ret = -ENOMEM;
		goto fail_msg;
	}
	for (uint64_t i = 0; i < b.n; i++) {
		m->line[i] = b.u[i].line;
		m->first[b.u[i].id + 1]++;
		if (i && b.u[i - 1].id == b.u[i].id) {
			m->gaps[m->ngaps].lines = b.u[i].line - b.u[i - 1].line - 1;
			m->gaps[m->ngaps].size = m->size[b.u[i].id];
			m->gaps[m->ngaps].from = b.u[i - 1].line + 1;
			m->ngaps++;
		}
	}
	for (uint64_t i = 0; i < m->nid; i++)
		m->first[i + 1] += m->first[i];
	m->nuses = b.n;
	qsort(m->gaps, m->ngaps, sizeof(*m->gaps), cmp_gap);
	m->step = b.step;
	m->nstep = b.nstep;
	b.step = NULL;
	free(b.u);
	free(b.live);
	free(buf);
	fclose(f);
	*out = m;
	return 0;

fail_msg:
	snprintf(err, len, "analyze: %s: %s", path, strerror(-ret));
fail:
	free(b.u);
	free(b.step);
	free(b.size);
	free(b.live);
	free(buf);
	fclose(f);
	offline_free(m);
	return ret;
}

void offline_free(struct offline *m)
{
	if (!m)
		return;
	free(m->size);
	free(m->first);
	free(m->line);
	free(m->gaps);
	free(m->step);
	free(m);
}

uint64_t offline_peak(const struct offline *m)
{
	return m->peak;
}

uint64_t offline_allocations(const struct offline *m)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < m->nid; i++)
		n += m->size[i] != 0;
	return n;
}

uint64_t offline_uses(const struct offline *m)
{
	return m->nuses;
}

uint64_t offline_max_step(const struct offline *m)
{
	return m->max_step;
}

uint64_t offline_page_size(const struct offline *m)
{
	return m->page;
}

uint64_t offline_next_use(const struct offline *m, int64_t id, uint64_t now)
{
	uint64_t lo, hi;

	if (id < 0 || (uint64_t)id >= m->nid)
		return UINT64_MAX;
	lo = m->first[id];
	hi = m->first[id + 1];
	/* first use line > now */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (m->line[mid] <= now)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->first[id + 1] ? m->line[lo] : UINT64_MAX;
}

void offline_bound_average(const struct offline *m, uint64_t capacity, struct offline_bound *out)
{
	/* Lines 2 .. last_line are the calls: T of them. */
	uint64_t lines = m->last_line > 1 ? m->last_line - 1 : 0;
	unsigned __int128 budget, all = 0, saved = 0;

	memset(out, 0, sizeof(*out));
	out->intervals = m->ngaps;
	for (uint64_t i = 0; i < m->ngaps; i++)
		all += 2 * (unsigned __int128)m->gaps[i].size;
	out->all_out = all > UINT64_MAX ? UINT64_MAX : (uint64_t)all;
	if (m->max_step > capacity)
		return; /* some line cannot run at all */
	out->feasible = true;
	budget = (unsigned __int128)capacity * lines;
	budget = budget > m->mandatory ? budget - m->mandatory : 0;
	for (uint64_t i = 0; i < m->ngaps; i++) {
		unsigned __int128 cost = (unsigned __int128)m->gaps[i].size * m->gaps[i].lines;
		unsigned __int128 gain = 2 * (unsigned __int128)m->gaps[i].size;

		if (cost <= budget) {
			budget -= cost;
			saved += gain;
			out->kept += 1;
			continue;
		}
		/* the last one, in part: what the rest of the budget buys */
		saved += gain * budget / cost;
		out->kept += (double)budget / (double)cost;
		break;
	}
	out->bytes = (uint64_t)(all - saved);
}

/* ---- FOO-L: the same intervals, capacity on every line ---- */

/*
 * A segment tree over lines 0 .. n-1: add a value to a range, read the
 * minimum of a range; both O(log n).
 */
struct segtree {
	uint64_t n;
	int64_t *min, *add; /* 2 * size nodes, lazily added */
	uint64_t size;
};

static int seg_init(struct segtree *t, const int64_t *v, uint64_t n)
{
	t->n = n;
	for (t->size = 1; t->size < n; t->size *= 2)
		;
	t->min = malloc(2 * t->size * sizeof(*t->min));
	t->add = calloc(2 * t->size, sizeof(*t->add));
	if (!t->min || !t->add)
		return -ENOMEM;
	for (uint64_t i = 0; i < t->size; i++)
		t->min[t->size + i] = i < n ? v[i] : INT64_MAX;
	t->min[0] = INT64_MAX; /* unused */
	for (uint64_t i = t->size; i-- > 1;) {
		int64_t l = t->min[2 * i], r = t->min[2 * i + 1];

		t->min[i] = l < r ? l : r;
	}
	return 0;
}

static void seg_free(struct segtree *t)
{
	free(t->min);
	free(t->add);
}

/* min over [lo, hi] within node x covering [l, r] */
static int64_t seg_min(const struct segtree *t, uint64_t x, uint64_t l, uint64_t r, uint64_t lo,
		       uint64_t hi)
{
	if (hi < l || r < lo)
		return INT64_MAX;
	if (lo <= l && r <= hi)
		return t->min[x];
	uint64_t mid = l + (r - l) / 2;
	int64_t a = seg_min(t, 2 * x, l, mid, lo, hi), b = seg_min(t, 2 * x + 1, mid + 1, r, lo, hi);
	int64_t m = a < b ? a : b;

	return m == INT64_MAX ? m : m + t->add[x];
}

static void seg_add(struct segtree *t, uint64_t x, uint64_t l, uint64_t r, uint64_t lo,
		    uint64_t hi, int64_t d)
{
	if (hi < l || r < lo)
		return;
	if (lo <= l && r <= hi) {
		t->min[x] += d;
		t->add[x] += d;
		return;
	}
	uint64_t mid = l + (r - l) / 2;

	seg_add(t, 2 * x, l, mid, lo, hi, d);
	seg_add(t, 2 * x + 1, mid + 1, r, lo, hi, d);
	t->min[x] = (t->min[2 * x] < t->min[2 * x + 1] ? t->min[2 * x] : t->min[2 * x + 1]) +
		    t->add[x];
}

static int cmp_by_end(const void *pa, const void *pb)
{
	const struct gap *a = pa, *b = pb;
	uint64_t ea = a->from + a->lines, eb = b->from + b->lines;

	if (ea != eb)
		return ea < eb ? -1 : 1;
	/* same end: the shorter first */
	return a->from > b->from ? -1 : a->from < b->from;
}

/*
 * FOO's linear program with its per-line capacity (FOO-L): keep f_i of
 * interval i's s_i bytes resident across its lines (0 <= f_i <= s_i), no
 * line's kept bytes above the capacity minus that line's own uses, as many
 * bytes kept as possible; the bound is 2 * (sum s_i - sum f_i). With every
 * byte worth the same (this bound counts bytes, not misses), FOO's min-cost
 * flow reduces to packing intervals on a line, which taking them by earliest
 * end, each as much as the tightest line under it allows, solves exactly
 * (an exchange argument: tests/test_analyze.c checks it against a min-cost
 * flow and against brute force).
 */
void offline_bound(const struct offline *m, uint64_t capacity, struct offline_bound *out)
{
	uint64_t n = m->last_line + 1;
	unsigned __int128 all = 0, kept_bytes = 0;
	struct gap *g = NULL;
	int64_t *cap = NULL;
	struct segtree t = { 0 };

	memset(out, 0, sizeof(*out));
	out->intervals = m->ngaps;
	for (uint64_t i = 0; i < m->ngaps; i++)
		all += 2 * (unsigned __int128)m->gaps[i].size;
	out->all_out = all > UINT64_MAX ? UINT64_MAX : (uint64_t)all;
	if (m->max_step > capacity || capacity > INT64_MAX)
		return;
	g = malloc((m->ngaps ? m->ngaps : 1) * sizeof(*g));
	cap = malloc(n * sizeof(*cap));
	if (g && cap) {
		memcpy(g, m->gaps, m->ngaps * sizeof(*g));
		for (uint64_t l = 0; l < n; l++)
			cap[l] = (int64_t)capacity - (int64_t)(l < m->nstep ? m->step[l] : 0);
	}
	if (!g || !cap || seg_init(&t, cap, n)) {
		/* Without memory: the average bound, which is lower. */
		offline_bound_average(m, capacity, out);
		goto out;
	}
	out->feasible = true;
	qsort(g, m->ngaps, sizeof(*g), cmp_by_end);
	for (uint64_t i = 0; i < m->ngaps; i++) {
		int64_t f = (int64_t)g[i].size;

		if (g[i].lines) {
			int64_t room = seg_min(&t, 1, 0, t.size - 1, g[i].from,
					       g[i].from + g[i].lines - 1);
			if (room < f)
				f = room > 0 ? room : 0;
			if (f)
				seg_add(&t, 1, 0, t.size - 1, g[i].from, g[i].from + g[i].lines - 1, -f);
		}
		kept_bytes += (uint64_t)f;
		out->kept += (double)f / (double)g[i].size;
	}
	all -= 2 * kept_bytes;
	out->bytes = all > UINT64_MAX ? UINT64_MAX : (uint64_t)all;
out:
	seg_free(&t);
	free(g);
	free(cap);
}
