/* SPDX-License-Identifier: MIT */
/*
 * trace.c - trace record and replay (format in trace.h).
 *
 * Owns: the trace file, and the "replay" workload that feeds a trace's calls
 * back through the runner's raw wrappers (so a replay is timed and reported
 * like any run). Must not: re-derive the original workload's decisions -
 * the trace is the calls, not the generator.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "drivers/chip.h"
#include "metrics.h"
#include "rfile.h"
#include "trace.h"
#include "cli.h"

struct trace_writer {
	FILE *f;              /* on a dup of rf.fd: buffered, big writes */
	struct rfile rf;      /* the file, unnamed until committed (rfile.h) */
	pthread_mutex_t lock;
};

int trace_writer_open(const char *path, struct trace_writer **out, char *err, size_t len)
{
	struct trace_writer *tw = calloc(1, sizeof(*tw));
	int ret;

	if (!tw)
		return -ENOMEM;
	ret = rfile_open(&tw->rf, path, "--record", err, len);
	if (ret) {
		free(tw);
		return ret;
	}
	int fd = dup(tw->rf.fd);
	tw->f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!tw->f) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		rfile_abort(&tw->rf);
		free(tw);
		snprintf(err, len, "--record: %s", strerror(e));
		return -e;
	}
	/* Traces are large and written by one thread at a time: a big buffer
	 * keeps recording cheap. */
	setvbuf(tw->f, NULL, _IOFBF, 1 << 20);
	pthread_mutex_init(&tw->lock, NULL);
	*out = tw;
	return 0;
}

int trace_write_header(struct trace_writer *tw, const struct run_config *c)
{
	json_t *params = json_object();

	for (unsigned i = 0; i < c->nparams; i++)
		json_object_set_new(params, c->params[i].name, json_string(c->params[i].value));
	json_t *h = json_pack("{s:i,s:i,s:s,s:s,s:I,s:i,s:b,s:s,s:s,s:s,s:o,s:o}", "vidmm_trace", 1,
			      "policy", VIDMM_POLICY_VERSION,
			      "evict_policy", c->evict_policy[0] ? c->evict_policy : "lru",
			      "workload", c->w->name, "seed", (json_int_t)c->seed,
			      "threads", (int)c->threads, "verify", c->verify,
			      "paging_mode", c->paging_mode == VIDMM_PAGING_BOUNCE ? "bounce" : "window",
			      "paging", c->pipelined ? "pipelined" : "sync", "driver", c->driver,
			      "profile", metrics_profile_json(&c->profile),
			      "params", params);
	char *s = json_dumps(h, JSON_COMPACT);
	json_decref(h);
	if (!s)
		return -ENOMEM;
	fprintf(tw->f, "%s\n", s);
	free(s);
	return 0;
}

void trace_op_create(struct trace_writer *tw, uint64_t id, const struct vidmm_alloc_desc *d,
		     int ret)
{
	pthread_mutex_lock(&tw->lock);
	if (!tw->f) { /* salvaged: the process is exiting */
		pthread_mutex_unlock(&tw->lock);
		return;
	}
	fprintf(tw->f, "[\"c\",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%d,%u,[", id, d->size,
		d->alignment, (int)d->priority, d->flags);
	for (uint32_t i = 0; i < d->n_preferred && i < VIDMM_MAX_PREFERRED; i++)
		fprintf(tw->f, i ? ",%u" : "%u", d->preferred[i]);
	fprintf(tw->f, "],%d]\n", ret);
	pthread_mutex_unlock(&tw->lock);
}

void trace_op_simple(struct trace_writer *tw, char kind, uint64_t id, int ret)
{
	pthread_mutex_lock(&tw->lock);
	if (tw->f)
		fprintf(tw->f, "[\"%c\",%" PRIu64 ",%d]\n", kind, id, ret);
	pthread_mutex_unlock(&tw->lock);
}

void trace_op_submit(struct trace_writer *tw, const struct vidmm_job *job, const uint64_t *ids,
		     int ret)
{
	pthread_mutex_lock(&tw->lock);
	if (!tw->f) {
		pthread_mutex_unlock(&tw->lock);
		return;
	}
	fprintf(tw->f, "[\"s\",%d,%" PRId64 ",%u,[", (int)job->op, (int64_t)job->seed, job->engine);
	for (uint32_t i = 0; i < job->nrefs; i++)
		fprintf(tw->f, i ? ",[%" PRIu64 ",%u]" : "[%" PRIu64 ",%u]", ids[i],
			job->refs[i].access);
	fprintf(tw->f, "],%d]\n", ret);
	pthread_mutex_unlock(&tw->lock);
}

/* Flush, close the stream and publish the file; with a footer or without. */
static int publish(struct trace_writer *tw, const char *footer, char *err, size_t len)
{
	int ret = 0;

	pthread_mutex_lock(&tw->lock);
	if (footer)
		fprintf(tw->f, "%s\n", footer);
	if (fflush(tw->f) || ferror(tw->f))
		ret = -EIO;
	if (fclose(tw->f) && !ret)
		ret = -EIO;
	tw->f = NULL;
	pthread_mutex_unlock(&tw->lock);
	if (ret) {
		snprintf(err, len, "--record: writing %s failed", tw->rf.path);
		rfile_abort(&tw->rf);
		return ret;
	}
	tw->rf.done = true;
	return rfile_commit(&tw->rf, err, len);
}

int trace_writer_commit(struct trace_writer *tw, const struct run_result *res, char *err,
			size_t len)
{
	json_t *f = json_pack("{s:{s:I,s:I,s:b,s:o}}", "end", "ops", (json_int_t)res->ops_total,
			      "integrity_errors", (json_int_t)res->integrity_errors,
			      "interrupted", res->interrupted, "stats", metrics_stats_json(&res->st));
	char *s = json_dumps(f, JSON_COMPACT);
	json_decref(f);
	int ret = publish(tw, s ? s : "{}", err, len);
	free(s);
	pthread_mutex_destroy(&tw->lock);
	free(tw);
	return ret;
}

int trace_writer_salvage(struct trace_writer *tw, char *err, size_t len)
{
	return publish(tw, NULL, err, len);
}

void trace_writer_abort(struct trace_writer *tw)
{
	if (!tw)
		return;
	if (tw->f)
		fclose(tw->f);
	rfile_abort(&tw->rf);
	pthread_mutex_destroy(&tw->lock);
	free(tw);
}

/* ---- replay ---------------------------------------------------------------------- */

struct trace_replay {
	char path[PATH_MAX];
	FILE *f;
	char *line;
	size_t cap;
	uint64_t lineno;
	json_t *footer;          /* the "end" object */
	char bad[PATH_MAX + 256]; /* first malformed line */
	uint64_t divergent;      /* calls whose return differs from the recording */
	char first_div[160];
	uint64_t recorded_threads;
	int64_t policy;          /* VIDMM_POLICY_VERSION of the recording (1 if absent) */
	char evict_policy[32];   /* the recording's eviction policy ("lru" if absent) */
	char replay_policy[32];  /* the one this replay runs ("": the recording's) */
	bool check_each;         /* run vidmm_check after every call (fuzz reproducers) */
	uint64_t failed_now;     /* calls that succeeded in the recording and fail now */
	uint64_t creates;        /* create lines so far */
	bool partial;            /* --partial: no footer is fine */
	json_t *recorded;        /* {workload, params} of the recording */
	/* id -> handle */
	vidmm_handle_t *h;
	uint64_t nh;
	/* handle slot -> id, for the analysis's next-use oracle */
	int64_t *id_by_slot;
	uint64_t nslots;
	/* analysis: place every allocation in local memory only */
	bool local_only;
	uint32_t nlocal;
	uint32_t local[VIDMM_MAX_PREFERRED];
	bool local_visible[VIDMM_MAX_PREFERRED]; /* the CPU can map it */
};

static const struct wl_param no_params[] = { { .name = NULL } };

/* The handle an allocation id stands for: 0 (never created, or destroyed)
 * for an id no create line named. */
static vidmm_handle_t handle_of(const struct trace_replay *tr, int64_t id)
{
	return id >= 0 && (uint64_t)id < tr->nh ? tr->h[id] : 0;
}

static int grow(struct trace_replay *tr, uint64_t id)
{
	if (id < tr->nh)
		return 0;
	uint64_t n = tr->nh ? tr->nh : 1024;
	while (n <= id)
		n *= 2;
	if (n > (1ull << 32))
		return -E2BIG;
	vidmm_handle_t *p = realloc(tr->h, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + tr->nh, 0, (n - tr->nh) * sizeof(*p));
	tr->h = p;
	tr->nh = n;
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

static void diverged(struct trace_replay *tr, const char *what, int want, int got)
{
	if (want == 0 && got != 0)
		tr->failed_now++;
	if (!tr->divergent++)
		snprintf(tr->first_div, sizeof(tr->first_div),
			 "line %" PRIu64 ": %s returned %d, recorded %d", tr->lineno, what, got, want);
}

/*
 * ["V", id, [[len, kind, seed], ...], ret]: lock, compare what the CPU sees
 * with those runs (kind 0 zeros, 1 the pattern of seed, 2 unknown), unlock;
 * every mismatched word is an integrity error.
 * ["W", id, seed, ret]: lock, write the pattern of seed, unlock.
 */
static bool replay_cpu(struct wl_thread *t, struct trace_replay *tr, const json_t *a, bool write,
		       uint64_t id)
{
	int64_t ret, seed = 0;
	const json_t *runs = json_array_get(a, 2);
	void *cpu = NULL;

	if (!geti(a, 3, &ret) || (write ? !geti(a, 2, &seed) : !json_is_array(runs)))
		return false;
	int r = runner_raw_lock_cpu(t, handle_of(tr, (int64_t)id), id, &cpu);
	if (r != ret)
		diverged(tr, write ? "CPU write" : "CPU read", (int)ret, r);
	if (r)
		return true;
	struct vidmm_alloc_info in;
	uint64_t size = vidmm_query_allocation(t->r->vm, handle_of(tr, (int64_t)id), &in) ? 0 : in.size;
	uint64_t *w = cpu, off = 0;
	if (write) {
		for (; off < size; off += 8)
			w[off / 8] = vidmm_pattern_word((uint64_t)seed, off);
	} else {
		for (size_t i = 0; i < json_array_size(runs); i++) {
			int64_t len, kind, rseed;
			const json_t *run = json_array_get(runs, i);
			if (!geti(run, 0, &len) || !geti(run, 1, &kind) || !geti(run, 2, &rseed))
				return false;
			for (uint64_t end = off + (uint64_t)len; off < end && off < size; off += 8) {
				uint64_t want = kind == 0 ? 0 : vidmm_pattern_word((uint64_t)rseed, off);
				if (kind != 2 && w[off / 8] != want)
					t->integrity_errors++;
			}
		}
	}
	runner_raw_unlock(t, handle_of(tr, (int64_t)id), id);
	return true;
}

/* The local segments, looked up on the first create (the manager exists
 * by then). false if there are none (then placement is the trace's). */
static bool local_segments(struct wl_thread *t, struct trace_replay *tr)
{
	struct vidmm_segment_info s[VIDMM_MAX_SEGMENTS];
	uint32_t n = 0;

	if (tr->nlocal)
		return true;
	if (vidmm_query_segments(t->r->vm, s, VIDMM_MAX_SEGMENTS, &n))
		return false;
	for (uint32_t i = 0; i < n && i < VIDMM_MAX_SEGMENTS && tr->nlocal < VIDMM_MAX_PREFERRED; i++)
		if (s[i].flags & VIDMM_SEG_LOCAL) {
			tr->local_visible[tr->nlocal] = s[i].flags & VIDMM_SEG_CPU_VISIBLE;
			tr->local[tr->nlocal++] = s[i].id;
		}
	return tr->nlocal > 0;
}

/* Remember which id a handle's slot holds now (the oracle's reverse map).
 * Without memory the map just stays short: id_of answers -1 for it. */
static void note_slot(struct trace_replay *tr, vidmm_handle_t h, int64_t id)
{
	uint64_t slot = (uint32_t)h;

	if (slot >= tr->nslots) {
		uint64_t n = tr->nslots ? tr->nslots : 1024;
		while (n <= slot)
			n *= 2;
		int64_t *p = realloc(tr->id_by_slot, n * sizeof(*p));
		if (!p)
			return;
		for (uint64_t i = tr->nslots; i < n; i++)
			p[i] = -1;
		tr->id_by_slot = p;
		tr->nslots = n;
	}
	tr->id_by_slot[slot] = id;
}

/* One call line. false: malformed (tr->bad says why). */
static bool replay_line(struct wl_thread *t, struct trace_replay *tr, const json_t *a)
{
	const char *k = json_string_value(json_array_get(a, 0));
	int64_t id, ret;

	if (!k || !geti(a, 1, &id) || id < 0)
		goto bad;
	if (strcmp(k, "c") == 0) {
		/* Ids number the creates in the order they were called, and lines
		 * are written in about that order (at most one pending create per
		 * recording thread; fuzz reproducers start at 1, id 0 standing for
		 * a forged handle): an id far ahead is a damaged trace, and would
		 * size the id table by itself. */
		uint64_t ahead = tr->recorded_threads ? tr->recorded_threads : 1;
		if ((uint64_t)id > tr->creates + ahead) {
			snprintf(tr->bad, sizeof(tr->bad), "%s:%" PRIu64 ": allocation id %" PRId64
				 " out of order (%" PRIu64 " creates so far)", tr->path, tr->lineno,
				 id, tr->creates);
			return false;
		}
		tr->creates++;
		if (grow(tr, (uint64_t)id + 1))
			goto bad;
		int64_t size, align, prio, flags;
		const json_t *pref = json_array_get(a, 6);
		struct vidmm_alloc_desc d = { 0 };
		vidmm_handle_t h;
		if (!geti(a, 2, &size) || !geti(a, 3, &align) || !geti(a, 4, &prio) ||
		    !geti(a, 5, &flags) || !json_is_array(pref) || !geti(a, 7, &ret) ||
		    json_array_size(pref) > VIDMM_MAX_PREFERRED)
			goto bad;
		d.size = (uint64_t)size;
		d.alignment = (uint64_t)align;
		d.priority = (enum vidmm_priority)prio;
		d.flags = (uint32_t)flags;
		d.n_preferred = (uint32_t)json_array_size(pref);
		for (uint32_t i = 0; i < d.n_preferred; i++)
			d.preferred[i] = (uint32_t)json_integer_value(json_array_get(pref, i));
		if (tr->local_only && local_segments(t, tr)) {
			/* the local segments the allocation's flags allow */
			d.n_preferred = 0;
			for (uint32_t i = 0; i < tr->nlocal; i++)
				if (!(d.flags & VIDMM_ALLOC_CPU_VISIBLE) || tr->local_visible[i])
					d.preferred[d.n_preferred++] = tr->local[i];
		}
		int r = runner_raw_create(t, &d, (uint64_t)id, &h);
		tr->h[id] = r ? 0 : h;
		if (!r)
			note_slot(tr, h, id);
		if (r != ret)
			diverged(tr, "create", (int)ret, r);
		return true;
	}
	if (strcmp(k, "s") == 0) {
		int64_t op = id, seed, engine;
		const json_t *refs = json_array_get(a, 4);
		struct vidmm_job j;
		uint64_t ids[VIDMM_JOB_MAX_REFS];
		memset(&j, 0, offsetof(struct vidmm_job, refs));
		if (!geti(a, 2, &seed) || !geti(a, 3, &engine) || !json_is_array(refs) ||
		    json_array_size(refs) > VIDMM_JOB_MAX_REFS || !geti(a, 5, &ret))
			goto bad;
		j.op = (enum vidmm_job_op)op;
		j.seed = (uint64_t)seed;
		j.engine = (uint32_t)engine;
		j.nrefs = (uint32_t)json_array_size(refs);
		for (uint32_t i = 0; i < j.nrefs; i++) {
			int64_t rid, acc;
			const json_t *r = json_array_get(refs, i);
			if (!geti(r, 0, &rid) || !geti(r, 1, &acc) || rid < 0)
				goto bad;
			ids[i] = (uint64_t)rid;
			j.refs[i].handle = handle_of(tr, rid);
			j.refs[i].access = (uint32_t)acc;
		}
		int64_t expect;
		int r = geti(a, 6, &expect) ? runner_raw_submit_expect(t, &j, ids, (uint64_t)expect)
					    : runner_raw_submit(t, &j, ids);
		if (r != ret)
			diverged(tr, "submit", (int)ret, r);
		return true;
	}
	if (strcmp(k, "V") == 0 || strcmp(k, "W") == 0)
		return replay_cpu(t, tr, a, k[0] == 'W', (uint64_t)id);
	if (strcmp(k, "F") == 0) {
		int64_t seed;
		const char *kind = json_string_value(json_array_get(a, 2));
		if (!kind || !geti(a, 3, &seed))
			goto bad;
		if (runner_raw_fault(t, kind, (uint64_t)seed)) {
			snprintf(tr->bad, sizeof(tr->bad), "%s:%" PRIu64 ": fault '%s' cannot be injected "
				 "here", tr->path, tr->lineno, kind);
			return false;
		}
		return true;
	}
	if (!geti(a, 2, &ret))
		goto bad;
	int r;
	switch (k[0] && !k[1] ? k[0] : 0) {
	case 'd':
		r = runner_raw_destroy(t, handle_of(tr, id), (uint64_t)id);
		if ((uint64_t)id < tr->nh)
			tr->h[id] = 0;
		break;
	case 'l':
		r = runner_raw_lock(t, handle_of(tr, id), (uint64_t)id);
		break;
	case 'u':
		r = runner_raw_unlock(t, handle_of(tr, id), (uint64_t)id);
		break;
	case 'e':
		r = runner_raw_evict(t, handle_of(tr, id), (uint64_t)id);
		break;
	case 'o':
		r = runner_raw_swap_out(t, handle_of(tr, id), (uint64_t)id);
		break;
	default:
		goto bad;
	}
	if (r != ret)
		diverged(tr, k, (int)ret, r);
	return true;
bad:
	snprintf(tr->bad, sizeof(tr->bad), "%s:%" PRIu64 ": malformed trace line", tr->path,
		 tr->lineno);
	return false;
}

static int replay_thread(struct wl_thread *t)
{
	struct trace_replay *tr = t->r->priv;
	ssize_t n;

	/* The whole replay is the measured window; an interrupt stops it. */
	wl_begin(t);
	while (wl_continue(t) && (n = getline(&tr->line, &tr->cap, tr->f)) > 0) {
		json_error_t je;
		tr->lineno++;
		json_t *v = json_loadb(tr->line, (size_t)n, 0, &je);
		if (!v) {
			/* The last line without its newline: the recording was cut
			 * mid-write (killed). The calls before it are whole. */
			if (tr->line[n - 1] != '\n' && getc(tr->f) == EOF) {
				if (tr->partial)
					break;
				snprintf(tr->bad, sizeof(tr->bad), "%s:%" PRIu64 ": the line is cut short: the "
					 "recording did not finish (replay --partial replays the calls "
					 "before it)", tr->path, tr->lineno);
				return -EINVAL;
			}
			snprintf(tr->bad, sizeof(tr->bad), "%s:%" PRIu64 ": %s", tr->path, tr->lineno,
				 je.text);
			return -EINVAL;
		}
		if (json_is_object(v)) {
			json_t *end = json_object_get(v, "end");
			if (end) {
				tr->footer = json_incref(end);
				json_decref(v);
				break;
			}
			/* Only the header (line 1) and the footer are objects. */
			json_decref(v);
			snprintf(tr->bad, sizeof(tr->bad), "%s:%" PRIu64 ": an object that is not the "
				 "footer in the middle of the calls", tr->path, tr->lineno);
			return -EINVAL;
		}
		bool ok = json_is_array(v) && replay_line(t, tr, v);
		json_decref(v);
		t->units++; /* a replay's unit: one call line */
		if (ok && tr->check_each && wl_run_check(t->r)) {
			fprintf(stderr, "replay: %s:%" PRIu64 ": vidmm_check failed after this call\n",
				tr->path, tr->lineno);
			break;
		}
		if (!ok) {
			if (!tr->bad[0])
				snprintf(tr->bad, sizeof(tr->bad), "%s:%" PRIu64 ": malformed trace line",
					 tr->path, tr->lineno);
			return -EINVAL;
		}
	}
	return 0;
}

static const struct workload replay_workload = {
	.name = "replay",
	.family = "replay",
	.description = "replays a recorded trace of manager calls",
	.params = no_params,
	.unit = "calls",
	.default_threads = 1,
	.thread = replay_thread,
};

int trace_replay_open(const char *path, struct run_config *c, struct trace_replay **out,
		      char *err, size_t len)
{
	struct trace_replay *tr = calloc(1, sizeof(*tr));
	json_error_t je;
	json_t *h = NULL;
	ssize_t n;
	int ret = -EINVAL;

	if (!tr)
		return -ENOMEM;
	snprintf(tr->path, sizeof(tr->path), "%s", path);
	tr->f = fopen(path, "r");
	if (!tr->f) {
		ret = -errno;
		snprintf(err, len, "replay: cannot open %s: %s", path, strerror(errno));
		free(tr);
		return ret;
	}
	n = getline(&tr->line, &tr->cap, tr->f);
	tr->lineno = 1;
	if (n <= 0 || !(h = json_loadb(tr->line, (size_t)n, 0, &je)) || !json_is_object(h) ||
	    json_integer_value(json_object_get(h, "vidmm_trace")) != 1) {
		snprintf(err, len, "replay: %s: not a vidmm-bench trace (no version-1 header line)",
			 path);
		goto fail;
	}
	const json_t *seed = json_object_get(h, "seed");
	const json_t *pm = json_object_get(h, "paging_mode");
	const json_t *th = json_object_get(h, "threads");
	if (!json_is_integer(seed) || !json_is_string(pm) || !json_is_integer(th)) {
		snprintf(err, len, "replay: %s: header: seed, paging_mode or threads missing", path);
		goto fail;
	}
	/* The recorder's own limit (--threads). */
	if (json_integer_value(th) < 1 || json_integer_value(th) > 256) {
		snprintf(err, len, "replay: %s: header: threads %" JSON_INTEGER_FORMAT
			 " (a recording has 1 to 256)", path, json_integer_value(th));
		goto fail;
	}
	char perr[200];
	if (metrics_profile_from_json(json_object_get(h, "profile"), &c->profile, perr,
				      sizeof(perr))) {
		snprintf(err, len, "replay: %s: header: %s", path, perr);
		goto fail;
	}
	c->seed = (uint64_t)json_integer_value(seed);
	const json_t *pol = json_object_get(h, "policy");
	tr->policy = json_is_integer(pol) ? json_integer_value(pol) : 1;
	const json_t *ep = json_object_get(h, "evict_policy");
	if (ep && (!json_is_string(ep) ||
		   cli_evict_policy(json_string_value(ep), c->evict_policy, sizeof(c->evict_policy),
				    perr, sizeof(perr)))) {
		snprintf(err, len, "replay: %s: header: evict_policy: %s", path,
			 json_is_string(ep) ? "not a policy this build knows (vidmm-bench list)"
					    : "not a string");
		goto fail;
	}
	if (!ep)
		c->evict_policy[0] = 0;
	snprintf(tr->evict_policy, sizeof(tr->evict_policy), "%s",
		 c->evict_policy[0] ? c->evict_policy : "lru");
	tr->check_each = json_is_true(json_object_get(h, "check_each"));
	c->paging_mode = strcmp(json_string_value(pm), "bounce") == 0 ? VIDMM_PAGING_BOUNCE
								       : VIDMM_PAGING_WINDOW;
	/* Optional (traces older than --paging are synchronous). */
	const json_t *pp = json_object_get(h, "paging");
	if (pp && (!json_is_string(pp) || (strcmp(json_string_value(pp), "sync") &&
					   strcmp(json_string_value(pp), "pipelined")))) {
		snprintf(err, len, "replay: %s: header: paging is not \"sync\" or \"pipelined\"", path);
		goto fail;
	}
	c->pipelined = pp && strcmp(json_string_value(pp), "pipelined") == 0;
	c->verify = json_is_true(json_object_get(h, "verify"));
	tr->recorded_threads = (uint64_t)json_integer_value(th);
	{
		const json_t *wl = json_object_get(h, "workload"), *ps = json_object_get(h, "params");
		tr->recorded = json_pack("{s:s,s:o,s:s,s:I}", "workload",
					 json_is_string(wl) ? json_string_value(wl) : "unknown", "params",
					 json_is_object(ps) ? json_incref((json_t *)ps) : json_object(),
					 "trace", path,
					 "threads", (json_int_t)tr->recorded_threads);
	}
	c->w = &replay_workload;
	c->threads = 1;
	c->duration_s = 0;
	c->ops_limit = 0;
	c->deterministic = true;
	c->nparams = 0;
	c->wl_arg = tr;
	json_decref(h);
	*out = tr;
	return 0;
fail:
	json_decref(h);
	trace_replay_close(tr);
	return ret;
}

#define TOLERANCE_PCT 10
#define TOLERANCE_ABS 16

static bool close_enough(uint64_t rec, uint64_t now, bool tolerant)
{
	if (!tolerant)
		return rec == now;
	uint64_t d = rec > now ? rec - now : now - rec;
	return d <= TOLERANCE_ABS || d * 100 <= rec * TOLERANCE_PCT;
}

int trace_replay_compare(struct trace_replay *tr, const struct run_result *res, FILE *out)
{
	/* A damaged trace is an error, on stderr like every other. */
	if (tr->bad[0]) {
		fprintf(stderr, "vidmm-bench replay: %s\n", tr->bad);
		return -EINVAL;
	}
	if (!tr->footer) {
		if (!tr->partial) {
			fprintf(stderr, "vidmm-bench replay: %s: no footer line: the recording did "
				"not finish (replay --partial replays the calls it has)\n", tr->path);
			return -EINVAL;
		}
		/* A cut-short recording (a hang, a kill): the calls, without
		 * final counters to compare with. */
		fprintf(out, "replay: partial trace: %" PRIu64 " calls replayed; no final counters "
			"to compare with\n", res->units);
		if (res->integrity_errors || res->check_failed || res->undocumented) {
			fprintf(out, "replay: FAILED: %" PRIu64 " integrity errors, vidmm_check %s, %"
				PRIu64 " undocumented errnos\n", res->integrity_errors,
				res->check_failed ? res->check_err : "ok", res->undocumented);
			return 1;
		}
		return 0;
	}
	const json_t *st = json_object_get(tr->footer, "stats");
	unsigned same = 0, diff = 0;

	if (!st) {
		/* A reproducer (vidmm-bench fuzz): no counters to match, only the
		 * checks it carries and the results it expects. */
		if (tr->divergent)
			fprintf(out, "replay: %" PRIu64 " calls returned what the model forbids "
				"(first: %s)\n", tr->divergent, tr->first_div);
		if (tr->divergent || res->integrity_errors || res->check_failed || res->undocumented) {
			fprintf(out, "replay: the reproducer FAILS: %" PRIu64 " wrong results, %" PRIu64
				" integrity errors, vidmm_check %s, %" PRIu64 " undocumented errnos\n",
				tr->divergent, res->integrity_errors,
				res->check_failed ? res->check_err : "ok", res->undocumented);
			return 1;
		}
		fprintf(out, "replay: %" PRIu64 " calls; every check of the reproducer passed\n",
			res->units);
		return 0;
	}

	/* Recorded by several threads, the calls replay in recorded order on
	 * one: the same calls, not the same interleaving, so counters are
	 * compared within a tolerance and a call may return differently. */
	bool tolerant = tr->recorded_threads > 1;
	if (tolerant)
		fprintf(out, "replay: note: recorded with %" PRIu64 " threads; the calls are replayed "
			"in one thread in recorded order, so counters are compared within %d%% (or %d) "
			"and calls may return differently\n", tr->recorded_threads, TOLERANCE_PCT,
			TOLERANCE_ABS);
	bool same_evict = !tr->replay_policy[0] || !strcmp(tr->replay_policy, tr->evict_policy);
	if (!same_evict)
		fprintf(out, "replay: note: recorded with --evict-policy %s, replayed with %s: paging "
			"counters and call results are shown, not required to match\n",
			tr->evict_policy, tr->replay_policy);
	bool same_policy = tr->policy == VIDMM_POLICY_VERSION && same_evict;
	if (tr->policy != VIDMM_POLICY_VERSION)
		fprintf(out, "replay: note: recorded under placement policy %" PRId64 ", this build "
			"has policy %d (vidmm.h, VIDMM_POLICY_VERSION): paging counters and call "
			"results are shown, not required to match; integrity errors and calls that "
			"no longer succeed still fail the replay\n",
			tr->policy, VIDMM_POLICY_VERSION);
#define X(name, det)                                                                     \
	if (det) {                                                                       \
		const json_t *v = json_object_get(st, #name);                           \
		if (!json_is_integer(v) ||                                              \
		    !close_enough((uint64_t)json_integer_value(v), res->st.name, tolerant)) { \
			fprintf(out, "replay: %-22s recorded %" PRId64 ", replayed %" PRIu64 "\n", \
				#name, json_is_integer(v) ? (int64_t)json_integer_value(v) : -1, \
				(uint64_t)res->st.name);                                  \
			diff++;                                                         \
		} else {                                                                \
			same++;                                                         \
		}                                                                       \
	}
	METRICS_STATS_FIELDS(X)
#undef X
	const json_t *ev = json_object_get(st, "evictions_by_priority");
	for (int p = 0; p < VIDMM_PRIO_COUNT; p++) {
		const json_t *v = json_array_get(ev, (size_t)p);
		if (!json_is_integer(v) || (uint64_t)json_integer_value(v) != res->st.evictions_by_priority[p]) {
			fprintf(out, "replay: evictions_by_priority[%d] differs\n", p);
			diff++;
		} else {
			same++;
		}
	}
	const json_t *ie = json_object_get(tr->footer, "integrity_errors");
	if (!json_is_integer(ie) || (uint64_t)json_integer_value(ie) != res->integrity_errors) {
		fprintf(out, "replay: integrity_errors recorded %" PRId64 ", replayed %" PRIu64 "\n",
			(int64_t)json_integer_value(ie), res->integrity_errors);
		diff++;
	} else {
		same++;
	}
	if (tr->divergent)
		fprintf(out, "replay: %" PRIu64 " calls returned differently (first: %s)\n",
			tr->divergent, tr->first_div);
	if (!same_policy) {
		if (res->integrity_errors || tr->failed_now) {
			fprintf(out, "replay: FAILED under policy %d: %" PRIu64 " integrity errors, "
				"%" PRIu64 " calls that succeeded in the recording failed\n",
				VIDMM_POLICY_VERSION, res->integrity_errors, tr->failed_now);
			return 1;
		}
		fprintf(out, "replay: %" PRIu64 " calls; %u of %u counters differ from the policy-%"
			PRId64 " recording (expected), no integrity errors, no call that succeeded "
			"then fails now\n", res->units, diff, diff + same, tr->policy);
		return 0;
	}
	if (diff || (tr->divergent && !tolerant)) {
		fprintf(out, "replay: final statistics DIFFER from the recording (%u of %u counters%s)\n",
			diff, diff + same, tolerant ? ", beyond the tolerance" : "");
		return 1;
	}
	if (tolerant) {
		fprintf(out, "replay: %" PRIu64 " calls; final statistics within the tolerance of the "
			"%" PRIu64 "-thread recording (%u counters)\n", res->units,
			tr->recorded_threads, same);
		return 0;
	}
	fprintf(out, "replay: %" PRIu64 " calls; final statistics match the recording "
		"(%u counters equal)\n", res->units, same);
	return 0;
}

void trace_replay_describe(const struct trace_replay *tr, void *run_json)
{
	if (tr->recorded)
		json_object_set(run_json, "replay_of", tr->recorded);
}

void trace_replay_set_evict_policy(struct trace_replay *tr, const char *name)
{
	snprintf(tr->replay_policy, sizeof(tr->replay_policy), "%s", name);
}

void trace_replay_set_partial(struct trace_replay *tr, bool partial)
{
	tr->partial = partial;
}

void trace_replay_set_local_only(struct trace_replay *tr, bool on)
{
	tr->local_only = on;
}

uint64_t trace_replay_line(const struct trace_replay *tr)
{
	return tr->lineno;
}

int64_t trace_replay_id_of(const struct trace_replay *tr, vidmm_handle_t h)
{
	uint64_t slot = (uint32_t)h;
	int64_t id;

	if (slot >= tr->nslots || (id = tr->id_by_slot[slot]) < 0 || handle_of(tr, id) != h)
		return -1;
	return id;
}

uint64_t trace_replay_failed_now(const struct trace_replay *tr)
{
	return tr->failed_now;
}

const char *trace_replay_error(const struct trace_replay *tr)
{
	return tr->bad[0] ? tr->bad : NULL;
}

void trace_replay_close(struct trace_replay *tr)
{
	if (!tr)
		return;
	free(tr->id_by_slot);
	if (tr->f)
		fclose(tr->f);
	json_decref(tr->footer);
	json_decref(tr->recorded);
	free(tr->line);
	free(tr->h);
	free(tr);
}
